//! The `ingest_record` claim.
//!
//! Body (a JSON object; field order here is for reading, the canonical form sorts keys):
//!
//! ```text
//! {
//!   "schema": "pipeline/ingest_record/v1",
//!   "file_sha256": "<64 hex>",        SHA-256 of the raw bytes, BOM included
//!   "file_bytes": N,
//!   "profile": "cdk" | "reynolds" | "dealertrack" | "pbs" | "quorum",
//!   "export": "sales" | "service" | "inventory" | "gl",
//!   "encoding": "utf-8" | "windows-1252",   as declared
//!   "accepted": bool,
//!   "rows": N,                        data rows read
//!   "neutralised": N,                 text cells prefixed with '
//!   "columns": ["deal_number", ...],  canonical columns present, in file order
//!   "rejections": [{"kind": "pii_column", "row": 1, "column_index": 3}, ...],
//!   "tool": "pipeline <version>"
//! }
//! ```
//!
//! `rejections` is empty exactly when `accepted` is true. It holds kinds, rows and 0-based
//! column indexes only: no header text and no message, because in a headerless or hostile file
//! the "header" is data (a customer's name in the first row would otherwise be written to the
//! ledger). The idempotency key is `ingest:<profile>:<export>:<file_sha256>`, so sending the
//! same file twice for the same profile returns the first receipt.

use std::io::Read;

use evidence_core::claim::{Claim, ClaimError, ClaimKind};
use evidence_core::sink::{AppendReceipt, AppendRequest, ClaimSink};
use serde_json::json;

use super::{Options, Profile, ReadError, Report};

/// The body's schema tag.
pub const SCHEMA: &str = "pipeline/ingest_record/v1";

/// The append request for a checked file. The report must carry the file hash.
///
/// # Errors
/// [`IngestClaimError::NoHash`] when the report was made without hashing, or the claim
/// error when the body cannot be made canonical.
pub fn ingest_request(profile: &Profile, opts: &Options, report: &Report) -> Result<AppendRequest, IngestClaimError> {
    let sha = report.sha256.ok_or(IngestClaimError::NoHash)?;
    let sha_hex = hex::encode(sha);
    let rejections: Vec<_> =
        report.errors.iter().map(|e| json!({ "kind": e.kind.name(), "row": e.row, "column_index": e.column_index })).collect();
    let body = json!({
        "schema": SCHEMA,
        "file_sha256": sha_hex,
        "file_bytes": report.stats.bytes_read,
        "profile": profile.dms.name(),
        "export": profile.export.name(),
        "encoding": opts.encoding.name(),
        "accepted": report.accepted,
        "rows": report.rows,
        "neutralised": report.neutralised,
        "columns": report.columns,
        "rejections": rejections,
        "tool": concat!("pipeline ", env!("CARGO_PKG_VERSION")),
    });
    let claim = Claim::new(ClaimKind::IngestRecord, body)?;
    claim.canonical_bytes()?;
    let key = format!("ingest:{}:{}:{sha_hex}", profile.dms.name(), profile.export.name());
    Ok(AppendRequest::new(claim).with_idempotency_key(key))
}

/// Why a claim could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestClaimError {
    /// The report has no file hash (check with `Options::hash`).
    #[error("the report has no file hash")]
    NoHash,
    /// The body has no canonical form or is too large.
    #[error(transparent)]
    Claim(#[from] ClaimError),
}

/// A file checked and its claim written.
#[derive(Debug)]
pub struct IngestOutcome {
    /// The verdict.
    pub report: Report,
    /// What was appended.
    pub request: AppendRequest,
    /// The sink's receipt.
    pub receipt: AppendReceipt,
}

/// Why [`ingest_file`] wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestFileError<E: std::error::Error + 'static> {
    /// The input could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The claim could not be built.
    #[error(transparent)]
    Claim(#[from] IngestClaimError),
    /// The sink refused or failed.
    #[error("sink: {0}")]
    Sink(#[source] E),
}

/// Checks `input` against `profile` (streaming, hashing) and appends one `ingest_record`
/// claim through `sink`, for an accepted or a refused file alike (see the module docs for what
/// a refusal records). The rows themselves are not stored.
///
/// The input is read synchronously: from an async runtime, call this on a blocking thread or
/// with an in-memory reader.
///
/// # Errors
/// [`IngestFileError`]: unreadable input, an unbuildable claim, or the sink's error.
pub async fn ingest_file<S: ClaimSink, R: Read>(
    sink: &S,
    profile: &Profile,
    input: R,
    opts: &Options,
) -> Result<IngestOutcome, IngestFileError<S::Error>> {
    let opts = Options { hash: true, ..*opts };
    let report = super::check(profile, input, &opts, |_| {})?;
    let request = ingest_request(profile, &opts, &report)?;
    let receipt = sink.append(request.clone()).await.map_err(IngestFileError::Sink)?;
    Ok(IngestOutcome { report, request, receipt })
}
