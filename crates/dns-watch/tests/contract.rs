//! The contract's last-resort rules for dns-watch: a signal ends the watch
//! within a second — between rounds or with a query in flight — with the
//! summary so far (exit 3: it could not say whether the name propagated).

mod common;

use std::time::Duration;

use common::{SilentUdp, dns_watch, server};
use testkit::knot::Knot;

#[test]
fn sigterm_between_rounds_prints_the_last_round() {
    let ns = Knot::builder()
        .zone("example.test", "api 10 A 192.0.2.1")
        .start();
    let (r, to_end) = dns_watch()
        .args([
            "api.example.test",
            "--expect",
            "192.0.2.9",
            "--authoritative",
        ])
        .args([
            "--server",
            &ns.addr(),
            "--interval",
            "500ms",
            "--timeout",
            "5m",
        ])
        .run_signalled(libc::SIGTERM, Duration::from_millis(1500));
    assert!(to_end < Duration::from_secs(1), "took {to_end:?} to stop");
    r.assert_code(3);
    let doc = r.assert_envelope("dns-watch");
    assert_eq!(doc["interrupted"], "SIGTERM", "{doc}");
    assert!(doc["rounds"].as_u64().unwrap() >= 2, "{doc}");
    assert_eq!(
        server(&doc, &ns.addr())["answers"],
        serde_json::json!(["192.0.2.1"])
    );
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("stopped by SIGTERM"),
        "{doc}"
    );
}

#[test]
fn sigint_with_a_query_in_flight_stops_within_a_second() {
    let silent = SilentUdp::start();
    let (r, to_end) = dns_watch()
        .args([
            "api.example.test",
            "--expect",
            "192.0.2.9",
            "--authoritative",
        ])
        .args([
            "--server",
            &silent.addr(),
            "--query-timeout",
            "30s",
            "--timeout",
            "5m",
        ])
        .run_signalled(libc::SIGINT, Duration::from_millis(800));
    assert!(to_end < Duration::from_secs(1), "took {to_end:?} to stop");
    r.assert_code(3);
    let doc = r.assert_envelope("dns-watch");
    assert_eq!(doc["interrupted"], "SIGINT", "{doc}");
}
