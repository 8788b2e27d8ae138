//! The exec backend: a command template run per pool or once, its exit
//! status the result, and a read command to see (and verify) the live split.
//! The "system" here is a directory with one file per pool holding its
//! percentage, which is what the commands write and read.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{BIN, events, journal_lines};
use serde_json::json;
use testkit::cli::Cli;

struct Sys {
    dir: tempfile::TempDir,
}

impl Sys {
    fn new(blue: &str, green: &str) -> Sys {
        let dir = testkit::temp_dir("shift-exec");
        testkit::write(&dir.path().join("blue"), &format!("{blue}\n"));
        testkit::write(&dir.path().join("green"), &format!("{green}\n"));
        Sys { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn d(&self) -> String {
        self.dir.path().display().to_string()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Per-pool writer that also logs the order it ran in; `fail_if` is a
    /// shell condition that makes it exit 1.
    fn writer(&self, fail_if: &str) -> String {
        let d = self.d();
        format!(
            "sh -c 'if {fail_if}; then exit 1; fi; echo {{percent}} > {d}/{{pool}}; echo {{pool}}={{weight}} >> {d}/order'"
        )
    }

    fn reader(&self) -> String {
        let d = self.d();
        format!("sh -c 'echo blue=$(cat {d}/blue),green=$(cat {d}/green)'")
    }

    fn shift(&self, sub: &str, exec: &str, read: Option<&str>) -> Cli {
        let mut c = Cli::new(BIN)
            .arg(sub)
            .args(["--exec", exec])
            .args(["--pool", "blue", "--pool", "green"])
            .args(["--journal", &self.path("journal").display().to_string()]);
        if let Some(r) = read {
            c = c.args(["--exec-read", r]);
        }
        c
    }
}

fn lines(p: &Path) -> Vec<serde_json::Value> {
    journal_lines(p)
}

#[test]
fn per_pool_template_runs_rising_pools_first_and_is_read_back() {
    let s = Sys::new("100", "0");
    let ran = s
        .shift("set", &s.writer("false"), Some(&s.reader()))
        .args(["--split", "blue=75,green=25"])
        .run();
    ran.assert_code(0);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["verified"], true);
    assert_eq!(doc["before"], json!({"blue": 100, "green": 0}));
    assert_eq!(doc["after"], json!({"blue": 75, "green": 25}));
    assert_eq!(
        (s.read("blue").as_str(), s.read("green").as_str()),
        ("75", "25")
    );
    // green gains traffic, so it goes first.
    assert_eq!(s.read("order"), "green=25\nblue=75");

    let ran = s
        .shift("status", &s.writer("false"), Some(&s.reader()))
        .run();
    ran.assert_code(0);
    assert_eq!(ran.json()["split"], json!({"blue": 75, "green": 25}));
}

#[test]
fn once_template_gets_the_whole_split_and_without_a_read_command_status_is_unknown() {
    let s = Sys::new("100", "0");
    let out = s.path("split");
    let tpl = format!("sh -c 'echo {{split}} > {}'", out.display());
    let ran = s
        .shift("set", &tpl, None)
        .args(["--split", "green=25"])
        .run();
    ran.assert_code(0);
    let doc = ran.json();
    assert_eq!(
        doc["verified"], false,
        "no read command: the exit status is the result"
    );
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("commands exited 0")
    );
    assert_eq!(s.read("split"), "blue=75,green=25");

    let ran = s.shift("status", &tpl, None).run();
    ran.assert_code(3);
    let doc = ran.json();
    assert!(
        doc["message"].as_str().unwrap().contains("no read command"),
        "{}",
        doc["message"]
    );
    assert_eq!(doc["journal"]["expected"], json!({"blue": 75, "green": 25}));
}

#[test]
fn a_read_back_mismatch_is_exit_2_with_the_actual_split() {
    let s = Sys::new("100", "0");
    // The "system" ignores green: the read command keeps seeing 50/50.
    let ran = s
        .shift("set", &s.writer("false"), Some("echo blue=1,green=1"))
        .args(["--split", "blue=75,green=25"])
        .run();
    ran.assert_code(2);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["actual"], json!({"blue": 50, "green": 50}));
    assert!(
        doc["message"].as_str().unwrap().contains("differ"),
        "{}",
        doc["message"]
    );
    assert_eq!(doc["outcome"], "restored");
}

#[test]
fn a_failure_half_way_is_restored_and_an_unrestorable_one_is_exit_3() {
    let s = Sys::new("100", "0");
    // green (rising, first) is written, then blue fails: green is put back.
    let ran = s
        .shift(
            "set",
            &s.writer("[ {pool} = blue ] && [ {percent} = 60 ]"),
            Some(&s.reader()),
        )
        .args(["--split", "blue=60,green=40"])
        .run();
    ran.assert_code(2);
    let doc = ran.json();
    assert_eq!(doc["outcome"], "restored", "{}", doc["message"]);
    assert_eq!(
        (s.read("blue").as_str(), s.read("green").as_str()),
        ("100", "0")
    );

    // Now blue fails and so does green's way back: state unknown, exit 3,
    // with what is known.
    let broken = s.path("broken");
    let fail = format!(
        "{{ [ {{pool}} = blue ] && [ {{percent}} = 60 ] && touch {b}; }} || {{ [ {{pool}} = green ] && [ -e {b} ]; }}",
        b = broken.display()
    );
    let ran = s
        .shift("set", &s.writer(&fail), Some(&s.reader()))
        .args(["--split", "blue=60,green=40"])
        .run();
    ran.assert_code(3);
    let doc = ran.assert_envelope("shift");
    assert_eq!(doc["outcome"], "partial");
    let msg = doc["message"].as_str().unwrap();
    assert!(
        msg.contains("live split now blue=71.43,green=28.57"),
        "{msg}"
    );
    let results = events(&lines(&s.path("journal")), "result")
        .iter()
        .map(|r| r["status"].clone())
        .collect::<Vec<_>>();
    assert_eq!(results, [json!("restored"), json!("partial")]);

    // status reports it; a rerun without the fault converges.
    let ran = s
        .shift("status", &s.writer("false"), Some(&s.reader()))
        .run();
    ran.assert_code(3);
    assert_eq!(ran.json()["journal"]["unsettled"]["status"], "partial");
    std::fs::remove_file(&broken).unwrap();
    s.shift("set", &s.writer("false"), Some(&s.reader()))
        .args(["--split", "blue=60,green=40"])
        .run()
        .assert_code(0);
    s.shift("status", &s.writer("false"), Some(&s.reader()))
        .run()
        .assert_code(0);
}

#[test]
fn values_cannot_inject_commands() {
    let s = Sys::new("100", "0");
    let ran = Cli::new(BIN)
        .args([
            "set",
            "--exec",
            "echo {pool}",
            "--pool",
            "blue;touch /tmp/x",
            "--pool",
            "green",
        ])
        .args([
            "--journal",
            &s.path("journal").display().to_string(),
            "--split",
            "green=1",
        ])
        .run();
    ran.assert_code(64);
    // A template word is one argv entry: `;` and `$(...)` in it are text.
    let marker = s.path("marker");
    let tpl = format!("echo {{pool}};touch {m} $(touch {m})", m = marker.display());
    s.shift("set", &tpl, None)
        .args(["--split", "green=10"])
        .run()
        .assert_code(0);
    assert!(!marker.exists());
}

#[test]
fn a_token_in_the_template_reaches_neither_output_nor_journal() {
    let s = Sys::new("100", "0");
    let cfg = s.path("shift.toml");
    testkit::write(
        &cfg,
        &format!(
            "journal = \"journal\"\n[pools]\nblue = []\ngreen = []\n[exec]\ncommand = \"sh -c 'echo {{percent}} > {d}/{{pool}}' --api-token ${{SHIFT_TEST_TOKEN}}\"\n",
            d = s.d()
        ),
    );
    let secret = "tok-5d41-very-secret";
    let ran = Cli::new(BIN)
        .args([
            "set",
            "--config",
            &cfg.display().to_string(),
            "--split",
            "green=50",
            "-v",
        ])
        .env("SHIFT_TEST_TOKEN", secret)
        .run();
    ran.assert_code(0);
    ran.assert_absent(secret);
    assert!(ran.stdout.contains("--api-token ***"), "{}", ran.stdout);
    let journal = std::fs::read_to_string(s.path("journal")).unwrap();
    assert!(!journal.contains(secret), "{journal}");
    assert_eq!(s.read("green"), "50");
}

#[test]
fn a_command_leaving_a_background_process_does_not_hold_shift_past_its_timeout() {
    let s = Sys::new("100", "0");
    let d = s.d();
    // The command does its work and exits 0, but leaves a process behind
    // that keeps its stdout open far longer than --timeout.
    let tpl = format!("sh -c 'echo {{percent}} > {d}/{{pool}}; sleep 30 &'");
    let ran = s
        .shift("set", &tpl, Some(&s.reader()))
        .args(["--split", "blue=75,green=25", "--timeout", "5s"])
        .run();
    ran.assert_code(0);
    assert!(
        ran.elapsed < Duration::from_secs(8),
        "took {:?} with --timeout 5s",
        ran.elapsed
    );
    assert_eq!(
        (s.read("blue"), s.read("green")),
        ("75".into(), "25".into())
    );
}

#[test]
fn a_pool_under_1_percent_still_gets_weight_and_is_verified_by_its_weights() {
    // A system with integer weights out of 100 (like a weighted DNS record):
    // the command writes {weight}, the read command prints it back.
    let s = Sys::new("100", "0");
    let d = s.d();
    let tpl = format!("sh -c 'echo {{weight}} > {d}/{{pool}}'");
    let ran = s
        .shift("set", &tpl, Some(&s.reader()))
        .args(["--split", "blue=99.7,green=0.3"])
        .run();
    ran.assert_code(0);
    assert_eq!(
        (s.read("blue"), s.read("green")),
        ("99".into(), "1".into()),
        "a 0.3% canary must not get weight 0"
    );
    assert_eq!(ran.json()["after"], json!({"blue": 99, "green": 1}));
}
