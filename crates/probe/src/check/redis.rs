//! `probe redis URL`: PING must answer PONG — the runbook's
//! `redis-cli -h prod-redis ping` — with the server's version and role.
//!
//! `redis://[user:]password@host` logs in (an ACL user, or the default user
//! with a password only); `rediss://` speaks TLS (rustls), verified against
//! the system's roots or `--ca FILE`, or not verified with `--insecure`
//! (which the report shows).

use std::time::{Duration, Instant};

use golive_core::units::human_duration;
use golive_core::{Status, duration_ms};

use super::roots::Roots;
use crate::outcome::{Outcome, error_chain};

/// A Redis check.
#[derive(Debug)]
pub struct RedisSpec {
    /// The URL as it may be shown.
    pub display: String,
    /// The client, built once (holds the password; never printed).
    client: redis::Client,
    /// `rediss://`.
    pub tls: bool,
    /// Certificates not verified (`--insecure`).
    pub insecure: bool,
    /// The CA file trusted, if one was given.
    pub ca: Option<String>,
}

impl RedisSpec {
    /// From `redis[s]://[[user]:password@]host[:port][/db]`, the trust roots
    /// and `--insecure` (both for rediss:// only).
    pub fn new(url: &str, roots: Roots, insecure: bool) -> Result<Self, String> {
        let display = golive_core::redact::url(url);
        let bad =
            |e: redis::RedisError| format!("'{display}' is not a Redis URL: {}", error_chain(&e));
        let tls = url.starts_with("rediss://");
        let ca = roots.ca_path().map(str::to_string);
        // --ca and --insecure mean nothing to redis:// (a shared preflight
        // file may set a CA for every check): they are not used or shown.
        let ca = if tls { ca } else { None };
        if url.contains('#') && !url.ends_with("#insecure") {
            return Err(format!(
                "'{display}': the only URL fragment Redis knows is #insecure"
            ));
        }
        let insecure = tls && (insecure || url.ends_with("#insecure"));
        let client = if tls {
            let mut u = url.trim_end_matches("#insecure").to_string();
            if insecure {
                u.push_str("#insecure");
            }
            let root_cert = match &ca {
                Some(p) => Some(std::fs::read(p).map_err(|e| format!("--ca {p}: {e}"))?),
                None => None,
            };
            redis::Client::build_with_tls(
                u.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert,
                },
            )
            .map_err(bad)?
        } else {
            redis::Client::open(url).map_err(bad)?
        };
        Ok(RedisSpec {
            display,
            client,
            tls,
            insecure,
            ca,
        })
    }
}

fn describe(e: &redis::RedisError, limit: Duration) -> (String, &'static str) {
    let text = error_chain(e);
    let lower = text.to_ascii_lowercase();
    if e.is_timeout() || lower.contains("timed out") || lower.contains("would block") {
        (
            format!("no answer within {} (timed out)", human_duration(limit)),
            "timeout",
        )
    } else if e.is_connection_refusal() {
        ("connection refused".into(), "connection_refused")
    } else if lower.contains("noauth") || lower.contains("wrongpass") || lower.contains("auth") {
        (text, "auth")
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        (format!("TLS: {text}"), "tls")
    } else {
        (text, "redis")
    }
}

impl RedisSpec {
    /// `tls`, and for TLS `insecure` and `ca`.
    fn tls_fields(&self, o: Outcome) -> Outcome {
        let mut o = o.with("tls", self.tls);
        if self.tls {
            o.set("insecure", self.insecure);
            if let Some(ca) = &self.ca {
                o.set("ca", ca.clone());
            }
        }
        o
    }
}

/// Connect, PING and read INFO, within `limit`.
pub fn probe(spec: &RedisSpec, limit: Duration) -> Outcome {
    let fail = |(msg, kind): (String, &'static str)| {
        let msg = if kind == "connection_refused" {
            format!("connection refused at {}", spec.display)
        } else {
            msg
        };
        spec.tls_fields(
            Outcome::critical(msg)
                .with("url", spec.display.clone())
                .with("error", kind),
        )
    };
    let deadline = golive_core::Deadline::after(limit);
    let t0 = Instant::now();
    let mut conn = match spec.client.get_connection_with_timeout(limit) {
        Ok(c) => c,
        Err(e) => return fail(describe(&e, limit)),
    };
    let left = deadline.cap(limit).max(Duration::from_millis(1));
    let _ = conn.set_read_timeout(Some(left));
    let _ = conn.set_write_timeout(Some(left));
    let t1 = Instant::now();
    let pong: String = match redis::cmd("PING").query(&mut conn) {
        Ok(p) => p,
        Err(e) => return fail(describe(&e, limit)),
    };
    let ping_took = t1.elapsed();
    if pong != "PONG" {
        return fail((format!("PING answered {pong:?}, not PONG"), "redis"));
    }
    // INFO may be renamed or forbidden by ACLs: its figures are a bonus.
    let info: Option<String> = redis::cmd("INFO").query(&mut conn).ok();
    let took = t0.elapsed();
    let field = |k: &str| {
        info.as_deref().and_then(|i| {
            i.lines().find_map(|l| {
                l.strip_prefix(k)?
                    .strip_prefix(':')
                    .map(|v| v.trim().to_string())
            })
        })
    };
    let version = field("redis_version");
    let role = field("role");
    let mut o = Outcome::new(
        Status::Ok,
        format!(
            "PONG in {}{}{}",
            crate::outcome::took(took),
            version
                .as_deref()
                .map(|v| format!(", Redis {v}"))
                .unwrap_or_default(),
            role.as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
        ),
    )
    .with("url", spec.display.clone())
    .with("latency_ms", duration_ms(took))
    .with("ping_ms", duration_ms(ping_took));
    if spec.insecure {
        o.message
            .push_str(" (TLS certificate not verified: --insecure)");
    }
    let mut o = spec.tls_fields(o);
    if let Some(v) = version {
        o.set("server_version", v);
    }
    if let Some(r) = role {
        o.set("role", r);
    }
    if let Some(n) = field("connected_clients").and_then(|s| s.parse::<u64>().ok()) {
        o.set("connected_clients", n);
    }
    if let Some(n) = field("uptime_in_seconds").and_then(|s| s.parse::<u64>().ok()) {
        o.set("uptime_s", n);
    }
    if let Some(n) = field("used_memory").and_then(|s| s.parse::<u64>().ok()) {
        o.set("used_memory_bytes", n);
    }
    o
}
