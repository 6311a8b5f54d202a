//! `evidence-verify`: checks evidence offline. It links evidence-core and nothing
//! that does I/O beyond reading the files it is given.
//!
//! Exit codes (one place, for every subcommand): 0 verified, 1 not verified,
//! 2 could not check (unreadable input, bad arguments).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bundle;
mod fabric_block;
mod input;
mod outcome;
mod report;
mod sniff;
mod timestamp;
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
    /// Verify an evidence bundle offline against a trust file.
    Bundle(bundle::BundleArgs),
    /// Verify every bundle in a directory, in parallel, with a summary table.
    Batch(bundle::BatchArgs),
    /// Verify a run of signed checkpoints and the consistency proofs between them.
    Checkpoints(bundle::CheckpointsArgs),
    /// Verify an RFC 3161 time-stamp response or token offline.
    Timestamp(timestamp::TimestampArgs),
    /// Dump a time-stamp request, response or token in readable form.
    Inspect(timestamp::InspectArgs),
    /// Verify a c2sp.org/tlog-proof@v1 file against checkpoint verifier keys.
    TlogProof(tlog_proof::TlogProofArgs),
    /// Verify one Hyperledger Fabric block offline against trusted MSP roots.
    FabricBlock(fabric_block::FabricBlockArgs),
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
        Command::Bundle(args) => bundle::run_bundle(args),
        Command::Batch(args) => bundle::run_batch(args),
        Command::Checkpoints(args) => bundle::run_checkpoints(args),
        Command::Timestamp(args) => timestamp::run(args),
        Command::Inspect(args) => timestamp::inspect(args),
        Command::TlogProof(args) => tlog_proof::run(args),
        Command::FabricBlock(args) => fabric_block::run(args),
    };
    outcome.into()
}
