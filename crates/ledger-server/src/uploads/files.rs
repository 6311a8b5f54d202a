//! The tenant file store for uploaded exports: [`FileStore`] hands out [`TenantFiles`] handles
//! (streamed `put`, `open`, `delete`) that encrypt every file, over a [`Blobs`] backend that
//! only keeps opaque bytes:
//!
//! - [`local::LocalBlobs`] (the default): `<root>/<tenant>/<name>.evuf`, written to a
//!   temporary name, synced, renamed into place and the directory synced, so a crash leaves
//!   either no file or the whole file.
//! - [`s3::S3Blobs`]: an S3-compatible object store through the `object_store` crate,
//!   objects `<prefix>/<tenant>/<name>.evuf`; a file is written as one `PUT` when it fits in
//!   one part, else as a multipart upload completed only once the whole file is written (an
//!   aborted or crashed upload leaves no object, only parts the bucket's lifecycle rule for
//!   incomplete multipart uploads removes).
//!
//! The encryption is the same whatever the backend, so a backend (or whoever reads its
//! bucket or disk) sees ciphertext only.
//!
//! # Isolation
//!
//! A handle is bound to one tenant ([`FileStore::tenant`]); its methods take a file name, never
//! a tenant, and names are limited to `[A-Za-z0-9_-]{1,64}` (no separators, no dots), so a
//! handle of tenant A can neither name nor open a file of tenant B. Each tenant's files are
//! also encrypted under that tenant's own file key, so a file copied into another tenant's
//! directory (or prefix) does not open there.
//!
//! # Format (version 1)
//!
//! ```text
//! "EVUF1\0"                                  6 bytes, magic and version
//! key nonce (24) ‖ wrapped data key (32+16)  XChaCha20-Poly1305 under the tenant file key,
//!                                            AAD "evidence/v1/upload-key\0" ‖ tenant ‖ 0 ‖ name
//! nonce prefix (16)                          random per file
//! chunk*                                     flag (1: 0 more / 1 final) ‖ len (u32 BE) ‖ ciphertext
//! ```
//!
//! Each chunk holds at most [`CHUNK_BYTES`] (64 KiB) of plaintext, sealed with XChaCha20-
//! Poly1305 under the file's random data key, nonce = prefix ‖ chunk index (u64 BE), AAD
//! `"evidence/v1/upload-chunk\0" ‖ tenant ‖ 0 ‖ name ‖ 0 ‖ index (u64 BE) ‖ flag`. The last
//! chunk (possibly empty) has the final flag, so truncation at a chunk boundary, reordered or
//! dropped chunks, and a file moved to another name or tenant all fail to open. Neither
//! writing nor reading ever holds more than one chunk (the S3 backend holds one part, 8 MiB,
//! of ciphertext).
//!
//! # Keys (a documented simplification)
//!
//! The tenant file key is **derived from the server's master key**:
//! `SHA-256("evidence/v1/upload-file-key\0" ‖ master ‖ tenant)`. It is *not* bound to the
//! ledger's key epochs, so erasing a claim does not make stored upload files unreadable;
//! files are deleted individually ([`TenantFiles::delete`]). Binding them to the epochs
//! (re-wrapping each file's data key on rotation, as records are) is not built.

use std::io::{self, Read, Write};
use std::sync::Arc;

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use evidence_core::TenantId;
use evidence_core::types::sha256;
use ledger::crypto::SecretKey;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

pub mod local;
pub mod s3;

pub use local::LocalBlobs;
pub use s3::{S3Blobs, S3Config};

/// Plaintext bytes per chunk.
pub const CHUNK_BYTES: usize = 64 * 1024;
const MAGIC: &[u8; 6] = b"EVUF1\0";
const TAG: usize = 16;
const HEADER: usize = 6 + 24 + 48 + 16;

/// Why a file operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The name is not `[A-Za-z0-9_-]{1,64}`.
    #[error("invalid file name")]
    BadName,
    /// The body is larger than allowed; nothing was kept.
    #[error("the body is over the {limit}-byte limit")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// No such file.
    #[error("no such file")]
    NotFound,
    /// The file does not open: wrong key (another tenant), moved, truncated, reordered or altered.
    #[error("the stored file does not authenticate ({0})")]
    Corrupt(&'static str),
    /// The OS random generator failed.
    #[error("random generator: {0}")]
    Random(String),
    /// Reading or writing failed.
    #[error("file store I/O: {0}")]
    Io(#[from] io::Error),
    /// The object store answered an error (S3 backend).
    #[error("object store: {0}")]
    ObjectStore(#[source] Box<object_store::Error>),
}

impl From<object_store::Error> for FileError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => Self::NotFound,
            e => Self::ObjectStore(Box::new(e)),
        }
    }
}

/// What `put` stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Plaintext bytes.
    pub bytes: u64,
    /// SHA-256 of the plaintext.
    pub sha256: [u8; 32],
}

/// Where a backend keeps one file: its tenant and its (validated) name.
#[derive(Clone, Copy, Debug)]
pub struct BlobKey<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The file name (`[A-Za-z0-9_-]{1,64}`).
    pub name: &'a str,
}

/// Fills a new blob: writes its bytes to the writer and answers what was stored, or fails
/// (then the backend keeps nothing).
pub type Fill<'a> = &'a mut dyn FnMut(&mut dyn Write) -> Result<Stored, FileError>;

/// A backend keeping opaque bytes (already encrypted) by [`BlobKey`]. Blocking calls: call
/// them from a blocking thread in async code (the S3 backend runs its requests on a runtime
/// of its own, so it works from any thread).
pub trait Blobs: Send + Sync + std::fmt::Debug + 'static {
    /// Creates (or atomically replaces) the blob `key` with what `fill` writes. The blob
    /// becomes visible only when `fill` returns `Ok` and every byte is durable; on an error
    /// nothing is left under `key` (nor half-written anywhere readers look).
    ///
    /// # Errors
    /// `fill`'s error, or the backend's.
    fn put(&self, key: BlobKey<'_>, fill: Fill<'_>) -> Result<Stored, FileError>;
    /// Opens the blob `key` for streaming.
    ///
    /// # Errors
    /// [`FileError::NotFound`], or the backend's.
    fn get(&self, key: BlobKey<'_>) -> Result<Box<dyn Read + Send>, FileError>;
    /// Deletes the blob `key` (no error when it is already gone).
    ///
    /// # Errors
    /// The backend's.
    fn delete(&self, key: BlobKey<'_>) -> Result<(), FileError>;
    /// Whether the blob `key` exists.
    ///
    /// # Errors
    /// The backend's.
    fn exists(&self, key: BlobKey<'_>) -> Result<bool, FileError>;
    /// Whether the backend answers (the server logs the outcome at start).
    ///
    /// # Errors
    /// The backend's.
    fn check(&self) -> Result<(), FileError>;
}

/// The tenant file store: a backend and the master key tenant file keys derive from.
#[derive(Clone)]
pub struct FileStore {
    blobs: Arc<dyn Blobs>,
    master: SecretKey,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore").field("blobs", &self.blobs).finish_non_exhaustive()
    }
}

impl FileStore {
    /// Files kept by `blobs`, tenant file keys derived from `master`.
    pub fn new(blobs: Arc<dyn Blobs>, master: SecretKey) -> Self {
        Self { blobs, master }
    }

    /// Files under the directory `root` ([`LocalBlobs`]).
    pub fn local(root: impl Into<std::path::PathBuf>, master: SecretKey) -> Self {
        Self::new(Arc::new(LocalBlobs::new(root)), master)
    }

    /// The backend.
    pub fn blobs(&self) -> &Arc<dyn Blobs> {
        &self.blobs
    }

    /// The handle of `tenant`.
    ///
    /// # Errors
    /// None today (kept for backends that must prepare a tenant's place).
    pub fn tenant(&self, tenant: &TenantId) -> Result<TenantFiles, FileError> {
        let key = SecretKey::from_bytes(sha256(&[b"evidence/v1/upload-file-key\0", self.master.bytes(), tenant.as_str().as_bytes()]));
        Ok(TenantFiles { blobs: Arc::clone(&self.blobs), tenant: tenant.clone(), key })
    }
}

/// One tenant's files. Blocking I/O: call from a blocking thread in async code.
pub struct TenantFiles {
    blobs: Arc<dyn Blobs>,
    tenant: TenantId,
    key: SecretKey,
}

impl std::fmt::Debug for TenantFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantFiles").field("tenant", &self.tenant).field("blobs", &self.blobs).finish_non_exhaustive()
    }
}

fn valid_name(name: &str) -> Result<(), FileError> {
    if (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(())
    } else {
        Err(FileError::BadName)
    }
}

fn random<const N: usize>() -> Result<[u8; N], FileError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| FileError::Random(e.to_string()))?;
    Ok(b)
}

fn cipher(k: &SecretKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*k.bytes()).into())
}

fn key_aad(tenant: &TenantId, name: &str) -> Vec<u8> {
    [b"evidence/v1/upload-key\0".as_slice(), tenant.as_str().as_bytes(), b"\0", name.as_bytes()].concat()
}

fn chunk_aad(tenant: &TenantId, name: &str, index: u64, last: bool) -> Vec<u8> {
    [
        b"evidence/v1/upload-chunk\0".as_slice(),
        tenant.as_str().as_bytes(),
        b"\0",
        name.as_bytes(),
        b"\0",
        &index.to_be_bytes(),
        &[u8::from(last)],
    ]
    .concat()
}

fn chunk_nonce(prefix: &[u8; 16], index: u64) -> XNonce {
    let mut n = [0u8; 24];
    n[..16].copy_from_slice(prefix);
    n[16..].copy_from_slice(&index.to_be_bytes());
    XNonce::from(n)
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl TenantFiles {
    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    fn key<'a>(&'a self, name: &'a str) -> BlobKey<'a> {
        BlobKey { tenant: &self.tenant, name }
    }

    fn write_encrypted(&self, name: &str, body: &mut dyn Read, limit: u64, out: &mut dyn Write) -> Result<Stored, FileError> {
        let data_key = SecretKey::random().map_err(|e| FileError::Random(e.to_string()))?;
        let key_nonce: [u8; 24] = random()?;
        let wrapped = cipher(&self.key)
            .encrypt(&XNonce::from(key_nonce), Payload { msg: data_key.bytes(), aad: &key_aad(&self.tenant, name) })
            .map_err(|_| FileError::Corrupt("wrap"))?;
        let prefix: [u8; 16] = random()?;
        out.write_all(MAGIC)?;
        out.write_all(&key_nonce)?;
        out.write_all(&wrapped)?;
        out.write_all(&prefix)?;
        let aead = cipher(&data_key);
        let mut hash = Sha256::new();
        let mut total = 0u64;
        // One chunk of look-ahead: a chunk is final only when the next read finds nothing.
        let mut cur = Zeroizing::new(vec![0u8; CHUNK_BYTES]);
        let mut next = Zeroizing::new(vec![0u8; CHUNK_BYTES]);
        let mut len = fill(body, &mut cur)?;
        let mut index = 0u64;
        loop {
            total += len as u64;
            if total > limit {
                return Err(FileError::TooLarge { limit });
            }
            let next_len = if len == CHUNK_BYTES { fill(body, &mut next)? } else { 0 };
            let last = next_len == 0;
            hash.update(&cur[..len]);
            let ct = aead
                .encrypt(&chunk_nonce(&prefix, index), Payload { msg: &cur[..len], aad: &chunk_aad(&self.tenant, name, index, last) })
                .map_err(|_| FileError::Corrupt("encrypt"))?;
            out.write_all(&[u8::from(last)])?;
            out.write_all(&u32::try_from(ct.len()).unwrap_or(u32::MAX).to_be_bytes())?;
            out.write_all(&ct)?;
            if last {
                break;
            }
            std::mem::swap(&mut cur, &mut next);
            len = next_len;
            index += 1;
        }
        Ok(Stored { bytes: total, sha256: hash.finalize().into() })
    }

    /// Streams `body` into the file `name` (replacing none: the name must be new or the old
    /// file is replaced atomically), reading at most `limit` bytes plus one: a longer body is
    /// refused with [`FileError::TooLarge`] and nothing is kept.
    ///
    /// # Errors
    /// [`FileError`].
    pub fn put(&self, name: &str, body: &mut dyn Read, limit: u64) -> Result<Stored, FileError> {
        valid_name(name)?;
        self.blobs.put(self.key(name), &mut |out| self.write_encrypted(name, body, limit, out))
    }

    /// Opens `name` for streaming, decrypting as it reads (errors surface as `io::Error`s of
    /// kind `InvalidData` from the reader).
    ///
    /// # Errors
    /// [`FileError::NotFound`], [`FileError::Corrupt`] for a bad header.
    pub fn open(&self, name: &str) -> Result<ChunkReader, FileError> {
        valid_name(name)?;
        let mut r = io::BufReader::with_capacity(CHUNK_BYTES + 64, self.blobs.get(self.key(name))?);
        let mut head = [0u8; HEADER];
        if fill(&mut r, &mut head)? != head.len() || &head[..6] != MAGIC {
            return Err(FileError::Corrupt("header"));
        }
        let key_nonce = <[u8; 24]>::try_from(&head[6..30]).map_err(|_| FileError::Corrupt("header"))?;
        let data_key = Zeroizing::new(
            cipher(&self.key)
                .decrypt(&XNonce::from(key_nonce), Payload { msg: &head[30..78], aad: &key_aad(&self.tenant, name) })
                .map_err(|_| FileError::Corrupt("data key"))?,
        );
        let data_key = SecretKey::from_bytes(<[u8; 32]>::try_from(data_key.as_slice()).map_err(|_| FileError::Corrupt("data key"))?);
        let prefix = <[u8; 16]>::try_from(&head[78..94]).map_err(|_| FileError::Corrupt("header"))?;
        Ok(ChunkReader {
            inner: r,
            aead: cipher(&data_key),
            tenant: self.tenant.clone(),
            name: name.to_owned(),
            prefix,
            index: 0,
            plain: Zeroizing::new(Vec::new()),
            pos: 0,
            done: false,
        })
    }

    /// Deletes `name` (no error when it is already gone).
    ///
    /// # Errors
    /// [`FileError::BadName`], or the backend's.
    pub fn delete(&self, name: &str) -> Result<(), FileError> {
        valid_name(name)?;
        self.blobs.delete(self.key(name))
    }

    /// Whether `name` exists.
    ///
    /// # Errors
    /// [`FileError::BadName`], or the backend's.
    pub fn exists(&self, name: &str) -> Result<bool, FileError> {
        valid_name(name)?;
        self.blobs.exists(self.key(name))
    }
}

/// Decrypts a stored file chunk by chunk.
pub struct ChunkReader {
    inner: io::BufReader<Box<dyn Read + Send>>,
    aead: XChaCha20Poly1305,
    tenant: TenantId,
    name: String,
    prefix: [u8; 16],
    index: u64,
    plain: Zeroizing<Vec<u8>>,
    pos: usize,
    done: bool,
}

impl std::fmt::Debug for ChunkReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkReader").field("index", &self.index).finish_non_exhaustive()
    }
}

fn bad(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, FileError::Corrupt(what))
}

impl ChunkReader {
    fn next_chunk(&mut self) -> io::Result<()> {
        let mut h = [0u8; 5];
        let n = fill(&mut self.inner, &mut h)?;
        if n == 0 {
            return Err(bad("truncated: no final chunk"));
        }
        if n != 5 || h[0] > 1 {
            return Err(bad("chunk header"));
        }
        let last = h[0] == 1;
        let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
        if !(TAG..=CHUNK_BYTES + TAG).contains(&len) {
            return Err(bad("chunk length"));
        }
        let mut ct = vec![0u8; len];
        if fill(&mut self.inner, &mut ct)? != len {
            return Err(bad("truncated chunk"));
        }
        let aad = chunk_aad(&self.tenant, &self.name, self.index, last);
        let plain = self.aead.decrypt(&chunk_nonce(&self.prefix, self.index), Payload { msg: &ct, aad: &aad }).map_err(|_| bad("chunk"))?;
        if last {
            let mut extra = [0u8; 1];
            if fill(&mut self.inner, &mut extra)? != 0 {
                return Err(bad("bytes after the final chunk"));
            }
            self.done = true;
        }
        self.plain = Zeroizing::new(plain);
        self.pos = 0;
        self.index += 1;
        Ok(())
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = buf.len().min(self.plain.len() - self.pos);
        buf[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
