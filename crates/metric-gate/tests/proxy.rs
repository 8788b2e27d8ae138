//! Proxies: metric-gate honours http_proxy / https_proxy / all_proxy and
//! no_proxy as curl does, and says so — `"proxy"` in the summary (password
//! masked), "via proxy …" in every error — or goes direct with
//! `--no-proxy` / METRIC_GATE_NO_PROXY. Against a real Prometheus, a port
//! that refuses, and a hand-made forwarding proxy on loopback.

mod common;

use common::*;
use testkit::ConnectProxy;

use testkit::faults::PROXY_VARS;

/// `metric-gate check` of `vector(1)` (critical below 1: passes when seen)
/// with every proxy variable cleared, then `vars`.
fn gate(p: &Prometheus, vars: &[(&str, &str)], extra: &[&str]) -> Ran {
    let mut c = Cli::new(BIN).args([
        "check",
        "--prometheus",
        &p.url(),
        "--query",
        "vector(1)",
        "--critical",
        "< 1",
        "--timeout",
        "5s",
    ]);
    for v in PROXY_VARS {
        c = c.env(v, "");
    }
    for (k, v) in vars {
        c = c.env(k, v);
    }
    c.args(extra).run()
}

/// Guards the defect: HTTP_PROXY pointing at a refusing port used to give
/// "Prometheus at URL: connection refused" — blaming a Prometheus that was
/// up — with no word of a proxy in the report.
#[test]
fn a_refusing_proxy_is_named_and_prometheus_is_not_blamed() {
    let p = Prometheus::start();
    let refusing = format!("http://127.0.0.1:{}", testkit::free_port());
    let r = gate(&p, &[("HTTP_PROXY", &refusing)], &[]);
    r.assert_code(3);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(doc["proxy"], refusing.as_str(), "{doc}");
    let msg = doc["rules"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("connection refused via proxy {refusing}")),
        "{msg}"
    );
    assert!(r.stderr.contains("via proxy"), "{}", r.stderr);

    for (vars, extra) in [
        (vec![("HTTP_PROXY", refusing.as_str())], vec!["--no-proxy"]),
        (
            vec![
                ("HTTP_PROXY", refusing.as_str()),
                ("METRIC_GATE_NO_PROXY", "true"),
            ],
            vec![],
        ),
        (
            vec![("HTTP_PROXY", refusing.as_str()), ("no_proxy", "127.0.0.1")],
            vec![],
        ),
    ] {
        let r = gate(&p, &vars, &extra);
        r.assert_code(0);
        assert!(r.json().get("proxy").is_none(), "{}", r.stdout);
    }
}

#[test]
fn a_forwarding_proxy_carries_every_query_and_shows_with_its_password_masked() {
    let p = Prometheus::start();
    let proxy = ConnectProxy::start();
    let with_pw = format!("http://gate:proxy-pw-5521@{}", proxy.addr());
    let r = gate(&p, &[("http_proxy", &with_pw)], &[]);
    r.assert_code(0);
    r.assert_absent("proxy-pw-5521");
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(
        doc["proxy"],
        format!("http://gate:***@{}", proxy.addr()).as_str(),
        "{doc}"
    );
    assert_eq!(doc["prometheus"], p.url());
    let seen = proxy.requests();
    assert!(!seen.is_empty(), "the query went through the proxy");
    assert!(
        seen.iter().all(
            |h| h.starts_with("CONNECT 127.0.0.1:") && h.contains("Proxy-Authorization: Basic")
        ),
        "{seen:?}"
    );

    // A watch names it in its summary too.
    let mut c = Cli::new(BIN).args([
        "watch",
        "--prometheus",
        &p.url(),
        "--query",
        "vector(1)",
        "--critical",
        "< 1",
        "--interval",
        "1s",
        "--duration",
        "1s",
        "--format",
        "json",
    ]);
    for v in PROXY_VARS {
        c = c.env(v, "");
    }
    let r = c.env("ALL_PROXY", proxy.url()).run();
    r.assert_code(0);
    assert_eq!(r.json()["proxy"], proxy.url().as_str(), "{}", r.stdout);
}

#[test]
fn a_proxy_that_cannot_be_used_is_a_usage_error() {
    let p = Prometheus::start();
    let r = gate(&p, &[("all_proxy", "socks5h://127.0.0.1:1080")], &[]);
    r.assert_code(64);
    assert!(
        r.stderr.contains("all_proxy") && r.stderr.contains("SOCKS"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}
