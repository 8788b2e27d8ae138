//! Judging one rule: run its query (and its baseline) at an instant or over
//! its `for` window, judge every series, and name the worst.
//!
//! `for` follows Prometheus alert semantics: the condition must hold at
//! every point of the window, the points being `at - k·step` for
//! `k = 0..=⌈window/step⌉` (a range query at the rule's step). A missing point,
//! NaN or ±Inf anywhere in the window is missing evidence: the series gets
//! the rule's `on_no_data` status (UNKNOWN unless the rule says otherwise),
//! never OK — unless the CRITICAL condition held at every point anyway.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use golive_core::{Deadline, Status, units::human_duration};

use crate::condition::{Threshold, fmt_beside, fmt_in};
use crate::prom::{Answer, PromClient, QueryError, Series};
use crate::rules::{Fallback, Rule};

/// The verdict on one series.
#[derive(Debug, Clone)]
pub struct SeriesResult {
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its status.
    pub status: Status,
    /// Its value at the evaluation instant (the last point seen otherwise).
    pub value: Option<f64>,
    /// The baseline it was compared with at that instant (floored), if any.
    pub baseline: Option<f64>,
    /// One sentence on what was seen.
    pub message: String,
    /// Points expected in the window (1 without `for`).
    pub points_expected: usize,
    /// Points that were missing, NaN or ±Inf.
    pub points_missing: usize,
    /// The INFO condition's note, when it held (never a verdict).
    pub note: Option<String>,
}

/// The verdict on one rule.
#[derive(Debug, Clone)]
pub struct RuleResult {
    /// The rule's name.
    pub name: String,
    /// Worst of its series (or its fallback when it saw none).
    pub status: Status,
    /// One sentence: what was seen and why this status.
    pub message: String,
    /// Index of the worst series in `series`.
    pub worst: Option<usize>,
    /// Every series judged.
    pub series: Vec<SeriesResult>,
    /// Prometheus warnings for this rule's queries.
    pub warnings: Vec<String>,
    /// The evaluation instant (unix ms).
    pub at_ms: i64,
    /// Wall time of the queries.
    pub elapsed: Duration,
    /// Whether a query failed (as opposed to answering without data).
    pub query_failed: bool,
    /// Whether the rule counts towards the verdict (an info-only rule does not).
    pub gates: bool,
    /// Notes for the post-launch review: the INFO condition held on these series.
    pub notes: Vec<String>,
}

impl RuleResult {
    /// The worst series' value.
    pub fn value(&self) -> Option<f64> {
        self.worst.and_then(|i| self.series[i].value)
    }

    /// The worst series.
    pub fn worst_series(&self) -> Option<&SeriesResult> {
        self.worst.map(|i| &self.series[i])
    }
}

/// Evaluate `rule` at `at_ms` (unix ms).
pub fn evaluate(rule: &Rule, client: &PromClient, at_ms: i64, deadline: &Deadline) -> RuleResult {
    let t0 = Instant::now();
    let window = rule.window();
    let step_ms = rule.step.as_millis().max(1) as i64;
    // Enough steps to span the whole window: a `for` that is not a multiple
    // of the step rounds up, as a Prometheus alert needs `for` to have
    // passed since the first evaluation that held.
    let n = if window.is_zero() {
        0
    } else {
        (window.as_millis() as u64).div_ceil(step_ms as u64) as i64
    };
    let start_ms = at_ms - n * step_ms;
    let wants_baseline =
        rule.baseline_query.is_some() && rule.thresholds().any(Threshold::is_relative);

    let run = |q: &str| -> Result<Answer, QueryError> {
        if n == 0 {
            client.instant(q, Some(at_ms), deadline)
        } else {
            client.range(q, start_ms, at_ms, rule.step, deadline)
        }
    };
    let (main, base) = std::thread::scope(|s| {
        let b = wants_baseline.then(|| {
            let q = rule.baseline_query.as_deref().unwrap_or_default();
            s.spawn(move || run(q))
        });
        let m = run(&rule.query);
        let b = b.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(QueryError::Other("baseline query thread panicked".into())))
        });
        (m, b)
    });

    let mut out = RuleResult {
        name: rule.name.clone(),
        status: Status::Unknown,
        message: String::new(),
        worst: None,
        series: Vec::new(),
        warnings: Vec::new(),
        at_ms,
        elapsed: Duration::ZERO,
        query_failed: false,
        gates: rule.gates(),
        notes: Vec::new(),
    };
    let main = match main {
        Ok(a) => a,
        Err(e) => {
            out.status = rule.on_error.status();
            out.message =
                with_fallback(&e.to_string(), rule.on_error, Fallback::Unknown, "on_error");
            out.query_failed = true;
            out.elapsed = t0.elapsed();
            return out;
        }
    };
    out.warnings.extend(main.warnings.iter().cloned());
    let base = match base {
        None => None,
        Some(Ok(a)) => {
            out.warnings
                .extend(a.warnings.iter().map(|w| format!("baseline: {w}")));
            Some(a)
        }
        Some(Err(e)) => {
            out.status = rule.on_error.status();
            out.message = with_fallback(
                &format!("baseline query failed: {e}"),
                rule.on_error,
                Fallback::Unknown,
                "on_error",
            );
            out.query_failed = true;
            out.elapsed = t0.elapsed();
            return out;
        }
    };
    out.elapsed = t0.elapsed();

    if main.series.is_empty() {
        out.status = rule.on_no_data.status();
        out.message = with_fallback(
            "query returned no series",
            rule.on_no_data,
            Fallback::Unknown,
            "on_no_data",
        );
        return out;
    }

    let expected: Vec<i64> = (0..=n).map(|k| at_ms - k * step_ms).collect();
    let frame = Frame {
        rule,
        expected: &expected,
        instant: n == 0,
    };
    for s in &main.series {
        let b = base.as_ref().map(|a| match_baseline(a, &s.labels));
        out.series.push(frame.judge(s, b));
    }
    let dir = rule
        .critical
        .as_ref()
        .or(rule.warn.as_ref())
        .map(Threshold::direction)
        .unwrap_or(0);
    let worst = (0..out.series.len())
        .max_by(|&a, &b| {
            let (x, y) = (&out.series[a], &out.series[b]);
            x.status
                .cmp(&y.status)
                .then_with(|| badness(x.value, dir).total_cmp(&badness(y.value, dir)))
                // Among equals keep the first, so output is stable.
                .then_with(|| b.cmp(&a))
        })
        .unwrap_or(0);
    out.worst = Some(worst);
    out.status = Status::merge(out.series.iter().map(|s| s.status));
    let w = &out.series[worst];
    let mut msg = w.message.clone();
    // The metric name is in the query already; the labels tell series apart.
    let mut labels = w.labels.clone();
    labels.remove("__name__");
    if !labels.is_empty() {
        msg.push_str(&format!(" on {}", fmt_labels(&labels)));
    }
    if out.series.len() > 1 {
        let mut counts: Vec<String> = Vec::new();
        for st in [Status::Critical, Status::Unknown, Status::Warning] {
            let c = out.series.iter().filter(|s| s.status == st).count();
            if c > 0 {
                counts.push(format!("{c} {}", st.as_str()));
            }
        }
        let tail = if counts.is_empty() {
            "all ok".to_string()
        } else {
            counts.join(", ")
        };
        msg.push_str(&format!(" (worst of {} series; {tail})", out.series.len()));
    }
    out.message = msg;
    out.notes = out
        .series
        .iter()
        .filter_map(|s| {
            let note = s.note.as_ref()?;
            let mut l = s.labels.clone();
            l.remove("__name__");
            Some(if l.is_empty() || out.series.len() == 1 {
                note.clone()
            } else {
                format!("{note} on {}", fmt_labels(&l))
            })
        })
        .collect();
    out
}

/// Larger is worse; non-finite values rank worst.
fn badness(v: Option<f64>, dir: i8) -> f64 {
    match v {
        Some(x) if x.is_finite() => match dir {
            1 => x,
            -1 => -x,
            _ => 0.0,
        },
        _ => f64::INFINITY,
    }
}

fn with_fallback(what: &str, got: Fallback, default: Fallback, key: &str) -> String {
    if got == default {
        what.to_string()
    } else {
        format!("{what} ({key} = \"{}\")", got.status().as_str())
    }
}

/// The baseline series for a series: the only one, or the one with the same
/// labels.
fn match_baseline<'a>(
    a: &'a Answer,
    labels: &BTreeMap<String, String>,
) -> Result<&'a Series, String> {
    match a.series.len() {
        0 => Err("baseline query returned no series".into()),
        1 => Ok(&a.series[0]),
        _ => a
            .series
            .iter()
            .find(|b| &b.labels == labels)
            .ok_or_else(|| {
                format!(
                    "no baseline series with labels {} among {}",
                    fmt_labels(labels),
                    a.series.len()
                )
            }),
    }
}

/// What a judgement needs besides the series.
struct Frame<'a> {
    rule: &'a Rule,
    /// Expected point times, newest first.
    expected: &'a [i64],
    instant: bool,
}

/// One level's check over its window.
struct Level {
    held: usize,
    of: usize,
    all: bool,
}

impl Frame<'_> {
    fn judge(&self, s: &Series, base: Option<Result<&Series, String>>) -> SeriesResult {
        let rule = self.rule;
        let unit = rule.unit();
        let values: Vec<Option<f64>> = if self.instant {
            vec![s.points.last().map(|p| p.1)]
        } else {
            let m: HashMap<i64, f64> = s.points.iter().copied().collect();
            self.expected.iter().map(|t| m.get(t).copied()).collect()
        };
        let mut raw_now_base = None;
        let (baselines, base_err): (Vec<Option<f64>>, Option<String>) = match &base {
            None => (vec![None; values.len()], None),
            Some(Err(e)) => (vec![None; values.len()], Some(e.clone())),
            Some(Ok(b)) => {
                let raw: Vec<Option<f64>> = if self.instant {
                    vec![b.points.last().map(|p| p.1)]
                } else {
                    let m: HashMap<i64, f64> = b.points.iter().copied().collect();
                    self.expected.iter().map(|t| m.get(t).copied()).collect()
                };
                raw_now_base = raw[0];
                let floored = raw
                    .iter()
                    .map(|v| {
                        v.map(|x| {
                            if x.is_finite() {
                                x.max(rule.baseline_floor)
                            } else {
                                x
                            }
                        })
                    })
                    .collect();
                (floored, None)
            }
        };
        let now_value = values[0].or_else(|| values.iter().flatten().next().copied());
        let now_base = baselines[0];
        let step = rule.step.as_millis().max(1) as usize;
        let points_in = |w: Duration| -> usize {
            if self.instant {
                1
            } else {
                ((w.as_millis() as usize).div_ceil(step) + 1).min(values.len())
            }
        };
        let check = |th: &Threshold, w: Duration| -> Level {
            let k = points_in(w);
            let held = (0..k)
                .filter(|&i| match values[i] {
                    Some(v) => th.holds(v, baselines[i].filter(|b| b.is_finite())),
                    None => false,
                })
                .count();
            Level {
                held,
                of: k,
                all: held == k,
            }
        };
        let crit = rule
            .critical
            .as_ref()
            .map(|t| (t, check(t, rule.critical_for)));
        let warn = rule.warn.as_ref().map(|t| (t, check(t, rule.warn_for)));
        let info = rule.info.as_ref().map(|t| (t, check(t, rule.info_for)));

        let missing = values.iter().filter(|v| v.is_none()).count();
        let non_finite: Vec<f64> = values
            .iter()
            .flatten()
            .copied()
            .filter(|v| !v.is_finite())
            .collect();
        let needs_base = rule.thresholds().any(Threshold::is_relative);
        let base_missing = if needs_base {
            baselines
                .iter()
                .filter(|b| !b.is_some_and(f64::is_finite))
                .count()
        } else {
            0
        };
        let bad_points = values
            .iter()
            .zip(&baselines)
            .filter(|(v, b)| {
                !v.is_some_and(f64::is_finite) || (needs_base && !b.is_some_and(|x| x.is_finite()))
            })
            .count();

        let window_text = |w: Duration| {
            if self.instant || w.is_zero() {
                String::new()
            } else {
                format!(" at every point for {}", human_duration(w))
            }
        };
        // Shown with enough digits not to read the same as a bound it is
        // compared with ("5% > 5%").
        let shown = |v: Option<f64>, u, bounds: Vec<f64>| {
            v.map(|x| fmt_beside(x, u, &bounds))
                .unwrap_or_else(|| "no value".into())
        };
        // "baseline 0.002 floored to 0.005" when the floor applied.
        let base_text = |b: f64| -> String {
            match raw_now_base {
                Some(r) if r.is_finite() && r < b => {
                    format!(
                        "baseline {} floored to {}",
                        fmt_in(r, unit),
                        fmt_in(b, unit)
                    )
                }
                _ => format!("baseline {}", fmt_in(b, unit)),
            }
        };
        let bound_text = |th: &Threshold| -> String {
            if th.is_relative() {
                match now_base {
                    Some(b) if b.is_finite() => format!(
                        " ({}, bound {})",
                        base_text(b),
                        th.bound(Some(b))
                            .map(|x| match now_value {
                                // Never reads as the value it is compared with.
                                Some(v) if v.is_finite() => fmt_beside(x, unit, &[v]),
                                _ => fmt_in(x, unit),
                            })
                            .unwrap_or_default()
                    ),
                    _ => String::new(),
                }
            } else {
                String::new()
            }
        };

        let (status, message) = if let Some((th, _)) = crit.as_ref().filter(|(_, l)| l.all) {
            (
                Status::Critical,
                format!(
                    "{} {th}{}{}",
                    shown(now_value, th.unit, th.bounds(now_base)),
                    bound_text(th),
                    window_text(rule.critical_for)
                ),
            )
        } else if bad_points > 0 {
            let what = if let Some(e) = &base_err {
                e.clone()
            } else if self.instant {
                match (values[0], baselines[0]) {
                    (Some(v), _) if !v.is_finite() => describe_non_finite(v),
                    (None, _) => "series has no value at the instant".into(),
                    (_, b) => format!("baseline {}", describe_missing_base(b)),
                }
            } else if missing > 0 || !non_finite.is_empty() {
                let mut parts = Vec::new();
                if missing > 0 {
                    parts.push(format!("missing {missing} of {} points", values.len()));
                }
                if let Some(v) = non_finite.first() {
                    parts.push(format!(
                        "{} point(s) {}",
                        non_finite.len(),
                        describe_non_finite(*v)
                    ));
                }
                format!(
                    "{} in the {} window (step {})",
                    parts.join(", "),
                    human_duration(rule.window()),
                    human_duration(rule.step)
                )
            } else {
                format!(
                    "baseline missing or not a number at {base_missing} of {} points",
                    values.len()
                )
            };
            let fb = rule.on_no_data;
            (
                fb.status(),
                with_fallback(&what, fb, Fallback::Unknown, "on_no_data"),
            )
        } else if let Some((th, _)) = warn.as_ref().filter(|(_, l)| l.all) {
            (
                Status::Warning,
                format!(
                    "{} {th}{}{}",
                    shown(now_value, th.unit, th.bounds(now_base)),
                    bound_text(th),
                    window_text(rule.warn_for)
                ),
            )
        } else {
            let mut m = format!(
                "{} within thresholds ({})",
                shown(now_value, unit, rule.bounds(now_base)),
                rule.thresholds_text()
            );
            // Say why a condition that held for a while did not count.
            for (name, lvl, w) in [
                ("critical", &crit, rule.critical_for),
                ("warn", &warn, rule.warn_for),
            ] {
                if let Some((th, l)) = lvl
                    && l.held > 0
                    && !l.all
                {
                    m.push_str(&format!(
                        "; {name} {th} held at {} of {} points, not for the whole {}",
                        l.held,
                        l.of,
                        human_duration(w)
                    ));
                    break;
                }
            }
            if let Some(b) = now_base.filter(|b| needs_base && b.is_finite()) {
                m.push_str(&format!("; {}", base_text(b)));
            }
            (Status::Ok, m)
        };
        let note = info.as_ref().filter(|(_, l)| l.all).map(|(th, _)| {
            format!(
                "info: {} {th}{}{} (for the post-launch review)",
                shown(now_value, th.unit, th.bounds(now_base)),
                bound_text(th),
                window_text(rule.info_for)
            )
        });
        SeriesResult {
            labels: s.labels.clone(),
            status,
            value: now_value,
            baseline: now_base.filter(|_| needs_base),
            message,
            points_expected: values.len(),
            points_missing: bad_points,
            note,
        }
    }
}

fn describe_non_finite(v: f64) -> String {
    if v.is_nan() {
        "value NaN (0/0: no traffic?)".into()
    } else if v > 0.0 {
        "value +Inf (division by zero, or a quantile beyond the last bucket)".into()
    } else {
        "value -Inf".into()
    }
}

fn describe_missing_base(b: Option<f64>) -> String {
    match b {
        None => "has no value at the instant".into(),
        Some(v) if v.is_nan() => "value NaN (0/0: no baseline traffic?)".into(),
        Some(v) => format!("value {}", crate::condition::fmt_num(v)),
    }
}

/// `{code="5xx",proxy="green"}`.
pub fn fmt_labels(l: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{AdHoc, Overrides, ad_hoc};

    fn rule(critical: &str, floor: Option<f64>, for_: Option<Duration>) -> Rule {
        ad_hoc(
            AdHoc {
                query: "green".into(),
                critical: Some(Threshold::parse(critical).unwrap()),
                for_,
                baseline_query: Some("blue".into()),
                baseline_floor: floor,
                ..Default::default()
            },
            &Overrides::default(),
        )
        .unwrap()
    }

    fn series(points: &[(i64, f64)]) -> Series {
        Series {
            labels: BTreeMap::new(),
            points: points.to_vec(),
        }
    }

    fn judge_instant(r: &Rule, green: f64, blue: f64) -> SeriesResult {
        let expected = [1000];
        let f = Frame {
            rule: r,
            expected: &expected,
            instant: true,
        };
        let b = series(&[(1000, blue)]);
        f.judge(&series(&[(1000, green)]), Some(Ok(&b)))
    }

    #[test]
    fn zero_baseline_without_floor_fails_any_error() {
        let r = rule("> 1.5x baseline", None, None);
        assert_eq!(judge_instant(&r, 0.001, 0.0).status, Status::Critical);
        assert_eq!(
            judge_instant(&r, 0.0, 0.0).status,
            Status::Ok,
            "0 > 0 is false"
        );
    }

    #[test]
    fn zero_baseline_with_floor_compares_with_the_floor() {
        let r = rule("> 1.5x baseline", Some(0.005), None);
        let s = judge_instant(&r, 0.001, 0.0);
        assert_eq!(s.status, Status::Ok);
        assert!(
            s.message.contains("baseline 0 floored to 0.005"),
            "{}",
            s.message
        );
        assert_eq!(judge_instant(&r, 0.008, 0.0).status, Status::Critical);
        // Above the floor, the baseline itself counts.
        assert_eq!(judge_instant(&r, 0.02, 0.01).status, Status::Critical);
        assert_eq!(judge_instant(&r, 0.012, 0.01).status, Status::Ok);
    }

    #[test]
    fn window_needs_every_point_and_every_baseline_point() {
        let r = rule("> 2x baseline", None, Some(Duration::from_secs(30)));
        assert_eq!(
            r.step,
            Duration::from_millis(7500),
            "a quarter of the window"
        );
        let step = r.step.as_millis() as i64;
        let at = 100_000;
        let expected: Vec<i64> = (0..=4).map(|k| at - k * step).collect();
        let f = Frame {
            rule: &r,
            expected: &expected,
            instant: false,
        };
        let pts = |v: f64| expected.iter().map(|&t| (t, v)).collect::<Vec<_>>();
        let blue = series(&pts(0.01));
        assert_eq!(
            f.judge(&series(&pts(0.05)), Some(Ok(&blue))).status,
            Status::Critical
        );
        // One baseline point missing: not judged, never OK.
        let mut gappy = pts(0.01);
        gappy.remove(2);
        let s = f.judge(&series(&pts(0.015)), Some(Ok(&series(&gappy))));
        assert_eq!(s.status, Status::Unknown, "{}", s.message);
        assert!(s.message.contains("baseline missing"), "{}", s.message);
    }
}
