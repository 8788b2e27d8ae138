//! `probe smtp HOST:PORT [--starttls | --tls]`: the runbook's "email
//! provider tested". The greeting must be 220 and EHLO 250; with
//! `--starttls` the server must offer STARTTLS and the handshake's
//! certificate is judged as `probe tls` judges it (trust, days left); with
//! `--tls` (or port 465) the session is TLS from the first byte. With
//! `PROBE_SMTP_USER` and `PROBE_SMTP_PASSWORD` set, AUTH (PLAIN, else LOGIN)
//! must succeed — only over TLS: a password is never sent in the clear.
//! Nothing is ever mailed: the session ends with QUIT.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine as _;
use golive_core::units::human_duration;
use golive_core::{Deadline, Status, duration_ms};
use serde_json::json;

use super::tls::{self, TlsSpec};
use crate::outcome::{Outcome, Verdict, error_chain};

/// How the session gets its TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// None asked for (whether STARTTLS is offered is reported).
    None,
    /// `STARTTLS` after EHLO, required.
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
}

impl SmtpTls {
    fn name(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Implicit => "implicit",
        }
    }
}

/// An SMTP check.
#[derive(Debug)]
pub struct SmtpSpec {
    /// Host, port, name to verify, days and trust: as `probe tls`.
    pub tls: TlsSpec,
    /// How TLS is reached.
    pub mode: SmtpTls,
    /// The name sent with EHLO.
    pub ehlo: String,
    /// User and password for AUTH (from the environment).
    pub auth: Option<(String, String)>,
}

impl SmtpSpec {
    /// From `HOST:PORT`, the TLS mode (`Implicit` by default on port 465),
    /// the TLS settings and AUTH credentials from `PROBE_SMTP_USER` /
    /// `PROBE_SMTP_PASSWORD`.
    pub fn new(tls: TlsSpec, mode: Option<SmtpTls>, ehlo: Option<String>) -> Result<Self, String> {
        let mode = mode.unwrap_or(if tls.port == 465 {
            SmtpTls::Implicit
        } else {
            SmtpTls::None
        });
        let ehlo = ehlo.unwrap_or_else(|| "golive-probe.localhost".to_string());
        if ehlo.is_empty()
            || ehlo
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(format!("--ehlo '{ehlo}' is not a host name"));
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let auth = match (env("PROBE_SMTP_USER"), env("PROBE_SMTP_PASSWORD")) {
            (Some(u), Some(p)) => {
                golive_core::redact::register(&p);
                Some((u, p))
            }
            (None, None) => None,
            _ => {
                return Err("AUTH needs both PROBE_SMTP_USER and PROBE_SMTP_PASSWORD".to_string());
            }
        };
        Ok(SmtpSpec {
            tls,
            mode,
            ehlo,
            auth,
        })
    }
}

/// The connection, before and after TLS.
enum Wire {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Wire {
    fn socket(&self) -> &TcpStream {
        match self {
            Wire::Plain(s) => s,
            Wire::Tls(t) => &t.sock,
        }
    }
}

/// One session: the wire and what has been read but not yet used.
struct Session {
    wire: Wire,
    buf: Vec<u8>,
    deadline: Deadline,
    limit: Duration,
}

type Fail = (String, &'static str);

/// A reply: its code and its lines' text.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }
}

impl Session {
    fn timed_out(&self) -> Fail {
        (
            format!(
                "no answer within {} (timed out)",
                human_duration(self.limit)
            ),
            "timeout",
        )
    }

    fn arm(&self) -> Result<(), Fail> {
        let left = self.deadline.cap(self.limit);
        if left.is_zero() {
            return Err(self.timed_out());
        }
        let _ = self.wire.socket().set_read_timeout(Some(left));
        let _ = self.wire.socket().set_write_timeout(Some(left));
        Ok(())
    }

    fn io_error(&self, e: std::io::Error) -> Fail {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => self.timed_out(),
            _ => (format!("connection lost: {}", error_chain(&e)), "connect"),
        }
    }

    fn send(&mut self, line: &str) -> Result<(), Fail> {
        self.arm()?;
        let data = format!("{line}\r\n");
        let r = match &mut self.wire {
            Wire::Plain(s) => s.write_all(data.as_bytes()).and_then(|_| s.flush()),
            Wire::Tls(t) => t.write_all(data.as_bytes()).and_then(|_| t.flush()),
        };
        r.map_err(|e| self.io_error(e))
    }

    /// Read one reply (all its lines).
    fn reply(&mut self) -> Result<Reply, Fail> {
        let mut lines = Vec::new();
        loop {
            let line = self.line()?;
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|_| matches!(line.as_bytes().get(3), None | Some(b' ') | Some(b'-')));
            let Some(code) = code else {
                return Err((
                    format!(
                        "not an SMTP reply: {:?}",
                        golive_core::output::printable(&line.chars().take(80).collect::<String>())
                    ),
                    "protocol",
                ));
            };
            lines.push(line.get(4..).unwrap_or_default().trim().to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply { code, lines });
            }
            if lines.len() > 100 {
                return Err(("a reply of more than 100 lines".into(), "protocol"));
            }
        }
    }

    fn line(&mut self) -> Result<String, Fail> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=i).collect();
                let text = String::from_utf8_lossy(&raw);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.buf.len() > 4096 {
                return Err(("a reply line of more than 4 KiB".into(), "protocol"));
            }
            self.arm()?;
            let mut chunk = [0u8; 2048];
            let n = match &mut self.wire {
                Wire::Plain(s) => s.read(&mut chunk),
                Wire::Tls(t) => t.read(&mut chunk),
            }
            .map_err(|e| self.io_error(e))?;
            if n == 0 {
                return Err(("the server closed the connection".into(), "connect"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Send a command and expect `want` (the reply's first digit class).
    fn command(&mut self, line: &str, shown: &str, want: u16) -> Result<Reply, Fail> {
        self.send(line)?;
        let r = self.reply()?;
        if r.code != want {
            return Err((format!("{shown} answered {}", r.text()), "smtp"));
        }
        Ok(r)
    }

    /// TLS over the plain socket (after `220` to STARTTLS, or at once for
    /// SMTPS). Bytes read before it would be a command injection: refused.
    fn handshake(&mut self, spec: &TlsSpec) -> Result<tls::Session, Fail> {
        if !self.buf.is_empty() {
            return Err((
                "the server sent data before the TLS handshake (refused: it could be injected)"
                    .into(),
                "protocol",
            ));
        }
        let Wire::Plain(sock) = &mut self.wire else {
            return Err(("TLS is already on".into(), "protocol"));
        };
        tls::handshake(sock, spec, &self.deadline, self.limit)
    }

    /// Speak through `conn` from now on.
    fn wrap(&mut self, conn: rustls::ClientConnection) -> Result<(), Fail> {
        let sock = self
            .wire
            .socket()
            .try_clone()
            .map_err(|e| self.io_error(e))?;
        self.wire = Wire::Tls(Box::new(rustls::StreamOwned::new(conn, sock)));
        Ok(())
    }
}

/// EHLO's extensions, upper-cased keywords with their parameters.
fn extensions(r: &Reply) -> Vec<String> {
    r.lines
        .iter()
        .skip(1)
        .map(|l| l.trim().to_string())
        .collect()
}

fn offers(ext: &[String], keyword: &str) -> Option<String> {
    ext.iter().find_map(|e| {
        let mut words = e.splitn(2, ' ');
        let k = words.next()?;
        k.eq_ignore_ascii_case(keyword)
            .then(|| words.next().unwrap_or_default().to_ascii_uppercase())
    })
}

/// One SMTP session within `limit`: greeting, EHLO, TLS, AUTH, QUIT.
pub fn probe(spec: &SmtpSpec, limit: Duration) -> Outcome {
    let address = format!("{}:{}", spec.tls.host, spec.tls.port);
    let t0 = Instant::now();
    let fail = |(msg, kind): Fail, figures: Vec<(&str, serde_json::Value)>| {
        if kind == "setup" {
            return Outcome::unknown(msg);
        }
        let mut o = Outcome::critical(msg)
            .with("address", address.clone())
            .with("tls", spec.mode.name())
            .with("error", kind);
        for (k, v) in figures {
            o.set(k, v);
        }
        o
    };
    let (sock, addr) = match super::connect(&spec.tls.host, spec.tls.port, limit) {
        Ok(s) => s,
        Err(e) => return fail(e, vec![]),
    };
    let mut s = Session {
        wire: Wire::Plain(sock),
        buf: Vec::new(),
        deadline: Deadline::after(limit),
        limit,
    };
    let mut v = Verdict::default();
    let mut judged = None;
    let tls_on = |s: &mut Session, v: &mut Verdict| -> Result<tls::Judged, Fail> {
        let session = s.handshake(&spec.tls)?;
        let j = tls::judge(&spec.tls, &session, v)?;
        s.wrap(session.conn)?;
        Ok(j)
    };
    if spec.mode == SmtpTls::Implicit {
        match tls_on(&mut s, &mut v) {
            Ok(j) => judged = Some(j),
            Err(e) => return fail(e, vec![]),
        }
    }
    let greeting = match s.reply() {
        Ok(r) if r.code == 220 => r,
        Ok(r) => return fail((format!("greeting: {}", r.text()), "smtp"), vec![]),
        Err(e) => return fail(e, vec![]),
    };
    let greeting_took = t0.elapsed();
    let banner = greeting.lines.first().cloned().unwrap_or_default();
    let ehlo = format!("EHLO {}", spec.ehlo);
    let mut ext = match s.command(&ehlo, "EHLO", 250) {
        Ok(r) => extensions(&r),
        Err(e) => return fail(e, vec![("banner", json!(banner))]),
    };
    let starttls_offered = offers(&ext, "STARTTLS").is_some();
    if spec.mode == SmtpTls::StartTls {
        if !starttls_offered {
            return fail(
                (
                    "the server does not offer STARTTLS (required by --starttls)".into(),
                    "no_starttls",
                ),
                vec![("banner", json!(banner)), ("extensions", json!(ext))],
            );
        }
        if let Err(e) = s.command("STARTTLS", "STARTTLS", 220) {
            return fail(e, vec![("banner", json!(banner))]);
        }
        match tls_on(&mut s, &mut v) {
            Ok(j) => judged = Some(j),
            Err(e) => return fail(e, vec![("banner", json!(banner))]),
        }
        // RFC 3207: forget what was said before TLS, and ask again.
        ext = match s.command(&ehlo, "EHLO after STARTTLS", 250) {
            Ok(r) => extensions(&r),
            Err(e) => return fail(e, vec![("banner", json!(banner))]),
        };
    }
    let mut auth_result = None;
    if let Some((user, pw)) = &spec.auth {
        let mechanisms = offers(&ext, "AUTH").unwrap_or_default();
        let mechs: Vec<&str> = mechanisms.split_whitespace().collect();
        if judged.is_none() {
            v.add(
                Status::Critical,
                "AUTH not tried: the session is not encrypted (use --starttls or --tls)",
            );
        } else if judged.as_ref().is_some_and(|j| !j.verified) && !spec.tls.insecure {
            v.add(
                Status::Critical,
                "AUTH not tried: the certificate is not trusted",
            );
        } else if mechs.is_empty() {
            v.add(Status::Critical, "the server offers no AUTH");
        } else {
            let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
            let r = if mechs.contains(&"PLAIN") {
                let cred = b64(&format!("\0{user}\0{pw}"));
                golive_core::redact::register(&cred);
                s.command(&format!("AUTH PLAIN {cred}"), "AUTH PLAIN", 235)
                    .map(|_| "PLAIN")
            } else if mechs.contains(&"LOGIN") {
                let (u, p) = (b64(user), b64(pw));
                golive_core::redact::register(&p);
                s.command("AUTH LOGIN", "AUTH LOGIN", 334)
                    .and_then(|_| s.command(&u, "AUTH LOGIN (user)", 334))
                    .and_then(|_| s.command(&p, "AUTH LOGIN (password)", 235))
                    .map(|_| "LOGIN")
            } else {
                Err((
                    format!("no AUTH mechanism golive speaks (offered: {mechanisms})"),
                    "auth",
                ))
            };
            match r {
                Ok(m) => auth_result = Some(m),
                Err((msg, "smtp")) => {
                    v.add(Status::Critical, format!("login refused: {msg}"));
                }
                Err(e) => return fail(e, vec![("banner", json!(banner))]),
            }
        }
    }
    let _ = s.command("QUIT", "QUIT", 221);
    let took = t0.elapsed();

    let mut base = format!(
        "220 {} in {}",
        golive_core::output::printable(&banner),
        crate::outcome::took(took)
    );
    match &judged {
        Some(j) => base.push_str(&format!(
            "; {}{}",
            if spec.mode == SmtpTls::StartTls {
                "STARTTLS: "
            } else {
                ""
            },
            j.summary
        )),
        None if starttls_offered => base.push_str("; STARTTLS offered (not used)"),
        None => base.push_str("; no STARTTLS offered"),
    }
    if let Some(m) = auth_result {
        base.push_str(&format!("; AUTH {m} accepted"));
    }
    let mut o = v
        .outcome(&base)
        .with("address", addr.to_string())
        .with("tls", spec.mode.name())
        .with("latency_ms", duration_ms(took))
        .with("greeting_ms", duration_ms(greeting_took))
        .with("banner", banner)
        .with("starttls_offered", starttls_offered)
        .with("extensions", ext);
    if spec.auth.is_some() {
        o.set("auth", auth_result.unwrap_or("failed"));
    }
    match judged {
        Some(j) => j.decorate(o),
        None => o,
    }
}
