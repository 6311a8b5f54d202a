//! The fail-closed guard on the exact model-request body (issue 22).
//!
//! The detector (both stages) decides what to redact; the guard decides whether the bytes
//! that are about to leave may leave. It is written independently of the detector, with its
//! own, blunter patterns, so that a detector miss is not also a guard miss: it knows nothing
//! of names or context words, and it does not call the detector. [`check_body`] refuses a
//! body that holds any of:
//!
//! - **`digit_run`**: nine or more digits in a row, separators and line breaks ignored (white
//!   space of any kind, `-`, `.`, `/`, `(`, `)`, `+` and the Unicode dashes between digit
//!   groups, up to [`MAX_GAP_CHARS`] characters per gap; digits inside an alphanumeric token
//!   such as `P9981A` or `RT0001` join nothing, digits that follow letters such as the
//!   `1234` of `T1234 567890 12` start a run), that is not positively classified
//!   as a kept identifier (below). Any Unicode decimal or numeric character counts as a digit
//!   (a SIN in full-width digits is still nine digits), and a run holding one cannot be
//!   classified, so it is refused.
//! - **`email`**: anything shaped like an e-mail address: a local part, `@` (or the
//!   full-width `＠`, small `﹫`), optionally with spaces around it, and a domain with a dot
//!   and a final label of two or more letters.
//! - **`postal_code`**: anything shaped like a Canadian postal code, any letters, either
//!   case: letter, digit, letter, up to three spaces, hyphens or line breaks, digit, letter,
//!   digit, standing as a word of its own.
//!
//! # What counts as a kept identifier
//!
//! A run of digit groups is cut into the parts the guard can positively classify, and what
//! is left over is checked again; each left-over stretch of nine or more digits is a finding.
//! Positive classifications, by **label** (what is written next to the number) or **check
//! digit**:
//!
//! - an operational label word right before the number (`stock`, `deal`, `RO`, `VIN`,
//!   `invoice`, `claim`, `PO`, `ref`, `NEQ`, `BN`, ... the list in [`LABELS`]; or as `LABEL
//!   du|de|of|the WORD`, `NEQ du concessionnaire`), or an
//!   identifier prefix of one to four capital letters and a hyphen (`D-104522`): keeps the
//!   first segment of the run (digit groups joined without white space), not the rest;
//! - a CRA or Revenu Québec program account right after it (`123456782RT0001`,
//!   `1234567890TQ0001`, `123456782 RT 0001`): keeps the last segment;
//! - an amount: a `$` right before or after, or a decimal part (`544,00`, `4227.07`): keeps
//!   the amount's own groups (thousands groups of three);
//! - a date or time (`2024-11-20`, `20/11/2024`, `11/20/24`, `2024.11.20`, `12/19`,
//!   `20240811`, with valid month and day; the hour of `10:20`, `16h05` or `5 pm`; the day of
//!   `18 janvier`): keeps its groups (a date is never nine digits, but a time or number next
//!   to it must not join it into a run);
//! - a check digit: exactly nine digits that fail the Luhn check or start with 0 or 8 (the
//!   SIN rules) are not a SIN.
//!
//! Nothing else is kept: ten or more unlabelled digits are refused whatever they are, since
//! no check digit can show that they are not a phone number.
//!
//! # Where it looks
//!
//! The guard scans the body as the model will read it: JSON string escapes (`\n`, `\t`,
//! `\u0040`, surrogate pairs, ...) are decoded first, so that an escaped line break still
//! joins the two halves of a phone number and an escaped `@` is still an `@`; invalid UTF-8
//! is read as U+FFFD. Findings carry byte offsets into the **raw body** (the first byte of the
//! escape sequence where the pattern starts in one).
//!
//! # What it does not do
//!
//! The guard does not see names, street names without a postal code, plates, dates of birth,
//! or licence numbers with fewer than nine digits: none has a shape that could be told from
//! ordinary text without the detector's context rules, which the guard must not share. Those
//! classes rely on the detector and on its re-scan of the body
//! ([`rescan_body`](super::llm::rescan_body)).

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// Name recorded in `pii_redaction_event`.
pub const GUARD_NAME: &str = "pipeline-guard";
/// Version recorded in `pii_redaction_event`; bump on any pattern change.
pub const GUARD_VERSION: &str = "1";

/// The longest gap between two digit groups of one run, in characters.
pub const MAX_GAP_CHARS: usize = 16;

/// The most findings a [`Refusal`] lists (the rest are counted in `total_findings`).
pub const MAX_FINDINGS: usize = 64;

/// Label words that make the number right after them an operational identifier (matched
/// case-insensitively on the word before the number, after `#`, `:`, `no`, `n°`, ...).
pub const LABELS: &[&str] = &[
    "stock",
    "stk",
    "stock#",
    "deal",
    "ro",
    "r.o",
    "wo",
    "po",
    "invoice",
    "inv",
    "facture",
    "claim",
    "réclamation",
    "reclamation",
    "contract",
    "contrat",
    "dossier",
    "order",
    "commande",
    "account",
    "acct",
    "compte",
    "ref",
    "reference",
    "référence",
    "conf",
    "confirmation",
    "auth",
    "approval",
    "approbation",
    "lender",
    "loan",
    "prêt",
    "pret",
    "lead",
    "appt",
    "rdv",
    "tag",
    "job",
    "bt",
    "bon",
    "neq",
    "bn",
    "vin",
    "niv",
    "serial",
    "série",
    "serie",
    "part",
    "pièce",
    "piece",
    "campaign",
    "campagne",
    "recall",
    "rappel",
    "tsb",
    "transaction",
    "trans",
    "file",
    "batch",
    "lot",
    "ticket",
    "quote",
    "soumission",
    "devis",
    "unit",
    "unité",
    "case",
    "opcode",
    "op",
    "dtc",
    "auction",
    "encan",
    "reservation",
    "réservation",
    "booking",
];

const NUMBER_WORDS: &[&str] = &["no", "num", "number", "numéro", "numero", "n", "nº", "n°", "id"];

/// A class of pattern the guard refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PatternClass {
    /// Nine or more digits not positively classified as a kept identifier.
    DigitRun,
    /// Something shaped like an e-mail address.
    Email,
    /// Something shaped like a Canadian postal code.
    PostalCode,
}

impl PatternClass {
    /// The name used in claims (`"digit_run"`, `"email"`, `"postal_code"`).
    pub fn as_str(self) -> &'static str {
        match self {
            PatternClass::DigitRun => "digit_run",
            PatternClass::Email => "email",
            PatternClass::PostalCode => "postal_code",
        }
    }
}

/// Where the guard found a pattern: byte offsets into the raw body, never the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// What was found.
    pub class: PatternClass,
    /// Its first byte in the raw body.
    pub byte_offset: usize,
    /// Its length in the raw body, in bytes.
    pub byte_len: usize,
}

/// The guard's refusal of a body. Holds no byte of the body: classes, offsets, and the
/// body's SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("request body {body_sha256} refused by the guard: {total_findings} finding(s), first {} at byte {}", self.findings[0].class.as_str(), self.findings[0].byte_offset)]
pub struct Refusal {
    /// The findings, in body order (at most [`MAX_FINDINGS`]; never empty).
    pub findings: Vec<Finding>,
    /// How many findings there were in all.
    pub total_findings: usize,
    /// Hex SHA-256 of the exact body.
    pub body_sha256: String,
}

impl Refusal {
    /// The distinct classes found, sorted.
    pub fn classes(&self) -> Vec<PatternClass> {
        let mut c: Vec<PatternClass> = self.findings.iter().map(|f| f.class).collect();
        c.sort();
        c.dedup();
        c
    }
}

/// Checks the exact bytes of a model-request body.
///
/// # Errors
/// A [`Refusal`] when the body holds any pattern the guard refuses (see the module docs).
pub fn check_body(body: &[u8]) -> Result<(), Refusal> {
    let findings = scan(body);
    if findings.is_empty() {
        return Ok(());
    }
    let total_findings = findings.len();
    Err(Refusal {
        findings: findings.into_iter().take(MAX_FINDINGS).collect(),
        total_findings,
        body_sha256: hex::encode(Sha256::digest(body)),
    })
}

/// Every finding in `body`, sorted by offset.
pub fn scan(body: &[u8]) -> Vec<Finding> {
    let view = Decoded::new(body);
    let t = view.text.as_ref();
    let mut out = Vec::new();
    digit_runs(t, &mut out);
    emails(t, &mut out);
    postal_codes(t, &mut out);
    let mut found: Vec<Finding> = out
        .into_iter()
        .map(|(class, a, b)| {
            let (ra, rb) = (view.to_raw(a), view.to_raw(b));
            Finding { class, byte_offset: ra, byte_len: rb.saturating_sub(ra).max(1) }
        })
        .collect();
    found.sort_by_key(|f| (f.byte_offset, f.class));
    found.dedup();
    found
}

// ---------------------------------------------------------------------------------------
// The decoded view of the body.

#[derive(Clone, Copy, Debug)]
struct Seg {
    view: usize,
    raw: usize,
    /// `None` for bytes copied verbatim; `Some(len)` for one decoded character standing for
    /// `len` raw bytes (an escape, or an invalid UTF-8 sequence).
    decoded: Option<usize>,
}

struct Decoded<'a> {
    text: Cow<'a, str>,
    segs: Vec<Seg>,
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    b[..4].iter().try_fold(0u32, |a, &c| Some(a * 16 + char::from(c).to_digit(16)?))
}

impl<'a> Decoded<'a> {
    fn new(body: &'a [u8]) -> Self {
        if let Ok(s) = std::str::from_utf8(body)
            && !s.contains('\\')
        {
            return Self { text: Cow::Borrowed(s), segs: Vec::new() };
        }
        let mut text = String::with_capacity(body.len());
        let mut segs = Vec::new();
        let mut raw = 0;
        for chunk in body.utf8_chunks() {
            let valid = chunk.valid();
            let vb = valid.as_bytes();
            let mut i = 0;
            let mut copied = 0;
            while i < vb.len() {
                if vb[i] != b'\\' {
                    i += 1;
                    continue;
                }
                let esc = &vb[i..];
                let decoded: Option<(char, usize)> = match esc.get(1) {
                    Some(b'n') => Some(('\n', 2)),
                    Some(b'r') => Some(('\r', 2)),
                    Some(b't') => Some(('\t', 2)),
                    Some(b'b' | b'f') => Some((' ', 2)),
                    Some(b'/') => Some(('/', 2)),
                    Some(b'\\') => Some(('\\', 2)),
                    Some(b'"') => Some(('"', 2)),
                    Some(b'u') => hex4(&esc[2..]).map(|u| {
                        if (0xD800..0xDC00).contains(&u)
                            && esc.get(6) == Some(&b'\\')
                            && esc.get(7) == Some(&b'u')
                            && let Some(lo) = hex4(&esc[8..]).filter(|lo| (0xDC00..0xE000).contains(lo))
                        {
                            let c = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                            (char::from_u32(c).unwrap_or('\u{fffd}'), 12)
                        } else {
                            (char::from_u32(u).unwrap_or('\u{fffd}'), 6)
                        }
                    }),
                    _ => None,
                };
                let Some((c, len)) = decoded else {
                    i += 1;
                    continue;
                };
                if copied < i {
                    segs.push(Seg { view: text.len(), raw: raw + copied, decoded: None });
                    text.push_str(&valid[copied..i]);
                }
                segs.push(Seg { view: text.len(), raw: raw + i, decoded: Some(len) });
                text.push(c);
                i += len;
                copied = i;
            }
            if copied < vb.len() {
                segs.push(Seg { view: text.len(), raw: raw + copied, decoded: None });
                text.push_str(&valid[copied..]);
            }
            raw += vb.len();
            let bad = chunk.invalid().len();
            if bad > 0 {
                segs.push(Seg { view: text.len(), raw, decoded: Some(bad) });
                text.push('\u{fffd}');
                raw += bad;
            }
        }
        segs.push(Seg { view: text.len(), raw, decoded: None });
        Self { text: Cow::Owned(text), segs }
    }

    fn to_raw(&self, p: usize) -> usize {
        if self.segs.is_empty() {
            return p;
        }
        let k = self.segs.partition_point(|s| s.view <= p);
        let s = self.segs[k.saturating_sub(1)];
        match s.decoded {
            None => s.raw + (p - s.view),
            Some(len) => {
                if p == s.view {
                    s.raw
                } else {
                    s.raw + len
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Digit runs.

fn is_sep(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '.' | '/' | '(' | ')' | '+' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// One maximal stretch of digit characters.
#[derive(Clone, Copy, Debug)]
struct Group {
    s: usize,
    e: usize,
    /// Number of digit characters.
    n: usize,
    /// Whether every digit is ASCII.
    ascii: bool,
    /// Whether the gap before this group (from the previous group of the run) holds white
    /// space; false for the first group.
    spaced_before: bool,
    /// The single gap character before this group when the gap is one character.
    gap_char: Option<char>,
    /// Kept by a positive classification.
    kept: bool,
}

fn digit_runs(t: &str, out: &mut Vec<(PatternClass, usize, usize)>) {
    let mut run: Vec<Group> = Vec::new();
    let mut it = t.char_indices().peekable();
    let mut prev_char: Option<char> = None;
    while let Some((i, c)) = it.next() {
        if !c.is_numeric() {
            prev_char = Some(c);
            continue;
        }
        // A group: this char and the numeric chars after it.
        let mut e = i + c.len_utf8();
        let mut n = 1;
        let mut ascii = c.is_ascii_digit();
        while let Some(&(j, d)) = it.peek() {
            if !d.is_numeric() {
                break;
            }
            ascii &= d.is_ascii_digit();
            n += 1;
            e = j + d.len_utf8();
            it.next();
        }
        let next_char = t[e..].chars().next();
        // Digits inside an alphanumeric token (`P9981A`, `RT0001`) join nothing; digits that
        // only follow letters (`T1234 567890 12`, `U24117 …`) may be joined by what follows.
        let left = prev_char.is_some_and(char::is_alphabetic);
        let right = next_char.is_some_and(char::is_alphabetic);
        let attached = right;
        let mut g = Group { s: i, e, n, ascii, spaced_before: false, gap_char: None, kept: false };
        // Joins the current run when the gap since its last group is only separators.
        let joins = !left
            && run.last().is_some_and(|last| {
                let gap = &t[last.e..i];
                !attached && !gap.is_empty() && gap.chars().count() <= MAX_GAP_CHARS && gap.chars().all(is_sep)
            });
        if joins {
            let last = run.last().map_or(0, |l| l.e);
            let gap = &t[last..i];
            g.spaced_before = gap.chars().any(char::is_whitespace);
            let mut gc = gap.chars();
            g.gap_char = match (gc.next(), gc.next()) {
                (Some(x), None) => Some(x),
                _ => None,
            };
            run.push(g);
        } else {
            classify(t, &mut run, out);
            run.clear();
            run.push(g);
        }
        if attached {
            // An alphanumeric token's digits never join other groups.
            classify(t, &mut run, out);
            run.clear();
        }
        prev_char = t[..e].chars().next_back();
    }
    classify(t, &mut run, out);
}

fn ascii_lower_word_before(t: &str, mut i: usize) -> (String, usize) {
    let b = t.as_bytes();
    // Skip separators and label punctuation.
    while i > 0 && matches!(b[i - 1], b' ' | b'\t' | b':' | b'#' | b'.' | b'=' | b'\n' | b'\r' | b'-' | b'(') {
        i -= 1;
    }
    let e = i;
    let mut s = e;
    while s > 0 {
        let Some(c) = t[..s].chars().next_back() else { break };
        if !(c.is_alphanumeric()
            || c == '°'
            || c == 'º'
            || c == '.' && s >= 2 && t[..s - 1].chars().next_back().is_some_and(char::is_alphabetic))
        {
            break;
        }
        s -= c.len_utf8();
    }
    (t[s..e].to_lowercase().trim_end_matches('.').to_owned(), s)
}

/// Whether the number starting at `s` has an operational label before it: right before
/// (after `#`, `:`, `no`, ...), or as `LABEL du|de|of|the WORD` (`NEQ du concessionnaire`).
fn labelled(t: &str, s: usize) -> bool {
    let (mut w, mut at) = ascii_lower_word_before(t, s);
    if NUMBER_WORDS.contains(&w.as_str()) {
        (w, at) = ascii_lower_word_before(t, at);
    }
    if LABELS.contains(&w.as_str()) {
        return true;
    }
    let (p, at2) = ascii_lower_word_before(t, at);
    if !w.is_empty() && matches!(p.as_str(), "du" | "de" | "des" | "of" | "the" | "la" | "le") && !t[at2..s].contains('\n') {
        return LABELS.contains(&ascii_lower_word_before(t, at2).0.as_str());
    }
    false
}

/// An identifier prefix right before `s`: one to four capital letters and a hyphen (`D-`).
fn prefixed(t: &str, s: usize) -> bool {
    let b = t.as_bytes();
    if s < 2 || b[s - 1] != b'-' {
        return false;
    }
    let mut k = s - 1;
    while k > 0 && b[k - 1].is_ascii_uppercase() {
        k -= 1;
    }
    let letters = s - 1 - k;
    (1..=4).contains(&letters) && (k == 0 || !b[k - 1].is_ascii_alphanumeric())
}

/// A program account right after `e` (`RT0001`, `TQ0001`, optionally after one space).
fn program_account_after(t: &str, e: usize) -> bool {
    let b = &t.as_bytes()[e..];
    let b = b.strip_prefix(b" ").unwrap_or(b);
    if b.len() < 6 || !(b[0].is_ascii_alphabetic() && b[1].is_ascii_alphabetic()) {
        return false;
    }
    let d = if b[2] == b' ' { 3 } else { 2 };
    b.len() >= d + 4 && b[d..d + 4].iter().all(u8::is_ascii_digit) && b.get(d + 4).is_none_or(|c| !c.is_ascii_alphanumeric())
}

fn num(t: &str, g: &Group) -> u32 {
    t[g.s..g.e].bytes().fold(0u32, |a, d| a.saturating_mul(10).saturating_add(u32::from(d.wrapping_sub(b'0'))))
}

const MONTH_WORDS: &[&str] = &[
    "jan",
    "janv",
    "janvier",
    "january",
    "feb",
    "févr",
    "fevr",
    "février",
    "fevrier",
    "february",
    "mar",
    "mars",
    "march",
    "apr",
    "avr",
    "avril",
    "april",
    "may",
    "mai",
    "jun",
    "juin",
    "june",
    "jul",
    "juil",
    "juillet",
    "july",
    "aug",
    "août",
    "aout",
    "august",
    "sep",
    "sept",
    "septembre",
    "september",
    "oct",
    "octobre",
    "october",
    "nov",
    "novembre",
    "november",
    "dec",
    "déc",
    "décembre",
    "decembre",
    "december",
];

/// Marks single groups that are dates or parts of a date or time: `20240811` (a compact
/// date), the hour of `10:20` or `16h05`, the day of `18 janvier`.
fn keep_date_parts(t: &str, run: &mut [Group]) {
    for g in run.iter_mut() {
        if !g.ascii {
            continue;
        }
        let digits = &t[g.s..g.e];
        let after = &t[g.e..];
        if g.n == 8 {
            let y: u32 = digits[..4].parse().unwrap_or(0);
            let m: u32 = digits[4..6].parse().unwrap_or(0);
            let d: u32 = digits[6..].parse().unwrap_or(0);
            if (1900..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d) {
                g.kept = true;
            }
        }
        if g.n <= 2 {
            let b = after.as_bytes();
            let bh = after.strip_prefix(' ').map_or(b, str::as_bytes);
            let time = b.len() >= 3 && matches!(b[0], b':' | b'h' | b'H') && b[1].is_ascii_digit() && b[2].is_ascii_digit()
                || bh.first().is_some_and(|&c| c == b'h' || c == b'H') && bh.get(1).is_none_or(|c| !c.is_ascii_alphabetic())
                || {
                    // "5 pm", "10 AM"
                    let a = after.strip_prefix(' ').unwrap_or(after).as_bytes();
                    a.len() >= 2
                        && matches!(a[0], b'a' | b'p' | b'A' | b'P')
                        && matches!(a[1], b'm' | b'M')
                        && a.get(2).is_none_or(|c| !c.is_ascii_alphanumeric())
                };
            let word: String = after
                .trim_start_matches([' ', '\u{a0}'])
                .chars()
                .take(12)
                .take_while(|c| c.is_alphabetic())
                .flat_map(char::to_lowercase)
                .collect();
            let day = after.starts_with([' ', '\u{a0}']) && MONTH_WORDS.contains(&word.as_str());
            if time || day {
                g.kept = true;
            }
        }
    }
}

/// Marks the groups of dates inside the run.
fn keep_dates(t: &str, run: &mut [Group]) {
    let tight = |g: &Group| !g.spaced_before && matches!(g.gap_char, Some('-' | '/' | '.'));
    let mut k = 0;
    while k < run.len() {
        if !run[k].ascii {
            k += 1;
            continue;
        }
        let day_ok = |d: u32| (1..=31).contains(&d);
        let month_ok = |m: u32| (1..=12).contains(&m);
        if k + 2 < run.len()
            && tight(&run[k + 1])
            && tight(&run[k + 2])
            && run[k + 1].gap_char == run[k + 2].gap_char
            && run[k + 1].ascii
            && run[k + 2].ascii
        {
            let (a, m, c) = (&run[k], &run[k + 1], &run[k + 2]);
            let ymd = a.n == 4 && (1..=2).contains(&m.n) && (1..=2).contains(&c.n) && month_ok(num(t, m)) && day_ok(num(t, c));
            let dmy = (1..=2).contains(&a.n)
                && (1..=2).contains(&m.n)
                && matches!(c.n, 2 | 4)
                && (day_ok(num(t, a)) && month_ok(num(t, m)) || month_ok(num(t, a)) && day_ok(num(t, m)));
            if ymd || dmy {
                for g in &mut run[k..k + 3] {
                    g.kept = true;
                }
                k += 3;
                continue;
            }
        }
        // "12/19", "3/23", "23/1": month/day or day/month with a slash.
        if k + 1 < run.len() && run[k + 1].gap_char == Some('/') && !run[k + 1].spaced_before && run[k + 1].ascii {
            let (a, c) = (&run[k], &run[k + 1]);
            let next_tight = run.get(k + 2).is_some_and(tight);
            let (x, y) = (num(t, a), num(t, c));
            let md = month_ok(x) && (1..=31).contains(&y) || day_ok(x) && month_ok(y);
            if (1..=2).contains(&a.n) && (1..=2).contains(&c.n) && !next_tight && md {
                run[k].kept = true;
                run[k + 1].kept = true;
                k += 2;
                continue;
            }
        }
        k += 1;
    }
}

/// Marks the thousands groups before group `k` (three digits after a single space, no-break
/// space or dot).
fn back_over_thousands(run: &mut [Group], k: usize) {
    let mut j = k;
    while j > 0 && run[j].n == 3 && matches!(run[j].gap_char, Some(' ' | '\u{a0}' | '\u{202f}' | '.')) {
        run[j - 1].kept = true;
        j -= 1;
    }
}

/// Marks amounts: a decimal part after a tight `.` inside the run, or a decimal part, `$`
/// or `%` right after the run, or `$` right before it; with their thousands groups.
fn keep_amounts(t: &str, run: &mut [Group]) {
    let b = t.as_bytes();
    // "4227.07 ...": a two-digit group after a tight '.', followed by white space or the end.
    for k in 1..run.len() {
        let decimal = run[k].n == 2 && run[k].gap_char == Some('.') && run.get(k + 1).is_none_or(|n| n.spaced_before);
        if decimal {
            run[k].kept = true;
            run[k - 1].kept = true;
            back_over_thousands(run, k - 1);
        }
    }
    let Some(last) = run.last().copied() else { return };
    let after = &b[last.e..];
    let after_sp = after.strip_prefix(b" ").or_else(|| after.strip_prefix("\u{a0}".as_bytes())).unwrap_or(after);
    let decimal_after = after.len() >= 3
        && matches!(after[0], b',' | b'.')
        && after[1].is_ascii_digit()
        && after[2].is_ascii_digit()
        && after.get(3).is_none_or(|c| !c.is_ascii_digit());
    if decimal_after || after_sp.first().is_some_and(|&c| c == b'$' || c == b'%') || after_sp.starts_with("€".as_bytes()) {
        let k = run.len() - 1;
        run[k].kept = true;
        back_over_thousands(run, k);
    }
    let first = run[0];
    let before = &b[..first.s];
    let before_sp = before.strip_suffix(b" ").unwrap_or(before);
    if before_sp.last() == Some(&b'$') {
        run[0].kept = true;
        let mut j = 1;
        while j < run.len() && run[j].n == 3 && matches!(run[j].gap_char, Some(' ' | '\u{a0}' | '\u{202f}')) {
            run[j].kept = true;
            j += 1;
        }
    }
}

/// Marks the first segment (groups joined without white space) from group `k`.
fn keep_segment_from(run: &mut [Group], k: usize) {
    run[k].kept = true;
    let mut j = k + 1;
    while j < run.len() && !run[j].spaced_before {
        run[j].kept = true;
        j += 1;
    }
}

fn luhn9(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, &c) in d.iter().enumerate() {
        let mut v = u32::from(c - b'0');
        if k % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn classify(t: &str, run: &mut [Group], out: &mut Vec<(PatternClass, usize, usize)>) {
    let total: usize = run.iter().map(|g| g.n).sum();
    if total < 9 {
        return;
    }
    keep_dates(t, run);
    keep_date_parts(t, run);
    keep_amounts(t, run);
    let first = run[0];
    // Label or prefix before the run: for a group inside an alphanumeric token, before the token.
    let mut token_start = first.s;
    while let Some(c) = t[..token_start].chars().next_back() {
        if !(c.is_alphanumeric()) {
            break;
        }
        token_start -= c.len_utf8();
    }
    if labelled(t, token_start) || prefixed(t, token_start) {
        keep_segment_from(run, 0);
    }
    let last = run[run.len() - 1];
    if program_account_after(t, last.e) {
        let mut j = run.len() - 1;
        run[j].kept = true;
        while j > 0 && !run[j].spaced_before {
            j -= 1;
            run[j].kept = true;
        }
    }
    // What is left: stretches of groups not kept.
    let mut k = 0;
    while k < run.len() {
        if run[k].kept {
            k += 1;
            continue;
        }
        let start = k;
        let mut n = 0;
        let mut ascii = true;
        while k < run.len() && !run[k].kept {
            n += run[k].n;
            ascii &= run[k].ascii;
            k += 1;
        }
        if n < 9 {
            continue;
        }
        let (s, e) = (run[start].s, run[k - 1].e);
        if ascii && n == 9 {
            let d: Vec<u8> = t[s..e].bytes().filter(u8::is_ascii_digit).collect();
            if d[0] == b'0' || d[0] == b'8' || !luhn9(&d) {
                continue;
            }
        }
        out.push((PatternClass::DigitRun, s, e));
    }
}

// ---------------------------------------------------------------------------------------
// E-mail addresses.

fn is_at(c: char) -> bool {
    matches!(c, '@' | '\u{ff20}' | '\u{fe6b}')
}

fn is_local(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'')
}

fn is_domain(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

fn emails(t: &str, out: &mut Vec<(PatternClass, usize, usize)>) {
    for (at, c) in t.char_indices().filter(|&(_, c)| is_at(c)) {
        // Local part, allowing up to two spaces before the '@'.
        let mut s = at;
        let mut spaces = 0;
        while spaces < 2 && t[..s].ends_with(' ') {
            s -= 1;
            spaces += 1;
        }
        let local_end = s;
        while let Some(p) = t[..s].chars().next_back().filter(|&p| is_local(p)) {
            s -= p.len_utf8();
        }
        if !t[s..local_end].chars().any(char::is_alphanumeric) {
            continue;
        }
        // Domain, allowing up to two spaces after the '@'.
        let mut d = at + c.len_utf8();
        let mut spaces = 0;
        while spaces < 2 && t[d..].starts_with(' ') {
            d += 1;
            spaces += 1;
        }
        let dom_start = d;
        let mut e = d;
        while let Some(p) = t[e..].chars().next().filter(|&p| is_domain(p)) {
            e += p.len_utf8();
        }
        let domain = t[dom_start..e].trim_end_matches(['.', '-']);
        let Some(dot) = domain.rfind('.') else { continue };
        let tld = &domain[dot + 1..];
        if dot == 0 || tld.chars().count() < 2 || !tld.chars().all(char::is_alphabetic) {
            continue;
        }
        out.push((PatternClass::Email, s, dom_start + domain.len()));
    }
}

// ---------------------------------------------------------------------------------------
// Postal codes.

fn postal_codes(t: &str, out: &mut Vec<(PatternClass, usize, usize)>) {
    let b = t.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i + 6 <= n {
        let c = b[i];
        if !c.is_ascii_alphabetic()
            || i > 0
                && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] >= 0x80 && t[..i].chars().next_back().is_some_and(char::is_alphanumeric))
        {
            i += 1;
            continue;
        }
        if !(b[i + 1].is_ascii_digit() && b[i + 2].is_ascii_alphabetic()) {
            i += 1;
            continue;
        }
        let mut j = i + 3;
        let mut seps = 0;
        while j < n && seps < 3 {
            if matches!(b[j], b' ' | b'\t' | b'\n' | b'\r' | b'-') {
                j += 1;
                seps += 1;
            } else if t[j..].starts_with('\u{a0}') {
                j += 2;
                seps += 1;
            } else {
                break;
            }
        }
        if j + 3 <= n && b[j].is_ascii_digit() && b[j + 1].is_ascii_alphabetic() && b[j + 2].is_ascii_digit() {
            let e = j + 3;
            let end_ok =
                e == n || !b[e].is_ascii_alphanumeric() && (b[e] < 0x80 || !t[e..].chars().next().is_some_and(char::is_alphanumeric));
            if end_ok {
                out.push((PatternClass::PostalCode, i, e));
                i = e;
                continue;
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(body: &str) -> Vec<PatternClass> {
        scan(body.as_bytes()).into_iter().map(|f| f.class).collect()
    }

    #[test]
    fn refuses_every_class_in_many_forms() {
        for t in [
            "SIN 130 692 544",
            "130-692-544",
            "130 - 692 - 544",
            "130.692.544",
            "130/692/544",
            "130 692\n544",
            "130 692\\n544",
            "tel 5148723344",
            "(514) 872-3344",
            "514 - 872 - 3344",
            "+1 514 872 3344",
            "514-872\\r\\n3344",
            "\u{ff11}\u{ff13}\u{ff10}\u{ff16}\u{ff19}\u{ff12}\u{ff15}\u{ff14}\u{ff14}",
            "A1234-56789-01234",
        ] {
            assert_eq!(classes(t), vec![PatternClass::DigitRun], "{t:?}");
        }
        for t in ["jf.tremblay@videotron.ca", "JF @ videotron.ca", "a\\u0040b.ca", "x\u{ff20}y.com"] {
            assert_eq!(classes(t), vec![PatternClass::Email], "{t:?}");
        }
        for t in ["H2X 1Y4", "h2x1y4", "H2X-1Y4", "(QC) H2X\\n1Y4."] {
            assert_eq!(classes(t), vec![PatternClass::PostalCode], "{t:?}");
        }
    }

    #[test]
    fn keeps_labelled_and_checked_identifiers() {
        for t in [
            r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":256}"#,
            "stock 130692544",
            "deal D-104522, RO# 845221",
            "BN 123456782RT0001 and 123456782 RT0001, QST 1234567890TQ0001",
            "NEQ 1172345678",
            "VIN 2G1WF52E659123456",
            "total 130 692 544,00 $",
            "$4227.07 on 2024-11-20 10:30",
            "ref 130 692 545 fails Luhn",
            "046 454 286",
            "12/19 5:45 pm",
            "Submitted: 20240328 11:40 AM, 2025-1856\n18 janvier 2024",
            "NEQ du concessionnaire 1128970956",
            "rendez-vous (no AP808673).\n23/1 18 h 30 BDC-01",
            "[PHONE] [SIN] [EMAIL] [POSTAL_CODE]",
            "rate @ 8.99% and 4 tires @ $120.00",
        ] {
            assert_eq!(scan(t.as_bytes()), vec![], "{t:?}");
        }
        // A label keeps its own number, not what follows it.
        assert_eq!(classes("RO 89962 7803088822"), vec![PatternClass::DigitRun]);
        assert_eq!(classes("on 2024-11-20 5148723344"), vec![PatternClass::DigitRun]);
    }

    #[test]
    fn offsets_are_raw_body_bytes() {
        let body = br#"{"text":"a\u00e9 call 514-872\n3344 now"}"#;
        let f = scan(body);
        assert_eq!(f.len(), 1);
        let raw = &body[f[0].byte_offset..f[0].byte_offset + f[0].byte_len];
        assert_eq!(raw, br"514-872\n3344");
        let r = check_body(body).unwrap_err();
        assert_eq!(r.body_sha256, hex::encode(Sha256::digest(body)));
        assert!(!r.to_string().contains("514"));
    }
}
