//! Dashboard sessions in the catalogue (migration `0004_ui_sessions.sql`), so that every
//! replica of `ledger-server` on one store knows every session: a browser may be sent to any
//! of them, and a sign-out on one ends the session on all.
//!
//! A row holds the SHA-256 of the session's cookie id (never the id), the bearer token it
//! came from (whose record decides the role and tenant on every request, so a revocation
//! ends the session), the MFA subject checked at sign-in, the CSRF token its forms carry, and
//! its deadlines. Idle expiry is `last_used`, moved by each request with one conditional
//! `UPDATE`; the absolute deadline `not_after` never moves.

use std::future::Future;

use evidence_core::UnixMillis;

use super::StoreError;

/// One stored session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 (hex) of the cookie's id.
    pub key: String,
    /// The bearer token it was opened with.
    pub token_id: String,
    /// The `sub` of the MFA ID token checked at sign-in, if one was required.
    pub mfa_subject: Option<String>,
    /// The CSRF token of the session's forms.
    pub csrf: String,
    /// When it was opened.
    pub created_at: UnixMillis,
    /// Its last use (idle expiry counts from here).
    pub last_used: UnixMillis,
    /// It ends at this time whatever its use.
    pub not_after: UnixMillis,
}

/// Session rows of the catalogue.
pub trait SessionStore: Send + Sync {
    /// Stores a new session. Refuses an existing key.
    fn put_session(&self, s: &SessionRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The live session with this key, its `last_used` moved to `now`: None when there is
    /// none, or when it is past `not_after` or unused since before `idle_since` (then it is
    /// deleted).
    fn use_session(
        &self,
        key: &str,
        now: UnixMillis,
        idle_since: UnixMillis,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Ends the session with this key. Answers whether there was one.
    fn end_session(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes every session past `not_after` at `now` or unused since before `idle_since`.
    /// Answers how many.
    fn sweep_sessions(&self, now: UnixMillis, idle_since: UnixMillis) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
