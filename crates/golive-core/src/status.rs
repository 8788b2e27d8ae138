//! The four monitoring states, their exit codes and how several combine.

use serde::Serialize;

/// Exit code for bad flags, unreadable or invalid configuration (BSD `EX_USAGE`).
///
/// clap's own usage exit code (2) is never used: 2 means CRITICAL here.
pub const EXIT_USAGE: u8 = 64;

/// The result of a check, a gate or an action, as monitoring plugins report it.
///
/// Ordered from best to worst for merging: `Ok < Warning < Unknown < Critical`.
/// UNKNOWN ranks above WARNING on purpose: a run that could not see part of its
/// evidence must not be summarised as merely degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Everything passed (exit 0).
    #[default]
    Ok,
    /// Passed, but degraded; pause (exit 1).
    Warning,
    /// Could not run or could not see the evidence (exit 3).
    Unknown,
    /// Failed; roll back (exit 2).
    Critical,
}

impl Status {
    /// The process exit code for this status: 0, 1, 2 or 3.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// The lowercase name used in JSON: `ok`, `warning`, `critical`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }

    /// The uppercase label used in text output: `OK`, `WARNING`, …
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// The worse of two results (CRITICAL > UNKNOWN > WARNING > OK).
    pub fn worst(self, other: Status) -> Status {
        self.max(other)
    }

    /// The worst of many results; OK when there are none.
    ///
    /// For the problems found in evidence that was seen (no problem is OK).
    /// To judge a set of results — checks, rules, servers — use
    /// [`Status::merge_seen`]: a set that saw nothing is never OK.
    pub fn merge(all: impl IntoIterator<Item = Status>) -> Status {
        all.into_iter().fold(Status::Ok, Status::worst)
    }

    /// The worst of a set of results, and UNKNOWN when the set is empty: the
    /// one rule every tool keeps, "no results is never OK" (a run that saw
    /// nothing could not see its evidence).
    ///
    /// ```
    /// use golive_core::Status;
    /// assert_eq!(Status::merge_seen([]), Status::Unknown);
    /// assert_eq!(Status::merge_seen([Status::Ok, Status::Warning]), Status::Warning);
    /// ```
    pub fn merge_seen(all: impl IntoIterator<Item = Status>) -> Status {
        let mut all = all.into_iter().peekable();
        if all.peek().is_none() {
            return Status::Unknown;
        }
        Status::merge(all)
    }

    /// The status for an exit code of this family (0–3); anything else is UNKNOWN.
    pub fn from_exit_code(code: i32) -> Status {
        match code {
            0 => Status::Ok,
            1 => Status::Warning,
            2 => Status::Critical,
            _ => Status::Unknown,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl From<Status> for std::process::ExitCode {
    fn from(s: Status) -> Self {
        std::process::ExitCode::from(s.exit_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_nagios() {
        assert_eq!(Status::Ok.exit_code(), 0);
        assert_eq!(Status::Warning.exit_code(), 1);
        assert_eq!(Status::Critical.exit_code(), 2);
        assert_eq!(Status::Unknown.exit_code(), 3);
    }

    #[test]
    fn critical_wins_over_everything() {
        for s in [Status::Ok, Status::Warning, Status::Unknown] {
            assert_eq!(Status::merge([s, Status::Critical]), Status::Critical);
            assert_eq!(Status::merge([Status::Critical, s]), Status::Critical);
        }
    }

    #[test]
    fn unknown_is_not_hidden_by_a_warning() {
        assert_eq!(
            Status::merge([Status::Warning, Status::Unknown]),
            Status::Unknown
        );
        assert_eq!(
            Status::merge([Status::Ok, Status::Warning]),
            Status::Warning
        );
    }

    #[test]
    fn empty_merge_is_ok_and_callers_must_guard() {
        assert_eq!(Status::merge([]), Status::Ok);
    }

    #[test]
    fn a_set_that_saw_nothing_is_never_ok() {
        assert_eq!(Status::merge_seen([]), Status::Unknown);
        assert_eq!(Status::merge_seen([Status::Ok]), Status::Ok);
        assert_eq!(
            Status::merge_seen([Status::Warning, Status::Critical, Status::Ok]),
            Status::Critical
        );
    }

    #[test]
    fn json_names_are_lowercase() {
        assert_eq!(
            serde_json::to_string(&Status::Critical).unwrap(),
            "\"critical\""
        );
        assert_eq!(Status::from_exit_code(2), Status::Critical);
        assert_eq!(Status::from_exit_code(127), Status::Unknown);
    }
}
