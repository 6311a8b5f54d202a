//! The small part of X.509 that Fabric MSP identities need: PEM, issuer/subject match, an ECDSA
//! P-256/P-384 certificate signature by the issuer, validity at a given time.
//!
//! Kept inside `fabric` on purpose; a later change may unify it with the RFC 3161 chain code.

use base64::Engine as _;
use const_oid::ObjectIdentifier;
use der::{Decode as _, Encode as _};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::{Digest as _, Sha256, Sha384};
use x509_cert::Certificate;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// Cap on one PEM or certificate, against hostile input.
const MAX_PEM: usize = 64 * 1024;

/// An ECDSA public key on one of the curves Fabric MSPs use.
#[derive(Debug, Clone)]
pub(crate) enum EcKey {
    /// The parsed key, and its uncompressed SEC1 point for `ring` when the certificate
    /// carries one (compressed points fall back to `p256`).
    P256(p256::ecdsa::VerifyingKey, Option<Vec<u8>>),
    P384(p384::ecdsa::VerifyingKey),
}

/// The hash an ECDSA signature was made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcHash {
    Sha256,
    Sha384,
}

/// Whether a high-S signature is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LowS {
    /// Fabric's signature verification (bccsp `sw` verifier) rejects high-S signatures.
    Required,
    /// Certificate signatures are checked as Go's x509 does: either S.
    NotRequired,
}

impl EcKey {
    pub(crate) fn from_cert(cert: &Certificate) -> Result<Self, String> {
        let spki = cert.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
            return Err(format!("public key algorithm {} is not EC", spki.algorithm.oid));
        }
        let curve: ObjectIdentifier = spki
            .algorithm
            .parameters
            .as_ref()
            .ok_or("EC key without curve parameter")?
            .decode_as()
            .map_err(|e| format!("EC curve parameter: {e}"))?;
        let point = spki.subject_public_key.as_bytes().ok_or("public key bit string is not whole bytes")?;
        if curve == OID_P256 {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| "bad P-256 point")?;
            let uncompressed = (point.len() == 65 && point[0] == 4).then(|| point.to_vec());
            Ok(Self::P256(key, uncompressed))
        } else if curve == OID_P384 {
            p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map(Self::P384).map_err(|_| "bad P-384 point".into())
        } else {
            Err(format!("unsupported curve {curve}"))
        }
    }

    /// Verifies a DER ECDSA signature over `message` hashed with `hash`.
    ///
    /// P-256 with an uncompressed point goes through `ring` (the hot path: every Fabric
    /// signature); other keys through RustCrypto. Both refuse malformed DER; the low-S rule is
    /// checked here, before either.
    pub(crate) fn verify(&self, message: &[u8], hash: EcHash, sig_der: &[u8], low_s: LowS) -> Result<(), &'static str> {
        match self {
            Self::P256(k, point) => {
                let sig = p256::ecdsa::Signature::from_der(sig_der).map_err(|_| "malformed DER ECDSA signature")?;
                if low_s == LowS::Required && sig.normalize_s() != sig {
                    return Err("high-S signature (Fabric verifiers reject it)");
                }
                if let Some(point) = point {
                    let alg = match hash {
                        EcHash::Sha256 => &ring::signature::ECDSA_P256_SHA256_ASN1,
                        EcHash::Sha384 => &ring::signature::ECDSA_P256_SHA384_ASN1,
                    };
                    return ring::signature::UnparsedPublicKey::new(alg, point)
                        .verify(message, sig_der)
                        .map_err(|_| "ECDSA P-256 signature does not verify");
                }
                let prehash = match hash {
                    EcHash::Sha256 => Sha256::digest(message).to_vec(),
                    EcHash::Sha384 => Sha384::digest(message).to_vec(),
                };
                k.verify_prehash(&prehash, &sig).map_err(|_| "ECDSA P-256 signature does not verify")
            }
            Self::P384(k) => {
                let sig = p384::ecdsa::Signature::from_der(sig_der).map_err(|_| "malformed DER ECDSA signature")?;
                if low_s == LowS::Required && sig.normalize_s() != sig {
                    return Err("high-S signature (Fabric verifiers reject it)");
                }
                let prehash = match hash {
                    EcHash::Sha256 => Sha256::digest(message).to_vec(),
                    EcHash::Sha384 => Sha384::digest(message).to_vec(),
                };
                k.verify_prehash(&prehash, &sig).map_err(|_| "ECDSA P-384 signature does not verify")
            }
        }
    }
}

/// A parsed certificate with its public key.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert {
    pub(crate) cert: Certificate,
    pub(crate) key: EcKey,
    pub(crate) der: Vec<u8>,
}

impl ParsedCert {
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, String> {
        if der.len() > MAX_PEM {
            return Err(format!("certificate is {} bytes, cap {MAX_PEM}", der.len()));
        }
        let cert = Certificate::from_der(der).map_err(|e| format!("X.509 DER: {e}"))?;
        let key = EcKey::from_cert(&cert)?;
        Ok(Self { cert, key, der: der.to_vec() })
    }

    /// Checks `not_before <= at <= not_after` (`at` in Unix seconds).
    pub(crate) fn valid_at(&self, at: i64) -> Result<(), String> {
        let v = self.cert.tbs_certificate().validity();
        let nb = i64::try_from(v.not_before.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
        let na = i64::try_from(v.not_after.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
        if at < nb {
            return Err(format!("not yet valid at {at} (notBefore {nb})"));
        }
        if at > na {
            return Err(format!("expired at {at} (notAfter {na})"));
        }
        Ok(())
    }

    /// Checks that `issuer` issued `self`: names match and the signature verifies.
    ///
    /// A successful signature check is remembered (see [`crate::memo`]): a batch of receipts
    /// from one network presents the same few certificates thousands of times.
    pub(crate) fn issued_by(&self, issuer: &Self) -> Result<(), String> {
        let tbs = self.cert.tbs_certificate();
        if tbs.issuer() != issuer.cert.tbs_certificate().subject() {
            return Err("issuer name does not match the root's subject".into());
        }
        ISSUED.get_or_check(&self.der, &issuer.der, || self.verify_signature_by(issuer))
    }

    fn verify_signature_by(&self, issuer: &Self) -> Result<(), String> {
        let tbs = self.cert.tbs_certificate();
        let alg = &self.cert.signature_algorithm().oid;
        let tbs_der = tbs.to_der().map_err(|e| format!("re-encoding TBS: {e}"))?;
        let hash = if *alg == OID_ECDSA_SHA256 {
            EcHash::Sha256
        } else if *alg == OID_ECDSA_SHA384 {
            EcHash::Sha384
        } else {
            return Err(format!("unsupported certificate signature algorithm {alg}"));
        };
        let sig = self.cert.signature().as_bytes().ok_or("signature bit string is not whole bytes")?;
        issuer.key.verify(&tbs_der, hash, sig, LowS::NotRequired).map_err(|e| format!("certificate signature by the root: {e}"))
    }
}

/// Certificate signatures by MSP roots already verified.
static ISSUED: crate::memo::CertSigMemo<()> = crate::memo::CertSigMemo::new();

/// Reads every `CERTIFICATE` block of a PEM text, in order.
pub(crate) fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if pem.len() > 16 * MAX_PEM {
        return Err(format!("PEM is {} bytes, cap {}", pem.len(), 16 * MAX_PEM));
    }
    let text = std::str::from_utf8(pem).map_err(|_| "PEM is not UTF-8")?;
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            if body.is_some() {
                return Err("nested BEGIN CERTIFICATE".into());
            }
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b = body.take().ok_or("END without BEGIN")?;
            let der = base64::engine::general_purpose::STANDARD.decode(b.as_bytes()).map_err(|e| format!("PEM base64: {e}"))?;
            out.push(der);
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if body.is_some() {
        return Err("BEGIN CERTIFICATE without END".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::hazmat::PrehashSigner as _;
    use sha2::Digest as _;

    use super::{EcHash, EcKey, LowS};

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
        for key in [EcKey::P256(vk, Some(point)), EcKey::P256(vk, None)] {
            assert_eq!(key.verify(msg, EcHash::Sha256, &sig.to_der().to_bytes(), LowS::Required), Ok(()));
            assert!(key.verify(b"other", EcHash::Sha256, &sig.to_der().to_bytes(), LowS::Required).is_err());
            assert!(key.verify(msg, EcHash::Sha384, &sig.to_der().to_bytes(), LowS::Required).is_err());
            let high_der = high.to_der().to_bytes();
            assert!(key.verify(msg, EcHash::Sha256, &high_der, LowS::Required).is_err(), "high-S refused");
            assert_eq!(key.verify(msg, EcHash::Sha256, &high_der, LowS::NotRequired), Ok(()), "either S for certificates");
            assert!(key.verify(msg, EcHash::Sha256, b"\x30\x00", LowS::NotRequired).is_err());
        }
    }
}
