//! Stage 2: deterministic rules for Canadian identifiers.
//!
//! Every rule is a hand-written byte scanner (no regex engine): linear in the text, with
//! context checks limited to a few dozen bytes around a candidate. The number, plate,
//! licence and date rules run on the [normalised view](super::normal) of the text (digit
//! groups joined across spaced hyphens, dots, slashes, repeated or no-break spaces and single
//! line breaks, each rewritten to one canonical separator), and their spans are mapped back
//! to the original bytes; the e-mail rule runs on the original. Context words are matched on
//! an ASCII-lowercased copy of the view, which keeps byte offsets identical.
//!
//! In the view, a separator between number groups is `-`, `.`, `/`, a space or `\n` (a gap
//! that held a line break). `\n` joins the groups of one number but never counts as evidence
//! that two numbers are one longer grouping, so `514-555-0147` at the end of a line followed
//! by a line starting with `2 tires` stays a phone number.
//!
//! | type | rule |
//! |---|---|
//! | `SIN` | three groups of three digits with the same separator (or none; `\n` may stand for any one of them; any separators with SIN context), word boundaries, Luhn valid, first digit not 0 or 8. Never when followed by a CRA or Revenu Québec program account (`RT0001`, `RT 0001`, `TQ0001`, ...), whatever the context. Not a SIN when followed by a decimal part or a `$`, when preceded by `$`, when part of a longer digit grouping, or when the previous word is an operational label (`stock`, `deal`, `RO`, `PO`, `invoice`, `facture`, `dossier`, `BN`, ...) or a `#` - unless SIN context (`SIN`, `NAS`, `social insurance`, `assurance sociale`) is within 40 bytes before. |
//! | `PHONE` | optional `+1`/`1`, area code (optionally in parentheses), exchange, line, separated by `-`, `.`, `/`, space, `\n` or nothing; area and exchange start with 2-9. A bare run (no separator, no country code; `15145550147` too) is a phone when its area code is an assigned NANP area code (`data/nanp_area_codes.txt`) and its exchange starts with 2-9, whatever follows it, unless a `#` is right before it with no phone context (`tel`, `phone`, `cell`, `téléphone`, ...); a bare run in an unassigned area code needs phone context. No phone form right after an operational label (`RO 388881-2019`), none with area and exchange run together but the line apart (`388881-2019`, except over a line break), and no leading `1` that ends another number (`623934-1 5147746339`). A separated form is not a phone when part of a longer digit grouping. Optional extension `ext`, `ext.`, `x`, `poste`, `p.` + 1-6 digits, `#` + 1-4 digits. |
//! | `EMAIL` | local part `[A-Za-z0-9._%+-]`, `@`, a dotted domain whose last label is 2+ letters; also the spaced form `name @ host.ca`. |
//! | `PLATE` | after a plate word (`plate`, `plates`, `plaque`, `immatriculation`, `lic`; up to 4 filler words between such as `on it is`, `are`, `c'est`, `de l'échange`, `du client`, `transfer from old car`, tried as fillers before as plates): one group of 5-8 letters and digits with a digit, an upper-case vanity plate of 5-8 letters (not a word such as `TRANSFER`), or two groups of 2-4 (5-8 in all) joined by a space, dash or `\n`, with a digit; letters in one case, upper or lower. After a weak vehicle word (`vehicle`, `véhicule`, `car`, `truck`, `auto`, `voiture`, `camion`, `trade`, `trade-in`, `reprise`, `échange`; up to 3 fillers) only the shapes provincial plates have (letters then 3-4 digits, 3 digits then 3 letters, two mixed groups of 3, one group with a run of 3+ letters and a digit, or an upper-case vanity plate after a key word not in capitals), so that stock numbers (`P9981A`, `UA3746`), personnel codes (`BDC-05`), a year and make (`2024 GMC`) or a reading (`120 km`) are not taken. Not a plate when a decimal part follows (`ACV 17,659$`). |
//! | `DOB` | only after `dob`, `d.o.b`, `date of birth`, `birth date`, `birthdate`, `born`, `bday`, `b-day`, `birthday`, `né le`, `née le`, `né(e) le`, `date de naissance`, `ddn` (in any case, accents included): a numeric date (`1985-03-14`, `14/03/1985`, ...), a textual date in EN or FR (`March 14, 1985`, `14 mars 1985`, `1er avril 1990`) or a bare year after `born in`/`né en`. |
//! | `DRIVERS_LICENCE` | the Ontario `A1234-12345-12345` and Quebec `A1234-123456-12` formats anywhere, the groups joined by `-`, a space or a line break, or not at all (`A12345678901234`); the Manitoba `AB-CD-EF-G123HI` format anywhere; after licence context (`driver's licence`, `licence`, `license`, `DL`, `permis de conduire`, `permis`, with fillers such as `du co-acheteur`, but not `dealer`/`OMVIC`/`business` licence) an uppercase alphanumeric run (groups joined by `-` or space) with at least 5 digits. |
//!
//! A context word inside a redaction marker (`[DRIVERS_LICENCE]`), or followed by one (`SIN
//! [SIN]`), is not context: redacting a redacted text changes nothing.

use std::sync::OnceLock;

use super::normal::NormalView;
use super::{Lang, PiiType, Span};

/// Name recorded in `pii_redaction_event`.
pub const RULES_NAME: &str = "pipeline-rules";
/// Version recorded in `pii_redaction_event`; bump on any rule change.
pub const RULES_VERSION: &str = "2";

/// `data/nanp_area_codes.txt`: the assigned NANP area codes.
pub const NANP_AREA_CODES_FILE: &str = include_str!("data/nanp_area_codes.txt");

/// Whether `area` (three ASCII digits) is an assigned NANP area code.
pub fn nanp_area_assigned(area: &[u8]) -> bool {
    static TABLE: OnceLock<Vec<bool>> = OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = vec![false; 1000];
        for w in super::gazetteer::words(NANP_AREA_CODES_FILE) {
            if let Ok(v) = w.parse::<usize>()
                && v < 1000
            {
                t[v] = true;
            }
        }
        t
    });
    area.len() == 3 && area.iter().all(u8::is_ascii_digit) && t[area.iter().fold(0usize, |a, &d| a * 10 + usize::from(d - b'0'))]
}

/// Runs every rule over `text`, pushing spans (offsets into `text`) onto `out`.
pub fn detect(text: &str, _lang: Lang, out: &mut Vec<Span>) {
    let view = NormalView::new(text);
    let v = view.as_str();
    let b = v.as_bytes();
    let lower = super::normal::lower_keep_len(v);
    let l = lower.as_bytes();
    let from = out.len();
    scan_digits(b, l, out);
    scan_context(b, l, out);
    if !view.edits().is_empty() {
        for s in &mut out[from..] {
            (s.byte_start, s.byte_end) = view.span_to_original(s.byte_start, s.byte_end);
        }
    }
    scan_emails(text.as_bytes(), out);
}

pub(crate) fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c >= 0x80
}

pub(crate) fn boundary_before(b: &[u8], i: usize) -> bool {
    i == 0 || !is_word(b[i - 1])
}

pub(crate) fn boundary_after(b: &[u8], j: usize) -> bool {
    j >= b.len() || !is_word(b[j])
}

fn digits_at(b: &[u8], i: usize, n: usize) -> bool {
    i + n <= b.len() && b[i..i + n].iter().all(u8::is_ascii_digit)
}

fn digit_run(b: &[u8], i: usize) -> usize {
    b[i..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Whether any of `words` occurs in `l[from..to]` starting at a word boundary.
fn has_word(l: &[u8], from: usize, to: usize, words: &[&str]) -> bool {
    let to = to.min(l.len());
    if from >= to {
        return false;
    }
    let hay = &l[from..to];
    words.iter().any(|w| {
        let w = w.as_bytes();
        hay.windows(w.len()).enumerate().any(|(k, win)| {
            let (a, b) = (from + k, from + k + w.len());
            // A redaction marker such as "[SIN]" is not a context word, and a context word
            // whose value was redacted ("SIN [SIN]") says nothing about later numbers.
            let marker = in_marker(l, a, b);
            let rest = &l[b.min(l.len())..];
            let rest = rest.iter().position(|c| !matches!(c, b' ' | b':' | b'#' | b'.' | b'-')).map_or(rest, |k| &rest[k..]);
            let used = rest.first() == Some(&b'[');
            win == w && boundary_before(l, a) && boundary_after(l, b) && !marker && !used
        })
    })
}

/// Whether `l[a..b]` lies inside a redaction marker such as `[SIN]` or `[DRIVERS_LICENCE]`.
pub(crate) fn in_marker(l: &[u8], a: usize, b: usize) -> bool {
    let is_m = |c: u8| c.is_ascii_alphabetic() || c == b'_';
    let mut s = a;
    while s > 0 && is_m(l[s - 1]) {
        s -= 1;
    }
    let mut e = b.min(l.len());
    while e < l.len() && is_m(l[e]) {
        e += 1;
    }
    s > 0 && l[s - 1] == b'[' && l.get(e) == Some(&b']')
}

/// The word ending at or before `i` (skipping non-word bytes), as a slice of `l`.
fn prev_word(l: &[u8], i: usize) -> (&[u8], usize) {
    let mut e = i;
    while e > 0 && !is_word(l[e - 1]) {
        e -= 1;
    }
    let mut s = e;
    while s > 0 && is_word(l[s - 1]) {
        s -= 1;
    }
    (&l[s..e], s)
}

const SIN_CONTEXT: &[&str] = &["sin", "nas", "s.i.n", "n.a.s", "social insurance", "assurance sociale", "assurance-sociale"];
const OP_LABELS: &[&str] = &[
    "stock",
    "stk",
    "deal",
    "ro",
    "po",
    "invoice",
    "inv",
    "facture",
    "dossier",
    "contract",
    "contrat",
    "claim",
    "bn",
    "order",
    "commande",
    "unit",
    "account",
    "acct",
    "compte",
    "vin",
    "serial",
    "ref",
    "reference",
    "référence",
    "lot",
    "employee",
    "emp",
    "transaction",
    "auth",
    "approval",
    "tag",
    "job",
    "bon",
    "réclamation",
];
const NUMBER_WORDS: &[&str] = &["no", "num", "number", "numéro", "n", "nº", "n°"];
const PHONE_CONTEXT: &[&str] = &[
    "tel",
    "tél",
    "phone",
    "cell",
    "mobile",
    "cellulaire",
    "téléphone",
    "telephone",
    "fax",
    "call",
    "appeler",
    "rejoindre",
    "text",
    "sms",
];

fn in_list(list: &[&str], word: &[u8]) -> bool {
    list.iter().any(|w| w.as_bytes() == word)
}

fn luhn_ok(d: &[u8; 9]) -> bool {
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

/// SIN and phone: they start at a digit, `+` or `(`.
fn scan_digits(b: &[u8], l: &[u8], out: &mut Vec<Span>) {
    let mut i = 0;
    while let Some(k) = b[i..].iter().position(|&c| c.is_ascii_digit() || c == b'+' || c == b'(') {
        i += k;
        let c = b[i];
        if !boundary_before(b, i) {
            i += 1;
            continue;
        }
        if let Some(end) = phone_at(b, l, i) {
            out.push(Span { byte_start: i, byte_end: end, kind: PiiType::Phone });
            i = end;
            continue;
        }
        if c.is_ascii_digit() {
            if let Some(end) = sin_at(b, l, i) {
                out.push(Span { byte_start: i, byte_end: end, kind: PiiType::Sin });
                i = end;
                continue;
            }
            i += digit_run(b, i).max(1);
            continue;
        }
        i += 1;
    }
}

/// Ontario / Quebec licence numbers (a capital letter then 4 digits), and Manitoba's, at the
/// word start `i` (from [`scan_context`]'s pass over words).
fn licence_shape_at(b: &[u8], i: usize) -> Option<usize> {
    if i + 5 >= b.len() || !b[i].is_ascii_uppercase() {
        return None;
    }
    if digits_at(b, i + 1, 4) { dashed_licence_at(b, i) } else { manitoba_licence_at(b, i) }
}

fn dashed_licence_at(b: &[u8], i: usize) -> Option<usize> {
    // A1234-12345-12345 (Ontario) or A1234-123456-12 (Quebec), the groups joined by '-', a
    // space or a line break (one style), or not at all.
    let p = i + 5;
    let sep = *b.get(p)?;
    if matches!(sep, b'-' | b' ' | b'\n') {
        let q = p + 1;
        let g2 = digit_run(b, q);
        let r = q + g2;
        if r >= b.len() || b[r] != sep {
            return None;
        }
        let g3 = digit_run(b, r + 1);
        let end = r + 1 + g3;
        let ok = (g2 == 5 && g3 == 5) || (g2 == 6 && g3 == 2);
        return (ok && boundary_after(b, end)).then_some(end);
    }
    let g = digit_run(b, i + 1);
    ((g == 14 || g == 12) && boundary_after(b, i + 1 + g)).then_some(i + 1 + g)
}

/// The Manitoba format `AB-CD-EF-G123HI`.
fn manitoba_licence_at(b: &[u8], i: usize) -> Option<usize> {
    let u = |k: usize| b.get(k).is_some_and(u8::is_ascii_uppercase);
    let d = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
    let dash = |k: usize| b.get(k) == Some(&b'-');
    let ok = u(i)
        && u(i + 1)
        && dash(i + 2)
        && u(i + 3)
        && u(i + 4)
        && dash(i + 5)
        && u(i + 6)
        && u(i + 7)
        && dash(i + 8)
        && u(i + 9)
        && d(i + 10)
        && d(i + 11)
        && d(i + 12)
        && u(i + 13)
        && u(i + 14);
    (ok && boundary_after(b, i + 15)).then_some(i + 15)
}

/// A separator between the groups of a number, in the view.
fn is_num_sep(c: u8) -> bool {
    matches!(c, b' ' | b'-' | b'.' | b'/' | b'\n')
}

/// A separator that says two digit groups belong to one longer grouping (`\n` does not).
fn is_grouping_sep(c: u8) -> bool {
    matches!(c, b' ' | b'-' | b'.' | b'/')
}

/// The operational label word right before `i` (skipping `no`, `#`, `:` and the like), if any.
fn op_label_before(l: &[u8], i: usize) -> bool {
    let (mut word, at) = prev_word(l, i);
    if in_list(NUMBER_WORDS, word) {
        word = prev_word(l, at).0;
    }
    in_list(OP_LABELS, word)
}

/// A bare `#` right before `i` (spaces allowed between).
fn hash_before(b: &[u8], i: usize) -> bool {
    let mut k = i;
    while k > 0 && b[k - 1] == b' ' {
        k -= 1;
    }
    k > 0 && b[k - 1] == b'#'
}

fn sin_at(b: &[u8], l: &[u8], i: usize) -> Option<usize> {
    let n = b.len();
    if !digits_at(b, i, 3) {
        return None;
    }
    let s1 = (i + 3 < n && is_num_sep(b[i + 3])).then(|| b[i + 3]);
    let g2 = i + 3 + usize::from(s1.is_some());
    if !digits_at(b, g2, 3) {
        return None;
    }
    let s2 = (g2 + 3 < n && is_num_sep(b[g2 + 3])).then(|| b[g2 + 3]);
    if s1.is_some() != s2.is_some() {
        return None;
    }
    let g3 = g2 + 3 + usize::from(s2.is_some());
    if !digits_at(b, g3, 3) {
        return None;
    }
    let end = g3 + 3;
    if !boundary_after(b, end) {
        return None;
    }
    let mut d = [0u8; 9];
    d[..3].copy_from_slice(&b[i..i + 3]);
    d[3..6].copy_from_slice(&b[g2..g2 + 3]);
    d[6..].copy_from_slice(&b[g3..g3 + 3]);
    if d[0] == b'0' || d[0] == b'8' || !luhn_ok(&d) {
        return None;
    }
    // A business number's program account follows: never a SIN, whatever the context.
    let after_sp0 = b[end..].strip_prefix(b" ").unwrap_or(&b[end..]);
    if program_account(&l[end + (b.len() - end - after_sp0.len())..]) {
        return None;
    }
    let context = has_word(l, i.saturating_sub(40), i, SIN_CONTEXT);
    if context {
        return Some(end);
    }
    // Without context, one separator style (a line break may stand for either).
    if let (Some(x), Some(y)) = (s1, s2)
        && x != y
        && x != b'\n'
        && y != b'\n'
    {
        return None;
    }
    // Decimal part, currency, program account, longer grouping: not a SIN.
    let after = &b[end..];
    if after.len() >= 2 && matches!(after[0], b',' | b'.') && after[1].is_ascii_digit() {
        return None;
    }
    let after_sp = after.strip_prefix(b" ").unwrap_or(after);
    if after_sp.first() == Some(&b'$') || (i > 0 && b[i - 1] == b'$') || (i > 1 && b[i - 1] == b' ' && b[i - 2] == b'$') {
        return None;
    }
    if program_account(&l[end + (after.len() - after_sp.len())..]) {
        return None;
    }
    if after.len() >= 2 && is_grouping_sep(after[0]) && after[1].is_ascii_digit() {
        return None;
    }
    if i >= 2 && is_grouping_sep(b[i - 1]) && b[i - 2].is_ascii_digit() {
        return None;
    }
    if op_label_before(l, i) || hash_before(b, i) {
        return None;
    }
    Some(end)
}

/// A CRA or Revenu Québec program account at the start of `l` (lowered): `rt0001`,
/// `rt 0001`, `tq0001`, ...
fn program_account(l: &[u8]) -> bool {
    if l.len() < 6 || !matches!(&l[..2], b"rt" | b"rc" | b"rp" | b"rr" | b"rm" | b"rz" | b"tq" | b"ts" | b"tp") {
        return false;
    }
    let d = if l[2] == b' ' { 3 } else { 2 };
    l.len() >= d + 4 && l[d..d + 4].iter().all(u8::is_ascii_digit) && boundary_after(l, d + 4)
}

fn sep_at(b: &[u8], i: usize) -> usize {
    usize::from(i < b.len() && is_num_sep(b[i]))
}

fn phone_at(b: &[u8], l: &[u8], start: usize) -> Option<usize> {
    let n = b.len();
    let mut i = start;
    let mut country = false;
    let mut separated = false;
    let mut area_sep = true;
    if b[i] == b'+' {
        if i + 1 < n && b[i + 1] == b'1' {
            i += 2;
            country = true;
            i += sep_at(b, i);
        } else {
            return None;
        }
    } else if b[i] == b'1'
        && i + 1 < n
        && (is_num_sep(b[i + 1]) || b[i + 1] == b'(')
        && !(i >= 2 && is_grouping_sep(b[i - 1]) && b[i - 2].is_ascii_digit())
    {
        // "1-800-...", "1 (514) ..."
        let j = i + 1 + sep_at(b, i + 1);
        if j < n && (b[j] == b'(' || digits_at(b, j, 3)) {
            i = j;
            country = true;
        }
    } else if b[i] == b'1' && digit_run(b, i) == 11 {
        // "15145550147": a bare 1 + ten digits.
        i += 1;
        country = true;
    }
    let area_at;
    if i < n && b[i] == b'(' {
        if !digits_at(b, i + 1, 3) || i + 4 >= n || b[i + 4] != b')' {
            return None;
        }
        area_at = i + 1;
        i += 5;
        if i < n && is_num_sep(b[i]) {
            i += 1;
        }
        separated = true;
    } else {
        if !digits_at(b, i, 3) {
            return None;
        }
        area_at = i;
        i += 3;
        let s = sep_at(b, i);
        separated |= s == 1;
        i += s;
        area_sep = s == 1;
    }
    if !digits_at(b, i, 3) {
        return None;
    }
    let exch = b[i];
    i += 3;
    let s = sep_at(b, i);
    // "388881-2019": area and exchange run together but the line is apart: not a phone form.
    if s == 1 && !area_sep && b[i] != b'\n' {
        return None;
    }
    separated |= s == 1;
    i += s;
    if !digits_at(b, i, 4) {
        return None;
    }
    i += 4;
    if !boundary_after(b, i) || b[area_at] < b'2' || exch < b'2' {
        return None;
    }
    // Part of a longer digit grouping (e.g. "514 555 1234 5678"): not a phone. A bare
    // ten-digit run is whole in itself, whatever follows it.
    if separated && i + 1 < n && is_grouping_sep(b[i]) && b[i + 1].is_ascii_digit() && !ext_follows(l, i) {
        return None;
    }
    let context = || has_word(l, start.saturating_sub(30), start, PHONE_CONTEXT);
    let (prev, _) = prev_word(l, start);
    let immediate_context = in_list(PHONE_CONTEXT, prev);
    // A number right after an operational label is that identifier ("RO 388881-2019").
    if !immediate_context && !country && op_label_before(l, start) {
        return None;
    }
    if !separated && !country {
        // A bare run right after '#' is a reference number.
        if !immediate_context && hash_before(b, start) && !context() {
            return None;
        }
        if !nanp_area_assigned(&b[area_at..area_at + 3]) && !context() {
            return None;
        }
    }
    Some(extension(l, i))
}

fn ext_follows(l: &[u8], i: usize) -> bool {
    extension(l, i) > i
}

/// Extends a phone number over an extension: `ext 12`, `ext. 12`, `x12`, `poste 12`, `p. 12`, `#12`.
fn extension(l: &[u8], end: usize) -> usize {
    let n = l.len();
    let mut i = end;
    while i < n && matches!(l[i], b' ' | b',') && i - end < 3 {
        i += 1;
    }
    let words: [&[u8]; 7] = [b"extension", b"ext.", b"ext", b"poste", b"p.", b"x", b"#"];
    for w in words {
        if l[i..].starts_with(w) {
            let mut j = i + w.len();
            if w.last().is_some_and(u8::is_ascii_alphabetic) && j < n && l[j].is_ascii_alphabetic() {
                continue;
            }
            while j < n && matches!(l[j], b' ' | b'.' | b':') && j - i - w.len() < 2 {
                j += 1;
            }
            let d = if j < n { digit_run(l, j) } else { 0 };
            // "#221" is an extension; "#07162" after a phone is more likely an appointment number.
            let max = if w == b"#" { 4 } else { 6 };
            if (1..=max).contains(&d) && boundary_after(l, j + d) {
                return j + d;
            }
        }
    }
    end
}

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-')
}

fn scan_emails(b: &[u8], out: &mut Vec<Span>) {
    let mut from = 0;
    while let Some(k) = b[from..].iter().position(|&c| c == b'@').map(|k| from + k) {
        from = k + 1;
        // The spaced form "name @ host.ca": one space on each side.
        let spaced =
            k >= 2 && b[k - 1] == b' ' && is_local(b[k - 2]) && b.get(k + 1) == Some(&b' ') && b.get(k + 2).is_some_and(|&c| is_domain(c));
        let (at_s, at_e) = if spaced { (k - 1, k + 2) } else { (k, k + 1) };
        let mut s = at_s;
        while s > 0 && is_local(b[s - 1]) {
            s -= 1;
        }
        while s < at_s && b[s] == b'.' {
            s += 1;
        }
        let mut e = at_e;
        while e < b.len() && is_domain(b[e]) {
            e += 1;
        }
        while e > at_e && matches!(b[e - 1], b'.' | b'-') {
            e -= 1;
        }
        if s == at_s || e <= at_e {
            continue;
        }
        let domain = &b[at_e..e];
        let Some(dot) = domain.iter().rposition(|&c| c == b'.') else { continue };
        let tld = &domain[dot + 1..];
        if tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) || dot == 0 {
            continue;
        }
        out.push(Span { byte_start: s, byte_end: e, kind: PiiType::Email });
        from = e;
    }
}

const PLATE_KEYS: &[&str] = &["plate", "plates", "plaque", "plaques", "immatriculation", "lic"];
/// Weak plate context: a plate may follow, but so may other identifiers, so the plate must
/// look more like a plate (see [`plate_weak_at`]).
const WEAK_PLATE_KEYS: &[&str] =
    &["vehicle", "véhicule", "vehicule", "car", "truck", "auto", "voiture", "camion", "trade", "trade-in", "reprise", "échange", "echange"];
const DOB_KEYS: &[&str] = &[
    "dob",
    "d.o.b",
    "date of birth",
    "birth date",
    "birthdate",
    "born",
    "né le",
    "née le",
    "né(e) le",
    "ne le",
    "nee le",
    "né en",
    "née en",
    "date de naissance",
    "ddn",
    "bday",
    "b-day",
    "birthday",
];
const LICENCE_KEYS: &[&str] = &["licence", "license", "dl", "d/l", "permis"];
const FILLERS: &[&str] = &[
    "no",
    "num",
    "number",
    "numéro",
    "numero",
    "nº",
    "n°",
    "is",
    "was",
    "est",
    "de",
    "du",
    "d",
    "on",
    "le",
    "the",
    "in",
    "en",
    "immatriculation",
    "conduire",
    "driver",
    "drivers",
    "driver's",
    "s",
    "client",
    "customer",
    "du client",
    "ontario",
    "québec",
    "quebec",
    "qc",
    "bc",
    "ab",
    "mb",
    "sk",
    "ns",
    "nb",
    "nl",
    "pe",
    "plate",
    "plaque",
    "of",
    "reads",
    "à",
    "are",
    "it",
    "its",
    "sont",
    "a",
    "has",
    "with",
    "avec",
    "porte",
    "sa",
    "son",
    "ses",
    "la",
    "les",
    "des",
    "immatriculé",
    "immatriculée",
    "registered",
    "shows",
    "vehicle",
    "véhicule",
    "c'est",
    "c",
    "l'échange",
    "échange",
    "transfer",
    "transfert",
    "from",
    "old",
    "car",
    "trade",
    "trade-in",
    "sur",
    "ma",
    "mon",
    "my",
    "our",
    "notre",
    "plates",
    "new",
    "cust",
    "co-acheteur",
    "co-acheteuse",
    "acheteur",
    "acheteuse",
    "co-buyer",
    "buyer",
    "co-applicant",
    "applicant",
    "demandeur",
    "co-demandeur",
    "#",
    "exp",
];

/// Rules that need a context word: plates, dates of birth, licence numbers.
fn scan_context(b: &[u8], l: &[u8], out: &mut Vec<Span>) {
    // One pass over word starts: a word that does not start any key is skipped whole after
    // one hash lookup.
    let n = b.len();
    let first_words = key_first_words();
    let mut i = 0;
    while i < n {
        if !is_word(l[i]) || !boundary_before(l, i) {
            i += 1;
            continue;
        }
        if let Some(end) = licence_shape_at(b, i) {
            out.push(Span { byte_start: i, byte_end: end, kind: PiiType::DriversLicence });
            i = end;
            continue;
        }
        let w_end = i + l[i..].iter().take_while(|&&c| is_word(c)).count();
        let len = w_end - i;
        if len >= 32 || first_words.1[usize::from(l[i])] & (1 << len) == 0 {
            i = w_end;
            continue;
        }
        let Some(&lists) = first_words.0.get(&l[i..w_end]) else {
            i = w_end;
            continue;
        };
        let rest = &l[i..];
        if lists & KEY_PLATE != 0
            && let Some(k) = key_at(l, i, rest, PLATE_KEYS)
            && let Some((s, e)) = after_fillers(b, l, i + k, 4, plate_at)
        {
            out.push(Span { byte_start: s, byte_end: e, kind: PiiType::Plate });
            i = e;
            continue;
        }
        if lists & KEY_WEAK_PLATE != 0
            && let Some(k) = key_at(l, i, rest, WEAK_PLATE_KEYS)
            && let Some((s, e)) = after_fillers(b, l, i + k, 3, plate_weak_at)
        {
            out.push(Span { byte_start: s, byte_end: e, kind: PiiType::Plate });
            i = e;
            continue;
        }
        if lists & KEY_DOB != 0
            && let Some(k) = key_at(l, i, rest, DOB_KEYS)
            && let Some((s, e)) = after_fillers(b, l, i + k, 3, date_at)
        {
            out.push(Span { byte_start: s, byte_end: e, kind: PiiType::Dob });
            i = e;
            continue;
        }
        if lists & KEY_LICENCE != 0
            && let Some(k) = key_at(l, i, rest, LICENCE_KEYS)
        {
            let (prev, _) = prev_word(l, i);
            let business = matches!(prev, b"dealer" | b"omvic" | b"business" | b"commerce" | b"marchand" | b"amvoq");
            if !business && let Some((s, e)) = after_fillers(b, l, i + k, 4, licence_at) {
                out.push(Span { byte_start: s, byte_end: e, kind: PiiType::DriversLicence });
                i = e;
                continue;
            }
        }
        i += 1;
    }
}

const KEY_PLATE: u8 = 1;
const KEY_WEAK_PLATE: u8 = 2;
const KEY_DOB: u8 = 4;
const KEY_LICENCE: u8 = 8;

/// The first word of every context key (`date` of `date of birth`), with the key lists it
/// starts.
type FirstWords = (super::gazetteer::FastMap<&'static [u8], u8>, [u32; 256]);

/// The first word of every context key (`date` of `date of birth`) with the key lists it
/// starts, and per first byte the lengths of those words (to skip most words unhashed).
fn key_first_words() -> &'static FirstWords {
    static T: OnceLock<FirstWords> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = super::gazetteer::FastMap::default();
        let mut m = [0u32; 256];
        for (list, bit) in [(PLATE_KEYS, KEY_PLATE), (WEAK_PLATE_KEYS, KEY_WEAK_PLATE), (DOB_KEYS, KEY_DOB), (LICENCE_KEYS, KEY_LICENCE)] {
            for k in list {
                let b = k.as_bytes();
                let first = &b[..b.iter().take_while(|&&c| is_word(c)).count()];
                *t.entry(first).or_insert(0) |= bit;
                m[usize::from(first[0])] |= 1 << first.len();
            }
        }
        (t, m)
    })
}

/// The length of the longest key matching at `i` with a word boundary after it.
fn key_at(l: &[u8], i: usize, rest: &[u8], keys: &[&str]) -> Option<usize> {
    let c = *rest.first()?;
    keys.iter()
        .filter(|k| {
            k.as_bytes()[0] == c
                && rest.starts_with(k.as_bytes())
                && (boundary_after(l, i + k.len()) || k.ends_with(')'))
                && !in_marker(l, i, i + k.len())
        })
        .map(|k| k.len())
        .max()
}

/// Skips up to `max` filler words and punctuation after a key, then tries `at`. A filler
/// word is skipped before it is tried as a candidate ("plates are 209-MDV"); a full stop
/// before a line break ends the search.
fn after_fillers(b: &[u8], l: &[u8], mut p: usize, max: usize, at: fn(&[u8], &[u8], usize) -> Option<usize>) -> Option<(usize, usize)> {
    let n = b.len();
    for _ in 0..=max {
        while p < n && matches!(b[p], b' ' | b':' | b'#' | b'-' | b'(' | b')' | b'.' | b'\'' | b',' | b'=' | b'\n' | b'\t') {
            if b[p] == b'.' && b.get(p + 1).is_some_and(|&c| c == b'\n' || c == b'\r') {
                return None;
            }
            p += 1;
        }
        if p >= n {
            return None;
        }
        // The word here (ASCII-lowercased, so accented fillers compare as UTF-8).
        let mut e = p;
        while e < n && (is_word(b[e]) || matches!(b[e], b'\'' | b'-') && e + 1 < n && is_word(b[e + 1])) {
            e += 1;
        }
        let filler = e > p && in_list(FILLERS, &l[p..e]);
        if !filler && let Some(end) = at(b, l, p) {
            return Some((p, end));
        }
        if !filler {
            return None;
        }
        p = e;
    }
    None
}

fn upper_alnum_run(b: &[u8], i: usize) -> usize {
    b[i..].iter().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit()).count()
}

/// One plate group at `i`: ASCII letters and digits in one letter case. Returns its length,
/// letters and digits.
fn plate_group(b: &[u8], i: usize) -> (usize, usize, usize) {
    let mut upper = false;
    let mut lower = false;
    let mut k = i;
    while k < b.len() && b[k].is_ascii_alphanumeric() {
        upper |= b[k].is_ascii_uppercase();
        lower |= b[k].is_ascii_lowercase();
        k += 1;
    }
    if upper && lower {
        return (0, 0, 0);
    }
    let digits = b[i..k].iter().filter(|c| c.is_ascii_digit()).count();
    (k - i, k - i - digits, digits)
}

/// Measurement units and times that read like the letter group of a plate ("120 km").
const NOT_PLATE_WORDS: &[&str] = &[
    "km", "kms", "mi", "mph", "kmh", "hr", "hrs", "h", "min", "mins", "sec", "lbs", "lb", "kg", "psi", "mm", "cm", "ft", "in", "pm", "am",
    "hp", "cc", "awd", "fwd", "rwd", "4wd", "gal", "qt", "l", "ml", "jours", "days", "mois", "ans", "yrs", "pcs", "tires", "pneus",
];

/// Words that follow a plate word but are not a vanity plate.
const NOT_VANITY: &[&str] = &[
    "TRANSFER",
    "TRANSFERRED",
    "TRANSFERT",
    "STICKER",
    "STICKERS",
    "EXPIRED",
    "EXPIRY",
    "RENEWAL",
    "RENEWED",
    "NUMBER",
    "NUMBERS",
    "MISSING",
    "ATTACHED",
    "REMOVED",
    "RETURNED",
    "PENDING",
    "UNKNOWN",
    "TEMPORARY",
    "DEALER",
    "FRONT",
    "PLATE",
    "PLATES",
    "PLAQUE",
    "PLAQUES",
    "LICENCE",
    "LICENSE",
    "TRADE",
    "ABSENTE",
    "MANQUANTE",
    "ENLEVÉE",
    "REMISE",
    "VALIDE",
    "EXPIRÉE",
    "STOCK",
    "STATUS",
    "CHECK",
    "LIGHT",
    "BOLTS",
    "FRAME",
    "HOLDER",
    "COVER",
    "BRACKET",
    "ISSUED",
    "ORDERED",
    "PLEASE",
    "THANKS",
    "PERMIS",
    "CLIENT",
    "CUSTOMER",
    "ADDED",
    "ATTACHÉE",
];

/// A plate after a plate word: one group of 5-8 with a digit, an upper-case vanity plate of
/// 5-8 letters, or two groups of 2-4 (5-8 in all) joined by a space, dash or line break with
/// a digit; letters in one case.
fn plate_at(b: &[u8], l: &[u8], i: usize) -> Option<usize> {
    plate_shape(b, l, i, false)
}

/// A plate after weak context (a vehicle word): the shapes that provincial plates have, so
/// that a stock number (`P9981A`, `UA3746`), a personnel code (`BDC-05`), a year and make
/// (`2024 GMC`) or a reading (`120 km`) is not taken. Vanity plates only in upper case after
/// a key word that is not itself in capitals.
fn plate_weak_at(b: &[u8], l: &[u8], i: usize) -> Option<usize> {
    plate_shape(b, l, i, true)
}

fn plate_shape(b: &[u8], l: &[u8], i: usize, weak: bool) -> Option<usize> {
    let (g1, a1, d1) = plate_group(b, i);
    if g1 == 0 {
        return None;
    }
    let n = b.len();
    let amount_after = |e: usize| e + 1 < n && matches!(b[e], b',' | b'.') && b[e + 1].is_ascii_digit();
    let unit = |s: usize, e: usize| std::str::from_utf8(&l[s..e]).is_ok_and(|w| NOT_PLATE_WORDS.contains(&w));
    let e1 = i + g1;
    if (2..=4).contains(&g1) && e1 + 1 < n && matches!(b[e1], b' ' | b'-' | b'\n') {
        let j = e1 + 1;
        let (g2, a2, d2) = plate_group(b, j);
        let e2 = j + g2;
        let one_case = b[i..e2].iter().filter(|c| c.is_ascii_alphabetic()).all(u8::is_ascii_uppercase)
            || b[i..e2].iter().filter(|c| c.is_ascii_alphabetic()).all(u8::is_ascii_lowercase);
        if (2..=4).contains(&g2) && boundary_after(b, e2) && one_case && (5..=8).contains(&(g1 + g2)) && d1 + d2 > 0 && !amount_after(e2) {
            if unit(i, e1) || unit(j, e2) {
                return None;
            }
            if !weak {
                return Some(e2);
            }
            let letters_digits = a1 >= 2 && d1 == 0 && d2 == g2 && (3..=4).contains(&g2);
            let digits_letters = d1 == g1 && g1 == 3 && a2 == g2 && g2 == 3;
            let mixed = g1 == 3 && g2 == 3 && a1 + a2 >= 2 && d1 + d2 >= 2 && (a1 > 0 && d1 > 0 || a2 > 0 && d2 > 0);
            return (letters_digits || digits_letters || mixed).then_some(e2);
        }
    }
    if !(5..=8).contains(&g1) || !boundary_after(b, e1) || amount_after(e1) {
        return None;
    }
    let upper = b[i..e1].iter().all(|c| !c.is_ascii_lowercase());
    let vanity = d1 == 0 && upper && std::str::from_utf8(&b[i..e1]).is_ok_and(|w| !NOT_VANITY.contains(&w));
    if !weak {
        return (d1 > 0 || vanity).then_some(e1);
    }
    // The longest run of letters.
    let mut best = 0;
    let mut run = 0;
    for c in &b[i..e1] {
        run = if c.is_ascii_alphabetic() { run + 1 } else { 0 };
        best = best.max(run);
    }
    let key_not_caps = i >= 2 && !b[..i].iter().rev().skip_while(|c| !c.is_ascii_alphabetic()).take(3).all(u8::is_ascii_uppercase);
    (d1 > 0 && best >= 3 || vanity && key_not_caps).then_some(e1)
}

fn licence_at(b: &[u8], _l: &[u8], i: usize) -> Option<usize> {
    let mut end = i;
    let mut digits = 0;
    let mut p = i;
    loop {
        let g = upper_alnum_run(b, p);
        if g == 0 || !boundary_after(b, p + g) && !matches!(b.get(p + g), Some(b'-' | b' ')) {
            break;
        }
        let gd = b[p..p + g].iter().filter(|c| c.is_ascii_digit()).count();
        if p > i && gd == 0 {
            break;
        }
        digits += gd;
        end = p + g;
        if end + 1 < b.len() && matches!(b[end], b'-' | b' ') && (b[end + 1].is_ascii_uppercase() || b[end + 1].is_ascii_digit()) {
            p = end + 1;
        } else {
            break;
        }
    }
    (digits >= 5 && boundary_after(b, end)).then_some(end)
}

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "janvier",
    "février",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "decembre",
    "janv",
    "févr",
    "fevr",
    "avr",
    "juil",
    "déc",
];

fn month_at(l: &[u8], i: usize) -> Option<usize> {
    let k = MONTHS.iter().filter(|m| l[i..].starts_with(m.as_bytes()) && boundary_after(l, i + m.len())).map(|m| m.len()).max()?;
    let mut e = i + k;
    if e < l.len() && l[e] == b'.' {
        e += 1;
    }
    Some(e)
}

fn date_at(b: &[u8], l: &[u8], i: usize) -> Option<usize> {
    let n = b.len();
    if b[i].is_ascii_digit() {
        let d1 = digit_run(b, i);
        let p = i + d1;
        // Bare year after "born in" / "né en".
        if d1 == 4 && boundary_after(b, p) && (p + 1 >= n || !matches!(b[p], b'-' | b'/' | b'.') || !b[p + 1].is_ascii_digit()) {
            return matches!(&b[i..i + 2], b"19" | b"20").then_some(p);
        }
        if p < n && matches!(b[p], b'-' | b'/' | b'.') && (1..=4).contains(&d1) {
            let sep = b[p];
            let d2 = digit_run(b, p + 1);
            let q = p + 1 + d2;
            if (1..=2).contains(&d2) && q < n && b[q] == sep {
                let d3 = digit_run(b, q + 1);
                let e = q + 1 + d3;
                if (2..=4).contains(&d3) && boundary_after(b, e) {
                    return Some(e);
                }
            }
            return None;
        }
        // "14 March 1985", "1er avril 1990"
        if (1..=2).contains(&d1) {
            let mut q = p;
            if l[q..].starts_with(b"er")
                || l[q..].starts_with(b"st")
                || l[q..].starts_with(b"nd")
                || l[q..].starts_with(b"rd")
                || l[q..].starts_with(b"th")
            {
                q += 2;
            }
            if q < n && b[q] == b' ' {
                let m = month_at(l, q + 1)?;
                let mut r = m;
                while r < n && matches!(b[r], b' ' | b',') {
                    r += 1;
                }
                if digits_at(b, r, 4) && boundary_after(b, r + 4) {
                    return Some(r + 4);
                }
            }
        }
        return None;
    }
    // "March 14, 1985"
    let m = month_at(l, i)?;
    let mut r = m;
    while r < n && b[r] == b' ' {
        r += 1;
    }
    let d = digit_run(b, r);
    if !(1..=2).contains(&d) {
        return None;
    }
    r += d;
    if l[r..].starts_with(b"st") || l[r..].starts_with(b"nd") || l[r..].starts_with(b"rd") || l[r..].starts_with(b"th") {
        r += 2;
    }
    while r < n && matches!(b[r], b' ' | b',') {
        r += 1;
    }
    (digits_at(b, r, 4) && boundary_after(b, r + 4)).then_some(r + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, PiiType)> {
        let mut v = Vec::new();
        detect(text, Lang::En, &mut v);
        let v = crate::redact::merge_spans(text, v);
        v.iter().map(|s| (text[s.byte_start..s.byte_end].to_owned(), s.kind)).collect()
    }

    #[test]
    fn sin_needs_luhn_and_valid_first_digit() {
        assert_eq!(kinds("SIN 046 454 286"), vec![]);
        assert_eq!(kinds("ref 130 692 544 ok"), vec![]);
        assert_eq!(kinds("NAS: 130-692-544"), vec![("130-692-544".into(), PiiType::Sin)]);
        assert_eq!(kinds("number 130692544."), vec![("130692544".into(), PiiType::Sin)]);
        assert_eq!(kinds("SIN 130 692 545"), vec![]);
        assert_eq!(kinds("BN 130692544RT0001 and 130692544 RT0001"), vec![]);
        assert_eq!(kinds("total 130 692 544,00 $"), vec![]);
        // A marker left by an earlier pass is not SIN context.
        assert_eq!(kinds("[SIN], stock 130692544"), vec![]);
        assert_eq!(kinds("SIN, stock 130692544"), vec![("130692544".into(), PiiType::Sin)]);
    }

    #[test]
    fn phones_and_extensions() {
        assert_eq!(kinds("call (514) 555-1234 ext. 22 now"), vec![("(514) 555-1234 ext. 22".into(), PiiType::Phone)]);
        assert_eq!(kinds("+1 416.555.0199"), vec![("+1 416.555.0199".into(), PiiType::Phone)]);
        assert_eq!(kinds("cell 4165550199 poste 3"), vec![("4165550199 poste 3".into(), PiiType::Phone)]);
        assert_eq!(kinds("deal 4165550199"), vec![]);
        assert_eq!(kinds("1-800-555-0100"), vec![("1-800-555-0100".into(), PiiType::Phone)]);
    }

    #[test]
    fn context_rules() {
        assert_eq!(kinds("licence plate: ABCD 123"), vec![("ABCD 123".into(), PiiType::Plate)]);
        assert_eq!(kinds("ABCD 123"), vec![]);
        assert_eq!(kinds("DOB 1985-03-14, visit 2024-03-14"), vec![("1985-03-14".into(), PiiType::Dob)]);
        assert_eq!(kinds("née le 3 mars 1985"), vec![("3 mars 1985".into(), PiiType::Dob)]);
        assert_eq!(kinds("permis de conduire T1234-567890-12"), vec![("T1234-567890-12".into(), PiiType::DriversLicence)]);
        assert_eq!(kinds("DL 1234567"), vec![("1234567".into(), PiiType::DriversLicence)]);
        assert_eq!(kinds("email a.b@x.ca."), vec![("a.b@x.ca".into(), PiiType::Email)]);
    }
}
