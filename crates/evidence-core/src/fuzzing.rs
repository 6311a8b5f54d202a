//! Entry points for fuzz targets and for the corpus replay test.
//!
//! Each function feeds outside bytes to one parser or checker and must return without
//! panicking, hanging or allocating without bound, whatever the input. The fuzz targets
//! in `fuzz/` are one-line calls into these, and `tests/fuzz_corpus.rs` replays every
//! corpus and regression file through the same functions in a normal `cargo test`.
//! Not part of the stable API.

use crate::bundle::{Bundle, Requirements, TrustFile, verify_bundle_offline};
use crate::checkpoint::Checkpoint;
use crate::leaf::LeafEntry;
use crate::merkle::{ConsistencyProof, InclusionProof};
use crate::note::{self, NoteVerifier};
use crate::tlog_proof::TlogProof;

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every entry point, by the fuzz target's name.
pub const TARGETS: &[(&str, Target)] = &[
    ("leaf_entry", leaf_entry),
    ("jcs", jcs),
    ("signed_note", signed_note),
    ("checkpoint_body", checkpoint_body),
    ("tlog_proof", tlog_proof),
    ("merkle_proofs", merkle_proofs),
    ("bundle_json", bundle_json),
];

/// A decoded entry must re-encode to the same bytes.
pub fn leaf_entry(data: &[u8]) {
    if let Ok(e) = LeafEntry::decode(data) {
        assert_eq!(e.encode().ok().as_deref(), Some(data), "leaf entry decode/encode is not the identity");
    }
}

/// Canonical output must be a fixed point.
pub fn jcs(data: &[u8]) {
    if let Ok(c) = crate::jcs::canonicalize_text(data) {
        assert_eq!(crate::jcs::canonicalize_text(&c).ok().as_ref(), Some(&c), "JCS is not idempotent");
    }
}

/// Parse and open against a fixed key; nothing may verify by accident.
pub fn signed_note(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = note::parse(text);
    let _ = NoteVerifier::parse(text);
    if let Ok(v) = NoteVerifier::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW") {
        let _ = note::open(text, &[v]);
    }
}

/// A parsed body must print back to the same text.
pub fn checkpoint_body(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cp) = Checkpoint::parse_body(text) {
        assert_eq!(cp.body(), text, "checkpoint parse/print is not the identity");
    }
}

/// Parse, re-encode, and verify against a fixed leaf and key.
pub fn tlog_proof(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = TlogProof::parse(text) {
        assert_eq!(TlogProof::parse(&p.encode()).as_ref(), Ok(&p), "tlog-proof round trip");
        if let Ok(v) = NoteVerifier::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW") {
            let _ = p.verify(&crate::merkle::hash_leaf(b""), &[v], None);
        }
    }
}

/// Proofs from JSON, verified against roots taken from the same input.
pub fn merkle_proofs(data: &[u8]) {
    #[derive(serde::Deserialize)]
    struct Case {
        inclusion: InclusionProof,
        consistency: ConsistencyProof,
        leaf: crate::types::LeafHash,
        old: crate::types::RootHash,
        new: crate::types::RootHash,
    }
    if let Ok(c) = serde_json::from_slice::<Case>(data) {
        let _ = c.inclusion.verify(&c.leaf, &c.new);
        let _ = c.consistency.verify(&c.old, &c.new);
    }
}

/// A bundle from JSON, verified against an empty trust file: it must never verify.
pub fn bundle_json(data: &[u8]) {
    if let Ok(b) = Bundle::from_json(data) {
        let trust = TrustFile {
            format: crate::bundle::TRUST_FORMAT.into(),
            ledgers: vec![],
            tsa_roots_pem: vec![],
            fabric_msps: vec![],
            development: false,
        };
        let r = verify_bundle_offline(&b, &trust, None, Requirements { min_timestamps: 0, min_fabric: 0 });
        assert_ne!(r.verdict, crate::bundle::Verdict::Verified, "a bundle verified with no trusted key");
    }
}
