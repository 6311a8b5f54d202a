//! Dashboard sessions, sign-in, one-time sign-in links and sign-out.
//!
//! A session is 32 random bytes handed to the browser once, in a cookie that scripts cannot
//! read (`HttpOnly`) and that no other site's request carries (`SameSite=Strict`); `Secure`
//! with the `__Host-` name prefix when the listener is TLS. The server keeps only its
//! SHA-256, with the principal, a CSRF token, and its idle and absolute deadlines (the
//! absolute one never past the bearer token's expiry). Sign-out deletes it; so does the
//! guard when the token it came from is revoked or has expired. Sessions live in this
//! process's memory: a restart signs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

#[derive(Debug)]
struct Record {
    principal: Principal,
    csrf: String,
    last: Instant,
    not_after: Instant,
}

/// A live session, as the guard sees it.
#[derive(Clone, Debug)]
pub(crate) struct Current {
    pub(crate) key: String,
    pub(crate) principal: Principal,
    pub(crate) csrf: String,
}

/// The server-side session table.
#[derive(Debug)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Record>>,
    idle: Duration,
    absolute: Duration,
}

impl Sessions {
    /// Most sessions held; past it, ended ones are dropped, then the oldest half.
    const MAX: usize = 50_000;

    pub(crate) fn new(idle: Duration, absolute: Duration) -> Self {
        Self { map: Mutex::new(HashMap::new()), idle, absolute }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session for `principal` whose token is valid for `token_left` more; answers
    /// the id for the cookie.
    pub(crate) fn start(&self, principal: Principal, token_left: Duration) -> Result<String, UiError> {
        let id = random_text::<32>()?;
        let csrf = random_text::<24>()?;
        let now = Instant::now();
        let mut m = self.lock();
        if m.len() >= Self::MAX {
            m.retain(|_, r| now < r.not_after && now.duration_since(r.last) < self.idle);
            if m.len() >= Self::MAX {
                let mut by_age: Vec<(Instant, String)> = m.iter().map(|(k, r)| (r.last, k.clone())).collect();
                by_age.sort();
                for (_, k) in by_age.into_iter().take(Self::MAX / 2) {
                    m.remove(&k);
                }
            }
        }
        m.insert(key_of(&id), Record { principal, csrf, last: now, not_after: now + self.absolute.min(token_left) });
        Ok(id)
    }

    /// The request's live session (its idle deadline moved on), or None.
    pub(crate) fn current(&self, headers: &HeaderMap, tls: bool) -> Option<Current> {
        let id = read_cookie(headers, cookie_name(tls))?;
        let key = key_of(id);
        let now = Instant::now();
        let mut m = self.lock();
        let live = m.get(&key).is_some_and(|r| now < r.not_after && now.duration_since(r.last) < self.idle);
        if !live {
            m.remove(&key);
            return None;
        }
        let r = m.get_mut(&key)?;
        r.last = now;
        Some(Current { key, principal: r.principal.clone(), csrf: r.csrf.clone() })
    }

    /// Ends the session with this key.
    pub(crate) fn end_key(&self, key: &str) {
        self.lock().remove(key);
    }

    /// How many sessions are held (ended ones not yet swept included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
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
    match d.sessions.current(&headers, d.tls).and_then(|s| s.principal.tenant) {
        Some(t) => Redirect::to(&format!("/ui/t/{t}/")).into_response(),
        None => Redirect::to("/ui/sign-in").into_response(),
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
    let sid = d.sessions.start(principal.clone(), Duration::from_millis(left_ms))?;
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
    if let Some(s) = d.sessions.current(&headers, d.tls) {
        if !form.is_ok_and(|Form(f)| ct_eq(&s.csrf, &f.csrf)) {
            return UiError::new(StatusCode::FORBIDDEN, "the sign-out form did not come from this session").into_response();
        }
        d.sessions.end_key(&s.key);
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

    fn principal() -> Principal {
        Principal { token_id: "t".into(), tenant: None, role: Role::Auditor, person: None, mfa_subject: None }
    }

    fn with_cookie(id: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("other=1; ledger_ui={id}")).unwrap());
        h
    }

    #[test]
    fn sessions_expire_when_idle_and_end_on_sign_out() {
        let s = Sessions::new(Duration::ZERO, Duration::from_hours(1));
        let id = s.start(principal(), Duration::from_hours(1)).unwrap();
        assert!(s.current(&with_cookie(&id), false).is_none(), "a zero idle limit ends the session at once");
        let s = Sessions::new(Duration::from_hours(1), Duration::from_hours(1));
        let id = s.start(principal(), Duration::from_hours(1)).unwrap();
        let c = s.current(&with_cookie(&id), false).unwrap();
        assert!(s.current(&with_cookie("nope"), false).is_none());
        assert!(s.current(&with_cookie(&id), true).is_none(), "the TLS cookie has another name");
        s.end_key(&c.key);
        assert!(s.current(&with_cookie(&id), false).is_none());
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn the_absolute_limit_is_never_past_the_token() {
        let s = Sessions::new(Duration::from_hours(1), Duration::from_hours(8));
        let id = s.start(principal(), Duration::ZERO).unwrap();
        assert!(s.current(&with_cookie(&id), false).is_none());
    }

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
