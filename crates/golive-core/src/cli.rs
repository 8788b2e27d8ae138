//! Command-line parsing that keeps the contract: `--help` and `--version`
//! exit 0, every other parse failure prints one line and exits 64 (never
//! clap's own 2, which means CRITICAL here).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};

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
    C: clap::Parser + CommandFactory + FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cmd = hide_secret_env_values(C::command());
    match cmd
        .try_get_matches_from(&args)
        .and_then(|m| C::from_arg_matches(&m))
    {
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
                register_arguments(&args);
                crate::log::error_line(tool, &one_line(&e));
                Err(ExitCode::from(EXIT_USAGE))
            }
        },
    }
}

/// Parse `args` into `C` for a tool used as a library (rollback running
/// shift, probe, dns-watch and metric-gate): nothing is printed; a parse
/// failure is a usage error carrying clap's message on one line.
pub fn try_parse<C, I, T>(args: I) -> Result<C, crate::Error>
where
    C: clap::Parser,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    C::try_parse_from(&args).map_err(|e| {
        register_arguments(&args);
        crate::Error::usage(one_line(&e))
    })
}

/// A parse error may repeat an argument: register the secrets the arguments
/// carry at known positions first, so they print as `***` (parsing failed
/// before the tool could see them).
fn register_arguments(args: &[OsString]) {
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    crate::redact::register_argv(&words);
}

/// `--help` shows `[env: NAME=value]` for variables that are set; a value
/// that carries a secret (a URL password, `?token=`, a bearer header in a
/// command line) or belongs to a secret-named variable shows as
/// `[env: NAME]` only.
fn hide_secret_env_values(cmd: clap::Command) -> clap::Command {
    let cmd = cmd.mut_args(|a| {
        let secret = a.get_env().is_some_and(|name| {
            let name = name.to_string_lossy();
            let value = std::env::var_os(name.as_ref())
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default();
            crate::redact::is_sensitive_name(&name) || crate::redact::carries_secret(&value)
        });
        if secret { a.hide_env_values(true) } else { a }
    });
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    subs.iter().fold(cmd, |c, name| {
        c.mut_subcommand(name, hide_secret_env_values)
    })
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
            crate::redact::scrub("unexpected 'postgres://u:pw-in-argv@h/db'"),
            "unexpected 'postgres://u:***@h/db'"
        );
        crate::redact::register_argv(&["X-API-Key: key-in-argv"]);
        assert_eq!(crate::redact::scrub("key-in-argv"), "***");
    }

    #[derive(Parser, Debug)]
    #[command(name = "e")]
    struct E {
        #[arg(long, env = "GOLIVE_CLI_TEST_URL")]
        url: Option<String>,
        #[arg(long, env = "GOLIVE_CLI_TEST_PLAIN")]
        plain: Option<String>,
    }

    #[test]
    fn help_hides_secret_environment_values() {
        // SAFETY: only this test reads or writes these variables.
        unsafe {
            std::env::set_var(
                "GOLIVE_CLI_TEST_URL",
                "http://u:env-pw-77@h/?token=env-tok-78",
            );
            std::env::set_var("GOLIVE_CLI_TEST_PLAIN", "http://prom:9090");
        }
        let help = hide_secret_env_values(E::command())
            .render_help()
            .to_string();
        assert!(
            !help.contains("env-pw-77") && !help.contains("env-tok-78"),
            "{help}"
        );
        assert!(help.contains("GOLIVE_CLI_TEST_URL"), "{help}");
        assert!(
            help.contains("GOLIVE_CLI_TEST_PLAIN=http://prom:9090"),
            "{help}"
        );
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
