//! TOML configuration: unknown keys rejected, errors naming file, line and
//! key, and `${VAR}` in string values read from the environment so secrets
//! stay out of files and out of argv.
//!
//! `${VAR}` must be set (an unset variable is an error naming it);
//! `${VAR:-default}` falls back; `$${` is a literal `${`.

use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use crate::error::Error;

/// Read and parse a TOML file into `T` (which should use
/// `#[serde(deny_unknown_fields)]`).
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    load_located(path).map(|(t, _)| t)
}

/// [`load`], and where every key stands in the file (for errors found
/// after parsing, such as a duplicate name).
pub fn load_located<T: DeserializeOwned>(path: &Path) -> Result<(T, Spans), Error> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        path: name.clone(),
        line: None,
        column: None,
        message: format!("cannot read: {e}"),
    })?;
    parse_located(&name, &text)
}

/// Parse TOML `text` (named `name` in errors) into `T`, expanding `${VAR}`.
pub fn parse<T: DeserializeOwned>(name: &str, text: &str) -> Result<T, Error> {
    parse_located(name, text).map(|(t, _)| t)
}

/// [`parse`], and where every key stands in `text`.
///
/// The document is parsed once into toml's spanned tree; `${VAR}` is
/// expanded inside it, and `T` is read from it, so every error — syntax,
/// unknown key, bad value, even one only an expanded value shows — carries
/// the line (and column) toml's spans give it.
pub fn parse_located<T: DeserializeOwned>(name: &str, text: &str) -> Result<(T, Spans), Error> {
    let mut root = DeTable::parse(text).map_err(|e| located(name, text, &e))?;
    let mut spans = Spans::default();
    spans.record_table(root.get_ref(), "", text);
    expand_table(root.get_mut(), "", name, text)?;
    let value = T::deserialize(toml::de::Deserializer::from(root))
        .map_err(|e: toml::de::Error| located(name, text, &e))?;
    Ok((value, spans))
}

/// Where the keys of a parsed file stand: 1-based lines by key path, for
/// errors found after parsing (a duplicate name, a key that does not apply).
///
/// Paths are written as in error messages: `defaults.timeout`,
/// `check[2].url`; `check[2]` alone is the second `[[check]]` table.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    lines: Vec<(String, usize)>,
}

impl Spans {
    /// The line of the key (or array element) at `path`.
    pub fn line(&self, path: &str) -> Option<usize> {
        self.lines
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, line)| *line)
    }

    fn record_table(&mut self, t: &DeTable<'_>, prefix: &str, text: &str) {
        for (k, v) in t.iter() {
            let path = join(prefix, k.get_ref());
            self.lines
                .push((path.clone(), line_col(text, k.span().start).0));
            self.record_value(v, &path, text);
        }
    }

    fn record_value(&mut self, v: &toml::Spanned<DeValue<'_>>, path: &str, text: &str) {
        match v.get_ref() {
            DeValue::Table(t) => self.record_table(t, path, text),
            DeValue::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    self.lines
                        .push((p.clone(), line_col(text, x.span().start).0));
                    self.record_value(x, &p, text);
                }
            }
            _ => {}
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn located(name: &str, text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = match e.span() {
        Some(span) => {
            let (l, c) = line_col(text, span.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    Error::Config {
        path: name.to_string(),
        line,
        column,
        message: e.message().trim().replace('\n', " "),
    }
}

/// 1-based line and column of byte offset `at` (a toml span's start) in
/// `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

fn expand_table(t: &mut DeTable<'_>, path: &str, name: &str, text: &str) -> Result<(), Error> {
    for (k, v) in t.iter_mut() {
        let key = join(path, k.get_ref());
        expand_value(v, &key, name, text)?;
    }
    Ok(())
}

fn expand_value(
    v: &mut toml::Spanned<DeValue<'_>>,
    key: &str,
    name: &str,
    text: &str,
) -> Result<(), Error> {
    let at = v.span().start;
    match v.get_mut() {
        DeValue::String(s) if s.contains('$') => {
            let leaf = key.rsplit(['.', '[']).next().unwrap_or(key);
            let expanded = expand(s).map_err(|var| Error::Config {
                path: name.to_string(),
                line: Some(line_col(text, at).0),
                column: None,
                message: format!("key `{key}`: environment variable {var} is not set"),
            })?;
            // A secret field (`password = "${X}"`, `routing_key = …`).
            if crate::redact::is_sensitive_name(leaf) {
                crate::redact::register(&expanded);
            }
            *s = expanded.into();
        }
        DeValue::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                expand_value(x, &format!("{key}[{i}]"), name, text)?;
            }
        }
        DeValue::Table(t) => expand_table(t, key, name, text)?,
        _ => {}
    }
    Ok(())
}

/// Expand `${VAR}`, `${VAR:-default}` and `$${` in `s`; `Err(var)` names an
/// unset variable.
///
/// The value of a secret-named variable (`${PD_ROUTING_KEY}`,
/// `${DB_PASSWORD}`) is [`crate::redact::register`]ed, so foreign text that
/// repeats it is scrubbed.
pub fn expand(s: &str) -> Result<String, String> {
    expand_with(s, |v| {
        let val = std::env::var(v).ok();
        if let Some(x) = &val
            && crate::redact::is_sensitive_name(v)
        {
            crate::redact::register(x);
        }
        val
    })
}

fn expand_with(s: &str, get: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(body) = after.strip_prefix("${") {
            let Some(end) = body.find('}') else {
                out.push_str(after);
                rest = "";
                break;
            };
            let inner = &body[..end];
            let (var, default) = match inner.split_once(":-") {
                Some((v, d)) => (v, Some(d)),
                None => (inner, None),
            };
            // As the shell's `${VAR:-d}`: an empty value falls back too (a
            // CI system hands an undefined secret over as an empty string).
            match (get(var), default) {
                (Some(val), Some(d)) if val.is_empty() => out.push_str(d),
                (Some(val), _) => out.push_str(&val),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(var.to_string()),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct C {
        url: String,
        #[serde(default)]
        headers: std::collections::BTreeMap<String, String>,
        #[serde(default, deserialize_with = "crate::units::de_opt_duration")]
        timeout: Option<std::time::Duration>,
    }

    #[test]
    fn expansion_rules() {
        let get = |v: &str| (v == "KEY").then(|| "k-1".to_string());
        assert_eq!(expand_with("a ${KEY} b", get).unwrap(), "a k-1 b");
        assert_eq!(expand_with("${NOPE:-dflt}", get).unwrap(), "dflt");
        // Set but empty falls back as in the shell; without a default it stays empty.
        let empty = |v: &str| (v == "EMPTY").then(String::new);
        assert_eq!(expand_with("${EMPTY:-dflt}", empty).unwrap(), "dflt");
        assert_eq!(expand_with("[${EMPTY}]", empty).unwrap(), "[]");
        assert_eq!(expand_with("$${KEY} $5", get).unwrap(), "${KEY} $5");
        assert_eq!(expand_with("${NOPE}", get).unwrap_err(), "NOPE");
    }

    #[test]
    fn unknown_key_names_line() {
        let e = parse::<C>("c.toml", "url = \"x\"\n\nbogus = 1\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("c.toml:3:"), "{msg}");
        assert!(msg.contains("bogus"), "{msg}");
        assert_eq!(e.exit_code(), 64);
    }

    #[test]
    fn syntax_error_names_line() {
        let e = parse::<C>("c.toml", "url = \"x\"\nheaders = {\n").unwrap_err();
        assert!(e.to_string().starts_with("c.toml:2:"), "{e}");
    }

    #[test]
    fn durations_parse() {
        let c: C = parse("c.toml", "url = \"x\"\ntimeout = \"1m30s\"\n").unwrap();
        assert_eq!(c.timeout, Some(std::time::Duration::from_secs(90)));
    }

    #[test]
    fn bad_duration_names_line() {
        let e = parse::<C>("c.toml", "url = \"x\"\ntimeout = \"5\"\n").unwrap_err();
        assert!(e.to_string().starts_with("c.toml:2:"), "{e}");
        assert!(e.to_string().contains("5s"), "{e}");
    }

    #[test]
    fn spans_name_the_line_of_every_key() {
        let text = "[defaults]\ntimeout = \"1s\"\n\n[[check]]\nname = \"a\"\n\n[[check]]\n# c\nname = \"b\"\nurl = \"x\"\n";
        let (_, spans): (toml::Table, Spans) = parse_located("f.toml", text).unwrap();
        assert_eq!(spans.line("defaults.timeout"), Some(2));
        assert_eq!(spans.line("check[0].name"), Some(5));
        assert_eq!(spans.line("check[1].name"), Some(9));
        assert_eq!(spans.line("check[1].url"), Some(10));
        assert!(spans.line("check[1]").is_some_and(|l| (7..=9).contains(&l)));
        assert_eq!(spans.line("nope"), None);
    }

    #[test]
    fn an_expanded_value_that_is_wrong_names_its_line() {
        // SAFETY: only this test reads or writes this variable.
        unsafe { std::env::set_var("GOLIVE_CORE_TEST_TIMEOUT", "5") };
        let e = parse::<C>(
            "c.toml",
            "url = \"x\"\n\ntimeout = \"${GOLIVE_CORE_TEST_TIMEOUT}\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("c.toml:3:"), "{e}");
        assert!(e.to_string().contains("5s"), "{e}");
    }

    #[test]
    fn env_vars_expand_and_missing_ones_are_named() {
        // SAFETY: tests in this module do not read this variable concurrently.
        unsafe { std::env::set_var("GOLIVE_CORE_TEST_KEY", "sekret") };
        let c: C = parse(
            "c.toml",
            "url = \"http://x\"\n[headers]\nX-API-Key = \"${GOLIVE_CORE_TEST_KEY}\"\n",
        )
        .unwrap();
        assert_eq!(c.url, "http://x");
        assert_eq!(c.headers["X-API-Key"], "sekret");
        assert_eq!(c.timeout, None);
        let e = parse::<C>("c.toml", "url = \"${GOLIVE_CORE_TEST_UNSET}\"\n").unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("c.toml:1:"), "{m}");
        assert!(
            m.contains("GOLIVE_CORE_TEST_UNSET") && m.contains("`url`"),
            "{m}"
        );
    }
}
