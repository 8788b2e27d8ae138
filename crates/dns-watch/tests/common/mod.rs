//! Shared helpers for dns-watch's integration tests.
#![allow(dead_code)]

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use testkit::cli::{Cli, Ran};

/// The binary under test, with a clean environment.
pub fn dns_watch() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_dns-watch"))
}

/// The item for server `name` in a summary or round event.
pub fn server<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["servers"]
        .as_array()
        .unwrap_or_else(|| panic!("no servers array: {doc}"))
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no server {name} in {doc}"))
}

/// A UDP port that reads every query and never answers (a firewall that
/// drops, a dead resolver). Closed on drop.
pub struct SilentUdp {
    sock: Arc<UdpSocket>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentUdp {
    pub fn start() -> SilentUdp {
        let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("bind udp"));
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, f) = (sock.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !f.load(Ordering::SeqCst) {
                let _ = s.recv_from(&mut buf);
            }
        });
        SilentUdp {
            sock,
            stop,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> String {
        self.sock.local_addr().unwrap().to_string()
    }
}

impl Drop for SilentUdp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Write a temp file and return its dir (kept alive by the caller) and path.
pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = testkit::temp_dir("dns-watch");
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

/// Wall-clock slack for starting a debug binary while nextest runs other
/// tests on the same cores: the wall clock only bounds a run from above, and
/// loosely; the deadline itself is judged on the tool's own clock.
pub const START_SLACK: Duration = Duration::from_secs(1);

/// The run's own clock: the summary's `duration_ms`.
pub fn tool_time(doc: &Value) -> Duration {
    let ms = doc["duration_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("no duration_ms in {doc}"));
    Duration::from_secs_f64(ms / 1000.0)
}

/// Assert a run ended by `max` (its deadline, plus the 10% the contract
/// allows), measured by the tool's own `duration_ms`, and not before `min`
/// when one is given (a watch runs until its deadline); the wall clock, start
/// included, must stay within `max` plus [`START_SLACK`]. Returns the summary.
pub fn assert_took(ran: &Ran, min: Option<Duration>, max: Duration) -> Value {
    let doc = ran.json();
    let took = tool_time(&doc);
    assert!(
        took <= max,
        "duration_ms {took:?}, more than {max:?}\n{}",
        ran.stdout
    );
    if let Some(min) = min {
        assert!(
            took >= min,
            "duration_ms {took:?}, less than {min:?}\n{}",
            ran.stdout
        );
    }
    assert!(
        ran.elapsed <= max + START_SLACK,
        "wall time {:?}, more than {max:?} + {START_SLACK:?} for start-up (duration_ms {took:?})",
        ran.elapsed
    );
    doc
}

/// `timeout` plus the 10% the contract allows.
pub fn within(timeout: Duration) -> Duration {
    timeout + timeout / 10
}
