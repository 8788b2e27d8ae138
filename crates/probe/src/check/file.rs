//! `probe file GLOB`: judge the newest file matching a glob — present, big
//! enough, fresh enough and, with `--gzip`, a whole gzip stream — the
//! runbook's `ls -lh /backups/postgresql/minimarket_*.sql.gz | head -1`.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use golive_core::units::human_duration;
use golive_core::{Deadline, Status, duration_ms};

use crate::outcome::{Outcome, Verdict};

/// A file check.
#[derive(Debug)]
pub struct FileSpec {
    /// The glob, e.g. `/backups/postgresql/minimarket_*.sql.gz`.
    pub pattern: String,
    /// Older than this is CRITICAL.
    pub max_age: Option<Duration>,
    /// Older than this is a WARNING.
    pub warn_age: Option<Duration>,
    /// Smaller than this many bytes is CRITICAL.
    pub min_size: Option<u64>,
    /// Read the whole file as gzip; a corrupt or truncated stream is CRITICAL.
    pub gzip: bool,
}

impl FileSpec {
    /// Check the glob and the thresholds.
    pub fn new(
        pattern: &str,
        max_age: Option<Duration>,
        warn_age: Option<Duration>,
        min_size: Option<u64>,
        gzip: bool,
    ) -> Result<Self, String> {
        glob::Pattern::new(pattern).map_err(|e| format!("'{pattern}' is not a valid glob: {e}"))?;
        if let (Some(w), Some(c)) = (warn_age, max_age)
            && w > c
        {
            return Err("--warn-age is longer than --max-age".into());
        }
        Ok(FileSpec {
            pattern: pattern.to_string(),
            max_age,
            warn_age,
            min_size,
            gzip,
        })
    }
}

/// Bytes for people: `512 B`, `1.2 kB`, `3.4 MB`, `5.6 GB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Read `path` as a (multi-member) gzip stream to its end; the uncompressed
/// size, or why it is not whole.
fn gunzip(path: &PathBuf, deadline: &Deadline) -> Result<u64, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut d = flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(256 * 1024, f));
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        if deadline.expired() {
            return Err("timed out before the end of the stream".into());
        }
        match d.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(format!(
                    "truncated after {} uncompressed",
                    human_size(total)
                ));
            }
            Err(e) => {
                return Err(format!(
                    "corrupt after {} uncompressed: {e}",
                    human_size(total)
                ));
            }
        }
    }
}

/// Find the newest match and judge it, within `limit`.
pub fn probe(spec: &FileSpec, limit: Duration) -> Outcome {
    let deadline = Deadline::after(limit);
    let t0 = Instant::now();
    let with_base = |o: Outcome| o.with("glob", spec.pattern.clone());
    let entries = match glob::glob(&spec.pattern) {
        Ok(e) => e,
        Err(e) => return with_base(Outcome::unknown(format!("bad glob: {e}"))),
    };
    let mut matches = 0usize;
    let mut unreadable = Vec::new();
    let mut newest: Option<(PathBuf, SystemTime, u64)> = None;
    for entry in entries {
        let path = match entry {
            Ok(p) => p,
            Err(e) => {
                unreadable.push(e.to_string());
                continue;
            }
        };
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        matches += 1;
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if newest.as_ref().is_none_or(|(_, t, _)| mtime > *t) {
            newest = Some((path, mtime, meta.len()));
        }
    }
    let Some((path, mtime, size)) = newest else {
        let mut msg = format!("no file matches {}", spec.pattern);
        if let Some(first) = unreadable.first() {
            msg.push_str(&format!(" (unreadable: {first})"));
        }
        return with_base(Outcome::critical(msg))
            .with("matches", 0)
            .with("error", "no_match");
    };
    let age = SystemTime::now().duration_since(mtime).unwrap_or_default();
    let age_s = age.as_secs();
    let mut v = Verdict::default();
    if let Some(min) = spec.min_size.filter(|m| size < *m) {
        v.add(
            Status::Critical,
            // Exact bytes too: 1,000,000 and 1 MiB both print as "1.0 MB".
            format!("smaller than {} ({size} < {min} bytes)", human_size(min)),
        );
    }
    if let Some(max) = spec.max_age.filter(|m| age > *m) {
        v.add(
            Status::Critical,
            format!("older than {}", human_duration(max)),
        );
    } else if let Some(w) = spec.warn_age.filter(|w| age > *w) {
        v.add(Status::Warning, format!("older than {}", human_duration(w)));
    }
    let mut uncompressed = None;
    if spec.gzip {
        if size == 0 {
            v.add(Status::Critical, "empty file, not a gzip stream");
        } else {
            match gunzip(&path, &deadline) {
                Ok(n) => uncompressed = Some(n),
                Err(e) => v.add(Status::Critical, format!("gzip stream {e}")),
            }
        }
    }
    let mut base = format!(
        "newest of {matches}: {}, {}, {} old",
        path.display(),
        human_size(size),
        if age_s < 60 {
            format!("{age_s}s")
        } else {
            human_duration(Duration::from_secs(age_s))
        }
    );
    if let Some(n) = uncompressed {
        base.push_str(&format!(", gzip intact ({} uncompressed)", human_size(n)));
    }
    let mut o = with_base(v.outcome(&base))
        .with("path", path.display().to_string())
        .with("matches", matches)
        .with("size_bytes", size)
        .with("mtime", golive_core::rfc3339(mtime))
        .with("age_s", age_s)
        .with("latency_ms", duration_ms(t0.elapsed()));
    if spec.gzip {
        o.set("gzip_ok", uncompressed.is_some());
        if let Some(n) = uncompressed {
            o.set("uncompressed_bytes", n);
        }
    }
    o.metric(
        "probe_file_matches",
        "Files matching the glob.",
        matches as f64,
    );
    o.metric(
        "probe_file_size_bytes",
        "Size of the newest match, in bytes.",
        size as f64,
    );
    o.metric(
        "probe_file_age_seconds",
        "Age of the newest match (since its mtime), in seconds.",
        age.as_secs_f64(),
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1_234_567), "1.2 MB");
    }

    #[test]
    fn bad_glob_is_refused() {
        assert!(FileSpec::new("/backups/[", None, None, None, false).is_err());
        assert!(
            FileSpec::new(
                "/b/*",
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(120)),
                None,
                false
            )
            .is_err()
        );
    }
}
