//! Flags, parsed with clap and turned into a plain [`Config`] before any
//! work starts; the rest of the crate never sees clap.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use golive_core::Error;
use golive_core::cli::CommonArgs;
use golive_core::output::Format;
use golive_core::units::{parse_duration, parse_percent, parse_timeout};
use hickory_proto::rr::{Name, RecordType};

use crate::answer::Expected;
use crate::servers::{self, Server};

const EXAMPLES: &str = "\
Examples:
  # Wait (up to 5 minutes) until every resolver answers the new address
  dns-watch api.example.com --expect 203.0.113.10

  # Every authoritative nameserver, recursion off, with SOA serials
  dns-watch api.example.com --expect 203.0.113.10 --authoritative --once

  # Pre-launch: is the TTL short enough for a quick rollback?
  dns-watch api.example.com --authoritative --max-ttl 60s --once

  # A CNAME cutover, watched on the team's own resolvers, half of them enough
  dns-watch www.example.com --expect new-lb.example.net --servers-file resolvers.csv --quorum 50%

  # Two specific servers, one line per round for a log
  dns-watch api.example.com -e 203.0.113.10 --server 192.0.2.53 --server 198.51.100.53:5353 --format ndjson

Exit codes: 0 quorum matches, 2 not propagated by the deadline (or TTL above --max-ttl),
3 no server answered at all, 64 usage. 1 is not used.";

/// Record types dns-watch watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RType {
    /// IPv4 address.
    #[value(name = "A")]
    A,
    /// IPv6 address.
    #[value(name = "AAAA")]
    Aaaa,
    /// Canonical name.
    #[value(name = "CNAME")]
    Cname,
    /// Text.
    #[value(name = "TXT")]
    Txt,
    /// Mail exchanger.
    #[value(name = "MX")]
    Mx,
    /// Nameserver.
    #[value(name = "NS")]
    Ns,
}

impl RType {
    /// The type as DNS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RType::A => "A",
            RType::Aaaa => "AAAA",
            RType::Cname => "CNAME",
            RType::Txt => "TXT",
            RType::Mx => "MX",
            RType::Ns => "NS",
        }
    }

    /// The hickory record type.
    pub fn record_type(self) -> RecordType {
        match self {
            RType::A => RecordType::A,
            RType::Aaaa => RecordType::AAAA,
            RType::Cname => RecordType::CNAME,
            RType::Txt => RecordType::TXT,
            RType::Mx => RecordType::MX,
            RType::Ns => RecordType::NS,
        }
    }
}

/// How answers compare with `--expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchMode {
    /// The answer set equals the expected set.
    All,
    /// The answer contains at least one expected value.
    Any,
}

impl MatchMode {
    /// As typed.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::All => "all",
            MatchMode::Any => "any",
        }
    }
}

/// dns-watch: watch a DNS change reach every resolver or authoritative server.
#[derive(Debug, Parser)]
#[command(
    name = "dns-watch",
    version,
    about = "Watch a DNS change reach every resolver or authoritative nameserver.",
    long_about = "Watch a DNS change reach every resolver or authoritative nameserver.\n\nEach round asks every server in parallel, directly (no cache, no system resolver in between), and reports per server: answers, TTL, rcode, latency, whether it matches. Ends when the quorum matches (exit 0), at the deadline (exit 2), or after one round with --once.",
    after_help = EXAMPLES,
    arg_required_else_help = true
)]
pub struct Cli {
    /// The name to watch, e.g. api.example.com.
    pub name: String,

    /// Expected value(s): addresses, names (a CNAME target for A/AAAA), `PREF HOST` for MX. Comma-separated or repeated; for TXT each --expect is one whole value.
    #[arg(
        long,
        short = 'e',
        value_name = "VALUE[,VALUE...]",
        env = "DNS_WATCH_EXPECT"
    )]
    pub expect: Vec<String>,

    /// Record type to ask for.
    #[arg(
        long = "type",
        short = 't',
        value_name = "TYPE",
        value_enum,
        ignore_case = true,
        default_value = "A",
        env = "DNS_WATCH_TYPE"
    )]
    pub rtype: RType,

    /// A server to ask (repeatable; default port 53). Default: the system resolver plus well-known public resolvers.
    #[arg(
        long = "server",
        short = 's',
        value_name = "ADDR[:PORT]",
        env = "DNS_WATCH_SERVER",
        value_delimiter = ','
    )]
    pub server: Vec<String>,

    /// CSV file of servers, `name,address` per line (header optional, # comments).
    #[arg(long, value_name = "FILE", env = "DNS_WATCH_SERVERS_FILE")]
    pub servers_file: Option<PathBuf>,

    /// Ask the zone's authoritative nameservers with recursion off, and report each one's SOA serial. Without --server they are found by an SOA walk and the zone's NS set.
    #[arg(long, env = "DNS_WATCH_AUTHORITATIVE")]
    pub authoritative: bool,

    /// Share of servers that must match, `100` or `50%`. At least one server must always match.
    #[arg(long, value_name = "PCT", value_parser = parse_percent, default_value = "100", env = "DNS_WATCH_QUORUM")]
    pub quorum: f64,

    /// `all`: the answer set equals the expected set; `any`: contains one of them.
    #[arg(
        long = "match",
        value_name = "MODE",
        value_enum,
        default_value = "all",
        env = "DNS_WATCH_MATCH"
    )]
    pub match_mode: MatchMode,

    /// Time between the starts of two rounds.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "2s", env = "DNS_WATCH_INTERVAL")]
    pub interval: Duration,

    /// Deadline for the whole run; exit 2 when the quorum does not match by then.
    #[arg(long, value_name = "DUR", value_parser = parse_timeout, default_value = "5m", env = "DNS_WATCH_TIMEOUT")]
    pub timeout: Duration,

    /// How long one query waits for its answer (UDP resends included).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "2s", env = "DNS_WATCH_QUERY_TIMEOUT")]
    pub query_timeout: Duration,

    /// One round, then exit.
    #[arg(long, env = "DNS_WATCH_ONCE")]
    pub once: bool,

    /// Pre-launch check: CRITICAL (exit 2) when an answer's TTL is above this, naming the TTL found.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, env = "DNS_WATCH_MAX_TTL")]
    pub max_ttl: Option<Duration>,

    /// Resolver for finding the zone and its nameservers with --authoritative (default: the first nameserver in /etc/resolv.conf).
    #[arg(long, value_name = "ADDR[:PORT]", env = "DNS_WATCH_RESOLVER")]
    pub resolver: Option<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The watched name, fully qualified.
    pub name: Name,
    /// The watched name as reports show it.
    pub name_display: String,
    /// The record type.
    pub rtype: RType,
    /// Expected values (empty only with --max-ttl).
    pub expect: Vec<Expected>,
    /// Servers given by --server and --servers-file (empty: defaults or discovery).
    pub servers: Vec<Server>,
    /// Names of servers dropped as duplicates.
    pub duplicates: Vec<String>,
    /// Authoritative mode.
    pub authoritative: bool,
    /// Quorum in percent.
    pub quorum_pct: f64,
    /// Match mode.
    pub match_mode: MatchMode,
    /// Round interval.
    pub interval: Duration,
    /// Whole-run deadline.
    pub timeout: Duration,
    /// Per-query timeout.
    pub query_timeout: Duration,
    /// Single round.
    pub once: bool,
    /// TTL ceiling.
    pub max_ttl: Option<Duration>,
    /// Discovery resolver.
    pub resolver: Option<SocketAddr>,
    /// Output format.
    pub format: Format,
}

impl Cli {
    /// Validate into a [`Config`]; bad values are usage errors (exit 64).
    pub fn into_config(self) -> Result<Config, Error> {
        let raw = self.name.trim();
        let mut name = Name::from_utf8(raw)
            .map_err(|e| Error::usage(format!("'{raw}' is not a valid DNS name: {e}")))?;
        if name.is_root() {
            return Err(Error::usage("the name to watch cannot be the root"));
        }
        name.set_fqdn(true);
        let name_display = crate::answer::name_str(&name);

        let mut expect = Vec::new();
        for v in &self.expect {
            let parts: Vec<&str> = if self.rtype == RType::Txt {
                vec![v.as_str()]
            } else {
                v.split(',').filter(|p| !p.trim().is_empty()).collect()
            };
            for p in parts {
                let e = Expected::parse(self.rtype, p)
                    .map_err(|e| Error::usage(format!("--expect: {e}")))?;
                if !expect.contains(&e) {
                    expect.push(e);
                }
            }
        }
        if expect.is_empty() && self.max_ttl.is_none() {
            return Err(Error::usage(
                "--expect VALUE is required (what the name should answer); only a --max-ttl check may leave it out",
            ));
        }

        let mut servers = servers::from_flags(&self.server)?;
        if let Some(f) = &self.servers_file {
            servers.extend(servers::from_file(f)?);
        }
        let duplicates = servers::dedupe(&mut servers);

        for (flag, d) in [
            ("--interval", self.interval),
            ("--timeout", self.timeout),
            ("--query-timeout", self.query_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::usage(format!("{flag} must be more than zero")));
            }
        }
        let resolver = self
            .resolver
            .as_deref()
            .map(servers::parse_addr)
            .transpose()
            .map_err(|e| Error::usage(format!("--resolver: {e}")))?;

        Ok(Config {
            name,
            name_display,
            rtype: self.rtype,
            expect,
            servers,
            duplicates,
            authoritative: self.authoritative,
            quorum_pct: self.quorum,
            match_mode: self.match_mode,
            interval: self.interval,
            timeout: self.timeout,
            query_timeout: self.query_timeout,
            once: self.once,
            max_ttl: self.max_ttl,
            resolver,
            format: self.common.format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let mut v = vec!["dns-watch"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v)
            .map_err(|e| e.to_string())?
            .into_config()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn definition_is_sound() {
        Cli::command().debug_assert();
    }

    #[test]
    fn issue_spellings_parse() {
        let c = parse(&[
            "api.example.com",
            "--expect",
            "192.0.2.1,192.0.2.2",
            "--type",
            "A",
            "--server",
            "127.0.0.1:5353",
            "--server",
            "192.0.2.53",
            "--authoritative",
            "--quorum",
            "50%",
            "--match",
            "any",
            "--interval",
            "1s",
            "--timeout",
            "30s",
            "--once",
            "--max-ttl",
            "60s",
        ])
        .unwrap();
        assert_eq!(c.expect.len(), 2);
        assert_eq!(c.servers.len(), 2);
        assert_eq!(c.quorum_pct, 50.0);
        assert_eq!(c.match_mode, MatchMode::Any);
        assert_eq!(c.max_ttl, Some(Duration::from_secs(60)));
        assert_eq!(c.name_display, "api.example.com");
        assert!(c.name.is_fqdn());
        for t in ["A", "AAAA", "CNAME", "TXT", "MX", "NS", "aaaa"] {
            let v = if t.eq_ignore_ascii_case("aaaa") {
                "2001:db8::1"
            } else if t == "A" {
                "192.0.2.1"
            } else {
                "x.example.com"
            };
            assert!(
                parse(&["x.example.com", "--type", t, "--expect", v]).is_ok(),
                "{t}"
            );
        }
    }

    #[test]
    fn expect_is_required_unless_max_ttl() {
        assert!(
            parse(&["api.example.com"])
                .unwrap_err()
                .contains("--expect")
        );
        assert!(parse(&["api.example.com", "--max-ttl", "60s"]).is_ok());
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(
            parse(&["api.example.com", "-e", "2001:db8::1"]).is_err(),
            "IPv6 for A"
        );
        assert!(parse(&["api.example.com", "-e", "192.0.2.300"]).is_err());
        assert!(
            parse(&[
                "api.example.com",
                "-e",
                "192.0.2.1",
                "--server",
                "dns.example"
            ])
            .is_err()
        );
        assert!(parse(&["api.example.com", "-e", "192.0.2.1", "--timeout", "5"]).is_err());
        assert!(parse(&["api.example.com", "-e", "192.0.2.1", "--quorum", "150"]).is_err());
        assert!(parse(&["api.example.com", "-e", "192.0.2.1", "--interval", "0s"]).is_err());
    }

    #[test]
    fn txt_values_keep_their_commas() {
        let c = parse(&[
            "x.example.com",
            "-t",
            "TXT",
            "-e",
            "v=DMARC1; rua=mailto:a@x,mailto:b@x",
        ])
        .unwrap();
        assert_eq!(c.expect.len(), 1);
    }
}
