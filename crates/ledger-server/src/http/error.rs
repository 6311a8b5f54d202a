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

pub use ledger_api::ErrorCode;

/// An API error: status, stable code, human message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (also put in the response's extensions for the audit log and metrics).
    pub code: ErrorCode,
    /// Message for people.
    pub message: String,
    /// Seconds to wait (429/503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// 400 `invalid_argument`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidArgument, message)
    }

    /// 404 `not_found` for paths that match no route.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such endpoint")
    }

    /// 503 `audit_unavailable` (see the `audit` module): retry after a few seconds.
    pub fn audit_unavailable(message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::AuditUnavailable, message);
        e.retry_after = Some(5);
        e
    }

    fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error; the server log has the detail")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ledger_api::ErrorBody { error: ledger_api::ErrorDetail { code: self.code.as_str().to_owned(), message: self.message } };
        let mut r = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(RETRY_AFTER, v);
        }
        r.extensions_mut().insert(self.code);
        r
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        use StatusCode as S;
        match e {
            AuthError::Malformed => {
                Self::new(S::UNAUTHORIZED, ErrorCode::MalformedToken, "the bearer token is not of the form evl_<id>_<secret>")
            }
            AuthError::Invalid => Self::new(S::UNAUTHORIZED, ErrorCode::InvalidToken, "the bearer token is not valid"),
            AuthError::Expired => Self::new(S::UNAUTHORIZED, ErrorCode::ExpiredToken, "the bearer token has expired"),
            AuthError::Revoked => Self::new(S::UNAUTHORIZED, ErrorCode::RevokedToken, "the bearer token has been revoked"),
            AuthError::Forbidden { role, action } => {
                Self::new(S::FORBIDDEN, ErrorCode::Forbidden, format!("role {role} may not {}", action_words(action)))
            }
            AuthError::WrongTenant => Self::new(S::FORBIDDEN, ErrorCode::WrongTenant, "the token is not valid for this tenant"),
            other => Self::new(S::BAD_REQUEST, ErrorCode::InvalidArgument, other.to_string()),
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
            LedgerError::Request(e) => Self::new(S::UNPROCESSABLE_ENTITY, ErrorCode::InvalidClaim, e.to_string()),
            LedgerError::NoSuchLeaf(s) => Self::new(S::NOT_FOUND, ErrorCode::NoSuchClaim, format!("no claim {} in this tenant's log", s.0)),
            LedgerError::NoSuchCheckpoint(s) => Self::new(S::NOT_FOUND, ErrorCode::NoSuchCheckpoint, format!("no checkpoint {}", s.0)),
            LedgerError::NotSealed(s) => Self::new(
                S::CONFLICT,
                ErrorCode::NotSealed,
                format!("claim {} is not sealed by a checkpoint yet; retry after the next seal", s.0),
            ),
            e @ LedgerError::AlreadyErased { .. } => Self::new(S::CONFLICT, ErrorCode::AlreadyErased, e.to_string()),
            e @ LedgerError::NotAnchored { .. } => {
                let mut e = Self::new(S::CONFLICT, ErrorCode::NotAnchored, e.to_string());
                e.retry_after = Some(30);
                e
            }
            LedgerError::Invalid(m) => Self::invalid(m),
            LedgerError::Store(StoreError::UnknownTenant(t)) => {
                Self::new(S::NOT_FOUND, ErrorCode::UnknownTenant, format!("unknown tenant {t}"))
            }
            LedgerError::Store(StoreError::SealBusy) => {
                let mut e = Self::new(S::SERVICE_UNAVAILABLE, ErrorCode::Busy, "another seal of this tenant is under way; retry");
                e.retry_after = Some(1);
                e
            }
            LedgerError::Store(e) => {
                tracing::error!(error = %e, "storage error");
                let mut e = Self::new(S::SERVICE_UNAVAILABLE, ErrorCode::StorageUnavailable, "the store is unavailable; retry later");
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
