//! Authoritative servers (Knot): partial and complete propagation, SOA
//! serials, quorum, --max-ttl, CNAME chains, match modes, record types.

mod common;

use std::time::Duration;

use common::{assert_took, dns_watch, server, temp_file, within};
use testkit::knot::Knot;

fn two_knots(records: &str) -> (Knot, Knot) {
    let a = Knot::builder().zone("example.test", records).start();
    let b = Knot::builder().zone("example.test", records).start();
    (a, b)
}

#[test]
fn change_on_one_nameserver_is_partial_then_complete_with_serials() {
    let (ns1, ns2) = two_knots("api 10 A 192.0.2.1");
    ns1.set("example.test", "api", 10, "A", &["192.0.2.2"]);
    assert_eq!(ns1.serial("example.test"), 2);

    let ran = dns_watch()
        .args([
            "api.example.test",
            "--expect",
            "192.0.2.2",
            "--authoritative",
            "--once",
        ])
        .args(["--server", &ns1.addr(), "--server", &ns2.addr()])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["mode"], "authoritative");
    assert_eq!(doc["zone"], "example.test");
    assert_eq!(doc["matched"], 1);
    assert_eq!(doc["lagging"], serde_json::json!([ns2.addr()]));
    let s1 = server(&doc, &ns1.addr());
    assert_eq!(s1["matched"], true);
    assert_eq!(s1["soa_serial"], 2);
    assert_eq!(s1["authoritative_answer"], true);
    let s2 = server(&doc, &ns2.addr());
    assert_eq!(s2["matched"], false);
    assert_eq!(s2["status"], "critical");
    assert_eq!(s2["answers"], serde_json::json!(["192.0.2.1"]));
    assert_eq!(s2["soa_serial"], 1);
    assert_eq!(doc["soa_serials"]["1"], serde_json::json!([ns2.addr()]));
    let msg = doc["message"].as_str().unwrap();
    assert!(
        msg.contains(&ns2.addr()) && msg.contains("192.0.2.1"),
        "the report names the laggard and its answer: {msg}"
    );

    // Watching (not --once) with a short deadline: still partial, exit 2 on time.
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.2",
            "--authoritative",
            "--timeout",
            "1500ms",
            "--interval",
            "200ms",
        ])
        .args(["--server", &ns1.addr(), "--server", &ns2.addr()])
        .run();
    ran.assert_code(2);
    // It watched until the deadline, and no longer: 1.5 s by its own clock,
    // within 10%.
    let timeout = Duration::from_millis(1500);
    let doc = assert_took(&ran, Some(timeout), within(timeout));
    assert!(doc["rounds"].as_u64().unwrap() >= 2, "{doc}");

    ns2.set("example.test", "api", 10, "A", &["192.0.2.2"]);
    let ran = dns_watch()
        .args([
            "api.example.test",
            "--expect",
            "192.0.2.2",
            "--authoritative",
            "--once",
        ])
        .args(["--server", &ns1.addr(), "--server", &ns2.addr()])
        .run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["matched"], 2);
    assert_eq!(doc["lagging"], serde_json::json!([]));
    assert_eq!(doc["soa_serials"]["2"].as_array().unwrap().len(), 2);
}

#[test]
fn watch_finishes_when_the_second_nameserver_changes() {
    let (ns1, ns2) = two_knots("api 10 A 192.0.2.1");
    ns1.set("example.test", "api", 10, "A", &["192.0.2.2"]);
    let child = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.2",
            "--authoritative",
            "--interval",
            "200ms",
            "--timeout",
            "20s",
        ])
        .args([
            "--server",
            &ns1.addr(),
            "--server",
            &ns2.addr(),
            "--format",
            "ndjson",
        ])
        .spawn();
    std::thread::sleep(Duration::from_millis(700));
    ns2.set("example.test", "api", 10, "A", &["192.0.2.2"]);
    let out = child.wait_with_output().unwrap();
    let ran = testkit::cli::Ran::from_output(out, Duration::ZERO);
    ran.assert_code(0);
    let lines = ran.ndjson();
    let rounds: Vec<_> = lines.iter().filter(|l| l["event"] == "round").collect();
    assert!(
        rounds.len() >= 2,
        "several rounds before the change: {}",
        ran.stdout
    );
    assert_eq!(rounds[0]["matched"], 1, "first round partial");
    assert_eq!(rounds.last().unwrap()["matched"], 2);
    let summary = lines.last().unwrap();
    assert_eq!(summary["tool"], "dns-watch");
    assert!(summary.get("event").is_none());
    assert_eq!(summary["status"], "ok");
}

#[test]
fn quorum_50_percent_passes_with_one_of_two_and_names_the_straggler() {
    let (ns1, ns2) = two_knots("api 10 A 192.0.2.1");
    ns1.set("example.test", "api", 10, "A", &["192.0.2.2"]);
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.2",
            "--authoritative",
            "--once",
            "--quorum",
            "50%",
        ])
        .args(["--server", &ns1.addr(), "--server", &ns2.addr()])
        .run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["needed"], 1);
    assert_eq!(doc["lagging"], serde_json::json!([ns2.addr()]));
    assert!(
        doc["message"].as_str().unwrap().contains("still lagging"),
        "{doc}"
    );
}

#[test]
fn max_ttl_fails_naming_the_ttl_and_passes_when_short_enough() {
    let knot = Knot::builder()
        .zone("example.test", "api 300 A 192.0.2.1")
        .start();
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--authoritative",
            "--max-ttl",
            "60s",
            "--once",
        ])
        .args(["--server", &knot.addr()])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["highest_ttl_s"], 300);
    let msg = doc["message"].as_str().unwrap();
    assert!(msg.contains("300s") && msg.contains("60s"), "{msg}");

    // The pre-launch check without --expect, against a long timeout: it stops at once.
    let ran = dns_watch()
        .args([
            "api.example.test",
            "--authoritative",
            "--max-ttl",
            "1m",
            "--timeout",
            "30s",
            "--server",
            &knot.addr(),
        ])
        .run();
    ran.assert_code(2);
    assert!(ran.elapsed < Duration::from_secs(5));

    let ran = dns_watch()
        .args([
            "api.example.test",
            "--authoritative",
            "--max-ttl",
            "5m",
            "--once",
            "--server",
            &knot.addr(),
        ])
        .run();
    ran.assert_code(0);
    assert_eq!(ran.json()["max_ttl_s"], 300);
}

#[test]
fn cname_chain_is_followed_shown_and_matchable_by_name() {
    let knot = Knot::builder()
        .zone(
            "example.test",
            "www 10 CNAME lb\nlb 10 CNAME api\napi 20 A 192.0.2.7",
        )
        .start();
    let ran = dns_watch()
        .args([
            "WWW.Example.Test.",
            "-e",
            "192.0.2.7",
            "--once",
            "--authoritative",
            "--server",
            &knot.addr(),
        ])
        .run();
    ran.assert_code(0);
    let doc = ran.json();
    let s = &doc["servers"][0];
    assert_eq!(
        s["cname_chain"],
        serde_json::json!(["lb.example.test", "api.example.test"])
    );
    assert_eq!(s["answers"], serde_json::json!(["192.0.2.7"]));
    assert_eq!(s["ttl_s"], 20, "the longest TTL along the chain");
    assert!(
        s["message"].as_str().unwrap().contains("lb.example.test →"),
        "{s}"
    );

    // An expected name for an A lookup: the chain must pass through it.
    dns_watch()
        .args([
            "www.example.test",
            "-e",
            "LB.example.test.",
            "--once",
            "--authoritative",
            "--server",
            &knot.addr(),
        ])
        .run()
        .assert_code(0);
    dns_watch()
        .args([
            "www.example.test",
            "-e",
            "other.example.test",
            "--once",
            "--authoritative",
            "--server",
            &knot.addr(),
        ])
        .run()
        .assert_code(2);
    // --type CNAME: the target itself.
    dns_watch()
        .args([
            "www.example.test",
            "-t",
            "CNAME",
            "-e",
            "lb.example.test",
            "--once",
            "--authoritative",
        ])
        .args(["--server", &knot.addr()])
        .run()
        .assert_code(0);
}

#[test]
fn a_cname_into_another_zone_still_reports_each_nameservers_serial() {
    // The CNAME cutover the docs describe: www points into another zone, so
    // asking these nameservers for www's SOA returns the CNAME and no SOA.
    let (ns1, ns2) = two_knots("www 10 CNAME old-lb.example.net.");
    ns1.set("example.test", "www", 10, "CNAME", &["new-lb.example.net."]);
    let ran = dns_watch()
        .args([
            "www.example.test",
            "-e",
            "new-lb.example.net",
            "--authoritative",
            "--once",
        ])
        .args(["--server", &ns1.addr(), "--server", &ns2.addr()])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("dns-watch");
    assert_eq!(doc["zone"], "example.test", "{doc}");
    assert_eq!(server(&doc, &ns1.addr())["soa_serial"], 2, "{doc}");
    assert_eq!(server(&doc, &ns2.addr())["soa_serial"], 1, "{doc}");
    assert_eq!(doc["soa_serials"]["1"], serde_json::json!([ns2.addr()]));
    assert_eq!(doc["lagging"], serde_json::json!([ns2.addr()]));
}

#[test]
fn a_cname_loop_is_shown_once_around() {
    let knot = Knot::builder()
        .zone("example.test", "a 10 CNAME b\nb 10 CNAME a")
        .start();
    let ran = dns_watch()
        .args(["a.example.test", "-e", "192.0.2.1", "--once"])
        .args(["--server", &knot.addr()])
        .run();
    ran.assert_code(2);
    let doc = ran.json();
    assert_eq!(
        doc["servers"][0]["cname_chain"],
        serde_json::json!(["b.example.test", "a.example.test"]),
        "{doc}"
    );
}

#[test]
fn match_all_wants_the_same_set_and_any_wants_one() {
    let knot = Knot::builder()
        .zone(
            "example.test",
            "api 10 A 192.0.2.1\napi 10 A 192.0.2.2\nv6 10 AAAA 2001:db8::1",
        )
        .start();
    let base = ["api.example.test", "--once", "--authoritative", "--server"];
    dns_watch()
        .args(base)
        .arg(knot.addr())
        .args(["-e", "192.0.2.1"])
        .run()
        .assert_code(2);
    dns_watch()
        .args(base)
        .arg(knot.addr())
        .args(["-e", "192.0.2.1", "--match", "any"])
        .run()
        .assert_code(0);
    dns_watch()
        .args(base)
        .arg(knot.addr())
        .args(["-e", "192.0.2.2,192.0.2.1"])
        .run()
        .assert_code(0);
    dns_watch()
        .args([
            "v6.example.test",
            "-t",
            "AAAA",
            "-e",
            "2001:DB8:0::1",
            "--once",
            "--server",
            &knot.addr(),
        ])
        .run()
        .assert_code(0);
}

#[test]
fn txt_mx_and_ns_records() {
    let knot = Knot::builder()
        .zone(
            "example.test",
            "@ 10 MX 10 mail\n@ 10 TXT \"v=spf1 include:mail.example.test -all\"\nmail 10 A 192.0.2.25",
        )
        .start();
    let s = knot.addr();
    let base = |name: &str, t: &str, e: &str| {
        dns_watch()
            .args([
                name,
                "-t",
                t,
                "-e",
                e,
                "--once",
                "--authoritative",
                "--server",
                &s,
            ])
            .run()
    };
    base("example.test", "MX", "10 mail.example.test").assert_code(0);
    base("example.test", "MX", "mail.example.test.").assert_code(0);
    base("example.test", "MX", "20 mail.example.test").assert_code(2);
    base(
        "example.test",
        "TXT",
        "v=spf1 include:mail.example.test -all",
    )
    .assert_code(0);
    base("example.test", "NS", "ns1.example.test").assert_code(0);
}

#[test]
fn servers_file_names_servers_and_a_bad_line_is_exit_64_naming_it() {
    let (ns1, ns2) = two_knots("api 10 A 192.0.2.1");
    let (_d, good) = temp_file(
        "resolvers.csv",
        &format!(
            "# our nameservers\nname,address\nprimary,{}\n\nsecondary,{}\n",
            ns1.addr(),
            ns2.addr()
        ),
    );
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--once",
            "--servers-file",
        ])
        .arg(&good)
        .run();
    ran.assert_code(0);
    let doc = ran.json();
    assert_eq!(server(&doc, "primary")["address"], ns1.addr());
    assert_eq!(server(&doc, "secondary")["matched"], true);

    let (_d2, bad) = temp_file(
        "bad.csv",
        &format!(
            "name,address\nprimary,{}\nsecondary {}\n",
            ns1.addr(),
            ns2.addr()
        ),
    );
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--once",
            "--servers-file",
        ])
        .arg(&bad)
        .run();
    ran.assert_code(64);
    assert!(
        ran.stdout.is_empty(),
        "usage errors print nothing on stdout"
    );
    assert!(
        ran.stderr.contains(&format!("{}:3", bad.display())),
        "names file and line: {}",
        ran.stderr
    );

    // The environment variable reads the same file.
    dns_watch()
        .args(["api.example.test", "-e", "192.0.2.1", "--once"])
        .env("DNS_WATCH_SERVERS_FILE", &good)
        .run()
        .assert_code(0);
}
