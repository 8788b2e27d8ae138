//! HAProxy through its runtime API on an admin socket (unix path or TCP).
//!
//! - read: `show servers state BACKEND` (weights, operational and admin
//!   state, columns found by the header's names);
//! - apply: one `set server BACKEND/SERVER weight N` per connection, weights
//!   that rise first and weights that fall last, so the backend never has
//!   all of its weight at zero on the way; any non-empty reply is an error
//!   ("No such server.", …);
//! - persist: `show servers state` (every backend) saved atomically where
//!   HAProxy's `server-state-file` reads it, so a reload keeps the weights.
//!
//! Every connection has a timeout; a socket that accepts and never answers
//! costs at most the remaining budget.

use golive_core::Deadline;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::backend::{
    Action, ApplyError, Backend, Left, Raw, ServerView, Snapshot, Target, derive,
};
use crate::split::Pool;

/// `--haproxy-*` flags (and their `SHIFT_*` variables).
#[derive(Debug, Default, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// HAProxy admin socket: a unix path or HOST:PORT (`stats socket … level admin`).
    #[arg(long, env = "SHIFT_HAPROXY_SOCKET", value_name = "PATH|HOST:PORT")]
    pub haproxy_socket: Option<String>,
    /// HAProxy backend holding the pools' servers.
    #[arg(long, env = "SHIFT_HAPROXY_BACKEND", value_name = "NAME")]
    pub haproxy_backend: Option<String>,
    /// Save `show servers state` here after each verified change (HAProxy's
    /// `server-state-file`), so a reload keeps the weights.
    #[arg(long, env = "SHIFT_STATE_FILE", value_name = "PATH")]
    pub state_file: Option<PathBuf>,
}

impl Flags {
    /// Whether any of them was given.
    pub fn given(&self) -> bool {
        self.haproxy_socket.is_some() || self.haproxy_backend.is_some() || self.state_file.is_some()
    }
}

/// `[haproxy]` in the config file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    socket: Option<String>,
    backend: Option<String>,
    state_file: Option<PathBuf>,
}

impl Section {
    /// Relative paths in the file are relative to the file's directory.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(s) = self.state_file.as_mut()
            && s.is_relative()
        {
            *s = base.join(&*s);
        }
        if let Some(s) = self.socket.as_mut()
            && let Ok(Address::Unix(p)) = Address::parse(s)
            && p.is_relative()
        {
            *s = base.join(p).display().to_string();
        }
    }
}

/// The backend from flags over the config section.
pub fn build(f: Flags, s: Option<Section>) -> Result<Haproxy, golive_core::Error> {
    use golive_core::Error;
    let s = s.unwrap_or_default();
    let socket = f.haproxy_socket.or(s.socket).ok_or_else(|| {
        Error::usage("the HAProxy backend needs --haproxy-socket PATH|HOST:PORT (or `socket` under [haproxy])")
    })?;
    let backend = f.haproxy_backend.or(s.backend).ok_or_else(|| {
        Error::usage(
            "the HAProxy backend needs --haproxy-backend NAME (or `backend` under [haproxy])",
        )
    })?;
    if !valid_name(&backend) {
        return Err(Error::usage(format!(
            "HAProxy backend name '{backend}' may only hold letters, digits, '_', '-', '.' and ':'"
        )));
    }
    Ok(Haproxy {
        address: Address::parse(&socket).map_err(Error::usage)?,
        backend,
        state_file: f.state_file.or(s.state_file),
    })
}

/// HAProxy pools name servers of the backend.
pub const SERVERS: crate::backend::ServerRule = crate::backend::ServerRule {
    needs_servers: true,
    valid: valid_name,
};

/// A backend or server name HAProxy accepts.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// Where the admin socket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A unix socket path.
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
}

impl Address {
    /// `/run/haproxy/admin.sock`, `unix:PATH`, `127.0.0.1:9999`, `tcp:HOST:PORT`
    /// or HAProxy's own `ipv4@HOST:PORT`. Anything with a `/` is a path; a
    /// `host:port` with a numeric port is TCP.
    pub fn parse(s: &str) -> Result<Address, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty HAProxy socket address".into());
        }
        if let Some(p) = s.strip_prefix("unix:").or_else(|| s.strip_prefix("unix@")) {
            return Ok(Address::Unix(PathBuf::from(p)));
        }
        for prefix in ["tcp:", "tcp@", "ipv4@", "ipv6@"] {
            if let Some(a) = s.strip_prefix(prefix) {
                return tcp(a).ok_or_else(|| format!("'{s}' is not HOST:PORT"));
            }
        }
        if s.contains('/') {
            return Ok(Address::Unix(PathBuf::from(s)));
        }
        Ok(tcp(s).unwrap_or_else(|| Address::Unix(PathBuf::from(s))))
    }
}

fn tcp(a: &str) -> Option<Address> {
    let (host, port) = a.rsplit_once(':')?;
    (!host.is_empty() && port.parse::<u16>().is_ok()).then(|| Address::Tcp(a.to_string()))
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Unix(p) => write!(f, "{}", p.display()),
            Address::Tcp(a) => write!(f, "{a}"),
        }
    }
}

/// The HAProxy backend.
#[derive(Debug, Clone)]
pub struct Haproxy {
    /// Admin socket.
    pub address: Address,
    /// The backend (HAProxy `backend` section) holding the pools' servers.
    pub backend: String,
    /// Where to save `show servers state` after each verified change.
    pub state_file: Option<PathBuf>,
}

/// Each single call waits at most this long, whatever the budget.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

impl Backend for Haproxy {
    fn kind(&self) -> &'static str {
        "haproxy"
    }

    /// JSON description.
    fn describe(&self) -> Value {
        json!({
            "kind": "haproxy",
            "socket": self.address.to_string(),
            "backend": self.backend,
            "state_file": self.state_file.as_ref().map(|p| p.display().to_string()),
        })
    }

    /// `haproxy backend app via /run/haproxy/admin.sock`.
    fn label(&self) -> String {
        format!("haproxy backend {} via {}", self.backend, self.address)
    }

    /// Read the pools' servers from `show servers state BACKEND`.
    fn read(&self, pools: &[Pool], timeout: Duration) -> Result<Snapshot, String> {
        let deadline = Deadline::after(timeout);
        let reply = self.command(&format!("show servers state {}", self.backend), deadline)?;
        let rows = parse_state(&reply).map_err(|e| {
            let r = reply.trim();
            if r.contains("Can't find backend") || r.contains("No such backend") {
                format!("HAProxy has no backend '{}' ({r})", self.backend)
            } else {
                format!(
                    "unexpected reply to `show servers state {}`: {e}",
                    self.backend
                )
            }
        })?;
        let mut servers = Vec::new();
        let mut missing = Vec::new();
        for p in pools {
            for s in &p.servers {
                match rows.iter().find(|r| &r.name == s) {
                    Some(r) => servers.push(ServerView {
                        pool: Some(p.name.clone()),
                        name: s.clone(),
                        weight: r.weight,
                        state: Some(r.state.clone()),
                        serving: Some(r.serving),
                    }),
                    None => missing.push(format!("{s} (pool {})", p.name)),
                }
            }
        }
        if !missing.is_empty() {
            let have: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
            return Err(format!(
                "HAProxy backend '{}' has no server {} (it has: {})",
                self.backend,
                missing.join(", "),
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            ));
        }
        let others = rows
            .iter()
            .filter(|r| !servers.iter().any(|s| s.name == r.name))
            .map(|r| ServerView {
                pool: None,
                name: r.name.clone(),
                weight: r.weight,
                state: Some(r.state.clone()),
                serving: Some(r.serving),
            })
            .collect();
        Ok(Snapshot {
            split: derive(pools, &servers, false),
            servers,
            others,
            raw: Raw::Weights,
        })
    }

    /// The `set server` commands, rising weights first.
    fn plan(&self, _pools: &[Pool], from: Option<&Snapshot>, target: &Target) -> Vec<Action> {
        let current =
            |s: &str| from.and_then(|f| f.servers.iter().find(|v| v.name == s).map(|v| v.weight));
        let mut up = Vec::new();
        let mut down = Vec::new();
        for (_, server, w) in &target.weights {
            let cmd = format!("set server {}/{server} weight {w}", self.backend);
            match current(server) {
                Some(c) if c == *w => {}
                Some(c) if c > *w => down.push(Action::Socket(cmd)),
                _ => up.push(Action::Socket(cmd)),
            }
        }
        up.extend(down);
        up
    }

    /// Send the plan; stop at the first reply that is not empty.
    fn apply(
        &self,
        _pools: &[Pool],
        from: Option<&Snapshot>,
        target: &Target,
        timeout: Duration,
    ) -> Result<Vec<Action>, ApplyError> {
        let deadline = Deadline::after(timeout);
        let plan = self.plan(&[], from, target);
        let mut done = Vec::new();
        for a in plan {
            let Action::Socket(cmd) = &a else { continue };
            let left = if done.is_empty() {
                Left::Unchanged
            } else {
                Left::Changed
            };
            match self.command(cmd, deadline) {
                Ok(reply) if reply.trim().is_empty() => done.push(a),
                Ok(reply) => {
                    return Err(ApplyError {
                        message: format!("HAProxy refused `{cmd}`: {}", one_line(&reply)),
                        left,
                    });
                }
                Err(e) => {
                    // The command may or may not have been executed.
                    return Err(ApplyError {
                        message: e,
                        left: Left::Changed,
                    });
                }
            }
        }
        Ok(done)
    }

    fn persist(&self, timeout: Duration) -> Result<Option<Value>, String> {
        self.save_state(timeout)
    }
}

impl Haproxy {
    /// Send one command and return the reply.
    pub fn command(&self, cmd: &str, deadline: Deadline) -> Result<String, String> {
        let left = deadline.cap(CALL_TIMEOUT);
        if left.is_zero() {
            return Err(format!("no time left to send `{cmd}` to HAProxy"));
        }
        let what = format!("HAProxy admin socket {}", self.address);
        let mut stream: Box<dyn ReadWrite> = match &self.address {
            Address::Unix(p) => Box::new(
                connect_unix(p.clone(), left)
                    .map_err(|e| format!("cannot connect to {what}: {e}"))?,
            ),
            Address::Tcp(a) => Box::new(
                connect_tcp(a, left).map_err(|e| format!("cannot connect to {what}: {e}"))?,
            ),
        };
        let io = |e: std::io::Error| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) {
                format!(
                    "{what} did not answer `{cmd}` within {}",
                    golive_core::units::human_duration(left)
                )
            } else {
                format!("{what}: `{cmd}`: {e}")
            }
        };
        stream.set_timeouts(left).map_err(io)?;
        stream
            .write_all(format!("{cmd}\n").as_bytes())
            .map_err(io)?;
        let mut out = Vec::new();
        let mut buf = [0u8; 16384];
        loop {
            let remaining = deadline.cap(CALL_TIMEOUT);
            if remaining.is_zero() {
                return Err(io(std::io::ErrorKind::TimedOut.into()));
            }
            stream.set_timeouts(remaining).map_err(io)?;
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io(e)),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Save `show servers state` to the state file, if one is configured.
    pub fn save_state(&self, timeout: Duration) -> Result<Option<Value>, String> {
        let Some(path) = &self.state_file else {
            return Ok(None);
        };
        let deadline = Deadline::after(timeout);
        let reply = self.command("show servers state", deadline)?;
        parse_state(&reply)
            .map_err(|e| format!("unexpected reply to `show servers state`: {e}"))?;
        golive_core::fs::write_atomic(path, format!("{}\n", reply.trim_end()).as_bytes())
            .map_err(|e| format!("cannot write HAProxy state file {}: {e}", path.display()))?;
        Ok(Some(
            json!({ "path": path.display().to_string(), "saved": true }),
        ))
    }
}

/// One row of `show servers state`.
#[derive(Debug, Clone)]
struct Row {
    name: String,
    weight: u32,
    state: String,
    serving: bool,
}

// srv_admin_state bits (HAProxy's SRV_ADMF_*).
const ADMF_MAINT: u32 = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const ADMF_DRAIN: u32 = 0x08 | 0x10;

fn parse_state(text: &str) -> Result<Vec<Row>, String> {
    let mut lines = text.lines();
    let version = lines.next().unwrap_or("").trim();
    if version != "1" {
        return Err(format!(
            "expected format version 1, got: {}",
            one_line(text)
        ));
    }
    let header = lines
        .next()
        .and_then(|l| l.strip_prefix("# "))
        .ok_or_else(|| "no column header".to_string())?;
    let cols: Vec<&str> = header.split_whitespace().collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| *c == name)
            .ok_or_else(|| format!("no column {name}"))
    };
    let (name_at, weight_at) = (col("srv_name")?, col("srv_uweight")?);
    let (op_at, admin_at) = (col("srv_op_state")?, col("srv_admin_state")?);
    let mut rows = Vec::new();
    for l in lines.filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let f: Vec<&str> = l.split_whitespace().collect();
        let get = |i: usize| f.get(i).copied().ok_or_else(|| format!("short line: {l}"));
        let num = |i: usize| -> Result<u32, String> {
            get(i)?
                .parse()
                .map_err(|_| format!("not a number in column {i}: {l}"))
        };
        let (op, admin) = (num(op_at)?, num(admin_at)?);
        let state = if admin & ADMF_MAINT != 0 {
            "MAINT"
        } else if admin & ADMF_DRAIN != 0 {
            "DRAIN"
        } else {
            match op {
                0 => "DOWN",
                1 => "STARTING",
                2 => "UP",
                3 => "STOPPING",
                _ => "UNKNOWN",
            }
        };
        rows.push(Row {
            name: get(name_at)?.to_string(),
            weight: num(weight_at)?,
            state: state.to_string(),
            serving: admin & (ADMF_MAINT | ADMF_DRAIN) == 0 && op != 0,
        });
    }
    Ok(rows)
}

fn one_line(s: &str) -> String {
    let t: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if t.is_empty() {
        "(empty)".into()
    } else {
        t.join(" ")
    }
}

trait ReadWrite: Read + Write {
    fn set_timeouts(&self, d: Duration) -> std::io::Result<()>;
}

impl ReadWrite for UnixStream {
    fn set_timeouts(&self, d: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(d))?;
        self.set_write_timeout(Some(d))
    }
}

impl ReadWrite for TcpStream {
    fn set_timeouts(&self, d: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(d))?;
        self.set_write_timeout(Some(d))
    }
}

/// Connecting a unix socket can block when the listener's backlog is full;
/// do it on a helper thread so the timeout holds.
fn connect_unix(path: PathBuf, timeout: Duration) -> std::io::Result<UnixStream> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(UnixStream::connect(&path));
    });
    rx.recv_timeout(timeout).unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out",
        ))
    })
}

fn connect_tcp(addr: &str, timeout: Duration) -> std::io::Result<TcpStream> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            Address::parse("/run/h.sock").unwrap(),
            Address::Unix("/run/h.sock".into())
        );
        assert_eq!(
            Address::parse("unix:h.sock").unwrap(),
            Address::Unix("h.sock".into())
        );
        assert_eq!(
            Address::parse("127.0.0.1:9999").unwrap(),
            Address::Tcp("127.0.0.1:9999".into())
        );
        assert_eq!(
            Address::parse("ipv4@10.0.0.1:9999").unwrap(),
            Address::Tcp("10.0.0.1:9999".into())
        );
        assert_eq!(
            Address::parse("lb.internal:9999").unwrap(),
            Address::Tcp("lb.internal:9999".into())
        );
        assert_eq!(
            Address::parse("admin.sock").unwrap(),
            Address::Unix("admin.sock".into())
        );
        assert!(Address::parse("tcp:nohost").is_err());
    }

    #[test]
    fn state_parsing() {
        let text = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n4 app 1 blue1 127.0.0.1 2 0 3 1\n4 app 2 green1 127.0.0.1 2 1 0 1\n4 app 3 x 127.0.0.1 0 0 5 1\n\n";
        let rows = parse_state(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[0].weight, rows[0].state.as_str(), rows[0].serving),
            (3, "UP", true)
        );
        assert_eq!((rows[1].state.as_str(), rows[1].serving), ("MAINT", false));
        assert_eq!((rows[2].state.as_str(), rows[2].serving), ("DOWN", false));
        assert!(parse_state("Can't find backend.\n\n").is_err());
    }
}
