//! probe: is it up? One job — look at a service the way a client would and
//! say OK, WARNING, CRITICAL or UNKNOWN, with an exit code and a JSON report.
//!
//! `probe http|tcp|tls|postgres|redis|prometheus|file` runs one check;
//! `probe run FILE.toml` runs many named checks concurrently and reports them
//! together. Every check takes `--timeout` per attempt, `--retries` /
//! `--interval` and `--wait`, and prints one document at the end.
//!
//! Layout: [`cli`] turns flags into a [`plan::Plan`] before any work starts;
//! [`file`] does the same for `probe run`; [`runner`] runs attempts under a
//! watchdog and a bounded pool; `check::*` hold one module per kind of
//! check; [`report`] renders json, ndjson, text and prom.

pub mod check;
pub mod cli;
pub mod file;
pub mod outcome;
pub mod plan;
pub mod report;
pub mod runner;

use std::ffi::OsString;
use std::process::ExitCode;

/// The tool's name, as it prints in the envelope and on stderr.
pub const TOOL: &str = "probe";

/// probe as a library (rollback's verify step): `args` as on the command
/// line (program name first), run with nothing printed on stdout; the
/// status and the summary document.
pub fn evaluate<I, T>(
    args: I,
) -> Result<(golive_core::Status, serde_json::Value), golive_core::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let parsed: cli::Cli = golive_core::cli::try_parse(args)?;
    let plan = cli::plan(parsed)?;
    let run = golive_core::Run::start(TOOL, env!("CARGO_PKG_VERSION"));
    let results = runner::run_plan(&run, &plan);
    Ok(report::summary(&run, &plan, &results))
}

/// Run probe with these arguments (the first is the program name) and return
/// the exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, 64 usage.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    golive_core::runner::main(TOOL, || {
        let run = golive_core::Run::start(TOOL, env!("CARGO_PKG_VERSION"));
        let parsed = match golive_core::cli::parse::<cli::Cli, _, _>(TOOL, args) {
            Ok(c) => c,
            Err(code) => return code,
        };
        parsed.common.init_log(TOOL);
        let plan = match cli::plan(parsed) {
            Ok(p) => p,
            Err(e) => return e.report(TOOL),
        };
        let results = runner::run_plan(&run, &plan);
        let status = report::print(&run, &plan, &results);
        ExitCode::from(status.exit_code())
    })
}
