//! The documents shift prints, as types: a change (`set`, `undo`), a
//! `status` and a `history` summary, and the ndjson events. Their schema is
//! published as docs/schema/shift.json.

use golive_core::doc::{Event, Summary};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// `shift set` / `shift undo`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangeBody {
    /// `set` or `undo`.
    pub action: &'static str,
    /// `applied`, `unchanged`, `dry_run`, `failed`, `restored`, `locked`,
    /// `partial`.
    pub outcome: &'static str,
    /// One readable sentence.
    pub message: String,
    /// The backend, described (commands with secrets masked).
    pub backend: Value,
    /// The split before (`{"blue": 100, "green": 0}`), or null.
    pub before: Value,
    /// The split asked for, or null.
    pub target: Value,
    /// The split read back at the end, or null.
    pub after: Value,
    /// Whether `after` was read back from the backend.
    pub verified: bool,
    /// What was read back when it differed from the step's target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
    /// Per pool: name, status, message, percent before/target/after, servers.
    pub pools: Vec<Value>,
    /// Per step: index, of, split, weights, status, message, actions, gate…
    pub steps: Vec<Value>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--reason`.
    pub reason: Option<String>,
    /// The journal and this change's id in it.
    pub journal: Option<JournalRef>,
    /// The change this undo reverts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// The unsettled change this run took over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumes: Option<String>,
    /// The holder of a lock left by a process that died.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_taken_over: Option<Value>,
    /// HAProxy's state file: saved, or the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_file: Option<Value>,
}

/// Where a change is journaled.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JournalRef {
    /// The journal file.
    pub path: String,
    /// The change's id (null when nothing was journaled).
    pub id: Option<String>,
}

/// `shift status`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusBody {
    /// One readable sentence.
    pub message: String,
    /// The backend, described.
    pub backend: Value,
    /// The live split by weight, or null.
    pub split: Value,
    /// The live split counting only servers that can serve, or null.
    pub effective_split: Value,
    /// Whether the live weights differ from the journal's last result
    /// (null: nothing to compare).
    pub drift: Option<bool>,
    /// Per pool: name, status, message, percent, servers.
    pub pools: Vec<Value>,
    /// Servers the backend has that no pool names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_servers: Option<Vec<OtherServer>>,
    /// The journal's view: path, last_change, expected, drift, unsettled,
    /// in_progress (null without a journal).
    pub journal: Value,
}

/// A server in no pool.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OtherServer {
    /// Its name.
    pub name: String,
    /// Its live weight.
    pub weight: u32,
    /// `UP`, `MAINT`, … when known.
    pub state: Option<String>,
}

/// `shift history`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoryBody {
    /// The journal file.
    pub journal: String,
    /// One readable sentence.
    pub message: String,
    /// Lines skipped as unreadable (null when the journal could not be read).
    pub unreadable_lines: Option<usize>,
    /// The changes, oldest first.
    pub changes: Vec<Value>,
}

/// Any document shift prints (the published schema's root; never built).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)]
pub enum Document {
    /// `set` / `undo`.
    Change(Summary<ChangeBody>),
    /// `status`.
    Status(Summary<StatusBody>),
    /// `history`.
    History(Summary<HistoryBody>),
    /// An ndjson event: `step`, `gate`, `change`.
    Event(Event<serde_json::Map<String, Value>>),
}
