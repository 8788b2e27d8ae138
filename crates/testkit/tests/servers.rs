//! Each server of the kit starts, answers, and stops on drop.

use std::io::{Read, Write};
use std::time::Duration;
use testkit::*;

/// `GET path` over HTTP/1.0 with an `X-API-Key` header, on a fresh
/// connection: (status, body).
fn get_with_key(port: u16, path: &str, key: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n\r\n").as_bytes(),
    )
    .expect("send");
    let mut buf = String::new();
    s.read_to_string(&mut buf).expect("read");
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {buf:?}"));
    let body = buf.split_once("\r\n\r\n").map(|x| x.1.to_string());
    (status, body.unwrap_or_default())
}

#[test]
fn postgres_starts_with_app_role_and_database() {
    let pg = Postgres::start();
    assert_eq!(
        pg.psql("minimarket", "SELECT current_database()"),
        "minimarket"
    );
    let port = pg.port;
    drop(pg);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "stopped on drop"
    );
}

#[test]
fn redis_starts_and_stops() {
    let mut r = Redis::start();
    assert!(std::net::TcpStream::connect(("127.0.0.1", r.port)).is_ok());
    r.stop();
    assert!(std::net::TcpStream::connect(("127.0.0.1", r.port)).is_err());
}

#[test]
fn prometheus_scrapes_and_backfills() {
    let history = "# TYPE t gauge\nt{a=\"1\"} 5 1700000000\nt{a=\"1\"} 6 1700000060\n# EOF\n";
    let mut p = Prometheus::builder()
        .scrape("self", &["127.0.0.1:1"])
        .backfill(history)
        .start();
    p.wait_for("up", Duration::from_secs(20), |b| b.contains("\"up\""));
    let body = testkit::http_get(p.port, "/api/v1/query?query=t&time=1700000060")
        .unwrap()
        .1;
    assert!(body.contains("\"6\""), "{body}");
}

#[test]
fn nginx_health_demands_the_key() {
    let n = Nginx::health("k1");
    let (status, body) = http_get(n.port, "/health").unwrap();
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"status":"unauthorized"}"#)
    );
    let (status, body) = get_with_key(n.port, "/health", "k2");
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"status":"unauthorized"}"#)
    );
    // The right key is let in, to the health document.
    let (status, body) = get_with_key(n.port, "/health", "k1");
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("health is JSON");
    assert_eq!(doc["status"], "ok", "{body}");
    assert_eq!(doc["checks"]["db"], "up", "{body}");
}

#[test]
fn faults_answer_as_told() {
    let g = GarbageHttp::start(200, "application/json", "not json{");
    let (s, b) = http_get(g.addr().port(), "/x").unwrap();
    assert_eq!((s, b.as_str()), (200, "not json{"));
    let silent = SilentListener::start();
    let mut c = std::net::TcpStream::connect(silent.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 1];
    assert!(
        std::io::Read::read(&mut c, &mut buf).is_err(),
        "silent listener answered"
    );
}
