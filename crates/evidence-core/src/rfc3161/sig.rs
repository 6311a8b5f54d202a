//! Signature verification for CMS signer infos and X.509 certificates: RSA PKCS#1 v1.5,
//! RSASSA-PSS, ECDSA on P-256 and P-384, with SHA-1 (reported as weak) and SHA-2.

use sha2::Digest as _;

use super::ber::{self, tag};
use super::cert::AlgorithmId;
use super::oids;

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
    /// An algorithm we do not implement.
    #[error("unsupported algorithm {0}")]
    Unsupported(String),
    /// Key or parameters malformed.
    #[error("malformed {0}")]
    Malformed(&'static str),
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
            other => return Err(SigError::Unsupported(other.to_owned())),
        })
    };
    match spki_alg.oid.as_str() {
        oids::RSA_ENCRYPTION | oids::RSASSA_PSS => {
            use rsa::pkcs1::DecodeRsaPublicKey as _;
            let pk = rsa::RsaPublicKey::from_pkcs1_der(key).map_err(|_| SigError::Malformed("RSA public key"))?;
            if sig_alg.oid == oids::RSASSA_PSS {
                let (hash, salt) = pss_params(sig_alg.params.as_deref())?;
                let hashed = hash.digest(message).ok_or(SigError::Unsupported("md5".into()))?;
                let r = match hash {
                    HashAlg::Sha1 => pk.verify(rsa::pss::Pss::<sha1::Sha1>::new_with_salt(salt), &hashed, signature),
                    HashAlg::Sha256 => pk.verify(rsa::pss::Pss::<sha2::Sha256>::new_with_salt(salt), &hashed, signature),
                    HashAlg::Sha384 => pk.verify(rsa::pss::Pss::<sha2::Sha384>::new_with_salt(salt), &hashed, signature),
                    HashAlg::Sha512 => pk.verify(rsa::pss::Pss::<sha2::Sha512>::new_with_salt(salt), &hashed, signature),
                    HashAlg::Md5 => return Err(SigError::Unsupported("md5".into())),
                };
                r.map_err(|_| SigError::Invalid)?;
                return Ok(SigUsed { hash, scheme: "rsa-pss" });
            }
            let hash = hash_of(&sig_alg.oid)?;
            if !matches!(
                sig_alg.oid.as_str(),
                oids::RSA_ENCRYPTION | oids::SHA1_WITH_RSA | oids::SHA256_WITH_RSA | oids::SHA384_WITH_RSA | oids::SHA512_WITH_RSA
            ) {
                return Err(SigError::Unsupported(sig_alg.oid.clone()));
            }
            let hashed = hash.digest(message).ok_or(SigError::Unsupported("md5".into()))?;
            let r = match hash {
                HashAlg::Sha1 => pk.verify(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &hashed, signature),
                HashAlg::Sha256 => pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed, signature),
                HashAlg::Sha384 => pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), &hashed, signature),
                HashAlg::Sha512 => pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), &hashed, signature),
                HashAlg::Md5 => return Err(SigError::Unsupported("md5".into())),
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
                return Err(SigError::Unsupported(sig_alg.oid.clone()));
            }
            let hash = hash_of(&sig_alg.oid)?;
            let hashed = hash.digest(message).ok_or(SigError::Unsupported("md5".into()))?;
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
                other => Err(SigError::Unsupported(format!("elliptic curve {}", other.unwrap_or("(none)")))),
            }
        }
        other => Err(SigError::Unsupported(other.to_owned())),
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
        hash = HashAlg::from_oid(&alg.oid).ok_or_else(|| SigError::Unsupported(alg.oid.clone()))?;
    }
    if let Some(m) = s.optional(tag::ctx_c(1)).map_err(|_| bad.clone())? {
        let alg = AlgorithmId::parse(m.seq().next("maskGenAlgorithm").map_err(|_| bad.clone())?).map_err(|_| bad.clone())?;
        if alg.oid != oids::MGF1 {
            return Err(SigError::Unsupported(alg.oid));
        }
        let inner = alg.params.as_deref().and_then(|p| ber::parse_one(p).ok()).and_then(|t| AlgorithmId::parse(t).ok());
        if inner.and_then(|a| HashAlg::from_oid(&a.oid)) != Some(hash) {
            return Err(SigError::Unsupported("MGF1 with a hash other than the message hash".into()));
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
