//! The [`Ledger`] and its per-tenant handle [`TenantLedger`]: tenants, appends, seals,
//! checkpoints and records here; group commit in `group`, retraction, supersession,
//! erasure, incidents and re-anchoring in `corrections`, applying erasures (key epochs) in
//! `erasure`, proofs and bundles in `proofs`.

mod corrections;
mod erasure;
pub use erasure::ErasureApplied;
mod group;
mod proofs;
pub use proofs::{MAX_LATER_CHECKPOINTS, anchoring_satisfied, pending_rails};

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use evidence_core::checkpoint::{Checkpoint, origin_for};
use evidence_core::claim::{Claim, ClaimKind, Salt, commitment};
use evidence_core::note::NoteSigner;
use evidence_core::sink::validate_request;
use evidence_core::{AppendReceipt, AppendRequest, CheckpointSeq, ClaimSink, ContentHash, Seq, SinkError, TenantId, UnixMillis};
use group::GroupCommit;

use crate::crypto::{KeyError, KeyProvider, open_record, random_salt, seal_record};
use crate::store::{AnchorRow, CheckpointRow, LeafEffect, NewLeaf, Rail, SealSigned, Store, StoreError, TenantConfig, TenantStore};

/// Errors of ledger operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The request itself was refused.
    #[error(transparent)]
    Request(#[from] SinkError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key was unavailable or a record did not decrypt.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A sequence number that is not in the log.
    #[error("no leaf {0} in this tenant's log")]
    NoSuchLeaf(Seq),
    /// A checkpoint that does not exist.
    #[error("no checkpoint {0} in this tenant's chain")]
    NoSuchCheckpoint(CheckpointSeq),
    /// The claim is not sealed by any checkpoint yet.
    #[error("leaf {0} is not sealed by a checkpoint yet")]
    NotSealed(Seq),
    /// No checkpoint covering the claims has the anchors the tenant's rails require yet: the
    /// newest covering checkpoint and what it still waits for.
    #[error(
        "no checkpoint covering leaf {seq} is anchored on every required rail yet: checkpoint {checkpoint} waits for {}",
        describe_pending(pending)
    )]
    NotAnchored {
        /// The highest claim asked for.
        seq: Seq,
        /// The newest checkpoint covering it.
        checkpoint: CheckpointSeq,
        /// What that checkpoint still waits for, one entry per required rail not yet anchored.
        pending: Vec<PendingAnchor>,
    },
    /// The claim's record is already erased; no second erasure claim was written.
    #[error("claim {seq} is already erased{}", by.map(|b| format!(" by claim {b}")).unwrap_or_default())]
    AlreadyErased {
        /// The claim.
        seq: Seq,
        /// The erasure claim, when known (erasures made before 0.2 did not record it).
        by: Option<Seq>,
    },
    /// An internal consistency check failed (a bug or a corrupted store).
    #[error("internal: {0}")]
    Internal(String),
    /// The arguments are not usable.
    #[error("invalid argument: {0}")]
    Invalid(String),
}

/// One rail a checkpoint still waits for (see [`LedgerError::NotAnchored`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAnchor {
    /// The rail.
    pub rail: Rail,
    /// Its outbox state: `pending` (not tried yet), `failed` (retry scheduled), or `anchored`
    /// with evidence from outside the residency policy (a re-anchor is under way).
    pub state: crate::store::AnchorState,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: UnixMillis,
}

fn describe_pending(p: &[PendingAnchor]) -> String {
    if p.is_empty() {
        return "nothing (it was anchored meanwhile; retry)".into();
    }
    p.iter()
        .map(|a| {
            let state = match a.state {
                crate::store::AnchorState::Anchored => "anchored outside the residency policy, re-anchor under way",
                s => s.as_str(),
            };
            format!("{} ({state}, {} attempt(s))", a.rail.as_str(), a.attempts)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The current time from the system clock.
pub fn now() -> UnixMillis {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    UnixMillis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A ledger: one store, one checkpoint key, one key provider.
pub struct Ledger<S: Store> {
    inner: Arc<LedgerInner<S>>,
}

impl<S: Store> Clone for Ledger<S> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<S: Store + std::fmt::Debug> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("name", &self.inner.name).field("store", &self.inner.store).finish_non_exhaustive()
    }
}

struct LedgerInner<S: Store> {
    store: S,
    name: String,
    signer: NoteSigner,
    keys: Arc<dyn KeyProvider>,
    rails: Vec<Rail>,
    erasure_window: Duration,
    /// One handle state per tenant, built on first use (origin signer, tenant key, group-commit
    /// queue) and shared by every handle of that tenant afterwards: tenants are never deleted
    /// and their configuration is fixed at creation, so nothing in it goes stale.
    handles: std::sync::Mutex<HashMap<TenantId, Arc<TenantInner<S::Tenant>>>>,
}

impl<S: Store> Ledger<S> {
    /// A ledger named after the signer's key name (checkpoint origins are
    /// `<name>/tenant/<tenant>`), enqueuing anchors on both rails.
    pub fn new(store: S, signer: NoteSigner, keys: impl KeyProvider) -> Self {
        Self::with_rails(store, signer, keys, Rail::ALL.to_vec())
    }

    /// As [`Ledger::new`], enqueuing anchors only on `rails`.
    pub fn with_rails(store: S, signer: NoteSigner, keys: impl KeyProvider, rails: Vec<Rail>) -> Self {
        Self {
            inner: Arc::new(LedgerInner {
                name: signer.name().to_owned(),
                store,
                signer,
                keys: Arc::new(keys),
                rails,
                erasure_window: Duration::ZERO,
                handles: std::sync::Mutex::default(),
            }),
        }
    }

    /// Applies erasures within `window` instead of at once (zero, the default): each erasure
    /// deletes the record at once, and the key rotation that makes every copy of it
    /// unreadable runs for all erasures of the window together (see
    /// [`TenantLedger::apply_erasures`]; the sealing scheduler runs it when due).
    ///
    /// # Panics
    /// When called after the ledger was cloned (set it right after construction).
    #[must_use]
    pub fn with_erasure_window(mut self, window: Duration) -> Self {
        Arc::get_mut(&mut self.inner).expect("with_erasure_window before the ledger is shared").erasure_window = window;
        self
    }

    /// The erasure window (see [`Ledger::with_erasure_window`]).
    pub fn erasure_window(&self) -> Duration {
        self.inner.erasure_window
    }

    /// The ledger name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The ledger's checkpoint verifier for `tenant`.
    ///
    /// # Errors
    /// [`LedgerError::Invalid`] when the name makes no valid key name.
    pub fn verifier(&self, tenant: &TenantId) -> Result<evidence_core::NoteVerifier, LedgerError> {
        evidence_core::checkpoint::tenant_verifier(&self.inner.name, tenant, *self.inner.signer.verifier().key())
            .map_err(|e| LedgerError::Invalid(e.to_string()))
    }

    /// Creates a tenant (idempotent: an existing tenant keeps its stored policy). Residency
    /// codes are stored in ISO's upper case.
    ///
    /// # Errors
    /// [`LedgerError::Invalid`] for a residency code that is not an assigned ISO 3166-1
    /// alpha-2 code; [`LedgerError::Store`].
    pub async fn create_tenant(&self, tenant: &TenantId, config: &TenantConfig) -> Result<TenantLedger<S::Tenant>, LedgerError> {
        Ok(self.create_tenant_if_absent(tenant, config).await?.0)
    }

    /// As [`Ledger::create_tenant`], also saying whether this call created the tenant: true
    /// for exactly one of any number of concurrent callers (an HTTP `201` once, `200` after).
    ///
    /// # Errors
    /// As [`Ledger::create_tenant`].
    pub async fn create_tenant_if_absent(
        &self,
        tenant: &TenantId,
        config: &TenantConfig,
    ) -> Result<(TenantLedger<S::Tenant>, bool), LedgerError> {
        // An unknown residency code would put every authority outside the policy: refuse it.
        let mut config = config.clone();
        config.residency =
            config.residency.iter().map(|c| crate::residency::country_code(c)).collect::<Result<_, _>>().map_err(LedgerError::Invalid)?;
        let (store, created) = self.inner.store.create_tenant_if_absent(tenant, &config).await?;
        Ok((self.handle(store).await?, created))
    }

    /// Opens an existing tenant.
    ///
    /// # Errors
    /// [`LedgerError::Store`] with [`StoreError::UnknownTenant`].
    pub async fn tenant(&self, tenant: &TenantId) -> Result<TenantLedger<S::Tenant>, LedgerError> {
        let store = self.inner.store.open_tenant(tenant).await?;
        self.handle(store).await
    }

    /// Every tenant.
    ///
    /// # Errors
    /// [`LedgerError::Store`].
    pub async fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        Ok(self.inner.store.tenants().await?)
    }

    async fn handle(&self, store: S::Tenant) -> Result<TenantLedger<S::Tenant>, LedgerError> {
        let poisoned = || LedgerError::Internal("tenant handle table poisoned".into());
        if let Some(inner) = self.inner.handles.lock().map_err(|_| poisoned())?.get(store.tenant()) {
            return Ok(TenantLedger { inner: Arc::clone(inner) });
        }
        // Built outside the lock (key derivation is the slow part); if two callers race, the
        // first to insert wins and both use its state, so a tenant has one group-commit queue.
        let tenant = store.tenant().clone();
        let origin = origin_for(&self.inner.name, &tenant);
        let signer = self.inner.signer.renamed(&origin).map_err(|e| LedgerError::Invalid(format!("origin {origin:?}: {e}")))?;
        let epoch = erasure::first_epoch(&store, self.inner.keys.as_ref()).await?;
        let built = Arc::new(TenantInner {
            store,
            signer,
            keys: Arc::clone(&self.inner.keys),
            epoch: AtomicU64::new(epoch),
            erasure_window: self.inner.erasure_window,
            ledger_name: self.inner.name.clone(),
            rails: self.inner.rails.clone(),
            group: Arc::default(),
        });
        let mut handles = self.inner.handles.lock().map_err(|_| poisoned())?;
        let inner = Arc::clone(handles.entry(tenant).or_insert(built));
        Ok(TenantLedger { inner })
    }
}

/// One tenant's ledger: implements [`ClaimSink`].
pub struct TenantLedger<T: TenantStore> {
    inner: Arc<TenantInner<T>>,
}

impl<T: TenantStore> Clone for TenantLedger<T> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<T: TenantStore> std::fmt::Debug for TenantLedger<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantLedger").field("tenant", self.inner.store.tenant()).finish_non_exhaustive()
    }
}

struct TenantInner<T> {
    store: T,
    signer: NoteSigner,
    keys: Arc<dyn KeyProvider>,
    /// The key epoch new records are sealed under, as last seen (an append under a stale
    /// one is refused by the store and prepared again).
    epoch: AtomicU64,
    erasure_window: Duration,
    ledger_name: String,
    rails: Vec<Rail>,
    group: Arc<GroupCommit>,
}

/// Everything the ledger holds about one claim, for a bundle or an export.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimParts {
    /// The leaf.
    pub seq: Seq,
    /// Leaf entry bytes.
    pub leaf_entry: Vec<u8>,
    /// Content hash.
    pub content_hash: ContentHash,
    /// Append time.
    pub appended_at: UnixMillis,
    /// The salt and record, or None when erased.
    pub record: Option<(Salt, Claim)>,
}

impl<T: TenantStore> TenantLedger<T> {
    /// The store handle (bound to this tenant).
    pub fn store(&self) -> &T {
        &self.inner.store
    }

    /// The tenant's policy.
    pub fn config(&self) -> &TenantConfig {
        self.inner.store.config()
    }

    fn prepare(&self, req: &AppendRequest, effect: LeafEffect, at: UnixMillis) -> Result<NewLeaf, LedgerError> {
        let canonical = req.claim.canonical_bytes().map_err(SinkError::from)?;
        let content_hash = evidence_core::claim::content_hash_of(&canonical);
        let salt = random_salt()?;
        let c = commitment(&Salt(salt), &content_hash);
        let epoch = self.inner.epoch.load(Ordering::Acquire);
        let kek = self.inner.keys.kek(self.inner.store.tenant(), epoch)?;
        let record = seal_record(&kek, epoch, self.inner.store.tenant(), &c, salt, &canonical)?;
        Ok(NewLeaf {
            kind: req.claim.kind,
            appended_at: at,
            commitment: c,
            links: req.links.clone(),
            content_hash,
            idempotency_key: req.idempotency_key.clone(),
            record,
            effect,
        })
    }

    /// Appends claims (client kinds only) in one transaction, shared with concurrent appends
    /// to the same tenant (group commit; the claims of one call are never split).
    ///
    /// # Errors
    /// [`LedgerError`]; nothing is stored when any request is refused.
    pub async fn append_many(&self, reqs: Vec<AppendRequest>) -> Result<Vec<AppendReceipt>, LedgerError> {
        let started = std::time::Instant::now();
        let at = now();
        for r in &reqs {
            validate_request(r)?;
        }
        let n = reqs.len() as u64;
        let out = self
            .with_current_epoch(|| {
                let leaves = reqs.iter().map(|r| self.prepare(r, LeafEffect::None, at)).collect::<Result<Vec<_>, _>>();
                async move { self.inner.group.append(&self.inner.store, leaves?).await }
            })
            .await;
        let m = crate::metrics::global();
        m.append_seconds.observe(started.elapsed().as_secs_f64());
        m.appends.add(&[("outcome", if out.is_ok() { "ok" } else { "error" })], n);
        out
    }

    async fn append_generated(
        &self,
        kind: ClaimKind,
        body: serde_json::Value,
        links: Vec<ContentHash>,
        effect: LeafEffect,
    ) -> Result<AppendReceipt, LedgerError> {
        let claim = Claim::new(kind, body).map_err(SinkError::from)?;
        let req = AppendRequest::new(claim).with_links(links);
        let at = now();
        let mut out = self
            .with_current_epoch(|| {
                let leaf = self.prepare(&req, effect.clone(), at);
                async move { Ok(self.inner.store.append(vec![leaf?]).await?) }
            })
            .await?;
        out.pop().ok_or_else(|| LedgerError::Internal("append returned no receipt".into()))
    }

    /// The receipt of a stored claim (no decryption).
    ///
    /// # Errors
    /// [`LedgerError::NoSuchLeaf`] and storage errors.
    pub async fn receipt(&self, seq: Seq) -> Result<AppendReceipt, LedgerError> {
        Ok(self.leaf(seq).await?.receipt()?)
    }

    async fn leaf(&self, seq: Seq) -> Result<crate::store::LeafRow, LedgerError> {
        let mut rows = self.inner.store.leaves(seq.0, seq.0.saturating_add(1)).await?;
        rows.pop().ok_or(LedgerError::NoSuchLeaf(seq))
    }

    /// Seals every claim stored so far (an empty interval still seals).
    ///
    /// # Errors
    /// [`LedgerError`]; [`StoreError::SealBusy`] when another seal of the tenant is under way.
    pub async fn seal_now(&self) -> Result<CheckpointRow, LedgerError> {
        self.seal_signed(None).await
    }

    /// Seals a **hand-over checkpoint** for a key rotation: signed by the ledger's current key
    /// and co-signed by `next` (the key that will sign from now on), so the chain itself shows
    /// the rotation. A verifier trusting both keys (matched by key id) accepts every
    /// checkpoint before, at and after the hand-over.
    ///
    /// # Errors
    /// As [`TenantLedger::seal_now`]; [`LedgerError::Invalid`] when `next` is not named after
    /// this ledger or is the current key.
    pub async fn seal_handover(&self, next: &NoteSigner) -> Result<CheckpointRow, LedgerError> {
        if next.name() != self.inner.ledger_name {
            return Err(LedgerError::Invalid(format!("the new key is named {:?}, the ledger {:?}", next.name(), self.inner.ledger_name)));
        }
        let origin = origin_for(&self.inner.ledger_name, self.inner.store.tenant());
        let next = next.renamed(&origin).map_err(|e| LedgerError::Invalid(format!("origin {origin:?}: {e}")))?;
        if next.verifier().id() == self.inner.signer.verifier().id() {
            return Err(LedgerError::Invalid("the new key is the current key".into()));
        }
        self.seal_signed(Some(&next)).await
    }

    async fn seal_signed(&self, cosigner: Option<&NoteSigner>) -> Result<CheckpointRow, LedgerError> {
        let tenant = self.inner.store.tenant().clone();
        let origin = origin_for(&self.inner.ledger_name, &tenant);
        let signer = &self.inner.signer;
        let at = now();
        let sign = move |d: crate::store::SealDraft| {
            // Read the clock again under the seal lock, and never go back in time along
            // the chain (another process may have sealed in between, or the clock stepped).
            let at = now().max(at).max(d.prev_sealed_at.unwrap_or(UnixMillis(i64::MIN)));
            let cp = Checkpoint { origin, tenant, seq: d.seq, root: d.root, prev: d.prev, sealed_at: at };
            let mut note = cp.sign(signer).map_err(|e| StoreError::Seal(e.to_string()))?;
            if let Some(next) = cosigner {
                note.note = evidence_core::note::cosign(&note.note, next).map_err(|e| StoreError::Seal(e.to_string()))?;
            }
            Ok(SealSigned { note, hash: cp.hash(), sealed_at: at })
        };
        let started = std::time::Instant::now();
        let out = self.inner.store.seal(sign, &self.inner.rails, at).await;
        let m = crate::metrics::global();
        m.seal_seconds.observe(started.elapsed().as_secs_f64());
        let outcome = match &out {
            Ok(_) => "ok",
            Err(StoreError::SealBusy) => "busy",
            Err(_) => "error",
        };
        m.seals.inc(&[("outcome", outcome)]);
        Ok(out?)
    }

    /// The checkpoint with sequence number `seq`.
    ///
    /// # Errors
    /// [`LedgerError::NoSuchCheckpoint`].
    pub async fn checkpoint(&self, seq: CheckpointSeq) -> Result<CheckpointRow, LedgerError> {
        let mut v = self.inner.store.checkpoints(seq.0, 1).await?;
        match v.pop() {
            Some(c) if c.seq == seq => Ok(c),
            _ => Err(LedgerError::NoSuchCheckpoint(seq)),
        }
    }

    /// All checkpoints from `from`, at most `limit`.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn checkpoints(&self, from: u64, limit: u32) -> Result<Vec<CheckpointRow>, LedgerError> {
        Ok(self.inner.store.checkpoints(from, limit).await?)
    }

    /// The anchoring state of a checkpoint, per rail (re-anchors included).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn anchor_state(&self, seq: CheckpointSeq) -> Result<Vec<AnchorRow>, LedgerError> {
        Ok(self.inner.store.anchors(seq).await?)
    }

    /// The leaf, salt and decrypted record of a claim (record None when erased).
    ///
    /// # Errors
    /// [`LedgerError`]; a record that fails to decrypt is an error, not an erasure.
    pub async fn claim_parts(&self, seq: Seq) -> Result<ClaimParts, LedgerError> {
        let leaf = self.leaf(seq).await?;
        self.claim_parts_of(leaf).await
    }

    /// [`TenantLedger::claim_parts`] of a leaf already read (e.g. by a scan of
    /// [`TenantStore::leaves`]): its record is read and opened.
    ///
    /// # Errors
    /// As [`TenantLedger::claim_parts`].
    pub async fn claim_parts_of(&self, leaf: crate::store::LeafRow) -> Result<ClaimParts, LedgerError> {
        let seq = leaf.seq;
        let entry = evidence_core::LeafEntry::decode(&leaf.entry).map_err(|e| LedgerError::Internal(e.to_string()))?;
        let record = match self.inner.store.record(seq).await? {
            None => None,
            Some(rec) => {
                let kek = self.inner.keys.kek(self.inner.store.tenant(), rec.kek_epoch)?;
                let opened = open_record(&kek, self.inner.store.tenant(), &entry.commitment, &rec)?;
                let claim = claim_from_canonical(&opened.plaintext)?;
                Some((Salt(opened.salt), claim))
            }
        };
        Ok(ClaimParts { seq, leaf_entry: leaf.entry, content_hash: leaf.content_hash, appended_at: leaf.appended_at, record })
    }
}

fn claim_from_canonical(bytes: &[u8]) -> Result<Claim, LedgerError> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| LedgerError::Internal(format!("stored record: {e}")))?;
    let kind = v
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .and_then(ClaimKind::from_name)
        .ok_or_else(|| LedgerError::Internal("stored record has no known kind".into()))?;
    let body = v.get("body").cloned().unwrap_or(serde_json::Value::Null);
    Claim::new(kind, body).map_err(|e| LedgerError::Internal(format!("stored record: {e}")))
}

impl<T: TenantStore> ClaimSink for TenantLedger<T> {
    type Error = LedgerError;

    fn tenant(&self) -> &TenantId {
        self.inner.store.tenant()
    }

    /// One claim, committed together with concurrent appends to the same tenant (group
    /// commit: they share one transaction and one durable commit); acknowledged only once
    /// that commit is durable.
    async fn append(&self, req: AppendRequest) -> Result<AppendReceipt, LedgerError> {
        let started = std::time::Instant::now();
        validate_request(&req)?;
        let at = now();
        let out = self
            .with_current_epoch(|| {
                let leaf = self.prepare(&req, LeafEffect::None, at);
                async move { self.inner.group.append(&self.inner.store, vec![leaf?]).await }
            })
            .await;
        let m = crate::metrics::global();
        m.append_seconds.observe(started.elapsed().as_secs_f64());
        m.appends.add(&[("outcome", if out.is_ok() { "ok" } else { "error" })], 1);
        out?.pop().ok_or_else(|| LedgerError::Internal("append returned no receipt".into()))
    }

    async fn append_batch(&self, reqs: Vec<AppendRequest>) -> Result<Vec<AppendReceipt>, LedgerError> {
        self.append_many(reqs).await
    }
}

impl<T: TenantStore> evidence_core::Retractor for TenantLedger<T> {
    type Error = LedgerError;

    async fn retract(&self, seq: Seq, reason: &str) -> Result<AppendReceipt, LedgerError> {
        TenantLedger::retract(self, seq, reason).await
    }
}
