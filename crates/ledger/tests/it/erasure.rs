//! Erasure is cryptographic: after `erase`, nothing the system still holds opens the erased
//! record, whatever the storage engine kept of it.
//!
//! The attacker of these tests has every file under the data directory (the SQLite files
//! and their WAL, or the PostgreSQL data directory after a `CHECKPOINT`), the key-ring
//! directory, the master key, and, for free, an exact copy of the erased row taken before
//! the erasure (as if recovered from a freed page or a backup). Every key the system still
//! holds (each live epoch's KEK, the master key, the legacy key derived from it) must fail
//! to open that row, and the destroyed epoch's sealed key-ring entry must be in no file.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use evidence_core::{AppendRequest, Claim, ClaimKind, ClaimSink as _, Commitment, LeafEntry, Seq, TenantId};
use ledger::crypto::{FileKeyring, KeyError, KeyProvider, MasterKey, SecretKey, open_record};
use ledger::store::postgres::PgStore;
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{EncryptedRecord, Store, TenantConfig, TenantStore};
use ledger::{Ledger, LedgerError};
use test_support::fixtures::{signer, tid};
use test_support::{PgHarness, TempDir};

const MASTER: [u8; 32] = [9; 32];

fn keyring(dir: &Path) -> Arc<FileKeyring> {
    Arc::new(FileKeyring::open(MasterKey::from_secret(SecretKey::from_bytes(MASTER)), dir).unwrap())
}

fn claim(n: u64) -> AppendRequest {
    let body = serde_json::json!({ "n": n, "note": marker(n), "staff": "P-0042" });
    AppendRequest::new(Claim::new(ClaimKind::LeakageFinding, body).unwrap())
}

fn marker(n: u64) -> String {
    format!("erasure-marker-{n:04}-qzv")
}

/// What an attacker copied before the erasure.
struct Captured {
    tenant: TenantId,
    seq: Seq,
    commitment: Commitment,
    row: EncryptedRecord,
    /// The sealed key-ring entry (hex) of the epoch the row was wrapped under.
    sealed_entry: String,
    epoch: u64,
}

fn commitment(entry: &[u8]) -> Commitment {
    LeafEntry::decode(entry).unwrap().commitment
}

/// Appends claims, seals, copies claim `target`'s row and key-ring entry, erases it.
async fn append_and_erase<S: Store>(l: &Ledger<S>, keys: &FileKeyring, keyring_dir: &Path, target: u64) -> Captured {
    let tenant = tid("erasure");
    let t = l.create_tenant(&tenant, &TenantConfig::default()).await.unwrap();
    for n in 0..8 {
        t.append(claim(n)).await.unwrap();
    }
    t.seal_now().await.unwrap();
    let seq = Seq(target);
    let row = t.store().record(seq).await.unwrap().unwrap();
    let commitment = commitment(&t.claim_parts(seq).await.unwrap().leaf_entry);
    // The copy opens with the key of its epoch: the checks below can see a recovery.
    let kek = keys.kek(&tenant, row.kek_epoch).unwrap();
    let opened = open_record(&kek, &tenant, &commitment, &row).unwrap();
    assert!(String::from_utf8_lossy(&opened.plaintext).contains(&marker(target)));
    let ring: serde_json::Value = serde_json::from_slice(&std::fs::read(keyring_dir.join("erasure.keyring")).unwrap()).unwrap();
    let sealed_entry = ring["keys"][row.kek_epoch.to_string()].as_str().unwrap().to_owned();
    let epoch = row.kek_epoch;

    let receipt = t.erase(seq, "customer request").await.unwrap();
    let state = t.store().key_state().await.unwrap();
    assert!(!state.pending(), "the erasure is applied at once with a zero window: {state:?}");
    assert!(state.current > epoch);

    // Erasing again answers that it is erased and writes nothing.
    let size = t.store().size().await.unwrap();
    match t.erase(seq, "again").await {
        Err(LedgerError::AlreadyErased { seq: s, by }) => {
            assert_eq!(s, seq);
            assert_eq!(by, Some(receipt.seq));
        }
        other => panic!("second erasure: {other:?}"),
    }
    assert_eq!(t.store().size().await.unwrap(), size, "no second erasure claim");

    // The other records still open, re-wrapped under the new epoch.
    for n in (0..8).filter(|n| *n != target) {
        let parts = t.claim_parts(Seq(n)).await.unwrap();
        let (_, c) = parts.record.unwrap();
        assert_eq!(c.body["note"], marker(n));
        assert_eq!(t.store().record(Seq(n)).await.unwrap().unwrap().kek_epoch, state.current);
    }
    assert!(t.claim_parts(seq).await.unwrap().record.is_none());
    Captured { tenant, seq, commitment, row, sealed_entry, epoch }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let ty = e.file_type().unwrap();
        if ty.is_dir() {
            files_under(&e.path(), out);
        } else if ty.is_file() {
            out.push(e.path());
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The legacy (epoch 0) key an attacker with the master key derives himself.
fn legacy_key(tenant: &TenantId) -> SecretKey {
    SecretKey::from_bytes(evidence_core::sha256(&[b"evidence/v1/tenant-key\0", &MASTER, tenant.as_str().as_bytes()]))
}

fn assert_unrecoverable(c: &Captured, keys: &FileKeyring, dirs: &[PathBuf]) {
    // 1. Every key the system holds fails on the copied row.
    let mut tried = Vec::new();
    for epoch in keys.live_epochs(&c.tenant).unwrap() {
        tried.push((format!("epoch {epoch}"), keys.kek(&c.tenant, epoch).unwrap()));
    }
    tried.push(("master key".into(), SecretKey::from_bytes(MASTER)));
    tried.push(("legacy key derived from the master key".into(), legacy_key(&c.tenant)));
    for (name, key) in &tried {
        assert!(open_record(key, &c.tenant, &c.commitment, &c.row).is_err(), "the erased record {} opened with the {name}", c.seq.0);
    }
    // 2. The destroyed epoch is gone from the provider.
    assert!(matches!(keys.kek(&c.tenant, c.epoch), Err(KeyError::Destroyed { .. })));
    // 3. Its sealed entry is in no file; nor is any plaintext of the erased claim.
    let mut files = Vec::new();
    for d in dirs {
        files_under(d, &mut files);
    }
    assert!(!files.is_empty());
    let mut remnants = 0;
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else { continue }; // a file removed while we walk
        assert!(!contains(&bytes, c.sealed_entry.as_bytes()), "{} still holds the destroyed key-ring entry", f.display());
        assert!(!contains(&bytes, marker(c.seq.0).as_bytes()), "{} holds the erased claim's text", f.display());
        if contains(&bytes, &c.row.wrapped_key) || contains(&bytes, &c.row.ciphertext) {
            remnants += 1;
        }
    }
    // Remnants of the row itself may remain (freed pages, WAL): they open nothing (1.).
    eprintln!("{} files scanned; {remnants} still hold bytes of the erased row; {} keys tried, none opens it", files.len(), tried.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_erasure_leaves_nothing_to_open() {
    let dir = TempDir::new("ledger-erasure");
    let keyring_dir = dir.path().join("keyring");
    let keys = keyring(&keyring_dir);
    let store = SqliteStore::open(dir.path(), Durability::PowerLoss).await.unwrap();
    let l = Ledger::new(store, signer(), Arc::clone(&keys));
    let c = append_and_erase(&l, &keys, &keyring_dir, 3).await;
    assert_unrecoverable(&c, &keys, &[dir.path().to_path_buf()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_erasure_leaves_nothing_to_open() {
    let h = PgHarness::start().await;
    let keyring_dir = TempDir::new("ledger-erasure-keyring");
    let keys = keyring(keyring_dir.path());
    let store = PgStore::connect_with(h.options.clone(), 4).await.unwrap();
    let l = Ledger::new(store.clone(), signer(), Arc::clone(&keys));
    let c = append_and_erase(&l, &keys, keyring_dir.path(), 3).await;
    // Heap pages and WAL on disk, as a stolen disk would have them.
    sqlx::query("CHECKPOINT").execute(store.pool()).await.unwrap();
    let mut dirs = vec![keyring_dir.path().to_path_buf()];
    match h.data_dir() {
        Some(d) => dirs.push(d),
        None => eprintln!("DATABASE_URL is set: the PostgreSQL data directory is not ours to scan; checking keys and the key ring only"),
    }
    assert_unrecoverable(&c, &keys, &dirs);
}

/// Appends made while an erasure is applied (re-wrapping under a new epoch) all stay readable.
async fn appends_during_rotation<S: Store>(s: S, keyring_dir: &Path) {
    let keys = keyring(keyring_dir);
    // A long window: the erasures wait, then the test applies them while appending.
    let l = Ledger::new(s, signer(), Arc::clone(&keys)).with_erasure_window(Duration::from_hours(1));
    let t = l.create_tenant(&tid("rotation"), &TenantConfig::default()).await.unwrap();
    for n in 0..300 {
        t.append(claim(n)).await.unwrap();
    }
    for n in [5, 50, 150] {
        t.erase(Seq(n), "request").await.unwrap();
    }
    assert!(t.store().key_state().await.unwrap().pending());
    assert!(t.apply_erasures_if_due().await.unwrap().is_none(), "inside the window nothing is applied");
    let writer = {
        let t = l.tenant(&tid("rotation")).await.unwrap();
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            for n in 1000..1100 {
                seqs.push((n, t.append(claim(n)).await.unwrap().seq));
            }
            seqs
        })
    };
    let applied = t.apply_erasures().await.unwrap().unwrap();
    let written = writer.await.unwrap();
    assert!(applied.rewrapped >= 297 - 3, "{applied:?}");
    // Whatever raced the rotation is either re-wrapped or written under the new epoch.
    let again = t.apply_erasures().await.unwrap();
    assert!(again.is_none(), "a completed erasure is not applied twice: {again:?}");
    assert_eq!(keys.live_epochs(&tid("rotation")).unwrap(), vec![applied.epoch]);
    for (n, seq) in written {
        let (_, c) = t.claim_parts(seq).await.unwrap().record.unwrap();
        assert_eq!(c.body["note"], marker(n));
    }
    for n in (0..300).filter(|n| ![5, 50, 150].contains(n)) {
        let (_, c) = t.claim_parts(Seq(n)).await.unwrap().record.unwrap();
        assert_eq!(c.body["note"], marker(n));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_appends_during_rotation_stay_readable() {
    let dir = TempDir::new("ledger-rotation");
    let s = SqliteStore::open(dir.path(), Durability::PowerLoss).await.unwrap();
    appends_during_rotation(s, &dir.path().join("keyring")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_appends_during_rotation_stay_readable() {
    let h = PgHarness::start().await;
    let keyring_dir = TempDir::new("ledger-rotation-keyring");
    let s = PgStore::connect_with(h.options.clone(), 4).await.unwrap();
    appends_during_rotation(s, keyring_dir.path()).await;
}
