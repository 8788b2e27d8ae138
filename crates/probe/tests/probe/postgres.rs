//! `probe postgres` against a real PostgreSQL cluster (max_connections=20).

use std::time::Duration;

use testkit::postgres::APP_PASSWORD;
use testkit::{Postgres, SilentListener};

use crate::{assert_honoured, check, probe};

#[test]
fn login_query_and_pool_figures_and_failures_for_real_reasons() {
    let pg = Postgres::start();

    let r = probe().args(["postgres", &pg.dsn()]).run();
    r.assert_code(0);
    r.assert_absent(APP_PASSWORD);
    let doc = r.assert_envelope("probe");
    let c = check(&doc);
    assert_eq!(c["value"], "1");
    assert_eq!(c["rows"], 1);
    assert_eq!(c["connections_max"], 20);
    let used = c["connections_used"].as_i64().unwrap();
    assert!((1..20).contains(&used), "{c}");
    assert!(c["connections_used_pct"].as_f64().unwrap() >= 5.0, "{c}");
    assert!(
        c["server_version"]
            .as_str()
            .unwrap()
            .chars()
            .next()
            .unwrap()
            .is_ascii_digit()
    );
    assert!(c["query_ms"].is_number() && c["connect_ms"].is_number());
    assert!(c["dsn"].as_str().unwrap().contains("appuser:***@"), "{c}");

    // key=value DSN, another query.
    let r = probe()
        .args([
            "postgres",
            &pg.keyvalue_dsn(),
            "--query",
            "SELECT current_database()",
        ])
        .run();
    r.assert_code(0);
    r.assert_absent(APP_PASSWORD);
    assert_eq!(check(&r.json())["value"], "minimarket");

    // The pool: 1 of 20 connections is 5%, over a 1% limit (CRITICAL), over
    // a 1% warning but under 90% (WARNING).
    let r = probe()
        .args(["postgres", &pg.dsn(), "--max-connections-used", "1%"])
        .run();
    r.assert_code(2);
    assert!(
        check(&r.json())["message"]
            .as_str()
            .unwrap()
            .contains("over 1%"),
        "{}",
        r.stdout
    );
    probe()
        .args([
            "postgres",
            &pg.dsn(),
            "--warn-connections-used",
            "1",
            "--max-connections-used",
            "90%",
        ])
        .run()
        .assert_code(1);

    // A failing query is CRITICAL and says why.
    let r = probe()
        .args([
            "postgres",
            &pg.dsn(),
            "--query",
            "SELECT * FROM no_such_table",
        ])
        .run();
    r.assert_code(2);
    assert!(
        check(&r.json())["message"]
            .as_str()
            .unwrap()
            .contains("no_such_table")
    );

    // PGPASSWORD fills a DSN without a password, and never shows.
    let no_pw = format!("postgres://appuser@127.0.0.1:{}/minimarket", pg.port);
    let r = probe()
        .args(["postgres", &no_pw])
        .env("PGPASSWORD", APP_PASSWORD)
        .run();
    r.assert_code(0);
    r.assert_absent(APP_PASSWORD);
}

/// Guards the contract's redaction: a wrong password is refused (exit 2)
/// and neither it nor the real one appears anywhere, even with -v.
#[test]
fn wrong_password_is_critical_and_never_printed() {
    let pg = Postgres::start();
    let wrong = "wrong-pw-71d0c3";
    for format in ["json", "text", "ndjson", "prom"] {
        let r = probe()
            .args([
                "postgres",
                &pg.dsn_with_password(wrong),
                "-vv",
                "--format",
                format,
            ])
            .run();
        r.assert_code(2);
        r.assert_absent(wrong);
        r.assert_absent(APP_PASSWORD);
        if format == "json" {
            let c = check(&r.json()).clone();
            assert_eq!(c["error"], "auth");
            assert!(
                c["message"]
                    .as_str()
                    .unwrap()
                    .contains("password authentication failed"),
                "{c}"
            );
        }
    }
    // Through the environment, key=value form.
    let kv = format!(
        "host=127.0.0.1 port={} user=appuser password={wrong} dbname=minimarket",
        pg.port
    );
    let r = probe().arg("postgres").env("PROBE_POSTGRES_DSN", &kv).run();
    r.assert_code(2);
    r.assert_absent(wrong);
}

#[test]
fn stopped_and_silent_servers_fail_within_the_timeout() {
    let mut pg = Postgres::start();
    let dsn = pg.dsn();
    pg.stop();
    let r = probe().args(["postgres", &dsn]).run();
    r.assert_code(2);
    assert_eq!(check(&r.json())["error"], "connection_refused");
    r.assert_absent(APP_PASSWORD);

    let silent = SilentListener::start();
    let dsn = format!(
        "postgres://appuser:{APP_PASSWORD}@{}/minimarket",
        silent.addr()
    );
    let timeout = Duration::from_secs(1);
    let r = probe().args(["postgres", &dsn, "--timeout", "1s"]).run();
    r.assert_code(2);
    let doc = assert_honoured(&r, timeout);
    assert_eq!(check(&doc)["error"], "timeout");
    r.assert_absent(APP_PASSWORD);
}
