//! PostgreSQL from Debian's `postgresql` package, run as an unprivileged user
//! (PostgreSQL refuses root; CI runs as root).
//!
//! The cluster has a superuser `golive`, an application role `appuser` and a
//! database `minimarket`, all with password (SCRAM) authentication on TCP.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::process::{Proc, run};

/// Password of the superuser `golive`.
pub const SUPERUSER_PASSWORD: &str = "golive-super-pw";
/// Password of the application role `appuser`.
pub const APP_PASSWORD: &str = "app-pw-7f3k2";

/// A running PostgreSQL cluster.
#[derive(Debug)]
pub struct Postgres {
    proc: Proc,
    /// Loopback port.
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    ids: Option<(u32, u32)>,
    _dir: tempfile::TempDir,
}

fn bin_dir() -> PathBuf {
    // Debian keeps server binaries in /usr/lib/postgresql/<major>/bin.
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    majors.sort();
    if let Some((_, bin)) = majors.pop() {
        return bin;
    }
    crate::require("initdb", "postgresql")
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

impl Postgres {
    /// initdb a fresh cluster and start it on a free port.
    pub fn start() -> Postgres {
        Self::start_inner(None)
    }

    /// The same with `ssl = on`, serving `leaf` (plaintext stays allowed:
    /// the client's sslmode decides).
    pub fn start_tls(leaf: &crate::pki::Leaf) -> Postgres {
        Self::start_inner(Some(leaf))
    }

    fn start_inner(tls: Option<&crate::pki::Leaf>) -> Postgres {
        let bin = bin_dir();
        for b in ["initdb", "postgres"] {
            if !bin.join(b).exists() {
                crate::require(b, "postgresql");
            }
        }
        let dir = crate::temp_dir("postgres");
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pwfile");
        crate::write(&pwfile, SUPERUSER_PASSWORD);
        let ids = crate::is_root().then(|| {
            crate::user_ids("postgres")
                .or_else(|| crate::user_ids("nobody"))
                .expect("running as root: need the `postgres` or `nobody` user to run PostgreSQL")
        });
        if let Some((uid, gid)) = ids {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown pg dir");
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).expect("chown pwfile");
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "golive",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .env("LC_ALL", "C");
        as_user(&mut initdb, ids);
        run("initdb", &mut initdb);

        let port = crate::free_port();
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-h", "127.0.0.1"])
            .arg("-k")
            .arg(dir.path())
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=20"])
            .args(["-c", "shared_buffers=16MB", "-c", "logging_collector=off"])
            .env("LC_ALL", "C");
        if let Some(leaf) = tls {
            let own = crate::pki::Pki::private_copy(leaf, dir.path(), ids);
            cmd.args(["-c", "ssl=on"])
                .arg("-c")
                .arg(format!("ssl_cert_file={}", own.cert.display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", own.key.display()));
        }
        as_user(&mut cmd, ids);
        let mut proc = Proc::spawn("postgres", cmd, &dir.path().join("postgres.log"))
            .with_stop_signal(libc::SIGINT);
        proc.wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(30));
        let pg = Postgres {
            proc,
            port,
            bin,
            data,
            ids,
            _dir: dir,
        };
        // Accepting TCP is not yet accepting logins: psql retries until it can.
        let setup = [
            format!("CREATE ROLE appuser LOGIN PASSWORD '{APP_PASSWORD}'"),
            "CREATE DATABASE minimarket OWNER appuser".to_string(),
        ];
        let mut last = String::new();
        for _ in 0..100 {
            let out = pg.psql_output("postgres", &setup[0]);
            match out {
                Ok(_) => {
                    last.clear();
                    break;
                }
                Err(e) if e.contains("starting up") => {
                    last = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("postgres setup: {e}"),
            }
        }
        if !last.is_empty() {
            pg.proc.fail(&format!("never accepted logins: {last}"));
        }
        pg.psql("postgres", &setup[1]);
        pg
    }

    /// URL DSN for `appuser` on `minimarket`.
    pub fn dsn(&self) -> String {
        format!(
            "postgres://appuser:{APP_PASSWORD}@127.0.0.1:{}/minimarket",
            self.port
        )
    }

    /// URL DSN with a given password (to test a wrong one).
    pub fn dsn_with_password(&self, password: &str) -> String {
        format!(
            "postgres://appuser:{password}@127.0.0.1:{}/minimarket",
            self.port
        )
    }

    /// key=value DSN for `appuser` on `minimarket`.
    pub fn keyvalue_dsn(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=appuser password={APP_PASSWORD} dbname=minimarket",
            self.port
        )
    }

    /// Superuser DSN.
    pub fn superuser_dsn(&self) -> String {
        format!(
            "postgres://golive:{SUPERUSER_PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    fn psql_output(&self, db: &str, sql: &str) -> Result<String, String> {
        let psql = crate::require("psql", "postgresql-client");
        let out = Command::new(psql)
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "golive",
                "-d",
                db,
            ])
            .args(["-c", sql])
            .env("PGPASSWORD", SUPERUSER_PASSWORD)
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Run SQL as the superuser in `db`; returns the unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.psql_output(db, sql)
            .unwrap_or_else(|e| panic!("psql {sql:?}: {e}"))
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }

    /// Stop the server (fast shutdown).
    pub fn stop(&mut self) {
        self.proc.stop();
    }

    /// The data directory, and the bin dir of the server used.
    pub fn paths(&self) -> (&PathBuf, &PathBuf) {
        (&self.data, &self.bin)
    }

    /// uid/gid the server runs as when the tests run as root.
    pub fn run_as(&self) -> Option<(u32, u32)> {
        self.ids
    }
}

fn as_user(cmd: &mut Command, ids: Option<(u32, u32)>) {
    if let Some((uid, gid)) = ids {
        // std drops root's supplementary groups when a uid is set.
        cmd.uid(uid).gid(gid).env("HOME", "/tmp");
    }
}
