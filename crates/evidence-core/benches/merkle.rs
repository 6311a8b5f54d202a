//! Merkle tree benchmarks against a hashing floor measured in the same run.
//!
//! Floor: for n leaves of 64-byte data, exactly the inputs the tree must hash, hashed in
//! a flat loop with the same `sha2` crate: n leaf inputs (0x00 followed by the 64 bytes)
//! and n-1 node inputs of 65 bytes. `scripts/bench-ratios.py` turns the estimates into
//! the ratios in BENCHMARKS.md.

#![allow(clippy::cast_possible_truncation)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use evidence_core::internal::merkle_store::Frontier;
use evidence_core::merkle::{MemoryTree, hash_leaf, root_of, root_of_entries};
use sha2::{Digest as _, Sha256};

const N: usize = 1 << 20;

fn leaf_data(n: usize) -> Vec<[u8; 64]> {
    (0..n)
        .map(|i| {
            let mut d = [0u8; 64];
            d[..8].copy_from_slice(&(i as u64).to_le_bytes());
            d
        })
        .collect()
}

fn floor_inputs(n: usize) -> (Vec<[u8; 65]>, Vec<[u8; 65]>) {
    let leaves = leaf_data(n)
        .into_iter()
        .map(|d| {
            let mut b = [0u8; 65];
            b[1..].copy_from_slice(&d);
            b
        })
        .collect();
    let nodes = (0..n - 1)
        .map(|i| {
            let mut b = [0x01u8; 65];
            b[1..9].copy_from_slice(&(i as u64).to_le_bytes());
            b
        })
        .collect();
    (leaves, nodes)
}

fn benches(c: &mut Criterion) {
    let data = leaf_data(N);
    let (floor_leaves, floor_nodes) = floor_inputs(N);
    let mut g = c.benchmark_group("merkle_2p20");
    g.sample_size(10);
    g.bench_function("floor_sha256_2n_minus_1_inputs", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for x in &floor_leaves {
                acc ^= Sha256::digest(black_box(x))[0];
            }
            for x in &floor_nodes {
                acc ^= Sha256::digest(black_box(x))[0];
            }
            acc
        });
    });
    g.bench_function("root_of_fresh_tree_streaming", |b| {
        b.iter(|| root_of_entries(black_box(&data).iter().map(<[u8; 64]>::as_slice)));
    });
    g.bench_function("root_of_fresh_tree_from_collected_leaf_hashes", |b| {
        b.iter(|| {
            let leaves: Vec<_> = data.iter().map(|d| hash_leaf(d)).collect();
            root_of(black_box(&leaves))
        });
    });
    g.bench_function("frontier_append_each_then_root", |b| {
        b.iter(|| {
            let mut f = Frontier::new();
            for d in &data {
                f.push(hash_leaf(d));
            }
            f.root()
        });
    });
    g.bench_function("memory_tree_append_each_storing_nodes_then_root", |b| {
        b.iter_batched(
            MemoryTree::new,
            |mut t| {
                for d in &data {
                    t.append(hash_leaf(d));
                }
                t.root()
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();

    let mut tree = MemoryTree::new();
    for d in &data {
        tree.append(hash_leaf(d));
    }
    let root = tree.root();
    let idx = 654_321u64;
    let proof = tree.inclusion_proof(idx, N as u64).unwrap();
    let leaf = hash_leaf(&data[idx as usize]);
    let old = tree.root_at(700_001).unwrap();
    let cproof = tree.consistency_proof(700_001, N as u64).unwrap();
    let mut g = c.benchmark_group("verify_2p20");
    g.bench_function("inclusion_verify", |b| b.iter(|| black_box(&proof).verify(black_box(&leaf), &root).unwrap()));
    g.bench_function("consistency_verify", |b| b.iter(|| black_box(&cproof).verify(black_box(&old), &root).unwrap()));
    g.bench_function("floor_sha256_one_node_input", |b| {
        let x = floor_nodes[0];
        b.iter(|| Sha256::digest(black_box(&x)));
    });
    g.finish();
}

criterion_group!(merkle, benches);
criterion_main!(merkle);
