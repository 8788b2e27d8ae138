//! The backends behind one trait, [`Backend`]: read the live split, plan a
//! change, apply it, restore a snapshot, and verify by reading back.
//!
//! - [`haproxy`]: runtime API on the admin socket; weights 0–256.
//! - [`nginx`]: an upstream include file, `nginx -t`, reload.
//! - [`exec`]: a command template run per pool or once.
//!
//! Adding one (Envoy, Traefik, a cloud load balancer) means a module here
//! implementing [`Backend`], and its flags, config section and constructor
//! registered in [`crate::target`]; nothing else names a backend.

pub mod exec;
pub mod haproxy;
pub mod nginx;

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::split::{self, Pool, Split};

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

/// How a snapshot is put back exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    /// By setting the weights in `servers` again (HAProxy, exec).
    Weights,
    /// By writing a file's bytes back (nginx's upstream file; `None`: it
    /// did not exist).
    File(Option<String>),
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

/// What a backend accepts as pool servers.
#[derive(Debug, Clone, Copy)]
pub struct ServerRule {
    /// Whether every pool must name servers (exec pools may be bare names).
    pub needs_servers: bool,
    /// Whether a server name is one this backend can hold.
    pub valid: fn(&str) -> bool,
}

/// A load balancer (or anything that splits traffic) shift can drive.
///
/// The defaults are those of a backend whose state is per-server weights up
/// to [`split::MAX_WEIGHT`] that can be read back.
pub trait Backend: std::fmt::Debug + Send + Sync {
    /// `haproxy`, `nginx`, `exec`, …
    fn kind(&self) -> &'static str;

    /// JSON description for reports and the journal (secrets masked).
    fn describe(&self) -> Value;

    /// One line for people: `haproxy backend app via /run/haproxy.sock`.
    fn label(&self) -> String;

    /// The largest per-server weight this backend takes.
    fn max_weight(&self) -> u32 {
        split::MAX_WEIGHT
    }

    /// The target for `split`, mapped onto per-server weights.
    fn target(&self, split: &Split, pools: &[Pool]) -> Target {
        Target::new(split, pools, self.max_weight())
    }

    /// Whether live state can be read back.
    fn readable(&self) -> bool {
        true
    }

    /// Read the live state. An error means it could not be seen.
    fn read(&self, pools: &[Pool], timeout: Duration) -> Result<Snapshot, String>;

    /// A snapshot standing for `split` when it cannot be read back (the
    /// journal's last split, or what was just applied).
    fn stand_in(&self, split: &Split, pools: &[Pool]) -> Snapshot {
        let t = self.target(split, pools);
        pretend(self, pools, &t)
    }

    /// How a snapshot of `target` applied would be put back exactly (for
    /// planning the later steps of a dry run).
    fn raw_for(&self, _pools: &[Pool], _target: &Target) -> Raw {
        Raw::Weights
    }

    /// Servers the backend has that no pool names: a warning when they take
    /// traffic; a backend that would lose them on rewrite refuses.
    fn unpooled(&self, others: &[ServerView]) -> Result<(), String> {
        if others.iter().any(|o| o.weight > 0) {
            golive_core::log::warn(&format!(
                "servers in no pool also take traffic: {} (the split covers pool servers only)",
                describe_servers(others)
            ));
        }
        Ok(())
    }

    /// Whether journaled per-server weights can be compared with live ones
    /// exactly (a command template's weights are relative).
    fn exact_weights(&self) -> bool {
        true
    }

    /// What applying `target` over `from` would do.
    fn plan(&self, pools: &[Pool], from: Option<&Snapshot>, target: &Target) -> Vec<Action>;

    /// Apply `target` over `from`; on error, say what was left.
    fn apply(
        &self,
        pools: &[Pool],
        from: Option<&Snapshot>,
        target: &Target,
        timeout: Duration,
    ) -> Result<Vec<Action>, ApplyError>;

    /// Put `snap` back (the state a run started from), from whatever is
    /// live now (`now`, if known).
    fn restore(
        &self,
        pools: &[Pool],
        now: Option<&Snapshot>,
        snap: &Snapshot,
        timeout: Duration,
    ) -> Result<Vec<Action>, ApplyError> {
        let Some(t) = Target::from_snapshot(snap) else {
            return Err(ApplyError {
                message: "the previous split is not known, so it cannot be put back".into(),
                left: Left::Changed,
            });
        };
        self.apply(pools, now, &t, timeout)
    }

    /// Whether `live` holds `target`. `Err` says what differs.
    fn verify(&self, live: &Snapshot, target: &Target) -> Result<(), String> {
        verify_weights(live, target)
    }

    /// Whether `live` is the state `start` recorded (after a restore).
    fn verify_restored(&self, live: &Snapshot, start: &Snapshot) -> Result<(), String> {
        match Target::from_snapshot(start) {
            Some(t) => self.verify(live, &t),
            None => Err("the state before the change is not known".into()),
        }
    }

    /// Whether `snap` equals `target` exactly (so there is nothing to do).
    fn holds(&self, snap: &Snapshot, target: &Target) -> bool {
        self.verify(snap, target).is_ok()
    }

    /// After a verified change: persist what must survive a reload (HAProxy's
    /// server-state file). `Ok(None)` when nothing is configured.
    fn persist(&self, _timeout: Duration) -> Result<Option<Value>, String> {
        Ok(None)
    }
}

/// Every pool server's weight equals the target's. `Err` names the ones
/// that differ.
pub fn verify_weights(live: &Snapshot, target: &Target) -> Result<(), String> {
    let mut diffs = Vec::new();
    for (_, server, want) in &target.weights {
        match live.servers.iter().find(|s| &s.name == server) {
            Some(s) if s.weight == *want => {}
            Some(s) => diffs.push(format!("{server} has weight {} (want {want})", s.weight)),
            None => diffs.push(format!("{server} is missing")),
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join(", "))
    }
}

/// `name (weight N), …` for messages.
pub fn describe_servers(servers: &[ServerView]) -> String {
    servers
        .iter()
        .map(|o| format!("{} (weight {})", o.name, o.weight))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A snapshot as if `t` had been applied.
pub fn pretend<B: Backend + ?Sized>(backend: &B, pools: &[Pool], t: &Target) -> Snapshot {
    snapshot_of(t, backend.raw_for(pools, t))
}

/// The snapshot holding exactly `t`'s weights, restorable as `raw` says.
pub fn snapshot_of(t: &Target, raw: Raw) -> Snapshot {
    Snapshot {
        split: Some(t.split.clone()),
        servers: t
            .weights
            .iter()
            .map(|(p, s, w)| ServerView {
                pool: Some(p.clone()),
                name: s.clone(),
                weight: *w,
                state: None,
                serving: None,
            })
            .collect(),
        others: Vec::new(),
        raw,
    }
}
