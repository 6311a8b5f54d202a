//! Dealer uploads (issue #25) over real HTTP on SQLite and PostgreSQL: signed URLs (one
//! `PUT`, expiry, alteration, size limit, content type), ingestion through the pipeline with
//! the same `ingest_record` claim as `pipeline ingest`, PII refusals deleted, tenant
//! isolation, audit entries, metrics, and the recovery sweep resuming a received upload once.

#![allow(clippy::too_many_lines)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use evidence_core::UnixMillis;
use ledger::Ledger;
use ledger::crypto::SecretKey;
use ledger::store::uploads::{UploadChange, UploadState, UploadStore as _};
use ledger::store::{Store, TenantConfig, TenantStore as _};
use ledger_server::auth::Role;
use ledger_server::uploads::url::{Grant, UrlKey, UrlKeys};
use ledger_server::uploads::{UploadService, UploadSettings};
use pipeline::analyze::cli as a;
use serde_json::{Value, json};
use test_support::fixtures::{keys, signer, tid};
use test_support::server::{quiet_options, token};
use test_support::{LocalServer, TempDir};

/// A CSV of the pipeline's ingest fixtures (`crates/pipeline/testdata/csv/`).
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/testdata/csv").join(name)).unwrap()
}

fn url_keys() -> UrlKeys {
    UrlKeys::new(vec![UrlKey::new("k1", SecretKey::from_bytes([7; 32])).unwrap()]).unwrap()
}

pub fn settings(dir: PathBuf, max_bytes: u64, base: &str) -> UploadSettings {
    UploadSettings {
        files: ledger_server::uploads::files::FileStore::local(dir, SecretKey::from_bytes([9; 32])),
        url_keys: url_keys(),
        public_url: base.to_owned(),
        expiry_ms: 15 * 60 * 1000,
        max_bytes,
        sftp: Vec::new(),
        rosters: Vec::new(),
        sftp_stable: Duration::ZERO,
        sftp_poll: Duration::from_millis(50),
    }
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Resp {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> Resp {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    Resp { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), text }
}

/// A PUT whose body is sent chunked (no Content-Length), over a raw socket: the server only
/// finds it too large while reading.
async fn put_chunked(url: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let head =
        format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nContent-Type: text/csv\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    for c in body.chunks(8192) {
        if s.write_all(format!("{:x}\r\n", c.len()).as_bytes()).await.is_err()
            || s.write_all(c).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out);
    text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

async fn audit_events<S: Store + Clone>(ledger: &Ledger<S>, tenant: &str) -> Vec<Value> {
    let log = ledger.tenant(&tid(&format!("{tenant}.audit"))).await.unwrap();
    let size = log.store().size().await.unwrap();
    let mut out = Vec::new();
    for seq in 0..size {
        let parts = log.claim_parts(evidence_core::Seq(seq)).await.unwrap();
        if let Some((_, c)) = parts.record {
            out.push(c.body);
        }
    }
    out
}

async fn url_path<S: Store + Clone>(store: S) {
    let ledger = Ledger::new(store.clone(), signer(), keys());
    for t in ["dealer-a", "dealer-b"] {
        ledger.create_tenant(&tid(t), &TenantConfig::default()).await.unwrap();
    }
    let files_dir = TempDir::new("uploads-files");
    // The URL base is only known once bound; a first server tells the port, so the tests
    // send to the path the ticket gives on the server's own address.
    let mut opts = quiet_options(ledger_server::http::HttpLimits::default());
    opts.uploads = Some(settings(files_dir.path().to_owned(), 64 * 1024, "http://placeholder"));
    let srv = LocalServer::start(ledger.clone(), opts).await;
    let b = srv.base.clone();
    let at = |ticket_url: &str| ticket_url.replacen("http://placeholder", &b, 1);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let svc = token(&store, Some("dealer-a"), Role::Service).await;
    let operator = token(&store, Some("dealer-a"), Role::DealerOperator).await;
    let auditor = token(&store, Some("dealer-a"), Role::Auditor).await;
    let b_token = token(&store, Some("dealer-b"), Role::DealerPrincipal).await;
    let create = |tok: &str, t: &str, body: Value| c.post(format!("{b}/v1/tenants/{t}/uploads")).bearer_auth(tok).json(&body);
    let sales = json!({"profile": "cdk", "export": "sales", "filename": "deals-2026-12.csv"});

    // Who may ask for a URL: the roles that may append.
    let r = send(create(&auditor, "dealer-a", sales.clone())).await;
    assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.text);
    let r = send(create(&b_token, "dealer-a", sales.clone())).await;
    assert_eq!((r.status, r.code()), (403, "wrong_tenant"), "{}", r.text);
    let r = send(create(&svc, "dealer-a", json!({"profile": "cdk", "export": "payroll", "filename": "x.csv"}))).await;
    assert_eq!((r.status, r.code()), (400, "invalid_argument"), "{}", r.text);
    let r = send(create(&svc, "dealer-a", json!({"profile": "cdk", "export": "sales", "filename": "x.csv", "size": 1 << 30}))).await;
    assert_eq!((r.status, r.code()), (413, "body_too_large"), "{}", r.text);

    // The happy path: one PUT, ingested with the same ingest_record claim as `pipeline ingest`.
    let r = send(create(&operator, "dealer-a", sales.clone())).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["method"], "PUT");
    assert_eq!(r.body["max_bytes"], 64 * 1024);
    let expires = r.body["expires_at"].as_i64().unwrap();
    assert!(expires > ledger::now().0 && expires <= ledger::now().0 + 15 * 60 * 1000);
    let id = r.body["upload_id"].as_str().unwrap().to_owned();
    let url = at(r.body["url"].as_str().unwrap());
    let csv = fixture("cdk_sales_valid.csv");
    let r = send(c.put(&url).body(csv.clone())).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "ingested");
    let claims: Vec<u64> = r.body["claims"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(claims.len(), 2);
    let ta = ledger.tenant(&tid("dealer-a")).await.unwrap();
    let profile = pipeline::ingest::Profile::get(pipeline::ingest::Dms::Cdk, pipeline::ingest::Export::Sales).unwrap();
    let opts = ledger_server::uploads::service::ingest_options();
    let report = pipeline::ingest::check(&profile, csv.as_slice(), &opts, |_| {}).unwrap();
    let cli_claim = pipeline::ingest::ingest_request(&profile, &opts, &report).unwrap();
    let first = ta.claim_parts(evidence_core::Seq(claims[0])).await.unwrap().record.unwrap().1;
    assert_eq!(first, cli_claim.claim, "the same claim `pipeline ingest` writes for this file");
    let second = ta.claim_parts(evidence_core::Seq(claims[1])).await.unwrap().record.unwrap().1;
    assert_eq!(second.body["schema"], "ledger-server/upload/v1");
    assert_eq!(second.body["upload_id"], id.as_str());
    assert_eq!(second.body["via"], "url");
    assert_eq!(second.body["path"], format!("PUT /v1/tenants/dealer-a/uploads/{id}/body"));
    assert_eq!(second.body["file_sha256"], hex::encode(report.sha256.unwrap()));
    // The raw file stays, encrypted: not a byte of the header in clear.
    let stored = std::fs::read(files_dir.path().join("dealer-a").join(format!("{id}.evuf"))).unwrap();
    assert!(!stored.windows(6).any(|w| w == b"DealNo"), "the stored file is not encrypted");
    let files = ledger_server::uploads::files::FileStore::local(files_dir.path(), SecretKey::from_bytes([9; 32]));
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut files.tenant(&tid("dealer-a")).unwrap().open(&id).unwrap(), &mut back).unwrap();
    assert_eq!(back, csv);

    // One PUT per URL: a second one, even with the same body, is 409 and writes nothing.
    let size = ta.store().size().await.unwrap();
    let r = send(c.put(&url).body(csv.clone())).await;
    assert_eq!((r.status, r.code()), (409, "upload_used"), "{}", r.text);
    assert_eq!(ta.store().size().await.unwrap(), size);

    // Two PUTs of one URL at once: exactly one is taken.
    let r = send(create(&svc, "dealer-a", sales.clone())).await;
    let race = at(r.body["url"].as_str().unwrap());
    let race_id = r.body["upload_id"].as_str().unwrap().to_owned();
    let body = big_csv(48 * 1024);
    let (x, y) = tokio::join!(send(c.put(&race).body(body.clone())), send(c.put(&race).body(body.clone())));
    let mut statuses = [x.status, y.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", x.text, y.text);
    assert_eq!(ta.store().upload(&race_id).await.unwrap().unwrap().state, UploadState::Ingested);

    // Status and list, to readers of the tenant only.
    let r = send(c.get(format!("{b}/v1/tenants/dealer-a/uploads/{id}")).bearer_auth(&auditor)).await;
    assert_eq!(r.body["state"], "ingested", "{}", r.text);
    assert_eq!(r.body["claims"], json!(claims));
    assert_eq!(r.body["errors"], json!([]));
    let r = send(c.get(format!("{b}/v1/tenants/dealer-a/uploads/{id}")).bearer_auth(&b_token)).await;
    assert_eq!(r.code(), "wrong_tenant");
    let r = send(c.get(format!("{b}/v1/tenants/dealer-b/uploads/{id}")).bearer_auth(&b_token)).await;
    assert_eq!((r.status, r.code()), (404, "no_such_upload"), "another tenant's id names nothing in B");

    // Altered or foreign URLs: 403, nothing read, nothing written.
    let r = send(create(&svc, "dealer-a", sales.clone())).await;
    let url2 = at(r.body["url"].as_str().unwrap());
    let id2 = r.body["upload_id"].as_str().unwrap().to_owned();
    let sig_at = url2.find("sig=").unwrap() + 4;
    let mut bad = url2.clone().into_bytes();
    bad[sig_at] = if bad[sig_at] == b'0' { b'1' } else { b'0' };
    let altered = [
        String::from_utf8(bad).unwrap(),
        url2.replace("/dealer-a/", "/dealer-b/"),
        url2.replace(&format!("max={}", 64 * 1024), "max=999999999"),
        url2.replace("export=sales", "export=service"),
        url2.replace("kid=k1", "kid=k0"),
        url2.split('?').next().unwrap().to_owned(),
    ];
    for u in &altered {
        let r = send(c.put(u).body(csv.clone())).await;
        assert_eq!((r.status, r.code()), (403, "bad_upload_url"), "{u}: {}", r.text);
    }
    let tb = ledger.tenant(&tid("dealer-b")).await.unwrap();
    assert!(tb.store().uploads(0, 100).await.unwrap().is_empty(), "nothing reached tenant B");
    assert!(!files_dir.path().join("dealer-b").exists() || std::fs::read_dir(files_dir.path().join("dealer-b")).unwrap().next().is_none());
    // An expired URL (validly signed): 410.
    let grant = Grant {
        tenant: tid("dealer-a"),
        upload_id: id2.clone(),
        profile: "cdk".into(),
        export: "sales".into(),
        max_bytes: 64 * 1024,
        expires_at: UnixMillis(ledger::now().0 - 1),
    };
    let (kid, sig) = url_keys().sign("PUT", &grant).unwrap();
    let expired = format!(
        "{b}/v1/tenants/dealer-a/uploads/{id2}/body?profile=cdk&export=sales&max=65536&exp={}&kid={kid}&sig={sig}",
        grant.expires_at.0
    );
    let r = send(c.put(&expired).body(csv.clone())).await;
    assert_eq!((r.status, r.code()), (410, "upload_expired"), "{}", r.text);

    // Size limit: declared too large (refused before reading), then chunked past the limit
    // (cut while reading): 413 both, and the URL stays usable until it expires.
    let big = vec![b'x'; 100 * 1024];
    let r = send(c.put(&url2).body(big.clone())).await;
    assert_eq!((r.status, r.code()), (413, "body_too_large"), "{}", r.text);
    assert_eq!(put_chunked(&url2, &big).await, 413);
    assert_eq!(ta.store().upload(&id2).await.unwrap().unwrap().state, UploadState::Pending);
    // Wrong content type: refused as ingest refuses it.
    let r = send(c.put(&url2).header("content-type", "application/pdf").body(csv.clone())).await;
    assert_eq!((r.status, r.code()), (415, "upload_refused"), "{}", r.text);
    // A binary body under a CSV name: refused by the pipeline's sniff (not_csv), 422.
    let r = send(c.put(&url2).header("content-type", "text/csv").body(fixture("image_renamed.csv"))).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["state"], "refused");
    assert_eq!(r.body["errors"][0]["kind"], "not_csv");

    // A customer-PII header: refused and the file deleted; the refusal keeps column names,
    // rows and the SHA-256.
    let r = send(create(&svc, "dealer-a", sales.clone())).await;
    let url3 = at(r.body["url"].as_str().unwrap());
    let id3 = r.body["upload_id"].as_str().unwrap().to_owned();
    let pii = fixture("pii_headers_en.csv");
    let r = send(c.put(&url3).body(pii.clone())).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let cols: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().filter(|e| e["kind"] == "pii_column").map(|e| e["column"].as_str().unwrap()).collect();
    assert!(cols.contains(&"Customer Name") && cols.contains(&"SIN"), "{cols:?}");
    assert!(r.body["errors"].as_array().unwrap().iter().all(|e| e["row"] == 1 || e["row"].is_null()));
    assert_eq!(r.body["sha256"], hex::encode(evidence_core::types::sha256(&[&pii])));
    assert!(!files.tenant(&tid("dealer-a")).unwrap().exists(&id3).unwrap(), "a PII file is deleted");
    assert!(!files_dir.path().join("dealer-a").join(format!("{id3}.evuf")).exists());

    // Paging (four uploads).
    let r = send(c.get(format!("{b}/v1/tenants/dealer-a/uploads?limit=3")).bearer_auth(&auditor)).await;
    assert_eq!(r.body["uploads"].as_array().unwrap().len(), 3, "{}", r.text);
    assert_eq!(r.body["uploads"][0]["upload_id"], id.as_str());
    let next = r.body["next"].as_u64().unwrap();
    let r = send(c.get(format!("{b}/v1/tenants/dealer-a/uploads?from={next}&limit=3")).bearer_auth(&auditor)).await;
    assert_eq!(r.body["uploads"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(r.body["uploads"][0]["upload_id"], id3.as_str());
    assert!(r.body["next"].is_null());

    // Audit log: every upload, refusal and ingestion of tenant A.
    let events = audit_events(&ledger, "dealer-a").await;
    let upload_events: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["action"] == "upload")
        .map(|e| (e["upload_id"].as_str().unwrap_or(""), e["event"].as_str().unwrap_or("")))
        .collect();
    for want in [
        (id.as_str(), "received"),
        (id.as_str(), "ingested"),
        (id.as_str(), "conflict"),
        (id2.as_str(), "expired"),
        (id2.as_str(), "too_large"),
        (id2.as_str(), "refused_type"),
        (id2.as_str(), "refused"),
        (id3.as_str(), "refused"),
    ] {
        assert!(upload_events.contains(&want), "{want:?} missing from {upload_events:?}");
    }
    assert!(events.iter().any(|e| e["route"] == "/v1/tenants/{tenant}/uploads" && e["method"] == "POST"), "POST audited by the guard");
    assert!(audit_events(&ledger, "dealer-b").await.iter().all(|e| e["action"] != "upload"));

    // Metrics by outcome.
    let m = c.get(format!("{b}/metrics")).send().await.unwrap().text().await.unwrap();
    for outcome in ["ingested", "refused", "too_large", "expired", "forbidden", "conflict", "bad_type"] {
        assert!(
            m.lines().any(|l| l.starts_with("ledger_uploads_total{") && l.contains(&format!("outcome=\"{outcome}\""))),
            "{outcome} missing:\n{m}"
        );
    }
    srv.shutdown().await.unwrap();
}

/// A valid CDK sales export of about `bytes`.
pub fn big_csv(bytes: usize) -> Vec<u8> {
    salted_csv(bytes, 0)
}

/// A valid CDK sales export of about `bytes`, distinct per `salt`.
pub fn salted_csv(bytes: usize, salt: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut out =
        b"DealNo,ContractDate,StockNo,VIN,Sale Type,CashPrice,Front Gross,Back Gross,Finance Reserve,APR,Term,Salesman1No,FIMgrNo,Lender\n"
            .to_vec();
    let mut n = 0usize;
    while out.len() < bytes {
        let _ = writeln!(
            out,
            "{},2025-03-07,S{n},1HGCM82633A004352,NEW,32450.00,1200.50,-12.50,350.00,5.99,72,SP104,FI07,TD",
            salt * 1_000_000 + n
        );
        n += 1;
    }
    out
}

/// Several tenants uploading at once: each upload lands in its own tenant's rows, files and
/// log, and a URL of one tenant cannot be replayed into another.
async fn concurrent_tenants<S: Store + Clone>(store: S) {
    let ledger = Ledger::new(store.clone(), signer(), keys());
    let names: Vec<String> = (0..4).map(|i| format!("rooftop-{i}")).collect();
    for t in &names {
        ledger.create_tenant(&tid(t), &TenantConfig::default()).await.unwrap();
    }
    let files_dir = TempDir::new("uploads-files");
    let mut opts = quiet_options(ledger_server::http::HttpLimits::default());
    opts.uploads = Some(settings(files_dir.path().to_owned(), 1 << 20, "http://placeholder"));
    let srv = LocalServer::start(ledger.clone(), opts).await;
    let b = srv.base.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let mut tasks = Vec::new();
    for (i, t) in names.iter().enumerate() {
        let tok = token(&store, Some(t), Role::Service).await;
        let (c, b, t) = (c.clone(), b.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for k in 0..3 {
                let r = send(
                    c.post(format!("{b}/v1/tenants/{t}/uploads"))
                        .bearer_auth(&tok)
                        .json(&json!({"profile": "cdk", "export": "sales", "filename": "x.csv"})),
                )
                .await;
                let url = r.body["url"].as_str().unwrap().replacen("http://placeholder", &b, 1);
                // Replayed into the next tenant: refused.
                let other = format!("rooftop-{}", (i + 1) % 4);
                let r2 = send(c.put(url.replace(&format!("/{t}/"), &format!("/{other}/"))).body(big_csv(1000))).await;
                assert_eq!(r2.status, 403, "{}", r2.text);
                let body = salted_csv(64 * 1024, 1 + i * 10 + k);
                let r = send(c.put(&url).body(body)).await;
                assert_eq!(r.status, 200, "{}", r.text);
                ids.push(r.body["upload_id"].as_str().unwrap().to_owned());
            }
            (t, ids)
        }));
    }
    let files = ledger_server::uploads::files::FileStore::local(files_dir.path(), SecretKey::from_bytes([9; 32]));
    let mut all = Vec::new();
    for task in tasks {
        all.push(task.await.unwrap());
    }
    for (t, ids) in &all {
        let tl = ledger.tenant(&tid(t)).await.unwrap();
        let rows = tl.store().uploads(0, 100).await.unwrap();
        let mut got: Vec<String> = rows.iter().map(|r| r.upload.id.clone()).collect();
        got.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(got, want, "{t} holds exactly its own uploads");
        assert_eq!(tl.store().size().await.unwrap(), 6, "{t}: two claims per upload, nothing from another tenant");
        for (other, other_ids) in &all {
            if other != t {
                for id in other_ids {
                    assert!(tl.store().upload(id).await.unwrap().is_none());
                    assert!(!files.tenant(&tid(t)).unwrap().exists(id).unwrap(), "{t}'s store has no file of {other}");
                }
            }
        }
    }
    // A file moved into another tenant's directory does not open there (per-tenant keys).
    let (t0, ids0) = &all[0];
    let (t1, _) = &all[1];
    std::fs::copy(files_dir.path().join(t0).join(format!("{}.evuf", ids0[0])), files_dir.path().join(t1).join(format!("{}.evuf", ids0[0])))
        .unwrap();
    assert!(files.tenant(&tid(t1)).unwrap().open(&ids0[0]).is_err());
    srv.shutdown().await.unwrap();
}

fn analyze_fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/testdata/analyze").join(name)).unwrap()
}

/// A tenant with a roster: an accepted upload also gets the claims `pipeline analyze` writes
/// for the file (the same library calls), all or nothing when the name-leak gate refuses one.
async fn analyzed_with_a_roster<S: Store + Clone>(store: S) {
    let ledger = Ledger::new(store.clone(), signer(), keys());
    let t = ledger.create_tenant(&tid("dealer-q"), &TenantConfig::default()).await.unwrap();
    let files_dir = TempDir::new("uploads-files");
    let roster = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/testdata/analyze/roster.csv");
    let mut s = settings(files_dir.path().to_owned(), 1 << 20, "http://placeholder");
    s.rosters = vec![(tid("dealer-q"), roster.clone())];
    let mut opts = quiet_options(ledger_server::http::HttpLimits::default());
    opts.uploads = Some(s);
    let srv = LocalServer::start(ledger.clone(), opts).await;
    let b = srv.base.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let tok = token(&store, Some("dealer-q"), Role::Service).await;
    let put = |body: Vec<u8>| {
        let (c, b, tok) = (c.clone(), b.clone(), tok.clone());
        async move {
            let r = send(
                c.post(format!("{b}/v1/tenants/dealer-q/uploads"))
                    .bearer_auth(&tok)
                    .json(&json!({"profile": "quorum", "export": "sales", "filename": "q.csv"})),
            )
            .await;
            send(c.put(r.body["url"].as_str().unwrap().replacen("http://placeholder", &b, 1)).body(body)).await
        }
    };
    let csv = analyze_fixture("quorum_sales.csv");
    let r = put(csv.clone()).await;
    assert_eq!((r.status, r.body["state"].as_str()), (200, Some("ingested")), "{}", r.text);
    let seqs: Vec<u64> = r.body["claims"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    // What `pipeline analyze` would write for this file today.
    let profile = pipeline::ingest::Profile::get(pipeline::ingest::Dms::Quorum, pipeline::ingest::Export::Sales).unwrap();
    let entries = a::parse_roster(std::fs::File::open(&roster).unwrap()).unwrap();
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let as_of = a::date_from_days(i64::try_from(secs / 86_400).unwrap()).unwrap();
    let analysis = a::analyze(&profile, csv.as_slice(), &ledger_server::uploads::service::ingest_options(), as_of).unwrap();
    let run = pipeline::analyze::consumers::RunInfo {
        profile: "quorum".into(),
        export: "sales".into(),
        file_sha256: hex::encode(analysis.report.sha256.unwrap()),
        rows: analysis.report.rows,
    };
    let plan = a::plan(&analysis, &run, &entries, as_of);
    assert!(plan.refused.is_empty() && plan.requests.len() >= 2, "the fixture gives findings and a gate");
    assert_eq!(seqs.len(), 2 + plan.requests.len());
    for (seq, (what, req)) in seqs[2..].iter().zip(&plan.requests) {
        let stored = t.claim_parts(evidence_core::Seq(*seq)).await.unwrap().record.unwrap().1;
        assert_eq!(stored, req.claim, "{what}");
    }
    let upload_claim = t.claim_parts(evidence_core::Seq(seqs[1])).await.unwrap().record.unwrap().1;
    assert_eq!(upload_claim.body["analysis"]["written"], plan.requests.len());
    // A file whose personnel column names a person: ingested, no analysis claim written.
    let r = put(analyze_fixture("quorum_sales_leak.csv")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let seqs: Vec<u64> = r.body["claims"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(seqs.len(), 2, "the leak gate refuses the analysis as a whole");
    let upload_claim = t.claim_parts(evidence_core::Seq(seqs[1])).await.unwrap().record.unwrap().1;
    assert_eq!(upload_claim.body["analysis"]["written"], 0);
    assert!(!upload_claim.body["analysis"]["refused_by_name_leak_gate"].as_array().unwrap().is_empty());
    assert!(!upload_claim.body.to_string().contains("Tremblay"), "the refusal names no one");
    srv.shutdown().await.unwrap();
}

/// A crash after the body was stored and acknowledged as `received` but before ingestion:
/// the sweep ingests it once; a second sweep (or a second replica) adds nothing.
async fn recovery_ingests_once<S: Store + Clone>(store: S) {
    let ledger = Ledger::new(store.clone(), signer(), keys());
    let t = ledger.create_tenant(&tid("dealer-r"), &TenantConfig::default()).await.unwrap();
    let dir = TempDir::new("uploads-recovery");
    let svc = UploadService::new(ledger.clone(), settings(dir.path().to_owned(), 1 << 20, "http://x"));
    let ticket = svc
        .create(
            &tid("dealer-r"),
            &ledger_api::CreateUpload { profile: "cdk".into(), export: "sales".into(), filename: "a.csv".into(), size: None },
        )
        .await
        .unwrap();
    let id = ticket.upload_id;
    // What the PUT did before the crash: claimed, stored, marked received.
    let now = ledger::now();
    assert!(t.store().begin_receive(&id, now, UnixMillis(now.0 + 1000)).await.unwrap());
    let csv = fixture("cdk_sales_valid.csv");
    let s = svc.files().tenant(&tid("dealer-r")).unwrap().put(&id, &mut csv.as_slice(), 1 << 20).unwrap();
    let c = UploadChange { bytes: Some(s.bytes), sha256: Some(hex::encode(s.sha256)), ..UploadChange::default() };
    assert!(t.store().change_upload(&id, UploadState::Receiving, UploadState::Received, &c, now).await.unwrap());
    let before = t.store().size().await.unwrap();
    // Two sweeps at once (two replicas starting), then one more.
    let (a, b) = tokio::join!(svc.recover(), svc.recover());
    assert!(a.unwrap() + b.unwrap() >= 1);
    svc.recover().await.unwrap();
    let row = t.store().upload(&id).await.unwrap().unwrap();
    assert_eq!(row.state, UploadState::Ingested);
    assert_eq!(t.store().size().await.unwrap(), before + 2, "exactly two claims, once");
    let audit = audit_events(&ledger, "dealer-r").await;
    assert_eq!(audit.iter().filter(|e| e["event"] == "ingested" && e["upload_id"] == id.as_str()).count(), 1);
}

test_support::both_backends!(url_path, concurrent_tenants, analyzed_with_a_roster, recovery_ingests_once);
