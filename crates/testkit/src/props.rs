//! What the property tests of every crate share (feature `props`): the case
//! count and a few helpers. Strategies for each domain's text stay with
//! their tests: what a split parser should be fed differs from a DSN's.

use proptest::prelude::*;

/// Modest case counts (the suite runs on 2 cores); failures are kept as
/// plain `#[test]`s rather than in a regressions file.
pub fn cfg() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    }
}

/// `s` as a TOML basic string (control characters escaped).
pub fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Fail the case when `secret` survives in `shown`.
pub fn assert_hidden(shown: &str, secret: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !shown.contains(secret),
        "secret {secret:?} survives in {shown:?}"
    );
    Ok(())
}
