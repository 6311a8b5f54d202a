//! The upload benchmark of BENCHMARKS.md (ignored by default: it moves 100 MiB twice):
//! a 100 MiB CDK sales export sent through a signed URL to the real `serve` binary and
//! ingested, end to end (ticket, streamed `PUT`, encrypted store, pipeline check, claims),
//! against the pipeline's own ingest of the same file in the same run (the library
//! `pipeline ingest` calls, `ingest_file`, into a ledger in process), and the server's peak
//! RSS (`VmHWM`) before and after.
//!
//! ```sh
//! CARGO_PROFILE_DEV_OPT_LEVEL=3 CARGO_PROFILE_TEST_OPT_LEVEL=3 \
//!   cargo nextest run -p ledger-server --test upload_bench --run-ignored only --no-capture
//! ```
//! (`UPLOAD_BENCH_MIB` changes the size.)

use std::io::{BufReader, BufWriter, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ledger::store::TenantConfig;
use serde_json::{Value, json};
use test_support::TempDir;
use test_support::fixtures::{keys, signer, tid};

const BIN: &str = env!("CARGO_BIN_EXE_ledger-server");
const NAME: &str = "ledger.bench.test";

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).env_remove("LEDGER_CONFIG").output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn hwm_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

fn write_csv(path: &Path, bytes: u64) {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    let header =
        "DealNo,ContractDate,StockNo,VIN,Sale Type,CashPrice,Front Gross,Back Gross,Finance Reserve,APR,Term,Salesman1No,FIMgrNo,Lender\n";
    w.write_all(header.as_bytes()).unwrap();
    let mut written = header.len() as u64;
    let mut n = 0u64;
    while written < bytes {
        let line =
            format!("{},2025-03-07,S{n},1HGCM82633A004352,NEW,32450.00,1200.50,-12.50,350.00,5.99,72,SP104,FI07,TD\n", 1_000_000 + n);
        w.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        n += 1;
    }
    w.flush().unwrap();
}

#[test]
#[ignore = "benchmark: 100 MiB through the serve binary; see BENCHMARKS.md"]
fn upload_100_mib_end_to_end_against_pipeline_ingest() {
    let mib: u64 = std::env::var("UPLOAD_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let dir = TempDir::new("upload-bench");
    let file = dir.path().join("cdk_sales.csv");
    write_csv(&file, mib << 20);
    let size = std::fs::metadata(&file).unwrap().len();
    #[allow(clippy::cast_precision_loss)] // a file size, far below 2^52
    let mb = size as f64 / 1e6;

    // Floor: the pipeline's own ingest of the same file (what `pipeline ingest` runs), into a
    // ledger in process on SQLite.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let floor = rt.block_on(async {
        let (store, _g) = test_support::fixtures::sqlite().await;
        let ledger = ledger::Ledger::new(store, signer(), keys());
        let t = ledger.create_tenant(&tid("floor"), &TenantConfig::default()).await.unwrap();
        let profile = pipeline::ingest::Profile::get(pipeline::ingest::Dms::Cdk, pipeline::ingest::Export::Sales).unwrap();
        let f = file.clone();
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || {
            let input = BufReader::with_capacity(64 * 1024, std::fs::File::open(f).unwrap());
            tokio::runtime::Handle::current().block_on(pipeline::ingest::ingest_file(
                &t,
                &profile,
                input,
                &pipeline::ingest::Options::default(),
            ))
        })
        .await
        .unwrap()
        .unwrap();
        assert!(out.report.accepted);
        started.elapsed()
    });

    // The upload path, through the serve binary.
    let signer_key = evidence_core::note::NoteSigner::from_seed(NAME, &[51; 32]).unwrap();
    std::fs::write(dir.path().join("ledger.skey"), signer_key.to_skey()).unwrap();
    std::fs::write(dir.path().join("master.key"), "7c".repeat(32)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let d = dir.path().display();
    let config = dir.path().join("ledger.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\nledger_name = \"{NAME}\"\nledger_key = \"{d}/ledger.skey\"\nmaster_key_file = \"{d}/master.key\"\n\
             [store]\nsqlite_dir = \"{d}/data\"\n[uploads]\npublic_url = \"http://127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    run(&["tenant", "create", "bench", "--config", cfg]);
    let token = run(&["token", "create", "--tenant", "bench", "--role", "service", "--config", cfg]).trim().to_owned();
    let server = Proc(
        Command::new(BIN)
            .args(["serve", "--config", cfg])
            .env("LEDGER_LOG", "warn")
            .env_remove("LEDGER_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::blocking::Client::builder().timeout(Duration::from_mins(10)).build().unwrap();
    let started = Instant::now();
    while !c.get(format!("http://127.0.0.1:{port}/readyz")).send().is_ok_and(|r| r.status() == 200) {
        assert!(started.elapsed() < Duration::from_mins(1));
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = server.0.id();
    let rss_idle = hwm_kib(pid);
    let started = Instant::now();
    let ticket: Value = c
        .post(format!("http://127.0.0.1:{port}/v1/tenants/bench/uploads"))
        .bearer_auth(&token)
        .json(&json!({"profile": "cdk", "export": "sales", "filename": "cdk_sales.csv", "size": size}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let body = reqwest::blocking::Body::sized(std::fs::File::open(&file).unwrap(), size);
    let r = c.put(ticket["url"].as_str().unwrap()).header("content-type", "text/csv").body(body).send().unwrap();
    let status = r.status().as_u16();
    let answer: Value = r.json().unwrap();
    let upload = started.elapsed();
    assert_eq!((status, answer["state"].as_str()), (200, Some("ingested")), "{answer}");
    let rss_peak = hwm_kib(pid);
    drop(server);

    let floor_mbs = mb / floor.as_secs_f64();
    let upload_mbs = mb / upload.as_secs_f64();
    println!(
        "upload bench: {mb:.1} MB file; pipeline ingest_file {:.2} s = {floor_mbs:.1} MB/s; signed-URL upload end to end {:.2} s = {upload_mbs:.1} MB/s ({:.0}% of the pipeline); serve VmHWM {} MiB idle, {} MiB after the upload",
        floor.as_secs_f64(),
        upload.as_secs_f64(),
        100.0 * upload_mbs / floor_mbs,
        rss_idle / 1024,
        rss_peak / 1024,
    );
}
