//! MFA for people: the `X-Ledger-Id-Token` check of the `/v1` guard.
//!
//! When the server's `[oidc]` section is set, a request whose bearer token has one of the
//! listed roles (by default every human role) must also carry an OIDC ID token from the
//! identity provider in [`ID_TOKEN_HEADER`]. The ID token is validated by [`crate::oidc`]
//! (signature against the provider's keys, issuer, audience, times, MFA asserted) and its
//! `sub` or e-mail must be the person the bearer token was issued to (`token create
//! --principal`): a stolen bearer token is useless without that person's second factor, and
//! a valid ID token of someone else does not unlock it. Service tokens never need one.

use axum::http::{HeaderValue, StatusCode};

use super::error::{ApiError, ErrorCode};
use crate::auth::{Principal, Role};
use crate::oidc::{IdTokenPolicy, KeySource, OidcError};

/// The request header carrying the ID token.
pub const ID_TOKEN_HEADER: &str = "x-ledger-id-token";

/// Who must present an MFA-asserting ID token, and what it must say.
#[derive(Debug)]
pub struct MfaGate {
    /// Issuer, audience, accepted `acr` values, leeway.
    pub policy: IdTokenPolicy,
    /// The identity provider's keys.
    pub keys: KeySource,
    /// Roles that must present one.
    pub roles: Vec<Role>,
}

impl MfaGate {
    /// Checks the request's ID token when `who`'s role requires one; answers the ID token's
    /// `sub` (None when not required).
    ///
    /// # Errors
    /// `401 mfa_required` (no ID token), `401 mfa_invalid` (refused by validation: the
    /// message names the reason's stable code), `401 mfa_mismatch` (the bearer token is bound
    /// to no person or to another one), `503 mfa_unavailable` (the provider's keys cannot
    /// be fetched).
    pub(crate) async fn check(&self, who: &Principal, header: Option<&HeaderValue>) -> Result<Option<String>, ApiError> {
        if !self.roles.contains(&who.role) {
            return Ok(None);
        }
        let Some(token) = header.and_then(|h| h.to_str().ok()).map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::MfaRequired,
                "this role must also present an ID token from the identity provider, asserting MFA, in the X-Ledger-Id-Token header",
            ));
        };
        let now = ledger::now().0.div_euclid(1000);
        let claims = match self.keys.validate(token, &self.policy, now).await {
            Ok(c) => c,
            Err(e @ OidcError::KeysUnavailable(_)) => {
                tracing::warn!(error = %e, "identity provider keys unavailable");
                let mut err = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::MfaUnavailable,
                    "the identity provider's keys cannot be fetched; retry",
                );
                err.retry_after = Some(5);
                return Err(err);
            }
            Err(e) => {
                tracing::info!(token = %who.token_id, reason = e.code(), "ID token refused");
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::MfaInvalid,
                    format!("the ID token was refused: {}", e.code()),
                ));
            }
        };
        match who.person.as_deref() {
            Some(p) if claims.names(p) => Ok(Some(claims.sub)),
            Some(_) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::MfaMismatch,
                "the ID token is not of the person this bearer token was issued to",
            )),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::MfaMismatch,
                "this bearer token is bound to no person; issue one with `token create --principal`",
            )),
        }
    }
}
