//! Hand-made servers, for faults a real server will not produce on demand.
//! Each is a real loopback socket served by threads, closed on drop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How a hand-made server answers.
#[derive(Debug, Clone)]
enum Mode {
    Silent,
    Http {
        status: u16,
        content_type: String,
        body: String,
        delay: Duration,
    },
}

#[derive(Debug)]
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(mode: Mode) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                match &mode {
                    Mode::Silent => held.push(conn),
                    Mode::Http { .. } => {
                        let mode = mode.clone();
                        std::thread::spawn(move || answer(conn, &mode));
                    }
                }
            }
            drop(held);
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut conn: TcpStream, mode: &Mode) {
    let Mode::Http {
        status,
        content_type,
        body,
        delay,
    } = mode
    else {
        return;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    // Serve keep-alive requests until the client closes.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let close = head.contains("connection: close")
            || (head.contains("http/1.0") && !head.contains("connection: keep-alive"));
        buf.drain(..end);
        std::thread::sleep(*delay);
        let reason = if *status < 400 { "OK" } else { "Error" };
        let resp = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if conn.write_all(resp.as_bytes()).is_err() || close {
            return;
        }
    }
}

/// Accepts TCP connections and never sends a byte: the server that hangs.
#[derive(Debug)]
pub struct SilentListener(Server);

impl SilentListener {
    /// Start listening on a free loopback port.
    pub fn start() -> Self {
        SilentListener(Server::start(Mode::Silent))
    }
    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }
}

/// Answers every HTTP request with a fixed status and body (e.g. garbage
/// where JSON is expected).
#[derive(Debug)]
pub struct GarbageHttp(Server);

impl GarbageHttp {
    /// Answer `status` with `body` as `text/plain`… or whatever `content_type` says.
    pub fn start(status: u16, content_type: &str, body: &str) -> Self {
        GarbageHttp(Server::start(Mode::Http {
            status,
            content_type: content_type.to_string(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }))
    }
    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.0.addr)
    }
}

/// Answers every HTTP request with 200 after a fixed delay, many at once
/// (one thread per connection): endpoints that take 100 ms, for benchmarks.
#[derive(Debug)]
pub struct SlowHttp(Server);

impl SlowHttp {
    /// Answer `{"status":"ok"}` after `delay`.
    pub fn start(delay: Duration) -> Self {
        SlowHttp(Server::start(Mode::Http {
            status: 200,
            content_type: "application/json".into(),
            body: "{\"status\":\"ok\"}".into(),
            delay,
        }))
    }
    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.0.addr)
    }
}

/// A tiny forwarding proxy on loopback, speaking HTTP `CONNECT` (what a
/// client asks of a proxy for https, and ureq for http too): each tunnel
/// dials the target and splices the two streams. It remembers the request
/// heads it was sent, so a test can tell the proxy was really used (and
/// with which `Proxy-Authorization`). A target it cannot reach is answered
/// `502 Bad Gateway`, as a real proxy does.
#[derive(Debug)]
pub struct ConnectProxy {
    server: Server,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

impl ConnectProxy {
    /// Start on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (flag, log) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let log = log.clone();
                std::thread::spawn(move || tunnel(conn, &log));
            }
        });
        ConnectProxy {
            server: Server {
                addr,
                stop,
                thread: Some(thread),
            },
            seen,
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// `http://127.0.0.1:port`, for `http_proxy` and friends.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The request heads received so far (`CONNECT host:port HTTP/1.1`,
    /// then the headers), one string each.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

fn tunnel(mut client: TcpStream, seen: &std::sync::Mutex<Vec<String>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so nothing past the head is swallowed.
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    if let Ok(mut s) = seen.lock() {
        s.push(text.clone());
    }
    let mut words = text.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let dialled = target
        .parse::<SocketAddr>()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok());
    let Some(upstream) = dialled else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let _ = client.set_read_timeout(None);
    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let mut upstream = upstream;
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Both);
    let _ = up.join();
}

/// Every variable that makes a client use a proxy (curl's and ureq's):
/// tests that set one remove the others.
pub const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];
