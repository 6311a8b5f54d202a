//! The production RFC 3161 rail end to end: evidence-core builds the request, tsa-client
//! sends it over HTTP to a real, independent TSA (`openssl ts -reply` behind a local HTTP
//! endpoint), evidence-core verifies the reply before the ledger stores it, and the bundle
//! verifies offline against the TSA's root.

use std::time::Duration;

use evidence_core::bundle::Base64;
use evidence_core::rfc3161::certificates_from_pem_or_der;
use evidence_core::trust::{AnchorPolicy, LedgerKey, TRUST_FORMAT, TrustFile};
use evidence_core::{ClaimSink as _, Seq};
use evidence_core::{TrustStore, Verdict, Verifier};
use ledger::rails::HttpTsaRail;
use ledger::store::{AnchorState, Rail, TenantConfig};
use test_support::FabricTestDouble;
use test_support::fixtures::{finding, ledger, tid};
use test_support::tsa::{Fault, OpensslTsa};
use tsa_client::{ClientConfig, Jurisdiction, RetryPolicy, TsaClient, TsaEndpoint};

fn rail(tsa: &OpensslTsa) -> HttpTsaRail {
    let ep = TsaEndpoint::new("test-tsa", &tsa.url(), Jurisdiction::new("CA").unwrap()).unwrap().with_timeout(Duration::from_secs(5));
    let cfg = ClientConfig { retry: RetryPolicy { max_attempts_per_endpoint: 1, ..RetryPolicy::default() }, ..ClientConfig::default() };
    let client = TsaClient::new(vec![ep], cfg).unwrap();
    let roots = certificates_from_pem_or_der(&std::fs::read(tsa.pki().root_pem()).unwrap()).unwrap();
    HttpTsaRail::new(client, roots, Vec::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_stamped_verified_and_bundled() {
    if test_support::tsa::openssl_version().is_none() {
        assert!(std::env::var_os("TSA_CLIENT_REQUIRE_OPENSSL").is_none(), "openssl is required");
        eprintln!("SKIPPED: no OpenSSL 3 CLI");
        return;
    }
    let tsa = tokio::task::spawn_blocking(OpensslTsa::start).await.unwrap().unwrap();
    let (s, _g) = test_support::fixtures::sqlite().await;
    let l = ledger(s);
    let t = l.create_tenant(&tid("rooftop-1"), &TenantConfig { residency: vec!["CA".into()], ..TenantConfig::default() }).await.unwrap();
    t.append_batch((0..5).map(finding).collect()).await.unwrap();
    let cp = t.seal_now().await.unwrap();
    let rail = rail(&tsa);
    let fabric = FabricTestDouble { jurisdiction: Some("CA".into()) };

    // TSA down: the attempt fails and is kept for a retry; nothing is lost.
    tsa.set_fault(Fault::Down);
    let st = t.process_anchors(&rail, &fabric, 10).await.unwrap();
    assert_eq!(st.failed, 1);
    let row = t.anchor_state(cp.seq).await.unwrap().into_iter().find(|r| r.rail == Rail::Tsa).unwrap();
    assert_eq!(row.state, AnchorState::Failed);

    // A reply signed by a TSA we do not trust is refused by the verifier, not stored.
    tsa.set_fault(Fault::UntrustedSigner);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let st = t.process_anchors(&rail, &fabric, 10).await.unwrap();
    assert_eq!(st.failed, 1);
    let row = t.anchor_state(cp.seq).await.unwrap().into_iter().find(|r| r.rail == Rail::Tsa).unwrap();
    assert!(
        row.last_error.as_deref().is_some_and(|e| e.contains("untrusted") || e.contains("trusted issuer") || e.contains("chain")),
        "{:?}",
        row.last_error
    );

    // The TSA recovers: the token is verified and stored.
    tsa.set_fault(Fault::None);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    t.process_anchors(&rail, &fabric, 10).await.unwrap();
    let row = t.anchor_state(cp.seq).await.unwrap().into_iter().find(|r| r.rail == Rail::Tsa).unwrap();
    assert_eq!(row.state, AnchorState::Anchored, "{:?}", row.last_error);

    // Offline: the bundle's token verifies against the TSA root alone.
    let mut b = t.bundle(&[Seq(2)]).await.unwrap();
    // The Fabric test double's receipt is not evidence; only the TSA rail is checked here.
    b.anchors.fabric.clear();
    let trust = TrustFile {
        format: TRUST_FORMAT.into(),
        ledgers: vec![LedgerKey {
            name: test_support::fixtures::LEDGER.into(),
            ed25519_public_key: Base64(test_support::fixtures::signer().verifier().key().as_bytes().to_vec()),
        }],
        tsa_roots_pem: vec![std::fs::read_to_string(tsa.pki().root_pem()).unwrap()],
        fabric_msps: vec![],
        require: Some(AnchorPolicy { rfc3161: 1, fabric: 0 }),
        development: false,
    };
    let report = Verifier::new(TrustStore::new(trust).unwrap()).verify(&b);
    assert_eq!(report.verdict, Verdict::Verified, "{:#?}", report.checks);
    assert_eq!(report.timestamps_verified, 1);
}
