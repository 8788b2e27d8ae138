//! A request-capturing HTTP server on a free loopback port: it stands in
//! for Slack, Teams, PagerDuty and any webhook, records the method, path,
//! headers and body of every request, and answers as told — a fixed
//! status, a scripted sequence (`500`, `500`, then `200`), or never.
//!
//! A real socket served by threads (HTTP/1.1 keep-alive, `Content-Length`
//! and chunked bodies); closed on drop, connections included.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How the sink answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: String,
    /// The body.
    pub body: String,
    /// Extra response headers (`Retry-After: 1`).
    pub headers: Vec<(String, String)>,
    /// Record the request and never answer (the connection stays open
    /// until the sink is dropped).
    pub hang: bool,
}

impl Reply {
    /// `status` with a short text body (`ok` for 200, as Slack answers).
    pub fn status(status: u16) -> Reply {
        let body = if status == 200 {
            "ok".to_string()
        } else {
            format!("status {status}")
        };
        Reply {
            status,
            content_type: "text/plain".into(),
            body,
            headers: Vec::new(),
            hang: false,
        }
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            content_type: "application/json".into(),
            body: body.to_string(),
            ..Reply::status(status)
        }
    }

    /// Record the request, never answer.
    pub fn hang() -> Reply {
        Reply {
            hang: true,
            ..Reply::status(200)
        }
    }

    /// Add a response header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`, `GET`…
    pub method: String,
    /// The request target: path and query (`/services/T0/B0/x?y=1`).
    pub path: String,
    /// Headers in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// When it was complete.
    pub at: SystemTime,
    /// The status it was answered with; `None` when it was left hanging.
    pub answered: Option<u16>,
}

impl Recorded {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "sink: body of {} {} is not JSON ({e}): {}",
                self.method,
                self.path,
                self.text()
            )
        })
    }
}

#[derive(Debug)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    arrived: Condvar,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    stop: AtomicBool,
}

/// The capturing server. See the module docs.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    /// A sink answering every request `200 ok`.
    pub fn start() -> Sink {
        Sink::answering(Reply::status(200))
    }

    /// A sink answering every request with `reply`.
    pub fn answering(reply: Reply) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("sink: bind loopback");
        let addr = listener.local_addr().expect("sink: local addr");
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(reply),
            stop: AtomicBool::new(false),
        });
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, &st));
            }
        });
        Sink {
            addr,
            state,
            thread: Some(thread),
        }
    }

    /// Answer the next requests with `replies`, in order, before the
    /// default reply again (`[500, 500]` then `200`).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) -> &Sink {
        lock(&self.state.script).extend(replies);
        self
    }

    /// Change the reply given when the script is empty.
    pub fn set_default(&self, reply: Reply) -> &Sink {
        *lock(&self.state.default) = reply;
        self
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port` followed by `path` (`/services/T0/B0/x`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.requests).clone()
    }

    /// The requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }

    /// Wait until `n` requests have arrived (panics after `timeout`, naming
    /// how many did), and return all of them.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let until = Instant::now() + timeout;
        let mut reqs = lock(&self.state.requests);
        while reqs.len() < n {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "sink: {} request(s) after {timeout:?}, expected {n}: {:?}",
                    reqs.len(),
                    reqs.iter()
                        .map(|r| format!("{} {}", r.method, r.path))
                        .collect::<Vec<_>>()
                );
            }
            reqs = self
                .state
                .arrived
                .wait_timeout(reqs, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        reqs.clone()
    }

    /// Forget the requests so far.
    pub fn clear(&self) {
        lock(&self.state.requests).clear();
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How often a connection thread looks at the stop flag.
const TICK: Duration = Duration::from_millis(50);
/// An idle keep-alive connection is closed after this.
const IDLE: Duration = Duration::from_secs(30);

/// Serve keep-alive requests on one connection until the client closes,
/// the sink stops, or the connection idles.
fn serve(mut conn: TcpStream, st: &State) {
    let _ = conn.set_read_timeout(Some(TICK));
    let _ = conn.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some(mut req) = read_request(&mut conn, &mut buf, st) else {
            return;
        };
        let reply = lock(&st.script)
            .pop_front()
            .unwrap_or_else(|| lock(&st.default).clone());
        req.answered = (!reply.hang).then_some(reply.status);
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        {
            lock(&st.requests).push(req);
            st.arrived.notify_all();
        }
        if reply.hang {
            while !st.stop.load(Ordering::SeqCst) {
                std::thread::sleep(TICK);
            }
            return;
        }
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            reply.status,
            reason(reply.status),
            reply.content_type,
            reply.body.len()
        );
        for (n, v) in &reply.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(reply.body.as_bytes());
        if conn.write_all(&out).is_err() || close {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Read more bytes into `buf`; `false` when the connection is over (closed,
/// an error, the sink stopping, or idle too long).
fn fill(conn: &mut TcpStream, buf: &mut Vec<u8>, st: &State, idle_since: Instant) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if st.stop.load(Ordering::SeqCst) {
            return false;
        }
        match conn.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return true;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if idle_since.elapsed() > IDLE {
                    return false;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One whole request from the connection, or `None` when it ended.
fn read_request(conn: &mut TcpStream, buf: &mut Vec<u8>, st: &State) -> Option<Recorded> {
    let since = Instant::now();
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if !fill(conn, buf, st, since) {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body =
        if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
            read_chunked(conn, buf, st, since)?
        } else {
            let len: usize = get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < len {
                if !fill(conn, buf, st, since) {
                    return None;
                }
            }
            buf.drain(..len).collect()
        };
    Some(Recorded {
        method,
        path,
        headers,
        body,
        at: SystemTime::now(),
        answered: None,
    })
}

fn read_chunked(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
    st: &State,
    since: Instant,
) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            if !fill(conn, buf, st, since) {
                return None;
            }
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).ok()?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            loop {
                if let Some(i) = find(buf, b"\r\n") {
                    let empty = i == 0;
                    buf.drain(..i + 2);
                    if empty {
                        return Some(body);
                    }
                    continue;
                }
                if !fill(conn, buf, st, since) {
                    return Some(body);
                }
            }
        }
        while buf.len() < size + 2 {
            if !fill(conn, buf, st, since) {
                return None;
            }
        }
        body.extend(buf.drain(..size));
        buf.drain(..2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(addr: SocketAddr, raw: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn records_chunked_bodies_and_follows_the_script() {
        let sink = Sink::start();
        sink.script([Reply::status(500).header("Retry-After", "1")]);
        let first = send(
            sink.addr(),
            "POST /a?x=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        );
        assert!(
            first.starts_with("HTTP/1.1 500 ") && first.contains("Retry-After: 1"),
            "{first}"
        );
        let second = send(
            sink.addr(),
            "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        );
        assert!(
            second.starts_with("HTTP/1.1 200 ") && second.ends_with("ok"),
            "{second}"
        );
        let reqs = sink.wait_for(2, Duration::from_secs(2));
        assert_eq!(
            (reqs[0].path.as_str(), reqs[0].answered),
            ("/a?x=1", Some(500))
        );
        assert_eq!(reqs[0].json()["a"], 1);
        assert_eq!(reqs[1].text(), "hi");
        assert_eq!(reqs[1].header("HOST"), Some("h"));
    }

    #[test]
    fn a_hanging_reply_is_recorded_and_never_sent() {
        let sink = Sink::answering(Reply::hang());
        let mut s = TcpStream::connect(sink.addr()).unwrap();
        s.write_all(b"POST /h HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let reqs = sink.wait_for(1, Duration::from_secs(2));
        assert_eq!(reqs[0].answered, None);
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 16];
        assert!(s.read(&mut buf).is_err(), "no answer");
        drop(sink);
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)), "closed on drop");
    }
}
