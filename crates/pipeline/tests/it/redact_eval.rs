//! Recall per PII type and damage per keep type.
//!
//! - **v2** (`eval/v2/{tune,test}.jsonl`, issue 22): written by another engineer, without
//!   sight of the rules. The test **fails below the issue's targets on the test part**
//!   (SIN, phone, e-mail ≥ 0.99; whole names, whole addresses, plates with a context word
//!   ≥ 0.95; keep damage ≤ 1%). Both tables are printed; individual misses are printed for the
//!   **tune part only**: the test part is looked at only through its aggregate table, and
//!   no rule is changed because of a test figure other than through what tune shows.
//! - **Regression** (`eval/redact_eval.jsonl` from `eval/gen_eval.py`, and
//!   `eval/hard_cases.jsonl`): the self-written set of issue 9, with its own targets.
//!
//! A PII span counts as found only when every one of its bytes is redacted (by one span or by
//! touching spans); a keep span counts as damaged when any of its bytes is. For every part the
//! test also builds the exact model-request body from each redacted text and runs the
//! fail-closed guard on it ([`guard::check_body`]), and prints how many bodies it refuses.
//!
//! Run: `cargo test -p pipeline --test redact_eval -- --nocapture`.

use std::collections::BTreeMap;

use pipeline::redact::{Lang, Redactor, Span, guard, llm};

#[derive(serde::Deserialize)]
struct Labelled {
    byte_start: usize,
    byte_end: usize,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    lang: String,
    text: String,
    pii: Vec<Labelled>,
    keep: Vec<Labelled>,
}

impl Case {
    /// `mixed` English/French texts are scanned as English (neither stage uses the language
    /// except the Comprehend detector, which only takes English).
    fn lang(&self) -> Lang {
        if self.lang == "fr" { Lang::Fr } else { Lang::En }
    }
}

fn load(name: &str) -> Vec<Case> {
    let path = format!("{}/eval/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    data.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every byte of `[a, b)` inside the union of `spans` (sorted, non-overlapping).
fn covered(spans: &[Span], a: usize, b: usize) -> bool {
    let mut at = a;
    for s in spans {
        if s.byte_end <= at {
            continue;
        }
        if s.byte_start > at {
            return false;
        }
        at = s.byte_end;
        if at >= b {
            return true;
        }
    }
    at >= b
}

fn overlaps(spans: &[Span], a: usize, b: usize) -> bool {
    spans.iter().any(|s| s.byte_start < b && s.byte_end > a)
}

#[derive(Default, Clone, Copy)]
struct Tally {
    total: usize,
    hit: usize,
}

impl Tally {
    #[allow(clippy::cast_precision_loss)]
    fn ratio(self) -> f64 {
        if self.total == 0 { 1.0 } else { self.hit as f64 / self.total as f64 }
    }
}

/// The figures of one part of a set.
#[derive(Default)]
struct Report {
    texts: usize,
    recall: BTreeMap<String, Tally>,
    damage: BTreeMap<String, Tally>,
    /// Redaction spans that overlap no labelled PII span (over-redaction; not a target).
    extra_spans: usize,
    spans: usize,
    /// Request bodies built from the redacted texts that the guard refuses.
    refused: usize,
    /// Request bodies the detector's own re-scan refuses (`llm::rescan_body`).
    rescan_refused: usize,
    misses: Vec<String>,
    damaged: Vec<String>,
    extras: Vec<String>,
    refusals: Vec<String>,
}

impl Report {
    fn keep_all(&self) -> Tally {
        self.damage.values().fold(Tally::default(), |a, t| Tally { total: a.total + t.total, hit: a.hit + t.hit })
    }

    fn recall_of(&self, k: &str) -> f64 {
        self.recall.get(k).unwrap_or_else(|| panic!("no {k} spans in the set")).ratio()
    }
}

fn excerpt(text: &str, a: usize, b: usize) -> String {
    let mut s = a.saturating_sub(30);
    while !text.is_char_boundary(s) {
        s -= 1;
    }
    let mut e = (b + 30).min(text.len());
    while !text.is_char_boundary(e) {
        e += 1;
    }
    format!("{:?} in …{:?}…", &text[a..b], &text[s..e])
}

fn evaluate(redactor: &Redactor, cases: &[Case]) -> Report {
    let mut r = Report { texts: cases.len(), ..Report::default() };
    for c in cases {
        let red = redactor.redact(&c.text, c.lang()).unwrap();
        let spans = &red.spans;
        r.spans += spans.len();
        for p in &c.pii {
            let t = r.recall.entry(p.kind.clone()).or_default();
            t.total += 1;
            if covered(spans, p.byte_start, p.byte_end) {
                t.hit += 1;
            } else {
                let got: Vec<String> = spans
                    .iter()
                    .filter(|s| s.byte_start < p.byte_end && s.byte_end > p.byte_start)
                    .map(|s| format!("{}{:?}", s.kind, &c.text[s.byte_start..s.byte_end]))
                    .collect();
                r.misses.push(format!("{} {} {} got {got:?}", c.id, p.kind, excerpt(&c.text, p.byte_start, p.byte_end)));
            }
        }
        for k in &c.keep {
            let t = r.damage.entry(k.kind.clone()).or_default();
            t.total += 1;
            if overlaps(spans, k.byte_start, k.byte_end) {
                t.hit += 1;
                r.damaged.push(format!("{} {} {}", c.id, k.kind, excerpt(&c.text, k.byte_start, k.byte_end)));
            }
        }
        for s in spans {
            if !c.pii.iter().any(|p| p.byte_start < s.byte_end && p.byte_end > s.byte_start) {
                r.extra_spans += 1;
                r.extras.push(format!("{} {} {}", c.id, s.kind, excerpt(&c.text, s.byte_start, s.byte_end)));
            }
        }
        let body = llm::request_body(&red.redacted, 256).unwrap();
        if !llm::rescan_body(redactor, &body, c.lang()).unwrap().1.is_empty() {
            r.rescan_refused += 1;
        }
        if let Err(refusal) = guard::check_body(&body) {
            r.refused += 1;
            let f = &refusal.findings[0];
            let body_text = String::from_utf8_lossy(&body);
            r.refusals.push(format!(
                "{} {} findings, first {:?} {}",
                c.id,
                refusal.findings.len(),
                f.class,
                excerpt(&body_text, f.byte_offset, f.byte_offset + f.byte_len)
            ));
        }
    }
    r
}

fn print_tables(title: &str, r: &Report, targets: &[(&str, f64)]) {
    println!("\n## {title}: {} texts\n", r.texts);
    println!("| PII type | spans | found | recall | target |\n|---|---:|---:|---:|---|");
    for (k, t) in &r.recall {
        let target = targets.iter().find(|(n, _)| n == k).map_or(String::new(), |(_, v)| format!("≥ {v}"));
        println!("| {k} | {} | {} | {:.3} | {target} |", t.total, t.hit, t.ratio());
    }
    println!("\n| keep type | spans | damaged | damage |\n|---|---:|---:|---:|");
    for (k, t) in &r.damage {
        println!("| {k} | {} | {} | {:.3} |", t.total, t.hit, t.ratio());
    }
    let all = r.keep_all();
    println!("| all keep | {} | {} | {:.4} (target ≤ 0.01) |", all.total, all.hit, all.ratio());
    #[allow(clippy::cast_precision_loss)]
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    println!("\nredaction spans overlapping no labelled PII: {} of {} ({:.1}%)", r.extra_spans, r.spans, pct(r.extra_spans, r.spans));
    println!("request bodies the guard refuses after redaction: {} of {} ({:.1}%)", r.refused, r.texts, pct(r.refused, r.texts));
    println!(
        "request bodies the detector's re-scan refuses after redaction: {} of {} ({:.1}%)",
        r.rescan_refused,
        r.texts,
        pct(r.rescan_refused, r.texts)
    );
}

fn print_details(r: &Report) {
    println!("\nmissed PII spans ({}):", r.misses.len());
    for m in &r.misses {
        println!("  {m}");
    }
    println!("damaged keep spans ({}):", r.damaged.len());
    for m in &r.damaged {
        println!("  {m}");
    }
    println!("guard refusals ({}):", r.refusals.len());
    for m in &r.refusals {
        println!("  {m}");
    }
    println!("spans overlapping no labelled PII ({}):", r.extras.len());
    for m in &r.extras {
        println!("  {m}");
    }
}

fn check(r: &Report, targets: &[(&str, f64)], fails: &mut Vec<String>, part: &str) {
    for &(k, target) in targets {
        if r.recall_of(k) < target {
            fails.push(format!("{part}: {k} recall {:.3} < {target}", r.recall_of(k)));
        }
    }
    if r.keep_all().ratio() > 0.01 {
        fails.push(format!("{part}: keep damage {:.4} > 0.01", r.keep_all().ratio()));
    }
}

/// The issue 22 targets, on the v2 test part.
const V2_TARGETS: &[(&str, f64)] = &[("SIN", 0.99), ("PHONE", 0.99), ("EMAIL", 0.99), ("NAME", 0.95), ("ADDRESS", 0.95), ("PLATE", 0.95)];

#[test]
fn v2_test_part_meets_the_issue_22_targets() {
    let redactor = Redactor::offline();
    let tune = load("v2/tune.jsonl");
    let test = load("v2/test.jsonl");
    assert!(tune.len() + test.len() >= 1_200, "v2 set too small: {} + {}", tune.len(), test.len());
    let test_r = evaluate(&redactor, &test);
    let tune_r = evaluate(&redactor, &tune);
    print_tables("v2 test part (the figure that counts; misses not shown)", &test_r, V2_TARGETS);
    print_tables("v2 tune part", &tune_r, V2_TARGETS);
    print_details(&tune_r);
    let mut fails = Vec::new();
    check(&test_r, V2_TARGETS, &mut fails, "v2 test");
    assert!(fails.is_empty(), "below target: {fails:?}");
}

/// The issue 9 targets, on the self-written set.
const REGRESSION_TARGETS: &[(&str, f64)] = &[("SIN", 0.99), ("PHONE", 0.99), ("EMAIL", 0.99), ("PLATE", 0.95), ("NAME", 0.90)];

#[test]
fn regression_set_keeps_its_targets() {
    let redactor = Redactor::offline();
    let mut cases = load("redact_eval.jsonl");
    let generated = cases.len();
    cases.extend(load("hard_cases.jsonl"));
    assert!(cases.len() >= 300, "evaluation set too small: {}", cases.len());
    let r = evaluate(&redactor, &cases);
    print_tables(&format!("regression set ({generated} generated, {} hand-written)", cases.len() - generated), &r, REGRESSION_TARGETS);
    print_details(&r);
    // The detector's own re-scan of the request body must not refuse texts it has redacted.
    let mut refused = Vec::new();
    for c in &cases {
        let red = redactor.redact(&c.text, c.lang()).unwrap();
        let (_, types) = llm::rescan_body(&redactor, &llm::request_body(&red.redacted, 256).unwrap(), c.lang()).unwrap();
        if !types.is_empty() {
            refused.push(format!("{} {types:?}: {}", c.id, red.redacted));
        }
    }
    println!("request bodies the detector re-scan would refuse: {}", refused.len());
    for m in &refused {
        println!("  {m}");
    }
    let mut fails = Vec::new();
    check(&r, REGRESSION_TARGETS, &mut fails, "regression");
    if !refused.is_empty() {
        fails.push(format!("{} redacted texts fail the re-scan", refused.len()));
    }
    assert!(fails.is_empty(), "below target: {fails:?}");
}
