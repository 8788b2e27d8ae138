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

use crate::backend::{Action, Backend, Left, Raw, Snapshot, Target};
use crate::cli::{ChangeOpts, Ramp, SetPlan};
use crate::journal::{self, Change, Journal};
use crate::split::{Pool, Split};
use crate::{command, exec, report};
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

/// `shift set`.
pub fn set(plan: &SetPlan, run: &Run, format: Format) -> Value {
    change(
        Kind::Set,
        &plan.opts,
        Some(&plan.split),
        plan.ramp.as_ref(),
        run,
        format,
    )
}

/// `shift undo`.
pub fn undo(opts: &ChangeOpts, run: &Run, format: Format) -> Value {
    change(Kind::Undo, opts, None, None, run, format)
}

fn change(
    kind: Kind,
    opts: &ChangeOpts,
    split: Option<&Split>,
    ramp: Option<&Ramp>,
    run: &Run,
    format: Format,
) -> Value {
    let mut r = Report::new(kind, opts);
    execute(&mut r, split, ramp, run, format);
    finish(&r, run)
}

fn execute(r: &mut Report, split: Option<&Split>, ramp: Option<&Ramp>, run: &Run, format: Format) {
    let opts = r.opts;
    let t = &opts.target;
    let backend = t
        .backend
        .as_ref()
        .expect("set and undo always have a backend");
    let pools = &t.pools;
    let who = journal::who();

    // 1. The lock (not for a dry run: it changes nothing).
    let _lock = if opts.dry_run {
        None
    } else {
        let j = t.journal.as_ref().expect("checked when parsing");
        let path = j.lock_path();
        let t0 = Instant::now();
        match lock::acquire(&path, opts.wait_lock, &who, &opts.invocation) {
            Ok(l) => {
                if let Some(prev) = &l.took_over {
                    log::warn(&format!(
                        "took over the lock {} left by {} (it ended without releasing it)",
                        path.display(),
                        lock::describe_holder(prev)
                    ));
                }
                r.took_over = l.took_over.clone();
                Some(l)
            }
            Err(e) => {
                let outcome = if matches!(e, lock::LockError::Held(_)) {
                    "locked"
                } else {
                    "failed"
                };
                r.end(
                    outcome,
                    Status::Critical,
                    e.message(&path, opts.wait_lock.map(|_| t0.elapsed())),
                );
                return;
            }
        }
    };

    // 2. The journal: an unsettled last change is resumed; undo finds its target.
    let changes = match t.journal.as_ref().map(Journal::load).transpose() {
        Ok(l) => l.map(|l| l.changes()).unwrap_or_default(),
        Err(e) => {
            r.end(
                "failed",
                Status::Critical,
                format!("{e}; nothing was changed"),
            );
            return;
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
        r.resumes = Some(u.id.clone());
    }
    let wanted = match kind_split(r.kind, split, &changes, pools) {
        Ok((s, undoes)) => {
            r.undoes = undoes;
            s
        }
        Err(e) => {
            r.end("failed", Status::Critical, e);
            return;
        }
    };

    r.target = Some(backend.target(&wanted, pools));

    // 3. What is live now.
    let start = if backend.readable() {
        match backend.read(pools, t.timeout) {
            Ok(s) => Some(s),
            Err(e) => {
                r.end(
                    "failed",
                    Status::Critical,
                    format!("cannot read {}: {e}; nothing was changed", backend.label()),
                );
                return;
            }
        }
    } else {
        // exec without a read command: the journal's last known split.
        changes
            .iter()
            .rev()
            .find_map(|c| journal::split_of(&c.after(), pools))
            .map(|s| exec::snapshot(&s, pools))
    };
    if let Some(s) = &start
        && let Err(e) = preflight(backend, s)
    {
        r.end(
            "failed",
            Status::Critical,
            format!("{e}; nothing was changed"),
        );
        return;
    }
    r.start = start.clone();

    // 4. The steps.
    let steps: Vec<Split> = match (ramp, start.as_ref().and_then(|s| s.split.as_ref())) {
        (Some(rp), Some(from)) => crate::split::ramp(from, &wanted, Some(rp.step)),
        (Some(_), None) => {
            log::warn(
                "the live split is not known (no pool has weight, or it cannot be read): moving in one step",
            );
            vec![wanted.clone()]
        }
        _ => vec![wanted.clone()],
    };
    let targets: Vec<Target> = steps.iter().map(|s| backend.target(s, pools)).collect();
    let last = targets.last().cloned().expect("at least one step");
    r.target = Some(last.clone());
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

    let already = start
        .as_ref()
        .is_some_and(|s| backend.readable() && backend.holds(s, &last));
    if already && r.resumes.is_none() {
        r.after = start.clone();
        r.verified = true;
        if !opts.dry_run {
            persist(r, backend, t.timeout);
        }
        let msg = format!("{} is already live; nothing to do", last.split.spec());
        let status = r.status_after_persist();
        r.end("unchanged", status, msg);
        return;
    }

    // 5. Dry run: what each step would do.
    if opts.dry_run {
        let mut from = start.clone();
        for (i, tg) in targets.iter().enumerate() {
            let actions = backend.plan(pools, from.as_ref(), tg);
            let mut step = step_json(i, targets.len(), tg, "planned", "would apply");
            step.insert(
                "actions".into(),
                Value::Array(actions.iter().map(Action::to_json).collect()),
            );
            if i > 0
                && let Some(g) = ramp.and_then(|rp| rp.gate.as_ref())
            {
                step.insert(
                    "gate".into(),
                    json!({ "command": g, "run": "before this step" }),
                );
            }
            r.steps.push(Value::Object(step));
            from = Some(pretend(backend, pools, tg));
        }
        let msg = format!(
            "dry run: would move {} to {} in {} step{}; nothing was changed",
            start
                .as_ref()
                .and_then(|s| s.split.as_ref())
                .map(Split::spec)
                .unwrap_or_else(|| "an unknown split".into()),
            last.split.spec(),
            targets.len(),
            if targets.len() == 1 { "" } else { "s" }
        );
        r.end("dry_run", Status::Ok, msg);
        return;
    }

    // 6. The intent, durable before anything changes.
    let j = t.journal.as_ref().expect("checked when parsing");
    let id = journal::new_id();
    let before_json = match &unsettled {
        Some(u) => u.before().clone(),
        None => split_json(start.as_ref()),
    };
    let mut intent = Map::new();
    intent.insert("v".into(), json!(journal::VERSION));
    intent.insert("event".into(), json!("intent"));
    intent.insert("id".into(), json!(id));
    intent.insert("time".into(), json!(golive_core::now_rfc3339()));
    intent.insert("action".into(), json!(r.kind.as_str()));
    who.fields(&mut intent);
    intent.insert("backend".into(), backend.describe());
    intent.insert("pools".into(), pools_json(pools));
    intent.insert("before".into(), before_json);
    intent.insert("before_weights".into(), weights_of(start.as_ref()));
    if unsettled.is_some() {
        intent.insert("live_before".into(), split_json(start.as_ref()));
    }
    intent.insert("target".into(), last.split.to_json());
    intent.insert("target_weights".into(), last.weights_json());
    intent.insert(
        "steps".into(),
        Value::Array(targets.iter().map(|t| t.split.to_json()).collect()),
    );
    intent.insert(
        "reason".into(),
        opts.reason
            .as_ref()
            .map(|s| json!(s))
            .unwrap_or(Value::Null),
    );
    intent.insert(
        "undoes".into(),
        r.undoes.as_ref().map(|s| json!(s)).unwrap_or(Value::Null),
    );
    intent.insert(
        "resumes".into(),
        r.resumes.as_ref().map(|s| json!(s)).unwrap_or(Value::Null),
    );
    if let Err(e) = j.append(&Value::Object(intent)) {
        r.end(
            "failed",
            Status::Critical,
            format!("{e}; nothing was changed"),
        );
        return;
    }
    r.journal_id = Some(id.clone());

    // 7. Apply, step by step.
    // From here a Ctrl-C or SIGTERM is remembered, not fatal: a step in
    // flight completes, and a ramp stops between steps and restores.
    signals::catch();
    let mut current = start.clone();
    let mut stop: Option<String> = None;
    let mut step_left_restored = false;
    for (i, tg) in targets.iter().enumerate() {
        let n = targets.len();
        let mut step = step_json(i, n, tg, "applied", "");
        if i > 0 {
            let rp = ramp.expect("several steps only in a ramp");
            if !signals::sleep(rp.every) {
                stop = Some(format!(
                    "stopped by {} before step {}/{n}",
                    signals::received().unwrap_or("a signal"),
                    i + 1
                ));
                break;
            }
            if let Some(g) = &rp.gate {
                let (ok, gate) = run_gate(g, rp.gate_timeout, current.as_ref(), &last, i, n);
                step.insert("gate".into(), gate.clone());
                emit_event(
                    format,
                    run,
                    "gate",
                    gate.as_object().cloned().unwrap_or_default(),
                );
                // A signal during the gate stops the gate at once (its
                // process group is killed) and then the ramp.
                if let Some(sig) = signals::received() {
                    stop = Some(format!(
                        "stopped by {sig} while the gate ran before step {}/{n}",
                        i + 1
                    ));
                    break;
                }
                if !ok {
                    stop = Some(format!(
                        "gate `{g}` failed before step {}/{n} ({})",
                        i + 1,
                        gate["message"].as_str().unwrap_or("")
                    ));
                    step.insert("status".into(), json!("skipped"));
                    step.insert("message".into(), json!("not applied: the gate failed"));
                    r.steps.push(Value::Object(step));
                    break;
                }
            }
        }
        let t0 = Instant::now();
        // Apply and verify share one budget.
        let step_deadline = golive_core::Deadline::after(t.timeout);
        let applied = backend.apply(pools, current.as_ref(), tg, t.timeout);
        let apply_ms = ms(t0.elapsed());
        step.insert("apply_ms".into(), json!(apply_ms));
        match applied {
            Err(e) => {
                step.insert("status".into(), json!("failed"));
                step.insert("message".into(), json!(e.message));
                r.steps.push(Value::Object(step));
                if i == 0 && e.left == Left::Unchanged {
                    r.after = start.clone();
                    r.end(
                        "failed",
                        Status::Critical,
                        format!("{}; nothing was changed", e.message),
                    );
                    let _ = write_result(r, j, "failed", start.as_ref(), false);
                    return;
                }
                if i == 0 && e.left == Left::Restored {
                    step_left_restored = true;
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
                Ok(s) => Some(s),
                Err(e) => {
                    step.insert("status".into(), json!("unverified"));
                    step.insert("message".into(), json!(format!("cannot read back: {e}")));
                    r.steps.push(Value::Object(step));
                    current = None;
                    stop = Some(format!(
                        "applied step {}/{n} but cannot read it back: {e}",
                        i + 1
                    ));
                    break;
                }
            }
        } else {
            Some(exec::snapshot(&tg.split, pools))
        };
        step.insert("verify_ms".into(), json!(ms(t1.elapsed())));
        let live = live.expect("set above");
        if let Err(diff) = backend.verify(&live, tg) {
            step.insert("status".into(), json!("mismatch"));
            step.insert("message".into(), json!(format!("read back: {diff}")));
            step.insert("actual".into(), split_json(Some(&live)));
            r.steps.push(Value::Object(step));
            r.mismatch = live.split.clone().or(Some(Split(Vec::new())));
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
            let mut line = Map::new();
            line.insert("v".into(), json!(journal::VERSION));
            line.insert("event".into(), json!("step"));
            line.insert("id".into(), json!(id));
            line.insert("time".into(), json!(golive_core::now_rfc3339()));
            line.insert("index".into(), json!(i + 1));
            line.insert("of".into(), json!(n));
            line.insert("split".into(), tg.split.to_json());
            line.insert("weights".into(), weights_of(Some(&live)));
            if let Err(e) = j.append(&Value::Object(line)) {
                log::warn(&e);
            }
            log::info(&format!(
                "step {}/{n}: {} applied and read back",
                i + 1,
                tg.split.spec()
            ));
        }
        emit_event(format, run, "step", step.clone());
        r.steps.push(Value::Object(step));
        current = Some(live);
    }

    // 8. Success.
    let Some(reason) = stop else {
        r.after = current.clone();
        r.verified = backend.readable();
        persist(r, backend, t.timeout);
        let was = start
            .as_ref()
            .and_then(|s| s.split.as_ref())
            .map(Split::spec)
            .unwrap_or_else(|| "unknown".into());
        let how = if backend.readable() {
            "applied and read back"
        } else {
            "applied (commands exited 0)"
        };
        let mut msg = format!("{} {how} (was {was})", last.split.spec());
        if let Some(sf) = r.state_file.as_ref().and_then(|v| v["error"].as_str()) {
            msg.push_str(&format!("; but {sf}"));
        }
        let status = r.status_after_persist();
        r.end("applied", status, msg);
        if let Err(e) = write_result(r, j, "applied", current.as_ref(), r.verified) {
            r.end(
                "partial",
                Status::Unknown,
                format!(
                    "{} applied, but its result could not be journaled: {e}",
                    last.split.spec()
                ),
            );
        }
        return;
    };

    // 9. Failure after something may have changed: put the start back.
    if step_left_restored {
        // The backend already put its previous state back (nginx).
        let live = if backend.readable() {
            backend.read(pools, t.timeout).ok()
        } else {
            start.clone()
        };
        r.after = live.clone();
        let ok = match (&live, &start) {
            (Some(l), Some(s)) => backend.verify_restored(l, s).is_ok(),
            _ => false,
        };
        if ok || !backend.readable() {
            r.end("restored", Status::Critical, reason);
            let _ = write_result(r, j, "restored", live.as_ref(), ok);
            return;
        }
    }
    restore(
        r,
        backend,
        pools,
        current.as_ref(),
        start.as_ref(),
        t.timeout,
        &reason,
        j,
    );
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
    backend: &Backend,
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

fn preflight(backend: &Backend, s: &Snapshot) -> Result<(), String> {
    if !s.others.is_empty() {
        let names: Vec<String> = s
            .others
            .iter()
            .map(|o| format!("{} (weight {})", o.name, o.weight))
            .collect();
        match backend {
            Backend::Nginx(n) => {
                return Err(format!(
                    "{} has servers in no pool: {}; add them to a pool or remove them by hand",
                    n.upstream_file.display(),
                    names.join(", ")
                ));
            }
            _ => {
                if s.others.iter().any(|o| o.weight > 0) {
                    log::warn(&format!(
                        "servers in no pool also take traffic: {} (the split covers pool servers only)",
                        names.join(", ")
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A snapshot as if `t` had been applied (for planning later dry-run steps).
fn pretend(backend: &Backend, pools: &[Pool], t: &Target) -> Snapshot {
    let servers: Vec<crate::backend::ServerView> = t
        .weights
        .iter()
        .map(|(p, s, w)| crate::backend::ServerView {
            pool: Some(p.clone()),
            name: s.clone(),
            weight: *w,
            state: None,
            serving: None,
        })
        .collect();
    let raw = match backend {
        Backend::Nginx(n) => Raw::Nginx(Some(n.render(pools, t))),
        Backend::Haproxy(_) => Raw::Haproxy,
        Backend::Exec(_) => Raw::Exec,
    };
    Snapshot {
        split: Some(t.split.clone()),
        servers,
        others: Vec::new(),
        raw,
    }
}

fn persist(r: &mut Report, backend: &Backend, timeout: Duration) {
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

fn finish(r: &Report, run: &Run) -> Value {
    let opts = r.opts;
    let t = &opts.target;
    let backend = t.backend.as_ref().expect("backend");
    let mut f = Map::new();
    f.insert("action".into(), json!(r.kind.as_str()));
    f.insert("outcome".into(), json!(r.outcome));
    f.insert("message".into(), json!(r.message));
    f.insert("backend".into(), backend.describe());
    f.insert("before".into(), split_json(r.start.as_ref()));
    f.insert(
        "target".into(),
        r.target
            .as_ref()
            .map(|t| t.split.to_json())
            .unwrap_or(Value::Null),
    );
    f.insert("after".into(), split_json(r.after.as_ref()));
    f.insert("verified".into(), json!(r.verified));
    if let Some(m) = &r.mismatch {
        f.insert("actual".into(), m.to_json());
    }
    f.insert(
        "pools".into(),
        Value::Array(report::pool_items(
            &t.pools,
            r.start.as_ref(),
            r.target.as_ref(),
            r.after.as_ref(),
            r.outcome == "dry_run",
        )),
    );
    f.insert("steps".into(), Value::Array(r.steps.clone()));
    f.insert("dry_run".into(), json!(opts.dry_run));
    f.insert(
        "reason".into(),
        opts.reason
            .as_ref()
            .map(|s| json!(s))
            .unwrap_or(Value::Null),
    );
    f.insert(
        "journal".into(),
        match &t.journal {
            Some(j) => json!({ "path": j.path.display().to_string(), "id": r.journal_id }),
            None => Value::Null,
        },
    );
    if let Some(u) = &r.undoes {
        f.insert("undoes".into(), json!(u));
    }
    if let Some(u) = &r.resumes {
        f.insert("resumes".into(), json!(u));
    }
    if let Some(h) = &r.took_over {
        f.insert("lock_taken_over".into(), h.clone());
    }
    if let Some(s) = &r.state_file {
        f.insert("state_file".into(), s.clone());
    }
    run.summary(r.status, f)
}
