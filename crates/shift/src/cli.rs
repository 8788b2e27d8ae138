//! Flags, environment and `--config shift.toml`, turned into a plain
//! [`Config`] before any work starts; nothing past this module sees clap.
//!
//! Precedence: a flag, then its `SHIFT_*` environment variable, then the
//! config file. Giving any flag of one backend selects that backend, whatever
//! the file says.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use golive_core::Error;
use golive_core::cli::CommonArgs;
use golive_core::output::Format;
use golive_core::units::{parse_duration, parse_percent, parse_timeout};

use crate::split::{self, Split};
pub use crate::target::{DEFAULT_TIMEOUT, Target};
use crate::target::{TargetArgs, target, target_with};

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

/// [`parse`] for shift used as a library (rollback's traffic step):
/// nothing printed, every failure an [`Error`]; the format is JSON.
pub fn config_quiet<I, T>(args: I) -> Result<Config, Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let invocation = invocation(&args);
    let cli: Cli = golive_core::cli::try_parse(args)?;
    resolve(cli.command, Format::Json, invocation)
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
        assert_eq!(
            p.opts.target.backend.as_ref().map(|b| b.kind()),
            Some("haproxy")
        );
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
