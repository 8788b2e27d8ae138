//! The runbook's timeline, end to end: golive-launch.sh moves a real service
//! from blue to green (preflight, DNS cutover, 10% → 50% → 100% with a metric
//! gate after each step) and golive-rollback.sh puts it back when green fails.

use golive_e2e::{Lab, NEW_IP, OLD_IP, dig_a, lab, show};
use serde_json::Value;
use testkit::launch::{NAME, ZONE};

fn weights(lab: &Lab) -> (u32, u32) {
    (lab.haproxy.weight("blue"), lab.haproxy.weight("green"))
}

#[test]
fn a_healthy_release_goes_to_100_percent_without_a_failed_request() {
    let lab = lab();
    let out = lab.script("golive-launch.sh", &[], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(stderr.contains("LAUNCHED: green at 100%"), "{stderr}");

    // Traffic really moved: HAProxy gives blue nothing, and the load saw no failure.
    let (blue, green) = weights(&lab);
    assert_eq!(blue, 0, "blue's live weight");
    assert!(green > 0, "green's live weight");
    let (ok, failed) = lab.load.counts();
    assert_eq!(
        failed, 0,
        "requests failed during the launch ({ok} succeeded)"
    );
    assert!(ok > 100, "the load ran: {ok} requests");

    // DNS was cut over.
    assert!(lab.dns_record().contains(NEW_IP), "{}", lab.dns_record());

    // One report per step, in timeline order, each a pass.
    let names = lab.evidence();
    let steps: Vec<&str> = names
        .iter()
        .map(|n| n.split_once('-').unwrap().1.trim_end_matches(".json"))
        .collect();
    assert_eq!(
        steps,
        [
            "preflight",
            "rollback-dry-run",
            "dns-precheck",
            "dns-propagation",
            "shift-green-10",
            "gate-soft-launch",
            "shift-green-50",
            "gate-ramp-50",
            "shift-green-100",
            "gate-full"
        ],
        "{names:?}"
    );
    for n in &names {
        let r = lab.report(n);
        assert_eq!(r["exit_code"], 0, "{n}: {r}");
    }
    let gate = lab.report(names.iter().find(|n| n.contains("gate-full")).unwrap());
    assert_eq!(gate["decision"], "continue", "{gate}");

    // The journal tells the story, with the script's reasons.
    let reasons: Vec<String> = lab
        .journal()
        .iter()
        .filter(|e| e["event"] == "intent")
        .filter_map(|e| e["reason"].as_str().map(String::from))
        .collect();
    assert_eq!(
        reasons,
        [
            "before launch",
            "launch: green to 10%",
            "launch: green to 50%",
            "launch: green to 100%"
        ]
    );
}

#[test]
fn a_broken_release_is_rolled_back_traffic_and_dns_verified_and_notified() {
    let lab = lab();
    lab.reset(false); // the release in green answers 500
    let out = lab.script("golive-launch.sh", &[], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr.contains("ROLLBACK: soft-launch: metric gate says roll back"),
        "{stderr}"
    );

    // Traffic is back on blue, on the live HAProxy, and requests succeed again.
    let (blue, green) = weights(&lab);
    assert!(blue > 0, "blue's live weight");
    assert_eq!(green, 0, "green's live weight");
    let (ok_before, failed_before) = lab.load.counts();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (ok_after, failed_after) = lab.load.counts();
    assert!(ok_after > ok_before, "traffic flows after the rollback");
    assert_eq!(
        failed_after, failed_before,
        "no failures after the rollback"
    );

    // DNS is back to the old address.
    assert!(lab.dns_record().contains(OLD_IP), "{}", lab.dns_record());

    // The gate's report says why: the rule and the value it saw.
    let names = lab.evidence();
    let gate_file = names
        .iter()
        .find(|n| n.contains("gate-soft-launch"))
        .expect("gate evidence");
    let gate = lab.report(gate_file);
    assert_eq!(gate["exit_code"], 2, "{gate}");
    assert_eq!(gate["decision"], "rollback", "{gate}");
    assert!(gate.to_string().contains("green_error_rate"), "{gate}");

    // The rollback ran through `rollback run`: its report, every step ok,
    // and its own evidence folder that sha256sum -c accepts.
    let rb_file = names
        .iter()
        .find(|n| n.ends_with("-rollback.json"))
        .unwrap_or_else(|| panic!("no rollback report in {names:?}"));
    let rb = lab.report(rb_file);
    assert_eq!(rb["exit_code"], 0, "{rb}");
    assert_eq!(rb["reason"], "soft-launch: metric gate says roll back");
    for step in rb["steps"].as_array().unwrap() {
        assert_eq!(step["state"], "ok", "{step}");
    }
    assert_eq!(rb["traffic"], "blue=100,green=0");
    let kept = rb["evidence"].as_str().unwrap();
    let check = std::process::Command::new("sha256sum")
        .args(["-c", "manifest.sha256"])
        .current_dir(kept)
        .output()
        .expect("sha256sum");
    assert!(check.status.success(), "{}", show(&check));
    assert!(
        names.iter().any(|n| n.ends_with("-rollback-dry-run.json")),
        "the plan was dry-run before the launch: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("shift-green-50")),
        "{names:?}"
    );

    // The journal's last change is the rollback, with the reason.
    let journal = lab.journal();
    let last = journal
        .iter()
        .rev()
        .find(|e| e["event"] == "intent")
        .unwrap();
    let reason = last["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("rollback {}", rb["id"].as_str().unwrap()))
            && reason.ends_with(": soft-launch: metric gate says roll back"),
        "{reason}"
    );
    let result = journal.last().unwrap();
    assert_eq!(result["status"], "applied", "{result}");

    // The team heard about it, start and end.
    let notes = std::fs::read_to_string(lab.path("notify.log")).unwrap();
    assert!(
        notes.contains("rollback initiated: soft-launch: metric gate says roll back"),
        "{notes}"
    );
    assert!(notes.contains("rollback done and verified"), "{notes}");
}

#[test]
fn a_rollback_that_cannot_move_traffic_says_so_and_exits_2() {
    let lab = lab();
    // DNS was already cut over to green when the rollback is called, so a
    // DNS step that ran would show: Knot would answer the old address again.
    lab.knot.set(ZONE, "api", 60, "A", &[NEW_IP]);
    assert_eq!(dig_a(&lab.knot, NAME), [NEW_IP], "the cutover is served");
    let serial = lab.knot.serial(ZONE);
    // HAProxy's admin socket is gone: the traffic step cannot happen.
    lab.write_shift_config(&lab.path("no-such.sock"));
    let out = lab.script(
        "golive-rollback.sh",
        &[("ROLLBACK_REASON", "error rate 7% on green")],
        false,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr.contains("step `traffic` failed"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("rollback's report");
    assert_eq!(report["failed_step"], "traffic", "{report}");
    let notes = std::fs::read_to_string(lab.path("notify.log")).unwrap();
    assert!(
        notes.contains("rollback initiated: error rate 7% on green"),
        "{notes}"
    );
    assert!(!notes.contains("rollback done"), "{notes}");
    // Nothing after the failed step ran: DNS untouched. Knot still answers
    // the cutover's address, from the same zone version.
    assert_eq!(
        dig_a(&lab.knot, NAME),
        [NEW_IP],
        "Knot's answer for {NAME} after the failed rollback"
    );
    assert_eq!(lab.knot.serial(ZONE), serial, "the zone was not changed");
    let states: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["ok", "failed", "skipped", "skipped", "skipped", "skipped"]
    );
}

#[test]
fn the_scripts_refuse_missing_settings_with_64() {
    for (s, setting) in [
        ("golive-launch.sh", "SHIFT_CONFIG"),
        ("golive-rollback.sh", "ROLLBACK_PLAN"),
    ] {
        let out = std::process::Command::new(golive_e2e::script(s))
            .env_remove("SHIFT_CONFIG")
            .env_remove("ROLLBACK_PLAN")
            .env("GOLIVE_BIN", golive_e2e::bin_dir())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{s}: {}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(setting),
            "{s}: {}",
            show(&out)
        );
    }
}
