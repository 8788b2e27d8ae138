//! probe against real servers (nginx, PostgreSQL, Redis, Prometheus from
//! Debian's packages, via testkit) — each check passing and failing for real
//! reasons, as a script sees it: exit code, JSON fields, printed text.

mod cli;
mod file;
mod http;
mod postgres;
mod prometheus;
mod redaction;
mod redis;
mod run;
mod tls;

use std::time::Duration;

use testkit::cli::Cli;

/// The binary under test.
pub fn probe() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_probe"))
}

/// `--timeout` plus the 10% the contract allows.
pub fn within(timeout: Duration) -> Duration {
    timeout + timeout / 10
}

/// The first (only) check of a single-check report.
pub fn check(doc: &serde_json::Value) -> &serde_json::Value {
    &doc["checks"][0]
}
