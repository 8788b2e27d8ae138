//! `probe postgres DSN`: log in, run a query (`SELECT 1`), and read how full
//! the connection pool is — the runbook's `psql … -c "SELECT 1;"` and its
//! "Database connection pool healthy".
//!
//! TLS follows libpq's `sslmode` (see [`super::pgtls`]). The statement
//! timeout is `SET LOCAL` inside the check's own query, not a startup
//! option: pgbouncer refuses unknown startup options, and in transaction
//! pooling a session-level `SET` would outlive the check on a shared server
//! connection.

use std::time::{Duration, Instant};

use golive_core::units::human_duration;
use golive_core::{Status, duration_ms};
use postgres::SimpleQueryMessage;

use super::pgtls::{self, Connector, Ssl, SslMode};
use crate::outcome::{Outcome, Verdict, error_chain};

/// A PostgreSQL check.
#[derive(Debug)]
pub struct PostgresSpec {
    /// Parsed connection settings (holds the password; never printed).
    pub config: postgres::Config,
    /// The DSN as it may be shown.
    pub display: String,
    /// TLS settings.
    pub ssl: Ssl,
    /// The query to run.
    pub query: String,
    /// Connections used above this percentage of `max_connections` is CRITICAL.
    pub max_used_pct: Option<f64>,
    /// … and above this, a WARNING.
    pub warn_used_pct: Option<f64>,
}

impl PostgresSpec {
    /// Parse a URL (`postgres://user:pass@host/db`) or key/value
    /// (`host=… user=… password=…`) DSN. A password missing from the DSN is
    /// taken from `PGPASSWORD`, as psql does.
    pub fn new(
        dsn: &str,
        query: Option<String>,
        max_used_pct: Option<f64>,
        warn_used_pct: Option<f64>,
    ) -> Result<Self, String> {
        // Redact (and register the password) before anything can print it.
        let display = golive_core::redact::dsn(dsn);
        let (rest, ssl) = pgtls::split(dsn).map_err(|e| format!("'{display}': {e}"))?;
        let mut config: postgres::Config = rest.parse().map_err(|e: postgres::Error| {
            format!("'{display}' is not a PostgreSQL DSN: {}", error_chain(&e))
        })?;
        config.ssl_mode(ssl.crate_mode());
        if config.get_hosts().is_empty() {
            return Err(format!(
                "'{}' names no host",
                golive_core::output::printable(&display)
            ));
        }
        if config.get_password().is_none()
            && let Ok(pw) = std::env::var("PGPASSWORD")
        {
            golive_core::redact::register(&pw);
            config.password(pw);
        }
        if config.get_application_name().is_none() {
            config.application_name("golive-probe");
        }
        if let (Some(w), Some(c)) = (warn_used_pct, max_used_pct)
            && w > c
        {
            return Err(format!(
                "--warn-connections-used {w}% is above --max-connections-used {c}%"
            ));
        }
        let query = query.unwrap_or_else(|| "SELECT 1".to_string());
        if query.trim().is_empty() {
            return Err("--query is empty".into());
        }
        Ok(PostgresSpec {
            config,
            display,
            ssl,
            query,
            max_used_pct,
            warn_used_pct,
        })
    }
}

/// `sslmode=…, sslrootcert=…` as said in an error.
fn ssl_settings(ssl: &Ssl) -> String {
    match &ssl.rootcert {
        Some(r) => format!("sslmode={}, sslrootcert={r}", ssl.mode.name()),
        None => format!("sslmode={}", ssl.mode.name()),
    }
}

const STATS: &str = "SELECT current_setting('server_version'), \
     current_setting('max_connections'), \
     current_setting('superuser_reserved_connections'), \
     (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')";

/// `sql` with the statement timeout set for its own transaction only.
fn bounded(sql: &str, limit: Duration) -> String {
    format!(
        "SET LOCAL statement_timeout = {}; {sql}",
        limit.as_millis().max(1)
    )
}

fn describe(e: &postgres::Error, limit: Duration) -> (String, &'static str) {
    if let Some(db) = e.as_db_error() {
        let kind = match db.code().code() {
            "28P01" | "28000" => "auth",
            "57014" => "timeout",
            "3D000" => "no_database",
            "53300" => "too_many_connections",
            _ => "server",
        };
        let msg = if kind == "timeout" {
            format!(
                "query cancelled after {} (timed out)",
                human_duration(limit)
            )
        } else {
            format!("{}: {}", db.severity(), db.message())
        };
        return (msg, kind);
    }
    let text = error_chain(e);
    let lower = text.to_ascii_lowercase();
    if lower.contains("server does not support tls") {
        ("the server does not offer TLS".into(), "tls")
    } else if lower.contains("tls") || lower.contains("certificate") {
        (text, "tls")
    } else if lower.contains("timed out") || lower.contains("timeout") {
        (
            format!("no answer within {} (timed out)", human_duration(limit)),
            "timeout",
        )
    } else if lower.contains("refused") {
        ("connection refused".into(), "connection_refused")
    } else {
        (text, "connect")
    }
}

/// Log in, run the query and read the connection counts, within `limit`.
pub fn probe(spec: &PostgresSpec, limit: Duration) -> Outcome {
    let mut config = spec.config.clone();
    config.connect_timeout(limit);
    let tls = match Connector::new(&spec.ssl) {
        Ok(t) => t,
        Err(e) => return Outcome::unknown(e),
    };
    let fail = |(msg, kind): (String, &'static str)| {
        let msg = if kind == "connection_refused" {
            let host = match spec.config.get_hosts().first() {
                Some(postgres::config::Host::Tcp(h)) => h.clone(),
                Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
                None => String::new(),
            };
            let port = spec.config.get_ports().first().copied().unwrap_or(5432);
            format!("connection refused at {host}:{port}")
        } else if kind == "tls" {
            let why = tls.refusal().map(|r| format!("TLS handshake failed: {r}"));
            format!("{} ({})", why.unwrap_or(msg), ssl_settings(&spec.ssl))
        } else {
            msg
        };
        Outcome::critical(msg)
            .with("dsn", spec.display.clone())
            .with("sslmode", spec.ssl.mode.name())
            .with("error", kind)
    };
    let t0 = Instant::now();
    let mut client = match config.connect(tls.clone()) {
        Ok(c) => c,
        Err(e) => return fail(describe(&e, limit)),
    };
    let connect_took = t0.elapsed();
    let session = tls.session();
    let t1 = Instant::now();
    let rows = match client.simple_query(&bounded(&spec.query, limit)) {
        Ok(msgs) => msgs,
        Err(e) => {
            let (msg, kind) = describe(&e, limit);
            return fail((format!("query failed: {msg}"), kind))
                .with("connect_ms", duration_ms(connect_took));
        }
    };
    let query_took = t1.elapsed();
    let mut n_rows = 0usize;
    let mut first: Option<Option<String>> = None;
    for m in &rows {
        if let SimpleQueryMessage::Row(r) = m {
            n_rows += 1;
            if first.is_none() {
                first = Some(r.get(0).map(str::to_string));
            }
        }
    }

    let mut v = Verdict::default();
    let mut version = None;
    let mut conns: Option<(i64, i64, i64)> = None;
    match client.simple_query(&bounded(STATS, limit)) {
        Ok(msgs) => {
            for m in msgs {
                if let SimpleQueryMessage::Row(r) = m {
                    version = r.get(0).map(str::to_string);
                    let num = |i: usize| r.get(i).and_then(|s| s.parse::<i64>().ok());
                    if let (Some(max), Some(res), Some(used)) = (num(1), num(2), num(3)) {
                        conns = Some((used, max, res));
                    }
                }
            }
        }
        Err(e) => {
            if spec.max_used_pct.is_some() || spec.warn_used_pct.is_some() {
                v.add(
                    Status::Unknown,
                    format!("cannot read connection counts: {}", describe(&e, limit).0),
                );
            }
        }
    }
    let total = t0.elapsed();
    let mut pct = None;
    if let Some((used, max, _)) = conns {
        let p = if max > 0 {
            (used as f64 * 1000.0 / max as f64).round() / 10.0
        } else {
            100.0
        };
        pct = Some(p);
        if let Some(c) = spec.max_used_pct.filter(|c| p > *c) {
            v.add(
                Status::Critical,
                format!("{used}/{max} connections used ({p}%), over {c}%"),
            );
        } else if let Some(w) = spec.warn_used_pct.filter(|w| p > *w) {
            v.add(
                Status::Warning,
                format!("{used}/{max} connections used ({p}%), over {w}%"),
            );
        }
    } else if spec.max_used_pct.is_some() && v.status() == Status::Ok {
        v.add(Status::Unknown, "connection counts not readable");
    }

    let mut base = format!(
        "PostgreSQL{} answered in {}",
        version
            .as_deref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default(),
        crate::outcome::took(total)
    );
    if let (Some((used, max, _)), Some(p)) = (conns, pct) {
        base.push_str(&format!(", {used}/{max} connections ({p}%)"));
    }
    base.push_str(&match (&session, spec.ssl.mode) {
        (Some(s), _) => format!(
            ", {} ({}: {} verified)",
            s.version,
            spec.ssl.mode.name(),
            spec.ssl.verified()
        ),
        (None, SslMode::Prefer) => {
            ", not encrypted (sslmode=prefer: the server offers no TLS)".to_string()
        }
        (None, _) => ", not encrypted (sslmode=disable)".to_string(),
    });
    let mut o = v
        .outcome(&base)
        .with("dsn", spec.display.clone())
        .with("sslmode", spec.ssl.mode.name())
        .with("encrypted", session.is_some())
        .with("latency_ms", duration_ms(total))
        .with("connect_ms", duration_ms(connect_took))
        .with("query_ms", duration_ms(query_took))
        .with("rows", n_rows);
    if let Some(s) = session {
        o.set("tls_version", s.version);
        o.set("cipher", s.cipher);
        o.set("tls_verified", spec.ssl.verified());
        if let Some(r) = &spec.ssl.rootcert {
            o.set("sslrootcert", r.clone());
        }
    }
    if let Some(Some(val)) = first {
        o.set("value", val);
    }
    if let Some(ver) = version {
        o.set("server_version", ver);
    }
    if let (Some((used, max, reserved)), Some(p)) = (conns, pct) {
        o.set("connections_used", used);
        o.set("connections_max", max);
        o.set("connections_reserved", reserved);
        o.set("connections_used_pct", p);
        o.metric(
            "probe_postgres_connections_used",
            "Client connections open on the server.",
            used as f64,
        );
        o.metric(
            "probe_postgres_connections_max",
            "The server's max_connections.",
            max as f64,
        );
    }
    o.metric(
        "probe_postgres_query_duration_seconds",
        "Time the check's query took, in seconds.",
        query_took.as_secs_f64(),
    );
    o
}
