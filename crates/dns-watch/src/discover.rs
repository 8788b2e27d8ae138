//! Finding the authoritative servers of a name: walk up from the name asking
//! for its SOA until one names the zone apex, ask for the apex's NS set, then
//! for each nameserver's addresses — all through one recursive resolver.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use golive_core::{Deadline, Error};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};

use crate::answer::{name_str, zone_soa};
use crate::query::{Ask, Engine, Reply, rcode_name};
use crate::servers::Server;

/// The zone and the servers to ask.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The zone apex.
    pub zone: Name,
    /// One server per nameserver address (port 53).
    pub servers: Vec<Server>,
    /// The NS names, sorted.
    pub nameservers: Vec<String>,
}

fn ask(
    engine: &Engine,
    resolver: SocketAddr,
    name: &Name,
    rtype: RecordType,
    deadline: &Deadline,
    qt: Duration,
) -> Result<Reply, Error> {
    if deadline.expired() {
        return Err(Error::unknown(
            "the deadline passed while finding the authoritative servers",
        ));
    }
    let out = engine.ask_all(
        &[Ask {
            server: resolver,
            name: name.clone(),
            rtype,
            recursion: true,
            timeout: deadline.cap(qt),
        }],
        deadline,
    );
    let o = out.into_iter().next().expect("one outcome per ask");
    o.result.map_err(|f| {
        Error::unknown(format!(
            "resolver {resolver} did not answer {} {rtype} while finding the authoritative servers: {}",
            name_str(name),
            f.message
        ))
    })
}

/// The zone apex of `name`: the owner of the SOA found walking up the tree.
pub fn apex(
    engine: &Engine,
    resolver: SocketAddr,
    name: &Name,
    deadline: &Deadline,
    qt: Duration,
) -> Result<Name, Error> {
    let mut cur = name.clone();
    loop {
        let r = ask(engine, resolver, &cur, RecordType::SOA, deadline, qt)?;
        if let Some((owner, _)) = zone_soa(&cur, &r.answers, &r.authorities) {
            return Ok(owner);
        }
        if matches!(r.rcode, ResponseCode::ServFail | ResponseCode::Refused) {
            return Err(Error::unknown(format!(
                "resolver {resolver} answered {} for {} SOA while finding the zone",
                rcode_name(r.rcode),
                name_str(&cur)
            )));
        }
        if cur.is_root() || cur.num_labels() == 0 {
            return Err(Error::unknown(format!(
                "no SOA found above {}",
                name_str(name)
            )));
        }
        cur = cur.base_name();
    }
}

/// Find the zone of `name`, its NS set and their addresses through `resolver`.
pub fn discover(
    engine: &Engine,
    resolver: SocketAddr,
    name: &Name,
    deadline: &Deadline,
    qt: Duration,
) -> Result<Discovery, Error> {
    let zone = apex(engine, resolver, name, deadline, qt)?;
    let r = ask(engine, resolver, &zone, RecordType::NS, deadline, qt)?;
    let mut ns: Vec<Name> = r
        .answers
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::NS(n) if crate::answer::same_name(&rec.name, &zone) => Some(n.0.clone()),
            _ => None,
        })
        .collect();
    ns.sort_by_key(name_str);
    ns.dedup_by_key(|n| name_str(n));
    if ns.is_empty() {
        return Err(Error::unknown(format!(
            "resolver {resolver} returned no NS records for {} ({})",
            name_str(&zone),
            rcode_name(r.rcode)
        )));
    }
    // Each nameserver's IPv4 addresses, and IPv6 only where it has no IPv4:
    // all asked at once.
    let cap = deadline.cap(qt);
    let asks: Vec<Ask> = ns
        .iter()
        .flat_map(|n| {
            [RecordType::A, RecordType::AAAA].map(|t| Ask {
                server: resolver,
                name: n.clone(),
                rtype: t,
                recursion: true,
                timeout: cap,
            })
        })
        .collect();
    let outcomes = engine.ask_all(&asks, deadline);
    let mut servers = Vec::new();
    for (i, n) in ns.iter().enumerate() {
        let addrs = |o: &crate::query::Outcome| -> Vec<IpAddr> {
            o.result
                .as_ref()
                .map(|r| {
                    r.answers
                        .iter()
                        .filter_map(|rec| match &rec.data {
                            RData::A(a) => Some(IpAddr::V4(a.0)),
                            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut ips = addrs(&outcomes[2 * i]);
        if ips.is_empty() {
            ips = addrs(&outcomes[2 * i + 1]);
        }
        ips.sort();
        ips.dedup();
        let label = name_str(n);
        if ips.is_empty() {
            // Kept, so the report shows a nameserver nobody can reach.
            golive_core::log::warn(&format!(
                "nameserver {label} has no address; it cannot be checked"
            ));
        }
        let many = ips.len() > 1;
        for ip in ips {
            servers.push(Server {
                name: if many {
                    format!("{label} ({ip})")
                } else {
                    label.clone()
                },
                addr: SocketAddr::new(ip, 53),
            });
        }
    }
    if servers.is_empty() {
        return Err(Error::unknown(format!(
            "none of the nameservers of {} has an address",
            name_str(&zone)
        )));
    }
    Ok(Discovery {
        zone,
        servers,
        nameservers: ns.iter().map(name_str).collect(),
    })
}
