//! Load and kill: the real `ledger-server serve` binary under concurrent HTTP clients, with
//! `openssl ts -reply` as its TSA over HTTP and the Fabric emulator as its Gateway peer, is
//! SIGKILLed again and again (on SQLite and on PostgreSQL). After every restart and at the
//! end: no acknowledged claim is lost or changed, sequence numbers have no gap, every
//! checkpoint matches the root recomputed from the stored leaves, the chain verifies, and a
//! bundle fetched for an acknowledged claim either verifies against the trust file or is
//! refused with a typed `409` (never a bundle that fails).
//!
//! Bounded: `LOAD_KILL_ROUNDS` kills (default 4) of 1-3 s of load each, `LOAD_KILL_CLIENTS`
//! clients (default 8). The figures it prints are the ones in the ledger-server README.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use evidence_core::bundle::Bundle;
use evidence_core::checkpoint::{ChainLink, verify_chain};
use evidence_core::merkle::root_of;
use evidence_core::note::NoteSigner;
use evidence_core::{LeafHash, Seq, TrustStore, Verdict, Verifier};
use ledger::Ledger;
use ledger::crypto::{FileKeyring, MasterKey};
use ledger::store::{Store, TenantStore as _};
use test_support::fixtures::tid;
use test_support::{PgHarness, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_ledger-server");
const NAME: &str = "ledger.load.test";

fn env_or(var: &str, default: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).env_remove("LEDGER_CONFIG").output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The TSA, the emulator and a config file pointing `serve` at them.
struct World {
    _tsa: test_support::tsa::OpensslTsa,
    emulator: fabric_anchor::emulator::RunningEmulator,
    config: std::path::PathBuf,
    port: u16,
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.display().to_string()
}

fn world(rt: &tokio::runtime::Runtime, dir: &Path, store_toml: &str) -> World {
    let tsa = test_support::tsa::OpensslTsa::start().expect("openssl TSA");
    let emulator = rt.block_on(fabric_anchor::emulator::spawn(fabric_anchor::EmulatorConfig::default())).unwrap();
    let signer = NoteSigner::from_seed(NAME, &[31; 32]).unwrap();
    let key = write(&dir.join("ledger.skey"), &signer.to_skey());
    let master = write(&dir.join("master.key"), &"5a".repeat(32));
    let cert = write(&dir.join("fabric-client.pem"), emulator.client_identity().cert_pem());
    let fkey = write(&dir.join("fabric-client.key"), emulator.client_key_pem());
    let mut roots = String::new();
    for (id, pem) in &emulator.trust().msp_roots {
        let p = write(&dir.join(format!("msp-{id}.pem")), pem);
        let _ = writeln!(roots, "{id} = \"{p}\"");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let text = format!(
        "listen = \"127.0.0.1:{port}\"\nledger_name = \"{NAME}\"\nledger_key = \"{key}\"\nmaster_key_file = \"{master}\"\n\
         trust_out = \"{d}/trust.json\"\n{store_toml}\n\
         [sealing]\ntick_seconds = 1\n[anchoring]\ntick_seconds = 1\n\
         [[tsa]]\nname = \"openssl\"\nurl = \"{url}\"\njurisdiction = \"CA\"\nroots = [\"{root}\"]\n\
         [fabric]\ngateway_url = \"{gw}\"\nnetwork = \"emulator\"\nmsp_id = \"{msp}\"\ncert = \"{cert}\"\nkey = \"{fkey}\"\n\
         orderer_msps = [\"{orderer}\"]\njurisdiction = \"CA\"\n[fabric.msp_roots]\n{roots}",
        d = dir.display(),
        url = tsa.url(),
        root = tsa.pki().root_pem().display(),
        gw = emulator.url(),
        msp = emulator.client_identity().msp_id(),
        orderer = emulator.trust().orderer_msp,
    );
    let config = dir.join("ledger.toml");
    std::fs::write(&config, text).unwrap();
    World { _tsa: tsa, emulator, config, port }
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(w: &World, log: &Path) -> Proc {
    let child = Command::new(BIN)
        .args(["serve", "--config", w.config.to_str().unwrap()])
        .env("LEDGER_LOG", "warn")
        .env_remove("LEDGER_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap())
        .spawn()
        .unwrap();
    let p = Proc(child);
    let c = http();
    let started = Instant::now();
    while !c.get(format!("http://127.0.0.1:{}/readyz", w.port)).send().is_ok_and(|r| r.status() == 200) {
        assert!(started.elapsed() < Duration::from_mins(1), "serve not ready:\n{}", std::fs::read_to_string(log).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(50));
    }
    p
}

fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

/// One round: clients append until the server is killed; returns the acknowledgements.
fn load_round(w: &World, token: &str, round: u64, clients: u64, rng: &mut Rng, log: &Path) -> Vec<(u64, String)> {
    let server = serve(w, log);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (stop, acked, token) = (Arc::clone(&stop), Arc::clone(&acked), token.to_owned());
            let url = format!("http://127.0.0.1:{}/v1/tenants/load/claims", w.port);
            std::thread::spawn(move || {
                let client = http();
                for i in 0u64.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = serde_json::json!({
                        "kind": "leakage_finding",
                        "body": {"analyzer": "cit", "deal": format!("D-{round}-{c}-{i}"), "staff": "P-0042", "amount": "12.50"},
                        "idempotency_key": format!("r{round}-c{c}-{i}"),
                    });
                    match client.post(&url).bearer_auth(&token).json(&body).send() {
                        Ok(r) if r.status() == 201 || r.status() == 200 => {
                            let v: serde_json::Value = r.json().unwrap();
                            acked.lock().unwrap().push((v["seq"].as_u64().unwrap(), v["leaf_hash"].as_str().unwrap().to_owned()));
                        }
                        Ok(_) | Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000 + rng.below(2000)));
    drop(server); // SIGKILL
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    Arc::try_unwrap(acked).unwrap().into_inner().unwrap()
}

/// The store as the library sees it (the server is not running).
async fn check_store<S: Store>(s: S, dir: &Path, keyring: &Path, acked: &HashMap<u64, String>) -> (u64, usize) {
    let keys = FileKeyring::open(MasterKey::from_file(&dir.join("master.key")).unwrap(), keyring).unwrap();
    let l = Ledger::new(s, NoteSigner::from_seed(NAME, &[31; 32]).unwrap(), keys);
    let t = l.tenant(&tid("load")).await.unwrap();
    let size = t.store().size().await.unwrap();
    let leaves = t.store().leaves(0, size).await.unwrap();
    assert_eq!(leaves.len() as u64, size, "no gap");
    for (i, leaf) in leaves.iter().enumerate() {
        assert_eq!(leaf.seq, Seq(i as u64));
    }
    for (seq, h) in acked {
        let leaf = leaves.get(usize::try_from(*seq).unwrap()).unwrap_or_else(|| panic!("acknowledged claim {seq} lost"));
        assert_eq!(&leaf.leaf_hash.to_hex(), h, "claim {seq} changed");
    }
    let hashes: Vec<LeafHash> = leaves.iter().map(|l| l.leaf_hash).collect();
    let cps = t.checkpoints(0, u32::MAX).await.unwrap();
    let mut links = Vec::new();
    for (i, cp) in cps.iter().enumerate() {
        let n = usize::try_from(cp.root.tree_size.0).unwrap();
        assert_eq!(root_of(&hashes[..n]), cp.root.hash, "checkpoint {}", cp.seq.0);
        let consistency = if i == 0 { None } else { Some(t.consistency_proof(&cps[i - 1], cp).await.unwrap()) };
        links.push(ChainLink { checkpoint: cp.note.clone(), consistency });
    }
    verify_chain(&links, &[l.verifier(&tid("load")).unwrap()]).unwrap();
    (size, cps.len())
}

/// Fetches bundles of `seqs` once each: (verified, refused with a typed 409, other).
fn fetch_bundles(w: &World, token: &str, trust: &Verifier, seqs: &[u64]) -> (usize, usize, Vec<String>) {
    let c = http();
    let (mut ok, mut pending, mut bad) = (0, 0, Vec::new());
    for seq in seqs {
        let r = c.get(format!("http://127.0.0.1:{}/v1/tenants/load/claims/{seq}/bundle", w.port)).bearer_auth(token).send().unwrap();
        let status = r.status().as_u16();
        let body = r.bytes().unwrap();
        match status {
            200 => {
                let b: Bundle = serde_json::from_slice(&body).unwrap();
                let report = trust.verify(&b);
                if report.verdict == Verdict::Verified {
                    ok += 1;
                } else {
                    bad.push(format!("claim {seq}: a bundle that does not verify: {report:?}"));
                }
            }
            409 => {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                assert!(v["error"]["code"].is_string(), "a typed 409: {v}");
                pending += 1;
            }
            s => bad.push(format!("claim {seq}: {s} {}", String::from_utf8_lossy(&body))),
        }
    }
    (ok, pending, bad)
}

fn load_and_kill<S: Store>(rt: &tokio::runtime::Runtime, label: &str, dir: &Path, store_toml: &str, keyring: &Path, open: impl Fn() -> S) {
    let w = world(rt, dir, store_toml);
    let cfg = w.config.to_str().unwrap();
    run(&["tenant", "create", "load", "--seal-every", "1", "--residency", "CA", "--config", cfg]);
    let token = run(&["token", "create", "--tenant", "load", "--role", "service", "--config", cfg]).trim().to_owned();
    let log = dir.join("serve.log");
    let rounds = env_or("LOAD_KILL_ROUNDS", 4);
    let clients = env_or("LOAD_KILL_CLIENTS", 8);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::try_from(ledger::now().0).unwrap());
    let mut acked = HashMap::new();
    let (mut first_ok, mut first_pending, mut fetched) = (0, 0, 0);
    let started = Instant::now();
    for round in 0..rounds {
        acked.extend(load_round(&w, &token, round, clients, &mut rng, &log));
        let (size, cps) = rt.block_on(check_store(open(), dir, keyring, &acked));
        eprintln!("{label}: kill {}: {} acknowledged, {size} leaves, {cps} checkpoints", round + 1, acked.len());
        // A restart: bundles of a sample of acknowledged claims right away.
        let _server = serve(&w, &log);
        std::thread::sleep(Duration::from_millis(1500));
        let trust = Verifier::new(TrustStore::from_json(&std::fs::read(dir.join("trust.json")).unwrap()).unwrap());
        let sample: Vec<u64> = acked.keys().copied().take(10).collect();
        let (ok, pending, bad) = fetch_bundles(&w, &token, &trust, &sample);
        assert!(bad.is_empty(), "{label}: {bad:#?}");
        first_ok += ok;
        first_pending += pending;
        fetched += sample.len();
    }
    // Last: the server settles, and every sampled claim's bundle verifies.
    let _server = serve(&w, &log);
    let trust = Verifier::new(TrustStore::from_json(&std::fs::read(dir.join("trust.json")).unwrap()).unwrap());
    let sample: Vec<u64> = acked.keys().copied().take(20).collect();
    let settle = Instant::now();
    loop {
        let (ok, _, bad) = fetch_bundles(&w, &token, &trust, &sample);
        assert!(bad.is_empty(), "{label}: {bad:#?}");
        if ok == sample.len() {
            break;
        }
        assert!(
            settle.elapsed() < Duration::from_mins(2),
            "{label}: bundles did not become verifiable:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "{label}: {rounds} SIGKILLs under {clients} clients in {:.0} s: {} acknowledged claims, 0 lost; bundles fetched right after a restart: {first_ok}/{fetched} verified, {first_pending} answered 409, 0 failing; all {} sampled verified {:.1} s after the last restart",
        started.elapsed().as_secs_f64(),
        acked.len(),
        sample.len(),
        settle.elapsed().as_secs_f64()
    );
    drop(w.emulator);
}

#[test]
fn sqlite_serve_survives_load_and_kill() {
    let dir = TempDir::new("load-kill-sqlite");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = dir.path().join("data");
    let store_toml = format!("[store]\nsqlite_dir = \"{}\"", data.display());
    let open = || rt.block_on(ledger::store::sqlite::SqliteStore::open(&data, ledger::store::sqlite::Durability::PowerLoss)).unwrap();
    load_and_kill(&rt, "sqlite", dir.path(), &store_toml, &data.join("keyring"), open);
}

#[test]
fn postgres_serve_survives_load_and_kill() {
    let dir = TempDir::new("load-kill-pg");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let h = rt.block_on(PgHarness::start());
    let keyring = dir.path().join("keyring");
    let store_toml = format!("keyring_dir = \"{}\"\n[store]\ndatabase_url = \"{}\"", keyring.display(), h.url);
    let open = || rt.block_on(ledger::store::postgres::PgStore::connect_with(h.options.clone(), 2)).unwrap();
    load_and_kill(&rt, "postgres", dir.path(), &store_toml, &keyring, open);
}
