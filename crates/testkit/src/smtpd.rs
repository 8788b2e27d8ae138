//! SMTP servers for `probe smtp`.
//!
//! [`Smtpd`] is OpenSMTPD from Debian's `opensmtpd` package. Debian 12's
//! 6.8 cannot finish a TLS handshake under OpenSSL 3 (its privilege-separated
//! signing fails: "EVP lib", upstream OpenSMTPD issues #1171 and #1239), so
//! it serves what it can: a `plain` listener that offers no STARTTLS, and a
//! `starttls` one that offers it and then fails every handshake — a real
//! broken-TLS mail server.
//!
//! [`MailServer`] is aiosmtpd (Debian's `python3-aiosmtpd`, an RFC 5321
//! server) for working TLS: STARTTLS and SMTPS with a certificate from a
//! test CA and AUTH for [`USER`], and STARTTLS with an expired certificate.
//!
//! smtpd must start as root (it drops privileges itself) and keeps its
//! queue and control socket at fixed system paths, so only one runs at a
//! time: a file lock serialises every test that starts one, across test
//! processes.

use std::process::Command;
use std::time::Duration;

use crate::pki::Pki;
use crate::process::Proc;

/// The AUTH user.
pub const USER: &str = "alerts";
/// Its password.
pub const PASSWORD: &str = "smtp-pw-6a0d2e";

/// A running OpenSMTPD.
#[derive(Debug)]
pub struct Smtpd {
    proc: Proc,
    /// Offers STARTTLS; every handshake fails (see the module's text).
    pub starttls: u16,
    /// No TLS offered.
    pub plain: u16,
    _lock: std::fs::File,
    _dir: tempfile::TempDir,
}

impl Smtpd {
    /// Start smtpd (waiting for any other test's to stop first).
    pub fn start() -> Smtpd {
        let bin = crate::require("smtpd", "opensmtpd");
        assert!(
            crate::is_root(),
            "OpenSMTPD must be started as root (it drops privileges itself): run the tests as root, as CI does"
        );
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(std::env::temp_dir().join("golive-testkit-smtpd.lock"))
            .expect("open the smtpd lock file");
        lock.lock().expect("take the smtpd lock");
        let dir = crate::temp_dir("smtpd");
        let d = dir.path();
        let pki = Pki::new();
        let good = Pki::private_copy(&pki.localhost(), d, None);
        let ports = [(); 2].map(|_| crate::free_port());
        let [starttls, plain] = ports;
        let conf = format!(
            "pki good cert \"{gc}\"\npki good key \"{gk}\"\n\
             listen on 127.0.0.1 port {starttls} tls pki good\n\
             listen on 127.0.0.1 port {plain}\n\
             action \"local\" mbox\nmatch from any for local action \"local\"\n",
            gc = good.cert.display(),
            gk = good.key.display(),
        );
        let conf_path = d.join("smtpd.conf");
        crate::write(&conf_path, &conf);
        let mut cmd = Command::new(bin);
        cmd.arg("-d").arg("-f").arg(&conf_path);
        let mut proc = Proc::spawn("smtpd", cmd, &d.join("smtpd.log"));
        for p in ports {
            proc.wait_tcp(([127, 0, 0, 1], p).into(), Duration::from_secs(20));
        }
        Smtpd {
            proc,
            starttls,
            plain,
            _lock: lock,
            _dir: dir,
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        // Stopped before the lock is released (fields drop after this).
        self.proc.stop();
    }
}

/// aiosmtpd, configured by this script: STARTTLS + AUTH, SMTPS + AUTH, and
/// STARTTLS with the expired certificate, each on its port.
const AIOSMTPD: &str = r#"
import signal, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

starttls, smtps, expired, cert, key, old_cert, old_key, user, password = sys.argv[1:]

class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

def authenticator(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
    return AuthResult(success=ok, handled=False)

def context(c, k):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(c, k)
    return ctx

servers = [
    Controller(Sink(), hostname="127.0.0.1", port=int(starttls), tls_context=context(cert, key),
               authenticator=authenticator, auth_require_tls=True, ident="golive-test ESMTP aiosmtpd"),
    Controller(Sink(), hostname="127.0.0.1", port=int(smtps), ssl_context=context(cert, key),
               authenticator=authenticator, auth_require_tls=False, ident="golive-test ESMTP aiosmtpd"),
    Controller(Sink(), hostname="127.0.0.1", port=int(expired), tls_context=context(old_cert, old_key),
               ident="golive-test ESMTP aiosmtpd"),
]
for s in servers:
    s.start()
print("ready", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
for s in servers:
    s.stop()
"#;

/// A running aiosmtpd with working TLS.
#[derive(Debug)]
pub struct MailServer {
    proc: Proc,
    /// STARTTLS with a valid certificate; AUTH (only after STARTTLS).
    pub starttls: u16,
    /// TLS from the first byte, valid certificate, AUTH.
    pub smtps: u16,
    /// STARTTLS with a certificate that expired a day ago.
    pub expired: u16,
    /// The CA that signed the certificates.
    pub pki: Pki,
    _dir: tempfile::TempDir,
}

impl MailServer {
    /// Start it on three free ports.
    pub fn start() -> MailServer {
        // Debian's interpreter: the package lives in its dist-packages.
        let python = std::path::Path::new("/usr/bin/python3");
        let has = python.exists()
            && Command::new(python)
                .args(["-c", "import aiosmtpd"])
                .output()
                .is_ok_and(|o| o.status.success());
        assert!(
            has,
            "aiosmtpd not found for /usr/bin/python3: the tests need the Debian package `python3-aiosmtpd`. Run `make deps` (as root) to install every server the tests use."
        );
        let dir = crate::temp_dir("aiosmtpd");
        let d = dir.path();
        let pki = Pki::new();
        let good = pki.localhost();
        pki.leaf("old", 30, "DNS:localhost,IP:127.0.0.1");
        let old = pki.resign("old", -1, "expired");
        let script = d.join("server.py");
        crate::write(&script, AIOSMTPD);
        let ports = [(); 3].map(|_| crate::free_port());
        let mut cmd = Command::new(python);
        cmd.arg(&script)
            .args(ports.map(|p| p.to_string()))
            .args([&good.cert, &good.key, &old.cert, &old.key])
            .args([USER, PASSWORD]);
        let mut proc = Proc::spawn("aiosmtpd", cmd, &d.join("aiosmtpd.log"));
        for p in ports {
            proc.wait_tcp(([127, 0, 0, 1], p).into(), Duration::from_secs(20));
        }
        let [starttls, smtps, expired] = ports;
        MailServer {
            proc,
            starttls,
            smtps,
            expired,
            pki,
            _dir: dir,
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}
