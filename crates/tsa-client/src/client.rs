//! The client: ordered failover over TSAs, retries with backoff, residency policy, quorum.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroUsize;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use crate::endpoint::{Credentials, Jurisdiction, TsaEndpoint};
use crate::error::{AttemptFailure, BoxError, BuildError, FailureReason, TimestampError};

/// Media type of an RFC 3161 request (RFC 3161 §3.4).
pub const QUERY_CONTENT_TYPE: &str = "application/timestamp-query";
/// Media type of an RFC 3161 reply (RFC 3161 §3.4).
pub const REPLY_CONTENT_TYPE: &str = "application/timestamp-reply";
/// Legacy reply media type used by some deployed TSAs (from drafts of RFC 3161); accepted.
pub const LEGACY_REPLY_CONTENT_TYPE: &str = "application/timestamp-response";

/// When and how often to retry one TSA before failing over to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per endpoint, the first included (at least 1).
    pub max_attempts_per_endpoint: u32,
    /// Backoff before the first retry; doubled for each further retry.
    pub initial_backoff: Duration,
    /// Upper bound of the backoff.
    pub max_backoff: Duration,
    /// Longest `Retry-After` (on 429 and 503) the client is willing to wait; a longer one makes
    /// the client give up on that TSA and fail over at once.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts_per_endpoint: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1 = the first retry): exponential backoff with
    /// "equal jitter", i.e. uniformly in `[d/2, d]` where `d = min(initial * 2^(retry-1), max)`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        let full = self.initial_backoff.saturating_mul(1_u32 << exp).min(self.max_backoff);
        let half = full / 2;
        half + random_below(full.saturating_sub(half))
    }
}

/// A uniformly random duration in `[0, bound)`; jitter only, not for secrets. Uses the
/// standard library's per-instance random hasher keys to avoid a dependency on `rand`.
fn random_below(bound: Duration) -> Duration {
    let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(nanos);
    Duration::from_nanos(h.finish() % nanos)
}

/// Which jurisdictions a tenant's time-stamps may come from.
///
/// Allowed TSAs are tried first, in configured order. Only when all of them failed, and only
/// if `fallback_outside` is set, the others are tried (again in configured order); a token
/// obtained that way is returned with `outside_residency = true` so that the caller keeps it
/// and re-anchors the checkpoint with an allowed TSA later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidencyPolicy {
    allowed: Option<BTreeSet<Jurisdiction>>,
    fallback_outside: bool,
}

impl ResidencyPolicy {
    /// Only the given jurisdictions count as inside residency; `fallback_outside` allows the
    /// others as a flagged last resort.
    pub fn allow(allowed: impl IntoIterator<Item = Jurisdiction>, fallback_outside: bool) -> Self {
        Self { allowed: Some(allowed.into_iter().collect()), fallback_outside }
    }

    /// Every jurisdiction is allowed; nothing is ever flagged.
    pub fn unrestricted() -> Self {
        Self { allowed: None, fallback_outside: false }
    }

    /// Whether a TSA in `jurisdiction` is inside residency.
    pub fn allows(&self, jurisdiction: &Jurisdiction) -> bool {
        self.allowed.as_ref().is_none_or(|set| set.contains(jurisdiction))
    }

    /// Whether TSAs outside residency may be used when all allowed ones fail.
    pub fn fallback_outside(&self) -> bool {
        self.fallback_outside
    }

    fn allowed_list(&self) -> Vec<Jurisdiction> {
        self.allowed.as_ref().map(|s| s.iter().cloned().collect()).unwrap_or_default()
    }
}

/// Client-wide settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Time allowed to establish a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Retries per endpoint.
    pub retry: RetryPolicy,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// PEM bundles of extra trust anchors for the TSAs' TLS server certificates (private
    /// TSAs), added to the system trust store. Not used for token verification.
    pub extra_root_certificates_pem: Vec<Vec<u8>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            user_agent: concat!("evidence-ledger-tsa-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            extra_root_certificates_pem: Vec::new(),
        }
    }
}

/// An accepted time-stamp reply: which TSA answered, after how many attempts, the raw reply
/// bytes as received (store these: they are what the verifier checks) and what the caller's
/// validation returned.
#[derive(Debug)]
#[non_exhaustive]
pub struct Stamped<T> {
    /// The answering endpoint's name.
    pub endpoint: String,
    /// The answering endpoint's jurisdiction.
    pub jurisdiction: Jurisdiction,
    /// The answering endpoint's URL.
    pub url: Url,
    /// Attempts made against this endpoint, the successful one included.
    pub attempts_on_endpoint: u32,
    /// HTTP attempts made in this call up to and including the successful one, over all endpoints.
    pub attempts_total: u32,
    /// The raw `TimeStampResp` bytes exactly as received.
    pub response: Vec<u8>,
    /// What the validation callback returned for `response`.
    pub validated: T,
    /// The TSA is outside the tenant's allowed jurisdictions: keep the token, re-anchor later.
    pub outside_residency: bool,
    /// Failed attempts in this call before this success (after the previous success, for a quorum).
    pub failures: Vec<AttemptFailure>,
}

/// The outcome of [`TsaClient::timestamp_quorum`]: tokens from distinct TSAs.
#[derive(Debug)]
#[non_exhaustive]
pub struct Quorum<T> {
    /// Accepted tokens, each from a different endpoint, in the order obtained.
    pub stamps: Vec<Stamped<T>>,
    /// How many were asked for.
    pub wanted: usize,
    /// Failed attempts after the last success (the earlier ones are in each stamp's `failures`).
    pub trailing_failures: Vec<AttemptFailure>,
}

impl<T> Quorum<T> {
    /// Whether as many tokens as asked for were obtained.
    pub fn is_complete(&self) -> bool {
        self.stamps.len() >= self.wanted
    }
}

/// An RFC 3161 client over HTTP(S): POSTs caller-built `TimeStampReq` DER bytes to an ordered
/// list of TSAs and returns the first reply the caller's validation accepts.
///
/// Cheap to share by reference; holds a connection pool.
#[derive(Debug)]
pub struct TsaClient {
    http: reqwest::Client,
    endpoints: Vec<TsaEndpoint>,
    retry: RetryPolicy,
}

enum Attempt {
    Reply(Vec<u8>),
    Failed { reason: FailureReason, retry_after: Option<Duration> },
}

impl TsaClient {
    /// A client for `endpoints`, tried in this order (subject to the residency policy).
    ///
    /// TLS is configured explicitly (`crate::client_tls`: ring, the platform's roots plus the
    /// extra roots); no process-wide crypto provider is installed.
    /// Redirects are not followed (a TSA URL must be exact; following a redirect with a POST
    /// body and credentials is not wanted): a 3xx is a permanent [`FailureReason::HttpStatus`].
    ///
    /// # Errors
    /// [`BuildError`] for an empty list, duplicate names, zero attempts, unparsable extra root
    /// certificates, or when the HTTP client cannot be built.
    pub fn new(endpoints: Vec<TsaEndpoint>, config: ClientConfig) -> Result<Self, BuildError> {
        if endpoints.is_empty() {
            return Err(BuildError::NoEndpoints);
        }
        if config.retry.max_attempts_per_endpoint == 0 {
            return Err(BuildError::ZeroAttempts);
        }
        let mut names = BTreeSet::new();
        for e in &endpoints {
            if !names.insert(e.name()) {
                return Err(BuildError::DuplicateName(e.name().to_owned()));
            }
        }
        let tls = crate::tls::client_config(&config.extra_root_certificates_pem)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(config.user_agent)
            .build()
            .map_err(BuildError::Http)?;
        Ok(Self { http, endpoints, retry: config.retry })
    }

    /// The configured endpoints, in configured order.
    pub fn endpoints(&self) -> &[TsaEndpoint] {
        &self.endpoints
    }

    /// The endpoints in the order they would be tried under `residency`, each with whether it is
    /// outside residency.
    pub fn plan(&self, residency: &ResidencyPolicy) -> Vec<(&TsaEndpoint, bool)> {
        let inside = self.endpoints.iter().filter(|e| residency.allows(e.jurisdiction())).map(|e| (e, false));
        let outside =
            self.endpoints.iter().filter(|e| residency.fallback_outside() && !residency.allows(e.jurisdiction())).map(|e| (e, true));
        inside.chain(outside).collect()
    }

    /// Obtains one accepted time-stamp reply for `request_der` (a DER `TimeStampReq`, built
    /// and later verified by evidence-core).
    ///
    /// Tries the endpoints in [`TsaClient::plan`] order. Against each, transient failures
    /// (connect, timeout, broken transport, HTTP 408/429/5xx) are retried per the
    /// [`RetryPolicy`]; anything else moves on to the next endpoint at once. A 200 reply with
    /// the right content type within the size limit is passed to `validate`; the first reply it
    /// accepts is returned. A rejection by `validate` (garbage, another nonce, a rejection
    /// status, an untrusted signer) is recorded as [`FailureReason::Rejected`] and the next TSA
    /// is tried; the same TSA is not asked again.
    ///
    /// `validate` runs synchronously on the calling task; keep it CPU-bound and short.
    ///
    /// # Errors
    /// [`TimestampError::NoEligibleEndpoint`] when the policy leaves nothing to try;
    /// [`TimestampError::AllFailed`] with every attempt's failure otherwise.
    pub async fn timestamp<T, E, F>(
        &self,
        request_der: &[u8],
        residency: &ResidencyPolicy,
        validate: F,
    ) -> Result<Stamped<T>, TimestampError>
    where
        F: FnMut(&TsaEndpoint, &[u8]) -> Result<T, E>,
        E: Into<BoxError>,
    {
        let plan = self.plan(residency);
        if plan.is_empty() {
            return Err(TimestampError::NoEligibleEndpoint { allowed: residency.allowed_list() });
        }
        let (mut stamps, trailing) = self.collect(request_der, &plan, 1, validate).await;
        match stamps.pop() {
            Some(stamp) => Ok(stamp),
            None => Err(TimestampError::AllFailed { attempts: trailing }),
        }
    }

    /// Obtains accepted replies from `wanted` distinct TSAs (for example two, so that the
    /// compromise or loss of one TSA key does not leave a checkpoint without a valid anchor).
    ///
    /// Same order, retry and validation rules as [`TsaClient::timestamp`], continuing down the
    /// plan after each success until `wanted` endpoints have answered. Each endpoint is used at
    /// most once. Distinct endpoints are distinct by name: configure different operators (and
    /// keys), not two URLs of the same TSA. A partial result (at least one token, fewer than
    /// `wanted`) is returned as `Ok` with [`Quorum::is_complete`] false: a token is kept even
    /// when its twin could not be obtained.
    ///
    /// # Errors
    /// [`TimestampError::NoEligibleEndpoint`], [`TimestampError::QuorumImpossible`] when fewer
    /// than `wanted` endpoints are eligible (nothing is sent), [`TimestampError::AllFailed`]
    /// when no token at all was obtained.
    pub async fn timestamp_quorum<T, E, F>(
        &self,
        request_der: &[u8],
        residency: &ResidencyPolicy,
        wanted: NonZeroUsize,
        validate: F,
    ) -> Result<Quorum<T>, TimestampError>
    where
        F: FnMut(&TsaEndpoint, &[u8]) -> Result<T, E>,
        E: Into<BoxError>,
    {
        let plan = self.plan(residency);
        if plan.is_empty() {
            return Err(TimestampError::NoEligibleEndpoint { allowed: residency.allowed_list() });
        }
        if plan.len() < wanted.get() {
            return Err(TimestampError::QuorumImpossible { wanted: wanted.get(), eligible: plan.len() });
        }
        let (stamps, trailing) = self.collect(request_der, &plan, wanted.get(), validate).await;
        if stamps.is_empty() {
            return Err(TimestampError::AllFailed { attempts: trailing });
        }
        Ok(Quorum { stamps, wanted: wanted.get(), trailing_failures: trailing })
    }

    /// Walks the plan until `wanted` replies are accepted. Returns the accepted stamps and the
    /// failures after the last success.
    async fn collect<T, E, F>(
        &self,
        request_der: &[u8],
        plan: &[(&TsaEndpoint, bool)],
        wanted: usize,
        mut validate: F,
    ) -> (Vec<Stamped<T>>, Vec<AttemptFailure>)
    where
        F: FnMut(&TsaEndpoint, &[u8]) -> Result<T, E>,
        E: Into<BoxError>,
    {
        let mut stamps = Vec::new();
        let mut failures = Vec::new();
        let mut total: u32 = 0;
        'endpoints: for &(endpoint, outside) in plan {
            if stamps.len() >= wanted {
                break;
            }
            if outside {
                tracing::warn!(
                    endpoint = endpoint.name(),
                    jurisdiction = %endpoint.jurisdiction(),
                    "falling back to a TSA outside the tenant's residency"
                );
            }
            let mut attempt: u32 = 0;
            loop {
                attempt += 1;
                total += 1;
                let fail = |reason: FailureReason| AttemptFailure {
                    endpoint: endpoint.name().to_owned(),
                    jurisdiction: endpoint.jurisdiction().clone(),
                    attempt,
                    outside_residency: outside,
                    reason,
                };
                let (reason, retry_after) = match self.exchange(endpoint, request_der, attempt).await {
                    Attempt::Reply(bytes) => match validate(endpoint, &bytes) {
                        Ok(validated) => {
                            tracing::info!(
                                endpoint = endpoint.name(),
                                url = %endpoint.log_url(),
                                attempt,
                                attempts_total = total,
                                outside_residency = outside,
                                bytes = bytes.len(),
                                "time-stamp reply accepted"
                            );
                            stamps.push(Stamped {
                                endpoint: endpoint.name().to_owned(),
                                jurisdiction: endpoint.jurisdiction().clone(),
                                url: endpoint.url().clone(),
                                attempts_on_endpoint: attempt,
                                attempts_total: total,
                                response: bytes,
                                validated,
                                outside_residency: outside,
                                failures: std::mem::take(&mut failures),
                            });
                            continue 'endpoints;
                        }
                        Err(e) => (FailureReason::Rejected(e.into()), None),
                    },
                    Attempt::Failed { reason, retry_after } => (reason, retry_after),
                };
                let transient = reason.is_unavailable();
                tracing::warn!(
                    endpoint = endpoint.name(),
                    url = %endpoint.log_url(),
                    attempt,
                    transient,
                    error = %error_chain(&reason),
                    "time-stamp attempt failed"
                );
                failures.push(fail(reason));
                if !transient || attempt >= self.retry.max_attempts_per_endpoint {
                    continue 'endpoints;
                }
                let delay = match retry_after {
                    Some(d) if d > self.retry.max_retry_after => {
                        tracing::warn!(
                            endpoint = endpoint.name(),
                            retry_after_secs = d.as_secs(),
                            "Retry-After beyond the cap; failing over"
                        );
                        continue 'endpoints;
                    }
                    Some(d) => d,
                    None => self.retry.backoff(attempt),
                };
                tracing::debug!(
                    endpoint = endpoint.name(),
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "backing off before retry"
                );
                tokio::time::sleep(delay).await;
            }
        }
        (stamps, failures)
    }

    /// One HTTP exchange, bounded by the endpoint's timeout.
    async fn exchange(&self, endpoint: &TsaEndpoint, request_der: &[u8], attempt: u32) -> Attempt {
        tracing::debug!(
            endpoint = endpoint.name(),
            url = %endpoint.log_url(),
            attempt,
            request_bytes = request_der.len(),
            "sending time-stamp request"
        );
        let timeout = endpoint.timeout();
        match tokio::time::timeout(timeout, self.exchange_inner(endpoint, request_der)).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => Attempt::Failed { reason: FailureReason::Timeout(timeout), retry_after: None },
        }
    }

    async fn exchange_inner(&self, endpoint: &TsaEndpoint, request_der: &[u8]) -> Attempt {
        let failed = |reason| Attempt::Failed { reason, retry_after: None };
        let mut request = self
            .http
            .post(endpoint.url().clone())
            .header(CONTENT_TYPE, QUERY_CONTENT_TYPE)
            .header(ACCEPT, REPLY_CONTENT_TYPE)
            .timeout(endpoint.timeout())
            .body(request_der.to_vec());
        request = match endpoint.credentials() {
            None => request,
            Some(Credentials::Basic { user, password }) => request.basic_auth(user, Some(password.expose())),
            Some(Credentials::Bearer(token)) => request.bearer_auth(token.expose()),
        };
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return failed(classify(e, endpoint.timeout())),
        };
        let status = response.status();
        if status != StatusCode::OK {
            return Attempt::Failed {
                reason: FailureReason::HttpStatus(status.as_u16()),
                retry_after: retry_after(status, response.headers()),
            };
        }
        if let Err(seen) = check_content_type(response.headers()) {
            return failed(FailureReason::WrongContentType(seen));
        }
        let limit = endpoint.max_response_bytes();
        if let Some(announced) =
            response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())
            && announced > u64::try_from(limit).unwrap_or(u64::MAX)
        {
            return failed(FailureReason::TooLarge { limit });
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len().saturating_add(chunk.len()) > limit {
                        return failed(FailureReason::TooLarge { limit });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Attempt::Reply(body),
                Err(e) => return failed(classify(e, endpoint.timeout())),
            }
        }
    }
}

/// Maps a reqwest error to a reason, dropping the URL from it (URLs are logged separately,
/// redacted).
fn classify(error: reqwest::Error, timeout: Duration) -> FailureReason {
    let error = error.without_url();
    if error.is_timeout() {
        FailureReason::Timeout(timeout)
    } else if error.is_connect() {
        FailureReason::Connect(error)
    } else {
        FailureReason::Transport(error)
    }
}

/// `Retry-After` in delta-seconds form on 429 and 503. The HTTP-date form is not parsed (the
/// normal backoff applies instead).
fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// Checks the reply's media type, ignoring parameters and case. Accepts
/// `application/timestamp-reply` and the legacy `application/timestamp-response`.
/// Returns the value seen (lossy, truncated) when it does not match.
fn check_content_type(headers: &HeaderMap) -> Result<(), String> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(String::new());
    };
    let shown: String = String::from_utf8_lossy(value.as_bytes()).chars().take(100).collect();
    let essence = shown.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(REPLY_CONTENT_TYPE) || essence.eq_ignore_ascii_case(LEGACY_REPLY_CONTENT_TYPE) {
        Ok(())
    } else {
        Err(shown)
    }
}

/// An error and its sources, joined with ": " (for logs and messages that must say why an
/// HTTP exchange failed: reqwest's own message alone rarely does). At most eight sources.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    for _ in 0..8 {
        let Some(s) = source else { break };
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests;
