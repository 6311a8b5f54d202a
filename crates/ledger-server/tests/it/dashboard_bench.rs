//! Dashboard render times on a big tenant (issue 27): 100 000 claims and 2 000 checkpoints
//! in one tenant, each page requested 20 times over loopback after one warm-up request,
//! p50/p95 against `GET /healthz` on the same server as the floor. Ignored by default (it
//! builds the tenant first, about a minute); run with
//! `cargo nextest run -p ledger-server --test dashboard_bench --run-ignored only --no-capture`
//! and see BENCHMARKS.md.

use std::time::{Duration, Instant};

use evidence_core::{AppendRequest, Claim, ClaimKind};
use ledger::Ledger;
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{Rail, TenantConfig};
use ledger_server::auth::Role;
use serde_json::json;
use test_support::fixtures::{keys, signer, tid};
use test_support::{LocalServer, TempDir};

const TENANT: &str = "big-rooftop";
const CLAIMS: usize = 100_000;
const CHECKPOINTS: usize = 2_000;
const RUNS: usize = 20;

fn claim(i: usize) -> AppendRequest {
    if i % 10 == 9 {
        return AppendRequest::new(Claim::new(ClaimKind::GateDecision, json!({"gate": "g", "pass": true, "n": i})).unwrap());
    }
    let (analyzer, rule) =
        [("fi", "fi.reserve_outlier"), ("structure", "structure.front_loss"), ("service", "service.unbilled_labour")][i % 3];
    let body = json!({"schema": "pipeline/leakage_finding/v1", "analyzer": analyzer, "rule": rule, "subject": format!("D-{i:06}"),
                      "staff_code": (["FI-07", "SA-12", "SV-03"][i % 3]), "measures": {"reserve": "900.50"}, "as_of": format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28)});
    AppendRequest::new(Claim::new(ClaimKind::LeakageFinding, body).unwrap())
}

fn hidden(html: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let at = html.find(&pat).unwrap() + pat.len();
    html[at..].split('"').next().unwrap().to_owned()
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i]
}

async fn timed(c: &reqwest::Client, url: &str, cookie: &str) -> Duration {
    let started = Instant::now();
    let r = c.get(url).header("cookie", cookie).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    let _ = r.bytes().await.unwrap();
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "builds a 100 000-claim tenant; run for BENCHMARKS.md"]
async fn render_times_on_a_big_tenant() {
    let dir = TempDir::new("dashboard-bench");
    let store = SqliteStore::open(dir.path().join("db"), Durability::ProcessCrash).await.unwrap();
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    let t = ledger.create_tenant(&tid(TENANT), &TenantConfig::default()).await.unwrap();
    let built = Instant::now();
    let per = CLAIMS / CHECKPOINTS;
    for k in 0..CHECKPOINTS {
        t.append_many((k * per..(k + 1) * per).map(claim).collect()).await.unwrap();
        t.seal_now().await.unwrap();
    }
    eprintln!("built {CLAIMS} claims and {CHECKPOINTS} checkpoints in {:.1} s", built.elapsed().as_secs_f64());
    let bearer = test_support::server::token(&store, Some(TENANT), Role::DealerPrincipal).await;
    let local = LocalServer::start(ledger.clone(), test_support::server::quiet_options(ledger_server::http::HttpLimits::default())).await;
    let base = local.base.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_mins(5)).build().unwrap();
    // Sign in.
    let r = c.get(format!("{base}/ui/sign-in")).send().await.unwrap();
    let pre = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ledger_ui_pre="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = hidden(&r.text().await.unwrap(), "csrf");
    let r = c
        .post(format!("{base}/ui/sign-in"))
        .header("cookie", &pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&token={bearer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ledger_ui="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let first = timed(&c, &format!("{base}/ui/t/{TENANT}/findings"), &session).await;
    eprintln!("first page view (reads the whole log into the page index): {:.0} ms", first.as_secs_f64() * 1000.0);
    let pages = [
        "/healthz".to_owned(),
        format!("/ui/t/{TENANT}/"),
        format!("/ui/t/{TENANT}/checkpoints"),
        format!("/ui/t/{TENANT}/checkpoints?before=1000"),
        format!("/ui/t/{TENANT}/findings"),
        format!("/ui/t/{TENANT}/findings?analyzer=service&staff=SV-03&from=2026-03-01&to=2026-03-31"),
        format!("/ui/t/{TENANT}/findings?q=D-050001"),
        format!("/ui/t/{TENANT}/findings?before=50000"),
        format!("/ui/t/{TENANT}/claims/50000"),
        format!("/ui/t/{TENANT}/incidents"),
        format!("/ui/t/{TENANT}/audit"),
        format!("/ui/t/{TENANT}/uploads"),
        format!("/ui/t/{TENANT}/reports"),
        format!("/ui/t/{TENANT}/plots/claims-per-hour.svg"),
        format!("/ui/t/{TENANT}/plots/anchor-latency.svg"),
    ];
    let mut all = Vec::new();
    println!("| page | p50 ms | p95 ms |\n|---|---|---|");
    let mut floor = Duration::ZERO;
    for p in &pages {
        let url = format!("{base}{p}");
        let _ = timed(&c, &url, &session).await;
        let mut v: Vec<Duration> = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            v.push(timed(&c, &url, &session).await);
        }
        v.sort();
        let (p50, p95) = (quantile(&v, 0.5), quantile(&v, 0.95));
        if p == "/healthz" {
            floor = p95;
        } else {
            all.extend(v);
        }
        println!("| `{p}` | {:.1} | {:.1} |", p50.as_secs_f64() * 1000.0, p95.as_secs_f64() * 1000.0);
    }
    all.sort();
    let p95 = quantile(&all, 0.95);
    println!(
        "\nover every dashboard page: p95 {:.1} ms; /healthz floor p95 {:.2} ms ({:.0}x the floor)",
        p95.as_secs_f64() * 1000.0,
        floor.as_secs_f64() * 1000.0,
        p95.as_secs_f64() / floor.as_secs_f64().max(1e-9)
    );
    local.shutdown().await.unwrap();
}
