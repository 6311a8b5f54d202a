//! Tenants and their audit logs under pressure, on SQLite and PostgreSQL: reserved names
//! cannot reach the ledger's own logs, concurrent creation answers `201` exactly once,
//! the first concurrent requests of a new tenant lose no audit entry, residency codes are
//! ISO 3166-1 alpha-2, an erased claim answers `409 already_erased`, and a request whose
//! audit log cannot be written fails instead of going unrecorded.

use std::time::Duration;

use ledger::Ledger;
use ledger::store::{Store, TenantStore as _};
use ledger_server::auth::Role;
use ledger_server::http::HttpLimits;
use serde_json::{Value, json};
use test_support::LocalServer;
use test_support::fixtures::{keys, signer, tid};

async fn start<S: Store + Clone>(ledger: Ledger<S>) -> LocalServer {
    LocalServer::start(ledger, test_support::server::quiet_options(HttpLimits::default())).await
}

async fn token<S: Store>(store: &S, tenant: Option<&str>, role: Role) -> String {
    test_support::server::token(store, tenant, role).await
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_mins(1)).build().unwrap()
}

async fn call(c: &reqwest::Client, method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut rb = c.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url).header("authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        rb = rb.header("content-type", "application/json").body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null))
}

fn claim(n: u64) -> Value {
    json!({"kind": "leakage_finding", "body": {"analyzer": "cit", "deal": format!("D-{n}"), "staff": "P-0042", "amount": "125.00"}})
}

async fn reserved_names_and_residency<S: Store + Clone>(s: S) {
    let ledger = Ledger::new(s.clone(), signer(), keys());
    let srv = start(ledger.clone()).await;
    let admin = token(&s, None, Role::Admin).await;
    let c = client();
    let url = format!("{}/v1/tenants", srv.base);
    let mut names: Vec<String> = ledger_server::audit::RESERVED.iter().map(|n| (*n).to_owned()).collect();
    names.extend(ledger_server::audit::RESERVED_PREFIXES.iter().map(|p| format!("{p}x")));
    names.extend(["admin.audit".to_owned(), "demo.audit".to_owned(), "x".repeat(59)]);
    for name in &names {
        let (status, body) = call(&c, "POST", &url, &admin, Some(json!({"id": name}))).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(body["error"]["code"], "invalid_argument", "{name}");
        // (admin.audit exists: it is the administrator's own log, which these requests write.)
        if name != "admin.audit" {
            assert!(ledger.tenant(&tid(name)).await.is_err(), "{name} was created");
        }
    }
    // A tenant's requests go to its own companion log, never the admin log.
    let (status, _) = call(&c, "POST", &url, &admin, Some(json!({"id": "admins"}))).await;
    assert_eq!(status, 201);
    let dealer = token(&s, Some("admins"), Role::DealerPrincipal).await;
    let admin_log_before = ledger.tenant(&tid("admin.audit")).await.unwrap().store().size().await.unwrap();
    let (status, _) = call(&c, "POST", &format!("{}/v1/tenants/admins/claims", srv.base), &dealer, Some(claim(1))).await;
    assert_eq!(status, 201);
    assert_eq!(ledger.tenant(&tid("admin.audit")).await.unwrap().store().size().await.unwrap(), admin_log_before);
    assert_eq!(ledger.tenant(&tid("admins.audit")).await.unwrap().store().size().await.unwrap(), 1);

    // Residency: ISO 3166-1 alpha-2 only, stored upper case.
    for bad in ["XX", "EU", "CAN", "uk", "", "Q1"] {
        let (status, body) = call(&c, "POST", &url, &admin, Some(json!({"id": "res-bad", "residency": [bad]}))).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("ISO 3166-1"), "{body}");
    }
    assert!(ledger.tenant(&tid("res-bad")).await.is_err());
    let (status, body) = call(&c, "POST", &url, &admin, Some(json!({"id": "res-ok", "residency": ["ca", "FR"]}))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(ledger.tenant(&tid("res-ok")).await.unwrap().config().residency, vec!["CA".to_owned(), "FR".to_owned()]);
    srv.shutdown().await.unwrap();
}

async fn concurrent_creation_and_first_requests<S: Store + Clone>(s: S) {
    let ledger = Ledger::new(s.clone(), signer(), keys());
    let srv = start(ledger.clone()).await;
    let admin = token(&s, None, Role::Admin).await;
    let c = client();
    // 16 concurrent creations of one tenant: one 201, fifteen 200, nothing else.
    let url = format!("{}/v1/tenants", srv.base);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (c, url, admin) = (c.clone(), url.clone(), admin.clone());
            tokio::spawn(async move { call(&c, "POST", &url, &admin, Some(json!({"id": "rush"}))).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert!(status == 201 || status == 200, "{status}: {body}");
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");

    // 32 concurrent first requests of the new tenant: every one is in its audit log.
    let dealer = token(&s, Some("rush"), Role::DealerPrincipal).await;
    let failures_before = audit_failures(&c, &srv.base).await;
    let claims = format!("{}/v1/tenants/rush/claims", srv.base);
    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let (c, claims, dealer) = (c.clone(), claims.clone(), dealer.clone());
            tokio::spawn(async move { call(&c, "POST", &claims, &dealer, Some(claim(n))).await })
        })
        .collect();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    let log = ledger.tenant(&tid("rush.audit")).await.unwrap();
    assert_eq!(log.store().size().await.unwrap(), 32, "one audit entry per request");
    assert_eq!(audit_failures(&c, &srv.base).await, failures_before);
    srv.shutdown().await.unwrap();
}

async fn audit_failures(c: &reqwest::Client, base: &str) -> u64 {
    let text = c.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().filter(|l| l.starts_with("ledger_audit_failures_total")).filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum()
}

async fn erase_twice<S: Store + Clone>(s: S) {
    let ledger = Ledger::new(s.clone(), signer(), keys());
    let srv = start(ledger.clone()).await;
    let admin = token(&s, None, Role::Admin).await;
    let c = client();
    let (status, _) = call(&c, "POST", &format!("{}/v1/tenants", srv.base), &admin, Some(json!({"id": "twice"}))).await;
    assert_eq!(status, 201);
    let dealer = token(&s, Some("twice"), Role::DealerPrincipal).await;
    let (status, _) = call(&c, "POST", &format!("{}/v1/tenants/twice/claims", srv.base), &dealer, Some(claim(7))).await;
    assert_eq!(status, 201);
    let erase = format!("{}/v1/tenants/twice/claims/0/erase", srv.base);
    let (status, first) = call(&c, "POST", &erase, &dealer, Some(json!({"reason": "customer request"}))).await;
    assert_eq!(status, 201, "{first}");
    let size = ledger.tenant(&tid("twice")).await.unwrap().store().size().await.unwrap();
    let (status, body) = call(&c, "POST", &erase, &dealer, Some(json!({"reason": "again"}))).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "already_erased");
    assert!(body["error"]["message"].as_str().unwrap().contains(&format!("by claim {}", first["seq"])), "{body}");
    assert_eq!(ledger.tenant(&tid("twice")).await.unwrap().store().size().await.unwrap(), size, "no second erasure claim");
    srv.shutdown().await.unwrap();
}

test_support::both_backends!(reserved_names_and_residency, concurrent_creation_and_first_requests, erase_twice);

/// A tenant whose audit log cannot be opened gets `503 audit_unavailable` and nothing is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_audit_log_fails_the_request() {
    let dir = test_support::TempDir::new("tenancy-audit");
    let s = ledger::store::sqlite::SqliteStore::open(dir.path(), ledger::store::sqlite::Durability::PowerLoss).await.unwrap();
    let ledger = Ledger::new(s.clone(), signer(), keys());
    ledger.create_tenant(&tid("blocked"), &ledger::store::TenantConfig::default()).await.unwrap();
    // Where the companion log's database would go, a directory: SQLite cannot open it.
    let blocker = dir.path().join("tenants").join("blocked.audit.db");
    std::fs::create_dir_all(&blocker).unwrap();
    let srv = start(ledger.clone()).await;
    let dealer = token(&s, Some("blocked"), Role::DealerPrincipal).await;
    let c = client();
    let url = format!("{}/v1/tenants/blocked/claims", srv.base);
    let (status, body) = call(&c, "POST", &url, &dealer, Some(claim(1))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "audit_unavailable");
    let t = ledger.tenant(&tid("blocked")).await.unwrap();
    assert_eq!(t.store().size().await.unwrap(), 0, "nothing was appended without its audit entry");
    assert!(audit_failures(&c, &srv.base).await >= 1);
    // Once the log can be written, the same request succeeds and is recorded.
    std::fs::remove_dir(&blocker).unwrap();
    let (status, body) = call(&c, "POST", &url, &dealer, Some(claim(1))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(ledger.tenant(&tid("blocked.audit")).await.unwrap().store().size().await.unwrap(), 1);
    srv.shutdown().await.unwrap();
}
