//! Building a certificate path to a trust anchor, with typed errors in the webpki manner.
//!
//! A path goes from the leaf through intermediates (from a pool that is not trusted by itself,
//! each a CA) to a trust anchor: a certificate equal to an anchor is trusted, and so is one an
//! anchor signed (names match and the signature verifies over the signed bytes as encoded).
//! Every certificate on the path, the anchor included, must be valid at the validation time
//! the caller gives (RFC 3161: the token's genTime; Fabric: the transaction's time), never
//! "now". What each rail adds (the time-stamping EKU; MSP roots per organisation and low-S
//! identity signatures) is the rail's own policy, checked by its module.

use super::Certificate;
use super::sig::{self, SigError, SigUsed};
use crate::types::UnixMillis;

/// Longest path built (intermediates included).
pub const MAX_PATH: usize = 8;

/// Why no path to a trust anchor could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A certificate on the path had expired at the validation time.
    #[error("certificate {subject} expired: valid until {not_after}, checked at {time}")]
    Expired {
        /// Its subject.
        subject: String,
        /// The validation time.
        time: UnixMillis,
        /// Its notAfter.
        not_after: UnixMillis,
    },
    /// A certificate on the path was not yet valid at the validation time.
    #[error("certificate {subject} not yet valid: valid from {not_before}, checked at {time}")]
    NotYetValid {
        /// Its subject.
        subject: String,
        /// The validation time.
        time: UnixMillis,
        /// Its notBefore.
        not_before: UnixMillis,
    },
    /// No trust anchor or intermediate names the certificate's issuer.
    #[error("no trusted issuer for {subject} (issuer {issuer})")]
    UnknownIssuer {
        /// The certificate whose issuer is unknown.
        subject: String,
        /// Its issuer's name.
        issuer: String,
    },
    /// An issuer with the right name was found, but its signature on the certificate does not verify.
    #[error("the signature of {issuer} on {subject} does not verify: {source}")]
    BadSignature {
        /// The certificate.
        subject: String,
        /// The would-be issuer.
        issuer: String,
        /// Why.
        #[source]
        source: SigError,
    },
    /// The certificate is signed with an algorithm this crate does not implement.
    #[error("certificate {subject} is signed with unsupported algorithm {oid}")]
    UnsupportedSignatureAlgorithm {
        /// The certificate.
        subject: String,
        /// Its signature algorithm (dotted OID).
        oid: String,
    },
    /// The path would be longer than [`MAX_PATH`].
    #[error("certificate path longer than {MAX_PATH}")]
    TooLong,
}

impl ChainError {
    /// True for the validity-time failures (expired, not yet valid).
    pub fn is_time(&self) -> bool {
        matches!(self, Self::Expired { .. } | Self::NotYetValid { .. })
    }
}

/// One certificate of a built path and the signature that links it to the next one up (none
/// for the anchor itself, or for a leaf that is an anchor).
#[derive(Debug, Clone, Copy)]
pub struct PathLink<'c> {
    /// The certificate.
    pub cert: &'c Certificate,
    /// How its issuer signed the certificate below it on the path (none for the leaf).
    pub signature: Option<SigUsed>,
}

fn valid_at(c: &Certificate, time: UnixMillis) -> Result<(), ChainError> {
    if time < c.not_before {
        Err(ChainError::NotYetValid { subject: c.subject_text(), time, not_before: c.not_before })
    } else if time > c.not_after {
        Err(ChainError::Expired { subject: c.subject_text(), time, not_after: c.not_after })
    } else {
        Ok(())
    }
}

/// Certificate signatures already verified, for the whole process.
static CERT_SIG_MEMO: crate::memo::CertSigMemo<SigUsed> = crate::memo::CertSigMemo::new();

/// Forgets every certificate signature remembered so far (benches measure the cold path).
pub(crate) fn clear_cert_sig_memo() {
    CERT_SIG_MEMO.clear();
}

/// The certificate signature of `child` by `issuer`, over its `tbsCertificate` as encoded
/// (successes remembered across calls: see `memo`).
pub(crate) fn signed_by(child: &Certificate, issuer: &Certificate) -> Result<SigUsed, SigError> {
    CERT_SIG_MEMO.get_or_check(&child.der, &issuer.der, || {
        sig::verify(&issuer.spki_algorithm, &issuer.public_key, &child.signature_algorithm, None, &child.tbs, &child.signature)
    })
}

/// Of the candidates named as `cur`'s issuer, the first whose signature on `cur` verifies; or
/// the most telling failure (an unsupported algorithm, a bad signature, no candidate at all).
fn issuer_among<'c>(
    cur: &Certificate,
    candidates: impl Iterator<Item = &'c Certificate>,
) -> Result<(&'c Certificate, SigUsed), ChainError> {
    let mut failure = None;
    for c in candidates {
        match signed_by(cur, c) {
            Ok(used) => return Ok((c, used)),
            Err(SigError::UnsupportedAlgorithm { oid }) => {
                failure = Some(ChainError::UnsupportedSignatureAlgorithm { subject: cur.subject_text(), oid });
            }
            Err(source) => {
                failure.get_or_insert(ChainError::BadSignature { subject: cur.subject_text(), issuer: c.subject_text(), source });
            }
        }
    }
    Err(failure.unwrap_or_else(|| ChainError::UnknownIssuer { subject: cur.subject_text(), issuer: cur.issuer_text() }))
}

/// Builds a path from `leaf` to one of `anchors` through CA certificates of `pool`, every
/// certificate valid at `time`. The path starts with the leaf and ends with the anchor (the
/// leaf itself when it is an anchor).
///
/// # Errors
/// [`ChainError`]; when several candidates fail, the most specific reason.
pub fn build_path<'c>(
    leaf: &'c Certificate,
    pool: &[&'c Certificate],
    anchors: &'c [Certificate],
    time: UnixMillis,
) -> Result<Vec<PathLink<'c>>, ChainError> {
    valid_at(leaf, time)?;
    let mut path = vec![PathLink { cert: leaf, signature: None }];
    let mut cur = leaf;
    for _ in 0..MAX_PATH {
        if anchors.iter().any(|a| a.der == cur.der) {
            return Ok(path);
        }
        let named = |c: &&Certificate| c.subject == cur.issuer;
        let by_anchor = issuer_among(cur, anchors.iter().filter(named));
        if let Ok((a, used)) = by_anchor {
            valid_at(a, time)?;
            path.push(PathLink { cert: a, signature: Some(used) });
            return Ok(path);
        }
        let (c, used) = match issuer_among(cur, pool.iter().copied().filter(|c| named(c) && c.der != cur.der && c.is_ca())) {
            Ok(found) => found,
            // Nothing in the pool either: report the anchors' failure if one was named as the issuer.
            Err(ChainError::UnknownIssuer { .. }) => return Err(by_anchor.err().unwrap_or(ChainError::TooLong)),
            Err(e) => return Err(e),
        };
        valid_at(c, time)?;
        path.push(PathLink { cert: c, signature: Some(used) });
        cur = c;
    }
    Err(ChainError::TooLong)
}
