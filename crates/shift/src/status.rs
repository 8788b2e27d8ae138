//! `shift status`: read the live weights, derive the split, and compare it
//! with what the journal says the last change left.
//!
//! Exit codes: 0 live split read and consistent with the journal (or no
//! journal to compare with); 2 drift (the live weights differ from the
//! journal's last result, e.g. after a reload without a state file), or no
//! pool has any weight; 3 the live split cannot be read, or the last change
//! is unsettled (interrupted or partial: rerun it, or `shift undo`).

use golive_core::{Run, Status, item};
use serde_json::{Map, Value, json};

use crate::backend::{Backend, Snapshot};
use crate::cli::Target;
use crate::journal::{self, Change};
use crate::split::{Pool, Split, pct_json};

/// Drift tolerance when only splits (not weights) can be compared.
const SPLIT_TOLERANCE: f64 = 0.5;

/// Run `shift status` and build its summary.
pub fn status(t: &Target, run: &Run) -> (Status, Value) {
    let backend: &dyn Backend = t.backend.as_deref().expect("status has a backend");
    let pools = &t.pools;
    let live = backend.read(pools, t.timeout);

    let mut notes: Vec<String> = Vec::new();
    let mut status = Status::Ok;

    // The journal's view.
    let mut journal_doc = Value::Null;
    let mut expected: Option<(Value, Value)> = None; // (split, weights)
    if let Some(j) = &t.journal {
        let mut jd = Map::new();
        jd.insert("path".into(), json!(j.path.display().to_string()));
        let holder = golive_core::lock::holder(&j.lock_path());
        match j.load() {
            Err(e) => {
                status = status.worst(Status::Unknown);
                notes.push(e);
            }
            Ok(l) => {
                let changes = l.changes();
                if l.unreadable > 0 {
                    jd.insert("unreadable_lines".into(), json!(l.unreadable));
                }
                let last = changes.last();
                jd.insert(
                    "last_change".into(),
                    last.map(Change::to_json).unwrap_or(Value::Null),
                );
                if let Some(h) = &holder {
                    jd.insert("in_progress".into(), h.clone());
                    notes.push(format!(
                        "a change is in progress: {}",
                        golive_core::lock::describe_holder(h)
                    ));
                } else if let Some(c) = last.filter(|c| c.unsettled()) {
                    status = status.worst(Status::Unknown);
                    let mut i = Map::new();
                    i.insert("id".into(), json!(c.id));
                    i.insert("status".into(), json!(c.status()));
                    i.insert("before".into(), c.before().clone());
                    i.insert("target".into(), c.intent["target"].clone());
                    i.insert(
                        "last_verified_step".into(),
                        c.steps
                            .last()
                            .map(|s| s["split"].clone())
                            .unwrap_or(Value::Null),
                    );
                    let matches = live.as_ref().ok().and_then(|l| l.split.as_ref()).map(|ls| {
                        let eq = |v: &Value| {
                            journal::split_of(v, pools)
                                .is_some_and(|s| s.close_to(ls, SPLIT_TOLERANCE))
                        };
                        if eq(&c.intent["target"]) {
                            "target"
                        } else if c.steps.last().is_some_and(|s| eq(&s["split"])) {
                            "last_verified_step"
                        } else if eq(c.before()) {
                            "before"
                        } else {
                            "none"
                        }
                    });
                    i.insert("live_matches".into(), json!(matches));
                    jd.insert("unsettled".into(), Value::Object(i));
                    notes.push(format!(
                        "the last change ({} to {}, started {} by {}@{} pid {}) {}; live matches {}: rerun it to converge, or `shift undo` to go back to {}",
                        c.intent["action"].as_str().unwrap_or("set"),
                        crate::report::spec_of(&c.intent["target"]),
                        c.intent["time"].as_str().unwrap_or("?"),
                        c.intent["user"].as_str().unwrap_or("?"),
                        c.intent["host"].as_str().unwrap_or("?"),
                        c.intent["pid"],
                        if c.status() == "partial" { "ended partly applied" } else { "was interrupted (no result recorded)" },
                        matches.unwrap_or("unknown"),
                        crate::report::spec_of(c.before()),
                    ));
                } else if let Some(c) = last {
                    let after = c.after();
                    if after.is_null() {
                        status = status.worst(Status::Unknown);
                        notes.push(format!(
                            "the journal's last change {} left no known split",
                            c.id
                        ));
                    } else {
                        expected = Some((after, c.after_weights()));
                    }
                } else {
                    notes.push(if l.exists {
                        "the journal has no change yet".into()
                    } else {
                        "the journal does not exist yet".into()
                    });
                }
            }
        }
        jd.insert(
            "expected".into(),
            expected
                .as_ref()
                .map(|e| e.0.clone())
                .unwrap_or(Value::Null),
        );
        journal_doc = Value::Object(jd);
    } else {
        notes.push("no journal given: drift is not checked".into());
    }

    // The live view, and drift.
    let mut drift = Value::Null;
    let snap = match &live {
        Ok(s) => Some(s),
        Err(e) => {
            status = status.worst(Status::Unknown);
            notes.insert(0, format!("cannot read {}: {e}", backend.label()));
            None
        }
    };
    if let Some(s) = snap {
        if s.servers.is_empty() {
            status = status.worst(Status::Unknown);
            notes.insert(
                0,
                format!("{} holds none of the pools' servers", backend.label()),
            );
        } else if s.split.is_none() {
            status = status.worst(Status::Critical);
            notes.insert(
                0,
                "no pool has any weight: no traffic reaches any pool".into(),
            );
        }
        if let Some((exp_split, exp_weights)) = &expected {
            let d = drifted(backend, pools, s, exp_split, exp_weights);
            if let Some(why) = &d {
                status = status.worst(Status::Critical);
                notes.insert(0, format!("drift: {why}"));
            }
            drift = json!(d.is_some());
            if let Some(jd) = journal_doc.as_object_mut() {
                jd.insert("drift".into(), drift.clone());
            }
        }
        let others: Vec<String> = s
            .others
            .iter()
            .filter(|o| o.weight > 0)
            .map(|o| o.name.clone())
            .collect();
        if !others.is_empty() {
            notes.push(format!(
                "servers in no pool also take traffic: {}",
                others.join(", ")
            ));
        }
    }

    let live_split = snap.and_then(|s| s.split.clone());
    let headline = match (&live_split, &live) {
        (Some(sp), _) => {
            let mut h = format!("live split {}", sp.spec());
            if let Some(eff) = snap.and_then(|s| s.effective(pools))
                && !eff.close_to(sp, SPLIT_TOLERANCE)
            {
                h.push_str(&format!(
                    " by weight, {} counting only servers that are up",
                    eff.spec()
                ));
            }
            if status == Status::Ok && expected.is_some() {
                h.push_str(", as the journal's last change left it");
            }
            h
        }
        (None, Ok(_)) => "no live split".into(),
        (None, Err(_)) => "live split unknown".into(),
    };
    let message = if notes.is_empty() {
        headline
    } else {
        format!("{headline}; {}", notes.join("; "))
    };

    let body = crate::doc::StatusBody {
        message,
        backend: backend.describe(),
        split: live_split
            .as_ref()
            .map(Split::to_json)
            .unwrap_or(Value::Null),
        effective_split: snap
            .and_then(|s| s.effective(pools))
            .map(|s| s.to_json())
            .unwrap_or(Value::Null),
        drift: drift.as_bool(),
        pools: items(pools, snap, expected.as_ref().map(|e| &e.0)),
        other_servers: snap.filter(|s| !s.others.is_empty()).map(|s| {
            s.others
                .iter()
                .map(|o| crate::doc::OtherServer {
                    name: o.name.clone(),
                    weight: o.weight,
                    state: o.state.clone(),
                })
                .collect()
        }),
        journal: journal_doc,
    };
    (status, run.document(status, &body))
}

fn drifted(
    backend: &dyn Backend,
    pools: &[Pool],
    live: &Snapshot,
    exp_split: &Value,
    exp_weights: &Value,
) -> Option<String> {
    let live_spec = live
        .split
        .as_ref()
        .map(Split::spec)
        .unwrap_or_else(|| "no weight anywhere".into());
    let exp_spec = crate::report::spec_of(exp_split);
    // Exact weights when the journal has them for every live pool server.
    if let (Some(w), false) = (exp_weights.as_object(), !backend.exact_weights())
        && live.servers.iter().all(|s| w.contains_key(&s.name))
    {
        let diffs: Vec<String> = live
            .servers
            .iter()
            .filter(|s| w[&s.name].as_u64() != Some(u64::from(s.weight)))
            .map(|s| format!("{} weight {} (journal: {})", s.name, s.weight, w[&s.name]))
            .collect();
        return (!diffs.is_empty()).then(|| {
            format!(
                "live split {live_spec} differs from the journal's {exp_spec}: {}",
                diffs.join(", ")
            )
        });
    }
    let exp = journal::split_of(exp_split, pools)?;
    match &live.split {
        Some(l) if l.close_to(&exp, SPLIT_TOLERANCE) => None,
        _ => Some(format!(
            "live split {live_spec} differs from the journal's {exp_spec}"
        )),
    }
}

fn items(pools: &[Pool], live: Option<&Snapshot>, expected: Option<&Value>) -> Vec<Value> {
    let exp = expected.and_then(|e| journal::split_of(e, pools));
    let eff = live.and_then(|s| s.effective(pools));
    pools
        .iter()
        .map(|p| {
            let pct = live.and_then(|s| s.split.as_ref()).map(|s| s.get(&p.name));
            let want = exp.as_ref().map(|e| e.get(&p.name));
            let servers: Vec<Value> = live
                .map(|s| {
                    s.servers
                        .iter()
                        .filter(|v| v.pool.as_deref() == Some(p.name.as_str()))
                        .map(|v| json!({"name": v.name, "weight": v.weight, "state": v.state}))
                        .collect()
                })
                .unwrap_or_default();
            let (status, message) = match (pct, want) {
                (None, _) => (Status::Unknown, "live share unknown".to_string()),
                (Some(a), Some(w)) if (a - w).abs() > SPLIT_TOLERANCE => (
                    Status::Critical,
                    format!(
                        "{}% live, the journal says {}%",
                        crate::split::fmt_pct(a),
                        crate::split::fmt_pct(w)
                    ),
                ),
                (Some(a), _) => (
                    Status::Ok,
                    format!("{}% of the weight", crate::split::fmt_pct(a)),
                ),
            };
            let mut f = Map::new();
            f.insert("percent".into(), pct.map(pct_json).unwrap_or(Value::Null));
            f.insert(
                "percent_expected".into(),
                want.map(pct_json).unwrap_or(Value::Null),
            );
            f.insert(
                "effective_percent".into(),
                eff.as_ref()
                    .map(|e| pct_json(e.get(&p.name)))
                    .unwrap_or(Value::Null),
            );
            f.insert("servers".into(), Value::Array(servers));
            item(&p.name, status, &message, f)
        })
        .collect()
}

/// `shift status --format prom`: gauges for node_exporter's textfile collector.
pub fn prom(doc: &Value) -> String {
    let mut p = golive_core::output::Prom::default();
    p.header(
        "shift_status",
        "gauge",
        "Exit code of shift status (0 ok, 2 drift, 3 unknown).",
    );
    p.sample(
        "shift_status",
        &[],
        doc["exit_code"].as_f64().unwrap_or(3.0),
    );
    let families = [
        (
            "shift_pool_percent",
            "percent",
            "Share of the weight each pool has live.",
        ),
        (
            "shift_pool_expected_percent",
            "percent_expected",
            "Share the journal's last change left each pool.",
        ),
    ];
    for (metric, field, help) in families {
        p.header(metric, "gauge", help);
        for item in doc["pools"].as_array().into_iter().flatten() {
            if let Some(v) = item[field].as_f64() {
                p.sample(metric, &[("pool", item["name"].as_str().unwrap_or(""))], v);
            }
        }
    }
    if let Some(d) = doc["drift"].as_bool() {
        p.header(
            "shift_drift",
            "gauge",
            "1 when the live weights differ from the journal.",
        );
        p.sample("shift_drift", &[], if d { 1.0 } else { 0.0 });
    }
    p.finish()
}
