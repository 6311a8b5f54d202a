//! Rendering a bundle report for people (text, HTML) and for machines (JSON).
//!
//! The JSON shape is stable (`evidence-verify-report/v1`; fields are only ever added):
//!
//! ```text
//! {
//!   "format": "evidence-verify-report/v1",
//!   "verdict": "verified" | "not_verified",
//!   "verdict_text": "VERIFIED" | "verified against development trust material: not evidence" | ... ,
//!   "evidence": bool,            // verified, against production trust material, with nothing weakened
//!   "not_evidence_because": ["..."],
//!   "trust": "production" | "development",
//!   "inputs": {"bundle": {"path", "sha256"}, "trust": {"path", "sha256"}, "record": {"path", "sha256"} | null},
//!   "verifier": {"name": "evidence-verify", "version": "...", "build": "...", "build_source": "git" | "crate_version"},
//!   "verified_at": "<RFC 3339>", "verified_at_source": "...",
//!   "bundle": "<path>",
//!   "tenant": "...", "ledger": "...",
//!   "checkpoint": {"seq": N, "tree_size": N, "root": "<hex>", "hash": "<hex>", "sealed_at": "<RFC 3339>"} | null,
//!   "claims": [{"seq": N, "kind": "...", "record": "disclosed" | "withheld" | "erased",
//!               "content": {"kind": "...", "body": {...}} | null, "record_source": "bundle" | "--record" | null}],
//!   "anchors": {"timestamps_verified": N, "fabric_verified": N},
//!   "development_trust": bool,
//!   "checks": [{"id": "...", "subject": "...", "outcome": "pass" | "fail" | "warn" | "not_applicable", "detail": "..."}],
//!   "first_failure": {"id": "...", "subject": "...", "detail": "..."} | null,
//!   "proves": ["..."],           // what was established (before the first failing check, when one failed)
//!   "does_not_prove": ["..."],
//!   "glossary": [{"term": "...", "meaning": "..."}]
//! }
//! ```

use evidence_core::bundle::{Bundle, RecordStatus};
use evidence_core::leaf::LeafEntry;
use evidence_core::{BundleReport, CheckId, Outcome, UnixMillis, Verdict};

/// The phrase that replaces "VERIFIED" when the trust file is development material.
pub const DEVELOPMENT_VERDICT: &str = "verified against development trust material: not evidence";

/// One input file, identified by its SHA-256.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
}

impl InputFile {
    pub fn new(path: &std::path::Path, bytes: &[u8]) -> Self {
        Self { path: path.display().to_string(), sha256: hex::encode(evidence_core::sha256(&[bytes])) }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({"path": self.path, "sha256": self.sha256})
    }
}

/// What the report ties itself to: the exact input files and the one clock reading.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub bundle: InputFile,
    pub trust: InputFile,
    pub record: Option<InputFile>,
    /// The leaf index of the claim the `--record` file was matched to.
    pub record_for: Option<u64>,
    /// The CLI's one clock reading, taken before the checks ran.
    pub verified_at: UnixMillis,
}

/// How the clock reading is described in every report.
pub const VERIFIED_AT_SOURCE: &str =
    "the clock of the computer that ran evidence-verify, read once when the run started; no check depends on it";

/// The verifier's version and build: the git revision when the build saw one, else only the crate version.
pub fn build() -> (&'static str, &'static str) {
    match option_env!("EVIDENCE_VERIFY_GIT_REVISION") {
        Some(rev) if !rev.is_empty() => (rev, "git"),
        _ => (env!("CARGO_PKG_VERSION"), "crate_version"),
    }
}

fn build_text() -> String {
    let (b, source) = build();
    if source == "git" {
        format!("evidence-verify {} (git revision {b})", env!("CARGO_PKG_VERSION"))
    } else {
        format!("evidence-verify {} (no git revision was available when it was built)", env!("CARGO_PKG_VERSION"))
    }
}

/// The terms the report uses, in plain words.
pub const GLOSSARY: &[(&str, &str)] = &[
    (
        "leaf",
        "One entry of the ledger's append-only log: the fixed binary record of one claim (tenant, position, time, kind and commitment). \"Leaf N\" is the N-th entry, counting from 0.",
    ),
    (
        "root",
        "A single SHA-256 value computed from every leaf of the log at a given size (a Merkle tree root). Changing, removing or reordering any leaf changes the root.",
    ),
    (
        "checkpoint",
        "A statement, signed with the ledger's key, of the log's size and root at one moment. Each checkpoint names the hash of the one before it.",
    ),
    (
        "commitment",
        "A SHA-256 value in the leaf computed from the claim's content hash and a random salt. It binds the leaf to the record without revealing it, so a record can be withheld or erased while the log stays intact.",
    ),
    (
        "genTime",
        "The time at which an independent RFC 3161 time-stamp authority states it signed a time-stamp token over the checkpoint hash.",
    ),
    (
        "MSP",
        "Membership Service Provider: the certificate authorities that identify one organisation of a Hyperledger Fabric network. The trust file names the MSPs whose certificates are accepted.",
    ),
    ("orderer", "The Hyperledger Fabric service that puts transactions into blocks and signs each block."),
    (
        "validation flag",
        "A per-transaction marker the Fabric peers write into a block saying whether the transaction was accepted as valid. It is not covered by the orderer's signature, so the report marks it as a caveat.",
    ),
];

/// Everything needed to render one report.
pub struct Rendered<'a> {
    pub path: &'a str,
    pub bundle: &'a Bundle,
    pub report: &'a BundleReport,
    pub inputs: &'a Inputs,
}

fn claim_kind(bundle_claim: &evidence_core::bundle::BundleClaim) -> String {
    LeafEntry::decode(&bundle_claim.leaf_entry.0)
        .ok()
        .and_then(|e| e.kind().map(|k| k.name().to_owned()))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn status_name(s: RecordStatus) -> &'static str {
    match s {
        RecordStatus::Disclosed => "disclosed",
        RecordStatus::Withheld => "withheld",
        RecordStatus::Erased => "erased",
    }
}

fn outcome_parts(o: &Outcome) -> (&'static str, &str) {
    match o {
        Outcome::Pass(d) => ("pass", d),
        Outcome::Fail(d) => ("fail", d),
        Outcome::Warn(d) => ("warn", d),
        Outcome::NotApplicable(d) => ("not_applicable", d),
        _ => ("unknown", ""),
    }
}

/// `1 claim`, `2 claims`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Rendered<'_> {
    fn verified(&self) -> bool {
        self.report.verdict == Verdict::Verified
    }

    /// Why a verified result is still not evidence (empty when it is, or when not verified).
    fn not_evidence_because(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.verified() {
            return out;
        }
        if self.report.development_trust {
            out.push("the trust file is development material (its keys and TSA are not trustworthy)".to_owned());
        }
        for w in &self.report.weakened {
            out.push(format!("checks were weakened on request: {}", w.describe()));
        }
        out
    }

    /// The verdict in words: the machine-readable verdict plus what it is worth.
    pub fn verdict_text(&self) -> String {
        if !self.verified() {
            "NOT VERIFIED".to_owned()
        } else if self.report.development_trust {
            DEVELOPMENT_VERDICT.to_owned()
        } else if !self.report.weakened.is_empty() {
            "VERIFIED, with checks weakened on request (see the notes)".to_owned()
        } else {
            "VERIFIED".to_owned()
        }
    }

    /// The checks up to (not including) the first failing one: all of them when none failed.
    fn before_failure(&self) -> &[evidence_core::Check] {
        let checks = &self.report.checks;
        let upto = checks.iter().position(|c| c.outcome.is_fail()).unwrap_or(checks.len());
        &checks[..upto]
    }

    /// The plain statements of what the checks show, as far as they passed: when a check
    /// failed, only what the checks before it established.
    fn proves(&self) -> Vec<String> {
        let done = self.before_failure();
        let passed =
            |id: CheckId, subject: &str| done.iter().any(|c| c.id == id && c.subject == subject && matches!(c.outcome, Outcome::Pass(_)));
        let mut out = Vec::new();
        let cp = self
            .report
            .checkpoint
            .as_ref()
            .filter(|_| done.iter().any(|c| c.id == CheckId::CheckpointSignature && matches!(c.outcome, Outcome::Pass(_))));
        let Some(cp) = cp else { return out };
        out.push(format!(
            "The ledger key signed checkpoint {} of tenant {}'s log at {} (root {}), sealed at {}.",
            cp.seq,
            self.bundle.tenant,
            plural(usize::try_from(cp.root.tree_size.0).unwrap_or(usize::MAX), "leaf", "leaves"),
            cp.root.hash,
            cp.sealed_at
        ));
        for c in &self.bundle.claims {
            let subject = format!("claim {} of tenant {}", c.seq, self.bundle.tenant);
            if !passed(CheckId::ClaimInclusion, &subject) {
                continue;
            }
            let erased_checked =
                done.iter().any(|x| x.id == CheckId::ClaimRecord && x.subject == subject && matches!(x.outcome, Outcome::NotApplicable(_)));
            let what = match c.record_status {
                RecordStatus::Disclosed if passed(CheckId::ClaimCommitment, &subject) => {
                    ", bound to the disclosed record (its exact bytes hash to the content hash in the leaf's commitment)"
                }
                RecordStatus::Withheld if passed(CheckId::ClaimCommitment, &subject) => {
                    ", bound to a record that is not disclosed here, through its content hash and salt"
                }
                RecordStatus::Erased if erased_checked => ", bound to a commitment whose record has been erased",
                _ => " (its record and commitment were not established)",
            };
            out.push(format!("Claim {} ({}) of tenant {} is leaf {} of that log{what}.", c.seq, claim_kind(c), self.bundle.tenant, c.seq));
        }
        let count = |id: CheckId| done.iter().filter(|c| c.id == id && matches!(c.outcome, Outcome::Pass(_))).count();
        let (tsa, fabric) = if self.verified() {
            (self.report.timestamps_verified, self.report.fabric_verified)
        } else {
            (count(CheckId::AnchorTimestamp), count(CheckId::AnchorFabric))
        };
        if tsa > 0 {
            out.push(format!(
                "{} independent time-stamp authorit{} stamped the checkpoint hash: the checkpoint existed no later than the genTime shown in the checks.",
                tsa,
                if tsa == 1 { "y" } else { "ies" }
            ));
        }
        if fabric > 0 {
            out.push("The Fabric channel's peers endorsed, and its orderer signed, a block recording the checkpoint hash.".to_owned());
        }
        if count(CheckId::CheckpointConsistency) > 0 {
            out.push("Later checkpoints extend this one: the log only grew; nothing in it was removed or rewritten.".to_owned());
        }
        out
    }

    /// The heading over [`Self::proves`], and what to say when it is empty.
    fn proves_heading(&self) -> (String, String) {
        match self.report.first_failure() {
            None => ("What the checks establish".to_owned(), "Nothing.".to_owned()),
            Some(f) => (
                format!("What the checks established before the first failing check ({})", f.id),
                format!("Nothing: check {} failed before any check that establishes a fact had passed.", f.id),
            ),
        }
    }

    fn does_not_prove(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.report.development_trust {
            out.push("Anything at all as evidence: the trust file is development material.".to_owned());
        }
        if let Some(f) = self.report.first_failure() {
            out.push(format!(
                "Anything that depends on check {} ({}) or on the checks after it: the bundle did not verify.",
                f.id, f.subject
            ));
        }
        out.push(
            "That the claim is true or complete: only that these bytes (or this commitment) existed and were logged as shown.".to_owned(),
        );
        out.push("Anything about who wrote the claim beyond the ledger's own signature.".to_owned());
        if self.bundle.claims.iter().any(|c| c.record_status != RecordStatus::Disclosed) {
            out.push("The content of records that are withheld or erased: it is not disclosed, and for erased records it can no longer be linked to the leaf.".to_owned());
        }
        if self.report.timestamps_verified == 0 {
            out.push("A time from an independent time-stamp authority: no RFC 3161 anchor was verified.".to_owned());
        }
        if self.report.fabric_verified == 0 {
            out.push("A record on the Fabric channel: no Fabric anchor was verified.".to_owned());
        }
        out
    }

    /// How each claim's record stands: its content when present.
    fn claim_content(&self, c: &evidence_core::bundle::BundleClaim) -> String {
        match (&c.record, c.record_status) {
            (Some(_), RecordStatus::Disclosed) if self.inputs.record_for == Some(c.seq) => {
                "disclosed: supplied separately with --record (the bundle itself withholds it)".to_owned()
            }
            (Some(_), RecordStatus::Disclosed) => "disclosed in the bundle".to_owned(),
            (_, RecordStatus::Withheld) => "withheld: the record is not in the bundle; only its content hash and salt are".to_owned(),
            (_, RecordStatus::Erased) => "erased: the record was destroyed; only the leaf's commitment remains".to_owned(),
            (None, RecordStatus::Disclosed) => "disclosed, but missing from the bundle".to_owned(),
        }
    }

    fn inputs_lines(&self) -> Vec<(String, String)> {
        let i = self.inputs;
        let mut v = vec![
            ("Bundle file".to_owned(), format!("{} (SHA-256 {})", i.bundle.path, i.bundle.sha256)),
            ("Trust file".to_owned(), format!("{} (SHA-256 {})", i.trust.path, i.trust.sha256)),
        ];
        match &i.record {
            Some(r) => v.push(("Record file".to_owned(), format!("{} (SHA-256 {})", r.path, r.sha256))),
            None => v.push(("Record file".to_owned(), "none given".to_owned())),
        }
        v.push(("Verifier".to_owned(), build_text()));
        v.push(("Verified at".to_owned(), format!("{} ({VERIFIED_AT_SOURCE})", i.verified_at)));
        v
    }

    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(s, "Evidence bundle: {}", self.path);
        let _ = writeln!(
            s,
            "Ledger {}, tenant {}, {}\n",
            self.bundle.ledger,
            self.bundle.tenant,
            plural(self.bundle.claims.len(), "claim", "claims")
        );
        if self.report.development_trust {
            let _ = writeln!(s, "*** DEVELOPMENT TRUST MATERIAL: NOTHING IN THIS REPORT IS EVIDENCE ***\n");
        }
        let _ = writeln!(s, "Inputs:");
        for (k, v) in self.inputs_lines() {
            let _ = writeln!(s, "  {k:<12} {v}");
        }
        let _ = writeln!(s, "\nClaims:");
        for c in &self.bundle.claims {
            let _ = writeln!(s, "  Claim {} ({}): record {}", c.seq, claim_kind(c), self.claim_content(c));
            if let Some(r) = &c.record {
                let _ = writeln!(s, "    kind: {}", r.kind);
                let body = serde_json::to_string_pretty(&r.body).unwrap_or_default();
                let _ = writeln!(s, "    body: {}", body.replace('\n', "\n          "));
            }
        }
        let _ = writeln!(s);
        for c in &self.report.checks {
            let (o, d) = outcome_parts(&c.outcome);
            let mark = match o {
                "pass" => "PASS",
                "fail" => "FAIL",
                "warn" => "WARN",
                _ => "N/A ",
            };
            let _ = writeln!(s, "{mark}  {:<24} {}\n      {d}", c.id, c.subject);
        }
        for w in &self.report.weakened {
            let how =
                if *w == evidence_core::Weakening::AnchorsNotChecked { "--allow-unanchored was given" } else { "weakened on request" };
            let _ = writeln!(s, "\nNOTE  {how}: {}.", w.describe());
        }
        let _ = writeln!(s, "\nAnchoring policy applied: {}.", self.report.policy.describe());
        let _ = writeln!(s, "\nResult: {}", self.verdict_text());
        if let Some(f) = self.report.first_failure() {
            let (_, d) = outcome_parts(&f.outcome);
            let _ = writeln!(s, "First failing check: {} ({}): {d}", f.id, f.subject);
        }
        let (heading, empty) = self.proves_heading();
        let _ = writeln!(s, "\n{heading}:");
        let proves = self.proves();
        if proves.is_empty() {
            let _ = writeln!(s, "  {empty}");
        }
        for p in proves {
            let _ = writeln!(s, "  - {p}");
        }
        let _ = writeln!(s, "\nWhat they do not establish:");
        for p in self.does_not_prove() {
            let _ = writeln!(s, "  - {p}");
        }
        let _ = writeln!(s, "\nTerms used:");
        for (t, m) in GLOSSARY {
            let _ = writeln!(s, "  {t}: {m}");
        }
        s
    }

    pub fn json(&self) -> serde_json::Value {
        let r = self.report;
        let (build, build_source) = build();
        let not_evidence = self.not_evidence_because();
        serde_json::json!({
            "format": "evidence-verify-report/v1",
            "verdict": if self.verified() { "verified" } else { "not_verified" },
            "verdict_text": self.verdict_text(),
            "evidence": self.verified() && not_evidence.is_empty(),
            "not_evidence_because": not_evidence,
            "trust": if r.development_trust { "development" } else { "production" },
            "inputs": {
                "bundle": self.inputs.bundle.json(),
                "trust": self.inputs.trust.json(),
                "record": self.inputs.record.as_ref().map(InputFile::json),
            },
            "verifier": {"name": "evidence-verify", "version": env!("CARGO_PKG_VERSION"), "build": build, "build_source": build_source},
            "verified_at": self.inputs.verified_at.to_rfc3339(),
            "verified_at_source": VERIFIED_AT_SOURCE,
            "bundle": self.path,
            "tenant": self.bundle.tenant.as_str(),
            "ledger": self.bundle.ledger,
            "checkpoint": r.checkpoint.as_ref().map(|cp| serde_json::json!({
                "seq": cp.seq.0,
                "tree_size": cp.root.tree_size.0,
                "root": cp.root.hash.to_hex(),
                "hash": cp.hash().to_hex(),
                "sealed_at": cp.sealed_at.to_rfc3339(),
            })),
            "claims": self.bundle.claims.iter().map(|c| serde_json::json!({
                "seq": c.seq, "kind": claim_kind(c), "record": status_name(c.record_status),
                "content": c.record.as_ref().map(|rec| serde_json::json!({"kind": rec.kind, "body": rec.body})),
                "record_source": match (&c.record, self.inputs.record_for == Some(c.seq)) {
                    (Some(_), true) => Some("--record"),
                    (Some(_), false) => Some("bundle"),
                    (None, _) => None,
                },
            })).collect::<Vec<_>>(),
            "anchors": {"timestamps_verified": r.timestamps_verified, "fabric_verified": r.fabric_verified},
            "unanchored_allowed": r.weakened.contains(&evidence_core::Weakening::AnchorsNotChecked),
            "policy": r.policy,
            "weakened": r.weakened,
            "development_trust": r.development_trust,
            "checks": r.checks.iter().map(|c| {
                let (o, d) = outcome_parts(&c.outcome);
                serde_json::json!({"id": c.id, "subject": c.subject, "outcome": o, "detail": d})
            }).collect::<Vec<_>>(),
            "first_failure": r.first_failure().map(|c| {
                let (_, d) = outcome_parts(&c.outcome);
                serde_json::json!({"id": c.id, "subject": c.subject, "detail": d})
            }),
            "proves": self.proves(),
            "does_not_prove": self.does_not_prove(),
            "glossary": GLOSSARY.iter().map(|(t, m)| serde_json::json!({"term": t, "meaning": m})).collect::<Vec<_>>(),
        })
    }

    /// A self-contained HTML page (no external assets), suitable to print or attach.
    pub fn html(&self) -> String {
        use std::fmt::Write as _;
        let e = escape;
        let verified = self.verified();
        let class = match (verified, self.report.development_trust) {
            (false, _) => "fail",
            (true, true) => "dev",
            (true, false) if !self.report.weakened.is_empty() => "warn",
            (true, false) => "pass",
        };
        let mut s = String::new();
        let _ = write!(
            s,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evidence verification report</title>\n<style>\n\
             body{{font-family:Georgia,serif;max-width:60em;margin:2em auto;padding:0 1em;color:#111;line-height:1.4}}\n\
             h1{{font-size:1.5em}} table{{border-collapse:collapse;width:100%}} td,th{{border:1px solid #999;padding:.3em .5em;vertical-align:top;text-align:left}}\n\
             .pass{{color:#064}} .fail{{color:#a00;font-weight:bold}} .warn{{color:#a60}} .na{{color:#555}} code{{font-size:.85em}}\n\
             td.check code{{white-space:nowrap}} td.detail,td.subject{{overflow-wrap:anywhere}}\n\
             .hash{{font-family:monospace;font-size:.85em;overflow-wrap:anywhere}} dl.inputs dt{{font-weight:bold}} dl.inputs dd{{margin:0 0 .4em 1.5em}}\n\
             pre.body{{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:.5em;font-size:.85em}}\n\
             .verdict{{font-size:1.3em;padding:.5em;border:2px solid}}\n\
             .verdict.dev{{color:#7a4a00;background:#fff3cd;border:4px dashed #a60;font-weight:bold;text-transform:uppercase}}\n\
             .devbanner{{color:#7a4a00;background:#fff3cd;border:4px dashed #a60;padding:.5em;font-weight:bold;text-align:center}}\n\
             </style></head><body>\n"
        );
        if self.report.development_trust {
            s.push_str(
                "<p id=\"development-banner\" class=\"devbanner\">Development trust material: nothing in this report is evidence.</p>\n",
            );
        }
        let _ = write!(
            s,
            "<h1>Evidence verification report</h1>\n<p>Bundle <code class=\"hash\">{}</code>; ledger <code>{}</code>; tenant <code>{}</code>; {}.</p>\n",
            e(self.path),
            e(&self.bundle.ledger),
            e(self.bundle.tenant.as_str()),
            plural(self.bundle.claims.len(), "claim", "claims")
        );
        let _ = writeln!(
            s,
            "<p id=\"verdict\" class=\"verdict {class}\" data-verdict=\"{}\">Result: {}</p>",
            if verified { "verified" } else { "not_verified" },
            e(&self.verdict_text())
        );
        if let Some(f) = self.report.first_failure() {
            let (_, d) = outcome_parts(&f.outcome);
            let _ =
                writeln!(s, "<p class=\"fail\">First failing check: <code>{}</code> ({}): {}</p>", e(f.id.as_str()), e(&f.subject), e(d));
        }
        s.push_str("<h2>Inputs</h2>\n<dl class=\"inputs\">\n");
        for (k, v) in self.inputs_lines() {
            let _ = writeln!(s, "<dt>{}</dt><dd class=\"hash\">{}</dd>", e(&k), e(&v));
        }
        s.push_str("</dl>\n<h2>Claims</h2>\n");
        for c in &self.bundle.claims {
            let _ = writeln!(s, "<h3>Claim {} ({})</h3>\n<p>Record {}.</p>", c.seq, e(&claim_kind(c)), e(&self.claim_content(c)));
            if let Some(r) = &c.record {
                let body = serde_json::to_string_pretty(&r.body).unwrap_or_default();
                let _ = writeln!(s, "<p>Kind: <code>{}</code></p>\n<pre class=\"body\">{}</pre>", e(r.kind.name()), e(&body));
            }
        }
        s.push_str("<h2>Checks</h2>\n<table id=\"checks\"><tr><th>Result</th><th>Check</th><th>Subject</th><th>Detail</th></tr>\n");
        for c in &self.report.checks {
            let (o, d) = outcome_parts(&c.outcome);
            let class = match o {
                "pass" => "pass",
                "fail" => "fail",
                "warn" => "warn",
                _ => "na",
            };
            let _ = writeln!(
                s,
                "<tr><td class=\"{class}\">{}</td><td class=\"check\"><code>{}</code></td><td class=\"subject\">{}</td><td class=\"detail\">{}</td></tr>",
                o.to_uppercase().replace('_', " "),
                e(c.id.as_str()),
                e(&c.subject),
                e(d)
            );
        }
        let (heading, empty) = self.proves_heading();
        let _ = writeln!(s, "</table>\n<h2>{}</h2>\n<ul id=\"proves\">", e(&heading));
        let proves = self.proves();
        if proves.is_empty() {
            let _ = writeln!(s, "<li>{}</li>", e(&empty));
        }
        for p in proves {
            let _ = writeln!(s, "<li>{}</li>", e(&p));
        }
        s.push_str("</ul>\n<h2>What they do not establish</h2>\n<ul>\n");
        for p in self.does_not_prove() {
            let _ = writeln!(s, "<li>{}</li>", e(&p));
        }
        s.push_str("</ul>\n<h2>Terms used</h2>\n<dl id=\"glossary\">\n");
        for (t, m) in GLOSSARY {
            let _ = writeln!(s, "<dt><b>{}</b></dt><dd>{}</dd>", e(t), e(m));
        }
        let _ = write!(
            s,
            "</dl>\n<p><small>Produced offline by {} from the bundle and a separately obtained trust file. \
             This report states the results of cryptographic checks; it draws no legal conclusion.</small></p>\n</body></html>\n",
            e(&build_text())
        );
        s
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
