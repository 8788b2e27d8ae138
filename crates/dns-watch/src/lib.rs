//! dns-watch: watch a DNS change reach every resolver or authoritative
//! nameserver, and say which servers lag, what they answer, and how much
//! longer their caches will hold the old answer.
//!
//! - [`cli`]: flags → [`cli::Config`];
//! - [`servers`]: `--server`, `--servers-file`, the default list;
//! - [`discover`]: SOA walk and NS set for `--authoritative`;
//! - [`query`]: raw parallel queries (hickory-net; its runtime stays inside);
//! - [`answer`]: CNAME chains, TTLs, matching;
//! - [`watch`]: rounds, quorum, `eta_s`, deadline;
//! - [`report`]: json, ndjson, text, prom, csv.

pub mod answer;
pub mod cli;
pub mod discover;
pub mod query;
pub mod report;
pub mod servers;
pub mod watch;

use std::ffi::OsString;
use std::process::ExitCode;

use golive_core::output::{self, Format};
use golive_core::{Deadline, Error, Run, Status};

use crate::cli::{Cli, Config};
use crate::report::{Context, Live};
use crate::watch::Watch;

/// The tool's name in output and logs.
pub const TOOL: &str = "dns-watch";

/// Run dns-watch with `args` (the program name first); returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    golive_core::runner::main(TOOL, || {
        let cli: Cli = match golive_core::cli::parse(TOOL, args) {
            Ok(c) => c,
            Err(code) => return code,
        };
        cli.common.init_log(TOOL);
        let cfg = match cli.into_config() {
            Ok(c) => c,
            Err(e) => return e.report(TOOL),
        };
        let run = Run::start(TOOL, env!("CARGO_PKG_VERSION"));
        match execute(&run, &cfg) {
            Ok(status) => status.into(),
            Err(e) => {
                emit_failure(&run, &cfg, &e);
                e.report(TOOL)
            }
        }
    })
}

fn execute(run: &Run, cfg: &Config) -> Result<Status, Error> {
    let mut live = Live::new(run, cfg);
    let (ctx, fin) = watch_until_done(cfg, &mut |ev| live.on_event(ev))?;
    live.finish();
    report::emit_final(run, cfg, &ctx, &fin);
    Ok(fin.status)
}

/// dns-watch as a library (rollback's DNS step): `args` as on the command
/// line (program name first), watched to the end with nothing printed on
/// stdout; the status and the summary document, or why it could not run
/// (a usage error is exit 64 there too).
pub fn evaluate<I, T>(args: I) -> Result<(Status, serde_json::Value), Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli: Cli = golive_core::cli::try_parse(args)?;
    let cfg = cli.into_config()?;
    let run = Run::start(TOOL, env!("CARGO_PKG_VERSION"));
    match watch_until_done(&cfg, &mut |_| {}) {
        Ok((ctx, fin)) => Ok((fin.status, report::summary(&run, &cfg, &ctx, &fin))),
        Err(e) => match e.status() {
            Some(status) => {
                let doc = report::failure_summary(&run, &cfg, status, e.to_string());
                Ok((status, doc))
            }
            None => Err(e),
        },
    }
}

/// Discover the servers (or take them), then watch rounds until the quorum
/// matches, the deadline passes or a signal arrives.
fn watch_until_done(
    cfg: &Config,
    on_event: &mut dyn FnMut(watch::Event<'_>),
) -> Result<(Context, watch::Final), Error> {
    let engine = query::Engine::new()
        .map_err(|e| Error::unknown(format!("cannot start the query engine: {e}")))?;
    let deadline = Deadline::after(cfg.timeout);
    let mut ctx = Context::default();
    let (servers, zone) = if !cfg.servers.is_empty() {
        (cfg.servers.clone(), None)
    } else if cfg.authoritative {
        let resolver = match cfg.resolver {
            Some(r) => r,
            None => *servers::system_resolvers().first().ok_or_else(|| {
                Error::unknown(format!(
                    "{} lists no nameserver to find the zone with; give --resolver or --server",
                    servers::RESOLV_CONF
                ))
            })?,
        };
        ctx.resolver = Some(resolver.to_string());
        let d = discover::discover(&engine, resolver, &cfg.name, &deadline, cfg.query_timeout)?;
        golive_core::log::debug(&format!(
            "zone {} served by {}",
            answer::name_str(&d.zone),
            d.nameservers.join(", ")
        ));
        ctx.nameservers = d.nameservers;
        (d.servers, Some(d.zone))
    } else {
        (servers::defaults(&servers::system_resolvers()), None)
    };
    for d in &cfg.duplicates {
        golive_core::log::warn(&format!(
            "server {d}: same address as an earlier server; asked once"
        ));
    }
    let fin = Watch::new(cfg, &engine, servers, zone).run(deadline, on_event);
    Ok((ctx, fin))
}

/// When no round could run (discovery failed): still one summary on stdout,
/// so a script reading it sees the status and why.
fn emit_failure(run: &Run, cfg: &Config, e: &Error) {
    let status = e.status().unwrap_or(Status::Unknown);
    match cfg.format {
        Format::Json | Format::Ndjson => output::emit_summary_json(
            cfg.format,
            &report::failure_summary(run, cfg, status, e.to_string()),
        ),
        Format::Text => output::emit(&format!("{}: {e}\n", status.label())),
        // A scrape or a spreadsheet still sees that the run failed.
        Format::Prom => output::emit(&report::failure_prom(cfg, status)),
        Format::Csv => output::emit(&report::csv_header()),
    }
}
