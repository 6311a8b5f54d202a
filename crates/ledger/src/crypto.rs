//! Records at rest: XChaCha20-Poly1305 with a random data key per record, wrapped by a
//! tenant key.
//!
//! - The **tenant key** comes from a [`KeyProvider`]. The providers here hold one 32-byte
//!   master key (from a file or an environment variable) and derive each tenant's key as
//!   `SHA-256("evidence/v1/tenant-key\0" ‖ master ‖ tenant id)`; a KMS provider can hand
//!   out tenant keys any other way.
//! - Each record gets a fresh random 32-byte **data key** and 24-byte nonce from the OS
//!   generator. The claim's canonical bytes are sealed under the data key; the data key
//!   is sealed under the tenant key. Both AEAD calls bind the tenant id and the leaf's
//!   commitment as associated data, so a ciphertext cannot be moved to another leaf.
//! - **Erasure** deletes the ciphertext, the wrapped data key and the salt: with the
//!   salt gone, the commitment in the leaf can no longer be opened by anyone.

use std::path::Path;

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use evidence_core::{Commitment, TenantId, sha256};
use zeroize::Zeroizing;

use crate::store::EncryptedRecord;

/// A 32-byte key, wiped on drop, never printed.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// Wraps key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh key from the OS generator.
    ///
    /// # Errors
    /// [`KeyError::Random`] when the OS generator fails.
    pub fn random() -> Result<Self, KeyError> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(k.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self(k))
    }

    /// Parses 64 hex digits (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`KeyError::Format`].
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let mut k = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), k.as_mut()).map_err(|_| KeyError::Format("expected 64 hex digits".into()))?;
        Ok(Self(k))
    }

    fn derive_tenant(&self, tenant: &TenantId) -> SecretKey {
        SecretKey::from_bytes(sha256(&[b"evidence/v1/tenant-key\0", self.0.as_ref(), tenant.as_str().as_bytes()]))
    }
}

/// Why a key could not be had or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key material is malformed.
    #[error("key format: {0}")]
    Format(String),
    /// Reading or writing the key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The environment variable is missing.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The OS generator failed.
    #[error("OS random generator: {0}")]
    Random(String),
    /// Encryption or decryption failed (wrong key or tampered record).
    #[error("record {0}: authentication failed")]
    Aead(&'static str),
}

/// Hands out tenant keys. File and environment implementations here; a KMS later.
pub trait KeyProvider: Send + Sync + 'static {
    /// The key that wraps `tenant`'s data keys.
    ///
    /// # Errors
    /// [`KeyError`] when the key is unavailable.
    fn tenant_key(&self, tenant: &TenantId) -> Result<SecretKey, KeyError>;
}

/// A master key kept in a file (64 hex digits). [`FileKeyProvider::open_or_create`]
/// writes a fresh random key with mode 0600 when the file does not exist.
#[derive(Debug, Clone)]
pub struct FileKeyProvider {
    master: SecretKey,
}

impl FileKeyProvider {
    /// Reads the master key.
    ///
    /// # Errors
    /// [`KeyError`] when the file is unreadable or malformed.
    pub fn open(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: path.display().to_string(), source };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        Ok(Self { master: SecretKey::from_hex(&text)? })
    }

    /// Reads the master key, creating it first if the file does not exist.
    ///
    /// # Errors
    /// [`KeyError`].
    pub fn open_or_create(path: &Path) -> Result<Self, KeyError> {
        if !path.exists() {
            let k = SecretKey::random()?;
            let text = Zeroizing::new(hex::encode(k.0.as_ref()));
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let io = |source| KeyError::Io { path: path.display().to_string(), source };
            match opts.open(path) {
                Ok(mut f) => {
                    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(io)?;
                    f.sync_all().map_err(io)?;
                }
                // Another process created it first: read theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        Self::open(path)
    }
}

impl KeyProvider for FileKeyProvider {
    fn tenant_key(&self, tenant: &TenantId) -> Result<SecretKey, KeyError> {
        Ok(self.master.derive_tenant(tenant))
    }
}

/// A master key from an environment variable (64 hex digits), read once at construction.
#[derive(Debug, Clone)]
pub struct EnvKeyProvider {
    master: SecretKey,
}

impl EnvKeyProvider {
    /// The default variable name.
    pub const DEFAULT_VAR: &'static str = "LEDGER_MASTER_KEY";

    /// Reads `var`.
    ///
    /// # Errors
    /// [`KeyError::MissingEnv`] or [`KeyError::Format`].
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        let text = Zeroizing::new(std::env::var(var).map_err(|_| KeyError::MissingEnv(var.to_owned()))?);
        Ok(Self { master: SecretKey::from_hex(&text)? })
    }

    /// A provider over a given master key (tests, or keys fetched elsewhere).
    pub fn from_master(master: SecretKey) -> Self {
        Self { master }
    }
}

impl KeyProvider for EnvKeyProvider {
    fn tenant_key(&self, tenant: &TenantId) -> Result<SecretKey, KeyError> {
        Ok(self.master.derive_tenant(tenant))
    }
}

fn aad(domain: &[u8], tenant: &TenantId, commitment: &Commitment) -> Vec<u8> {
    let mut a = Vec::with_capacity(domain.len() + 65 + 32);
    a.extend_from_slice(domain);
    a.extend_from_slice(tenant.as_str().as_bytes());
    a.push(0);
    a.extend_from_slice(&commitment.0);
    a
}

/// Encrypts `plaintext` for the leaf with `commitment`.
///
/// # Errors
/// [`KeyError`] when the OS generator or the cipher fails.
pub fn seal_record(
    tenant_key: &SecretKey,
    tenant: &TenantId,
    commitment: &Commitment,
    salt: [u8; 32],
    plaintext: &[u8],
) -> Result<EncryptedRecord, KeyError> {
    // One call to the OS generator for the data key and both nonces.
    let mut fresh = Zeroizing::new([0u8; 80]);
    getrandom::fill(fresh.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
    let mut dk = [0u8; 32];
    dk.copy_from_slice(&fresh[..32]);
    let data_key = SecretKey::from_bytes(dk);
    dk.fill(0);
    let mut nonce = [0u8; 24];
    nonce.copy_from_slice(&fresh[32..56]);
    let mut key_nonce = [0u8; 24];
    key_nonce.copy_from_slice(&fresh[56..80]);
    let record_aad = aad(b"evidence/v1/record\0", tenant, commitment);
    let ciphertext = XChaCha20Poly1305::new(&(*data_key.0).into())
        .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: &record_aad })
        .map_err(|_| KeyError::Aead("encrypt"))?;
    let key_aad = aad(b"evidence/v1/data-key\0", tenant, commitment);
    let wrapped = XChaCha20Poly1305::new(&(*tenant_key.0).into())
        .encrypt(&XNonce::from(key_nonce), Payload { msg: data_key.0.as_ref(), aad: &key_aad })
        .map_err(|_| KeyError::Aead("wrap"))?;
    let mut wrapped_key = key_nonce.to_vec();
    wrapped_key.extend_from_slice(&wrapped);
    Ok(EncryptedRecord { ciphertext, nonce: nonce.to_vec(), wrapped_key, salt })
}

/// Decrypts a record stored for the leaf with `commitment`.
///
/// # Errors
/// [`KeyError::Aead`] for a wrong key, a moved or tampered record; [`KeyError::Format`]
/// for malformed stored fields.
pub fn open_record(
    tenant_key: &SecretKey,
    tenant: &TenantId,
    commitment: &Commitment,
    rec: &EncryptedRecord,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let nonce = <[u8; 24]>::try_from(rec.nonce.as_slice()).map_err(|_| KeyError::Format("record nonce".into()))?;
    if rec.wrapped_key.len() < 24 {
        return Err(KeyError::Format("wrapped key".into()));
    }
    let (key_nonce, wrapped) = rec.wrapped_key.split_at(24);
    let key_nonce = <[u8; 24]>::try_from(key_nonce).map_err(|_| KeyError::Format("wrapped key".into()))?;
    let key_aad = aad(b"evidence/v1/data-key\0", tenant, commitment);
    let data_key = Zeroizing::new(
        XChaCha20Poly1305::new(&(*tenant_key.0).into())
            .decrypt(&XNonce::from(key_nonce), Payload { msg: wrapped, aad: &key_aad })
            .map_err(|_| KeyError::Aead("unwrap"))?,
    );
    let data_key = <[u8; 32]>::try_from(data_key.as_slice()).map_err(|_| KeyError::Format("data key".into()))?;
    let data_key = SecretKey::from_bytes(data_key);
    let record_aad = aad(b"evidence/v1/record\0", tenant, commitment);
    let plain = XChaCha20Poly1305::new(&(*data_key.0).into())
        .decrypt(&XNonce::from(nonce), Payload { msg: &rec.ciphertext, aad: &record_aad })
        .map_err(|_| KeyError::Aead("decrypt"))?;
    Ok(Zeroizing::new(plain))
}

/// 32 bytes from the OS generator (commitment salts).
///
/// # Errors
/// [`KeyError::Random`].
pub fn random_salt() -> Result<[u8; 32], KeyError> {
    let mut s = [0u8; 32];
    getrandom::fill(&mut s).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let t = TenantId::new("t1").unwrap();
        let other = TenantId::new("t2").unwrap();
        let p = EnvKeyProvider::from_master(SecretKey::from_bytes([7; 32]));
        let k = p.tenant_key(&t).unwrap();
        let c = Commitment([1; 32]);
        let rec = seal_record(&k, &t, &c, [9; 32], b"hello").unwrap();
        assert_ne!(rec.ciphertext[..5], b"hello"[..]);
        assert_eq!(open_record(&k, &t, &c, &rec).unwrap().as_slice(), b"hello");
        // Another leaf, another tenant, another tenant key: all refused.
        assert!(open_record(&k, &t, &Commitment([2; 32]), &rec).is_err());
        assert!(open_record(&k, &other, &c, &rec).is_err());
        assert!(open_record(&p.tenant_key(&other).unwrap(), &t, &c, &rec).is_err());
        let mut bad = rec.clone();
        bad.ciphertext[0] ^= 1;
        assert!(open_record(&k, &t, &c, &bad).is_err());
        // Fresh data keys and nonces every time.
        let rec2 = seal_record(&k, &t, &c, [9; 32], b"hello").unwrap();
        assert_ne!(rec.ciphertext, rec2.ciphertext);
        assert_ne!(rec.wrapped_key, rec2.wrapped_key);
    }

    #[test]
    fn file_provider_creates_once() {
        let dir = std::env::temp_dir().join(format!("ledger-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let _ = std::fs::remove_file(&path);
        let t = TenantId::new("t1").unwrap();
        let a = FileKeyProvider::open_or_create(&path).unwrap().tenant_key(&t).unwrap();
        let b = FileKeyProvider::open_or_create(&path).unwrap().tenant_key(&t).unwrap();
        assert_eq!(*a.0, *b.0);
        std::fs::write(&path, "zz").unwrap();
        assert!(FileKeyProvider::open(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
