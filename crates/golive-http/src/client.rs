//! The one HTTP client setup: ureq over rustls with a timeout on every
//! request, TLS verified by default (system roots, or only `--ca FILE`),
//! `insecure` reported, the route (direct or a proxy from the environment)
//! chosen once and said in every error, and auth headers built from what
//! the user gave — each secret registered with [`golive_core::redact`]
//! where it is known.

use std::time::Duration;

use base64::Engine as _;
use golive_core::redact;
use golive_core::units::human_duration;
use serde_json::{Value, json};

use crate::{Proxy, Roots};

/// Where a service is and how to prove who we are.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// The URL (may carry `user:password@`; sent as basic auth).
    pub url: String,
    /// Basic auth user (wins over the URL's).
    pub username: Option<String>,
    /// Basic auth password.
    pub password: Option<String>,
    /// Bearer token (`Authorization: Bearer …`) when there is no user.
    pub bearer_token: Option<String>,
    /// Extra request headers (`X-Scope-OrgID`, `X-API-Key`, …); an
    /// `Authorization` among them wins over the ones above.
    pub headers: Vec<(String, String)>,
}

impl Endpoint {
    /// Refuse what cannot be meant: basic auth and a bearer token both.
    pub fn validate(&self) -> Result<(), String> {
        let (_, userinfo) = split_userinfo(&self.url);
        if (self.username.is_some() || userinfo.is_some()) && self.bearer_token.is_some() {
            return Err("give a user (basic auth) or a bearer token, not both".to_string());
        }
        if self.password.is_some() && self.username.is_none() && userinfo.is_none() {
            return Err("a password is set but no user to go with it".to_string());
        }
        Ok(())
    }
}

/// A bearer token from a file (Kubernetes' service-account token, a Vault
/// agent's sink): trimmed, never empty, registered as a secret.
pub fn read_token_file(path: &str) -> Result<String, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("bearer token file {path}: {e}"))?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(format!("bearer token file {path} is empty"));
    }
    redact::register(&token);
    Ok(token)
}

/// How to talk to it.
#[derive(Debug, Clone)]
pub struct Options {
    /// `User-Agent`, e.g. `golive-probe/0.1.0`.
    pub user_agent: String,
    /// Trust roots for https.
    pub roots: Roots,
    /// Skip certificate verification (reported by [`Client::tls_figures`]).
    pub insecure: bool,
    /// Follow up to 10 redirects; by default a 3xx is the answer.
    pub follow_redirects: bool,
    /// The proxy, chosen with [`Proxy::for_url`]; `None` is direct (the
    /// environment is never read behind the tool's back).
    pub proxy: Option<Proxy>,
}

impl Options {
    /// Verified TLS with the system's roots, no redirects, direct.
    pub fn new(user_agent: impl Into<String>) -> Options {
        Options {
            user_agent: user_agent.into(),
            roots: Roots::System,
            insecure: false,
            follow_redirects: false,
            proxy: None,
        }
    }
}

/// A client for one service.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    /// The URL without userinfo.
    url: String,
    shown: String,
    headers: Vec<(String, String)>,
    https: bool,
    insecure: bool,
    ca: Option<String>,
    proxy: Option<String>,
}

/// What kind of failure a request met (the `error` field of a report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No answer in time.
    Timeout,
    /// The host (or the proxy's) did not resolve.
    Dns,
    /// The TLS handshake or certificate failed.
    Tls,
    /// The connection was refused (by the proxy, when there is one).
    Refused,
    /// The proxy would not open a tunnel to the target.
    Proxy,
    /// The answer was larger than the limit.
    TooLarge,
    /// The request could not be built (a bad method, header or URL).
    Build,
    /// Anything else on the way.
    Request,
}

impl ErrorKind {
    /// The short name reports carry: `timeout`, `dns`, `tls`,
    /// `connection_refused`, `proxy`, `body`, `request`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Dns => "dns",
            ErrorKind::Tls => "tls",
            ErrorKind::Refused => "connection_refused",
            ErrorKind::Proxy => "proxy",
            ErrorKind::TooLarge => "body",
            ErrorKind::Build | ErrorKind::Request => "request",
        }
    }
}

/// A request that got no answer: what happened, in one sentence (foreign
/// text scrubbed), and the proxy it went through.
#[derive(Debug, Clone)]
pub struct HttpError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// The sentence, without the route (`connection refused`).
    pub what: String,
    /// The time it was given, for timeouts.
    pub limit: Duration,
    /// The proxy, as it may be shown.
    pub via: Option<String>,
}

impl HttpError {
    /// ` via proxy http://proxy:3128`, or nothing when direct.
    pub fn route(&self) -> String {
        match &self.via {
            Some(p) => format!(" via proxy {p}"),
            None => String::new(),
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.what, self.route())
    }
}

/// Characters a query value keeps as they are (RFC 3986's unreserved).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded for a query string.
pub fn encode_query_value(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// A query-string value decoded (`%7B` and `+` for a space).
pub fn decode_query_value(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

impl Client {
    /// A client for `ep` as `opts` say. The URL is checked by the caller;
    /// here it only loses its userinfo, which becomes a basic-auth header.
    pub fn new(ep: &Endpoint, opts: &Options) -> Client {
        let shown = redact::url(&ep.url);
        let (url, userinfo) = split_userinfo(&ep.url);
        let mut headers = Vec::new();
        let explicit_auth = ep
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        let (user, pass) = match (&ep.username, userinfo) {
            (Some(u), _) => (Some(u.clone()), ep.password.clone()),
            (None, Some((u, p))) => (Some(u), p),
            (None, None) => (None, None),
        };
        if explicit_auth {
            // The user's own Authorization header is sent as given.
        } else if let Some(u) = user {
            let p = pass.unwrap_or_default();
            redact::register(&p);
            let cred = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            redact::register(&cred);
            headers.push(("Authorization".to_string(), format!("Basic {cred}")));
        } else if let Some(t) = ep.bearer_token.as_deref().map(str::trim) {
            redact::register(t);
            headers.push(("Authorization".to_string(), format!("Bearer {t}")));
        }
        for (k, v) in &ep.headers {
            // Sensitive values (X-API-Key, Authorization, …) are registered.
            let _ = redact::header(k, v);
            headers.push((k.clone(), v.clone()));
        }
        let https = is_https(&url);
        let proxy_tls = opts.proxy.as_ref().is_some_and(|p| is_https(p.shown()));
        let mut b = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(if opts.follow_redirects { 10 } else { 0 })
            // ureq's 128 KiB buffers per connection cost 16 MB across 64
            // concurrent requests; an API answer streams through far less
            // (headers up to the 64 KiB limit still fit).
            .input_buffer_size(64 * 1024)
            .output_buffer_size(16 * 1024)
            .max_idle_connections_per_host(64)
            .user_agent(opts.user_agent.as_str())
            // Always set: ureq would otherwise read the environment itself,
            // by its own rules, and never say so.
            .proxy(opts.proxy.as_ref().and_then(Proxy::to_ureq));
        // Trust roots are loaded only for TLS, so plain HTTP pays nothing.
        if https || proxy_tls {
            let tls = ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::Rustls)
                .root_certs(opts.roots.for_ureq())
                .disable_verification(opts.insecure)
                .build();
            b = b.tls_config(tls);
        }
        Client {
            agent: b.build().into(),
            url,
            shown,
            headers,
            https,
            insecure: opts.insecure,
            ca: opts.roots.ca_path().map(str::to_string),
            proxy: opts.proxy.as_ref().map(|p| p.shown().to_string()),
        }
    }

    /// The same client, its requests starting from the URL without a
    /// trailing `/` (paths are appended to it).
    pub fn trim_trailing_slash(mut self) -> Client {
        self.url = self.url.trim_end_matches('/').to_string();
        self
    }

    /// The URL as it may be shown (password masked).
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// The URL requests start from, without userinfo (may hold secrets in
    /// its query; never printed).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The proxy requests go through, as it may be shown.
    pub fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }

    /// Whether the service is reached over TLS.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// What a report shows about the route: `proxy` when one is used, and
    /// for https `insecure` (always, so skipped verification is never
    /// hidden) and `ca` when a CA file was given.
    pub fn route_figures(&self) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        if let Some(p) = &self.proxy {
            out.push(("proxy", json!(p)));
        }
        out.extend(self.tls_figures());
        out
    }

    /// `insecure` and `ca` for https (nothing for plain http).
    pub fn tls_figures(&self) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        if self.https {
            out.push(("insecure", json!(self.insecure)));
            if let Some(ca) = &self.ca {
                out.push(("ca", json!(ca)));
            }
        }
        out
    }

    /// Send one request to the URL followed by `suffix` (a path, or
    /// nothing) and `query` (encoded here), waiting at most `timeout`.
    /// Any HTTP status is an answer; only a request that got none is `Err`.
    pub fn send(
        &self,
        method: &str,
        suffix: &str,
        query: &[(&str, &str)],
        body: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, HttpError> {
        let mut url = format!("{}{suffix}", self.url);
        for (i, (k, v)) in query.iter().enumerate() {
            let sep = if i == 0 && !url.contains('?') {
                '?'
            } else {
                '&'
            };
            url.push(sep);
            url.push_str(&encode_query_value(k));
            url.push('=');
            url.push_str(&encode_query_value(v));
        }
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match body {
            Some(b) => self.run(req.body(b.to_vec()), timeout),
            None => self.run(req.body(()), timeout),
        }
    }

    fn run<S: ureq::AsSendBody>(
        &self,
        req: Result<ureq::http::Request<S>, ureq::http::Error>,
        timeout: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, HttpError> {
        let req = req.map_err(|e| HttpError {
            kind: ErrorKind::Build,
            what: format!(
                "cannot build the request: {}",
                redact::scrub(&e.to_string())
            ),
            limit: timeout,
            via: None,
        })?;
        let req = self
            .agent
            .configure_request(req)
            .timeout_global(Some(timeout))
            .build();
        self.agent.run(req).map_err(|e| self.error(&e, timeout))
    }

    /// A ureq error (from a request, or from reading its body) as an
    /// [`HttpError`] on this client's route.
    pub fn error(&self, e: &ureq::Error, limit: Duration) -> HttpError {
        let (kind, what) = describe(e, limit);
        HttpError {
            kind,
            what: redact::scrub(&what),
            limit,
            via: self.proxy.clone(),
        }
    }
}

/// A sentence for a timeout of `limit`.
pub fn timed_out(limit: Duration) -> String {
    format!("no answer within {} (timed out)", human_duration(limit))
}

fn describe(e: &ureq::Error, limit: Duration) -> (ErrorKind, String) {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => (ErrorKind::Timeout, timed_out(limit)),
        E::HostNotFound => (ErrorKind::Dns, "cannot resolve the host".into()),
        E::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            let inner = io.get_ref().map(|i| i.to_string()).unwrap_or_default();
            (ErrorKind::Tls, format!("TLS: {inner}"))
        }
        E::Io(io)
            if io.to_string().contains("lookup address")
                || io.to_string().contains("Name or service not known") =>
        {
            (ErrorKind::Dns, format!("cannot resolve the host: {io}"))
        }
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            (ErrorKind::Refused, "connection refused".into())
        }
        E::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            (ErrorKind::Timeout, timed_out(limit))
        }
        E::ConnectProxyFailed(why) => (
            ErrorKind::Proxy,
            format!("the proxy opened no tunnel to the target ({why})"),
        ),
        E::BodyExceedsLimit(n) => (ErrorKind::TooLarge, format!("answer larger than {n} bytes")),
        E::Tls(_) | E::Rustls(_) | E::Pem(_) => {
            (ErrorKind::Tls, format!("TLS: {}", redact::error_chain(e)))
        }
        other => (ErrorKind::Request, redact::error_chain(other)),
    }
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// Split `scheme://user:pass@host/…` into the URL without userinfo and the
/// (percent-decoded) user and password; the password is registered.
#[allow(clippy::type_complexity)]
pub fn split_userinfo(url: &str) -> (String, Option<(String, Option<String>)>) {
    let Some(se) = url.find("://") else {
        return (url.to_string(), None);
    };
    let rest = &url[se + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..auth_end].rfind('@') else {
        return (url.to_string(), None);
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let info = &rest[..at];
    let (u, p) = match info.split_once(':') {
        Some((u, p)) => (decode(u), Some(decode(p))),
        None => (decode(info), None),
    };
    if let Some(p) = &p {
        redact::register(p);
    }
    (
        format!("{}{}", &url[..se + 3], &rest[at + 1..]),
        Some((u, p)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_moves_to_a_header() {
        let (base, ui) = split_userinfo("http://gate:p%40ss@prom:9090/x");
        assert_eq!(base, "http://prom:9090/x");
        assert_eq!(ui, Some(("gate".into(), Some("p@ss".into()))));
        assert_eq!(split_userinfo("http://prom/a@b").1, None);
        let c = Client::new(
            &Endpoint {
                url: "http://gate:basic-pw-31@prom:9090".into(),
                ..Default::default()
            },
            &Options::new("t"),
        );
        assert_eq!(c.shown_url(), "http://gate:***@prom:9090");
        assert_eq!(c.url(), "http://prom:9090");
        // base64("gate:basic-pw-31") is a secret too.
        let cred = base64::engine::general_purpose::STANDARD.encode("gate:basic-pw-31");
        assert_eq!(redact::scrub(&format!("Basic {cred}")), "Basic ***");
    }

    #[test]
    fn base64_matches_rfc4648() {
        let b = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(b(b"f"), "Zg==");
        assert_eq!(b(b"fo"), "Zm8=");
        assert_eq!(b(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn query_values_round_trip() {
        let q = "sum(rate(x{a=\"b c\"}[5m])) > 0";
        assert_eq!(decode_query_value(&encode_query_value(q)), q);
        assert_eq!(
            decode_query_value("up%7Bjob%3D%22api%22%7D"),
            "up{job=\"api\"}"
        );
        assert_eq!(decode_query_value("a+b%2"), "a b%2");
    }

    #[test]
    fn errors_name_the_route() {
        let e = HttpError {
            kind: ErrorKind::Refused,
            what: "connection refused".into(),
            limit: Duration::from_secs(1),
            via: Some("http://p:3128".into()),
        };
        assert_eq!(e.to_string(), "connection refused via proxy http://p:3128");
        assert_eq!(e.kind.as_str(), "connection_refused");
    }
}
