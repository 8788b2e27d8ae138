//! `probe redis` against a real Redis server.

use std::time::Duration;

use testkit::{Redis, SilentListener};

use crate::{check, probe, within};

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
    assert!(r.elapsed <= within(timeout), "took {:?}", r.elapsed);
    assert_eq!(check(&r.json())["error"], "timeout");
}

/// `--wait` against a Redis that is stopped, then started again on the same
/// port (the port must be free again first).
#[test]
fn wait_reports_the_attempts_it_took() {
    let closed = testkit::free_port();
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
    let attempts = check(&r.json())["attempts"].as_u64().unwrap();
    assert!(attempts >= 3, "{}", r.stdout);
    assert!(
        r.elapsed <= within(Duration::from_millis(700)),
        "took {:?}",
        r.elapsed
    );
}
