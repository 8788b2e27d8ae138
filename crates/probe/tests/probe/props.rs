//! Property tests for probe's parsers of user input: `--header` values and
//! `@FILE`s, `--expect-status`, `--json-path`, `HOST:PORT`, PostgreSQL DSNs,
//! flags and `probe run` files. Nothing panics, bad input is exit 64,
//! a secret at a known position never shows, and what parses means what it
//! says. (No servers: these never touch the network.)

use std::time::Duration;
use testkit::props::{assert_hidden, cfg, toml_str};

use clap::Parser;
use golive_core::redact;
use golive_core::units::MAX_TIMEOUT;
use probe::check::http::{JsonCheck, StatusMatch, parse_header};
use probe::check::parse_host_port;
use probe::check::postgres::PostgresSpec;
use probe::cli::{Cli, headers, plan};
use probe::plan::Plan;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

/// Any text, including control characters and the pieces probe's inputs
/// are made of.
fn any_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z]{1,8}",
        "[0-9]{1,8}",
        select(vec![
            ":", ": ", "=", " ", "\t", "\r", "\n", ",", "|", "-", "xx", "[", "]", ".", "$", "\"",
            "'", "${", "}", "://", "@", "/", "?", "#", "%", "\\", "\0", "é", "🦀", "\u{202e}",
        ])
        .prop_map(str::to_string),
    ];
    prop_oneof![
        vec(any::<char>(), 0..40).prop_map(|v| v.into_iter().collect()),
        "\\PC{0,40}",
        vec(piece, 0..12).prop_map(|v| v.concat()),
    ]
}

/// A secret a user might pick: upper-case first (never part of the
/// lower-case text around it), 3+ characters, no `*`.
fn secret() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9!$&()+,;~_.-]{2,15}"
}

fn sensitive_header() -> impl Strategy<Value = &'static str> {
    select(vec![
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "X-API-Key",
        "X-Auth-Token",
        "Private-Token",
        "X-Client-Secret",
    ])
}

fn set_env(name: &str, value: &str) {
    // SAFETY: each variable is set and read by one test only, and nextest
    // runs every test in its own process.
    unsafe { std::env::set_var(name, value) };
}

// ----------------------------------------------------------------- headers

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn headers_never_panic_and_ok_means_a_valid_header(s in any_text()) {
        let Ok((name, value)) = parse_header(&s) else { return Ok(()) };
        prop_assert!(!name.is_empty());
        prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)), "{name:?}");
        prop_assert!(!value.contains(['\r', '\n']), "{value:?}");
        prop_assert_eq!(value.trim(), value.as_str());
    }

    #[test]
    fn a_header_parses_to_its_name_and_value(
        name in "[A-Za-z0-9-]{1,20}",
        value in "[^\r\n]{0,20}",
        sp in select(vec!["", " ", "  ", "\t"]),
    ) {
        let got = parse_header(&format!("{name}:{sp}{value}")).unwrap();
        prop_assert_eq!(got, (name, value.trim().to_string()));
    }

    #[test]
    fn a_sensitive_header_value_is_registered(
        name in sensitive_header(),
        scheme in select(vec!["", "Bearer ", "Basic "]),
        value in secret(),
        (pre, post) in ("\\PC{0,10}", "\\PC{0,10}"),
    ) {
        let (_, v) = parse_header(&format!("{name}: {scheme}{value}")).unwrap();
        prop_assert_eq!(v, format!("{scheme}{value}"));
        assert_hidden(&redact::scrub(&format!("{pre}{value}{post}")), &value)?;
    }

    #[test]
    fn a_header_error_never_shows_a_sensitive_value(
        name in sensitive_header(),
        sep in select(vec!["=", " ", "  ", " = "]),
        value in "[A-Z][A-Z0-9!$&()+,;~_.-]{2,15}",
        line_break in select(vec!["\n", "\r\n", "\r"]),
    ) {
        // Written without the `:` (`X-API-Key=…`, `Authorization Bearer …`).
        let e = parse_header(&format!("{name}{sep}{value}")).unwrap_err();
        assert_hidden(&e, &value)?;
        // A value with a line break in it.
        let e = parse_header(&format!("{name}: {value}{line_break}more")).unwrap_err();
        assert_hidden(&e, &value)?;
    }

    #[test]
    fn header_flags_expand_variables_and_never_panic(
        s in any_text(),
        value in "[^\0\r\n]{0,20}",
        name in "[A-Za-z][A-Za-z0-9-]{0,12}",
    ) {
        // `@FILE` reads a file: that is its own property below.
        let expanded = golive_core::config::expand(&s);
        if !expanded.as_deref().is_ok_and(|e| e.starts_with('@')) {
            let _ = headers(std::slice::from_ref(&s));
        }
        set_env("PROBE_PROPS_HEADER", &value);
        let got = headers(&[format!("{name}: ${{PROBE_PROPS_HEADER}}")]).unwrap();
        prop_assert_eq!(got, vec![(name.clone(), value.trim().to_string())]);
        let e = headers(&[format!("{name}: ${{PROBE_PROPS_UNSET_X}}")]).unwrap_err();
        prop_assert!(e.contains("PROBE_PROPS_UNSET_X"), "{e}");
    }

    #[test]
    fn header_files_are_read_line_by_line(
        lines in vec(("[A-Za-z][A-Za-z0-9-]{0,12}", "[a-z0-9 ]{0,12}"), 0..6),
        noise in vec(select(vec!["", "# comment", "   ", "\t# indented"]), 0..6),
        bad_at in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("headers.txt");
        let mut text: Vec<String> = Vec::new();
        for (i, (n, v)) in lines.iter().enumerate() {
            if let Some(x) = noise.get(i) {
                text.push((*x).to_string());
            }
            text.push(format!("{n}: {v}"));
        }
        let bad_line = bad_at.map(|i| {
            let at = i.index(text.len() + 1);
            text.insert(at, "no colon here".to_string());
            at + 1
        });
        std::fs::write(&path, text.join("\n")).unwrap();
        let got = headers(&[format!("@{}", path.display())]);
        match bad_line {
            None => {
                let want: Vec<(String, String)> = lines.iter().map(|(n, v)| (n.clone(), v.trim().to_string())).collect();
                prop_assert_eq!(got.unwrap(), want);
            }
            Some(n) => {
                let e = got.unwrap_err();
                let at = format!("{}:{n}:", path.display());
                prop_assert!(e.starts_with(&at), "{} (want {})", e, at);
            }
        }
    }
}

// ---------------------------------------------------- status, json, address

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn status_lists_never_panic_and_only_match_real_codes(s in any_text(), code in any::<u16>()) {
        let Ok(m) = StatusMatch::parse(&s) else { return Ok(()) };
        if m.matches(code) {
            prop_assert!((100..=599).contains(&code), "{s:?} matches {code}");
        }
        prop_assert_eq!(m.as_str(), s.trim());
    }

    #[test]
    fn status_lists_match_what_they_list(
        parts in vec(prop_oneof![
            (100u16..=599).prop_map(|c| (c.to_string(), c, c)),
            (1u16..=5).prop_map(|d| (format!("{d}xx"), d * 100, d * 100 + 99)),
            (1u16..=5).prop_map(|d| (format!("{d}XX"), d * 100, d * 100 + 99)),
            (100u16..=599, 100u16..=599).prop_map(|(a, b)| {
                let (a, b) = (a.min(b), a.max(b));
                (format!("{a}-{b}"), a, b)
            }),
        ], 1..5),
        sep in select(vec![",", ", ", "|", " , "]),
        code in 0u16..=1000,
    ) {
        let text: Vec<&str> = parts.iter().map(|(t, _, _)| t.as_str()).collect();
        let m = StatusMatch::parse(&text.join(sep)).unwrap();
        let want = parts.iter().any(|(_, a, b)| (*a..=*b).contains(&code));
        prop_assert_eq!(m.matches(code), want);
    }

    #[test]
    fn status_codes_outside_100_to_599_are_refused(
        bad in prop_oneof![
            (0u32..100).prop_map(|c| c.to_string()),
            (600u32..=100_000).prop_map(|c| c.to_string()),
            (6u32..=1000).prop_map(|d| format!("{d}xx")),
            Just("0xx".to_string()),
            (300u16..=599, 100u16..300).prop_map(|(a, b)| format!("{a}-{b}")),
            select(vec!["", ",", "abc", "2x", "xx", "-", "200-", "-200", "2xx-3xx"]).prop_map(str::to_string),
        ],
    ) {
        prop_assert!(StatusMatch::parse(&bad).is_err(), "{bad:?}");
    }

    #[test]
    fn json_paths_never_panic(s in any_text(), doc in json_doc()) {
        if let Ok(j) = JsonCheck::new(&s, None) {
            let _ = j.lookup(&doc);
        }
    }

    #[test]
    fn a_json_path_finds_the_field_it_names(
        steps in vec(prop_oneof![
            "[a-z_][a-z0-9_]{0,6}".prop_map(PathStep::Key),
            (0usize..4).prop_map(PathStep::Index),
        ], 1..5),
        style in select(vec![Style::Dots, Style::Brackets, Style::Dollar]),
        leaf in prop_oneof![Just(json!("ok")), Just(json!(3)), Just(json!(true))],
    ) {
        let doc = nest(&steps, leaf.clone());
        let path = write_path(&steps, style);
        let j = JsonCheck::new(&path, None).unwrap();
        prop_assert_eq!(j.lookup(&doc), Some(&leaf), "{}", path);
    }

    #[test]
    fn host_port_never_panics_and_ok_means_a_port(s in any_text()) {
        if let Ok((host, port)) = parse_host_port(&s) {
            prop_assert!(!host.is_empty() && port > 0, "{s:?}");
        }
    }

    #[test]
    fn host_port_parses_to_what_it_says(
        host in prop_oneof![
            "[a-z0-9][a-z0-9.-]{0,20}",
            select(vec!["[::1]", "[2001:db8::5]", "[fe80::1]"]).prop_map(str::to_string),
        ],
        port in any::<u32>(),
        pad in select(vec!["", " "]),
    ) {
        let got = parse_host_port(&format!("{pad}{host}:{port}{pad}"));
        let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
        if (1..=65535).contains(&port) {
            prop_assert_eq!(got, Ok((bare, port as u16)));
        } else {
            prop_assert!(got.is_err());
        }
        prop_assert!(parse_host_port(&host).is_err(), "no port: {host}");
    }
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Copy)]
enum Style {
    Dots,
    Brackets,
    Dollar,
}

/// A document holding `leaf` at `steps`.
fn nest(steps: &[PathStep], leaf: Value) -> Value {
    let Some((first, rest)) = steps.split_first() else {
        return leaf;
    };
    let inner = nest(rest, leaf);
    match first {
        PathStep::Key(k) => json!({ k.clone(): inner, "other": null }),
        PathStep::Index(i) => {
            let mut a = vec![json!("x"); *i];
            a.push(inner);
            Value::Array(a)
        }
    }
}

/// `a.0.b`, `a[0]["b"]` or `$.a[0].b`.
fn write_path(steps: &[PathStep], style: Style) -> String {
    let mut out = String::new();
    if let Style::Dollar = style {
        out.push('$');
    }
    for (i, s) in steps.iter().enumerate() {
        match (s, style) {
            (PathStep::Key(k), Style::Brackets) if i > 0 => out.push_str(&format!("[\"{k}\"]")),
            (PathStep::Index(n), Style::Brackets | Style::Dollar) if i > 0 => {
                out.push_str(&format!("[{n}]"))
            }
            (PathStep::Key(k), _) => {
                if i > 0 || matches!(style, Style::Dollar) {
                    out.push('.');
                }
                out.push_str(k);
            }
            (PathStep::Index(n), _) => {
                if i > 0 || matches!(style, Style::Dollar) {
                    out.push('.');
                }
                out.push_str(&n.to_string());
            }
        }
    }
    out
}

fn json_doc() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        "\\PC{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec(("[a-z0-9]{1,4}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

// -------------------------------------------------------------------- DSNs

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn dsns_never_panic_and_never_show_what_they_hide(s in any_text()) {
        if let Ok(spec) = PostgresSpec::new(&s, None, None, None) {
            prop_assert_eq!(spec.display, redact::dsn(&s));
        }
    }

    #[test]
    fn a_dsn_password_never_shows(
        user in "[a-z][a-z0-9_]{0,8}",
        pw in secret(),
        host in prop_oneof!["[a-z][a-z0-9.-]{0,12}", Just("127.0.0.1".to_string()), Just("[::1]".to_string())],
        port in prop_oneof![(1u32..=65535).prop_map(|p| p.to_string()), Just("99999".to_string()), Just("x".to_string())],
        db in "[a-z]{1,8}",
        form in select(vec!["url", "kv", "kv-quoted"]),
        extra in select(vec!["", " sslmode=disable", " sslmode=bogus", " connect_timeout=x", " nonsense"]),
    ) {
        let dsn = match form {
            "url" => {
                let q = if extra.is_empty() { String::new() } else { format!("?{}", extra.trim()) };
                format!("postgres://{user}:{pw}@{host}:{port}/{db}{q}")
            }
            "kv" => format!("host={} port={port} user={user} password={pw} dbname={db}{extra}", host.trim_matches(['[', ']'])),
            _ => format!("host={} port={port} user={user} password='{pw}' dbname={db}{extra}", host.trim_matches(['[', ']'])),
        };
        match PostgresSpec::new(&dsn, None, None, None) {
            Ok(spec) => {
                assert_hidden(&spec.display, &pw)?;
                prop_assert_eq!(spec.config.get_password(), Some(pw.as_bytes()));
            }
            Err(e) => {
                // Printed on stderr through the scrubber; the message
                // itself should not need it.
                assert_hidden(&e, &pw)?;
                assert_hidden(&redact::scrub(&e), &pw)?;
            }
        }
    }

    #[test]
    fn connection_limits_are_percentages_and_ordered(warn in 0.0..=100.0f64, max in 0.0..=100.0f64) {
        let got = PostgresSpec::new("host=db user=app", None, Some(max), Some(warn));
        prop_assert_eq!(got.is_ok(), warn <= max, "warn {} max {}", warn, max);
        let flags = ["probe", "postgres", "host=db", "--max-connections-used", &format!("{max}%"), "--warn-connections-used", &format!("{warn}")];
        let parsed = Cli::try_parse_from(flags).unwrap();
        prop_assert_eq!(plan(parsed).is_ok(), warn <= max);
    }
}

// ------------------------------------------------------- flags and run files

fn plan_from(args: &[&str]) -> Result<Plan, golive_core::Error> {
    let cli = Cli::try_parse_from(args).map_err(|e| golive_core::Error::usage(e.to_string()))?;
    plan(cli)
}

/// One `[[check]]` that should plan: its TOML, name and how it is shown.
#[derive(Debug, Clone)]
struct GoodCheck {
    toml: String,
    name: String,
    kind: &'static str,
    shown: String,
    secret: Option<String>,
    timeout: Option<Duration>,
}

fn good_check() -> impl Strategy<Value = GoodCheck> {
    let name = "[a-z][a-z0-9_-]{0,10}";
    let timeout = prop::option::of((1u64..=600).prop_map(Duration::from_secs));
    let target = prop_oneof![
        (secret(), "[a-z]{1,8}", 1u16..=65535).prop_map(|(pw, h, p)| (
            "http",
            format!(
                "url = {}\nheaders = {{ \"X-API-Key\" = {} }}\nexpect_status = 200\n",
                toml_str(&format!("http://u:{pw}@{h}:{p}/health")),
                toml_str(&format!("{pw}-key"))
            ),
            format!("http://u:***@{h}:{p}/health"),
            Some(pw),
        )),
        ("[a-z]{1,8}", 1u16..=65535).prop_map(|(h, p)| (
            "tcp",
            format!("address = {}\n", toml_str(&format!("{h}:{p}"))),
            format!("{h}:{p}"),
            None,
        )),
        (secret(), "[a-z]{1,8}").prop_map(|(pw, h)| (
            "redis",
            format!("url = {}\n", toml_str(&format!("redis://:{pw}@{h}:6379/0"))),
            format!("redis://:***@{h}:6379/0"),
            Some(pw),
        )),
        (secret(), "[a-z]{1,8}", 0u32..=100).prop_map(|(pw, h, pct)| (
            "postgres",
            format!(
                "dsn = {}\nmax_connections_used = \"{pct}%\"\n",
                toml_str(&format!("host={h} user=app password={pw} dbname=x"))
            ),
            format!("host={h} user=app password=*** dbname=x"),
            Some(pw),
        )),
        (
            "[a-z]{1,8}",
            select(vec!["26h", "1d", "90m"]),
            select(vec!["1MB", "512", "10KiB"])
        )
            .prop_map(|(d, age, size)| (
                "file",
                format!(
                    "glob = {}\nmax_age = \"{age}\"\nmin_size = \"{size}\"\n",
                    toml_str(&format!("/backups/{d}/*.sql.gz"))
                ),
                format!("/backups/{d}/*.sql.gz"),
                None,
            )),
    ];
    (name, timeout, target).prop_map(|(name, timeout, (kind, body, shown, secret))| {
        let mut toml = format!(
            "[[check]]\nname = {}\ntype = \"{kind}\"\n{body}",
            toml_str(&name)
        );
        if let Some(t) = timeout {
            toml += &format!("timeout = \"{}s\"\n", t.as_secs());
        }
        GoodCheck {
            toml,
            name,
            kind,
            shown,
            secret,
            timeout,
        }
    })
}

fn plan_file(text: &str, flags: &[&str]) -> Result<Plan, golive_core::Error> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checks.toml");
    std::fs::write(&path, text).unwrap();
    let path = path.display().to_string();
    let mut args = vec!["probe", "run", path.as_str()];
    args.extend(flags);
    plan_from(&args)
}

/// Lines a run file is made of, valid and not.
fn run_doc() -> impl Strategy<Value = String> {
    let key = select(vec![
        "name",
        "type",
        "url",
        "address",
        "dsn",
        "glob",
        "timeout",
        "retries",
        "interval",
        "wait",
        "headers",
        "expect_status",
        "json_path",
        "equals",
        "max_latency",
        "sni",
        "warn_days",
        "max_connections_used",
        "min_size",
        "max_age",
        "gzip",
        "concurrency",
        "bogus",
    ]);
    let value = prop_oneof![
        any_text().prop_map(|s| toml_str(&s)),
        select(vec![
            "\"http\"",
            "\"tcp\"",
            "\"redis\"",
            "\"postgres\"",
            "\"file\"",
            "\"tls\"",
            "\"prometheus\"",
            "\"nope\""
        ])
        .prop_map(str::to_string),
        select(vec![
            "\"http://h/\"",
            "\"h:1\"",
            "\"h:0\"",
            "\"redis://h\"",
            "\"host=h\"",
            "\"/b/*\"",
            "\"/b/[\"",
            "\"5s\"",
            "\"5\"",
            "\"0s\"",
            "\"150%\"",
            "nan",
            "-1",
            "0",
            "1e400",
            "true",
            "{ a = \"b\" }",
            "\"${PROBE_PROPS_UNSET}\""
        ])
        .prop_map(str::to_string),
        any::<i64>().prop_map(|i| i.to_string()),
    ];
    vec(
        prop_oneof![
            4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            2 => select(vec!["[[check]]", "[defaults]", "[check]", "# c", ""]).prop_map(str::to_string),
            1 => any_text(),
        ],
        0..14,
    )
    .prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..cfg() })]

    #[test]
    fn timeouts_on_the_command_line_are_bounded(t in any_text(), d in 0u64..=30 * 86_400) {
        match plan_from(&["probe", "tcp", "db:5432", "--timeout", &t]) {
            Ok(p) => {
                let to = p.checks[0].timing.timeout;
                prop_assert!(!to.is_zero() && to <= MAX_TIMEOUT, "{t:?} → {to:?}");
            }
            Err(e) => prop_assert_eq!(e.exit_code(), 64),
        }
        let typed = format!("{d}s");
        let got = plan_from(&["probe", "tcp", "db:5432", "--timeout", &typed]);
        let want = d > 0 && Duration::from_secs(d) <= MAX_TIMEOUT;
        prop_assert_eq!(got.is_ok(), want, "--timeout {}", typed);
    }

    #[test]
    fn run_files_never_panic_and_errors_are_usage(text in prop_oneof![run_doc(), any_text()]) {
        match plan_file(&text, &[]) {
            Ok(p) => {
                prop_assert!(!p.checks.is_empty(), "an empty plan passes nothing");
                for c in &p.checks {
                    prop_assert!(!c.timing.timeout.is_zero());
                    prop_assert!(!c.name.trim().is_empty());
                }
            }
            Err(e) => {
                prop_assert_eq!(e.exit_code(), 64);
                let msg = e.to_string();
                prop_assert!(msg.contains("checks.toml"), "{msg}");
            }
        }
    }

    #[test]
    fn run_files_plan_what_they_say(
        checks in vec(good_check(), 1..5),
        default_timeout in prop::option::of((1u64..=60).prop_map(Duration::from_secs)),
        flag_timeout in prop::option::of((1u64..=60).prop_map(Duration::from_secs)),
        (pre, post) in ("\\PC{0,8}", "\\PC{0,8}"),
    ) {
        let mut seen = Vec::new();
        let checks: Vec<GoodCheck> = checks.into_iter().filter(|c| {
            let new = !seen.contains(&c.name);
            seen.push(c.name.clone());
            new
        }).collect();
        let mut text = String::new();
        if let Some(d) = default_timeout {
            text += &format!("[defaults]\ntimeout = \"{}s\"\n\n", d.as_secs());
        }
        text += &checks.iter().map(|c| c.toml.as_str()).collect::<Vec<_>>().join("\n");
        let flag = flag_timeout.map(|d| format!("{}s", d.as_secs()));
        let flags: Vec<&str> = flag.as_deref().map(|f| vec!["--timeout", f]).unwrap_or_default();
        let p = plan_file(&text, &flags).unwrap();
        prop_assert_eq!(p.checks.len(), checks.len());
        for (got, want) in p.checks.iter().zip(&checks) {
            prop_assert_eq!(&got.name, &want.name);
            prop_assert_eq!(got.spec.kind(), want.kind);
            prop_assert_eq!(&got.target, &want.shown);
            // A check's own key wins, then the command line, then [defaults].
            let t = want.timeout.or(flag_timeout).or(default_timeout).unwrap_or(probe::plan::DEFAULT_TIMEOUT);
            prop_assert_eq!(got.timing.timeout, t);
            if let Some(s) = &want.secret {
                assert_hidden(&got.target, s)?;
                assert_hidden(&redact::scrub(&format!("{pre}{s}{post}")), s)?;
            }
        }
    }

    #[test]
    fn broken_checks_are_refused_naming_the_file(
        check in good_check(),
        breakage in select(vec![
            "timeout = \"0s\"",
            "timeout = \"5\"",
            "retries = -1",
            "bogus = 1",
            "sni = \"x\"",
            "max_connections_used = \"150%\"",
            "max_connections_used = nan",
            "min_size = \"10 parsecs\"",
            "max_age = \"soon\"",
            "expect_status = \"700\"",
            "url = \"${PROBE_PROPS_UNSET_URL}\"",
        ]),
    ) {
        let key = breakage.split(' ').next().unwrap();
        let kept: Vec<&str> = check.toml.lines().filter(|l| !l.starts_with(&format!("{key} "))).collect();
        let text = format!("{}\n{breakage}\n", kept.join("\n"));
        let e = plan_file(&text, &[]).unwrap_err();
        prop_assert_eq!(e.exit_code(), 64);
        let msg = e.to_string();
        prop_assert!(msg.contains("checks.toml"), "{msg}");
        prop_assert!(!msg.contains('\n'), "{msg:?}");
        if let Some(s) = &check.secret {
            assert_hidden(&redact::scrub(&msg), s)?;
        }
    }

    #[test]
    fn duplicate_check_names_are_refused(check in good_check()) {
        let text = format!("{}\n{}", check.toml, check.toml);
        let msg = plan_file(&text, &[]).unwrap_err().to_string();
        prop_assert!(msg.contains("twice"), "{msg}");
    }
}

// ------------------------------------------ failing cases kept as #[test]

/// `--timeout 30d` is refused (7d at most), but `timeout = "30d"` in a run
/// file, or in its `[defaults]`, is accepted: the file reads durations with
/// `de_opt_duration`, not `parse_timeout`.
#[test]
fn a_run_file_timeout_is_bounded_like_the_flag() {
    assert!(plan_from(&["probe", "tcp", "db:5432", "--timeout", "30d"]).is_err());
    for text in [
        "[[check]]\nname = \"db\"\ntype = \"tcp\"\naddress = \"db:5432\"\ntimeout = \"30d\"\n",
        "[defaults]\ntimeout = \"100y\"\n\n[[check]]\nname = \"db\"\ntype = \"tcp\"\naddress = \"db:5432\"\n",
    ] {
        let got = plan_file(text, &[]);
        assert!(
            got.is_err(),
            "{text:?} planned a timeout of {:?}",
            got.map(|p| p.checks[0].timing.timeout)
        );
    }
}

/// A sensitive header written with `=` or a space instead of `:` is
/// refused showing only its name, but a value that holds a `:` makes the
/// part before it the "name", which the error then prints.
#[test]
fn a_header_error_never_shows_a_value_holding_a_colon() {
    for typed in [
        "X-API-Key=Kq7-app:Zs9-sec",
        "Authorization Bearer Kq7-app:Zs9-sec",
    ] {
        let e = parse_header(typed).unwrap_err();
        assert!(!e.contains("Kq7-app"), "{typed}: {e}");
    }
}

/// "Bad input … one line on stderr": errors quote what was typed as it is,
/// so input holding a line break gives a two-line error (these reach
/// stderr through `Error::usage`, not clap's one-line rendering).
#[test]
fn usage_errors_quoting_input_are_one_line() {
    let e = parse_header("X-Team\nName: x").unwrap_err();
    assert!(!e.contains('\n'), "{e:?}");
    let e = PostgresSpec::new("\n", None, None, None).unwrap_err();
    assert!(!e.contains('\n'), "{e:?}");
}
