//! The plan file: what a rollback does, in order, and who hears about it.
//!
//! ```toml
//! reason    = "manual rollback"
//! state_dir = "/var/lib/golive/rollback"
//!
//! [[notify]]
//! name = "incidents"
//! kind = "slack"
//! url  = "${SLACK_WEBHOOK_URL}"
//!
//! [[step]]
//! name = "traffic"
//! kind = "traffic"
//! shift_config = "shift.toml"
//! split = "blue=100"
//! ```
//!
//! TOML, unknown keys rejected (naming file, line and key), `${VAR}` read
//! from the environment; relative paths are relative to the plan's folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use golive_core::Error;
use golive_core::units::{de_opt_duration, de_opt_timeout};
use golive_notify::TargetConfig;
use serde::Deserialize;

/// The default budget of a step without `timeout`.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// A plan, validated.
#[derive(Debug)]
pub struct Plan {
    /// The file, as named.
    pub path: PathBuf,
    /// Why, unless `--reason` says otherwise.
    pub reason: String,
    /// Journal, lock and one evidence folder per rollback.
    pub state_dir: PathBuf,
    /// The notify targets.
    pub notifier: golive_notify::Notifier,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its name, unique in the plan.
    pub name: String,
    /// What it does.
    pub kind: Kind,
    /// Its budget.
    pub timeout: Duration,
    /// Whether a failure stops the rollback.
    pub on_failure: OnFailure,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Tell the notify targets (`message`, `{reason}` and `{id}` filled in).
    Notify {
        /// The text.
        message: String,
        /// Its severity.
        severity: golive_notify::Severity,
    },
    /// Move traffic with shift's library.
    Traffic {
        /// shift's config file.
        shift_config: PathBuf,
        /// The split to set.
        split: Split,
    },
    /// Put DNS back and watch it propagate with dns-watch's library.
    Dns {
        /// The command that changes the record, if any.
        command: Option<String>,
        /// The record watched.
        record: String,
        /// The value every server must answer.
        expect: String,
        /// Servers to ask (`--server`), or none: authoritative discovery.
        servers: Vec<String>,
        /// Ask the authoritative servers (default when no servers are given).
        authoritative: bool,
    },
    /// Run a command (`sh -c`; `ROLLBACK_ID` and `ROLLBACK_REASON` are in
    /// its environment).
    Exec {
        /// The command.
        command: String,
    },
    /// Check the old version answers, with probe's library.
    Verify {
        /// What probe checks.
        check: VerifyCheck,
        /// Attempts.
        tries: u32,
        /// Pause between attempts.
        interval: Duration,
    },
    /// Keep command outputs and files in the evidence folder.
    Evidence {
        /// Commands whose output is kept.
        commands: Vec<String>,
        /// Globs of files copied.
        files: Vec<String>,
    },
    /// metric-gate rules judged once.
    Gate {
        /// The rules file.
        rules: PathBuf,
        /// The Prometheus URL, unless the rules file names it.
        prometheus: Option<String>,
    },
}

/// The split a traffic step sets.
#[derive(Debug, Clone)]
pub enum Split {
    /// As written: `blue=100`.
    Spec(String),
    /// The split before the launch, from shift's journal.
    BeforeLaunch,
}

/// What a verify step checks.
#[derive(Debug, Clone)]
pub enum VerifyCheck {
    /// An HTTP URL, with headers.
    Http {
        /// The URL.
        url: String,
        /// `Name: value` headers.
        headers: Vec<String>,
    },
    /// A probe run file.
    Checks(PathBuf),
}

/// Whether a step's failure stops the rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Stop: the rollback fails (exit 2).
    Stop,
    /// Go on: the rollback ends done with a warning (exit 1).
    Continue,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    reason: Option<String>,
    state_dir: PathBuf,
    #[serde(default)]
    notify: Vec<TargetConfig>,
    #[serde(default)]
    step: Vec<StepFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    name: String,
    kind: String,
    #[serde(default, deserialize_with = "de_opt_timeout")]
    timeout: Option<Duration>,
    on_failure: Option<OnFailure>,
    // notify
    message: Option<String>,
    severity: Option<String>,
    // traffic
    shift_config: Option<PathBuf>,
    split: Option<String>,
    restore: Option<String>,
    // dns
    command: Option<String>,
    record: Option<String>,
    expect: Option<String>,
    #[serde(default)]
    servers: Vec<String>,
    authoritative: Option<bool>,
    // verify
    http: Option<String>,
    #[serde(default)]
    header: Vec<String>,
    checks: Option<PathBuf>,
    tries: Option<u32>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    interval: Option<Duration>,
    // evidence
    #[serde(default)]
    commands: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    // gate
    rules: Option<PathBuf>,
    prometheus: Option<String>,
}

/// Read and validate `path`.
pub fn load(path: &Path) -> Result<Plan, Error> {
    let (file, spans): (File, _) = golive_core::config::load_located(path)?;
    let shown = path.display().to_string();
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let at = |key: String, message: String| Error::Config {
        path: shown.clone(),
        line: spans.line(&key),
        column: None,
        message: format!("`{key}`: {message}"),
    };
    let rel = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
    let notifier = golive_notify::Notifier::from_config(&file.notify)
        .map_err(|e| at(e.path_in("notify"), e.message.clone()))?;
    let mut steps: Vec<Step> = Vec::new();
    for (i, s) in file.step.into_iter().enumerate() {
        let key = |k: &str| format!("step[{i}].{k}");
        if steps.iter().any(|x| x.name == s.name) {
            return Err(at(key("name"), format!("step `{}` is named twice", s.name)));
        }
        // Secrets in headers and command lines are known from here on.
        for h in &s.header {
            golive_core::redact::register_argv(&[h.as_str()]);
        }
        for c in s.commands.iter().chain(&s.command) {
            let words = shell_words::split(c).unwrap_or_else(|_| vec![c.clone()]);
            golive_core::redact::register_argv(&words);
        }
        if let Some(u) = &s.http {
            let _ = golive_core::redact::url(u);
        }
        let need = |v: Option<String>, k: &str| {
            v.ok_or_else(|| at(key("kind"), format!("a {} step needs `{k}`", s.kind)))
        };
        // A key of another kind is a mistake (`tries` on an exec step).
        let given: Vec<&str> = [
            ("message", s.message.is_some()),
            ("severity", s.severity.is_some()),
            ("shift_config", s.shift_config.is_some()),
            ("split", s.split.is_some()),
            ("restore", s.restore.is_some()),
            ("command", s.command.is_some()),
            ("record", s.record.is_some()),
            ("expect", s.expect.is_some()),
            ("servers", !s.servers.is_empty()),
            ("authoritative", s.authoritative.is_some()),
            ("http", s.http.is_some()),
            ("header", !s.header.is_empty()),
            ("checks", s.checks.is_some()),
            ("tries", s.tries.is_some()),
            ("interval", s.interval.is_some()),
            ("commands", !s.commands.is_empty()),
            ("files", !s.files.is_empty()),
            ("rules", s.rules.is_some()),
            ("prometheus", s.prometheus.is_some()),
        ]
        .into_iter()
        .filter(|(_, g)| *g)
        .map(|(k, _)| k)
        .collect();
        let allowed: &[&str] = match s.kind.as_str() {
            "notify" => &["message", "severity"],
            "traffic" => &["shift_config", "split", "restore"],
            "dns" => &["command", "record", "expect", "servers", "authoritative"],
            "exec" => &["command"],
            "verify" => &["http", "header", "checks", "tries", "interval"],
            "evidence" => &["commands", "files"],
            "gate" => &["rules", "prometheus"],
            _ => &[],
        };
        if let Some(k) = given
            .iter()
            .find(|k| !allowed.is_empty() && !allowed.contains(k))
        {
            return Err(at(
                key(k),
                format!(
                    "a {} step takes no `{k}` (it takes {})",
                    s.kind,
                    allowed.join(", ")
                ),
            ));
        }
        let (kind, default_failure) = match s.kind.as_str() {
            "notify" => {
                let severity = match s.severity.as_deref() {
                    None => golive_notify::Severity::Critical,
                    Some(v) => golive_notify::Severity::parse(v).ok_or_else(|| {
                        at(
                            key("severity"),
                            format!("`{v}` is not critical, warning or info"),
                        )
                    })?,
                };
                (
                    Kind::Notify {
                        message: need(s.message, "message")?,
                        severity,
                    },
                    OnFailure::Continue,
                )
            }
            "traffic" => {
                let shift_config = rel(s.shift_config.ok_or_else(|| {
                    at(key("kind"), "a traffic step needs `shift_config`".into())
                })?);
                let split = match (s.split, s.restore.as_deref()) {
                    (Some(sp), None) => Split::Spec(sp),
                    (None, Some("before-launch")) => Split::BeforeLaunch,
                    (None, Some(other)) => {
                        return Err(at(
                            key("restore"),
                            format!("`{other}`: the only restore is \"before-launch\""),
                        ));
                    }
                    _ => {
                        return Err(at(
                            key("kind"),
                            "a traffic step needs `split` or `restore = \"before-launch\"` (one)"
                                .into(),
                        ));
                    }
                };
                (
                    Kind::Traffic {
                        shift_config,
                        split,
                    },
                    OnFailure::Stop,
                )
            }
            "dns" => {
                let authoritative = s.authoritative.unwrap_or(true);
                (
                    Kind::Dns {
                        command: s.command,
                        record: need(s.record, "record")?,
                        expect: need(s.expect, "expect")?,
                        servers: s.servers,
                        authoritative,
                    },
                    OnFailure::Stop,
                )
            }
            "exec" => (
                Kind::Exec {
                    command: need(s.command, "command")?,
                },
                OnFailure::Stop,
            ),
            "verify" => {
                let check = match (s.http, s.checks) {
                    (Some(url), None) => VerifyCheck::Http {
                        url,
                        headers: s.header,
                    },
                    (None, Some(f)) => VerifyCheck::Checks(rel(f)),
                    _ => {
                        return Err(at(
                            key("kind"),
                            "a verify step needs `http` or `checks` (one)".into(),
                        ));
                    }
                };
                let tries = s.tries.unwrap_or(10);
                if tries == 0 {
                    return Err(at(key("tries"), "must be at least 1".into()));
                }
                (
                    Kind::Verify {
                        check,
                        tries,
                        interval: s.interval.unwrap_or(Duration::from_secs(2)),
                    },
                    OnFailure::Stop,
                )
            }
            "evidence" => (
                Kind::Evidence {
                    commands: s.commands,
                    files: s.files,
                },
                OnFailure::Continue,
            ),
            "gate" => (
                Kind::Gate {
                    rules: rel(s
                        .rules
                        .ok_or_else(|| at(key("kind"), "a gate step needs `rules`".into()))?),
                    prometheus: s.prometheus,
                },
                OnFailure::Stop,
            ),
            other => {
                return Err(at(
                    key("kind"),
                    format!(
                        "`{other}` is not notify, traffic, dns, exec, verify, evidence or gate"
                    ),
                ));
            }
        };
        steps.push(Step {
            name: s.name,
            kind,
            timeout: s.timeout.unwrap_or(DEFAULT_STEP_TIMEOUT),
            on_failure: s.on_failure.unwrap_or(default_failure),
        });
    }
    if steps.is_empty() {
        return Err(Error::Config {
            path: shown,
            line: None,
            column: None,
            message: "the plan has no [[step]]".into(),
        });
    }
    Ok(Plan {
        path: path.to_path_buf(),
        reason: file.reason.unwrap_or_else(|| "rollback".into()),
        state_dir: rel(file.state_dir),
        notifier,
        steps,
    })
}

impl Kind {
    /// `notify`, `traffic`, …
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Notify { .. } => "notify",
            Kind::Traffic { .. } => "traffic",
            Kind::Dns { .. } => "dns",
            Kind::Exec { .. } => "exec",
            Kind::Verify { .. } => "verify",
            Kind::Evidence { .. } => "evidence",
            Kind::Gate { .. } => "gate",
        }
    }
}
