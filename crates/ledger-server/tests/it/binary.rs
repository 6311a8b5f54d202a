//! The `ledger-server` binary: `tenant` and `token` commands, `serve` from a TOML file with
//! environment overrides, HTTPS, graceful exit on SIGTERM, and `dev`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use test_support::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ledger-server");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).env_remove("LEDGER_CONFIG").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child) -> i32 {
    for _ in 0..200 {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not exit after SIGTERM");
}

fn client(extra_root: Option<&[u8]>) -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10));
    if let Some(pem) = extra_root {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap());
    }
    b.build().unwrap()
}

fn wait_ready(c: &reqwest::blocking::Client, base: &str) {
    for _ in 0..200 {
        if c.get(format!("{base}/readyz")).send().is_ok_and(|r| r.status() == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server at {base} never became ready");
}

fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let seed = [9u8; 32];
    let signer = evidence_core::note::NoteSigner::from_seed("ledger.binary.test", &seed).unwrap();
    std::fs::write(dir.join("ledger.skey"), signer.to_skey()).unwrap();
    std::fs::write(dir.join("master.key"), "ab".repeat(32)).unwrap();
    let cfg = format!(
        "ledger_name = \"ledger.binary.test\"\nledger_key = \"{d}/ledger.skey\"\nmaster_key_file = \"{d}/master.key\"\n\
         trust_out = \"{d}/trust.json\"\n{extra}\n[store]\nsqlite_dir = \"{d}/data\"\n",
        d = dir.display()
    );
    let path = dir.join("ledger.toml");
    std::fs::write(&path, cfg).unwrap();
    path
}

#[test]
fn admin_commands_and_serve_with_env_overrides() {
    let dir = TempDir::new("bin-serve");
    let cfg = write_config(dir.path(), "");
    let cfg_s = cfg.to_str().unwrap();

    let (code, _, err) = run(&["tenant", "create", "rooftop-1", "--config", cfg_s]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["tenant", "create", "bad.audit", "--config", cfg_s]);
    assert_eq!(code, 1, "{err}");
    let (code, out, _) = run(&["tenant", "list", "--config", cfg_s]);
    assert_eq!((code, out.trim()), (0, "rooftop-1"));
    let (code, _, err) = run(&["token", "create", "--tenant", "nobody", "--role", "auditor", "--config", cfg_s]);
    assert_eq!(code, 1, "tokens for unknown tenants are refused: {err}");
    let (code, _, err) = run(&["token", "create", "--tenant", "rooftop-1", "--role", "auditor", "--days", "91", "--config", cfg_s]);
    assert_eq!(code, 1, "over 90 days is refused: {err}");
    let (code, _, err) = run(&["token", "create", "--tenant", "rooftop-1", "--role", "wizard", "--config", cfg_s]);
    assert!(code == 1 && err.contains("dealer_principal"), "{err}");
    let (code, svc, err) =
        run(&["token", "create", "--tenant", "rooftop-1", "--role", "service", "--label", "pipeline", "--config", cfg_s]);
    assert_eq!(code, 0, "{err}");
    let svc = svc.trim().to_owned();
    assert!(svc.starts_with("evl_"));
    let (code, _, err) =
        run(&["token", "create", "--tenant", "rooftop-1", "--role", "cfo", "--principal", "cfo@rooftop1.example.ca", "--config", cfg_s]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        run(&["token", "create", "--tenant", "rooftop-1", "--role", "service", "--principal", "someone", "--config", cfg_s]);
    assert!(code == 1 && err.contains("--principal"), "service tokens belong to no person: {err}");
    let (_, list, _) = run(&["token", "list", "--config", cfg_s]);
    assert!(list.contains("pipeline") && list.contains("active") && !list.contains(&svc[21..]), "{list}");
    assert!(list.contains("cfo@rooftop1.example.ca"), "the principal is listed: {list}");
    // Bad arguments exit 2.
    assert_eq!(run(&["token", "create"]).0, 2);
    assert_eq!(run(&["serve"]).0, 2);

    // serve, with the port from the environment (overriding the file's default).
    let port = free_port();
    let child = Command::new(BIN)
        .args(["serve", "--config", cfg_s])
        .env("LEDGER_LISTEN", format!("127.0.0.1:{port}"))
        .env("LEDGER_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut p = Proc(child);
    let base = format!("http://127.0.0.1:{port}");
    let c = client(None);
    wait_ready(&c, &base);
    let r = c
        .post(format!("{base}/v1/tenants/rooftop-1/claims"))
        .bearer_auth(&svc)
        .json(&json!({"kind": "sop_attestation", "body": {"sop": "delivery", "by": "EMP-7"}}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let trust: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("trust.json")).unwrap()).unwrap();
    assert_eq!(trust["format"], "evidence-trust/v1");
    assert_eq!(trust["development"], false);

    // Revoked on the CLI: refused, with no restart, once the server's token cache
    // (`http.token_cache_ms`, 1 s by default) has expired.
    let id = &svc[4..20];
    assert_eq!(run(&["token", "revoke", id, "--config", cfg_s]).0, 0);
    std::thread::sleep(Duration::from_millis(1100));
    let r = c.get(format!("{base}/v1/tenants/rooftop-1/checkpoints")).bearer_auth(&svc).send().unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(run(&["token", "revoke", id, "--config", cfg_s]).0, 1, "revoking twice reports it");

    sigterm(&p.0);
    assert_eq!(wait_exit(&mut p.0), 0, "graceful exit on SIGTERM");

    // A typo in the environment is refused, not ignored.
    let out = Command::new(BIN).args(["serve", "--config", cfg_s]).env("LEDGER_HTTP__RATE", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rate"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn serve_https_when_configured() {
    let dir = TempDir::new("bin-tls");
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
    let extra = format!("[http]\ntls_cert = \"{d}/cert.pem\"\ntls_key = \"{d}/key.pem\"", d = dir.path().display());
    // [http] must come after the top-level keys: write it at the end.
    let cfg = write_config(dir.path(), "");
    let text = std::fs::read_to_string(&cfg).unwrap() + &extra + "\n";
    std::fs::write(&cfg, text).unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env("LEDGER_LISTEN", format!("127.0.0.1:{port}"))
        .env("LEDGER_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut p = Proc(child);
    let c = client(Some(cert.pem().as_bytes()));
    wait_ready(&c, &format!("https://localhost:{port}"));
    // Plain HTTP to the TLS port gets no HTTP answer.
    assert!(client(None).get(format!("http://127.0.0.1:{port}/healthz")).send().is_err());
    // A client that does not trust the certificate refuses it.
    assert!(client(None).get(format!("https://localhost:{port}/healthz")).send().is_err());
    sigterm(&p.0);
    assert_eq!(wait_exit(&mut p.0), 0);
}
