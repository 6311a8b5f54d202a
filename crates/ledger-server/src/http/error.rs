//! Typed JSON errors with stable codes.
//!
//! Every error response is `{"error": {"code": "...", "message": "..."}}`. Codes are stable
//! (clients and dashboards may match on them); messages are for people and never carry
//! internal detail (SQL, file paths, keys): storage and internal failures are logged on the
//! server and answered with a generic message.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{HeaderValue, RETRY_AFTER};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthError;
use ledger::LedgerError;
use ledger::store::StoreError;

/// The stable error code carried in responses (also put in response extensions for the
/// audit log and metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// An API error: status, stable code, human message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Message for people.
    pub message: String,
    /// Seconds to wait (429/503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// 400 `invalid_argument`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_argument", message)
    }

    /// 404 `not_found` for paths that match no route.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }

    fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the server log has the detail")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let mut r = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(RETRY_AFTER, v);
        }
        r.extensions_mut().insert(ErrorCode(self.code));
        r
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        use StatusCode as S;
        match e {
            AuthError::Malformed => Self::new(S::UNAUTHORIZED, "malformed_token", "the bearer token is not of the form evl_<id>_<secret>"),
            AuthError::Invalid => Self::new(S::UNAUTHORIZED, "invalid_token", "the bearer token is not valid"),
            AuthError::Expired => Self::new(S::UNAUTHORIZED, "expired_token", "the bearer token has expired"),
            AuthError::Revoked => Self::new(S::UNAUTHORIZED, "revoked_token", "the bearer token has been revoked"),
            AuthError::Forbidden { role, action } => {
                Self::new(S::FORBIDDEN, "forbidden", format!("role {role} may not {}", action_words(action)))
            }
            AuthError::WrongTenant => Self::new(S::FORBIDDEN, "wrong_tenant", "the token is not valid for this tenant"),
            other => Self::new(S::BAD_REQUEST, "invalid_argument", other.to_string()),
        }
    }
}

fn action_words(a: crate::auth::Action) -> &'static str {
    use crate::auth::Action as A;
    match a {
        A::Append => "append claims",
        A::Read => "read this tenant's log",
        A::Export => "export evidence bundles",
        A::Retract => "retract or supersede claims",
        A::Erase => "erase records",
        A::ReadAudit => "read the audit log",
        A::Administer => "administer the ledger",
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        use StatusCode as S;
        match e {
            LedgerError::Request(e) => Self::new(S::UNPROCESSABLE_ENTITY, "invalid_claim", e.to_string()),
            LedgerError::NoSuchLeaf(s) => Self::new(S::NOT_FOUND, "no_such_claim", format!("no claim {} in this tenant's log", s.0)),
            LedgerError::NoSuchCheckpoint(s) => Self::new(S::NOT_FOUND, "no_such_checkpoint", format!("no checkpoint {}", s.0)),
            LedgerError::NotSealed(s) => {
                Self::new(S::CONFLICT, "not_sealed", format!("claim {} is not sealed by a checkpoint yet; retry after the next seal", s.0))
            }
            LedgerError::Invalid(m) => Self::invalid(m),
            LedgerError::Store(StoreError::UnknownTenant(t)) => Self::new(S::NOT_FOUND, "unknown_tenant", format!("unknown tenant {t}")),
            LedgerError::Store(StoreError::SealBusy) => {
                let mut e = Self::new(S::SERVICE_UNAVAILABLE, "busy", "another seal of this tenant is under way; retry");
                e.retry_after = Some(1);
                e
            }
            LedgerError::Store(e) => {
                tracing::error!(error = %e, "storage error");
                let mut e = Self::new(S::SERVICE_UNAVAILABLE, "storage_unavailable", "the store is unavailable; retry later");
                e.retry_after = Some(5);
                e
            }
            other => {
                tracing::error!(error = %other, "internal error");
                Self::internal()
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        LedgerError::Store(e).into()
    }
}
