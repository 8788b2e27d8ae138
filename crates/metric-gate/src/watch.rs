//! `watch`: judge every rule each `--interval` for `--duration`.
//!
//! Rounds start at 0, interval, 2·interval, … up to and including the end of
//! the window (a round that would start late because the previous one ran
//! long starts at the next slot instead). The watch stops early with exit 2
//! at the first CRITICAL round, exit 1 after `--max-consecutive-warnings`
//! rounds in a row with a WARNING, and exit 3 after
//! `--max-consecutive-unknown` rounds in a row that could not see their
//! evidence. At the end of the window it exits 0 — or 3 if its last round
//! saw nothing — and lists the warnings it saw.
//!
//! With `--at`, the rounds replay history from that instant without waiting.
//!
//! SIGINT, SIGTERM or SIGHUP end the watch within a second, even in the
//! middle of a round: the summary so far is printed (`ended: interrupted`,
//! `interrupted: "SIGTERM"`) and the exit is 3 — the watch did not see its
//! whole window, so it cannot say continue.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use golive_core::output::{self, Format};
use golive_core::{Deadline, Run, Status, item, log, signals};
use serde_json::{Map, Value, json};

use crate::cli::{Config, WatchConfig};
use crate::judge::RuleResult;
use crate::prom::PromClient;
use crate::report::{self, Board, ms_of, num, time_of};

/// Values kept per rule for the board's trend.
const TREND: usize = 30;
/// Warnings listed in the summary at most (the count is always exact).
const MAX_LISTED_WARNINGS: usize = 200;

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    WindowEnd,
    Critical,
    ConsecutiveWarnings,
    ConsecutiveUnknown,
    /// SIGINT, SIGTERM or SIGHUP: the summary so far, exit 3.
    Interrupted(&'static str),
}

impl Ended {
    fn as_str(self) -> &'static str {
        match self {
            Ended::Interrupted(_) => "interrupted",
            Ended::WindowEnd => "window_end",
            Ended::Critical => "critical",
            Ended::ConsecutiveWarnings => "consecutive_warnings",
            Ended::ConsecutiveUnknown => "consecutive_unknown",
        }
    }
}

/// Run the watch and return its exit code.
pub fn watch(run: &Run, cfg: &Config, w: &WatchConfig, client: &PromClient) -> ExitCode {
    let format = if cfg.format_given {
        cfg.format
    } else {
        Format::Ndjson
    };
    let board = format == Format::Text && log::stdout_is_terminal();
    let progress = !board && !log::stdout_is_terminal() && log::progress_allowed();
    let replay_from = cfg.at.map(ms_of);
    let t0 = Instant::now();
    let interval_ms = w.interval.as_millis().max(1) as u64;
    let last_slot = w.duration.as_millis() as u64 / interval_ms;

    let mut slot: u64 = 0;
    let mut round: u64 = 0;
    let mut consecutive_warnings: u32 = 0;
    let mut consecutive_unknown: u32 = 0;
    let mut history: Vec<Vec<Option<f64>>> = vec![Vec::new(); cfg.rules.len()];
    let mut warnings_seen: Vec<Value> = Vec::new();
    let mut notes_seen: Vec<Value> = Vec::new();
    let mut warning_rounds: u64 = 0;
    let mut by_status = [0u64; 4];
    let mut prom_warnings: Vec<String> = Vec::new();
    let mut last: Vec<RuleResult> = Vec::new();
    let mut last_status = Status::Unknown;
    signals::catch();
    let ended = loop {
        if slot > last_slot {
            break Ended::WindowEnd;
        }
        let offset = Duration::from_millis(slot * interval_ms);
        if replay_from.is_none() {
            let now = t0.elapsed();
            if now < offset && !signals::sleep(offset - now) {
                break Ended::Interrupted(signals::received().unwrap_or("a signal"));
            }
        }
        if let Some(sig) = signals::received() {
            break Ended::Interrupted(sig);
        }
        let at_ms = match replay_from {
            Some(start) => start + offset.as_millis() as i64,
            None => ms_of(SystemTime::now()),
        };
        let deadline = Deadline::after(cfg.timeout);
        let Some(results) = round_unless_signalled(cfg, client, at_ms, deadline) else {
            break Ended::Interrupted(signals::received().unwrap_or("a signal"));
        };
        round += 1;
        if progress {
            eprint!("\r\x1b[K");
        }
        crate::log_round(&results);
        let status = report::overall(&results);
        by_status[status.exit_code() as usize] += 1;
        let has_warning = results
            .iter()
            .any(|r| r.gates && r.status == Status::Warning);
        if has_warning && status != Status::Critical {
            consecutive_warnings += 1;
            warning_rounds += 1;
        } else {
            consecutive_warnings = 0;
        }
        consecutive_unknown = if status == Status::Unknown {
            consecutive_unknown + 1
        } else {
            0
        };
        for (h, r) in history.iter_mut().zip(&results) {
            h.push(r.value());
            if h.len() > TREND {
                h.remove(0);
            }
        }
        for r in results
            .iter()
            .filter(|r| r.gates && r.status == Status::Warning)
        {
            if warnings_seen.len() < MAX_LISTED_WARNINGS {
                warnings_seen.push(json!({
                    "round": round,
                    "at": time_of(r.at_ms),
                    "rule": r.name,
                    "value": num(r.value()),
                    "message": r.message,
                }));
            }
        }
        for r in &results {
            for n in &r.notes {
                // The first time each rule's note is seen (the review wants
                // when it began, not every round).
                let first = !notes_seen.iter().any(|s| s["rule"] == r.name.as_str());
                if first && notes_seen.len() < MAX_LISTED_WARNINGS {
                    notes_seen.push(json!({
                        "round": round,
                        "at": time_of(r.at_ms),
                        "rule": r.name,
                        "note": n,
                    }));
                }
            }
        }
        for w in report::all_warnings(&results) {
            if !prom_warnings.contains(&w) {
                prom_warnings.push(w);
            }
        }

        match format {
            Format::Ndjson => {
                let mut f = Map::new();
                f.insert("round".into(), json!(round));
                f.insert("at".into(), json!(time_of(at_ms)));
                f.insert("status".into(), json!(status));
                f.insert("decision".into(), json!(report::decision(status)));
                f.insert("consecutive_warnings".into(), json!(consecutive_warnings));
                f.insert(
                    "rules".into(),
                    Value::Array(results.iter().map(compact).collect()),
                );
                output::emit_line(&run.event("round", f));
            }
            Format::Text if board => {
                let b = Board {
                    round,
                    at_ms,
                    // Replays show how far into the window the data is.
                    elapsed: if replay_from.is_some() {
                        offset
                    } else {
                        t0.elapsed()
                    },
                    duration: w.duration,
                    rules: &cfg.rules,
                    results: &results,
                    history: &history,
                    consecutive_warnings,
                    status,
                };
                // Cursor home and clear: the board redraws in place.
                output::emit(&format!("\x1b[H\x1b[2J{}", b.render()));
            }
            Format::Text => output::emit(&report::round_lines(round, &cfg.rules, &results)),
            Format::Csv => {
                output::emit(&report::csv(&cfg.rules, &results, round == 1, Some(round)))
            }
            Format::Json | Format::Prom => {}
        }
        if progress {
            // A status line on a terminal's stderr while stdout goes elsewhere.
            let line = format!(
                "round {round}: {} ({}), {} of {}",
                status.label(),
                report::decision(status),
                golive_core::units::human_duration(offset),
                golive_core::units::human_duration(w.duration)
            );
            eprint!("\r\x1b[K{}", golive_core::redact::scrub(&line));
        }
        last = results;
        last_status = status;

        if status == Status::Critical {
            break Ended::Critical;
        }
        if w.max_consecutive_warnings
            .is_some_and(|n| consecutive_warnings >= n)
        {
            break Ended::ConsecutiveWarnings;
        }
        if consecutive_unknown >= w.max_consecutive_unknown {
            break Ended::ConsecutiveUnknown;
        }
        // Next slot: the following one, or the first not yet passed when a
        // round ran long.
        slot += 1;
        if replay_from.is_none() {
            let behind = t0.elapsed().as_millis() as u64 / interval_ms;
            if behind > slot {
                log::info(&format!(
                    "round {round} ran past {} slot(s); skipping to the next",
                    behind - slot
                ));
                slot = behind;
            }
        }
    };

    if progress {
        eprint!("\r\x1b[K");
    }
    let status = match ended {
        Ended::Interrupted(sig) => {
            log::warn(&format!(
                "stopped by {sig} after {round} round(s): the window was not watched to its end"
            ));
            Status::Unknown
        }
        Ended::Critical => Status::Critical,
        Ended::ConsecutiveWarnings => Status::Warning,
        Ended::ConsecutiveUnknown => Status::Unknown,
        Ended::WindowEnd if last_status == Status::Unknown => Status::Unknown,
        Ended::WindowEnd => Status::Ok,
    };
    if status != Status::Ok && !log::stdout_is_terminal() {
        // stdout goes to a file or a pipe: the log of the script around us
        // still says why, in one line per deciding rule.
        for r in last.iter().filter(|r| r.status == status) {
            log::warn(&format!(
                "{}: {} {}: {}",
                report::decision(status),
                r.name,
                r.status.label(),
                r.message
            ));
        }
    }
    let body = report::WatchBody {
        mode: "watch",
        decision: report::decision(status),
        ended: ended.as_str(),
        interrupted: match ended {
            Ended::Interrupted(sig) => Some(sig),
            _ => None,
        },
        source: report::Source::of(client),
        rounds: round,
        interval_s: w.interval.as_secs_f64(),
        duration_s: w.duration.as_secs_f64(),
        replay_from: replay_from.map(time_of),
        rounds_by_status: report::Counts {
            ok: by_status[0] as usize,
            warning: by_status[1] as usize,
            critical: by_status[2] as usize,
            unknown: by_status[3] as usize,
        },
        warning_rounds,
        consecutive_warnings,
        warnings_seen,
        notes_seen,
        counts: report::typed_counts(&last),
        rules: cfg
            .rules
            .iter()
            .zip(&last)
            .map(|(r, x)| report::typed_rule_item(r, x))
            .collect(),
        warnings: prom_warnings,
    };
    match format {
        Format::Json | Format::Ndjson => {
            output::emit_summary_json(format, &run.document(status, &body))
        }
        Format::Text => output::emit(&format!(
            "verdict: {} (exit {}) after {round} round(s): {}{}\n",
            report::decision(status).to_uppercase(),
            status.exit_code(),
            ended.as_str().replace('_', " "),
            if warning_rounds > 0 {
                format!("; {warning_rounds} round(s) with a warning")
            } else {
                String::new()
            }
        )),
        Format::Prom => output::emit(&report::prom(&last, status)),
        Format::Csv => {}
    }
    status.into()
}

/// One round's results, or `None` when a caught signal arrived first: the
/// round runs on its own thread so a slow Prometheus never holds a signal
/// past the second the contract allows (an abandoned round ends with the
/// process).
fn round_unless_signalled(
    cfg: &Config,
    client: &PromClient,
    at_ms: i64,
    deadline: Deadline,
) -> Option<Vec<RuleResult>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (rules, client) = (cfg.rules.clone(), client.clone());
    std::thread::spawn(move || {
        let _ = tx.send(crate::evaluate_all(&rules, &client, at_ms, &deadline));
    });
    loop {
        match rx.recv_timeout(signals::POLL) {
            Ok(results) => return Some(results),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if signals::received().is_none() => {}
            Err(_) => return None,
        }
    }
}

/// A rule's result in a round event: name, status, message, value, worst series.
fn compact(r: &RuleResult) -> Value {
    let mut f = Map::new();
    f.insert("value".into(), num(r.value()));
    f.insert(
        "worst_series".into(),
        r.worst_series()
            .map(|w| json!(w.labels))
            .unwrap_or(Value::Null),
    );
    if !r.notes.is_empty() {
        f.insert("notes".into(), json!(r.notes));
    }
    item(&r.name, r.status, &r.message, f)
}
