//! Flags, parsed with clap and turned into a plain [`Plan`] before any work
//! starts; nothing past this module sees clap.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use golive_core::cli::CommonArgs;
use golive_core::units::{parse_duration, parse_percent, parse_size, parse_timeout};
use golive_core::{Error, redact};

use crate::check::Spec;
use crate::check::file::FileSpec;
use crate::check::http::{HttpSpec, JsonCheck, StatusMatch};
use crate::check::postgres::PostgresSpec;
use crate::check::prometheus::PrometheusSpec;
use crate::check::redis::RedisSpec;
use crate::check::roots::Roots;
use crate::check::smtp::{SmtpSpec, SmtpTls};
use crate::check::tcp::TcpSpec;
use crate::check::tls::TlsSpec;
use crate::plan::{Check, Plan, Timing};

const EXAMPLES: &str = "\
Examples:
  probe http https://api.internal/health --header 'X-API-Key: ${API_KEY}' --body-contains ok
  probe tcp db.internal:5432 --timeout 2s
  probe tls api.example.com:443 --warn-days 30 --crit-days 7
  PROBE_POSTGRES_DSN='postgres://app:pw@db/minimarket' probe postgres --max-connections-used 80%
  probe redis redis://cache:6379 --wait 1m
  probe prometheus http://prometheus:9090
  probe file '/backups/postgresql/minimarket_*.sql.gz' --max-age 26h --gzip
  probe run examples/preflight.toml --format text
  probe http http://localhost:8080/api/health --retries 10 --interval 2s
  https_proxy=http://proxy:3128 probe http https://api.example.com/health   # named in the report
  probe http http://api.internal/health --no-proxy

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, 64 usage.";

/// probe: is it up? Checks a service the way a client would and exits
/// 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN, with one JSON report.
#[derive(Debug, Parser)]
#[command(name = "probe", version, after_help = EXAMPLES, arg_required_else_help = true)]
pub struct Cli {
    /// What to check.
    #[command(subcommand)]
    pub command: Command,
    /// Output and logging.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Attempts and deadlines.
    #[command(flatten)]
    pub timing: TimingArgs,
}

/// Attempts and deadlines, for every subcommand.
#[derive(Debug, Clone, Args)]
pub struct TimingArgs {
    /// Limit for one attempt of each check: connect, handshake, answer [default: 10s]; --wait bounds all attempts.
    #[arg(long, global = true, env = "PROBE_TIMEOUT", value_name = "DUR", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Try again this many times after a failure.
    #[arg(long, global = true, env = "PROBE_RETRIES", value_name = "N")]
    pub retries: Option<u32>,
    /// Pause between attempts [default: 2s].
    #[arg(long, global = true, env = "PROBE_INTERVAL", value_name = "DUR", value_parser = parse_duration)]
    pub interval: Option<Duration>,
    /// Keep trying until the check passes or DUR has passed (one report at the end).
    #[arg(long, global = true, env = "PROBE_WAIT", value_name = "DUR", value_parser = parse_duration)]
    pub wait: Option<Duration>,
    /// Name of the check in the report and the prom `check` label [default: the subcommand].
    #[arg(long, global = true, value_name = "NAME")]
    pub name: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// An HTTP(S) request: status, body, a JSON field, latency.
    #[command(
        after_help = "Examples:\n  probe http http://staging.api/health --header 'X-API-Key: ${KEY}'\n  probe http https://api/health --expect-status 200,204 --max-latency 500ms\n  probe http http://api/health --json-path checks.db --equals up"
    )]
    Http(HttpArgs),
    /// A TCP connect.
    #[command(after_help = "Example:\n  probe tcp db.internal:5432 --timeout 2s")]
    Tcp(TcpArgs),
    /// A TLS handshake: chain, host name and days left on every certificate.
    #[command(
        after_help = "Examples:\n  probe tls api.example.com:443\n  probe tls 10.0.0.5:443 --sni api.example.com --ca /etc/ssl/private-ca.pem"
    )]
    Tls(TlsArgs),
    /// SMTP: greeting, EHLO, STARTTLS or TLS with the certificate judged, AUTH.
    #[command(
        after_help = "Examples:\n  probe smtp smtp.example.com:587 --starttls --warn-days 21\n  PROBE_SMTP_USER=alerts PROBE_SMTP_PASSWORD=… probe smtp smtp.example.com:465\nPort 465 is TLS from the start unless --starttls is given. AUTH is tried when\nPROBE_SMTP_USER and PROBE_SMTP_PASSWORD are set, and only over TLS. Nothing is mailed."
    )]
    Smtp(SmtpArgs),
    /// PostgreSQL: log in, run a query, read how full the connection pool is.
    #[command(
        after_help = "Examples:\n  probe postgres 'postgres://appuser@prod-db/minimarket' --max-connections-used 80%\n  PROBE_POSTGRES_DSN='host=db user=app password=…' probe postgres --query 'SELECT count(*) FROM orders'\nA password missing from the DSN is read from PGPASSWORD."
    )]
    Postgres(PostgresArgs),
    /// Redis: PING must answer PONG.
    #[command(
        after_help = "Examples:\n  probe redis redis://prod-redis:6379 --wait 30s\n  PROBE_REDIS_URL=\"rediss://app:$REDIS_PASSWORD@cache:6380/0\" probe redis --ca /etc/ssl/redis-ca.pem\nThe password is never printed; an ACL user goes before it (user:password@)."
    )]
    Redis(RedisArgs),
    /// Prometheus: every series of a query (default `up`) must be non-zero.
    #[command(
        after_help = "Examples:\n  probe prometheus http://prometheus:9090\n  probe prometheus http://prometheus:9090 --query 'up{job=\"api\"}'"
    )]
    Prometheus(PrometheusArgs),
    /// The newest file matching a glob: present, fresh, big enough, whole.
    #[command(
        after_help = "Example:\n  probe file '/backups/postgresql/minimarket_*.sql.gz' --max-age 26h --min-size 1MB --gzip"
    )]
    File(FileArgs),
    /// Many named checks from a TOML file, concurrently, in one report.
    #[command(
        after_help = "Example:\n  API_KEY=… PG_DSN=… probe run examples/preflight.toml --format text\nSee docs/probe.md for the file format."
    )]
    Run(RunArgs),
}

/// `probe http`.
#[derive(Debug, Args)]
pub struct HttpArgs {
    /// http:// or https:// URL.
    #[arg(env = "PROBE_HTTP_URL")]
    pub url: String,
    /// Request header 'Name: value' (repeatable; ${VAR} reads the environment); @FILE reads one per line.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Request method.
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,
    /// Request body (e.g. for POST).
    #[arg(short = 'd', long, value_name = "BODY")]
    pub data: Option<String>,
    /// Status codes that pass: 200, 2xx, 200,204 or 200-299 [default: 2xx].
    #[arg(long, value_name = "CODES")]
    pub expect_status: Option<String>,
    /// Text the body must contain (repeatable).
    #[arg(long, value_name = "TEXT")]
    pub body_contains: Vec<String>,
    /// A JSON field of the body, e.g. status or checks.db; it must exist and not be null.
    #[arg(long, value_name = "PATH")]
    pub json_path: Option<String>,
    /// The value the --json-path field must have.
    #[arg(long, value_name = "VALUE", requires = "json_path")]
    pub equals: Option<String>,
    /// Slower than this is a WARNING.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub max_latency: Option<Duration>,
    /// Slower than this is CRITICAL.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub crit_latency: Option<Duration>,
    /// Follow redirects (up to 10); by default a 3xx is judged as it is.
    #[arg(short = 'L', long)]
    pub follow: bool,
    /// Trust only the CA certificates in this PEM file.
    #[arg(long, env = "PROBE_CA", value_name = "FILE")]
    pub ca: Option<String>,
    /// Do not verify the certificate (shown in the report).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Go direct, whatever http_proxy / https_proxy / all_proxy say.
    #[arg(long, env = "PROBE_NO_PROXY")]
    pub no_proxy: bool,
}

/// `probe tcp`.
#[derive(Debug, Args)]
pub struct TcpArgs {
    /// HOST:PORT.
    pub address: String,
}

/// `probe tls`.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// HOST:PORT.
    pub address: String,
    #[command(flatten)]
    pub tls: TlsFlags,
}

/// How a certificate is judged (`probe tls` and `probe smtp`).
#[derive(Debug, Args)]
pub struct TlsFlags {
    /// Fewer days left than this on any certificate is a WARNING [default: 30].
    #[arg(long, env = "PROBE_WARN_DAYS", value_name = "N")]
    pub warn_days: Option<u32>,
    /// Fewer days left than this is CRITICAL [default: 7].
    #[arg(long, env = "PROBE_CRIT_DAYS", value_name = "N")]
    pub crit_days: Option<u32>,
    /// Name to send (SNI) and verify [default: HOST].
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// Trust only the CA certificates in this PEM file.
    #[arg(long, env = "PROBE_CA", value_name = "FILE")]
    pub ca: Option<String>,
    /// Report, but do not judge, the chain and the host name.
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

impl TlsFlags {
    /// The TLS check of `address` these flags describe.
    fn spec(self, address: &str) -> Result<TlsSpec, Error> {
        let r = roots(self.ca.as_deref()).map_err(Error::usage)?;
        TlsSpec::new(
            address,
            self.sni,
            self.warn_days,
            self.crit_days,
            r,
            self.insecure,
        )
        .map_err(Error::usage)
    }
}

/// `probe smtp`.
#[derive(Debug, Args)]
pub struct SmtpArgs {
    /// HOST:PORT (25, 587 or 465).
    pub address: String,
    /// Require STARTTLS and judge its certificate.
    #[arg(long, conflicts_with = "tls")]
    pub starttls: bool,
    /// TLS from the first byte (SMTPS; the default on port 465).
    #[arg(long)]
    pub tls: bool,
    #[command(flatten)]
    pub cert: TlsFlags,
    /// The name to greet with [default: golive-probe.localhost].
    #[arg(long, value_name = "NAME")]
    pub ehlo: Option<String>,
}

/// `probe postgres`.
#[derive(Debug, Args)]
pub struct PostgresArgs {
    /// postgres://user:pass@host:port/db or 'host=… user=… dbname=…'.
    #[arg(env = "PROBE_POSTGRES_DSN", hide_env_values = true)]
    pub dsn: String,
    /// The query to run [default: SELECT 1].
    #[arg(long, value_name = "SQL")]
    pub query: Option<String>,
    /// More client connections than this share of max_connections is CRITICAL.
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub max_connections_used: Option<f64>,
    /// More than this share is a WARNING.
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub warn_connections_used: Option<f64>,
}

/// `probe redis`.
#[derive(Debug, Args)]
pub struct RedisArgs {
    /// redis[s]://[[user]:password@]host[:port][/db]; rediss:// is TLS.
    #[arg(env = "PROBE_REDIS_URL", hide_env_values = true)]
    pub url: String,
    /// rediss://: trust only the CA certificates in this PEM file.
    #[arg(long, env = "PROBE_CA", value_name = "FILE")]
    pub ca: Option<String>,
    /// rediss://: do not verify the certificate (shown in the report).
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

/// `probe prometheus`.
#[derive(Debug, Args)]
pub struct PrometheusArgs {
    /// Prometheus base URL, e.g. http://prometheus:9090.
    #[arg(env = "PROBE_PROMETHEUS_URL")]
    pub url: String,
    /// PromQL expression; every series must be non-zero [default: up].
    #[arg(long, value_name = "EXPR")]
    pub query: Option<String>,
    /// Request header 'Name: value' (repeatable), e.g. 'X-Scope-OrgID: tenant-1'.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Basic auth user; the password comes from PROBE_PROMETHEUS_PASSWORD (or the URL's user:pass@).
    #[arg(long = "user", env = "PROBE_PROMETHEUS_USER", value_name = "USER")]
    pub user: Option<String>,
    /// Send the bearer token in this file (else PROBE_PROMETHEUS_BEARER_TOKEN).
    #[arg(long, env = "PROBE_PROMETHEUS_BEARER_TOKEN_FILE", value_name = "FILE")]
    pub bearer_token_file: Option<String>,
    /// Trust only the CA certificates in this PEM file.
    #[arg(long, env = "PROBE_CA", value_name = "FILE")]
    pub ca: Option<String>,
    /// Do not verify the certificate (shown in the report).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Go direct, whatever http_proxy / https_proxy / all_proxy say.
    #[arg(long, env = "PROBE_NO_PROXY")]
    pub no_proxy: bool,
}

/// `probe file`.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// Glob; the newest match (by mtime) is judged. Quote it.
    pub glob: String,
    /// Older than this is CRITICAL.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
    /// Older than this is a WARNING.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub warn_age: Option<Duration>,
    /// Smaller than this is CRITICAL (512, 10KB, 1MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub min_size: Option<u64>,
    /// Read the whole file as gzip: a corrupt or truncated stream is CRITICAL.
    #[arg(long)]
    pub gzip: bool,
}

/// `probe run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The TOML file of checks.
    pub file: PathBuf,
    /// Checks to run at once [default: 64].
    #[arg(long, env = "PROBE_CONCURRENCY", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: Option<u32>,
    /// Run only the check of this name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// http and prometheus checks go direct, whatever http_proxy / https_proxy / all_proxy say (a check's `no_proxy` wins).
    #[arg(long, env = "PROBE_NO_PROXY")]
    pub no_proxy: bool,
}

pub use golive_http::parse_headers as headers;

/// `--ca FILE` (or none) as trust roots.
pub fn roots(ca: Option<&str>) -> Result<Roots, String> {
    match ca {
        Some(p) => Roots::from_ca_file(p),
        None => Ok(Roots::System),
    }
}

/// Turn parsed flags into a plan.
pub fn plan(cli: Cli) -> Result<Plan, Error> {
    let t = &cli.timing;
    let flags = Timing {
        timeout: t.timeout.unwrap_or(crate::plan::DEFAULT_TIMEOUT),
        retries: t.retries,
        interval: t.interval.unwrap_or(crate::plan::DEFAULT_INTERVAL),
        wait: t.wait,
    };
    if flags.timeout.is_zero() {
        return Err(Error::usage("--timeout must be more than 0"));
    }
    let format = cli.common.format;
    let (kind, target, spec) = match cli.command {
        Command::Run(r) => {
            if t.name.is_some() {
                return Err(Error::usage(
                    "--name names a single check; in `probe run` each check has its name in the file",
                ));
            }
            return crate::file::plan(&r, t, format);
        }
        Command::Http(a) => {
            let display = redact::url(&a.url);
            let mut s = HttpSpec {
                url: a.url,
                display: display.clone(),
                method: a.method,
                headers: headers(&a.headers).map_err(Error::usage)?,
                body: a.data,
                expect: match &a.expect_status {
                    Some(e) => StatusMatch::parse(e).map_err(Error::usage)?,
                    None => StatusMatch::default(),
                },
                body_contains: a.body_contains,
                json: a
                    .json_path
                    .as_deref()
                    .map(|p| JsonCheck::new(p, a.equals.clone()))
                    .transpose()
                    .map_err(Error::usage)?,
                max_latency: a.max_latency,
                crit_latency: a.crit_latency,
                insecure: a.insecure,
                roots: roots(a.ca.as_deref()).map_err(Error::usage)?,
                follow: a.follow,
                proxy: None,
            };
            s.validate(a.no_proxy).map_err(Error::usage)?;
            ("http", display, Spec::Http(s))
        }
        Command::Tcp(a) => {
            let s = TcpSpec::new(&a.address).map_err(Error::usage)?;
            ("tcp", a.address, Spec::Tcp(s))
        }
        Command::Tls(a) => {
            let s = a.tls.spec(&a.address)?;
            ("tls", a.address, Spec::Tls(s))
        }
        Command::Smtp(a) => {
            let t = a.cert.spec(&a.address)?;
            let mode = if a.starttls {
                Some(SmtpTls::StartTls)
            } else if a.tls {
                Some(SmtpTls::Implicit)
            } else {
                None
            };
            let s = SmtpSpec::new(t, mode, a.ehlo).map_err(Error::usage)?;
            ("smtp", a.address, Spec::Smtp(s))
        }
        Command::Postgres(a) => {
            let s = PostgresSpec::new(
                &a.dsn,
                a.query,
                a.max_connections_used,
                a.warn_connections_used,
            )
            .map_err(Error::usage)?;
            ("postgres", s.display.clone(), Spec::Postgres(s))
        }
        Command::Redis(a) => {
            let r = roots(a.ca.as_deref()).map_err(Error::usage)?;
            let s = RedisSpec::new(&a.url, r, a.insecure).map_err(Error::usage)?;
            ("redis", s.display.clone(), Spec::Redis(s))
        }
        Command::Prometheus(a) => {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            let bearer_token = match (&a.bearer_token_file, env("PROBE_PROMETHEUS_BEARER_TOKEN")) {
                (Some(f), _) => Some(golive_http::read_token_file(f).map_err(Error::usage)?),
                (None, t) => t,
            };
            let password = env("PROBE_PROMETHEUS_PASSWORD");
            if let Some(p) = &password {
                golive_core::redact::register(p);
            }
            if let Some(t) = &bearer_token {
                golive_core::redact::register(t);
            }
            let auth = golive_http::Endpoint {
                url: String::new(),
                username: a.user,
                password,
                bearer_token,
                headers: headers(&a.headers).map_err(Error::usage)?,
            };
            let s = PrometheusSpec::new(
                &a.url,
                a.query,
                auth,
                roots(a.ca.as_deref()).map_err(Error::usage)?,
                a.insecure,
                a.no_proxy,
            )
            .map_err(Error::usage)?;
            ("prometheus", s.display.clone(), Spec::Prometheus(s))
        }
        Command::File(a) => {
            let s = FileSpec::new(&a.glob, a.max_age, a.warn_age, a.min_size, a.gzip)
                .map_err(Error::usage)?;
            ("file", a.glob, Spec::File(s))
        }
    };
    let name = match &t.name {
        Some(n) if n.trim().is_empty() => return Err(Error::usage("--name is empty")),
        Some(n) => n.clone(),
        None => kind.to_string(),
    };
    Ok(Plan {
        checks: vec![Arc::new(Check {
            name,
            target,
            timing: flags,
            spec,
        })],
        format,
        concurrency: 1,
        file: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_sound() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_become_a_plan() {
        let cli = Cli::try_parse_from([
            "probe",
            "http",
            "http://127.0.0.1:1/health",
            "--header",
            "X-API-Key: cli-secret-9",
            "--expect-status",
            "200,204",
            "--timeout",
            "3s",
            "--name",
            "api",
        ])
        .unwrap();
        let p = plan(cli).unwrap();
        let c = &p.checks[0];
        assert_eq!(c.name, "api");
        assert_eq!(c.timing.timeout, Duration::from_secs(3));
        assert_eq!(c.spec.kind(), "http");
        assert_eq!(redact::scrub("cli-secret-9"), "***");
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            vec!["probe", "http", "ftp://x/"],
            vec!["probe", "http", "http://x/", "--expect-status", "abc"],
            vec!["probe", "tcp", "nohostport"],
            vec!["probe", "postgres", "postgres://u@h/db", "--query", " "],
            vec!["probe", "file", "/b/[", "--gzip"],
        ] {
            let cli = Cli::try_parse_from(&args).unwrap();
            let e = plan(cli).unwrap_err();
            assert_eq!(e.exit_code(), 64, "{args:?}");
        }
    }
}
