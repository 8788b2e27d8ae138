//! SIGINT, SIGTERM and SIGHUP in a long-running mode (a watch, a wait, a
//! ramp, a gate, a command): remembered, not fatal, so the mode stops at its
//! next check — within a second — prints the summary so far and exits as
//! documented. A second signal of the same kind ends the process at once, as
//! if nothing were caught (an operator who insists is obeyed).
//!
//! Short modes do not call [`catch`]: there a signal ends the process the
//! ordinary way.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::Deadline;

fn received_sig() -> &'static Arc<AtomicUsize> {
    static R: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    R.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

/// How often a wait looks at the signal flag: well inside the one second the
/// contract allows.
pub const POLL: Duration = Duration::from_millis(20);

/// Catch SIGINT, SIGTERM and SIGHUP from now on (idempotent).
pub fn catch() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let again = Arc::new(AtomicBool::new(false));
            // Order matters: the first handler terminates only when the
            // second has already seen this signal once.
            let _ = signal_hook::flag::register_conditional_default(sig, Arc::clone(&again));
            let _ = signal_hook::flag::register(sig, again);
            let _ =
                signal_hook::flag::register_usize(sig, Arc::clone(received_sig()), sig as usize);
        }
    });
}

/// The signal received since [`catch`], if any: `"SIGTERM"`, `"SIGINT"`…
pub fn received() -> Option<&'static str> {
    match received_sig().load(Ordering::SeqCst) as i32 {
        0 => None,
        SIGINT => Some("SIGINT"),
        SIGTERM => Some("SIGTERM"),
        SIGHUP => Some("SIGHUP"),
        _ => Some("a signal"),
    }
}

/// Sleep for `d`, waking early when a signal arrives; `false` if one did.
pub fn sleep(d: Duration) -> bool {
    sleep_until(&Deadline::after(d))
}

/// Sleep until `deadline`, waking early when a signal arrives; `false` if
/// one did.
pub fn sleep_until(deadline: &Deadline) -> bool {
    loop {
        if received().is_some() {
            return false;
        }
        match deadline.remaining() {
            Some(r) if r.is_zero() => return true,
            Some(r) => std::thread::sleep(r.min(POLL)),
            None => std::thread::sleep(POLL),
        }
    }
}
