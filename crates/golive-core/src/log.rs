//! stderr: logs and progress, never results.
//!
//! `-q` silences everything but fatal errors, `-v` adds detail. Lines carry
//! foreign text (a library's error, a command's output), so every line is
//! scrubbed of registered secrets ([`crate::redact::scrub`]). Progress (redrawn boards, countdowns) is only for a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(1);
static TOOL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Set the tool name and level from `-q` / `-v` (call once, early).
pub fn init(tool: &str, quiet: bool, verbose: u8) {
    let _ = TOOL.set(tool.to_string());
    let level = if quiet { 0 } else { 1 + verbose.min(2) };
    LEVEL.store(level, Ordering::Relaxed);
}

/// The tool's name, as set by [`init`] (`golive` before).
pub(crate) fn tool() -> &'static str {
    TOOL.get().map(String::as_str).unwrap_or("golive")
}

fn write(line: &str) {
    let clean = crate::redact::scrub(line);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}: {clean}", tool());
}

/// A warning or notable event (hidden by `-q`).
pub fn warn(msg: &str) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        write(msg);
    }
}

/// Progress or context (hidden by `-q`).
pub fn info(msg: &str) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        write(msg);
    }
}

/// Detail shown with `-v`.
pub fn debug(msg: &str) {
    if LEVEL.load(Ordering::Relaxed) >= 2 {
        write(msg);
    }
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    LEVEL.load(Ordering::Relaxed) >= 2
}

/// A fatal error line, printed even under `-q`: always one line (a line
/// break or a control character quoted from the input prints escaped).
pub fn error_line(tool: &str, msg: &str) {
    let clean = crate::output::printable(&crate::redact::scrub(msg));
    let _ = writeln!(std::io::stderr().lock(), "{tool}: {clean}");
}

/// Whether progress may be drawn: stderr is a terminal and not `-q`.
pub fn progress_allowed() -> bool {
    LEVEL.load(Ordering::Relaxed) >= 1 && std::io::stderr().is_terminal()
}

/// Whether stdout is a terminal (for `--format text` boards that redraw).
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}
