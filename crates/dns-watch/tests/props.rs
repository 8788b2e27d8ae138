//! Property tests for dns-watch's server lists: `--server ADDR[:PORT]`,
//! the `name,address` CSV servers file and resolv.conf. Nothing panics, a
//! server that cannot be asked (no IP, port 0) is refused, a bad line is
//! named by file and line, and what a file says is what is read.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use testkit::props::cfg;

use dns_watch::servers::{from_flags, parse_addr, parse_csv, parse_resolv_conf};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// Any text, including control characters and the pieces addresses and
/// CSV lines are made of.
fn any_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,6}",
        "[0-9a-f]{1,4}",
        select(vec![
            ".",
            ":",
            "::",
            "[",
            "]",
            ",",
            "\"",
            "\"\"",
            "#",
            " ",
            "\t",
            "\n",
            "\r\n",
            "%",
            "\u{feff}",
            "name",
            "address",
            "nameserver ",
            "\0",
            "é",
            "🦀",
            "-",
        ])
        .prop_map(str::to_string),
    ];
    prop_oneof![
        vec(any::<char>(), 0..48).prop_map(|v| v.into_iter().collect()),
        "\\PC{0,48}",
        vec(piece, 0..16).prop_map(|v| v.concat()),
    ]
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        any::<u128>().prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
        select(vec![
            "192.0.2.53",
            "127.0.0.1",
            "::1",
            "2001:db8::53",
            "::ffff:192.0.2.1"
        ])
        .prop_map(|s| s.parse().unwrap()),
    ]
}

fn server_addr() -> impl Strategy<Value = SocketAddr> {
    (ip(), 1u16..=65535).prop_map(|(ip, port)| SocketAddr::new(ip, port))
}

/// An address as a user types it, with the address it means.
fn typed_addr() -> impl Strategy<Value = (String, SocketAddr)> {
    prop_oneof![
        server_addr().prop_map(|a| (a.to_string(), a)),
        ip().prop_map(|ip| (ip.to_string(), SocketAddr::new(ip, 53))),
        any::<u128>().prop_map(|v| {
            let ip = IpAddr::V6(Ipv6Addr::from(v));
            (format!("[{ip}]"), SocketAddr::new(ip, 53))
        }),
    ]
}

/// A server name: anything on one line with something visible in it.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_.-]{1,16}",
        // Something visible; blanks then `#`: see the #[test] below.
        "[^\n\r]{1,16}".prop_filter("visible", |s| {
            let blank_then_hash =
                s.starts_with(char::is_whitespace) && s.trim_start().starts_with('#');
            !s.trim().is_empty() && !blank_then_hash
        }),
        "[a-z]{1,6}, [a-z]{1,6}",
        "the \"[a-z]{1,6}\"",
    ]
}

/// `field` as a CSV field: quoted, with `"` doubled.
fn quoted(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn addresses_never_panic_and_ok_means_askable(s in any_text()) {
        if let Ok(a) = parse_addr(&s) {
            prop_assert_ne!(a.port(), 0, "{:?}", s);
        }
        if let Ok(servers) = from_flags(std::slice::from_ref(&s)) {
            for sv in servers {
                prop_assert_eq!(sv.name.trim(), sv.name.as_str());
                prop_assert_ne!(sv.addr.port(), 0);
            }
        }
    }

    #[test]
    fn addresses_parse_to_what_they_say((typed, want) in typed_addr(), pad in select(vec!["", " ", "\t"])) {
        prop_assert_eq!(parse_addr(&format!("{pad}{typed}{pad}")), Ok(want), "{}", typed);
        let servers = from_flags(&[format!("{pad}{typed}"), String::new()]).unwrap();
        prop_assert_eq!(servers.len(), 1);
        prop_assert_eq!(&servers[0].name, &typed);
        prop_assert_eq!(servers[0].addr, want);
    }

    #[test]
    fn port_0_and_names_are_refused(
        ip in ip(),
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
        port in prop_oneof![Just(0u64), 65_536u64..=u64::MAX],
    ) {
        let bad = SocketAddr::new(ip, 0).to_string();
        prop_assert!(parse_addr(&bad).is_err(), "{}", bad);
        let bad = match ip {
            IpAddr::V4(v4) => format!("{v4}:{port}"),
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        };
        prop_assert!(parse_addr(&bad).is_err(), "{}", bad);
        prop_assert!(parse_addr(&host).is_err(), "{}", host);
        let e = from_flags(&[format!("{host}:53")]).unwrap_err();
        prop_assert_eq!(e.exit_code(), 64);
    }

    #[test]
    fn servers_files_never_panic_and_errors_name_the_file(text in prop_oneof![any_text(), vec(any_text(), 0..6).prop_map(|l| l.join("\n"))]) {
        match parse_csv("r.csv", &text) {
            Ok(servers) => {
                prop_assert!(!servers.is_empty());
                for s in servers {
                    prop_assert!(!s.name.is_empty() && s.name.trim() == s.name, "{:?}", s.name);
                    prop_assert_ne!(s.addr.port(), 0);
                }
            }
            Err(e) => {
                prop_assert_eq!(e.exit_code(), 64);
                let msg = e.to_string();
                prop_assert!(msg.starts_with("r.csv"), "{}", msg);
                prop_assert!(!msg.contains('\n'), "{:?}", msg);
            }
        }
    }

    #[test]
    fn a_servers_file_reads_back_what_it_says(
        servers in vec((name(), typed_addr(), any::<bool>()), 1..8),
        header in any::<bool>(),
        bom in any::<bool>(),
        crlf in any::<bool>(),
        extras in vec(select(vec!["", "# a comment", "   ", "\t# indented comment"]), 0..3),
    ) {
        // A BOM before an indented comment: see the #[test] below.
        prop_assume!(!(bom && !header && extras.first() == Some(&"\t# indented comment")));
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut lines: Vec<String> = Vec::new();
        if header {
            lines.push("name,address".into());
        }
        for (i, (n, (a, _), quote)) in servers.iter().enumerate() {
            if let Some(x) = extras.get(i) {
                lines.push((*x).to_string());
            }
            // Unquoted only where the name needs no quotes.
            let plain = !quote && n.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            let field = if plain { n.clone() } else { quoted(n) };
            lines.push(format!("{field}, {a}"));
        }
        let text = format!("{}{}{nl}", if bom { "\u{feff}" } else { "" }, lines.join(nl));
        let got = parse_csv("r.csv", &text).unwrap();
        prop_assert_eq!(got.len(), servers.len());
        for (g, (n, (_, a), _)) in got.iter().zip(&servers) {
            prop_assert_eq!(&g.name, n.trim());
            prop_assert_eq!(g.addr, *a);
        }
    }

    #[test]
    fn a_bad_line_is_named_by_its_number(
        good in vec((name(), typed_addr()), 0..6),
        at in any::<prop::sample::Index>(),
        bad in prop_oneof![
            "[a-z]{1,8}".prop_map(|n| n.to_string()),
            "[a-z]{1,8},[a-z]{1,8}\\.example",
            "[a-z]{1,8},192\\.0\\.2\\.1,extra",
            "[a-z]{1,8},192\\.0\\.2\\.1:0",
            "[a-z]{1,8},192\\.0\\.2\\.1:99999",
            ",192\\.0\\.2\\.1",
            "\"open,192\\.0\\.2\\.1",
        ],
    ) {
        let mut lines: Vec<String> = good.iter().map(|(n, (a, _))| format!("{},{a}", quoted(n))).collect();
        let i = at.index(lines.len() + 1);
        lines.insert(i, bad.clone());
        let text = lines.join("\n");
        let e = parse_csv("r.csv", &text).unwrap_err();
        prop_assert_eq!(e.exit_code(), 64);
        let msg = e.to_string();
        let want = format!("r.csv:{}:", i + 1);
        prop_assert!(msg.starts_with(&want), "{} (bad line {:?})", msg, bad);
        prop_assert!(!msg.contains('\n'), "{:?}", msg);
    }

    #[test]
    fn a_file_of_nothing_is_refused(lines in vec(select(vec!["", "# c", "name,address", "  ", "\u{feff}"]), 0..5)) {
        prop_assert!(parse_csv("r.csv", &lines.join("\n")).is_err());
    }

    #[test]
    fn resolv_conf_never_panics_and_reads_its_nameservers(
        text in any_text(),
        ips in vec(ip(), 0..5),
        noise in vec(select(vec!["search example.com", "options edns0", "# nameserver 192.0.2.99", "; x", "domain x", "nameserver fe80::1%eth0", "nameserver"]), 0..4),
    ) {
        for a in parse_resolv_conf(&text) {
            prop_assert_eq!(a.port(), 53);
        }
        let mut lines: Vec<String> = noise.iter().map(|s| s.to_string()).collect();
        for (i, ip) in ips.iter().enumerate() {
            lines.insert(i.min(lines.len()), format!("nameserver {ip} # {i}"));
        }
        let got = parse_resolv_conf(&lines.join("\n"));
        let want: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, 53)).collect();
        prop_assert_eq!(got, want);
    }
}

// ------------------------------------------ failing cases kept as #[test]

/// A file saved with a BOM whose first line is an indented comment: the
/// line is trimmed before the BOM is removed, so the comment is read as a
/// one-field server line.
#[test]
fn a_bom_before_an_indented_comment_is_still_a_comment() {
    let got = parse_csv("r.csv", "\u{feff}\t# team resolvers\noffice,192.0.2.53\n");
    let servers = got.unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].name, "office");
}

/// A quoted name is a name, even one that starts with blanks and a `#`:
/// only an unquoted `#` after leading blanks starts a comment.
#[test]
fn a_quoted_name_starting_with_blanks_and_a_hash_is_a_name() {
    let servers = parse_csv("r.csv", "\"  #ops\",192.0.2.53\n").unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].name, "#ops");
}
