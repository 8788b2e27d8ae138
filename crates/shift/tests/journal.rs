//! The journal as a user relies on it: server names read back exactly as
//! they were given, and a line torn by a crash never blocks the next shift
//! (the rollback included). The backend is nginx's upstream file with
//! commands that always succeed: what is checked here is shift's record.

mod common;

use std::io::Write;

use common::journal_lines;
use common::upstream::{BLUE, GREEN, Setup};

#[test]
fn server_names_that_look_like_secrets_are_journaled_and_shown_as_given() {
    let s = Setup::new();
    let ran = s.shift("set").args(["--split", "blue=75,green=25"]).run();
    ran.assert_code(0);
    let out = ran.all_output();
    assert!(!out.contains("***"), "nothing here is a secret: {out}");
    let journal = std::fs::read_to_string(&s.journal).unwrap();
    assert!(
        journal.contains(BLUE) && journal.contains(GREEN) && !journal.contains("***"),
        "{journal}"
    );
    // status and undo compare against the journaled names.
    s.shift("status").run().assert_code(0);
    let undo = s.shift("undo").run();
    undo.assert_code(0);
    let file = std::fs::read_to_string(&s.upstream).unwrap();
    assert!(file.contains(&format!("server {GREEN} down;")), "{file}");
}

#[test]
fn a_line_torn_inside_a_multibyte_character_is_skipped_and_counted() {
    let s = Setup::new();
    s.shift("set")
        .args(["--split", "blue=50,green=50"])
        .run()
        .assert_code(0);
    // A crash cut the last line in the middle of "é" (0xC3 0xA9).
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&s.journal)
        .unwrap();
    f.write_all(b"{\"v\":1,\"event\":\"intent\",\"reason\":\"caf\xc3")
        .unwrap();
    drop(f);

    let history = s.shift("history").run();
    history.assert_code(0);
    assert_eq!(history.json()["unreadable_lines"], 1);
    s.shift("status").run().assert_code(0);
    s.shift("set")
        .args(["--split", "blue=100"])
        .run()
        .assert_code(0);
    let undo = s.shift("undo").run();
    undo.assert_code(0);
    let file = std::fs::read_to_string(&s.upstream).unwrap();
    assert!(file.contains(&format!("server {BLUE} weight=1;")), "{file}");
    // The journal still holds the torn bytes: shift never rewrites it.
    let raw = std::fs::read(&s.journal).unwrap();
    assert!(raw.windows(4).any(|w| w == b"caf\xc3"));
    assert!(journal_lines_lossy(&s.journal) >= 4);
}

fn journal_lines_lossy(p: &std::path::Path) -> usize {
    let _ = journal_lines; // the strict reader would panic on the torn line
    String::from_utf8_lossy(&std::fs::read(p).unwrap())
        .lines()
        .count()
}
