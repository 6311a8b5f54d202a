//! The upload routes.
//!
//! - `POST /v1/tenants/{tenant}/uploads` (roles that may append) → `201` [`UploadTicket`].
//! - `GET /v1/tenants/{tenant}/uploads?from=&limit=` and `GET …/uploads/{upload_id}` (roles
//!   that may read) → [`UploadList`] / [`UploadStatus`].
//! - `PUT /v1/tenants/{tenant}/uploads/{upload_id}/body?profile&export&max&exp&kid&sig`: the
//!   signed URL. No bearer token: the signature is the credential, so this route is outside
//!   the bearer guard (and its request timeout and body limit). Answers:
//!   `200` [`UploadStatus`] (`ingested`), `422` [`UploadStatus`] (`refused`, with the
//!   errors of `pipeline check --json`), `202` (`received`: stored, ingestion retried by the
//!   recovery sweep), `403 bad_upload_url` (altered, foreign, retired key), `410
//!   upload_expired`, `409 upload_used` (a second `PUT`, concurrent or not), `413
//!   body_too_large` (declared, or cut when the body passes the limit), `415 upload_refused`
//!   (a content type that is not CSV text).
//!
//! An unverified URL writes nothing anywhere (not even an audit entry: the tenant it names
//! is not authenticated); it is logged and counted. Every verified `PUT` outcome is in the
//! tenant's audit log.

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use evidence_core::{TenantId, UnixMillis};
use futures_util::StreamExt as _;
use ledger::TenantLedger;
use ledger::store::Store;
use ledger::store::TenantStore as _;
use ledger::store::uploads::{UploadRow, UploadState, UploadStore as _};
use ledger_api::{CreateUpload, Page, SignedUploadQuery, UploadList, UploadStatus, UploadTicket};
use serde_json::json;

use super::service::{self, LEASE_MS, UploadError, UploadService, status};
use super::url::{Grant, UrlError};
use crate::http::extract::{PathArgs, QueryArgs};
use crate::http::{ApiError, AppState, ErrorCode, JsonBody};

type ApiResult<T> = Result<T, ApiError>;

/// Content types a body may declare (none declared is accepted too: `curl -T` sends none).
pub const CSV_TYPES: &[&str] = &["text/csv", "text/plain", "application/csv", "application/octet-stream"];

/// The media type of a declared `Content-Type` (parameters dropped, lower case) when it is
/// not one of [`CSV_TYPES`]: what the signed URL's `PUT` and the dashboard's form refuse.
pub(crate) fn refused_type(content_type: &str) -> Option<String> {
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    (!CSV_TYPES.contains(&mime.as_str())).then_some(mime)
}

fn svc<S: Store>(st: &AppState<S>) -> ApiResult<std::sync::Arc<UploadService<S>>> {
    st.uploads.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::UploadsNotConfigured,
            "this server takes no uploads: add an [uploads] section (see the ledger-server README)",
        )
    })
}

fn tenant_id(s: &str) -> ApiResult<TenantId> {
    TenantId::new(s).map_err(|e| ApiError::invalid(format!("tenant id: {e}")))
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        use StatusCode as S;
        match e {
            UploadError::Invalid(m) => ApiError::invalid(m),
            UploadError::NotFound => ApiError::new(S::NOT_FOUND, ErrorCode::NoSuchUpload, "no such upload in this tenant"),
            UploadError::Url(UrlError::Expired) => {
                ApiError::new(S::GONE, ErrorCode::UploadExpired, "the upload URL has expired; ask for a new one")
            }
            UploadError::Url(_) => ApiError::new(S::FORBIDDEN, ErrorCode::BadUploadUrl, "the upload URL is not valid"),
            UploadError::Used => ApiError::new(S::CONFLICT, ErrorCode::UploadUsed, "the upload URL was already used; ask for a new one"),
            UploadError::TooLarge(n) => {
                ApiError::new(S::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge, format!("the body is over the {n}-byte limit"))
            }
            UploadError::Body(_) => ApiError::new(S::BAD_REQUEST, ErrorCode::BadBody, "the body could not be read"),
            UploadError::Ledger(l) => l.into(),
            UploadError::State(s) => ApiError::new(S::CONFLICT, ErrorCode::UploadUsed, format!("the upload is {s}")),
            UploadError::Files(f) => {
                tracing::error!(error = %f, "upload file store");
                ApiError::new(S::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error; the server log has the detail")
            }
        }
    }
}

pub(crate) async fn create<S: Store + Clone>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    JsonBody(req): JsonBody<CreateUpload>,
) -> ApiResult<(StatusCode, Json<UploadTicket>)> {
    let svc = svc(&st)?;
    let tenant = tenant_id(&tenant)?;
    let ticket = svc.create(&tenant, &req).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

pub(crate) async fn list<S: Store + Clone>(
    State(st): State<AppState<S>>,
    PathArgs(tenant): PathArgs<String>,
    QueryArgs(page): QueryArgs<Page>,
) -> ApiResult<Json<UploadList>> {
    svc(&st)?;
    let t = st.ledger.tenant(&tenant_id(&tenant)?).await?;
    let from = crate::http::extract::in_store_range(page.from.unwrap_or(0), "from")?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit must be 1 to 1000"));
    }
    let rows = t.store().uploads(from, u32::try_from(limit).unwrap_or(1000)).await?;
    let next = (rows.len() as u64 == limit).then(|| rows.last().map_or(from, |r| r.n + 1));
    Ok(Json(UploadList { uploads: rows.iter().map(status).collect(), next }))
}

pub(crate) async fn get_one<S: Store + Clone>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, id)): PathArgs<(String, String)>,
) -> ApiResult<Json<UploadStatus>> {
    svc(&st)?;
    let t = st.ledger.tenant(&tenant_id(&tenant)?).await?;
    let row = t.store().upload(&id).await?.ok_or(UploadError::NotFound)?;
    Ok(Json(status(&row)))
}

fn refused(e: UploadError, outcome: &str) -> Response {
    super::metrics().uploads.inc(&[("via", "url"), ("outcome", outcome)]);
    ApiError::from(e).into_response()
}

pub(crate) async fn put_body<S: Store + Clone>(
    State(st): State<AppState<S>>,
    PathArgs((tenant, id)): PathArgs<(String, String)>,
    query: Result<Query<SignedUploadQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let svc = match svc(&st) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    // Everything up to the signature check answers the same 403: no oracle for which part is wrong.
    let (Ok(tenant), Ok(Query(q))) = (TenantId::new(tenant), query) else {
        tracing::info!("upload PUT refused: malformed URL");
        return refused(UploadError::Url(UrlError::Malformed), "forbidden");
    };
    let grant = Grant {
        tenant: tenant.clone(),
        upload_id: id.clone(),
        profile: q.profile,
        export: q.export,
        max_bytes: q.max,
        expires_at: UnixMillis(q.exp),
    };
    let now = ledger::now();
    match svc.settings().url_keys.verify("PUT", &grant, &q.kid, &q.sig, now) {
        Ok(()) => {}
        Err(UrlError::Expired) => {
            let _ = service::audit(&st.ledger, &tenant, "expired", &json!({"upload_id": id, "via": "url", "status": 410})).await;
            return refused(UploadError::Url(UrlError::Expired), "expired");
        }
        Err(e) => {
            tracing::info!(error = %e, "upload PUT refused: the URL does not verify");
            return refused(UploadError::Url(e), "forbidden");
        }
    }
    let detail = |status: u16, extra: serde_json::Value| {
        let mut d = json!({"upload_id": id, "via": "url", "status": status});
        if let (Some(o), Some(x)) = (d.as_object_mut(), extra.as_object()) {
            o.extend(x.clone());
        }
        d
    };
    if let Some(ct) = headers.get(header::CONTENT_TYPE)
        && let Some(mime) = refused_type(ct.to_str().unwrap_or(""))
    {
        let _ = service::audit(&st.ledger, &tenant, "refused_type", &detail(415, json!({"content_type": mime}))).await;
        super::metrics().uploads.inc(&[("via", "url"), ("outcome", "bad_type")]);
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UploadRefused,
            format!("a {mime} body is refused as ingest refuses it: send the CSV export as text/csv"),
        )
        .into_response();
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > grant.max_bytes) {
        let _ = service::audit(&st.ledger, &tenant, "too_large", &detail(413, json!({"declared": declared}))).await;
        return refused(UploadError::TooLarge(grant.max_bytes), "too_large");
    }
    let t = match st.ledger.tenant(&tenant).await {
        Ok(t) => t,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let row = match t.store().upload(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => return refused(UploadError::NotFound, "forbidden"),
        Err(e) => return ApiError::from(e).into_response(),
    };
    // The row is the authority; the signed grant must agree with it.
    if row.upload.profile != grant.profile
        || row.upload.export != grant.export
        || row.upload.max_bytes != grant.max_bytes
        || row.upload.expires_at != grant.expires_at
    {
        return refused(UploadError::Url(UrlError::BadSignature), "forbidden");
    }
    match t.store().begin_receive(&id, now, UnixMillis(now.0 + LEASE_MS)).await {
        Ok(true) => {}
        Ok(false) => {
            let _ = service::audit(&st.ledger, &tenant, "conflict", &detail(409, json!({"state": row.state.as_str()}))).await;
            return refused(UploadError::Used, "conflict");
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let stream = body.into_data_stream().map(|r| r.map_err(|e| e.to_string()));
    match receive(&st, &svc, &t, &row, stream).await {
        Ok(Received::Checked(done)) => {
            let code = if done.state == UploadState::Refused { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
            (code, Json(status(&done))).into_response()
        }
        Ok(Received::Stored(stored)) => (StatusCode::ACCEPTED, Json(status(&stored))).into_response(),
        Err((e, outcome)) => refused(e, outcome),
    }
}

/// What [`receive`] ended in.
#[derive(Debug)]
pub(crate) enum Received {
    /// Stored and checked: the row is `ingested` or `refused`.
    Checked(UploadRow),
    /// Stored (`received`), but ingestion failed: the recovery sweep retries it.
    Stored(UploadRow),
}

/// Streams `body` into the upload `row` of `t` (already claimed `receiving` by the caller),
/// then checks and ingests it, with an audit entry for each step: the one path of the signed
/// URL's `PUT` and of the dashboard's upload form. An error comes with the outcome the
/// caller counts it under.
pub(crate) async fn receive<S: Store + Clone>(
    st: &AppState<S>,
    svc: &UploadService<S>,
    t: &TenantLedger<S::Tenant>,
    row: &UploadRow,
    body: impl futures_util::Stream<Item = Result<service::bytes_like::Chunk, String>> + Unpin,
) -> Result<Received, (UploadError, &'static str)> {
    let (tenant, id, via) = (t.store().tenant(), row.upload.id.as_str(), row.upload.via.as_str());
    let detail = |status: u16, extra: serde_json::Value| {
        let mut d = json!({"upload_id": id, "via": via, "status": status});
        if let (Some(o), Some(x)) = (d.as_object_mut(), extra.as_object()) {
            o.extend(x.clone());
        }
        d
    };
    let profile = service::profile_of(&row.upload.profile, &row.upload.export).ok();
    let (stored, report) = match svc.store_body(t, id, row.upload.max_bytes, profile, body).await {
        Ok(r) => r,
        Err(e) => {
            let (event, code) = match &e {
                UploadError::TooLarge(_) => ("too_large", 413),
                UploadError::Used => ("conflict", 409),
                _ => ("failed", 400),
            };
            let _ = service::audit(&st.ledger, tenant, event, &detail(code, json!({}))).await;
            return Err((e, event));
        }
    };
    let _ =
        service::audit(&st.ledger, tenant, "received", &detail(202, json!({"bytes": stored.bytes, "file_sha256": stored.sha256}))).await;
    match svc.ingest_checked(t, id, report).await {
        Ok(done) => Ok(Received::Checked(done.row)),
        Err(e) => {
            tracing::warn!(tenant = %tenant, upload = %id, error = %e, "upload stored; ingestion failed and will be retried by the recovery sweep");
            super::metrics().uploads.inc(&[("via", via), ("outcome", "failed")]);
            Ok(Received::Stored(stored))
        }
    }
}
