//! golive-notify: telling people what a rollback or a launch is doing.
//!
//! One [`Message`] goes to every configured target that takes its
//! [`Severity`] — a Slack incoming webhook, a Microsoft Teams Workflows
//! webhook (Adaptive Card), PagerDuty's Events API v2 (trigger / resolve
//! with one `dedup_key`, and change events), Prometheus Alertmanager
//! (`POST /api/v2/alerts`, resolved with `endsAt`) or a generic JSON
//! webhook — each in its own thread, retried with backoff on connection
//! errors, 429 and 5xx, all inside the caller's [`Deadline`].
//!
//! ```no_run
//! use std::time::Duration;
//! use golive_core::Deadline;
//! use golive_notify::{Message, Notifier, Severity, TargetConfig};
//!
//! #[derive(serde::Deserialize)]
//! struct Plan { notify: Vec<TargetConfig> }
//!
//! let plan: Plan = golive_core::config::parse("plan.toml", r#"
//!     [[notify]]
//!     name = "incidents"
//!     kind = "slack"
//!     url = "${SLACK_WEBHOOK_URL}"
//!     severities = ["critical"]
//! "#)?;
//! let notifier = Notifier::from_config(&plan.notify)?;
//! let msg = Message::new(Severity::Critical, "Rollback initiated: error rate 7% > 5%")
//!     .source("golive rollback")
//!     .key("rollback-20261128-0421");
//! let report = notifier.send(&msg, Deadline::after(Duration::from_secs(30)));
//! println!("{}", serde_json::to_string_pretty(&report)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Secrets — webhook URLs (their path is the credential), routing keys,
//! sensitive header values — are registered with [`golive_core::redact`]
//! when a target is validated, and nothing this crate returns or logs
//! carries them: targets show as `name`, `kind` and
//! `scheme://host/***`.
#![deny(missing_docs)]

mod config;
mod deliver;
mod message;
mod payload;

pub use config::{
    ConfigError, Kind, PAGERDUTY_EVENTS_URL, Target, TargetConfig, shown_masked_path, validate,
    validate_one,
};
pub use deliver::{Options, Outcome, OutcomeStatus, Report};
pub use message::{Action, Message, Severity};

use golive_core::{Deadline, redact};
use serde::Serialize;
use serde_json::Value;

/// The targets of a plan and how to reach them.
#[derive(Debug, Clone)]
pub struct Notifier {
    targets: Vec<Target>,
    opts: Options,
    agent: ureq::Agent,
}

/// What a dry run would send to one target (routing key masked).
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// The target's name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Whether the message would be sent (`false`: skipped by severity or
    /// by action, see `message`).
    pub send: bool,
    /// One sentence: what would happen.
    pub message: String,
    /// `POST`.
    pub method: &'static str,
    /// The URL as it may be shown.
    pub url: String,
    /// The JSON body, with `routing_key` as `***`; `null` when not sent.
    pub body: Value,
}

impl Notifier {
    /// A notifier for checked targets, with [`Options::default`].
    pub fn new(targets: Vec<Target>) -> Notifier {
        Notifier::with_options(targets, Options::default())
    }

    /// A notifier with its own [`Options`].
    pub fn with_options(targets: Vec<Target>, opts: Options) -> Notifier {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(opts.user_agent.as_str())
            .timeout_global(Some(opts.attempt_timeout))
            .build()
            .new_agent();
        Notifier {
            targets,
            opts,
            agent,
        }
    }

    /// [`validate`] the `[[notify]]` tables and build a notifier.
    pub fn from_config(configs: &[TargetConfig]) -> Result<Notifier, ConfigError> {
        Ok(Notifier::new(validate(configs)?))
    }

    /// The targets, in order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Send `msg` to every target that takes its severity, each in its own
    /// thread, and wait for all of them — never past `deadline` (plus the
    /// round trip of an attempt already under way, itself capped by the
    /// deadline). SIGINT / SIGTERM (when the caller catches them) stop the
    /// retries.
    pub fn send(&self, msg: &Message, deadline: Deadline) -> Report {
        let outcomes = golive_core::pool::map(&self.targets, self.targets.len(), |t| {
            deliver::deliver(&self.agent, &self.opts, t, msg, deadline)
        });
        Report::new(msg, outcomes)
    }

    /// What [`Notifier::send`] would do, sending nothing (for `--dry-run`).
    pub fn preview(&self, msg: &Message) -> Vec<Preview> {
        self.targets
            .iter()
            .map(|t| {
                let mut p = Preview {
                    name: t.name().to_string(),
                    kind: t.kind(),
                    send: false,
                    message: String::new(),
                    method: "POST",
                    url: t.shown_url().to_string(),
                    body: Value::Null,
                };
                match payload::build(t, msg, redact::MASK) {
                    Ok(req) => {
                        p.send = true;
                        p.message = format!(
                            "would send a {} {} message",
                            msg.severity,
                            msg.action.as_str()
                        );
                        p.body = req.body;
                        if t.kind() == Kind::Pagerduty && msg.action == Action::Change {
                            p.url = redact::url(&req.url);
                        }
                    }
                    Err(payload::Skip::Severity) => {
                        p.message = format!("would skip: {}", deliver::severity_skip(t, msg));
                    }
                    Err(payload::Skip::Action(why)) => {
                        p.message = format!("would skip: {why}");
                    }
                }
                p
            })
            .collect()
    }
}
