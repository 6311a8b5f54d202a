#![allow(clippy::cast_possible_truncation)]

use proptest::prelude::*;

use super::store::*;
use super::*;

/// The RFC 6962 / Certificate Transparency reference corpus (the CT implementation's
/// `merkle_tree_test` leaves), and the published roots of its first n leaves.
const CT_LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];
const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(s: &str) -> NodeHash {
    s.parse().unwrap()
}

fn ct_tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    for l in CT_LEAVES {
        t.append(hash_leaf(l));
    }
    t
}

fn root(t: &MemoryTree, size: u64) -> RootHash {
    t.root_at(size).unwrap()
}

#[test]
fn ct_reference_roots_at_every_size() {
    let t = ct_tree();
    for (n, want) in CT_ROOTS.iter().enumerate() {
        let n = n as u64;
        assert_eq!(t.root_at(n).unwrap().hash, h(want), "size {n}");
        let leaves: Vec<_> = CT_LEAVES[..n as usize].iter().map(|l| hash_leaf(l)).collect();
        assert_eq!(root_of(&leaves), h(want), "root_of size {n}");
    }
    assert_eq!(t.root().hash, h(CT_ROOTS[8]));
}

/// RFC 6962 §2.1.3 worked example values as published with the reference implementations.
#[test]
fn ct_reference_inclusion_path() {
    let t = ct_tree();
    let p = t.inclusion_proof(0, 7).unwrap();
    assert_eq!(
        p.path,
        vec![
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"),
        ]
    );
    let p = t.inclusion_proof(0, 8).unwrap();
    assert_eq!(
        p.path,
        vec![
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ]
    );
}

#[test]
fn ct_reference_consistency_proofs() {
    let t = ct_tree();
    let cases: &[(u64, u64, &[&str])] = &[
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (m, n, want) in cases {
        let p = t.consistency_proof(*m, *n).unwrap();
        let want: Vec<NodeHash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(p.path, want, "{m} -> {n}");
        p.verify(&root(&t, *m), &root(&t, *n)).unwrap();
    }
}

#[test]
fn every_proof_of_the_ct_tree_verifies() {
    let t = ct_tree();
    for n in 1..=8u64 {
        for i in 0..n {
            let p = t.inclusion_proof(i, n).unwrap();
            assert_eq!(p.path.len(), inclusion_path_len(i, n));
            p.verify(&hash_leaf(CT_LEAVES[i as usize]), &root(&t, n)).unwrap();
        }
        for m in 0..=n {
            let p = t.consistency_proof(m, n).unwrap();
            assert_eq!(p.path.len(), consistency_path_len(m, n));
            p.verify(&root(&t, m), &root(&t, n)).unwrap();
        }
    }
}

/// The `want_err` cases of the transparency-dev verifier tests, in our types.
#[test]
fn malformed_proofs_are_refused() {
    let t = ct_tree();
    let leaf = hash_leaf(CT_LEAVES[2]);
    let good = t.inclusion_proof(2, 5).unwrap();
    let r5 = root(&t, 5);
    // Index out of range, and index == size.
    for index in [5, 6, u64::MAX] {
        let p = InclusionProof { leaf_index: index, ..good.clone() };
        assert!(matches!(p.verify(&leaf, &r5), Err(ProofError::IndexOutOfRange { .. })));
    }
    // Path too short, too long, empty.
    let mut short = good.clone();
    short.path.pop();
    assert!(matches!(short.verify(&leaf, &r5), Err(ProofError::WrongPathLength { .. })));
    let mut long = good.clone();
    long.path.push(NodeHash(leaf.0));
    assert!(matches!(long.verify(&leaf, &r5), Err(ProofError::WrongPathLength { .. })));
    let empty = InclusionProof { path: vec![], ..good.clone() };
    assert!(empty.verify(&leaf, &r5).is_err());
    // Wrong leaf, wrong root, wrong size, wrong index.
    assert!(good.verify(&hash_leaf(b"other"), &r5).is_err());
    assert!(good.verify(&leaf, &root(&t, 6)).is_err());
    assert!(InclusionProof { leaf_index: 3, ..good.clone() }.verify(&leaf, &r5).is_err());
    // Size 0: nothing is included.
    let p0 = InclusionProof { leaf_index: 0, tree_size: TreeSize(0), path: vec![] };
    assert!(p0.verify(&leaf, &RootHash { hash: empty_root(), tree_size: TreeSize(0) }).is_err());

    // Consistency: empty proof for m < n, swapped sizes, flipped roots.
    let (r2, r8) = (root(&t, 2), root(&t, 8));
    let c = t.consistency_proof(2, 8).unwrap();
    c.verify(&r2, &r8).unwrap();
    assert!(ConsistencyProof { path: vec![], ..c.clone() }.verify(&r2, &r8).is_err());
    assert!(c.verify(&r8, &r2).is_err());
    assert!(c.verify(&root(&t, 3), &r8).is_err());
    assert!(c.verify(&r2, &root(&t, 7)).is_err());
    let swapped = ConsistencyProof { old_size: TreeSize(8), new_size: TreeSize(2), path: c.path.clone() };
    assert!(swapped.verify(&r8, &r2).is_err());
    // Equal sizes need equal roots and an empty proof.
    let same = ConsistencyProof { old_size: TreeSize(5), new_size: TreeSize(5), path: vec![] };
    same.verify(&r5, &r5).unwrap();
    assert!(same.verify(&r5, &RootHash { hash: r8.hash, tree_size: TreeSize(5) }).is_err());
    assert!(ConsistencyProof { path: vec![r5.hash], ..same }.verify(&r5, &r5).is_err());
    assert!(matches!(t.consistency_proof(5, 2), Err(MerkleError::SizesOutOfOrder { .. })));
    assert!(matches!(t.consistency_proof(2, 9), Err(MerkleError::TooSmall { .. })));
}

/// `rs_merkle`'s default SHA-256 hasher has no leaf/node domain separation: an interior
/// node can be presented as a leaf. The forgery passes its verifier and fails ours.
#[test]
fn rs_merkle_defaults_allow_a_second_preimage_ours_do_not() {
    use rs_merkle::{MerkleTree, algorithms::Sha256 as RsSha256};
    let leaves: Vec<[u8; 32]> = (0u8..4).map(|i| <RsSha256 as rs_merkle::Hasher>::hash(&[i])).collect();
    let tree = MerkleTree::<RsSha256>::from_leaves(&leaves);
    let rs_root = tree.root().unwrap();
    // Forge: the 64 bytes leaf0 || leaf1 hash (without prefix) to the level-1 node,
    // so a two-"leaf" tree of (node01, node23) has the same root.
    let node01 = <RsSha256 as rs_merkle::Hasher>::concat_and_hash(&leaves[0], Some(&leaves[1]));
    let node23 = <RsSha256 as rs_merkle::Hasher>::concat_and_hash(&leaves[2], Some(&leaves[3]));
    let forged = MerkleTree::<RsSha256>::from_leaves(&[node01, node23]);
    let proof = forged.proof(&[0]);
    assert!(proof.verify(rs_root, &[0], &[node01], 2), "rs_merkle's default accepts the forgery");
    // Multi-index proofs (where upstream PR #52 reports duplicate indices being accepted)
    // do not exist here: an InclusionProof names exactly one index.

    // Ours: the same shape of forgery. Build the real tree over 4 leaves, then present
    // the level-1 node's preimage as leaf data of a 2-leaf tree.
    let mut ours = MemoryTree::new();
    for l in &leaves {
        ours.append(hash_leaf(l));
    }
    let real_root = ours.root();
    let n01 = ours.node(NodeId::new(1, 0)).unwrap();
    let n23 = ours.node(NodeId::new(1, 1)).unwrap();
    // The forged leaf "data" would have to hash, with the 0x00 prefix, to n01; but
    // hash_leaf(preimage of n01) = SHA-256(0x00 ‖ 0x01 ‖ ...) != n01.
    let mut preimage = vec![NODE_PREFIX];
    preimage.extend_from_slice(&ours.node(NodeId::new(0, 0)).unwrap().0);
    preimage.extend_from_slice(&ours.node(NodeId::new(0, 1)).unwrap().0);
    assert_ne!(NodeHash(hash_leaf(&preimage).0), n01);
    let forged_proof = InclusionProof { leaf_index: 0, tree_size: TreeSize(2), path: vec![n23] };
    let forged_root = RootHash { hash: real_root.hash, tree_size: TreeSize(2) };
    assert!(forged_proof.verify(&hash_leaf(&preimage), &forged_root).is_err());
    // Even claiming the right size, the forged leaf is not in the real tree.
    let p = InclusionProof { leaf_index: 0, tree_size: TreeSize(4), path: vec![n23] };
    assert!(p.verify(&hash_leaf(&preimage), &real_root).is_err());
}

/// `rs_merkle` configured with RFC 9162 hashers: a second, independent implementation.
#[derive(Clone)]
struct Rfc9162Hasher;

impl rs_merkle::Hasher for Rfc9162Hasher {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        // rs_merkle hashes only the concatenation of two children through this function.
        let mut buf = vec![NODE_PREFIX];
        buf.extend_from_slice(data);
        crate::types::sha256(&[&buf])
    }
}

fn build(n: usize, seed: u64) -> (MemoryTree, Vec<LeafHash>) {
    let mut t = MemoryTree::new();
    let leaves: Vec<LeafHash> = (0..n).map(|i| hash_leaf(&[seed.to_be_bytes(), (i as u64).to_be_bytes()].concat())).collect();
    for l in &leaves {
        t.append(*l);
    }
    (t, leaves)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Roots and audit paths agree with rs_merkle (RFC hashers) on random trees.
    #[test]
    fn differential_against_rs_merkle(n in 1usize..300, seed in any::<u64>(), pick in any::<prop::sample::Index>()) {
        let (t, leaves) = build(n, seed);
        let raw: Vec<[u8; 32]> = leaves.iter().map(|l| l.0).collect();
        let rs = rs_merkle::MerkleTree::<Rfc9162Hasher>::from_leaves(&raw);
        prop_assert_eq!(rs.root().unwrap(), t.root().hash.0);
        let i = pick.index(n);
        let ours = t.inclusion_proof(i as u64, n as u64).unwrap();
        let theirs = rs.proof(&[i]);
        prop_assert_eq!(theirs.proof_hashes().to_vec(), ours.path.iter().map(|x| x.0).collect::<Vec<_>>());
        prop_assert!(theirs.verify(rs.root().unwrap(), &[i], &[raw[i]], n));
        ours.verify(&leaves[i], &t.root()).unwrap();
    }

    /// Every inclusion and consistency proof at every earlier size verifies; any flipped
    /// bit in a proof, a leaf or a root makes it fail.
    #[test]
    fn proofs_verify_and_tampering_fails(n in 1u64..200, seed in any::<u64>(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(), bit in 0usize..256) {
        let (t, leaves) = build(n as usize, seed);
        let size = 1 + b.index(n as usize) as u64;
        let i = a.index(size as usize) as u64;
        let r = t.root_at(size).unwrap();
        let p = t.inclusion_proof(i, size).unwrap();
        p.verify(&leaves[i as usize], &r).unwrap();
        if !p.path.is_empty() {
            let mut bad = p.clone();
            let k = bit % bad.path.len();
            bad.path[k].0[(bit / 8) % 32] ^= 1 << (bit % 8);
            prop_assert!(bad.verify(&leaves[i as usize], &r).is_err());
        }
        let mut bad_leaf = leaves[i as usize];
        bad_leaf.0[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(p.verify(&bad_leaf, &r).is_err());

        let old = a.index(size as usize + 1) as u64;
        let c = t.consistency_proof(old, size).unwrap();
        let ro = t.root_at(old).unwrap();
        c.verify(&ro, &r).unwrap();
        if 0 < old && old < size {
            let mut bad_root = ro;
            bad_root.hash.0[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(c.verify(&bad_root, &r).is_err());
            let mut bad = c.clone();
            let k = bit % bad.path.len();
            bad.path[k].0[0] ^= 1;
            prop_assert!(bad.verify(&ro, &r).is_err());
        }
    }

    /// Proofs built from only the nodes the planner names equal those from the whole tree,
    /// and a frontier reloaded from the store equals the live one.
    #[test]
    fn planned_node_reads_suffice(n in 1u64..200, seed in any::<u64>(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let (t, _) = build(n as usize, seed);
        let size = 1 + b.index(n as usize) as u64;
        let i = a.index(size as usize) as u64;
        let fetch = |ids: Vec<NodeId>| MapSource(ids.into_iter().map(|id| (id, t.node(id).unwrap())).collect());
        prop_assert_eq!(inclusion_proof(i, size, &fetch(inclusion_node_ids(i, size))).unwrap(), t.inclusion_proof(i, size).unwrap());
        prop_assert_eq!(consistency_proof(i, size, &fetch(consistency_node_ids(i, size))).unwrap(), t.consistency_proof(i, size).unwrap());
        prop_assert_eq!(root_at(size, &fetch(root_node_ids(size))).unwrap(), t.root_at(size).unwrap());
        let f = Frontier::load(n, &t).unwrap();
        prop_assert_eq!(f.root_hash(), t.root());
        prop_assert!(inclusion_node_ids(i, size).len() <= 2 * 64);
    }
}

#[test]
fn frontier_reports_each_completed_node_once() {
    let mut f = Frontier::new();
    let mut seen = std::collections::HashSet::new();
    for i in 0..100u64 {
        f.append(hash_leaf(&i.to_be_bytes()), |id, _| {
            assert!(seen.insert(id), "{id:?} twice");
        });
    }
    // 100 leaves complete 100 + 50 + 25 + 12 + 6 + 3 + 1 nodes.
    assert_eq!(seen.len(), 197);
    assert!(NodeId::new(6, 0).is_complete_within(100));
    assert!(!NodeId::new(6, 1).is_complete_within(100));
    assert!(!NodeId::new(63, u64::MAX).is_complete_within(u64::MAX));
}
