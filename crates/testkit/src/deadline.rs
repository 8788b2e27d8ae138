//! Checking a deadline a tool promises (`--timeout`, `--wait`) the way the
//! project's rule asks: on the tool's own clock (its summary's
//! `duration_ms`), with the wall clock only bounding the whole run loosely,
//! start-up included — nextest runs several tests at once on 2 cores.

use std::time::Duration;

use serde_json::Value;

use crate::cli::Ran;

/// Wall-clock slack for starting a debug binary on a busy machine.
pub const START_SLACK: Duration = Duration::from_secs(1);

/// `timeout` plus the 10% the contract allows.
pub fn within(timeout: Duration) -> Duration {
    timeout + timeout / 10
}

/// The run's own clock: the summary's `duration_ms`.
pub fn tool_time(doc: &Value) -> Duration {
    let ms = doc["duration_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("no duration_ms in {doc}"));
    Duration::from_secs_f64(ms / 1000.0)
}

/// Assert a run ended by `max` by its own `duration_ms`, and not before
/// `min` when one is given (a watch runs until its deadline); the wall
/// clock, start included, must stay within `max` plus [`START_SLACK`].
/// Returns the summary.
pub fn assert_took(ran: &Ran, min: Option<Duration>, max: Duration) -> Value {
    let doc = ran.json();
    let took = tool_time(&doc);
    assert!(
        took <= max,
        "duration_ms {took:?}, more than {max:?}\n{}",
        ran.stdout
    );
    if let Some(min) = min {
        assert!(
            took >= min,
            "duration_ms {took:?}, less than {min:?}\n{}",
            ran.stdout
        );
    }
    assert!(
        ran.elapsed <= max + START_SLACK,
        "wall time {:?}, more than {max:?} + {START_SLACK:?} for start-up (duration_ms {took:?})",
        ran.elapsed
    );
    doc
}

/// Assert the run honoured `limit`: done within it plus the contract's 10%
/// by its own clock (see [`assert_took`]). Returns the summary.
pub fn assert_honoured(ran: &Ran, limit: Duration) -> Value {
    assert_took(ran, None, within(limit))
}
