//! The output envelope, per-item results and deadlines.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use crate::status::Status;

/// One tool run: remembers when it started so every summary carries the same
/// envelope (`tool`, `version`, `status`, `exit_code`, `started_at`,
/// `duration_ms`, then the tool's own fields).
#[derive(Debug, Clone)]
pub struct Run {
    tool: &'static str,
    version: &'static str,
    started_wall: SystemTime,
    started: Instant,
}

impl Run {
    /// Start the clock for `tool` at `version` (pass `env!("CARGO_PKG_VERSION")`).
    pub fn start(tool: &'static str, version: &'static str) -> Self {
        Run {
            tool,
            version,
            started_wall: SystemTime::now(),
            started: Instant::now(),
        }
    }

    /// The tool's name.
    pub fn tool(&self) -> &'static str {
        self.tool
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The summary document: the envelope followed by `fields` in their order.
    ///
    /// Envelope keys inside `fields` are ignored, so a tool cannot shadow them.
    pub fn summary(&self, status: Status, fields: Map<String, Value>) -> Value {
        let mut doc = Map::new();
        doc.insert("tool".into(), json!(self.tool));
        doc.insert("version".into(), json!(self.version));
        doc.insert("status".into(), json!(status));
        doc.insert("exit_code".into(), json!(status.exit_code()));
        doc.insert("started_at".into(), json!(rfc3339(self.started_wall)));
        doc.insert(
            "duration_ms".into(),
            json!(duration_ms(self.started.elapsed())),
        );
        for (k, v) in fields {
            doc.entry(k).or_insert(v);
        }
        Value::Object(doc)
    }

    /// An ndjson event line: `{"event": kind, "time": …, "elapsed_ms": …, fields…}`.
    ///
    /// Events carry `event`; the final summary line carries `tool` instead, so
    /// a reader can tell them apart.
    pub fn event(&self, kind: &str, fields: Map<String, Value>) -> Value {
        let mut doc = Map::new();
        doc.insert("event".into(), json!(kind));
        doc.insert("time".into(), json!(now_rfc3339()));
        doc.insert(
            "elapsed_ms".into(),
            json!(duration_ms(self.started.elapsed())),
        );
        for (k, v) in fields {
            doc.entry(k).or_insert(v);
        }
        Value::Object(doc)
    }
}

/// Milliseconds as a number with three decimals (microsecond precision):
/// how every `*_ms` figure in every tool's output is written.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(golive_core::duration_ms(Duration::from_micros(1_234_567)), 1234.567);
/// ```
pub fn duration_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// A per-item result: `name`, `status`, `message`, then the item's figures.
///
/// Foreign text inside the message (a library's error, a command's output)
/// was scrubbed where it entered ([`crate::redact::scrub`]); nothing here
/// rewrites it.
pub fn item(name: &str, status: Status, message: &str, figures: Map<String, Value>) -> Value {
    let mut doc = Map::new();
    doc.insert("name".into(), json!(name));
    doc.insert("status".into(), json!(status));
    doc.insert("message".into(), json!(message));
    for (k, v) in figures {
        doc.entry(k).or_insert(v);
    }
    Value::Object(doc)
}

/// An instant as RFC 3339 UTC with milliseconds, e.g. `2026-11-28T04:21:39.123Z`.
///
/// RFC 3339 ends at year 9999; a later instant prints as that last instant.
pub fn rfc3339(t: SystemTime) -> String {
    let last = std::time::UNIX_EPOCH
        + Duration::from_secs(crate::units::LAST_INSTANT_SECS)
        + Duration::from_millis(999);
    humantime::format_rfc3339_millis(t.min(last)).to_string()
}

/// Now, as [`rfc3339`].
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// A point in time after which a run must stop waiting.
///
/// Every network call takes `deadline.remaining()` (capped by its own
/// per-attempt timeout), so the total run honours `--timeout` / `--wait`.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Option<Instant>,
}

impl Deadline {
    /// A deadline `d` from now.
    pub fn after(d: Duration) -> Self {
        // Too far to represent is as good as never.
        Deadline {
            at: Instant::now().checked_add(d),
        }
    }

    /// No deadline.
    pub fn never() -> Self {
        Deadline { at: None }
    }

    /// Time left (zero once passed); `None` when there is no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Time left, `Duration::MAX` when there is no deadline.
    pub fn left(&self) -> Duration {
        self.remaining().unwrap_or(Duration::MAX)
    }

    /// `limit` capped by the time left.
    pub fn cap(&self, limit: Duration) -> Duration {
        match self.remaining() {
            Some(r) => r.min(limit),
            None => limit,
        }
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        matches!(self.remaining(), Some(r) if r.is_zero())
    }

    /// The instant, if any.
    pub fn instant(&self) -> Option<Instant> {
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_too_far_to_represent_never_passes() {
        let d = Deadline::after(Duration::MAX);
        assert!(d.remaining().is_none_or(|r| r > Duration::from_secs(1)));
        assert!(
            rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 40))
                .starts_with("9999-12-31T23:59:59")
        );
    }

    #[test]
    fn envelope_fields_come_first_and_cannot_be_shadowed() {
        let run = Run::start("probe", "1.2.3");
        let mut fields = Map::new();
        fields.insert("checks".into(), json!([]));
        fields.insert("status".into(), json!("ok"));
        let doc = run.summary(Status::Critical, fields);
        let keys: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "tool",
                "version",
                "status",
                "exit_code",
                "started_at",
                "duration_ms",
                "checks"
            ]
        );
        assert_eq!(doc["status"], "critical");
        assert_eq!(doc["exit_code"], 2);
        assert!(doc["started_at"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn deadline_caps_timeouts() {
        let d = Deadline::after(Duration::from_millis(50));
        assert!(d.cap(Duration::from_secs(10)) <= Duration::from_millis(50));
        assert!(!d.expired());
        assert_eq!(
            Deadline::never().cap(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        let past = Deadline::after(Duration::ZERO);
        assert!(past.expired());
    }
}
