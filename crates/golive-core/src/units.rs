//! Values as users type them: durations, percentages, sizes and instants.
//!
//! Each parser returns `Result<_, String>` so it plugs straight into clap's
//! `value_parser` and into serde via the `de_*` helpers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer};

/// A humantime duration: `500ms`, `30s`, `2m`, `1h30m`.
///
/// A bare number is refused with a hint, so `--timeout 5` never silently means
/// five nanoseconds or five hours.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration; use e.g. 500ms, 30s, 2m".into());
    }
    if t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("duration '{t}' needs a unit, e.g. {t}s or {t}ms"));
    }
    humantime::parse_duration(t).map_err(|e| format!("invalid duration '{t}': {e}"))
}

/// The longest `--timeout` any tool takes: beyond a week it is a typo, not a
/// plan (and a deadline that far cannot be sent to a server).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// A `--timeout`: a [`parse_duration`] above zero and at most
/// [`MAX_TIMEOUT`].
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!("timeout '{}' must be above zero", s.trim()));
    }
    if d > MAX_TIMEOUT {
        return Err(format!(
            "timeout '{}' is longer than the 7d any tool waits",
            s.trim()
        ));
    }
    Ok(d)
}

/// Check the port of a URL (`scheme://[user@]host[:port]/…`): when given it
/// must be a number from 1 to 65535. `Err` says what is wrong, naming the
/// URL as it may be shown (password masked).
pub fn check_url_port(url: &str) -> Result<(), String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Ok(());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let port = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split_once(']').and_then(|(_, p)| p.strip_prefix(':'))
    } else {
        hostport.rsplit_once(':').map(|(_, p)| p)
    };
    match port {
        None | Some("") => Ok(()),
        Some(p) => match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) && p.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
            _ => Err(format!(
                "{}: port {p} is not a number from 1 to 65535",
                crate::redact::url(url)
            )),
        },
    }
}

/// A percentage: `25` or `25%` (decimals allowed), between 0 and 100.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let n = t.strip_suffix('%').unwrap_or(t).trim();
    let v: f64 = n
        .parse()
        .map_err(|_| format!("invalid percentage '{t}'; use e.g. 25 or 25%"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("percentage '{t}' is outside 0–100"));
    }
    Ok(v)
}

/// A size in bytes: `512`, `10k`, `10KB`, `1.5MiB`, `2G`.
///
/// Decimal suffixes (`k`, `KB`, `M`, `MB`, …) are powers of 1000; binary ones
/// (`KiB`, `MiB`, …) powers of 1024.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("invalid size '{t}'; use e.g. 1024, 10KB, 1MiB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0f64.powi(4),
        other => return Err(format!("invalid size unit '{other}' in '{t}'")),
    };
    let bytes = (v * mult).round();
    // u64::MAX as f64 rounds up to 2^64: anything at or past it does not fit.
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("size '{t}' is too large"));
    }
    Ok(bytes as u64)
}

/// An instant: RFC 3339 (`2026-11-28T12:00:00Z`) or unix seconds (`1795000000`,
/// `1795000000.5`).
pub fn parse_instant(s: &str) -> Result<SystemTime, String> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && (0.0..=LAST_INSTANT_SECS as f64).contains(&secs) {
            return Ok(UNIX_EPOCH + Duration::from_secs_f64(secs));
        }
        return Err(format!(
            "invalid unix time '{t}' (want seconds between 0 and {LAST_INSTANT_SECS})"
        ));
    }
    let bad = |e: &dyn std::fmt::Display| {
        format!("invalid time '{t}' (want RFC 3339 or unix seconds): {e}")
    };
    // humantime reads UTC only; a numeric offset (`+02:00`) is applied here.
    let (local, offset_secs) = split_offset(t);
    let at = humantime::parse_rfc3339_weak(local).map_err(|e| bad(&e))?;
    let utc = if offset_secs >= 0 {
        at.checked_sub(Duration::from_secs(offset_secs as u64))
    } else {
        at.checked_add(Duration::from_secs(offset_secs.unsigned_abs()))
    };
    let last = UNIX_EPOCH + Duration::from_secs(LAST_INSTANT_SECS);
    utc.filter(|u| (UNIX_EPOCH..=last).contains(u))
        .ok_or_else(|| bad(&"before 1970 or after 9999"))
}

/// The last instant RFC 3339 can write: 9999-12-31T23:59:59Z.
pub const LAST_INSTANT_SECS: u64 = 253_402_300_799;

/// `2026-11-28T12:00:00+02:00` → (`2026-11-28T12:00:00`, 7200). A time
/// without a numeric offset is returned whole, with 0.
fn split_offset(t: &str) -> (&str, i64) {
    if t.len() > 6 && t.is_char_boundary(t.len() - 6) {
        let (head, tail) = t.split_at(t.len() - 6);
        let tb = tail.as_bytes();
        if (tb[0] == b'+' || tb[0] == b'-')
            && tb[3] == b':'
            && tail[1..3].bytes().all(|c| c.is_ascii_digit())
            && tail[4..6].bytes().all(|c| c.is_ascii_digit())
        {
            let h: i64 = tail[1..3].parse().unwrap_or(0);
            let m: i64 = tail[4..6].parse().unwrap_or(0);
            let secs = h * 3600 + m * 60;
            return (head, if tb[0] == b'-' { -secs } else { secs });
        }
    }
    (t, 0)
}

/// Seconds since the unix epoch, as a float.
pub fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A duration for people: `1.2s`, `340ms`, `2m30s`.
pub fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs()))
            .to_string()
            .replace(' ', "")
    }
}

/// serde: a duration field written as a humantime string.
pub fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

/// serde: an optional duration field written as a humantime string.
pub fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

/// serde: an optional `timeout` field, bounded as `--timeout` is
/// ([`parse_timeout`]).
pub fn de_opt_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse_timeout(&s).map_err(serde::de::Error::custom))
        .transpose()
}

/// serde: a percentage field written as a number or a `"25%"` string.
pub fn de_percent<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum P {
        N(f64),
        S(String),
    }
    match P::deserialize(d)? {
        P::N(n) => parse_percent(&n.to_string()),
        P::S(s) => parse_percent(&s),
    }
    .map_err(serde::de::Error::custom)
}

/// serde: an optional percentage (see [`de_percent`]).
pub fn de_opt_percent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "de_percent")] f64);
    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
}

/// serde: a size field written as a number of bytes or a `"10MB"` string.
pub fn de_opt_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S {
        N(u64),
        S(String),
    }
    match Option::<S>::deserialize(d)? {
        None => Ok(None),
        Some(S::N(n)) => Ok(Some(n)),
        Some(S::S(s)) => parse_size(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_bounded() {
        assert_eq!(parse_timeout("30s"), Ok(Duration::from_secs(30)));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("99999999999d").unwrap_err().contains("7d"));
        assert!(parse_timeout("7d").is_ok());
    }

    #[test]
    fn url_ports_are_checked() {
        for ok in [
            "http://h/",
            "http://h:1/x",
            "https://u:p@[::1]:65535",
            "http://h:",
            "h:99999",
        ] {
            assert!(check_url_port(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:99999/",
            "http://h:0",
            "http://[::1]:65536/",
            "http://h:8o/",
        ] {
            assert!(check_url_port(bad).is_err(), "{bad}");
        }
        assert!(
            check_url_port("http://u:sec-pw@h:70000/")
                .unwrap_err()
                .contains("u:***@h")
        );
    }

    #[test]
    fn durations_as_typed() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration(" 2m ").unwrap(), Duration::from_secs(120));
    }

    #[test]
    fn bare_number_duration_is_refused_with_a_hint() {
        let e = parse_duration("5").unwrap_err();
        assert!(e.contains("5s"), "{e}");
        assert!(parse_duration("").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("25").unwrap(), 25.0);
        assert_eq!(parse_percent("25%").unwrap(), 25.0);
        assert_eq!(parse_percent("0.5%").unwrap(), 0.5);
        assert!(parse_percent("101").is_err());
        assert!(parse_percent("-1").is_err());
        assert!(parse_percent("lots").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("10KB").unwrap(), 10_000);
        assert_eq!(parse_size("1MiB").unwrap(), 1_048_576);
        assert_eq!(parse_size("1.5k").unwrap(), 1500);
        assert!(parse_size("10 parsecs").is_err());
    }

    #[test]
    fn instants() {
        let t = parse_instant("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(unix_secs(t), 1_767_225_600.0);
        assert_eq!(
            unix_secs(parse_instant("1767225600").unwrap()),
            1_767_225_600.0
        );
        assert!(parse_instant("yesterday").is_err());
        // Offsets are applied; far futures are refused, not a crash.
        assert_eq!(
            parse_instant("2026-01-01T02:30:00+02:30").unwrap(),
            parse_instant("2026-01-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_instant("2025-12-31T19:00:00.000-05:00").unwrap(),
            parse_instant("2026-01-01T00:00:00Z").unwrap()
        );
        assert!(parse_instant("1e20").is_err());
        assert!(parse_instant("99999999999999").is_err());
        assert!(parse_instant("1970-01-01T00:00:00+01:00").is_err());
        assert!(parse_instant("9999-12-31T23:59:59-01:00").is_err());
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_millis(340)), "340ms");
        assert_eq!(human_duration(Duration::from_millis(1200)), "1.2s");
        assert_eq!(human_duration(Duration::from_secs(150)), "2m30s");
    }
}
