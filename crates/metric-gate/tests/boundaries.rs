//! Thresholds at their boundary, values shown beside them, `for` windows
//! that are not a multiple of the step, and `--at` out of range: judged
//! against a real Prometheus.

mod common;

use common::*;

fn message(r: &Ran) -> String {
    r.json()["rules"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn percent_and_millisecond_thresholds_are_the_numbers_written() {
    let p = Prometheus::start();
    // 95% success is not below 95%: no rollback (95 × 0.01 is 0.9500000000000001).
    let r = check(&p, &["--query", "vector(0.95)", "--critical", "< 95%"]);
    r.assert_code(0);
    // 19 of 20 requests succeeded: exactly the threshold.
    check(&p, &["--query", "vector(19/20)", "--critical", "< 95%"]).assert_code(0);
    // 57% is at least 57%; 9 ms is at least 9ms.
    check(&p, &["--query", "vector(0.57)", "--warn", ">= 57%"]).assert_code(1);
    check(&p, &["--query", "vector(0.009)", "--warn", ">= 9ms"]).assert_code(1);
    // The same boundaries in a rules file.
    let (_d, f) = rules_file(
        "[[rule]]\nname = \"success\"\ndescription = \"x\"\nquery = \"vector(0.95)\"\ncritical = \"< 95%\"\n",
    );
    check(&p, &["--rules", &f]).assert_code(0);
}

#[test]
fn a_value_just_past_its_threshold_is_not_shown_equal_to_it() {
    let p = Prometheus::start();
    let r = check(&p, &["--query", "vector(0.05000001)", "--critical", "> 5%"]);
    r.assert_code(2);
    let m = message(&r);
    assert!(!m.starts_with("5% > 5%"), "reads as a bug at 3 a.m.: {m}");
    assert!(m.contains("> 5%"), "{m}");

    let r = check(&p, &["--query", "vector(0.9899999)", "--warn", "< 99%"]);
    r.assert_code(1);
    let m = message(&r);
    assert!(!m.starts_with("99% < 99%"), "{m}");

    let r = check(&p, &["--query", "vector(1e-13)", "--critical", "> 0"]);
    r.assert_code(2);
    let m = message(&r);
    assert!(!m.starts_with("0 > 0"), "{m}");

    // Text output shows the same distinct value.
    let r = check(
        &p,
        &[
            "--query",
            "vector(0.05000001)",
            "--critical",
            "> 5%",
            "--format",
            "text",
        ],
    );
    r.assert_code(2);
    assert!(!r.stdout.contains("5% > 5%"), "{}", r.stdout);

    // Values well away from the threshold keep their short form.
    let r = check(&p, &["--query", "vector(0.0823)", "--critical", "> 5%"]);
    assert!(message(&r).starts_with("8.23% > 5%"), "{}", message(&r));
}

#[test]
fn for_window_not_a_multiple_of_the_step_covers_the_whole_window() {
    // 30% from offset 1005 s on, 1% before; samples every 15 s.
    let mut h = History::new();
    h.gauge("err_ratio", 0, END, |t| {
        Some(if t >= 1005 { 0.3 } else { 0.01 })
    });
    let p = h.start();
    let run = |at: i64| {
        check(
            &p,
            &[
                "--query",
                "err_ratio",
                "--critical",
                "> 5%",
                "--for",
                "70s",
                "--at",
                &h.at(at),
            ],
        )
    };
    // Held for 60 s at 1065 s: less than 70 s, no rollback.
    let r = run(1065);
    r.assert_code(0);
    assert!(message(&r).contains("not for the whole"), "{}", message(&r));
    // Held for 75 s at 1080 s (the first 15 s evaluation past 70 s, as a
    // Prometheus alert with `for: 70s` fires): roll back.
    run(1080).assert_code(2);
}

#[test]
fn an_instant_beyond_year_9999_is_a_usage_error_not_a_panic() {
    let p = Prometheus::start();
    for at in ["1e20", "99999999999999", "1e300"] {
        let r = check(&p, &["--query", "vector(1)", "--warn", "> 2", "--at", at]);
        r.assert_code(64);
        assert!(!r.stderr.contains("panicked"), "{at}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{at}: {}", r.stderr);
        assert!(r.stderr.contains("--at"), "{at}: {}", r.stderr);
    }
}

#[test]
fn csv_values_keep_their_full_precision() {
    let p = Prometheus::start();
    let r = check(
        &p,
        &[
            "--query",
            "vector(0.05000001)",
            "--critical",
            "> 0.05",
            "--format",
            "csv",
        ],
    );
    r.assert_code(2);
    let row = r.stdout.lines().nth(1).unwrap_or_default().to_string();
    assert!(row.contains(",critical,0.05000001,"), "{row}");
}
