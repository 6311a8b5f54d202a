//! The name-leak sweep: no staff name may appear in anything an analyzer or consumer writes.
//!
//! Folding: NFKD with combining marks dropped, lowercase, every non-alphanumeric character a
//! word break (`Jean-François O'Neil` → `jean francois o neil`). A text leaks a roster entry
//! when its folded words contain, as consecutive words, the entry's full name, its surname (the
//! last word of the full name, when at least 3 letters), or one of its nicknames. Given names
//! alone are not matched (they collide with ordinary words too often: `Will`, `Grant`); a full
//! name or a surname is. Personnel codes are what findings carry, and are never matched.

use std::fmt::Write as _;

use serde_json::Value;

use crate::ingest::header::words;

/// One staff member: the personnel code findings use, and the names that must never appear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffMember {
    /// The personnel code (allowed in findings).
    pub code: String,
    /// The full name as on the roster.
    pub full_name: String,
    /// Nicknames and other names the person goes by.
    pub nicknames: Vec<String>,
}

/// A tenant's staff roster, folded for matching.
#[derive(Clone, Debug)]
pub struct Roster {
    patterns: Vec<(String, Vec<String>)>,
}

/// A name found where none may be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// The JSON path of the string (`/body/note`, `/items/3`; `#key` marks an object key).
    pub path: String,
    /// The personnel code of the staff member named (never the name itself, so a leak report
    /// does not leak).
    pub code: String,
}

impl Roster {
    /// Folds a roster.
    pub fn new(staff: &[StaffMember]) -> Self {
        let mut patterns = Vec::new();
        for s in staff {
            let full = words(&s.full_name);
            if full.is_empty() {
                continue;
            }
            if let Some(last) = full.last().filter(|w| w.chars().count() >= 3 && full.len() > 1) {
                patterns.push((s.code.clone(), vec![last.clone()]));
            }
            patterns.push((s.code.clone(), full));
            for n in &s.nicknames {
                let nw = words(n);
                if !nw.is_empty() {
                    patterns.push((s.code.clone(), nw));
                }
            }
        }
        Self { patterns }
    }

    /// The personnel codes of everyone `text` names.
    pub fn names_in(&self, text: &str) -> Vec<String> {
        let ws = words(text);
        let mut out: Vec<String> = Vec::new();
        for (code, pat) in &self.patterns {
            if ws.windows(pat.len()).any(|w| w == pat.as_slice()) && !out.contains(code) {
                out.push(code.clone());
            }
        }
        out
    }

    /// Every leak in a JSON value: each string and object key at any depth.
    pub fn sweep(&self, value: &Value) -> Vec<Leak> {
        let mut leaks = Vec::new();
        self.walk(value, &mut String::new(), &mut leaks);
        leaks
    }

    fn walk(&self, v: &Value, path: &mut String, leaks: &mut Vec<Leak>) {
        match v {
            Value::String(s) => {
                for code in self.names_in(s) {
                    leaks.push(Leak { path: path.clone(), code });
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    let _ = write!(path, "/{i}");
                    self.walk(item, path, leaks);
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let len = path.len();
                    path.push('/');
                    path.push_str(k);
                    for code in self.names_in(k) {
                        leaks.push(Leak { path: format!("{path}#key"), code });
                    }
                    self.walk(item, path, leaks);
                    path.truncate(len);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roster() -> Roster {
        Roster::new(&[
            StaffMember { code: "FI07".into(), full_name: "Jean-François Tremblay".into(), nicknames: vec!["JF".into()] },
            StaffMember { code: "SP104".into(), full_name: "Mary O'Neil".into(), nicknames: vec![] },
            StaffMember { code: "SP9".into(), full_name: "Will Grant".into(), nicknames: vec![] },
        ])
    }

    #[test]
    fn finds_names_folded_anywhere_in_a_body() {
        let r = roster();
        let body = json!({
            "staff_code": "FI07",
            "notes": ["reserve high on deal 100234", "see JEAN FRANCOIS TREMBLAY"],
            "detail": {"by": "m. tremblay"},
            "O'NEIL": 3
        });
        let leaks = r.sweep(&body);
        let got: Vec<(&str, &str)> = leaks.iter().map(|l| (l.path.as_str(), l.code.as_str())).collect();
        assert!(got.contains(&("/notes/1", "FI07")), "{got:?}");
        assert!(got.contains(&("/detail/by", "FI07")), "{got:?}");
        assert!(got.contains(&("/O'NEIL#key", "SP104")), "{got:?}");
        assert!(r.names_in("ask jf about it").contains(&"FI07".to_owned()));
    }

    #[test]
    fn codes_and_ordinary_words_do_not_leak() {
        let r = roster();
        assert!(
            r.sweep(&json!({"staff_code": "FI07", "rule": "cit.aged_contract", "days": 41, "note": "will review; approved"})).is_empty()
        );
        // The surname is matched as a word, never inside another word.
        assert!(r.names_in("Tremblayville").is_empty());
        assert_eq!(r.names_in("Grant"), ["SP9"]);
    }
}
