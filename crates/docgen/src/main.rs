//! `golive-docgen OUT`: man pages and shell completions for every golive
//! tool, generated from the same clap definitions the binaries parse with,
//! so they can never disagree with `--help`.
//!
//! Writes `OUT/man/man1/TOOL.1` and `TOOL-SUBCOMMAND.1` (clap_mangen), and
//! `OUT/completions/bash/TOOL`, `OUT/completions/zsh/_TOOL` and
//! `OUT/completions/fish/TOOL.fish` (clap_complete). `make man` runs it;
//! `make install` and `make deb` install what it wrote.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

/// Every tool's command line, as its binary parses it.
fn tools() -> Vec<clap::Command> {
    vec![
        probe::cli::Cli::command(),
        dns_watch::cli::Cli::command(),
        metric_gate::cli::Cli::command(),
        shift::cli::Cli::command(),
        rollback::cli::Cli::command(),
    ]
}

fn write_all(out: &Path) -> std::io::Result<usize> {
    let man = out.join("man/man1");
    std::fs::create_dir_all(&man)?;
    let mut files = 0;
    for cmd in tools() {
        let name = cmd.get_name().to_string();
        clap_mangen::generate_to(cmd.clone(), &man)?;
        for (shell, dir, file) in [
            (Shell::Bash, "bash", name.clone()),
            (Shell::Zsh, "zsh", format!("_{name}")),
            (Shell::Fish, "fish", format!("{name}.fish")),
        ] {
            let dir: PathBuf = out.join("completions").join(dir);
            std::fs::create_dir_all(&dir)?;
            let mut f = std::fs::File::create(dir.join(file))?;
            clap_complete::generate(shell, &mut cmd.clone(), &name, &mut f);
            files += 1;
        }
    }
    files += std::fs::read_dir(&man)?.count();
    Ok(files)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out] = args.as_slice() else {
        eprintln!("usage: golive-docgen OUT_DIR (writes OUT_DIR/man and OUT_DIR/completions)");
        return ExitCode::from(64);
    };
    match write_all(Path::new(out)) {
        Ok(n) => {
            eprintln!("golive-docgen: wrote {n} files under {out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("golive-docgen: {out}: {e}");
            ExitCode::from(3)
        }
    }
}
