//! `probe run`: examples/preflight.toml against real servers, and config
//! errors that must stop before any work (exit 64, naming file and line).

use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::pki::Pki;
use testkit::postgres::APP_PASSWORD;
use testkit::smtpd::MailServer;
use testkit::{Nginx, Postgres, Prometheus, Redis, SlowHttp};

use crate::{probe, tool_time};

const KEY: &str = "preflight-key-3f9d";

fn preflight() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/preflight.toml")
}

/// The runbook's six T-1 hour checks, all passing; then Redis goes down
/// and the same file fails naming it, and only it.
#[test]
fn preflight_passes_against_real_servers_and_names_the_one_down() {
    let api = Nginx::health(KEY);
    let pg = Postgres::start();
    let mut redis = Redis::start();
    let app = Nginx::start(
        "location = /metrics { default_type text/plain; return 200 'app_ready 1\\n'; }",
    );
    let target = format!("127.0.0.1:{}", app.port);
    let mut prom = Prometheus::builder()
        .scrape("app", &[target.as_str()])
        .start();
    prom.wait_for("up", Duration::from_secs(30), |b| b.contains("\"value\""));
    let backups = testkit::temp_dir("probe-backups");
    crate::file::write_gzip(&backups.path().join("minimarket_20261127.sql.gz"), 50_000);
    let mail = MailServer::start();

    let redis_url = redis.url();
    let run = |extra: &[&str]| {
        probe()
            .args(["run", preflight().to_str().unwrap()])
            .args(extra)
            .env("API_URL", api.url("/health"))
            .env("API_KEY", KEY)
            .env("PG_DSN", pg.dsn())
            .env("REDIS_URL", &redis_url)
            .env("PROMETHEUS_URL", prom.url())
            .env("SMTP_ADDRESS", format!("localhost:{}", mail.starttls))
            .env("TLS_CA", mail.pki.ca())
            .env(
                "BACKUP_GLOB",
                backups
                    .path()
                    .join("minimarket_*.sql.gz")
                    .display()
                    .to_string(),
            )
            .run()
    };
    let r = run(&[]);
    r.assert_code(0);
    r.assert_absent(KEY);
    r.assert_absent(APP_PASSWORD);
    let doc = r.assert_envelope("probe");
    let names: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["api", "postgres", "redis", "prometheus", "smtp", "backup"]
    );
    for c in doc["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "{c}");
    }
    assert_eq!(doc["counts"]["ok"], 6);
    assert!(doc["file"].as_str().unwrap().ends_with("preflight.toml"));

    let r = run(&["--format", "text"]);
    r.assert_code(0);
    assert!(r.stdout.contains("OK: 6 checks passed"), "{}", r.stdout);

    redis.stop();
    let r = run(&["--interval", "100ms"]);
    r.assert_code(2);
    r.assert_absent(KEY);
    let doc = r.assert_envelope("probe");
    assert_eq!(doc["failing"], serde_json::json!(["redis"]));
    assert_eq!(doc["counts"]["ok"], 5);
    let redis_check = &doc["checks"][2];
    assert_eq!(redis_check["status"], "critical");
    assert_eq!(
        redis_check["attempts"], 2,
        "the file's retries = 1: {redis_check}"
    );
    let r = run(&["--format", "text", "--retries", "0"]);
    r.assert_code(2);
    assert!(
        r.stdout.contains("CRITICAL: 1 of 6 checks not OK (redis)"),
        "{}",
        r.stdout
    );
}

/// Done means for production connections: the same preflight file,
/// unchanged, against a stack where every connection needs TLS or a login —
/// an https API with a key, PostgreSQL under verify-full, Redis over TLS as
/// an ACL user, Prometheus behind TLS and basic auth, SMTP with STARTTLS
/// and AUTH — and not one secret printed.
#[test]
fn preflight_passes_unchanged_where_every_connection_needs_tls_or_a_login() {
    use testkit::prometheus::{SECURE_PASSWORD, SECURE_USER};
    use testkit::smtpd::{PASSWORD as SMTP_PASSWORD, USER as SMTP_USER};
    let pki = Pki::new();
    let leaf = pki.localhost();
    let api = Nginx::health_tls(KEY, &leaf);
    let pg = Postgres::start_tls(&leaf);
    let redis_pw = "redis-acl-pw-0c1d";
    let redis = Redis::builder()
        .tls(&leaf)
        .acl_user("app", redis_pw)
        .start();
    let app = Nginx::start(
        "location = /metrics { default_type text/plain; return 200 'app_ready 1\\n'; }",
    );
    let target = format!("127.0.0.1:{}", app.port);
    let mut prom = Prometheus::builder()
        .scrape("app", &[target.as_str()])
        .secure(&leaf)
        .start();
    prom.wait_for("up", Duration::from_secs(30), |b| b.contains("\"value\""));
    let mail = MailServer::start();
    let backups = testkit::temp_dir("probe-backups");
    crate::file::write_gzip(&backups.path().join("minimarket_20261127.sql.gz"), 50_000);

    // One CA for all but the mail server, whose own CA the file cannot name
    // separately: it is trusted through the system bundle's variable.
    let bundle = backups.path().join("cas.pem");
    let cas = format!(
        "{}{}",
        std::fs::read_to_string(pki.ca()).unwrap(),
        std::fs::read_to_string(mail.pki.ca()).unwrap()
    );
    testkit::write(&bundle, &cas);
    let ca = bundle.display().to_string();
    let r = probe()
        .args(["run", preflight().to_str().unwrap(), "--format", "json"])
        .env("TLS_CA", &ca)
        .env("API_URL", format!("https://localhost:{}/health", api.port))
        .env("API_KEY", KEY)
        .env(
            "PG_DSN",
            format!(
                "postgres://appuser:{APP_PASSWORD}@localhost:{}/minimarket?sslmode=verify-full&sslrootcert={ca}",
                pg.port
            ),
        )
        .env(
            "REDIS_URL",
            redis.user_url("localhost", "app", redis_pw),
        )
        .env("PROMETHEUS_URL", prom.url())
        .env("PROMETHEUS_USER", SECURE_USER)
        .env("PROMETHEUS_PASSWORD", SECURE_PASSWORD)
        .env("SMTP_ADDRESS", format!("localhost:{}", mail.starttls))
        .env("PROBE_SMTP_USER", SMTP_USER)
        .env("PROBE_SMTP_PASSWORD", SMTP_PASSWORD)
        .env(
            "BACKUP_GLOB",
            backups.path().join("minimarket_*.sql.gz").display().to_string(),
        )
        .run();
    for secret in [KEY, APP_PASSWORD, redis_pw, SECURE_PASSWORD, SMTP_PASSWORD] {
        r.assert_absent(secret);
    }
    let doc = r.assert_envelope("probe");
    for c in doc["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "{c}");
    }
    r.assert_code(0);
    let by = |n: &str| {
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by("postgres")["tls_verified"], "chain and host name");
    assert_eq!(by("redis")["tls"], true);
    assert_eq!(by("prometheus")["insecure"], false);
    assert_eq!(by("smtp")["auth"], "PLAIN");
}

fn write_config(text: &str) -> (tempfile::TempDir, String) {
    let dir = testkit::temp_dir("probe-run");
    let path = dir.path().join("checks.toml");
    testkit::write(&path, text);
    let p = path.display().to_string();
    (dir, p)
}

#[test]
fn config_errors_exit_64_naming_file_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        // invalid TOML
        (
            "[[check]]\nname = \"api\"\ntype = \"http\nurl = \"http://x/\"\n",
            ":3:",
            "",
        ),
        // unknown key
        (
            "[[check]]\nname = \"api\"\ntype = \"http\"\nurl = \"http://x/\"\ntimout = \"5s\"\n",
            ":5:",
            "timout",
        ),
        // unknown type
        ("[[check]]\nname = \"api\"\ntype = \"ftp\"\n", ":3:", "ftp"),
        // key of another type
        (
            "[[check]]\nname = \"db\"\ntype = \"postgres\"\ndsn = \"postgres://u@h/d\"\n\n[[check]]\nname = \"c\"\ntype = \"redis\"\nurl = \"redis://h\"\ngzip = true\n",
            ":10",
            "gzip",
        ),
        // missing target
        (
            "[[check]]\nname = \"c\"\ntype = \"redis\"\n",
            ":1",
            "needs `url`",
        ),
        // a duration without unit
        (
            "[defaults]\ntimeout = \"5\"\n[[check]]\nname = \"c\"\ntype = \"tcp\"\naddress = \"h:1\"\n",
            ":2:",
            "5s",
        ),
        // duplicate names
        (
            "[[check]]\nname = \"c\"\ntype = \"tcp\"\naddress = \"h:1\"\n[[check]]\nname = \"c\"\ntype = \"tcp\"\naddress = \"h:2\"\n",
            ":6",
            "twice",
        ),
        // an unset variable
        (
            "[[check]]\nname = \"c\"\ntype = \"redis\"\nurl = \"${PROBE_TEST_UNSET_URL}\"\n",
            ":4",
            "PROBE_TEST_UNSET_URL",
        ),
        // a bad value
        (
            "[[check]]\nname = \"c\"\ntype = \"http\"\nurl = \"http://x/\"\nexpect_status = \"abc\"\n",
            ":5",
            "abc",
        ),
        // nothing to run
        ("# nothing\n", "", "no [[check]]"),
    ];
    for (text, line, word) in cases {
        let (_dir, path) = write_config(text);
        let r = probe().args(["run", &path]).run();
        assert_eq!(r.code, 64, "{text}\n{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        assert!(
            r.stderr.contains(&format!("{path}{line}")),
            "{text}\nwant {path}{line}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(word), "{text}\nwant {word}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    let r = probe().args(["run", "/nonexistent/checks.toml"]).run();
    r.assert_code(64);
    assert!(
        r.stderr.contains("/nonexistent/checks.toml"),
        "{}",
        r.stderr
    );
}

#[test]
fn many_checks_share_the_pool_and_report_in_file_order() {
    // Forty checks of an endpoint that takes 200 ms each, eight at a time.
    let (n, at_once, delay) = (40u32, 8u32, Duration::from_millis(200));
    let slow = SlowHttp::start(delay);
    let mut text = String::from("[defaults]\ntimeout = \"5s\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "[[check]]\nname = \"ep{i:02}\"\ntype = \"http\"\nurl = \"{}/health?n={i}\"\n",
            slow.url()
        ));
    }
    text.push_str("[[check]]\nname = \"closed\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\n");
    let (_dir, path) = write_config(&text);
    let r = probe()
        .args(["run", &path, "--concurrency", &at_once.to_string()])
        .args(["--format", "ndjson"])
        .run();
    r.assert_code(2);
    let lines = r.ndjson();
    let summary = lines.last().unwrap();
    assert_eq!(summary["counts"]["total"], 41);
    assert_eq!(summary["counts"]["ok"], 40);
    assert_eq!(summary["failing"], serde_json::json!(["closed"]));
    assert_eq!(summary["checks"][0]["name"], "ep00");
    assert_eq!(summary["checks"][40]["name"], "closed");
    let events = lines.iter().filter(|l| l["event"] == "attempt").count();
    assert_eq!(events, 41);
    // Concurrency, by probe's own clock: one after another they would take
    // n × 200 ms = 8 s; eight at a time, five waves of 200 ms. Well under a
    // quarter of 8 s, and no less than the five waves (never more than eight
    // at once).
    let took = tool_time(summary);
    assert!(
        took < delay * n / 4,
        "{n} checks of {delay:?}, {at_once} at a time, took {took:?}: not concurrent"
    );
    assert!(
        took >= delay * (n / at_once),
        "{n} checks of {delay:?} took {took:?}: more than {at_once} at once"
    );

    // --only runs a subset; an unknown name is a usage error.
    let r = probe()
        .args(["run", &path, "--only", "ep03", "--only", "ep07"])
        .run();
    r.assert_code(0);
    assert_eq!(r.json()["counts"]["total"], 2);
    probe()
        .args(["run", &path, "--only", "nope"])
        .run()
        .assert_code(64);
}
