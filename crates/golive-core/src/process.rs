//! Running external commands (nginx's test and reload, exec templates,
//! gates, a rollback's steps): no stdin, output captured with a bounded
//! tail, each in its own process group, killed whole when its deadline
//! passes. [`run`] lets a command finish whatever signal arrives (a change
//! in flight, a restore); [`run_interruptible`] also stops it when a caught
//! signal arrives ([`crate::signals`]): a gate, a wait, a check.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::Deadline;

/// How a command ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit code; `None` when killed by a signal, on timeout or interrupted.
    pub code: Option<i32>,
    /// What it printed on stdout (the last 64 KiB at most).
    pub stdout: String,
    /// What it printed on stderr (the last 64 KiB at most).
    pub stderr: String,
    /// Whether the deadline killed it.
    pub timed_out: bool,
    /// The signal (`"SIGTERM"`…) that made golive stop it, if one did.
    pub interrupted: Option<&'static str>,
    /// Wall time.
    pub elapsed: Duration,
}

impl Finished {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// One readable line: `exit 1: nginx: [emerg] …` (the last output line,
    /// scrubbed of registered secrets: it is the command's text).
    pub fn describe(&self) -> String {
        let how = if let Some(sig) = self.interrupted {
            format!("stopped on {sig}")
        } else if self.timed_out {
            format!(
                "killed after {}",
                crate::units::human_duration(self.elapsed)
            )
        } else {
            match self.code {
                Some(c) => format!("exit {c}"),
                None => "killed by a signal".into(),
            }
        };
        match self.tail() {
            Some(t) => format!("{how}: {}", crate::redact::scrub(&t)),
            None => how,
        }
    }

    /// The last non-empty line of stderr, else of stdout.
    pub fn tail(&self) -> Option<String> {
        let last = |s: &str| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        };
        last(&self.stderr).or_else(|| last(&self.stdout))
    }
}

/// Run `argv` with extra environment `env` until it exits or `timeout`
/// passes (the whole process group is killed). `Err` when it could not be
/// started.
pub fn run(
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
) -> Result<Finished, String> {
    spawn_and_wait(argv, env, timeout, false)
}

/// [`run`], and also stop the command (its whole group) when a caught
/// signal arrives; [`Finished::interrupted`] names it.
pub fn run_interruptible(
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
) -> Result<Finished, String> {
    spawn_and_wait(argv, env, timeout, true)
}

fn spawn_and_wait(
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
    interruptible: bool,
) -> Result<Finished, String> {
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let t0 = Instant::now();
    let deadline = Deadline::after(timeout);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", crate::redact::command_line(argv)))?;
    let group = rustix::process::Pid::from_raw(child.id() as i32);
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let mut timed_out = false;
    let mut interrupted = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) => {}
            Err(_) => break None,
        }
        let stop = interruptible.then(crate::signals::received).flatten();
        if stop.is_some() || deadline.expired() {
            interrupted = stop;
            timed_out = stop.is_none();
            if let Some(g) = group {
                let _ = rustix::process::kill_process_group(g, rustix::process::Signal::KILL);
            }
            break child.wait().ok();
        }
        std::thread::sleep(deadline.cap(POLL));
    };
    // The readers end when the last writer closes the pipes. Something the
    // command left running in the background (`… &`, a daemon) may hold
    // them open for as long as it lives: wait for the output no longer than
    // the deadline, and at most a moment after the command ended, then keep
    // what was read.
    let grace = Deadline::after(deadline.cap(OUTPUT_GRACE));
    let stdout = collect(out, &grace);
    let stderr = collect(err, &grace);
    let killed = timed_out || interrupted.is_some();
    Ok(Finished {
        code: if killed {
            None
        } else {
            status.and_then(|s| s.code())
        },
        stdout,
        stderr,
        timed_out,
        interrupted,
        elapsed: t0.elapsed(),
    })
}

/// How often a running command is looked at.
const POLL: Duration = Duration::from_millis(5);

/// How long to wait for a finished command's output pipes to close.
const OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// Keep memory bounded for chatty commands: the tail is what matters.
const OUTPUT_KEEP: usize = 64 * 1024;

/// A pipe being read on its own thread: what has arrived so far, and a
/// channel that closes when the pipe does.
type Reader = (Arc<Mutex<Vec<u8>>>, mpsc::Receiver<()>);

fn reader(mut r: impl Read + Send + 'static) -> Reader {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let shared = Arc::clone(&buf);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match r.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let mut b = shared.lock().unwrap_or_else(|e| e.into_inner());
                    b.extend_from_slice(&chunk[..n]);
                    if b.len() > 2 * OUTPUT_KEEP {
                        let cut = b.len() - OUTPUT_KEEP;
                        b.drain(..cut);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(());
    });
    (buf, rx)
}

/// What a reader has, once its pipe closed or `until` passed.
fn collect(r: Option<Reader>, until: &Deadline) -> String {
    let Some((buf, done)) = r else {
        return String::new();
    };
    let _ = done.recv_timeout(until.cap(OUTPUT_GRACE));
    let b = buf.lock().unwrap_or_else(|e| e.into_inner());
    let start = b.len().saturating_sub(OUTPUT_KEEP);
    String::from_utf8_lossy(&b[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn runs_and_times_out() {
        let f = run(
            &sh("echo out; echo err >&2; exit 3"),
            &[],
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(f.code, Some(3));
        assert_eq!(f.stdout.trim(), "out");
        assert_eq!(f.tail().as_deref(), Some("err"));
        let t0 = Instant::now();
        let f = run(&sh("sleep 5 & sleep 5"), &[], Duration::from_millis(200)).unwrap();
        assert!(f.timed_out && !f.success());
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "group was not killed"
        );
        assert!(run(&["/nonexistent/x".into()], &[], Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_far_timeout_does_not_overflow() {
        let f = run(&sh("exit 0"), &[], Duration::MAX).unwrap();
        assert!(f.success());
    }
}
