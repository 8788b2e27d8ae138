//! Which servers to ask: `--server ADDR[:PORT]`, a `--servers-file` CSV
//! (`name,address`), or the defaults — the system resolver(s) from
//! /etc/resolv.conf plus a short built-in list of well-known public
//! resolvers.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use golive_core::Error;

/// One server to query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// How reports name it (the CSV name, the NS name, or the address as typed).
    pub name: String,
    /// Where queries go.
    pub addr: SocketAddr,
}

/// The well-known public resolvers asked when no `--server` is given
/// (documented in docs/dns-watch.md). IPv4 only: a host without IPv6 would
/// otherwise never reach a 100% quorum.
pub const PUBLIC_RESOLVERS: &[(&str, &str)] = &[
    ("google", "8.8.8.8"),
    ("google-2", "8.8.4.4"),
    ("cloudflare", "1.1.1.1"),
    ("cloudflare-2", "1.0.0.1"),
    ("quad9", "9.9.9.9"),
    ("opendns", "208.67.222.222"),
];

/// The file the system resolver list is read from.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Parse `ADDR[:PORT]`: `192.0.2.1`, `192.0.2.1:5353`, `2001:db8::1`,
/// `[2001:db8::1]:5353`. The port defaults to 53.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let t = s.trim();
    if let Ok(sa) = t.parse::<SocketAddr>() {
        if sa.port() == 0 {
            return Err(format!("server '{t}': port 0 cannot be asked"));
        }
        return Ok(sa);
    }
    let bare = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "server '{t}' is not an IP address with an optional port (ADDR[:PORT], e.g. 192.0.2.53 or 192.0.2.53:5353 or [2001:db8::53]:53)"
    ))
}

/// Servers from `--server` values, named by the address as typed.
pub fn from_flags(values: &[String]) -> Result<Vec<Server>, Error> {
    values
        .iter()
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            let addr = parse_addr(v).map_err(Error::usage)?;
            Ok(Server {
                name: v.trim().to_string(),
                addr,
            })
        })
        .collect()
}

/// Read a servers file: CSV `name,address` per line; an optional
/// `name,address` header, blank lines and `#` comments are skipped. Any other
/// malformed line is a usage error naming the file and line.
pub fn from_file(path: &Path) -> Result<Vec<Server>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        path: path.display().to_string(),
        line: None,
        column: None,
        message: format!("cannot read servers file: {e}"),
    })?;
    parse_csv(&path.display().to_string(), &text)
}

/// Parse servers-file text (see [`from_file`]); `file` names it in errors.
///
/// Read with the csv crate: a field in double quotes may hold commas, `""`
/// inside it is one quote, blanks around fields are dropped, and a UTF-8
/// BOM is skipped.
pub fn parse_csv(file: &str, text: &str) -> Result<Vec<Server>, Error> {
    let mut out = Vec::new();
    let bad = |line: u64, message: String| Error::Config {
        path: file.to_string(),
        line: Some(line as usize),
        column: None,
        message,
    };
    // Fields are trimmed here, not by the reader, so a quote left open
    // still shows as the line break it swallowed.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(1);
            bad(line, format!("cannot read the line: {e}"))
        })?;
        let (n, at) = record
            .position()
            .map_or((1, 0), |p| record_start(text, p.byte() as usize, p.line()));
        let raw: Vec<&str> = record.iter().collect();
        let fields: Vec<&str> = raw.iter().map(|f| f.trim()).collect();
        let shown = fields.join(",");
        // A line of blanks, or a comment after leading blanks: the reader
        // skips a `#` at the very start of a line; an unquoted `#` after
        // blanks starts a comment too (a quoted "  #ops" is a name).
        let indented_comment = text
            .get(at..)
            .is_some_and(|t| t.trim_start_matches([' ', '\t']).starts_with('#'));
        if indented_comment || fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        if raw.iter().any(|f| f.contains(['\n', '\r'])) {
            return Err(bad(
                n,
                format!("unclosed quote in {:?}", shown.lines().next().unwrap_or("")),
            ));
        }
        if fields.len() != 2 {
            return Err(bad(
                n,
                format!(
                    "expected `name,address`, found {} field(s) in {shown:?}",
                    fields.len()
                ),
            ));
        }
        let (name, address) = (fields[0], fields[1]);
        if out.is_empty()
            && name.eq_ignore_ascii_case("name")
            && address.eq_ignore_ascii_case("address")
        {
            continue;
        }
        if name.is_empty() {
            return Err(bad(n, format!("empty server name in {shown:?}")));
        }
        let addr = parse_addr(address).map_err(|e| bad(n, e))?;
        out.push(Server {
            name: name.to_string(),
            addr,
        });
    }
    if out.is_empty() {
        return Err(Error::Config {
            path: file.to_string(),
            line: None,
            column: None,
            message: "no servers in the file (want `name,address` lines)".into(),
        });
    }
    Ok(out)
}

/// Where a record really starts: the csv reader reports the place it began
/// reading, before the empty lines and `#` comment lines it skipped.
/// Returns the 1-based line and the byte offset.
fn record_start(text: &str, mut at: usize, mut line: u64) -> (u64, usize) {
    let bytes = text.as_bytes();
    if at == 0 && text.starts_with('\u{feff}') {
        at = '\u{feff}'.len_utf8();
    }
    loop {
        match bytes.get(at) {
            Some(b'\n') => {
                at += 1;
                line += 1;
            }
            Some(b'\r') if bytes.get(at + 1) == Some(&b'\n') => {
                at += 2;
                line += 1;
            }
            Some(b'\r') => {
                at += 1;
                line += 1;
            }
            Some(b'#') => {
                at = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                line += 1;
            }
            _ => return (line, at),
        }
    }
}

/// The `nameserver` addresses of resolv.conf text, in order.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| {
            let l = l.split(['#', ';']).next().unwrap_or("").trim();
            let mut it = l.split_whitespace();
            (it.next() == Some("nameserver"))
                .then(|| it.next())
                .flatten()
        })
        .filter_map(|a| {
            // A scoped IPv6 address (fe80::1%eth0) cannot be parsed by std; skip it.
            a.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
        })
        .collect()
}

/// The system resolver(s), read from [`RESOLV_CONF`].
pub fn system_resolvers() -> Vec<SocketAddr> {
    std::fs::read_to_string(RESOLV_CONF)
        .map(|t| parse_resolv_conf(&t))
        .unwrap_or_default()
}

/// The default list: each system resolver (named `system`, `system-2`, …)
/// followed by [`PUBLIC_RESOLVERS`], without duplicate addresses.
pub fn defaults(system: &[SocketAddr]) -> Vec<Server> {
    let mut out: Vec<Server> = system
        .iter()
        .enumerate()
        .map(|(i, a)| Server {
            name: if i == 0 {
                "system".into()
            } else {
                format!("system-{}", i + 1)
            },
            addr: *a,
        })
        .collect();
    for (name, ip) in PUBLIC_RESOLVERS {
        let addr = SocketAddr::new(ip.parse().expect("built-in address"), 53);
        if !out.iter().any(|s| s.addr == addr) {
            out.push(Server {
                name: (*name).to_string(),
                addr,
            });
        }
    }
    out
}

/// Drop servers whose address appeared earlier; returns the names dropped.
pub fn dedupe(servers: &mut Vec<Server>) -> Vec<String> {
    let mut seen = Vec::new();
    let mut dropped = Vec::new();
    servers.retain(|s| {
        if seen.contains(&s.addr) {
            dropped.push(s.name.clone());
            false
        } else {
            seen.push(s.addr);
            true
        }
    });
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_and_without_port() {
        assert_eq!(parse_addr("192.0.2.1").unwrap().to_string(), "192.0.2.1:53");
        assert_eq!(
            parse_addr("192.0.2.1:5353").unwrap().to_string(),
            "192.0.2.1:5353"
        );
        assert_eq!(
            parse_addr("2001:db8::1").unwrap().to_string(),
            "[2001:db8::1]:53"
        );
        assert_eq!(
            parse_addr("[2001:db8::1]").unwrap().to_string(),
            "[2001:db8::1]:53"
        );
        assert_eq!(
            parse_addr("[2001:db8::1]:54").unwrap().to_string(),
            "[2001:db8::1]:54"
        );
        assert!(parse_addr("ns1.example.com").is_err());
        assert!(parse_addr("192.0.2.1:99999").is_err());
        assert!(
            parse_addr("192.0.2.1:0").is_err(),
            "nothing can be asked on port 0"
        );
        assert!(parse_addr("[2001:db8::1]:0").is_err());
    }

    #[test]
    fn csv_with_header_comments_and_blank_lines() {
        let s = parse_csv(
            "r.csv",
            "# team resolvers\nname,address\n\noffice, 192.0.2.53\n\"eu-west\",198.51.100.1:5353\n",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "office");
        assert_eq!(s[1].addr.to_string(), "198.51.100.1:5353");

        // A quoted field may hold a comma, and "" stands for one quote.
        let s = parse_csv(
            "r.csv",
            "\"office, berlin\",192.0.2.53\n\"the \"\"vpn\"\"\",\"192.0.2.54\"\n",
        )
        .unwrap();
        assert_eq!(s[0].name, "office, berlin");
        assert_eq!(s[1].name, "the \"vpn\"");
        assert_eq!(s[1].addr.to_string(), "192.0.2.54:53");
        let e = parse_csv("r.csv", "\"open,192.0.2.53\n").unwrap_err();
        assert!(e.to_string().starts_with("r.csv:1:"), "{e}");
        assert!(e.to_string().contains("unclosed quote"), "{e}");
        // A BOM, CRLF line ends and an indented comment are fine too.
        let s = parse_csv(
            "r.csv",
            "\u{feff}name,address\r\n  # lab\r\nlab,192.0.2.9\r\n",
        )
        .unwrap();
        assert_eq!(s[0].name, "lab");
    }

    #[test]
    fn lines_are_counted_past_comments_and_blank_lines() {
        let text = "# team\n\n  # indented\nok,192.0.2.1\n\n# more\r\nbroken 192.0.2.2\n";
        let e = parse_csv("r.csv", text).unwrap_err();
        assert!(e.to_string().starts_with("r.csv:7:"), "{e}");
        let e = parse_csv("r.csv", "\u{feff}# c\n\nok,not-an-ip\n").unwrap_err();
        assert!(e.to_string().starts_with("r.csv:3:"), "{e}");
    }

    #[test]
    fn csv_bad_line_names_file_and_line() {
        let e = parse_csv("r.csv", "name,address\nok,192.0.2.1\nbroken 192.0.2.2\n").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().starts_with("r.csv:3:"), "{e}");
        let e = parse_csv("r.csv", "a,not-an-ip\n").unwrap_err();
        assert!(e.to_string().starts_with("r.csv:1:"), "{e}");
        assert!(parse_csv("r.csv", "# nothing\n").is_err());
    }

    #[test]
    fn resolv_conf_nameservers() {
        let t = "# generated\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1 # v6\noptions edns0\nnameserver fe80::1%eth0\n";
        let r = parse_resolv_conf(t);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].to_string(), "127.0.0.53:53");
        assert_eq!(r[1].to_string(), "[::1]:53");
    }

    #[test]
    fn defaults_are_system_then_public_without_duplicates() {
        let sys = vec![
            "8.8.8.8:53".parse().unwrap(),
            "127.0.0.53:53".parse().unwrap(),
        ];
        let d = defaults(&sys);
        assert_eq!(d[0].name, "system");
        assert_eq!(d[1].name, "system-2");
        assert_eq!(d.len(), 2 + PUBLIC_RESOLVERS.len() - 1);
        assert!(d.iter().any(|s| s.name == "cloudflare"));
    }

    #[test]
    fn the_shipped_example_file_parses() {
        let text = include_str!("../../../examples/dns/resolvers.csv");
        let s = parse_csv("examples/dns/resolvers.csv", text).unwrap();
        assert!(s.len() >= 5);
        assert!(s.iter().any(|x| x.addr.port() == 5353));
    }

    #[test]
    fn dedupe_keeps_first() {
        let mut s = from_flags(&[
            "192.0.2.1".into(),
            "192.0.2.1:53".into(),
            "192.0.2.2".into(),
        ])
        .unwrap();
        assert_eq!(dedupe(&mut s), vec!["192.0.2.1:53".to_string()]);
        assert_eq!(s.len(), 2);
    }
}
