//! `probe tls` (and https in `probe http`) against nginx serving
//! certificates made for the test by the openssl CLI (testkit's pki): a private CA, a valid
//! leaf, one expiring in three days and one for another host name.

use std::time::Duration;

use testkit::pki::Pki;
use testkit::{Nginx, SilentListener};

use crate::{assert_honoured, check, probe};

/// A CA and three leaves signed by it: `valid` (90 days, localhost and
/// 127.0.0.1), `soon` (3 days) and `other` (valid, for other.example only).
fn pki() -> Pki {
    let pki = Pki::new();
    pki.leaf("valid", 90, "DNS:localhost,IP:127.0.0.1");
    pki.leaf("soon", 3, "DNS:localhost,IP:127.0.0.1");
    pki.leaf("other", 90, "DNS:other.example");
    pki
}

/// nginx with three TLS servers; returns it and the ports of valid, soon, other.
fn serve(pki: &Pki) -> (Nginx, u16, u16, u16) {
    let (soon, other) = (testkit::free_port(), testkit::free_port());
    let d = pki.dir().to_path_buf();
    let nginx = Nginx::start_http(|port, _| {
        let server = |p: u16, name: &str| {
            format!(
                "server {{ listen 127.0.0.1:{p} ssl; ssl_certificate {cert}; ssl_certificate_key {key}; location / {{ return 200 'secure ok'; }} }}\n",
                cert = d.join(format!("{name}.pem")).display(),
                key = d.join(format!("{name}.key")).display(),
            )
        };
        format!(
            "{}{}{}",
            server(port, "valid"),
            server(soon, "soon"),
            server(other, "other")
        )
    });
    let port = nginx.port;
    (nginx, port, soon, other)
}

#[test]
fn tls_checks_pass_warn_and_fail_for_real_certificates() {
    let pki = pki();
    let (_nginx, valid, soon, other) = serve(&pki);
    let ca = pki.ca();

    // Valid chain and host name: OK, with the leaf described.
    let r = probe()
        .args(["tls", &format!("localhost:{valid}"), "--ca", &ca])
        .run();
    r.assert_code(0);
    let doc = r.assert_envelope("probe");
    let c = check(&doc);
    assert_eq!(c["verified"], true);
    assert_eq!(c["insecure"], false);
    assert!(
        c["tls_version"].as_str().unwrap().starts_with("TLS 1."),
        "{c}"
    );
    let days = c["days_left"].as_i64().unwrap();
    assert!((88..=90).contains(&days), "{c}");
    assert_eq!(c["leaf"]["subject"], "CN=valid.golive.test");
    assert_eq!(c["leaf"]["issuer"], "CN=golive test CA");
    assert_eq!(
        c["leaf"]["sans"],
        serde_json::json!(["localhost", "127.0.0.1"])
    );
    assert!(c["leaf"]["not_after"].as_str().unwrap().ends_with('Z'));
    assert_eq!(c["earliest"]["subject"], "CN=valid.golive.test");

    // An IP address is verified against the IP SAN.
    probe()
        .args(["tls", &format!("127.0.0.1:{valid}"), "--ca", &ca])
        .run()
        .assert_code(0);

    // Not trusted by the system roots: CRITICAL, saying why.
    let r = probe().args(["tls", &format!("localhost:{valid}")]).run();
    r.assert_code(2);
    let c = check(&r.json()).clone();
    assert_eq!(c["verified"], false);
    assert!(
        c["message"].as_str().unwrap().contains("not trusted"),
        "{c}"
    );

    // --insecure: explicit, shown, and the dates still judged.
    let r = probe()
        .args(["tls", &format!("localhost:{valid}"), "--insecure"])
        .run();
    r.assert_code(0);
    let c = check(&r.json()).clone();
    assert_eq!(c["insecure"], true);
    assert_eq!(c["verified"], false);
    assert!(c["message"].as_str().unwrap().contains("--insecure"), "{c}");

    // Expiring in 3 days: CRITICAL under the default 7, WARNING with --crit-days 2.
    let r = probe()
        .args(["tls", &format!("localhost:{soon}"), "--ca", &ca])
        .run();
    r.assert_code(2);
    assert!(
        check(&r.json())["message"]
            .as_str()
            .unwrap()
            .contains("expires in 2 days")
            || check(&r.json())["message"]
                .as_str()
                .unwrap()
                .contains("expires in 3 days"),
        "{}",
        r.stdout
    );
    probe()
        .args([
            "tls",
            &format!("localhost:{soon}"),
            "--ca",
            &ca,
            "--crit-days",
            "2",
        ])
        .run()
        .assert_code(1);

    // Certificate for another name: CRITICAL; with --sni that name, OK.
    let r = probe()
        .args(["tls", &format!("localhost:{other}"), "--ca", &ca])
        .run();
    r.assert_code(2);
    let msg = check(&r.json())["verify_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("not valid for name"), "{msg}");
    probe()
        .args([
            "tls",
            &format!("127.0.0.1:{other}"),
            "--ca",
            &ca,
            "--sni",
            "other.example",
        ])
        .run()
        .assert_code(0);

    // prom: blackbox's name for the earliest expiry.
    let r = probe()
        .args([
            "tls",
            &format!("localhost:{valid}"),
            "--ca",
            &ca,
            "--format",
            "prom",
            "--name",
            "edge",
        ])
        .run();
    r.assert_code(0);
    assert!(
        r.stdout
            .contains("probe_ssl_earliest_cert_expiry{check=\"edge\"} 1"),
        "{}",
        r.stdout
    );
}

#[test]
fn https_requests_verify_against_the_given_ca() {
    let pki = pki();
    let (_nginx, valid, _, other) = serve(&pki);
    let ca = pki.ca();
    let r = probe()
        .args([
            "http",
            &format!("https://localhost:{valid}/"),
            "--ca",
            &ca,
            "--body-contains",
            "secure ok",
        ])
        .run();
    r.assert_code(0);
    let c = check(&r.json()).clone();
    assert_eq!(c["insecure"], false);
    // Untrusted without the CA, host name mismatch with it.
    probe()
        .args(["http", &format!("https://localhost:{valid}/")])
        .run()
        .assert_code(2);
    let r = probe()
        .args(["http", &format!("https://localhost:{other}/"), "--ca", &ca])
        .run();
    r.assert_code(2);
    assert_eq!(check(&r.json())["error"], "tls", "{}", r.stdout);
    // --insecure is explicit and shows.
    let r = probe()
        .args(["http", &format!("https://localhost:{other}/"), "-k"])
        .run();
    r.assert_code(0);
    assert_eq!(check(&r.json())["insecure"], true);
}

#[test]
fn a_silent_tls_server_fails_within_the_timeout() {
    let silent = SilentListener::start();
    let timeout = Duration::from_millis(800);
    let r = probe()
        .args(["tls", &silent.addr().to_string(), "--timeout", "800ms"])
        .run();
    r.assert_code(2);
    let doc = assert_honoured(&r, timeout);
    assert_eq!(check(&doc)["error"], "timeout");
}

#[test]
fn an_expired_certificate_says_how_long_ago_it_expired() {
    let pki = pki();
    let d = pki.dir().to_path_buf();
    // Signed by the test CA, expired one day (and a few seconds) ago.
    pki.resign("valid", -1, "expired");
    let nginx = Nginx::start_http(|port, _| {
        format!(
            "server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {cert}; ssl_certificate_key {key}; location / {{ return 200 'ok'; }} }}\n",
            cert = d.join("expired.pem").display(),
            key = d.join("valid.key").display(),
        )
    });
    for extra in [None, Some("--insecure")] {
        let mut args = vec![
            "tls".to_string(),
            format!("localhost:{}", nginx.port),
            "--ca".into(),
            pki.ca(),
        ];
        args.extend(extra.map(String::from));
        let r = probe().args(&args).run();
        r.assert_code(2);
        let c = check(&r.json()).clone();
        let msg = c["message"].as_str().unwrap();
        // It expired one day ago, not two; and it "expired", not "expires".
        assert!(msg.contains("expired 1 day ago"), "{msg}");
        assert!(!msg.contains("2 days"), "{msg}");
        assert!(!msg.contains("expires"), "{msg}");
        // days_left stays a floor: negative once expired.
        assert!(c["days_left"].as_i64().unwrap() < 0, "{c}");
    }
}

#[test]
fn prometheus_over_https_shows_insecure_when_asked() {
    let pki = pki();
    let d = pki.dir().to_path_buf();
    let answer = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"api","instance":"a:1"},"value":[1,"1"]}]}}"#;
    let nginx = Nginx::start_http(|port, _| {
        format!(
            "server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {cert}; ssl_certificate_key {key}; location / {{ default_type application/json; return 200 '{answer}'; }} }}\n",
            cert = d.join("other.pem").display(),
            key = d.join("other.key").display(),
        )
    });
    let url = format!("https://localhost:{}", nginx.port);
    // Wrong host name: refused without --insecure …
    probe()
        .args(["prometheus", &url, "--ca", &pki.ca()])
        .run()
        .assert_code(2);
    // … and with it the pass says so, as the contract asks.
    let r = probe().args(["prometheus", &url, "--insecure"]).run();
    r.assert_code(0);
    assert_eq!(check(&r.json())["insecure"], true, "{}", r.stdout);
    let r = probe()
        .args(["prometheus", &url.replace("localhost", "127.0.0.1"), "-k"])
        .run();
    assert_eq!(check(&r.json())["insecure"], true, "{}", r.stdout);
}
