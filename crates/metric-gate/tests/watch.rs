//! `metric-gate watch`: live against a scrape target whose error rate
//! changes mid-run, replayed over known history, and the war-room board.

mod common;

use std::time::{Duration, Instant};

use common::*;
use testkit::Nginx;

/// Write the file nginx serves as /metrics atomically (Prometheus never
/// scrapes a half-written file).
fn set_error_ratio(n: &Nginx, v: f64) {
    let tmp = n.dir().join("metrics.tmp");
    std::fs::write(
        &tmp,
        format!("# TYPE app_error_ratio gauge\napp_error_ratio {v}\n"),
    )
    .unwrap();
    std::fs::rename(&tmp, n.dir().join("metrics.txt")).unwrap();
}

#[test]
fn live_watch_rolls_back_when_the_error_rate_switches_mid_run() {
    let n = Nginx::start_http(|port, dir| {
        format!(
            "server {{\n  listen 127.0.0.1:{port};\n  location = /metrics {{ default_type text/plain; alias {}/metrics.txt; }}\n}}\n",
            dir.display()
        )
    });
    set_error_ratio(&n, 0.001);
    let target = format!("127.0.0.1:{}", n.port);
    let mut p = Prometheus::builder()
        .scrape("app", &[&target])
        .interval(Duration::from_secs(1))
        .start();
    p.wait_for("app_error_ratio", Duration::from_secs(20), |b| {
        b.contains("\"0.001\"")
    });

    let child = Cli::new(BIN)
        .args([
            "watch",
            "--prometheus",
            &p.url(),
            "--query",
            "app_error_ratio",
            "--warn",
            "> 1%",
            "--critical",
            "> 5%",
            "--name",
            "error_rate",
            "--interval",
            "1s",
            "--duration",
            "45s",
        ])
        .spawn();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(3500));
    set_error_ratio(&n, 0.2);
    let out = child.wait_with_output().unwrap();
    let r = Ran::from_output(out, t0.elapsed());
    r.assert_code(2);
    assert!(
        r.elapsed < Duration::from_secs(20),
        "stopped at the first CRITICAL, took {:?}",
        r.elapsed
    );
    let lines = r.ndjson();
    let (summary, rounds) = lines.split_last().unwrap();
    assert!(rounds.len() >= 3, "{}", r.stdout);
    assert!(rounds.iter().all(|l| l["event"] == "round"), "{}", r.stdout);
    assert_eq!(rounds[0]["status"], "ok");
    assert_eq!(rounds[0]["rules"][0]["value"], 0.001);
    let last = rounds.last().unwrap();
    assert_eq!(last["status"], "critical");
    assert_eq!(last["rules"][0]["value"], 0.2);
    assert!(
        rounds[..rounds.len() - 1]
            .iter()
            .all(|l| l["status"] == "ok"),
        "{}",
        r.stdout
    );
    assert_eq!(summary["tool"], "metric-gate");
    assert_eq!(summary["exit_code"], 2);
    assert_eq!(summary["ended"], "critical");
    assert_eq!(summary["decision"], "rollback");
    assert_eq!(summary["rounds"], rounds.len());
    // stdout went to a pipe: stderr still says why, for the calling script's log.
    assert!(
        r.stderr.contains("rollback: error_rate CRITICAL: 20% > 5%"),
        "{}",
        r.stderr
    );
}

fn replay(p: &Prometheus, h: &History, from: i64, duration: &str, extra: &[&str]) -> Ran {
    Cli::new(BIN)
        .args([
            "watch",
            "--prometheus",
            &p.url(),
            "--query",
            GREEN_ERRORS,
            "--warn",
            "> 1.5%",
            "--critical",
            "> 5%",
            "--name",
            "green_errors",
            "--interval",
            "1m",
            "--duration",
            duration,
            "--at",
            &h.at(from),
        ])
        .args(extra)
        .run()
}

#[test]
fn replay_stops_at_the_first_critical_round() {
    let h = launch();
    let p = h.start();
    // Rounds at 1500, 1560, … s; the sustained 30% starts at 1800 s (round 6).
    let r = replay(&p, &h, 1500, "30m", &[]);
    r.assert_code(2);
    let lines = r.ndjson();
    assert_eq!(lines.len(), 7, "six rounds and the summary: {}", r.stdout);
    assert_eq!(lines[5]["status"], "critical");
    // At 1800 s the 1 m rate holds the first 30% sample among 1% ones.
    let v = lines[5]["rules"][0]["value"].as_f64().unwrap();
    assert!(v > 0.05 && v < 0.3, "{v}");
    assert!(
        lines[..5].iter().all(|l| l["status"] == "ok"),
        "{}",
        r.stdout
    );
    assert_eq!(lines[6]["ended"], "critical");
}

#[test]
fn window_end_without_critical_is_0_with_the_warnings_seen() {
    let h = launch();
    let p = h.start();
    // Green at 2% (warn) from 2700 s, never above 5%.
    let r = replay(&p, &h, 2700, "10m", &[]);
    r.assert_code(0);
    let lines = r.ndjson();
    let summary = lines.last().unwrap();
    assert_eq!(summary["ended"], "window_end");
    assert_eq!(summary["rounds"], 11);
    assert_eq!(summary["decision"], "continue");
    assert_eq!(summary["warning_rounds"], 10);
    let seen = summary["warnings_seen"].as_array().unwrap();
    assert_eq!(seen.len(), 10);
    assert_eq!(seen[0]["rule"], "green_errors");
    assert!(
        seen[0]["message"].as_str().unwrap().contains("2% > 1.5%"),
        "{}",
        seen[0]
    );

    // A persistent warning becomes a pause.
    let r = replay(&p, &h, 2700, "10m", &["--max-consecutive-warnings", "3"]);
    r.assert_code(1);
    let lines = r.ndjson();
    let summary = lines.last().unwrap();
    assert_eq!(summary["ended"], "consecutive_warnings");
    assert_eq!(summary["decision"], "pause");
    assert_eq!(summary["rounds"], 4, "one ok round, then three warnings");
}

#[test]
fn a_watch_that_sees_nothing_ends_unknown() {
    let mut p = Prometheus::start();
    let url = p.url();
    p.stop();
    let r = Cli::new(BIN)
        .args([
            "watch",
            "--prometheus",
            &url,
            "--query",
            "up",
            "--critical",
            "< 1",
            "--interval",
            "200ms",
            "--duration",
            "20s",
            "--max-consecutive-unknown",
            "2",
            "--timeout",
            "1s",
        ])
        .run();
    r.assert_code(3);
    let lines = r.ndjson();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert_eq!(lines[2]["ended"], "consecutive_unknown");
}

#[test]
fn text_on_a_pipe_prints_plain_lines() {
    let h = launch();
    let p = h.start();
    let r = replay(&p, &h, 2700, "2m", &["--format", "text"]);
    r.assert_code(0);
    assert!(
        !r.stdout.contains('\x1b'),
        "no terminal control on a pipe: {:?}",
        r.stdout
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert!(
        lines[1].contains("round 2 WARNING green_errors: 2% > 1.5%"),
        "{}",
        r.stdout
    );
    assert!(
        lines[3].starts_with("verdict: CONTINUE (exit 0) after 3 round(s)"),
        "{}",
        r.stdout
    );
}

#[test]
fn text_on_a_terminal_redraws_the_board() {
    let h = launch();
    let p = h.start();
    // `script` gives the watch a pseudo-terminal as stdout.
    let cmd = format!(
        "{BIN} watch --prometheus {} --query '{}' --warn '> 1.5%' --critical '> 5%' --name green_errors --interval 1m --duration 3m --at {} --format text",
        p.url(),
        GREEN_ERRORS,
        h.at(2640)
    );
    let out = std::process::Command::new(testkit::require("script", "bsdutils"))
        .args(["-qefc", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert_eq!(
        screen.matches("\x1b[H\x1b[2J").count(),
        4,
        "one redraw per round: {screen}"
    );
    assert!(screen.contains("RULE          VALUE"), "{screen}");
    assert!(screen.contains("warn > 1.5%, critical > 5%"), "{screen}");
    // Trend over rounds 1%, 1.33%, 2%, 2%: low, then high.
    assert!(screen.contains("▁▃██"), "sparkline: {screen}");
    assert!(
        screen.contains("status: WARNING (pause), 2 round(s) in a row with a warning"),
        "{screen}"
    );
}
