fn main() -> std::process::ExitCode {
    rollback::run(std::env::args_os())
}
