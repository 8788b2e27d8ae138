//! Typed output documents and their published JSON Schemas.
//!
//! Every summary is the [`Envelope`] followed by a tool's own `Serialize`
//! body ([`Summary`]); per-item results are [`Item`]s. The bodies are plain
//! structs, so what a script parses is written down in one place, and
//! `schemars` turns them into the schema files in `docs/schema/` that the
//! test suite validates every document against.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Run, Status};

/// The fields every summary starts with, in this order ([`Run::summary`]
/// writes them).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Envelope {
    /// The tool: `probe`, `dns-watch`, `metric-gate`, `shift`, `rollback`.
    pub tool: String,
    /// The tool's version.
    pub version: String,
    /// The verdict.
    pub status: Status,
    /// The process exit code the status stands for (0–3).
    pub exit_code: u8,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    /// How long the run took, in milliseconds.
    pub duration_ms: f64,
}

/// A summary document: the envelope, then the tool's own fields.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary<T> {
    /// `tool`, `version`, `status`, `exit_code`, `started_at`, `duration_ms`.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The tool's fields.
    #[serde(flatten)]
    pub body: T,
}

/// A per-item result: `name`, `status`, `message` (one readable sentence),
/// then the item's figures.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Item<F> {
    /// What the item is (a check, a rule, a server, a pool).
    pub name: String,
    /// Its verdict.
    pub status: Status,
    /// One readable sentence.
    pub message: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: F,
}

/// An ndjson event line: `event`, `time`, `elapsed_ms`, then its fields
/// ([`Run::event`] writes them).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Event<T> {
    /// What happened: `attempt`, `round`, `step`, `gate`, `change`, …
    pub event: String,
    /// When, RFC 3339 UTC.
    pub time: String,
    /// Since the run started, in milliseconds.
    pub elapsed_ms: f64,
    /// The event's fields.
    #[serde(flatten)]
    pub body: T,
}

impl JsonSchema for Status {
    fn schema_name() -> Cow<'static, str> {
        "Status".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "enum": ["ok", "warning", "critical", "unknown"],
            "description": "ok (exit 0), warning (1), critical (2), unknown (3)"
        })
    }
}

/// `body`'s fields as a JSON object (a body that is not a struct gives an
/// empty one).
pub fn fields<T: Serialize>(body: &T) -> Map<String, Value> {
    match serde_json::to_value(body) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

impl Run {
    /// The summary document for a typed body: [`Run::summary`] over its
    /// fields, so the envelope is written in one place.
    pub fn document<T: Serialize>(&self, status: Status, body: &T) -> Value {
        self.summary(status, fields(body))
    }

    /// An ndjson event line for a typed body.
    pub fn event_of<T: Serialize>(&self, kind: &str, body: &T) -> Value {
        self.event(kind, fields(body))
    }
}

/// The JSON Schema of `T`, pretty-printed with a trailing newline, as the
/// files in `docs/schema/` hold it.
pub fn schema_text<T: JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, JsonSchema)]
    struct Body {
        checks: Vec<Item<Map<String, Value>>>,
    }

    #[test]
    fn a_typed_document_has_the_envelope_first_and_matches_its_schema_fields() {
        let run = Run::start("probe", "1.2.3");
        let body = Body {
            checks: vec![Item {
                name: "api".into(),
                status: Status::Ok,
                message: "200 in 3ms".into(),
                figures: Map::new(),
            }],
        };
        let doc = run.document(Status::Warning, &body);
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "tool",
                "version",
                "status",
                "exit_code",
                "started_at",
                "duration_ms",
                "checks"
            ]
        );
        assert_eq!(doc["checks"][0]["status"], "ok");
        // The schema's envelope is the one Run::summary writes.
        let schema: Value = serde_json::from_str(&schema_text::<Summary<Body>>()).unwrap();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for k in &keys {
            assert!(
                required.contains(&k.as_str()),
                "{k} not required in {schema}"
            );
        }
    }
}
