//! The recipes of docs/recipes.md, run: node_exporter's textfile collector
//! and a Pushgateway receiving `probe --format prom`, systemd units that
//! `systemd-analyze verify` accepts, a crontab and CI workflows that parse
//! and name real tools, and the Kubernetes examples.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use golive_e2e::bin_dir;
use serde_json::Value;
use testkit::exporters::{NodeExporter, Pushgateway};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn recipe(name: &str) -> PathBuf {
    repo().join("examples/recipes").join(name)
}

/// A run file with one check that passes and one that fails.
fn checks(dir: &Path) -> (PathBuf, TcpListener) {
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = testkit::free_port();
    let file = dir.join("checks.toml");
    testkit::write(
        &file,
        &format!(
            "[[check]]\nname = \"up\"\ntype = \"tcp\"\naddress = \"{}\"\n\n[[check]]\nname = \"down\"\ntype = \"tcp\"\naddress = \"127.0.0.1:{closed}\"\n",
            up.local_addr().unwrap()
        ),
    );
    (file, up)
}

fn sh(script: &Path, args: &[&str]) -> std::process::Output {
    Command::new(script)
        .args(args)
        .env("PROBE", bin_dir().join("probe"))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()))
}

#[test]
fn textfile_collector_feeds_node_exporter() {
    let ne = NodeExporter::start();
    let dir = testkit::temp_dir("recipe-textfile");
    let (file, _up) = checks(dir.path());
    let textfile = ne.textfile_dir().display().to_string();
    let out = sh(
        &recipe("textfile-collector.sh"),
        &[file.to_str().unwrap(), &textfile],
    );
    // A failing check is what the metrics must show: the recipe succeeds.
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = ne.metrics();
    assert!(m.contains("probe_success{check=\"up\"} 1"), "{m}");
    assert!(m.contains("probe_success{check=\"down\"} 0"), "{m}");
    assert!(m.contains("probe_status{check=\"down\"} 2"), "{m}");
    // A usage error keeps the last good file.
    let bad = dir.path().join("bad.toml");
    testkit::write(&bad, "[[check]]\nname = \"x\"\ntype = \"nope\"\n");
    let out = sh(
        &recipe("textfile-collector.sh"),
        &[bad.to_str().unwrap(), &textfile],
    );
    assert!(!out.status.success());
    assert!(ne.metrics().contains("probe_success{check=\"up\"} 1"));
}

#[test]
fn pushgateway_receives_the_checks() {
    let pg = Pushgateway::start();
    let dir = testkit::temp_dir("recipe-push");
    let (file, _up) = checks(dir.path());
    let out = sh(
        &recipe("pushgateway.sh"),
        &[file.to_str().unwrap(), &pg.url()],
    );
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let m = pg.metrics();
    let line = m
        .lines()
        .find(|l| l.starts_with("probe_success{") && l.contains("check=\"down\""))
        .unwrap_or_else(|| panic!("no probe_success for down:\n{m}"));
    assert!(
        line.contains("job=\"golive_probe\"") && line.ends_with(" 0"),
        "{line}"
    );
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let analyze = testkit::require("systemd-analyze", "systemd");
    let dir = testkit::temp_dir("recipe-systemd");
    // The units name the .deb's install path; here the repository's copy.
    let script = recipe("textfile-collector.sh");
    for unit in ["golive-preflight.service", "golive-preflight.timer"] {
        let text = std::fs::read_to_string(recipe(unit)).unwrap();
        let text = text.replace(
            "/usr/share/doc/golive/examples/recipes/textfile-collector.sh",
            script.to_str().unwrap(),
        );
        testkit::write(&dir.path().join(unit), &text);
    }
    let service = std::fs::read_to_string(dir.path().join("golive-preflight.service")).unwrap();
    assert!(
        service.contains(script.to_str().unwrap()),
        "ExecStart names the recipe:\n{service}"
    );
    let out = Command::new(analyze)
        .arg("verify")
        .arg(dir.path().join("golive-preflight.service"))
        .arg(dir.path().join("golive-preflight.timer"))
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Only complaints about these units count (the host's own units may be odd).
    let ours: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("golive-preflight"))
        .collect();
    assert!(out.status.success() && ours.is_empty(), "{said}");
}

/// The golive tools a command line names, in order.
fn tools_named(cmd: &str) -> Vec<&'static str> {
    [
        "probe",
        "dns-watch",
        "metric-gate",
        "shift",
        "rollback",
        "textfile-collector.sh",
        "pushgateway.sh",
    ]
    .into_iter()
    .filter(|t| {
        cmd.split(|c: char| c.is_whitespace() || c == '/' || c == ';' || c == '|')
            .any(|w| w == *t)
    })
    .collect()
}

#[test]
fn crontab_entries_parse_and_name_real_tools() {
    let text = std::fs::read_to_string(recipe("crontab")).unwrap();
    let mut entries = 0;
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some((k, _)) = line.split_once('=')
            && !k.contains(char::is_whitespace)
        {
            continue; // VAR=value
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert!(
            fields.len() > 5,
            "not 5 schedule fields and a command: {line}"
        );
        for (i, f) in fields[..5].iter().enumerate() {
            let ok = f.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c));
            assert!(ok, "field {} of `{line}` is not a cron field", i + 1);
        }
        let cmd = fields[5..].join(" ");
        let named = tools_named(&cmd);
        assert!(!named.is_empty(), "names no golive tool: {line}");
        // Every flag it passes exists: ask the tool's own --help.
        for tool in named.iter().filter(|t| !t.ends_with(".sh")) {
            let mut words = cmd.split_whitespace().skip_while(|w| !w.ends_with(tool));
            words.next();
            let sub = words.next().unwrap_or_default().to_string();
            let help = Command::new(bin_dir().join(tool))
                .arg(&sub)
                .arg("--help")
                .output()
                .unwrap();
            let help = String::from_utf8_lossy(&help.stdout).into_owned();
            for flag in cmd.split_whitespace().filter(|w| w.starts_with("--")) {
                let flag = flag.split('=').next().unwrap();
                assert!(help.contains(flag), "{tool} {sub} has no {flag}: {line}");
            }
        }
        entries += 1;
    }
    assert!(entries >= 2, "{text}");
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    use serde::Deserialize as _;
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

/// Every string in a document, for finding the commands it runs.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn ci_workflows_parse_and_call_the_tools() {
    let gh = &yaml_docs(&recipe("github-actions.yml"))[0];
    assert!(gh["name"].is_string(), "{gh}");
    let jobs = gh["jobs"].as_object().expect("jobs");
    assert!(!jobs.is_empty());
    for (name, job) in jobs {
        assert!(job["runs-on"].is_string(), "job {name} has no runs-on");
        assert!(
            job["steps"].as_array().is_some_and(|s| !s.is_empty()),
            "job {name} has no steps"
        );
    }
    let gl = &yaml_docs(&recipe("gitlab-ci.yml"))[0];
    let stages = gl["stages"].as_array().expect("stages");
    let jobs: Vec<_> = gl
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.get("script").is_some())
        .collect();
    assert!(!jobs.is_empty(), "{gl}");
    for (name, job) in &jobs {
        assert!(
            stages.contains(&job["stage"]),
            "job {name}'s stage is not in stages"
        );
    }
    for doc in [gh, gl] {
        let mut all = Vec::new();
        strings(doc, &mut all);
        let text = all.join("\n");
        for tool in ["probe run", "metric-gate check"] {
            assert!(
                text.contains(tool),
                "the workflow never runs `{tool}`:\n{text}"
            );
        }
        // Secrets come from the CI's store, never written into the file.
        assert!(!text.contains("password="), "{text}");
    }
}

#[test]
fn kubernetes_manifests_parse() {
    let dir = repo().join("examples/kubernetes");
    let mut kinds = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        for doc in yaml_docs(&path) {
            for key in ["apiVersion", "kind"] {
                assert!(
                    doc[key].is_string(),
                    "{}: a document without {key}",
                    path.display()
                );
            }
            assert!(
                doc["metadata"]["name"].is_string(),
                "{}: no metadata.name",
                path.display()
            );
            kinds.push((doc["kind"].as_str().unwrap().to_string(), doc));
        }
    }
    let find = |k: &str| -> Vec<&Value> {
        kinds
            .iter()
            .filter(|(x, _)| x == k)
            .map(|(_, d)| d)
            .collect()
    };
    // Argo: the web provider on /verdict reading $.status, and a job provider.
    let templates = find("AnalysisTemplate");
    let metrics: Vec<&Value> = templates
        .iter()
        .flat_map(|t| t["spec"]["metrics"].as_array().into_iter().flatten())
        .collect();
    let web = metrics
        .iter()
        .find(|m| m["provider"]["web"].is_object())
        .expect("an AnalysisTemplate with the web provider");
    assert!(
        web["provider"]["web"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/verdict"),
        "{web}"
    );
    assert_eq!(web["provider"]["web"]["jsonPath"], "{$.status}");
    assert!(web["successCondition"].as_str().unwrap().contains("\"ok\""));
    assert!(
        metrics.iter().any(|m| m["provider"]["job"].is_object()),
        "no job provider"
    );
    // Flagger: webhooks on / (confirm-promotion) and /critical (rollout).
    let canary = find("Canary");
    let hooks = canary[0]["spec"]["analysis"]["webhooks"]
        .as_array()
        .expect("webhooks");
    let url_of = |t: &str| {
        hooks
            .iter()
            .find(|h| h["type"] == t)
            .and_then(|h| h["url"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(url_of("confirm-promotion").ends_with(":9099/"), "{hooks:?}");
    assert!(url_of("rollout").ends_with("/critical"), "{hooks:?}");
    // The serve Deployment runs `metric-gate serve`, the CronJob `rollback guard`.
    let mut all = Vec::new();
    for d in find("Deployment").into_iter().chain(find("CronJob")) {
        strings(d, &mut all);
    }
    let text = all.join(" ");
    assert!(text.contains("serve") && text.contains("guard"), "{text}");
    // The rules the examples embed load in metric-gate (ConfigMaps' *.toml).
    let mg = bin_dir().join("metric-gate");
    let tmp = testkit::temp_dir("k8s-rules");
    for cm in find("ConfigMap") {
        for (name, body) in cm["data"].as_object().into_iter().flatten() {
            if !name.ends_with(".toml") || !body.as_str().unwrap_or_default().contains("[[rule]]") {
                continue;
            }
            let f = tmp.path().join(name);
            testkit::write(&f, body.as_str().unwrap());
            // The variables the Deployments and CronJobs set for them.
            let mut cmd = Command::new(&mg);
            cmd.args(["export", "--rules"]).arg(&f);
            for (k, v) in [
                ("GATE_CANARY", "podinfo-canary"),
                ("GATE_STABLE", "podinfo-primary"),
                ("GATE_APP", "podinfo"),
                ("GATE_NAMESPACE", "test"),
                ("GATE_POD", "podinfo-.*"),
            ] {
                cmd.env(k, v);
            }
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
