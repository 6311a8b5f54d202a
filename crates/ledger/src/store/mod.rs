//! The storage layer: one [`Store`] per deployment, one [`TenantStore`] handle per tenant.
//!
//! A [`TenantStore`] is bound to one tenant when it is opened (SQLite: its own database
//! file; PostgreSQL: its own schema) and no method takes a tenant argument, so a handle
//! for tenant A has no way to name tenant B's rows. Sequence numbers and anchor ids are
//! only ever looked up inside the handle's own file or schema.
//!
//! Every write is one transaction that commits before the call returns.

use std::collections::HashMap;
use std::future::Future;

use crate::tokens::TokenRecord;
use evidence_core::checkpoint::SignedCheckpoint;
use evidence_core::internal::merkle_store::{Frontier, MapSource, NodeId, frontier_ids};
use evidence_core::{
    AppendReceipt, CheckpointHash, CheckpointSeq, ClaimKind, Commitment, ContentHash, LeafEntry, LeafHash, NodeHash, RootHash, Seq,
    TenantId, TreeSize, UnixMillis,
};
use serde::{Deserialize, Serialize};

pub mod postgres;
pub mod sessions;
pub mod sql;
pub mod sqlite;
pub mod uploads;

pub use sql::{Backend, Dialect, SqlStore, SqlTenant};

/// Complete Merkle nodes at this level and above are stored; lower ones (at most 128
/// leaves each) are recomputed from leaf hashes. Keeps a seal of a million leaves to a
/// few thousand node rows.
pub const STORED_MIN_LEVEL: u8 = 8;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The tenant is not in the catalogue.
    #[error("unknown tenant {0}")]
    UnknownTenant(TenantId),
    /// A stored value is not what this code wrote.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// Another seal of the tenant is under way: another process holds the sealing lock
    /// (PostgreSQL), or another seal stored a checkpoint while this one hashed (SQLite).
    #[error("another seal of this tenant is under way")]
    SealBusy,
    /// The seal callback refused (signing failed).
    #[error("sealing: {0}")]
    Seal(String),
    /// A filesystem operation failed (SQLite directories).
    #[error("filesystem: {0}")]
    Io(#[from] std::io::Error),
    /// The records were sealed under another key epoch than the tenant's current one (a
    /// rotation started meanwhile): nothing was stored; seal them again under `current`.
    #[error("the tenant's key epoch is now {current}")]
    KeyEpochChanged {
        /// The tenant's current epoch.
        current: u64,
    },
    /// The claim's record is already erased: nothing was stored.
    #[error("claim {seq} is already erased{}", by.map(|b| format!(" (by claim {b})")).unwrap_or_default())]
    AlreadyErased {
        /// The claim.
        seq: Seq,
        /// The erasure claim that erased it (unknown for erasures made before this was recorded).
        by: Option<Seq>,
    },
}

/// Where a tenant's key epochs stand (see [`crate::crypto`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyState {
    /// The epoch whose KEK wraps new records.
    pub current: u64,
    /// Every epoch below this must be destroyed (raised by each erasure to current + 1).
    pub shred_below: u64,
    /// How far that is done: every epoch below this is destroyed in the key provider.
    pub shredded_below: u64,
    /// When the oldest erasure not yet applied was made.
    pub erasure_pending_since: Option<UnixMillis>,
}

impl KeyState {
    /// True when an erasure waits to be applied.
    pub fn pending(&self) -> bool {
        self.shredded_below < self.shred_below
    }
}

/// A stored record with its leaf entry (whose commitment the record's encryption is bound to).
#[derive(Clone, Debug)]
pub struct StoredRecord {
    /// The leaf.
    pub seq: Seq,
    /// The leaf's v1 entry bytes.
    pub entry: Vec<u8>,
    /// The record.
    pub record: EncryptedRecord,
}

/// A tenant's policy, kept in the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantConfig {
    /// Jurisdictions (e.g. `CA`) whose TSAs and Fabric endorsers may anchor this tenant's
    /// checkpoints. Empty: any.
    #[serde(default)]
    pub residency: Vec<String>,
    /// The Fabric channel checkpoints are anchored on.
    pub fabric_channel: String,
    /// Seal at least this often (milliseconds). Default one hour.
    pub seal_every_ms: u64,
    /// Also seal as soon as this many claims are unsealed (0: never on size).
    pub seal_after_claims: u64,
}

impl Default for TenantConfig {
    fn default() -> Self {
        Self { residency: Vec::new(), fabric_channel: "evidence".into(), seal_every_ms: 3_600_000, seal_after_claims: 10_000 }
    }
}

impl TenantConfig {
    /// True when a jurisdiction is allowed by the residency policy. Unknown jurisdictions
    /// are outside any non-empty policy.
    pub fn allows(&self, jurisdiction: Option<&str>) -> bool {
        self.residency.is_empty() || jurisdiction.is_some_and(|j| self.residency.iter().any(|r| r.eq_ignore_ascii_case(j)))
    }
}

/// A record encrypted at rest (see [`crate::crypto`]).
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedRecord {
    /// AEAD ciphertext of the claim's canonical bytes.
    pub ciphertext: Vec<u8>,
    /// Its nonce.
    pub nonce: Vec<u8>,
    /// The per-record data key, wrapped by the KEK of `kek_epoch` (nonce ‖ ciphertext).
    pub wrapped_key: Vec<u8>,
    /// The tenant key epoch whose KEK wraps the data key.
    pub kek_epoch: u64,
    /// Format-1 records only (written before key epochs): the salt, stored in clear beside
    /// the ciphertext. Current records carry it inside the ciphertext.
    pub legacy_salt: Option<[u8; 32]>,
}

impl std::fmt::Debug for EncryptedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptedRecord({} bytes)", self.ciphertext.len())
    }
}

/// A side effect applied in the same transaction as the leaf that records it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeafEffect {
    /// Nothing else.
    None,
    /// Store an incident window (the leaf is the `incident` claim).
    Incident {
        /// Window start.
        from: UnixMillis,
        /// Window end.
        to: UnixMillis,
        /// Short reason.
        reason: String,
    },
    /// Delete the record of `target` (the leaf is the `erasure` claim).
    Erase {
        /// The erased claim.
        target: Seq,
    },
    /// Mark `original` anchored with `success` (evidence outside the residency policy) and
    /// add an anchor row re-anchoring it on the same rail (the leaf is the `reanchor` claim).
    Reanchor {
        /// The anchor row whose evidence was outside the residency policy.
        original: i64,
        /// Its evidence, kept.
        success: AnchorSuccess,
    },
}

/// A leaf to append; the store assigns its sequence number.
#[derive(Clone, Debug)]
pub struct NewLeaf {
    /// Claim kind.
    pub kind: ClaimKind,
    /// Append time.
    pub appended_at: UnixMillis,
    /// Salted commitment.
    pub commitment: Commitment,
    /// Links recorded in the entry.
    pub links: Vec<ContentHash>,
    /// Content hash (kept for receipts and links).
    pub content_hash: ContentHash,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// The encrypted record.
    pub record: EncryptedRecord,
    /// What else the transaction does.
    pub effect: LeafEffect,
}

/// A stored leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafRow {
    /// Its index.
    pub seq: Seq,
    /// The v1 entry bytes.
    pub entry: Vec<u8>,
    /// `SHA-256(0x00 ‖ entry)`.
    pub leaf_hash: LeafHash,
    /// Kind code.
    pub kind_code: u16,
    /// Append time.
    pub appended_at: UnixMillis,
    /// Content hash.
    pub content_hash: ContentHash,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
}

impl LeafRow {
    /// The receipt this leaf was (or would have been) acknowledged with.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the entry does not decode.
    pub fn receipt(&self) -> Result<AppendReceipt, StoreError> {
        let e = LeafEntry::decode(&self.entry).map_err(|e| StoreError::Corrupt(format!("leaf {}: {e}", self.seq)))?;
        AppendReceipt::for_leaf(&e, self.leaf_hash, self.content_hash).map_err(|e| StoreError::Corrupt(format!("leaf {}: {e}", self.seq)))
    }
}

/// A stored checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointRow {
    /// Position in the chain.
    pub seq: CheckpointSeq,
    /// Tree size and root.
    pub root: RootHash,
    /// The signed note.
    pub note: SignedCheckpoint,
    /// `SHA-256(body)`.
    pub hash: CheckpointHash,
    /// Seal time.
    pub sealed_at: UnixMillis,
}

/// Which rail an anchor row is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rail {
    /// RFC 3161 time-stamping.
    Tsa,
    /// Hyperledger Fabric.
    Fabric,
}

impl Rail {
    /// Both rails, in the order rows are enqueued.
    pub const ALL: [Rail; 2] = [Rail::Tsa, Rail::Fabric];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Rail::Tsa => "tsa",
            Rail::Fabric => "fabric",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "tsa" => Ok(Rail::Tsa),
            "fabric" => Ok(Rail::Fabric),
            other => Err(StoreError::Corrupt(format!("unknown rail {other:?}"))),
        }
    }
}

/// The state of one anchor row.
///
/// `failed` is not final: a failed row is retried at `next_attempt_at`, for as long as it
/// takes. Outages delay anchors, they never drop them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorState {
    /// Not yet attempted.
    Pending,
    /// Evidence stored.
    Anchored,
    /// The last attempt failed; a retry is scheduled.
    Failed,
}

impl AnchorState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AnchorState::Pending => "pending",
            AnchorState::Anchored => "anchored",
            AnchorState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(AnchorState::Pending),
            "anchored" => Ok(AnchorState::Anchored),
            "failed" => Ok(AnchorState::Failed),
            other => Err(StoreError::Corrupt(format!("unknown anchor state {other:?}"))),
        }
    }
}

/// One outbox row: the anchoring of one checkpoint on one rail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorRow {
    /// Row id (unique within the tenant).
    pub id: i64,
    /// The checkpoint anchored.
    pub checkpoint_seq: CheckpointSeq,
    /// The rail.
    pub rail: Rail,
    /// Its state.
    pub state: AnchorState,
    /// Attempts so far.
    pub attempts: i64,
    /// When a worker may next try it.
    pub next_attempt_at: UnixMillis,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// The evidence bytes (TSA: DER TimeStampResp; Fabric: receipt JSON).
    pub evidence: Option<Vec<u8>>,
    /// Who anchored it (TSA name, Fabric network).
    pub authority: Option<String>,
    /// Their jurisdiction.
    pub jurisdiction: Option<String>,
    /// Whether the evidence is inside the tenant's residency policy (None until anchored).
    pub in_residency: Option<bool>,
    /// The row this one re-anchors.
    pub reanchor_of: Option<i64>,
    /// When it was enqueued.
    pub created_at: UnixMillis,
    /// When it was anchored.
    pub anchored_at: Option<UnixMillis>,
}

/// What a successful anchoring stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorSuccess {
    /// Evidence bytes.
    pub evidence: Vec<u8>,
    /// Who anchored it.
    pub authority: String,
    /// Their jurisdiction.
    pub jurisdiction: Option<String>,
    /// Inside the residency policy.
    pub in_residency: bool,
}

/// A stored incident window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRow {
    /// The `incident` claim's leaf.
    pub seq: Seq,
    /// Window start.
    pub from: UnixMillis,
    /// Window end.
    pub to: UnixMillis,
    /// Reason.
    pub reason: String,
    /// Content hash of the incident claim.
    pub content_hash: ContentHash,
}

/// What the store hands the sealer: the checkpoint to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealDraft {
    /// Its sequence number.
    pub seq: CheckpointSeq,
    /// The previous checkpoint's hash (zeros for the first).
    pub prev: CheckpointHash,
    /// The root being sealed.
    pub root: RootHash,
    /// When the previous checkpoint was sealed (a new one must not be earlier).
    pub prev_sealed_at: Option<UnixMillis>,
}

/// What the sealer hands back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealSigned {
    /// The signed note.
    pub note: SignedCheckpoint,
    /// Its hash.
    pub hash: CheckpointHash,
    /// Seal time written in the body.
    pub sealed_at: UnixMillis,
}

/// A deployment's storage: the catalogue and the per-tenant logs.
pub trait Store: sessions::SessionStore + Send + Sync + 'static {
    /// The per-tenant handle.
    type Tenant: TenantStore + uploads::UploadStore;

    /// Creates a tenant (or returns the existing one, keeping its stored policy).
    fn create_tenant(&self, tenant: &TenantId, config: &TenantConfig) -> impl Future<Output = Result<Self::Tenant, StoreError>> + Send {
        async move { self.create_tenant_if_absent(tenant, config).await.map(|(t, _)| t) }
    }

    /// As [`Store::create_tenant`], also saying whether this call created the tenant (true
    /// for exactly one of any number of concurrent callers, across processes too).
    fn create_tenant_if_absent(
        &self,
        tenant: &TenantId,
        config: &TenantConfig,
    ) -> impl Future<Output = Result<(Self::Tenant, bool), StoreError>> + Send;

    /// Opens an existing tenant.
    fn open_tenant(&self, tenant: &TenantId) -> impl Future<Output = Result<Self::Tenant, StoreError>> + Send;

    /// Every tenant in the catalogue.
    fn tenants(&self) -> impl Future<Output = Result<Vec<TenantId>, StoreError>> + Send;

    /// Stores a new bearer-token record (hash only). Refuses an existing id.
    fn put_token(&self, token: &TokenRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The token record with this public id.
    fn token(&self, id: &str) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;

    /// Every token record, newest first.
    fn tokens(&self) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    /// Marks a token revoked at `at`. Returns false when no unrevoked token has this id.
    fn revoke_token(&self, id: &str, at: UnixMillis) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Rebuilds a token record from its stored columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn token_row(
    id: String,
    tenant: Option<String>,
    role: &str,
    label: String,
    secret_hash: &[u8],
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    principal: Option<String>,
) -> Result<TokenRecord, StoreError> {
    let tenant = tenant.map(TenantId::new).transpose().map_err(|e| StoreError::Corrupt(format!("token tenant: {e}")))?;
    let role = role.parse().map_err(|_| StoreError::Corrupt(format!("token role {role:?}")))?;
    Ok(TokenRecord {
        id,
        tenant,
        role,
        label,
        secret_hash: digest(secret_hash, "token hash")?,
        created_at: UnixMillis(created_at),
        expires_at: UnixMillis(expires_at),
        revoked_at: revoked_at.map(UnixMillis),
        principal,
    })
}

/// One tenant's log. Bound to the tenant at open; takes no tenant argument.
pub trait TenantStore: Send + Sync + Clone + 'static {
    /// The tenant.
    fn tenant(&self) -> &TenantId;
    /// Its policy as stored at open.
    fn config(&self) -> &TenantConfig;

    /// Appends leaves in one transaction with consecutive sequence numbers. A leaf whose
    /// idempotency key is already stored (or earlier in the batch) is not written again:
    /// its original receipt is returned in its place.
    fn append(&self, leaves: Vec<NewLeaf>) -> impl Future<Output = Result<Vec<AppendReceipt>, StoreError>> + Send;

    /// Number of leaves.
    fn size(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Leaves with `from <= seq < to`.
    fn leaves(&self, from: u64, to: u64) -> impl Future<Output = Result<Vec<LeafRow>, StoreError>> + Send;

    /// Leaf hashes with `from <= seq < to`, in order.
    fn leaf_hashes(&self, from: u64, to: u64) -> impl Future<Output = Result<Vec<LeafHash>, StoreError>> + Send;

    /// The encrypted record of a leaf (None when erased or unknown).
    fn record(&self, seq: Seq) -> impl Future<Output = Result<Option<EncryptedRecord>, StoreError>> + Send;

    /// Stored nodes among `ids` (only levels >= [`STORED_MIN_LEVEL`] are stored).
    fn nodes(&self, ids: &[NodeId]) -> impl Future<Output = Result<Vec<(NodeId, NodeHash)>, StoreError>> + Send;

    /// Seals every leaf stored so far: reads the previous checkpoint and the new leaves,
    /// extends the tree, asks `sign` for the note, stores the checkpoint, the new nodes and
    /// one outbox row per rail. PostgreSQL does it in one transaction under the tenant's
    /// advisory lock and answers [`StoreError::SealBusy`] when another process holds it.
    /// SQLite reads and hashes on a snapshot beside the writer (appends go on; those after
    /// the snapshot wait for the next seal) and stores in a short write transaction,
    /// answering [`StoreError::SealBusy`] if another seal stored a checkpoint meanwhile.
    fn seal<F>(&self, sign: F, rails: &[Rail], now: UnixMillis) -> impl Future<Output = Result<CheckpointRow, StoreError>> + Send
    where
        F: FnOnce(SealDraft) -> Result<SealSigned, StoreError> + Send;

    /// Checkpoints with `seq >= from`, ascending, at most `limit`.
    fn checkpoints(&self, from: u64, limit: u32) -> impl Future<Output = Result<Vec<CheckpointRow>, StoreError>> + Send;

    /// The latest checkpoint.
    fn latest_checkpoint(&self) -> impl Future<Output = Result<Option<CheckpointRow>, StoreError>> + Send;

    /// Outbox rows of a checkpoint.
    fn anchors(&self, checkpoint: CheckpointSeq) -> impl Future<Output = Result<Vec<AnchorRow>, StoreError>> + Send;

    /// Claims up to `limit` rows due at `now` on `rail` (state not anchored, `next_attempt_at <= now`)
    /// by pushing their `next_attempt_at` to `lease_until`, so that concurrent workers do not
    /// take the same row. A worker that dies simply lets the lease expire.
    fn claim_due(
        &self,
        rail: Rail,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AnchorRow>, StoreError>> + Send;

    /// Stores evidence and marks the row anchored.
    fn anchor_succeeded(&self, id: i64, ok: AnchorSuccess, now: UnixMillis) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a failed attempt and schedules the next one.
    fn anchor_failed(&self, id: i64, error: &str, next_attempt_at: UnixMillis) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Incidents whose window covers `t`.
    fn incidents_covering(&self, t: UnixMillis) -> impl Future<Output = Result<Vec<IncidentRow>, StoreError>> + Send;

    /// Outbox rows not yet anchored, across checkpoints.
    fn unanchored(&self) -> impl Future<Output = Result<Vec<AnchorRow>, StoreError>> + Send;

    /// The tenant's key epochs.
    fn key_state(&self) -> impl Future<Output = Result<KeyState, StoreError>> + Send;

    /// Makes `to` the current epoch if `from` still is (ordered with appends: an append
    /// committed after this carries records of `to`). Answers whether it changed it.
    fn advance_epoch(&self, from: u64, to: u64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Up to `limit` records with an epoch below `epoch` and `seq > after`, ascending.
    fn records_below(
        &self,
        epoch: u64,
        after: Option<Seq>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredRecord>, StoreError>> + Send;

    /// Replaces records re-wrapped from epoch `old` (each row only if it still has that
    /// epoch; an erased one stays erased), in one transaction. Answers how many changed.
    fn replace_records(&self, rows: Vec<(Seq, u64, EncryptedRecord)>) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Number of records with an epoch below `epoch`.
    fn count_below(&self, epoch: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Records that every epoch below `below` is destroyed in the key provider, then lets the
    /// engine drop what it still holds of erased rows (SQLite: truncates the WAL).
    fn shredded(&self, below: u64) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A leaf the append plan gives a sequence number to.
pub(crate) struct PlannedLeaf<'a> {
    pub seq: u64,
    pub entry: Vec<u8>,
    pub leaf_hash: LeafHash,
    pub leaf: &'a NewLeaf,
}

/// What an append writes and answers.
pub(crate) struct AppendPlan<'a> {
    /// One receipt per leaf asked for, in order (a repeated idempotency key answers the first receipt).
    pub receipts: Vec<AppendReceipt>,
    /// The leaves to write, with consecutive sequence numbers from the head.
    pub fresh: Vec<PlannedLeaf<'a>>,
    /// The head after the append.
    pub next: u64,
}

/// The append plan, the same for every backend: given the locked head and the receipts of the
/// stored leaves carrying any of the batch's idempotency keys, each leaf whose key is already
/// stored (or earlier in the batch) answers that receipt and is not written again; every other
/// leaf gets the next sequence number, its v1 entry and its receipt.
pub(crate) fn plan_append<'a>(
    tenant: &TenantId,
    head: u64,
    mut seen: HashMap<String, AppendReceipt>,
    leaves: &'a [NewLeaf],
) -> Result<AppendPlan<'a>, StoreError> {
    let mut next = head;
    let mut receipts = Vec::with_capacity(leaves.len());
    let mut fresh = Vec::with_capacity(leaves.len());
    for l in leaves {
        if let Some(r) = l.idempotency_key.as_ref().and_then(|k| seen.get(k)) {
            receipts.push(r.clone());
            continue;
        }
        let entry = LeafEntry {
            tenant: tenant.clone(),
            seq: Seq(next),
            kind_code: l.kind.code(),
            appended_at: l.appended_at,
            commitment: l.commitment,
            links: l.links.clone(),
        };
        let bytes = entry.encode().map_err(|e| StoreError::Corrupt(format!("leaf entry: {e}")))?;
        let leaf_hash = evidence_core::leaf::leaf_hash_of(&bytes);
        let receipt =
            AppendReceipt::for_leaf(&entry, leaf_hash, l.content_hash).map_err(|e| StoreError::Corrupt(format!("leaf entry: {e}")))?;
        if let Some(k) = &l.idempotency_key {
            seen.insert(k.clone(), receipt.clone());
        }
        receipts.push(receipt);
        fresh.push(PlannedLeaf { seq: next, entry: bytes, leaf_hash, leaf: l });
        next += 1;
    }
    Ok(AppendPlan { receipts, fresh, next })
}

/// The frontier (right-edge hashes, in `frontier_ids(size)` order) stored with a checkpoint.
pub(crate) fn frontier_map(size: u64, blob: &[u8]) -> Result<HashMap<NodeId, NodeHash>, StoreError> {
    let ids = frontier_ids(size);
    if blob.len() != ids.len() * 32 {
        return Err(StoreError::Corrupt(format!("checkpoint frontier has {} bytes for size {size}", blob.len())));
    }
    ids.into_iter().zip(blob.chunks_exact(32)).map(|(id, c)| Ok((id, NodeHash(digest(c, "frontier hash")?)))).collect()
}

/// The work of a seal once the previous frontier and the new leaf hashes are known.
pub(crate) struct SealWork {
    pub root: RootHash,
    pub frontier_blob: Vec<u8>,
    pub nodes: Vec<(NodeId, NodeHash)>,
}

/// Leaf hashes a seal reads per query: a seal's memory stays near 100 bytes times this,
/// however many leaves arrived since the last checkpoint (an hour at 5 000 claims/s is 18
/// million, which read at once would take about 2 GB).
pub const SEAL_READ_CHUNK: u64 = 65_536;

/// The `(from, to)` ranges in which a seal reads the leaves `old_size..new_size`.
pub(crate) fn seal_chunks(old_size: u64, new_size: u64, chunk: u64) -> impl Iterator<Item = (u64, u64)> {
    let chunk = chunk.max(1);
    std::iter::successors(Some(old_size), move |&from| Some(from.saturating_add(chunk)))
        .take_while(move |&from| from < new_size)
        .map(move |from| (from, new_size.min(from.saturating_add(chunk))))
}

/// A tree of `old_size` leaves (right edge `old`) being extended to `new_size`, fed the new
/// leaf hashes in order, a chunk at a time (see [`seal_chunks`]): it keeps the new stored
/// nodes and the final right edge, never the leaf hashes.
pub(crate) struct Extension {
    frontier: Frontier,
    new_size: u64,
    /// The right edge of the final tree: its node ids, and the index wanted at each level.
    want: Vec<NodeId>,
    edge_index: [u64; 64],
    edge: HashMap<NodeId, NodeHash>,
    nodes: Vec<(NodeId, NodeHash)>,
}

impl Extension {
    pub(crate) fn new(old_size: u64, old: HashMap<NodeId, NodeHash>, new_size: u64) -> Result<Self, StoreError> {
        let frontier = Frontier::load(old_size, &MapSource(old.clone())).map_err(|e| StoreError::Corrupt(format!("frontier: {e}")))?;
        let want = frontier_ids(new_size);
        // The right edge holds at most one node per level.
        let mut edge_index = [u64::MAX; 64];
        for id in &want {
            edge_index[usize::from(id.level) % 64] = id.index;
        }
        Ok(Self { frontier, new_size, want, edge_index, edge: old, nodes: Vec::new() })
    }

    /// Hashes the leaves `from..to` (`hashes`, as read) off the async workers.
    pub(crate) async fn push(mut self, from: u64, to: u64, hashes: Vec<Vec<u8>>) -> Result<Self, StoreError> {
        if hashes.len() as u64 != to - from || from != self.frontier.size() {
            return Err(StoreError::Corrupt(format!("expected {} leaves after {from}, found {}", to - from, hashes.len())));
        }
        tokio::task::spawn_blocking(move || self.push_now(&hashes).map(|()| self))
            .await
            .map_err(|e| StoreError::Corrupt(format!("tree hashing task: {e}")))?
    }

    fn push_now(&mut self, hashes: &[Vec<u8>]) -> Result<(), StoreError> {
        let Self { frontier, edge_index, edge, nodes, .. } = self;
        for h in hashes {
            frontier.append(LeafHash(digest(h, "leaf hash")?), |id, h| {
                if id.level >= STORED_MIN_LEVEL {
                    nodes.push((id, *h));
                }
                // Only the last node of a level can be on the final right edge; keep the latest.
                if edge_index[usize::from(id.level) % 64] == id.index {
                    edge.insert(id, *h);
                }
            });
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<SealWork, StoreError> {
        if self.frontier.size() != self.new_size {
            return Err(StoreError::Corrupt(format!("extended to {} leaves, not {}", self.frontier.size(), self.new_size)));
        }
        let mut frontier_blob = Vec::with_capacity(self.want.len() * 32);
        for id in &self.want {
            let h = self.edge.get(id).ok_or_else(|| StoreError::Corrupt(format!("right-edge node {id:?} missing")))?;
            frontier_blob.extend_from_slice(&h.0);
        }
        Ok(SealWork { root: self.frontier.root_hash(), frontier_blob, nodes: self.nodes })
    }
}

/// Checks the tree sizes a checkpoint row claims.
pub(crate) fn size_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is negative: {v}")))
}

pub(crate) fn digest(v: &[u8], what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is {} bytes, not 32", v.len())))
}

pub(crate) fn i64_of(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{v} does not fit a database integer")))
}

pub(crate) fn checkpoint_row(
    seq: i64,
    tree_size: i64,
    root: &[u8],
    note: String,
    hash: &[u8],
    sealed_at: i64,
) -> Result<CheckpointRow, StoreError> {
    Ok(CheckpointRow {
        seq: CheckpointSeq(size_u64(seq, "checkpoint seq")?),
        root: RootHash { hash: NodeHash(digest(root, "checkpoint root")?), tree_size: TreeSize(size_u64(tree_size, "tree size")?) },
        note: SignedCheckpoint { note },
        hash: CheckpointHash(digest(hash, "checkpoint hash")?),
        sealed_at: UnixMillis(sealed_at),
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn leaf_row(
    seq: i64,
    entry: Vec<u8>,
    leaf_hash: &[u8],
    kind: i64,
    appended_at: i64,
    content_hash: &[u8],
    idempotency_key: Option<String>,
) -> Result<LeafRow, StoreError> {
    Ok(LeafRow {
        seq: Seq(size_u64(seq, "seq")?),
        entry,
        leaf_hash: LeafHash(digest(leaf_hash, "leaf hash")?),
        kind_code: u16::try_from(kind).map_err(|_| StoreError::Corrupt(format!("kind {kind}")))?,
        appended_at: UnixMillis(appended_at),
        content_hash: ContentHash(digest(content_hash, "content hash")?),
        idempotency_key,
    })
}

pub(crate) use parse_helpers::*;
mod parse_helpers {
    use super::{AnchorState, Rail, StoreError};
    pub(crate) fn rail(s: &str) -> Result<Rail, StoreError> {
        Rail::parse(s)
    }
    pub(crate) fn state(s: &str) -> Result<AnchorState, StoreError> {
        AnchorState::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::{Extension, HashMap, NodeHash, NodeId, SealWork, frontier_map, seal_chunks};
    use evidence_core::LeafHash;
    use evidence_core::merkle::root_of;

    fn leaf(n: u64) -> Vec<u8> {
        evidence_core::types::sha256(&[&n.to_be_bytes()]).to_vec()
    }

    async fn extend(old: u64, map: HashMap<NodeId, NodeHash>, new: u64, chunk: u64) -> SealWork {
        let mut ext = Extension::new(old, map, new).unwrap();
        for (from, to) in seal_chunks(old, new, chunk) {
            ext = ext.push(from, to, (from..to).map(leaf).collect()).await.unwrap();
        }
        ext.finish().unwrap()
    }

    #[test]
    fn seal_chunks_cover_the_range_once() {
        assert_eq!(seal_chunks(0, 0, 4).count(), 0);
        assert_eq!(seal_chunks(5, 12, 4).collect::<Vec<_>>(), [(5, 9), (9, 12)]);
        assert_eq!(seal_chunks(5, 13, 4).collect::<Vec<_>>(), [(5, 9), (9, 13)]);
        assert_eq!(seal_chunks(0, 3, 0).collect::<Vec<_>>(), [(0, 1), (1, 2), (2, 3)], "a chunk of 0 reads one at a time");
        assert_eq!(seal_chunks(u64::MAX - 2, u64::MAX, u64::MAX).collect::<Vec<_>>(), [(u64::MAX - 2, u64::MAX)]);
    }

    /// Whatever the chunk size and wherever the previous checkpoint ended, the root is the
    /// reference root and the stored nodes and right edge are those of a single pass.
    #[tokio::test]
    async fn chunked_extension_matches_one_pass() {
        let all: Vec<LeafHash> = (0..1100).map(|n| LeafHash(leaf(n).try_into().unwrap())).collect();
        for old in [0_u64, 1, 255, 256, 300, 1024] {
            let before = extend(0, HashMap::new(), old, u64::MAX).await;
            let map = frontier_map(old, &before.frontier_blob).unwrap();
            let whole = extend(old, map.clone(), 1100, u64::MAX).await;
            assert_eq!(whole.root.hash, root_of(&all), "old size {old}");
            for chunk in [1, 7, 256, 257, 1000] {
                let chunked = extend(old, map.clone(), 1100, chunk).await;
                assert_eq!(chunked.root, whole.root, "old size {old}, chunk {chunk}");
                assert_eq!(chunked.frontier_blob, whole.frontier_blob, "old size {old}, chunk {chunk}");
                assert_eq!(chunked.nodes, whole.nodes, "old size {old}, chunk {chunk}");
            }
        }
    }

    #[tokio::test]
    async fn a_short_or_misplaced_chunk_is_refused() {
        let ext = Extension::new(0, HashMap::new(), 10).unwrap();
        assert!(ext.push(0, 4, (0..3).map(leaf).collect()).await.is_err(), "three hashes for four leaves");
        let ext = Extension::new(0, HashMap::new(), 10).unwrap();
        assert!(ext.push(2, 4, (2..4).map(leaf).collect()).await.is_err(), "a chunk that does not start where the tree ends");
        let ext = Extension::new(0, HashMap::new(), 10).unwrap();
        let ext = ext.push(0, 4, (0..4).map(leaf).collect()).await.unwrap();
        assert!(ext.finish().is_err(), "stopped short of the size it was to reach");
    }
}
