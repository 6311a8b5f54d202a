//! The audit log: every authenticated request, as `audit_event` claims in a Merkle log.
//!
//! Each tenant `T` has a companion log `T.audit` in the same store (created on first use,
//! with `T`'s residency policy); admin requests go to `admin.audit`. The companion logs are
//! ordinary tenant logs: sealed into signed checkpoints and anchored like any other, so the
//! audit trail is tamper-evident and exportable as evidence bundles. No tenant id can reach
//! these logs: ids ending in [`AUDIT_SUFFIX`], the names in [`RESERVED`] (`admin`, whose
//! companion would be the admin log, among them) and ids starting with one of
//! [`RESERVED_PREFIXES`] cannot be created nor given tokens, and tenant ids are limited to
//! [`MAX_TENANT_LEN`] bytes so that the companion id fits.
//!
//! An entry records who (token id and role, and the `sub` of the MFA-asserting ID token when
//! one was required and checked), for which tenant, the action, the method,
//! route template and path, the outcome (HTTP status and error code) and the time. It never
//! records bodies, claim content or token secrets.
//!
//! The audit log is evidence too, so an entry is never silently lost. The log is opened
//! (created on first use) before the request runs: if that fails the request is refused
//! with `503 audit_unavailable` and nothing happens. The entry is appended after the
//! response is computed and before it is sent; if that append fails (after one retry) the
//! response is replaced by `503 audit_unavailable` saying the operation may have taken
//! effect (a retry with the same idempotency key is safe), and the failure is logged and
//! counted in `ledger_audit_failures_total`.

use evidence_core::claim::{Claim, ClaimKind};
use evidence_core::{AppendRequest, ClaimSink as _, Seq, TenantId};
use serde_json::json;

use crate::auth::{Action, Principal};
use ledger::store::{Store, StoreError, TenantConfig};
use ledger::{Ledger, LedgerError, TenantLedger};

/// Suffix of the companion audit logs.
pub const AUDIT_SUFFIX: &str = ".audit";
/// Longest tenant id that can be created (so that `<id>.audit` is a valid id).
pub const MAX_TENANT_LEN: usize = TenantId::MAX_LEN - AUDIT_SUFFIX.len();
/// The admin audit log.
pub const ADMIN_LOG: &str = "admin.audit";

/// Tenant ids kept for the ledger's own namespaces. `admin` in particular: its companion log
/// would be [`ADMIN_LOG`].
pub const RESERVED: &[&str] = &["admin", "audit", "internal", "ledger", "root", "system"];
/// Prefixes kept for the same reason (e.g. `ledger.uploads`).
pub const RESERVED_PREFIXES: &[&str] = &["admin.", "audit.", "internal.", "ledger.", "system."];

/// Why `id` may not be created as a tenant (or have tokens issued for it), if it may not:
/// a reserved name or prefix, a companion-log id, or too long for its companion log.
pub fn reserved(id: &TenantId) -> Option<String> {
    let s = id.as_str();
    if RESERVED.contains(&s) || RESERVED_PREFIXES.iter().any(|p| s.starts_with(p)) {
        Some(format!(
            "tenant id {s:?} is reserved for the ledger's own logs (reserved: {}; and ids starting with {})",
            RESERVED.join(", "),
            RESERVED_PREFIXES.join(", ")
        ))
    } else if s.ends_with(AUDIT_SUFFIX) {
        Some(format!("tenant ids ending in {AUDIT_SUFFIX} are reserved for audit logs"))
    } else if s.len() > MAX_TENANT_LEN {
        Some(format!("tenant ids are at most {MAX_TENANT_LEN} bytes (room for the {AUDIT_SUFFIX} companion log)"))
    } else {
        None
    }
}

/// True when `id` may be created as a tenant (see [`reserved`]).
pub fn creatable(id: &TenantId) -> bool {
    reserved(id).is_none()
}

/// The audit log id of a principal's tenant (or the admin log).
///
/// # Errors
/// [`LedgerError::Invalid`] when the tenant id is too long to have a companion log.
pub fn log_id(tenant: Option<&TenantId>) -> Result<TenantId, LedgerError> {
    let id = tenant.map_or_else(|| ADMIN_LOG.to_owned(), |t| format!("{t}{AUDIT_SUFFIX}"));
    TenantId::new(id).map_err(|e| LedgerError::Invalid(format!("audit log id: {e}")))
}

/// Opens (creating on first use) the audit log of `tenant` (None: the admin log).
///
/// # Errors
/// [`LedgerError`].
pub async fn open<S: Store>(ledger: &Ledger<S>, tenant: Option<&TenantId>) -> Result<TenantLedger<S::Tenant>, LedgerError> {
    let id = log_id(tenant)?;
    match ledger.tenant(&id).await {
        Ok(t) => Ok(t),
        Err(LedgerError::Store(StoreError::UnknownTenant(_))) => {
            let config = match tenant {
                Some(t) => ledger.tenant(t).await.map(|h| h.config().clone()).unwrap_or_default(),
                None => TenantConfig::default(),
            };
            ledger.create_tenant(&id, &config).await
        }
        Err(e) => Err(e),
    }
}

/// Appends one audit entry (retried once); a failure is logged, counted and returned.
///
/// # Errors
/// [`LedgerError`] when the entry could not be written.
#[allow(clippy::too_many_arguments)]
pub async fn record<S: Store>(
    ledger: &Ledger<S>,
    who: &Principal,
    action: Action,
    method: &str,
    route: &str,
    target: &str,
    status: u16,
    code: Option<&str>,
) -> Result<(), LedgerError> {
    let body = json!({
        "token": who.token_id,
        "role": who.role,
        "tenant": who.tenant,
        "mfa_sub": who.mfa_subject,
        "action": action,
        "method": method,
        "route": route,
        "target": target,
        "status": status,
        "code": code,
        "at": ledger::now().0,
    });
    let claim = Claim::new(ClaimKind::AuditEvent, body).map_err(|e| LedgerError::Invalid(e.to_string()))?;
    let attempt = || async {
        let log = open(ledger, who.tenant.as_ref()).await?;
        log.append(AppendRequest::new(claim.clone())).await
    };
    let result = match attempt().await {
        Ok(r) => Ok(r),
        Err(first) => {
            tracing::warn!(error = %first, token = %who.token_id, route, status, "audit log append failed; retrying once");
            attempt().await
        }
    };
    result.map(|_| ()).map_err(|e| {
        tracing::error!(error = %e, token = %who.token_id, route, status, "audit log append failed: the request fails");
        crate::metrics::global().audit_failures.inc(&[("reason", "append")]);
        e
    })
}

pub use ledger_api::AuditEntry;

/// Entries `from..from+limit` of `tenant`'s audit log, with the log's size.
///
/// # Errors
/// [`LedgerError`].
pub async fn read<S: Store>(
    ledger: &Ledger<S>,
    tenant: &TenantId,
    from: u64,
    limit: u64,
) -> Result<(TenantLedger<S::Tenant>, u64, Vec<AuditEntry>), LedgerError> {
    use ledger::store::TenantStore as _;
    let log = open(ledger, Some(tenant)).await?;
    let size = log.store().size().await?;
    let mut out = Vec::new();
    let end = from.saturating_add(limit).min(size);
    for seq in from..end {
        let parts = log.claim_parts(Seq(seq)).await?;
        let receipt = log.receipt(Seq(seq)).await?;
        out.push(AuditEntry { seq, leaf_hash: receipt.leaf_hash, event: parts.record.map(|(_, c)| c.body) });
    }
    Ok((log, size, out))
}
