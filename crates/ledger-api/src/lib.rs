//! # ledger-api
//!
//! The wire format of the ledger's HTTP API, defined once: every request and response body
//! (serde types deriving their JSON Schema with `schemars`), the stable error codes, and the
//! route templates. `ledger-server` takes and answers these types and generates its
//! `/openapi.json` from their schemas; `ledger-client` sends and reads the same types. The
//! crate does no I/O.
//!
//! Types from `evidence-core` appear as they serialise there: receipts
//! ([`evidence_core::AppendReceipt`]), bundles ([`evidence_core::Bundle`], whose schema is the
//! published `evidence-bundle-v1.schema.json`), digests as 64 lowercase hex characters,
//! times as milliseconds since the Unix epoch.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use evidence_core::{AppendReceipt, CheckpointHash, ContentHash, LeafHash, NodeHash, TenantId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod error;
pub mod routes;
mod uploads;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use uploads::{CreateUpload, UploadList, UploadStatus, UploadTicket};

/// `POST /v1/tenants`: create a tenant (idempotent: an existing tenant keeps its policy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The tenant id: 1 to 58 bytes of `a-z 0-9 . _ -`, starting with a letter or digit.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]{0,57}$"))]
    pub id: String,
    /// Jurisdictions (ISO 3166-1 alpha-2, e.g. `CA`) whose TSAs and Fabric endorsers may
    /// anchor the tenant's checkpoints. Empty: any.
    #[serde(default)]
    pub residency: Vec<String>,
    /// The Fabric channel the tenant's checkpoints are anchored on (default `evidence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fabric_channel: Option<String>,
    /// Seal at least this often, in milliseconds (default one hour; at least 1 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1000))]
    pub seal_every_ms: Option<u64>,
    /// Also seal once this many claims are unsealed (default 10 000; 0: never on size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_after_claims: Option<u64>,
}

/// A tenant's policy as the server stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TenantPolicy {
    /// Allowed jurisdictions of the anchoring authorities (empty: any).
    pub residency: Vec<String>,
    /// The Fabric channel.
    pub fabric_channel: String,
    /// Seal cadence, milliseconds.
    pub seal_every_ms: u64,
    /// Seal on this many unsealed claims (0: never on size).
    pub seal_after_claims: u64,
}

/// A tenant and its policy (`POST /v1/tenants`: 201 when created, 200 when it existed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tenant {
    /// The tenant.
    pub id: TenantId,
    /// Its policy.
    pub config: TenantPolicy,
}

/// `GET /v1/tenants`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TenantList {
    /// Every tenant (the ledger's own audit logs are not listed).
    pub tenants: Vec<TenantId>,
}

/// `POST /v1/tenants/{tenant}/claims`: one claim to append.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendClaim {
    /// The claim kind, e.g. `leakage_finding` (kinds the ledger writes itself are refused).
    pub kind: String,
    /// The claim's body: a JSON object (canonicalised with RFC 8785; duplicate member names
    /// and numbers a double cannot hold exactly are refused).
    pub body: serde_json::Value,
    /// Content hashes of related claims, recorded in the leaf entry (at most 32).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<ContentHash>,
    /// Makes retries safe: a second append with the same key returns the first receipt and
    /// writes nothing (1 to 128 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub idempotency_key: Option<String>,
}

/// `POST /v1/tenants/{tenant}/claims/batch`: claims appended in one transaction, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendBatch {
    /// 1 to the server's `http.batch_max` claims.
    pub claims: Vec<AppendClaim>,
}

/// The receipts of a batch, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReceiptList {
    /// One receipt per claim.
    pub receipts: Vec<AppendReceipt>,
}

/// `GET /v1/tenants/{tenant}/claims/{seq}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClaimStatus {
    /// The claim's receipt.
    pub receipt: AppendReceipt,
    /// Whether a checkpoint seals it.
    pub sealed: bool,
    /// The tree size of the latest checkpoint (0 when none).
    pub tree_size: u64,
}

/// `POST /v1/tenants/{tenant}/bundles`: one bundle for several claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleRequest {
    /// The claims' sequence numbers (1 to the server's `http.batch_max`).
    pub seqs: Vec<u64>,
}

/// `POST …/retract` and `POST …/erase`: why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// 1 to 1 000 bytes, recorded in the retraction or erasure claim.
    #[schemars(length(min = 1, max = 1000))]
    pub reason: String,
}

/// The query of the paged lists (`…/checkpoints`, `…/audit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// First sequence number to list: a checkpoint number for `…/checkpoints`, an audit
    /// entry's leaf index for `…/audit` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// At most this many (default 100, at most 1 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// The query of a signed upload URL (`PUT …/uploads/{upload_id}/body`), exactly as
/// `POST …/uploads` wrote it into `url`: clients send the URL as given and never build it.
/// The signature covers the method, the tenant, the upload id and every field but `kid` and
/// `sig`, so changing any of them is `403 bad_upload_url`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SignedUploadQuery {
    /// The DMS profile the file is checked against (`cdk`, `reynolds`, `dealertrack`, `pbs`, `quorum`).
    pub profile: String,
    /// The export of that profile (e.g. `sales`, `service`).
    pub export: String,
    /// Most bytes the body may have; the body is cut at this size (`413 body_too_large`).
    pub max: u64,
    /// Expiry, Unix milliseconds; after it the URL is `410 upload_expired`.
    pub exp: i64,
    /// Id of the server key that signed the URL (old keys verify until their URLs expire).
    pub kid: String,
    /// HMAC-SHA-256 of the signed fields under that key, 64 lowercase hex digits.
    pub sig: String,
}

/// The query of `…/reports/findings.pdf`: the reporting period, both days inclusive (UTC).
/// A finding belongs to the period by its business date (the pipeline's `as_of`), else by
/// the day it was appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportPeriod {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (not before `from`).
    pub to: String,
}

/// The query of `…/consistency`: two **tree sizes** (numbers of leaves), not checkpoint
/// numbers; each must be the size of a checkpoint of the tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SizePair {
    /// The older checkpoint's tree size (its number of leaves; not a checkpoint number).
    pub old: u64,
    /// The newer checkpoint's tree size (its number of leaves; not smaller than `old`).
    pub new: u64,
}

/// The query of `…/checkpoint-chain`: a range of **checkpoint numbers** (positions in the
/// tenant's chain, from 0), not tree sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainRange {
    /// The first checkpoint number of the run (a checkpoint number, not a tree size; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// The last checkpoint number of the run, inclusive (a checkpoint number, not a tree size;
    /// default: the newest checkpoint, or `from` + 999, whichever is smaller). At most 1 000
    /// checkpoints per answer: ask again from the last one to continue (runs overlapping by one
    /// checkpoint chain into each other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
}

pub use evidence_core::checkpoint::CHECKPOINTS_FORMAT;

/// `GET /v1/tenants/{tenant}/checkpoint-chain`: an `evidence-checkpoints/v1` file, exactly what
/// `evidence-verify checkpoints` reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointChain {
    /// Always `evidence-checkpoints/v1`.
    pub format: String,
    /// The ledger's name (checkpoint origins are `<ledger>/tenant/<tenant>`).
    pub ledger: String,
    /// The tenant.
    pub tenant: TenantId,
    /// Consecutive checkpoints, oldest first.
    pub links: Vec<ChainLink>,
}

/// One checkpoint of a [`CheckpointChain`] (the JSON form of `evidence_core::checkpoint::ChainLink`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainLink {
    /// The checkpoint as a C2SP signed note.
    pub checkpoint: String,
    /// The RFC 9162 consistency proof from the previous link's tree size to this one's; null
    /// for the first link of the run.
    pub consistency: Option<ChainConsistency>,
}

/// A consistency proof between two consecutive checkpoints of a [`CheckpointChain`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainConsistency {
    /// The previous checkpoint's tree size.
    pub old_size: u64,
    /// This checkpoint's tree size.
    pub new_size: u64,
    /// The proof hashes (hex), as RFC 9162 §2.1.4 orders them.
    pub path: Vec<NodeHash>,
}

/// A checkpoint of a tenant's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Checkpoint {
    /// Its number in the chain, from 0.
    pub seq: u64,
    /// The number of leaves it seals.
    pub tree_size: u64,
    /// The RFC 9162 root of those leaves.
    pub root: NodeHash,
    /// SHA-256 of the note's body: the value anchored on both rails.
    pub hash: CheckpointHash,
    /// Seal time, milliseconds since the Unix epoch.
    pub sealed_at: i64,
    /// The C2SP signed note.
    pub note: String,
    /// Its anchoring state, per rail (only on `GET …/checkpoints/{cseq}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchors: Option<Vec<Anchor>>,
}

/// `GET /v1/tenants/{tenant}/checkpoints`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckpointList {
    /// In chain order.
    pub checkpoints: Vec<Checkpoint>,
}

/// The anchoring rail of an anchor row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rail {
    /// RFC 3161 time-stamping.
    Tsa,
    /// Hyperledger Fabric.
    Fabric,
}

/// The state of an anchor row. `failed` is not final: it is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnchorState {
    /// Not attempted yet.
    Pending,
    /// Evidence stored.
    Anchored,
    /// The last attempt failed; a retry is scheduled.
    Failed,
}

/// The anchoring of a checkpoint on one rail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Anchor {
    /// Row id.
    pub id: i64,
    /// The rail.
    pub rail: Rail,
    /// Its state.
    pub state: AnchorState,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is next tried (milliseconds since the Unix epoch).
    pub next_attempt_at: i64,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// Who anchored it (TSA name, Fabric network).
    pub authority: Option<String>,
    /// Their jurisdiction.
    pub jurisdiction: Option<String>,
    /// Whether that is inside the tenant's residency policy (none until anchored).
    pub in_residency: Option<bool>,
    /// The row this one re-anchors.
    pub reanchor_of: Option<i64>,
    /// When it was anchored.
    pub anchored_at: Option<i64>,
}

/// `GET /v1/tenants/{tenant}/checkpoints/{cseq}/anchors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AnchorList {
    /// The checkpoint.
    pub checkpoint: u64,
    /// Its rows, re-anchors included.
    pub anchors: Vec<Anchor>,
}

/// `GET /v1/tenants/{tenant}/consistency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Consistency {
    /// The older checkpoint.
    pub old: Checkpoint,
    /// The newer checkpoint.
    pub new: Checkpoint,
    /// The RFC 9162 consistency proof from `old` to `new`.
    pub proof: Vec<NodeHash>,
}

/// One audit entry (an `audit_event` claim of the tenant's audit log).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntry {
    /// The entry's leaf index in the audit log.
    pub seq: u64,
    /// Its leaf hash (prove it with the audit log's checkpoints).
    pub leaf_hash: LeafHash,
    /// The `audit_event` body (token id, role, tenant, MFA subject, action, method, route,
    /// target, status, error code, time); none if erased.
    pub event: Option<serde_json::Value>,
}

/// `GET /v1/tenants/{tenant}/audit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditPage {
    /// The audit log's own tenant id.
    pub log: TenantId,
    /// Entries in the log.
    pub size: u64,
    /// The entries asked for.
    pub entries: Vec<AuditEntry>,
    /// The log's latest signed checkpoint (a C2SP note), if sealed.
    pub latest_checkpoint: Option<String>,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}
