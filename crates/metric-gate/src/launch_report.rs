//! `metric-gate report`: the runbook's Phase 5 — the post-launch summary
//! for stakeholders, from the launch's timeline and Prometheus.
//!
//! Reads `timeline.ndjson` (written by `rollback notify`), takes the launch
//! window from its first to its last event and each phase's window from the
//! phase's first event to the next phase's, runs every query of the report
//! file over the whole window (`query_range`, one request a query, all at
//! once), and writes into `--out`:
//!
//! - `report.md`: the timeline with times, decisions and why; per phase the
//!   requests served, success and error rate, p50/p95/p99 latency and
//!   green's share; the INFO notes; the baseline;
//! - `report.html`: the same, self-contained (inline CSS and SVG: no
//!   scripts, no fonts or images from the network), with a chart per
//!   `[[chart]]` across the whole launch, phase boundaries drawn and the
//!   rollback marked;
//! - `baseline.csv`: each query's mean, min and max over the final window
//!   (the last phase, or `baseline_window` before the end), for a later gate
//!   to compare against;
//! - one SVG file a chart, which report.md links.
//!
//! Charts keep at most one minimum and one maximum a pixel column, so a
//! 24-hour launch at 15 s draws as fast and as faithfully as an hour.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use golive_core::{Deadline, Error, Status, journal};
use serde::Deserialize;
use serde_json::Value;

use crate::prom::PromClient;
use crate::rules::SourceFile;

/// The report file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportFile {
    /// As in a rules file.
    #[serde(default)]
    pub prometheus: SourceFile,
    /// Title and resolution.
    #[serde(default)]
    pub report: ReportTable,
    /// The runbook's figures, as PromQL (each should return one series).
    #[serde(default)]
    pub queries: Queries,
    /// The charts, in order.
    #[serde(default)]
    pub chart: Vec<Chart>,
}

/// `[report]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportTable {
    /// The report's title.
    pub title: Option<String>,
    /// Resolution of the range queries [default: span / 300 within 1s..15s].
    #[serde(default, deserialize_with = "golive_core::units::de_opt_duration")]
    pub step: Option<Duration>,
    /// The baseline's window before the launch's end [default: the last phase].
    #[serde(default, deserialize_with = "golive_core::units::de_opt_duration")]
    pub baseline_window: Option<Duration>,
}

/// `[queries]`: the per-phase table's figures.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queries {
    /// Requests per second (served requests = its integral).
    pub request_rate: Option<String>,
    /// The error ratio (0..1).
    pub error_rate: Option<String>,
    /// Median latency, seconds.
    pub p50_latency: Option<String>,
    /// 95th percentile latency, seconds.
    pub p95_latency: Option<String>,
    /// 99th percentile latency, seconds.
    pub p99_latency: Option<String>,
    /// Green's share of the traffic (0..1).
    pub green_share: Option<String>,
}

impl Queries {
    /// The queries given, with their names.
    pub fn named(&self) -> Vec<(&'static str, &str)> {
        [
            ("request_rate", &self.request_rate),
            ("error_rate", &self.error_rate),
            ("p50_latency", &self.p50_latency),
            ("p95_latency", &self.p95_latency),
            ("p99_latency", &self.p99_latency),
            ("green_share", &self.green_share),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|q| (k, q)))
        .collect()
    }
}

/// One `[[chart]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    /// Its title.
    pub title: String,
    /// PromQL, or the name of a `[queries]` entry.
    pub query: String,
    /// How values read: `%` (ratio), `ms` or `s` (seconds), `/s`, or none.
    #[serde(default)]
    pub unit: String,
    /// Series drawn at most [default: 10].
    pub max_series: Option<usize>,
    /// The label that names a series in the legend [default: all labels].
    pub legend: Option<String>,
}

/// One timeline event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Unix ms.
    pub at_ms: i64,
    /// As written.
    pub raw: Value,
}

impl Event {
    fn s(&self, k: &str) -> &str {
        self.raw[k].as_str().unwrap_or_default()
    }
}

/// A phase's window.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Its name.
    pub name: String,
    /// Unix ms.
    pub from_ms: i64,
    /// Unix ms.
    pub to_ms: i64,
    /// Its last event's name (`passed`, `rollback-finished`…).
    pub outcome: String,
}

/// The timeline, read.
pub fn read_timeline(path: &Path) -> Result<Vec<Event>, Error> {
    let lines = journal::read(path)
        .map_err(|e| Error::usage(format!("--timeline {}: {e}", path.display())))?;
    let mut events = Vec::new();
    for l in lines.objects {
        let t = l["time"].as_str().unwrap_or_default();
        let at = humantime::parse_rfc3339_weak(t.trim_end_matches('Z'))
            .or_else(|_| humantime::parse_rfc3339(t))
            .map_err(|_| {
                Error::usage(format!(
                    "--timeline {}: an event without a valid time: {l}",
                    path.display()
                ))
            })?;
        let at_ms = crate::report::ms_of(at);
        events.push(Event { at_ms, raw: l });
    }
    if events.is_empty() {
        return Err(Error::usage(format!(
            "--timeline {}: no events: nothing to report",
            path.display()
        )));
    }
    events.sort_by_key(|e| e.at_ms);
    Ok(events)
}

/// The phases, in order of their first event.
pub fn phases(events: &[Event], end_ms: i64) -> Vec<Phase> {
    let mut order: Vec<(String, i64)> = Vec::new();
    for e in events {
        let p = e.s("phase");
        if !p.is_empty() && !order.iter().any(|(n, _)| n == p) {
            order.push((p.to_string(), e.at_ms));
        }
    }
    order
        .iter()
        .enumerate()
        .map(|(i, (name, from))| {
            let to = order.get(i + 1).map(|(_, t)| *t).unwrap_or(end_ms);
            let outcome = events
                .iter()
                .rev()
                .find(|e| e.s("phase") == name && e.s("event") != "note")
                .map(|e| e.s("event").to_string())
                .unwrap_or_default();
            Phase {
                name: name.clone(),
                from_ms: *from,
                to_ms: to.max(*from),
                outcome,
            }
        })
        .collect()
}

/// One query's series over the launch.
type Data = Vec<crate::prom::Series>;

/// What a report run produced.
#[derive(Debug)]
pub struct Written {
    /// The files, in order.
    pub files: Vec<PathBuf>,
    /// Points fetched from Prometheus.
    pub points: usize,
    /// Queries that failed, with why.
    pub failed: Vec<String>,
}

/// Everything `report` needs.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// timeline.ndjson.
    pub timeline: PathBuf,
    /// The report file.
    pub file: ReportFile,
    /// The report file's path.
    pub file_path: PathBuf,
    /// Where to write.
    pub out: PathBuf,
    /// The whole run's limit.
    pub timeout: Duration,
    /// `--step` over the file's.
    pub step: Option<Duration>,
}

fn mean(points: &[(i64, f64)]) -> Option<f64> {
    let v: Vec<f64> = points
        .iter()
        .map(|p| p.1)
        .filter(|x| x.is_finite())
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn within(points: &[(i64, f64)], from: i64, to: i64) -> Vec<(i64, f64)> {
    points
        .iter()
        .copied()
        .filter(|(t, _)| *t >= from && *t < to)
        .collect()
}

/// A value as people read it in `unit`.
pub fn fmt_unit(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v.filter(|x| x.is_finite()) else {
        return "–".into();
    };
    match unit {
        "%" => format!("{:.2}%", v * 100.0),
        "ms" => format!("{:.0}ms", v * 1000.0),
        "s" => format!("{v:.3}s"),
        "/s" => format!("{v:.1}/s"),
        "count" => format!("{}", v.round() as i64),
        _ => format!("{v:.4}"),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The per-phase figures.
fn phase_figures(p: &Phase, data: &BTreeMap<&str, Data>, step_s: f64) -> Vec<(String, String)> {
    let first = |k: &str| {
        data.get(k)
            .and_then(|d| d.first())
            .map(|s| within(&s.points, p.from_ms, p.to_ms))
    };
    let mut out = Vec::new();
    let rate = first("request_rate");
    let err = first("error_rate");
    let served = rate
        .as_ref()
        .map(|r| r.iter().map(|x| x.1).filter(|x| x.is_finite()).sum::<f64>() * step_s);
    out.push(("requests".into(), fmt_unit(served, "count")));
    // The error rate weighted by traffic, so a quiet minute counts less.
    let err_rate = match (&rate, &err) {
        (Some(r), Some(e)) => {
            let rm: BTreeMap<i64, f64> = r.iter().copied().collect();
            let (mut num, mut den) = (0.0, 0.0);
            for (t, ev) in e {
                if let Some(rv) = rm.get(t).filter(|x| x.is_finite())
                    && ev.is_finite()
                {
                    num += ev * rv;
                    den += rv;
                }
            }
            if den > 0.0 { Some(num / den) } else { mean(e) }
        }
        (_, Some(e)) => mean(e),
        _ => None,
    };
    out.push(("success".into(), fmt_unit(err_rate.map(|e| 1.0 - e), "%")));
    out.push(("error rate".into(), fmt_unit(err_rate, "%")));
    for (k, label) in [
        ("p50_latency", "p50"),
        ("p95_latency", "p95"),
        ("p99_latency", "p99"),
    ] {
        out.push((
            label.into(),
            fmt_unit(first(k).as_deref().and_then(mean), "ms"),
        ));
    }
    out.push((
        "green share".into(),
        fmt_unit(first("green_share").as_deref().and_then(mean), "%"),
    ));
    out
}

/// Colours for series, readable on white.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// One chart as inline SVG: series as polylines (min/max a pixel column),
/// phase boundaries dashed, the rollback in red.
pub fn svg_chart(
    chart: &Chart,
    series: &[crate::prom::Series],
    phases: &[Phase],
    events: &[Event],
    from_ms: i64,
    to_ms: i64,
) -> String {
    let (w, h, left, right, top, bottom) = (960.0, 260.0, 64.0, 16.0, 28.0, 40.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let span = (to_ms - from_ms).max(1) as f64;
    let x = |t: i64| left + (t - from_ms) as f64 / span * pw;
    let shown: Vec<&crate::prom::Series> =
        series.iter().take(chart.max_series.unwrap_or(10)).collect();
    let mut max = shown
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    if max <= 0.0 {
        max = 1.0;
    }
    let max = nice(max);
    let y = |v: f64| top + ph - (v / max).clamp(0.0, 1.05) * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" data-chart=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        id = esc(&chart
            .query
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect::<String>()),
        t = esc(&chart.title)
    );
    let _ = write!(
        s,
        "<text x=\"{left}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        esc(&chart.title)
    );
    // Axes and a grid of quarters.
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let yy = y(v);
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            left + pw,
            left - 4.0,
            yy + 3.0,
            esc(&fmt_unit(Some(v), &chart.unit))
        );
    }
    // Phase boundaries.
    for (i, p) in phases.iter().enumerate() {
        let xx = x(p.from_ms);
        // Phases close together get their names on alternate lines.
        let _ = write!(
            s,
            "<line class=\"phase\" x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"10\" fill=\"#555\">{}</text>",
            top + ph,
            xx + 3.0,
            top + ph + 12.0 + (i % 2) as f64 * 10.0,
            esc(&p.name)
        );
    }
    // The rollback: a red band from its start to its end.
    let rb_start = events.iter().find(|e| e.s("event") == "rollback-started");
    if let Some(st) = rb_start {
        let end = events
            .iter()
            .find(|e| e.s("event") == "rollback-finished" && e.at_ms >= st.at_ms)
            .map(|e| e.at_ms)
            .unwrap_or(to_ms);
        let (x0, x1) = (x(st.at_ms), x(end).max(x(st.at_ms) + 2.0));
        // The label reads leftwards from the band near the right edge.
        let (lx, anchor) = if x0 > w - right - 80.0 {
            (x0 - 3.0, "end")
        } else {
            (x0 + 3.0, "start")
        };
        let _ = write!(
            s,
            "<rect class=\"rollback\" x=\"{x0:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{ph}\" fill=\"#d62728\" fill-opacity=\"0.15\" stroke=\"#d62728\"/><text x=\"{lx:.1}\" y=\"{}\" font-size=\"11\" fill=\"#d62728\" text-anchor=\"{anchor}\">rollback</text>",
            x1 - x0,
            top + 12.0
        );
    }
    // Series: at most one min and one max per pixel column.
    let cols = pw as usize;
    for (i, ser) in shown.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let mut buckets: Vec<Option<(f64, f64, i64, i64)>> = vec![None; cols + 1];
        for &(t, v) in &ser.points {
            if !v.is_finite() || t < from_ms || t > to_ms {
                continue;
            }
            let c = (((t - from_ms) as f64 / span) * cols as f64) as usize;
            let b = &mut buckets[c.min(cols)];
            *b = Some(match *b {
                None => (v, v, t, t),
                Some((lo, hi, tlo, thi)) => {
                    let (lo, tlo) = if v < lo { (v, t) } else { (lo, tlo) };
                    let (hi, thi) = if v > hi { (v, t) } else { (hi, thi) };
                    (lo, hi, tlo, thi)
                }
            });
        }
        let mut pts = String::new();
        for (lo, hi, tlo, thi) in buckets.into_iter().flatten() {
            let pair = if tlo <= thi {
                [(tlo, lo), (thi, hi)]
            } else {
                [(thi, hi), (tlo, lo)]
            };
            for (t, v) in pair {
                let _ = write!(pts, "{:.1},{:.1} ", x(t), y(v));
            }
        }
        let legend = match &chart.legend {
            Some(l) => ser.labels.get(l).cloned().unwrap_or_default(),
            None => {
                let mut l = ser.labels.clone();
                l.remove("__name__");
                if l.is_empty() {
                    chart.title.clone()
                } else {
                    crate::judge::fmt_labels(&l)
                }
            }
        };
        let _ = write!(
            s,
            "<polyline class=\"series\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"><title>{}</title></polyline>",
            pts.trim_end(),
            esc(&legend)
        );
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" fill=\"{colour}\">{}</text>",
            left + 8.0 + (i % 5) as f64 * 170.0,
            h - 6.0 - (i / 5) as f64 * 0.0,
            esc(&legend.chars().take(28).collect::<String>())
        );
    }
    s.push_str("</svg>");
    s
}

/// A round number at or above `v` (1, 2 or 5 times a power of ten).
fn nice(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

fn time_of(ms: i64) -> String {
    crate::report::time_of(ms)
}

fn hm(ms: i64) -> String {
    let t = time_of(ms);
    format!(
        "{} {}",
        t.get(..10).unwrap_or(""),
        t.get(11..19).unwrap_or("")
    )
}

fn took(from: i64, to: i64) -> String {
    golive_core::units::human_duration(Duration::from_millis((to - from).max(0) as u64))
}

/// Build and write the report.
pub fn write_report(cfg: &ReportConfig, client: &PromClient) -> Result<Written, Error> {
    let events = read_timeline(&cfg.timeline)?;
    let from_ms = events.first().map(|e| e.at_ms).unwrap_or(0);
    let last_ms = events.last().map(|e| e.at_ms).unwrap_or(from_ms);
    let to_ms = last_ms.max(from_ms + 1000);
    let phases = phases(&events, to_ms);
    // Within Prometheus's 11,000 points a series.
    let span_s = ((to_ms - from_ms) as f64 / 1000.0).max(1.0);
    // By default a few hundred points a phase-long chart: 15 s for a launch
    // of hours, down to 1 s (a scrape interval) for one of seconds.
    let step = cfg
        .step
        .or(cfg.file.report.step)
        .unwrap_or_else(|| Duration::from_secs_f64((span_s / 300.0).clamp(1.0, 15.0)));
    let step = step.max(Duration::from_secs_f64(span_s / 10_900.0));
    let step_s = step.as_secs_f64();
    let deadline = Deadline::after(cfg.timeout);
    std::fs::create_dir_all(&cfg.out)
        .map_err(|e| Error::Unknown(format!("cannot create {}: {e}", cfg.out.display())))?;

    // Every query once, concurrently.
    let named = cfg.file.queries.named();
    let resolve = |q: &str| -> String {
        named
            .iter()
            .find(|(k, _)| *k == q)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| q.to_string())
    };
    let mut wanted: Vec<(String, String)> = named
        .iter()
        .map(|(k, q)| (k.to_string(), q.to_string()))
        .collect();
    for c in &cfg.file.chart {
        if !wanted.iter().any(|(k, _)| *k == c.query) {
            wanted.push((c.query.clone(), resolve(&c.query)));
        }
    }
    let answers = golive_core::pool::map(&wanted, 16, |(_, q)| {
        client.range(q, from_ms, to_ms, step, &deadline)
    });
    let mut data: BTreeMap<&str, Data> = BTreeMap::new();
    let mut failed = Vec::new();
    let mut points = 0;
    for ((k, _), a) in wanted.iter().zip(answers) {
        match a {
            Ok(a) => {
                points += a.series.iter().map(|s| s.points.len()).sum::<usize>();
                data.insert(k.as_str(), a.series);
            }
            Err(e) => failed.push(format!("{k}: {e}")),
        }
    }

    let title = cfg
        .file
        .report
        .title
        .clone()
        .unwrap_or_else(|| "Launch".into());
    let rolled_back = events.iter().any(|e| e.s("event") == "rollback-started");
    let outcome = if rolled_back {
        "rolled back"
    } else if events.iter().any(|e| e.s("event") == "failed") {
        "failed"
    } else if phases.last().is_some_and(|p| p.outcome == "passed") {
        "completed"
    } else {
        "in progress"
    };
    let notes: Vec<String> = events
        .iter()
        .flat_map(|e| {
            e.raw["figures"]["notes"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|n| {
                    n.as_str()
                        .map(|n| format!("{} ({}): {n}", hm(e.at_ms), e.s("phase")))
                })
        })
        .collect();
    // The baseline: the final window.
    let (bfrom, bto) = match cfg.file.report.baseline_window {
        Some(w) => ((to_ms - w.as_millis() as i64).max(from_ms), to_ms),
        None => phases
            .last()
            .map(|p| (p.from_ms, p.to_ms))
            .unwrap_or((from_ms, to_ms)),
    };
    let mut baseline = String::from("metric,mean,min,max,points,from,to,query\n");
    let mut baseline_rows = Vec::new();
    for (k, q) in &named {
        let Some(s) = data.get(k).and_then(|d| d.first()) else {
            continue;
        };
        let w = within(&s.points, bfrom, bto + 1);
        let finite: Vec<f64> = w.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
        let (mn, mx) = finite
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let m = mean(&w);
        let num = |v: Option<f64>| {
            v.filter(|x| x.is_finite())
                .map(|x| x.to_string())
                .unwrap_or_default()
        };
        let mut row = csv::Writer::from_writer(Vec::new());
        let _ = row.write_record([
            k.to_string(),
            num(m),
            num(Some(mn)),
            num(Some(mx)),
            finite.len().to_string(),
            time_of(bfrom),
            time_of(bto),
            q.to_string(),
        ]);
        baseline.push_str(&String::from_utf8_lossy(
            &row.into_inner().unwrap_or_default(),
        ));
        baseline_rows.push((k.to_string(), m));
    }

    // report.md
    let mut md = format!(
        "# {title}: post-launch report\n\n- Launch: {} → {} ({}), **{outcome}**\n- Evidence: `{}`\n- Resolution: {} (query_range over the launch window)\n\n## Timeline\n\n| time (UTC) | phase | event | status | what |\n|---|---|---|---|---|\n",
        hm(from_ms),
        hm(last_ms),
        took(from_ms, last_ms),
        cfg.timeline.display(),
        golive_core::units::human_duration(step),
    );
    for e in &events {
        let mut why = e.s("message").replace('|', "\\|");
        if let Some(rules) = e.raw["figures"]["rules"].as_array() {
            let deciding: Vec<String> = rules
                .iter()
                .filter(|r| r["status"] != "ok")
                .map(|r| {
                    format!(
                        "{} {}",
                        r["name"].as_str().unwrap_or(""),
                        r["message"].as_str().unwrap_or("")
                    )
                })
                .collect();
            if !deciding.is_empty() {
                why.push_str(&format!(" — {}", deciding.join("; ").replace('|', "\\|")));
            }
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {why} |",
            hm(e.at_ms),
            e.s("phase"),
            e.s("event"),
            e.s("status")
        );
    }
    let headers = [
        "requests",
        "success",
        "error rate",
        "p50",
        "p95",
        "p99",
        "green share",
    ];
    md.push_str("\n## Phases\n\n| phase | from | duration | outcome | ");
    md.push_str(&headers.join(" | "));
    md.push_str(" |\n|---|---|---|---|");
    md.push_str(&"---|".repeat(headers.len()));
    md.push('\n');
    let mut phase_rows = Vec::new();
    for p in &phases {
        let f = phase_figures(p, &data, step_s);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            p.name,
            hm(p.from_ms),
            took(p.from_ms, p.to_ms),
            p.outcome,
            f.iter()
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
                .join(" | ")
        );
        phase_rows.push((p, f));
    }
    md.push_str("\n## Notes for the post-launch review\n\n");
    if notes.is_empty() {
        md.push_str("None: no INFO condition held.\n");
    }
    for n in &notes {
        let _ = writeln!(md, "- {n}");
    }
    let _ = write!(
        md,
        "\n## Baseline\n\nThe final window, {} → {}, in `baseline.csv`:\n\n| metric | mean |\n|---|---|\n",
        hm(bfrom),
        hm(bto)
    );
    for (k, m) in &baseline_rows {
        let unit = if k.contains("latency") {
            "ms"
        } else if k == "request_rate" {
            "/s"
        } else {
            "%"
        };
        let _ = writeln!(md, "| {k} | {} |", fmt_unit(*m, unit));
    }
    md.push_str("\n## Charts\n\n");
    let mut files = Vec::new();
    let mut svgs = Vec::new();
    for (i, c) in cfg.file.chart.iter().enumerate() {
        let series = data.get(c.query.as_str()).cloned().unwrap_or_default();
        let svg = svg_chart(c, &series, &phases, &events, from_ms, to_ms);
        let name = format!("chart-{}.svg", i + 1);
        let path = cfg.out.join(&name);
        golive_core::fs::write_atomic(&path, svg.as_bytes())
            .map_err(|e| Error::Unknown(format!("{}: {e}", path.display())))?;
        let _ = writeln!(md, "![{}]({name})\n", c.title);
        files.push(path);
        svgs.push(svg);
    }
    if !failed.is_empty() {
        md.push_str("\n## Queries that failed\n\n");
        for f in &failed {
            let _ = writeln!(md, "- {f}");
        }
    }

    // report.html
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}: post-launch report</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:64em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.25em .6em;font-size:.9em;text-align:left}}.critical td{{background:#fde8e8}}.warning td{{background:#fff6dd}}.chart{{display:block;margin:1em 0;max-width:100%;height:auto}}</style></head><body>\n<h1>{t}: post-launch report</h1>\n<p>Launch {} → {} ({}), <strong id=\"outcome\">{outcome}</strong>.</p>\n<h2>Timeline</h2><table id=\"timeline\"><tr><th>time (UTC)</th><th>phase</th><th>event</th><th>status</th><th>what</th></tr>\n",
        esc(&hm(from_ms)),
        esc(&hm(last_ms)),
        esc(&took(from_ms, last_ms)),
        t = esc(&title),
    );
    for e in &events {
        let _ = writeln!(
            html,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(e.s("status")),
            esc(&hm(e.at_ms)),
            esc(e.s("phase")),
            esc(e.s("event")),
            esc(e.s("status")),
            esc(e.s("message"))
        );
    }
    html.push_str("</table>\n<h2>Phases</h2><table id=\"phases\"><tr><th>phase</th><th>from</th><th>duration</th><th>outcome</th>");
    for h in headers {
        let _ = write!(html, "<th>{h}</th>");
    }
    html.push_str("</tr>\n");
    for (p, f) in &phase_rows {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            esc(&p.name),
            esc(&hm(p.from_ms)),
            esc(&took(p.from_ms, p.to_ms)),
            esc(&p.outcome)
        );
        for (_, v) in f {
            let _ = write!(html, "<td>{}</td>", esc(v));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n<h2>Notes for the post-launch review</h2><ul id=\"notes\">");
    for n in &notes {
        let _ = write!(html, "<li>{}</li>", esc(n));
    }
    html.push_str("</ul>\n<h2>Charts</h2>\n");
    for s in &svgs {
        html.push_str(s);
        html.push('\n');
    }
    let _ = writeln!(
        html,
        "<h2>Baseline</h2><p>{} → {}: see baseline.csv.</p></body></html>",
        esc(&hm(bfrom)),
        esc(&hm(bto))
    );
    for (name, text) in [
        ("report.md", md.as_str()),
        ("report.html", html.as_str()),
        ("baseline.csv", baseline.as_str()),
    ] {
        let path = cfg.out.join(name);
        golive_core::fs::write_atomic(&path, text.as_bytes())
            .map_err(|e| Error::Unknown(format!("{}: {e}", path.display())))?;
        files.push(path);
    }
    // The report first, then the data, then the charts.
    files.rotate_right(3);
    Ok(Written {
        files,
        points,
        failed,
    })
}

/// What `metric-gate report` prints after the envelope.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ReportBody {
    /// The folder written.
    pub out: String,
    /// report.html's path.
    pub report: String,
    /// Every file written: report.md, report.html, baseline.csv, the charts.
    pub files: Vec<String>,
    /// Points fetched from Prometheus.
    pub points: usize,
    /// Queries that failed, with why (their figures show as –).
    pub failed_queries: Vec<String>,
}

/// The summary `report` prints: OK, or WARNING when a query failed.
pub fn summary(w: &Written, out: &Path) -> (Status, ReportBody) {
    let status = if w.failed.is_empty() {
        Status::Ok
    } else {
        Status::Warning
    };
    let path = |p: &Path| p.display().to_string();
    (
        status,
        ReportBody {
            out: path(out),
            report: path(&out.join("report.html")),
            files: w.files.iter().map(|f| path(f)).collect(),
            points: w.points,
            failed_queries: w.failed.clone(),
        },
    )
}
