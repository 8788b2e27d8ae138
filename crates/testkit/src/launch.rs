//! A whole service to launch, for the end-to-end tests (tests/launch.rs) and
//! `make demo`: HAProxy in front of a blue and a green nginx, Prometheus
//! scraping HAProxy's exporter, Knot serving the service's DNS name, steady
//! traffic through HAProxy the whole time, and a settings file for
//! `scripts/golive-launch.sh` and `scripts/golive-rollback.sh` with phases
//! seconds long instead of hours.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Nginx;
use crate::haproxy::Haproxy;
use crate::knot::Knot;
use crate::prometheus::Prometheus;
use serde_json::Value;

pub const TOOLS: [&str; 5] = ["probe", "dns-watch", "metric-gate", "shift", "rollback"];
pub const ZONE: &str = "golive.test";
pub const NAME: &str = "api.golive.test";
/// Where `api` points before the cutover (blue's address) and after (green's).
pub const OLD_IP: &str = "192.0.2.10";
pub const NEW_IP: &str = "192.0.2.20";

/// Fail unless `dir` holds the five binaries.
pub fn check_bins(dir: &Path) {
    for t in TOOLS {
        assert!(
            dir.join(t).is_file(),
            "{} is missing: build the workspace first (`cargo build --workspace`; `make test` and `make demo` do)",
            dir.join(t).display()
        );
    }
}

/// A script in the repository's scripts/.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name)
}

/// Requests through HAProxy, one every few milliseconds, counted until drop.
pub struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Load {
    pub fn start(port: u16) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let (s, o, f) = (stop.clone(), ok.clone(), failed.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match crate::haproxy::get(port, "/") {
                    Ok((200, _)) => o.fetch_add(1, Ordering::Relaxed),
                    _ => f.fetch_add(1, Ordering::Relaxed),
                };
                std::thread::sleep(Duration::from_millis(4));
            }
        });
        Load {
            stop,
            ok,
            failed,
            thread: Some(thread),
        }
    }

    /// (answered 200, failed or not 200) so far.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The service being launched, its monitoring and its DNS, with traffic.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub blue: Nginx,
    pub green: Nginx,
    pub haproxy: Haproxy,
    pub prometheus: Prometheus,
    pub knot: Knot,
    pub load: Load,
    pub bin: PathBuf,
    /// Stands in for Slack (`/services/…`, critical only) and a
    /// #monitoring webhook (`/monitoring`, every severity): the rollback
    /// plan's notify targets, which the launch's timeline events go to.
    pub sink: crate::sink::Sink,
    extra_notify: std::sync::Mutex<String>,
}

impl Lab {
    /// Everything up, blue at 100% (journaled), Prometheus holding a few
    /// scrapes of HAProxy, and load flowing.
    pub fn start(bin: &Path) -> Lab {
        Self::start_with(bin, None)
    }

    /// The same, but a broken green (the `green-broken` file, see
    /// [`Lab::reset`]) fails only `share`% of its requests — nginx's
    /// `split_clients` on the request id — as a release that breaks under
    /// some traffic does.
    pub fn start_with(bin: &Path, share: Option<u8>) -> Lab {
        check_bins(bin);
        let bin = bin.to_path_buf();
        let dir = crate::temp_dir("e2e");
        let broken = dir.path().join("green-broken");
        let blue = Nginx::start(r#"location / { return 200 "blue"; }"#);
        let green = match share {
            None => Nginx::start(&format!(
                r#"location / {{ if (-f {}) {{ return 500 "green broken"; }} return 200 "green"; }}"#,
                broken.display()
            )),
            Some(pct) => Nginx::start_http(|port, _| {
                format!(
                    r#"split_clients "${{request_id}}" $green_fails {{ {pct}% "1"; * ""; }}
server {{
  listen 127.0.0.1:{port};
  location / {{
    set $broken "";
    if (-f {b}) {{ set $broken "yes"; }}
    set $verdict "$broken$green_fails";
    if ($verdict = "yes1") {{ return 500 "green failing"; }}
    return 200 "green";
  }}
}}
"#,
                    b = broken.display()
                )
            }),
        };
        let haproxy = Haproxy::blue_green(blue.port, green.port);
        let mut prometheus = Prometheus::builder()
            .scrape(
                "haproxy",
                &[&format!("127.0.0.1:{}", haproxy.prometheus_port)],
            )
            .interval(Duration::from_secs(1))
            .start();
        let knot = Knot::builder()
            .zone(ZONE, &format!("api 60 A {OLD_IP}"))
            .start();
        prometheus.wait_for(
            "count(haproxy_server_http_responses_total)",
            Duration::from_secs(30),
            |b| b.contains("\"value\""),
        );
        let load = Load::start(haproxy.port);
        let lab = Lab {
            dir,
            blue,
            green,
            haproxy,
            prometheus,
            knot,
            load,
            bin,
            sink: crate::sink::Sink::start(),
            extra_notify: std::sync::Mutex::new(String::new()),
        };
        lab.write_files();
        let before = lab.shift(&["set", "--split", "blue=100", "--reason", "before launch"]);
        assert!(before.status.success(), "{}", show(&before));
        lab
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A stand-in for the DNS provider's CLI: `dns-set IP` points `api` at IP.
    fn write_dns_set(&self) -> PathBuf {
        let knotc = crate::require("knotc", "knot");
        let c = format!(
            "{} -s {}",
            knotc.display(),
            self.knot.dir().join("knot.sock").display()
        );
        let path = self.path("dns-set");
        crate::write(
            &path,
            &format!(
                "#!/bin/sh\n# Point {NAME} at $1 (this lab's DNS provider: Knot, through knotc).\n{c} zone-begin {ZONE} && {c} zone-unset {ZONE} api A && {c} zone-set {ZONE} api 60 A \"$1\" && {c} zone-commit {ZONE} >/dev/null\n"
            ),
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod dns-set");
        path
    }

    /// shift's config: pools `blue` and `green` of HAProxy backend `app`
    /// through the admin socket at `socket`, journal beside it.
    pub fn write_shift_config(&self, socket: &Path) {
        crate::write(
            &self.path("shift.toml"),
            &format!(
                "journal = \"shift.journal\"\n[pools]\nblue = [\"blue\"]\ngreen = [\"green\"]\n[haproxy]\nsocket = \"{}\"\nbackend = \"app\"\n",
                socket.display()
            ),
        );
    }

    fn write_files(&self) {
        let dns_set = self.write_dns_set();
        self.write_shift_config(self.haproxy.socket());
        // The runbook's error-rate trigger, on windows short enough for a test.
        crate::write(
            &self.path("gate.toml"),
            r#"[[rule]]
name = "green_error_rate"
description = "5xx share of green's responses over the last 5 s"
query = '''
sum(rate(haproxy_server_http_responses_total{proxy="app",server="green",code="5xx"}[5s]))
/ sum(rate(haproxy_server_http_responses_total{proxy="app",server="green"}[5s]))
'''
warn = "> 1%"
critical = "> 5%"
"#,
        );
        crate::write(
            &self.path("preflight.toml"),
            &format!(
                "[[check]]\nname = \"frontend\"\ntype = \"http\"\nurl = \"{}\"\nbody_contains = \"blue\"\n\n[[check]]\nname = \"prometheus\"\ntype = \"prometheus\"\nurl = \"{}\"\n",
                self.haproxy.url("/"),
                self.prometheus.url()
            ),
        );
        let d = self.dir.path().display();
        // The rollback the launch runs when a gate says so: the runbook's
        // steps as a plan for `rollback run`.
        crate::write(
            &self.path("rollback.toml"),
            &format!(
                r#"reason = "rollback"
state_dir = "{d}/rollback-state"

[[notify]]
name = "incidents"
kind = "slack"
url = "{incidents}"
severities = ["critical"]

[[notify]]
name = "monitoring"
kind = "webhook"
url = "{monitoring}"
severities = ["critical", "warning", "info"]
{extra_notify}

[[step]]
name = "announce"
kind = "exec"
command = 'echo "rollback initiated: $ROLLBACK_REASON" >> {d}/notify.log'
on_failure = "continue"

[[step]]
name = "traffic"
kind = "traffic"
shift_config = "{d}/shift.toml"
split = "blue=100"

[[step]]
name = "dns"
kind = "dns"
command = "{dns_set} {OLD_IP}"
record = "{NAME}"
expect = "{OLD_IP}"
servers = ["{dns}"]
timeout = "20s"

[[step]]
name = "verify-old"
kind = "verify"
http = "{verify}"
tries = 10
interval = "500ms"
timeout = "20s"

[[step]]
name = "evidence"
kind = "evidence"
commands = ["{bin}/shift status --config {d}/shift.toml", "{bin}/shift history --config {d}/shift.toml"]

[[step]]
name = "done"
kind = "exec"
command = 'echo "rollback done and verified: $ROLLBACK_REASON" >> {d}/notify.log'
on_failure = "continue"
"#,
                bin = self.bin.display(),
                dns = self.knot.addr(),
                dns_set = dns_set.display(),
                verify = self.haproxy.url("/"),
                incidents = self.sink.url("/services/T0/B0/incidents"),
                monitoring = self.sink.url("/monitoring"),
                extra_notify = self
                    .extra_notify
                    .lock()
                    .map(|s| s.clone())
                    .unwrap_or_default(),
            ),
        );
        let settings = format!(
            "GOLIVE_BIN='{bin}'
PREFLIGHT='{d}/preflight.toml'
DNS_NAME={NAME}
DNS_EXPECT={NEW_IP}
DNS_EXPECT_BEFORE={OLD_IP}
DNS_SERVERS='{dns}'
DNS_CUTOVER_CMD='{dns_set} {NEW_IP}'
DNS_ROLLBACK_CMD='{dns_set} {OLD_IP}'
DNS_TIMEOUT=20s
SHIFT_CONFIG='{d}/shift.toml'
PROMETHEUS_URL='{prom}'
SOFT_PERCENT=10
SOFT_GATE='{d}/gate.toml'
SOFT_INTERVAL=1s
SOFT_WATCH=4s
RAMP_PERCENT=50
RAMP_GATE='{d}/gate.toml'
RAMP_INTERVAL=1s
RAMP_WATCH=3s
FULL_GATE='{d}/gate.toml'
FULL_INTERVAL=1s
FULL_WATCH=3s
PAUSES_ALLOWED=3
VERIFY_URL='{verify}'
NOTIFY_CMD='cat >> {d}/notify.log'
ROLLBACK_PLAN='{d}/rollback.toml'
",
            bin = self.bin.display(),
            dns = self.knot.addr(),
            dns_set = dns_set.display(),
            prom = self.prometheus.url(),
            verify = self.haproxy.url("/"),
        );
        crate::write(&self.path("launch.env"), &settings);
    }

    /// Add notify targets (TOML `[[notify]]` tables) to the rollback plan.
    pub fn add_notify(&self, tables: &str) {
        if let Ok(mut x) = self.extra_notify.lock() {
            x.push_str(tables);
        }
        self.write_files();
    }

    /// The launch's timeline: one event a line.
    pub fn timeline(&self) -> Vec<Value> {
        std::fs::read_to_string(self.path("evidence").join("timeline.ndjson"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Run the `shift` binary with this lab's config.
    pub fn shift(&self, args: &[&str]) -> Output {
        Command::new(self.bin.join("shift"))
            .args(args)
            .arg("--config")
            .arg(self.path("shift.toml"))
            .output()
            .expect("run shift")
    }

    /// Run a script with this lab's settings file, its report kept in
    /// `evidence/`; with `show`, its log goes to our stderr as it happens.
    pub fn script(&self, name: &str, env: &[(&str, &str)], show: bool) -> Output {
        Command::new(script(name))
            .arg(self.path("launch.env"))
            .env("EVIDENCE_DIR", self.path("evidence"))
            .envs(env.iter().copied())
            .stderr(if show {
                Stdio::inherit()
            } else {
                Stdio::piped()
            })
            .output()
            .expect("run script")
    }

    /// Put the launch back to its start (blue at 100%, the old address in
    /// DNS, no evidence) and let green answer `healthy`ly or with 500s: the
    /// next release.
    pub fn reset(&self, healthy: bool) {
        let back = self.shift(&["set", "--split", "blue=100", "--reason", "next release"]);
        assert!(back.status.success(), "{}", show(&back));
        self.knot.set(ZONE, "api", 60, "A", &[OLD_IP]);
        let _ = std::fs::remove_dir_all(self.path("evidence"));
        if healthy {
            let _ = std::fs::remove_file(self.path("green-broken"));
        } else {
            crate::write(&self.path("green-broken"), "");
        }
    }

    /// The evidence files, sorted by name.
    pub fn evidence(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path("evidence"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    // The steps' reports (NN-name.json), not the timeline,
                    // the status page, the lock or the report folder.
                    .filter(|n| {
                        n.len() > 3
                            && n.as_bytes()[..2].iter().all(u8::is_ascii_digit)
                            && n.as_bytes()[2] == b'-'
                            && n.ends_with(".json")
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The last JSON document of an evidence file (the summary of an ndjson stream).
    pub fn report(&self, name: &str) -> Value {
        let text = std::fs::read_to_string(self.path("evidence").join(name))
            .unwrap_or_else(|e| panic!("evidence {name}: {e}"));
        if let Ok(v) = serde_json::from_str(&text) {
            return v;
        }
        let last = text
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("evidence {name} is empty"));
        serde_json::from_str(last).unwrap_or_else(|e| panic!("evidence {name}: {e}: {last}"))
    }

    /// What Knot serves for `api` now.
    pub fn dns_record(&self) -> String {
        self.knot.knotc(&["zone-read", ZONE, "api", "A"])
    }

    /// The journal's entries.
    pub fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.path("shift.journal"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
            .collect()
    }
}

/// A finished command's exit code, stdout and stderr, for assertion messages.
pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
