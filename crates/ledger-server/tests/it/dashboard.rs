//! The dashboard (`/ui/`): over HTTP (headers, sessions, CSRF, roles, tenant isolation,
//! keyset pages) and in a real headless Chromium over WebDriver (sign in, every page, a
//! filter, a bundle download verified offline and with `evidence-verify`, an auditor refused
//! a retract, sign-out; no CSP violation in the browser log, no request to another host in
//! the performance log, no serious or critical axe-core violation, keyboard-only use).

use std::path::Path;
use std::time::Duration;

use evidence_core::{AppendRequest, Claim, ClaimKind, ClaimSink as _, Seq, TrustStore, Verdict, Verifier};
use ledger::Ledger;
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{AnchorState, Rail, Store as _, TenantConfig, TenantStore as _};
use ledger_server::auth::Role;
use ledger_server::server::ServiceOptions;
use serde_json::{Value, json};
use test_support::browser::{self, Browser};
use test_support::fixtures::{keys, signer, tid};
use test_support::{LocalServer, TempDir};

const TENANT: &str = "rooftop-7";
const OTHER: &str = "other-rooftop";
const FINDINGS: usize = 120;

struct Fixture {
    base: String,
    store: SqliteStore,
    ledger: Ledger<SqliteStore>,
    local: Option<LocalServer>,
    trust: evidence_core::TrustFile,
    retracted: u64,
    linked_finding: u64,
    links: std::sync::Arc<ledger_server::ui::SignInLinks>,
    _files: TempDir,
    _dir: TempDir,
}

fn finding(i: usize) -> AppendRequest {
    let (analyzer, rule, subject) = match i % 3 {
        0 => ("fi", "fi.reserve_outlier", format!("D-{:05}", 10_000 + i)),
        1 => ("structure", "structure.front_loss", format!("D-{:05}", 10_000 + i)),
        _ => ("service", "service.unbilled_labour", format!("RO-{:06}", 500_000 + i)),
    };
    let staff = ["FI-07", "SA-12", "SV-03", "Jane Doe"][i % 4];
    let body = json!({"schema": "pipeline/leakage_finding/v1", "analyzer": analyzer, "rule": rule, "subject": subject,
                      "staff_code": staff, "measures": {"reserve": "900.50"}, "as_of": format!("2026-11-{:02}", 1 + i % 28)});
    AppendRequest::new(Claim::new(ClaimKind::LeakageFinding, body).unwrap())
}

async fn fixture() -> Fixture {
    let dir = TempDir::new("dashboard");
    let store = SqliteStore::open(dir.path().join("db"), Durability::ProcessCrash).await.unwrap();
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    let t = ledger.create_tenant(&tid(TENANT), &TenantConfig::default()).await.unwrap();
    ledger.create_tenant(&tid(OTHER), &TenantConfig::default()).await.unwrap();
    let receipts = t.append_many((0..FINDINGS).map(finding).collect()).await.unwrap();
    let linked = &receipts[5];
    let redaction = t
        .append(
            AppendRequest::new(Claim::new(ClaimKind::PiiRedactionEvent, json!({"redactor": "regex", "spans": 2})).unwrap())
                .with_links(vec![linked.content_hash]),
        )
        .await
        .unwrap();
    t.append(
        AppendRequest::new(Claim::new(ClaimKind::AiInvocationEvent, json!({"model": "test-model", "tokens": 10})).unwrap())
            .with_links(vec![redaction.content_hash, linked.content_hash]),
    )
    .await
    .unwrap();
    t.append(AppendRequest::new(
        Claim::new(
            ClaimKind::IngestRecord,
            json!({"schema": "pipeline/ingest_record/v1", "accepted": false, "rows": 3,
                   "rejections": [{"kind": "pii_column", "row": 1, "column_index": 3}, {"kind": "formula", "row": 2, "column_index": 1}]}),
        )
        .unwrap(),
    ))
    .await
    .unwrap();
    let now = ledger::now();
    t.incident(evidence_core::UnixMillis(now.0 - 3_600_000), now, "PII found in a model request", json!({})).await.unwrap();
    let retracted = receipts[10].seq.0;
    t.retract(Seq(retracted), "duplicate of an earlier finding").await.unwrap();
    let ui = ledger_server::ui::UiOptions::default();
    let links = ui.links.clone();
    let files = TempDir::new("dashboard-files");
    let opts = ServiceOptions {
        ui,
        uploads: Some(crate::uploads::settings(files.path().to_owned(), 64 * 1024, "http://placeholder")),
        seal_tick: Duration::from_hours(1),
        anchor_tick: Duration::from_millis(100),
        grace: Duration::from_secs(5),
        ..ServiceOptions::default()
    };
    let local = LocalServer::start(ledger.clone(), opts).await;
    for _ in 0..100 {
        if t.seal_now().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c = t.store().latest_checkpoint().await.unwrap().unwrap();
    'wait: {
        for _ in 0..300 {
            if t.anchor_state(c.seq).await.unwrap().iter().any(|r| r.rail == Rail::Tsa && r.state == AnchorState::Anchored) {
                break 'wait;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("checkpoint not anchored");
    }
    let trust = ledger_server::dev::trust_file(&signer(), vec![local.tsa_root_pem.clone()], Vec::new(), true);
    Fixture {
        base: local.base.clone(),
        store,
        ledger,
        local: Some(local),
        trust,
        retracted,
        linked_finding: linked.seq.0,
        links,
        _files: files,
        _dir: dir,
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_mins(2)).build().unwrap()
}

/// An `application/x-www-form-urlencoded` body (reqwest's `form` feature is not enabled).
trait FormBody {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
                .collect()
        };
        let body = pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        self.header("content-type", "application/x-www-form-urlencoded").body(body)
    }
}

/// `name=value` of the response's `Set-Cookie` named `name`, with its attributes.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with(&format!("{name}="))).map(str::to_owned)
}

fn cookie_pair(set: &str) -> String {
    set.split(';').next().unwrap_or_default().to_owned()
}

fn hidden(html: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let at = html.find(&pat).unwrap_or_else(|| panic!("no {name} field in {html}")) + pat.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Signs in with `bearer`; answers the session cookie pair and the overview's CSRF token.
async fn sign_in(c: &reqwest::Client, base: &str, bearer: &str) -> (String, String) {
    let r = c.get(format!("{base}/ui/sign-in")).send().await.unwrap();
    let pre = cookie_pair(&set_cookie(&r, "ledger_ui_pre").unwrap());
    let csrf = hidden(&r.text().await.unwrap(), "csrf");
    let r = c
        .post(format!("{base}/ui/sign-in"))
        .header("cookie", &pre)
        .form_body(&[("csrf", csrf.as_str()), ("token", bearer)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let set = set_cookie(&r, "ledger_ui").unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let session = cookie_pair(&set);
    let r = c.get(format!("{base}/ui/t/{TENANT}/")).header("cookie", &session).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csrf = hidden(&r.text().await.unwrap(), "csrf");
    (session, csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_roles_headers_and_pages_over_http() {
    let fx = fixture().await;
    let base = fx.base.clone();
    let c = client();
    let principal = test_support::server::token(&fx.store, Some(TENANT), Role::DealerPrincipal).await;
    let auditor = test_support::server::token(&fx.store, Some(TENANT), Role::Auditor).await;
    let operator = test_support::server::token(&fx.store, Some(TENANT), Role::DealerOperator).await;
    let admin = test_support::server::token(&fx.store, None, Role::Admin).await;

    // No session: every tenant page sends to the sign-in page, with the security headers.
    let r = c.get(format!("{base}/ui/t/{TENANT}/findings")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/ui/sign-in");
    let r = c.get(format!("{base}/ui/sign-in")).send().await.unwrap();
    let h = r.headers();
    assert_eq!(h["content-security-policy"], ledger_server::ui::CSP);
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h.contains_key("permissions-policy"));
    assert!(!h.contains_key("strict-transport-security"), "HSTS only with TLS");
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script") && !html.contains("style="), "no script, no inline style");
    let css = html.split("href=\"/ui/assets/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let r = c.get(format!("{base}/ui/assets/{css}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(c.get(format!("{base}/ui/assets/app.0000000000000000.css")).send().await.unwrap().status(), 404);

    // Sign-in: a form without its pre-session twin, a bad token and an admin token are refused.
    let r = c.post(format!("{base}/ui/sign-in")).form_body(&[("csrf", "x"), ("token", principal.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r, "ledger_ui").is_none());
    let r = c.get(format!("{base}/ui/sign-in")).send().await.unwrap();
    let pre = cookie_pair(&set_cookie(&r, "ledger_ui_pre").unwrap());
    let csrf = hidden(&r.text().await.unwrap(), "csrf");
    for (bad, status) in [("evl_nonsense", 401), (admin.as_str(), 403)] {
        let r = c
            .post(format!("{base}/ui/sign-in"))
            .header("cookie", &pre)
            .form_body(&[("csrf", csrf.as_str()), ("token", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
        assert!(set_cookie(&r, "ledger_ui").is_none());
    }

    let (session, csrf) = sign_in(&c, &base, &principal).await;
    let get = |path: String, cookie: String| {
        let c = c.clone();
        async move { c.get(path).header("cookie", cookie).send().await.unwrap() }
    };
    // Every page answers for the principal.
    for p in [
        "",
        "checkpoints",
        "findings",
        "incidents",
        "audit",
        "uploads",
        "reports",
        "plots/claims-per-hour.svg",
        "plots/anchor-latency.svg",
        "plots/refusals.svg",
    ] {
        let r = get(format!("{base}/ui/t/{TENANT}/{p}"), session.clone()).await;
        assert_eq!(r.status(), 200, "{p}");
        assert_eq!(r.headers()["content-security-policy"], ledger_server::ui::CSP);
        let body = r.text().await.unwrap();
        assert!(!body.contains("style=") && !body.contains("<script"), "{p}");
    }
    let svg = get(format!("{base}/ui/t/{TENANT}/plots/refusals.svg"), session.clone()).await.text().await.unwrap();
    assert!(svg.contains("pii_column") && svg.contains("1 files refused"), "{svg}");

    // Findings: 50 a page, newest first, keyset "older" link; filters; personnel codes only.
    let html = get(format!("{base}/ui/t/{TENANT}/findings"), session.clone()).await.text().await.unwrap();
    assert_eq!(html.matches("/claims/").count(), 50);
    assert!(
        html.contains(&format!("findings?analyzer=&#38;rule=&#38;from=&#38;to=&#38;staff=&#38;q=&#38;before={}", FINDINGS - 50)),
        "keyset link: {}",
        html.split("class=\"pager\"").nth(1).unwrap_or_default()
    );
    assert!(!html.contains("Jane Doe"), "a staff_code that is not a personnel code is never shown");
    let html = get(format!("{base}/ui/t/{TENANT}/findings?analyzer=service&staff=SV-03"), session.clone()).await.text().await.unwrap();
    let expected = (0..FINDINGS).filter(|i| i % 3 == 2 && i % 4 == 2).count();
    assert_eq!(html.matches("<td>service.unbilled_labour</td>").count(), expected);
    let html = get(format!("{base}/ui/t/{TENANT}/findings?q=d-10010"), session.clone()).await.text().await.unwrap();
    assert!(html.contains("retracted by claim"), "search by deal number finds the retracted finding: {html}");
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/findings?from=2026-13-01"), session.clone()).await.status(), 400);
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/checkpoints?before=x"), session.clone()).await.status(), 400);

    // Claim detail: links both ways, downloads.
    let html = get(format!("{base}/ui/t/{TENANT}/claims/{}", fx.linked_finding), session.clone()).await.text().await.unwrap();
    assert!(html.contains("Linked from") && html.contains(&format!("claim {FINDINGS}")), "{html}");
    let r = get(format!("{base}/ui/t/{TENANT}/claims/0/bundle.json"), session.clone()).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("claim-0.bundle.json"));
    let b: evidence_core::bundle::Bundle = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(Verifier::new(TrustStore::new(fx.trust.clone()).unwrap()).verify(&b).verdict, Verdict::Verified);
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/claims/99999"), session.clone()).await.status(), 404);
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/claims/-1"), session.clone()).await.status(), 400);

    // Tenant isolation: this session sees nothing of the other tenant.
    for p in ["", "findings", "claims/0", "claims/0/bundle.json", "audit"] {
        assert_eq!(get(format!("{base}/ui/t/{OTHER}/{p}"), session.clone()).await.status(), 403, "{p}");
    }

    // Retract: CSRF required, then it is written and shown.
    let target = format!("{base}/ui/t/{TENANT}/claims/3/retract");
    let r = c.post(&target).header("cookie", &session).form_body(&[("csrf", "wrong"), ("reason", "r")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r =
        c.post(&target).header("cookie", &session).form_body(&[("csrf", csrf.as_str()), ("reason", "entered twice")]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let html = get(format!("{base}/ui/t/{TENANT}/claims/3"), session.clone()).await.text().await.unwrap();
    assert!(html.contains("retracted by claim") && html.contains("entered twice"));

    // The auditor reads and exports but is refused a retract; the operator may not export.
    let (a_session, a_csrf) = sign_in(&c, &base, &auditor).await;
    let html = get(format!("{base}/ui/t/{TENANT}/claims/4"), a_session.clone()).await.text().await.unwrap();
    assert!(html.contains("may not retract") && !html.contains("/retract\""));
    let r = c
        .post(format!("{base}/ui/t/{TENANT}/claims/4/retract"))
        .header("cookie", &a_session)
        .form_body(&[("csrf", a_csrf.as_str()), ("reason", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/claims/4/bundle.json"), a_session.clone()).await.status(), 200);
    let (o_session, _) = sign_in(&c, &base, &operator).await;
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/claims/4/bundle.json"), o_session.clone()).await.status(), 403);
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/audit"), o_session.clone()).await.status(), 403);
    let nav = get(format!("{base}/ui/t/{TENANT}/"), o_session.clone()).await.text().await.unwrap();
    assert!(!nav.contains("Audit log"), "the navigation shows only what the role may see");

    // Every view and action is in the tenant's audit log, refusals included.
    let t = fx.ledger.tenant(&tid(&format!("{TENANT}.audit"))).await.unwrap();
    let size = t.store().size().await.unwrap();
    let mut refused_retract = false;
    for s in 0..size {
        let body = t.claim_parts(Seq(s)).await.unwrap().record.unwrap().1.body;
        if body["route"] == json!("/ui/t/{tenant}/claims/{seq}/retract") && body["status"] == json!(403) && body["role"] == json!("auditor")
        {
            refused_retract = true;
        }
    }
    assert!(refused_retract, "the auditor's refused retract is audited");

    // Sign-out ends the session on the server: the old cookie no longer works.
    let r = c.post(format!("{base}/ui/sign-out")).header("cookie", &session).form_body(&[("csrf", "nope")]).send().await.unwrap();
    assert_eq!(r.status(), 403, "sign-out needs the CSRF token too");
    let r = c.post(format!("{base}/ui/sign-out")).header("cookie", &session).form_body(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(set_cookie(&r, "ledger_ui").unwrap().contains("Max-Age=0"));
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/"), session.clone()).await.status(), 303);

    // Revoking the token ends its sessions (after the API's token cache, 1 s by default).
    let id = auditor.split('_').nth(1).unwrap();
    assert!(fx.store.revoke_token(id, ledger::now()).await.unwrap());
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/"), a_session.clone()).await.status(), 303);

    // A one-time sign-in link works once (GET shows a button; the POST uses it up).
    let nonce = fx.links.issue(&principal, Duration::from_mins(5)).unwrap();
    let link = format!("{base}/ui/link/{nonce}");
    let r = c.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let pre = cookie_pair(&set_cookie(&r, "ledger_ui_pre").unwrap());
    let csrf = hidden(&r.text().await.unwrap(), "csrf");
    let r = c.post(&link).header("cookie", &pre).form_body(&[("csrf", "forged")]).send().await.unwrap();
    assert_eq!(r.status(), 403, "the link's form needs its CSRF twin");
    let r = c.post(&link).header("cookie", &pre).form_body(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let s = cookie_pair(&set_cookie(&r, "ledger_ui").unwrap());
    assert_eq!(get(format!("{base}/ui/t/{TENANT}/"), s).await.status(), 200);
    let r = c.post(&link).header("cookie", &pre).form_body(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 410, "used once");
    assert_eq!(c.get(&link).send().await.unwrap().status(), 410);
    fx.local.unwrap().shutdown().await.unwrap();
}

// ---- the browser ----------------------------------------------------------------------

const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");

async fn check_page(b: &Browser, base: &str, what: &str) {
    // CSP violations are console errors naming the Content Security Policy.
    let logs = b.log("browser").await.unwrap();
    for l in &logs {
        let m = l["message"].as_str().unwrap_or_default();
        assert!(!m.contains("Content Security Policy") && !m.contains("Content-Security-Policy"), "{what}: CSP violation: {m}");
        assert_ne!(l["level"], json!("SEVERE"), "{what}: console error: {m}");
    }
    for u in b.requested_urls().await.unwrap() {
        assert!(u.starts_with(base) || u.starts_with("data:") || u.starts_with("about:"), "{what}: request to another host: {u}");
    }
    // axe-core: no serious or critical violation.
    b.execute(&format!("{AXE}\n;return typeof axe;"), vec![]).await.unwrap();
    let v = b
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help}))))
               .catch(e => done({error: String(e)}));",
            vec![],
        )
        .await
        .unwrap();
    let bad: Vec<&Value> = v
        .as_array()
        .unwrap_or_else(|| panic!("{what}: axe failed: {v}"))
        .iter()
        .filter(|x| x["impact"] == json!("serious") || x["impact"] == json!("critical"))
        .collect();
    assert!(bad.is_empty(), "{what}: axe-core: {bad:?}");
    // Keyboard alone reaches every link, button and field: Tab through the page.
    let focusable = "a[href], button, input:not([type=hidden]), select, textarea";
    let total = b
        .execute(
            &format!("document.activeElement.blur(); window.scrollTo(0,0); return document.querySelectorAll('{focusable}').length;"),
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    // (A date field takes one Tab per part, so allow more presses than elements.)
    let mark = format!(
        "if (document.activeElement) document.activeElement.setAttribute('data-kb', '1');
         return Array.from(document.querySelectorAll('{focusable}')).filter(e => !e.hasAttribute('data-kb')).map(e => e.outerHTML.slice(0, 80));"
    );
    let mut missed = json!(["not tried"]);
    for _ in 0..(2 * total + 20) {
        b.key(browser::TAB).await.unwrap();
        missed = b.execute(&mark, vec![]).await.unwrap();
        if missed == json!([]) {
            break;
        }
    }
    assert_eq!(missed, json!([]), "{what}: not reachable with Tab");
    // Drop the logs of the checks themselves.
    let _ = b.log("browser").await;
    let _ = b.requested_urls().await;
}

/// Waits (up to 10 s) for the browser's URL to end with `suffix` (a click that submits a form
/// may return before the navigation it starts).
async fn wait_url(b: &Browser, suffix: &str) {
    for _ in 0..100 {
        if b.url().await.unwrap().ends_with(suffix) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser is at {} not …{suffix}: {}", b.url().await.unwrap(), b.source().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_real_chromium() {
    let downloads = TempDir::new("dashboard-downloads");
    let Some(b) = Browser::start(downloads.path()).await.unwrap() else { return };
    let fx = fixture().await;
    let base = fx.base.clone();
    let principal = test_support::server::token(&fx.store, Some(TENANT), Role::DealerPrincipal).await;
    let auditor = test_support::server::token(&fx.store, Some(TENANT), Role::Auditor).await;

    // Sign in by typing the token; land on the overview.
    b.goto(&format!("{base}/ui/")).await.unwrap();
    assert!(b.url().await.unwrap().ends_with("/ui/sign-in"));
    check_page(&b, &base, "sign-in").await;
    let field = b.find("#token").await.unwrap();
    b.type_into(&field, &principal).await.unwrap();
    b.click(&b.find("button[type=submit]").await.unwrap()).await.unwrap();
    wait_url(&b, &format!("/ui/t/{TENANT}/")).await;
    let src = b.source().await.unwrap();
    assert!(src.contains("claims in the log") && src.contains("RFC 3161 TSA"), "{src}");
    // Let the plots load, then the screenshot for the README.
    b.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    let png = b.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    // The README's copy is refreshed only on request (DASHBOARD_SCREENSHOT=docs/img/...), so a
    // test run never rewrites a tracked file.
    let img = std::env::var_os("DASHBOARD_SCREENSHOT")
        .map_or_else(|| std::env::temp_dir().join("dashboard-overview.png"), std::path::PathBuf::from);
    if let Some(dir) = img.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&img, &png).unwrap();
    let loaded = b.execute("return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0);", vec![]).await.unwrap();
    assert_eq!(loaded, json!(true), "every plot image loads under the CSP");
    check_page(&b, &base, "overview").await;

    for p in ["checkpoints", "findings", "incidents", "audit", "uploads", "reports", &format!("claims/{}", fx.linked_finding)] {
        b.goto(&format!("{base}/ui/t/{TENANT}/{p}")).await.unwrap();
        let src = b.source().await.unwrap();
        assert!(!src.contains("Error 4") && !src.contains("Error 5"), "{p}: {src}");
        check_page(&b, &base, p).await;
    }

    // Send an export with the upload form as a dealer would: choose the profile and the
    // export, pick the file, press Upload; the page it lands on shows the outcome.
    b.goto(&format!("{base}/ui/t/{TENANT}/uploads")).await.unwrap();
    b.execute("document.getElementById('u-profile').value = 'cdk'; document.getElementById('u-export').value = 'sales';", vec![])
        .await
        .unwrap();
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/testdata/csv/cdk_sales_valid.csv").canonicalize().unwrap();
    b.type_into(&b.find("#u-file").await.unwrap(), csv.to_str().unwrap()).await.unwrap();
    b.click(&b.find("form[enctype='multipart/form-data'] button[type=submit]").await.unwrap()).await.unwrap();
    for _ in 0..100 {
        if b.url().await.unwrap().contains("/uploads?upload=u") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let src = b.source().await.unwrap();
    assert!(src.contains("<strong>ingested</strong>") && src.contains("cdk_sales_valid.csv"), "{src}");
    check_page(&b, &base, "uploads, after sending a file").await;

    // Filter findings with the form, by keyboard: choose the analyzer, Enter on the button.
    b.goto(&format!("{base}/ui/t/{TENANT}/findings")).await.unwrap();
    b.execute("document.getElementById('f-analyzer').value = 'service';", vec![]).await.unwrap();
    let staff = b.find("#f-staff").await.unwrap();
    b.type_into(&staff, "SV-03").await.unwrap();
    b.key(browser::ENTER).await.unwrap();
    wait_url(&b, "q=").await;
    assert!(b.url().await.unwrap().contains("analyzer=service&"), "{}", b.url().await.unwrap());
    let src = b.source().await.unwrap();
    let expected = (0..FINDINGS).filter(|i| i % 3 == 2 && i % 4 == 2).count();
    assert_eq!(src.matches("<td>service.unbilled_labour</td>").count(), expected);
    check_page(&b, &base, "findings filtered").await;

    // Download a bundle from the claim page and verify it.
    b.goto(&format!("{base}/ui/t/{TENANT}/claims/0")).await.unwrap();
    b.click(&b.find("a[href$='/bundle.json']").await.unwrap()).await.unwrap();
    let file = downloads.path().join("claim-0.bundle.json");
    for _ in 0..100 {
        if file.is_file() && std::fs::metadata(&file).is_ok_and(|m| m.len() > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bytes = std::fs::read(&file).expect("the bundle was downloaded");
    let bundle: evidence_core::bundle::Bundle = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(Verifier::new(TrustStore::new(fx.trust.clone()).unwrap()).verify(&bundle).verdict, Verdict::Verified);
    let bin = Path::new(env!("CARGO_BIN_EXE_ledger-server")).with_file_name("evidence-verify");
    if bin.is_file() {
        let trust = downloads.path().join("trust.json");
        std::fs::write(&trust, serde_json::to_vec(&fx.trust).unwrap()).unwrap();
        let out = std::process::Command::new(&bin).arg("bundle").arg(&file).arg("--trust").arg(&trust).output().unwrap();
        assert!(out.status.success(), "evidence-verify: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    } else {
        eprintln!("evidence-verify not built at {}: the download was verified with evidence-core's Verifier only", bin.display());
    }
    let _ = b.log("browser").await;
    let _ = b.requested_urls().await;

    // Sign out with the header button; the overview then sends to sign-in.
    b.click(&b.find("form[action='/ui/sign-out'] button").await.unwrap()).await.unwrap();
    wait_url(&b, "/ui/sign-in").await;
    b.goto(&format!("{base}/ui/t/{TENANT}/")).await.unwrap();
    assert!(b.url().await.unwrap().ends_with("/ui/sign-in"));

    // The auditor: no retract form; a forged one is refused by the server.
    b.type_into(&b.find("#token").await.unwrap(), &auditor).await.unwrap();
    b.click(&b.find("button[type=submit]").await.unwrap()).await.unwrap();
    wait_url(&b, &format!("/ui/t/{TENANT}/")).await;
    b.goto(&format!("{base}/ui/t/{TENANT}/claims/7")).await.unwrap();
    let src = b.source().await.unwrap();
    assert!(src.contains("may not retract"));
    check_page(&b, &base, "claim (auditor)").await;
    b.execute(
        "const f = document.createElement('form'); f.method = 'post'; f.action = location.pathname + '/retract';
         for (const [k, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['reason', 'forged']]) {
           const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }
         document.body.appendChild(f); f.submit();",
        vec![],
    )
    .await
    .unwrap();
    wait_url(&b, "/claims/7/retract").await;
    let src = b.source().await.unwrap();
    assert!(src.contains("Error 403") && src.contains("may not retract"), "{src}");
    let t = fx.ledger.tenant(&tid(TENANT)).await.unwrap();
    let status = t.claim_parts(Seq(7)).await.unwrap();
    assert!(status.record.is_some());
    let _ = fx.retracted;

    // The CSP check can fail: an inline style attribute added to a page is refused by the
    // policy, and the refusal is in the browser log the checks read.
    b.goto(&format!("{base}/ui/t/{TENANT}/")).await.unwrap();
    let _ = b.log("browser").await.unwrap();
    b.execute(
        "const d = document.createElement('div'); d.innerHTML = '<p style=\"color: red\">x</p>'; document.body.appendChild(d);",
        vec![],
    )
    .await
    .unwrap();
    let mut seen = false;
    for _ in 0..50 {
        if b.log("browser").await.unwrap().iter().any(|l| l["message"].as_str().is_some_and(|m| m.contains("Content Security Policy"))) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "a CSP violation shows in the browser log");
    b.quit().await;
    fx.local.unwrap().shutdown().await.unwrap();
}

/// A tenant with one claim behind a dashboard with these HTTP limits.
async fn small_server(limits: ledger_server::http::HttpLimits) -> (LocalServer, SqliteStore, Ledger<SqliteStore>, TempDir) {
    small_server_with(limits, None).await
}

/// [`small_server`] taking uploads into `files` (at most `max` bytes each) when given.
async fn small_server_with(
    limits: ledger_server::http::HttpLimits,
    uploads: Option<(&Path, u64)>,
) -> (LocalServer, SqliteStore, Ledger<SqliteStore>, TempDir) {
    let dir = TempDir::new("dashboard-limits");
    let store = SqliteStore::open(dir.path().join("db"), Durability::ProcessCrash).await.unwrap();
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    let t = ledger.create_tenant(&tid(TENANT), &TenantConfig::default()).await.unwrap();
    t.append(finding(0)).await.unwrap();
    let opts = ServiceOptions {
        limits,
        seal_tick: Duration::from_hours(1),
        grace: Duration::from_secs(5),
        uploads: uploads.map(|(files, max)| crate::uploads::settings(files.to_owned(), max, "http://placeholder")),
        ..ServiceOptions::default()
    };
    (LocalServer::start(ledger.clone(), opts).await, store, ledger, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_spend_the_tokens_api_rate_budget() {
    // Rate: a burst of 3 and almost no refill. Signing in reads the overview (1); two more
    // pages pass; the fourth is 429 with Retry-After, and the API refuses the same token too.
    let limits = ledger_server::http::HttpLimits { rate_per_sec: 0.001, rate_burst: 3.0, ..Default::default() };
    let (server, store, _ledger, _dir) = small_server(limits).await;
    let base = server.base.clone();
    let c = client();
    let bearer = test_support::server::token(&store, Some(TENANT), Role::DealerPrincipal).await;
    let (session, _) = sign_in(&c, &base, &bearer).await;
    for _ in 0..2 {
        let r = c.get(format!("{base}/ui/t/{TENANT}/findings")).header("cookie", &session).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = c.get(format!("{base}/ui/t/{TENANT}/findings")).header("cookie", &session).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1, "{wait}");
    assert!(r.text().await.unwrap().contains("too many requests"));
    let r = c.get(format!("{base}/v1/tenants/{TENANT}/checkpoints")).bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(r.status(), 429, "the API and the dashboard share the token's bucket");
    server.shutdown().await.unwrap();

    // The request timeout is `ui::within`'s, tested there with a page that sleeps (a real page
    // is too fast to be cut reliably here).
}

/// A `multipart/form-data` body as the upload form sends it (csrf, profile, export, file):
/// answers the content type and the body.
fn upload_form(csrf: &str, profile: &str, export: &str, filename: &str, content_type: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----evidence-ledger-test-7d1f03";
    let mut b = Vec::new();
    for (k, v) in [("csrf", csrf), ("profile", profile), ("export", export)] {
        b.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(file);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upload_form_takes_a_file_through_the_signed_url_path() {
    use ledger::store::uploads::UploadStore as _;
    let files = TempDir::new("dashboard-upload-files");
    let (server, store, ledger, _dir) =
        small_server_with(ledger_server::http::HttpLimits::default(), Some((files.path(), 64 * 1024))).await;
    let base = server.base.clone();
    let c = client();
    let operator = test_support::server::token(&store, Some(TENANT), Role::DealerOperator).await;
    let auditor = test_support::server::token(&store, Some(TENANT), Role::Auditor).await;
    let t = ledger.tenant(&tid(TENANT)).await.unwrap();
    let uploads_now = || async { t.store().uploads(0, 100).await.unwrap() };

    // The operator sees the form (multipart, CSRF field, every profile and export).
    let (session, csrf) = sign_in(&c, &base, &operator).await;
    let page = c.get(format!("{base}/ui/t/{TENANT}/uploads")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("name=\"file\""), "{page}");
    for v in ["cdk", "reynolds", "dealertrack", "pbs", "quorum", "sales"] {
        assert!(page.contains(&format!("<option value=\"{v}\">")), "{v} missing");
    }
    let post = |ct: String, body: Vec<u8>, cookie: &str| {
        c.post(format!("{base}/ui/t/{TENANT}/uploads")).header("cookie", cookie).header("content-type", ct).body(body).send()
    };

    // A valid export: stored, checked and ingested; the redirect's page shows the outcome.
    let csv = crate::uploads::fixture("cdk_sales_valid.csv");
    let (ct, body) = upload_form(&csrf, "cdk", "sales", "deals-2026-12.csv", "text/csv", &csv);
    let r = post(ct, body, &session).await.unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&format!("/ui/t/{TENANT}/uploads?upload=u")), "{to}");
    let page = c.get(format!("{base}{to}")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<strong>ingested</strong>") && page.contains("deals-2026-12.csv"), "{page}");
    let rows = uploads_now().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!((row.upload.via.as_str(), row.state.as_str()), ("dashboard", "ingested"));
    assert_eq!(row.bytes, Some(csv.len() as u64));
    assert_eq!(row.sha256.as_deref(), Some(hex::encode(evidence_core::types::sha256(&[&csv])).as_str()));
    // Its ingest_record claim names the upload and the path it came by.
    let mut record = None;
    for s in 0..t.store().size().await.unwrap() {
        let body = t.claim_parts(Seq(s)).await.unwrap().record.unwrap().1.body;
        if body["upload_id"] == json!(row.upload.id) {
            record = Some(body);
        }
    }
    let record = record.expect("an ingest_record names the upload");
    assert_eq!(record["path"], json!(format!("POST /ui/t/{TENANT}/uploads (deals-2026-12.csv)")), "{record}");

    // A customer-PII header: refused and the file deleted, as through a signed URL.
    let (ct, body) = upload_form(&csrf, "cdk", "sales", "with-customers.csv", "text/csv", &crate::uploads::fixture("pii_headers_en.csv"));
    let r = post(ct, body, &session).await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let page = c.get(format!("{base}{to}")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("class=\"bad\">refused</strong>") && page.contains("pii_column"), "{page}");
    let id = to.rsplit('=').next().unwrap().to_owned();
    assert!(!files.path().join(TENANT).join(format!("{id}.evuf")).exists(), "a PII file is deleted");

    // Refusals that create nothing: a forged CSRF token, a binary type, the auditor (no form,
    // and a POST is 403), a file over the limit (413, and the upload is not left pending).
    let before = uploads_now().await.len();
    let (ct, body) = upload_form("forged", "cdk", "sales", "x.csv", "text/csv", &csv);
    assert_eq!(post(ct, body, &session).await.unwrap().status(), 403);
    let (ct, body) = upload_form(&csrf, "cdk", "sales", "x.png", "image/png", b"\x89PNG");
    assert_eq!(post(ct, body, &session).await.unwrap().status(), 415);
    assert_eq!(uploads_now().await.len(), before, "refused before an upload is created");
    let (a_session, a_csrf) = sign_in(&c, &base, &auditor).await;
    let page = c.get(format!("{base}/ui/t/{TENANT}/uploads")).header("cookie", &a_session).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("multipart/form-data"), "no form for a role that may not upload");
    let (ct, body) = upload_form(&a_csrf, "cdk", "sales", "x.csv", "text/csv", &csv);
    assert_eq!(post(ct, body, &a_session).await.unwrap().status(), 403);
    let mut big = csv.clone();
    while big.len() <= 64 * 1024 {
        big.extend_from_slice(&csv[csv.iter().position(|&b| b == b'\n').unwrap() + 1..]);
    }
    let (ct, body) = upload_form(&csrf, "cdk", "sales", "big.csv", "text/csv", &big);
    assert_eq!(post(ct, body, &session).await.unwrap().status(), 413);
    let rows = uploads_now().await;
    assert_eq!(rows.len(), before + 1);
    assert_eq!(rows.last().unwrap().state.as_str(), "pending", "a cut body gives the upload back, as a PUT's does");
    server.shutdown().await.unwrap();
}

/// Two replicas on one PostgreSQL database: a session opened on one is good on the other, a
/// sign-out on the other ends it on both, and a replica started later knows it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_shared_by_replicas_on_one_store() {
    use ledger::store::postgres::PgStore;
    let h = test_support::PgHarness::start().await;
    let store_a = PgStore::connect_with(h.options.clone(), 4).await.unwrap();
    let store_b = PgStore::connect_with(h.options.clone(), 4).await.unwrap();
    let ledger_a = Ledger::with_rails(store_a.clone(), signer(), keys(), vec![Rail::Tsa]);
    let ledger_b = Ledger::with_rails(store_b.clone(), signer(), keys(), vec![Rail::Tsa]);
    ledger_a.create_tenant(&tid(TENANT), &TenantConfig::default()).await.unwrap().append(finding(0)).await.unwrap();
    let opts = || ServiceOptions { seal_tick: Duration::from_hours(1), grace: Duration::from_secs(5), ..ServiceOptions::default() };
    let a = LocalServer::start(ledger_a.clone(), opts()).await;
    let b = LocalServer::start(ledger_b.clone(), opts()).await;
    let c = client();
    let bearer = test_support::server::token(&store_a, Some(TENANT), Role::DealerPrincipal).await;
    let page = |base: String, cookie: String| {
        let c = c.clone();
        async move { c.get(format!("{base}/ui/t/{TENANT}/findings")).header("cookie", cookie).send().await.unwrap().status().as_u16() }
    };

    let (session, csrf) = sign_in(&c, &a.base, &bearer).await;
    assert_eq!(page(a.base.clone(), session.clone()).await, 200);
    assert_eq!(page(b.base.clone(), session.clone()).await, 200, "replica B knows A's session");
    // A third replica, started after the sign-in (as after a restart), knows it as well.
    let late = LocalServer::start(
        Ledger::with_rails(PgStore::connect_with(h.options.clone(), 2).await.unwrap(), signer(), keys(), vec![Rail::Tsa]),
        opts(),
    )
    .await;
    assert_eq!(page(late.base.clone(), session.clone()).await, 200, "a session outlives the process that opened it");
    // Sign-out on B ends it everywhere.
    let r =
        c.post(format!("{}/ui/sign-out", b.base)).header("cookie", &session).form_body(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    for base in [&a.base, &b.base, &late.base] {
        assert_eq!(page(base.clone(), session.clone()).await, 303, "{base}: signed out on every replica");
    }
    // Revoking the token on one replica's store ends a new session on the others.
    let (session, _) = sign_in(&c, &b.base, &bearer).await;
    let (token_id, _) = ledger_server::auth::split(&bearer).unwrap();
    assert!(store_a.revoke_token(token_id, ledger::now()).await.unwrap());
    assert_eq!(page(b.base.clone(), session.clone()).await, 303, "a revoked token's session ends");
    for s in [a, b, late] {
        s.shutdown().await.unwrap();
    }
}
