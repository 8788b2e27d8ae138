//! `probe prometheus URL [--query EXPR]`: an instant query (default `up`)
//! whose every series must be non-zero (for `up`: 1). An empty result is
//! CRITICAL — nothing scraped is not "all up". Down targets are named with
//! the last scrape error from `/api/v1/targets`.

use std::io::Read;
use std::time::{Duration, Instant};

use golive_core::units::human_duration;
use golive_core::{Deadline, Status};
use serde_json::{Value, json};

use super::roots::Roots;
use crate::outcome::{Outcome, Verdict, ms};

/// A Prometheus check.
#[derive(Debug)]
pub struct PrometheusSpec {
    /// Base URL (`http://prometheus:9090`), may hold secrets.
    pub base: String,
    /// Base URL as it may be shown.
    pub display: String,
    /// The PromQL expression.
    pub query: String,
    /// Extra request headers (e.g. Authorization).
    pub headers: Vec<(String, String)>,
    /// Trust roots for https.
    pub roots: Roots,
    /// Skip certificate verification.
    pub insecure: bool,
}

impl PrometheusSpec {
    /// From a base URL; a full `…/api/v1/query?query=up` URL (as the runbook
    /// curls it) is accepted too, its query used when `--query` is not given.
    pub fn new(
        url: &str,
        query: Option<String>,
        headers: Vec<(String, String)>,
        roots: Roots,
        insecure: bool,
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
                    .map(percent_decode);
            }
            base.truncate(i);
        }
        let base = base.trim_end_matches('/').to_string();
        let query = query.or(from_url).unwrap_or_else(|| "up".to_string());
        if query.trim().is_empty() {
            return Err("--query is empty".into());
        }
        Ok(PrometheusSpec {
            display: golive_core::redact::url(&base),
            base,
            query,
            headers,
            roots,
            insecure,
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%' && i + 3 <= b.len())
            .then(|| std::str::from_utf8(&b[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (_, Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (c, None) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// GET `url` within what is left of `deadline`: (status, body).
fn get(
    spec: &PrometheusSpec,
    url: &str,
    deadline: &Deadline,
    limit: Duration,
) -> Result<(u16, Vec<u8>), (String, &'static str)> {
    let left = deadline.cap(limit);
    if left.is_zero() {
        return Err((
            format!("no answer within {} (timed out)", human_duration(limit)),
            "timeout",
        ));
    }
    let https = url
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"));
    let agent = super::http::agent(left, false, https, spec.insecure, &spec.roots);
    let mut req = ureq::http::Request::builder().method("GET").uri(url);
    for (k, v) in &spec.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(())
        .map_err(|e| (format!("cannot build the request: {e}"), "request"))?;
    let mut resp = agent
        .run(req)
        .map_err(|e| super::http::describe_error(&e, limit))?;
    let code = resp.status().as_u16();
    let mut body = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(super::http::BODY_LIMIT * 5)
        .read_to_end(&mut body)
        .map_err(|e| (format!("reading the answer failed: {e}"), "body"))?;
    Ok((code, body))
}

/// One series of the result.
#[derive(Debug)]
struct Series {
    labels: serde_json::Map<String, Value>,
    value: f64,
}

impl Series {
    fn name(&self) -> String {
        match (self.labels.get("job"), self.labels.get("instance")) {
            (Some(Value::String(j)), Some(Value::String(i))) => format!("{j}/{i}"),
            _ if self.labels.is_empty() => "{}".into(),
            _ => {
                let parts: Vec<String> = self
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v))
                    .collect();
                format!("{{{}}}", parts.join(","))
            }
        }
    }
}

fn sample_value(v: &Value) -> Option<f64> {
    let s = v.get(1)?.as_str()?;
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// Query once within `limit` and judge the result.
pub fn probe(spec: &PrometheusSpec, limit: Duration) -> Outcome {
    let deadline = Deadline::after(limit);
    let t0 = Instant::now();
    let url = format!(
        "{}/api/v1/query?query={}",
        spec.base,
        percent_encode(&spec.query)
    );
    let https = spec
        .base
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"));
    let with_base = |o: Outcome| {
        let mut o = o
            .with("url", spec.display.clone())
            .with("query", spec.query.clone());
        // As for http: skipped verification shows in the report.
        if https {
            o.set("insecure", spec.insecure);
            if let Some(ca) = spec.roots.ca_path() {
                o.set("ca", ca);
            }
        }
        o
    };
    let (code, body) = match get(spec, &url, &deadline, limit) {
        Ok(r) => r,
        Err((msg, kind)) => return with_base(Outcome::critical(msg)).with("error", kind),
    };
    let took = t0.elapsed();
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(_) => {
            // A 5xx from Prometheus or the proxy before it: it is not
            // serving. Anything else: not the API we expected to read.
            let status = if code >= 500 {
                Status::Critical
            } else {
                Status::Unknown
            };
            return with_base(Outcome::new(
                status,
                format!("HTTP {code}: the answer is not a Prometheus API document"),
            ))
            .with("status_code", code)
            .with("error", "not_prometheus");
        }
    };
    if doc["status"] != "success" {
        let err = doc["error"].as_str().unwrap_or("no error text");
        let kind = doc["errorType"].as_str().unwrap_or("error").to_string();
        let status = if (400..500).contains(&code) {
            Status::Unknown
        } else {
            Status::Critical
        };
        return with_base(Outcome::new(
            status,
            format!(
                "Prometheus refused the query (HTTP {code}, {kind}): {}",
                golive_core::redact::scrub(err)
            ),
        ))
        .with("status_code", code)
        .with("error", "query");
    }
    let data = &doc["data"];
    let series: Vec<Series> = match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| Series {
                        labels: s["metric"].as_object().cloned().unwrap_or_default(),
                        value: sample_value(&s["value"]).unwrap_or(f64::NAN),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Some("scalar") => vec![Series {
            labels: Default::default(),
            value: sample_value(&data["result"]).unwrap_or(f64::NAN),
        }],
        other => {
            return with_base(Outcome::unknown(format!(
                "the query returned a {} result; an instant vector or scalar is needed",
                other.unwrap_or("missing")
            )))
            .with("error", "result_type");
        }
    };

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
            let turl = format!("{}/api/v1/targets?state=active", spec.base);
            get(spec, &turl, &deadline, limit)
                .ok()
                .and_then(|(_, b)| serde_json::from_slice::<Value>(&b).ok())
        } else {
            None
        };
        let mut names = Vec::new();
        for s in &failing {
            let mut d = json!({ "series": s.name(), "labels": s.labels, "value": s.value });
            let target = targets.as_ref().and_then(|t| {
                t["data"]["activeTargets"].as_array()?.iter().find(|t| {
                    t["labels"]["instance"] == s.labels.get("instance").cloned().unwrap_or_default()
                        && s.labels.get("job").is_none_or(|j| &t["labels"]["job"] == j)
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
        .with("latency_ms", ms(took))
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
            vec![],
            Roots::System,
            false,
        )
        .unwrap();
        assert_eq!(s.base, "http://prom:9090");
        assert_eq!(s.query, "up{job=\"api\"}");
        let s =
            PrometheusSpec::new("http://prom:9090/", None, vec![], Roots::System, false).unwrap();
        assert_eq!(
            (s.base.as_str(), s.query.as_str()),
            ("http://prom:9090", "up")
        );
    }

    #[test]
    fn encoding_round_trips() {
        let q = "sum(rate(x{a=\"b c\"}[5m])) > 0";
        assert_eq!(percent_decode(&percent_encode(q)), q);
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
