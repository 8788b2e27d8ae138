//! Shared setup for shift's integration tests: real HAProxy in front of two
//! real nginx pools, a journal in a temp dir, and the binary under test.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;
use testkit::Nginx;
use testkit::cli::Cli;
use testkit::haproxy::Haproxy;

pub const BIN: &str = env!("CARGO_BIN_EXE_shift");

/// nginx answering `body` on every path.
pub fn pool(body: &str) -> Nginx {
    Nginx::start(&format!("location / {{ return 200 \"{body}\"; }}"))
}

/// HAProxy backend `app`: pool blue = servers blue1 and blue2 (both on the
/// blue nginx), pool green = server green1 (the green nginx).
pub struct Lab {
    pub blue: Nginx,
    pub green: Nginx,
    pub haproxy: Haproxy,
    pub dir: tempfile::TempDir,
    pub journal: PathBuf,
}

impl Lab {
    pub fn start() -> Lab {
        Self::with(|b| b)
    }

    pub fn with(
        f: impl FnOnce(testkit::haproxy::HaproxyBuilder) -> testkit::haproxy::HaproxyBuilder,
    ) -> Lab {
        let blue = pool("blue");
        let green = pool("green");
        let b = Haproxy::builder()
            .server("blue1", &format!("127.0.0.1:{}", blue.port))
            .server("blue2", &format!("127.0.0.1:{}", blue.port))
            .server("green1", &format!("127.0.0.1:{}", green.port));
        let haproxy = f(b).start();
        let dir = testkit::temp_dir("shift");
        let journal = dir.path().join("shift.journal");
        Lab {
            blue,
            green,
            haproxy,
            dir,
            journal,
        }
    }

    /// The flags naming backend, pools and journal, as the issue spells them.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--haproxy-socket".into(),
            self.haproxy.socket().display().to_string(),
            "--haproxy-backend".into(),
            "app".into(),
            "--pool".into(),
            "blue=blue1,blue2".into(),
            "--pool".into(),
            "green=green1".into(),
            "--journal".into(),
            self.journal.display().to_string(),
        ]
    }

    /// `shift SUB <backend flags>`.
    pub fn shift(&self, sub: &str) -> Cli {
        Cli::new(BIN).arg(sub).args(self.args())
    }

    /// Each line of the journal, parsed.
    pub fn journal_lines(&self) -> Vec<Value> {
        journal_lines(&self.journal)
    }

    /// (blue, green) response counts over `n` requests through HAProxy.
    pub fn traffic(&self, n: usize) -> (usize, usize) {
        let counts = self.haproxy.count_bodies(n);
        let get = |b: &str| {
            counts
                .iter()
                .find(|(k, _)| k == b)
                .map(|(_, c)| *c)
                .unwrap_or(0)
        };
        assert_eq!(
            get("blue") + get("green"),
            n,
            "unexpected bodies: {counts:?}"
        );
        (get("blue"), get("green"))
    }

    /// Live weights of blue1, blue2, green1.
    pub fn weights(&self) -> Vec<u32> {
        ["blue1", "blue2", "green1"]
            .iter()
            .map(|s| self.haproxy.weight(s))
            .collect()
    }
}

pub fn journal_lines(path: &std::path::Path) -> Vec<Value> {
    match std::fs::read_to_string(path) {
        Ok(t) => t
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("journal line is not JSON: {e}: {l}"))
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Journal lines with this `event`.
pub fn events<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == event).collect()
}

#[allow(unused_imports)] // each test binary uses some of them
pub use testkit::deadline::{START_SLACK, assert_honoured, tool_time};

/// An nginx upstream file whose test and reload commands always succeed:
/// for tests of shift's own record and control flow, not of nginx.
pub mod upstream {
    use std::path::PathBuf;

    use super::BIN;
    use testkit::cli::Cli;

    pub struct Setup {
        _dir: tempfile::TempDir,
        pub upstream: PathBuf,
        pub journal: PathBuf,
    }

    /// Servers whose names look like secrets (`key…`, `secrets…`) to a careless
    /// scanner, though nothing in them is one.
    pub const BLUE: &str = "keyvault:8443";
    pub const GREEN: &str = "secrets-db.internal:5432";

    impl Setup {
        pub fn new() -> Setup {
            let dir = testkit::temp_dir("shift-journal");
            let upstream = dir.path().join("upstream.conf");
            testkit::write(
                &upstream,
                &format!("server {BLUE} weight=1;\nserver {GREEN} down;\n"),
            );
            let journal = dir.path().join("shift.journal");
            Setup {
                _dir: dir,
                upstream,
                journal,
            }
        }

        pub fn shift(&self, sub: &str) -> Cli {
            Cli::new(BIN)
                .arg(sub)
                .args([
                    "--nginx-upstream-file",
                    &self.upstream.display().to_string(),
                ])
                .args(["--nginx-test-cmd", "true", "--nginx-reload-cmd", "true"])
                .args(["--pool", &format!("blue={BLUE}")])
                .args(["--pool", &format!("green={GREEN}")])
                .args(["--journal", &self.journal.display().to_string()])
        }
    }
}
