//! Where the pipeline's claims go: always through [`ClaimSink`].
//!
//! - [`open_ledger`]: the ledger in process, on a SQLite data directory (the default; the
//!   same directory layout `ledger-server dev` and `serve` use, so a pipeline run and a
//!   server can share a ledger, one process at a time).
//! - [`HttpSink`]: a ledger server over HTTP(S), with a bearer token of a role that may
//!   append (`service` for machines).
//!
//! - [`TargetSink`]: whichever of the two a command's `--data` / `--server` arguments name.
//!
//! Nothing the pipeline produces bypasses these: the analyzers, ingest and the redactor's
//! paired AI events are written only through a `ClaimSink`.

use std::path::Path;

use evidence_core::{AppendReceipt, AppendRequest, ClaimSink, TenantId};
use ledger::crypto::FileKeyProvider;
use ledger::store::sqlite::{Durability, SqliteStore, SqliteTenant};
use ledger::store::{Rail, TenantConfig};
use ledger::{Ledger, TenantLedger};

/// Why a sink could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkOpenError {
    /// The ledger directory or its keys could not be opened.
    #[error("ledger at {dir}: {message}")]
    Ledger {
        /// The data directory.
        dir: String,
        /// What failed.
        message: String,
    },
    /// The server refused or could not be reached.
    #[error("ledger server: {0}")]
    Http(String),
}

/// Opens (creating if needed) the ledger in `dir` and the tenant `tenant` in it.
///
/// The directory holds `catalogue.db`, `tenants/`, `ledger.skey` (the checkpoint key) and
/// `master.key` (record encryption); missing keys are created (mode 0600) with the ledger
/// name `name`. Checkpoints are anchored by whichever server later runs on the directory.
///
/// # Errors
/// [`SinkOpenError::Ledger`].
pub async fn open_ledger(dir: &Path, name: &str, tenant: &TenantId) -> Result<TenantLedger<SqliteTenant>, SinkOpenError> {
    let fail = |m: String| SinkOpenError::Ledger { dir: dir.display().to_string(), message: m };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let signer = ledger_server::dev::load_or_create_signer(&dir.join("ledger.skey"), name).map_err(|e| fail(e.to_string()))?;
    let keys = FileKeyProvider::open_or_create(&dir.join("master.key")).map_err(|e| fail(e.to_string()))?;
    let store = SqliteStore::open(dir, Durability::PowerLoss).await.map_err(|e| fail(e.to_string()))?;
    let ledger = Ledger::with_rails(store, signer, keys, Rail::ALL.to_vec());
    match ledger.tenant(tenant).await {
        Ok(t) => Ok(t),
        Err(_) => ledger.create_tenant(tenant, &TenantConfig::default()).await.map_err(|e| fail(e.to_string())),
    }
}

/// A ledger server over HTTP: appends through `POST /v1/tenants/{tenant}/claims/batch`.
#[derive(Debug, Clone)]
pub struct HttpSink {
    client: reqwest::Client,
    base: String,
    token: String,
    tenant: TenantId,
}

impl HttpSink {
    /// A sink for `tenant` on the server at `base` (e.g. `https://ledger.example.ca`).
    ///
    /// # Errors
    /// [`SinkOpenError::Http`] when the client cannot be built.
    pub fn new(base: &str, token: &str, tenant: TenantId) -> Result<Self, SinkOpenError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_mins(1))
            .build()
            .map_err(|e| SinkOpenError::Http(e.to_string()))?;
        Ok(Self { client, base: base.trim_end_matches('/').to_owned(), token: token.to_owned(), tenant })
    }

    async fn post(&self, reqs: Vec<AppendRequest>) -> Result<Vec<AppendReceipt>, SinkOpenError> {
        let claims: Vec<serde_json::Value> = reqs
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "kind": r.claim.kind.name(),
                    "body": r.claim.body,
                    "links": r.links,
                    "idempotency_key": r.idempotency_key,
                })
            })
            .collect();
        let url = format!("{}/v1/tenants/{}/claims/batch", self.base, self.tenant);
        let resp = self
            .client
            .post(&url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "claims": claims }).to_string())
            .send()
            .await
            .map_err(|e| SinkOpenError::Http(format!("POST {url}: {e}")))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| SinkOpenError::Http(e.to_string()))?;
        if !status.is_success() {
            // The server's error body has a stable code and no secrets.
            return Err(SinkOpenError::Http(format!("{status}: {}", text.chars().take(500).collect::<String>())));
        }
        serde_json::from_str::<Receipts>(&text).map(|r| r.receipts).map_err(|e| SinkOpenError::Http(format!("unexpected reply: {e}")))
    }
}

#[derive(serde::Deserialize)]
struct Receipts {
    receipts: Vec<AppendReceipt>,
}

impl ClaimSink for HttpSink {
    type Error = SinkOpenError;

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn append(&self, req: AppendRequest) -> Result<AppendReceipt, SinkOpenError> {
        let mut r = self.post(vec![req]).await?;
        r.pop().ok_or_else(|| SinkOpenError::Http("the server returned no receipt".into()))
    }

    async fn append_batch(&self, reqs: Vec<AppendRequest>) -> Result<Vec<AppendReceipt>, SinkOpenError> {
        self.post(reqs).await
    }
}

/// The sink a command's `--data` / `--server` arguments name: a local ledger directory or a
/// ledger server. Opened by [`crate::ingest::cli::LedgerArgs::open`].
pub enum TargetSink {
    /// The ledger in process, on a SQLite data directory.
    Local(TenantLedger<SqliteTenant>),
    /// A ledger server over HTTP(S).
    Server(HttpSink),
}

impl std::fmt::Debug for TargetSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(l) => f.debug_tuple("Local").field(l.tenant()).finish(),
            Self::Server(s) => f.debug_tuple("Server").field(s.tenant()).finish(),
        }
    }
}

/// Why a [`TargetSink`] append failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetSinkError {
    /// The local ledger refused or failed.
    #[error(transparent)]
    Local(#[from] ledger::LedgerError),
    /// The server refused or could not be reached.
    #[error(transparent)]
    Server(#[from] SinkOpenError),
}

impl ClaimSink for TargetSink {
    type Error = TargetSinkError;

    fn tenant(&self) -> &TenantId {
        match self {
            Self::Local(l) => l.tenant(),
            Self::Server(s) => s.tenant(),
        }
    }

    async fn append(&self, req: AppendRequest) -> Result<AppendReceipt, TargetSinkError> {
        Ok(match self {
            Self::Local(l) => l.append(req).await?,
            Self::Server(s) => s.append(req).await?,
        })
    }

    async fn append_batch(&self, reqs: Vec<AppendRequest>) -> Result<Vec<AppendReceipt>, TargetSinkError> {
        Ok(match self {
            Self::Local(l) => l.append_batch(reqs).await?,
            Self::Server(s) => s.append_batch(reqs).await?,
        })
    }
}
