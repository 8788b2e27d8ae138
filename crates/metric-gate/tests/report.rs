//! `metric-gate report`: the post-launch report from a timeline and a real
//! Prometheus holding the launch's history (HAProxy's metrics, as
//! examples/gates/report.toml reads them). The figures must match what
//! Prometheus holds, the charts must be in the page a real browser (Debian's
//! headless Chromium) renders, and the incident must be on them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const RPS: f64 = 20.0;

/// The launch: preflight at 0, DNS at 300 s, the soft launch 600–1200 s,
/// 25% from 1200 s; green fails from 1500 s, the gate fires at 1800 s and
/// the rollback ends at 1830 s; the history runs to 3600 s.
fn history() -> History {
    let mut h = History::new();
    h.haproxy_server("app", "blue", RPS * 0.8, |_| 0.0);
    h.haproxy_server("app", "green", RPS * 0.2, |t| {
        if (1500..1830).contains(&t) { 0.3 } else { 0.0 }
    });
    h.counter("haproxy_backend_http_requests_total{proxy=\"app\"}", |_| {
        RPS * STEP as f64
    });
    h.gauge(
        "haproxy_backend_response_time_average_seconds{proxy=\"app\"}",
        0,
        END,
        |t| {
            Some(if (1500..1830).contains(&t) {
                0.62
            } else {
                0.04
            })
        },
    );
    for (server, w) in [("blue", 99.0), ("green", 1.0)] {
        h.gauge(
            &format!("haproxy_server_weight{{proxy=\"app\",server=\"{server}\"}}"),
            0,
            END,
            move |t| {
                Some(match (server, t) {
                    (_, t) if t >= 1830 => {
                        if server == "blue" {
                            100.0
                        } else {
                            0.0
                        }
                    }
                    ("green", t) if t >= 1200 => 25.0,
                    ("blue", t) if t >= 1200 => 75.0,
                    _ => w,
                })
            },
        );
        h.gauge(
            &format!(
                "haproxy_server_response_time_average_seconds{{proxy=\"app\",server=\"{server}\"}}"
            ),
            0,
            END,
            |_| Some(0.04),
        );
    }
    h
}

fn timeline(h: &History, dir: &Path) -> PathBuf {
    let at = |t: i64| report_time(h.base + t);
    let events = [
        (0, "preflight", "passed", "ok", "all systems ready", "{}"),
        (
            300,
            "dns",
            "passed",
            "ok",
            "DNS cutover complete",
            r#"{"took_s":41}"#,
        ),
        (600, "soft-launch", "started", "ok", "traffic at 1%", "{}"),
        (
            900,
            "soft-launch",
            "checkpoint",
            "ok",
            "checkpoint 1: continue",
            r#"{"notes":["p95: info: 520ms > 500ms (for the post-launch review)"]}"#,
        ),
        (
            1190,
            "soft-launch",
            "passed",
            "ok",
            "soft launch complete",
            "{}",
        ),
        (1200, "rollout-25", "started", "ok", "traffic at 25%", "{}"),
        (
            1800,
            "rollout-25",
            "failed",
            "critical",
            "metric gate says roll back",
            r#"{"rules":[{"name":"green_error_rate","status":"critical","value":0.3,"message":"30% > 5% at every point for 2m"}]}"#,
        ),
        (
            1805,
            "rollout-25",
            "rollback-started",
            "critical",
            "rollback initiated",
            "{}",
        ),
        (
            1830,
            "rollout-25",
            "rollback-finished",
            "ok",
            "rollback complete: blue=100, verified",
            "{}",
        ),
        (
            3600,
            "monitoring",
            "passed",
            "ok",
            "blue steady for the rest of the hour",
            "{}",
        ),
    ];
    let path = dir.join("timeline.ndjson");
    let text: String = events
        .iter()
        .map(|(t, p, e, s, m, f)| {
            format!(
                "{{\"time\":\"{}\",\"phase\":\"{p}\",\"event\":\"{e}\",\"status\":\"{s}\",\"severity\":\"info\",\"message\":\"{m}\",\"figures\":{f}}}\n",
                at(*t)
            )
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn report_toml() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/gates/report.toml")
        .display()
        .to_string()
}

fn row<'a>(md: &'a str, phase: &str) -> Vec<&'a str> {
    md.lines()
        .find(|l| l.starts_with(&format!("| {phase} |")) && l.matches('|').count() > 8)
        .unwrap_or_else(|| panic!("no phase row for {phase}:\n{md}"))
        .split('|')
        .map(str::trim)
        .collect()
}

#[test]
fn the_report_matches_prometheus_and_renders_with_the_incident_on_its_charts() {
    let h = history();
    let p = h.start();
    let dir = testkit::temp_dir("mg-report");
    let tl = timeline(&h, dir.path());
    let out = dir.path().join("report");
    let r = Cli::new(BIN)
        .args([
            "report",
            "--timeline",
            tl.to_str().unwrap(),
            "--rules",
            &report_toml(),
        ])
        .args(["--prometheus", &p.url(), "--out", out.to_str().unwrap()])
        .run();
    r.assert_code(0);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(doc["failed_queries"].as_array().unwrap().len(), 0, "{doc}");

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("**rolled back**"), "{md}");
    assert!(md.contains("| rollout-25 | failed | critical | metric gate says roll back — green_error_rate 30% > 5%"), "{md}");
    assert!(
        md.contains("p95: info: 520ms > 500ms"),
        "the INFO note:\n{md}"
    );
    // Requests served in the soft launch: 600 s at RPS, as Prometheus holds
    // them (within a scrape step of error at each end).
    let soft = row(&md, "soft-launch");
    let served: f64 = soft[5].parse().unwrap();
    let want = RPS * 590.0;
    assert!(
        (served - want).abs() <= RPS * 2.0 * STEP as f64,
        "served {served}, want ~{want}: {soft:?}"
    );
    assert_eq!(soft[6], "100.00%", "{soft:?}");
    // 25%: green fails 30% of its share for part of the phase: errors show.
    let r25 = row(&md, "rollout-25");
    assert_ne!(r25[7], "0.00%", "{r25:?}");
    let green_share: f64 = soft[11].trim_end_matches('%').parse().unwrap();
    assert!((green_share - 20.0).abs() < 1.0, "{soft:?}");

    // baseline.csv: the final window (monitoring), a row a query.
    let mut csv = csv::Reader::from_path(out.join("baseline.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let rate = rows
        .iter()
        .find(|r| &r[0] == "request_rate")
        .expect("request_rate row");
    let mean: f64 = rate[1].parse().unwrap();
    assert!((mean - RPS).abs() < 0.5, "baseline request rate {mean}");
    assert!(rows.iter().any(|r| &r[0] == "error_rate"));

    // The page is self-contained and holds the charts and the incident.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for banned in ["<script", "<link", " src=", "url("] {
        assert!(!html.contains(banned), "report.html has {banned}");
    }
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 4);
    assert!(html.contains("class=\"rollback\""));

    // A real browser renders it: the DOM Chromium built has every chart,
    // its series and the rollback band.
    let chromium = testkit::require("chromium", "chromium");
    let profile = testkit::temp_dir("chromium");
    let dom = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", out.join("report.html").display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("class=\"chart\"").count(), 4, "{dom}");
    assert!(dom.matches("<polyline").count() >= 4, "{dom}");
    assert!(dom.contains("class=\"rollback\""));
    assert!(dom.contains("id=\"outcome\">rolled back<"), "{dom}");
}

#[test]
fn a_missing_or_empty_timeline_is_64() {
    let dir = testkit::temp_dir("mg-report-bad");
    let empty = dir.path().join("timeline.ndjson");
    std::fs::write(&empty, "").unwrap();
    for tl in [
        empty.display().to_string(),
        "/nonexistent/timeline.ndjson".into(),
    ] {
        let r = Cli::new(BIN)
            .args(["report", "--timeline", &tl, "--rules", &report_toml()])
            .args([
                "--prometheus",
                "http://127.0.0.1:9",
                "--out",
                dir.path().join("o").to_str().unwrap(),
            ])
            .run();
        r.assert_code(64);
    }
}
