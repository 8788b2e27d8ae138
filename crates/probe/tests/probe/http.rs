//! `probe http` against nginx's health endpoint (which demands X-API-Key)
//! and hand-made sockets for the faults nginx will not produce.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::Duration;

use testkit::cli::Ran;
use testkit::{GarbageHttp, Nginx, SilentListener, SlowHttp};

use crate::{assert_honoured, check, probe};

const KEY: &str = "test-api-key-8c1f2e";

#[test]
fn right_api_key_passes_with_figures_and_the_key_never_shows() {
    let nginx = Nginx::health(KEY);
    let r = probe()
        .args(["http", &nginx.url("/health")])
        .args(["--header", &format!("X-API-Key: {KEY}")])
        .args([
            "--json-path",
            "checks.db",
            "--equals",
            "up",
            "--body-contains",
            "\"ok\"",
        ])
        .run();
    r.assert_code(0);
    r.assert_absent(KEY);
    let doc = r.assert_envelope("probe");
    let c = check(&doc);
    assert_eq!(c["name"], "http");
    assert_eq!(c["status"], "ok");
    assert_eq!(c["status_code"], 200);
    assert_eq!(c["json_value"], "up");
    assert_eq!(c["method"], "GET");
    assert!(c["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(c["body_bytes"].as_u64().unwrap() > 10);
    assert!(
        c["message"].as_str().unwrap().starts_with("HTTP 200"),
        "{c}"
    );
}

#[test]
fn wrong_api_key_is_401_critical_and_the_key_never_shows() {
    let nginx = Nginx::health(KEY);
    let wrong = "wrong-key-5e7a9b";
    let r = probe()
        .args(["http", &nginx.url("/health"), "-v"])
        .args(["--header", &format!("X-API-Key: {wrong}")])
        .run();
    r.assert_code(2);
    r.assert_absent(wrong);
    let doc = r.assert_envelope("probe");
    assert_eq!(check(&doc)["status_code"], 401);
    assert!(
        check(&doc)["message"]
            .as_str()
            .unwrap()
            .contains("expected 2xx"),
        "{doc}"
    );
    assert!(
        r.stderr.contains("401"),
        "stderr names the failure: {}",
        r.stderr
    );
}

#[test]
fn header_value_from_the_environment_stays_out_of_argv() {
    let nginx = Nginx::health(KEY);
    let r = probe()
        .args([
            "http",
            &nginx.url("/health"),
            "--header",
            "X-API-Key: ${PROBE_TEST_KEY}",
        ])
        .env("PROBE_TEST_KEY", KEY)
        .run();
    r.assert_code(0);
    r.assert_absent(KEY);
    let r = probe()
        .args([
            "http",
            &nginx.url("/health"),
            "--header",
            "X-API-Key: ${PROBE_TEST_UNSET_KEY}",
        ])
        .run();
    r.assert_code(64);
    assert!(r.stderr.contains("PROBE_TEST_UNSET_KEY"), "{}", r.stderr);
}

#[test]
fn body_and_json_expectations_fail_for_what_the_server_said() {
    let nginx = Nginx::health(KEY);
    let h = format!("X-API-Key: {KEY}");
    // The field exists but has another value.
    let r = probe()
        .args([
            "http",
            &nginx.url("/health"),
            "-H",
            &h,
            "--json-path",
            "status",
            "--equals",
            "degraded",
        ])
        .run();
    r.assert_code(2);
    let msg = check(&r.json())["message"].as_str().unwrap().to_string();
    assert!(msg.contains("`status` is \"ok\""), "{msg}");
    // A missing field.
    let r = probe()
        .args([
            "http",
            &nginx.url("/health"),
            "-H",
            &h,
            "--json-path",
            "checks.queue",
        ])
        .run();
    r.assert_code(2);
    // Missing text.
    let r = probe()
        .args([
            "http",
            &nginx.url("/health"),
            "-H",
            &h,
            "--body-contains",
            "maintenance",
        ])
        .run();
    r.assert_code(2);
    // A 404 that was asked for passes.
    let r = probe()
        .args(["http", &nginx.url("/nope"), "--expect-status", "404"])
        .run();
    r.assert_code(0);
}

#[test]
fn garbage_where_json_is_expected_is_critical() {
    let g = GarbageHttp::start(200, "text/html", "<html>upstream error</html>");
    let r = probe()
        .args([
            "http",
            &format!("{}/health", g.url()),
            "--json-path",
            "status",
        ])
        .run();
    r.assert_code(2);
    assert!(
        check(&r.json())["message"]
            .as_str()
            .unwrap()
            .contains("not JSON"),
        "{}",
        r.stdout
    );
}

#[test]
fn slower_than_max_latency_is_a_warning_and_crit_latency_critical() {
    let slow = SlowHttp::start(Duration::from_millis(300));
    let r = probe()
        .args(["http", &slow.url(), "--max-latency", "100ms"])
        .run();
    r.assert_code(1);
    let doc = r.assert_envelope("probe");
    assert_eq!(doc["degraded"][0], "http");
    assert!(
        check(&doc)["message"]
            .as_str()
            .unwrap()
            .contains("slower than 100ms")
    );
    let r = probe()
        .args([
            "http",
            &slow.url(),
            "--max-latency",
            "50ms",
            "--crit-latency",
            "100ms",
        ])
        .run();
    r.assert_code(2);
}

/// Guards the contract's promise: a server that accepts and never answers
/// cannot hold probe past --timeout (+10%).
#[test]
fn a_silent_server_fails_within_the_timeout() {
    let silent = SilentListener::start();
    let timeout = Duration::from_secs(1);
    let r = probe()
        .args([
            "http",
            &format!("http://{}/health", silent.addr()),
            "--timeout",
            "1s",
        ])
        .run();
    r.assert_code(2);
    assert_honoured(&r, timeout);
    let doc = r.assert_envelope("probe");
    assert_eq!(check(&doc)["error"], "timeout");
}

/// Several attempts must fit in --wait too, not each in its own --timeout.
#[test]
fn retries_against_a_silent_server_stay_within_wait() {
    let silent = SilentListener::start();
    let wait = Duration::from_millis(1500);
    let r = probe()
        .args(["http", &format!("http://{}/", silent.addr())])
        .args(["--timeout", "1s", "--interval", "100ms", "--wait", "1500ms"])
        .run();
    r.assert_code(2);
    // Two attempts with their own 1 s each would take 2 s: over the bound.
    let doc = assert_honoured(&r, wait);
    assert!(
        check(&doc)["attempts"].as_u64().unwrap() >= 2,
        "{}",
        r.stdout
    );
}

/// `--wait` keeps trying until the server comes up, then reports one
/// document with the attempts counted.
#[test]
fn wait_succeeds_once_nginx_comes_up() {
    let port = testkit::free_port();
    let child = probe()
        .args(["http", &format!("http://127.0.0.1:{port}/ready")])
        .args(["--wait", "30s", "--interval", "200ms", "--timeout", "1s"])
        .spawn();
    std::thread::sleep(Duration::from_millis(1200));
    // Started on this thread, so it lives until the test ends.
    let _nginx = Nginx::start_http(|kit_port, _| {
        format!(
            "server {{ listen 127.0.0.1:{kit_port}; listen 127.0.0.1:{port}; location = /ready {{ return 200 'ready'; }} }}\n"
        )
    });
    let out = child.wait_with_output().expect("probe ran");
    let r = Ran::from_output(out, Duration::ZERO);
    r.assert_code(0);
    let doc = r.assert_envelope("probe");
    assert!(check(&doc)["attempts"].as_u64().unwrap() >= 2, "{doc}");
    assert_eq!(check(&doc)["status_code"], 200);
    assert_eq!(
        r.stdout.matches("\"tool\"").count(),
        1,
        "one document: {}",
        r.stdout
    );
}

#[test]
fn text_and_prom_formats() {
    let nginx = Nginx::health(KEY);
    let h = format!("X-API-Key: {KEY}");
    let r = probe()
        .args([
            "http",
            &nginx.url("/health"),
            "-H",
            &h,
            "--format",
            "text",
            "--name",
            "api",
        ])
        .run();
    r.assert_code(0);
    assert!(r.stdout.starts_with("CHECK"), "{}", r.stdout);
    assert!(r.stdout.contains("api    http  OK"), "{}", r.stdout);
    assert!(
        r.stdout.contains("\nOK: 1 check passed in "),
        "{}",
        r.stdout
    );

    let r = probe()
        .args([
            "http",
            &nginx.url("/health"),
            "--format",
            "prom",
            "--name",
            "api",
        ])
        .run();
    r.assert_code(2);
    assert!(
        r.stdout.contains("# TYPE probe_success gauge"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("probe_success{check=\"api\"} 0\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("probe_http_status_code{check=\"api\"} 401\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("probe_duration_seconds{check=\"api\"} "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("probe_status{check=\"api\"} 2\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn redirects_are_judged_unless_followed() {
    let nginx = Nginx::start(
        "location = /old { return 301 /health; } location = /health { return 200 'ok'; }",
    );
    let r = probe().args(["http", &nginx.url("/old")]).run();
    r.assert_code(2);
    assert_eq!(check(&r.json())["status_code"], 301);
    assert!(
        check(&r.json())["location"]
            .as_str()
            .unwrap()
            .ends_with("/health")
    );
    let r = probe().args(["http", &nginx.url("/old"), "--follow"]).run();
    r.assert_code(0);
    assert_eq!(check(&r.json())["status_code"], 200);
}

/// What a [`Recorder`] received: the request line and headers as sent, and
/// the body (de-chunked if it came chunked).
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    /// A header's value (name case-insensitive), if sent.
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A real loopback socket server owned by the test: it answers every
/// request `200 posted` and hands the test what it received, one request per
/// connection.
struct Recorder {
    addr: SocketAddr,
    got: mpsc::Receiver<Received>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let (tx, got) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let Some(req) = read_request(&mut BufReader::new(&conn)) else {
                    continue;
                };
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nposted",
                );
                if tx.send(req).is_err() {
                    return;
                }
            }
        });
        Recorder { addr, got }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request received (fails the test if none comes within 5 s).
    fn next(&self) -> Received {
        self.got
            .recv_timeout(Duration::from_secs(5))
            .expect("the recorder received no request")
    }
}

/// One HTTP/1.1 request: head up to the blank line, then a body framed by
/// Content-Length or chunked transfer encoding.
fn read_request(r: &mut impl BufRead) -> Option<Received> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let mut req = Received {
        head,
        body: Vec::new(),
    };
    if req
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            req.body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = req.header("content-length") {
        let mut body = vec![0; n.parse().ok()?];
        r.read_exact(&mut body).ok()?;
        req.body = body;
    }
    Some(req)
}

#[test]
fn method_and_body_are_sent() {
    // A real server that only takes POST: the method is what makes it pass.
    let nginx = Nginx::start(
        "location = /echo { if ($request_method != POST) { return 405; } return 200 'posted'; }",
    );
    probe()
        .args(["http", &nginx.url("/echo")])
        .run()
        .assert_code(2);
    let body = r#"{"order": 4711, "note": "golive body check"}"#;
    let post = |url: &str| {
        probe()
            .args(["http", url, "-X", "POST", "-d", body])
            .args(["--body-contains", "posted"])
            .run()
    };
    let r = post(&nginx.url("/echo"));
    r.assert_code(0);
    assert_eq!(check(&r.json())["method"], "POST");

    // What arrives, byte for byte: a socket server of the test's own records
    // the request probe sends.
    let rec = Recorder::start();
    let r = post(&rec.url("/echo"));
    r.assert_code(0);
    assert_eq!(check(&r.json())["method"], "POST");
    let got = rec.next();
    assert!(
        got.head.starts_with("POST /echo HTTP/1.1\r\n"),
        "request line: {}",
        got.head
    );
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        body,
        "the body the server received (head: {})",
        got.head
    );
    if let Some(n) = got.header("content-length") {
        assert_eq!(n, body.len().to_string(), "{}", got.head);
    }
}
