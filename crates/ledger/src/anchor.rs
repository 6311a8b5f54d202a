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

impl<T: TenantStore> TenantLedger<T> {
    /// One worker pass over the due rows of this tenant on both rails.
    ///
    /// # Errors
    /// Storage errors (rail failures are recorded, not returned).
    pub async fn process_anchors<R: TsaRail, F: FabricRail>(&self, tsa: &R, fabric: &F, limit: u32) -> Result<PassStats, LedgerError> {
        let mut stats = PassStats::default();
        for rail in Rail::ALL {
            let t = now();
            let rows = self.store().claim_due(rail, t, UnixMillis(t.0 + LEASE_MS), limit).await?;
            for row in rows {
                let cp = self.checkpoint(row.checkpoint_seq).await?;
                let req = AnchorRequest {
                    tenant: self.store().tenant(),
                    checkpoint_seq: cp.seq,
                    checkpoint_hash: cp.hash,
                    config: self.config(),
                    reanchor: row.reanchor_of.is_some(),
                };
                let result = match rail {
                    Rail::Tsa => tsa.timestamp(&req).await,
                    Rail::Fabric => fabric.submit(&req).await,
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
                            crate::metrics::global().anchors.inc(&[("rail", rail.as_str()), ("outcome", "reanchor")]);
                        } else {
                            self.store().anchor_succeeded(row.id, success, now()).await?;
                            stats.anchored += 1;
                            crate::metrics::global().anchors.inc(&[("rail", rail.as_str()), ("outcome", "anchored")]);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %self.store().tenant(), checkpoint = cp.seq.0, rail = rail.as_str(), attempts = row.attempts + 1, error = %e, "anchoring failed; will retry");
                        let next = UnixMillis(now().0 + backoff(row.attempts));
                        self.store().anchor_failed(row.id, &e.to_string(), next).await?;
                        stats.failed += 1;
                        crate::metrics::global().anchors.inc(&[("rail", rail.as_str()), ("outcome", "failed")]);
                    }
                }
            }
        }
        Ok(stats)
    }
}
