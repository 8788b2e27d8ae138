//! Redis from Debian's `redis-server` package, without persistence.

use std::process::Command;
use std::time::Duration;

use crate::process::Proc;

/// A running Redis server.
#[derive(Debug)]
pub struct Redis {
    proc: Proc,
    /// Loopback port (the TLS port when started with TLS).
    pub port: u16,
    password: Option<String>,
    tls: bool,
    _dir: tempfile::TempDir,
}

/// How to start one: a password, TLS, ACL users.
#[derive(Debug, Default)]
pub struct RedisBuilder {
    password: Option<String>,
    tls: Option<crate::pki::Leaf>,
    users: Vec<(String, String)>,
}

impl RedisBuilder {
    /// The default user's password (`requirepass`).
    pub fn password(mut self, p: &str) -> Self {
        self.password = Some(p.to_string());
        self
    }

    /// Serve TLS only (`tls-port`, no plaintext port) with this certificate.
    pub fn tls(mut self, leaf: &crate::pki::Leaf) -> Self {
        self.tls = Some(leaf.clone());
        self
    }

    /// An ACL user with every right (`user NAME on >PASSWORD ~* &* +@all`).
    pub fn acl_user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_string(), password.to_string()));
        self
    }

    /// Start it.
    pub fn start(self) -> Redis {
        Redis::start_inner(self)
    }
}

impl Redis {
    /// Start Redis without a password.
    pub fn start() -> Redis {
        Self::start_inner(RedisBuilder::default())
    }

    /// Start Redis that demands `password` (`requirepass`).
    pub fn start_with_password(password: &str) -> Redis {
        Self::builder().password(password).start()
    }

    /// Choose a password, TLS and users, then `start()`.
    pub fn builder() -> RedisBuilder {
        RedisBuilder::default()
    }

    fn start_inner(b: RedisBuilder) -> Redis {
        let password = b.password.clone();
        let bin = crate::require("redis-server", "redis-server");
        let dir = crate::temp_dir("redis");
        let port = crate::free_port();
        let mut conf = format!(
            "bind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\ndaemonize no\nprotected-mode no\nlogfile \"\"\n",
            dir.path().display()
        );
        match &b.tls {
            Some(leaf) => conf.push_str(&format!(
                "port 0\ntls-port {port}\ntls-cert-file {}\ntls-key-file {}\ntls-auth-clients no\n",
                leaf.cert.display(),
                leaf.key.display()
            )),
            None => conf.push_str(&format!("port {port}\n")),
        }
        if let Some(p) = &password {
            conf.push_str(&format!("requirepass {p}\n"));
        }
        for (user, pw) in &b.users {
            conf.push_str(&format!("user {user} on >{pw} ~* &* +@all\n"));
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
            tls: b.tls.is_some(),
            _dir: dir,
        }
    }

    /// `redis://` (or `rediss://` on 127.0.0.1) URL, with the password when one is set.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        match &self.password {
            Some(p) => format!("{scheme}://:{p}@127.0.0.1:{}/0", self.port),
            None => format!("{scheme}://127.0.0.1:{}/0", self.port),
        }
    }

    /// A URL for an ACL user, on `host` (TLS checks the name).
    pub fn user_url(&self, host: &str, user: &str, password: &str) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://{user}:{password}@{host}:{}/0", self.port)
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
