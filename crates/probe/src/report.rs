//! Rendering the results: one JSON document (or ndjson's closing line), an
//! aligned text table, Prometheus text exposition with blackbox_exporter's
//! metric names, or CSV. Returns the overall status.

use golive_core::output::{self, Format, Prom};
use golive_core::units::human_duration;
use golive_core::{Run, Status, item};
use serde_json::{Map, Value, json};

use crate::outcome::ms;
use crate::plan::Plan;
use crate::runner::CheckResult;

/// The overall status: the worst check (CRITICAL > UNKNOWN > WARNING > OK);
/// no result at all is UNKNOWN, never OK.
pub fn overall(results: &[CheckResult]) -> Status {
    if results.is_empty() {
        return Status::Unknown;
    }
    Status::merge(results.iter().map(|r| r.outcome.status))
}

/// The per-check JSON item: `name`, `status`, `message`, `type`, `target`,
/// `attempts`, `duration_ms`, then the check's own figures.
pub fn item_json(r: &CheckResult) -> Value {
    let mut f = Map::new();
    f.insert("type".into(), json!(r.check.spec.kind()));
    f.insert("target".into(), json!(r.check.target));
    f.insert("attempts".into(), json!(r.attempts));
    f.insert("duration_ms".into(), json!(ms(r.duration)));
    for (k, v) in &r.outcome.figures {
        f.entry(k.clone()).or_insert_with(|| v.clone());
    }
    item(&r.check.name, r.outcome.status, &r.outcome.message, f)
}

/// The summary document.
pub fn summary(run: &Run, plan: &Plan, results: &[CheckResult]) -> (Status, Value) {
    let status = overall(results);
    let mut fields = Map::new();
    if let Some(file) = &plan.file {
        fields.insert("file".into(), json!(file));
    }
    let count = |s: Status| results.iter().filter(|r| r.outcome.status == s).count();
    fields.insert(
        "counts".into(),
        json!({
            "total": results.len(),
            "ok": count(Status::Ok),
            "warning": count(Status::Warning),
            "critical": count(Status::Critical),
            "unknown": count(Status::Unknown),
        }),
    );
    let names = |pred: &dyn Fn(Status) -> bool| -> Vec<&str> {
        results
            .iter()
            .filter(|r| pred(r.outcome.status))
            .map(|r| r.check.name.as_str())
            .collect()
    };
    fields.insert("failing".into(), json!(names(&|s| s >= Status::Unknown)));
    fields.insert("degraded".into(), json!(names(&|s| s == Status::Warning)));
    if let Some(sig) = golive_core::signals::received() {
        fields.insert("interrupted".into(), json!(sig));
    }
    fields.insert(
        "checks".into(),
        Value::Array(results.iter().map(item_json).collect()),
    );
    (status, run.summary(status, fields))
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

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per check: name,type,status,latency_ms,attempts,target,message.
pub fn csv(results: &[CheckResult]) -> String {
    let mut out = String::from("name,type,status,latency_ms,attempts,target,message\n");
    for r in results {
        let lat = r
            .outcome
            .figures
            .get("latency_ms")
            .map(|v| v.to_string())
            .unwrap_or_default();
        let row = [
            csv_field(&r.check.name),
            r.check.spec.kind().to_string(),
            r.outcome.status.as_str().to_string(),
            lat,
            r.attempts.to_string(),
            csv_field(&r.check.target),
            csv_field(&r.outcome.message),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}
