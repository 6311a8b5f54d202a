//! The operator and auditor dashboard: server-rendered HTML pages under `/ui/`, on the same
//! listener as the API.
//!
//! - **No script at all.** Pages are plain HTML forms and links rendered with compile-time
//!   templates (`askama`, files under `templates/ui/`), so the policy is stricter than a
//!   hash allowlist: `script-src 'none'`. Styles come only from the one embedded stylesheet
//!   (`style-src 'self'`, no `style=` attribute anywhere); plots are SVG files served from
//!   `/ui/` (drawn in `plots.rs`). Every `/ui/` answer carries [`CSP`], `X-Content-Type-Options`,
//!   `Referrer-Policy: no-referrer`, a `Permissions-Policy` denying every feature, and
//!   `Strict-Transport-Security: max-age=31536000` when the listener is TLS.
//! - **Assets** are embedded in the binary and served from `/ui/assets/` under names that
//!   carry the first 16 hex digits of their SHA-256, cached as immutable.
//! - **Sessions** ([`session`]): a bearer token (plus the MFA ID token when the server's
//!   `[oidc]` requires one for the role) is exchanged once for a random session id in an
//!   `HttpOnly; SameSite=Strict` cookie (`Secure` and `__Host-` with TLS). Sessions expire
//!   when idle and at an absolute limit, end at sign-out, are held only on the server (the id
//!   is stored hashed), and end when the token they came from is revoked or expires.
//! - **CSRF**: every form carries the session's CSRF token (sign-in: a pre-session cookie
//!   and its twin field); a POST without the right one is refused.
//! - **Permissions**: every page names the API route it shows ([`PAGES`]); the action is
//!   that route's in [`crate::http::spec::ROUTES`] and the role check is
//!   [`crate::auth::Principal::authorize`], the same table as the API. Every page view and
//!   action is written to the tenant's audit log like an API request.

mod assets;
mod index;
mod pages;
mod plots;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use evidence_core::TenantId;
use ledger::store::Store;
use ledger_api::routes;

use crate::auth::{self, Action, Principal};
use crate::http::{ApiError, AppState};
pub use session::SignInLinks;

/// The Content-Security-Policy of every `/ui/` answer.
pub const CSP: &str = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `Strict-Transport-Security` when the listener is TLS (365 days).
pub const HSTS: &str = "max-age=31536000";

/// `Permissions-Policy`: no feature for anyone.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), \
                                      payment=(), usb=(), interest-cohort=()";

/// Sessions and sign-in links of the dashboard.
#[derive(Clone, Debug)]
pub struct UiOptions {
    /// A session unused this long ends. Default 15 minutes.
    pub idle: Duration,
    /// A session ends this long after sign-in whatever its use. Default 8 hours.
    pub absolute: Duration,
    /// One-time sign-in links (what `ledger-server dev` prints).
    pub links: Arc<SignInLinks>,
}

impl Default for UiOptions {
    fn default() -> Self {
        Self { idle: Duration::from_mins(15), absolute: Duration::from_hours(8), links: Arc::new(SignInLinks::default()) }
    }
}

/// Where a page's permission comes from.
#[derive(Clone, Copy, Debug)]
pub enum Permission {
    /// The action of this API route (method, path) in [`crate::http::spec::ROUTES`].
    Api(&'static str, &'static str),
    /// An action with no API route yet (the uploads list).
    Action(Action),
}

impl Permission {
    /// The action the role table is asked about.
    pub fn action(self) -> Action {
        match self {
            Permission::Api(m, p) => crate::http::spec::find(m, p).and_then(|r| r.action).unwrap_or(Action::Administer),
            Permission::Action(a) => a,
        }
    }
}

/// Every tenant page and action of the dashboard: (method, path, the permission it needs).
pub const PAGES: &[(&str, &str, Permission)] = &[
    ("GET", "/ui/t/{tenant}/", Permission::Api("GET", routes::CHECKPOINTS)),
    ("GET", "/ui/t/{tenant}/checkpoints", Permission::Api("GET", routes::CHECKPOINTS)),
    ("GET", "/ui/t/{tenant}/findings", Permission::Api("GET", routes::CLAIM)),
    ("GET", "/ui/t/{tenant}/claims/{seq}", Permission::Api("GET", routes::CLAIM)),
    ("GET", "/ui/t/{tenant}/claims/{seq}/bundle.json", Permission::Api("GET", routes::CLAIM_BUNDLE)),
    ("GET", "/ui/t/{tenant}/claims/{seq}/tlog-proof", Permission::Api("GET", routes::CLAIM_TLOG_PROOF)),
    ("POST", "/ui/t/{tenant}/claims/{seq}/retract", Permission::Api("POST", routes::CLAIM_RETRACT)),
    ("GET", "/ui/t/{tenant}/incidents", Permission::Api("GET", routes::CLAIM)),
    ("GET", "/ui/t/{tenant}/audit", Permission::Api("GET", routes::AUDIT)),
    ("GET", "/ui/t/{tenant}/uploads", Permission::Action(Action::Read)),
    ("POST", "/ui/t/{tenant}/uploads", Permission::Api("POST", routes::UPLOADS)),
    ("GET", "/ui/t/{tenant}/reports", Permission::Api("GET", routes::REPORT_FINDINGS_PDF)),
    ("GET", "/ui/t/{tenant}/reports/findings.pdf", Permission::Api("GET", routes::REPORT_FINDINGS_PDF)),
    ("GET", "/ui/t/{tenant}/plots/{plot}", Permission::Api("GET", routes::CHECKPOINTS)),
];

/// The route of the upload form's `POST`.
const UPLOAD_FORM: &str = "/ui/t/{tenant}/uploads";

fn permission(method: &str, path: &str) -> Option<Action> {
    PAGES.iter().find(|(m, p, _)| *m == method && *p == path).map(|(_, _, perm)| perm.action())
}

/// Whether `p` may see the page `path` (GET) or do the action (POST) for its tenant: what
/// the navigation shows and the guard enforces.
pub fn may(p: &Principal, method: &str, path: &str) -> bool {
    permission(method, path).is_some_and(|a| auth::allowed(p.role, a))
}

/// The dashboard's state: the API's state plus sessions and the per-tenant page index.
pub(crate) struct Dash<S: Store> {
    pub(crate) app: AppState<S>,
    pub(crate) sessions: Arc<session::Sessions>,
    pub(crate) links: Arc<SignInLinks>,
    pub(crate) index: Arc<index::Indexes>,
    pub(crate) tls: bool,
}

impl<S: Store> Clone for Dash<S> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            sessions: Arc::clone(&self.sessions),
            links: Arc::clone(&self.links),
            index: Arc::clone(&self.index),
            tls: self.tls,
        }
    }
}

/// A page that could not be shown: status and a message for people (HTML).
#[derive(Debug)]
pub(crate) struct UiError {
    status: StatusCode,
    message: String,
}

impl UiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        Self { status: e.status, message: e.message }
    }
}

impl From<ledger::LedgerError> for UiError {
    fn from(e: ledger::LedgerError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<ledger::store::StoreError> for UiError {
    fn from(e: ledger::store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "dashboard template failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered; the server log has the detail")
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let page = pages::ErrorPage { css: assets::css_path(), status: self.status.as_u16(), message: self.message };
        let body = askama::Template::render(&page).unwrap_or_else(|_| "error".to_owned());
        (self.status, Html(body)).into_response()
    }
}

/// The dashboard's routes (under `/ui/`), to merge into the API router: same listener, same
/// ledger, its own headers, sessions and body limit. `tls` turns on HSTS and `Secure`
/// cookies.
pub fn router<S: Store + Clone>(app: AppState<S>, opts: &UiOptions, tls: bool) -> Router {
    use pages as p;
    let dash = Dash {
        app,
        sessions: Arc::new(session::Sessions::new(opts.idle, opts.absolute)),
        links: Arc::clone(&opts.links),
        index: Arc::new(index::Indexes::default()),
        tls,
    };
    warm(&dash);
    let tenant = Router::new()
        .route("/ui/t/{tenant}/", get(p::overview::<S>))
        .route("/ui/t/{tenant}/checkpoints", get(p::checkpoints::<S>))
        .route("/ui/t/{tenant}/findings", get(p::findings::<S>))
        .route("/ui/t/{tenant}/claims/{seq}", get(p::claim::<S>))
        .route("/ui/t/{tenant}/claims/{seq}/bundle.json", get(p::bundle::<S>))
        .route("/ui/t/{tenant}/claims/{seq}/tlog-proof", get(p::tlog_proof::<S>))
        .route("/ui/t/{tenant}/claims/{seq}/retract", post(p::retract::<S>))
        .route("/ui/t/{tenant}/incidents", get(p::incidents::<S>))
        .route("/ui/t/{tenant}/audit", get(p::audit::<S>))
        // The form's file is streamed and cut at the upload limit by the file store, not by
        // the 64 KiB form limit of the other pages.
        .route("/ui/t/{tenant}/uploads", get(p::uploads::<S>).post(p::upload::<S>).layer(DefaultBodyLimit::disable()))
        .route("/ui/t/{tenant}/reports", get(p::reports::<S>))
        .route("/ui/t/{tenant}/reports/findings.pdf", get(p::report_pdf::<S>))
        .route("/ui/t/{tenant}/plots/{plot}", get(p::plot::<S>))
        .route_layer(middleware::from_fn_with_state(dash.clone(), guard::<S>));
    let open = Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(session::home::<S>))
        .route("/ui/sign-in", get(session::sign_in_form::<S>).post(session::sign_in::<S>))
        .route("/ui/link/{nonce}", get(session::link_form::<S>).post(session::link_sign_in::<S>))
        .route("/ui/sign-out", post(session::sign_out::<S>))
        .route("/ui/assets/{name}", get(assets::serve));
    tenant.merge(open).layer(DefaultBodyLimit::max(64 * 1024)).layer(middleware::from_fn_with_state(tls, headers)).with_state(dash)
}

/// Builds every tenant's page index in the background at start, so that the first page view
/// of a big tenant does not pay for reading its whole log (a view meanwhile waits for its
/// tenant's index).
fn warm<S: Store + Clone>(d: &Dash<S>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
    let d = d.clone();
    rt.spawn(async move {
        let Ok(ids) = d.app.ledger.tenants().await else { return };
        for id in ids.into_iter().filter(|t| !t.as_str().ends_with(crate::audit::AUDIT_SUFFIX)) {
            let started = std::time::Instant::now();
            match d.app.ledger.tenant(&id).await {
                Ok(t) => match d.index.current(&t).await {
                    Ok(ix) => {
                        tracing::info!(tenant = %id, leaves = ix.scanned, ms = started.elapsed().as_millis(), "dashboard index built");
                    }
                    Err(e) => tracing::warn!(tenant = %id, error = %e, "dashboard index not built; the first page view will build it"),
                },
                Err(e) => tracing::warn!(tenant = %id, error = %e, "dashboard index not built"),
            }
        }
    });
}

/// The security headers of every `/ui/` answer.
async fn headers(State(tls): State<bool>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    security_headers(resp.headers_mut(), tls);
    resp
}

fn security_headers(h: &mut axum::http::HeaderMap, tls: bool) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("permissions-policy", HeaderValue::from_static(PERMISSIONS_POLICY));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
}

/// Who is looking at a tenant page (put in the request by [`guard`]).
#[derive(Clone, Debug)]
pub(crate) struct Viewer {
    pub(crate) principal: Principal,
    pub(crate) tenant: TenantId,
    pub(crate) csrf: String,
}

/// Session, permission and audit for every tenant page: no session → the sign-in page; a
/// session of another tenant → 403; the page's action refused by the role table → 403;
/// then the page, and its audit entry.
async fn guard<S: Store + Clone>(State(d): State<Dash<S>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let method = req.method().as_str().to_owned();
    let target = req.uri().path().to_owned();
    // The session, with its principal rebuilt from the token record: revoking the token ends it.
    let sess = match d.sessions.current(d.app.ledger.store(), req.headers(), d.tls).await {
        Ok(Some(s)) => s,
        Ok(None) => return Redirect::to("/ui/sign-in").into_response(),
        Err(e) => return e.into_response(),
    };
    // The API's per-token rate limit: a session spends its token's budget.
    if let Err(wait) = d.app.rate_check(&sess.principal.token_id) {
        let mut resp =
            UiError::new(StatusCode::TOO_MANY_REQUESTS, "too many requests for this session; wait a moment and reload").into_response();
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return resp;
    }
    let tenant_param = target.strip_prefix("/ui/t/").and_then(|r| r.split('/').next()).unwrap_or_default();
    let Ok(tenant) = TenantId::new(tenant_param) else {
        return UiError::new(StatusCode::FORBIDDEN, "this session is not for that tenant").into_response();
    };
    let Some(action) = permission(&method, &route) else {
        return UiError::new(StatusCode::NOT_FOUND, "no such page").into_response();
    };
    if let Err(e) = sess.principal.authorize(action, Some(&tenant)) {
        let resp = UiError::from(ApiError::from(e)).into_response();
        let _ = crate::audit::record(
            &d.app.ledger,
            &sess.principal,
            action,
            &method,
            &route,
            &target,
            resp.status().as_u16(),
            Some("forbidden"),
        )
        .await;
        return resp;
    }
    if let Err(e) = crate::audit::open(&d.app.ledger, Some(&tenant)).await {
        tracing::error!(error = %e, "the audit log cannot be opened: dashboard request refused");
        return UiError::new(StatusCode::SERVICE_UNAVAILABLE, "the audit log cannot be written; nothing was done; retry later")
            .into_response();
    }
    let mut req = req;
    req.extensions_mut().insert(Viewer { principal: sess.principal.clone(), tenant, csrf: sess.csrf.clone() });
    // The API's request timeout: a page that takes longer is a 503 (and audited as one). An
    // upload is not cut by it, as a signed URL's PUT is not: its body is bounded by the
    // upload limit and the connection's idle timeout instead.
    let limit = if method == "POST" && route == UPLOAD_FORM { Duration::MAX } else { d.app.limits.request_timeout };
    let resp = within(limit, next.run(req)).await;
    match crate::audit::record(&d.app.ledger, &sess.principal, action, &method, &route, &target, resp.status().as_u16(), None).await {
        Ok(()) => resp,
        Err(_) => UiError::new(StatusCode::SERVICE_UNAVAILABLE, "the audit entry of this page could not be written; retry").into_response(),
    }
}

/// The page `page`, or a `503` with `Retry-After: 1` when it takes longer than `limit`.
async fn within(limit: Duration, page: impl std::future::Future<Output = Response>) -> Response {
    if let Ok(r) = tokio::time::timeout(limit, page).await {
        r
    } else {
        let mut r = UiError::new(StatusCode::SERVICE_UNAVAILABLE, "this page took too long to build; retry").into_response();
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_page_past_the_request_timeout_is_a_503_to_retry() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK.into_response()
        };
        let r = within(Duration::from_millis(20), slow).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        let r = within(Duration::from_secs(5), async { StatusCode::OK.into_response() }).await;
        assert_eq!(r.status(), StatusCode::OK);
        // An upload's unbounded limit does not overflow the timer.
        let r = within(Duration::MAX, async { StatusCode::OK.into_response() }).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[test]
    fn every_page_has_an_action_from_the_api_table() {
        for (m, p, perm) in PAGES {
            if let Permission::Api(am, ap) = perm {
                assert!(
                    crate::http::spec::find(am, ap).and_then(|r| r.action).is_some(),
                    "{m} {p}: {am} {ap} is not an API route with an action"
                );
            }
        }
    }

    #[test]
    fn auditor_reads_and_exports_but_may_not_retract() {
        let p = Principal { token_id: "x".into(), tenant: None, role: auth::Role::Auditor, person: None, mfa_subject: None };
        assert!(may(&p, "GET", "/ui/t/{tenant}/findings"));
        assert!(may(&p, "GET", "/ui/t/{tenant}/claims/{seq}/bundle.json"));
        assert!(may(&p, "GET", "/ui/t/{tenant}/audit"));
        assert!(!may(&p, "POST", "/ui/t/{tenant}/claims/{seq}/retract"));
        let op = Principal { role: auth::Role::DealerOperator, ..p };
        assert!(!may(&op, "GET", "/ui/t/{tenant}/claims/{seq}/bundle.json"));
        assert!(!may(&op, "GET", "/ui/t/{tenant}/audit"));
        assert!(may(&op, "GET", "/ui/t/{tenant}/findings"));
    }

    #[test]
    fn hsts_with_tls_only_and_assets_keep_their_cache_header() {
        let mut h = axum::http::HeaderMap::new();
        security_headers(&mut h, true);
        assert_eq!(h[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
        security_headers(&mut h, false);
        assert!(!h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        assert_eq!(h[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CSP);
    }

    #[test]
    fn the_policy_has_no_wildcard_and_no_inline() {
        assert!(!CSP.contains('*'));
        assert!(!CSP.contains("unsafe"));
        for d in ["default-src 'none'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"] {
            assert!(CSP.contains(d), "{d}");
        }
    }
}
