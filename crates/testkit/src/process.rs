//! Child server processes: started with their output in a log file, killed
//! when the test process dies (PR_SET_PDEATHSIG), stopped on drop.

use std::fs::File;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server process.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    stop_signal: i32,
}

impl Proc {
    /// Spawn `cmd` with stdout and stderr appended to `log`.
    ///
    /// The child receives SIGKILL if the thread that spawned it ends first, so
    /// a test killed mid-way leaves no server behind. (PDEATHSIG follows the
    /// spawning *thread*: start servers on the thread that owns them.)
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Proc {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("{name}: cannot open log {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log handle");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {:?}: {e}", cmd.get_program()));
        Proc {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
            stop_signal: libc::SIGTERM,
        }
    }

    /// Use `sig` instead of SIGTERM to ask the process to stop (PostgreSQL
    /// shuts down fastest on SIGINT, nginx on SIGQUIT is graceful).
    pub fn with_stop_signal(mut self, sig: i32) -> Self {
        self.stop_signal = sig;
        self
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Send a signal to the process.
    pub fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe {
                libc::kill(pid as i32, sig);
            }
        }
    }

    /// Stop the process: its stop signal, then SIGKILL after 5 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as i32, self.stop_signal);
        }
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kill the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Panic with the log's tail, naming the server and what was awaited.
    pub fn fail(&self, what: &str) -> ! {
        let log = self.log();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "{}: {what}\n--- log {} ---\n{}",
            self.name,
            self.log.display(),
            tail.join("\n")
        );
    }

    /// Wait until `addr` accepts TCP connections, failing with the log if the
    /// process exits or `timeout` passes.
    pub fn wait_tcp(&mut self, addr: SocketAddr, timeout: Duration) {
        let until = Instant::now() + timeout;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if !self.is_running() {
                self.fail(&format!("exited before listening on {addr}"));
            }
            if Instant::now() > until {
                self.fail(&format!("not listening on {addr} after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until `check` returns true, failing as [`Proc::wait_tcp`] does.
    pub fn wait_until(&mut self, what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
        let until = Instant::now() + timeout;
        loop {
            if check() {
                return;
            }
            if !self.is_running() {
                self.fail(&format!("exited before {what}"));
            }
            if Instant::now() > until {
                self.fail(&format!("not {what} after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Run a setup command to completion, panicking with its output on failure.
pub fn run(what: &str, cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {:?}: {e}", cmd.get_program()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        panic!(
            "{what}: {:?} failed ({})\n{}{}",
            cmd.get_program(),
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}
