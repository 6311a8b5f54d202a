//! Upload state: one row per dealer export sent through a signed upload URL or the SFTP drop
//! (the HTTP and drop-directory code is in `ledger-server`'s `uploads` module).
//!
//! The row lives in the tenant's own store (SQLite file or PostgreSQL schema, migration
//! `0003_uploads.sql`), so one tenant's handle cannot name another tenant's uploads. Every
//! state change is one conditional `UPDATE … WHERE state = <expected>`, so of two racing
//! writers exactly one wins (a second `PUT` of a URL, two replicas processing one file).
//!
//! ```text
//! pending ──PUT claims it──► receiving ──body stored──► received ──checked──► ingested
//!    ▲                          │                                   └───────► refused
//!    └── lease expired (crash) ─┘
//! ```
//!
//! A `receiving` row carries a lease that the receiving process renews while the body
//! streams; if that process dies, the lease runs out and the URL can be used again until it
//! expires (the body was never acknowledged, so nothing acknowledged is lost). `received`
//! is written (and committed) before the upload is acknowledged; ingestion then appends its
//! claim with the idempotency key `upload:<id>`, so running it again after a crash returns
//! the first receipt instead of a second claim.

use std::future::Future;

use evidence_core::UnixMillis;

use super::{StoreError, TenantStore};

/// The state of an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UploadState {
    /// Created; no body yet.
    Pending,
    /// A body is streaming in (under a lease).
    Receiving,
    /// The body is stored; not yet checked.
    Received,
    /// Checked and refused (errors recorded).
    Refused,
    /// Checked, accepted and its claims appended.
    Ingested,
}

impl UploadState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Receiving => "receiving",
            Self::Received => "received",
            Self::Refused => "refused",
            Self::Ingested => "ingested",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a name this code never writes.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => Self::Pending,
            "receiving" => Self::Receiving,
            "received" => Self::Received,
            "refused" => Self::Refused,
            "ingested" => Self::Ingested,
            other => return Err(StoreError::Corrupt(format!("upload state {other:?}"))),
        })
    }
}

/// A new upload row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUpload {
    /// The upload id (unique in the tenant).
    pub id: String,
    /// How it arrives: `url` or `sftp`.
    pub via: String,
    /// The file name the sender gave (URL) or the drop-directory path (SFTP).
    pub source: String,
    /// DMS profile name.
    pub profile: String,
    /// Export name.
    pub export: String,
    /// Largest body accepted.
    pub max_bytes: u64,
    /// When the URL stops being accepted.
    pub expires_at: UnixMillis,
    /// Creation time.
    pub created_at: UnixMillis,
    /// The initial state (`Pending` for a URL; `Received` for a file the drop already holds).
    pub state: UploadState,
    /// Body size, when already known.
    pub bytes: Option<u64>,
    /// Body SHA-256 (hex), when already known.
    pub sha256: Option<String>,
}

/// A stored upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadRow {
    /// Position in the tenant's list (paging key).
    pub n: u64,
    /// What was created.
    pub upload: NewUpload,
    /// Current state.
    pub state: UploadState,
    /// The receiving lease, while `Receiving`.
    pub lease_until: Option<UnixMillis>,
    /// Last change.
    pub updated_at: UnixMillis,
    /// Body size once received.
    pub bytes: Option<u64>,
    /// Body SHA-256 (hex) once received.
    pub sha256: Option<String>,
    /// The refusal's errors (JSON array), once checked.
    pub errors: Option<String>,
    /// Sequence numbers of the claims written for it (JSON array), once checked.
    pub claims: Option<String>,
}

/// A change of state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadChange {
    /// The receiving lease (kept unless set).
    pub lease_until: Option<UnixMillis>,
    /// Body size (kept unless set).
    pub bytes: Option<u64>,
    /// Body SHA-256 hex (kept unless set).
    pub sha256: Option<String>,
    /// Errors JSON (kept unless set).
    pub errors: Option<String>,
    /// Claims JSON (kept unless set).
    pub claims: Option<String>,
}

/// The upload rows of one tenant (implemented by both SQL backends).
pub trait UploadStore: TenantStore {
    /// Stores a new upload.
    ///
    /// # Errors
    /// [`StoreError::Db`], also when the id exists.
    fn create_upload(&self, upload: &NewUpload) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One upload.
    ///
    /// # Errors
    /// [`StoreError`].
    fn upload(&self, id: &str) -> impl Future<Output = Result<Option<UploadRow>, StoreError>> + Send;

    /// Uploads with `n >= from`, at most `limit`, in creation order.
    ///
    /// # Errors
    /// [`StoreError`].
    fn uploads(&self, from: u64, limit: u32) -> impl Future<Output = Result<Vec<UploadRow>, StoreError>> + Send;

    /// Uploads in `state`, oldest first, at most `limit` (recovery after a restart).
    ///
    /// # Errors
    /// [`StoreError`].
    fn uploads_in(&self, state: UploadState, limit: u32) -> impl Future<Output = Result<Vec<UploadRow>, StoreError>> + Send;

    /// Claims an unexpired upload for receiving its body: succeeds (true) for exactly one
    /// caller when the row is `Pending`, or `Receiving` under a lease that ran out at `now`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn begin_receive(&self, id: &str, now: UnixMillis, lease_until: UnixMillis) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Moves the upload from `from` to `to` with `change` applied; false (and nothing
    /// written) when it is not in `from`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn change_upload(
        &self,
        id: &str,
        from: UploadState,
        to: UploadState,
        change: &UploadChange,
        now: UnixMillis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
