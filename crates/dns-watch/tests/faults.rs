//! Failures, each reported per server without stopping the others, and the
//! deadline honoured; exit codes and formats as scripts see them.

mod common;

use std::time::Duration;

use common::{SilentUdp, assert_took, dns_watch, server, temp_file, within};
use testkit::knot::Knot;

#[test]
fn nxdomain_servfail_refused_and_silence_are_each_reported_per_server() {
    let good = Knot::builder()
        .zone("example.test", "api 10 A 192.0.2.1")
        .start();
    let nx = Knot::builder()
        .zone("example.test", "www 10 A 192.0.2.1")
        .start();
    let broken = Knot::builder().broken_zone("example.test").start();
    let refused = Knot::builder()
        .zone("other.test", "api 10 A 192.0.2.1")
        .start();
    let silent = SilentUdp::start();
    let csv = format!(
        "name,address\ngood,{}\nnx,{}\nbroken,{}\nrefused,{}\nsilent,{}\n",
        good.addr(),
        nx.addr(),
        broken.addr(),
        refused.addr(),
        silent.addr()
    );
    let (_d, file) = common::temp_file("servers.csv", &csv);

    // Watching with a 1.5 s deadline; a query waits up to 2 s by default, so
    // the silent server is cut by the deadline, which must hold within 10%
    // (on dns-watch's own clock: it watches until the deadline, no longer).
    let timeout = Duration::from_millis(1500);
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--authoritative",
            "--timeout",
            "1500ms",
            "--servers-file",
        ])
        .arg(&file)
        .run();
    ran.assert_code(2);
    assert_took(&ran, Some(timeout), within(timeout));
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["total"], 5);
    assert_eq!(doc["answered"], 4);
    assert_eq!(doc["matched"], 1);

    let s = server(&doc, "good");
    assert_eq!(
        (s["status"].as_str(), s["rcode"].as_str()),
        (Some("ok"), Some("NOERROR"))
    );
    let s = server(&doc, "nx");
    assert_eq!(
        (s["status"].as_str(), s["rcode"].as_str()),
        (Some("critical"), Some("NXDOMAIN"))
    );
    assert_eq!(s["negative_ttl_s"], 10, "min(SOA TTL 10, minimum 30)");
    let s = server(&doc, "broken");
    assert_eq!(
        (s["status"].as_str(), s["rcode"].as_str()),
        (Some("unknown"), Some("SERVFAIL"))
    );
    let s = server(&doc, "refused");
    assert_eq!(
        (s["status"].as_str(), s["rcode"].as_str()),
        (Some("unknown"), Some("REFUSED"))
    );
    assert!(s["message"].as_str().unwrap().contains("REFUSED"));
    let s = server(&doc, "silent");
    assert_eq!(s["status"], "unknown");
    assert!(s["rcode"].is_null());
    assert!(s["error"].as_str().unwrap().contains("no answer"), "{s}");
    assert!(s["soa_serial"].is_null());
    let lag = doc["lagging"].as_array().unwrap();
    assert_eq!(lag.len(), 4, "{doc}");

    // The same with --once and a short per-query timeout: one round, fast.
    // The silent server is asked for its whole 300 ms, and the round ends
    // well before the 2 s a query waits by default.
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--once",
            "--query-timeout",
            "300ms",
            "--servers-file",
        ])
        .arg(&file)
        .run();
    ran.assert_code(2);
    let doc = assert_took(
        &ran,
        Some(Duration::from_millis(300)),
        Duration::from_millis(1000),
    );
    assert_eq!(doc["rounds"], 1);
    assert_eq!(server(&doc, "silent")["status"], "unknown", "{doc}");
}

#[test]
fn no_server_answering_at_all_is_unknown_exit_3_on_time() {
    let a = SilentUdp::start();
    let b = SilentUdp::start();
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--timeout",
            "1s",
            "--server",
            &a.addr(),
            "--server",
            &b.addr(),
        ])
        .run();
    ran.assert_code(3);
    // Nobody answers, so it watches until the deadline: 1 s by its own clock,
    // within 10%.
    let timeout = Duration::from_secs(1);
    assert_took(&ran, Some(timeout), within(timeout));
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["answered"], 0);
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("no server answered"),
        "{doc}"
    );
}

#[test]
fn servers_queued_behind_hundreds_of_silent_ones_are_still_asked() {
    // Twice as many silent servers as queries in flight at once (512): the
    // ones after them wait for a free socket, then get their whole query
    // timeout; none is reported silent without having been asked.
    let good = Knot::builder()
        .zone("example.test", "api 10 A 192.0.2.1")
        .start();
    let mut csv = String::from("name,address\n");
    for i in 0..1100 {
        // Loopback addresses where nothing listens on port 9: no answer.
        csv.push_str(&format!(
            "dead{i},127.0.{}.{}:9\n",
            100 + i / 200,
            1 + i % 200
        ));
    }
    csv.push_str(&format!("good,{}\n", good.addr()));
    let (_dir, file) = temp_file("many.csv", &csv);
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--once",
            "--query-timeout",
            "300ms",
            "--timeout",
            "10s",
            "--servers-file",
        ])
        .arg(&file)
        .run();
    ran.assert_code(2);
    let doc = ran.json();
    assert_eq!(doc["total"], 1101);
    let g = server(&doc, "good");
    assert_eq!(g["matched"], true, "{g}");
}

#[test]
fn a_silent_server_does_not_hide_the_ones_that_answer() {
    let good = Knot::builder()
        .zone("example.test", "api 10 A 192.0.2.1")
        .start();
    let silent = SilentUdp::start();
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--once",
            "--quorum",
            "50",
            "--query-timeout",
            "400ms",
        ])
        .args(["--server", &good.addr(), "--server", &silent.addr()])
        .run();
    ran.assert_code(0);
    let doc = ran.json();
    assert_eq!(server(&doc, &good.addr())["matched"], true);
    assert_eq!(server(&doc, &silent.addr())["status"], "unknown");
}

#[test]
fn usage_errors_exit_64_with_one_line() {
    let cases: &[&[&str]] = &[
        &["api.example.test", "-e", "192.0.2.1", "--timeout", "5"],
        &["api.example.test", "-e", "192.0.2.1", "--type", "SOA"],
        &["api.example.test", "-e", "2001:db8::1"],
        &["api.example.test"],
        &[
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--server",
            "resolver.example",
        ],
        &["api.example.test", "-e", "192.0.2.1", "--quorum", "120%"],
        &["api.example.test", "-e", "192.0.2.1", "--bogus"],
    ];
    for args in cases {
        let ran = dns_watch().args(*args).run();
        ran.assert_code(64);
        assert!(ran.stdout.is_empty(), "{args:?}: {}", ran.stdout);
        assert_eq!(
            ran.stderr.trim().lines().count(),
            1,
            "{args:?}: one line: {}",
            ran.stderr
        );
        assert!(ran.stderr.starts_with("dns-watch: "), "{}", ran.stderr);
    }
    let ran = dns_watch()
        .args(["api.example.test", "-e", "192.0.2.1", "--timeout", "5"])
        .run();
    assert!(ran.stderr.contains("5s"), "hint: {}", ran.stderr);
    dns_watch().run().assert_code(64);
    let help = dns_watch().arg("--help").run();
    help.assert_code(0);
    assert!(
        help.stdout.contains("Examples:") && help.stdout.contains("DNS_WATCH_TIMEOUT"),
        "{}",
        help.stdout
    );
}

#[test]
fn text_and_ndjson_formats() {
    let knot = Knot::builder()
        .zone("example.test", "api 10 A 192.0.2.1")
        .start();
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--once",
            "--authoritative",
            "--format",
            "text",
        ])
        .args(["--server", &knot.addr()])
        .run();
    ran.assert_code(0);
    let first = ran.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("SERVER") && first.contains("SERIAL"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("192.0.2.1") && ran.stdout.lines().last().unwrap().starts_with("OK: "),
        "{}",
        ran.stdout
    );

    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--once",
            "--format",
            "ndjson",
            "--server",
            &knot.addr(),
        ])
        .run();
    ran.assert_code(0);
    let lines = ran.ndjson();
    assert_eq!(
        lines.len(),
        2,
        "one round, then the summary: {}",
        ran.stdout
    );
    assert_eq!(lines[0]["event"], "round");
    assert_eq!(lines[0]["round"], 1);
    assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lines[1]["tool"], "dns-watch");
    assert_eq!(lines[1]["exit_code"], 0);

    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--once",
            "--format",
            "prom",
            "--server",
            &knot.addr(),
        ])
        .run();
    ran.assert_code(0);
    assert!(
        ran.stdout
            .contains("dns_watch_servers_matched{name=\"api.example.test\",type=\"A\"} 1"),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_referral_is_reported_as_such_not_as_nodata() {
    // The parent zone's server delegates example.test elsewhere: asked with
    // recursion off it refers, it does not answer.
    let parent = Knot::builder()
        .zone(
            "test",
            "example 10 NS ns.example\nns.example 10 A 127.0.0.1",
        )
        .start();
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--authoritative",
            "--once",
            "--server",
            &parent.addr(),
        ])
        .run();
    ran.assert_code(2);
    let doc = ran.json();
    let s = &doc["servers"][0];
    assert_eq!(s["status"], "unknown", "{s}");
    assert_eq!(s["rcode"], "NOERROR");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("referral to ns.example.test"),
        "{s}"
    );
    assert!(
        doc["negative_caching"].is_null(),
        "a referral is not a negative answer"
    );
}
