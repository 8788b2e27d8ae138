//! Sending: one thread per target, retries with backoff on connection
//! errors, 429 and 5xx, everything inside the caller's deadline; a
//! [`Report`] with one [`Outcome`] per target.

use std::time::{Duration, Instant};

use golive_core::units::human_duration;
use golive_core::{Deadline, Status, duration_ms, log, redact, signals};
use serde::Serialize;

use crate::config::{Kind, Target};
use crate::message::{Action, Message, Severity};
use crate::payload::{self, Request, Skip};

/// How hard to try.
#[derive(Debug, Clone)]
pub struct Options {
    /// One attempt's limit (connect, send, answer), capped by the deadline.
    pub attempt_timeout: Duration,
    /// Attempts per target at most (the deadline may stop it sooner).
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each.
    pub first_backoff: Duration,
    /// The longest wait between attempts (a longer `Retry-After`, up to
    /// 60 s, is honoured while the deadline allows).
    pub max_backoff: Duration,
    /// `User-Agent` of every request.
    pub user_agent: String,
}

impl Default for Options {
    /// 10 s an attempt, at most 5 attempts, waits of 0.5 s, 1 s, 2 s, 4 s
    /// (at most 8 s), `User-Agent: golive-notify/VERSION`.
    fn default() -> Self {
        Options {
            attempt_timeout: Duration::from_secs(10),
            max_attempts: 5,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            user_agent: concat!("golive-notify/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// What happened at one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The service accepted the message (a 2xx answer).
    Ok,
    /// Not accepted: every attempt failed, or the answer said no.
    Failed,
    /// Not sent: the target does not take this severity.
    SkippedBySeverity,
    /// Not sent: the target has no such action (a change event on
    /// Alertmanager).
    SkippedByAction,
}

impl OutcomeStatus {
    /// `ok`, `failed`, `skipped_by_severity`, `skipped_by_action`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Ok => "ok",
            OutcomeStatus::Failed => "failed",
            OutcomeStatus::SkippedBySeverity => "skipped_by_severity",
            OutcomeStatus::SkippedByAction => "skipped_by_action",
        }
    }
}

/// One target's result. No field carries a secret: the URL is shown with
/// its path masked, server answers are scrubbed.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The target's name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// What happened.
    pub status: OutcomeStatus,
    /// One readable sentence.
    pub message: String,
    /// Where it went, as it may be shown (`https://hooks.slack.com/***`).
    pub url: String,
    /// Requests made (0 when skipped).
    pub attempts: u32,
    /// The last HTTP status received, if any.
    pub http_status: Option<u16>,
    /// The last attempt's round trip, if one was made.
    pub latency_ms: Option<f64>,
    /// Time spent on this target, attempts and waits together.
    pub duration_ms: f64,
}

/// Every target's result for one message.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The message's severity.
    pub severity: Severity,
    /// Its action.
    pub action: Action,
    /// Its key.
    pub dedup_key: String,
    /// Targets that accepted it.
    pub delivered: usize,
    /// Targets that should have and did not.
    pub failed: usize,
    /// Targets that were not meant to get it.
    pub skipped: usize,
    /// One per target, in the targets' order.
    pub targets: Vec<Outcome>,
}

impl Report {
    pub(crate) fn new(msg: &Message, targets: Vec<Outcome>) -> Report {
        let count = |f: fn(&OutcomeStatus) -> bool| targets.iter().filter(|o| f(&o.status)).count();
        Report {
            severity: msg.severity,
            action: msg.action,
            dedup_key: msg.key.clone(),
            delivered: count(|s| *s == OutcomeStatus::Ok),
            failed: count(|s| *s == OutcomeStatus::Failed),
            skipped: count(|s| {
                matches!(
                    s,
                    OutcomeStatus::SkippedBySeverity | OutcomeStatus::SkippedByAction
                )
            }),
            targets,
        }
    }

    /// WARNING when a target that should have got the message did not, or
    /// when there was no target at all (nothing was said); OK otherwise —
    /// targets skipped by routing are not failures.
    ///
    /// A failed notification is never a reason not to act: rollback maps
    /// this to a `continue` step's WARNING (exit 1).
    pub fn status(&self) -> Status {
        if self.failed > 0 || self.targets.is_empty() {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// One sentence: `delivered to incidents, pager; failed: monitoring
    /// (HTTP 500 after 5 attempts)`.
    pub fn message(&self) -> String {
        if self.targets.is_empty() {
            return "no notify target configured".into();
        }
        let names = |s: OutcomeStatus| -> Vec<&str> {
            self.targets
                .iter()
                .filter(|o| o.status == s)
                .map(|o| o.name.as_str())
                .collect()
        };
        let mut parts = Vec::new();
        let ok = names(OutcomeStatus::Ok);
        if !ok.is_empty() {
            parts.push(format!("delivered to {}", ok.join(", ")));
        }
        let failed: Vec<String> = self
            .targets
            .iter()
            .filter(|o| o.status == OutcomeStatus::Failed)
            .map(|o| format!("{} ({})", o.name, o.message))
            .collect();
        if !failed.is_empty() {
            parts.push(format!("failed: {}", failed.join("; ")));
        }
        if ok.is_empty() && failed.is_empty() {
            parts.push(format!(
                "no target takes {} {} messages",
                self.severity,
                self.action.as_str()
            ));
        }
        parts.join("; ")
    }

    /// The outcome of the target named `name`.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.targets.iter().find(|o| o.name == name)
    }
}

/// Send `msg` to one target (or skip it), retrying inside `deadline`.
pub(crate) fn deliver(
    agent: &ureq::Agent,
    opts: &Options,
    target: &Target,
    msg: &Message,
    deadline: Deadline,
) -> Outcome {
    let started = Instant::now();
    let mut out = Outcome {
        name: target.name().to_string(),
        kind: target.kind(),
        status: OutcomeStatus::Ok,
        message: String::new(),
        url: target.shown_url().to_string(),
        attempts: 0,
        http_status: None,
        latency_ms: None,
        duration_ms: 0.0,
    };
    let req = match payload::build(target, msg, target.routing_key().unwrap_or_default()) {
        Ok(r) => r,
        Err(Skip::Severity) => {
            out.status = OutcomeStatus::SkippedBySeverity;
            out.message = format!("not sent: {}", severity_skip(target, msg));
            return out;
        }
        Err(Skip::Action(why)) => {
            out.status = OutcomeStatus::SkippedByAction;
            out.message = format!("not sent: {why}");
            return out;
        }
    };
    let who = format!("notify target `{}` ({} {})", out.name, out.kind, out.url);
    let mut history: Vec<String> = Vec::new();
    let mut backoff = opts.first_backoff;
    let (status, message) = loop {
        if let Some(sig) = signals::received() {
            break (
                OutcomeStatus::Failed,
                gave_up(&history, &format!("interrupted by {sig}")),
            );
        }
        let left = deadline.remaining();
        if left.is_some_and(|l| l < MIN_ATTEMPT) {
            break (
                OutcomeStatus::Failed,
                gave_up(&history, "no time left before the deadline"),
            );
        }
        out.attempts += 1;
        let timeout = deadline.cap(opts.attempt_timeout);
        let tried = attempt(agent, target, &req, timeout);
        out.latency_ms = Some(duration_ms(tried.latency));
        out.http_status = tried.http_status.or(out.http_status);
        if tried.ok {
            let msg = if out.attempts == 1 {
                format!("delivered (HTTP {})", tried.http_status.unwrap_or(0))
            } else {
                format!(
                    "delivered (HTTP {}) at attempt {}, after {}",
                    tried.http_status.unwrap_or(0),
                    out.attempts,
                    compress(&history)
                )
            };
            log::debug(&format!("{who}: {msg}"));
            break (OutcomeStatus::Ok, msg);
        }
        history.push(tried.what.clone());
        if !tried.retryable {
            break (
                OutcomeStatus::Failed,
                format!("{} (not retried: the answer will not change)", tried.what),
            );
        }
        if out.attempts >= opts.max_attempts {
            break (
                OutcomeStatus::Failed,
                gave_up(&history, "no more attempts allowed"),
            );
        }
        let mut wait = backoff.min(opts.max_backoff);
        if let Some(ra) = tried.retry_after {
            wait = wait.max(ra.min(MAX_RETRY_AFTER));
        }
        if deadline.remaining().is_some_and(|l| l < wait + MIN_ATTEMPT) {
            break (
                OutcomeStatus::Failed,
                gave_up(
                    &history,
                    &format!(
                        "the next attempt (in {}) would pass the deadline",
                        human_duration(wait)
                    ),
                ),
            );
        }
        log::debug(&format!(
            "{who}: attempt {}: {}; retrying in {}",
            out.attempts,
            tried.what,
            human_duration(wait)
        ));
        if !signals::sleep(wait) {
            continue; // the loop's head reports the signal
        }
        backoff = backoff.saturating_mul(2);
    };
    out.status = status;
    out.message = message;
    out.duration_ms = duration_ms(started.elapsed());
    if status == OutcomeStatus::Failed {
        log::warn(&format!("{who}: {}", out.message));
    }
    out
}

/// Why `target` does not take `msg`: `takes critical only, the message is
/// warning`.
pub(crate) fn severity_skip(target: &Target, msg: &Message) -> String {
    format!(
        "takes {} only, the message is {}",
        target
            .severities()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        msg.severity
    )
}

/// The longest `Retry-After` obeyed (a server asking for an hour gets a
/// minute; the deadline may cut that too).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The shortest attempt worth starting.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);

fn gave_up(history: &[String], why: &str) -> String {
    match history {
        [] => format!("not sent: {why}"),
        [one] => format!("{one}; {why}"),
        many => format!("{} attempts failed ({}); {why}", many.len(), compress(many)),
    }
}

/// `HTTP 500 ×2, connection refused`: repeats counted, order kept.
fn compress(history: &[String]) -> String {
    let mut out: Vec<(String, usize)> = Vec::new();
    for h in history {
        match out.last_mut() {
            Some((last, n)) if last == h => *n += 1,
            _ => out.push((h.clone(), 1)),
        }
    }
    out.into_iter()
        .map(|(h, n)| if n > 1 { format!("{h} ×{n}") } else { h })
        .collect::<Vec<_>>()
        .join(", ")
}

struct Tried {
    ok: bool,
    retryable: bool,
    http_status: Option<u16>,
    retry_after: Option<Duration>,
    latency: Duration,
    /// What went wrong, short: `HTTP 500`, `connection refused`, `no answer in 2s`.
    what: String,
}

fn attempt(agent: &ureq::Agent, target: &Target, req: &Request, timeout: Duration) -> Tried {
    let body = serde_json::to_vec(&req.body).unwrap_or_default();
    let mut rb = agent
        .post(&req.url)
        .config()
        .timeout_global(Some(timeout))
        .build()
        .header("Content-Type", "application/json");
    for (n, v) in target.headers() {
        rb = rb.header(n.as_str(), v.as_str());
    }
    let t0 = Instant::now();
    let res = rb.send(&body[..]);
    let mut tried = Tried {
        ok: false,
        retryable: false,
        http_status: None,
        retry_after: None,
        latency: Duration::ZERO,
        what: String::new(),
    };
    match res {
        Ok(mut resp) => {
            let code = resp.status().as_u16();
            tried.http_status = Some(code);
            tried.retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = resp
                .body_mut()
                .with_config()
                .limit(16 * 1024)
                .lossy_utf8(true)
                .read_to_string()
                .unwrap_or_default();
            tried.latency = t0.elapsed();
            tried.ok = (200..300).contains(&code);
            tried.retryable = code == 429 || code >= 500;
            let said = said(&text);
            tried.what = if said.is_empty() {
                format!("HTTP {code}")
            } else {
                format!("HTTP {code}: {said}")
            };
        }
        Err(e) => {
            tried.latency = t0.elapsed();
            let (what, retryable) = describe(&e, timeout);
            tried.what = what;
            tried.retryable = retryable;
        }
    }
    tried
}

/// A server's answer, short and scrubbed, for a message.
fn said(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let clean = redact::scrub(&one_line);
    if clean.chars().count() > 200 {
        let mut s: String = clean.chars().take(199).collect();
        s.push('…');
        s
    } else {
        clean
    }
}

/// A transport error in a few words, and whether trying again may help.
fn describe(e: &ureq::Error, timeout: Duration) -> (String, bool) {
    match e {
        ureq::Error::Timeout(_) => (format!("no answer in {}", human_duration(timeout)), true),
        ureq::Error::Io(io) => {
            let what = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::ConnectionReset => "connection reset".to_string(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    format!("no answer in {}", human_duration(timeout))
                }
                std::io::ErrorKind::UnexpectedEof => "connection closed without an answer".into(),
                _ => redact::error_chain(io),
            };
            (what, true)
        }
        ureq::Error::HostNotFound => ("host not found".into(), true),
        ureq::Error::ConnectionFailed => ("connection failed".into(), true),
        ureq::Error::Protocol(p) => (
            format!("bad HTTP answer: {}", redact::scrub(&p.to_string())),
            true,
        ),
        other => (redact::error_chain(other), false),
    }
}
