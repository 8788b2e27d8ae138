//! `shift history`: the journal's changes, one per intent, with their
//! result (or `interrupted` when none was recorded).

use golive_core::{Run, Status, log};
use serde_json::Value;

use crate::doc::HistoryBody;

use crate::cli::Target;

/// The summary: `changes` oldest first (the last `limit` of them).
/// Exit 0 when the journal could be read (a missing one is empty), 3 when not.
pub fn history(t: &Target, limit: Option<usize>, run: &Run) -> (Status, Value, Vec<Value>) {
    let j = t.journal.as_ref().expect("checked when parsing");
    let path = j.path.display().to_string();
    match j.load() {
        Err(e) => {
            let body = HistoryBody {
                journal: path,
                message: e,
                unreadable_lines: None,
                changes: Vec::new(),
            };
            (
                Status::Unknown,
                run.document(Status::Unknown, &body),
                Vec::new(),
            )
        }
        Ok(l) => {
            let all = l.changes();
            let skip = limit.map(|n| all.len().saturating_sub(n)).unwrap_or(0);
            let changes: Vec<Value> = all[skip..].iter().map(|c| c.to_json()).collect();
            if !l.exists {
                log::warn(&format!(
                    "journal {} does not exist yet: no change recorded",
                    j.path.display()
                ));
            }
            let mut message = format!(
                "{} change{} in {}",
                all.len(),
                if all.len() == 1 { "" } else { "s" },
                j.path.display()
            );
            if skip > 0 {
                message.push_str(&format!(", showing the last {}", changes.len()));
            }
            if l.unreadable > 0 {
                message.push_str(&format!(
                    "; {} unreadable line(s) skipped (torn by a crash?)",
                    l.unreadable
                ));
            }
            let body = HistoryBody {
                journal: path,
                message,
                unreadable_lines: Some(l.unreadable),
                changes: changes.clone(),
            };
            (Status::Ok, run.document(Status::Ok, &body), changes)
        }
    }
}
