//! Command lines: nginx's test and reload, exec templates, gates.
//!
//! Command lines given as one string are split into words with shell-like
//! quoting (`'…'`, `"…"`, `\`) but nothing else: no variables, globs,
//! pipes or `;`. Running them is golive-core's [`golive_core::process`]:
//! each in its own process group with a deadline, killed whole on expiry or
//! on a caught signal.

/// Split `s` into words as a POSIX shell quotes them (`'…'`, `"…"`, `\\`)
/// but nothing else: no variables, globs, pipes or `;`.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let words = shell_words::split(s).map_err(|_| format!("unclosed quote in command: {s}"))?;
    if words.is_empty() {
        return Err("empty command".into());
    }
    Ok(words)
}

/// Register the secrets a command line carries (see
/// [`golive_core::redact::command_line`]) so foreign text that repeats them,
/// such as the command's own output, is scrubbed.
pub fn register_secrets(argv: &[String]) {
    golive_core::redact::register_argv(argv);
}

/// A command line for display: words quoted as a shell needs them, secrets
/// at known positions masked.
pub fn display(argv: &[String]) -> String {
    golive_core::redact::command_line(argv)
}

pub use golive_core::process::{Finished, run, run_interruptible};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quotes() {
        assert_eq!(split_words("nginx -t").unwrap(), ["nginx", "-t"]);
        assert_eq!(
            split_words(r#"sh -c 'echo "$X" ; x' "a b" c\ d"#).unwrap(),
            ["sh", "-c", r#"echo "$X" ; x"#, "a b", "c d"]
        );
        assert_eq!(split_words(r#""{\"a\":1}""#).unwrap(), [r#"{"a":1}"#]);
        assert_eq!(split_words("a '' b").unwrap(), ["a", "", "b"]);
        assert!(split_words("a 'b").is_err());
        assert!(split_words("   ").is_err());
    }

    #[test]
    fn secrets_in_command_lines_are_registered() {
        let argv = split_words(
            "curl -H 'Authorization: Bearer tok-abc-123' https://u:pw-secret-9@api/x --api-key k-xyz-77 --password=hunter22x",
        )
        .unwrap();
        register_secrets(&argv);
        let shown = display(&argv);
        for secret in ["tok-abc-123", "pw-secret-9", "k-xyz-77", "hunter22x"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("curl") && shown.contains("api/x"), "{shown}");
    }

    #[test]
    fn display_quotes_what_needs_it() {
        let argv = vec!["sh".to_string(), "-c".into(), "echo it's".into()];
        assert_eq!(display(&argv), r"sh -c 'echo it'\''s'");
    }
}
