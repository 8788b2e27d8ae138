//! Rule files (TOML) and the rules they hold, validated before any query
//! runs.
//!
//! ```toml
//! [prometheus]                 # optional; --prometheus wins
//! url = "http://prometheus:9090"
//! bearer_token = "${PROM_TOKEN}"
//!
//! [defaults]                   # optional
//! step = "15s"
//!
//! [[rule]]
//! name = "error_rate"
//! description = "5xx share of green's responses"
//! query = 'sum(rate(haproxy_backend_http_responses_total{proxy="green",code="5xx"}[1m])) / sum(rate(haproxy_backend_http_responses_total{proxy="green"}[1m]))'
//! warn = "> 1%"
//! critical = "> 5%"
//! critical_for = "2m"
//! warn_for = "5m"
//! ```
//!
//! Unknown keys, bad conditions and bad durations are refused with the file
//! and line (exit 64).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use golive_core::{Error, Status, units};
use serde::Deserialize;

use crate::condition::Threshold;

/// What a rule reports when it cannot see its evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Fallback {
    /// OK: only for queries whose empty result means "nothing bad" (say so).
    Ok,
    /// WARNING: pause.
    Warning,
    /// CRITICAL: roll back.
    Critical,
    /// UNKNOWN (the default).
    #[default]
    Unknown,
}

impl Fallback {
    /// The status this stands for.
    pub fn status(self) -> Status {
        match self {
            Fallback::Ok => Status::Ok,
            Fallback::Warning => Status::Warning,
            Fallback::Critical => Status::Critical,
            Fallback::Unknown => Status::Unknown,
        }
    }
}

/// The `[prometheus]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    /// Base URL.
    pub url: Option<String>,
    /// Basic auth user.
    pub username: Option<String>,
    /// Basic auth password (use `${VAR}`).
    pub password: Option<String>,
    /// Bearer token (use `${VAR}`).
    pub bearer_token: Option<String>,
    /// A file holding the bearer token.
    pub bearer_token_file: Option<String>,
    /// Trust only the CA certificates in this PEM file.
    pub ca: Option<String>,
    /// Do not verify the TLS certificate (shown in the report).
    pub insecure: Option<bool>,
    /// Extra request headers (e.g. `X-Scope-OrgID`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The `[defaults]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultsFile {
    #[serde(default, deserialize_with = "units::de_opt_duration")]
    step: Option<Duration>,
    on_no_data: Option<Fallback>,
    on_error: Option<Fallback>,
}

/// One `[[rule]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    #[serde(default)]
    description: Option<String>,
    query: String,
    warn: Option<Threshold>,
    critical: Option<Threshold>,
    #[serde(rename = "for", default, deserialize_with = "units::de_opt_duration")]
    for_: Option<Duration>,
    #[serde(default, deserialize_with = "units::de_opt_duration")]
    warn_for: Option<Duration>,
    #[serde(default, deserialize_with = "units::de_opt_duration")]
    critical_for: Option<Duration>,
    info: Option<Threshold>,
    #[serde(default, deserialize_with = "units::de_opt_duration")]
    info_for: Option<Duration>,
    #[serde(default, deserialize_with = "units::de_opt_duration")]
    step: Option<Duration>,
    on_no_data: Option<Fallback>,
    on_error: Option<Fallback>,
    baseline_query: Option<String>,
    baseline_floor: Option<f64>,
}

/// A whole rules file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    prometheus: SourceFile,
    #[serde(default)]
    defaults: DefaultsFile,
    #[serde(default)]
    rule: Vec<RuleFile>,
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// What it watches, for people.
    pub description: Option<String>,
    /// PromQL expression.
    pub query: String,
    /// WARNING condition.
    pub warn: Option<Threshold>,
    /// CRITICAL condition.
    pub critical: Option<Threshold>,
    /// How long the WARNING condition must hold (zero: at the instant only).
    pub warn_for: Duration,
    /// How long the CRITICAL condition must hold.
    pub critical_for: Duration,
    /// INFO condition: a note for the post-launch review, never a verdict.
    pub info: Option<Threshold>,
    /// How long the INFO condition must hold.
    pub info_for: Duration,
    /// Resolution of `for` windows.
    pub step: Duration,
    /// Status when there is no evidence (empty, NaN, ±Inf, missing points).
    pub on_no_data: Fallback,
    /// Status when the query itself failed (never OK).
    pub on_error: Fallback,
    /// PromQL for the baseline (blue), for relative conditions.
    pub baseline_query: Option<String>,
    /// Relative conditions compare with max(baseline, floor).
    pub baseline_floor: f64,
}

impl Rule {
    /// The longest `for` window of the rule.
    pub fn window(&self) -> Duration {
        self.warn_for.max(self.critical_for).max(self.info_for)
    }

    /// Whether the rule can change the verdict (it has `warn` or
    /// `critical`); an info-only rule only adds notes.
    pub fn gates(&self) -> bool {
        self.warn.is_some() || self.critical.is_some()
    }

    /// The three conditions, for checks that need every one.
    pub fn thresholds(&self) -> impl Iterator<Item = &Threshold> {
        [&self.warn, &self.critical, &self.info]
            .into_iter()
            .flatten()
    }

    /// The two thresholds as one short text, e.g. `warn > 1%, critical > 5%`.
    pub fn thresholds_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(w) = &self.warn {
            parts.push(format!("warn {w}{}", for_suffix(self.warn_for)));
        }
        if let Some(c) = &self.critical {
            parts.push(format!("critical {c}{}", for_suffix(self.critical_for)));
        }
        if let Some(i) = &self.info {
            parts.push(format!("info {i}{}", for_suffix(self.info_for)));
        }
        parts.join(", ")
    }

    /// The numbers values are compared with (relative conditions against
    /// `baseline`), for showing values beside them.
    pub fn bounds(&self, baseline: Option<f64>) -> Vec<f64> {
        self.thresholds().flat_map(|t| t.bounds(baseline)).collect()
    }

    /// The unit values are shown in (the one the thresholds were written in).
    pub fn unit(&self) -> crate::condition::Unit {
        self.critical
            .as_ref()
            .or(self.warn.as_ref())
            .or(self.info.as_ref())
            .map(|t| t.unit)
            .unwrap_or_default()
    }
}

fn for_suffix(d: Duration) -> String {
    if d.is_zero() {
        String::new()
    } else {
        format!(" for {}", golive_core::units::human_duration(d))
    }
}

/// A loaded rules file.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The `[prometheus]` table.
    pub source: SourceFile,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// Overrides from the command line that apply to every rule.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--step`.
    pub step: Option<Duration>,
}

/// The default step: 15 s, or a quarter of the shortest non-zero `for`
/// when that is shorter (every window gets at least five points), never
/// below one second.
pub fn default_step(windows: &[Duration]) -> Duration {
    let shortest = windows.iter().filter(|d| !d.is_zero()).min().copied();
    let mut step = Duration::from_secs(15);
    if let Some(w) = shortest {
        step = step.min(w / 4);
    }
    let step = Duration::from_millis(step.as_millis() as u64);
    step.max(Duration::from_secs(1))
}

/// Load and validate a rules file.
pub fn load(path: &Path, over: &Overrides) -> Result<RuleSet, Error> {
    let name = path.display().to_string();
    // toml's spans say where each rule's `name` stands, for the errors
    // found after parsing.
    let (file, spans): (File, _) = golive_core::config::load_located(path)?;
    let err = |i: usize, message: String| Error::Config {
        path: name.clone(),
        line: spans
            .line(&format!("rule[{i}].name"))
            .or_else(|| spans.line(&format!("rule[{i}]"))),
        column: None,
        message,
    };
    if file.rule.is_empty() {
        return Err(Error::Config {
            path: name.clone(),
            line: None,
            column: None,
            message: "no [[rule]] tables: a gate with nothing to judge would pass blind".into(),
        });
    }
    let mut rules = Vec::new();
    for (i, r) in file.rule.into_iter().enumerate() {
        if rules.iter().any(|x: &Rule| x.name == r.name) {
            return Err(err(i, format!("rule name `{}` is used twice", r.name)));
        }
        let rule = build(r, &file.defaults, over).map_err(|m| err(i, m))?;
        rules.push(rule);
    }
    Ok(RuleSet {
        source: file.prometheus,
        rules,
    })
}

/// The ad-hoc rule from `--query` and friends.
#[derive(Debug, Clone, Default)]
pub struct AdHoc {
    /// `--name`.
    pub name: Option<String>,
    /// `--query`.
    pub query: String,
    /// `--warn`.
    pub warn: Option<Threshold>,
    /// `--critical`.
    pub critical: Option<Threshold>,
    /// `--for`.
    pub for_: Option<Duration>,
    /// `--on-no-data`.
    pub on_no_data: Option<Fallback>,
    /// `--baseline-query`.
    pub baseline_query: Option<String>,
    /// `--baseline-floor`.
    pub baseline_floor: Option<f64>,
}

/// Build the single rule of the ad-hoc form (errors are usage errors).
pub fn ad_hoc(a: AdHoc, over: &Overrides) -> Result<Rule, Error> {
    let r = RuleFile {
        name: a.name.unwrap_or_else(|| "query".into()),
        description: None,
        query: a.query,
        warn: a.warn,
        critical: a.critical,
        for_: a.for_,
        warn_for: None,
        critical_for: None,
        info: None,
        info_for: None,
        step: None,
        on_no_data: a.on_no_data,
        on_error: None,
        baseline_query: a.baseline_query,
        baseline_floor: a.baseline_floor,
    };
    build(r, &DefaultsFile::default(), over).map_err(Error::usage)
}

fn build(r: RuleFile, d: &DefaultsFile, over: &Overrides) -> Result<Rule, String> {
    if r.name.trim().is_empty() {
        return Err("a rule needs a non-empty `name`".into());
    }
    if r.query.trim().is_empty() {
        return Err(format!("rule `{}`: `query` is empty", r.name));
    }
    if r.warn.is_none() && r.critical.is_none() && r.info.is_none() {
        return Err(format!(
            "rule `{}` has none of `warn`, `critical` or `info`: it could never say anything",
            r.name
        ));
    }
    if r.info_for.is_some() && r.info.is_none() {
        return Err(format!("rule `{}`: `info_for` without `info`", r.name));
    }
    let relative = [&r.warn, &r.critical, &r.info]
        .iter()
        .any(|t| t.as_ref().is_some_and(Threshold::is_relative));
    if relative && r.baseline_query.is_none() {
        return Err(format!(
            "rule `{}` compares with `baseline` but has no `baseline_query`",
            r.name
        ));
    }
    if let Some(f) = r.baseline_floor
        && (!f.is_finite() || f < 0.0)
    {
        return Err(format!("rule `{}`: `baseline_floor` must be ≥ 0", r.name));
    }
    let on_error = r.on_error.or(d.on_error).unwrap_or_default();
    if on_error == Fallback::Ok {
        return Err(format!(
            "rule `{}`: `on_error` cannot be \"ok\": a query that failed saw nothing",
            r.name
        ));
    }
    let warn_for = r.warn_for.or(r.for_).unwrap_or_default();
    let critical_for = r.critical_for.or(r.for_).unwrap_or_default();
    let info_for = r.info_for.or(r.for_).unwrap_or_default();
    let step = over
        .step
        .or(r.step)
        .or(d.step)
        .unwrap_or_else(|| default_step(&[warn_for, critical_for, info_for]));
    if step.is_zero() {
        return Err(format!("rule `{}`: `step` must be above zero", r.name));
    }
    let window = warn_for.max(critical_for).max(info_for);
    if !window.is_zero() && window.as_secs_f64() / step.as_secs_f64() > 10_000.0 {
        return Err(format!(
            "rule `{}`: a {} window at a {} step is over 10,000 points; raise `step`",
            r.name,
            units::human_duration(window),
            units::human_duration(step)
        ));
    }
    Ok(Rule {
        name: r.name,
        description: r.description,
        query: r.query,
        warn: r.warn,
        critical: r.critical,
        warn_for,
        critical_for,
        info: r.info,
        info_for,
        step,
        on_no_data: r.on_no_data.or(d.on_no_data).unwrap_or_default(),
        on_error,
        baseline_query: r.baseline_query,
        baseline_floor: r.baseline_floor.unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<RuleSet, Error> {
        let dir = std::env::temp_dir().join(format!("mg-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(format!("r{}.toml", text.len()));
        std::fs::write(&p, text).unwrap();
        let r = load(&p, &Overrides::default());
        let _ = std::fs::remove_file(&p);
        r
    }

    #[test]
    fn a_full_rule_loads() {
        let rs = load_text(
            "[[rule]]\nname = \"err\"\nquery = \"x\"\nwarn = \"> 1%\"\ncritical = \"> 5%\"\ncritical_for = \"2m\"\nwarn_for = \"5m\"\n",
        )
        .unwrap();
        let r = &rs.rules[0];
        assert_eq!(r.critical_for, Duration::from_secs(120));
        assert_eq!(r.warn_for, Duration::from_secs(300));
        assert_eq!(r.step, Duration::from_secs(15));
        assert_eq!(r.on_no_data, Fallback::Unknown);
        assert_eq!(
            r.thresholds_text(),
            "warn > 1% for 5m, critical > 5% for 2m"
        );
    }

    #[test]
    fn unknown_key_names_the_line() {
        let e =
            load_text("[[rule]]\nname = \"a\"\nquery = \"x\"\ncritcal = \"> 1\"\n").unwrap_err();
        let m = e.to_string();
        assert!(m.contains(":4:") && m.contains("critcal"), "{m}");
        assert_eq!(e.exit_code(), 64);
    }

    #[test]
    fn bad_condition_names_the_line() {
        let e =
            load_text("[[rule]]\nname = \"a\"\nquery = \"x\"\n\nwarn = \"above 3\"\n").unwrap_err();
        assert!(e.to_string().contains(":5:"), "{e}");
    }

    #[test]
    fn semantic_errors_name_the_rule_line() {
        let e = load_text("[[rule]]\nname = \"a\"\nquery = \"x\"\nwarn = \"> 1\"\n\n[[rule]]\nname = \"a\"\nquery = \"y\"\nwarn = \"> 1\"\n").unwrap_err();
        assert!(
            e.to_string().contains(":7:") && e.to_string().contains("twice"),
            "{e}"
        );
        let e = load_text("[[rule]]\nname = \"b\"\nquery = \"x\"\ncritical = \"> 2x baseline\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("baseline_query"), "{e}");
        let e = load_text("[[rule]]\nname = \"c\"\nquery = \"x\"\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("none of `warn`, `critical` or `info`"),
            "{e}"
        );
        let e =
            load_text("[[rule]]\nname = \"d\"\nquery = \"x\"\nwarn = \"> 1\"\non_error = \"ok\"\n")
                .unwrap_err();
        assert!(e.to_string().contains("on_error"), "{e}");
        assert!(
            load_text("")
                .unwrap_err()
                .to_string()
                .contains("no [[rule]]")
        );
    }

    #[test]
    fn step_defaults() {
        assert_eq!(default_step(&[]), Duration::from_secs(15));
        assert_eq!(
            default_step(&[Duration::from_secs(20)]),
            Duration::from_secs(5)
        );
        assert_eq!(
            default_step(&[Duration::from_secs(2)]),
            Duration::from_secs(1)
        );
        assert_eq!(
            default_step(&[Duration::ZERO, Duration::from_secs(300)]),
            Duration::from_secs(15)
        );
    }
}
