//! Upload state rows (`ledger::store::uploads`) on SQLite and PostgreSQL: single use of a
//! URL under concurrency, expiry, the receiving lease, conditional state changes, paging and
//! tenant isolation.

use evidence_core::UnixMillis;
use ledger::store::uploads::{NewUpload, UploadChange, UploadState, UploadStore as _};
use ledger::store::{Store, TenantConfig};
use test_support::both_backends;
use test_support::fixtures::tid;

fn upload(id: &str, expires_at: i64) -> NewUpload {
    NewUpload {
        id: id.into(),
        via: "url".into(),
        source: "sales.csv".into(),
        profile: "cdk".into(),
        export: "sales".into(),
        max_bytes: 1000,
        expires_at: UnixMillis(expires_at),
        created_at: UnixMillis(100),
        state: UploadState::Pending,
        bytes: None,
        sha256: None,
    }
}

async fn single_use_and_states<S: Store>(s: S) {
    let a = s.create_tenant(&tid("a"), &TenantConfig::default()).await.unwrap();
    let b = s.create_tenant(&tid("b"), &TenantConfig::default()).await.unwrap();
    a.create_upload(&upload("u1", 10_000)).await.unwrap();
    assert!(a.create_upload(&upload("u1", 10_000)).await.is_err(), "ids are unique");
    // Another tenant's handle does not see or claim it.
    assert!(b.upload("u1").await.unwrap().is_none());
    assert!(!b.begin_receive("u1", UnixMillis(200), UnixMillis(5_000)).await.unwrap());
    // Eight concurrent claims: exactly one wins.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let a = a.clone();
            tokio::spawn(async move { a.begin_receive("u1", UnixMillis(200), UnixMillis(5_000)).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
    let row = a.upload("u1").await.unwrap().unwrap();
    assert_eq!((row.state, row.lease_until), (UploadState::Receiving, Some(UnixMillis(5_000))));
    // Under the lease nobody else claims it; once it ran out (the receiver died), one can.
    assert!(!a.begin_receive("u1", UnixMillis(4_999), UnixMillis(9_000)).await.unwrap());
    assert!(a.begin_receive("u1", UnixMillis(5_001), UnixMillis(9_000)).await.unwrap());
    // Received, then checked: each step only from the expected state.
    let got = UploadChange { bytes: Some(42), sha256: Some("ab".repeat(32)), ..UploadChange::default() };
    assert!(a.change_upload("u1", UploadState::Receiving, UploadState::Received, &got, UnixMillis(6_000)).await.unwrap());
    assert!(!a.change_upload("u1", UploadState::Receiving, UploadState::Received, &got, UnixMillis(6_000)).await.unwrap());
    assert!(!a.begin_receive("u1", UnixMillis(6_001), UnixMillis(9_000)).await.unwrap(), "a received upload is never claimed again");
    let done = UploadChange { claims: Some("[3]".into()), errors: Some("[]".into()), ..UploadChange::default() };
    assert!(a.change_upload("u1", UploadState::Received, UploadState::Ingested, &done, UnixMillis(7_000)).await.unwrap());
    let row = a.upload("u1").await.unwrap().unwrap();
    assert_eq!(row.state, UploadState::Ingested);
    assert_eq!((row.bytes, row.sha256.as_deref(), row.claims.as_deref()), (Some(42), Some("ab".repeat(32).as_str()), Some("[3]")));
    // Expired URLs are not claimed.
    a.create_upload(&upload("u2", 1_000)).await.unwrap();
    assert!(!a.begin_receive("u2", UnixMillis(1_000), UnixMillis(9_000)).await.unwrap());
    assert_eq!(a.upload("u2").await.unwrap().unwrap().state, UploadState::Pending);
    // Listing with paging, and by state.
    a.create_upload(&upload("u3", 10_000)).await.unwrap();
    let all = a.uploads(0, 10).await.unwrap();
    assert_eq!(all.iter().map(|r| r.upload.id.as_str()).collect::<Vec<_>>(), ["u1", "u2", "u3"]);
    let page = a.uploads(all[1].n, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].upload.id, "u2");
    let pending = a.uploads_in(UploadState::Pending, 10).await.unwrap();
    assert_eq!(pending.iter().map(|r| r.upload.id.as_str()).collect::<Vec<_>>(), ["u2", "u3"]);
    assert!(b.uploads(0, 10).await.unwrap().is_empty());
}

both_backends!(single_use_and_states);
