//! A real Alertmanager (Debian's `prometheus-alertmanager`): the alert is
//! active after a trigger and resolved after the resolve, read back from
//! its API v2.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use golive_core::Deadline;
use golive_notify::{Action, Message, OutcomeStatus, Severity};
use testkit::alertmanager::Alertmanager;

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

fn started(key: &str) -> Message {
    Message::new(
        Severity::Critical,
        "Rollback initiated: error rate 7.2% > 5%",
    )
    .source("golive rollback")
    .key(key)
    .detail("reason", "error rate > 5% for 2m")
    .detail("p95 latency", "5.2s")
}

#[test]
fn the_alert_is_active_after_trigger_and_resolved_after_resolve() {
    let mut am = Alertmanager::start();
    let mut c = cfg("am", "alertmanager", Some(&am.url()));
    c.labels.insert("team".into(), "sre".into());
    let n = notifier(&[c]);
    let trigger = started("rollback-am-1");
    let r = n.send(&trigger, deadline());
    let o = &r.targets[0];
    assert_eq!(
        (o.status, o.http_status),
        (OutcomeStatus::Ok, Some(200)),
        "{r:?}"
    );
    assert_eq!(o.url, format!("{}/api/v2/alerts", am.url()));

    am.wait_for(
        "listing the alert as active",
        Duration::from_secs(10),
        |a| {
            a.iter().any(|x| {
                x["labels"]["dedup_key"] == "rollback-am-1" && x["status"]["state"] == "active"
            })
        },
    );
    let alerts = am.alerts_labelled("dedup_key", "rollback-am-1");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["labels"]["alertname"], "golive");
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(a["labels"]["source"], "golive rollback");
    assert_eq!(a["labels"]["team"], "sre");
    assert_eq!(
        a["annotations"]["summary"],
        "Rollback initiated: error rate 7.2% > 5%"
    );
    assert_eq!(a["annotations"]["reason"], "error rate > 5% for 2m");
    assert_eq!(a["annotations"]["p95_latency"], "5.2s");
    let ends = golive_core::units::parse_instant(a["endsAt"].as_str().unwrap()).unwrap();
    assert!(
        ends > SystemTime::now(),
        "active: endsAt in the future: {a}"
    );

    let r = n.send(
        &trigger.resolved("Rollback complete: blue=100, verified"),
        deadline(),
    );
    assert_eq!(r.targets[0].status, OutcomeStatus::Ok, "{r:?}");
    am.wait_for(
        "dropping the resolved alert from the active list",
        Duration::from_secs(10),
        |a| {
            !a.iter().any(|x| {
                x["labels"]["dedup_key"] == "rollback-am-1"
                    && golive_core::units::parse_instant(x["endsAt"].as_str().unwrap_or(""))
                        .is_ok_and(|t| t > SystemTime::now())
            })
        },
    );
    let left = am.alerts_labelled("dedup_key", "rollback-am-1");
    for a in &left {
        let ends = golive_core::units::parse_instant(a["endsAt"].as_str().unwrap()).unwrap();
        assert!(
            ends <= SystemTime::now(),
            "resolved: endsAt in the past: {a}"
        );
    }
}

#[test]
fn alert_ttl_bounds_a_trigger_that_is_never_resolved() {
    let mut am = Alertmanager::start();
    let mut c = cfg("am", "alertmanager", Some(&format!("{}/", am.url())));
    c.alert_ttl = Some(Duration::from_secs(3600));
    let n = notifier(&[c]);
    let msg = started("rollback-am-ttl");
    assert_eq!(
        n.send(&msg, deadline()).targets[0].status,
        OutcomeStatus::Ok
    );
    am.wait_for("listing the alert", Duration::from_secs(10), |a| {
        a.iter()
            .any(|x| x["labels"]["dedup_key"] == "rollback-am-ttl")
    });
    let a = &am.alerts_labelled("dedup_key", "rollback-am-ttl")[0];
    let ends = golive_core::units::parse_instant(a["endsAt"].as_str().unwrap()).unwrap();
    let expect = msg.at + Duration::from_secs(3600);
    let diff = ends.duration_since(expect).unwrap_or_else(|e| e.duration());
    assert!(diff < Duration::from_secs(1), "endsAt = start + 1h: {a}");
}

#[test]
fn change_events_skip_alertmanager_and_post_nothing() {
    let am = Alertmanager::start();
    let n = notifier(&[cfg("am", "alertmanager", Some(&am.url()))]);
    let change = started("rollback-am-change").action(Action::Change);
    let r = n.send(&change, deadline());
    let o = &r.targets[0];
    assert_eq!(
        (o.status, o.attempts),
        (OutcomeStatus::SkippedByAction, 0),
        "{o:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(am.alerts().is_empty());
}
