//! Raw DNS queries, many at once, each straight to its server with its own
//! timeout: no cache, no system resolver in between, no state kept between
//! rounds. UDP first (hickory-net's client, which checks the source address,
//! message id and question, and resends within the timeout); a truncated
//! answer is asked again over TCP within the same timeout.
//!
//! The async runtime (tokio, current thread) stays inside this module: the
//! [`Engine`] API is synchronous.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use golive_core::Deadline;
use hickory_net::NetError;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::{DnsHandle, DnsRequestSender, FirstAnswer};
use hickory_proto::op::{DnsRequest, DnsRequestOptions, Query};
use hickory_proto::op::{DnsResponse, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::sync::Semaphore;

/// EDNS UDP payload size (DNS flag day 2020).
const EDNS_PAYLOAD: u16 = 1232;

/// Queries in flight at once (each holds a socket): keeps a round against
/// thousands of servers under the usual 1024 open-files limit.
const MAX_IN_FLIGHT: usize = 512;

/// One query to send.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The server.
    pub server: SocketAddr,
    /// The name asked.
    pub name: Name,
    /// The type asked.
    pub rtype: RecordType,
    /// Recursion desired (off for authoritative servers).
    pub recursion: bool,
    /// How long to wait for this answer, resends included.
    pub timeout: Duration,
}

/// A DNS response, reduced to what dns-watch reads.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The response code.
    pub rcode: ResponseCode,
    /// The AA flag: the server answered as an authority for the zone.
    pub authoritative: bool,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (an SOA here carries the negative TTL).
    pub authorities: Vec<Record>,
    /// Additional section (glue).
    pub additionals: Vec<Record>,
    /// Whether the answer came over TCP after a truncated UDP answer.
    pub tcp: bool,
}

/// Why no response came back.
#[derive(Debug, Clone)]
pub struct Failure {
    /// A readable reason: "no answer within 2s", "connection refused", …
    pub message: String,
    /// Whether the wait ran out (as opposed to an error).
    pub timed_out: bool,
}

/// What one query produced, with the time it took.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The response, or why there was none.
    pub result: Result<Reply, Failure>,
    /// From sending to the answer (or to giving up).
    pub latency: Duration,
}

/// Sends rounds of queries in parallel. Holds a private single-threaded
/// async runtime; nothing else in the crate sees it.
pub struct Engine {
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

impl Engine {
    /// A new engine.
    pub fn new() -> std::io::Result<Engine> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Engine { rt })
    }

    /// Send every query at once and wait for all of them (each bounded by its
    /// own timeout, counted from when it is sent, and by `deadline`).
    /// Results come back in the order asked.
    pub fn ask_all(&self, asks: &[Ask], deadline: &Deadline) -> Vec<Outcome> {
        let until = deadline.instant();
        self.rt.block_on(async {
            let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
            let handles: Vec<_> = asks
                .iter()
                .cloned()
                .map(|a| tokio::spawn(one(a, permits.clone(), until)))
                .collect();
            let mut out = Vec::with_capacity(handles.len());
            for h in handles {
                out.push(h.await.unwrap_or_else(|e| Outcome {
                    result: Err(Failure {
                        message: format!("query task failed: {e}"),
                        timed_out: false,
                    }),
                    latency: Duration::ZERO,
                }));
            }
            out
        })
    }
}

async fn one(mut ask: Ask, permits: Arc<Semaphore>, until: Option<Instant>) -> Outcome {
    // Wait for a socket first: a query queued behind others still gets its
    // whole timeout once sent (within the deadline), and its latency counts
    // from the send. Every holder of a socket stops by the deadline, so the
    // wait does too.
    let Ok(_permit) = permits.acquire().await else {
        return Outcome {
            result: Err(Failure {
                message: "query engine closed".into(),
                timed_out: false,
            }),
            latency: Duration::ZERO,
        };
    };
    let start = Instant::now();
    if let Some(u) = until {
        let left = u.saturating_duration_since(start);
        if left.is_zero() {
            return Outcome {
                result: Err(Failure {
                    message: "not asked: the deadline passed while waiting for a free socket"
                        .into(),
                    timed_out: true,
                }),
                latency: Duration::ZERO,
            };
        }
        ask.timeout = ask.timeout.min(left);
    }
    // A hard stop a little after the query's own timeout, whatever happens
    // inside (TCP connect): the deadline is a promise.
    let guard = ask.timeout + Duration::from_millis(20);
    // A caught signal ends the query at once (the contract's one second).
    let stop = async {
        while golive_core::signals::received().is_none() {
            tokio::time::sleep(golive_core::signals::POLL).await;
        }
    };
    let result = tokio::select! {
        r = tokio::time::timeout(guard, exchange(&ask, start)) => match r {
            Ok(r) => r,
            Err(_) => Err(timeout_failure(ask.timeout)),
        },
        () = stop => Err(Failure {
            message: format!(
                "not answered: stopped by {}",
                golive_core::signals::received().unwrap_or("a signal")
            ),
            timed_out: false,
        }),
    };
    Outcome {
        result,
        latency: start.elapsed(),
    }
}

fn request(ask: &Ask) -> DnsRequest {
    let mut opts = DnsRequestOptions::default();
    opts.recursion_desired = ask.recursion;
    opts.use_edns = true;
    opts.edns_payload_len = EDNS_PAYLOAD;
    DnsRequest::from_query(Query::query(ask.name.clone(), ask.rtype), opts)
}

async fn exchange(ask: &Ask, start: Instant) -> Result<Reply, Failure> {
    let provider = TokioRuntimeProvider::new();
    let mut udp = UdpClientStream::builder(ask.server, provider.clone())
        .with_timeout(Some(ask.timeout))
        .build();
    let resp = udp
        .send_message(request(ask))
        .first_answer()
        .await
        .map_err(|e| failure(e, ask.timeout))?;
    if !resp.truncation {
        return Ok(reply(resp, false));
    }
    // Truncated: ask again over TCP with the time left.
    let left = ask.timeout.saturating_sub(start.elapsed());
    if left.is_zero() {
        return Err(timeout_failure(ask.timeout));
    }
    let tcp = TcpClientStream::exchange(ask.server, None, left, None, provider)
        .await
        .map_err(|e| failure(e, ask.timeout))?;
    let resp = tcp
        .send(request(ask))
        .first_answer()
        .await
        .map_err(|e| failure(e, ask.timeout))?;
    Ok(reply(resp, true))
}

fn reply(resp: DnsResponse, tcp: bool) -> Reply {
    let m = resp.into_message();
    Reply {
        rcode: m.metadata.response_code,
        authoritative: m.metadata.authoritative,
        answers: m.answers,
        authorities: m.authorities,
        additionals: m.additionals,
        tcp,
    }
}

fn timeout_failure(t: Duration) -> Failure {
    Failure {
        message: format!("no answer within {}", golive_core::units::human_duration(t)),
        timed_out: true,
    }
}

fn failure(e: NetError, t: Duration) -> Failure {
    match e {
        NetError::Timeout => timeout_failure(t),
        NetError::Io(io) => Failure {
            message: match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused (nothing listens there)".into()
                }
                _ => io.to_string(),
            },
            timed_out: false,
        },
        other => Failure {
            message: other.to_string(),
            timed_out: false,
        },
    }
}

/// The conventional name of a response code: `NOERROR`, `NXDOMAIN`, …
pub fn rcode_name(rc: ResponseCode) -> String {
    match rc {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}
