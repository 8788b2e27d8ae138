//! Secret redaction: nothing a tool prints shows a password, a token or an
//! API key. Secrets print as `***`.
//!
//! Secrets are masked where they are known to be, before anything is
//! serialised; finished output is never rewritten:
//! - structural: [`url`], [`dsn`], [`header`] and [`command_line`] hide the
//!   secret parts of the values they know (URL and DSN passwords, sensitive
//!   query parameters and header values, `--token X` and `password=X` words),
//!   and [`register`] what they hid;
//! - foreign text — an error from a library, what a command printed, a
//!   server's message — may repeat a secret golive cannot place: [`scrub`]
//!   masks every registered secret in such text where it enters a result
//!   (an item's `message`, an error) and in lines written to stderr. golive's
//!   own fields (names, targets, keys, numbers) are never scrubbed, so a
//!   password `127` never turns host `127.0.0.1` into `***.0.0.1`.

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

/// Replace every registered secret in foreign `text` (a library's error, a
/// command's output, a server's message) with `***`.
///
/// Only for text golive did not build itself: its own values are masked
/// structurally where they are made.
pub fn scrub(text: &str) -> String {
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
    // Names that look sensitive but carry none: libpq's session mode and
    // the paths of client certificates and keys.
    const NOT_SECRET: [&str; 3] = ["target_session_attrs", "sslkey", "sslcert"];
    if NOT_SECRET.contains(&n.as_str()) {
        return false;
    }
    EXACT.contains(&n.as_str()) || PARTS.iter().any(|p| n.contains(p))
}

/// `scheme://` at the very start (RFC 3986: a letter, then letters,
/// digits, `+`, `-` or `.`).
fn starts_with_scheme(s: &str) -> bool {
    let t = s.trim_start();
    match t.split_once("://") {
        Some((scheme, _)) => {
            let mut c = scheme.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.all(|x| x.is_ascii_alphanumeric() || "+-.".contains(x))
        }
        None => false,
    }
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
    // A URL starts with its scheme; a key=value DSN may hold a URL in a
    // value (`application_name=https://ci/job/42`) and is still key=value.
    if starts_with_scheme(s) {
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

/// A command line for display, each word quoted as a shell would need and
/// secrets at known positions masked (and [`register`]ed): the word after a
/// sensitive flag (`--token X`), `name=X` and `--name=X` with a sensitive
/// name, sensitive headers (`Authorization: Bearer X`), URL passwords and
/// sensitive query parameters, and the same inside `sh -c '…'` scripts.
pub fn command_line(argv: &[String]) -> String {
    command_words(argv)
        .iter()
        .map(|w| quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of a command line as they may be shown (unquoted), secrets
/// masked as [`command_line`] does.
pub fn command_words(argv: &[String]) -> Vec<String> {
    let mut after_flag = false;
    argv.iter()
        .map(|w| {
            let shown = if after_flag {
                if w.chars().count() >= MIN_REGISTERED_LEN {
                    register(w);
                }
                MASK.to_string()
            } else {
                word(w)
            };
            after_flag = is_secret_flag(w);
            shown
        })
        .collect()
}

/// Register the secrets a command line or an argument list carries, at the
/// positions [`command_line`] knows, without building its display.
pub fn register_argv<S: AsRef<str>>(argv: &[S]) {
    let words: Vec<String> = argv.iter().map(|w| w.as_ref().to_string()).collect();
    let _ = command_line(&words);
}

/// A command line given as one string (`sh -c` text), as it may be shown:
/// the text as written, with the secrets its words carry masked.
pub fn command_text(text: &str) -> String {
    word(text)
}

/// Whether `text` (a value, or a whole command line) carries a secret at a
/// known position.
pub fn carries_secret(text: &str) -> bool {
    word(text) != text
}

/// `--token`, `-password`: a flag whose next word is a secret.
fn is_secret_flag(w: &str) -> bool {
    w.starts_with('-') && !w.contains('=') && is_sensitive_name(w.trim_start_matches('-'))
}

/// One word as it may be shown: a URL with its password masked, a sensitive
/// `name=value` or header with its value masked, a script with the secrets
/// of its own words masked; anything else as it is.
fn word(w: &str) -> String {
    if w.contains(char::is_whitespace) {
        return script(w);
    }
    if let Some((name, value)) = w.split_once('=')
        && !name.contains("://")
        && is_sensitive_name(name.trim_start_matches('-'))
    {
        if !value.is_empty() {
            register(value);
            return format!("{name}={MASK}");
        }
        return w.to_string();
    }
    if w.contains("://") {
        return url(w);
    }
    if let Some((name, value)) = header_parts(w) {
        return format!("{name}: {}", header(name, value));
    }
    w.to_string()
}

/// `Name: value` where Name is a header name (letters, digits, `-`, `_`)
/// and the value is not a port (`keydb:6379`, `keyvault:8443/health` and
/// `keydb:6379 ping` are a host and port, not a header).
fn header_parts(w: &str) -> Option<(&str, &str)> {
    let (name, value) = w.split_once(':')?;
    let is_token = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let value_t = value.trim();
    let port_like = !value.starts_with(' ')
        && value
            .split(['/', ' ', '?'])
            .next()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    (is_token && !value_t.is_empty() && !value.starts_with("//") && !port_like)
        .then_some((name, value_t))
}

/// A `sh -c` script: its words are classified like any command line's, and
/// the secrets found among them are masked within the script's text.
fn script(text: &str) -> String {
    let Ok(words) = shell_words::split(text) else {
        return text.to_string();
    };
    // A header given as one quoted word: `Authorization: Bearer x`.
    if words.len() > 1
        && let Some((name, value)) = header_parts(text)
        && is_sensitive_name(name)
    {
        let _ = header(name, value);
        return format!("{name}: {MASK}");
    }
    let mut secrets = Vec::new();
    let mut after_flag = false;
    for w in &words {
        if after_flag {
            secrets.push(w.clone());
        } else if w.contains(char::is_whitespace) {
            if let Some((name, value)) = header_parts(w)
                && is_sensitive_name(name)
            {
                secrets.push(value.to_string());
                if let Some((_, cred)) = value.split_once(' ') {
                    secrets.push(cred.trim().to_string());
                }
            }
        } else {
            let shown = word(w);
            if shown != *w {
                secrets.extend(hidden_parts(w, &shown));
            }
        }
        after_flag = is_secret_flag(w);
    }
    secrets.retain(|s| s.chars().count() >= MIN_REGISTERED_LEN);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in &secrets {
        register(s);
        out = out.replace(s.as_str(), MASK);
    }
    out
}

/// What masking hid: the parts of `original` that `shown` replaced by `***`.
fn hidden_parts(original: &str, shown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = original;
    let pieces: Vec<&str> = shown.split(MASK).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let Some(at) = rest.find(piece) else { break };
        if i > 0 && at > 0 {
            out.push(rest[..at].to_string());
        }
        rest = &rest[at + piece.len()..];
        if i + 1 == pieces.len() && !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

/// A word quoted for display as a shell would need it.
fn quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+*".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// What a URL keeps as it is when encoding: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|d| d.into_owned())
}

/// An error and its sources as one line (`a: b: c`), without repeating a
/// source whose text the previous one already contains. The text is a
/// library's (or a server's), so registered secrets are [`scrub`]bed from it.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !t.is_empty() && !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    scrub(&out.replace('\n', " "))
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
            scrub("FATAL: password authentication failed: reg-secret-42"),
            "FATAL: password authentication failed: ***"
        );
    }

    #[test]
    fn json_and_percent_forms_are_hidden_too() {
        register("we\"ird/pass");
        assert_eq!(scrub(r#"{"p":"we\"ird/pass"}"#), r#"{"p":"***"}"#);
        assert_eq!(scrub("u=we%22ird%2Fpass"), "u=***");
    }

    #[test]
    fn error_chain_skips_repeats_and_scrubs() {
        let inner = std::io::Error::other("connection refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(error_chain(&outer), "connection refused");
        register("chain-secret-5");
        let e = std::io::Error::other("login chain-secret-5\nfailed");
        assert_eq!(error_chain(&e), "login *** failed");
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
        assert_eq!(scrub("sent tok-xyz-1"), "sent ***");
    }

    fn words(s: &str) -> Vec<String> {
        shell_words::split(s).unwrap()
    }

    #[test]
    fn command_lines_mask_secrets_where_they_stand() {
        let argv = words(
            "curl -H 'Authorization: Bearer tok-abc-123' https://u:pw-secret-9@api/x --api-key k-xyz-77 --password=hunter22x token=t0k3n-v",
        );
        assert_eq!(
            command_line(&argv),
            "curl -H 'Authorization: ***' https://u:***@api/x --api-key *** --password=*** token=***"
        );
        assert_eq!(scrub("echo k-xyz-77 t0k3n-v"), "echo *** ***");
    }

    #[test]
    fn hosts_and_ports_are_not_headers() {
        // `keydb` and `keyvault` are sensitive-looking names, but these are
        // servers: nothing in them is a secret.
        for w in ["keydb.internal:6379", "keyvault:8443", "secrets-db:5432"] {
            assert_eq!(command_line(&[w.to_string()]), w);
        }
        register_argv(&["keydb:6379"]);
        assert_eq!(scrub("port 6379"), "port 6379");
    }

    #[test]
    fn scripts_mask_their_own_secrets() {
        let argv = words(
            r#"sh -c 'curl -H "X-API-Key: scr-key-42" --token scr-tok-43 http://u:scr-pw-44@h/ && echo done'"#,
        );
        let shown = command_line(&argv);
        for s in ["scr-key-42", "scr-tok-43", "scr-pw-44"] {
            assert!(!shown.contains(s), "{shown}");
        }
        assert!(
            shown.contains("echo done") && shown.contains("@h/"),
            "{shown}"
        );
    }

    #[test]
    fn structural_masking_leaves_the_host_alone() {
        // A password that also spells part of the host.
        assert_eq!(
            dsn("postgres://postgres:127@127.0.0.1:5432/postgres"),
            "postgres://postgres:***@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            url("http://u:status@status.example/status"),
            "http://u:***@status.example/status"
        );
    }
}
