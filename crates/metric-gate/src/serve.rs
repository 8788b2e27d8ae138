//! `metric-gate serve`: the gate over HTTP, for Argo Rollouts' web metric
//! provider and Flagger's webhooks. Every request is judged anew (all rules,
//! within `--timeout`) and answered with the same JSON document as `check`.
//!
//! | path        | HTTP status                                              |
//! |-------------|----------------------------------------------------------|
//! | `/`         | 200 continue, 409 pause, 412 roll back, 503 no data       |
//! | `/critical` | 412 roll back, else 200 (Flagger `rollout` webhooks)      |
//! | `/verdict`  | always 200 (Argo's web provider reads `$.status`)         |
//! | `/healthz`  | 200 `ok`                                                  |
//!
//! A small HTTP/1.1 server on std's sockets: one thread a request, at most
//! `--max-concurrent` judged at once (more get 503 with `Retry-After`),
//! `Connection: close`, bounded headers (16 KiB) and bodies (1 MiB), and a
//! read timeout so a client that never finishes its request frees its
//! thread. SIGTERM (Kubernetes' stop) or SIGINT stops accepting, lets the
//! requests in flight finish, and exits 0.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use golive_core::{Deadline, Error, Run, Status, log, signals};
use serde_json::Value;

use crate::cli::{Config, ServeConfig};
use crate::prom::PromClient;
use crate::report;

const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 1024 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A request as far as the gate cares.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// Why a request could not be read: the status to answer, and why.
type Refusal = (u16, &'static str);

fn read_request(sock: &mut TcpStream) -> Result<Request, Refusal> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err((431, "request headers over 16 KiB"));
        }
        match sock.read(&mut chunk) {
            Ok(0) => return Err((400, "the request ended before its headers did")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return Err((408, "no complete request in time")),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err((400, "not an HTTP request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err((505, "only HTTP/1.x is spoken here"));
    }
    let mut length = 0usize;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            return Err((400, "a header line without ':'"));
        };
        let k = k.trim();
        if k.eq_ignore_ascii_case("content-length") {
            length = v
                .trim()
                .parse()
                .map_err(|_| (400, "a bad Content-Length"))?;
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            return Err((411, "send a Content-Length, not a chunked body"));
        }
    }
    if length > MAX_BODY {
        return Err((413, "request body over 1 MiB"));
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match sock.read(&mut chunk) {
            Ok(0) => return Err((400, "the request body ended early")),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(_) => return Err((408, "no complete request in time")),
        }
    }
    body.truncate(length);
    let path = target.split('?').next().unwrap_or("/").to_string();
    Ok(Request {
        method: method.to_string(),
        path,
        body,
    })
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

fn respond(sock: &mut TcpStream, code: u16, kind: &str, body: &str, head_only: bool, extra: &str) {
    let mut out = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n{extra}\r\n",
        reason(code),
        body.len()
    );
    if !head_only {
        out.push_str(body);
    }
    let _ = sock.write_all(out.as_bytes());
    let _ = sock.flush();
}

/// The HTTP status a path gives a verdict.
pub fn http_status(path: &str, status: Status) -> u16 {
    match (path, status) {
        ("/verdict", _) => 200,
        ("/critical", Status::Critical) => 412,
        ("/critical", _) => 200,
        (_, Status::Ok) => 200,
        (_, Status::Warning) => 409,
        (_, Status::Critical) => 412,
        (_, Status::Unknown) => 503,
    }
}

/// Who asked, from a Flagger payload (`namespace/name phase`), for the log.
fn caller(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    match (v["namespace"].as_str(), v["name"].as_str()) {
        (Some(ns), Some(n)) => format!(
            " for {ns}/{n}{}",
            v["phase"]
                .as_str()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        ),
        _ => String::new(),
    }
}

fn handle(mut sock: TcpStream, peer: SocketAddr, cfg: &Config, client: &PromClient) {
    let _ = sock.set_read_timeout(Some(READ_TIMEOUT));
    let _ = sock.set_write_timeout(Some(READ_TIMEOUT));
    let req = match read_request(&mut sock) {
        Ok(r) => r,
        Err((code, why)) => {
            log::debug(&format!("{peer}: {code} {why}"));
            respond(
                &mut sock,
                code,
                "text/plain",
                &format!("{why}\n"),
                false,
                "",
            );
            return;
        }
    };
    let head = req.method == "HEAD";
    let known = ["/", "/critical", "/verdict", "/healthz"].contains(&req.path.as_str());
    if !known {
        respond(
            &mut sock,
            404,
            "text/plain",
            "not found: try /, /critical, /verdict or /healthz\n",
            head,
            "",
        );
        return;
    }
    if !matches!(req.method.as_str(), "GET" | "POST" | "HEAD") {
        respond(
            &mut sock,
            405,
            "text/plain",
            "GET, POST or HEAD\n",
            false,
            "Allow: GET, POST, HEAD\r\n",
        );
        return;
    }
    if req.path == "/healthz" {
        respond(&mut sock, 200, "text/plain", "ok\n", head, "");
        return;
    }
    let t0 = Instant::now();
    let run = Run::start(crate::TOOL, env!("CARGO_PKG_VERSION"));
    let deadline = Deadline::after(cfg.timeout);
    let at_ms = report::ms_of(SystemTime::now());
    let results = crate::evaluate_all(&cfg.rules, client, at_ms, &deadline);
    let status = report::overall(&results);
    let doc = run.document(
        status,
        &report::check_body(&cfg.rules, &results, status, at_ms, client),
    );
    let code = http_status(&req.path, status);
    respond(
        &mut sock,
        code,
        "application/json",
        &format!("{doc}\n"),
        head,
        "",
    );
    log::info(&format!(
        "{} {} from {peer}{}: {} ({code}) in {}",
        req.method,
        req.path,
        caller(&req.body),
        report::decision(status),
        golive_core::units::human_duration(t0.elapsed())
    ));
}

/// Serve until SIGTERM or SIGINT; exit 0 then, 3 if the address cannot be had.
pub fn serve(cfg: &Config, s: &ServeConfig, client: &PromClient) -> ExitCode {
    signals::catch();
    let listener = match TcpListener::bind(s.listen) {
        Ok(l) => l,
        Err(e) => {
            return Error::Unknown(format!("cannot listen on {}: {e}", s.listen))
                .report(crate::TOOL);
        }
    };
    if let Err(e) = listener.set_nonblocking(true) {
        return Error::Unknown(format!("cannot listen on {}: {e}", s.listen)).report(crate::TOOL);
    }
    let addr = listener.local_addr().unwrap_or(s.listen);
    log::info(&format!(
        "judging {} rule(s) on every request to http://{addr}/ (/, /critical, /verdict, /healthz)",
        cfg.rules.len()
    ));
    let busy = Arc::new(AtomicUsize::new(0));
    let cfg = Arc::new(cfg.clone());
    while signals::received().is_none() {
        let (mut sock, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(signals::POLL);
                continue;
            }
            Err(e) => {
                log::warn(&format!("accept: {e}"));
                std::thread::sleep(signals::POLL);
                continue;
            }
        };
        let _ = sock.set_nonblocking(false);
        if busy.fetch_add(1, Ordering::SeqCst) >= s.max_concurrent {
            busy.fetch_sub(1, Ordering::SeqCst);
            respond(
                &mut sock,
                503,
                "text/plain",
                "busy: too many requests being judged\n",
                false,
                "Retry-After: 1\r\n",
            );
            continue;
        }
        let (cfg, client, busy) = (cfg.clone(), client.clone(), busy.clone());
        std::thread::spawn(move || {
            handle(sock, peer, &cfg, &client);
            busy.fetch_sub(1, Ordering::SeqCst);
        });
    }
    drop(listener);
    // Requests in flight get their answer (each is bounded by --timeout).
    let drain = Deadline::after(cfg.timeout + READ_TIMEOUT);
    while busy.load(Ordering::SeqCst) > 0 && !drain.left().is_zero() {
        std::thread::sleep(signals::POLL);
    }
    log::info(&format!(
        "stopped by {}",
        signals::received().unwrap_or("a signal")
    ));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_per_path() {
        assert_eq!(http_status("/", Status::Ok), 200);
        assert_eq!(http_status("/", Status::Warning), 409);
        assert_eq!(http_status("/", Status::Critical), 412);
        assert_eq!(http_status("/", Status::Unknown), 503);
        assert_eq!(http_status("/critical", Status::Unknown), 200);
        assert_eq!(http_status("/critical", Status::Critical), 412);
        for s in [
            Status::Ok,
            Status::Warning,
            Status::Critical,
            Status::Unknown,
        ] {
            assert_eq!(http_status("/verdict", s), 200);
        }
    }
}
