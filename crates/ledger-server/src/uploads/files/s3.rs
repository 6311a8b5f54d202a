//! The S3-compatible backend (`[uploads.s3]`): objects `<prefix>/<tenant>/<name>.evuf` in one
//! bucket, through the `object_store` crate (AWS S3, or any S3-compatible store such as MinIO
//! or Ceph RGW through `endpoint`).
//!
//! - **Writes**: a file that fits in one part ([`PART_BYTES`], 8 MiB of ciphertext) is one
//!   `PUT`; a larger one is a multipart upload whose parts are sent as they fill and which is
//!   completed only after the last byte, so the object appears whole or not at all. A failed
//!   or refused body aborts the multipart upload; a crash leaves only unfinished parts, which
//!   the bucket's `AbortIncompleteMultipartUpload` lifecycle rule removes (set one: see the
//!   README).
//! - **Reads** stream the object (one response body, read as the decryption asks for it).
//! - **TLS**: an explicit rustls configuration (`ring`, the platform's roots plus `ca_file`);
//!   the library installs no process-wide provider.
//! - **Credentials**: the standard AWS chain of the `object_store` crate (`AWS_ACCESS_KEY_ID`,
//!   `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, web identity, ECS/EC2 instance roles), or
//!   `access_key_id` with `secret_access_key_file` in the configuration. No secret is logged.
//! - **Threads**: requests run on a small runtime owned by the backend, so the blocking
//!   [`Blobs`] calls work from any thread (a blocking pool thread, or briefly a runtime
//!   worker for a delete).
//!
//! Residency: the region defaults to `ca-central-1`; the files of every tenant go to the one
//! bucket configured, so the bucket's region is the residency of uploaded files.

use std::future::Future;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{ClientOptions, HttpClient, HttpConnector};
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStoreExt as _, PutPayload};
use serde::Deserialize;

use super::{BlobKey, Blobs, FileError, Fill, Stored};

/// Ciphertext bytes per part of a multipart upload (S3 wants at least 5 MiB but the last).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// `[uploads.s3]`: the bucket uploaded files go to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket (it must exist).
    pub bucket: String,
    /// The region (default `ca-central-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// The endpoint of an S3-compatible store (`https://minio.internal:9000`); unset: AWS.
    pub endpoint: Option<String>,
    /// The key prefix under which `<tenant>/<name>.evuf` go (default `uploads`).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Allow a plain `http://` endpoint (default false; for a store on the same host only).
    #[serde(default)]
    pub allow_http: bool,
    /// Virtual-hosted-style requests (`https://<bucket>.<endpoint>/…`, as AWS prefers) instead
    /// of path style (`https://<endpoint>/<bucket>/…`, what most S3-compatible stores take).
    #[serde(default)]
    pub virtual_hosted_style: bool,
    /// The access key id (with `secret_access_key_file`); unset: the AWS credential chain.
    pub access_key_id: Option<String>,
    /// A file holding the secret access key (mode 0600).
    pub secret_access_key_file: Option<PathBuf>,
    /// Extra PEM roots to trust for the endpoint (a private CA), beside the platform's.
    pub ca_file: Option<PathBuf>,
    /// Per-request timeout, seconds (default 60); a read of a large file is one request
    /// whose body may take longer: this bounds the wait for each part of it instead.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_region() -> String {
    "ca-central-1".into()
}
fn default_prefix() -> String {
    "uploads".into()
}
fn default_timeout() -> u64 {
    60
}

/// Why the S3 backend could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3SetupError {
    /// A setting is wrong.
    #[error("[uploads.s3] {0}")]
    Config(&'static str),
    /// A file named by the settings cannot be read.
    #[error("[uploads.s3] {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The TLS configuration failed.
    #[error("[uploads.s3] TLS: {0}")]
    Tls(#[from] tsa_client::TlsConfigError),
    /// The object store client refused the settings.
    #[error("[uploads.s3] {0}")]
    ObjectStore(#[from] object_store::Error),
    /// The backend's runtime could not start.
    #[error("[uploads.s3] runtime: {0}")]
    Runtime(io::Error),
}

/// A runtime of the backend's own, shut down in the background when dropped (dropping it
/// from async code is then allowed).
#[derive(Debug)]
struct Rt(Option<tokio::runtime::Runtime>);

impl Drop for Rt {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Runs `f` on the runtime of `handle` and waits for it, blocking this thread (any thread:
/// a runtime worker too, since `f` runs elsewhere). An error when that runtime has shut down.
fn run_on<F>(handle: &tokio::runtime::Handle, f: F) -> io::Result<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv().map_err(|_| io::Error::other("the S3 backend has shut down"))
}

/// Builds the HTTP client with our TLS configuration (the `object_store` default would need a
/// process-wide rustls provider).
#[derive(Debug)]
struct Connector {
    tls: rustls::ClientConfig,
    timeout: Duration,
}

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(self.tls.clone())
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(self.timeout)
            .build()
            .map_err(|e| object_store::Error::Generic { store: "S3", source: Box::new(e) })?;
        Ok(HttpClient::new(client))
    }
}

/// Blobs in an S3 bucket (see the module docs).
pub struct S3Blobs {
    store: Arc<AmazonS3>,
    prefix: String,
    handle: tokio::runtime::Handle,
    _rt: Rt,
}

impl std::fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Blobs").field("store", &self.store.to_string()).field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl S3Blobs {
    /// The backend of `cfg`. Makes no request (a wrong bucket or credential shows at the
    /// first upload; [`Blobs::check`] asks the bucket, as the server does at start).
    ///
    /// # Errors
    /// [`S3SetupError`].
    pub fn new(cfg: &S3Config) -> Result<Self, S3SetupError> {
        if cfg.bucket.is_empty() {
            return Err(S3SetupError::Config("bucket is empty"));
        }
        let prefix = cfg.prefix.trim_matches('/').to_owned();
        if prefix.split('/').any(|s| s.is_empty() || s == "." || s == "..") && !prefix.is_empty() {
            return Err(S3SetupError::Config("prefix has an empty, . or .. segment"));
        }
        let mut extra = Vec::new();
        if let Some(p) = &cfg.ca_file {
            extra.push(std::fs::read(p).map_err(|source| S3SetupError::File { path: p.clone(), source })?);
        }
        let tls = tsa_client::client_tls(&extra)?;
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_allow_http(cfg.allow_http)
            .with_virtual_hosted_style_request(cfg.virtual_hosted_style)
            .with_http_connector(Connector { tls, timeout: Duration::from_secs(cfg.timeout_seconds.max(1)) });
        if let Some(e) = &cfg.endpoint {
            b = b.with_endpoint(e);
        }
        match (&cfg.access_key_id, &cfg.secret_access_key_file) {
            (Some(id), Some(path)) => {
                let secret = zeroize::Zeroizing::new(
                    std::fs::read_to_string(path).map_err(|source| S3SetupError::File { path: path.clone(), source })?,
                );
                b = b.with_access_key_id(id).with_secret_access_key(secret.trim());
            }
            (None, None) => {}
            _ => return Err(S3SetupError::Config("access_key_id and secret_access_key_file go together")),
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("uploads-s3")
            .enable_all()
            .build()
            .map_err(S3SetupError::Runtime)?;
        Ok(Self { store: Arc::new(b.build()?), prefix, handle: rt.handle().clone(), _rt: Rt(Some(rt)) })
    }

    /// Runs `f` on the backend's runtime and waits for it.
    fn run<F>(&self, f: F) -> io::Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        run_on(&self.handle, f)
    }

    /// The object key of `key`.
    pub fn location(&self, key: BlobKey<'_>) -> ObjectPath {
        let rel = format!("{}/{}.evuf", key.tenant.as_str(), key.name);
        if self.prefix.is_empty() { ObjectPath::from(rel) } else { ObjectPath::from(format!("{}/{rel}", self.prefix)) }
    }
}

/// What `put` writes into: one part of ciphertext at a time, sent when full.
struct PartWriter<'a> {
    blobs: &'a S3Blobs,
    location: ObjectPath,
    buf: Vec<u8>,
    upload: Option<Box<dyn MultipartUpload>>,
    /// The store's error behind the `io::Error` a failed `write` had to answer.
    failed: Option<object_store::Error>,
}

impl PartWriter<'_> {
    /// Keeps `e` for `put` to answer in its own variant; the `io::Error` for `write`.
    fn fail(&mut self, e: object_store::Error) -> io::Error {
        let out = io::Error::other(e.to_string());
        self.failed = Some(e);
        out
    }

    fn send_part(&mut self) -> io::Result<()> {
        let part = PutPayload::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PART_BYTES)));
        let mut upload = if let Some(u) = self.upload.take() {
            u
        } else {
            let (store, loc) = (Arc::clone(&self.blobs.store), self.location.clone());
            self.blobs.run(async move { store.put_multipart(&loc).await })?.map_err(|e| self.fail(e))?
        };
        let sent = upload.put_part(part);
        let result = self.blobs.run(sent);
        self.upload = Some(upload);
        result?.map_err(|e| self.fail(e))
    }

    /// Makes the object visible: a single `PUT`, or the multipart upload completed.
    fn finish(mut self) -> Result<(), FileError> {
        if self.upload.is_some() && !self.buf.is_empty() {
            self.send_part().map_err(|e| self.failed.take().map_or(FileError::Io(e), write_error))?;
        }
        let done = if let Some(mut u) = self.upload.take() {
            self.blobs.run(async move {
                let done = u.complete().await.map(|_| ());
                if done.is_err() {
                    let _ = u.abort().await;
                }
                done
            })?
        } else {
            let (store, loc, body) = (Arc::clone(&self.blobs.store), self.location.clone(), std::mem::take(&mut self.buf));
            self.blobs.run(async move { store.put(&loc, PutPayload::from(body)).await.map(|_| ()) })?
        };
        done.map_err(write_error)
    }
}

impl Write for PartWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(PART_BYTES - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == PART_BYTES {
            self.send_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for PartWriter<'_> {
    /// An unfinished multipart upload (a refused or failed body) is aborted.
    fn drop(&mut self) {
        if let Some(mut u) = self.upload.take() {
            let _ = self.blobs.run(async move { u.abort().await });
        }
    }
}

/// Streams an object's body: one chunk of the response at a time.
struct BodyReader {
    handle: tokio::runtime::Handle,
    stream: Option<futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>>,
    chunk: bytes::Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let Some(mut stream) = self.stream.take() else { return Ok(0) };
            let (next, stream) = run_on(&self.handle, async move {
                let next = stream.next().await;
                (next, stream)
            })?;
            match next {
                None => return Ok(0),
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok(b)) => {
                    self.chunk = b;
                    self.stream = Some(stream);
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

/// An error of a write or of the bucket check: a missing bucket answers 404 too, which is
/// not "no such file".
fn write_error(e: object_store::Error) -> FileError {
    FileError::ObjectStore(Box::new(e))
}

impl Blobs for S3Blobs {
    fn put(&self, key: BlobKey<'_>, fill: Fill<'_>) -> Result<Stored, FileError> {
        let mut w =
            PartWriter { blobs: self, location: self.location(key), buf: Vec::with_capacity(PART_BYTES), upload: None, failed: None };
        let stored = fill(&mut w).map_err(|e| w.failed.take().map_or(e, write_error))?;
        w.finish()?;
        Ok(stored)
    }

    fn get(&self, key: BlobKey<'_>) -> Result<Box<dyn Read + Send>, FileError> {
        let (store, loc) = (Arc::clone(&self.store), self.location(key));
        let got = self.run(async move { store.get(&loc).await })??;
        Ok(Box::new(BodyReader { handle: self.handle.clone(), stream: Some(got.into_stream()), chunk: bytes::Bytes::new() }))
    }

    fn delete(&self, key: BlobKey<'_>) -> Result<(), FileError> {
        let (store, loc) = (Arc::clone(&self.store), self.location(key));
        match self.run(async move { store.delete(&loc).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn exists(&self, key: BlobKey<'_>) -> Result<bool, FileError> {
        let (store, loc) = (Arc::clone(&self.store), self.location(key));
        match self.run(async move { store.head(&loc).await })? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Asks the bucket whether it is there and readable with these credentials (a listing of
    /// at most one key under the prefix).
    ///
    /// # Errors
    /// The store's answer.
    fn check(&self) -> Result<(), FileError> {
        let store = Arc::clone(&self.store);
        let prefix = ObjectPath::from(self.prefix.as_str());
        self.run(async move {
            let mut list = object_store::ObjectStore::list(store.as_ref(), Some(&prefix));
            match list.next().await {
                None | Some(Ok(_)) => Ok(()),
                Some(Err(e)) => Err(write_error(e)),
            }
        })?
    }
}
