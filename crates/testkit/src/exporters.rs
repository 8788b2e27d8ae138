//! Debian's `prometheus-node-exporter` (only its textfile collector) and
//! `prometheus-pushgateway`, on free loopback ports: where the recipes'
//! `--format prom` output lands.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::Proc;

/// A running node_exporter reading a textfile directory.
#[derive(Debug)]
pub struct NodeExporter {
    proc: Proc,
    /// Loopback port.
    pub port: u16,
    textfile_dir: PathBuf,
    _dir: tempfile::TempDir,
}

impl NodeExporter {
    /// Start it with only the textfile collector, on a fresh directory.
    pub fn start() -> NodeExporter {
        let bin = crate::require("prometheus-node-exporter", "prometheus-node-exporter");
        let dir = crate::temp_dir("node-exporter");
        let textfile_dir = dir.path().join("textfile");
        std::fs::create_dir_all(&textfile_dir).expect("mkdir textfile dir");
        let port = crate::free_port();
        let mut cmd = Command::new(bin);
        cmd.arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!(
                "--collector.textfile.directory={}",
                textfile_dir.display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let mut proc = Proc::spawn("node_exporter", cmd, &dir.path().join("node-exporter.log"));
        proc.wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(20));
        NodeExporter {
            proc,
            port,
            textfile_dir,
            _dir: dir,
        }
    }

    /// The textfile collector's directory.
    pub fn textfile_dir(&self) -> &Path {
        &self.textfile_dir
    }

    /// Its /metrics now.
    pub fn metrics(&self) -> String {
        crate::http_get(self.port, "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}

/// A running Pushgateway (no persistence).
#[derive(Debug)]
pub struct Pushgateway {
    proc: Proc,
    /// Loopback port.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Pushgateway {
    /// Start it.
    pub fn start() -> Pushgateway {
        let bin = crate::require("prometheus-pushgateway", "prometheus-pushgateway");
        let dir = crate::temp_dir("pushgateway");
        let port = crate::free_port();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let mut proc = Proc::spawn("pushgateway", cmd, &dir.path().join("pushgateway.log"));
        proc.wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(20));
        Pushgateway {
            proc,
            port,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its /metrics now.
    pub fn metrics(&self) -> String {
        crate::http_get(self.port, "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}
