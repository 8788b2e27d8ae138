//! Prometheus behind authentication: TLS with a private CA and basic auth
//! (`--web.config.file`, a real Prometheus), and a bearer token and tenant
//! header checked by nginx in front of one (where they land: nginx's log).
//! The right credentials pass; wrong ones give 3 (no data to judge); no
//! secret appears in any output.

mod common;

use common::*;
use testkit::Nginx;
use testkit::pki::Pki;
use testkit::prometheus::{SECURE_PASSWORD, SECURE_USER};

fn gate(url: &str, extra: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut c = Cli::new(BIN)
        .args([
            "check",
            "--prometheus",
            url,
            "--query",
            "vector(1)",
            "--critical",
            "< 1",
            "--timeout",
            "5s",
        ])
        .args(extra);
    for (k, v) in env {
        c = c.env(k, v);
    }
    let r = c.run();
    r.assert_absent(SECURE_PASSWORD);
    r
}

#[test]
fn tls_and_basic_auth_pass_with_the_right_credentials_and_give_3_without() {
    let pki = Pki::new();
    let p = Prometheus::builder().secure(&pki.localhost()).start();
    let ca = pki.ca();
    let url = p.url();
    let pw = [("METRIC_GATE_PASSWORD", SECURE_PASSWORD)];

    // --user with the password from the environment, verified against --ca.
    let r = gate(&url, &["--ca", &ca, "--user", SECURE_USER], &pw);
    r.assert_code(0);
    let doc = r.assert_envelope("metric-gate");
    assert_eq!(doc["insecure"], false, "{doc}");
    assert_eq!(doc["ca"], ca.as_str());

    // The URL's userinfo, in every format.
    let in_url = url.replace(
        "https://",
        &format!("https://{SECURE_USER}:{SECURE_PASSWORD}@"),
    );
    for format in ["json", "text", "ndjson", "prom", "csv"] {
        let r = gate(&in_url, &["--ca", &ca, "--format", format, "-v"], &[]);
        r.assert_code(0);
    }

    // A rules file with ${VAR}s, the CA and the user in [prometheus].
    let dir = testkit::temp_dir("mg-auth");
    let rules = dir.path().join("gate.toml");
    testkit::write(
        &rules,
        &format!(
            "[prometheus]\nurl = \"{url}\"\nusername = \"{SECURE_USER}\"\npassword = \"${{PROM_PW}}\"\nca = \"{ca}\"\n\n[[rule]]\nname = \"up\"\nquery = \"vector(1)\"\ncritical = \"< 1\"\n"
        ),
    );
    let r = Cli::new(BIN)
        .args(["check", "--rules", rules.to_str().unwrap()])
        .env("PROM_PW", SECURE_PASSWORD)
        .run();
    r.assert_absent(SECURE_PASSWORD);
    r.assert_code(0);

    // Wrong password, no password, an untrusted certificate: no data, 3.
    let wrong = "wrong-prom-pw-77a1";
    let r = gate(
        &url,
        &["--ca", &ca, "--user", SECURE_USER],
        &[("METRIC_GATE_PASSWORD", wrong)],
    );
    r.assert_absent(wrong);
    r.assert_code(3);
    let msg = r.json()["rules"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("401"), "{msg}");
    gate(&url, &["--ca", &ca], &[]).assert_code(3);
    let r = gate(&url, &["--user", SECURE_USER], &pw);
    r.assert_code(3);
    let msg = r.json()["rules"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("TLS: invalid peer certificate"), "{msg}");

    // --insecure reaches it and the report says so.
    let r = gate(&url, &["--insecure", "--user", SECURE_USER], &pw);
    r.assert_code(0);
    assert_eq!(r.json()["insecure"], true);

    // A password without a user, or a user and a token, is a usage error.
    gate(&url, &["--ca", &ca], &[("METRIC_GATE_PASSWORD", "x")]).assert_code(64);
    gate(
        &url,
        &["--ca", &ca, "--user", SECURE_USER],
        &[("METRIC_GATE_BEARER_TOKEN", "t")],
    )
    .assert_code(64);
}

const TOKEN: &str = "bearer-tok-9e2c44";

/// nginx in front of Prometheus: 401 without `Authorization: Bearer TOKEN`,
/// 403 without a tenant; every request's tenant logged.
fn tenant_front(p: &Prometheus) -> Nginx {
    let prom = p.port;
    Nginx::start_http(|port, d| {
        format!(
            "log_format tenant '$http_x_scope_orgid';\nserver {{ listen 127.0.0.1:{port}; access_log {log} tenant;\n  location / {{\n    if ($http_authorization != \"Bearer {TOKEN}\") {{ return 401; }}\n    if ($http_x_scope_orgid = \"\") {{ return 403; }}\n    proxy_pass http://127.0.0.1:{prom};\n  }}\n}}\n",
            log = d.join("tenant.log").display(),
        )
    })
}

#[test]
fn bearer_token_file_and_tenant_header_reach_the_server() {
    let p = Prometheus::start();
    let front = tenant_front(&p);
    let url = format!("http://127.0.0.1:{}", front.port);
    let dir = testkit::temp_dir("mg-token");
    let token_file = dir.path().join("token");
    testkit::write(&token_file, &format!("{TOKEN}\n"));
    let tf = token_file.to_str().unwrap();

    let r = gate(
        &url,
        &[
            "--bearer-token-file",
            tf,
            "--header",
            "X-Scope-OrgID: team-a",
        ],
        &[],
    );
    r.assert_absent(TOKEN);
    r.assert_code(0);
    // From the environment: METRIC_GATE_HEADERS and the token file's variable.
    let r = gate(
        &url,
        &[],
        &[
            ("METRIC_GATE_BEARER_TOKEN_FILE", tf),
            ("METRIC_GATE_HEADERS", "X-Scope-OrgID: team-b"),
        ],
    );
    r.assert_absent(TOKEN);
    r.assert_code(0);
    let log = std::fs::read_to_string(front.dir().join("tenant.log")).unwrap();
    assert!(log.lines().any(|l| l == "team-a"), "{log}");
    assert!(log.lines().any(|l| l == "team-b"), "{log}");

    // Without the tenant: refused (403), no data.
    let r = gate(&url, &["--bearer-token-file", tf], &[]);
    r.assert_absent(TOKEN);
    r.assert_code(3);
    assert!(
        r.json()["rules"][0]["message"]
            .as_str()
            .unwrap()
            .contains("403"),
        "{}",
        r.stdout
    );
    // An empty token file is a usage error.
    testkit::write(&token_file, "\n");
    gate(&url, &["--bearer-token-file", tf], &[]).assert_code(64);
}
