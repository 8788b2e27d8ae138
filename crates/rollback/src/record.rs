//! The launch's own record: `rollback notify` appends one event to the
//! evidence folder's `timeline.ndjson` (fsynced, one JSON object a line),
//! rewrites `status.json` and `status.html` from the whole timeline, prints
//! the line people read in #incidents (`[12:05 UTC] ✅ dns: cutover
//! complete`), and tells the plan's `[[notify]]` targets with the runbook's
//! severity routing.
//!
//! Events a launch records, per phase (any other name is a note):
//!
//! | event               | phase state  | severity |
//! |---------------------|--------------|----------|
//! | `started`, `resumed`| in progress  | info     |
//! | `checkpoint`        | in progress  | by status (a CRITICAL verdict: critical) |
//! | `passed`            | complete     | info     |
//! | `paused`            | paused       | warning  |
//! | `failed`            | failed       | critical |
//! | `interrupted`       | in progress  | warning  |
//! | `rollback-started`  | rolled back  | critical |
//! | `rollback-finished` | rolled back  | critical (a resolve when it succeeded) |
//!
//! The status page follows Statuspage's vocabulary: the service component
//! is `operational`, `degraded_performance`, `partial_outage` or
//! `major_outage`; an incident opens `investigating` at a failure, becomes
//! `identified` when the rollback starts and `resolved` when it finished
//! and verified.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use golive_core::{Deadline, Run, Status, journal, redact};
use golive_notify::{Action, Message, Severity};
use serde_json::{Map, Value, json};

use crate::plan::Plan;

/// The launch's phases in the runbook's order; a timeline may add others.
pub const DEFAULT_PHASES: &str = "preflight,dns,soft-launch,rollout-25,rollout-100,monitoring";

/// What `rollback notify` was asked to record.
#[derive(Debug, Clone)]
pub struct EventArgs {
    /// The evidence folder (timeline, status page).
    pub evidence: PathBuf,
    /// The phase (`soft-launch`).
    pub phase: String,
    /// The event (`passed`).
    pub event: String,
    /// ok, warning, critical or unknown.
    pub status: Status,
    /// One line for people.
    pub message: String,
    /// Figures that decided it.
    pub figures: Map<String, Value>,
    /// Over the routing's choice.
    pub severity: Option<Severity>,
    /// Record only; send nothing.
    pub no_send: bool,
    /// The phases the status page lists, in order.
    pub phases: Vec<String>,
    /// The service's name on the status page.
    pub service: String,
}

/// `KEY=VALUE` into a figure: the value as JSON when it parses, else text.
pub fn parse_figure(s: &str) -> Result<(String, Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("--figure '{s}': want KEY=VALUE"))?;
    let k = k.trim();
    if k.is_empty()
        || !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err(format!(
            "--figure '{s}': the key must be letters, digits, _ - ."
        ));
    }
    let v = v.trim();
    let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| json!(v));
    Ok((k.to_string(), value))
}

/// The deciding figures of a tool's JSON document (metric-gate's rules,
/// probe's checks): name, status, value and message of each item, and the
/// INFO notes.
pub fn figures_of_document(doc: &Value) -> Map<String, Value> {
    let mut f = Map::new();
    for key in ["decision", "status", "exit_code"] {
        if let Some(v) = doc.get(key) {
            f.insert(key.into(), v.clone());
        }
    }
    for list in ["rules", "checks", "steps"] {
        if let Some(items) = doc.get(list).and_then(Value::as_array) {
            let short: Vec<Value> = items
                .iter()
                .map(|i| {
                    let mut m = Map::new();
                    for k in ["name", "status", "value", "message"] {
                        if let Some(v) = i.get(k) {
                            m.insert(k.into(), v.clone());
                        }
                    }
                    Value::Object(m)
                })
                .collect();
            f.insert(list.into(), json!(short));
        }
    }
    if let Some(n) = doc
        .get("notes")
        .filter(|n| n.as_array().is_some_and(|a| !a.is_empty()))
    {
        f.insert("notes".into(), n.clone());
    }
    f
}

/// The runbook's routing: a rollback or a failure is critical, a pause or
/// an interruption a warning, a phase passed or started info.
pub fn severity_of(event: &str, status: Status) -> Severity {
    match (event, status) {
        ("failed" | "rollback-started" | "rollback-finished", _) => Severity::Critical,
        (_, Status::Critical) => Severity::Critical,
        ("paused" | "interrupted", _) | (_, Status::Warning) => Severity::Warning,
        _ => Severity::Info,
    }
}

/// The mark a human line starts with.
pub fn symbol(event: &str, status: Status) -> &'static str {
    match (event, status) {
        ("rollback-started", _) => "↩️",
        ("rollback-finished", Status::Ok) => "✅",
        ("rollback-finished", _) => "🚨",
        ("failed", _) | (_, Status::Critical) => "🚨",
        ("paused", _) => "⏸️",
        ("interrupted", _) => "⚡",
        ("resumed", _) => "▶️",
        ("started", _) => "🚀",
        (_, Status::Warning) => "⚠️",
        (_, Status::Unknown) => "❔",
        ("passed", _) => "✅",
        _ => "ℹ️",
    }
}

/// `[12:05 UTC] ✅ dns: cutover complete`.
pub fn human_line(event: &Value) -> String {
    let time = event["time"].as_str().unwrap_or_default();
    let hm = time.get(11..16).unwrap_or("??:??");
    let status = status_of(&event["status"]);
    format!(
        "[{hm} UTC] {} {}: {}",
        symbol(event["event"].as_str().unwrap_or_default(), status),
        event["phase"].as_str().unwrap_or_default(),
        golive_core::output::printable(event["message"].as_str().unwrap_or_default())
    )
}

fn status_of(v: &Value) -> Status {
    match v.as_str() {
        Some("ok") => Status::Ok,
        Some("warning") => Status::Warning,
        Some("critical") => Status::Critical,
        _ => Status::Unknown,
    }
}

/// The timeline's path in an evidence folder.
pub fn timeline_path(evidence: &Path) -> PathBuf {
    evidence.join("timeline.ndjson")
}

/// The launch's id: its first event's time (`launch-20261201T120500Z`).
fn launch_id(events: &[Value], now: &str) -> String {
    let first = events
        .first()
        .and_then(|e| e["time"].as_str())
        .unwrap_or(now);
    let compact: String = first
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect();
    format!("launch-{compact}Z")
}

/// A phase's state on the status page.
fn phase_state(events: &[&Value]) -> &'static str {
    let Some(last) = events
        .iter()
        .rev()
        .find(|e| e["event"] != "note")
        .or(events.last())
    else {
        return "pending";
    };
    match last["event"].as_str().unwrap_or_default() {
        "passed" => "complete",
        "failed" => "failed",
        "paused" => "paused",
        "rollback-started" | "rollback-finished" => "rolled_back",
        _ => "in_progress",
    }
}

fn state_symbol(state: &str) -> &'static str {
    match state {
        "complete" => "✅",
        "in_progress" => "🟡",
        "paused" => "⏸️",
        "failed" => "🚨",
        "rolled_back" => "↩️",
        _ => "⏳",
    }
}

/// The status page's document from the whole timeline.
pub fn status_page(events: &[Value], phases: &[String], service: &str, now: &str) -> Value {
    let mut names: Vec<String> = phases.to_vec();
    for e in events {
        if let Some(p) = e["phase"].as_str()
            && !names.iter().any(|n| n == p)
        {
            names.push(p.to_string());
        }
    }
    let phase_docs: Vec<Value> = names
        .iter()
        .map(|n| {
            let mine: Vec<&Value> = events.iter().filter(|e| e["phase"] == n.as_str()).collect();
            let state = phase_state(&mine);
            let mut d = json!({"name": n, "state": state, "symbol": state_symbol(state)});
            if let Some(first) = mine.first() {
                d["since"] = first["time"].clone();
            }
            if let Some(last) = mine.last() {
                d["last_event"] = last["event"].clone();
                d["message"] = last["message"].clone();
            }
            d
        })
        .collect();
    // The component and the incident, in Statuspage's words.
    let mut component = "operational";
    let mut incident: Option<Value> = None;
    for e in events {
        let ev = e["event"].as_str().unwrap_or_default();
        let st = status_of(&e["status"]);
        let update =
            |status: &str| json!({"at": e["time"], "status": status, "body": e["message"]});
        match (ev, st) {
            ("rollback-started", _) => {
                component = "major_outage";
                let inc = incident.get_or_insert_with(|| new_incident(e));
                inc["status"] = json!("identified");
                push_update(inc, update("identified"));
            }
            ("rollback-finished", Status::Ok) => {
                component = "operational";
                if let Some(inc) = incident.as_mut() {
                    inc["status"] = json!("resolved");
                    inc["resolved_at"] = e["time"].clone();
                    push_update(inc, update("resolved"));
                }
            }
            ("rollback-finished", _) => {
                component = "major_outage";
                if let Some(inc) = incident.as_mut() {
                    push_update(inc, update("identified"));
                }
            }
            ("failed", _) | (_, Status::Critical) => {
                component = "major_outage";
                let inc = incident.get_or_insert_with(|| new_incident(e));
                if inc["status"] == "resolved" {
                    *inc = new_incident(e);
                }
                push_update(
                    inc,
                    update(
                        inc["status"]
                            .as_str()
                            .unwrap_or("investigating")
                            .to_string()
                            .as_str(),
                    ),
                );
            }
            (_, Status::Warning) | ("paused", _) => component = "degraded_performance",
            (_, Status::Unknown) => component = "partial_outage",
            ("passed" | "started" | "resumed" | "checkpoint", Status::Ok)
                if incident.as_ref().is_none_or(|i| i["status"] == "resolved") =>
            {
                component = "operational";
            }
            _ => {}
        }
    }
    let current = phase_docs
        .iter()
        .rev()
        .find(|p| p["state"] != "pending")
        .map(|p| p["name"].clone())
        .unwrap_or(Value::Null);
    json!({
        "updated_at": now,
        "launch": launch_id(events, now),
        "service": service,
        "current_phase": current,
        "phases": phase_docs,
        "components": [{"name": service, "status": component}],
        "incident": incident,
        "events": events.len(),
    })
}

fn new_incident(e: &Value) -> Value {
    json!({
        "name": format!("{}: {}", e["phase"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or("")),
        "status": "investigating",
        "started_at": e["time"],
        "updates": [],
    })
}

fn push_update(inc: &mut Value, u: Value) {
    if let Some(a) = inc["updates"].as_array_mut() {
        a.push(u);
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The status page as one self-contained HTML file (it refreshes itself).
pub fn status_html(doc: &Value, events: &[Value]) -> String {
    let s = |v: &Value| esc(v.as_str().unwrap_or_default());
    let mut rows = String::new();
    for p in doc["phases"].as_array().into_iter().flatten() {
        rows.push_str(&format!(
            "<tr class=\"{}\"><td>{}</td><td>{} {}</td><td>{}</td></tr>\n",
            s(&p["state"]),
            s(&p["name"]),
            s(&p["symbol"]),
            s(&p["state"]).replace('_', " "),
            s(&p["message"])
        ));
    }
    let component = &doc["components"][0];
    let incident = match doc["incident"].as_object() {
        Some(i) => format!(
            "<section class=\"incident\"><h2>Incident: {}</h2><p>Status: <b>{}</b></p><ul>{}</ul></section>",
            s(&i["name"]),
            s(&i["status"]),
            i["updates"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|u| format!(
                    "<li>{} — {}: {}</li>",
                    s(&u["at"]),
                    s(&u["status"]),
                    s(&u["body"])
                ))
                .collect::<String>()
        ),
        None => String::new(),
    };
    let lines: String = events
        .iter()
        .rev()
        .take(50)
        .map(|e| format!("<li>{}</li>", esc(&human_line(e))))
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"15\">\n<title>{svc} launch status</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:60em}}td{{padding:.3em 1em}}.complete td{{color:#176f2c}}.failed td,.rolled_back td{{color:#a4161a}}.incident{{border-left:4px solid #a4161a;padding-left:1em}}</style></head>\n<body><h1>{svc}: {comp}</h1><p>Launch {launch}, updated {updated}</p>\n<table id=\"phases\"><tr><th>Phase</th><th>State</th><th>Last</th></tr>\n{rows}</table>\n{incident}\n<h2>Timeline</h2><ul id=\"timeline\">{lines}</ul></body></html>\n",
        svc = s(&doc["service"]),
        comp = s(&component["status"]).replace('_', " "),
        launch = s(&doc["launch"]),
        updated = s(&doc["updated_at"]),
    )
}

/// Record one event, rewrite the status page, notify: the `notify` action.
pub fn notify(plan: &Plan, a: &EventArgs, run: &Run) -> (Status, Value) {
    let now = golive_core::rfc3339(SystemTime::now());
    let timeline = timeline_path(&a.evidence);
    let mut f = Map::new();
    f.insert("timeline".into(), json!(timeline.display().to_string()));
    if let Err(e) = std::fs::create_dir_all(&a.evidence) {
        f.insert(
            "message".into(),
            json!(format!("cannot create {}: {e}", a.evidence.display())),
        );
        return (Status::Unknown, run.summary(Status::Unknown, f));
    }
    let severity = a
        .severity
        .unwrap_or_else(|| severity_of(&a.event, a.status));
    let message = redact::scrub(&a.message);
    let event = json!({
        "time": now,
        "phase": a.phase,
        "event": a.event,
        "status": a.status,
        "severity": severity,
        "message": message,
        "figures": a.figures,
    });
    if let Err(e) = journal::append(&timeline, &event) {
        f.insert(
            "message".into(),
            json!(format!("timeline not written: {e}")),
        );
        return (Status::Unknown, run.summary(Status::Unknown, f));
    }
    let events = journal::read(&timeline)
        .map(|l| l.objects)
        .unwrap_or_default();
    let page = status_page(&events, &a.phases, &a.service, &now);
    let html = status_html(&page, &events);
    let written = golive_core::fs::write_atomic(
        &a.evidence.join("status.json"),
        format!("{page:#}\n").as_bytes(),
    )
    .and_then(|_| golive_core::fs::write_atomic(&a.evidence.join("status.html"), html.as_bytes()));
    let line = human_line(&event);
    f.insert("line".into(), json!(line));
    f.insert("event".into(), event.clone());
    f.insert(
        "status_page".into(),
        json!(a.evidence.join("status.json").display().to_string()),
    );
    if let Err(e) = written {
        f.insert(
            "message".into(),
            json!(format!("status page not written: {e}")),
        );
        return (Status::Unknown, run.summary(Status::Unknown, f));
    }
    let mut status = Status::Ok;
    if a.no_send {
        f.insert("notified".into(), Value::Null);
    } else {
        let key = format!("golive-{}", launch_id(&events, &now));
        let mut msg = Message::new(severity, format!("{}: {message}", a.phase))
            .source("golive launch")
            .key(&key)
            .detail("phase", a.phase.clone())
            .detail("event", a.event.clone())
            .detail("status", a.status.as_str());
        for (k, v) in &a.figures {
            msg = msg.detail(k, v.clone());
        }
        msg = match (a.event.as_str(), a.status) {
            ("rollback-finished", Status::Ok) => msg.resolved(format!("{}: {message}", a.phase)),
            (_, _) if severity == Severity::Critical => msg,
            _ => msg.action(Action::Change),
        };
        let report = plan
            .notifier
            .send(&msg, Deadline::after(Duration::from_secs(30)));
        status = report.status();
        f.insert(
            "notified".into(),
            serde_json::to_value(&report).unwrap_or(Value::Null),
        );
    }
    f.insert("message".into(), json!(line));
    (status, run.summary(status, f))
}
