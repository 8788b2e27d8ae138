//! shift: move traffic between pools — HAProxy, nginx or any command —
//! journaled, locked, verified.
//!
//! `shift set --split blue=75,green=25` takes the lock beside the journal,
//! reads the live split, writes an intent line, applies the change (in
//! steps, with a gate between them, for a ramp), reads the weights back,
//! restores the starting split on any failure, and writes the result line.
//! `shift status` compares the live split with the journal, `shift history`
//! lists the changes and `shift undo` puts back the split from before the
//! last one.
//!
//! Modules: [`cli`] (flags into a plain Config), [`target`] (backend,
//! pools, journal from flags over the config file; where backends are
//! registered), [`split`] (splits and weights), [`backend`] (the
//! [`backend::Backend`] trait and its haproxy, nginx and exec modules),
//! [`journal`], [`ops`] (set and undo, stage by stage), [`status`],
//! [`history`], [`report`] (text rendering), [`command`] (command lines).
//! Locks, atomic files, signals and running commands are golive-core's.

pub mod backend;
pub mod cli;
pub mod command;
pub mod doc;
pub mod history;
pub mod journal;
pub mod ops;
pub mod report;
pub mod split;
pub mod status;
pub mod target;

use std::ffi::OsString;
use std::process::ExitCode;

use golive_core::output::{Format, emit, emit_line, emit_summary_json};
use golive_core::{Run, Status};
use serde_json::Value;

use crate::cli::Action;

/// Run `shift` with these arguments (the first is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    golive_core::runner::main("shift", || {
        let (config, _common) = match cli::parse(args) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let run = Run::start("shift", env!("CARGO_PKG_VERSION"));
        let format = config.format;
        let (status, doc) = match &config.action {
            Action::Status(t) => {
                let (status, doc) = status::status(t, &run);
                match format {
                    Format::Text => emit(&report::status_text(&doc)),
                    Format::Prom => emit(&status::prom(&doc)),
                    _ => emit_summary_json(format, &doc),
                }
                (status, doc)
            }
            Action::History { target, limit } => {
                let (status, doc, changes) = history::history(target, *limit, &run);
                match format {
                    Format::Text => emit(&report::history_text(&doc)),
                    Format::Ndjson => {
                        for c in changes {
                            let fields = c.as_object().cloned().unwrap_or_default();
                            emit_line(&run.event("change", fields));
                        }
                        emit_line(&doc);
                    }
                    _ => emit_summary_json(format, &doc),
                }
                (status, doc)
            }
            Action::Set(plan) => {
                let (status, doc) = ops::set(plan, &run, format);
                print_change(format, &doc);
                (status, doc)
            }
            Action::Undo(opts) => {
                let (status, doc) = ops::undo(opts, &run, format);
                print_change(format, &doc);
                (status, doc)
            }
        };
        if status != Status::Ok && format != Format::Text {
            // One line on stderr for people watching a script run.
            golive_core::log::warn(doc["message"].as_str().unwrap_or("failed"));
        }
        status.into()
    })
}

/// shift as a library (rollback's traffic step): `args` as on the command
/// line (program name first), run with nothing printed on stdout; the
/// status and the summary document.
pub fn evaluate<I, T>(args: I) -> Result<(Status, Value), golive_core::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let config = cli::config_quiet(args)?;
    let run = Run::start("shift", env!("CARGO_PKG_VERSION"));
    Ok(match &config.action {
        Action::Status(t) => status::status(t, &run),
        Action::History { target, limit } => {
            let (status, doc, _) = history::history(target, *limit, &run);
            (status, doc)
        }
        Action::Set(plan) => ops::set(plan, &run, Format::Json),
        Action::Undo(opts) => ops::undo(opts, &run, Format::Json),
    })
}

fn print_change(format: Format, doc: &Value) {
    match format {
        Format::Text => emit(&report::change_text(doc)),
        _ => emit_summary_json(format, doc),
    }
}
