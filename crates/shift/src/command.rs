//! Running external commands: nginx's test and reload, exec templates, gates.
//!
//! Command lines given as one string are split into words with shell-like
//! quoting (`'…'`, `"…"`, `\`) but nothing else: no variables, globs,
//! pipes or `;`. Each runs as its own process group with a deadline; on
//! expiry the whole group is killed.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Split `s` into words: whitespace separates, `'…'` is literal, `"…"`
/// allows `\"` and `\\`, a bare `\` escapes the next character.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(format!("unclosed ' in command: {s}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err(format!("unclosed \" in command: {s}")),
                        },
                        Some(x) => cur.push(x),
                        None => return Err(format!("unclosed \" in command: {s}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err(format!("trailing \\ in command: {s}")),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("empty command".into());
    }
    Ok(words)
}

/// Register the secrets a command line carries so nothing shift prints or
/// journals shows them: passwords in URLs, values of sensitive headers
/// (`Authorization: Bearer …`), and `--token=…` / `password=…` style
/// arguments, plus the word after a sensitive flag (`--token abc`).
pub fn register_secrets(argv: &[String]) {
    use golive_core::redact;
    let mut after_flag = false;
    for w in argv {
        // Words inside `sh -c '…'` scripts too.
        let inner = split_words(w).unwrap_or_default();
        let words: Vec<&str> = if inner.len() > 1 {
            inner
                .iter()
                .map(String::as_str)
                .chain([w.as_str()])
                .collect()
        } else {
            vec![w.as_str()]
        };
        for word in words {
            if after_flag {
                redact::register(word);
            }
            after_flag = word.starts_with('-')
                && !word.contains('=')
                && redact::is_sensitive_name(word.trim_start_matches('-'));
            if word.contains("://") {
                let _ = redact::url(word);
            }
            if let Some((name, value)) = word.split_once(':') {
                if !name.contains(' ') && !value.starts_with("//") {
                    let _ = redact::header(name.trim(), value.trim());
                }
            }
            if let Some((name, value)) = word.split_once('=') {
                if redact::is_sensitive_name(name.trim_start_matches('-')) {
                    redact::register(value);
                }
            }
        }
    }
}

/// A command line for display: words that need it are single-quoted.
pub fn display(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a command ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit code; `None` when killed by a signal or on timeout.
    pub code: Option<i32>,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// Whether the deadline killed it.
    pub timed_out: bool,
    /// Wall time.
    pub elapsed: Duration,
}

impl Finished {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// One readable line: `exit 1: nginx: [emerg] …` (last output line).
    pub fn describe(&self) -> String {
        let how = if self.timed_out {
            format!(
                "killed after {}",
                golive_core::units::human_duration(self.elapsed)
            )
        } else {
            match self.code {
                Some(c) => format!("exit {c}"),
                None => "killed by a signal".into(),
            }
        };
        match self.tail() {
            Some(t) => format!("{how}: {t}"),
            None => how,
        }
    }

    /// The last non-empty line of stderr, else of stdout.
    pub fn tail(&self) -> Option<String> {
        let last = |s: &str| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        };
        last(&self.stderr).or_else(|| last(&self.stdout))
    }
}

/// Run `argv` with extra environment `env`, no stdin, output captured, and
/// kill its process group when `timeout` passes.
pub fn run(
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
) -> Result<Finished, String> {
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", display(argv)))?;
    let pid = child.id() as i32;
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let (status, timed_out) = match rx.recv_timeout(timeout) {
        Ok(s) => (s.ok(), false),
        Err(_) => {
            // SAFETY: kill(2) on the process group we created for this child.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
            (rx.recv().ok().and_then(Result::ok), true)
        }
    };
    // The readers end when the last writer closes the pipes. Something the
    // command left running in the background (`… &`, a daemon) may hold
    // them open for as long as it lives: wait for the output no longer than
    // the deadline, and at most a moment after the command ended, then keep
    // what was read.
    let until = (t0 + timeout).min(Instant::now() + OUTPUT_GRACE);
    let stdout = collect(out, until);
    let stderr = collect(err, until);
    Ok(Finished {
        code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        stdout,
        stderr,
        timed_out,
        elapsed: t0.elapsed(),
    })
}

/// How long to wait for a finished command's output pipes to close.
const OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// Keep memory bounded for chatty commands: the tail is what matters.
const OUTPUT_KEEP: usize = 64 * 1024;

/// A pipe being read on its own thread: what has arrived so far, and a
/// channel that closes when the pipe does.
type Reader = (Arc<Mutex<Vec<u8>>>, mpsc::Receiver<()>);

fn reader(mut r: impl Read + Send + 'static) -> Reader {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let shared = Arc::clone(&buf);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match r.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let mut b = shared.lock().unwrap_or_else(|e| e.into_inner());
                    b.extend_from_slice(&chunk[..n]);
                    if b.len() > 2 * OUTPUT_KEEP {
                        let cut = b.len() - OUTPUT_KEEP;
                        b.drain(..cut);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(());
    });
    (buf, rx)
}

/// What a reader has, once its pipe closed or `until` passed.
fn collect(r: Option<Reader>, until: Instant) -> String {
    let Some((buf, done)) = r else {
        return String::new();
    };
    let _ = done.recv_timeout(until.saturating_duration_since(Instant::now()));
    let b = buf.lock().unwrap_or_else(|e| e.into_inner());
    let start = b.len().saturating_sub(OUTPUT_KEEP);
    String::from_utf8_lossy(&b[start..]).into_owned()
}

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
        let shown = golive_core::redact::apply(&display(&argv));
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

    #[test]
    fn runs_and_times_out() {
        let f = run(
            &[
                "sh".into(),
                "-c".into(),
                "echo out; echo err >&2; exit 3".into(),
            ],
            &[],
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(f.code, Some(3));
        assert_eq!(f.stdout.trim(), "out");
        assert_eq!(f.tail().as_deref(), Some("err"));
        let t0 = Instant::now();
        let f = run(
            &["sh".into(), "-c".into(), "sleep 5 & sleep 5".into()],
            &[],
            Duration::from_millis(200),
        )
        .unwrap();
        assert!(f.timed_out && !f.success());
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "group was not killed"
        );
        assert!(run(&["/nonexistent/x".into()], &[], Duration::from_secs(1)).is_err());
    }
}
