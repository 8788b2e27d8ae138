//! The contract's last-resort rules, as a script sees them: a signal ends a
//! watch within a second with the summary so far; out-of-range input is a
//! usage error, never a network error; a server's words cannot drive the
//! terminal; a bug is one line and exit 3.

mod common;

use std::time::Duration;

use common::*;
use testkit::{GarbageHttp, SilentListener};

fn watch(url: &str, extra: &[&str]) -> Cli {
    Cli::new(BIN)
        .args([
            "watch",
            "--prometheus",
            url,
            "--query",
            "vector(1)",
            "--critical",
            "< 1",
        ])
        .args(["--interval", "1s", "--duration", "5m"])
        .args(extra)
}

#[test]
fn sigterm_between_rounds_prints_the_summary_so_far_and_exits_3() {
    let p = Prometheus::start();
    let (r, to_end) = watch(&p.url(), &["--format", "ndjson"])
        .run_signalled(libc::SIGTERM, Duration::from_millis(2500));
    assert!(to_end < Duration::from_secs(1), "took {to_end:?} to stop");
    r.assert_code(3);
    let lines = r.ndjson();
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["tool"], "metric-gate");
    assert_eq!(summary["ended"], "interrupted", "{summary}");
    assert_eq!(summary["interrupted"], "SIGTERM");
    let rounds = summary["rounds"].as_u64().unwrap();
    assert!(rounds >= 1, "{summary}");
    assert_eq!(
        lines.len() as u64,
        rounds + 1,
        "one event per round, then the summary"
    );
    assert!(r.stderr.contains("stopped by SIGTERM"), "{}", r.stderr);
}

#[test]
fn sigint_during_a_round_against_a_silent_server_stops_within_a_second() {
    let silent = SilentListener::start();
    let url = format!("http://{}", silent.addr());
    let (r, to_end) = watch(&url, &["--timeout", "30s", "--format", "json"])
        .run_signalled(libc::SIGINT, Duration::from_millis(700));
    assert!(to_end < Duration::from_secs(1), "took {to_end:?} to stop");
    r.assert_code(3);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(doc["interrupted"], "SIGINT");
    assert_eq!(doc["rounds"], 0, "the round in flight was not finished");
}

#[test]
fn out_of_range_ports_and_timeouts_are_usage_errors() {
    for url in [
        "http://127.0.0.1:99999",
        "http://127.0.0.1:0",
        "http://[::1]:65536/",
    ] {
        let r = Cli::new(BIN)
            .args([
                "check",
                "--prometheus",
                url,
                "--query",
                "up",
                "--critical",
                "< 1",
            ])
            .run();
        r.assert_code(64);
        assert!(r.stderr.contains("port"), "{url}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "http://127.0.0.1:9090",
            "--query",
            "up",
        ])
        .args(["--critical", "< 1", "--timeout", "99999999999d"])
        .run();
    r.assert_code(64);
    assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
}

#[test]
fn prometheus_warnings_cannot_drive_the_terminal() {
    let body = r#"{"status":"success","warnings":["evil \u001b[2J\u001b]0;owned\u0007 warning"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}"#;
    let server = GarbageHttp::start(200, "application/json", body);
    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            &server.url(),
            "--query",
            "up",
            "--critical",
            "< 1",
        ])
        .run();
    r.assert_code(0);
    assert!(
        r.stderr.contains("evil"),
        "the warning is reported: {}",
        r.stderr
    );
    assert!(
        !r.stderr.contains('\u{1b}') && !r.stderr.contains('\u{7}'),
        "{:?}",
        r.stderr
    );
    assert!(!r.stdout.contains('\u{1b}'), "{:?}", r.stdout);
}

#[test]
fn a_panic_is_one_scrubbed_line_and_exit_3() {
    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "http://u:pw-in-url-77@127.0.0.1:9/",
        ])
        .args(["--query", "up", "--critical", "< 1"])
        .env("GOLIVE_DEBUG_PANIC", "boom")
        .run();
    r.assert_code(3);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("metric-gate: internal error: boom"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
}
