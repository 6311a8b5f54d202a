//! Anchoring round trip against the emulator over gRPC on 127.0.0.1 (endorse + submit + commit
//! status + receipt fetch), and offline `verify_receipt` per receipt, each beside a floor
//! measured in the same run (one SHA-256 of a block's bytes; one P-256 signature verification;
//! one bare Evaluate round trip). With Node.js and the chaincode's packages installed, the same
//! round trips again with the emulator in chaincode-shim mode, endorsing in the real Node
//! chaincode (`chaincode/evidence-anchor`), beside the Rust-semantics figures of the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use evidence_core::CheckpointHash;
use evidence_core::fabric::{BlockLimits, verify_receipt};
use fabric_anchor::emulator::{self, EmulatorConfig};
use fabric_anchor::{AnchorClient, GatewayClient, GatewayConfig, ReceiptFactory};
use sha2::Digest as _;

fn bench_round_trip(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let emu = rt.block_on(emulator::spawn(EmulatorConfig::default())).expect("emulator");
    let client = {
        let _g = rt.enter();
        AnchorClient::new(GatewayClient::connect(GatewayConfig::plaintext(emu.url()), emu.client_identity().clone()).expect("client"))
    };
    let mut g = c.benchmark_group("fabric_anchor");
    g.sample_size(20);
    let mut seq = 0u64;
    g.bench_function("anchor_round_trip", |b| {
        b.to_async(&rt).iter(|| {
            seq += 1;
            let client = client.clone();
            let s = seq;
            async move { client.anchor("evidence", "bench", s, &CheckpointHash([1; 32])).await.expect("anchor") }
        });
    });
    g.bench_function("floor_evaluate_round_trip", |b| {
        b.to_async(&rt).iter(|| {
            let client = client.clone();
            async move { client.get("evidence", "bench", 1).await.expect("get") }
        });
    });
    g.finish();
    rt.block_on(emu.shutdown());
}

/// The round trips with the real chaincode behind the emulator (skipped without Node.js).
fn bench_round_trip_shim(c: &mut Criterion) {
    use fabric_anchor::emulator::{ChaincodeMode, NodeChaincodeOptions, NodeChaincodeServer};
    if let Some(why) = NodeChaincodeServer::missing_prerequisite(&NodeChaincodeServer::default_dir()) {
        eprintln!("fabric_anchor_shim benches SKIPPED: {why}");
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let cc = NodeChaincodeServer::start(NodeChaincodeOptions::new("evidence-anchor_bench:00")).expect("chaincode server");
    let emu = rt
        .block_on(emulator::spawn(EmulatorConfig { chaincode: ChaincodeMode::Shim(cc.shim_config()), ..EmulatorConfig::default() }))
        .expect("emulator");
    let client = {
        let _g = rt.enter();
        AnchorClient::new(GatewayClient::connect(GatewayConfig::plaintext(emu.url()), emu.client_identity().clone()).expect("client"))
    };
    rt.block_on(client.anchor("evidence", "bench", 1, &CheckpointHash([1; 32]))).expect("first anchor");
    let mut g = c.benchmark_group("fabric_anchor_shim");
    g.sample_size(20);
    let mut seq = 1u64;
    g.bench_function("anchor_round_trip", |b| {
        b.to_async(&rt).iter(|| {
            seq += 1;
            let client = client.clone();
            let s = seq;
            async move { client.anchor("evidence", "bench", s, &CheckpointHash([1; 32])).await.expect("anchor") }
        });
    });
    g.bench_function("evaluate_get_round_trip", |b| {
        b.to_async(&rt).iter(|| {
            let client = client.clone();
            async move { client.get("evidence", "bench", 1).await.expect("get") }
        });
    });
    g.finish();
    rt.block_on(emu.shutdown());
    cc.stop();
}

fn bench_verify(c: &mut Criterion) {
    let f = ReceiptFactory::new("evidence").expect("factory");
    let roots = f.trust().msp_roots().expect("roots");
    let h = CheckpointHash([2; 32]);
    let (r, key) = f.receipt("bench", 1, &h).expect("receipt");
    let opts = BlockLimits::default();
    let mut g = c.benchmark_group("fabric_anchor");
    g.bench_function("verify_receipt", |b| b.iter(|| verify_receipt(&r, &h, &key, &roots, None, &opts).expect("verifies")));
    g.bench_function("floor_sha256_block", |b| b.iter(|| sha2::Sha256::digest(&r.block)));
    // One P-256 signature verification: verify_receipt does six (creator, endorsement and
    // orderer signatures, and the certificate signature of each of the three signers).
    let id = f.client_identity();
    let sig = id.sign(b"floor").expect("sign");
    let vk = id.verifying_key();
    g.bench_function("floor_p256_verify", |b| b.iter(|| assert!(fabric_anchor::identity::verify_signature(&vk, b"floor", &sig))));
    // Outside the closure: criterion calls it more than once, and keys must stay unique.
    let mut seq = 1u64;
    g.bench_function("factory_receipt", |b| {
        b.iter(|| {
            seq += 1;
            f.receipt("bench", seq, &h).expect("receipt")
        });
    });
    g.finish();
}

criterion_group!(benches, bench_verify, bench_round_trip, bench_round_trip_shim);
criterion_main!(benches);
