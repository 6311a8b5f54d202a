//! Durability: a child process appends, seals and anchors in a loop, printing `ACK` for
//! each append only after it returned (committed). The parent SIGKILLs it at random
//! points, many times, reopens the store and checks that no acknowledged claim was lost,
//! that sequence numbers have no gaps, that every checkpoint matches a root recomputed
//! from the stored leaf hashes, that the chain verifies, and that the outbox resumes.

#![allow(clippy::many_single_char_names, clippy::large_enum_variant)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use evidence_core::checkpoint::{ChainLink, verify_chain};
use evidence_core::merkle::root_of;
use evidence_core::{ClaimSink, LeafHash, Seq};
use ledger::Ledger;
use ledger::crypto::{FileKeyring, MasterKey, SecretKey};
use ledger::store::postgres::PgStore;
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{Store, TenantConfig, TenantStore};
use test_support::fixtures::{finding, signer, tid};
use test_support::{FabricTestDouble, OpensslTsa, PgHarness, Switchable, TempDir};

const CHILD_ENV: &str = "LEDGER_CRASH_CHILD";
const KEYRING_ENV: &str = "LEDGER_CRASH_KEYRING";

/// The parent and every child share one key provider outside the database, as a server
/// and its restarts do: a file keyring in a directory the parent chooses.
fn ledger<S: Store>(s: S, keyring: &std::path::Path) -> Ledger<S> {
    let master = MasterKey::from_secret(SecretKey::from_bytes([7; 32]));
    Ledger::new(s, signer(), FileKeyring::open(master, keyring).unwrap())
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn child_loop<S: Store>(s: S, keyring: &std::path::Path) {
    let l = ledger(s, keyring);
    let t = l.create_tenant(&tid("crash"), &TenantConfig::default()).await.unwrap();
    let tsa = OpensslTsa::generate("Crash TSA", "CA").unwrap();
    let fabric = FabricTestDouble::default();
    let mut rng = Rng(u64::try_from(ledger::now().0).unwrap() | 1);
    let pid = std::process::id();
    for iter in 0u64.. {
        let n = 1 + rng.below(20);
        let reqs = (0..n).map(|j| finding(iter * 100 + j).with_idempotency_key(format!("{pid}-{iter}-{j}"))).collect();
        let rs = t.append_batch(reqs).await.unwrap();
        for r in rs {
            println!("ACK {} {}", r.seq.0, r.leaf_hash);
        }
        match rng.below(4) {
            0 => {
                t.seal_now().await.unwrap();
                println!("SEALED");
            }
            1 => {
                t.process_anchors(&tsa, &fabric, 4).await.unwrap();
            }
            _ => {}
        }
    }
}

/// The child's body; only runs when the parent sets the environment variable.
#[test]
fn crash_child() {
    let Ok(target) = std::env::var(CHILD_ENV) else { return };
    let keyring = std::path::PathBuf::from(std::env::var(KEYRING_ENV).unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        if let Some(dir) = target.strip_prefix("sqlite:") {
            child_loop(SqliteStore::open(dir, Durability::PowerLoss).await.unwrap(), &keyring).await;
        } else if let Some(url) = target.strip_prefix("pg:") {
            child_loop(PgStore::connect(url, 4).await.unwrap(), &keyring).await;
        }
    });
}

/// Runs one child until killed; returns the acknowledged (seq, leaf hash) pairs.
fn run_and_kill(target: &str, keyring: &std::path::Path, rng: &mut Rng) -> Vec<(u64, String)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash::crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, target)
        .env(KEYRING_ENV, keyring)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait for the first acknowledgement, then kill after a random delay.
    let mut acks = Vec::new();
    let started = Instant::now();
    let mut first = None;
    let delay = Duration::from_millis(20 + rng.below(400));
    loop {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("ACK ") {
                    let (seq, h) = rest.split_once(' ').unwrap();
                    acks.push((seq.parse().unwrap(), h.to_owned()));
                    first.get_or_insert_with(Instant::now);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("child exited on its own"),
        }
        if first.is_some_and(|f| f.elapsed() >= delay) {
            break;
        }
        assert!(started.elapsed() < Duration::from_mins(1), "child made no progress");
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    // Lines already in the pipe were acknowledged before the kill.
    while let Ok(line) = rx.try_recv() {
        if let Some(rest) = line.strip_prefix("ACK ")
            && let Some((seq, h)) = rest.split_once(' ')
            && h.len() == 64
        {
            acks.push((seq.parse().unwrap(), h.to_owned()));
        }
    }
    acks
}

async fn check_after_crash<S: Store>(s: S, keyring: &std::path::Path, acked: &std::collections::HashMap<u64, String>) -> (u64, usize) {
    let l = ledger(s, keyring);
    let t = l.tenant(&tid("crash")).await.unwrap();
    let size = t.store().size().await.unwrap();
    let leaves = t.store().leaves(0, u64::MAX >> 1).await.unwrap();
    // No gap: exactly seqs 0..size.
    assert_eq!(leaves.len() as u64, size);
    for (i, l) in leaves.iter().enumerate() {
        assert_eq!(l.seq, Seq(i as u64));
    }
    // No acknowledged claim lost, and each is the leaf that was acknowledged.
    for (seq, h) in acked {
        let leaf = leaves.get(usize::try_from(*seq).unwrap()).unwrap_or_else(|| panic!("acknowledged leaf {seq} lost"));
        assert_eq!(&leaf.leaf_hash.to_hex(), h, "leaf {seq}");
    }
    // Every checkpoint agrees with its leaves; the chain verifies.
    let hashes: Vec<LeafHash> = leaves.iter().map(|l| l.leaf_hash).collect();
    let cps = t.checkpoints(0, u32::MAX).await.unwrap();
    let mut links = Vec::new();
    for (i, cp) in cps.iter().enumerate() {
        let n = usize::try_from(cp.root.tree_size.0).unwrap();
        assert_eq!(root_of(&hashes[..n]), cp.root.hash, "checkpoint {}", cp.seq);
        let consistency = if i == 0 { None } else { Some(t.consistency_proof(&cps[i - 1], cp).await.unwrap()) };
        links.push(ChainLink { checkpoint: cp.note.clone(), consistency });
    }
    verify_chain(&links, &[l.verifier(&tid("crash")).unwrap()]).unwrap();
    // A new append after the crash continues the sequence.
    (size, cps.len())
}

async fn resume_outbox<S: Store>(s: S, keyring: &std::path::Path) -> usize {
    let l = ledger(s, keyring);
    let t = l.tenant(&tid("crash")).await.unwrap();
    t.seal_now().await.unwrap();
    let tsa = Switchable::new(OpensslTsa::generate("Resume TSA", "CA").unwrap());
    let fabric = FabricTestDouble::default();
    let pending = t.store().unanchored().await.unwrap().len();
    // Rows leased by a killed worker come back when the lease ends; rows that failed
    // come back after their backoff. Drive passes until all are anchored.
    let deadline = Instant::now() + Duration::from_mins(5);
    while !t.store().unanchored().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "outbox did not drain");
        t.process_anchors(&tsa, &fabric, 1000).await.unwrap();
        // Expire leases of rows a killed worker held (the lease is 2 minutes).
        for r in t.store().unanchored().await.unwrap() {
            t.store().anchor_failed(r.id, "lease of a killed worker", ledger::now()).await.unwrap();
        }
    }
    let r = t.append(finding(1)).await.unwrap();
    assert_eq!(r.seq.0, t.store().size().await.unwrap() - 1);
    pending
}

fn kills() -> u64 {
    std::env::var("LEDGER_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(30)
}

#[test]
fn sqlite_survives_sigkill() {
    let dir = TempDir::new("ledger-crash");
    let target = format!("sqlite:{}", dir.path().display());
    let keyring = dir.path().join("keyring");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::try_from(ledger::now().0).unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut acked = std::collections::HashMap::new();
    for _ in 0..kills() {
        acked.extend(run_and_kill(&target, &keyring, &mut rng));
        let s = rt.block_on(SqliteStore::open(dir.path(), Durability::PowerLoss)).unwrap();
        let (size, cps) = rt.block_on(check_after_crash(s, &keyring, &acked));
        assert!(size >= acked.len() as u64);
        eprintln!("sqlite: {} acknowledged, {size} leaves, {cps} checkpoints", acked.len());
    }
    let s = rt.block_on(SqliteStore::open(dir.path(), Durability::PowerLoss)).unwrap();
    let pending = rt.block_on(resume_outbox(s, &keyring));
    eprintln!("sqlite: outbox resumed {pending} rows");
}

#[test]
fn postgres_survives_sigkill() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let h = rt.block_on(PgHarness::start());
    let target = format!("pg:{}", h.url);
    let keys = TempDir::new("ledger-crash-keyring");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ u64::try_from(ledger::now().0).unwrap());
    let mut acked = std::collections::HashMap::new();
    for _ in 0..kills() {
        acked.extend(run_and_kill(&target, keys.path(), &mut rng));
        let s = rt.block_on(PgStore::connect_with(h.options.clone(), 2)).unwrap();
        let (size, cps) = rt.block_on(check_after_crash(s.clone(), keys.path(), &acked));
        rt.block_on(s.pool().close());
        assert!(size >= acked.len() as u64);
        eprintln!("postgres: {} acknowledged, {size} leaves, {cps} checkpoints", acked.len());
    }
    let s = rt.block_on(PgStore::connect_with(h.options.clone(), 2)).unwrap();
    let pending = rt.block_on(resume_outbox(s, keys.path()));
    eprintln!("postgres: outbox resumed {pending} rows");
}
