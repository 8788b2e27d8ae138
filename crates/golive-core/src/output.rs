//! Output formats and the stdout writer.
//!
//! stdout carries only the machine result, written as the tool built it:
//! secrets were masked where they stood (see [`crate::redact`]), so nothing
//! here rewrites the text. A closed pipe (`probe … | head`) is not an error.

use std::fmt::Write as _;
use std::io::Write;

use serde_json::Value;

/// `--format`: what stdout carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// One JSON document, printed once at the end (default).
    #[default]
    Json,
    /// One JSON object per event as it happens; the last line is the summary.
    Ndjson,
    /// For people: aligned and short.
    Text,
    /// Prometheus text exposition (node_exporter's textfile collector).
    Prom,
    /// Comma-separated values, one row per item.
    Csv,
}

impl Format {
    /// The name as typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Text => "text",
            Format::Prom => "prom",
            Format::Csv => "csv",
        }
    }
}

/// Write `text` to stdout and flush. A broken pipe is ignored.
pub fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    // A reader that went away (EPIPE) is success, not a crash.
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// Print one JSON document, pretty, followed by a newline.
pub fn emit_json(doc: &Value) {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    emit(&s);
}

/// Print one JSON object on one line (an ndjson event or the final summary).
pub fn emit_line(doc: &Value) {
    let mut s = serde_json::to_string(doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    emit(&s);
}

/// Print a summary in `json` or `ndjson` form; other formats are the tool's.
pub fn emit_summary_json(format: Format, doc: &Value) {
    match format {
        Format::Ndjson => emit_line(doc),
        _ => emit_json(doc),
    }
}

/// Text from outside (a server's warning, a command's output) made safe for
/// a terminal: control characters, escape sequences among them, print as
/// `\u{1b}` instead of acting on the screen. Newlines and tabs become spaces.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Align rows into columns separated by two spaces; the last column is not
/// padded. Column widths count characters, not bytes.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let pad = width[i] - c.chars().count();
                line.push_str(c);
                line.extend(std::iter::repeat_n(' ', pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Prometheus text exposition, built metric by metric.
///
/// ```
/// let mut p = golive_core::output::Prom::default();
/// p.header("probe_success", "gauge", "Whether the check passed.");
/// p.sample("probe_success", &[("check", "api")], 1.0);
/// assert!(p.finish().contains("probe_success{check=\"api\"} 1\n"));
/// ```
#[derive(Debug, Default)]
pub struct Prom {
    out: String,
    seen: Vec<String>,
}

impl Prom {
    /// Write `# HELP` and `# TYPE` once per metric name.
    pub fn header(&mut self, name: &str, kind: &str, help: &str) {
        if self.seen.iter().any(|s| s == name) {
            return;
        }
        self.seen.push(name.to_string());
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// Write one sample; label values are escaped.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{k}=\"{v}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", prom_number(value));
    }

    /// The exposition text.
    pub fn finish(self) -> String {
        self.out
    }
}

fn prom_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(&[
            vec!["NAME".into(), "STATUS".into(), "MESSAGE".into()],
            vec!["api".into(), "OK".into(), "200 in 3ms".into()],
            vec!["postgres".into(), "CRITICAL".into(), "refused".into()],
        ]);
        assert_eq!(
            t,
            "NAME      STATUS    MESSAGE\napi       OK        200 in 3ms\npostgres  CRITICAL  refused\n"
        );
    }

    #[test]
    fn printable_defuses_terminal_escapes() {
        assert_eq!(printable("a\u{1b}[2Jb\u{7}\nc"), "a\\u{1b}[2Jb\\u{7} c");
    }

    #[test]
    fn prom_escapes_and_formats() {
        let mut p = Prom::default();
        p.header("m", "gauge", "h");
        p.header("m", "gauge", "h");
        p.sample("m", &[("a", "x\"y")], 0.25);
        p.sample("m", &[], f64::NAN);
        assert_eq!(
            p.finish(),
            "# HELP m h\n# TYPE m gauge\nm{a=\"x\\\"y\"} 0.25\nm NaN\n"
        );
    }
}
