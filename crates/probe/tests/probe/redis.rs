//! `probe redis` against a real Redis server.

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::{Proc, Redis, SilentListener};

use crate::{assert_honoured, check, probe, tool_time};

#[test]
fn ping_passes_then_fails_once_redis_is_stopped_mid_test() {
    let mut redis = Redis::start();
    let url = redis.url();
    let r = probe().args(["redis", &url]).run();
    r.assert_code(0);
    let doc = r.assert_envelope("probe");
    let c = check(&doc);
    assert!(c["message"].as_str().unwrap().starts_with("PONG"), "{c}");
    assert_eq!(c["role"], "master");
    assert!(c["server_version"].is_string());

    redis.stop();
    let r = probe().args(["redis", &url]).run();
    r.assert_code(2);
    let doc = r.assert_envelope("probe");
    assert_eq!(check(&doc)["error"], "connection_refused");
}

#[test]
fn password_is_used_and_never_printed() {
    let pw = "redis-pw-4b9e1d";
    let redis = Redis::start_with_password(pw);
    let r = probe()
        .arg("redis")
        .env("PROBE_REDIS_URL", redis.url())
        .run();
    r.assert_code(0);
    r.assert_absent(pw);
    assert!(check(&r.json())["url"].as_str().unwrap().contains(":***@"));

    let wrong = "wrong-redis-pw-0a7c";
    let r = probe()
        .args([
            "redis",
            &format!("redis://:{wrong}@127.0.0.1:{}/0", redis.port),
            "-v",
        ])
        .run();
    r.assert_code(2);
    r.assert_absent(wrong);
    assert_eq!(check(&r.json())["error"], "auth");

    // No password at all: NOAUTH is a failure, not a pass.
    let r = probe()
        .args(["redis", &format!("redis://127.0.0.1:{}/0", redis.port)])
        .run();
    r.assert_code(2);
}

#[test]
fn a_silent_server_fails_within_the_timeout() {
    let silent = SilentListener::start();
    let timeout = Duration::from_secs(1);
    let r = probe()
        .args([
            "redis",
            &format!("redis://{}/0", silent.addr()),
            "--timeout",
            "1s",
        ])
        .run();
    r.assert_code(2);
    let doc = assert_honoured(&r, timeout);
    assert_eq!(check(&doc)["error"], "timeout");
}

/// `--wait` against a port nobody listens on: refused at once, again and
/// again, until the wait is over, and not past it.
#[test]
fn wait_against_a_closed_port_retries_until_the_wait_is_over() {
    let closed = testkit::free_port();
    let wait = Duration::from_millis(700);
    let r = probe()
        .args([
            "redis",
            &format!("redis://127.0.0.1:{closed}"),
            "--wait",
            "700ms",
            "--interval",
            "100ms",
        ])
        .run();
    r.assert_code(2);
    let doc = assert_honoured(&r, wait);
    assert!(
        tool_time(&doc) >= wait,
        "gave up before --wait 700ms: {}",
        r.stdout
    );
    let attempts = check(&doc)["attempts"].as_u64().unwrap();
    assert!(attempts >= 3, "{}", r.stdout);
    assert_eq!(check(&doc)["error"], "connection_refused", "{}", r.stdout);
}

/// Start a real Redis again on `port`, the one a stopped [`Redis`] had (the
/// test kit starts Redis only on a fresh port; this is its config, by flags).
fn redis_again_on(port: u16) -> (Proc, tempfile::TempDir) {
    let bin = testkit::require("redis-server", "redis-server");
    let dir = testkit::temp_dir("redis-again");
    let mut cmd = Command::new(bin);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .args(["--daemonize", "no", "--logfile", ""])
        .arg("--dir")
        .arg(dir.path());
    let mut proc = Proc::spawn("redis (again)", cmd, &dir.path().join("redis.log"));
    proc.wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(20));
    (proc, dir)
}

/// `--wait` against a Redis that is stopped, then started again on the same
/// port: the attempts refused while it was down count, and the one that
/// reaches it again passes.
#[test]
fn wait_reports_the_attempts_it_took() {
    let mut redis = Redis::start();
    let url = redis.url();
    probe().args(["redis", &url]).run().assert_code(0);

    redis.stop();
    let mut child = probe()
        .args(["redis", &url, "--wait", "60s", "--interval", "100ms"])
        .args(["--format", "ndjson"])
        .spawn();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || -> Value {
        let line = lines
            .next()
            .expect("probe ended before reporting")
            .expect("read probe's stdout");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {e}: {line}"))
    };
    // Two attempts refused: probe is waiting on a Redis that is really down.
    for n in 1..=2 {
        let ev = next();
        assert_eq!(ev["event"], "attempt", "{ev}");
        assert_eq!(ev["attempt"], n, "{ev}");
        assert_eq!(ev["error"], "connection_refused", "{ev}");
    }

    // Redis comes back on the same port while probe is still waiting.
    let (_again, _dir) = redis_again_on(redis.port);
    let mut events = Vec::new();
    let summary = loop {
        let doc = next();
        if doc.get("event").is_some() {
            events.push(doc);
        } else {
            break doc;
        }
    };
    let out = child.wait_with_output().expect("probe ran");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary["tool"], "probe", "{summary}");
    assert_eq!(summary["status"], "ok", "{summary}");
    let c = check(&summary);
    let attempts = c["attempts"].as_u64().unwrap();
    assert!(attempts >= 3, "two refused, then at least one more: {c}");
    assert_eq!(
        attempts,
        2 + events.len() as u64,
        "one event per attempt: {events:?}"
    );
    let last = events.last().expect("the passing attempt's event");
    assert_eq!(last["status"], "ok", "{last}");
    assert_eq!(last["attempt"], attempts, "{last}");
    assert!(c["message"].as_str().unwrap().starts_with("PONG"), "{c}");
}
