//! Signature verification for CMS signer infos and X.509 certificates: RSA PKCS#1 v1.5,
//! RSASSA-PSS, ECDSA on P-256 and P-384, with SHA-1 (reported as weak) and SHA-2.

use sha2::Digest as _;

use super::cert::AlgorithmId;
use crate::ber::{self, tag};
use crate::oids;

/// A hash algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    /// MD5: recognised in imprints only, never computed, always weak.
    Md5,
    /// SHA-1: weak.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// From a dotted OID.
    pub fn from_oid(oid: &str) -> Option<Self> {
        match oid {
            oids::MD5 => Some(Self::Md5),
            oids::SHA1 => Some(Self::Sha1),
            oids::SHA256 => Some(Self::Sha256),
            oids::SHA384 => Some(Self::Sha384),
            oids::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The dotted OID.
    pub fn oid(self) -> &'static str {
        match self {
            Self::Md5 => oids::MD5,
            Self::Sha1 => oids::SHA1,
            Self::Sha256 => oids::SHA256,
            Self::Sha384 => oids::SHA384,
            Self::Sha512 => oids::SHA512,
        }
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// True for MD5 and SHA-1.
    pub fn is_weak(self) -> bool {
        matches!(self, Self::Md5 | Self::Sha1)
    }

    /// Hashes `data`; `None` for MD5, which we never compute.
    pub fn digest(self, data: &[u8]) -> Option<Vec<u8>> {
        Some(match self {
            Self::Md5 => return None,
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        })
    }
}

/// Why a signature was not verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigError {
    /// The signature does not verify.
    #[error("signature does not verify")]
    Invalid,
    /// An algorithm we do not implement (dotted OID, or the name of what is unsupported).
    #[error("unsupported algorithm {oid}")]
    UnsupportedAlgorithm {
        /// The algorithm.
        oid: String,
    },
    /// Key or parameters malformed.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A high-S ECDSA signature where low-S is required (Fabric's verifiers reject them).
    #[error("high-S ECDSA signature (Fabric verifiers reject it)")]
    HighS,
}

/// What a verified signature used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigUsed {
    /// The hash over the message.
    pub hash: HashAlg,
    /// `rsa-pkcs1v15`, `rsa-pss` or `ecdsa-p256`/`ecdsa-p384`.
    pub scheme: &'static str,
}

/// Verifies `signature` over `message` with the subject public key (`spki_alg`, `key`),
/// under signature algorithm `sig_alg`. `digest_alg` is the hash to use when `sig_alg`
/// names only the key type (`rsaEncryption`, `id-ecPublicKey`), as CMS signer infos may.
///
/// # Errors
/// [`SigError`].
pub fn verify(
    spki_alg: &AlgorithmId,
    key: &[u8],
    sig_alg: &AlgorithmId,
    digest_alg: Option<HashAlg>,
    message: &[u8],
    signature: &[u8],
) -> Result<SigUsed, SigError> {
    let hash_of = |oid: &str| -> Result<HashAlg, SigError> {
        Ok(match oid {
            oids::SHA1_WITH_RSA | oids::ECDSA_SHA1 => HashAlg::Sha1,
            oids::SHA256_WITH_RSA | oids::ECDSA_SHA256 => HashAlg::Sha256,
            oids::SHA384_WITH_RSA | oids::ECDSA_SHA384 => HashAlg::Sha384,
            oids::SHA512_WITH_RSA | oids::ECDSA_SHA512 => HashAlg::Sha512,
            oids::RSA_ENCRYPTION | oids::EC_PUBLIC_KEY => digest_alg.ok_or(SigError::Malformed("digest algorithm"))?,
            other => return Err(SigError::UnsupportedAlgorithm { oid: other.to_owned() }),
        })
    };
    match spki_alg.oid.as_str() {
        oids::RSA_ENCRYPTION | oids::RSASSA_PSS => {
            use rsa::pkcs1::DecodeRsaPublicKey as _;
            let pk = rsa::RsaPublicKey::from_pkcs1_der(key).map_err(|_| SigError::Malformed("RSA public key"))?;
            if sig_alg.oid == oids::RSASSA_PSS {
                let (hash, salt) = pss_params(sig_alg.params.as_deref())?;
                let hashed = hash.digest(message).ok_or(SigError::UnsupportedAlgorithm { oid: oids::MD5.into() })?;
                let r = match hash {
                    HashAlg::Sha1 => pk.verify(rsa::pss::Pss::<sha1::Sha1>::new_with_salt(salt), &hashed, signature),
                    HashAlg::Sha256 => pk.verify(rsa::pss::Pss::<sha2::Sha256>::new_with_salt(salt), &hashed, signature),
                    HashAlg::Sha384 => pk.verify(rsa::pss::Pss::<sha2::Sha384>::new_with_salt(salt), &hashed, signature),
                    HashAlg::Sha512 => pk.verify(rsa::pss::Pss::<sha2::Sha512>::new_with_salt(salt), &hashed, signature),
                    HashAlg::Md5 => return Err(SigError::UnsupportedAlgorithm { oid: oids::MD5.into() }),
                };
                r.map_err(|_| SigError::Invalid)?;
                return Ok(SigUsed { hash, scheme: "rsa-pss" });
            }
            let hash = hash_of(&sig_alg.oid)?;
            if !matches!(
                sig_alg.oid.as_str(),
                oids::RSA_ENCRYPTION | oids::SHA1_WITH_RSA | oids::SHA256_WITH_RSA | oids::SHA384_WITH_RSA | oids::SHA512_WITH_RSA
            ) {
                return Err(SigError::UnsupportedAlgorithm { oid: sig_alg.oid.clone() });
            }
            let hashed = hash.digest(message).ok_or(SigError::UnsupportedAlgorithm { oid: oids::MD5.into() })?;
            let r = match hash {
                HashAlg::Sha1 => pk.verify(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &hashed, signature),
                HashAlg::Sha256 => pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed, signature),
                HashAlg::Sha384 => pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), &hashed, signature),
                HashAlg::Sha512 => pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), &hashed, signature),
                HashAlg::Md5 => return Err(SigError::UnsupportedAlgorithm { oid: oids::MD5.into() }),
            };
            r.map_err(|_| SigError::Invalid)?;
            Ok(SigUsed { hash, scheme: "rsa-pkcs1v15" })
        }
        oids::EC_PUBLIC_KEY => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
            if !matches!(
                sig_alg.oid.as_str(),
                oids::ECDSA_SHA1 | oids::ECDSA_SHA256 | oids::ECDSA_SHA384 | oids::ECDSA_SHA512 | oids::EC_PUBLIC_KEY
            ) {
                return Err(SigError::UnsupportedAlgorithm { oid: sig_alg.oid.clone() });
            }
            let hash = hash_of(&sig_alg.oid)?;
            let hashed = hash.digest(message).ok_or(SigError::UnsupportedAlgorithm { oid: oids::MD5.into() })?;
            let curve = spki_alg.params.as_deref().and_then(|p| ber::parse_one(p).ok()).and_then(|t| t.oid().ok()).map(|o| o.dotted());
            match curve.as_deref() {
                Some(oids::P256) => {
                    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|_| SigError::Malformed("P-256 public key"))?;
                    let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| SigError::Invalid)?;
                    vk.verify_prehash(&hashed, &sig).map_err(|_| SigError::Invalid)?;
                    Ok(SigUsed { hash, scheme: "ecdsa-p256" })
                }
                Some(oids::P384) => {
                    let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|_| SigError::Malformed("P-384 public key"))?;
                    let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| SigError::Invalid)?;
                    vk.verify_prehash(&hashed, &sig).map_err(|_| SigError::Invalid)?;
                    Ok(SigUsed { hash, scheme: "ecdsa-p384" })
                }
                other => Err(SigError::UnsupportedAlgorithm { oid: format!("elliptic curve {}", other.unwrap_or("(none)")) }),
            }
        }
        other => Err(SigError::UnsupportedAlgorithm { oid: other.to_owned() }),
    }
}

/// RSASSA-PSS-params: hash (default SHA-1), MGF1 with the same hash, salt length (default 20), trailer 1.
fn pss_params(params: Option<&[u8]>) -> Result<(HashAlg, usize), SigError> {
    let bad = SigError::Malformed("RSASSA-PSS parameters");
    let Some(p) = params else { return Ok((HashAlg::Sha1, 20)) };
    let t = ber::parse_one(p).map_err(|_| bad.clone())?.expect(tag::SEQUENCE, "RSASSA-PSS-params").map_err(|_| bad.clone())?;
    let mut s = t.seq();
    let mut hash = HashAlg::Sha1;
    let mut salt = 20usize;
    if let Some(h) = s.optional(tag::ctx_c(0)).map_err(|_| bad.clone())? {
        let alg = AlgorithmId::parse(h.seq().next("hashAlgorithm").map_err(|_| bad.clone())?).map_err(|_| bad.clone())?;
        hash = HashAlg::from_oid(&alg.oid).ok_or_else(|| SigError::UnsupportedAlgorithm { oid: alg.oid.clone() })?;
    }
    if let Some(m) = s.optional(tag::ctx_c(1)).map_err(|_| bad.clone())? {
        let alg = AlgorithmId::parse(m.seq().next("maskGenAlgorithm").map_err(|_| bad.clone())?).map_err(|_| bad.clone())?;
        if alg.oid != oids::MGF1 {
            return Err(SigError::UnsupportedAlgorithm { oid: alg.oid });
        }
        let inner = alg.params.as_deref().and_then(|p| ber::parse_one(p).ok()).and_then(|t| AlgorithmId::parse(t).ok());
        if inner.and_then(|a| HashAlg::from_oid(&a.oid)) != Some(hash) {
            return Err(SigError::UnsupportedAlgorithm { oid: "MGF1 with a hash other than the message hash".into() });
        }
    }
    if let Some(sl) = s.optional(tag::ctx_c(2)).map_err(|_| bad.clone())? {
        let n = sl.seq().next("saltLength").and_then(|i| i.small_uint()).map_err(|_| bad.clone())?;
        salt = usize::try_from(n).map_err(|_| bad.clone())?;
    }
    if let Some(tf) = s.optional(tag::ctx_c(3)).map_err(|_| bad.clone())?
        && tf.seq().next("trailerField").and_then(|i| i.small_uint()).map_err(|_| bad.clone())? != 1
    {
        return Err(bad);
    }
    s.finish("end of RSASSA-PSS-params").map_err(|_| SigError::Malformed("RSASSA-PSS parameters"))?;
    Ok((hash, salt))
}

/// Whether a high-S ECDSA signature is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowS {
    /// Fabric's signature verification (bccsp `sw` verifier) rejects high-S signatures.
    Required,
    /// Certificate and CMS signatures are checked as X.509 implementations do: either S.
    NotRequired,
}

/// An ECDSA public key on P-256 or P-384, parsed once from a certificate: the Fabric rail
/// verifies every identity signature with one.
#[derive(Debug, Clone)]
pub enum EcPublicKey {
    /// The parsed key, and its uncompressed SEC1 point for `ring` when the certificate carries
    /// one (compressed points fall back to RustCrypto).
    P256(p256::ecdsa::VerifyingKey, Option<Vec<u8>>),
    /// A P-384 key.
    P384(p384::ecdsa::VerifyingKey),
}

impl EcPublicKey {
    /// The certificate's subject public key, when it is ECDSA on P-256 or P-384.
    ///
    /// # Errors
    /// [`SigError::UnsupportedAlgorithm`] for another key type or curve, [`SigError::Malformed`]
    /// for a point that does not decode.
    pub fn from_certificate(cert: &super::Certificate) -> Result<Self, SigError> {
        if cert.spki_algorithm.oid != oids::EC_PUBLIC_KEY {
            return Err(SigError::UnsupportedAlgorithm { oid: cert.spki_algorithm.oid.clone() });
        }
        let curve =
            cert.spki_algorithm.params.as_deref().and_then(|p| ber::parse_one(p).ok()).and_then(|t| t.oid().ok()).map(|o| o.dotted());
        let point = cert.public_key.as_slice();
        match curve.as_deref() {
            Some(oids::P256) => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| SigError::Malformed("P-256 public key"))?;
                let uncompressed = (point.len() == 65 && point[0] == 4).then(|| point.to_vec());
                Ok(Self::P256(key, uncompressed))
            }
            Some(oids::P384) => {
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map(Self::P384).map_err(|_| SigError::Malformed("P-384 public key"))
            }
            other => Err(SigError::UnsupportedAlgorithm { oid: format!("elliptic curve {}", other.unwrap_or("(none)")) }),
        }
    }

    /// Verifies a DER ECDSA signature over `message` hashed with `hash` (SHA-256 or SHA-384).
    ///
    /// P-256 with an uncompressed point goes through `ring` (the hot path: every Fabric
    /// signature); other keys through RustCrypto. Both refuse malformed DER; the low-S rule is
    /// checked first.
    ///
    /// # Errors
    /// [`SigError`].
    pub fn verify(&self, message: &[u8], hash: HashAlg, sig_der: &[u8], low_s: LowS) -> Result<(), SigError> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        let prehash = || match hash {
            HashAlg::Sha256 | HashAlg::Sha384 => hash.digest(message).ok_or(SigError::UnsupportedAlgorithm { oid: hash.oid().into() }),
            other => Err(SigError::UnsupportedAlgorithm { oid: other.oid().into() }),
        };
        match self {
            Self::P256(k, point) => {
                let sig = p256::ecdsa::Signature::from_der(sig_der).map_err(|_| SigError::Malformed("DER ECDSA signature"))?;
                if low_s == LowS::Required && sig.normalize_s() != sig {
                    return Err(SigError::HighS);
                }
                if let Some(point) = point {
                    let alg = match hash {
                        HashAlg::Sha256 => &ring::signature::ECDSA_P256_SHA256_ASN1,
                        HashAlg::Sha384 => &ring::signature::ECDSA_P256_SHA384_ASN1,
                        other => return Err(SigError::UnsupportedAlgorithm { oid: other.oid().into() }),
                    };
                    return ring::signature::UnparsedPublicKey::new(alg, point).verify(message, sig_der).map_err(|_| SigError::Invalid);
                }
                k.verify_prehash(&prehash()?, &sig).map_err(|_| SigError::Invalid)
            }
            Self::P384(k) => {
                let sig = p384::ecdsa::Signature::from_der(sig_der).map_err(|_| SigError::Malformed("DER ECDSA signature"))?;
                if low_s == LowS::Required && sig.normalize_s() != sig {
                    return Err(SigError::HighS);
                }
                k.verify_prehash(&prehash()?, &sig).map_err(|_| SigError::Invalid)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::hazmat::PrehashSigner as _;
    use sha2::Digest as _;

    use super::{EcPublicKey, HashAlg, LowS, SigError};

    /// The `ring` path and the RustCrypto path agree, both refuse a wrong message, and the
    /// high-S twin of a valid signature is refused where Fabric refuses it.
    #[test]
    fn both_p256_paths_agree_and_low_s_is_enforced() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let vk = *sk.verifying_key();
        let point = vk.to_sec1_point(false).as_bytes().to_vec();
        let msg = b"fabric proposal bytes";
        let sig: p256::ecdsa::Signature = sk.sign_prehash(&sha2::Sha256::digest(msg)).unwrap();
        let sig = sig.normalize_s();
        let (r, s) = sig.split_scalars();
        let high = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        for key in [EcPublicKey::P256(vk, Some(point)), EcPublicKey::P256(vk, None)] {
            assert_eq!(key.verify(msg, HashAlg::Sha256, &sig.to_der().to_bytes(), LowS::Required), Ok(()));
            assert!(key.verify(b"other", HashAlg::Sha256, &sig.to_der().to_bytes(), LowS::Required).is_err());
            assert!(key.verify(msg, HashAlg::Sha384, &sig.to_der().to_bytes(), LowS::Required).is_err());
            let high_der = high.to_der().to_bytes();
            assert_eq!(key.verify(msg, HashAlg::Sha256, &high_der, LowS::Required), Err(SigError::HighS), "high-S refused");
            assert_eq!(key.verify(msg, HashAlg::Sha256, &high_der, LowS::NotRequired), Ok(()), "either S for certificates");
            assert!(key.verify(msg, HashAlg::Sha256, b"\x30\x00", LowS::NotRequired).is_err());
        }
    }
}
