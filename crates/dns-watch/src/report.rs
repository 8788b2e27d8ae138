//! Rendering: per-server items and the summary (json, ndjson), the text
//! board (redrawn with a countdown on a terminal, plain lines otherwise),
//! Prometheus text and CSV.

use std::io::Write as _;
use std::time::Duration;

use golive_core::doc::{Event as DocEvent, Item, Summary};
use golive_core::output::{self, Format, Prom};
use golive_core::units::human_duration;
use golive_core::{Run, Status, duration_ms, rfc3339};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::answer::name_str;
use crate::cli::Config;
use crate::watch::{Check, End, Event, Final, Round, State};

/// What the run knows besides the rounds: mode and discovery.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The NS names found by discovery (authoritative mode without --server).
    pub nameservers: Vec<String>,
    /// The resolver used for discovery.
    pub resolver: Option<String>,
}

/// The answer as one short phrase: `192.0.2.1`, `lb.example.net → 192.0.2.1`.
fn answer_phrase(c: &Check) -> String {
    let mut parts: Vec<String> = c.reading.chain.iter().map(|n| format!("{n} →")).collect();
    if c.reading.values.is_empty() {
        if c.reading.chain_leaves_answer {
            parts.push("(target not in this answer)".into());
        }
    } else {
        parts.push(c.reading.values.join(", "));
    }
    parts.join(" ")
}

fn expected_phrase(cfg: &Config) -> String {
    cfg.expect
        .iter()
        .map(|e| e.display())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One sentence for a server's result.
pub fn check_message(cfg: &Config, c: &Check) -> String {
    let mut m = match c.state {
        State::Match => match c.reading.ttl {
            Some(t) => format!("answers {} (TTL {t}s)", answer_phrase(c)),
            None => format!("answers {}", answer_phrase(c)),
        },
        State::Stale => {
            let mut s = format!("answers {}", answer_phrase(c));
            if !cfg.expect.is_empty() {
                s.push_str(&format!(", expected {}", expected_phrase(cfg)));
            }
            if let (Some(t), false) = (c.reading.ttl, c.aa || cfg.authoritative) {
                s.push_str(&format!("; cached for up to {t}s more"));
            }
            s
        }
        State::Negative => {
            let what = if c.rcode.as_deref() == Some("NXDOMAIN") {
                "NXDOMAIN (the name does not exist)".to_string()
            } else {
                format!("no {} record (NODATA)", cfg.rtype.as_str())
            };
            match c.reading.negative_ttl {
                Some(t) => format!("{what}; negative TTL {t}s"),
                None => what,
            }
        }
        State::Failed if !c.reading.referral.is_empty() => format!(
            "referral to {} instead of an answer: not authoritative for this name, or does not recurse for us",
            c.reading.referral.join(", ")
        ),
        State::Failed => match c.rcode.as_deref() {
            Some("REFUSED") => {
                "REFUSED: the server does not serve this name or will not answer us".into()
            }
            Some("SERVFAIL") => {
                "SERVFAIL: the server failed to answer (broken zone, unreachable upstream)".into()
            }
            Some(r) => format!("answered {r}"),
            None => "failed".into(),
        },
        State::NoAnswer => c.error.clone().unwrap_or_else(|| "no answer".into()),
    };
    if cfg.authoritative {
        match (c.serial, &c.serial_error) {
            (Some(s), _) => m.push_str(&format!("; SOA serial {s}")),
            (None, Some(e)) if c.state != State::NoAnswer => {
                m.push_str(&format!("; no SOA serial: {e}"))
            }
            _ => {}
        }
    }
    m
}

/// A server's result as an item: `name`, `status`, `message`, then figures.
pub fn check_item(cfg: &Config, c: &Check) -> Value {
    serde_json::to_value(server_item(cfg, c)).unwrap_or(Value::Null)
}

fn server_item(cfg: &Config, c: &Check) -> Item<ServerFigures> {
    Item {
        name: c.server.name.clone(),
        status: c.state.status(),
        message: check_message(cfg, c),
        figures: ServerFigures {
            address: c.server.addr.to_string(),
            matched: c.state == State::Match,
            rcode: c.rcode.clone(),
            answers: c.reading.values.clone(),
            cname_chain: c.reading.chain.clone(),
            ttl_s: c.reading.ttl,
            negative_ttl_s: c.reading.negative_ttl,
            latency_ms: duration_ms(c.latency),
            authoritative_answer: c.rcode.as_ref().map(|_| c.aa),
            soa_serial: c.serial,
            transport: if c.rcode.is_none() {
                None
            } else if c.tcp {
                Some("tcp")
            } else {
                Some("udp")
            },
            error: c.error.clone(),
            checked_at: rfc3339(c.checked_at),
        },
    }
}

/// What one server said.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerFigures {
    /// `IP:port` asked.
    pub address: String,
    /// Whether its answer matches.
    pub matched: bool,
    /// NOERROR, NXDOMAIN, SERVFAIL, … (null: no answer).
    pub rcode: Option<String>,
    /// The records' values.
    pub answers: Vec<String>,
    /// CNAMEs followed to reach them.
    pub cname_chain: Vec<String>,
    /// The answer's TTL.
    pub ttl_s: Option<u32>,
    /// The SOA minimum of a negative answer.
    pub negative_ttl_s: Option<u32>,
    /// Time to answer (or to give up).
    pub latency_ms: f64,
    /// The AA flag (null: no answer).
    pub authoritative_answer: Option<bool>,
    /// The zone's SOA serial on this server (authoritative mode).
    pub soa_serial: Option<u32>,
    /// `udp` or `tcp` (null: no answer).
    pub transport: Option<&'static str>,
    /// Why there was no answer.
    pub error: Option<String>,
    /// When it was asked.
    pub checked_at: String,
}

fn lagging_names(r: &Round) -> Vec<String> {
    r.lagging().map(|c| c.server.name.clone()).collect()
}

/// One sentence for the whole run.
pub fn summary_message(cfg: &Config, fin: &Final) -> String {
    let r = &fin.last;
    let what = if cfg.expect.is_empty() {
        "answer".to_string()
    } else {
        format!("match {}", expected_phrase(cfg))
    };
    let counts = format!(
        "{} of {} servers {what} (quorum {}% needs {})",
        r.matched,
        r.total,
        fmt_pct(cfg.quorum_pct),
        r.needed
    );
    let lag = r
        .lagging()
        .take(5)
        .map(|c| format!("{}: {}", c.server.name, short_state(c)))
        .collect::<Vec<_>>()
        .join("; ");
    let more = r.lagging().count().saturating_sub(5);
    let lag = if more > 0 {
        format!("{lag}; and {more} more")
    } else {
        lag
    };
    match fin.end {
        End::TtlTooHigh => {
            let (who, ttl) = r.highest_ttl.clone().unwrap_or_default();
            format!(
                "TTL {ttl}s on {who} is above --max-ttl {}s: a rollback would wait up to {ttl}s for caches",
                cfg.max_ttl.map(|d| d.as_secs()).unwrap_or_default()
            )
        }
        End::Quorum if lag.is_empty() => format!("{counts} after {} round(s)", r.number),
        End::Quorum => format!("{counts} after {} round(s); still lagging: {lag}", r.number),
        End::Interrupted(sig) => format!("stopped by {sig} after {} round(s): {counts}", r.number),
        _ if r.answered == 0 => format!("no server answered ({} asked)", r.total),
        End::Once => format!("{counts}; lagging: {lag}"),
        End::Deadline => format!(
            "not propagated within {}: {counts}; lagging: {lag}",
            human_duration(cfg.timeout)
        ),
    }
}

fn short_state(c: &Check) -> String {
    match c.state {
        State::Stale | State::Match => format!("answers {}", answer_phrase(c)),
        State::Negative => c
            .rcode
            .clone()
            .map(|r| if r == "NOERROR" { "NODATA".into() } else { r })
            .unwrap_or_default(),
        State::Failed if !c.reading.referral.is_empty() => "referral".into(),
        State::Failed => c.rcode.clone().unwrap_or_default(),
        State::NoAnswer => c.error.clone().unwrap_or_else(|| "no answer".into()),
    }
}

fn fmt_pct(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

/// The summary document (envelope + dns-watch's fields).
pub fn summary(run: &Run, cfg: &Config, ctx: &Context, fin: &Final) -> Value {
    let r = &fin.last;
    let mut warnings: Vec<String> = Vec::new();
    if let Some(n) = &fin.negative {
        warnings.push(n.message(&cfg.name_display));
    }
    if !cfg.duplicates.is_empty() {
        warnings.push(format!(
            "duplicate server address ignored: {}",
            cfg.duplicates.join(", ")
        ));
    }
    let body = SummaryBody {
        zone: fin.zone.as_ref().map(name_str),
        nameservers: (!ctx.nameservers.is_empty()).then(|| ctx.nameservers.clone()),
        resolver: (!ctx.nameservers.is_empty())
            .then(|| ctx.resolver.clone())
            .flatten(),
        total: r.total,
        answered: r.answered,
        matched: r.matched,
        needed: r.needed,
        quorum_met: r.quorum_met,
        rounds: r.number,
        eta_s: r.eta_s,
        highest_ttl_s: r.highest_ttl.as_ref().map(|(_, t)| *t),
        lagging: lagging_names(r),
        soa_serials: cfg.authoritative.then(|| serials(r)),
        negative_caching: fin.negative.as_ref().map(|n| NegativeCachingDoc {
            rcode: n.rcode.clone(),
            servers: n.servers.clone(),
            negative_ttl_s: n.negative_ttl_s,
            round: n.round,
        }),
        warnings,
        message: summary_message(cfg, fin),
        interrupted: match fin.end {
            End::Interrupted(sig) => Some(sig),
            _ => None,
        },
        servers: r.checks.iter().map(|c| server_item(cfg, c)).collect(),
        ..SummaryBody::of(cfg)
    };
    run.document(fin.status, &body)
}

/// A summary for a run that could not watch at all (discovery failed):
/// the same fields, with nothing seen.
pub fn failure_summary(run: &Run, cfg: &Config, status: Status, message: String) -> Value {
    let body = SummaryBody {
        message,
        ..SummaryBody::of(cfg)
    };
    run.document(status, &body)
}

/// dns-watch's summary.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SummaryBody {
    /// The name watched.
    pub name: String,
    /// The record type.
    #[serde(rename = "type")]
    pub rtype: &'static str,
    /// The values expected.
    pub expected: Vec<String>,
    /// `all` or `any`.
    #[serde(rename = "match")]
    pub match_mode: &'static str,
    /// `authoritative` or `resolvers`.
    pub mode: &'static str,
    /// The zone apex (authoritative mode), when known.
    pub zone: Option<String>,
    /// The NS names discovery found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nameservers: Option<Vec<String>>,
    /// The resolver discovery asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
    /// The share of servers that must match.
    pub quorum_pct: f64,
    /// Servers asked.
    pub total: usize,
    /// Servers that answered.
    pub answered: usize,
    /// Servers whose answer matches.
    pub matched: usize,
    /// Servers needed for the quorum.
    pub needed: usize,
    /// Whether the quorum matched.
    pub quorum_met: bool,
    /// Rounds run.
    pub rounds: u32,
    /// The run's deadline.
    pub timeout_s: f64,
    /// Until the last stale cache expires (null: not known).
    pub eta_s: Option<u64>,
    /// `--max-ttl`.
    pub max_ttl_s: Option<u64>,
    /// The highest TTL seen.
    pub highest_ttl_s: Option<u32>,
    /// Servers that do not match.
    pub lagging: Vec<String>,
    /// `{"serial": ["server", …]}` (authoritative mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soa_serials: Option<Value>,
    /// The first negative answer seen before the name matched.
    pub negative_caching: Option<NegativeCachingDoc>,
    /// Things a person should know.
    pub warnings: Vec<String>,
    /// One readable sentence.
    pub message: String,
    /// The signal that stopped the watch, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<&'static str>,
    /// Per server, in the order given.
    pub servers: Vec<Item<ServerFigures>>,
}

impl SummaryBody {
    /// What the configuration says, with nothing seen yet.
    fn of(cfg: &Config) -> SummaryBody {
        SummaryBody {
            name: cfg.name_display.clone(),
            rtype: cfg.rtype.as_str(),
            expected: cfg.expect.iter().map(|e| e.display()).collect(),
            match_mode: cfg.match_mode.as_str(),
            mode: if cfg.authoritative {
                "authoritative"
            } else {
                "resolvers"
            },
            zone: None,
            nameservers: None,
            resolver: None,
            quorum_pct: cfg.quorum_pct,
            total: 0,
            answered: 0,
            matched: 0,
            needed: 0,
            quorum_met: false,
            rounds: 0,
            timeout_s: cfg.timeout.as_secs_f64(),
            eta_s: None,
            max_ttl_s: cfg.max_ttl.map(|d| d.as_secs()),
            highest_ttl_s: None,
            lagging: Vec::new(),
            soa_serials: None,
            negative_caching: None,
            warnings: Vec::new(),
            message: String::new(),
            interrupted: None,
            servers: Vec::new(),
        }
    }
}

/// A negative answer cached before the name existed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NegativeCachingDoc {
    /// NXDOMAIN or NODATA.
    pub rcode: String,
    /// The servers that answered so.
    pub servers: Vec<String>,
    /// How long they may keep answering so.
    pub negative_ttl_s: Option<u32>,
    /// The round it was seen in.
    pub round: u32,
}

/// Any document dns-watch prints: the summary, or an ndjson `round` event.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // the schema root; never built
pub enum Document {
    /// The summary (json, and ndjson's last line).
    Summary(Summary<SummaryBody>),
    /// `{"event": "round", …}`.
    Event(DocEvent<Map<String, Value>>),
}

/// `{"serial": ["server", …], …}`, highest serial first.
fn serials(r: &Round) -> Value {
    let mut by: Vec<(u32, Vec<String>)> = Vec::new();
    for c in &r.checks {
        if let Some(s) = c.serial {
            match by.iter_mut().find(|(x, _)| *x == s) {
                Some((_, v)) => v.push(c.server.name.clone()),
                None => by.push((s, vec![c.server.name.clone()])),
            }
        }
    }
    by.sort_by_key(|(s, _)| std::cmp::Reverse(*s));
    let mut m = Map::new();
    for (s, v) in by {
        m.insert(s.to_string(), json!(v));
    }
    Value::Object(m)
}

/// The ndjson event for a round.
pub fn round_event(run: &Run, cfg: &Config, r: &Round) -> Value {
    let mut f = Map::new();
    f.insert("round".into(), json!(r.number));
    f.insert("total".into(), json!(r.total));
    f.insert("answered".into(), json!(r.answered));
    f.insert("matched".into(), json!(r.matched));
    f.insert("needed".into(), json!(r.needed));
    f.insert("quorum_met".into(), json!(r.quorum_met));
    f.insert("eta_s".into(), json!(r.eta_s));
    f.insert(
        "highest_ttl_s".into(),
        json!(r.highest_ttl.as_ref().map(|(_, t)| *t)),
    );
    f.insert("lagging".into(), json!(lagging_names(r)));
    f.insert(
        "servers".into(),
        Value::Array(r.checks.iter().map(|c| check_item(cfg, c)).collect()),
    );
    run.event("round", f)
}

fn table_rows(cfg: &Config, r: &Round) -> Vec<Vec<String>> {
    let mut head = vec![
        "SERVER", "ADDRESS", "STATUS", "ANSWER", "TTL", "RCODE", "LATENCY",
    ];
    if cfg.authoritative {
        head.push("SERIAL");
    }
    let mut rows = vec![head.into_iter().map(String::from).collect::<Vec<_>>()];
    for c in &r.checks {
        let answer = match c.state {
            State::Match | State::Stale => answer_phrase(c),
            State::Negative => match c.reading.negative_ttl {
                Some(t) => format!("{} (negative TTL {t}s)", short_state(c)),
                None => short_state(c),
            },
            State::Failed => short_state(c),
            State::NoAnswer => c.error.clone().unwrap_or_default(),
        };
        let mut row = vec![
            c.server.name.clone(),
            c.server.addr.to_string(),
            c.state.status().label().to_string(),
            answer,
            c.reading
                .ttl
                .map(|t| format!("{t}s"))
                .unwrap_or_else(|| "-".into()),
            c.rcode.clone().unwrap_or_else(|| "-".into()),
            if c.rcode.is_some() {
                format!("{:.1}ms", duration_ms(c.latency))
            } else {
                "-".into()
            },
        ];
        if cfg.authoritative {
            row.push(
                c.serial
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
            );
        }
        rows.push(row);
    }
    rows
}

fn headline(cfg: &Config, r: &Round) -> String {
    let expect = if cfg.expect.is_empty() {
        "any answer".into()
    } else {
        expected_phrase(cfg)
    };
    let eta = r.eta_s.map(|e| format!("  eta {e}s")).unwrap_or_default();
    format!(
        "{} {} → {}  round {}  {}/{} match (need {}){eta}",
        cfg.name_display,
        cfg.rtype.as_str(),
        expect,
        r.number,
        r.matched,
        r.total,
        r.needed
    )
}

/// Renders events as they happen, per format.
#[derive(Debug)]
pub struct Live<'a> {
    run: &'a Run,
    cfg: &'a Config,
    board: bool,
    progress: bool,
    drawn_lines: usize,
    last: Option<Round>,
}

impl<'a> Live<'a> {
    /// A renderer for `cfg.format`; redraws only on a terminal.
    pub fn new(run: &'a Run, cfg: &'a Config) -> Self {
        let board = cfg.format == Format::Text && golive_core::log::stdout_is_terminal();
        let progress = cfg.format != Format::Text && golive_core::log::progress_allowed();
        Live {
            run,
            cfg,
            board,
            progress,
            drawn_lines: 0,
            last: None,
        }
    }

    /// Handle one event.
    pub fn on_event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Round(r) => {
                golive_core::log::debug(&format!(
                    "round {}: {}/{} match, {} answered",
                    r.number, r.matched, r.total, r.answered
                ));
                match self.cfg.format {
                    Format::Ndjson => output::emit_line(&round_event(self.run, self.cfg, r)),
                    Format::Text if self.board => {
                        self.last = Some(r.clone());
                        self.draw(None);
                    }
                    // With --once the final table says it all.
                    Format::Text if !self.cfg.once => {
                        output::emit(&format!("{}\n", plain_round_line(self.cfg, r)))
                    }
                    _ => {}
                }
                if self.progress {
                    self.progress_line(r, None);
                }
            }
            Event::Tick(left) => {
                if self.board {
                    self.draw(Some(left));
                } else if self.progress
                    && let Some(r) = self.last.clone()
                {
                    self.progress_line(&r, Some(left));
                }
            }
        }
    }

    fn progress_line(&mut self, r: &Round, left: Option<Duration>) {
        self.last = Some(r.clone());
        let left = left
            .map(|l| format!(", deadline in {}", countdown(l)))
            .unwrap_or_default();
        let eta = r.eta_s.map(|e| format!(", eta {e}s")).unwrap_or_default();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Kdns-watch: round {}: {}/{} match (need {}){eta}{left}",
            r.number, r.matched, r.total, r.needed
        );
        let _ = err.flush();
    }

    /// Clear the stderr progress line before the final output.
    pub fn finish(&mut self) {
        if self.progress && self.last.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
        if self.board && self.drawn_lines > 0 {
            // The board stays; the final table is printed below it fresh.
            output::emit(&format!("\x1b[{}A\x1b[J", self.drawn_lines));
            self.drawn_lines = 0;
        }
    }

    fn draw(&mut self, left: Option<Duration>) {
        let Some(r) = self.last.clone() else { return };
        let mut s = String::new();
        if self.drawn_lines > 0 {
            s.push_str(&format!("\x1b[{}A\x1b[J", self.drawn_lines));
        }
        let countdown = match left {
            Some(l) => format!("deadline in {}", countdown(l)),
            None => "asking…".into(),
        };
        let head = format!("{}  {countdown}\n", headline(self.cfg, &r));
        let table = output::table(&table_rows(self.cfg, &r));
        s.push_str(&head);
        s.push_str(&table);
        self.drawn_lines = head.lines().count() + table.lines().count();
        output::emit(&s);
    }
}

/// Time left, in whole seconds rounded up: `7s`, `4m52s`, `1h0m5s`.
pub fn countdown(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60),
    }
}

fn plain_round_line(cfg: &Config, r: &Round) -> String {
    let lag: Vec<String> = r
        .lagging()
        .map(|c| format!("{} ({})", c.server.name, short_state(c)))
        .collect();
    let lag = if lag.is_empty() {
        String::new()
    } else {
        format!("  lagging: {}", lag.join(", "))
    };
    format!("{}{lag}", headline(cfg, r))
}

/// Print the final result in `cfg.format`.
pub fn emit_final(run: &Run, cfg: &Config, ctx: &Context, fin: &Final) {
    let doc = summary(run, cfg, ctx, fin);
    match cfg.format {
        Format::Json | Format::Ndjson => output::emit_summary_json(cfg.format, &doc),
        Format::Text => {
            let mut s = output::table(&table_rows(cfg, &fin.last));
            s.push_str(&format!(
                "{}: {}\n",
                fin.status.label(),
                summary_message(cfg, fin)
            ));
            // Warnings (negative caching) went to stderr when first seen.
            output::emit(&s);
        }
        Format::Prom => output::emit(&prom(cfg, fin)),
        Format::Csv => output::emit(&csv(fin)),
    }
}

fn prom(cfg: &Config, fin: &Final) -> String {
    let mut p = Prom::default();
    let r = &fin.last;
    let name = cfg.name_display.as_str();
    let t = cfg.rtype.as_str();
    p.header(
        "dns_watch_status",
        "gauge",
        "Run status: 0 ok, 1 warning, 2 critical, 3 unknown.",
    );
    p.sample(
        "dns_watch_status",
        &[("name", name), ("type", t)],
        f64::from(fin.status.exit_code()),
    );
    p.header(
        "dns_watch_servers_matched",
        "gauge",
        "Servers whose answer matches.",
    );
    p.sample(
        "dns_watch_servers_matched",
        &[("name", name), ("type", t)],
        r.matched as f64,
    );
    p.header("dns_watch_servers_total", "gauge", "Servers asked.");
    p.sample(
        "dns_watch_servers_total",
        &[("name", name), ("type", t)],
        r.total as f64,
    );
    if let Some(e) = r.eta_s {
        p.header(
            "dns_watch_eta_seconds",
            "gauge",
            "Longest time until stale caches must refetch.",
        );
        p.sample(
            "dns_watch_eta_seconds",
            &[("name", name), ("type", t)],
            e as f64,
        );
    }
    p.header(
        "dns_watch_server_matched",
        "gauge",
        "1 when the server's answer matches.",
    );
    for c in &r.checks {
        let l = [
            ("name", name),
            ("type", t),
            ("server", c.server.name.as_str()),
        ];
        p.sample(
            "dns_watch_server_matched",
            &l,
            f64::from(u8::from(c.state == State::Match)),
        );
    }
    p.header(
        "dns_watch_server_ttl_seconds",
        "gauge",
        "TTL of the server's answer.",
    );
    for c in &r.checks {
        if let Some(ttl) = c.reading.ttl {
            let l = [
                ("name", name),
                ("type", t),
                ("server", c.server.name.as_str()),
            ];
            p.sample("dns_watch_server_ttl_seconds", &l, f64::from(ttl));
        }
    }
    p.header(
        "dns_watch_server_latency_seconds",
        "gauge",
        "Time the server took to answer.",
    );
    for c in r.checks.iter().filter(|c| c.rcode.is_some()) {
        let l = [
            ("name", name),
            ("type", t),
            ("server", c.server.name.as_str()),
        ];
        p.sample(
            "dns_watch_server_latency_seconds",
            &l,
            c.latency.as_secs_f64(),
        );
    }
    if cfg.authoritative {
        p.header(
            "dns_watch_server_soa_serial",
            "gauge",
            "The zone's SOA serial on the server.",
        );
        for c in &r.checks {
            if let Some(s) = c.serial {
                let l = [
                    ("name", name),
                    ("type", t),
                    ("server", c.server.name.as_str()),
                ];
                p.sample("dns_watch_server_soa_serial", &l, f64::from(s));
            }
        }
    }
    p.finish()
}

/// One row per server (written by the csv crate: quoted where a field
/// needs it).
/// The CSV columns.
const CSV_HEADER: [&str; 10] = [
    "server",
    "address",
    "status",
    "matched",
    "rcode",
    "answers",
    "ttl_s",
    "latency_ms",
    "soa_serial",
    "error",
];

/// The CSV header line alone: what a run that asked no server prints.
pub fn csv_header() -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CSV_HEADER);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `dns_watch_status` for a run that could not watch at all (the other
/// series need servers).
pub fn failure_prom(cfg: &Config, status: Status) -> String {
    let mut p = Prom::default();
    p.header(
        "dns_watch_status",
        "gauge",
        "Run status: 0 ok, 1 warning, 2 critical, 3 unknown.",
    );
    p.sample(
        "dns_watch_status",
        &[
            ("name", cfg.name_display.as_str()),
            ("type", cfg.rtype.as_str()),
        ],
        f64::from(status.exit_code()),
    );
    p.finish()
}

fn csv(fin: &Final) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CSV_HEADER);
    for c in &fin.last.checks {
        let row = [
            c.server.name.clone(),
            c.server.addr.to_string(),
            c.state.status().as_str().to_string(),
            (c.state == State::Match).to_string(),
            c.rcode.clone().unwrap_or_default(),
            c.reading
                .chain
                .iter()
                .chain(&c.reading.values)
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            c.reading.ttl.map(|t| t.to_string()).unwrap_or_default(),
            if c.rcode.is_some() {
                duration_ms(c.latency).to_string()
            } else {
                String::new()
            },
            c.serial.map(|s| s.to_string()).unwrap_or_default(),
            c.error.clone().unwrap_or_default(),
        ];
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_rounds_up_to_whole_seconds() {
        assert_eq!(countdown(Duration::from_millis(5100)), "6s");
        assert_eq!(countdown(Duration::from_secs(292)), "4m52s");
        assert_eq!(countdown(Duration::from_secs(3605)), "1h00m05s");
        assert_eq!(countdown(Duration::ZERO), "0s");
    }
}
