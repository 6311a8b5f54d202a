//! Newtypes for the values that travel through the ledger.
//!
//! Every 32-byte digest has its own type so that a content hash can never be
//! passed where a commitment or a leaf hash is expected, and a root hash never
//! travels without the tree size it belongs to ([`RootHash`]).
//!
//! Bytes from outside are taken through fallible constructors only
//! ([`Commitment::try_from_slice`], [`std::str::FromStr`] on hex); nothing here panics on input.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// Error for a value that does not have the shape its type requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A digest was not exactly 32 bytes.
    #[error("{what}: expected 32 bytes, found {found}")]
    DigestLength {
        /// Which value was being read.
        what: &'static str,
        /// How many bytes there were.
        found: usize,
    },
    /// A digest was not 64 lowercase or uppercase hex digits.
    #[error("{what}: not 64 hex digits")]
    DigestHex {
        /// Which value was being read.
        what: &'static str,
    },
    /// A tenant id broke the naming rule.
    #[error("tenant id {id:?}: {reason}")]
    TenantId {
        /// The refused id (already known not to be secret: ids are public names).
        id: String,
        /// Which rule it broke.
        reason: &'static str,
    },
}

/// A SHA-256 output, the raw material of every digest newtype below.
pub type Digest32 = [u8; 32];

/// Computes SHA-256 over the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> Digest32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

macro_rules! digest_newtype {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Digest32);

        impl $name {
            /// Reads the digest from exactly 32 bytes.
            ///
            /// # Errors
            /// [`ValueError::DigestLength`] when `bytes` is not 32 bytes long.
            pub fn try_from_slice(bytes: &[u8]) -> Result<Self, ValueError> {
                <Digest32>::try_from(bytes)
                    .map(Self)
                    .map_err(|_| ValueError::DigestLength { what: $what, found: bytes.len() })
            }

            /// The 32 raw bytes.
            pub const fn as_bytes(&self) -> &Digest32 {
                &self.0
            }

            /// Lowercase hex, 64 characters.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.to_hex())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, ValueError> {
                if s.len() != 64 {
                    return Err(ValueError::DigestHex { what: $what });
                }
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(|_| ValueError::DigestHex { what: $what })?;
                Ok(Self(out))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

digest_newtype!(
    /// `SHA-256(canonical claim bytes)`: names a claim's content.
    ContentHash,
    "content hash"
);
digest_newtype!(
    /// `SHA-256("evidence/v1/commitment\0" ‖ salt ‖ content_hash)`: hides a claim behind a salt.
    Commitment,
    "commitment"
);
digest_newtype!(
    /// `SHA-256(0x00 ‖ leaf entry)`: a leaf of the RFC 9162 tree.
    LeafHash,
    "leaf hash"
);
digest_newtype!(
    /// A Merkle tree node hash (a leaf hash, an interior node or a root).
    NodeHash,
    "node hash"
);
digest_newtype!(
    /// `SHA-256(checkpoint note body)`: the value anchored on both rails.
    CheckpointHash,
    "checkpoint hash"
);

impl From<LeafHash> for NodeHash {
    fn from(h: LeafHash) -> Self {
        Self(h.0)
    }
}

/// A root hash together with the size of the tree it is the root of.
///
/// A root means nothing without its size, so the two never travel apart.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct RootHash {
    /// The RFC 9162 `MTH` of the first `tree_size` leaves.
    pub hash: NodeHash,
    /// Number of leaves the root covers.
    pub tree_size: TreeSize,
}

/// Number of leaves in a tree.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TreeSize(pub u64);

/// Zero-based position of a leaf, equal to the claim's sequence number in its tenant's log.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(pub u64);

/// Zero-based sequence number of a checkpoint in a tenant's hash chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CheckpointSeq(pub u64);

impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for CheckpointSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A tenant: a dealership rooftop or a consortium.
///
/// Ids are 1 to 64 characters of `a-z`, `0-9`, `-`, `_` and `.`, starting with a
/// letter or digit. The rule keeps ids safe in file names, SQL schema names (after
/// mapping), Fabric keys and checkpoint origins.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// The longest id accepted.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps a tenant id.
    ///
    /// # Errors
    /// [`ValueError::TenantId`] naming the rule that was broken.
    pub fn new(id: impl Into<String>) -> Result<Self, ValueError> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("empty")
        } else if id.len() > Self::MAX_LEN {
            Some("longer than 64 bytes")
        } else if !id.as_bytes()[0].is_ascii_alphanumeric() {
            Some("must start with a-z or 0-9")
        } else if !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')) {
            Some("only a-z, 0-9, '-', '_' and '.' are allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ValueError::TenantId { id, reason }),
            None => Ok(Self(id)),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TenantId {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

/// A point in time, as milliseconds since the Unix epoch (UTC).
///
/// evidence-core never reads a clock: callers pass times in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// Whole seconds since the epoch, rounded down.
    pub const fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Formats as RFC 3339 UTC with milliseconds, e.g. `2026-11-23T04:41:33.000Z`.
    pub fn to_rfc3339(self) -> String {
        let secs = self.seconds();
        let millis = self.0.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", sod / 3600, (sod / 60) % 60, sod % 60)
    }

    /// Builds a time from a UTC calendar date and time of day; `None` when a field is out of range.
    pub fn from_utc(year: i64, month: u32, day: u32, hour: u32, min: u32, sec: u32, millis: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || hour > 23 || min > 59 || sec > 59 || millis > 999 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs = days.checked_mul(86_400)?.checked_add(i64::from(hour * 3600 + min * 60 + sec))?;
        secs.checked_mul(1000)?.checked_add(i64::from(millis)).map(Self)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (the form [`Self::to_rfc3339`] writes).
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        // ASCII only: every index below is then a character boundary.
        let b = s.as_bytes();
        if !s.is_ascii()
            || b.len() < 20
            || *b.last()? != b'Z'
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let t = s.get(r)?;
            if !t.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        };
        let frac = s.get(19..s.len() - 1)?;
        let millis = if frac.is_empty() {
            0
        } else {
            let digits = frac.strip_prefix('.')?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let mut ms = 0u32;
            for (i, c) in digits.bytes().take(3).enumerate() {
                ms += u32::from(c - b'0') * [100, 10, 1][i];
            }
            ms
        };
        Self::from_utc(i64::from(num(0..4)?), num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?, millis)
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's civil calendar algorithms (public domain), proleptic Gregorian.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids() {
        assert!(TenantId::new("rooftop-42.on").is_ok());
        for bad in ["", "-x", "Upper", "a/b", "a b", &"x".repeat(65)] {
            assert!(TenantId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn digest_hex_round_trip_and_errors() {
        let c = Commitment([0xab; 32]);
        assert_eq!(c.to_hex().parse::<Commitment>().unwrap(), c);
        assert!("ab".parse::<Commitment>().is_err());
        assert!("zz".repeat(32).parse::<Commitment>().is_err());
        assert_eq!(Commitment::try_from_slice(&[0; 31]), Err(ValueError::DigestLength { what: "commitment", found: 31 }));
    }

    #[test]
    fn time_round_trip() {
        let t = UnixMillis::from_utc(2026, 11, 23, 4, 41, 33, 7).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T04:41:33.007Z");
        assert_eq!(UnixMillis::parse_rfc3339("2026-11-23T04:41:33.007Z"), Some(t));
        assert_eq!(UnixMillis(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(UnixMillis(-1).to_rfc3339(), "1969-12-31T23:59:59.999Z");
        assert_eq!(UnixMillis::parse_rfc3339("2024-02-29T00:00:00Z").unwrap().seconds(), 1_709_164_800);
        assert!(UnixMillis::parse_rfc3339("2023-02-29T00:00:00Z").is_none());
        assert!(UnixMillis::parse_rfc3339("2023-02-28T00:00:00").is_none());
        // Found by fuzzing (checkpoint_body): a multi-byte character where the fraction starts
        // used to panic on slicing; non-ASCII is refused.
        assert!(UnixMillis::parse_rfc3339("2026-11-18T01:06:4\u{ba}0.0Z").is_none());
        assert!(UnixMillis::parse_rfc3339("2026-11-18T01:06:40\u{e9}Z").is_none());
    }

    proptest::proptest! {
        #[test]
        fn time_format_parse_identity(ms in -62_135_596_800_000i64..253_402_300_799_999i64) {
            let t = UnixMillis(ms);
            proptest::prop_assert_eq!(UnixMillis::parse_rfc3339(&t.to_rfc3339()), Some(t));
        }
    }
}
