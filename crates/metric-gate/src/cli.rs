//! Command-line flags, turned into a plain [`Config`] before any query runs.
//!
//! Rules files are loaded and validated here too, so every usage or
//! configuration error ends the run (exit 64) before the network is touched.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, CommandFactory, Parser, Subcommand, parser::ValueSource};
use golive_core::cli::CommonArgs;
use golive_core::output::Format;
use golive_core::units::{parse_duration, parse_instant, parse_timeout};
use golive_core::{Error, redact};

use crate::condition::Threshold;
use crate::prom::{Endpoint, Options};
use crate::rules::{self, AdHoc, Fallback, Overrides, Rule};

const EXAMPLES: &str = "\
Examples:
  # Judge a rules file now; exit 0 continue, 1 pause, 2 roll back, 3 no data
  metric-gate check --prometheus http://prometheus:9090 --rules examples/gates/soft-launch.toml

  # One query, ad hoc: 5xx share above 5% for 2 minutes rolls back
  metric-gate check --prometheus http://prometheus:9090 \\
      --query 'sum(rate(haproxy_backend_http_responses_total{proxy=\"green\",code=\"5xx\"}[1m])) / sum(rate(haproxy_backend_http_responses_total{proxy=\"green\"}[1m]))' \\
      --warn '> 0.01' --critical '> 0.05' --for 2m --name error_rate

  # Re-judge an incident window
  metric-gate check --rules gates.toml --at 2026-11-28T12:34:00Z --format text

  # Watch for an hour, every 10 s; roll back at the first CRITICAL
  metric-gate watch --rules gates.toml --interval 10s --duration 1h || rollback …

Conditions: '> 0.05', '>= 5%', '< 300ms', '== 1', '!= 0', '0.1..0.5', 'outside 0.1..0.5',
'> 1.5x baseline' (with --baseline-query). Auth: basic auth from the URL
(https://user:pass@…) or --user with METRIC_GATE_PASSWORD; a bearer token from
--bearer-token-file or METRIC_GATE_BEARER_TOKEN; tenant headers with --header
'X-Scope-OrgID: team-a'. Secrets never go on the command line, and are masked
in every output. A rules file's [prometheus] table takes the same (url,
username, password, bearer_token, bearer_token_file, headers, ca, insecure).
Proxies: http_proxy / https_proxy / all_proxy and no_proxy are honoured as curl
reads them, and a proxy used is named in the report and in every error;
--no-proxy (METRIC_GATE_NO_PROXY=true) goes direct.";

/// metric-gate: continue, pause or roll back, judged from Prometheus.
#[derive(Debug, Parser)]
#[command(
    name = "metric-gate",
    version,
    about = "Continue, pause or roll back: judge Prometheus queries against thresholds",
    after_help = EXAMPLES,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Judge every rule once and exit: 0 continue, 1 pause, 2 roll back, 3 no data.
    #[command(after_help = EXAMPLES)]
    Check(CheckArgs),
    /// Judge every rule each interval for a while; exit 2 at the first CRITICAL.
    #[command(after_help = EXAMPLES)]
    Watch(WatchArgs),
    /// Answer HTTP with check's JSON on every request: the judge for Argo Rollouts and Flagger.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Write the rules as Prometheus alerting rules (or an Alertmanager route).
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
    /// The post-launch report: report.md, report.html (charts) and baseline.csv from the timeline and Prometheus.
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
}

const REPORT_HELP: &str = "\
The launch window is the timeline's first to last event; each phase runs from
its first event to the next phase's. See examples/gates/report.toml for the
report file ([queries] for the per-phase table, [[chart]] for the charts).

Example:
  metric-gate report --timeline evidence/timeline.ndjson --rules examples/gates/report.toml \\
    --prometheus http://prometheus:9090 --out evidence/report";

#[derive(Debug, Args)]
struct ReportArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// The launch's timeline (rollback notify writes it).
    #[arg(long, env = "METRIC_GATE_TIMELINE", value_name = "FILE")]
    timeline: PathBuf,
    /// The report file (TOML: [queries], [[chart]], optional [prometheus] and [report]).
    #[arg(long, env = "METRIC_GATE_RULES", value_name = "FILE.toml")]
    rules: PathBuf,
    /// The folder to write report.md, report.html, baseline.csv and the charts into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Resolution of the range queries [default: the file's, else the launch's span / 300 within 1s..15s, at most 11,000 points].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    step: Option<Duration>,
    /// Limit for all the queries together.
    #[arg(long, env = "METRIC_GATE_TIMEOUT", value_name = "DUR", default_value = "30s", value_parser = parse_timeout)]
    timeout: Duration,
}

const SERVE_HELP: &str = "\
Endpoints (GET or POST; a request body, such as Flagger's webhook payload, is read and ignored):
  /          the check document; HTTP 200 continue, 409 pause, 412 roll back, 503 no data
             (Flagger: a confirm-promotion webhook holds promotion until a clean 200)
  /critical  the same, but only a roll-back verdict is non-2xx (Flagger rollout webhooks:
             pauses and blind periods do not count towards the failure threshold)
  /verdict   the same document, always 200 (Argo Rollouts' web provider: jsonPath {$.status},
             successCondition result == \"ok\", failureCondition result == \"critical\")
  /healthz   200 ok (liveness and readiness)
Every request is judged anew within --timeout; SIGTERM stops accepting and exits 0 once
the requests in flight are answered.

Example:
  metric-gate serve --rules /etc/golive/gates.toml --listen 0.0.0.0:9099 --prometheus http://prometheus:9090";

const EXPORT_HELP: &str = "\
Each rule becomes one alert per level it has (severity critical, warning, info) with the
same query, threshold and for window, so the gate and the pager agree. Check the output
with `promtool check rules`.

Examples:
  metric-gate export --rules examples/gates/soft-launch.toml > golive-alerts.yml
  metric-gate export --rules gates.toml --to alertmanager-route --receiver pager";

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    src: SourceArgs,
    /// Address to listen on.
    #[arg(
        long,
        env = "METRIC_GATE_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:9099"
    )]
    listen: std::net::SocketAddr,
    /// Requests judged at once; more get 503 with Retry-After.
    #[arg(long, env = "METRIC_GATE_MAX_CONCURRENT", value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_concurrent: u32,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportTarget {
    /// Prometheus alerting rules (YAML, `rule_files`).
    PrometheusRules,
    /// An Alertmanager route tree sending each severity on.
    AlertmanagerRoute,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Rules file (TOML).
    #[arg(long, env = "METRIC_GATE_RULES", value_name = "FILE.toml")]
    rules: PathBuf,
    /// What to write.
    #[arg(long, value_enum, default_value = "prometheus-rules")]
    to: ExportTarget,
    /// Name of the rule group [default: golive-FILE_STEM].
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
    /// Evaluation interval of the group [default: the rules' shortest step].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    interval: Option<Duration>,
    /// Alertmanager receiver for critical alerts (the route's receivers are named after it).
    #[arg(long, value_name = "NAME", default_value = "golive")]
    receiver: String,
}

/// `metric-gate export`, free of clap.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// The rules, validated.
    pub rules: Vec<Rule>,
    /// The rules file, for the group's name and comments.
    pub path: PathBuf,
    /// What to write.
    pub to: ExportTarget,
    /// The group's name.
    pub group: String,
    /// The group's interval.
    pub interval: Option<Duration>,
    /// The receiver prefix.
    pub receiver: String,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Action {
    /// check, watch or serve.
    Gate(Box<Config>),
    /// export.
    Export(ExportConfig),
    /// report.
    Report(
        Box<crate::launch_report::ReportConfig>,
        Box<(Endpoint, Options)>,
    ),
}

#[derive(Debug, Args)]
struct ConnArgs {
    /// Prometheus base URL.
    #[arg(long, env = "METRIC_GATE_PROMETHEUS", value_name = "URL")]
    prometheus: Option<String>,
    /// Do not verify Prometheus's TLS certificate (shown in the report).
    #[arg(long, env = "METRIC_GATE_INSECURE")]
    insecure: bool,
    /// Trust only the CA certificates in this PEM file for https.
    #[arg(long, env = "METRIC_GATE_CA", value_name = "FILE")]
    ca: Option<String>,
    /// Basic auth user; the password comes from METRIC_GATE_PASSWORD, never the command line.
    #[arg(long = "user", env = "METRIC_GATE_USERNAME", value_name = "USER")]
    user: Option<String>,
    /// Send the bearer token in this file (a service-account or vault-agent token).
    #[arg(long, env = "METRIC_GATE_BEARER_TOKEN_FILE", value_name = "FILE")]
    bearer_token_file: Option<String>,
    /// Request header 'Name: value', e.g. 'X-Scope-OrgID: tenant-1' (repeatable; ${VAR} reads the environment; METRIC_GATE_HEADERS: one a line).
    #[arg(
        short = 'H',
        long = "header",
        env = "METRIC_GATE_HEADERS",
        value_name = "HEADER",
        value_delimiter = '\n',
        hide_env_values = true
    )]
    headers: Vec<String>,
    /// Reach Prometheus directly, whatever http_proxy / https_proxy / all_proxy say.
    #[arg(long, env = "METRIC_GATE_NO_PROXY")]
    no_proxy: bool,
}

#[derive(Debug, Args)]
struct SourceArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Rules file (TOML).
    #[arg(
        long,
        env = "METRIC_GATE_RULES",
        value_name = "FILE.toml",
        conflicts_with = "query"
    )]
    rules: Option<PathBuf>,
    /// One PromQL expression to judge (instead of --rules).
    #[arg(long, value_name = "EXPR")]
    query: Option<String>,
    /// WARNING condition for --query, e.g. '> 0.01'.
    #[arg(long, value_name = "COND", requires = "query", value_parser = parse_threshold, allow_hyphen_values = true)]
    warn: Option<Threshold>,
    /// CRITICAL condition for --query, e.g. '> 0.05'.
    #[arg(long, value_name = "COND", requires = "query", value_parser = parse_threshold, allow_hyphen_values = true)]
    critical: Option<Threshold>,
    /// The condition must hold at every point for this long (e.g. 2m).
    #[arg(long = "for", value_name = "DUR", requires = "query", value_parser = parse_duration)]
    for_: Option<Duration>,
    /// Name of the --query rule in the report.
    #[arg(long, value_name = "NAME", requires = "query")]
    name: Option<String>,
    /// Baseline (e.g. blue) expression for relative conditions like '> 1.5x baseline'.
    #[arg(long, value_name = "EXPR", requires = "query")]
    baseline_query: Option<String>,
    /// Relative conditions compare with max(baseline, this).
    #[arg(long, value_name = "NUM", requires = "baseline_query")]
    baseline_floor: Option<f64>,
    /// Status when the --query has no data (empty, NaN, ±Inf, missing points).
    #[arg(long, value_enum, value_name = "STATUS", requires = "query")]
    on_no_data: Option<Fallback>,
    /// Resolution of `for` windows (default 15s, or for/4 when shorter).
    #[arg(long, env = "METRIC_GATE_STEP", value_name = "DUR", value_parser = parse_duration)]
    step: Option<Duration>,
    /// Limit for the whole check (every rule's queries), or for each round of a watch.
    #[arg(long, env = "METRIC_GATE_TIMEOUT", value_name = "DUR", default_value = "10s", value_parser = parse_timeout)]
    timeout: Duration,
}

#[derive(Debug, Args)]
struct CheckArgs {
    #[command(flatten)]
    src: SourceArgs,
    /// Evaluate at this instant (RFC 3339 or unix seconds) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    at: Option<SystemTime>,
}

#[derive(Debug, Args)]
struct WatchArgs {
    #[command(flatten)]
    src: SourceArgs,
    /// Time between rounds.
    #[arg(long, env = "METRIC_GATE_INTERVAL", value_name = "DUR", default_value = "30s", value_parser = parse_duration)]
    interval: Duration,
    /// How long to watch; exit 0 at the end if no round was CRITICAL.
    #[arg(long, env = "METRIC_GATE_DURATION", value_name = "DUR", value_parser = parse_duration)]
    duration: Duration,
    /// Exit 1 (pause) after this many rounds in a row with a WARNING.
    #[arg(long, env = "METRIC_GATE_MAX_CONSECUTIVE_WARNINGS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_consecutive_warnings: Option<u32>,
    /// Exit 3 after this many rounds in a row that could not see their evidence.
    #[arg(long, env = "METRIC_GATE_MAX_CONSECUTIVE_UNKNOWN", value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    max_consecutive_unknown: u32,
    /// Replay history from this instant, one round per interval, without waiting.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    at: Option<SystemTime>,
}

fn parse_threshold(s: &str) -> Result<Threshold, String> {
    Threshold::parse(s)
}

/// What `watch` does besides judging.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Time between rounds.
    pub interval: Duration,
    /// Length of the watch.
    pub duration: Duration,
    /// Rounds with a WARNING in a row before exit 1.
    pub max_consecutive_warnings: Option<u32>,
    /// Rounds UNKNOWN in a row before exit 3.
    pub max_consecutive_unknown: u32,
}

/// What `serve` does besides judging.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// `--listen`.
    pub listen: std::net::SocketAddr,
    /// `--max-concurrent`.
    pub max_concurrent: usize,
}

/// Everything a run needs, free of clap.
#[derive(Debug, Clone)]
pub struct Config {
    /// `Some` for `watch`.
    pub watch: Option<WatchConfig>,
    /// `Some` for `serve`.
    pub serve: Option<ServeConfig>,
    /// Where Prometheus is.
    pub endpoint: Endpoint,
    /// How to reach it: TLS trust, `--insecure`, the proxy (or none).
    pub http: Options,
    /// The rules, validated.
    pub rules: Vec<Rule>,
    /// `--at`.
    pub at: Option<SystemTime>,
    /// `--timeout`.
    pub timeout: Duration,
    /// `--format`.
    pub format: Format,
    /// Whether `--format` was given (watch defaults to ndjson).
    pub format_given: bool,
}

/// Parse `args` into what to do; `Err` is the exit code to end with (help
/// and version print and give 0; errors print one line and give 64).
pub fn action(args: Vec<OsString>) -> Result<Action, std::process::ExitCode> {
    let cli: Cli = golive_core::cli::parse(crate::TOOL, args.clone())?;
    if let Cmd::Export(e) = cli.cmd {
        cli.common.init_log(crate::TOOL);
        let set =
            rules::load(&e.rules, &Overrides::default()).map_err(|err| err.report(crate::TOOL))?;
        let stem = e
            .rules
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "gates".into());
        return Ok(Action::Export(ExportConfig {
            rules: set.rules,
            group: e.group.unwrap_or_else(|| format!("golive-{stem}")),
            path: e.rules,
            to: e.to,
            interval: e.interval,
            receiver: e.receiver,
        }));
    }
    if let Cmd::Report(r) = cli.cmd {
        cli.common.init_log(crate::TOOL);
        let report = |r: ReportArgs| -> Result<Action, Error> {
            let file: crate::launch_report::ReportFile = golive_core::config::load(&r.rules)?;
            if file.chart.is_empty() && file.queries.named().is_empty() {
                return Err(Error::Config {
                    path: r.rules.display().to_string(),
                    line: None,
                    column: None,
                    message: "no [queries] and no [[chart]]: nothing to report".into(),
                });
            }
            let conn = connection(&r.conn, &file.prometheus)?;
            Ok(Action::Report(
                Box::new(crate::launch_report::ReportConfig {
                    timeline: r.timeline,
                    file,
                    file_path: r.rules,
                    out: r.out,
                    timeout: r.timeout,
                    step: r.step,
                }),
                Box::new(conn),
            ))
        };
        return report(r).map_err(|e| e.report(crate::TOOL));
    }
    config_of(cli, args).map(|c| Action::Gate(Box::new(c)))
}

/// Parse `args` and build the [`Config`]; `Err` is the exit code to end with
/// (help and version print and give 0; errors print one line and give 64).
pub fn config(args: Vec<OsString>) -> Result<Config, std::process::ExitCode> {
    let cli: Cli = golive_core::cli::parse(crate::TOOL, args.clone())?;
    config_of(cli, args)
}

fn config_of(cli: Cli, args: Vec<OsString>) -> Result<Config, std::process::ExitCode> {
    cli.common.init_log(crate::TOOL);
    let format_given = Cli::command()
        .try_get_matches_from(args)
        .ok()
        .map(|m| {
            let given =
                |m: &clap::ArgMatches| m.value_source("format") == Some(ValueSource::CommandLine);
            given(&m) || m.subcommand().is_some_and(|(_, sub)| given(sub))
        })
        .unwrap_or(false);
    build(cli, format_given).map_err(|e| e.report(crate::TOOL))
}

/// Where Prometheus is and how to reach it, from the flags (and their
/// environment variables) over a file's `[prometheus]` table; every secret
/// registered before anything can print it.
fn connection(c: &ConnArgs, file_source: &rules::SourceFile) -> Result<(Endpoint, Options), Error> {
    let url = c
        .prometheus
        .clone()
        .or(file_source.url.clone())
        .ok_or_else(|| {
            Error::usage("no Prometheus URL: give --prometheus URL, METRIC_GATE_PROMETHEUS or [prometheus] url in the rules file (see --help)")
        })?;
    golive_core::units::check_url_port(&url)
        .map_err(|e| Error::usage(format!("{e} (see --help)")))?;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let usage = |e: String| Error::usage(format!("{e} (see --help)"));
    let ca = c.ca.clone().or(file_source.ca.clone());
    let http = Options {
        roots: match &ca {
            Some(p) => golive_http::Roots::from_ca_file(p).map_err(usage)?,
            None => golive_http::Roots::System,
        },
        insecure: c.insecure || file_source.insecure.unwrap_or(false),
        proxy: golive_http::Proxy::for_url(&url, c.no_proxy).map_err(usage)?,
        ..Options::new(concat!("metric-gate/", env!("CARGO_PKG_VERSION")))
    };
    // The command line and the environment win over the rules file.
    let token_file = c
        .bearer_token_file
        .clone()
        .or(file_source.bearer_token_file.clone());
    let bearer_token = match (env("METRIC_GATE_BEARER_TOKEN"), token_file) {
        (Some(t), _) => Some(t),
        (None, Some(f)) => Some(golive_http::read_token_file(&f).map_err(usage)?),
        (None, None) => file_source.bearer_token.clone(),
    };
    let mut headers: Vec<(String, String)> = file_source.headers.clone().into_iter().collect();
    for (k, v) in golive_http::parse_headers(&c.headers).map_err(usage)? {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
        headers.push((k, v));
    }
    let endpoint = Endpoint {
        url,
        username: c.user.clone().or(file_source.username.clone()),
        password: env("METRIC_GATE_PASSWORD").or(file_source.password.clone()),
        bearer_token,
        headers,
    };
    endpoint.validate().map_err(usage)?;
    // Secrets are known from here on: nothing printed may show them.
    for s in [&endpoint.password, &endpoint.bearer_token]
        .into_iter()
        .flatten()
    {
        redact::register(s);
    }
    for (k, v) in &endpoint.headers {
        let _ = redact::header(k, v);
    }
    let _ = redact::url(&endpoint.url);
    Ok((endpoint, http))
}

/// [`config`] for metric-gate used as a library: nothing printed, every
/// failure an [`Error`].
pub fn config_quiet(args: Vec<OsString>) -> Result<Config, Error> {
    let cli: Cli = golive_core::cli::try_parse(args)?;
    build(cli, false)
}

fn build(cli: Cli, format_given: bool) -> Result<Config, Error> {
    let mut serve = None;
    let (src, at, watch) = match cli.cmd {
        Cmd::Check(c) => (c.src, c.at, None),
        Cmd::Serve(s) => {
            serve = Some(ServeConfig {
                listen: s.listen,
                max_concurrent: s.max_concurrent as usize,
            });
            (s.src, None, None)
        }
        Cmd::Export(_) | Cmd::Report(_) => {
            return Err(Error::usage("export and report are not gates (see --help)"));
        }
        Cmd::Watch(w) => {
            if w.interval.is_zero() || w.duration.is_zero() {
                return Err(Error::usage(
                    "--interval and --duration must be above zero (see --help)",
                ));
            }
            let wc = WatchConfig {
                interval: w.interval,
                duration: w.duration,
                max_consecutive_warnings: w.max_consecutive_warnings,
                max_consecutive_unknown: w.max_consecutive_unknown,
            };
            (w.src, w.at, Some(wc))
        }
    };
    let over = Overrides { step: src.step };
    let (rules, file_source) = match (&src.rules, &src.query) {
        (Some(path), None) => {
            let set = rules::load(path, &over)?;
            (set.rules, set.source)
        }
        (None, Some(q)) => {
            if src.warn.is_none() && src.critical.is_none() {
                return Err(Error::usage(
                    "--query needs --warn or --critical (see --help)",
                ));
            }
            let rule = rules::ad_hoc(
                AdHoc {
                    name: src.name.clone(),
                    query: q.clone(),
                    warn: src.warn.clone(),
                    critical: src.critical.clone(),
                    for_: src.for_,
                    on_no_data: src.on_no_data,
                    baseline_query: src.baseline_query.clone(),
                    baseline_floor: src.baseline_floor,
                },
                &over,
            )?;
            (vec![rule], Default::default())
        }
        _ => {
            return Err(Error::usage(
                "give --rules FILE.toml or --query EXPR with --warn/--critical (see --help)",
            ));
        }
    };
    let (endpoint, http) = connection(&src.conn, &file_source)?;
    Ok(Config {
        watch,
        serve,
        endpoint,
        http,
        rules,
        at,
        timeout: src.timeout,
        format: cli.common.format,
        format_given,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Result<Config, Error> {
        let mut v = vec!["metric-gate"];
        v.extend_from_slice(args);
        let cli = Cli::try_parse_from(v).map_err(|e| Error::usage(e.to_string()))?;
        build(cli, false)
    }

    #[test]
    fn definition_is_sound() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ad_hoc_spelling_from_the_issue() {
        let c = cfg(&[
            "check",
            "--prometheus",
            "http://p:9090",
            "--query",
            "up",
            "--warn",
            "> 0.01",
            "--critical",
            "> 0.05",
            "--for",
            "2m",
            "--name",
            "err",
        ])
        .unwrap();
        assert_eq!(c.rules[0].name, "err");
        assert_eq!(c.rules[0].critical_for, Duration::from_secs(120));
        assert!(c.watch.is_none());
    }

    #[test]
    fn negative_thresholds_are_values_not_flags() {
        let c = cfg(&[
            "check",
            "--prometheus",
            "http://p",
            "--query",
            "x",
            "--warn",
            "-1..1",
        ])
        .unwrap();
        assert!(c.rules[0].warn.is_some());
    }

    #[test]
    fn missing_pieces_are_usage_errors() {
        assert!(cfg(&["check", "--prometheus", "http://p"]).is_err());
        assert!(cfg(&["check", "--prometheus", "http://p", "--query", "up"]).is_err());
        assert!(
            cfg(&["check", "--query", "up", "--warn", "> 1"]).is_err(),
            "no URL"
        );
        assert!(
            cfg(&[
                "watch",
                "--prometheus",
                "http://p",
                "--query",
                "up",
                "--warn",
                "> 1"
            ])
            .is_err(),
            "no --duration"
        );
        let e = cfg(&[
            "check",
            "--prometheus",
            "http://p",
            "--query",
            "up",
            "--warn",
            "> 1",
            "--timeout",
            "5",
        ]);
        assert!(e.is_err());
    }

    #[test]
    fn format_given_is_detected() {
        let c = config(
            [
                "metric-gate",
                "watch",
                "--prometheus",
                "http://p",
                "--query",
                "x",
                "--warn",
                "> 1",
                "--duration",
                "1s",
                "--format",
                "json",
            ]
            .iter()
            .map(OsString::from)
            .collect(),
        )
        .unwrap();
        assert!(c.format_given);
        let c = config(
            [
                "metric-gate",
                "watch",
                "--prometheus",
                "http://p",
                "--query",
                "x",
                "--warn",
                "> 1",
                "--duration",
                "1s",
            ]
            .iter()
            .map(OsString::from)
            .collect(),
        )
        .unwrap();
        assert!(!c.format_given);
    }
}
