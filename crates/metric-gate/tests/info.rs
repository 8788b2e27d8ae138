//! The runbook's INFO level: `info = "> 500ms"` in a rule is a note "for the
//! post-launch review" in every format, and never changes the verdict or
//! the exit code — judged against real Prometheus history.

mod common;

use common::*;

/// p95 latency 600 ms for the whole hour, a traffic rate of 100/s.
fn history() -> History {
    let mut h = History::new();
    h.gauge("api_latency_p95_seconds", 0, END, |_| Some(0.6));
    h.gauge("api_requests_per_second", 0, END, |_| Some(100.0));
    h
}

const RULES: &str = r#"
[[rule]]
name = "p95_latency"
query = "api_latency_p95_seconds"
warn = "> 1s"
critical = "> 2s"
info = "> 500ms"
info_for = "5m"

[[rule]]
name = "traffic_unusual"
description = "info only: the review wants to know, the gate does not care"
query = "api_requests_per_second"
info = "outside 150..1000"

[[rule]]
name = "missing_series"
query = "no_such_metric"
info = "> 0"
"#;

#[test]
fn info_notes_are_reported_and_never_change_the_exit_code() {
    let h = history();
    let p = h.start();
    let (_d, rules) = rules_file(RULES);
    let at = h.at(END);

    let r = check(&p, &["--rules", &rules, "--at", &at]);
    // Every gating rule is OK: continue, exit 0 — the notes and the
    // info-only rule without data change nothing.
    r.assert_code(0);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(doc["decision"], "continue");
    let rules_doc = doc["rules"].as_array().unwrap();
    let p95 = &rules_doc[0];
    assert_eq!(p95["status"], "ok", "{p95}");
    assert_eq!(p95["thresholds"]["info"], "> 500ms");
    let note = p95["notes"][0].as_str().unwrap();
    assert!(note.contains("600ms > 500ms"), "{note}");
    assert!(note.contains("for the post-launch review"), "{note}");
    assert_eq!(rules_doc[1]["gates"], false);
    assert!(
        rules_doc[1]["notes"][0]
            .as_str()
            .unwrap()
            .contains("outside 150..1000")
    );
    assert_eq!(rules_doc[2]["gates"], false);
    assert_eq!(rules_doc[2]["status"], "unknown", "{}", rules_doc[2]);
    let notes: Vec<&str> = doc["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].starts_with("p95_latency: info: "), "{notes:?}");

    // Text says it too.
    let r = check(&p, &["--rules", &rules, "--at", &at, "--format", "text"]);
    r.assert_code(0);
    assert!(
        r.stdout.contains("note: p95_latency: info: 600ms > 500ms"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("verdict: CONTINUE (exit 0)"),
        "{}",
        r.stdout
    );

    // The same latency crossing the warning still pauses: info takes nothing away.
    let (_d2, warn_rules) = rules_file(
        "[[rule]]\nname = \"p95\"\nquery = \"api_latency_p95_seconds\"\nwarn = \"> 550ms\"\ninfo = \"> 500ms\"\n",
    );
    let r = check(&p, &["--rules", &warn_rules, "--at", &at]);
    r.assert_code(1);
    assert!(r.json()["rules"][0]["notes"][0].is_string(), "{}", r.stdout);

    // A watch lists each rule's first note in its summary and its rounds.
    let r = Cli::new(BIN)
        .args(["watch", "--prometheus", &p.url(), "--rules", &rules])
        .args([
            "--at",
            &h.at(END - 60),
            "--interval",
            "1s",
            "--duration",
            "2s",
        ])
        .args(["--format", "ndjson"])
        .run();
    r.assert_code(0);
    let lines = r.ndjson();
    let summary = lines.last().unwrap();
    let seen = summary["notes_seen"].as_array().unwrap();
    assert_eq!(seen.len(), 2, "{summary}");
    assert_eq!(seen[0]["rule"], "p95_latency");
    assert!(
        lines.iter().any(|l| l["rules"][0]["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("500ms"))),
        "{lines:?}"
    );
}

#[test]
fn info_for_without_info_and_rules_saying_nothing_are_refused() {
    let h = History::new();
    let p = h.start();
    let (_d, rules) = rules_file("[[rule]]\nname = \"x\"\nquery = \"up\"\ninfo_for = \"1m\"\n");
    let r = check(&p, &["--rules", &rules]);
    r.assert_code(64);
    assert!(r.stderr.contains("info"), "{}", r.stderr);
}
