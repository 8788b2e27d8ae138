//! One function per step kind, each on the other tools' libraries: shift
//! for traffic, dns-watch for DNS, probe for verify, metric-gate for a
//! gate, golive-notify for messages, core's process runner for commands.
//! Every kind can run again after a crash (the step in flight is repeated).

use std::path::Path;
use std::time::Duration;

use golive_core::units::human_duration;
use golive_core::{Deadline, Status, process, redact};
use serde_json::{Map, Value, json};

use crate::plan::{Kind, Split, Step, VerifyCheck};

/// What a step did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its verdict.
    pub status: Status,
    /// One readable sentence.
    pub message: String,
    /// Its figures (a tool's summary, a notify report, …).
    pub figures: Map<String, Value>,
}

impl Outcome {
    fn new(status: Status, message: impl Into<String>) -> Outcome {
        Outcome {
            status,
            message: message.into(),
            figures: Map::new(),
        }
    }

    fn with(mut self, key: &str, value: Value) -> Outcome {
        self.figures.insert(key.into(), value);
        self
    }
}

/// What the step needs to know about the rollback it is part of.
pub struct Context<'a> {
    /// The rollback's id.
    pub id: &'a str,
    /// Why.
    pub reason: &'a str,
    /// The notify targets.
    pub notifier: &'a golive_notify::Notifier,
    /// This rollback's evidence folder.
    pub evidence: &'a Path,
}

/// `{reason}` and `{id}` filled in.
pub fn fill(text: &str, cx: &Context<'_>) -> String {
    text.replace("{reason}", cx.reason).replace("{id}", cx.id)
}

/// Run `step` within its timeout.
pub fn run(step: &Step, cx: &Context<'_>) -> Outcome {
    let deadline = Deadline::after(step.timeout);
    match &step.kind {
        Kind::Notify { message, severity } => notify(cx, *severity, &fill(message, cx), deadline),
        Kind::Traffic {
            shift_config,
            split,
        } => traffic(cx, shift_config, split, step.timeout),
        Kind::Dns {
            command,
            record,
            expect,
            servers,
            authoritative,
        } => {
            if let Some(c) = command {
                let f = shell(c, cx, deadline.left());
                if !f.success() {
                    return Outcome::new(
                        Status::Critical,
                        format!("the DNS command failed ({})", f.describe()),
                    );
                }
            }
            let mut args: Vec<String> = vec![
                "dns-watch".into(),
                record.clone(),
                "--expect".into(),
                expect.clone(),
                "--timeout".into(),
                secs(deadline.left()),
            ];
            if *authoritative {
                args.push("--authoritative".into());
            }
            for s in servers {
                args.extend(["--server".to_string(), s.clone()]);
            }
            tool("dns-watch", dns_watch::evaluate(args), |doc| {
                format!("DNS: {}", doc["message"].as_str().unwrap_or(""))
            })
        }
        Kind::Exec { command } => {
            let f = shell(command, cx, deadline.left());
            let o = if f.success() {
                Outcome::new(Status::Ok, format!("`{}` exited 0", shown(command)))
            } else {
                Outcome::new(
                    Status::Critical,
                    format!("`{}` {}", shown(command), f.describe()),
                )
            };
            o.with("exit_code", json!(f.code))
                .with("timed_out", json!(f.timed_out))
                .with("duration_ms", json!(golive_core::duration_ms(f.elapsed)))
        }
        Kind::Verify {
            check,
            tries,
            interval,
        } => {
            let mut args: Vec<String> = vec!["probe".into()];
            match check {
                VerifyCheck::Http { url, headers } => {
                    args.extend(["http".to_string(), url.clone()]);
                    for h in headers {
                        args.extend(["--header".to_string(), h.clone()]);
                    }
                }
                VerifyCheck::Checks(f) => args.extend(["run".to_string(), f.display().to_string()]),
            }
            let per_try = deadline
                .left()
                .checked_div(*tries)
                .unwrap_or(Duration::from_secs(5))
                .clamp(Duration::from_millis(100), Duration::from_secs(10));
            args.extend([
                "--retries".to_string(),
                (tries - 1).to_string(),
                "--interval".into(),
                format!("{}ms", interval.as_millis()),
                "--timeout".into(),
                format!("{}ms", per_try.as_millis().max(1)),
                "--wait".into(),
                secs(deadline.left()),
            ]);
            let mut o = tool("probe", probe::evaluate(args), |doc| {
                let c = &doc["checks"][0];
                format!(
                    "{} after {} tr{}",
                    c["message"].as_str().unwrap_or(""),
                    c["attempts"],
                    if c["attempts"] == 1 { "y" } else { "ies" }
                )
            });
            // A degraded old version is still the one to go back to.
            if o.status == Status::Warning {
                o.status = Status::Ok;
            }
            o
        }
        Kind::Evidence { commands, files } => {
            crate::evidence::collect(cx, commands, files, deadline)
        }
        Kind::Gate { rules, prometheus } => {
            let mut args: Vec<String> = vec![
                "metric-gate".into(),
                "check".into(),
                "--rules".into(),
                rules.display().to_string(),
                "--timeout".into(),
                secs(deadline.left()),
            ];
            if let Some(p) = prometheus {
                args.extend(["--prometheus".to_string(), p.clone()]);
            }
            tool("metric-gate", metric_gate::evaluate(args), |doc| {
                format!("gate: {}", doc["decision"].as_str().unwrap_or(""))
            })
        }
    }
}

/// What `step` would do, for `--dry-run`: nothing runs, nothing is sent.
pub fn plan(step: &Step, cx: &Context<'_>) -> Outcome {
    let planned = |what: String| Outcome::new(Status::Ok, what);
    match &step.kind {
        Kind::Notify { message, severity } => {
            let msg = golive_notify::Message::new(*severity, fill(message, cx));
            let targets: Vec<Value> = cx
                .notifier
                .targets()
                .iter()
                .filter(|t| t.takes(*severity))
                .map(|t| json!({"name": t.name(), "kind": t.kind().as_str(), "url": t.shown_url()}))
                .collect();
            planned(format!(
                "would send {} \"{}\" to {} target(s)",
                severity.as_str(),
                msg.headline(),
                targets.len()
            ))
            .with("targets", Value::Array(targets))
        }
        Kind::Traffic {
            shift_config,
            split,
        } => {
            // shift's own dry run: the socket commands or file diff it would send.
            let o = traffic_with(cx, shift_config, split, step.timeout, true);
            Outcome {
                status: if o.status == Status::Ok {
                    Status::Ok
                } else {
                    o.status
                },
                ..o
            }
        }
        Kind::Dns {
            command,
            record,
            expect,
            ..
        } => planned(format!(
            "would run {}and watch {record} until every server answers {expect}",
            command
                .as_ref()
                .map(|c| format!("`{}` ", shown(c)))
                .unwrap_or_default()
        )),
        Kind::Exec { command } => planned(format!("would run `{}`", shown(command))),
        Kind::Verify {
            check,
            tries,
            interval,
        } => planned(match check {
            VerifyCheck::Http { url, headers } => format!(
                "would GET {}{} up to {tries} times, {} apart",
                redact::url(url),
                if headers.is_empty() {
                    String::new()
                } else {
                    format!(" with {} header(s)", headers.len())
                },
                human_duration(*interval)
            ),
            VerifyCheck::Checks(f) => format!("would run the checks in {}", f.display()),
        }),
        Kind::Evidence { commands, files } => planned(format!(
            "would keep the output of {} command(s) and the files matching {} pattern(s) in {}",
            commands.len(),
            files.len(),
            cx.evidence.display()
        )),
        Kind::Gate { rules, .. } => planned(format!("would judge {} once", rules.display())),
    }
}

fn notify(
    cx: &Context<'_>,
    severity: golive_notify::Severity,
    text: &str,
    deadline: Deadline,
) -> Outcome {
    if cx.notifier.targets().is_empty() {
        return Outcome::new(Status::Ok, "no notify target configured");
    }
    let msg = golive_notify::Message::new(severity, text)
        .source("golive rollback")
        .key(cx.id)
        .detail("rollback_id", cx.id)
        .detail("reason", cx.reason);
    let report = cx.notifier.send(&msg, deadline);
    Outcome::new(report.status(), report.message()).with(
        "notify",
        serde_json::to_value(&report).unwrap_or(Value::Null),
    )
}

fn traffic(cx: &Context<'_>, cfg: &Path, split: &Split, timeout: Duration) -> Outcome {
    traffic_with(cx, cfg, split, timeout, false)
}

fn traffic_with(
    cx: &Context<'_>,
    cfg: &Path,
    split: &Split,
    timeout: Duration,
    dry_run: bool,
) -> Outcome {
    let config = cfg.display().to_string();
    let spec = match split {
        Split::Spec(s) => s.clone(),
        Split::BeforeLaunch => match before_launch(&config) {
            Ok(s) => s,
            Err(e) => return Outcome::new(Status::Critical, e),
        },
    };
    let mut args: Vec<String> = vec![
        "shift".into(),
        "set".into(),
        "--config".into(),
        config,
        "--split".into(),
        spec.clone(),
        "--reason".into(),
        format!("rollback {}: {}", cx.id, cx.reason),
        "--wait-lock".into(),
        secs(timeout / 2),
        "--timeout".into(),
        secs(timeout),
    ];
    if dry_run {
        args.push("--dry-run".into());
    }
    tool("shift", shift::evaluate(args), |doc| {
        format!("traffic: {}", doc["message"].as_str().unwrap_or(""))
    })
    .with("split", json!(spec))
}

/// The split before the launch: the `before` of the earliest change in the
/// unbroken run of changes at the end of shift's journal whose reason
/// starts with `launch` (the launch script's).
fn before_launch(config: &str) -> Result<String, String> {
    let (_, doc) = shift::evaluate(["shift", "history", "--config", config])
        .map_err(|e| format!("cannot read shift's journal: {e}"))?;
    let changes = doc["changes"].as_array().cloned().unwrap_or_default();
    let launch = changes
        .iter()
        .rev()
        .take_while(|c| {
            c["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("launch"))
        })
        .last()
        .ok_or("shift's journal holds no launch change to go back before")?;
    let before = launch["before"]
        .as_object()
        .ok_or("the launch's first change has no split before it")?;
    Ok(before
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(","))
}

/// A tool's library run as a step: its status and its summary as figures.
fn tool(
    name: &str,
    r: Result<(Status, Value), golive_core::Error>,
    message: impl Fn(&Value) -> String,
) -> Outcome {
    match r {
        Ok((status, doc)) => Outcome::new(status, message(&doc)).with(name, doc),
        Err(e) => Outcome::new(
            e.status().unwrap_or(Status::Critical),
            format!("{name}: {e}"),
        ),
    }
}

/// `sh -c command`, with `ROLLBACK_ID` and `ROLLBACK_REASON` in its
/// environment (never pasted into the command line: a reason is text).
pub fn shell(command: &str, cx: &Context<'_>, timeout: Duration) -> process::Finished {
    let argv = vec!["sh".to_string(), "-c".into(), command.to_string()];
    process::run_interruptible(&argv, &env(cx), timeout).unwrap_or_else(|e| process::Finished {
        code: None,
        stdout: String::new(),
        stderr: e,
        timed_out: false,
        interrupted: None,
        elapsed: Duration::ZERO,
    })
}

/// What every command a rollback runs finds in its environment.
pub fn env(cx: &Context<'_>) -> Vec<(String, String)> {
    vec![
        ("ROLLBACK_ID".into(), cx.id.to_string()),
        ("ROLLBACK_REASON".into(), cx.reason.to_string()),
    ]
}

/// A command line as it may be shown (as written, secrets masked).
pub fn shown(command: &str) -> String {
    redact::command_text(command)
}

fn secs(d: Duration) -> String {
    format!(
        "{}ms",
        d.min(golive_core::units::MAX_TIMEOUT).as_millis().max(1)
    )
}
