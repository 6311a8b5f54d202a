//! The anchoring outbox and its workers.
//!
//! Sealing enqueues one outbox row per rail in the same transaction as the checkpoint.
//! A worker pass claims due rows (leasing them, so several workers or processes never
//! take the same row), asks the rail, and either stores the evidence (`anchored`) or
//! records the failure and schedules a retry with exponential backoff (`failed`, retried
//! for as long as it takes: outages delay anchors, they never drop them).
//!
//! When the evidence comes from outside the tenant's residency policy (the TSA's or
//! endorser's jurisdiction is not allowed), the row is kept as anchored with
//! `in_residency = false`, a new row re-anchoring the same checkpoint on the same rail is
//! enqueued, and a `reanchor` claim is appended: all in one transaction. At most
//! [`MAX_REANCHORS`] re-anchors are chained per original row.
//!
//! The rails are traits so that the lead can plug in `tsa-client` (RFC 3161 over HTTP
//! with failover) and the Fabric gateway client; tests use a local `openssl ts` TSA and
//! test doubles named as such.

use std::future::Future;
use std::time::Duration;

use evidence_core::{CheckpointHash, CheckpointSeq, TenantId, UnixMillis};

use crate::ledger::{LedgerError, TenantLedger, now};
use crate::store::{AnchorRow, AnchorSuccess, Rail, TenantConfig, TenantStore};

/// Re-anchors chained after one out-of-policy anchor at most.
pub const MAX_REANCHORS: usize = 3;
/// How long a claimed row is leased to the worker that took it.
pub const LEASE_MS: i64 = 120_000;
/// First retry delay.
pub const BACKOFF_BASE_MS: i64 = 1_000;
/// Longest retry delay.
pub const BACKOFF_MAX_MS: i64 = 600_000;

/// What a rail is asked to anchor.
#[derive(Clone, Debug)]
pub struct AnchorRequest<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The checkpoint's sequence number.
    pub checkpoint_seq: CheckpointSeq,
    /// `SHA-256` of the checkpoint body: the value to time-stamp or write.
    pub checkpoint_hash: CheckpointHash,
    /// The tenant's policy (residency, Fabric channel).
    pub config: &'a TenantConfig,
    /// True when this is a re-anchor after out-of-policy evidence: the rail should pick
    /// an authority inside `config.residency`.
    pub reanchor: bool,
}

/// What a rail hands back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorEvidence {
    /// TSA: the DER `TimeStampResp` as received. Fabric: a receipt, JSON of
    /// [`evidence_core::bundle::FabricAnchor`].
    pub evidence: Vec<u8>,
    /// Who anchored (TSA name, Fabric network or channel).
    pub authority: String,
    /// Their jurisdiction (e.g. `CA`), when known.
    pub jurisdiction: Option<String>,
}

/// Why a rail could not anchor now. Every failure is retried later.
#[derive(Debug, thiserror::Error)]
#[error("{rail} rail: {message}")]
pub struct RailError {
    /// Which rail.
    pub rail: &'static str,
    /// What went wrong (stored as `last_error`; must not contain secrets).
    pub message: String,
}

/// The RFC 3161 rail: time-stamps a checkpoint hash.
pub trait TsaRail: Send + Sync {
    /// Obtains a time-stamp token over `req.checkpoint_hash`.
    fn timestamp(&self, req: &AnchorRequest<'_>) -> impl Future<Output = Result<AnchorEvidence, RailError>> + Send;
}

/// The Fabric rail: writes a checkpoint hash to the tenant's channel.
pub trait FabricRail: Send + Sync {
    /// Submits `req.checkpoint_hash` and returns the receipt once committed.
    fn submit(&self, req: &AnchorRequest<'_>) -> impl Future<Output = Result<AnchorEvidence, RailError>> + Send;
}

/// A Fabric rail for deployments that anchor on the TSA rail only (the ledger is built
/// with `Ledger::with_rails(vec![Rail::Tsa])`, so it is never asked). If it is asked, it
/// fails, and the outbox keeps the row pending: nothing is lost.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFabric;

impl FabricRail for NoFabric {
    async fn submit(&self, _req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        Err(RailError { rail: "fabric", message: "the Fabric rail is not configured on this server".into() })
    }
}

/// A TSA rail for deployments without one: fails, so rows stay pending.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTsa;

impl TsaRail for NoTsa {
    async fn timestamp(&self, _req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        Err(RailError { rail: "tsa", message: "no TSA is configured on this server".into() })
    }
}

/// An optional rail: `None` fails every attempt (rows stay pending, nothing is lost).
impl<R: FabricRail> FabricRail for Option<R> {
    async fn submit(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        match self {
            Some(r) => r.submit(req).await,
            None => NoFabric.submit(req).await,
        }
    }
}

/// An optional rail: `None` fails every attempt (rows stay pending, nothing is lost).
impl<R: TsaRail> TsaRail for Option<R> {
    async fn timestamp(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        match self {
            Some(r) => r.timestamp(req).await,
            None => NoTsa.timestamp(req).await,
        }
    }
}

/// What one worker pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Rows anchored inside policy.
    pub anchored: usize,
    /// Rows anchored outside policy (re-anchor enqueued).
    pub reanchored: usize,
    /// Rows whose attempt failed (retry scheduled).
    pub failed: usize,
}

/// The retry delay after `attempts` failed attempts.
pub fn backoff(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    BACKOFF_BASE_MS.saturating_mul(1i64 << shift).min(BACKOFF_MAX_MS)
}

fn reanchor_depth(rows: &[AnchorRow], row: &AnchorRow) -> usize {
    let mut depth = 0;
    let mut cur = row.reanchor_of;
    while let Some(id) = cur {
        depth += 1;
        cur = rows.iter().find(|r| r.id == id).and_then(|r| r.reanchor_of);
        if depth > rows.len() {
            break;
        }
    }
    depth
}

/// One rail as the anchoring workers drive it: which rail, and one attempt. Built from a
/// [`TsaRail`] with [`OnTsa`] or from a [`FabricRail`] with [`OnFabric`], so that each rail
/// has its own worker (a hung TSA never holds up Fabric anchors, and the other way round).
pub trait Anchorer: Send + Sync {
    /// The rail.
    fn rail(&self) -> Rail;
    /// One attempt.
    fn attempt(&self, req: &AnchorRequest<'_>) -> impl Future<Output = Result<AnchorEvidence, RailError>> + Send;
}

/// The RFC 3161 rail as an [`Anchorer`].
#[derive(Debug, Clone)]
pub struct OnTsa<R>(pub R);

/// The Fabric rail as an [`Anchorer`].
#[derive(Debug, Clone)]
pub struct OnFabric<F>(pub F);

impl<R: TsaRail> Anchorer for OnTsa<R> {
    fn rail(&self) -> Rail {
        Rail::Tsa
    }
    async fn attempt(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        self.0.timestamp(req).await
    }
}

impl<F: FabricRail> Anchorer for OnFabric<F> {
    fn rail(&self) -> Rail {
        Rail::Fabric
    }
    async fn attempt(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        self.0.submit(req).await
    }
}

impl<R: TsaRail + ?Sized> TsaRail for &R {
    async fn timestamp(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        (**self).timestamp(req).await
    }
}

impl<R: TsaRail + ?Sized> TsaRail for std::sync::Arc<R> {
    async fn timestamp(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        (**self).timestamp(req).await
    }
}

impl<F: FabricRail + ?Sized> FabricRail for &F {
    async fn submit(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        (**self).submit(req).await
    }
}

impl<F: FabricRail + ?Sized> FabricRail for std::sync::Arc<F> {
    async fn submit(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        (**self).submit(req).await
    }
}

/// The default deadline of one TSA attempt (all of the TSA client's failover included).
pub const TSA_DEADLINE: Duration = Duration::from_secs(10);
/// The default deadline of one Fabric attempt (endorse, submit, commit wait, block fetch and,
/// after a lost receipt, the search for the committed transaction).
pub const FABRIC_DEADLINE: Duration = Duration::from_mins(2);

/// The default deadline of one attempt on `rail`.
pub const fn default_deadline(rail: Rail) -> Duration {
    match rail {
        Rail::Tsa => TSA_DEADLINE,
        Rail::Fabric => FABRIC_DEADLINE,
    }
}

impl<T: TenantStore> TenantLedger<T> {
    /// One worker pass over the due rows of this tenant on both rails, one rail after the
    /// other, each attempt bounded by the rail's default deadline ([`default_deadline`]).
    /// The service runs each rail on its own instead ([`crate::scheduler::spawn_rail_workers`]).
    ///
    /// # Errors
    /// Storage errors (rail failures are recorded, not returned).
    pub async fn process_anchors<R: TsaRail, F: FabricRail>(&self, tsa: &R, fabric: &F, limit: u32) -> Result<PassStats, LedgerError> {
        let a = self.process_rail(&OnTsa(tsa), limit, TSA_DEADLINE).await?;
        let b = self.process_rail(&OnFabric(fabric), limit, FABRIC_DEADLINE).await?;
        Ok(PassStats { anchored: a.anchored + b.anchored, reanchored: a.reanchored + b.reanchored, failed: a.failed + b.failed })
    }

    /// One worker pass over this tenant's due rows on one rail: up to `limit` rows, claimed
    /// one at a time (so a row's lease starts when its attempt does), each attempt cut off at
    /// `deadline` (recorded as a failure and retried with backoff). The pass stops at the
    /// first failed attempt: the other due rows of this tenant on this rail wait for the
    /// row's backoff instead of each costing another deadline now.
    ///
    /// # Errors
    /// Storage errors (rail failures are recorded, not returned).
    pub async fn process_rail<A: Anchorer>(&self, rail: &A, limit: u32, deadline: Duration) -> Result<PassStats, LedgerError> {
        let mut stats = PassStats::default();
        let which = rail.rail();
        // A lease never shorter than the attempt it covers, so that no other worker takes the
        // row while this one may still anchor it.
        let lease_ms = LEASE_MS.max(i64::try_from(deadline.as_millis()).unwrap_or(i64::MAX).saturating_add(10_000));
        for _ in 0..limit {
            let t = now();
            let Some(row) = self.store().claim_due(which, t, UnixMillis(t.0.saturating_add(lease_ms)), 1).await?.pop() else { break };
            let cp = self.checkpoint(row.checkpoint_seq).await?;
            let req = AnchorRequest {
                tenant: self.store().tenant(),
                checkpoint_seq: cp.seq,
                checkpoint_hash: cp.hash,
                config: self.config(),
                reanchor: row.reanchor_of.is_some(),
            };
            let result = if let Ok(r) = tokio::time::timeout(deadline, rail.attempt(&req)).await {
                r
            } else {
                crate::metrics::global().anchor_deadlines.inc(&[("rail", which.as_str())]);
                Err(RailError { rail: which.as_str(), message: format!("the attempt's deadline of {} ms passed", deadline.as_millis()) })
            };
            match result {
                Ok(ev) => {
                    let in_residency = self.config().allows(ev.jurisdiction.as_deref());
                    let success =
                        AnchorSuccess { evidence: ev.evidence, authority: ev.authority, jurisdiction: ev.jurisdiction, in_residency };
                    let siblings = self.store().anchors(cp.seq).await?;
                    if !in_residency && reanchor_depth(&siblings, &row) < MAX_REANCHORS {
                        self.reanchor(&row, &cp.hash, success).await?;
                        stats.reanchored += 1;
                        crate::metrics::global().anchors.inc(&[("rail", which.as_str()), ("outcome", "reanchor")]);
                    } else {
                        self.store().anchor_succeeded(row.id, success, now()).await?;
                        stats.anchored += 1;
                        crate::metrics::global().anchors.inc(&[("rail", which.as_str()), ("outcome", "anchored")]);
                    }
                }
                Err(e) => {
                    tracing::warn!(tenant = %self.store().tenant(), checkpoint = cp.seq.0, rail = which.as_str(), attempts = row.attempts + 1, error = %e, "anchoring failed; will retry");
                    let next = UnixMillis(now().0 + backoff(row.attempts));
                    self.store().anchor_failed(row.id, &e.to_string(), next).await?;
                    stats.failed += 1;
                    crate::metrics::global().anchors.inc(&[("rail", which.as_str()), ("outcome", "failed")]);
                    break;
                }
            }
        }
        Ok(stats)
    }
}
