//! Property tests for golive-core's parsers of user input and for redaction:
//! nothing typed by a user panics, garbage is never accepted as a valid
//! value, what round-trips does, and a secret at a known position never
//! survives in what is shown while a host, a port or a path is never masked.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use testkit::props::{assert_hidden, cfg, toml_str};

use golive_core::config;
use golive_core::redact::{self, MASK};
use golive_core::units::{
    LAST_INSTANT_SECS, MAX_TIMEOUT, check_url_port, parse_duration, parse_instant, parse_percent,
    parse_size, parse_timeout,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde::Deserialize;

/// Any text: arbitrary chars (control characters and unassigned code points
/// included), printable unicode, and strings built from the pieces parsers
/// look for (digits, huge numbers, units, signs, `${`, `://`, …).
fn any_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,40}",
        "[a-zA-Zµ%]{1,4}",
        select(vec![
            ".", "-", "+", "e", "E", " ", "\t", ":", "\0", "\n", "\r", "NaN", "inf", "${", "}",
            "$${", ":-", "@", "//", "://", "[", "]", "?", "#", "=", "'", "\"", "\\", "%", "T", "Z",
            "\u{feff}", "\u{202e}", "é", "🦀",
        ])
        .prop_map(str::to_string),
    ];
    prop_oneof![
        vec(any::<char>(), 0..48).prop_map(|v| v.into_iter().collect()),
        "\\PC{0,48}",
        vec(piece, 0..12).prop_map(|v| v.concat()),
    ]
}

/// A secret as a user might pick it: starts with an upper-case letter (so it
/// is never part of the lower-case hosts, paths and words around it), at
/// least 3 characters (shorter ones are only masked structurally), no `*`
/// (the mask itself).
fn secret() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9!$&()+,;~_.-]{2,15}"
}

/// A secret as it stands in a query string: no `&` or `#`, which end it.
fn query_secret() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9!$()+,;~_.-]{2,15}"
}

/// `pre` + `s` + `post`, as foreign text (a library's error, a server's
/// message) might repeat a secret.
fn around() -> impl Strategy<Value = (String, String)> {
    ("\\PC{0,12}", "\\PC{0,12}")
}

// ---------------------------------------------------------------- durations

/// Units humantime reads, with their length.
fn unit() -> impl Strategy<Value = (&'static str, Duration)> {
    select(vec![
        ("ns", Duration::from_nanos(1)),
        ("us", Duration::from_micros(1)),
        ("ms", Duration::from_millis(1)),
        ("s", Duration::from_secs(1)),
        ("m", Duration::from_secs(60)),
        ("min", Duration::from_secs(60)),
        ("h", Duration::from_secs(3600)),
        ("d", Duration::from_secs(86_400)),
        ("w", Duration::from_secs(7 * 86_400)),
    ])
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..=1_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..=10_000_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..=10_000).prop_map(Duration::from_millis),
    ]
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn durations_never_panic_and_ok_means_humantime_agrees(s in any_text()) {
        if let Ok(d) = parse_duration(&s) {
            prop_assert_eq!(humantime::parse_duration(s.trim()).ok(), Some(d));
            // A unit was given: a bare number never passes.
            prop_assert!(!s.trim().chars().all(|c| c.is_ascii_digit() || c == '.'));
        }
        if let Ok(d) = parse_timeout(&s) {
            prop_assert!(!d.is_zero() && d <= MAX_TIMEOUT, "{s:?} → {d:?}");
        }
    }

    #[test]
    fn a_duration_without_unit_is_refused_with_a_hint(
        n in "[0-9.]{1,40}",
        pad in select(vec!["", " ", "\t", "  "]),
    ) {
        let typed = format!("{pad}{n}{pad}");
        let e = parse_duration(&typed).unwrap_err();
        prop_assert!(e.contains("unit"), "{e}");
        prop_assert!(parse_timeout(&typed).is_err());
    }

    #[test]
    fn a_number_with_a_unit_is_that_many_units(n in 0u64..=1_000_000, (u, len) in unit()) {
        let want = len * u32::try_from(n).unwrap();
        prop_assert_eq!(parse_duration(&format!("{n}{u}")), Ok(want));
        prop_assert_eq!(parse_duration(&format!(" {n}{u}\t")), Ok(want));
    }

    #[test]
    fn a_formatted_duration_parses_back(d in duration()) {
        let text = humantime::format_duration(d).to_string();
        prop_assert_eq!(parse_duration(&text), Ok(d), "{}", text);
        let compact = text.replace(' ', "");
        prop_assert_eq!(parse_duration(&compact), Ok(d), "{}", compact);
    }

    #[test]
    fn timeouts_are_above_zero_and_at_most_a_week(d in duration()) {
        let text = humantime::format_duration(d).to_string();
        let got = parse_timeout(&text);
        if d.is_zero() || d > MAX_TIMEOUT {
            prop_assert!(got.is_err(), "{text} accepted as {got:?}");
        } else {
            prop_assert_eq!(got, Ok(d));
        }
    }

    #[test]
    fn huge_durations_are_refused_not_wrapped(digits in "[1-9][0-9]{20,60}", (u, _) in unit()) {
        let typed = format!("{digits}{u}");
        prop_assert!(parse_duration(&typed).is_err(), "{typed}");
        prop_assert!(parse_timeout(&typed).is_err(), "{typed}");
    }
}

// ------------------------------------------------------------- percentages

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn percentages_never_panic_and_are_0_to_100(s in any_text()) {
        if let Ok(v) = parse_percent(&s) {
            prop_assert!(v.is_finite() && (0.0..=100.0).contains(&v), "{s:?} → {v}");
        }
    }

    #[test]
    fn any_number_is_accepted_exactly_when_within_0_to_100(
        v in any::<f64>(),
        pct in any::<bool>(),
        pad in select(vec!["", " ", "\t"]),
    ) {
        let typed = format!("{pad}{v}{}{pad}", if pct { "%" } else { "" });
        let got = parse_percent(&typed);
        if (0.0..=100.0).contains(&v) {
            prop_assert_eq!(got, Ok(v), "{}", typed);
        } else {
            // Outside 0–100, NaN and ±inf are all refused.
            prop_assert!(got.is_err(), "{typed:?} accepted as {got:?}");
        }
    }

    #[test]
    fn two_decimal_percentages_parse_exactly(hundredths in 0u32..=10_000, pct in any::<bool>()) {
        let typed = format!(
            "{}.{:02}{}",
            hundredths / 100,
            hundredths % 100,
            if pct { "%" } else { "" }
        );
        prop_assert_eq!(parse_percent(&typed), Ok(f64::from(hundredths) / 100.0));
    }

    #[test]
    fn non_numbers_are_never_percentages(
        word in select(vec![
            "NaN", "nan", "-NaN", "inf", "-inf", "+inf", "infinity", "Infinity", "%", "", " ",
            "25%%", "%25", "0x10", "1e400", "--5", "5 5", "½",
        ]),
        pct in any::<bool>(),
    ) {
        let typed = format!("{word}{}", if pct { "%" } else { "" });
        prop_assert!(parse_percent(&typed).is_err(), "{typed:?}");
    }
}

// ------------------------------------------------------------------- sizes

fn size_unit() -> impl Strategy<Value = (&'static str, u64)> {
    select(vec![
        ("", 1),
        ("b", 1),
        ("B", 1),
        ("k", 1000),
        ("KB", 1000),
        ("kb", 1000),
        ("M", 1_000_000),
        ("MB", 1_000_000),
        ("G", 1_000_000_000),
        ("GB", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("Ki", 1024),
        ("KiB", 1024),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
        ("TiB", 1 << 40),
    ])
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn sizes_never_panic(s in any_text()) {
        let _ = parse_size(&s);
    }

    #[test]
    fn whole_sizes_parse_exactly(n in 0u64..(1 << 30), (u, mult) in size_unit(), space in any::<bool>()) {
        // Exact in a double (the parser's arithmetic).
        prop_assume!(n.checked_mul(mult).is_some_and(|v| v < 1 << 53));
        let typed = format!("{n}{}{u}", if space && !u.is_empty() { " " } else { "" });
        prop_assert_eq!(parse_size(&typed), Ok(n * mult), "{}", typed);
    }

    #[test]
    fn byte_counts_below_2_pow_53_parse_exactly(n in 0u64..(1 << 53)) {
        prop_assert_eq!(parse_size(&n.to_string()), Ok(n));
    }

    #[test]
    fn unknown_size_units_and_signs_are_refused(
        n in "[0-9]{1,6}",
        bad in select(vec!["parsecs", "kk", "iB", "mbit", "%", "e3", "Kb/s", "-", "x"]),
        neg in any::<bool>(),
    ) {
        let typed = format!("{n}{bad}");
        prop_assert!(parse_size(&typed).is_err(), "{}", typed);
        if neg {
            let typed = format!("-{n}");
            prop_assert!(parse_size(&typed).is_err(), "{}", typed);
        }
    }
}

// ---------------------------------------------------------------- instants

fn rfc3339_secs(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn instants_never_panic_and_stay_in_range(s in any_text()) {
        if let Ok(t) = parse_instant(&s) {
            prop_assert!(t >= UNIX_EPOCH);
            prop_assert!(t <= UNIX_EPOCH + Duration::from_secs(LAST_INSTANT_SECS), "{s:?}");
        }
    }

    #[test]
    fn instants_that_look_like_times_never_panic(
        y in 0u32..=10_999, mo in 0u32..=13, d in 0u32..=32,
        h in 0u32..=25, mi in 0u32..=61, se in 0u32..=61,
        frac in "(\\.[0-9]{0,12})?",
        zone in prop_oneof![
            select(vec!["", "Z", "z"]).prop_map(str::to_string),
            ("[+-]", 0u32..=99, 0u32..=99).prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
            "[+-][0-9:é]{5}",
        ],
        sep in select(vec!["T", " ", "t"]),
    ) {
        let typed = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{se:02}{frac}{zone}");
        if let Ok(t) = parse_instant(&typed) {
            prop_assert!(t <= UNIX_EPOCH + Duration::from_secs(LAST_INSTANT_SECS), "{typed}");
        }
    }

    #[test]
    fn unix_seconds_parse_exactly(secs in 0u64..=LAST_INSTANT_SECS) {
        prop_assert_eq!(parse_instant(&secs.to_string()), Ok(UNIX_EPOCH + Duration::from_secs(secs)));
    }

    #[test]
    fn unix_seconds_out_of_range_are_refused(
        secs in prop_oneof![
            (LAST_INSTANT_SECS + 1..=u64::MAX).prop_map(|s| s.to_string()),
            (1u64..=u64::MAX).prop_map(|s| format!("-{s}")),
            "[1-9][0-9]{12,80}(\\.[0-9]{1,4})?",
            select(vec!["NaN", "inf", "-inf", "1e20", "-0.5", "+inf"]).prop_map(str::to_string),
        ],
    ) {
        prop_assume!(match secs.parse::<f64>() {
            Ok(v) => !(0.0..=LAST_INSTANT_SECS as f64).contains(&v),
            Err(_) => true,
        });
        prop_assert!(parse_instant(&secs).is_err(), "{secs}");
    }

    #[test]
    fn rfc3339_utc_parses_back(secs in 0u64..=LAST_INSTANT_SECS, nanos in 0u32..1_000_000_000) {
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        prop_assert_eq!(parse_instant(&rfc3339_secs(t)), Ok(t));
        let tn = t + Duration::from_nanos(u64::from(nanos));
        prop_assume!(tn <= UNIX_EPOCH + Duration::from_secs(LAST_INSTANT_SECS));
        let text = humantime::format_rfc3339_nanos(tn).to_string();
        prop_assert_eq!(parse_instant(&text), Ok(tn), "{}", text);
    }

    #[test]
    fn numeric_offsets_are_applied(
        secs in 0u64..=LAST_INSTANT_SECS,
        east in any::<bool>(),
        oh in 0u64..=23,
        om in 0u64..=59,
    ) {
        let off = oh * 3600 + om * 60;
        let utc = UNIX_EPOCH + Duration::from_secs(secs);
        // The wall-clock time at that offset, written without its `Z`.
        let local = if east { secs.checked_add(off) } else { secs.checked_sub(off) };
        let Some(local) = local.filter(|l| *l <= LAST_INSTANT_SECS) else {
            return Ok(());
        };
        let wall = rfc3339_secs(UNIX_EPOCH + Duration::from_secs(local));
        let typed = format!(
            "{}{}{oh:02}:{om:02}",
            wall.trim_end_matches('Z'),
            if east { '+' } else { '-' }
        );
        prop_assert_eq!(parse_instant(&typed), Ok(utc), "{}", typed);
    }
}

// ----------------------------------------------------------------- URL port

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9][a-z0-9.-]{0,15}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        select(vec!["[::1]", "[2001:db8::53]", "[fe80::1]", "[::]"]).prop_map(str::to_string),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "/[a-z0-9._/-]{0,16}",
        "/[a-z0-9/]{0,8}\\?[a-z]{1,5}=[a-z0-9:]{0,5}",
        "#[a-z:0-9]{0,6}",
    ]
}

/// A port as typed: absent, empty, a number of any size, or not a number.
fn port_text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(String::new())),
        (0u64..=70_000).prop_map(|p| Some(p.to_string())),
        any::<u64>().prop_map(|p| Some(p.to_string())),
        "[0-9a-z-]{1,6}".prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn url_ports_never_panic(s in any_text()) {
        if let Err(e) = check_url_port(&s) {
            prop_assert!(e.contains("port"), "{e}");
        }
    }

    #[test]
    fn a_url_port_passes_exactly_when_absent_or_1_to_65535(
        scheme in "[a-z][a-z0-9+]{0,7}",
        user in prop::option::of(("[a-z0-9._-]{0,8}", prop::option::of(secret()))),
        host in host(),
        port in port_text(),
        path in path(),
    ) {
        let userinfo = match &user {
            None => String::new(),
            Some((u, None)) => format!("{u}@"),
            Some((u, Some(p))) => format!("{u}:{p}@"),
        };
        let port_part = port.as_ref().map(|p| format!(":{p}")).unwrap_or_default();
        let url = format!("{scheme}://{userinfo}{host}{port_part}{path}");
        let want_ok = match port.as_deref() {
            None | Some("") => true,
            // Digits only: `+80` is not a port.
            Some(p) => {
                p.bytes().all(|b| b.is_ascii_digit())
                    && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
            }
        };
        let got = check_url_port(&url);
        prop_assert_eq!(got.is_ok(), want_ok, "{} → {:?}", url, got);
        if let (Err(e), Some((_, Some(pw)))) = (&got, &user) {
            // The error names the URL as it may be shown.
            assert_hidden(e, pw)?;
            prop_assert!(e.contains(&host), "{e}");
        }
    }
}

// ------------------------------------------------------------ redact::url

/// A query parameter: `(name, value, sensitive)`.
fn query_param() -> impl Strategy<Value = (String, String, bool)> {
    prop_oneof![
        (
            select(vec![
                "token",
                "api_key",
                "apikey",
                "access_token",
                "secret",
                "password",
                "signature",
                "X-Amz-Signature",
                "session",
                "auth_token",
                "PASSWD",
                "key",
            ]),
            query_secret(),
        )
            .prop_map(|(k, v)| (k.to_string(), v, redact::is_sensitive_name(k))),
        ("[a-z]{1,8}", "[a-z0-9.]{0,8}").prop_map(|(k, v)| {
            let s = redact::is_sensitive_name(&k);
            (k, v, s)
        }),
    ]
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn url_redaction_never_panics(s in any_text()) {
        let shown = redact::url(&s);
        // Without an authority or a query there is nothing to mask.
        if !s.contains("://") && !s.contains('?') {
            prop_assert_eq!(shown, s);
        }
    }

    #[test]
    fn a_url_password_is_masked_and_nothing_else(
        scheme in select(vec!["http", "https", "postgres", "postgresql", "redis", "rediss", "amqp"]),
        user in "[a-z0-9._-]{0,8}",
        pw in secret(),
        host in host(),
        port in prop::option::of(1u16..=65535),
        path in "(/[a-z0-9._-]{0,10}){0,3}",
        params in vec(query_param(), 0..4),
        frag in "(#[a-z0-9=&]{0,8})?",
        (pre, post) in around(),
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let query = |mask: bool| {
            if params.is_empty() {
                return String::new();
            }
            let kv: Vec<String> = params
                .iter()
                .map(|(k, v, s)| {
                    let v = if mask && *s && !v.is_empty() { MASK } else { v.as_str() };
                    format!("{k}={v}")
                })
                .collect();
            format!("?{}", kv.join("&"))
        };
        let url = format!("{scheme}://{user}:{pw}@{host}{port}{path}{}{frag}", query(false));
        let shown = redact::url(&url);
        let want = format!("{scheme}://{user}:{MASK}@{host}{port}{path}{}{frag}", query(true));
        prop_assert_eq!(&shown, &want);
        assert_hidden(&shown, &pw)?;
        assert_hidden(&redact::scrub(&format!("{pre}{pw}{post}")), &pw)?;
        for (_, v, s) in &params {
            // The secrets (upper-case) of sensitive parameters; a random
            // lower-case name that happens to be sensitive may hold anything.
            if *s && v.starts_with(|c: char| c.is_ascii_uppercase()) {
                assert_hidden(&shown, v)?;
                assert_hidden(&redact::scrub(&format!("{pre}{v}{post}")), v)?;
            }
        }
        // The DSN form of the same URL is masked the same way.
        prop_assert_eq!(redact::dsn(&url), want);
    }

    #[test]
    fn a_password_that_spells_the_host_leaves_the_host_alone(
        word in "[a-z0-9]{1,8}",
        tld in select(vec!["", ".example", ".internal"]),
        port in 1u16..=65535,
    ) {
        // The password is the host's name, its port and its path too.
        let url = format!("http://{word}:{word}@{word}{tld}:{port}/{word}?q={word}");
        prop_assert_eq!(
            redact::url(&url),
            format!("http://{word}:{MASK}@{word}{tld}:{port}/{word}?q={word}")
        );
        let url = format!("postgres://u:{port}@{word}:{port}/{word}");
        prop_assert_eq!(redact::dsn(&url), format!("postgres://u:{MASK}@{word}:{port}/{word}"));
    }

    #[test]
    fn urls_without_a_password_are_shown_as_given(
        scheme in "[a-z]{1,8}",
        user in prop::option::of("[a-z0-9._-]{0,8}"),
        host in host(),
        port in prop::option::of(1u16..=65535),
        path in "(/[a-z0-9._:@-]{0,10}){0,3}",
        params in vec(("[a-z]{1,8}", "[a-z0-9.:@]{0,8}"), 0..4),
    ) {
        let user = user.map(|u| format!("{u}@")).unwrap_or_default();
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let params: Vec<String> = params
            .into_iter()
            .filter(|(k, _)| !redact::is_sensitive_name(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let query = if params.is_empty() { String::new() } else { format!("?{}", params.join("&")) };
        let url = format!("{scheme}://{user}{host}{port}{path}{query}");
        prop_assert_eq!(redact::url(&url), url);
    }
}

// ------------------------------------------------------------ redact::dsn

/// One `key=value` pair of a key/value DSN: `(as written, as shown,
/// secret)`.
fn dsn_pair() -> impl Strategy<Value = (String, String, Option<String>)> {
    let plain_key = select(vec![
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "sslmode",
        "application_name",
        "connect_timeout",
        "options",
        "sslrootcert",
        "passfile",
    ]);
    let secret_key = select(vec!["password", "PASSWORD", "sslpassword"]);
    prop_oneof![
        (plain_key.clone(), "[a-z0-9._/:@-]{1,12}").prop_map(|(k, v)| (
            format!("{k}={v}"),
            format!("{k}={v}"),
            None
        )),
        (plain_key, "[a-z0-9 ._/:=@-]{0,12}").prop_map(|(k, v)| (
            format!("{k}='{v}'"),
            format!("{k}='{v}'"),
            None
        )),
        (secret_key.clone(), secret()).prop_map(|(k, v)| (
            format!("{k}={v}"),
            format!("{k}={MASK}"),
            Some(v)
        )),
        // Quoted, with spaces, quotes and backslashes escaped.
        (secret_key, "[A-Z][A-Z0-9 '\\\\!=@]{2,14}").prop_map(|(k, v)| {
            let written = format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
            (written, format!("{k}='{MASK}'"), Some(v))
        }),
    ]
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn dsn_redaction_never_panics(s in any_text()) {
        let _ = redact::dsn(&s);
    }

    #[test]
    fn a_keyvalue_dsn_password_is_masked_and_nothing_else(
        pairs in vec(dsn_pair(), 1..8),
        sep in select(vec![" ", "  ", "\t", " \n "]),
        (pre, post) in around(),
    ) {
        let written: Vec<&str> = pairs.iter().map(|(w, _, _)| w.as_str()).collect();
        let shown_want: Vec<&str> = pairs.iter().map(|(_, s, _)| s.as_str()).collect();
        let dsn = written.join(sep);
        // A `://` anywhere makes it a URL (see the #[test] below).
        prop_assume!(!dsn.contains("://"));
        let shown = redact::dsn(&dsn);
        prop_assert_eq!(&shown, &shown_want.join(sep));
        for secret in pairs.iter().filter_map(|(_, _, s)| s.as_ref()) {
            assert_hidden(&shown, secret)?;
            assert_hidden(&redact::scrub(&format!("{pre}{secret}{post}")), secret)?;
        }
    }
}

// --------------------------------------------------------- redact::header

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn sensitive_header_values_are_masked_and_registered(
        name in select(vec![
            "Authorization", "authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
            "X-API-Key", "x-api-key", "X-Auth-Token", "X-Vault-Token", "Private-Token",
            "X-Client-Secret", "X-Session-Id", "X-Signature",
        ]),
        scheme in select(vec!["", "Bearer ", "Basic ", "Token "]),
        value in secret(),
        (pre, post) in around(),
    ) {
        prop_assert_eq!(redact::header(name, &format!("{scheme}{value}")), MASK);
        assert_hidden(&redact::scrub(&format!("{pre}{value}{post}")), &value)?;
    }

    #[test]
    fn other_header_values_are_shown_as_given(
        name in "[A-Za-z][A-Za-z-]{0,20}",
        value in "\\PC{0,20}",
    ) {
        prop_assume!(!redact::is_sensitive_name(&name));
        prop_assert_eq!(redact::header(&name, &value), value);
    }
}

// --------------------------------------------------- redact::command_line

fn to_strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

/// A word that carries no secret: a plain word, a non-secret flag, a
/// `host:port` (even named like a secret store) or a plain URL.
fn plain_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9./_,+][a-z0-9./_,+-]{0,11}",
        select(vec![
            "-v",
            "--verbose",
            "-X",
            "POST",
            "--host",
            "--port",
            "-c",
            "--format"
        ])
        .prop_map(str::to_string),
        (
            prop_oneof![
                select(vec![
                    "keydb",
                    "keyvault",
                    "secrets-db",
                    "tokenizer",
                    "session-store"
                ])
                .prop_map(str::to_string),
                "[a-z][a-z0-9-]{0,8}",
            ],
            1u16..=65535,
        )
            .prop_map(|(h, p)| format!("{h}:{p}")),
        ("[a-z]{1,8}", host(), "(/[a-z0-9]{0,6}){0,2}")
            .prop_map(|(s, h, p)| format!("{s}://{h}{p}")),
    ]
}

/// Secrets at the positions `command_line` knows: the words to splice in
/// and the secret they carry.
fn secret_words() -> impl Strategy<Value = (Vec<String>, String)> {
    let flag = select(vec![
        "--token",
        "-token",
        "--password",
        "--api-key",
        "--secret",
        "--client-secret",
        "--auth-token",
        "-PASSWORD",
        "--passwd",
        "--session",
        "--private-key",
    ]);
    let name = select(vec![
        "password",
        "token",
        "api_key",
        "PGPASSWORD",
        "client_secret",
    ]);
    let header = select(vec![
        "Authorization: Bearer ",
        "X-API-Key: ",
        "Cookie: ",
        "X-Auth-Token: ",
    ]);
    prop_oneof![
        (flag.clone(), secret()).prop_map(|(f, s)| (vec![f.to_string(), s.clone()], s)),
        (flag, secret()).prop_map(|(f, s)| (vec![format!("{f}={s}")], s)),
        (name, secret()).prop_map(|(n, s)| (vec![format!("{n}={s}")], s)),
        (header, secret()).prop_map(|(h, s)| (vec!["-H".to_string(), format!("{h}{s}")], s)),
        ("[a-z]{0,6}", host(), secret())
            .prop_map(|(u, h, s)| (vec![format!("postgres://{u}:{s}@{h}/db")], s)),
        (host(), query_secret()).prop_map(|(h, s)| (vec![format!("https://{h}/x?token={s}")], s)),
        // The same inside a `sh -c` script.
        (flag_in_script(), secret()).prop_map(|(f, s)| (
            vec![
                "sh".into(),
                "-c".into(),
                format!("curl {f} {s} http://h/ && echo done")
            ],
            s
        )),
        secret().prop_map(|s| (
            vec![
                "sh".into(),
                "-c".into(),
                format!("curl -H 'X-API-Key: {s}' http://h/")
            ],
            s
        )),
    ]
}

fn flag_in_script() -> impl Strategy<Value = &'static str> {
    select(vec!["--token", "--password", "--api-key"])
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn command_lines_never_panic(argv in vec(any_text(), 0..6)) {
        let words = redact::command_words(&argv);
        prop_assert_eq!(words.len(), argv.len());
        let _ = redact::command_line(&argv);
        let _ = redact::carries_secret(&argv.join(" "));
    }

    #[test]
    fn secrets_in_a_command_line_never_survive(
        before in vec(plain_word(), 0..4),
        (secret_part, secret) in secret_words(),
        after in vec(plain_word(), 0..4),
        (pre, post) in around(),
    ) {
        let mut argv = before.clone();
        argv.extend(secret_part);
        argv.extend(after.clone());
        let shown = redact::command_line(&argv);
        assert_hidden(&shown, &secret)?;
        for w in redact::command_words(&argv) {
            assert_hidden(&w, &secret)?;
        }
        assert_hidden(&redact::scrub(&format!("{pre}{secret}{post}")), &secret)?;
        // The words around the secret are shown as they are.
        let words = redact::command_words(&argv);
        prop_assert_eq!(&words[..before.len()], &before[..]);
        prop_assert_eq!(&words[words.len() - after.len()..], &after[..]);
    }

    #[test]
    fn words_without_secrets_are_never_masked(argv in vec(plain_word(), 0..8)) {
        prop_assert_eq!(redact::command_words(&argv), argv.clone());
        // Quoted as a shell needs, and nothing else.
        prop_assert_eq!(shell_words::split(&redact::command_line(&argv)).unwrap(), argv.clone());
        for w in &argv {
            prop_assert!(!redact::carries_secret(w), "{w}");
        }
    }

    #[test]
    fn a_shown_command_line_splits_back_into_its_shown_words(argv in vec(any_text(), 0..6)) {
        let shown = redact::command_line(&argv);
        let words = redact::command_words(&argv);
        prop_assert_eq!(shell_words::split(&shown).ok(), Some(words));
    }
}

// ------------------------------------------------------------ redact::scrub

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn a_registered_secret_never_survives_scrub(
        s in "[^*]{3,20}",
        (pre, post) in around(),
    ) {
        prop_assume!(!s.trim().is_empty());
        redact::register(&s);
        assert_hidden(&redact::scrub(&format!("{pre}{s}{post}")), &s)?;
        // Its JSON and percent-encoded spellings too.
        let json = serde_json::to_string(&format!("{pre}{s}{post}")).unwrap();
        let json_s = serde_json::to_string(&s).unwrap();
        assert_hidden(&redact::scrub(&json), json_s.trim_matches('"'))?;
        let pct: String = s
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert_hidden(&redact::scrub(&format!("{pre}{pct}{post}")), &pct)?;
    }

    #[test]
    fn secrets_shorter_than_3_chars_are_only_masked_structurally(s in "[^*]{1,2}") {
        redact::register(&s);
        prop_assert_eq!(redact::scrub(&s), s);
    }
}

// ------------------------------------------------------- config ${VAR}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Conf {
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "golive_core::units::de_opt_duration")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "golive_core::units::de_opt_percent")]
    share: Option<f64>,
    #[serde(default, deserialize_with = "golive_core::units::de_opt_size")]
    min_size: Option<u64>,
    password: Option<String>,
    #[serde(default)]
    list: Vec<String>,
}

/// Set a variable only this test file reads.
fn set_env(name: &str, value: &str) {
    // SAFETY: each variable is set and read by one test only; nextest runs
    // every test in its own process, and std serialises its own env access.
    unsafe { std::env::set_var(name, value) };
}

/// A TOML document built from the keys `Conf` knows and some it does not.
fn toml_doc() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        any_text().prop_map(|s| toml_str(&s)),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        select(vec![
            "nan",
            "inf",
            "-inf",
            "true",
            "[]",
            "{}",
            "\"${GOLIVE_PROPS_UNSET_X}\"",
            "'${'"
        ])
        .prop_map(str::to_string),
        (duration(), any::<bool>()).prop_map(|(d, u)| {
            if u {
                toml_str(&humantime::format_duration(d).to_string())
            } else {
                d.as_secs().to_string()
            }
        }),
    ];
    let key = prop_oneof![
        select(vec![
            "url",
            "timeout",
            "share",
            "min_size",
            "password",
            "list",
            "headers",
            "headers.X-API-Key"
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,10}",
    ];
    vec(
        prop_oneof![
            4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            1 => select(vec!["[headers]", "[[list]]", "# c", "", "url =", "= 1", "[", "\"\"\"x"]).prop_map(str::to_string),
            1 => any_text(),
        ],
        0..6,
    )
    .prop_map(|lines| lines.join("\n"))
}

fn parse_conf(text: &str) -> Result<Conf, golive_core::Error> {
    config::parse::<Conf>("c.toml", text)
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn config_text_never_panics_and_errors_are_usage(text in prop_oneof![any_text(), toml_doc()]) {
        if let Err(e) = parse_conf(&text) {
            prop_assert_eq!(e.exit_code(), 64);
            let msg = e.to_string();
            prop_assert!(msg.starts_with("c.toml"), "{msg}");
        }
    }

    #[test]
    fn config_errors_are_one_line(text in toml_doc()) {
        if let Err(e) = parse_conf(&text) {
            let msg = e.to_string();
            prop_assert!(!msg.contains('\n'), "{msg:?}");
        }
    }

    #[test]
    fn text_without_a_placeholder_is_left_alone(s in any_text()) {
        prop_assume!(!s.contains("${"));
        prop_assert_eq!(config::expand(&s), Ok(s));
    }

    #[test]
    fn a_set_variable_expands_to_its_value_verbatim(
        value in "[^\0]{0,24}",
        pre in "[^$]{0,12}",
        post in "[^$]{0,12}",
    ) {
        set_env("GOLIVE_PROPS_VALUE", &value);
        prop_assert_eq!(config::expand(&format!("{pre}${{GOLIVE_PROPS_VALUE}}{post}")), Ok(format!("{pre}{value}{post}")));
        // A value holding `${…}` is not expanded again.
        let text = format!("url = {}\n", toml_str(&format!("{pre}${{GOLIVE_PROPS_VALUE}}{post}")));
        let c = parse_conf(&text).unwrap();
        prop_assert_eq!(c.url, format!("{pre}{value}{post}"));
    }

    #[test]
    fn defaults_literals_and_unset_variables(
        default in "[^}\0]{0,12}",
        var in "GOLIVE_PROPS_UNSET_[A-Z0-9_]{1,12}",
        pre in "[^$]{0,8}",
        comments in 0usize..5,
    ) {
        prop_assert_eq!(config::expand(&format!("{pre}${{{var}:-{default}}}")), Ok(format!("{pre}{default}")));
        prop_assert_eq!(config::expand(&format!("{pre}$${{{var}}}")), Ok(format!("{pre}${{{var}}}")));
        prop_assert_eq!(config::expand(&format!("{pre}${{{var}}}")), Err(var.clone()));
        // In a file: exit 64 naming the file, the line, the key and the variable.
        let text = format!("{}url = {}\n", "# note\n".repeat(comments), toml_str(&format!("{pre}${{{var}}}")));
        let e = parse_conf(&text).unwrap_err();
        let msg = e.to_string();
        prop_assert_eq!(e.exit_code(), 64);
        let line_prefix = format!("c.toml:{}:", comments + 1);
        prop_assert!(msg.starts_with(&line_prefix), "{}", msg);
        prop_assert!(msg.contains(&var) && msg.contains("`url`"), "{}", msg);
    }

    #[test]
    fn secret_named_variables_and_fields_are_registered(
        token in secret(),
        plain in secret(),
        (pre, post) in around(),
    ) {
        set_env("GOLIVE_PROPS_API_TOKEN", &token);
        set_env("GOLIVE_PROPS_PLAIN", &plain);
        let c = parse_conf(
            "url = \"http://h/?t=${GOLIVE_PROPS_API_TOKEN}\"\npassword = \"${GOLIVE_PROPS_PLAIN}\"\n",
        )
        .unwrap();
        prop_assert_eq!(c.password.as_deref(), Some(plain.as_str()));
        assert_hidden(&redact::scrub(&format!("{pre}{token}{post}")), &token)?;
        assert_hidden(&redact::scrub(&format!("{pre}{plain}{post}")), &plain)?;
    }

    #[test]
    fn an_invalid_expanded_secret_is_scrubbed_from_the_error(token in secret()) {
        set_env("GOLIVE_PROPS_BAD_TOKEN", &token);
        // Not a duration: the error repeats the value, which must not show.
        let e = parse_conf("url = \"x\"\ntimeout = \"${GOLIVE_PROPS_BAD_TOKEN}\"\n").unwrap_err();
        prop_assert_eq!(e.exit_code(), 64);
        assert_hidden(&redact::scrub(&e.to_string()), &token)?;
    }

    #[test]
    fn unknown_keys_are_refused_naming_them(key in "[a-z][a-z_]{0,11}", line in 1usize..5) {
        prop_assume!(!["url", "headers", "timeout", "share", "min_size", "password", "list"].contains(&key.as_str()));
        let text = format!("url = \"x\"\n{}{key} = 1\n", "\n".repeat(line - 1));
        let e = parse_conf(&text).unwrap_err();
        let msg = e.to_string();
        prop_assert!(msg.starts_with(&format!("c.toml:{}:", line + 1)), "{msg}");
        prop_assert!(msg.contains(&key), "{msg}");
    }

    #[test]
    fn config_values_go_through_the_unit_parsers(
        d in duration(),
        pct in any::<f64>(),
        as_string in any::<bool>(),
    ) {
        let t = humantime::format_duration(d).to_string();
        let share = if as_string { toml_str(&format!("{pct}%")) } else { format!("{pct:?}") };
        let text = format!("url = \"x\"\ntimeout = {}\nshare = {share}\n", toml_str(&t));
        let got = parse_conf(&text);
        if (0.0..=100.0).contains(&pct) {
            let c = got.unwrap();
            prop_assert_eq!(c.timeout, Some(d));
            prop_assert_eq!(c.share, Some(pct));
        } else {
            prop_assert!(got.is_err(), "share {share} accepted");
        }
    }
}

// ------------------------------------------ failing cases kept as #[test]

/// `parse_size` computes in f64 and casts: a size beyond u64 must be
/// refused, not silently saturated to 18446744073709551615 bytes.
#[test]
fn a_size_beyond_u64_is_refused_not_saturated() {
    for typed in [
        "20000000000000000000",
        "10000000000000000000k",
        "1e30",
        "99999999999TiB",
    ] {
        let got = parse_size(typed);
        assert!(got.is_err(), "{typed} accepted as {got:?}");
    }
}

/// A port "must be a number from 1 to 65535": `+1` is not one as typed
/// (`u32::from_str` takes a leading `+`).
#[test]
fn a_url_port_with_a_sign_is_refused() {
    for url in [
        "http://h:+1/",
        "redis://cache:+6379",
        "http://u:pw@[::1]:+443/",
    ] {
        assert!(check_url_port(url).is_err(), "{url}");
    }
}

/// `target_session_attrs` (libpq: `read-write`, `any`, …) holds no secret,
/// but its name contains "session", so its value is masked.
#[test]
fn a_dsn_target_session_attrs_is_not_masked() {
    let dsn = "host=db target_session_attrs=read-write dbname=app";
    assert_eq!(redact::dsn(dsn), dsn);
    let url = "postgres://u@db1,db2/app?target_session_attrs=read-write";
    assert_eq!(redact::dsn(url), url);
}

/// `-0` as unix seconds is the epoch (or refused), never a panic in
/// `Duration::from_secs_f64`.
#[test]
fn negative_zero_unix_seconds_do_not_panic() {
    for typed in ["-0", "-0.0", "-0e0"] {
        if let Ok(t) = parse_instant(typed) {
            assert_eq!(t, UNIX_EPOCH, "{typed}");
        }
    }
}

/// A key/value DSN is read as a URL when `://` appears anywhere in it,
/// so a value holding a URL leaves the password unmasked.
#[test]
fn a_keyvalue_dsn_with_a_url_value_still_masks_the_password() {
    let dsn = "host=db password=kv-Secret-7 application_name=https://ci.example/job/42";
    let shown = redact::dsn(dsn);
    assert!(!shown.contains("kv-Secret-7"), "{shown}");
    assert_eq!(
        shown,
        "host=db password=*** application_name=https://ci.example/job/42"
    );
}

/// `keydb:6379/0` and `keyvault:8443/health` are a host, a port and a
/// path, not a `Name: value` header: nothing in them is a secret.
#[test]
fn a_host_port_path_word_is_never_masked() {
    for w in [
        "keydb:6379/0",
        "keyvault:8443/health",
        "secrets-db:5432/app",
        "session-store:1/",
    ] {
        let argv = vec![w.to_string()];
        assert_eq!(redact::command_words(&argv), argv, "{w}");
    }
}

/// A `sh -c` script that starts with `host:port` is not a header either.
#[test]
fn a_script_starting_with_a_host_port_is_never_masked() {
    let argv = to_strings(&["sh", "-c", "keydb:6379 ping"]);
    assert_eq!(redact::command_words(&argv), argv);
}

/// "Bad input … one line on stderr": an expanded `${VAR}` value that fails
/// its parser is quoted in the error, line breaks and all.
#[test]
fn an_error_about_an_expanded_value_is_one_line() {
    set_env("GOLIVE_PROPS_DUR", "5\nx");
    let e = parse_conf("url = \"x\"\ntimeout = \"${GOLIVE_PROPS_DUR}\"\n").unwrap_err();
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "{msg:?}");
}
