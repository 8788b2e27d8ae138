//! How the scripts read the tools' exit codes: each code means what the
//! contract says, and a script acts on that meaning, never on "non-zero".

use golive_e2e::{NEW_IP, OLD_IP, dig_a, lab, show};
use testkit::launch::{NAME, ZONE};

#[test]
fn shift_exit_1_in_a_rollback_is_traffic_moved_and_the_rollback_goes_on() {
    let lab = lab();
    lab.knot.set(ZONE, "api", 60, "A", &[NEW_IP]);
    let green = lab.shift(&["set", "--split", "green=100"]);
    assert!(green.status.success(), "{}", show(&green));
    // A state file that cannot be written: shift applies and reads back the
    // split, then cannot save HAProxy's state, and exits 1.
    let cfg = std::fs::read_to_string(lab.path("shift.toml")).unwrap();
    testkit::write(
        &lab.path("shift.toml"),
        &format!("{cfg}state_file = \"/proc/golive-no-such-dir/state\"\n"),
    );
    let out = lab.script("golive-rollback.sh", &[("ROLLBACK_REASON", "test")], false);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("rollback's report");
    let traffic = &report["steps"][1];
    assert_eq!(traffic["name"], "traffic");
    assert_eq!(traffic["status"], "warning", "{traffic}");
    assert_eq!(
        traffic["state"], "ok",
        "shift's 1 is traffic moved: {traffic}"
    );
    assert_eq!(traffic["shift"]["exit_code"], 1, "{traffic}");
    assert!(lab.haproxy.weight("blue") > 0, "traffic is back on blue");
    assert_eq!(lab.haproxy.weight("green"), 0, "green's live weight");
    // The rollback went on: DNS is back on the old address.
    assert_eq!(dig_a(&lab.knot, NAME), [OLD_IP]);
}
