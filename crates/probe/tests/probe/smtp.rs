//! `probe smtp` against real SMTP servers: aiosmtpd (Debian's
//! `python3-aiosmtpd`) for STARTTLS and SMTPS with a certificate from a CA
//! made in the test, AUTH and an expired certificate; OpenSMTPD (Debian's
//! `opensmtpd`) for a plain session, a server that offers no STARTTLS when
//! it is required, and one whose TLS is broken.

use testkit::smtpd::{MailServer, PASSWORD, Smtpd, USER};

use crate::{check, probe};

fn addr(port: u16) -> String {
    format!("localhost:{port}")
}

#[test]
fn starttls_smtps_auth_and_their_failures() {
    let smtpd = MailServer::start();
    let ca = smtpd.pki.ca();
    let auth = [("PROBE_SMTP_USER", USER), ("PROBE_SMTP_PASSWORD", PASSWORD)];
    let smtp = |port: u16, extra: &[&str], env: &[(&str, &str)]| {
        let mut c = probe().args(["smtp", &addr(port), "--ca", &ca]).args(extra);
        for (k, v) in env {
            c = c.env(k, v);
        }
        let r = c.run();
        r.assert_absent(PASSWORD);
        r
    };

    // STARTTLS: greeting, EHLO, a verified certificate, then AUTH.
    let r = smtp(smtpd.starttls, &["--starttls"], &auth);
    r.assert_code(0);
    let c = check(&r.assert_envelope("probe")).clone();
    assert_eq!(c["type"], "smtp");
    assert_eq!(c["tls"], "starttls", "{c}");
    assert_eq!(c["verified"], true, "{c}");
    assert_eq!(c["auth"], "PLAIN", "{c}");
    assert!(c["banner"].as_str().unwrap().contains("ESMTP"), "{c}");
    assert!(c["days_left"].as_i64().unwrap() >= 89, "{c}");
    let msg = c["message"].as_str().unwrap();
    assert!(msg.contains("STARTTLS: TLS 1."), "{msg}");
    assert!(msg.contains("AUTH PLAIN accepted"), "{msg}");

    // SMTPS, and the days thresholds.
    let r = smtp(smtpd.smtps, &["--tls", "--warn-days", "120"], &[]);
    r.assert_code(1);
    let c = check(&r.json()).clone();
    assert_eq!(c["tls"], "implicit", "{c}");
    assert!(c["message"].as_str().unwrap().contains("under 120"), "{c}");

    // A wrong password: refused, CRITICAL, and never printed.
    let wrong = "wrong-smtp-pw-3f9a";
    let r = smtp(
        smtpd.starttls,
        &["--starttls", "-v"],
        &[("PROBE_SMTP_USER", USER), ("PROBE_SMTP_PASSWORD", wrong)],
    );
    r.assert_absent(wrong);
    r.assert_code(2);
    let c = check(&r.json()).clone();
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("login refused: AUTH PLAIN answered 535"),
        "{c}"
    );

    // The certificate not trusted (system roots): CRITICAL, and no AUTH sent.
    let r = probe()
        .args(["smtp", &addr(smtpd.starttls), "--starttls"])
        .env("PROBE_SMTP_USER", USER)
        .env("PROBE_SMTP_PASSWORD", PASSWORD)
        .run();
    r.assert_absent(PASSWORD);
    r.assert_code(2);
    let c = check(&r.json()).clone();
    assert_eq!(c["verified"], false, "{c}");
    assert!(
        c["message"].as_str().unwrap().contains("AUTH not tried"),
        "{c}"
    );

    // An expired certificate.
    let r = smtp(smtpd.expired, &["--starttls"], &[]);
    r.assert_code(2);
    let c = check(&r.json()).clone();
    assert!(
        c["message"].as_str().unwrap().contains("expired 1 day ago"),
        "{c}"
    );
    assert!(c["days_left"].as_i64().unwrap() < 0, "{c}");

    // In a run file, with the other checks' timing and formats.
    let dir = testkit::temp_dir("smtp-run");
    let file = dir.path().join("checks.toml");
    testkit::write(
        &file,
        &format!(
            "[[check]]\nname = \"mail\"\ntype = \"smtp\"\naddress = \"{}\"\ntls = \"starttls\"\nca = \"{ca}\"\n\n[[check]]\nname = \"mail-tls\"\ntype = \"smtp\"\naddress = \"{}\"\ntls = \"implicit\"\nca = \"{ca}\"\n",
            addr(smtpd.starttls),
            addr(smtpd.smtps)
        ),
    );
    let r = probe()
        .args(["run", file.to_str().unwrap(), "--format", "prom"])
        .run();
    r.assert_code(0);
    assert!(
        r.stdout
            .contains("probe_ssl_earliest_cert_expiry{check=\"mail\"}"),
        "{}",
        r.stdout
    );
    // A bad tls mode is a usage error naming the line.
    testkit::write(
        &file,
        &format!(
            "[[check]]\nname = \"mail\"\ntype = \"smtp\"\naddress = \"{}\"\ntls = \"sometimes\"\n",
            addr(smtpd.starttls)
        ),
    );
    let r = probe().args(["run", file.to_str().unwrap()]).run();
    r.assert_code(64);
    assert!(r.stderr.contains(":5"), "{}", r.stderr);
}

#[test]
fn opensmtpd_plain_sessions_missing_and_broken_starttls() {
    let smtpd = Smtpd::start();
    let pki = testkit::pki::Pki::new();
    let ca = pki.ca();
    let auth = [("PROBE_SMTP_USER", USER), ("PROBE_SMTP_PASSWORD", PASSWORD)];
    let smtp = |port: u16, extra: &[&str], env: &[(&str, &str)]| {
        let mut c = probe()
            .args(["smtp", &format!("127.0.0.1:{port}"), "--ca", &ca])
            .args(extra);
        for (k, v) in env {
            c = c.env(k, v);
        }
        let r = c.run();
        r.assert_absent(PASSWORD);
        r
    };
    // No STARTTLS offered when it is required.
    let r = smtp(smtpd.plain, &["--starttls"], &[]);
    r.assert_code(2);
    let c = check(&r.json()).clone();
    assert_eq!(c["error"], "no_starttls", "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("does not offer STARTTLS"),
        "{c}"
    );

    // Without --starttls: a plain session that says what is offered; AUTH
    // is never sent in the clear.
    let r = smtp(smtpd.starttls, &[], &[]);
    r.assert_code(0);
    let c = check(&r.json()).clone();
    assert_eq!(c["starttls_offered"], true, "{c}");
    assert!(c["banner"].as_str().unwrap().contains("OpenSMTPD"), "{c}");
    assert_eq!(c["tls"], "none");
    let r = smtp(smtpd.plain, &[], &auth);
    r.assert_code(2);
    assert!(
        check(&r.json())["message"]
            .as_str()
            .unwrap()
            .contains("not encrypted"),
        "{}",
        r.stdout
    );

    // OpenSMTPD's own TLS fails (see testkit::smtpd): CRITICAL, and said.
    let r = smtp(smtpd.starttls, &["--starttls"], &auth);
    r.assert_code(2);
    let c = check(&r.json()).clone();
    assert_eq!(c["error"], "handshake", "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("TLS handshake failed"),
        "{c}"
    );
}

#[test]
fn a_silent_smtp_server_fails_within_the_timeout() {
    let silent = testkit::SilentListener::start();
    let r = probe()
        .args(["smtp", &silent.addr().to_string(), "--timeout", "800ms"])
        .run();
    r.assert_code(2);
    let doc = crate::assert_honoured(&r, std::time::Duration::from_millis(800));
    assert_eq!(check(&doc)["error"], "timeout");
}
