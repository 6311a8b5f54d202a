//! The upload service: creating signed URLs, receiving bodies into the tenant file store,
//! ingesting received files through the pipeline, and the recovery sweep at start.
//!
//! # Ingestion (both paths)
//!
//! A `received` upload is checked by [`pipeline::ingest::check`] (streaming, straight from
//! the encrypted store) with the same options as `pipeline ingest`, and two claims are
//! appended in one batch:
//!
//! 1. the pipeline's own `ingest_record` ([`pipeline::ingest::ingest_request`], the very
//!    claim `pipeline ingest` writes for the same file: idempotency key
//!    `ingest:<profile>:<export>:<sha256>`), accepted or refused alike;
//! 2. an `ingest_record` of schema `ledger-server/upload/v1` naming the upload id, how it
//!    came (`url` or `sftp`) and the path it came by (idempotency key `upload:<id>`).
//!
//! Then the row moves `received → ingested | refused` with the claims' sequence numbers and
//! the errors (the `errors` array of `pipeline check --json`). A file whose header names a
//! customer-PII column is then **deleted** from the store: what remains is the refusal (the
//! column names and row/column of each error, and the file's SHA-256 in the row and claims).
//!
//! Every step is idempotent: re-running the ingestion of a row after a crash appends nothing
//! new (both claims carry idempotency keys, so the second run gets the first receipts) and
//! the conditional state change succeeds once. [`UploadService::recover`] runs at start and
//! resumes every `received` row, and deletes the file of any PII refusal whose deletion a
//! crash interrupted.

use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use evidence_core::claim::{Claim, ClaimKind};
use evidence_core::{AppendRequest, ClaimSink as _, TenantId, UnixMillis};
use ledger::store::uploads::{NewUpload, UploadChange, UploadRow, UploadState, UploadStore as _};
use ledger::store::{Store, StoreError, TenantStore as _};
use ledger::{Ledger, LedgerError, TenantLedger};
use ledger_api::{UploadStatus, UploadTicket};
use pipeline::ingest::{Dms, ErrorKind, Export, IngestError, Options, Profile, Report};
use serde::Deserialize;
use serde_json::{Value, json};

use super::files::{FileError, FileStore, S3Blobs, S3Config};
use super::url::{self, Grant, UrlKey, UrlKeys};
use ledger::crypto::SecretKey;

/// Schema of the upload's own `ingest_record` claim.
pub const UPLOAD_SCHEMA: &str = "ledger-server/upload/v1";
/// How long a `receiving` lease lasts before it is renewed (or, after a crash, runs out).
pub const LEASE_MS: i64 = 2 * 60 * 1000;

/// `[uploads]` in the `serve` configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadsConfig {
    /// Where the encrypted tenant files go (default `<sqlite_dir>/uploads`; with
    /// `database_url`, a directory on storage every replica shares, or `[uploads.s3]`).
    pub dir: Option<PathBuf>,
    /// An S3-compatible bucket for the encrypted tenant files instead of `dir`.
    pub s3: Option<S3Config>,
    /// The base of the signed URLs, as dealers reach the server (default `http://<listen>`).
    pub public_url: Option<String>,
    /// URL lifetime in seconds (default 900, at most 3600).
    #[serde(default = "default_expiry")]
    pub expiry_seconds: u64,
    /// Largest body accepted, in bytes (default 256 MiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// URL signing keys, the first signs, all verify (rotation: see [`super::url`]).
    /// Unset: one key derived from the master key, id `m1`.
    #[serde(default)]
    pub url_keys: Vec<UrlKeyConfig>,
    /// Per-tenant SFTP drop directories.
    #[serde(default)]
    pub sftp: Vec<SftpConfig>,
    /// Per-tenant staff rosters (`tenant = "/path/roster.csv"`, the format of `pipeline analyze
    /// --roster`): a tenant with one also gets `pipeline analyze`'s claims for each accepted
    /// upload.
    #[serde(default)]
    pub rosters: std::collections::BTreeMap<String, PathBuf>,
    /// A drop file is taken once its size and modification time have not changed for this
    /// long (milliseconds, default 5000).
    #[serde(default = "default_stable")]
    pub sftp_stable_ms: u64,
    /// How often the drop directories are scanned (milliseconds, default 1000).
    #[serde(default = "default_poll")]
    pub sftp_poll_ms: u64,
}

fn default_expiry() -> u64 {
    900
}
fn default_max_bytes() -> u64 {
    url::DEFAULT_MAX_BYTES
}
fn default_stable() -> u64 {
    5000
}
fn default_poll() -> u64 {
    1000
}

/// One URL key: its id and a file of 64 hex digits (0600).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlKeyConfig {
    /// The id carried in URLs (`[A-Za-z0-9_-]{1,32}`).
    pub id: String,
    /// The key file.
    pub key_file: PathBuf,
}

/// One tenant's drop directory: `<root>/incoming`, `processing`, `done`, `refused`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpConfig {
    /// The tenant.
    pub tenant: String,
    /// The tenant's drop root (inside its SFTP chroot).
    pub root: PathBuf,
}

/// The resolved settings the service runs with.
#[derive(Clone, Debug)]
pub struct UploadSettings {
    /// The encrypted tenant file store (a directory or an S3 bucket; tenant file keys derive
    /// from the master key).
    pub files: FileStore,
    /// URL keys.
    pub url_keys: UrlKeys,
    /// Base of the URLs, no trailing slash.
    pub public_url: String,
    /// URL lifetime, milliseconds.
    pub expiry_ms: i64,
    /// Largest body.
    pub max_bytes: u64,
    /// Drop directories.
    pub sftp: Vec<(TenantId, PathBuf)>,
    /// Staff rosters of the tenants whose uploads are also analyzed.
    pub rosters: Vec<(TenantId, PathBuf)>,
    /// Stability wait of a drop file.
    pub sftp_stable: Duration,
    /// Drop scan period.
    pub sftp_poll: Duration,
}

impl UploadsConfig {
    /// Resolves the section: `master` is the server's master key, `default_dir` where files go
    /// when `dir` is unset, `listen` the default URL base.
    ///
    /// # Errors
    /// A message for a bad setting or an unreadable key file.
    pub fn resolve(
        &self,
        master: &SecretKey,
        default_dir: Option<PathBuf>,
        listen: std::net::SocketAddr,
    ) -> Result<UploadSettings, String> {
        let files = match (&self.s3, &self.dir) {
            (Some(_), Some(_)) => return Err("[uploads] set dir or [uploads.s3], not both".into()),
            (Some(s3), None) => FileStore::new(std::sync::Arc::new(S3Blobs::new(s3).map_err(|e| e.to_string())?), master.clone()),
            (None, dir) => {
                let dir = dir.clone().or(default_dir).ok_or("[uploads] dir (or [uploads.s3]) is required with [store] database_url")?;
                FileStore::local(dir, master.clone())
            }
        };
        if self.expiry_seconds == 0 || i64::try_from(self.expiry_seconds).unwrap_or(i64::MAX).saturating_mul(1000) > url::MAX_EXPIRY_MS {
            return Err(format!("[uploads] expiry_seconds must be 1 to {}", url::MAX_EXPIRY_MS / 1000));
        }
        if self.max_bytes == 0 {
            return Err("[uploads] max_bytes must be at least 1".into());
        }
        let mut keys = Vec::new();
        for k in &self.url_keys {
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(&k.key_file).map_err(|e| format!("{}: {e}", k.key_file.display()))?);
            let key = SecretKey::from_hex(text.trim()).map_err(|e| format!("{}: {e}", k.key_file.display()))?;
            keys.push(UrlKey::new(&k.id, key).map_err(|_| format!("[uploads] url key id {:?} is not [A-Za-z0-9_-]{{1,32}}", k.id))?);
        }
        if keys.is_empty() {
            let derived = SecretKey::from_bytes(evidence_core::types::sha256(&[b"evidence/v1/upload-url-key\0", master.bytes()]));
            keys.push(UrlKey::new("m1", derived).map_err(|e| e.to_string())?);
        }
        let url_keys = UrlKeys::new(keys).map_err(|_| "[uploads] url_keys: two keys share an id".to_owned())?;
        let mut sftp = Vec::new();
        for s in &self.sftp {
            let t = TenantId::new(s.tenant.clone()).map_err(|e| format!("[[uploads.sftp]] tenant: {e}"))?;
            sftp.push((t, s.root.clone()));
        }
        let mut rosters = Vec::new();
        for (t, path) in &self.rosters {
            rosters.push((TenantId::new(t.clone()).map_err(|e| format!("[uploads] rosters: {e}"))?, path.clone()));
        }
        Ok(UploadSettings {
            rosters,
            files,
            url_keys,
            public_url: self.public_url.clone().unwrap_or_else(|| format!("http://{listen}")).trim_end_matches('/').to_owned(),
            expiry_ms: i64::try_from(self.expiry_seconds).unwrap_or(0) * 1000,
            max_bytes: self.max_bytes,
            sftp,
            sftp_stable: Duration::from_millis(self.sftp_stable_ms),
            sftp_poll: Duration::from_millis(self.sftp_poll_ms.max(10)),
        })
    }
}

/// Why an upload operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// The profile/export pair is unknown.
    #[error("{0}")]
    Invalid(String),
    /// No such upload.
    #[error("no such upload")]
    NotFound,
    /// The URL does not verify.
    #[error(transparent)]
    Url(#[from] url::UrlError),
    /// Already used or being received.
    #[error("the upload URL was already used")]
    Used,
    /// The body was over the limit.
    #[error("the body is over the {0}-byte limit")]
    TooLarge(u64),
    /// The file store failed.
    #[error(transparent)]
    Files(#[from] FileError),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The upload is not in a state this step takes.
    #[error("the upload is {0}")]
    State(&'static str),
    /// The body stream failed (client went away).
    #[error("the body could not be read: {0}")]
    Body(String),
}

impl From<StoreError> for UploadError {
    fn from(e: StoreError) -> Self {
        Self::Ledger(LedgerError::Store(e))
    }
}

/// The profile of a `(profile, export)` pair of names.
///
/// # Errors
/// [`UploadError::Invalid`] naming what is unknown.
pub fn profile_of(profile: &str, export: &str) -> Result<Profile, UploadError> {
    let dms = Dms::ALL.iter().find(|d| d.name() == profile).ok_or_else(|| {
        UploadError::Invalid(format!(
            "unknown profile {profile:?} (one of {})",
            Dms::ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let exp = Export::ALL.iter().find(|e| e.name() == export).ok_or_else(|| {
        UploadError::Invalid(format!(
            "unknown export {export:?} (one of {})",
            Export::ALL.iter().map(|e| e.name()).collect::<Vec<_>>().join(", ")
        ))
    })?;
    Profile::get(*dms, *exp).ok_or_else(|| UploadError::Invalid(format!("{profile} has no {export} export profile")))
}

/// The service, shared by the HTTP routes and the drop watcher.
pub struct UploadService<S: Store> {
    pub(crate) ledger: Ledger<S>,
    pub(crate) settings: UploadSettings,
}

impl<S: Store> std::fmt::Debug for UploadService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadService").field("files", &self.settings.files).finish_non_exhaustive()
    }
}

/// What one ingestion ended in.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The row after it.
    pub row: UploadRow,
    /// The pipeline's report, when this call ran the check (None: already done before).
    pub report: Option<Report>,
}

/// The ingest options: exactly `pipeline ingest`'s defaults (UTF-8, default limits, hashing).
pub fn ingest_options() -> Options {
    Options { hash: true, ..Options::default() }
}

fn new_id(prefix: &str) -> Result<String, UploadError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| UploadError::Files(FileError::Random(e.to_string())))?;
    Ok(format!("{prefix}{}", hex::encode(b)))
}

/// True when any error is a customer-PII header.
pub fn has_pii(errors: &[IngestError]) -> bool {
    errors.iter().any(|e| e.kind == ErrorKind::PiiColumn)
}

fn errors_have_pii(errors_json: Option<&str>) -> bool {
    errors_json
        .and_then(|s| serde_json::from_str::<Vec<Value>>(s).ok())
        .is_some_and(|v| v.iter().any(|e| e["kind"] == ErrorKind::PiiColumn.name()))
}

/// The API view of a row.
pub fn status(row: &UploadRow) -> UploadStatus {
    let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str::<Vec<Value>>(s).ok()).unwrap_or_default();
    UploadStatus {
        upload_id: row.upload.id.clone(),
        state: row.state.as_str().to_owned(),
        via: row.upload.via.clone(),
        source: row.upload.source.clone(),
        profile: row.upload.profile.clone(),
        export: row.upload.export.clone(),
        bytes: row.bytes,
        sha256: row.sha256.clone(),
        errors: parse(&row.errors),
        claims: parse(&row.claims).iter().filter_map(Value::as_u64).collect(),
        created_at: row.upload.created_at.0,
        updated_at: row.updated_at.0,
    }
}

impl<S: Store + Clone> UploadService<S> {
    /// The service over `ledger` with `settings`.
    pub fn new(ledger: Ledger<S>, settings: UploadSettings) -> Self {
        Self { ledger, settings }
    }

    /// The settings.
    pub fn settings(&self) -> &UploadSettings {
        &self.settings
    }

    /// The file store.
    pub fn files(&self) -> &FileStore {
        &self.settings.files
    }

    /// Creates a pending upload and its signed URL.
    ///
    /// # Errors
    /// [`UploadError::Invalid`], [`UploadError::TooLarge`] (declared size over the limit), or
    /// the store's error.
    pub async fn create(&self, tenant: &TenantId, req: &ledger_api::CreateUpload) -> Result<UploadTicket, UploadError> {
        self.create_via(tenant, req, VIA_URL).await
    }

    /// [`Self::create`] for a body that arrives by `via` ([`VIA_URL`] or [`VIA_DASHBOARD`]).
    pub(crate) async fn create_via(
        &self,
        tenant: &TenantId,
        req: &ledger_api::CreateUpload,
        via: &str,
    ) -> Result<UploadTicket, UploadError> {
        profile_of(&req.profile, &req.export)?;
        if req.filename.is_empty() || req.filename.len() > 255 || req.filename.chars().any(char::is_control) {
            return Err(UploadError::Invalid("filename must be 1 to 255 bytes without control characters".into()));
        }
        if let Some(n) = req.size
            && n > self.settings.max_bytes
        {
            return Err(UploadError::TooLarge(self.settings.max_bytes));
        }
        let t = self.ledger.tenant(tenant).await?;
        let now = ledger::now();
        let grant = Grant {
            tenant: tenant.clone(),
            upload_id: new_id("u")?,
            profile: req.profile.clone(),
            export: req.export.clone(),
            max_bytes: self.settings.max_bytes,
            expires_at: url::expiry(now, Some(self.settings.expiry_ms)),
        };
        let (kid, sig) = self.settings.url_keys.sign("PUT", &grant)?;
        t.store()
            .create_upload(&NewUpload {
                id: grant.upload_id.clone(),
                via: via.into(),
                source: req.filename.clone(),
                profile: grant.profile.clone(),
                export: grant.export.clone(),
                max_bytes: grant.max_bytes,
                expires_at: grant.expires_at,
                created_at: now,
                state: UploadState::Pending,
                bytes: None,
                sha256: None,
            })
            .await?;
        let path = ledger_api::routes::UPLOAD_BODY.replace("{tenant}", tenant.as_str()).replace("{upload_id}", &grant.upload_id);
        let url = format!(
            "{}{path}?profile={}&export={}&max={}&exp={}&kid={kid}&sig={sig}",
            self.settings.public_url, grant.profile, grant.export, grant.max_bytes, grant.expires_at.0
        );
        Ok(UploadTicket {
            upload_id: grant.upload_id,
            url,
            method: "PUT".into(),
            expires_at: grant.expires_at.0,
            max_bytes: grant.max_bytes,
        })
    }

    /// Streams `body` into the upload `id` of `t` (already claimed `receiving` by the caller)
    /// and marks it `received`.
    ///
    /// The pipeline's check of `profile` reads the same chunks at the same time on a second
    /// thread (one pass over the body instead of store-then-read-back); its report is
    /// returned when it read exactly the stored bytes (see [`Self::ingest_checked`]).
    pub(crate) async fn store_body(
        &self,
        t: &TenantLedger<S::Tenant>,
        id: &str,
        limit: u64,
        profile: Option<Profile>,
        mut body: impl futures_util::Stream<Item = Result<bytes_like::Chunk, String>> + Unpin,
    ) -> Result<(UploadRow, Option<Report>), UploadError> {
        use futures_util::StreamExt as _;
        let files = self.settings.files.tenant(t.store().tenant())?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes_like::Chunk, String>>(8);
        let name = id.to_owned();
        let put = tokio::task::spawn_blocking(move || {
            let mut r = bytes_like::ChannelReader::new(rx);
            files.put(&name, &mut r, limit)
        });
        let (mut ctx, check) = match profile {
            Some(p) => {
                let (ctx, crx) = tokio::sync::mpsc::channel::<Result<bytes_like::Chunk, String>>(8);
                let check = tokio::task::spawn_blocking(move || {
                    pipeline::ingest::check(&p, bytes_like::ChannelReader::new(crx), &ingest_options(), |_| {}).ok()
                });
                (Some(ctx), Some(check))
            }
            None => (None, None),
        };
        let mut renew = tokio::time::interval(Duration::from_millis(u64::try_from(LEASE_MS / 4).unwrap_or(30_000)));
        renew.tick().await;
        loop {
            tokio::select! {
                next = body.next() => match next {
                    Some(item) => {
                        // The check may stop reading early (its error budget): then it is
                        // simply not fed any more; the store decides the upload's fate.
                        if let Some(c) = &ctx
                            && c.send(item.clone()).await.is_err()
                        {
                            ctx = None;
                        }
                        if tx.send(item).await.is_err() { break }
                    }
                    None => break,
                },
                _ = renew.tick() => {
                    let now = ledger::now();
                    let lease = UploadChange { lease_until: Some(UnixMillis(now.0 + LEASE_MS)), ..UploadChange::default() };
                    if !t.store().change_upload(id, UploadState::Receiving, UploadState::Receiving, &lease, now).await? {
                        // Someone else holds it now (our lease ran out): stop.
                        drop(tx);
                        let _ = put.await;
                        self.settings.files.tenant(t.store().tenant())?.delete(id)?;
                        return Err(UploadError::Used);
                    }
                }
            }
        }
        drop(tx);
        drop(ctx);
        let stored = put.await.map_err(|e| UploadError::Body(e.to_string()))?;
        let report = match check {
            Some(c) => c.await.ok().flatten(),
            None => None,
        };
        let stored = match stored {
            Ok(s) => s,
            Err(FileError::TooLarge { limit }) => {
                self.release(t, id).await;
                return Err(UploadError::TooLarge(limit));
            }
            Err(FileError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.release(t, id).await;
                return Err(UploadError::Body(e.to_string()));
            }
            Err(e) => {
                self.release(t, id).await;
                return Err(e.into());
            }
        };
        let change = UploadChange { bytes: Some(stored.bytes), sha256: Some(hex::encode(stored.sha256)), ..UploadChange::default() };
        if !t.store().change_upload(id, UploadState::Receiving, UploadState::Received, &change, ledger::now()).await? {
            return Err(UploadError::Used);
        }
        let report = report.filter(|r| r.sha256 == Some(stored.sha256) && r.stats.bytes_read == stored.bytes);
        Ok((t.store().upload(id).await?.ok_or(UploadError::NotFound)?, report))
    }

    /// Gives a failed receive back: `receiving → pending` so the URL may be used again
    /// until it expires (nothing was acknowledged).
    async fn release(&self, t: &TenantLedger<S::Tenant>, id: &str) {
        let _ = t.store().change_upload(id, UploadState::Receiving, UploadState::Pending, &UploadChange::default(), ledger::now()).await;
    }

    /// Ingests the `received` upload `id` of `t` (see the module docs); a row already
    /// `ingested` or `refused` is answered as it is (finishing a PII deletion).
    ///
    /// # Errors
    /// [`UploadError`]; the row then stays `received` for the next attempt.
    pub async fn ingest(&self, t: &TenantLedger<S::Tenant>, id: &str) -> Result<Ingested, UploadError> {
        self.ingest_checked(t, id, None).await
    }

    /// [`Self::ingest`] with the report of a check already run over exactly the stored bytes
    /// (same profile, same options, same SHA-256 and length: the pipeline's check is a pure
    /// function of the bytes, so it is the report a re-read would give). `None`: the file is
    /// read back from the store and checked.
    ///
    /// # Errors
    /// As [`Self::ingest`].
    pub async fn ingest_checked(&self, t: &TenantLedger<S::Tenant>, id: &str, pre: Option<Report>) -> Result<Ingested, UploadError> {
        let row = t.store().upload(id).await?.ok_or(UploadError::NotFound)?;
        match row.state {
            UploadState::Received => {}
            UploadState::Refused | UploadState::Ingested => {
                self.finish_pii(t, &row)?;
                return Ok(Ingested { row, report: None });
            }
            s => return Err(UploadError::State(s.as_str())),
        }
        let profile = profile_of(&row.upload.profile, &row.upload.export)?;
        let files = self.settings.files.tenant(t.store().tenant())?;
        let name = id.to_owned();
        let opts = ingest_options();
        let checked = profile.clone();
        let pre = pre.filter(|r| r.sha256.map(hex::encode) == row.sha256 && Some(r.stats.bytes_read) == row.bytes);
        let report = if let Some(r) = pre {
            r
        } else {
            tokio::task::spawn_blocking(move || -> Result<Report, UploadError> {
                let r = files.open(&name)?;
                pipeline::ingest::check(&checked, BufReader::with_capacity(64 * 1024, r), &opts, |_| {})
                    .map_err(|e| UploadError::Files(FileError::Io(std::io::Error::other(e.to_string()))))
            })
            .await
            .map_err(|e| UploadError::Body(e.to_string()))??
        };
        let ingest_req = pipeline::ingest::ingest_request(&profile, &opts, &report).map_err(|e| UploadError::Invalid(e.to_string()))?;
        let sha = report.sha256.map(hex::encode).unwrap_or_default();
        let (analysis, analysis_reqs) =
            if report.accepted { self.analysis(t, id, &profile, &sha).await } else { (Value::Null, Vec::new()) };
        let body = json!({
            "schema": UPLOAD_SCHEMA,
            "upload_id": id,
            "via": row.upload.via,
            "path": came_by(t.store().tenant(), &row),
            "file_sha256": sha,
            "file_bytes": report.stats.bytes_read,
            "profile": row.upload.profile,
            "export": row.upload.export,
            "accepted": report.accepted,
            "analysis": analysis,
        });
        let claim = Claim::new(ClaimKind::IngestRecord, body).map_err(|e| UploadError::Invalid(e.to_string()))?;
        let upload_req = AppendRequest::new(claim).with_idempotency_key(format!("upload:{id}"));
        let mut batch = vec![ingest_req, upload_req];
        batch.extend(analysis_reqs);
        let receipts = t.append_many(batch).await?;
        let seqs: Vec<u64> = receipts.iter().map(|r| r.seq.0).collect();
        let to = if report.accepted { UploadState::Ingested } else { UploadState::Refused };
        let change = UploadChange {
            errors: Some(serde_json::to_string(&report.errors).unwrap_or_else(|_| "[]".into())),
            claims: Some(serde_json::to_string(&seqs).unwrap_or_else(|_| "[]".into())),
            sha256: Some(sha),
            ..UploadChange::default()
        };
        let changed = t.store().change_upload(id, UploadState::Received, to, &change, ledger::now()).await?;
        let row = t.store().upload(id).await?.ok_or(UploadError::NotFound)?;
        self.finish_pii(t, &row)?;
        if !changed {
            // Another run (a replica, the sweep) finished it first with the same claims.
            return Ok(Ingested { row, report: Some(report) });
        }
        let outcome = row.state.as_str();
        super::metrics().uploads.inc(&[("via", row.upload.via.as_str()), ("outcome", outcome)]);
        let event = json!({
            "upload_id": id, "via": row.upload.via, "event": outcome, "path": came_by(t.store().tenant(), &row),
            "file_sha256": row.sha256, "claims": seqs, "pii": has_pii(&report.errors),
        });
        let _ = audit(&self.ledger, t.store().tenant(), outcome, &event).await;
        Ok(Ingested { row, report: Some(report) })
    }

    /// `pipeline analyze`'s claims for an accepted upload of a tenant with a roster: the
    /// library calls `pipeline analyze` makes (`analyze`, `plan`, as of today UTC), all or
    /// nothing as there (a claim the name-leak gate refuses means none is written). Each gets
    /// the idempotency key `upload:<id>:a<n>`, so a re-run after a crash writes none twice.
    /// Answers the summary recorded in the upload's claim (`null` without a roster).
    async fn analysis(&self, t: &TenantLedger<S::Tenant>, id: &str, profile: &Profile, sha: &str) -> (Value, Vec<AppendRequest>) {
        use pipeline::analyze::cli as a;
        let Some((_, roster_path)) = self.settings.rosters.iter().find(|(tenant, _)| tenant == t.store().tenant()) else {
            return (Value::Null, Vec::new());
        };
        let files = match self.settings.files.tenant(t.store().tenant()) {
            Ok(f) => f,
            Err(e) => return (json!({"error": e.to_string()}), Vec::new()),
        };
        let (path, name, prof) = (roster_path.clone(), id.to_owned(), profile.clone());
        let run = tokio::task::spawn_blocking(move || -> Result<a::Plan, String> {
            let roster = std::fs::File::open(&path).map_err(|e| format!("roster: {e}")).and_then(a::parse_roster)?;
            let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let as_of = a::date_from_days(i64::try_from(secs / 86_400).unwrap_or(0)).ok_or("the clock is out of range")?;
            let input = files.open(&name).map_err(|e| e.to_string())?;
            let analysis = a::analyze(&prof, BufReader::with_capacity(64 * 1024, input), &ingest_options(), as_of)?;
            let run = pipeline::analyze::consumers::RunInfo {
                profile: prof.dms.name().to_owned(),
                export: prof.export.name().to_owned(),
                file_sha256: analysis.report.sha256.map(hex::encode).unwrap_or_default(),
                rows: analysis.report.rows,
            };
            Ok(a::plan(&analysis, &run, &roster, as_of))
        })
        .await;
        match run {
            Ok(Ok(plan)) if plan.refused.is_empty() => {
                let n = plan.requests.len();
                let reqs = plan
                    .requests
                    .into_iter()
                    .enumerate()
                    .map(|(i, (_, r))| if r.idempotency_key.is_some() { r } else { r.with_idempotency_key(format!("upload:{id}:a{i}")) })
                    .collect();
                (json!({"written": n, "gate": plan.gate_pass, "file_sha256": sha}), reqs)
            }
            Ok(Ok(plan)) => {
                let refused: Vec<&str> = plan.refused.iter().map(|r| r.what.as_str()).collect();
                (json!({"written": 0, "refused_by_name_leak_gate": refused}), Vec::new())
            }
            Ok(Err(e)) => {
                tracing::warn!(tenant = %t.store().tenant(), upload = id, error = %e, "upload analysis not run");
                (json!({"written": 0, "error": e}), Vec::new())
            }
            Err(e) => (json!({"written": 0, "error": e.to_string()}), Vec::new()),
        }
    }

    /// Deletes the stored file of a PII refusal (idempotent).
    fn finish_pii(&self, t: &TenantLedger<S::Tenant>, row: &UploadRow) -> Result<(), UploadError> {
        if row.state == UploadState::Refused && errors_have_pii(row.errors.as_deref()) {
            self.settings.files.tenant(t.store().tenant())?.delete(&row.upload.id)?;
        }
        Ok(())
    }

    /// The recovery sweep: for every tenant, resumes each `received` upload and finishes
    /// each PII deletion. Answers how many uploads it ingested or refused.
    ///
    /// # Errors
    /// [`UploadError`] when the tenants cannot be listed; a failing upload is logged and
    /// left for the next sweep.
    pub async fn recover(&self) -> Result<usize, UploadError> {
        let mut done = 0;
        for id in self.ledger.tenants().await? {
            if id.as_str().ends_with(crate::audit::AUDIT_SUFFIX) {
                continue;
            }
            let t = self.ledger.tenant(&id).await?;
            for row in t.store().uploads_in(UploadState::Received, 10_000).await? {
                match self.ingest(&t, &row.upload.id).await {
                    Ok(_) => done += 1,
                    Err(e) => tracing::warn!(tenant = %id, upload = %row.upload.id, error = %e, "recovery: the upload stays received"),
                }
            }
            for row in t.store().uploads_in(UploadState::Refused, 10_000).await? {
                if let Err(e) = self.finish_pii(&t, &row) {
                    tracing::warn!(tenant = %id, upload = %row.upload.id, error = %e, "recovery: a PII refusal's file could not be deleted");
                }
            }
        }
        Ok(done)
    }
}

/// `via` of an upload whose body came by its signed URL.
pub const VIA_URL: &str = "url";
/// `via` of an upload sent with the dashboard's upload form.
pub const VIA_DASHBOARD: &str = "dashboard";

fn came_by(tenant: &TenantId, row: &UploadRow) -> String {
    match row.upload.via.as_str() {
        VIA_URL => {
            format!("PUT {}", ledger_api::routes::UPLOAD_BODY.replace("{tenant}", tenant.as_str()).replace("{upload_id}", &row.upload.id))
        }
        VIA_DASHBOARD => format!("POST /ui/t/{tenant}/uploads ({})", row.upload.source),
        _ => row.upload.source.clone(),
    }
}

/// Appends an upload event to `tenant`'s audit log (idempotent per upload and event).
///
/// # Errors
/// [`LedgerError`] (also logged and counted).
pub async fn audit<S: Store>(ledger: &Ledger<S>, tenant: &TenantId, event: &str, detail: &Value) -> Result<(), LedgerError> {
    let mut body = json!({
        "token": null,
        "role": null,
        "tenant": tenant,
        "action": "upload",
        "event": event,
        "at": ledger::now().0,
    });
    if let (Some(b), Some(d)) = (body.as_object_mut(), detail.as_object()) {
        for (k, v) in d {
            b.insert(k.clone(), v.clone());
        }
    }
    let key = format!("audit:upload:{}:{event}", detail["upload_id"].as_str().unwrap_or(""));
    let result = async {
        let claim = Claim::new(ClaimKind::AuditEvent, body).map_err(|e| LedgerError::Invalid(e.to_string()))?;
        let log = crate::audit::open(ledger, Some(tenant)).await?;
        log.append(AppendRequest::new(claim).with_idempotency_key(key)).await
    }
    .await;
    if let Err(e) = &result {
        tracing::error!(tenant = %tenant, event, error = %e, "upload audit entry could not be written");
        crate::metrics::global().audit_failures.inc(&[("reason", "upload")]);
    }
    result.map(|_| ())
}

/// Byte chunks between the async body and the blocking file-store writer.
pub(crate) mod bytes_like {
    use std::io::{self, Read};

    /// One piece of body.
    pub type Chunk = axum::body::Bytes;

    /// A blocking [`Read`] over chunks sent from async code.
    pub struct ChannelReader {
        rx: tokio::sync::mpsc::Receiver<Result<Chunk, String>>,
        cur: Chunk,
    }

    impl ChannelReader {
        pub fn new(rx: tokio::sync::mpsc::Receiver<Result<Chunk, String>>) -> Self {
            Self { rx, cur: Chunk::new() }
        }
    }

    impl Read for ChannelReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            while self.cur.is_empty() {
                match self.rx.blocking_recv() {
                    Some(Ok(c)) => self.cur = c,
                    Some(Err(e)) => return Err(io::Error::new(io::ErrorKind::BrokenPipe, e)),
                    None => return Ok(0),
                }
            }
            let n = buf.len().min(self.cur.len());
            buf[..n].copy_from_slice(&self.cur[..n]);
            let _ = self.cur.split_to(n);
            Ok(n)
        }
    }
}

/// The upload service handle the HTTP state carries.
pub type Shared<S> = Arc<UploadService<S>>;

/// How often `received` uploads whose ingestion failed are retried while the server runs.
pub const RETRY_EVERY: Duration = Duration::from_mins(1);

/// Builds the service and starts its background task: the recovery sweep at once, then the
/// drop-directory watcher and a sweep every [`RETRY_EVERY`].
pub fn start<S: Store + Clone>(
    ledger: &Ledger<S>,
    settings: Option<UploadSettings>,
) -> (Option<Shared<S>>, Option<tokio::task::JoinHandle<()>>) {
    let Some(settings) = settings else { return (None, None) };
    let svc = Arc::new(UploadService::new(ledger.clone(), settings));
    let bg = Arc::clone(&svc);
    let task = tokio::spawn(async move {
        // Say at start whether the file store answers (an S3 bucket may be missing or its
        // credentials wrong); uploads fail one by one meanwhile, nothing acknowledged is lost.
        let blobs = Arc::clone(bg.settings.files.blobs());
        match tokio::task::spawn_blocking(move || blobs.check()).await {
            Ok(Ok(())) => tracing::info!(store = ?bg.settings.files.blobs(), "uploads: file store answers"),
            Ok(Err(e)) => tracing::error!(error = %e, "uploads: the file store does not answer; uploads fail until it does"),
            Err(e) => tracing::error!(error = %e, "uploads: file store check failed"),
        }
        match bg.recover().await {
            Ok(n) => tracing::info!(resumed = n, "uploads: recovery sweep done"),
            Err(e) => tracing::error!(error = %e, "uploads: recovery sweep failed"),
        }
        let dirs: Vec<super::sftp::DropDir> =
            bg.settings.sftp.iter().map(|(tenant, root)| super::sftp::DropDir { tenant: tenant.clone(), root: root.clone() }).collect();
        let watcher = (!dirs.is_empty()).then(|| tokio::spawn(super::sftp::Watcher::new(Arc::clone(&bg), dirs).run()));
        let mut tick = tokio::time::interval(RETRY_EVERY);
        tick.tick().await;
        let _guard = AbortOnDrop(watcher);
        loop {
            tick.tick().await;
            if let Err(e) = bg.recover().await {
                tracing::warn!(error = %e, "uploads: retry sweep failed");
            }
        }
    });
    (Some(svc), Some(task))
}

struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> UploadsConfig {
        toml::from_str(text).unwrap()
    }

    fn listen() -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], 8080))
    }

    #[test]
    fn defaults_and_limits_of_the_section() {
        let master = SecretKey::from_bytes([3; 32]);
        let s = parse("").resolve(&master, Some("/var/lib/ledger/uploads".into()), listen()).unwrap();
        assert_eq!(s.expiry_ms, 15 * 60 * 1000);
        assert_eq!(s.max_bytes, 256 << 20);
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(format!("{:?}", s.files).contains("/var/lib/ledger/uploads"), "{:?}", s.files);
        // The derived key signs with id m1, and differs per master key.
        let g = Grant {
            tenant: TenantId::new("t").unwrap(),
            upload_id: "u".into(),
            profile: "cdk".into(),
            export: "sales".into(),
            max_bytes: 1,
            expires_at: UnixMillis(9),
        };
        let (kid, sig) = s.url_keys.sign("PUT", &g).unwrap();
        assert_eq!(kid, "m1");
        let other = parse("").resolve(&SecretKey::from_bytes([4; 32]), Some("/x".into()), listen()).unwrap();
        assert!(other.url_keys.verify("PUT", &g, &kid, &sig, UnixMillis(1)).is_err());
        // An hour at most, a non-zero size, a directory with PostgreSQL.
        assert!(parse("expiry_seconds = 3600").resolve(&master, Some("/x".into()), listen()).is_ok());
        assert!(parse("expiry_seconds = 3601").resolve(&master, Some("/x".into()), listen()).is_err());
        assert!(parse("expiry_seconds = 0").resolve(&master, Some("/x".into()), listen()).is_err());
        assert!(parse("max_bytes = 0").resolve(&master, Some("/x".into()), listen()).is_err());
        assert!(parse("").resolve(&master, None, listen()).is_err());
        assert!(toml::from_str::<UploadsConfig>("expiry = 5").is_err(), "unknown keys are refused");
        // A bucket instead of a directory (no request is made here), not both.
        let s = parse("[s3]\nbucket = \"uploads-ca\"\nendpoint = \"http://127.0.0.1:9\"\nallow_http = true")
            .resolve(&master, None, listen())
            .unwrap();
        assert!(format!("{:?}", s.files).contains("S3Blobs"), "{:?}", s.files);
        assert!(parse("dir = \"/x\"\n[s3]\nbucket = \"b\"").resolve(&master, None, listen()).is_err());
        assert!(parse("[s3]\nbucket = \"\"").resolve(&master, None, listen()).is_err());
        assert!(
            parse("[s3]\nbucket = \"b\"\naccess_key_id = \"AKIA\"").resolve(&master, None, listen()).is_err(),
            "a key id without its secret"
        );
        assert!(toml::from_str::<UploadsConfig>("[s3]\nbucket = \"b\"\nsecret = \"x\"").is_err(), "unknown keys are refused");
        let s = parse("public_url = \"https://l.example/\"\n[[sftp]]\ntenant = \"rooftop-7\"\nroot = \"/srv/d\"")
            .resolve(&master, Some("/x".into()), listen())
            .unwrap();
        assert_eq!(s.public_url, "https://l.example");
        assert_eq!(s.sftp, vec![(TenantId::new("rooftop-7").unwrap(), PathBuf::from("/srv/d"))]);
        assert!(parse("[[sftp]]\ntenant = \"Bad Id\"\nroot = \"/d\"").resolve(&master, Some("/x".into()), listen()).is_err());
    }

    #[test]
    fn url_keys_from_files_first_signs_all_verify() {
        let dir = std::env::temp_dir().join(format!("upload-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k2"), "22".repeat(32)).unwrap();
        std::fs::write(dir.join("k1"), format!("{}\n", "11".repeat(32))).unwrap();
        std::fs::write(dir.join("bad"), "not hex").unwrap();
        let master = SecretKey::from_bytes([3; 32]);
        let d = dir.display();
        let s = parse(&format!("url_keys = [{{ id = \"k2\", key_file = \"{d}/k2\" }}, {{ id = \"k1\", key_file = \"{d}/k1\" }}]"))
            .resolve(&master, Some("/x".into()), listen())
            .unwrap();
        let g = Grant {
            tenant: TenantId::new("t").unwrap(),
            upload_id: "u".into(),
            profile: "cdk".into(),
            export: "sales".into(),
            max_bytes: 1,
            expires_at: UnixMillis(9),
        };
        assert_eq!(s.url_keys.sign("PUT", &g).unwrap().0, "k2");
        let old = UrlKeys::new(vec![UrlKey::new("k1", SecretKey::from_bytes([0x11; 32])).unwrap()]).unwrap();
        let (kid, sig) = old.sign("PUT", &g).unwrap();
        assert!(s.url_keys.verify("PUT", &g, &kid, &sig, UnixMillis(1)).is_ok(), "the retired key still verifies");
        for bad in [
            format!("url_keys = [{{ id = \"k1\", key_file = \"{d}/bad\" }}]"),
            format!("url_keys = [{{ id = \"k1\", key_file = \"{d}/missing\" }}]"),
            format!("url_keys = [{{ id = \"k1\", key_file = \"{d}/k1\" }}, {{ id = \"k1\", key_file = \"{d}/k2\" }}]"),
            format!("url_keys = [{{ id = \"no spaces\", key_file = \"{d}/k1\" }}]"),
        ] {
            assert!(parse(&bad).resolve(&master, Some("/x".into()), listen()).is_err(), "{bad}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn profiles_by_name() {
        assert!(profile_of("cdk", "sales").is_ok());
        assert!(matches!(profile_of("cdk", "payroll"), Err(UploadError::Invalid(_))));
        assert!(matches!(profile_of("sap", "sales"), Err(UploadError::Invalid(_))));
    }
}
