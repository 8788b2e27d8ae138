//! HAProxy from Debian's `haproxy` package (2.6), in master-worker mode in
//! the foreground, with a config written per test.
//!
//! What a started [`Haproxy`] offers:
//! - a frontend on [`Haproxy::port`] balancing one backend (`app` unless
//!   named otherwise) over named servers, no health checks (servers are UP);
//! - an admin socket ([`Haproxy::socket`], `stats socket … level admin`) and,
//!   when asked, a TCP one ([`Haproxy::tcp_admin`]);
//! - the built-in Prometheus exporter on its own port
//!   ([`Haproxy::metrics_url`]);
//! - optionally a `server-state-file` read on every (re)load
//!   ([`Haproxy::state_file`]), and [`Haproxy::reload`] (SIGUSR2 to the
//!   master: a new worker reads the config, the old one leaves).
//!
//! ```no_run
//! let blue = testkit::Nginx::start(r#"location / { return 200 "blue"; }"#);
//! let green = testkit::Nginx::start(r#"location / { return 200 "green"; }"#);
//! let h = testkit::haproxy::Haproxy::blue_green(blue.port, green.port);
//! assert_eq!(testkit::http_get(h.port, "/").unwrap().0, 200);
//! ```
//!
//! As root HAProxy runs fine without dropping privileges, so the config sets
//! no `user`/`group`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::Proc;

/// A running HAProxy (master and one worker).
#[derive(Debug)]
pub struct Haproxy {
    proc: Proc,
    /// The frontend's loopback port.
    pub port: u16,
    /// The Prometheus exporter's loopback port (`/metrics`).
    pub prometheus_port: u16,
    backend: String,
    socket: PathBuf,
    tcp_admin: Option<String>,
    state_file: Option<PathBuf>,
    dir: tempfile::TempDir,
}

/// What to start HAProxy with.
#[derive(Debug, Clone)]
pub struct HaproxyBuilder {
    backend: String,
    balance: String,
    servers: Vec<(String, String, Option<u32>)>,
    tcp_admin: bool,
    state_file: bool,
    extra_backends: String,
}

impl Default for HaproxyBuilder {
    fn default() -> Self {
        HaproxyBuilder {
            backend: "app".into(),
            balance: "roundrobin".into(),
            servers: Vec::new(),
            tcp_admin: false,
            state_file: false,
            extra_backends: String::new(),
        }
    }
}

impl HaproxyBuilder {
    /// Name the balanced backend (default `app`).
    pub fn backend(mut self, name: &str) -> Self {
        self.backend = name.to_string();
        self
    }

    /// The `balance` algorithm (default `roundrobin`).
    pub fn balance(mut self, algo: &str) -> Self {
        self.balance = algo.to_string();
        self
    }

    /// Add `server NAME ADDR` (config weight 1) to the backend.
    pub fn server(mut self, name: &str, addr: &str) -> Self {
        self.servers
            .push((name.to_string(), addr.to_string(), None));
        self
    }

    /// Add `server NAME ADDR weight W` to the backend.
    pub fn server_weight(mut self, name: &str, addr: &str, weight: u32) -> Self {
        self.servers
            .push((name.to_string(), addr.to_string(), Some(weight)));
        self
    }

    /// Also open an admin socket on a loopback TCP port.
    pub fn tcp_admin(mut self) -> Self {
        self.tcp_admin = true;
        self
    }

    /// Keep a `server-state-file` and load it on every (re)load
    /// (`load-server-state-from-file global`).
    pub fn state_file(mut self) -> Self {
        self.state_file = true;
        self
    }

    /// Extra config text appended after the main backend (more backends).
    pub fn extra(mut self, config: &str) -> Self {
        self.extra_backends.push_str(config);
        self.extra_backends.push('\n');
        self
    }

    /// Write the config, start HAProxy and wait until its frontend, its
    /// exporter and its admin socket answer. A port taken by someone else
    /// between choosing and binding it means a new try with fresh ports.
    pub fn start(self) -> Haproxy {
        let bin = crate::require("haproxy", "haproxy");
        let dir = crate::temp_dir("haproxy");
        for attempt in 1.. {
            match self.try_start(&bin, &dir) {
                Ok((proc, port, prometheus_port, tcp_admin)) => {
                    let d = dir.path();
                    return Haproxy {
                        proc,
                        port,
                        prometheus_port,
                        backend: self.backend.clone(),
                        socket: d.join("admin.sock"),
                        tcp_admin,
                        state_file: self.state_file.then(|| d.join("server-state")),
                        dir,
                    };
                }
                Err(proc) if attempt < 5 => drop(proc),
                Err(proc) => proc.fail("could not bind its ports after 5 tries"),
            }
        }
        unreachable!()
    }

    /// One try: `Err` when HAProxy exited because a port was taken.
    #[allow(clippy::type_complexity)]
    fn try_start(
        &self,
        bin: &Path,
        dir: &tempfile::TempDir,
    ) -> Result<(Proc, u16, u16, Option<String>), Proc> {
        let d = dir.path();
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 3 {
            let p = crate::free_port();
            if !ports.contains(&p) {
                ports.push(p);
            }
        }
        let (port, prometheus_port) = (ports[0], ports[1]);
        let socket = d.join("admin.sock");
        let tcp_admin = self.tcp_admin.then(|| format!("127.0.0.1:{}", ports[2]));
        let state_file = self.state_file.then(|| d.join("server-state"));

        let mut global = format!("global\n  stats socket {} level admin\n", socket.display());
        if let Some(addr) = &tcp_admin {
            global.push_str(&format!("  stats socket ipv4@{addr} level admin\n"));
        }
        if let Some(p) = &state_file {
            global.push_str(&format!("  server-state-file {}\n", p.display()));
        }
        let mut defaults = String::from(
            "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n",
        );
        if state_file.is_some() {
            defaults.push_str("  load-server-state-from-file global\n");
        }
        let mut backend = format!("backend {}\n  balance {}\n", self.backend, self.balance);
        for (name, addr, weight) in &self.servers {
            match weight {
                Some(w) => backend.push_str(&format!("  server {name} {addr} weight {w}\n")),
                None => backend.push_str(&format!("  server {name} {addr}\n")),
            }
        }
        let conf = format!(
            "{global}\n{defaults}\nfrontend fe\n  bind 127.0.0.1:{port}\n  default_backend {be}\n\nfrontend prometheus\n  bind 127.0.0.1:{prometheus_port}\n  http-request use-service prometheus-exporter if {{ path /metrics }}\n  http-request return status 404\n\n{backend}\n{extra}",
            be = self.backend,
            extra = self.extra_backends,
        );
        crate::write(&d.join("haproxy.cfg"), &conf);
        let log = d.join("haproxy.log");
        let _ = std::fs::remove_file(&log);

        let mut cmd = Command::new(bin);
        cmd.args(["-W", "-db", "-f"]).arg(d.join("haproxy.cfg"));
        let mut proc = Proc::spawn("haproxy", cmd, &log).with_stop_signal(libc::SIGTERM);
        // Ready: the master has finished loading (it handles reload signals
        // only from then on) and the worker answers on the admin socket.
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Loading success.")
                && admin_unix(&socket, "show info").is_ok_and(|s| s.contains("Pid:"))
            {
                break;
            }
            if !proc.is_running() {
                if text.contains("Address already in use") {
                    return Err(proc);
                }
                proc.fail("exited while starting");
            }
            if Instant::now() > until {
                proc.fail("not ready after 20s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        proc.wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(20));
        proc.wait_tcp(
            ([127, 0, 0, 1], prometheus_port).into(),
            Duration::from_secs(20),
        );
        Ok((proc, port, prometheus_port, tcp_admin))
    }
}

impl Haproxy {
    /// Start from a builder.
    pub fn builder() -> HaproxyBuilder {
        HaproxyBuilder::default()
    }

    /// Backend `app` with server `blue` on `127.0.0.1:{blue}` and `green` on
    /// `127.0.0.1:{green}`, both at config weight 1.
    pub fn blue_green(blue: u16, green: u16) -> Haproxy {
        Self::builder()
            .server("blue", &format!("127.0.0.1:{blue}"))
            .server("green", &format!("127.0.0.1:{green}"))
            .start()
    }

    /// The balanced backend's name.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The unix admin socket (`level admin`).
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The TCP admin socket as `127.0.0.1:PORT`, when built with
    /// [`HaproxyBuilder::tcp_admin`].
    pub fn tcp_admin(&self) -> Option<&str> {
        self.tcp_admin.as_deref()
    }

    /// The `server-state-file` path, when built with
    /// [`HaproxyBuilder::state_file`].
    pub fn state_file(&self) -> Option<&Path> {
        self.state_file.as_deref()
    }

    /// `http://127.0.0.1:{port}{path}` on the frontend.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The Prometheus exporter's URL.
    pub fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.prometheus_port)
    }

    /// The temp dir holding haproxy.cfg, the socket and the log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The log (master and workers) so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }

    /// Send one runtime-API command on the unix admin socket and return the
    /// reply (panics with the log if the socket does not answer).
    pub fn command(&self, cmd: &str) -> String {
        admin_unix(&self.socket, cmd)
            .unwrap_or_else(|e| self.proc.fail(&format!("admin socket: {cmd}: {e}")))
    }

    /// The current (runtime) weight of each server of the backend, read with
    /// `show servers state`, in config order.
    pub fn weights(&self) -> Vec<(String, u32)> {
        let text = self.command(&format!("show servers state {}", self.backend));
        parse_weights(&text)
    }

    /// The current weight of one server.
    pub fn weight(&self, server: &str) -> u32 {
        self.weights()
            .into_iter()
            .find(|(n, _)| n == server)
            .map(|(_, w)| w)
            .unwrap_or_else(|| panic!("no server {server} in backend {}", self.backend))
    }

    /// The worker's pid, from `show info`.
    pub fn worker_pid(&self) -> Option<u32> {
        let info = admin_unix(&self.socket, "show info").ok()?;
        info.lines()
            .find_map(|l| l.strip_prefix("Pid: "))
            .and_then(|p| p.trim().parse().ok())
    }

    /// Reload as `systemctl reload haproxy` does in master-worker mode
    /// (SIGUSR2 to the master), and wait until the new worker answers on the
    /// admin socket. Runtime weights are lost unless the state file holds them.
    pub fn reload(&mut self) {
        let old = self.worker_pid();
        let sock = self.socket.clone();
        let worker = move || {
            admin_unix(&sock, "show info").ok().and_then(|i| {
                i.lines()
                    .find_map(|l| l.strip_prefix("Pid: "))
                    .and_then(|p| p.trim().parse::<u32>().ok())
            })
        };
        // A signal that arrives while the master is busy can be missed; ask
        // again every 2 s (a second reload is harmless).
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            self.proc.signal(libc::SIGUSR2);
            let again = Instant::now() + Duration::from_secs(2);
            while Instant::now() < again {
                let pid = worker();
                if pid.is_some() && pid != old {
                    return;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            if Instant::now() > until || !self.proc.is_running() {
                self.proc
                    .fail("not reloaded (no new worker on the admin socket) after 20s");
            }
        }
    }

    /// Stop HAProxy.
    pub fn stop(&mut self) {
        self.proc.stop();
    }

    /// Count which body answers `n` sequential `GET /` requests through the
    /// frontend (one connection each): `(body, count)` sorted by body.
    /// Panics if a request fails.
    pub fn count_bodies(&self, n: usize) -> Vec<(String, usize)> {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for i in 0..n {
            let (status, body) = get(self.port, "/").unwrap_or_else(|e| {
                self.proc
                    .fail(&format!("request {i} through the frontend failed: {e}"))
            });
            assert_eq!(status, 200, "request {i}: status {status}, body {body:?}");
            *counts.entry(body.trim().to_string()).or_default() += 1;
        }
        counts.into_iter().collect()
    }
}

/// `GET path` over HTTP/1.0 on a fresh connection: (status, body). The
/// request goes out in one write with TCP_NODELAY, so a few hundred of them
/// take milliseconds, not Nagle's 40 ms each.
pub fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {buf:?}")))?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// One command on a unix admin socket (non-interactive: HAProxy answers and
/// closes).
pub fn admin_unix(path: &Path, cmd: &str) -> std::io::Result<String> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(format!("{cmd}\n").as_bytes())?;
    let mut out = String::new();
    let until = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 65536];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 || Instant::now() > until {
            break;
        }
        out.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    Ok(out)
}

/// `(server, weight)` from a `show servers state` reply (columns found by
/// the header's names).
pub fn parse_weights(text: &str) -> Vec<(String, u32)> {
    let mut lines = text.lines();
    let header = lines
        .find(|l| l.starts_with("# "))
        .unwrap_or_else(|| panic!("no header in show servers state: {text:?}"));
    let cols: Vec<&str> = header[2..].split_whitespace().collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| *c == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let (name_at, weight_at) = (col("srv_name"), col("srv_uweight"));
    lines
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[name_at].to_string(),
                f[weight_at].parse().expect("numeric weight"),
            )
        })
        .collect()
}
