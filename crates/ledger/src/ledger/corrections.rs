//! Corrections of the log, each a claim the ledger writes itself: retraction,
//! supersession, erasure, incidents, re-anchoring. Nothing in the log is ever rewritten.

use evidence_core::claim::{Claim, ClaimKind};
use evidence_core::sink::validate_request;
use evidence_core::{AppendReceipt, AppendRequest, Seq, SinkError, UnixMillis};
use serde_json::json;

use super::{LedgerError, TenantLedger, now};
use crate::store::{AnchorRow, IncidentRow, LeafEffect, TenantStore};

impl<T: TenantStore> TenantLedger<T> {
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

    /// Appends a `report_issued` claim (the ledger server writes it when it issues a signed
    /// report; clients cannot, the kind is ledger-generated). `body` names the PDF's SHA-256
    /// before and after signing, the period and the listed claims' content hashes.
    ///
    /// # Errors
    /// [`LedgerError`] (a body over the claim size limit included).
    pub async fn report_issued(&self, body: serde_json::Value) -> Result<AppendReceipt, LedgerError> {
        self.append_generated(ClaimKind::ReportIssued, body, Vec::new(), LeafEffect::None).await
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
        let mut out = self
            .with_current_epoch(|| {
                let leaves = (|| {
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
                    Ok::<_, LedgerError>(vec![new, sup])
                })();
                async move { Ok(self.inner.store.append(leaves?).await?) }
            })
            .await?;
        let s = out.pop();
        let r = out.pop();
        r.zip(s).ok_or_else(|| LedgerError::Internal("supersede returned too few receipts".into()))
    }

    /// Erases the target's record and appends an `erasure` claim linking its content hash,
    /// in one transaction; then, with the default erasure window of zero, applies the erasure
    /// before returning ([`TenantLedger::apply_erasures`]: live records re-wrapped under a new
    /// key epoch, every older epoch's key destroyed in the key provider). The leaf stays and
    /// its proofs still verify; the commitment can no longer be opened, from the database or
    /// from any copy of it.
    ///
    /// If applying fails (the key provider is unreachable), the erasure claim stands, the
    /// record is already gone from the database, and the sealing scheduler applies it on its
    /// next tick (`ledger_erasure_apply_failures_total` counts failed attempts).
    ///
    /// # Errors
    /// [`LedgerError::AlreadyErased`] (nothing written) when the record is already erased;
    /// [`LedgerError::NoSuchLeaf`]; storage errors.
    pub async fn erase(&self, target: Seq, reason: &str) -> Result<AppendReceipt, LedgerError> {
        let t = self.leaf(target).await?;
        let receipt = self
            .append_generated(
                ClaimKind::Erasure,
                json!({ "erases": t.content_hash.to_hex(), "seq": target.0, "reason": reason }),
                vec![t.content_hash],
                LeafEffect::Erase { target },
            )
            .await
            .map_err(|e| match e {
                LedgerError::Store(crate::store::StoreError::AlreadyErased { seq, by }) => LedgerError::AlreadyErased { seq, by },
                e => e,
            })?;
        if self.inner.erasure_window.is_zero()
            && let Err(e) = self.apply_erasures().await
        {
            crate::metrics::global().erasure_failures.inc(&[]);
            tracing::error!(tenant = %self.store().tenant(), error = %e, "applying an erasure failed; the scheduler retries");
        }
        Ok(receipt)
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
