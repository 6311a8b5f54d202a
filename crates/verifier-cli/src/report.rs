//! Rendering a bundle report for people (text, HTML) and for machines (JSON).
//!
//! The JSON shape is stable (`evidence-verify-report/v1`):
//!
//! ```text
//! {
//!   "format": "evidence-verify-report/v1",
//!   "verdict": "verified" | "not_verified",
//!   "bundle": "<path>",
//!   "tenant": "...", "ledger": "...",
//!   "checkpoint": {"seq": N, "tree_size": N, "root": "<hex>", "hash": "<hex>", "sealed_at": "<RFC 3339>"} | null,
//!   "claims": [{"seq": N, "kind": "...", "record": "disclosed" | "withheld" | "erased"}],
//!   "anchors": {"timestamps_verified": N, "fabric_verified": N},
//!   "development_trust": bool,
//!   "checks": [{"id": "...", "subject": "...", "outcome": "pass" | "fail" | "warn" | "not_applicable", "detail": "..."}],
//!   "proves": ["..."], "does_not_prove": ["..."]
//! }
//! ```

use evidence_core::bundle::{Bundle, RecordStatus};
use evidence_core::leaf::LeafEntry;
use evidence_core::{BundleReport, Outcome, Verdict};

/// Everything needed to render one report.
pub struct Rendered<'a> {
    pub path: &'a str,
    pub bundle: &'a Bundle,
    pub report: &'a BundleReport,
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

impl Rendered<'_> {
    /// The plain statements of what the checks show, only as far as they passed.
    fn proves(&self) -> Vec<String> {
        let r = self.report;
        let mut out = Vec::new();
        if r.verdict != Verdict::Verified {
            return out;
        }
        let Some(cp) = &r.checkpoint else { return out };
        for c in &self.bundle.claims {
            let what = match c.record_status {
                RecordStatus::Disclosed => "the disclosed record (its exact bytes hash to the content hash in the leaf's commitment)",
                RecordStatus::Withheld => "a record that is not disclosed here, through its content hash and salt",
                RecordStatus::Erased => "a commitment whose record has been erased",
            };
            out.push(format!(
                "Claim {} ({}) of tenant {} is leaf {} of the tenant's log, bound to {what}.",
                c.seq,
                claim_kind(c),
                self.bundle.tenant,
                c.seq
            ));
        }
        out.push(format!(
            "The ledger key signed checkpoint {} of that log at {} leaves (root {}), sealed at {}.",
            cp.seq, cp.root.tree_size, cp.root.hash, cp.sealed_at
        ));
        if r.timestamps_verified > 0 {
            out.push(format!(
                "{} independent time-stamp authorit{} stamped the checkpoint hash: the claim existed no later than the genTime shown in the checks.",
                r.timestamps_verified,
                if r.timestamps_verified == 1 { "y" } else { "ies" }
            ));
        }
        if r.fabric_verified > 0 {
            out.push("The Fabric channel's peers endorsed, and its orderer signed, a block recording the checkpoint hash.".to_owned());
        }
        if self.report.checks.iter().any(|c| c.id == "checkpoint.consistency" && matches!(c.outcome, Outcome::Pass(_))) {
            out.push("Later checkpoints extend this one: the log only grew; nothing in it was removed or rewritten.".to_owned());
        }
        out
    }

    fn does_not_prove(&self) -> Vec<String> {
        let mut out = vec![
            "That the claim is true or complete: only that these bytes (or this commitment) existed and were logged as shown.".to_owned(),
            "Anything about who wrote the claim beyond the ledger's own signature.".to_owned(),
        ];
        if self.bundle.claims.iter().any(|c| c.record_status != RecordStatus::Disclosed) {
            out.push("The content of records that are withheld or erased: it is not disclosed, and for erased records it can no longer be linked to the leaf.".to_owned());
        }
        if self.report.timestamps_verified == 0 {
            out.push("A time from an independent time-stamp authority: no RFC 3161 anchor was verified.".to_owned());
        }
        if self.report.fabric_verified == 0 {
            out.push("A record on the Fabric channel: no Fabric anchor was verified.".to_owned());
        }
        if self.report.development_trust {
            out.push("Anything at all as evidence: the trust file is development material.".to_owned());
        }
        out
    }

    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(s, "Evidence bundle: {}", self.path);
        let _ = writeln!(s, "Ledger {}, tenant {}, {} claim(s)\n", self.bundle.ledger, self.bundle.tenant, self.bundle.claims.len());
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
        let verdict = if self.report.verdict == Verdict::Verified { "VERIFIED" } else { "NOT VERIFIED" };
        let _ = writeln!(s, "\nResult: {verdict}");
        let proves = self.proves();
        if !proves.is_empty() {
            let _ = writeln!(s, "\nWhat the checks establish:");
            for p in proves {
                let _ = writeln!(s, "  - {p}");
            }
        }
        let _ = writeln!(s, "\nWhat they do not establish:");
        for p in self.does_not_prove() {
            let _ = writeln!(s, "  - {p}");
        }
        s
    }

    pub fn json(&self) -> serde_json::Value {
        let r = self.report;
        serde_json::json!({
            "format": "evidence-verify-report/v1",
            "verdict": if r.verdict == Verdict::Verified { "verified" } else { "not_verified" },
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
            "proves": self.proves(),
            "does_not_prove": self.does_not_prove(),
        })
    }

    /// A self-contained HTML page (no external assets), suitable to print or attach.
    pub fn html(&self) -> String {
        use std::fmt::Write as _;
        let e = escape;
        let verified = self.report.verdict == Verdict::Verified;
        let mut s = String::new();
        let _ = write!(
            s,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evidence verification report</title>\n<style>\n\
             body{{font-family:Georgia,serif;max-width:52em;margin:2em auto;color:#111;line-height:1.4}}\n\
             h1{{font-size:1.5em}} table{{border-collapse:collapse;width:100%}} td,th{{border:1px solid #999;padding:.3em .5em;vertical-align:top;text-align:left}}\n\
             .pass{{color:#064}} .fail{{color:#a00;font-weight:bold}} .warn{{color:#a60}} .na{{color:#555}} code{{font-size:.85em;word-break:break-all}}\n\
             .verdict{{font-size:1.3em;padding:.5em;border:2px solid}}\n</style></head><body>\n\
             <h1>Evidence verification report</h1>\n<p>Bundle <code>{}</code>; ledger <code>{}</code>; tenant <code>{}</code>; {} claim(s).</p>\n",
            e(self.path),
            e(&self.bundle.ledger),
            e(self.bundle.tenant.as_str()),
            self.bundle.claims.len()
        );
        let _ = write!(
            s,
            "<p class=\"verdict {}\">Result: {}</p>\n<h2>Checks</h2>\n<table><tr><th>Result</th><th>Check</th><th>Subject</th><th>Detail</th></tr>\n",
            if verified { "pass" } else { "fail" },
            if verified { "VERIFIED" } else { "NOT VERIFIED" }
        );
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
                "<tr><td class=\"{class}\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                o.to_uppercase(),
                e(c.id.as_str()),
                e(&c.subject),
                e(d)
            );
        }
        s.push_str("</table>\n<h2>What the checks establish</h2>\n<ul>\n");
        for p in self.proves() {
            let _ = writeln!(s, "<li>{}</li>", e(&p));
        }
        s.push_str("</ul>\n<h2>What they do not establish</h2>\n<ul>\n");
        for p in self.does_not_prove() {
            let _ = writeln!(s, "<li>{}</li>", e(&p));
        }
        let _ = write!(
            s,
            "</ul>\n<p><small>Produced offline by evidence-verify {} from the bundle and a separately obtained trust file. \
             This report states the results of cryptographic checks; it draws no legal conclusion.</small></p>\n</body></html>\n",
            env!("CARGO_PKG_VERSION")
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
