//! `probe postgres` over TLS with libpq's sslmodes, against PostgreSQL with
//! `ssl = on` (a certificate from a CA made in the test) and without, and
//! through Debian's pgbouncer in session and transaction pooling.

use std::time::Duration;

use testkit::Postgres;
use testkit::pgbouncer::Pgbouncer;
use testkit::pki::Pki;
use testkit::postgres::APP_PASSWORD;

use crate::{assert_honoured, check, probe};

fn dsn(host: &str, port: u16, params: &str) -> String {
    format!("postgres://appuser:{APP_PASSWORD}@{host}:{port}/minimarket{params}")
}

/// A home without ~/.postgresql/root.crt, so libpq's default root never applies.
fn no_home() -> tempfile::TempDir {
    testkit::temp_dir("pg-home")
}

#[test]
fn each_sslmode_against_a_tls_server() {
    let pki = Pki::new();
    // For the name `localhost` only: 127.0.0.1 is the wrong host name.
    let leaf = pki.leaf("db", 90, "DNS:localhost");
    let pg = Postgres::start_tls(&leaf);
    let home = no_home();
    let ca = pki.ca();
    let run = |dsn: &str| {
        let r = probe()
            .args(["postgres", dsn])
            .env("HOME", home.path())
            .run();
        r.assert_absent(APP_PASSWORD);
        r
    };

    // disable: plaintext, and the report says so.
    let r = run(&dsn("127.0.0.1", pg.port, "?sslmode=disable"));
    r.assert_code(0);
    let c = check(&r.json()).clone();
    assert_eq!(c["sslmode"], "disable");
    assert_eq!(c["encrypted"], false);
    assert!(
        c["message"].as_str().unwrap().contains("not encrypted"),
        "{c}"
    );

    // prefer (psql's default) and require: encrypted, nothing verified.
    for params in ["", "?sslmode=prefer", "?sslmode=require"] {
        let r = run(&dsn("127.0.0.1", pg.port, params));
        r.assert_code(0);
        let c = check(&r.json()).clone();
        assert_eq!(c["encrypted"], true, "{params}: {c}");
        assert_eq!(c["tls_verified"], "nothing", "{params}: {c}");
        assert!(
            c["tls_version"].as_str().unwrap().starts_with("TLS 1."),
            "{c}"
        );
        assert!(c["message"].as_str().unwrap().contains("TLS 1."), "{c}");
    }

    // verify-ca: the chain, whatever the name.
    let r = run(&dsn(
        "127.0.0.1",
        pg.port,
        &format!("?sslmode=verify-ca&sslrootcert={ca}"),
    ));
    r.assert_code(0);
    let c = check(&r.json()).clone();
    assert_eq!(c["tls_verified"], "chain", "{c}");
    assert_eq!(c["sslrootcert"], ca.as_str());

    // verify-full: the chain and the name; the wrong name is refused before login.
    let r = run(&dsn(
        "localhost",
        pg.port,
        &format!("?sslmode=verify-full&sslrootcert={ca}"),
    ));
    r.assert_code(0);
    assert_eq!(check(&r.json())["tls_verified"], "chain and host name");
    let r = run(&dsn(
        "127.0.0.1",
        pg.port,
        &format!("?sslmode=verify-full&sslrootcert={ca}"),
    ));
    r.assert_code(2);
    let c = check(&r.json()).clone();
    assert_eq!(c["error"], "tls", "{c}");
    let msg = c["message"].as_str().unwrap();
    assert!(msg.contains("not valid for name \"127.0.0.1\""), "{msg}");
    assert!(msg.contains("sslmode=verify-full"), "{msg}");

    // A CA that did not sign the server's certificate.
    let other = Pki::new();
    for mode in ["verify-ca", "verify-full", "require"] {
        let r = run(&dsn(
            "localhost",
            pg.port,
            &format!("?sslmode={mode}&sslrootcert={}", other.ca()),
        ));
        r.assert_code(2);
        let c = check(&r.json()).clone();
        assert_eq!(c["error"], "tls", "{mode}: {c}");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("invalid peer certificate"),
            "{c}"
        );
    }

    // key=value DSN with PGSSLMODE and PGSSLROOTCERT from the environment.
    let kv = format!(
        "host=localhost port={} user=appuser password={APP_PASSWORD} dbname=minimarket",
        pg.port
    );
    let r = probe()
        .args(["postgres", &kv])
        .env("HOME", home.path())
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", &ca)
        .run();
    r.assert_code(0);
    r.assert_absent(APP_PASSWORD);
    assert_eq!(check(&r.json())["tls_verified"], "chain and host name");

    // verify modes need a root certificate: a usage error, before connecting.
    let r = run(&dsn("localhost", pg.port, "?sslmode=verify-full"));
    r.assert_code(64);
    assert!(r.stderr.contains("sslrootcert"), "{}", r.stderr);
    let r = run(&dsn("localhost", pg.port, "?sslmode=sometimes"));
    r.assert_code(64);
}

#[test]
fn require_fails_and_prefer_falls_back_against_a_plaintext_server() {
    let pg = Postgres::start();
    let r = probe()
        .args(["postgres", &dsn("127.0.0.1", pg.port, "?sslmode=require")])
        .run();
    r.assert_code(2);
    r.assert_absent(APP_PASSWORD);
    let c = check(&r.json()).clone();
    assert_eq!(c["error"], "tls", "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("does not offer TLS"),
        "{c}"
    );

    let r = probe()
        .args(["postgres", &dsn("127.0.0.1", pg.port, "?sslmode=prefer")])
        .run();
    r.assert_code(0);
    let c = check(&r.json()).clone();
    assert_eq!(c["encrypted"], false);
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("sslmode=prefer: the server offers no TLS"),
        "{c}"
    );
}

#[test]
fn pgbouncer_in_session_and_transaction_pooling() {
    let pg = Postgres::start();
    for mode in ["session", "transaction"] {
        let pgb = Pgbouncer::start(&pg, mode);
        let r = probe()
            .args(["postgres", &pgb.dsn(), "--max-connections-used", "90%"])
            .run();
        r.assert_code(0);
        r.assert_absent(APP_PASSWORD);
        let c = check(&r.json()).clone();
        assert_eq!(c["value"], "1", "{mode}: {c}\n{}", pgb.log());
        // The real server's figures, read through the pooler.
        assert_eq!(c["connections_max"], 20, "{mode}: {c}");

        // The statement timeout reaches the server through the pooler.
        let limit = Duration::from_secs(1);
        let r = probe()
            .args([
                "postgres",
                &pgb.dsn(),
                "--query",
                "SELECT pg_sleep(10)",
                "--timeout",
                "1s",
            ])
            .run();
        r.assert_code(2);
        let doc = assert_honoured(&r, limit);
        assert_eq!(check(&doc)["error"], "timeout", "{mode}: {doc}");

        // And does not outlive the check on the pooled server connection.
        let r = probe()
            .args(["postgres", &pgb.dsn(), "--query", "SELECT pg_sleep(1.5)"])
            .run();
        r.assert_code(0);
    }
}
