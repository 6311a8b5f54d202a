//! Fixtures the ledger's and the service's tests share: a fixed checkpoint key and master key,
//! the claim the tests append, and each backend in a throwaway place, so that one test body
//! runs on SQLite and on PostgreSQL ([`both_backends!`](crate::both_backends)).

use crate::{PgHarness, TempDir};
use evidence_core::note::NoteSigner;
use evidence_core::{AppendRequest, Claim, ClaimKind, TenantId};
use ledger::Ledger;
use ledger::crypto::{MasterKey, MemoryKeyring, SecretKey};
use ledger::store::postgres::PgStore;
use ledger::store::sqlite::{Durability, SqliteStore};

/// The test ledger's name.
pub const LEDGER: &str = "ledger.test.example";

/// The test ledger's checkpoint key (fixed seed).
pub fn signer() -> NoteSigner {
    NoteSigner::from_seed(LEDGER, &[42; 32]).unwrap()
}

/// The test ledger's key-encryption keys: one in-memory keyring per test process, shared by
/// every ledger the process opens (so a store reopened by another `Ledger` still decrypts),
/// with a fixed master key for the legacy epoch.
pub fn keys() -> MemoryKeyring {
    static KEYS: std::sync::LazyLock<MemoryKeyring> =
        std::sync::LazyLock::new(|| MemoryKeyring::with_legacy(MasterKey::from_secret(SecretKey::from_bytes([7; 32]))));
    KEYS.clone()
}

/// A tenant id (panics on an invalid one).
pub fn tid(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

/// The `n`th test claim: a finding whose body holds a marker a test can look for on disk.
pub fn finding(n: u64) -> AppendRequest {
    AppendRequest::new(
        Claim::new(ClaimKind::LeakageFinding, serde_json::json!({ "n": n, "staff": "P-0042", "note": "secret-marker-xyzzy" })).unwrap(),
    )
}

#[allow(clippy::large_enum_variant)]
/// Keeps a backend's throwaway place alive.
#[derive(Debug)]
pub enum Guard {
    /// The SQLite directory.
    Sqlite(TempDir),
    /// The PostgreSQL database.
    Pg(PgHarness),
}

/// A SQLite store in a temporary directory.
pub async fn sqlite() -> (SqliteStore, Guard) {
    let dir = TempDir::new("ledger-sqlite");
    let s = SqliteStore::open(dir.path(), Durability::PowerLoss).await.unwrap();
    (s, Guard::Sqlite(dir))
}

/// A PostgreSQL store on a fresh database.
pub async fn postgres() -> (PgStore, Guard) {
    let h = PgHarness::start().await;
    let s = PgStore::connect_with(h.options.clone(), 8).await.unwrap();
    (s, Guard::Pg(h))
}

/// A ledger over `s` with the test keys, anchoring on both rails.
pub fn ledger<S: ledger::store::Store>(s: S) -> Ledger<S> {
    Ledger::new(s, signer(), keys())
}

/// Runs a generic async test body on both backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (s, _g) = $crate::fixtures::sqlite().await;
                super::$name(s).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (s, _g) = $crate::fixtures::postgres().await;
                super::$name(s).await;
            }
        }
    )*};
}
