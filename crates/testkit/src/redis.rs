//! Redis from Debian's `redis-server` package, without persistence.

use std::process::Command;
use std::time::Duration;

use crate::process::Proc;

/// A running Redis server.
#[derive(Debug)]
pub struct Redis {
    proc: Proc,
    /// Loopback port.
    pub port: u16,
    password: Option<String>,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Start Redis without a password.
    pub fn start() -> Redis {
        Self::start_inner(None)
    }

    /// Start Redis that demands `password` (`requirepass`).
    pub fn start_with_password(password: &str) -> Redis {
        Self::start_inner(Some(password.to_string()))
    }

    fn start_inner(password: Option<String>) -> Redis {
        let bin = crate::require("redis-server", "redis-server");
        let dir = crate::temp_dir("redis");
        let port = crate::free_port();
        let mut conf = format!(
            "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\ndaemonize no\nprotected-mode no\nlogfile \"\"\n",
            dir.path().display()
        );
        if let Some(p) = &password {
            conf.push_str(&format!("requirepass {p}\n"));
        }
        let conf_path = dir.path().join("redis.conf");
        crate::write(&conf_path, &conf);
        let mut cmd = Command::new(bin);
        cmd.arg(&conf_path);
        let mut proc = Proc::spawn("redis", cmd, &dir.path().join("redis.log"));
        proc.wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(20));
        Redis {
            proc,
            port,
            password,
            _dir: dir,
        }
    }

    /// `redis://` URL, with the password when one is set.
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// Stop the server (as a crash or maintenance would, mid-test).
    pub fn stop(&mut self) {
        self.proc.stop();
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}
