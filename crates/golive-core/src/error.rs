//! The one error type every tool returns; it knows its exit code.

use crate::status::{EXIT_USAGE, Status};

/// A shorthand for results carrying [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a tool could not produce its normal report.
///
/// Messages are single readable sentences; the binary prints them as
/// `tool: message` on stderr (redacted) and exits with [`Error::exit_code`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or values given by the user (exit 64).
    #[error("{0}")]
    Usage(String),
    /// An unreadable or invalid configuration file (exit 64).
    #[error("{}", config_message(path, *line, *column, message))]
    Config {
        /// The file, as the user named it.
        path: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// What is wrong, naming the key where possible.
        message: String,
    },
    /// The tool could not see its evidence or reach its target (exit 3).
    #[error("{0}")]
    Unknown(String),
    /// The tool saw a failure (exit 2).
    #[error("{0}")]
    Critical(String),
}

fn config_message(path: &str, line: Option<usize>, column: Option<usize>, message: &str) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{path}:{l}:{c}: {message}"),
        (Some(l), None) => format!("{path}:{l}: {message}"),
        _ => format!("{path}: {message}"),
    }
}

impl Error {
    /// A usage error from anything printable.
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    /// An UNKNOWN error from anything printable.
    pub fn unknown(msg: impl Into<String>) -> Self {
        Error::Unknown(msg.into())
    }

    /// The exit code the process ends with.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Config { .. } => EXIT_USAGE,
            Error::Unknown(_) => Status::Unknown.exit_code(),
            Error::Critical(_) => Status::Critical.exit_code(),
        }
    }

    /// The monitoring status this error stands for, if it is not a usage error.
    pub fn status(&self) -> Option<Status> {
        match self {
            Error::Usage(_) | Error::Config { .. } => None,
            Error::Unknown(_) => Some(Status::Unknown),
            Error::Critical(_) => Some(Status::Critical),
        }
    }

    /// Print `tool: message` on stderr (redacted, even under `-q`) and return
    /// the exit code, for the top of `run()`.
    pub fn report(&self, tool: &str) -> std::process::ExitCode {
        crate::log::error_line(tool, &self.to_string());
        std::process::ExitCode::from(self.exit_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_config_errors_exit_64() {
        assert_eq!(Error::usage("bad").exit_code(), 64);
        let e = Error::Config {
            path: "x.toml".into(),
            line: Some(3),
            column: Some(7),
            message: "unknown field `foo`".into(),
        };
        assert_eq!(e.exit_code(), 64);
        assert_eq!(e.to_string(), "x.toml:3:7: unknown field `foo`");
    }

    #[test]
    fn runtime_errors_map_to_status() {
        assert_eq!(Error::unknown("no route").exit_code(), 3);
        assert_eq!(Error::Critical("down".into()).exit_code(), 2);
    }
}
