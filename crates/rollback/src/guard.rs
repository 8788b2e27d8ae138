//! `rollback guard`: the cron / systemd-timer mode of the runbook's trigger
//! table. One evaluation of `--rules` (auto-rollback triggers) and
//! `--page-rules` (page a human, never act):
//!
//! - `--rules` CRITICAL: the plan runs, once. The journal records
//!   `guard_fired` before the plan starts, so later runs report "already
//!   rolled back at T (id)" and do nothing until `rollback rearm`;
//! - `--page-rules` CRITICAL: a critical message to the notify targets;
//!   traffic is not touched;
//! - no data (UNKNOWN) is never a reason to roll back, nor to stay silent:
//!   a warning goes to the notify targets and the exit is 3.
//!
//! Overlapping runs (cron every minute, a slow Prometheus) take the guard's
//! lock in turn: the second sees the first's `guard_fired` and does nothing.

use std::time::Duration;

use golive_core::{Deadline, Run, Status, journal, lock, log};
use serde_json::{Map, Value, json};

use crate::engine::{self, Options};
use crate::plan::Plan;

/// `guard`'s flags.
#[derive(Debug, Clone)]
pub struct GuardOptions {
    /// The auto-rollback rules.
    pub rules: String,
    /// Rules that page a human and never act.
    pub page_rules: Option<String>,
    /// `--prometheus`, unless the rules files name one.
    pub prometheus: Option<String>,
    /// How long to wait for an overlapping guard.
    pub wait_lock: Duration,
}

/// When the guard last fired without a rearm since: its `guard_fired`
/// line, with `rollback_id` set from the rollback that followed it.
pub fn fired(lines: &[Value]) -> Option<Value> {
    let at = lines
        .iter()
        .rposition(|l| l["event"] == "guard_fired" || l["event"] == "rearmed")?;
    if lines[at]["event"] != "guard_fired" {
        return None;
    }
    let mut fd = lines[at].clone();
    if let Some(start) = lines[at..].iter().find(|l| l["event"] == "start") {
        fd["rollback_id"] = start["id"].clone();
    }
    Some(fd)
}

/// One metric-gate check of `rules`. A rules file that does not load is
/// the operator's to fix (exit 64), never "no data".
fn judge(rules: &str, prometheus: Option<&str>) -> Result<(Status, Value), golive_core::Error> {
    let mut args: Vec<String> = vec![
        "metric-gate".into(),
        "check".into(),
        "--rules".into(),
        rules.into(),
    ];
    if let Some(p) = prometheus {
        args.extend(["--prometheus".to_string(), p.to_string()]);
    }
    match metric_gate::evaluate(args) {
        Ok(r) => Ok(r),
        Err(e) => match e.status() {
            Some(st) => Ok((st, json!({"message": e.to_string()}))),
            None => Err(e),
        },
    }
}

/// The rules that decided: `name: message` of each rule at `status`.
fn deciding(doc: &Value, status: Status) -> String {
    let names: Vec<String> = doc["rules"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["status"] == status.as_str())
                .map(|r| {
                    format!(
                        "{}: {}",
                        r["name"].as_str().unwrap_or("?"),
                        r["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        doc["message"]
            .as_str()
            .unwrap_or("no rule answered")
            .to_string()
    } else {
        names.join("; ")
    }
}

fn say(plan: &Plan, severity: golive_notify::Severity, text: &str, key: &str) -> Option<Value> {
    if plan.notifier.targets().is_empty() {
        return None;
    }
    let msg = golive_notify::Message::new(severity, text)
        .source("golive rollback guard")
        .key(key);
    serde_json::to_value(
        plan.notifier
            .send(&msg, Deadline::after(Duration::from_secs(30))),
    )
    .ok()
}

/// Run the guard once; the status and the summary (`Err`: a rules file
/// that does not load, exit 64).
pub fn guard(
    plan: &Plan,
    g: &GuardOptions,
    run: &Run,
) -> Result<(Status, Value), golive_core::Error> {
    let mut f = Map::new();
    let out = |status: Status, f: Map<String, Value>| Ok((status, run.summary(status, f)));
    if let Err(e) = std::fs::create_dir_all(&plan.state_dir) {
        f.insert(
            "message".into(),
            json!(format!("cannot create {}: {e}", plan.state_dir.display())),
        );
        return out(Status::Unknown, f);
    }
    let who = journal::who();
    let lock_path = plan.state_dir.join("guard.lock");
    // Page rules first, every run: a human hears about a full disk or
    // memory whatever the triggers say, even after an auto-rollback.
    let mut status = Status::Ok;
    let _lock = match lock::acquire(&lock_path, Some(g.wait_lock), &who, "rollback guard") {
        Ok(l) => l,
        Err(e) => {
            f.insert("decision".into(), json!("unknown"));
            f.insert(
                "message".into(),
                json!(e.message(&lock_path, Some(g.wait_lock))),
            );
            return out(Status::Unknown, f);
        }
    };
    if let Some(pr) = &g.page_rules {
        let (ps, pdoc) = judge(pr, g.prometheus.as_deref())?;
        if ps == Status::Critical {
            let text = format!("page: {}", deciding(&pdoc, ps));
            log::warn(&text);
            f.insert(
                "paged".into(),
                json!({"message": text, "notify": say(plan, golive_notify::Severity::Critical, &text, "golive-guard-page")}),
            );
            status = status.worst(Status::Warning);
        }
        f.insert("page_rules".into(), pdoc);
    }

    let jpath = engine::journal_path(plan);
    let lines = journal::read(&jpath).map(|l| l.objects).unwrap_or_default();
    if let Some(fd) = fired(&lines) {
        let id = fd["rollback_id"].as_str().unwrap_or("?");
        let finished = lines.iter().any(|l| l["event"] == "end" && l["id"] == id);
        let msg = format!(
            "already rolled back at {} ({id}{}); `rollback rearm` lets the guard fire again",
            fd["time"].as_str().unwrap_or("?"),
            if finished {
                ""
            } else {
                ", not finished: `rollback run` resumes it"
            }
        );
        log::info(&msg);
        f.insert("decision".into(), json!("already_rolled_back"));
        f.insert("message".into(), json!(msg));
        f.insert("fired".into(), fd);
        let st = if finished { status } else { Status::Unknown };
        return out(st, f);
    }

    let (rs, rdoc) = judge(&g.rules, g.prometheus.as_deref())?;
    let why = deciding(&rdoc, rs);
    f.insert("rules".into(), rdoc);
    match rs {
        Status::Critical => {
            let reason = format!("auto-rollback: {why}");
            let opts = Options {
                reason: Some(reason.clone()),
                fresh: true,
                wait_lock: Some(g.wait_lock),
                ..Options::default()
            };
            // Remembered before acting: a crash mid-rollback never fires twice.
            let mut m = Map::new();
            m.insert("v".into(), json!(1));
            m.insert("event".into(), json!("guard_fired"));
            m.insert("time".into(), json!(golive_core::now_rfc3339()));
            m.insert("reason".into(), json!(reason));
            if let Err(e) = journal::append(&jpath, &Value::Object(m)) {
                // Without the record, a later run could fire again: do not act.
                f.insert("decision".into(), json!("unknown"));
                f.insert(
                    "message".into(),
                    json!(format!("{reason}; but {e}: not rolling back")),
                );
                return out(Status::Unknown, f);
            }
            let (st, doc) = engine::run_plan(plan, &opts, run, &mut |_| {});
            f.insert("decision".into(), json!("rolled_back"));
            f.insert(
                "message".into(),
                json!(format!(
                    "{reason}; {}",
                    doc["message"].as_str().unwrap_or("")
                )),
            );
            f.insert("rollback".into(), doc);
            Ok((st, run.summary(st, f)))
        }
        Status::Unknown => {
            let text = format!("the rollback guard cannot see its evidence: {why}");
            log::warn(&text);
            f.insert("decision".into(), json!("unknown"));
            f.insert("message".into(), json!(text));
            f.insert(
                "notify".into(),
                json!(say(
                    plan,
                    golive_notify::Severity::Warning,
                    &text,
                    "golive-guard-no-data"
                )),
            );
            out(Status::Unknown, f)
        }
        other => {
            f.insert(
                "decision".into(),
                json!(if other == Status::Warning {
                    "watch"
                } else {
                    "ok"
                }),
            );
            f.insert("message".into(), json!(format!("no trigger fired: {why}")));
            out(status.worst(other), f)
        }
    }
}

/// `rollback rearm`: the guard may fire again.
pub fn rearm(plan: &Plan, run: &Run) -> (Status, Value) {
    let jpath = engine::journal_path(plan);
    let mut f = Map::new();
    let lines = journal::read(&jpath).map(|l| l.objects).unwrap_or_default();
    let was = fired(&lines);
    if let Err(e) = std::fs::create_dir_all(&plan.state_dir) {
        f.insert("message".into(), json!(e.to_string()));
        return (Status::Unknown, run.summary(Status::Unknown, f));
    }
    let mut m = Map::new();
    m.insert("v".into(), json!(1));
    m.insert("event".into(), json!("rearmed"));
    m.insert("time".into(), json!(golive_core::now_rfc3339()));
    journal::who().fields(&mut m);
    if let Err(e) = journal::append(&jpath, &Value::Object(m)) {
        f.insert("message".into(), json!(e));
        return (Status::Unknown, run.summary(Status::Unknown, f));
    }
    f.insert(
        "message".into(),
        json!(match &was {
            Some(fd) => format!(
                "rearmed: the guard fired at {} and may fire again",
                fd["time"].as_str().unwrap_or("?")
            ),
            None => "rearmed (the guard had not fired)".to_string(),
        }),
    );
    f.insert("was_fired".into(), json!(was.is_some()));
    (Status::Ok, run.summary(Status::Ok, f))
}
