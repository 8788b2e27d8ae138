//! `probe redis URL`: PING must answer PONG — the runbook's
//! `redis-cli -h prod-redis ping` — with the server's version and role.

use std::time::{Duration, Instant};

use golive_core::units::human_duration;
use golive_core::{Status, duration_ms};

use crate::outcome::{Outcome, error_chain};

/// A Redis check.
#[derive(Debug)]
pub struct RedisSpec {
    /// The URL as given (may hold a password; never printed).
    pub url: String,
    /// The URL as it may be shown.
    pub display: String,
}

impl RedisSpec {
    /// From `redis://[:password@]host[:port][/db]`.
    pub fn new(url: &str) -> Result<Self, String> {
        let display = golive_core::redact::url(url);
        if url.starts_with("rediss://") {
            return Err(format!(
                "'{display}': rediss:// (TLS) is not supported; check the port with `probe tls`"
            ));
        }
        redis::Client::open(url)
            .map_err(|e| format!("'{display}' is not a Redis URL: {}", error_chain(&e)))?;
        Ok(RedisSpec {
            url: url.to_string(),
            display,
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
    } else {
        (text, "redis")
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
        Outcome::critical(msg)
            .with("url", spec.display.clone())
            .with("error", kind)
    };
    let deadline = golive_core::Deadline::after(limit);
    let client = match redis::Client::open(spec.url.as_str()) {
        Ok(c) => c,
        Err(e) => return Outcome::unknown(error_chain(&e)),
    };
    let t0 = Instant::now();
    let mut conn = match client.get_connection_with_timeout(limit) {
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
