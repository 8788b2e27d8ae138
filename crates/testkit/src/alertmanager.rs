//! Alertmanager from Debian's `prometheus-alertmanager` package, on a free
//! loopback port with clustering off, its state in a temp dir: alerts are
//! posted to and read back from its real API v2.

use std::process::Command;
use std::time::Duration;

use crate::process::Proc;

/// A running Alertmanager.
#[derive(Debug)]
pub struct Alertmanager {
    proc: Proc,
    /// Loopback port of the web API.
    pub port: u16,
    dir: tempfile::TempDir,
}

/// A minimal configuration: one route to a receiver that sends nothing
/// (tests read the alerts back from the API).
const CONFIG: &str = "\
route:
  receiver: blackhole
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
";

impl Alertmanager {
    /// Start `prometheus-alertmanager` and wait until `/-/ready` answers.
    pub fn start() -> Alertmanager {
        let bin = crate::require("prometheus-alertmanager", "prometheus-alertmanager");
        let dir = crate::temp_dir("alertmanager");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("mkdir alertmanager data");
        let conf = dir.path().join("alertmanager.yml");
        crate::write(&conf, CONFIG);
        let port = crate::free_port();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", conf.display()))
            .arg(format!("--storage.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn");
        let mut proc = Proc::spawn("alertmanager", cmd, &dir.path().join("alertmanager.log"));
        proc.wait_until("ready", Duration::from_secs(30), || {
            matches!(crate::http_get(port, "/-/ready"), Some((200, _)))
        });
        Alertmanager { proc, port, dir }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET /api/v2/alerts` (Alertmanager's defaults: active, silenced,
    /// inhibited and unprocessed alerts; resolved ones are not listed),
    /// parsed. Panics naming the answer when it is not a JSON array.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        self.alerts_query("")
    }

    /// `GET /api/v2/alerts?QUERY` (e.g. `filter=dedup_key%3D%22rb-1%22`).
    pub fn alerts_query(&self, query: &str) -> Vec<serde_json::Value> {
        let path = if query.is_empty() {
            "/api/v2/alerts".to_string()
        } else {
            format!("/api/v2/alerts?{query}")
        };
        let (status, body) = crate::http_get(self.port, &path)
            .unwrap_or_else(|| self.proc.fail(&format!("GET {path} failed")));
        if status != 200 {
            self.proc
                .fail(&format!("GET {path} answered {status}: {body}"));
        }
        match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Array(a)) => a,
            _ => self
                .proc
                .fail(&format!("GET {path} is not a JSON array: {body}")),
        }
    }

    /// The alerts whose label `name` is `value`.
    pub fn alerts_labelled(&self, name: &str, value: &str) -> Vec<serde_json::Value> {
        self.alerts()
            .into_iter()
            .filter(|a| a["labels"][name] == value)
            .collect()
    }

    /// Wait until `pred` holds for the alert list (polling the API), failing
    /// with the server's log after `timeout`.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[serde_json::Value]) -> bool,
    ) {
        let port = self.port;
        self.proc.wait_until(what, timeout, || {
            crate::http_get(port, "/api/v2/alerts")
                .and_then(|(_, b)| serde_json::from_str::<Vec<serde_json::Value>>(&b).ok())
                .is_some_and(|a| pred(&a))
        });
    }

    /// The temp dir holding config and state.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_stops() {
        let mut am = Alertmanager::start();
        assert!(am.alerts().is_empty());
        let port = am.port;
        am.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
