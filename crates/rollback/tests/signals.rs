//! SIGTERM during a step stops it (its process group is killed) within a
//! second, says so, and the next `run` takes over the same rollback and
//! runs that step again.

use std::time::Duration;

use testkit::cli::Cli;

const BIN: &str = env!("CARGO_BIN_EXE_rollback");

#[test]
fn sigterm_stops_the_step_in_flight_and_a_rerun_resumes_it() {
    let dir = testkit::temp_dir("rollback-signal");
    let marker = dir.path().join("second-time");
    let plan = dir.path().join("plan.toml");
    testkit::write(
        &plan,
        &format!(
            r#"state_dir = "{state}"

[[step]]
name = "first"
kind = "exec"
command = "true"

[[step]]
name = "slow"
kind = "exec"
command = "if [ -e {m} ]; then exit 0; fi; touch {m}; sleep 30"
"#,
            state = dir.path().join("state").display(),
            m = marker.display(),
        ),
    );
    let run = || Cli::new(BIN).args(["run", "--plan", &plan.display().to_string()]);
    let (r, to_end) = run().run_signalled(libc::SIGTERM, Duration::from_millis(1500));
    assert!(to_end < Duration::from_secs(1), "took {to_end:?} to stop");
    r.assert_code(3);
    let doc = r.assert_envelope("rollback");
    assert_eq!(doc["outcome"], "interrupted", "{doc}");
    assert_eq!(doc["interrupted"], "SIGTERM");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("stopped by SIGTERM during step `slow`"),
        "{doc}"
    );

    let again = run().run();
    again.assert_code(0);
    let doc2 = again.assert_envelope("rollback");
    assert_eq!(doc2["id"], doc["id"], "the same rollback is taken over");
    assert_eq!(doc2["resumed"], true);
    assert_eq!(doc2["steps"][0]["state"], "done_before");
    assert_eq!(doc2["steps"][1]["state"], "ok");
}
