//! The exec backend: any command (Route53 weighted records, Gateway API
//! HTTPRoute weights, Traefik files, …) run from a template.
//!
//! The template is split into words once, with shell-like quoting, and each
//! word gets its placeholders replaced; it is never passed to `sh -c`, so a
//! value cannot become a second command. Placeholders:
//!
//! - `{pool}`, `{percent}`, `{weight}`, `{servers}`: the template runs once
//!   per pool (pools that gain traffic first);
//! - `{split}` (`blue=75,green=25`): the template runs once for all pools.
//!
//! `{weight}` is the pool's integer share out of 100 (largest remainder, so
//! they sum to 100; a pool above 0% gets at least 1); `{percent}` is the percentage as given (`75`, `0.5`).
//! The same values are in the environment: `SHIFT_POOL`, `SHIFT_PERCENT`,
//! `SHIFT_WEIGHT`, `SHIFT_SERVERS`, `SHIFT_SPLIT`, `SHIFT_BEFORE`.
//!
//! The command's exit status is the result. With a read command
//! (`--exec-read`, printing `blue=75,green=25`) shift can also show the live
//! split and verify a change by reading it back.

use golive_core::Deadline;
use std::time::Duration;

use serde_json::{Value, json};

use crate::backend::{Action, ApplyError, Backend, Left, Raw, ServerView, Snapshot, Target};
use crate::command;
use crate::split::{self, Pool, Split, fmt_pct};

/// One command to run: argv and extra environment.
type Run = (Vec<String>, Vec<(String, String)>);

/// Run once per pool, or once for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `{pool}`, `{percent}`, `{weight}`, `{servers}`.
    PerPool,
    /// `{split}`.
    Once,
}

/// `--exec*` flags (and their `SHIFT_*` variables).
#[derive(Debug, Default, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Command template: {pool} {percent} {weight} {servers} (run per pool) or {split} (run once).
    #[arg(long, env = "SHIFT_EXEC", value_name = "TEMPLATE")]
    pub exec: Option<String>,
    /// Command printing the live split (`blue=75,green=25`) for the exec backend.
    #[arg(long, env = "SHIFT_EXEC_READ", value_name = "CMD")]
    pub exec_read: Option<String>,
}

impl Flags {
    /// Whether any of them was given.
    pub fn given(&self) -> bool {
        self.exec.is_some() || self.exec_read.is_some()
    }
}

/// `[exec]` in the config file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    command: Option<String>,
    read_command: Option<String>,
}

impl Section {
    /// Nothing in `[exec]` is a path.
    pub fn resolve_paths(&mut self, _base: &std::path::Path) {}
}

/// The backend from flags over the config section.
pub fn build(f: Flags, s: Option<Section>) -> Result<Exec, golive_core::Error> {
    use golive_core::Error;
    let s = s.unwrap_or_default();
    let template = f.exec.or(s.command).ok_or_else(|| {
        Error::usage("the exec backend needs --exec TEMPLATE (or `command` under [exec])")
    })?;
    let read = f.exec_read.or(s.read_command);
    let e = Exec::new(&template, read.as_deref()).map_err(Error::usage)?;
    command::register_secrets(&e.template);
    if let Some(r) = &e.read {
        command::register_secrets(r);
    }
    Ok(e)
}

/// exec pools may be bare names; servers, if given, are passed to the
/// template as `{servers}`.
pub const SERVERS: crate::backend::ServerRule = crate::backend::ServerRule {
    needs_servers: false,
    valid: |s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:/@=+-".contains(c))
    },
};

/// The exec backend.
#[derive(Debug, Clone)]
pub struct Exec {
    /// The template, split into words.
    pub template: Vec<String>,
    /// Per pool or once.
    pub mode: Mode,
    /// A command printing the live split, if any.
    pub read: Option<Vec<String>>,
}

/// How close a read-back split must be to the request (percentage points):
/// external systems round to their own weight scales.
pub const VERIFY_TOLERANCE: f64 = 0.5;

impl Backend for Exec {
    fn kind(&self) -> &'static str {
        "exec"
    }

    /// JSON description.
    fn describe(&self) -> Value {
        json!({
            "kind": "exec",
            "command": command::display(&self.template),
            "mode": match self.mode { Mode::PerPool => "per_pool", Mode::Once => "once" },
            "read_command": self.read.as_ref().map(|r| command::display(r)),
        })
    }

    /// `exec aws route53 … (per pool)`.
    fn label(&self) -> String {
        let mode = match self.mode {
            Mode::PerPool => "per pool",
            Mode::Once => "once",
        };
        format!("exec `{}` ({mode})", command::display(&self.template))
    }

    /// `{weight}` is out of 100.
    fn max_weight(&self) -> u32 {
        100
    }

    fn target(&self, split: &Split, pools: &[Pool]) -> Target {
        target(split, pools)
    }

    /// Only with a read command (`--exec-read`).
    fn readable(&self) -> bool {
        self.read.is_some()
    }

    /// Run the read command and parse its split.
    fn read(&self, pools: &[Pool], timeout: Duration) -> Result<Snapshot, String> {
        let Some(argv) = &self.read else {
            return Err("the exec backend has no read command (--exec-read), so the live split cannot be seen".into());
        };
        let f = command::run(argv, &[], timeout)?;
        if !f.success() {
            return Err(format!(
                "read command `{}` failed ({})",
                command::display(argv),
                f.describe()
            ));
        }
        let text = f.stdout.trim();
        let live = parse_read(text, pools).map_err(|e| {
            format!(
                "read command `{}` printed {text:?}: {e}",
                command::display(argv)
            )
        })?;
        match live {
            Some(l) => Ok(snapshot(&l, pools)),
            None => Ok(Snapshot {
                split: None,
                servers: target(&Split(Vec::new()), pools)
                    .weights
                    .iter()
                    .map(|(p, _, _)| ServerView {
                        pool: Some(p.clone()),
                        name: p.clone(),
                        weight: 0,
                        state: None,
                        serving: None,
                    })
                    .collect(),
                others: Vec::new(),
                raw: Raw::Weights,
            }),
        }
    }

    fn exact_weights(&self) -> bool {
        false
    }

    /// The command lines a change runs.
    fn plan(&self, pools: &[Pool], from: Option<&Snapshot>, target: &Target) -> Vec<Action> {
        self.runs(pools, from, target)
            .into_iter()
            .map(|(argv, _)| Action::Run(argv))
            .collect()
    }

    /// Run them in order; stop at the first failure.
    fn apply(
        &self,
        pools: &[Pool],
        from: Option<&Snapshot>,
        target: &Target,
        timeout: Duration,
    ) -> Result<Vec<Action>, ApplyError> {
        let deadline = Deadline::after(timeout);
        let mut done = Vec::new();
        for (argv, env) in self.runs(pools, from, target) {
            let left_before = if done.is_empty() {
                Left::Unchanged
            } else {
                Left::Changed
            };
            let budget = deadline.left();
            let f = command::run(&argv, &env, budget).map_err(|message| ApplyError {
                message,
                left: left_before,
            })?;
            if f.timed_out {
                // It may have done part of its work.
                return Err(ApplyError {
                    message: format!("`{}` {}", command::display(&argv), f.describe()),
                    left: Left::Changed,
                });
            }
            if !f.success() {
                return Err(ApplyError {
                    message: format!("`{}` failed ({})", command::display(&argv), f.describe()),
                    left: left_before,
                });
            }
            golive_core::log::debug(&format!("ran {}", command::display(&argv)));
            done.push(Action::Run(argv));
        }
        Ok(done)
    }

    fn verify(&self, live: &Snapshot, target: &Target) -> Result<(), String> {
        verify(live, target)
    }

    fn holds(&self, snap: &Snapshot, target: &Target) -> bool {
        holds(snap, target)
    }
}

impl Exec {
    /// Build from a template string; the mode follows the placeholders.
    pub fn new(template: &str, read: Option<&str>) -> Result<Exec, String> {
        let words = command::split_words(template).map_err(|e| format!("--exec: {e}"))?;
        let has = |p: &str| words.iter().any(|w| w.contains(p));
        let per_pool = ["{pool}", "{percent}", "{weight}", "{servers}"]
            .iter()
            .any(|p| has(p));
        let mode = match (per_pool, has("{split}")) {
            (true, true) => {
                return Err("--exec: use either {split} (run once) or {pool}/{percent}/{weight} (run per pool), not both".into());
            }
            (_, true) => Mode::Once,
            (true, false) => Mode::PerPool,
            (false, false) => {
                return Err("--exec: the template needs a placeholder: {pool}, {percent}, {weight} or {split}".into());
            }
        };
        let read = read
            .map(|r| command::split_words(r).map_err(|e| format!("--exec-read: {e}")))
            .transpose()?;
        Ok(Exec {
            template: words,
            mode,
            read,
        })
    }

    fn runs(&self, pools: &[Pool], from: Option<&Snapshot>, target: &Target) -> Vec<Run> {
        let before = from.and_then(|f| f.split.as_ref());
        let mut common = vec![("SHIFT_SPLIT".to_string(), target.split.spec())];
        if let Some(b) = before {
            common.push(("SHIFT_BEFORE".into(), b.spec()));
        }
        match self.mode {
            Mode::Once => {
                let argv = self.fill(&[("{split}", target.split.spec())]);
                vec![(argv, common)]
            }
            Mode::PerPool => {
                let mut up = Vec::new();
                let mut down = Vec::new();
                for p in pools {
                    let pct = target.split.get(&p.name);
                    let was = before.map(|b| b.get(&p.name));
                    if was.is_some_and(|w| (w - pct).abs() <= split::EPSILON) {
                        continue;
                    }
                    let weight = target.weight(&p.name).unwrap_or(0).to_string();
                    let servers = p.servers.join(",");
                    let argv = self.fill(&[
                        ("{pool}", p.name.clone()),
                        ("{percent}", fmt_pct(pct)),
                        ("{weight}", weight.clone()),
                        ("{servers}", servers.clone()),
                    ]);
                    let mut env = common.clone();
                    env.push(("SHIFT_POOL".into(), p.name.clone()));
                    env.push(("SHIFT_PERCENT".into(), fmt_pct(pct)));
                    env.push(("SHIFT_WEIGHT".into(), weight));
                    env.push(("SHIFT_SERVERS".into(), servers));
                    if was.is_some_and(|w| w > pct) {
                        down.push((argv, env));
                    } else {
                        up.push((argv, env));
                    }
                }
                up.extend(down);
                up
            }
        }
    }

    fn fill(&self, values: &[(&str, String)]) -> Vec<String> {
        self.template
            .iter()
            .map(|w| {
                let mut w = w.clone();
                for (k, v) in values {
                    w = w.replace(k, v);
                }
                w
            })
            .collect()
    }
}

/// Parse what a read command prints: `POOL=WEIGHT` for every pool
/// (commas, spaces or newlines between), weights relative to their sum, so
/// `blue=75,green=25` and `blue=3,green=1` mean the same. All zero: `None`.
pub fn parse_read(text: &str, pools: &[Pool]) -> Result<Option<Split>, String> {
    let mut got: Vec<(String, f64)> = Vec::new();
    for part in text
        .split([',', ' ', '\n', '\t'])
        .filter(|p| !p.trim().is_empty())
    {
        let (name, w) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not POOL=WEIGHT"))?;
        let name = name.trim();
        if !pools.iter().any(|p| p.name == name) {
            return Err(format!("pool '{name}' is not configured"));
        }
        let w: f64 = w
            .trim()
            .trim_end_matches('%')
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| format!("'{part}' has no weight (a number from 0 up)"))?;
        got.push((name.to_string(), w));
    }
    let missing: Vec<&str> = pools
        .iter()
        .filter(|p| !got.iter().any(|(n, _)| n == &p.name))
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!("no weight for pool {}", missing.join(", ")));
    }
    let total: f64 = got.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return Ok(None);
    }
    Ok(Some(Split(
        pools
            .iter()
            .map(|p| {
                let w = got
                    .iter()
                    .find(|(n, _)| n == &p.name)
                    .map(|(_, w)| *w)
                    .unwrap_or(0.0);
                (p.name.clone(), w / total * 100.0)
            })
            .collect(),
    )))
}

/// The exec target: the split, with `{weight}` out of 100 per pool.
pub fn target(split: &Split, pools: &[Pool]) -> Target {
    let full = Split(
        pools
            .iter()
            .map(|p| (p.name.clone(), split.get(&p.name)))
            .collect(),
    );
    let w = split::hundred_weights(&full);
    Target {
        split: split.clone(),
        weights: pools
            .iter()
            .zip(w)
            .map(|(p, w)| (p.name.clone(), p.name.clone(), w))
            .collect(),
        exact: split.clone(),
    }
}

/// A snapshot standing for a known split (read back, or the journal's).
pub fn snapshot(live: &Split, pools: &[Pool]) -> Snapshot {
    crate::backend::snapshot_of(&target(live, pools), Raw::Weights)
}

/// Whether the live split already is the target, so there is nothing to do:
/// exactly the request or exactly the `{weight}`s it sends. (The read-back
/// tolerance is too wide here: a 0.3% canary over a live 100/0 would look
/// done.)
pub fn holds(live: &Snapshot, target: &Target) -> bool {
    live.split.as_ref().is_some_and(|s| {
        s.close_to(&target.split, split::EPSILON) || s.close_to(&sent(target), split::EPSILON)
    })
}

/// The split the `{weight}`s give (they sum to 100).
fn sent(target: &Target) -> Split {
    Split(
        target
            .weights
            .iter()
            .map(|(p, _, w)| (p.clone(), f64::from(*w)))
            .collect(),
    )
}

/// A read-back split within [`VERIFY_TOLERANCE`] of the request passes, and
/// so does one that holds exactly the `{weight}`s sent (out of 100, they can
/// differ from a split like 99.4/0.3/0.3 by more than the tolerance).
pub fn verify(live: &Snapshot, target: &Target) -> Result<(), String> {
    match &live.split {
        Some(s) if s.close_to(&target.split, VERIFY_TOLERANCE) => Ok(()),
        Some(s) if s.close_to(&sent(target), split::EPSILON) => Ok(()),
        Some(s) => Err(format!(
            "the read command reports {} (want {})",
            s.spec(),
            target.split.spec()
        )),
        None => Err("the read command reports no split".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::parse_spec;

    fn pools() -> Vec<Pool> {
        vec![
            Pool {
                name: "blue".into(),
                servers: vec![],
            },
            Pool {
                name: "green".into(),
                servers: vec!["rec-g".into()],
            },
        ]
    }

    #[test]
    fn read_output_is_relative_weights() {
        let s = parse_read("blue=3,green=1\n", &pools()).unwrap().unwrap();
        assert_eq!(s.spec(), "blue=75,green=25");
        assert_eq!(
            parse_read("blue=75 green=25", &pools())
                .unwrap()
                .unwrap()
                .spec(),
            "blue=75,green=25"
        );
        assert!(parse_read("blue=0,green=0", &pools()).unwrap().is_none());
        assert!(parse_read("blue=1", &pools()).is_err());
        assert!(parse_read("blue=1,red=1,green=1", &pools()).is_err());
        assert!(parse_read("blue=x,green=1", &pools()).is_err());
    }

    #[test]
    fn mode_follows_placeholders() {
        assert_eq!(
            Exec::new("set {pool} {percent}", None).unwrap().mode,
            Mode::PerPool
        );
        assert_eq!(Exec::new("set {split}", None).unwrap().mode, Mode::Once);
        assert!(Exec::new("set {split} {pool}", None).is_err());
        assert!(Exec::new("set nothing", None).is_err());
    }

    #[test]
    fn values_fill_words_without_a_shell() {
        let e = Exec::new(
            r#"kubectl patch httproute app -p '{"w":{weight}}' --pool={pool}"#,
            None,
        )
        .unwrap();
        let s = Split::resolve(&parse_spec("blue=75,green=25").unwrap(), &pools()).unwrap();
        let t = target(&s, &pools());
        let runs = e.runs(&pools(), None, &t);
        assert_eq!(runs.len(), 2);
        assert_eq!(
            runs[0].0,
            [
                "kubectl",
                "patch",
                "httproute",
                "app",
                "-p",
                r#"{"w":75}"#,
                "--pool=blue"
            ]
        );
        // Rising pools first when the previous split is known.
        let before = snapshot(
            &Split::resolve(&parse_spec("blue=100").unwrap(), &pools()).unwrap(),
            &pools(),
        );
        let runs = e.runs(&pools(), Some(&before), &t);
        assert_eq!(runs[0].0.last().unwrap(), "--pool=green");
        assert!(
            runs[0]
                .1
                .contains(&("SHIFT_BEFORE".into(), "blue=100,green=0".into()))
        );
    }
}
