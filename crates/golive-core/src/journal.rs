//! Append-only NDJSON records that survive a crash: one fsynced JSON object
//! a line, read back with torn-line tolerance. shift's journal, rollback's
//! journal and a launch's timeline are this same mechanism.

use std::path::Path;

use serde_json::{Map, Value, json};

/// What reading a journal found.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    /// Whether the file exists.
    pub exists: bool,
    /// Every line that is a JSON object, in order.
    pub objects: Vec<Value>,
    /// Lines that are not JSON objects (torn by a crash mid-write, cut
    /// inside a multi-byte character, garbage): skipped and counted.
    pub unreadable: usize,
}

/// Read every line of `path`; a missing file is an empty journal.
///
/// The file is read as bytes: one bad line never makes the rest unreadable.
pub fn read(path: &Path) -> Result<Lines, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lines::default()),
        Err(e) => return Err(format!("cannot read journal {}: {e}", path.display())),
    };
    let mut out = Lines {
        exists: true,
        ..Default::default()
    };
    for line in bytes.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(v) if v.is_object() => out.objects.push(v),
            _ => out.unreadable += 1,
        }
    }
    Ok(out)
}

/// Append `line` as one compact JSON line and fsync it (and the directory,
/// when the file is new). A torn last line is ended first, so the new line
/// stands on its own.
///
/// The line is written as the caller built it: secrets in it were masked
/// where they were made ([`crate::redact`]).
pub fn append(path: &Path, line: &Value) -> Result<(), String> {
    let text = serde_json::to_string(line).map_err(|e| e.to_string())?;
    crate::fs::append_line(path, &text)
        .map_err(|e| format!("cannot append to journal {}: {e}", path.display()))
}

/// Who acts: user, `SUDO_USER`, host and pid.
#[derive(Debug, Clone)]
pub struct Who {
    /// Effective user name (or uid).
    pub user: String,
    /// `SUDO_USER`, when run through sudo.
    pub sudo_user: Option<String>,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
}

/// The user, host and pid of this process.
pub fn who() -> Who {
    Who {
        user: whoami::username()
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| rustix::process::geteuid().as_raw().to_string()),
        sudo_user: std::env::var("SUDO_USER").ok().filter(|s| !s.is_empty()),
        host: whoami::hostname()
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".into()),
        pid: std::process::id(),
    }
}

impl Who {
    /// `user@host` (the sudo user's name when run through sudo).
    pub fn started_by(&self) -> String {
        format!(
            "{}@{}",
            self.sudo_user.as_deref().unwrap_or(&self.user),
            self.host
        )
    }

    /// The fields every intent carries.
    pub fn fields(&self, m: &mut Map<String, Value>) {
        m.insert("user".into(), json!(self.user));
        if let Some(s) = &self.sudo_user {
            m.insert("sudo_user".into(), json!(s));
        }
        m.insert("host".into(), json!(self.host));
        m.insert("pid".into(), json!(self.pid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_and_garbage_lines_are_counted_not_fatal() {
        let dir = std::env::temp_dir().join(format!("golive-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("j");
        assert!(!read(&p).unwrap().exists);
        append(&p, &json!({"a": 1})).unwrap();
        let mut raw = std::fs::read(&p).unwrap();
        raw.extend_from_slice(b"[1]\n\xff\xfe\n{\"b\":\"caf\xc3");
        std::fs::write(&p, raw).unwrap();
        append(&p, &json!({"c": 3})).unwrap();
        let l = read(&p).unwrap();
        assert_eq!(l.objects, vec![json!({"a": 1}), json!({"c": 3})]);
        assert_eq!(l.unreadable, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn who_names_this_process() {
        let w = who();
        assert_eq!(w.pid, std::process::id());
        assert!(!w.user.is_empty() && !w.host.is_empty());
        assert!(w.started_by().contains('@'));
    }
}
