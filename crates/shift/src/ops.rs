//! `shift set` and `shift undo`: take the lock, read the live split, write
//! the intent, apply step by step (each verified by reading back), run the
//! gate between steps, restore the starting split on any failure, write the
//! result.
//!
//! Outcomes and exit codes:
//! - `applied` / `unchanged` / `dry_run` → 0 (1 if the change took but the
//!   HAProxy state file could not be saved);
//! - `failed` (nothing changed), `restored` (changed, then put back and
//!   verified), `locked` → 2;
//! - `partial` (changed and not restorable, or the result could not be
//!   journaled) → 3, with what is known.

use std::time::{Duration, Instant};

use golive_core::output::Format;
use golive_core::{Run, Status, log};
use serde_json::{Map, Value, json};

use crate::backend::{Action, Backend, Left, Snapshot, Target};
use crate::cli::{ChangeOpts, Ramp, SetPlan};
use crate::journal::{self, Change, Journal};
use crate::split::{Pool, Split};
use crate::{command, report};
use golive_core::{lock, signals};

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Set,
    Undo,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Set => "set",
            Kind::Undo => "undo",
        }
    }
}

/// Everything the report needs, filled in as the run goes.
struct Report<'a> {
    kind: Kind,
    opts: &'a ChangeOpts,
    outcome: &'static str,
    status: Status,
    message: String,
    start: Option<Snapshot>,
    target: Option<Target>,
    after: Option<Snapshot>,
    verified: bool,
    mismatch: Option<Split>,
    steps: Vec<Value>,
    journal_id: Option<String>,
    took_over: Option<Value>,
    state_file: Option<Value>,
    resumes: Option<String>,
    undoes: Option<String>,
}

impl<'a> Report<'a> {
    fn new(kind: Kind, opts: &'a ChangeOpts) -> Self {
        Report {
            kind,
            opts,
            outcome: "failed",
            status: Status::Critical,
            message: String::new(),
            start: None,
            target: None,
            after: None,
            verified: false,
            mismatch: None,
            steps: Vec::new(),
            journal_id: None,
            took_over: None,
            state_file: None,
            resumes: None,
            undoes: None,
        }
    }

    fn end(&mut self, outcome: &'static str, status: Status, message: String) {
        self.outcome = outcome;
        self.status = status;
        self.message = message;
    }
}

/// `shift set`: its status and summary.
pub fn set(plan: &SetPlan, run: &Run, format: Format) -> (Status, Value) {
    change(
        Kind::Set,
        &plan.opts,
        Some(&plan.split),
        plan.ramp.as_ref(),
        run,
        format,
    )
}

/// `shift undo`: its status and summary.
pub fn undo(opts: &ChangeOpts, run: &Run, format: Format) -> (Status, Value) {
    change(Kind::Undo, opts, None, None, run, format)
}

fn change(
    kind: Kind,
    opts: &ChangeOpts,
    split: Option<&Split>,
    ramp: Option<&Ramp>,
    run: &Run,
    format: Format,
) -> (Status, Value) {
    let mut r = Report::new(kind, opts);
    execute(&mut r, split, ramp, run, format);
    finish(&r, run)
}

fn execute(
    r: &mut Report<'_>,
    split: Option<&Split>,
    ramp: Option<&Ramp>,
    run: &Run,
    format: Format,
) {
    let opts = r.opts;
    let backend: &dyn Backend = opts
        .target
        .backend
        .as_deref()
        .expect("set and undo always have a backend");
    let mut x = Execution {
        r,
        opts,
        backend,
        pools: &opts.target.pools,
        timeout: opts.target.timeout,
        ramp,
        run,
        format,
    };
    // Every stage either hands the next what it needs or ends the change
    // with the report filled in.
    let _ = x.stages(split);
}

/// A change that ended before its last stage; the report says how.
struct Ended;

/// One `set` or `undo`, stage by stage.
struct Execution<'r, 'o> {
    r: &'r mut Report<'o>,
    opts: &'o ChangeOpts,
    backend: &'o dyn Backend,
    pools: &'o [Pool],
    timeout: Duration,
    ramp: Option<&'r Ramp>,
    run: &'r Run,
    format: Format,
}

/// What the journal holds before the change.
struct History {
    changes: Vec<Change>,
    /// The last change, when it has no result or ended partial.
    unsettled: Option<Change>,
    /// The split this change moves to.
    wanted: Split,
}

/// The steps to take (one, or a ramp's), the last being the target.
struct Steps {
    targets: Vec<Target>,
    last: Target,
}

/// How applying the steps ended.
struct Applied {
    /// What is live (`None`: not known).
    current: Option<Snapshot>,
    /// Why the steps stopped early, if they did.
    stop: Option<String>,
    /// The first step failed and the backend already put its state back.
    left_restored: bool,
}

impl<'o> Execution<'_, 'o> {
    fn stages(&mut self, split: Option<&Split>) -> Result<(), Ended> {
        let who = journal::who();
        let _lock = self.lock(&who)?;
        let history = self.history(split)?;
        let start = self.read_start(&history.changes)?;
        let steps = self.steps(&history.wanted, start.as_ref());
        self.unless_already_live(&history, &steps, start.as_ref())?;
        if self.opts.dry_run {
            self.dry_run(&steps, start.as_ref());
            return Ok(());
        }
        let id = self.write_intent(&who, &history, &steps, start.as_ref())?;
        let applied = self.apply_steps(&steps, start.as_ref(), &id)?;
        match applied.stop.clone() {
            None => self.succeed(&steps.last, start.as_ref(), applied.current),
            Some(reason) => self.put_back(&reason, start.as_ref(), applied),
        }
        Ok(())
    }

    fn end(&mut self, outcome: &'static str, status: Status, message: String) -> Ended {
        self.r.end(outcome, status, message);
        Ended
    }

    fn journal(&self) -> &'o Journal {
        self.opts
            .target
            .journal
            .as_ref()
            .expect("checked when parsing")
    }

    /// Stage 1: The lock (not for a dry run: it changes nothing).
    fn lock(&mut self, who: &journal::Who) -> Result<Option<lock::Lock>, Ended> {
        if self.opts.dry_run {
            return Ok(None);
        }
        let path = self.journal().lock_path();
        let t0 = Instant::now();
        match lock::acquire(&path, self.opts.wait_lock, who, &self.opts.invocation) {
            Ok(l) => {
                if let Some(prev) = &l.took_over {
                    log::warn(&format!(
                        "took over the lock {} left by {} (it ended without releasing it)",
                        path.display(),
                        lock::describe_holder(prev)
                    ));
                }
                self.r.took_over = l.took_over.clone();
                Ok(Some(l))
            }
            Err(e) => {
                let outcome = if matches!(e, lock::LockError::Held(_)) {
                    "locked"
                } else {
                    "failed"
                };
                let waited = self.opts.wait_lock.map(|_| t0.elapsed());
                Err(self.end(outcome, Status::Critical, e.message(&path, waited)))
            }
        }
    }

    /// Stage 2: The journal: an unsettled last change is resumed; undo finds its
    /// target.
    fn history(&mut self, split: Option<&Split>) -> Result<History, Ended> {
        let changes = match self
            .opts
            .target
            .journal
            .as_ref()
            .map(Journal::load)
            .transpose()
        {
            Ok(l) => l.map(|l| l.changes()).unwrap_or_default(),
            Err(e) => {
                return Err(self.end(
                    "failed",
                    Status::Critical,
                    format!("{e}; nothing was changed"),
                ));
            }
        };
        let unsettled = changes.last().filter(|c| c.unsettled()).cloned();
        if let Some(u) = &unsettled {
            log::warn(&format!(
                "the last change ({} {} started {} by {}@{}) {}; this run takes over from it",
                u.intent["action"].as_str().unwrap_or("set"),
                report::spec_of(&u.intent["target"]),
                u.intent["time"].as_str().unwrap_or("?"),
                u.intent["user"].as_str().unwrap_or("?"),
                u.intent["host"].as_str().unwrap_or("?"),
                if u.status() == "partial" {
                    "ended in a partial state"
                } else {
                    "has no result (interrupted)"
                },
            ));
            self.r.resumes = Some(u.id.clone());
        }
        let wanted = match kind_split(self.r.kind, split, &changes, self.pools) {
            Ok((s, undoes)) => {
                self.r.undoes = undoes;
                s
            }
            Err(e) => return Err(self.end("failed", Status::Critical, e)),
        };
        self.r.target = Some(self.backend.target(&wanted, self.pools));
        Ok(History {
            changes,
            unsettled,
            wanted,
        })
    }

    /// Stage 3: What is live now (for a backend that cannot be read, the
    /// journal's last known split).
    fn read_start(&mut self, changes: &[Change]) -> Result<Option<Snapshot>, Ended> {
        let (backend, pools) = (self.backend, self.pools);
        let start = if backend.readable() {
            match backend.read(pools, self.timeout) {
                Ok(s) => Some(s),
                Err(e) => {
                    let msg = format!("cannot read {}: {e}; nothing was changed", backend.label());
                    return Err(self.end("failed", Status::Critical, msg));
                }
            }
        } else {
            changes
                .iter()
                .rev()
                .find_map(|c| journal::split_of(&c.after(), pools))
                .map(|s| backend.stand_in(&s, pools))
        };
        if let Some(s) = &start
            && let Err(e) = backend.unpooled(&s.others)
        {
            return Err(self.end(
                "failed",
                Status::Critical,
                format!("{e}; nothing was changed"),
            ));
        }
        self.r.start = start.clone();
        Ok(start)
    }

    /// Stage 4: The steps: one, or a ramp's from the live split.
    fn steps(&mut self, wanted: &Split, start: Option<&Snapshot>) -> Steps {
        let splits: Vec<Split> = match (self.ramp, start.and_then(|s| s.split.as_ref())) {
            (Some(rp), Some(from)) => crate::split::ramp(from, wanted, Some(rp.step)),
            (Some(_), None) => {
                log::warn(
                    "the live split is not known (no pool has weight, or it cannot be read): moving in one step",
                );
                vec![wanted.clone()]
            }
            _ => vec![wanted.clone()],
        };
        let targets: Vec<Target> = splits
            .iter()
            .map(|s| self.backend.target(s, self.pools))
            .collect();
        let last = targets.last().cloned().expect("at least one step");
        self.r.target = Some(last.clone());
        let worst = last
            .split
            .0
            .iter()
            .map(|(n, p)| (p - last.exact.get(n)).abs())
            .fold(0.0, f64::max);
        if worst > 0.1 {
            log::warn(&format!(
                "integer weights cannot give {} exactly: the nearest is {}",
                last.split.spec(),
                last.exact.spec()
            ));
        }
        Steps { targets, last }
    }

    /// Stage 5: Nothing to do when the target is live already (and no interrupted
    /// change is being taken over).
    fn unless_already_live(
        &mut self,
        history: &History,
        steps: &Steps,
        start: Option<&Snapshot>,
    ) -> Result<(), Ended> {
        let backend = self.backend;
        let already = start.is_some_and(|s| backend.readable() && backend.holds(s, &steps.last));
        if !already || history.unsettled.is_some() {
            return Ok(());
        }
        self.r.after = start.cloned();
        self.r.verified = true;
        if !self.opts.dry_run {
            persist(self.r, backend, self.timeout);
        }
        let msg = format!("{} is already live; nothing to do", steps.last.split.spec());
        let status = self.r.status_after_persist();
        Err(self.end("unchanged", status, msg))
    }

    /// Stage 6: Dry run: what each step would do.
    fn dry_run(&mut self, steps: &Steps, start: Option<&Snapshot>) {
        let n = steps.targets.len();
        let mut from = start.cloned();
        for (i, tg) in steps.targets.iter().enumerate() {
            let actions = self.backend.plan(self.pools, from.as_ref(), tg);
            let mut step = step_json(i, n, tg, "planned", "would apply");
            step.insert(
                "actions".into(),
                Value::Array(actions.iter().map(Action::to_json).collect()),
            );
            if i > 0
                && let Some(g) = self.ramp.and_then(|rp| rp.gate.as_ref())
            {
                step.insert(
                    "gate".into(),
                    json!({ "command": g, "run": "before this step" }),
                );
            }
            self.r.steps.push(Value::Object(step));
            from = Some(crate::backend::pretend(self.backend, self.pools, tg));
        }
        let msg = format!(
            "dry run: would move {} to {} in {n} step{}; nothing was changed",
            start
                .and_then(|s| s.split.as_ref())
                .map(Split::spec)
                .unwrap_or_else(|| "an unknown split".into()),
            steps.last.split.spec(),
            if n == 1 { "" } else { "s" }
        );
        self.r.end("dry_run", Status::Ok, msg);
    }

    /// Stage 7: The intent, durable before anything changes. Returns its id.
    fn write_intent(
        &mut self,
        who: &journal::Who,
        history: &History,
        steps: &Steps,
        start: Option<&Snapshot>,
    ) -> Result<String, Ended> {
        let id = journal::new_id();
        let before_json = match &history.unsettled {
            Some(u) => u.before().clone(),
            None => split_json(start),
        };
        let optional = |v: &Option<String>| v.as_ref().map(|s| json!(s)).unwrap_or(Value::Null);
        let mut intent = Map::new();
        intent.insert("v".into(), json!(journal::VERSION));
        intent.insert("event".into(), json!("intent"));
        intent.insert("id".into(), json!(id));
        intent.insert("time".into(), json!(golive_core::now_rfc3339()));
        intent.insert("action".into(), json!(self.r.kind.as_str()));
        who.fields(&mut intent);
        intent.insert("backend".into(), self.backend.describe());
        intent.insert("pools".into(), pools_json(self.pools));
        intent.insert("before".into(), before_json);
        intent.insert("before_weights".into(), weights_of(start));
        if history.unsettled.is_some() {
            intent.insert("live_before".into(), split_json(start));
        }
        intent.insert("target".into(), steps.last.split.to_json());
        intent.insert("target_weights".into(), steps.last.weights_json());
        intent.insert(
            "steps".into(),
            Value::Array(steps.targets.iter().map(|t| t.split.to_json()).collect()),
        );
        intent.insert("reason".into(), optional(&self.opts.reason));
        intent.insert("undoes".into(), optional(&self.r.undoes));
        intent.insert("resumes".into(), optional(&self.r.resumes));
        if let Err(e) = self.journal().append(&Value::Object(intent)) {
            return Err(self.end(
                "failed",
                Status::Critical,
                format!("{e}; nothing was changed"),
            ));
        }
        self.r.journal_id = Some(id.clone());
        Ok(id)
    }

    /// Stage 8: Apply step by step, each verified by reading back, the gate
    /// before each ramp step. From here a Ctrl-C or SIGTERM is remembered,
    /// not fatal: a step in flight completes, a gate is stopped, and the
    /// ramp ends between steps (and restores).
    fn apply_steps(
        &mut self,
        steps: &Steps,
        start: Option<&Snapshot>,
        id: &str,
    ) -> Result<Applied, Ended> {
        signals::catch();
        let (backend, pools) = (self.backend, self.pools);
        let n = steps.targets.len();
        let mut current = start.cloned();
        let mut stop: Option<String> = None;
        let mut left_restored = false;
        for (i, tg) in steps.targets.iter().enumerate() {
            let mut step = step_json(i, n, tg, "applied", "");
            if i > 0
                && let Some(why) = self.before_step(i, n, &mut step, current.as_ref(), &steps.last)
            {
                stop = Some(why);
                break;
            }
            let t0 = Instant::now();
            // Apply and verify share one budget.
            let step_deadline = golive_core::Deadline::after(self.timeout);
            let applied = backend.apply(pools, current.as_ref(), tg, self.timeout);
            step.insert("apply_ms".into(), json!(ms(t0.elapsed())));
            match applied {
                Err(e) => {
                    step.insert("status".into(), json!("failed"));
                    step.insert("message".into(), json!(e.message));
                    self.r.steps.push(Value::Object(step));
                    if i == 0 && e.left == Left::Unchanged {
                        self.r.after = start.cloned();
                        self.r.end(
                            "failed",
                            Status::Critical,
                            format!("{}; nothing was changed", e.message),
                        );
                        let _ = write_result(self.r, self.journal(), "failed", start, false);
                        return Err(Ended);
                    }
                    if i == 0 && e.left == Left::Restored {
                        left_restored = true;
                    }
                    if e.left != Left::Unchanged && e.left != Left::Restored {
                        current = None;
                    }
                    stop = Some(e.message);
                    break;
                }
                Ok(actions) => {
                    step.insert(
                        "actions".into(),
                        Value::Array(actions.iter().map(Action::to_json).collect()),
                    );
                }
            }
            // Verify by reading back.
            let t1 = Instant::now();
            let live = if backend.readable() {
                match backend.read(pools, step_deadline.left()) {
                    Ok(s) => s,
                    Err(e) => {
                        step.insert("status".into(), json!("unverified"));
                        step.insert("message".into(), json!(format!("cannot read back: {e}")));
                        self.r.steps.push(Value::Object(step));
                        current = None;
                        stop = Some(format!(
                            "applied step {}/{n} but cannot read it back: {e}",
                            i + 1
                        ));
                        break;
                    }
                }
            } else {
                backend.stand_in(&tg.split, pools)
            };
            step.insert("verify_ms".into(), json!(ms(t1.elapsed())));
            if let Err(diff) = backend.verify(&live, tg) {
                step.insert("status".into(), json!("mismatch"));
                step.insert("message".into(), json!(format!("read back: {diff}")));
                step.insert("actual".into(), split_json(Some(&live)));
                self.r.steps.push(Value::Object(step));
                self.r.mismatch = live.split.clone().or(Some(Split(Vec::new())));
                stop = Some(format!(
                    "step {}/{n}: the live weights differ from what was set ({diff}); live split is {}",
                    i + 1,
                    live.split
                        .as_ref()
                        .map(Split::spec)
                        .unwrap_or_else(|| "no weight anywhere".into())
                ));
                current = Some(live);
                break;
            }
            step.insert(
                "message".into(),
                json!(if backend.readable() {
                    format!("{} applied and read back", tg.split.spec())
                } else {
                    format!(
                        "{} applied (exit status 0; no read command to read it back)",
                        tg.split.spec()
                    )
                }),
            );
            if n > 1 {
                self.journal_step(id, i, n, tg, &live);
            }
            emit_event(self.format, self.run, "step", step.clone());
            self.r.steps.push(Value::Object(step));
            current = Some(live);
        }
        Ok(Applied {
            current,
            stop,
            left_restored,
        })
    }

    /// Before ramp step `i`: wait `--every`, then run the gate. `Some(why)`
    /// stops the ramp (a signal, or the gate failed).
    fn before_step(
        &mut self,
        i: usize,
        n: usize,
        step: &mut Map<String, Value>,
        current: Option<&Snapshot>,
        last: &Target,
    ) -> Option<String> {
        let rp = self.ramp.expect("several steps only in a ramp");
        if !signals::sleep(rp.every) {
            return Some(format!(
                "stopped by {} before step {}/{n}",
                signals::received().unwrap_or("a signal"),
                i + 1
            ));
        }
        let g = rp.gate.as_ref()?;
        let (ok, gate) = run_gate(g, rp.gate_timeout, current, last, i, n);
        step.insert("gate".into(), gate.clone());
        emit_event(
            self.format,
            self.run,
            "gate",
            gate.as_object().cloned().unwrap_or_default(),
        );
        // A signal during the gate stops the gate at once (its process
        // group is killed) and then the ramp.
        if let Some(sig) = signals::received() {
            return Some(format!(
                "stopped by {sig} while the gate ran before step {}/{n}",
                i + 1
            ));
        }
        if ok {
            return None;
        }
        step.insert("status".into(), json!("skipped"));
        step.insert("message".into(), json!("not applied: the gate failed"));
        self.r.steps.push(Value::Object(step.clone()));
        Some(format!(
            "gate `{g}` failed before step {}/{n} ({})",
            i + 1,
            gate["message"].as_str().unwrap_or("")
        ))
    }

    /// A verified ramp step, journaled so a crash mid-ramp is resumable.
    fn journal_step(&self, id: &str, i: usize, n: usize, tg: &Target, live: &Snapshot) {
        let mut line = Map::new();
        line.insert("v".into(), json!(journal::VERSION));
        line.insert("event".into(), json!("step"));
        line.insert("id".into(), json!(id));
        line.insert("time".into(), json!(golive_core::now_rfc3339()));
        line.insert("index".into(), json!(i + 1));
        line.insert("of".into(), json!(n));
        line.insert("split".into(), tg.split.to_json());
        line.insert("weights".into(), weights_of(Some(live)));
        if let Err(e) = self.journal().append(&Value::Object(line)) {
            log::warn(&e);
        }
        log::info(&format!(
            "step {}/{n}: {} applied and read back",
            i + 1,
            tg.split.spec()
        ));
    }

    /// Stage 9: Every step applied and verified.
    fn succeed(&mut self, last: &Target, start: Option<&Snapshot>, current: Option<Snapshot>) {
        let backend = self.backend;
        self.r.after = current.clone();
        self.r.verified = backend.readable();
        persist(self.r, backend, self.timeout);
        let was = start
            .and_then(|s| s.split.as_ref())
            .map(Split::spec)
            .unwrap_or_else(|| "unknown".into());
        let how = if backend.readable() {
            "applied and read back"
        } else {
            "applied (commands exited 0)"
        };
        let mut msg = format!("{} {how} (was {was})", last.split.spec());
        if let Some(sf) = self.r.state_file.as_ref().and_then(|v| v["error"].as_str()) {
            msg.push_str(&format!("; but {sf}"));
        }
        let status = self.r.status_after_persist();
        self.r.end("applied", status, msg);
        let verified = self.r.verified;
        if let Err(e) = write_result(
            self.r,
            self.journal(),
            "applied",
            current.as_ref(),
            verified,
        ) {
            self.r.end(
                "partial",
                Status::Unknown,
                format!(
                    "{} applied, but its result could not be journaled: {e}",
                    last.split.spec()
                ),
            );
        }
    }

    /// Stage 10: A step failed after something may have changed: put the start
    /// back (unless the backend already did), verify, journal the result.
    fn put_back(&mut self, reason: &str, start: Option<&Snapshot>, applied: Applied) {
        let (backend, pools) = (self.backend, self.pools);
        if applied.left_restored {
            let live = if backend.readable() {
                backend.read(pools, self.timeout).ok()
            } else {
                start.cloned()
            };
            self.r.after = live.clone();
            let ok = match (&live, start) {
                (Some(l), Some(s)) => backend.verify_restored(l, s).is_ok(),
                _ => false,
            };
            if ok || !backend.readable() {
                self.r.end("restored", Status::Critical, reason.to_string());
                let _ = write_result(self.r, self.journal(), "restored", live.as_ref(), ok);
                return;
            }
        }
        restore(
            self.r,
            backend,
            pools,
            applied.current.as_ref(),
            start,
            self.timeout,
            reason,
            self.journal(),
        );
    }
}

impl Report<'_> {
    /// OK, or WARNING when the state file could not be saved.
    fn status_after_persist(&self) -> Status {
        if self
            .state_file
            .as_ref()
            .is_some_and(|v| v.get("error").is_some())
        {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

/// Put `start` back after a failed step, verify, and journal the result.
#[allow(clippy::too_many_arguments)]
fn restore(
    r: &mut Report,
    backend: &dyn Backend,
    pools: &[Pool],
    current: Option<&Snapshot>,
    start: Option<&Snapshot>,
    timeout: Duration,
    reason: &str,
    j: &Journal,
) {
    let Some(start) = start else {
        r.after = current.cloned();
        r.end(
            "partial",
            Status::Unknown,
            format!("{reason}; the split from before is not known, so it cannot be put back"),
        );
        let _ = write_result(r, j, "partial", current, false);
        return;
    };
    // What is live right now (for ordering the restore), when it can be seen.
    let now = match current {
        Some(c) => Some(c.clone()),
        None if backend.readable() => backend.read(pools, timeout).ok(),
        None => None,
    };
    let t0 = Instant::now();
    let res = backend.restore(pools, now.as_ref(), start, timeout);
    let restore_ms = ms(t0.elapsed());
    let mut step = Map::new();
    step.insert("index".into(), json!(0));
    step.insert("restore".into(), json!(true));
    step.insert("split".into(), split_json(Some(start)));
    step.insert("apply_ms".into(), json!(restore_ms));
    let back = match res {
        Err(e) => Err(e.message),
        Ok(actions) => {
            step.insert(
                "actions".into(),
                Value::Array(actions.iter().map(Action::to_json).collect()),
            );
            if backend.readable() {
                match backend.read(pools, timeout) {
                    Ok(live) => match backend.verify_restored(&live, start) {
                        Ok(()) => Ok(Some(live)),
                        Err(d) => Err(format!("read back after restoring: {d}")),
                    },
                    Err(e) => Err(format!("cannot read back after restoring: {e}")),
                }
            } else {
                Ok(Some(start.clone()))
            }
        }
    };
    match back {
        Ok(live) => {
            step.insert("status".into(), json!("restored"));
            step.insert(
                "message".into(),
                json!(format!(
                    "{} put back and read back",
                    split_spec(Some(start))
                )),
            );
            r.steps.push(Value::Object(step));
            r.after = live.clone();
            r.end(
                "restored",
                Status::Critical,
                format!(
                    "{reason}; the previous split {} is back in place",
                    split_spec(Some(start))
                ),
            );
            let _ = write_result(r, j, "restored", live.as_ref(), true);
        }
        Err(e) => {
            step.insert("status".into(), json!("failed"));
            step.insert("message".into(), json!(e));
            r.steps.push(Value::Object(step));
            let live = if backend.readable() {
                backend.read(pools, timeout).ok()
            } else {
                None
            };
            r.after = live.clone();
            let known = live
                .as_ref()
                .and_then(|l| l.split.as_ref())
                .map(|s| format!("live split now {}", s.spec()))
                .unwrap_or_else(|| "the live split cannot be read".into());
            r.end(
                "partial",
                Status::Unknown,
                format!(
                    "{reason}; putting {} back failed: {e}; {known}",
                    split_spec(Some(start))
                ),
            );
            let _ = write_result(r, j, "partial", live.as_ref(), false);
        }
    }
}

fn kind_split(
    kind: Kind,
    split: Option<&Split>,
    changes: &[Change],
    pools: &[Pool],
) -> Result<(Split, Option<String>), String> {
    match kind {
        Kind::Set => Ok((split.expect("set has a split").clone(), None)),
        Kind::Undo => {
            let c = journal::last_undoable(changes)
                .ok_or("nothing to undo: the journal has no change that moved the split")?;
            let before = journal::split_of(c.before(), pools).ok_or_else(|| {
                format!(
                    "change {} did not record the split before it, so it cannot be undone",
                    c.id
                )
            })?;
            for (name, pct) in &before.0 {
                if *pct > 0.0 && !pools.iter().any(|p| &p.name == name) {
                    return Err(format!(
                        "change {} gave {pct}% to pool '{name}', which is not configured now",
                        c.id
                    ));
                }
            }
            let split = Split(
                pools
                    .iter()
                    .map(|p| (p.name.clone(), before.get(&p.name)))
                    .collect(),
            );
            Ok((split, Some(c.id.clone())))
        }
    }
}

fn persist(r: &mut Report, backend: &dyn Backend, timeout: Duration) {
    match backend.persist(timeout) {
        Ok(v) => r.state_file = v,
        Err(e) => {
            log::warn(&format!(
                "{e}: the weights will be lost on HAProxy's next reload"
            ));
            r.state_file = Some(json!({ "saved": false, "error": e }));
        }
    }
}

fn run_gate(
    gate: &str,
    timeout: Duration,
    current: Option<&Snapshot>,
    last: &Target,
    i: usize,
    n: usize,
) -> (bool, Value) {
    let argv = vec!["sh".to_string(), "-c".to_string(), gate.to_string()];
    let env = vec![
        ("SHIFT_SPLIT".to_string(), split_spec(current)),
        ("SHIFT_TARGET".to_string(), last.split.spec()),
        ("SHIFT_STEP".to_string(), format!("{}/{n}", i + 1)),
    ];
    log::info(&format!("gate before step {}/{n}: {gate}", i + 1));
    match command::run_interruptible(&argv, &env, timeout) {
        Ok(f) => {
            let ok = f.success();
            let message = if ok {
                "passed".to_string()
            } else {
                f.describe()
            };
            if !ok {
                log::warn(&format!("gate failed: {message}"));
            } else {
                log::debug(&format!("gate output: {}", f.stdout.trim()));
            }
            (
                ok,
                json!({
                    "command": gate,
                    "exit_code": f.code,
                    "timed_out": f.timed_out,
                    "duration_ms": ms(f.elapsed),
                    "message": message,
                    "output_tail": f.tail(),
                }),
            )
        }
        Err(e) => (
            false,
            json!({ "command": gate, "exit_code": null, "message": e }),
        ),
    }
}

fn write_result(
    r: &Report,
    j: &Journal,
    status: &str,
    after: Option<&Snapshot>,
    verified: bool,
) -> Result<(), String> {
    let Some(id) = &r.journal_id else {
        return Ok(());
    };
    let mut m = Map::new();
    m.insert("v".into(), json!(journal::VERSION));
    m.insert("event".into(), json!("result"));
    m.insert("id".into(), json!(id));
    m.insert("time".into(), json!(golive_core::now_rfc3339()));
    m.insert("status".into(), json!(status));
    m.insert("after".into(), split_json(after));
    m.insert("after_weights".into(), weights_of(after));
    m.insert("verified".into(), json!(verified));
    m.insert("message".into(), json!(r.message));
    let res = j.append(&Value::Object(m));
    if let Err(e) = &res {
        log::warn(e);
    }
    res
}

fn emit_event(format: Format, run: &Run, kind: &str, fields: Map<String, Value>) {
    if format == Format::Ndjson {
        golive_core::output::emit_line(&run.event(kind, fields));
    }
}

fn step_json(i: usize, n: usize, t: &Target, status: &str, message: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("index".into(), json!(i + 1));
    m.insert("of".into(), json!(n));
    m.insert("split".into(), t.split.to_json());
    m.insert("weights".into(), t.weights_json());
    m.insert("status".into(), json!(status));
    m.insert("message".into(), json!(message));
    m
}

fn split_json(s: Option<&Snapshot>) -> Value {
    s.and_then(|s| s.split.as_ref())
        .map(Split::to_json)
        .unwrap_or(Value::Null)
}

fn split_spec(s: Option<&Snapshot>) -> String {
    s.and_then(|s| s.split.as_ref())
        .map(Split::spec)
        .unwrap_or_else(|| "unknown".into())
}

fn weights_of(s: Option<&Snapshot>) -> Value {
    match s {
        Some(s) if !s.servers.is_empty() => crate::backend::weights_json(s),
        _ => Value::Null,
    }
}

fn pools_json(pools: &[Pool]) -> Value {
    let mut m = Map::new();
    for p in pools {
        m.insert(p.name.clone(), json!(p.servers));
    }
    Value::Object(m)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn finish(r: &Report, run: &Run) -> (Status, Value) {
    let opts = r.opts;
    let t = &opts.target;
    let backend = t.backend.as_ref().expect("backend");
    let body = crate::doc::ChangeBody {
        action: r.kind.as_str(),
        outcome: r.outcome,
        message: r.message.clone(),
        backend: backend.describe(),
        before: split_json(r.start.as_ref()),
        target: r
            .target
            .as_ref()
            .map(|t| t.split.to_json())
            .unwrap_or(Value::Null),
        after: split_json(r.after.as_ref()),
        verified: r.verified,
        actual: r.mismatch.as_ref().map(Split::to_json),
        pools: report::pool_items(
            &t.pools,
            r.start.as_ref(),
            r.target.as_ref(),
            r.after.as_ref(),
            r.outcome == "dry_run",
        ),
        steps: r.steps.clone(),
        dry_run: opts.dry_run,
        reason: opts.reason.clone(),
        journal: t.journal.as_ref().map(|j| crate::doc::JournalRef {
            path: j.path.display().to_string(),
            id: r.journal_id.clone(),
        }),
        undoes: r.undoes.clone(),
        resumes: r.resumes.clone(),
        lock_taken_over: r.took_over.clone(),
        state_file: r.state_file.clone(),
    };
    (r.status, run.document(r.status, &body))
}
