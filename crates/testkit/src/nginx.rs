//! nginx from Debian's `nginx-light` package, with a config written per test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::Proc;

/// A running nginx (master and workers).
#[derive(Debug)]
pub struct Nginx {
    proc: Proc,
    /// The loopback port of the first `listen`.
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

/// The API key the demo's health endpoint demands.
pub const DEMO_API_KEY: &str = "demo-key-5d41";

impl Nginx {
    /// One `server` on a free port whose body is `server_body`, e.g.
    /// `location / { return 200 "blue"; }`.
    pub fn start(server_body: &str) -> Nginx {
        Self::start_http(|port, _dir| {
            format!("server {{\n  listen 127.0.0.1:{port};\n  {server_body}\n}}\n")
        })
    }

    /// The health endpoint the runbook curls: `GET /health` answers
    /// `{"status":"ok",…}` with 200 when the `X-API-Key` header equals
    /// `api_key`, and 401 otherwise.
    pub fn health(api_key: &str) -> Nginx {
        Self::start(&Self::health_body(api_key))
    }

    /// The same over https with `leaf` (`https://localhost:{port}/health`).
    pub fn health_tls(api_key: &str, leaf: &crate::pki::Leaf) -> Nginx {
        let body = Self::health_body(api_key);
        Self::start_http(|port, _| {
            format!(
                "server {{\n  listen 127.0.0.1:{port} ssl;\n  ssl_certificate {};\n  ssl_certificate_key {};\n  {body}\n}}\n",
                leaf.cert.display(),
                leaf.key.display()
            )
        })
    }

    fn health_body(api_key: &str) -> String {
        format!(
            r#"default_type application/json;
  location = /health {{
    if ($http_x_api_key != "{api_key}") {{ return 401 '{{"status":"unauthorized"}}'; }}
    return 200 '{{"status":"ok","version":"2.4.1","checks":{{"db":"up","cache":"up"}}}}';
  }}
  location = /ready {{ return 200 '{{"status":"ok"}}'; }}
  location / {{ return 404 '{{"status":"not found"}}'; }}"#
        )
    }

    /// Write the whole `http { … }` content yourself: `http_body(port, dir)`
    /// gets the free port and the temp dir (for upstream includes, files to
    /// serve). The first server should listen on `127.0.0.1:{port}`.
    pub fn start_http(http_body: impl FnOnce(u16, &Path) -> String) -> Nginx {
        let bin = crate::require("nginx", "nginx-light");
        let dir = crate::temp_dir("nginx");
        let port = crate::free_port();
        let d = dir.path();
        let body = http_body(port, d);
        let conf = format!(
            "worker_processes 1;\npid {pid};\nerror_log {log} warn;\nevents {{ worker_connections 1024; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/client_body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  keepalive_requests 100000;\n{body}}}\n",
            pid = d.join("nginx.pid").display(),
            log = d.join("error.log").display(),
            d = d.display(),
        );
        crate::write(&d.join("nginx.conf"), &conf);
        let mut cmd = Command::new(&bin);
        cmd.args(Self::base_args_for(d)).args(["-g", "daemon off;"]);
        let mut proc =
            Proc::spawn("nginx", cmd, &d.join("stderr.log")).with_stop_signal(libc::SIGTERM);
        proc.wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(20));
        Nginx {
            proc,
            port,
            bin,
            dir,
        }
    }

    fn base_args_for(dir: &Path) -> Vec<String> {
        vec![
            "-e".into(),
            dir.join("error.log").display().to_string(),
            "-p".into(),
            dir.display().to_string(),
            "-c".into(),
            dir.join("nginx.conf").display().to_string(),
        ]
    }

    /// `-e … -p … -c …`: the flags that make `nginx -t` or `nginx -s reload`
    /// act on this instance.
    pub fn base_args(&self) -> Vec<String> {
        Self::base_args_for(self.dir.path())
    }

    /// The nginx binary.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The temp dir (prefix) holding nginx.conf and anything the test writes.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Reload the configuration (SIGHUP to the master) and give workers a moment.
    pub fn reload(&mut self) {
        self.proc.signal(libc::SIGHUP);
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Stop nginx.
    pub fn stop(&mut self) {
        self.proc.stop();
    }

    /// The error log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}
