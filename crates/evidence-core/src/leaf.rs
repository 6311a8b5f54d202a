//! The binary leaf entry: what each leaf of a tenant's Merkle tree commits to.
//!
//! # Format, version 1
//!
//! All integers are big-endian. The entry is self-delimiting and has exactly one encoding:
//! a decoder that accepts bytes re-encodes them to the same bytes.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | format version, `0x01` |
//! | 1 | 1 | `L`, the length of the tenant id, 1..=64 |
//! | 2 | `L` | tenant id, ASCII (see [`TenantId`] for the rule) |
//! | 2+L | 8 | sequence number `u64`: the leaf index in the tenant's log |
//! | 10+L | 2 | claim kind code `u16` (see [`ClaimKind::code`]) |
//! | 12+L | 8 | append time, milliseconds since the Unix epoch, `i64` |
//! | 20+L | 32 | commitment |
//! | 52+L | 1 | `N`, the number of links, 0..=32 |
//! | 53+L | 32·N | links: content hashes of related claims, in the order given |
//!
//! Total length `53 + L + 32·N` bytes; nothing may follow. Leaf hash (RFC 9162 §2.1.1):
//! `SHA-256(0x00 ‖ entry)`.
//!
//! Unknown claim kind codes are kept as numbers, so that a verifier older than the log
//! still checks the inclusion of a leaf of a newer kind.

use crate::claim::ClaimKind;
use crate::types::{Commitment, ContentHash, LeafHash, Seq, TenantId, UnixMillis, sha256};

/// The only format version defined so far.
pub const LEAF_FORMAT_V1: u8 = 1;

/// The most links one entry may carry.
pub const MAX_LINKS: usize = 32;

/// A leaf entry (see the module docs for its bytes).
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct LeafEntry {
    /// The tenant whose log holds the leaf.
    pub tenant: TenantId,
    /// Index of the leaf in that log.
    pub seq: Seq,
    /// Claim kind code (known codes: [`ClaimKind`]).
    pub kind_code: u16,
    /// When the ledger appended the claim.
    pub appended_at: UnixMillis,
    /// The salted commitment to the claim.
    pub commitment: Commitment,
    /// Content hashes of related claims (the claim a retraction retracts, the paired event, ...).
    pub links: Vec<ContentHash>,
}

/// Why bytes are not a leaf entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeafError {
    /// Ended early.
    #[error("leaf entry truncated: needed {needed} bytes at offset {offset}, {available} left")]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A version this code does not know.
    #[error("leaf entry version {0} is not supported (expected 1)")]
    Version(u8),
    /// The tenant id is not valid.
    #[error("leaf entry tenant id: {0}")]
    Tenant(#[from] crate::types::ValueError),
    /// More links than allowed.
    #[error("leaf entry has {0} links, more than {MAX_LINKS}")]
    TooManyLinks(usize),
    /// Bytes after the last link.
    #[error("{0} bytes after the end of the leaf entry")]
    TrailingBytes(usize),
    /// A kind code this code does not know (a receipt names a known kind).
    #[error("leaf entry kind code {0} is not a known claim kind")]
    UnknownKind(u16),
}

impl LeafEntry {
    /// The known claim kind, if the code is one.
    pub fn kind(&self) -> Option<ClaimKind> {
        ClaimKind::from_code(self.kind_code)
    }

    /// The version-1 bytes.
    ///
    /// # Errors
    /// [`LeafError::TooManyLinks`] when there are more than [`MAX_LINKS`] links.
    pub fn encode(&self) -> Result<Vec<u8>, LeafError> {
        let n = u8::try_from(self.links.len())
            .ok()
            .filter(|n| usize::from(*n) <= MAX_LINKS)
            .ok_or(LeafError::TooManyLinks(self.links.len()))?;
        let t = self.tenant.as_str().as_bytes();
        let mut out = Vec::with_capacity(53 + t.len() + 32 * self.links.len());
        out.push(LEAF_FORMAT_V1);
        // A TenantId is at most 64 bytes, so its length fits in one byte.
        out.push(
            u8::try_from(t.len())
                .map_err(|_| LeafError::Tenant(crate::types::ValueError::TenantId { id: self.tenant.to_string(), reason: "too long" }))?,
        );
        out.extend_from_slice(t);
        out.extend_from_slice(&self.seq.0.to_be_bytes());
        out.extend_from_slice(&self.kind_code.to_be_bytes());
        out.extend_from_slice(&self.appended_at.0.to_be_bytes());
        out.extend_from_slice(&self.commitment.0);
        out.push(n);
        for l in &self.links {
            out.extend_from_slice(&l.0);
        }
        Ok(out)
    }

    /// Parses version-1 bytes, strictly.
    ///
    /// # Errors
    /// [`LeafError`] naming the field and offset.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.take(1)?[0];
        if version != LEAF_FORMAT_V1 {
            return Err(LeafError::Version(version));
        }
        let len = usize::from(r.take(1)?[0]);
        let tenant = std::str::from_utf8(r.take(len)?)
            .map_err(|_| crate::types::ValueError::TenantId { id: String::from("<not UTF-8>"), reason: "not UTF-8" })?;
        let tenant = TenantId::new(tenant)?;
        let seq = Seq(u64::from_be_bytes(r.array()?));
        let kind_code = u16::from_be_bytes(r.array()?);
        let appended_at = UnixMillis(i64::from_be_bytes(r.array()?));
        let commitment = Commitment(r.array()?);
        let n = usize::from(r.take(1)?[0]);
        if n > MAX_LINKS {
            return Err(LeafError::TooManyLinks(n));
        }
        let mut links = Vec::with_capacity(n);
        for _ in 0..n {
            links.push(ContentHash(r.array()?));
        }
        if r.pos != bytes.len() {
            return Err(LeafError::TrailingBytes(bytes.len() - r.pos));
        }
        Ok(Self { tenant, seq, kind_code, appended_at, commitment, links })
    }

    /// `SHA-256(0x00 ‖ entry)`.
    ///
    /// # Errors
    /// As [`Self::encode`].
    pub fn leaf_hash(&self) -> Result<LeafHash, LeafError> {
        Ok(leaf_hash_of(&self.encode()?))
    }
}

/// RFC 9162 leaf hash of entry bytes: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash_of(entry: &[u8]) -> LeafHash {
    LeafHash(sha256(&[&[0x00], entry]))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], LeafError> {
        let available = self.bytes.len() - self.pos;
        if n > available {
            return Err(LeafError::Truncated { offset: self.pos, needed: n, available });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], LeafError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LeafEntry {
        LeafEntry {
            tenant: TenantId::new("rooftop-7").unwrap(),
            seq: Seq(41),
            kind_code: ClaimKind::Retraction.code(),
            appended_at: UnixMillis(1_795_000_000_123),
            commitment: Commitment([0x11; 32]),
            links: vec![ContentHash([0x22; 32])],
        }
    }

    /// Golden vector: the byte layout documented above, field by field.
    #[test]
    fn golden_bytes() {
        let bytes = sample().encode().unwrap();
        let mut want = vec![1u8, 9];
        want.extend_from_slice(b"rooftop-7");
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 41]);
        want.extend_from_slice(&[0, 64]);
        want.extend_from_slice(&1_795_000_000_123i64.to_be_bytes());
        want.extend_from_slice(&[0x11; 32]);
        want.push(1);
        want.extend_from_slice(&[0x22; 32]);
        assert_eq!(bytes, want);
        assert_eq!(bytes.len(), 53 + 9 + 32);
        assert_eq!(hex::encode(sample().leaf_hash().unwrap().0), hex::encode(sha256(&[&[0], &want])),);
        // Pinned from an independent computation (python3 hashlib + struct.pack('>QHq')).
        assert_eq!(sample().leaf_hash().unwrap().to_hex(), "43ee7b44d90b8cc2f892acf5ee6bd86f5e224e45d2afd57a9aa220145874998e");
    }

    #[test]
    fn decode_is_strict() {
        let bytes = sample().encode().unwrap();
        assert_eq!(LeafEntry::decode(&bytes).unwrap(), sample());
        for cut in 0..bytes.len() {
            assert!(matches!(LeafEntry::decode(&bytes[..cut]), Err(LeafError::Truncated { .. })), "cut {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(LeafEntry::decode(&extra), Err(LeafError::TrailingBytes(1)));
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert_eq!(LeafEntry::decode(&v2), Err(LeafError::Version(2)));
        let mut bad_tenant = bytes;
        bad_tenant[2] = b'R';
        assert!(matches!(LeafEntry::decode(&bad_tenant), Err(LeafError::Tenant(_))));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics_and_reencodes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(e) = LeafEntry::decode(&bytes) {
                proptest::prop_assert_eq!(e.encode().unwrap(), bytes);
            }
        }

        #[test]
        fn encode_decode_identity(seq in 0u64.., code in 0u16.., t in proptest::num::i64::ANY, n in 0usize..=MAX_LINKS) {
            let e = LeafEntry {
                tenant: TenantId::new("t").unwrap(), seq: Seq(seq), kind_code: code, appended_at: UnixMillis(t),
                commitment: Commitment([3; 32]), links: vec![ContentHash([9; 32]); n],
            };
            proptest::prop_assert_eq!(LeafEntry::decode(&e.encode().unwrap()).unwrap(), e);
        }
    }
}
