//! Knot DNS from Debian's `knot` package: an authoritative server on free
//! loopback ports (UDP and TCP) in a temp dir, with a control socket so a
//! test can change records the way an operator does (`knotc zone-begin`,
//! `zone-set`, `zone-commit`, which bumps the SOA serial), and read back the
//! serial.
//!
//! ```no_run
//! use testkit::knot::Knot;
//! let knot = Knot::builder().zone("example.test", "api 10 A 192.0.2.1").start();
//! knot.set("example.test", "api", 10, "A", &["192.0.2.2"]);
//! assert_eq!(knot.serial("example.test"), 2);
//! ```

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::process::{Proc, run};

/// A running `knotd`.
#[derive(Debug)]
pub struct Knot {
    proc: Proc,
    /// The first listening port (on 127.0.0.1 unless [`KnotBuilder::listen`]
    /// chose another address).
    pub port: u16,
    listen: Vec<SocketAddr>,
    knotc: PathBuf,
    dir: tempfile::TempDir,
}

/// What a [`Knot`] serves and where it listens.
#[derive(Debug, Default)]
pub struct KnotBuilder {
    zones: Vec<(String, String)>,
    broken: Vec<String>,
    listen: Vec<SocketAddr>,
    extra_ports: usize,
    soa_minimum: u32,
    default_ttl: u32,
}

impl KnotBuilder {
    /// Serve `zone` (e.g. `example.test`) with an SOA (serial 1), one NS
    /// (`ns1.<zone>` at 127.0.0.1) and `records`, one zone-file line each,
    /// owners relative to the zone (`api 10 A 192.0.2.1`).
    pub fn zone(mut self, zone: &str, records: &str) -> Self {
        let zone = zone.trim_end_matches('.');
        let text = format!(
            "$ORIGIN {zone}.\n$TTL {ttl}\n@ SOA ns1.{zone}. hostmaster.{zone}. 1 60 60 600 {min}\n@ NS ns1.{zone}.\nns1 A 127.0.0.1\n{records}\n",
            ttl = self.default_ttl_or(10),
            min = self.soa_minimum_or(30),
        );
        self.zones.push((zone.to_string(), text));
        self
    }

    /// Serve `zone` from exactly this zone-file text (write your own SOA and NS).
    pub fn zone_text(mut self, zone: &str, text: &str) -> Self {
        self.zones
            .push((zone.trim_end_matches('.').to_string(), text.to_string()));
        self
    }

    /// Configure `zone` with a zone file that does not parse: Knot answers
    /// SERVFAIL for names in it.
    pub fn broken_zone(mut self, zone: &str) -> Self {
        self.broken.push(zone.trim_end_matches('.').to_string());
        self
    }

    /// The SOA minimum (negative-caching TTL) of zones added after this call.
    pub fn soa_minimum(mut self, secs: u32) -> Self {
        self.soa_minimum = secs;
        self
    }

    /// The `$TTL` of zones added after this call (default 10 s).
    pub fn default_ttl(mut self, secs: u32) -> Self {
        self.default_ttl = secs;
        self
    }

    /// Listen on this address (UDP and TCP) instead of a free port on
    /// 127.0.0.1; repeat for several. Port 53 needs root.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen.push(addr);
        self
    }

    /// Also listen on `n` more free loopback ports (one server, many
    /// listeners: benchmarks against many "servers").
    pub fn extra_ports(mut self, n: usize) -> Self {
        self.extra_ports = n;
        self
    }

    fn soa_minimum_or(&self, d: u32) -> u32 {
        if self.soa_minimum == 0 {
            d
        } else {
            self.soa_minimum
        }
    }

    fn default_ttl_or(&self, d: u32) -> u32 {
        if self.default_ttl == 0 {
            d
        } else {
            self.default_ttl
        }
    }

    /// Start `knotd` and wait until every good zone answers.
    pub fn start(self) -> Knot {
        let knotd = crate::require("knotd", "knot");
        let knotc = crate::require("knotc", "knot");
        let dir = crate::temp_dir("knot");
        let d = dir.path();
        std::fs::create_dir_all(d.join("db")).expect("create knot db dir");
        let mut listen = self.listen.clone();
        if listen.is_empty() {
            listen.push(SocketAddr::from((Ipv4Addr::LOCALHOST, crate::free_port())));
        }
        for _ in 0..self.extra_ports {
            listen.push(SocketAddr::from((Ipv4Addr::LOCALHOST, crate::free_port())));
        }
        let mut conf = format!(
            "server:\n    rundir: \"{d}\"\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n",
            d = d.display()
        );
        if crate::is_root() {
            // Stay root explicitly: the temp dir is root's.
            conf.push_str("    user: root:root\n");
        }
        for a in &listen {
            conf.push_str(&format!("    listen: {}@{}\n", a.ip(), a.port()));
        }
        conf.push_str(&format!(
            "log:\n  - target: stderr\n    any: info\ndatabase:\n    storage: \"{db}\"\ncontrol:\n    listen: \"{sock}\"\ntemplate:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: changes\n    semantic-checks: off\nzone:\n",
            db = d.join("db").display(),
            sock = d.join("knot.sock").display(),
            d = d.display(),
        ));
        for (zone, text) in &self.zones {
            crate::write(&d.join(format!("{zone}.zone")), text);
            conf.push_str(&format!("  - domain: {zone}\n    file: \"{zone}.zone\"\n"));
        }
        for zone in &self.broken {
            crate::write(&d.join(format!("{zone}.zone")), "this is not a zone file\n");
            conf.push_str(&format!("  - domain: {zone}\n    file: \"{zone}.zone\"\n"));
        }
        crate::write(&d.join("knot.conf"), &conf);
        let mut cmd = Command::new(knotd);
        cmd.arg("-c").arg(d.join("knot.conf"));
        let mut proc = Proc::spawn("knotd", cmd, &d.join("knotd.log"));
        let first = listen[0];
        for (zone, _) in &self.zones {
            let probe = format!("{zone}.");
            proc.wait_until(
                &format!("serving {zone} on {first}"),
                Duration::from_secs(20),
                || udp_rcode(first, &probe, 6) == Some(0),
            );
        }
        if self.zones.is_empty() {
            proc.wait_tcp(first, Duration::from_secs(20));
        }
        Knot {
            proc,
            port: first.port(),
            listen,
            knotc,
            dir,
        }
    }
}

impl Knot {
    /// Configure a server: zones, listeners.
    pub fn builder() -> KnotBuilder {
        KnotBuilder::default()
    }

    /// `127.0.0.1:port` of the first listener, as `--server` takes it.
    pub fn addr(&self) -> String {
        self.listen[0].to_string()
    }

    /// Every listener, as `ip:port`.
    pub fn addrs(&self) -> Vec<String> {
        self.listen.iter().map(ToString::to_string).collect()
    }

    /// Run `knotc` against this server's control socket; panics on failure.
    pub fn knotc(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(&self.knotc);
        cmd.arg("-s")
            .arg(self.dir.path().join("knot.sock"))
            .args(args);
        run("knotc", &mut cmd)
    }

    /// Replace the `rtype` records of `owner` (relative to `zone`, `@` for
    /// the apex) with `values`, in one transaction; Knot bumps the serial.
    pub fn set(&self, zone: &str, owner: &str, ttl: u32, rtype: &str, values: &[&str]) {
        self.knotc(&["zone-begin", zone]);
        let _ = self.try_knotc(&["zone-unset", zone, owner, rtype]);
        let ttl = ttl.to_string();
        for v in values {
            let mut args = vec!["zone-set", zone, owner, &ttl, rtype];
            args.extend(v.split_whitespace());
            self.knotc(&args);
        }
        self.knotc(&["zone-commit", zone]);
    }

    /// Remove every `rtype` record of `owner`, in one transaction.
    pub fn remove(&self, zone: &str, owner: &str, rtype: &str) {
        self.knotc(&["zone-begin", zone]);
        self.knotc(&["zone-unset", zone, owner, rtype]);
        self.knotc(&["zone-commit", zone]);
    }

    fn try_knotc(&self, args: &[&str]) -> bool {
        Command::new(&self.knotc)
            .arg("-s")
            .arg(self.dir.path().join("knot.sock"))
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// The zone's SOA serial as Knot serves it now.
    pub fn serial(&self, zone: &str) -> u32 {
        let out = self.knotc(&["zone-read", zone, "@", "SOA"]);
        // `[zone.] zone. TTL SOA mname rname SERIAL refresh retry expire minimum`
        let f: Vec<&str> = out.split_whitespace().collect();
        let i = f
            .iter()
            .position(|t| *t == "SOA")
            .expect("SOA in zone-read output");
        f.get(i + 3)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no serial in {out:?}"))
    }

    /// The temp dir holding the config, zone files and log.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}

/// Send one UDP query (`qtype` as its number: 1 = A, 6 = SOA) and return the
/// response code, or `None` when nothing answers within 300 ms. For
/// readiness checks; the tool under test does its own querying.
pub fn udp_rcode(server: SocketAddr, name: &str, qtype: u16) -> Option<u8> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .ok()?;
    let id: u16 = (std::process::id() as u16) ^ 0x5a5a;
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    sock.send_to(&q, server).ok()?;
    let mut buf = [0u8; 1500];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    (n >= 12 && buf[..2] == id.to_be_bytes()).then_some(buf[3] & 0x0f)
}
