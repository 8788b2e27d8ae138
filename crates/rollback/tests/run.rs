//! `rollback run` against a real service: HAProxy in front of nginx blue
//! and green under load, Knot serving the name, a capture sink standing in
//! for Slack and PagerDuty, and the evidence checked with `sha256sum -c`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use testkit::cli::Cli;
use testkit::launch::{Lab, NAME, NEW_IP, OLD_IP, ZONE};
use testkit::sink::Sink;

const BIN: &str = env!("CARGO_BIN_EXE_rollback");

fn lab() -> Lab {
    let dir = Path::new(BIN).parent().expect("bin dir").to_path_buf();
    Lab::start(&dir)
}

/// Green is live and DNS points at it: what a rollback starts from.
fn launched(lab: &Lab) {
    lab.knot.set(ZONE, "api", 60, "A", &[NEW_IP]);
    let out = lab.shift(&[
        "set",
        "--split",
        "green=100",
        "--reason",
        "launch: green to 100%",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

struct Plan {
    path: PathBuf,
    state: PathBuf,
}

/// The runbook's rollback as a plan; `exec` is the stop-new command.
fn plan(lab: &Lab, sink: &Sink, exec: &str, verify_url: &str) -> Plan {
    plan_with(lab, sink, exec, verify_url, "")
}

/// [`plan`] with `more` notify targets (TOML tables).
fn plan_with(lab: &Lab, sink: &Sink, exec: &str, verify_url: &str, more: &str) -> Plan {
    let state = lab.path("rollback-state");
    let text = format!(
        r#"reason = "manual rollback"
state_dir = "{state}"

[[notify]]
name = "incidents"
kind = "slack"
url = "{slack}"
severities = ["critical"]

[[notify]]
name = "pager"
kind = "pagerduty"
url = "{pd}"
routing_key = "pd-routing-key-0123456789abcdef"
severities = ["critical"]
{more}

[[step]]
name = "announce"
kind = "notify"
message = "Rollback initiated: {{reason}}"

[[step]]
name = "traffic"
kind = "traffic"
shift_config = "{shift}"
restore = "before-launch"

[[step]]
name = "dns"
kind = "dns"
command = "{dns_set} {OLD_IP}"
record = "{NAME}"
expect = "{OLD_IP}"
servers = ["{knot}"]
timeout = "20s"

[[step]]
name = "stop-new"
kind = "exec"
command = '''{exec}'''
timeout = "30s"

[[step]]
name = "verify-old"
kind = "verify"
http = "{verify_url}"
header = ["X-API-Key: verify-key-secret-77"]
tries = 5
interval = "200ms"
timeout = "10s"

[[step]]
name = "evidence"
kind = "evidence"
commands = ["echo evidence-ran"]
files = ["{shift}"]
"#,
        state = state.display(),
        slack = sink.url("/services/T000/B000/slack-secret-path"),
        pd = sink.url("/v2/enqueue"),
        shift = lab.path("shift.toml").display(),
        dns_set = lab.path("dns-set").display(),
        knot = lab.knot.addr(),
    );
    let path = lab.path("rollback.toml");
    testkit::write(&path, &text);
    Plan { path, state }
}

fn rollback(p: &Plan, args: &[&str]) -> Cli {
    Cli::new(BIN)
        .arg(args[0])
        .args(["--plan", &p.path.display().to_string()])
        .args(&args[1..])
}

fn step<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no step {name} in {doc}"))
}

fn sha256sum_c(dir: &str) {
    let out = std::process::Command::new("sha256sum")
        .args(["-c", "manifest.sha256"])
        .current_dir(dir)
        .output()
        .expect("sha256sum");
    assert!(
        out.status.success(),
        "sha256sum -c: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_rollback_puts_traffic_and_dns_back_verifies_keeps_evidence_and_notifies() {
    let lab = lab();
    let sink = Sink::start();
    let am = testkit::alertmanager::Alertmanager::start();
    launched(&lab);
    let seen = lab.path("reason-seen");
    let during = lab.path("alerts-during");
    // The reason reaches commands through the environment, never the command
    // line; and while the rollback runs, Alertmanager holds its alert.
    let exec = format!(
        "printf %s \"$ROLLBACK_REASON\" > {}; curl -sf {}/api/v2/alerts > {}",
        seen.display(),
        am.url(),
        during.display()
    );
    let more = format!(
        "\n[[notify]]\nname = \"alertmanager\"\nkind = \"alertmanager\"\nurl = \"{}\"\n",
        am.url()
    );
    let p = plan_with(&lab, &sink, &exec, &lab.haproxy.url("/"), &more);
    let (_, failed_before) = lab.load.counts();

    let r = rollback(&p, &["run", "--reason", "error rate 7% on green"]).run();
    r.assert_code(0);
    let doc = r.assert_envelope("rollback");
    assert_eq!(doc["outcome"], "done", "{doc}");
    assert_eq!(doc["reason"], "error rate 7% on green");
    assert!(doc["started_by"].as_str().unwrap().contains('@'));
    for s in [
        "announce",
        "traffic",
        "dns",
        "stop-new",
        "verify-old",
        "evidence",
    ] {
        assert_eq!(step(&doc, s)["state"], "ok", "{s}: {}", step(&doc, s));
    }
    assert_eq!(doc["traffic"], "blue=100,green=0");
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        "error rate 7% on green"
    );
    // Traffic really is on blue, and DNS answers the old address everywhere.
    assert!(lab.haproxy.weight("blue") > 0);
    assert_eq!(lab.haproxy.weight("green"), 0);
    assert_eq!(golive_dig(&lab), [OLD_IP]);
    let (_, failed_after) = lab.load.counts();
    assert_eq!(
        failed_after, failed_before,
        "no failed request during the rollback"
    );

    // Evidence that sha256sum -c accepts.
    let ev = doc["evidence"].as_str().unwrap().to_string();
    sha256sum_c(&ev);
    for f in [
        "report.json",
        "journal.ndjson",
        "cmd-1.txt",
        "files/shift.toml",
    ] {
        assert!(Path::new(&ev).join(f).is_file(), "{f} in {ev}");
    }

    // Notifications: initiated, then resolved, to Slack and PagerDuty, in order.
    let slack = sink.requests_to("/services/");
    assert_eq!(slack.len(), 2, "{slack:?}");
    assert!(
        slack[0]
            .text()
            .contains("Rollback initiated: error rate 7% on green")
    );
    let pd: Vec<Value> = sink
        .requests_to("/v2/enqueue")
        .iter()
        .map(|r| r.json())
        .collect();
    assert_eq!(pd.len(), 2, "{pd:?}");
    assert_eq!(pd[0]["event_action"], "trigger");
    assert_eq!(pd[1]["event_action"], "resolve");
    assert_eq!(pd[0]["dedup_key"], pd[1]["dedup_key"]);
    assert_eq!(pd[0]["dedup_key"], doc["id"]);

    // No secret anywhere in what was printed or kept.
    for secret in [
        "slack-secret-path",
        "pd-routing-key-0123456789abcdef",
        "verify-key-secret-77",
    ] {
        r.assert_absent(secret);
        let kept = std::fs::read_to_string(Path::new(&ev).join("report.json")).unwrap();
        assert!(!kept.contains(secret), "{secret} kept in report.json");
    }

    // status shows the same rollback, finished.
    let s = rollback(&p, &["status"]).run();
    s.assert_code(0);
    assert_eq!(s.json()["id"], doc["id"]);
    assert_eq!(s.json()["finished"], true);
}

fn golive_dig(lab: &Lab) -> Vec<String> {
    let dig = testkit::require("dig", "bind9-dnsutils");
    let addr: std::net::SocketAddr = lab.knot.addr().parse().unwrap();
    let out = testkit::process::run(
        "dig",
        std::process::Command::new(dig)
            .args(["+short", "+norecurse", "+time=2", "+tries=3"])
            .arg(format!("@{}", addr.ip()))
            .args(["-p", &addr.port().to_string(), NAME, "A"]),
    );
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn sigkill_during_a_slow_exec_then_run_again_completes_without_repeating_steps() {
    let lab = lab();
    let sink = Sink::start();
    launched(&lab);
    let marker = lab.path("exec-ran");
    // The first run is killed inside this step; the second finds the marker.
    let exec = format!(
        "if [ -e {m} ]; then exit 0; fi; touch {m}; sleep 30",
        m = marker.display()
    );
    let p = plan(&lab, &sink, &exec, &lab.haproxy.url("/"));
    let mut child = rollback(&p, &["run"]).spawn();
    let journal = p.state.join("journal.ndjson");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the exec step never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
    let first_announces = sink.requests_to("/services/").len();
    assert_eq!(first_announces, 1, "announced once before the crash");

    let r = rollback(&p, &["run"]).run();
    r.assert_code(0);
    let doc = r.assert_envelope("rollback");
    assert_eq!(doc["resumed"], true, "{doc}");
    for s in ["announce", "traffic", "dns"] {
        assert_eq!(step(&doc, s)["state"], "done_before", "{s}");
    }
    assert_eq!(step(&doc, "stop-new")["state"], "ok");
    // The announce was not sent again; traffic was moved once.
    let slack = sink.requests_to("/services/");
    assert_eq!(slack.len(), 2, "one announce, one final: {slack:?}");
    let lines = std::fs::read_to_string(&journal).unwrap();
    let traffic_starts = lines
        .lines()
        .filter(|l| l.contains("\"step_start\"") && l.contains("\"traffic\""))
        .count();
    assert_eq!(traffic_starts, 1, "{lines}");
}

#[test]
fn a_failed_verify_exits_2_naming_it_and_says_where_traffic_is() {
    let lab = lab();
    let sink = Sink::start();
    launched(&lab);
    let closed = format!("http://127.0.0.1:{}/", testkit::free_port());
    let p = plan(&lab, &sink, "true", &closed);
    let r = rollback(&p, &["run"]).run();
    r.assert_code(2);
    let doc = r.assert_envelope("rollback");
    assert_eq!(doc["failed_step"], "verify-old");
    assert_eq!(step(&doc, "evidence")["state"], "skipped");
    let msg = doc["message"].as_str().unwrap();
    assert!(
        msg.contains("verify-old") && msg.contains("blue=100,green=0"),
        "{msg}"
    );
    assert!(
        msg.contains("traffic, dns, stop-new") || msg.contains("announce, traffic"),
        "{msg}"
    );
    // The pager heard that it failed (a trigger, never a resolve).
    let pd: Vec<Value> = sink
        .requests_to("/v2/enqueue")
        .iter()
        .map(|r| r.json())
        .collect();
    assert!(pd.iter().all(|e| e["event_action"] == "trigger"), "{pd:?}");
}

#[test]
fn every_notify_target_down_is_exit_1_and_traffic_is_still_restored() {
    let lab = lab();
    let sink = Sink::answering(testkit::sink::Reply::status(500));
    launched(&lab);
    let p = plan(&lab, &sink, "true", &lab.haproxy.url("/"));
    let r = rollback(&p, &["run"]).run();
    r.assert_code(1);
    let doc = r.assert_envelope("rollback");
    assert_eq!(doc["outcome"], "done_with_warnings");
    assert_eq!(step(&doc, "announce")["status"], "warning");
    assert!(lab.haproxy.weight("blue") > 0);
    assert_eq!(lab.haproxy.weight("green"), 0);
}

#[test]
fn a_dry_run_changes_nothing_and_sends_nothing() {
    let lab = lab();
    let sink = Sink::start();
    launched(&lab);
    let p = plan(&lab, &sink, "docker compose down", &lab.haproxy.url("/"));
    let r = rollback(&p, &["run", "--dry-run", "--format", "text"]).run();
    r.assert_code(0);
    assert!(
        r.stdout.contains("would run `docker compose down`"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("stop-new") && r.stdout.contains("PLANNED"),
        "{}",
        r.stdout
    );
    assert_eq!(lab.haproxy.weight("blue"), 0, "blue untouched");
    assert!(lab.haproxy.weight("green") > 0, "green untouched");
    assert_eq!(golive_dig(&lab), [NEW_IP]);
    assert!(sink.requests().is_empty(), "{:?}", sink.requests());
    assert!(!p.state.exists(), "a dry run writes no state");
    r.assert_absent("verify-key-secret-77");
}

#[test]
fn a_bad_plan_is_64_naming_line_and_key() {
    let dir = testkit::temp_dir("rollback-plan");
    let path = dir.path().join("plan.toml");
    testkit::write(
        &path,
        "state_dir = \"s\"\n\n[[step]]\nname = \"x\"\nkind = \"exec\"\ncommand = \"true\"\ntimout = \"5s\"\n",
    );
    let r = Cli::new(BIN)
        .args(["run", "--plan", &path.display().to_string()])
        .run();
    r.assert_code(64);
    assert!(r.stderr.contains("plan.toml:7"), "{}", r.stderr);
    assert!(r.stderr.contains("timout"), "{}", r.stderr);
    testkit::write(
        &path,
        "state_dir = \"s\"\n\n[[step]]\nname = \"x\"\nkind = \"teleport\"\n",
    );
    let r = Cli::new(BIN)
        .args(["run", "--plan", &path.display().to_string()])
        .run();
    r.assert_code(64);
    assert!(
        r.stderr.contains(":5:") && r.stderr.contains("teleport"),
        "{}",
        r.stderr
    );
}
