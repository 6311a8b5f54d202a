//! Entry points for the CSV-ingest, redactor and guard fuzz targets and for the corpus replay test
//! (`tests/it/fuzz_corpus.rs`): each feeds outside bytes to one entry point and must return
//! without panicking, hanging or allocating without bound, whatever the input; each also
//! asserts invariants of the result. Not part of the stable API.

use std::sync::OnceLock;

use crate::ingest::{self, DeclaredEncoding, Dms, Export, Limits, Options, Profile};
use crate::redact::normal::NormalView;
use crate::redact::{Lang, Redactor, guard, llm};

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every entry point, by the fuzz target's name.
pub const TARGETS: &[(&str, Target)] =
    &[("csv_ingest", csv_ingest), ("redactor_input", redactor_input), ("redactor_guard", redactor_guard)];

/// [`ingest::check`] on arbitrary bytes: the first byte picks the profile, the declared
/// encoding and hashing; the rest is the file. Small limits so the limit paths are reached.
pub fn csv_ingest(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else { return };
    let dms = Dms::ALL[usize::from(sel & 0x07) % Dms::ALL.len()];
    let export = Export::ALL[usize::from((sel >> 3) & 0x03)];
    let Some(profile) = Profile::get(dms, export) else { return };
    let encoding = if sel & 0x80 == 0 { DeclaredEncoding::Utf8 } else { DeclaredEncoding::Windows1252 };
    let limits = Limits { max_file_bytes: 1 << 20, max_field_bytes: 4096, max_record_bytes: 16 << 10, max_columns: 64, max_errors: 16 };
    let opts = Options { encoding, limits, hash: sel & 0x20 != 0 };
    let mut rows = 0u64;
    if let Ok(report) = ingest::check(&profile, body, &opts, |_| rows += 1) {
        assert_eq!(report.accepted, report.errors.is_empty(), "accepted exactly when there is no error");
        assert!(report.stats.bytes_read <= body.len() as u64);
        assert!(report.errors.len() <= limits.max_errors + 1);
        if report.accepted {
            assert_eq!(report.rows, rows, "an accepted file's rows all reached the callback");
        }
    }
}

/// The offline redactor (stage 1 detector and stage 2 rules, on the normalised view) on
/// arbitrary UTF-8 text (the first byte picks the language): spans are in bounds, on
/// character boundaries, sorted and disjoint, and every byte outside them survives, in order,
/// in the redacted text; the normalised view maps back exactly; the guard checks the request
/// body built from the redacted text without panicking.
pub fn redactor_input(data: &[u8]) {
    static REDACTOR: OnceLock<Redactor> = OnceLock::new();

    let Some((&sel, body)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(body) else { return };
    let lang = if sel & 1 == 0 { Lang::En } else { Lang::Fr };
    let r = REDACTOR.get_or_init(Redactor::offline).redact(text, lang).expect("the offline detector scans any text under the cap");
    let mut end = 0;
    for s in &r.spans {
        assert!(end <= s.byte_start && s.byte_start < s.byte_end && s.byte_end <= text.len(), "{:?}", r.spans);
        assert!(text.is_char_boundary(s.byte_start) && text.is_char_boundary(s.byte_end));
        end = s.byte_end;
    }
    // Every unredacted piece appears, in order, in the output.
    let mut rest = r.redacted.as_str();
    let mut from = 0;
    for s in &r.spans {
        let piece = &text[from..s.byte_start];
        let at = rest.find(piece).expect("unredacted text survives");
        rest = &rest[at + piece.len()..];
        from = s.byte_end;
    }
    assert!(rest.ends_with(&text[from..]));
    // The normalised view: undoing its edits gives the text back.
    let view = NormalView::new(text);
    let mut undone = String::with_capacity(text.len());
    let mut at = 0;
    for e in view.edits() {
        undone.push_str(&view.as_str()[at..e.view_at]);
        undone.push_str(&text[e.orig_at..e.orig_at + e.orig_len]);
        at = e.view_at + 1;
    }
    undone.push_str(&view.as_str()[at..]);
    assert_eq!(undone, text, "the normalised view maps back");
    // The guard on the exact body the model would get.
    if let Ok(body) = llm::request_body(&r.redacted, 16) {
        redactor_guard(&body);
    }
}

/// The fail-closed guard on arbitrary request-body bytes: findings are in bounds, sorted,
/// at least a byte long, and [`guard::check_body`] refuses exactly when there are findings.
pub fn redactor_guard(data: &[u8]) {
    let findings = guard::scan(data);
    let mut last = 0;
    for f in &findings {
        assert!(f.byte_len >= 1 && f.byte_offset + f.byte_len <= data.len(), "{f:?} in {} bytes", data.len());
        assert!(f.byte_offset >= last, "findings sorted");
        last = f.byte_offset;
    }
    match guard::check_body(data) {
        Ok(()) => assert!(findings.is_empty()),
        Err(r) => {
            assert!(!findings.is_empty() && r.total_findings == findings.len());
            assert!(r.findings.len() <= guard::MAX_FINDINGS);
        }
    }
}
