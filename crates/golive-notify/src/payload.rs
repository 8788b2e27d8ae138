//! The request each kind of target gets, shaped as its service documents
//! it (see docs/notify.md for the sources):
//!
//! - Slack incoming webhook: `{"text": …, "blocks": [section, fields, context]}`;
//! - Teams Workflows webhook: a `message` with one Adaptive Card 1.4 attachment;
//! - PagerDuty Events API v2: `trigger` / `resolve` on `/v2/enqueue` with
//!   the same `dedup_key`, change events on `/v2/change/enqueue`;
//! - Alertmanager API v2: `POST /api/v2/alerts`, an array of one alert;
//! - webhook: golive's own document, version 1.
//!
//! Text that came from elsewhere (a summary quoting a command's output, a
//! detail) is scrubbed of registered secrets before it leaves the machine.

use golive_core::redact;
use serde_json::{Map, Value, json};

use crate::config::{Kind, Target, is_label_name};
use crate::message::{Action, Message, Severity, value_text};

/// One HTTP request to make: `POST url` with a JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub url: String,
    pub body: Value,
}

/// Why a target does not get a message at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skip {
    /// It does not take this severity.
    Severity,
    /// It has no such thing (a change event on Alertmanager).
    Action(&'static str),
}

/// PagerDuty's limits: `payload.summary` 1024 characters, `dedup_key` 255.
const PD_SUMMARY_MAX: usize = 1024;
const PD_DEDUP_MAX: usize = 255;
/// Slack's limits: a section's text 3000 characters, a field's 2000, ten
/// fields a section.
const SLACK_TEXT_MAX: usize = 3000;
const SLACK_FIELD_MAX: usize = 2000;
const SLACK_FIELDS_PER_SECTION: usize = 10;

/// The request `target` gets for `msg`, or why it gets none.
///
/// `routing_key` is what goes in PagerDuty's `routing_key` (the real key to
/// send, `***` for a dry run's preview).
pub(crate) fn build(target: &Target, msg: &Message, routing_key: &str) -> Result<Request, Skip> {
    if !target.takes(msg.severity) {
        return Err(Skip::Severity);
    }
    let msg = &scrubbed(msg);
    let (url, body) = match target.kind() {
        Kind::Slack => (target.url().to_string(), slack(msg)),
        Kind::Teams => (target.url().to_string(), teams(msg)),
        Kind::Webhook => (target.url().to_string(), webhook(msg)),
        Kind::Pagerduty => match msg.action {
            Action::Change => (
                target.change_url().unwrap_or(target.url()).to_string(),
                pagerduty_change(msg, routing_key),
            ),
            _ => (target.url().to_string(), pagerduty_event(msg, routing_key)),
        },
        Kind::Alertmanager => match msg.action {
            Action::Change => {
                return Err(Skip::Action(
                    "Alertmanager takes alerts only, not change events",
                ));
            }
            _ => (target.url().to_string(), alertmanager(msg, target)),
        },
    };
    Ok(Request { url, body })
}

fn scrubbed(msg: &Message) -> Message {
    let mut m = msg.clone();
    m.summary = redact::scrub(&m.summary);
    for (_, v) in &mut m.details {
        if let Value::String(s) = v {
            *s = redact::scrub(s);
        }
    }
    m
}

/// At most `max` characters, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// At most `max` bytes, on a character boundary (PagerDuty counts bytes of
/// the key).
fn cut_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn when(msg: &Message) -> String {
    golive_core::rfc3339(msg.at)
}

/// Slack treats `&`, `<` and `>` as markup (`<!channel>` pings a channel),
/// so they are escaped as Slack's formatting guide says.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Slack incoming webhook: `text` (the notification and fallback line) and
/// Block Kit `blocks`.
pub(crate) fn slack(msg: &Message) -> Value {
    let headline = slack_escape(&msg.headline());
    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": cut(&format!("*{}*", headline), SLACK_TEXT_MAX)},
    })];
    let fields: Vec<Value> = msg
        .details
        .iter()
        .map(|(k, v)| {
            json!({
                "type": "mrkdwn",
                "text": cut(
                    &format!("*{}*\n{}", slack_escape(k), slack_escape(&value_text(v))),
                    SLACK_FIELD_MAX
                ),
            })
        })
        .collect();
    for chunk in fields.chunks(SLACK_FIELDS_PER_SECTION) {
        blocks.push(json!({"type": "section", "fields": chunk}));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": cut(
                &format!("{} · {} · `{}`", slack_escape(&msg.source), when(msg), slack_escape(&msg.key)),
                SLACK_TEXT_MAX
            ),
        }],
    }));
    json!({"text": cut(&headline, SLACK_TEXT_MAX), "blocks": blocks})
}

/// Microsoft Teams Workflows webhook: a `message` whose one attachment is
/// an Adaptive Card (1.4: what Teams renders).
pub(crate) fn teams(msg: &Message) -> Value {
    let color = match (msg.action, msg.severity) {
        (Action::Resolve, _) => "Good",
        (Action::Change, _) => "Accent",
        (Action::Trigger, Severity::Critical) => "Attention",
        (Action::Trigger, Severity::Warning) => "Warning",
        (Action::Trigger, Severity::Info) => "Accent",
    };
    let mut body = vec![
        json!({
            "type": "TextBlock",
            "text": format!("{} {}", msg.emoji(), msg.label()),
            "weight": "Bolder",
            "size": "Medium",
            "color": color,
        }),
        json!({"type": "TextBlock", "text": msg.summary, "wrap": true}),
    ];
    if !msg.details.is_empty() {
        let facts: Vec<Value> = msg
            .details
            .iter()
            .map(|(k, v)| json!({"title": k, "value": value_text(v)}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": format!("{} · {} · {}", msg.source, when(msg), msg.key),
        "isSubtle": true,
        "size": "Small",
        "wrap": true,
    }));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

fn details_object(msg: &Message) -> Map<String, Value> {
    msg.details
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// PagerDuty Events API v2 alert event: `trigger` with the full payload,
/// `resolve` with routing key, dedup key and action only (as PagerDuty's
/// own example).
pub(crate) fn pagerduty_event(msg: &Message, routing_key: &str) -> Value {
    let dedup_key = cut_bytes(&msg.key, PD_DEDUP_MAX);
    match msg.action {
        Action::Resolve => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        }),
        _ => {
            let mut payload = Map::new();
            payload.insert("summary".into(), json!(cut(&msg.summary, PD_SUMMARY_MAX)));
            payload.insert("source".into(), json!(msg.source));
            payload.insert("severity".into(), json!(msg.severity.as_str()));
            payload.insert("timestamp".into(), json!(when(msg)));
            if !msg.details.is_empty() {
                payload.insert("custom_details".into(), Value::Object(details_object(msg)));
            }
            json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": payload,
                "client": "golive",
            })
        }
    }
}

/// PagerDuty change event (`/v2/change/enqueue`): no severity, no dedup key.
pub(crate) fn pagerduty_change(msg: &Message, routing_key: &str) -> Value {
    let mut payload = Map::new();
    payload.insert("summary".into(), json!(cut(&msg.summary, PD_SUMMARY_MAX)));
    payload.insert("source".into(), json!(msg.source));
    payload.insert("timestamp".into(), json!(when(msg)));
    let mut details = details_object(msg);
    details
        .entry("key".to_string())
        .or_insert_with(|| json!(msg.key));
    payload.insert("custom_details".into(), Value::Object(details));
    json!({"routing_key": routing_key, "payload": payload})
}

/// An annotation name from a detail's: anything outside
/// `[a-zA-Z0-9_]` becomes `_`, and a leading digit gets a `_` before it.
fn annotation_name(k: &str) -> String {
    let mut s: String = k
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !is_label_name(&s) {
        s.insert(0, '_');
    }
    s
}

/// Alertmanager API v2 (`POST /api/v2/alerts`): one alert whose labels are
/// its identity (`alertname`, `severity`, `source`, `dedup_key`, plus the
/// target's `labels`), the summary and details as annotations. A trigger
/// starts now (`endsAt` = start + `alert_ttl` when set); a resolve sends
/// the same labels with `endsAt` = now.
pub(crate) fn alertmanager(msg: &Message, target: &Target) -> Value {
    let mut labels = Map::new();
    labels.insert("alertname".into(), json!("golive"));
    labels.insert("severity".into(), json!(msg.severity.as_str()));
    labels.insert("source".into(), json!(msg.source));
    labels.insert("dedup_key".into(), json!(msg.key));
    for (k, v) in target.labels() {
        labels.insert(k.clone(), json!(v));
    }
    let mut annotations = Map::new();
    annotations.insert("summary".into(), json!(msg.summary));
    for (k, v) in &msg.details {
        annotations
            .entry(annotation_name(k))
            .or_insert_with(|| json!(value_text(v)));
    }
    let mut alert = Map::new();
    alert.insert("labels".into(), Value::Object(labels));
    alert.insert("annotations".into(), Value::Object(annotations));
    match msg.action {
        Action::Resolve => {
            alert.insert("endsAt".into(), json!(when(msg)));
        }
        _ => {
            alert.insert("startsAt".into(), json!(when(msg)));
            if let Some(ttl) = target.alert_ttl() {
                alert.insert("endsAt".into(), json!(golive_core::rfc3339(msg.at + ttl)));
            }
        }
    }
    Value::Array(vec![Value::Object(alert)])
}

/// golive's generic webhook document, version 1 (docs/notify.md).
pub(crate) fn webhook(msg: &Message) -> Value {
    json!({
        "version": 1,
        "source": msg.source,
        "action": msg.action.as_str(),
        "severity": msg.severity.as_str(),
        "summary": msg.summary,
        "dedup_key": msg.key,
        "time": when(msg),
        "details": details_object(msg),
        "text": msg.headline(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{TargetConfig, validate_one};

    fn msg() -> Message {
        Message::new(
            Severity::Critical,
            "Rollback initiated: <error rate> & more",
        )
        .source("golive rollback")
        .key("rb-42")
        .detail("reason", "error rate > 5%")
        .detail("error_rate", 0.072)
    }

    fn target(kind: &str, url: Option<&str>) -> Target {
        validate_one(
            0,
            &TargetConfig {
                name: "t".into(),
                kind: kind.into(),
                url: url.map(String::from),
                routing_key: (kind == "pagerduty").then(|| "unit-routing-key-0001".into()),
                ..Default::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn slack_escapes_markup_and_splits_fields() {
        let mut m = msg();
        for i in 0..12 {
            m = m.detail(format!("d{i}"), i);
        }
        let b = slack(&m);
        assert_eq!(
            b["text"],
            "🔴 CRITICAL: Rollback initiated: &lt;error rate&gt; &amp; more"
        );
        let blocks = b["blocks"].as_array().unwrap();
        assert_eq!(blocks[1]["fields"].as_array().unwrap().len(), 10);
        assert_eq!(blocks[2]["fields"].as_array().unwrap().len(), 4);
        assert_eq!(blocks.last().unwrap()["type"], "context");
    }

    #[test]
    fn pagerduty_resolve_is_minimal_and_change_goes_elsewhere() {
        let t = target("pagerduty", Some("http://127.0.0.1:9"));
        let r = build(&t, &msg().resolved("done"), "k").unwrap();
        assert_eq!(
            r.body,
            json!({"routing_key": "k", "event_action": "resolve", "dedup_key": "rb-42"})
        );
        let c = build(&t, &msg().action(Action::Change), "k").unwrap();
        assert_eq!(c.url, "http://127.0.0.1:9/v2/change/enqueue");
        assert!(c.body.get("event_action").is_none());
        assert_eq!(c.body["payload"]["custom_details"]["key"], "rb-42");
    }

    #[test]
    fn long_values_are_cut_to_the_documented_limits() {
        let m = Message::new(Severity::Info, "x".repeat(2000)).key("k".repeat(300));
        let b = pagerduty_event(&m, "k");
        assert_eq!(
            b["payload"]["summary"].as_str().unwrap().chars().count(),
            1024
        );
        assert_eq!(b["dedup_key"].as_str().unwrap().len(), 255);
    }

    #[test]
    fn alertmanager_skips_change_and_names_annotations_validly() {
        let t = target("alertmanager", Some("http://127.0.0.1:9"));
        assert!(matches!(
            build(&t, &msg().action(Action::Change), "-"),
            Err(Skip::Action(_))
        ));
        let m = msg().detail("p95 latency", "5.2s").detail("9lives", 1);
        let b = alertmanager(&m, &t);
        let ann = b[0]["annotations"].as_object().unwrap();
        assert!(ann.contains_key("p95_latency") && ann.contains_key("_9lives"));
        assert!(b[0].get("endsAt").is_none());
        let r = alertmanager(&m.resolved("ok"), &t);
        assert!(r[0].get("startsAt").is_none() && r[0]["endsAt"].is_string());
        assert_eq!(r[0]["labels"], b[0]["labels"]);
    }

    #[test]
    fn severity_routing_happens_before_any_payload() {
        let mut c = TargetConfig {
            name: "pager".into(),
            kind: "webhook".into(),
            url: Some("http://127.0.0.1:9/h".into()),
            ..Default::default()
        };
        c.severities = Some(vec!["critical".into()]);
        let t = validate_one(0, &c).unwrap();
        let warn = Message::new(Severity::Warning, "slow");
        assert_eq!(build(&t, &warn, "-").unwrap_err(), Skip::Severity);
    }
}
