//! Append and seal throughput with durability on (SQLite `synchronous=FULL`, PostgreSQL
//! with `fsync=on`), against a SHA-256 floor measured in the same run.
//!
//! `cargo bench -p ledger-server --bench append` (release). Bounded by `BENCH_SCALE`
//! (default 1.0: 100 000 claims per batched run; 1 000 000 for the seal). Set
//! `BENCH_SKIP_PG=1` to skip PostgreSQL; `BENCH_PG_SEAL_1M=1` to also seal 1M on PostgreSQL.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use std::time::{Duration, Instant};

use evidence_core::note::NoteSigner;
use evidence_core::{AppendRequest, Claim, ClaimKind, TenantId};
use ledger::crypto::MemoryKeyring;
use ledger::store::postgres::PgStore;
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{Rail, Store, TenantConfig, TenantStore};
use ledger::{Ledger, TenantLedger};
use test_support::{PgHarness, TempDir};

fn claim(n: u64) -> AppendRequest {
    AppendRequest::new(
        Claim::new(
            ClaimKind::AiInvocationEvent,
            serde_json::json!({ "n": n, "model": "claude", "input_hash": "ab".repeat(32), "tokens": 1234 }),
        )
        .expect("claim"),
    )
}

fn ledger<S: Store>(s: S) -> Ledger<S> {
    Ledger::with_rails(
        s,
        NoteSigner::from_seed("bench.example", &[1; 32]).expect("signer"),
        // Keys in memory: the bench measures appends, not key storage (a FileKeyring adds one
        // stat() per append; `--bench erasure` measures it).
        MemoryKeyring::new(),
        Rail::ALL.to_vec(),
    )
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    if v.is_empty() {
        return Duration::ZERO;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct Run {
    claims: u64,
    secs: f64,
    lat: Vec<Duration>,
}

/// Appends `total` claims to one tenant in batches of `batch`, sealing every 10 000.
async fn one_tenant<T: TenantStore>(t: &TenantLedger<T>, total: u64, batch: u64) -> Run {
    let mut lat = Vec::new();
    let start = Instant::now();
    let mut since_seal = 0;
    let mut n = 0;
    while n < total {
        let reqs = (n..n + batch).map(claim).collect();
        let t0 = Instant::now();
        t.append_many(reqs).await.expect("append");
        lat.push(t0.elapsed());
        n += batch;
        since_seal += batch;
        if since_seal >= 10_000 {
            // With several clients on one PostgreSQL tenant, another client may hold the seal lock.
            match t.seal_now().await {
                Ok(_) | Err(ledger::LedgerError::Store(ledger::store::StoreError::SealBusy)) => {}
                Err(e) => panic!("seal: {e}"),
            }
            since_seal = 0;
        }
    }
    Run { claims: n, secs: start.elapsed().as_secs_f64(), lat }
}

/// As [`one_tenant`] with `clients` concurrent appenders on the same tenant.
async fn one_tenant_concurrent<T: TenantStore>(t: &TenantLedger<T>, total: u64, batch: u64, clients: u64) -> Run {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let t = t.clone();
        tasks.push(tokio::spawn(async move { one_tenant(&t, total / clients, batch).await.lat }));
    }
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await.expect("task"));
    }
    Run { claims: total / clients * clients, secs: start.elapsed().as_secs_f64(), lat }
}

async fn many_tenants<S: Store>(l: &Ledger<S>, tenants: u64, per: u64, batch: u64) -> Run {
    let mut handles = Vec::new();
    for i in 0..tenants {
        let t = l.create_tenant(&TenantId::new(format!("bench-{i}")).expect("id"), &TenantConfig::default()).await.expect("tenant");
        handles.push(t);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in handles {
        tasks.push(tokio::spawn(async move { one_tenant(&t, per, batch).await.lat }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    Run { claims: tenants * per, secs: start.elapsed().as_secs_f64(), lat }
}

fn report(name: &str, mut r: Run, floor: f64) {
    let rate = r.claims as f64 / r.secs;
    let p50 = pct(&mut r.lat, 0.50);
    let p99 = pct(&mut r.lat, 0.99);
    println!(
        "{name:<44} {:>9} claims {:>7.2} s {:>9.0} claims/s  p50 {:>8.2?} p99 {:>8.2?} per call  ({:.0}x the SHA-256 floor time)",
        r.claims,
        r.secs,
        rate,
        p50,
        p99,
        floor / rate
    );
}

/// Leaf hashes per second: the floor every append pays at least once.
fn sha_floor() -> f64 {
    let entry = vec![7u8; 120];
    let n = 2_000_000u64;
    let t0 = Instant::now();
    let mut acc = [0u8; 32];
    for i in 0..n {
        let h = evidence_core::sha256(&[&entry, &i.to_le_bytes(), &acc]);
        acc = h;
    }
    std::hint::black_box(acc);
    n as f64 / t0.elapsed().as_secs_f64()
}

async fn seal_million<S: Store>(name: &str, l: &Ledger<S>, n: u64) {
    let t = l.create_tenant(&TenantId::new("seal-1m").expect("id"), &TenantConfig::default()).await.expect("tenant");
    let mut i = 0;
    while i < n {
        t.append_many((i..i + 1000).map(claim).collect()).await.expect("append");
        i += 1000;
    }
    let t0 = Instant::now();
    let cp = t.seal_now().await.expect("seal");
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(cp.root.tree_size.0, n);
    println!("{name:<44} seal of {n} claims: {secs:.3} s");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let scale: f64 = std::env::var("BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let k = |n: u64| ((n as f64 * scale) as u64).max(100) / 100 * 100;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let floor = sha_floor();
        println!("SHA-256 floor: {floor:.0} leaf hashes/s");
        {
            let dir = TempDir::new("bench-sqlite");
            // BENCH_SQLITE_NORMAL=1 measures synchronous=NORMAL (process-crash durability only).
            let durability = if std::env::var("BENCH_SQLITE_NORMAL").is_ok() { Durability::ProcessCrash } else { Durability::PowerLoss };
            println!("sqlite durability: {durability:?}");
            let l = ledger(SqliteStore::open(dir.path(), durability).await.expect("sqlite"));
            let t = l.create_tenant(&TenantId::new("one").expect("id"), &TenantConfig::default()).await.expect("t");
            report("sqlite  1 tenant  batch 100", one_tenant(&t, k(100_000), 100).await, floor);
            let t = l.create_tenant(&TenantId::new("one-c4").expect("id"), &TenantConfig::default()).await.expect("t");
            report("sqlite  1 tenant  batch 100, 4 clients", one_tenant_concurrent(&t, k(100_000), 100, 4).await, floor);
            let t = l.create_tenant(&TenantId::new("one-b1").expect("id"), &TenantConfig::default()).await.expect("t");
            report("sqlite  1 tenant  batch 1", one_tenant(&t, k(3_000), 1).await, floor);
            report("sqlite  100 tenants batch 100", many_tenants(&l, 100, k(1_000), 100).await, floor);
            report("sqlite  100 tenants batch 1", many_tenants(&l, 100, k(100).max(20), 1).await, floor);
            seal_million("sqlite", &l, k(1_000_000)).await;
        }
        if std::env::var("BENCH_SKIP_PG").is_err() {
            let h = PgHarness::start_with(true).await;
            let l = ledger(PgStore::connect_with(h.options.clone(), 16).await.expect("pg"));
            let t = l.create_tenant(&TenantId::new("one").expect("id"), &TenantConfig::default()).await.expect("t");
            report("postgres 1 tenant  batch 100", one_tenant(&t, k(100_000), 100).await, floor);
            let t = l.create_tenant(&TenantId::new("one-c4").expect("id"), &TenantConfig::default()).await.expect("t");
            report("postgres 1 tenant  batch 100, 4 clients", one_tenant_concurrent(&t, k(100_000), 100, 4).await, floor);
            let t = l.create_tenant(&TenantId::new("one-b1").expect("id"), &TenantConfig::default()).await.expect("t");
            report("postgres 1 tenant  batch 1", one_tenant(&t, k(3_000), 1).await, floor);
            report("postgres 100 tenants batch 100", many_tenants(&l, 100, k(1_000), 100).await, floor);
            report("postgres 100 tenants batch 1", many_tenants(&l, 100, k(100).max(20), 1).await, floor);
            if std::env::var("BENCH_PG_SEAL_1M").is_ok() {
                seal_million("postgres", &l, k(1_000_000)).await;
            } else {
                seal_million("postgres", &l, k(200_000)).await;
            }
        }
    });
}
