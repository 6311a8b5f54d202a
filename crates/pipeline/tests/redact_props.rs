//! Arbitrary UTF-8 never panics; spans are in bounds, on char boundaries, sorted and
//! non-overlapping; the redacted text is the input with spans replaced by markers.

use pipeline::redact::{Lang, Redactor};
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_unicode(text in "\\PC{0,300}", fr in any::<bool>()) {
        check(&Redactor::offline(), &text, if fr { Lang::Fr } else { Lang::En });
    }

    // Dense in the characters the rules care about, so rule paths are actually exercised.
    #[test]
    fn rule_shaped_text(text in "[0-9 ()+.#@a-zA-Z:é'-]{0,200}|((SIN|NAS|plate|DOB|né le|permis|ext|poste|Mr\\.|client|rue|St|app\\.|[A-Z][a-z]+|[0-9]{1,4}|[-. ()/@#,]|é) ?){0,60}") {
        check(&Redactor::offline(), &text, Lang::En);
    }
}

#[test]
fn hostile_repetitions_do_not_panic_and_oversize_is_refused() {
    let r = Redactor::offline();
    for unit in ["plate ", "@", "a@b.", "1 ", "130 692 544 ", "Mr. ", "né le ", "(514) ", "123 rue ", "é", "SIN 1-", "A1234-"] {
        let text = unit.repeat((1 << 20) / unit.len());
        check(&r, &text, Lang::Fr);
    }
    let big = "x".repeat(pipeline::redact::MAX_TEXT_BYTES + 1);
    assert!(matches!(r.scan(&big, Lang::En), Err(pipeline::redact::DetectError::TooLarge { .. })));
}
