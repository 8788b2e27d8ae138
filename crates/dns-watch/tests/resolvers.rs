//! Caching resolvers (Unbound in front of Knot): the old answer lives until
//! its TTL runs out, `eta_s` says how long, the TTL counts down, the watch
//! finishes when the cache expires; negative caching of an early NXDOMAIN.

mod common;

use std::time::{Duration, Instant};

use common::{dns_watch, server};
use testkit::knot::Knot;
use testkit::unbound::Unbound;

#[test]
fn cache_serves_the_old_answer_until_its_ttl_runs_out_and_eta_says_when() {
    let knot = Knot::builder()
        .zone("example.test", "api 6 A 192.0.2.1")
        .start();
    let unbound = Unbound::builder()
        .stub("example.test", &knot.addr())
        .start();

    // Someone asks before the change: the resolver caches the old answer for 6 s.
    let primed = Instant::now();
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.1",
            "--once",
            "--server",
            &unbound.addr(),
        ])
        .run();
    ran.assert_code(0);
    assert_eq!(server(&ran.json(), &unbound.addr())["ttl_s"], 6);

    knot.set("example.test", "api", 6, "A", &["192.0.2.2"]);
    std::thread::sleep(Duration::from_millis(1200));

    // The authoritative has the change; the cache does not.
    let ran = dns_watch()
        .args(["api.example.test", "-e", "192.0.2.2", "--once"])
        .args(["--server", &unbound.addr(), "--server", &knot.addr()])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("dns-watch");
    let cache = server(&doc, &unbound.addr());
    assert_eq!(
        cache["answers"],
        serde_json::json!(["192.0.2.1"]),
        "old answer from the cache"
    );
    assert_eq!(cache["authoritative_answer"], false);
    let ttl = cache["ttl_s"].as_u64().unwrap();
    assert!(ttl < 6, "the cached TTL counts down: {ttl}");
    assert_eq!(server(&doc, &knot.addr())["matched"], true);
    let eta = doc["eta_s"]
        .as_f64()
        .expect("eta_s from the stale cache's TTL");
    let expected = 6.0 - primed.elapsed().as_secs_f64();
    assert!(
        (eta - expected).abs() <= 2.0,
        "eta_s {eta} vs {expected:.1} left in the cache"
    );
    assert_eq!(doc["lagging"], serde_json::json!([unbound.addr()]));

    // Watch: rounds show the TTL counting down, and it ends when the cache expires.
    let started = Instant::now();
    let ran = dns_watch()
        .args([
            "api.example.test",
            "-e",
            "192.0.2.2",
            "--server",
            &unbound.addr(),
        ])
        .args([
            "--interval",
            "500ms",
            "--timeout",
            "20s",
            "--format",
            "ndjson",
        ])
        .run();
    ran.assert_code(0);
    let lines = ran.ndjson();
    let ttls: Vec<u64> = lines
        .iter()
        .filter(|l| l["event"] == "round")
        .filter_map(|l| {
            let s = &l["servers"][0];
            (s["matched"] == false)
                .then(|| s["ttl_s"].as_u64())
                .flatten()
        })
        .collect();
    assert!(
        ttls.len() >= 2,
        "several rounds while the cache was stale: {}",
        ran.stdout
    );
    assert!(
        ttls.windows(2).all(|w| w[1] <= w[0]),
        "TTL counts down: {ttls:?}"
    );
    assert!(ttls.first() > ttls.last(), "TTL counts down: {ttls:?}");
    let took = started.elapsed().as_secs_f64();
    assert!(
        (took - ttls[0] as f64).abs() <= 2.0,
        "finished {took:.1}s after start, first TTL seen {}",
        ttls[0]
    );
    assert_eq!(lines.last().unwrap()["status"], "ok");
}

#[test]
fn early_nxdomain_warns_about_negative_caching_and_eta_covers_it() {
    let knot = Knot::builder()
        .soa_minimum(4)
        .zone("example.test", "api 10 A 192.0.2.1")
        .start();
    let unbound = Unbound::builder()
        .stub("example.test", &knot.addr())
        .start();

    // Checked before the record exists: the resolver now caches NXDOMAIN
    // (for 4 s from some instant after this one).
    let cached = Instant::now();
    let ran = dns_watch()
        .args([
            "new.example.test",
            "-e",
            "192.0.2.9",
            "--once",
            "--server",
            &unbound.addr(),
        ])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("dns-watch");
    let s = server(&doc, &unbound.addr());
    assert_eq!(s["rcode"], "NXDOMAIN");
    assert_eq!(s["status"], "critical");
    assert_eq!(s["negative_ttl_s"], 4);
    assert_eq!(doc["negative_caching"]["rcode"], "NXDOMAIN");
    assert_eq!(doc["negative_caching"]["negative_ttl_s"], 4);
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 1);
    assert!(
        ran.stderr.contains("NXDOMAIN") && ran.stderr.contains("negative TTL"),
        "stderr warns: {}",
        ran.stderr
    );

    // The record appears; the cache still says NXDOMAIN until the negative TTL runs out.
    knot.set("example.test", "new", 10, "A", &["192.0.2.9"]);
    let ran = dns_watch()
        .args([
            "new.example.test",
            "-e",
            "192.0.2.9",
            "--once",
            "--server",
            &unbound.addr(),
        ])
        .run();
    ran.assert_code(2);
    let doc = ran.json();
    assert_eq!(server(&doc, &unbound.addr())["rcode"], "NXDOMAIN");
    // eta_s is what is left of the negative TTL: at most the 4 s cached, and
    // no less than 4 s minus the time since before the NXDOMAIN was cached
    // (less one for Unbound's whole-second clock): normally 3 or 4.
    let since = cached.elapsed().as_secs_f64();
    let eta = doc["eta_s"]
        .as_u64()
        .unwrap_or_else(|| panic!("eta_s from the negative TTL: {doc}"));
    assert!(eta <= 4, "eta from the negative TTL: {eta}");
    assert!(
        eta as f64 >= 4.0 - since - 1.0,
        "eta_s {eta}: the negative TTL of 4 s was cached {since:.1}s ago"
    );

    let ran = dns_watch()
        .args([
            "new.example.test",
            "-e",
            "192.0.2.9",
            "--server",
            &unbound.addr(),
            "--interval",
            "500ms",
            "--timeout",
            "15s",
        ])
        .run();
    ran.assert_code(0);
    assert!(
        ran.elapsed < Duration::from_secs(7),
        "done once the negative TTL ran out: {:?}",
        ran.elapsed
    );
    assert_eq!(ran.json()["eta_s"], 0);
}
