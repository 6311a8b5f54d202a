//! `c2sp.org/tlog-proof@v1`: an offline-verifiable proof that an entry is in a log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional)
//! index <decimal>
//! <base64 hash>             (zero or more: the inclusion path, leaf sibling first)
//!
//! <signed checkpoint note, verbatim>
//! ```
//!
//! Parsing is strict: LF line endings only, no leading zeros, 32-byte hashes, canonical
//! base64, nothing missing or extra. For this ledger the entry is the binary leaf entry
//! ([`crate::leaf`]), so the leaf hash is `SHA-256(0x00 ‖ entry)`, and the extra data,
//! when present, carries nothing the verification relies on (the spec says it is not
//! authenticated).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::merkle::{InclusionProof, MAX_PATH_LEN, ProofError};
use crate::note::{self, NoteError, NoteVerifier};
use crate::types::{LeafHash, NodeHash, TreeSize};

/// First line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The largest proof file accepted, in bytes.
pub const MAX_PROOF_BYTES: usize = 1 << 20;

/// A parsed tlog proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Unauthenticated application data.
    pub extra: Option<Vec<u8>>,
    /// Index of the entry.
    pub index: u64,
    /// Inclusion path, leaf sibling first.
    pub path: Vec<NodeHash>,
    /// The checkpoint note, verbatim.
    pub checkpoint: String,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    /// Not in the format.
    #[error("malformed tlog-proof, line {line}: {reason}")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Larger than [`MAX_PROOF_BYTES`].
    #[error("tlog-proof is {0} bytes, over the limit")]
    TooLarge(usize),
    /// The checkpoint's signature did not verify.
    #[error("checkpoint: {0}")]
    Note(#[from] NoteError),
    /// The checkpoint body or origin is wrong.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint's origin is not the expected one.
    #[error("checkpoint origin {found:?}, expected {expected:?}")]
    Origin {
        /// In the proof.
        found: String,
        /// Expected.
        expected: String,
    },
    /// The inclusion proof failed.
    #[error("inclusion: {0}")]
    Inclusion(#[from] ProofError),
}

/// What a verified proof established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTlogProof {
    /// The checkpoint's origin line.
    pub origin: String,
    /// Tree size of the checkpoint.
    pub tree_size: TreeSize,
    /// The entry's index.
    pub index: u64,
    /// Keys whose signatures verified.
    pub signed_by: Vec<String>,
    /// The full checkpoint, when the body is one of this ledger's (other logs' are not parsed further).
    pub ledger_checkpoint: Option<Checkpoint>,
}

impl TlogProof {
    /// Builds a proof from an inclusion proof and the signed checkpoint it leads to.
    pub fn new(proof: &InclusionProof, checkpoint: &SignedCheckpoint, extra: Option<Vec<u8>>) -> Self {
        Self { extra, index: proof.leaf_index, path: proof.path.clone(), checkpoint: checkpoint.note.clone() }
    }

    /// The file text.
    pub fn encode(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            let _ = writeln!(s, "extra {}", B64.encode(extra));
        }
        let _ = writeln!(s, "index {}", self.index);
        for h in &self.path {
            s.push_str(&B64.encode(h.0));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses the file text strictly.
    ///
    /// # Errors
    /// [`TlogProofError::Malformed`] naming the line, or [`TlogProofError::TooLarge`].
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        if text.len() > MAX_PROOF_BYTES {
            return Err(TlogProofError::TooLarge(text.len()));
        }
        let bad = |line, reason| TlogProofError::Malformed { line, reason };
        if text.contains('\r') {
            return Err(bad(0, "carriage return: lines must end in LF only"));
        }
        let (head, checkpoint) = text.split_once("\n\n").ok_or(bad(0, "no blank line before the checkpoint"))?;
        let mut lines = head.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(bad(1, "first line must be c2sp.org/tlog-proof@v1")),
        }
        let (mut n, mut line) = lines.next().ok_or(bad(2, "missing index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(note::decode_b64_canonical(b64).ok_or(bad(n, "extra is not canonical base64"))?);
            (n, line) = lines.next().ok_or(bad(n + 1, "missing index line"))?;
        }
        let digits = line.strip_prefix("index ").ok_or(bad(n, "expected 'index <n>'"))?;
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(n, "index must be a decimal with no leading zeros"));
        }
        let index = digits.parse().map_err(|_| bad(n, "index out of range"))?;
        let mut path = Vec::new();
        for (n, line) in lines {
            if path.len() == MAX_PATH_LEN {
                return Err(bad(n, "inclusion path longer than 64 hashes"));
            }
            let raw = note::decode_b64_canonical(line).ok_or(bad(n, "hash is not canonical base64"))?;
            path.push(NodeHash::try_from_slice(&raw).map_err(|_| bad(n, "hash is not 32 bytes"))?);
        }
        if checkpoint.is_empty() {
            return Err(bad(0, "checkpoint missing"));
        }
        Ok(Self { extra, index, path, checkpoint: checkpoint.to_owned() })
    }

    /// Verifies the proof for an entry's leaf hash: the checkpoint's signature by one of
    /// `keys`, the origin when given, then RFC 9162 inclusion at the checkpoint's size.
    ///
    /// # Errors
    /// [`TlogProofError`] saying which check failed.
    pub fn verify(&self, leaf: &LeafHash, keys: &[NoteVerifier], origin: Option<&str>) -> Result<VerifiedTlogProof, TlogProofError> {
        let (body, signed_by) = note::open(&self.checkpoint, keys)?;
        // The generic tlog-checkpoint part: origin, size, root.
        let mut it = body.split('\n');
        let (Some(found_origin), Some(size), Some(root)) = (it.next(), it.next(), it.next()) else {
            return Err(CheckpointError::Malformed { line: 0, reason: "fewer than three lines" }.into());
        };
        if let Some(expected) = origin
            && found_origin != expected
        {
            return Err(TlogProofError::Origin { found: found_origin.to_owned(), expected: expected.to_owned() });
        }
        if size.is_empty() || (size.len() > 1 && size.starts_with('0')) || !size.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CheckpointError::Malformed { line: 2, reason: "tree size must be a decimal with no leading zeros" }.into());
        }
        let tree_size = TreeSize(size.parse().map_err(|_| CheckpointError::Malformed { line: 2, reason: "tree size out of range" })?);
        let root = note::decode_b64_canonical(root)
            .and_then(|r| NodeHash::try_from_slice(&r).ok())
            .ok_or(CheckpointError::Malformed { line: 3, reason: "root must be canonical base64 of 32 bytes" })?;
        let proof = InclusionProof { leaf_index: self.index, tree_size, path: self.path.clone() };
        proof.verify(leaf, &crate::types::RootHash { hash: root, tree_size })?;
        Ok(VerifiedTlogProof {
            origin: found_origin.to_owned(),
            tree_size,
            index: self.index,
            signed_by: signed_by.iter().map(|k| k.name().to_owned()).collect(),
            ledger_checkpoint: Checkpoint::parse_body(body).ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, origin_for};
    use crate::merkle::{MemoryTree, hash_leaf};
    use crate::note::NoteSigner;
    use crate::types::{CheckpointHash, CheckpointSeq, TenantId, UnixMillis};

    fn fixture(n: u64, index: u64) -> (TlogProof, LeafHash, NoteVerifier) {
        let tenant = TenantId::new("t1").unwrap();
        let origin = origin_for("ledger.test", &tenant);
        let signer = NoteSigner::from_seed(&origin, &[5; 32]).unwrap();
        let mut tree = MemoryTree::new();
        for i in 0..n {
            tree.append(hash_leaf(&i.to_be_bytes()));
        }
        let cp = Checkpoint {
            origin,
            tenant,
            seq: CheckpointSeq(0),
            root: tree.root(),
            prev: CheckpointHash([0; 32]),
            sealed_at: UnixMillis(0),
        };
        let signed = cp.sign(&signer).unwrap();
        let proof = tree.inclusion_proof(index, n).unwrap();
        (TlogProof::new(&proof, &signed, None), hash_leaf(&index.to_be_bytes()), signer.verifier())
    }

    #[test]
    fn round_trip_and_verify() {
        let (p, leaf, key) = fixture(13, 6);
        let text = p.encode();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 6\n"));
        let parsed = TlogProof::parse(&text).unwrap();
        assert_eq!(parsed, p);
        let v = parsed.verify(&leaf, std::slice::from_ref(&key), Some("ledger.test/tenant/t1")).unwrap();
        assert_eq!((v.index, v.tree_size), (6, TreeSize(13)));
        assert!(v.ledger_checkpoint.is_some());
        let with_extra = TlogProof { extra: Some(b"hello".to_vec()), ..p.clone() };
        assert_eq!(TlogProof::parse(&with_extra.encode()).unwrap(), with_extra);
        // Wrong origin, wrong leaf, wrong key.
        assert!(matches!(parsed.verify(&leaf, std::slice::from_ref(&key), Some("other")), Err(TlogProofError::Origin { .. })));
        assert!(matches!(parsed.verify(&hash_leaf(b"x"), std::slice::from_ref(&key), None), Err(TlogProofError::Inclusion(_))));
        let stranger = NoteSigner::from_seed("ledger.test/tenant/t1", &[6; 32]).unwrap().verifier();
        assert!(matches!(parsed.verify(&leaf, &[stranger], None), Err(TlogProofError::Note(_))));
    }

    #[test]
    fn strict_parsing() {
        let (p, _, _) = fixture(13, 6);
        let text = p.encode();
        let bad = [
            text.replacen("index 6", "index 06", 1),
            text.replacen("index 6", "index -6", 1),
            text.replacen("index 6", "index  6", 1),
            text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            text.replace('\n', "\r\n"),
            text.replacen("index 6\n", "index 6\nAAAA\n", 1),
            text.replacen("index 6\n", "index 6\nextra AAAA\n", 1),
            text.replacen("index 6\n", "extra A\nindex 6\n", 1),
            text.replacen("\n\n", "\n", 1),
            text.split("\n\n").next().unwrap().to_owned() + "\n\n",
        ];
        for b in bad {
            assert!(TlogProof::parse(&b).is_err(), "{b}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,400}") {
            let _ = TlogProof::parse(&s);
        }
    }
}
