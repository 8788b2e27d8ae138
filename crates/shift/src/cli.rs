//! Flags, environment and `--config shift.toml`, turned into a plain
//! [`Config`] before any work starts; nothing past this module sees clap.
//!
//! Precedence: a flag, then its `SHIFT_*` environment variable, then the
//! config file. Giving any flag of one backend selects that backend, whatever
//! the file says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use golive_core::Error;
use golive_core::cli::CommonArgs;
use golive_core::output::Format;
use golive_core::units::{de_opt_duration, parse_duration, parse_percent, parse_timeout};
use serde::Deserialize;

use crate::backend::Backend;
use crate::command::split_words;
use crate::exec::Exec;
use crate::haproxy::{Address, Haproxy};
use crate::journal::Journal;
use crate::nginx::{Nginx, valid_server};
use crate::split::{self, Pool, Split};

const EXAMPLES: &str = "\
Examples:
  # What is live, and does it match the journal?
  shift status --haproxy-socket /run/haproxy/admin.sock --haproxy-backend app \\
    --pool blue=blue1,blue2 --pool green=green1 --journal /var/lib/shift/app.journal

  # Move a quarter of the traffic to green, read it back, remember the old split
  shift set --config shift.toml --split blue=75,green=25 --reason 'canary 2.4.1'

  # Ramp green to 25% in 5-point steps every 30s, stopping (and restoring) if the gate fails
  shift set --config shift.toml --split green=25 --step 5 --every 30s \\
    --gate 'metric-gate check --prometheus http://prometheus:9090 --rules gates.toml'

  # See what would be done, change nothing
  shift set --config shift.toml --split green=100 --dry-run --format text

  # Put back the split from before the last change; list the changes
  shift undo --config shift.toml
  shift history --config shift.toml --format text

`shift` is also a bash builtin: in scripts call it by path or as `env shift`.";

/// `shift`: move traffic between pools, prove it took, remember what it was.
#[derive(Debug, Parser)]
#[command(
    name = "shift",
    version,
    about = "Move traffic between pools (HAProxy, nginx or any command): journaled, locked, verified.",
    after_help = EXAMPLES,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Read the live weights, derive the split, report drift from the journal.
    Status(StatusArgs),
    /// Apply a split (optionally as a ramp), verify it by reading it back.
    Set(SetArgs),
    /// Print the journal's changes.
    History(HistoryArgs),
    /// Put back the split from before the last change.
    Undo(UndoArgs),
}

#[derive(Debug, Args)]
struct TargetArgs {
    /// TOML file with backend, pools and journal (flags override it).
    #[arg(long, env = "SHIFT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// HAProxy admin socket: a unix path or HOST:PORT (`stats socket … level admin`).
    #[arg(long, env = "SHIFT_HAPROXY_SOCKET", value_name = "PATH|HOST:PORT")]
    haproxy_socket: Option<String>,
    /// HAProxy backend holding the pools' servers.
    #[arg(long, env = "SHIFT_HAPROXY_BACKEND", value_name = "NAME")]
    haproxy_backend: Option<String>,
    /// Save `show servers state` here after each verified change (HAProxy's
    /// `server-state-file`), so a reload keeps the weights.
    #[arg(long, env = "SHIFT_STATE_FILE", value_name = "PATH")]
    state_file: Option<PathBuf>,
    /// nginx upstream include file that shift rewrites.
    #[arg(long, env = "SHIFT_NGINX_UPSTREAM_FILE", value_name = "PATH")]
    nginx_upstream_file: Option<PathBuf>,
    /// Command that tests nginx's configuration [default: nginx -t].
    #[arg(long, env = "SHIFT_NGINX_TEST_CMD", value_name = "CMD")]
    nginx_test_cmd: Option<String>,
    /// Command that reloads nginx [default: nginx -s reload].
    #[arg(long, env = "SHIFT_NGINX_RELOAD_CMD", value_name = "CMD")]
    nginx_reload_cmd: Option<String>,
    /// Command template: {pool} {percent} {weight} {servers} (run per pool) or {split} (run once).
    #[arg(long, env = "SHIFT_EXEC", value_name = "TEMPLATE")]
    exec: Option<String>,
    /// Command printing the live split (`blue=75,green=25`) for the exec backend.
    #[arg(long, env = "SHIFT_EXEC_READ", value_name = "CMD")]
    exec_read: Option<String>,
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

#[derive(Debug, Args)]
struct StatusArgs {
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Debug, Args)]
struct HistoryArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only the last N changes.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

#[derive(Debug, Args)]
struct ChangeArgs {
    /// Why: recorded in the journal.
    #[arg(long, env = "SHIFT_REASON", value_name = "TEXT")]
    reason: Option<String>,
    /// Print what would be done (socket commands, file diff, command lines); change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Wait up to this long for another shift to finish [default: fail within 0.5s].
    #[arg(long, env = "SHIFT_WAIT_LOCK", value_name = "DURATION", value_parser = parse_duration)]
    wait_lock: Option<Duration>,
}

#[derive(Debug, Args)]
struct SetArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The split: POOL=PERCENT,… (one pool may be left out and gets the rest).
    #[arg(long, value_name = "POOL=PCT,…", value_parser = parse_split, required = true)]
    split: SplitSpec,
    #[command(flatten)]
    change: ChangeArgs,
    /// Ramp: move at most this many percentage points per step.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, requires = "every")]
    step: Option<f64>,
    /// Ramp: wait this long between steps.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "step")]
    every: Option<Duration>,
    /// Ramp: run this (via `sh -c`) between steps; non-zero stops and restores the starting split.
    #[arg(long, value_name = "CMD", requires = "step")]
    gate: Option<String>,
    /// Longest a gate may run before it counts as failed.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, default_value = "5m")]
    gate_timeout: Duration,
}

/// A parsed `--split` value.
#[derive(Debug, Clone)]
struct SplitSpec(Vec<(String, f64)>);

fn parse_split(s: &str) -> Result<SplitSpec, String> {
    split::parse_spec(s).map(SplitSpec)
}

#[derive(Debug, Args)]
struct UndoArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    change: ChangeArgs,
}

/// Everything a run needs, resolved.
#[derive(Debug)]
pub struct Config {
    /// stdout format.
    pub format: Format,
    /// What to do.
    pub action: Action,
}

/// The subcommand, resolved.
#[derive(Debug)]
pub enum Action {
    /// `shift status`.
    Status(Target),
    /// `shift set`.
    Set(SetPlan),
    /// `shift undo`.
    Undo(ChangeOpts),
    /// `shift history`.
    History {
        /// Pools (for ordering) and journal.
        target: Target,
        /// Only the last N.
        limit: Option<usize>,
    },
}

/// Backend, pools, journal, timeout.
#[derive(Debug)]
pub struct Target {
    /// The backend (`None` only for `history`).
    pub backend: Option<Backend>,
    /// Pools in order.
    pub pools: Vec<Pool>,
    /// The journal, if configured.
    pub journal: Option<Journal>,
    /// Budget for each read, and each apply-and-verify.
    pub timeout: Duration,
}

/// Options shared by `set` and `undo`.
#[derive(Debug)]
pub struct ChangeOpts {
    /// Backend, pools, journal.
    pub target: Target,
    /// `--reason`.
    pub reason: Option<String>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--wait-lock`.
    pub wait_lock: Option<Duration>,
    /// How the command was invoked, for the lock file.
    pub invocation: String,
}

/// `shift set`, resolved.
#[derive(Debug)]
pub struct SetPlan {
    /// Backend, pools, journal, reason, dry run, lock wait.
    pub opts: ChangeOpts,
    /// The requested split, completed against the pools.
    pub split: Split,
    /// Ramp settings, if any.
    pub ramp: Option<Ramp>,
}

/// `--step`, `--every`, `--gate`.
#[derive(Debug, Clone)]
pub struct Ramp {
    /// Percentage points per step.
    pub step: f64,
    /// Wait between steps.
    pub every: Duration,
    /// Gate command (run with `sh -c`).
    pub gate: Option<String>,
    /// Longest a gate may run.
    pub gate_timeout: Duration,
}

/// The smallest ramp step, in percentage points.
pub const MIN_STEP: f64 = 0.01;

/// Default budget for each read and each apply-and-verify.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Parse `args` into a [`Config`], or the exit code to end with (help, version
/// and usage errors are handled here).
pub fn parse<I, T>(args: I) -> Result<(Config, CommonArgs), std::process::ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let invocation = invocation(&args);
    let cli: Cli = golive_core::cli::parse("shift", args)?;
    cli.common.init_log("shift");
    match resolve(cli.command, cli.common.format, invocation) {
        Ok(c) => Ok((c, cli.common)),
        Err(e) => Err(e.report("shift")),
    }
}

fn invocation(args: &[std::ffi::OsString]) -> String {
    // The subcommand and the split are enough to recognise a run; the rest
    // may be long (and is in the journal anyway).
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut out = vec!["shift".to_string()];
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        if ["status", "set", "undo", "history"].contains(&w.as_str()) && out.len() == 1 {
            out.push(w.clone());
        } else if w == "--split" {
            if let Some(v) = it.next() {
                out.push(format!("--split {v}"));
            }
        } else if let Some(v) = w.strip_prefix("--split=") {
            out.push(format!("--split {v}"));
        }
    }
    out.join(" ")
}

fn resolve(cmd: Cmd, format: Format, invocation: String) -> Result<Config, Error> {
    let allowed: &[Format] = match &cmd {
        Cmd::Status(_) => &[Format::Json, Format::Ndjson, Format::Text, Format::Prom],
        _ => &[Format::Json, Format::Ndjson, Format::Text],
    };
    if !allowed.contains(&format) {
        let names: Vec<&str> = allowed.iter().map(|f| f.as_str()).collect();
        return Err(Error::usage(format!(
            "--format {} is not supported here; use {} (see --help)",
            format.as_str(),
            names.join(", ")
        )));
    }
    let action = match cmd {
        Cmd::Status(a) => Action::Status(target(a.target, true)?),
        Cmd::History(a) => {
            let t = target(a.target, false)?;
            require_journal(&t, "history")?;
            Action::History {
                target: t,
                limit: a.limit,
            }
        }
        Cmd::Undo(a) => Action::Undo(change_opts(a.target, a.change, invocation)?),
        Cmd::Set(a) => {
            let opts = change_opts(a.target, a.change, invocation)?;
            let split = Split::resolve(&a.split.0, &opts.target.pools).map_err(Error::usage)?;
            let ramp = match (a.step, a.every) {
                (Some(step), Some(every)) => {
                    // Splits are kept to two decimals; a smaller step would
                    // be ignored (one jump) or mean millions of steps.
                    if step < MIN_STEP {
                        return Err(Error::usage(format!(
                            "--step must be at least {MIN_STEP} percentage points (see --help)"
                        )));
                    }
                    if let Some(g) = &a.gate {
                        crate::command::register_secrets(
                            &crate::command::split_words(g).unwrap_or_default(),
                        );
                    }
                    Some(Ramp {
                        step,
                        every,
                        gate: a.gate,
                        gate_timeout: a.gate_timeout,
                    })
                }
                _ => None,
            };
            Action::Set(SetPlan { opts, split, ramp })
        }
    };
    Ok(Config { format, action })
}

fn change_opts(t: TargetArgs, c: ChangeArgs, invocation: String) -> Result<ChangeOpts, Error> {
    let (target, wait_default) = target_with(t, true)?;
    if !c.dry_run {
        require_journal(&target, "changes")?;
    }
    Ok(ChangeOpts {
        target,
        reason: c.reason.filter(|r| !r.trim().is_empty()),
        dry_run: c.dry_run,
        wait_lock: c.wait_lock.or(wait_default),
        invocation,
    })
}

fn require_journal(t: &Target, what: &str) -> Result<(), Error> {
    if t.journal.is_none() {
        return Err(Error::usage(format!(
            "{what} need a journal: pass --journal FILE, set SHIFT_JOURNAL, or set `journal` in the config (see --help)"
        )));
    }
    Ok(())
}

/// The config file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    journal: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    wait_lock: Option<Duration>,
    #[serde(default)]
    pools: BTreeMap<String, Vec<String>>,
    haproxy: Option<HaproxyFile>,
    nginx: Option<NginxFile>,
    exec: Option<ExecFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HaproxyFile {
    socket: Option<String>,
    backend: Option<String>,
    state_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NginxFile {
    upstream_file: Option<PathBuf>,
    test_command: Option<String>,
    reload_command: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecFile {
    command: Option<String>,
    read_command: Option<String>,
}

fn load_file(path: &Path) -> Result<FileConfig, Error> {
    let mut f: FileConfig = golive_core::config::load(path)?;
    // Relative paths in the file are relative to the file.
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let fix = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    };
    if let Some(j) = f.journal.as_mut() {
        fix(j);
    }
    if let Some(h) = f.haproxy.as_mut() {
        if let Some(s) = h.state_file.as_mut() {
            fix(s);
        }
        if let Some(s) = h.socket.as_mut()
            && let Ok(Address::Unix(p)) = Address::parse(s)
            && p.is_relative()
        {
            *s = base.join(p).display().to_string();
        }
    }
    if let Some(n) = f.nginx.as_mut()
        && let Some(u) = n.upstream_file.as_mut()
    {
        fix(u);
    }
    let kinds = [f.haproxy.is_some(), f.nginx.is_some(), f.exec.is_some()];
    if kinds.iter().filter(|k| **k).count() > 1 {
        return Err(Error::Config {
            path: path.display().to_string(),
            line: None,
            column: None,
            message: "configure one backend: [haproxy], [nginx] or [exec], not several".into(),
        });
    }
    Ok(f)
}

fn target(t: TargetArgs, need_backend: bool) -> Result<Target, Error> {
    target_with(t, need_backend).map(|(t, _)| t)
}

/// The target, and the config file's `wait_lock`.
fn target_with(t: TargetArgs, need_backend: bool) -> Result<(Target, Option<Duration>), Error> {
    let file = t
        .config
        .as_ref()
        .map(|p| load_file(p))
        .transpose()?
        .unwrap_or_default();
    let wait_lock = file.wait_lock;

    let haproxy_flags =
        t.haproxy_socket.is_some() || t.haproxy_backend.is_some() || t.state_file.is_some();
    let nginx_flags = t.nginx_upstream_file.is_some()
        || t.nginx_test_cmd.is_some()
        || t.nginx_reload_cmd.is_some();
    let exec_flags = t.exec.is_some() || t.exec_read.is_some();
    let flagged = [haproxy_flags, nginx_flags, exec_flags];
    if flagged.iter().filter(|k| **k).count() > 1 {
        return Err(Error::usage(
            "flags name more than one backend: use --haproxy-*, --nginx-* or --exec*, not a mix",
        ));
    }
    let kind = if haproxy_flags || (!nginx_flags && !exec_flags && file.haproxy.is_some()) {
        Some("haproxy")
    } else if nginx_flags || (!exec_flags && file.nginx.is_some()) {
        Some("nginx")
    } else if exec_flags || file.exec.is_some() {
        Some("exec")
    } else {
        None
    };

    let pools = pools(&t.pools, &file.pools, kind)?;
    let backend = match kind {
        Some("haproxy") => {
            let f = file.haproxy.unwrap_or_default();
            let socket = t.haproxy_socket.or(f.socket).ok_or_else(|| {
                Error::usage("the HAProxy backend needs --haproxy-socket PATH|HOST:PORT (or `socket` under [haproxy])")
            })?;
            let backend = t.haproxy_backend.or(f.backend).ok_or_else(|| {
                Error::usage("the HAProxy backend needs --haproxy-backend NAME (or `backend` under [haproxy])")
            })?;
            if !valid_haproxy_name(&backend) {
                return Err(Error::usage(format!(
                    "HAProxy backend name '{backend}' may only hold letters, digits, '_', '-', '.' and ':'"
                )));
            }
            Some(Backend::Haproxy(Haproxy {
                address: Address::parse(&socket).map_err(Error::usage)?,
                backend,
                state_file: t.state_file.or(f.state_file),
            }))
        }
        Some("nginx") => {
            let f = file.nginx.unwrap_or_default();
            let upstream_file = t.nginx_upstream_file.or(f.upstream_file).ok_or_else(|| {
                Error::usage("the nginx backend needs --nginx-upstream-file PATH (or `upstream_file` under [nginx])")
            })?;
            let words =
                |s: Option<String>, default: &str, flag: &str| -> Result<Vec<String>, Error> {
                    split_words(s.as_deref().unwrap_or(default))
                        .map_err(|e| Error::usage(format!("{flag}: {e}")))
                };
            Some(Backend::Nginx(Nginx {
                upstream_file,
                test: words(
                    t.nginx_test_cmd.or(f.test_command),
                    "nginx -t",
                    "--nginx-test-cmd",
                )?,
                reload: words(
                    t.nginx_reload_cmd.or(f.reload_command),
                    "nginx -s reload",
                    "--nginx-reload-cmd",
                )?,
            }))
        }
        Some(_) => {
            let f = file.exec.unwrap_or_default();
            let template = t.exec.or(f.command).ok_or_else(|| {
                Error::usage("the exec backend needs --exec TEMPLATE (or `command` under [exec])")
            })?;
            let read = t.exec_read.or(f.read_command);
            Some(Backend::Exec(
                Exec::new(&template, read.as_deref()).map_err(Error::usage)?,
            ))
        }
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
    match &backend {
        Some(Backend::Exec(e)) => {
            crate::command::register_secrets(&e.template);
            if let Some(r) = &e.read {
                crate::command::register_secrets(r);
            }
        }
        Some(Backend::Nginx(n)) => {
            crate::command::register_secrets(&n.test);
            crate::command::register_secrets(&n.reload);
        }
        _ => {}
    }
    let target = Target {
        backend,
        pools,
        journal: t.journal.or(file.journal).map(|path| Journal { path }),
        timeout: t.timeout.or(file.timeout).unwrap_or(DEFAULT_TIMEOUT),
    };
    Ok((target, wait_lock))
}

fn valid_haproxy_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

fn valid_exec_server(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:/@=+-".contains(c))
}

fn pools(
    flags: &[String],
    file: &BTreeMap<String, Vec<String>>,
    kind: Option<&str>,
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
        if p.servers.is_empty() && matches!(kind, Some("haproxy" | "nginx")) {
            return Err(Error::usage(format!(
                "pool '{}' has no servers: use --pool {}=SRV[,SRV]",
                p.name, p.name
            )));
        }
        for s in &p.servers {
            let ok = match kind {
                Some("haproxy") => valid_haproxy_name(s),
                Some("nginx") => valid_server(s),
                _ => valid_exec_server(s),
            };
            if !ok {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_sound() {
        Cli::command().debug_assert();
    }

    fn parse_ok(args: &[&str]) -> Config {
        let cli = Cli::try_parse_from(args).unwrap();
        resolve(cli.command, cli.common.format, "shift".into()).unwrap()
    }

    fn parse_err(args: &[&str]) -> String {
        let cli = Cli::try_parse_from(args).unwrap();
        resolve(cli.command, cli.common.format, "shift".into())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_issue_spelling_parses() {
        let c = parse_ok(&[
            "shift",
            "set",
            "--haproxy-socket",
            "/run/h.sock",
            "--haproxy-backend",
            "app",
            "--pool",
            "blue=b1,b2",
            "--pool",
            "green=g1",
            "--journal",
            "/tmp/j",
            "--split",
            "blue=75,green=25",
        ]);
        let Action::Set(p) = c.action else { panic!() };
        assert_eq!(p.split.spec(), "blue=75,green=25");
        assert_eq!(p.opts.target.pools[0].servers, ["b1", "b2"]);
        assert!(matches!(p.opts.target.backend, Some(Backend::Haproxy(_))));
    }

    #[test]
    fn bad_input_is_refused() {
        let base = [
            "shift",
            "set",
            "--haproxy-socket",
            "/s",
            "--haproxy-backend",
            "app",
            "--journal",
            "/tmp/j",
        ];
        let with = |extra: &[&str]| {
            let mut v: Vec<&str> = base.to_vec();
            v.extend_from_slice(extra);
            parse_err(&v)
        };
        assert!(
            with(&[
                "--pool",
                "blue=b1",
                "--pool",
                "green=g1",
                "--split",
                "blue=70,green=20"
            ])
            .contains("sums to 90")
        );
        assert!(with(&["--pool", "blue=b1", "--split", "blue=100"]).contains("two pools"));
        assert!(
            with(&[
                "--pool", "blue=b;x", "--pool", "green=g", "--split", "blue=1"
            ])
            .contains("cannot hold")
        );
        assert!(
            with(&["--pool", "blue", "--pool", "green=g", "--split", "blue=1"])
                .contains("no servers")
        );
        assert!(
            with(&["--pool", "blue=a", "--pool", "green=a", "--split", "blue=1"])
                .contains("two pools")
        );
        assert!(
            with(&[
                "--pool",
                "blue=a",
                "--pool",
                "green=b",
                "--split",
                "blue=1",
                "--nginx-upstream-file",
                "/x"
            ])
            .contains("more than one backend")
        );
        let e = parse_err(&[
            "shift",
            "set",
            "--haproxy-socket",
            "/s",
            "--haproxy-backend",
            "a",
            "--pool",
            "b=1",
            "--pool",
            "g=2",
            "--split",
            "b=1",
        ]);
        assert!(e.contains("journal"), "{e}");
    }
}
