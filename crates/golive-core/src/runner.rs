//! What every tool's `run()` goes through, so the contract's last-resort
//! rules hold everywhere:
//!
//! - a panic (a bug) prints one scrubbed line, `tool: internal error: …`,
//!   on stderr, never Rust's multi-line message; on a worker thread the tool
//!   reports that item as UNKNOWN and goes on, and a panic that reaches the
//!   top exits 3 (UNKNOWN: the tool could not see its evidence) — never
//!   Rust's 101, which no monitoring system knows;
//! - a closed stdout (`probe … | head -1`) is success: every writer in
//!   [`crate::output`] ignores a broken pipe;
//! - long-running modes catch SIGINT/SIGTERM/SIGHUP with [`crate::signals`].
//!
//! Parsing (usage errors → 64) is [`crate::cli::parse`]; the envelope is
//! [`crate::Run`].

use std::process::ExitCode;

use crate::Status;

/// Set `GOLIVE_DEBUG_PANIC=message` to make a tool panic with `message`
/// right after start-up: how the tests check the panic rule from outside.
pub const DEBUG_PANIC_VAR: &str = "GOLIVE_DEBUG_PANIC";

/// Run `work` as tool `tool`: install the panic hook, then return what
/// `work` returns.
pub fn main(tool: &'static str, work: impl FnOnce() -> ExitCode) -> ExitCode {
    std::panic::set_hook(Box::new(move |info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = crate::output::printable(&what);
        crate::log::error_line(
            tool,
            &format!("internal error: {what}{at} (a bug: please report it)"),
        );
        std::process::exit(i32::from(Status::Unknown.exit_code()));
    }));
    if let Some(msg) = std::env::var_os(DEBUG_PANIC_VAR).filter(|m| !m.is_empty()) {
        panic!("{}", msg.to_string_lossy());
    }
    work()
}
