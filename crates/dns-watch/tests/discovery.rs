//! `--authoritative` without `--server`: SOA walk and NS set through a
//! resolver, then each nameserver asked on port 53 with recursion off.
//!
//! NS records carry no port, so the two Knot nameservers listen on port 53
//! of their own loopback addresses (127.53.N.1 and 127.53.N.2): this test
//! needs root, as CI runs it.

mod common;

use std::net::SocketAddr;

use common::{dns_watch, server};
use testkit::knot::Knot;
use testkit::unbound::Unbound;

#[test]
fn authoritative_mode_finds_the_zone_and_its_nameservers() {
    assert!(
        testkit::is_root(),
        "this test binds port 53 on 127.53.x.y (NS records have no port): run it as root, as CI does"
    );
    let n = 20 + std::process::id() % 200;
    let ip1 = format!("127.53.{n}.1");
    let ip2 = format!("127.53.{n}.2");
    let zone = format!(
        "$ORIGIN example.test.\n$TTL 10\n@ SOA ns1 hostmaster 1 60 60 600 30\n@ NS ns1\n@ NS ns2\nns1 A {ip1}\nns2 A {ip2}\napi A 192.0.2.1\nwww CNAME lb.other.test.\n"
    );
    let a1: SocketAddr = format!("{ip1}:53").parse().unwrap();
    let a2: SocketAddr = format!("{ip2}:53").parse().unwrap();
    let ns1 = Knot::builder()
        .listen(a1)
        .zone_text("example.test", &zone)
        .zone("other.test", "lb 10 A 192.0.2.9")
        .start();
    let ns2 = Knot::builder()
        .listen(a2)
        .zone_text("example.test", &zone)
        .start();
    let resolver = Unbound::builder()
        .stub("example.test", &a1.to_string())
        .stub("other.test", &a1.to_string())
        .start();

    ns1.set("example.test", "api", 10, "A", &["192.0.2.2"]);
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.2",
            "--authoritative",
            "--once",
            "--resolver",
            &resolver.addr(),
        ])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["zone"], "example.test");
    assert_eq!(
        doc["nameservers"],
        serde_json::json!(["ns1.example.test", "ns2.example.test"])
    );
    assert_eq!(doc["resolver"], resolver.addr());
    let s1 = server(&doc, "ns1.example.test");
    assert_eq!(s1["address"], a1.to_string());
    assert_eq!(
        (s1["matched"].as_bool(), s1["soa_serial"].as_u64()),
        (Some(true), Some(2))
    );
    let s2 = server(&doc, "ns2.example.test");
    assert_eq!(
        (s2["matched"].as_bool(), s2["soa_serial"].as_u64()),
        (Some(false), Some(1))
    );
    assert_eq!(doc["lagging"], serde_json::json!(["ns2.example.test"]));

    ns2.set("example.test", "api", 10, "A", &["192.0.2.2"]);
    dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.2",
            "--authoritative",
            "--once",
        ])
        .env("DNS_WATCH_RESOLVER", resolver.addr())
        .run()
        .assert_code(0);

    // A CNAME into another zone: the SOA the resolver returns with the
    // CNAME belongs to the target's zone; the watched name's zone is still
    // example.test, and its nameservers are the ones asked.
    let ran = dns_watch()
        .args([
            "www.example.test",
            "-e",
            "lb.other.test",
            "--authoritative",
            "--once",
            "--resolver",
            &resolver.addr(),
        ])
        .run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["zone"], "example.test", "{doc}");
    assert_eq!(
        doc["nameservers"],
        serde_json::json!(["ns1.example.test", "ns2.example.test"])
    );
    assert_eq!(server(&doc, "ns1.example.test")["soa_serial"], 2);

    // A name outside any zone the resolver can find: UNKNOWN, with a summary.
    let ran = dns_watch()
        .args([
            "api.nowhere.test",
            "-e",
            "192.0.2.2",
            "--authoritative",
            "--once",
            "--query-timeout",
            "500ms",
        ])
        .args(["--timeout", "3s", "--resolver", &resolver.addr()])
        .run();
    ran.assert_code(3);
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["rounds"], 0);
}
