//! The launch's own record, end to end: `scripts/golive-launch.sh` against
//! the lab's real HAProxy, nginx, Prometheus and Knot writes a timeline in
//! phase order, a status page and a post-launch report; an incident shows
//! the deciding rule and ends resolved, with critical messages only where
//! routing sends them; a launch killed with SIGKILL during the 25% watch
//! resumes without a second DNS cutover or a traffic move back; a second
//! launch at once is refused.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use golive_e2e::{Lab, lab, script, show};
use serde_json::Value;

fn events(lab: &Lab) -> Vec<(String, String)> {
    lab.timeline()
        .iter()
        .map(|e| {
            (
                e["phase"].as_str().unwrap_or("").to_string(),
                e["event"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn status_page(lab: &Lab) -> Value {
    let text = std::fs::read_to_string(lab.path("evidence").join("status.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Replace `NAME=…` in the lab's settings file.
fn set(lab: &Lab, name: &str, value: &str) {
    let p = lab.path("launch.env");
    let text = std::fs::read_to_string(&p).unwrap();
    let out: String = text
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{name}=")) {
                format!("{name}={value}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&p, out).unwrap();
}

fn spawn_launch(lab: &Lab) -> Child {
    Command::new(script("golive-launch.sh"))
        .arg(lab.path("launch.env"))
        .env("EVIDENCE_DIR", lab.path("evidence"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_event(lab: &Lab, phase: &str, event: &str, timeout: Duration) {
    let t0 = Instant::now();
    while !events(lab).iter().any(|(p, e)| p == phase && e == event) {
        assert!(
            t0.elapsed() < timeout,
            "no {phase}/{event} after {timeout:?}: {:?}",
            events(lab)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_launch_writes_its_timeline_in_order_its_status_page_and_its_report() {
    let lab = lab();
    let out = lab.script("golive-launch.sh", &[], false);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(" UTC] ✅ dns: DNS cutover complete"),
        "{stderr}"
    );

    let ev = events(&lab);
    let phases: Vec<&str> = ev.iter().map(|(p, _)| p.as_str()).collect();
    let mut order: Vec<&str> = Vec::new();
    for p in &phases {
        if order.last() != Some(p) {
            order.push(p);
        }
    }
    assert_eq!(
        order,
        [
            "preflight",
            "dns",
            "soft-launch",
            "rollout-50",
            "rollout-100",
            "monitoring"
        ],
        "{ev:?}"
    );
    for p in [
        "preflight",
        "dns",
        "soft-launch",
        "rollout-50",
        "rollout-100",
        "monitoring",
    ] {
        assert!(
            ev.iter().any(|(ph, e)| ph == p && e == "passed"),
            "{p} passed: {ev:?}"
        );
    }
    // The checkpoints carry the gate's deciding figures.
    let tl = lab.timeline();
    let cp = tl
        .iter()
        .find(|e| e["event"] == "checkpoint" && e["phase"] == "soft-launch")
        .expect("a soft-launch checkpoint");
    assert_eq!(cp["figures"]["decision"], "continue", "{cp}");
    assert_eq!(
        cp["figures"]["rules"][0]["name"], "green_error_rate",
        "{cp}"
    );
    let dns = tl
        .iter()
        .find(|e| e["phase"] == "dns" && e["event"] == "passed")
        .unwrap();
    assert!(dns["figures"]["propagation_s"].is_number(), "{dns}");

    // The status page: every phase complete, operational, no incident.
    let page = status_page(&lab);
    for p in page["phases"].as_array().unwrap() {
        assert_eq!(p["state"], "complete", "{p}");
    }
    assert_eq!(page["components"][0]["status"], "operational");
    assert!(page["incident"].is_null(), "{page}");

    // The report, from the same timeline and Prometheus.
    let report = lab.path("evidence").join("report");
    let md = std::fs::read_to_string(report.join("report.md"))
        .unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert!(md.contains("**completed**"), "{md}");
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 4);
    assert!(stderr.contains("post-launch report: "), "{stderr}");

    // #monitoring heard every event; #incidents nothing (nothing critical).
    let monitoring = lab.sink.requests_to("/monitoring").len();
    assert_eq!(monitoring, tl.len(), "one message an event");
    assert_eq!(lab.sink.requests_to("/services/").len(), 0);
}

#[test]
fn an_incident_shows_the_deciding_rule_ends_resolved_and_pages_only_critical() {
    let lab = lab();
    lab.reset(false);
    let out = lab.script("golive-launch.sh", &[], false);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let tl = lab.timeline();
    let failed = tl
        .iter()
        .find(|e| e["event"] == "failed")
        .unwrap_or_else(|| panic!("{tl:?}"));
    assert_eq!(failed["phase"], "soft-launch");
    assert_eq!(failed["severity"], "critical");
    let rule = &failed["figures"]["rules"][0];
    assert_eq!(rule["name"], "green_error_rate", "{failed}");
    assert_eq!(rule["status"], "critical", "{failed}");
    assert!(rule["value"].as_f64().unwrap() > 0.05, "{failed}");
    let ev = events(&lab);
    let tail: Vec<&str> = ev.iter().rev().take(3).map(|(_, e)| e.as_str()).collect();
    assert_eq!(
        tail,
        ["rollback-finished", "rollback-started", "failed"],
        "{ev:?}"
    );

    let page = status_page(&lab);
    assert_eq!(page["incident"]["status"], "resolved", "{page}");
    assert_eq!(page["components"][0]["status"], "operational", "{page}");

    // Routing: #incidents got the critical events only — the timeline's
    // three and rollback run's own "done and verified" — #monitoring all.
    let critical: Vec<&str> = tl
        .iter()
        .filter(|e| e["severity"] == "critical")
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(critical.len(), 3, "{tl:?}");
    let incidents = lab.sink.requests_to("/services/");
    let bodies: Vec<String> = incidents
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    for m in &critical {
        assert!(
            bodies.iter().any(|b| b.contains(m)),
            "{m} not in #incidents: {bodies:#?}"
        );
    }
    for b in &bodies {
        assert!(
            b.starts_with("{\"text\":\"🔴 CRITICAL") || b.starts_with("{\"text\":\"✅ RESOLVED"),
            "not critical: {b}"
        );
        assert!(!b.contains("traffic at green="), "an info event paged: {b}");
    }
    assert_eq!(bodies.len(), critical.len() + 1, "{bodies:#?}");
    assert_eq!(lab.sink.requests_to("/monitoring").len(), tl.len() + 1);
    let md = std::fs::read_to_string(lab.path("evidence").join("report/report.md")).unwrap();
    assert!(md.contains("**rolled back**"), "{md}");
}

#[test]
fn a_killed_launch_resumes_without_a_second_cutover_or_a_traffic_move_back() {
    let lab = lab();
    set(&lab, "RAMP_WATCH", "60s");
    let mut first = spawn_launch(&lab);
    wait_for_event(&lab, "rollout-50", "started", Duration::from_secs(90));
    std::thread::sleep(Duration::from_millis(500));
    first.kill().unwrap(); // SIGKILL: no trap, no goodbye
    first.wait().unwrap();
    let (_, green) = (lab.haproxy.weight("blue"), lab.haproxy.weight("green"));
    assert!(green > 0, "green still takes traffic");

    set(&lab, "RAMP_WATCH", "3s");
    let out = lab.script("golive-launch.sh", &[], false);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ev = events(&lab);
    // The interruption and the resume are on record, in the phase they hit.
    let i = ev
        .iter()
        .position(|(p, e)| p == "rollout-50" && e == "interrupted")
        .expect("interrupted");
    assert_eq!(ev[i + 1], ("rollout-50".into(), "resumed".into()), "{ev:?}");
    // One DNS cutover, one pre-check.
    assert_eq!(
        ev.iter()
            .filter(|(p, e)| p == "dns" && e == "cutover")
            .count(),
        1,
        "{ev:?}"
    );
    let names = lab.evidence();
    assert_eq!(
        names.iter().filter(|n| n.contains("dns-precheck")).count(),
        1,
        "{names:?}"
    );
    // Traffic never went below 50% nor past it before the gate passed: the
    // journal's splits after green first reached 50 are 50 (again) and 100.
    let splits: Vec<String> = lab
        .journal()
        .iter()
        .filter(|e| e["event"] == "intent")
        .filter_map(|e| e["reason"].as_str().map(String::from))
        .collect();
    let from = splits
        .iter()
        .position(|r| r == "launch: green to 50%")
        .unwrap();
    for r in &splits[from..] {
        assert!(
            r == "launch: green to 50%" || r == "launch: green to 100%",
            "{splits:?}"
        );
    }
    assert!(
        ev.iter().any(|(p, e)| p == "monitoring" && e == "passed"),
        "{ev:?}"
    );
    // A launch that ended is not started again on the same evidence.
    let again = lab.script("golive-launch.sh", &[], false);
    assert_eq!(again.status.code(), Some(64), "{}", show(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already ended"));
}

#[test]
fn a_second_launch_at_once_is_refused() {
    let lab = lab();
    set(&lab, "SOFT_WATCH", "60s");
    let mut first = spawn_launch(&lab);
    wait_for_event(&lab, "soft-launch", "started", Duration::from_secs(90));
    let second = lab.script("golive-launch.sh", &[], false);
    let said = String::from_utf8_lossy(&second.stderr).into_owned();
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(3), "{}", show(&second));
    assert!(said.contains("another launch is running"), "{said}");
    // The refused launch wrote nothing into the running one's timeline.
    assert!(
        !events(&lab).iter().any(|(_, e)| e == "resumed"),
        "{:?}",
        events(&lab)
    );
}
