//! The contract's signal rule for shift: SIGTERM while a ramp's gate runs
//! stops the gate at once (its process group is killed), restores the split
//! the ramp started from, and prints the summary — within a second.

mod common;

use std::time::Duration;

use common::upstream::{GREEN, Setup};

#[test]
fn sigterm_while_the_gate_runs_stops_it_and_restores_the_start() {
    let s = Setup::new();
    let before = std::fs::read_to_string(&s.upstream).unwrap();
    let (r, to_end) = s
        .shift("set")
        .args(["--split", "green=100", "--step", "50", "--every", "100ms"])
        .args(["--gate", "sleep 30", "--gate-timeout", "1m"])
        .run_signalled(libc::SIGTERM, Duration::from_millis(1500));
    assert!(to_end < Duration::from_secs(1), "took {to_end:?} to stop");
    r.assert_code(2);
    let doc = r.assert_envelope("shift");
    let msg = doc["message"].as_str().unwrap();
    assert!(msg.contains("SIGTERM") && msg.contains("gate"), "{msg}");
    let after = std::fs::read_to_string(&s.upstream).unwrap();
    assert_eq!(after, before, "the starting split is back");
    assert!(after.contains(&format!("server {GREEN} down;")));
}

#[test]
fn a_share_below_what_a_split_keeps_is_refused_not_rounded_to_zero() {
    let s = Setup::new();
    let before = std::fs::read_to_string(&s.upstream).unwrap();
    let r = s.shift("set").args(["--split", "green=0.001"]).run();
    r.assert_code(64);
    assert!(r.stderr.contains("two decimals"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&s.upstream).unwrap(), before);
}
