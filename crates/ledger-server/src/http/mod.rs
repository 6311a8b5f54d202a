//! The HTTP service: a JSON REST API under `/v1`, health, metrics and OpenAPI.
//!
//! Every `/v1` request passes one layer (`guard`) that, driven by the route table in
//! [`spec`]:
//!
//! 1. authenticates the bearer token (looked up by id, secret hash compared in constant
//!    time, expiry and revocation enforced);
//! 2. applies the per-token rate limit;
//! 3. when the server requires MFA for the token's role, checks the OIDC ID token in
//!    `X-Ledger-Id-Token` against the token's person (see [`mfa`]);
//! 4. authorises the route's action for the token's role and tenant (a token of tenant A
//!    gets `403 wrong_tenant` on every endpoint of tenant B, whether B exists or not);
//! 5. runs the handler under the request timeout;
//! 6. appends an `audit_event` claim (who, tenant, role, action, target, outcome, time) to
//!    the caller's audit log (see [`crate::audit`]).
//!
//! Bodies are read whole up to the body limit, refused above the JSON nesting limit before
//! parsing, and parsed with unknown fields refused. Errors are `{"error": {"code",
//! "message"}}` with the stable codes of [`error`].

pub mod conn;
pub mod error;
pub mod extract;
mod handlers;
pub mod mfa;
pub mod spec;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use evidence_core::TenantId;
use ledger_api::routes;
use serde::de::DeserializeOwned;

use crate::auth::{self, Principal};
pub use error::{ApiError, ErrorCode};
use ledger::Ledger;
use ledger::store::Store;

/// Limits and defaults of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Largest request body accepted (bytes). Default 1 MiB.
    pub body_bytes: usize,
    /// Deepest JSON nesting accepted in a request body. Default 32.
    pub json_depth: usize,
    /// Most claims in one batch append. Default 1000.
    pub batch_max: usize,
    /// Sustained requests per second per token. Default 50.
    pub rate_per_sec: f64,
    /// Burst size per token. Default 200.
    pub rate_burst: f64,
    /// Longest a request may run before `503 timeout`. Default 30 s.
    pub request_timeout: Duration,
    /// How long a token's stored record (tenant, role, secret hash, expiry, revocation) is
    /// reused before it is read from the store again. Default 1 s; zero reads it on every
    /// request. The presented secret and the expiry are still checked on every request; the
    /// cost is that a revocation (made by `ledger-server token revoke`, possibly from another
    /// process) takes effect up to this long after it is stored.
    pub token_cache: Duration,
    /// Longest a request head (request line and headers) may take to arrive once its first
    /// byte has. Default 10 s.
    pub header_read_timeout: Duration,
    /// Longest a connection may stay open with no request in progress and no I/O (idle
    /// keep-alive, or a socket that never sends). Default 60 s.
    pub idle_timeout: Duration,
    /// Most connections open at once; one more is closed at once. Default 1024.
    pub max_connections: usize,
}

impl HttpLimits {
    /// The connection limits.
    pub fn conn(&self) -> conn::ConnLimits {
        conn::ConnLimits {
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
        }
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_bytes: 1 << 20,
            json_depth: 32,
            batch_max: 1000,
            rate_per_sec: 50.0,
            rate_burst: 200.0,
            request_timeout: Duration::from_secs(30),
            token_cache: Duration::from_secs(1),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_mins(1),
            max_connections: 1024,
        }
    }
}

/// The service's shared state.
pub struct AppState<S: Store> {
    pub(crate) ledger: Ledger<S>,
    pub(crate) limits: HttpLimits,
    limiter: Arc<RateLimiter>,
    tokens: Arc<TokenCache>,
    draining: Arc<AtomicBool>,
    pub(crate) mfa: Option<Arc<mfa::MfaGate>>,
    pub(crate) reports: Option<Arc<crate::report::ReportService>>,
    pub(crate) uploads: Option<Arc<crate::uploads::UploadService<S>>>,
}

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            ledger: self.ledger.clone(),
            limits: self.limits.clone(),
            limiter: Arc::clone(&self.limiter),
            tokens: Arc::clone(&self.tokens),
            draining: Arc::clone(&self.draining),
            mfa: self.mfa.clone(),
            reports: self.reports.clone(),
            uploads: self.uploads.clone(),
        }
    }
}

impl<S: Store> std::fmt::Debug for AppState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("ledger", &self.ledger.name()).field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl<S: Store> AppState<S> {
    /// State over a ledger with these limits.
    pub fn new(ledger: Ledger<S>, limits: HttpLimits) -> Self {
        Self {
            ledger,
            limits,
            limiter: Arc::new(RateLimiter::default()),
            tokens: Arc::new(TokenCache::default()),
            draining: Arc::new(AtomicBool::new(false)),
            mfa: None,
            reports: None,
            uploads: None,
        }
    }

    /// Takes dealer uploads with this service (without one, the upload routes answer
    /// `503 uploads_not_configured`).
    #[must_use]
    pub fn with_uploads(mut self, uploads: Option<Arc<crate::uploads::UploadService<S>>>) -> Self {
        self.uploads = uploads;
        self
    }

    /// Serves signed findings reports with this generator (without one,
    /// `…/reports/findings.pdf` answers `503 reports_not_configured`).
    #[must_use]
    pub fn with_reports(mut self, reports: Option<Arc<crate::report::ReportService>>) -> Self {
        self.reports = reports;
        self
    }

    /// Requires MFA-asserting ID tokens for the gate's roles (see [`mfa`]).
    #[must_use]
    pub fn with_mfa(mut self, gate: Option<Arc<mfa::MfaGate>>) -> Self {
        self.mfa = gate;
        self
    }

    /// Takes one request from the token's bucket (the API and the dashboard share it, so a
    /// session costs the same as its token's API calls), or says how many seconds to wait.
    pub(crate) fn rate_check(&self, token_id: &str) -> Result<(), u64> {
        self.limiter.check(token_id, self.limits.rate_per_sec, self.limits.rate_burst)
    }

    /// Marks the server as draining: `/readyz` answers 503 so load balancers stop sending.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// The router with every route of [`spec::ROUTES`], the guard layer and the body limit.
pub fn router<S: Store + Clone>(state: AppState<S>) -> Router {
    use handlers as h;
    let body_limit = state.limits.body_bytes;
    let v1 = Router::new()
        .route(routes::TENANTS, post(h::create_tenant::<S>).get(h::list_tenants::<S>))
        .route(routes::VERIFIER_KEY, get(h::verifier_key::<S>))
        .route(routes::CLAIMS, post(h::append::<S>))
        .route(routes::CLAIMS_BATCH, post(h::append_batch::<S>))
        .route(routes::CLAIM, get(h::get_claim::<S>))
        .route(routes::CLAIM_BUNDLE, get(h::bundle_one::<S>))
        .route(routes::CLAIM_TLOG_PROOF, get(h::tlog_proof::<S>))
        .route(routes::BUNDLES, post(h::bundle_many::<S>))
        .route(routes::CLAIM_RETRACT, post(h::retract::<S>))
        .route(routes::CLAIM_ERASE, post(h::erase::<S>))
        .route(routes::CHECKPOINTS, get(h::list_checkpoints::<S>))
        .route(routes::CHECKPOINT, get(h::get_checkpoint::<S>))
        .route(routes::CHECKPOINT_NOTE, get(h::checkpoint_note::<S>))
        .route(routes::CHECKPOINT_ANCHORS, get(h::anchors::<S>))
        .route(routes::CONSISTENCY, get(h::consistency::<S>))
        .route(routes::CHECKPOINT_CHAIN, get(h::checkpoint_chain::<S>))
        .route(routes::AUDIT, get(h::audit::<S>))
        .route(routes::REPORT_FINDINGS_PDF, get(h::findings_report::<S>))
        .route(routes::UPLOADS, post(crate::uploads::http::create::<S>).get(crate::uploads::http::list::<S>))
        .route(routes::UPLOAD, get(crate::uploads::http::get_one::<S>))
        .route_layer(middleware::from_fn_with_state(state.clone(), guard::<S>));
    let public = Router::new()
        .route(routes::HEALTHZ, get(h::healthz))
        .route(routes::READYZ, get(h::readyz::<S>))
        .route(routes::METRICS, get(h::metrics))
        .route(routes::OPENAPI, get(h::openapi))
        .route_layer(middleware::from_fn(observe));
    // The signed upload URL: no bearer guard, no JSON body limit (it streams up to its own).
    let upload_body = Router::new()
        .route(routes::UPLOAD_BODY, axum::routing::put(crate::uploads::http::put_body::<S>))
        .route_layer(middleware::from_fn(observe))
        .with_state(state.clone());
    v1.merge(public)
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed, "method not allowed")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(body_limit, declared_length))
        .with_state(state)
        .merge(upload_body)
}

/// Refuses a request whose declared `Content-Length` is over the body limit at once, before
/// authentication and before a byte of the body is read (a body without a length, or one
/// that lies, is still cut at the limit while it is read).
async fn declared_length(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let declared = req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(|v| v.trim().parse::<u64>());
    match declared {
        Some(Ok(n)) if n > u64::try_from(limit).unwrap_or(u64::MAX) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!("the declared body of {n} bytes is over the {limit}-byte limit"),
        )
        .into_response(),
        _ => next.run(req).await,
    }
}

fn record_metrics(route: &str, started: Instant, resp: &Response) {
    let m = crate::metrics::global();
    m.http_seconds.observe(started.elapsed().as_secs_f64());
    m.http_requests.inc(&[("route", route), ("status", resp.status().as_str())]);
    if let Some(code) = resp.extensions().get::<ErrorCode>() {
        m.http_errors.inc(&[("code", code.as_str())]);
    }
}

async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let resp = next.run(req).await;
    record_metrics(&route, started, &resp);
    resp
}

/// Authentication, rate limit, authorisation, timeout, audit and metrics for `/v1`.
async fn guard<S: Store>(State(st): State<AppState<S>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let route = parts.extensions.get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let method = parts.method.as_str().to_owned();
    let target = parts.uri.path().to_owned();
    // A path whose parameters are not UTF-8 after percent-decoding names no tenant: it is
    // refused (after authentication, so it is audited) rather than authorised as if it
    // named none.
    let tenant_param = match <RawPathParams as axum::extract::FromRequestParts<()>>::from_request_parts(&mut parts, &()).await {
        Ok(p) => Ok(p.iter().find(|(k, _)| *k == "tenant").map(|(_, v)| v.to_owned())),
        Err(_) => Err(ApiError::invalid("path: a parameter is not valid UTF-8 after percent-decoding")),
    };
    let Some(spec) = spec::find(&method, &route) else {
        let resp = ApiError::no_route().into_response();
        record_metrics(&route, started, &resp);
        return resp;
    };
    let mut principal = match authenticate(&st, parts.headers.get(axum::http::header::AUTHORIZATION)).await {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(route = %route, code = e.code.as_str(), "request refused before authentication");
            let resp = e.into_response();
            record_metrics(&route, started, &resp);
            return resp;
        }
    };
    let action = spec.action.unwrap_or(auth::Action::Administer);
    let mfa = match &st.mfa {
        Some(gate) => gate.check(&principal, parts.headers.get(mfa::ID_TOKEN_HEADER)).await.map(|sub| principal.mfa_subject = sub),
        None => Ok(()),
    };
    let resp = if let Err(e) = mfa.and_then(|()| authorize(&st, &principal, action, tenant_param?.as_deref())) {
        e.into_response()
    } else if let Err(e) = crate::audit::open(&st.ledger, principal.tenant.as_ref()).await {
        // No audit log, no operation: nothing has happened yet.
        tracing::error!(error = %e, token = %principal.token_id, route = %route, "the audit log cannot be opened: request refused");
        crate::metrics::global().audit_failures.inc(&[("reason", "open")]);
        ApiError::audit_unavailable("the audit log cannot be written; nothing was done; retry later").into_response()
    } else {
        parts.extensions.insert(principal.clone());
        let req = Request::from_parts(parts, body);
        if let Ok(r) = tokio::time::timeout(st.limits.request_timeout, next.run(req)).await {
            r
        } else {
            let mut e = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Timeout,
                "the request took too long; retry (appends are safe to retry with an idempotency key)",
            );
            e.retry_after = Some(1);
            e.into_response()
        }
    };
    let code = resp.extensions().get::<ErrorCode>().map(|c| c.as_str());
    let resp = match crate::audit::record(&st.ledger, &principal, action, &method, &route, &target, resp.status().as_u16(), code).await {
        Ok(()) => resp,
        Err(_) => ApiError::audit_unavailable(
            "the request's audit entry could not be written, so it is reported as failed; the operation may have taken \
             effect: retry (appends with the same idempotency key are safe to retry)",
        )
        .into_response(),
    };
    record_metrics(&route, started, &resp);
    resp
}

async fn authenticate<S: Store>(st: &AppState<S>, header: Option<&axum::http::HeaderValue>) -> Result<Principal, ApiError> {
    let Some(value) = header else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::MissingToken,
            "an Authorization: Bearer <token> header is required",
        ));
    };
    let bearer = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| ApiError::from(auth::AuthError::Malformed))?;
    let (id, secret) = auth::split(bearer)?;
    let record = if let Some(r) = st.tokens.get(id, st.limits.token_cache) {
        Some(r)
    } else {
        let r = st.ledger.store().token(id).await?;
        if let Some(r) = &r {
            st.tokens.put(r, st.limits.token_cache);
        }
        r
    };
    let Some(record) = record else {
        // Same answer as a wrong secret: an id alone is not a credential.
        return Err(auth::AuthError::Invalid.into());
    };
    let principal = auth::verify(&record, secret, ledger::now())?;
    if let Err(wait) = st.rate_check(&principal.token_id) {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, "too many requests for this token; slow down");
        e.retry_after = Some(wait);
        return Err(e);
    }
    Ok(principal)
}

fn authorize<S: Store>(_st: &AppState<S>, p: &Principal, action: auth::Action, tenant: Option<&str>) -> Result<(), ApiError> {
    let tenant = match tenant {
        None => None,
        Some(t) => match TenantId::new(t) {
            Ok(t) => Some(t),
            // Not a valid tenant id: no token can be for it.
            Err(_) => {
                return Err(if p.tenant.is_some() { auth::AuthError::WrongTenant.into() } else { ApiError::invalid("invalid tenant id") });
            }
        },
    };
    Ok(p.authorize(action, tenant.as_ref())?)
}

/// Stored token records recently read, so that a busy client does not cost a catalogue
/// query per request. Only records found are kept (an unknown id is looked up each time);
/// [`auth::verify`] runs on every request against the record, cached or not.
#[derive(Debug, Default)]
struct TokenCache {
    records: Mutex<HashMap<String, (auth::TokenRecord, Instant)>>,
}

impl TokenCache {
    /// Most records kept; past it, stale ones are dropped, then all.
    const MAX: usize = 10_000;

    fn get(&self, id: &str, ttl: Duration) -> Option<auth::TokenRecord> {
        let m = self.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        m.get(id).filter(|(_, at)| at.elapsed() < ttl).map(|(r, _)| r.clone())
    }

    fn put(&self, record: &auth::TokenRecord, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let mut m = self.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() >= Self::MAX {
            let now = Instant::now();
            m.retain(|_, (_, at)| now.duration_since(*at) < ttl);
            if m.len() >= Self::MAX {
                m.clear();
            }
        }
        m.insert(record.id.clone(), (record.clone(), Instant::now()));
    }
}

/// A per-token token bucket.
#[derive(Debug, Default)]
struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket, or says how many seconds to wait.
    fn check(&self, key: &str, rate: f64, burst: f64) -> Result<(), u64> {
        let now = Instant::now();
        let mut m = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() > 100_000 {
            // Bounded memory: forget full buckets (idle tokens) first.
            m.retain(|_, (level, at)| *level + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (level, at) = m.entry(key.to_owned()).or_insert((burst, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let wait = ((1.0 - *level) / rate.max(1e-9)).ceil().max(1.0) as u64;
            Err(wait)
        }
    }
}

/// A JSON body: size-limited (by [`DefaultBodyLimit`]), depth-limited, unknown fields
/// refused by the target type, every failure a typed [`ApiError`].
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Store + Clone, T: DeserializeOwned> FromRequest<AppState<S>> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, st: &AppState<S>) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
        if !json_type {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "the body must be application/json",
            ));
        }
        let limit = st.limits.body_bytes;
        let bytes = axum::body::Bytes::from_request(req, st).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge, format!("the body is over the {limit}-byte limit"))
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadBody, "the body could not be read")
            }
        })?;
        check_depth(&bytes, st.limits.json_depth)?;
        // Read strictly first (RFC 8785 / I-JSON): a body is never altered silently, so a
        // duplicate member name at any depth, or an integer a double cannot hold, is
        // refused rather than resolved (serde_json alone keeps the last duplicate and
        // rounds wide integers). Then the endpoint's type reads the checked value.
        let value = evidence_core::jcs::parse_strict(&bytes).map_err(|e| strict_error(&e))?;
        serde_json::from_value(value).map(JsonBody).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, format!("the body is not valid for this endpoint: {e}"))
        })
    }
}

fn strict_error(e: &evidence_core::jcs::JcsError) -> ApiError {
    use evidence_core::jcs::JcsError as J;
    let (code, what) = match e {
        J::DuplicateKey(_) => (ErrorCode::DuplicateMember, "the body is not I-JSON"),
        J::UnsafeInteger(_) | J::NonFinite => (ErrorCode::UnsafeNumber, "the body is not I-JSON"),
        J::TooDeep => (ErrorCode::JsonTooDeep, "the body is refused"),
        _ => (ErrorCode::MalformedJson, "the body is not valid JSON"),
    };
    ApiError::new(StatusCode::BAD_REQUEST, code, format!("{what}: {e}"))
}

/// Refuses JSON nested deeper than `max` (arrays and objects), without parsing it.
fn check_depth(bytes: &[u8], max: usize) -> Result<(), ApiError> {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for &b in bytes {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        ErrorCode::JsonTooDeep,
                        format!("the body nests deeper than {max} levels"),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Where the service listens: plain TCP or TLS.
#[derive(Debug)]
pub enum Bind {
    /// Plain HTTP (behind a TLS-terminating proxy, or on loopback).
    Plain(tokio::net::TcpListener),
    /// HTTPS with rustls.
    Tls(crate::tls::TlsListener),
}

impl Bind {
    /// The bound address.
    ///
    /// # Errors
    /// The socket's address is unavailable.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        match self {
            Bind::Plain(l) => l.local_addr(),
            Bind::Tls(l) => l.local_addr(),
        }
    }
}

impl From<tokio::net::TcpListener> for Bind {
    fn from(l: tokio::net::TcpListener) -> Self {
        Bind::Plain(l)
    }
}

/// Serves `router` on `bind` under the connection limits until `shutdown` resolves, then
/// drains in-flight requests (see [`conn`]).
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    bind: Bind,
    router: Router,
    limits: conn::ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match bind {
        Bind::Plain(l) => conn::serve(l, None, router, limits, shutdown).await,
        Bind::Tls(l) => {
            let (tcp, acceptor) = l.into_parts();
            conn::serve(tcp, Some(acceptor), router, limits, shutdown).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_structure_not_strings() {
        assert!(check_depth(br#"{"a":[[["x"]]]}"#, 4).is_ok());
        assert!(check_depth(br#"{"a":[[[["x"]]]]}"#, 4).is_err());
        assert!(check_depth(br#"{"a":"[[[[[[[[[[\"]]"}"#, 2).is_ok());
        assert!(check_depth(&vec![b'['; 10_000], 32).is_err());
    }

    #[test]
    fn bucket_refuses_beyond_burst_and_refills() {
        let l = RateLimiter::default();
        for _ in 0..5 {
            assert!(l.check("t", 1000.0, 5.0).is_ok());
        }
        assert!(l.check("t", 0.001, 5.0).is_err());
        assert!(l.check("other", 1000.0, 5.0).is_ok());
    }
}
