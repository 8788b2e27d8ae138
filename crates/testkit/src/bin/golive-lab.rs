//! golive-lab: the test kit's real servers, for people.
//!
//! `golive-lab demo` shows golive's main job on local servers, in two parts.
//! First the T-1 hour preflight: it starts a local PostgreSQL, Redis,
//! Prometheus, an SMTP server with STARTTLS and an nginx health endpoint that
//! demands an API key, makes a
//! real gzipped `pg_dump` backup, runs `probe run examples/preflight.toml
//! --format text` against them, and stops everything. Then the launch
//! timeline: HAProxy in front of a blue and a green nginx, Prometheus
//! scraping HAProxy, Knot serving the DNS name, traffic flowing, and
//! `scripts/golive-launch.sh` run twice, with phases seconds long: a healthy
//! release goes to 100%, a broken one is rolled back. Exit 0 when every part
//! did what it shows; otherwise probe's exit code, or 2.
//!
//! `golive-lab serve [--postgres] [--redis] [--prometheus] [--nginx-health]
//! [--slow-http DELAY]` starts the chosen servers, prints `export NAME=value`
//! lines a shell can `eval`, then `# ready`, and keeps them up until it
//! receives SIGINT or SIGTERM (benchmarks and experiments).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use testkit::launch::Lab;
use testkit::{Nginx, Postgres, Prometheus, Redis, SlowHttp};

#[derive(Parser)]
#[command(
    name = "golive-lab",
    version,
    about = "Real local servers for the golive demo and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The preflight probe, then the launch timeline (a healthy release and a
    /// broken one), each on local servers started and stopped for it.
    Demo,
    /// An incident: at 25% green fails a share of requests, the gate fires,
    /// `rollback run` restores blue; notifications in a real Alertmanager and
    /// a webhook sink; the report shows it on its charts.
    DemoIncident,
    /// Start servers, print their addresses as shell exports, wait.
    Serve {
        /// A PostgreSQL cluster (PG_DSN).
        #[arg(long)]
        postgres: bool,
        /// A Redis server (REDIS_URL).
        #[arg(long)]
        redis: bool,
        /// A Prometheus scraping itself (PROMETHEUS_URL).
        #[arg(long)]
        prometheus: bool,
        /// nginx with GET /health demanding X-API-Key (API_URL, API_KEY).
        #[arg(long)]
        nginx_health: bool,
        /// An HTTP endpoint answering after DELAY (SLOW_URL).
        #[arg(long, value_name = "DELAY", value_parser = humantime_like)]
        slow_http: Option<Duration>,
    },
}

fn humantime_like(s: &str) -> Result<Duration, String> {
    let ms = s
        .strip_suffix("ms")
        .map(|n| n.parse::<u64>().map(Duration::from_millis))
        .or_else(|| {
            s.strip_suffix('s')
                .map(|n| n.parse::<u64>().map(Duration::from_secs))
        });
    match ms {
        Some(Ok(d)) => Ok(d),
        _ => Err(format!("invalid delay '{s}' (use e.g. 100ms or 2s)")),
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Demo => demo(),
        Cmd::DemoIncident => ExitCode::from(demo_incident()),
        Cmd::Serve {
            postgres,
            redis,
            prometheus,
            nginx_health,
            slow_http,
        } => serve(postgres, redis, prometheus, nginx_health, slow_http),
    }
}

fn say(msg: &str) {
    eprintln!("golive-lab: {msg}");
}

/// The servers the preflight example checks, with the environment it reads.
struct Preflight {
    env: Vec<(&'static str, String)>,
    _pg: Postgres,
    _redis: Redis,
    _prom: Prometheus,
    _nginx: Nginx,
    _mail: testkit::smtpd::MailServer,
    _backups: tempfile::TempDir,
}

fn start_preflight_servers() -> Preflight {
    say("starting PostgreSQL, Redis, Prometheus, nginx and an SMTP server on free loopback ports…");
    let pg = Postgres::start();
    let redis = Redis::start();
    let mut prom = Prometheus::builder().scrape_self("prometheus").start();
    let nginx = Nginx::health(testkit::nginx::DEMO_API_KEY);
    let mail = testkit::smtpd::MailServer::start();
    pg.psql(
        "minimarket",
        "CREATE TABLE IF NOT EXISTS products (id serial PRIMARY KEY, name text NOT NULL, price_cents int NOT NULL); \
         INSERT INTO products (name, price_cents) VALUES ('yerba mate 1kg', 450), ('dulce de leche', 320);",
    );
    let backups = testkit::temp_dir("backups");
    let stamp = humantime_stamp();
    let backup = backups.path().join(format!("minimarket_{stamp}.sql.gz"));
    make_backup(&pg, &backup);
    say(&format!(
        "made a real backup: pg_dump | gzip > {}",
        backup.display()
    ));
    prom.wait_for("up", Duration::from_secs(20), |b| b.contains("\"up\""));
    let env = vec![
        ("API_URL", nginx.url("/health")),
        ("API_KEY", testkit::nginx::DEMO_API_KEY.to_string()),
        ("PG_DSN", pg.dsn()),
        ("REDIS_URL", redis.url()),
        ("PROMETHEUS_URL", prom.url()),
        ("SMTP_ADDRESS", format!("localhost:{}", mail.starttls)),
        ("TLS_CA", mail.pki.ca()),
        (
            "BACKUP_GLOB",
            backups
                .path()
                .join("minimarket_*.sql.gz")
                .display()
                .to_string(),
        ),
    ];
    Preflight {
        env,
        _pg: pg,
        _redis: redis,
        _prom: prom,
        _nginx: nginx,
        _mail: mail,
        _backups: backups,
    }
}

fn humantime_stamp() -> String {
    let out = Command::new("date").args(["-u", "+%Y%m%d_%H%M"]).output();
    out.ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "latest".into())
}

fn make_backup(pg: &Postgres, dest: &Path) {
    let pg_dump = testkit::require("pg_dump", "postgresql-client");
    let dump = Command::new(pg_dump)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port.to_string(),
            "-U",
            "golive",
            "minimarket",
        ])
        .env("PGPASSWORD", testkit::postgres::SUPERUSER_PASSWORD)
        .stderr(Stdio::inherit())
        .output()
        .expect("run pg_dump");
    assert!(dump.status.success(), "pg_dump failed");
    let file = std::fs::File::create(dest).expect("create backup file");
    let mut gz = Command::new(testkit::require("gzip", "gzip"))
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(file)
        .spawn()
        .expect("run gzip");
    gz.stdin
        .take()
        .expect("gzip stdin")
        .write_all(&dump.stdout)
        .expect("feed gzip");
    assert!(gz.wait().expect("wait gzip").success(), "gzip failed");
}

fn sibling_bin(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("GOLIVE_BIN") {
        return PathBuf::from(dir).join(name);
    }
    let here = std::env::current_exe().expect("current exe");
    let sib = here.with_file_name(name);
    if sib.exists() {
        return sib;
    }
    PathBuf::from(name)
}

fn example(rel: &str) -> PathBuf {
    let local = PathBuf::from(rel);
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn demo() -> ExitCode {
    match demo_preflight() {
        0 => ExitCode::from(demo_launch()),
        code => ExitCode::from(code),
    }
}

/// Part 1: the runbook's T-1 hour checks, with probe.
fn demo_preflight() -> u8 {
    say("part 1 of 2: the T-1 hour preflight");
    let servers = start_preflight_servers();
    let preflight = example("examples/preflight.toml");
    let probe = sibling_bin("probe");
    say(&format!(
        "running: probe run {} --format text",
        preflight.display()
    ));
    eprintln!();
    let status = Command::new(&probe)
        .args(["run"])
        .arg(&preflight)
        .args(["--format", "text"])
        .envs(servers.env.iter().map(|(k, v)| (*k, v.as_str())))
        .status();
    eprintln!();
    let code = match status {
        Ok(s) => s.code().unwrap_or(3),
        Err(e) => {
            say(&format!(
                "cannot run {}: {e} (build it with `make build`)",
                probe.display()
            ));
            3
        }
    };
    say(&format!("probe exited {code}; stopping the servers"));
    drop(servers);
    code as u8
}

fn code_of(o: &std::process::Output) -> String {
    o.status
        .code()
        .map_or_else(|| "on a signal".to_string(), |c| c.to_string())
}

/// Part 2: the launch timeline, a healthy release and a broken one.
fn demo_launch() -> u8 {
    eprintln!();
    say("part 2 of 2: the launch timeline, scripts/golive-launch.sh");
    say(
        "starting HAProxy in front of a blue and a green nginx, Prometheus scraping HAProxy, Knot serving api.golive.test; requests flow through HAProxy from now on…",
    );
    // Where probe is (GOLIVE_BIN, or beside this binary), the others are.
    let bin = sibling_bin("probe")
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let lab = Lab::start(&bin);
    say(&format!(
        "settings: {} (each phase lasts seconds here, hours in the runbook)",
        lab.path("launch.env").display()
    ));

    say(
        "release 1 in green is healthy: preflight, DNS cutover, green 10% → 50% → 100%, a metric gate after each step",
    );
    eprintln!();
    let t = Instant::now();
    let release1 = demo_evidence("release-1");
    let first = lab.script(
        "golive-launch.sh",
        &[("EVIDENCE_DIR", release1.to_str().unwrap_or("."))],
        true,
    );
    let (requests, failed) = lab.load.counts();
    eprintln!();
    let launched = first.status.code() == Some(0);
    say(&format!(
        "launch exited {} after {:.1} s; HAProxy weights now blue {} green {}; {requests} requests so far, {failed} failed",
        code_of(&first),
        t.elapsed().as_secs_f64(),
        lab.haproxy.weight("blue"),
        lab.haproxy.weight("green"),
    ));

    lab.reset(false);
    say("release 2 in green answers 500 to everything; blue at 100% again; launch it");
    eprintln!();
    let t = Instant::now();
    let release2 = demo_evidence("release-2");
    let second = lab.script(
        "golive-launch.sh",
        &[("EVIDENCE_DIR", release2.to_str().unwrap_or("."))],
        true,
    );
    eprintln!();
    let rolled_back = second.status.code() == Some(2) && lab.haproxy.weight("green") == 0;
    say(&format!(
        "launch exited {} after {:.1} s (2: rolled back); HAProxy weights now blue {} green {}",
        code_of(&second),
        t.elapsed().as_secs_f64(),
        lab.haproxy.weight("blue"),
        lab.haproxy.weight("green"),
    ));
    print_timeline(&release1);
    print_timeline(&release2);
    say("stopping the servers");
    drop(lab);
    if launched && rolled_back && failed == 0 {
        say(
            "demo done: preflight passed, release 1 launched without a failed request, release 2 rolled back",
        );
        0
    } else {
        say("demo FAILED: a part did not do what it shows (see above)");
        2
    }
}

/// Where a demo keeps its evidence: target/golive-demo/STAMP/NAME, kept
/// after the servers are gone so the report can be opened.
fn demo_evidence(name: &str) -> PathBuf {
    let stamp = humantime_stamp();
    let dir = std::env::current_dir()
        .unwrap_or_else(|_| PathBuf::from("."))
        .join("target/golive-demo")
        .join(stamp)
        .join(name);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The timeline as the #incidents channel reads it.
fn print_timeline(evidence: &Path) {
    let text = std::fs::read_to_string(evidence.join("timeline.ndjson")).unwrap_or_default();
    eprintln!();
    say(&format!(
        "the timeline ({}):",
        evidence.join("timeline.ndjson").display()
    ));
    for line in text.lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
        let mark = match (s("event").as_str(), s("status").as_str()) {
            ("rollback-started", _) => "↩️ ",
            ("failed", _) | (_, "critical") => "🚨",
            ("paused", _) | (_, "warning") => "⚠️ ",
            ("passed", _) | ("rollback-finished", "ok") => "✅",
            _ => "• ",
        };
        eprintln!(
            "  [{} UTC] {mark} {}: {}",
            s("time").get(11..19).unwrap_or(""),
            s("phase"),
            s("message")
        );
    }
    let report = evidence.join("report/report.html");
    if report.exists() {
        say(&format!("post-launch report: {}", report.display()));
    }
    let status = evidence.join("status.html");
    if status.exists() {
        say(&format!("status page: {}", status.display()));
    }
}

/// `make demo-incident`: the runbook's bad day, end to end.
fn demo_incident() -> u8 {
    say("demo-incident: a release that fails a share of its requests once it takes 25% of traffic");
    let bin = sibling_bin("probe")
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    say(
        "starting HAProxy, blue and green nginx (green fails 30% of requests when broken), Prometheus, Knot, Alertmanager and a webhook sink…",
    );
    let lab = Lab::start_with(&bin, Some(30));
    let mut am = testkit::alertmanager::Alertmanager::start();
    lab.add_notify(&format!(
        "\n[[notify]]\nname = \"alertmanager\"\nkind = \"alertmanager\"\nurl = \"{}\"\nseverities = [\"critical\"]\n",
        am.url()
    ));
    // The launch reaches 25% and stays there a while.
    let settings = lab.path("launch.env");
    let text = std::fs::read_to_string(&settings).unwrap_or_default();
    let text: String = text
        .lines()
        .map(|l| match l.split_once('=').map(|x| x.0) {
            Some("RAMP_PERCENT") => "RAMP_PERCENT=25\n".to_string(),
            Some("RAMP_WATCH") => "RAMP_WATCH=20s\n".to_string(),
            _ => format!("{l}\n"),
        })
        .collect();
    let _ = std::fs::write(&settings, text);
    let evidence = demo_evidence("incident");
    // Green breaks as the ramp to 25% starts; Alertmanager's alerts are
    // recorded while they fire (a resolved alert leaves its list).
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let (d2, ev2, broken) = (done.clone(), evidence.clone(), lab.path("green-broken"));
    let am_url = am.url();
    let watcher = std::thread::spawn(move || {
        let mut seen: Vec<String> = Vec::new();
        while !d2.load(Ordering::SeqCst) {
            let tl = std::fs::read_to_string(ev2.join("timeline.ndjson")).unwrap_or_default();
            if tl.contains("\"phase\":\"rollout-25\",\"event\":\"started\"") && !broken.exists() {
                let _ = std::fs::write(&broken, "");
                eprintln!("golive-lab: green starts failing 30% of its requests now");
            }
            let port = am_url
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or(0);
            if let Some((200, body)) = testkit::http_get(port, "/api/v2/alerts")
                && let Ok(alerts) = serde_json::from_str::<Vec<serde_json::Value>>(&body)
            {
                for a in alerts {
                    let line = format!(
                        "{} {} (severity {}, firing since {})",
                        a["labels"]["alertname"].as_str().unwrap_or(""),
                        a["annotations"]["summary"].as_str().unwrap_or(""),
                        a["labels"]["severity"].as_str().unwrap_or(""),
                        a["startsAt"].as_str().unwrap_or("")
                    );
                    if !seen.contains(&line) {
                        seen.push(line);
                    }
                }
            }
            // An alert lives from the failure to the rollback's end: a
            // second or so here.
            std::thread::sleep(Duration::from_millis(20));
        }
        seen
    });
    eprintln!();
    let t = Instant::now();
    let out = lab.script(
        "golive-launch.sh",
        &[("EVIDENCE_DIR", evidence.to_str().unwrap_or("."))],
        true,
    );
    done.store(true, Ordering::SeqCst);
    let alerts = watcher.join().unwrap_or_default();
    eprintln!();
    let rolled_back = out.status.code() == Some(2) && lab.haproxy.weight("green") == 0;
    say(&format!(
        "launch exited {} after {:.1} s (2: rolled back); HAProxy weights now blue {} green {}",
        code_of(&out),
        t.elapsed().as_secs_f64(),
        lab.haproxy.weight("blue"),
        lab.haproxy.weight("green"),
    ));
    eprintln!();
    say("notifications:");
    say(&format!("  Alertmanager {} held:", am.url()));
    for a in &alerts {
        eprintln!("    {a}");
    }
    if alerts.is_empty() {
        eprintln!("    (nothing)");
    }
    let incidents = lab.sink.requests_to("/services/");
    let monitoring = lab.sink.requests_to("/monitoring");
    say(&format!(
        "  #incidents (critical only): {} message(s); #monitoring (all): {} message(s)",
        incidents.len(),
        monitoring.len()
    ));
    for r in &incidents {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        eprintln!("    {}", body["text"].as_str().unwrap_or(""));
    }
    print_timeline(&evidence);
    am.stop();
    say("stopping the servers");
    drop(lab);
    if rolled_back && !alerts.is_empty() && !incidents.is_empty() {
        say("demo-incident done: the gate fired at 25%, blue is back and verified, everyone heard");
        0
    } else {
        say("demo-incident FAILED: a part did not do what it shows (see above)");
        2
    }
}

fn serve(
    postgres: bool,
    redis: bool,
    prometheus: bool,
    nginx_health: bool,
    slow: Option<Duration>,
) -> ExitCode {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    let mut env: Vec<(String, String)> = Vec::new();
    if postgres {
        let pg = Postgres::start();
        env.push(("PG_DSN".into(), pg.dsn()));
        env.push(("PG_PORT".into(), pg.port.to_string()));
        keep.push(Box::new(pg));
    }
    if redis {
        let r = Redis::start();
        env.push(("REDIS_URL".into(), r.url()));
        env.push(("REDIS_PORT".into(), r.port.to_string()));
        keep.push(Box::new(r));
    }
    if prometheus {
        let p = Prometheus::builder().scrape_self("prometheus").start();
        env.push(("PROMETHEUS_URL".into(), p.url()));
        keep.push(Box::new(p));
    }
    if nginx_health {
        let n = Nginx::health(testkit::nginx::DEMO_API_KEY);
        env.push(("API_URL".into(), n.url("/health")));
        env.push(("API_KEY".into(), testkit::nginx::DEMO_API_KEY.into()));
        keep.push(Box::new(n));
    }
    if let Some(d) = slow {
        let s = SlowHttp::start(d);
        env.push(("SLOW_URL".into(), s.url()));
        keep.push(Box::new(s));
    }
    let mut out = std::io::stdout().lock();
    for (k, v) in &env {
        let _ = writeln!(out, "export {k}='{v}'");
    }
    let _ = writeln!(out, "# ready");
    let _ = out.flush();
    drop(out);
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(keep);
    ExitCode::SUCCESS
}
