//! Dashboard sessions, sign-in, one-time sign-in links and sign-out.
//!
//! A session is 32 random bytes handed to the browser once, in a cookie that scripts cannot
//! read (`HttpOnly`) and that no other site's request carries (`SameSite=Strict`); `Secure`
//! with the `__Host-` name prefix when the listener is TLS. The server keeps only its
//! SHA-256, with the principal, a CSRF token, and its idle and absolute deadlines (the
//! absolute one never past the bearer token's expiry). Sign-out deletes it; so does the
//! guard when the token it came from is revoked or has expired. Sessions live in the store's
//! catalogue (`ledger::store::sessions`), so every replica on one store knows every session,
//! a sign-out on one ends it on all, and a restart signs nobody out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use evidence_core::UnixMillis;
use ledger::store::sessions::{SessionRecord, SessionStore};

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ledger::store::Store;
use subtle::ConstantTimeEq as _;

use super::{Dash, UiError, assets, pages};
use crate::auth::{self, Action, Principal, Role};

/// Random URL-safe text of `N` bytes.
pub(crate) fn random_text<const N: usize>() -> Result<String, UiError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| {
        tracing::error!(error = %e, "no randomness for a dashboard session");
        UiError::new(StatusCode::SERVICE_UNAVAILABLE, "the server cannot make a session now; retry")
    })?;
    Ok(B64URL.encode(b))
}

fn key_of(id: &str) -> String {
    hex::encode(evidence_core::types::sha256(&[id.as_bytes()]))
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The session cookie's name.
pub fn cookie_name(tls: bool) -> &'static str {
    if tls { "__Host-ledger_ui" } else { "ledger_ui" }
}

fn pre_cookie_name(tls: bool) -> &'static str {
    if tls { "__Host-ledger_ui_pre" } else { "ledger_ui_pre" }
}

fn cookie(name: &str, value: &str, max_age: Option<u64>, tls: bool) -> Option<HeaderValue> {
    let secure = if tls { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}")).ok()
}

fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A live session, as the guard sees it.
#[derive(Clone, Debug)]
pub(crate) struct Current {
    pub(crate) key: String,
    pub(crate) principal: Principal,
    pub(crate) csrf: String,
}

/// The session rules (idle and absolute limits) over the store's session rows.
#[derive(Debug)]
pub(crate) struct Sessions {
    idle: Duration,
    absolute: Duration,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Sessions {
    pub(crate) fn new(idle: Duration, absolute: Duration) -> Self {
        Self { idle, absolute }
    }

    /// Sessions last used before this are idle past the limit (`last_used >= idle_since`
    /// is live, i.e. unused for less than `idle`).
    fn idle_since(&self, now: UnixMillis) -> UnixMillis {
        UnixMillis(now.0.saturating_sub(millis(self.idle)).saturating_add(1))
    }

    /// Starts a session for `principal` whose token is valid for `token_left` more; answers
    /// the id for the cookie. Ended sessions are swept on the way.
    pub(crate) async fn start<S: SessionStore>(&self, store: &S, principal: &Principal, token_left: Duration) -> Result<String, UiError> {
        let id = random_text::<32>()?;
        let csrf = random_text::<24>()?;
        let now = ledger::now();
        if let Err(e) = store.sweep_sessions(now, self.idle_since(now)).await {
            tracing::warn!(error = %e, "ended dashboard sessions could not be swept");
        }
        let rec = SessionRecord {
            key: key_of(&id),
            token_id: principal.token_id.clone(),
            mfa_subject: principal.mfa_subject.clone(),
            csrf,
            created_at: now,
            last_used: now,
            not_after: UnixMillis(now.0.saturating_add(millis(self.absolute.min(token_left)))),
        };
        store.put_session(&rec).await?;
        Ok(id)
    }

    /// The request's live session (its idle deadline moved on), or None. Its principal is
    /// rebuilt from the token record on every request: a token revoked or expired since
    /// sign-in ends the session.
    pub(crate) async fn current<S: Store>(&self, store: &S, headers: &HeaderMap, tls: bool) -> Result<Option<Current>, UiError> {
        let Some(id) = read_cookie(headers, cookie_name(tls)) else { return Ok(None) };
        let key = key_of(id);
        let now = ledger::now();
        let Some(rec) = store.use_session(&key, now, self.idle_since(now)).await? else { return Ok(None) };
        let token = match store.token(&rec.token_id).await? {
            Some(t) if t.revoked_at.is_none_or(|r| r > now) && now < t.expires_at => t,
            _ => {
                store.end_session(&key).await?;
                return Ok(None);
            }
        };
        let principal =
            Principal { token_id: token.id, tenant: token.tenant, role: token.role, person: token.principal, mfa_subject: rec.mfa_subject };
        Ok(Some(Current { key, principal, csrf: rec.csrf }))
    }

    /// Ends the session with this key.
    pub(crate) async fn end_key<S: SessionStore>(&self, store: &S, key: &str) -> Result<(), UiError> {
        store.end_session(key).await?;
        Ok(())
    }
}

/// One-time sign-in links: a random nonce standing for a bearer token, usable once within
/// its lifetime (what `ledger-server dev` prints for the demo tenant).
#[derive(Debug, Default)]
pub struct SignInLinks {
    map: Mutex<HashMap<String, (zeroize::Zeroizing<String>, Instant)>>,
}

impl SignInLinks {
    /// A nonce that signs in once with `bearer` within `ttl`: the link is `/ui/link/<nonce>`.
    ///
    /// # Errors
    /// The OS has no randomness.
    pub fn issue(&self, bearer: &str, ttl: Duration) -> Result<String, getrandom::Error> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b)?;
        let nonce = B64URL.encode(b);
        let mut m = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        m.retain(|_, (_, until)| now < *until);
        m.insert(key_of(&nonce), (zeroize::Zeroizing::new(bearer.to_owned()), now + ttl));
        Ok(nonce)
    }

    fn take(&self, nonce: &str) -> Option<zeroize::Zeroizing<String>> {
        let mut m = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (bearer, until) = m.remove(&key_of(nonce))?;
        (Instant::now() < until).then_some(bearer)
    }

    fn live(&self, nonce: &str) -> bool {
        let m = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        m.get(&key_of(nonce)).is_some_and(|(_, until)| Instant::now() < *until)
    }
}

/// `/ui/`: the tenant overview when signed in, else the sign-in page.
pub(crate) async fn home<S: Store + Clone>(State(d): State<Dash<S>>, headers: HeaderMap) -> Response {
    match d.sessions.current(d.app.ledger.store(), &headers, d.tls).await {
        Ok(Some(Current { principal: Principal { tenant: Some(t), .. }, .. })) => Redirect::to(&format!("/ui/t/{t}/")).into_response(),
        Ok(_) => Redirect::to("/ui/sign-in").into_response(),
        Err(e) => e.into_response(),
    }
}

fn sign_in_page(tls: bool, message: Option<String>, status: StatusCode) -> Result<Response, UiError> {
    let pre = random_text::<24>()?;
    let page = pages::SignInPage { css: assets::css_path(), csrf: pre.clone(), message: message.unwrap_or_default() };
    let mut resp = (status, Html(askama::Template::render(&page)?)).into_response();
    if let Some(c) = cookie(pre_cookie_name(tls), &pre, Some(600), tls) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(resp)
}

/// `GET /ui/sign-in`.
pub(crate) async fn sign_in_form<S: Store + Clone>(State(d): State<Dash<S>>) -> Result<Response, UiError> {
    sign_in_page(d.tls, None, StatusCode::OK)
}

/// The sign-in form.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct SignInForm {
    csrf: String,
    token: String,
    #[serde(default)]
    id_token: String,
}

impl Drop for SignInForm {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.token.zeroize();
        self.id_token.zeroize();
    }
}

/// Checks a bearer token (and the MFA ID token when required) as the API guard would, and
/// starts a session. Admin tokens are refused: the admin role sees no tenant's data.
async fn exchange<S: Store + Clone>(d: &Dash<S>, bearer: &str, id_token: &str) -> Result<Response, UiError> {
    let refused = || UiError::new(StatusCode::UNAUTHORIZED, "that token is not valid (malformed, unknown, expired or revoked)");
    let (id, secret) = auth::split(bearer.trim()).map_err(|_| refused())?;
    let record = d.app.ledger.store().token(id).await?.ok_or_else(refused)?;
    let mut principal = auth::verify(&record, secret, ledger::now()).map_err(|_| refused())?;
    if principal.role == Role::Admin || principal.tenant.is_none() {
        return Err(UiError::new(StatusCode::FORBIDDEN, "the dashboard shows one tenant's ledger: an admin token sees no tenant's data"));
    }
    if let Some(gate) = &d.app.mfa {
        let value = HeaderValue::from_str(id_token.trim()).ok().filter(|_| !id_token.trim().is_empty());
        principal.mfa_subject = gate.check(&principal, value.as_ref()).await.map_err(UiError::from)?;
    }
    let left_ms = u64::try_from(record.expires_at.0.saturating_sub(ledger::now().0)).unwrap_or(0);
    let sid = d.sessions.start(d.app.ledger.store(), &principal, Duration::from_millis(left_ms)).await?;
    let tenant = principal.tenant.clone().ok_or_else(refused)?;
    let _ = crate::audit::record(&d.app.ledger, &principal, Action::Read, "POST", "/ui/sign-in", "/ui/sign-in", 303, None).await;
    let mut resp = Redirect::to(&format!("/ui/t/{tenant}/")).into_response();
    if let Some(c) = cookie(cookie_name(d.tls), &sid, None, d.tls) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    if let Some(c) = cookie(pre_cookie_name(d.tls), "", Some(0), d.tls) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(resp)
}

/// `POST /ui/sign-in`.
pub(crate) async fn sign_in<S: Store + Clone>(
    State(d): State<Dash<S>>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(f)) = form else {
        return sign_in_page(d.tls, Some("the form was incomplete".into()), StatusCode::BAD_REQUEST);
    };
    let pre = read_cookie(&headers, pre_cookie_name(d.tls)).unwrap_or_default();
    if pre.is_empty() || !ct_eq(pre, &f.csrf) {
        return sign_in_page(d.tls, Some("the form expired or did not come from this page: try again".into()), StatusCode::FORBIDDEN);
    }
    match exchange(&d, &f.token, &f.id_token).await {
        Ok(r) => Ok(r),
        Err(e) => sign_in_page(d.tls, Some(e.message), e.status),
    }
}

/// `GET /ui/link/{nonce}`: a page with one button (a link prefetcher does not use it up).
pub(crate) async fn link_form<S: Store + Clone>(State(d): State<Dash<S>>, Path(nonce): Path<String>) -> Result<Response, UiError> {
    if !d.links.live(&nonce) {
        return sign_in_page(d.tls, Some("this sign-in link was used already or has expired".into()), StatusCode::GONE);
    }
    let pre = random_text::<24>()?;
    let page = pages::LinkPage { css: assets::css_path(), csrf: pre.clone(), action: format!("/ui/link/{nonce}") };
    let mut resp = Html(askama::Template::render(&page)?).into_response();
    if let Some(c) = cookie(pre_cookie_name(d.tls), &pre, Some(600), d.tls) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(resp)
}

/// A form with only its CSRF token.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: String,
}

/// `POST /ui/link/{nonce}`: uses the link up and signs in.
pub(crate) async fn link_sign_in<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Path(nonce): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let pre = read_cookie(&headers, pre_cookie_name(d.tls)).unwrap_or_default();
    if pre.is_empty() || !form.is_ok_and(|Form(f)| ct_eq(pre, &f.csrf)) {
        return sign_in_page(d.tls, Some("the form expired or did not come from this page: try again".into()), StatusCode::FORBIDDEN);
    }
    let Some(bearer) = d.links.take(&nonce) else {
        return sign_in_page(d.tls, Some("this sign-in link was used already or has expired".into()), StatusCode::GONE);
    };
    match exchange(&d, &bearer, "").await {
        Ok(r) => Ok(r),
        Err(e) => sign_in_page(d.tls, Some(e.message), e.status),
    }
}

/// `POST /ui/sign-out`: ends the session on the server and clears the cookie.
pub(crate) async fn sign_out<S: Store + Clone>(
    State(d): State<Dash<S>>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let current = match d.sessions.current(d.app.ledger.store(), &headers, d.tls).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Some(s) = current {
        if !form.is_ok_and(|Form(f)| ct_eq(&s.csrf, &f.csrf)) {
            return UiError::new(StatusCode::FORBIDDEN, "the sign-out form did not come from this session").into_response();
        }
        if let Err(e) = d.sessions.end_key(d.app.ledger.store(), &s.key).await {
            return e.into_response();
        }
        let _ = crate::audit::record(&d.app.ledger, &s.principal, Action::Read, "POST", "/ui/sign-out", "/ui/sign-out", 303, None).await;
    }
    let mut resp = Redirect::to("/ui/sign-in").into_response();
    if let Some(c) = cookie(cookie_name(d.tls), "", Some(0), d.tls) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Checks a posted CSRF token against the viewer's session.
pub(crate) fn check_csrf(expected: &str, got: &str) -> Result<(), UiError> {
    if ct_eq(expected, got) {
        Ok(())
    } else {
        Err(UiError::new(StatusCode::FORBIDDEN, "the form did not come from this session (CSRF check)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_work_once() {
        let l = SignInLinks::default();
        let n = l.issue("evl_x", Duration::from_mins(5)).unwrap();
        assert!(l.live(&n));
        assert_eq!(l.take(&n).as_deref().map(String::as_str), Some("evl_x"));
        assert!(l.take(&n).is_none());
        let n = l.issue("evl_y", Duration::ZERO).unwrap();
        assert!(l.take(&n).is_none());
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let c = cookie("ledger_ui", "v", None, false).unwrap();
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        let c = cookie("__Host-ledger_ui", "v", None, true).unwrap();
        assert!(c.to_str().unwrap().contains("; Secure"));
    }
}
