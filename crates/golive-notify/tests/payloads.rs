//! What each kind of target receives, recorded by a real socket (the
//! sink) and checked against the shape its service documents.

mod common;

use std::time::Duration;

use common::*;
use golive_core::Deadline;
use golive_notify::{Action, Message, OutcomeStatus, Severity};
use serde_json::Value;
use testkit::sink::{Reply, Sink};

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

fn rollback_started() -> Message {
    Message::new(
        Severity::Critical,
        "Rollback initiated: error rate 7.2% > 5% for 2m",
    )
    .source("golive rollback")
    .key("rollback-20261128-0421")
    .detail("reason", "error rate > 5% for 2m")
    .detail("split", "blue=0,green=100")
    .detail("error_rate", 0.072)
}

#[test]
fn slack_gets_text_and_blocks_as_an_incoming_webhook_takes_them() {
    let sink = Sink::start();
    let n = notifier(&[cfg(
        "incidents",
        "slack",
        Some(&sink.url("/services/T0000/B0000/slackpayloadtoken0001")),
    )]);
    let report = n.send(&rollback_started(), deadline());
    assert_eq!(report.targets[0].status, OutcomeStatus::Ok, "{report:?}");
    let reqs = sink.wait_for(1, Duration::from_secs(5));
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/services/T0000/B0000/slackpayloadtoken0001")
    );
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let b = r.json();
    assert_eq!(
        b["text"],
        "🔴 CRITICAL: Rollback initiated: error rate 7.2% &gt; 5% for 2m"
    );
    let blocks = b["blocks"].as_array().expect("blocks is an array");
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    assert!(
        blocks[0]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("*🔴 CRITICAL")
    );
    let fields = blocks[1]["fields"].as_array().expect("a fields section");
    assert_eq!(fields.len(), 3);
    assert_eq!(fields[0]["type"], "mrkdwn");
    assert_eq!(fields[0]["text"], "*reason*\nerror rate &gt; 5% for 2m");
    assert_eq!(fields[2]["text"], "*error_rate*\n0.072");
    let ctx = blocks.last().unwrap();
    assert_eq!(ctx["type"], "context");
    let ctx_text = ctx["elements"][0]["text"].as_str().unwrap();
    assert!(ctx_text.contains("golive rollback") && ctx_text.contains("rollback-20261128-0421"));
    // Only documented top-level keys.
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["text", "blocks"]);
}

#[test]
fn teams_gets_a_message_with_one_adaptive_card() {
    let sink = Sink::answering(Reply::status(202));
    let n = notifier(&[cfg(
        "teams",
        "teams",
        Some(&sink.url("/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=teamspayloadsig00001")),
    )]);
    let report = n.send(&rollback_started(), deadline());
    assert_eq!(report.targets[0].status, OutcomeStatus::Ok, "{report:?}");
    assert_eq!(report.targets[0].http_status, Some(202));
    let b = sink.wait_for(1, Duration::from_secs(5))[0].json();
    assert_eq!(b["type"], "message");
    let atts = b["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 1);
    assert_eq!(
        atts[0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &atts[0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    let body = card["body"].as_array().unwrap();
    assert!(body.iter().all(|e| e["type"].is_string()));
    assert_eq!(body[0]["type"], "TextBlock");
    assert_eq!(body[0]["text"], "🔴 CRITICAL");
    assert_eq!(body[0]["color"], "Attention");
    assert_eq!(
        body[1]["text"],
        "Rollback initiated: error rate 7.2% > 5% for 2m"
    );
    let facts = body
        .iter()
        .find(|e| e["type"] == "FactSet")
        .expect("a FactSet")["facts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        facts[1],
        serde_json::json!({"title": "split", "value": "blue=0,green=100"})
    );
    // A resolve is a card too, coloured Good.
    n.send(
        &rollback_started().resolved("Rollback complete"),
        deadline(),
    );
    let r = sink.wait_for(2, Duration::from_secs(5))[1].json();
    let first = &r["attachments"][0]["content"]["body"][0];
    assert_eq!(
        (first["text"].as_str(), first["color"].as_str()),
        (Some("✅ RESOLVED"), Some("Good"))
    );
}

#[test]
fn pagerduty_trigger_then_resolve_share_the_dedup_key() {
    let sink = Sink::answering(Reply::json(
        202,
        r#"{"status":"success","message":"Event processed","dedup_key":"rollback-20261128-0421"}"#,
    ));
    let key = "pd-payload-routing-key-0000000001";
    let n = notifier(&[pagerduty("pager", &sink.url(""), key)]);
    let trigger = rollback_started();
    let r1 = n.send(&trigger, deadline());
    let r2 = n.send(
        &trigger.resolved("Rollback complete: blue=100, verified"),
        deadline(),
    );
    for r in [&r1, &r2] {
        assert_eq!(r.targets[0].status, OutcomeStatus::Ok, "{r:?}");
        assert_eq!(r.targets[0].http_status, Some(202));
    }
    let reqs = sink.wait_for(2, Duration::from_secs(5));
    assert!(reqs.iter().all(|r| r.path == "/v2/enqueue"), "{reqs:?}");
    let (t, r) = (reqs[0].json(), reqs[1].json());
    assert_eq!(t["routing_key"], key);
    assert_eq!(t["event_action"], "trigger");
    assert_eq!(t["dedup_key"], "rollback-20261128-0421");
    let p = &t["payload"];
    assert_eq!(
        p["summary"],
        "Rollback initiated: error rate 7.2% > 5% for 2m"
    );
    assert_eq!(p["source"], "golive rollback");
    assert!(["critical", "error", "warning", "info"].contains(&p["severity"].as_str().unwrap()));
    assert_eq!(p["severity"], "critical");
    assert!(is_rfc3339(p["timestamp"].as_str().unwrap()), "{p}");
    assert_eq!(p["custom_details"]["error_rate"], 0.072);
    assert_eq!(p["custom_details"]["split"], "blue=0,green=100");
    // The resolve: the documented three fields, the same key.
    assert_eq!(
        r,
        serde_json::json!({"routing_key": key, "event_action": "resolve", "dedup_key": "rollback-20261128-0421"})
    );
}

#[test]
fn pagerduty_change_events_go_to_change_enqueue() {
    let sink = Sink::answering(Reply::json(
        202,
        r#"{"message":"Change event processed","status":"success"}"#,
    ));
    let key = "pd-change-routing-key-00000000001";
    let n = notifier(&[pagerduty("pager", &sink.url("/v2/enqueue"), key)]);
    let change = Message::new(Severity::Info, "Traffic restored: blue=100")
        .source("golive rollback")
        .key("rollback-20261128-0421")
        .detail("split", "blue=100")
        .action(Action::Change);
    let report = n.send(&change, deadline());
    assert_eq!(report.targets[0].status, OutcomeStatus::Ok, "{report:?}");
    let r = &sink.wait_for(1, Duration::from_secs(5))[0];
    assert_eq!(r.path, "/v2/change/enqueue");
    let b = r.json();
    assert_eq!(b["routing_key"], key);
    assert!(b.get("event_action").is_none() && b.get("dedup_key").is_none());
    assert_eq!(b["payload"]["summary"], "Traffic restored: blue=100");
    assert_eq!(b["payload"]["source"], "golive rollback");
    assert!(is_rfc3339(b["payload"]["timestamp"].as_str().unwrap()));
    assert_eq!(b["payload"]["custom_details"]["split"], "blue=100");
}

#[test]
fn the_webhook_gets_golives_documented_document_and_its_headers() {
    let sink = Sink::start();
    let mut c = cfg("hook", "webhook", Some(&sink.url("/hooks/golive")));
    c.header = vec![
        "Authorization: Bearer webhook-bearer-token-0001".into(),
        "X-Team: sre".into(),
    ];
    let n = notifier(&[c]);
    let report = n.send(&rollback_started(), deadline());
    assert_eq!(report.targets[0].status, OutcomeStatus::Ok, "{report:?}");
    let r = &sink.wait_for(1, Duration::from_secs(5))[0];
    assert_eq!(
        r.header("authorization"),
        Some("Bearer webhook-bearer-token-0001")
    );
    assert_eq!(r.header("x-team"), Some("sre"));
    assert!(
        r.header("user-agent")
            .unwrap()
            .starts_with("golive-notify/")
    );
    let b = r.json();
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "version",
            "source",
            "action",
            "severity",
            "summary",
            "dedup_key",
            "time",
            "details",
            "text"
        ]
    );
    assert_eq!(b["version"], 1);
    assert_eq!(b["action"], "trigger");
    assert_eq!(b["severity"], "critical");
    assert_eq!(b["dedup_key"], "rollback-20261128-0421");
    assert!(is_rfc3339(b["time"].as_str().unwrap()));
    assert_eq!(b["details"]["error_rate"], 0.072);
    assert_eq!(
        b["text"],
        "🔴 CRITICAL: Rollback initiated: error rate 7.2% > 5% for 2m"
    );
    let shown = serde_json::to_string(&report).unwrap();
    assert!(!shown.contains("webhook-bearer-token-0001"), "{shown}");
}

#[test]
fn a_dry_run_preview_sends_nothing_and_masks_the_routing_key() {
    let sink = Sink::start();
    let key = "pd-preview-routing-key-0000000001";
    let n = notifier(&[
        pagerduty("pager", &sink.url(""), key),
        only(
            cfg(
                "monitoring",
                "slack",
                Some(&sink.url("/services/T1/B1/previewslacktoken0001")),
            ),
            &["warning", "info"],
        ),
    ]);
    let preview = n.preview(&rollback_started());
    std::thread::sleep(Duration::from_millis(200));
    assert!(sink.requests().is_empty(), "a preview sends nothing");
    assert!(preview[0].send && !preview[1].send);
    assert_eq!(preview[0].body["routing_key"], "***");
    assert_eq!(preview[0].body["event_action"], "trigger");
    assert_eq!(preview[1].body, Value::Null);
    assert!(preview[1].message.contains("critical"), "{:?}", preview[1]);
    let text = serde_json::to_string(&preview).unwrap();
    assert!(
        !text.contains(key) && !text.contains("previewslacktoken0001"),
        "{text}"
    );
    assert_eq!(preview[1].url, format!("http://{}/***", sink.addr()));
}
