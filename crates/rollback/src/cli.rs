//! Flags into a plain [`Config`]; nothing past this module sees clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use golive_core::cli::CommonArgs;
use golive_core::output::Format;
use golive_core::units::parse_timeout;

const EXAMPLES: &str = "\
Examples:
  # See what the rollback would do: every step, commands and targets (secrets masked)
  rollback run --plan /etc/golive/rollback.toml --dry-run --format text

  # Roll back now, saying why (a rerun after a crash resumes the same rollback)
  rollback run --plan /etc/golive/rollback.toml --reason 'error rate 7% on green'

  # The last rollback: id, reason, each step's state
  rollback status --plan /etc/golive/rollback.toml

  # From cron every minute: roll back once when a trigger fires, page on page-rules
  rollback guard --plan rollback.toml --rules gates/auto-rollback.toml \\
    --page-rules gates/manual-rollback.toml --prometheus http://prometheus:9090
  rollback rearm --plan rollback.toml     # let the guard fire again";

/// `rollback`: put everything back, verified, once.
#[derive(Debug, Parser)]
#[command(
    name = "rollback",
    version,
    about = "Put traffic, DNS and services back: verified, evidence kept, notified; resumable, never twice by accident.",
    after_help = EXAMPLES,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the plan's steps in order (resuming an unfinished rollback).
    Run(RunArgs),
    /// The last rollback: id, reason, each step's state.
    Status(PlanArg),
    /// Judge the trigger rules once; roll back (once) when they say so.
    Guard(GuardArgs),
    /// Let the guard fire again after it has rolled back.
    Rearm(PlanArg),
}

#[derive(Debug, Args)]
struct PlanArg {
    /// The plan (TOML).
    #[arg(long, env = "ROLLBACK_PLAN", value_name = "FILE")]
    plan: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    plan: PlanArg,
    /// Why (over the plan's `reason`); in the journal, the report and every message.
    #[arg(long, env = "ROLLBACK_REASON", value_name = "TEXT")]
    reason: Option<String>,
    /// Show every step and what it would do; change nothing, send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Start a new rollback even if the last one did not finish.
    #[arg(long)]
    fresh: bool,
    /// Wait up to this long for another rollback to finish [default: fail at once].
    #[arg(long, env = "ROLLBACK_WAIT_LOCK", value_name = "DUR", value_parser = parse_timeout)]
    wait_lock: Option<Duration>,
}

#[derive(Debug, Args)]
struct GuardArgs {
    #[command(flatten)]
    plan: PlanArg,
    /// Auto-rollback triggers (metric-gate rules): CRITICAL runs the plan once.
    #[arg(long, env = "ROLLBACK_RULES", value_name = "FILE")]
    rules: String,
    /// Rules that page a human (CRITICAL notifies) and never act.
    #[arg(long, env = "ROLLBACK_PAGE_RULES", value_name = "FILE")]
    page_rules: Option<String>,
    /// Prometheus URL, unless the rules files name one.
    #[arg(long, env = "ROLLBACK_PROMETHEUS", value_name = "URL")]
    prometheus: Option<String>,
    /// Wait up to this long for an overlapping guard to finish.
    #[arg(long, env = "ROLLBACK_WAIT_LOCK", value_name = "DUR", value_parser = parse_timeout, default_value = "5m")]
    wait_lock: Duration,
}

/// What to do, resolved.
#[derive(Debug)]
pub enum Action {
    /// `run`.
    Run(PathBuf, crate::engine::Options),
    /// `status`.
    Status(PathBuf),
    /// `guard`.
    Guard(PathBuf, crate::guard::GuardOptions),
    /// `rearm`.
    Rearm(PathBuf),
}

/// Everything a run needs.
#[derive(Debug)]
pub struct Config {
    /// What to do.
    pub action: Action,
    /// stdout's format.
    pub format: Format,
}

impl Cli {
    /// The plain config.
    pub fn config(self) -> Result<Config, golive_core::Error> {
        let format = self.common.format;
        if !matches!(format, Format::Json | Format::Ndjson | Format::Text) {
            return Err(golive_core::Error::usage(format!(
                "--format {} is not supported; use json, ndjson or text (see --help)",
                format.as_str()
            )));
        }
        let action = match self.command {
            Cmd::Run(a) => Action::Run(
                a.plan.plan,
                crate::engine::Options {
                    reason: a.reason.filter(|r| !r.trim().is_empty()),
                    dry_run: a.dry_run,
                    fresh: a.fresh,
                    wait_lock: a.wait_lock,
                },
            ),
            Cmd::Status(p) => Action::Status(p.plan),
            Cmd::Guard(g) => Action::Guard(
                g.plan.plan,
                crate::guard::GuardOptions {
                    rules: g.rules,
                    page_rules: g.page_rules,
                    prometheus: g.prometheus,
                    wait_lock: g.wait_lock,
                },
            ),
            Cmd::Rearm(p) => Action::Rearm(p.plan),
        };
        Ok(Config { action, format })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_sound() {
        Cli::command().debug_assert();
    }
}
