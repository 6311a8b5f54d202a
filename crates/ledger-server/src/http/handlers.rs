//! The endpoint handlers. Authentication, authorisation, timeouts and the audit log are the
//! guard layer's job (see the module above); a handler only does its operation.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use evidence_core::claim::{Claim, ClaimKind};
use evidence_core::{AppendRequest, CheckpointSeq, ClaimSink as _, Seq, TenantId};
use ledger::TenantLedger;
use ledger::store::{AnchorRow, AnchorState, CheckpointRow, Rail, Store, TenantConfig, TenantStore as _};
use ledger_api::{
    AnchorList, AppendBatch, AppendClaim, AuditPage, BundleRequest, ChainConsistency, ChainLink, ChainRange, Checkpoint, CheckpointChain,
    CheckpointList, ClaimStatus, Consistency, CreateTenant, Health, Page, Reason, ReceiptList, ReportPeriod, SizePair, Tenant, TenantList,
    TenantPolicy,
};

use super::extract::{PathArgs, QueryArgs, in_store_range};
use super::{ApiError, AppState, ErrorCode, JsonBody};
use crate::audit;

type ApiResult<T> = Result<T, ApiError>;

fn text(body: String) -> Response {
    ([(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn tenant_id(s: &str) -> ApiResult<TenantId> {
    TenantId::new(s).map_err(|e| ApiError::invalid(format!("tenant id: {e}")))
}

async fn open<S: Store>(st: &AppState<S>, tenant: &str) -> ApiResult<TenantLedger<S::Tenant>> {
    let id = tenant_id(tenant)?;
    Ok(st.ledger.tenant(&id).await?)
}

/// `seq` when the tenant's log holds a claim with it: 400 `out_of_range` above what the
/// store holds, 404 `no_such_claim` at or past the log's size (whether or not sealed).
async fn existing<T: ledger::store::TenantStore>(t: &TenantLedger<T>, seq: u64) -> ApiResult<Seq> {
    let seq = in_store_range(seq, "sequence number")?;
    let size = t.store().size().await?;
    if seq >= size {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NoSuchClaim,
            format!("no claim {seq} in this tenant's log (it holds {size})"),
        ));
    }
    Ok(Seq(seq))
}

pub(super) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

pub(super) async fn readyz<S: Store>(State(st): State<AppState<S>>) -> Response {
    if st.is_draining() {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Draining, "the server is shutting down").into_response();
    }
    match st.ledger.tenants().await {
        Ok(_) => Json(Health { status: "ready".into() }).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub(super) async fn metrics() -> Response {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::metrics::render()).into_response()
}

pub(super) async fn openapi() -> Json<serde_json::Value> {
    Json(super::spec::openapi())
}

fn policy(c: &TenantConfig) -> TenantPolicy {
    TenantPolicy {
        residency: c.residency.clone(),
        fabric_channel: c.fabric_channel.clone(),
        seal_every_ms: c.seal_every_ms,
        seal_after_claims: c.seal_after_claims,
    }
}

pub(super) async fn create_tenant<S: Store>(State(st): State<AppState<S>>, JsonBody(req): JsonBody<CreateTenant>) -> ApiResult<Response> {
    let id = tenant_id(&req.id)?;
    if let Some(why) = audit::reserved(&id) {
        return Err(ApiError::invalid(why));
    }
    let mut config = TenantConfig { residency: req.residency, ..TenantConfig::default() };
    if let Some(c) = req.fabric_channel {
        if c.is_empty() || c.len() > 249 || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
            return Err(ApiError::invalid("fabric_channel must be a Fabric channel name: a-z, 0-9, '.', '-'"));
        }
        config.fabric_channel = c;
    }
    if let Some(ms) = req.seal_every_ms {
        if ms < 1000 {
            return Err(ApiError::invalid("seal_every_ms must be at least 1000"));
        }
        config.seal_every_ms = ms;
    }
    if let Some(n) = req.seal_after_claims {
        config.seal_after_claims = n;
    }
    let (t, created) = st.ledger.create_tenant_if_absent(&id, &config).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(Tenant { id, config: policy(t.config()) })).into_response())
}

pub(super) async fn list_tenants<S: Store>(State(st): State<AppState<S>>) -> ApiResult<Json<TenantList>> {
    let all = st.ledger.tenants().await?;
    let tenants = all.into_iter().filter(|t| !t.as_str().ends_with(audit::AUDIT_SUFFIX)).collect();
    Ok(Json(TenantList { tenants }))
}

pub(super) async fn verifier_key<S: Store>(State(st): State<AppState<S>>, PathArgs(tenant): PathArgs<String>) -> ApiResult<Response> {
    let t = open(&st, &tenant).await?;
    let v = st.ledger.verifier(t.store().tenant())?;
    Ok(text(format!("{}\n", v.to_vkey())))
}

fn into_request(c: AppendClaim) -> ApiResult<AppendRequest> {
    let kind = ClaimKind::from_name(&c.kind).ok_or_else(|| {
        let names: Vec<&str> = ClaimKind::ALL.iter().filter(|k| !k.is_reserved_for_ledger()).map(|k| k.name()).collect();
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidClaim, format!("unknown claim kind; one of {}", names.join(", ")))
    })?;
    if kind.is_reserved_for_ledger() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::ReservedKind,
            format!("{kind} claims are written by the ledger itself (retract, erase and the audit log have their own endpoints)"),
        ));
    }
    let claim =
        Claim::new(kind, c.body).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidClaim, e.to_string()))?;
    let mut req = AppendRequest::new(claim).with_links(c.links);
    req.idempotency_key = c.idempotency_key;
    Ok(req)
}

pub(super) async fn append<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    JsonBody(body): JsonBody<AppendClaim>,
) -> ApiResult<Response> {
    let t = open(&st, &tenant).await?;
    let receipt = t.append(into_request(body)?).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

pub(super) async fn append_batch<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    JsonBody(body): JsonBody<AppendBatch>,
) -> ApiResult<Response> {
    if body.claims.is_empty() || body.claims.len() > st.limits.batch_max {
        return Err(ApiError::invalid(format!("a batch holds 1 to {} claims", st.limits.batch_max)));
    }
    let t = open(&st, &tenant).await?;
    let reqs = body.claims.into_iter().map(into_request).collect::<ApiResult<Vec<_>>>()?;
    let receipts = t.append_many(reqs).await?;
    Ok((StatusCode::CREATED, Json(ReceiptList { receipts })).into_response())
}

pub(super) async fn get_claim<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, seq)): PathArgs<(String, u64)>,
) -> ApiResult<Json<ClaimStatus>> {
    let t = open(&st, &tenant).await?;
    let receipt = t.receipt(existing(&t, seq).await?).await?;
    let latest = t.store().latest_checkpoint().await?;
    let tree_size = latest.as_ref().map_or(0, |c| c.root.tree_size.0);
    Ok(Json(ClaimStatus { receipt, sealed: seq < tree_size, tree_size }))
}

pub(super) async fn bundle_one<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, seq)): PathArgs<(String, u64)>,
) -> ApiResult<Response> {
    let t = open(&st, &tenant).await?;
    let b = t.bundle(&[existing(&t, seq).await?]).await?;
    Ok(Json(b).into_response())
}

pub(super) async fn bundle_many<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    JsonBody(body): JsonBody<BundleRequest>,
) -> ApiResult<Response> {
    if body.seqs.is_empty() || body.seqs.len() > st.limits.batch_max {
        return Err(ApiError::invalid(format!("a bundle holds 1 to {} claims", st.limits.batch_max)));
    }
    let t = open(&st, &tenant).await?;
    let mut seqs = Vec::with_capacity(body.seqs.len());
    for s in body.seqs {
        seqs.push(existing(&t, s).await?);
    }
    Ok(Json(t.bundle(&seqs).await?).into_response())
}

pub(super) async fn tlog_proof<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, seq)): PathArgs<(String, u64)>,
) -> ApiResult<Response> {
    let t = open(&st, &tenant).await?;
    let (_entry, proof) = t.tlog_proof(existing(&t, seq).await?).await?;
    Ok(text(proof.encode()))
}

fn reason(r: &Reason) -> ApiResult<&str> {
    if r.reason.trim().is_empty() || r.reason.len() > 1000 {
        return Err(ApiError::invalid("reason must be 1 to 1000 bytes"));
    }
    Ok(&r.reason)
}

pub(super) async fn retract<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, seq)): PathArgs<(String, u64)>,
    JsonBody(body): JsonBody<Reason>,
) -> ApiResult<Response> {
    let t = open(&st, &tenant).await?;
    let receipt = t.retract(existing(&t, seq).await?, reason(&body)?).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

pub(super) async fn erase<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, seq)): PathArgs<(String, u64)>,
    JsonBody(body): JsonBody<Reason>,
) -> ApiResult<Response> {
    let t = open(&st, &tenant).await?;
    let receipt = t.erase(existing(&t, seq).await?, reason(&body)?).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

fn bounds(p: Page) -> ApiResult<(u64, u32)> {
    let from = in_store_range(p.from.unwrap_or(0), "from")?;
    Ok((from, u32::try_from(p.limit.unwrap_or(100).clamp(1, 1000)).unwrap_or(1000)))
}

fn checkpoint_wire(c: &CheckpointRow) -> Checkpoint {
    Checkpoint {
        seq: c.seq.0,
        tree_size: c.root.tree_size.0,
        root: c.root.hash,
        hash: c.hash,
        sealed_at: c.sealed_at.0,
        note: c.note.note.clone(),
        anchors: None,
    }
}

fn anchor_wire(a: &AnchorRow) -> ledger_api::Anchor {
    ledger_api::Anchor {
        id: a.id,
        rail: match a.rail {
            Rail::Tsa => ledger_api::Rail::Tsa,
            Rail::Fabric => ledger_api::Rail::Fabric,
        },
        state: match a.state {
            AnchorState::Pending => ledger_api::AnchorState::Pending,
            AnchorState::Anchored => ledger_api::AnchorState::Anchored,
            AnchorState::Failed => ledger_api::AnchorState::Failed,
        },
        attempts: a.attempts,
        next_attempt_at: a.next_attempt_at.0,
        last_error: a.last_error.clone(),
        authority: a.authority.clone(),
        jurisdiction: a.jurisdiction.clone(),
        in_residency: a.in_residency,
        reanchor_of: a.reanchor_of,
        anchored_at: a.anchored_at.map(|t| t.0),
    }
}

pub(super) async fn list_checkpoints<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    QueryArgs(page): QueryArgs<Page>,
) -> ApiResult<Json<CheckpointList>> {
    let t = open(&st, &tenant).await?;
    let (from, limit) = bounds(page)?;
    let rows = t.checkpoints(from, limit).await?;
    Ok(Json(CheckpointList { checkpoints: rows.iter().map(checkpoint_wire).collect() }))
}

pub(super) async fn get_checkpoint<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, cseq)): PathArgs<(String, u64)>,
) -> ApiResult<Json<Checkpoint>> {
    let t = open(&st, &tenant).await?;
    let c = t.checkpoint(CheckpointSeq(in_store_range(cseq, "checkpoint number")?)).await?;
    let anchors = t.anchor_state(c.seq).await?;
    Ok(Json(Checkpoint { anchors: Some(anchors.iter().map(anchor_wire).collect()), ..checkpoint_wire(&c) }))
}

pub(super) async fn checkpoint_note<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, cseq)): PathArgs<(String, u64)>,
) -> ApiResult<Response> {
    let t = open(&st, &tenant).await?;
    let c = t.checkpoint(CheckpointSeq(in_store_range(cseq, "checkpoint number")?)).await?;
    Ok(text(c.note.note))
}

pub(super) async fn anchors<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, cseq)): PathArgs<(String, u64)>,
) -> ApiResult<Json<AnchorList>> {
    let t = open(&st, &tenant).await?;
    let c = t.checkpoint(CheckpointSeq(in_store_range(cseq, "checkpoint number")?)).await?;
    let rows = t.anchor_state(c.seq).await?;
    Ok(Json(AnchorList { checkpoint: c.seq.0, anchors: rows.iter().map(anchor_wire).collect() }))
}

async fn checkpoint_of_size<T: ledger::store::TenantStore>(t: &TenantLedger<T>, size: u64) -> ApiResult<CheckpointRow> {
    let mut from = 0u64;
    loop {
        let rows = t.checkpoints(from, 1000).await?;
        if let Some(c) = rows.iter().find(|c| c.root.tree_size.0 == size) {
            return Ok(c.clone());
        }
        match rows.last() {
            Some(last) if last.root.tree_size.0 < size && rows.len() == 1000 => from = last.seq.0 + 1,
            _ => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    ErrorCode::NoSuchCheckpoint,
                    format!("no checkpoint has tree size {size}"),
                ));
            }
        }
    }
}

pub(super) async fn consistency<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    QueryArgs(q): QueryArgs<SizePair>,
) -> ApiResult<Json<Consistency>> {
    in_store_range(q.new, "tree size")?;
    if q.old > q.new {
        return Err(ApiError::invalid("old must not be larger than new"));
    }
    let t = open(&st, &tenant).await?;
    let old = checkpoint_of_size(&t, q.old).await?;
    let new = checkpoint_of_size(&t, q.new).await?;
    let proof = t.consistency_proof(&old, &new).await?;
    Ok(Json(Consistency { old: checkpoint_wire(&old), new: checkpoint_wire(&new), proof: proof.path }))
}

/// The most checkpoints one `…/checkpoint-chain` answer holds.
const MAX_CHAIN_LINKS: u64 = 1000;

/// `GET …/checkpoint-chain?from=&to=` (checkpoint numbers): the `evidence-checkpoints/v1`
/// file of that run, every checkpoint after the first with its consistency proof from the
/// one before, as `evidence-verify checkpoints` reads it.
pub(super) async fn checkpoint_chain<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    QueryArgs(q): QueryArgs<ChainRange>,
) -> ApiResult<Json<CheckpointChain>> {
    let from = in_store_range(q.from.unwrap_or(0), "from")?;
    if let Some(to) = q.to {
        in_store_range(to, "to")?;
        if to < from {
            return Err(ApiError::invalid("to must not be smaller than from (both are checkpoint numbers)"));
        }
    }
    let t = open(&st, &tenant).await?;
    let last = q.to.unwrap_or(u64::MAX).min(from.saturating_add(MAX_CHAIN_LINKS - 1));
    let count = u32::try_from(last - from + 1).unwrap_or(u32::MAX);
    let rows = t.checkpoints(from, count).await?;
    if rows.first().is_none_or(|c| c.seq.0 != from) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NoSuchCheckpoint, format!("no checkpoint number {from}")));
    }
    if let Some(to) = q.to.filter(|to| rows.last().is_some_and(|c| c.seq.0 < *to) && *to <= last) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NoSuchCheckpoint, format!("no checkpoint number {to}")));
    }
    let mut links = Vec::with_capacity(rows.len());
    for (i, c) in rows.iter().enumerate() {
        let consistency = match i.checked_sub(1).and_then(|p| rows.get(p)) {
            None => None,
            Some(prev) => {
                let proof = t.consistency_proof(prev, c).await?;
                Some(ChainConsistency { old_size: proof.old_size.0, new_size: proof.new_size.0, path: proof.path })
            }
        };
        links.push(ChainLink { checkpoint: c.note.note.clone(), consistency });
    }
    Ok(Json(CheckpointChain {
        format: ledger_api::CHECKPOINTS_FORMAT.to_owned(),
        ledger: st.ledger.name().to_owned(),
        tenant: t.store().tenant().clone(),
        links,
    }))
}

pub(super) async fn audit<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    QueryArgs(page): QueryArgs<Page>,
) -> ApiResult<Json<AuditPage>> {
    let id = tenant_id(&tenant)?;
    // The tenant must exist; its audit log is created on first use.
    st.ledger.tenant(&id).await?;
    let (from, limit) = bounds(page)?;
    let (log, size, entries) = audit::read(&st.ledger, &id, from, u64::from(limit)).await?;
    let latest = log.store().latest_checkpoint().await?;
    Ok(Json(AuditPage { log: log.store().tenant().clone(), size, entries, latest_checkpoint: latest.map(|c| c.note.note) }))
}

pub(super) async fn findings_report<S: Store>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    query: Result<QueryArgs<ReportPeriod>, ApiError>,
) -> ApiResult<Response> {
    let Some(svc) = st.reports.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ReportsNotConfigured,
            "this server has no report-signing identity: set [reports] signing_key and signing_certs (see the ledger-server README)",
        ));
    };
    let QueryArgs(q) = query.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidPeriod,
            "the query must be ?from=YYYY-MM-DD&to=YYYY-MM-DD and nothing else",
        )
    })?;
    let t = open(&st, &tenant).await?;
    let issued = svc.issue(st.ledger.name(), &t, &q.from, &q.to).await?;
    tracing::info!(
        tenant = %t.store().tenant(),
        findings = issued.findings,
        checkpoint = issued.checkpoint,
        claim = issued.receipt.seq.0,
        sha256 = %hex::encode(issued.signed_sha256),
        timing = %issued.timings.header(),
        "report issued"
    );
    let name = format!("attachment; filename=\"findings-{}-{}-{}.pdf\"", t.store().tenant(), q.from, q.to);
    let mut r = ([(CONTENT_TYPE, "application/pdf")], issued.pdf).into_response();
    let h = r.headers_mut();
    if let Ok(v) = axum::http::HeaderValue::from_str(&name) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = axum::http::HeaderValue::from_str(&issued.receipt.seq.0.to_string()) {
        h.insert("x-ledger-report-claim", v);
    }
    if let Ok(v) = axum::http::HeaderValue::from_str(&hex::encode(issued.signed_sha256)) {
        h.insert("x-ledger-report-sha256", v);
    }
    if let Ok(v) = axum::http::HeaderValue::from_str(&issued.timings.header()) {
        h.insert("server-timing", v);
    }
    Ok(r)
}
