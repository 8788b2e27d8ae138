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
