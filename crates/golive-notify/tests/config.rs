//! `[[notify]]` tables as a plan file holds them, through golive-core's
//! config loader (unknown keys rejected, `${VAR}` expanded).

use golive_notify::{Kind, Severity, TargetConfig, validate};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plan {
    #[serde(default)]
    notify: Vec<TargetConfig>,
}

#[test]
fn the_issues_plan_tables_parse_and_validate() {
    // SAFETY: this test binary's tests do not read these variables elsewhere.
    unsafe {
        std::env::set_var(
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T1/B1/cfgSlackSecret000001",
        );
        std::env::set_var("PD_ROUTING_KEY", "cfgRoutingKeySecret000000000001");
    }
    let text = r#"
[[notify]]
name = "incidents"
kind = "slack"
url  = "${SLACK_WEBHOOK_URL}"
severities = ["critical", "warning"]

[[notify]]
name = "pager"
kind = "pagerduty"
routing_key = "${PD_ROUTING_KEY}"
severities = ["critical"]

[[notify]]
name = "am"
kind = "alertmanager"
url = "http://alertmanager:9093"
labels = { team = "sre" }
alert_ttl = "1h"
"#;
    let plan: Plan = golive_core::config::parse("plan.toml", text).unwrap();
    let targets = validate(&plan.notify).unwrap();
    assert_eq!(
        targets.iter().map(|t| t.kind()).collect::<Vec<_>>(),
        [Kind::Slack, Kind::Pagerduty, Kind::Alertmanager]
    );
    assert_eq!(
        targets[0].severities(),
        [Severity::Critical, Severity::Warning]
    );
    assert_eq!(targets[1].shown_url(), golive_notify::PAGERDUTY_EVENTS_URL);
    assert_eq!(targets[2].severities().len(), 3, "default: all");
    let shown = format!("{plan:?} {targets:?}");
    assert!(
        !shown.contains("cfgSlackSecret") && !shown.contains("cfgRoutingKeySecret"),
        "{shown}"
    );
    assert_eq!(
        golive_core::redact::scrub(
            "key cfgRoutingKeySecret000000000001, hook /services/T1/B1/cfgSlackSecret000001"
        ),
        "key ***, hook ***"
    );
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let text = "[[notify]]\nname = \"incidents\"\nkind = \"slack\"\nchannel = \"#incidents\"\n";
    let e = golive_core::config::parse::<Plan>("plan.toml", text).unwrap_err();
    let m = e.to_string();
    assert!(m.starts_with("plan.toml:4"), "{m}");
    assert!(m.contains("channel"), "{m}");
}

#[test]
fn a_bad_kind_names_the_target_and_its_line() {
    let text = "[[notify]]\nname = \"ok\"\nkind = \"webhook\"\nurl = \"http://h/x\"\n\n[[notify]]\nname = \"incidents\"\nkind = \"slak\"\n";
    let (plan, spans): (Plan, _) = golive_core::config::parse_located("plan.toml", text).unwrap();
    let e = validate(&plan.notify).unwrap_err();
    assert_eq!(e.path(), "notify[1].kind");
    assert_eq!(spans.line(&e.path()), Some(8));
    assert_eq!(
        e.to_string(),
        "notify target `incidents`: kind `slak` is not one of slack, teams, pagerduty, alertmanager, webhook"
    );
}
