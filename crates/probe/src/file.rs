//! `probe run FILE.toml`: many named checks in one file.
//!
//! ```toml
//! [defaults]            # optional: timing for every check, and the pool size
//! timeout = "5s"
//! concurrency = 16
//!
//! [[check]]
//! name = "api"
//! type = "http"
//! url = "${API_URL}"
//! headers = { "X-API-Key" = "${API_KEY}" }
//! json_path = "status"
//! equals = "ok"
//! ```
//!
//! Keys are the flags of the matching subcommand in snake_case; the target
//! is `url` (http, redis, prometheus), `address` (tcp, tls), `dsn`
//! (postgres) or `glob` (file). Unknown keys, keys that do not apply to the
//! check's type, duplicate names and unset `${VAR}`s are exit 64 naming the
//! file and line. Timing: a check's own key wins, then the command line,
//! then `[defaults]`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use golive_core::output::Format;
use golive_core::units::{de_opt_duration, de_opt_percent, de_opt_size, de_opt_timeout};
use golive_core::{Error, redact};
use serde::Deserialize;

use crate::check::Spec;
use crate::check::file::FileSpec;
use crate::check::http::{HttpSpec, JsonCheck, StatusMatch, parse_header};
use crate::check::postgres::PostgresSpec;
use crate::check::prometheus::PrometheusSpec;
use crate::check::redis::RedisSpec;
use crate::check::smtp::{SmtpSpec, SmtpTls};
use crate::check::tcp::TcpSpec;
use crate::check::tls::TlsSpec;
use crate::cli::{RunArgs, TimingArgs, roots};
use crate::plan::{Check, DEFAULT_CONCURRENCY, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, Plan, Timing};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    check: Vec<Entry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default, deserialize_with = "de_opt_timeout")]
    timeout: Option<Duration>,
    retries: Option<u32>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    interval: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    wait: Option<Duration>,
    concurrency: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Http,
    Tcp,
    Tls,
    Smtp,
    Postgres,
    Redis,
    Prometheus,
    File,
}

/// A string, or a TOML number or boolean written where text is meant
/// (`expect_status = 200`, `equals = true`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    S(String),
    I(i64),
    F(f64),
    B(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::S(s) => s.clone(),
            Scalar::I(i) => i.to_string(),
            Scalar::F(f) => f.to_string(),
            Scalar::B(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    #[serde(rename = "type")]
    kind: Kind,
    // timing
    #[serde(default, deserialize_with = "de_opt_timeout")]
    timeout: Option<Duration>,
    retries: Option<u32>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    interval: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    wait: Option<Duration>,
    // targets
    url: Option<String>,
    address: Option<String>,
    dsn: Option<String>,
    glob: Option<String>,
    // prometheus: who we are
    username: Option<String>,
    password: Option<String>,
    bearer_token: Option<String>,
    bearer_token_file: Option<String>,
    // http (and prometheus: headers, ca, insecure)
    method: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    body: Option<String>,
    expect_status: Option<Scalar>,
    body_contains: Option<OneOrMany>,
    json_path: Option<String>,
    equals: Option<Scalar>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    max_latency: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    crit_latency: Option<Duration>,
    follow: Option<bool>,
    ca: Option<String>,
    insecure: Option<bool>,
    no_proxy: Option<bool>,
    // smtp
    tls: Option<String>,
    ehlo: Option<String>,
    // tls (and smtp)
    sni: Option<String>,
    warn_days: Option<u32>,
    crit_days: Option<u32>,
    // postgres, prometheus
    query: Option<String>,
    #[serde(default, deserialize_with = "de_opt_percent")]
    max_connections_used: Option<f64>,
    #[serde(default, deserialize_with = "de_opt_percent")]
    warn_connections_used: Option<f64>,
    // file
    #[serde(default, deserialize_with = "de_opt_duration")]
    max_age: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    warn_age: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_size")]
    min_size: Option<u64>,
    gzip: Option<bool>,
}

impl Entry {
    /// Keys that are set, for checking they apply to the type.
    fn set_keys(&self) -> Vec<&'static str> {
        let mut k = Vec::new();
        let mut add = |set: bool, name: &'static str| {
            if set {
                k.push(name);
            }
        };
        add(self.url.is_some(), "url");
        add(self.address.is_some(), "address");
        add(self.dsn.is_some(), "dsn");
        add(self.glob.is_some(), "glob");
        add(self.method.is_some(), "method");
        add(self.headers.is_some(), "headers");
        add(self.body.is_some(), "body");
        add(self.expect_status.is_some(), "expect_status");
        add(self.body_contains.is_some(), "body_contains");
        add(self.json_path.is_some(), "json_path");
        add(self.equals.is_some(), "equals");
        add(self.max_latency.is_some(), "max_latency");
        add(self.crit_latency.is_some(), "crit_latency");
        add(self.follow.is_some(), "follow");
        add(self.ca.is_some(), "ca");
        add(self.insecure.is_some(), "insecure");
        add(self.no_proxy.is_some(), "no_proxy");
        add(self.sni.is_some(), "sni");
        add(self.warn_days.is_some(), "warn_days");
        add(self.crit_days.is_some(), "crit_days");
        add(self.query.is_some(), "query");
        add(self.max_connections_used.is_some(), "max_connections_used");
        add(
            self.warn_connections_used.is_some(),
            "warn_connections_used",
        );
        add(self.max_age.is_some(), "max_age");
        add(self.warn_age.is_some(), "warn_age");
        add(self.min_size.is_some(), "min_size");
        add(self.gzip.is_some(), "gzip");
        add(self.username.is_some(), "username");
        add(self.password.is_some(), "password");
        add(self.bearer_token.is_some(), "bearer_token");
        add(self.bearer_token_file.is_some(), "bearer_token_file");
        add(self.tls.is_some(), "tls");
        add(self.ehlo.is_some(), "ehlo");
        k
    }
}

fn allowed(kind: Kind) -> (&'static str, &'static [&'static str]) {
    match kind {
        Kind::Http => (
            "url",
            &[
                "url",
                "method",
                "headers",
                "body",
                "expect_status",
                "body_contains",
                "json_path",
                "equals",
                "max_latency",
                "crit_latency",
                "follow",
                "ca",
                "insecure",
                "no_proxy",
            ],
        ),
        Kind::Tcp => ("address", &["address"]),
        Kind::Tls => (
            "address",
            &["address", "sni", "warn_days", "crit_days", "ca", "insecure"],
        ),
        Kind::Smtp => (
            "address",
            &[
                "address",
                "tls",
                "ehlo",
                "sni",
                "warn_days",
                "crit_days",
                "ca",
                "insecure",
            ],
        ),
        Kind::Postgres => (
            "dsn",
            &[
                "dsn",
                "query",
                "max_connections_used",
                "warn_connections_used",
            ],
        ),
        Kind::Redis => ("url", &["url", "ca", "insecure"]),
        Kind::Prometheus => (
            "url",
            &[
                "url",
                "query",
                "headers",
                "ca",
                "insecure",
                "no_proxy",
                "username",
                "password",
                "bearer_token",
                "bearer_token_file",
            ],
        ),
        Kind::File => ("glob", &["glob", "max_age", "warn_age", "min_size", "gzip"]),
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Http => "http",
        Kind::Tcp => "tcp",
        Kind::Tls => "tls",
        Kind::Smtp => "smtp",
        Kind::Postgres => "postgres",
        Kind::Redis => "redis",
        Kind::Prometheus => "prometheus",
        Kind::File => "file",
    }
}

/// Read the file and build the plan; every problem is exit 64 naming the
/// file and, where it can, the line.
pub fn plan(args: &RunArgs, flags: &TimingArgs, format: Format) -> Result<Plan, Error> {
    let path = args.file.display().to_string();
    // toml's spans say where each `[[check]]` and key stands, for the
    // errors found after parsing.
    let (cfg, spans): (FileConfig, _) = golive_core::config::load_located(&args.file)?;
    let err = |line: Option<usize>, message: String| Error::Config {
        path: path.clone(),
        line,
        column: None,
        message,
    };
    if cfg.check.is_empty() {
        return Err(err(
            None,
            "no [[check]] in the file: nothing to run is not a pass".into(),
        ));
    }
    for name in &args.only {
        if !cfg.check.iter().any(|c| c.name.trim() == name) {
            return Err(Error::usage(format!(
                "--only {name}: no check of that name in {path}"
            )));
        }
    }
    let d = &cfg.defaults;
    let mut checks = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, e) in cfg.check.iter().enumerate() {
        let header = spans.line(&format!("check[{i}]"));
        let at = |key: &str| spans.line(&format!("check[{i}].{key}")).or(header);
        let name = e.name.trim();
        if name.is_empty() {
            return Err(err(at("name"), "check name is empty".into()));
        }
        if seen.contains(&name) {
            return Err(err(
                at("name"),
                format!("check name `{name}` is used twice"),
            ));
        }
        seen.push(name);
        let kind = kind_name(e.kind);
        let (target_key, ok_keys) = allowed(e.kind);
        for k in e.set_keys() {
            if !ok_keys.contains(&k) {
                return Err(err(
                    at(k),
                    format!("check `{name}`: `{k}` does not apply to type {kind}"),
                ));
            }
        }
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        let bad = |key: &str, m: String| err(at(key), format!("check `{name}`: {m}"));
        let target = match target_key {
            "url" => e.url.clone(),
            "address" => e.address.clone(),
            "dsn" => e.dsn.clone(),
            _ => e.glob.clone(),
        }
        .ok_or_else(|| {
            err(
                header,
                format!("check `{name}` (type {kind}) needs `{target_key}`"),
            )
        })?;
        // A header whose value is empty is not sent (curl's `-H 'Name:'`),
        // so `"${TENANT:-}"` can stand in a shared file.
        let headers = || -> Result<Vec<(String, String)>, Error> {
            e.headers
                .iter()
                .flatten()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| parse_header(&format!("{k}: {v}")).map_err(|m| bad("headers", m)))
                .collect()
        };
        // An empty value (a `${VAR:-}` left unset) is no value.
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let r = || roots(given(&e.ca).as_deref()).map_err(|m| bad("ca", m));
        let no_proxy = e.no_proxy.unwrap_or(args.no_proxy);
        // tls and smtp: the address, the name, the days and the trust.
        let tls_spec = || {
            TlsSpec::new(
                &target,
                e.sni.clone(),
                e.warn_days,
                e.crit_days,
                r()?,
                e.insecure.unwrap_or(false),
            )
            .map_err(|m| bad("address", m))
        };
        let (display, spec) = match e.kind {
            Kind::Http => {
                let mut s = HttpSpec {
                    display: redact::url(&target),
                    url: target.clone(),
                    method: e.method.clone().unwrap_or_else(|| "GET".into()),
                    headers: headers()?,
                    body: e.body.clone(),
                    expect: match &e.expect_status {
                        Some(x) => {
                            StatusMatch::parse(&x.text()).map_err(|m| bad("expect_status", m))?
                        }
                        None => StatusMatch::default(),
                    },
                    body_contains: match &e.body_contains {
                        None => vec![],
                        Some(OneOrMany::One(s)) => vec![s.clone()],
                        Some(OneOrMany::Many(v)) => v.clone(),
                    },
                    json: match (&e.json_path, &e.equals) {
                        (Some(p), eq) => Some(
                            JsonCheck::new(p, eq.as_ref().map(Scalar::text))
                                .map_err(|m| bad("json_path", m))?,
                        ),
                        (None, Some(_)) => {
                            return Err(bad("equals", "`equals` needs `json_path`".into()));
                        }
                        (None, None) => None,
                    },
                    max_latency: e.max_latency,
                    crit_latency: e.crit_latency,
                    insecure: e.insecure.unwrap_or(false),
                    roots: r()?,
                    follow: e.follow.unwrap_or(false),
                    proxy: None,
                };
                s.validate(no_proxy).map_err(|m| bad("url", m))?;
                (s.display.clone(), Spec::Http(s))
            }
            Kind::Tcp => (
                target.clone(),
                Spec::Tcp(TcpSpec::new(&target).map_err(|m| bad("address", m))?),
            ),
            Kind::Tls => (target.clone(), Spec::Tls(tls_spec()?)),
            Kind::Smtp => {
                let mode = match e.tls.as_deref() {
                    None => None,
                    Some("none") => Some(SmtpTls::None),
                    Some("starttls") => Some(SmtpTls::StartTls),
                    Some("implicit") => Some(SmtpTls::Implicit),
                    Some(other) => {
                        return Err(bad(
                            "tls",
                            format!(
                                "tls = \"{other}\": want \"starttls\", \"implicit\" or \"none\""
                            ),
                        ));
                    }
                };
                let s = SmtpSpec::new(tls_spec()?, mode, e.ehlo.clone())
                    .map_err(|m| bad("address", m))?;
                (target.clone(), Spec::Smtp(s))
            }
            Kind::Postgres => {
                let s = PostgresSpec::new(
                    &target,
                    e.query.clone(),
                    e.max_connections_used,
                    e.warn_connections_used,
                )
                .map_err(|m| bad("dsn", m))?;
                (s.display.clone(), Spec::Postgres(s))
            }
            Kind::Redis => {
                let s = RedisSpec::new(&target, r()?, e.insecure.unwrap_or(false))
                    .map_err(|m| bad("url", m))?;
                (s.display.clone(), Spec::Redis(s))
            }
            Kind::Prometheus => {
                let bearer_token = match (given(&e.bearer_token_file), given(&e.bearer_token)) {
                    (Some(_), Some(_)) => {
                        return Err(bad(
                            "bearer_token",
                            "give bearer_token or bearer_token_file, not both".into(),
                        ));
                    }
                    (Some(f), None) => Some(
                        golive_http::read_token_file(&f)
                            .map_err(|m| bad("bearer_token_file", m))?,
                    ),
                    (None, t) => t,
                };
                let password = given(&e.password);
                for secret in [&password, &bearer_token].into_iter().flatten() {
                    redact::register(secret);
                }
                let auth = golive_http::Endpoint {
                    url: String::new(),
                    username: given(&e.username),
                    password,
                    bearer_token,
                    headers: headers()?,
                };
                let s = PrometheusSpec::new(
                    &target,
                    e.query.clone(),
                    auth,
                    r()?,
                    e.insecure.unwrap_or(false),
                    no_proxy,
                )
                .map_err(|m| bad("url", m))?;
                (s.display.clone(), Spec::Prometheus(s))
            }
            Kind::File => (
                target.clone(),
                Spec::File(
                    FileSpec::new(
                        &target,
                        e.max_age,
                        e.warn_age,
                        e.min_size,
                        e.gzip.unwrap_or(false),
                    )
                    .map_err(|m| bad("glob", m))?,
                ),
            ),
        };
        let timing = Timing {
            timeout: e
                .timeout
                .or(flags.timeout)
                .or(d.timeout)
                .unwrap_or(DEFAULT_TIMEOUT),
            retries: e.retries.or(flags.retries).or(d.retries),
            interval: e
                .interval
                .or(flags.interval)
                .or(d.interval)
                .unwrap_or(DEFAULT_INTERVAL),
            wait: e.wait.or(flags.wait).or(d.wait),
        };
        if timing.timeout.is_zero() {
            return Err(bad("timeout", "timeout must be more than 0".into()));
        }
        checks.push(Arc::new(Check {
            name: name.to_string(),
            target: display,
            timing,
            spec,
        }));
    }
    let concurrency = args
        .concurrency
        .or(d.concurrency)
        .map(|c| c.max(1) as usize)
        .unwrap_or(DEFAULT_CONCURRENCY);
    Ok(Plan {
        checks,
        format,
        concurrency,
        file: Some(path),
    })
}
