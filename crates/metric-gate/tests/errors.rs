//! What metric-gate does when it cannot see its evidence, is given bad
//! input, or handles secrets.

mod common;

use std::time::Duration;

use common::*;
use testkit::{GarbageHttp, SilentListener};

fn adhoc(url: &str, extra: &[&str]) -> Ran {
    Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            url,
            "--query",
            "up",
            "--critical",
            "< 1",
        ])
        .args(extra)
        .run()
}

#[test]
fn prometheus_stopped_is_unknown() {
    let mut p = Prometheus::start();
    let url = p.url();
    p.stop();
    let r = adhoc(&url, &["--timeout", "3s"]);
    r.assert_code(3);
    let doc = r.assert_envelope("metric-gate");
    let msg = doc["rules"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("connection refused") || msg.contains("connection failed"),
        "{msg}"
    );
    assert!(
        r.stderr.contains(&url),
        "the failure is logged: {}",
        r.stderr
    );
}

#[test]
fn a_server_that_never_answers_costs_at_most_the_timeout() {
    let silent = SilentListener::start();
    let url = format!("http://{}", silent.addr());
    // Thirty rules against a hung server still end within --timeout (+10%).
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(&format!(
            "[[rule]]\nname = \"r{i}\"\nquery = \"up\"\ncritical = \"< 1\"\n\n"
        ));
    }
    let (_d, path) = rules_file(&text);
    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            &url,
            "--rules",
            &path,
            "--timeout",
            "3s",
        ])
        .run();
    r.assert_code(3);
    let doc = assert_honoured(&r, Duration::from_secs(3));
    assert_eq!(doc["counts"]["unknown"], 30);
    assert!(
        doc["rules"][0]["message"]
            .as_str()
            .unwrap()
            .contains("timeout"),
        "{doc}"
    );
}

#[test]
fn garbage_and_http_errors_are_unknown_and_say_what_was_seen() {
    let g = GarbageHttp::start(200, "text/html", "<html>captive portal</html>");
    let r = adhoc(&g.url(), &[]);
    r.assert_code(3);
    let msg = r.json()["rules"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("not JSON") && msg.contains("captive portal"),
        "{msg}"
    );

    let g = GarbageHttp::start(503, "text/plain", "upstream unavailable");
    let r = adhoc(&g.url(), &[]);
    r.assert_code(3);
    assert!(
        r.stdout.contains("HTTP 503") && r.stdout.contains("upstream unavailable"),
        "{}",
        r.stdout
    );

    let g = GarbageHttp::start(200, "application/json", r#"{"status":"success"}"#);
    let r = adhoc(&g.url(), &[]);
    r.assert_code(3);
    assert!(r.stdout.contains("no `data`"), "{}", r.stdout);
}

#[test]
fn prometheus_status_error_is_unknown_with_its_reason() {
    let p = Prometheus::start();
    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            &p.url(),
            "--query",
            "sum(rate(x[1m]",
            "--critical",
            "> 1",
        ])
        .run();
    r.assert_code(3);
    let msg = r.json()["rules"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("status error (bad_data)") && msg.contains("parse error"),
        "{msg}"
    );
    // on_error may escalate, never pass.
    let (_d, path) = rules_file(
        "[[rule]]\nname = \"x\"\nquery = \"sum(\"\ncritical = \"> 1\"\non_error = \"critical\"\n",
    );
    let r = Cli::new(BIN)
        .args(["check", "--prometheus", &p.url(), "--rules", &path])
        .run();
    r.assert_code(2);
}

#[test]
fn prometheus_warnings_are_shown() {
    // A real Prometheus warns only in setups (remote read, federation) a test
    // cannot cheaply build; this answer is what such a server sends.
    let body = r#"{"status":"success","warnings":["remote read: store eu-1 timed out, partial data"],"data":{"resultType":"vector","result":[{"metric":{"job":"api"},"value":[1700000000,"1"]}]}}"#;
    let g = GarbageHttp::start(200, "application/json", body);
    let r = adhoc(&g.url(), &[]);
    r.assert_code(0);
    let doc = r.json();
    assert_eq!(
        doc["rules"][0]["warnings"][0],
        "remote read: store eu-1 timed out, partial data"
    );
    assert_eq!(
        doc["warnings"][0],
        "query: remote read: store eu-1 timed out, partial data"
    );
    assert!(
        r.stderr.contains("Prometheus warning: remote read"),
        "{}",
        r.stderr
    );
    let r = adhoc(&g.url(), &["--format", "text"]);
    assert!(
        r.stdout.contains("prometheus warning: query: remote read"),
        "{}",
        r.stdout
    );
}

#[test]
fn secrets_never_print() {
    let g = GarbageHttp::start(401, "text/plain", "unauthorized");
    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            &format!("http://gate:pw-s3cret-77@{}", g.addr()),
            "--query",
            "up",
            "--critical",
            "< 1",
        ])
        .run();
    r.assert_code(3);
    r.assert_absent("pw-s3cret-77");
    assert!(r.stdout.contains("gate:***@"), "{}", r.stdout);

    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            &g.url(),
            "--query",
            "up",
            "--critical",
            "< 1",
        ])
        .env("METRIC_GATE_BEARER_TOKEN", "tok-abc-123456")
        .run();
    r.assert_code(3);
    r.assert_absent("tok-abc-123456");

    let (_d, path) = rules_file(
        "[prometheus]\nbearer_token = \"${MG_TEST_TOKEN}\"\n[prometheus.headers]\nX-Scope-OrgID = \"tenant-1\"\n\n[[rule]]\nname = \"up\"\nquery = \"up\"\ncritical = \"< 1\"\n",
    );
    let r = Cli::new(BIN)
        .args(["check", "--prometheus", &g.url(), "--rules", &path, "-v"])
        .env("MG_TEST_TOKEN", "file-token-9876")
        .run();
    r.assert_code(3);
    r.assert_absent("file-token-9876");
}

#[test]
fn bad_rules_files_are_usage_errors_naming_file_and_line() {
    let (_d, path) = rules_file("[[rule]]\nname = \"a\"\nquery = \"up\"\ncritcal = \"< 1\"\n");
    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "http://127.0.0.1:1",
            "--rules",
            &path,
        ])
        .run();
    r.assert_code(64);
    assert!(
        r.stderr.contains(&format!("{path}:4:")) && r.stderr.contains("critcal"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "nothing on stdout: {}", r.stdout);

    let (_d, path) = rules_file("[[rule]]\nname = \"a\"\nquery = \"up\"\nwarn = \"> 5m\"\n");
    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "http://127.0.0.1:1",
            "--rules",
            &path,
        ])
        .run();
    r.assert_code(64);
    assert!(r.stderr.contains(":4:"), "{}", r.stderr);

    let (_d, path) = rules_file(
        "[[rule]]\nname = \"a\"\nquery = 'x{job=\"${MG_UNSET_VAR}\"}'\nwarn = \"> 1\"\n",
    );
    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "http://127.0.0.1:1",
            "--rules",
            &path,
        ])
        .run();
    r.assert_code(64);
    assert!(r.stderr.contains("MG_UNSET_VAR"), "{}", r.stderr);

    let r = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "http://127.0.0.1:1",
            "--rules",
            "/nonexistent/rules.toml",
        ])
        .run();
    r.assert_code(64);
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    Cli::new(BIN).run().assert_code(64);
    let r = Cli::new(BIN).arg("--help").run();
    r.assert_code(0);
    assert!(
        r.stdout.contains("metric-gate check --prometheus"),
        "examples in --help"
    );
    Cli::new(BIN).args(["check", "--help"]).run().assert_code(0);
    Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "http://p",
            "--query",
            "up",
            "--warn",
            "above 1",
        ])
        .run()
        .assert_code(64);
    Cli::new(BIN)
        .args(["check", "--prometheus", "http://p", "--query", "up"])
        .run()
        .assert_code(64);
    Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "http://p",
            "--query",
            "up",
            "--warn",
            "> 1",
            "--timeout",
            "5",
        ])
        .run()
        .assert_code(64);
    Cli::new(BIN)
        .args(["check", "--query", "up", "--warn", "> 1"])
        .run()
        .assert_code(64);
    Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "prom:9090",
            "--query",
            "up",
            "--warn",
            "> 1",
        ])
        .run()
        .assert_code(64);
    Cli::new(BIN)
        .args([
            "watch",
            "--prometheus",
            "http://p",
            "--query",
            "up",
            "--warn",
            "> 1",
        ])
        .run()
        .assert_code(64);
    Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            "http://p",
            "--query",
            "up",
            "--warn",
            "> 1",
            "--at",
            "yesterday",
        ])
        .run()
        .assert_code(64);
}

#[test]
fn env_vars_stand_in_for_flags() {
    let p = Prometheus::start();
    let (_d, path) = rules_file(
        "[[rule]]\nname = \"nothing\"\nquery = \"absent_metric_xyz\"\ncritical = \"> 1\"\n",
    );
    let r = Cli::new(BIN)
        .arg("check")
        .env("METRIC_GATE_PROMETHEUS", p.url())
        .env("METRIC_GATE_RULES", &path)
        .env("METRIC_GATE_TIMEOUT", "5s")
        .run();
    r.assert_code(3);
    assert_eq!(r.json()["prometheus"], p.url());
}
