//! The one error shape and its stable codes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A stable error code: clients and dashboards may match on it; the message beside it
        /// is for people.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as sent.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// The code named `name`, if it is one.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    /// 401: no bearer token.
    MissingToken = "missing_token",
    /// 401: not of the form `evl_<id>_<secret>`.
    MalformedToken = "malformed_token",
    /// 401: no such token, or a wrong secret.
    InvalidToken = "invalid_token",
    /// 401: past its expiry.
    ExpiredToken = "expired_token",
    /// 401: revoked.
    RevokedToken = "revoked_token",
    /// 401: a person's token without the MFA ID token the server requires.
    MfaRequired = "mfa_required",
    /// 401: the MFA ID token is not valid (the message ends with the reason's code).
    MfaInvalid = "mfa_invalid",
    /// 401: the MFA ID token names another person than the bearer token's.
    MfaMismatch = "mfa_mismatch",
    /// 503: the identity provider's keys cannot be fetched.
    MfaUnavailable = "mfa_unavailable",
    /// 403: the role may not do this.
    Forbidden = "forbidden",
    /// 403: the token is for another tenant.
    WrongTenant = "wrong_tenant",
    /// 429: over the token's rate; see `Retry-After`.
    RateLimited = "rate_limited",
    /// 404: no such tenant.
    UnknownTenant = "unknown_tenant",
    /// 404: no claim with that sequence number.
    NoSuchClaim = "no_such_claim",
    /// 404: no such checkpoint.
    NoSuchCheckpoint = "no_such_checkpoint",
    /// 409: the claim is not sealed by a checkpoint yet.
    NotSealed = "not_sealed",
    /// 409: the claim's record is already erased (no second erasure claim is written).
    AlreadyErased = "already_erased",
    /// 409: no checkpoint covering the claim is anchored on every rail the tenant requires yet
    /// (the message names the newest covering checkpoint and the rails it waits for); retry
    /// later (`Retry-After`).
    NotAnchored = "not_anchored",
    /// 422: the claim is refused (kind, body, links, idempotency key).
    InvalidClaim = "invalid_claim",
    /// 400: a path, query or body argument is refused.
    InvalidArgument = "invalid_argument",
    /// 400: the body is not JSON of the expected shape.
    MalformedJson = "malformed_json",
    /// 400: an object in the body has the same member name twice, at any depth (I-JSON;
    /// the server never silently keeps one of them).
    DuplicateMember = "duplicate_member",
    /// 400: the body holds an integer that no IEEE-754 double holds exactly, of any size
    /// (I-JSON / RFC 8785; send such values as strings), or a number that is not finite.
    UnsafeNumber = "unsafe_number",
    /// 400: a number in the path, query or body is above what the store can hold
    /// (sequence numbers, tree sizes and page bounds are below 2^63).
    OutOfRange = "out_of_range",
    /// 403: the claim kind is written by the ledger itself (`audit_event`, `retraction`,
    /// `supersession`, `erasure`, `reanchor`, `incident`): use the endpoint that writes it.
    ReservedKind = "reserved_kind",
    /// 400: the body nests deeper than the server allows.
    JsonTooDeep = "json_too_deep",
    /// 400: the body could not be read.
    BadBody = "bad_body",
    /// 413: the body is larger than the server allows.
    BodyTooLarge = "body_too_large",
    /// 415: not `application/json`.
    UnsupportedMediaType = "unsupported_media_type",
    /// 404: no such endpoint.
    NotFound = "not_found",
    /// 405: the endpoint does not take this method.
    MethodNotAllowed = "method_not_allowed",
    /// 503: the request took longer than the server allows.
    Timeout = "timeout",
    /// 503: another operation of the tenant holds what this one needs; retry.
    Busy = "busy",
    /// 503: the store is unavailable; retry later.
    StorageUnavailable = "storage_unavailable",
    /// 503: the request's audit entry could not be written, so the request fails (before the
    /// operation when the audit log cannot be opened; after it, when the entry cannot be
    /// appended: the operation may have taken effect, retry with the same idempotency key).
    AuditUnavailable = "audit_unavailable",
    /// 500: a failure whose detail is only in the server's log.
    Internal = "internal",
    /// 503: the server is shutting down.
    Draining = "draining",
    /// 400: the report period is not two `YYYY-MM-DD` dates with `from <= to`.
    InvalidPeriod = "invalid_period",
    /// 409: nothing to cut a report at: no checkpoint of the tenant has its RFC 3161 anchor yet.
    NothingAnchored = "nothing_anchored",
    /// 413: more findings in the period than one report holds; ask for a shorter period.
    ReportTooLarge = "report_too_large",
    /// 503: this server has no report-signing identity configured.
    ReportsNotConfigured = "reports_not_configured",
    /// 502: no TSA answered the report signature's time-stamp request with a token that verifies.
    TimestampUnavailable = "timestamp_unavailable",
    /// 503: this server has no `[uploads]` section.
    UploadsNotConfigured = "uploads_not_configured",
    /// 404: no such upload in this tenant.
    NoSuchUpload = "no_such_upload",
    /// 403: the upload URL's signature does not verify (altered, another tenant's, or signed
    /// by a retired key).
    BadUploadUrl = "bad_upload_url",
    /// 410: the upload URL has expired.
    UploadExpired = "upload_expired",
    /// 409: the upload URL was already used (one `PUT` per URL).
    UploadUsed = "upload_used",
    /// 415/422: the body is refused as `pipeline ingest` refuses it (not CSV, binary).
    UploadRefused = "upload_refused",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// The stable code (a client should treat a code it does not know as a generic failure).
    pub code: String,
    /// For people; never internal detail.
    pub message: String,
}
