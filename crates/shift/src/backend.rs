//! The three backends behind one interface: read the live split, plan a
//! change, apply it, restore a snapshot, and verify by reading back.
//!
//! - [`crate::haproxy`]: runtime API on the admin socket; weights 0–256.
//! - [`crate::nginx`]: an upstream include file, `nginx -t`, reload.
//! - [`crate::exec`]: a command template run per pool or once.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::split::{self, Pool, Split};
use crate::{exec, haproxy, nginx};

/// One server as read from the backend.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerView {
    /// The pool it belongs to (`None`: in no configured pool).
    pub pool: Option<String>,
    /// Its name (HAProxy server name, nginx `host:port`, exec pool name).
    pub name: String,
    /// Its live weight (nginx `down` reads as 0).
    pub weight: u32,
    /// `UP`, `DOWN`, `MAINT`, `DRAIN`, … when the backend knows.
    pub state: Option<String>,
    /// Whether it can take traffic apart from its weight (not down, not in
    /// maintenance or drain). `None` when the backend cannot tell.
    pub serving: Option<bool>,
}

/// What the backend holds right now.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The split derived from live weights (`None`: no pool has weight, or
    /// the backend cannot be read).
    pub split: Option<Split>,
    /// Every pool server, in pool order.
    pub servers: Vec<ServerView>,
    /// Servers the backend has that no pool names (they take traffic too).
    pub others: Vec<ServerView>,
    /// Backend-specific state needed to put this snapshot back exactly.
    pub raw: Raw,
}

/// Backend-specific state kept for restoring a snapshot.
#[derive(Debug, Clone)]
pub enum Raw {
    /// HAProxy: the weights in `servers` are everything.
    Haproxy,
    /// nginx: the upstream file's bytes (`None`: it did not exist).
    Nginx(Option<String>),
    /// exec: the split, when known.
    Exec,
}

impl Snapshot {
    /// Live weight of each pool server, as `(server, weight)`.
    pub fn weights(&self) -> Vec<(String, u32)> {
        self.servers
            .iter()
            .map(|s| (s.name.clone(), s.weight))
            .collect()
    }

    /// The share of traffic each pool really gets: weights of servers that
    /// can serve (UP, not in maintenance or drain). `None` when no server
    /// can take traffic or the backend cannot tell.
    pub fn effective(&self, pools: &[Pool]) -> Option<Split> {
        if self.servers.iter().any(|s| s.serving.is_none()) {
            return None;
        }
        derive(pools, &self.servers, true)
    }
}

/// The split from per-server weights; `serving_only` ignores servers that
/// cannot take traffic.
pub fn derive(pools: &[Pool], servers: &[ServerView], serving_only: bool) -> Option<Split> {
    let weight_of = |p: &Pool| -> u64 {
        servers
            .iter()
            .filter(|s| s.pool.as_deref() == Some(p.name.as_str()))
            .filter(|s| !serving_only || s.serving != Some(false))
            .map(|s| u64::from(s.weight))
            .sum()
    };
    let total: u64 = pools.iter().map(weight_of).sum();
    if total == 0 {
        return None;
    }
    Some(Split(
        pools
            .iter()
            .map(|p| (p.name.clone(), weight_of(p) as f64 / total as f64 * 100.0))
            .collect(),
    ))
}

/// What a change should leave: the split and each server's weight.
#[derive(Debug, Clone)]
pub struct Target {
    /// The requested split.
    pub split: Split,
    /// `(pool, server, weight)` for every pool server.
    pub weights: Vec<(String, String, u32)>,
    /// The split those integer weights really give.
    pub exact: Split,
}

impl Target {
    /// Map `split` onto per-server weights (up to `max`) for `pools`.
    pub fn new(split: &Split, pools: &[Pool], max: u32) -> Target {
        let spec: Vec<(f64, usize)> = pools
            .iter()
            .map(|p| (split.get(&p.name), p.servers.len().max(1)))
            .collect();
        let w = split::pool_weights(&spec, max);
        let shares = split::shares(&spec, &w);
        let mut weights = Vec::new();
        for (p, &wp) in pools.iter().zip(&w) {
            if p.servers.is_empty() {
                weights.push((p.name.clone(), p.name.clone(), wp));
            }
            for s in &p.servers {
                weights.push((p.name.clone(), s.clone(), wp));
            }
        }
        Target {
            split: split.clone(),
            weights,
            exact: Split(
                pools
                    .iter()
                    .zip(shares)
                    .map(|(p, s)| (p.name.clone(), s))
                    .collect(),
            ),
        }
    }

    /// The weight for `server`.
    pub fn weight(&self, server: &str) -> Option<u32> {
        self.weights
            .iter()
            .find(|(_, s, _)| s == server)
            .map(|(_, _, w)| *w)
    }

    /// A target that puts a snapshot's weights back (`None` when the
    /// snapshot holds no servers, i.e. the previous state is not known).
    pub fn from_snapshot(snap: &Snapshot) -> Option<Target> {
        if snap.servers.is_empty() {
            return None;
        }
        let split = snap.split.clone().unwrap_or_else(|| Split(Vec::new()));
        Some(Target {
            exact: split.clone(),
            split,
            weights: snap
                .servers
                .iter()
                .map(|s| (s.pool.clone().unwrap_or_default(), s.name.clone(), s.weight))
                .collect(),
        })
    }

    /// `{"server": weight, …}`.
    pub fn weights_json(&self) -> Value {
        let mut m = Map::new();
        for (_, s, w) in &self.weights {
            m.insert(s.clone(), json!(w));
        }
        Value::Object(m)
    }
}

/// `{"server": weight, …}` for a snapshot.
pub fn weights_json(snap: &Snapshot) -> Value {
    let mut m = Map::new();
    for s in &snap.servers {
        m.insert(s.name.clone(), json!(s.weight));
    }
    Value::Object(m)
}

/// After a failed apply, what the backend holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// Nothing was changed.
    Unchanged,
    /// Something changed and the backend already put the previous state back
    /// (nginx restores its file itself).
    Restored,
    /// Something may have changed; the caller must restore.
    Changed,
}

/// A failed apply: what went wrong and what it left behind.
#[derive(Debug, Clone)]
pub struct ApplyError {
    /// One readable sentence.
    pub message: String,
    /// What the backend holds now.
    pub left: Left,
}

/// One thing a change does, for `--dry-run` and the report.
#[derive(Debug, Clone)]
pub enum Action {
    /// A runtime-API command on the HAProxy socket.
    Socket(String),
    /// A file rewritten atomically, with its unified diff.
    Write {
        /// The file.
        path: String,
        /// `--- old` / `+++ new` unified diff.
        diff: String,
    },
    /// A command run (argv).
    Run(Vec<String>),
}

impl Action {
    /// JSON form: `{"socket": "set server …"}`, `{"write": path, "diff": …}`,
    /// `{"run": [argv…], "command": "display form"}`.
    pub fn to_json(&self) -> Value {
        match self {
            Action::Socket(c) => json!({ "socket": c }),
            Action::Write { path, diff } => json!({ "write": path, "diff": diff }),
            Action::Run(argv) => json!({
                "run": golive_core::redact::command_words(argv),
                "command": crate::command::display(argv),
            }),
        }
    }

    /// One line (or a diff block) for text output.
    pub fn to_text(&self) -> String {
        match self {
            Action::Socket(c) => format!("socket: {c}"),
            Action::Write { path, diff } => format!("write {path}:\n{diff}"),
            Action::Run(argv) => format!("run: {}", crate::command::display(argv)),
        }
    }
}

/// The configured backend.
#[derive(Debug, Clone)]
pub enum Backend {
    /// HAProxy runtime API.
    Haproxy(haproxy::Haproxy),
    /// nginx upstream include file.
    Nginx(nginx::Nginx),
    /// A command template.
    Exec(exec::Exec),
}

impl Backend {
    /// `haproxy`, `nginx` or `exec`.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Haproxy(_) => "haproxy",
            Backend::Nginx(_) => "nginx",
            Backend::Exec(_) => "exec",
        }
    }

    /// JSON description for reports and the journal.
    pub fn describe(&self) -> Value {
        match self {
            Backend::Haproxy(h) => h.describe(),
            Backend::Nginx(n) => n.describe(),
            Backend::Exec(e) => e.describe(),
        }
    }

    /// One line for people: `haproxy backend app via /run/haproxy.sock`.
    pub fn label(&self) -> String {
        match self {
            Backend::Haproxy(h) => h.label(),
            Backend::Nginx(n) => n.label(),
            Backend::Exec(e) => e.label(),
        }
    }

    /// The largest per-server weight this backend takes.
    pub fn max_weight(&self) -> u32 {
        match self {
            Backend::Haproxy(_) | Backend::Nginx(_) => split::MAX_WEIGHT,
            Backend::Exec(_) => 100,
        }
    }

    /// The target for `split`: HAProxy and nginx map onto server weights;
    /// exec's `{weight}` is out of 100.
    pub fn target(&self, split: &Split, pools: &[Pool]) -> Target {
        match self {
            Backend::Exec(_) => exec::target(split, pools),
            _ => Target::new(split, pools, self.max_weight()),
        }
    }

    /// Whether live state can be read back (exec needs `--exec-read`).
    pub fn readable(&self) -> bool {
        match self {
            Backend::Exec(e) => e.read.is_some(),
            _ => true,
        }
    }

    /// Read the live state. An error means it could not be seen.
    pub fn read(&self, pools: &[Pool], timeout: Duration) -> Result<Snapshot, String> {
        match self {
            Backend::Haproxy(h) => h.read(pools, timeout),
            Backend::Nginx(n) => n.read(pools),
            Backend::Exec(e) => e.read(pools, timeout),
        }
    }

    /// What applying `target` over `from` would do.
    pub fn plan(&self, pools: &[Pool], from: Option<&Snapshot>, target: &Target) -> Vec<Action> {
        match self {
            Backend::Haproxy(h) => h.plan(from, target),
            Backend::Nginx(n) => n.plan(pools, from, target),
            Backend::Exec(e) => e.plan(pools, from, target),
        }
    }

    /// Apply `target` over `from`; on error, say what was left.
    pub fn apply(
        &self,
        pools: &[Pool],
        from: Option<&Snapshot>,
        target: &Target,
        timeout: Duration,
    ) -> Result<Vec<Action>, ApplyError> {
        match self {
            Backend::Haproxy(h) => h.apply(from, target, timeout),
            Backend::Nginx(n) => n.apply(pools, from, target, timeout),
            Backend::Exec(e) => e.apply(pools, from, target, timeout),
        }
    }

    /// Put `snap` back (the state a run started from), from whatever is
    /// live now (`now`, if known).
    pub fn restore(
        &self,
        pools: &[Pool],
        now: Option<&Snapshot>,
        snap: &Snapshot,
        timeout: Duration,
    ) -> Result<Vec<Action>, ApplyError> {
        match self {
            Backend::Nginx(n) => n.restore(snap, timeout),
            _ => {
                let Some(t) = Target::from_snapshot(snap) else {
                    return Err(ApplyError {
                        message: "the previous split is not known, so it cannot be put back".into(),
                        left: Left::Changed,
                    });
                };
                self.apply(pools, now, &t, timeout)
            }
        }
    }

    /// Whether `live` holds `target`. `Err` says what differs.
    pub fn verify(&self, live: &Snapshot, target: &Target) -> Result<(), String> {
        match self {
            Backend::Exec(_) => exec::verify(live, target),
            _ => {
                let mut diffs = Vec::new();
                for (_, server, want) in &target.weights {
                    match live.servers.iter().find(|s| &s.name == server) {
                        Some(s) if s.weight == *want => {}
                        Some(s) => {
                            diffs.push(format!("{server} has weight {} (want {want})", s.weight))
                        }
                        None => diffs.push(format!("{server} is missing")),
                    }
                }
                if diffs.is_empty() {
                    Ok(())
                } else {
                    Err(diffs.join(", "))
                }
            }
        }
    }

    /// Whether `live` is the state `start` recorded (after a restore).
    pub fn verify_restored(&self, live: &Snapshot, start: &Snapshot) -> Result<(), String> {
        match (&live.raw, &start.raw) {
            (Raw::Nginx(now), Raw::Nginx(before)) => {
                if now == before {
                    Ok(())
                } else {
                    Err("the upstream file differs from the one before the change".into())
                }
            }
            _ => match Target::from_snapshot(start) {
                Some(t) => self.verify(live, &t),
                None => Err("the state before the change is not known".into()),
            },
        }
    }

    /// Whether `snap` equals `target` exactly (so there is nothing to do).
    pub fn holds(&self, snap: &Snapshot, target: &Target) -> bool {
        match self {
            Backend::Exec(_) => exec::holds(snap, target),
            _ => self.verify(snap, target).is_ok(),
        }
    }

    /// After a verified change: persist what must survive a reload (HAProxy's
    /// server-state file). `Ok(None)` when nothing is configured.
    pub fn persist(&self, timeout: Duration) -> Result<Option<Value>, String> {
        match self {
            Backend::Haproxy(h) => h.save_state(timeout),
            _ => Ok(None),
        }
    }
}
