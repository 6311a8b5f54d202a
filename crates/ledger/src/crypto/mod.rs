//! Records at rest: XChaCha20-Poly1305 with a random data key per record, wrapped by the
//! tenant's key-encryption key (KEK) of the current **epoch**.
//!
//! - KEKs come from a [`KeyProvider`] ([`keyring`]), which holds them outside the database:
//!   [`FileKeyring`] (random keys in files sealed under the [`MasterKey`]) or a KMS later.
//! - Each record gets a fresh random 32-byte **data key** and 24-byte nonce from the OS
//!   generator. The commitment salt and the claim's canonical bytes are sealed together
//!   under the data key; the data key is sealed under the KEK. Both AEAD calls bind the
//!   tenant id and the leaf's commitment as associated data (and the wrapping, the epoch), so
//!   a ciphertext cannot be moved to another leaf, tenant or epoch.
//! - **Erasure** deletes the record's row (ciphertext and wrapped key, the salt inside), then
//!   is *applied*: every live record is re-wrapped under a new epoch's KEK ([`rewrap`]; the
//!   ciphertexts stay as they are) and every older KEK is destroyed in the provider. Copies of
//!   the erased row that the storage engine kept (freed pages, WAL, backups) were wrapped
//!   under a KEK that no longer exists, and the salt that would let anyone test a guess
//!   against the commitment is inside them. See [`crate::ledger::TenantLedger::erase`].
//!
//! Records written before epochs existed (format 1: salt stored beside the ciphertext, data
//! key wrapped under a key derived from the master key) are read as epoch 0 and resealed in
//! the current format by the first rotation.

pub mod keyring;

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use evidence_core::{Commitment, TenantId};
use zeroize::Zeroizing;

pub use keyring::{FileKeyring, KeyProvider, LEGACY_EPOCH, MasterKey, MemoryKeyring};

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

    /// The key bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.0).into())
    }
}

/// Why a key could not be had or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key material is malformed.
    #[error("key format: {0}")]
    Format(String),
    /// Reading or writing a key file failed.
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
    #[error("{0}: authentication failed")]
    Aead(&'static str),
    /// The epoch's key was destroyed (an erasure was applied).
    #[error("tenant {tenant}: the key of epoch {epoch} was destroyed")]
    Destroyed {
        /// The tenant.
        tenant: TenantId,
        /// The epoch.
        epoch: u64,
    },
    /// The provider has no key for the epoch (never created, or another master key).
    #[error("tenant {tenant}: no key for epoch {epoch}")]
    NoSuchEpoch {
        /// The tenant.
        tenant: TenantId,
        /// The epoch.
        epoch: u64,
    },
}

fn aad(domain: &[u8], tenant: &TenantId, commitment: &Commitment, epoch: Option<u64>) -> Vec<u8> {
    let mut a = Vec::with_capacity(domain.len() + 65 + 32 + 8);
    a.extend_from_slice(domain);
    a.extend_from_slice(tenant.as_str().as_bytes());
    a.push(0);
    a.extend_from_slice(&commitment.0);
    if let Some(e) = epoch {
        a.extend_from_slice(&e.to_be_bytes());
    }
    a
}

const RECORD_V2: &[u8] = b"evidence/v2/record\0";
const DATA_KEY_V2: &[u8] = b"evidence/v2/data-key\0";
const RECORD_V1: &[u8] = b"evidence/v1/record\0";
const DATA_KEY_V1: &[u8] = b"evidence/v1/data-key\0";

fn random_nonce() -> Result<[u8; 24], KeyError> {
    let mut n = [0u8; 24];
    getrandom::fill(&mut n).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(n)
}

fn wrap(kek: &SecretKey, epoch: u64, tenant: &TenantId, commitment: &Commitment, data_key: &SecretKey) -> Result<Vec<u8>, KeyError> {
    let key_nonce = random_nonce()?;
    let wrapped = kek
        .cipher()
        .encrypt(&XNonce::from(key_nonce), Payload { msg: data_key.bytes(), aad: &aad(DATA_KEY_V2, tenant, commitment, Some(epoch)) })
        .map_err(|_| KeyError::Aead("wrap"))?;
    let mut out = key_nonce.to_vec();
    out.extend_from_slice(&wrapped);
    Ok(out)
}

fn unwrap(kek: &SecretKey, domain_aad: &[u8], wrapped_key: &[u8]) -> Result<SecretKey, KeyError> {
    if wrapped_key.len() < 24 {
        return Err(KeyError::Format("wrapped key".into()));
    }
    let (key_nonce, wrapped) = wrapped_key.split_at(24);
    let key_nonce = <[u8; 24]>::try_from(key_nonce).map_err(|_| KeyError::Format("wrapped key".into()))?;
    let data_key = Zeroizing::new(
        kek.cipher().decrypt(&XNonce::from(key_nonce), Payload { msg: wrapped, aad: domain_aad }).map_err(|_| KeyError::Aead("unwrap"))?,
    );
    Ok(SecretKey::from_bytes(<[u8; 32]>::try_from(data_key.as_slice()).map_err(|_| KeyError::Format("data key".into()))?))
}

/// Encrypts the salt and `plaintext` for the leaf with `commitment`, under a fresh data key
/// wrapped by `kek`, the KEK of `epoch`.
///
/// # Errors
/// [`KeyError`] when the OS generator or the cipher fails.
pub fn seal_record(
    kek: &SecretKey,
    epoch: u64,
    tenant: &TenantId,
    commitment: &Commitment,
    salt: [u8; 32],
    plaintext: &[u8],
) -> Result<EncryptedRecord, KeyError> {
    let data_key = SecretKey::random()?;
    let nonce = random_nonce()?;
    let mut msg = Zeroizing::new(Vec::with_capacity(32 + plaintext.len()));
    msg.extend_from_slice(&salt);
    msg.extend_from_slice(plaintext);
    let ciphertext = data_key
        .cipher()
        .encrypt(&XNonce::from(nonce), Payload { msg: &msg, aad: &aad(RECORD_V2, tenant, commitment, None) })
        .map_err(|_| KeyError::Aead("encrypt"))?;
    let wrapped_key = wrap(kek, epoch, tenant, commitment, &data_key)?;
    Ok(EncryptedRecord { ciphertext, nonce: nonce.to_vec(), wrapped_key, kek_epoch: epoch, legacy_salt: None })
}

/// A decrypted record: the commitment salt and the claim's canonical bytes (wiped on drop).
pub struct OpenedRecord {
    /// The commitment salt.
    pub salt: [u8; 32],
    /// The canonical claim bytes.
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for OpenedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenedRecord({} bytes)", self.plaintext.len())
    }
}

/// Decrypts a record stored for the leaf with `commitment`; `kek` is the KEK of the record's
/// epoch (`rec.kek_epoch`).
///
/// # Errors
/// [`KeyError::Aead`] for a wrong key, a moved or tampered record; [`KeyError::Format`]
/// for malformed stored fields.
pub fn open_record(kek: &SecretKey, tenant: &TenantId, commitment: &Commitment, rec: &EncryptedRecord) -> Result<OpenedRecord, KeyError> {
    let nonce = <[u8; 24]>::try_from(rec.nonce.as_slice()).map_err(|_| KeyError::Format("record nonce".into()))?;
    if let Some(salt) = rec.legacy_salt {
        let data_key = unwrap(kek, &aad(DATA_KEY_V1, tenant, commitment, None), &rec.wrapped_key)?;
        let plain = data_key
            .cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg: &rec.ciphertext, aad: &aad(RECORD_V1, tenant, commitment, None) })
            .map_err(|_| KeyError::Aead("decrypt"))?;
        return Ok(OpenedRecord { salt, plaintext: Zeroizing::new(plain) });
    }
    let data_key = unwrap(kek, &aad(DATA_KEY_V2, tenant, commitment, Some(rec.kek_epoch)), &rec.wrapped_key)?;
    let plain = Zeroizing::new(
        data_key
            .cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg: &rec.ciphertext, aad: &aad(RECORD_V2, tenant, commitment, None) })
            .map_err(|_| KeyError::Aead("decrypt"))?,
    );
    if plain.len() < 32 {
        return Err(KeyError::Format("record shorter than its salt".into()));
    }
    let mut salt = [0u8; 32];
    salt.copy_from_slice(&plain[..32]);
    Ok(OpenedRecord { salt, plaintext: Zeroizing::new(plain[32..].to_vec()) })
}

/// The record re-wrapped under `new_kek`, the KEK of `new_epoch`: the data key is unwrapped
/// with `old_kek` (the KEK of `rec.kek_epoch`) and wrapped again; the ciphertext is kept. A
/// format-1 record is resealed in the current format under a fresh data key.
///
/// # Errors
/// [`KeyError`] as [`open_record`].
pub fn rewrap(
    old_kek: &SecretKey,
    new_kek: &SecretKey,
    new_epoch: u64,
    tenant: &TenantId,
    commitment: &Commitment,
    rec: &EncryptedRecord,
) -> Result<EncryptedRecord, KeyError> {
    if rec.legacy_salt.is_some() {
        let opened = open_record(old_kek, tenant, commitment, rec)?;
        return seal_record(new_kek, new_epoch, tenant, commitment, opened.salt, &opened.plaintext);
    }
    let data_key = unwrap(old_kek, &aad(DATA_KEY_V2, tenant, commitment, Some(rec.kek_epoch)), &rec.wrapped_key)?;
    Ok(EncryptedRecord {
        ciphertext: rec.ciphertext.clone(),
        nonce: rec.nonce.clone(),
        wrapped_key: wrap(new_kek, new_epoch, tenant, commitment, &data_key)?,
        kek_epoch: new_epoch,
        legacy_salt: None,
    })
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

    fn format1(kek: &SecretKey, tenant: &TenantId, c: &Commitment, salt: [u8; 32], plain: &[u8]) -> EncryptedRecord {
        // The format-1 layout, written here as the first release wrote it.
        let data_key = SecretKey::random().unwrap();
        let nonce = random_nonce().unwrap();
        let ciphertext =
            data_key.cipher().encrypt(&XNonce::from(nonce), Payload { msg: plain, aad: &aad(RECORD_V1, tenant, c, None) }).unwrap();
        let key_nonce = random_nonce().unwrap();
        let mut wrapped_key = key_nonce.to_vec();
        wrapped_key.extend(
            kek.cipher()
                .encrypt(&XNonce::from(key_nonce), Payload { msg: data_key.bytes(), aad: &aad(DATA_KEY_V1, tenant, c, None) })
                .unwrap(),
        );
        EncryptedRecord { ciphertext, nonce: nonce.to_vec(), wrapped_key, kek_epoch: LEGACY_EPOCH, legacy_salt: Some(salt) }
    }

    #[test]
    fn round_trip_and_binding() {
        let t = TenantId::new("t1").unwrap();
        let other = TenantId::new("t2").unwrap();
        let k = SecretKey::from_bytes([7; 32]);
        let c = Commitment([1; 32]);
        let rec = seal_record(&k, 1, &t, &c, [9; 32], b"hello").unwrap();
        assert!(!rec.ciphertext.windows(5).any(|w| w == b"hello"));
        let opened = open_record(&k, &t, &c, &rec).unwrap();
        assert_eq!((opened.salt, opened.plaintext.as_slice()), ([9; 32], &b"hello"[..]));
        // Another leaf, another tenant, another key, another epoch: all refused.
        assert!(open_record(&k, &t, &Commitment([2; 32]), &rec).is_err());
        assert!(open_record(&k, &other, &c, &rec).is_err());
        assert!(open_record(&SecretKey::from_bytes([8; 32]), &t, &c, &rec).is_err());
        assert!(open_record(&k, &t, &c, &EncryptedRecord { kek_epoch: 2, ..rec.clone() }).is_err());
        let mut bad = rec.clone();
        bad.ciphertext[0] ^= 1;
        assert!(open_record(&k, &t, &c, &bad).is_err());
        // Fresh data keys and nonces every time.
        let rec2 = seal_record(&k, 1, &t, &c, [9; 32], b"hello").unwrap();
        assert_ne!(rec.ciphertext, rec2.ciphertext);
        assert_ne!(rec.wrapped_key, rec2.wrapped_key);
    }

    #[test]
    fn rewrap_moves_a_record_to_the_new_epoch_only() {
        let t = TenantId::new("t1").unwrap();
        let c = Commitment([3; 32]);
        let (old, new) = (SecretKey::from_bytes([1; 32]), SecretKey::from_bytes([2; 32]));
        let rec = seal_record(&old, 4, &t, &c, [5; 32], b"claim").unwrap();
        let moved = rewrap(&old, &new, 5, &t, &c, &rec).unwrap();
        assert_eq!((moved.kek_epoch, &moved.ciphertext), (5, &rec.ciphertext));
        assert_eq!(open_record(&new, &t, &c, &moved).unwrap().plaintext.as_slice(), b"claim");
        assert!(open_record(&old, &t, &c, &moved).is_err(), "the old KEK no longer opens the moved record");
        // A format-1 record is resealed in format 2 with its salt inside.
        let legacy = format1(&old, &t, &c, [6; 32], b"old claim");
        assert_eq!(open_record(&old, &t, &c, &legacy).unwrap().plaintext.as_slice(), b"old claim");
        let moved = rewrap(&old, &new, 5, &t, &c, &legacy).unwrap();
        assert_eq!(moved.legacy_salt, None);
        let opened = open_record(&new, &t, &c, &moved).unwrap();
        assert_eq!((opened.salt, opened.plaintext.as_slice()), ([6; 32], &b"old claim"[..]));
    }
}
