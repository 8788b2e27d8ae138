//! What to run, decided before any work starts: the checks, their timing and
//! how to report. Built by [`crate::cli`] (one check from flags) or
//! [`crate::file`] (`probe run FILE.toml`).

use std::sync::Arc;
use std::time::Duration;

use golive_core::output::Format;

use crate::check::Spec;

/// Per-attempt timeout when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between attempts when none is given (the runbook's "2 s apart").
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// Checks `probe run` runs at once when `--concurrency` is not given.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// How often and how long to try one check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Limit for one attempt.
    pub timeout: Duration,
    /// Extra attempts after a failure (`None`: 0, or unlimited under `wait`).
    pub retries: Option<u32>,
    /// Pause between attempts.
    pub interval: Duration,
    /// Keep trying until the check passes or this much time has passed since
    /// the run started.
    pub wait: Option<Duration>,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            timeout: DEFAULT_TIMEOUT,
            retries: None,
            interval: DEFAULT_INTERVAL,
            wait: None,
        }
    }
}

/// One named check.
#[derive(Debug)]
pub struct Check {
    /// The name scripts and the `check` label see.
    pub name: String,
    /// What is probed, redacted for display.
    pub target: String,
    /// How often and how long.
    pub timing: Timing,
    /// What to do.
    pub spec: Spec,
}

/// Everything a run needs.
#[derive(Debug)]
pub struct Plan {
    /// The checks, in the order they are reported.
    pub checks: Vec<Arc<Check>>,
    /// What stdout carries.
    pub format: Format,
    /// How many checks run at once.
    pub concurrency: usize,
    /// The config file, for `probe run`.
    pub file: Option<String>,
}
