//! What is said: a [`Message`] with its [`Severity`] and [`Action`].

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How urgent a message is; targets take the severities they list.
///
/// The runbook's routing: `critical` goes to #incidents and PagerDuty,
/// `warning` and `info` to #monitoring only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Someone must act now (a rollback, a failed check).
    Critical,
    /// Degraded; look soon.
    Warning,
    /// For the record (a phase passed).
    Info,
}

impl Severity {
    /// Every severity, most urgent first.
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Info];

    /// `critical`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// `CRITICAL`, `WARNING` or `INFO`.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        }
    }

    /// The severity named `s` (`critical`, `warning`, `info`; any case).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a message does to the problem it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A problem started (PagerDuty `trigger`, an Alertmanager alert firing).
    Trigger,
    /// The problem with the same key is over (PagerDuty `resolve`,
    /// Alertmanager `endsAt` = now); chat targets post a resolved message.
    Resolve,
    /// A change that is not a problem (traffic moved, a release deployed):
    /// a PagerDuty Change Event; chat targets post it; Alertmanager, which
    /// has only alerts, is skipped.
    Change,
}

impl Action {
    /// `trigger`, `resolve` or `change`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Trigger => "trigger",
            Action::Resolve => "resolve",
            Action::Change => "change",
        }
    }
}

/// One notification, sent to every target that takes its severity.
///
/// ```
/// use golive_notify::{Message, Severity};
/// let started = Message::new(Severity::Critical, "Rollback initiated: error rate 7.2% > 5%")
///     .source("golive rollback")
///     .key("rollback-20261128-0421")
///     .detail("reason", "error rate > 5% for 2m")
///     .detail("error_rate", 0.072);
/// // …later, the same key and severity, so it reaches the same targets
/// // and closes the same PagerDuty incident and Alertmanager alert:
/// let done = started.resolved("Rollback complete: traffic blue=100, verified");
/// assert_eq!(done.key, started.key);
/// assert_eq!(done.severity, Severity::Critical);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Which targets get it (those that list it).
    pub severity: Severity,
    /// One line: what happened. PagerDuty keeps 1024 characters of it.
    pub summary: String,
    /// Figures and context, in order (`reason`, `split`, `error_rate`…).
    pub details: Vec<(String, Value)>,
    /// Who speaks, e.g. `golive rollback` (PagerDuty's `payload.source`,
    /// an Alertmanager label).
    pub source: String,
    /// The event's identity: PagerDuty's `dedup_key`, an Alertmanager
    /// label; a resolve names the trigger it ends by the same key.
    pub key: String,
    /// Trigger, resolve or change.
    pub action: Action,
    /// When it happened.
    pub at: SystemTime,
}

impl Message {
    /// A `trigger` message from `golive`, keyed by its summary, at now.
    pub fn new(severity: Severity, summary: impl Into<String>) -> Message {
        let summary = summary.into();
        Message {
            severity,
            key: default_key(&summary),
            summary,
            details: Vec::new(),
            source: "golive".into(),
            action: Action::Trigger,
            at: SystemTime::now(),
        }
    }

    /// Set who speaks (`golive rollback`, `golive launch`).
    pub fn source(mut self, source: impl Into<String>) -> Message {
        self.source = source.into();
        self
    }

    /// Set the event key (PagerDuty `dedup_key`, at most 255 bytes are sent).
    pub fn key(mut self, key: impl Into<String>) -> Message {
        self.key = key.into();
        self
    }

    /// Add a detail (a string, a number, a bool… any JSON value).
    pub fn detail(mut self, name: impl Into<String>, value: impl Into<Value>) -> Message {
        self.details.push((name.into(), value.into()));
        self
    }

    /// Set the action.
    pub fn action(mut self, action: Action) -> Message {
        self.action = action;
        self
    }

    /// Set when it happened.
    pub fn at(mut self, at: SystemTime) -> Message {
        self.at = at;
        self
    }

    /// The `resolve` of this message: same key, source and severity (so it
    /// reaches exactly the targets the trigger reached), a new summary, no
    /// details, at now.
    pub fn resolved(&self, summary: impl Into<String>) -> Message {
        Message {
            severity: self.severity,
            summary: summary.into(),
            details: Vec::new(),
            source: self.source.clone(),
            key: self.key.clone(),
            action: Action::Resolve,
            at: SystemTime::now(),
        }
    }

    /// The one line chat targets lead with: `🔴 CRITICAL: summary`,
    /// `✅ RESOLVED: summary`, `🔄 CHANGE: summary`.
    pub fn headline(&self) -> String {
        format!("{} {}: {}", self.emoji(), self.label(), self.summary)
    }

    /// `CRITICAL`, `WARNING`, `INFO`, `RESOLVED` or `CHANGE`.
    pub fn label(&self) -> &'static str {
        match self.action {
            Action::Trigger => self.severity.label(),
            Action::Resolve => "RESOLVED",
            Action::Change => "CHANGE",
        }
    }

    /// 🔴 critical, 🟡 warning, 🔵 info, ✅ resolved, 🔄 change.
    pub fn emoji(&self) -> &'static str {
        match (self.action, self.severity) {
            (Action::Resolve, _) => "✅",
            (Action::Change, _) => "🔄",
            (Action::Trigger, Severity::Critical) => "🔴",
            (Action::Trigger, Severity::Warning) => "🟡",
            (Action::Trigger, Severity::Info) => "🔵",
        }
    }
}

/// A key from the summary's first words (lowercase, dashes), when the
/// caller gives none: stable for the same summary.
fn default_key(summary: &str) -> String {
    let mut key = String::from("golive");
    for word in summary
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(6)
    {
        key.push('-');
        key.push_str(&word.to_ascii_lowercase());
    }
    key
}

/// A detail value as text: strings as they are, anything else as JSON.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_parse_in_any_case() {
        assert_eq!(Severity::parse("Critical"), Some(Severity::Critical));
        assert_eq!(Severity::parse(" info "), Some(Severity::Info));
        assert_eq!(Severity::parse("error"), None);
    }

    #[test]
    fn a_resolve_keeps_key_source_and_severity() {
        let t = Message::new(Severity::Critical, "Rollback initiated")
            .source("golive rollback")
            .key("rb-1")
            .detail("reason", "manual");
        let r = t.resolved("Rollback complete");
        assert_eq!(
            (r.key.as_str(), r.source.as_str(), r.severity),
            ("rb-1", "golive rollback", Severity::Critical)
        );
        assert_eq!(r.action, Action::Resolve);
        assert!(r.details.is_empty());
        assert_eq!(r.headline(), "✅ RESOLVED: Rollback complete");
    }

    #[test]
    fn default_key_is_stable_and_plain() {
        assert_eq!(
            Message::new(Severity::Info, "DNS cutover complete!").key,
            "golive-dns-cutover-complete"
        );
    }
}
