//! shift against a real nginx whose upstream is an include file shift owns,
//! in front of two real nginx pools (blue and green).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{BIN, events, journal_lines, pool};
use serde_json::json;
use testkit::Nginx;
use testkit::cli::Cli;

struct Front {
    blue: Nginx,
    green: Nginx,
    front: Nginx,
    upstream: PathBuf,
    journal: PathBuf,
    _dir: tempfile::TempDir,
}

impl Front {
    fn start() -> Front {
        let blue = pool("blue");
        let green = pool("green");
        let (b, g) = (blue.port, green.port);
        let front = Nginx::start_http(|port, dir| {
            let up = dir.join("upstream.conf");
            testkit::write(
                &up,
                &format!("server 127.0.0.1:{b} weight=1;\nserver 127.0.0.1:{g} weight=1;\n"),
            );
            format!(
                "upstream app {{\n  include {};\n}}\nserver {{\n  listen 127.0.0.1:{port};\n  location / {{ proxy_pass http://app; }}\n}}\n",
                up.display()
            )
        });
        let upstream = front.dir().join("upstream.conf");
        let dir = testkit::temp_dir("shift-nginx");
        let journal = dir.path().join("shift.journal");
        Front {
            blue,
            green,
            front,
            upstream,
            journal,
            _dir: dir,
        }
    }

    fn nginx_cmd(&self, action: &[&str]) -> String {
        let mut words = vec![self.front.bin().display().to_string()];
        words.extend(action.iter().map(|s| s.to_string()));
        words.extend(self.front.base_args());
        words.join(" ")
    }

    fn shift(&self, sub: &str) -> Cli {
        self.shift_reloading(sub, &self.nginx_cmd(&["-s", "reload"]))
    }

    fn shift_reloading(&self, sub: &str, reload: &str) -> Cli {
        Cli::new(BIN)
            .arg(sub)
            .args([
                "--nginx-upstream-file",
                &self.upstream.display().to_string(),
            ])
            .args(["--nginx-test-cmd", &self.nginx_cmd(&["-t"])])
            .args(["--nginx-reload-cmd", reload])
            .args(["--pool", &format!("blue=127.0.0.1:{}", self.blue.port)])
            .args(["--pool", &format!("green=127.0.0.1:{}", self.green.port)])
            .args(["--journal", &self.journal.display().to_string()])
    }

    fn file(&self) -> String {
        std::fs::read_to_string(&self.upstream).unwrap()
    }

    /// (blue, green) over `n` requests through the front nginx.
    fn traffic(&self, n: usize) -> (usize, usize) {
        let (mut b, mut g) = (0, 0);
        for _ in 0..n {
            let (status, body) = testkit::haproxy::get(self.front.port, "/").unwrap();
            assert_eq!(status, 200, "{body}");
            match body.trim() {
                "blue" => b += 1,
                "green" => g += 1,
                other => panic!("unexpected body {other:?}"),
            }
        }
        (b, g)
    }

    /// The front nginx's worker pids (children of the master).
    fn workers(&self) -> Vec<String> {
        let pid = std::fs::read_to_string(self.front.dir().join("nginx.pid")).unwrap();
        let pid = pid.trim();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    /// Wait until every worker in `old` has exited (a reload has taken).
    fn wait_reloaded(&self, old: &[String]) {
        let until = Instant::now() + Duration::from_secs(10);
        while old
            .iter()
            .any(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        {
            assert!(Instant::now() < until, "nginx's old workers never left");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until the reload has taken: `n` requests in a row all green.
    fn wait_all_green(&self, n: usize) {
        let until = Instant::now() + Duration::from_secs(10);
        while self.traffic(n) != (0, n) {
            assert!(
                Instant::now() < until,
                "nginx never sent everything to green"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn set_rewrites_the_upstream_file_reloads_and_traffic_follows() {
    let f = Front::start();
    let ran = f.shift("set").args(["--split", "green=100"]).run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["outcome"], "applied");
    assert_eq!(doc["after"], json!({"blue": 0, "green": 100}));
    let text = f.file();
    // nginx rejects weight=0: the 0% server is marked down.
    assert!(
        text.contains(&format!("server 127.0.0.1:{} down;", f.blue.port)),
        "{text}"
    );
    assert!(
        text.contains(&format!("server 127.0.0.1:{} weight=1;", f.green.port)),
        "{text}"
    );
    f.wait_all_green(20);

    let old = f.workers();
    assert!(!old.is_empty(), "no nginx workers found");
    let ran = f.shift("set").args(["--split", "blue=75,green=25"]).run();
    ran.assert_code(0);
    assert!(
        f.file()
            .contains(&format!("server 127.0.0.1:{} weight=3;", f.blue.port))
    );
    // The reload is a signal: wait until the old worker has left, then count.
    // nginx's smooth weighted round-robin (one worker) is deterministic:
    // 3:1 repeats every 4 requests, so 400 requests are exact to within one
    // cycle; 2 percentage points is the bound.
    f.wait_reloaded(&old);
    let (blue, green) = f.traffic(400);
    assert!(
        (green as f64 / 4.0 - 25.0).abs() <= 2.0,
        "blue {blue}, green {green}"
    );

    let ran = f.shift("status").run();
    ran.assert_code(0);
    assert_eq!(ran.json()["split"], json!({"blue": 75, "green": 25}));
}

#[test]
fn a_failing_config_test_puts_the_previous_file_back() {
    let f = Front::start();
    let before = f.file();
    // A third pool whose server nginx -t refuses (port out of range).
    let ran = f
        .shift("set")
        .args([
            "--pool",
            "canary=127.0.0.1:99999",
            "--split",
            "blue=50,green=50",
        ])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["outcome"], "restored");
    let msg = doc["message"].as_str().unwrap();
    assert!(
        msg.contains("nginx test") && msg.contains("failed"),
        "{msg}"
    );
    assert!(msg.contains("previous upstream file is back"), "{msg}");
    assert_eq!(f.file(), before, "byte for byte");
    let lines = journal_lines(&f.journal);
    assert_eq!(events(&lines, "result")[0]["status"], "restored");
    // nginx still serves both pools.
    let (b, g) = f.traffic(20);
    assert!(b > 0 && g > 0);
}

#[test]
fn a_failing_reload_puts_the_previous_file_back() {
    let f = Front::start();
    let before = f.file();
    let ran = f
        .shift_reloading("set", "false")
        .args(["--split", "green=100"])
        .run();
    ran.assert_code(2);
    let doc = ran.json();
    assert_eq!(doc["outcome"], "restored");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("nginx reload `false` failed"),
        "{}",
        doc["message"]
    );
    assert_eq!(f.file(), before);
}

#[test]
fn dry_run_shows_the_file_diff_and_the_commands() {
    let f = Front::start();
    let before = f.file();
    let ran = f
        .shift("set")
        .args(["--split", "green=100", "--dry-run", "--format", "text"])
        .run();
    ran.assert_code(0);
    let out = &ran.stdout;
    assert!(
        out.contains(&format!("-server 127.0.0.1:{} weight=1;", f.blue.port)),
        "{out}"
    );
    assert!(
        out.contains(&format!("+server 127.0.0.1:{} down;", f.blue.port)),
        "{out}"
    );
    assert!(out.contains("run: ") && out.contains(" -t "), "{out}");
    assert_eq!(f.file(), before);
    assert!(!f.journal.exists());
}

#[test]
fn servers_in_no_pool_are_not_silently_dropped() {
    let f = Front::start();
    let extra = format!("{}server 127.0.0.1:9 weight=1;\n", f.file());
    testkit::write(&f.upstream, &extra);
    let ran = f.shift("set").args(["--split", "green=100"]).run();
    ran.assert_code(2);
    assert!(
        ran.json()["message"]
            .as_str()
            .unwrap()
            .contains("in no pool: 127.0.0.1:9")
    );
    assert_eq!(f.file(), extra);
}
