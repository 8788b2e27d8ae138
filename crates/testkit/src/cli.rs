//! A tiny harness for running a golive binary the way a script does and
//! asserting what a user sees: exit code, stdout JSON, stderr.
//!
//! ```no_run
//! use testkit::cli::Cli;
//! // In an integration test, pass `env!("CARGO_BIN_EXE_probe")`.
//! let ran = Cli::new("target/debug/probe")
//!     .args(["tcp", "127.0.0.1:1"])
//!     .run();
//! ran.assert_code(2);
//! assert_eq!(ran.json()["status"], "critical");
//! ```

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A command to run.
#[derive(Debug)]
pub struct Cli {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    tool: Option<String>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Ran {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// stdout, lossily decoded.
    pub stdout: String,
    /// stderr, lossily decoded.
    pub stderr: String,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The binary's name (`probe`, `shift`, …), when known: which schema
    /// its documents are checked against.
    pub tool: Option<String>,
}

impl Cli {
    /// Run `bin` (use `env!("CARGO_BIN_EXE_<name>")`).
    pub fn new(bin: impl AsRef<OsStr>) -> Cli {
        let mut cmd = Command::new(bin.as_ref());
        // Tests see the same output whatever the developer's environment says.
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            if [
                "PROBE_",
                "DNS_WATCH_",
                "METRIC_GATE_",
                "SHIFT_",
                "ROLLBACK_",
            ]
            .iter()
            .any(|p| k.starts_with(p))
            {
                cmd.env_remove(&k);
            }
        }
        let tool = std::path::Path::new(bin.as_ref())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        Cli {
            cmd,
            stdin: None,
            tool,
        }
    }

    /// Add an argument.
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }

    /// Add arguments.
    pub fn args<I, S>(mut self, a: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(a);
        self
    }

    /// Set an environment variable.
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Run in this directory.
    pub fn current_dir(mut self, d: impl AsRef<std::path::Path>) -> Self {
        self.cmd.current_dir(d);
        self
    }

    /// Feed this to stdin.
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self
    }

    /// Start without waiting (for concurrent runs, killing mid-way).
    pub fn spawn(mut self) -> std::process::Child {
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn binary under test")
    }

    /// Start, send `sig` after `after`, and run to completion. Also returns
    /// how long the process took to end once signalled (the contract: within
    /// a second, with the summary so far on stdout).
    pub fn run_signalled(self, sig: i32, after: Duration) -> (Ran, Duration) {
        let t0 = Instant::now();
        let tool = self.tool.clone();
        let child = self.spawn();
        std::thread::sleep(after);
        let signalled = Instant::now();
        // SAFETY: kill(2) on the child we just started and have not reaped.
        unsafe {
            libc::kill(child.id() as i32, sig);
        }
        let out = child
            .wait_with_output()
            .expect("wait for binary under test");
        let to_end = signalled.elapsed();
        let ran = Ran {
            tool,
            ..Ran::from_output(out, t0.elapsed())
        };
        (ran, to_end)
    }

    /// Run to completion.
    pub fn run(mut self) -> Ran {
        let t0 = Instant::now();
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("spawn binary under test");
        if let Some(data) = self.stdin.take() {
            let mut si = child.stdin.take().expect("stdin");
            let _ = si.write_all(&data);
        }
        let out = child
            .wait_with_output()
            .expect("wait for binary under test");
        Ran {
            tool: self.tool,
            ..Ran::from_output(out, t0.elapsed())
        }
    }
}

impl Ran {
    /// Build a [`Ran`] from a finished child's output.
    pub fn from_output(out: std::process::Output, elapsed: Duration) -> Ran {
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
            tool: None,
        }
    }

    /// Assert the exit code, showing stdout and stderr when it differs.
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code {} (expected {expected})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// stdout parsed as one JSON document (panics showing it otherwise),
    /// checked against its tool's published schema.
    pub fn json(&self) -> serde_json::Value {
        let doc = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document: {e}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.stdout, self.stderr
            )
        });
        crate::schema::check(&doc, self.tool.as_deref());
        doc
    }

    /// stdout parsed as ndjson lines, each checked against the schema of
    /// the tool the last line (the summary) names.
    pub fn ndjson(&self) -> Vec<serde_json::Value> {
        let lines: Vec<serde_json::Value> = self
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("ndjson line is not JSON: {e}: {l}"))
            })
            .collect();
        let tool = lines
            .iter()
            .rev()
            .find_map(|d| d.get("tool").and_then(serde_json::Value::as_str))
            .map(str::to_string)
            .or_else(|| self.tool.clone());
        for d in &lines {
            crate::schema::check(d, tool.as_deref());
        }
        lines
    }

    /// stdout and stderr together (for "never printed anywhere" checks).
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Assert `needle` appears nowhere in stdout or stderr.
    pub fn assert_absent(&self, needle: &str) -> &Self {
        assert!(
            !self.all_output().contains(needle),
            "{needle:?} leaked into the output\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Assert the envelope every summary carries, and that `status` and
    /// `exit_code` agree with the process exit code.
    pub fn assert_envelope(&self, tool: &str) -> serde_json::Value {
        let doc = self.json();
        assert_eq!(doc["tool"], tool, "tool field: {doc}");
        for k in [
            "version",
            "status",
            "exit_code",
            "started_at",
            "duration_ms",
        ] {
            assert!(doc.get(k).is_some(), "envelope lacks `{k}`: {doc}");
        }
        assert_eq!(
            doc["exit_code"], self.code,
            "exit_code field vs process: {doc}"
        );
        let want = match self.code {
            0 => "ok",
            1 => "warning",
            2 => "critical",
            _ => "unknown",
        };
        assert_eq!(doc["status"], want, "status vs exit code: {doc}");
        doc
    }
}
