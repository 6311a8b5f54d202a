//! # ledger-client
//!
//! A typed HTTP client of the evidence ledger's `/v1` API. It sends and reads the types of
//! `ledger-api` (the same ones the server takes and answers, and whose schemas are in the
//! server's `/openapi.json`), answers typed errors ([`ClientError`]: the server's stable
//! error code, the HTTP failure, or an undecodable reply), and is built with an explicit
//! rustls configuration (ring, the platform's roots): it never installs a process-wide
//! crypto provider.
//!
//! [`TenantClient`] implements [`evidence_core::ClaimSink`] (appends go through
//! `POST …/claims/batch`, one transaction per call) and [`evidence_core::Retractor`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), ledger_client::ClientError> {
//! use evidence_core::{AppendRequest, Claim, ClaimKind, ClaimSink as _, TenantId};
//! let client = ledger_client::LedgerClient::new("http://127.0.0.1:8080", "evl_…")?;
//! let demo = client.tenant(TenantId::new("demo").expect("a valid id"));
//! let claim = Claim::new(ClaimKind::LeakageFinding, serde_json::json!({"deal": "D-1", "staff": "FI-07"})).expect("an object");
//! let receipt = demo.append(AppendRequest::new(claim)).await?;
//! println!("leaf {}", receipt.seq);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use evidence_core::{AppendReceipt, AppendRequest, Bundle, ClaimSink, Retractor, Seq, TenantId};
use ledger_api::{
    AppendBatch, AppendClaim, BundleRequest, CheckpointChain, CheckpointList, ClaimStatus, ErrorBody, ErrorCode, Page, Reason, ReceiptList,
    routes,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The TLS configuration could not be built (no usable platform roots).
    #[error("TLS configuration: {0}")]
    Tls(#[source] rustls::Error),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// The server could not be reached, or the exchange broke off.
    #[error("{method} {url}: {source}")]
    Http {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },
    /// The server refused, with its stable error code and message.
    #[error("{method} {url}: {status} {code}: {message}")]
    Api {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// The stable code as sent (see [`ClientError::code`]).
        code: String,
        /// The server's message (for people; never internal detail).
        message: String,
    },
    /// The server answered something that is not the documented reply.
    #[error("{method} {url}: {status}: the reply is not the documented JSON: {source}")]
    Decode {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// Why it did not decode.
        #[source]
        source: serde_json::Error,
    },
    /// The server answered fewer receipts than claims sent.
    #[error("the server returned {got} receipts for {sent} claims")]
    ReceiptCount {
        /// Claims sent.
        sent: usize,
        /// Receipts returned.
        got: usize,
    },
}

impl ClientError {
    /// The server's stable error code, when the server refused with a code this version knows.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } => ErrorCode::from_name(code),
            _ => None,
        }
    }
}

/// A client of one ledger server, with one bearer token.
#[derive(Clone, Debug)]
pub struct LedgerClient {
    http: reqwest::Client,
    base: Arc<str>,
    token: Arc<str>,
}

impl LedgerClient {
    /// A client of the server at `base` (e.g. `https://ledger.example.ca`), authenticating with
    /// `token` (`evl_<id>_<secret>`); HTTPS servers are verified against the platform's roots,
    /// and each call times out after a minute.
    ///
    /// # Errors
    /// [`ClientError::Tls`] or [`ClientError::Build`].
    pub fn new(base: &str, token: &str) -> Result<Self, ClientError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(rustls_platform_verifier::BuilderVerifierExt::with_platform_verifier)
            .map_err(ClientError::Tls)?
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_mins(1))
            .build()
            .map_err(ClientError::Build)?;
        Ok(Self::with_http(http, base, token))
    }

    /// As [`LedgerClient::new`] over an HTTP client of the caller's (its own TLS roots, proxy,
    /// timeouts).
    pub fn with_http(http: reqwest::Client, base: &str, token: &str) -> Self {
        Self { http, base: base.trim_end_matches('/').into(), token: token.into() }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A client for one tenant's endpoints.
    pub fn tenant(&self, tenant: TenantId) -> TenantClient {
        TenantClient { client: self.clone(), tenant }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, Option<u64>)],
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Vec<u8>), ClientError> {
        let mut url = format!("{}{path}", self.base);
        let params: Vec<String> = query.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={v}"))).collect();
        if !params.is_empty() {
            url = format!("{url}?{}", params.join("&"));
        }
        let mut req = self.http.request(method.clone(), &url).bearer_auth(&*self.token);
        if let Some(b) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b);
        }
        let fail = |source| ClientError::Http { method: method.clone(), url: url.clone(), source };
        let resp = req.send().await.map_err(fail)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(fail)?.to_vec();
        if status.is_success() {
            return Ok((status, bytes));
        }
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(e) => ClientError::Api { method, url, status, code: e.error.code, message: e.error.message },
            Err(source) => ClientError::Decode { method, url, status, source },
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, Option<u64>)],
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let body = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let (status, bytes) = self.send(method.clone(), path, query, body).await?;
        serde_json::from_slice(&bytes).map_err(|source| ClientError::Decode { method, url: format!("{}{path}", self.base), status, source })
    }

    async fn text(&self, path: &str) -> Result<String, ClientError> {
        let (status, bytes) = self.send(Method::GET, path, &[], None).await?;
        String::from_utf8(bytes).map_err(|e| ClientError::Decode {
            method: Method::GET,
            url: format!("{}{path}", self.base),
            status,
            source: serde::de::Error::custom(e),
        })
    }
}

/// One tenant's endpoints: a [`ClaimSink`] and a [`Retractor`] over HTTP.
#[derive(Clone, Debug)]
pub struct TenantClient {
    client: LedgerClient,
    tenant: TenantId,
}

impl TenantClient {
    fn path(&self, template: &str) -> String {
        routes::fill(template, &[("tenant", self.tenant.as_str())])
    }

    fn claim_path(&self, template: &str, seq: Seq) -> String {
        routes::fill(template, &[("tenant", self.tenant.as_str()), ("seq", &seq.0.to_string())])
    }

    /// Appends claims in one transaction (`POST …/claims/batch`).
    ///
    /// # Errors
    /// [`ClientError`]; nothing is stored when the server refuses any claim.
    pub async fn append_many(&self, reqs: Vec<AppendRequest>) -> Result<Vec<AppendReceipt>, ClientError> {
        let sent = reqs.len();
        let claims = reqs
            .into_iter()
            .map(|r| AppendClaim {
                kind: r.claim.kind.name().to_owned(),
                body: r.claim.body,
                links: r.links,
                idempotency_key: r.idempotency_key,
            })
            .collect();
        let out: ReceiptList = self.client.json(Method::POST, &self.path(routes::CLAIMS_BATCH), &[], Some(&AppendBatch { claims })).await?;
        if out.receipts.len() == sent { Ok(out.receipts) } else { Err(ClientError::ReceiptCount { sent, got: out.receipts.len() }) }
    }

    /// Appends a `retraction` of claim `seq` (`POST …/claims/{seq}/retract`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn retract(&self, seq: Seq, reason: &str) -> Result<AppendReceipt, ClientError> {
        let body = Reason { reason: reason.to_owned() };
        self.client.json(Method::POST, &self.claim_path(routes::CLAIM_RETRACT, seq), &[], Some(&body)).await
    }

    /// Erases claim `seq`'s record (`POST …/claims/{seq}/erase`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn erase(&self, seq: Seq, reason: &str) -> Result<AppendReceipt, ClientError> {
        let body = Reason { reason: reason.to_owned() };
        self.client.json(Method::POST, &self.claim_path(routes::CLAIM_ERASE, seq), &[], Some(&body)).await
    }

    /// A claim's receipt and whether a checkpoint seals it.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn claim(&self, seq: Seq) -> Result<ClaimStatus, ClientError> {
        self.client.json(Method::GET, &self.claim_path(routes::CLAIM, seq), &[], None::<&()>).await
    }

    /// The evidence bundle of one claim.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn bundle(&self, seq: Seq) -> Result<Bundle, ClientError> {
        self.client.json(Method::GET, &self.claim_path(routes::CLAIM_BUNDLE, seq), &[], None::<&()>).await
    }

    /// One evidence bundle for several claims.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn bundles(&self, seqs: &[Seq]) -> Result<Bundle, ClientError> {
        let body = BundleRequest { seqs: seqs.iter().map(|s| s.0).collect() };
        self.client.json(Method::POST, &self.path(routes::BUNDLES), &[], Some(&body)).await
    }

    /// A claim's `c2sp.org/tlog-proof@v1` text.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn tlog_proof(&self, seq: Seq) -> Result<String, ClientError> {
        self.client.text(&self.claim_path(routes::CLAIM_TLOG_PROOF, seq)).await
    }

    /// The tenant's checkpoint verifier key (a C2SP vkey line).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn verifier_key(&self) -> Result<String, ClientError> {
        Ok(self.client.text(&self.path(routes::VERIFIER_KEY)).await?.trim_end().to_owned())
    }

    /// A page of the tenant's checkpoints.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn checkpoints(&self, page: Page) -> Result<CheckpointList, ClientError> {
        self.client.json(Method::GET, &self.path(routes::CHECKPOINTS), &[("from", page.from), ("limit", page.limit)], None::<&()>).await
    }

    /// The `evidence-checkpoints/v1` file of checkpoints `from..=to` (checkpoint numbers, not
    /// tree sizes; `None`: from the first, up to the newest or 1 000 of them), each after the
    /// first with its consistency proof from the one before: what `evidence-verify
    /// checkpoints` reads, and what [`evidence_core::checkpoint::verify_chain`] checks.
    ///
    /// # Errors
    /// [`ClientError`] (`no_such_checkpoint` for a number past the newest).
    pub async fn checkpoint_chain(&self, from: Option<u64>, to: Option<u64>) -> Result<CheckpointChain, ClientError> {
        self.client.json(Method::GET, &self.path(routes::CHECKPOINT_CHAIN), &[("from", from), ("to", to)], None::<&()>).await
    }
}

impl ClaimSink for TenantClient {
    type Error = ClientError;

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn append(&self, req: AppendRequest) -> Result<AppendReceipt, ClientError> {
        let mut r = self.append_many(vec![req]).await?;
        r.pop().ok_or(ClientError::ReceiptCount { sent: 1, got: 0 })
    }

    async fn append_batch(&self, reqs: Vec<AppendRequest>) -> Result<Vec<AppendReceipt>, ClientError> {
        self.append_many(reqs).await
    }
}

impl Retractor for TenantClient {
    type Error = ClientError;

    async fn retract(&self, seq: Seq, reason: &str) -> Result<AppendReceipt, ClientError> {
        TenantClient::retract(self, seq, reason).await
    }
}
