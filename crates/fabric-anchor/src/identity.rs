//! A Fabric client identity: X.509 certificate, ECDSA P-256 key, MSP id.
//!
//! Signatures are made as the Fabric Gateway reference clients make them: SHA-256 of the
//! message, ECDSA P-256, S normalised to the lower half of the group order (Fabric's verifiers
//! reject high-S signatures), DER-encoded.

use std::fmt;

use evidence_core::internal::fabric_proto::msp;
use p256::ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePrivateKey as _;
use prost::Message as _;
use sha2::{Digest as _, Sha256};

/// Why an identity could not be loaded or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The private key PEM or DER is not an ECDSA P-256 PKCS#8 key.
    #[error("private key: {0}")]
    Key(String),
    /// The certificate PEM holds no `CERTIFICATE` block.
    #[error("certificate: {0}")]
    Certificate(String),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
    /// The operating system's random number generator failed.
    #[error("random nonce: {0}")]
    Random(String),
}

/// A signing identity: MSP id, certificate (PEM) and ECDSA P-256 private key.
#[derive(Clone)]
pub struct Identity {
    msp_id: String,
    cert_pem: String,
    key: SigningKey,
    serialized: Vec<u8>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        f.debug_struct("Identity").field("msp_id", &self.msp_id).finish_non_exhaustive()
    }
}

impl Identity {
    /// Loads an identity from a PEM certificate and a PEM PKCS#8 private key
    /// (`-----BEGIN PRIVATE KEY-----`, what Fabric CAs and `cryptogen` write).
    ///
    /// # Errors
    /// [`IdentityError`] when the key is not an ECDSA P-256 PKCS#8 key, or the certificate text
    /// holds no certificate.
    pub fn from_pem(msp_id: &str, cert_pem: &str, key_pem: &str) -> Result<Self, IdentityError> {
        let key = SigningKey::from_pkcs8_der(&pem_block(key_pem, "PRIVATE KEY").map_err(IdentityError::Key)?)
            .map_err(|e| IdentityError::Key(format!("not an ECDSA P-256 PKCS#8 key: {e}")))?;
        pem_block(cert_pem, "CERTIFICATE").map_err(IdentityError::Certificate)?;
        Ok(Self::from_parts(msp_id, cert_pem, key))
    }

    /// Builds an identity from a PKCS#8 DER private key.
    ///
    /// # Errors
    /// [`IdentityError::Key`] when the key is not ECDSA P-256.
    pub fn from_pkcs8_der(msp_id: &str, cert_pem: &str, key_der: &[u8]) -> Result<Self, IdentityError> {
        let key = SigningKey::from_pkcs8_der(key_der).map_err(|e| IdentityError::Key(format!("not an ECDSA P-256 PKCS#8 key: {e}")))?;
        Ok(Self::from_parts(msp_id, cert_pem, key))
    }

    fn from_parts(msp_id: &str, cert_pem: &str, key: SigningKey) -> Self {
        let serialized = msp::SerializedIdentity { mspid: msp_id.to_owned(), id_bytes: cert_pem.as_bytes().to_vec() }.encode_to_vec();
        Self { msp_id: msp_id.to_owned(), cert_pem: cert_pem.to_owned(), key, serialized }
    }

    /// The MSP id.
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// The certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The protobuf `msp.SerializedIdentity` (MSP id + certificate PEM): the `creator` in headers.
    pub fn serialized(&self) -> &[u8] {
        &self.serialized
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        *self.key.verifying_key()
    }

    /// Signs `message`: SHA-256, ECDSA P-256, low-S, DER.
    ///
    /// # Errors
    /// [`IdentityError::Sign`] if the signer fails (it does not for a valid key).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, IdentityError> {
        let digest = Sha256::digest(message);
        let sig: Signature = self.key.sign_prehash(&digest).map_err(|e| IdentityError::Sign(e.to_string()))?;
        Ok(sig.normalize_s().to_der().as_bytes().to_vec())
    }

    /// A fresh 24-byte random nonce and the transaction id it gives for this identity.
    ///
    /// # Errors
    /// [`IdentityError::Random`] when the OS random number generator fails.
    pub fn new_nonce_and_txid(&self) -> Result<([u8; 24], String), IdentityError> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| IdentityError::Random(e.to_string()))?;
        let txid = txid(&nonce, &self.serialized);
        Ok((nonce, txid))
    }
}

/// `txid = hex(SHA-256(nonce || serialized creator))`, as Fabric computes and checks it.
pub fn txid(nonce: &[u8], serialized_creator: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(nonce);
    h.update(serialized_creator);
    hex::encode(h.finalize())
}

/// Verifies a DER ECDSA P-256 signature over SHA-256(`message`); high-S signatures are
/// rejected, as Fabric's verifiers reject them.
pub fn verify_signature(key: &VerifyingKey, message: &[u8], sig_der: &[u8]) -> bool {
    let Ok(sig) = Signature::from_der(sig_der) else { return false };
    if sig.normalize_s() != sig {
        return false;
    }
    key.verify_prehash(&Sha256::digest(message), &sig).is_ok()
}

/// The DER bytes of the first PEM block labelled `label`.
pub(crate) fn pem_block(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or_else(|| format!("no {begin} line"))? + begin.len();
    let stop = text[start..].find(&end).ok_or_else(|| format!("no {end} line"))? + start;
    let b64: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    decode_b64(&b64).ok_or_else(|| format!("bad base64 in {label} PEM"))
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}
