fn main() -> std::process::ExitCode {
    dns_watch::run(std::env::args_os())
}
