//! The contract's last-resort rules for probe: a signal ends a wait within a
//! second with the summary so far; out-of-range input is a usage error; a
//! bug is one line and exit 3.

use std::time::Duration;

use crate::{check, probe};

#[test]
fn sigterm_during_a_wait_prints_the_summary_so_far() {
    let closed = format!("127.0.0.1:{}", testkit::free_port());
    let (r, to_end) = probe()
        .args(["tcp", &closed, "--wait", "60s", "--interval", "300ms"])
        .run_signalled(libc::SIGTERM, Duration::from_millis(1200));
    assert!(to_end < Duration::from_secs(1), "took {to_end:?} to stop");
    r.assert_code(2); // the last attempt was refused: that stands
    let doc = r.assert_envelope("probe");
    assert_eq!(doc["interrupted"], "SIGTERM", "{doc}");
    let c = check(&doc);
    assert!(c["attempts"].as_u64().unwrap() >= 2, "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("stopped by SIGTERM"),
        "{c}"
    );
}

#[test]
fn sigint_during_a_silent_attempt_stops_within_a_second() {
    let silent = testkit::SilentListener::start();
    let url = format!("http://{}/", silent.addr());
    let (r, to_end) = probe()
        .args(["http", &url, "--timeout", "30s", "--retries", "2"])
        .run_signalled(libc::SIGINT, Duration::from_millis(800));
    assert!(to_end < Duration::from_secs(1), "took {to_end:?} to stop");
    r.assert_code(3);
    let doc = r.assert_envelope("probe");
    assert_eq!(check(&doc)["error"], "interrupted", "{doc}");
}

#[test]
fn out_of_range_ports_and_timeouts_are_usage_errors() {
    for args in [
        vec!["http", "http://127.0.0.1:99999/"],
        vec!["http", "https://u:pw-port-1@[::1]:0/"],
        vec!["prometheus", "http://127.0.0.1:65536"],
        vec![
            "http",
            "http://127.0.0.1:8080/",
            "--timeout",
            "99999999999d",
        ],
        vec!["tcp", "127.0.0.1:1", "--timeout", "0s"],
    ] {
        let r = probe().args(&args).run();
        r.assert_code(64);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("port") || r.stderr.contains("timeout"),
            "{args:?}: {}",
            r.stderr
        );
        r.assert_absent("pw-port-1");
    }
}

#[test]
fn a_panic_is_one_scrubbed_line_and_exit_3() {
    let r = probe()
        .args(["tcp", "127.0.0.1:1"])
        .env("GOLIVE_DEBUG_PANIC", "boom\nsecond line")
        .run();
    r.assert_code(3);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("probe: internal error: boom"),
        "{}",
        r.stderr
    );
}

#[test]
fn inverted_latency_thresholds_and_bad_header_file_lines_are_named() {
    let r = probe()
        .args([
            "http",
            "http://127.0.0.1:9/",
            "--max-latency",
            "2s",
            "--crit-latency",
            "1s",
        ])
        .run();
    r.assert_code(64);
    assert!(
        r.stderr
            .contains("--max-latency 2.0s is more than --crit-latency 1.0s"),
        "{}",
        r.stderr
    );

    let dir = testkit::temp_dir("probe-headers");
    let file = dir.path().join("headers");
    testkit::write(
        &file,
        "# keys\nAccept: text/plain\n\nX-API-Key hdr-secret-5\n",
    );
    let at = format!("@{}", file.display());
    let r = probe()
        .args(["http", "http://127.0.0.1:9/", "-H", &at])
        .run();
    r.assert_code(64);
    let want = format!("{}:4:", file.display());
    assert!(
        r.stderr.contains(&want),
        "names file and line: {}",
        r.stderr
    );
    r.assert_absent("hdr-secret-5");
}
