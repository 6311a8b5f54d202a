//! Shared set-up: the same test bodies run on SQLite and on PostgreSQL.
#![allow(dead_code)]

use evidence_core::note::NoteSigner;
use evidence_core::{AppendRequest, Claim, ClaimKind, TenantId};
use ledger::Ledger;
use ledger::crypto::{EnvKeyProvider, SecretKey};
use ledger::store::postgres::PgStore;
use ledger::store::sqlite::{Durability, SqliteStore};
use test_support::{PgHarness, TempDir};

pub const LEDGER: &str = "ledger.test.example";

pub fn signer() -> NoteSigner {
    NoteSigner::from_seed(LEDGER, &[42; 32]).unwrap()
}

pub fn keys() -> EnvKeyProvider {
    EnvKeyProvider::from_master(SecretKey::from_bytes([7; 32]))
}

pub fn tid(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

pub fn finding(n: u64) -> AppendRequest {
    AppendRequest::new(
        Claim::new(ClaimKind::LeakageFinding, serde_json::json!({ "n": n, "staff": "P-0042", "note": "secret-marker-xyzzy" })).unwrap(),
    )
}

#[allow(clippy::large_enum_variant)]
pub enum Guard {
    Sqlite(TempDir),
    Pg(PgHarness),
}

pub async fn sqlite() -> (SqliteStore, Guard) {
    let dir = TempDir::new("ledger-sqlite");
    let s = SqliteStore::open(dir.path(), Durability::PowerLoss).await.unwrap();
    (s, Guard::Sqlite(dir))
}

pub async fn postgres() -> (PgStore, Guard) {
    let h = PgHarness::start().await;
    let s = PgStore::connect_with(h.options.clone(), 8).await.unwrap();
    (s, Guard::Pg(h))
}

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
                let (s, _g) = $crate::support::sqlite().await;
                super::$name(s).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (s, _g) = $crate::support::postgres().await;
                super::$name(s).await;
            }
        }
    )*};
}
