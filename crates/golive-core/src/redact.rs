//! Secret redaction: nothing a tool prints shows a password, a token or an
//! API key. Secrets print as `***`.
//!
//! Two layers:
//! - structural: [`url`], [`dsn`] and [`header`] hide the secret parts of the
//!   values they know;
//! - a registry: every secret value a tool handles is [`register`]ed, and
//!   [`apply`] replaces it wherever it appears, including inside error text
//!   from a library. The stdout writer and the stderr logger both call it.

use std::sync::{Mutex, OnceLock};

/// What a secret prints as.
pub const MASK: &str = "***";

/// Secrets shorter than this are left to the structural layer: replacing a
/// one- or two-character string everywhere would garble the output.
const MIN_REGISTERED_LEN: usize = 3;

fn registry() -> &'static Mutex<Vec<String>> {
    static R: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remember a secret value so [`apply`] hides it everywhere.
///
/// Its JSON-escaped and percent-encoded spellings are remembered too.
pub fn register(secret: &str) {
    if secret.chars().count() < MIN_REGISTERED_LEN {
        return;
    }
    let mut forms = vec![secret.to_string()];
    let json = serde_json::to_string(secret).unwrap_or_default();
    forms.push(json.trim_matches('"').to_string());
    forms.push(percent_encode(secret));
    if let Some(decoded) = percent_decode(secret) {
        forms.push(decoded);
    }
    let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
    for f in forms {
        if f.chars().count() >= MIN_REGISTERED_LEN && !r.contains(&f) {
            r.push(f);
        }
    }
    // Longest first, so a secret containing another is replaced whole.
    r.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Replace every registered secret in `text` with `***`.
pub fn apply(text: &str) -> String {
    let r = registry().lock().unwrap_or_else(|p| p.into_inner());
    let mut out = text.to_string();
    for s in r.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

/// Whether a header, query parameter or field name usually carries a secret:
/// Authorization, Cookie, X-API-Key, and anything named like token, secret,
/// key, password, passwd, pwd, credential, session or signature.
pub fn is_sensitive_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    const EXACT: [&str; 4] = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ];
    const PARTS: [&str; 9] = [
        "token",
        "secret",
        "key",
        "password",
        "passwd",
        "pwd",
        "credential",
        "session",
        "signature",
    ];
    EXACT.contains(&n.as_str()) || PARTS.iter().any(|p| n.contains(p))
}

/// A header value as it may be shown: `***` when the name is sensitive.
///
/// A sensitive value is also [`register`]ed.
pub fn header(name: &str, value: &str) -> String {
    if is_sensitive_name(name) {
        register(value.trim());
        // "Bearer abc" → also hide the credential alone.
        if let Some((_, cred)) = value.trim().split_once(' ') {
            register(cred.trim());
        }
        MASK.to_string()
    } else {
        value.to_string()
    }
}

/// A URL as it may be shown: the password in `user:pass@` and the values of
/// sensitive query parameters become `***` (and are [`register`]ed).
pub fn url(u: &str) -> String {
    let mut out = u.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?', '#'])
            .map(|i| rest_start + i)
            .unwrap_or(out.len());
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let pass = userinfo[colon + 1..].to_string();
                if !pass.is_empty() {
                    register(&pass);
                    let start = rest_start + colon + 1;
                    out.replace_range(start..rest_start + at, MASK);
                }
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let (query, frag) = match query.find('#') {
            Some(h) => query.split_at(h),
            None => (query, ""),
        };
        let parts: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) if is_sensitive_name(k) && !v.is_empty() => {
                    register(v);
                    format!("{k}={MASK}")
                }
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{base}{}{frag}", parts.join("&"));
    }
    out
}

/// A PostgreSQL connection string as it may be shown, in either form:
/// a URL (`postgres://user:pass@host/db?password=…`) or key/value
/// (`host=db user=app password=secret`).
pub fn dsn(s: &str) -> String {
    if s.contains("://") {
        return url(s);
    }
    // key=value pairs; values may be single-quoted with backslash escapes.
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let skip_ws = |i: &mut usize, out: &mut String| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            out.push(chars[*i]);
            *i += 1;
        }
    };
    while i < chars.len() {
        skip_ws(&mut i, &mut out);
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect();
        out.push_str(&key);
        skip_ws(&mut i, &mut out);
        if i >= chars.len() || chars[i] != '=' {
            continue;
        }
        out.push('=');
        i += 1;
        skip_ws(&mut i, &mut out);
        let secret = is_sensitive_name(&key);
        if i < chars.len() && chars[i] == '\'' {
            let mut value = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1; // closing quote
            if secret {
                register(&value);
                out.push_str(&format!("'{MASK}'"));
            } else {
                out.push_str(&format!("'{}'", value.replace('\'', "\\'")));
            }
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            let value: String = chars[start..i].iter().collect();
            if secret && !value.is_empty() {
                register(&value);
                out.push_str(MASK);
            } else {
                out.push_str(&value);
            }
        }
    }
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_password_and_token_params_are_masked() {
        assert_eq!(
            url("postgres://app:s3cr3t-pw@db:5432/minimarket"),
            "postgres://app:***@db:5432/minimarket"
        );
        assert_eq!(
            url("https://api.example/health?api_key=abc123&x=1#top"),
            "https://api.example/health?api_key=***&x=1#top"
        );
        assert_eq!(
            url("redis://:hunter22@cache:6379/0"),
            "redis://:***@cache:6379/0"
        );
        assert_eq!(url("http://host/path"), "http://host/path");
    }

    #[test]
    fn keyvalue_dsn_password_is_masked() {
        assert_eq!(
            dsn("host=db user=app password=kv-secret-1 dbname=x"),
            "host=db user=app password=*** dbname=x"
        );
        assert_eq!(
            dsn("host=db password='quoted secret' dbname=x"),
            "host=db password='***' dbname=x"
        );
    }

    #[test]
    fn registered_secrets_vanish_from_any_text() {
        let _ = dsn("password=reg-secret-42");
        assert_eq!(
            apply("FATAL: password authentication failed: reg-secret-42"),
            "FATAL: password authentication failed: ***"
        );
    }

    #[test]
    fn json_and_percent_forms_are_hidden_too() {
        register("we\"ird/pass");
        assert_eq!(apply(r#"{"p":"we\"ird/pass"}"#), r#"{"p":"***"}"#);
        assert_eq!(apply("u=we%22ird%2Fpass"), "u=***");
    }

    #[test]
    fn sensitive_names() {
        for n in [
            "Authorization",
            "X-API-Key",
            "Cookie",
            "x-auth-token",
            "client_secret",
            "PGPASSWORD",
        ] {
            assert!(is_sensitive_name(n), "{n}");
        }
        for n in ["Accept", "Content-Type", "User-Agent"] {
            assert!(!is_sensitive_name(n), "{n}");
        }
        assert_eq!(header("Authorization", "Bearer tok-xyz-1"), MASK);
        assert_eq!(apply("sent tok-xyz-1"), "sent ***");
    }
}
