//! The kinds of check. Each module holds its spec (validated when the plan
//! is built, so bad input is exit 64 before any work starts) and a `probe`
//! function that makes one attempt within a time limit.

pub mod file;
pub mod http;
pub mod pgtls;
pub mod postgres;
pub mod prometheus;
pub mod redis;
pub mod roots;
pub mod smtp;
pub mod tcp;
pub mod tls;

use std::time::Duration;

use crate::outcome::Outcome;

/// What one check does.
#[derive(Debug)]
pub enum Spec {
    /// An HTTP(S) request.
    Http(http::HttpSpec),
    /// A TCP connect.
    Tcp(tcp::TcpSpec),
    /// A TLS handshake and certificate inspection.
    Tls(tls::TlsSpec),
    /// An SMTP session: greeting, EHLO, STARTTLS or TLS, AUTH.
    Smtp(smtp::SmtpSpec),
    /// A PostgreSQL login and query.
    Postgres(postgres::PostgresSpec),
    /// A Redis PING.
    Redis(redis::RedisSpec),
    /// A Prometheus instant query.
    Prometheus(prometheus::PrometheusSpec),
    /// The newest file matching a glob.
    File(file::FileSpec),
}

impl Spec {
    /// The kind's name: `http`, `tcp`, …
    pub fn kind(&self) -> &'static str {
        match self {
            Spec::Http(_) => "http",
            Spec::Tcp(_) => "tcp",
            Spec::Tls(_) => "tls",
            Spec::Smtp(_) => "smtp",
            Spec::Postgres(_) => "postgres",
            Spec::Redis(_) => "redis",
            Spec::Prometheus(_) => "prometheus",
            Spec::File(_) => "file",
        }
    }
}

/// Make one attempt, giving up after `limit`.
pub fn probe(spec: &Spec, limit: Duration) -> Outcome {
    match spec {
        Spec::Http(s) => http::probe(s, limit),
        Spec::Tcp(s) => tcp::probe(s, limit),
        Spec::Tls(s) => tls::probe(s, limit),
        Spec::Smtp(s) => smtp::probe(s, limit),
        Spec::Postgres(s) => postgres::probe(s, limit),
        Spec::Redis(s) => redis::probe(s, limit),
        Spec::Prometheus(s) => prometheus::probe(s, limit),
        Spec::File(s) => file::probe(s, limit),
    }
}

/// Split `host:port` (`[v6]:port` too) and check both parts.
pub fn parse_host_port(s: &str) -> Result<(String, u16), String> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| format!("'{s}' is not HOST:PORT (e.g. [::1]:443)"))?;
        (h.to_string(), p)
    } else {
        let (h, p) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("'{s}' is not HOST:PORT (e.g. db.internal:5432)"))?;
        if h.contains(':') {
            return Err(format!("'{s}': write an IPv6 address as [addr]:port"));
        }
        (h.to_string(), p)
    };
    if host.is_empty() {
        return Err(format!("'{s}' has no host"));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("'{s}' has no valid port (1-65535)"))?;
    Ok((host, port))
}

/// Why a connection could not be made: a sentence and a short kind
/// (`dns`, `connection_refused`, `timeout`, `connect`).
pub type ConnectError = (String, &'static str);

/// Resolve and connect with a timeout, trying each address in turn; the
/// whole call stays within `limit`.
pub fn connect(
    host: &str,
    port: u16,
    limit: Duration,
) -> Result<(std::net::TcpStream, std::net::SocketAddr), ConnectError> {
    use std::net::ToSocketAddrs;
    let deadline = golive_core::Deadline::after(limit);
    let timed_out = || {
        (
            format!(
                "no connection to {host}:{port} within {} (timed out)",
                golive_core::units::human_duration(limit)
            ),
            "timeout",
        )
    };
    let addrs: Vec<std::net::SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| (format!("cannot resolve {host}: {e}"), "dns"))?
        .collect();
    if addrs.is_empty() {
        return Err((format!("{host} resolves to no address"), "dns"));
    }
    let mut last = timed_out();
    for a in &addrs {
        let left = deadline.cap(limit);
        if left.is_zero() {
            return Err(timed_out());
        }
        match std::net::TcpStream::connect_timeout(a, left) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok((s, *a));
            }
            Err(e) => {
                last = match e.kind() {
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => timed_out(),
                    std::io::ErrorKind::ConnectionRefused => {
                        (format!("connection refused by {a}"), "connection_refused")
                    }
                    _ => (format!("cannot connect to {a}: {e}"), "connect"),
                }
            }
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(parse_host_port("db:5432").unwrap(), ("db".into(), 5432));
        assert_eq!(parse_host_port("[::1]:443").unwrap(), ("::1".into(), 443));
        assert!(parse_host_port("db").is_err());
        assert!(parse_host_port("db:0").is_err());
        assert!(parse_host_port(":80").is_err());
        assert!(parse_host_port("::1:443").is_err());
    }
}
