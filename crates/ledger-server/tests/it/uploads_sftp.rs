//! The SFTP drop directory (issue #25): the watcher on a plain directory (both stores), the
//! resumption of every step a crash can interrupt, and a real OpenSSH `sshd` with the real
//! `sftp` batch client (skipped with a printed reason when either is missing, unless
//! `SFTP_TESTS=require`).

#![allow(clippy::too_many_lines)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ledger::Ledger;
use ledger::crypto::SecretKey;
use ledger::store::uploads::{NewUpload, UploadState, UploadStore as _};
use ledger::store::{Store, TenantConfig};
use ledger_server::uploads::sftp::{DropDir, Watcher};
use ledger_server::uploads::url::{UrlKey, UrlKeys};
use ledger_server::uploads::{UploadService, UploadSettings};
use serde_json::Value;
use test_support::TempDir;
use test_support::fixtures::{keys, signer, tid};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/testdata/csv").join(name)).unwrap()
}

fn settings(dir: PathBuf, stable: Duration) -> UploadSettings {
    UploadSettings {
        files: ledger_server::uploads::files::FileStore::local(dir, SecretKey::from_bytes([9; 32])),
        url_keys: UrlKeys::new(vec![UrlKey::new("k1", SecretKey::from_bytes([7; 32])).unwrap()]).unwrap(),
        public_url: "http://x".into(),
        expiry_ms: 60_000,
        max_bytes: 1 << 20,
        sftp: Vec::new(),
        rosters: Vec::new(),
        sftp_stable: stable,
        sftp_poll: Duration::from_millis(50),
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn errors_json(d: &DropDir, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(d.refused().join(format!("{name}.errors.json"))).unwrap()).unwrap()
}

async fn ingest_claims<T: ledger::store::TenantStore>(t: &ledger::TenantLedger<T>) -> Vec<Value> {
    let mut out = Vec::new();
    for seq in 0..t.store().size().await.unwrap() {
        if let Some((_, c)) = t.claim_parts(evidence_core::Seq(seq)).await.unwrap().record
            && c.kind == evidence_core::ClaimKind::IngestRecord
        {
            out.push(c.body);
        }
    }
    out
}

async fn watcher_on_a_plain_directory<S: Store + Clone>(store: S) {
    let ledger = Ledger::new(store.clone(), signer(), keys());
    let t = ledger.create_tenant(&tid("dealer-s"), &TenantConfig::default()).await.unwrap();
    ledger.create_tenant(&tid("dealer-o"), &TenantConfig::default()).await.unwrap();
    let files = TempDir::new("drop-files");
    let root = TempDir::new("drop-root");
    // With a stability wait of an hour, the first pass takes nothing (every file is new to
    // it); with a zero wait, the next watcher takes every complete file at once.
    let svc = Arc::new(UploadService::new(ledger.clone(), settings(files.path().to_owned(), Duration::from_hours(1))));
    let d = DropDir { tenant: tid("dealer-s"), root: root.path().to_owned() };
    d.ensure().unwrap();
    std::fs::write(d.incoming().join("cdk_sales_2026-12-01.csv"), fixture("cdk_sales_valid.csv")).unwrap();
    std::fs::write(d.incoming().join("cdk_sales_pii.csv"), fixture("pii_headers_en.csv")).unwrap();
    std::fs::write(d.incoming().join("cdk_sales_late.csv.part"), b"DealNo,").unwrap();
    std::fs::write(d.incoming().join("deals.csv"), fixture("cdk_sales_valid.csv")).unwrap();
    let mut w = Watcher::new(Arc::clone(&svc), vec![d.clone()]);
    assert_eq!(w.pass().await, 0, "nothing is taken before it has been stable for the configured time");
    assert_eq!(names(&d.incoming()).len(), 4);

    let svc = Arc::new(UploadService::new(ledger.clone(), settings(files.path().to_owned(), Duration::ZERO)));
    let mut w = Watcher::new(Arc::clone(&svc), vec![d.clone()]);
    assert_eq!(w.pass().await, 3);
    assert_eq!(names(&d.incoming()), ["cdk_sales_late.csv.part"], "a .part upload is never taken");
    assert!(names(&d.processing()).is_empty());
    assert_eq!(names(&d.done()), ["cdk_sales_2026-12-01.csv"]);
    assert_eq!(
        names(&d.refused()),
        ["cdk_sales_pii.csv.errors.json", "deals.csv", "deals.csv.errors.json"],
        "the PII file itself is deleted"
    );
    let pii = errors_json(&d, "cdk_sales_pii.csv");
    assert_eq!(pii["deleted"], true);
    assert_eq!(pii["file_sha256"], hex::encode(evidence_core::types::sha256(&[&fixture("pii_headers_en.csv")])));
    let cols: Vec<&str> =
        pii["errors"].as_array().unwrap().iter().filter(|e| e["kind"] == "pii_column").map(|e| e["column"].as_str().unwrap()).collect();
    assert!(cols.contains(&"Customer Name"), "{pii}");
    assert_eq!(errors_json(&d, "deals.csv")["errors"][0]["kind"], "unknown_profile");

    // The rows, the claims (the pipeline's and the upload's, naming the drop path), the store.
    let rows = t.store().uploads(0, 100).await.unwrap();
    assert_eq!(rows.len(), 2);
    let ok = rows.iter().find(|r| r.state == UploadState::Ingested).unwrap();
    assert_eq!(ok.upload.via, "sftp");
    assert_eq!(ok.upload.source, "incoming/cdk_sales_2026-12-01.csv");
    let refused = rows.iter().find(|r| r.state == UploadState::Refused).unwrap();
    let tf = svc.files().tenant(&tid("dealer-s")).unwrap();
    assert!(tf.exists(&ok.upload.id).unwrap(), "accepted files stay in the encrypted store");
    assert!(!tf.exists(&refused.upload.id).unwrap(), "PII files are deleted from the store too");
    let claims = ingest_claims(&t).await;
    assert_eq!(claims.len(), 4);
    assert!(
        claims
            .iter()
            .any(|c| c["schema"] == "ledger-server/upload/v1" && c["via"] == "sftp" && c["path"] == "incoming/cdk_sales_2026-12-01.csv")
    );
    assert!(claims.iter().any(|c| c["schema"] == "pipeline/ingest_record/v1" && c["accepted"] == false));
    // Another tenant's store got nothing.
    let o = ledger.tenant(&tid("dealer-o")).await.unwrap();
    assert!(o.store().uploads(0, 10).await.unwrap().is_empty());

    // A same-named second drop goes beside the first, not over it.
    std::fs::write(d.incoming().join("cdk_sales_2026-12-01.csv"), fixture("cdk_sales_valid.csv")).unwrap();
    assert_eq!(w.pass().await, 1);
    assert_eq!(names(&d.done()).len(), 2);
    // Same bytes: the pipeline's claim is idempotent on the file hash; the upload claim is new.
    assert_eq!(ingest_claims(&t).await.len(), 5);
}

/// Every point a crash can stop drop processing at, resumed by the next pass: nothing lost,
/// nothing ingested twice.
async fn drop_steps_resume_after_a_crash<S: Store + Clone>(store: S) {
    let ledger = Ledger::new(store.clone(), signer(), keys());
    let t = ledger.create_tenant(&tid("dealer-k"), &TenantConfig::default()).await.unwrap();
    let files = TempDir::new("drop-files");
    let root = TempDir::new("drop-root");
    let svc = Arc::new(UploadService::new(ledger.clone(), settings(files.path().to_owned(), Duration::ZERO)));
    let d = DropDir { tenant: tid("dealer-k"), root: root.path().to_owned() };
    d.ensure().unwrap();
    let csv = fixture("cdk_sales_valid.csv");
    let id = |n: u8| format!("s{}", hex::encode([n; 16]));
    // 1. Crash after the rename into processing/, before the row: no row yet.
    std::fs::write(d.processing().join(format!("{}__cdk_sales_a.csv", id(1))), &csv).unwrap();
    // 2. Crash after the row, before the file was stored: row pending.
    std::fs::write(d.processing().join(format!("{}__cdk_sales_b.csv", id(2))), &csv).unwrap();
    let row = |i: &str, name: &str| NewUpload {
        id: i.to_owned(),
        via: "sftp".into(),
        source: format!("incoming/{name}"),
        profile: "cdk".into(),
        export: "sales".into(),
        max_bytes: 1 << 20,
        expires_at: evidence_core::UnixMillis(0),
        created_at: ledger::now(),
        state: UploadState::Pending,
        bytes: None,
        sha256: None,
    };
    t.store().create_upload(&row(&id(2), "cdk_sales_b.csv")).await.unwrap();
    // 3. Crash after it was stored and received, before ingestion.
    std::fs::write(d.processing().join(format!("{}__cdk_sales_c.csv", id(3))), &csv).unwrap();
    t.store().create_upload(&row(&id(3), "cdk_sales_c.csv")).await.unwrap();
    let s = svc.files().tenant(&tid("dealer-k")).unwrap().put(&id(3), &mut csv.as_slice(), 1 << 20).unwrap();
    let c = ledger::store::uploads::UploadChange { bytes: Some(s.bytes), sha256: Some(hex::encode(s.sha256)), ..Default::default() };
    assert!(t.store().change_upload(&id(3), UploadState::Pending, UploadState::Received, &c, ledger::now()).await.unwrap());
    // 4. Crash after ingestion, before the move to done/: run the ingestion now, leave the file.
    std::fs::write(d.processing().join(format!("{}__cdk_sales_d.csv", id(4))), &csv).unwrap();
    t.store().create_upload(&row(&id(4), "cdk_sales_d.csv")).await.unwrap();
    let s = svc.files().tenant(&tid("dealer-k")).unwrap().put(&id(4), &mut csv.as_slice(), 1 << 20).unwrap();
    let c = ledger::store::uploads::UploadChange { bytes: Some(s.bytes), sha256: Some(hex::encode(s.sha256)), ..Default::default() };
    assert!(t.store().change_upload(&id(4), UploadState::Pending, UploadState::Received, &c, ledger::now()).await.unwrap());
    svc.ingest(&t, &id(4)).await.unwrap();
    let claims_before = ingest_claims(&t).await.len();
    assert_eq!(claims_before, 2);

    let mut w = Watcher::new(Arc::clone(&svc), vec![d.clone()]);
    assert_eq!(w.pass().await, 4);
    assert!(names(&d.processing()).is_empty());
    assert_eq!(names(&d.done()), ["cdk_sales_a.csv", "cdk_sales_b.csv", "cdk_sales_c.csv", "cdk_sales_d.csv"]);
    let rows = t.store().uploads(0, 100).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.state == UploadState::Ingested), "{rows:?}");
    // One upload claim per file; the pipeline's claim once for the (identical) bytes.
    let claims = ingest_claims(&t).await;
    assert_eq!(claims.iter().filter(|c| c["schema"] == "ledger-server/upload/v1").count(), 4);
    assert_eq!(claims.iter().filter(|c| c["schema"] == "pipeline/ingest_record/v1").count(), 1);
    // Nothing more on further passes.
    assert_eq!(w.pass().await, 0);
    assert_eq!(ingest_claims(&t).await.len(), claims.len());
}

test_support::both_backends!(watcher_on_a_plain_directory, drop_steps_resume_after_a_crash);

/// Skips (printing why) when a tool is missing, unless `SFTP_TESTS=require`.
fn tools_or_skip() -> bool {
    let missing: Vec<&str> =
        ["/usr/sbin/sshd", "/usr/bin/sftp", "/usr/bin/ssh-keygen"].into_iter().filter(|p| !Path::new(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(std::env::var("SFTP_TESTS").as_deref() != Ok("require"), "SFTP_TESTS=require but missing: {missing:?}");
    println!("SKIPPED: the real sshd/sftp test needs {missing:?} (install openssh-server and openssh-client)");
    false
}

fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real OpenSSH server on a loopback port with a test host key and key-only auth; the
/// account is chrooted to the tenant's drop root (as root, which this test needs for the
/// chroot: otherwise it runs without `ChrootDirectory`, as the only account a non-root
/// sshd can serve) and forced into `internal-sftp`; the real `sftp -b` client uploads with a
/// `.part` rename and a direct `put`; the watcher ingests both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_sshd_and_sftp_batch_client() {
    if !tools_or_skip() {
        return;
    }
    let (store, _g) = test_support::fixtures::sqlite().await;
    let ledger = Ledger::new(store.clone(), signer(), keys());
    let t = ledger.create_tenant(&tid("dealer-x"), &TenantConfig::default()).await.unwrap();
    // The chroot and every directory above it must be root-owned and not group/other
    // writable: /tmp is world-writable, so the test tree lives in the target directory.
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sftp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let cleanup = TempDirPath(base.clone());
    let chroot = base.join("chroot");
    let root = chroot.join("drop");
    let d = DropDir { tenant: tid("dealer-x"), root: root.clone() };
    d.ensure().unwrap();
    for p in [&base, &chroot, &root] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let keys_dir = base.join("keys");
    std::fs::create_dir_all(&keys_dir).unwrap();
    std::fs::set_permissions(&keys_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let host_key = keys_dir.join("host_ed25519");
    let client_key = keys_dir.join("client_ed25519");
    for k in [&host_key, &client_key] {
        run(std::process::Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(k));
    }
    let authorized = keys_dir.join("authorized_keys");
    std::fs::copy(client_key.with_extension("pub"), &authorized).unwrap();
    std::fs::set_permissions(&authorized, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let user = whoami();
    let as_root = user == "root";
    let chroot_line = if as_root { format!("    ChrootDirectory {}\n", chroot.display()) } else { String::new() };
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n\
         Subsystem sftp internal-sftp\nMatch User {user}\n{chroot_line}    ForceCommand internal-sftp\n    AllowTcpForwarding no\n    X11Forwarding no\n",
        host_key.display(),
        base.join("sshd.pid").display(),
        authorized.display(),
    );
    if as_root {
        // sshd's privilege-separation directory (the Debian service creates it at start).
        std::fs::create_dir_all("/run/sshd").unwrap();
    }
    let config_path = base.join("sshd_config");
    std::fs::write(&config_path, config).unwrap();
    let log = base.join("sshd.log");
    let sshd = Killed(
        std::process::Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config_path)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Inside the chroot the drop root is /drop; without one it is its full path.
    let remote = if as_root { "/drop/incoming".to_owned() } else { d.incoming().display().to_string() };
    let local = base.join("local");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(local.join("cdk_sales_1.csv"), fixture("cdk_sales_valid.csv")).unwrap();
    std::fs::write(local.join("cdk_sales_pii.csv"), fixture("pii_headers_en.csv")).unwrap();
    let batch = base.join("batch");
    std::fs::write(
        &batch,
        format!(
            "cd {remote}\nput {} cdk_sales_1.csv.part\nrename cdk_sales_1.csv.part cdk_sales_1.csv\nput {} cdk_sales_pii.csv\nls -l\n",
            local.join("cdk_sales_1.csv").display(),
            local.join("cdk_sales_pii.csv").display()
        ),
    )
    .unwrap();
    let known = base.join("known_hosts");
    let host_pub = std::fs::read_to_string(host_key.with_extension("pub")).unwrap();
    std::fs::write(&known, format!("[127.0.0.1]:{port} {host_pub}")).unwrap();
    let out = std::process::Command::new("/usr/bin/sftp")
        .args(["-b"])
        .arg(&batch)
        .args(["-P", &port.to_string(), "-i"])
        .arg(&client_key)
        .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o"])
        .arg(format!("UserKnownHostsFile={}", known.display()))
        .arg(format!("{user}@127.0.0.1"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sftp: {}\n{}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // Password login is refused (key-only): a client offering no key gets nowhere.
    let nokey = std::process::Command::new("/usr/bin/sftp")
        .args(["-b", "/dev/null", "-P", &port.to_string(), "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no", "-o"])
        .arg(format!("UserKnownHostsFile={}", known.display()))
        .arg(format!("{user}@127.0.0.1"))
        .output()
        .unwrap();
    assert!(!nokey.status.success(), "a login without the key must fail");
    if as_root {
        // Chrooted: the account cannot see outside its root.
        let esc = base.join("escape");
        std::fs::write(&esc, format!("ls {}\n", keys_dir.display())).unwrap();
        let o = std::process::Command::new("/usr/bin/sftp")
            .arg("-b")
            .arg(&esc)
            .args(["-P", &port.to_string(), "-i"])
            .arg(&client_key)
            .args(["-o", "BatchMode=yes", "-o"])
            .arg(format!("UserKnownHostsFile={}", known.display()))
            .arg(format!("{user}@127.0.0.1"))
            .output()
            .unwrap();
        assert!(!o.status.success(), "the chroot hides the host's directories: {}", String::from_utf8_lossy(&o.stdout));
    } else {
        println!("NOTE: not root, so sshd runs without ChrootDirectory (see docs/sftp-drop.md for the production Match block)");
    }
    drop(sshd);

    let files = TempDir::new("drop-files");
    let svc = Arc::new(UploadService::new(ledger.clone(), settings(files.path().to_owned(), Duration::ZERO)));
    let mut w = Watcher::new(svc, vec![d.clone()]);
    assert_eq!(w.pass().await, 2);
    assert_eq!(names(&d.done()), ["cdk_sales_1.csv"]);
    assert_eq!(names(&d.refused()), ["cdk_sales_pii.csv.errors.json"]);
    assert_eq!(std::fs::read(d.done().join("cdk_sales_1.csv")).unwrap(), fixture("cdk_sales_valid.csv"), "the bytes sftp sent");
    let rows = t.store().uploads(0, 10).await.unwrap();
    assert_eq!(rows.iter().filter(|r| r.state == UploadState::Ingested).count(), 1);
    assert_eq!(rows.iter().filter(|r| r.state == UploadState::Refused).count(), 1);
    drop(cleanup);
}

fn whoami() -> String {
    let out = std::process::Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct TempDirPath(PathBuf);

impl Drop for TempDirPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
