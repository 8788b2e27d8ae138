//! golive-core: the contract every golive tool keeps, in one place.
//!
//! Each binary (`probe`, `dns-watch`, `metric-gate`, `shift`, …) is a thin
//! `main.rs` over a library that uses this crate for:
//!
//! - [`Status`] and its exit codes (Nagios 0–3, plus [`EXIT_USAGE`] = 64), and
//!   the worst-of merge ([`Status::merge_seen`]: no results is never OK);
//! - [`Error`], the one error type a tool returns, which knows its exit code;
//! - [`Run`], the output envelope every summary carries;
//! - [`output`]: formats, the stdout writer (redacting, broken-pipe tolerant),
//!   Prometheus text exposition and aligned text tables;
//! - [`units`]: durations, percentages, sizes and instants as users type them;
//! - [`redact`]: secret redaction for everything printed;
//! - [`config`]: TOML loading with `${VAR}` expansion and located errors;
//! - [`cli`]: argument parsing that maps usage errors to 64;
//! - [`log`]: stderr logging with `-q` / `-v`;
//! - [`runner`]: what every tool's `run()` goes through (panic hook);
//! - [`pool`]: the one bounded worker pool;
//! - [`duration_ms`]: the one way a `*_ms` figure is written;
//! - [`signals`]: SIGINT/SIGTERM/SIGHUP in long-running modes;
//! - [`process`]: external commands with deadlines, killed as a group;
//! - [`journal`], [`lock`], [`fs`]: append-only fsynced records, the lock
//!   that keeps two actions from interleaving, crash-safe files.
#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod doc;
mod error;
pub mod fs;
pub mod journal;
pub mod lock;
pub mod log;
pub mod output;
pub mod pool;
pub mod process;
pub mod redact;
mod run;
pub mod runner;
pub mod signals;
mod status;
pub mod units;

pub use error::{Error, Result};
pub use run::{Deadline, Run, duration_ms, item, now_rfc3339, rfc3339};
pub use status::{EXIT_USAGE, Status};
