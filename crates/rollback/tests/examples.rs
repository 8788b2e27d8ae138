//! The shipped examples work as shipped: examples/rollback.toml dry-runs
//! against a real HAProxy (every step listed, nothing changed, nothing sent,
//! no secret printed); the trigger table's gate files load and say what the
//! runbook says; the guard's crontab line and systemd units run the guard
//! with those files, and the units pass `systemd-analyze verify`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use testkit::cli::{Cli, Ran};
use testkit::haproxy::Haproxy;
use testkit::sink::Sink;

const BIN: &str = env!("CARGO_BIN_EXE_rollback");

/// The plan's steps, in order: the runbook's rollback.sh and its
/// post-rollback steps.
const STEPS: [&str; 7] = [
    "announce",
    "traffic",
    "dns",
    "stop-new",
    "verify-old",
    "evidence",
    "communicate",
];

/// Values given to the plan's `${VAR}`s; none may show anywhere.
const INCIDENTS_PATH: &str = "/services/T000/B000/incidents-secret-path";
const MONITORING_PATH: &str = "/services/T000/B001/monitoring-secret-path";
const PD_KEY: &str = "pd-routing-key-example-0123456789";
const API_KEY: &str = "api-key-example-secret-77";

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A launched service as examples/shift/shift.toml lays it out: HAProxy
/// backend `app`, servers blue1 blue2 green1 green2, green taking all
/// traffic; a sink standing in for both Slack webhooks; the state under a
/// temp dir. What the plan's environment needs, nothing more.
struct Site {
    dir: tempfile::TempDir,
    haproxy: Haproxy,
    sink: Sink,
}

impl Site {
    fn start() -> Site {
        let haproxy = Haproxy::builder()
            .server_weight("blue1", "127.0.0.1:9", 0)
            .server_weight("blue2", "127.0.0.1:9", 0)
            .server_weight("green1", "127.0.0.1:9", 1)
            .server_weight("green2", "127.0.0.1:9", 1)
            .start();
        let dir = testkit::temp_dir("rollback-examples");
        // examples/shift/shift.toml with this HAProxy's socket and temp files.
        let shift = read(&examples().join("shift/shift.toml"))
            .replace(
                "/run/haproxy/admin.sock",
                &haproxy.socket().display().to_string(),
            )
            .replace(
                "/var/lib/golive/shift-app.journal",
                &dir.path().join("shift.journal").display().to_string(),
            )
            .replace(
                "/var/lib/haproxy/server-state",
                &dir.path().join("server-state").display().to_string(),
            );
        assert!(!shift.contains("/var/lib"), "{shift}");
        testkit::write(&dir.path().join("shift.toml"), &shift);
        Site {
            dir,
            haproxy,
            sink: Sink::start(),
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// `rollback` with the plan's environment set.
    fn rollback(&self) -> Cli {
        Cli::new(BIN)
            .env("SLACK_WEBHOOK_URL", self.sink.url(INCIDENTS_PATH))
            .env(
                "SLACK_MONITORING_WEBHOOK_URL",
                self.sink.url(MONITORING_PATH),
            )
            .env("PD_ROUTING_KEY", PD_KEY)
            .env("API_KEY", API_KEY)
            .env("ROLLBACK_STATE_DIR", self.state())
            .env("ROLLBACK_SHIFT_CONFIG", self.dir.path().join("shift.toml"))
    }

    fn weights(&self) -> Vec<(String, u32)> {
        self.haproxy.weights()
    }
}

fn assert_no_secret(r: &Ran) {
    for secret in [
        "incidents-secret-path",
        "monitoring-secret-path",
        PD_KEY,
        API_KEY,
    ] {
        r.assert_absent(secret);
    }
}

fn step<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no step {name} in {doc}"))
}

fn target_names(step: &Value) -> Vec<String> {
    step["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("no targets in {step}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn the_example_plan_dry_runs_every_step_changes_nothing_sends_nothing_and_shows_no_secret() {
    let site = Site::start();
    let before = site.weights();
    let plan = examples().join("rollback.toml");

    let r = site
        .rollback()
        .args(["run", "--plan"])
        .arg(&plan)
        .arg("--dry-run")
        .run();
    r.assert_code(0);
    let doc = r.assert_envelope("rollback");
    assert_eq!(doc["outcome"], "dry_run", "{doc}");
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["reason"], "manual rollback");
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, STEPS, "{doc}");
    for s in STEPS {
        let st = step(&doc, s);
        assert_eq!(st["state"], "planned", "{s}: {st}");
        assert_eq!(st["status"], "ok", "{s}: {st}");
    }
    // What each step would do, as the runbook says it.
    let traffic = step(&doc, "traffic");
    assert_eq!(traffic["split"], "blue=100", "{traffic}");
    assert_eq!(traffic["shift"]["outcome"], "dry_run", "{traffic}");
    assert!(
        traffic["message"].as_str().unwrap().contains("blue=100"),
        "{traffic}"
    );
    let dns = step(&doc, "dns")["message"].as_str().unwrap();
    assert!(
        dns.contains("aws route53 change-resource-record-sets")
            && dns.contains("api.example.com")
            && dns.contains("203.0.113.10"),
        "{dns}"
    );
    assert!(
        step(&doc, "stop-new")["message"]
            .as_str()
            .unwrap()
            .contains("docker compose"),
        "{doc}"
    );
    let verify = step(&doc, "verify-old")["message"].as_str().unwrap();
    assert!(
        verify.contains("http://localhost:8080/api/health")
            && verify.contains("1 header(s)")
            && verify.contains("10 times"),
        "{verify}"
    );
    // The runbook's routing: critical → #incidents and PagerDuty, the
    // rest → #monitoring only.
    assert_eq!(
        target_names(step(&doc, "announce")),
        ["incidents", "pager"],
        "{doc}"
    );
    assert_eq!(target_names(step(&doc, "communicate")), ["monitoring"]);
    assert_eq!(step(&doc, "announce")["on_failure"], "continue");
    assert_eq!(step(&doc, "traffic")["on_failure"], "stop");

    // Nothing changed, nothing sent, nothing written.
    assert_eq!(site.weights(), before, "HAProxy's weights untouched");
    assert!(
        site.sink.requests().is_empty(),
        "{:?}",
        site.sink.requests()
    );
    assert!(!site.state().exists(), "a dry run writes no state");
    assert!(
        !site.dir.path().join("shift.journal").exists(),
        "shift's dry run journals nothing"
    );
    assert_no_secret(&r);

    // For people: a line per step.
    let t = site
        .rollback()
        .args(["run", "--plan"])
        .arg(&plan)
        .args(["--dry-run", "--format", "text"])
        .run();
    t.assert_code(0);
    for s in STEPS {
        assert!(
            t.stdout
                .lines()
                .any(|l| l.starts_with(s) && l.contains("PLANNED")),
            "{s} not listed:\n{}",
            t.stdout
        );
    }
    assert!(
        t.stdout
            .contains("nothing was changed and nothing was sent"),
        "{}",
        t.stdout
    );
    assert_no_secret(&t);
    assert!(site.sink.requests().is_empty());
}

fn gate(name: &str) -> metric_gate::rules::RuleSet {
    let path = examples().join("gates").join(name);
    metric_gate::rules::load(&path, &metric_gate::rules::Overrides::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each rule as `name: thresholds`, e.g. `green_error_rate: critical > 5% for 2m`.
fn summary(set: &metric_gate::rules::RuleSet) -> Vec<String> {
    set.rules
        .iter()
        .map(|r| {
            assert!(
                r.description.is_some(),
                "{}: every rule says what it watches",
                r.name
            );
            // The guard acts on CRITICAL only; a WARNING would do nothing.
            assert!(r.warn.is_none(), "{}: no warn threshold", r.name);
            format!("{}: {}", r.name, r.thresholds_text())
        })
        .collect()
}

#[test]
fn the_trigger_table_gates_load_and_say_what_the_runbook_says() {
    // Automatic rollback: error rate > 5% for 2 min, P95 > 5 s for 3 min,
    // no ping for 1 min.
    let auto = gate("auto-rollback.toml");
    assert_eq!(
        summary(&auto),
        [
            "green_error_rate: critical > 5% for 2m",
            "green_p95_latency: critical > 5s for 3m",
            "green_no_ping: critical < 1 for 1m",
        ]
    );
    let rule = |set: &metric_gate::rules::RuleSet, n: &str| {
        set.rules
            .iter()
            .find(|r| r.name == n)
            .unwrap_or_else(|| panic!("no rule {n}"))
            .clone()
    };
    let err = rule(&auto, "green_error_rate");
    assert!(err.query.contains("haproxy_server_http_responses_total"));
    assert!(err.query.contains(r#"server=~"green.*""#), "{}", err.query);
    let c = err.critical.as_ref().unwrap();
    assert!(c.holds(0.051, None) && !c.holds(0.05, None));
    assert!(
        rule(&auto, "green_no_ping").query.contains("up{"),
        "no ping is Prometheus's `up`"
    );
    // No data is never a reason to roll back.
    for r in &auto.rules {
        assert_eq!(
            r.on_no_data,
            metric_gate::rules::Fallback::Unknown,
            "{}",
            r.name
        );
    }

    // Manual rollback (page a human): pool full 5 min, out of memory 2 min,
    // disk full 5 min.
    let manual = gate("manual-rollback.toml");
    assert_eq!(
        summary(&manual),
        [
            "db_connection_pool_full: critical >= 95% for 5m",
            "out_of_memory: critical < 5% for 2m",
            "oom_kills: critical > 0",
            "disk_full: critical > 95% for 5m",
        ]
    );
    assert!(
        rule(&manual, "out_of_memory")
            .query
            .contains("node_memory_MemAvailable_bytes")
    );
    assert!(
        rule(&manual, "oom_kills")
            .query
            .contains("node_vmstat_oom_kill")
    );
    assert!(
        rule(&manual, "disk_full")
            .query
            .contains("node_filesystem_avail_bytes")
    );
    assert!(
        rule(&manual, "db_connection_pool_full")
            .query
            .contains("pg_settings_max_connections")
    );
}

/// The guard's arguments in examples/guard/rollback.cron (what follows
/// `exec rollback`, before the redirection) and in the service's
/// ExecStart (what follows the binary).
fn cron_args() -> Vec<String> {
    let text = read(&examples().join("guard/rollback.cron"));
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        // SHELL=… and PATH=… lines set cron's environment.
        .filter(|l| {
            !l.split_once('=')
                .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        })
        .collect();
    assert_eq!(lines.len(), 1, "one crontab line: {lines:?}");
    let words: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(words[..5], ["*"; 5], "every minute: {}", lines[0]);
    assert_eq!(words[5], "root", "/etc/cron.d takes a user: {}", lines[0]);
    assert!(!lines[0].contains("flock"), "the guard locks itself");
    let (_, cmd) = lines[0]
        .split_once("exec rollback ")
        .unwrap_or_else(|| panic!("no `exec rollback`: {}", lines[0]));
    let (cmd, log) = cmd.split_once(">>").expect("output appended to a log");
    assert!(log.trim().ends_with("2>&1"), "stderr in the log too: {log}");
    shell_words::split(cmd).expect("shell words")
}

fn service_args(service: &str) -> Vec<String> {
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    let words = shell_words::split(exec).expect("shell words");
    assert_eq!(words[0], "/usr/local/bin/rollback", "{exec}");
    words[1..].to_vec()
}

#[test]
fn the_crontab_line_and_the_service_run_the_guard_on_the_example_files() {
    let service = read(&examples().join("guard/golive-rollback-guard.service"));
    let args = cron_args();
    assert_eq!(
        args,
        service_args(&service),
        "cron and systemd run the same guard"
    );
    assert_eq!(args[0], "guard");
    // The files they name, relative to /etc/golive, are examples/'s.
    for flag in ["--plan", "--rules", "--page-rules"] {
        let at = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("no {flag} in {args:?}"));
        let file = examples().join(&args[at + 1]);
        assert!(
            file.is_file(),
            "{flag} {} is not in examples/",
            args[at + 1]
        );
    }

    // Run exactly that, from examples/, on a Prometheus that has nothing to
    // say: no data is said (exit 3, a warning to #monitoring only) and
    // nothing is rolled back.
    let site = Site::start();
    let before = site.weights();
    let prom = testkit::Prometheus::start();
    let r = site
        .rollback()
        .args(&args)
        .env("ROLLBACK_PROMETHEUS", prom.url())
        .current_dir(examples())
        .run();
    r.assert_code(3);
    let doc = r.assert_envelope("rollback");
    assert_eq!(doc["decision"], "unknown", "{doc}");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("cannot see its evidence"),
        "{doc}"
    );
    // Both files loaded and every rule was asked (a file that did not load
    // would be "unknown" too, without rules).
    for (key, n) in [("rules", 3), ("page_rules", 4)] {
        assert_eq!(doc[key]["decision"], "unknown", "{key}: {doc}");
        let rules = doc[key]["rules"]
            .as_array()
            .unwrap_or_else(|| panic!("{key} has no rules: {doc}"));
        assert_eq!(rules.len(), n, "{key}: {doc}");
        for r in rules {
            assert_eq!(r["message"], "query returned no series", "{key}: {r}");
        }
    }
    assert!(doc.get("paged").is_none(), "no page on no data: {doc}");
    let said = site.sink.requests();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].path.starts_with(MONITORING_PATH),
        "{}",
        said[0].path
    );
    assert!(said[0].text().contains("cannot see its evidence"));
    assert_eq!(site.weights(), before, "traffic untouched");
    // The guard journals only what it does: firing, rearming.
    let journal = std::fs::read_to_string(site.state().join("journal.ndjson")).unwrap_or_default();
    assert!(
        !journal.contains("guard_fired") && !journal.contains("\"start\""),
        "{journal}"
    );
    assert_no_secret(&r);
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    let analyze = testkit::require("systemd-analyze", "systemd");
    let dir = testkit::temp_dir("rollback-units");
    let service = read(&examples().join("guard/golive-rollback-guard.service"));
    let timer = read(&examples().join("guard/golive-rollback-guard.timer"));
    assert!(service.contains("Type=oneshot"), "{service}");
    assert!(timer.contains("OnCalendar=minutely"), "{timer}");
    assert!(
        timer.contains("Unit=golive-rollback-guard.service"),
        "{timer}"
    );
    // verify wants ExecStart's binary to exist: the one just built.
    let service = service.replace("/usr/local/bin/rollback", BIN);
    let (s, t) = (
        dir.path().join("golive-rollback-guard.service"),
        dir.path().join("golive-rollback-guard.timer"),
    );
    testkit::write(&s, &service);
    testkit::write(&t, &timer);
    let out = std::process::Command::new(&analyze)
        .args(["verify", "--man=no"])
        .arg(&s)
        .arg(&t)
        .output()
        .expect("run systemd-analyze");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    // verify exits 0 on a key it ignores: any word about our units fails.
    let ours: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("golive-rollback-guard"))
        .collect();
    assert!(ours.is_empty(), "systemd-analyze verify: {ours:?}");
}

/// Synthetic history for the gate files, written as OpenMetrics for
/// promtool's backfill: one sample every 15 s over 15 minutes, six hours
/// ago (no scrape writes over it, and `--at` is exact).
struct History {
    base: i64,
    series: std::collections::BTreeMap<String, Vec<(i64, f64)>>,
}

const END: i64 = 900;
const STEP: i64 = 15;

impl History {
    fn new() -> History {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        History {
            base: (now - 6 * 3600) / 60 * 60,
            series: Default::default(),
        }
    }

    /// `series` sampled at every step: `f(t)` for offset `t`.
    fn gauge(&mut self, series: &str, mut f: impl FnMut(i64) -> f64) {
        let pts = self.series.entry(series.to_string()).or_default();
        for t in (0..=END).step_by(STEP as usize) {
            pts.push((t, f(t)));
        }
    }

    /// A counter growing by `inc(t)` at each step.
    fn counter(&mut self, series: &str, inc: impl Fn(i64) -> f64) {
        let mut total = 0.0;
        self.gauge(series, |t| {
            total += inc(t);
            total
        });
    }

    fn render(&self) -> String {
        let mut by_family: std::collections::BTreeMap<&str, Vec<&String>> = Default::default();
        for k in self.series.keys() {
            by_family
                .entry(k.split('{').next().unwrap())
                .or_default()
                .push(k);
        }
        let mut out = String::new();
        for (family, keys) in by_family {
            out.push_str(&format!("# TYPE {family} gauge\n"));
            for k in keys {
                for (t, v) in &self.series[k] {
                    out.push_str(&format!("{k} {v} {}\n", self.base + t));
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }

    fn at(&self, offset: i64) -> String {
        (self.base + offset).to_string()
    }
}

/// A launch on the example layout (backend `app`, green1 next to blue1,
/// green scraped as job `green`, postgres_exporter, node_exporter), healthy
/// until offset `fault` (if any), every trigger of the runbook's table met
/// from then on. Blue and a tmpfs mount are bad all along: the rules must
/// not look at them.
fn launch(fault: Option<i64>) -> History {
    let bad = move |t: i64| fault.is_some_and(|f| t >= f);
    let mut h = History::new();
    let resp = |server: &str, code: &str| {
        format!(
            "haproxy_server_http_responses_total{{proxy=\"app\",server=\"{server}\",code=\"{code}\"}}"
        )
    };
    let green_err = move |t| if bad(t) { 0.08 } else { 0.002 };
    h.counter(&resp("green1", "2xx"), move |t| {
        100.0 * (1.0 - green_err(t))
    });
    h.counter(&resp("green1", "5xx"), move |t| 100.0 * green_err(t));
    h.counter(&resp("blue1", "2xx"), |_| 50.0);
    h.counter(&resp("blue1", "5xx"), |_| 50.0);
    let rt = |server: &str| {
        format!("haproxy_server_response_time_average_seconds{{proxy=\"app\",server=\"{server}\"}}")
    };
    h.gauge(&rt("green1"), move |t| if bad(t) { 6.0 } else { 0.08 });
    h.gauge(&rt("blue1"), |_| 9.0);
    // One green instance down is not "no ping"; both are.
    h.gauge(r#"up{job="green",instance="green1:8080"}"#, move |t| {
        if bad(t) { 0.0 } else { 1.0 }
    });
    h.gauge(r#"up{job="green",instance="green2:8080"}"#, |_| 0.0);
    let db = r#"job="postgres",instance="db:9187""#;
    h.gauge(&format!("pg_settings_max_connections{{{db}}}"), |_| 100.0);
    h.gauge(
        &format!("pg_stat_activity_count{{{db},datname=\"minimarket\",state=\"active\"}}"),
        move |t| if bad(t) { 80.0 } else { 10.0 },
    );
    h.gauge(
        &format!("pg_stat_activity_count{{{db},datname=\"minimarket\",state=\"idle\"}}"),
        |_| 19.0,
    );
    let node = r#"job="node",instance="node-a:9100""#;
    h.gauge(&format!("node_memory_MemTotal_bytes{{{node}}}"), |_| 16e9);
    h.gauge(
        &format!("node_memory_MemAvailable_bytes{{{node}}}"),
        move |t| {
            if bad(t) { 0.3e9 } else { 9e9 }
        },
    );
    let oom_at = fault.map(|f| f + 240);
    h.counter(&format!("node_vmstat_oom_kill{{{node}}}"), move |t| {
        if Some(t) == oom_at { 1.0 } else { 0.0 }
    });
    for (mount, fstype, used) in [("/", "ext4", None), ("/run", "tmpfs", Some(1.0))] {
        let l = format!("{node},mountpoint=\"{mount}\",fstype=\"{fstype}\"");
        h.gauge(&format!("node_filesystem_size_bytes{{{l}}}"), |_| 100e9);
        h.gauge(&format!("node_filesystem_avail_bytes{{{l}}}"), move |t| {
            let used = used.unwrap_or(if bad(t) { 0.97 } else { 0.6 });
            100e9 * (1.0 - used)
        });
    }
    h
}

/// Each rule's status when `file` is judged at `offset`.
fn judge(p: &testkit::Prometheus, h: &History, file: &str, offset: i64) -> Vec<(String, String)> {
    let rules = examples().join("gates").join(file);
    let (_, doc) = metric_gate::evaluate([
        "metric-gate".to_string(),
        "check".into(),
        "--rules".into(),
        rules.display().to_string(),
        "--prometheus".into(),
        p.url(),
        "--at".into(),
        h.at(offset),
    ])
    .unwrap_or_else(|e| panic!("{file}: {e}"));
    doc["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                format!("{}: {}", r["status"].as_str().unwrap(), r["message"]),
            )
        })
        .collect()
}

fn statuses(judged: &[(String, String)]) -> Vec<(&str, &str)> {
    judged
        .iter()
        .map(|(n, s)| (n.as_str(), s.split(':').next().unwrap()))
        .collect()
}

#[test]
fn the_trigger_table_gates_fire_on_the_runbooks_conditions_and_not_before() {
    // Healthy green (blue and a tmpfs mount are bad, and not looked at).
    let h = launch(None);
    let p = testkit::Prometheus::builder().backfill(&h.render()).start();
    for file in ["auto-rollback.toml", "manual-rollback.toml"] {
        let j = judge(&p, &h, file, 600);
        assert!(
            statuses(&j).iter().all(|(_, s)| *s == "ok"),
            "{file} on a healthy launch: {j:#?}"
        );
    }
    drop(p);

    // Every trigger met from offset 300 on.
    let h = launch(Some(300));
    let p = testkit::Prometheus::builder().backfill(&h.render()).start();
    let at = |file, offset| judge(&p, &h, file, offset);
    // 1m50s in: "no ping" has held its minute; the rest have not yet.
    let j = at("auto-rollback.toml", 410);
    assert_eq!(
        statuses(&j),
        [
            ("green_error_rate", "ok"),
            ("green_p95_latency", "ok"),
            ("green_no_ping", "critical"),
        ],
        "{j:#?}"
    );
    // 2m30s in: the error rate too (its 1m rate has been over 5% for 2m).
    let j = at("auto-rollback.toml", 450);
    assert_eq!(statuses(&j)[0], ("green_error_rate", "critical"), "{j:#?}");
    assert_eq!(statuses(&j)[1], ("green_p95_latency", "ok"), "{j:#?}");
    // 3m in: latency as well.
    let j = at("auto-rollback.toml", 480);
    assert!(statuses(&j).iter().all(|(_, s)| *s == "critical"), "{j:#?}");
    // The page rules: memory after 2m, the pool and the disk after 5m, an
    // OOM kill at once.
    let j = at("manual-rollback.toml", 480);
    assert_eq!(
        statuses(&j),
        [
            ("db_connection_pool_full", "ok"),
            ("out_of_memory", "critical"),
            ("oom_kills", "ok"),
            ("disk_full", "ok"),
        ],
        "{j:#?}"
    );
    let j = at("manual-rollback.toml", 600);
    assert!(statuses(&j).iter().all(|(_, s)| *s == "critical"), "{j:#?}");
}
