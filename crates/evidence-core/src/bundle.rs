//! Evidence bundles (`evidence-bundle/v1`) and their offline verification.
//!
//! A bundle holds everything needed to check one or more claims sealed by one checkpoint,
//! with no access to the ledger: the claim record (unless withheld or erased), its salt,
//! the leaf entry, the inclusion proof, the signed checkpoint, the anchors (RFC 3161
//! tokens, Fabric receipts) and optionally consistency proofs to later checkpoints.
//! Binary fields are base64 (standard alphabet, padded); digests are lowercase hex.
//! `schema/evidence-bundle-v1.schema.json` in this crate is its JSON Schema.
//!
//! This module is the format only. Verification is [`crate::Verifier`] (module
//! [`crate::verify`]), against a [`crate::TrustStore`] obtained independently of the bundle:
//! nothing in the bundle is trusted. What a verified bundle proves, and what it does not, is
//! in the [`crate::verify`] docs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::checkpoint::SignedCheckpoint;
use crate::claim::Claim;
use crate::merkle::{ConsistencyProof, InclusionProof};
use crate::trust::MspCertificates;
use crate::types::{ContentHash, TenantId, UnixMillis};

/// The `format` value of version-1 bundles.
pub const BUNDLE_FORMAT: &str = "evidence-bundle/v1";
/// The largest bundle accepted, in bytes (a bundle with many claims shares one checkpoint).
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;
/// The most claims one bundle may carry.
pub const MAX_CLAIMS: usize = 100_000;

/// The JSON Schema of version-1 bundles.
pub const BUNDLE_SCHEMA: &str = include_str!("../schema/evidence-bundle-v1.schema.json");

/// Bytes that travel as standard base64 in JSON.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Base64(pub Vec<u8>);

impl std::fmt::Debug for Base64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Base64({} bytes)", self.0.len())
    }
}

impl Serialize for Base64 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        crate::note::decode_b64_canonical(&s).map(Self).ok_or_else(|| serde::de::Error::custom("not canonical base64"))
    }
}

/// Whether the claim's record is in the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// The record is included.
    Disclosed,
    /// The record exists but was left out of this bundle.
    Withheld,
    /// The record was crypto-shredded; the salt is gone too.
    Erased,
}

/// One claim in a bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleClaim {
    /// Its leaf index.
    pub seq: u64,
    /// The binary leaf entry.
    pub leaf_entry: Base64,
    /// `SHA-256` of the claim's canonical bytes (absent when erased).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<ContentHash>,
    /// The commitment salt (absent when erased).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<Base64>,
    /// Disclosed, withheld or erased.
    pub record_status: RecordStatus,
    /// The claim itself, when disclosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Claim>,
    /// The inclusion proof to the bundle's checkpoint.
    pub inclusion_proof: InclusionProof,
    /// Incidents whose window covers the claim's append time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<IncidentFlag>,
}

/// An incident that flags a time window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentFlag {
    /// Content hash of the `incident` claim.
    pub incident: ContentHash,
    /// Start of the window.
    pub from: UnixMillis,
    /// End of the window.
    pub to: UnixMillis,
    /// Short reason, e.g. `pii_in_model_request`.
    pub reason: String,
}

/// An RFC 3161 anchor of the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampAnchor {
    /// The TSA's configured name.
    pub tsa: String,
    /// Its jurisdiction (e.g. `CA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// The DER `TimeStampResp` (or bare `TimeStampToken`) as received.
    pub token: Base64,
    /// Extra certificates the verifier may need (DER), e.g. intermediates not in the token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Base64>,
    /// True when the TSA was outside the tenant's residency policy (the checkpoint is re-anchored).
    #[serde(default)]
    pub outside_residency: bool,
}

/// A Hyperledger Fabric anchor of the checkpoint, as evidence-core's Fabric module defines it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricAnchor {
    /// Channel name.
    pub channel: String,
    /// The whole block (protobuf `common.Block`) holding the transaction.
    pub block: Base64,
    /// Index of the transaction in the block.
    pub tx_index: u32,
    /// The key written (`ckpt/<tenant>/<seq>`).
    pub key: String,
    /// The channel's MSP root certificates as captured (informative; trust comes from the trust file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub msp_roots: Vec<MspCertificates>,
}

/// The anchors of the bundle's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchors {
    /// RFC 3161 tokens.
    #[serde(default)]
    pub timestamps: Vec<TimestampAnchor>,
    /// Fabric receipts.
    #[serde(default)]
    pub fabric: Vec<FabricAnchor>,
}

/// A later checkpoint and the proof that it extends the bundle's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaterCheckpoint {
    /// The later signed checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// Consistency proof from the bundle's checkpoint to it.
    pub proof: ConsistencyProof,
}

/// An evidence bundle, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always `evidence-bundle/v1`.
    pub format: String,
    /// The ledger's name (the origin prefix).
    pub ledger: String,
    /// The tenant.
    pub tenant: TenantId,
    /// The signed checkpoint the claims are proven against.
    pub checkpoint: SignedCheckpoint,
    /// The claims.
    pub claims: Vec<BundleClaim>,
    /// Anchors of the checkpoint.
    #[serde(default)]
    pub anchors: Anchors,
    /// Later checkpoints with consistency proofs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub later_checkpoints: Vec<LaterCheckpoint>,
}

/// Why a bundle could not even be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("bundle is {0} bytes, over the {MAX_BUNDLE_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not valid bundle JSON.
    #[error("bundle is not valid evidence-bundle/v1 JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Unknown format.
    #[error("unsupported bundle format {0:?} (expected evidence-bundle/v1)")]
    Format(String),
    /// Too many claims.
    #[error("bundle has {0} claims, more than {MAX_CLAIMS}")]
    TooManyClaims(usize),
}

impl Bundle {
    /// Parses bundle JSON with size and shape limits.
    ///
    /// # Errors
    /// [`BundleError`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge(bytes.len()));
        }
        // serde_json limits nesting to 128 levels; the schema itself is shallow.
        let b: Self = serde_json::from_slice(bytes)?;
        if b.format != BUNDLE_FORMAT {
            return Err(BundleError::Format(b.format));
        }
        if b.claims.len() > MAX_CLAIMS {
            return Err(BundleError::TooManyClaims(b.claims.len()));
        }
        Ok(b)
    }
}
