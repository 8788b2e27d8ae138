//! End-to-end scenarios: `scripts/golive-launch.sh` and
//! `scripts/golive-rollback.sh` chaining the four binaries against a real
//! service ([`testkit::launch::Lab`]).
//!
//! The binaries are the workspace's own debug builds beside this test's
//! executable (`make test` builds them all before running any test).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use testkit::launch::{Lab, NEW_IP, OLD_IP, script, show};

/// The directory holding the workspace's binaries (target/debug).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps")
        .to_path_buf();
    testkit::launch::check_bins(&dir);
    dir
}

/// The service, its monitoring, DNS and traffic, with blue at 100%.
pub fn lab() -> Lab {
    Lab::start(&bin_dir())
}

/// What `knot` answers over DNS for `name`'s A records, asked with dig
/// (recursion off): one address a line.
pub fn dig_a(knot: &testkit::knot::Knot, name: &str) -> Vec<String> {
    let dig = testkit::require("dig", "bind9-dnsutils");
    let server: SocketAddr = knot.addr().parse().expect("knot address");
    let out = testkit::process::run(
        "dig",
        Command::new(dig)
            .args(["+short", "+norecurse", "+time=2", "+tries=3"])
            .arg(format!("@{}", server.ip()))
            .args(["-p", &server.port().to_string(), name, "A"]),
    );
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}
