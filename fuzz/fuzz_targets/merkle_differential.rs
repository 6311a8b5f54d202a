//! Differential fuzzing of the RFC 9162 tree against `rs_merkle` configured with RFC 9162
//! hashers (an independent implementation): for fuzzer-chosen leaves and a leaf index, the
//! roots and the inclusion paths must be identical, and each side's proof must verify.
//! (Consistency proofs have no rs_merkle counterpart; evidence-core's proptests cover them.)
#![no_main]

use evidence_core::merkle::{MemoryTree, hash_leaf};

#[derive(Clone)]
struct Rfc9162;

impl rs_merkle::Hasher for Rfc9162 {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        // rs_merkle calls this only on the concatenation of two children.
        let mut buf = Vec::with_capacity(1 + data.len());
        buf.push(0x01);
        buf.extend_from_slice(data);
        evidence_core::types::sha256(&[&buf])
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // First two bytes pick the index; the rest is split into leaves of 1..=8 bytes.
    if data.len() < 3 {
        return;
    }
    let pick = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let mut leaves = Vec::new();
    let mut rest = &data[2..];
    while !rest.is_empty() && leaves.len() < 2048 {
        let take = usize::from(rest[0] % 8) + 1;
        let (leaf, tail) = rest.split_at(take.min(rest.len()));
        leaves.push(hash_leaf(leaf));
        rest = tail;
    }
    let n = leaves.len();
    let mut ours = MemoryTree::new();
    for l in &leaves {
        ours.append(*l);
    }
    let raw: Vec<[u8; 32]> = leaves.iter().map(|l| l.0).collect();
    let theirs = rs_merkle::MerkleTree::<Rfc9162>::from_leaves(&raw);
    let root = ours.root();
    assert_eq!(theirs.root(), Some(root.hash.0), "roots differ for {n} leaves");
    let i = pick % n;
    let p = ours.inclusion_proof(i as u64, n as u64).expect("proof in range");
    let q = theirs.proof(&[i]);
    assert_eq!(q.proof_hashes().to_vec(), p.path.iter().map(|h| h.0).collect::<Vec<_>>(), "paths differ at {i} of {n}");
    assert!(p.verify(&leaves[i], &root).is_ok());
    assert!(q.verify(root.hash.0, &[i], &[raw[i]], n));
});
