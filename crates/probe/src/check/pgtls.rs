//! TLS for `probe postgres`, with libpq's meaning of `sslmode`:
//!
//! | sslmode     | TLS                        | verified                        |
//! |-------------|----------------------------|---------------------------------|
//! | disable     | never                      | —                               |
//! | prefer      | if the server offers it    | nothing                         |
//! | require     | always                     | nothing (the chain, given `sslrootcert`) |
//! | verify-ca   | always                     | the chain to `sslrootcert`      |
//! | verify-full | always                     | the chain and the host name     |
//!
//! `sslmode` and `sslrootcert` come from the DSN (URL query or key=value)
//! or else from `PGSSLMODE` / `PGSSLROOTCERT`; the default is `prefer`, as
//! with psql. `sslrootcert=system` trusts the system's roots. The handshake
//! is rustls (through tokio-rustls, the one place an async type shows: the
//! postgres crate drives it on its own runtime).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::roots::Roots;
use super::tls::{Enforce, Recorder, version_name};

/// libpq's `sslmode` values that golive supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plaintext only.
    Disable,
    /// TLS if offered, unverified; plaintext otherwise.
    Prefer,
    /// TLS, unverified (or the chain, when a root certificate is given).
    Require,
    /// TLS with a chain to a trusted root.
    VerifyCa,
    /// TLS with a trusted chain for the host name.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            "allow" => {
                return Err(
                    "sslmode=allow (plaintext first) is not supported: use prefer or require"
                        .into(),
                );
            }
            other => {
                return Err(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    /// libpq's spelling.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// The TLS settings of one DSN.
#[derive(Debug, Clone)]
pub struct Ssl {
    /// The mode.
    pub mode: SslMode,
    /// `sslrootcert` as given (a file, or `system`).
    pub rootcert: Option<String>,
    /// Trust roots, loaded when the mode verifies.
    pub roots: Option<Roots>,
    /// What the handshake must prove.
    pub enforce: Enforce,
}

impl Ssl {
    /// What is verified, in words and as the report's `tls_verified`.
    pub fn verified(&self) -> &'static str {
        match self.enforce {
            Enforce::Nothing => "nothing",
            Enforce::Chain => "chain",
            Enforce::Full => "chain and host name",
        }
    }

    /// The mode the postgres crate is told (it knows no verify modes: they
    /// are `require` plus this module's verifier).
    pub fn crate_mode(&self) -> postgres::config::SslMode {
        match self.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        }
    }
}

/// Keys of libpq's that the postgres crate does not know; golive reads the
/// first two and refuses the rest rather than ignore what was asked.
const HANDLED: [&str; 2] = ["sslmode", "sslrootcert"];
const UNSUPPORTED: [&str; 5] = ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"];
/// Accepted and without effect here (rustls speaks TLS 1.2 and 1.3, sends SNI).
const IGNORED: [&str; 4] = [
    "sslsni",
    "sslcompression",
    "ssl_min_protocol_version",
    "gssencmode",
];

/// Split libpq's TLS keys off a DSN (URL or key=value form): returns the DSN
/// the postgres crate can parse, and the TLS settings (the DSN's, else
/// `PGSSLMODE` / `PGSSLROOTCERT`).
pub fn split(dsn: &str) -> Result<(String, Ssl), String> {
    let (rest, mut found) = if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        split_url(dsn)
    } else {
        split_keyvalue(dsn)?
    };
    let mut take = |k: &str| {
        found
            .iter()
            .rposition(|(key, _)| key == k)
            .map(|i| found.remove(i).1)
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mode_text = take("sslmode").or_else(|| env("PGSSLMODE"));
    let rootcert = take("sslrootcert").or_else(|| env("PGSSLROOTCERT"));
    for key in UNSUPPORTED {
        if take(key).is_some() {
            return Err(format!(
                "{key} (client certificates and CRLs) is not supported by probe postgres"
            ));
        }
    }
    let mode = match mode_text {
        Some(m) => SslMode::parse(m.trim())?,
        None => SslMode::Prefer,
    };
    // libpq: with a root certificate (given, or ~/.postgresql/root.crt),
    // `require` verifies the chain too.
    let enforce = match mode {
        SslMode::Disable | SslMode::Prefer => Enforce::Nothing,
        SslMode::Require if rootcert.is_some() || home_root_cert().is_some() => Enforce::Chain,
        SslMode::Require => Enforce::Nothing,
        SslMode::VerifyCa => Enforce::Chain,
        SslMode::VerifyFull => Enforce::Full,
    };
    let roots = if enforce == Enforce::Nothing {
        None
    } else {
        Some(match rootcert.as_deref() {
            Some("system") => Roots::System,
            Some(path) => Roots::from_pem_file(path, "sslrootcert")?,
            None => match home_root_cert() {
                Some(path) => Roots::from_pem_file(&path, "sslrootcert")?,
                None => {
                    return Err(format!(
                        "sslmode={} needs a root certificate: give sslrootcert=FILE (or sslrootcert=system, or PGSSLROOTCERT)",
                        mode.name()
                    ));
                }
            },
        })
    };
    Ok((
        rest,
        Ssl {
            mode,
            rootcert,
            roots,
            enforce,
        },
    ))
}

/// libpq's default root certificate, `~/.postgresql/root.crt`, when it exists.
fn home_root_cert() -> Option<String> {
    let home = std::env::var("HOME").ok()?;
    let p = std::path::Path::new(&home).join(".postgresql/root.crt");
    p.exists().then(|| p.display().to_string())
}

fn is_tls_key(k: &str) -> bool {
    HANDLED.contains(&k) || UNSUPPORTED.contains(&k) || IGNORED.contains(&k)
}

type Pairs = Vec<(String, String)>;

fn split_url(dsn: &str) -> (String, Pairs) {
    let Some((base, query)) = dsn.split_once('?') else {
        return (dsn.to_string(), Vec::new());
    };
    let mut kept = Vec::new();
    let mut found = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        if is_tls_key(k) {
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned();
            found.push((k.to_string(), v));
        } else {
            kept.push(part);
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rest, found)
}

/// libpq's key=value grammar: `key = value`, values bare or in single quotes
/// with `\'` and `\\` escapes.
fn split_keyvalue(dsn: &str) -> Result<(String, Pairs), String> {
    let mut kept: Vec<String> = Vec::new();
    let mut found = Vec::new();
    let mut chars = dsn.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            // Not key=value: leave the whole DSN for the postgres crate to refuse.
            return Ok((dsn.to_string(), Vec::new()));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!("the value of {key} has no closing quote"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    value.extend(chars.next());
                } else {
                    value.push(c);
                    chars.next();
                }
            }
        }
        if is_tls_key(&key) {
            found.push((key, value));
        } else {
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            kept.push(format!("{key}='{quoted}'"));
        }
    }
    Ok((kept.join(" "), found))
}

/// What the handshake negotiated, for the report.
#[derive(Debug, Clone)]
pub struct Session {
    /// `TLS 1.3`, `TLS 1.2`.
    pub version: String,
    /// The cipher suite.
    pub cipher: String,
}

/// The postgres crate's TLS hook: rustls with golive's verifier, keeping
/// what was negotiated.
#[derive(Clone)]
pub struct Connector {
    config: Arc<rustls::ClientConfig>,
    recorder: Arc<Recorder>,
    session: Arc<Mutex<Option<Session>>>,
}

impl Connector {
    /// For these settings.
    pub fn new(ssl: &Ssl) -> Result<Connector, String> {
        let roots = ssl.roots.clone().unwrap_or(Roots::System);
        let recorder = Recorder::new(&roots, ssl.enforce)?;
        let config = Arc::new(recorder.client_config()?);
        Ok(Connector {
            config,
            recorder,
            session: Arc::new(Mutex::new(None)),
        })
    }

    /// The negotiated session, if the connection is encrypted.
    pub fn session(&self) -> Option<Session> {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Why the last handshake's certificate was refused, if it was.
    pub fn refusal(&self) -> Option<String> {
        let (_, verdict) = self.recorder.take()?;
        verdict.err().map(|e| e.to_string())
    }
}

impl<S> MakeTlsConnect<S> for Connector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<Connect> {
        let name = ServerName::try_from(domain.to_string()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{domain}' is not a TLS server name"),
            )
        })?;
        Ok(Connect {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name,
            session: self.session.clone(),
        })
    }
}

/// One handshake to come.
pub struct Connect {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
    session: Arc<Mutex<Option<Session>>>,
}

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let handshake = self.connector.connect(self.name, stream);
        let session = self.session;
        Box::pin(async move {
            let tls = handshake.await?;
            let conn = tls.get_ref().1;
            let s = Session {
                version: conn
                    .protocol_version()
                    .map(version_name)
                    .unwrap_or_default(),
                cipher: conn
                    .negotiated_cipher_suite()
                    .map(|c| format!("{:?}", c.suite()))
                    .unwrap_or_default(),
            };
            *session.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
            Ok(Stream(tls))
        })
    }
}

/// An encrypted connection.
pub struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM without channel binding (libpq's channel_binding=prefer
        // falls back the same way).
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_keys_are_split_off_and_the_rest_kept() {
        let (rest, found) = split_url(
            "postgres://u:p@h:5/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem",
        );
        assert_eq!(rest, "postgres://u:p@h:5/db?application_name=x");
        assert_eq!(
            found,
            vec![
                ("sslmode".into(), "verify-full".into()),
                ("sslrootcert".into(), "/tmp/ca.pem".into())
            ]
        );
        let (rest, found) = split_url("postgres://h/db?sslmode=require");
        assert_eq!(rest, "postgres://h/db");
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn keyvalue_keys_are_split_off_with_quotes_kept() {
        let (rest, found) = split_keyvalue(
            "host=h  password='it\\'s a pw' sslmode = verify-ca sslrootcert='/a b/ca.pem' dbname=d",
        )
        .unwrap();
        assert_eq!(rest, "host='h' password='it\\'s a pw' dbname='d'");
        assert_eq!(
            found,
            vec![
                ("sslmode".into(), "verify-ca".into()),
                ("sslrootcert".into(), "/a b/ca.pem".into())
            ]
        );
        assert!(split_keyvalue("host=h password='open").is_err());
    }

    #[test]
    fn modes_are_libpqs() {
        for (m, enforce) in [
            ("disable", Enforce::Nothing),
            ("prefer", Enforce::Nothing),
            ("require", Enforce::Nothing),
        ] {
            let (_, ssl) = split(&format!("host=h sslmode={m}")).unwrap();
            assert_eq!(ssl.mode.name(), m);
            assert_eq!(ssl.enforce, enforce);
        }
        let (_, ssl) = split("host=h sslmode=verify-full sslrootcert=system").unwrap();
        assert_eq!(ssl.enforce, Enforce::Full);
        assert!(
            split("host=h sslmode=allow")
                .unwrap_err()
                .contains("prefer")
        );
        assert!(
            split("host=h sslmode=sometimes")
                .unwrap_err()
                .contains("verify-full")
        );
        assert!(
            split("host=h sslcert=/c.pem")
                .unwrap_err()
                .contains("not supported")
        );
        let e = split("host=h sslmode=verify-ca sslrootcert=/nonexistent/ca.pem").unwrap_err();
        assert!(e.starts_with("sslrootcert /nonexistent/ca.pem:"), "{e}");
    }
}
