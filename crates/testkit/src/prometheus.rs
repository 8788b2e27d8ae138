//! Prometheus from Debian's `prometheus` package: live scraping of loopback
//! targets, and history backfilled with `promtool tsdb
//! create-blocks-from openmetrics` so gate tests judge exact, known data.

use std::process::Command;
use std::time::Duration;

use crate::process::{Proc, run};

/// A running Prometheus server.
#[derive(Debug)]
pub struct Prometheus {
    proc: Proc,
    /// Loopback port.
    pub port: u16,
    secure: bool,
    dir: tempfile::TempDir,
}

/// The basic-auth user of a [`PrometheusBuilder::secure`] server.
pub const SECURE_USER: &str = "golive";
/// Its password.
pub const SECURE_PASSWORD: &str = "prom-pw-3c8e1f";
/// The password's bcrypt hash (cost 4, the least Prometheus takes: tests
/// stay fast), as `--web.config.file` wants it.
const SECURE_HASH: &str = "$2b$04$jeEYbY4T7XcUYCFafJt27uIWWc4xs6ARVc8Uw1Scu9WAC9Twqctxu";

/// What to start Prometheus with.
#[derive(Debug, Clone)]
pub struct PrometheusBuilder {
    jobs: Vec<(String, String, Vec<String>)>,
    interval: Duration,
    backfill: Option<String>,
    extra_args: Vec<String>,
    self_job: Option<String>,
    secure: Option<crate::pki::Leaf>,
}

impl Default for PrometheusBuilder {
    fn default() -> Self {
        PrometheusBuilder {
            jobs: Vec::new(),
            interval: Duration::from_secs(1),
            backfill: None,
            extra_args: Vec::new(),
            self_job: None,
            secure: None,
        }
    }
}

impl PrometheusBuilder {
    /// Scrape `targets` (`host:port`) at `/metrics` as job `job`.
    pub fn scrape(self, job: &str, targets: &[&str]) -> Self {
        self.scrape_path(job, "/metrics", targets)
    }

    /// Scrape `targets` at `metrics_path` as job `job`.
    pub fn scrape_path(mut self, job: &str, metrics_path: &str, targets: &[&str]) -> Self {
        self.jobs.push((
            job.to_string(),
            metrics_path.to_string(),
            targets.iter().map(|t| t.to_string()).collect(),
        ));
        self
    }

    /// Also scrape Prometheus's own `/metrics` as job `job` (so `up` has a
    /// healthy series without any other server).
    pub fn scrape_self(mut self, job: &str) -> Self {
        self.self_job = Some(job.to_string());
        self
    }

    /// Scrape (and evaluation) interval; default 1 s.
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }

    /// Backfill this OpenMetrics text before starting (timestamps in seconds,
    /// each series sorted, ending with `# EOF`).
    pub fn backfill(mut self, openmetrics: &str) -> Self {
        self.backfill = Some(openmetrics.to_string());
        self
    }

    /// Serve https with `leaf` and demand basic auth ([`SECURE_USER`],
    /// [`SECURE_PASSWORD`]) through `--web.config.file`.
    pub fn secure(mut self, leaf: &crate::pki::Leaf) -> Self {
        self.secure = Some(leaf.clone());
        self
    }

    /// Extra command-line flags for `prometheus`.
    pub fn arg(mut self, a: &str) -> Self {
        self.extra_args.push(a.to_string());
        self
    }

    /// Start the server and wait until it is ready.
    pub fn start(self) -> Prometheus {
        let bin = crate::require("prometheus", "prometheus");
        let dir = crate::temp_dir("prometheus");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("mkdir data");
        if let Some(text) = &self.backfill {
            let promtool = crate::require("promtool", "prometheus");
            let om = dir.path().join("backfill.om");
            crate::write(&om, text);
            run(
                "promtool backfill",
                Command::new(promtool)
                    .args(["tsdb", "create-blocks-from", "openmetrics"])
                    .arg(&om)
                    .arg(&data),
            );
        }
        let secs = self.interval.as_secs_f64();
        let interval = if secs >= 1.0 {
            format!("{}s", secs.round() as u64)
        } else {
            format!("{}ms", self.interval.as_millis())
        };
        let mut conf = format!(
            "global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n  scrape_timeout: {interval}\nscrape_configs:\n"
        );
        let port = crate::free_port();
        let mut jobs = self.jobs.clone();
        if let Some(job) = &self.self_job {
            jobs.push((
                job.clone(),
                "/metrics".into(),
                vec![format!("127.0.0.1:{port}")],
            ));
        }
        if jobs.is_empty() {
            conf.push_str("  []\n");
        }
        for (job, path, targets) in &jobs {
            let list = targets
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(", ");
            conf.push_str(&format!(
                "  - job_name: '{job}'\n    metrics_path: '{path}'\n    static_configs:\n      - targets: [{list}]\n"
            ));
        }
        let conf_path = dir.path().join("prometheus.yml");
        crate::write(&conf_path, &conf);
        let mut cmd = Command::new(bin);
        if let Some(leaf) = &self.secure {
            let web = dir.path().join("web.yml");
            crate::write(
                &web,
                &format!(
                    "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  {SECURE_USER}: '{SECURE_HASH}'\n",
                    leaf.cert.display(),
                    leaf.key.display()
                ),
            );
            cmd.arg(format!("--web.config.file={}", web.display()));
        }
        cmd.arg(format!("--config.file={}", conf_path.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=100y")
            .arg("--log.level=warn")
            .args(&self.extra_args);
        let mut proc = Proc::spawn("prometheus", cmd, &dir.path().join("prometheus.log"));
        let secure = self.secure.is_some();
        proc.wait_until("ready", Duration::from_secs(30), || {
            if secure {
                Prometheus::curl_secure(port, "/-/ready").is_some()
            } else {
                matches!(crate::http_get(port, "/-/ready"), Some((200, _)))
            }
        });
        Prometheus {
            proc,
            port,
            secure,
            dir,
        }
    }
}

impl Prometheus {
    /// Configure a server (see [`PrometheusBuilder`]).
    pub fn builder() -> PrometheusBuilder {
        PrometheusBuilder::default()
    }

    /// A server with no scrape targets.
    pub fn start() -> Prometheus {
        Self::builder().start()
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (`https://localhost:…`,
    /// without credentials, for a secure one).
    pub fn url(&self) -> String {
        if self.secure {
            format!("https://localhost:{}", self.port)
        } else {
            format!("http://127.0.0.1:{}", self.port)
        }
    }

    /// GET `path` from a secure server with curl (unverified, with the
    /// password): the body of a 200, else `None`.
    fn curl_secure(port: u16, path: &str) -> Option<String> {
        let curl = crate::require("curl", "curl");
        let out = Command::new(curl)
            .args(["-sfk", "--max-time", "2", "-u"])
            .arg(format!("{SECURE_USER}:{SECURE_PASSWORD}"))
            .arg(format!("https://127.0.0.1:{port}{path}"))
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The raw JSON body of an instant query (for test setup and waits).
    pub fn query_raw(&self, expr: &str) -> String {
        if self.secure {
            return Self::curl_secure(self.port, &format!("/api/v1/query?query={}", encode(expr)))
                .unwrap_or_default();
        }
        Self::query_raw_port(self.port, expr)
    }

    /// Wait until the instant query's raw JSON satisfies `pred` (e.g. a target
    /// has been scraped at least once).
    pub fn wait_for(&mut self, expr: &str, timeout: Duration, pred: impl Fn(&str) -> bool) {
        let (port, secure) = (self.port, self.secure);
        self.proc
            .wait_until(&format!("answering `{expr}` as expected"), timeout, || {
                let body = if secure {
                    Prometheus::curl_secure(port, &format!("/api/v1/query?query={}", encode(expr)))
                        .unwrap_or_default()
                } else {
                    Prometheus::query_raw_port(port, expr)
                };
                pred(&body)
            });
    }

    fn query_raw_port(port: u16, expr: &str) -> String {
        let q = encode(expr);
        crate::http_get(port, &format!("/api/v1/query?query={q}"))
            .map(|(_, body)| body)
            .unwrap_or_default()
    }

    /// The temp dir holding config and data.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Stop the server.
    pub fn stop(&mut self) {
        self.proc.stop();
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}

/// A query-string value, percent-encoded.
fn encode(expr: &str) -> String {
    expr.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
