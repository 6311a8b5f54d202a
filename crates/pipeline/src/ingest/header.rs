//! Header folding: how a header as a vendor writes it becomes words and a match key.
//!
//! Folding splits camelCase and letter/digit boundaries (`DealNo` → `deal no`, `Addr1` →
//! `addr 1`), strips accents (NFKD, combining marks dropped: `Téléphone` → `telephone`),
//! lowercases, reads `#` as "number", and treats every other non-alphanumeric character as a
//! separator. The match key then maps number synonyms (`number`, `num`, `nbr`, `no`,
//! `numero`, `#`) to `no`, drops the connecting words `de du des d la le l of the`, and sorts
//! the words, so `Stock #`, `StockNo`, `stock_number` and `Numéro de stock` share one key.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The longest header folded; longer headers are cut (they match nothing anyway).
const MAX_HEADER_CHARS: usize = 256;

/// Splits a header into lowercase, accent-free ASCII-or-letter words.
pub fn words(header: &str) -> Vec<String> {
    let chars: Vec<char> = header.chars().take(MAX_HEADER_CHARS).collect();
    let mut spaced = String::with_capacity(chars.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        if let Some(p) = prev {
            let boundary = (c.is_uppercase() && p.is_lowercase())
                || (c.is_uppercase() && p.is_uppercase() && next.is_some_and(char::is_lowercase))
                || (c.is_ascii_digit() && p.is_alphabetic())
                || (c.is_alphabetic() && p.is_ascii_digit());
            if boundary {
                spaced.push(' ');
            }
        }
        if c == '#' {
            spaced.push_str(" number ");
        } else {
            spaced.push(c);
        }
    }
    let folded: String = spaced.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect();
    folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// The match key of a header: see the module docs.
pub fn match_key(header: &str) -> String {
    let mut ws: Vec<String> = words(header)
        .into_iter()
        .filter(|w| !matches!(w.as_str(), "de" | "du" | "des" | "d" | "la" | "le" | "l" | "of" | "the"))
        .map(|w| match w.as_str() {
            "number" | "num" | "nbr" | "nmbr" | "numero" | "nr" => "no".to_owned(),
            _ => w,
        })
        .collect();
    ws.sort_unstable();
    ws.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_case_digits_accents_and_separators() {
        assert_eq!(words("DealNo"), ["deal", "no"]);
        assert_eq!(words("RONumber"), ["ro", "number"]);
        assert_eq!(words("Addr1"), ["addr", "1"]);
        assert_eq!(words("Téléphone_Cellulaire"), ["telephone", "cellulaire"]);
        assert_eq!(words("  F&I Mgr #  "), ["f", "i", "mgr", "number"]);
        assert_eq!(words("DATE-DE-NAISSANCE"), ["date", "de", "naissance"]);
    }

    #[test]
    fn keys_unify_number_spellings_and_word_order() {
        let k = match_key("stock_number");
        for h in ["Stock #", "StockNo", "STOCK NUM", "Numéro de stock", "stock-nbr"] {
            assert_eq!(match_key(h), k, "{h}");
        }
        assert_ne!(match_key("stock_number"), match_key("deal_number"));
    }
}
