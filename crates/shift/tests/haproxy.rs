//! shift against a real HAProxy 2.6 fronting two real nginx pools: pool
//! blue = servers blue1 and blue2, pool green = server green1, all at config
//! weight 1 (so the split starts at blue=66.67,green=33.33).

mod common;

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use common::{BIN, Lab, assert_honoured, events};
use serde_json::json;
use testkit::cli::{Cli, Ran};

/// How far the share of traffic counted through HAProxy may be from the
/// split, in percentage points, over 400 requests. HAProxy's weighted
/// round-robin is deterministic, not random: the only slack is where in its
/// cycle (total weight 8 for 75/25 here) the count starts and how its two
/// threads interleave, a handful of requests. 2 points is 8 of 400.
const TRAFFIC_TOLERANCE_PCT: f64 = 2.0;

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of as f64 * 100.0
}

#[test]
fn set_applies_reads_back_and_traffic_follows_the_split() {
    let lab = Lab::start();
    let ran = lab
        .shift("set")
        .args(["--split", "blue=75,green=25", "--reason", "canary 2.4.1"])
        .run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["outcome"], "applied");
    assert_eq!(doc["verified"], true);
    assert_eq!(doc["before"], json!({"blue": 66.67, "green": 33.33}));
    assert_eq!(doc["after"], json!({"blue": 75, "green": 25}));
    // Pools differ in size: 2 blue servers at 3 and 1 green at 2 is 6:2 = 75:25.
    assert_eq!(lab.weights(), [3, 3, 2], "HAProxy's own view");
    assert_eq!(doc["pools"][1]["servers"][0]["weight_after"], 2);

    let (blue, green) = lab.traffic(400);
    assert!(
        (share(green, 400) - 25.0).abs() <= TRAFFIC_TOLERANCE_PCT,
        "blue {blue}, green {green} of 400 for 75/25"
    );

    // The journal has the intent (before, target, who, why) and the result.
    let lines = lab.journal_lines();
    let intent = events(&lines, "intent")[0];
    assert_eq!(intent["v"], 1);
    assert_eq!(intent["before"], json!({"blue": 66.67, "green": 33.33}));
    assert_eq!(intent["target"], json!({"blue": 75, "green": 25}));
    assert_eq!(intent["reason"], "canary 2.4.1");
    assert!(intent["user"].is_string() && intent["host"].is_string());
    let result = events(&lines, "result")[0];
    assert_eq!(result["id"], intent["id"]);
    assert_eq!(result["status"], "applied");
    assert_eq!(
        result["after_weights"],
        json!({"blue1": 3, "blue2": 3, "green1": 2})
    );

    // All of it to green: blue's servers go to weight 0, every request is green.
    lab.shift("set")
        .args(["--split", "green=100"])
        .run()
        .assert_code(0);
    assert_eq!(lab.weights(), [0, 0, 1]);
    assert_eq!(lab.traffic(200), (0, 200));

    let ran = lab.shift("status").run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["split"], json!({"blue": 0, "green": 100}));
    assert_eq!(doc["drift"], false);
    assert_eq!(doc["journal"]["expected"], json!({"blue": 0, "green": 100}));

    let ran = lab.shift("status").args(["--format", "prom"]).run();
    ran.assert_code(0);
    assert!(
        ran.stdout
            .contains("shift_pool_percent{pool=\"green\"} 100\n"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("shift_drift 0\n"), "{}", ran.stdout);
}

#[test]
fn tcp_admin_socket_works_like_the_unix_one() {
    let lab = Lab::with(|b| b.tcp_admin());
    let addr = lab.haproxy.tcp_admin().unwrap().to_string();
    let ran = Cli::new(BIN)
        .args(["set", "--haproxy-socket", &addr, "--haproxy-backend", "app"])
        .args(["--pool", "blue=blue1,blue2", "--pool", "green=green1"])
        .args([
            "--journal",
            &lab.journal.display().to_string(),
            "--split",
            "blue=50,green=50",
        ])
        .run();
    ran.assert_code(0);
    // 2·1 : 2 = 50:50.
    assert_eq!(lab.weights(), [1, 1, 2]);
    let (_, green) = lab.traffic(400);
    assert!(
        (share(green, 400) - 50.0).abs() <= TRAFFIC_TOLERANCE_PCT,
        "green {green} of 400"
    );
}

#[test]
fn unchanged_split_is_not_a_change() {
    let lab = Lab::start();
    lab.shift("set")
        .args(["--split", "blue=75,green=25"])
        .run()
        .assert_code(0);
    let ran = lab.shift("set").args(["--split", "blue=75,green=25"]).run();
    ran.assert_code(0);
    assert_eq!(ran.json()["outcome"], "unchanged");
    assert_eq!(events(&lab.journal_lines(), "intent").len(), 1);
}

#[test]
fn missing_socket_is_exit_2_and_journals_no_change() {
    let lab = Lab::start();
    let dir = testkit::temp_dir("shift-nosock");
    let sock = dir.path().join("absent.sock").display().to_string();
    let ran = Cli::new(BIN)
        .args(["set", "--haproxy-socket", &sock, "--haproxy-backend", "app"])
        .args(["--pool", "blue=blue1,blue2", "--pool", "green=green1"])
        .args([
            "--journal",
            &lab.journal.display().to_string(),
            "--split",
            "green=100",
        ])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["outcome"], "failed");
    let msg = doc["message"].as_str().unwrap();
    assert!(
        msg.contains("cannot connect") && msg.contains("absent.sock"),
        "{msg}"
    );
    assert!(msg.contains("nothing was changed"), "{msg}");
    assert!(
        ran.stderr.contains("cannot connect"),
        "one line on stderr too: {}",
        ran.stderr
    );
    assert!(
        events(&lab.journal_lines(), "result")
            .iter()
            .all(|r| r["status"] != "applied")
    );

    // status cannot see anything: UNKNOWN, not OK.
    let ran = Cli::new(BIN)
        .args([
            "status",
            "--haproxy-socket",
            &sock,
            "--haproxy-backend",
            "app",
        ])
        .args(["--pool", "blue=blue1,blue2", "--pool", "green=green1"])
        .run();
    ran.assert_code(3);
    assert_eq!(ran.json()["split"], serde_json::Value::Null);
}

#[test]
fn wrong_backend_or_server_name_is_exit_2_and_changes_nothing() {
    let lab = Lab::start();
    let journal = lab.journal.display().to_string();
    let sock = lab.haproxy.socket().display().to_string();

    let ran = Cli::new(BIN)
        .args([
            "set",
            "--haproxy-socket",
            &sock,
            "--haproxy-backend",
            "nope",
        ])
        .args(["--pool", "blue=blue1,blue2", "--pool", "green=green1"])
        .args(["--journal", &journal, "--split", "green=100"])
        .run();
    ran.assert_code(2);
    let msg = ran.json()["message"].as_str().unwrap().to_string();
    assert!(msg.contains("no backend 'nope'"), "{msg}");

    let ran = Cli::new(BIN)
        .args(["set", "--haproxy-socket", &sock, "--haproxy-backend", "app"])
        .args(["--pool", "blue=blue1,blue9", "--pool", "green=green1"])
        .args(["--journal", &journal, "--split", "green=100"])
        .run();
    ran.assert_code(2);
    let msg = ran.json()["message"].as_str().unwrap().to_string();
    assert!(msg.contains("no server blue9 (pool blue)"), "{msg}");
    assert!(
        msg.contains("blue1, blue2, green1"),
        "names what exists: {msg}"
    );

    assert_eq!(lab.weights(), [1, 1, 1], "nothing changed on HAProxy");
    assert!(lab.journal_lines().is_empty(), "no change journaled");
}

#[test]
fn a_refused_set_is_an_error_and_the_previous_split_is_restored() {
    // static-rr only takes weights 0 and 100% of the initial one: HAProxy
    // answers other weights with a sentence, which must count as failure.
    let lab = Lab::with(|b| b.balance("static-rr"));
    lab.shift("set")
        .args(["--split", "green=100"])
        .run()
        .assert_code(0);
    assert_eq!(lab.weights(), [0, 0, 1]);
    // 50/50 needs blue1=1, blue2=1 (accepted) then green1=2 (refused).
    let ran = lab.shift("set").args(["--split", "blue=50,green=50"]).run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["outcome"], "restored");
    let msg = doc["message"].as_str().unwrap();
    assert!(
        msg.contains("static LB algorithm"),
        "HAProxy's reply is shown: {msg}"
    );
    assert!(msg.contains("blue=0,green=100 is back"), "{msg}");
    assert_eq!(doc["after"], json!({"blue": 0, "green": 100}));
    assert_eq!(lab.weights(), [0, 0, 1], "restored on HAProxy");
    let lines = lab.journal_lines();
    assert_eq!(
        events(&lines, "result").last().unwrap()["status"],
        "restored"
    );
}

#[test]
fn undo_restores_the_split_before_the_last_change_and_history_lists_them() {
    let lab = Lab::start();
    let ran = lab.shift("undo").run();
    ran.assert_code(2);
    assert!(
        ran.json()["message"]
            .as_str()
            .unwrap()
            .contains("nothing to undo")
    );

    lab.shift("set")
        .args(["--split", "blue=75,green=25", "--reason", "canary"])
        .run()
        .assert_code(0);
    let second = lab
        .shift("set")
        .args(["--split", "green=100", "--reason", "go"])
        .run();
    second.assert_code(0);
    let second_id = second.json()["journal"]["id"].clone();

    let ran = lab.shift("undo").args(["--reason", "errors up"]).run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["action"], "undo");
    assert_eq!(doc["undoes"], second_id);
    assert_eq!(doc["after"], json!({"blue": 75, "green": 25}));
    assert_eq!(lab.weights(), [3, 3, 2]);

    // history: json, ndjson and text.
    let ran = lab.shift("history").run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("shift");
    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    let actions: Vec<&str> = changes
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["set", "set", "undo"]);
    assert!(changes.iter().all(|c| c["status"] == "applied"));
    assert_eq!(changes[1]["before"], json!({"blue": 75, "green": 25}));
    assert_eq!(changes[2]["reason"], "errors up");
    assert_eq!(changes[2]["undoes"], second_id);

    let ran = lab
        .shift("history")
        .args(["--format", "ndjson", "--limit", "2"])
        .run();
    ran.assert_code(0);
    let lines = ran.ndjson();
    assert_eq!(lines.len(), 3, "2 changes and the summary");
    assert_eq!(lines[0]["event"], "change");
    assert_eq!(lines[1]["action"], "undo");
    assert_eq!(lines[2]["tool"], "shift");
    assert!(lines[2].get("event").is_none());

    let ran = lab.shift("history").args(["--format", "text"]).run();
    ran.assert_code(0);
    assert!(ran.stdout.contains("STARTED"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("undo    applied  blue=0,green=100"),
        "{}",
        ran.stdout
    );

    // Undo again goes back to green=100, like `cd -`.
    lab.shift("undo").run().assert_code(0);
    assert_eq!(lab.weights(), [0, 0, 1]);
}

#[test]
fn dry_run_prints_socket_commands_and_changes_nothing() {
    let lab = Lab::start();
    let ran = lab
        .shift("set")
        .args(["--split", "green=100", "--dry-run"])
        .run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["outcome"], "dry_run");
    assert_eq!(
        doc["steps"][0]["actions"],
        json!([
            {"socket": "set server app/blue1 weight 0"},
            {"socket": "set server app/blue2 weight 0"}
        ])
    );
    assert_eq!(lab.weights(), [1, 1, 1]);
    assert!(!lab.journal.exists(), "a dry run writes no journal");

    let ran = lab
        .shift("set")
        .args(["--split", "green=100", "--dry-run", "--format", "text"])
        .run();
    ran.assert_code(0);
    assert!(
        ran.stdout.contains("socket: set server app/blue1 weight 0"),
        "{}",
        ran.stdout
    );
    assert_eq!(lab.weights(), [1, 1, 1]);
}

#[test]
fn concurrent_set_is_blocked_by_the_lock_and_sigterm_stops_a_ramp_restoring_its_start() {
    let lab = Lab::start();
    lab.shift("set")
        .args(["--split", "blue=100"])
        .run()
        .assert_code(0);
    let ramp = lab
        .shift("set")
        .args(["--split", "green=50", "--step", "10", "--every", "1s"])
        .spawn();
    let until = Instant::now() + Duration::from_secs(10);
    while events(&lab.journal_lines(), "step").is_empty() {
        assert!(
            Instant::now() < until,
            "the ramp never applied its first step"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let ran = lab.shift("set").args(["--split", "green=100"]).run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["outcome"], "locked");
    let msg = doc["message"].as_str().unwrap();
    assert!(msg.contains("another shift is running"), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", ramp.id())),
        "names the holder: {msg}"
    );
    let ran = lab
        .shift("set")
        .args(["--split", "green=100", "--wait-lock", "200ms"])
        .run();
    ran.assert_code(2);
    assert!(ran.json()["message"].as_str().unwrap().contains("waited"));

    // status sees a change in progress, not an interrupted one.
    let ran = lab.shift("status").run();
    ran.assert_code(0);
    assert!(ran.json()["journal"]["in_progress"]["pid"] == json!(ramp.id()));

    // SIGTERM: the ramp stops between steps and puts blue=100 back.
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(ramp.id() as i32, libc::SIGTERM) };
    let out = ramp.wait_with_output().unwrap();
    let ran = testkit::cli::Ran::from_output(out, Duration::ZERO);
    ran.assert_code(2);
    let doc = ran.json();
    assert_eq!(doc["outcome"], "restored");
    assert!(
        doc["message"].as_str().unwrap().contains("SIGTERM"),
        "{}",
        doc["message"]
    );
    assert_eq!(lab.weights(), [1, 1, 0]);
    assert_eq!(
        events(&lab.journal_lines(), "result").last().unwrap()["status"],
        "restored"
    );
}

#[test]
fn sigkill_mid_ramp_leaves_an_honest_journal_and_a_rerun_converges() {
    let lab = Lab::start();
    lab.shift("set")
        .args(["--split", "blue=100"])
        .run()
        .assert_code(0);
    let ramp_args = ["--split", "green=25", "--step", "5"];
    let mut ramp = lab
        .shift("set")
        .args(ramp_args)
        .args(["--every", "400ms"])
        .spawn();
    let pid = ramp.id();
    let until = Instant::now() + Duration::from_secs(10);
    while events(&lab.journal_lines(), "step").len() < 2 {
        assert!(Instant::now() < until, "the ramp did not get two steps in");
        std::thread::sleep(Duration::from_millis(10));
    }
    ramp.kill().unwrap();
    ramp.wait().unwrap();
    let lines = lab.journal_lines();
    assert_eq!(
        lines.last().unwrap()["event"],
        "step",
        "no result after SIGKILL"
    );

    let ran = lab.shift("status").run();
    ran.assert_code(3);
    let doc = ran.assert_envelope("shift");
    let unsettled = &doc["journal"]["unsettled"];
    assert_eq!(unsettled["status"], "interrupted");
    assert_eq!(unsettled["target"], json!({"blue": 75, "green": 25}));
    assert_eq!(unsettled["before"], json!({"blue": 100, "green": 0}));
    let msg = doc["message"].as_str().unwrap();
    assert!(
        msg.contains("interrupted") && msg.contains("rerun"),
        "{msg}"
    );

    // The same command again takes over the dead run's lock and finishes.
    let ran = lab
        .shift("set")
        .args(ramp_args)
        .args(["--every", "20ms"])
        .run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["after"], json!({"blue": 75, "green": 25}));
    assert_eq!(doc["lock_taken_over"]["pid"], pid);
    assert_eq!(doc["resumes"], unsettled["id"]);
    assert!(ran.stderr.contains("took over the lock"), "{}", ran.stderr);
    assert_eq!(lab.weights(), [3, 3, 2]);

    let ran = lab.shift("status").run();
    ran.assert_code(0);
    assert_eq!(ran.json()["drift"], false);

    // Undo goes back to the split from before the interrupted change.
    lab.shift("undo").run().assert_code(0);
    assert_eq!(lab.weights(), [1, 1, 0]);
}

#[test]
fn a_failing_gate_stops_the_ramp_and_restores_the_starting_split() {
    let lab = Lab::start();
    lab.shift("set")
        .args(["--split", "blue=100"])
        .run()
        .assert_code(0);
    let seen = lab.dir.path().join("gate-saw");
    let count = lab.dir.path().join("gate-count");
    // Passes the first time, fails the second.
    let gate = format!(
        "echo \"$SHIFT_SPLIT\" >> {seen}; n=$(cat {count} 2>/dev/null || echo 0); echo $((n+1)) > {count}; [ \"$n\" -lt 1 ]",
        seen = seen.display(),
        count = count.display()
    );
    let ran = lab
        .shift("set")
        .args([
            "--split", "green=30", "--step", "10", "--every", "50ms", "--gate", &gate,
        ])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["outcome"], "restored");
    assert!(
        doc["message"].as_str().unwrap().contains("gate"),
        "{}",
        doc["message"]
    );
    let statuses: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["applied", "applied", "skipped", "restored"]);
    assert_eq!(lab.weights(), [1, 1, 0], "back to blue=100");
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        "blue=90,green=10\nblue=80,green=20\n",
        "the gate sees the live split"
    );
}

#[test]
fn a_ramp_streams_ndjson_steps_and_ends_with_the_summary() {
    let lab = Lab::start();
    lab.shift("set")
        .args(["--split", "blue=100"])
        .run()
        .assert_code(0);
    let ran = lab
        .shift("set")
        .args([
            "--split", "green=10", "--step", "5", "--every", "20ms", "--gate", "true",
        ])
        .args(["--format", "ndjson"])
        .run();
    ran.assert_code(0);
    let lines = ran.ndjson();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l["event"].as_str().unwrap_or("summary"))
        .collect();
    assert_eq!(kinds, ["step", "gate", "step", "summary"]);
    assert_eq!(lines[0]["split"], json!({"blue": 95, "green": 5}));
    assert_eq!(lines[3]["tool"], "shift");
    assert_eq!(lines[3]["after"], json!({"blue": 90, "green": 10}));
    assert_eq!(lab.weights(), [9, 9, 2]);
}

#[test]
fn reload_without_state_file_is_reported_as_drift() {
    let mut lab = Lab::start();
    lab.shift("set")
        .args(["--split", "green=100"])
        .run()
        .assert_code(0);
    lab.haproxy.reload();
    assert_eq!(lab.weights(), [1, 1, 1], "a reload forgets runtime weights");
    let ran = lab.shift("status").run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["drift"], true);
    assert_eq!(doc["split"], json!({"blue": 66.67, "green": 33.33}));
    let msg = doc["message"].as_str().unwrap();
    assert!(
        msg.contains("drift") && !msg.contains("green1 weight"),
        "{msg}"
    );
    assert!(msg.contains("blue1 weight 1 (journal: 0)"), "{msg}");
    assert_eq!(doc["pools"][1]["status"], "critical");
}

#[test]
fn with_a_state_file_the_weights_survive_a_reload() {
    let mut lab = Lab::with(|b| b.state_file());
    let state = lab.haproxy.state_file().unwrap().display().to_string();
    let ran = lab
        .shift("set")
        .args(["--split", "green=100", "--state-file", &state])
        .run();
    ran.assert_code(0);
    assert_eq!(ran.json()["state_file"]["saved"], true);
    assert!(
        std::fs::read_to_string(&state)
            .unwrap()
            .contains(" green1 ")
    );
    lab.haproxy.reload();
    assert_eq!(lab.weights(), [0, 0, 1], "HAProxy loaded the saved weights");
    lab.shift("status").run().assert_code(0);
}

#[test]
fn config_file_with_env_and_flags_overriding_it() {
    let lab = Lab::start();
    let cfg = lab.dir.path().join("shift.toml");
    testkit::write(
        &cfg,
        "journal = \"shift.journal\"\ntimeout = \"5s\"\n\n[pools]\nblue = [\"blue1\", \"blue2\"]\ngreen = [\"green1\"]\n\n[haproxy]\nsocket = \"${SHIFT_TEST_SOCKET}\"\nbackend = \"wrong\"\n",
    );
    let cfg = cfg.display().to_string();
    let sock = lab.haproxy.socket().display().to_string();
    // The file's backend is wrong; the flag wins.
    let ran = Cli::new(BIN)
        .args([
            "set",
            "--config",
            &cfg,
            "--haproxy-backend",
            "app",
            "--split",
            "blue=75,green=25",
        ])
        .env("SHIFT_TEST_SOCKET", &sock)
        .run();
    ran.assert_code(0);
    assert_eq!(lab.weights(), [3, 3, 2]);
    assert!(
        lab.journal.exists(),
        "relative journal path is beside the config"
    );
    // Without the flag, the file's backend is used (and is wrong).
    let ran = Cli::new(BIN)
        .args(["status", "--config", &cfg])
        .env("SHIFT_TEST_SOCKET", &sock)
        .run();
    ran.assert_code(3);
    // Environment variables name flags too.
    let ran = Cli::new(BIN)
        .args(["status", "--config", &cfg])
        .env("SHIFT_TEST_SOCKET", &sock)
        .env("SHIFT_HAPROXY_BACKEND", "app")
        .run();
    ran.assert_code(0);
    // An unset variable and an unknown key are usage errors naming the file.
    let ran = Cli::new(BIN).args(["status", "--config", &cfg]).run();
    ran.assert_code(64);
    assert!(ran.stderr.contains("SHIFT_TEST_SOCKET"), "{}", ran.stderr);
    let bad = lab.dir.path().join("bad.toml");
    testkit::write(&bad, "[haproxy]\nsocket = \"/x\"\nbakend = \"app\"\n");
    let ran = Cli::new(BIN)
        .args(["status", "--config", &bad.display().to_string()])
        .run();
    ran.assert_code(64);
    assert!(ran.stderr.contains("bad.toml:3:"), "{}", ran.stderr);
}

#[test]
fn usage_errors_exit_64_with_one_line() {
    let lab = Lab::start();
    Cli::new(BIN).run().assert_code(64);
    Cli::new(BIN).arg("--help").run().assert_code(0);
    for bad in [
        vec!["--split", "blue=70,green=20"],
        vec!["--split", "red=10"],
        vec!["--split", "green=25", "--timeout", "5"],
        vec!["--split", "green=25", "--step", "5"],
        vec!["--split", "green=25", "--format", "csv"],
        // A step too small to ramp by must not turn into one jump (or into
        // millions of steps).
        vec![
            "--split",
            "green=25",
            "--step",
            "0.0000001",
            "--every",
            "1s",
        ],
        vec!["--split", "green=25", "--step", "0.00001", "--every", "1s"],
    ] {
        let ran = lab.shift("set").args(&bad).run();
        ran.assert_code(64);
        assert_eq!(ran.stderr.lines().count(), 1, "{bad:?}: {}", ran.stderr);
        assert!(ran.stderr.starts_with("shift: "), "{}", ran.stderr);
        assert!(ran.stdout.is_empty());
    }
    assert_eq!(lab.weights(), [1, 1, 1]);
}

#[test]
fn a_socket_that_never_answers_costs_at_most_the_timeout() {
    let silent = testkit::SilentListener::start();
    let addr = silent.addr().to_string();
    let dir = testkit::temp_dir("shift-silent");
    let journal = dir.path().join("j").display().to_string();
    for (sub, code) in [("status", 3), ("set", 2)] {
        let ran = Cli::new(BIN)
            .args([sub, "--haproxy-socket", &addr, "--haproxy-backend", "app"])
            .args([
                "--pool",
                "blue=blue1",
                "--pool",
                "green=green1",
                "--journal",
                &journal,
            ])
            .args(if sub == "set" {
                vec!["--split", "green=100"]
            } else {
                vec![]
            })
            .args(["--timeout", "2s"])
            .run();
        ran.assert_code(code);
        let doc = assert_honoured(&ran, Duration::from_secs(2));
        assert!(
            doc["message"].as_str().unwrap().contains("did not answer"),
            "{}",
            ran.stdout
        );
    }
}

#[test]
fn wait_lock_waits_for_the_other_shift_to_finish() {
    let lab = Lab::start();
    lab.shift("set")
        .args(["--split", "blue=100"])
        .run()
        .assert_code(0);
    let first = lab
        .shift("set")
        .args(["--split", "green=20", "--step", "10", "--every", "300ms"])
        .spawn();
    let until = Instant::now() + Duration::from_secs(10);
    while events(&lab.journal_lines(), "step").is_empty() {
        assert!(Instant::now() < until, "the first shift never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let ran = lab
        .shift("set")
        .args(["--split", "green=100", "--wait-lock", "20s"])
        .run();
    ran.assert_code(0);
    let out = first.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the first shift finished undisturbed"
    );
    // The second ran after the first: its before is the first's target.
    assert_eq!(ran.json()["before"], json!({"blue": 80, "green": 20}));
    assert_eq!(lab.weights(), [0, 0, 1]);
}

#[test]
fn a_gate_leaving_a_background_process_counts_as_finished_within_its_timeout() {
    let lab = Lab::start();
    lab.shift("set")
        .args(["--split", "blue=100"])
        .run()
        .assert_code(0);
    // The gate passes at once but leaves a process holding its stdout.
    let ran = lab
        .shift("set")
        .args(["--split", "green=20", "--step", "10", "--every", "10ms"])
        .args(["--gate", "sleep 30 & true", "--gate-timeout", "2s"])
        .run();
    ran.assert_code(0);
    assert!(
        ran.elapsed < Duration::from_secs(5),
        "took {:?} with --gate-timeout 2s",
        ran.elapsed
    );
    assert_eq!(lab.weights(), [2, 2, 1], "blue=80,green=20");
}

/// A shared flock on a file, held by this test process until dropped: what
/// `shift status` holds for an instant to see whether a change is running.
struct SharedLock {
    _file: std::fs::File,
}

impl SharedLock {
    fn take(path: &Path) -> SharedLock {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        // SAFETY: flock(2) on a descriptor this struct owns.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
        assert_eq!(
            rc,
            0,
            "shared lock on {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
        SharedLock { _file: f }
    }
}

/// Whether process `pid` has `path` open.
fn has_open(pid: u32, path: &Path) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == path))
}

/// Whether the main thread of `pid` is waiting, per /proc/PID/syscall:
/// asleep (nanosleep, as `std::thread::sleep` is) or blocked in flock(2).
fn waiting(pid: u32) -> bool {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/syscall")) else {
        return false;
    };
    let nr: Option<libc::c_long> = text.split_whitespace().next().and_then(|n| n.parse().ok());
    nr.is_some_and(|n| {
        n == libc::SYS_clock_nanosleep || n == libc::SYS_nanosleep || n == libc::SYS_flock
    })
}

/// Wait until `child` (a `shift set`) has met the lock this test holds: it
/// has the lock file open and waits (sleeps between tries, or blocks in
/// flock). While the lock is held its try cannot succeed, so waiting with
/// the file open comes after a refused try. Fails with its output if it
/// ends first.
fn wait_until_refused_once(child: &mut Child, lock: &Path) {
    let pid = child.id();
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        if has_open(pid, lock) && waiting(pid) {
            return;
        }
        if child.try_wait().expect("poll shift").is_some() {
            let mut out = String::new();
            if let Some(mut s) = child.stdout.take() {
                let _ = s.read_to_string(&mut out);
            }
            if let Some(mut s) = child.stderr.take() {
                let _ = s.read_to_string(&mut out);
            }
            panic!("shift set ended before it met the held lock:\n{out}");
        }
        assert!(
            Instant::now() < until,
            "shift set never met the held lock in 20s"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_status_looking_at_the_lock_does_not_make_a_set_fail_as_locked() {
    let lab = Lab::start();
    let lock = PathBuf::from(format!("{}.lock", lab.journal.display()));
    // A status probe's shared lock, held until the set has certainly been
    // refused by it at least once, then let go, as a probe does.
    let probe = SharedLock::take(&lock);
    let lock = lock.canonicalize().expect("lock file path");
    let mut set = lab.shift("set").args(["--split", "green=100"]).spawn();
    wait_until_refused_once(&mut set, &lock);
    assert_eq!(lab.weights(), [1, 1, 1], "nothing changed while locked out");
    drop(probe);
    let out = set.wait_with_output().expect("shift ran");
    let ran = Ran::from_output(out, Duration::ZERO);
    ran.assert_code(0);
    assert_eq!(lab.weights(), [0, 0, 1]);
}
