//! `rollback run`: the plan's steps in order, each journaled before and
//! after (`state_dir/journal.ndjson`, fsynced), under a lock so two
//! rollbacks never interleave, resumable after a crash.
//!
//! A rollback whose journal has a `start` and no `end` is taken over by the
//! next `run` (same id): the steps that ended are not repeated, the one in
//! flight runs again (every kind can). `--fresh` starts a new id instead.
//! At the end the evidence folder gets the report, this rollback's journal
//! lines and `manifest.sha256`; the notify targets hear the outcome (a
//! resolve when done and verified, a critical message when not).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use golive_core::doc::{Event, Summary};
use golive_core::{Deadline, Run, Status, journal, lock, log, signals};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::plan::{OnFailure, Plan};
use crate::steps::{self, Context};

/// How `run` was asked to go.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--reason`, over the plan's.
    pub reason: Option<String>,
    /// `--dry-run`: show every step, change nothing, send nothing.
    pub dry_run: bool,
    /// `--fresh`: a new rollback even if the last one did not finish.
    pub fresh: bool,
    /// `--wait-lock`: how long to wait for another rollback to finish.
    pub wait_lock: Option<Duration>,
}

/// The report of a rollback.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RunBody {
    /// `done`, `done_with_warnings`, `failed`, `interrupted`, `locked`,
    /// `dry_run`.
    pub outcome: &'static str,
    /// One readable sentence.
    pub message: String,
    /// The rollback's id (also the notification dedup key).
    pub id: String,
    /// Why.
    pub reason: String,
    /// `user@host`.
    pub started_by: String,
    /// When it started (the first run, if this one resumed it).
    pub started_at_first: String,
    /// Whether this run took over an unfinished rollback.
    pub resumed: bool,
    /// The signal that stopped it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<&'static str>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// The plan file.
    pub plan: String,
    /// Each step, in plan order.
    pub steps: Vec<golive_core::doc::Item<StepFigures>>,
    /// The step that stopped the rollback, if one did.
    pub failed_step: Option<String>,
    /// The split the last traffic step left (`blue=100,green=0`), if known.
    pub traffic: Option<String>,
    /// The evidence folder (null for a dry run).
    pub evidence: Option<String>,
    /// The journal.
    pub journal: String,
    /// The final notification's report, if one was sent.
    pub notified: Option<Value>,
}

/// A step in the report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StepFigures {
    /// `notify`, `traffic`, `dns`, `exec`, `verify`, `evidence`, `gate`.
    pub kind: &'static str,
    /// `ok`, `failed`, `skipped` (not reached), `done_before` (a resumed
    /// rollback had done it), `planned` (dry run).
    pub state: &'static str,
    /// `stop` or `continue`.
    pub on_failure: &'static str,
    /// Time it took.
    pub duration_ms: f64,
    /// When it ended (null: it did not run in this run).
    pub ended_at: Option<String>,
    /// What it saw: a tool's summary, a notify report, …
    #[serde(flatten)]
    pub figures: Map<String, Value>,
}

/// Any document rollback prints.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // the schema root; never built
pub enum Document {
    /// `run` (and the rollback inside `guard`).
    Run(Summary<RunBody>),
    /// `status`, `guard`, `rearm`.
    Other(Summary<Map<String, Value>>),
    /// An ndjson event of `run`: `step`.
    Event(Event<Map<String, Value>>),
}

/// The journal beside the plan's state.
pub fn journal_path(plan: &Plan) -> PathBuf {
    plan.state_dir.join("journal.ndjson")
}

/// The last rollback the journal holds: its `start` line and whether an
/// `end` line followed.
pub fn last_rollback(lines: &[Value]) -> Option<(Value, Option<Value>)> {
    let start = lines.iter().rev().find(|l| l["event"] == "start")?.clone();
    let id = start["id"].clone();
    let end = lines
        .iter()
        .rev()
        .find(|l| l["event"] == "end" && l["id"] == id)
        .cloned();
    Some((start, end))
}

/// Run `plan`. `on_step` sees each step's report item as it ends (ndjson).
pub fn run_plan(
    plan: &Plan,
    opts: &Options,
    run: &Run,
    on_step: &mut dyn FnMut(&Value),
) -> (Status, Value) {
    let jpath = journal_path(plan);
    let who = journal::who();
    let mut body = RunBody {
        outcome: "failed",
        message: String::new(),
        id: String::new(),
        reason: opts.reason.clone().unwrap_or_else(|| plan.reason.clone()),
        started_by: who.started_by(),
        started_at_first: golive_core::now_rfc3339(),
        resumed: false,
        interrupted: None,
        dry_run: opts.dry_run,
        plan: plan.path.display().to_string(),
        steps: Vec::new(),
        failed_step: None,
        traffic: None,
        evidence: None,
        journal: jpath.display().to_string(),
        notified: None,
    };
    let end = |body: RunBody, status: Status| (status, run.document(status, &body));

    // The journal: is there an unfinished rollback to take over?
    let lines = match journal::read(&jpath) {
        Ok(l) => l.objects,
        Err(e) => {
            body.message = e;
            return end(body, Status::Unknown);
        }
    };
    let mut done_before: Map<String, Value> = Map::new();
    match last_rollback(&lines) {
        Some((start, None)) if !opts.fresh => {
            body.id = start["id"].as_str().unwrap_or_default().to_string();
            body.resumed = true;
            if opts.reason.is_none() {
                body.reason = start["reason"].as_str().unwrap_or(&body.reason).to_string();
            }
            body.started_at_first = start["time"].as_str().unwrap_or_default().to_string();
            for l in lines
                .iter()
                .filter(|l| l["id"] == start["id"] && l["event"] == "step_end")
            {
                if let Some(n) = l["step"].as_str() {
                    done_before.insert(n.to_string(), l.clone());
                }
            }
        }
        _ => body.id = new_id(),
    }
    let evidence = plan.state_dir.join(&body.id).join("evidence");
    let cx_reason = body.reason.clone();
    let cx_id = body.id.clone();
    let cx = Context {
        id: &cx_id,
        reason: &cx_reason,
        notifier: &plan.notifier,
        evidence: &evidence,
    };

    if opts.dry_run {
        for s in &plan.steps {
            let o = steps::plan(s, &cx);
            // A step that cannot even say what it would do would fail for real.
            let state = if o.status <= Status::Warning {
                "planned"
            } else {
                "failed"
            };
            body.steps.push(item(s, o, state, Duration::ZERO));
        }
        body.outcome = "dry_run";
        body.message = format!(
            "dry run: {} step(s) would run as {}; nothing was changed and nothing was sent",
            plan.steps.len(),
            body.id
        );
        let status = Status::merge_seen(body.steps.iter().map(|s| s.status));
        return end(body, status);
    }

    // The lock.
    if let Err(e) = std::fs::create_dir_all(&plan.state_dir) {
        body.message = format!("cannot create {}: {e}", plan.state_dir.display());
        return end(body, Status::Unknown);
    }
    let lock_path = plan.state_dir.join("rollback.lock");
    let _lock = match lock::acquire(&lock_path, opts.wait_lock, &who, "rollback run") {
        Ok(l) => l,
        Err(e) => {
            body.outcome = "locked";
            body.message = e.message(&lock_path, opts.wait_lock);
            return end(body, Status::Critical);
        }
    };
    let journal_line = |event: &str, mut m: Map<String, Value>| {
        m.insert("v".into(), json!(1));
        m.insert("event".into(), json!(event));
        m.insert("id".into(), json!(cx_id));
        m.insert("time".into(), json!(golive_core::now_rfc3339()));
        journal::append(&jpath, &Value::Object(m))
    };
    let mut start = Map::new();
    start.insert("reason".into(), json!(body.reason));
    start.insert("plan".into(), json!(body.plan));
    start.insert(
        "steps".into(),
        json!(
            plan.steps
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        ),
    );
    who.fields(&mut start);
    let first = if body.resumed { "resume" } else { "start" };
    if let Err(e) = journal_line(first, start) {
        body.message = format!("{e}; nothing was done");
        return end(body, Status::Critical);
    }
    if body.resumed {
        log::warn(&format!(
            "taking over rollback {} (started {}); {} step(s) already done",
            body.id,
            body.started_at_first,
            done_before.len()
        ));
    }

    // The steps. A caught signal stops between steps (a command in flight
    // is stopped with its process group); the journal lets a rerun resume.
    signals::catch();
    let mut status = Status::Ok;
    let mut stopped: Option<String> = None;
    for s in &plan.steps {
        if let Some(prev) = done_before.get(&s.name) {
            let st = match prev["status"].as_str() {
                Some("ok") => Status::Ok,
                Some("warning") => Status::Warning,
                Some("critical") => Status::Critical,
                _ => Status::Unknown,
            };
            let o = steps::Outcome {
                status: st,
                message: format!(
                    "done before the resume: {}",
                    prev["message"].as_str().unwrap_or("")
                ),
                figures: Map::new(),
            };
            if s.on_failure == OnFailure::Continue {
                status = status.worst(st.min(Status::Warning));
            }
            body.steps.push(item(s, o, "done_before", Duration::ZERO));
            continue;
        }
        if stopped.is_none()
            && let Some(sig) = signals::received()
        {
            stopped = Some(format!("stopped by {sig} before step `{}`", s.name));
            status = Status::Unknown;
            body.outcome = "interrupted";
            body.interrupted = Some(sig);
        }
        if stopped.is_some() {
            let o = steps::Outcome {
                status: Status::Unknown,
                message: "not run".into(),
                figures: Map::new(),
            };
            body.steps.push(item(s, o, "skipped", Duration::ZERO));
            continue;
        }
        let mut m = Map::new();
        m.insert("step".into(), json!(s.name));
        m.insert("kind".into(), json!(s.kind.name()));
        let _ = journal_line("step_start", m);
        log::info(&format!("step {}: {} …", s.name, s.kind.name()));
        let t0 = Instant::now();
        let o = steps::run(s, &cx);
        let took = t0.elapsed();
        if let Some(split) = o.figures.get("shift").and_then(|d| d["after"].as_object()) {
            body.traffic = Some(
                split
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        let ok = o.status <= Status::Warning;
        let interrupted = signals::received().filter(|_| !ok);
        if interrupted.is_none() {
            // A step stopped by a signal did not end: a rerun repeats it.
            let mut m = Map::new();
            m.insert("step".into(), json!(s.name));
            m.insert("status".into(), json!(o.status));
            m.insert("message".into(), json!(o.message));
            let _ = journal_line("step_end", m);
        }
        log::info(&format!(
            "step {}: {} {}",
            s.name,
            o.status.label(),
            o.message
        ));
        let state = if ok { "ok" } else { "failed" };
        let failed = !ok;
        let it = item(s, o, state, took);
        on_step(&serde_json::to_value(&it).unwrap_or(Value::Null));
        body.steps.push(it);
        if let Some(sig) = interrupted {
            stopped = Some(format!("stopped by {sig} during step `{}`", s.name));
            status = Status::Unknown;
            body.outcome = "interrupted";
            body.interrupted = Some(sig);
        } else if failed && s.on_failure == OnFailure::Stop {
            let st = body
                .steps
                .last()
                .map(|i| i.status)
                .unwrap_or(Status::Critical);
            status = if st == Status::Unknown {
                Status::Unknown
            } else {
                Status::Critical
            };
            body.failed_step = Some(s.name.clone());
            stopped = Some(format!("step `{}` failed", s.name));
        } else if failed
            || body
                .steps
                .last()
                .is_some_and(|i| i.status == Status::Warning)
        {
            status = status.worst(Status::Warning);
        }
    }

    // The outcome, said once.
    let done: Vec<&str> = body
        .steps
        .iter()
        .filter(|i| i.figures.state == "ok" || i.figures.state == "done_before")
        .map(|i| i.name.as_str())
        .collect();
    let traffic_now = body
        .traffic
        .clone()
        .map(|t| format!("; traffic is {t}"))
        .unwrap_or_default();
    match &stopped {
        Some(why) => {
            if body.outcome != "interrupted" {
                body.outcome = "failed";
            }
            body.message = format!(
                "rollback {} {why}: {} ({}){traffic_now}",
                body.id,
                body.steps
                    .iter()
                    .find(|i| Some(&i.name) == body.failed_step.as_ref())
                    .map(|i| i.message.clone())
                    .unwrap_or_else(|| "rerun `rollback run` to resume".into()),
                if done.is_empty() {
                    "nothing was done before it".to_string()
                } else {
                    format!("done before it: {}", done.join(", "))
                }
            );
        }
        None => {
            body.outcome = if status == Status::Ok {
                "done"
            } else {
                "done_with_warnings"
            };
            body.message = format!(
                "rollback {} done and verified: {} step(s){traffic_now}{}",
                body.id,
                body.steps.len(),
                if status == Status::Warning {
                    "; a step that does not stop a rollback failed (see steps)"
                } else {
                    ""
                }
            );
        }
    }
    if body.outcome != "interrupted" {
        body.notified = final_notice(plan, &cx, &body, status);
        let mut m = Map::new();
        m.insert("status".into(), json!(status));
        m.insert("outcome".into(), json!(body.outcome));
        m.insert("message".into(), json!(body.message));
        let _ = journal_line("end", m);
    }
    body.evidence = Some(evidence.display().to_string());
    let doc = run.document(status, &body);
    if let Err(e) = keep_evidence(&evidence, &doc, &jpath, &body.id) {
        log::warn(&format!("evidence: {e}"));
    }
    (status, doc)
}

/// The last word to the notify targets: resolved when done, critical when
/// the rollback failed.
fn final_notice(plan: &Plan, cx: &Context<'_>, body: &RunBody, status: Status) -> Option<Value> {
    if plan.notifier.targets().is_empty() {
        return None;
    }
    let base = golive_notify::Message::new(golive_notify::Severity::Critical, &body.message)
        .source("golive rollback")
        .key(cx.id)
        .detail("rollback_id", cx.id)
        .detail("reason", cx.reason);
    let msg = if status <= Status::Warning {
        base.resolved(&body.message)
    } else {
        base
    };
    let report = plan
        .notifier
        .send(&msg, Deadline::after(Duration::from_secs(30)));
    serde_json::to_value(&report).ok()
}

fn keep_evidence(dir: &Path, doc: &Value, journal: &Path, id: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut report = serde_json::to_string_pretty(doc).unwrap_or_default();
    report.push('\n');
    golive_core::fs::write_atomic(&dir.join("report.json"), report.as_bytes())?;
    let mine: String = journal::read(journal)
        .map(|l| l.objects)
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l["id"] == id)
        .map(|l| format!("{l}\n"))
        .collect();
    golive_core::fs::write_atomic(&dir.join("journal.ndjson"), mine.as_bytes())?;
    crate::evidence::write_manifest(dir)
}

fn item(
    s: &crate::plan::Step,
    o: steps::Outcome,
    state: &'static str,
    took: Duration,
) -> golive_core::doc::Item<StepFigures> {
    golive_core::doc::Item {
        name: s.name.clone(),
        status: o.status,
        message: o.message,
        figures: StepFigures {
            kind: s.kind.name(),
            state,
            on_failure: match s.on_failure {
                OnFailure::Stop => "stop",
                OnFailure::Continue => "continue",
            },
            duration_ms: golive_core::duration_ms(took),
            ended_at: (state == "ok" || state == "failed").then(golive_core::now_rfc3339),
            figures: o.figures,
        },
    }
}

/// `rb-20261128T042139Z-4242`: when and which process.
fn new_id() -> String {
    let now = golive_core::now_rfc3339();
    let compact: String = now
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .take(15)
        .collect();
    format!("rb-{compact}Z-{}", std::process::id())
}
