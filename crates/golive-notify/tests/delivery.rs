//! Routing, retries, deadlines and secrets, against real sockets.

mod common;

use std::time::{Duration, Instant};

use common::*;
use golive_core::{Deadline, Status};
use golive_notify::{Message, Options, OutcomeStatus, Severity};
use testkit::sink::{Reply, Sink};

fn deadline(secs: u64) -> Deadline {
    Deadline::after(Duration::from_secs(secs))
}

/// The runbook's routing: critical → #incidents and PagerDuty; warning and
/// info → #monitoring only.
#[test]
fn a_warning_never_reaches_a_critical_only_target() {
    let sink = Sink::answering(Reply::status(200));
    let n = notifier(&[
        only(
            cfg(
                "incidents",
                "slack",
                Some(&sink.url("/incidents/T0/B0/routingtokenincidents")),
            ),
            &["critical"],
        ),
        only(
            pagerduty(
                "pager",
                &sink.url("/pd"),
                "pd-routing-test-key-000000000001",
            ),
            &["critical"],
        ),
        only(
            cfg(
                "monitoring",
                "slack",
                Some(&sink.url("/monitoring/T0/B0/routingtokenmonitoring")),
            ),
            &["warning", "info"],
        ),
    ]);
    let warn = Message::new(Severity::Warning, "p95 latency 620ms > 500ms").key("w-1");
    let r = n.send(&warn, deadline(10));
    let status: Vec<_> = r.targets.iter().map(|o| o.status).collect();
    assert_eq!(
        status,
        [
            OutcomeStatus::SkippedBySeverity,
            OutcomeStatus::SkippedBySeverity,
            OutcomeStatus::Ok
        ],
        "{r:?}"
    );
    assert_eq!((r.delivered, r.failed, r.skipped), (1, 0, 2));
    assert_eq!(r.targets[0].attempts, 0);
    assert_eq!(
        r.targets[0].message,
        "not sent: takes critical only, the message is warning"
    );
    assert_eq!(r.status(), Status::Ok);
    let got = sink.wait_for(1, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    let got_after = sink.requests();
    assert_eq!(
        got_after.len(),
        1,
        "only #monitoring got the warning: {got_after:?}"
    );
    assert!(got[0].path.starts_with("/monitoring/"));

    sink.clear();
    let crit = Message::new(Severity::Critical, "Rollback initiated").key("c-1");
    let r = n.send(&crit, deadline(10));
    assert_eq!((r.delivered, r.skipped), (2, 1), "{r:?}");
    let mut paths: Vec<String> = sink
        .wait_for(2, Duration::from_secs(5))
        .into_iter()
        .map(|q| q.path)
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/incidents/T0/B0/routingtokenincidents", "/pd/v2/enqueue"]
    );
    assert!(
        r.message().starts_with("delivered to incidents, pager"),
        "{}",
        r.message()
    );
}

#[test]
fn two_500s_then_200_is_ok_after_three_attempts() {
    let sink = Sink::start();
    sink.script([Reply::status(500), Reply::status(500)]);
    let n = notifier(&[cfg("hook", "webhook", Some(&sink.url("/retry")))]);
    let t0 = Instant::now();
    let r = n.send(&Message::new(Severity::Critical, "x"), deadline(20));
    let o = &r.targets[0];
    assert_eq!(o.status, OutcomeStatus::Ok, "{o:?}");
    assert_eq!(o.attempts, 3);
    assert_eq!(o.http_status, Some(200));
    assert!(
        o.message.contains("attempt 3") && o.message.contains("HTTP 500"),
        "{}",
        o.message
    );
    // Backoff 0.5 s then 1 s between the three attempts.
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let reqs = sink.wait_for(3, Duration::from_secs(1));
    assert_eq!(
        reqs.iter().map(|q| q.answered).collect::<Vec<_>>(),
        [Some(500), Some(500), Some(200)]
    );
    assert_eq!(reqs[0].body, reqs[2].body, "the same message each time");
}

#[test]
fn a_429_is_retried_and_a_400_is_not() {
    let sink = Sink::start();
    sink.script([Reply::status(429).header("Retry-After", "1")]);
    let n = notifier(&[cfg("hook", "webhook", Some(&sink.url("/limited")))]);
    let t0 = Instant::now();
    let r = n.send(&Message::new(Severity::Info, "x"), deadline(20));
    assert_eq!(
        (r.targets[0].status, r.targets[0].attempts),
        (OutcomeStatus::Ok, 2),
        "{r:?}"
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 honoured"
    );

    let bad = Sink::answering(Reply::status(400));
    let n = notifier(&[cfg("hook", "webhook", Some(&bad.url("/bad")))]);
    let r = n.send(&Message::new(Severity::Info, "x"), deadline(20));
    let o = &r.targets[0];
    assert_eq!(
        (o.status, o.attempts, o.http_status),
        (OutcomeStatus::Failed, 1, Some(400)),
        "{o:?}"
    );
    assert!(o.message.contains("not retried"), "{}", o.message);
    assert_eq!(r.status(), Status::Warning);
}

#[test]
fn a_target_down_fails_within_the_deadline_and_the_others_are_delivered() {
    let good = Sink::start();
    let hanging = Sink::answering(Reply::hang());
    let refused_port = testkit::free_port(); // nothing listens there
    let n = golive_notify::Notifier::with_options(
        targets(&[
            cfg(
                "slack",
                "slack",
                Some(&good.url("/services/T0/B0/downtestgoodtoken01")),
            ),
            cfg(
                "teams",
                "teams",
                Some(&hanging.url("/workflows/hangingtesttoken0001")),
            ),
            pagerduty(
                "pager",
                &format!("http://127.0.0.1:{refused_port}"),
                "pd-down-test-routing-key-00000001",
            ),
        ]),
        Options::default(), // 10 s attempts: the deadline must cut them
    );
    let t0 = Instant::now();
    let r = n.send(
        &Message::new(Severity::Critical, "Rollback initiated"),
        deadline(3),
    );
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(3500),
        "deadline 3s honoured: {took:?}"
    );
    let by = |name: &str| r.outcome(name).unwrap();
    assert_eq!(by("slack").status, OutcomeStatus::Ok, "{r:?}");
    assert_eq!(by("teams").status, OutcomeStatus::Failed);
    assert!(
        by("teams").message.contains("no answer"),
        "{}",
        by("teams").message
    );
    assert!(
        hanging.requests().len() == 1,
        "the hanging target got the request"
    );
    let pd = by("pager");
    assert_eq!(pd.status, OutcomeStatus::Failed);
    assert!(pd.attempts >= 3, "refused connections are retried: {pd:?}");
    assert!(pd.message.contains("connection refused"), "{}", pd.message);
    assert_eq!(r.status(), Status::Warning);
    assert_eq!((r.delivered, r.failed), (1, 2));
    assert_eq!(good.requests().len(), 1);
}

#[test]
fn no_time_left_sends_nothing_and_says_so() {
    let sink = Sink::start();
    let n = notifier(&[cfg("hook", "webhook", Some(&sink.url("/late")))]);
    let r = n.send(
        &Message::new(Severity::Critical, "x"),
        Deadline::after(Duration::ZERO),
    );
    let o = &r.targets[0];
    assert_eq!((o.status, o.attempts), (OutcomeStatus::Failed, 0));
    assert!(o.message.contains("deadline"), "{}", o.message);
}

#[test]
fn no_targets_is_a_warning_not_ok() {
    let n = golive_notify::Notifier::new(Vec::new());
    let r = n.send(&Message::new(Severity::Critical, "x"), deadline(1));
    assert_eq!(r.status(), Status::Warning);
    assert_eq!(r.message(), "no notify target configured");
}

// ---------------------------------------------------------------------------
// Secrets: the report (stdout) and the logs (stderr) of a process that
// sent to failing and working targets carry none of them. The test runs
// itself as a child so that it can read the child's stderr.

const CHILD_ENV: &str = "GOLIVE_NOTIFY_SECRETS_CHILD";
const SLACK_TOKEN: &str = "xoxSecretSlackPathToken000000001";
const TEAMS_SIG: &str = "teamsSecretSignature000000000001";
const ROUTING_KEY: &str = "pdSecretRoutingKey00000000000001";
const BEARER: &str = "webhookSecretBearer0000000000001";

#[test]
fn secrets_child() {
    let Ok(ports) = std::env::var(CHILD_ENV) else {
        return; // only meaningful as the child of the test below
    };
    let ports: Vec<u16> = ports.split(',').map(|p| p.parse().unwrap()).collect();
    let (failing, ok) = (ports[0], ports[1]);
    golive_core::log::init("notify-test", false, 2);
    let mut hook = cfg("hook", "webhook", Some(&format!("http://127.0.0.1:{ok}/h")));
    hook.header = vec![format!("Authorization: Bearer {BEARER}")];
    let n = golive_notify::Notifier::with_options(
        targets(&[
            cfg(
                "incidents",
                "slack",
                Some(&format!(
                    "http://127.0.0.1:{failing}/services/T0/B0/{SLACK_TOKEN}"
                )),
            ),
            cfg(
                "teams",
                "teams",
                Some(&format!(
                    "http://127.0.0.1:{failing}/workflows/x/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers&sig={TEAMS_SIG}"
                )),
            ),
            pagerduty("pager", &format!("http://127.0.0.1:{failing}"), ROUTING_KEY),
            hook,
        ]),
        Options {
            max_attempts: 2,
            first_backoff: Duration::from_millis(50),
            ..quick()
        },
    );
    eprintln!("notifier: {n:?}");
    let r = n.send(
        &Message::new(Severity::Critical, "Rollback initiated"),
        deadline(10),
    );
    println!("REPORT {}", serde_json::to_string(&r).unwrap());
    println!(
        "PREVIEW {}",
        serde_json::to_string(&n.preview(&Message::new(Severity::Critical, "x"))).unwrap()
    );
    eprintln!("report: {r:?}");
}

#[test]
fn no_secret_reaches_the_report_or_stderr() {
    // The failing server answers 500 and quotes the request's secrets back,
    // as careless servers do.
    let echo = format!(
        r#"{{"error":"no hook /services/T0/B0/{SLACK_TOKEN}","sig":"{TEAMS_SIG}","routing_key":"{ROUTING_KEY}"}}"#
    );
    let failing = Sink::answering(Reply::json(500, &echo));
    let ok = Sink::start();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "secrets_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!("{},{}", failing.addr().port(), ok.addr().port()),
        )
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    let report_line = stdout
        .lines()
        .find_map(|l| l.split_once("REPORT ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no report in:\n{stdout}"));
    let report: serde_json::Value = serde_json::from_str(report_line).unwrap();
    assert_eq!(report["failed"], 3, "{report}");
    assert_eq!(report["delivered"], 1, "{report}");
    assert!(
        stderr.contains("notify target `incidents`") && stderr.contains("HTTP 500"),
        "the failures are logged:\n{stderr}"
    );
    for secret in [
        SLACK_TOKEN,
        TEAMS_SIG,
        ROUTING_KEY,
        BEARER,
        "/services/T0/B0",
        "/workflows/x",
    ] {
        assert!(!stdout.contains(secret), "{secret} in stdout:\n{stdout}");
        assert!(!stderr.contains(secret), "{secret} in stderr:\n{stderr}");
    }
    // The targets were really sent to, secrets and all.
    assert!(
        failing
            .requests()
            .iter()
            .any(|r| r.path.contains(SLACK_TOKEN))
    );
    assert!(
        failing
            .requests()
            .iter()
            .any(|r| r.text().contains(ROUTING_KEY))
    );
    assert_eq!(
        ok.requests()[0].header("authorization"),
        Some(format!("Bearer {BEARER}").as_str())
    );
}
