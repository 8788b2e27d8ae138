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
    /// Record a launch event in the timeline and status page, and tell the plan's notify targets.
    #[command(after_help = NOTIFY_HELP)]
    Notify(NotifyArgs),
}

const NOTIFY_HELP: &str = "\
Events: started, resumed, checkpoint, passed, paused, failed, interrupted,
rollback-started, rollback-finished (anything else is a note). Severity by the
runbook: a failure or a rollback is critical, a pause or an interruption a
warning, the rest info; each [[notify]] target takes the severities it lists.

Examples:
  rollback notify --plan rollback.toml --evidence /var/lib/golive/launch \\
    --phase dns --event passed --message 'DNS cutover complete' --figure took_s=42
  metric-gate check --rules gates/soft-launch.toml > gate.json
  rollback notify --plan rollback.toml --evidence \"$EVIDENCE\" --phase soft-launch \\
    --event checkpoint --status ok --figures-from gate.json --message 'checkpoint 1: continue'";

#[derive(Debug, Args)]
struct NotifyArgs {
    #[command(flatten)]
    plan: PlanArg,
    /// The launch's evidence folder: timeline.ndjson, status.json and status.html live there.
    #[arg(long, env = "GOLIVE_EVIDENCE", value_name = "DIR")]
    evidence: PathBuf,
    /// The launch phase (preflight, dns, soft-launch, rollout-25, rollout-100, monitoring, …).
    #[arg(long, value_name = "PHASE")]
    phase: String,
    /// What happened (see below).
    #[arg(long, value_name = "EVENT")]
    event: String,
    /// ok, warning, critical or unknown.
    #[arg(long, value_name = "STATUS", default_value = "ok", value_parser = parse_status)]
    status: golive_core::Status,
    /// One line for people.
    #[arg(long, value_name = "TEXT")]
    message: String,
    /// A figure that decided it (repeatable); the value is JSON when it parses, else text.
    #[arg(long = "figure", value_name = "KEY=VALUE", value_parser = crate::record::parse_figure)]
    figures: Vec<(String, serde_json::Value)>,
    /// Take the deciding figures from a tool's JSON report (metric-gate, probe, rollback); an unreadable one is noted, not fatal.
    #[arg(long, value_name = "FILE.json")]
    figures_from: Option<PathBuf>,
    /// Over the routing's choice: critical, warning or info.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    severity: Option<golive_notify::Severity>,
    /// Record only; send nothing.
    #[arg(long)]
    no_send: bool,
    /// The phases the status page lists, in order.
    #[arg(long, env = "GOLIVE_PHASES", value_name = "LIST", default_value = crate::record::DEFAULT_PHASES)]
    phases: String,
    /// The service's name on the status page.
    #[arg(
        long,
        env = "GOLIVE_SERVICE",
        value_name = "NAME",
        default_value = "service"
    )]
    service: String,
}

fn parse_status(s: &str) -> Result<golive_core::Status, String> {
    match s {
        "ok" => Ok(golive_core::Status::Ok),
        "warning" => Ok(golive_core::Status::Warning),
        "critical" => Ok(golive_core::Status::Critical),
        "unknown" => Ok(golive_core::Status::Unknown),
        _ => Err("want ok, warning, critical or unknown".into()),
    }
}

fn parse_severity(s: &str) -> Result<golive_notify::Severity, String> {
    golive_notify::Severity::parse(s).ok_or_else(|| "want critical, warning or info".into())
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
    /// `notify`.
    Notify(PathBuf, Box<crate::record::EventArgs>),
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
            Cmd::Notify(n) => {
                let mut figures: serde_json::Map<String, serde_json::Value> =
                    serde_json::Map::new();
                // An unreadable report must not cost the timeline its event:
                // the event is recorded, saying why its figures are missing.
                if let Some(path) = &n.figures_from {
                    let doc = std::fs::read_to_string(path)
                        .map_err(|e| e.to_string())
                        .and_then(|t| {
                            serde_json::from_str::<serde_json::Value>(&t)
                                .map_err(|e| format!("not a JSON report: {e}"))
                        });
                    match doc {
                        Ok(d) => figures = crate::record::figures_of_document(&d),
                        Err(e) => {
                            let why = format!("--figures-from {}: {e}", path.display());
                            golive_core::log::warn(&why);
                            figures.insert("figures_error".into(), serde_json::json!(why));
                        }
                    }
                }
                figures.extend(n.figures);
                let trim = |s: &str| s.trim().to_string();
                if n.phase.trim().is_empty() || n.event.trim().is_empty() {
                    return Err(golive_core::Error::usage(
                        "--phase and --event must not be empty (see --help)",
                    ));
                }
                Action::Notify(
                    n.plan.plan,
                    Box::new(crate::record::EventArgs {
                        evidence: n.evidence,
                        phase: trim(&n.phase),
                        event: trim(&n.event),
                        status: n.status,
                        message: n.message,
                        figures,
                        severity: n.severity,
                        no_send: n.no_send,
                        phases: n
                            .phases
                            .split(',')
                            .map(str::trim)
                            .filter(|p| !p.is_empty())
                            .map(String::from)
                            .collect(),
                        service: n.service,
                    }),
                )
            }
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
