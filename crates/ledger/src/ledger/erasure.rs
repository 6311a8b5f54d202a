//! Applying erasures: key epochs (see [`crate::crypto`]).
//!
//! An erasure deletes the record's row and raises the tenant's `shred_below` mark to the
//! current epoch + 1 (in the erasure claim's transaction). Applying it:
//!
//! 1. creates the KEK of the target epoch in the key provider (before anything in the
//!    database names it), then makes it the current epoch, ordered with appends by the head
//!    row (an append sealed under an older epoch is refused and prepared again, so no record
//!    of an older epoch can appear after this point);
//! 2. re-wraps every record of an older epoch under the new KEK, in batches (each row only if
//!    it still has its old epoch: concurrent erasures and other workers are harmless);
//! 3. once no record of an older epoch is left, destroys every older KEK in the provider,
//!    then records that in the database and lets the engine drop deleted pages (SQLite
//!    truncates its WAL).
//!
//! Every step is idempotent and resumable: a crash anywhere leaves the erasure pending, and
//! the next run (the sealing scheduler's, or the next erasure's) finishes it. Until step 3,
//! an erased record's remnants are still wrapped under a live KEK: that window is the
//! erasure window (zero by default: the erasure request returns after step 3).

use std::future::Future;
use std::sync::atomic::Ordering;

use evidence_core::{LeafEntry, Seq};

use super::{LedgerError, TenantLedger, now};
use crate::crypto::{KeyProvider, rewrap};
use crate::store::{StoreError, TenantStore};

/// Records re-wrapped per transaction.
const REWRAP_BATCH: u32 = 500;
/// Appends retried after a rotation started under them.
const EPOCH_RETRIES: usize = 4;

/// What applying an erasure did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErasureApplied {
    /// The epoch records are wrapped under now.
    pub epoch: u64,
    /// Records re-wrapped (by this run).
    pub rewrapped: u64,
    /// Every epoch below this is destroyed.
    pub destroyed_below: u64,
}

/// The epoch a tenant's handle starts with: the stored current epoch, or (for a tenant that
/// never had one) epoch 1, created in the provider first.
pub(super) async fn first_epoch<T: TenantStore>(store: &T, keys: &dyn KeyProvider) -> Result<u64, LedgerError> {
    let state = store.key_state().await?;
    if state.current > 0 {
        return Ok(state.current);
    }
    keys.create_kek(store.tenant(), 1)?;
    store.advance_epoch(0, 1).await?;
    Ok(store.key_state().await?.current)
}

impl<T: TenantStore> TenantLedger<T> {
    /// Runs `attempt` (which prepares leaves under the current epoch and stores them), again
    /// under the new epoch when a rotation started in between.
    pub(super) async fn with_current_epoch<R, F, Fut>(&self, mut attempt: F) -> Result<R, LedgerError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R, LedgerError>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(LedgerError::Store(StoreError::KeyEpochChanged { current })) if tries < EPOCH_RETRIES => {
                    self.inner.epoch.fetch_max(current, Ordering::AcqRel);
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// Applies pending erasures now (see the module docs): answers `None` when none is pending.
    ///
    /// # Errors
    /// [`LedgerError::Key`] when the key provider fails (nothing is lost: the erasure stays
    /// pending and a later run finishes it); storage errors.
    pub async fn apply_erasures(&self) -> Result<Option<ErasureApplied>, LedgerError> {
        let store = self.store();
        let tenant = store.tenant();
        let keys = self.inner.keys.as_ref();
        let state = store.key_state().await?;
        if !state.pending() {
            return Ok(None);
        }
        let target = state.shred_below;
        let started = std::time::Instant::now();
        // 1. The new epoch: its key first, then the database.
        let mut current = state.current;
        if current < target {
            keys.create_kek(tenant, target)?;
            store.advance_epoch(current, target).await?;
            current = store.key_state().await?.current;
        }
        self.inner.epoch.fetch_max(current, Ordering::AcqRel);
        let new_kek = keys.kek(tenant, current)?;
        // 2. Re-wrap every record of an older epoch.
        let mut rewrapped = 0;
        let mut after: Option<Seq> = None;
        loop {
            let rows = store.records_below(target, after, REWRAP_BATCH).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.seq);
            let mut batch = Vec::with_capacity(rows.len());
            for row in rows {
                let entry = LeafEntry::decode(&row.entry).map_err(|e| LedgerError::Internal(format!("leaf {}: {e}", row.seq)))?;
                let old_kek = keys.kek(tenant, row.record.kek_epoch)?;
                let moved = rewrap(&old_kek, &new_kek, current, tenant, &entry.commitment, &row.record)?;
                batch.push((row.seq, row.record.kek_epoch, moved));
            }
            rewrapped += store.replace_records(batch).await?;
        }
        let left = store.count_below(target).await?;
        if left > 0 {
            return Err(LedgerError::Internal(format!("{left} records still under an epoch below {target} after re-wrapping")));
        }
        // 3. Destroy the old keys, then say so.
        keys.destroy_below(tenant, target)?;
        store.shredded(target).await?;
        let m = crate::metrics::global();
        m.erasure_seconds.observe(started.elapsed().as_secs_f64());
        m.rewrapped.add(&[], rewrapped);
        tracing::info!(tenant = %tenant, epoch = current, rewrapped, "erasure applied: older key epochs destroyed");
        Ok(Some(ErasureApplied { epoch: current, rewrapped, destroyed_below: target }))
    }

    /// Applies pending erasures when the oldest is older than the ledger's erasure window.
    ///
    /// # Errors
    /// As [`TenantLedger::apply_erasures`].
    pub async fn apply_erasures_if_due(&self) -> Result<Option<ErasureApplied>, LedgerError> {
        let state = self.store().key_state().await?;
        let window = i64::try_from(self.inner.erasure_window.as_millis()).unwrap_or(i64::MAX);
        match state.erasure_pending_since {
            Some(since) if state.pending() && now().0.saturating_sub(since.0) >= window => self.apply_erasures().await,
            // A pending erasure without a time (cannot happen from this code): apply it.
            None if state.pending() => self.apply_erasures().await,
            _ => Ok(None),
        }
    }
}
