//! `rollback notify`: the launch's timeline (fsynced NDJSON in the evidence
//! folder), its status page (Statuspage's component and incident states)
//! and the notifications, routed by severity to a capture sink standing in
//! for Slack and a webhook, and to a real Alertmanager.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use testkit::alertmanager::Alertmanager;
use testkit::cli::Cli;
use testkit::sink::Sink;

const BIN: &str = env!("CARGO_BIN_EXE_rollback");

fn plan(dir: &Path, sink: &Sink, am: &Alertmanager) -> String {
    let path = dir.join("rollback.toml");
    testkit::write(
        &path,
        &format!(
            r#"reason = "launch rollback"
state_dir = "{state}"

[[notify]]
name = "incidents"
kind = "slack"
url = "{slack}"
severities = ["critical"]

[[notify]]
name = "monitoring"
kind = "webhook"
url = "{hook}"
severities = ["critical", "warning", "info"]

[[notify]]
name = "alertmanager"
kind = "alertmanager"
url = "{am}"
severities = ["critical"]

[[step]]
name = "noop"
kind = "exec"
command = "true"
"#,
            state = dir.join("state").display(),
            slack = sink.url("/services/T0/B0/slack-path-secret"),
            hook = sink.url("/hook"),
            am = am.url(),
        ),
    );
    path.display().to_string()
}

fn event(plan: &str, evidence: &Path, args: &[&str]) -> testkit::cli::Ran {
    Cli::new(BIN)
        .args([
            "notify",
            "--plan",
            plan,
            "--evidence",
            evidence.to_str().unwrap(),
        ])
        .args(["--service", "minimarket-api"])
        .args(args)
        .run()
}

fn status_page(evidence: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(evidence.join("status.json")).unwrap()).unwrap()
}

#[test]
fn a_launch_and_its_rollback_make_a_timeline_a_status_page_and_routed_messages() {
    let sink = Sink::start();
    let mut am = Alertmanager::start();
    let dir = testkit::temp_dir("record");
    let plan = plan(dir.path(), &sink, &am);
    let ev = dir.path().join("evidence");

    let r = event(
        &plan,
        &ev,
        &[
            "--phase",
            "preflight",
            "--event",
            "passed",
            "--message",
            "all systems ready",
            "--format",
            "text",
        ],
    );
    r.assert_code(0);
    let line = r.stdout.trim();
    assert!(
        line.starts_with('[') && line.contains(" UTC] ✅ preflight: all systems ready"),
        "{line}"
    );

    event(
        &plan,
        &ev,
        &[
            "--phase",
            "dns",
            "--event",
            "passed",
            "--message",
            "DNS cutover complete",
            "--figure",
            "took_s=42.5",
            "--figure",
            "servers=3",
        ],
    )
    .assert_code(0);
    event(
        &plan,
        &ev,
        &[
            "--phase",
            "soft-launch",
            "--event",
            "started",
            "--message",
            "traffic at 1%",
            "--figure",
            "green=1",
        ],
    )
    .assert_code(0);

    // A checkpoint with the figures that decided it, from metric-gate's report.
    let gate = dir.path().join("gate.json");
    testkit::write(
        &gate,
        r#"{"tool":"metric-gate","status":"critical","exit_code":2,"decision":"rollback","rules":[{"name":"green_error_rate","status":"critical","value":0.072,"message":"7.2% > 5% at every point for 2m"}],"notes":["p95: info: 620ms > 500ms"]}"#,
    );
    let r = event(
        &plan,
        &ev,
        &[
            "--phase",
            "soft-launch",
            "--event",
            "failed",
            "--status",
            "critical",
            "--figures-from",
            gate.to_str().unwrap(),
            "--message",
            "metric gate says roll back",
        ],
    );
    r.assert_code(0);
    let page = status_page(&ev);
    assert_eq!(page["components"][0]["status"], "major_outage", "{page}");
    assert_eq!(page["incident"]["status"], "investigating", "{page}");
    // Alertmanager holds the launch's alert while it fires.
    am.wait_for("the launch's alert", Duration::from_secs(10), |a| {
        a.iter().any(|x| x.to_string().contains("golive-launch-"))
    });

    event(
        &plan,
        &ev,
        &[
            "--phase",
            "soft-launch",
            "--event",
            "rollback-started",
            "--status",
            "critical",
            "--message",
            "rollback initiated: metric gate says roll back",
        ],
    )
    .assert_code(0);
    assert_eq!(status_page(&ev)["incident"]["status"], "identified");
    event(
        &plan,
        &ev,
        &[
            "--phase",
            "soft-launch",
            "--event",
            "rollback-finished",
            "--status",
            "ok",
            "--message",
            "rollback complete: blue=100, verified",
        ],
    )
    .assert_code(0);

    // The timeline: every event in order, with its figures.
    let lines: Vec<Value> = std::fs::read_to_string(ev.join("timeline.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["phase"].as_str().unwrap(), l["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        [
            ("preflight", "passed"),
            ("dns", "passed"),
            ("soft-launch", "started"),
            ("soft-launch", "failed"),
            ("soft-launch", "rollback-started"),
            ("soft-launch", "rollback-finished"),
        ]
    );
    assert_eq!(lines[1]["figures"]["took_s"], 42.5);
    assert_eq!(lines[3]["figures"]["rules"][0]["name"], "green_error_rate");
    assert_eq!(lines[3]["figures"]["rules"][0]["value"], 0.072);
    assert_eq!(lines[3]["figures"]["notes"][0], "p95: info: 620ms > 500ms");
    assert_eq!(lines[3]["severity"], "critical");
    assert_eq!(lines[0]["severity"], "info");

    // The status page after the rollback: resolved, operational again.
    let page = status_page(&ev);
    assert_eq!(page["incident"]["status"], "resolved", "{page}");
    assert_eq!(page["components"][0]["status"], "operational");
    let phases: Vec<(&str, &str)> = page["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        &phases[..4],
        [
            ("preflight", "complete"),
            ("dns", "complete"),
            ("soft-launch", "rolled_back"),
            ("rollout-25", "pending")
        ]
    );
    let html = std::fs::read_to_string(ev.join("status.html")).unwrap();
    assert!(
        html.contains("minimarket-api") && html.contains("resolved"),
        "{html}"
    );

    // Routing: the webhook took every event; Slack only the critical ones.
    let hook = sink.wait_for(6, Duration::from_secs(10));
    let to = |p: &str| hook.iter().filter(|r| r.path.starts_with(p)).count();
    assert_eq!(to("/hook"), 6, "every event reaches #monitoring");
    assert_eq!(
        to("/services/"),
        3,
        "failed, rollback started and finished reach #incidents"
    );
    let slack: Vec<String> = sink
        .requests_to("/services/")
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        slack.iter().all(|b| !b.contains("traffic at 1%")),
        "{slack:?}"
    );
    // Alertmanager: resolved by the same key, the alert is gone from its
    // list of firing alerts (the API leaves out those whose endsAt passed).
    am.wait_for("the alert resolved", Duration::from_secs(10), |a| {
        !a.iter().any(|x| x.to_string().contains("golive-launch-"))
    });
}

#[test]
fn bad_input_is_64_and_nothing_is_recorded() {
    let sink = Sink::start();
    let am = Alertmanager::start();
    let dir = testkit::temp_dir("record-bad");
    let plan = plan(dir.path(), &sink, &am);
    let ev = dir.path().join("evidence");
    for args in [
        vec![
            "--phase",
            "dns",
            "--event",
            "passed",
            "--message",
            "x",
            "--status",
            "fine",
        ],
        vec![
            "--phase",
            "dns",
            "--event",
            "passed",
            "--message",
            "x",
            "--figure",
            "novalue",
        ],
        vec!["--phase", " ", "--event", "passed", "--message", "x"],
    ] {
        event(&plan, &ev, &args).assert_code(64);
    }
    assert!(!ev.join("timeline.ndjson").exists());
    // An unreadable report does not cost the timeline its event.
    let r = event(
        &plan,
        &ev,
        &[
            "--phase",
            "dns",
            "--event",
            "passed",
            "--message",
            "x",
            "--figures-from",
            "/nonexistent.json",
            "--no-send",
        ],
    );
    r.assert_code(0);
    let tl = std::fs::read_to_string(ev.join("timeline.ndjson")).unwrap();
    assert!(
        tl.contains("figures_error") && tl.contains("/nonexistent.json"),
        "{tl}"
    );
    std::fs::remove_file(ev.join("timeline.ndjson")).unwrap();
    // --no-send records without telling anyone.
    event(
        &plan,
        &ev,
        &[
            "--phase",
            "dns",
            "--event",
            "passed",
            "--message",
            "quiet",
            "--no-send",
        ],
    )
    .assert_code(0);
    assert!(ev.join("timeline.ndjson").exists());
    std::thread::sleep(Duration::from_millis(200));
    assert!(sink.requests().is_empty());
}
