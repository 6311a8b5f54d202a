//! Claims, their canonical bytes, content hashes and salted commitments.
//!
//! A [`Claim`] is a typed JSON record. Its canonical bytes are the RFC 8785 (JCS) form of
//!
//! ```text
//! {"body": <the claim's JSON object>, "kind": "<claim kind>", "v": 1}
//! ```
//!
//! so the kind is covered by the hash, and a body can never be replayed under another kind.
//! `content_hash = SHA-256(canonical bytes)`.
//!
//! **A body is never altered silently** (RFC 8785 / I-JSON). Read from JSON text with
//! [`Claim::from_json`] (or [`crate::jcs::parse_strict`], as the ledger server reads every
//! request body), an object with the same member name twice at any depth is refused
//! ([`JcsError::DuplicateKey`]) instead of keeping the last one, and an integer no IEEE-754
//! double holds exactly is refused at any size ([`JcsError::UnsafeInteger`]: 2^53+1 as well
//! as a 40-digit integer, which serde_json would otherwise read as a rounded double); such
//! values belong in strings. An integer wider than 64 bits that is exactly the canonical text
//! of its double (e.g. `295147905179352830000`) changes nothing and is accepted. Deserialising
//! a [`Claim`] through serde refuses duplicate names in its body too (wide integers need the
//! text, so only [`Claim::from_json`] catches those).
//!
//! A [`Commitment`] hides the content hash behind 32 random bytes of salt:
//! `commitment = SHA-256("evidence/v1/commitment\0" ‖ salt ‖ content_hash)`.
//! Claims are often low-entropy (a gate decision is "pass" or "fail"), so without the salt
//! anyone could confirm a guess from the public leaf. Erasing a record destroys the salt:
//! the leaf keeps verifying, but nobody can link it to any content again.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jcs::{self, JcsError};
use crate::types::{Commitment, ContentHash, sha256};

/// Domain-separation prefix of commitments (including the trailing NUL).
pub const COMMITMENT_DOMAIN: &[u8] = b"evidence/v1/commitment\0";

/// Version of the claim document wrapper.
pub const CLAIM_DOC_VERSION: u64 = 1;

/// The largest canonical claim accepted, in bytes.
pub const MAX_CLAIM_BYTES: usize = 1 << 20;

macro_rules! claim_kinds {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal;)*) => {
        /// What a claim is about. The code is the value stored in the binary leaf entry.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ClaimKind {
            $($(#[$doc])* $variant,)*
        }

        impl ClaimKind {
            /// Every kind, in code order.
            pub const ALL: &'static [ClaimKind] = &[$(ClaimKind::$variant,)*];

            /// The stable two-byte code used in leaf entries.
            pub const fn code(self) -> u16 {
                match self { $(ClaimKind::$variant => $code,)* }
            }

            /// The stable snake_case name used in JSON.
            pub const fn name(self) -> &'static str {
                match self { $(ClaimKind::$variant => $name,)* }
            }

            /// The kind with this code, if any.
            pub const fn from_code(code: u16) -> Option<Self> {
                match code { $($code => Some(ClaimKind::$variant),)* _ => None }
            }

            /// The kind with this name, if any.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(ClaimKind::$variant),)* _ => None }
            }
        }
    };
}

claim_kinds! {
    /// An analyzer's finding of revenue leakage (staff named by personnel code only).
    LeakageFinding = 1, "leakage_finding";
    /// A gate's pass/fail decision.
    GateDecision = 2, "gate_decision";
    /// A signed-off standard operating procedure attestation.
    SopAttestation = 3, "sop_attestation";
    /// One row of a regulatory submission.
    RiaSubmissionRow = 4, "ria_submission_row";
    /// A record of one call to an AI model (after the call).
    AiInvocationEvent = 5, "ai_invocation_event";
    /// A record of the redaction that preceded an AI call (before the call).
    PiiRedactionEvent = 6, "pii_redaction_event";
    /// A DMS file accepted by ingest: its hash, profile, row count and rejections.
    IngestRecord = 7, "ingest_record";
    /// One authenticated request to the ledger server (its audit log).
    AuditEvent = 8, "audit_event";
    /// Withdraws an earlier claim (linked); the earlier leaf stays.
    Retraction = 64, "retraction";
    /// Replaces an earlier claim (linked) with a newer one.
    Supersession = 65, "supersession";
    /// Records that a claim's record was crypto-shredded.
    Erasure = 66, "erasure";
    /// Records a new anchoring of an existing checkpoint (e.g. for data residency).
    Reanchor = 67, "reanchor";
    /// Flags a time window (e.g. PII found in a model request).
    Incident = 68, "incident";
    /// A signed PDF report the ledger server issued: the PDF's SHA-256 before and after
    /// signing, the period, and the content hashes of the claims it lists.
    ReportIssued = 69, "report_issued";
}

impl ClaimKind {
    /// True for kinds only the ledger itself writes.
    pub const fn is_ledger_generated(self) -> bool {
        self.code() >= 64
    }

    /// True for kinds no client may append: the ledger-generated kinds, and `audit_event`,
    /// which the ledger server appends to its audit logs through the ordinary append path
    /// (so [`Self::is_ledger_generated`] cannot refuse it there) but which a client-written
    /// copy would forge.
    pub const fn is_reserved_for_ledger(self) -> bool {
        self.is_ledger_generated() || matches!(self, ClaimKind::AuditEvent)
    }
}

impl std::fmt::Display for ClaimKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ClaimKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ClaimKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_name(&s).ok_or_else(|| serde::de::Error::custom(format_args!("unknown claim kind {s:?}")))
    }
}

/// Why a claim was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimError {
    /// The body has no canonical form.
    #[error("claim body: {0}")]
    Canonical(#[from] JcsError),
    /// The body must be a JSON object.
    #[error("claim body must be a JSON object")]
    NotAnObject,
    /// JSON text that is not a claim document (`{"kind": …, "body": {…}}`).
    #[error("not a claim: {0}")]
    Shape(String),
    /// The canonical claim is larger than [`MAX_CLAIM_BYTES`].
    #[error("canonical claim is {size} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
}

/// A typed claim: a kind and a JSON object body.
///
/// Deserialising a claim (with any serde format) reads its body strictly: a duplicate
/// member name at any depth is refused rather than silently keeping the last one. From
/// JSON text, use [`Claim::from_json`], which also refuses integers wider than 64 bits that
/// no double holds exactly (serde alone sees those already rounded).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Claim {
    /// What the claim is.
    pub kind: ClaimKind,
    /// The record itself, a JSON object.
    #[serde(deserialize_with = "strict_body")]
    pub body: Value,
}

fn strict_body<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    jcs::StrictJson::deserialize(d).map(|v| v.0)
}

impl Claim {
    /// Makes a claim; the body must be a JSON object.
    ///
    /// # Errors
    /// [`ClaimError::NotAnObject`].
    pub fn new(kind: ClaimKind, body: Value) -> Result<Self, ClaimError> {
        if !body.is_object() {
            return Err(ClaimError::NotAnObject);
        }
        Ok(Self { kind, body })
    }

    /// Reads a claim `{"kind": "<kind>", "body": {…}}` from JSON text, strictly (RFC 8785 /
    /// I-JSON): duplicate member names at any depth, integers no double holds exactly (at any
    /// size), nesting deeper than [`jcs::MAX_DEPTH`] and unknown members are refused, never
    /// silently changed.
    ///
    /// # Errors
    /// [`ClaimError::Canonical`] for text outside I-JSON, [`ClaimError::Shape`] for JSON that
    /// is not a claim, [`ClaimError::NotAnObject`] for a body that is not an object.
    pub fn from_json(text: &[u8]) -> Result<Self, ClaimError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Doc {
            kind: ClaimKind,
            body: Value,
        }
        let v = jcs::parse_strict(text)?;
        let doc: Doc = serde_json::from_value(v).map_err(|e| ClaimError::Shape(e.to_string()))?;
        Self::new(doc.kind, doc.body)
    }

    /// The RFC 8785 bytes of `{"body":…,"kind":…,"v":1}`.
    ///
    /// # Errors
    /// [`ClaimError`] when the body is not an object, has no canonical form, or is too large.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, ClaimError> {
        if !self.body.is_object() {
            return Err(ClaimError::NotAnObject);
        }
        let doc = serde_json::json!({ "v": CLAIM_DOC_VERSION, "kind": self.kind.name(), "body": self.body });
        let bytes = jcs::canonicalize(&doc)?;
        if bytes.len() > MAX_CLAIM_BYTES {
            return Err(ClaimError::TooLarge { size: bytes.len(), max: MAX_CLAIM_BYTES });
        }
        Ok(bytes)
    }

    /// `SHA-256` of the canonical bytes.
    ///
    /// # Errors
    /// As [`Self::canonical_bytes`].
    pub fn content_hash(&self) -> Result<ContentHash, ClaimError> {
        Ok(content_hash_of(&self.canonical_bytes()?))
    }
}

/// `SHA-256(canonical bytes)`.
pub fn content_hash_of(canonical: &[u8]) -> ContentHash {
    ContentHash(sha256(&[canonical]))
}

/// The 32 random bytes that hide a content hash. Generated by the caller (evidence-core has no RNG).
#[derive(Clone, PartialEq, Eq)]
pub struct Salt(pub [u8; 32]);

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The salt is what keeps a low-entropy claim hidden: keep it out of logs.
        f.write_str("Salt(..)")
    }
}

impl Salt {
    /// Reads a salt from exactly 32 bytes.
    pub fn try_from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }
}

/// `SHA-256("evidence/v1/commitment\0" ‖ salt ‖ content_hash)`.
pub fn commitment(salt: &Salt, content: &ContentHash) -> Commitment {
    Commitment(sha256(&[COMMITMENT_DOMAIN, &salt.0, &content.0]))
}

/// Checks in constant time that `salt` and `content` open `expected`.
pub fn opens(expected: &Commitment, salt: &Salt, content: &ContentHash) -> bool {
    use subtle::ConstantTimeEq as _;
    commitment(salt, content).0.ct_eq(&expected.0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_are_unique() {
        let mut codes = std::collections::HashSet::new();
        for k in ClaimKind::ALL {
            assert!(codes.insert(k.code()));
            assert_eq!(ClaimKind::from_code(k.code()), Some(*k));
            assert_eq!(ClaimKind::from_name(k.name()), Some(*k));
        }
        assert_eq!(ClaimKind::from_code(0), None);
        assert_eq!(ClaimKind::from_name("LeakageFinding"), None);
    }

    /// Golden vectors: these values are part of the format and must never change.
    #[test]
    fn golden_content_hash_and_commitment() {
        let claim = Claim::new(
            ClaimKind::GateDecision,
            serde_json::json!({"gate": "cit-aging", "decision": "pass", "deal": "D-10442", "amount": 1250.5}),
        )
        .unwrap();
        let canonical = claim.canonical_bytes().unwrap();
        assert_eq!(
            String::from_utf8(canonical.clone()).unwrap(),
            r#"{"body":{"amount":1250.5,"deal":"D-10442","decision":"pass","gate":"cit-aging"},"kind":"gate_decision","v":1}"#
        );
        let ch = claim.content_hash().unwrap();
        assert_eq!(ch, content_hash_of(&canonical));
        let salt = Salt([7; 32]);
        let c = commitment(&salt, &ch);
        let mut pre = b"evidence/v1/commitment\0".to_vec();
        pre.extend_from_slice(&[7; 32]);
        pre.extend_from_slice(&ch.0);
        assert_eq!(c.0, crate::types::sha256(&[&pre]));
        assert!(opens(&c, &salt, &ch));
        assert!(!opens(&c, &Salt([8; 32]), &ch));
        // Pinned from an independent computation: python3 hashlib.sha256 of the text above.
        insta_like("content_hash", &ch.to_hex(), "bbd5a3d65a537861c57c4fa7be89ae8c3ffdd24c7db7ee8d6aeebfc7b410936a");
    }

    /// Compares a value with its pinned golden value, printing the computed one on mismatch
    /// so a deliberate format change can update the pin consciously.
    fn insta_like(what: &str, got: &str, pinned: &str) {
        assert_eq!(got, pinned, "golden {what} changed: the format is frozen; computed {got}");
    }

    /// A body is never altered silently: the same text read twice must not become two
    /// different records, and what no double holds is refused at every size.
    #[test]
    fn json_text_is_read_strictly() {
        let ok = Claim::from_json(br#"{"kind":"gate_decision","body":{"amount":"1.00","n":9007199254740992}}"#).unwrap();
        assert_eq!(ok.body["n"], 9_007_199_254_740_992_u64);
        for (text, what) in [
            (&br#"{"kind":"gate_decision","body":{"amount":"1.00","amount":"9999.00"}}"#[..], "duplicate at depth 1"),
            (br#"{"kind":"gate_decision","body":{"a":{"b":[{"c":1,"c":2}]}}}"#, "duplicate at depth 4"),
            (br#"{"kind":"gate_decision","kind":"incident","body":{}}"#, "duplicate at the top"),
            (br#"{"kind":"gate_decision","body":{"n":9007199254740993}}"#, "2^53+1"),
            (br#"{"kind":"gate_decision","body":{"n":1234567890123456789012345678901234567890}}"#, "40 digits"),
            (br#"{"kind":"gate_decision","body":{"n":-1234567890123456789012345678901234567890}}"#, "-40 digits"),
            (br#"{"kind":"gate_decision","body":{"n":18446744073709551617}}"#, "2^64+1"),
        ] {
            assert!(matches!(Claim::from_json(text), Err(ClaimError::Canonical(_))), "{what} was accepted");
        }
        // An integer that is exactly its double's canonical text changes nothing: accepted.
        let wide = Claim::from_json(br#"{"kind":"gate_decision","body":{"n":295147905179352830000}}"#).unwrap();
        assert_eq!(
            String::from_utf8(wide.canonical_bytes().unwrap()).unwrap(),
            r#"{"body":{"n":295147905179352830000},"kind":"gate_decision","v":1}"#
        );
        // Digits inside strings are text, not numbers.
        assert!(Claim::from_json(br#"{"kind":"gate_decision","body":{"n":"1234567890123456789012345678901234567890"}}"#).is_ok());
        assert!(matches!(Claim::from_json(br#"{"kind":"gate_decision","body":{},"x":1}"#), Err(ClaimError::Shape(_))));
        assert!(matches!(Claim::from_json(br#"{"kind":"gate_decision","body":[]}"#), Err(ClaimError::NotAnObject)));
        // serde deserialisation of a claim refuses duplicates in its body too.
        let e = serde_json::from_str::<Claim>(r#"{"kind":"gate_decision","body":{"x":{"amount":1,"amount":2}}}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate member name \"amount\""), "{e}");
    }

    #[test]
    fn body_must_be_object() {
        assert_eq!(Claim::new(ClaimKind::Incident, serde_json::json!([1])), Err(ClaimError::NotAnObject));
    }
}
