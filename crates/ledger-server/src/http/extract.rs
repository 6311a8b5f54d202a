//! Path and query extractors whose every rejection is the typed JSON error, and the range
//! checks of the numbers they carry.
//!
//! axum's own `Path` and `Query` answer a bad segment (`…/claims/abc`, `?from=abc`,
//! invalid UTF-8 after percent-decoding) with a plain-text 400; these wrap them so the
//! answer is `{"error": {"code": "invalid_argument", …}}` like every other error.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{ApiError, ErrorCode};

/// The largest sequence number, tree size or page bound the stores hold (`i64::MAX`).
pub const MAX_STORE_NUMBER: u64 = i64::MAX as u64;

/// Path parameters, refused with a typed 400.
#[derive(Debug)]
pub struct PathArgs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(t)) => Ok(Self(t)),
            Err(e) => Err(ApiError::invalid(format!("path: {}", e.body_text().trim_start_matches("Invalid URL: ")))),
        }
    }
}

/// A query string, refused with a typed 400.
#[derive(Debug)]
pub struct QueryArgs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for QueryArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(t)) => Ok(Self(t)),
            Err(e) => {
                Err(ApiError::invalid(format!("query: {}", e.body_text().trim_start_matches("Failed to deserialize query string: "))))
            }
        }
    }
}

/// `v` when the store can hold it, else 400 `out_of_range` naming `what`.
///
/// # Errors
/// [`ErrorCode::OutOfRange`].
pub fn in_store_range(v: u64, what: &str) -> Result<u64, ApiError> {
    if v > MAX_STORE_NUMBER {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::OutOfRange,
            format!("{what} {v} is above the largest the ledger holds ({MAX_STORE_NUMBER})"),
        ));
    }
    Ok(v)
}
