//! `probe prometheus` against a real Prometheus scraping an nginx that
//! serves /metrics, and a target that is down.

use std::time::Duration;

use testkit::{Nginx, Prometheus};

use crate::{check, probe};

fn metrics_endpoint() -> Nginx {
    Nginx::start("location = /metrics { default_type text/plain; return 200 'app_ready 1\\n'; }")
}

#[test]
fn all_targets_up_passes() {
    let app = metrics_endpoint();
    let target = format!("127.0.0.1:{}", app.port);
    let mut prom = Prometheus::builder()
        .scrape("app", &[target.as_str()])
        .start();
    prom.wait_for("up", Duration::from_secs(30), |b| b.contains("\"value\""));
    let r = probe().args(["prometheus", &prom.url()]).run();
    r.assert_code(0);
    let doc = r.assert_envelope("probe");
    let c = check(&doc);
    assert_eq!(c["series"], 1);
    assert_eq!(c["failing_series"], 0);
    assert_eq!(c["query"], "up");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("1 of 1 targets up"),
        "{c}"
    );

    // The runbook's own URL form works too.
    let r = probe()
        .args([
            "prometheus",
            &format!("{}/api/v1/query?query=up", prom.url()),
        ])
        .run();
    r.assert_code(0);
    // Another query, judged the same way.
    let r = probe()
        .args(["prometheus", &prom.url(), "--query", "app_ready"])
        .run();
    r.assert_code(0);
}

#[test]
fn a_down_target_is_critical_and_named_with_its_last_error() {
    let app = metrics_endpoint();
    let up = format!("127.0.0.1:{}", app.port);
    let down = format!("127.0.0.1:{}", testkit::free_port());
    let mut prom = Prometheus::builder()
        .scrape("app", &[up.as_str()])
        .scrape("worker", &[down.as_str()])
        .start();
    // Both targets scraped at least once, the down one recorded as 0.
    prom.wait_for("up", Duration::from_secs(30), |b| {
        b.matches("\"value\"").count() >= 2
    });
    prom.wait_for("up == 0", Duration::from_secs(30), |b| {
        b.contains("\"value\"")
    });
    // lastError is set once the failed scrape is recorded in the targets API.
    std::thread::sleep(Duration::from_millis(200));
    let r = probe().args(["prometheus", &prom.url()]).run();
    r.assert_code(2);
    let doc = r.assert_envelope("probe");
    let c = check(&doc);
    assert_eq!(c["series"], 2);
    assert_eq!(c["failing_series"], 1);
    let msg = c["message"].as_str().unwrap();
    assert!(msg.contains(&format!("worker/{down}")), "{msg}");
    assert!(msg.contains("refused"), "names the last error: {msg}");
    assert_eq!(c["down"][0]["labels"]["job"], "worker");
    assert!(
        c["down"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{c}"
    );
    assert!(r.stderr.contains("worker"), "{}", r.stderr);
}

/// Guards "an empty vector must not pass": nothing scraped is not all up.
#[test]
fn an_empty_up_is_critical() {
    let prom = Prometheus::start();
    let r = probe().args(["prometheus", &prom.url()]).run();
    r.assert_code(2);
    let doc = r.assert_envelope("probe");
    assert_eq!(check(&doc)["series"], 0);
    assert!(
        check(&doc)["message"]
            .as_str()
            .unwrap()
            .contains("no series"),
        "{doc}"
    );
}

#[test]
fn a_bad_query_is_unknown_and_a_stopped_server_critical() {
    let mut prom = Prometheus::start();
    let r = probe()
        .args(["prometheus", &prom.url(), "--query", "up{"])
        .run();
    r.assert_code(3);
    assert_eq!(check(&r.json())["error"], "query");
    let url = prom.url();
    prom.stop();
    let r = probe().args(["prometheus", &url]).run();
    r.assert_code(2);
}

#[test]
fn an_answer_that_is_not_the_api_is_not_a_pass() {
    let html = testkit::GarbageHttp::start(200, "text/html", "<html>login</html>");
    let r = probe().args(["prometheus", &html.url()]).run();
    r.assert_code(3);
    assert_eq!(check(&r.json())["error"], "not_prometheus");
    let bad_gateway = testkit::GarbageHttp::start(502, "text/html", "<html>bad gateway</html>");
    probe()
        .args(["prometheus", &bad_gateway.url()])
        .run()
        .assert_code(2);
}

/// Prometheus with `--web.config.file` (TLS from a test CA, basic auth):
/// the right credentials pass, wrong ones are CRITICAL, and the password
/// shows nowhere — from flags, the URL and a run file.
#[test]
fn tls_and_basic_auth_from_flags_the_url_and_a_run_file() {
    use testkit::prometheus::{SECURE_PASSWORD, SECURE_USER};
    let pki = testkit::pki::Pki::new();
    let p = Prometheus::builder().secure(&pki.localhost()).start();
    let (url, ca) = (p.url(), pki.ca());
    let run = |args: &[&str], pw: &str| {
        let r = probe()
            .args(["prometheus", &url, "--query", "vector(1)", "--ca", &ca])
            .args(args)
            .env("PROBE_PROMETHEUS_PASSWORD", pw)
            .run();
        r.assert_absent(SECURE_PASSWORD);
        r
    };
    let r = run(&["--user", SECURE_USER], SECURE_PASSWORD);
    r.assert_code(0);
    assert_eq!(check(&r.json())["insecure"], false, "{}", r.stdout);
    let r = run(&["--user", SECURE_USER], "wrong-pw-11f2");
    r.assert_code(2);
    r.assert_absent("wrong-pw-11f2");
    assert_eq!(check(&r.json())["status_code"], 401, "{}", r.stdout);
    run(&[], "").assert_code(2);

    let in_url = url.replace(
        "https://",
        &format!("https://{SECURE_USER}:{SECURE_PASSWORD}@"),
    );
    let r = probe()
        .args([
            "prometheus",
            &in_url,
            "--query",
            "vector(1)",
            "--ca",
            &ca,
            "-v",
        ])
        .run();
    r.assert_absent(SECURE_PASSWORD);
    r.assert_code(0);

    let dir = testkit::temp_dir("probe-prom-auth");
    let file = dir.path().join("checks.toml");
    testkit::write(
        &file,
        &format!(
            "[[check]]\nname = \"metrics\"\ntype = \"prometheus\"\nurl = \"{url}\"\nquery = \"vector(1)\"\nca = \"{ca}\"\nusername = \"{SECURE_USER}\"\npassword = \"${{PROM_PW}}\"\n"
        ),
    );
    let r = probe()
        .args(["run", file.to_str().unwrap(), "--format", "text"])
        .env("PROM_PW", SECURE_PASSWORD)
        .run();
    r.assert_absent(SECURE_PASSWORD);
    r.assert_code(0);
}
