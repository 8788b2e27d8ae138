//! `metric-gate check` against a real Prometheus holding known history,
//! judged with `--at`.

mod common;

use std::time::Duration;

use common::*;

fn rule_of(doc: &serde_json::Value) -> &serde_json::Value {
    &doc["rules"][0]
}

#[test]
fn spike_shorter_than_for_does_not_roll_back_but_sustained_does() {
    let h = launch();
    let p = h.start();
    let args = |at: &str| -> Vec<String> {
        [
            "--query",
            GREEN_ERRORS,
            "--critical",
            "> 0.05",
            "--for",
            "2m",
            "--name",
            "error_rate",
            "--at",
            at,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // 45 s at 30% ends at 645 s; at 660 s the 2 m window still holds it.
    let a = args(&h.at(660));
    let spike = check(&p, &a.iter().map(String::as_str).collect::<Vec<_>>());
    spike.assert_code(0);
    let doc = spike.assert_envelope("metric-gate");
    assert_eq!(doc["decision"], "continue");
    let msg = rule_of(&doc)["message"].as_str().unwrap();
    assert!(
        msg.contains("held at") && msg.contains("not for the whole 2m"),
        "{msg}"
    );

    // Guard: the same instant without `for` sees the spike (the test can fail).
    let now = check(
        &p,
        &[
            "--query",
            GREEN_ERRORS,
            "--critical",
            "> 0.05",
            "--at",
            &h.at(630),
        ],
    );
    now.assert_code(2);

    let a = args(&h.at(2100));
    let sustained = check(&p, &a.iter().map(String::as_str).collect::<Vec<_>>());
    sustained.assert_code(2);
    let doc = sustained.assert_envelope("metric-gate");
    assert_eq!(doc["decision"], "rollback");
    let r = rule_of(&doc);
    assert_eq!(r["name"], "error_rate");
    assert_eq!(r["status"], "critical");
    assert!((r["value"].as_f64().unwrap() - 0.3).abs() < 1e-9, "{r}");
    assert_eq!(r["critical_for_s"], 120.0);
    assert!(r["message"].as_str().unwrap().contains("for 2m"), "{r}");
}

#[test]
fn p95_from_histogram_buckets_against_thresholds() {
    let h = launch();
    let p = h.start();
    let q = r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{handler="/api/dashboard"}[1m])))"#;
    let run = |at: i64| {
        check(
            &p,
            &[
                "--query",
                q,
                "--warn",
                "> 150ms",
                "--critical",
                "> 1s",
                "--name",
                "p95",
                "--at",
                &h.at(at),
            ],
        )
    };
    let fast = run(900);
    fast.assert_code(1);
    let doc = fast.json();
    let v = rule_of(&doc)["value"].as_f64().unwrap();
    assert!((v - 0.18333).abs() < 1e-3, "p95 {v}");
    assert!(
        rule_of(&doc)["message"]
            .as_str()
            .unwrap()
            .contains("183.3ms > 150ms"),
        "{doc}"
    );
    let slow = run(2700);
    slow.assert_code(2);
    let v = rule_of(&slow.json())["value"].as_f64().unwrap();
    assert!((v - 1.75).abs() < 1e-9, "p95 {v}");
    let ok = check(&p, &["--query", q, "--warn", "> 500ms", "--at", &h.at(900)]);
    ok.assert_code(0);
}

#[test]
fn no_traffic_nan_is_unknown_and_says_so() {
    let h = launch();
    let p = h.start();
    let q = r#"sum(rate(haproxy_backend_http_responses_total{proxy="idle",code="5xx"}[1m])) / sum(rate(haproxy_backend_http_responses_total{proxy="idle"}[1m]))"#;
    let r = check(
        &p,
        &[
            "--query",
            q,
            "--warn",
            "> 0.01",
            "--critical",
            "> 0.05",
            "--at",
            &h.at(1200),
        ],
    );
    r.assert_code(3);
    let doc = r.assert_envelope("metric-gate");
    let rule = rule_of(&doc);
    assert!(
        rule["message"]
            .as_str()
            .unwrap()
            .contains("NaN (0/0: no traffic?)"),
        "{rule}"
    );
    assert!(rule["value"].is_null(), "NaN is not a JSON number: {rule}");
    // The same over a `for` window.
    let r = check(
        &p,
        &[
            "--query",
            q,
            "--critical",
            "> 0.05",
            "--for",
            "2m",
            "--at",
            &h.at(1200),
        ],
    );
    r.assert_code(3);
    assert!(r.stdout.contains("NaN"), "{}", r.stdout);
}

#[test]
fn selector_matching_nothing_is_unknown() {
    let h = launch();
    let p = h.start();
    let r = check(
        &p,
        &[
            "--query",
            r#"haproxy_backend_http_responses_total{proxy="nonexistent"}"#,
            "--critical",
            "> 0",
            "--at",
            &h.at(1200),
        ],
    );
    r.assert_code(3);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(rule_of(&doc)["message"], "query returned no series");
    assert_eq!(doc["decision"], "unknown");
    // Unless the rule says an empty result is fine.
    let r = check(
        &p,
        &[
            "--query",
            r#"haproxy_backend_http_responses_total{proxy="nonexistent"}"#,
            "--critical",
            "> 0",
            "--on-no-data",
            "ok",
            "--at",
            &h.at(1200),
        ],
    );
    r.assert_code(0);
    assert!(r.stdout.contains("on_no_data = \\\"ok\\\""), "{}", r.stdout);
}

#[test]
fn one_bad_endpoint_among_twenty_is_named() {
    let h = launch();
    let p = h.start();
    let q = r#"sum by (endpoint) (rate(app_http_requests_total{code=~"5.."}[1m])) / sum by (endpoint) (rate(app_http_requests_total[1m]))"#;
    let r = check(
        &p,
        &[
            "--query",
            q,
            "--warn",
            "> 1%",
            "--critical",
            "> 5%",
            "--name",
            "errors_by_endpoint",
            "--at",
            &h.at(1200),
        ],
    );
    r.assert_code(2);
    let doc = r.assert_envelope("metric-gate");
    let rule = rule_of(&doc);
    assert_eq!(rule["series_count"], 20);
    assert_eq!(rule["worst_series"]["endpoint"], "/api/forensic");
    let msg = rule["message"].as_str().unwrap();
    assert!(
        msg.contains("endpoint=\"/api/forensic\"") && msg.contains("10% > 5%"),
        "{msg}"
    );
    assert!(msg.contains("worst of 20 series; 1 critical"), "{msg}");
    let series = rule["series"].as_array().unwrap();
    assert_eq!(
        series.iter().filter(|s| s["status"] == "critical").count(),
        1
    );
    assert_eq!(series.iter().filter(|s| s["status"] == "ok").count(), 19);

    // csv: one row per series evaluated, after a header.
    let r = check(
        &p,
        &[
            "--query",
            q,
            "--critical",
            "> 5%",
            "--at",
            &h.at(1200),
            "--format",
            "csv",
        ],
    );
    r.assert_code(2);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "at,rule,status,value,baseline,labels,message");
    assert_eq!(lines.len(), 21, "{}", r.stdout);
    // Values are data in CSV: full precision (0.1 computed as 0.0999…).
    assert!(
        lines.iter().any(|l| {
            let f: Vec<&str> = l.splitn(7, ',').collect();
            f[2] == "critical"
                && f[3].parse::<f64>().is_ok_and(|v| (v - 0.1).abs() < 1e-9)
                && f[5] == "\"{endpoint=\"\"/api/forensic\"\"}\""
        }),
        "{}",
        r.stdout
    );
}

#[test]
fn green_against_blue_baseline() {
    let h = launch();
    let p = h.start();
    let run = |at: i64| {
        check(
            &p,
            &[
                "--query",
                GREEN_ERRORS,
                "--baseline-query",
                BLUE_ERRORS,
                "--critical",
                "> 1.5x baseline",
                "--name",
                "green_vs_blue",
                "--at",
                &h.at(at),
            ],
        )
    };
    let same = run(1200);
    same.assert_code(0);
    let doc = same.json();
    assert!(
        (rule_of(&doc)["baseline"].as_f64().unwrap() - 0.01).abs() < 1e-9,
        "{doc}"
    );
    let twice = run(3000);
    twice.assert_code(2);
    let doc = twice.json();
    let msg = rule_of(&doc)["message"].as_str().unwrap();
    assert!(
        msg.contains("> 1.5x baseline (baseline 0.01, bound 0.015)"),
        "{msg}"
    );
    // A baseline without traffic is no evidence.
    let idle = r#"sum(rate(haproxy_backend_http_responses_total{proxy="idle",code="5xx"}[1m])) / sum(rate(haproxy_backend_http_responses_total{proxy="idle"}[1m]))"#;
    let r = check(
        &p,
        &[
            "--query",
            GREEN_ERRORS,
            "--baseline-query",
            idle,
            "--critical",
            "> 1.5x baseline",
            "--at",
            &h.at(3000),
        ],
    );
    r.assert_code(3);
    assert!(r.stdout.contains("baseline value NaN"), "{}", r.stdout);
}

#[test]
fn missing_point_inside_for_window_is_never_ok() {
    let h = launch();
    let p = h.start();
    // 0.3 is far below the threshold, but the window crosses the gap.
    let r = check(
        &p,
        &[
            "--query",
            "app_cpu_ratio",
            "--warn",
            "> 0.8",
            "--for",
            "15m",
            "--at",
            &h.at(2100),
        ],
    );
    r.assert_code(3);
    let msg = rule_of(&r.json())["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("missing") && msg.contains("in the 15m window"),
        "{msg}"
    );
    // Guard: after the gap the same rule passes.
    let r = check(
        &p,
        &[
            "--query",
            "app_cpu_ratio",
            "--warn",
            "> 0.8",
            "--for",
            "15m",
            "--at",
            &h.at(3500),
        ],
    );
    r.assert_code(0);
}

#[test]
fn rules_file_judges_concurrently_and_reports_each_rule() {
    let h = launch();
    let p = h.start();
    let text = format!(
        r#"
[[rule]]
name = "error_rate"
description = "green 5xx share"
query = '{GREEN_ERRORS}'
warn = "> 1.5%"
critical = "> 5%"
critical_for = "2m"
warn_for = "5m"

[[rule]]
name = "p95"
query = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{handler="/api/dashboard"}}[1m])))'
warn = "> 500ms"
critical = "> 5s"

[[rule]]
name = "idle"
query = 'sum(rate(haproxy_backend_http_responses_total{{proxy="idle"}}[1m]))'
critical = "< 0"
"#
    );
    let (_d, path) = rules_file(&text);
    // At 3100 s green has run at 2% for over 5 min: WARNING; p95 1.75 s:
    // WARNING; idle: 0, fine.
    let r = check(&p, &["--rules", &path, "--at", &h.at(3100)]);
    r.assert_code(1);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(doc["decision"], "pause");
    assert_eq!(doc["counts"]["warning"], 2);
    assert_eq!(doc["counts"]["ok"], 1);
    let names: Vec<&str> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["error_rate", "p95", "idle"]);
    assert_eq!(doc["rules"][0]["description"], "green 5xx share");
    assert_eq!(doc["rules"][0]["thresholds"]["warn"], "> 1.5%");

    // text: one line per rule and the verdict.
    let r = check(
        &p,
        &["--rules", &path, "--at", &h.at(3100), "--format", "text"],
    );
    r.assert_code(1);
    assert!(r.stdout.starts_with("RULE"), "{}", r.stdout);
    assert!(
        r.stdout.contains("p95         WARNING  1.75s"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("verdict: PAUSE (exit 1)"), "{}", r.stdout);

    // prom: verdicts for the textfile collector.
    let r = check(
        &p,
        &["--rules", &path, "--at", &h.at(3100), "--format", "prom"],
    );
    assert!(
        r.stdout
            .contains("metric_gate_rule_status{rule=\"p95\"} 1\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("metric_gate_exit_code 1\n"),
        "{}",
        r.stdout
    );

    // Concurrently: forty rules against an endpoint that takes 200 ms to
    // answer every query. One after another that is 8 s; at most 32 at a
    // time (the documented cap), two waves of 200 ms. By metric-gate's own
    // clock: well under a quarter of 8 s, and no less than the two waves.
    let (n, at_once, delay) = (40u32, 32u32, Duration::from_millis(200));
    let slow = testkit::SlowHttp::start(delay);
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "[[rule]]\nname = \"r{i:02}\"\nquery = \"up\"\ncritical = \"< 1\"\n\n"
        ));
    }
    let (_d, path) = rules_file(&text);
    let r = Cli::new(BIN)
        .args(["check", "--prometheus", &slow.url(), "--rules", &path])
        .args(["--timeout", "30s"])
        .run();
    r.assert_code(3);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(doc["counts"]["unknown"], n, "{doc}");
    for rule in doc["rules"].as_array().unwrap() {
        // Each was asked and answered (no timeout): the endpoint's JSON is
        // not a Prometheus answer.
        assert!(
            rule["message"]
                .as_str()
                .unwrap()
                .contains("without \"status\": \"success\""),
            "{rule}"
        );
    }
    let took = tool_time(&doc);
    assert!(
        took < delay * n / 4,
        "{n} rules of {delay:?} each took {took:?}: not judged concurrently"
    );
    assert!(
        took >= delay * n.div_ceil(at_once),
        "{n} rules of {delay:?} each took {took:?}: more than {at_once} at once"
    );
}
