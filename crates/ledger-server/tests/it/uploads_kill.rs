//! SIGKILL and restart of the real `ledger-server serve` binary (on SQLite and PostgreSQL)
//! during a streamed upload and during drop-directory processing: no acknowledged upload is
//! lost, the killed upload was never acknowledged and is not ingested, and every drop file
//! ends in `done/` exactly once with its claims written exactly once.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ledger::Ledger;
use ledger::crypto::{FileKeyring, MasterKey};
use ledger::store::uploads::{UploadState, UploadStore as _};
use ledger::store::{Store, TenantStore as _};
use serde_json::{Value, json};
use test_support::fixtures::tid;
use test_support::{PgHarness, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_ledger-server");
const NAME: &str = "ledger.uploads.test";
const FILES: usize = 12;

/// A valid CDK sales export of about `bytes`, distinct per `salt`.
pub fn sales_csv(bytes: usize, salt: usize) -> Vec<u8> {
    let mut out =
        b"DealNo,ContractDate,StockNo,VIN,Sale Type,CashPrice,Front Gross,Back Gross,Finance Reserve,APR,Term,Salesman1No,FIMgrNo,Lender\n"
            .to_vec();
    let mut n = 0usize;
    while out.len() < bytes {
        let _ = writeln!(
            out,
            "{},2025-03-07,S{n},1HGCM82633A004352,NEW,32450.00,1200.50,-12.50,350.00,5.99,72,SP104,FI07,TD",
            salt * 10_000_000 + n
        );
        n += 1;
    }
    out
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).env_remove("LEDGER_CONFIG").output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    /// SIGKILL (`Child::kill` sends SIGKILL on Unix) and reap.
    fn sigkill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

struct World {
    config: PathBuf,
    port: u16,
    drop_root: PathBuf,
    log: PathBuf,
}

fn world(dir: &Path, store_toml: &str) -> World {
    let signer = evidence_core::note::NoteSigner::from_seed(NAME, &[41; 32]).unwrap();
    std::fs::write(dir.join("ledger.skey"), signer.to_skey()).unwrap();
    std::fs::write(dir.join("master.key"), "6b".repeat(32)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let drop_root = dir.join("sftp/dealer-k");
    let text = format!(
        "listen = \"127.0.0.1:{port}\"\nledger_name = \"{NAME}\"\nledger_key = \"{d}/ledger.skey\"\nmaster_key_file = \"{d}/master.key\"\n{store_toml}\n\
         [uploads]\ndir = \"{d}/uploads\"\npublic_url = \"http://127.0.0.1:{port}\"\nmax_bytes = 67108864\nsftp_stable_ms = 0\nsftp_poll_ms = 20\n\
         [[uploads.sftp]]\ntenant = \"dealer-k\"\nroot = \"{r}\"\n",
        d = dir.display(),
        r = drop_root.display(),
    );
    let config = dir.join("ledger.toml");
    std::fs::write(&config, text).unwrap();
    World { config, port, drop_root, log: dir.join("serve.log") }
}

fn serve(w: &World) -> Proc {
    let child = Command::new(BIN)
        .args(["serve", "--config", w.config.to_str().unwrap()])
        .env("LEDGER_LOG", "warn")
        .env_remove("LEDGER_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::OpenOptions::new().create(true).append(true).open(&w.log).unwrap())
        .spawn()
        .unwrap();
    let p = Proc(child);
    let c = http();
    let started = Instant::now();
    while !c.get(format!("http://127.0.0.1:{}/readyz", w.port)).send().is_ok_and(|r| r.status() == 200) {
        assert!(started.elapsed() < Duration::from_mins(1), "serve not ready:\n{}", std::fs::read_to_string(&w.log).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(50));
    }
    p
}

fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().timeout(Duration::from_mins(2)).build().unwrap()
}

fn ticket(w: &World, token: &str) -> Value {
    let r = http()
        .post(format!("http://127.0.0.1:{}/v1/tenants/dealer-k/uploads", w.port))
        .bearer_auth(token)
        .json(&json!({"profile": "cdk", "export": "sales", "filename": "deals.csv"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().unwrap()
}

fn kill_test<S: Store + Clone>(rt: &tokio::runtime::Runtime, dir: &Path, store_toml: &str, keyring: &Path, open: impl Fn() -> S) {
    let w = world(dir, store_toml);
    let cfg = w.config.to_str().unwrap();
    run(&["tenant", "create", "dealer-k", "--config", cfg]);
    let token = run(&["token", "create", "--tenant", "dealer-k", "--role", "service", "--config", cfg]).trim().to_owned();

    // 1. An acknowledged upload, then one killed mid-stream.
    let server = serve(&w);
    let acked = ticket(&w, &token);
    let acked_body = sales_csv(256 * 1024, 1);
    let r = http().put(acked["url"].as_str().unwrap()).body(acked_body.clone()).send().unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let killed = ticket(&w, &token);
    let url = killed["url"].as_str().unwrap().strip_prefix(&format!("http://127.0.0.1:{}", w.port)).unwrap().to_owned();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", w.port)).unwrap();
    write!(s, "PUT {url} HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n", 8 << 20).unwrap();
    let half = sales_csv(4 << 20, 2);
    s.write_all(&half).unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.sigkill();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty() || !String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 200"), "the killed upload was never acknowledged");

    // 2. Drop files, killed while the watcher processes them.
    let incoming = w.drop_root.join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let server = serve(&w);
    let bodies: Vec<Vec<u8>> = (0..FILES).map(|i| sales_csv(2 << 20, 100 + i)).collect();
    for (i, b) in bodies.iter().enumerate() {
        // Written as .part and renamed, as a careful SFTP client does.
        let part = incoming.join(format!("cdk_sales_{i:02}.csv.part"));
        std::fs::write(&part, b).unwrap();
        std::fs::rename(&part, incoming.join(format!("cdk_sales_{i:02}.csv"))).unwrap();
    }
    let done = w.drop_root.join("done");
    let started = Instant::now();
    while std::fs::read_dir(&done).map_or(0, Iterator::count) == 0 {
        assert!(
            started.elapsed() < Duration::from_mins(2),
            "no drop file processed:\n{}",
            std::fs::read_to_string(&w.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    server.sigkill();
    let at_kill = std::fs::read_dir(&done).unwrap().count();
    let in_processing = std::fs::read_dir(w.drop_root.join("processing")).unwrap().count();
    println!("drop: {at_kill} of {FILES} files done, {in_processing} in processing/ when killed");

    // Restart: the sweep and the watcher finish everything.
    let server = serve(&w);
    let started = Instant::now();
    while std::fs::read_dir(&done).unwrap().count() < FILES {
        assert!(
            started.elapsed() < Duration::from_mins(3),
            "drop files not finished:\n{}",
            std::fs::read_to_string(&w.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The acknowledged upload is still ingested.
    let r: Value = http()
        .get(format!("http://127.0.0.1:{}/v1/tenants/dealer-k/uploads/{}", w.port, acked["upload_id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(r["state"], "ingested", "{r}");
    // A fresh URL works after the restart.
    let again = ticket(&w, &token);
    let r = http().put(again["url"].as_str().unwrap()).body(sales_csv(64 * 1024, 3)).send().unwrap();
    assert_eq!(r.status(), 200);
    std::thread::sleep(Duration::from_millis(200));
    drop(server);

    // The store, read directly: every drop file exactly once, every claim exactly once.
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(&std::fs::read(done.join(format!("cdk_sales_{i:02}.csv"))).unwrap(), b, "file {i} in done/ intact");
    }
    assert_eq!(std::fs::read_dir(&done).unwrap().count(), FILES, "no file twice in done/");
    assert_eq!(std::fs::read_dir(w.drop_root.join("processing")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(&incoming).unwrap().count(), 0);
    let store = open();
    let keys = FileKeyring::open(MasterKey::from_file(&dir.join("master.key")).unwrap(), keyring).unwrap();
    let signer = evidence_core::note::NoteSigner::from_seed(NAME, &[41; 32]).unwrap();
    let ledger = Ledger::new(store, signer, keys);
    rt.block_on(async {
        let t = ledger.tenant(&tid("dealer-k")).await.unwrap();
        let rows = t.store().uploads(0, 1000).await.unwrap();
        let killed_row = rows.iter().find(|r| r.upload.id == killed["upload_id"].as_str().unwrap()).unwrap();
        assert!(
            matches!(killed_row.state, UploadState::Receiving | UploadState::Pending),
            "the killed upload is not received: {killed_row:?}"
        );
        assert!(killed_row.claims.is_none());
        let drops: Vec<_> = rows.iter().filter(|r| r.upload.via == "sftp").collect();
        assert_eq!(drops.len(), FILES, "one row per drop file: {drops:?}");
        assert!(drops.iter().all(|r| r.state == UploadState::Ingested));
        let mut seqs: Vec<u64> = Vec::new();
        for r in rows.iter().filter(|r| r.state == UploadState::Ingested) {
            let v: Vec<u64> = serde_json::from_str(r.claims.as_deref().unwrap()).unwrap();
            assert_eq!(v.len(), 2);
            seqs.extend(v);
        }
        seqs.sort_unstable();
        let size = t.store().size().await.unwrap();
        // Distinct files: two claims each and nothing else in the log, so the log is exactly
        // the rows' claims: none written twice, none missing.
        assert_eq!(seqs, (0..size).collect::<Vec<_>>(), "claims written exactly once");
        assert_eq!(size, 2 * (FILES as u64 + 2));
    });
}

#[test]
fn sqlite_uploads_survive_sigkill() {
    let dir = TempDir::new("uploads-kill-sqlite");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = dir.path().join("data");
    let store_toml = format!("[store]\nsqlite_dir = \"{}\"", data.display());
    let open = || rt.block_on(ledger::store::sqlite::SqliteStore::open(&data, ledger::store::sqlite::Durability::PowerLoss)).unwrap();
    kill_test(&rt, dir.path(), &store_toml, &data.join("keyring"), open);
}

#[test]
fn postgres_uploads_survive_sigkill() {
    let dir = TempDir::new("uploads-kill-pg");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let h = rt.block_on(PgHarness::start());
    let keyring = dir.path().join("keyring");
    let store_toml = format!("keyring_dir = \"{}\"\n[store]\ndatabase_url = \"{}\"", keyring.display(), h.url);
    let open = || rt.block_on(ledger::store::postgres::PgStore::connect_with(h.options.clone(), 2)).unwrap();
    kill_test(&rt, dir.path(), &store_toml, &keyring, open);
}
