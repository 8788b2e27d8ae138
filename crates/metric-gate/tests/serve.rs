//! `metric-gate serve`: the gate over HTTP, asked exactly as Flagger's
//! webhooks and Argo Rollouts' web metric provider ask — the same JSON as
//! `check`, with the status codes those tools act on — against a real
//! Prometheus.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A `serve` process on a free port, stopped (SIGTERM) on drop.
struct Served {
    child: std::process::Child,
    port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(prometheus: &str, rules: &str, extra: &[&str]) -> Served {
    let port = testkit::free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Cli::new(BIN)
        .args(["serve", "--prometheus", prometheus, "--rules", rules])
        .args(["--listen", &listen])
        .args(extra)
        .spawn();
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "serve never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Served { child, port }
}

/// Send `raw` and return (status, body).
fn ask(port: u16, raw: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_string())
}

/// Flagger's webhook call, as its Go client sends it.
fn flagger(port: u16, path: &str) -> (u16, String) {
    let payload = r#"{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"85d557f47b","metadata":{"test":"all","token":"16688eb5e9f289f1991c"}}"#;
    ask(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: metric-gate.golive:9099\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: {}\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n{payload}",
            payload.len()
        ),
    )
}

/// Argo Rollouts' web provider's GET.
fn argo(port: u16, path: &str) -> (u16, String) {
    ask(
        port,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: metric-gate.golive:9099\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n"
        ),
    )
}

fn doc(body: &str) -> Value {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    testkit::schema::check(&v, Some("metric-gate"));
    v
}

fn rules(query: &str) -> (tempfile::TempDir, String) {
    rules_file(&format!(
        "[[rule]]\nname = \"error_rate\"\nquery = '{query}'\nwarn = \"> 1%\"\ncritical = \"> 5%\"\n"
    ))
}

#[test]
fn flagger_and_argo_get_the_status_codes_they_act_on() {
    let p = Prometheus::start();
    let cases = [
        ("vector(0.001)", "ok", 200, 200),
        ("vector(0.03)", "warning", 409, 200),
        ("vector(0.08)", "critical", 412, 412),
        ("no_such_series", "unknown", 503, 200),
    ];
    for (query, status, code, critical_code) in cases {
        let (_d, file) = rules(query);
        let s = serve(&p.url(), &file, &[]);
        // Flagger: POST / (confirm-promotion) and /critical (rollout).
        let (c, body) = flagger(s.port, "/");
        assert_eq!(c, code, "{query}: {body}");
        let d = doc(&body);
        assert_eq!(d["status"], status);
        assert_eq!(d["rules"][0]["name"], "error_rate");
        assert_eq!(flagger(s.port, "/critical").0, critical_code, "{query}");
        // Argo: GET /verdict is always 200; jsonPath {$.status} decides.
        let (c, body) = argo(s.port, "/verdict");
        assert_eq!(c, 200, "{query}");
        let d = doc(&body);
        assert_eq!(d["status"], status);
        assert_eq!(
            d["exit_code"],
            ["ok", "warning", "critical", "unknown"]
                .iter()
                .position(|x| *x == status)
                .unwrap()
        );
        // GET / works as well as POST.
        assert_eq!(argo(s.port, "/").0, code);
    }

    let (_d, file) = rules("vector(0)");
    let s = serve(&p.url(), &file, &[]);
    assert_eq!(argo(s.port, "/healthz"), (200, "ok\n".to_string()));
    assert_eq!(argo(s.port, "/nope").0, 404);
    assert_eq!(
        ask(
            s.port,
            "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        )
        .0,
        405
    );
    assert_eq!(ask(s.port, "garbage\r\n\r\n").0, 400);
    let (c, body) = ask(s.port, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((c, body.as_str()), (200, ""));
}

#[test]
fn concurrent_requests_are_each_judged() {
    let p = Prometheus::start();
    let (_d, file) = rules("vector(0.08)");
    let s = serve(&p.url(), &file, &[]);
    let port = s.port;
    let answers: Vec<(u16, String)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..12)
            .map(|i| {
                sc.spawn(move || {
                    if i % 2 == 0 {
                        flagger(port, "/")
                    } else {
                        argo(port, "/verdict")
                    }
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut started = std::collections::BTreeSet::new();
    for (i, (c, body)) in answers.iter().enumerate() {
        assert_eq!(*c, if i % 2 == 0 { 412 } else { 200 }, "{body}");
        let d = doc(body);
        assert_eq!(d["decision"], "rollback");
        started.insert(d["started_at"].as_str().unwrap().to_string());
    }
    assert!(!started.is_empty());
}

#[test]
fn a_silent_prometheus_is_no_data_within_the_timeout_and_sigterm_stops_it() {
    let silent = testkit::SilentListener::start();
    let (_d, file) = rules("vector(0)");
    let mut s = serve(
        &format!("http://{}", silent.addr()),
        &file,
        &["--timeout", "1s"],
    );
    let t0 = Instant::now();
    let (c, body) = flagger(s.port, "/");
    let took = t0.elapsed();
    assert_eq!(c, 503, "{body}");
    assert_eq!(doc(&body)["status"], "unknown");
    assert!(
        took < Duration::from_secs(1) + Duration::from_millis(100) + START_SLACK,
        "answered after {took:?}"
    );

    // Kubernetes stops a pod with SIGTERM: serve exits 0 within a second.
    let pid = s.child.id() as i32;
    let t0 = Instant::now();
    unsafe {
        // SAFETY: signalling our own child.
        libc::kill(pid, libc::SIGTERM);
    }
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "still running 1 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_taken_port_is_exit_3_and_bad_listen_is_64() {
    let p = Prometheus::start();
    let (_d, file) = rules("vector(0)");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let r = Cli::new(BIN)
        .args([
            "serve",
            "--prometheus",
            &p.url(),
            "--rules",
            &file,
            "--listen",
            &addr,
        ])
        .run();
    r.assert_code(3);
    assert!(r.stderr.contains("cannot listen"), "{}", r.stderr);
    let r = Cli::new(BIN)
        .args([
            "serve",
            "--prometheus",
            &p.url(),
            "--rules",
            &file,
            "--listen",
            "nowhere",
        ])
        .run();
    r.assert_code(64);
}
