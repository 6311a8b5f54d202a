//! The three outcomes every subcommand ends in, and their exit codes.

use std::process::ExitCode;

/// How a verification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed: exit 0.
    Verified,
    /// At least one check failed, or the input was malformed: exit 1.
    NotVerified,
    /// The checks could not run: unreadable files, bad arguments: exit 2.
    CouldNotCheck,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Verified => ExitCode::from(0),
            Outcome::NotVerified => ExitCode::from(1),
            Outcome::CouldNotCheck => ExitCode::from(2),
        }
    }
}
