//! Rails and tenants do not block each other: each rail has its own worker, tenants are
//! worked on with bounded concurrency, and every attempt has a deadline. The TSA here is the
//! production rail (`HttpTsaRail` over `tsa-client`) pointed at a TCP listener that accepts
//! connections and never answers; the client's own timeout is a minute, so only the worker's
//! deadline ends its attempts.

use std::time::{Duration, Instant};

use evidence_core::ClaimSink as _;
use ledger::rails::HttpTsaRail;
use ledger::scheduler::{AnchorOptions, spawn_rail_workers};
use ledger::store::{AnchorState, Rail, Store, TenantConfig};
use ledger::{Ledger, TenantLedger};
use test_support::FabricTestDouble;
use test_support::fixtures::{finding, ledger, tid};
use tsa_client::{ClientConfig, Jurisdiction, RetryPolicy, TsaClient, TsaEndpoint};

/// A TSA that accepts TCP connections and never answers (it holds every socket open).
fn hanging_tsa() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming() {
            held.push(s);
        }
    });
    addr
}

fn hung_rail(addr: std::net::SocketAddr) -> HttpTsaRail {
    let ep = TsaEndpoint::new("hung-tsa", &format!("http://{addr}/tsa"), Jurisdiction::new("CA").unwrap())
        .unwrap()
        .with_timeout(Duration::from_mins(1));
    let cfg = ClientConfig { retry: RetryPolicy { max_attempts_per_endpoint: 1, ..RetryPolicy::default() }, ..ClientConfig::default() };
    HttpTsaRail::new(TsaClient::new(vec![ep], cfg).unwrap(), Vec::new(), Vec::new())
}

async fn rows<T: ledger::store::TenantStore>(t: &TenantLedger<T>, rail: Rail) -> Vec<ledger::store::AnchorRow> {
    let mut out = Vec::new();
    for cp in t.checkpoints(0, u32::MAX).await.unwrap() {
        out.extend(t.anchor_state(cp.seq).await.unwrap().into_iter().filter(|r| r.rail == rail));
    }
    out
}

async fn count<S: Store>(l: &Ledger<S>, tenants: &[&str], rail: Rail, state: AnchorState) -> usize {
    let mut n = 0;
    for id in tenants {
        let t = l.tenant(&tid(id)).await.unwrap();
        n += rows(&t, rail).await.iter().filter(|r| r.state == state).count();
    }
    n
}

/// Polls `cond` every 50 ms for at most `bound` (a generous bound, not a latency assertion).
async fn wait_for<F: std::future::Future<Output = bool>>(bound: Duration, mut cond: impl FnMut() -> F) -> bool {
    let until = Instant::now() + bound;
    while Instant::now() < until {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond().await
}

async fn a_hung_tsa_never_holds_up_fabric<S: Store>(s: S) {
    const TENANTS: [&str; 5] = ["hang-a", "hang-b", "hang-c", "hang-d", "hang-e"];
    const ROUNDS: usize = 3;
    let l = ledger(s);
    for id in TENANTS {
        let t = l.create_tenant(&tid(id), &TenantConfig::default()).await.unwrap();
        t.append_batch((0..3).map(finding).collect()).await.unwrap();
        t.seal_now().await.unwrap();
    }
    let deadline = Duration::from_secs(1);
    let opts = AnchorOptions {
        tick: Duration::from_millis(50),
        concurrency: 2,
        tsa_deadline: deadline,
        fabric_deadline: Duration::from_secs(30),
        rows_per_pass: 10,
    };
    let workers = spawn_rail_workers(l.clone(), hung_rail(hanging_tsa()), FabricTestDouble::default(), &opts);
    let started = Instant::now();
    // Every checkpoint of every tenant is anchored on Fabric while the TSA answers nothing.
    // (One worker walking rails and tenants in turn would sit a minute in each TSA attempt.)
    let all = TENANTS.len();
    let done = wait_for(Duration::from_secs(20), || async { count(&l, &TENANTS, Rail::Fabric, AnchorState::Anchored).await == all }).await;
    assert!(done, "Fabric anchors held up by the hung TSA");
    let first_round = started.elapsed();
    // New seals keep being anchored on Fabric, round after round, with no TSA anchor at all.
    let mut latencies = vec![first_round];
    for round in 1..=ROUNDS {
        let t0 = Instant::now();
        for id in TENANTS {
            let t = l.tenant(&tid(id)).await.unwrap();
            t.append(finding(100 + round as u64)).await.unwrap();
            t.seal_now().await.unwrap();
        }
        let want = all * (round + 1);
        let done =
            wait_for(Duration::from_secs(20), || async { count(&l, &TENANTS, Rail::Fabric, AnchorState::Anchored).await == want }).await;
        assert!(done, "round {round}: Fabric anchors held up by the hung TSA");
        latencies.push(t0.elapsed());
    }
    assert_eq!(count(&l, &TENANTS, Rail::Tsa, AnchorState::Anchored).await, 0, "the hung TSA anchored nothing");
    // The TSA attempts end at the deadline: every tenant's first TSA row failed with it.
    let ended = wait_for(Duration::from_secs(30), || async {
        let mut ok = true;
        for id in TENANTS {
            let t = l.tenant(&tid(id)).await.unwrap();
            ok &= rows(&t, Rail::Tsa)
                .await
                .iter()
                .any(|r| r.state == AnchorState::Failed && r.last_error.as_deref().is_some_and(|e| e.contains("deadline")));
        }
        ok
    })
    .await;
    assert!(ended, "every tenant's TSA attempt ended at the deadline");
    let m = ledger::metrics::global();
    let cut = m.anchor_deadlines.get(&[("rail", "tsa")]);
    assert!(cut >= TENANTS.len() as u64, "{cut} TSA attempts cut off");
    // The backlog gauges: every TSA row pending, no Fabric row.
    let backlog_done = wait_for(Duration::from_secs(10), || async {
        m.backlog.get("tsa").is_some_and(|(n, _)| n == (all * (ROUNDS + 1)) as u64) && m.backlog.get("fabric") == Some((0, None))
    })
    .await;
    assert!(backlog_done, "backlog gauges: tsa {:?}, fabric {:?}", m.backlog.get("tsa"), m.backlog.get("fabric"));
    let text = m.render();
    assert!(text.contains("# TYPE ledger_anchor_backlog gauge\n"), "{text}");
    assert!(text.contains(&format!("ledger_anchor_backlog{{rail=\"tsa\"}} {}\n", all * (ROUNDS + 1))), "{text}");
    assert!(text.contains("ledger_anchor_backlog{rail=\"fabric\"} 0\n"), "{text}");
    assert!(text.contains("ledger_anchor_backlog_oldest_age_seconds{rail=\"tsa\"} "), "{text}");
    let t = l.tenant(&tid(TENANTS[0])).await.unwrap();
    let attempts: Vec<i64> = rows(&t, Rail::Tsa).await.iter().map(|r| r.attempts).collect();
    eprintln!(
        "hung TSA: {} tenants, concurrency 2, TSA deadline {deadline:?}: Fabric rounds anchored after {latencies:?}; \
         TSA attempts cut off at the deadline: {cut}; attempts on the first tenant's TSA rows: {attempts:?}; total {:?}",
        TENANTS.len(),
        started.elapsed()
    );
    let t0 = Instant::now();
    workers.shutdown().await;
    eprintln!("shutdown waited {:?} for the passes under way", t0.elapsed());

    // A failed attempt ends the tenant's pass on that rail: its other due rows wait for the
    // row's backoff instead of each costing another deadline now.
    let solo = l.create_tenant(&tid("hang-solo"), &TenantConfig::default()).await.unwrap();
    for n in 0..3 {
        solo.append(finding(n)).await.unwrap();
        solo.seal_now().await.unwrap();
    }
    let st = solo.process_rail(&ledger::anchor::OnTsa(hung_rail(hanging_tsa())), 10, deadline).await.unwrap();
    assert_eq!((st.anchored, st.failed), (0, 1));
    let attempts: Vec<i64> = rows(&solo, Rail::Tsa).await.iter().map(|r| r.attempts).collect();
    assert_eq!(attempts, vec![1, 0, 0]);
}

test_support::both_backends!(a_hung_tsa_never_holds_up_fabric);
