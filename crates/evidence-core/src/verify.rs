//! Verifying evidence bundles offline: the [`Verifier`], built from a [`TrustStore`].
//!
//! ```
//! use evidence_core::{TrustStore, Verifier, Verdict};
//!
//! # fn demo(trust_json: &[u8], bundle_json: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::new(TrustStore::from_json(trust_json)?);
//! let report = verifier.verify_json(bundle_json)?;
//! for check in &report.checks {
//!     println!("{} {}: {:?}", check.id, check.subject, check.outcome);
//! }
//! if report.verdict == Verdict::Verified && !report.development_trust {
//!     // Every check passed, against real trust material, with the anchors the policy requires.
//! }
//! # Ok(()) }
//! ```
//!
//! The default verifier checks everything: the checkpoint's signature by a trusted ledger key
//! (matched by key id, so keys rotated over the years all verify), every claim's leaf entry,
//! inclusion proof, record and commitment, every later checkpoint's consistency, and the
//! anchors with the standard RFC 3161 and Fabric checks, requiring as many of each as the trust
//! file's policy states (one on each rail unless it says otherwise). Anything weaker is an
//! explicit call through [`Verifier::dangerous`], and the report lists it in
//! [`BundleReport::weakened`].
//!
//! # What a verified bundle proves, and what it does not
//!
//! That the claim's bytes (or, when the record is not disclosed, a commitment to them) are
//! leaf N of tenant T's log; that a trusted ledger key signed a checkpoint of that log whose
//! hash the anchors name; and, with the anchors checked, that the checkpoint existed no later
//! than the TSA's genTime and the Fabric block. It does not show that the claim is true, that
//! nothing else was said, or anything about events before the claim was made.

use serde::{Serialize, Serializer};

use crate::bundle::{Base64, Bundle, BundleClaim, BundleError, FabricAnchor, LaterCheckpoint, RecordStatus, TimestampAnchor};
use crate::checkpoint::Checkpoint;
use crate::claim::{self, Salt};
use crate::leaf::LeafEntry;
use crate::note::NoteVerifier;
use crate::rfc3161::{self, HashAlg, Imprint, TimestampOptions, TimestampVerdict, ValidationTime};
use crate::trust::{AnchorPolicy, TrustStore};
use crate::types::{CheckpointHash, ContentHash};

macro_rules! check_ids {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// What a check is about: one stable identifier per kind of check, which a program can
        /// match on (the report's JSON carries [`CheckId::as_str`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum CheckId {
            $($(#[$doc])* $variant,)*
        }

        impl CheckId {
            /// Every identifier.
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant,)*];

            /// The stable dotted name, e.g. `claim.inclusion`.
            pub const fn as_str(self) -> &'static str {
                match self { $(CheckId::$variant => $name,)* }
            }
        }
    };
}

check_ids! {
    /// The trust material is development material (never evidence).
    TrustDevelopment = "trust.development",
    /// The bundle's format.
    BundleFormat = "bundle.format",
    /// The bundle holds at least one claim.
    BundleClaims = "bundle.claims",
    /// A trusted key exists for the bundle's ledger.
    CheckpointKey = "checkpoint.key",
    /// The checkpoint's signature by the ledger key.
    CheckpointSignature = "checkpoint.signature",
    /// The checkpoint is the bundle's tenant's.
    CheckpointTenant = "checkpoint.tenant",
    /// A later checkpoint is consistent with the bundle's.
    CheckpointConsistency = "checkpoint.consistency",
    /// A claim's leaf entry decodes and agrees with the bundle.
    ClaimLeafEntry = "claim.leaf_entry",
    /// A claim's inclusion proof.
    ClaimInclusion = "claim.inclusion",
    /// A claim's record, content hash and status agree.
    ClaimRecord = "claim.record",
    /// A claim's commitment opens to its content hash.
    ClaimCommitment = "claim.commitment",
    /// A claim was appended inside a flagged incident window.
    ClaimIncident = "claim.incident",
    /// An RFC 3161 time-stamp of the checkpoint.
    AnchorTimestamp = "anchor.timestamp",
    /// A time-stamp from outside the tenant's residency policy.
    AnchorResidency = "anchor.residency",
    /// A Fabric anchor of the checkpoint.
    AnchorFabric = "anchor.fabric",
    /// The (unsigned) validation flag of the Fabric transaction.
    AnchorFabricValidationFlag = "anchor.fabric.validation_flag",
    /// Enough RFC 3161 anchors verified for the policy.
    AnchorsTimestamps = "anchors.timestamps",
    /// Enough Fabric anchors verified for the policy.
    AnchorsFabric = "anchors.fabric",
    /// A check this verifier was told to leave out (see [`Verifier::dangerous`]).
    Weakened = "policy.weakened",
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for CheckId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
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

impl Outcome {
    /// True for [`Outcome::Fail`].
    pub fn is_fail(&self) -> bool {
        matches!(self, Self::Fail(_))
    }
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What kind of check.
    pub id: CheckId,
    /// What was checked, e.g. `claim 41 of tenant demo`.
    pub subject: String,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Check {
    fn new(id: CheckId, subject: impl Into<String>, outcome: Outcome) -> Self {
        Self { id, subject: subject.into(), outcome }
    }
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

/// A check a [`Verifier`] was told to leave out or lower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Weakening {
    /// No anchor was checked: only the ledger's own signature stands behind the checkpoint.
    AnchorsNotChecked,
    /// Fewer anchors required than the trust file's policy states.
    FewerAnchors {
        /// The trust file's policy.
        trust_file: AnchorPolicy,
        /// What was required instead.
        required: AnchorPolicy,
    },
}

impl Weakening {
    /// In words, for reports.
    pub fn describe(self) -> String {
        match self {
            Self::AnchorsNotChecked => {
                "no anchor was checked: nothing shows when the checkpoint existed, only that the ledger key signed it".to_owned()
            }
            Self::FewerAnchors { trust_file, required } => {
                format!("the trust file requires {}; this verification required only {}", trust_file.describe(), required.describe())
            }
        }
    }
}

/// The full result of a verification.
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
    /// How many RFC 3161 anchors verified (inside the residency policy).
    pub timestamps_verified: usize,
    /// How many Fabric anchors verified.
    pub fabric_verified: usize,
    /// The anchoring policy applied.
    pub policy: AnchorPolicy,
    /// Checks left out or lowered on the caller's explicit request.
    pub weakened: Vec<Weakening>,
    /// True when the trust material is development material: then nothing here is evidence.
    pub development_trust: bool,
}

impl BundleReport {
    /// The first failing check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.outcome.is_fail())
    }
}

/// Verifies bundles against one trust store. Safe by default: see the module docs.
#[derive(Debug)]
pub struct Verifier {
    trust: TrustStore,
    required: AnchorPolicy,
    check_anchors: bool,
    memo: Option<crate::memo::BoundedMemo<[u8; 32], Vec<Check>>>,
}

impl Verifier {
    /// Anchors remembered at most by a memoising verifier.
    pub const MEMO_CAP: usize = 65_536;

    /// A verifier requiring what `trust`'s policy states (one anchor on each rail by default).
    pub fn new(trust: TrustStore) -> Self {
        let required = trust.policy();
        Self { trust, required, check_anchors: true, memo: None }
    }

    /// Remembers the checks of each anchor verified, for many bundles that share checkpoints
    /// (every claim sealed in the same hour shares its checkpoint's anchors).
    ///
    /// The checks of an anchor are a pure function of the anchor, the checkpoint hash and the
    /// trust material (tokens are checked at genTime and receipts at the transaction's time,
    /// never at "now"), so the memo is keyed on SHA-256 of all three. It keeps at most
    /// [`Verifier::MEMO_CAP`] anchors; beyond that anchors are verified without being
    /// remembered.
    #[must_use]
    pub fn memoized(mut self) -> Self {
        self.memo = Some(crate::memo::BoundedMemo::new(Self::MEMO_CAP));
        self
    }

    /// Ways to verify less than the default, each named for what it gives up and recorded in
    /// every report as a [`Weakening`].
    pub fn dangerous(&mut self) -> DangerousVerifierConfig<'_> {
        DangerousVerifierConfig { verifier: self }
    }

    /// The trust material.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// The anchoring policy this verifier applies.
    pub fn policy(&self) -> AnchorPolicy {
        self.required
    }

    /// Parses `bundle_json` ([`Bundle::from_json`]: size and shape limits) and verifies it.
    ///
    /// # Errors
    /// [`BundleError`] when the bytes are not a bundle (nothing was checked).
    pub fn verify_json(&self, bundle_json: &[u8]) -> Result<BundleReport, BundleError> {
        Ok(self.verify(&Bundle::from_json(bundle_json)?))
    }

    /// Verifies everything in `bundle` that can be checked offline.
    pub fn verify(&self, bundle: &Bundle) -> BundleReport {
        let mut checks = Vec::new();
        let mut weakened = Vec::new();
        let mut report = BundleReport {
            verdict: Verdict::NotVerified,
            checks: Vec::new(),
            checkpoint: None,
            checkpoint_hash: None,
            timestamps_verified: 0,
            fabric_verified: 0,
            policy: self.required,
            weakened: Vec::new(),
            development_trust: self.trust.is_development(),
        };
        if self.trust.is_development() {
            checks.push(Check::new(
                CheckId::TrustDevelopment,
                "trust file",
                Outcome::Warn("the trust file is DEVELOPMENT material: keys and TSA are not trustworthy; this is not evidence".into()),
            ));
        }
        if self.required.is_weaker_than(self.trust.policy()) {
            weakened.push(Weakening::FewerAnchors { trust_file: self.trust.policy(), required: self.required });
        }
        if !self.check_anchors {
            weakened.push(Weakening::AnchorsNotChecked);
        }
        for w in &weakened {
            checks.push(Check::new(CheckId::Weakened, "verification", Outcome::Warn(w.describe())));
        }
        if bundle.format != crate::bundle::BUNDLE_FORMAT {
            checks.push(Check::new(
                CheckId::BundleFormat,
                "bundle",
                Outcome::Fail(format!("unsupported bundle format {:?}", bundle.format)),
            ));
        }

        // 1. The checkpoint: signed by a trusted ledger key for this tenant.
        let verifiers = self.trust.checkpoint_verifiers(&bundle.ledger, &bundle.tenant);
        let cp = verify_checkpoint(bundle, &verifiers, &mut checks);
        if let Some(cp) = &cp {
            let cp_hash = cp.hash();
            report.checkpoint_hash = Some(cp_hash);
            // 2. Each claim.
            for c in &bundle.claims {
                verify_claim(bundle, cp, c, &mut checks);
            }
            if bundle.claims.is_empty() {
                checks.push(Check::new(CheckId::BundleClaims, "bundle", Outcome::Fail("the bundle holds no claim".into())));
            }
            // 3. Later checkpoints: the log only grew.
            for later in &bundle.later_checkpoints {
                verify_later(&verifiers, cp, later, &mut checks);
            }
            // 4. Anchors.
            self.verify_anchors(bundle, &cp_hash, &mut report, &mut checks);
        }
        report.checkpoint = cp;
        report.verdict = if checks.iter().any(|c| c.outcome.is_fail()) { Verdict::NotVerified } else { Verdict::Verified };
        report.checks = checks;
        report.weakened = weakened;
        report
    }

    fn verify_anchors(&self, bundle: &Bundle, cp_hash: &CheckpointHash, report: &mut BundleReport, checks: &mut Vec<Check>) {
        if !self.check_anchors {
            for a in &bundle.anchors.timestamps {
                checks.push(Check::new(
                    CheckId::AnchorTimestamp,
                    format!("TSA {}", a.tsa),
                    Outcome::NotApplicable("anchors were not checked".into()),
                ));
            }
            for a in &bundle.anchors.fabric {
                checks.push(Check::new(
                    CheckId::AnchorFabric,
                    format!("channel {}", a.channel),
                    Outcome::NotApplicable("anchors were not checked".into()),
                ));
            }
            return;
        }
        // An anchor counts only when something passed and nothing failed.
        let verified = |cs: &[Check]| cs.iter().any(|c| matches!(c.outcome, Outcome::Pass(_))) && cs.iter().all(|c| !c.outcome.is_fail());
        for a in &bundle.anchors.timestamps {
            let cs = self.memo_or("rfc3161", a, cp_hash, || timestamp_checks(a, cp_hash, &self.trust));
            if verified(&cs) && !a.outside_residency {
                report.timestamps_verified += 1;
            }
            checks.extend(cs);
        }
        for a in &bundle.anchors.fabric {
            let cs = self.memo_or("fabric", a, cp_hash, || fabric_checks(a, cp_hash, &self.trust));
            if verified(&cs) {
                report.fabric_verified += 1;
            }
            checks.extend(cs);
        }
        let needed = self.required;
        if report.timestamps_verified < needed.rfc3161 {
            checks.push(Check::new(
                CheckId::AnchorsTimestamps,
                "bundle",
                Outcome::Fail(format!(
                    "{} RFC 3161 anchor(s) verified within residency; the policy requires {}",
                    report.timestamps_verified,
                    needed.describe()
                )),
            ));
        }
        if report.fabric_verified < needed.fabric {
            checks.push(Check::new(
                CheckId::AnchorsFabric,
                "bundle",
                Outcome::Fail(format!("{} Fabric anchor(s) verified; the policy requires {}", report.fabric_verified, needed.describe())),
            ));
        }
    }

    fn memo_or(&self, rail: &str, anchor: &impl Serialize, cp_hash: &CheckpointHash, verify: impl FnOnce() -> Vec<Check>) -> Vec<Check> {
        let Some(memo) = &self.memo else { return verify() };
        let key = {
            use sha2::{Digest as _, Sha256};
            let Ok(anchor) = serde_json::to_vec(anchor) else { return verify() };
            let mut h = Sha256::new();
            for part in [rail.as_bytes(), &anchor, cp_hash.0.as_slice(), self.trust.digest().as_slice()] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part);
            }
            <[u8; 32]>::from(h.finalize())
        };
        memo.get_or_insert_with(key, verify)
    }
}

/// Opt-outs of a [`Verifier`]'s defaults. Each gives something up, and every report of the
/// verifier says so ([`BundleReport::weakened`], and a `policy.weakened` warning line).
#[derive(Debug)]
pub struct DangerousVerifierConfig<'a> {
    verifier: &'a mut Verifier,
}

// Each setting takes effect on the verifier at once; the returned value only allows chaining.
#[allow(clippy::return_self_not_must_use)]
impl DangerousVerifierConfig<'_> {
    /// Checks no anchor at all. What this gives up: any evidence of *when* the checkpoint
    /// existed; the report can then only show that the ledger key signed it, which the ledger
    /// operator alone could have done at any time.
    pub fn skip_anchor_checks(self) -> Self {
        self.verifier.check_anchors = false;
        self.verifier.required = AnchorPolicy::NONE;
        self
    }

    /// Requires `policy` instead of the trust file's. Requiring fewer anchors than the trust
    /// file gives up the independent rails it names.
    pub fn require_anchors(self, policy: AnchorPolicy) -> Self {
        self.verifier.required = policy;
        self
    }
}

/// "1 leaf", "0 leaves", "6 leaves".
fn leaves(n: u64) -> String {
    if n == 1 { "1 leaf".to_owned() } else { format!("{n} leaves") }
}

fn verify_checkpoint(bundle: &Bundle, verifiers: &[NoteVerifier], checks: &mut Vec<Check>) -> Option<Checkpoint> {
    if verifiers.is_empty() {
        checks.push(Check::new(
            CheckId::CheckpointKey,
            "checkpoint",
            Outcome::Fail(format!("the trust file has no key for ledger {:?}", bundle.ledger)),
        ));
        return None;
    }
    match bundle.checkpoint.verify_any(verifiers) {
        Ok((cp, by)) if cp.tenant == bundle.tenant => {
            let keys: Vec<String> = by.iter().map(NoteVerifier::to_vkey).collect();
            checks.push(Check::new(
                CheckId::CheckpointSignature,
                format!("checkpoint {} of tenant {}", cp.seq, cp.tenant),
                Outcome::Pass(format!(
                    "signed by ledger key {}; the log had {} with root {} when sealed at {}",
                    keys.join(" and "),
                    leaves(cp.root.tree_size.0),
                    cp.root.hash,
                    cp.sealed_at
                )),
            ));
            Some(cp)
        }
        Ok((cp, _)) => {
            checks.push(Check::new(
                CheckId::CheckpointTenant,
                "checkpoint",
                Outcome::Fail(format!("checkpoint is for tenant {}, bundle says {}", cp.tenant, bundle.tenant)),
            ));
            None
        }
        Err(e) => {
            checks.push(Check::new(CheckId::CheckpointSignature, "checkpoint", Outcome::Fail(e.to_string())));
            None
        }
    }
}

fn verify_claim(bundle: &Bundle, cp: &Checkpoint, c: &BundleClaim, checks: &mut Vec<Check>) {
    let subject = format!("claim {} of tenant {}", c.seq, bundle.tenant);
    let entry = match LeafEntry::decode(&c.leaf_entry.0) {
        Ok(e) => e,
        Err(e) => {
            checks.push(Check::new(CheckId::ClaimLeafEntry, subject, Outcome::Fail(format!("leaf entry: {e}"))));
            return;
        }
    };
    if entry.tenant != bundle.tenant || entry.seq.0 != c.seq || c.inclusion_proof.leaf_index != c.seq {
        checks.push(Check::new(
            CheckId::ClaimLeafEntry,
            subject,
            Outcome::Fail(format!(
                "leaf entry (tenant {}, leaf {}), inclusion proof (leaf {}) and bundle (tenant {}, claim {}) disagree",
                entry.tenant, entry.seq, c.inclusion_proof.leaf_index, bundle.tenant, c.seq
            )),
        ));
        return;
    }
    let leaf = crate::leaf::leaf_hash_of(&c.leaf_entry.0);
    match c.inclusion_proof.verify(&leaf, &cp.root) {
        Ok(()) => checks.push(Check::new(
            CheckId::ClaimInclusion,
            subject.clone(),
            Outcome::Pass(format!(
                "leaf {} (hash {}) is in the log of {} sealed by checkpoint {}",
                c.seq,
                leaf,
                leaves(cp.root.tree_size.0),
                cp.seq
            )),
        )),
        Err(e) => {
            checks.push(Check::new(CheckId::ClaimInclusion, subject, Outcome::Fail(e.to_string())));
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
                        CheckId::ClaimRecord,
                        subject,
                        Outcome::Fail(format!("the record hashes to {computed}, the bundle says {ch}")),
                    ));
                    return;
                }
                Err(e) => {
                    checks.push(Check::new(CheckId::ClaimRecord, subject, Outcome::Fail(format!("the record has no canonical form: {e}"))));
                    return;
                }
            }
            if record.kind.code() != entry.kind_code {
                checks.push(Check::new(
                    CheckId::ClaimRecord,
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
            CheckId::ClaimRecord,
            subject,
            Outcome::NotApplicable(format!(
                "the record of this {kind} claim was erased: its content is not disclosed and can no longer be linked to the leaf"
            )),
        )),
        _ => checks.push(Check::new(
            CheckId::ClaimRecord,
            subject,
            Outcome::Fail("record, content hash, salt and record_status are inconsistent".into()),
        )),
    }
    for f in &c.incidents {
        checks.push(Check::new(
            CheckId::ClaimIncident,
            format!("claim {}", c.seq),
            Outcome::Warn(format!("appended inside incident window {} to {} ({}), incident claim {}", f.from, f.to, f.reason, f.incident)),
        ));
    }
}

fn check_commitment(subject: &str, entry: &LeafEntry, ch: &ContentHash, salt: &Base64, checks: &mut Vec<Check>, what: &str) {
    let Some(salt) = Salt::try_from_slice(&salt.0) else {
        checks.push(Check::new(CheckId::ClaimCommitment, subject, Outcome::Fail(format!("the salt is {} bytes, not 32", salt.0.len()))));
        return;
    };
    if claim::opens(&entry.commitment, &salt, ch) {
        checks.push(Check::new(
            CheckId::ClaimCommitment,
            subject,
            Outcome::Pass(format!("the leaf's commitment opens to content hash {ch} of {what}")),
        ));
    } else {
        checks.push(Check::new(
            CheckId::ClaimCommitment,
            subject,
            Outcome::Fail("the salt and content hash do not open the leaf's commitment".into()),
        ));
    }
}

fn verify_later(verifiers: &[NoteVerifier], cp: &Checkpoint, later: &LaterCheckpoint, checks: &mut Vec<Check>) {
    match later.checkpoint.verify_any(verifiers) {
        Ok((next, _)) => match later.proof.verify(&cp.root, &next.root) {
            Ok(()) => checks.push(Check::new(
                CheckId::CheckpointConsistency,
                format!("checkpoint {} -> {}", cp.seq, next.seq),
                Outcome::Pass(format!(
                    "the log grew from {} to {} without changing the earlier ones",
                    leaves(cp.root.tree_size.0),
                    leaves(next.root.tree_size.0)
                )),
            )),
            Err(e) => checks.push(Check::new(
                CheckId::CheckpointConsistency,
                format!("checkpoint {} -> {}", cp.seq, next.seq),
                Outcome::Fail(e.to_string()),
            )),
        },
        Err(e) => checks.push(Check::new(CheckId::CheckpointConsistency, "later checkpoint", Outcome::Fail(e.to_string()))),
    }
}

/// One RFC 3161 anchor: the token stamps the checkpoint hash (SHA-256 imprint), chains to one
/// of the trust store's TSA roots at genTime, and verifies.
fn timestamp_checks(anchor: &TimestampAnchor, checkpoint_hash: &CheckpointHash, trust: &TrustStore) -> Vec<Check> {
    let subject = format!("TSA {}", anchor.tsa);
    let untrusted: Vec<crate::pki::Certificate> =
        anchor.certificates.iter().filter_map(|c| crate::pki::Certificate::from_der(&c.0).ok()).collect();
    let opts = TimestampOptions {
        imprint: Some(Imprint::Digest { alg: HashAlg::Sha256, digest: &checkpoint_hash.0 }),
        request: None,
        trust_anchors: trust.tsa_roots(),
        untrusted: &untrusted,
        at: ValidationTime::GenTime,
    };
    let report = match rfc3161::parse_response(&anchor.token.0) {
        Ok(_) => rfc3161::verify_response(&anchor.token.0, &opts),
        Err(_) => rfc3161::verify_token(&anchor.token.0, &opts),
    };
    let mut out = Vec::new();
    match (&report.outcome, &report.facts) {
        (Ok(v), Some(f)) => {
            let weak = match v {
                TimestampVerdict::ValidWeak { reasons } => format!(" (weak algorithms: {})", reasons.join(", ")),
                TimestampVerdict::Valid => String::new(),
            };
            let tsa = f.signer_chain.first().cloned().unwrap_or_default();
            let line = format!(
                "the TSA {tsa} stamped this checkpoint's hash at genTime {} (serial {}, chain to a trusted TSA root valid at genTime){weak}",
                f.gen_time, f.serial_hex
            );
            out.push(Check::new(
                CheckId::AnchorTimestamp,
                subject.clone(),
                if weak.is_empty() { Outcome::Pass(line) } else { Outcome::Warn(line) },
            ));
            if anchor.outside_residency {
                out.push(Check::new(
                    CheckId::AnchorResidency,
                    subject,
                    Outcome::Warn(format!("TSA {} is outside the tenant's residency policy; the checkpoint was re-anchored", anchor.tsa)),
                ));
            }
        }
        (Err(e), _) => out.push(Check::new(CheckId::AnchorTimestamp, subject, Outcome::Fail(e.to_string()))),
        (Ok(_), None) => out.push(Check::new(CheckId::AnchorTimestamp, subject, Outcome::Fail("no facts in a verified report".into()))),
    }
    out
}

/// One Fabric anchor, against the trust store's MSP roots (never the roots the receipt
/// carries): the block verifies (data hash, orderer signature by an orderer MSP, creator and
/// endorsement signatures at the transaction's time), and the transaction at `tx_index` writes
/// `key` = the checkpoint hash and is flagged valid (the flag is unsigned and reported as such).
fn fabric_checks(anchor: &FabricAnchor, checkpoint_hash: &CheckpointHash, trust: &TrustStore) -> Vec<Check> {
    use crate::fabric::{AnchorAt, BlockLimits, verify_anchor};
    let subject = format!("Fabric channel {}", anchor.channel);
    // The bundle names the transaction by index; its id is read from the verified block.
    let at = AnchorAt { channel: &anchor.channel, tx_index: u64::from(anchor.tx_index), tx_id: None };
    match verify_anchor(&anchor.block.0, &at, checkpoint_hash, &anchor.key, trust.msp_roots(), None, &BlockLimits::default()) {
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
                    CheckId::AnchorFabric,
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
                    CheckId::AnchorFabricValidationFlag,
                    subject,
                    Outcome::Warn("the block's validation flag says VALID; that flag is not covered by any signature".into()),
                ),
            ]
        }
        Err(e) => vec![Check::new(CheckId::AnchorFabric, subject, Outcome::Fail(e.to_string()))],
    }
}

#[cfg(test)]
mod tests;
