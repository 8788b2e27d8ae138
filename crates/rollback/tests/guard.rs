//! `rollback guard` against a real Prometheus: a CRITICAL trigger rolls
//! back exactly once however many guards overlap, later runs say "already
//! rolled back", `rearm` lets it fire again; page rules page and never act;
//! no data is said, never acted on.

use std::path::PathBuf;

use testkit::Prometheus;
use testkit::cli::{Cli, Ran};
use testkit::sink::Sink;

const BIN: &str = env!("CARGO_BIN_EXE_rollback");

struct Setup {
    dir: tempfile::TempDir,
    sink: Sink,
    prom: Prometheus,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: testkit::temp_dir("rollback-guard"),
            sink: Sink::start(),
            prom: Prometheus::start(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A plan whose only action appends a line to `actions` (slowly, so
    /// overlapping guards really overlap).
    fn plan(&self) -> String {
        let text = format!(
            r#"state_dir = "{state}"

[[notify]]
name = "ops"
kind = "webhook"
url = "{hook}"

[[step]]
name = "act"
kind = "exec"
command = "sleep 1; echo rolled-back >> {actions}"
"#,
            state = self.path("state").display(),
            hook = self.sink.url("/hook"),
            actions = self.path("actions").display(),
        );
        let p = self.path("plan.toml");
        testkit::write(&p, &text);
        p.display().to_string()
    }

    /// A rules file judging `expr` with `critical`.
    fn rules(&self, name: &str, expr: &str, critical: &str) -> String {
        let p = self.path(name);
        testkit::write(
            &p,
            &format!(
                "[[rule]]\nname = \"{name}\"\nquery = \"{expr}\"\ncritical = \"{critical}\"\n"
            ),
        );
        p.display().to_string()
    }

    fn guard(&self, plan: &str, rules: &str, page: Option<&str>) -> Cli {
        let mut c = Cli::new(BIN)
            .args(["guard", "--plan", plan, "--rules", rules])
            .args(["--prometheus", &self.prom.url()]);
        if let Some(p) = page {
            c = c.args(["--page-rules", p]);
        }
        c
    }

    fn actions(&self) -> usize {
        std::fs::read_to_string(self.path("actions"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

fn finish(c: std::process::Child) -> Ran {
    let out = c.wait_with_output().expect("wait for guard");
    Ran::from_output(out, std::time::Duration::ZERO)
}

#[test]
fn overlapping_guards_roll_back_once_later_ones_say_so_and_rearm_fires_again() {
    let s = Setup::new();
    let plan = s.plan();
    let rules = s.rules("always", "vector(1)", "> 0");
    let a = s.guard(&plan, &rules, None).spawn();
    let b = s.guard(&plan, &rules, None).spawn();
    let (a, b) = (finish(a), finish(b));
    assert_eq!(
        s.actions(),
        1,
        "exactly one rollback: {}\n{}",
        a.stdout,
        b.stdout
    );
    let decisions: Vec<String> = [&a, &b]
        .iter()
        .map(|r| r.json()["decision"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        decisions.contains(&"rolled_back".to_string()),
        "{decisions:?}"
    );
    assert!(
        decisions.contains(&"already_rolled_back".to_string()),
        "{decisions:?}"
    );

    let later = s.guard(&plan, &rules, None).run();
    later.assert_code(0);
    let doc = later.json();
    assert_eq!(doc["decision"], "already_rolled_back");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("already rolled back at"),
        "{doc}"
    );
    assert_eq!(s.actions(), 1);

    Cli::new(BIN)
        .args(["rearm", "--plan", &plan])
        .run()
        .assert_code(0);
    let again = s.guard(&plan, &rules, None).run();
    again.assert_code(0);
    assert_eq!(again.json()["decision"], "rolled_back");
    assert_eq!(s.actions(), 2);
}

#[test]
fn page_rules_page_a_human_and_never_act() {
    let s = Setup::new();
    let plan = s.plan();
    let quiet = s.rules("quiet", "vector(0)", "> 0");
    let pool_full = s.rules("pool_full", "vector(1)", "> 0");
    let r = s.guard(&plan, &quiet, Some(&pool_full)).run();
    r.assert_code(1);
    let doc = r.json();
    assert_eq!(doc["decision"], "ok", "{doc}");
    assert!(
        doc["paged"]["message"]
            .as_str()
            .unwrap()
            .contains("pool_full")
    );
    assert_eq!(s.actions(), 0, "page rules never act");
    let pages = s.sink.requests_to("/hook");
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert_eq!(pages[0].json()["severity"], "critical");
}

#[test]
fn no_data_is_said_and_never_acted_on() {
    let s = Setup::new();
    let plan = s.plan();
    let nothing = s.rules("nothing", "absent_metric_golive_test", "> 0");
    let r = s.guard(&plan, &nothing, None).run();
    r.assert_code(3);
    assert_eq!(r.json()["decision"], "unknown");
    assert_eq!(s.actions(), 0);
    let said = s.sink.requests_to("/hook");
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(said[0].json()["severity"], "warning");
}

#[test]
fn a_rules_file_that_does_not_load_is_64_not_no_data() {
    let s = Setup::new();
    let plan = s.plan();
    let missing = s.path("no-such-rules.toml").display().to_string();
    let r = s.guard(&plan, &missing, None).run();
    r.assert_code(64);
    assert!(r.stderr.contains("no-such-rules.toml"), "{}", r.stderr);
    assert!(
        s.sink.requests().is_empty(),
        "nothing is sent for an operator's typo"
    );
}
