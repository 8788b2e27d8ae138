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
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    for a in &args {
        register_secrets(&a.to_string_lossy());
    }
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

/// Register the secrets an argument may carry (a URL or DSN password, a
/// sensitive header's value), so a usage error that repeats the argument
/// prints them as `***` — parsing fails before the tool sees them.
fn register_secrets(arg: &str) {
    use crate::redact;
    if arg.contains("://") || arg.contains('=') {
        let _ = redact::dsn(arg);
    }
    if let Some((name, value)) = arg.split_once(':')
        && !name.contains(char::is_whitespace)
    {
        let _ = redact::header(name, value);
    }
}

/// clap's error as a single line: its message without the `error: ` prefix,
/// with the lines that belong to it (a list of missing arguments) joined on,
/// and without the usage and `--help` hints.
fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut parts: Vec<&str> = Vec::new();
    for line in rendered.lines().map(str::trim) {
        if line.is_empty() {
            if parts.is_empty() {
                continue;
            }
            break;
        }
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line));
    }
    let msg = if parts.is_empty() {
        "invalid arguments".to_string()
    } else {
        parts.join(" ")
    };
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

    #[derive(Parser, Debug)]
    #[command(name = "r")]
    struct R {
        #[arg(long, required = true)]
        split: String,
        dsn: String,
    }

    #[test]
    fn a_missing_argument_is_named() {
        let e = R::try_parse_from(["r", "postgres://x"]).unwrap_err();
        let m = one_line(&e);
        assert!(m.contains("--split"), "{m}");
        assert!(!m.contains('\n') && m.ends_with("(see --help)"), "{m}");
    }

    #[test]
    fn secrets_in_arguments_are_registered_before_parsing() {
        let r = parse::<R, _, _>(
            "r",
            ["r", "--split", "a", "postgres://u:pw-in-argv@h/db", "extra"],
        );
        assert_eq!(r.unwrap_err(), ExitCode::from(64));
        assert_eq!(
            crate::redact::apply("unexpected 'postgres://u:pw-in-argv@h/db'"),
            "unexpected 'postgres://u:***@h/db'"
        );
        register_secrets("X-API-Key: key-in-argv");
        assert_eq!(crate::redact::apply("key-in-argv"), "***");
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
