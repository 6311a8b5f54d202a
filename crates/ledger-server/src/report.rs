//! Signed findings reports: `GET /v1/tenants/{tenant}/reports/findings.pdf` and
//! `ledger-server report`.
//!
//! [`ReportService::issue`] does the whole job for one tenant and period:
//!
//! 1. **Cut**: the newest checkpoint anchored on every rail (the newest with its RFC 3161
//!    anchor when the other rails lag by more than 100 checkpoints). Every claim the report
//!    lists is in the tree it seals; nothing appended after it is read. Its seal time is the
//!    report's "generated at" (the data, never the clock), so the same ledger state renders
//!    to the same bytes before signing.
//! 2. **Findings**: every `leakage_finding` claim (the pipeline's
//!    `pipeline/leakage_finding/v1` body) below the cut whose business date (`as_of`, else
//!    the day it was appended) is in the period, in log order; its status from the
//!    `retraction` and `supersession` claims below the cut; its first sealing checkpoint with
//!    that checkpoint's TSA genTime and its anchoring state per rail. Staff appear only as
//!    personnel codes ([`reports::PersonnelCode`] refuses anything else; a `staff_code` that
//!    is not a code is left out rather than printed). Erased findings have no content left and
//!    are not listed.
//! 3. **Attachments**: the `evidence-bundle/v1` of every listed finding, as
//!    `claim-<seq>.bundle.json`, proven against the cut checkpoint with its anchors
//!    ([`TenantLedger::bundle_at`]): what `GET …/claims/{seq}/bundle` serves when the cut is
//!    the newest anchored checkpoint, without the consistency proofs to checkpoints sealed
//!    after the cut (so that the report does not change as the log grows).
//! 4. **Render and sign** ([`reports::render()`], [`reports::prepare`]), the signature
//!    time-stamp from the tenant's TSA (the configured `[[tsa]]` list with the tenant's
//!    residency policy, or the development TSA), verified against the TSA roots before it is
//!    embedded.
//! 5. **`report_issued`**: a ledger-generated claim naming the PDF's SHA-256 before and after
//!    signing, the period, the cut checkpoint and the listed claims' content hashes.
//!
//! Layout and signing are CPU work and run on the blocking pool.

use std::sync::Arc;

use evidence_core::claim::ClaimKind;
use evidence_core::rfc3161::{self, Certificate, TimestampOptions, TimestampVerdict, ValidationTime};
use evidence_core::types::UnixMillis;
use evidence_core::{AppendReceipt, Seq};
use ledger::store::{AnchorRow, AnchorState, CheckpointRow, Rail, TenantStore};
use ledger::{LedgerError, TenantLedger};
use reports::{Date, Period, ReportInput, SigningIdentity};
use serde_json::{Value, json};

/// Most findings one report lists (a period with more is refused: ask for a shorter one).
pub const DEFAULT_MAX_FINDINGS: usize = 10_000;

/// How many checkpoints older than the newest TSA-anchored one are searched for one anchored
/// on every rail before the report is cut at the TSA-anchored one.
const CUT_LOOKBACK: usize = 100;

/// Leaves read from the store per query while scanning the log up to the cut.
const SCAN_CHUNK: u64 = 1000;

/// Where the signature time-stamp comes from.
pub enum Stamper {
    /// The development TSA, in process (`ledger-server dev`, tests): not evidence.
    Dev(Box<crate::dev::DevTsaRail>),
    /// The configured TSAs over HTTP (tried in order, with the tenant's residency policy).
    Http(tsa_client::TsaClient),
}

impl std::fmt::Debug for Stamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stamper::Dev(_) => f.write_str("Stamper::Dev"),
            Stamper::Http(c) => f.debug_tuple("Stamper::Http").field(&c.endpoints().len()).finish(),
        }
    }
}

/// Why a report was not issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The period is not two dates with `from <= to`.
    #[error("{0}")]
    Period(reports::InputError),
    /// No checkpoint of the tenant has its RFC 3161 anchor yet.
    #[error("no checkpoint of this tenant is anchored by its TSA yet: nothing to cut a report at; retry after the next seal is anchored")]
    NothingAnchored,
    /// More findings than one report holds.
    #[error("the period holds {count} findings; one report lists at most {max}: ask for a shorter period")]
    TooLarge {
        /// Findings in the period.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// No TSA answered with a token that verifies.
    #[error("signature time-stamp: {0}")]
    Timestamp(String),
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The report could not be rendered (a stored value of an unexpected shape, or a bug).
    #[error("rendering: {0}")]
    Render(#[from] reports::RenderError),
    /// The report could not be signed (configuration or a bug; TSA failures are `Timestamp`).
    #[error("signing: {0}")]
    Sign(reports::SignError),
    /// A blocking task died.
    #[error("report task: {0}")]
    Task(String),
}

impl From<ledger::store::StoreError> for ReportError {
    fn from(e: ledger::store::StoreError) -> Self {
        ReportError::Ledger(LedgerError::Store(e))
    }
}

impl From<reports::SignError> for ReportError {
    fn from(e: reports::SignError) -> Self {
        match e {
            reports::SignError::Timestamp(t) => ReportError::Timestamp(t.to_string()),
            other => ReportError::Sign(other),
        }
    }
}

/// A signed report and the claim that records it.
#[derive(Debug)]
pub struct IssuedReport {
    /// The signed PDF.
    pub pdf: Vec<u8>,
    /// SHA-256 of the PDF before signing.
    pub unsigned_sha256: [u8; 32],
    /// SHA-256 of the signed PDF (what the `report_issued` claim names).
    pub signed_sha256: [u8; 32],
    /// The signature time-stamp's genTime.
    pub timestamp_gen_time: UnixMillis,
    /// Findings listed.
    pub findings: usize,
    /// The cut checkpoint's number.
    pub checkpoint: u64,
    /// The `report_issued` claim's receipt.
    pub receipt: AppendReceipt,
    /// Where the time went.
    pub timings: Timings,
}

/// Wall-clock time of each step of one report, for the `Server-Timing` header and the
/// benchmarks (never part of the PDF).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Reading the ledger: checkpoints, anchors, findings, corrections and bundles.
    pub collect: std::time::Duration,
    /// Layout ([`reports::render()`]).
    pub render: std::time::Duration,
    /// Signing: the incremental update, the CMS, and embedding the verified token.
    pub sign: std::time::Duration,
    /// The TSA round trip for the signature time-stamp.
    pub tsa: std::time::Duration,
    /// Appending the `report_issued` claim.
    pub record: std::time::Duration,
}

impl Timings {
    /// The `Server-Timing` header value (milliseconds).
    pub fn header(&self) -> String {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        format!(
            "collect;dur={:.1}, render;dur={:.1}, sign;dur={:.1}, tsa;dur={:.1}, record;dur={:.1}",
            ms(self.collect),
            ms(self.render),
            ms(self.sign),
            ms(self.tsa),
            ms(self.record)
        )
    }
}

/// What the report generator needs besides the ledger: the signing identity, the TSA for
/// the signature time-stamp and its roots, and the words the PDF prints.
pub struct ReportService {
    identity: SigningIdentity,
    stamper: Stamper,
    tsa_roots: Vec<Certificate>,
    development: bool,
    trust_file_source: String,
    currency: String,
    max_findings: usize,
    /// Reports built at once (each holds its bundles and PDF in memory): at most two.
    slots: tokio::sync::Semaphore,
}

impl std::fmt::Debug for ReportService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportService")
            .field("identity", &self.identity)
            .field("stamper", &self.stamper)
            .field("development", &self.development)
            .field("max_findings", &self.max_findings)
            .finish_non_exhaustive()
    }
}

impl ReportService {
    /// A generator signing with `identity`, time-stamping through `stamper` and accepting
    /// only tokens that chain to `tsa_roots`. `development` labels every page "DEVELOPMENT:
    /// not evidence"; `trust_file_source` says, in a sentence, where the verifier's trust
    /// file comes from.
    pub fn new(
        identity: SigningIdentity,
        stamper: Stamper,
        tsa_roots: Vec<Certificate>,
        development: bool,
        trust_file_source: &str,
    ) -> Self {
        Self {
            identity,
            stamper,
            tsa_roots,
            development,
            trust_file_source: trust_file_source.to_owned(),
            currency: "CAD".into(),
            max_findings: DEFAULT_MAX_FINDINGS,
            slots: tokio::sync::Semaphore::new(2),
        }
    }

    /// The ISO 4217 code the amounts are printed in (default `CAD`).
    #[must_use]
    pub fn with_currency(mut self, code: &str) -> Self {
        code.clone_into(&mut self.currency);
        self
    }

    /// Most findings per report (default [`DEFAULT_MAX_FINDINGS`]).
    #[must_use]
    pub fn with_max_findings(mut self, max: usize) -> Self {
        self.max_findings = max;
        self
    }

    /// True when the report is labelled as development material.
    pub fn development(&self) -> bool {
        self.development
    }

    /// Builds, signs and records the findings report of `t` for `from..=to` (`YYYY-MM-DD`).
    ///
    /// # Errors
    /// [`ReportError`].
    pub async fn issue<T: TenantStore>(
        self: &Arc<Self>,
        ledger_name: &str,
        t: &TenantLedger<T>,
        from: &str,
        to: &str,
    ) -> Result<IssuedReport, ReportError> {
        use std::time::Instant;
        let mut timings = Timings::default();
        let period = parse_period(from, to)?;
        let _slot = self.slots.acquire().await.map_err(|e| ReportError::Task(e.to_string()))?;
        let started = Instant::now();
        let input = build_input(t, ledger_name, period, self).await?;
        timings.collect = started.elapsed();
        let listed: Vec<String> = input.findings.iter().map(|f| f.content_hash_hex.clone()).collect();
        let checkpoint = input.checkpoint.seq;
        let findings = input.findings.len();
        let me = Arc::clone(self);
        let config = t.config().clone();
        let handle = tokio::runtime::Handle::current();
        // One blocking task: the prepared signature borrows the identity. The TSA round trip
        // runs on the runtime from here (block_on is allowed on the blocking pool).
        let (signed, unsigned_sha256, steps) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let rendered = reports::render(&input)?;
            let render = started.elapsed();
            drop(input);
            let started = Instant::now();
            let mut prepared = reports::prepare(&rendered.pdf, &me.identity)?;
            let mut nonce = [0u8; 8];
            getrandom::fill(&mut nonce).map_err(|e| ReportError::Timestamp(format!("random nonce: {e}")))?;
            let tsq = prepared.timestamp_request(nonce)?;
            let sign = started.elapsed();
            let started = Instant::now();
            let tsr = handle.block_on(me.stamp(&tsq, &config))?;
            let tsa = started.elapsed();
            let started = Instant::now();
            let signed = prepared.finish(&tsr, &me.tsa_roots)?;
            Ok::<_, ReportError>((signed, rendered.sha256, (render, sign + started.elapsed(), tsa)))
        })
        .await
        .map_err(|e| ReportError::Task(e.to_string()))??;
        (timings.render, timings.sign, timings.tsa) = steps;
        let body = json!({
            "schema": "ledger/report_issued/v1",
            "report": "findings",
            "period": {"from": period.from.to_string(), "to": period.to.to_string()},
            "checkpoint": checkpoint,
            "unsigned_sha256": hex::encode(signed.unsigned_sha256),
            "signed_sha256": hex::encode(signed.signed_sha256),
            "signature_time": signed.timestamp_gen_time.0,
            "development": self.development,
            "claims": listed,
        });
        let started = Instant::now();
        let receipt = t.report_issued(body).await?;
        timings.record = started.elapsed();
        debug_assert_eq!(signed.unsigned_sha256, unsigned_sha256);
        Ok(IssuedReport {
            pdf: signed.pdf,
            unsigned_sha256: signed.unsigned_sha256,
            signed_sha256: signed.signed_sha256,
            timestamp_gen_time: signed.timestamp_gen_time,
            findings,
            checkpoint,
            receipt,
            timings,
        })
    }

    /// Sends the signature's time-stamp request to the tenant's TSA and answers the response.
    async fn stamp(&self, tsq: &[u8], config: &ledger::store::TenantConfig) -> Result<Vec<u8>, ReportError> {
        match &self.stamper {
            Stamper::Dev(tsa) => tsa.respond(tsq).map_err(ReportError::Timestamp),
            Stamper::Http(client) => {
                let parsed = rfc3161::parse_request(tsq).map_err(|e| ReportError::Timestamp(e.to_string()))?;
                let residency = if config.residency.is_empty() {
                    tsa_client::ResidencyPolicy::unrestricted()
                } else {
                    let allowed = config
                        .residency
                        .iter()
                        .map(|j| tsa_client::Jurisdiction::new(j))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| ReportError::Timestamp(format!("tenant residency policy: {e}")))?;
                    tsa_client::ResidencyPolicy::allow(allowed, false)
                };
                let stamped = client
                    .timestamp(tsq, &residency, |_, reply| {
                        // Checked here too so that a bad answer fails over to the next TSA;
                        // `finish` checks it again (imprint included) before embedding it.
                        let opts = TimestampOptions {
                            imprint: None,
                            request: Some(&parsed),
                            trust_anchors: &self.tsa_roots,
                            untrusted: &[],
                            at: ValidationTime::GenTime,
                        };
                        match rfc3161::verify_response(reply, &opts).outcome {
                            Ok(TimestampVerdict::Valid) => Ok(()),
                            Ok(TimestampVerdict::ValidWeak { reasons }) => Err(format!("weak algorithms: {}", reasons.join(", "))),
                            Err(e) => Err(e.to_string()),
                        }
                    })
                    .await
                    .map_err(|e| ReportError::Timestamp(e.to_string()))?;
                Ok(stamped.response)
            }
        }
    }
}

/// Parses the period's bounds.
///
/// # Errors
/// [`ReportError::Period`].
pub fn parse_period(from: &str, to: &str) -> Result<Period, ReportError> {
    let from = Date::parse(from).map_err(ReportError::Period)?;
    let to = Date::parse(to).map_err(ReportError::Period)?;
    if to < from {
        return Err(ReportError::Period(reports::InputError::Period { from, to }));
    }
    Ok(Period { from, to })
}

/// The anchoring facts of one checkpoint, as the report shows them.
struct CheckpointAnchors {
    tsa: Option<(String, UnixMillis)>,
    fabric: Option<reports::FabricTx>,
    states: Vec<(reports::Rail, reports::AnchorState)>,
    delays: Vec<reports::AnchorDelay>,
}

fn rail_of(r: Rail) -> reports::Rail {
    match r {
        Rail::Tsa => reports::Rail::Tsa,
        Rail::Fabric => reports::Rail::Fabric,
    }
}

/// The anchoring facts of checkpoint `seq`, sealed at `sealed_at`, from its outbox rows.
fn anchors_of(seq: u64, sealed_at: UnixMillis, rows: &[AnchorRow]) -> CheckpointAnchors {
    let mut out = CheckpointAnchors { tsa: None, fabric: None, states: Vec::new(), delays: Vec::new() };
    for rail in Rail::ALL {
        let of_rail: Vec<&AnchorRow> = rows.iter().filter(|r| r.rail == rail).collect();
        if of_rail.is_empty() {
            continue;
        }
        let anchored = of_rail.iter().find(|r| r.state == AnchorState::Anchored);
        let state = match anchored {
            Some(_) => reports::AnchorState::Anchored,
            None if of_rail.iter().any(|r| r.state == AnchorState::Failed) => {
                reports::AnchorState::Failed("the last attempt failed; the outbox retries".into())
            }
            None => reports::AnchorState::Pending,
        };
        out.states.push((rail_of(rail), state));
        if let Some(a) = anchored {
            if let Some(at) = a.anchored_at {
                let delay_ms = u64::try_from(at.0.saturating_sub(sealed_at.0)).unwrap_or(0);
                out.delays.push(reports::AnchorDelay { checkpoint_seq: seq, rail: rail_of(rail), delay_ms });
            }
            if rail == Rail::Tsa
                && let Some(ev) = &a.evidence
                && let Ok(resp) = rfc3161::parse_response(ev)
                && let Some(token) = resp.token
            {
                let name = a.authority.clone().or(token.tst_info.tsa_name.clone()).unwrap_or_else(|| "RFC 3161 TSA".into());
                out.tsa = Some((name, token.tst_info.gen_time));
            }
            if rail == Rail::Fabric
                && let Some(ev) = &a.evidence
            {
                out.fabric = fabric_tx(ev);
            }
        }
    }
    out
}

/// The block number and transaction id of a stored Fabric anchor (a `FabricAnchor` receipt),
/// read from the block for display (the bundle's verification is what proves it). None when
/// the evidence is not a receipt whose block decodes (logged).
fn fabric_tx(evidence: &[u8]) -> Option<reports::FabricTx> {
    let receipt: evidence_core::bundle::FabricAnchor = serde_json::from_slice(evidence)
        .inspect_err(|e| tracing::warn!(error = %e, "stored Fabric evidence is not a receipt; the report shows no block"))
        .ok()?;
    let limits = evidence_core::fabric::BlockLimits::default();
    let at = evidence_core::fabric::anchor_position(&receipt.block.0, u64::from(receipt.tx_index), &limits)
        .inspect_err(|e| tracing::warn!(error = %e, "stored Fabric block does not decode; the report shows no block"))
        .ok()?;
    Some(reports::FabricTx { block: at.block_number, tx_id: (!at.tx_id.is_empty()).then_some(at.tx_id) })
}

/// What a retraction or supersession says about its target.
enum Correction {
    Retracted { by: u64, reason: String },
    Superseded { by: u64 },
}

/// The report's input for `t` and `period`, cut at the newest TSA-anchored checkpoint.
///
/// # Errors
/// [`ReportError::NothingAnchored`], [`ReportError::TooLarge`], ledger errors.
pub async fn build_input<T: TenantStore>(
    t: &TenantLedger<T>,
    ledger_name: &str,
    period: Period,
    svc: &ReportService,
) -> Result<ReportInput, ReportError> {
    // The chain and its anchors, newest first until the cut is found.
    let mut checkpoints: Vec<CheckpointRow> = Vec::new();
    let mut from = 0u64;
    loop {
        let rows = t.checkpoints(from, 1000).await?;
        let n = rows.len();
        checkpoints.extend(rows);
        match checkpoints.last() {
            Some(last) if n == 1000 => from = last.seq.0 + 1,
            _ => break,
        }
    }
    // The cut: the newest checkpoint anchored on every rail it was queued on; when the other
    // rails lag (or fail) for longer than CUT_LOOKBACK checkpoints, the newest one with its
    // TSA anchor (the report then shows the other rails as pending or failed).
    let mut anchors: std::collections::HashMap<u64, CheckpointAnchors> = std::collections::HashMap::new();
    let (mut complete, mut tsa_only): (Option<usize>, Option<usize>) = (None, None);
    for (i, c) in checkpoints.iter().enumerate().rev() {
        let a = anchors_of(c.seq.0, c.sealed_at, &t.anchor_state(c.seq).await?);
        let has_tsa = a.tsa.is_some();
        let all = !a.states.is_empty() && a.states.iter().all(|(_, s)| *s == reports::AnchorState::Anchored);
        anchors.insert(c.seq.0, a);
        if has_tsa && all {
            complete = Some(i);
            break;
        }
        if has_tsa && tsa_only.is_none() {
            tsa_only = Some(i);
        }
        if tsa_only.is_some_and(|j| j - i >= CUT_LOOKBACK) {
            break;
        }
    }
    let cut_index = complete.or(tsa_only).ok_or(ReportError::NothingAnchored)?;
    checkpoints.truncate(cut_index + 1);
    let cut = checkpoints[cut_index].clone();
    let size = cut.root.tree_size.0;

    // The log up to the cut: findings in the period, and corrections of anything.
    let finding_code = ClaimKind::LeakageFinding.code();
    let (retraction, supersession) = (ClaimKind::Retraction.code(), ClaimKind::Supersession.code());
    let mut findings: Vec<(Seq, UnixMillis, Value, String)> = Vec::new();
    let mut corrections: std::collections::HashMap<u64, Correction> = std::collections::HashMap::new();
    let mut at = 0u64;
    while at < size {
        let end = (at + SCAN_CHUNK).min(size);
        for leaf in t.store().leaves(at, end).await? {
            if leaf.kind_code != finding_code && leaf.kind_code != retraction && leaf.kind_code != supersession {
                continue;
            }
            let (seq, kind_code, appended_at, content_hash) = (leaf.seq, leaf.kind_code, leaf.appended_at, leaf.content_hash);
            let parts = t.claim_parts_of(leaf).await?;
            let Some((_, claim)) = parts.record else { continue };
            let body = claim.body;
            if kind_code == finding_code {
                let date = body.get("as_of").and_then(Value::as_str).and_then(|s| Date::parse(s).ok()).unwrap_or(Date::of(appended_at));
                if date >= period.from && date <= period.to {
                    if findings.len() == svc.max_findings {
                        return Err(ReportError::TooLarge { count: findings.len() + 1, max: svc.max_findings });
                    }
                    findings.push((seq, appended_at, body, content_hash.to_hex()));
                }
            } else if let Some(target) = body.get("seq").and_then(Value::as_u64) {
                let by = seq.0;
                let c = if kind_code == retraction {
                    let reason =
                        body.get("reason").and_then(Value::as_str).unwrap_or("").chars().filter(|c| !c.is_control()).take(500).collect();
                    Correction::Retracted { by, reason }
                } else {
                    Correction::Superseded { by }
                };
                // The first correction of a claim is the one that counts.
                corrections.entry(target).or_insert(c);
            }
        }
        at = end;
    }

    // The first checkpoint sealing each finding, and its anchors.
    let mut rows = Vec::with_capacity(findings.len());
    let mut listed = Vec::with_capacity(findings.len());
    let mut delay_seen = std::collections::BTreeSet::new();
    let mut anchor_delays = Vec::new();
    for (seq, appended_at, body, hash) in findings {
        let ci = checkpoints.partition_point(|c| c.root.tree_size.0 <= seq.0);
        let Some(c) = checkpoints.get(ci) else { continue };
        if let std::collections::hash_map::Entry::Vacant(e) = anchors.entry(c.seq.0) {
            e.insert(anchors_of(c.seq.0, c.sealed_at, &t.anchor_state(c.seq).await?));
        }
        let a = &anchors[&c.seq.0];
        if delay_seen.insert(c.seq.0) {
            anchor_delays.extend(a.delays.iter().copied());
        }
        let status = match corrections.get(&seq.0) {
            None => reports::Status::Active,
            Some(Correction::Retracted { by, reason }) => reports::Status::Retracted { by: *by, reason: reason.clone() },
            Some(Correction::Superseded { by }) => reports::Status::Superseded { by: *by },
        };
        rows.push(finding_row(seq, appended_at, &body, hash, c.seq.0, a, status));
        listed.push(seq);
    }
    // Every listed claim's bundle against the cut, in one pass over the tree.
    let mut attachments = Vec::with_capacity(listed.len());
    for (seq, bundle) in listed.iter().zip(t.bundles_at(&listed, &cut).await?) {
        let bytes = serde_json::to_vec_pretty(&bundle).map_err(|e| LedgerError::Internal(format!("bundle JSON: {e}")))?;
        attachments.push(reports::Attachment {
            file_name: format!("claim-{}.bundle.json", seq.0),
            bytes,
            description: format!("evidence-bundle/v1 of claim {} (verify with: evidence-verify bundle FILE --trust trust.json)", seq.0),
            mime_type: "application/json".into(),
        });
    }
    let cut_anchors = &anchors[&cut.seq.0];
    Ok(ReportInput {
        tenant: t.store().tenant().as_str().to_owned(),
        ledger: ledger_name.to_owned(),
        period,
        generated_at: cut.sealed_at,
        development: svc.development,
        currency: svc.currency.clone(),
        checkpoint: reports::CutCheckpoint {
            seq: cut.seq.0,
            tree_size: size,
            root_hex: cut.root.hash.to_hex(),
            checkpoint_hash_hex: cut.hash.to_hex(),
            sealed_at: cut.sealed_at,
            tsa: cut_anchors.tsa.as_ref().map(|(name, at)| reports::TsaStamp { name: name.clone(), gen_time: *at }),
            fabric: cut_anchors.fabric.clone(),
        },
        anchor_delays,
        findings: rows,
        attachments,
        trust_file_source: svc.trust_file_source.clone(),
    })
}

/// Measures the report shows as money amounts when present (decimal strings).
const MONEY: &[&str] = &[
    "reserve",
    "amount_financed",
    "front_gross",
    "max_front_loss",
    "back_gross",
    "payment",
    "expected_payment",
    "claimed",
    "paid",
    "at_stake",
];

/// The measure that is the amount at stake, per rule prefix (none: no amount at stake).
fn at_stake_of(rule: &str, measures: &serde_json::Map<String, Value>) -> Option<i64> {
    let cents = |k: &str| measures.get(k).and_then(Value::as_str).and_then(|s| reports::Amount::parse_cents(s).ok());
    if let Some(c) = cents("at_stake") {
        return Some(c);
    }
    match rule {
        "fi.reserve_outlier" => cents("reserve"),
        "structure.front_loss" => cents("front_gross").map(i64::abs),
        "structure.negative_back" => cents("back_gross").map(i64::abs),
        "service.warranty_short_paid" => Some(cents("claimed")? - cents("paid")?),
        _ => None,
    }
}

/// One table row from a `pipeline/leakage_finding/v1` body (unknown shapes render what they
/// have: an analyzer and rule of "unknown", no amounts).
fn finding_row(
    seq: Seq,
    appended_at: UnixMillis,
    body: &Value,
    content_hash_hex: String,
    checkpoint_seq: u64,
    a: &CheckpointAnchors,
    status: reports::Status,
) -> reports::Finding {
    let text = |k: &str, max: usize| -> String {
        body.get(k).and_then(Value::as_str).unwrap_or("unknown").chars().filter(|c| !c.is_control()).take(max).collect()
    };
    let analyzer = text("analyzer", 64);
    let rule = text("rule", 128);
    let staff = body.get("staff_code").and_then(Value::as_str).unwrap_or("");
    let personnel: Vec<reports::PersonnelCode> = reports::PersonnelCode::new(staff).into_iter().collect();
    let empty = serde_json::Map::new();
    let measures = body.get("measures").and_then(Value::as_object).unwrap_or(&empty);
    let at_stake_cents = at_stake_of(&rule, measures);
    let amounts = MONEY
        .iter()
        .filter_map(|k| {
            let v = measures.get(*k)?.as_str()?;
            Some(reports::Amount { label: (*k).replace('_', " "), cents: reports::Amount::parse_cents(v).ok()? })
        })
        .collect();
    let as_of = body.get("as_of").and_then(Value::as_str).and_then(|s| Date::parse(s).ok());
    let date = as_of.unwrap_or(Date::of(appended_at));
    let mut dates = Vec::new();
    if as_of.is_some() {
        dates.push(reports::DatedFact { label: "as of".into(), date });
    }
    dates.push(reports::DatedFact { label: "appended".into(), date: Date::of(appended_at) });
    let subject: String = body.get("subject").and_then(Value::as_str).unwrap_or("").chars().filter(|c| !c.is_control()).take(64).collect();
    let mut identifiers = Vec::new();
    // Per-producer rules use the producer's code as the subject: it is already shown.
    if !subject.is_empty() && subject != staff {
        identifiers.push(if analyzer == "service" {
            reports::OperationalId::RepairOrder(subject)
        } else {
            reports::OperationalId::Deal(subject)
        });
    }
    reports::Finding {
        kind: ClaimKind::LeakageFinding.name().to_owned(),
        analyzer,
        rule,
        personnel,
        at_stake_cents,
        amounts,
        date,
        dates,
        identifiers,
        content_hash_hex,
        leaf_index: seq.0,
        checkpoint_seq,
        tsa_gen_time: a.tsa.as_ref().map(|(_, t)| *t),
        anchoring: a.states.clone(),
        fabric: a.fabric.clone(),
        status,
    }
}

impl From<ReportError> for crate::http::ApiError {
    fn from(e: ReportError) -> Self {
        use crate::http::ErrorCode;
        use axum::http::StatusCode as S;
        match e {
            ReportError::Period(p) => Self::new(S::BAD_REQUEST, ErrorCode::InvalidPeriod, format!("period: {p}")),
            e @ ReportError::NothingAnchored => Self::new(S::CONFLICT, ErrorCode::NothingAnchored, e.to_string()),
            e @ ReportError::TooLarge { .. } => Self::new(S::PAYLOAD_TOO_LARGE, ErrorCode::ReportTooLarge, e.to_string()),
            ReportError::Timestamp(why) => {
                tracing::warn!(error = %why, "report signature time-stamp failed");
                let mut e = Self::new(
                    S::BAD_GATEWAY,
                    ErrorCode::TimestampUnavailable,
                    "no TSA answered the report signature's time-stamp request with a token that verifies; retry later",
                );
                e.retry_after = Some(30);
                e
            }
            ReportError::Ledger(l) => l.into(),
            other => {
                tracing::error!(error = %other, "report failed");
                Self::new(S::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error; the server log has the detail")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchors() -> CheckpointAnchors {
        CheckpointAnchors {
            tsa: Some(("dev TSA".into(), UnixMillis(1_795_000_000_000))),
            fabric: None,
            states: vec![(reports::Rail::Tsa, reports::AnchorState::Anchored)],
            delays: Vec::new(),
        }
    }

    /// A stored Fabric anchor (the receipt as the Gateway rail stores it) shows its block
    /// number and transaction id on the cover and the rows; evidence that is not a receipt
    /// shows none (and does not fail the report).
    #[test]
    fn the_fabric_block_and_tx_of_a_checkpoint_are_read_from_its_receipt() {
        let factory = fabric_anchor::emulator::ReceiptFactory::new("evidence").unwrap();
        let hash = evidence_core::CheckpointHash([7; 32]);
        // Two anchors, so the second is not in the channel's first block.
        factory.receipt("rooftop-7", 0, &evidence_core::CheckpointHash([6; 32])).unwrap();
        let (receipt, key) = factory.receipt("rooftop-7", 1, &hash).unwrap();
        let roots = factory.trust().msp_roots().unwrap();
        let verified =
            evidence_core::fabric::verify_receipt(&receipt, &hash, &key, &roots, None, &evidence_core::fabric::BlockLimits::default())
                .unwrap();
        let anchor = evidence_core::bundle::FabricAnchor {
            channel: receipt.channel.clone(),
            block: evidence_core::bundle::Base64(receipt.block.clone()),
            tx_index: u32::try_from(receipt.tx_index).unwrap(),
            key,
            msp_roots: Vec::new(),
        };
        let row = |rail: Rail, evidence: Vec<u8>| AnchorRow {
            id: 1,
            checkpoint_seq: evidence_core::CheckpointSeq(1),
            rail,
            state: AnchorState::Anchored,
            attempts: 1,
            next_attempt_at: UnixMillis(0),
            last_error: None,
            evidence: Some(evidence),
            authority: Some("emulator".into()),
            jurisdiction: None,
            in_residency: Some(true),
            reanchor_of: None,
            created_at: UnixMillis(0),
            anchored_at: Some(UnixMillis(2_000)),
        };
        let a = anchors_of(1, UnixMillis(1_000), &[row(Rail::Fabric, serde_json::to_vec(&anchor).unwrap())]);
        let x = a.fabric.clone().unwrap();
        assert!(verified.block.number > 0);
        assert_eq!(x.block, verified.block.number);
        assert_eq!(x.tx_id.as_deref(), Some(receipt.tx_id.as_str()));
        assert_eq!(a.states, vec![(reports::Rail::Fabric, reports::AnchorState::Anchored)]);
        let body = json!({"analyzer": "fi", "rule": "fi.reserve_outlier", "staff_code": "FI-07", "measures": {}});
        let f = finding_row(Seq(2), UnixMillis(1_000), &body, "ab".repeat(32), 1, &a, reports::Status::Active);
        assert_eq!(f.fabric, Some(x));
        // Evidence that is not a receipt, or a receipt pointing past the block's transactions.
        assert!(anchors_of(1, UnixMillis(1_000), &[row(Rail::Fabric, b"not json".to_vec())]).fabric.is_none());
        let past = evidence_core::bundle::FabricAnchor { tx_index: 99, ..anchor };
        assert!(anchors_of(1, UnixMillis(1_000), &[row(Rail::Fabric, serde_json::to_vec(&past).unwrap())]).fabric.is_none());
    }

    #[test]
    fn periods_are_checked() {
        assert!(parse_period("2026-11-01", "2026-11-30").is_ok());
        assert!(parse_period("2026-11-01", "2026-11-01").is_ok());
        for (f, t) in [("2026-11-30", "2026-11-01"), ("2026-02-30", "2026-03-01"), ("2026-11-01", "tomorrow"), ("", "")] {
            assert!(matches!(parse_period(f, t), Err(ReportError::Period(_))), "{f} {t}");
        }
    }

    #[test]
    fn a_pipeline_finding_becomes_a_row() {
        let body = json!({"schema": "pipeline/leakage_finding/v1", "analyzer": "fi", "rule": "fi.reserve_outlier", "subject": "D-24117",
                          "staff_code": "FI-07", "measures": {"reserve": "1400.00", "amount_financed": "31000.00", "reserve_pct": "4.52"}, "as_of": "2026-11-03"});
        let row = finding_row(Seq(4), UnixMillis(1_795_000_000_000), &body, "ab".repeat(32), 1, &anchors(), reports::Status::Active);
        assert_eq!(row.personnel, vec![reports::PersonnelCode::new("FI-07").unwrap()]);
        assert_eq!(row.at_stake_cents, Some(140_000));
        assert_eq!(
            row.amounts.iter().map(|a| (a.label.as_str(), a.cents)).collect::<Vec<_>>(),
            [("reserve", 140_000), ("amount financed", 3_100_000)]
        );
        assert_eq!(row.date, Date::parse("2026-11-03").unwrap());
        assert_eq!(row.identifiers, vec![reports::OperationalId::Deal("D-24117".into())]);
        assert_eq!(row.tsa_gen_time, Some(UnixMillis(1_795_000_000_000)));
        assert_eq!((row.leaf_index, row.checkpoint_seq), (4, 1));
    }

    #[test]
    fn a_name_where_a_code_belongs_is_left_out() {
        let body = json!({"analyzer": "service", "rule": "service.warranty_short_paid", "subject": "RO-1", "staff_code": "Jane Doe",
                          "measures": {"claimed": "500.00", "paid": "120.00"}});
        let row = finding_row(Seq(0), UnixMillis(1_795_000_000_000), &body, "cd".repeat(32), 0, &anchors(), reports::Status::Active);
        assert!(row.personnel.is_empty());
        assert_eq!(row.at_stake_cents, Some(38_000));
        assert_eq!(row.identifiers, vec![reports::OperationalId::RepairOrder("RO-1".into())]);
        // No as_of: the append day.
        assert_eq!(row.date.to_string(), "2026-11-18");
        // A body of another shape still renders, as "unknown".
        let row = finding_row(Seq(1), UnixMillis(0), &json!({"n": 1}), "ef".repeat(32), 0, &anchors(), reports::Status::Active);
        assert_eq!((row.analyzer.as_str(), row.rule.as_str()), ("unknown", "unknown"));
    }
}
