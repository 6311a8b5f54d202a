//! The `pipeline` command line. Each subcommand's arguments and behaviour live in its
//! module (`ingest::cli`, `redact::cli`); this file only dispatches.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pipeline::ingest::cli::{self, CheckArgs, IngestArgs};

/// Evidence-ledger pipeline tools: DMS CSV checks and ingest, and the offline PII redactor.
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
    /// Analyze a DMS CSV export for revenue leakage and write findings, consumers and the gate.
    ///
    /// Idempotent: running it again over the same export does not write the same findings
    /// again. Each finding carries an idempotency key derived from (export file SHA-256,
    /// analyzer rule, subject) and each scorecard, score, affinity and gate claim one derived
    /// from the file and the set of findings; the ledger keeps keys per tenant, so a repeated
    /// run is accepted and answers the first run's receipts (the same seq numbers) and the
    /// log does not grow. A different file (one byte changed), or findings that differ (other
    /// analyzer rules), are written as new claims. The key does not include --as-of: the same
    /// export analyzed on another day answers the first day's findings.
    Analyze(pipeline::analyze::cli::AnalyzeArgs),
    /// Redact customer PII from a JSONL file, offline.
    Redact(pipeline::redact::cli::RedactArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // Bad arguments exit 2 (could not run); --help and --version exit 0.
            let code = if e.use_stderr() { cli::EXIT_UNREADABLE } else { 0 };
            return ExitCode::from(code);
        }
    };
    match &cli.command {
        Command::Check(a) => ExitCode::from(cli::run_check(a, &mut std::io::stdout().lock(), &mut std::io::stderr().lock())),
        Command::Ingest(a) => ExitCode::from(cli::run_ingest(a, &mut std::io::stdout().lock(), &mut std::io::stderr().lock())),
        Command::Analyze(a) => {
            ExitCode::from(pipeline::analyze::cli::run_analyze(a, &mut std::io::stdout().lock(), &mut std::io::stderr().lock()))
        }
        Command::Redact(args) => pipeline::redact::cli::run(args),
    }
}
