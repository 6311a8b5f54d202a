//! Self-written word lists for the offline name detector: common Canadian English and
//! French given names and surnames, and capitalised words that are not names in dealership
//! text (makes, models, months, places, document words).
//!
//! The lists live in data files beside this module (`data/given.txt`, `data/surnames.txt`,
//! `data/ambiguous.txt`, `data/stop.txt`, `data/cities.txt`: one entry per line, `#` starts a
//! comment line), compiled in with `include_str!` and parsed once, on first use (issue 21).
//! They were typed from general knowledge of common Canadian names (English, French and the
//! other origins common in Canada) and municipalities, not taken from any data set. Names are
//! matched case-sensitively in their capitalised form, in upper case for all-caps text, and in
//! lower case where a rule looks at lower-case words; cities case- and accent-insensitively.
//! (`data/nanp_area_codes.txt`, used by the phone rule, is described in [`rules`](super::rules).)

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// A fast hash for the short words of the lists (eight bytes per multiply, in the manner of
/// Firefox's hash). The tables are fixed at start-up, so crafted input cannot grow their
/// buckets; a lookup costs at most the longest probe of a fixed table.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fnv(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fnv {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let r = chunks.remainder();
        if !r.is_empty() {
            let mut buf = [0u8; 8];
            buf[..r.len()].copy_from_slice(r);
            self.add(u64::from_le_bytes(buf));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
}

/// A hash set with [`Fnv`].
pub type FastSet<T> = HashSet<T, BuildHasherDefault<Fnv>>;
/// A hash map with [`Fnv`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// `data/given.txt`: common given names (EN and FR).
pub const GIVEN_FILE: &str = include_str!("data/given.txt");
/// `data/surnames.txt`: common surnames (EN, FR and other common Canadian surnames).
pub const SURNAMES_FILE: &str = include_str!("data/surnames.txt");
/// `data/ambiguous.txt`: names that are also common words, makes or places: found only next
/// to another name token or after a cue, never alone.
pub const AMBIGUOUS_FILE: &str = include_str!("data/ambiguous.txt");
/// `data/stop.txt`: capitalised words that follow cues in dealership text but are not names.
pub const STOP_FILE: &str = include_str!("data/stop.txt");
/// `data/cities.txt`: Canadian municipalities, for the address tail (`…, Laval (QC)`).
pub const CITIES_FILE: &str = include_str!("data/cities.txt");

/// The words of a list file: one per line, trimmed; blank lines and lines starting with `#`
/// are skipped.
pub fn words(file: &'static str) -> impl Iterator<Item = &'static str> {
    file.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The word lists as hash sets, built once.
#[derive(Debug)]
pub struct Gazetteer {
    /// [`GIVEN_FILE`].
    pub given: FastSet<&'static str>,
    /// [`SURNAMES_FILE`].
    pub surnames: FastSet<&'static str>,
    /// [`AMBIGUOUS_FILE`].
    pub ambiguous: FastSet<&'static str>,
    /// [`STOP_FILE`].
    pub stop: FastSet<&'static str>,
    /// [`CITIES_FILE`], folded (see [`fold`]).
    pub cities: FastSet<String>,
    given_upper: FastSet<String>,
    surnames_upper: FastSet<String>,
    given_lower: FastSet<String>,
    surnames_lower: FastSet<String>,
    ambiguous_lower: FastSet<String>,
    stop_upper: FastSet<String>,
}

/// Whether `w` holds an ASCII lower-case letter (then its all-caps form cannot match).
fn has_ascii_lower(w: &str) -> bool {
    w.bytes().any(|c| c.is_ascii_lowercase())
}

/// Lower case, with the accents of French folded away (`Montréal` → `montreal`), for
/// case- and accent-insensitive comparisons.
pub fn fold(w: &str) -> String {
    w.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ÿ' => 'y',
            '\u{2019}' => '\'',
            c => c,
        })
        .collect()
}

impl Gazetteer {
    /// The shared instance.
    pub fn get() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| Gazetteer {
            given: words(GIVEN_FILE).collect(),
            surnames: words(SURNAMES_FILE).collect(),
            ambiguous: words(AMBIGUOUS_FILE).collect(),
            stop: words(STOP_FILE).collect(),
            cities: words(CITIES_FILE).map(fold).collect(),
            given_upper: words(GIVEN_FILE).map(str::to_uppercase).collect(),
            surnames_upper: words(SURNAMES_FILE).map(str::to_uppercase).collect(),
            given_lower: words(GIVEN_FILE).map(str::to_lowercase).collect(),
            surnames_lower: words(SURNAMES_FILE).map(str::to_lowercase).collect(),
            ambiguous_lower: words(AMBIGUOUS_FILE).map(str::to_lowercase).collect(),
            stop_upper: words(STOP_FILE).map(str::to_uppercase).collect(),
        })
    }

    /// Whether `w` is a stop word: as written, or in upper case for all-caps text.
    pub fn is_stop(&self, w: &str) -> bool {
        self.stop.contains(w) || !has_ascii_lower(w) && self.stop_upper.contains(w)
    }

    /// Whether `w` (lower case) is a listed given name or surname.
    pub fn is_listed_lower(&self, w: &str) -> bool {
        self.given_lower.contains(w) || self.surnames_lower.contains(w)
    }

    /// Whether `w` (lower case) is a listed given name.
    pub fn is_given_lower(&self, w: &str) -> bool {
        self.given_lower.contains(w)
    }

    /// Whether `w` (lower case) is a listed surname.
    pub fn is_surname_lower(&self, w: &str) -> bool {
        self.surnames_lower.contains(w)
    }

    /// Whether `w` (lower case) is ambiguous (see [`AMBIGUOUS_FILE`]).
    pub fn is_ambiguous_lower(&self, w: &str) -> bool {
        self.ambiguous_lower.contains(w)
    }

    /// Whether `w` (any case) is ambiguous.
    pub fn is_ambiguous(&self, w: &str) -> bool {
        self.ambiguous.contains(w) || !has_ascii_lower(w) && self.ambiguous_lower.contains(&w.to_lowercase())
    }

    /// Whether `w` (any case, any accents) is a listed city.
    pub fn is_city(&self, w: &str) -> bool {
        self.cities.contains(&fold(w))
    }

    /// Whether `w` (capitalised, or all caps) is a listed given name.
    pub fn is_given(&self, w: &str) -> bool {
        self.given.contains(w) || !has_ascii_lower(w) && self.given_upper.contains(w)
    }

    /// Whether `w` (capitalised, or all caps) is a listed surname.
    pub fn is_surname(&self, w: &str) -> bool {
        self.surnames.contains(w) || !has_ascii_lower(w) && self.surnames_upper.contains(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_without_comments_blanks_or_stray_spaces() {
        for f in [GIVEN_FILE, SURNAMES_FILE, AMBIGUOUS_FILE, STOP_FILE] {
            let w: Vec<_> = words(f).collect();
            assert!(w.len() > 100, "{} words", w.len());
            assert!(w.iter().all(|x| !x.contains(char::is_whitespace) && !x.starts_with('#')), "{w:?}");
        }
        // City names may hold spaces ("Thunder Bay").
        assert!(words(CITIES_FILE).count() > 100);
        let g = Gazetteer::get();
        assert!(g.is_given("Marie-Ève") && g.is_given("MARIE-ÈVE") && g.is_surname("Tremblay") && g.stop.contains("Civic"));
        assert!(!g.is_given("Civic") && g.ambiguous.contains("Mark"));
        assert!(g.is_city("MONTREAL") && g.is_city("Trois-Rivières") && g.is_city("st. john's"));
    }
}
