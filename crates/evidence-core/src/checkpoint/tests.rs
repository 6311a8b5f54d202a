#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use super::*;
use crate::merkle::{MemoryTree, hash_leaf};

const LEDGER: &str = "ledger.example.ca";

fn tenant() -> TenantId {
    TenantId::new("rooftop-7").unwrap()
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed(&origin_for(LEDGER, &tenant()), &[42; 32]).unwrap()
}

/// Builds a tree and a chain of checkpoints at the given sizes.
fn chain(sizes: &[u64]) -> (Vec<ChainLink>, MemoryTree) {
    let mut tree = MemoryTree::new();
    let mut links: Vec<ChainLink> = Vec::new();
    let mut prev_cp: Option<Checkpoint> = None;
    for (i, &size) in sizes.iter().enumerate() {
        while tree.size() < size {
            tree.append(hash_leaf(&tree.size().to_be_bytes()));
        }
        let cp = Checkpoint {
            origin: origin_for(LEDGER, &tenant()),
            tenant: tenant(),
            seq: CheckpointSeq(i as u64),
            root: tree.root_at(size).unwrap(),
            prev: prev_cp.as_ref().map_or(CheckpointHash([0; 32]), Checkpoint::hash),
            sealed_at: UnixMillis(1_795_000_000_000 + 3_600_000 * i as i64),
        };
        let consistency = prev_cp.as_ref().map(|p| tree.consistency_proof(p.root.tree_size.0, size).unwrap());
        links.push(ChainLink { checkpoint: cp.sign(&signer()).unwrap(), consistency });
        prev_cp = Some(cp);
    }
    (links, tree)
}

#[test]
fn body_format_is_exact() {
    let (links, _) = chain(&[3]);
    let cp = links[0].checkpoint.verify(&signer().verifier()).unwrap();
    let body = cp.body();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "ledger.example.ca/tenant/rooftop-7");
    assert_eq!(lines[1], "3");
    assert_eq!(lines[3], "evidence/v1 tenant rooftop-7");
    assert_eq!(lines[4], "evidence/v1 seq 0");
    assert_eq!(lines[5], format!("evidence/v1 prev {}", "0".repeat(64)));
    assert_eq!(lines[6], "evidence/v1 sealed 2026-11-18T11:06:40.000Z");
    assert_eq!(Checkpoint::parse_body(&body).unwrap(), cp);
    assert_eq!(cp.hash().0, sha256(&[body.as_bytes()]));
    // The note's key name is the origin.
    assert!(links[0].checkpoint.note.contains("\n\u{2014} ledger.example.ca/tenant/rooftop-7 "));
}

#[test]
fn body_parsing_is_strict() {
    let (links, _) = chain(&[3]);
    let body = links[0].checkpoint.parse_unverified().unwrap().body();
    let variants = [
        body.replacen("\n3\n", "\n03\n", 1),
        body.replacen("\n3\n", "\n+3\n", 1),
        body.replacen("evidence/v1 seq 0", "evidence/v1 seq 00", 1),
        body.replacen("evidence/v1 seq", "evidence/v2 seq", 1),
        body.replacen(".000Z", "Z", 1),
        body.replacen(&"0".repeat(64), &"A".repeat(64), 1),
        body.trim_end().to_owned(),
        format!("{body}extra line\n"),
        body.replacen("tenant rooftop-7", "tenant Rooftop-7", 1),
    ];
    for v in variants {
        assert!(Checkpoint::parse_body(&v).is_err(), "{v}");
    }
}

#[test]
fn a_valid_chain_verifies() {
    let (links, _) = chain(&[0, 1, 1, 5, 8, 100]);
    let cps = verify_chain(&links, &[signer().verifier()]).unwrap();
    assert_eq!(cps.len(), 6);
    // A run starting later than seq 0 verifies too.
    verify_chain(&links[2..], &[signer().verifier()]).unwrap();
}

#[test]
fn chain_breaks_are_found() {
    let (links, _) = chain(&[1, 5, 8]);
    let v = signer().verifier();
    // Missing middle checkpoint.
    let gap = vec![links[0].clone(), links[2].clone()];
    assert!(matches!(verify_chain(&gap, std::slice::from_ref(&v)), Err(CheckpointError::Chain { .. })));
    // Reordered.
    assert!(verify_chain(&[links[1].clone(), links[0].clone()], std::slice::from_ref(&v)).is_err());
    // Missing consistency proof.
    let mut no_proof = links.clone();
    no_proof[1].consistency = None;
    assert!(matches!(verify_chain(&no_proof, std::slice::from_ref(&v)), Err(CheckpointError::Chain { .. })));
    // Wrong proof.
    let mut wrong = links.clone();
    wrong[2].consistency = links[1].consistency.clone();
    assert!(matches!(
        verify_chain(&wrong, std::slice::from_ref(&v)),
        Err(CheckpointError::Consistency { .. } | CheckpointError::Chain { .. })
    ));
    // A fork: a checkpoint over a different tree at the same position, correctly signed.
    let (other, _) = chain(&[1, 6, 8]);
    let fork = vec![links[0].clone(), links[1].clone(), other[2].clone()];
    assert!(verify_chain(&fork, std::slice::from_ref(&v)).is_err());
    // Wrong key, wrong name.
    let stranger = NoteSigner::from_seed(&origin_for(LEDGER, &tenant()), &[1; 32]).unwrap().verifier();
    assert!(matches!(
        verify_chain(&links, std::slice::from_ref(&stranger)),
        Err(CheckpointError::Note(NoteError::NoTrustedSignature { .. }))
    ));
    let other_tenant = tenant_verifier(LEDGER, &TenantId::new("rooftop-8").unwrap(), *v.key()).unwrap();
    assert!(verify_chain(&links, std::slice::from_ref(&other_tenant)).is_err());
    // Tampered body under a valid-looking note.
    let mut t = links[0].clone();
    t.checkpoint.note = t.checkpoint.note.replacen("\n1\n", "\n2\n", 1);
    assert!(matches!(t.checkpoint.verify(&v), Err(CheckpointError::Note(NoteError::BadSignature { .. }))));
}

#[test]
fn signer_must_be_named_after_the_origin() {
    let (links, _) = chain(&[1]);
    let cp = links[0].checkpoint.parse_unverified().unwrap();
    let wrong = NoteSigner::from_seed("ledger.example.ca", &[42; 32]).unwrap();
    assert!(matches!(cp.sign(&wrong), Err(CheckpointError::Origin { .. })));
}
