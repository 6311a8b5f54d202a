//! `evidence-verify`: checks evidence offline. It links evidence-core and nothing
//! that does I/O beyond reading the files it is given.
//!
//! Exit codes (one place, for every subcommand): 0 verified, 1 not verified,
//! 2 could not check (unreadable input, bad arguments).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod input;
mod outcome;
mod tlog_proof;

use outcome::Outcome;

/// Offline verifier for the evidence ledger.
///
/// Exit status: 0 verified, 1 not verified, 2 could not check.
#[derive(Debug, Parser)]
#[command(name = "evidence-verify", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    // -- subcommands: one variant each, implemented in its own module --
    /// Verify a c2sp.org/tlog-proof@v1 file against checkpoint verifier keys.
    TlogProof(tlog_proof::TlogProofArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout with success; usage errors are "could not check".
            let _ = e.print();
            return if e.use_stderr() { Outcome::CouldNotCheck.into() } else { ExitCode::SUCCESS };
        }
    };
    let outcome: Outcome = match &cli.command {
        Command::TlogProof(args) => tlog_proof::run(args),
    };
    outcome.into()
}
