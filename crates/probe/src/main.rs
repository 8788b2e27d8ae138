fn main() -> std::process::ExitCode {
    probe::run(std::env::args_os())
}
