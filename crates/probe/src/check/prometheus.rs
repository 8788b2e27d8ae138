//! `probe prometheus URL [--query EXPR]`: an instant query (default `up`)
//! whose every series must be non-zero (for `up`: 1). An empty result is
//! CRITICAL — nothing scraped is not "all up". Down targets are named with
//! the last scrape error from `/api/v1/targets`.
//!
//! The API is spoken by golive-http's Prometheus client, the one
//! metric-gate uses: the same timeouts, TLS, proxy and answer checks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use golive_core::{Deadline, Status, duration_ms};
use golive_http::prom::{PromClient, QueryError};
use golive_http::{Endpoint, ErrorKind, Options, Proxy, decode_query_value};
use serde_json::{Value, json};

use super::roots::Roots;
use crate::outcome::{Outcome, Verdict};

/// A Prometheus check.
#[derive(Debug)]
pub struct PrometheusSpec {
    /// Base URL (`http://prometheus:9090`), may hold secrets.
    pub base: String,
    /// Base URL as it may be shown.
    pub display: String,
    /// The PromQL expression.
    pub query: String,
    /// Basic auth, bearer token and extra headers (`url` unused).
    pub auth: Endpoint,
    /// Trust roots for https.
    pub roots: Roots,
    /// Skip certificate verification.
    pub insecure: bool,
    /// The proxy from the environment, unless `--no-proxy`.
    pub proxy: Option<Proxy>,
}

impl PrometheusSpec {
    /// From a base URL; a full `…/api/v1/query?query=up` URL (as the runbook
    /// curls it) is accepted too, its query used when `--query` is not given.
    /// The proxy is chosen here (none with `no_proxy`), so a proxy variable
    /// that cannot be used is a usage error before any work starts.
    pub fn new(
        url: &str,
        query: Option<String>,
        auth: Endpoint,
        roots: Roots,
        insecure: bool,
        no_proxy: bool,
    ) -> Result<Self, String> {
        let display = golive_core::redact::url(url);
        golive_core::units::check_url_port(url)?;
        let uri: ureq::http::Uri = url
            .parse()
            .map_err(|e| format!("'{display}' is not a URL: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http") | Some("https")) || uri.host().is_none() {
            return Err(format!("'{display}' is not an http:// or https:// URL"));
        }
        let mut base = url.to_string();
        let mut from_url = None;
        if let Some(i) = base.find("/api/v1/") {
            if let Some(q) = base[i..].split_once('?').map(|x| x.1) {
                from_url = q
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("query="))
                    .map(decode_query_value);
            }
            base.truncate(i);
        }
        let base = base.trim_end_matches('/').to_string();
        let query = query.or(from_url).unwrap_or_else(|| "up".to_string());
        if query.trim().is_empty() {
            return Err("--query is empty".into());
        }
        let proxy = Proxy::for_url(&base, no_proxy)?;
        Endpoint {
            url: url.to_string(),
            ..auth.clone()
        }
        .validate()?;
        Ok(PrometheusSpec {
            display: golive_core::redact::url(&base),
            base,
            query,
            auth,
            roots,
            insecure,
            proxy,
        })
    }

    fn client(&self, limit: Duration) -> Result<PromClient, String> {
        let ep = Endpoint {
            url: self.base.clone(),
            ..self.auth.clone()
        };
        let opts = Options {
            roots: self.roots.clone(),
            insecure: self.insecure,
            proxy: self.proxy.clone(),
            ..Options::new(concat!("golive-probe/", env!("CARGO_PKG_VERSION")))
        };
        PromClient::new(&ep, &opts, limit)
    }
}

/// What a failed query says, as probe judges it: no answer or a broken
/// Prometheus (5xx) is CRITICAL, a query it refused (4xx) or an answer that
/// is not the API is UNKNOWN; refused credentials (401, 403) are CRITICAL.
fn failed(e: QueryError, limit: Duration) -> Outcome {
    // Refused credentials: the check cannot see what it must, whatever the
    // body says — CRITICAL, as for any server that will not serve us.
    if let QueryError::NotJson { status, .. }
    | QueryError::Api { status, .. }
    | QueryError::NotSuccess { status, .. } = &e
        && matches!(status, 401 | 403)
    {
        let what = if *status == 401 {
            "no or wrong credentials"
        } else {
            "these credentials may not read it"
        };
        return Outcome::critical(format!(
            "HTTP {status}: Prometheus refused the request ({what})"
        ))
        .with("status_code", *status)
        .with("error", "auth");
    }
    let refused = |code: u16, kind: Option<String>, err: Option<String>| {
        let status = if (400..500).contains(&code) {
            Status::Unknown
        } else {
            Status::Critical
        };
        Outcome::new(
            status,
            format!(
                "Prometheus refused the query (HTTP {code}, {}): {}",
                kind.unwrap_or_else(|| "error".into()),
                err.unwrap_or_else(|| "no error text".into())
            ),
        )
        .with("status_code", code)
        .with("error", "query")
    };
    match e {
        QueryError::NoTime { .. } => {
            Outcome::critical(golive_http::timed_out(limit)).with("error", "timeout")
        }
        QueryError::Transport { error, .. } if error.kind == ErrorKind::Build => {
            Outcome::unknown(error.what)
        }
        QueryError::Transport { error, .. } => {
            Outcome::critical(error.to_string()).with("error", error.kind.as_str())
        }
        QueryError::NotJson { status: code, .. } => {
            // A 5xx from Prometheus or the proxy before it: it is not
            // serving. Anything else: not the API we expected to read.
            let status = if code >= 500 {
                Status::Critical
            } else {
                Status::Unknown
            };
            Outcome::new(
                status,
                format!("HTTP {code}: the answer is not a Prometheus API document"),
            )
            .with("status_code", code)
            .with("error", "not_prometheus")
        }
        QueryError::Api {
            status,
            error_type,
            error,
            ..
        } => refused(status, error_type, error),
        QueryError::NotSuccess { status, .. } => refused(status, None, None),
        QueryError::NoData => wrong_type(""),
        QueryError::ResultType { found } => wrong_type(&found),
        e @ QueryError::Malformed { .. } => {
            Outcome::unknown(e.to_string()).with("error", "not_prometheus")
        }
        QueryError::Other(s) => Outcome::unknown(s),
    }
}

fn wrong_type(found: &str) -> Outcome {
    let found = if found.is_empty() { "missing" } else { found };
    Outcome::unknown(format!(
        "the query returned a {found} result; an instant vector or scalar is needed"
    ))
    .with("error", "result_type")
}

/// One series of the result.
#[derive(Debug)]
struct Series {
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Series {
    fn name(&self) -> String {
        match (self.labels.get("job"), self.labels.get("instance")) {
            (Some(j), Some(i)) => format!("{j}/{i}"),
            _ if self.labels.is_empty() => "{}".into(),
            _ => {
                let parts: Vec<String> = self
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", json!(v)))
                    .collect();
                format!("{{{}}}", parts.join(","))
            }
        }
    }
}

/// Query once within `limit` and judge the result.
pub fn probe(spec: &PrometheusSpec, limit: Duration) -> Outcome {
    let deadline = Deadline::after(limit);
    let t0 = Instant::now();
    let client = match spec.client(limit) {
        Ok(c) => c,
        Err(e) => return Outcome::unknown(e),
    };
    let with_base = |o: Outcome| {
        let mut o = o
            .with("url", spec.display.clone())
            .with("query", spec.query.clone());
        // As for http: the proxy used and skipped verification show.
        for (k, v) in client.http().route_figures() {
            o.set(k, v);
        }
        o
    };
    let answer = match client.instant(&spec.query, None, &deadline) {
        Ok(a) => a,
        Err(e) => return with_base(failed(e, limit)),
    };
    let took = t0.elapsed();
    if !matches!(answer.result_type.as_str(), "vector" | "scalar") {
        return with_base(wrong_type(&answer.result_type));
    }
    let series: Vec<Series> = answer
        .series
        .into_iter()
        .map(|s| Series {
            value: s.points.last().map(|p| p.1).unwrap_or(f64::NAN),
            labels: s.labels,
        })
        .collect();

    let mut v = Verdict::default();
    let failing: Vec<&Series> = series.iter().filter(|s| s.value == 0.0).collect();
    let nan: Vec<&Series> = series.iter().filter(|s| s.value.is_nan()).collect();
    let mut down = Vec::new();
    if series.is_empty() {
        v.add(
            Status::Critical,
            format!("`{}` returned no series: nothing to judge", spec.query),
        );
    }
    if !failing.is_empty() {
        let targets = if failing.iter().any(|s| s.labels.contains_key("instance")) {
            client.targets(&deadline).ok()
        } else {
            None
        };
        let mut names = Vec::new();
        for s in &failing {
            let mut d = json!({ "series": s.name(), "labels": s.labels, "value": s.value });
            let target = targets.as_ref().and_then(|t| {
                t["data"]["activeTargets"].as_array()?.iter().find(|t| {
                    t["labels"]["instance"].as_str()
                        == Some(s.labels.get("instance").map_or("", String::as_str))
                        && s.labels
                            .get("job")
                            .is_none_or(|j| t["labels"]["job"].as_str() == Some(j))
                })
            });
            let mut name = s.name();
            if let Some(t) = target {
                let err = t["lastError"].as_str().unwrap_or_default();
                d["health"] = t["health"].clone();
                d["last_error"] = json!(err);
                d["last_scrape"] = t["lastScrape"].clone();
                d["scrape_url"] = json!(golive_core::redact::url(
                    t["scrapeUrl"].as_str().unwrap_or_default()
                ));
                if !err.is_empty() {
                    name = format!("{name} ({err})");
                }
            }
            names.push(name);
            down.push(d);
        }
        v.add(
            Status::Critical,
            format!(
                "{} of {} series {}: {}",
                failing.len(),
                series.len(),
                if spec.query.trim() == "up" {
                    "down"
                } else {
                    "are 0"
                },
                names.join(", ")
            ),
        );
    }
    if !nan.is_empty() {
        let names: Vec<String> = nan.iter().map(|s| s.name()).collect();
        v.add(
            Status::Unknown,
            format!(
                "{} series have no number (NaN): {}",
                nan.len(),
                names.join(", ")
            ),
        );
    }
    let base = if spec.query.trim() == "up" {
        format!(
            "{} of {} targets up",
            series.len() - failing.len() - nan.len(),
            series.len()
        )
    } else {
        format!(
            "{} of {} series non-zero",
            series.len() - failing.len() - nan.len(),
            series.len()
        )
    };
    let base = format!(
        "{base} (`{}` in {})",
        spec.query,
        crate::outcome::took(took)
    );
    let mut o = with_base(v.outcome(&base))
        .with("latency_ms", duration_ms(took))
        .with("series", series.len())
        .with("failing_series", failing.len() + nan.len())
        .with("down", Value::Array(down));
    o.metric(
        "probe_prometheus_series",
        "Series the query returned.",
        series.len() as f64,
    );
    o.metric(
        "probe_prometheus_failing_series",
        "Series that were 0 or NaN.",
        (failing.len() + nan.len()) as f64,
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runbook_url_is_understood() {
        let s = PrometheusSpec::new(
            "http://prom:9090/api/v1/query?query=up%7Bjob%3D%22api%22%7D",
            None,
            Endpoint::default(),
            Roots::System,
            false,
            true,
        )
        .unwrap();
        assert_eq!(s.base, "http://prom:9090");
        assert_eq!(s.query, "up{job=\"api\"}");
        let s = PrometheusSpec::new(
            "http://prom:9090/",
            None,
            Endpoint::default(),
            Roots::System,
            false,
            true,
        )
        .unwrap();
        assert_eq!(
            (s.base.as_str(), s.query.as_str()),
            ("http://prom:9090", "up")
        );
    }

    #[test]
    fn series_are_named_by_job_and_instance() {
        let s = |pairs: &[(&str, &str)]| Series {
            labels: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value: 0.0,
        };
        assert_eq!(s(&[("job", "api"), ("instance", "h:1")]).name(), "api/h:1");
        assert_eq!(s(&[]).name(), "{}");
        assert_eq!(s(&[("a", "x")]).name(), "{a=\"x\"}");
    }
}
