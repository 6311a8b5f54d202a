//! Stage 1, offline: person names, street addresses and postal codes in English and French.
//!
//! Rules, over a token stream (alphanumeric runs with internal `-` and apostrophes):
//!
//! - **Names after a strong cue.** Honorifics (`Mr`, `Mrs`, `Ms`, `Dr`, `M.`, `Mme`, `Mlle`,
//!   `Monsieur`, `Madame`, ...) and context words (`client`, `cliente`, `customer`,
//!   `appelé(e)`, `called`, `spoke with`, `parlé à/avec`, `dear`, `bonjour`, `hi`, `attn`,
//!   `owner`, `propriétaire`, `buyer`, `acheteur`, ...) followed by 1-3 capitalised tokens
//!   (or all-caps tokens), with name particles (`de`, `du`, `van`, `St-`...) allowed
//!   inside. Capitalised words from `data/stop.txt` ([`gazetteer`](super::gazetteer)) (makes,
//!   models, months, places, document words) are never taken as names.
//! - **Gazetteer names.** A listed given name or surname followed or preceded by another
//!   capitalised token forms a name of up to 3 tokens; a listed name alone counts only if
//!   it is not in `data/ambiguous.txt`.
//! - **Addresses.** A civic number (`123`, `12A`, `4-123`) then either a French street type
//!   and name (`rue Saint-Denis`, `boul. des Laurentides`, `chemin du Lac`) or an English
//!   name and street type (`Main St`, `St. Clair Ave W`), then an optional unit (`app. 4`,
//!   `apt 4`, `suite 200`, `bureau 3`, `#4`).
//! - **Postal codes** `A1A 1A1` / `A1A1A1` with the letters Canada Post uses.

use super::gazetteer::Gazetteer;
use super::{DetectError, Lang, PiiDetector, PiiType, Span};

/// The default, offline stage-1 detector.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineDetector;

impl OfflineDetector {
    /// The detector (its word lists are built once, on first use).
    pub fn new() -> Self {
        Self
    }
}

impl PiiDetector for OfflineDetector {
    fn name(&self) -> &'static str {
        "pipeline-offline-ner"
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn detect(&self, text: &str, _lang: Lang) -> Result<Vec<Span>, DetectError> {
        let toks = tokens(text);
        let mut out = Vec::new();
        names(text, &toks, &mut out);
        addresses(text, &toks, &mut out);
        postal_codes(text, &toks, &mut out);
        Ok(out)
    }
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    s: usize,
    e: usize,
}

fn tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(text.len() / 5);
    let mut start: Option<usize> = None;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start {
            let joiner = matches!(c, '-' | '\'' | '\u{2019}');
            if joiner && it.peek().is_some_and(|&(_, n)| n.is_alphanumeric()) {
                continue;
            }
            out.push(Tok { s, e: i });
            start = None;
        }
    }
    if let Some(s) = start {
        out.push(Tok { s, e: text.len() });
    }
    out
}

fn is_cap(w: &str) -> bool {
    let mut cs = w.chars();
    cs.next().is_some_and(char::is_uppercase) && w.chars().any(char::is_lowercase) && !w.chars().any(|c| c.is_ascii_digit())
}

fn is_allcaps(w: &str) -> bool {
    w.chars().count() >= 2 && w.chars().all(|c| c.is_uppercase() || c == '-' || c == '\'' || c == '\u{2019}')
}

const HONORIFICS: &[&str] =
    &["Mr", "Mrs", "Ms", "Miss", "Dr", "Mme", "Mmes", "Mlle", "Monsieur", "Madame", "Mademoiselle", "Mister", "MR", "MRS", "MS", "MME"];
const STRONG_CUES: &[&str] = &[
    "client",
    "cliente",
    "customer",
    "appelé",
    "appelée",
    "appele",
    "called",
    "calling",
    "spoke",
    "parlé",
    "parle",
    "rappelé",
    "contacted",
    "contacté",
    "contactée",
    "dear",
    "attn",
    "bonjour",
    "hi",
    "hello",
    "bonsoir",
    "cher",
    "chère",
    "owner",
    "propriétaire",
    "buyer",
    "co-buyer",
    "cobuyer",
    "acheteur",
    "acheteuse",
    "cosigner",
    "co-signer",
    "endosseur",
    "thanks",
    "merci",
    "name",
    "nom",
];
const PREPS: &[&str] = &["with", "to", "à", "a", "avec", "au", "mr", "m", "mme"];
const PARTICLES: &[&str] = &["de", "du", "des", "van", "von", "da", "di", "del", "della", "la", "le"];

fn gap(text: &str, a: Tok, b: Tok) -> &str {
    &text[a.e..b.s]
}

fn names(text: &str, toks: &[Tok], out: &mut Vec<Span>) {
    let g = Gazetteer::get();
    let w = |k: usize| &text[toks[k].s..toks[k].e];
    let name_like = |k: usize| {
        let t = w(k);
        (is_cap(t) || is_allcaps(t) && (g.is_given(t) || g.is_surname(t) || t.len() >= 3)) && !g.stop.contains(t)
    };
    // Extends a name run from token k (which is name-like) over adjacent name tokens.
    let run = |k: usize, max: usize| {
        let mut end = k;
        let mut n = 1;
        let mut j = k + 1;
        while j < toks.len() && n < max {
            if gap(text, toks[j - 1], toks[j]) != " " {
                break;
            }
            if name_like(j) {
                end = j;
                n += 1;
                j += 1;
                continue;
            }
            if PARTICLES.contains(&w(j)) && j + 1 < toks.len() && gap(text, toks[j], toks[j + 1]) == " " && name_like(j + 1) {
                j += 1;
                continue;
            }
            break;
        }
        end
    };
    let mut k = 0;
    while k < toks.len() {
        let t = w(k);
        let first = t.as_bytes()[0];
        let honorific = matches!(first, b'M' | b'D') && HONORIFICS.contains(&t)
            || (t == "M" || t == "Me" || t == "Dre") && text[toks[k].e..].starts_with('.');
        if honorific || STRONG_CUES.iter().any(|c| c.as_bytes()[0] == first.to_ascii_lowercase() && c.eq_ignore_ascii_case(t)) {
            let mut j = k + 1;
            if j < toks.len()
                && !honorific
                && PREPS.iter().any(|p| p.eq_ignore_ascii_case(w(j)))
                && gap(text, toks[k], toks[j]).trim().is_empty()
            {
                j += 1;
            }
            if j < toks.len() {
                let gp = gap(text, toks[j - 1], toks[j]);
                let ok_gap = gp.len() <= 4 && !gp.contains('\n') && gp.chars().all(|c| matches!(c, ' ' | ':' | ',' | '.' | '-'));
                if ok_gap && name_like(j) {
                    let end = run(j, 3);
                    out.push(Span { byte_start: toks[j].s, byte_end: toks[end].e, kind: PiiType::Name });
                    k = end + 1;
                    continue;
                }
            }
        }
        if (is_cap(t) || is_allcaps(t)) && !g.stop.contains(t) && (g.is_given(t) || g.is_surname(t)) {
            let mut start = k;
            if k > 0 && gap(text, toks[k - 1], toks[k]) == " " && name_like(k - 1) && out.last().is_none_or(|s| s.byte_end < toks[k - 1].e)
            {
                start = k - 1;
            }
            let end = run(k, if start < k { 2 } else { 3 });
            if end > start || !g.ambiguous.contains(t) {
                out.push(Span { byte_start: toks[start].s, byte_end: toks[end].e, kind: PiiType::Name });
            }
            k = end + 1;
            continue;
        }
        k += 1;
    }
}

const FR_STREET: &[&str] = &[
    "rue",
    "avenue",
    "av",
    "boulevard",
    "boul",
    "bd",
    "blvd",
    "chemin",
    "ch",
    "route",
    "rang",
    "rg",
    "place",
    "montée",
    "montee",
    "côte",
    "cote",
    "croissant",
    "impasse",
    "allée",
    "allee",
    "promenade",
    "terrasse",
    "carré",
    "square",
    "autoroute",
    "ruelle",
    "voie",
];
const EN_STREET: &[&str] = &[
    "st",
    "street",
    "ave",
    "avenue",
    "rd",
    "road",
    "blvd",
    "boulevard",
    "dr",
    "drive",
    "cres",
    "crescent",
    "crt",
    "ct",
    "court",
    "way",
    "lane",
    "ln",
    "pl",
    "place",
    "terrace",
    "terr",
    "hwy",
    "highway",
    "pkwy",
    "parkway",
    "circle",
    "cir",
    "trail",
    "trl",
    "line",
    "sideroad",
    "gate",
    "grove",
    "heights",
    "hts",
    "row",
    "square",
    "sq",
    "close",
    "path",
    "private",
    "concession",
];
const FR_NAME_WORDS: &[&str] = &["de", "du", "des", "la", "le", "l", "d", "saint", "sainte", "st", "ste"];
const DIRECTIONS: &[&str] =
    &["n", "s", "e", "w", "ne", "nw", "se", "sw", "north", "south", "east", "west", "est", "ouest", "nord", "sud", "o"];
const UNITS: &[&str] = &["app", "apt", "appt", "apartment", "appartement", "suite", "unit", "unité", "bureau", "porte", "logement"];

fn civic(w: &str) -> bool {
    let b = w.as_bytes();
    let d = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if d == 0 || d > 6 {
        return false;
    }
    let rest = &b[d..];
    rest.is_empty()
        || rest.len() == 1 && rest[0].is_ascii_alphabetic()
        || rest[0] == b'-' && rest.len() > 1 && rest.len() <= 7 && rest[1..].iter().all(u8::is_ascii_alphanumeric)
}

fn ordinal(w: &str) -> bool {
    let d = w.bytes().take_while(u8::is_ascii_digit).count();
    d > 0 && matches!(&w[d..], "st" | "nd" | "rd" | "th" | "e" | "er" | "re")
}

fn addresses(text: &str, toks: &[Tok], out: &mut Vec<Span>) {
    let w = |k: usize| &text[toks[k].s..toks[k].e];
    let plain_gap = |a: usize, b: usize, allow: &[&str]| {
        let gp = gap(text, toks[a], toks[b]);
        gp == " " || allow.contains(&gp)
    };
    let mut k = 0;
    while k + 2 < toks.len() {
        if toks[k].s.checked_sub(1).is_some_and(|p| text.as_bytes()[p].is_ascii_alphanumeric()) || !civic(w(k)) {
            k += 1;
            continue;
        }
        let mut end = None;
        let next = w(k + 1).to_lowercase();
        if plain_gap(k, k + 1, &[", "]) && FR_STREET.contains(&next.as_str()) {
            // French: civic, street type, then name words.
            let mut j = k + 2;
            let mut last = None;
            let first_gap: &[&str] = &[". ", "."];
            while j < toks.len() && j < k + 8 && plain_gap(j - 1, j, if j == k + 2 { first_gap } else { &[] }) {
                let t = w(j);
                let tl = t.to_lowercase();
                if is_cap(t) || is_allcaps(t) || t.bytes().all(|c| c.is_ascii_digit()) && t.len() <= 4 {
                    last = Some(j);
                } else if FR_NAME_WORDS.contains(&tl.as_str()) || tl.starts_with("l'") || tl.starts_with("d'") {
                    if tl.len() > 2 {
                        last = Some(j);
                    }
                } else {
                    break;
                }
                j += 1;
            }
            end = last;
        } else if plain_gap(k, k + 1, &[]) {
            // English: civic, 1-4 name words, street type, optional direction.
            let mut j = k + 1;
            while j < toks.len() && j <= k + 5 {
                if j > k + 1 && !plain_gap(j - 1, j, &[". "]) {
                    break;
                }
                let t = w(j);
                let tl = t.to_lowercase();
                if j > k + 1 && EN_STREET.contains(&tl.as_str()) {
                    // "Pine Grove Lane": a street-type word inside the name.
                    let mut j = j;
                    while j + 1 < toks.len() && plain_gap(j, j + 1, &[]) && EN_STREET.contains(&w(j + 1).to_lowercase().as_str()) {
                        j += 1;
                    }
                    end = Some(j);
                    if j + 1 < toks.len() && plain_gap(j, j + 1, &[". "]) && DIRECTIONS.contains(&w(j + 1).to_lowercase().as_str()) {
                        let d = w(j + 1);
                        if d.chars().next().is_some_and(char::is_uppercase) {
                            end = Some(j + 1);
                        }
                    }
                    break;
                }
                if !(is_cap(t) || is_allcaps(t) || ordinal(t) || t == "St") {
                    break;
                }
                j += 1;
            }
        }
        let Some(mut e) = end else {
            k += 1;
            continue;
        };
        // Direction after a French street name, then an optional unit.
        if e + 1 < toks.len() && plain_gap(e, e + 1, &[]) && matches!(w(e + 1), "Est" | "Ouest" | "Nord" | "Sud" | "E" | "O") {
            e += 1;
        }
        if e + 2 < toks.len() {
            let gp = gap(text, toks[e], toks[e + 1]);
            if (gp == ", " || gp == " " || gp == ",") && UNITS.contains(&w(e + 1).to_lowercase().as_str()) {
                let gp2 = gap(text, toks[e + 1], toks[e + 2]);
                if matches!(gp2, " " | ". " | "." | " #" | ". #" | "#" | " no " | " no. ") && w(e + 2).len() <= 6 {
                    e += 2;
                }
            } else if matches!(gp, ", #" | " #" | ",#") && w(e + 1).len() <= 6 && w(e + 1).bytes().any(|c| c.is_ascii_digit()) {
                e += 1;
            }
        }
        out.push(Span { byte_start: toks[k].s, byte_end: toks[e].e, kind: PiiType::Address });
        k = e + 1;
    }
}

fn postal_first(c: u8) -> bool {
    b"ABCEGHJKLMNPRSTVXY".contains(&c)
}

fn postal_other(c: u8) -> bool {
    b"ABCEGHJKLMNPRSTVWXYZ".contains(&c)
}

fn postal_codes(text: &str, toks: &[Tok], out: &mut Vec<Span>) {
    for (k, t) in toks.iter().enumerate() {
        let b = &text.as_bytes()[t.s..t.e];
        let fsa = |b: &[u8]| b.len() >= 3 && postal_first(b[0]) && b[1].is_ascii_digit() && postal_other(b[2]);
        let ldu = |b: &[u8]| b.len() >= 3 && b[0].is_ascii_digit() && postal_other(b[1]) && b[2].is_ascii_digit();
        if b.len() == 6 && fsa(b) && ldu(&b[3..]) {
            out.push(Span { byte_start: t.s, byte_end: t.e, kind: PiiType::PostalCode });
        } else if b.len() == 3 && fsa(b) && k + 1 < toks.len() {
            let n = toks[k + 1];
            let nb = &text.as_bytes()[n.s..n.e];
            if gap(text, *t, n) == " " && nb.len() == 3 && ldu(nb) {
                out.push(Span { byte_start: t.s, byte_end: n.e, kind: PiiType::PostalCode });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, PiiType)> {
        let v = OfflineDetector.detect(text, Lang::En).unwrap_or_default();
        v.iter().map(|s| (text[s.byte_start..s.byte_end].to_owned(), s.kind)).collect()
    }

    #[test]
    fn names_with_cues_and_gazetteer() {
        assert_eq!(found("Customer Zbigniew Okonkwo called"), vec![("Zbigniew Okonkwo".into(), PiiType::Name)]);
        assert_eq!(found("M. Côté a appelé"), vec![("Côté".into(), PiiType::Name)]);
        assert_eq!(found("Thanks, Marie-Ève Gagnon"), vec![("Marie-Ève Gagnon".into(), PiiType::Name)]);
        assert_eq!(found("Customer Pay on Honda Civic"), vec![]);
    }

    #[test]
    fn addresses_and_postal_codes() {
        assert_eq!(found("lives at 123 rue Saint-Denis, app. 4 in town"), vec![("123 rue Saint-Denis, app. 4".into(), PiiType::Address)]);
        assert_eq!(
            found("45 Main St W, H2X 1Y4"),
            vec![("45 Main St W".into(), PiiType::Address), ("H2X 1Y4".into(), PiiType::PostalCode)]
        );
        assert_eq!(found("replaced 4 Michelin tires"), vec![]);
    }
}
