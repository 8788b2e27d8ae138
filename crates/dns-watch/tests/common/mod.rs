//! Shared helpers for dns-watch's integration tests.
#![allow(dead_code)]

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use testkit::cli::Cli;

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

#[allow(unused_imports)] // each test binary uses some of them
pub use testkit::deadline::{START_SLACK, assert_took, tool_time, within};
