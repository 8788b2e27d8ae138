//! The evidence folder, `state_dir/<id>/evidence/`: command outputs, copied
//! files, the rollback's own report and journal, and a `manifest.sha256`
//! that `sha256sum -c` accepts.

use std::io::Write;
use std::path::{Path, PathBuf};

use golive_core::{Deadline, Status, process, redact};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::steps::{Context, Outcome, shown};

/// An evidence step: each command's output in `cmd-N.txt`, each matching
/// file under `files/`. A command or a file that fails is a WARNING (the
/// step's default is to go on).
pub fn collect(
    cx: &Context<'_>,
    commands: &[String],
    files: &[String],
    deadline: Deadline,
) -> Outcome {
    let mut problems = Vec::new();
    let mut kept = Vec::new();
    if let Err(e) = std::fs::create_dir_all(cx.evidence) {
        return Outcome {
            status: Status::Warning,
            message: format!("cannot create {}: {e}", cx.evidence.display()),
            figures: Default::default(),
        };
    }
    for (i, c) in commands.iter().enumerate() {
        let name = format!("cmd-{}.txt", i + 1);
        let argv = vec!["sh".to_string(), "-c".into(), c.clone()];
        let text = match process::run_interruptible(&argv, &crate::steps::env(cx), deadline.left())
        {
            Ok(f) => {
                if !f.success() {
                    problems.push(format!("`{}` {}", shown(c), f.describe()));
                }
                format!(
                    "$ {}\n# exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
                    shown(c),
                    f.code,
                    f.stdout,
                    f.stderr
                )
            }
            Err(e) => {
                problems.push(e.clone());
                format!("$ {}\n# {e}\n", shown(c))
            }
        };
        // What a command printed is foreign text: no known secret is kept.
        match std::fs::write(cx.evidence.join(&name), redact::scrub(&text)) {
            Ok(()) => kept.push(name),
            Err(e) => problems.push(format!("cannot write {name}: {e}")),
        }
    }
    let dir = cx.evidence.join("files");
    for pattern in files {
        let matches: Vec<PathBuf> = match glob::glob(pattern) {
            Ok(m) => m.flatten().filter(|p| p.is_file()).collect(),
            Err(e) => {
                problems.push(format!("'{pattern}' is not a valid glob: {e}"));
                continue;
            }
        };
        if matches.is_empty() {
            problems.push(format!("no file matches {pattern}"));
        }
        for p in matches {
            let _ = std::fs::create_dir_all(&dir);
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".into());
            match std::fs::copy(&p, dir.join(&name)) {
                Ok(_) => kept.push(format!("files/{name}")),
                Err(e) => problems.push(format!("cannot copy {}: {e}", p.display())),
            }
        }
    }
    let status = if problems.is_empty() {
        Status::Ok
    } else {
        Status::Warning
    };
    let mut message = format!("kept {} item(s) in {}", kept.len(), cx.evidence.display());
    if !problems.is_empty() {
        message.push_str(&format!("; {}", problems.join("; ")));
    }
    Outcome {
        status,
        message,
        figures: [("kept".to_string(), json!(kept))].into_iter().collect(),
    }
}

/// Write `manifest.sha256` over every file in `dir` (sorted, relative
/// paths), in the format `sha256sum -c` reads.
pub fn write_manifest(dir: &Path) -> std::io::Result<()> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.retain(|p| p != Path::new("manifest.sha256"));
    files.sort();
    let mut out = Vec::new();
    for rel in files {
        let bytes = std::fs::read(dir.join(&rel))?;
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(out, "{hex}  {}", rel.display())?;
    }
    golive_core::fs::write_atomic(&dir.join("manifest.sha256"), &out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}
