fn main() -> std::process::ExitCode {
    metric_gate::run(std::env::args_os())
}
