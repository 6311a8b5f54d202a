//! Dealer uploads (issue #25): creating a signed upload URL, and the state of an upload.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/tenants/{tenant}/uploads`: ask for a signed upload URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUpload {
    /// The DMS profile (`cdk`, `reynolds`, `dealertrack`, `pbs`, `quorum`).
    pub profile: String,
    /// The export (`sales`, `service`, `inventory`, `gl`).
    pub export: String,
    /// The file's name as the dealer knows it (kept with the upload; at most 255 bytes).
    pub filename: String,
    /// The body's size in bytes, when known: over the server's limit it is refused at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// The answer to `POST …/uploads`: where to send the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UploadTicket {
    /// The upload id.
    pub upload_id: String,
    /// The signed URL: the credential itself (no bearer token is sent with the `PUT`).
    pub url: String,
    /// Always `PUT`.
    pub method: String,
    /// When the URL stops being accepted (milliseconds since the epoch).
    pub expires_at: i64,
    /// The largest body accepted, in bytes.
    pub max_bytes: u64,
}

/// `GET /v1/tenants/{tenant}/uploads/{upload_id}` (and each row of the list).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UploadStatus {
    /// The upload id.
    pub upload_id: String,
    /// `pending`, `receiving`, `received`, `refused` or `ingested`.
    pub state: String,
    /// How it came: `url` or `sftp`.
    pub via: String,
    /// The file name given (URL) or the drop-directory name (SFTP).
    pub source: String,
    /// The DMS profile.
    pub profile: String,
    /// The export.
    pub export: String,
    /// Body size, once received.
    pub bytes: Option<u64>,
    /// SHA-256 of the body (hex), once received.
    pub sha256: Option<String>,
    /// The refusal's errors, in the shape of `pipeline check --json`'s `errors`
    /// (`{"kind", "column", "row", "message"}`); empty unless refused.
    pub errors: Vec<serde_json::Value>,
    /// Sequence numbers of the claims written for it (empty until checked).
    pub claims: Vec<u64>,
    /// Creation time (milliseconds since the epoch).
    pub created_at: i64,
    /// Last change (milliseconds since the epoch).
    pub updated_at: i64,
}

/// `GET /v1/tenants/{tenant}/uploads`: one page, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UploadList {
    /// The uploads of this page.
    pub uploads: Vec<UploadStatus>,
    /// The `from` of the next page, when there may be more.
    pub next: Option<u64>,
}
