//! Stage 1, offline: person names, street addresses and postal codes in English and French,
//! each redacted **whole** (issue 22).
//!
//! The detector works on a token stream (alphanumeric runs with internal `-` and
//! apostrophes; a possessive `'s` is split off) with a lowered copy of the text for cue
//! words. Word lists are the data files of [`gazetteer`](super::gazetteer).
//!
//! # Names
//!
//! A **name run** is a sequence of name tokens on one line joined by single spaces:
//! capitalised (`Tremblay`, `O'Brien`, `McKenzie`, `D'Amours`, `Marie-Ève`) or all-caps
//! (`TREMBLAY`; two-letter ones only when listed) tokens that are not stop words
//! (`data/stop.txt`, in either case) or label words (`SIN`, `VIN`, `Tel`, ...: issue 24), with
//! initials (`K.`, `J.-F.`, `Olivier S. Simard`) and particles (`de`, `du`, `des`, `la`, `van`,
//! `di`, `dos`, ...) inside. A run is taken as a name when:
//!
//! - it follows a **cue**: a title (`Mr`, `Mrs`, `Ms`, `Dr`, `M.`, `Mme`, `Mlle`, `Monsieur`,
//!   ...), a role word (`client(e)`, `Cust`, `customer`, `buyer`, `co-buyer`, `acheteur`,
//!   `purchaser`, `applicant`, `owner`, `propriétaire`, `spouse`, `conjoint(e)`, `contact`,
//!   ...), a verb (`called`, `spoke with`, `parlé à`, `contacter`, ...), a greeting or closing
//!   (`Hi`, `Bonjour`, `Thanks,` / `Merci,` with the name on the next line), a form label
//!   (`Name:`, `Nom :`, `Prénom :`, `Last Name:`), an e-mail header (`From:`, `De :`), or `by`,
//!   `par`, `pour`, `registered to`, `au nom de`, `le char à`; prepositions and possessives
//!   between are skipped (`parlé au conjoint`, `mon conjoint`). After role words and titles a
//!   lower-case name is also taken when one of its parts is a listed name (`Conjoint luc
//!   tremblay`). Names joined by `and`, `et`, `&` after a cue are all taken;
//! - it is in the **`SURNAME,GIVEN`** form: all-caps parts joined by a comma with no space
//!   (`DE LA CHEVROTIÈRE,KARINE`, `WONG,LI NA`, `PELLETIER,CATHERINE M`), always; or
//!   `SURNAME, GIVEN` / `Surname, Given` when a part is listed, a cue precedes, or the line
//!   layout says so (below);
//! - it holds a **listed** given name or surname (`data/given.txt`, `data/surnames.txt`; any
//!   part of a hyphenated token counts), extended over the name tokens, initials and
//!   particles around it; a listed name alone that is also a common word, make or place
//!   (`data/ambiguous.txt`) is not taken;
//! - it holds an **initial** (`S. Nadeau`, `Kelly F. Ross-White`);
//! - it starts a line and is followed by a field separator (tab, `|`, three spaces, ` / `)
//!   and a number, as in pasted CRM tables, or by ` <` (an e-mail header), or fills a line
//!   after a closing word or a blank line (a signature);
//! - it is two lower-case listed names, given then surname (`nathalie roy`);
//! - it is a capitalised token before a possessive and a vehicle word (`Tremblay's truck`).
//!
//! The span covers the name only: titles, role words and a possessive `'s` stay outside.
//!
//! # Addresses
//!
//! An address is redacted from its first byte (a unit prefix such as `Apt 4B,`, `app. 7,`,
//! `#304 -`, or the civic number) through the city, province and postal code when they
//! follow, across one line break:
//!
//! - **street**: a civic number (`123`, `12A`, `988 ½`, unit-civic `963-2265`, `4B-1866`)
//!   then a French street type and name (`rue Saint-Denis`, `boul. des Laurentides`,
//!   `chemin de la Côte-des-Neiges`, `route 132`) or an English name and street type (`Main
//!   St`, `St. Clair Ave W`, `Concession Rd 4`), any case; or a name with no street type
//!   (`2265 Kingsway`) when a city follows; or a rural route or post-office box (`RR#5 Site
//!   10 Comp 75`, `R.R. 1`, `P.O. Box 553, Stn Main`, `C.P. 667`, `case postale 12, succ. A`);
//! - then an optional **unit** (`, app. 4`, `, LOG. 808`, ` Unit 2410`, `, #3`);
//! - then an optional **city** (one to four words, `Saint-Jean-sur-Richelieu`, `St. John's`),
//!   taken when a province or postal code follows it or when it is a listed city
//!   (`data/cities.txt`); an optional **province** (`QC`, `(QC)`, `Qc`, `Ont.`, `Québec`,
//!   `NEW BRUNSWICK`, `N.-B.`, ...); and an optional postal code.
//!
//! The address span stops right before the postal code, which is its own `POSTAL_CODE` span
//! touching it (so the redacted text reads `[ADDRESS][POSTAL_CODE]`, and every byte of the
//! whole address is redacted).
//!
//! # Postal codes
//!
//! `A1A 1A1`, `A1A1A1`, `A1A-1A1`, in either case, with the letters Canada Post uses.

use std::cell::Cell;
use std::sync::OnceLock;

use super::gazetteer::{FastMap, Gazetteer};
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
        "2"
    }

    fn detect(&self, text: &str, _lang: Lang) -> Result<Vec<Span>, DetectError> {
        let cx = Cx::new(text);
        let mut out = Vec::new();
        cx.addresses(&mut out);
        cx.names(&mut out);
        cx.postal_codes(&mut out);
        Ok(out)
    }
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    s: usize,
    e: usize,
}

/// The tokens of `text` and their shape bits (see [`shape_of`]).
fn tokens(text: &str) -> (Vec<Tok>, Vec<u8>) {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Vec::with_capacity(n / 5);
    let mut shapes = Vec::with_capacity(n / 5);
    // Counts for the shape of the token being read: upper, lower, digit, other, non-ASCII.
    let (mut up, mut lo, mut dg, mut ot, mut wide) = (0usize, 0usize, false, false, false);
    let mut push = |out: &mut Vec<Tok>, s: usize, e: usize, up: usize, lo: usize, dg: bool, ot: bool, wide: bool| {
        out.push(Tok { s, e });
        let w = &text[s..e];
        shapes.push(if wide { shape_of(w) } else { ascii_shape(w.as_bytes(), up, lo, dg, ot) });
    };
    // Whether the char at byte `i` is alphanumeric, and its length.
    let alnum_at = |i: usize| -> (bool, usize) {
        let c = b[i];
        if c < 0x80 {
            return (c.is_ascii_alphanumeric(), 1);
        }
        text[i..].chars().next().map_or((false, 1), |ch| (ch.is_alphanumeric(), ch.len_utf8()))
    };
    let mut i = 0;
    let mut start: Option<usize> = None;
    while i < n {
        let (alnum, len) = alnum_at(i);
        if alnum {
            if start.is_none() {
                start = Some(i);
                (up, lo, dg, ot, wide) = (0, 0, false, false, false);
            }
            let c = b[i];
            if c >= 0x80 {
                wide = true;
            } else if c.is_ascii_uppercase() {
                up += 1;
            } else if c.is_ascii_lowercase() {
                lo += 1;
            } else {
                dg = true;
            }
            i += len;
            continue;
        }
        if let Some(s) = start {
            let c = &text[i..i + len];
            let joiner = matches!(c, "-" | "'" | "\u{2019}");
            let next_alnum = i + len < n && alnum_at(i + len).0;
            if joiner && next_alnum {
                // A possessive "'s" at the end of a word is not part of it.
                let j = i + len;
                let possessive = c != "-" && matches!(b[j], b's' | b'S') && (j + 1 >= n || !alnum_at(j + 1).0);
                if !possessive {
                    if c == "\u{2019}" {
                        wide = true;
                    } else if c != "-" && c != "'" {
                        ot = true;
                    }
                    i += len;
                    continue;
                }
                push(&mut out, s, i, up, lo, dg, ot, wide);
                start = None;
                // Skip the "'s".
                i = j + 1;
                continue;
            }
            push(&mut out, s, i, up, lo, dg, ot, wide);
            start = None;
        }
        i += len;
    }
    if let Some(s) = start {
        push(&mut out, s, n, up, lo, dg, ot, wide);
    }
    (out, shapes)
}

/// [`is_cap`], [`is_allcaps`] and [`is_lowerword`] of `w` as shape bits.
fn shape_of(w: &str) -> u8 {
    if !w.is_ascii() {
        return u8::from(is_cap(w)) * SHAPE_CAP + u8::from(is_allcaps(w)) * SHAPE_ALLCAPS + u8::from(is_lowerword(w)) * SHAPE_LOWER;
    }
    let b = w.as_bytes();
    let (mut upper, mut lower, mut digit, mut other) = (0usize, 0usize, false, false);
    for &c in b {
        if c.is_ascii_uppercase() {
            upper += 1;
        } else if c.is_ascii_lowercase() {
            lower += 1;
        } else if c.is_ascii_digit() {
            digit = true;
        } else if !matches!(c, b'-' | b'\'') {
            other = true;
        }
    }
    ascii_shape(b, upper, lower, digit, other)
}

/// The shape of an ASCII token from its letter and digit counts.
fn ascii_shape(b: &[u8], upper: usize, lower: usize, digit: bool, other: bool) -> u8 {
    let first_upper = b[0].is_ascii_uppercase();
    // "d'Amours", "l'Heureux"
    let elided = b.len() >= 3 && matches!(b[0], b'd' | b'l') && b[1] == b'\'' && b[2].is_ascii_uppercase();
    let cap = !digit && (first_upper && lower > 0 || elided);
    let allcaps = !digit && !other && lower == 0 && upper >= 2;
    let low = !digit && !other && upper == 0 && lower >= 2;
    u8::from(cap) * SHAPE_CAP + u8::from(allcaps) * SHAPE_ALLCAPS + u8::from(low) * SHAPE_LOWER
}

fn is_cap(w: &str) -> bool {
    let mut cs = w.chars();
    let Some(first) = cs.next() else { return false };
    if w.chars().any(char::is_numeric) {
        return false;
    }
    if first.is_uppercase() {
        return w.chars().any(char::is_lowercase);
    }
    // "d'Amours", "l'Heureux": an elided particle before a capital.
    let mut rest = w.chars();
    matches!((rest.next(), rest.next(), rest.next()), (Some('d' | 'l'), Some('\'' | '\u{2019}'), Some(c)) if c.is_uppercase())
}

fn is_allcaps(w: &str) -> bool {
    let mut letters = 0;
    for c in w.chars() {
        if c.is_alphabetic() {
            if !c.is_uppercase() {
                return false;
            }
            letters += 1;
        } else if !matches!(c, '-' | '\'' | '\u{2019}') {
            return false;
        }
    }
    letters >= 2
}

fn is_lowerword(w: &str) -> bool {
    let mut letters = 0;
    for c in w.chars() {
        if c.is_alphabetic() {
            if !c.is_lowercase() {
                return false;
            }
            letters += 1;
        } else if !matches!(c, '-' | '\'' | '\u{2019}') {
            return false;
        }
    }
    letters >= 2
}

/// How a cue word lets a name follow it.
#[derive(Clone, Copy, Debug, Default)]
struct Cue {
    /// The name may be on the next line (`Thanks,\nKaren`).
    newline: bool,
    /// A lower-case name is taken when a part of it is listed.
    lower: bool,
    /// The cue needs a colon before the name (`From:`, `De :`).
    colon: bool,
}

const HONORIFICS: &[&str] = &[
    "m",
    "me",
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "dre",
    "mme",
    "mmes",
    "mlle",
    "mlles",
    "monsieur",
    "madame",
    "mademoiselle",
    "mister",
    "messrs",
];
const ROLES: &[&str] = &[
    "client",
    "cliente",
    "clients",
    "customer",
    "cust",
    "buyer",
    "co-buyer",
    "cobuyer",
    "acheteur",
    "acheteuse",
    "co-acheteur",
    "co-acheteuse",
    "purchaser",
    "co-purchaser",
    "applicant",
    "co-applicant",
    "demandeur",
    "demanderesse",
    "co-demandeur",
    "co-demanderesse",
    "owner",
    "co-owner",
    "propriétaire",
    "copropriétaire",
    "lessee",
    "locataire",
    "cosigner",
    "co-signer",
    "cosignataire",
    "endosseur",
    "endosseuse",
    "garant",
    "guarantor",
    "spouse",
    "conjoint",
    "conjointe",
    "wife",
    "husband",
    "épouse",
    "époux",
    "mari",
    "partner",
    "son",
    "daughter",
    "fils",
    "fille",
    "father",
    "mother",
    "père",
    "mère",
    "dad",
    "mom",
    "brother",
    "sister",
    "frère",
    "soeur",
    "sœur",
    "friend",
    "ami",
    "amie",
    "driver",
    "conducteur",
    "conductrice",
    "contact",
    "contacter",
    "contacted",
    "contacté",
    "contactée",
    "beneficiary",
    "bénéficiaire",
    "insured",
    "assuré",
    "assurée",
    "borrower",
    "emprunteur",
    "emprunteuse",
    "registrant",
    "titulaire",
    "called",
    "calling",
    "appelé",
    "appelée",
    "appeler",
    "rappelé",
    "rappelée",
    "rappeler",
    "spoke",
    "parlé",
    "parle",
    "talked",
    "texted",
    "emailed",
    "joint",
    "rejoint",
    "joindre",
    "rejoindre",
    "demander",
    "ask",
    "asked",
    "attn",
    "attention",
    "dear",
    "cher",
    "chère",
    "registered",
    "immatriculé",
    "immatriculée",
    "ownership",
];
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "bonjour",
    "bonsoir",
    "salut",
    "allo",
    "allô",
    "thanks",
    "thank",
    "merci",
    "regards",
    "cordialement",
    "cheers",
    "sincerely",
    "salutations",
    "best",
    "beaucoup",
    "journée",
    "amitiés",
    "respectueusement",
];
const FORM_LABELS: &[&str] = &["name", "names", "nom", "noms", "prénom", "prenom", "surname", "firstname", "lastname"];
const BY_WORDS: &[&str] = &["by", "par", "pour", "char"];
const HEADERS: &[&str] = &["from", "de"];
const PREPS: &[&str] = &[
    "with", "w", "to", "à", "a", "au", "aux", "avec", "of", "de", "du", "d", "des", "by", "par", "the", "le", "la", "l", "les", "mon",
    "ma", "mes", "my", "our", "notre", "nos", "son", "sa", "ses", "his", "her", "their", "leur", "in", "your", "votre", "for",
];
/// Month and day abbreviations: not names when a number follows (`Jun 25/23`, `JUL 7/25`).
const DATE_WORDS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "janv", "févr", "fevr", "avr", "mai",
    "juin", "juil", "août", "aout", "déc", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "lun", "mer", "jeu", "ven", "sam", "dim",
];
const PARTICLES: &[&str] = &[
    "de", "du", "des", "la", "le", "van", "von", "der", "den", "di", "da", "del", "della", "dos", "das", "do", "ter", "st", "ste", "bin",
    "ben", "al", "el", "y",
];
/// Words that are never names, in any case (labels of other PII and identifiers: issue 24).
const NOT_NAMES: &[&str] = &[
    "sin",
    "nas",
    "dob",
    "ddn",
    "vin",
    "niv",
    "ro",
    "po",
    "bt",
    "tel",
    "tél",
    "cell",
    "cel",
    "phone",
    "fax",
    "email",
    "e-mail",
    "courriel",
    "address",
    "adresse",
    "plate",
    "plaque",
    "licence",
    "license",
    "permis",
    "dl",
    "bn",
    "id",
    "stock",
    "stk",
    "deal",
    "ph",
    "mobile",
    "home",
    "work",
    "res",
    "rés",
    "bur",
    "ext",
    "poste",
    "no",
    "number",
    "numéro",
    "date",
    "born",
    "née",
    "né",
    "nom",
    "name",
    "prénom",
    "contact",
    "client",
    "cliente",
    "customer",
    "cust",
    "buyer",
    "acheteur",
    "owner",
    "spouse",
    "conjoint",
    "conjointe",
    "purchaser",
    "applicant",
    "co-applicant",
    "co-buyer",
    "co-acheteur",
    "mr",
    "mrs",
    "ms",
    "mme",
    "mlle",
    "dr",
    "monsieur",
    "madame",
    "lvm",
    "ok",
    "n/a",
    "text",
    "texto",
    "sms",
    "call",
    "appel",
    "téléphone",
    "telephone",
    "vehicle",
    "véhicule",
    "truck",
    "car",
    "auto",
    "preferred",
    "any",
    "tbd",
    "asap",
    "rdv",
    "appt",
    "tag",
    "km",
    "odo",
    "cad",
    "usd",
    "hst",
    "gst",
    "tps",
    "tvq",
    "qst",
    "pst",
    "et",
    "and",
    "or",
    "ou",
    "sent",
    "envoyé",
    "get",
    "obtenir",
    "re",
    "fw",
    "fwd",
    "tr",
    "objet",
    "subject",
    "to",
    "cc",
    "from",
];
/// Lower-case words never taken as part of a lower-case name.
const COMMON_LOWER: &[&str] = &[
    "the",
    "and",
    "or",
    "to",
    "of",
    "in",
    "on",
    "at",
    "for",
    "with",
    "by",
    "from",
    "is",
    "was",
    "are",
    "were",
    "be",
    "been",
    "has",
    "had",
    "have",
    "will",
    "would",
    "can",
    "could",
    "should",
    "wants",
    "want",
    "called",
    "approved",
    "declined",
    "said",
    "says",
    "picked",
    "picking",
    "dropped",
    "drop",
    "came",
    "come",
    "left",
    "who",
    "that",
    "this",
    "it",
    "he",
    "she",
    "they",
    "we",
    "you",
    "his",
    "her",
    "their",
    "not",
    "no",
    "yes",
    "also",
    "just",
    "still",
    "now",
    "today",
    "le",
    "la",
    "les",
    "un",
    "une",
    "des",
    "du",
    "de",
    "et",
    "ou",
    "à",
    "au",
    "aux",
    "en",
    "est",
    "sont",
    "a",
    "ont",
    "va",
    "viendra",
    "veut",
    "doit",
    "peut",
    "il",
    "elle",
    "ils",
    "elles",
    "on",
    "nous",
    "vous",
    "son",
    "sa",
    "ses",
    "leur",
    "ce",
    "cette",
    "qui",
    "que",
    "pas",
    "plus",
    "aussi",
    "encore",
    "approuvé",
    "appelé",
    "passé",
    "laissé",
    "answered",
    "asked",
    "says",
    "states",
    "wants",
    "need",
    "needs",
    "ok",
    "ph",
    "tel",
    "cell",
    "here",
    "there",
    "will",
    "my",
    "me",
    "our",
    "all",
    "any",
    "new",
    "old",
    "vehicle",
    "car",
    "truck",
    "keys",
    "key",
    "picks",
    "pick",
    "up",
    "drops",
    "off",
    "back",
    "re",
    "about",
    "when",
    "if",
    "then",
    "an",
    "as",
    "so",
    "very",
    "much",
    "more",
    "out",
    "done",
    "is",
];
/// Makes and models that are also names (`Ford`, `Lincoln`): never a name, even after a cue.
const MAKES: &[&str] = &[
    "ford",
    "dodge",
    "lincoln",
    "mercedes",
    "jeep",
    "ram",
    "chevy",
    "chevrolet",
    "buick",
    "cadillac",
    "acura",
    "genesis",
    "tesla",
    "mazda",
    "honda",
    "toyota",
    "nissan",
    "hyundai",
    "kia",
    "subaru",
    "volvo",
    "porsche",
    "jaguar",
    "mini",
    "fiat",
    "chrysler",
    "lexus",
    "infiniti",
    "mitsubishi",
    "audi",
    "bmw",
    "gmc",
    "sierra",
    "escape",
    "explorer",
    "ranger",
    "bronco",
    "edge",
    "mustang",
    "civic",
    "accord",
    "pilot",
    "odyssey",
    "camry",
    "corolla",
    "sienna",
    "tacoma",
    "tundra",
    "rogue",
    "altima",
    "tucson",
    "santa",
    "elantra",
    "sorento",
    "soul",
    "forte",
    "outback",
    "forester",
    "golf",
    "jetta",
    "wrangler",
    "cherokee",
    "compass",
    "pacifica",
    "caravan",
    "journey",
    "charger",
    "challenger",
    "durango",
    "silverado",
    "equinox",
    "malibu",
    "traverse",
    "tahoe",
    "suburban",
    "yukon",
    "acadia",
    "terrain",
    "canyon",
    "colorado",
    "blazer",
    "trax",
    "denali",
    "laramie",
    "limited",
    "touring",
    "sport",
];
const VEHICLE_WORDS: &[&str] = &["truck", "car", "vehicle", "van", "suv", "jeep", "minivan", "camion", "auto", "char", "voiture", "pickup"];

/// Bits saying which of the word lists above a lowered word is in: one hash lookup per token
/// instead of a scan of every list.
mod bits {
    pub const HONORIFICS: u32 = 1;
    pub const ROLES: u32 = 1 << 1;
    pub const GREETINGS: u32 = 1 << 2;
    pub const FORM_LABELS: u32 = 1 << 3;
    pub const BY_WORDS: u32 = 1 << 4;
    pub const HEADERS: u32 = 1 << 5;
    pub const PREPS: u32 = 1 << 6;
    pub const DATE_WORDS: u32 = 1 << 7;
    pub const PARTICLES: u32 = 1 << 8;
    pub const NOT_NAMES: u32 = 1 << 9;
    pub const COMMON_LOWER: u32 = 1 << 10;
    pub const MAKES: u32 = 1 << 11;
    pub const VEHICLE_WORDS: u32 = 1 << 12;
    pub const NOT_CIVIC_AFTER: u32 = 1 << 13;
    pub const FR_STREET: u32 = 1 << 14;
    pub const EN_STREET: u32 = 1 << 15;
    pub const NUMBERED_ROADS: u32 = 1 << 16;
    pub const FR_NAME_WORDS: u32 = 1 << 17;
    pub const DIRECTIONS: u32 = 1 << 18;
    pub const UNITS: u32 = 1 << 19;
}

fn word_table() -> &'static FastMap<&'static str, u32> {
    static T: OnceLock<FastMap<&'static str, u32>> = OnceLock::new();
    T.get_or_init(|| {
        let lists: [(&[&str], u32); 20] = [
            (HONORIFICS, bits::HONORIFICS),
            (ROLES, bits::ROLES),
            (GREETINGS, bits::GREETINGS),
            (FORM_LABELS, bits::FORM_LABELS),
            (BY_WORDS, bits::BY_WORDS),
            (HEADERS, bits::HEADERS),
            (PREPS, bits::PREPS),
            (DATE_WORDS, bits::DATE_WORDS),
            (PARTICLES, bits::PARTICLES),
            (NOT_NAMES, bits::NOT_NAMES),
            (COMMON_LOWER, bits::COMMON_LOWER),
            (MAKES, bits::MAKES),
            (VEHICLE_WORDS, bits::VEHICLE_WORDS),
            (NOT_CIVIC_AFTER, bits::NOT_CIVIC_AFTER),
            (FR_STREET, bits::FR_STREET),
            (EN_STREET, bits::EN_STREET),
            (NUMBERED_ROADS, bits::NUMBERED_ROADS),
            (FR_NAME_WORDS, bits::FR_NAME_WORDS),
            (DIRECTIONS, bits::DIRECTIONS),
            (UNITS, bits::UNITS),
        ];
        let mut t = FastMap::default();
        for (list, bit) in lists {
            for w in list {
                *t.entry(*w).or_insert(0) |= bit;
            }
        }
        t
    })
}

/// For each first byte, the lengths (bit `len`, up to 31) of the listed words that start
/// with it: most words skip the hash lookup.
fn first_len_mask() -> &'static [u32; 256] {
    static M: OnceLock<[u32; 256]> = OnceLock::new();
    M.get_or_init(|| {
        let mut m = [0u32; 256];
        for w in word_table().keys() {
            if let Some(&f) = w.as_bytes().first()
                && w.len() < 32
            {
                m[usize::from(f)] |= 1 << w.len();
            }
        }
        m
    })
}

/// Whether a lowered word could be a cue, by its first byte and length (no hashing).
fn could_be_cue(w: &str) -> bool {
    static M: OnceLock<[u32; 256]> = OnceLock::new();
    let m = M.get_or_init(|| {
        let mut m = [0u32; 256];
        let cue = bits::HONORIFICS | bits::ROLES | bits::GREETINGS | bits::FORM_LABELS | bits::BY_WORDS | bits::HEADERS;
        for (w, &b) in word_table() {
            if b & cue != 0 && w.len() < 32 {
                m[usize::from(w.as_bytes()[0])] |= 1 << w.len();
            }
        }
        m
    });
    w.len() < 32 && w.as_bytes().first().is_some_and(|&f| m[usize::from(f)] & (1 << w.len()) != 0)
}

/// The list bits of a lowered word.
fn word_bits(w: &str) -> u32 {
    let Some(&f) = w.as_bytes().first() else { return 0 };
    if w.len() >= 32 || first_len_mask()[usize::from(f)] & (1 << w.len()) == 0 {
        return 0;
    }
    word_table().get(w).copied().unwrap_or(0)
}

fn in_words(w: &str, bit: u32) -> bool {
    word_bits(w) & bit != 0
}

/// The cue a word with these list bits is, if any.
fn cue_of_bits(f: u32) -> Option<Cue> {
    if f & (bits::HONORIFICS | bits::ROLES) != 0 {
        Some(Cue { lower: true, ..Cue::default() })
    } else if f & bits::GREETINGS != 0 {
        Some(Cue { newline: true, ..Cue::default() })
    } else if f & bits::FORM_LABELS != 0 {
        Some(Cue { lower: true, ..Cue::default() })
    } else if f & bits::BY_WORDS != 0 {
        Some(Cue::default())
    } else if f & bits::HEADERS != 0 {
        Some(Cue { colon: true, lower: true, ..Cue::default() })
    } else {
        None
    }
}

struct Cx<'a> {
    t: &'a str,
    low: String,
    toks: Vec<Tok>,
    g: &'static Gazetteer,
    /// The list bits of each token (lowered), computed on first use (`u32::MAX`: not yet).
    bits: Vec<Cell<u32>>,
    /// Memo of `name_tok`, `name_tok_strong`, `listed` and `anchor` per token: 0 unknown, 1 no,
    /// 2 yes.
    memo: Vec<[Cell<u8>; 4]>,
    /// Shape bits of each token: [`SHAPE_CAP`], [`SHAPE_ALLCAPS`], [`SHAPE_LOWER`].
    shape: Vec<u8>,
    /// Whether the text holds a `[` (else no token is a redaction marker).
    brackets: bool,
}

const SHAPE_CAP: u8 = 1;
const SHAPE_ALLCAPS: u8 = 2;
const SHAPE_LOWER: u8 = 4;

impl<'a> Cx<'a> {
    fn new(t: &'a str) -> Self {
        let low = super::normal::lower_keep_len(t);
        let (toks, shape) = tokens(t);
        let bits = toks.iter().map(|_| Cell::new(u32::MAX)).collect();
        let memo = toks.iter().map(|_| Default::default()).collect();
        let brackets = t.as_bytes().contains(&b'[');
        Self { t, low, toks, g: Gazetteer::get(), bits, memo, shape, brackets }
    }

    fn cap(&self, k: usize) -> bool {
        self.shape[k] & SHAPE_CAP != 0
    }

    fn caps(&self, k: usize) -> bool {
        self.shape[k] & SHAPE_ALLCAPS != 0
    }

    fn lower(&self, k: usize) -> bool {
        self.shape[k] & SHAPE_LOWER != 0
    }

    fn bits_of(&self, k: usize) -> u32 {
        let c = &self.bits[k];
        if c.get() == u32::MAX {
            c.set(word_bits(self.lw(k)));
        }
        c.get()
    }

    fn has(&self, k: usize, bit: u32) -> bool {
        self.bits_of(k) & bit != 0
    }

    /// The cue token `k` is, if any (`l'acheteur` is the cue `acheteur`).
    fn cue(&self, k: usize) -> Option<Cue> {
        let lw = self.lw(k);
        if let Some(rest) = lw.strip_prefix("l'").or_else(|| lw.strip_prefix("l\u{2019}")) {
            return cue_of_bits(word_bits(rest));
        }
        if !could_be_cue(lw) {
            return None;
        }
        cue_of_bits(self.bits_of(k))
    }

    fn memo(&self, k: usize, which: usize, f: impl FnOnce() -> bool) -> bool {
        let c = &self.memo[k][which];
        match c.get() {
            1 => false,
            2 => true,
            _ => {
                let v = f();
                c.set(if v { 2 } else { 1 });
                v
            }
        }
    }

    fn n(&self) -> usize {
        self.toks.len()
    }

    fn w(&self, k: usize) -> &'a str {
        &self.t[self.toks[k].s..self.toks[k].e]
    }

    fn lw(&self, k: usize) -> &str {
        &self.low[self.toks[k].s..self.toks[k].e]
    }

    /// The text between token `k - 1` and token `k` (before the first token for `k == 0`).
    fn gap(&self, k: usize) -> &'a str {
        if k == 0 { &self.t[..self.toks[0].s] } else { &self.t[self.toks[k - 1].e..self.toks[k].s] }
    }

    /// The text after token `k`, up to the next token.
    fn after(&self, k: usize) -> &'a str {
        if k + 1 < self.n() { self.gap(k + 1) } else { &self.t[self.toks[k].e..] }
    }

    /// The length of a possessive `'s` right after token `k` (0 when there is none).
    fn poss_len(&self, k: usize) -> usize {
        let a = &self.t[self.toks[k].e..];
        ["'s", "'S", "\u{2019}s", "\u{2019}S"].iter().find(|p| a.starts_with(**p)).map_or(0, |p| p.len())
    }

    /// The gap before token `j` is one space, after a possessive `'s` or not (`St Mary's Rd`).
    fn plain_gap(&self, j: usize) -> bool {
        let g = self.gap(j);
        let g = g.strip_prefix(&self.t[self.toks[j - 1].e..self.toks[j - 1].e + self.poss_len(j - 1)]).unwrap_or(g);
        g == " " || g == "\u{a0}"
    }

    fn span(&self, a: usize, b: usize, kind: PiiType) -> Span {
        Span { byte_start: self.toks[a].s, byte_end: self.toks[b].e, kind }
    }

    // -----------------------------------------------------------------------------------
    // Name predicates.

    fn listed_word(&self, w: &str) -> bool {
        let g = self.g;
        g.is_given(w)
            || g.is_surname(w)
            || w.contains('-') && w.split('-').any(|p| p.chars().count() >= 2 && (g.is_given(p) || g.is_surname(p)))
    }

    /// Token `k` is a listed name (memoised [`Self::listed_word`]).
    fn listed(&self, k: usize) -> bool {
        self.memo(k, 2, || self.listed_word(self.w(k)))
    }

    /// Listed, and not only as an ambiguous word.
    fn anchor_word(&self, w: &str) -> bool {
        let g = self.g;
        let one = |p: &str| (g.is_given(p) || g.is_surname(p)) && !g.is_ambiguous(p);
        one(w) || w.contains('-') && (w.split('-').any(one) || w.split('-').filter(|p| g.is_given(p) || g.is_surname(p)).count() >= 2)
    }

    /// A month or day abbreviation before a number (`Jun 25/23`).
    fn date_word(&self, k: usize) -> bool {
        self.has(k, bits::DATE_WORDS) && self.t[self.toks[k].e..].trim_start_matches([' ', '.']).starts_with(|c: char| c.is_ascii_digit())
    }

    /// A hyphenated word whose parts are not all capitalised (`Pare-brise`) is not a name;
    /// French particles inside are (`Jean-de-Dieu`).
    fn odd_hyphens(w: &str) -> bool {
        w.contains('-')
            && w.split('-').any(|p| {
                p.chars().count() >= 3
                    && p.chars().next().is_some_and(char::is_lowercase)
                    && !matches!(p, "sur" | "des" | "les" | "lès" | "aux" | "dit")
            })
    }

    /// A word of a redaction marker (`[NAME]`, `[POSTAL_CODE]`): neither a cue nor a name.
    fn marker(&self, k: usize) -> bool {
        self.brackets && super::rules::in_marker(self.t.as_bytes(), self.toks[k].s, self.toks[k].e)
    }

    fn not_name(&self, k: usize) -> bool {
        let lw = self.lw(k);
        self.marker(k)
            || self.date_word(k)
            || in_words(lw, bits::NOT_NAMES)
            || self.g.is_stop(self.w(k))
            || self.cue(k).is_some() && !self.listed(k)
            || Self::odd_hyphens(self.w(k)) && !self.whole_listed(self.w(k))
    }

    /// The whole token is listed (`Ji-woo`, `Seo-yeon`: romanised names with a lower-case part).
    fn whole_listed(&self, w: &str) -> bool {
        self.g.is_given(w) || self.g.is_surname(w)
    }

    /// A name token, or a listed name that is also a stop word (`Hamilton`, a city), where
    /// the context already says a name follows (after a cue, in a comma form).
    fn name_tok_strong(&self, k: usize) -> bool {
        self.memo(k, 1, || self.name_tok_strong_uncached(k))
    }

    fn name_tok_strong_uncached(&self, k: usize) -> bool {
        if self.name_tok(k) {
            return true;
        }
        let w = self.w(k);
        (self.cap(k) || self.caps(k))
            && self.listed(k)
            && !self.has(k, bits::NOT_NAMES)
            && !self.has(k, bits::MAKES)
            && self.cue(k).is_none()
            && !self.date_word(k)
            && (!Self::odd_hyphens(w) || self.whole_listed(w))
    }

    fn name_tok(&self, k: usize) -> bool {
        self.memo(k, 0, || self.name_tok_uncached(k))
    }

    fn name_tok_uncached(&self, k: usize) -> bool {
        if self.cap(k) {
            // "L'acheteur": an elided article before a lower-case word is not a name.
            return !self.not_name(k);
        }
        if self.caps(k) {
            let w = self.w(k);
            let letters = w.chars().filter(|c| c.is_alphabetic()).count();
            return !self.not_name(k) && (letters >= 3 || self.listed(k));
        }
        false
    }

    fn particle(&self, k: usize) -> bool {
        self.has(k, bits::PARTICLES)
    }

    /// A single capital followed by a full stop (`K.`, the `J` and `F` of `J.-F.`).
    fn initial(&self, k: usize) -> bool {
        let w = self.w(k);
        let mut cs = w.chars();
        matches!((cs.next(), cs.next()), (Some(c), None) if c.is_uppercase()) && self.after(k).starts_with('.')
    }

    /// Whether token `j` continues a name run from token `j - 1`.
    fn link(&self, j: usize) -> bool {
        let g = self.gap(j);
        if self.initial(j - 1) { matches!(g, ". " | "." | ".-" | ". -" | ".\u{a0}") } else { g == " " || g == "\u{a0}" }
    }

    /// The last name token of a run starting at `k`, if the run holds one. `strict_caps`
    /// limits all-caps runs to two unlisted tokens.
    fn run_fwd(&self, k: usize, max: usize) -> Option<usize> {
        self.run_fwd_with(k, max, false)
    }

    fn run_fwd_with(&self, k: usize, max: usize, strong: bool) -> Option<usize> {
        let n = self.n();
        let name = |j: usize| if strong { self.name_tok_strong(j) } else { self.name_tok(j) };
        let mut j = k;
        let mut last = None;
        let mut names = 0;
        let mut unlisted_caps = 0;
        while j < n && names < max {
            if j > k && !self.link(j) {
                break;
            }
            if self.initial(j) {
                j += 1;
                continue;
            }
            if name(j) {
                let w = self.w(j);
                if is_allcaps(w) && !self.listed_word(w) {
                    unlisted_caps += 1;
                    if unlisted_caps > 2 {
                        break;
                    }
                }
                last = Some(j);
                names += 1;
                j += 1;
                continue;
            }
            if self.particle(j) && j + 1 < n && self.link(j + 1) && (name(j + 1) || self.particle(j + 1)) {
                j += 1;
                continue;
            }
            break;
        }
        last
    }

    /// The first token of a run ending at `k`, going back over name tokens, initials and
    /// capitalised particles.
    fn run_back(&self, k: usize, max: usize) -> usize {
        let mut f = k;
        let mut steps = 0;
        while f > 0 && steps < max && self.link(f) {
            let p = f - 1;
            let w = self.w(p);
            let cap_particle = self.particle(p) && w.chars().next().is_some_and(char::is_uppercase);
            if self.name_tok(p) || self.initial(p) || cap_particle {
                f = p;
                steps += 1;
            } else {
                break;
            }
        }
        f
    }

    fn has_initial(&self, a: usize, b: usize) -> bool {
        (a..=b).any(|k| self.initial(k))
    }

    /// A lower-case name from `k` (after a cue): one to three lower-case words, one of them
    /// listed (two unlisted-free words need one listed non-ambiguously or two listed at all).
    fn lower_run(&self, k: usize) -> Option<usize> {
        let g = self.g;
        let mut j = k;
        let mut last = None;
        let mut anchored = false;
        let mut listed = 0;
        while j < self.n() && j < k + 3 {
            if j > k && self.gap(j) != " " {
                break;
            }
            let w = self.w(j);
            let lw = self.lw(j);
            if !is_lowerword(w) || in_words(lw, bits::COMMON_LOWER) || in_words(lw, bits::NOT_NAMES) {
                break;
            }
            let parts_listed = lw.split('-').any(|p| g.is_listed_lower(p));
            if parts_listed {
                listed += 1;
                anchored |= lw.split('-').any(|p| g.is_listed_lower(p) && !g.is_ambiguous_lower(p));
            }
            last = Some(j);
            j += 1;
        }
        let e = last?;
        let count = e - k + 1;
        (anchored && (count >= 2 || g.is_given_lower(self.lw(k))) || count >= 2 && listed >= 2).then_some(e)
    }

    /// `SURNAME,GIVEN` / `Surname, Given` with the comma after token `k`: the span's first and
    /// last tokens, and whether it is the no-space all-caps form.
    fn comma_form(&self, k: usize) -> Option<(usize, usize, bool)> {
        let n = self.n();
        if k + 1 >= n {
            return None;
        }
        let gp = self.gap(k + 1);
        let tight = gp == ",";
        if !(tight || gp == ", ") || !self.name_tok_strong(k) {
            return None;
        }
        let caps = self.caps(k);
        if tight && !caps {
            return None;
        }
        let same_case = |j: usize| {
            if caps { self.caps(j) || self.w(j).chars().count() == 2 && self.w(j).chars().all(char::is_uppercase) } else { self.cap(j) }
        };
        let given_tok = |j: usize| {
            self.name_tok_strong(j)
                || caps && self.w(j).chars().count() == 2 && self.w(j).chars().all(char::is_uppercase) && !self.has(j, bits::NOT_NAMES)
        };
        if !given_tok(k + 1) || !same_case(k + 1) {
            return None;
        }
        // Surname part: back over particles ("DE LA CHEVROTIÈRE", "DI STEFANO", "de Souza").
        let mut f = k;
        while f > 0 && k - f < 3 && self.gap(f) == " " {
            let p = f - 1;
            let pw = self.w(p);
            let part = self.particle(p) && (caps == is_allcaps(pw) || !caps);
            if part {
                f = p;
            } else {
                break;
            }
        }
        // Given part: up to three same-case name tokens ("LI NA"), then a bare middle initial.
        let mut e = k + 1;
        while e + 1 < n && e - k < 3 && self.gap(e + 1) == " " && given_tok(e + 1) && same_case(e + 1) {
            e += 1;
        }
        if e + 1 < n && self.gap(e + 1) == " " {
            let w = self.w(e + 1);
            let mut cs = w.chars();
            let single = matches!((cs.next(), cs.next()), (Some(c), None) if c.is_uppercase());
            let next_ok = self.after(e + 1).chars().next().is_none_or(|c| !c.is_alphanumeric());
            if single && next_ok && (e + 2 >= n || !self.name_tok(e + 2) || self.gap(e + 2) != " ") {
                e += 1;
            }
        }
        Some((f, e, tight && caps))
    }

    /// Whether token `k` starts a line (after bullets and indentation).
    fn line_start(&self, k: usize) -> bool {
        let gp = self.gap(k);
        let before = &self.t[..self.toks[k].s];
        let tail = gp.trim_start_matches(|c: char| c != '\n');
        let at_line = if gp.contains('\n') {
            tail
        } else if before.len() == gp.len() {
            gp
        } else {
            return false;
        };
        at_line.chars().all(|c| c.is_whitespace() || matches!(c, '•' | '*' | '-' | '>' | '·' | '–'))
    }

    /// What follows token `e` marks the run before it as a table cell or header name.
    fn field_after(&self, e: usize) -> bool {
        let a = &self.t[self.toks[e].e..];
        let (sep, rest) = if let Some(r) = a.strip_prefix('\t') {
            (true, r)
        } else if let Some(r) = a.strip_prefix(" | ").or_else(|| a.strip_prefix("|")).or_else(|| a.strip_prefix(" / ")) {
            (true, r)
        } else if a.starts_with("   ") {
            (true, a.trim_start_matches(' '))
        } else if let Some(r) = a.strip_prefix(" <") {
            return r.contains('@') && r.find('@') < r.find('>');
        } else {
            (false, a)
        };
        sep && rest.trim_start_matches([' ', '\t']).starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '(')
    }

    /// A phone number right after the run, after one space (`Tomasz Ivanova 236.852.0753`).
    fn phone_after(&self, e: usize) -> bool {
        let a = &self.t[self.toks[e].e..];
        let Some(r) = a.strip_prefix(' ') else { return false };
        let r = r.strip_prefix("+1").map_or(r, str::trim_start);
        let r = r.strip_prefix('(').unwrap_or(r);
        let first = r.bytes().take_while(u8::is_ascii_digit).count();
        let digits = r
            .bytes()
            .take(16)
            .take_while(|c| c.is_ascii_digit() || matches!(c, b' ' | b'.' | b'-' | b'(' | b')' | b'\n'))
            .filter(u8::is_ascii_digit)
            .count();
        (first == 3 || first == 10) && digits >= 10
    }

    /// The run fills its line, and the line before is blank, a closing word or `--`.
    fn signature_line(&self, a: usize, e: usize) -> bool {
        let rest = &self.t[self.toks[e].e..];
        let line_end = rest.trim_start_matches([' ', '\t', '\r']);
        if !(line_end.is_empty() || line_end.starts_with('\n')) {
            return false;
        }
        let before = &self.t[..self.toks[a].s];
        let Some(nl) = before.rfind('\n') else { return false };
        if !before[nl + 1..].trim().is_empty() {
            return false;
        }
        let prev_line = before[..nl].trim_end_matches('\r');
        let prev_start = prev_line.rfind('\n').map_or(0, |p| p + 1);
        let prev = prev_line[prev_start..].trim();
        if prev.is_empty() || prev == "--" {
            return true;
        }
        let last_word = prev.trim_end_matches([',', '!', '.', ' ']).rsplit([' ', ',']).next().unwrap_or("");
        let lw = last_word.to_lowercase();
        in_words(&lw, bits::GREETINGS)
    }

    // -----------------------------------------------------------------------------------
    // Names.

    fn names(&self, out: &mut Vec<Span>) {
        let n = self.n();
        let mut taken = vec![false; n];
        let emit = |cx: &Self, a: usize, b: usize, out: &mut Vec<Span>, taken: &mut [bool]| {
            out.push(cx.span(a, b, PiiType::Name));
            for t in &mut taken[a..=b] {
                *t = true;
            }
        };
        // SURNAME,GIVEN forms first: they hold a comma that the other rules stop at.
        for k in 0..n {
            if let Some((a, b, tight)) = self.comma_form(k) {
                let listed = self.listed(k) || self.listed(k + 1);
                let cue = a > 0 && self.cue_before(a) && !(self.caps(k) && !tight && self.by_before(a));
                let layout = self.line_start(a) && (self.field_after(b) || self.signature_line(a, b));
                let header = self.t[self.toks[b].e..].starts_with(" <");
                if tight || listed || cue || layout || header {
                    emit(self, a, b, out, &mut taken);
                }
            }
        }
        let mut k = 0;
        while k < n {
            if taken[k] {
                k += 1;
                continue;
            }
            // Cue, then a name (or several joined by and/et/&).
            if !self.marker(k)
                && let Some(cue) = self.cue(k)
                && let Some(e) = self.after_cue(k, cue, &mut taken, out)
            {
                k = e + 1;
                continue;
            }
            if self.name_tok(k) || self.initial(k) || k + 1 < n && self.link(k + 1) && self.name_tok(k + 1) && self.particle(k) {
                if let Some(e) = self.run_fwd(k, 6) {
                    let a = if self.name_tok(k) { self.run_back(k, 3) } else { k };
                    let a = if (a..k).any(|j| taken[j]) { k } else { a };
                    let caps = (a..=e).filter(|&j| self.name_tok(j)).all(|j| self.caps(j));
                    let listed = (a..=e).any(|j| self.name_tok(j) && self.listed(j)) && !caps;
                    let anchored = (a..=e).any(|j| self.name_tok(j) && self.memo(j, 3, || self.anchor_word(self.w(j))));
                    let several = e > a && (a..=e).filter(|&j| self.name_tok(j)).count() >= 2;
                    let names_in = (a..=e).filter(|&j| self.name_tok(j)).count();
                    let initial = self.has_initial(a, e) && names_in >= 1 && (listed || names_in >= 2 || self.line_start(a));
                    let layout = self.line_start(a) && several && (self.field_after(e) || self.signature_line(a, e) || self.phone_after(e));
                    let header = self.t[self.toks[e].e..].starts_with(" <");
                    let possessive = self.after(e).starts_with(['\'', '\u{2019}']) && e + 1 < n && self.has(e + 1, bits::VEHICLE_WORDS);
                    if anchored || listed && several || initial || layout || header || possessive {
                        emit(self, a, e, out, &mut taken);
                        k = e + 1;
                        continue;
                    }
                }
            } else if self.lower(k)
                && let Some(e) = self.lower_pair(k).or_else(|| self.lower_layout(k))
            {
                emit(self, k, e, out, &mut taken);
                k = e + 1;
                continue;
            }
            k += 1;
        }
    }

    /// Whether the word right before token `a` is `by`, `par`, `pour` (weak cues).
    fn by_before(&self, a: usize) -> bool {
        a > 0 && self.has(a - 1, bits::BY_WORDS)
    }

    /// Whether a cue word (with prepositions) ends right before token `a`.
    fn cue_before(&self, a: usize) -> bool {
        let mut j = a;
        let mut steps = 0;
        while j > 0 && steps < 3 {
            let gp = self.gap(j);
            if gp.contains('\n') || gp.chars().count() > 4 || !gp.chars().all(|c| matches!(c, ' ' | ':' | ',' | '-' | '\t' | '.')) {
                return false;
            }
            let p = j - 1;
            if self.cue(p).is_some() && !self.marker(p) {
                return true;
            }
            if !self.has(p, bits::PREPS) {
                return false;
            }
            j = p;
            steps += 1;
        }
        false
    }

    /// After the cue at token `k`: skips prepositions and further cues, then takes a name.
    fn after_cue(&self, k: usize, cue: Cue, taken: &mut [bool], out: &mut Vec<Span>) -> Option<usize> {
        let n = self.n();
        // "M." and "Me." only as titles with their full stop.
        let w = self.w(k);
        if (w == "M" || w == "Me" || w == "Dre") && !self.after(k).starts_with('.') {
            return None;
        }
        if w.chars().count() == 1 && w != "M" {
            return None;
        }
        let mut cue = cue;
        let mut j = k + 1;
        let mut steps = 0;
        while j < n && steps < 3 {
            let gp = self.gap(j);
            if gp.contains('\n') || gp.chars().count() > 3 {
                break;
            }
            // A particle that starts the name ("Dr. Des Rosiers", "Nom : de Grandpré") is kept.
            let starts_name = self.particle(j)
                && j + 1 < n
                && self.link(j + 1)
                && (self.name_tok_strong(j + 1) || self.particle(j + 1))
                && (gp.contains(':') || self.w(j).chars().next().is_some_and(char::is_uppercase));
            if starts_name {
                break;
            }
            if let Some(c) = self.cue(j).filter(|_| !self.marker(j))
                && !self.name_tok_listed(j)
            {
                cue.newline |= c.newline;
                cue.lower |= c.lower;
                j += 1;
                steps += 1;
                continue;
            }
            if self.has(j, bits::PREPS) && !(self.lw(j) == "a" && self.w(j) == "A") {
                j += 1;
                steps += 1;
                continue;
            }
            break;
        }
        if j >= n {
            return None;
        }
        let gp = self.gap(j);
        let lines = gp.matches('\n').count();
        let title = self.has(k, bits::HONORIFICS);
        // A sentence ends at ". " unless the cue is a title ("Dr. Des Rosiers").
        let sentence_end = gp.contains(". ") && !(title && j == k + 1);
        let gap_ok = !sentence_end
            && gp.chars().count() <= 8
            && gp.chars().all(|c| matches!(c, ' ' | ':' | ',' | '.' | '-' | '\t' | '/' | '|' | '\n' | '\r' | '\u{a0}' | '–'))
            && (lines == 0 || cue.newline && lines == 1)
            && (!cue.colon || gp.contains(':'));
        if !gap_ok {
            return None;
        }
        let mut e = self.name_after_cue(j, cue, lines > 0)?;
        let first = j;
        // In all-caps text a cue says little: the name needs a listed part, an initial or a
        // colon after the cue ("CLIENT DIT HÉSITATION" is not a name).
        if !title && (self.caps(k) && is_allcaps(self.w(first).trim_end_matches('.')) || self.caps(k) && self.initial(first)) {
            let tight_comma = (first..=e).any(|x| x > first && self.gap(x) == ",");
            let evidence = (first..=e).any(|x| self.listed(x) || self.initial(x)) || gp.contains(':') || tight_comma;
            if !evidence {
                return None;
            }
        }
        out.push(self.span(first, e, PiiType::Name));
        for t in &mut taken[first..=e] {
            *t = true;
        }
        // "X and Y", "X et Y", "X & Y".
        while e + 2 < n {
            let joined = self.gap(e + 1) == " " && matches!(self.lw(e + 1), "and" | "et") && self.gap(e + 2) == " "
                || self.gap(e + 1) == " & " && e + 1 < n;
            let next = if self.gap(e + 1) == " & " { e + 1 } else { e + 2 };
            if !joined {
                break;
            }
            let Some(e2) = self.name_after_cue(next, Cue { lower: cue.lower, ..Cue::default() }, false) else { break };
            out.push(self.span(next, e2, PiiType::Name));
            for t in &mut taken[next..=e2] {
                *t = true;
            }
            e = e2;
        }
        Some(e)
    }

    fn name_tok_listed(&self, j: usize) -> bool {
        self.name_tok(j) && self.listed(j)
    }

    /// The name right after a cue, starting at token `j`.
    fn name_after_cue(&self, j: usize, cue: Cue, next_line: bool) -> Option<usize> {
        let n = self.n();
        // SURNAME,GIVEN / Surname, Given right after the cue.
        if let Some(k) = (j..(j + 3).min(n)).find(|&k| self.comma_form(k).is_some_and(|(a, _, _)| a == j)) {
            return self.comma_form(k).map(|(_, b, _)| b);
        }
        let starts = self.name_tok_strong(j) || self.initial(j) || self.particle(j) && j + 1 < n && self.link(j + 1);
        if starts && let Some(e) = self.run_fwd_with(j, 5, true) {
            // On the next line, the name must fill it (a signature).
            if next_line
                && !self.t[self.toks[e].e..].trim_start_matches([' ', '\t', '\r', ',']).starts_with('\n')
                && self.toks[e].e != self.t.len()
            {
                let rest = &self.t[self.toks[e].e..];
                if !rest.trim_start_matches([' ', '\t', '\r']).is_empty() {
                    return None;
                }
            }
            return Some(e);
        }
        if cue.lower && self.lower(j) {
            return self.lower_run(j);
        }
        None
    }

    /// Two or three lower-case words: a listed given name then listed surnames.
    fn lower_pair(&self, k: usize) -> Option<usize> {
        let g = self.g;
        if k + 1 >= self.n() || self.gap(k + 1) != " " || !self.lower(k + 1) {
            return None;
        }
        let (a, b) = (self.lw(k), self.lw(k + 1));
        // A listed given name first: one lookup rejects almost every pair of words.
        if !g.is_given_lower(a) || self.has(k, bits::COMMON_LOWER) || self.has(k + 1, bits::COMMON_LOWER) {
            return None;
        }
        let given = true;
        let sur = b.split('-').all(|p| g.is_surname_lower(p)) || g.is_surname_lower(b);
        let anchored = given && !g.is_ambiguous_lower(a) || sur && !g.is_ambiguous_lower(b);
        (given && sur && anchored).then_some(k + 1)
    }

    /// Two or three lower-case words starting a line of a pasted table (`piotr nowak   450-…`).
    fn lower_layout(&self, k: usize) -> Option<usize> {
        if !self.line_start(k) {
            return None;
        }
        let mut e = k;
        while e + 1 < self.n() && e < k + 2 && self.gap(e + 1) == " " && self.lower(e + 1) {
            e += 1;
        }
        let words_ok = (k..=e).all(|j| !self.has(j, bits::COMMON_LOWER) && !self.has(j, bits::NOT_NAMES));
        (e > k && words_ok && self.field_after(e)).then_some(e)
    }

    /// Postal codes: a token (`H2X`, `H2X1Y4`, `H2X-1Y4`) where one starts.
    fn postal_codes(&self, out: &mut Vec<Span>) {
        let mut after = 0;
        for tk in &self.toks {
            let w = &self.t.as_bytes()[tk.s..tk.e];
            if tk.s < after || !matches!(w.len(), 3 | 6 | 7) || !w[0].is_ascii_alphabetic() {
                continue;
            }
            if let Some(l) = postal_len(&self.t[tk.s..]) {
                out.push(Span { byte_start: tk.s, byte_end: tk.s + l, kind: PiiType::PostalCode });
                after = tk.s + l;
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Addresses.

    fn addresses(&self, out: &mut Vec<Span>) {
        let n = self.n();
        let mut k = 0;
        while k < n {
            let Some((start, core_end)) = self.street_at(k) else {
                k += 1;
                continue;
            };
            let end = self.unit_suffix(core_end);
            let (end_byte, postal) = self.tail(end, k);
            // A street with no street type needs a city after it.
            if end_byte == usize::MAX {
                k += 1;
                continue;
            }
            out.push(Span { byte_start: start, byte_end: end_byte, kind: PiiType::Address });
            if let Some((ps, pe)) = postal {
                out.push(Span { byte_start: ps, byte_end: pe, kind: PiiType::PostalCode });
            }
            // Continue after the address.
            let stop = postal.map_or(end_byte, |p| p.1);
            while k < n && self.toks[k].s < stop {
                k += 1;
            }
        }
    }

    fn civic(&self, k: usize) -> bool {
        let b = self.w(k).as_bytes();
        let d = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if d == 0 || d > 6 {
            return false;
        }
        let mut rest = &b[d..];
        if rest.first().is_some_and(u8::is_ascii_alphabetic) {
            rest = &rest[1..];
        }
        if rest.is_empty() {
            return true;
        }
        // Unit-civic: "613-84", "4B-1866".
        if rest[0] != b'-' {
            return false;
        }
        let r = &rest[1..];
        let d2 = r.iter().take_while(|c| c.is_ascii_digit()).count();
        (1..=6).contains(&d2) && (r.len() == d2 || r.len() == d2 + 1 && r[d2].is_ascii_alphabetic())
    }

    /// A street at token `k`: its first byte (unit prefix included) and last token.
    fn street_at(&self, k: usize) -> Option<(usize, usize)> {
        let n = self.n();
        // Rural routes and post-office boxes.
        if let Some(e) = self.box_at(k) {
            // "R.R. 1, 21224 ½ Concession Rd 4": a rural route before a civic address.
            if e + 1 < n
                && matches!(self.gap(e + 1), ", " | " ")
                && self.civic(e + 1)
                && let Some((_, e2)) = self.civic_street(e + 1)
            {
                return Some((self.toks[k].s, e2));
            }
            return Some((self.toks[k].s, e));
        }
        if !self.civic(k) {
            return None;
        }
        // Not inside a number ("$1 234", "12,345", "3.5").
        if let Some(p) = self.t[..self.toks[k].s].chars().next_back()
            && (p.is_alphanumeric() || matches!(p, '$' | '.' | ',' | '/' | ':' | '-') && !(p == '-' && self.gap(k).len() > 1))
            && p != '#'
        {
            return None;
        }
        // "TAG 32B, ...", "RO 845221 ...": a number after an operational label is not a civic number.
        if k > 0 && self.gap(k).trim().is_empty() && self.has(k - 1, bits::NOT_CIVIC_AFTER) {
            return None;
        }
        let (_, e) = self.civic_street(k)?;
        Some((self.unit_prefix(k), e))
    }

    /// The first byte of a unit prefix before the civic number at `k` (`Apt 4B, `, `#4 - `).
    fn unit_prefix(&self, k: usize) -> usize {
        let s = self.toks[k].s;
        if k == 0 {
            return s;
        }
        let gp = self.gap(k);
        // "#304 - 145 ...", "#4-83 ..."
        if matches!(gp, " - " | "-" | " – " | " -") && k >= 1 {
            let p = k - 1;
            let pg = self.gap(p);
            if pg.ends_with('#') && self.w(p).len() <= 6 && self.w(p).bytes().any(|c| c.is_ascii_digit()) {
                return self.toks[p].s - 1;
            }
        }
        if gp.ends_with('#') {
            return s - 1;
        }
        // "Apt 1A, ", "app. 2, ", "Unit 5 - ", "Suite 200, "
        if matches!(gp, ", " | " " | " - " | ",") && k >= 2 {
            let id = k - 1;
            let unit = k - 2;
            let ig = self.gap(id);
            if self.has(unit, bits::UNITS)
                && matches!(ig, " " | ". " | " #" | ". #" | "#" | " no " | " no. ")
                && self.w(id).len() <= 6
                && self.w(id).bytes().any(|c| c.is_ascii_digit())
            {
                return self.toks[unit].s;
            }
        }
        s
    }

    /// A civic number and the street after it: the civic token and the street's last token.
    fn civic_street(&self, k: usize) -> Option<(usize, usize)> {
        let n = self.n();
        let mut c = k;
        // "988 ½ boul. ..."
        if c + 1 < n && self.w(c + 1) == "½" && self.gap(c + 1) == " " {
            c += 1;
        }
        if c + 1 >= n {
            return None;
        }
        let gp = self.gap(c + 1);
        let t1 = self.lw(c + 1);
        if matches!(gp, " " | ", " | "\u{a0}") && in_words(t1, bits::FR_STREET) {
            return self.fr_street(c + 1);
        }
        if gp != " " && gp != "\u{a0}" && gp != ", " {
            return None;
        }
        // "123 Hwy 7", "123 Route 132", "4800 Highway 7 West"
        if in_words(t1, bits::NUMBERED_ROADS)
            && c + 2 < n
            && self.gap(c + 2) == " "
            && self.w(c + 2).bytes().all(|b| b.is_ascii_digit())
            && self.w(c + 2).len() <= 4
        {
            let mut e = c + 2;
            if e + 1 < n
                && self.gap(e + 1) == " "
                && self.has(e + 1, bits::DIRECTIONS)
                && self.w(e + 1).chars().next().is_some_and(char::is_uppercase)
            {
                e += 1;
            }
            return Some((k, e));
        }
        // "1234, 1re Avenue", "1234, Grande Allée": the French comma after the civic number,
        // before a street with a type.
        if gp == ", " {
            if self.w(c + 1).bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            return match self.en_street(c + 1) {
                Some((e, true)) => Some((k, e)),
                _ => None,
            };
        }
        if matches!(t1, "de" | "du" | "des") {
            // "45 de la Commune Ouest": a French street named without its type; the tail decides.
            let mut j = c + 2;
            while j < n && self.gap(j) == " " && matches!(self.lw(j), "la" | "l" | "le" | "les") {
                j += 1;
            }
            if j < n && (self.gap(j) == " " || self.gap(j) == "'") && self.cap(j) {
                let mut e = j;
                if e + 1 < n
                    && self.gap(e + 1) == " "
                    && self.has(e + 1, bits::DIRECTIONS)
                    && self.w(e + 1).chars().next().is_some_and(char::is_uppercase)
                {
                    e += 1;
                }
                return Some((k, TYPELESS - e));
            }
            return None;
        }
        let (e, typed) = self.en_street(c + 1)?;
        Some((k, if typed { e } else { TYPELESS - e }))
    }

    /// A French street from its type word at `ty`: the last token.
    fn fr_street(&self, ty: usize) -> Option<(usize, usize)> {
        let n = self.n();
        let caps = self.caps(ty);
        let lower = self.lower(ty);
        let mut j = ty + 1;
        let mut last = None;
        let first_gap: &[&str] = &[". ", ".", " ", "\u{a0}"];
        while j < n && j < ty + 8 {
            let gp = self.gap(j);
            if !(gp == " " || gp == "\u{a0}" || j == ty + 1 && first_gap.contains(&gp)) {
                break;
            }
            let w = self.w(j);
            let lw = self.lw(j);
            if j > ty + 1 && in_words(lw, bits::UNITS) {
                break;
            }
            if in_words(lw, bits::DIRECTIONS) && last.is_some() && w.chars().next().is_some_and(char::is_uppercase) {
                last = Some(j);
                break;
            }
            let digits = w.bytes().all(|c| c.is_ascii_digit());
            let elided = lw.starts_with("l'") || lw.starts_with("d'") || lw.starts_with("l\u{2019}") || lw.starts_with("d\u{2019}");
            if digits && w.len() <= 4 && j == ty + 1 {
                last = Some(j);
            } else if in_words(lw, bits::FR_NAME_WORDS) && !elided {
                if lw.len() > 2 && (caps == is_allcaps(w) || !caps) {
                    last = Some(j);
                }
            } else if (is_cap(w) || elided) && !caps
                || is_allcaps(w) && caps
                || lower && is_lowerword(w) && !in_words(lw, bits::COMMON_LOWER)
            {
                if in_words(lw, bits::DIRECTIONS) && last.is_some() {
                    last = Some(j);
                    break;
                }
                last = Some(j);
            } else {
                break;
            }
            j += 1;
        }
        last.map(|e| (ty - 1, e))
    }

    /// An English street from its first name word at `j0`: its last token, and whether it
    /// ended with a street type (a street with none, such as `2265 Kingsway`, needs a city).
    fn en_street(&self, j0: usize) -> Option<(usize, bool)> {
        let n = self.n();
        let mut j = j0;
        while j < n && j <= j0 + 4 {
            if j > j0 && !(self.plain_gap(j) || self.gap(j) == ". ") {
                break;
            }
            let w = self.w(j);
            let lw = self.lw(j);
            if j > j0 && in_words(lw, bits::EN_STREET) {
                let mut e = j;
                // "Pine Grove Lane": street-type words inside the name; not "St." before a city.
                while e + 1 < n && self.gap(e + 1) == " " && self.has(e + 1, bits::EN_STREET) && !matches!(self.lw(e + 1), "st" | "ste") {
                    e += 1;
                }
                // "Concession Rd 4"
                if e + 1 < n && self.gap(e + 1) == " " && (self.has(e, bits::NUMBERED_ROADS) || self.has(j0, bits::NUMBERED_ROADS)) {
                    let nw = self.w(e + 1);
                    if nw.len() <= 3 && nw.bytes().all(|c| c.is_ascii_digit()) {
                        e += 1;
                    }
                }
                if e + 1 < n
                    && matches!(self.gap(e + 1), " " | ". ")
                    && self.has(e + 1, bits::DIRECTIONS)
                    && self.w(e + 1).chars().next().is_some_and(char::is_uppercase)
                {
                    e += 1;
                }
                return Some((e, true));
            }
            // "101 St NW" (a numbered street), "John A. Macdonald" (an initial).
            let numbered =
                j == j0 && w.len() <= 4 && w.bytes().all(|c| c.is_ascii_digit()) && j + 1 < n && self.has(j + 1, bits::EN_STREET);
            let initial = w.len() == 1 && w.chars().all(char::is_uppercase) && self.after(j).starts_with(". ");
            let name_word = is_cap(w) || is_allcaps(w) || ordinal(w) || lw == "st" || lw == "ste" || numbered || initial;
            // "2021 Honda Civic Sport Road test": a model year and a make, not an address.
            let civic = self.w(j0 - 1);
            let year = civic.len() == 4 && (civic.starts_with("19") || civic.starts_with("20"));
            if !name_word || j == j0 && year && in_words(lw, bits::MAKES) {
                break;
            }
            j += 1;
        }
        // A street with no type must not start with a make, model or other stop word.
        (j > j0 && !self.g.is_stop(self.w(j0))).then(|| (j - 1, false))
    }

    /// Rural route or post-office box at token `k`: its last token.
    fn box_at(&self, k: usize) -> Option<usize> {
        let n = self.n();
        let lw = self.lw(k);
        let num_after =
            |j: usize| -> Option<usize> { (j < n && self.w(j).bytes().all(|c| c.is_ascii_digit()) && self.w(j).len() <= 6).then_some(j) };
        let gap_num = |j: usize| j < n && matches!(self.gap(j), " " | "#" | " #" | "# " | ". " | "." | ". #" | ".#" | " no " | " no. ");
        let mut e;
        if lw == "rr" && gap_num(k + 1) {
            e = num_after(k + 1)?;
        } else if lw == "r"
            && k + 2 < n
            && self.gap(k + 1) == "."
            && self.lw(k + 1) == "r"
            && self.after(k + 1).starts_with('.')
            && gap_num(k + 2)
        {
            e = num_after(k + 2)?;
        } else if (lw == "po" || lw == "p") && k + 2 < n {
            // "PO Box 45", "P.O. Box 45"
            let b = if lw == "p" && self.gap(k + 1) == "." && self.lw(k + 1) == "o" { k + 2 } else { k + 1 };
            if b >= n || self.lw(b) != "box" || !gap_num(b + 1) {
                return None;
            }
            e = num_after(b + 1)?;
        } else if lw == "box"
            && self.w(k) != "box"
            && gap_num(k + 1)
            && (k == 0 || !self.t[..self.toks[k].s].trim_end().ends_with(|c: char| c.is_alphanumeric()))
        {
            // "Box 123, Humboldt, SK" (a capitalised Box with no PO before it, not "tool box 3").
            e = num_after(k + 1)?;
        } else if lw == "c" && k + 2 < n && self.gap(k + 1) == "." && self.lw(k + 1) == "p" && gap_num(k + 2) {
            e = num_after(k + 2)?;
        } else if lw == "cp" && gap_num(k + 1) && self.w(k) == "CP" {
            e = num_after(k + 1)?;
        } else if lw == "case" && k + 2 < n && self.lw(k + 1) == "postale" && gap_num(k + 2) {
            e = num_after(k + 2)?;
        } else {
            return None;
        }
        // "Site 10 Comp 75", ", STN MAIN", ", succ. Centre-ville", " Station A"
        loop {
            if e + 2 < n
                && self.gap(e + 1) == " "
                && matches!(self.lw(e + 1), "site" | "comp" | "box")
                && gap_num(e + 2)
                && let Some(x) = num_after(e + 2)
            {
                e = x;
                continue;
            }
            if e + 2 < n && matches!(self.gap(e + 1), ", " | " ") && matches!(self.lw(e + 1), "stn" | "station" | "succ" | "succursale") {
                let g2 = self.gap(e + 2);
                if matches!(g2, " " | ". " | ".") && (self.cap(e + 2) || self.caps(e + 2) || self.w(e + 2).len() <= 2) {
                    e += 2;
                    continue;
                }
            }
            break;
        }
        Some(e)
    }

    /// Extends over a unit after the street (`, app. 4`, ` Unit 2410`, `, #3`).
    fn unit_suffix(&self, e: usize) -> usize {
        let n = self.n();
        if e >= TYPELESS / 2 {
            return e;
        }
        if e + 2 < n {
            // "St., Unit 4": an abbreviation's full stop before the separator.
            let gp = self.gap(e + 1);
            let gp = gp.strip_prefix('.').filter(|g| !g.is_empty()).unwrap_or(gp);
            if matches!(gp, ", " | " " | ",") && self.has(e + 1, bits::UNITS) {
                let gp2 = self.gap(e + 2);
                if matches!(gp2, " " | ". " | "." | " #" | ". #" | "#" | " no " | " no. ") && self.w(e + 2).len() <= 6 {
                    return e + 2;
                }
            } else if matches!(gp, ", #" | " #" | ",#") && self.w(e + 1).len() <= 6 && self.w(e + 1).bytes().any(|c| c.is_ascii_digit()) {
                return e + 1;
            } else if matches!(gp, ", " | " ") {
                // "4th Floor", "2e étage", "Floor 4", "étage 3"
                let (a, b) = (self.lw(e + 1), self.lw(e + 2));
                let floor = |w: &str| matches!(w, "floor" | "fl" | "étage" | "etage" | "level" | "niveau");
                if self.gap(e + 2) == " "
                    && (ordinal(self.w(e + 1)) && floor(b) || floor(a) && b.bytes().all(|c| c.is_ascii_digit()) && b.len() <= 3)
                {
                    return e + 2;
                }
            }
        }
        e
    }

    /// The city, province and postal code after the street ending at token `e` (or at
    /// `TYPELESS - e` for a street with no type). Returns the address's end byte
    /// (`usize::MAX` when a typeless street has no city after it) and the postal code.
    fn tail(&self, e: usize, civic: usize) -> (usize, Option<(usize, usize)>) {
        let typeless = e >= TYPELESS / 2;
        let e = if typeless { TYPELESS - e } else { e };
        let lowercase_address = self.t[self.toks[civic].e..self.toks[e].e].chars().all(|c| !c.is_uppercase());
        let mut end = self.toks[e].e;
        // "Bay St., Toronto", "Cres., Halifax": the abbreviation's full stop.
        if self.t[end..].starts_with('.') && tail_sep(&self.t[end + 1..], true).is_some() {
            end += 1;
        }
        // Separator, then city words.
        let after = &self.t[end..];
        let sep_len = tail_sep(after, true);
        let mut postal = None;
        let mut had_city = false;
        if let Some(sl) = sep_len {
            let city_start = end + sl;
            // Postal code right after the street.
            if let Some(pl) = postal_len(&self.t[city_start..]) {
                return (city_start, Some((city_start, city_start + pl)));
            }
            if let Some((ce, _)) = self.city_at(city_start, lowercase_address) {
                // Province, then postal code.
                let mut p_end = ce;
                let mut prov = false;
                if let Some(pl) = tail_sep(&self.t[ce..], false).and_then(|s| self.province_at(ce + s).map(|l| s + l)) {
                    p_end = ce + pl;
                    prov = true;
                }
                let city_ok = prov || self.g.is_city(&self.t[city_start..ce]);
                let mut post = None;
                if let Some(s) = tail_sep(&self.t[p_end..], true)
                    && let Some(pl) = postal_len(&self.t[p_end + s..])
                {
                    post = Some((p_end + s, p_end + s + pl));
                }
                if city_ok || post.is_some() {
                    had_city = true;
                    end = post.map_or(p_end, |p| p.0);
                    postal = post;
                }
            } else if let Some(pl) = self.province_at(city_start) {
                // Province right after the street.
                end = city_start + pl;
                if let Some(s) = tail_sep(&self.t[end..], true)
                    && let Some(ql) = postal_len(&self.t[end + s..])
                {
                    postal = Some((end + s, end + s + ql));
                    end += s;
                }
                had_city = true;
            }
        }
        if typeless && !had_city {
            return (usize::MAX, None);
        }
        (end, postal)
    }

    /// City words starting at byte `s`: the end byte of the city.
    fn city_at(&self, s: usize, lowercase: bool) -> Option<(usize, usize)> {
        let n = self.n();
        let k0 = self.toks.partition_point(|t| t.s < s);
        if k0 >= n || self.toks[k0].s != s {
            return None;
        }
        let mut k = k0;
        let mut last = None;
        while k < n && k < k0 + 5 {
            if k > k0 {
                let gp = self.gap(k);
                let after_st = matches!(self.lw(k - 1), "st" | "ste") && matches!(gp, ". " | ".");
                if !(self.plain_gap(k) || after_st) {
                    break;
                }
            }
            if self.province_at(self.toks[k].s).is_some() && last.is_some() && (self.gap(k) == " ") {
                break;
            }
            if postal_len(&self.t[self.toks[k].s..]).is_some() {
                break;
            }
            let w = self.w(k);
            let lw = self.lw(k);
            let word = is_cap(w) || is_allcaps(w) || lowercase && is_lowerword(w) && !in_words(lw, bits::COMMON_LOWER);
            let particle = matches!(lw, "de" | "du" | "des" | "la" | "le" | "sur" | "en" | "lès" | "les" | "st" | "ste" | "of" | "the");
            if word && !w.bytes().any(|c| c.is_ascii_digit()) {
                if !particle || last.is_some() {
                    last = Some(k);
                }
            } else if !(particle && last.is_some()) {
                break;
            }
            k += 1;
        }
        let e = last?;
        // A trailing particle is not part of the city; "St. John's" keeps its "'s".
        Some((self.toks[e].e + self.poss_len(e), k0))
    }

    /// The length of a province name or code at byte `s` (with its parentheses).
    fn province_at(&self, s: usize) -> Option<usize> {
        let l = &self.low[s..];
        let (open, l) = match l.strip_prefix('(') {
            Some(r) => (1, r),
            None => (0, l),
        };
        let orig = &self.t[s + open..];
        let (m, matched) = PROVINCES
            .iter()
            .filter(|p| l.starts_with(**p))
            .filter(|p| {
                let rest = &l[p.len()..];
                let boundary = p.ends_with('.') || rest.chars().next().is_none_or(|c| !c.is_alphanumeric());
                // Two-letter codes in lower case only count before a postal code.
                let code = p.len() == 2;
                let upper = orig[..p.len()].chars().any(char::is_uppercase);
                boundary && (!code || upper || tail_sep(rest, true).is_some_and(|sl| postal_len(&rest[sl..]).is_some()))
            })
            .map(|p| (p.len(), *p))
            .max()?;
        let mut len = open + m;
        // "Ont." and "Alta." with their full stop.
        if self.t[s + len..].starts_with('.') && !matched.ends_with('.') && m > 2 {
            len += 1;
        }
        if open == 1 {
            if !self.t[s + len..].starts_with(')') {
                return None;
            }
            len += 1;
        }
        Some(len)
    }
}

/// Words after which a number is an identifier, not a civic number.
const NOT_CIVIC_AFTER: &[&str] = &[
    "tag", "ro", "po", "stock", "stk", "deal", "vin", "niv", "invoice", "inv", "claim", "bt", "wo", "job", "dossier", "contrat",
    "contract", "facture", "commande", "order", "ref", "réf", "appt", "rdv", "lead", "qty", "qté", "part", "pièce", "campaign", "campagne",
    "recall", "rappel", "tsb",
];

/// Marks a street with no street type: its last token `e` is passed on as `TYPELESS - e`.
const TYPELESS: usize = usize::MAX;

/// A separator inside an address tail: `, `, `,`, spaces (up to three), or one line break
/// (with a comma or spaces around it).
fn tail_sep(s: &str, newline: bool) -> Option<usize> {
    let mut len = 0;
    let mut commas = 0;
    let mut lines = 0;
    let mut spaces = 0;
    for c in s.chars() {
        match c {
            ',' => commas += 1,
            ' ' | '\u{a0}' | '\t' => spaces += 1,
            '\n' => lines += 1,
            '\r' => {}
            _ => break,
        }
        len += c.len_utf8();
    }
    let ok = len > 0 && commas <= 1 && spaces <= 3 && lines <= usize::from(newline) && (commas + spaces + lines) > 0;
    ok.then_some(len)
}

fn ordinal(w: &str) -> bool {
    let d = w.bytes().take_while(u8::is_ascii_digit).count();
    d > 0 && matches!(&w[d..], "st" | "nd" | "rd" | "th" | "e" | "er" | "re" | "ST" | "ND" | "RD" | "TH" | "E")
}

const FR_STREET: &[&str] = &[
    "rue",
    "avenue",
    "av",
    "ave",
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
    "rte",
];
const EN_STREET: &[&str] = &[
    "st",
    "street",
    "ave",
    "av",
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
    "gardens",
    "gdns",
    "mews",
    "point",
    "pt",
    "ridge",
    "bay",
    "landing",
    "common",
    "commons",
    "run",
    "walk",
    "crossing",
    "estates",
    "glen",
    "green",
    "mount",
    "manor",
    "meadows",
    "bend",
    "cove",
    "loop",
    "villas",
    "alley",
    "boul",
    "expressway",
    "freeway",
    "route",
    "rue",
];
const NUMBERED_ROADS: &[&str] = &["hwy", "highway", "route", "concession", "line", "sideroad", "rd", "road", "county", "regional"];
const FR_NAME_WORDS: &[&str] = &["de", "du", "des", "la", "le", "l", "d", "saint", "sainte", "st", "ste", "les", "aux", "au"];
const DIRECTIONS: &[&str] =
    &["n", "s", "e", "w", "ne", "nw", "se", "sw", "north", "south", "east", "west", "est", "ouest", "nord", "sud", "o"];
const UNITS: &[&str] =
    &["app", "apt", "appt", "apartment", "appartement", "suite", "unit", "unité", "bureau", "porte", "logement", "log", "ste"];
/// Province names and codes, lower case (as in the lowered text), longest matched first.
const PROVINCES: &[&str] = &[
    "qc",
    "qué",
    "que",
    "québec",
    "quebec",
    "on",
    "ont",
    "ontario",
    "bc",
    "b.c.",
    "c.-b.",
    "colombie-britannique",
    "british columbia",
    "ab",
    "alta",
    "alberta",
    "sk",
    "sask",
    "saskatchewan",
    "mb",
    "man",
    "manitoba",
    "nb",
    "n.b.",
    "n.-b.",
    "new brunswick",
    "nouveau-brunswick",
    "ns",
    "n.s.",
    "n.-é.",
    "nova scotia",
    "nouvelle-écosse",
    "pe",
    "pei",
    "p.e.i.",
    "î.-p.-é.",
    "i.-p.-e.",
    "prince edward island",
    "île-du-prince-édouard",
    "nl",
    "nfld",
    "newfoundland and labrador",
    "newfoundland",
    "terre-neuve-et-labrador",
    "terre-neuve",
    "yt",
    "yukon",
    "nt",
    "nwt",
    "n.w.t.",
    "northwest territories",
    "territoires du nord-ouest",
    "nu",
    "nunavut",
];

fn postal_first(c: u8) -> bool {
    b"ABCEGHJKLMNPRSTVXY".contains(&c.to_ascii_uppercase())
}

fn postal_other(c: u8) -> bool {
    b"ABCEGHJKLMNPRSTVWXYZ".contains(&c.to_ascii_uppercase())
}

/// The length of a postal code at the start of `s` (`A1A 1A1`, `A1A1A1`, `A1A-1A1`, either
/// case, one case throughout), followed by a word boundary.
fn postal_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 6 || !(postal_first(b[0]) && b[1].is_ascii_digit() && postal_other(b[2])) {
        return None;
    }
    let mut j = 3;
    if matches!(b[j], b' ' | b'-') {
        j += 1;
    } else if s[j..].starts_with('\u{a0}') {
        j += 2;
    }
    if j + 3 > b.len() || !(b[j].is_ascii_digit() && postal_other(b[j + 1]) && b[j + 2].is_ascii_digit()) {
        return None;
    }
    let e = j + 3;
    let letters = [b[0], b[2], b[j + 1]];
    let one_case = letters.iter().all(u8::is_ascii_uppercase) || letters.iter().all(u8::is_ascii_lowercase);
    let boundary = s[e..].chars().next().is_none_or(|c| !c.is_alphanumeric());
    (one_case && boundary).then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, PiiType)> {
        let v = crate::redact::merge_spans(text, OfflineDetector.detect(text, Lang::En).unwrap_or_default());
        v.iter().map(|s| (text[s.byte_start..s.byte_end].to_owned(), s.kind)).collect()
    }

    fn names(text: &str) -> Vec<String> {
        found(text).into_iter().filter(|(_, k)| *k == PiiType::Name).map(|(s, _)| s).collect()
    }

    #[test]
    fn names_with_cues_and_gazetteer() {
        assert_eq!(names("Customer Zbigniew Okonkwo called"), vec!["Zbigniew Okonkwo"]);
        assert_eq!(names("M. Côté a appelé"), vec!["Côté"]);
        assert_eq!(names("Thanks, Marie-Ève Gagnon"), vec!["Marie-Ève Gagnon"]);
        assert_eq!(names("Customer Pay on Honda Civic"), Vec::<String>::new());
    }

    #[test]
    fn whole_names_in_many_forms() {
        assert_eq!(names("Acheteur PELLETIER,CATHERINE M – permis"), vec!["PELLETIER,CATHERINE M"]);
        assert_eq!(names("CO-ACHETEUR : DE LA CHEVROTIÈRE,KARINE\n"), vec!["DE LA CHEVROTIÈRE,KARINE"]);
        assert_eq!(names("Dr. Des Rosiers doit"), vec!["Des Rosiers"]);
        assert_eq!(names("Contacter S. Nadeau au 1-819"), vec!["S. Nadeau"]);
        assert_eq!(names("Buyer Marc-Antoine P. Caron SIN"), vec!["Marc-Antoine P. Caron"]);
        assert_eq!(names("Conjoint luc tremblay viendra"), vec!["luc tremblay"]);
        assert_eq!(names("Merci,\nFrancine Poirier\n581"), vec!["Francine Poirier"]);
        assert_eq!(names("Tech notes: Tremblay's truck, 2023"), vec!["Tremblay"]);
        assert_eq!(names("Registered to TANAKA,THI HOA and TANAKA,COLIN."), vec!["TANAKA,THI HOA", "TANAKA,COLIN"]);
    }

    #[test]
    fn label_words_are_not_names() {
        // Issue 24: "customer SIN: …" became "customer [NAME]: [SIN]".
        assert_eq!(names("customer SIN: 130 692 544"), Vec::<String>::new());
        assert_eq!(names("Client NAS : 130 692 544, Cust Tel 514"), Vec::<String>::new());
        assert_eq!(names("CUSTOMER VIN 1HGCM82633A004352, BUYER DOB 1980"), Vec::<String>::new());
    }

    #[test]
    fn addresses_whole_and_postal_codes() {
        assert_eq!(found("lives at 123 rue Saint-Denis, app. 4 in town"), vec![("123 rue Saint-Denis, app. 4".into(), PiiType::Address)]);
        assert_eq!(
            found("45 Main St W, H2X 1Y4"),
            vec![("45 Main St W, ".into(), PiiType::Address), ("H2X 1Y4".into(), PiiType::PostalCode)]
        );
        assert_eq!(found("replaced 4 Michelin tires"), vec![]);
        assert_eq!(
            found("au 826 rue Belvédère Nord, Granby (QC) J2H 4Z3, svp"),
            vec![("826 rue Belvédère Nord, Granby (QC) ".into(), PiiType::Address), ("J2H 4Z3".into(), PiiType::PostalCode)]
        );
        assert_eq!(found("Prev. address 8934 Kingsway, Burnaby (2 yrs)"), vec![("8934 Kingsway, Burnaby".into(), PiiType::Address)]);
        assert_eq!(
            found("from #4 - 83 Upper James St, Ottawa, ON K1P 0T9, ref"),
            vec![("#4 - 83 Upper James St, Ottawa, ON ".into(), PiiType::Address), ("K1P 0T9".into(), PiiType::PostalCode)]
        );
        assert_eq!(found("Apt 1A, 2426 Pine Ridge Rd, Ottawa."), vec![("Apt 1A, 2426 Pine Ridge Rd, Ottawa".into(), PiiType::Address)]);
        assert_eq!(found("code postal j2b 7l2 ok"), vec![("j2b 7l2".into(), PiiType::PostalCode)]);
    }
}
