//! metric-gate: continue, pause or roll back, judged from Prometheus.
//!
//! `check` judges every rule once (concurrently, one thread per rule, all
//! within `--timeout`) and exits 0 continue, 1 pause, 2 roll back, 3 no
//! data; `watch` repeats that every `--interval` for `--duration` and stops
//! at the first CRITICAL. Modules:
//!
//! - [`cli`]: flags into a plain [`cli::Config`];
//! - [`rules`]: the TOML rules file;
//! - [`condition`]: threshold syntax;
//! - [`prom`]: the Prometheus HTTP API;
//! - [`judge`]: one rule's verdict;
//! - [`watch`]: the loop;
//! - [`report`]: JSON, text, CSV, Prometheus exposition and the board.

pub mod cli;
pub mod condition;
pub mod judge;
pub mod prom;
pub mod report;
pub mod rules;
pub mod watch;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use golive_core::output::{self, Format};
use golive_core::{Deadline, Error, Run, log};

use crate::judge::RuleResult;
use crate::prom::Client;
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
        let cfg = match cli::config(args) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let client = match Client::new(&cfg.endpoint, cfg.timeout) {
            Ok(c) => c,
            Err(e) => return Error::usage(format!("{e} (see --help)")).report(TOOL),
        };
        match &cfg.watch {
            Some(w) => watch::watch(&run, &cfg, w, &client),
            None => check(&run, &cfg, &client),
        }
    })
}

/// Judge every rule at `at_ms`, concurrently, in rule order.
pub fn evaluate_all(
    rules: &[Rule],
    client: &Client,
    at_ms: i64,
    deadline: &Deadline,
) -> Vec<RuleResult> {
    let slots: Vec<Mutex<Option<RuleResult>>> = rules.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = rules.len().clamp(1, MAX_PARALLEL);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(rule) = rules.get(i) else { break };
                    let r = judge::evaluate(rule, client, at_ms, deadline);
                    *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .zip(rules)
        .map(|(m, rule)| {
            m.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| RuleResult {
                    name: rule.name.clone(),
                    status: golive_core::Status::Unknown,
                    message: "not evaluated (internal error)".into(),
                    worst: None,
                    series: Vec::new(),
                    warnings: Vec::new(),
                    at_ms,
                    elapsed: std::time::Duration::ZERO,
                    query_failed: true,
                })
        })
        .collect()
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

fn check(run: &Run, cfg: &cli::Config, client: &Client) -> ExitCode {
    let deadline = Deadline::after(cfg.timeout);
    let at_ms = report::ms_of(cfg.at.unwrap_or_else(std::time::SystemTime::now));
    let results = evaluate_all(&cfg.rules, client, at_ms, &deadline);
    log_round(&results);
    let status = report::overall(&results);
    match cfg.format {
        Format::Json | Format::Ndjson => {
            let doc = run.summary(
                status,
                report::check_fields(&cfg.rules, &results, status, at_ms, client.shown_url()),
            );
            output::emit_summary_json(cfg.format, &doc);
        }
        Format::Text => output::emit(&report::text(&cfg.rules, &results, status, at_ms)),
        Format::Csv => output::emit(&report::csv(&cfg.rules, &results, true, None)),
        Format::Prom => output::emit(&report::prom(&results, status)),
    }
    status.into()
}
