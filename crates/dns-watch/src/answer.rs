//! Reading an answer: the CNAME chain from the asked name, the final values
//! of the asked type, their TTLs, the negative TTL of an NXDOMAIN/NODATA, the
//! SOA serial; and deciding whether it matches what was expected.
//!
//! Values compare without case and without a trailing dot; addresses compare
//! as addresses (`2001:DB8::1` equals `2001:db8:0::1`).

use std::collections::BTreeSet;
use std::net::IpAddr;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::cli::{MatchMode, RType};

/// Longest CNAME chain followed (loops end here too).
const MAX_CHAIN: usize = 16;

/// One expected value, parsed for the record type watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// An address (A, AAAA).
    Addr(IpAddr),
    /// A name: a CNAME target or NS host; for A/AAAA a name the CNAME chain
    /// must pass through.
    Name(String),
    /// An MX: preference (optional: any) and exchange.
    Mx(Option<u16>, String),
    /// TXT text.
    Text(String),
}

impl Expected {
    /// Parse `value` for `rtype`.
    pub fn parse(rtype: RType, value: &str) -> Result<Expected, String> {
        let v = value.trim();
        if v.is_empty() {
            return Err("empty --expect value".into());
        }
        match rtype {
            RType::A | RType::Aaaa => {
                let numeric = v.chars().all(|c| c.is_ascii_digit() || c == '.');
                match v.parse::<IpAddr>() {
                    Ok(ip @ IpAddr::V4(_)) if rtype == RType::A => Ok(Expected::Addr(ip)),
                    Ok(ip @ IpAddr::V6(_)) if rtype == RType::Aaaa => Ok(Expected::Addr(ip)),
                    Ok(ip) => Err(format!("{ip} is not an {} address", rtype.as_str())),
                    Err(_) if numeric || v.contains(':') => {
                        Err(format!("'{v}' is not a valid {} address", rtype.as_str()))
                    }
                    Err(_) => Ok(Expected::Name(norm_name(v)?)),
                }
            }
            RType::Cname | RType::Ns => Ok(Expected::Name(norm_name(v)?)),
            RType::Mx => {
                let mut parts = v.split_whitespace();
                let first = parts.next().unwrap_or_default();
                match (first.parse::<u16>(), parts.next(), parts.next()) {
                    (Ok(p), Some(host), None) => Ok(Expected::Mx(Some(p), norm_name(host)?)),
                    (Err(_), None, None) => Ok(Expected::Mx(None, norm_name(first)?)),
                    _ => Err(format!(
                        "MX value '{v}' should be 'HOST' or 'PREFERENCE HOST'"
                    )),
                }
            }
            RType::Txt => Ok(Expected::Text(v.to_lowercase())),
        }
    }

    /// As reports show it.
    pub fn display(&self) -> String {
        match self {
            Expected::Addr(ip) => ip.to_string(),
            Expected::Name(n) => n.clone(),
            Expected::Mx(Some(p), h) => format!("{p} {h}"),
            Expected::Mx(None, h) => h.clone(),
            Expected::Text(t) => t.clone(),
        }
    }
}

fn norm_name(s: &str) -> Result<String, String> {
    let n = Name::from_utf8(s).map_err(|e| format!("'{s}' is not a valid name: {e}"))?;
    Ok(name_str(&n))
}

/// A name as reports show it: lowercase ASCII, no trailing dot.
pub fn name_str(n: &Name) -> String {
    let s = n.to_lowercase().to_ascii();
    match s.strip_suffix('.') {
        Some(x) if !x.is_empty() => x.to_string(),
        _ => s,
    }
}

/// Whether two names are the same, ignoring case and the trailing dot.
pub fn same_name(a: &Name, b: &Name) -> bool {
    name_str(a) == name_str(b)
}

/// What an answer says about the watched name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// CNAME targets followed from the asked name, in order.
    pub chain: Vec<String>,
    /// The final values of the asked type (for CNAME: the target).
    pub values: Vec<String>,
    /// The highest TTL among the records that make up the answer (chain and
    /// values): how long a cache may keep this answer.
    pub ttl: Option<u32>,
    /// For NXDOMAIN/NODATA: min(SOA TTL, SOA minimum) from the authority section.
    pub negative_ttl: Option<u32>,
    /// Whether the CNAME chain stopped at a name this answer has no data for
    /// (an authority for another zone must be asked).
    pub chain_leaves_answer: bool,
    /// A referral instead of an answer: no answer, no SOA, NS records in the
    /// authority section (the server is not authoritative for the name, or
    /// will not recurse). Holds the NS names it points to.
    pub referral: Vec<String>,
}

/// Read the answer section for `qname`/`rtype`.
pub fn read(qname: &Name, rtype: RType, answers: &[Record], authorities: &[Record]) -> Reading {
    let qt = rtype.record_type();
    let mut r = Reading::default();
    let mut ttls: Vec<u32> = Vec::new();
    let mut cur = qname.clone();
    if qt != RecordType::CNAME {
        for _ in 0..MAX_CHAIN {
            let next = answers.iter().find_map(|rec| match &rec.data {
                RData::CNAME(c) if same_name(&rec.name, &cur) => Some((rec.ttl, c.0.clone())),
                _ => None,
            });
            match next {
                Some((ttl, target)) => {
                    ttls.push(ttl);
                    let looped = same_name(&target, qname) || r.chain.contains(&name_str(&target));
                    r.chain.push(name_str(&target));
                    cur = target;
                    if looped {
                        // Once around a loop shows it; more adds nothing.
                        break;
                    }
                }
                None => break,
            }
        }
    }
    let mut values = BTreeSet::new();
    for rec in answers.iter().filter(|rec| same_name(&rec.name, &cur)) {
        let v = match (&rec.data, qt) {
            (RData::A(a), RecordType::A) => Some(a.0.to_string()),
            (RData::AAAA(a), RecordType::AAAA) => Some(a.0.to_string()),
            (RData::CNAME(c), RecordType::CNAME) => Some(name_str(&c.0)),
            (RData::NS(n), RecordType::NS) => Some(name_str(&n.0)),
            (RData::MX(m), RecordType::MX) => {
                Some(format!("{} {}", m.preference, name_str(&m.exchange)))
            }
            (RData::TXT(t), RecordType::TXT) => Some(
                t.txt_data
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        };
        if let Some(v) = v {
            ttls.push(rec.ttl);
            values.insert(v);
        }
    }
    r.values = values.into_iter().collect();
    r.ttl = ttls.into_iter().max();
    r.chain_leaves_answer = !r.chain.is_empty() && r.values.is_empty();
    if r.values.is_empty() && r.chain.is_empty() {
        r.negative_ttl = negative_ttl(authorities);
        if r.negative_ttl.is_none() {
            let mut ns: Vec<String> = authorities
                .iter()
                .filter_map(|rec| match &rec.data {
                    RData::NS(n) => Some(name_str(&n.0)),
                    _ => None,
                })
                .collect();
            ns.sort();
            ns.dedup();
            r.referral = ns;
        }
    }
    r
}

/// min(SOA record TTL, SOA minimum) of the first SOA in `authorities`.
pub fn negative_ttl(authorities: &[Record]) -> Option<u32> {
    authorities.iter().find_map(|rec| match &rec.data {
        RData::SOA(soa) => Some(rec.ttl.min(soa.minimum)),
        _ => None,
    })
}

/// The zone apex and serial of the first SOA in the answer or authority section.
pub fn soa(answers: &[Record], authorities: &[Record]) -> Option<(Name, u32)> {
    answers
        .iter()
        .chain(authorities)
        .find_map(|rec| match &rec.data {
            RData::SOA(soa) => Some((rec.name.clone(), soa.serial)),
            _ => None,
        })
}

/// The zone apex and serial that an SOA query for `qname` tells: the first
/// SOA (answer or authority section) whose owner is `qname` or above it.
/// None when `qname` is a CNAME: an apex cannot be one, and the SOA that
/// comes with the CNAME belongs to the target's zone, not to `qname`'s.
pub fn zone_soa(qname: &Name, answers: &[Record], authorities: &[Record]) -> Option<(Name, u32)> {
    if is_cname(qname, answers) {
        return None;
    }
    answers
        .iter()
        .chain(authorities)
        .find_map(|rec| match &rec.data {
            RData::SOA(soa) if rec.name.zone_of(qname) => Some((rec.name.clone(), soa.serial)),
            _ => None,
        })
}

/// Whether the answer holds a CNAME owned by `qname`.
pub fn is_cname(qname: &Name, answers: &[Record]) -> bool {
    answers
        .iter()
        .any(|rec| matches!(rec.data, RData::CNAME(_)) && same_name(&rec.name, qname))
}

/// Whether `reading` matches `expected` under `mode`.
///
/// `all`: the answer set equals the expected set (names expected for A/AAAA
/// must all be in the CNAME chain; addresses must equal the final set).
/// `any`: the answer contains at least one expected value. With nothing
/// expected (a `--max-ttl`-only check), any non-empty answer matches. An
/// empty answer never matches.
pub fn matches(rtype: RType, expected: &[Expected], reading: &Reading, mode: MatchMode) -> bool {
    if reading.values.is_empty() && reading.chain.is_empty() {
        return false;
    }
    if expected.is_empty() {
        return true;
    }
    let address_type = matches!(rtype, RType::A | RType::Aaaa);
    let in_chain = |e: &Expected| matches!(e, Expected::Name(n) if reading.chain.contains(n));
    let hit = |e: &Expected, v: &str| -> bool {
        match e {
            Expected::Addr(ip) => v.parse::<IpAddr>().map(|x| x == *ip).unwrap_or(false),
            Expected::Name(n) => v == n,
            Expected::Mx(pref, host) => {
                let mut p = v.splitn(2, ' ');
                let (vp, vh) = (p.next().unwrap_or_default(), p.next().unwrap_or_default());
                vh == host && pref.is_none_or(|x| vp == x.to_string())
            }
            Expected::Text(t) => v.to_lowercase() == *t,
        }
    };
    // For A/AAAA, expected names are checked against the CNAME chain.
    let (chain_names, direct): (Vec<&Expected>, Vec<&Expected>) = expected
        .iter()
        .partition(|e| address_type && matches!(e, Expected::Name(_)));
    match mode {
        MatchMode::Any => {
            chain_names.iter().any(|e| in_chain(e))
                || direct
                    .iter()
                    .any(|e| reading.values.iter().any(|v| hit(e, v)))
        }
        MatchMode::All => {
            let names_ok = chain_names.iter().all(|e| in_chain(e));
            let direct_ok = direct.is_empty()
                || (direct
                    .iter()
                    .all(|e| reading.values.iter().any(|v| hit(e, v)))
                    && reading
                        .values
                        .iter()
                        .all(|v| direct.iter().any(|e| hit(e, v))));
            names_ok && direct_ok
        }
    }
}
