//! The typed client against a real server: appends as a `ClaimSink`, retracts as a
//! `Retractor`, reads receipts and keys, and maps refusals to the server's stable codes.

use evidence_core::{AppendRequest, Claim, ClaimKind, ClaimSink as _, Retractor, Seq, TenantId};
use ledger_api::ErrorCode;
use ledger_client::{ClientError, LedgerClient};
use ledger_server::auth::Role;
use test_support::ServedLedger;

fn finding(n: u64) -> AppendRequest {
    AppendRequest::new(Claim::new(ClaimKind::LeakageFinding, serde_json::json!({"n": n, "staff": "FI-07"})).unwrap())
}

#[test]
fn appends_reads_and_retracts_through_the_api_types() {
    let server = ServedLedger::start(&["rooftop-1", "rooftop-2"], Role::DealerPrincipal);
    let client = LedgerClient::new(&server.base, &server.bearer).unwrap();
    let t = client.tenant(TenantId::new("rooftop-1").unwrap());
    server.block_on(async {
        let one = t.append(finding(0).with_idempotency_key("k0")).await.unwrap();
        assert_eq!(one.seq, Seq(0));
        let again = t.append(finding(0).with_idempotency_key("k0")).await.unwrap();
        assert_eq!(again, one, "the idempotency key returns the first receipt");
        let batch = t.append_batch(vec![finding(1), finding(2)]).await.unwrap();
        assert_eq!(batch.iter().map(|r| r.seq.0).collect::<Vec<_>>(), [1, 2]);
        let status = t.claim(Seq(1)).await.unwrap();
        assert_eq!(status.receipt, batch[0]);
        assert!(!status.sealed);
        let retraction = Retractor::retract(&t, Seq(2), "wrong deal number").await.unwrap();
        assert_eq!(retraction.kind, ClaimKind::Retraction);
        assert!(t.verifier_key().await.unwrap().starts_with(&format!("{}/tenant/rooftop-1+", test_support::fixtures::LEDGER)));

        // Refusals come back typed, with the server's stable code.
        let e = t.claim(Seq(99)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NoSuchClaim), "{e}");
        let e = t.tlog_proof(Seq(0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotSealed), "{e}");
        let other = client.tenant(TenantId::new("rooftop-2").unwrap());
        let e = other.append(finding(3)).await.unwrap_err();
        assert!(matches!(&e, ClientError::Api { status, .. } if status.as_u16() == 403), "{e}");
        assert_eq!(e.code(), Some(ErrorCode::WrongTenant));
        let e = t.append(AppendRequest::new(Claim::new(ClaimKind::Erasure, serde_json::json!({})).unwrap())).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::ReservedKind), "{e}");

        let wrong = LedgerClient::new(&server.base, "evl_0000000000000000_AAAA").unwrap().tenant(TenantId::new("rooftop-1").unwrap());
        assert!(matches!(wrong.append(finding(4)).await.unwrap_err().code(), Some(ErrorCode::InvalidToken | ErrorCode::MalformedToken)));
        let down = LedgerClient::new("http://127.0.0.1:9", &server.bearer).unwrap().tenant(TenantId::new("rooftop-1").unwrap());
        assert!(matches!(down.append(finding(5)).await.unwrap_err(), ClientError::Http { .. }));
    });
    let stored = server.tenant("rooftop-1");

    // Two checkpoints, then the chain file the server makes of them verifies with the key
    // the server gives, as `evidence-verify checkpoints` checks it.
    server.block_on(async {
        stored.seal_now().await.unwrap();
        t.append(finding(6)).await.unwrap();
        stored.seal_now().await.unwrap();
        let chain = t.checkpoint_chain(None, None).await.unwrap();
        assert_eq!(chain.format, ledger_api::CHECKPOINTS_FORMAT);
        // (The server may have sealed on its own before: the last two are ours.)
        let n = chain.links.len();
        assert!(n >= 2, "{n} checkpoints");
        let key = evidence_core::NoteVerifier::parse(&t.verifier_key().await.unwrap()).unwrap();
        let links: Vec<evidence_core::checkpoint::ChainLink> = serde_json::from_value(serde_json::to_value(&chain.links).unwrap()).unwrap();
        let checkpoints = evidence_core::checkpoint::verify_chain(&links, &[key]).unwrap();
        assert_eq!(checkpoints[n - 2..].iter().map(|c| c.root.tree_size.0).collect::<Vec<_>>(), [4, 5]);
        let last = u64::try_from(n - 1).unwrap();
        assert_eq!(t.checkpoint_chain(Some(last), Some(last)).await.unwrap().links.len(), 1);
        let e = t.checkpoint_chain(Some(last + 1), None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NoSuchCheckpoint), "{e}");
    });
    assert_eq!(
        server.block_on(ledger::store::TenantStore::size(stored.store())).unwrap(),
        5,
        "four findings and one retraction, nothing else"
    );
}
