//! The rule files in examples/gates/ load, their PromQL parses on a real
//! Prometheus, and the soft-launch gate judges HAProxy-shaped history right.

mod common;

use std::path::PathBuf;

use common::*;

fn gates() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/gates");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        // The report file is not a gate (tested below and in report.rs).
        .filter(|p| !p.ends_with("report.toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_loads_and_its_queries_parse() {
    let files = gates();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into())
        .collect();
    for want in [
        "soft-launch.toml",
        "rollout-25.toml",
        "rollout-100.toml",
        "app-histogram.toml",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "examples/gates/{want} missing: {names:?}"
        );
    }
    let p = Prometheus::start();
    for f in &files {
        let r = Cli::new(BIN)
            .args(["check", "--prometheus", &p.url(), "--rules"])
            .arg(f)
            .run();
        assert_ne!(r.code, 64, "{} does not load: {}", f.display(), r.stderr);
        // An empty Prometheus: every rule saw nothing, and says only that (a
        // query Prometheus rejected would say `bad_data`).
        r.assert_code(3);
        let doc = r.assert_envelope("metric-gate");
        for rule in doc["rules"].as_array().unwrap() {
            assert_eq!(
                rule["message"],
                "query returned no series",
                "{}: {rule}",
                f.display()
            );
            assert!(
                rule["description"].is_string(),
                "{}: every example rule says what it watches",
                f.display()
            );
        }
    }
}

/// examples/gates/report.toml loads and Prometheus accepts every query.
#[test]
fn the_report_example_loads_and_its_queries_parse() {
    let p = Prometheus::start();
    let dir = testkit::temp_dir("mg-report-example");
    let tl = dir.path().join("timeline.ndjson");
    let now = report_time(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            - 60,
    );
    std::fs::write(
        &tl,
        format!("{{\"time\":\"{now}\",\"phase\":\"preflight\",\"event\":\"passed\",\"status\":\"ok\",\"message\":\"ready\"}}\n"),
    )
    .unwrap();
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/gates/report.toml");
    let r = Cli::new(BIN)
        .args(["report", "--prometheus", &p.url(), "--timeline"])
        .arg(&tl)
        .arg("--rules")
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("out"))
        .run();
    r.assert_code(0);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(doc["failed_queries"], serde_json::json!([]), "{doc}");
}

/// HAProxy exporter series as `shift` lays pools out: backend `app`, servers
/// `blue1` and `green1`; node_exporter (CPU, memory, disk) for two nodes.
fn haproxy_launch(green_err: f64) -> History {
    let mut h = History::new();
    h.haproxy_server("app", "blue1", 99.0, |_| 0.002);
    h.haproxy_server("app", "green1", 1.0, move |t| {
        if t >= 1800 { green_err } else { 0.002 }
    });
    for (server, rt) in [("blue1", 0.09), ("green1", 0.08)] {
        for state in ["UP", "DOWN", "MAINT", "DRAIN", "NOLB"] {
            let v = if state == "UP" { 1.0 } else { 0.0 };
            h.gauge(
                &format!(
                    "haproxy_server_status{{proxy=\"app\",server=\"{server}\",state=\"{state}\"}}"
                ),
                0,
                END,
                |_| Some(v),
            );
        }
        h.gauge(
            &format!(
                "haproxy_server_response_time_average_seconds{{proxy=\"app\",server=\"{server}\"}}"
            ),
            0,
            END,
            |_| Some(rt),
        );
    }
    for node in ["node-a:9100", "node-b:9100"] {
        for cpu in ["0", "1"] {
            // 70% idle: 30% busy.
            h.counter(&format!("node_cpu_seconds_total{{job=\"node\",instance=\"{node}\",cpu=\"{cpu}\",mode=\"idle\"}}"), |_| 0.7 * STEP as f64);
        }
        h.gauge(
            &format!("node_memory_MemTotal_bytes{{job=\"node\",instance=\"{node}\"}}"),
            0,
            END,
            |_| Some(16e9),
        );
        h.gauge(
            &format!("node_memory_MemAvailable_bytes{{job=\"node\",instance=\"{node}\"}}"),
            0,
            END,
            |_| Some(10e9),
        );
        let fs = format!("job=\"node\",instance=\"{node}\",mountpoint=\"/\",fstype=\"ext4\"");
        h.gauge(
            &format!("node_filesystem_size_bytes{{{fs}}}"),
            0,
            END,
            |_| Some(100e9),
        );
        h.gauge(
            &format!("node_filesystem_avail_bytes{{{fs}}}"),
            0,
            END,
            |_| Some(60e9),
        );
    }
    h
}

fn soft_launch() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/gates/soft-launch.toml")
        .display()
        .to_string()
}

#[test]
fn soft_launch_gate_passes_a_healthy_launch_and_rolls_back_a_failing_one() {
    let h = haproxy_launch(0.002);
    let p = h.start();
    let r = check(&p, &["--rules", &soft_launch(), "--at", &h.at(3000)]);
    r.assert_code(0);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(
        doc["counts"]["ok"],
        doc["rules"].as_array().unwrap().len(),
        "{doc}"
    );
    let cpu = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "cpu")
        .unwrap();
    assert!((cpu["value"].as_f64().unwrap() - 0.3).abs() < 1e-6, "{cpu}");
    assert_eq!(cpu["series_count"], 2, "one series per node");
    drop(p);

    // Green fails 8% of its requests from 1800 s; by 2400 s even the 5 min
    // comparison with blue has held for 5 min: roll back.
    let h = haproxy_launch(0.08);
    let p = h.start();
    let r = check(&p, &["--rules", &soft_launch(), "--at", &h.at(2400)]);
    r.assert_code(2);
    let doc = r.json();
    let by_name = |n: &str| {
        doc["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("green_error_rate")["status"], "critical");
    assert_eq!(
        by_name("green_vs_blue_errors")["status"],
        "critical",
        "8% is over 3x blue's floored 0.5%"
    );
    assert_eq!(by_name("cpu")["status"], "ok");
}

/// A rule's query from an example file, `${VAR:-default}` expanded.
fn example_query(file: &str, rule: &str, key: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/gates")
        .join(file);
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let rules = table["rule"].as_array().unwrap();
    let r = rules
        .iter()
        .find(|r| r["name"].as_str() == Some(rule))
        .unwrap_or_else(|| panic!("{file}: no rule {rule}"));
    golive_core::config::expand(r[key].as_str().unwrap()).unwrap()
}

#[test]
fn soft_launch_queries_match_a_live_haproxy_exporter() {
    use std::time::Duration;
    use testkit::Nginx;
    use testkit::haproxy::Haproxy;
    let blue = Nginx::start(r#"location / { return 200 "blue"; }"#);
    let green = Nginx::start(r#"location / { return 503 "green"; }"#);
    let hx = Haproxy::builder()
        .server("blue1", &format!("127.0.0.1:{}", blue.port))
        .server("green1", &format!("127.0.0.1:{}", green.port))
        .start();
    let target = format!("127.0.0.1:{}", hx.prometheus_port);
    let mut p = Prometheus::builder()
        .scrape("haproxy", &[&target])
        .interval(Duration::from_secs(1))
        .start();
    p.wait_for("up{job=\"haproxy\"}", Duration::from_secs(20), |b| {
        b.contains("\"1\"")
    });
    // Traffic after the first scrape, so rates see the counters grow.
    for _ in 0..100 {
        let _ = testkit::haproxy::get(hx.port, "/");
    }
    p.wait_for(
        r#"sum(increase(haproxy_server_http_responses_total{server="green1",code="5xx"}[1m])) > 0 and sum(increase(haproxy_server_http_responses_total{server="blue1",code="2xx"}[1m])) > 0"#,
        Duration::from_secs(20),
        |b| b.contains("\"value\""),
    );
    let adhoc = |q: &str, cond: &[&str]| check(&p, &[&["--query", q], cond].concat());

    // green answers 503 to everything: its 5xx share is 100%.
    let r = adhoc(
        &example_query("soft-launch.toml", "green_error_rate", "query"),
        &["--critical", "> 5%"],
    );
    r.assert_code(2);
    assert_eq!(r.json()["rules"][0]["value"], 1.0);
    // blue's (the baseline of green_vs_blue_errors): none.
    let r = adhoc(
        &example_query("soft-launch.toml", "green_vs_blue_errors", "baseline_query"),
        &["--critical", "> 5%"],
    );
    r.assert_code(0);
    assert_eq!(r.json()["rules"][0]["value"], 0.0);
    let r = adhoc(
        &example_query("soft-launch.toml", "green_servers_up", "query"),
        &["--critical", "< 1"],
    );
    r.assert_code(0);
    assert_eq!(r.json()["rules"][0]["value"], 1.0);
    let r = adhoc(
        &example_query("soft-launch.toml", "green_response_time", "query"),
        &["--warn", "> 500ms"],
    );
    r.assert_code(0);
    assert_eq!(r.json()["rules"][0]["worst_series"]["server"], "green1");
    // The whole-backend view of rollout-100.toml sees both pools: 50% 5xx.
    let r = adhoc(
        &example_query("rollout-100.toml", "error_rate", "query"),
        &["--critical", "> 5%"],
    );
    r.assert_code(2);
    let v = r.json()["rules"][0]["value"].as_f64().unwrap();
    assert!((v - 0.5).abs() < 0.05, "{v}");
}

#[test]
fn success_by_endpoint_sees_an_endpoint_that_only_fails() {
    // A new endpoint in green that has answered nothing but 500s since the
    // release started: it has no non-5xx series at all.
    let mut h = History::new();
    let c = |handler: &str, code: &str| {
        format!(
            "http_request_duration_seconds_count{{job=\"app\",handler=\"{handler}\",code=\"{code}\"}}"
        )
    };
    h.counter(&c("/api/dashboard", "200"), |_| 150.0);
    h.counter(&c("/api/new", "500"), |_| 15.0);
    let p = h.start();
    let q = example_query("app-histogram.toml", "success_by_endpoint", "query");
    let r = check(
        &p,
        &["--query", &q, "--critical", "< 95%", "--at", &h.at(3000)],
    );
    r.assert_code(2);
    let doc = r.json();
    let rule = &doc["rules"][0];
    assert_eq!(rule["worst_series"]["handler"], "/api/new", "{rule}");
    assert_eq!(rule["value"], 0.0, "{rule}");
    assert_eq!(rule["series_count"], 2, "{rule}");
}

#[test]
fn every_phase_gate_keeps_the_runbooks_alert_thresholds() {
    // The runbook's CRITICAL "error rate > 5% for 2 minutes" and WARNING
    // "disk > 90%" hold through every phase, soft launch included.
    for file in ["soft-launch.toml", "rollout-25.toml", "rollout-100.toml"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/gates")
            .join(file);
        let table: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let rules = table["rule"].as_array().unwrap();
        let has = |pred: &dyn Fn(&toml::Value) -> bool| rules.iter().any(pred);
        assert!(
            has(&|r| r["query"].as_str().unwrap().contains("code=\"5xx\"")
                && r.get("critical").and_then(|c| c.as_str()) == Some("> 5%")
                && r.get("critical_for").and_then(|c| c.as_str()) == Some("2m")),
            "{file}: no error rate > 5% for 2m"
        );
        assert!(
            has(&|r| r["query"]
                .as_str()
                .unwrap()
                .contains("node_filesystem_avail_bytes")
                && r.get("warn").and_then(|c| c.as_str()) == Some("> 90%")),
            "{file}: no disk > 90%"
        );
    }
}
