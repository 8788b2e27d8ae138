//! Certificates for TLS tests, made by the openssl CLI: a private CA and
//! leaves it signs (valid, expiring soon, expired, or for another name).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private CA in a temp dir.
#[derive(Debug)]
pub struct Pki {
    dir: tempfile::TempDir,
}

/// A certificate and its key.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM private key (unencrypted).
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let bin = crate::require("openssl", "openssl");
    crate::process::run("openssl", Command::new(bin).current_dir(dir).args(args));
}

impl Pki {
    /// A new CA (`CN=golive test CA`), valid a year.
    pub fn new() -> Pki {
        let dir = crate::temp_dir("pki");
        let d = dir.path();
        crate::write(
            &d.join("ca.cnf"),
            "[req]\ndistinguished_name=dn\nx509_extensions=v3_ca\nprompt=no\n[dn]\nCN=golive test CA\n[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n",
        );
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "365",
                "-config",
                "ca.cnf",
            ],
        );
        Pki { dir }
    }

    /// The folder holding every file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path in the folder.
    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// The CA certificate (PEM), as a string for command lines.
    pub fn ca(&self) -> String {
        self.path("ca.pem").display().to_string()
    }

    /// A leaf named `name` signed by the CA, valid `days` from now (a
    /// negative number makes one that has expired), for `san`
    /// (`DNS:localhost,IP:127.0.0.1`).
    pub fn leaf(&self, name: &str, days: i32, san: &str) -> Leaf {
        let d = self.dir.path();
        crate::write(
            &d.join(format!("{name}.ext")),
            &format!(
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName={san}\n"
            ),
        );
        let (key, csr) = (format!("{name}.key"), format!("{name}.csr"));
        if !d.join(&key).exists() {
            openssl(
                d,
                &[
                    "req",
                    "-new",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    &key,
                    "-out",
                    &csr,
                    "-subj",
                    &format!("/CN={name}.golive.test"),
                ],
            );
        }
        self.resign(name, days, name)
    }

    /// A leaf for localhost and 127.0.0.1, valid 90 days.
    pub fn localhost(&self) -> Leaf {
        self.leaf("localhost", 90, "DNS:localhost,IP:127.0.0.1")
    }

    /// The same key and name as `leaf`, signed again with other dates
    /// (`days` below zero: expired that many days ago, roughly).
    pub fn resign(&self, leaf: &str, days: i32, as_name: &str) -> Leaf {
        let d = self.dir.path();
        let days = days.to_string();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{leaf}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                &days,
                "-extfile",
                &format!("{leaf}.ext"),
                "-out",
                &format!("{as_name}.pem"),
            ],
        );
        Leaf {
            cert: d.join(format!("{as_name}.pem")),
            key: d.join(format!("{leaf}.key")),
        }
    }

    /// Copies of a leaf's files that `owner` can read and nobody else
    /// (PostgreSQL and OpenSMTPD refuse a key others can read).
    pub fn private_copy(leaf: &Leaf, into: &Path, owner: Option<(u32, u32)>) -> Leaf {
        use std::os::unix::fs::PermissionsExt;
        let copy = |from: &Path, mode: u32| {
            let to = into.join(from.file_name().expect("a file name"));
            std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode))
                .expect("chmod key");
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&to, Some(uid), Some(gid)).expect("chown key");
            }
            to
        };
        Leaf {
            cert: copy(&leaf.cert, 0o644),
            key: copy(&leaf.key, 0o600),
        }
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}
