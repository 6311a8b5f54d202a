//! The normalised view that stage 2 scans for SINs, phone numbers, licence plates, licence
//! numbers and dates of birth.
//!
//! People write the same number many ways: `514-555-0147`, `514 - 555 - 0147`,
//! `514.555.0147`, `514/555/0147`, `514  555  0147`, or with the last group on the next line
//! of a copied form. The view rewrites every such gap to one canonical separator, so that
//! the rules only need to know one spelling of each, and keeps a map back to the original
//! bytes.
//!
//! # What is rewritten
//!
//! A **gap** is a run of separator characters between two ASCII alphanumeric characters,
//! at least one of them a digit. Separator characters are horizontal white space (space,
//! tab, no-break spaces U+00A0, U+2007, U+202F, thin space U+2009), line breaks (`\n`,
//! `\r\n`, `\r`) and marks (`-`, `.`, `/`, and the dashes U+2010 to U+2015 and U+2212). A gap
//! is a **joiner** when it holds at most one mark, at most one line break and at most
//! [`MAX_GAP_BYTES`] bytes, and it is not a full stop ending a sentence (`.` followed by
//! white space or a line break but not preceded by white space). A joiner is replaced by:
//!
//! - its mark, written in ASCII (`-` for every dash), when it has one: `123 - 456` becomes
//!   `123-456`, `514.\u{a0}555` becomes `514.555`, `555-\n0147` becomes `555-0147`;
//! - `\n` for a dot and a line break (`604.651.\n6349`: a dotted number broken over two lines; a
//!   sentence ending in a number before a line that starts with one reads the same, and the
//!   rules treat `\n` as a soft separator);
//! - else `\n` when it holds a line break: `555 \r\n 0147` becomes `555\n0147` (the rules
//!   accept `\n` between the groups of a number but do not take it as evidence that two
//!   numbers are one longer grouping);
//! - else one space: `514   555` becomes `514 555`.
//!
//! Gaps that are already canonical are left as they are, so a text with nothing to rewrite
//! is borrowed, not copied. Everything else (letters, other punctuation, every byte that is
//! not in a joiner) is copied unchanged.
//!
//! # Mapping back
//!
//! Every replacement is one byte standing for a gap of one or more bytes. A position `p`
//! in the view maps to `p` plus the bytes saved by the replacements that end at or before
//! `p` ([`NormalView::to_original`]). The map is monotone, maps char boundaries to char
//! boundaries, maps every copied byte to the same byte of the original, and maps the two
//! ends of a replacement to the two ends of its gap; so a span of the view maps to the
//! span of the original that holds exactly the same characters, with each canonical
//! separator standing for its original gap.

use std::borrow::Cow;

/// The longest gap rewritten, in bytes (longer gaps are left alone and end a number).
pub const MAX_GAP_BYTES: usize = 12;

/// One rewritten gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Offset of the one-byte replacement in the view.
    pub view_at: usize,
    /// Offset of the gap in the original.
    pub orig_at: usize,
    /// Length of the gap in the original, in bytes (at least one).
    pub orig_len: usize,
    /// The replacement byte: `-`, `.`, `/`, `\n` or space.
    pub canonical: u8,
}

/// The normalised view of a text, with its map back to the original.
#[derive(Clone, Debug)]
pub struct NormalView<'a> {
    text: Cow<'a, str>,
    edits: Vec<Edit>,
}

/// What a separator character is, for the joiner rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sep {
    Space,
    Line,
    Mark(u8),
}

fn sep_char(c: char) -> Option<Sep> {
    Some(match c {
        ' ' | '\t' | '\u{a0}' | '\u{2007}' | '\u{2009}' | '\u{202f}' => Sep::Space,
        '\n' | '\r' => Sep::Line,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' => Sep::Mark(b'-'),
        '.' => Sep::Mark(b'.'),
        '/' => Sep::Mark(b'/'),
        _ => return None,
    })
}

/// If `gap` (the bytes between two alphanumerics) is a joiner, its canonical byte.
fn joiner(gap: &str) -> Option<u8> {
    if gap.is_empty() || gap.len() > MAX_GAP_BYTES {
        return None;
    }
    let mut mark = None;
    let mut lines = 0;
    let mut space_before_mark = false;
    let mut space_after_mark = false;
    let mut prev_cr = false;
    for c in gap.chars() {
        match sep_char(c)? {
            Sep::Space => {
                if mark.is_some() {
                    space_after_mark = true;
                } else {
                    space_before_mark = true;
                }
                prev_cr = false;
            }
            Sep::Line => {
                // "\r\n" is one line break.
                if !(c == '\n' && prev_cr) {
                    lines += 1;
                }
                prev_cr = c == '\r';
                if mark.is_some() {
                    space_after_mark = true;
                } else {
                    space_before_mark = true;
                }
            }
            Sep::Mark(m) => {
                if mark.is_some() {
                    return None;
                }
                mark = Some(m);
                prev_cr = false;
            }
        }
    }
    if lines > 1 {
        return None;
    }
    match mark {
        // A full stop ending a sentence ("unit 12. 514 ...") is not a joiner.
        Some(b'.') if lines == 0 && space_after_mark && !space_before_mark => None,
        // A dot then a line break ("604.651.\n6349") joins like a bare line break.
        Some(m) if m != b'.' || lines == 0 => Some(m),
        _ if lines > 0 => Some(b'\n'),
        _ => Some(b' '),
    }
}

impl<'a> NormalView<'a> {
    /// Builds the view of `text`.
    pub fn new(text: &'a str) -> Self {
        let b = text.as_bytes();
        let n = b.len();
        let mut edits: Vec<Edit> = Vec::new();
        let mut out: Option<String> = None;
        // Bytes of `text` already copied into `out`; no gap before it is looked at again.
        let mut copied = 0;
        let mut done = 0;
        // Rewrites the gap `[g, e)` (between two ASCII alphanumerics) if it is a joiner.
        let rewrite = |g: usize, e: usize, out: &mut Option<String>, copied: &mut usize, edits: &mut Vec<Edit>| {
            let gap = &text[g..e];
            if let Some(canon) = joiner(gap)
                && !(gap.len() == 1 && gap.as_bytes()[0] == canon)
            {
                let o = out.get_or_insert_with(|| String::with_capacity(n));
                o.push_str(&text[*copied..g]);
                edits.push(Edit { view_at: o.len(), orig_at: g, orig_len: gap.len(), canonical: canon });
                o.push(char::from(canon));
                *copied = e;
            }
        };
        // Every rewritten gap touches a digit: go from digit run to digit run.
        let mut i = 0;
        while let Some(k) = b[i..].iter().position(u8::is_ascii_digit) {
            let d = i + k;
            // The gap before the run, when a letter precedes it ("FXT - 1234"); a digit before
            // it was handled as the previous run's gap after.
            if d >= 2 && d > done && !b[d - 1].is_ascii_alphanumeric() {
                let mut gs = d - 1;
                while gs > done && d - gs <= MAX_GAP_BYTES && !b[gs - 1].is_ascii_alphanumeric() {
                    gs -= 1;
                }
                if gs > done && gs >= 1 && d - gs <= MAX_GAP_BYTES && b[gs - 1].is_ascii_alphabetic() {
                    rewrite(gs, d, &mut out, &mut copied, &mut edits);
                }
            }
            let de = d + b[d..].iter().take_while(|c| c.is_ascii_digit()).count();
            // The gap after the run.
            let g = de;
            if g < n && !b[g].is_ascii_alphanumeric() && (b[g] < 0x80 || matches!(b[g], 0xc2 | 0xe2)) {
                let mut e = g;
                while e < n && e - g <= MAX_GAP_BYTES && !b[e].is_ascii_alphanumeric() {
                    e += 1;
                }
                if e < n && e - g <= MAX_GAP_BYTES {
                    rewrite(g, e, &mut out, &mut copied, &mut edits);
                    done = e;
                }
            }
            i = de;
            if i >= n {
                break;
            }
        }
        let text = match out {
            Some(mut o) => {
                o.push_str(&text[copied..]);
                Cow::Owned(o)
            }
            None => Cow::Borrowed(text),
        };
        Self { text, edits }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The rewritten gaps, in order.
    pub fn edits(&self) -> &[Edit] {
        &self.edits
    }

    /// Maps a byte position of the view (`0..=len`) to the original text.
    pub fn to_original(&self, p: usize) -> usize {
        // Replacements ending at or before p: those with view_at < p.
        let k = self.edits.partition_point(|e| e.view_at < p);
        match k.checked_sub(1).map(|j| self.edits[j]) {
            None => p,
            Some(e) => e.orig_at + e.orig_len + (p - e.view_at - 1),
        }
    }

    /// Maps a span of the view to the original.
    pub fn span_to_original(&self, start: usize, end: usize) -> (usize, usize) {
        (self.to_original(start), self.to_original(end))
    }
}

/// Lowers ASCII letters and the two-byte Latin-1 capitals (`É` → `é`, `À` → `à`), keeping
/// every byte offset, so that context words match in all-caps French text.
pub fn lower_keep_len(text: &str) -> String {
    let mut b = text.as_bytes().to_ascii_lowercase();
    // Latin-1 capitals: 0xC3 then 0x80..=0x9E (not 0x97, the multiplication sign).
    let mut i = 0;
    while let Some(k) = b[i..].iter().position(|&c| c == 0xC3) {
        let j = i + k + 1;
        if j < b.len() && (0x80..=0x9E).contains(&b[j]) && b[j] != 0x97 {
            b[j] += 0x20;
        }
        i = j;
    }
    String::from_utf8(b).unwrap_or_else(|_| text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(t: &str) -> String {
        NormalView::new(t).as_str().to_owned()
    }

    #[test]
    fn joins_digit_groups_across_separators() {
        assert_eq!(view("123 - 456 - 789"), "123-456-789");
        assert_eq!(view("514 . 555 . 0147"), "514.555.0147");
        assert_eq!(view("514  555\t0147"), "514 555 0147");
        assert_eq!(view("514-555-\n0147"), "514-555-0147");
        assert_eq!(view("604.651.\n6349"), "604.651\n6349");
        assert_eq!(view("514 555\r\n0147"), "514 555\n0147");
        assert_eq!(view("514\u{a0}555\u{2013}0147"), "514 555-0147");
        assert_eq!(view("514 / 555 / 0147"), "514/555/0147");
        assert_eq!(view("FXT - 1234"), "FXT-1234");
    }

    #[test]
    fn leaves_sentences_paragraphs_and_words_alone() {
        for t in ["unit 12. 514 555 0147", "0147\n\n2 tires", "Jean  Tremblay", "1 -- 2", "ext. 22", "a:  1"] {
            assert_eq!(view(t), t);
            assert!(matches!(NormalView::new(t).text, Cow::Borrowed(_)));
        }
    }

    #[test]
    fn maps_back_exactly() {
        let t = "SIN 123 - 456\u{2013}789 and tel 514  555\r\n0147.";
        let v = NormalView::new(t);
        assert_eq!(v.as_str(), "SIN 123-456-789 and tel 514 555\n0147.");
        let s = v.as_str().find("123").unwrap();
        let (a, b) = v.span_to_original(s, s + "123-456-789".len());
        assert_eq!(&t[a..b], "123 - 456\u{2013}789");
        let s = v.as_str().find("514").unwrap();
        let (a, b) = v.span_to_original(s, s + "514 555\n0147".len());
        assert_eq!(&t[a..b], "514  555\r\n0147");
        assert_eq!(v.to_original(v.as_str().len()), t.len());
    }
}
