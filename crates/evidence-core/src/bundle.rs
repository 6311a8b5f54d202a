//! Evidence bundles (`evidence-bundle/v1`) and their offline verification.
//!
//! A bundle holds everything needed to check one or more claims sealed by one checkpoint,
//! with no access to the ledger: the claim record (unless withheld or erased), its salt,
//! the leaf entry, the inclusion proof, the signed checkpoint, the anchors (RFC 3161
//! tokens, Fabric receipts) and optionally consistency proofs to later checkpoints.
//! Binary fields are base64 (standard alphabet, padded); digests are lowercase hex.
//! `schema/evidence-bundle-v1.schema.json` in this crate is its JSON Schema.
//!
//! Verification needs a [`TrustFile`] obtained independently of the bundle: the ledger's
//! checkpoint key, the TSA roots and the Fabric MSP roots. Nothing in the bundle is trusted.
//!
//! # What a verified bundle proves, and what it does not
//!
//! It shows that the claim's bytes (or, when the record is not disclosed, a commitment to
//! them) are leaf N of tenant T's log; that the ledger key signed a checkpoint of that log
//! whose hash the anchors name; and, with the anchors checked, that the checkpoint existed
//! no later than the TSA's genTime and the Fabric block. It does not show that the claim
//! is true, that nothing else was said, or anything about events before the claim was made.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, SignedCheckpoint, tenant_verifier};
use crate::claim::{self, Claim, Salt};
use crate::leaf::LeafEntry;
use crate::merkle::{ConsistencyProof, InclusionProof};
use crate::types::{CheckpointHash, ContentHash, TenantId, UnixMillis};

/// The `format` value of version-1 bundles.
pub const BUNDLE_FORMAT: &str = "evidence-bundle/v1";
/// The `format` value of version-1 trust files.
pub const TRUST_FORMAT: &str = "evidence-trust/v1";
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
    pub msp_roots: Vec<MspRoots>,
}

/// Root certificates of one MSP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MspRoots {
    /// MSP id, e.g. `Org1MSP`.
    pub msp_id: String,
    /// PEM root certificates.
    pub roots_pem: Vec<String>,
    /// True for an orderer organisation.
    #[serde(default)]
    pub orderer: bool,
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

/// The verifier's trust material, obtained independently of any bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    /// Always `evidence-trust/v1`.
    pub format: String,
    /// Ledger identities whose checkpoints are trusted.
    pub ledgers: Vec<LedgerKey>,
    /// TSA trust anchors (PEM).
    #[serde(default)]
    pub tsa_roots_pem: Vec<String>,
    /// Fabric MSP roots.
    #[serde(default)]
    pub fabric_msps: Vec<MspRoots>,
    /// True for development trust material (dev TSA, dev keys): never evidence.
    #[serde(default)]
    pub development: bool,
}

/// A ledger's name and Ed25519 checkpoint key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerKey {
    /// The ledger name (origins are `<name>/tenant/<tenant>`).
    pub name: String,
    /// The 32-byte Ed25519 public key.
    pub ed25519_public_key: Base64,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Passed; the detail states the fact established.
    Pass(String),
    /// Failed; the detail says why.
    Fail(String),
    /// Passed with a caveat (e.g. a weak algorithm, an unsigned field).
    Warn(String),
    /// Not checked; the detail says why (e.g. record not disclosed).
    NotApplicable(String),
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier of the check, e.g. `claim.inclusion`.
    pub id: String,
    /// What was checked, e.g. `claim 41`.
    pub subject: String,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Check {
    fn new(id: &str, subject: impl Into<String>, outcome: Outcome) -> Self {
        Self { id: id.to_owned(), subject: subject.into(), outcome }
    }
}

/// Verifies the anchors of a bundle. evidence-core's RFC 3161 and Fabric modules provide
/// the standard one; the trait keeps this module independent of them.
pub trait AnchorVerifier {
    /// Checks one RFC 3161 anchor against the checkpoint hash.
    fn timestamp(&self, anchor: &TimestampAnchor, checkpoint_hash: &CheckpointHash, trust: &TrustFile) -> Vec<Check>;
    /// Checks one Fabric anchor against the checkpoint hash.
    fn fabric(&self, anchor: &FabricAnchor, checkpoint_hash: &CheckpointHash, trust: &TrustFile) -> Vec<Check>;
}

/// The overall verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed (warnings allowed) and the required anchors verified.
    Verified,
    /// A check failed.
    NotVerified,
}

/// The full result of [`verify_bundle_offline`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BundleReport {
    /// The verdict.
    pub verdict: Verdict,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// The verified checkpoint (when its signature verified).
    pub checkpoint: Option<Checkpoint>,
    /// Its hash.
    pub checkpoint_hash: Option<CheckpointHash>,
    /// How many RFC 3161 anchors verified.
    pub timestamps_verified: usize,
    /// How many Fabric anchors verified.
    pub fabric_verified: usize,
    /// True when the trust file is development material.
    pub development_trust: bool,
}

/// What a verification requires beyond the Merkle and checkpoint checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirements {
    /// At least this many RFC 3161 anchors must verify.
    pub min_timestamps: usize,
    /// At least this many Fabric anchors must verify.
    pub min_fabric: usize,
}

impl Default for Requirements {
    /// One anchor on each rail, as the ledger produces.
    fn default() -> Self {
        Self { min_timestamps: 1, min_fabric: 1 }
    }
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

/// Verifies everything in a bundle that can be checked offline.
///
/// Without an [`AnchorVerifier`], anchors are reported as not checked and the verdict is
/// [`Verdict::NotVerified`] whenever `required` asks for anchors.
pub fn verify_bundle_offline(
    bundle: &Bundle,
    trust: &TrustFile,
    anchors: Option<&dyn AnchorVerifier>,
    required: Requirements,
) -> BundleReport {
    let mut checks = Vec::new();
    let mut report = BundleReport {
        verdict: Verdict::NotVerified,
        checks: Vec::new(),
        checkpoint: None,
        checkpoint_hash: None,
        timestamps_verified: 0,
        fabric_verified: 0,
        development_trust: trust.development,
    };
    if trust.format != TRUST_FORMAT {
        checks.push(Check::new("trust.format", "trust file", Outcome::Fail(format!("unsupported trust format {:?}", trust.format))));
    }
    if bundle.format != BUNDLE_FORMAT {
        checks.push(Check::new("bundle.format", "bundle", Outcome::Fail(format!("unsupported bundle format {:?}", bundle.format))));
    }
    if trust.development {
        checks.push(Check::new(
            "trust.development",
            "trust file",
            Outcome::Warn("the trust file is DEVELOPMENT material: keys and TSA are not trustworthy; this is not evidence".into()),
        ));
    }

    // 1. The checkpoint: signed by the trusted ledger key for this tenant.
    let cp = verify_checkpoint(bundle, trust, &mut checks);
    if let Some(cp) = &cp {
        let cp_hash = cp.hash();
        report.checkpoint_hash = Some(cp_hash);
        // 2. Each claim.
        for c in &bundle.claims {
            verify_claim(bundle, cp, c, &mut checks);
        }
        if bundle.claims.is_empty() {
            checks.push(Check::new("bundle.claims", "bundle", Outcome::Fail("the bundle holds no claim".into())));
        }
        // 3. Later checkpoints: the log only grew.
        for later in &bundle.later_checkpoints {
            verify_later(bundle, trust, cp, later, &mut checks);
        }
        // 4. Anchors.
        if let Some(v) = anchors {
            // An anchor counts only when something passed and nothing failed.
            let verified = |cs: &[Check]| {
                cs.iter().any(|c| matches!(c.outcome, Outcome::Pass(_))) && cs.iter().all(|c| !matches!(c.outcome, Outcome::Fail(_)))
            };
            for a in &bundle.anchors.timestamps {
                let cs = v.timestamp(a, &cp_hash, trust);
                if verified(&cs) && !a.outside_residency {
                    report.timestamps_verified += 1;
                }
                checks.extend(cs);
            }
            for a in &bundle.anchors.fabric {
                let cs = v.fabric(a, &cp_hash, trust);
                if verified(&cs) {
                    report.fabric_verified += 1;
                }
                checks.extend(cs);
            }
        } else {
            for a in &bundle.anchors.timestamps {
                checks.push(Check::new(
                    "anchor.timestamp",
                    format!("TSA {}", a.tsa),
                    Outcome::NotApplicable("no RFC 3161 verifier was supplied".into()),
                ));
            }
            for a in &bundle.anchors.fabric {
                checks.push(Check::new(
                    "anchor.fabric",
                    format!("channel {}", a.channel),
                    Outcome::NotApplicable("no Fabric verifier was supplied".into()),
                ));
            }
        }
        if report.timestamps_verified < required.min_timestamps {
            checks.push(Check::new(
                "anchors.timestamps",
                "bundle",
                Outcome::Fail(format!(
                    "{} RFC 3161 anchor(s) verified within residency, {} required",
                    report.timestamps_verified, required.min_timestamps
                )),
            ));
        }
        if report.fabric_verified < required.min_fabric {
            checks.push(Check::new(
                "anchors.fabric",
                "bundle",
                Outcome::Fail(format!("{} Fabric anchor(s) verified, {} required", report.fabric_verified, required.min_fabric)),
            ));
        }
    }
    report.checkpoint = cp;
    report.verdict = if checks.iter().any(|c| matches!(c.outcome, Outcome::Fail(_))) { Verdict::NotVerified } else { Verdict::Verified };
    report.checks = checks;
    report
}

fn verify_checkpoint(bundle: &Bundle, trust: &TrustFile, checks: &mut Vec<Check>) -> Option<Checkpoint> {
    let Some(ledger) = trust.ledgers.iter().find(|l| l.name == bundle.ledger) else {
        checks.push(Check::new(
            "checkpoint.key",
            "checkpoint",
            Outcome::Fail(format!("the trust file has no key for ledger {:?}", bundle.ledger)),
        ));
        return None;
    };
    let key =
        <[u8; 32]>::try_from(ledger.ed25519_public_key.0.as_slice()).ok().and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok());
    let Some(key) = key else {
        checks.push(Check::new("checkpoint.key", "trust file", Outcome::Fail("the ledger key is not a valid Ed25519 public key".into())));
        return None;
    };
    let verifier = match tenant_verifier(&ledger.name, &bundle.tenant, key) {
        Ok(v) => v,
        Err(e) => {
            checks.push(Check::new("checkpoint.key", "trust file", Outcome::Fail(e.to_string())));
            return None;
        }
    };
    match bundle.checkpoint.verify(&verifier) {
        Ok(cp) if cp.tenant == bundle.tenant => {
            checks.push(Check::new(
                "checkpoint.signature",
                format!("checkpoint {} of tenant {}", cp.seq, cp.tenant),
                Outcome::Pass(format!(
                    "signed by ledger key {}; the log had {} leaves with root {} when sealed at {}",
                    verifier.to_vkey(),
                    cp.root.tree_size,
                    cp.root.hash,
                    cp.sealed_at
                )),
            ));
            Some(cp)
        }
        Ok(cp) => {
            checks.push(Check::new(
                "checkpoint.tenant",
                "checkpoint",
                Outcome::Fail(format!("checkpoint is for tenant {}, bundle says {}", cp.tenant, bundle.tenant)),
            ));
            None
        }
        Err(e) => {
            checks.push(Check::new("checkpoint.signature", "checkpoint", Outcome::Fail(e.to_string())));
            None
        }
    }
}

fn verify_claim(bundle: &Bundle, cp: &Checkpoint, c: &BundleClaim, checks: &mut Vec<Check>) {
    let subject = format!("claim {} of tenant {}", c.seq, bundle.tenant);
    let entry = match LeafEntry::decode(&c.leaf_entry.0) {
        Ok(e) => e,
        Err(e) => {
            checks.push(Check::new("claim.leaf_entry", subject, Outcome::Fail(format!("leaf entry: {e}"))));
            return;
        }
    };
    if entry.tenant != bundle.tenant || entry.seq.0 != c.seq || c.inclusion_proof.leaf_index != c.seq {
        checks.push(Check::new(
            "claim.leaf_entry",
            subject,
            Outcome::Fail("leaf entry, proof and bundle disagree on tenant or sequence number".into()),
        ));
        return;
    }
    let leaf = crate::leaf::leaf_hash_of(&c.leaf_entry.0);
    match c.inclusion_proof.verify(&leaf, &cp.root) {
        Ok(()) => checks.push(Check::new(
            "claim.inclusion",
            subject.clone(),
            Outcome::Pass(format!(
                "leaf {} (hash {}) is in the log of {} leaves sealed by checkpoint {}",
                c.seq, leaf, cp.root.tree_size, cp.seq
            )),
        )),
        Err(e) => {
            checks.push(Check::new("claim.inclusion", subject, Outcome::Fail(e.to_string())));
            return;
        }
    }
    let kind = entry.kind().map_or_else(|| format!("unknown kind code {}", entry.kind_code), |k| k.name().to_owned());
    match (&c.record, &c.content_hash, &c.salt, c.record_status) {
        (Some(record), Some(ch), Some(salt), RecordStatus::Disclosed) => {
            match record.content_hash() {
                Ok(computed) if computed == *ch => {}
                Ok(computed) => {
                    checks.push(Check::new(
                        "claim.record",
                        subject,
                        Outcome::Fail(format!("the record hashes to {computed}, the bundle says {ch}")),
                    ));
                    return;
                }
                Err(e) => {
                    checks.push(Check::new("claim.record", subject, Outcome::Fail(format!("the record has no canonical form: {e}"))));
                    return;
                }
            }
            if record.kind.code() != entry.kind_code {
                checks.push(Check::new(
                    "claim.record",
                    subject,
                    Outcome::Fail(format!("the record is a {}, the leaf says {kind}", record.kind)),
                ));
                return;
            }
            check_commitment(&subject, &entry, ch, salt, checks, "the disclosed record");
        }
        (None, Some(ch), Some(salt), RecordStatus::Withheld) => {
            check_commitment(&subject, &entry, ch, salt, checks, "a record that is not disclosed in this bundle");
        }
        (None, None, None, RecordStatus::Erased) => checks.push(Check::new(
            "claim.record",
            subject,
            Outcome::NotApplicable(format!(
                "the record of this {kind} claim was erased: its content is not disclosed and can no longer be linked to the leaf"
            )),
        )),
        _ => checks.push(Check::new(
            "claim.record",
            subject,
            Outcome::Fail("record, content hash, salt and record_status are inconsistent".into()),
        )),
    }
    for f in &c.incidents {
        checks.push(Check::new(
            "claim.incident",
            format!("claim {}", c.seq),
            Outcome::Warn(format!("appended inside incident window {} to {} ({}), incident claim {}", f.from, f.to, f.reason, f.incident)),
        ));
    }
}

fn check_commitment(subject: &str, entry: &LeafEntry, ch: &ContentHash, salt: &Base64, checks: &mut Vec<Check>, what: &str) {
    let Some(salt) = Salt::try_from_slice(&salt.0) else {
        checks.push(Check::new("claim.commitment", subject, Outcome::Fail("the salt is not 32 bytes".into())));
        return;
    };
    if claim::opens(&entry.commitment, &salt, ch) {
        checks.push(Check::new(
            "claim.commitment",
            subject,
            Outcome::Pass(format!("the leaf's commitment opens to content hash {ch} of {what}")),
        ));
    } else {
        checks.push(Check::new(
            "claim.commitment",
            subject,
            Outcome::Fail("the salt and content hash do not open the leaf's commitment".into()),
        ));
    }
}

fn verify_later(bundle: &Bundle, trust: &TrustFile, cp: &Checkpoint, later: &LaterCheckpoint, checks: &mut Vec<Check>) {
    let subject = "later checkpoint".to_owned();
    let key = trust
        .ledgers
        .iter()
        .find(|l| l.name == bundle.ledger)
        .and_then(|l| <[u8; 32]>::try_from(l.ed25519_public_key.0.as_slice()).ok())
        .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
        .and_then(|k| tenant_verifier(&bundle.ledger, &bundle.tenant, k).ok());
    let Some(v) = key else { return };
    match later.checkpoint.verify(&v) {
        Ok(next) => match later.proof.verify(&cp.root, &next.root) {
            Ok(()) => checks.push(Check::new(
                "checkpoint.consistency",
                format!("checkpoint {} -> {}", cp.seq, next.seq),
                Outcome::Pass(format!(
                    "the log grew from {} to {} leaves without changing the earlier ones",
                    cp.root.tree_size, next.root.tree_size
                )),
            )),
            Err(e) => checks.push(Check::new(
                "checkpoint.consistency",
                format!("checkpoint {} -> {}", cp.seq, next.seq),
                Outcome::Fail(e.to_string()),
            )),
        },
        Err(e) => checks.push(Check::new("checkpoint.consistency", subject, Outcome::Fail(e.to_string()))),
    }
}

/// The standard anchor verifier: RFC 3161 tokens with [`crate::rfc3161`], against the
/// trust file's TSA roots, at genTime, stamping the checkpoint hash as a SHA-256 imprint;
/// Fabric receipts with [`crate::fabric`], against the trust file's MSP roots, at the
/// transaction's time.
#[derive(Debug, Default, Clone, Copy)]
pub struct StandardAnchors;

impl AnchorVerifier for StandardAnchors {
    fn timestamp(&self, anchor: &TimestampAnchor, checkpoint_hash: &CheckpointHash, trust: &TrustFile) -> Vec<Check> {
        crate::rfc3161::bundle_check(anchor, checkpoint_hash, trust)
    }

    fn fabric(&self, anchor: &FabricAnchor, checkpoint_hash: &CheckpointHash, trust: &TrustFile) -> Vec<Check> {
        fabric_check(anchor, checkpoint_hash, trust)
    }
}

/// Checks one Fabric anchor offline against the trust file's MSP roots (never the roots the
/// receipt carries): the block verifies (data hash, orderer signature by an orderer MSP,
/// creator and endorsement signatures at the transaction's time), and the transaction at
/// `tx_index` writes `key` = the checkpoint hash and is flagged valid (the flag is unsigned
/// and reported as such).
fn fabric_check(anchor: &FabricAnchor, checkpoint_hash: &CheckpointHash, trust: &TrustFile) -> Vec<Check> {
    use crate::fabric::{AnchorAt, MspRoots, VerifyOptions as FabricOptions, verify_anchor};
    let subject = format!("Fabric channel {}", anchor.channel);
    let mut roots = MspRoots::new();
    for m in &trust.fabric_msps {
        for pem in &m.roots_pem {
            if let Err(e) = roots.add_pem(&m.msp_id, pem.as_bytes()) {
                return vec![Check::new("anchor.fabric", subject, Outcome::Fail(format!("trust file MSP {}: {e}", m.msp_id)))];
            }
        }
        if m.orderer {
            roots.add_orderer_msp(&m.msp_id);
        }
    }
    let opts = FabricOptions::default();
    // The bundle names the transaction by index; its id is read from the verified block.
    let at = AnchorAt { channel: &anchor.channel, tx_index: u64::from(anchor.tx_index), tx_id: None };
    match verify_anchor(&anchor.block.0, &at, checkpoint_hash, &anchor.key, &roots, None, &opts) {
        Ok(r) => {
            let endorsers: Vec<String> = r
                .block
                .transactions
                .get(usize::try_from(r.tx_index).unwrap_or(usize::MAX))
                .map(|t| t.endorsements.iter().map(|e| e.msp_id.clone()).collect())
                .unwrap_or_default();
            let orderers: Vec<String> = r.block.orderer_signatures.iter().map(|o| o.msp_id.clone()).collect();
            vec![
                Check::new(
                    "anchor.fabric",
                    subject.clone(),
                    Outcome::Pass(format!(
                        "transaction {} in block {} writes {} = this checkpoint's hash; endorsed by {}; block signed by orderer {}; certificates checked at the transaction's time",
                        r.tx_id,
                        r.block.number,
                        r.key,
                        endorsers.join(", "),
                        orderers.join(", ")
                    )),
                ),
                Check::new(
                    "anchor.fabric.validation_flag",
                    subject,
                    Outcome::Warn("the block's validation flag says VALID; that flag is not covered by any signature".into()),
                ),
            ]
        }
        Err(e) => vec![Check::new("anchor.fabric", subject, Outcome::Fail(e.to_string()))],
    }
}

/// An [`AnchorVerifier`] that remembers the checks of each anchor it has verified, for
/// verifying many bundles that share checkpoints (every claim sealed in the same hour shares
/// its checkpoint's anchors).
///
/// The checks of an anchor are a pure function of the anchor, the checkpoint hash and the
/// trust file (tokens are checked at genTime and receipts at the transaction's time, never
/// at "now"), so the memo is keyed on SHA-256 of all three, serialised. It keeps at most
/// [`MemoAnchors::CAP`] anchors; beyond that anchors are verified without being remembered.
#[derive(Debug)]
pub struct MemoAnchors<A> {
    inner: A,
    done: crate::memo::BoundedMemo<[u8; 32], Vec<Check>>,
}

impl<A: Default + AnchorVerifier> Default for MemoAnchors<A> {
    fn default() -> Self {
        Self::new(A::default())
    }
}

impl<A: AnchorVerifier> MemoAnchors<A> {
    /// Anchors remembered at most.
    pub const CAP: usize = 65_536;

    /// Wraps `inner`.
    pub fn new(inner: A) -> Self {
        Self { inner, done: crate::memo::BoundedMemo::new(Self::CAP) }
    }

    fn key(rail: &str, anchor: &impl Serialize, checkpoint_hash: &CheckpointHash, trust: &TrustFile) -> Option<[u8; 32]> {
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        for part in [rail.as_bytes(), &serde_json::to_vec(anchor).ok()?, checkpoint_hash.0.as_slice(), &serde_json::to_vec(trust).ok()?] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        Some(h.finalize().into())
    }

    fn memo(&self, key: Option<[u8; 32]>, verify: impl FnOnce() -> Vec<Check>) -> Vec<Check> {
        match key {
            Some(key) => self.done.get_or_insert_with(key, verify),
            None => verify(),
        }
    }
}

impl<A: AnchorVerifier> AnchorVerifier for MemoAnchors<A> {
    fn timestamp(&self, anchor: &TimestampAnchor, checkpoint_hash: &CheckpointHash, trust: &TrustFile) -> Vec<Check> {
        self.memo(Self::key("rfc3161", anchor, checkpoint_hash, trust), || self.inner.timestamp(anchor, checkpoint_hash, trust))
    }

    fn fabric(&self, anchor: &FabricAnchor, checkpoint_hash: &CheckpointHash, trust: &TrustFile) -> Vec<Check> {
        self.memo(Self::key("fabric", anchor, checkpoint_hash, trust), || self.inner.fabric(anchor, checkpoint_hash, trust))
    }
}

impl Check {
    /// A check line (for anchor verifiers outside this module).
    pub fn line(id: &str, subject: impl Into<String>, outcome: Outcome) -> Self {
        Self::new(id, subject, outcome)
    }
}

#[cfg(test)]
mod tests;
