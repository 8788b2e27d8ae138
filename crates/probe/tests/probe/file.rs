//! `probe file` on real files: the newest match, its age, size and gzip stream.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::{check, probe};

/// A gzip file holding `n` bytes of a dump-like text.
pub fn write_gzip(path: &Path, n: usize) {
    let f = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let line = b"INSERT INTO orders VALUES (1, 'minimarket', 42.00);\n";
    let mut written = 0;
    while written < n {
        gz.write_all(line).unwrap();
        written += line.len();
    }
    gz.finish().unwrap();
}

fn age(path: &Path, by: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - by).unwrap();
}

#[test]
fn the_newest_backup_is_judged() {
    let dir = testkit::temp_dir("probe-file");
    let old = dir.path().join("minimarket_20261126.sql.gz");
    let new = dir.path().join("minimarket_20261127.sql.gz");
    write_gzip(&old, 10_000);
    write_gzip(&new, 200_000);
    age(&old, Duration::from_secs(50 * 3600));
    age(&new, Duration::from_secs(2 * 3600));
    let glob = dir.path().join("minimarket_*.sql.gz").display().to_string();

    let r = probe()
        .args([
            "file",
            &glob,
            "--max-age",
            "26h",
            "--gzip",
            "--min-size",
            "1KB",
        ])
        .run();
    r.assert_code(0);
    let doc = r.assert_envelope("probe");
    let c = check(&doc);
    assert_eq!(c["path"], new.display().to_string());
    assert_eq!(c["matches"], 2);
    assert_eq!(c["gzip_ok"], true);
    assert!(c["uncompressed_bytes"].as_u64().unwrap() >= 200_000);
    let age_s = c["age_s"].as_u64().unwrap();
    assert!((7200..7300).contains(&age_s), "{c}");
    assert!(c["mtime"].as_str().unwrap().ends_with('Z'));

    // Too old for the warning threshold, under the critical one: WARNING.
    probe()
        .args(["file", &glob, "--warn-age", "1h", "--max-age", "26h"])
        .run()
        .assert_code(1);
    // Too old: CRITICAL. Too small: CRITICAL.
    probe()
        .args(["file", &glob, "--max-age", "1h"])
        .run()
        .assert_code(2);
    probe()
        .args(["file", &glob, "--min-size", "10MB"])
        .run()
        .assert_code(2);
}

/// Guards the backup check: a truncated gzip must fail even though the
/// file is there, fresh and big.
#[test]
fn a_truncated_gzip_is_critical() {
    let dir = testkit::temp_dir("probe-file");
    let path = dir.path().join("minimarket_20261127.sql.gz");
    write_gzip(&path, 500_000);
    let full = std::fs::metadata(&path).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(full / 2)
        .unwrap();
    let r = probe()
        .args(["file", &path.display().to_string(), "--gzip"])
        .run();
    r.assert_code(2);
    let c = check(&r.json()).clone();
    assert_eq!(c["gzip_ok"], false);
    assert!(c["message"].as_str().unwrap().contains("truncated"), "{c}");
    // Without --gzip the same file passes: only reading it shows the damage.
    probe()
        .args(["file", &path.display().to_string()])
        .run()
        .assert_code(0);

    // Not gzip at all.
    let plain = dir.path().join("plain.sql.gz");
    testkit::write(&plain, "CREATE TABLE orders ();\n");
    probe()
        .args(["file", &plain.display().to_string(), "--gzip"])
        .run()
        .assert_code(2);
}

#[test]
fn no_match_is_critical() {
    let dir = testkit::temp_dir("probe-file");
    let glob = dir.path().join("minimarket_*.sql.gz").display().to_string();
    let r = probe().args(["file", &glob]).run();
    r.assert_code(2);
    assert_eq!(check(&r.json())["matches"], 0);
    assert_eq!(check(&r.json())["error"], "no_match");
}

#[test]
fn too_small_names_both_sizes_when_they_round_alike() {
    // 1,000,000 bytes against --min-size 1MiB (1,048,576): both print as
    // "1.0 MB", so the message must say which is which in bytes.
    let dir = testkit::temp_dir("probe-file");
    let f = dir.path().join("minimarket_20261127.sql");
    std::fs::write(&f, vec![b'x'; 1_000_000]).unwrap();
    let r = probe()
        .args(["file", &f.display().to_string(), "--min-size", "1MiB"])
        .run();
    r.assert_code(2);
    let msg = check(&r.json())["message"].as_str().unwrap().to_string();
    assert!(msg.contains("1000000") && msg.contains("1048576"), "{msg}");
}
