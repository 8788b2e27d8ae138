//! The lock that keeps two runs of an action (two shifts, two rollbacks)
//! from interleaving: `flock(2)` on a lock file beside the journal.
//!
//! The kernel releases a flock when its holder dies, so a lock left by a
//! killed process is simply free; the file still names that holder (pid,
//! host, command, time), which the next run reports as taken over. A clean
//! exit empties the file. The lock file is never deleted (deleting it would
//! let two runs lock two different files).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::journal::Who;
use crate::units::human_duration;

/// A held lock; released (and its file emptied) on drop.
#[derive(Debug)]
pub struct Lock {
    file: File,
    /// The previous holder, when it died without releasing.
    pub took_over: Option<Value>,
}

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another live process holds it; what its file says.
    Held(Option<Value>),
    /// The lock file could not be opened.
    Io(String),
}

impl LockError {
    /// One readable sentence.
    pub fn message(&self, path: &Path, waited: Option<Duration>) -> String {
        match self {
            LockError::Held(holder) => {
                let who = holder
                    .as_ref()
                    .map(describe_holder)
                    .unwrap_or_else(|| "another process".into());
                let waited = match waited {
                    Some(d) if !d.is_zero() => {
                        format!(" (waited {})", human_duration(d))
                    }
                    _ => String::new(),
                };
                format!(
                    "another {} is running: {who} holds {}{waited}; let it finish, or pass --wait-lock DURATION",
                    crate::log::tool(),
                    path.display()
                )
            }
            LockError::Io(e) => e.clone(),
        }
    }
}

/// `pid 4242 on lb1 (root, shift set blue=75,green=25, since …)`.
pub fn describe_holder(h: &Value) -> String {
    format!(
        "pid {} on {} ({}, `{}`, since {})",
        h["pid"],
        h["host"].as_str().unwrap_or("?"),
        h["user"].as_str().unwrap_or("?"),
        h["command"].as_str().unwrap_or("?"),
        h["since"].as_str().unwrap_or("?"),
    )
}

fn open(path: &Path) -> Result<File, LockError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map_err(|e| LockError::Io(format!("cannot open lock file {}: {e}", path.display())))
}

/// Take the lock without waiting: `Ok(false)` when another holds it.
fn try_lock(f: &File, shared: bool) -> std::io::Result<bool> {
    let r = if shared {
        f.try_lock_shared()
    } else {
        f.try_lock()
    };
    match r {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

fn read_holder(f: &mut File) -> Option<Value> {
    let mut s = String::new();
    f.seek(SeekFrom::Start(0)).ok()?;
    f.read_to_string(&mut s).ok()?;
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    serde_json::from_str(t)
        .ok()
        .or_else(|| Some(json!({ "raw": t })))
}

/// How long a taker retries even without `--wait-lock`: far longer than a
/// `status` probe holds its shared lock, far shorter than any change.
const PROBE_GRACE: Duration = Duration::from_millis(500);

/// Take the lock, polling until `wait` passes (no wait: a short grace for
/// `status` probes, [`PROBE_GRACE`]).
pub fn acquire(
    path: &Path,
    wait: Option<Duration>,
    who: &Who,
    command: &str,
) -> Result<Lock, LockError> {
    let mut file = open(path)?;
    // `shift status` takes a shared lock for an instant to see whether a
    // change is in progress; without a grace a `set` racing it would be
    // refused as if another shift were running.
    let until = crate::Deadline::after(wait.unwrap_or_default().max(PROBE_GRACE));
    loop {
        match try_lock(&file, false) {
            Ok(true) => break,
            Ok(false) if !until.expired() => std::thread::sleep(Duration::from_millis(25)),
            Ok(false) => return Err(LockError::Held(read_holder(&mut file))),
            Err(e) => {
                return Err(LockError::Io(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )));
            }
        }
    }
    // A non-empty file means its last holder ended without releasing.
    let took_over = read_holder(&mut file);
    let me = json!({
        "pid": who.pid,
        "host": who.host,
        "user": who.user,
        "command": command,
        "since": crate::now_rfc3339(),
    });
    let write = |f: &mut File| -> std::io::Result<()> {
        f.set_len(0)?;
        f.seek(SeekFrom::Start(0))?;
        // No fsync: the holder's details only feed messages, and the flock
        // itself is what excludes; the journal carries the durable record.
        f.write_all(format!("{me}\n").as_bytes())
    };
    write(&mut file)
        .map_err(|e| LockError::Io(format!("cannot write lock file {}: {e}", path.display())))?;
    Ok(Lock { file, took_over })
}

/// Who holds the lock right now, without taking it: `Some(holder)` when a
/// live process has it (its file's content, or `{}`).
pub fn holder(path: &Path) -> Option<Value> {
    let mut f = File::open(path).ok()?;
    match try_lock(&f, true) {
        Ok(true) => {
            let _ = f.unlock();
            None
        }
        Ok(false) => Some(read_holder(&mut f).unwrap_or_else(|| json!({}))),
        Err(_) => None,
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Empty the file while still holding the lock: a clean release.
        let _ = self.file.set_len(0);
        // Closing the descriptor releases the flock.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_is_refused_and_release_is_clean() {
        let dir = std::env::temp_dir().join(format!("golive-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("j.lock");
        let who = crate::journal::who();
        let l = acquire(&p, None, &who, "golive set x").unwrap();
        assert!(l.took_over.is_none());
        assert!(holder(&p).is_some());
        // flock is per open file description: a second open is refused.
        match acquire(&p, Some(Duration::from_millis(60)), &who, "y") {
            Err(LockError::Held(Some(h))) => assert_eq!(h["command"], "golive set x"),
            other => panic!("{other:?}"),
        }
        drop(l);
        assert!(holder(&p).is_none());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
