//! The `probe` binary: everything lives in the library.
fn main() -> std::process::ExitCode {
    probe::run(std::env::args_os())
}
