//! Checkpoints: signed tree heads chained into a per-tenant hash chain.
//!
//! A checkpoint is a `c2sp.org/tlog-checkpoint` note body with four extension lines, in
//! this order and no others:
//!
//! ```text
//! <origin>                      e.g. ledger.example.ca/tenant/rooftop-7
//! <tree size>                   decimal, no leading zeros
//! <root hash>                   base64 of 32 bytes
//! evidence/v1 tenant <tenant id>
//! evidence/v1 seq <checkpoint sequence number>
//! evidence/v1 prev <hex SHA-256 of the previous checkpoint's body, 64 zeros for seq 0>
//! evidence/v1 sealed <RFC 3339 UTC time with milliseconds>
//! ```
//!
//! `checkpoint_hash = SHA-256(body)`: the value anchored on both rails. Because each body
//! names its predecessor's hash, the checkpoints of a tenant form a hash chain; consistency
//! proofs between consecutive checkpoints show that the log only grew.
//!
//! The origin is `<ledger name>/tenant/<tenant id>`, and the note is signed under a key
//! name equal to the origin (as tlog-checkpoint recommends), so one ledger Ed25519 key has
//! one verifier key per tenant ([`tenant_verifier`]).
//!
//! Other transparency-log tools read the first three lines and ignore the extension lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::merkle::{ConsistencyProof, ProofError};
use crate::note::{self, NoteError, NoteSigner, NoteVerifier};
use crate::types::{CheckpointHash, CheckpointSeq, NodeHash, RootHash, TenantId, TreeSize, UnixMillis, sha256};

/// The body of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// `<ledger name>/tenant/<tenant id>`.
    pub origin: String,
    /// The tenant.
    pub tenant: TenantId,
    /// Position in the tenant's chain, from 0.
    pub seq: CheckpointSeq,
    /// The tree size and root sealed.
    pub root: RootHash,
    /// Hash of the previous checkpoint's body; all zeros for the first.
    pub prev: CheckpointHash,
    /// When the ledger sealed it.
    pub sealed_at: UnixMillis,
}

/// Why a checkpoint or a chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The note failed signed-note verification.
    #[error("checkpoint signature: {0}")]
    Note(#[from] NoteError),
    /// The body is not in the format above.
    #[error("malformed checkpoint body, line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The origin does not match what was expected.
    #[error("checkpoint origin {found:?}, expected {expected:?}")]
    Origin {
        /// In the checkpoint.
        found: String,
        /// Expected.
        expected: String,
    },
    /// Two consecutive checkpoints do not link.
    #[error("checkpoint {seq}: {reason}")]
    Chain {
        /// The later checkpoint's sequence number.
        seq: CheckpointSeq,
        /// Which link check failed.
        reason: String,
    },
    /// The consistency proof between two checkpoints failed.
    #[error("checkpoint {seq}: consistency with its predecessor: {source}")]
    Consistency {
        /// The later checkpoint's sequence number.
        seq: CheckpointSeq,
        /// The proof failure.
        #[source]
        source: ProofError,
    },
}

const EXT: &str = "evidence/v1 ";

/// The origin of a tenant's log under a ledger name.
pub fn origin_for(ledger_name: &str, tenant: &TenantId) -> String {
    format!("{ledger_name}/tenant/{tenant}")
}

/// The verifier key of one tenant's checkpoints, from the ledger's public key.
///
/// # Errors
/// [`NoteError::KeyName`] when the ledger name makes an invalid key name.
pub fn tenant_verifier(ledger_name: &str, tenant: &TenantId, key: ed25519_dalek::VerifyingKey) -> Result<NoteVerifier, NoteError> {
    NoteVerifier::new(&origin_for(ledger_name, tenant), key)
}

impl Checkpoint {
    /// The note body, as specified in the module docs.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n{EXT}tenant {}\n{EXT}seq {}\n{EXT}prev {}\n{EXT}sealed {}\n",
            self.origin,
            self.root.tree_size.0,
            B64.encode(self.root.hash.0),
            self.tenant,
            self.seq.0,
            self.prev,
            self.sealed_at.to_rfc3339(),
        )
    }

    /// `SHA-256(body)`.
    pub fn hash(&self) -> CheckpointHash {
        CheckpointHash(sha256(&[self.body().as_bytes()]))
    }

    /// Signs the body; the signer's name must equal the origin.
    ///
    /// # Errors
    /// [`CheckpointError::Origin`] when the key name differs from the origin.
    pub fn sign(&self, signer: &NoteSigner) -> Result<SignedCheckpoint, CheckpointError> {
        if signer.name() != self.origin {
            return Err(CheckpointError::Origin { found: signer.name().to_owned(), expected: self.origin.clone() });
        }
        let note = signer.sign(&self.body())?;
        Ok(SignedCheckpoint { note })
    }

    /// Parses a body strictly.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] naming the line.
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let bad = |line, reason| CheckpointError::Malformed { line, reason };
        let lines: Vec<&str> = body.strip_suffix('\n').ok_or(bad(0, "body must end in a newline"))?.split('\n').collect();
        if lines.len() != 7 {
            return Err(bad(lines.len().min(8), "expected exactly 7 lines"));
        }
        let origin = lines[0];
        if origin.is_empty() || origin.contains('+') || origin.chars().any(char::is_whitespace) {
            return Err(bad(1, "origin must be non-empty with no spaces or '+'"));
        }
        let tree_size = parse_decimal(lines[1]).ok_or(bad(2, "tree size must be a decimal with no leading zeros"))?;
        let root = note::decode_b64_canonical(lines[2])
            .and_then(|r| NodeHash::try_from_slice(&r).ok())
            .ok_or(bad(3, "root must be canonical base64 of 32 bytes"))?;
        let ext = |i: usize, key: &str| -> Result<&str, CheckpointError> {
            lines[i]
                .strip_prefix(EXT)
                .and_then(|r| r.strip_prefix(key))
                .and_then(|r| r.strip_prefix(' '))
                .ok_or(bad(i + 1, "unexpected extension line"))
        };
        let tenant = TenantId::new(ext(3, "tenant")?).map_err(|_| bad(4, "invalid tenant id"))?;
        let seq = parse_decimal(ext(4, "seq")?).ok_or(bad(5, "seq must be a decimal with no leading zeros"))?;
        let prev_text = ext(5, "prev")?;
        if prev_text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad(6, "prev must be lowercase hex"));
        }
        let prev: CheckpointHash = prev_text.parse().map_err(|_| bad(6, "prev must be 64 hex digits"))?;
        let sealed_text = ext(6, "sealed")?;
        let sealed_at = UnixMillis::parse_rfc3339(sealed_text).ok_or(bad(7, "sealed must be an RFC 3339 UTC time"))?;
        let cp = Self {
            origin: origin.to_owned(),
            tenant,
            seq: CheckpointSeq(seq),
            root: RootHash { hash: root, tree_size: TreeSize(tree_size) },
            prev,
            sealed_at,
        };
        // One encoding only: what we parse must be exactly what we would write.
        if cp.body() != body {
            return Err(bad(7, "not in canonical form (time must have exactly 3 fractional digits)"));
        }
        Ok(cp)
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A checkpoint as a signed note (body, blank line, signatures).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SignedCheckpoint {
    /// The complete note text.
    pub note: String,
}

impl SignedCheckpoint {
    /// Verifies the signature with `verifier` (whose name must be the origin) and parses the body.
    ///
    /// # Errors
    /// [`CheckpointError`] for a bad signature, a malformed body or an origin other than the key's name.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
        let (body, _) = note::open(&self.note, std::slice::from_ref(verifier))?;
        let cp = Checkpoint::parse_body(body)?;
        if cp.origin != verifier.name() {
            return Err(CheckpointError::Origin { found: cp.origin, expected: verifier.name().to_owned() });
        }
        Ok(cp)
    }

    /// Verifies the note with whichever of `verifiers` signed it (all of one origin: a
    /// ledger's keys over the years, matched by key id) and parses the body; answers the keys
    /// whose signatures verified (two on a key hand-over checkpoint).
    ///
    /// # Errors
    /// [`CheckpointError`] for a bad signature by a trusted key, no trusted signature, a
    /// malformed body, or an origin other than the keys' name.
    pub fn verify_any(&self, verifiers: &[NoteVerifier]) -> Result<(Checkpoint, Vec<NoteVerifier>), CheckpointError> {
        let (body, by) = note::open(&self.note, verifiers)?;
        let cp = Checkpoint::parse_body(body)?;
        if let Some(v) = by.iter().find(|v| v.name() != cp.origin) {
            return Err(CheckpointError::Origin { found: cp.origin, expected: v.name().to_owned() });
        }
        Ok((cp, by))
    }

    /// Parses the body without checking the signature (for display only).
    ///
    /// # Errors
    /// [`CheckpointError`] for a malformed note or body.
    pub fn parse_unverified(&self) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::parse_body(note::parse(&self.note)?.text)
    }
}

/// The `format` of a checkpoints file: a JSON object `{"format", "ledger", "tenant", "links"}`
/// whose `links` are [`ChainLink`]s, oldest first (what the server's `…/checkpoint-chain`
/// answers and `evidence-verify checkpoints` reads; see `docs/FORMATS.md`).
pub const CHECKPOINTS_FORMAT: &str = "evidence-checkpoints/v1";

/// One step of a chain: a signed checkpoint and the consistency proof from its predecessor.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainLink {
    /// The signed checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// Proof from the previous checkpoint's tree size to this one's (absent for the first).
    pub consistency: Option<ConsistencyProof>,
}

/// Verifies a run of consecutive checkpoints of one tenant: every signature, every link
/// (`prev` = hash of the previous body, `seq` + 1, same origin and tenant, time not going
/// backwards) and every consistency proof (the log only grew). If the run starts at seq 0
/// its `prev` must be all zeros. `verifiers` are the tenant's trusted checkpoint keys (several
/// across a key rotation); each checkpoint is matched to its key by key id. Returns the parsed
/// checkpoints.
///
/// # Errors
/// The first [`CheckpointError`] found, naming the checkpoint.
pub fn verify_chain(links: &[ChainLink], verifiers: &[NoteVerifier]) -> Result<Vec<Checkpoint>, CheckpointError> {
    let mut out: Vec<Checkpoint> = Vec::with_capacity(links.len());
    for link in links {
        let (cp, _) = link.checkpoint.verify_any(verifiers)?;
        let chain_err = |reason: String| CheckpointError::Chain { seq: cp.seq, reason };
        match out.last() {
            None => {
                if cp.seq.0 == 0 && cp.prev != CheckpointHash([0; 32]) {
                    return Err(chain_err("the first checkpoint must have an all-zero prev".into()));
                }
            }
            Some(prev) => {
                if Some(cp.seq.0) != prev.seq.0.checked_add(1) {
                    return Err(chain_err(format!("follows checkpoint {}; sequence numbers must be consecutive", prev.seq)));
                }
                if cp.prev != prev.hash() {
                    return Err(chain_err(format!("prev is {}, but the previous checkpoint hashes to {}", cp.prev, prev.hash())));
                }
                if cp.tenant != prev.tenant || cp.origin != prev.origin {
                    return Err(chain_err("tenant or origin changed within the chain".into()));
                }
                if cp.sealed_at < prev.sealed_at {
                    return Err(chain_err("sealed before its predecessor".into()));
                }
                let proof = link.consistency.as_ref().ok_or_else(|| chain_err("consistency proof missing".into()))?;
                proof.verify(&prev.root, &cp.root).map_err(|source| CheckpointError::Consistency { seq: cp.seq, source })?;
            }
        }
        out.push(cp);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
