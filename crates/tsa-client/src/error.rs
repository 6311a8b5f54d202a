//! Errors: every attempt's failure is kept, typed, so that "the TSA is down" stays
//! distinguishable from "the TSA answered something we could not accept".

use std::error::Error as StdError;
use std::time::Duration;

use crate::endpoint::Jurisdiction;

/// A boxed error from the caller's validation callback.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why one attempt against one TSA failed.
///
/// The first group means the TSA could not be reached or did not answer in time (transient:
/// retried with backoff); [`FailureReason::HttpStatus`] is transient for 408, 429 and 5xx only;
/// the rest means the TSA answered with something unacceptable (permanent for this request:
/// not retried against the same TSA, the client moves on to the next one).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FailureReason {
    /// No connection could be made (refused, DNS failure, TLS handshake failure).
    #[error("TSA unavailable: could not connect")]
    Connect(#[source] reqwest::Error),
    /// The attempt did not finish within the endpoint's timeout (connect, send or reading the reply).
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection broke while sending the request or reading the reply.
    #[error("transport error while exchanging the request or reply")]
    Transport(#[source] reqwest::Error),
    /// The TSA answered with a status other than 200.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The TSA answered 200 with a content type other than `application/timestamp-reply`
    /// (or its legacy alias `application/timestamp-response`); the value seen, or empty if absent.
    #[error("wrong content type {0:?} (expected application/timestamp-reply)")]
    WrongContentType(String),
    /// The reply body exceeded the endpoint's limit (announced by `Content-Length` or seen while
    /// streaming); reading stopped at the limit.
    #[error("reply larger than the limit of {limit} bytes")]
    TooLarge {
        /// The endpoint's `max_response_bytes`.
        limit: usize,
    },
    /// The TSA answered with a well-formed HTTP reply whose body the caller's validation
    /// rejected (garbage, a reply to another nonce, a rejection status, an untrusted signer...).
    #[error("reply rejected by validation: {0}")]
    Rejected(#[source] BoxError),
}

impl FailureReason {
    /// Whether the TSA could not be reached or did not answer in time (connect failure, timeout,
    /// broken transport, HTTP 408/429/5xx), as opposed to answering something unacceptable.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Timeout(_) | Self::Transport(_) => true,
            Self::HttpStatus(code) => is_transient_status(*code),
            Self::WrongContentType(_) | Self::TooLarge { .. } | Self::Rejected(_) => false,
        }
    }

    /// Whether the TSA answered and the answer was refused (wrong status other than
    /// 408/429/5xx, wrong content type, too large, rejected by validation).
    pub fn is_bad_answer(&self) -> bool {
        !self.is_unavailable()
    }
}

pub(crate) fn is_transient_status(code: u16) -> bool {
    code == 408 || code == 429 || (500..=599).contains(&code)
}

/// One failed attempt: which TSA, which try, and why.
#[derive(Debug, thiserror::Error)]
#[error("TSA {endpoint:?} attempt {attempt}: {reason}")]
pub struct AttemptFailure {
    /// The endpoint's name.
    pub endpoint: String,
    /// The endpoint's jurisdiction.
    pub jurisdiction: Jurisdiction,
    /// The 1-based attempt number against this endpoint.
    pub attempt: u32,
    /// Whether this endpoint is outside the tenant's allowed jurisdictions.
    pub outside_residency: bool,
    /// What went wrong.
    #[source]
    pub reason: FailureReason,
}

/// Why no (or not enough) time-stamp tokens were obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The residency policy leaves no endpoint to try (no endpoint in an allowed jurisdiction
    /// and fallback outside the allow-list is off), or the client has no endpoints.
    #[error("no TSA endpoint may be used under the residency policy (allowed: {allowed:?})")]
    NoEligibleEndpoint {
        /// The allowed jurisdictions.
        allowed: Vec<Jurisdiction>,
    },
    /// Every eligible TSA was tried and none produced an accepted token. `attempts` lists every
    /// attempt's failure in order.
    #[error("all {} attempts on {} TSA(s) failed{}", attempts.len(), tried_endpoints(attempts), summary(attempts))]
    AllFailed {
        /// Every failed attempt, in the order made.
        attempts: Vec<AttemptFailure>,
    },
    /// The request asked for more distinct TSAs than the policy allows to try.
    #[error("asked for {wanted} tokens from distinct TSAs but only {eligible} TSA(s) are eligible")]
    QuorumImpossible {
        /// Tokens asked for.
        wanted: usize,
        /// Eligible endpoints.
        eligible: usize,
    },
}

impl TimestampError {
    /// Every recorded attempt failure (empty for configuration errors).
    pub fn attempts(&self) -> &[AttemptFailure] {
        match self {
            Self::AllFailed { attempts } => attempts,
            Self::NoEligibleEndpoint { .. } | Self::QuorumImpossible { .. } => &[],
        }
    }

    /// Whether every failure was an unavailability (connect, timeout, 408/429/5xx): no TSA
    /// answered anything we refused. `false` when at least one TSA answered garbage.
    pub fn all_unavailable(&self) -> bool {
        let attempts = self.attempts();
        !attempts.is_empty() && attempts.iter().all(|a| a.reason.is_unavailable())
    }
}

fn tried_endpoints(attempts: &[AttemptFailure]) -> usize {
    let mut names: Vec<&str> = attempts.iter().map(|a| a.endpoint.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.len()
}

fn summary(attempts: &[AttemptFailure]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for a in attempts {
        let _ = write!(out, "; {a}");
    }
    out
}

/// Why a [`crate::TsaClient`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The endpoint list is empty.
    #[error("no TSA endpoints configured")]
    NoEndpoints,
    /// Two endpoints share a name (names identify TSAs in results, errors and quorums).
    #[error("duplicate TSA endpoint name {0:?}")]
    DuplicateName(String),
    /// The retry policy allows zero attempts.
    #[error("retry policy must allow at least one attempt per endpoint")]
    ZeroAttempts,
    /// The TLS configuration could not be built (e.g. an extra root bundle is not PEM).
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsConfigError),
    /// The HTTP client (reqwest with rustls) could not be built.
    #[error("could not build the HTTP client")]
    Http(#[source] reqwest::Error),
}
