//! The three consumers over [`Finding`]s, and the `gate_decision`, `sop_attestation` and
//! `ria_submission_row` builders.
//!
//! Every consumer output is written as a `leakage_finding` claim whose body has a
//! `"consumer"` field naming the consumer (`manager_scorecard`, `hierarchical_score`,
//! `affinity`): the ledger has no dedicated kind for aggregates, and an aggregate of
//! leakage findings is itself a leakage finding; the `consumer` field (absent on analyzer
//! findings, which carry `"analyzer"`) tells them apart. Each links (append-request links) the
//! content hashes of the finding claims it aggregates. Staff appear by personnel code only.
//!
//! ## Amount at stake (per finding, in cents)
//!
//! | rule | amount |
//! |---|---|
//! | `structure.front_loss` | `-front_gross` |
//! | `structure.negative_back` | `-back_gross` |
//! | `structure.payment_mismatch` | `abs(payment - expected_payment)` |
//! | `fi.reserve_outlier` | `reserve` |
//! | `service.warranty_short_paid` | `claimed - paid` |
//! | every other rule | 0 (counted, no amount) |
//!
//! ## Severity
//!
//! | severity | weight | rules |
//! |---|---|---|
//! | critical | 5 | `structure.rate_over_cap`, `fi.rate_markup` |
//! | high | 3 | `cit.aged_contract`, `fi.reserve_outlier`, `structure.payment_mismatch`, `service.warranty_short_paid` |
//! | medium | 1 | every other rule |
//!
//! ## Manager scorecard (one claim per manager code)
//!
//! `{"schema": "pipeline/manager_scorecard/v1", "consumer": "manager_scorecard",
//! "manager_code", "as_of", "analyzers": {NAME: {"findings": N, "amount": "D.DD"}},
//! "total_findings": N, "total_amount": "D.DD"}`. A finding counts for the manager of its
//! staff code ([`Hierarchy`]); staff with no manager on the roster count for themselves.
//!
//! ## Hierarchical score (one claim per run)
//!
//! Score of a finding = severity weight + floor(amount in dollars / 1000). A staff code's score
//! is the sum over its findings; a manager's score is its own findings' score plus the scores of
//! every staff code reporting to it; a GM's score is the sum of the scores of the managers
//! reporting to it (the manager's manager on the roster); the rooftop score is the sum of all
//! findings' scores. Body: `{"schema": "pipeline/hierarchical_score/v1", "consumer":
//! "hierarchical_score", "as_of", "formula", "staff": [{"code", "manager_code"|null, "score"}],
//! "managers": [{"code", "gm_code"|null, "score"}], "gms": [{"code", "score"}], "rooftop_score"}`.
//!
//! ## Affinity (one claim per run)
//!
//! Two staff codes are paired when both take part in the same subject (deal or RO: every staff
//! code column on the row, e.g. the salesperson and the F&I producer) and that subject has at
//! least one finding. A pair is reported when it shares at least `min_shared_subjects`
//! (default 2) such subjects. Body: `{"schema": "pipeline/affinity/v1", "consumer":
//! "affinity", "as_of", "min_shared_subjects", "pairs": [{"a", "b", "shared_subjects",
//! "findings"}]}` (`a` < `b`; pairs sorted by code). Written even with no pair (that is the
//! result).
//!
//! ## `gate_decision` (one per run)
//!
//! `{"schema": "pipeline/gate_decision/v1", "gate": "leakage_analysis", "as_of", "run":
//! {"profile", "export", "file_sha256", "rows"}, "counts": {"critical", "high", "medium"},
//! "thresholds": {"max_critical", "max_high"}, "decision": "pass"|"fail", "reasons": [..]}`.
//! Fails when open critical findings exceed `max_critical` (default 0) or high ones exceed
//! `max_high` (default 10). Every finding of the run is open (nothing here closes one). Links
//! every finding judged.
//!
//! ## `sop_attestation`
//!
//! `{"schema": "pipeline/sop_attestation/v1", "sop_id", "version", "attested_by",
//! "attested_at_ms"}`: `attested_by` is a personnel code; `sop_id`, `version` and the code are
//! 1 to 64 characters of `A-Z a-z 0-9 . _ -`.
//!
//! ## `ria_submission_row`
//!
//! `{"schema": "pipeline/ria_submission_row/v1", "submission_id", "row", "period" (YYYY-MM),
//! "rooftop_code", "staff_code", "rule", "finding_count", "amount" ("D.DD")}`: codes only.

use std::collections::{BTreeMap, BTreeSet};

use evidence_core::ContentHash;
use evidence_core::claim::ClaimKind;
use evidence_core::sink::AppendRequest;
use serde_json::{Value, json};

use super::roster::Roster;
use super::{Finding, FindingError, fmt_hundredths, gated_request};
use crate::ingest::Date;

/// A finding and the content hash of its claim (what consumers link to).
pub type Hashed<'a> = (&'a Finding, ContentHash);

/// Finding severity (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Weight 1.
    Medium,
    /// Weight 3.
    High,
    /// Weight 5.
    Critical,
}

impl Severity {
    /// The severity of a rule.
    pub fn of(rule: &str) -> Self {
        match rule {
            "structure.rate_over_cap" | "fi.rate_markup" => Self::Critical,
            "cit.aged_contract" | "fi.reserve_outlier" | "structure.payment_mismatch" | "service.warranty_short_paid" => Self::High,
            _ => Self::Medium,
        }
    }

    /// The scoring weight.
    pub fn weight(self) -> i128 {
        match self {
            Self::Medium => 1,
            Self::High => 3,
            Self::Critical => 5,
        }
    }
}

/// A decimal string (`-12.5`, `3.00`) in hundredths, truncated; `None` if it is not one.
pub fn parse_hundredths(s: &str) -> Option<i128> {
    let (neg, digits) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || int.len() > 30 || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i128 = int.parse().ok()?;
    let mut f = frac.bytes().chain(std::iter::repeat(b'0')).take(2);
    for _ in 0..2 {
        v = v * 10 + i128::from(f.next().unwrap_or(b'0') - b'0');
    }
    Some(if neg { -v } else { v })
}

fn m(f: &Finding, key: &str) -> Option<i128> {
    f.measures.get(key).and_then(Value::as_str).and_then(parse_hundredths)
}

/// The amount at stake in a finding, in cents (see the module docs).
pub fn amount(f: &Finding) -> i128 {
    let v = match f.rule {
        "structure.front_loss" => m(f, "front_gross").map(|v| -v),
        "structure.negative_back" => m(f, "back_gross").map(|v| -v),
        "structure.payment_mismatch" => m(f, "payment").zip(m(f, "expected_payment")).map(|(a, b)| (a - b).abs()),
        "fi.reserve_outlier" => m(f, "reserve"),
        "service.warranty_short_paid" => m(f, "claimed").zip(m(f, "paid")).map(|(a, b)| a - b),
        _ => None,
    };
    v.unwrap_or(0).max(0)
}

/// The score of one finding: severity weight + whole thousands of dollars at stake.
pub fn score(f: &Finding) -> i128 {
    Severity::of(f.rule).weight() + amount(f) / 100_000
}

/// Who reports to whom: personnel code → manager code (from the roster).
#[derive(Clone, Debug, Default)]
pub struct Hierarchy {
    manager: BTreeMap<String, String>,
}

impl Hierarchy {
    /// From (staff code, manager code) pairs.
    pub fn new<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self { manager: pairs.into_iter().filter(|(s, m)| s != m).collect() }
    }

    /// The manager of `code`, if the roster names one.
    pub fn manager_of(&self, code: &str) -> Option<&str> {
        self.manager.get(code).map(String::as_str)
    }
}

fn links(fs: &[Hashed<'_>]) -> Vec<ContentHash> {
    let mut v: Vec<ContentHash> = fs.iter().map(|(_, h)| *h).collect();
    v.sort_by_key(ContentHash::to_hex);
    v.dedup();
    v
}

/// The manager scorecards, one request per manager code, leak-gated.
///
/// # Errors
/// [`FindingError::NameLeak`] if a body names staff.
pub fn manager_scorecards(fs: &[Hashed<'_>], h: &Hierarchy, as_of: Date, roster: &Roster) -> Result<Vec<AppendRequest>, FindingError> {
    let mut by_mgr: BTreeMap<&str, Vec<Hashed<'_>>> = BTreeMap::new();
    for (f, hash) in fs {
        let mgr = h.manager_of(&f.staff_code).unwrap_or(&f.staff_code);
        by_mgr.entry(mgr).or_default().push((f, *hash));
    }
    let mut out = Vec::new();
    for (mgr, group) in by_mgr {
        let mut per: BTreeMap<&str, (u64, i128)> = BTreeMap::new();
        for (f, _) in &group {
            let e = per.entry(f.analyzer).or_default();
            e.0 += 1;
            e.1 += amount(f);
        }
        let total: i128 = per.values().map(|v| v.1).sum();
        let analyzers: serde_json::Map<String, Value> =
            per.iter().map(|(k, (n, a))| ((*k).to_owned(), json!({"findings": n, "amount": fmt_hundredths(*a)}))).collect();
        let body = json!({
            "schema": "pipeline/manager_scorecard/v1",
            "consumer": "manager_scorecard",
            "manager_code": mgr,
            "as_of": as_of.to_string(),
            "analyzers": analyzers,
            "total_findings": group.len(),
            "total_amount": fmt_hundredths(total),
        });
        out.push(gated_request(ClaimKind::LeakageFinding, body, links(&group), roster)?);
    }
    Ok(out)
}

/// The formula, as written into the hierarchical score body.
pub const SCORE_FORMULA: &str = "finding = severity weight (critical 5, high 3, medium 1) + floor(amount dollars / 1000); \
staff = sum of own findings; manager = own findings + sum of reporting staff; gm = sum of reporting managers; rooftop = sum of all findings";

/// The hierarchical score body (staff → manager → GM → rooftop), as numbers.
pub fn hierarchical_body(fs: &[Hashed<'_>], h: &Hierarchy, as_of: Date) -> Value {
    let mut staff: BTreeMap<&str, i128> = BTreeMap::new();
    for (f, _) in fs {
        *staff.entry(&f.staff_code).or_default() += score(f);
    }
    let rooftop: i128 = staff.values().sum();
    let mut managers: BTreeMap<&str, i128> = BTreeMap::new();
    for (code, s) in &staff {
        if let Some(mg) = h.manager_of(code) {
            *managers.entry(mg).or_default() += s;
        }
    }
    // A manager's own findings count for it too.
    for (code, s) in &staff {
        if let Some(v) = managers.get_mut(code) {
            *v += s;
        }
    }
    let mut gms: BTreeMap<&str, i128> = BTreeMap::new();
    for (code, s) in &managers {
        if let Some(gm) = h.manager_of(code) {
            *gms.entry(gm).or_default() += s;
        }
    }
    json!({
        "schema": "pipeline/hierarchical_score/v1",
        "consumer": "hierarchical_score",
        "as_of": as_of.to_string(),
        "formula": SCORE_FORMULA,
        "staff": staff.iter().map(|(c, s)| json!({"code": c, "manager_code": h.manager_of(c), "score": i64::try_from(*s).unwrap_or(i64::MAX)})).collect::<Vec<_>>(),
        "managers": managers.iter().map(|(c, s)| json!({"code": c, "gm_code": h.manager_of(c), "score": i64::try_from(*s).unwrap_or(i64::MAX)})).collect::<Vec<_>>(),
        "gms": gms.iter().map(|(c, s)| json!({"code": c, "score": i64::try_from(*s).unwrap_or(i64::MAX)})).collect::<Vec<_>>(),
        "rooftop_score": i64::try_from(rooftop).unwrap_or(i64::MAX),
    })
}

/// The hierarchical score request, leak-gated.
///
/// # Errors
/// [`FindingError::NameLeak`] if the body names staff.
pub fn hierarchical_score(fs: &[Hashed<'_>], h: &Hierarchy, as_of: Date, roster: &Roster) -> Result<AppendRequest, FindingError> {
    gated_request(ClaimKind::LeakageFinding, hierarchical_body(fs, h, as_of), links(fs), roster)
}

/// Who took part in each subject: subject (deal or RO number) → staff codes on its row.
pub type Participants = BTreeMap<String, BTreeSet<String>>;

/// The affinity request, leak-gated. Links the findings on the subjects of reported pairs.
///
/// # Errors
/// [`FindingError::NameLeak`] if the body names staff.
pub fn affinity(
    fs: &[Hashed<'_>],
    participants: &Participants,
    min_shared_subjects: u64,
    as_of: Date,
    roster: &Roster,
) -> Result<AppendRequest, FindingError> {
    let mut per_subject: BTreeMap<&str, Vec<Hashed<'_>>> = BTreeMap::new();
    for (f, hash) in fs {
        per_subject.entry(&f.subject).or_default().push((f, *hash));
    }
    let mut pairs: BTreeMap<(&str, &str), (u64, Vec<Hashed<'_>>)> = BTreeMap::new();
    for (subject, group) in &per_subject {
        let Some(codes) = participants.get(*subject) else { continue };
        let codes: Vec<&String> = codes.iter().collect();
        for (i, a) in codes.iter().enumerate() {
            for b in &codes[i + 1..] {
                let e = pairs.entry((a.as_str(), b.as_str())).or_default();
                e.0 += 1;
                e.1.extend(group.iter().copied());
            }
        }
    }
    pairs.retain(|_, (n, _)| *n >= min_shared_subjects);
    let mut linked = Vec::new();
    let rows: Vec<Value> = pairs
        .iter()
        .map(|((a, b), (n, group))| {
            linked.extend(group.iter().copied());
            json!({"a": a, "b": b, "shared_subjects": n, "findings": group.len()})
        })
        .collect();
    let body = json!({
        "schema": "pipeline/affinity/v1",
        "consumer": "affinity",
        "as_of": as_of.to_string(),
        "min_shared_subjects": min_shared_subjects,
        "pairs": rows,
    });
    gated_request(ClaimKind::LeakageFinding, body, links(&linked), roster)
}

/// The gate's thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateRules {
    /// Most open critical findings allowed (default 0).
    pub max_critical: u64,
    /// Most open high findings allowed (default 10).
    pub max_high: u64,
}

impl Default for GateRules {
    fn default() -> Self {
        Self { max_critical: 0, max_high: 10 }
    }
}

/// What the gate judged: the run's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunInfo {
    /// The vendor profile name.
    pub profile: String,
    /// The export name.
    pub export: String,
    /// The file's SHA-256, hex.
    pub file_sha256: String,
    /// Data rows read.
    pub rows: u64,
}

/// The gate decision request, leak-gated; `true` in the pair when the gate passed.
///
/// # Errors
/// [`FindingError::NameLeak`] if the body names staff.
pub fn gate_decision(
    fs: &[Hashed<'_>],
    run: &RunInfo,
    rules: GateRules,
    as_of: Date,
    roster: &Roster,
) -> Result<(AppendRequest, bool), FindingError> {
    let mut counts = [0u64; 3];
    for (f, _) in fs {
        counts[Severity::of(f.rule) as usize] += 1;
    }
    let [medium, high, critical] = counts;
    let mut reasons = Vec::new();
    if critical > rules.max_critical {
        reasons.push(format!("{critical} open critical findings (max {})", rules.max_critical));
    }
    if high > rules.max_high {
        reasons.push(format!("{high} open high findings (max {})", rules.max_high));
    }
    let pass = reasons.is_empty();
    let body = json!({
        "schema": "pipeline/gate_decision/v1",
        "gate": "leakage_analysis",
        "as_of": as_of.to_string(),
        "run": {"profile": run.profile, "export": run.export, "file_sha256": run.file_sha256, "rows": run.rows},
        "counts": {"critical": critical, "high": high, "medium": medium},
        "thresholds": {"max_critical": rules.max_critical, "max_high": rules.max_high},
        "decision": if pass { "pass" } else { "fail" },
        "reasons": reasons,
    });
    Ok((gated_request(ClaimKind::GateDecision, body, links(fs), roster)?, pass))
}

/// A field that must be a code is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: expected 1 to 64 characters of A-Z a-z 0-9 . _ -")]
pub struct BadCode {
    /// The field.
    pub field: &'static str,
}

fn check_code(field: &'static str, v: &str) -> Result<(), FindingError> {
    if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Err(FindingError::BadField(BadCode { field }));
    }
    Ok(())
}

/// An SOP attestation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SopAttestation {
    /// The SOP id.
    pub sop_id: String,
    /// Its version.
    pub version: String,
    /// The attesting personnel code.
    pub attested_by: String,
    /// When, in Unix milliseconds.
    pub attested_at_ms: u64,
}

/// The `sop_attestation` request, leak-gated.
///
/// # Errors
/// [`FindingError::BadField`] for a malformed id, version or code; [`FindingError::NameLeak`].
pub fn sop_attestation(a: &SopAttestation, roster: &Roster) -> Result<AppendRequest, FindingError> {
    check_code("sop_id", &a.sop_id)?;
    check_code("version", &a.version)?;
    check_code("attested_by", &a.attested_by)?;
    let body = json!({
        "schema": "pipeline/sop_attestation/v1",
        "sop_id": a.sop_id,
        "version": a.version,
        "attested_by": a.attested_by,
        "attested_at_ms": a.attested_at_ms,
    });
    gated_request(ClaimKind::SopAttestation, body, Vec::new(), roster)
}

/// One regulatory submission row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiaRow {
    /// The submission's id.
    pub submission_id: String,
    /// The row number in the submission (1-based).
    pub row: u64,
    /// The period, `YYYY-MM`.
    pub period: String,
    /// The rooftop (dealership) code.
    pub rooftop_code: String,
    /// The personnel code the row is about.
    pub staff_code: String,
    /// The rule reported.
    pub rule: String,
    /// Findings of that rule for that staff code in the period.
    pub finding_count: u64,
    /// Amount at stake, cents.
    pub amount_cents: i128,
}

/// The `ria_submission_row` request, leak-gated; `links` are the findings it reports.
///
/// # Errors
/// [`FindingError::BadField`] for a malformed code or period; [`FindingError::NameLeak`].
pub fn ria_submission_row(r: &RiaRow, links: Vec<ContentHash>, roster: &Roster) -> Result<AppendRequest, FindingError> {
    check_code("submission_id", &r.submission_id)?;
    check_code("rooftop_code", &r.rooftop_code)?;
    check_code("staff_code", &r.staff_code)?;
    check_code("rule", &r.rule)?;
    let p = r.period.as_bytes();
    let month_ok = p.len() == 7
        && p[4] == b'-'
        && p[..4].iter().chain(&p[5..]).all(u8::is_ascii_digit)
        && matches!(&r.period[5..], "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12");
    if !month_ok {
        return Err(FindingError::BadField(BadCode { field: "period" }));
    }
    let body = json!({
        "schema": "pipeline/ria_submission_row/v1",
        "submission_id": r.submission_id,
        "row": r.row,
        "period": r.period,
        "rooftop_code": r.rooftop_code,
        "staff_code": r.staff_code,
        "rule": r.rule,
        "finding_count": r.finding_count,
        "amount": fmt_hundredths(r.amount_cents),
    });
    gated_request(ClaimKind::RiaSubmissionRow, body, links, roster)
}
