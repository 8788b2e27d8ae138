//! The `[[notify]]` tables of a plan: [`TargetConfig`] as written, checked
//! into a [`Target`] by [`validate`].
//!
//! Every secret a target carries is registered with
//! [`golive_core::redact`] where it is read: the whole webhook URL and its
//! path (Slack, Teams and webhook URLs are credentials: whoever has one can
//! post), long tokens in it, the routing key, sensitive header values. A
//! target shows itself as its name, its kind and a URL with the path masked
//! (`https://hooks.slack.com/***`).

use std::collections::BTreeMap;
use std::time::Duration;

use golive_core::redact;
use serde::{Deserialize, Serialize};

use crate::message::Severity;

/// PagerDuty's public Events API v2 endpoint (alert events).
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// One `[[notify]]` table as written (unknown keys rejected).
///
/// ```toml
/// [[notify]]
/// name = "incidents"
/// kind = "slack"                 # slack | teams | pagerduty | alertmanager | webhook
/// url  = "${SLACK_WEBHOOK_URL}"
/// severities = ["critical"]      # default: all
/// ```
///
/// `kind` and `severities` are read as strings and checked by [`validate`],
/// so a wrong value is reported with the target's name. `Debug` masks the
/// URL and the routing key.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// How reports and logs name the target (unique in a plan).
    pub name: String,
    /// `slack`, `teams`, `pagerduty`, `alertmanager` or `webhook`.
    pub kind: String,
    /// The webhook URL (Slack, Teams, webhook), Alertmanager's base URL
    /// (`http://alertmanager:9093`), or PagerDuty's Events API (optional:
    /// [`PAGERDUTY_EVENTS_URL`]).
    #[serde(default)]
    pub url: Option<String>,
    /// PagerDuty's integration key (`routing_key = "${PD_ROUTING_KEY}"`).
    #[serde(default)]
    pub routing_key: Option<String>,
    /// Which severities this target gets; absent means all.
    #[serde(default)]
    pub severities: Option<Vec<String>>,
    /// Extra request headers, `"Name: value"` (a webhook's or an
    /// Alertmanager proxy's `Authorization: Bearer ${TOKEN}`).
    #[serde(default)]
    pub header: Vec<String>,
    /// Alertmanager only: labels added to (or replacing) the defaults
    /// `alertname = "golive"`, `severity`, `source`, `dedup_key`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Alertmanager only: how long a triggered alert stays active without
    /// a resolve (`endsAt` = start + this). Default: Alertmanager's own
    /// `resolve_timeout` (5m) after the last time the alert was sent.
    #[serde(default, deserialize_with = "golive_core::units::de_opt_duration")]
    pub alert_ttl: Option<Duration>,
}

impl std::fmt::Debug for TargetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url.as_deref().map(shown_masked_path))
            .field(
                "routing_key",
                &self.routing_key.as_ref().map(|_| redact::MASK),
            )
            .field("severities", &self.severities)
            .field(
                "header",
                &self
                    .header
                    .iter()
                    .map(|h| shown_header(h))
                    .collect::<Vec<_>>(),
            )
            .field("labels", &self.labels)
            .field("alert_ttl", &self.alert_ttl)
            .finish()
    }
}

/// The kinds of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A Slack incoming webhook.
    Slack,
    /// A Microsoft Teams Workflows webhook ("When a Teams webhook request is
    /// received"), which takes Adaptive Cards.
    Teams,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Prometheus Alertmanager's API v2.
    Alertmanager,
    /// Any URL taking golive's own JSON (docs/notify.md).
    Webhook,
}

impl Kind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [Kind; 5] = [
        Kind::Slack,
        Kind::Teams,
        Kind::Pagerduty,
        Kind::Alertmanager,
        Kind::Webhook,
    ];

    /// `slack`, `teams`, `pagerduty`, `alertmanager` or `webhook`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Slack => "slack",
            Kind::Teams => "teams",
            Kind::Pagerduty => "pagerduty",
            Kind::Alertmanager => "alertmanager",
            Kind::Webhook => "webhook",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// Whether the URL is itself a credential (its path is masked).
    fn url_is_secret(self) -> bool {
        matches!(self, Kind::Slack | Kind::Teams | Kind::Webhook)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checked target, ready to send to. `Debug` shows no secret.
#[derive(Clone)]
pub struct Target {
    name: String,
    kind: Kind,
    /// Where alert (and chat) messages go.
    url: String,
    /// PagerDuty: where change events go.
    change_url: Option<String>,
    shown: String,
    routing_key: Option<String>,
    severities: Vec<Severity>,
    headers: Vec<(String, String)>,
    labels: BTreeMap<String, String>,
    alert_ttl: Option<Duration>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.shown)
            .field("severities", &self.severities)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// The target's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The URL as it may be shown: `https://hooks.slack.com/***` for
    /// webhook URLs (the path is the credential), Alertmanager's and
    /// PagerDuty's with any password or token masked.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// The severities it takes.
    pub fn severities(&self) -> &[Severity] {
        &self.severities
    }

    /// Whether it takes messages of `severity`.
    pub fn takes(&self, severity: Severity) -> bool {
        self.severities.contains(&severity)
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn change_url(&self) -> Option<&str> {
        self.change_url.as_deref()
    }

    pub(crate) fn routing_key(&self) -> Option<&str> {
        self.routing_key.as_deref()
    }

    pub(crate) fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub(crate) fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    pub(crate) fn alert_ttl(&self) -> Option<Duration> {
        self.alert_ttl
    }
}

/// A `[[notify]]` table that cannot be used, naming the target and key.
///
/// `path()` is the key as golive-core's [`Spans`](golive_core::config::Spans)
/// knows it (`notify[1].kind`), so a plan parser can add the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", who(*index, target))]
pub struct ConfigError {
    /// Position among the `[[notify]]` tables (0-based).
    pub index: usize,
    /// The target's name (empty when it has none).
    pub target: String,
    /// The key at fault: `name`, `kind`, `url`, `routing_key`,
    /// `severities`, `header`, `labels` or `alert_ttl`.
    pub key: &'static str,
    /// What is wrong, in one sentence, without any secret.
    pub message: String,
}

impl ConfigError {
    /// `notify[INDEX].KEY`, as [`golive_core::config::Spans::line`] takes it.
    pub fn path(&self) -> String {
        format!("notify[{}].{}", self.index, self.key)
    }

    /// [`ConfigError::path`] under another table name (`step[2].notify`…).
    pub fn path_in(&self, table: &str) -> String {
        format!("{table}[{}].{}", self.index, self.key)
    }
}

fn who(index: usize, target: &str) -> String {
    if target.is_empty() {
        format!("notify[{index}]")
    } else {
        format!("notify target `{target}`")
    }
}

/// Check every table, in order: names unique and non-empty, a known kind,
/// the URL or routing key the kind needs, known severities, keys only where
/// they apply. Registers every secret found.
pub fn validate(configs: &[TargetConfig]) -> Result<Vec<Target>, ConfigError> {
    let mut out: Vec<Target> = Vec::with_capacity(configs.len());
    for (index, c) in configs.iter().enumerate() {
        let t = validate_one(index, c)?;
        if let Some(first) = out.iter().position(|o| o.name == t.name) {
            return Err(ConfigError {
                index,
                target: t.name.clone(),
                key: "name",
                message: format!("the name is taken by notify[{first}] already"),
            });
        }
        out.push(t);
    }
    Ok(out)
}

/// Check one table (see [`validate`]); `index` is its position, for errors.
pub fn validate_one(index: usize, c: &TargetConfig) -> Result<Target, ConfigError> {
    let err = |key: &'static str, message: String| ConfigError {
        index,
        target: c.name.trim().to_string(),
        key,
        message,
    };
    // Register first: an error below must not be the reason a secret
    // later shows unmasked.
    if let Some(k) = &c.routing_key {
        redact::register(k.trim());
    }
    let name = c.name.trim().to_string();
    if name.is_empty() {
        return Err(err("name", "`name` is empty".into()));
    }
    let kind = Kind::parse(&c.kind).ok_or_else(|| {
        err(
            "kind",
            format!(
                "kind `{}` is not one of {}",
                c.kind.trim(),
                Kind::ALL.map(Kind::as_str).join(", ")
            ),
        )
    })?;
    if let Some(u) = &c.url
        && kind.url_is_secret()
    {
        register_url_secrets(u.trim());
    }
    let url = match (&c.url, kind) {
        (Some(u), _) => u.trim().to_string(),
        (None, Kind::Pagerduty) => PAGERDUTY_EVENTS_URL.to_string(),
        (None, _) => {
            return Err(err(
                "url",
                format!(
                    "kind {kind} needs `url` ({}), e.g. url = \"${{{}}}\"",
                    match kind {
                        Kind::Slack => "the incoming webhook URL",
                        Kind::Teams => "the Workflows webhook URL",
                        Kind::Alertmanager => "Alertmanager's base URL",
                        _ => "the URL to POST to",
                    },
                    match kind {
                        Kind::Slack => "SLACK_WEBHOOK_URL",
                        Kind::Teams => "TEAMS_WEBHOOK_URL",
                        Kind::Alertmanager => "ALERTMANAGER_URL",
                        _ => "WEBHOOK_URL",
                    }
                ),
            ));
        }
    };
    check_url(&url).map_err(|m| err("url", m))?;
    let routing_key = match (kind, &c.routing_key) {
        (Kind::Pagerduty, Some(k)) if !k.trim().is_empty() => Some(k.trim().to_string()),
        (Kind::Pagerduty, _) => {
            return Err(err(
                "routing_key",
                "kind pagerduty needs `routing_key` (the Events API v2 integration key), e.g. routing_key = \"${PD_ROUTING_KEY}\"".into(),
            ));
        }
        (_, Some(_)) => {
            return Err(err(
                "routing_key",
                format!("`routing_key` applies to kind pagerduty only, not {kind}"),
            ));
        }
        (_, None) => None,
    };
    let severities = match &c.severities {
        None => Severity::ALL.to_vec(),
        Some(list) if list.is_empty() => {
            return Err(err(
                "severities",
                "`severities` is empty: the target would get nothing (leave it out for all)".into(),
            ));
        }
        Some(list) => {
            let mut v = Vec::new();
            for s in list {
                let sev = Severity::parse(s).ok_or_else(|| {
                    err(
                        "severities",
                        format!(
                            "severity `{}` is not one of critical, warning, info",
                            s.trim()
                        ),
                    )
                })?;
                if !v.contains(&sev) {
                    v.push(sev);
                }
            }
            v
        }
    };
    let mut headers = Vec::new();
    for h in &c.header {
        let Some((n, v)) = h.split_once(':') else {
            return Err(err(
                "header",
                "a header is not written `Name: value`".to_string(),
            ));
        };
        let (n, v) = (n.trim(), v.trim());
        let _ = redact::header(n, v);
        if n.is_empty()
            || !n
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return Err(err(
                "header",
                format!("header name `{n}` is not a header name"),
            ));
        }
        headers.push((n.to_string(), v.to_string()));
    }
    if kind != Kind::Alertmanager {
        if !c.labels.is_empty() {
            return Err(err(
                "labels",
                format!("`labels` applies to kind alertmanager only, not {kind}"),
            ));
        }
        if c.alert_ttl.is_some() {
            return Err(err(
                "alert_ttl",
                format!("`alert_ttl` applies to kind alertmanager only, not {kind}"),
            ));
        }
    }
    for l in c.labels.keys() {
        if !is_label_name(l) {
            return Err(err(
                "labels",
                format!("label `{l}` is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
            ));
        }
    }
    if c.alert_ttl.is_some_and(|d| d.is_zero()) {
        return Err(err("alert_ttl", "`alert_ttl` must be above zero".into()));
    }
    let (url, change_url) = match kind {
        Kind::Pagerduty => {
            let base = url.trim_end_matches('/');
            match base.strip_suffix("/v2/enqueue") {
                Some(root) => (base.to_string(), Some(format!("{root}/v2/change/enqueue"))),
                None => (
                    format!("{base}/v2/enqueue"),
                    Some(format!("{base}/v2/change/enqueue")),
                ),
            }
        }
        Kind::Alertmanager => {
            let base = url.trim_end_matches('/');
            let full = if base.ends_with("/api/v2/alerts") {
                base.to_string()
            } else {
                format!("{base}/api/v2/alerts")
            };
            (full, None)
        }
        _ => (url, None),
    };
    let shown = if kind.url_is_secret() {
        shown_masked_path(&url)
    } else {
        // A password in `user:pass@` (sent as basic auth) is masked.
        redact::url(&url)
    };
    Ok(Target {
        name,
        kind,
        url,
        change_url,
        shown,
        routing_key,
        severities,
        headers,
        labels: c.labels.clone(),
        alert_ttl: c.alert_ttl,
    })
}

/// `scheme://host[:port]`, the part of a URL before its path; `None` when
/// it is not an http(s) URL with a host.
fn origin(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some((scheme, host)).filter(|(_, h)| !h.is_empty())
}

fn check_url(url: &str) -> Result<(), String> {
    let Some((scheme, _)) = origin(url) else {
        return Err("`url` is not a URL (scheme://host/…)".into());
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(format!(
            "`url` must be http:// or https://, not {scheme}://"
        ));
    }
    // The message names only scheme and host: the path may be the secret.
    golive_core::units::check_url_port(&shown_masked_path(url))
}

/// A URL as `scheme://host[:port]/***`: userinfo dropped, path and query
/// masked (they are the credential of a webhook URL).
pub fn shown_masked_path(url: &str) -> String {
    match origin(url) {
        Some((scheme, host)) => {
            let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
            let has_path = rest
                .find(['/', '?', '#'])
                .is_some_and(|i| rest.len() > i + 1);
            if has_path {
                format!("{scheme}://{host}/{}", redact::MASK)
            } else {
                format!("{scheme}://{host}")
            }
        }
        None => redact::MASK.to_string(),
    }
}

/// Register what makes a webhook URL a credential: the whole URL, its path
/// and query, and every token-like piece of them (16 characters or more),
/// so that foreign text quoting any of them is scrubbed.
fn register_url_secrets(url: &str) {
    redact::register(url);
    let _ = redact::url(url);
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return;
    };
    let Some(i) = rest.find(['/', '?', '#']) else {
        return;
    };
    let tail = &rest[i..];
    if tail.len() > 1 {
        redact::register(tail);
    }
    for piece in tail.split(['/', '?', '&', '=', '#']) {
        if piece.len() >= 16 {
            redact::register(piece);
        }
    }
}

fn shown_header(h: &str) -> String {
    match h.split_once(':') {
        Some((n, v)) => format!("{}: {}", n.trim(), redact::header(n.trim(), v.trim())),
        None => redact::MASK.to_string(),
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: a Prometheus label (and annotation) name.
pub(crate) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(name: &str, kind: &str, url: Option<&str>) -> TargetConfig {
        TargetConfig {
            name: name.into(),
            kind: kind.into(),
            url: url.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn a_webhook_url_shows_scheme_and_host_only() {
        let t = validate_one(
            0,
            &cfg(
                "incidents",
                "slack",
                Some("https://hooks.slack.com/services/T0001/B0001/cfg-unit-secret-path-1"),
            ),
        )
        .unwrap();
        assert_eq!(t.shown_url(), "https://hooks.slack.com/***");
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("cfg-unit-secret"), "{dbg}");
        assert_eq!(
            redact::scrub("POST /services/T0001/B0001/cfg-unit-secret-path-1 failed"),
            "POST *** failed"
        );
    }

    #[test]
    fn unknown_kind_and_missing_fields_name_the_target() {
        let e = validate_one(2, &cfg("incidents", "slak", Some("https://x/y"))).unwrap_err();
        assert_eq!(e.path(), "notify[2].kind");
        assert_eq!(
            e.to_string(),
            "notify target `incidents`: kind `slak` is not one of slack, teams, pagerduty, alertmanager, webhook"
        );
        let e = validate_one(0, &cfg("chat", "teams", None)).unwrap_err();
        assert_eq!(e.key, "url");
        assert!(
            e.to_string()
                .starts_with("notify target `chat`: kind teams needs `url`")
        );
        let e = validate_one(0, &cfg("pager", "pagerduty", None)).unwrap_err();
        assert_eq!(e.key, "routing_key");
        let e = validate_one(0, &cfg("", "slack", Some("https://x/y"))).unwrap_err();
        assert_eq!(e.to_string(), "notify[0]: `name` is empty");
    }

    #[test]
    fn pagerduty_defaults_to_the_public_endpoint() {
        let mut c = cfg("pager", "pagerduty", None);
        c.routing_key = Some("R0UTINGKEY-unit-1234567890".into());
        let t = validate_one(0, &c).unwrap();
        assert_eq!(t.url(), PAGERDUTY_EVENTS_URL);
        assert_eq!(
            t.change_url(),
            Some("https://events.pagerduty.com/v2/change/enqueue")
        );
        assert_eq!(t.shown_url(), PAGERDUTY_EVENTS_URL);
        assert!(!format!("{c:?}").contains("R0UTINGKEY"));
        c.url = Some("http://127.0.0.1:9/".into());
        let t = validate_one(0, &c).unwrap();
        assert_eq!(t.url(), "http://127.0.0.1:9/v2/enqueue");
    }

    #[test]
    fn severities_and_duplicates_are_checked() {
        let mut c = cfg("mon", "webhook", Some("http://127.0.0.1:1/hook"));
        c.severities = Some(vec!["warning".into(), "error".into()]);
        let e = validate_one(0, &c).unwrap_err();
        assert_eq!(e.key, "severities");
        assert!(e.message.contains("`error`"), "{e}");
        c.severities = Some(vec!["Warning".into(), "info".into()]);
        let t = validate_one(0, &c).unwrap();
        assert!(t.takes(Severity::Info) && !t.takes(Severity::Critical));
        let e = validate(&[c.clone(), c]).unwrap_err();
        assert_eq!(e.path(), "notify[1].name");
    }

    #[test]
    fn keys_apply_to_their_kind_only() {
        let mut c = cfg("chat", "slack", Some("https://hooks.slack.com/a"));
        c.labels.insert("team".into(), "sre".into());
        assert_eq!(validate_one(0, &c).unwrap_err().key, "labels");
        let mut c = cfg("am", "alertmanager", Some("http://am:9093/"));
        c.labels.insert("bad-label".into(), "x".into());
        assert_eq!(validate_one(0, &c).unwrap_err().key, "labels");
        c.labels.clear();
        let t = validate_one(0, &c).unwrap();
        assert_eq!(t.url(), "http://am:9093/api/v2/alerts");
        assert_eq!(t.shown_url(), "http://am:9093/api/v2/alerts");
        c.url = Some("http://golive:am-unit-pass-1@am:9093".into());
        let t = validate_one(0, &c).unwrap();
        assert_eq!(t.shown_url(), "http://golive:***@am:9093/api/v2/alerts");
        assert_eq!(redact::scrub("denied am-unit-pass-1"), "denied ***");
        let e = validate_one(0, &cfg("x", "webhook", Some("ftp://h/p"))).unwrap_err();
        assert_eq!(e.key, "url");
    }
}
