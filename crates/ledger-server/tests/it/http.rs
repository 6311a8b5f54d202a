//! The HTTP service end to end over real HTTP, on SQLite and on PostgreSQL: roles, tenant
//! isolation on every endpoint, token failures, hostile bodies, the audit log, metrics,
//! OpenAPI, and bundles that verify offline.

#![allow(clippy::too_many_lines)]

use std::time::Duration;

use evidence_core::bundle::Bundle;
use evidence_core::{AnchorPolicy, TrustFile, TrustStore, Verdict, Verifier};
use evidence_core::{TenantId, UnixMillis};
use ledger::Ledger;
use ledger::store::{Rail, Store, TenantConfig, TenantStore as _};
use ledger_server::auth::{self, Action, Role};
use ledger_server::dev;
use ledger_server::http::HttpLimits;
use ledger_server::http::spec::ROUTES;
use ledger_server::server::ServiceOptions;
use serde_json::{Value, json};
use test_support::LocalServer;
use test_support::fixtures::{keys, signer, tid};

struct Server {
    base: String,
    trust: TrustFile,
    local: LocalServer,
}

impl Server {
    async fn shutdown(self) {
        self.local.shutdown().await.unwrap();
    }
}

async fn start<S: Store + Clone>(ledger: Ledger<S>, limits: HttpLimits) -> Server {
    let opts = ServiceOptions {
        limits,
        seal_tick: Duration::from_millis(200),
        anchor_tick: Duration::from_millis(200),
        grace: Duration::from_secs(5),
        mfa: None,
        ..ServiceOptions::default()
    };
    let local = LocalServer::start(ledger, opts).await;
    let trust = dev::trust_file(&signer(), vec![local.tsa_root_pem.clone()], Vec::new(), true);
    Server { base: local.base.clone(), trust, local }
}

async fn token<S: Store>(store: &S, tenant: Option<&str>, role: Role, lifetime_ms: i64) -> String {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).unwrap();
    let issued = auth::issue(id, [id[0]; 32], tenant.map(tid), role, "test", ledger::now(), lifetime_ms).unwrap();
    store.put_token(&issued.record).await.unwrap();
    issued.bearer
}

const DAY: i64 = 86_400_000;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

struct Resp {
    status: u16,
    body: Value,
    text: String,
    retry_after: Option<String>,
}

impl Resp {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

async fn call(c: &reqwest::Client, method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = c.request(m, url);
    if let Some(t) = token {
        rb = rb.header("authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        rb = rb.header("content-type", "application/json").body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, body, text, retry_after }
}

fn claim(n: u64) -> Value {
    json!({"kind": "leakage_finding", "body": {"analyzer": "cit", "deal": format!("D-{n}"), "staff": "P-0042", "amount": "125.00"}})
}

/// A plausible body for each route (so allowed calls can succeed).
fn body_for(path: &str) -> Option<Value> {
    match path {
        "/v1/tenants" => Some(json!({"id": "made-by-admin"})),
        "/v1/tenants/{tenant}/claims" => Some(claim(900)),
        "/v1/tenants/{tenant}/claims/batch" => Some(json!({"claims": [claim(901)]})),
        "/v1/tenants/{tenant}/bundles" => Some(json!({"seqs": [0]})),
        p if p.ends_with("/retract") || p.ends_with("/erase") => Some(json!({"reason": "test"})),
        _ => None,
    }
}

fn fill(path: &str, tenant: &str) -> String {
    path.replace("{tenant}", tenant).replace("{seq}", "0").replace("{cseq}", "0")
}

/// Seals now; the server's own sealer may hold the tenant's seal lock at that moment
/// (PostgreSQL reports `SealBusy` then), so try again briefly.
async fn seal_now<S: Store>(ledger: &Ledger<S>, tenant: &str) -> ledger::store::CheckpointRow {
    let t = ledger.tenant(&tid(tenant)).await.unwrap();
    for _ in 0..100 {
        match t.seal_now().await {
            Err(ledger::LedgerError::Store(ledger::store::StoreError::SealBusy)) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other.unwrap(),
        }
    }
    panic!("the seal lock stayed busy for 5 s");
}

async fn seal_all<S: Store>(ledger: &Ledger<S>, tenant: &str) {
    seal_now(ledger, tenant).await;
}

async fn wait_anchored(c: &reqwest::Client, base: &str, tok: &str, tenant: &str, cseq: u64) {
    for _ in 0..100 {
        let r = call(c, "GET", &format!("{base}/v1/tenants/{tenant}/checkpoints/{cseq}/anchors"), Some(tok), None).await;
        if r.body["anchors"].as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["state"] == "anchored")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("checkpoint {cseq} of {tenant} not anchored");
}

/// The in-process service here runs the TSA rail only (the Fabric rail is tested in
/// fabric-anchor), and the trust file it states says so: every bundle must carry a verified
/// TSA token, and no Fabric anchor is required.
fn bundle_verifier(trust: &TrustFile) -> Verifier {
    let v = Verifier::new(TrustStore::new(trust.clone()).unwrap());
    assert_eq!(v.policy(), AnchorPolicy { rfc3161: 1, fabric: 0 });
    v
}

async fn happy_path<S: Store + Clone>(store: S) {
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    let srv = start(ledger.clone(), HttpLimits::default()).await;
    let c = client();
    let b = &srv.base;
    let admin = token(&store, None, Role::Admin, DAY).await;

    // Public endpoints.
    assert_eq!(call(&c, "GET", &format!("{b}/healthz"), None, None).await.status, 200);
    assert_eq!(call(&c, "GET", &format!("{b}/readyz"), None, None).await.status, 200);
    let api = call(&c, "GET", &format!("{b}/openapi.json"), None, None).await;
    assert_eq!(api.body["openapi"], "3.1.0");
    for r in ROUTES {
        assert!(api.body["paths"][r.path][r.method.to_ascii_lowercase()].is_object(), "{} {} missing from OpenAPI", r.method, r.path);
    }

    // Admin creates a tenant; the admin cannot read its data.
    let r = call(&c, "POST", &format!("{b}/v1/tenants"), Some(&admin), Some(&json!({"id": "rooftop-7", "seal_every_ms": 3_600_000}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["config"]["seal_every_ms"], 3_600_000);
    let r = call(&c, "POST", &format!("{b}/v1/tenants"), Some(&admin), Some(&json!({"id": "rooftop-7"}))).await;
    assert_eq!(r.status, 200, "creating an existing tenant is idempotent");
    let r = call(&c, "POST", &format!("{b}/v1/tenants"), Some(&admin), Some(&json!({"id": "x.audit"}))).await;
    assert_eq!((r.status, r.code()), (400, "invalid_argument"));
    let r = call(&c, "GET", &format!("{b}/v1/tenants"), Some(&admin), None).await;
    assert_eq!(r.body["tenants"], json!(["rooftop-7"]), "audit logs are not listed as tenants");
    assert_eq!(call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/checkpoints"), Some(&admin), None).await.code(), "forbidden");

    // The sealer (200 ms tick) seals a new tenant's empty log first; wait for that, so that no
    // scheduled seal (hourly from then on) races the not-yet-sealed checks below.
    let tl = ledger.tenant(&tid("rooftop-7")).await.unwrap();
    for _ in 0..200 {
        if tl.store().latest_checkpoint().await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(tl.store().latest_checkpoint().await.unwrap().is_some(), "the sealer never sealed the new tenant");

    let svc = token(&store, Some("rooftop-7"), Role::Service, DAY).await;
    let principal = token(&store, Some("rooftop-7"), Role::DealerPrincipal, DAY).await;
    let auditor = token(&store, Some("rooftop-7"), Role::Auditor, DAY).await;

    // Append one, a batch, and an idempotent retry.
    let r = call(&c, "POST", &format!("{b}/v1/tenants/rooftop-7/claims"), Some(&svc), Some(&claim(0))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["seq"], 0);
    let batch = json!({"claims": [claim(1), claim(2), {"kind": "gate_decision", "body": {"gate": "cit"}, "idempotency_key": "g-1"}]});
    let r = call(&c, "POST", &format!("{b}/v1/tenants/rooftop-7/claims/batch"), Some(&svc), Some(&batch)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["receipts"].as_array().unwrap().len(), 3);
    let again = json!({"kind": "gate_decision", "body": {"gate": "cit"}, "idempotency_key": "g-1"});
    let r = call(&c, "POST", &format!("{b}/v1/tenants/rooftop-7/claims"), Some(&svc), Some(&again)).await;
    assert_eq!(r.body["seq"], 3, "idempotent retry returns the first receipt");

    // Not sealed yet: the bundle is refused with a stable code.
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/claims/1/bundle"), Some(&auditor), None).await;
    assert_eq!((r.status, r.code()), (409, "not_sealed"));
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/claims/1"), Some(&auditor), None).await;
    assert_eq!(r.body["sealed"], false);

    let sealed = seal_now(&ledger, "rooftop-7").await;
    wait_anchored(&c, b, &auditor, "rooftop-7", sealed.seq.0).await;
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/claims/1"), Some(&auditor), None).await;
    assert_eq!(r.body["sealed"], true);

    // The bundle verifies offline against the trust file; a tampered copy does not.
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/claims/1/bundle"), Some(&auditor), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bundle: Bundle = serde_json::from_str(&r.text).unwrap();
    let report = bundle_verifier(&srv.trust).verify(&bundle);
    assert_eq!(report.verdict, Verdict::Verified, "{report:?}");
    let mut tampered = bundle.clone();
    tampered.tenant = tid("rooftop-8");
    assert_ne!(bundle_verifier(&srv.trust).verify(&tampered).verdict, Verdict::Verified);
    let r = call(&c, "POST", &format!("{b}/v1/tenants/rooftop-7/bundles"), Some(&auditor), Some(&json!({"seqs": [0, 2]}))).await;
    let many: Bundle = serde_json::from_str(&r.text).unwrap();
    assert_eq!(many.claims.len(), 2);
    assert_eq!(bundle_verifier(&srv.trust).verify(&many).verdict, Verdict::Verified);

    // Checkpoints, notes, anchors, tlog-proof, verifier key.
    // (The scheduler may have sealed the empty log first: find the checkpoint of size 4.)
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/checkpoints"), Some(&auditor), None).await;
    let cps = r.body["checkpoints"].as_array().unwrap();
    let cseq = cps.iter().find(|c| c["tree_size"] == 4).unwrap()["seq"].as_u64().unwrap();
    let note = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/checkpoints/{cseq}/note"), Some(&auditor), None).await;
    let vkey = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/verifier-key"), Some(&auditor), None).await;
    let verifier = evidence_core::NoteVerifier::parse(vkey.text.trim()).unwrap();
    let cp = evidence_core::checkpoint::SignedCheckpoint { note: note.text.clone() }.verify(&verifier).unwrap();
    assert_eq!(cp.root.tree_size.0, 4);
    let proof = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/claims/2/tlog-proof"), Some(&auditor), None).await;
    assert!(proof.text.starts_with("c2sp.org/tlog-proof@v1\n"), "{}", proof.text);

    // A second seal, then a consistency proof between the two sizes.
    call(&c, "POST", &format!("{b}/v1/tenants/rooftop-7/claims"), Some(&svc), Some(&claim(5))).await;
    seal_all(&ledger, "rooftop-7").await;
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/consistency?old=4&new=5"), Some(&auditor), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.body["proof"].as_array().unwrap().is_empty());
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/consistency?old=3&new=5"), Some(&auditor), None).await;
    assert_eq!((r.status, r.code()), (404, "no_such_checkpoint"));
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/consistency?old=5&new=4"), Some(&auditor), None).await;
    assert_eq!((r.status, r.code()), (400, "invalid_argument"));

    // Retract and erase; the erased claim's bundle still verifies, without the record.
    let r =
        call(&c, "POST", &format!("{b}/v1/tenants/rooftop-7/claims/0/retract"), Some(&principal), Some(&json!({"reason": "duplicate"})))
            .await;
    assert_eq!((r.status, r.body["kind"].as_str()), (201, Some("retraction")));
    let r = call(
        &c,
        "POST",
        &format!("{b}/v1/tenants/rooftop-7/claims/1/erase"),
        Some(&principal),
        Some(&json!({"reason": "privacy request"})),
    )
    .await;
    assert_eq!((r.status, r.body["kind"].as_str()), (201, Some("erasure")), "{}", r.text);
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/claims/1/bundle"), Some(&auditor), None).await;
    let erased: Bundle = serde_json::from_str(&r.text).unwrap();
    assert!(erased.claims[0].record.is_none());
    assert_eq!(bundle_verifier(&srv.trust).verify(&erased).verdict, Verdict::Verified);
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/claims/99"), Some(&auditor), None).await;
    assert_eq!((r.status, r.code()), (404, "no_such_claim"));

    // The audit log holds every authenticated request, refusals included, and no secrets.
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-7/audit?limit=1000"), Some(&auditor), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let entries = r.body["entries"].as_array().unwrap();
    assert!(entries.len() >= 15, "{}", entries.len());
    assert!(entries.iter().any(|e| e["event"]["route"] == "/v1/tenants/{tenant}/claims/{seq}/erase" && e["event"]["status"] == 201));
    assert!(entries.iter().any(|e| e["event"]["code"] == "not_sealed"));
    // The secret is everything after the second `_` (base64url may itself contain `_`).
    let secret = svc.splitn(3, '_').nth(2).unwrap();
    assert!(secret.len() >= 43 && !r.text.contains(secret), "a token secret reached the audit log");
    assert!(!r.text.contains("P-0042"), "claim content reached the audit log");
    let admin_log = ledger.tenant(&tid("admin.audit")).await.unwrap();
    assert!(ledger::store::TenantStore::size(admin_log.store()).await.unwrap() >= 4);

    // Metrics: local Prometheus text.
    let m = call(&c, "GET", &format!("{b}/metrics"), None, None).await;
    for family in [
        "ledger_appends_total",
        "ledger_seals_total",
        "ledger_anchor_attempts_total",
        "ledger_http_requests_total",
        "ledger_http_errors_total",
    ] {
        assert!(m.text.contains(&format!("# TYPE {family} counter")), "{family}");
    }
    assert!(m.text.contains("ledger_anchor_attempts_total{outcome=\"anchored\",rail=\"tsa\"}") || m.text.contains("rail=\"tsa\""));
    assert!(m.text.contains("code=\"not_sealed\""));
    srv.shutdown().await;
}

async fn roles_and_isolation<S: Store + Clone>(store: S) {
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    for t in ["tenant-a", "tenant-b"] {
        ledger.create_tenant(&tid(t), &TenantConfig::default()).await.unwrap();
        let tl = ledger.tenant(&tid(t)).await.unwrap();
        evidence_core::ClaimSink::append(&tl, test_support::fixtures::finding(0)).await.unwrap();
        evidence_core::ClaimSink::append(&tl, test_support::fixtures::finding(1)).await.unwrap();
        tl.seal_now().await.unwrap();
    }
    let srv = start(ledger.clone(), HttpLimits::default()).await;
    let c = client();
    let b = &srv.base;

    // Each role against each route of its own tenant: refused exactly when the table says so.
    for role in Role::ALL {
        let tenant = (role != Role::Admin).then_some("tenant-a");
        let tok = token(&store, tenant, role, DAY).await;
        for r in ROUTES.iter().filter(|r| r.action.is_some()) {
            let action = r.action.unwrap();
            let url = format!("{b}{}", fill(r.path, "tenant-a"));
            let resp = call(&c, r.method, &url, Some(&tok), body_for(r.path).as_ref()).await;
            let allowed = auth::allowed(role, action) && (role == Role::Admin) == (action == Action::Administer);
            if allowed {
                assert!(
                    resp.status < 400 || ![401, 403].contains(&resp.status),
                    "{role} {} {}: {} {}",
                    r.method,
                    r.path,
                    resp.status,
                    resp.text
                );
                assert!(![401, 403].contains(&resp.status), "{role} {} {}: {}", r.method, r.path, resp.text);
            } else {
                assert_eq!(resp.status, 403, "{role} {} {} should be refused: {}", r.method, r.path, resp.text);
                assert_eq!(resp.code(), "forbidden");
            }
        }
    }

    // A token of tenant A gets wrong_tenant on every endpoint of B, and of a tenant that
    // does not exist, with no difference between the two.
    let a = token(&store, Some("tenant-a"), Role::DealerPrincipal, DAY).await;
    for r in ROUTES.iter().filter(|r| r.action.is_some() && r.path.contains("{tenant}")) {
        for other in ["tenant-b", "no-such-tenant", "tenant-b.audit"] {
            let url = format!("{b}{}", fill(r.path, other));
            let resp = call(&c, r.method, &url, Some(&a), body_for(r.path).as_ref()).await;
            assert_eq!((resp.status, resp.code()), (403, "wrong_tenant"), "{} {url}: {}", r.method, resp.text);
        }
    }
    // Nothing was written to B.
    let tb = ledger.tenant(&tid("tenant-b")).await.unwrap();
    assert_eq!(ledger::store::TenantStore::size(tb.store()).await.unwrap(), 2);

    // A token whose tenant is gone from the store: unknown_tenant.
    let ghost = token(&store, Some("ghost"), Role::Service, DAY).await;
    let r = call(&c, "POST", &format!("{b}/v1/tenants/ghost/claims"), Some(&ghost), Some(&claim(1))).await;
    assert_eq!((r.status, r.code()), (404, "unknown_tenant"), "{}", r.text);

    // Token failures.
    let url = format!("{b}/v1/tenants/tenant-a/checkpoints");
    assert_eq!(call(&c, "GET", &url, None, None).await.code(), "missing_token");
    assert_eq!(call(&c, "GET", &url, Some("not-a-token"), None).await.code(), "malformed_token");
    let mut wrong = a.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(call(&c, "GET", &url, Some(&wrong), None).await.code(), "invalid_token");
    assert_eq!(call(&c, "GET", &url, Some(&format!("evl_00000000deadbeef_{}", &a[21..])), None).await.code(), "invalid_token");
    let short = token(&store, Some("tenant-a"), Role::Auditor, 1).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r = call(&c, "GET", &url, Some(&short), None).await;
    assert_eq!((r.status, r.code()), (401, "expired_token"));
    let revoked = token(&store, Some("tenant-a"), Role::Auditor, DAY).await;
    assert_eq!(call(&c, "GET", &url, Some(&revoked), None).await.status, 200);
    let id = &revoked[4..20];
    assert!(store.revoke_token(id, ledger::now()).await.unwrap());
    // The server reuses a token record it read for `token_cache` (1 s by default): the
    // revocation is refused once that has passed.
    tokio::time::sleep(HttpLimits::default().token_cache + Duration::from_millis(100)).await;
    assert_eq!(call(&c, "GET", &url, Some(&revoked), None).await.code(), "revoked_token");
    // With the cache off, a revocation is refused on the next request.
    let uncached = start(ledger.clone(), HttpLimits { token_cache: Duration::ZERO, ..HttpLimits::default() }).await;
    let url0 = format!("{}/v1/tenants/tenant-a/checkpoints", uncached.base);
    let tok = token(&store, Some("tenant-a"), Role::Auditor, DAY).await;
    assert_eq!(call(&c, "GET", &url0, Some(&tok), None).await.status, 200);
    assert!(store.revoke_token(&tok[4..20], ledger::now()).await.unwrap());
    assert_eq!(call(&c, "GET", &url0, Some(&tok), None).await.code(), "revoked_token");
    uncached.shutdown().await;
    // Lifetimes over 90 days are refused at issue.
    assert!(auth::issue([1; 8], [2; 32], Some(tid("tenant-a")), Role::Service, "", UnixMillis(0), auth::MAX_LIFETIME_MS + 1).is_err());

    srv.shutdown().await;
}

async fn hostile_bodies<S: Store + Clone>(store: S) {
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    ledger.create_tenant(&tid("t1"), &TenantConfig::default()).await.unwrap();
    let limits = HttpLimits { body_bytes: 64 * 1024, json_depth: 16, batch_max: 10, ..HttpLimits::default() };
    let srv = start(ledger.clone(), limits).await;
    let c = client();
    let url = format!("{}/v1/tenants/t1/claims", srv.base);
    let tok = token(&store, Some("t1"), Role::Service, DAY).await;
    let raw = |body: Vec<u8>, ct: &'static str| {
        let c = c.clone();
        let url = url.clone();
        let tok = tok.clone();
        async move {
            let r =
                c.post(&url).header("authorization", format!("Bearer {tok}")).header("content-type", ct).body(body).send().await.unwrap();
            let status = r.status().as_u16();
            let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null);
            (status, v["error"]["code"].as_str().unwrap_or("").to_owned())
        }
    };
    let big = format!(r#"{{"kind":"leakage_finding","body":{{"x":"{}"}}}}"#, "a".repeat(100 * 1024));
    assert_eq!(raw(big.into_bytes(), "application/json").await, (413, "body_too_large".into()));
    assert_eq!(raw(b"{\"kind\":".to_vec(), "application/json").await, (400, "malformed_json".into()));
    assert_eq!(raw(b"\xff\xfe\x00garbage".to_vec(), "application/json").await, (400, "malformed_json".into()));
    let deep = format!(r#"{{"kind":"leakage_finding","body":{{"x":{}1{}}}}}"#, "[".repeat(40), "]".repeat(40));
    assert_eq!(raw(deep.into_bytes(), "application/json").await, (400, "json_too_deep".into()));
    assert_eq!(raw(claim(1).to_string().into_bytes(), "text/plain").await, (415, "unsupported_media_type".into()));
    let extra = json!({"kind": "leakage_finding", "body": {}, "tenant": "t2"});
    assert_eq!(raw(extra.to_string().into_bytes(), "application/json").await, (400, "malformed_json".into()));
    let unknown_kind = json!({"kind": "nonsense", "body": {}});
    assert_eq!(raw(unknown_kind.to_string().into_bytes(), "application/json").await, (422, "invalid_claim".into()));
    let not_object = json!({"kind": "leakage_finding", "body": [1, 2]});
    assert_eq!(raw(not_object.to_string().into_bytes(), "application/json").await, (422, "invalid_claim".into()));
    let ledger_kind = json!({"kind": "erasure", "body": {}});
    assert_eq!(raw(ledger_kind.to_string().into_bytes(), "application/json").await, (403, "reserved_kind".into()));
    let too_many = json!({"claims": (0..11).map(claim).collect::<Vec<_>>()});
    let r = call(&c, "POST", &format!("{}/v1/tenants/t1/claims/batch", srv.base), Some(&tok), Some(&too_many)).await;
    assert_eq!((r.status, r.code()), (400, "invalid_argument"));
    let r = call(&c, "GET", &format!("{}/v1/tenants/t1/claims/abc", srv.base), Some(&tok), None).await;
    assert_eq!(r.status, 400);
    assert_eq!(call(&c, "GET", &format!("{}/v1/nothing-here", srv.base), Some(&tok), None).await.code(), "not_found");
    assert_eq!(call(&c, "DELETE", &format!("{}/v1/tenants/t1/claims", srv.base), Some(&tok), None).await.status, 405);
    // Nothing of it was stored.
    let t = ledger.tenant(&tid("t1")).await.unwrap();
    assert_eq!(ledger::store::TenantStore::size(t.store()).await.unwrap(), 0);
    srv.shutdown().await;
}

async fn rate_limit_and_drain<S: Store + Clone>(store: S) {
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    ledger.create_tenant(&tid("t1"), &TenantConfig::default()).await.unwrap();
    let limits = HttpLimits { rate_per_sec: 0.01, rate_burst: 3.0, ..HttpLimits::default() };
    let srv = start(ledger.clone(), limits).await;
    let c = client();
    let url = format!("{}/v1/tenants/t1/checkpoints", srv.base);
    let tok = token(&store, Some("t1"), Role::Auditor, DAY).await;
    for _ in 0..3 {
        assert_eq!(call(&c, "GET", &url, Some(&tok), None).await.status, 200);
    }
    let r = call(&c, "GET", &url, Some(&tok), None).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    assert!(r.retry_after.is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    // Another token is not affected.
    let other = token(&store, Some("t1"), Role::Service, DAY).await;
    assert_eq!(call(&c, "GET", &url, Some(&other), None).await.status, 200);
    srv.shutdown().await;

    // Graceful shutdown: appends in flight when shutdown begins are either acknowledged
    // and stored, or never acknowledged.
    let srv = start(ledger.clone(), HttpLimits::default()).await;
    let svc = token(&store, Some("t1"), Role::Service, DAY).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (c, url, svc) = (c.clone(), format!("{}/v1/tenants/t1/claims", srv.base), svc.clone());
        tasks.push(tokio::spawn(async move {
            let r = c
                .post(&url)
                .header("authorization", format!("Bearer {svc}"))
                .header("content-type", "application/json")
                .body(claim(i).to_string())
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 201 => {
                    Some(serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["seq"].as_u64().unwrap())
                }
                _ => None,
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    srv.shutdown().await;
    let t = ledger.tenant(&tid("t1")).await.unwrap();
    let size = ledger::store::TenantStore::size(t.store()).await.unwrap();
    for task in tasks {
        if let Some(seq) = task.await.unwrap() {
            assert!(seq < size, "acknowledged claim {seq} missing after shutdown (size {size})");
        }
    }
}

/// A sealed claim whose checkpoint is not anchored yet gets `409 not_anchored` naming the
/// checkpoint and the rail it waits for (with `Retry-After`), on both bundle routes, never a
/// bundle that fails verification; once anchored, the bundle is served.
async fn bundles_wait_for_anchors<S: Store + Clone>(store: S) {
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    // The server's own workers never run here: the test anchors by hand.
    let opts = ServiceOptions {
        seal_tick: Duration::from_hours(1),
        anchor_tick: Duration::from_hours(1),
        grace: Duration::from_secs(5),
        ..ServiceOptions::default()
    };
    let local = LocalServer::start(ledger.clone(), opts).await;
    let (c, b) = (client(), local.base.clone());
    let t = ledger.create_tenant(&tid("rooftop-na"), &TenantConfig::default()).await.unwrap();
    let svc = token(&store, Some("rooftop-na"), Role::Service, DAY).await;
    let auditor = token(&store, Some("rooftop-na"), Role::Auditor, DAY).await;
    for n in 0..3 {
        let r = call(&c, "POST", &format!("{b}/v1/tenants/rooftop-na/claims"), Some(&svc), Some(&claim(n))).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let cp = seal_now(&ledger, "rooftop-na").await;
    let one = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-na/claims/1/bundle"), Some(&auditor), None).await;
    let many = call(&c, "POST", &format!("{b}/v1/tenants/rooftop-na/bundles"), Some(&auditor), Some(&json!({"seqs": [0, 2]}))).await;
    for r in [&one, &many] {
        assert_eq!((r.status, r.code()), (409, "not_anchored"), "{}", r.text);
        let m = r.body["error"]["message"].as_str().unwrap();
        assert!(m.contains(&format!("checkpoint {}", cp.seq.0)) && m.contains("tsa (pending, 0 attempt(s))"), "{m}");
        assert!(r.retry_after.is_some());
    }
    // Anchored (an independent TSA, by hand): the bundle is served and its token verifies.
    let tsa = test_support::OpensslTsa::generate("HTTP TSA", "CA").unwrap();
    // (The sealer's pass at start-up may have sealed an earlier checkpoint too: at least ours.)
    assert!(t.process_anchors(&tsa, &ledger::anchor::NoFabric, 10).await.unwrap().anchored >= 1);
    let r = call(&c, "GET", &format!("{b}/v1/tenants/rooftop-na/claims/1/bundle"), Some(&auditor), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bundle: Bundle = serde_json::from_str(&r.text).unwrap();
    let trust = dev::trust_file(&signer(), vec![std::fs::read_to_string(tsa.ca_pem()).unwrap()], Vec::new(), false);
    assert_eq!(bundle_verifier(&trust).verify(&bundle).verdict, Verdict::Verified);
    local.shutdown().await.unwrap();
}

test_support::both_backends!(happy_path, roles_and_isolation, hostile_bodies, rate_limit_and_drain, bundles_wait_for_anchors);

#[test]
fn tenant_ids_reserve_the_audit_suffix() {
    assert!(!ledger_server::audit::creatable(&TenantId::new("a.audit").unwrap()));
    assert!(!ledger_server::audit::creatable(&TenantId::new("x".repeat(59)).unwrap()));
    assert!(ledger_server::audit::creatable(&TenantId::new("x".repeat(58)).unwrap()));
}
