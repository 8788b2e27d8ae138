//! The Prometheus HTTP API: instant and range queries and the targets list,
//! with a timeout on every request (never past the caller's deadline), and
//! answers checked before they are believed (HTTP status, JSON, `status`,
//! `resultType`, values). Prometheus's `warnings` and `infos` are kept,
//! scrubbed of known secrets and made safe for a terminal.

use std::collections::BTreeMap;
use std::time::Duration;

use golive_core::Deadline;
use golive_core::output::printable;
use golive_core::redact::{self, scrub};
use golive_core::units::human_duration;
use serde_json::Value;

use crate::client::{Client, Endpoint, ErrorKind, HttpError, Options};

/// One time series: its labels and its points as (unix ms, value).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels, including `__name__` when the query keeps it.
    pub labels: BTreeMap<String, String>,
    /// Points in time order; one for an instant query (none when the
    /// answer had no value).
    pub points: Vec<(i64, f64)>,
}

/// What a successful query returned.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// `vector`, `matrix` or `scalar`.
    pub result_type: String,
    /// The series (a scalar result is one series without labels).
    pub series: Vec<Series>,
    /// Prometheus `warnings` (and `infos`, as `info: …`), to show the user.
    pub warnings: Vec<String>,
}

/// Why a query produced no answer. Its text says what was seen; servers'
/// words in it are scrubbed of registered secrets.
#[derive(Debug, Clone)]
pub enum QueryError {
    /// The deadline had passed before the request could be sent.
    NoTime {
        /// The Prometheus URL, as it may be shown.
        url: String,
    },
    /// The request got no answer.
    Transport {
        /// The Prometheus URL, as it may be shown.
        url: String,
        /// What happened, and the proxy it went through.
        error: HttpError,
    },
    /// The body is not JSON.
    NotJson {
        /// HTTP status.
        status: u16,
        /// The start of the body, quoted.
        excerpt: String,
    },
    /// `"status": "error"`, or an HTTP error status with a JSON body.
    Api {
        /// HTTP status.
        status: u16,
        /// `errorType`, when given.
        error_type: Option<String>,
        /// `error`, when given.
        error: Option<String>,
        /// The start of the body, quoted.
        excerpt: String,
    },
    /// JSON without `"status": "success"`.
    NotSuccess {
        /// HTTP status.
        status: u16,
        /// The start of the body, quoted.
        excerpt: String,
    },
    /// A success without `data`.
    NoData,
    /// A result that is not numbers (`string`, or none).
    ResultType {
        /// The `resultType` given (empty when missing).
        found: String,
    },
    /// A sample that is not `[time, "value"]`.
    Malformed {
        /// The sample as sent.
        sample: String,
    },
    /// Anything else (said by the caller).
    Other(String),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::NoTime { url } => {
                write!(f, "no time left to ask Prometheus at {url} (timeout)")
            }
            QueryError::Transport { url, error } => {
                let what = match error.kind {
                    ErrorKind::Timeout => {
                        format!("no answer within {} (timeout)", human_duration(error.limit))
                    }
                    _ => error.what.clone(),
                };
                write!(f, "Prometheus at {url}: {what}{}", error.route())
            }
            QueryError::NotJson { status, excerpt } if (200..300).contains(status) => write!(
                f,
                "Prometheus answered HTTP {status} but the body is not JSON: {excerpt}"
            ),
            QueryError::NotJson { status, excerpt } => {
                write!(f, "Prometheus answered HTTP {status}: {excerpt}")
            }
            QueryError::Api {
                status,
                error_type,
                error,
                excerpt,
            } => write!(
                f,
                "Prometheus answered HTTP {status} with status error ({}): {}",
                error_type.as_deref().unwrap_or("unknown"),
                error.as_deref().unwrap_or(excerpt)
            ),
            QueryError::NotSuccess { excerpt, .. } => write!(
                f,
                "Prometheus answered JSON without \"status\": \"success\": {excerpt}"
            ),
            QueryError::NoData => f.write_str("Prometheus answer has no `data`"),
            QueryError::ResultType { found } => write!(
                f,
                "Prometheus returned a result of type `{found}`; a gate needs numbers (vector, matrix or scalar)"
            ),
            QueryError::Malformed { sample } => {
                write!(f, "Prometheus returned a malformed sample: {sample}")
            }
            QueryError::Other(s) => f.write_str(s),
        }
    }
}

/// Responses above this size are refused rather than buffered without end.
const MAX_BODY: u64 = 256 * 1024 * 1024;

/// A Prometheus API client, cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct PromClient {
    http: Client,
    timeout: Duration,
}

impl PromClient {
    /// A client for the Prometheus at `ep.url` (a base URL, path prefix
    /// allowed); each request waits at most `timeout`, and never past the
    /// deadline it is given. `Err` says what is wrong with the URL.
    pub fn new(ep: &Endpoint, opts: &Options, timeout: Duration) -> Result<PromClient, String> {
        let Some((scheme, _)) = ep.url.split_once("://") else {
            return Err(format!(
                "Prometheus URL '{}' needs a scheme, e.g. http://prometheus:9090",
                redact::url(&ep.url)
            ));
        };
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "Prometheus URL scheme must be http or https, not '{scheme}'"
            ));
        }
        Ok(PromClient {
            // API paths are appended to the base: `…/prefix/` ends without `/`.
            http: Client::new(ep, opts).trim_trailing_slash(),
            timeout,
        })
    }

    /// The URL as it may be shown (password masked).
    pub fn shown_url(&self) -> &str {
        self.http.shown_url()
    }

    /// The HTTP client underneath (route, TLS figures).
    pub fn http(&self) -> &Client {
        &self.http
    }

    /// An instant query, at `at_ms` (unix ms) or now.
    pub fn instant(
        &self,
        query: &str,
        at_ms: Option<i64>,
        deadline: &Deadline,
    ) -> Result<Answer, QueryError> {
        let mut params = vec![("query", query.to_string())];
        if let Some(at) = at_ms {
            params.push(("time", secs(at)));
        }
        let (status, body) = self.get("/api/v1/query", &params, deadline)?;
        parse_answer(status, &body)
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
        let params = [
            ("query", query.to_string()),
            ("start", secs(start_ms)),
            ("end", secs(end_ms)),
            ("step", format!("{}", step.as_secs_f64())),
        ];
        let (status, body) = self.get("/api/v1/query_range", &params, deadline)?;
        parse_answer(status, &body)
    }

    /// `/api/v1/targets?state=active`: the document, for its
    /// `data.activeTargets` (health, last scrape error, scrape URL).
    pub fn targets(&self, deadline: &Deadline) -> Result<Value, QueryError> {
        let (status, body) = self.get(
            "/api/v1/targets",
            &[("state", "active".to_string())],
            deadline,
        )?;
        match serde_json::from_str::<Value>(&body) {
            Ok(doc) => Ok(doc),
            Err(_) => Err(QueryError::NotJson {
                status,
                excerpt: scrub(&excerpt(&body)),
            }),
        }
    }

    fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
        deadline: &Deadline,
    ) -> Result<(u16, String), QueryError> {
        let wait = deadline.cap(self.timeout);
        if wait.is_zero() {
            return Err(QueryError::NoTime {
                url: self.shown_url().to_string(),
            });
        }
        // Ask Prometheus to give up a little before we do, so a slow query
        // comes back as its own error rather than a cut connection.
        let server_ms = (wait.as_millis() as u64).saturating_sub(100).max(1);
        let server_timeout = format!("{server_ms}ms");
        let mut query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        query.push(("timeout", &server_timeout));
        let transport = |error| QueryError::Transport {
            url: self.shown_url().to_string(),
            error,
        };
        let mut resp = self
            .http
            .send("GET", path, &query, None, wait)
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .lossy_utf8(true)
            .read_to_string()
            .map_err(|e| transport(self.http.error(&e, wait)))?;
        Ok((status, body))
    }
}

/// Judge an HTTP answer from the query API.
pub fn parse_answer(status: u16, body: &str) -> Result<Answer, QueryError> {
    let doc: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            return Err(QueryError::NotJson {
                status,
                excerpt: scrub(&excerpt(body)),
            });
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
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(scrub);
        return Err(QueryError::Api {
            status,
            error_type: text("errorType"),
            error: text("error"),
            excerpt: scrub(&excerpt(body)),
        });
    }
    if api_status != "success" {
        return Err(QueryError::NotSuccess {
            status,
            excerpt: scrub(&excerpt(body)),
        });
    }
    let data = doc.get("data").ok_or(QueryError::NoData)?;
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
            return Err(QueryError::ResultType {
                found: scrub(other),
            });
        }
    };
    Ok(Answer {
        result_type: kind.to_string(),
        series,
        warnings,
    })
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
    let bad = || QueryError::Malformed {
        sample: scrub(&v.to_string()),
    };
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
                scrub(&printable(&text))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The start of a body, quoted, on one line.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_matrices_and_scalars_parse() {
        let v = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1700000000.5,"0.25"]}]}}"#;
        let a = parse_answer(200, v).unwrap();
        assert_eq!(a.result_type, "vector");
        assert_eq!(a.series[0].points, vec![(1_700_000_000_500, 0.25)]);
        assert_eq!(a.series[0].labels["a"], "1");
        let m = r#"{"status":"success","warnings":["w1"],"infos":["i1"],"data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"+Inf"]]}]}}"#;
        let a = parse_answer(200, m).unwrap();
        assert!(a.series[0].points[0].1.is_nan());
        assert_eq!(a.series[0].points[1].1, f64::INFINITY);
        assert_eq!(a.warnings, ["w1", "info: i1"]);
        let s = r#"{"status":"success","data":{"resultType":"scalar","result":[3,"2"]}}"#;
        assert_eq!(
            parse_answer(200, s).unwrap().series[0].points,
            vec![(3000, 2.0)]
        );
    }

    #[test]
    fn errors_say_what_was_seen() {
        let e = parse_answer(200, "<html>oops</html>")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not JSON") && e.contains("oops"), "{e}");
        let e = parse_answer(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("status error (bad_data)") && e.contains("parse error"),
            "{e}"
        );
        let e = parse_answer(502, "").unwrap_err().to_string();
        assert!(e.contains("502") && e.contains("empty"), "{e}");
        let e = parse_answer(200, r#"{"status":"success"}"#).unwrap_err();
        assert!(e.to_string().contains("no `data`"), "{e}");
        let e = parse_answer(
            200,
            r#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("`string`"), "{e}");
        let e = parse_answer(200, r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"zz"]}]}}"#).unwrap_err();
        assert!(e.to_string().contains("malformed"), "{e}");
    }

    #[test]
    fn warnings_are_scrubbed_and_made_printable() {
        redact::register("warn-secret-88");
        let body = "{\"status\":\"success\",\"warnings\":[\"store warn-secret-88 \\u001b[2J down\"],\"data\":{\"resultType\":\"vector\",\"result\":[]}}";
        let a = parse_answer(200, body).unwrap();
        assert_eq!(a.warnings, ["store *** \\u{1b}[2J down"]);
    }

    #[test]
    fn times_as_seconds() {
        assert_eq!(secs(1_700_000_000_500), "1700000000.500");
        assert_eq!(secs(5), "0.005");
    }

    #[test]
    fn urls_need_an_http_scheme() {
        let o = Options::new("t");
        let d = Duration::from_secs(1);
        let ep = |u: &str| Endpoint {
            url: u.into(),
            ..Default::default()
        };
        assert!(
            PromClient::new(&ep("prom:9090"), &o, d)
                .unwrap_err()
                .contains("needs a scheme")
        );
        assert!(
            PromClient::new(&ep("ftp://prom"), &o, d)
                .unwrap_err()
                .contains("'ftp'")
        );
        let c = PromClient::new(&ep("http://prom:9090/prefix/"), &o, d).unwrap();
        assert_eq!(c.http().url(), "http://prom:9090/prefix");
    }
}
