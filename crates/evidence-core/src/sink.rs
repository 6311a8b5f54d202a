//! [`ClaimSink`]: the one way claims enter a ledger.
//!
//! The pipeline and any other producer write claims only through this trait. It is
//! implemented by the ledger in process (`ledger_server::Ledger`), by an HTTP client
//! against a running server, and here by [`MemorySink`] for tests.
//!
//! A sink is bound to one tenant. `append` returns once the claim is durably stored
//! (for the real ledger: committed to its database) with a receipt naming its leaf.

use std::future::Future;
use std::sync::Mutex;

use crate::bundle::{Anchors, BUNDLE_FORMAT, Base64, Bundle, BundleClaim, LaterCheckpoint, RecordStatus};
use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, origin_for};
use crate::claim::{Claim, ClaimError, ClaimKind, Salt, commitment};
use crate::leaf::{LeafEntry, LeafError, MAX_LINKS};
use crate::merkle::MemoryTree;
use crate::note::NoteSigner;
use crate::types::{CheckpointHash, CheckpointSeq};
use crate::types::{Commitment, ContentHash, LeafHash, Seq, TenantId, UnixMillis};

/// One claim to append.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AppendRequest {
    /// The claim.
    pub claim: Claim,
    /// Content hashes of related claims, recorded in the leaf entry.
    #[serde(default)]
    pub links: Vec<ContentHash>,
    /// A client-chosen key that makes retries safe: appending twice with the same key
    /// returns the first receipt and writes nothing new. At most 128 bytes.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

impl AppendRequest {
    /// A request with no links and no idempotency key.
    pub fn new(claim: Claim) -> Self {
        Self { claim, links: Vec::new(), idempotency_key: None }
    }

    /// Adds links.
    #[must_use]
    pub fn with_links(mut self, links: Vec<ContentHash>) -> Self {
        self.links = links;
        self
    }

    /// Sets the idempotency key.
    #[must_use]
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

/// What a sink hands back for a stored claim.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AppendReceipt {
    /// The tenant whose log holds the claim.
    pub tenant: TenantId,
    /// Its leaf index.
    pub seq: Seq,
    /// Its kind.
    pub kind: ClaimKind,
    /// `SHA-256` of its canonical bytes: use this to link other claims to it.
    pub content_hash: ContentHash,
    /// The salted commitment in the leaf.
    pub commitment: Commitment,
    /// The leaf hash.
    pub leaf_hash: LeafHash,
    /// When it was appended.
    pub appended_at: UnixMillis,
}

impl AppendReceipt {
    /// The receipt of the leaf whose entry is `entry`, hashing to `leaf_hash`, for a claim
    /// whose content hash is `content_hash`: the one place receipts are built (the ledger's
    /// append plan and its stored leaves, and [`MemorySink`], use it).
    ///
    /// # Errors
    /// [`LeafError::UnknownKind`] when the entry's kind code is not a known kind.
    pub fn for_leaf(entry: &LeafEntry, leaf_hash: LeafHash, content_hash: ContentHash) -> Result<Self, LeafError> {
        Ok(Self {
            tenant: entry.tenant.clone(),
            seq: entry.seq,
            kind: entry.kind().ok_or(LeafError::UnknownKind(entry.kind_code))?,
            content_hash,
            commitment: entry.commitment,
            leaf_hash,
            appended_at: entry.appended_at,
        })
    }
}

/// Checks the parts of a request every sink must refuse the same way.
///
/// # Errors
/// [`SinkError`] for an invalid claim, too many links or an overlong idempotency key.
pub fn validate_request(req: &AppendRequest) -> Result<ContentHash, SinkError> {
    if req.links.len() > MAX_LINKS {
        return Err(SinkError::Leaf(LeafError::TooManyLinks(req.links.len())));
    }
    if req.idempotency_key.as_ref().is_some_and(|k| k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY) {
        return Err(SinkError::IdempotencyKey);
    }
    if req.claim.kind.is_ledger_generated() {
        return Err(SinkError::LedgerGeneratedKind(req.claim.kind));
    }
    Ok(req.claim.content_hash()?)
}

/// Errors every sink can report about the request itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The claim has no canonical form or is too large.
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// The leaf entry could not be built.
    #[error(transparent)]
    Leaf(#[from] LeafError),
    /// The idempotency key is empty or longer than [`MAX_IDEMPOTENCY_KEY`] bytes.
    #[error("idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} bytes")]
    IdempotencyKey,
    /// Retractions, erasures and the like are written by the ledger's own operations.
    #[error("claims of kind {0} are written by the ledger itself, not appended directly")]
    LedgerGeneratedKind(ClaimKind),
    /// The sink failed for a reason of its own (storage, network, ...).
    #[error("sink unavailable: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where claims go. Bound to one tenant.
pub trait ClaimSink: Sync {
    /// The sink's own error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The tenant this sink writes to.
    fn tenant(&self) -> &TenantId;

    /// Appends one claim; resolves once it is durably stored.
    fn append(&self, req: AppendRequest) -> impl Future<Output = Result<AppendReceipt, Self::Error>> + Send;

    /// Appends several claims, in order, with consecutive sequence numbers where the
    /// backend can promise it. The default appends one by one.
    fn append_batch(&self, reqs: Vec<AppendRequest>) -> impl Future<Output = Result<Vec<AppendReceipt>, Self::Error>> + Send {
        async move {
            let mut out = Vec::with_capacity(reqs.len());
            for r in reqs {
                out.push(self.append(r).await?);
            }
            Ok(out)
        }
    }
}

/// Something that can retract a claim of its tenant by sequence number: appends a
/// `retraction` claim linking it (the claim itself stays in the log). Implemented by the
/// ledger in process and by an HTTP client of a server, beside [`ClaimSink`].
pub trait Retractor: Sync {
    /// The retractor's own error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Retracts `seq` for `reason`; resolves with the retraction's receipt once stored.
    fn retract(&self, seq: Seq, reason: &str) -> impl Future<Output = Result<AppendReceipt, Self::Error>> + Send;
}

/// Why a [`MemorySink`] could not build a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleBuildError {
    /// No checkpoint with that sequence number.
    #[error("no checkpoint {0}")]
    NoCheckpoint(u64),
    /// The claim is not in the checkpoint's tree.
    #[error("claim {seq} is not covered by a checkpoint of {tree_size} leaves")]
    NotCovered {
        /// The claim.
        seq: u64,
        /// The checkpoint's size.
        tree_size: u64,
    },
    /// A leaf entry could not be encoded.
    #[error(transparent)]
    Leaf(#[from] LeafError),
}

/// Supplies what a sans-IO sink cannot make itself: the time and fresh salt.
pub trait Environment: Send + Sync {
    /// The current time.
    fn now(&self) -> UnixMillis;
    /// 32 fresh random bytes (the real ledger uses the OS generator).
    fn salt(&self) -> Salt;
}

/// An in-memory sink for tests and examples. Keeps claims, salts and leaf entries.
#[derive(Debug)]
pub struct MemorySink<E> {
    tenant: TenantId,
    env: E,
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    claims: Vec<StoredClaim>,
    tree: MemoryTree,
    checkpoints: Vec<(Checkpoint, SignedCheckpoint)>,
}

/// One claim held by a [`MemorySink`].
#[derive(Clone, Debug)]
pub struct StoredClaim {
    /// The request as given.
    pub request: AppendRequest,
    /// The salt of its commitment.
    pub salt: Salt,
    /// Its leaf entry.
    pub entry: LeafEntry,
    /// The receipt handed out.
    pub receipt: AppendReceipt,
}

impl<E: Environment> MemorySink<E> {
    /// An empty sink for `tenant`.
    pub fn new(tenant: TenantId, env: E) -> Self {
        Self { tenant, env, state: Mutex::new(MemoryState::default()) }
    }

    /// Every stored claim, in sequence order.
    pub fn stored(&self) -> Vec<StoredClaim> {
        self.lock().claims.clone()
    }

    /// Seals a checkpoint over every claim so far, signed by `signer` renamed to the
    /// tenant's origin under `ledger_name`, chained to the previous checkpoint.
    ///
    /// # Errors
    /// [`CheckpointError`] when the ledger name makes an invalid key name.
    pub fn seal(&self, ledger_name: &str, signer: &NoteSigner) -> Result<SignedCheckpoint, CheckpointError> {
        let mut state = self.lock();
        let origin = origin_for(ledger_name, &self.tenant);
        let prev = state.checkpoints.last().map_or(CheckpointHash([0; 32]), |(c, _)| c.hash());
        let cp = Checkpoint {
            origin: origin.clone(),
            tenant: self.tenant.clone(),
            seq: CheckpointSeq(state.checkpoints.len() as u64),
            root: state.tree.root(),
            prev,
            sealed_at: self.env.now(),
        };
        let signed = cp.sign(&signer.renamed(&origin)?)?;
        state.checkpoints.push((cp, signed.clone()));
        Ok(signed)
    }

    /// A bundle for the claims `seqs` against checkpoint `checkpoint` (with consistency
    /// proofs to every later checkpoint). Records are disclosed. No anchors: a memory sink
    /// has no rails.
    ///
    /// # Errors
    /// [`BundleBuildError`] when a claim or checkpoint does not exist or is not covered.
    pub fn bundle(&self, ledger_name: &str, seqs: &[u64], checkpoint: u64) -> Result<Bundle, BundleBuildError> {
        let state = self.lock();
        let index = usize::try_from(checkpoint).map_err(|_| BundleBuildError::NoCheckpoint(checkpoint))?;
        let (cp, signed) = state.checkpoints.get(index).ok_or(BundleBuildError::NoCheckpoint(checkpoint))?;
        let size = cp.root.tree_size.0;
        let mut claims = Vec::new();
        for &seq in seqs {
            let not_covered = BundleBuildError::NotCovered { seq, tree_size: size };
            let stored = usize::try_from(seq).ok().and_then(|i| state.claims.get(i)).filter(|_| seq < size).ok_or(not_covered)?;
            claims.push(BundleClaim {
                seq,
                leaf_entry: Base64(stored.entry.encode()?),
                content_hash: Some(stored.receipt.content_hash),
                salt: Some(Base64(stored.salt.0.to_vec())),
                record_status: RecordStatus::Disclosed,
                record: Some(stored.request.claim.clone()),
                inclusion_proof: state
                    .tree
                    .inclusion_proof(seq, size)
                    .map_err(|_| BundleBuildError::NotCovered { seq, tree_size: size })?,
                incidents: Vec::new(),
            });
        }
        let mut later_checkpoints = Vec::new();
        for (later, signed_later) in state.checkpoints.iter().skip(index + 1) {
            let proof =
                state.tree.consistency_proof(size, later.root.tree_size.0).map_err(|_| BundleBuildError::NoCheckpoint(later.seq.0))?;
            later_checkpoints.push(LaterCheckpoint { checkpoint: signed_later.clone(), proof });
        }
        Ok(Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            ledger: ledger_name.to_owned(),
            tenant: self.tenant.clone(),
            checkpoint: signed.clone(),
            claims,
            anchors: Anchors::default(),
            later_checkpoints,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic elsewhere while holding the lock leaves the state consistent (each field is updated by one push).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn append_now(&self, req: AppendRequest) -> Result<AppendReceipt, SinkError> {
        let content_hash = validate_request(&req)?;
        let mut state = self.lock();
        if let Some(key) = &req.idempotency_key
            && let Some(prev) = state.claims.iter().find(|s| s.request.idempotency_key.as_ref() == Some(key))
        {
            return Ok(prev.receipt.clone());
        }
        let salt = self.env.salt();
        let entry = LeafEntry {
            tenant: self.tenant.clone(),
            seq: Seq(state.claims.len() as u64),
            kind_code: req.claim.kind.code(),
            appended_at: self.env.now(),
            commitment: commitment(&salt, &content_hash),
            links: req.links.clone(),
        };
        let receipt = AppendReceipt::for_leaf(&entry, entry.leaf_hash()?, content_hash)?;
        state.tree.append(receipt.leaf_hash);
        state.claims.push(StoredClaim { request: req, salt, entry, receipt: receipt.clone() });
        Ok(receipt)
    }
}

impl<E: Environment> ClaimSink for MemorySink<E> {
    type Error = SinkError;

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    fn append(&self, req: AppendRequest) -> impl Future<Output = Result<AppendReceipt, SinkError>> + Send {
        std::future::ready(self.append_now(req))
    }
}

/// A deterministic [`Environment`] for tests: time advances 1 ms per call from a start,
/// and salts are SHA-256 of a counter. Never use it for real claims: its salts are guessable.
#[derive(Debug)]
pub struct DeterministicEnv {
    start: UnixMillis,
    counter: std::sync::atomic::AtomicU64,
}

impl DeterministicEnv {
    /// Starts the clock at `start`.
    pub fn new(start: UnixMillis) -> Self {
        Self { start, counter: std::sync::atomic::AtomicU64::new(0) }
    }

    fn tick(&self) -> u64 {
        self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

impl Environment for DeterministicEnv {
    fn now(&self) -> UnixMillis {
        UnixMillis(self.start.0.saturating_add(i64::try_from(self.tick()).unwrap_or(i64::MAX)))
    }
    fn salt(&self) -> Salt {
        Salt(crate::types::sha256(&[b"deterministic-test-salt", &self.tick().to_be_bytes()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        // MemorySink's futures are always ready; poll once with a no-op waker.
        let mut f = std::pin::pin!(f);
        let waker = std::task::Waker::noop();
        match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("memory sink future was not ready"),
        }
    }

    fn finding(n: u32) -> Claim {
        Claim::new(ClaimKind::LeakageFinding, serde_json::json!({"rule": "cit-aged", "deal": format!("D-{n}")})).unwrap()
    }

    #[test]
    fn appends_get_consecutive_seqs_and_idempotency_holds() {
        let sink = MemorySink::new(TenantId::new("t1").unwrap(), DeterministicEnv::new(UnixMillis(1_000)));
        let a = block_on(sink.append(AppendRequest::new(finding(1)).with_idempotency_key("k1"))).unwrap();
        let b = block_on(sink.append(AppendRequest::new(finding(2)).with_links(vec![a.content_hash]))).unwrap();
        let a2 = block_on(sink.append(AppendRequest::new(finding(1)).with_idempotency_key("k1"))).unwrap();
        assert_eq!((a.seq, b.seq), (Seq(0), Seq(1)));
        assert_eq!(a2, a);
        let stored = sink.stored();
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[1].entry.links, vec![a.content_hash]);
        assert!(crate::claim::opens(&b.commitment, &stored[1].salt, &b.content_hash));
        let batch = block_on(sink.append_batch(vec![AppendRequest::new(finding(3)), AppendRequest::new(finding(4))])).unwrap();
        assert_eq!(batch.iter().map(|r| r.seq.0).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn refuses_bad_requests() {
        let sink = MemorySink::new(TenantId::new("t1").unwrap(), DeterministicEnv::new(UnixMillis(0)));
        let r = block_on(sink.append(AppendRequest::new(Claim::new(ClaimKind::Retraction, serde_json::json!({})).unwrap())));
        assert!(matches!(r, Err(SinkError::LedgerGeneratedKind(ClaimKind::Retraction))));
        let r = block_on(sink.append(AppendRequest::new(finding(1)).with_links(vec![ContentHash([0; 32]); 33])));
        assert!(matches!(r, Err(SinkError::Leaf(LeafError::TooManyLinks(33)))));
        let r = block_on(sink.append(AppendRequest::new(finding(1)).with_idempotency_key("")));
        assert!(matches!(r, Err(SinkError::IdempotencyKey)));
        assert!(sink.stored().is_empty());
    }
}
