//! Rendering: per-pool items for the JSON summary, and the text format for
//! people (`--format text`), built from the same summary document so the
//! two never disagree.

use golive_core::{Status, item};
use serde_json::{Map, Value, json};

use crate::backend::{Snapshot, Target};
use crate::split::{Pool, fmt_pct, pct_json};

/// One item per pool: `percent_before`, `percent_target`, `percent_after`
/// and each server's weights. A pool is `ok` when its servers hold the
/// target weights, `critical` when not, `unknown` when the live state is not
/// known.
pub fn pool_items(
    pools: &[Pool],
    before: Option<&Snapshot>,
    target: Option<&Target>,
    after: Option<&Snapshot>,
    dry_run: bool,
) -> Vec<Value> {
    let pct = |s: Option<&Snapshot>, p: &str| -> Value {
        s.and_then(|s| s.split.as_ref())
            .map(|sp| pct_json(sp.get(p)))
            .unwrap_or(Value::Null)
    };
    let weight = |s: Option<&Snapshot>, server: &str| -> Value {
        s.and_then(|s| s.servers.iter().find(|v| v.name == server))
            .map(|v| json!(v.weight))
            .unwrap_or(Value::Null)
    };
    pools
        .iter()
        .map(|p| {
            let names: Vec<String> = if p.servers.is_empty() {
                vec![p.name.clone()]
            } else {
                p.servers.clone()
            };
            let holds = match (after, target) {
                (Some(a), Some(t)) => Some(names.iter().all(|s| {
                    a.servers.iter().find(|v| &v.name == s).map(|v| v.weight) == t.weight(s)
                })),
                _ => None,
            };
            let status = if dry_run {
                Status::Ok
            } else {
                match holds {
                    Some(true) => Status::Ok,
                    Some(false) => Status::Critical,
                    None => Status::Unknown,
                }
            };
            let want = target.map(|t| t.split.get(&p.name));
            let was = before
                .and_then(|s| s.split.as_ref())
                .map(|s| s.get(&p.name));
            let now = after.and_then(|s| s.split.as_ref()).map(|s| s.get(&p.name));
            let show = |v: Option<f64>| {
                v.map(|x| format!("{}%", fmt_pct(x)))
                    .unwrap_or_else(|| "unknown".into())
            };
            let message = if dry_run {
                format!("would go from {} to {}", show(was), show(want))
            } else {
                match holds {
                    Some(true) => format!("{} (was {})", show(now), show(was)),
                    Some(false) => format!(
                        "{} live, {} wanted (was {})",
                        show(now),
                        show(want),
                        show(was)
                    ),
                    None => format!(
                        "live share unknown, {} wanted (was {})",
                        show(want),
                        show(was)
                    ),
                }
            };
            let servers: Vec<Value> = names
                .iter()
                .map(|s| {
                    let state = after
                        .or(before)
                        .and_then(|x| x.servers.iter().find(|v| &v.name == s))
                        .and_then(|v| v.state.clone());
                    json!({
                        "name": s,
                        "weight_before": weight(before, s),
                        "weight_target": target.and_then(|t| t.weight(s)),
                        "weight_after": weight(after, s),
                        "state": state,
                    })
                })
                .collect();
            let mut f = Map::new();
            f.insert("percent_before".into(), pct(before, &p.name));
            f.insert(
                "percent_target".into(),
                want.map(pct_json).unwrap_or(Value::Null),
            );
            f.insert("percent_after".into(), pct(after, &p.name));
            f.insert("servers".into(), Value::Array(servers));
            item(&p.name, status, &message, f)
        })
        .collect()
}

fn label(doc: &Value) -> String {
    doc["status"]
        .as_str()
        .unwrap_or("unknown")
        .to_ascii_uppercase()
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pct_text(v: &Value) -> String {
    match v.as_f64() {
        Some(x) => format!("{}%", fmt_pct(x)),
        None => "-".into(),
    }
}

/// `blue=75,green=25` from a split object (or `-`).
pub fn spec_of(v: &Value) -> String {
    match v.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, p)| format!("{k}={}", p.as_f64().map(fmt_pct).unwrap_or_else(|| s(p))))
            .collect::<Vec<_>>()
            .join(","),
        _ => "-".into(),
    }
}

/// Text for `set` and `undo`.
pub fn change_text(doc: &Value) -> String {
    let mut out = format!("{}  {}\n", label(doc), s(&doc["message"]));
    out.push_str(&format!("backend  {}\n", backend_text(&doc["backend"])));
    if let Some(j) = doc["journal"].as_object() {
        match j["id"].as_str() {
            Some(id) => out.push_str(&format!("journal  {} (change {id})\n", s(&j["path"]))),
            None => out.push_str(&format!("journal  {} (nothing written)\n", s(&j["path"]))),
        }
    }
    if let Some(sf) = doc.get("state_file").filter(|v| !v.is_null()) {
        out.push_str(&format!(
            "state    {}\n",
            s(sf.get("path").unwrap_or(&sf["error"]))
        ));
    }
    out.push('\n');
    let mut rows = vec![vec![
        "POOL".to_string(),
        "BEFORE".into(),
        "TARGET".into(),
        "AFTER".into(),
        "WEIGHTS (before→target→after)".into(),
    ]];
    for p in doc["pools"].as_array().into_iter().flatten() {
        let weights: Vec<String> = p["servers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                format!(
                    "{} {}→{}→{}",
                    s(&v["name"]),
                    s(&v["weight_before"]),
                    s(&v["weight_target"]),
                    s(&v["weight_after"])
                )
            })
            .collect();
        rows.push(vec![
            s(&p["name"]),
            pct_text(&p["percent_before"]),
            pct_text(&p["percent_target"]),
            pct_text(&p["percent_after"]),
            weights.join(", "),
        ]);
    }
    out.push_str(&golive_core::output::table(&rows));
    let steps = doc["steps"].as_array().cloned().unwrap_or_default();
    let show_steps = steps.len() > 1
        || doc["outcome"] == "dry_run"
        || steps.iter().any(|s| s["status"] != "applied");
    if show_steps {
        out.push('\n');
        for st in &steps {
            let head = if st["restore"] == true {
                format!("restore  {}", spec_of(&st["split"]))
            } else {
                format!(
                    "step {}/{}  {}",
                    s(&st["index"]),
                    s(&st["of"]),
                    spec_of(&st["split"])
                )
            };
            out.push_str(&format!(
                "{head}  {}  {}\n",
                s(&st["status"]),
                s(&st["message"])
            ));
            if let Some(g) = st.get("gate") {
                out.push_str(&format!(
                    "  gate: {} ({})\n",
                    s(&g["command"]),
                    s(g.get("message").unwrap_or(&g["run"]))
                ));
            }
            for a in st["actions"].as_array().into_iter().flatten() {
                if let Some(c) = a.get("socket") {
                    out.push_str(&format!("  socket: {}\n", s(c)));
                } else if let Some(c) = a.get("command") {
                    out.push_str(&format!("  run: {}\n", s(c)));
                } else if let Some(p) = a.get("write") {
                    out.push_str(&format!("  write {}\n", s(p)));
                    for l in a["diff"].as_str().unwrap_or("").lines() {
                        out.push_str(&format!("    {l}\n"));
                    }
                }
            }
        }
    }
    out
}

fn backend_text(b: &Value) -> String {
    match b["kind"].as_str() {
        Some("haproxy") => format!(
            "haproxy backend {} via {}",
            s(&b["backend"]),
            s(&b["socket"])
        ),
        Some("nginx") => format!("nginx upstream file {}", s(&b["upstream_file"])),
        Some("exec") => format!("exec `{}` ({})", s(&b["command"]), s(&b["mode"])),
        _ => "-".into(),
    }
}

/// Text for `status`.
pub fn status_text(doc: &Value) -> String {
    let mut out = format!("{}  {}\n", label(doc), s(&doc["message"]));
    out.push_str(&format!("backend  {}\n", backend_text(&doc["backend"])));
    if let Some(j) = doc["journal"].as_object() {
        out.push_str(&format!("journal  {}\n", s(&j["path"])));
    }
    out.push('\n');
    let mut rows = vec![vec![
        "POOL".to_string(),
        "LIVE".into(),
        "EXPECTED".into(),
        "SERVERS".into(),
    ]];
    for p in doc["pools"].as_array().into_iter().flatten() {
        let servers: Vec<String> = p["servers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| match v["state"].as_str() {
                Some(st) => format!("{} w={} {st}", s(&v["name"]), s(&v["weight"])),
                None => format!("{} w={}", s(&v["name"]), s(&v["weight"])),
            })
            .collect();
        rows.push(vec![
            s(&p["name"]),
            pct_text(&p["percent"]),
            pct_text(&p["percent_expected"]),
            servers.join(", "),
        ]);
    }
    out.push_str(&golive_core::output::table(&rows));
    out
}

/// Text for `history`.
pub fn history_text(doc: &Value) -> String {
    let mut rows = vec![vec![
        "STARTED".to_string(),
        "ACTION".into(),
        "STATUS".into(),
        "BEFORE".into(),
        "TARGET".into(),
        "AFTER".into(),
        "BY".into(),
        "REASON".into(),
    ]];
    for c in doc["changes"].as_array().into_iter().flatten() {
        rows.push(vec![
            s(&c["started_at"]),
            s(&c["action"]),
            s(&c["status"]),
            spec_of(&c["before"]),
            spec_of(&c["target"]),
            spec_of(&c["after"]),
            format!("{}@{}", s(&c["user"]), s(&c["host"])),
            s(&c["reason"]),
        ]);
    }
    let mut out = format!("{}  {}\n\n", label(doc), s(&doc["message"]));
    out.push_str(&golive_core::output::table(&rows));
    out
}
