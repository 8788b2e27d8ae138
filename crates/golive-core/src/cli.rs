//! Command-line parsing that keeps the contract: `--help` and `--version`
//! exit 0, every other parse failure prints one line and exits 64 (never
//! clap's own 2, which means CRITICAL here).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::ErrorKind;

use crate::output::Format;
use crate::status::EXIT_USAGE;

/// Flags every tool shares. Flatten into the tool's parser:
/// `#[command(flatten)] common: CommonArgs`.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Json, global = true)]
    pub format: Format,
    /// Silence stderr (errors that end the run still print).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail on stderr (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

impl CommonArgs {
    /// Initialise stderr logging from these flags.
    pub fn init_log(&self, tool: &str) {
        crate::log::init(tool, self.quiet, self.verbose);
    }
}

/// Parse `args` into `C`, or return the exit code to end with.
///
/// Help and version print to stdout and give 0. Any other failure prints
/// `tool: <what was wrong> (see --help)` on stderr and gives 64.
pub fn parse<C, I, T>(tool: &str, args: I) -> Result<C, ExitCode>
where
    C: clap::Parser,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match C::try_parse_from(args) {
        Ok(c) => Ok(c),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                let _ = e.print();
                Err(ExitCode::SUCCESS)
            }
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                Err(ExitCode::from(EXIT_USAGE))
            }
            _ => {
                crate::log::error_line(tool, &one_line(&e));
                Err(ExitCode::from(EXIT_USAGE))
            }
        },
    }
}

/// clap's error as a single line: its first line without the `error: ` prefix.
fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    let msg = first.trim().strip_prefix("error: ").unwrap_or(first.trim());
    format!("{msg} (see --help)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "t", version)]
    struct T {
        #[arg(long, value_parser = crate::units::parse_duration)]
        timeout: Option<std::time::Duration>,
        #[command(flatten)]
        common: CommonArgs,
    }

    #[test]
    fn definition_is_sound() {
        use clap::CommandFactory;
        T::command().debug_assert();
    }

    #[test]
    fn unknown_flag_is_64_not_2() {
        let r = parse::<T, _, _>("t", ["t", "--bogus"]);
        assert_eq!(r.unwrap_err(), ExitCode::from(64));
    }

    #[test]
    fn bad_value_is_64() {
        let r = parse::<T, _, _>("t", ["t", "--timeout", "5"]);
        assert_eq!(r.unwrap_err(), ExitCode::from(64));
    }

    #[test]
    fn help_is_success() {
        let r = parse::<T, _, _>("t", ["t", "--help"]);
        assert_eq!(r.unwrap_err(), ExitCode::SUCCESS);
    }

    #[test]
    fn one_line_message() {
        let e = T::try_parse_from(["t", "--bogus"]).unwrap_err();
        let l = one_line(&e);
        assert!(!l.contains('\n'));
        assert!(l.contains("--bogus"), "{l}");
    }
}
