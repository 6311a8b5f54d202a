//! `ledger-server rotate-key` end to end with the binary: a hand-over checkpoint in every
//! tenant, the retired key's .vkey written, `serve` with `retired_ledger_keys` writing a trust
//! file with both keys, and bundles from before and after the rotation verifying with it.
//! Also the tenancy refusals of the CLI: reserved names, residency codes, tokens for reserved
//! tenants.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use evidence_core::note::NoteSigner;
use evidence_core::{ClaimSink as _, Seq, TrustStore, Verdict, Verifier};
use ledger::Ledger;
use ledger::crypto::{FileKeyring, MasterKey};
use ledger::store::sqlite::{Durability, SqliteStore};
use test_support::TempDir;
use test_support::fixtures::{finding, tid};

const BIN: &str = env!("CARGO_BIN_EXE_ledger-server");
const NAME: &str = "ledger.rotation.test";

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).env_remove("LEDGER_CONFIG").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write_config(dir: &Path, key: &str, extra: &str) -> std::path::PathBuf {
    let cfg = format!(
        "ledger_name = \"{NAME}\"\nledger_key = \"{d}/{key}\"\nmaster_key_file = \"{d}/master.key\"\n\
         trust_out = \"{d}/trust.json\"\n{extra}\n[store]\nsqlite_dir = \"{d}/data\"\n",
        d = dir.display()
    );
    let path = dir.join("ledger.toml");
    std::fs::write(&path, cfg).unwrap();
    path
}

/// A ledger over the configuration's store and key ring, signing with `signer`, anchoring
/// nowhere (this test is about signatures).
async fn library(dir: &Path, signer: NoteSigner) -> Ledger<SqliteStore> {
    let store = SqliteStore::open(dir.join("data"), Durability::PowerLoss).await.unwrap();
    let keys = FileKeyring::open(MasterKey::from_file(&dir.join("master.key")).unwrap(), dir.join("data").join("keyring")).unwrap();
    Ledger::with_rails(store, signer, keys, Vec::new())
}

#[test]
fn rotate_key_then_serve_with_both_keys() {
    let dir = TempDir::new("bin-rotate");
    let d = dir.path();
    let old = NoteSigner::from_seed(NAME, &[21; 32]).unwrap();
    std::fs::write(d.join("ledger.skey"), old.to_skey()).unwrap();
    std::fs::write(d.join("master.key"), "cd".repeat(32)).unwrap();
    let cfg = write_config(d, "ledger.skey", "");
    let cfg_s = cfg.to_str().unwrap();

    // Tenancy refusals on the CLI.
    for reserved in ["admin", "ledger", "system.x", "a.audit"] {
        let (code, _, err) = run(&["tenant", "create", reserved, "--config", cfg_s]);
        assert_eq!(code, 1, "{reserved}: {err}");
        assert!(err.contains("reserved"), "{reserved}: {err}");
    }
    let (code, _, err) = run(&["tenant", "create", "rooftop-9", "--residency", "XX", "--config", cfg_s]);
    assert!(code == 1 && err.contains("ISO 3166-1"), "{err}");
    let (code, _, err) = run(&["tenant", "create", "rooftop-1", "--residency", "ca", "--config", cfg_s]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("created"), "{err}");
    let (code, _, err) = run(&["tenant", "create", "rooftop-1", "--config", cfg_s]);
    assert!(code == 0 && err.contains("already exists"), "{err}");
    let (code, _, err) = run(&["token", "create", "--tenant", "admin", "--role", "auditor", "--config", cfg_s]);
    assert!(code == 1 && err.contains("reserved"), "{err}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let before = rt.block_on(async {
        let l = library(d, NoteSigner::from_seed(NAME, &[21; 32]).unwrap()).await;
        let t = l.tenant(&tid("rooftop-1")).await.unwrap();
        assert_eq!(t.config().residency, vec!["CA".to_owned()]);
        t.append(finding(0)).await.unwrap();
        t.append(finding(1)).await.unwrap();
        t.seal_now().await.unwrap();
        t.bundle(&[Seq(0)]).await.unwrap()
    });

    // The new key must exist or be generated.
    let new_key = d.join("ledger-2.skey");
    let (code, _, err) = run(&["rotate-key", "--config", cfg_s, "--new-key", new_key.to_str().unwrap()]);
    assert!(code == 1 && err.contains("--generate"), "{err}");
    let (code, out, err) = run(&["rotate-key", "--config", cfg_s, "--new-key", new_key.to_str().unwrap(), "--generate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rooftop-1: hand-over checkpoint 1 at tree size 2"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&new_key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let vkey = d.join(format!("{NAME}-{:08x}.vkey", old.verifier().id()));
    assert!(err.contains(&vkey.display().to_string()), "the next steps name the .vkey: {err}");
    assert_eq!(std::fs::read_to_string(&vkey).unwrap().trim(), old.verifier().to_vkey());
    let new = NoteSigner::parse(std::fs::read_to_string(&new_key).unwrap().trim()).unwrap();

    // serve with the new key and the retired one: the trust file holds both.
    let cfg = write_config(d, "ledger-2.skey", &format!("retired_ledger_keys = [\"{}\"]", vkey.display()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(BIN)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env("LEDGER_LISTEN", format!("127.0.0.1:{port}"))
        .env("LEDGER_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let trust_path = d.join("trust.json");
    let mut trust = None;
    for _ in 0..200 {
        if let Some(t) = std::fs::read(&trust_path).ok().and_then(|b| TrustStore::from_json(&b).ok()) {
            trust = Some(t);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let trust = trust.expect("serve wrote the trust file");
    assert_eq!(trust.file().ledgers.len(), 2, "current and retired key");

    let (after, old_claim) = rt.block_on(async {
        let l = library(d, NoteSigner::parse(&new.to_skey()).unwrap()).await;
        let t = l.tenant(&tid("rooftop-1")).await.unwrap();
        t.append(finding(2)).await.unwrap();
        t.seal_now().await.unwrap();
        (t.bundle(&[Seq(2)]).await.unwrap(), t.bundle(&[Seq(0)]).await.unwrap())
    });
    let v = Verifier::new(trust);
    for (name, b) in [("before the rotation", &before), ("after", &after), ("old claim, new checkpoint", &old_claim)] {
        let r = v.verify(b);
        assert_eq!(r.verdict, Verdict::Verified, "{name}: {r:?}");
    }
    // An unknown key's checkpoint fails with the same trust file.
    let bad = rt.block_on(async {
        let l = library(d, NoteSigner::from_seed(NAME, &[99; 32]).unwrap()).await;
        let t = l.tenant(&tid("rooftop-1")).await.unwrap();
        t.append(finding(3)).await.unwrap();
        t.seal_now().await.unwrap();
        t.bundle(&[Seq(3)]).await.unwrap()
    });
    assert_ne!(v.verify(&bad).verdict, Verdict::Verified);
}
