//! Entry points for fuzz targets and for the corpus replay test.
//!
//! Each function feeds outside bytes to one parser or checker and must return without
//! panicking, hanging or allocating without bound, whatever the input. The fuzz targets
//! in `fuzz/` are one-line calls into these, and `tests/fuzz_corpus.rs` replays every
//! corpus and regression file through the same functions in a normal `cargo test`.
//! Not part of the stable API.

use crate::bundle::Bundle;
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
    ("tsp_response", tsp_response),
    ("tsp_token", tsp_token),
    ("tst_info", tst_info),
    ("tsp_request", tsp_request),
    ("x509_certificates", x509_certificates),
    ("fabric_block", fabric_block),
    ("fabric_receipt", fabric_receipt),
];

/// Verification options every RFC 3161 target uses: the token's own chain top as anchor
/// (the hostile case: everything comes from the input).
fn tsp_verify(data: &[u8], response: bool) {
    let parsed =
        if response { crate::rfc3161::parse_response(data).ok().and_then(|r| r.token) } else { crate::rfc3161::parse_token(data).ok() };
    let anchors: Vec<_> = parsed.as_ref().and_then(crate::rfc3161::embedded_chain_top).into_iter().collect();
    let opts = crate::rfc3161::TimestampOptions {
        imprint: Some(crate::rfc3161::Imprint::Data(b"hello")),
        trust_anchors: &anchors,
        ..Default::default()
    };
    let _ = if response { crate::rfc3161::verify_response(data, &opts) } else { crate::rfc3161::verify_token(data, &opts) };
}

/// `TimeStampResp` parsing and full verification.
pub fn tsp_response(data: &[u8]) {
    tsp_verify(data, true);
}

/// `TimeStampToken` parsing and full verification, and CMS containers carrying tokens.
pub fn tsp_token(data: &[u8]) {
    tsp_verify(data, false);
    let _ = crate::rfc3161::tokens_in_signed_data(data);
}

/// `TSTInfo` parsing.
pub fn tst_info(data: &[u8]) {
    let _ = crate::rfc3161::parse_tst_info(data);
}

/// `TimeStampReq` parsing.
pub fn tsp_request(data: &[u8]) {
    let _ = crate::rfc3161::parse_request(data);
}

/// Certificate parsing (PEM or DER), the accessors, and chain signatures among them.
pub fn x509_certificates(data: &[u8]) {
    if let Ok(certs) = crate::rfc3161::certificates_from_pem_or_der(data) {
        for c in &certs {
            let _ = (c.is_ca(), c.extended_key_usage(), c.subject_key_id(), c.subject_text());
            for i in &certs {
                let _ = crate::pki::verify_signature(&i.spki_algorithm, &i.public_key, &c.signature_algorithm, None, &c.tbs, &c.signature);
            }
        }
    }
}

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

/// A bundle from JSON, verified (anchors not required) against a trust file whose only key
/// signs nothing the fuzzer can produce: it must never verify.
pub fn bundle_json(data: &[u8]) {
    if let Ok(b) = Bundle::from_json(data) {
        let trust = crate::trust::TrustFile {
            format: crate::trust::TRUST_FORMAT.into(),
            ledgers: vec![crate::trust::LedgerKey {
                name: b.ledger.clone(),
                // A key from a fixed seed: no input the fuzzer mutates carries its signature.
                ed25519_public_key: crate::bundle::Base64(fuzz_key().to_bytes().to_vec()),
            }],
            tsa_roots_pem: vec![],
            fabric_msps: vec![],
            require: Some(crate::trust::AnchorPolicy::NONE),
            development: false,
        };
        if let Ok(trust) = crate::trust::TrustStore::new(trust) {
            let r = crate::verify::Verifier::new(trust).verify(&b);
            assert_ne!(r.verdict, crate::verify::Verdict::Verified, "a bundle verified with no trusted key");
        }
    }
}

fn fuzz_key() -> ed25519_dalek::VerifyingKey {
    ed25519_dalek::SigningKey::from_bytes(&[0x5a; 32]).verifying_key()
}

/// The MSP roots of the real Fabric 2.4.7 network in `testdata/fabric` (copies in
/// `src/fuzzing_roots`, compiled in: this module reads no files and the packaged crate builds
/// on its own), so mutated real blocks reach the signature checks.
fn fabric_roots() -> crate::fabric::MspRoots {
    let mut r = crate::fabric::MspRoots::new();
    let pems: [(&str, &[u8]); 3] = [
        ("OrdererMSP", include_bytes!("fuzzing_roots/OrdererMSP.pem")),
        ("Org1MSP", include_bytes!("fuzzing_roots/Org1MSP.pem")),
        ("Org2MSP", include_bytes!("fuzzing_roots/Org2MSP.pem")),
    ];
    for (id, pem) in pems {
        let _ = r.add_pem(id, pem);
    }
    r.add_orderer_msp("OrdererMSP");
    r
}

/// A protobuf `common.Block`: decoding and full verification (data hash, orderer,
/// creator and endorsement signatures, certificate chains).
pub fn fabric_block(data: &[u8]) {
    let opts = crate::fabric::BlockLimits::default();
    let _ = crate::fabric::verify_block(data, &fabric_roots(), None, &opts);
}

/// A `FabricReceipt` (JSON, as carried in bundles) verified against a checkpoint hash.
pub fn fabric_receipt(data: &[u8]) {
    if let Ok(r) = serde_json::from_slice::<crate::fabric::FabricReceipt>(data) {
        let opts = crate::fabric::BlockLimits::default();
        let hash = crate::types::CheckpointHash([7; 32]);
        let r = crate::fabric::verify_receipt(&r, &hash, "ckpt/rooftop-7/0", &fabric_roots(), None, &opts);
        assert!(r.is_err(), "a receipt verified for a checkpoint hash nobody anchored");
    }
}
