//! Running checks: attempts under a watchdog, retries and `--wait`, and
//! core's bounded pool of threads for `probe run`.
//!
//! Every attempt runs on its own thread with the attempt's timeout passed to
//! the check (which sets it on every socket it opens); the calling thread
//! waits a little longer than that and, if the check still has not returned
//! (a resolver or a library that ignores its timeout), reports a timeout and
//! moves on. So the run honours `--timeout` whatever the server does.

use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use golive_core::output::Format;
use golive_core::{Deadline, Run, Status, duration_ms, output, signals};
use serde_json::{Map, Value, json};

use crate::outcome::Outcome;
use crate::plan::{Check, Plan};

/// What a check ended with, after all its attempts.
#[derive(Debug)]
pub struct CheckResult {
    /// The check.
    pub check: Arc<Check>,
    /// The last attempt's outcome.
    pub outcome: Outcome,
    /// How many attempts were made.
    pub attempts: u32,
    /// Time from the first attempt's start to the last one's end.
    pub duration: Duration,
}

/// Run every check of the plan (concurrently, at most `plan.concurrency` at
/// once) and return their results in plan order. With `--format ndjson`
/// each attempt is printed as an event as it ends.
pub fn run_plan(run: &Run, plan: &Plan) -> Vec<CheckResult> {
    // Retrying and waiting are long-running modes: a signal ends them with
    // the summary so far instead of killing the process mid-report.
    if plan
        .checks
        .iter()
        .any(|c| c.timing.wait.is_some() || c.timing.retries.is_some_and(|r| r > 0))
    {
        signals::catch();
    }
    let stream = plan.format == Format::Ndjson;
    let on_attempt = |check: &Check, attempt: u32, o: &Outcome| {
        if stream {
            output::emit_line(&run.event("attempt", attempt_fields(check, attempt, o)));
        }
        if o.status > Status::Warning {
            golive_core::log::debug(&format!("{}: attempt {attempt}: {}", check.name, o.message));
        }
    };
    golive_core::pool::map(&plan.checks, plan.concurrency, |c| {
        run_check(c.clone(), run, &on_attempt)
    })
}

fn attempt_fields(check: &Check, attempt: u32, o: &Outcome) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(check.name));
    m.insert("type".into(), json!(check.spec.kind()));
    m.insert("attempt".into(), json!(attempt));
    m.insert("status".into(), json!(o.status));
    m.insert("message".into(), json!(o.message));
    for (k, v) in &o.figures {
        m.entry(k.clone()).or_insert_with(|| v.clone());
    }
    m
}

/// Run one check: attempts until it passes (OK or WARNING), the retries are
/// spent or the `--wait` deadline (counted from the start of the run) passes.
pub fn run_check(
    check: Arc<Check>,
    run: &Run,
    on_attempt: &(dyn Fn(&Check, u32, &Outcome) + Sync),
) -> CheckResult {
    let t = check.timing;
    let started = Instant::now();
    let deadline = match t.wait {
        Some(w) => Deadline::after(w.saturating_sub(run.elapsed())),
        None => Deadline::never(),
    };
    let max_attempts = match (t.retries, t.wait) {
        (Some(r), _) => r.saturating_add(1),
        (None, Some(_)) => u32::MAX,
        (None, None) => 1,
    };
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let limit = deadline.cap(t.timeout);
        let outcome = if limit.is_zero() {
            Outcome::critical(format!(
                "no time left to try: --wait {} had passed",
                golive_core::units::human_duration(t.wait.unwrap_or_default())
            ))
        } else {
            attempt_once(&check, limit)
        };
        on_attempt(&check, attempt, &outcome);
        let passed = outcome.status <= Status::Warning;
        let spent = attempt >= max_attempts;
        if passed || spent || deadline.expired() || limit.is_zero() {
            return CheckResult {
                check,
                outcome,
                attempts: attempt,
                duration: started.elapsed(),
            };
        }
        let pause = deadline.cap(t.interval);
        if !signals::sleep(pause) {
            let sig = signals::received().unwrap_or("a signal");
            let mut outcome = outcome;
            outcome.message = format!(
                "{}; stopped by {sig} before attempt {}",
                outcome.message,
                attempt + 1
            );
            return CheckResult {
                check,
                outcome,
                attempts: attempt,
                duration: started.elapsed(),
            };
        }
        if deadline.expired() {
            return CheckResult {
                check,
                outcome,
                attempts: attempt,
                duration: started.elapsed(),
            };
        }
    }
}

/// One attempt on its own thread, abandoned if it overruns `limit`.
fn attempt_once(check: &Arc<Check>, limit: Duration) -> Outcome {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let c = check.clone();
    let spawned = std::thread::Builder::new()
        .name("probe-attempt".into())
        .spawn(move || {
            let o = crate::check::probe(&c.spec, limit);
            let _ = tx.send(o);
        });
    if let Err(e) = spawned {
        return Outcome::unknown(format!("cannot start a thread for the check: {e}"));
    }
    // The check's own socket timeouts fire at `limit`; this is the backstop.
    let grace = (limit / 40).min(Duration::from_millis(100));
    let backstop = Deadline::after(limit.saturating_add(grace));
    let answer = loop {
        match rx.recv_timeout(backstop.cap(signals::POLL)) {
            Err(mpsc::RecvTimeoutError::Timeout) if !backstop.expired() => {
                if let Some(sig) = signals::received() {
                    break Err(sig);
                }
            }
            other => break Ok(other),
        }
    };
    let mut o = match answer {
        Err(sig) => Outcome::unknown(format!("stopped by {sig} before the check answered"))
            .with("error", "interrupted"),
        Ok(Ok(o)) => o,
        Ok(Err(mpsc::RecvTimeoutError::Timeout)) => timed_out(limit),
        // The check's thread ended without a result (it panicked): it could
        // not run, which is not the server failing to answer.
        Ok(Err(mpsc::RecvTimeoutError::Disconnected)) => {
            Outcome::unknown("the check stopped without a result (an internal error, see stderr)")
                .with("error", "internal")
        }
    };
    o.figures
        .entry("latency_ms")
        .or_insert_with(|| json!(duration_ms(started.elapsed())));
    o
}

/// The outcome of an attempt that did not finish within `limit`.
pub fn timed_out(limit: Duration) -> Outcome {
    Outcome::critical(format!(
        "no answer within {} (timed out)",
        golive_core::units::human_duration(limit)
    ))
    .with("error", "timeout")
}
