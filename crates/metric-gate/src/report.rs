//! Rendering results: the JSON summary and its per-rule items, text tables,
//! CSV rows of every series evaluated, Prometheus exposition, and the
//! war-room board `watch --format text` redraws on a terminal.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use golive_core::output::{Prom, table};
use golive_core::{Status, item, rfc3339};
use serde_json::{Map, Value, json};

use crate::condition::fmt_beside;
use crate::judge::{RuleResult, fmt_labels};
use crate::rules::Rule;

/// What the exit code means for the launch.
pub fn decision(s: Status) -> &'static str {
    match s {
        Status::Ok => "continue",
        Status::Warning => "pause",
        Status::Critical => "rollback",
        Status::Unknown => "unknown",
    }
}

/// The status of a set of rule results: the worst, and never OK when empty.
pub fn overall(results: &[RuleResult]) -> Status {
    if results.is_empty() {
        return Status::Unknown;
    }
    Status::merge(results.iter().map(|r| r.status))
}

/// Unix ms as RFC 3339 UTC.
pub fn time_of(ms: i64) -> String {
    rfc3339(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

/// Unix ms of a wall-clock instant.
pub fn ms_of(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A JSON number, or null for NaN / ±Inf / nothing (the message says which).
pub fn num(v: Option<f64>) -> Value {
    match v {
        Some(x) if x.is_finite() => json!(x),
        _ => Value::Null,
    }
}

fn secs(d: Duration) -> Value {
    json!(d.as_secs_f64())
}

/// One rule's result as a contract item.
pub fn rule_item(rule: &Rule, r: &RuleResult) -> Value {
    let mut f = Map::new();
    if let Some(d) = &rule.description {
        f.insert("description".into(), json!(d));
    }
    f.insert("value".into(), num(r.value()));
    let mut th = Map::new();
    if let Some(w) = &rule.warn {
        th.insert("warn".into(), json!(w.text));
    }
    if let Some(c) = &rule.critical {
        th.insert("critical".into(), json!(c.text));
    }
    f.insert("thresholds".into(), Value::Object(th));
    f.insert("warn_for_s".into(), secs(rule.warn_for));
    f.insert("critical_for_s".into(), secs(rule.critical_for));
    if !rule.window().is_zero() {
        f.insert("step_s".into(), secs(rule.step));
    }
    let worst = r.worst_series();
    if let Some(b) = worst.and_then(|w| w.baseline) {
        f.insert("baseline".into(), num(Some(b)));
    }
    f.insert(
        "worst_series".into(),
        worst.map(|w| json!(w.labels)).unwrap_or(Value::Null),
    );
    f.insert("series_count".into(), json!(r.series.len()));
    f.insert("at".into(), json!(time_of(r.at_ms)));
    f.insert("query".into(), json!(rule.query));
    if let Some(b) = &rule.baseline_query {
        f.insert("baseline_query".into(), json!(b));
    }
    f.insert(
        "query_ms".into(),
        json!((r.elapsed.as_secs_f64() * 1e6).round() / 1e3),
    );
    f.insert("warnings".into(), json!(r.warnings));
    let series: Vec<Value> = r
        .series
        .iter()
        .map(|s| {
            let mut m = Map::new();
            m.insert("labels".into(), json!(s.labels));
            m.insert("status".into(), json!(s.status));
            m.insert("value".into(), num(s.value));
            if s.baseline.is_some() {
                m.insert("baseline".into(), num(s.baseline));
            }
            if s.points_expected > 1 {
                m.insert("points".into(), json!(s.points_expected));
                m.insert("points_missing".into(), json!(s.points_missing));
            }
            m.insert("message".into(), json!(s.message));
            Value::Object(m)
        })
        .collect();
    f.insert("series".into(), Value::Array(series));
    item(&rule.name, r.status, &r.message, f)
}

/// Counts of rule statuses.
pub fn counts(results: &[RuleResult]) -> Value {
    let c = |s: Status| results.iter().filter(|r| r.status == s).count();
    json!({
        "ok": c(Status::Ok),
        "warning": c(Status::Warning),
        "critical": c(Status::Critical),
        "unknown": c(Status::Unknown),
    })
}

/// Every Prometheus warning, prefixed with its rule.
pub fn all_warnings(results: &[RuleResult]) -> Vec<String> {
    results
        .iter()
        .flat_map(|r| r.warnings.iter().map(move |w| format!("{}: {w}", r.name)))
        .collect()
}

/// The fields a check summary carries after the envelope.
pub fn check_fields(
    rules: &[Rule],
    results: &[RuleResult],
    status: Status,
    at_ms: i64,
    url: &str,
) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("decision".into(), json!(decision(status)));
    f.insert("prometheus".into(), json!(url));
    f.insert("at".into(), json!(time_of(at_ms)));
    f.insert("counts".into(), counts(results));
    f.insert(
        "rules".into(),
        Value::Array(
            rules
                .iter()
                .zip(results)
                .map(|(r, x)| rule_item(r, x))
                .collect(),
        ),
    );
    f.insert("warnings".into(), json!(all_warnings(results)));
    f
}

/// The worst series' value for a VALUE column, never reading the same as
/// a threshold it differs from.
fn shown_value(rule: &Rule, r: &RuleResult) -> String {
    let base = r.worst_series().and_then(|w| w.baseline);
    r.value()
        .map(|v| fmt_beside(v, rule.unit(), &rule.bounds(base)))
        .unwrap_or_else(|| "-".into())
}

/// The text report of one check.
pub fn text(rules: &[Rule], results: &[RuleResult], status: Status, at_ms: i64) -> String {
    let mut rows = vec![vec![
        "RULE".to_string(),
        "STATUS".into(),
        "VALUE".into(),
        "MESSAGE".into(),
    ]];
    for (rule, r) in rules.iter().zip(results) {
        rows.push(vec![
            rule.name.clone(),
            r.status.label().into(),
            shown_value(rule, r),
            r.message.clone(),
        ]);
    }
    let mut out = table(&rows);
    for w in all_warnings(results) {
        out.push_str(&format!("prometheus warning: {w}\n"));
    }
    out.push_str(&format!(
        "verdict: {} (exit {}) at {}\n",
        decision(status).to_uppercase(),
        status.exit_code(),
        time_of(at_ms)
    ));
    out
}

/// CSV: one row per series evaluated (a rule without series gets one row).
pub fn csv(rules: &[Rule], results: &[RuleResult], header: bool, round: Option<u64>) -> String {
    let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
    if header {
        let mut h = vec![
            "at", "rule", "status", "value", "baseline", "labels", "message",
        ];
        if round.is_some() {
            h.insert(0, "round");
        }
        let _ = w.write_record(&h);
    }
    // Data, not prose: the shortest text that reads back as the same number
    // (NaN and ±Inf as Prometheus writes them).
    let cell = |v: Option<f64>| {
        v.map(|x| {
            if x.is_finite() {
                format!("{x}")
            } else {
                crate::condition::fmt_num(x)
            }
        })
        .unwrap_or_default()
    };
    for (rule, r) in rules.iter().zip(results) {
        let mut rows: Vec<Vec<String>> = Vec::new();
        if r.series.is_empty() {
            rows.push(vec![
                time_of(r.at_ms),
                rule.name.clone(),
                r.status.as_str().into(),
                String::new(),
                String::new(),
                String::new(),
                r.message.clone(),
            ]);
        }
        for s in &r.series {
            rows.push(vec![
                time_of(r.at_ms),
                rule.name.clone(),
                s.status.as_str().into(),
                cell(s.value),
                cell(s.baseline),
                fmt_labels(&s.labels),
                s.message.clone(),
            ]);
        }
        for mut row in rows {
            if let Some(n) = round {
                row.insert(0, n.to_string());
            }
            let _ = w.write_record(&row);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Prometheus text exposition of the verdicts (for the textfile collector).
pub fn prom(results: &[RuleResult], status: Status) -> String {
    let mut p = Prom::default();
    p.header(
        "metric_gate_rule_status",
        "gauge",
        "Rule verdict as an exit code: 0 ok, 1 warning, 2 critical, 3 unknown.",
    );
    for r in results {
        p.sample(
            "metric_gate_rule_status",
            &[("rule", &r.name)],
            r.status.exit_code() as f64,
        );
    }
    p.header(
        "metric_gate_rule_value",
        "gauge",
        "Value of the rule's worst series.",
    );
    for r in results {
        if let Some(v) = r.value() {
            p.sample("metric_gate_rule_value", &[("rule", &r.name)], v);
        }
    }
    p.header(
        "metric_gate_exit_code",
        "gauge",
        "Overall verdict: 0 continue, 1 pause, 2 rollback, 3 unknown.",
    );
    p.sample("metric_gate_exit_code", &[], status.exit_code() as f64);
    p.finish()
}

/// A sparkline of recent values (missing or non-finite ones as spaces).
pub fn sparkline(values: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let finite: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    values
        .iter()
        .map(|v| match v {
            Some(x) if x.is_finite() => {
                if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                    BARS[3]
                } else {
                    let i = ((x - lo) / (hi - lo) * 7.0).round() as usize;
                    BARS[i.min(7)]
                }
            }
            _ => ' ',
        })
        .collect()
}

/// The war-room board: one line per rule with value, thresholds, status and
/// trend, under a header and above the verdict so far.
pub struct Board<'a> {
    /// Round number (1-based).
    pub round: u64,
    /// Evaluation instant of the round.
    pub at_ms: i64,
    /// Time watched so far and in all.
    pub elapsed: Duration,
    /// The watch's length.
    pub duration: Duration,
    /// The rules.
    pub rules: &'a [Rule],
    /// The round's results.
    pub results: &'a [RuleResult],
    /// Recent worst values per rule, oldest first.
    pub history: &'a [Vec<Option<f64>>],
    /// Rounds with a warning in a row.
    pub consecutive_warnings: u32,
    /// The round's status.
    pub status: Status,
}

impl Board<'_> {
    /// The board as text (no terminal control sequences).
    pub fn render(&self) -> String {
        let mut rows = vec![vec![
            "RULE".to_string(),
            "VALUE".into(),
            "THRESHOLD".into(),
            "STATUS".into(),
            "TREND".into(),
        ]];
        for ((rule, r), h) in self.rules.iter().zip(self.results).zip(self.history) {
            rows.push(vec![
                rule.name.clone(),
                shown_value(rule, r),
                rule.thresholds_text(),
                r.status.label().into(),
                sparkline(h),
            ]);
        }
        let mut out = format!(
            "metric-gate watch: round {}, {} of {}, data at {}\n\n",
            self.round,
            golive_core::units::human_duration(self.elapsed),
            golive_core::units::human_duration(self.duration),
            time_of(self.at_ms)
        );
        out.push_str(&table(&rows));
        out.push('\n');
        for r in self.results.iter().filter(|r| r.status != Status::Ok) {
            out.push_str(&format!("{} {}: {}\n", r.status.label(), r.name, r.message));
        }
        out.push_str(&format!(
            "status: {} ({}){}\n",
            self.status.label(),
            decision(self.status),
            if self.consecutive_warnings > 0 {
                format!(
                    ", {} round(s) in a row with a warning",
                    self.consecutive_warnings
                )
            } else {
                String::new()
            }
        ));
        out
    }
}

/// Plain lines for one round (text format on a pipe): one per rule, its
/// message carrying the value.
pub fn round_lines(round: u64, rules: &[Rule], results: &[RuleResult]) -> String {
    let mut out = String::new();
    for (rule, r) in rules.iter().zip(results) {
        out.push_str(&format!(
            "{} round {round} {} {}: {}\n",
            time_of(r.at_ms),
            r.status.label(),
            rule.name,
            r.message
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_and_marks_gaps() {
        assert_eq!(sparkline(&[Some(0.0), Some(1.0), None, Some(0.5)]), "▁█ ▅");
        assert_eq!(sparkline(&[Some(2.0), Some(2.0)]), "▄▄");
        assert_eq!(sparkline(&[Some(f64::NAN)]), " ");
    }

    #[test]
    fn empty_results_are_never_ok() {
        assert_eq!(overall(&[]), Status::Unknown);
    }
}
