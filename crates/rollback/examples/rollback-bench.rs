//! Servers and measurements for bench/rollback.sh: the launch lab (HAProxy in
//! front of nginx blue and green under load, Prometheus scraping HAProxy
//! every second), with green live, then
//!
//! 1. `verdict_to_traffic_ms`: a guard whose trigger is CRITICAL at once —
//!    from the end of the rules' evaluation to the traffic step's end (blue
//!    100% applied and read back), repeated `RUNS` times, median;
//! 2. `fault_to_blue_ms`: green starts answering 500; guards run every
//!    second with the lab's error-rate gate (5xx share over 5 s > 5%); from
//!    the fault to the traffic step's end;
//! 3. failed requests through HAProxy while the healthy rollbacks of (1) ran.
//!
//! Prints `key=value` lines on stdout.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use testkit::launch::Lab;

fn ms_of(rfc3339: &str) -> f64 {
    let t = golive_core::units::parse_instant(rfc3339).expect("an RFC 3339 time");
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

fn guard(bin: &Path, lab: &Lab, plan: &Path, rules: &Path) -> Value {
    let out = Command::new(bin.join("rollback"))
        .args(["guard", "--plan"])
        .arg(plan)
        .arg("--rules")
        .arg(rules)
        .args(["--prometheus", &lab.prometheus.url()])
        .output()
        .expect("run rollback guard");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn rearm(bin: &Path, plan: &Path) {
    let ok = Command::new(bin.join("rollback"))
        .args(["rearm", "--plan"])
        .arg(plan)
        .output()
        .expect("rearm")
        .status
        .success();
    assert!(ok, "rearm failed");
}

/// From the end of the trigger's evaluation to the traffic step's end.
fn verdict_to_traffic(doc: &Value) -> Option<f64> {
    let rules = &doc["rules"];
    let verdict = ms_of(rules["started_at"].as_str()?) + rules["duration_ms"].as_f64()?;
    let traffic = doc["rollback"]["steps"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "traffic")?;
    (traffic["state"] == "ok").then_some(())?;
    Some(ms_of(traffic["ended_at"].as_str()?) - verdict)
}

fn main() {
    let bin = Path::new(
        &std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/release".into()),
    )
    .to_path_buf();
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let lab = Lab::start(&bin);
    let plan = lab.path("bench-rollback.toml");
    testkit::write(
        &plan,
        &format!(
            "state_dir = \"{}\"\n\n[[step]]\nname = \"traffic\"\nkind = \"traffic\"\nshift_config = \"{}\"\nsplit = \"blue=100\"\n",
            lab.path("bench-state").display(),
            lab.path("shift.toml").display()
        ),
    );
    let always = lab.path("always.toml");
    testkit::write(
        &always,
        "[[rule]]\nname = \"always\"\nquery = \"vector(1)\"\ncritical = \"> 0\"\n",
    );
    let to_green = |lab: &Lab| {
        let out = lab.shift(&["set", "--split", "green=100"]);
        assert!(out.status.success(), "shift to green");
    };

    // 1. verdict → traffic on blue, green healthy, under load.
    let (_, failed_before) = lab.load.counts();
    let mut times = Vec::new();
    let mut failed_runs = 0;
    for _ in 0..runs {
        to_green(&lab);
        rearm(&bin, &plan);
        let doc = guard(&bin, &lab, &plan, &always);
        match verdict_to_traffic(&doc) {
            Some(t) if doc["decision"] == "rolled_back" => times.push(t),
            _ => failed_runs += 1,
        }
    }
    let (ok_after, failed_after) = lab.load.counts();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let median = if times.is_empty() {
        f64::NAN
    } else {
        times[times.len() / 2]
    };
    println!("runs={runs}");
    println!("failed_runs={failed_runs}");
    println!("verdict_to_traffic_ms={median:.2}");
    println!("requests={ok_after}");
    println!("failed_requests={}", failed_after - failed_before);

    // 2. fault → blue: green starts answering 500; a guard every second.
    to_green(&lab);
    rearm(&bin, &plan);
    std::thread::sleep(Duration::from_secs(3));
    let gate = lab.path("gate.toml");
    let fault = Instant::now();
    let fault_wall = SystemTime::now();
    testkit::write(&lab.path("green-broken"), "");
    let mut fault_to_blue = f64::NAN;
    while fault.elapsed() < Duration::from_secs(60) {
        let doc = guard(&bin, &lab, &plan, &gate);
        if doc["decision"] == "rolled_back" {
            if let Some(t) = doc["rollback"]["steps"][0]["ended_at"].as_str() {
                let f = fault_wall
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64()
                    * 1000.0;
                fault_to_blue = ms_of(t) - f;
            }
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    println!("fault_to_blue_ms={fault_to_blue:.0}");
    println!("scrape_interval_s=1");
    println!("rule_window_s=5");
}
