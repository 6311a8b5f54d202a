//! The three outcomes every subcommand ends in, their exit codes, and how the single-input
//! subcommands report the two that are not a success.

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

/// Reports that the checks could not run (unreadable input, bad arguments): with `--json`,
/// `{"verified": null, "error": ...}` on stdout; otherwise a line on stderr.
pub fn could_not_check(json: bool, reason: &str) -> Outcome {
    if json {
        println!("{}", serde_json::json!({ "verified": null, "error": reason }));
    } else {
        eprintln!("evidence-verify: could not check: {reason}");
    }
    Outcome::CouldNotCheck
}

/// Reports a failed verification: with `--json`, `{"verified": false, "reason": ...}` plus
/// the fields of `extra` (an object) on stdout; otherwise `NOT VERIFIED  reason`.
pub fn not_verified(json: bool, reason: &str, extra: serde_json::Value) -> Outcome {
    if json {
        let mut out = serde_json::json!({ "verified": false, "reason": reason });
        if let (Some(o), serde_json::Value::Object(e)) = (out.as_object_mut(), extra) {
            o.extend(e);
        }
        println!("{out}");
    } else {
        println!("NOT VERIFIED  {reason}");
    }
    Outcome::NotVerified
}
