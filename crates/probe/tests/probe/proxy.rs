//! Proxies: probe honours http_proxy / https_proxy / all_proxy and no_proxy
//! as curl does, and says so — the report names the proxy (password
//! masked) and every error says "via proxy …" — or goes direct with
//! `--no-proxy`. Against a real refusing port and a hand-made forwarding
//! proxy on loopback.

use testkit::cli::Cli;
use testkit::{ConnectProxy, GarbageHttp, Prometheus};

use crate::{check, probe};

use testkit::faults::PROXY_VARS;

/// probe with every proxy variable cleared (empty is unset), then `vars`.
fn probe_env(vars: &[(&str, &str)]) -> Cli {
    let mut c = probe();
    for v in PROXY_VARS {
        c = c.env(v, "");
    }
    for (k, v) in vars {
        c = c.env(k, v);
    }
    c
}

/// Guards the defect: HTTP_PROXY pointing at a port that refuses used to
/// give "connection refused (127.0.0.1:TARGET)", naming a target that was
/// up, with nothing in the report about a proxy.
#[test]
fn a_refusing_proxy_is_named_and_the_target_is_not_blamed() {
    let target = GarbageHttp::start(200, "text/plain", "ok");
    let refusing = format!("http://127.0.0.1:{}", testkit::free_port());
    let r = probe_env(&[("HTTP_PROXY", &refusing)])
        .args(["http", &target.url()])
        .run();
    r.assert_code(2);
    let doc = r.assert_envelope("probe");
    let c = check(&doc);
    assert_eq!(c["proxy"], refusing.as_str(), "{c}");
    assert_eq!(c["error"], "connection_refused", "{c}");
    let msg = c["message"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!("connection refused via proxy {refusing}")),
        "{msg}"
    );
    assert!(msg.contains(&format!("(for {})", target.addr())), "{msg}");
    assert!(r.stderr.contains("via proxy"), "{}", r.stderr);

    // --no-proxy, PROBE_NO_PROXY and no_proxy each go direct: the target is up.
    for (vars, flag) in [
        (vec![("HTTP_PROXY", refusing.as_str())], Some("--no-proxy")),
        (
            vec![
                ("HTTP_PROXY", refusing.as_str()),
                ("PROBE_NO_PROXY", "true"),
            ],
            None,
        ),
        (
            vec![
                ("HTTP_PROXY", refusing.as_str()),
                ("NO_PROXY", "localhost,127.0.0.1"),
            ],
            None,
        ),
    ] {
        let r = probe_env(&vars)
            .args(["http", &target.url()])
            .args(flag)
            .run();
        r.assert_code(0);
        assert!(check(&r.json()).get("proxy").is_none(), "{}", r.stdout);
    }
}

#[test]
fn a_forwarding_proxy_carries_the_check_and_shows_with_its_password_masked() {
    let target = GarbageHttp::start(200, "application/json", "{\"status\":\"ok\"}");
    let proxy = ConnectProxy::start();
    let with_pw = format!("http://gate:proxy-pw-4412@{}", proxy.addr());
    let r = probe_env(&[("http_proxy", &with_pw)])
        .args([
            "http",
            &target.url(),
            "--json-path",
            "status",
            "--equals",
            "ok",
        ])
        .run();
    r.assert_code(0);
    r.assert_absent("proxy-pw-4412");
    let doc = r.assert_envelope("probe");
    let c = check(&doc);
    assert_eq!(
        c["proxy"],
        format!("http://gate:***@{}", proxy.addr()).as_str(),
        "{c}"
    );
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "one tunnel: {seen:?}");
    assert!(
        seen[0].starts_with(&format!("CONNECT {} ", target.addr())),
        "{seen:?}"
    );
    assert!(seen[0].contains("Proxy-Authorization: Basic"), "{seen:?}");

    // https_proxy is for https URLs only: an http URL goes direct.
    let r = probe_env(&[("https_proxy", &proxy.url())])
        .args(["http", &target.url()])
        .run();
    r.assert_code(0);
    assert!(check(&r.json()).get("proxy").is_none(), "{}", r.stdout);
    assert_eq!(proxy.requests().len(), 1, "no second tunnel");
}

#[test]
fn the_prometheus_check_goes_through_the_proxy_and_names_it_in_errors() {
    let prom = Prometheus::start();
    let proxy = ConnectProxy::start();
    let r = probe_env(&[("ALL_PROXY", &proxy.url())])
        .args(["prometheus", &prom.url(), "--query", "vector(1)"])
        .run();
    r.assert_code(0);
    let c = check(&r.json()).clone();
    assert_eq!(c["proxy"], proxy.url().as_str(), "{c}");
    assert!(!proxy.requests().is_empty());

    let refusing = format!("http://127.0.0.1:{}", testkit::free_port());
    let r = probe_env(&[("http_proxy", &refusing)])
        .args(["prometheus", &prom.url()])
        .run();
    r.assert_code(2);
    let c = check(&r.json()).clone();
    assert_eq!(c["error"], "connection_refused", "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains(&format!("via proxy {refusing}")),
        "{c}"
    );
    probe_env(&[("http_proxy", &refusing)])
        .args([
            "prometheus",
            &prom.url(),
            "--query",
            "vector(1)",
            "--no-proxy",
        ])
        .run()
        .assert_code(0);
}

#[test]
fn a_proxy_that_cannot_be_used_is_a_usage_error_not_skipped() {
    let r = probe_env(&[("ALL_PROXY", "socks5://127.0.0.1:1080")])
        .args(["http", "http://127.0.0.1:1/"])
        .run();
    r.assert_code(64);
    assert!(
        r.stderr.contains("ALL_PROXY") && r.stderr.contains("SOCKS"),
        "{}",
        r.stderr
    );
    // Other checks do not speak HTTP: the variable does not concern them.
    let closed = testkit::free_port();
    probe_env(&[("ALL_PROXY", "socks5://127.0.0.1:1080")])
        .args(["tcp", &format!("127.0.0.1:{closed}")])
        .run()
        .assert_code(2);
}
