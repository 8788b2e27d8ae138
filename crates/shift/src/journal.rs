//! The journal: an append-only NDJSON file, one fsynced line per event.
//!
//! Every change writes an `intent` line before touching the backend, a `step`
//! line after each verified ramp step, and a `result` line at the end, all
//! with the same `id`. A change whose intent has no result was interrupted
//! (or is still running, which the lock tells apart). The line format is a
//! stable interface (docs/shift.md, "Journal format"); `rollback` reads it.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::split::{Pool, Split};

/// Journal format version, in every line as `"v"`.
pub const VERSION: u64 = 1;

/// The journal file.
#[derive(Debug, Clone)]
pub struct Journal {
    /// Where it is.
    pub path: PathBuf,
}

pub use golive_core::journal::{Who, who};

/// What reading the journal found.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Whether the file exists.
    pub exists: bool,
    /// Every readable line, in order.
    pub entries: Vec<Value>,
    /// Lines that are not JSON objects (a line torn by a crash mid-write).
    pub unreadable: usize,
}

impl Journal {
    /// The lock file beside it: `<journal>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        p.into()
    }

    /// Append one event line and fsync it.
    pub fn append(&self, line: &Value) -> Result<(), String> {
        // Command lines in `line` were masked where they were built; the
        // line is written as it is (server names such as `keyvault:8443`
        // must read back exactly).
        golive_core::journal::append(&self.path, line)
    }

    /// Read every line.
    pub fn load(&self) -> Result<Loaded, String> {
        load(&self.path)
    }
}

fn load(path: &Path) -> Result<Loaded, String> {
    let lines = golive_core::journal::read(path)?;
    let mut out = Loaded {
        exists: lines.exists,
        unreadable: lines.unreadable,
        ..Default::default()
    };
    for v in lines.objects {
        if v.get("id").is_some() {
            out.entries.push(v);
        } else {
            out.unreadable += 1;
        }
    }
    Ok(out)
}

/// One change: its intent, its verified steps and its result, if any.
#[derive(Debug, Clone)]
pub struct Change {
    /// The id shared by its lines.
    pub id: String,
    /// The intent line.
    pub intent: Value,
    /// Step lines, in order.
    pub steps: Vec<Value>,
    /// The result line (`None`: interrupted, or still running).
    pub result: Option<Value>,
}

impl Loaded {
    /// The changes in the order they started.
    pub fn changes(&self) -> Vec<Change> {
        let mut out: Vec<Change> = Vec::new();
        for e in &self.entries {
            let id = e["id"].as_str().unwrap_or_default().to_string();
            match e["event"].as_str() {
                Some("intent") => out.push(Change {
                    id,
                    intent: e.clone(),
                    steps: Vec::new(),
                    result: None,
                }),
                Some("step") => {
                    if let Some(c) = out.iter_mut().rev().find(|c| c.id == id) {
                        c.steps.push(e.clone());
                    }
                }
                Some("result") => {
                    if let Some(c) = out.iter_mut().rev().find(|c| c.id == id) {
                        c.result = Some(e.clone());
                    }
                }
                _ => {}
            }
        }
        out
    }
}

impl Change {
    /// `applied`, `failed`, `restored`, `partial`, or `interrupted` when the
    /// intent has no result.
    pub fn status(&self) -> &str {
        self.result
            .as_ref()
            .and_then(|r| r["status"].as_str())
            .unwrap_or("interrupted")
    }

    /// Whether the change ended somewhere unknown: interrupted or partial.
    pub fn unsettled(&self) -> bool {
        matches!(self.status(), "interrupted" | "partial")
    }

    /// The split before it (`null` when it was not known).
    pub fn before(&self) -> &Value {
        &self.intent["before"]
    }

    /// What it left: the result's `after`, else the last verified step.
    pub fn after(&self) -> Value {
        match &self.result {
            Some(r) => r["after"].clone(),
            None => self
                .steps
                .last()
                .map(|s| s["split"].clone())
                .unwrap_or(Value::Null),
        }
    }

    /// The weights it left (result's `after_weights`, else the last step's).
    pub fn after_weights(&self) -> Value {
        match &self.result {
            Some(r) => r["after_weights"].clone(),
            None => self
                .steps
                .last()
                .map(|s| s["weights"].clone())
                .unwrap_or(Value::Null),
        }
    }

    /// Whether it changed the split: not failed or restored, and its after
    /// differs from its before.
    pub fn changed_something(&self) -> bool {
        if matches!(self.status(), "failed" | "restored") {
            return false;
        }
        self.before() != &self.after() || self.before().is_null()
    }

    /// The change as `shift history` shows it.
    pub fn to_json(&self) -> Value {
        let i = &self.intent;
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("action".into(), i["action"].clone());
        m.insert("status".into(), json!(self.status()));
        m.insert("started_at".into(), i["time"].clone());
        m.insert(
            "finished_at".into(),
            self.result
                .as_ref()
                .map(|r| r["time"].clone())
                .unwrap_or(Value::Null),
        );
        for k in ["user", "sudo_user", "host", "pid", "reason", "backend"] {
            if let Some(v) = i.get(k) {
                m.insert(k.into(), v.clone());
            }
        }
        m.insert("before".into(), self.before().clone());
        m.insert("target".into(), i["target"].clone());
        m.insert("after".into(), self.after());
        let planned = i["steps"].as_array().map(Vec::len).unwrap_or(1);
        // Single-step changes journal no step lines: their result says it.
        let done = if self.status() == "applied" {
            planned
        } else {
            self.steps.len()
        };
        m.insert("steps_done".into(), json!(done));
        m.insert("steps_planned".into(), json!(planned));
        for k in ["undoes", "resumes"] {
            if let Some(v) = i.get(k).filter(|v| !v.is_null()) {
                m.insert(k.into(), v.clone());
            }
        }
        let message = self
            .result
            .as_ref()
            .map(|r| r["message"].clone())
            .unwrap_or_else(|| json!("no result recorded: the run was interrupted"));
        m.insert("message".into(), message);
        Value::Object(m)
    }
}

/// The latest change that moved the split and can be undone: not failed,
/// not restored, not a no-op. Interrupted and partial changes count: undoing
/// one puts back the split from before it.
pub fn last_undoable(changes: &[Change]) -> Option<&Change> {
    changes.iter().rev().find(|c| c.changed_something())
}

/// A split from the journal as a [`Split`] in pool order (`None` for null).
pub fn split_of(v: &Value, pools: &[Pool]) -> Option<Split> {
    if v.is_null() {
        None
    } else {
        Split::from_json(v, pools)
    }
}

/// A new change id: unix milliseconds and pid (`1795840557123-4242`).
pub fn new_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{ms}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(v: Value) -> String {
        serde_json::to_string(&v).unwrap()
    }

    #[test]
    fn groups_changes_and_finds_the_one_to_undo() {
        let dir = std::env::temp_dir().join(format!("shift-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let j = Journal {
            path: dir.join("j"),
        };
        let text = [
            line(json!({"v":1,"event":"intent","id":"a","action":"set","before":{"blue":100,"green":0},"target":{"blue":75,"green":25}})),
            line(json!({"v":1,"event":"result","id":"a","status":"applied","after":{"blue":75,"green":25}})),
            line(json!({"v":1,"event":"intent","id":"b","action":"set","before":{"blue":75,"green":25},"target":{"blue":0,"green":100}})),
            line(json!({"v":1,"event":"result","id":"b","status":"restored","after":{"blue":75,"green":25}})),
            line(json!({"v":1,"event":"intent","id":"c","action":"set","before":{"blue":75,"green":25},"target":{"blue":50,"green":50}})),
            line(json!({"v":1,"event":"step","id":"c","split":{"blue":70,"green":30}})),
            "{\"v\":1,\"event\":\"res".to_string(),
        ]
        .join("\n");
        std::fs::write(&j.path, text).unwrap();
        let l = j.load().unwrap();
        assert_eq!(l.unreadable, 1);
        let ch = l.changes();
        assert_eq!(ch.len(), 3);
        assert_eq!(ch[1].status(), "restored");
        assert_eq!(ch[2].status(), "interrupted");
        assert_eq!(ch[2].after(), json!({"blue":70,"green":30}));
        // The interrupted change is the one to undo; the restored one is skipped.
        assert_eq!(last_undoable(&ch).unwrap().id, "c");
        assert_eq!(last_undoable(&ch[..2]).unwrap().id, "a");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
