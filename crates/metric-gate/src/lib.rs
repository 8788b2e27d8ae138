//! metric-gate (not yet implemented).

/// Entry point.
pub fn run<I, T>(_args: I) -> std::process::ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    std::process::ExitCode::from(3)
}
