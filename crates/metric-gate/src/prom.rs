//! The Prometheus HTTP API: instant and range queries, with a timeout on
//! every request, optional basic or bearer auth, and answers checked before
//! they are believed (HTTP status, JSON, `status`, `resultType`, values).

use std::collections::BTreeMap;
use std::time::Duration;

use golive_core::{Deadline, redact, units::human_duration};
use serde_json::Value;

/// One time series: its labels and its points as (unix ms, value).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels, including `__name__` when the query keeps it.
    pub labels: BTreeMap<String, String>,
    /// Points in time order; one for an instant query.
    pub points: Vec<(i64, f64)>,
}

/// What a successful query returned.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// The series (a scalar result is one series without labels).
    pub series: Vec<Series>,
    /// Prometheus `warnings` (and `infos`), shown to the user.
    pub warnings: Vec<String>,
}

/// Why a query produced no answer; the message says what was seen.
#[derive(Debug, Clone)]
pub struct QueryError(pub String);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where Prometheus is and how to reach it.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// Base URL (may carry `user:pass@`).
    pub url: String,
    /// Basic auth user.
    pub username: Option<String>,
    /// Basic auth password.
    pub password: Option<String>,
    /// Bearer token.
    pub bearer_token: Option<String>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Skip TLS verification.
    pub insecure: bool,
}

/// A Prometheus API client shared by every rule's thread.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    shown: String,
    headers: Vec<(String, String)>,
    timeout: Duration,
}

/// Responses above this size are refused rather than buffered without end.
const MAX_BODY: u64 = 256 * 1024 * 1024;

impl Client {
    /// A client for `ep`; each request waits at most `timeout` (and never past
    /// the deadline it is given).
    pub fn new(ep: &Endpoint, timeout: Duration) -> Result<Client, String> {
        let shown = redact::url(&ep.url);
        let (base, userinfo) = split_userinfo(&ep.url)?;
        let mut headers = Vec::new();
        let (user, pass) = match (&ep.username, userinfo) {
            (Some(u), _) => (Some(u.clone()), ep.password.clone()),
            (None, Some((u, p))) => (Some(u), p),
            (None, None) => (None, None),
        };
        if let Some(u) = user {
            let p = pass.unwrap_or_default();
            redact::register(&p);
            let cred = base64(format!("{u}:{p}").as_bytes());
            redact::register(&cred);
            headers.push(("Authorization".to_string(), format!("Basic {cred}")));
        } else if let Some(t) = &ep.bearer_token {
            redact::register(t.trim());
            headers.push(("Authorization".to_string(), format!("Bearer {}", t.trim())));
        }
        for (k, v) in &ep.headers {
            let _ = redact::header(k, v);
            headers.push((k.clone(), v.clone()));
        }
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(ep.insecure)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .user_agent(concat!("metric-gate/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(64)
            .max_redirects(0)
            .build()
            .into();
        Ok(Client {
            agent,
            base: base.trim_end_matches('/').to_string(),
            shown,
            headers,
            timeout,
        })
    }

    /// The URL as it may be shown (password masked).
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// An instant query at `at_ms`.
    pub fn instant(
        &self,
        query: &str,
        at_ms: i64,
        deadline: &Deadline,
    ) -> Result<Answer, QueryError> {
        self.get(
            "/api/v1/query",
            &[("query", query.to_string()), ("time", secs(at_ms))],
            deadline,
        )
    }

    /// A range query from `start_ms` to `end_ms` at `step`.
    pub fn range(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step: Duration,
        deadline: &Deadline,
    ) -> Result<Answer, QueryError> {
        self.get(
            "/api/v1/query_range",
            &[
                ("query", query.to_string()),
                ("start", secs(start_ms)),
                ("end", secs(end_ms)),
                ("step", format!("{}", step.as_secs_f64())),
            ],
            deadline,
        )
    }

    fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
        deadline: &Deadline,
    ) -> Result<Answer, QueryError> {
        let wait = deadline.cap(self.timeout);
        if wait.is_zero() {
            return Err(QueryError(format!(
                "no time left to ask Prometheus at {} (timeout)",
                self.shown
            )));
        }
        let url = format!("{}{path}", self.base);
        let mut req = self
            .agent
            .get(&url)
            .config()
            .timeout_global(Some(wait))
            .build();
        for (k, v) in params {
            req = req.query(k, v);
        }
        // Ask Prometheus to give up a little before we do, so a slow query
        // comes back as its own error rather than a cut connection.
        let server_ms = (wait.as_millis() as u64).saturating_sub(100).max(1);
        req = req.query("timeout", format!("{server_ms}ms"));
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = req.call().map_err(|e| self.transport_error(e, wait))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .lossy_utf8(true)
            .read_to_string()
            .map_err(|e| self.transport_error(e, wait))?;
        // The answer is a server's text: scrub registered secrets from what
        // it says before any of it reaches a message.
        parse_answer(status, &body).map_err(|e| QueryError(golive_core::redact::scrub(&e.0)))
    }

    fn transport_error(&self, e: ureq::Error, wait: Duration) -> QueryError {
        let what = match &e {
            ureq::Error::Timeout(_) => {
                format!("no answer within {} (timeout)", human_duration(wait))
            }
            ureq::Error::ConnectionFailed => "connection failed".to_string(),
            ureq::Error::HostNotFound => "host not found".to_string(),
            ureq::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    format!("no answer within {} (timeout)", human_duration(wait))
                }
                _ => format!("I/O error: {io}"),
            },
            ureq::Error::BodyExceedsLimit(n) => format!("answer larger than {n} bytes"),
            other => other.to_string(),
        };
        QueryError(format!(
            "Prometheus at {}: {}",
            self.shown,
            golive_core::redact::scrub(&what)
        ))
    }
}

/// Judge an HTTP answer from the query API.
pub fn parse_answer(status: u16, body: &str) -> Result<Answer, QueryError> {
    let doc: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            let head = excerpt(body);
            return Err(QueryError(if (200..300).contains(&status) {
                format!("Prometheus answered HTTP {status} but the body is not JSON: {head}")
            } else {
                format!("Prometheus answered HTTP {status}: {head}")
            }));
        }
    };
    let warnings = string_list(&doc, "warnings")
        .into_iter()
        .chain(
            string_list(&doc, "infos")
                .into_iter()
                .map(|s| format!("info: {s}")),
        )
        .collect::<Vec<_>>();
    let api_status = doc.get("status").and_then(Value::as_str).unwrap_or("");
    if api_status == "error" || !(200..300).contains(&status) {
        let kind = doc
            .get("errorType")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let msg = doc
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| excerpt(body));
        return Err(QueryError(format!(
            "Prometheus answered HTTP {status} with status error ({kind}): {msg}"
        )));
    }
    if api_status != "success" {
        return Err(QueryError(format!(
            "Prometheus answered JSON without \"status\": \"success\": {}",
            excerpt(body)
        )));
    }
    let data = doc
        .get("data")
        .ok_or_else(|| QueryError("Prometheus answer has no `data`".into()))?;
    let kind = data.get("resultType").and_then(Value::as_str).unwrap_or("");
    let result = data.get("result");
    let series = match (kind, result) {
        ("vector", Some(Value::Array(items))) => items
            .iter()
            .map(|it| {
                Ok(Series {
                    labels: labels(it),
                    points: it
                        .get("value")
                        .map(point)
                        .transpose()?
                        .into_iter()
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>, QueryError>>()?,
        ("matrix", Some(Value::Array(items))) => items
            .iter()
            .map(|it| {
                let pts = match it.get("values") {
                    Some(Value::Array(v)) => v.iter().map(point).collect::<Result<Vec<_>, _>>()?,
                    _ => Vec::new(),
                };
                Ok(Series {
                    labels: labels(it),
                    points: pts,
                })
            })
            .collect::<Result<Vec<_>, QueryError>>()?,
        ("scalar", Some(v)) => vec![Series {
            labels: BTreeMap::new(),
            points: vec![point(v)?],
        }],
        (other, _) => {
            return Err(QueryError(format!(
                "Prometheus returned a result of type `{other}`; a gate needs numbers (vector, matrix or scalar)"
            )));
        }
    };
    Ok(Answer { series, warnings })
}

fn labels(it: &Value) -> BTreeMap<String, String> {
    it.get("metric")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn point(v: &Value) -> Result<(i64, f64), QueryError> {
    let bad = || QueryError(format!("Prometheus returned a malformed sample: {v}"));
    let arr = v.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let ts = arr[0].as_f64().ok_or_else(bad)?;
    let val = match &arr[1] {
        Value::String(s) => parse_value(s).ok_or_else(bad)?,
        Value::Number(n) => n.as_f64().ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    Ok(((ts * 1000.0).round() as i64, val))
}

/// A sample value as Prometheus writes it: a number, `NaN`, `+Inf`, `-Inf`.
pub fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

fn string_list(doc: &Value, key: &str) -> Vec<String> {
    match doc.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|w| {
                // A server's words: no terminal escapes, no known secrets.
                let text = w
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| w.to_string());
                golive_core::redact::scrub(&golive_core::output::printable(&text))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn excerpt(body: &str) -> String {
    let t = body.trim();
    if t.is_empty() {
        return "(empty body)".into();
    }
    let one: String = t
        .chars()
        .take(120)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if t.chars().count() > 120 {
        format!("'{one}…'")
    } else {
        format!("'{one}'")
    }
}

/// Unix ms as the seconds string the API takes.
fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// Split `scheme://user:pass@host/…` into the URL without userinfo and the
/// (percent-decoded) user and password.
#[allow(clippy::type_complexity)]
fn split_userinfo(url: &str) -> Result<(String, Option<(String, Option<String>)>), String> {
    let Some(se) = url.find("://") else {
        return Err(format!(
            "Prometheus URL '{}' needs a scheme, e.g. http://prometheus:9090",
            redact::url(url)
        ));
    };
    let scheme = &url[..se];
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "Prometheus URL scheme must be http or https, not '{scheme}'"
        ));
    }
    let rest = &url[se + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        None => Ok((url.to_string(), None)),
        Some(at) => {
            let info = &rest[..at];
            let (u, p) = match info.split_once(':') {
                Some((u, p)) => (pct_decode(u), Some(pct_decode(p))),
                None => (pct_decode(info), None),
            };
            if let Some(p) = &p {
                redact::register(p);
            }
            Ok((format!("{}://{}", scheme, &rest[at + 1..]), Some((u, p))))
        }
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for c in input.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_matrices_and_scalars_parse() {
        let v = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1700000000.5,"0.25"]}]}}"#;
        let a = parse_answer(200, v).unwrap();
        assert_eq!(a.series[0].points, vec![(1_700_000_000_500, 0.25)]);
        assert_eq!(a.series[0].labels["a"], "1");
        let m = r#"{"status":"success","warnings":["w1"],"data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"+Inf"]]}]}}"#;
        let a = parse_answer(200, m).unwrap();
        assert!(a.series[0].points[0].1.is_nan());
        assert_eq!(a.series[0].points[1].1, f64::INFINITY);
        assert_eq!(a.warnings, ["w1"]);
        let s = r#"{"status":"success","data":{"resultType":"scalar","result":[3,"2"]}}"#;
        assert_eq!(
            parse_answer(200, s).unwrap().series[0].points,
            vec![(3000, 2.0)]
        );
    }

    #[test]
    fn errors_say_what_was_seen() {
        let e = parse_answer(200, "<html>oops</html>").unwrap_err();
        assert!(e.0.contains("not JSON") && e.0.contains("oops"), "{e}");
        let e = parse_answer(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        )
        .unwrap_err();
        assert!(
            e.0.contains("bad_data") && e.0.contains("parse error"),
            "{e}"
        );
        let e = parse_answer(502, "").unwrap_err();
        assert!(e.0.contains("502") && e.0.contains("empty"), "{e}");
        let e = parse_answer(
            200,
            r#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#,
        )
        .unwrap_err();
        assert!(e.0.contains("string"), "{e}");
        let e = parse_answer(200, r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"zz"]}]}}"#).unwrap_err();
        assert!(e.0.contains("malformed"), "{e}");
    }

    #[test]
    fn userinfo_moves_to_a_header() {
        let (base, ui) = split_userinfo("http://gate:p%40ss@prom:9090/x").unwrap();
        assert_eq!(base, "http://prom:9090/x");
        assert_eq!(ui, Some(("gate".into(), Some("p@ss".into()))));
        assert!(split_userinfo("prom:9090").is_err());
        assert!(split_userinfo("ftp://prom").is_err());
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn times_as_seconds() {
        assert_eq!(secs(1_700_000_000_500), "1700000000.500");
        assert_eq!(secs(5), "0.005");
    }
}
