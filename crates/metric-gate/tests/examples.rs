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

/// HAProxy exporter series as `shift` lays pools out: backend `app`, servers
/// `blue1` and `green1`; node_exporter for two nodes.
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
