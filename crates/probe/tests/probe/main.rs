//! probe against real servers (nginx, PostgreSQL, Redis, Prometheus from
//! Debian's packages, via testkit) — each check passing and failing for real
//! reasons, as a script sees it: exit code, JSON fields, printed text.

mod cli;
mod contract;
mod file;
mod http;
mod postgres;
mod postgres_tls;
mod prometheus;
mod props;
mod proxy;
mod redaction;
mod redis;
mod redis_tls;
mod run;
mod smtp;
mod tls;

use testkit::cli::Cli;

/// The binary under test.
pub fn probe() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_probe"))
}

#[allow(unused_imports)] // each test binary uses some of them
pub use testkit::deadline::{START_SLACK, assert_honoured, tool_time, within};

/// The first (only) check of a single-check report.
pub fn check(doc: &serde_json::Value) -> &serde_json::Value {
    &doc["checks"][0]
}
