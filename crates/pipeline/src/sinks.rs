//! Where the pipeline's claims go: always through [`ClaimSink`](evidence_core::ClaimSink).
//!
//! The command line writes to a ledger server through `ledger_client::TenantClient` (an HTTP
//! `ClaimSink` and `Retractor` over the API types the server itself uses), opened by
//! [`crate::ingest::cli::LedgerArgs::open`]. A program linking the pipeline may pass any
//! `ClaimSink` (the ledger server runs ingest on uploads with its in-process ledger).
//!
//! Nothing the pipeline produces bypasses a sink: the analyzers, ingest and the redactor's
//! paired AI events are written only through a `ClaimSink`.

use std::path::PathBuf;

/// Why the command line's sink could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkOpenError {
    /// `--data` names a ledger directory: the pipeline no longer opens one in process.
    #[error(
        "--data {dir}: the pipeline no longer writes a ledger directory in process; run `ledger-server dev` (or `serve`) on it and pass --server"
    )]
    LocalLedgerGone {
        /// The directory given.
        dir: PathBuf,
    },
    /// No `--token`, no `PIPELINE_TOKEN`, and the token file cannot be read.
    #[error("no token: pass --token or set PIPELINE_TOKEN, or give a --token-file that exists ({file}: {source})")]
    NoToken {
        /// The token file tried.
        file: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ledger_client::ClientError),
}
