//! metric-gate: continue, pause or roll back, judged from Prometheus.
//!
//! `check` judges every rule once (concurrently, on core's bounded pool, all
//! within `--timeout`) and exits 0 continue, 1 pause, 2 roll back, 3 no
//! data; `watch` repeats that every `--interval` for `--duration` and stops
//! at the first CRITICAL. Modules:
//!
//! - [`cli`]: flags into a plain [`cli::Config`];
//! - [`rules`]: the TOML rules file;
//! - [`condition`]: threshold syntax;
//! - [`prom`]: the Prometheus HTTP API (golive-http's client);
//! - [`judge`]: one rule's verdict;
//! - [`watch`]: the loop;
//! - [`report`]: JSON, text, CSV, Prometheus exposition and the board.

pub mod cli;
pub mod condition;
pub mod export;
pub mod judge;
pub mod launch_report;
pub mod prom;
pub mod report;
pub mod rules;
pub mod serve;
pub mod watch;

use std::ffi::OsString;
use std::process::ExitCode;

use golive_core::output::{self, Format};
use golive_core::{Deadline, Error, Run, log};

use crate::judge::RuleResult;
use crate::prom::PromClient;
use crate::rules::Rule;

/// The tool's name in output and errors.
pub const TOOL: &str = "metric-gate";

/// At most this many rules are queried at once.
const MAX_PARALLEL: usize = 32;

/// Entry point: parse `args`, judge, print, and return the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    golive_core::runner::main(TOOL, || {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let run = Run::start(TOOL, env!("CARGO_PKG_VERSION"));
        let cfg = match cli::action(args) {
            Ok(cli::Action::Gate(c)) => c,
            Ok(cli::Action::Export(e)) => return export::export(&e),
            Ok(cli::Action::Report(r, conn)) => return report_launch(&run, &r, &conn),
            Err(code) => return code,
        };
        let client = match PromClient::new(&cfg.endpoint, &cfg.http, cfg.timeout) {
            Ok(c) => c,
            Err(e) => return Error::usage(format!("{e} (see --help)")).report(TOOL),
        };
        match (&cfg.watch, &cfg.serve) {
            (Some(w), _) => watch::watch(&run, &cfg, w, &client),
            (None, Some(s)) => serve::serve(&cfg, s, &client),
            (None, None) => check(&run, &cfg, &client),
        }
    })
}

/// `metric-gate report`: write the post-launch report, print where.
fn report_launch(
    run: &Run,
    cfg: &launch_report::ReportConfig,
    conn: &(prom::Endpoint, prom::Options),
) -> ExitCode {
    let client = match PromClient::new(&conn.0, &conn.1, cfg.timeout) {
        Ok(c) => c,
        Err(e) => return Error::usage(format!("{e} (see --help)")).report(TOOL),
    };
    match launch_report::write_report(cfg, &client) {
        Ok(w) => {
            let (status, fields) = launch_report::summary(&w, &cfg.out);
            for f in &w.failed {
                log::warn(&format!("query failed: {f}"));
            }
            log::info(&format!(
                "report: {}",
                cfg.out.join("report.html").display()
            ));
            output::emit_summary_json(Format::Json, &run.document(status, &fields));
            status.into()
        }
        Err(e) => e.report(TOOL),
    }
}

/// Judge every rule at `at_ms`, concurrently (at most 32 at once), in rule
/// order.
pub fn evaluate_all(
    rules: &[Rule],
    client: &PromClient,
    at_ms: i64,
    deadline: &Deadline,
) -> Vec<RuleResult> {
    golive_core::pool::map(rules, MAX_PARALLEL, |rule| {
        judge::evaluate(rule, client, at_ms, deadline)
    })
}

/// Log what deserves a line on stderr: Prometheus warnings and failed queries.
fn log_round(results: &[RuleResult]) {
    for r in results {
        for w in &r.warnings {
            log::warn(&format!("{}: Prometheus warning: {w}", r.name));
        }
        if r.query_failed {
            log::warn(&format!("{}: {}", r.name, r.message));
        } else {
            log::debug(&format!("{}: {} {}", r.name, r.status.label(), r.message));
        }
    }
}

/// metric-gate as a library (rollback's gate step and guard): `check`
/// with `args` as on the command line (program name first), judged once
/// with nothing printed on stdout; the status and the summary document.
pub fn evaluate<I, T>(args: I) -> Result<(golive_core::Status, serde_json::Value), Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cfg = cli::config_quiet(args)?;
    if cfg.watch.is_some() || cfg.serve.is_some() {
        return Err(Error::usage("only `check` can be evaluated once"));
    }
    let client = PromClient::new(&cfg.endpoint, &cfg.http, cfg.timeout)
        .map_err(|e| Error::usage(format!("{e} (see --help)")))?;
    let run = Run::start(TOOL, env!("CARGO_PKG_VERSION"));
    let deadline = Deadline::after(cfg.timeout);
    let at_ms = report::ms_of(cfg.at.unwrap_or_else(std::time::SystemTime::now));
    let results = evaluate_all(&cfg.rules, &client, at_ms, &deadline);
    log_round(&results);
    let status = report::overall(&results);
    let body = report::check_body(&cfg.rules, &results, status, at_ms, &client);
    Ok((status, run.document(status, &body)))
}

fn check(run: &Run, cfg: &cli::Config, client: &PromClient) -> ExitCode {
    let deadline = Deadline::after(cfg.timeout);
    let at_ms = report::ms_of(cfg.at.unwrap_or_else(std::time::SystemTime::now));
    let results = evaluate_all(&cfg.rules, client, at_ms, &deadline);
    log_round(&results);
    let status = report::overall(&results);
    match cfg.format {
        Format::Json | Format::Ndjson => {
            let doc = run.document(
                status,
                &report::check_body(&cfg.rules, &results, status, at_ms, client),
            );
            output::emit_summary_json(cfg.format, &doc);
        }
        Format::Text => output::emit(&report::text(&cfg.rules, &results, status, at_ms)),
        Format::Csv => output::emit(&report::csv(&cfg.rules, &results, true, None)),
        Format::Prom => output::emit(&report::prom(&results, status)),
    }
    status.into()
}
