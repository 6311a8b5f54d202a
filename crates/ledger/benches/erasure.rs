//! What applying an erasure costs: re-wrapping every live record's data key under a new
//! epoch and destroying the old KEK, for a tenant of N records, on SQLite and PostgreSQL
//! (durable), against a floor measured in the same run (the same re-wraps in memory, no
//! storage). Also what a `FileKeyring` costs an append compared with keys in memory.
//!
//! `cargo bench -p ledger --bench erasure` (release). `BENCH_SCALE` (default 1.0: 100 000
//! records) bounds it; `BENCH_SKIP_PG=1` skips PostgreSQL.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use std::sync::Arc;
use std::time::Instant;

use evidence_core::note::NoteSigner;
use evidence_core::{AppendRequest, Claim, ClaimKind, ClaimSink as _, Commitment, Seq, TenantId};
use ledger::crypto::{FileKeyring, KeyProvider, MasterKey, MemoryKeyring, SecretKey, random_salt, rewrap, seal_record};
use ledger::store::postgres::PgStore;
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{Store, TenantConfig};
use ledger::{Ledger, TenantLedger};
use test_support::{PgHarness, TempDir};

fn claim(n: u64) -> AppendRequest {
    let body = serde_json::json!({ "n": n, "analyzer": "cit", "deal": format!("D-{n}"), "amount": "1250.00", "staff": "FI-07" });
    AppendRequest::new(Claim::new(ClaimKind::LeakageFinding, body).expect("claim"))
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed("bench.example", &[1; 32]).expect("signer")
}

async fn fill<T: ledger::store::TenantStore>(t: &TenantLedger<T>, n: u64) {
    let mut i = 0;
    while i < n {
        let k = 1000.min(n - i);
        t.append_batch((i..i + k).map(claim).collect()).await.expect("append");
        i += k;
    }
}

/// The floor: the same number of data-key re-wraps, in memory.
fn floor(n: u64) -> f64 {
    let tenant = TenantId::new("floor").expect("tenant");
    let old = SecretKey::from_bytes([1; 32]);
    let new = SecretKey::from_bytes([2; 32]);
    let commitment = Commitment([3; 32]);
    let salt = random_salt().expect("salt");
    let rec = seal_record(&old, 1, &tenant, &commitment, salt, b"{\"v\":1}").expect("seal");
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(rewrap(&old, &new, 2, &tenant, &commitment, &rec).expect("rewrap"));
    }
    start.elapsed().as_secs_f64()
}

async fn rotation<S: Store>(name: &str, s: S, keys: Arc<dyn KeyProvider>, n: u64, floor_s: f64) {
    // An erasure inside a long window waits; the bench then applies it and times that alone.
    let l = Ledger::new(s, signer(), keys).with_erasure_window(std::time::Duration::from_hours(1));
    let t = l.create_tenant(&TenantId::new("bench").expect("tenant"), &TenantConfig::default()).await.expect("tenant");
    fill(&t, n).await;
    t.erase(Seq(n / 2), "bench").await.expect("erase");
    let start = Instant::now();
    let applied = t.apply_erasures().await.expect("apply").expect("pending");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<10} rotate {n:>7} records: {secs:>7.2} s ({:>7.0} records/s; floor {:>9.0} re-wraps/s in memory, {:>5.1}x)",
        applied.rewrapped as f64 / secs,
        n as f64 / floor_s,
        secs / floor_s
    );
}

async fn append_cost(n: u64) {
    for (label, keys) in [
        ("memory", Arc::new(MemoryKeyring::new()) as Arc<dyn KeyProvider>),
        ("file", {
            let dir = TempDir::new("bench-keyring");
            let k = FileKeyring::open(MasterKey::from_secret(SecretKey::from_bytes([5; 32])), dir.path().join("keyring")).expect("keyring");
            std::mem::forget(dir); // lives until the process ends
            Arc::new(k) as Arc<dyn KeyProvider>
        }),
    ] {
        let dir = TempDir::new("bench-erasure-append");
        let s = SqliteStore::open(dir.path(), Durability::PowerLoss).await.expect("sqlite");
        let l = Ledger::new(s, signer(), keys);
        let t = l.create_tenant(&TenantId::new("bench").expect("tenant"), &TenantConfig::default()).await.expect("tenant");
        let start = Instant::now();
        fill(&t, n).await;
        let secs = start.elapsed().as_secs_f64();
        println!("sqlite     append {n:>7} claims, {label:<6} keyring: {:>8.0} claims/s", n as f64 / secs);
    }
}

fn main() {
    let scale: f64 = std::env::var("BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let n = ((100_000.0 * scale) as u64).max(1000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let floor_s = floor(n);
    rt.block_on(async {
        let dir = TempDir::new("bench-erasure");
        let s = SqliteStore::open(dir.path(), Durability::PowerLoss).await.expect("sqlite");
        let keys = FileKeyring::open(MasterKey::from_secret(SecretKey::from_bytes([5; 32])), dir.path().join("keyring")).expect("keyring");
        rotation("sqlite", s, Arc::new(keys), n, floor_s).await;
        if std::env::var_os("BENCH_SKIP_PG").is_none() {
            let h = PgHarness::start_with(true).await;
            let s = PgStore::connect_with(h.options.clone(), 8).await.expect("pg");
            let kd = TempDir::new("bench-erasure-keyring");
            let keys = FileKeyring::open(MasterKey::from_secret(SecretKey::from_bytes([5; 32])), kd.path()).expect("keyring");
            rotation("postgres", s, Arc::new(keys), n, floor_s).await;
        }
        append_cost((20_000.0 * scale) as u64).await;
    });
}
