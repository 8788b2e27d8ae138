//! pgbouncer from Debian's `pgbouncer` package in front of a testkit
//! [`Postgres`], run as the same unprivileged user (pgbouncer refuses root).
//! It serves `minimarket` to `appuser` and `golive` with SCRAM, in the pool
//! mode asked for; `golive` is also its admin (`SHOW POOLS`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::postgres::{APP_PASSWORD, Postgres, SUPERUSER_PASSWORD};
use crate::process::Proc;

/// A running pgbouncer.
#[derive(Debug)]
pub struct Pgbouncer {
    proc: Proc,
    /// Loopback port.
    pub port: u16,
    /// `session`, `transaction` or `statement`.
    pub pool_mode: String,
    _dir: tempfile::TempDir,
}

impl Pgbouncer {
    /// Start pgbouncer for `pg` with `pool_mode` (and Debian's defaults
    /// otherwise: no `ignore_startup_parameters`).
    pub fn start(pg: &Postgres, pool_mode: &str) -> Pgbouncer {
        let bin = crate::require("pgbouncer", "pgbouncer");
        let dir = crate::temp_dir("pgbouncer");
        let port = crate::free_port();
        let d = dir.path();
        crate::write(
            &d.join("userlist.txt"),
            &format!("\"appuser\" \"{APP_PASSWORD}\"\n\"golive\" \"{SUPERUSER_PASSWORD}\"\n"),
        );
        let ini: PathBuf = d.join("pgbouncer.ini");
        crate::write(
            &ini,
            &format!(
                "[databases]\nminimarket = host=127.0.0.1 port={pg} dbname=minimarket\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = scram-sha-256\nauth_file = {users}\npool_mode = {pool_mode}\nadmin_users = golive\nmax_client_conn = 50\ndefault_pool_size = 4\npidfile =\nlogfile =\n",
                pg = pg.port,
                users = d.join("userlist.txt").display(),
            ),
        );
        let mut cmd = Command::new(bin);
        cmd.arg(&ini);
        if let Some((uid, gid)) = pg.run_as() {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid).env("HOME", "/tmp");
        }
        let mut proc = Proc::spawn("pgbouncer", cmd, &d.join("pgbouncer.log"));
        proc.wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(20));
        Pgbouncer {
            proc,
            port,
            pool_mode: pool_mode.to_string(),
            _dir: dir,
        }
    }

    /// URL DSN for `appuser` on `minimarket` through the pooler.
    pub fn dsn(&self) -> String {
        format!(
            "postgres://appuser:{APP_PASSWORD}@127.0.0.1:{}/minimarket",
            self.port
        )
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}
