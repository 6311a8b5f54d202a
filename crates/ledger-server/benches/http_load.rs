//! HTTP load (issue 7): 64 concurrent clients append claims to the real server over loopback,
//! against a floor of the same server answering `/healthz` to the same 64 clients.
//!
//! The server runs in this process on a multi-threaded tokio runtime with the SQLite store
//! under a temporary directory (durability on: WAL + `synchronous=FULL`), the development TSA
//! rail and no Fabric rail (anchoring is off the append path either way). The clients are
//! `reqwest` with keep-alive, on the same 2 cores as the server, so the figures are what one
//! machine does serving and loading itself. Per-token rate limiting is raised out of the way
//! (it is tested separately); authentication, authorisation, audit logging and metrics run
//! as in production.
//!
//! `cargo bench -p ledger-server --bench http_load`. `HTTP_LOAD_SECS` (default 10) is the
//! length of each phase, `HTTP_LOAD_CLIENTS` (default 64) the number of clients,
//! `HTTP_LOAD_ONLY` (`single` or `batch`) runs the floor and that kind only (for profiling),
//! `HTTP_LOAD_DURABILITY` (`power-loss`, the default, or `process-crash`) the store's
//! [`Durability`]. Requests slower than 50 ms are listed by when they were scheduled;
//! `HTTP_LOAD_PROBE=1` adds a thread that times an `fsync` beside the database every 5 ms and
//! lists its stalls on the same time line (the disk's own stalls against the server's).
//! Each kind runs twice: closed loop (every client sends as soon as answered: saturation
//! throughput, latency bound to it by Little's law) and open loop at the target rate (5 000
//! single appends/s, 500 batches/s), latency measured from each request's scheduled time.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use evidence_core::TenantId;
use evidence_core::note::NoteSigner;
use ledger::Ledger;
use ledger::crypto::{FileKeyring, MasterKey, SecretKey};
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{Rail, Store, TenantConfig};
use ledger_server::auth::{self, Role};
use ledger_server::http::HttpLimits;
use ledger_server::server::ServiceOptions;
use test_support::{LocalServer, TempDir};

fn claim(n: u64) -> serde_json::Value {
    serde_json::json!({"kind": "leakage_finding", "body": {"analyzer": "cit", "deal": format!("D-{n}"), "staff": "P-0042", "amount": "125.00"}})
}

/// Builds request `i` of a phase.
type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

struct Phase {
    requests: u64,
    claims: u64,
    secs: f64,
    p50: Duration,
    p99: Duration,
    /// Requests slower than [`SLOW`]: (scheduled time since the phase started, latency).
    slow: Vec<(Duration, Duration)>,
    /// When the phase started (to place probe stalls on the same time line).
    start: Instant,
    /// Bytes this process caused to be written to storage during the phase (Linux only).
    written: Option<u64>,
}

/// `write_bytes` of `/proc/self/io`: bytes this process caused to be sent to storage.
fn written_bytes() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines().find_map(|l| l.strip_prefix("write_bytes: ")).and_then(|v| v.trim().parse().ok())
}

/// The latency target; slower requests are listed on the phase's time line.
const SLOW: Duration = Duration::from_millis(50);

/// Runs `clients` loops for `secs`, each sending the request `make(i)` builds and counting
/// `per_request` claims for each success.
///
/// Closed loop when `rate` is None: each client sends its next request as soon as the last
/// one is answered (the server's saturation throughput). Open loop with `Some(r)`: the
/// clients together send `r` requests/s on a fixed schedule, and latency is measured from
/// each request's scheduled time, so a stalled server cannot hide its delay by slowing the
/// load (no coordinated omission).
async fn phase(clients: usize, secs: f64, per_request: u64, rate: Option<f64>, make: MakeRequest) -> Phase {
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).timeout(Duration::from_secs(30)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let written_before = written_bytes();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, make) = (client.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut slow = Vec::new();
            let mut i = (c as u64) << 32;
            // Open loop: this client's share of the schedule, staggered across clients.
            let interval = rate.map(|r| Duration::from_secs_f64(clients as f64 / r));
            let mut due = start + interval.map_or(Duration::ZERO, |d| d.mul_f64(c as f64 / clients as f64));
            loop {
                let t0 = if let Some(d) = interval {
                    // Every request scheduled before the deadline is sent, late or not: a
                    // client that fell behind sends its backlog at once rather than
                    // skipping it (skipped requests would hide the delay).
                    if due >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                    let t = due;
                    due += d;
                    t
                } else if Instant::now() < deadline {
                    Instant::now()
                } else {
                    break;
                };
                let r = make(&client, i).send().await.expect("request");
                let status = r.status();
                let _ = r.bytes().await;
                assert!(status.is_success(), "status {status}");
                let took = t0.elapsed();
                if took > SLOW {
                    slow.push((t0.saturating_duration_since(start), took));
                }
                lat.push(took);
                i += 1;
            }
            (lat, slow)
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    let mut slow = Vec::new();
    for t in tasks {
        let (l, s) = t.await.unwrap();
        lat.extend(l);
        slow.extend(s);
    }
    slow.sort_unstable();
    let secs = start.elapsed().as_secs_f64();
    let written = written_bytes().zip(written_before).map(|(after, before)| after.saturating_sub(before));
    lat.sort_unstable();
    let q = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or_default();
    Phase { requests: lat.len() as u64, claims: lat.len() as u64 * per_request, secs, p50: q(0.50), p99: q(0.99), slow, start, written }
}

/// Groups sorted (time, value) events into windows no more than `gap` apart.
fn windows(events: &[(Duration, Duration)], gap: Duration) -> Vec<(Duration, Duration, usize, Duration)> {
    let mut out: Vec<(Duration, Duration, usize, Duration)> = Vec::new();
    for &(at, v) in events {
        match out.last_mut() {
            Some(w) if at <= w.1 + gap => {
                w.1 = at;
                w.2 += 1;
                w.3 = w.3.max(v);
            }
            _ => out.push((at, at, 1, v)),
        }
    }
    out
}

fn fmt_windows(events: &[(Duration, Duration)]) -> String {
    let ws = windows(events, Duration::from_millis(200));
    let mut parts: Vec<String> = ws
        .iter()
        .take(8)
        .map(|(a, b, n, m)| format!("{:.2}-{:.2} s: {n}, max {:.0} ms", a.as_secs_f64(), b.as_secs_f64(), m.as_secs_f64() * 1e3))
        .collect();
    if ws.len() > 8 {
        parts.push(format!("and {} more windows", ws.len() - 8));
    }
    parts.join("; ")
}

/// With `HTTP_LOAD_PROBE=1`: a thread writes 4 KiB and `fsync`s a file beside the database
/// every 5 ms, recording each `fsync` slower than 20 ms, so that slow requests can be laid
/// beside the disk's own stalls on one time line.
struct Probe {
    stalls: Arc<std::sync::Mutex<Vec<(Instant, Duration)>>>,
}

impl Probe {
    fn start(path: std::path::PathBuf) -> Self {
        use std::io::Write as _;
        let stalls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = stalls.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::File::create(path).unwrap();
            let block = [0x5a_u8; 4096];
            loop {
                f.write_all(&block).unwrap();
                let t = Instant::now();
                f.sync_data().unwrap();
                let took = t.elapsed();
                if took > Duration::from_millis(20) {
                    s.lock().unwrap().push((t, took));
                }
                if f.metadata().map_or(0, |m| m.len()) > 64 << 20 {
                    f.set_len(0).unwrap();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Self { stalls }
    }

    fn during(&self, p: &Phase) -> Vec<(Duration, Duration)> {
        let end = p.start + Duration::from_secs_f64(p.secs);
        let stalls = self.stalls.lock().unwrap();
        stalls.iter().filter(|(t, _)| *t >= p.start && *t <= end).map(|(t, d)| (t.duration_since(p.start), *d)).collect()
    }
}

fn print(name: &str, p: &Phase, target: &str, probe: Option<&Probe>) {
    println!(
        "{name:<40} {:>9.0} req/s {:>9.0} claims/s   p50 {:>7.2} ms   p99 {:>7.2} ms   {target}",
        p.requests as f64 / p.secs,
        p.claims as f64 / p.secs,
        p.p50.as_secs_f64() * 1e3,
        p.p99.as_secs_f64() * 1e3
    );
    if let Some(w) = p.written.filter(|_| p.claims > 0) {
        println!("    written to storage: {:.1} MB/s, {:.0} bytes per claim", w as f64 / p.secs / 1e6, w as f64 / p.claims as f64);
    }
    if !p.slow.is_empty() {
        println!(
            "    over {} ms: {} requests ({:.2}%), by scheduled time: {}",
            SLOW.as_millis(),
            p.slow.len(),
            p.slow.len() as f64 * 100.0 / p.requests.max(1) as f64,
            fmt_windows(&p.slow)
        );
    }
    if let Some(probe) = probe {
        let stalls = probe.during(p);
        if !stalls.is_empty() {
            println!("    probe fsync over 20 ms: {}", fmt_windows(&stalls));
        }
    }
}

fn main() {
    let secs: f64 = std::env::var("HTTP_LOAD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let clients: usize = std::env::var("HTTP_LOAD_CLIENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(64);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = TempDir::new("http-load");
        let durability = match std::env::var("HTTP_LOAD_DURABILITY").as_deref() {
            Ok("process-crash") => Durability::ProcessCrash,
            Ok("power-loss") | Err(_) => Durability::PowerLoss,
            Ok(other) => panic!("HTTP_LOAD_DURABILITY is power-loss (default) or process-crash, not {other:?}"),
        };
        let store = SqliteStore::open(&dir.path().join("db"), durability).await.unwrap();
        let ledger = Ledger::with_rails(
            store.clone(),
            NoteSigner::from_seed("bench.example", &[1; 32]).unwrap(),
            FileKeyring::open(MasterKey::from_secret(SecretKey::from_bytes([2; 32])), dir.path().join("keyring")).unwrap(),
            vec![Rail::Tsa],
        );
        let tenant = TenantId::new("load").unwrap();
        ledger.create_tenant(&tenant, &TenantConfig::default()).await.unwrap();
        let issued = auth::issue([9; 8], [3; 32], Some(tenant), Role::DealerOperator, "load", ledger::now(), 86_400_000).unwrap();
        store.put_token(&issued.record).await.unwrap();
        let bearer = Arc::new(format!("Bearer {}", issued.bearer));

        let limits = HttpLimits { rate_per_sec: 1e9, rate_burst: 1e9, ..HttpLimits::default() };
        let opts = ServiceOptions {
            limits,
            seal_tick: Duration::from_mins(1),
            anchor_tick: Duration::from_secs(1),
            grace: Duration::from_secs(10),
            mfa: None,
            reports: None,
        };
        let server = LocalServer::start(ledger, opts).await;
        let base = Arc::new(server.base.clone());

        let probe = (std::env::var("HTTP_LOAD_PROBE").as_deref() == Ok("1")).then(|| Probe::start(dir.path().join("probe")));
        let probe = probe.as_ref();
        println!("{clients} clients, {secs} s per phase, server and clients on the same machine, SQLite durability {durability:?}");
        let b = base.clone();
        let floor = phase(clients, secs, 0, None, Arc::new(move |c, _| c.get(format!("{b}/healthz")))).await;
        print("floor: GET /healthz", &floor, "", probe);
        let only = std::env::var("HTTP_LOAD_ONLY").unwrap_or_default();
        let (b, t) = (base.clone(), bearer.clone());
        let single_req: MakeRequest = Arc::new(move |c, i| {
            c.post(format!("{b}/v1/tenants/load/claims"))
                .header("authorization", t.as_str())
                .header("content-type", "application/json")
                .body(claim(i).to_string())
        });
        let (b, t) = (base.clone(), bearer.clone());
        let batch_req: MakeRequest = Arc::new(move |c, i| {
            let claims: Vec<_> = (0..100).map(|k| claim(i * 100 + k)).collect();
            c.post(format!("{b}/v1/tenants/load/claims/batch"))
                .header("authorization", t.as_str())
                .header("content-type", "application/json")
                .body(serde_json::json!({ "claims": claims }).to_string())
        });
        let single_secs = if only == "batch" { 0.0 } else { secs };
        let batch_secs = if only == "single" { 0.0 } else { secs };
        let single = phase(clients, single_secs, 1, None, single_req.clone()).await;
        print("POST claims, single (closed loop)", &single, "target 5 000/s, p99 < 50 ms", probe);
        let single_at = phase(clients, single_secs, 1, Some(5_000.0), single_req).await;
        print("POST claims, single, at 5 000/s", &single_at, "p99 < 50 ms at the target rate", probe);
        let batch = phase(clients, batch_secs, 100, None, batch_req.clone()).await;
        print("POST claims/batch of 100 (closed loop)", &batch, "target 50 000 claims/s, p99 < 50 ms", probe);
        let batch_at = phase(clients, batch_secs, 100, Some(500.0), batch_req).await;
        print("POST claims/batch of 100, at 500/s", &batch_at, "p99 < 50 ms at the target rate", probe);
        println!(
            "ratios to the floor (requests/s): single {:.2}x, batch {:.2}x",
            single.requests as f64 / single.secs / (floor.requests as f64 / floor.secs),
            batch.requests as f64 / batch.secs / (floor.requests as f64 / floor.secs)
        );
        server.shutdown().await.unwrap();
    });
}
