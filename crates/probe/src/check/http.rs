//! `probe http URL`: one request, judged on status, body, a JSON field and
//! latency — the runbook's `curl -H "X-API-Key: $KEY" …/health`, sent by
//! golive-http's client (TLS, CA roots, proxies from the environment).

use std::io::Read;
use std::time::{Duration, Instant};

use golive_core::units::human_duration;
use golive_core::{Status, duration_ms};
use golive_http::{Client, Endpoint, ErrorKind, Options, Proxy};
use serde_json::Value;

use super::roots::Roots;
use crate::outcome::{Outcome, Verdict, error_chain};

/// The most of a body that is read and judged.
pub const BODY_LIMIT: u64 = 10 * 1024 * 1024;

/// An HTTP check.
#[derive(Debug)]
pub struct HttpSpec {
    /// The URL as given (may hold secrets; never printed).
    pub url: String,
    /// The URL as it may be shown.
    pub display: String,
    /// GET, HEAD, POST, …
    pub method: String,
    /// Request headers (values may be secrets; never printed).
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<String>,
    /// Which status codes pass.
    pub expect: StatusMatch,
    /// Texts the body must contain.
    pub body_contains: Vec<String>,
    /// A JSON field to look at, and the value it must have.
    pub json: Option<JsonCheck>,
    /// Slower than this is a WARNING.
    pub max_latency: Option<Duration>,
    /// Slower than this is CRITICAL.
    pub crit_latency: Option<Duration>,
    /// Skip certificate verification.
    pub insecure: bool,
    /// Trust roots for https.
    pub roots: Roots,
    /// Follow redirects (up to 10).
    pub follow: bool,
    /// The proxy from the environment (set by [`HttpSpec::validate`]).
    pub proxy: Option<Proxy>,
}

/// A JSON field check: `--json-path PATH [--equals VALUE]`.
#[derive(Debug, Clone)]
pub struct JsonCheck {
    /// The path as typed.
    pub path: String,
    steps: Vec<Step>,
    /// The value the field must equal; without it the field must exist and
    /// not be null.
    pub equals: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

impl JsonCheck {
    /// Parse `status`, `.checks.db`, `$.items[0].name` or `items.0.name`.
    pub fn new(path: &str, equals: Option<String>) -> Result<Self, String> {
        let mut p = path.trim();
        p = p.strip_prefix('$').unwrap_or(p);
        let mut steps = Vec::new();
        for part in p.split('.') {
            let mut part = part;
            if part.is_empty() {
                continue;
            }
            // key[0][1]
            let key_end = part.find('[').unwrap_or(part.len());
            let key = &part[..key_end];
            if !key.is_empty() {
                match key.parse::<usize>() {
                    Ok(i) => steps.push(Step::Index(i)),
                    Err(_) => steps.push(Step::Key(key.to_string())),
                }
            }
            part = &part[key_end..];
            while let Some(rest) = part.strip_prefix('[') {
                let (inner, after) = rest
                    .split_once(']')
                    .ok_or_else(|| format!("--json-path '{path}': unclosed ["))?;
                let inner = inner.trim_matches(|c| c == '"' || c == '\'');
                match inner.parse::<usize>() {
                    Ok(i) => steps.push(Step::Index(i)),
                    Err(_) if !inner.is_empty() => steps.push(Step::Key(inner.to_string())),
                    Err(_) => return Err(format!("--json-path '{path}': empty []")),
                }
                part = after;
            }
            if !part.is_empty() {
                return Err(format!("--json-path '{path}': unexpected '{part}'"));
            }
        }
        if steps.is_empty() {
            return Err(format!(
                "--json-path '{path}' names no field (e.g. status or checks.db)"
            ));
        }
        Ok(JsonCheck {
            path: path.to_string(),
            steps,
            equals,
        })
    }

    /// The field's value in `doc`, if present.
    pub fn lookup<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        let mut v = doc;
        for s in &self.steps {
            v = match s {
                Step::Key(k) => v.get(k.as_str())?,
                Step::Index(i) => v.get(*i)?,
            };
        }
        Some(v)
    }
}

/// Whether a found JSON value equals what the user typed: strings compare as
/// text, everything else as JSON (`true`, `3`, `3.0`, `null`).
pub fn json_equals(found: &Value, want: &str) -> bool {
    match found {
        Value::String(s) => s == want,
        Value::Number(n) => match (n.as_f64(), want.trim().parse::<f64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => false,
        },
        other => serde_json::from_str::<Value>(want.trim()).is_ok_and(|w| &w == other),
    }
}

/// Which status codes pass: `200`, `2xx`, `200,204`, `200-299`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusMatch {
    text: String,
    ranges: Vec<(u16, u16)>,
}

impl Default for StatusMatch {
    fn default() -> Self {
        StatusMatch {
            text: "2xx".into(),
            ranges: vec![(200, 299)],
        }
    }
}

impl StatusMatch {
    /// Parse a comma- (or `|`-) separated list of codes, classes and ranges.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for part in s.split([',', '|']).map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                format!(
                    "--expect-status '{s}': '{part}' is not a code (200), class (2xx) or range (200-299)"
                )
            };
            let lower = part.to_ascii_lowercase();
            let r = if let Some(d) = lower.strip_suffix("xx") {
                let d: u16 = d.parse().map_err(|_| bad())?;
                // `657xx` must be refused, not wrapped round into 164-263.
                let lo = d.checked_mul(100).ok_or_else(bad)?;
                (lo, lo.saturating_add(99))
            } else if let Some((a, b)) = part.split_once('-') {
                (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                )
            } else {
                let c: u16 = part.parse().map_err(|_| bad())?;
                (c, c)
            };
            if !(100..=599).contains(&r.0) || !(100..=599).contains(&r.1) || r.0 > r.1 {
                return Err(bad());
            }
            ranges.push(r);
        }
        if ranges.is_empty() {
            return Err(format!("--expect-status '{s}' lists no code"));
        }
        Ok(StatusMatch {
            text: s.trim().to_string(),
            ranges,
        })
    }

    /// Whether `code` passes.
    pub fn matches(&self, code: u16) -> bool {
        self.ranges.iter().any(|(a, b)| (*a..=*b).contains(&code))
    }

    /// As typed.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

pub use golive_http::parse_header;

impl HttpSpec {
    /// Check the URL and method, and choose the route: the proxy the
    /// environment names for the URL, or none with `no_proxy`. The rest is
    /// already parsed.
    pub fn validate(&mut self, no_proxy: bool) -> Result<(), String> {
        golive_core::units::check_url_port(&self.url)?;
        if let (Some(w), Some(c)) = (self.max_latency, self.crit_latency)
            && w > c
        {
            return Err(format!(
                "--max-latency {} is more than --crit-latency {}: the warning would never show",
                golive_core::units::human_duration(w),
                golive_core::units::human_duration(c)
            ));
        }
        let uri: ureq::http::Uri = self
            .url
            .parse()
            .map_err(|e| format!("'{}' is not a URL: {e}", self.display))?;
        match uri.scheme_str() {
            Some("http") | Some("https") => {}
            _ => {
                return Err(format!(
                    "'{}' is not an http:// or https:// URL",
                    self.display
                ));
            }
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("'{}' has no host", self.display));
        }
        self.method = self.method.to_ascii_uppercase();
        ureq::http::Method::from_bytes(self.method.as_bytes())
            .map_err(|_| format!("--method '{}' is not an HTTP method", self.method))?;
        self.proxy = Proxy::for_url(&self.url, no_proxy)?;
        Ok(())
    }

    /// The client for one attempt (a fresh one each time, so a retry opens
    /// a new connection as a new client would).
    fn client(&self) -> Client {
        let ep = Endpoint {
            url: self.url.clone(),
            headers: self.headers.clone(),
            ..Endpoint::default()
        };
        let opts = Options {
            roots: self.roots.clone(),
            insecure: self.insecure,
            follow_redirects: self.follow,
            proxy: self.proxy.clone(),
            ..Options::new(concat!("golive-probe/", env!("CARGO_PKG_VERSION")))
        };
        Client::new(&ep, &opts)
    }
}

/// Send the request once within `limit` and judge the answer.
pub fn probe(spec: &HttpSpec, limit: Duration) -> Outcome {
    let client = spec.client();
    let t0 = Instant::now();
    let sent = client.send(
        &spec.method,
        "",
        &[],
        spec.body.as_deref().map(str::as_bytes),
        limit,
    );
    let mut resp = match sent {
        Err(e) if e.kind == ErrorKind::Build => return Outcome::unknown(e.what),
        Err(e) => {
            let mut msg = e.to_string();
            if let Some(auth) = spec
                .url
                .parse::<ureq::http::Uri>()
                .ok()
                .and_then(|u| u.host().map(|h| (h.to_string(), u.port_u16())))
            {
                let at = match auth.1 {
                    Some(p) => format!("{}:{p}", auth.0),
                    None => auth.0,
                };
                // Through a proxy, what failed is the proxy's part of the
                // way: the target is named as where it was going.
                msg = match &e.via {
                    Some(_) => format!("{msg} (for {at})"),
                    None => format!("{msg} ({at})"),
                };
            }
            return base_figures(Outcome::critical(msg), spec, &client)
                .with("error", e.kind.as_str());
        }
        Ok(r) => r,
    };
    let code = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type");
    let location = header("location");
    let version = format!("{:?}", resp.version());
    let mut body = Vec::new();
    let read = resp
        .body_mut()
        .as_reader()
        .take(BODY_LIMIT)
        .read_to_end(&mut body);
    let took = t0.elapsed();
    if let Err(e) = read {
        let timeout = e.kind() == std::io::ErrorKind::TimedOut
            || e.to_string().to_ascii_lowercase().contains("timeout");
        let via = client
            .proxy()
            .map(|p| format!(" via proxy {p}"))
            .unwrap_or_default();
        let msg = if timeout {
            format!(
                "HTTP {code}, but the body did not arrive within {} (timed out){via}",
                human_duration(limit)
            )
        } else {
            format!(
                "HTTP {code}, but reading the body failed: {}{via}",
                error_chain(&e)
            )
        };
        return base_figures(Outcome::critical(msg), spec, &client)
            .with("status_code", code)
            .with("error", if timeout { "timeout" } else { "body" });
    }

    let mut v = Verdict::default();
    if !spec.expect.matches(code) {
        let mut what = format!("expected {}", spec.expect.as_str());
        if let (true, Some(loc)) = ((300..400).contains(&code), &location) {
            what.push_str(&format!(" (redirect to {})", golive_core::redact::url(loc)));
        }
        v.add(Status::Critical, what);
    }
    let text = String::from_utf8_lossy(&body);
    for needle in &spec.body_contains {
        if !text.contains(needle.as_str()) {
            v.add(Status::Critical, format!("body lacks {needle:?}"));
        }
    }
    let mut json_value = None;
    if let Some(jc) = &spec.json {
        match serde_json::from_slice::<Value>(&body) {
            Err(e) => v.add(Status::Critical, format!("body is not JSON ({e})")),
            Ok(doc) => match jc.lookup(&doc) {
                None => v.add(Status::Critical, format!("JSON has no `{}`", jc.path)),
                Some(found) => {
                    json_value = Some(found.clone());
                    match &jc.equals {
                        Some(want) if !json_equals(found, want) => v.add(
                            Status::Critical,
                            format!(
                                "`{}` is {}, expected {want:?}",
                                jc.path,
                                golive_core::redact::scrub(&found.to_string())
                            ),
                        ),
                        None if found.is_null() => {
                            v.add(Status::Critical, format!("`{}` is null", jc.path))
                        }
                        _ => {}
                    }
                }
            },
        }
    }
    if let Some(c) = spec.crit_latency.filter(|c| took > *c) {
        v.add(
            Status::Critical,
            format!("slower than {}", human_duration(c)),
        );
    } else if let Some(w) = spec.max_latency.filter(|w| took > *w) {
        v.add(
            Status::Warning,
            format!("slower than {}", human_duration(w)),
        );
    }

    let base = format!("HTTP {code} in {}", crate::outcome::took(took));
    let mut o = base_figures(v.outcome(&base), spec, &client)
        .with("status_code", code)
        .with("latency_ms", duration_ms(took))
        .with("body_bytes", body.len())
        .with("http_version", version.trim_start_matches("HTTP/"));
    if let Some(ct) = content_type {
        o.set("content_type", ct);
    }
    if let (true, Some(loc)) = ((300..400).contains(&code), location) {
        o.set("location", golive_core::redact::url(&loc));
    }
    if let Some(jc) = &spec.json {
        o.set("json_path", jc.path.clone());
        o.set("json_value", json_value.unwrap_or(Value::Null));
    }
    o.metric(
        "probe_http_status_code",
        "Response HTTP status code.",
        code as f64,
    );
    o.metric(
        "probe_http_uncompressed_body_length",
        "Length of the response body, in bytes.",
        body.len() as f64,
    );
    o
}

fn base_figures(mut o: Outcome, spec: &HttpSpec, client: &Client) -> Outcome {
    let https = client.is_https();
    o.set("url", spec.display.clone());
    o.set("method", spec.method.clone());
    // The proxy used, and skipped verification, always show.
    for (k, v) in client.route_figures() {
        o.set(k, v);
    }
    if spec.follow {
        o.set("follow_redirects", true);
    }
    o.metric(
        "probe_http_ssl",
        "Whether TLS was used for the request (1) or not (0).",
        if https { 1.0 } else { 0.0 },
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_match_forms() {
        let m = StatusMatch::parse("200,204").unwrap();
        assert!(m.matches(204) && !m.matches(201));
        let m = StatusMatch::parse("2xx|301").unwrap();
        assert!(m.matches(250) && m.matches(301) && !m.matches(302));
        assert!(StatusMatch::parse("200-299").unwrap().matches(226));
        assert!(StatusMatch::parse("abc").is_err());
        assert!(StatusMatch::parse("700").is_err());
        assert!(StatusMatch::parse("").is_err());
        assert!(StatusMatch::default().matches(200));
        assert!(!StatusMatch::default().matches(401));
    }

    #[test]
    fn json_paths() {
        let doc: Value =
            serde_json::from_str(r#"{"status":"ok","checks":{"db":"up"},"items":[{"n":1}]}"#)
                .unwrap();
        let get = |p: &str| JsonCheck::new(p, None).unwrap().lookup(&doc).cloned();
        assert_eq!(get("status"), Some(json!("ok")));
        assert_eq!(get(".checks.db"), Some(json!("up")));
        assert_eq!(get("$.items[0].n"), Some(json!(1)));
        assert_eq!(get("items.0.n"), Some(json!(1)));
        assert_eq!(get("missing"), None);
        assert!(JsonCheck::new("$", None).is_err());
        assert!(JsonCheck::new("a[0", None).is_err());
    }

    #[test]
    fn json_equality_as_users_type_it() {
        assert!(json_equals(&json!("ok"), "ok"));
        assert!(json_equals(&json!(1), "1.0"));
        assert!(json_equals(&json!(true), "true"));
        assert!(!json_equals(&json!(true), "yes"));
        assert!(!json_equals(&json!("1"), "01"));
    }

    #[test]
    fn headers_parse_and_secret_values_are_registered() {
        let (n, v) = parse_header("X-API-Key: unit-secret-123").unwrap();
        assert_eq!((n.as_str(), v.as_str()), ("X-API-Key", "unit-secret-123"));
        assert_eq!(golive_core::redact::scrub("k=unit-secret-123"), "k=***");
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
    }
}
