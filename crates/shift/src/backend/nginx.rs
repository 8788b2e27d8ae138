//! nginx through an upstream include file.
//!
//! The user's config holds `upstream app { include /etc/nginx/shift/app.conf; }`
//! and shift owns that file: one `server ADDR weight=N;` line per pool
//! server, `server ADDR down;` for a server at 0% (nginx rejects
//! `weight=0`). A change writes the file atomically (temp file, fsync,
//! rename), runs the test command (`nginx -t`), then the reload command
//! (`nginx -s reload`); if either fails, the previous file is put back.
//!
//! Verify means: the file read back holds the intended weights, the test
//! command accepted it and the reload command succeeded. Open-source nginx
//! has no API to read the weights a running worker uses.

use golive_core::Deadline;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::backend::{
    Action, ApplyError, Backend, Left, Raw, ServerView, Snapshot, Target, derive,
};
use crate::command;
use crate::split::Pool;

/// The nginx backend.
#[derive(Debug, Clone)]
pub struct Nginx {
    /// The upstream include file shift rewrites.
    pub upstream_file: PathBuf,
    /// Checks the configuration (default `nginx -t`).
    pub test: Vec<String>,
    /// Makes nginx load it (default `nginx -s reload`).
    pub reload: Vec<String>,
}

/// `--nginx-*` flags (and their `SHIFT_*` variables).
#[derive(Debug, Default, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// nginx upstream include file that shift rewrites.
    #[arg(long, env = "SHIFT_NGINX_UPSTREAM_FILE", value_name = "PATH")]
    pub nginx_upstream_file: Option<PathBuf>,
    /// Command that tests nginx's configuration [default: nginx -t].
    #[arg(long, env = "SHIFT_NGINX_TEST_CMD", value_name = "CMD")]
    pub nginx_test_cmd: Option<String>,
    /// Command that reloads nginx [default: nginx -s reload].
    #[arg(long, env = "SHIFT_NGINX_RELOAD_CMD", value_name = "CMD")]
    pub nginx_reload_cmd: Option<String>,
}

impl Flags {
    /// Whether any of them was given.
    pub fn given(&self) -> bool {
        self.nginx_upstream_file.is_some()
            || self.nginx_test_cmd.is_some()
            || self.nginx_reload_cmd.is_some()
    }
}

/// `[nginx]` in the config file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    upstream_file: Option<PathBuf>,
    test_command: Option<String>,
    reload_command: Option<String>,
}

impl Section {
    /// Relative paths in the file are relative to the file's directory.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(u) = self.upstream_file.as_mut()
            && u.is_relative()
        {
            *u = base.join(&*u);
        }
    }
}

/// The backend from flags over the config section.
pub fn build(f: Flags, s: Option<Section>) -> Result<Nginx, golive_core::Error> {
    use golive_core::Error;
    let s = s.unwrap_or_default();
    let upstream_file = f.nginx_upstream_file.or(s.upstream_file).ok_or_else(|| {
        Error::usage(
            "the nginx backend needs --nginx-upstream-file PATH (or `upstream_file` under [nginx])",
        )
    })?;
    let words = |v: Option<String>, default: &str, flag: &str| -> Result<Vec<String>, Error> {
        command::split_words(v.as_deref().unwrap_or(default))
            .map_err(|e| Error::usage(format!("{flag}: {e}")))
    };
    let n = Nginx {
        upstream_file,
        test: words(
            f.nginx_test_cmd.or(s.test_command),
            "nginx -t",
            "--nginx-test-cmd",
        )?,
        reload: words(
            f.nginx_reload_cmd.or(s.reload_command),
            "nginx -s reload",
            "--nginx-reload-cmd",
        )?,
    };
    command::register_secrets(&n.test);
    command::register_secrets(&n.reload);
    Ok(n)
}

/// nginx pools name `host:port` servers.
pub const SERVERS: crate::backend::ServerRule = crate::backend::ServerRule {
    needs_servers: true,
    valid: valid_server,
};

/// Whether `s` may appear as a server address in an nginx config line.
pub fn valid_server(s: &str) -> bool {
    !s.is_empty()
        && !s.chars().any(|c| {
            c.is_whitespace() || matches!(c, ';' | '{' | '}' | '#' | '"' | '\'' | '$' | '\\')
        })
}

impl Backend for Nginx {
    fn kind(&self) -> &'static str {
        "nginx"
    }

    /// JSON description.
    fn describe(&self) -> Value {
        json!({
            "kind": "nginx",
            "upstream_file": self.upstream_file.display().to_string(),
            "test_command": command::display(&self.test),
            "reload_command": command::display(&self.reload),
        })
    }

    /// `nginx upstream file /etc/nginx/shift/app.conf`.
    fn label(&self) -> String {
        format!("nginx upstream file {}", self.upstream_file.display())
    }

    /// Read the file: each pool server's weight (`down` is 0; no `weight=`
    /// is nginx's default 1). A missing file reads as no servers.
    fn read(&self, pools: &[Pool], _timeout: Duration) -> Result<Snapshot, String> {
        let content = self.current()?;
        let parsed = match &content {
            Some(c) => parse(c).map_err(|e| format!("{}: {e}", self.upstream_file.display()))?,
            None => Vec::new(),
        };
        let mut servers = Vec::new();
        let mut others = Vec::new();
        for (addr, weight) in &parsed {
            let pool = pools.iter().find(|p| p.servers.iter().any(|s| s == addr));
            let view = ServerView {
                pool: pool.map(|p| p.name.clone()),
                name: addr.clone(),
                weight: *weight,
                state: Some(if *weight == 0 {
                    "down".into()
                } else {
                    "up".into()
                }),
                serving: None,
            };
            if pool.is_some() {
                servers.push(view);
            } else {
                others.push(view);
            }
        }
        // Keep pool order; servers the file lacks are simply absent.
        let mut ordered = Vec::new();
        for p in pools {
            for s in &p.servers {
                if let Some(v) = servers.iter().find(|v| &v.name == s) {
                    ordered.push(v.clone());
                }
            }
        }
        Ok(Snapshot {
            split: derive(pools, &ordered, false),
            servers: ordered,
            others,
            raw: Raw::File(content),
        })
    }

    fn raw_for(&self, pools: &[Pool], target: &Target) -> Raw {
        Raw::File(Some(self.render(pools, target)))
    }

    /// A rewrite would drop servers no pool names: refuse.
    fn unpooled(&self, others: &[ServerView]) -> Result<(), String> {
        if others.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{} has servers in no pool: {}; add them to a pool or remove them by hand",
            self.upstream_file.display(),
            crate::backend::describe_servers(others)
        ))
    }

    /// The write (with its diff), the test and the reload.
    fn plan(&self, pools: &[Pool], from: Option<&Snapshot>, target: &Target) -> Vec<Action> {
        let old = self.old_content(from).ok().flatten().unwrap_or_default();
        let new = self.render(pools, target);
        vec![
            Action::Write {
                path: self.upstream_file.display().to_string(),
                diff: unified_diff(&old, &new, &self.upstream_file.display().to_string()),
            },
            Action::Run(self.test.clone()),
            Action::Run(self.reload.clone()),
        ]
    }

    /// Write, test, reload; put the previous file back if the test or the
    /// reload fails.
    fn apply(
        &self,
        pools: &[Pool],
        from: Option<&Snapshot>,
        target: &Target,
        timeout: Duration,
    ) -> Result<Vec<Action>, ApplyError> {
        let old = self.old_content(from).map_err(|message| ApplyError {
            message,
            left: Left::Unchanged,
        })?;
        let new = self.render(pools, target);
        self.install(&old, &new, timeout)
    }

    /// Put a snapshot's file back (write, test, reload).
    fn restore(
        &self,
        _pools: &[Pool],
        _now: Option<&Snapshot>,
        snap: &Snapshot,
        timeout: Duration,
    ) -> Result<Vec<Action>, ApplyError> {
        let Raw::File(content) = &snap.raw else {
            return Err(ApplyError {
                message: "no previous nginx upstream file to put back".into(),
                left: Left::Changed,
            });
        };
        let now = self.current().ok().flatten();
        let deadline = Deadline::after(timeout);
        let diff = unified_diff(
            now.as_deref().unwrap_or(""),
            content.as_deref().unwrap_or(""),
            &self.upstream_file.display().to_string(),
        );
        let mut done = Vec::new();
        self.put(content.as_deref()).map_err(|message| ApplyError {
            message,
            left: Left::Changed,
        })?;
        done.push(Action::Write {
            path: self.upstream_file.display().to_string(),
            diff,
        });
        for argv in [&self.test, &self.reload] {
            let f = run_step(argv, deadline).map_err(|message| ApplyError {
                message,
                left: Left::Changed,
            })?;
            done.push(Action::Run(argv.clone()));
            if !f.success() {
                return Err(ApplyError {
                    message: format!(
                        "putting the previous upstream file back: {} failed ({})",
                        command::display(argv),
                        f.describe()
                    ),
                    left: Left::Changed,
                });
            }
        }
        Ok(done)
    }

    fn verify_restored(&self, live: &Snapshot, start: &Snapshot) -> Result<(), String> {
        if live.raw == start.raw {
            Ok(())
        } else {
            Err("the upstream file differs from the one before the change".into())
        }
    }
}

impl Nginx {
    fn current(&self) -> Result<Option<String>, String> {
        match std::fs::read_to_string(&self.upstream_file) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", self.upstream_file.display())),
        }
    }

    /// The file for `target`.
    pub fn render(&self, pools: &[Pool], target: &Target) -> String {
        let mut out = format!(
            "# Managed by shift: split {}. Edits made here by hand are overwritten.\n",
            target.split.spec()
        );
        for p in pools {
            for s in &p.servers {
                let w = target.weight(s).unwrap_or(0);
                if w == 0 {
                    out.push_str(&format!("server {s} down;  # pool {}\n", p.name));
                } else {
                    out.push_str(&format!("server {s} weight={w};  # pool {}\n", p.name));
                }
            }
        }
        out
    }

    fn old_content(&self, from: Option<&Snapshot>) -> Result<Option<String>, String> {
        match from.map(|f| &f.raw) {
            Some(Raw::File(c)) => Ok(c.clone()),
            _ => self.current(),
        }
    }

    fn install(
        &self,
        old: &Option<String>,
        new: &str,
        timeout: Duration,
    ) -> Result<Vec<Action>, ApplyError> {
        let deadline = Deadline::after(timeout);
        let path = self.upstream_file.display().to_string();
        self.put(Some(new)).map_err(|message| ApplyError {
            message,
            left: Left::Unchanged,
        })?;
        let mut done = vec![Action::Write {
            path: path.clone(),
            diff: unified_diff(old.as_deref().unwrap_or(""), new, &path),
        }];
        for (what, argv) in [("test", &self.test), ("reload", &self.reload)] {
            let failure = match run_step(argv, deadline) {
                Ok(f) if f.success() => {
                    done.push(Action::Run(argv.clone()));
                    continue;
                }
                Ok(f) => format!(
                    "nginx {what} `{}` failed ({})",
                    command::display(argv),
                    f.describe()
                ),
                Err(e) => format!("nginx {what}: {e}"),
            };
            return Err(match self.put(old.as_deref()) {
                Ok(()) => ApplyError {
                    message: format!("{failure}; the previous upstream file is back in place"),
                    left: Left::Restored,
                },
                Err(e) => ApplyError {
                    message: format!(
                        "{failure}; putting the previous upstream file back failed too: {e}"
                    ),
                    left: Left::Changed,
                },
            });
        }
        Ok(done)
    }

    /// Write `content` atomically, or remove the file for `None`.
    fn put(&self, content: Option<&str>) -> Result<(), String> {
        let r = match content {
            Some(c) => golive_core::fs::write_atomic(&self.upstream_file, c.as_bytes()),
            None => golive_core::fs::remove_durable(&self.upstream_file),
        };
        r.map_err(|e| format!("cannot write {}: {e}", self.upstream_file.display()))
    }
}

fn run_step(argv: &[String], deadline: Deadline) -> Result<command::Finished, String> {
    let left = deadline.left();
    if left.is_zero() {
        return Err(format!("no time left to run {}", command::display(argv)));
    }
    command::run(argv, &[], left)
}

/// `(address, weight)` for each `server` line; `down` reads as weight 0.
pub fn parse(text: &str) -> Result<Vec<(String, u32)>, String> {
    let mut clean = String::new();
    for line in text.lines() {
        clean.push_str(line.split('#').next().unwrap_or(""));
        clean.push('\n');
    }
    let mut out = Vec::new();
    for stmt in clean.split(';') {
        let words: Vec<&str> = stmt.split_whitespace().collect();
        match words.first() {
            None => continue,
            Some(&"server") => {}
            Some(other) => {
                return Err(format!(
                    "unexpected directive `{other}` (shift writes only `server` lines)"
                ));
            }
        }
        let addr = words
            .get(1)
            .ok_or_else(|| "a `server` line without an address".to_string())?;
        let mut weight = 1u32;
        let mut down = false;
        for w in &words[2..] {
            if let Some(v) = w.strip_prefix("weight=") {
                weight = v
                    .parse()
                    .map_err(|_| format!("bad weight in `{}`", stmt.trim()))?;
            } else if *w == "down" {
                down = true;
            }
        }
        out.push((addr.to_string(), if down { 0 } else { weight }));
    }
    Ok(out)
}

/// A unified diff of two small texts (`--- path` / `+++ path`), empty when
/// they are equal.
pub fn unified_diff(old: &str, new: &str, path: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence table; upstream files are small.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let mut out = format!(
        "--- {path}\n+++ {path}\n@@ -1,{} +1,{} @@\n",
        a.len(),
        b.len()
    );
    for (op, line) in ops {
        out.push(op);
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::{Split, parse_spec};

    #[test]
    fn render_and_parse_round_trip() {
        let pools = vec![
            Pool {
                name: "blue".into(),
                servers: vec!["127.0.0.1:8081".into(), "127.0.0.1:8082".into()],
            },
            Pool {
                name: "green".into(),
                servers: vec!["127.0.0.1:8083".into()],
            },
        ];
        let n = Nginx {
            upstream_file: "/x".into(),
            test: vec!["true".into()],
            reload: vec!["true".into()],
        };
        let split = Split::resolve(&parse_spec("green=100").unwrap(), &pools).unwrap();
        let t = Target::new(&split, &pools, 256);
        let text = n.render(&pools, &t);
        assert!(text.contains("server 127.0.0.1:8081 down;"), "{text}");
        assert!(text.contains("server 127.0.0.1:8083 weight=1;"), "{text}");
        assert_eq!(
            parse(&text).unwrap(),
            vec![
                ("127.0.0.1:8081".into(), 0),
                ("127.0.0.1:8082".into(), 0),
                ("127.0.0.1:8083".into(), 1)
            ]
        );
        assert_eq!(
            parse("server a:1 max_fails=3;\n").unwrap(),
            vec![("a:1".into(), 1)]
        );
        assert!(parse("upstream x {").is_err());
    }

    #[test]
    fn diff_marks_changed_lines() {
        let d = unified_diff("a\nb\nc\n", "a\nB\nc\n", "f");
        assert_eq!(d, "--- f\n+++ f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
        assert_eq!(unified_diff("x\n", "x\n", "f"), "");
    }

    #[test]
    fn server_addresses_cannot_inject_config() {
        assert!(valid_server("127.0.0.1:8080"));
        assert!(valid_server("unix:/run/app.sock"));
        assert!(!valid_server("1.2.3.4:80; include /etc/passwd"));
        assert!(!valid_server("a}"));
    }
}
