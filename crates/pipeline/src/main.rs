//! `pipeline`: the DMS CSV checker and ingester. Glue only; see the library's `ingest::cli`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pipeline::ingest::cli::{self, CheckArgs, IngestArgs};

/// DMS CSV ingest and checks.
#[derive(Debug, Parser)]
#[command(name = "pipeline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a DMS CSV export without writing anything (exit 0 accepted, 1 refused, 2 unreadable).
    Check(CheckArgs),
    /// Check a DMS CSV export and write its ingest_record claim.
    Ingest(IngestArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() { cli::EXIT_UNREADABLE } else { 0 };
            return ExitCode::from(code);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let code = match &cli.command {
        Command::Check(a) => cli::run_check(a, &mut out, &mut err),
        Command::Ingest(a) => cli::run_ingest(a, &mut out, &mut err),
    };
    ExitCode::from(code)
}
