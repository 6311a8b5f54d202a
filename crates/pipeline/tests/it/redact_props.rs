//! Property tests of the redactor, its normalised view and the guard:
//! - arbitrary UTF-8 never panics; spans are in bounds, on char boundaries, sorted and
//!   non-overlapping; the redacted text is the input with spans replaced by markers;
//! - the normalised view maps back exactly: undoing its edits gives the input, every byte it
//!   copied maps to the same byte, and the map is monotone onto char boundaries;
//! - redaction is idempotent: redacting a redacted text changes nothing;
//! - the guard never panics on arbitrary bytes, and its findings lie inside the body.

use pipeline::redact::normal::NormalView;
use pipeline::redact::{Lang, Redactor, guard};
use proptest::prelude::*;

fn check(r: &Redactor, text: &str, lang: Lang) {
    let out = r.redact(text, lang).unwrap();
    let mut prev_end = 0;
    let mut rebuilt = String::new();
    for s in &out.spans {
        assert!(s.byte_start < s.byte_end && s.byte_end <= text.len());
        assert!(text.is_char_boundary(s.byte_start) && text.is_char_boundary(s.byte_end));
        assert!(s.byte_start >= prev_end, "overlap or unsorted");
        rebuilt.push_str(&text[prev_end..s.byte_start]);
        rebuilt.push_str(s.kind.marker());
        prev_end = s.byte_end;
    }
    rebuilt.push_str(&text[prev_end..]);
    assert_eq!(rebuilt, out.redacted);
}

fn check_view(text: &str) {
    let v = NormalView::new(text);
    let view = v.as_str();
    // Undo the edits: the original comes back byte for byte.
    let mut undone = String::new();
    let mut at = 0;
    for e in v.edits() {
        assert!(e.orig_len >= 1 && e.view_at >= at);
        undone.push_str(&view[at..e.view_at]);
        assert_eq!(usize::from(view.as_bytes()[e.view_at]), usize::from(e.canonical));
        undone.push_str(&text[e.orig_at..e.orig_at + e.orig_len]);
        at = e.view_at + 1;
    }
    undone.push_str(&view[at..]);
    assert_eq!(undone, text);
    // The map: monotone, char boundaries to char boundaries, copied bytes to equal bytes.
    let mut last = 0;
    let edited: Vec<usize> = v.edits().iter().map(|e| e.view_at).collect();
    for p in 0..=view.len() {
        let o = v.to_original(p);
        assert!(o >= last && o <= text.len(), "{p} -> {o}");
        if view.is_char_boundary(p) {
            assert!(text.is_char_boundary(o), "{p} -> {o}");
        }
        if p < view.len() && !edited.contains(&p) {
            assert_eq!(view.as_bytes()[p], text.as_bytes()[o]);
        }
        last = o;
    }
    assert_eq!(v.to_original(view.len()), text.len());
}

fn check_idempotent(r: &Redactor, text: &str) {
    let once = r.redact(text, Lang::En).unwrap().redacted;
    let twice = r.redact(&once, Lang::En).unwrap();
    assert_eq!(
        twice.redacted,
        once,
        "second pass found {:?}",
        twice.spans.iter().map(|s| &once[s.byte_start..s.byte_end]).collect::<Vec<_>>()
    );
}

/// Text dense in what the rules and the detector look at.
const RULE_SHAPED: &str = "[0-9 ()+.#@a-zA-Z:é'-]{0,200}|((SIN|NAS|plate|DOB|né le|permis|ext|poste|Mr\\.|client|rue|St|app\\.|[A-Z][a-z]+|[0-9]{1,4}|[-. ()/@#,]|é) ?){0,60}";
/// Numbers in every separator style, with line breaks.
const NUMBER_SHAPED: &str = "(([0-9]{1,4})( - |-|\\.|/| |  |\n|\r\n| \\. |\u{a0}|\u{2013})?|tel |SIN |stock |\\$|,00 ){0,40}";
/// Names, cues, addresses and markers.
const ENTITY_SHAPED: &str = "((Customer|Cust|Mme|M\\.|Buyer:|Nom :|Thanks,\n|[A-Z][a-z]+|[A-Z]{2,8}|,|, |[0-9]{1,5}|rue|boul\\.|St|Ave|Apt|QC|\\(QC\\)|H2X 1Y4|\\[NAME\\]|\\[ADDRESS\\]|\\[PHONE\\]|de|la|'s|\t|\n) ?){0,50}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_unicode(text in "\\PC{0,300}", fr in any::<bool>()) {
        check(&Redactor::offline(), &text, if fr { Lang::Fr } else { Lang::En });
    }

    // Dense in the characters the rules care about, so rule paths are actually exercised.
    #[test]
    fn rule_shaped_text(text in RULE_SHAPED) {
        check(&Redactor::offline(), &text, Lang::En);
    }

    #[test]
    fn normal_view_maps_back_exactly(text in "\\PC{0,200}|[0-9 .\\-/\n\r\t\u{a0}\u{2013}\u{2212}a-zA-Z]{0,200}") {
        check_view(&text);
    }

    #[test]
    fn normal_view_of_numbers(text in NUMBER_SHAPED) {
        check_view(&text);
        check(&Redactor::offline(), &text, Lang::En);
    }

    #[test]
    fn redaction_is_idempotent(text in RULE_SHAPED) {
        check_idempotent(&Redactor::offline(), &text);
    }

    #[test]
    fn redaction_of_numbers_and_entities_is_idempotent(a in NUMBER_SHAPED, b in ENTITY_SHAPED) {
        let r = Redactor::offline();
        check_idempotent(&r, &a);
        check_idempotent(&r, &b);
        check_idempotent(&r, &format!("{b} {a}"));
    }

    #[test]
    fn guard_never_panics_and_stays_in_bounds(body in proptest::collection::vec(any::<u8>(), 0..400), text in "\\PC{0,200}") {
        for b in [body.clone(), text.clone().into_bytes(), pipeline::redact::llm::request_body(&text, 8).unwrap()] {
            for f in guard::scan(&b) {
                assert!(f.byte_len >= 1 && f.byte_offset + f.byte_len <= b.len(), "{f:?} in {} bytes", b.len());
            }
        }
    }
}

#[test]
fn hostile_repetitions_do_not_panic_and_oversize_is_refused() {
    let r = Redactor::offline();
    for unit in [
        "plate ",
        "@",
        "a@b.",
        "1 ",
        "130 692 544 ",
        "Mr. ",
        "né le ",
        "(514) ",
        "123 rue ",
        "é",
        "SIN 1-",
        "A1234-",
        "1 - ",
        "9\n",
        "X,Y ",
        "1 Main St, ",
    ] {
        let text = unit.repeat((1 << 20) / unit.len());
        check(&r, &text, Lang::Fr);
        let _ = guard::scan(text.as_bytes());
    }
    let big = "x".repeat(pipeline::redact::MAX_TEXT_BYTES + 1);
    assert!(matches!(r.scan(&big, Lang::En), Err(pipeline::redact::DetectError::TooLarge { .. })));
}
