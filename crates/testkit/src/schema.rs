//! Every JSON document a test parses is checked against its tool's
//! published schema (`docs/schema/<tool>.json`), so a change to what a tool
//! prints that the schema does not allow fails the suite — and a schema
//! that no longer matches the code fails it too (each tool's `schema`
//! test compares the file with what the code generates).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// Where the published schemas live.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema")
}

fn validators() -> &'static Mutex<HashMap<String, jsonschema::Validator>> {
    static V: OnceLock<Mutex<HashMap<String, jsonschema::Validator>>> = OnceLock::new();
    V.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Check `doc` against the schema of `tool` (its own `tool` field when it
/// is a summary); panics naming what does not fit.
pub fn check(doc: &Value, tool: Option<&str>) {
    let tool = match doc.get("tool").and_then(Value::as_str).or(tool) {
        Some(t) => t.to_string(),
        None => panic!("cannot tell which tool printed this document: {doc}"),
    };
    let mut v = validators().lock().unwrap_or_else(|p| p.into_inner());
    if !v.contains_key(&tool) {
        let path = dir().join(format!("{tool}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "no schema for {tool} at {}: {e} (run `make schema`)",
                path.display()
            )
        });
        let schema: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let compiled = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", path.display()));
        v.insert(tool.clone(), compiled);
    }
    let errors: Vec<String> = v[&tool]
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{tool}'s output does not fit docs/schema/{tool}.json:\n  {}\n--- document ---\n{}",
        errors.join("\n  "),
        serde_json::to_string_pretty(doc).unwrap_or_default()
    );
}

/// The `schema` test of a tool crate: `generated` (what the code's types
/// give) must equal the published file; with `GOLIVE_WRITE_SCHEMA=1` the
/// file is written instead (`make schema`).
pub fn assert_published(tool: &str, generated: &str) {
    let path = dir().join(format!("{tool}.json"));
    if std::env::var_os("GOLIVE_WRITE_SCHEMA").is_some() {
        std::fs::create_dir_all(dir()).expect("create docs/schema");
        std::fs::write(&path, generated).expect("write schema");
        return;
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == generated,
        "{} is not what the code generates: run `make schema` and commit it",
        path.display()
    );
}

/// The JSON examples in `docs/<tool>.md` (each ```json block that is a
/// document of the tool) fit its schema; returns how many were checked.
pub fn check_doc_examples(tool: &str) -> usize {
    let path = dir().join(format!("../{tool}.md"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut n = 0;
    let mut rest = text.as_str();
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").unwrap_or(body.len());
        let block = &body[..end];
        rest = &body[end..];
        let doc: Value = serde_json::from_str(block).unwrap_or_else(|e| {
            panic!(
                "a ```json block in {} is not JSON: {e}\n{block}",
                path.display()
            )
        });
        check(&doc, Some(tool));
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "does not fit docs/schema/shift.json")]
    fn a_document_missing_a_field_does_not_fit() {
        check(
            &serde_json::json!({"tool": "shift", "version": "1", "status": "ok"}),
            None,
        );
    }
}
