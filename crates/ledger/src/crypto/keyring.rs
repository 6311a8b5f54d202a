//! Key-encryption keys (KEKs) by **epoch**, held outside the database.
//!
//! A tenant's records are wrapped under the KEK of the tenant's current epoch. Erasure is
//! applied by re-wrapping every live record under a new epoch's KEK and then destroying
//! every older epoch in the [`KeyProvider`]: whatever a storage engine kept of an erased
//! record (freed pages, WAL segments, backups) was wrapped under a key that no longer
//! exists anywhere the ledger can reach.
//!
//! Two providers:
//!
//! - [`FileKeyring`]: one file per tenant (`<dir>/<tenant>.keyring`, mode 0600) holding that
//!   tenant's live KEKs, each sealed (XChaCha20-Poly1305) under a key derived from the
//!   [`MasterKey`]. KEKs are random: the master key alone opens no record, and a destroyed
//!   KEK cannot be derived again. Changes are written to a new file that replaces the old
//!   one; the old file's bytes are then overwritten with zeros before it is unlinked
//!   (best effort: a copy-on-write filesystem, an SSD's remapping or a backup of the
//!   directory may still hold them, sealed under the master key; see the README). Several
//!   processes may share the directory (an exclusive lock file per tenant orders writers;
//!   readers reload when the file changes).
//! - [`MemoryKeyring`]: the same in memory, for tests and embedding (keys die with the process).
//!
//! Epoch 0 is the **legacy** epoch of data written before epochs existed: its key is derived
//! from the master key (`SHA-256("evidence/v1/tenant-key\0" ‖ master ‖ tenant)`), so it can be
//! retired (the provider stops handing it out) but not destroyed while the master key exists.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use evidence_core::{TenantId, sha256};
use zeroize::Zeroizing;

use super::{KeyError, SecretKey};

/// The epoch of records written before key epochs existed (key derived from the master key).
pub const LEGACY_EPOCH: u64 = 0;

/// Hands out a tenant's key-encryption keys by epoch.
///
/// Implementations hold the keys **outside** the ledger's database (a file here, a KMS or
/// HSM in larger deployments), so that destroying an epoch's key is not undone by anything
/// the database engine keeps. Calls are quick (a memory lookup, at most a small file read)
/// and may be made from async code.
pub trait KeyProvider: Send + Sync + 'static {
    /// The KEK of `epoch` for `tenant`.
    ///
    /// # Errors
    /// [`KeyError::Destroyed`] for an epoch that was destroyed, [`KeyError::NoSuchEpoch`]
    /// for one never created, or a failure of the provider.
    fn kek(&self, tenant: &TenantId, epoch: u64) -> Result<SecretKey, KeyError>;

    /// Creates the KEK of `epoch` (a fresh random key) unless it exists, and returns it.
    /// Idempotent: concurrent callers, in this process or another sharing the provider, get
    /// the same key.
    ///
    /// # Errors
    /// [`KeyError::Destroyed`] when `epoch` is below the destruction mark; provider failures.
    fn create_kek(&self, tenant: &TenantId, epoch: u64) -> Result<SecretKey, KeyError>;

    /// Destroys every KEK of `tenant` below `epoch` (idempotent).
    ///
    /// # Errors
    /// Provider failures; then nothing is known to be destroyed and the caller retries.
    fn destroy_below(&self, tenant: &TenantId, epoch: u64) -> Result<(), KeyError>;

    /// The epochs whose KEKs still exist for `tenant` (the legacy epoch included while it is
    /// not retired and the provider can derive it).
    ///
    /// # Errors
    /// Provider failures.
    fn live_epochs(&self, tenant: &TenantId) -> Result<Vec<u64>, KeyError>;
}

impl<P: KeyProvider + ?Sized> KeyProvider for Arc<P> {
    fn kek(&self, tenant: &TenantId, epoch: u64) -> Result<SecretKey, KeyError> {
        (**self).kek(tenant, epoch)
    }
    fn create_kek(&self, tenant: &TenantId, epoch: u64) -> Result<SecretKey, KeyError> {
        (**self).create_kek(tenant, epoch)
    }
    fn destroy_below(&self, tenant: &TenantId, epoch: u64) -> Result<(), KeyError> {
        (**self).destroy_below(tenant, epoch)
    }
    fn live_epochs(&self, tenant: &TenantId) -> Result<Vec<u64>, KeyError> {
        (**self).live_epochs(tenant)
    }
}

/// The master key: seals the keyring's entries (and derives the legacy epoch's key). 64 hex
/// digits in a file (mode 0600) or an environment variable.
#[derive(Clone, Debug)]
pub struct MasterKey(SecretKey);

impl MasterKey {
    /// The default environment variable name.
    pub const DEFAULT_VAR: &'static str = "LEDGER_MASTER_KEY";

    /// A master key from its bytes (tests, or a key fetched elsewhere).
    pub fn from_secret(key: SecretKey) -> Self {
        Self(key)
    }

    /// Reads the key file.
    ///
    /// # Errors
    /// [`KeyError`] when the file is unreadable or malformed.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: path.display().to_string(), source };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        Ok(Self(SecretKey::from_hex(&text)?))
    }

    /// Reads the key file, creating it (a fresh random key, mode 0600) if it does not exist.
    ///
    /// # Errors
    /// [`KeyError`].
    pub fn open_or_create(path: &Path) -> Result<Self, KeyError> {
        if !path.exists() {
            let k = SecretKey::random()?;
            let text = Zeroizing::new(hex::encode(k.bytes()));
            let io = |source| KeyError::Io { path: path.display().to_string(), source };
            match private_file(path, true) {
                Ok(mut f) => {
                    f.write_all(text.as_bytes()).map_err(io)?;
                    f.sync_all().map_err(io)?;
                }
                // Another process created it first: read theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        Self::from_file(path)
    }

    /// Reads `var` (64 hex digits).
    ///
    /// # Errors
    /// [`KeyError::MissingEnv`] or [`KeyError::Format`].
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        let text = Zeroizing::new(std::env::var(var).map_err(|_| KeyError::MissingEnv(var.to_owned()))?);
        Ok(Self(SecretKey::from_hex(&text)?))
    }

    /// The legacy epoch's KEK for `tenant` (derived; see the module docs).
    fn legacy_kek(&self, tenant: &TenantId) -> SecretKey {
        SecretKey::from_bytes(sha256(&[b"evidence/v1/tenant-key\0", self.0.bytes(), tenant.as_str().as_bytes()]))
    }

    fn sealing_key(&self) -> SecretKey {
        SecretKey::from_bytes(sha256(&[b"evidence/v2/keyring\0", self.0.bytes()]))
    }
}

fn private_file(path: &Path, create_new: bool) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if create_new {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

fn entry_aad(tenant: &TenantId, epoch: u64) -> Vec<u8> {
    let mut a = b"evidence/v2/kek\0".to_vec();
    a.extend_from_slice(tenant.as_str().as_bytes());
    a.push(0);
    a.extend_from_slice(&epoch.to_be_bytes());
    a
}

/// One tenant's live keys.
#[derive(Clone, Debug, Default)]
struct Ring {
    keys: BTreeMap<u64, SecretKey>,
    /// Every epoch below this is destroyed (the legacy epoch included when above 0).
    destroyed_below: u64,
}

impl Ring {
    fn kek(&self, tenant: &TenantId, epoch: u64, master: Option<&MasterKey>) -> Result<SecretKey, KeyError> {
        if epoch < self.destroyed_below {
            return Err(KeyError::Destroyed { tenant: tenant.clone(), epoch });
        }
        if epoch == LEGACY_EPOCH {
            return master.map(|m| m.legacy_kek(tenant)).ok_or_else(|| KeyError::NoSuchEpoch { tenant: tenant.clone(), epoch });
        }
        self.keys.get(&epoch).cloned().ok_or_else(|| KeyError::NoSuchEpoch { tenant: tenant.clone(), epoch })
    }

    fn live(&self, has_legacy: bool) -> Vec<u64> {
        let legacy = (has_legacy && self.destroyed_below == 0).then_some(LEGACY_EPOCH);
        legacy.into_iter().chain(self.keys.keys().copied()).collect()
    }

    /// Adds `epoch` unless present; answers whether it changed anything.
    fn create(&mut self, tenant: &TenantId, epoch: u64) -> Result<bool, KeyError> {
        if epoch < self.destroyed_below || epoch == LEGACY_EPOCH {
            return Err(KeyError::Destroyed { tenant: tenant.clone(), epoch });
        }
        if self.keys.contains_key(&epoch) {
            return Ok(false);
        }
        self.keys.insert(epoch, SecretKey::random()?);
        Ok(true)
    }

    fn destroy_below(&mut self, epoch: u64) -> bool {
        if epoch <= self.destroyed_below {
            return false;
        }
        self.destroyed_below = epoch;
        self.keys.retain(|e, _| *e >= epoch);
        true
    }
}

/// The on-disk form of one tenant's ring.
#[derive(serde::Serialize, serde::Deserialize)]
struct RingFile {
    format: String,
    tenant: String,
    destroyed_below: u64,
    /// Epoch → hex(nonce ‖ sealed key).
    keys: BTreeMap<u64, String>,
}

const RING_FORMAT: &str = "evidence-ledger-keyring/1";

/// Identifies a version of a ring file (reload when it changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    ino: u64,
}

fn stamp(meta: &std::fs::Metadata) -> Stamp {
    Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        #[cfg(unix)]
        ino: std::os::unix::fs::MetadataExt::ino(meta),
    }
}

/// KEKs in files under a directory, sealed under a [`MasterKey`] (see the module docs).
pub struct FileKeyring {
    master: MasterKey,
    dir: PathBuf,
    cache: Mutex<HashMap<TenantId, (Option<Stamp>, Ring)>>,
}

impl std::fmt::Debug for FileKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileKeyring").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl FileKeyring {
    /// A keyring in `dir` (created, mode 0700, if missing), sealed under `master`. Leftovers
    /// of an interrupted replacement are scrubbed.
    ///
    /// # Errors
    /// [`KeyError::Io`] when the directory cannot be created or read.
    pub fn open(master: MasterKey, dir: impl Into<PathBuf>) -> Result<Self, KeyError> {
        let dir = dir.into();
        let io = |source| KeyError::Io { path: dir.display().to_string(), source };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(io)?;
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "old") {
                scrub(&path);
            }
        }
        Ok(Self { master, dir, cache: Mutex::default() })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{}.keyring", tenant.as_str()))
    }

    fn io_err(path: &Path) -> impl Fn(std::io::Error) -> KeyError + '_ {
        move |source| KeyError::Io { path: path.display().to_string(), source }
    }

    /// The tenant's ring as on disk now (from the cache when the file did not change).
    fn current(&self, tenant: &TenantId) -> Result<Ring, KeyError> {
        let path = self.path(tenant);
        let now = match std::fs::metadata(&path) {
            Ok(m) => Some(stamp(&m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Self::io_err(&path)(e)),
        };
        let mut cache = self.cache.lock().map_err(|_| KeyError::Format("keyring cache poisoned".into()))?;
        if let Some((s, ring)) = cache.get(tenant)
            && *s == now
        {
            return Ok(ring.clone());
        }
        let ring = match now {
            None => Ring::default(),
            Some(_) => self.read(tenant, &path)?,
        };
        cache.insert(tenant.clone(), (now, ring.clone()));
        Ok(ring)
    }

    fn read(&self, tenant: &TenantId, path: &Path) -> Result<Ring, KeyError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(Self::io_err(path))?);
        let file: RingFile = serde_json::from_slice(&bytes).map_err(|e| KeyError::Format(format!("{}: {e}", path.display())))?;
        if file.format != RING_FORMAT || file.tenant != tenant.as_str() {
            return Err(KeyError::Format(format!("{}: not a keyring of tenant {tenant}", path.display())));
        }
        let sealing = self.master.sealing_key();
        let cipher = XChaCha20Poly1305::new(&(*sealing.bytes()).into());
        let mut keys = BTreeMap::new();
        for (epoch, text) in file.keys {
            let raw = Zeroizing::new(hex::decode(text.trim()).map_err(|_| KeyError::Format(format!("{}: epoch {epoch}", path.display())))?);
            if raw.len() < 24 {
                return Err(KeyError::Format(format!("{}: epoch {epoch}", path.display())));
            }
            let (nonce, sealed) = raw.split_at(24);
            let nonce = <[u8; 24]>::try_from(nonce).map_err(|_| KeyError::Format("keyring nonce".into()))?;
            let plain = Zeroizing::new(
                cipher
                    .decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad: &entry_aad(tenant, epoch) })
                    .map_err(|_| KeyError::Aead("keyring entry"))?,
            );
            let key = <[u8; 32]>::try_from(plain.as_slice()).map_err(|_| KeyError::Format("keyring entry length".into()))?;
            keys.insert(epoch, SecretKey::from_bytes(key));
        }
        Ok(Ring { keys, destroyed_below: file.destroyed_below })
    }

    /// Changes the tenant's ring under its lock file: reads it fresh, applies `change`, and
    /// when that changed anything replaces the file (and scrubs the old one).
    fn modify(&self, tenant: &TenantId, change: impl FnOnce(&mut Ring) -> Result<bool, KeyError>) -> Result<Ring, KeyError> {
        let lock_path = self.dir.join(format!("{}.lock", tenant.as_str()));
        let lock =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(Self::io_err(&lock_path))?;
        lock.lock().map_err(Self::io_err(&lock_path))?;
        let path = self.path(tenant);
        let mut ring = if path.exists() { self.read(tenant, &path)? } else { Ring::default() };
        if change(&mut ring)? {
            self.write(tenant, &path, &ring)?;
        }
        let _ = lock.unlock();
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(tenant);
        }
        Ok(ring)
    }

    fn write(&self, tenant: &TenantId, path: &Path, ring: &Ring) -> Result<(), KeyError> {
        let sealing = self.master.sealing_key();
        let cipher = XChaCha20Poly1305::new(&(*sealing.bytes()).into());
        let mut keys = BTreeMap::new();
        for (epoch, key) in &ring.keys {
            let mut nonce = [0u8; 24];
            getrandom::fill(&mut nonce).map_err(|e| KeyError::Random(e.to_string()))?;
            let sealed = cipher
                .encrypt(&XNonce::from(nonce), Payload { msg: key.bytes(), aad: &entry_aad(tenant, *epoch) })
                .map_err(|_| KeyError::Aead("keyring seal"))?;
            let mut raw = nonce.to_vec();
            raw.extend_from_slice(&sealed);
            keys.insert(*epoch, hex::encode(raw));
        }
        let file = RingFile { format: RING_FORMAT.into(), tenant: tenant.as_str().into(), destroyed_below: ring.destroyed_below, keys };
        let text = Zeroizing::new(serde_json::to_vec_pretty(&file).map_err(|e| KeyError::Format(e.to_string()))?);
        let tmp = self.dir.join(format!(".{}.keyring.tmp", tenant.as_str()));
        let old = self.dir.join(format!("{}.keyring.old", tenant.as_str()));
        let io = Self::io_err(path);
        {
            let mut f = private_file(&tmp, false).map_err(&io)?;
            f.write_all(&text).map_err(&io)?;
            f.sync_all().map_err(&io)?;
        }
        // Keep the old file's inode under another name, put the new file in place, and only
        // then overwrite the old bytes: a crash at any point leaves a complete ring in place
        // (and at worst an `.old` file, scrubbed when the keyring is next opened).
        let had_old = path.exists();
        if had_old {
            let _ = std::fs::remove_file(&old);
            std::fs::hard_link(path, &old).map_err(&io)?;
        }
        std::fs::rename(&tmp, path).map_err(&io)?;
        std::fs::File::open(&self.dir).and_then(|d| d.sync_all()).map_err(&io)?;
        if had_old {
            scrub(&old);
        }
        Ok(())
    }
}

/// Overwrites a file's bytes with zeros, syncs, and unlinks it (best effort).
fn scrub(path: &Path) {
    if let Ok(meta) = std::fs::metadata(path)
        && let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(path)
    {
        let zeros = vec![0u8; usize::try_from(meta.len()).unwrap_or(0)];
        let _ = f.write_all(&zeros);
        let _ = f.sync_all();
    }
    let _ = std::fs::remove_file(path);
}

impl KeyProvider for FileKeyring {
    fn kek(&self, tenant: &TenantId, epoch: u64) -> Result<SecretKey, KeyError> {
        self.current(tenant)?.kek(tenant, epoch, Some(&self.master))
    }

    fn create_kek(&self, tenant: &TenantId, epoch: u64) -> Result<SecretKey, KeyError> {
        if let Ok(k) = self.current(tenant)?.kek(tenant, epoch, None) {
            return Ok(k);
        }
        self.modify(tenant, |ring| ring.create(tenant, epoch))?.kek(tenant, epoch, None)
    }

    fn destroy_below(&self, tenant: &TenantId, epoch: u64) -> Result<(), KeyError> {
        self.modify(tenant, |ring| Ok(ring.destroy_below(epoch))).map(drop)
    }

    fn live_epochs(&self, tenant: &TenantId) -> Result<Vec<u64>, KeyError> {
        Ok(self.current(tenant)?.live(true))
    }
}

/// KEKs in memory (tests, embedding): destroyed keys are dropped (and wiped) at once.
#[derive(Clone, Debug, Default)]
pub struct MemoryKeyring {
    rings: Arc<Mutex<HashMap<TenantId, Ring>>>,
    legacy: Option<MasterKey>,
}

impl MemoryKeyring {
    /// An empty keyring with no legacy epoch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty keyring whose legacy epoch is derived from `master` (to read data written
    /// before epochs existed).
    pub fn with_legacy(master: MasterKey) -> Self {
        Self { rings: Arc::default(), legacy: Some(master) }
    }

    fn with<R>(&self, tenant: &TenantId, f: impl FnOnce(&mut Ring) -> Result<R, KeyError>) -> Result<R, KeyError> {
        let mut rings = self.rings.lock().map_err(|_| KeyError::Format("keyring poisoned".into()))?;
        f(rings.entry(tenant.clone()).or_default())
    }
}

impl KeyProvider for MemoryKeyring {
    fn kek(&self, tenant: &TenantId, epoch: u64) -> Result<SecretKey, KeyError> {
        self.with(tenant, |r| r.kek(tenant, epoch, self.legacy.as_ref()))
    }

    fn create_kek(&self, tenant: &TenantId, epoch: u64) -> Result<SecretKey, KeyError> {
        self.with(tenant, |r| {
            r.create(tenant, epoch)?;
            r.kek(tenant, epoch, None)
        })
    }

    fn destroy_below(&self, tenant: &TenantId, epoch: u64) -> Result<(), KeyError> {
        self.with(tenant, |r| {
            r.destroy_below(epoch);
            Ok(())
        })
    }

    fn live_epochs(&self, tenant: &TenantId) -> Result<Vec<u64>, KeyError> {
        self.with(tenant, |r| Ok(r.live(self.legacy.is_some())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    #[test]
    fn file_keyring_creates_shares_and_destroys() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::from_secret(SecretKey::from_bytes([5; 32]));
        let a = FileKeyring::open(master.clone(), dir.path()).unwrap();
        let b = FileKeyring::open(master.clone(), dir.path()).unwrap();
        let k1 = a.create_kek(&t("t1"), 1).unwrap();
        // Another handle on the directory (another process) sees and reuses it.
        assert_eq!(b.create_kek(&t("t1"), 1).unwrap().bytes(), k1.bytes());
        assert_eq!(b.kek(&t("t1"), 1).unwrap().bytes(), k1.bytes());
        let k2 = b.create_kek(&t("t1"), 2).unwrap();
        assert_ne!(k1.bytes(), k2.bytes());
        assert_eq!(a.live_epochs(&t("t1")).unwrap(), vec![0, 1, 2]);
        b.destroy_below(&t("t1"), 2).unwrap();
        // The first handle had epoch 1 cached: the file changed, so it reloads.
        assert!(matches!(a.kek(&t("t1"), 1), Err(KeyError::Destroyed { epoch: 1, .. })));
        assert!(matches!(a.kek(&t("t1"), 0), Err(KeyError::Destroyed { epoch: 0, .. })));
        assert_eq!(a.kek(&t("t1"), 2).unwrap().bytes(), k2.bytes());
        assert!(a.create_kek(&t("t1"), 1).is_err(), "a destroyed epoch is never created again");
        // The destroyed key's sealed entry is in no file of the directory.
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(e.unwrap().path()).unwrap();
            assert!(!String::from_utf8_lossy(&bytes).contains("\"1\""), "epoch 1 left in a file");
        }
        // Another master key opens nothing.
        let other = FileKeyring::open(MasterKey::from_secret(SecretKey::from_bytes([6; 32])), dir.path()).unwrap();
        assert!(matches!(other.kek(&t("t1"), 2), Err(KeyError::Aead(_))));
        // Tenants do not share rings.
        assert!(matches!(a.kek(&t("t2"), 2), Err(KeyError::NoSuchEpoch { .. })));
    }

    #[test]
    fn master_key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = MasterKey::open_or_create(&path).unwrap();
        let b = MasterKey::open_or_create(&path).unwrap();
        assert_eq!(a.0.bytes(), b.0.bytes());
        std::fs::write(&path, "zz").unwrap();
        assert!(MasterKey::from_file(&path).is_err());
    }

    #[test]
    fn memory_keyring_matches_file_semantics() {
        let m = MemoryKeyring::new();
        assert!(matches!(m.kek(&t("t"), 0), Err(KeyError::NoSuchEpoch { .. })));
        let k = m.create_kek(&t("t"), 3).unwrap();
        assert_eq!(m.create_kek(&t("t"), 3).unwrap().bytes(), k.bytes());
        m.destroy_below(&t("t"), 4).unwrap();
        assert!(matches!(m.kek(&t("t"), 3), Err(KeyError::Destroyed { .. })));
        assert_eq!(m.live_epochs(&t("t")).unwrap(), Vec::<u64>::new());
    }
}
