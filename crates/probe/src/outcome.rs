//! What one attempt of a check saw: a status, one readable sentence, the
//! figures that back it (for JSON) and the samples for `--format prom`.

use golive_core::Status;
use serde_json::{Map, Value};

/// A Prometheus sample a check contributes (the `check` label is added when
/// rendering).
#[derive(Debug, Clone)]
pub struct Metric {
    /// Metric name, blackbox_exporter's where one exists.
    pub name: &'static str,
    /// `# HELP` text.
    pub help: &'static str,
    /// Extra labels besides `check`.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

/// The result of one attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// OK, WARNING, CRITICAL or UNKNOWN.
    pub status: Status,
    /// One readable sentence.
    pub message: String,
    /// Figures for the JSON item, in order.
    pub figures: Map<String, Value>,
    /// Samples for `--format prom`.
    pub metrics: Vec<Metric>,
}

impl Outcome {
    /// An outcome with no figures yet.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Outcome {
            status,
            message: message.into(),
            figures: Map::new(),
            metrics: Vec::new(),
        }
    }

    /// CRITICAL: the check saw a failure.
    pub fn critical(message: impl Into<String>) -> Self {
        Self::new(Status::Critical, message)
    }

    /// UNKNOWN: the check could not see its evidence.
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(Status::Unknown, message)
    }

    /// Add a figure (builder style).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.set(key, value);
        self
    }

    /// Add or replace a figure.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.figures.insert(key.to_string(), value.into());
    }

    /// Add a Prometheus sample without extra labels.
    pub fn metric(&mut self, name: &'static str, help: &'static str, value: f64) {
        self.metrics.push(Metric {
            name,
            help,
            labels: Vec::new(),
            value,
        });
    }

    /// Add a Prometheus sample with extra labels.
    pub fn metric_labelled(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: Vec<(&'static str, String)>,
        value: f64,
    ) {
        self.metrics.push(Metric {
            name,
            help,
            labels,
            value,
        });
    }
}

/// Collects what is wrong while a check judges its evidence, then turns it
/// into a status and a sentence: `base; problem; problem`.
#[derive(Debug, Default)]
pub struct Verdict {
    problems: Vec<(Status, String)>,
}

impl Verdict {
    /// Record a problem of this severity.
    pub fn add(&mut self, status: Status, what: impl Into<String>) {
        self.problems.push((status, what.into()));
    }

    /// The worst status recorded (OK when none).
    pub fn status(&self) -> Status {
        Status::merge(self.problems.iter().map(|p| p.0))
    }

    /// `base`, followed by the problems, worst first.
    pub fn message(&self, base: &str) -> String {
        let mut p: Vec<&(Status, String)> = self.problems.iter().collect();
        p.sort_by_key(|x| std::cmp::Reverse(x.0));
        let mut out = base.to_string();
        for (_, what) in p {
            out.push_str("; ");
            out.push_str(what);
        }
        out
    }

    /// An outcome carrying the verdict's status and message.
    pub fn outcome(&self, base: &str) -> Outcome {
        Outcome::new(self.status(), self.message(base))
    }
}

pub use golive_core::redact::error_chain;

/// A measured time for people: `0.68ms`, `3.2ms`, `45ms`, `1.2s` (sub-10 ms
/// times keep their decimals, where a local check lives).
pub fn took(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{ms:.2}ms")
    } else if ms < 10.0 {
        format!("{ms:.1}ms")
    } else {
        golive_core::units::human_duration(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_puts_the_worst_problem_first() {
        let mut v = Verdict::default();
        assert_eq!(v.status(), Status::Ok);
        v.add(Status::Warning, "slow");
        v.add(Status::Critical, "wrong body");
        assert_eq!(v.status(), Status::Critical);
        assert_eq!(v.message("HTTP 200"), "HTTP 200; wrong body; slow");
    }
}
