//! Request headers as a command line gives them: `--header 'Name: value'`,
//! `${VAR}` read from the environment, `@FILE` one a line; every sensitive
//! value registered with [`golive_core::redact`] as it is parsed.

/// Headers from `--header` values: `Name: value`, or `@FILE` (one per
/// line). `${VAR}` in a value reads the environment, so a key passed as
/// `--header 'X-API-Key: ${API_KEY}'` never shows in `ps`.
pub fn parse_headers(raw: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for h in raw {
        let h = &golive_core::config::expand(h)
            .map_err(|var| format!("--header: environment variable {var} is not set"))?;
        if let Some(path) = h.strip_prefix('@') {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--header @{path}: cannot read: {e}"))?;
            for (n, line) in text
                .lines()
                .map(str::trim)
                .enumerate()
                .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            {
                out.push(parse_header(line).map_err(|e| format!("{path}:{}: {e}", n + 1))?);
            }
        } else {
            out.push(parse_header(h)?);
        }
    }
    Ok(out)
}

/// Parse `Name: value` (a header as curl takes it).
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once(':').ok_or_else(|| {
        // Without a ':' nothing says which part is the value, and it may be
        // a key (`X-API-Key=…`, a bare token): show only a secret header's
        // name, never the text after it.
        let first = s
            .trim()
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or_default();
        if first.len() < s.trim().len() && golive_core::redact::is_sensitive_name(first) {
            format!("--header '{first} …': want 'Name: value'")
        } else {
            "--header: want 'Name: value' (no ':' in it)".to_string()
        }
    })?;
    let name = name.trim();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        // What stands before the ':' may hold a value written with `=` or a
        // space (`X-API-Key=abc:def`): show only the leading name, never
        // what follows it.
        let lead: String = name
            .bytes()
            .take_while(|b| token(*b))
            .map(char::from)
            .collect();
        return Err(if lead.is_empty() {
            "--header: want 'Name: value' (no header name before the ':')".to_string()
        } else {
            format!("--header '{lead} …': not a valid header name; want 'Name: value'")
        });
    }
    let value = value.trim();
    if value.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err(format!("--header {name}: value holds a line break"));
    }
    // Sensitive values (X-API-Key, Authorization, …) are registered here.
    golive_core::redact::header(name, value);
    Ok((name.to_string(), value.to_string()))
}
