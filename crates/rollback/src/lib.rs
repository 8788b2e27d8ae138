//! rollback: put traffic, DNS and services back — one command, verified,
//! evidence kept, notified; resumable after a crash, never twice by
//! accident.
//!
//! `rollback run --plan FILE` runs the plan's steps ([`plan`]) in order on
//! the other tools' libraries ([`steps`]), journaled and locked
//! ([`engine`]), with an evidence folder ([`evidence`]); `rollback guard`
//! is the cron mode that fires it once from metric-gate rules ([`guard`]).
//! Exit codes: 0 done and verified, 1 done but a step that does not stop a
//! rollback failed, 2 failed (the step is named), 3 state unknown, 64 usage.

pub mod cli;
pub mod engine;
pub mod evidence;
pub mod guard;
pub mod plan;
pub mod record;
pub mod steps;

use std::ffi::OsString;
use std::process::ExitCode;

use golive_core::output::{self, Format};
use golive_core::{Run, Status, journal};
use serde_json::{Map, Value, json};

/// The tool's name.
pub const TOOL: &str = "rollback";

/// Run rollback with `args` (program name first); returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    golive_core::runner::main(TOOL, || {
        let cli: cli::Cli = match golive_core::cli::parse(TOOL, args) {
            Ok(c) => c,
            Err(code) => return code,
        };
        cli.common.init_log(TOOL);
        let cfg = match cli.config() {
            Ok(c) => c,
            Err(e) => return e.report(TOOL),
        };
        let run = Run::start(TOOL, env!("CARGO_PKG_VERSION"));
        let path = match &cfg.action {
            cli::Action::Run(p, _)
            | cli::Action::Status(p)
            | cli::Action::Guard(p, _)
            | cli::Action::Rearm(p)
            | cli::Action::Notify(p, _) => p.clone(),
        };
        let plan = match plan::load(&path) {
            Ok(p) => p,
            Err(e) => return e.report(TOOL),
        };
        let format = cfg.format;
        let (status, doc) = match &cfg.action {
            cli::Action::Run(_, opts) => engine::run_plan(&plan, opts, &run, &mut |item| {
                if format == Format::Ndjson {
                    let fields = item.as_object().cloned().unwrap_or_default();
                    output::emit_line(&run.event("step", fields));
                }
            }),
            cli::Action::Status(_) => status(&plan, &run),
            cli::Action::Guard(_, g) => match guard::guard(&plan, g, &run) {
                Ok(r) => r,
                Err(e) => return e.report(TOOL),
            },
            cli::Action::Rearm(_) => guard::rearm(&plan, &run),
            cli::Action::Notify(_, a) => record::notify(&plan, a, &run),
        };
        match format {
            Format::Text if matches!(cfg.action, cli::Action::Notify(..)) => {
                output::emit(&format!("{}\n", doc["line"].as_str().unwrap_or_default()))
            }
            Format::Text => output::emit(&text(&doc)),
            _ => output::emit_summary_json(format, &doc),
        }
        if status != Status::Ok && format != Format::Text {
            golive_core::log::warn(doc["message"].as_str().unwrap_or("failed"));
        }
        status.into()
    })
}

/// `rollback status`: the last rollback and each step's state, from the
/// journal. Exit 0 when it finished done (or none ran), 1 done with
/// warnings, 2 failed, 3 unfinished (rerun `rollback run` to resume).
fn status(plan: &plan::Plan, run: &Run) -> (Status, Value) {
    let jpath = engine::journal_path(plan);
    let mut f = Map::new();
    f.insert("journal".into(), json!(jpath.display().to_string()));
    let lines = match journal::read(&jpath) {
        Ok(l) => l.objects,
        Err(e) => {
            f.insert("message".into(), json!(e));
            return (Status::Unknown, run.summary(Status::Unknown, f));
        }
    };
    let Some((start, end)) = engine::last_rollback(&lines) else {
        f.insert("message".into(), json!("no rollback has run"));
        f.insert("last".into(), Value::Null);
        return (Status::Ok, run.summary(Status::Ok, f));
    };
    let id = start["id"].clone();
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            let ended = lines
                .iter()
                .rev()
                .find(|l| l["id"] == id && l["event"] == "step_end" && l["step"] == s.name.as_str());
            let started = lines
                .iter()
                .any(|l| l["id"] == id && l["event"] == "step_start" && l["step"] == s.name.as_str());
            let (state, status, message) = match ended {
                Some(e) => (
                    "ended",
                    e["status"].clone(),
                    e["message"].as_str().unwrap_or("").to_string(),
                ),
                None if started => ("in_flight", json!("unknown"), "started, no end recorded".into()),
                None => ("not_started", json!("unknown"), "not started".into()),
            };
            json!({"name": s.name, "kind": s.kind.name(), "state": state, "status": status, "message": message})
        })
        .collect();
    let status = match &end {
        Some(e) => match e["status"].as_str() {
            Some("ok") => Status::Ok,
            Some("warning") => Status::Warning,
            Some("critical") => Status::Critical,
            _ => Status::Unknown,
        },
        None => Status::Unknown,
    };
    let message = match &end {
        Some(e) => e["message"].as_str().unwrap_or("").to_string(),
        None => format!(
            "rollback {} did not finish: rerun `rollback run` to resume it",
            id.as_str().unwrap_or("?")
        ),
    };
    f.insert("message".into(), json!(message));
    f.insert("id".into(), id);
    f.insert("reason".into(), start["reason"].clone());
    f.insert("rollback_started_at".into(), start["time"].clone());
    f.insert("finished".into(), json!(end.is_some()));
    f.insert("steps".into(), Value::Array(steps));
    f.insert(
        "guard_fired".into(),
        guard::fired(&lines).unwrap_or(Value::Null),
    );
    (status, run.summary(status, f))
}

/// For people: the message, then a line per step.
fn text(doc: &Value) -> String {
    let mut rows = vec![vec![
        "STEP".to_string(),
        "KIND".into(),
        "STATUS".into(),
        "MESSAGE".into(),
    ]];
    for s in doc["steps"].as_array().into_iter().flatten() {
        rows.push(vec![
            s["name"].as_str().unwrap_or("").to_string(),
            s["kind"].as_str().unwrap_or("").to_string(),
            s["state"].as_str().unwrap_or("").to_uppercase(),
            s["message"].as_str().unwrap_or("").to_string(),
        ]);
    }
    let mut out = String::new();
    if rows.len() > 1 {
        out.push_str(&output::table(&rows));
        out.push('\n');
    }
    out.push_str(&format!(
        "{}: {}\n",
        doc["status"].as_str().unwrap_or("unknown").to_uppercase(),
        doc["message"].as_str().unwrap_or("")
    ));
    out
}
