//! The S3 upload file store (`[uploads.s3]`, issue #25) against a local S3 emulator we did
//! not write (moto's `moto_server`, see `test_support::s3`): the backend alone (round trips
//! across the part size, refused bodies leaving no object and no open multipart upload,
//! tenant isolation by prefix and key, typed errors for a missing bucket), then the signed-URL
//! path end to end on SQLite and PostgreSQL with the files in the bucket. Skipped with a
//! printed reason when moto is missing, unless `S3_TESTS=require`.

use std::sync::Arc;

use ledger::Ledger;
use ledger::crypto::SecretKey;
use ledger::store::uploads::UploadStore as _;
use ledger::store::{Store, TenantConfig};
use ledger_server::auth::Role;
use ledger_server::uploads::files::s3::PART_BYTES;
use ledger_server::uploads::files::{BlobKey, Blobs as _, CHUNK_BYTES, FileError, FileStore, S3Blobs, S3Config};
use serde_json::json;
use test_support::MotoS3;
use test_support::fixtures::{keys, signer, tid};
use test_support::server::{quiet_options, token};
use test_support::{LocalServer, TempDir};

use crate::uploads::{big_csv, fixture, send, settings};

fn config(moto: &MotoS3, prefix: &str) -> S3Config {
    toml::from_str(&moto.config_toml(prefix)).unwrap()
}

fn data(n: usize, salt: u8) -> Vec<u8> {
    (0..n).map(|i| u8::try_from(i % 251).unwrap() ^ salt).collect()
}

/// A body that fails after `.0` bytes (a client that went away).
struct Failing(usize);

impl std::io::Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(b'x');
        self.0 -= n;
        Ok(n)
    }
}

fn read_all(mut r: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).map(|_| v)
}

#[test]
fn s3_backend_round_trips_refuses_and_isolates() {
    let Some(moto) = MotoS3::start("uploads-backend") else { return };
    let blobs = Arc::new(S3Blobs::new(&config(&moto, "uploads")).unwrap());
    blobs.check().expect("the bucket answers");
    let store = FileStore::new(blobs.clone(), SecretKey::from_bytes([5; 32]));
    let a = store.tenant(&tid("dealer-a")).unwrap();
    let b = store.tenant(&tid("dealer-b")).unwrap();

    // Round trips: empty, tiny, one chunk and a bit, just over one part, several parts.
    for (i, n) in [0, 1, CHUNK_BYTES + 1, PART_BYTES + 5, 2 * PART_BYTES + 3 * CHUNK_BYTES + 17].into_iter().enumerate() {
        let body = data(n, u8::try_from(i).unwrap());
        let name = format!("f{i}");
        let s = a.put(&name, &mut body.as_slice(), u64::MAX).unwrap();
        assert_eq!(s.bytes, n as u64);
        assert_eq!(s.sha256, evidence_core::types::sha256(&[&body]));
        assert_eq!(read_all(a.open(&name).unwrap()).unwrap(), body, "size {n}");
        assert!(a.exists(&name).unwrap());
        // In the bucket under the tenant's prefix, as ciphertext only.
        let raw = read_all(blobs.get(BlobKey { tenant: a.tenant(), name: &name }).unwrap()).unwrap();
        assert!(raw.len() > n, "size {n}: header and tags");
        if n >= 64 {
            assert!(!raw.windows(64).any(|w| w == &body[..64]), "size {n}: plaintext in the bucket");
        }
    }
    let keys = moto.keys("uploads/");
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(
        keys.iter().all(|k| k.starts_with("uploads/dealer-a/f") && k.rsplit_once('.').is_some_and(|(_, ext)| ext == "evuf")),
        "{keys:?}"
    );
    assert_eq!(moto.open_multipart_uploads(), 0, "every multipart upload completed");

    // Over the limit, in the first part or after parts were sent: refused, nothing kept.
    let big = data(2 * PART_BYTES + 100, 9);
    for (name, limit) in [("small-over", 1000u64), ("parts-over", (PART_BYTES + PART_BYTES / 2) as u64)] {
        let e = a.put(name, &mut big.as_slice(), limit).unwrap_err();
        assert!(matches!(e, FileError::TooLarge { .. }), "{name}: {e}");
        assert!(!a.exists(name).unwrap(), "{name} left an object");
    }
    assert_eq!(moto.open_multipart_uploads(), 0, "the refused multipart upload was aborted");

    // A body failing mid-way (a client that went away): the same.
    let e = a.put("broken", &mut Failing(PART_BYTES + 1), u64::MAX).unwrap_err();
    assert!(matches!(&e, FileError::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe), "{e}");
    assert!(!a.exists("broken").unwrap());
    assert_eq!(moto.open_multipart_uploads(), 0);

    // Tenant isolation: B's handle names only B's prefix, and A's object copied under B's
    // key (or another name) does not open there.
    assert!(matches!(b.open("f1"), Err(FileError::NotFound)));
    let raw = read_all(blobs.get(BlobKey { tenant: a.tenant(), name: "f2" }).unwrap()).unwrap();
    let copy = |tenant: &evidence_core::TenantId, name: &str| {
        blobs
            .put(BlobKey { tenant, name }, &mut |w| {
                w.write_all(&raw)?;
                Ok(ledger_server::uploads::files::Stored { bytes: 0, sha256: [0; 32] })
            })
            .unwrap();
    };
    copy(b.tenant(), "f2");
    assert!(matches!(b.open("f2"), Err(FileError::Corrupt(_))), "another tenant's key does not open it");
    copy(a.tenant(), "moved");
    assert!(matches!(a.open("moved"), Err(FileError::Corrupt(_))), "bound to its name");
    let other_master = FileStore::new(blobs.clone(), SecretKey::from_bytes([6; 32])).tenant(&tid("dealer-a")).unwrap();
    assert!(matches!(other_master.open("f2"), Err(FileError::Corrupt(_))));
    for bad in ["../dealer-b/f2", "a/b", "", "f.evuf"] {
        assert!(matches!(a.put(bad, &mut &b"x"[..], 10), Err(FileError::BadName)), "{bad:?}");
    }

    // Deletes are idempotent.
    a.delete("f2").unwrap();
    a.delete("f2").unwrap();
    assert!(!a.exists("f2").unwrap());
    assert!(matches!(a.open("f2"), Err(FileError::NotFound)));

    // A bucket that does not exist: typed errors, no panic.
    let mut missing = config(&moto, "uploads");
    missing.bucket = "no-such-bucket".into();
    let gone = S3Blobs::new(&missing).unwrap();
    assert!(matches!(gone.check(), Err(FileError::ObjectStore(_))), "{:?}", gone.check());
    let gone = FileStore::new(Arc::new(gone), SecretKey::from_bytes([5; 32])).tenant(&tid("dealer-a")).unwrap();
    for n in [7, PART_BYTES + 1] {
        let e = gone.put("f", &mut data(n, 1).as_slice(), u64::MAX).unwrap_err();
        assert!(matches!(e, FileError::ObjectStore(_)), "{n} bytes into a missing bucket: {e:?}");
    }
}

/// The signed-URL path with the files in the bucket: accepted exports stay there encrypted
/// (one `PUT` or a multipart upload), a PII file is refused and its object deleted, and
/// nothing reaches another tenant's prefix.
async fn url_path_into_s3<S: Store + Clone>(store: S) {
    let Some(moto) = MotoS3::start("uploads-e2e") else { return };
    let ledger = Ledger::new(store.clone(), signer(), keys());
    for t in ["dealer-a", "dealer-b"] {
        ledger.create_tenant(&tid(t), &TenantConfig::default()).await.unwrap();
    }
    let blobs = Arc::new(S3Blobs::new(&config(&moto, "rooftops")).unwrap());
    let unused = TempDir::new("uploads-s3-unused");
    let mut settings = settings(unused.path().to_owned(), 32 << 20, "http://placeholder");
    settings.files = FileStore::new(blobs.clone(), SecretKey::from_bytes([9; 32]));
    let mut opts = quiet_options(ledger_server::http::HttpLimits::default());
    opts.uploads = Some(settings.clone());
    let srv = LocalServer::start(ledger.clone(), opts).await;
    let b = srv.base.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let svc = token(&store, Some("dealer-a"), Role::Service).await;
    let put = async |body: Vec<u8>| {
        let create = c.post(format!("{b}/v1/tenants/dealer-a/uploads")).bearer_auth(&svc);
        let ticket = send(create.json(&json!({"profile": "cdk", "export": "sales", "filename": "x.csv"}))).await;
        assert_eq!(ticket.status, 201, "{}", ticket.text);
        let url = ticket.body["url"].as_str().unwrap().replacen("http://placeholder", &b, 1);
        let out = send(c.put(url).header("content-type", "text/csv").body(body)).await;
        (out.status, out.body, ticket.body["upload_id"].as_str().unwrap().to_owned())
    };
    let files = settings.files.tenant(&tid("dealer-a")).unwrap();

    // A small export: one PUT into the bucket, ingested, read back whole.
    let csv = fixture("cdk_sales_valid.csv");
    let (status, out, id) = put(csv.clone()).await;
    assert_eq!((status, out["state"].as_str()), (200, Some("ingested")), "{out}");
    assert!(moto.keys("rooftops/dealer-a/").contains(&format!("rooftops/dealer-a/{id}.evuf")));
    let raw = read_all(blobs.get(BlobKey { tenant: &tid("dealer-a"), name: &id }).unwrap()).unwrap();
    assert!(!raw.windows(6).any(|w| w == b"DealNo"), "the object is not encrypted");
    let back = tokio::task::spawn_blocking(move || read_all(files.open(&id).unwrap()).unwrap()).await.unwrap();
    assert_eq!(back, csv);

    // A 10 MiB export: a multipart upload, completed, ingested.
    let big = big_csv(10 << 20);
    let (status, out, id) = put(big.clone()).await;
    assert_eq!((status, out["state"].as_str()), (200, Some("ingested")), "{out}");
    assert_eq!(out["bytes"], big.len());
    assert_eq!(moto.open_multipart_uploads(), 0);
    let files = settings.files.tenant(&tid("dealer-a")).unwrap();
    let back = tokio::task::spawn_blocking(move || read_all(files.open(&id).unwrap()).unwrap()).await.unwrap();
    assert!(back == big, "the multipart object reads back as sent");

    // A customer-PII header: refused, and the object is deleted from the bucket.
    let (status, out, id) = put(fixture("pii_headers_en.csv")).await;
    assert_eq!(out["state"], "refused", "{status}: {out}");
    assert!(!moto.keys("rooftops/dealer-a/").contains(&format!("rooftops/dealer-a/{id}.evuf")), "the PII file is gone");
    let ta = ledger.tenant(&tid("dealer-a")).await.unwrap();
    assert_eq!(ta.store().upload(&id).await.unwrap().unwrap().state.as_str(), "refused");

    // Nothing of tenant A under tenant B's prefix.
    assert!(moto.keys("rooftops/dealer-b/").is_empty());
    assert_eq!(moto.keys("rooftops/").len(), 2, "the two accepted files");
}

test_support::both_backends!(url_path_into_s3);
