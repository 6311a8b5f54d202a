//! The [`Ledger`] and its per-tenant handle [`TenantLedger`].

use std::collections::HashMap;
use std::sync::Arc;

use evidence_core::bundle::{
    Anchors, BUNDLE_FORMAT, Base64, Bundle, BundleClaim, FabricAnchor, IncidentFlag, LaterCheckpoint, RecordStatus, TimestampAnchor,
};
use evidence_core::checkpoint::{Checkpoint, origin_for};
use evidence_core::claim::{Claim, ClaimKind, Salt, commitment};
use evidence_core::internal::merkle_store::{
    MapSource, NodeId, consistency_node_ids, consistency_proof, inclusion_node_ids, inclusion_proof,
};
use evidence_core::merkle::{ConsistencyProof, InclusionProof, root_of};
use evidence_core::note::NoteSigner;
use evidence_core::sink::validate_request;
use evidence_core::{AppendReceipt, AppendRequest, CheckpointSeq, ClaimSink, ContentHash, NodeHash, Seq, SinkError, TenantId, UnixMillis};
use serde_json::json;

use crate::crypto::{KeyError, KeyProvider, SecretKey, open_record, random_salt, seal_record};
use crate::store::{
    AnchorRow, AnchorState, CheckpointRow, IncidentRow, LeafEffect, NewLeaf, Rail, STORED_MIN_LEVEL, SealSigned, Store, StoreError,
    TenantConfig, TenantStore,
};

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
    /// An internal consistency check failed (a bug or a corrupted store).
    #[error("internal: {0}")]
    Internal(String),
    /// The arguments are not usable.
    #[error("invalid argument: {0}")]
    Invalid(String),
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
    /// One handle state per tenant, built on first use (origin signer, tenant key, group-commit
    /// queue) and shared by every handle of that tenant afterwards: tenants are never deleted
    /// and their configuration is fixed at creation, so nothing in it goes stale.
    handles: std::sync::Mutex<HashMap<TenantId, Arc<TenantInner<S::Tenant>>>>,
}

/// Group commit: concurrent appends (single claims and batches) to one tenant are stored in
/// one transaction, so they share one durable commit (one fsync) instead of queueing for one
/// each.
///
/// No timer and no long-lived worker: a caller queues its prepared leaves, then takes the
/// commit lock; whoever holds it stores everything queued so far (its own leaves, and those
/// that arrived while the previous commit was in flight, up to [`GroupCommit::MAX`] leaves)
/// and hands each caller its receipts; a caller answered that way returns at once rather than
/// waiting its turn for the lock. A caller's leaves are never split across
/// transactions, so a batch stays atomic and its sequence numbers consecutive. Every receipt
/// is sent only after the transaction holding its leaves committed, so an append is still
/// acknowledged only once durable. When a grouped commit fails, each caller's leaves are
/// retried alone, so a caller gets the error its own claims cause and no one else's.
#[derive(Default)]
struct GroupCommit {
    queue: std::sync::Mutex<Vec<Queued>>,
    commit: Arc<tokio::sync::Mutex<()>>,
}

/// One caller's leaves waiting for a group commit, and where their receipts go.
type Queued = (Vec<NewLeaf>, tokio::sync::oneshot::Sender<Result<Vec<AppendReceipt>, LedgerError>>);

impl GroupCommit {
    /// The most leaves stored in one grouped transaction (a single caller's batch may exceed it).
    const MAX: usize = 2000;

    async fn append<T: TenantStore>(&self, store: &T, leaves: Vec<NewLeaf>) -> Result<Vec<AppendReceipt>, LedgerError> {
        let poisoned = || LedgerError::Internal("group-commit queue poisoned".into());
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        self.queue.lock().map_err(|_| poisoned())?.push((leaves, tx));
        loop {
            // Wait for our receipts or for the commit lock, whichever comes first: a caller
            // whose leaves went out in someone else's group returns as soon as that commit
            // is done, instead of queueing for the lock behind the next group's commit.
            let held = tokio::select! {
                biased;
                r = &mut rx => return r.unwrap_or_else(|_| Err(LedgerError::Internal("group commit dropped an append".into()))),
                held = Arc::clone(&self.commit).lock_owned() => held,
            };
            // Leaves are only taken under the commit lock, and results are sent before it is
            // released: once we hold it, ours are either answered or still queued.
            let group: Vec<Queued> = {
                let mut q = self.queue.lock().map_err(|_| poisoned())?;
                let (mut take, mut total) = (0, 0);
                while let Some((l, _)) = q.get(take) {
                    if take > 0 && total + l.len() > Self::MAX {
                        break;
                    }
                    total += l.len();
                    take += 1;
                }
                q.drain(..take).collect()
            };
            if group.is_empty() {
                drop(held);
            } else {
                // In a task of its own, holding the lock: a caller that goes away (a client
                // disconnecting) cannot cancel a commit that carries other callers' claims.
                let store = store.clone();
                let _ = tokio::spawn(async move {
                    Self::store(&store, group).await;
                    drop(held);
                })
                .await;
            }
        }
    }

    async fn store<T: TenantStore>(store: &T, group: Vec<Queued>) {
        if group.len() == 1 {
            if let Some((leaves, tx)) = group.into_iter().next() {
                let _ = tx.send(Self::store_one(store, leaves).await);
            }
            return;
        }
        let all: Vec<NewLeaf> = group.iter().flat_map(|(l, _)| l.iter().cloned()).collect();
        let n = all.len();
        match store.append(all).await {
            Ok(receipts) if receipts.len() == n => {
                let mut receipts = receipts.into_iter();
                for (leaves, tx) in group {
                    let _ = tx.send(Ok(receipts.by_ref().take(leaves.len()).collect()));
                }
            }
            _ => {
                // Someone's claims broke the group: store each caller's alone, so each gets its own outcome.
                for (leaves, tx) in group {
                    let _ = tx.send(Self::store_one(store, leaves).await);
                }
            }
        }
    }

    async fn store_one<T: TenantStore>(store: &T, leaves: Vec<NewLeaf>) -> Result<Vec<AppendReceipt>, LedgerError> {
        let n = leaves.len();
        let receipts = store.append(leaves).await?;
        if receipts.len() == n {
            Ok(receipts)
        } else {
            Err(LedgerError::Internal(format!("the store returned {} receipts for {n} leaves", receipts.len())))
        }
    }
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
                handles: std::sync::Mutex::default(),
            }),
        }
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

    /// Creates a tenant (idempotent: an existing tenant keeps its stored policy).
    ///
    /// # Errors
    /// [`LedgerError`].
    pub async fn create_tenant(&self, tenant: &TenantId, config: &TenantConfig) -> Result<TenantLedger<S::Tenant>, LedgerError> {
        let store = self.inner.store.create_tenant(tenant, config).await?;
        self.handle(store)
    }

    /// Opens an existing tenant.
    ///
    /// # Errors
    /// [`LedgerError::Store`] with [`StoreError::UnknownTenant`].
    pub async fn tenant(&self, tenant: &TenantId) -> Result<TenantLedger<S::Tenant>, LedgerError> {
        let store = self.inner.store.open_tenant(tenant).await?;
        self.handle(store)
    }

    /// Every tenant.
    ///
    /// # Errors
    /// [`LedgerError::Store`].
    pub async fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        Ok(self.inner.store.tenants().await?)
    }

    fn handle(&self, store: S::Tenant) -> Result<TenantLedger<S::Tenant>, LedgerError> {
        let poisoned = || LedgerError::Internal("tenant handle table poisoned".into());
        if let Some(inner) = self.inner.handles.lock().map_err(|_| poisoned())?.get(store.tenant()) {
            return Ok(TenantLedger { inner: Arc::clone(inner) });
        }
        // Built outside the lock (key derivation is the slow part); if two callers race, the
        // first to insert wins and both use its state, so a tenant has one group-commit queue.
        let tenant = store.tenant().clone();
        let origin = origin_for(&self.inner.name, &tenant);
        let signer = self.inner.signer.renamed(&origin).map_err(|e| LedgerError::Invalid(format!("origin {origin:?}: {e}")))?;
        let key = self.inner.keys.tenant_key(&tenant)?;
        let built = Arc::new(TenantInner {
            store,
            signer,
            key,
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
    key: SecretKey,
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
        let record = seal_record(&self.inner.key, self.inner.store.tenant(), &c, salt, &canonical)?;
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
        let mut leaves = Vec::with_capacity(reqs.len());
        for r in &reqs {
            validate_request(r)?;
            leaves.push(self.prepare(r, LeafEffect::None, at)?);
        }
        let n = leaves.len() as u64;
        let out = self.inner.group.append(&self.inner.store, leaves).await;
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
        let leaf = self.prepare(&req, effect, now())?;
        let mut out = self.inner.store.append(vec![leaf]).await?;
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

    /// Appends a `retraction` claim linking the target's content hash. The target stays.
    ///
    /// # Errors
    /// [`LedgerError::NoSuchLeaf`] and storage errors.
    pub async fn retract(&self, target: Seq, reason: &str) -> Result<AppendReceipt, LedgerError> {
        let t = self.leaf(target).await?;
        self.append_generated(
            ClaimKind::Retraction,
            json!({ "retracts": t.content_hash.to_hex(), "seq": target.0, "reason": reason }),
            vec![t.content_hash],
            LeafEffect::None,
        )
        .await
    }

    /// Appends `replacement` and a `supersession` claim linking the target and the
    /// replacement, in one transaction. Returns (replacement, supersession) receipts.
    ///
    /// # Errors
    /// [`LedgerError`].
    pub async fn supersede(
        &self,
        target: Seq,
        replacement: AppendRequest,
        reason: &str,
    ) -> Result<(AppendReceipt, AppendReceipt), LedgerError> {
        validate_request(&replacement)?;
        let t = self.leaf(target).await?;
        let at = now();
        let new = self.prepare(&replacement, LeafEffect::None, at)?;
        let sup_req = AppendRequest::new(
            Claim::new(
                ClaimKind::Supersession,
                json!({ "supersedes": t.content_hash.to_hex(), "seq": target.0, "replacement": new.content_hash.to_hex(), "reason": reason }),
            )
            .map_err(SinkError::from)?,
        )
        .with_links(vec![t.content_hash, new.content_hash]);
        let sup = self.prepare(&sup_req, LeafEffect::None, at)?;
        let mut out = self.inner.store.append(vec![new, sup]).await?;
        let s = out.pop();
        let r = out.pop();
        r.zip(s).ok_or_else(|| LedgerError::Internal("supersede returned too few receipts".into()))
    }

    /// Crypto-shreds the target's record (ciphertext, wrapped data key, salt) and appends
    /// an `erasure` claim linking its content hash, in one transaction. The leaf stays and
    /// its proofs still verify; the commitment can no longer be opened.
    ///
    /// # Errors
    /// [`LedgerError`].
    pub async fn erase(&self, target: Seq, reason: &str) -> Result<AppendReceipt, LedgerError> {
        let t = self.leaf(target).await?;
        self.append_generated(
            ClaimKind::Erasure,
            json!({ "erases": t.content_hash.to_hex(), "seq": target.0, "reason": reason }),
            vec![t.content_hash],
            LeafEffect::Erase { target },
        )
        .await
    }

    /// Appends an `incident` claim flagging `[from, to]`; every bundle of a claim appended
    /// inside the window carries the flag.
    ///
    /// # Errors
    /// [`LedgerError`].
    pub async fn incident(
        &self,
        from: UnixMillis,
        to: UnixMillis,
        reason: &str,
        details: serde_json::Value,
    ) -> Result<AppendReceipt, LedgerError> {
        if from > to {
            return Err(LedgerError::Invalid("incident window ends before it starts".into()));
        }
        self.append_generated(
            ClaimKind::Incident,
            json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339(), "reason": reason, "details": details }),
            Vec::new(),
            LeafEffect::Incident { from, to, reason: reason.to_owned() },
        )
        .await
    }

    /// Incidents whose window covers `t`.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn incidents_covering(&self, t: UnixMillis) -> Result<Vec<IncidentRow>, LedgerError> {
        Ok(self.inner.store.incidents_covering(t).await?)
    }

    /// Seals every claim stored so far (an empty interval still seals).
    ///
    /// # Errors
    /// [`LedgerError`]; [`StoreError::SealBusy`] when another seal of the tenant is under way.
    pub async fn seal_now(&self) -> Result<CheckpointRow, LedgerError> {
        let tenant = self.inner.store.tenant().clone();
        let origin = origin_for(&self.inner.ledger_name, &tenant);
        let signer = &self.inner.signer;
        let at = now();
        let sign = move |d: crate::store::SealDraft| {
            // Read the clock again under the seal lock, and never go back in time along
            // the chain (another process may have sealed in between, or the clock stepped).
            let at = now().max(at).max(d.prev_sealed_at.unwrap_or(UnixMillis(i64::MIN)));
            let cp = Checkpoint { origin, tenant, seq: d.seq, root: d.root, prev: d.prev, sealed_at: at };
            let note = cp.sign(signer).map_err(|e| StoreError::Seal(e.to_string()))?;
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

    /// Fetches the complete nodes `ids` of a tree of at least `size` leaves: stored ones
    /// from the node table, low ones recomputed from leaf hashes.
    async fn source(&self, ids: Vec<NodeId>) -> Result<MapSource, LedgerError> {
        let (high, low): (Vec<NodeId>, Vec<NodeId>) = ids.into_iter().partition(|id| id.level >= STORED_MIN_LEVEL);
        let mut map: HashMap<NodeId, NodeHash> = self.inner.store.nodes(&high).await?.into_iter().collect();
        for id in low {
            let start = id.index << id.level;
            let end = start + (1u64 << id.level);
            let leaves = self.inner.store.leaf_hashes(start, end).await?;
            if leaves.len() as u64 != end - start {
                return Err(LedgerError::Internal(format!("node {id:?}: {} leaves stored", leaves.len())));
            }
            map.insert(id, root_of(&leaves));
        }
        Ok(MapSource(map))
    }

    /// The inclusion proof of leaf `seq` in the tree sealed by `checkpoint`, checked
    /// against its root before it is returned.
    ///
    /// # Errors
    /// [`LedgerError`].
    pub async fn inclusion_proof(&self, seq: Seq, checkpoint: &CheckpointRow) -> Result<InclusionProof, LedgerError> {
        let size = checkpoint.root.tree_size.0;
        if seq.0 >= size {
            return Err(LedgerError::NotSealed(seq));
        }
        let src = self.source(inclusion_node_ids(seq.0, size)).await?;
        let proof = inclusion_proof(seq.0, size, &src).map_err(|e| LedgerError::Internal(e.to_string()))?;
        let leaf = self.leaf(seq).await?;
        proof
            .verify(&leaf.leaf_hash, &checkpoint.root)
            .map_err(|e| LedgerError::Internal(format!("inclusion proof does not verify: {e}")))?;
        Ok(proof)
    }

    /// The consistency proof between two checkpoints, checked before it is returned.
    ///
    /// # Errors
    /// [`LedgerError`].
    pub async fn consistency_proof(&self, old: &CheckpointRow, new: &CheckpointRow) -> Result<ConsistencyProof, LedgerError> {
        let (m, n) = (old.root.tree_size.0, new.root.tree_size.0);
        if m > n {
            return Err(LedgerError::Invalid(format!("checkpoint {} is larger than {}", old.seq, new.seq)));
        }
        let src = self.source(consistency_node_ids(m, n)).await?;
        let proof = consistency_proof(m, n, &src).map_err(|e| LedgerError::Internal(e.to_string()))?;
        proof.verify(&old.root, &new.root).map_err(|e| LedgerError::Internal(format!("consistency proof does not verify: {e}")))?;
        Ok(proof)
    }

    /// The leaf, salt and decrypted record of a claim (record None when erased).
    ///
    /// # Errors
    /// [`LedgerError`]; a record that fails to decrypt is an error, not an erasure.
    pub async fn claim_parts(&self, seq: Seq) -> Result<ClaimParts, LedgerError> {
        let leaf = self.leaf(seq).await?;
        let entry = evidence_core::LeafEntry::decode(&leaf.entry).map_err(|e| LedgerError::Internal(e.to_string()))?;
        let record = match self.inner.store.record(seq).await? {
            None => None,
            Some(rec) => {
                let plain = open_record(&self.inner.key, self.inner.store.tenant(), &entry.commitment, &rec)?;
                let claim = claim_from_canonical(&plain)?;
                Some((Salt(rec.salt), claim))
            }
        };
        Ok(ClaimParts { seq, leaf_entry: leaf.entry, content_hash: leaf.content_hash, appended_at: leaf.appended_at, record })
    }

    /// An `evidence-bundle/v1` for `seqs`: proven against the latest checkpoint that
    /// covers them all and has at least one anchor (else the latest covering one), with
    /// its anchors, a consistency proof to the latest checkpoint and incident flags.
    ///
    /// # Errors
    /// [`LedgerError::NotSealed`] when a claim is not sealed yet.
    pub async fn bundle(&self, seqs: &[Seq]) -> Result<Bundle, LedgerError> {
        let Some(max) = seqs.iter().map(|s| s.0).max() else {
            return Err(LedgerError::Invalid("no claims asked for".into()));
        };
        let all = self.inner.store.checkpoints(0, u32::MAX).await?;
        let covering: Vec<&CheckpointRow> = all.iter().filter(|c| c.root.tree_size.0 > max).collect();
        let Some(latest) = covering.last() else {
            return Err(LedgerError::NotSealed(Seq(max)));
        };
        let mut chosen = *latest;
        let mut chosen_anchors = self.inner.store.anchors(chosen.seq).await?;
        for c in covering.iter().rev() {
            let a = self.inner.store.anchors(c.seq).await?;
            if a.iter().any(|r| r.state == AnchorState::Anchored) {
                chosen = c;
                chosen_anchors = a;
                break;
            }
        }
        let mut claims = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let parts = self.claim_parts(seq).await?;
            let proof = self.inclusion_proof(seq, chosen).await?;
            let incidents = self
                .inner
                .store
                .incidents_covering(parts.appended_at)
                .await?
                .into_iter()
                .map(|i| IncidentFlag { incident: i.content_hash, from: i.from, to: i.to, reason: i.reason })
                .collect();
            let (status, salt, record, content_hash) = match parts.record {
                Some((salt, claim)) => (RecordStatus::Disclosed, Some(Base64(salt.0.to_vec())), Some(claim), Some(parts.content_hash)),
                None => (RecordStatus::Erased, None, None, None),
            };
            claims.push(BundleClaim {
                seq: seq.0,
                leaf_entry: Base64(parts.leaf_entry),
                content_hash,
                salt,
                record_status: status,
                record,
                inclusion_proof: proof,
                incidents,
            });
        }
        let mut anchors = Anchors::default();
        for a in chosen_anchors.iter().filter(|a| a.state == AnchorState::Anchored) {
            let Some(ev) = &a.evidence else { continue };
            match a.rail {
                Rail::Tsa => anchors.timestamps.push(TimestampAnchor {
                    tsa: a.authority.clone().unwrap_or_default(),
                    jurisdiction: a.jurisdiction.clone(),
                    token: Base64(ev.clone()),
                    certificates: Vec::new(),
                    outside_residency: a.in_residency == Some(false),
                }),
                Rail::Fabric => match serde_json::from_slice::<FabricAnchor>(ev) {
                    Ok(f) => anchors.fabric.push(f),
                    Err(e) => {
                        tracing::warn!(anchor = a.id, error = %e, "fabric evidence is not a FabricAnchor receipt; left out of the bundle");
                    }
                },
            }
        }
        let mut later_checkpoints = Vec::new();
        if latest.seq != chosen.seq {
            later_checkpoints
                .push(LaterCheckpoint { checkpoint: latest.note.clone(), proof: self.consistency_proof(chosen, latest).await? });
        }
        Ok(Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            ledger: self.inner.ledger_name.clone(),
            tenant: self.inner.store.tenant().clone(),
            checkpoint: chosen.note.clone(),
            claims,
            anchors,
            later_checkpoints,
        })
    }

    /// A `c2sp.org/tlog-proof@v1` for leaf `seq` against the latest checkpoint (the entry
    /// is the binary leaf entry, returned alongside), for transparency-log tooling.
    ///
    /// # Errors
    /// [`LedgerError::NotSealed`] when no checkpoint covers the leaf yet.
    pub async fn tlog_proof(&self, seq: Seq) -> Result<(Vec<u8>, evidence_core::TlogProof), LedgerError> {
        let cp = self.inner.store.latest_checkpoint().await?.filter(|c| c.root.tree_size.0 > seq.0).ok_or(LedgerError::NotSealed(seq))?;
        let proof = self.inclusion_proof(seq, &cp).await?;
        let leaf = self.leaf(seq).await?;
        Ok((leaf.entry, evidence_core::TlogProof::new(&proof, &cp.note, None)))
    }

    pub(crate) async fn reanchor(
        &self,
        original: &AnchorRow,
        cp_hash: &evidence_core::CheckpointHash,
        success: crate::store::AnchorSuccess,
    ) -> Result<AppendReceipt, LedgerError> {
        self.append_generated(
            ClaimKind::Reanchor,
            json!({
                "checkpoint_seq": original.checkpoint_seq.0,
                "checkpoint_hash": cp_hash.to_hex(),
                "rail": original.rail.as_str(),
                "anchor_id": original.id,
                "authority": success.authority,
                "jurisdiction": success.jurisdiction,
                "reason": "outside_residency_policy",
            }),
            Vec::new(),
            LeafEffect::Reanchor { original: original.id, success },
        )
        .await
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
        let leaf = self.prepare(&req, LeafEffect::None, now())?;
        let out = self.inner.group.append(&self.inner.store, vec![leaf]).await;
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
