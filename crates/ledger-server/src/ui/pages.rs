//! The dashboard's pages. Each handler runs behind the guard (session, role table, audit)
//! and gets the [`Viewer`]; lists are paged by key (`?before=<seq>` / `?from=<n>`), never
//! by offset, so a page costs the same at the start and at the end of a large log.

use axum::Extension;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use evidence_core::types::UnixMillis;
use evidence_core::{CheckpointSeq, LeafEntry, Seq};
use ledger::TenantLedger;
use ledger::store::uploads::UploadStore as _;
use ledger::store::{AnchorRow, AnchorState, Rail, Store, TenantStore};

use super::index::{Correction, TenantIndex};
use super::session::check_csrf;
use super::{Dash, UiError, Viewer, assets, may, plots};

type Page = Result<Response, UiError>;

/// A page bound from the query string; a malformed one is a 400, not the first page.
fn paged<T>(q: Result<Query<T>, QueryRejection>) -> Result<Option<T>, UiError> {
    match q {
        Ok(Query(t)) => Ok(Some(t)),
        Err(_) => Err(UiError::bad("the page bound must be a non-negative integer")),
    }
}

/// Rows per page.
const PAGE: usize = 50;
/// Checkpoints per page (each row verifies a consistency proof).
const CHECKPOINT_PAGE: u64 = 25;

fn html<T: askama::Template>(t: &T) -> Page {
    Ok(Html(t.render()?).into_response())
}

fn time(t: UnixMillis) -> String {
    let s = t.to_rfc3339();
    s.split('.').next().map_or(s.clone(), |x| format!("{x}Z"))
}

/// "3 min ago" for a time in the past.
pub(crate) fn ago(t: UnixMillis) -> String {
    let secs = (ledger::now().0 - t.0).max(0) / 1000;
    match secs {
        0..=119 => format!("{secs} s ago"),
        120..=7199 => format!("{} min ago", secs / 60),
        7200..=172_799 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// One link of the navigation.
#[derive(Debug)]
pub(crate) struct NavLink {
    pub(crate) href: String,
    pub(crate) label: &'static str,
    pub(crate) current: bool,
}

/// What every tenant page's frame shows.
#[derive(Debug)]
pub(crate) struct Nav {
    pub(crate) css: String,
    pub(crate) tenant: String,
    pub(crate) role: String,
    pub(crate) csrf: String,
    pub(crate) links: Vec<NavLink>,
    pub(crate) title: String,
}

fn nav(v: &Viewer, current: &'static str, title: impl Into<String>) -> Nav {
    let t = v.tenant.as_str();
    let items: [(&str, &'static str, &str); 8] = [
        ("/ui/t/{tenant}/", "Overview", ""),
        ("/ui/t/{tenant}/checkpoints", "Checkpoints", "checkpoints"),
        ("/ui/t/{tenant}/findings", "Findings", "findings"),
        ("/ui/t/{tenant}/incidents", "Incidents", "incidents"),
        ("/ui/t/{tenant}/audit", "Audit log", "audit"),
        ("/ui/t/{tenant}/uploads", "Uploads", "uploads"),
        ("/ui/t/{tenant}/reports", "Reports", "reports"),
        ("", "", ""),
    ];
    let links = items
        .iter()
        .filter(|(p, _, _)| !p.is_empty() && may(&v.principal, "GET", p))
        .map(|(_, label, slug)| NavLink { href: format!("/ui/t/{t}/{slug}"), label, current: *label == current })
        .collect();
    Nav {
        css: assets::css_path(),
        tenant: t.to_owned(),
        role: v.principal.role.to_string(),
        csrf: v.csrf.clone(),
        links,
        title: title.into(),
    }
}

async fn open<S: Store + Clone>(d: &Dash<S>, v: &Viewer) -> Result<TenantLedger<S::Tenant>, UiError> {
    Ok(d.app.ledger.tenant(&v.tenant).await?)
}

/// The error page.
#[derive(askama::Template)]
#[template(path = "ui/error.html")]
pub(crate) struct ErrorPage {
    pub(crate) css: String,
    pub(crate) status: u16,
    pub(crate) message: String,
}

/// The sign-in page.
#[derive(askama::Template)]
#[template(path = "ui/sign_in.html")]
pub(crate) struct SignInPage {
    pub(crate) css: String,
    pub(crate) csrf: String,
    pub(crate) message: String,
}

/// The one-time link's confirmation page.
#[derive(askama::Template)]
#[template(path = "ui/link.html")]
pub(crate) struct LinkPage {
    pub(crate) css: String,
    pub(crate) csrf: String,
    pub(crate) action: String,
}

// ---- overview -------------------------------------------------------------------------

#[derive(Debug)]
pub(crate) struct RailState {
    name: &'static str,
    last_anchor: String,
    since: String,
    pending: usize,
    failed: usize,
    out_of_residency: usize,
    reanchors: usize,
    stale: bool,
}

#[derive(Debug)]
pub(crate) struct Trouble {
    checkpoint: u64,
    rail: &'static str,
    what: String,
    detail: String,
}

#[derive(askama::Template)]
#[template(path = "ui/overview.html")]
pub(crate) struct Overview {
    nav: Nav,
    claims: u64,
    findings: usize,
    retracted: usize,
    kinds: Vec<(String, u64)>,
    has_checkpoint: bool,
    checkpoint: u64,
    checkpoint_size: u64,
    checkpoint_time: String,
    checkpoint_ago: String,
    rails: Vec<RailState>,
    troubles: Vec<Trouble>,
    plot_base: String,
}

fn rail_name(r: Rail) -> &'static str {
    match r {
        Rail::Tsa => "RFC 3161 TSA",
        Rail::Fabric => "Hyperledger Fabric",
    }
}

/// Checkpoints whose anchors the overview reads (the newest ones).
const OVERVIEW_CHECKPOINTS: u64 = 20;

pub(crate) async fn overview<S: Store + Clone>(State(d): State<Dash<S>>, Extension(v): Extension<Viewer>) -> Page {
    let t = open(&d, &v).await?;
    let ix = d.index.current(&t).await?;
    let claims = ix.scanned;
    let latest = t.store().latest_checkpoint().await?;
    let mut rails = Vec::new();
    let mut troubles = Vec::new();
    let mut recent: Vec<AnchorRow> = Vec::new();
    if let Some(c) = &latest {
        let from = (c.seq.0 + 1).saturating_sub(OVERVIEW_CHECKPOINTS);
        for cs in from..=c.seq.0 {
            recent.extend(t.anchor_state(CheckpointSeq(cs)).await?);
        }
    }
    let unanchored = t.store().unanchored().await?;
    for rail in [Rail::Tsa, Rail::Fabric] {
        let rows: Vec<&AnchorRow> = recent.iter().filter(|a| a.rail == rail).collect();
        let open_rows: Vec<&AnchorRow> = unanchored.iter().filter(|a| a.rail == rail).collect();
        if rows.is_empty() && open_rows.is_empty() {
            continue;
        }
        let last =
            rows.iter().filter(|a| a.state == AnchorState::Anchored).filter_map(|a| a.anchored_at.map(|at| (a.checkpoint_seq.0, at))).max();
        let failed = open_rows.iter().filter(|a| a.state == AnchorState::Failed || a.last_error.is_some()).count();
        rails.push(RailState {
            name: rail_name(rail),
            last_anchor: last.map_or_else(|| "none yet".to_owned(), |(c, at)| format!("checkpoint {c} at {}", time(at))),
            since: last.map_or_else(|| "never".to_owned(), |(_, at)| ago(at)),
            pending: open_rows.len(),
            failed,
            out_of_residency: rows.iter().filter(|a| a.in_residency == Some(false)).count(),
            reanchors: rows.iter().filter(|a| a.reanchor_of.is_some()).count(),
            stale: last.is_none_or(|(_, at)| ledger::now().0 - at.0 > 3_600_000),
        });
    }
    for a in unanchored.iter().filter(|a| a.last_error.is_some() || a.state == AnchorState::Failed).take(20) {
        troubles.push(Trouble {
            checkpoint: a.checkpoint_seq.0,
            rail: rail_name(a.rail),
            what: format!("{} after {} attempts", if a.state == AnchorState::Failed { "failed" } else { "retrying" }, a.attempts),
            detail: a.last_error.clone().unwrap_or_default().chars().take(200).collect(),
        });
    }
    for a in recent.iter().filter(|a| a.in_residency == Some(false)) {
        troubles.push(Trouble {
            checkpoint: a.checkpoint_seq.0,
            rail: rail_name(a.rail),
            what: "outside the residency policy".into(),
            detail: format!(
                "{} ({})",
                a.authority.clone().unwrap_or_default(),
                a.jurisdiction.clone().unwrap_or_else(|| "no jurisdiction".into())
            ),
        });
    }
    for a in recent.iter().filter(|a| a.reanchor_of.is_some()) {
        troubles.push(Trouble {
            checkpoint: a.checkpoint_seq.0,
            rail: rail_name(a.rail),
            what: format!("re-anchor of anchor {}", a.reanchor_of.unwrap_or_default()),
            detail: format!("{:?}", a.state).to_lowercase(),
        });
    }
    let retracted = ix.findings.iter().filter(|f| matches!(ix.corrections.get(&f.seq), Some(Correction::Retracted { .. }))).count();
    let page = Overview {
        nav: nav(&v, "Overview", format!("Overview of {}", v.tenant)),
        claims,
        findings: ix.findings.len(),
        retracted,
        kinds: ix.per_kind.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect(),
        has_checkpoint: latest.is_some(),
        checkpoint: latest.as_ref().map_or(0, |c| c.seq.0),
        checkpoint_size: latest.as_ref().map_or(0, |c| c.root.tree_size.0),
        checkpoint_time: latest.as_ref().map(|c| time(c.sealed_at)).unwrap_or_default(),
        checkpoint_ago: latest.as_ref().map(|c| ago(c.sealed_at)).unwrap_or_default(),
        rails,
        troubles,
        plot_base: format!("/ui/t/{}/plots", v.tenant),
    };
    html(&page)
}

// ---- checkpoints ----------------------------------------------------------------------

#[derive(Debug, serde::Deserialize)]
pub(crate) struct Before {
    before: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct CheckpointView {
    seq: u64,
    size: u64,
    root: String,
    sealed: String,
    tsa: String,
    fabric: String,
    consistency: String,
    consistent: bool,
}

#[derive(askama::Template)]
#[template(path = "ui/checkpoints.html")]
pub(crate) struct Checkpoints {
    nav: Nav,
    rows: Vec<CheckpointView>,
    older: String,
    newer: String,
}

/// The Fabric block number from a stored Fabric anchor (the `FabricAnchor` JSON whose
/// `block` is the block's protobuf): `Block.header.number`.
fn fabric_block_number(evidence: &[u8]) -> Option<u64> {
    let a: evidence_core::bundle::FabricAnchor = serde_json::from_slice(evidence).ok()?;
    let b = &a.block.0;
    let (tag, rest) = varint(b)?;
    if tag != 0x0a {
        return None;
    }
    let (len, rest) = varint(rest)?;
    let header = rest.get(..usize::try_from(len).ok()?)?;
    let (tag, rest) = varint(header)?;
    if tag != 0x08 {
        return Some(0);
    }
    varint(rest).map(|(n, _)| n)
}

fn varint(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, &b[i + 1..]));
        }
    }
    None
}

fn describe_anchor(a: &AnchorRow) -> String {
    let state = match a.state {
        AnchorState::Anchored => "",
        AnchorState::Pending => "pending",
        AnchorState::Failed => "failed",
    };
    if a.state != AnchorState::Anchored {
        return format!("{state} ({} attempts)", a.attempts);
    }
    let who = a.authority.clone().unwrap_or_default();
    let residency = if a.in_residency == Some(false) { " — OUTSIDE residency" } else { "" };
    match a.rail {
        Rail::Tsa => {
            let gen_time = a
                .evidence
                .as_deref()
                .and_then(|e| evidence_core::rfc3161::parse_response(e).ok())
                .and_then(|r| r.token)
                .map_or_else(|| "genTime unreadable".into(), |t| t.tst_info.gen_time_text);
            format!("{gen_time} by {who}{residency}")
        }
        Rail::Fabric => {
            let block = a.evidence.as_deref().and_then(fabric_block_number).map_or_else(|| "block ?".to_owned(), |n| format!("block {n}"));
            format!("{block} on {who}{residency}")
        }
    }
}

pub(crate) async fn checkpoints<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    q: Result<Query<Before>, QueryRejection>,
) -> Page {
    let t = open(&d, &v).await?;
    let latest = t.store().latest_checkpoint().await?;
    let top = latest.as_ref().map_or(0, |c| c.seq.0 + 1);
    let before = paged(q)?.and_then(|b| b.before).unwrap_or(top).min(top);
    let from = before.saturating_sub(CHECKPOINT_PAGE);
    // One more below the page, for the first row's consistency with its predecessor.
    let rows = t.checkpoints(from.saturating_sub(1), u32::try_from(before - from.saturating_sub(1)).unwrap_or(u32::MAX)).await?;
    let mut out = Vec::new();
    for (i, c) in rows.iter().enumerate() {
        if c.seq.0 < from {
            continue;
        }
        let anchors = t.anchor_state(c.seq).await?;
        let join = |rail: Rail| anchors.iter().filter(|a| a.rail == rail).map(describe_anchor).collect::<Vec<_>>().join("; ");
        let (consistency, consistent) = match i.checked_sub(1).and_then(|j| rows.get(j)) {
            None if c.seq.0 == 0 => ("first checkpoint".to_owned(), true),
            None => ("previous not read".to_owned(), false),
            Some(prev) => match t.consistency_proof(prev, c).await {
                Ok(p) => match p.verify(&prev.root, &c.root) {
                    Ok(()) => (format!("consistent with {} (proof verified)", prev.seq.0), true),
                    Err(e) => (format!("INCONSISTENT with {}: {e}", prev.seq.0), false),
                },
                Err(e) => (format!("no proof: {}", UiError::from(e).message), false),
            },
        };
        out.push(CheckpointView {
            seq: c.seq.0,
            size: c.root.tree_size.0,
            root: hex::encode(c.root.hash.0),
            sealed: time(c.sealed_at),
            tsa: join(Rail::Tsa),
            fabric: join(Rail::Fabric),
            consistency,
            consistent,
        });
    }
    out.reverse();
    let base = format!("/ui/t/{}/checkpoints", v.tenant);
    let page = Checkpoints {
        nav: nav(&v, "Checkpoints", "Checkpoints"),
        rows: out,
        older: if from > 0 { format!("{base}?before={from}") } else { String::new() },
        newer: if before < top { format!("{base}?before={}", (before + CHECKPOINT_PAGE).min(top)) } else { String::new() },
    };
    html(&page)
}

// ---- findings -------------------------------------------------------------------------

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct FindingQuery {
    #[serde(default)]
    analyzer: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    staff: String,
    #[serde(default)]
    q: String,
    before: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct FindingView {
    seq: u64,
    href: String,
    date: String,
    analyzer: String,
    rule: String,
    subject: String,
    staff: String,
    status: String,
    retracted: bool,
}

#[derive(askama::Template)]
#[template(path = "ui/findings.html")]
pub(crate) struct Findings {
    nav: Nav,
    q: FindingQuery,
    analyzers: Vec<String>,
    rules: Vec<String>,
    rows: Vec<FindingView>,
    total: usize,
    older: String,
    first: String,
}

fn status_of(ix: &TenantIndex, seq: u64) -> (String, bool) {
    match ix.corrections.get(&seq) {
        Some(Correction::Retracted { by, reason }) => (format!("retracted by claim {by}: {reason}"), true),
        Some(Correction::Superseded { by }) => (format!("superseded (claim {by})"), false),
        None => ("current".to_owned(), false),
    }
}

fn valid_date(s: &str) -> Result<(), UiError> {
    if s.is_empty() || reports::Date::parse(s).is_ok() { Ok(()) } else { Err(UiError::bad("dates are YYYY-MM-DD")) }
}

pub(crate) async fn findings<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    q: Result<Query<FindingQuery>, QueryRejection>,
) -> Page {
    let Query(q) = q.map_err(|_| UiError::bad("the filter is not valid (dates are YYYY-MM-DD, before= a claim number)"))?;
    valid_date(&q.from)?;
    valid_date(&q.to)?;
    let t = open(&d, &v).await?;
    let ix = d.index.current(&t).await?;
    let analyzers: Vec<String> = ix.analyzers.iter().cloned().collect();
    let rules: Vec<String> = ix.rules.iter().cloned().collect();
    let end = q.before.map_or(ix.findings.len(), |b| ix.findings.partition_point(|f| f.seq < b));
    let needle = q.q.trim().to_lowercase();
    let matches = |f: &super::index::Finding| {
        (q.analyzer.is_empty() || f.analyzer == q.analyzer)
            && (q.rule.is_empty() || f.rule == q.rule)
            && (q.staff.is_empty() || f.staff.eq_ignore_ascii_case(q.staff.trim()))
            && (q.from.is_empty() || f.date.as_str() >= q.from.as_str())
            && (q.to.is_empty() || f.date.as_str() <= q.to.as_str())
            && (needle.is_empty() || f.subject.to_lowercase().contains(&needle))
    };
    let mut rows = Vec::new();
    let mut more = false;
    for f in ix.findings[..end].iter().rev() {
        if !matches(f) {
            continue;
        }
        if rows.len() == PAGE {
            more = true;
            break;
        }
        let (status, retracted) = status_of(&ix, f.seq);
        rows.push(FindingView {
            seq: f.seq,
            href: format!("/ui/t/{}/claims/{}", v.tenant, f.seq),
            date: f.date.clone(),
            analyzer: f.analyzer.clone(),
            rule: f.rule.clone(),
            subject: f.subject.clone(),
            staff: if f.staff.is_empty() { "—".into() } else { f.staff.clone() },
            status,
            retracted,
        });
    }
    let total = ix.findings.len();
    drop(ix);
    let enc = |s: &str| -> String { form_urlencoded(s) };
    let filter = format!(
        "analyzer={}&rule={}&from={}&to={}&staff={}&q={}",
        enc(&q.analyzer),
        enc(&q.rule),
        enc(&q.from),
        enc(&q.to),
        enc(&q.staff),
        enc(&q.q)
    );
    let base = format!("/ui/t/{}/findings", v.tenant);
    let older = match rows.last() {
        Some(last) if more => format!("{base}?{filter}&before={}", last.seq),
        _ => String::new(),
    };
    let first = if q.before.is_some() { format!("{base}?{filter}") } else { String::new() };
    html(&Findings { nav: nav(&v, "Findings", "Findings"), q, analyzers, rules, rows, total, older, first })
}

/// Percent-encodes a query value.
fn form_urlencoded(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            use std::fmt::Write as _;
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

// ---- claim ----------------------------------------------------------------------------

#[derive(Debug)]
pub(crate) struct LinkView {
    href: String,
    label: String,
}

#[allow(clippy::struct_excessive_bools)] // what the template shows or not
#[derive(askama::Template)]
#[template(path = "ui/claim.html")]
pub(crate) struct ClaimPage {
    nav: Nav,
    seq: u64,
    kind: String,
    appended: String,
    content_hash: String,
    leaf_hash: String,
    sealed_by: String,
    anchors: Vec<String>,
    status: String,
    retracted: bool,
    finding: Vec<(String, String)>,
    body: String,
    body_hidden: bool,
    erased: bool,
    links: Vec<LinkView>,
    linked_from: Vec<LinkView>,
    bundle_href: String,
    proof_href: String,
    may_export: bool,
    may_retract: bool,
    retract_action: String,
}

fn seq_arg(s: &str) -> Result<u64, UiError> {
    s.parse::<u64>()
        .ok()
        .filter(|n| *n <= crate::http::extract::MAX_STORE_NUMBER)
        .ok_or_else(|| UiError::bad("a claim number is a non-negative integer"))
}

async fn existing<T: TenantStore>(t: &TenantLedger<T>, seq: &str) -> Result<Seq, UiError> {
    let seq = seq_arg(seq)?;
    let size = t.store().size().await?;
    if seq >= size {
        return Err(UiError::new(StatusCode::NOT_FOUND, format!("no claim {seq} in this tenant's log (it holds {size})")));
    }
    Ok(Seq(seq))
}

fn claim_link(v: &Viewer, ix: &TenantIndex, seq: u64) -> LinkView {
    let kind = ix.findings.binary_search_by_key(&seq, |f| f.seq).map_or("", |_| " (finding)");
    LinkView { href: format!("/ui/t/{}/claims/{seq}", v.tenant), label: format!("claim {seq}{kind}") }
}

pub(crate) async fn claim<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    Path((_, seq)): Path<(String, String)>,
) -> Page {
    let t = open(&d, &v).await?;
    let seq = existing(&t, &seq).await?;
    let receipt = t.receipt(seq).await?;
    let parts = t.claim_parts(seq).await?;
    let ix = d.index.current(&t).await?;
    let sealed = ix.sealing_checkpoint(seq.0);
    let mut anchors = Vec::new();
    if let Some(c) = sealed {
        for a in t.anchor_state(CheckpointSeq(c)).await? {
            anchors.push(format!("{}: {}", rail_name(a.rail), describe_anchor(&a)));
        }
    }
    let (status, retracted) = status_of(&ix, seq.0);
    let may_export = may(&v.principal, "GET", "/ui/t/{tenant}/claims/{seq}/bundle.json");
    let mut finding = Vec::new();
    if let Ok(i) = ix.findings.binary_search_by_key(&seq.0, |f| f.seq) {
        let f = &ix.findings[i];
        finding = vec![
            ("analyzer".into(), f.analyzer.clone()),
            ("rule".into(), f.rule.clone()),
            ("operational identifier".into(), f.subject.clone()),
            ("personnel code".into(), if f.staff.is_empty() { "— (not a personnel code; not shown)".into() } else { f.staff.clone() }),
            ("business date".into(), f.date.clone()),
        ];
    }
    let erased = parts.record.is_none();
    // Bodies other than a finding's are shown to the roles that may export them anyway.
    let body = match &parts.record {
        Some((_, c)) if finding.is_empty() && may_export => serde_json::to_string_pretty(&c.body).unwrap_or_default(),
        _ => String::new(),
    };
    let links = LeafEntry::decode(&parts.leaf_entry)
        .map(|e| {
            e.links
                .iter()
                .map(|h| match ix.by_hash.get(h) {
                    Some(&s) => claim_link(&v, &ix, s),
                    None => LinkView { href: String::new(), label: format!("content {} (not in this log)", &h.to_hex()[..16]) },
                })
                .collect()
        })
        .unwrap_or_default();
    let linked_from = ix.linked_from.get(&seq.0).map(|v2| v2.iter().map(|s| claim_link(&v, &ix, *s)).collect()).unwrap_or_default();
    let base = format!("/ui/t/{}/claims/{}", v.tenant, seq.0);
    let page = ClaimPage {
        nav: nav(&v, "Findings", format!("Claim {}", seq.0)),
        seq: seq.0,
        kind: receipt.kind.name().to_owned(),
        appended: time(receipt.appended_at),
        content_hash: receipt.content_hash.to_hex(),
        leaf_hash: receipt.leaf_hash.to_hex(),
        sealed_by: sealed.map_or_else(|| "not sealed yet".to_owned(), |c| format!("checkpoint {c}")),
        anchors,
        status,
        retracted,
        body_hidden: body.is_empty() && finding.is_empty() && !erased,
        finding,
        body,
        erased,
        links,
        linked_from,
        bundle_href: format!("{base}/bundle.json"),
        proof_href: format!("{base}/tlog-proof"),
        may_export,
        may_retract: may(&v.principal, "POST", "/ui/t/{tenant}/claims/{seq}/retract")
            && !retracted
            && !receipt.kind.is_reserved_for_ledger(),
        retract_action: format!("{base}/retract"),
    };
    html(&page)
}

fn attachment(body: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

pub(crate) async fn bundle<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    Path((_, seq)): Path<(String, String)>,
) -> Page {
    let t = open(&d, &v).await?;
    let seq = existing(&t, &seq).await?;
    let b = t.bundle(&[seq]).await?;
    let json =
        serde_json::to_vec_pretty(&b).map_err(|_| UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the bundle could not be written"))?;
    Ok(attachment(json, "application/json", &format!("claim-{}.bundle.json", seq.0)))
}

pub(crate) async fn tlog_proof<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    Path((_, seq)): Path<(String, String)>,
) -> Page {
    let t = open(&d, &v).await?;
    let seq = existing(&t, &seq).await?;
    let (_, proof) = t.tlog_proof(seq).await?;
    Ok(attachment(proof.encode().into_bytes(), "text/plain; charset=utf-8", &format!("claim-{}.tlog-proof", seq.0)))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct RetractForm {
    csrf: String,
    reason: String,
}

pub(crate) async fn retract<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    Path((_, seq)): Path<(String, String)>,
    form: Result<Form<RetractForm>, FormRejection>,
) -> Page {
    let Ok(Form(f)) = form else { return Err(UiError::bad("the form was incomplete")) };
    check_csrf(&v.csrf, &f.csrf)?;
    let reason = f.reason.trim();
    if reason.is_empty() || reason.len() > 1000 {
        return Err(UiError::bad("a reason of 1 to 1000 bytes is required"));
    }
    let t = open(&d, &v).await?;
    let seq = existing(&t, &seq).await?;
    if t.receipt(seq).await?.kind.is_reserved_for_ledger() {
        return Err(UiError::bad("claims the ledger writes itself cannot be retracted"));
    }
    t.retract(seq, reason).await?;
    Ok(Redirect::to(&format!("/ui/t/{}/claims/{}", v.tenant, seq.0)).into_response())
}

// ---- incidents, audit, uploads, reports -----------------------------------------------

#[derive(Debug)]
pub(crate) struct IncidentView {
    href: String,
    seq: u64,
    from: String,
    to: String,
    reason: String,
}

#[derive(askama::Template)]
#[template(path = "ui/incidents.html")]
pub(crate) struct Incidents {
    nav: Nav,
    rows: Vec<IncidentView>,
    older: String,
}

pub(crate) async fn incidents<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    q: Result<Query<Before>, QueryRejection>,
) -> Page {
    let t = open(&d, &v).await?;
    let ix = d.index.current(&t).await?;
    let end = paged(q)?.and_then(|b| b.before).map_or(ix.incidents.len(), |b| ix.incidents.partition_point(|i| i.seq < b));
    let start = end.saturating_sub(PAGE);
    let rows: Vec<IncidentView> = ix.incidents[start..end]
        .iter()
        .rev()
        .map(|i| IncidentView {
            href: format!("/ui/t/{}/claims/{}", v.tenant, i.seq),
            seq: i.seq,
            from: i.from.clone(),
            to: i.to.clone(),
            reason: i.reason.clone(),
        })
        .collect();
    let older = match ix.incidents.get(start) {
        Some(i) if start > 0 => format!("/ui/t/{}/incidents?before={}", v.tenant, i.seq),
        _ => String::new(),
    };
    drop(ix);
    html(&Incidents { nav: nav(&v, "Incidents", "Incidents"), rows, older })
}

#[derive(Debug)]
pub(crate) struct AuditView {
    seq: u64,
    at: String,
    role: String,
    action: String,
    request: String,
    status: String,
    failed: bool,
}

#[derive(askama::Template)]
#[template(path = "ui/audit.html")]
pub(crate) struct Audit {
    nav: Nav,
    size: u64,
    rows: Vec<AuditView>,
    older: String,
    newer: String,
}

pub(crate) async fn audit<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    q: Result<Query<Before>, QueryRejection>,
) -> Page {
    let log = crate::audit::open(&d.app.ledger, Some(&v.tenant)).await?;
    let size = log.store().size().await?;
    let before = paged(q)?.and_then(|b| b.before).unwrap_or(size).min(size);
    let from = before.saturating_sub(PAGE as u64);
    let (_, _, entries) = crate::audit::read(&d.app.ledger, &v.tenant, from, before - from).await?;
    let s = |e: &serde_json::Value, k: &str| e.get(k).map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).unwrap_or_default();
    let rows = entries
        .iter()
        .rev()
        .map(|e| match &e.event {
            Some(ev) => {
                let status = s(ev, "status");
                AuditView {
                    seq: e.seq,
                    at: ev.get("at").and_then(serde_json::Value::as_i64).map(|ms| time(UnixMillis(ms))).unwrap_or_default(),
                    role: s(ev, "role"),
                    action: s(ev, "action"),
                    request: format!("{} {}", s(ev, "method"), s(ev, "target")),
                    failed: !status.starts_with('2') && !status.starts_with('3'),
                    status,
                }
            }
            None => AuditView {
                seq: e.seq,
                at: String::new(),
                role: String::new(),
                action: "erased".into(),
                request: String::new(),
                status: String::new(),
                failed: false,
            },
        })
        .collect();
    let base = format!("/ui/t/{}/audit", v.tenant);
    html(&Audit {
        nav: nav(&v, "Audit log", "Audit log"),
        size,
        rows,
        older: if from > 0 { format!("{base}?before={from}") } else { String::new() },
        newer: if before < size { format!("{base}?before={}", (before + PAGE as u64).min(size)) } else { String::new() },
    })
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct UploadsQuery {
    from: Option<u64>,
    /// The upload the form just sent (after its redirect): its outcome is shown on top.
    upload: Option<String>,
}

/// The upload just sent, as the page's notice shows it.
#[derive(Debug)]
pub(crate) struct SentView {
    id: String,
    source: String,
    state: String,
    refused: bool,
    detail: String,
}

/// One choice of a select of the upload form.
#[derive(Debug)]
pub(crate) struct Choice {
    value: &'static str,
}

#[derive(Debug)]
pub(crate) struct UploadView {
    n: u64,
    via: String,
    source: String,
    what: String,
    state: String,
    bytes: String,
    updated: String,
    outcome: String,
    refused: bool,
}

#[derive(askama::Template)]
#[template(path = "ui/uploads.html")]
pub(crate) struct Uploads {
    nav: Nav,
    rows: Vec<UploadView>,
    next: String,
    /// The form is shown: uploads are configured and the role may send one.
    form: bool,
    configured: bool,
    action: String,
    profiles: Vec<Choice>,
    exports: Vec<Choice>,
    max_mib: u64,
    sent: Option<SentView>,
}

pub(crate) async fn uploads<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    q: Result<Query<UploadsQuery>, QueryRejection>,
) -> Page {
    let t = open(&d, &v).await?;
    let q = q.map_err(|_| UiError::bad("the page bound must be a non-negative integer"))?.0;
    let from = q.from.unwrap_or(0).min(crate::http::extract::MAX_STORE_NUMBER);
    let sent = match q.upload.as_deref() {
        Some(id) if id.len() <= 64 => t.store().upload(id).await?.map(|r| SentView {
            id: r.upload.id.clone(),
            source: r.upload.source.clone(),
            state: r.state.as_str().to_owned(),
            refused: r.state == ledger::store::uploads::UploadState::Refused,
            detail: r
                .errors
                .clone()
                .or_else(|| r.claims.clone().map(|c| format!("claims {c}")))
                .unwrap_or_default()
                .chars()
                .take(400)
                .collect(),
        }),
        _ => None,
    };
    let svc = d.app.uploads.clone();
    let configured = svc.is_some();
    let form = configured && may(&v.principal, "POST", "/ui/t/{tenant}/uploads");
    let max_mib = svc.as_ref().map_or(0, |s| s.settings().max_bytes.div_ceil(1 << 20));
    let rows = t.store().uploads(from, u32::try_from(PAGE).unwrap_or(50)).await?;
    let next = match rows.last() {
        Some(last) if rows.len() == PAGE => format!("/ui/t/{}/uploads?from={}", v.tenant, last.n + 1),
        _ => String::new(),
    };
    let rows = rows
        .iter()
        .map(|r| UploadView {
            n: r.n,
            via: r.upload.via.clone(),
            source: r.upload.source.clone(),
            what: format!("{} {}", r.upload.profile, r.upload.export),
            state: r.state.as_str().to_owned(),
            bytes: r.bytes.map(|b| b.to_string()).unwrap_or_default(),
            updated: time(r.updated_at),
            outcome: r.errors.clone().or_else(|| r.claims.clone()).unwrap_or_default().chars().take(200).collect(),
            refused: r.state == ledger::store::uploads::UploadState::Refused,
        })
        .collect();
    html(&Uploads {
        nav: nav(&v, "Uploads", "Uploads"),
        rows,
        next,
        form,
        configured,
        action: format!("/ui/t/{}/uploads", v.tenant),
        profiles: pipeline::ingest::Dms::ALL.iter().map(|p| Choice { value: p.name() }).collect(),
        exports: pipeline::ingest::Export::ALL.iter().map(|e| Choice { value: e.name() }).collect(),
        max_mib,
        sent,
    })
}

/// Longest value of a small field of the upload form (csrf, profile, export).
const FORM_FIELD_MAX: usize = 256;

/// Reads a small multipart field whole, refusing one over [`FORM_FIELD_MAX`] bytes.
async fn small_field(mut f: axum::extract::multipart::Field<'_>) -> Result<String, UiError> {
    let mut out = Vec::new();
    while let Some(chunk) = f.chunk().await.map_err(|e| UiError::bad(format!("the form could not be read: {e}")))? {
        if out.len() + chunk.len() > FORM_FIELD_MAX {
            return Err(UiError::bad("a form field is too long"));
        }
        out.extend_from_slice(&chunk);
    }
    String::from_utf8(out).map_err(|_| UiError::bad("a form field is not UTF-8"))
}

/// The dashboard's upload form (`multipart/form-data`: `csrf`, `profile`, `export`, then
/// `file`, in that order, as the form lays them out). The file part is streamed, never held
/// whole, through the same path as a signed URL's `PUT` (`uploads::http::receive`): the
/// tenant's encrypted file store, the pipeline's check, ingestion or refusal (a PII header
/// deletes the file), audit entries and metrics; then a redirect to the uploads page, which
/// shows the outcome.
pub(crate) async fn upload<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Page {
    use crate::uploads::http::{Received, receive, refused_type};
    use crate::uploads::service::{LEASE_MS, VIA_DASHBOARD};
    use futures_util::StreamExt as _;
    let Some(svc) = d.app.uploads.clone() else {
        return Err(UiError::new(StatusCode::SERVICE_UNAVAILABLE, "this server takes no uploads ([uploads] in its configuration)"));
    };
    let Ok(mut form) = form else { return Err(UiError::bad("the upload form must be sent as multipart/form-data")) };
    let (mut csrf, mut profile, mut export) = (None, None, None);
    let count = |outcome: &str| crate::uploads::metrics().uploads.inc(&[("via", VIA_DASHBOARD), ("outcome", outcome)]);
    while let Some(field) = form.next_field().await.map_err(|e| UiError::bad(format!("the form could not be read: {e}")))? {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = Some(small_field(field).await?),
            "profile" => profile = Some(small_field(field).await?),
            "export" => export = Some(small_field(field).await?),
            "file" => {
                // Nothing of the file is read before the CSRF token and the choices are.
                check_csrf(&v.csrf, csrf.as_deref().unwrap_or_default())?;
                let (Some(profile), Some(export)) = (profile.take(), export.take()) else {
                    return Err(UiError::bad("choose the DMS profile and the export before the file"));
                };
                let filename = field.file_name().map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).trim().to_owned()).unwrap_or_default();
                if filename.is_empty() {
                    return Err(UiError::bad("choose a file to upload"));
                }
                if let Some(mime) = refused_type(field.content_type().unwrap_or("application/octet-stream")) {
                    count("bad_type");
                    return Err(UiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        format!("a {mime} file is refused as ingest refuses it: send the CSV export"),
                    ));
                }
                let req = ledger_api::CreateUpload { profile, export, filename, size: None };
                let ticket = svc.create_via(&v.tenant, &req, VIA_DASHBOARD).await.map_err(crate::http::ApiError::from)?;
                let t = open(&d, &v).await?;
                let now = ledger::now();
                if !t.store().begin_receive(&ticket.upload_id, now, UnixMillis(now.0 + LEASE_MS)).await? {
                    return Err(UiError::new(StatusCode::CONFLICT, "the upload was taken by another request"));
                }
                let row =
                    t.store().upload(&ticket.upload_id).await?.ok_or_else(|| UiError::new(StatusCode::NOT_FOUND, "no such upload"))?;
                let body = field.map(|r| r.map_err(|e| e.to_string()));
                match receive(&d.app, &svc, &t, &row, body).await {
                    Ok(Received::Checked(_) | Received::Stored(_)) => {}
                    Err((e, outcome)) => {
                        count(outcome);
                        return Err(crate::http::ApiError::from(e).into());
                    }
                }
                return Ok(Redirect::to(&format!("/ui/t/{}/uploads?upload={}", v.tenant, ticket.upload_id)).into_response());
            }
            _ => return Err(UiError::bad("the upload form has a field it does not know")),
        }
    }
    Err(UiError::bad("the form had no file"))
}

#[derive(askama::Template)]
#[template(path = "ui/reports.html")]
pub(crate) struct Reports {
    nav: Nav,
    configured: bool,
    action: String,
    from: String,
    to: String,
}

pub(crate) async fn reports<S: Store + Clone>(State(d): State<Dash<S>>, Extension(v): Extension<Viewer>) -> Page {
    let today = reports::Date::of(ledger::now()).to_string();
    let month_start = format!("{}-01", &today[..7]);
    html(&Reports {
        nav: nav(&v, "Reports", "Reports"),
        configured: d.app.reports.is_some(),
        action: format!("/ui/t/{}/reports/findings.pdf", v.tenant),
        from: month_start,
        to: today,
    })
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct Period {
    from: String,
    to: String,
}

pub(crate) async fn report_pdf<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    q: Result<Query<Period>, QueryRejection>,
) -> Page {
    let Some(svc) = d.app.reports.clone() else {
        return Err(UiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server has no report-signing identity ([reports] in its configuration)",
        ));
    };
    let Query(p) = q.map_err(|_| UiError::bad("the period is from=YYYY-MM-DD&to=YYYY-MM-DD"))?;
    let t = open(&d, &v).await?;
    let issued = svc.issue(d.app.ledger.name(), &t, &p.from, &p.to).await.map_err(|e| UiError::from(crate::http::ApiError::from(e)))?;
    Ok(attachment(issued.pdf, "application/pdf", &format!("findings-{}-{}-{}.pdf", v.tenant, p.from, p.to)))
}

// ---- plots ----------------------------------------------------------------------------

pub(crate) async fn plot<S: Store + Clone>(
    State(d): State<Dash<S>>,
    Extension(v): Extension<Viewer>,
    Path((_, name)): Path<(String, String)>,
) -> Page {
    let t = open(&d, &v).await?;
    let svg = match name.as_str() {
        "claims-per-hour.svg" => {
            let ix = d.index.current(&t).await?;
            plots::claims_per_hour(&ix.per_hour, ledger::now())
        }
        "anchor-latency.svg" => {
            let latest = t.store().latest_checkpoint().await?;
            let mut points: Vec<(Rail, u64, f64)> = Vec::new();
            if let Some(c) = latest {
                let rows = t.checkpoints((c.seq.0 + 1).saturating_sub(50), 50).await?;
                for cp in rows {
                    for a in t.anchor_state(cp.seq).await? {
                        if let Some(at) = a.anchored_at {
                            #[allow(clippy::cast_precision_loss)]
                            points.push((a.rail, cp.seq.0, (at.0 - cp.sealed_at.0).max(0) as f64 / 1000.0));
                        }
                    }
                }
            }
            plots::anchor_latency(&points)
        }
        "refusals.svg" => {
            let ix = d.index.current(&t).await?;
            plots::refusals(&ix.refusals, ix.files_refused)
        }
        _ => return Err(UiError::new(StatusCode::NOT_FOUND, "no such plot")),
    };
    let mut r = svg.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_block_numbers() {
        assert_eq!(varint(&[0x96, 0x01]), Some((150, &[][..])));
        assert_eq!(varint(&[0x80; 11]), None);
        assert_eq!(fabric_block_number(b"not json"), None);
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(form_urlencoded("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
