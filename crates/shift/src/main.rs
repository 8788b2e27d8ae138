fn main() -> std::process::ExitCode {
    shift::run(std::env::args_os())
}
