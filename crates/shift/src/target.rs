//! What a change acts on: the backend, the pools, the journal and the
//! timeout, from flags over `--config shift.toml`.
//!
//! Precedence: a flag, then its `SHIFT_*` environment variable, then the
//! config file. Giving any flag of one backend selects that backend, whatever
//! the file says.
//!
//! Every backend is registered here and nowhere else: its flags in
//! `BackendFlags`, its config section in `FileConfig`, its name and server
//! rule in `KINDS`, its constructor in `build`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use golive_core::Error;
use golive_core::units::{de_opt_duration, de_opt_timeout, parse_timeout};
use serde::Deserialize;

use crate::backend::{Backend, ServerRule, exec, haproxy, nginx};
use crate::journal::Journal;
use crate::split::{self, Pool};

/// Default budget for each read and each apply-and-verify.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Backend, pools, journal, timeout.
#[derive(Debug)]
pub struct Target {
    /// The backend (`None` only for `history`).
    pub backend: Option<Box<dyn Backend>>,
    /// Pools in order.
    pub pools: Vec<Pool>,
    /// The journal, if configured.
    pub journal: Option<Journal>,
    /// Budget for each read, and each apply-and-verify.
    pub timeout: Duration,
}

/// The flags every subcommand takes to name what it acts on.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// TOML file with backend, pools and journal (flags override it).
    #[arg(long, env = "SHIFT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    backends: BackendFlags,
    /// A pool and its servers, NAME=SRV[,SRV] (repeat; replaces the config's pools).
    #[arg(long = "pool", value_name = "NAME=SRV[,SRV]")]
    pools: Vec<String>,
    /// Journal file (NDJSON, appended and fsynced).
    #[arg(long, env = "SHIFT_JOURNAL", value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Budget for each apply-and-verify (and for reading) [default: 10s].
    #[arg(long, env = "SHIFT_TIMEOUT", value_name = "DURATION", value_parser = parse_timeout)]
    timeout: Option<Duration>,
}

// ---- Backend registration: one entry per backend in each of the four. ----

/// Each backend's flags.
#[derive(Debug, Args)]
#[group(skip)]
struct BackendFlags {
    #[command(flatten)]
    haproxy: haproxy::Flags,
    #[command(flatten)]
    nginx: nginx::Flags,
    #[command(flatten)]
    exec: exec::Flags,
}

/// The config file's shape: each backend's section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    journal: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_opt_timeout")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    wait_lock: Option<Duration>,
    #[serde(default)]
    pools: BTreeMap<String, Vec<String>>,
    haproxy: Option<haproxy::Section>,
    nginx: Option<nginx::Section>,
    exec: Option<exec::Section>,
}

/// Each backend's name and what it takes as pool servers.
const KINDS: [(&str, ServerRule); 3] = [
    ("haproxy", haproxy::SERVERS),
    ("nginx", nginx::SERVERS),
    ("exec", exec::SERVERS),
];

impl BackendFlags {
    /// The kinds whose flags were given.
    fn given(&self) -> Vec<&'static str> {
        let given = [self.haproxy.given(), self.nginx.given(), self.exec.given()];
        KINDS
            .iter()
            .zip(given)
            .filter(|(_, g)| *g)
            .map(|((k, _), _)| *k)
            .collect()
    }
}

impl FileConfig {
    /// The kinds the file configures.
    fn sections(&self) -> Vec<&'static str> {
        let have = [
            self.haproxy.is_some(),
            self.nginx.is_some(),
            self.exec.is_some(),
        ];
        KINDS
            .iter()
            .zip(have)
            .filter(|(_, h)| *h)
            .map(|((k, _), _)| *k)
            .collect()
    }

    fn resolve_paths(&mut self, base: &Path) {
        if let Some(s) = self.haproxy.as_mut() {
            s.resolve_paths(base);
        }
        if let Some(s) = self.nginx.as_mut() {
            s.resolve_paths(base);
        }
        if let Some(s) = self.exec.as_mut() {
            s.resolve_paths(base);
        }
    }
}

/// The backend of kind `kind` from its flags over its config section.
fn build(kind: &str, f: BackendFlags, file: &mut FileConfig) -> Result<Box<dyn Backend>, Error> {
    Ok(match kind {
        "haproxy" => Box::new(haproxy::build(f.haproxy, file.haproxy.take())?),
        "nginx" => Box::new(nginx::build(f.nginx, file.nginx.take())?),
        _ => Box::new(exec::build(f.exec, file.exec.take())?),
    })
}

// ---- End of the registration. ----

fn load_file(path: &Path) -> Result<FileConfig, Error> {
    let mut f: FileConfig = golive_core::config::load(path)?;
    // Relative paths in the file are relative to the file.
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    if let Some(j) = f.journal.as_mut()
        && j.is_relative()
    {
        *j = base.join(&*j);
    }
    f.resolve_paths(&base);
    if f.sections().len() > 1 {
        let names: Vec<String> = KINDS.iter().map(|(k, _)| format!("[{k}]")).collect();
        return Err(Error::Config {
            path: path.display().to_string(),
            line: None,
            column: None,
            message: format!("configure one backend: {}, not several", names.join(", ")),
        });
    }
    Ok(f)
}

/// The target; `need_backend` is false only for `history`.
pub fn target(t: TargetArgs, need_backend: bool) -> Result<Target, Error> {
    target_with(t, need_backend).map(|(t, _)| t)
}

/// The target, and the config file's `wait_lock`.
pub fn target_with(t: TargetArgs, need_backend: bool) -> Result<(Target, Option<Duration>), Error> {
    let mut file = t
        .config
        .as_ref()
        .map(|p| load_file(p))
        .transpose()?
        .unwrap_or_default();
    let wait_lock = file.wait_lock;

    let flagged = t.backends.given();
    if flagged.len() > 1 {
        let names: Vec<String> = KINDS.iter().map(|(k, _)| format!("--{k}*")).collect();
        return Err(Error::usage(format!(
            "flags name more than one backend: use {}, not a mix",
            names.join(", ")
        )));
    }
    let kind = flagged
        .first()
        .copied()
        .or_else(|| file.sections().first().copied());
    let rule = kind.and_then(|k| KINDS.iter().find(|(n, _)| *n == k).map(|(_, r)| *r));
    let pools = pools(&t.pools, &file.pools, kind, rule)?;
    let backend = match kind {
        Some(k) => Some(build(k, t.backends, &mut file)?),
        None if need_backend => {
            return Err(Error::usage(
                "no backend: give --haproxy-socket and --haproxy-backend, --nginx-upstream-file, --exec, or --config FILE (see --help)",
            ));
        }
        None => None,
    };
    if need_backend && pools.len() < 2 {
        return Err(Error::usage(
            "name at least two pools: --pool blue=SRV[,SRV] --pool green=SRV[,SRV] (or [pools] in the config)",
        ));
    }
    let target = Target {
        backend,
        pools,
        journal: t.journal.or(file.journal).map(|path| Journal { path }),
        timeout: t.timeout.or(file.timeout).unwrap_or(DEFAULT_TIMEOUT),
    };
    Ok((target, wait_lock))
}

fn pools(
    flags: &[String],
    file: &BTreeMap<String, Vec<String>>,
    kind: Option<&str>,
    rule: Option<ServerRule>,
) -> Result<Vec<Pool>, Error> {
    let mut out: Vec<Pool> = Vec::new();
    if flags.is_empty() {
        for (name, servers) in file {
            out.push(Pool {
                name: name.clone(),
                servers: servers.clone(),
            });
        }
    } else {
        for f in flags {
            let (name, servers) = match f.split_once('=') {
                Some((n, s)) => (
                    n.trim(),
                    s.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect(),
                ),
                None => (f.trim(), Vec::new()),
            };
            out.push(Pool {
                name: name.to_string(),
                servers,
            });
        }
    }
    // Without a backend (history), servers follow the loosest rule.
    let rule = rule.unwrap_or(exec::SERVERS);
    let mut seen_servers: Vec<&str> = Vec::new();
    for (i, p) in out.iter().enumerate() {
        if !split::valid_name(&p.name) {
            return Err(Error::usage(format!(
                "pool name '{}' may only hold letters, digits, '_', '-' and '.'",
                p.name
            )));
        }
        if out[..i].iter().any(|q| q.name == p.name) {
            return Err(Error::usage(format!("pool '{}' is given twice", p.name)));
        }
        if p.servers.is_empty() && rule.needs_servers {
            return Err(Error::usage(format!(
                "pool '{}' has no servers: use --pool {}=SRV[,SRV]",
                p.name, p.name
            )));
        }
        for s in &p.servers {
            if !(rule.valid)(s) {
                return Err(Error::usage(format!(
                    "server '{s}' in pool '{}' has characters a {} server name cannot hold",
                    p.name,
                    kind.unwrap_or("pool")
                )));
            }
            if seen_servers.contains(&s.as_str()) {
                return Err(Error::usage(format!("server '{s}' is in two pools")));
            }
            seen_servers.push(s);
        }
    }
    Ok(out)
}
