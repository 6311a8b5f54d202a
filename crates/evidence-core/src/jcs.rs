//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! The canonical bytes of a claim are what its [`crate::ContentHash`] covers, so they
//! must be identical on every machine and in every language, years apart:
//!
//! - object members sorted by the UTF-16 code units of their names (RFC 8785 §3.2.3);
//! - no insignificant white space;
//! - strings escaped minimally: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other
//!   controls below U+0020 as `\u00xx` in lowercase hex, everything else literal;
//! - numbers as ECMAScript's `Number.prototype.toString` writes IEEE-754 doubles
//!   (RFC 8785 §3.2.2.3).
//!
//! Inputs outside I-JSON are refused rather than silently changed: integers whose
//! no double holds exactly (they would change when read back; send them as strings),
//! and, when parsing from text, duplicate member names and documents nested deeper than
//! [`MAX_DEPTH`].

use std::fmt::Write as _;

use serde_json::Value;

/// The deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 64;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JcsError {
    /// An integer that no IEEE-754 double holds exactly would change when read back.
    #[error("integer {0} is not exactly representable as an IEEE-754 double (I-JSON); send it as a string")]
    UnsafeInteger(String),
    /// NaN and infinities have no JSON form.
    #[error("number is not finite")]
    NonFinite,
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The same member name twice in one object (only detectable when parsing text).
    #[error("duplicate member name {0:?}")]
    DuplicateKey(String),
    /// The text was not JSON.
    #[error("not JSON: {0}")]
    Syntax(String),
}

/// Canonical bytes of an in-memory JSON value.
///
/// # Errors
/// [`JcsError`] when the value has no I-JSON canonical form.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = String::new();
    write_value(value, &mut out, 0)?;
    Ok(out.into_bytes())
}

/// Parses JSON text strictly (no duplicate names, bounded depth) and returns its canonical bytes.
///
/// # Errors
/// [`JcsError`] for text that is not JSON, or that has no I-JSON canonical form.
pub fn canonicalize_text(text: &[u8]) -> Result<Vec<u8>, JcsError> {
    canonicalize(&parse_strict(text)?)
}

/// Parses JSON text, refusing duplicate member names and nesting deeper than [`MAX_DEPTH`].
///
/// # Errors
/// [`JcsError::Syntax`], [`JcsError::DuplicateKey`] or [`JcsError::TooDeep`].
pub fn parse_strict(text: &[u8]) -> Result<Value, JcsError> {
    // serde_json keeps the last of duplicate keys; a wrapper type that refuses them
    // runs the same parser with a visitor that checks.
    let mut de = serde_json::Deserializer::from_slice(text);
    let v = StrictValue::deserialize_depth(&mut de, 0)?;
    de.end().map_err(|e| JcsError::Syntax(e.to_string()))?;
    // Integers beyond 64 bits reach the visitor as doubles already rounded (serde_json is
    // built without `arbitrary_precision`), so their text is checked here.
    check_wide_integers(text)?;
    Ok(v)
}

/// Refuses integer tokens wider than 64 bits that no double holds exactly.
///
/// Integers that fit `i64`/`u64` are checked exactly by the parser's visitor; a wider one
/// arrives there as a double, its text lost. So the (already well-formed) text is scanned:
/// every number token outside strings without a fraction or exponent that does not fit 64
/// bits must be the canonical text of its nearest double (then reading it as a double
/// changes nothing, e.g. `295147905179352830000`), or it is refused.
///
/// # Errors
/// [`JcsError::UnsafeInteger`] naming the first such integer.
pub fn check_wide_integers(text: &[u8]) -> Result<(), JcsError> {
    let (mut i, mut in_str, mut esc) = (0usize, false, false);
    while i < text.len() {
        let b = text[i];
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_str = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < text.len() && matches!(text[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            let token = &text[start..i];
            let digits = token.iter().filter(|c| c.is_ascii_digit()).count();
            // 19 digits always fit 64 bits; fractions and exponents are doubles by intent.
            if digits > 19 && !token.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
                let t = std::str::from_utf8(token).map_err(|_| JcsError::Syntax("number is not ASCII".into()))?;
                if t.parse::<i64>().is_err() && t.parse::<u64>().is_err() {
                    let f: f64 = t.parse().map_err(|_| JcsError::UnsafeInteger(t.to_owned()))?;
                    let mut nearest = String::new();
                    if write_f64(f, &mut nearest).is_err() || nearest != t {
                        return Err(JcsError::UnsafeInteger(t.to_owned()));
                    }
                }
            }
            continue;
        }
        i += 1;
    }
    Ok(())
}

struct StrictValue;

impl StrictValue {
    fn deserialize_depth<'de, D: serde::Deserializer<'de>>(d: D, depth: usize) -> Result<Value, JcsError>
    where
        D::Error: std::fmt::Display,
    {
        let refused = std::cell::RefCell::new(None);
        d.deserialize_any(StrictVisitor { depth, refused: Some(&refused) }).map_err(|e| {
            // Our own refusals travel through serde's error type as text; the typed error
            // was kept aside.
            refused.into_inner().unwrap_or_else(|| JcsError::Syntax(e.to_string()))
        })
    }
}

/// A JSON value deserialised with the strict rules of [`parse_strict`] (no duplicate member
/// names, bounded depth, no integer a double cannot hold), from any serde deserializer.
/// Integers wider than 64 bits are only caught when the text is at hand (see
/// [`check_wide_integers`]).
#[derive(Clone, Debug, PartialEq)]
pub struct StrictJson(pub Value);

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor { depth: 0, refused: None }).map(StrictJson)
    }
}

struct StrictVisitor<'s> {
    depth: usize,
    refused: Option<&'s std::cell::RefCell<Option<JcsError>>>,
}

impl StrictVisitor<'_> {
    fn refuse<E: serde::de::Error>(&self, e: JcsError) -> E {
        let msg = e.to_string();
        if let Some(slot) = self.refused {
            slot.borrow_mut().get_or_insert(e);
        }
        E::custom(msg)
    }
}

struct Seed<'s> {
    depth: usize,
    refused: Option<&'s std::cell::RefCell<Option<JcsError>>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor { depth: self.depth, refused: self.refused })
    }
}

impl<'de> serde::de::Visitor<'de> for StrictVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        integer_from_text(Value::from(v), &v.to_string()).map_err(|e| self.refuse(e))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        integer_from_text(Value::from(v), &v.to_string()).map_err(|e| self.refuse(e))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| self.refuse(JcsError::NonFinite))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.refuse(JcsError::TooDeep));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Seed { depth: self.depth + 1, refused: self.refused })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.refuse(JcsError::TooDeep));
        }
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(Seed { depth: self.depth + 1, refused: self.refused })?;
            if out.contains_key(&k) {
                return Err(self.refuse(JcsError::DuplicateKey(k)));
            }
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// An integer token read from text. JCS reads it as a double: when no double holds it
/// exactly, it is still accepted if it is the canonical text of its nearest double
/// (e.g. `-437081457608543500`), since then nothing changes; otherwise it is refused.
fn integer_from_text(exact: Value, text: &str) -> Result<Value, JcsError> {
    let Value::Number(n) = &exact else {
        return Ok(exact);
    };
    let mut canonical = String::new();
    if write_number(n, &mut canonical).is_ok() {
        return Ok(exact);
    }
    let f: f64 = text.parse().map_err(|_| JcsError::NonFinite)?;
    let mut nearest = String::new();
    if write_f64(f, &mut nearest).is_ok() && nearest == text {
        serde_json::Number::from_f64(f).map(Value::Number).ok_or(JcsError::NonFinite)
    } else {
        Err(JcsError::UnsafeInteger(text.to_owned()))
    }
}

fn write_value(v: &Value, out: &mut String, depth: usize) -> Result<(), JcsError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(JcsError::TooDeep);
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            if depth >= MAX_DEPTH {
                return Err(JcsError::TooDeep);
            }
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_value(item, out, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(n: &serde_json::Number, out: &mut String) -> Result<(), JcsError> {
    // JCS reads every number as an IEEE-754 double. An integer is accepted when the
    // double holds it exactly, and is then written the way the double is written.
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let exact = if let Some(u) = n.as_u64() {
        let f = u as f64;
        (f < 18_446_744_073_709_551_616.0 && f as u64 == u).then_some(f).ok_or_else(|| JcsError::UnsafeInteger(u.to_string()))?
    } else if let Some(i) = n.as_i64() {
        let f = i as f64;
        (f >= -9_223_372_036_854_775_808.0 && f as i64 == i).then_some(f).ok_or_else(|| JcsError::UnsafeInteger(i.to_string()))?
    } else {
        n.as_f64().ok_or(JcsError::NonFinite)?
    };
    write_f64(exact, out)
}

/// Writes a double as ECMAScript `Number.prototype.toString` does (ECMA-262 §6.1.6.1.20).
///
/// # Errors
/// [`JcsError::NonFinite`] for NaN and infinities.
pub fn write_f64(f: f64, out: &mut String) -> Result<(), JcsError> {
    if !f.is_finite() {
        return Err(JcsError::NonFinite);
    }
    if f == 0.0 {
        out.push('0'); // also for -0
        return Ok(());
    }
    if f < 0.0 {
        out.push('-');
    }
    let (digits, exp) = ecma_digits(f.abs()).ok_or(JcsError::NonFinite)?;
    let k = i32::try_from(digits.len()).map_err(|_| JcsError::NonFinite)?;
    let n = exp + 1; // position of the decimal point relative to the digits
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', usize::try_from(n - k).unwrap_or(0)));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0));
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', usize::try_from(-n).unwrap_or(0)));
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        let _ = write!(out, "{}", (n - 1).abs());
    }
    Ok(())
}

/// The shortest decimal digits that read back as `v` (> 0), and the decimal exponent of
/// the first digit, choosing as ECMA-262 requires when two candidates are equally close:
/// the one whose last digit is even. Rust's shortest formatting rounds such ties up.
fn ecma_digits(v: f64) -> Option<(String, i32)> {
    let split = |sci: &str| -> Option<(String, i32)> {
        let (mantissa, exp) = sci.split_once('e')?;
        Some((mantissa.chars().filter(char::is_ascii_digit).collect(), exp.parse().ok()?))
    };
    let (digits, exp) = split(&format!("{v:e}"))?;
    // A tie needs v to be exactly a decimal with one more digit, ending in 5.
    let one_more = format!("{v:.prec$e}", prec = digits.len());
    if !one_more.split_once('e')?.0.ends_with('5') {
        return Some((digits, exp));
    }
    let (exact, exact_exp) = split(&format!("{v:.800e}"))?; // every double is exact in 767 digits
    let exact = exact.trim_end_matches('0');
    if exact_exp != exp || exact.len() != digits.len() + 1 {
        return Some((digits, exp));
    }
    let down = &exact[..digits.len()];
    let last = down.bytes().last()?;
    let even = if (last - b'0').is_multiple_of(2) {
        down.to_owned()
    } else {
        // Rounding a 9 up would end in 0: a shorter candidate, which the shortest
        // formatting would already have chosen. Nothing to do then.
        if last == b'9' {
            return Some((digits, exp));
        }
        let mut up = down.as_bytes().to_vec();
        *up.last_mut()? += 1;
        String::from_utf8(up).ok()?
    };
    let candidate = format!("{}.{}e{exp}", &even[..1], &even[1..]);
    if candidate.parse::<f64>().ok() == Some(v) { Some((even.trim_end_matches('0').to_owned(), exp)) } else { Some((digits, exp)) }
}

#[cfg(test)]
mod tests;
