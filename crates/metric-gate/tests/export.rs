//! `metric-gate export`: the gate's rules as Prometheus alerting rules that
//! fire exactly when the gate fails. promtool (Debian's `prometheus`)
//! checks the rules, then `promtool test rules` replays the same series the
//! gate judged with `check --at`, expecting each alert to fire exactly at
//! the instants the gate said its rule failed — so a disagreement in any
//! threshold, `for` window or condition form fails the test.

mod common;

use std::fmt::Write as _;
use std::process::Command;

use common::*;

/// 0 → 3% (warning band) → 8% (critical) → a 45 s spike to 9% → 3% → 0.
fn ratio(t: i64) -> f64 {
    match t {
        t if t < 600 => 0.0,
        t if t < 1200 => 0.03,
        t if t < 1800 => 0.08,
        t if t < 2400 => 0.0,
        t if t < 2445 => 0.09,
        t if t < 3000 => 0.03,
        _ => 0.0,
    }
}

const SERIES: &str = "error_ratio{job=\"api\"}";

const RULES: &str = r#"
[[rule]]
name = "ratio_critical"
query = 'error_ratio{job="api"}'
critical = "> 5%"
critical_for = "2m"

[[rule]]
name = "ratio_warning"
query = 'error_ratio{job="api"}'
warn = "> 1%"
warn_for = "2m"

[[rule]]
name = "ratio_band"
query = 'error_ratio{job="api"}'
critical = "0.02..0.04"
critical_for = "1m"

[[rule]]
name = "ratio_outside"
query = 'error_ratio{job="api"}'
warn = "outside 0..0.05"

[[rule]]
name = "ratio_info"
query = 'error_ratio{job="api"}'
info = "> 0.5%"
info_for = "30s"
"#;

fn promtool() -> std::path::PathBuf {
    testkit::require("promtool", "prometheus")
}

#[test]
fn exported_alerts_fire_exactly_when_the_gate_fails() {
    let mut h = History::new();
    h.gauge(SERIES, 0, END, |t| Some(ratio(t)));
    let p = h.start();
    let (dir, rules) = rules_file(RULES);

    // The export, checked by promtool.
    let r = Cli::new(BIN)
        .args(["export", "--rules", &rules, "--group", "golive-test"])
        .run();
    r.assert_code(0);
    let alerts = dir.path().join("alerts.yml");
    std::fs::write(&alerts, &r.stdout).unwrap();
    let checked = Command::new(promtool())
        .args(["check", "rules"])
        .arg(&alerts)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "promtool check rules: {}{}\n{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr),
        r.stdout
    );

    // What the gate says at every minute of the hour.
    let names = [
        ("ratio_critical", "RatioCritical", "critical"),
        ("ratio_warning", "RatioWarning", "warning"),
        ("ratio_band", "RatioBand", "critical"),
        ("ratio_outside", "RatioOutside", "warning"),
        ("ratio_info", "RatioInfo", "info"),
    ];
    let mut tests = String::new();
    let mut fired = [0usize; 5];
    // From the first instant whose 2m window lies inside the history.
    for t in (180..END).step_by(60) {
        let r = check(&p, &["--rules", &rules, "--at", &h.at(t)]);
        let doc = r.json();
        for (i, (rule, alert, severity)) in names.iter().enumerate() {
            let item = doc["rules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == *rule)
                .unwrap();
            let fails = if *severity == "info" {
                item["notes"].as_array().is_some_and(|n| !n.is_empty())
            } else {
                item["status"] == *severity
            };
            assert!(
                fails || item["status"] == "ok",
                "{rule} at {t}: {item} (no data must not happen here)"
            );
            fired[i] += fails as usize;
            let summary = summary_of(&r.stdout, rule);
            let _ = write!(
                tests,
                "      - eval_time: {t}s\n        alertname: {alert}\n        exp_alerts:\n"
            );
            if fails {
                let _ = write!(
                    tests,
                    "          - exp_labels:\n              severity: {severity}\n              golive_rule: {rule}\n              job: api\n            exp_annotations:\n              summary: {summary}\n              description: \"Exported from the metric-gate rule of the same name.\"\n"
                );
            } else {
                tests.push_str("          []\n");
            }
        }
    }
    // The series does cross every threshold, and not always.
    for (i, n) in fired.iter().enumerate() {
        assert!(
            *n > 0 && *n < 57,
            "{}: fired at {n} of 57 instants",
            names[i].0
        );
    }

    let values: Vec<String> = (0..=END)
        .step_by(STEP as usize)
        .map(|t| ratio(t).to_string())
        .collect();
    let test_file = dir.path().join("alerts_test.yml");
    std::fs::write(
        &test_file,
        format!(
            "rule_files:\n  - alerts.yml\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n      - series: '{SERIES}'\n        values: '{}'\n    alert_rule_test:\n{tests}",
            values.join(" ")
        ),
    )
    .unwrap();
    let out = Command::new(promtool())
        .args(["test", "rules"])
        .arg(&test_file)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules disagrees with metric-gate check --at:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The summary annotation the export wrote for `rule` (as YAML).
fn summary_of(_check_stdout: &str, rule: &str) -> String {
    let text = match rule {
        "ratio_critical" => "critical > 5% for 2m",
        "ratio_warning" => "warning > 1% for 2m",
        "ratio_band" => "critical 0.02..0.04 for 1m",
        "ratio_outside" => "warning outside 0..0.05",
        _ => "info > 0.5% for 30s",
    };
    format!("\"{rule}: {text}\"")
}

#[test]
fn the_alertmanager_route_passes_amtool() {
    let (dir, rules) = rules_file(RULES);
    let r = Cli::new(BIN)
        .args(["export", "--rules", &rules, "--to", "alertmanager-route"])
        .args(["--receiver", "pager"])
        .run();
    r.assert_code(0);
    assert!(
        r.stdout.contains("severity=\\\"critical\\\"")
            || r.stdout.contains("severity=\"critical\"")
    );
    let f = dir.path().join("am.yml");
    std::fs::write(&f, &r.stdout).unwrap();
    let amtool = testkit::require("amtool", "prometheus-alertmanager");
    let out = Command::new(amtool)
        .arg("check-config")
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "amtool: {}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        r.stdout
    );
    // A rules file that does not load is exit 64, before anything is written.
    let (_d, bad) = rules_file("[[rule]]\nname = \"x\"\nquery = \"up\"\ncritcal = \"> 1\"\n");
    let r = Cli::new(BIN).args(["export", "--rules", &bad]).run();
    r.assert_code(64);
    assert!(r.stdout.is_empty());
}
