//! Usage errors and the shared behaviour of every subcommand.

use crate::probe;

#[test]
fn unknown_flag_is_usage_64_with_one_line() {
    let r = probe()
        .args(["http", "http://127.0.0.1:1/", "--bogus"])
        .run();
    r.assert_code(64);
    assert!(r.stdout.is_empty(), "stdout: {}", r.stdout);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("probe: ") && r.stderr.contains("--bogus"),
        "{}",
        r.stderr
    );
}

#[test]
fn no_arguments_prints_help_and_exits_64() {
    let r = probe().run();
    r.assert_code(64);
    assert!(r.all_output().contains("Usage:"), "{}", r.all_output());
}

#[test]
fn help_and_version_exit_0() {
    probe().arg("--help").run().assert_code(0);
    let r = probe().arg("--version").run();
    r.assert_code(0);
    assert!(r.stdout.starts_with("probe "), "{}", r.stdout);
    let r = probe().args(["http", "--help"]).run();
    r.assert_code(0);
    assert!(r.stdout.contains("Examples:"), "{}", r.stdout);
}

#[test]
fn a_duration_without_unit_is_refused_not_guessed() {
    let r = probe().args(["tcp", "127.0.0.1:1", "--timeout", "5"]).run();
    r.assert_code(64);
    assert!(r.stderr.contains("5s"), "{}", r.stderr);
}

#[test]
fn timeout_reads_the_environment_and_the_flag_wins() {
    let l = testkit::SilentListener::start();
    let url = format!("http://{}/", l.addr());
    let r = probe()
        .args(["http", &url])
        .env("PROBE_TIMEOUT", "300ms")
        .run();
    r.assert_code(2);
    assert!(
        r.json()["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("300ms"),
        "{}",
        r.stdout
    );
    let r = probe()
        .args(["http", &url, "--timeout", "200ms"])
        .env("PROBE_TIMEOUT", "5s")
        .run();
    r.assert_code(2);
    assert!(
        r.json()["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("200ms"),
        "{}",
        r.stdout
    );
}

#[test]
fn bad_values_are_64_before_any_network_call() {
    for args in [
        vec!["http", "ftp://example/"],
        vec!["http", "http://x/", "--expect-status", "2oo"],
        // 657 * 100 does not fit a status code: refused, never wrapped.
        vec!["http", "http://x/", "--expect-status", "657xx"],
        vec!["http", "http://x/", "--header", "no-colon"],
        vec!["http", "http://x/", "--equals", "ok"],
        vec!["tcp", "no-port"],
        vec!["tls", "host:443", "--warn-days", "3", "--crit-days", "10"],
        vec!["postgres", "not a dsn at all ="],
        vec!["redis", "http://not-redis/"],
        vec!["file", "/backups/[", "--gzip"],
        vec!["http", "http://x/", "--ca", "/nonexistent/ca.pem"],
        vec![
            "postgres",
            "postgres://u@h/db",
            "--max-connections-used",
            "120",
        ],
    ] {
        let r = probe().args(&args).run();
        assert_eq!(r.code, 64, "{args:?}\n{}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: {}", r.stderr);
    }
}

#[test]
fn a_malformed_secret_header_is_refused_without_echoing_its_value() {
    // A typo at 3 a.m. (`=` or a space where `:` belongs) must not print the
    // key to a CI log.
    for h in [
        "X-API-Key=typo-secret-4471",
        "X-API-Key typo-secret-4471",
        "typo-secret-4471",
    ] {
        let r = probe().args(["http", "http://127.0.0.1:1/", "-H", h]).run();
        assert_eq!(r.code, 64, "{h}: {}", r.stderr);
        assert!(r.stderr.contains("--header"), "{h}: {}", r.stderr);
        r.assert_absent("typo-secret-4471");
    }
}

#[test]
fn tcp_passes_on_a_listener_and_fails_on_a_closed_port() {
    let l = testkit::SilentListener::start();
    let r = probe().args(["tcp", &l.addr().to_string()]).run();
    r.assert_code(0);
    let doc = r.assert_envelope("probe");
    assert_eq!(doc["checks"][0]["type"], "tcp");
    assert_eq!(doc["checks"][0]["address"], l.addr().to_string());
    assert!(doc["checks"][0]["latency_ms"].is_number());

    let closed = testkit::free_port();
    let r = probe()
        .args(["tcp", &format!("127.0.0.1:{closed}"), "--name", "db-port"])
        .run();
    r.assert_code(2);
    let doc = r.assert_envelope("probe");
    assert_eq!(doc["failing"][0], "db-port");
    assert_eq!(doc["checks"][0]["error"], "connection_refused");
}

#[test]
fn retries_are_counted_in_one_document() {
    let closed = testkit::free_port();
    let r = probe()
        .args([
            "tcp",
            &format!("127.0.0.1:{closed}"),
            "--retries",
            "2",
            "--interval",
            "50ms",
        ])
        .run();
    r.assert_code(2);
    let doc = r.assert_envelope("probe");
    assert_eq!(doc["checks"][0]["attempts"], 3);
}

#[test]
fn ndjson_streams_attempts_then_the_summary() {
    let closed = testkit::free_port();
    let r = probe()
        .args([
            "tcp",
            &format!("127.0.0.1:{closed}"),
            "--retries",
            "1",
            "--interval",
            "10ms",
        ])
        .args(["--format", "ndjson"])
        .run();
    r.assert_code(2);
    let lines = r.ndjson();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    for (i, ev) in lines[..2].iter().enumerate() {
        assert_eq!(ev["event"], "attempt");
        assert_eq!(ev["attempt"], i + 1);
        assert_eq!(ev["status"], "critical");
        assert!(ev["time"].as_str().unwrap().ends_with('Z'));
        assert!(ev["elapsed_ms"].is_number());
    }
    let last = &lines[2];
    assert_eq!(last["tool"], "probe");
    assert!(last.get("event").is_none());
    assert_eq!(last["checks"][0]["attempts"], 2);
}

#[test]
fn csv_has_a_header_and_one_row_per_check() {
    let closed = testkit::free_port();
    let r = probe()
        .args([
            "tcp",
            &format!("127.0.0.1:{closed}"),
            "--format",
            "csv",
            "--name",
            "db, primary",
        ])
        .run();
    r.assert_code(2);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "name,type,status,latency_ms,attempts,target,message"
    );
    assert!(
        lines[1].starts_with("\"db, primary\",tcp,critical,"),
        "{}",
        r.stdout
    );
    assert_eq!(lines.len(), 2);
}

#[test]
fn a_timeout_too_large_for_the_clock_is_a_usage_error() {
    // It used to make the attempt stop at once, without a result; now it
    // never gets that far: a week is the longest any tool waits.
    let closed = testkit::free_port();
    let r = probe()
        .args([
            "tcp",
            &format!("127.0.0.1:{closed}"),
            "--timeout",
            "18446744073709551615s",
        ])
        .run();
    r.assert_code(64);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
}
