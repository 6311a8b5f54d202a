//! The `pipeline` command line. Each subcommand's arguments and behaviour live in its module;
//! this file only dispatches.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

/// Evidence-ledger pipeline tools.
#[derive(Debug, Parser)]
#[command(name = "pipeline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Redact customer PII from a JSONL file, offline.
    Redact(pipeline::redact::cli::RedactArgs),
}

fn main() -> std::process::ExitCode {
    // clap exits with 2 on bad arguments and 0 for --help / --version.
    let cli = Cli::parse();
    match cli.command {
        Command::Redact(args) => pipeline::redact::cli::run(&args),
    }
}
