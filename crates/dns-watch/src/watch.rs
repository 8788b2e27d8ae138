//! The watch: rounds of parallel queries until the quorum matches, the
//! deadline passes, or one round with `--once`; what each server said, the
//! quorum, how long stale caches live (`eta_s`), negative caching and the
//! TTL ceiling.

use std::time::{Duration, Instant, SystemTime};

use golive_core::{Deadline, Status};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use crate::answer::{self, Reading};
use crate::cli::Config;
use crate::query::{Ask, Engine, Outcome, rcode_name};
use crate::servers::Server;

/// What one server said in one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The answer matches.
    Match,
    /// An answer, but not the expected one.
    Stale,
    /// NXDOMAIN, or NOERROR with no record of the type (NODATA).
    Negative,
    /// An error code: SERVFAIL, REFUSED, …
    Failed,
    /// No response: timeout or network error.
    NoAnswer,
}

impl State {
    /// The per-server status: a wrong or negative answer is CRITICAL (the
    /// server lags); an error code or silence is UNKNOWN (no evidence).
    pub fn status(self) -> Status {
        match self {
            State::Match => Status::Ok,
            State::Stale | State::Negative => Status::Critical,
            State::Failed | State::NoAnswer => Status::Unknown,
        }
    }
}

/// One server's result in one round.
#[derive(Debug, Clone)]
pub struct Check {
    /// The server.
    pub server: Server,
    /// What it said.
    pub state: State,
    /// Its response code, when it answered.
    pub rcode: Option<String>,
    /// The answer, read.
    pub reading: Reading,
    /// Time to answer (or to give up).
    pub latency: Duration,
    /// Why there was no answer.
    pub error: Option<String>,
    /// The AA flag.
    pub aa: bool,
    /// The zone's SOA serial on this server (authoritative mode).
    pub serial: Option<u32>,
    /// Why the serial is missing, in authoritative mode.
    pub serial_error: Option<String>,
    /// When it was asked.
    pub checked_at: SystemTime,
    /// Whether the answer came over TCP (UDP was truncated).
    pub tcp: bool,
    /// The query ran out of time because the run's deadline cut it short.
    pub cut: bool,
}

/// One round: every server asked once.
#[derive(Debug, Clone)]
pub struct Round {
    /// 1-based.
    pub number: u32,
    /// Per server, in the order given.
    pub checks: Vec<Check>,
    /// Servers asked.
    pub total: usize,
    /// Servers that sent any DNS response.
    pub answered: usize,
    /// Servers whose answer matches.
    pub matched: usize,
    /// Matches the quorum needs.
    pub needed: usize,
    /// Whether matched >= needed.
    pub quorum_met: bool,
    /// Longest time until the stale caching resolvers must refetch
    /// (resolver mode; None when unknown or not applicable).
    pub eta_s: Option<u64>,
    /// The highest answer TTL seen, and where.
    pub highest_ttl: Option<(String, u32)>,
}

impl Round {
    /// Servers that do not match (yet).
    pub fn lagging(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.state != State::Match)
    }
}

/// Why the watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The quorum matches.
    Quorum,
    /// The deadline passed first.
    Deadline,
    /// `--once` and the quorum does not match.
    Once,
    /// An answer's TTL is above `--max-ttl`.
    TtlTooHigh,
    /// SIGINT, SIGTERM or SIGHUP (the name): the summary so far, exit 3.
    Interrupted(&'static str),
}

/// A warning that the name answered NXDOMAIN/NODATA before it matched.
#[derive(Debug, Clone)]
pub struct NegativeCaching {
    /// The servers that answered so.
    pub servers: Vec<String>,
    /// NXDOMAIN or NODATA.
    pub rcode: String,
    /// The longest negative TTL seen (resolvers cache the answer this long).
    pub negative_ttl_s: Option<u32>,
    /// The round it was first seen in.
    pub round: u32,
}

impl NegativeCaching {
    /// The warning sentence.
    pub fn message(&self, name: &str) -> String {
        let ttl = match self.negative_ttl_s {
            Some(t) => format!("for up to {t}s (the zone's negative TTL, from its SOA)"),
            None => "for the zone's negative TTL (SOA minimum)".into(),
        };
        format!(
            "{name} answered {} on {} before it matched: resolvers that ask now cache that answer {ttl}, which delays the change",
            self.rcode,
            self.servers.join(", ")
        )
    }
}

/// The end of a watch.
#[derive(Debug, Clone)]
pub struct Final {
    /// The run's status.
    pub status: Status,
    /// Why it ended.
    pub end: End,
    /// The last round (per server, the latest evidence).
    pub last: Round,
    /// The zone apex, when known (authoritative mode).
    pub zone: Option<Name>,
    /// The first negative-caching warning, if any.
    pub negative: Option<NegativeCaching>,
}

/// Events while watching, for the reporters.
#[derive(Debug)]
pub enum Event<'a> {
    /// A round finished.
    Round(&'a Round),
    /// Waiting for the next round; time left before the deadline.
    Tick(Duration),
}

/// A watch over a fixed set of servers.
#[derive(Debug)]
pub struct Watch<'a> {
    cfg: &'a Config,
    engine: &'a Engine,
    servers: Vec<Server>,
    /// The zone apex (authoritative mode), learned from SOA answers if not given.
    zone: Option<Name>,
}

impl<'a> Watch<'a> {
    /// Watch `servers`; `zone` is the apex when discovery already found it.
    pub fn new(
        cfg: &'a Config,
        engine: &'a Engine,
        servers: Vec<Server>,
        zone: Option<Name>,
    ) -> Self {
        Watch {
            cfg,
            engine,
            servers,
            zone,
        }
    }

    /// Rounds until the quorum matches, the deadline passes, or one round
    /// with `--once`. `on_event` sees every round and a tick each second
    /// while waiting.
    pub fn run(mut self, deadline: Deadline, on_event: &mut dyn FnMut(Event<'_>)) -> Final {
        let mut prev: Option<Round> = None;
        let mut negative: Option<NegativeCaching> = None;
        let mut number = 0;
        golive_core::signals::catch();
        loop {
            number += 1;
            let started = Instant::now();
            let mut round = self.round(number, &deadline);
            if let Some(sig) = golive_core::signals::received() {
                // The round was cut short: the last whole one is the evidence.
                let mut last = prev.unwrap_or(round);
                self.evaluate(&mut last);
                return self.finish(End::Interrupted(sig), last, negative);
            }
            if let Some(p) = &prev {
                // A query the deadline cut short says nothing about the
                // server: keep its previous evidence.
                for (c, pc) in round.checks.iter_mut().zip(&p.checks) {
                    if c.cut {
                        *c = pc.clone();
                    }
                }
            }
            self.evaluate(&mut round);
            if negative.is_none() {
                negative = negative_caching(&round);
                if let Some(n) = &negative {
                    golive_core::log::warn(&n.message(&self.cfg.name_display));
                }
            }
            on_event(Event::Round(&round));

            let ttl_too_high = self.ttl_too_high(&round);
            let end = if ttl_too_high {
                Some(End::TtlTooHigh)
            } else if round.quorum_met {
                Some(End::Quorum)
            } else if self.cfg.once {
                Some(End::Once)
            } else if deadline.expired() {
                Some(End::Deadline)
            } else {
                None
            };
            if let Some(end) = end {
                return self.finish(end, round, negative);
            }
            // Wait for the next round, ticking each second for countdowns.
            let next = started + self.cfg.interval;
            loop {
                let now = Instant::now();
                if now >= next || deadline.expired() {
                    break;
                }
                let left = deadline.remaining().unwrap_or(Duration::MAX);
                on_event(Event::Tick(left));
                let step = (next - now).min(left).min(Duration::from_secs(1));
                if !golive_core::signals::sleep(step) {
                    let sig = golive_core::signals::received().unwrap_or("a signal");
                    return self.finish(End::Interrupted(sig), round, negative);
                }
            }
            if deadline.expired() {
                return self.finish(End::Deadline, round, negative);
            }
            prev = Some(round);
        }
    }

    fn finish(&self, end: End, last: Round, negative: Option<NegativeCaching>) -> Final {
        let status = match end {
            End::Quorum => Status::Ok,
            End::TtlTooHigh => Status::Critical,
            End::Interrupted(_) => Status::Unknown,
            // No quorum: CRITICAL on the evidence of each server that
            // answered. None answered is nothing seen, which is never a
            // verdict: core's rule makes it UNKNOWN.
            End::Deadline | End::Once => Status::merge_seen(
                last.checks
                    .iter()
                    .filter(|c| c.rcode.is_some())
                    .map(|_| Status::Critical),
            ),
        };
        Final {
            status,
            end,
            last,
            zone: self.zone.clone(),
            negative,
        }
    }

    fn ttl_too_high(&self, round: &Round) -> bool {
        match (self.cfg.max_ttl, &round.highest_ttl) {
            (Some(max), Some((_, ttl))) => u64::from(*ttl) > max.as_secs(),
            _ => false,
        }
    }

    /// Ask every server once, in parallel.
    fn round(&mut self, number: u32, deadline: &Deadline) -> Round {
        let cfg = self.cfg;
        let timeout = deadline.cap(cfg.query_timeout);
        let auth = cfg.authoritative;
        let soa_name = self.zone.clone().unwrap_or_else(|| cfg.name.clone());
        let mut asks = Vec::with_capacity(self.servers.len() * 2);
        for s in &self.servers {
            asks.push(Ask {
                server: s.addr,
                name: cfg.name.clone(),
                rtype: cfg.rtype.record_type(),
                recursion: !auth,
                timeout,
            });
            if auth {
                asks.push(Ask {
                    server: s.addr,
                    name: soa_name.clone(),
                    rtype: RecordType::SOA,
                    recursion: false,
                    timeout,
                });
            }
        }
        let checked_at = SystemTime::now();
        let outcomes = self.engine.ask_all(&asks, deadline);
        let per = if auth { 2 } else { 1 };
        let cut_possible = timeout < cfg.query_timeout;
        let mut checks = Vec::with_capacity(self.servers.len());
        // Servers whose SOA answer for the name was a CNAME (zone not known yet).
        let mut cname_soa = Vec::new();
        for (i, s) in self.servers.iter().enumerate() {
            let main = &outcomes[i * per];
            let mut c = self.check(s, main, checked_at, cut_possible);
            if auth {
                let soa = &outcomes[i * per + 1];
                match &soa.result {
                    Ok(r) => match answer::zone_soa(&soa_name, &r.answers, &r.authorities) {
                        Some((owner, serial)) => {
                            c.serial = Some(serial);
                            if self.zone.is_none() {
                                self.zone = Some(owner);
                            }
                        }
                        None => {
                            if answer::is_cname(&soa_name, &r.answers) {
                                cname_soa.push(i);
                            }
                            c.serial_error =
                                Some(format!("no SOA in the answer ({})", rcode_name(r.rcode)))
                        }
                    },
                    Err(f) => c.serial_error = Some(f.message.clone()),
                }
            }
            checks.push(c);
        }
        if self.zone.is_none() && !cname_soa.is_empty() {
            self.serials_above(&mut checks, &cname_soa, deadline);
        }
        Round {
            number,
            total: checks.len(),
            checks,
            answered: 0,
            matched: 0,
            needed: 0,
            quorum_met: false,
            eta_s: None,
            highest_ttl: None,
        }
    }

    /// The watched name is a CNAME, so its SOA query told no zone (an apex
    /// cannot be a CNAME; an SOA with it would be the target's zone): walk
    /// up from the name, asking the servers at `idx` with recursion off,
    /// until an SOA names the zone, and take their serials from it. Once;
    /// later rounds ask for the zone's SOA directly.
    fn serials_above(&mut self, checks: &mut [Check], idx: &[usize], deadline: &Deadline) {
        let mut cur = self.cfg.name.base_name();
        while !cur.is_root() && !deadline.expired() {
            let timeout = deadline.cap(self.cfg.query_timeout);
            let asks: Vec<Ask> = idx
                .iter()
                .map(|&i| Ask {
                    server: checks[i].server.addr,
                    name: cur.clone(),
                    rtype: RecordType::SOA,
                    recursion: false,
                    timeout,
                })
                .collect();
            let outcomes = self.engine.ask_all(&asks, deadline);
            for (&i, o) in idx.iter().zip(&outcomes) {
                if let Ok(r) = &o.result
                    && let Some((owner, serial)) =
                        answer::zone_soa(&cur, &r.answers, &r.authorities)
                {
                    checks[i].serial = Some(serial);
                    checks[i].serial_error = None;
                    self.zone.get_or_insert(owner);
                }
            }
            if self.zone.is_some() {
                return;
            }
            cur = cur.base_name();
        }
    }

    fn check(&self, s: &Server, o: &Outcome, checked_at: SystemTime, cut_possible: bool) -> Check {
        let cfg = self.cfg;
        let mut c = Check {
            server: s.clone(),
            state: State::NoAnswer,
            rcode: None,
            reading: Reading::default(),
            latency: o.latency,
            error: None,
            aa: false,
            serial: None,
            serial_error: None,
            checked_at,
            tcp: false,
            cut: false,
        };
        match &o.result {
            Err(f) => {
                c.error = Some(f.message.clone());
                c.cut = f.timed_out && cut_possible;
            }
            Ok(r) => {
                c.rcode = Some(rcode_name(r.rcode));
                c.aa = r.authoritative;
                c.tcp = r.tcp;
                c.reading = answer::read(&cfg.name, cfg.rtype, &r.answers, &r.authorities);
                c.state = match r.rcode {
                    // A referral is no evidence about the name.
                    ResponseCode::NoError if !c.reading.referral.is_empty() => State::Failed,
                    ResponseCode::NoError | ResponseCode::NXDomain => {
                        if answer::matches(cfg.rtype, &cfg.expect, &c.reading, cfg.match_mode) {
                            State::Match
                        } else if r.rcode == ResponseCode::NXDomain
                            || (c.reading.values.is_empty() && c.reading.chain.is_empty())
                        {
                            State::Negative
                        } else {
                            State::Stale
                        }
                    }
                    _ => State::Failed,
                };
            }
        }
        c
    }

    /// Quorum, counts, eta and the highest TTL of a round.
    fn evaluate(&self, round: &mut Round) {
        round.total = round.checks.len();
        round.answered = round.checks.iter().filter(|c| c.rcode.is_some()).count();
        round.matched = round
            .checks
            .iter()
            .filter(|c| c.state == State::Match)
            .count();
        round.needed = needed(round.total, self.cfg.quorum_pct);
        round.quorum_met = round.total > 0 && round.matched >= round.needed;
        round.highest_ttl = round
            .checks
            .iter()
            .filter(|c| matches!(c.state, State::Match | State::Stale))
            .filter_map(|c| c.reading.ttl.map(|t| (c.server.name.clone(), t)))
            .max_by_key(|(_, t)| *t);
        round.eta_s = if self.cfg.authoritative {
            None
        } else {
            eta(&round.checks)
        };
    }
}

/// Matches needed: `pct` of `total`, rounded up, and never less than one.
pub fn needed(total: usize, pct: f64) -> usize {
    let n = (total as f64 * pct / 100.0 - 1e-9).ceil().max(0.0) as usize;
    n.clamp(1, total.max(1))
}

/// From the TTLs the stale caching resolvers report (a wrong answer's TTL, a
/// negative answer's negative TTL), the longest time until they must
/// refetch. Authoritative answers (AA) are not caches and do not count.
/// 0 when every server matches; None when no lagging server told a TTL.
pub fn eta(checks: &[Check]) -> Option<u64> {
    if checks.iter().all(|c| c.state == State::Match) {
        return Some(0);
    }
    checks
        .iter()
        .filter(|c| !c.aa)
        .filter_map(|c| match c.state {
            State::Stale => c.reading.ttl,
            State::Negative => c.reading.negative_ttl,
            _ => None,
        })
        .max()
        .map(u64::from)
}

fn negative_caching(round: &Round) -> Option<NegativeCaching> {
    let neg: Vec<&Check> = round
        .checks
        .iter()
        .filter(|c| c.state == State::Negative)
        .collect();
    if neg.is_empty() {
        return None;
    }
    let nx = neg.iter().any(|c| c.rcode.as_deref() == Some("NXDOMAIN"));
    Some(NegativeCaching {
        servers: neg.iter().map(|c| c.server.name.clone()).collect(),
        rcode: if nx {
            "NXDOMAIN".into()
        } else {
            "NODATA".into()
        },
        negative_ttl_s: neg.iter().filter_map(|c| c.reading.negative_ttl).max(),
        round: round.number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_rounds_up_and_needs_at_least_one() {
        assert_eq!(needed(2, 100.0), 2);
        assert_eq!(needed(2, 50.0), 1);
        assert_eq!(needed(3, 50.0), 2);
        assert_eq!(needed(3, 66.7), 3);
        assert_eq!(needed(10, 0.0), 1, "0% must not pass with nothing matching");
        assert_eq!(needed(4, 75.0), 3);
    }
}
