//! Proofs and evidence bundles of a tenant's claims.

use std::collections::HashMap;

use evidence_core::bundle::{
    Anchors, BUNDLE_FORMAT, Base64, Bundle, BundleClaim, FabricAnchor, IncidentFlag, LaterCheckpoint, RecordStatus, TimestampAnchor,
};
use evidence_core::internal::merkle_store::{
    MapSource, NodeId, consistency_node_ids, consistency_proof, inclusion_node_ids, inclusion_proof,
};
use evidence_core::merkle::{ConsistencyProof, InclusionProof, root_of};
use evidence_core::{NodeHash, Seq};

use super::{LedgerError, PendingAnchor, TenantLedger};
use crate::store::{AnchorRow, AnchorState, CheckpointRow, Rail, STORED_MIN_LEVEL, TenantStore};

/// At most this many later checkpoints go into a bundle: the ones right after the bundle's
/// checkpoint, and always the newest (the middle ones are left out when there are more).
pub const MAX_LATER_CHECKPOINTS: usize = 16;

/// True when a checkpoint's outbox rows satisfy the tenant's anchoring policy: every rail the
/// checkpoint was enqueued on at its seal (TSA always; Fabric when the ledger anchors there)
/// has an anchored row whose evidence is inside the tenant's residency policy (a token from
/// outside it is kept and flagged, but it is not what the policy asks for; its re-anchor is).
/// A checkpoint enqueued on no rail (a ledger built with no rails) needs nothing.
pub fn anchoring_satisfied(rows: &[AnchorRow]) -> bool {
    pending_rails(rows).is_empty()
}

/// The required rails of a checkpoint (see [`anchoring_satisfied`]) that have no anchor
/// inside the residency policy yet, with the state of their most advanced row.
pub fn pending_rails(rows: &[AnchorRow]) -> Vec<PendingAnchor> {
    let mut out = Vec::new();
    for rail in Rail::ALL {
        let on_rail: Vec<&AnchorRow> = rows.iter().filter(|r| r.rail == rail).collect();
        if on_rail.is_empty() || on_rail.iter().any(|r| r.state == AnchorState::Anchored && r.in_residency != Some(false)) {
            continue;
        }
        // Report the row being worked on: a re-anchor in flight, else the original.
        let row = on_rail.iter().rev().find(|r| r.state != AnchorState::Anchored).unwrap_or(&on_rail[0]);
        out.push(PendingAnchor { rail, state: row.state, attempts: row.attempts, next_attempt_at: row.next_attempt_at });
    }
    out
}

fn later_selection<'a>(newer: &[&'a CheckpointRow]) -> Vec<&'a CheckpointRow> {
    if newer.len() <= MAX_LATER_CHECKPOINTS {
        return newer.to_vec();
    }
    let mut v = newer[..MAX_LATER_CHECKPOINTS - 1].to_vec();
    v.extend(newer.last().copied());
    v
}

/// The anchors of a bundle's checkpoint from its outbox rows: every anchored row with
/// evidence (a Fabric row whose evidence is not a receipt is left out, with a warning).
fn bundle_anchors(rows: &[AnchorRow]) -> Anchors {
    let mut anchors = Anchors::default();
    for a in rows.iter().filter(|a| a.state == AnchorState::Anchored) {
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
    anchors
}

/// One claim of a bundle from its parts, its (verified) inclusion proof and its incident flags.
fn bundle_claim(parts: super::ClaimParts, proof: InclusionProof, incidents: Vec<IncidentFlag>) -> BundleClaim {
    let (status, salt, record, content_hash) = match parts.record {
        Some((salt, claim)) => (RecordStatus::Disclosed, Some(Base64(salt.0.to_vec())), Some(claim), Some(parts.content_hash)),
        None => (RecordStatus::Erased, None, None, None),
    };
    BundleClaim {
        seq: parts.seq.0,
        leaf_entry: Base64(parts.leaf_entry),
        content_hash,
        salt,
        record_status: status,
        record,
        inclusion_proof: proof,
        incidents,
    }
}

/// Most leaves (or leaf hashes) one query of [`TenantLedger::bundles_at`] reads.
const BATCH_READ: u64 = 65_536;

/// Sorted, distinct `[start, end)` ranges of `points` (sorted, distinct), a range spanning
/// consecutive points at most `gap` apart and at most [`BATCH_READ`] long.
fn runs(points: &[u64], gap: u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &p in points {
        match out.last_mut() {
            Some((start, end)) if p <= *end + gap && p + 1 - *start <= BATCH_READ => *end = p + 1,
            _ => out.push((p, p + 1)),
        }
    }
    out
}

impl<T: TenantStore> TenantLedger<T> {
    /// The incident flags of a claim appended at `at`.
    async fn incident_flags(&self, at: evidence_core::UnixMillis) -> Result<Vec<IncidentFlag>, LedgerError> {
        Ok(self
            .inner
            .store
            .incidents_covering(at)
            .await?
            .into_iter()
            .map(|i| IncidentFlag { incident: i.content_hash, from: i.from, to: i.to, reason: i.reason })
            .collect())
    }

    /// One single-claim `evidence-bundle/v1` per entry of `seqs` (in that order), each
    /// exactly what [`TenantLedger::bundle_at`]`(&[seq], checkpoint)` builds (the same
    /// value, so the same bytes once serialised), built in one pass for many claims: the
    /// checkpoint's anchors are read once; the leaves are read in ranges; the stored proof
    /// nodes are read once each however many proofs share them; the low nodes are
    /// recomputed from one read of each 256-leaf block that holds a listed claim; incidents
    /// are read once per distinct append time. Every inclusion proof is checked against the
    /// checkpoint's root before it is returned. What a signed report attaches.
    ///
    /// # Errors
    /// [`LedgerError::NotSealed`] when `checkpoint` does not seal a claim; storage errors.
    pub async fn bundles_at(&self, seqs: &[Seq], checkpoint: &CheckpointRow) -> Result<Vec<Bundle>, LedgerError> {
        let size = checkpoint.root.tree_size.0;
        if let Some(s) = seqs.iter().find(|s| s.0 >= size) {
            return Err(LedgerError::NotSealed(*s));
        }
        let mut distinct: Vec<u64> = seqs.iter().map(|s| s.0).collect();
        distinct.sort_unstable();
        distinct.dedup();

        // The leaves and records of the claims.
        let mut parts: HashMap<u64, super::ClaimParts> = HashMap::with_capacity(distinct.len());
        for (from, to) in runs(&distinct, 64) {
            for leaf in self.inner.store.leaves(from, to).await? {
                if distinct.binary_search(&leaf.seq.0).is_ok() {
                    parts.insert(leaf.seq.0, self.claim_parts_of(leaf).await?);
                }
            }
        }
        if let Some(missing) = distinct.iter().find(|s| !parts.contains_key(s)) {
            return Err(LedgerError::NoSuchLeaf(Seq(*missing)));
        }

        // Every node any of the proofs reads, once.
        let mut high = std::collections::BTreeSet::new();
        let mut low: HashMap<u64, Vec<NodeId>> = HashMap::new();
        for &seq in &distinct {
            for id in inclusion_node_ids(seq, size) {
                if id.level >= STORED_MIN_LEVEL {
                    high.insert(id);
                } else {
                    low.entry((id.index << id.level) >> STORED_MIN_LEVEL).or_default().push(id);
                }
            }
        }
        let high: Vec<NodeId> = high.into_iter().collect();
        let mut map: HashMap<NodeId, NodeHash> = HashMap::with_capacity(high.len() + low.len() * 8);
        for chunk in high.chunks(usize::try_from(BATCH_READ).unwrap_or(usize::MAX)) {
            map.extend(self.inner.store.nodes(chunk).await?);
        }
        let mut blocks: Vec<u64> = low.keys().copied().collect();
        blocks.sort_unstable();
        let block_len = 1u64 << STORED_MIN_LEVEL;
        // Runs of adjacent blocks, each read in one query.
        let mut block_runs: Vec<(u64, u64)> = Vec::new();
        for &b in &blocks {
            match block_runs.last_mut() {
                Some((start, end)) if b == *end && (b + 1 - *start) * block_len <= BATCH_READ => *end = b + 1,
                _ => block_runs.push((b, b + 1)),
            }
        }
        for (first, last) in block_runs {
            let from = first * block_len;
            let to = (last * block_len).min(size);
            let hashes = self.inner.store.leaf_hashes(from, to).await?;
            if hashes.len() as u64 != to - from {
                return Err(LedgerError::Internal(format!("leaves {from}..{to}: {} leaf hashes stored", hashes.len())));
            }
            for b in first..last {
                for id in low.get(&b).into_iter().flatten() {
                    let start = usize::try_from((id.index << id.level) - from).map_err(|e| LedgerError::Internal(e.to_string()))?;
                    let end = start + (1usize << id.level);
                    let leaves = hashes.get(start..end).ok_or_else(|| LedgerError::Internal(format!("node {id:?} outside the tree")))?;
                    map.insert(*id, root_of(leaves));
                }
            }
        }
        let src = MapSource(map);

        let anchors = bundle_anchors(&self.inner.store.anchors(checkpoint.seq).await?);
        let mut incidents: HashMap<i64, Vec<IncidentFlag>> = HashMap::new();
        let mut out = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let p = parts.get(&seq.0).ok_or(LedgerError::NoSuchLeaf(seq))?;
            let leaf_hash = evidence_core::leaf::leaf_hash_of(&p.leaf_entry);
            let proof = inclusion_proof(seq.0, size, &src).map_err(|e| LedgerError::Internal(e.to_string()))?;
            proof
                .verify(&leaf_hash, &checkpoint.root)
                .map_err(|e| LedgerError::Internal(format!("inclusion proof of leaf {} does not verify: {e}", seq.0)))?;
            if let std::collections::hash_map::Entry::Vacant(e) = incidents.entry(p.appended_at.0) {
                e.insert(self.incident_flags(p.appended_at).await?);
            }
            let flags = incidents.get(&p.appended_at.0).cloned().unwrap_or_default();
            let claim = bundle_claim(p.clone(), proof, flags);
            out.push(Bundle {
                format: BUNDLE_FORMAT.to_owned(),
                ledger: self.inner.ledger_name.clone(),
                tenant: self.inner.store.tenant().clone(),
                checkpoint: checkpoint.note.clone(),
                claims: vec![claim],
                anchors: anchors.clone(),
                later_checkpoints: Vec::new(),
            });
        }
        Ok(out)
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

    /// An `evidence-bundle/v1` for `seqs`, proven against the newest checkpoint that covers
    /// them all **and** is anchored as the tenant's policy requires (see
    /// [`anchoring_satisfied`]), with its anchors, the newer checkpoints as consistency-linked
    /// later checkpoints (at most [`MAX_LATER_CHECKPOINTS`], the newest always among them), and
    /// incident flags. A bundle that would fail verification for want of an anchor is never
    /// built.
    ///
    /// # Errors
    /// [`LedgerError::NotSealed`] when a claim is not sealed yet; [`LedgerError::NotAnchored`]
    /// (with what the newest covering checkpoint waits for) when no covering checkpoint is
    /// anchored yet.
    pub async fn bundle(&self, seqs: &[Seq]) -> Result<Bundle, LedgerError> {
        self.bundle_on(seqs, true).await
    }

    /// As [`TenantLedger::bundle`] but on the newest covering checkpoint whatever its anchors
    /// (it may carry none): for checking everything but the anchors, e.g. before the first
    /// anchor exists. Its verification fails wherever the verifier's policy requires an
    /// anchor that is missing.
    ///
    /// # Errors
    /// [`LedgerError::NotSealed`] when a claim is not sealed yet.
    pub async fn bundle_unanchored(&self, seqs: &[Seq]) -> Result<Bundle, LedgerError> {
        self.bundle_on(seqs, false).await
    }

    async fn bundle_on(&self, seqs: &[Seq], require_anchors: bool) -> Result<Bundle, LedgerError> {
        let Some(max) = seqs.iter().map(|s| s.0).max() else {
            return Err(LedgerError::Invalid("no claims asked for".into()));
        };
        let all = self.inner.store.checkpoints(0, u32::MAX).await?;
        let covering: Vec<&CheckpointRow> = all.iter().filter(|c| c.root.tree_size.0 > max).collect();
        let Some(latest) = covering.last().copied() else {
            return Err(LedgerError::NotSealed(Seq(max)));
        };
        let mut found = None;
        let mut latest_rows = None;
        for c in covering.iter().rev() {
            let rows = self.inner.store.anchors(c.seq).await?;
            if !require_anchors || anchoring_satisfied(&rows) {
                found = Some((*c, rows));
                break;
            }
            if latest_rows.is_none() {
                latest_rows = Some(rows);
            }
        }
        let Some((chosen, chosen_anchors)) = found else {
            return Err(LedgerError::NotAnchored {
                seq: Seq(max),
                checkpoint: latest.seq,
                pending: pending_rails(latest_rows.as_deref().unwrap_or_default()),
            });
        };
        let newer: Vec<&CheckpointRow> = covering.iter().copied().filter(|c| c.seq > chosen.seq).collect();
        self.bundle_from(seqs, chosen, &chosen_anchors, &newer).await
    }

    /// An `evidence-bundle/v1` for `seqs` proven against `checkpoint` (which must seal them
    /// all) with its anchors, and no later checkpoints: a function of the log up to that
    /// checkpoint, whatever was sealed after it (what a signed report attaches).
    ///
    /// # Errors
    /// [`LedgerError::NotSealed`] when `checkpoint` does not seal a claim.
    pub async fn bundle_at(&self, seqs: &[Seq], checkpoint: &CheckpointRow) -> Result<Bundle, LedgerError> {
        if let Some(s) = seqs.iter().find(|s| s.0 >= checkpoint.root.tree_size.0) {
            return Err(LedgerError::NotSealed(*s));
        }
        if seqs.is_empty() {
            return Err(LedgerError::Invalid("no claims asked for".into()));
        }
        let anchors = self.inner.store.anchors(checkpoint.seq).await?;
        self.bundle_from(seqs, checkpoint, &anchors, &[]).await
    }

    async fn bundle_from(
        &self,
        seqs: &[Seq],
        chosen: &CheckpointRow,
        chosen_anchors: &[crate::store::AnchorRow],
        newer: &[&CheckpointRow],
    ) -> Result<Bundle, LedgerError> {
        let mut claims = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let parts = self.claim_parts(seq).await?;
            let proof = self.inclusion_proof(seq, chosen).await?;
            let incidents = self.incident_flags(parts.appended_at).await?;
            claims.push(bundle_claim(parts, proof, incidents));
        }
        let anchors = bundle_anchors(chosen_anchors);
        let mut later_checkpoints = Vec::new();
        for c in later_selection(newer) {
            later_checkpoints.push(LaterCheckpoint { checkpoint: c.note.clone(), proof: self.consistency_proof(chosen, c).await? });
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
}
