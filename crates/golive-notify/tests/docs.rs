//! docs/notify.md shows what the library really produces: the report's and
//! the webhook document's fields, in order, are those of a real run.

mod common;

use std::time::Duration;

use common::*;
use golive_core::Deadline;
use golive_notify::{Message, Severity};
use serde_json::Value;
use testkit::sink::Sink;

/// Every ```json block of docs/notify.md that parses.
fn doc_json() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/notify.md");
    let text = std::fs::read_to_string(path).expect("read docs/notify.md");
    text.split("```json\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .filter_map(|b| serde_json::from_str(b).ok())
        .collect()
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_documented_report_and_webhook_document_match_a_real_run() {
    let sink = Sink::start();
    let n = notifier(&[
        cfg("hook", "webhook", Some(&sink.url("/hook"))),
        only(cfg("mon", "webhook", Some(&sink.url("/mon"))), &["info"]),
    ]);
    let msg = Message::new(Severity::Warning, "p95 latency 620 ms > 500 ms")
        .source("golive launch")
        .detail("phase", "25%");
    let report =
        serde_json::to_value(n.send(&msg, Deadline::after(Duration::from_secs(5)))).unwrap();
    let body = sink.wait_for(1, Duration::from_secs(5))[0].json();

    let docs = doc_json();
    let doc_report = docs
        .iter()
        .find(|d| d.get("targets").is_some())
        .expect("docs/notify.md shows a report");
    assert_eq!(keys(doc_report), keys(&report));
    for t in doc_report["targets"].as_array().unwrap() {
        assert_eq!(keys(t), keys(&report["targets"][0]), "{t}");
    }
    let doc_hook = docs
        .iter()
        .find(|d| d.get("version") == Some(&Value::from(1)))
        .expect("docs/notify.md shows the webhook document");
    assert_eq!(keys(doc_hook), keys(&body));
}
