//! testkit: real servers for golive's tests and its demo.
//!
//! Every server starts from the Debian package's binary on a free loopback
//! port in its own temp dir, and stops when its handle is dropped. A missing
//! binary fails the test with a message naming `make deps`; nothing skips.
//!
//! Hand-made servers ([`faults`]) exist only for faults a real server will not
//! produce on demand (accepts and never answers, garbage bodies, fixed delays),
//! and they are real sockets.

pub mod alertmanager;
pub mod cli;
pub mod deadline;
pub mod exporters;
pub mod faults;
pub mod haproxy;
pub mod knot;
pub mod launch;
pub mod nginx;
pub mod pgbouncer;
pub mod pki;
pub mod postgres;
pub mod process;
pub mod prometheus;
#[cfg(feature = "props")]
pub mod props;
pub mod redis;
pub mod schema;
pub mod sink;
pub mod smtpd;
pub mod unbound;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};

pub use faults::{ConnectProxy, GarbageHttp, SilentListener, SlowHttp};
pub use nginx::Nginx;
pub use postgres::Postgres;
pub use process::Proc;
pub use prometheus::Prometheus;
pub use redis::Redis;

/// A loopback port that was free a moment ago (TCP and UDP both).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = tcp.local_addr().expect("local addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port for TCP and UDP");
}

/// Find a server binary on PATH or in the usual Debian places; fail the test
/// naming the package and `make deps` when it is missing.
pub fn require(bin: &str, package: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from));
    for d in dirs {
        let p = d.join(bin);
        if is_executable(&p) {
            return p;
        }
    }
    panic!(
        "`{bin}` not found: the tests need the Debian package `{package}`. Run `make deps` (as root) to install every server the tests use."
    );
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A temp dir other users can traverse (servers that drop privileges must
/// reach their files), removed on drop.
pub fn temp_dir(prefix: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix(&format!("golive-{prefix}-"))
        .tempdir()
        .expect("create temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod temp dir");
    dir
}

/// Whether this process runs as root (CI does).
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// uid and gid of a system user, read from /etc/passwd.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

/// Write a file, panicking with the path on failure.
pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A blocking HTTP GET on loopback for readiness checks: (status, body), or
/// `None` when it failed. One write, no Nagle delay ([`haproxy::get`]).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    haproxy::get(port, path).ok()
}
