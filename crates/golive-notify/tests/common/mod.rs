//! Helpers shared by golive-notify's integration tests.
#![allow(dead_code)]

use std::time::Duration;

use golive_notify::{Notifier, Options, Target, TargetConfig, validate};

/// A `[[notify]]` table.
pub fn cfg(name: &str, kind: &str, url: Option<&str>) -> TargetConfig {
    TargetConfig {
        name: name.into(),
        kind: kind.into(),
        url: url.map(String::from),
        ..Default::default()
    }
}

/// The same, taking only `severities`.
pub fn only(mut c: TargetConfig, severities: &[&str]) -> TargetConfig {
    c.severities = Some(severities.iter().map(|s| s.to_string()).collect());
    c
}

/// A PagerDuty table with `routing_key`.
pub fn pagerduty(name: &str, url: &str, routing_key: &str) -> TargetConfig {
    TargetConfig {
        routing_key: Some(routing_key.into()),
        ..cfg(name, "pagerduty", Some(url))
    }
}

/// Checked targets, panicking with the error.
pub fn targets(configs: &[TargetConfig]) -> Vec<Target> {
    validate(configs).unwrap_or_else(|e| panic!("{e}"))
}

/// Options that keep tests quick: 2 s an attempt, the default backoff.
pub fn quick() -> Options {
    Options {
        attempt_timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

/// A notifier over `configs` with [`quick`] options.
pub fn notifier(configs: &[TargetConfig]) -> Notifier {
    Notifier::with_options(targets(configs), quick())
}

/// Whether `s` is an RFC 3339 UTC time as golive writes them.
pub fn is_rfc3339(s: &str) -> bool {
    s.len() >= 20 && s.ends_with('Z') && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T'
}
