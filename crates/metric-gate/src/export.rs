//! `metric-gate export`: the gate's rules as Prometheus alerting rules (and
//! an Alertmanager route), so the gate and the pager judge alike.
//!
//! Each level of a rule (`critical`, `warn`, `info`) becomes one alert named
//! after the rule, with `severity` set to `critical`, `warning` or `info`,
//! the rule's own query compared as the condition says, and the level's
//! `for` window. Conditions translate exactly:
//!
//! | condition          | PromQL                                            |
//! |--------------------|---------------------------------------------------|
//! | `> 0.05`           | `(Q) > 0.05`                                      |
//! | `!= 0`             | `(Q) != 0 and (Q) == (Q)` (NaN never holds)       |
//! | `0.1..0.5`         | `(Q) >= 0.1 <= 0.5`                               |
//! | `outside 0.1..0.5` | `(Q) < 0.1 or (Q) > 0.5`                          |
//! | `> 1.5x baseline`  | `(Q) > on() group_left() (1.5 * clamp_min((B), floor))` |
//!
//! A relative condition assumes one baseline series (the common `sum(…)` of
//! blue), as metric-gate compares every series with a single baseline. A
//! rule whose `on_no_data` is `warning` or `critical` also gets a
//! `…NoData` alert on `absent(Q)`. The group's interval is the rules'
//! shortest step, so `for` windows are evaluated at the resolution the gate
//! uses.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{ExportConfig, ExportTarget};
use crate::condition::{Condition, Op, Threshold};
use crate::rules::{Fallback, Rule};

/// A YAML scalar: a JSON string is a valid YAML double-quoted scalar.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A Prometheus duration (`2m`, `90s`, `1h`, `500ms`).
pub fn prom_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".into()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// An alert name from a rule name: `green_error_rate` → `GreenErrorRate`.
pub fn alert_name(rule: &str) -> String {
    let mut out = String::new();
    let mut up = true;
    for c in rule.chars() {
        if c.is_ascii_alphanumeric() {
            if up {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            up = false;
        } else {
            up = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "Golive");
    }
    out
}

fn op(o: Op) -> &'static str {
    match o {
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Eq => "==",
        Op::Ne => "!=",
    }
}

/// The PromQL that returns a series exactly when `th` holds for it.
pub fn condition_expr(rule: &Rule, th: &Threshold) -> String {
    let qy = format!("({})", rule.query.trim());
    match th.cond {
        Condition::Compare(Op::Ne, t) => format!("{qy} != {t} and {qy} == {qy}"),
        Condition::Compare(o, t) => format!("{qy} {} {t}", op(o)),
        Condition::Range {
            lo,
            hi,
            inside: true,
        } => format!("{qy} >= {lo} <= {hi}"),
        Condition::Range {
            lo,
            hi,
            inside: false,
        } => format!("{qy} < {lo} or {qy} > {hi}"),
        Condition::Relative(o, factor) => {
            let base = rule.baseline_query.as_deref().unwrap_or("vector(0)").trim();
            format!(
                "{qy} {} on() group_left() ({factor} * clamp_min(({base}), {}))",
                op(o),
                rule.baseline_floor
            )
        }
    }
}

/// One alert of a group, as YAML lines under `rules:`.
fn alert(out: &mut String, rule: &Rule, severity: &str, expr: &str, for_: Duration, what: &str) {
    let name = alert_name(&rule.name);
    let _ = writeln!(out, "      - alert: {name}");
    let _ = writeln!(out, "        expr: {}", q(expr));
    if !for_.is_zero() {
        let _ = writeln!(out, "        for: {}", prom_duration(for_));
    }
    let _ = writeln!(out, "        labels:");
    let _ = writeln!(out, "          severity: {severity}");
    let _ = writeln!(out, "          golive_rule: {}", q(&rule.name));
    let _ = writeln!(out, "        annotations:");
    let _ = writeln!(
        out,
        "          summary: {}",
        q(&format!("{}: {what}", rule.name))
    );
    let mut desc = rule.description.clone().unwrap_or_default();
    if !desc.is_empty() {
        desc.push_str(". ");
    }
    desc.push_str("Exported from the metric-gate rule of the same name.");
    let _ = writeln!(out, "          description: {}", q(&desc));
}

fn for_text(d: Duration) -> String {
    if d.is_zero() {
        String::new()
    } else {
        format!(" for {}", prom_duration(d))
    }
}

/// Prometheus alerting rules for every level of every rule.
pub fn prometheus_rules(cfg: &ExportConfig) -> String {
    let interval = cfg
        .interval
        .or_else(|| cfg.rules.iter().map(|r| r.step).min())
        .unwrap_or(Duration::from_secs(15));
    let mut out = format!(
        "# Generated by metric-gate {} from {}: the gate's thresholds as alerts.\n# Check with: promtool check rules FILE\ngroups:\n  - name: {}\n    interval: {}\n    rules:\n",
        env!("CARGO_PKG_VERSION"),
        cfg.path.display(),
        q(&cfg.group),
        prom_duration(interval)
    );
    for rule in &cfg.rules {
        for (severity, th, for_) in [
            ("critical", &rule.critical, rule.critical_for),
            ("warning", &rule.warn, rule.warn_for),
            ("info", &rule.info, rule.info_for),
        ] {
            if let Some(th) = th {
                let what = format!("{severity} {th}{}", for_text(for_));
                alert(
                    &mut out,
                    rule,
                    severity,
                    &condition_expr(rule, th),
                    for_,
                    &what,
                );
            }
        }
        if let Fallback::Warning | Fallback::Critical = rule.on_no_data {
            let severity = if rule.on_no_data == Fallback::Critical {
                "critical"
            } else {
                "warning"
            };
            let mut r = rule.clone();
            r.name = format!("{}_no_data", rule.name);
            alert(
                &mut out,
                &r,
                severity,
                &format!("absent(({}))", rule.query.trim()),
                rule.window(),
                "no data (on_no_data)",
            );
        }
    }
    out
}

/// An Alertmanager route tree: the exported alerts by severity to
/// `RECEIVER-critical`, `-warning` and `-info` (receivers left for the
/// user to fill in).
pub fn alertmanager_route(cfg: &ExportConfig) -> String {
    let r = &cfg.receiver;
    let mut out = format!(
        "# Generated by metric-gate {} from {}: a route for the exported alerts.\n# Fill in the receivers; check with: amtool check-config FILE\nroute:\n  receiver: {}\n  group_by: [alertname, golive_rule]\n  routes:\n",
        env!("CARGO_PKG_VERSION"),
        cfg.path.display(),
        q(r)
    );
    let timing = [
        ("critical", "10s", "1h"),
        ("warning", "1m", "4h"),
        ("info", "5m", "24h"),
    ];
    for (sev, wait, repeat) in timing {
        let _ = write!(
            out,
            "    - receiver: {}\n      matchers:\n        - golive_rule=~\".+\"\n        - severity=\"{sev}\"\n      group_wait: {wait}\n      repeat_interval: {repeat}\n",
            q(&format!("{r}-{sev}"))
        );
    }
    out.push_str("receivers:\n");
    for name in [
        r.clone(),
        format!("{r}-critical"),
        format!("{r}-warning"),
        format!("{r}-info"),
    ] {
        let _ = writeln!(out, "  - name: {}", q(&name));
    }
    out
}

/// Print what `cfg` asks for.
pub fn export(cfg: &ExportConfig) -> ExitCode {
    let text = match cfg.to {
        ExportTarget::PrometheusRules => prometheus_rules(cfg),
        ExportTarget::AlertmanagerRoute => alertmanager_route(cfg),
    };
    golive_core::output::emit(&text);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_durations() {
        assert_eq!(alert_name("green_error_rate"), "GreenErrorRate");
        assert_eq!(alert_name("p95-latency"), "P95Latency");
        assert_eq!(alert_name("5xx"), "Golive5xx");
        assert_eq!(prom_duration(Duration::from_secs(120)), "2m");
        assert_eq!(prom_duration(Duration::from_secs(90)), "90s");
        assert_eq!(prom_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(prom_duration(Duration::from_millis(1500)), "1500ms");
    }
}
