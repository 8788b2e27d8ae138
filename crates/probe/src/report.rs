//! Rendering the results: one JSON document (or ndjson's closing line), an
//! aligned text table, Prometheus text exposition with blackbox_exporter's
//! metric names, or CSV. Returns the overall status.

use golive_core::doc::{Event, Item, Summary};
use golive_core::output::{self, Format, Prom};
use golive_core::units::human_duration;
use golive_core::{Run, Status, duration_ms};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::plan::Plan;
use crate::runner::CheckResult;

/// The overall status: the worst check (CRITICAL > UNKNOWN > WARNING > OK);
/// no result at all is UNKNOWN, never OK.
pub fn overall(results: &[CheckResult]) -> Status {
    Status::merge_seen(results.iter().map(|r| r.outcome.status))
}

/// The per-check JSON item: `name`, `status`, `message`, `type`, `target`,
/// `attempts`, `duration_ms`, then the check's own figures.
pub fn item_json(r: &CheckResult) -> Value {
    serde_json::to_value(check_item(r)).unwrap_or(Value::Null)
}

fn check_item(r: &CheckResult) -> Item<CheckFigures> {
    Item {
        name: r.check.name.clone(),
        status: r.outcome.status,
        message: r.outcome.message.clone(),
        figures: CheckFigures {
            kind: r.check.spec.kind(),
            target: r.check.target.clone(),
            attempts: r.attempts,
            duration_ms: duration_ms(r.duration),
            figures: r.outcome.figures.clone(),
        },
    }
}

/// The summary document.
pub fn summary(run: &Run, plan: &Plan, results: &[CheckResult]) -> (Status, Value) {
    let status = overall(results);
    let count = |s: Status| results.iter().filter(|r| r.outcome.status == s).count();
    let names = |pred: &dyn Fn(Status) -> bool| -> Vec<String> {
        results
            .iter()
            .filter(|r| pred(r.outcome.status))
            .map(|r| r.check.name.clone())
            .collect()
    };
    let body = SummaryBody {
        file: plan.file.clone(),
        counts: Counts {
            total: results.len(),
            ok: count(Status::Ok),
            warning: count(Status::Warning),
            critical: count(Status::Critical),
            unknown: count(Status::Unknown),
        },
        failing: names(&|s| s >= Status::Unknown),
        degraded: names(&|s| s == Status::Warning),
        interrupted: golive_core::signals::received(),
        checks: results.iter().map(check_item).collect(),
    };
    (status, run.document(status, &body))
}

/// `probe`'s summary: counts, the failing and degraded checks, each check.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SummaryBody {
    /// The `probe run` file, when one was run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// How many checks ended in each status.
    pub counts: Counts,
    /// Checks that are CRITICAL or UNKNOWN.
    pub failing: Vec<String>,
    /// Checks that are WARNING.
    pub degraded: Vec<String>,
    /// The signal that stopped a wait, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<&'static str>,
    /// Every check, in the order given.
    pub checks: Vec<Item<CheckFigures>>,
}

/// Checks per status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Counts {
    /// All checks.
    pub total: usize,
    /// OK.
    pub ok: usize,
    /// WARNING.
    pub warning: usize,
    /// CRITICAL.
    pub critical: usize,
    /// UNKNOWN.
    pub unknown: usize,
}

/// What every check item carries besides name, status and message; then
/// the kind's own figures (docs/probe.md lists them per kind).
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckFigures {
    /// `http`, `tcp`, `tls`, `postgres`, `redis`, `prometheus`, `file`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What was checked (passwords masked).
    pub target: String,
    /// Attempts made.
    pub attempts: u32,
    /// From the first attempt's start to the last one's end.
    pub duration_ms: f64,
    /// The kind's own figures (`status_code`, `latency_ms`, `days_left`, …).
    #[serde(flatten)]
    pub figures: Map<String, Value>,
}

/// Any document probe prints: the summary, or an ndjson `attempt` event.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // the schema root; never built
pub enum Document {
    /// The summary (json, and ndjson's last line).
    Summary(Summary<SummaryBody>),
    /// `{"event": "attempt", …}`: name, type, attempt, status, message, figures.
    Event(Event<Map<String, Value>>),
}

/// Print the results in the plan's format and return the overall status.
pub fn print(run: &Run, plan: &Plan, results: &[CheckResult]) -> Status {
    let (status, doc) = summary(run, plan, results);
    if plan.format != Format::Text {
        for r in results.iter().filter(|r| r.outcome.status != Status::Ok) {
            golive_core::log::warn(&format!(
                "{}: {}: {}",
                r.check.name,
                r.outcome.status.label(),
                r.outcome.message
            ));
        }
    }
    match plan.format {
        Format::Json | Format::Ndjson => output::emit_summary_json(plan.format, &doc),
        Format::Text => output::emit(&text(status, results, run)),
        Format::Prom => output::emit(&prom(results)),
        Format::Csv => output::emit(&csv(results)),
    }
    status
}

fn latency(r: &CheckResult) -> String {
    match r.outcome.figures.get("latency_ms").and_then(Value::as_f64) {
        Some(v) => crate::outcome::took(std::time::Duration::from_secs_f64(v / 1000.0)),
        None => "-".into(),
    }
}

/// The table people read, and one closing line.
pub fn text(status: Status, results: &[CheckResult], run: &Run) -> String {
    let mut rows = vec![vec![
        "CHECK".to_string(),
        "TYPE".into(),
        "STATUS".into(),
        "TIME".into(),
        "MESSAGE".into(),
    ]];
    for r in results {
        let mut msg = r.outcome.message.clone();
        if r.attempts > 1 {
            msg.push_str(&format!(" [{} attempts]", r.attempts));
        }
        rows.push(vec![
            r.check.name.clone(),
            r.check.spec.kind().into(),
            r.outcome.status.label().into(),
            latency(r),
            msg,
        ]);
    }
    let mut out = output::table(&rows);
    let bad: Vec<&str> = results
        .iter()
        .filter(|r| r.outcome.status != Status::Ok)
        .map(|r| r.check.name.as_str())
        .collect();
    let took = human_duration(run.elapsed());
    let n = results.len();
    let noun = if n == 1 { "check" } else { "checks" };
    let line = if bad.is_empty() {
        format!("{}: {n} {noun} passed in {took}", status.label())
    } else {
        format!(
            "{}: {} of {n} {noun} not OK ({}) in {took}",
            status.label(),
            bad.len(),
            bad.join(", ")
        )
    };
    out.push('\n');
    out.push_str(&line);
    out.push('\n');
    out
}

/// Prometheus text exposition; every sample carries `check="<name>"`.
pub fn prom(results: &[CheckResult]) -> String {
    struct S {
        name: &'static str,
        help: &'static str,
        labels: Vec<(&'static str, String)>,
        value: f64,
    }
    let mut all: Vec<S> = Vec::new();
    for r in results {
        let check = r.check.name.clone();
        let base = |name, help, value| S {
            name,
            help,
            labels: vec![("check", check.clone())],
            value,
        };
        let passed = r.outcome.status <= Status::Warning;
        all.push(base(
            "probe_success",
            "Whether the check passed (1) or not (0); a WARNING passes.",
            if passed { 1.0 } else { 0.0 },
        ));
        all.push(base(
            "probe_duration_seconds",
            "How long the check took, all attempts included, in seconds.",
            r.duration.as_secs_f64(),
        ));
        all.push(base(
            "probe_status",
            "The check's status as an exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            r.outcome.status.exit_code() as f64,
        ));
        all.push(base("probe_attempts", "Attempts made.", r.attempts as f64));
        for m in &r.outcome.metrics {
            let mut labels = vec![("check", check.clone())];
            labels.extend(m.labels.iter().cloned());
            all.push(S {
                name: m.name,
                help: m.help,
                labels,
                value: m.value,
            });
        }
    }
    // Samples of one metric must be contiguous: group by name, first seen first.
    let mut order: Vec<&'static str> = Vec::new();
    for s in &all {
        if !order.contains(&s.name) {
            order.push(s.name);
        }
    }
    let mut p = Prom::default();
    for name in order {
        for s in all.iter().filter(|s| s.name == name) {
            p.header(s.name, "gauge", s.help);
            let labels: Vec<(&str, &str)> =
                s.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            p.sample(s.name, &labels, s.value);
        }
    }
    p.finish()
}

/// One row per check: name,type,status,latency_ms,attempts,target,message
/// (written by the csv crate: quoted where a field needs it).
pub fn csv(results: &[CheckResult]) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "name",
        "type",
        "status",
        "latency_ms",
        "attempts",
        "target",
        "message",
    ]);
    for r in results {
        let lat = r
            .outcome
            .figures
            .get("latency_ms")
            .map(|v| v.to_string())
            .unwrap_or_default();
        let _ = w.write_record([
            r.check.name.as_str(),
            r.check.spec.kind(),
            r.outcome.status.as_str(),
            &lat,
            &r.attempts.to_string(),
            &r.check.target,
            &r.outcome.message,
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
