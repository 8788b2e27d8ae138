//! Secrets are masked where they stand, never by rewriting the finished
//! document: a secret that happens to spell a number, a key, a column or a
//! host leaves the rest of the report exactly as it is.

use testkit::{Nginx, Postgres};

use crate::{check, probe};

fn ok_server() -> Nginx {
    Nginx::start("location / { return 200 \"ok\"; }")
}

#[test]
fn a_header_secret_spelling_a_number_or_a_key_leaves_the_json_intact() {
    let web = ok_server();
    let url = format!("http://127.0.0.1:{}/", web.port);
    for secret in ["200", "status", "checks", "http"] {
        let r = probe()
            .args(["http", &url, "-H", &format!("X-API-Key: {secret}")])
            .run();
        r.assert_code(0);
        let doc = r.assert_envelope("probe");
        assert_eq!(doc["status"], "ok", "secret {secret}: {doc}");
        let c = check(&doc);
        assert_eq!(c["status_code"], 200, "secret {secret}: {c}");
        assert_eq!(c["type"], "http", "secret {secret}: {c}");
        assert_eq!(c["target"], url.as_str(), "secret {secret}: {c}");
        assert!(
            c["message"].as_str().unwrap().contains("200"),
            "secret {secret}: {c}"
        );
    }
}

#[test]
fn a_header_secret_spelling_a_column_leaves_the_text_table_intact() {
    let web = ok_server();
    let url = format!("http://127.0.0.1:{}/", web.port);
    let r = probe()
        .args(["http", &url, "-H", "X-API-Key: http", "--format", "text"])
        .run();
    r.assert_code(0);
    let first = r.stdout.lines().nth(1).unwrap_or_default().to_string();
    let cols: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(cols.first(), Some(&"http"), "{}", r.stdout);
    assert_eq!(cols.get(1), Some(&"http"), "{}", r.stdout);
    assert!(!r.stdout.contains("***"), "{}", r.stdout);
}

#[test]
fn a_dsn_password_spelling_the_user_host_or_database_masks_only_the_password() {
    let pg = Postgres::start();
    for (password, user, db) in [
        ("postgres", "postgres", "postgres"),
        ("127", "appuser", "minimarket"),
    ] {
        let dsn = format!("postgres://{user}:{password}@127.0.0.1:{}/{db}", pg.port);
        let r = probe().args(["postgres", &dsn, "--timeout", "5s"]).run();
        r.assert_code(2); // wrong password: the server refuses the login
        let doc = r.assert_envelope("probe");
        let c = check(&doc);
        let shown = format!("postgres://{user}:***@127.0.0.1:{}/{db}", pg.port);
        assert_eq!(c["type"], "postgres", "{c}");
        assert_eq!(c["name"], "postgres", "{c}");
        assert_eq!(c["target"], shown.as_str(), "{c}");
        assert!(
            !r.stdout.contains(&format!(":{password}@")),
            "the password itself never shows: {}",
            r.stdout
        );
    }
}

#[test]
fn a_host_named_like_a_key_is_a_host() {
    let r = probe()
        .args(["tcp", "keydb.invalid:6379", "--timeout", "2s"])
        .run();
    r.assert_code(2);
    let doc = r.assert_envelope("probe");
    assert_eq!(check(&doc)["target"], "keydb.invalid:6379");
    assert!(!r.all_output().contains("***"), "{}", r.all_output());
}
