//! Rendering results: the JSON summary and its per-rule items, text tables,
//! CSV rows of every series evaluated, Prometheus exposition, and the
//! war-room board `watch --format text` redraws on a terminal.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use golive_core::doc::{Event, Item, Summary};
use golive_core::output::{Prom, table};
use golive_core::{Status, duration_ms, rfc3339};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::condition::fmt_beside;
use crate::judge::{RuleResult, fmt_labels};
use crate::prom::PromClient;
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
    // Info-only rules never change the verdict.
    Status::merge_seen(results.iter().filter(|r| r.gates).map(|r| r.status))
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
    serde_json::to_value(typed_rule_item(rule, r)).unwrap_or(Value::Null)
}

/// One rule's result, typed.
pub fn typed_rule_item(rule: &Rule, r: &RuleResult) -> Item<RuleFigures> {
    let worst = r.worst_series();
    Item {
        name: rule.name.clone(),
        status: r.status,
        message: r.message.clone(),
        figures: RuleFigures {
            description: rule.description.clone(),
            value: num(r.value()),
            thresholds: Thresholds {
                warn: rule.warn.as_ref().map(|w| w.text.clone()),
                critical: rule.critical.as_ref().map(|c| c.text.clone()),
                info: rule.info.as_ref().map(|i| i.text.clone()),
            },
            warn_for_s: secs(rule.warn_for),
            critical_for_s: secs(rule.critical_for),
            info_for_s: rule.info.as_ref().map(|_| secs(rule.info_for)),
            gates: (!r.gates).then_some(false),
            notes: r.notes.clone(),
            step_s: (!rule.window().is_zero()).then(|| secs(rule.step)),
            baseline: worst.and_then(|w| w.baseline).map(|b| num(Some(b))),
            worst_series: worst.map(|w| json!(w.labels)).unwrap_or(Value::Null),
            series_count: r.series.len(),
            at: time_of(r.at_ms),
            query: rule.query.clone(),
            baseline_query: rule.baseline_query.clone(),
            query_ms: duration_ms(r.elapsed),
            warnings: r.warnings.clone(),
            series: r
                .series
                .iter()
                .map(|s| SeriesDoc {
                    labels: json!(s.labels),
                    status: s.status,
                    value: num(s.value),
                    baseline: s.baseline.map(|b| num(Some(b))),
                    points: (s.points_expected > 1).then_some(s.points_expected),
                    points_missing: (s.points_expected > 1).then_some(s.points_missing),
                    message: s.message.clone(),
                    note: s.note.clone(),
                })
                .collect(),
        },
    }
}

/// A rule's figures.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RuleFigures {
    /// The rule's description, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The worst series' value (a number, or `"NaN"`/`"+Inf"`/`"-Inf"`, or null).
    pub value: Value,
    /// The conditions as written.
    pub thresholds: Thresholds,
    /// How long the warning must hold.
    pub warn_for_s: Value,
    /// How long the critical condition must hold.
    pub critical_for_s: Value,
    /// How long the info condition must hold (rules with `info`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_for_s: Option<Value>,
    /// `false` for an info-only rule, which never changes the verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gates: Option<bool>,
    /// Notes for the post-launch review: where the INFO condition held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The resolution of a `for` window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_s: Option<Value>,
    /// The worst series' baseline (baseline rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Value>,
    /// The worst series' labels (null: no series).
    pub worst_series: Value,
    /// How many series the query returned.
    pub series_count: usize,
    /// The instant judged.
    pub at: String,
    /// The PromQL.
    pub query: String,
    /// The baseline PromQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_query: Option<String>,
    /// Time the queries took.
    pub query_ms: f64,
    /// Prometheus's warnings for this rule.
    pub warnings: Vec<String>,
    /// Every series judged.
    pub series: Vec<SeriesDoc>,
}

/// `warn` and `critical` as written in the rule.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Thresholds {
    /// The warning condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn: Option<String>,
    /// The critical condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical: Option<String>,
    /// The info condition (notes only, never a verdict).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

/// One series' verdict.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SeriesDoc {
    /// Its labels.
    pub labels: Value,
    /// Its verdict.
    pub status: Status,
    /// Its value.
    pub value: Value,
    /// Its baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Value>,
    /// Points a `for` window needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<usize>,
    /// Points missing from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_missing: Option<usize>,
    /// One readable sentence.
    pub message: String,
    /// The INFO condition's note, when it held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Counts of rule statuses.
pub fn counts(results: &[RuleResult]) -> Value {
    serde_json::to_value(typed_counts(results)).unwrap_or(Value::Null)
}

/// Rules per status.
pub fn typed_counts(results: &[RuleResult]) -> Counts {
    let c = |s: Status| results.iter().filter(|r| r.status == s).count();
    Counts {
        ok: c(Status::Ok),
        warning: c(Status::Warning),
        critical: c(Status::Critical),
        unknown: c(Status::Unknown),
    }
}

/// Rules (or rounds) per status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Counts {
    /// OK.
    pub ok: usize,
    /// WARNING.
    pub warning: usize,
    /// CRITICAL.
    pub critical: usize,
    /// UNKNOWN.
    pub unknown: usize,
}

/// Every Prometheus warning, prefixed with its rule.
pub fn all_warnings(results: &[RuleResult]) -> Vec<String> {
    results
        .iter()
        .flat_map(|r| r.warnings.iter().map(move |w| format!("{}: {w}", r.name)))
        .collect()
}

/// Where the evidence came from: the Prometheus URL (password masked) and
/// how it was reached (`proxy`, `insecure`, `ca`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Source {
    /// The Prometheus URL, password masked.
    pub prometheus: String,
    /// `proxy`, `insecure`, `ca` where they apply.
    #[serde(flatten)]
    pub route: Map<String, Value>,
}

impl Source {
    /// The source of `client`.
    pub fn of(client: &PromClient) -> Source {
        let mut route = Map::new();
        for (k, v) in client.http().route_figures() {
            route.insert(k.into(), v);
        }
        Source {
            prometheus: client.shown_url().to_string(),
            route,
        }
    }
}

/// `metric-gate check`'s summary.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckBody {
    /// `continue`, `pause`, `rollback` or `unknown`.
    pub decision: &'static str,
    /// Where the evidence came from.
    #[serde(flatten)]
    pub source: Source,
    /// The instant judged.
    pub at: String,
    /// Rules per status.
    pub counts: Counts,
    /// Every rule, in file order.
    pub rules: Vec<Item<RuleFigures>>,
    /// Every Prometheus warning, prefixed with its rule.
    pub warnings: Vec<String>,
    /// Every INFO note, prefixed with its rule: for the post-launch review,
    /// never part of the decision.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Every INFO note, prefixed with its rule.
pub fn all_notes(results: &[RuleResult]) -> Vec<String> {
    results
        .iter()
        .flat_map(|r| r.notes.iter().map(move |n| format!("{}: {n}", r.name)))
        .collect()
}

/// The fields a check summary carries after the envelope.
pub fn check_body(
    rules: &[Rule],
    results: &[RuleResult],
    status: Status,
    at_ms: i64,
    client: &PromClient,
) -> CheckBody {
    CheckBody {
        decision: decision(status),
        source: Source::of(client),
        at: time_of(at_ms),
        counts: typed_counts(results),
        rules: rules
            .iter()
            .zip(results)
            .map(|(r, x)| typed_rule_item(r, x))
            .collect(),
        warnings: all_warnings(results),
        notes: all_notes(results),
    }
}

/// `metric-gate watch`'s summary.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WatchBody {
    /// `watch`.
    pub mode: &'static str,
    /// `continue`, `pause`, `rollback` or `unknown`.
    pub decision: &'static str,
    /// `window_end`, `critical`, `consecutive_warnings`,
    /// `consecutive_unknown` or `interrupted`.
    pub ended: &'static str,
    /// The signal that stopped the watch, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<&'static str>,
    /// Where the evidence came from.
    #[serde(flatten)]
    pub source: Source,
    /// Rounds judged.
    pub rounds: u64,
    /// `--interval`.
    pub interval_s: f64,
    /// `--duration`.
    pub duration_s: f64,
    /// With `--at`: the instant the replay started from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_from: Option<String>,
    /// Rounds per status.
    pub rounds_by_status: Counts,
    /// Rounds with a warning.
    pub warning_rounds: u64,
    /// Warning rounds in a row at the end.
    pub consecutive_warnings: u32,
    /// The warnings seen (round, at, rule, value, message), at most 200.
    pub warnings_seen: Vec<Value>,
    /// Each rule's first INFO note (round, at, rule, note): for the
    /// post-launch review, never part of the decision.
    #[serde(default)]
    pub notes_seen: Vec<Value>,
    /// The last round's rules per status.
    pub counts: Counts,
    /// The last round's rules.
    pub rules: Vec<Item<RuleFigures>>,
    /// Every Prometheus warning seen.
    pub warnings: Vec<String>,
}

/// Any document metric-gate prints.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // the schema root; never built
pub enum Document {
    /// `check`.
    Check(Summary<CheckBody>),
    /// `watch`.
    Watch(Summary<WatchBody>),
    /// An ndjson `round` event of a watch.
    Event(Event<Map<String, Value>>),
    /// `report`.
    Report(Summary<crate::launch_report::ReportBody>),
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
    for n in all_notes(results) {
        out.push_str(&format!("note: {n}\n"));
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
