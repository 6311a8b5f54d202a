//! Signed upload URLs: what a URL grants, its HMAC-SHA-256 signature under a server key with
//! an id, and its verification.
//!
//! The signature covers, in this order and NUL-separated after the domain
//! `"evidence/v1/upload-url\0"`: the method (`PUT`), the tenant, the upload id, the profile,
//! the export, the size limit (decimal) and the expiry (milliseconds since the epoch,
//! decimal). None of these may contain a NUL ([`Grant::validate`]), so the encoding is
//! unambiguous. The URL carries `kid` (which key signed) and `sig` (64 hex digits).
//!
//! **Rotation**: [`UrlKeys`] holds one signing key (the first) and any number of older keys
//! that still verify. To rotate, put the new key first and keep the old one in the list for
//! at least the longest URL lifetime ([`MAX_EXPIRY_MS`], one hour); then remove it. A URL
//! signed by a removed key is refused like an altered one.
//!
//! Verification checks the signature (in constant time) before the expiry, so that an altered
//! expiry is answered as an altered URL, not as an expired one.

use evidence_core::{TenantId, UnixMillis};
use ledger::crypto::SecretKey;
use subtle::ConstantTimeEq as _;

/// Default URL lifetime: 15 minutes.
pub const DEFAULT_EXPIRY_MS: i64 = 15 * 60 * 1000;
/// Longest URL lifetime: 1 hour.
pub const MAX_EXPIRY_MS: i64 = 60 * 60 * 1000;
/// Default size limit: 256 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// What a URL allows: one `PUT` of at most `max_bytes` into `tenant`'s upload `upload_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The tenant.
    pub tenant: TenantId,
    /// The upload id.
    pub upload_id: String,
    /// DMS profile name.
    pub profile: String,
    /// Export name.
    pub export: String,
    /// Size limit.
    pub max_bytes: u64,
    /// Expiry.
    pub expires_at: UnixMillis,
}

/// Why a URL is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The signature does not match (altered, foreign, unknown or retired key): HTTP 403.
    #[error("the upload URL is not valid")]
    BadSignature,
    /// Signed, but past its expiry: HTTP 410.
    #[error("the upload URL has expired")]
    Expired,
    /// A field is malformed (missing query parameter, NUL byte, bad number): HTTP 403.
    #[error("the upload URL is malformed")]
    Malformed,
}

/// One signing key and its id.
#[derive(Clone)]
pub struct UrlKey {
    /// The id carried in URLs (`kid`).
    pub id: String,
    key: SecretKey,
}

impl std::fmt::Debug for UrlKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl UrlKey {
    /// A key with an id (`[A-Za-z0-9_-]{1,32}`).
    ///
    /// # Errors
    /// [`UrlError::Malformed`] for a bad id.
    pub fn new(id: &str, key: SecretKey) -> Result<Self, UrlError> {
        if (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            Ok(Self { id: id.to_owned(), key })
        } else {
            Err(UrlError::Malformed)
        }
    }

    fn mac(&self, message: &[u8]) -> [u8; 32] {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.key.bytes());
        let tag = ring::hmac::sign(&k, message);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// The signing key (first) and the keys that still verify.
#[derive(Clone, Debug)]
pub struct UrlKeys {
    keys: Vec<UrlKey>,
}

impl UrlKeys {
    /// Keys, the first signing; none may share an id.
    ///
    /// # Errors
    /// [`UrlError::Malformed`] for an empty list or a repeated id.
    pub fn new(keys: Vec<UrlKey>) -> Result<Self, UrlError> {
        if keys.is_empty() || keys.iter().enumerate().any(|(i, k)| keys[..i].iter().any(|o| o.id == k.id)) {
            return Err(UrlError::Malformed);
        }
        Ok(Self { keys })
    }

    /// Signs `grant` for `method`: `(kid, sig hex)`.
    ///
    /// # Errors
    /// [`UrlError::Malformed`] when a field holds a NUL.
    pub fn sign(&self, method: &str, grant: &Grant) -> Result<(String, String), UrlError> {
        let msg = message(method, grant)?;
        let k = &self.keys[0];
        Ok((k.id.clone(), hex::encode(k.mac(&msg))))
    }

    /// Verifies a presented `kid` and `sig` over `grant` for `method` at `now`.
    ///
    /// # Errors
    /// [`UrlError`].
    pub fn verify(&self, method: &str, grant: &Grant, kid: &str, sig: &str, now: UnixMillis) -> Result<(), UrlError> {
        let msg = message(method, grant)?;
        let mut presented = [0u8; 32];
        hex::decode_to_slice(sig, &mut presented).map_err(|_| UrlError::BadSignature)?;
        let Some(key) = self.keys.iter().find(|k| k.id == kid) else { return Err(UrlError::BadSignature) };
        if !bool::from(key.mac(&msg).ct_eq(&presented)) {
            return Err(UrlError::BadSignature);
        }
        if now >= grant.expires_at {
            return Err(UrlError::Expired);
        }
        Ok(())
    }
}

impl Grant {
    /// Refuses fields that would make the signed message ambiguous (a NUL) or empty.
    ///
    /// # Errors
    /// [`UrlError::Malformed`].
    pub fn validate(&self) -> Result<(), UrlError> {
        for f in [self.upload_id.as_str(), self.profile.as_str(), self.export.as_str()] {
            if f.is_empty() || f.contains('\0') {
                return Err(UrlError::Malformed);
            }
        }
        Ok(())
    }
}

fn message(method: &str, g: &Grant) -> Result<Vec<u8>, UrlError> {
    g.validate()?;
    if method.contains('\0') {
        return Err(UrlError::Malformed);
    }
    let fields = [method, g.tenant.as_str(), &g.upload_id, &g.profile, &g.export, &g.max_bytes.to_string(), &g.expires_at.0.to_string()];
    let mut m = b"evidence/v1/upload-url\0".to_vec();
    m.extend_from_slice(fields.join("\0").as_bytes());
    Ok(m)
}

/// The expiry of a URL created at `now` asking for `requested_ms` (default
/// [`DEFAULT_EXPIRY_MS`], capped at [`MAX_EXPIRY_MS`]).
pub fn expiry(now: UnixMillis, requested_ms: Option<i64>) -> UnixMillis {
    UnixMillis(now.0.saturating_add(requested_ms.unwrap_or(DEFAULT_EXPIRY_MS).clamp(1, MAX_EXPIRY_MS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, b: u8) -> UrlKey {
        UrlKey::new(id, SecretKey::from_bytes([b; 32])).unwrap()
    }

    fn grant() -> Grant {
        Grant {
            tenant: TenantId::new("acme").unwrap(),
            upload_id: "u1".into(),
            profile: "cdk".into(),
            export: "sales".into(),
            max_bytes: 1000,
            expires_at: UnixMillis(10_000),
        }
    }

    #[test]
    fn signed_urls_verify_until_expiry_only() {
        let keys = UrlKeys::new(vec![key("k2", 2)]).unwrap();
        let (kid, sig) = keys.sign("PUT", &grant()).unwrap();
        assert_eq!(kid, "k2");
        assert_eq!(keys.verify("PUT", &grant(), &kid, &sig, UnixMillis(9_999)), Ok(()));
        assert_eq!(keys.verify("PUT", &grant(), &kid, &sig, UnixMillis(10_000)), Err(UrlError::Expired));
    }

    #[test]
    fn every_signed_field_is_bound() {
        let keys = UrlKeys::new(vec![key("k1", 1)]).unwrap();
        let (kid, sig) = keys.sign("PUT", &grant()).unwrap();
        let now = UnixMillis(1);
        let altered = [
            Grant { tenant: TenantId::new("other").unwrap(), ..grant() },
            Grant { upload_id: "u2".into(), ..grant() },
            Grant { profile: "pbs".into(), ..grant() },
            Grant { export: "service".into(), ..grant() },
            Grant { max_bytes: 1001, ..grant() },
            // An extended expiry is an altered URL (403), not a valid one.
            Grant { expires_at: UnixMillis(20_000), ..grant() },
        ];
        for g in &altered {
            assert_eq!(keys.verify("PUT", g, &kid, &sig, now), Err(UrlError::BadSignature), "{g:?}");
        }
        assert_eq!(keys.verify("POST", &grant(), &kid, &sig, now), Err(UrlError::BadSignature));
        // An expired grant with an altered field is still reported as altered.
        assert_eq!(keys.verify("PUT", &altered[4], &kid, &sig, UnixMillis(50_000)), Err(UrlError::BadSignature));
        let mut bad = sig.clone().into_bytes();
        bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
        assert_eq!(keys.verify("PUT", &grant(), &kid, std::str::from_utf8(&bad).unwrap(), now), Err(UrlError::BadSignature));
        assert_eq!(keys.verify("PUT", &grant(), &kid, "zz", now), Err(UrlError::BadSignature));
        assert_eq!(keys.verify("PUT", &grant(), "nokey", &sig, now), Err(UrlError::BadSignature));
        // Field separation: moving a byte from one field to the next changes the message.
        let a = Grant { profile: "cd".into(), export: "ksales".into(), ..grant() };
        assert_eq!(keys.verify("PUT", &a, &kid, &sig, now), Err(UrlError::BadSignature));
        assert_eq!(keys.sign("PUT", &Grant { upload_id: "a\0b".into(), ..grant() }), Err(UrlError::Malformed));
    }

    #[test]
    fn rotation_old_keys_verify_new_key_signs() {
        let old = UrlKeys::new(vec![key("k1", 1)]).unwrap();
        let (kid1, sig1) = old.sign("PUT", &grant()).unwrap();
        let rotated = UrlKeys::new(vec![key("k2", 2), key("k1", 1)]).unwrap();
        assert_eq!(rotated.verify("PUT", &grant(), &kid1, &sig1, UnixMillis(1)), Ok(()));
        let (kid2, sig2) = rotated.sign("PUT", &grant()).unwrap();
        assert_eq!(kid2, "k2");
        assert_eq!(old.verify("PUT", &grant(), &kid2, &sig2, UnixMillis(1)), Err(UrlError::BadSignature));
        // Retired: k1 removed, its URLs are refused.
        let retired = UrlKeys::new(vec![key("k2", 2)]).unwrap();
        assert_eq!(retired.verify("PUT", &grant(), &kid1, &sig1, UnixMillis(1)), Err(UrlError::BadSignature));
        // A key with the old id but other bytes does not verify the old URLs.
        let swapped = UrlKeys::new(vec![key("k1", 9)]).unwrap();
        assert_eq!(swapped.verify("PUT", &grant(), &kid1, &sig1, UnixMillis(1)), Err(UrlError::BadSignature));
        assert!(UrlKeys::new(vec![key("k1", 1), key("k1", 2)]).is_err());
        assert!(UrlKeys::new(Vec::new()).is_err());
    }

    #[test]
    fn expiry_defaults_and_caps() {
        assert_eq!(expiry(UnixMillis(0), None), UnixMillis(DEFAULT_EXPIRY_MS));
        assert_eq!(expiry(UnixMillis(0), Some(10 * MAX_EXPIRY_MS)), UnixMillis(MAX_EXPIRY_MS));
        assert_eq!(expiry(UnixMillis(5), Some(-3)), UnixMillis(6));
    }
}
