//! Unbound from Debian's `unbound` package: a caching resolver on a free
//! loopback port, in the foreground, that sends the test zones to their
//! Knot servers (`stub-zone`) and everything else to a dead loopback port,
//! so it never queries the internet. No DNSSEC validation, no chroot, no
//! privilege drop. It caches answers with their TTL counting down, which is
//! what propagation tests need.
//!
//! ```no_run
//! use testkit::{knot::Knot, unbound::Unbound};
//! let knot = Knot::builder().zone("example.test", "api 5 A 192.0.2.1").start();
//! let unbound = Unbound::builder().stub("example.test", &knot.addr()).start();
//! println!("resolver at {}", unbound.addr());
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use crate::process::Proc;

/// A running `unbound`.
#[derive(Debug)]
pub struct Unbound {
    proc: Proc,
    /// Loopback port (UDP and TCP).
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// Where an [`Unbound`] sends which zone.
#[derive(Debug, Default)]
pub struct UnboundBuilder {
    stubs: Vec<(String, Vec<String>)>,
    extra: String,
}

impl UnboundBuilder {
    /// Ask `addr` (`ip:port`) for names in `zone`, as its authoritative
    /// server (recursion off). Repeat the zone to give it several servers.
    pub fn stub(mut self, zone: &str, addr: &str) -> Self {
        let zone = zone.trim_end_matches('.').to_string();
        match self.stubs.iter_mut().find(|(z, _)| *z == zone) {
            Some((_, addrs)) => addrs.push(addr.to_string()),
            None => self.stubs.push((zone, vec![addr.to_string()])),
        }
        self
    }

    /// Extra lines for the `server:` clause (indented by you).
    pub fn server_option(mut self, line: &str) -> Self {
        self.extra.push_str(line);
        self.extra.push('\n');
        self
    }

    /// Start and wait until it answers.
    pub fn start(self) -> Unbound {
        let bin = crate::require("unbound", "unbound");
        let dir = crate::temp_dir("unbound");
        let d = dir.path();
        let port = crate::free_port();
        let mut conf = format!(
            r#"server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    chroot: ""
    username: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    so-reuseport: no
    do-not-query-localhost: no
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
    local-zone: "test." nodefault
    domain-insecure: "test."
    prefetch: no
    serve-expired: no
{extra}"#,
            d = d.display(),
            extra = self.extra,
        );
        for (zone, addrs) in &self.stubs {
            conf.push_str(&format!("stub-zone:\n    name: \"{zone}\"\n"));
            for a in addrs {
                let a: SocketAddr = a
                    .parse()
                    .unwrap_or_else(|e| panic!("stub address {a}: {e}"));
                conf.push_str(&format!("    stub-addr: {}@{}\n", a.ip(), a.port()));
            }
        }
        // Everything else goes to a loopback port nobody listens on: the
        // tests never reach the root servers.
        conf.push_str("forward-zone:\n    name: \".\"\n    forward-addr: 127.0.0.1@1\nremote-control:\n    control-enable: no\n");
        crate::write(&d.join("unbound.conf"), &conf);
        let mut cmd = Command::new(bin);
        cmd.arg("-d").arg("-c").arg(d.join("unbound.conf"));
        let mut proc = Proc::spawn("unbound", cmd, &d.join("unbound.log"));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        proc.wait_until(
            &format!("answering on {addr}"),
            Duration::from_secs(20),
            || crate::knot::udp_rcode(addr, "localhost.", 1) == Some(0),
        );
        Unbound {
            proc,
            port,
            _dir: dir,
        }
    }
}

impl Unbound {
    /// Configure a resolver.
    pub fn builder() -> UnboundBuilder {
        UnboundBuilder::default()
    }

    /// `127.0.0.1:port`, as `--server` takes it.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}
