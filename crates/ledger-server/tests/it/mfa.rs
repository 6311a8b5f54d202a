//! MFA for people over real HTTP: with an `[oidc]` gate, human-role tokens need an ID token
//! (signed here with `ring`, independently of the validator) naming their person and
//! asserting MFA; service tokens do not; every refusal has its stable code and is audited.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ledger::Ledger;
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{Rail, Store, TenantConfig};
use ledger_server::auth::{self, Role};
use ledger_server::http::mfa::MfaGate;
use ledger_server::oidc::{IdTokenPolicy, KeySource};
use ledger_server::server::ServiceOptions;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};
use test_support::fixtures::{keys, signer, tid};
use test_support::{LocalServer, TempDir};

const ISSUER: &str = "https://login.dealer.example.ca/";
const AUDIENCE: &str = "evidence-ledger";

struct Idp {
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Idp {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        Self { key, rng }
    }

    fn jwks(&self) -> Value {
        let point = self.key.public_key().as_ref();
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
                         "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])}]})
    }

    /// An ES256 ID token with these claims over a valid base (iss, aud, iat, exp in an hour).
    fn token(&self, claims: &Value) -> String {
        let now = ledger::now().0 / 1000;
        let mut body = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600, "sub": "u-123",
                              "email": "Alice@Dealer.example.ca", "amr": ["pwd", "mfa"]});
        for (k, v) in claims.as_object().unwrap() {
            body[k] = v.clone();
        }
        let signing_input =
            format!("{}.{}", B64.encode(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}).to_string()), B64.encode(body.to_string()));
        let sig = self.key.sign(&self.rng, signing_input.as_bytes()).unwrap();
        format!("{signing_input}.{}", B64.encode(sig.as_ref()))
    }
}

async fn call(c: &reqwest::Client, url: &str, bearer: &str, id_token: Option<&str>) -> (u16, Value) {
    let mut rb = c
        .post(url)
        .header("authorization", format!("Bearer {bearer}"))
        .header("content-type", "application/json")
        .body(json!({"kind": "leakage_finding", "body": {"analyzer": "cit", "deal": "D-1"}}).to_string());
    if let Some(t) = id_token {
        rb = rb.header("x-ledger-id-token", t);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null))
}

async fn token(store: &SqliteStore, role: Role, person: Option<&str>) -> String {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).unwrap();
    let mut issued = auth::issue(id, [id[1]; 32], Some(tid("rooftop-7")), role, "mfa test", ledger::now(), 86_400_000).unwrap();
    issued.record.principal = person.map(str::to_owned);
    store.put_token(&issued.record).await.unwrap();
    issued.bearer
}

#[tokio::test]
async fn people_need_an_mfa_id_token_of_their_own_and_machines_do_not() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = TempDir::new("mfa");
    let idp = Idp::new();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, idp.jwks().to_string()).unwrap();
    let store = SqliteStore::open(dir.path().join("db"), Durability::PowerLoss).await.unwrap();
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    ledger.create_tenant(&tid("rooftop-7"), &TenantConfig::default()).await.unwrap();
    let gate = MfaGate {
        policy: IdTokenPolicy { issuer: ISSUER.into(), audience: AUDIENCE.into(), acr_values: Vec::new(), leeway_seconds: 60 },
        keys: KeySource::file(&jwks),
        roles: vec![Role::DealerPrincipal, Role::Cfo, Role::DealerOperator, Role::Auditor],
    };
    let opts = ServiceOptions {
        seal_tick: Duration::from_hours(1),
        anchor_tick: Duration::from_hours(1),
        grace: Duration::from_secs(5),
        mfa: Some(Arc::new(gate)),
        ..ServiceOptions::default()
    };
    let server = LocalServer::start(ledger.clone(), opts).await;
    let url = format!("{}/v1/tenants/rooftop-7/claims", server.base);
    let c = reqwest::Client::new();

    // Machines: no ID token needed.
    let service = token(&store, Role::Service, None).await;
    assert_eq!(call(&c, &url, &service, None).await.0, 201);

    // A person: refused without, accepted with their own MFA ID token (by e-mail, any case).
    let alice = token(&store, Role::DealerOperator, Some("alice@dealer.example.ca")).await;
    let (status, body) = call(&c, &url, &alice, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("mfa_required")), "{body}");
    let good = idp.token(&json!({}));
    let (status, body) = call(&c, &url, &alice, Some(&good)).await;
    assert_eq!(status, 201, "{body}");

    // Bound by `sub` works as well.
    let by_sub = token(&store, Role::Cfo, Some("u-123")).await;
    assert_eq!(call(&c, &url, &by_sub, Some(&good)).await.0, 201);

    for (why, id_token, bearer, code, reason) in [
        ("no MFA asserted", idp.token(&json!({"amr": ["pwd"]})), &alice, "mfa_invalid", Some("no_mfa")),
        ("expired", idp.token(&json!({"exp": ledger::now().0 / 1000 - 600})), &alice, "mfa_invalid", Some("expired")),
        ("another audience", idp.token(&json!({"aud": "another-app"})), &alice, "mfa_invalid", Some("wrong_audience")),
        ("another issuer", idp.token(&json!({"iss": "https://evil.example/"})), &alice, "mfa_invalid", Some("wrong_issuer")),
        ("another person", idp.token(&json!({"sub": "u-999", "email": "bob@dealer.example.ca"})), &alice, "mfa_mismatch", None),
        ("garbage", "not.a.jwt".to_owned(), &alice, "mfa_invalid", Some("malformed")),
    ] {
        let (status, body) = call(&c, &url, bearer, Some(&id_token)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some(code)), "{why}: {body}");
        if let Some(r) = reason {
            assert!(body["error"]["message"].as_str().unwrap().ends_with(r), "{why}: {body}");
        }
    }
    // A person's token bound to no one cannot pass, whatever ID token comes with it.
    let unbound = token(&store, Role::DealerOperator, None).await;
    let (status, body) = call(&c, &url, &unbound, Some(&good)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("mfa_mismatch")), "{body}");

    // The audit log names the ID token's subject on success and records each refusal.
    let (_, _, entries) = ledger_server::audit::read(&ledger, &tid("rooftop-7"), 0, 100).await.unwrap();
    let events: Vec<&Value> = entries.iter().filter_map(|e| e.event.as_ref()).collect();
    assert!(events.iter().any(|e| e["status"] == 201 && e["mfa_sub"] == "u-123" && e["role"] == "dealer_operator"), "{events:?}");
    assert!(events.iter().any(|e| e["status"] == 201 && e["role"] == "service" && e["mfa_sub"].is_null()), "{events:?}");
    assert!(events.iter().any(|e| e["status"] == 401 && e["code"] == "mfa_required"), "{events:?}");
    assert_eq!(events.iter().filter(|e| e["code"] == "mfa_mismatch").count(), 2, "{events:?}");
    server.shutdown().await.unwrap();
}

/// The dashboard's sign-in asks the same gate: a person's bearer token alone, or with someone
/// else's ID token, starts no session; with their own MFA ID token it does.
#[tokio::test]
async fn dashboard_sign_in_needs_the_persons_mfa_id_token() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = TempDir::new("mfa-ui");
    let idp = Idp::new();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, idp.jwks().to_string()).unwrap();
    let store = SqliteStore::open(dir.path().join("db"), Durability::PowerLoss).await.unwrap();
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    ledger.create_tenant(&tid("rooftop-7"), &TenantConfig::default()).await.unwrap();
    let gate = MfaGate {
        policy: IdTokenPolicy { issuer: ISSUER.into(), audience: AUDIENCE.into(), acr_values: Vec::new(), leeway_seconds: 60 },
        keys: KeySource::file(&jwks),
        roles: vec![Role::DealerPrincipal, Role::Cfo, Role::DealerOperator, Role::Auditor],
    };
    let opts = ServiceOptions {
        seal_tick: Duration::from_hours(1),
        anchor_tick: Duration::from_hours(1),
        mfa: Some(Arc::new(gate)),
        ..ServiceOptions::default()
    };
    let server = LocalServer::start(ledger.clone(), opts).await;
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let alice = token(&store, Role::Auditor, Some("alice@dealer.example.ca")).await;
    let sign_in = |id_token: String| {
        let (c, base, alice) = (c.clone(), server.base.clone(), alice.clone());
        async move {
            let r = c.get(format!("{base}/ui/sign-in")).send().await.unwrap();
            let pre = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
            let html = r.text().await.unwrap();
            let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
            let body = format!("csrf={csrf}&token={alice}&id_token={id_token}");
            let r = c
                .post(format!("{base}/ui/sign-in"))
                .header("cookie", pre)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            let session = r.headers().get_all("set-cookie").iter().any(|v| v.to_str().unwrap().starts_with("ledger_ui="));
            (r.status().as_u16(), session, r.text().await.unwrap())
        }
    };
    let (status, session, html) = sign_in(String::new()).await;
    assert_eq!((status, session), (401, false), "{html}");
    assert!(html.contains("ID token"), "{html}");
    let someone_else = idp.token(&json!({"sub": "u-999", "email": "bob@dealer.example.ca"}));
    let (status, session, _) = sign_in(someone_else).await;
    assert_eq!((status, session), (401, false));
    let (status, session, _) = sign_in(idp.token(&json!({}))).await;
    assert_eq!((status, session), (303, true));
    server.shutdown().await.unwrap();
}
