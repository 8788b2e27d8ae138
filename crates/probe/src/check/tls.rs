//! `probe tls HOST:PORT`: a TLS handshake that verifies the chain and the
//! host name, and reports the leaf and the earliest-expiring certificate —
//! the runbook's "SSL certificates installed and validated".

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use golive_core::units::human_duration;
use golive_core::{Status, duration_ms};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{Map, Value, json};

use super::roots::Roots;
use crate::outcome::{Outcome, Verdict, error_chain};

/// Days left below which a certificate is a WARNING, by default.
pub const DEFAULT_WARN_DAYS: u32 = 30;
/// Days left below which a certificate is CRITICAL, by default.
pub const DEFAULT_CRIT_DAYS: u32 = 7;

/// A TLS check.
#[derive(Debug)]
pub struct TlsSpec {
    /// Host to connect to.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Name to send (SNI) and verify; the host by default.
    pub server_name: String,
    /// Fewer days left than this is a WARNING.
    pub warn_days: u32,
    /// Fewer days left than this is CRITICAL.
    pub crit_days: u32,
    /// Trust roots.
    pub roots: Roots,
    /// Report, but do not judge, chain and host name.
    pub insecure: bool,
}

impl TlsSpec {
    /// From `HOST:PORT` and options.
    pub fn new(
        address: &str,
        server_name: Option<String>,
        warn_days: Option<u32>,
        crit_days: Option<u32>,
        roots: Roots,
        insecure: bool,
    ) -> Result<Self, String> {
        let (host, port) = super::parse_host_port(address)?;
        let server_name = server_name.unwrap_or_else(|| host.clone());
        ServerName::try_from(server_name.clone())
            .map_err(|_| format!("'{server_name}' is not a valid TLS server name"))?;
        let warn_days = warn_days.unwrap_or(DEFAULT_WARN_DAYS);
        let crit_days = crit_days.unwrap_or(DEFAULT_CRIT_DAYS.min(warn_days));
        if crit_days > warn_days {
            return Err(format!(
                "--crit-days {crit_days} is more than --warn-days {warn_days}"
            ));
        }
        Ok(TlsSpec {
            host,
            port,
            server_name,
            warn_days,
            crit_days,
            roots,
            insecure,
        })
    }
}

/// What a handshake must prove before it may finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforce {
    /// Nothing: finish whatever the chain looks like (and describe it after).
    Nothing,
    /// A chain to a trusted root; any host name (libpq's `verify-ca`).
    Chain,
    /// A trusted chain for the host name (libpq's `verify-full`).
    Full,
}

/// Verifies with webpki and remembers the chain and what verification said,
/// so an expired or mismatched certificate can still be described; what it
/// refuses in the handshake itself is set by [`Enforce`].
#[derive(Debug)]
pub struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    enforce: Enforce,
    seen: Mutex<Option<Seen>>,
}

/// The chain the server presented, and what verification said of it.
pub type Seen = (Vec<CertificateDer<'static>>, Result<(), rustls::Error>);

impl Recorder {
    /// A verifier over `roots` that refuses what `enforce` demands.
    pub fn new(roots: &Roots, enforce: Enforce) -> Result<Arc<Recorder>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots.store()), provider)
            .build()
            .map_err(|e| format!("no usable trust roots: {e}"))?;
        Ok(Arc::new(Recorder {
            inner,
            enforce,
            seen: Mutex::new(None),
        }))
    }

    /// A client configuration that verifies through this recorder.
    pub fn client_config(self: &Arc<Self>) -> Result<rustls::ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(self.clone())
            .with_no_client_auth())
    }

    /// The chain seen in the last handshake, and what verification said.
    pub fn take(&self) -> Option<Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// A host-name mismatch, which `verify-ca` forgives.
fn name_mismatch(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. }
        )
    )
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        let refuse = match (&verdict, self.enforce) {
            (Ok(()), _) | (Err(_), Enforce::Nothing) => None,
            (Err(e), Enforce::Chain) if name_mismatch(e) => None,
            (Err(e), _) => Some(e.clone()),
        };
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some((chain, verdict));
        match refuse {
            Some(e) => Err(e),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// What one certificate says.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// DNS names and IP addresses it is valid for.
    pub sans: Vec<String>,
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
}

impl CertInfo {
    /// Parse a DER certificate.
    pub fn parse(der: &[u8]) -> Result<CertInfo, String> {
        let (_, c) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("unparsable certificate: {e}"))?;
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = c.subject_alternative_name() {
            for n in &ext.value.general_names {
                match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => sans.push(d.to_string()),
                    x509_parser::extensions::GeneralName::IPAddress(b) => {
                        if let Ok(a) = <[u8; 4]>::try_from(*b) {
                            sans.push(std::net::Ipv4Addr::from(a).to_string());
                        } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                            sans.push(std::net::Ipv6Addr::from(a).to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        let at = |ts: i64| {
            if ts >= 0 {
                UNIX_EPOCH + Duration::from_secs(ts as u64)
            } else {
                UNIX_EPOCH
            }
        };
        Ok(CertInfo {
            subject: c.subject().to_string(),
            issuer: c.issuer().to_string(),
            sans,
            serial: c.raw_serial_as_string(),
            not_before: at(c.validity().not_before.timestamp()),
            not_after: at(c.validity().not_after.timestamp()),
        })
    }

    /// Whole days until expiry; once expired, minus the whole days since
    /// (at least −1, so a negative number always means expired), the same
    /// number the message gives: `expired 12 days ago` is `days_left: -12`.
    pub fn days_left(&self, now: SystemTime) -> i64 {
        match self.not_after.duration_since(now) {
            Ok(d) => (d.as_secs() / 86_400) as i64,
            Err(e) => -((e.duration().as_secs() / 86_400).max(1) as i64),
        }
    }

    /// How long ago it expired, for people: `1 day`, `12 days`, or
    /// `3h20m` within the first day (whole days match `days_left`).
    pub fn expired_for(&self, now: SystemTime) -> String {
        let secs = now
            .duration_since(self.not_after)
            .unwrap_or_default()
            .as_secs();
        match secs / 86_400 {
            0 => human_duration(Duration::from_secs(secs)),
            1 => "1 day".into(),
            d => format!("{d} days"),
        }
    }

    fn json(&self, now: SystemTime, full: bool) -> Value {
        let mut m = Map::new();
        m.insert("subject".into(), json!(self.subject));
        if full {
            m.insert("issuer".into(), json!(self.issuer));
            m.insert("sans".into(), json!(self.sans));
            m.insert("serial".into(), json!(self.serial));
            m.insert(
                "not_before".into(),
                json!(golive_core::rfc3339(self.not_before)),
            );
        }
        m.insert(
            "not_after".into(),
            json!(golive_core::rfc3339(self.not_after)),
        );
        m.insert("days_left".into(), json!(self.days_left(now)));
        Value::Object(m)
    }
}

pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".into(),
        other => format!("{other:?}"),
    }
}

/// A finished handshake: the connection and what its verifier saw.
pub struct Session {
    /// The rustls connection (for wrapping the socket in a stream).
    pub conn: rustls::ClientConnection,
    recorder: Arc<Recorder>,
}

/// Handshake over `sock` (already connected; `STARTTLS` already agreed for
/// SMTP), finishing whatever the chain looks like, within `deadline`.
pub fn handshake(
    sock: &mut std::net::TcpStream,
    spec: &TlsSpec,
    deadline: &golive_core::Deadline,
    limit: Duration,
) -> Result<Session, (String, &'static str)> {
    let setup = |e: String| (e, "setup");
    let recorder = Recorder::new(&spec.roots, Enforce::Nothing).map_err(setup)?;
    let config = recorder.client_config().map_err(setup)?;
    let name = ServerName::try_from(spec.server_name.clone())
        .map_err(|_| setup(format!("'{}' is not a TLS server name", spec.server_name)))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| setup(format!("TLS setup: {e}")))?;
    let timed_out = || {
        (
            format!(
                "no TLS handshake within {} (timed out)",
                human_duration(limit)
            ),
            "timeout",
        )
    };
    while conn.is_handshaking() {
        let left = deadline.cap(limit);
        if left.is_zero() {
            return Err(timed_out());
        }
        let _ = sock.set_read_timeout(Some(left));
        let _ = sock.set_write_timeout(Some(left));
        if let Err(e) = conn.complete_io(sock) {
            return Err(match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => timed_out(),
                std::io::ErrorKind::UnexpectedEof => (
                    "the server closed the connection during the TLS handshake".into(),
                    "handshake",
                ),
                _ => (
                    format!("TLS handshake failed: {}", error_chain(&e)),
                    "handshake",
                ),
            });
        }
    }
    Ok(Session { conn, recorder })
}

/// What a handshake's certificates say, judged by `spec`'s days and trust.
pub struct Judged {
    /// `TLS 1.3 to api.example.com: CN=… expires 2027-01-01 (31 days)`.
    pub summary: String,
    /// Whether the chain and the name were verified.
    pub verified: bool,
    fields: Vec<(&'static str, Value)>,
    expiry: (f64, f64),
    version: String,
}

impl Judged {
    /// Add the figures and the samples to `o`.
    pub fn decorate(self, mut o: Outcome) -> Outcome {
        for (k, v) in self.fields {
            o.set(k, v);
        }
        o.metric(
            "probe_ssl_earliest_cert_expiry",
            "Unix time the earliest-expiring certificate of the chain expires.",
            self.expiry.0,
        );
        o.metric(
            "probe_ssl_leaf_cert_expiry",
            "Unix time the leaf certificate expires.",
            self.expiry.1,
        );
        o.metric_labelled(
            "probe_tls_version_info",
            "The negotiated TLS version.",
            vec![("version", self.version)],
            1.0,
        );
        o
    }
}

/// Judge the chain `session` saw into `v`: trust (unless insecure), days
/// left against the thresholds.
pub fn judge(
    spec: &TlsSpec,
    session: &Session,
    v: &mut Verdict,
) -> Result<Judged, (String, &'static str)> {
    let conn = &session.conn;
    let version = conn
        .protocol_version()
        .map(version_name)
        .unwrap_or_default();
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let Some((chain, verified)) = session.recorder.take() else {
        return Err(("the server sent no certificate".into(), "no_certificate"));
    };
    let now = SystemTime::now();
    let mut infos = Vec::new();
    for der in &chain {
        infos.push(CertInfo::parse(der).map_err(|e| (e, "certificate"))?);
    }
    let leaf = &infos[0];
    let earliest = infos.iter().min_by_key(|i| i.not_after).unwrap_or(leaf);
    let days = earliest.days_left(now);

    let verify_error = verified.as_ref().err().map(|e| e.to_string());
    if let Some(e) = &verify_error
        && !spec.insecure
    {
        v.add(Status::Critical, format!("not trusted: {e}"));
    }
    let which = if std::ptr::eq(earliest, leaf) {
        "certificate".to_string()
    } else {
        format!("chain certificate {}", earliest.subject)
    };
    if days < 0 {
        v.add(
            Status::Critical,
            format!("{which} expired {} ago", earliest.expired_for(now)),
        );
    } else if days < spec.crit_days as i64 {
        v.add(
            Status::Critical,
            format!("{which} expires in {days} days (under {})", spec.crit_days),
        );
    } else if days < spec.warn_days as i64 {
        v.add(
            Status::Warning,
            format!("{which} expires in {days} days (under {})", spec.warn_days),
        );
    }
    if spec.insecure {
        v.add(Status::Ok, "chain and host name not verified (--insecure)");
    }
    let leaf_days = leaf.days_left(now);
    let summary = format!(
        "{version} to {}: {} {} {}{}",
        spec.server_name,
        if leaf.subject.is_empty() {
            "the certificate"
        } else {
            leaf.subject.as_str()
        },
        if leaf_days < 0 { "expired" } else { "expires" },
        golive_core::rfc3339(leaf.not_after)
            .get(..10)
            .unwrap_or_default(),
        if leaf_days < 0 {
            String::new()
        } else {
            format!(" ({leaf_days} days)")
        },
    );
    let mut fields: Vec<(&'static str, Value)> = vec![
        ("server_name", json!(spec.server_name)),
        ("tls_version", json!(version)),
        ("cipher", json!(cipher)),
        ("verified", json!(verify_error.is_none())),
        ("insecure", json!(spec.insecure)),
    ];
    if let Some(e) = &verify_error {
        fields.push(("verify_error", json!(e)));
    }
    if let Some(ca) = spec.roots.ca_path() {
        fields.push(("ca", json!(ca)));
    }
    fields.extend([
        ("days_left", json!(days)),
        ("warn_days", json!(spec.warn_days)),
        ("crit_days", json!(spec.crit_days)),
        ("chain_length", json!(infos.len())),
        ("leaf", leaf.json(now, true)),
        ("earliest", earliest.json(now, false)),
    ]);
    Ok(Judged {
        summary,
        verified: verify_error.is_none(),
        fields,
        expiry: (
            golive_core::units::unix_secs(earliest.not_after),
            golive_core::units::unix_secs(leaf.not_after),
        ),
        version,
    })
}

/// Handshake once within `limit` and judge the certificates.
pub fn probe(spec: &TlsSpec, limit: Duration) -> Outcome {
    let address = format!("{}:{}", spec.host, spec.port);
    let fail = |(msg, kind): (String, &str)| {
        if kind == "setup" {
            return Outcome::unknown(msg);
        }
        Outcome::critical(msg)
            .with("address", address.clone())
            .with("server_name", spec.server_name.clone())
            .with("insecure", spec.insecure)
            .with("error", kind)
    };
    let t0 = Instant::now();
    let deadline = golive_core::Deadline::after(limit);
    let (mut sock, addr) = match super::connect(&spec.host, spec.port, limit) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let session = match handshake(&mut sock, spec, &deadline, limit) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let took = t0.elapsed();
    let mut v = Verdict::default();
    let judged = match judge(spec, &session, &mut v) {
        Ok(j) => j,
        Err(e) => return fail(e),
    };
    let o = v
        .outcome(&judged.summary)
        .with("address", addr.to_string())
        .with("latency_ms", duration_ms(took));
    judged.decorate(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_floors_and_goes_negative() {
        let now = SystemTime::now();
        let c = |secs_ahead: i64| CertInfo {
            subject: String::new(),
            issuer: String::new(),
            sans: vec![],
            serial: String::new(),
            not_before: UNIX_EPOCH,
            not_after: if secs_ahead >= 0 {
                now + Duration::from_secs(secs_ahead as u64)
            } else {
                now - Duration::from_secs((-secs_ahead) as u64)
            },
        };
        assert_eq!(c(86_400 * 3 + 100).days_left(now), 3);
        assert_eq!(c(100).days_left(now), 0);
        assert_eq!(c(-100).days_left(now), -1);
        assert_eq!(c(-100).expired_for(now), "1m40s");
        assert_eq!(c(-86_400 - 5).days_left(now), -1);
        assert_eq!(c(-86_400 * 2495 - 40_000).days_left(now), -2495);
        assert_eq!(c(-86_400 * 2495 - 40_000).expired_for(now), "2495 days");
        assert_eq!(c(-86_400 - 5).expired_for(now), "1 day");
        assert_eq!(c(-86_400 * 12 - 5).expired_for(now), "12 days");
    }

    #[test]
    fn crit_days_cannot_exceed_warn_days() {
        assert!(TlsSpec::new("h:443", None, Some(5), Some(10), Roots::System, false).is_err());
        let s = TlsSpec::new("h:443", None, Some(3), None, Roots::System, false).unwrap();
        assert_eq!((s.warn_days, s.crit_days), (3, 3));
    }
}
