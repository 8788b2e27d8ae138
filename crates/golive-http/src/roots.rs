//! Trust roots for TLS: a private CA file (`--ca`), or the system's bundle
//! (`SSL_CERT_FILE`, else Debian's /etc/ssl/certs/ca-certificates.crt), or
//! Mozilla's roots compiled in when the system has none. Loaded only when a
//! check speaks TLS, so plain HTTP pays nothing for it.

use std::sync::{Arc, OnceLock};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Where trust comes from.
#[derive(Debug, Clone)]
pub enum Roots {
    /// The system bundle (or Mozilla's roots).
    System,
    /// Only the certificates of this file.
    Ca {
        /// The file as given.
        path: String,
        /// Its certificates.
        certs: Arc<Vec<CertificateDer<'static>>>,
    },
}

impl Roots {
    /// Trust only the certificates in `path` (PEM); an unreadable file or one
    /// without certificates is a usage error.
    pub fn from_ca_file(path: &str) -> Result<Roots, String> {
        Self::from_pem_file(path, "--ca")
    }

    /// The same, with errors naming the setting the file came from
    /// (`sslrootcert /path: …`).
    pub fn from_pem_file(path: &str, setting: &str) -> Result<Roots, String> {
        let certs = read_pem(path).map_err(|e| format!("{setting} {path}: {e}"))?;
        Ok(Roots::Ca {
            path: path.to_string(),
            certs: Arc::new(certs),
        })
    }

    /// A rustls root store.
    pub fn store(&self) -> rustls::RootCertStore {
        let mut store = rustls::RootCertStore::empty();
        match self {
            Roots::Ca { certs, .. } => {
                store.add_parsable_certificates(certs.iter().cloned());
            }
            Roots::System => match system() {
                Some(certs) => {
                    store.add_parsable_certificates(certs.iter().cloned());
                }
                None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            },
        }
        store
    }

    /// The same trust, as ureq wants it.
    pub fn for_ureq(&self) -> ureq::tls::RootCerts {
        let certs = match self {
            Roots::Ca { certs, .. } => Some(certs.as_slice()),
            Roots::System => system().map(Vec::as_slice),
        };
        match certs {
            Some(c) => c
                .iter()
                .map(|d| ureq::tls::Certificate::from_der(d.as_ref()).to_owned())
                .into(),
            None => ureq::tls::RootCerts::WebPki,
        }
    }

    /// The CA file, when one was given.
    pub fn ca_path(&self) -> Option<&str> {
        match self {
            Roots::Ca { path, .. } => Some(path),
            Roots::System => None,
        }
    }
}

fn read_pem(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| e.to_string())?;
    let certs: Vec<_> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the file".into());
    }
    Ok(certs)
}

/// The system bundle, read once.
fn system() -> Option<&'static Vec<CertificateDer<'static>>> {
    static SYSTEM: OnceLock<Option<Vec<CertificateDer<'static>>>> = OnceLock::new();
    SYSTEM
        .get_or_init(|| {
            let from_env = std::env::var("SSL_CERT_FILE").ok();
            let candidates = from_env.into_iter().chain(
                [
                    "/etc/ssl/certs/ca-certificates.crt",
                    "/etc/pki/tls/certs/ca-bundle.crt",
                ]
                .map(String::from),
            );
            candidates
                .filter_map(|p| read_pem(&p).ok())
                .find(|c| !c.is_empty())
        })
        .as_ref()
}
