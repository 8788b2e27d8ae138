//! Shared helpers for metric-gate's tests: synthetic history written as
//! OpenMetrics for `promtool tsdb create-blocks-from openmetrics`, and the
//! launch history most tests judge.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

pub use testkit::Prometheus;
pub use testkit::cli::{Cli, Ran};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_metric-gate");

/// Samples every this many seconds.
pub const STEP: i64 = 15;
/// The history spans offsets 0..=END seconds.
pub const END: i64 = 3600;

/// Synthetic history: series keyed `name{labels}`, samples in time order.
#[derive(Debug, Clone)]
pub struct History {
    /// Unix seconds of offset 0: some hours ago, on a minute boundary, so the
    /// blocks stay (no scrape job writes over them) and `--at` is exact.
    pub base: i64,
    series: BTreeMap<String, Vec<(i64, f64)>>,
}

impl History {
    /// An empty history starting six hours ago.
    pub fn new() -> History {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        History {
            base: (now - 6 * 3600) / 60 * 60,
            series: BTreeMap::new(),
        }
    }

    /// `--at` for an offset, as unix seconds.
    pub fn at(&self, offset: i64) -> String {
        (self.base + offset).to_string()
    }

    /// A gauge sampled every [`STEP`] over `from..=to`; `None` leaves a gap.
    pub fn gauge(&mut self, series: &str, from: i64, to: i64, f: impl Fn(i64) -> Option<f64>) {
        let pts = self.series.entry(series.to_string()).or_default();
        let mut t = from;
        while t <= to {
            if let Some(v) = f(t) {
                pts.push((t, v));
            }
            t += STEP;
        }
    }

    /// A counter over `0..=END` that grows by `inc(t)` at each sample.
    pub fn counter(&mut self, series: &str, inc: impl Fn(i64) -> f64) {
        let pts = self.series.entry(series.to_string()).or_default();
        let mut total = 0.0;
        let mut t = 0;
        while t <= END {
            total += inc(t);
            pts.push((t, total));
            t += STEP;
        }
    }

    /// HAProxy server counters for one pool server: 100 responses per
    /// sample, `err(t)` of them 5xx.
    pub fn haproxy_server(
        &mut self,
        proxy: &str,
        server: &str,
        rps: f64,
        err: impl Fn(i64) -> f64 + Copy,
    ) {
        let l = |code: &str| {
            format!(
                "haproxy_server_http_responses_total{{proxy=\"{proxy}\",server=\"{server}\",code=\"{code}\"}}"
            )
        };
        self.counter(&l("2xx"), |t| rps * STEP as f64 * (1.0 - err(t)));
        self.counter(&l("5xx"), |t| rps * STEP as f64 * err(t));
    }

    /// The same as backend-level counters (`haproxy_backend_*`, one backend
    /// per pool).
    pub fn haproxy_backend(&mut self, proxy: &str, rps: f64, err: impl Fn(i64) -> f64 + Copy) {
        let l = |code: &str| {
            format!("haproxy_backend_http_responses_total{{proxy=\"{proxy}\",code=\"{code}\"}}")
        };
        self.counter(&l("2xx"), |t| rps * STEP as f64 * (1.0 - err(t)));
        self.counter(&l("5xx"), |t| rps * STEP as f64 * err(t));
        self.counter(
            &format!("haproxy_backend_http_requests_total{{proxy=\"{proxy}\"}}"),
            |_| rps * STEP as f64,
        );
    }

    /// OpenMetrics text: one family at a time, each series in time order.
    pub fn render(&self) -> String {
        let mut families: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
        for k in self.series.keys() {
            let fam = k.split('{').next().unwrap_or(k);
            families.entry(fam).or_default().push(k);
        }
        let mut out = String::new();
        for (fam, keys) in families {
            out.push_str(&format!("# TYPE {fam} gauge\n"));
            for k in keys {
                for (t, v) in &self.series[k] {
                    out.push_str(&format!("{k} {} {}\n", fmt(*v), self.base + t));
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }

    /// Start Prometheus over this history (no scrape jobs).
    pub fn start(&self) -> Prometheus {
        Prometheus::builder().backfill(&self.render()).start()
    }
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Error ratio of a pool between `[from, to)` offsets, `base` elsewhere.
pub fn phases(base: f64, phases: &'static [(i64, i64, f64)]) -> impl Fn(i64) -> f64 + Copy {
    move |t| {
        phases
            .iter()
            .find(|(a, b, _)| t >= *a && t < *b)
            .map(|p| p.2)
            .unwrap_or(base)
    }
}

/// Green's error ratio over time: 1% (as blue), a 45 s spike of 30% at
/// 600 s, a sustained 30% over 1800..2400 s, and 2% (twice blue) from 2700 s.
pub const GREEN_PHASES: &[(i64, i64, f64)] =
    &[(600, 645, 0.3), (1800, 2400, 0.3), (2700, 3700, 0.02)];

/// The fast and slow latency distributions: cumulative shares per bucket.
pub const BUCKETS: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
/// p95 = 0.1 + (0.95-0.9)/(0.99-0.9)·0.15 ≈ 0.1833 s.
pub const FAST: [f64; 7] = [0.5, 0.9, 0.99, 1.0, 1.0, 1.0, 1.0];
/// p95 = 1 + (0.95-0.9)/(1-0.9)·1.5 = 1.75 s.
pub const SLOW: [f64; 7] = [0.0, 0.0, 0.1, 0.5, 0.9, 1.0, 1.0];

/// The launch history most tests judge (offsets in seconds):
/// - HAProxy backends `green` and `blue` at 10 req/s; blue 1% 5xx, green as
///   [`GREEN_PHASES`];
/// - backend `idle` with no traffic at all (its error ratio is 0/0);
/// - `http_request_duration_seconds_bucket{handler="/api/dashboard"}`: fast
///   before 1800 s, slow after;
/// - `app_http_requests_total{endpoint,code}` for twenty endpoints, one of
///   them (`/api/forensic`) failing 10%, the others 0.1%;
/// - `app_cpu_ratio` at 0.3 with a gap over 1215..1785 s (longer than the
///   5 m lookback, so range queries miss points).
pub fn launch() -> History {
    let mut h = History::new();
    h.haproxy_backend("blue", 10.0, |_| 0.01);
    h.haproxy_backend("green", 10.0, phases(0.01, GREEN_PHASES));
    h.haproxy_backend("idle", 0.0, |_| 0.0);
    for (i, le) in BUCKETS.iter().enumerate() {
        h.counter(
            &format!(
                "http_request_duration_seconds_bucket{{handler=\"/api/dashboard\",le=\"{le}\"}}"
            ),
            |t| 100.0 * if t < 1800 { FAST[i] } else { SLOW[i] },
        );
    }
    for e in endpoints() {
        let err = if e == "/api/forensic" { 0.1 } else { 0.001 };
        h.counter(
            &format!("app_http_requests_total{{endpoint=\"{e}\",code=\"200\"}}"),
            |_| 1000.0 * (1.0 - err),
        );
        h.counter(
            &format!("app_http_requests_total{{endpoint=\"{e}\",code=\"500\"}}"),
            |_| 1000.0 * err,
        );
    }
    h.gauge("app_cpu_ratio", 0, END, |t| {
        (!(1215..1800).contains(&t)).then_some(0.3)
    });
    h
}

/// The twenty endpoints of [`launch`].
pub fn endpoints() -> Vec<String> {
    let mut v: Vec<String> = (1..=19).map(|i| format!("/api/e{i:02}")).collect();
    v.insert(7, "/api/forensic".into());
    v
}

/// Green's 5xx share over the last minute.
pub const GREEN_ERRORS: &str = r#"sum(rate(haproxy_backend_http_responses_total{proxy="green",code="5xx"}[1m])) / sum(rate(haproxy_backend_http_responses_total{proxy="green"}[1m]))"#;
/// Blue's.
pub const BLUE_ERRORS: &str = r#"sum(rate(haproxy_backend_http_responses_total{proxy="blue",code="5xx"}[1m])) / sum(rate(haproxy_backend_http_responses_total{proxy="blue"}[1m]))"#;

/// `metric-gate check --prometheus URL` plus `args`.
pub fn check(p: &Prometheus, args: &[&str]) -> Ran {
    Cli::new(BIN)
        .args(["check", "--prometheus", &p.url()])
        .args(args)
        .run()
}

/// Write a rules file into a temp dir that lives as long as the returned guard.
pub fn rules_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = testkit::temp_dir("metric-gate-rules");
    let p = dir.path().join("rules.toml");
    std::fs::write(&p, text).unwrap();
    (dir, p.display().to_string())
}

#[allow(unused_imports)] // each test binary uses some of them
pub use testkit::deadline::{START_SLACK, assert_honoured, tool_time};

/// RFC 3339 of unix seconds, as a timeline writes it.
pub fn report_time(unix_s: i64) -> String {
    golive_core::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_s as u64))
}
