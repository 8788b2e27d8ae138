//! probe against real servers (nginx, PostgreSQL, Redis, Prometheus from
//! Debian's packages, via testkit) — each check passing and failing for real
//! reasons, as a script sees it: exit code, JSON fields, printed text.

mod cli;
mod contract;
mod file;
mod http;
mod postgres;
mod prometheus;
mod props;
mod proxy;
mod redaction;
mod redis;
mod run;
mod tls;

use std::time::Duration;

use testkit::cli::{Cli, Ran};

/// The binary under test.
pub fn probe() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_probe"))
}

/// `--timeout` plus the 10% the contract allows.
pub fn within(timeout: Duration) -> Duration {
    timeout + timeout / 10
}

/// Wall-clock slack for starting a debug binary while nextest runs other
/// tests on the same cores. The deadline itself is judged on probe's own
/// clock; the wall clock only bounds the whole run, loosely.
pub const START_SLACK: Duration = Duration::from_secs(1);

/// probe's own clock: the summary's `duration_ms`.
pub fn tool_time(doc: &serde_json::Value) -> Duration {
    let ms = doc["duration_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("no duration_ms in {doc}"));
    Duration::from_secs_f64(ms / 1000.0)
}

/// Assert the run honoured `limit` (its `--timeout` or `--wait`): done
/// within [`within`]`(limit)` by its own `duration_ms`, and within that plus
/// [`START_SLACK`] on the wall clock, start-up included. Returns the summary.
pub fn assert_honoured(r: &Ran, limit: Duration) -> serde_json::Value {
    let doc = r.json();
    let took = tool_time(&doc);
    let max = within(limit);
    assert!(
        took <= max,
        "duration_ms {took:?}, more than {max:?} ({limit:?} + 10%)\n{}",
        r.stdout
    );
    assert!(
        r.elapsed <= max + START_SLACK,
        "wall time {:?}, more than {max:?} + {START_SLACK:?} for start-up (duration_ms {took:?})",
        r.elapsed
    );
    doc
}

/// The first (only) check of a single-check report.
pub fn check(doc: &serde_json::Value) -> &serde_json::Value {
    &doc["checks"][0]
}
