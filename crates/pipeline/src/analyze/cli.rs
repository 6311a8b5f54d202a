//! `pipeline analyze`.
//!
//! ```text
//! pipeline analyze --profile P --export E FILE.csv --roster ROSTER.csv [--tenant T]
//!                  [--as-of YYYY-MM-DD] [--data DIR | --server URL --token T] [--json]
//! ```
//!
//! Runs the ingest check on FILE.csv, streaming its rows into the analyzers for the export
//! (`sales`: CIT, F&I, structure; `service`: service; `inventory` and `gl`: none yet, so the
//! run writes no finding, an empty scorecard set, and a passing gate), then the three
//! consumers, then the gate; every claim body goes through the name-leak gate; then
//! everything is written through the chosen [`ClaimSink`] in one
//! batch (same sink selection as `pipeline ingest`: `--data DIR`, default `./data`, or
//! `--server URL --token T`). `--as-of` defaults to today (UTC).
//!
//! All or nothing: when the file is refused, or when any claim would name staff, nothing is
//! written.
//!
//! Idempotent per (tenant, export file SHA-256, analyzer rule, subject): every finding carries
//! the idempotency key `analyze/v1:<hex SHA-256 of file hash, "finding", rule, subject and the
//! occurrence number, NUL-separated>`, and the consumer and gate claims one over the file hash,
//! their label and the set of finding keys. The ledger answers a known key with its first
//! receipt, so running `analyze` again over the same export writes nothing new and reports the
//! first run's receipts (same seq numbers). `--as-of` is not part of the key.
//!
//! Exit codes: **0** written (the gate's pass or fail is data, not an error), **1** refused
//! (the file was refused, or a leak refused a claim), **2** could not read or write, or bad
//! arguments (the roster included).
//!
//! ## Roster CSV
//!
//! UTF-8, header row exactly `code,name,nicknames,manager_code,role` (case-insensitive; order
//! fixed). `code` is the personnel code (required, unique); `name` the full name (required);
//! `nicknames` several separated by `;` (may be empty); `manager_code` the code of the person
//! this one reports to (may be empty; a manager's own `manager_code` names the GM); `role`
//! is free text (`salesperson`, `fi`, `manager`, `gm`...; kept for the operator, not used in
//! scoring). At most 1 MiB and 10 000 rows.
//!
//! ## Output
//!
//! With `--json` one line (`accepted` is false whenever the run wrote nothing because it was
//! refused: the file, or a claim naming staff): `{"accepted", "rows", "sink", "gate": "pass"|"fail"|null,
//! "receipts": [{"seq", "kind", "content_hash", "what"}], "refused": [{"what", "leaks":
//! [{"path", "code"}]}], "errors": [ingest errors]}`; without it, the same as text.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::PathBuf;

use evidence_core::claim::Claim;
use evidence_core::types::TenantId;
use evidence_core::{AppendReceipt, AppendRequest, ClaimSink, ContentHash};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::consumers::{self, GateRules, Hierarchy, Participants, RunInfo};
use super::roster::{Roster, StaffMember};
use super::{Finding, FindingError, cit, code, fi, finding_body, gated_request, service, structure};
use crate::ingest::cli::{CommonArgs, EXIT_ACCEPTED, EXIT_REFUSED, EXIT_UNREADABLE};
use crate::ingest::{Cell, ColumnSpec, Date, Export, IngestError, Profile, Report, check};

/// `pipeline analyze` arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Profile, export, file and limits.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The tenant's staff roster CSV (`code,name,nicknames,manager_code,role`).
    #[arg(long)]
    pub roster: PathBuf,
    /// The analysis date (YYYY-MM-DD); default today, UTC.
    #[arg(long)]
    pub as_of: Option<String>,
    /// The tenant whose log receives the claims.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Where the claims go.
    #[command(flatten)]
    pub ledger: crate::ingest::cli::LedgerArgs,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// One roster row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// Code, names.
    pub member: StaffMember,
    /// Who this person reports to.
    pub manager_code: Option<String>,
    /// Free-text role.
    pub role: String,
}

/// The largest roster file read.
pub const MAX_ROSTER_BYTES: u64 = 1 << 20;
/// The most roster rows.
pub const MAX_ROSTER_ROWS: usize = 10_000;

/// Parses a roster CSV (see the module docs).
///
/// # Errors
/// A message naming the row and field (never echoing a name).
pub fn parse_roster<R: Read>(input: R) -> Result<Vec<RosterEntry>, String> {
    let mut buf = Vec::new();
    input.take(MAX_ROSTER_BYTES + 1).read_to_end(&mut buf).map_err(|e| format!("roster: {e}"))?;
    if buf.len() as u64 > MAX_ROSTER_BYTES {
        return Err(format!("roster: larger than {MAX_ROSTER_BYTES} bytes"));
    }
    let text = std::str::from_utf8(&buf).map_err(|e| format!("roster: not UTF-8 at byte {}", e.valid_up_to()))?;
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(text.as_bytes());
    let header: Vec<String> =
        rdr.headers().map_err(|e| format!("roster header: {e}"))?.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    if header != ["code", "name", "nicknames", "manager_code", "role"] {
        return Err("roster: header must be code,name,nicknames,manager_code,role".into());
    }
    let mut out: Vec<RosterEntry> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        if out.len() >= MAX_ROSTER_ROWS {
            return Err(format!("roster: more than {MAX_ROSTER_ROWS} rows"));
        }
        let rec = rec.map_err(|e| format!("roster row {row}: {}", e.kind_name()))?;
        let field = |n: usize| rec.get(n).unwrap_or("").trim().to_owned();
        let code = field(0);
        if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            return Err(format!("roster row {row}: code must be 1 to 64 characters of A-Z a-z 0-9 . _ -"));
        }
        if !seen.insert(code.clone()) {
            return Err(format!("roster row {row}: duplicate code {code}"));
        }
        let name = field(1);
        if name.is_empty() {
            return Err(format!("roster row {row}: name is empty"));
        }
        let nicknames = field(2).split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let manager = field(3);
        out.push(RosterEntry {
            member: StaffMember { code, full_name: name, nicknames },
            manager_code: (!manager.is_empty()).then_some(manager),
            role: field(4),
        });
    }
    Ok(out)
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for csv::Error {
    fn kind_name(&self) -> String {
        // The csv error's Display may quote field contents; report only its position.
        match self.position() {
            Some(p) => format!("malformed CSV at byte {}", p.byte()),
            None => "malformed CSV".to_owned(),
        }
    }
}

/// Days since 1970-01-01 to a civil date.
pub fn date_from_days(z: i64) -> Option<Date> {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some(Date { year: u16::try_from(y).ok()?, month: u8::try_from(m).ok()?, day: u8::try_from(d).ok()? })
}

/// What the analyzers made of one file.
#[derive(Debug)]
pub struct Analysis {
    /// The ingest report.
    pub report: Report,
    /// Every finding, in order (row findings, then per-producer ones).
    pub findings: Vec<Finding>,
    /// Staff codes per subject, for the affinity consumer.
    pub participants: Participants,
}

const STAFF_COLUMNS: [&str; 4] = ["salesperson_code", "fi_manager_code", "advisor_code", "technician_code"];

fn participants_of(columns: &[ColumnSpec], cells: &[Cell], into: &mut Participants) {
    let Some(subject) = code(columns, cells, "deal_number").or_else(|| code(columns, cells, "ro_number")) else { return };
    let codes: BTreeSet<String> = STAFF_COLUMNS.iter().filter_map(|c| code(columns, cells, c)).collect();
    if !codes.is_empty() {
        into.entry(subject).or_default().extend(codes);
    }
}

/// Streams `input` through the ingest check into the analyzers of `profile`'s export.
///
/// # Errors
/// When the file cannot be read.
pub fn analyze<R: Read>(profile: &Profile, input: R, opts: &crate::ingest::Options, as_of: Date) -> Result<Analysis, String> {
    let export = profile.export;
    let mut findings = Vec::new();
    let mut participants = BTreeMap::new();
    let mut fi = fi::FiAnalyzer::new(fi::FiRules::default());
    let report = check(profile, input, opts, |r| {
        participants_of(r.columns, r.cells, &mut participants);
        match export {
            Export::Sales => {
                findings.extend(cit::analyze_row(r.columns, r.cells, as_of, &cit::CitRules::default()));
                findings.extend(fi.row(r.columns, r.cells));
                findings.extend(structure::analyze_row(r.columns, r.cells, &structure::StructureRules::default()));
            }
            Export::Service => findings.extend(service::analyze_row(r.columns, r.cells, &service::ServiceRules::default())),
            Export::Inventory | Export::Gl => {}
        }
    })
    .map_err(|e| e.to_string())?;
    findings.extend(fi.finish());
    Ok(Analysis { report, findings, participants })
}

/// A claim refused by the leak gate.
#[derive(Debug)]
pub struct Refusal {
    /// Which claim (`finding 3 cit.aged_contract`, `manager_scorecard SM1`, `gate_decision`).
    pub what: String,
    /// The error (leak paths and codes).
    pub error: FindingError,
}

/// Everything a run would write, or why not.
#[derive(Debug, Default)]
pub struct Plan {
    /// The requests, labelled, in write order.
    pub requests: Vec<(String, AppendRequest)>,
    /// The refused claims (nothing is written when non-empty).
    pub refused: Vec<Refusal>,
    /// The gate's verdict, when the gate claim was built.
    pub gate_pass: Option<bool>,
}

/// Builds every claim of a run: findings, consumers, gate; each through the leak gate.
pub fn plan(a: &Analysis, run: &RunInfo, roster_entries: &[RosterEntry], as_of: Date) -> Plan {
    let members: Vec<StaffMember> = roster_entries.iter().map(|e| e.member.clone()).collect();
    let roster = Roster::new(&members);
    let hierarchy = Hierarchy::new(roster_entries.iter().filter_map(|e| Some((e.member.code.clone(), e.manager_code.clone()?))));
    let mut p = Plan::default();
    let mut hashed: Vec<(&Finding, ContentHash)> = Vec::new();
    // Idempotency: one key per (export file hash, rule, subject), numbered when a file gives
    // the same rule and subject more than once; the consumers' keys cover the set of findings.
    let mut occurrences: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut finding_keys = Vec::with_capacity(a.findings.len());
    for (i, f) in a.findings.iter().enumerate() {
        let what = format!("finding {i} {}", f.rule);
        let n = occurrences.entry((f.rule, f.subject.as_str())).or_insert(0);
        let key = idempotency_key(&[&run.file_sha256, "finding", f.rule, &f.subject, &n.to_string()]);
        *n += 1;
        finding_keys.push(key.clone());
        let body = finding_body(f, as_of);
        match Claim::new(evidence_core::ClaimKind::LeakageFinding, body.clone()).and_then(|c| c.content_hash()) {
            Ok(h) => hashed.push((f, h)),
            Err(e) => {
                p.refused.push(Refusal { what, error: e.into() });
                continue;
            }
        }
        match gated_request(evidence_core::ClaimKind::LeakageFinding, body, Vec::new(), &roster) {
            Ok(r) => p.requests.push((what, r.with_idempotency_key(key))),
            Err(error) => p.refused.push(Refusal { what, error }),
        }
    }
    let findings_digest = hex::encode(sha2::Sha256::digest(finding_keys.join("\n").as_bytes()));
    let derived = |what: &str| idempotency_key(&[&run.file_sha256, "derived", what, &findings_digest]);
    let push = |p: &mut Plan, what: String, r: Result<AppendRequest, FindingError>| match r {
        Ok(r) => {
            let key = derived(&what);
            p.requests.push((what, r.with_idempotency_key(key)));
        }
        Err(error) => p.refused.push(Refusal { what, error }),
    };
    match consumers::manager_scorecards(&hashed, &hierarchy, as_of, &roster) {
        Ok(v) => {
            for r in v {
                let what = format!("manager_scorecard {}", r.claim.body["manager_code"].as_str().unwrap_or(""));
                let key = derived(&what);
                p.requests.push((what, r.with_idempotency_key(key)));
            }
        }
        Err(error) => p.refused.push(Refusal { what: "manager_scorecard".into(), error }),
    }
    push(&mut p, "hierarchical_score".into(), consumers::hierarchical_score(&hashed, &hierarchy, as_of, &roster));
    push(&mut p, "affinity".into(), consumers::affinity(&hashed, &a.participants, 2, as_of, &roster));
    match consumers::gate_decision(&hashed, run, GateRules::default(), as_of, &roster) {
        Ok((r, pass)) => {
            p.gate_pass = Some(pass);
            p.requests.push(("gate_decision".into(), r.with_idempotency_key(derived("gate_decision"))));
        }
        Err(error) => p.refused.push(Refusal { what: "gate_decision".into(), error }),
    }
    p
}

/// `analyze/v1:` and the hex SHA-256 of `parts` joined by NUL bytes (75 characters: within the
/// ledger's 128-byte limit whatever the subject's length).
fn idempotency_key(parts: &[&str]) -> String {
    let mut h = sha2::Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0u8]);
        }
        h.update(part.as_bytes());
    }
    format!("analyze/v1:{}", hex::encode(h.finalize()))
}

async fn write<S: ClaimSink>(sink: &S, reqs: Vec<AppendRequest>) -> Result<Vec<AppendReceipt>, String>
where
    S::Error: std::fmt::Display,
{
    if reqs.is_empty() {
        return Ok(Vec::new());
    }
    sink.append_batch(reqs).await.map_err(|e| e.to_string())
}

fn leaks_json(e: &FindingError) -> Value {
    match e {
        FindingError::NameLeak(l) => l.iter().map(|l| json!({"path": l.path, "code": l.code})).collect(),
        other => json!([{"path": null, "code": null, "error": other.to_string()}]),
    }
}

fn print_summary(out: &mut dyn Write, json_out: bool, summary: &Value) -> std::io::Result<()> {
    if json_out {
        return writeln!(out, "{summary}");
    }
    writeln!(out, "accepted: {}, rows: {}, sink: {}, gate: {}", summary["accepted"], summary["rows"], summary["sink"], summary["gate"])?;
    for e in summary["errors"].as_array().into_iter().flatten() {
        writeln!(out, "  error: {}", e["message"].as_str().unwrap_or(""))?;
    }
    for r in summary["refused"].as_array().into_iter().flatten() {
        writeln!(out, "  refused {}: leaks {}", r["what"].as_str().unwrap_or(""), r["leaks"])?;
    }
    for r in summary["receipts"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  seq {} {} {} {}",
            r["seq"],
            r["kind"].as_str().unwrap_or(""),
            r["content_hash"].as_str().unwrap_or(""),
            r["what"].as_str().unwrap_or("")
        )?;
    }
    Ok(())
}

fn fail(err: &mut dyn Write, msg: &str) -> u8 {
    let _ = writeln!(err, "pipeline: {msg}");
    EXIT_UNREADABLE
}

/// Runs `pipeline analyze`; returns the exit code.
pub fn run_analyze(args: &AnalyzeArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let c = &args.common;
    let tenant = match TenantId::new(args.tenant.clone()) {
        Ok(t) => t,
        Err(e) => return fail(err, &format!("--tenant: {e}")),
    };
    let as_of = args.as_of.as_deref().map_or_else(
        || {
            let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            date_from_days(i64::try_from(secs / 86_400).unwrap_or(0))
        },
        crate::ingest::value::parse_date,
    );
    let Some(as_of) = as_of else {
        return fail(err, "--as-of: expected a YYYY-MM-DD date (or a system clock in range)");
    };
    let roster = match File::open(&args.roster).map_err(|e| format!("cannot read {}: {e}", args.roster.display())).and_then(parse_roster) {
        Ok(r) => r,
        Err(e) => return fail(err, &e),
    };
    let Some(profile) = Profile::get(c.profile, c.export) else {
        return fail(err, &format!("{} has no {} export profile", c.profile.name(), c.export.name()));
    };
    let input = match File::open(&c.file) {
        Ok(f) => BufReader::with_capacity(64 * 1024, f),
        Err(e) => return fail(err, &format!("cannot read {}: {e}", c.file.display())),
    };
    let analysis = match analyze(&profile, input, &options(c), as_of) {
        Ok(a) => a,
        Err(e) => return fail(err, &format!("cannot read {}: {e}", c.file.display())),
    };
    let errors: &[IngestError] = &analysis.report.errors;
    let mut summary = json!({
        "accepted": analysis.report.accepted,
        "rows": analysis.report.rows,
        "sink": null,
        "gate": null,
        "receipts": [],
        "refused": [],
        "errors": errors,
    });
    if !analysis.report.accepted {
        return if print_summary(out, args.json, &summary).is_ok() { EXIT_REFUSED } else { EXIT_UNREADABLE };
    }
    let run = RunInfo {
        profile: c.profile.name().to_owned(),
        export: c.export.name().to_owned(),
        file_sha256: analysis.report.sha256.map(hex::encode).unwrap_or_default(),
        rows: analysis.report.rows,
    };
    let plan = plan(&analysis, &run, &roster, as_of);
    if !plan.refused.is_empty() {
        // The file was readable, but the run is refused: its summary must not read as accepted.
        summary["accepted"] = json!(false);
        summary["refused"] = plan.refused.iter().map(|r| json!({"what": r.what, "leaks": leaks_json(&r.error)})).collect();
        return if print_summary(out, args.json, &summary).is_ok() { EXIT_REFUSED } else { EXIT_UNREADABLE };
    }
    let (labels, reqs): (Vec<String>, Vec<AppendRequest>) = plan.requests.into_iter().unzip();
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(err, &format!("cannot start the runtime: {e}")),
    };
    let written = rt.block_on(async {
        let sink = args.ledger.open(&tenant).map_err(|e| e.to_string())?;
        write(&sink, reqs).await
    });
    let sink = args.ledger.describe();
    let receipts = match written {
        Ok(v) => v,
        Err(e) => return fail(err, &format!("{}: {e}", c.file.display())),
    };
    summary["sink"] = json!(sink);
    summary["gate"] = json!(plan.gate_pass.map(|p| if p { "pass" } else { "fail" }));
    summary["receipts"] = receipts
        .iter()
        .zip(&labels)
        .map(|(r, what)| json!({"seq": r.seq.0, "kind": r.kind.name(), "content_hash": r.content_hash.to_hex(), "what": what}))
        .collect();
    if print_summary(out, args.json, &summary).is_err() {
        return EXIT_UNREADABLE;
    }
    EXIT_ACCEPTED
}

fn options(c: &CommonArgs) -> crate::ingest::Options {
    let d = crate::ingest::Limits::default();
    let limits = crate::ingest::Limits {
        max_file_bytes: c.max_file_bytes.unwrap_or(d.max_file_bytes),
        max_field_bytes: c.max_field_bytes.unwrap_or(d.max_field_bytes),
        max_record_bytes: c.max_record_bytes.unwrap_or(d.max_record_bytes),
        ..d
    };
    crate::ingest::Options { encoding: c.encoding, limits, hash: true }
}
