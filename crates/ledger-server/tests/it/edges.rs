//! The edges an attacker finds (issue #23, points 6 and 7), over real HTTP on SQLite and
//! PostgreSQL: claim bodies are never altered silently, every error is the typed JSON
//! error, numbers past the store's range are 400, sequence numbers past the log are 404 on
//! every route, kinds the ledger writes cannot be appended, slow and idle connections are
//! closed while the server keeps answering, and TLS is 1.3 only unless configured.

#![allow(clippy::too_many_lines)]

use std::time::Duration;

use ledger::Ledger;
use ledger::store::{Rail, Store, TenantConfig, TenantStore as _};
use ledger_server::auth::Role;
use ledger_server::http::HttpLimits;
use serde_json::{Value, json};
use test_support::LocalServer;
use test_support::fixtures::{keys, signer, tid};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn start<S: Store + Clone>(ledger: Ledger<S>, limits: HttpLimits) -> LocalServer {
    LocalServer::start(ledger, test_support::server::quiet_options(limits)).await
}

async fn token<S: Store>(store: &S, tenant: Option<&str>, role: Role) -> String {
    test_support::server::token(store, tenant, role).await
}

struct Resp {
    status: u16,
    body: Value,
    text: String,
}

impl Resp {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    /// The typed error shape, with a message for people.
    fn assert_typed(&self, status: u16, code: &str, ctx: &str) {
        assert_eq!((self.status, self.code()), (status, code), "{ctx}: {}", self.text);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{ctx}: no message in {}", self.text);
    }
}

async fn send(c: &reqwest::Client, method: &str, url: &str, token: &str, body: Option<&str>) -> Resp {
    let mut rb = c.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url).header("authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        rb = rb.header("content-type", "application/json").body(b.to_owned());
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    Resp { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), text }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

fn claim(n: u64) -> String {
    json!({"kind": "leakage_finding", "body": {"analyzer": "cit", "deal": format!("D-{n}"), "amount": "125.00"}}).to_string()
}

/// Duplicate member names at any depth and integers no double holds are refused with a
/// typed 400, never stored as something else.
async fn bodies_are_never_altered<S: Store + Clone>(store: S) {
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    ledger.create_tenant(&tid("t1"), &TenantConfig::default()).await.unwrap();
    let srv = start(ledger.clone(), HttpLimits::default()).await;
    let (c, svc) = (client(), token(&store, Some("t1"), Role::Service).await);
    let url = format!("{}/v1/tenants/t1/claims", srv.base);
    for (text, code, what) in [
        (r#"{"kind":"leakage_finding","body":{"amount":"1.00","amount":"9999.00"}}"#, "duplicate_member", "duplicate in the body"),
        (r#"{"kind":"leakage_finding","body":{"a":[{"b":{"c":1,"c":2}}]}}"#, "duplicate_member", "duplicate three levels down"),
        (r#"{"kind":"leakage_finding","kind":"gate_decision","body":{}}"#, "duplicate_member", "duplicate in the envelope"),
        (r#"{"kind":"leakage_finding","body":{"n":9007199254740993}}"#, "unsafe_number", "2^53+1"),
        (r#"{"kind":"leakage_finding","body":{"n":1234567890123456789012345678901234567890}}"#, "unsafe_number", "a 40-digit integer"),
        (r#"{"kind":"leakage_finding","body":{"n":[-99999999999999999999999]}}"#, "unsafe_number", "a wide negative integer"),
    ] {
        send(&c, "POST", &url, &svc, Some(text)).await.assert_typed(400, code, what);
    }
    let batch = format!(r#"{{"claims":[{},{{"kind":"leakage_finding","body":{{"x":1,"x":1}}}}]}}"#, claim(1));
    send(&c, "POST", &format!("{url}/batch"), &svc, Some(&batch)).await.assert_typed(400, "duplicate_member", "batch");
    let t = ledger.tenant(&tid("t1")).await.unwrap();
    assert_eq!(t.store().size().await.unwrap(), 0, "nothing refused was stored");
    // What a double holds exactly goes through unchanged.
    let ok = r#"{"kind":"leakage_finding","body":{"n":9007199254740992,"m":295147905179352830000,"s":"1234567890123456789012345678901234567890"}}"#;
    let r = send(&c, "POST", &url, &svc, Some(ok)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let stored = t.claim_parts(evidence_core::Seq(0)).await.unwrap().record.unwrap().1;
    assert_eq!(stored.body["n"], 9_007_199_254_740_992_u64);
    assert_eq!(stored.body["s"], "1234567890123456789012345678901234567890");
    srv.shutdown().await.unwrap();
}

/// Bad path segments, query strings and content types get the typed JSON error; numbers
/// past the store's range are 400 (not 503 with a "corrupt store" log line).
async fn every_error_is_typed<S: Store + Clone>(store: S) {
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    ledger.create_tenant(&tid("t1"), &TenantConfig::default()).await.unwrap();
    let srv = start(ledger.clone(), HttpLimits::default()).await;
    let c = client();
    let reader = token(&store, Some("t1"), Role::Auditor).await;
    let principal = token(&store, Some("t1"), Role::DealerPrincipal).await;
    let admin = token(&store, None, Role::Admin).await;
    let b = format!("{}/v1/tenants/t1", srv.base);
    let big = "9223372036854775808"; // 2^63
    let max = u64::MAX.to_string();
    for (method, url, tok, body, status, code) in [
        ("GET", format!("{b}/claims/abc"), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{b}/claims/-1"), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{b}/claims/%FF%FE"), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{}/v1/tenants/%FF%FE/checkpoints", srv.base), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{}/v1/tenants/%FF%FE/checkpoints", srv.base), &admin, None, 400, "invalid_argument"),
        ("GET", format!("{b}/claims/18446744073709551616"), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{b}/checkpoints?from=abc"), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{b}/checkpoints?limit=-5"), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{b}/checkpoints?color=red"), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{b}/consistency?old=1"), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{b}/checkpoints/zz/note"), &reader, None, 400, "invalid_argument"),
        ("GET", format!("{b}/claims/{big}"), &reader, None, 400, "out_of_range"),
        ("GET", format!("{b}/claims/{max}"), &reader, None, 400, "out_of_range"),
        ("GET", format!("{b}/claims/{max}/bundle"), &reader, None, 400, "out_of_range"),
        ("GET", format!("{b}/claims/{big}/tlog-proof"), &reader, None, 400, "out_of_range"),
        ("POST", format!("{b}/claims/{max}/retract"), &principal, Some(r#"{"reason":"x"}"#), 400, "out_of_range"),
        ("POST", format!("{b}/claims/{big}/erase"), &principal, Some(r#"{"reason":"x"}"#), 400, "out_of_range"),
        ("GET", format!("{b}/checkpoints?from={big}"), &reader, None, 400, "out_of_range"),
        ("GET", format!("{b}/checkpoints/{max}"), &reader, None, 400, "out_of_range"),
        ("GET", format!("{b}/checkpoints/{big}/anchors"), &reader, None, 400, "out_of_range"),
        ("GET", format!("{b}/consistency?old=0&new={max}"), &reader, None, 400, "out_of_range"),
        ("GET", format!("{b}/audit?from={max}"), &reader, None, 400, "out_of_range"),
        ("POST", format!("{b}/bundles"), &reader, Some(&format!(r#"{{"seqs":[{max}]}}"#)), 400, "unsafe_number"),
    ] {
        send(&c, method, &url, tok, body).await.assert_typed(status, code, &format!("{method} {url}"));
    }
    // Wrong or missing content type.
    let r = c
        .post(format!("{b}/claims"))
        .header("authorization", format!("Bearer {principal}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("kind=x")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!((status, v["error"]["code"].as_str()), (415, Some("unsupported_media_type")));
    srv.shutdown().await.unwrap();
}

/// A sequence number at or past the log's size is 404 `no_such_claim` on every route; one
/// inside the log but not yet sealed stays 409 `not_sealed`.
async fn missing_claims_are_404<S: Store + Clone>(store: S) {
    // No rail: a sealed claim's bundle needs no anchor here (this test is about sequence numbers).
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), Vec::new());
    let t = ledger.create_tenant(&tid("t1"), &TenantConfig::default()).await.unwrap();
    let srv = start(ledger.clone(), HttpLimits::default()).await;
    let c = client();
    let svc = token(&store, Some("t1"), Role::Service).await;
    let principal = token(&store, Some("t1"), Role::DealerPrincipal).await;
    let b = format!("{}/v1/tenants/t1", srv.base);
    for n in 0..2 {
        assert_eq!(send(&c, "POST", &format!("{b}/claims"), &svc, Some(&claim(n))).await.status, 201);
    }
    t.seal_now().await.unwrap();
    assert_eq!(send(&c, "POST", &format!("{b}/claims"), &svc, Some(&claim(2))).await.status, 201);
    // The log holds 0, 1 (sealed) and 2 (not sealed).
    let reason = Some(r#"{"reason":"test"}"#);
    for seq in [3u64, 4, 1000, i64::MAX as u64] {
        for (method, url, body) in [
            ("GET", format!("{b}/claims/{seq}"), None),
            ("GET", format!("{b}/claims/{seq}/bundle"), None),
            ("GET", format!("{b}/claims/{seq}/tlog-proof"), None),
            ("POST", format!("{b}/claims/{seq}/retract"), reason),
            ("POST", format!("{b}/claims/{seq}/erase"), reason),
        ] {
            send(&c, method, &url, &principal, body).await.assert_typed(404, "no_such_claim", &format!("{method} {url}"));
        }
        let body = format!(r#"{{"seqs":[0,{}]}}"#, seq.min(1 << 53));
        send(&c, "POST", &format!("{b}/bundles"), &principal, Some(&body)).await.assert_typed(404, "no_such_claim", &body);
    }
    send(&c, "GET", &format!("{b}/claims/2/bundle"), &principal, None).await.assert_typed(409, "not_sealed", "unsealed bundle");
    send(&c, "GET", &format!("{b}/claims/2/tlog-proof"), &principal, None).await.assert_typed(409, "not_sealed", "unsealed proof");
    send(&c, "POST", &format!("{b}/bundles"), &principal, Some(r#"{"seqs":[0,2]}"#)).await.assert_typed(409, "not_sealed", "unsealed");
    assert_eq!(send(&c, "GET", &format!("{b}/claims/1/bundle"), &principal, None).await.status, 200);
    // None of the refusals wrote anything.
    assert_eq!(t.store().size().await.unwrap(), 3);
    srv.shutdown().await.unwrap();
}

/// Kinds the ledger writes itself are refused with 403 `reserved_kind`, alone or in a
/// batch, while the ledger keeps writing them (audit entries, retractions).
async fn ledger_kinds_are_reserved<S: Store + Clone>(store: S) {
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    let t = ledger.create_tenant(&tid("t1"), &TenantConfig::default()).await.unwrap();
    let srv = start(ledger.clone(), HttpLimits::default()).await;
    let c = client();
    let svc = token(&store, Some("t1"), Role::Service).await;
    let principal = token(&store, Some("t1"), Role::DealerPrincipal).await;
    let auditor = token(&store, Some("t1"), Role::Auditor).await;
    let b = format!("{}/v1/tenants/t1", srv.base);
    for kind in ["audit_event", "retraction", "supersession", "erasure", "reanchor", "incident"] {
        let body = json!({"kind": kind, "body": {"token": "forged", "status": 200}}).to_string();
        send(&c, "POST", &format!("{b}/claims"), &svc, Some(&body)).await.assert_typed(403, "reserved_kind", kind);
        let batch = format!(r#"{{"claims":[{},{body}]}}"#, claim(0));
        send(&c, "POST", &format!("{b}/claims/batch"), &svc, Some(&batch)).await.assert_typed(403, "reserved_kind", kind);
    }
    assert_eq!(t.store().size().await.unwrap(), 0, "nothing reserved was stored");
    // The ledger still writes them: a retraction through its endpoint, and the audit log.
    assert_eq!(send(&c, "POST", &format!("{b}/claims"), &svc, Some(&claim(1))).await.status, 201);
    let r = send(&c, "POST", &format!("{b}/claims/0/retract"), &principal, Some(r#"{"reason":"test"}"#)).await;
    assert_eq!((r.status, r.body["kind"].as_str()), (201, Some("retraction")), "{}", r.text);
    let audit = send(&c, "GET", &format!("{b}/audit?limit=1000"), &auditor, None).await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let entries = audit.body["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["event"]["code"] == "reserved_kind"), "the refusals are audited by the ledger");
    assert!(entries.iter().all(|e| e["event"]["token"] != "forged"));
    srv.shutdown().await.unwrap();
}

test_support::both_backends!(bodies_are_never_altered, every_error_is_typed, missing_claims_are_404, ledger_kinds_are_reserved);

/// Reads until the server closes the connection (answering `true`), or `within` passes
/// (`false`). Whatever the server sent before closing is returned too. `within` is a
/// safety bound on a test that must not hang, not a latency assertion.
async fn closed_by_server(s: &mut TcpStream, within: Duration) -> (bool, String) {
    let mut got = Vec::new();
    let r = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    (r.is_ok(), String::from_utf8_lossy(&got).into_owned())
}

async fn healthz_answers(c: &reqwest::Client, base: &str) -> bool {
    c.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200)
}

/// Slow-header, slow-body and idle sockets are closed by the server; while they are open, a
/// normal request is answered. A declared `Content-Length` over the limit is refused at
/// once. A connection over `max_connections` is closed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed() {
    let (store, _g) = test_support::fixtures::sqlite().await;
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    ledger.create_tenant(&tid("t1"), &TenantConfig::default()).await.unwrap();
    let limits = HttpLimits {
        header_read_timeout: Duration::from_millis(1500),
        idle_timeout: Duration::from_millis(1500),
        request_timeout: Duration::from_secs(3),
        max_connections: 16,
        ..HttpLimits::default()
    };
    let srv = start(ledger.clone(), limits).await;
    let addr = srv.base.trim_start_matches("http://").to_owned();
    let svc = token(&store, Some("t1"), Role::Service).await;
    let c = client();
    let bound = Duration::from_secs(25);

    // Slow header: a byte every 300 ms, forever; only the header timeout can end it.
    let slow_header = tokio::spawn({
        let addr = addr.clone();
        async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
            tokio::time::timeout(bound, async {
                loop {
                    if s.write_all(b"a").await.is_err() {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let mut probe = [0u8; 64];
                    if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe)).await {
                        return true;
                    }
                }
            })
            .await
            .unwrap_or(false)
        }
    });
    // Slow body: a complete head, then a body byte every 300 ms.
    let slow_body = tokio::spawn({
        let (addr, svc) = (addr.clone(), svc.clone());
        async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            let head = format!(
                "POST /v1/tenants/t1/claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {svc}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{"
            );
            s.write_all(head.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            let closed = tokio::time::timeout(bound, async {
                loop {
                    if s.write_all(b" ").await.is_err() {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let mut buf = [0u8; 4096];
                    match tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await {
                        Ok(Ok(0) | Err(_)) => return true,
                        Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
                        Err(_) => {}
                    }
                }
            })
            .await
            .unwrap_or(false);
            (closed, String::from_utf8_lossy(&answer).into_owned())
        }
    });
    // Idle: connects and sends nothing. Keep-alive idle: one request, then nothing.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    let mut kept = TcpStream::connect(&addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();

    // While all of them are open, the server answers.
    for _ in 0..3 {
        assert!(healthz_answers(&c, &srv.base).await, "a normal request was not answered while slow sockets were open");
    }
    let (closed, _) = closed_by_server(&mut idle, bound).await;
    assert!(closed, "an idle socket was never closed");
    let (closed, got) = closed_by_server(&mut kept, bound).await;
    assert!(closed, "an idle keep-alive connection was never closed");
    assert!(got.starts_with("HTTP/1.1 200"), "the keep-alive request was answered first: {got}");
    assert!(slow_header.await.unwrap(), "a slow-header socket was never closed");
    let (closed, answer) = slow_body.await.unwrap();
    assert!(closed, "a slow-body socket was never closed");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 503"), "the slow body timed out: {answer}");
    assert!(healthz_answers(&c, &srv.base).await);

    // A declared length over the limit: 413 at once, before the body (none is ever sent),
    // with or without a token.
    for auth in [format!("Authorization: Bearer {svc}\r\n"), String::new()] {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /v1/tenants/t1/claims HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await.expect("no answer before the body").unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 413"), "{text}");
        assert!(text.contains("body_too_large"), "{text}");
    }
    srv.shutdown().await.unwrap();

    // Connection limit: with every slot held by an idle socket, one more is closed at once
    // (long before the idle timeout), and the server answers again once a slot is free.
    let limits = HttpLimits {
        idle_timeout: Duration::from_mins(10),
        header_read_timeout: Duration::from_mins(10),
        max_connections: 3,
        ..HttpLimits::default()
    };
    let srv = start(ledger.clone(), limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(&addr_of(&srv)).await.unwrap();
        // A full request first, so the slot is surely taken when the next one connects.
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(s);
    }
    let mut extra = TcpStream::connect(&addr_of(&srv)).await.unwrap();
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (closed, got) = closed_by_server(&mut extra, Duration::from_secs(20)).await;
    assert!(closed && got.is_empty(), "a connection over the limit was served: {got}");
    drop(held.pop());
    let mut answered = false;
    for _ in 0..50 {
        if healthz_answers(&reqwest::Client::new(), &srv.base).await {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "a freed slot was not reused");
    drop(held);
    srv.shutdown().await.unwrap();
}

fn addr_of(srv: &LocalServer) -> String {
    srv.base.trim_start_matches("http://").to_owned()
}

mod tls {
    use std::sync::Arc;
    use std::time::Duration;

    use ledger_server::tls::{TlsListener, TlsVersions, server_config_with};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    struct Pki {
        dir: test_support::TempDir,
        cert_der: rustls::pki_types::CertificateDer<'static>,
    }

    fn pki() -> Pki {
        let dir = test_support::TempDir::new("edges-tls");
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), ck.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
        Pki { cert_der: ck.cert.der().clone(), dir }
    }

    /// Serves a one-route router over TLS with `versions`; answers the address and a stop.
    async fn serve(p: &Pki, versions: TlsVersions) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let cfg = server_config_with(&p.dir.path().join("cert.pem"), &p.dir.path().join("key.pem"), versions).unwrap();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let bind = ledger_server::http::Bind::Tls(TlsListener::new(tcp, cfg).unwrap());
        tokio::spawn(ledger_server::http::serve(bind, router, ledger_server::http::HttpLimits::default().conn(), async {
            let _ = rx.await;
        }));
        (addr, tx)
    }

    /// A handshake and one request with a client limited to `versions`.
    async fn get(p: &Pki, addr: std::net::SocketAddr, versions: &[&'static rustls::SupportedProtocolVersion]) -> Result<String, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(p.cert_der.clone()).unwrap();
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = tokio::time::timeout(Duration::from_secs(20), connector.connect(name, tcp))
            .await
            .map_err(|_| "handshake hung".to_owned())?
            .map_err(|e| e.to_string())?;
        let version = tls.get_ref().1.protocol_version();
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
        Ok(format!("{version:?} {}", String::from_utf8_lossy(&out)))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tls_1_3_only_unless_configured() {
        let p = pki();
        let (addr, stop) = serve(&p, TlsVersions::default()).await;
        let ok = get(&p, addr, &[&rustls::version::TLS13]).await.unwrap();
        assert!(ok.starts_with("Some(TLSv1_3) HTTP/1.1 200"), "{ok}");
        let refused = get(&p, addr, &[&rustls::version::TLS12]).await;
        assert!(refused.is_err(), "a TLS 1.2-only client was accepted by default: {refused:?}");
        let _ = stop.send(());

        let (addr, stop) = serve(&p, TlsVersions::AllowTls12).await;
        let ok = get(&p, addr, &[&rustls::version::TLS12]).await.unwrap();
        assert!(ok.starts_with("Some(TLSv1_2) HTTP/1.1 200"), "{ok}");
        let ok = get(&p, addr, &[&rustls::version::TLS13]).await.unwrap();
        assert!(ok.starts_with("Some(TLSv1_3) HTTP/1.1 200"), "{ok}");
        let _ = stop.send(());
    }
}
