//! Dealer exports sent to the server (issue #25): signed upload URLs and per-tenant SFTP drop
//! directories, both ending in the pipeline's ingest.
//!
//! - [`files`]: the encrypted tenant file store over a backend: a local directory or an
//!   S3-compatible bucket.
//! - [`url`]: signing and verifying upload URLs (HMAC-SHA-256 with key ids, expiry, constant-
//!   time comparison).
//! - [`service`]: creating URLs, receiving bodies, ingestion through the pipeline, audit
//!   entries, metrics and the recovery sweep at start.
//! - [`http`]: the routes (`POST/GET …/uploads`, `GET …/uploads/{id}`, the `PUT` on the URL).
//! - [`sftp`]: the drop-directory watcher.
//! - Upload state rows: `ledger::store::uploads` (migration `0003_uploads`, both backends).

pub mod files;
pub mod http;
pub mod service;
pub mod sftp;
pub mod url;

pub use service::{UploadService, UploadSettings, UploadsConfig};

use ledger::metrics::{Counter, Exposition};

/// Upload counters.
#[derive(Debug, Default)]
pub struct UploadMetrics {
    /// Uploads by `via` (`url`, `sftp`) and `outcome` (`ingested`, `refused`, `too_large`,
    /// `expired`, `forbidden`, `conflict`, `bad_type`, `failed`).
    pub uploads: Counter,
}

static METRICS: std::sync::LazyLock<UploadMetrics> = std::sync::LazyLock::new(UploadMetrics::default);

/// The process-wide upload counters.
pub fn metrics() -> &'static UploadMetrics {
    &METRICS
}

/// Adds the upload families to `/metrics`.
pub fn render_into(e: &mut Exposition) {
    e.counter("ledger_uploads_total", "Dealer uploads, by path (url, sftp) and outcome.", &metrics().uploads);
}
