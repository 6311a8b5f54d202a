//! Typed cells: parsing integers, decimals, dates and codes, and formula neutralisation.

use std::fmt;

use serde::Serialize;

/// Bytes that make a spreadsheet treat a cell as a formula (OWASP "CSV Injection"):
/// `=`, `+`, `-`, `@`, TAB and CR.
pub const FORMULA_TRIGGERS: &[u8] = b"=+-@\t\r";

/// A fixed-point decimal: `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The digits, signed.
    pub mantissa: i128,
    /// How many of them are after the point (at most 18).
    pub scale: u8,
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let abs = self.mantissa.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let p = 10u128.pow(u32::from(self.scale));
        write!(f, "{sign}{}.{:0width$}", abs / p, abs % p, width = usize::from(self.scale))
    }
}

impl Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A calendar date (proleptic Gregorian, checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Year, 1000 to 9999.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month.
    pub day: u8,
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One canonical cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Cell {
    /// An empty cell, or a column the file does not have.
    Empty,
    /// Text, already neutralised.
    Text(String),
    /// A code.
    Code(String),
    /// An integer.
    Integer(i64),
    /// A decimal.
    Decimal(Decimal),
    /// A date.
    Date(Date),
}

impl Cell {
    /// Sets this cell to a text value, reusing its allocation when it already holds text.
    pub(crate) fn set_text(&mut self, s: &str, neutralise: bool) {
        if let Cell::Text(buf) = self {
            buf.clear();
        } else {
            *self = Cell::Text(String::with_capacity(s.len() + 1));
        }
        if let Cell::Text(buf) = self {
            if neutralise {
                buf.push('\'');
            }
            buf.push_str(s);
        }
    }

    /// Sets this cell to a code, reusing its allocation.
    pub(crate) fn set_code(&mut self, s: &str) {
        if let Cell::Code(buf) = self {
            buf.clear();
            buf.push_str(s);
        } else {
            *self = Cell::Code(s.to_owned());
        }
    }
}

/// True when a text cell must be prefixed with `'` (its first byte is a formula trigger).
pub fn needs_neutralising(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|b| FORMULA_TRIGGERS.contains(b))
}

/// Parses digits with optional `,` thousands groups (`1,234,567`), accumulating into `acc`.
fn grouped_digits(s: &str, mut acc: i128) -> Option<i128> {
    let mut groups = s.split(',');
    let first = groups.next()?;
    let grouped = s.contains(',');
    if first.is_empty() || (grouped && first.len() > 3) {
        return None;
    }
    for (i, g) in std::iter::once(first).chain(groups).enumerate() {
        if (i > 0 && g.len() != 3) || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        for b in g.bytes() {
            acc = acc.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
    }
    Some(acc)
}

/// Splits an optional sign, parentheses (accounting negative) and `$`.
fn sign_and_body(s: &str) -> Option<(bool, &str)> {
    let mut s = s.trim();
    let mut neg = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        neg = true;
        s = inner.trim();
    }
    if let Some(r) = s.strip_prefix('-') {
        if neg {
            return None;
        }
        neg = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    let s = s.strip_prefix('$').unwrap_or(s);
    Some((neg, s))
}

/// Parses a decimal: optional sign or parentheses, optional `$`, digits with optional `,`
/// thousands groups, optional `.` and up to 18 fraction digits. The decimal comma (`12,50`)
/// is not accepted: it is indistinguishable from a thousands group.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let (neg, body) = sign_and_body(s)?;
    let (int, frac) = match body.split_once('.') {
        Some((a, b)) => (a, b),
        None => (body, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut m = if int.is_empty() { 0 } else { grouped_digits(int, 0)? };
    if frac.len() > 18 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    for b in frac.bytes() {
        m = m.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let scale = u8::try_from(frac.len()).ok()?;
    Some(Decimal { mantissa: if neg { -m } else { m }, scale })
}

/// Parses a signed integer with optional `,` thousands groups.
pub fn parse_integer(s: &str) -> Option<i64> {
    // `$` or parentheses make no sense on a count.
    if s.contains(['$', '(', ')']) {
        return None;
    }
    let (neg, body) = sign_and_body(s)?;
    let m = grouped_digits(body, 0)?;
    i64::try_from(if neg { -m } else { m }).ok()
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 31,
    }
}

fn num<T: TryFrom<u32>>(s: &str, min_len: usize, max_len: usize) -> Option<T> {
    if s.len() < min_len || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = s.bytes().fold(0u32, |a, b| a * 10 + u32::from(b - b'0'));
    T::try_from(v).ok()
}

/// Parses `YYYY-MM-DD`, `YYYYMMDD` or `MM/DD/YYYY` (1- or 2-digit month and day), optionally
/// followed by a time (` ` or `T`, then digits, `:`, `.`, `AM`/`PM`), which is ignored.
pub fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let (date, time) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    if !time.bytes().all(|b| b.is_ascii_digit() || matches!(b, b':' | b'.' | b' ' | b'A' | b'P' | b'M' | b'a' | b'p' | b'm')) {
        return None;
    }
    let (year, month, day) = if let Some((y, rest)) = date.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (num::<u16>(y, 4, 4)?, num::<u8>(m, 2, 2)?, num::<u8>(d, 2, 2)?)
    } else if let Some((m, rest)) = date.split_once('/') {
        let (d, y) = rest.split_once('/')?;
        (num::<u16>(y, 4, 4)?, num::<u8>(m, 1, 2)?, num::<u8>(d, 1, 2)?)
    } else if date.len() == 8 {
        (num::<u16>(date.get(..4)?, 4, 4)?, num::<u8>(date.get(4..6)?, 2, 2)?, num::<u8>(date.get(6..)?, 2, 2)?)
    } else {
        return None;
    };
    if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(Date { year, month, day })
}

/// The longest code accepted, in bytes.
pub const MAX_CODE_BYTES: usize = 64;

/// True for a valid code: 1 to 64 bytes, starts with a letter or digit, then letters, digits,
/// spaces and `- _ . / #`.
pub fn is_code(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_CODE_BYTES
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/' | b'#' | b' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        let d = |s| parse_decimal(s).map(|d| d.to_string());
        assert_eq!(d("-12.50").as_deref(), Some("-12.50"));
        assert_eq!(d("$1,234.56").as_deref(), Some("1234.56"));
        assert_eq!(d("(12.50)").as_deref(), Some("-12.50"));
        assert_eq!(d("+3").as_deref(), Some("3"));
        assert_eq!(d(".5").as_deref(), Some("0.5"));
        assert_eq!(d("5.99").as_deref(), Some("5.99"));
        for bad in ["", "-", "=1+2", "-2+3", "1,23", "12,50", "1.2.3", "abc", "--1", "(-1)", "1e5", "@SUM(A1)", "1234,567"] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
        assert_eq!(parse_decimal("99999999999999999999999999999999999999999"), None);
    }

    #[test]
    fn integers() {
        assert_eq!(parse_integer("-12"), Some(-12));
        assert_eq!(parse_integer("1,204"), Some(1204));
        assert_eq!(parse_integer("+7"), Some(7));
        for bad in ["1.5", "$3", "(3)", "9223372036854775808", "", "x", "-2+3"] {
            assert_eq!(parse_integer(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates() {
        let d = |s| parse_date(s).map(|d| d.to_string());
        assert_eq!(d("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(d("20240131").as_deref(), Some("2024-01-31"));
        assert_eq!(d("3/7/2025").as_deref(), Some("2025-03-07"));
        assert_eq!(d("2025-03-07 14:30:00").as_deref(), Some("2025-03-07"));
        assert_eq!(d("2025-03-07T14:30").as_deref(), Some("2025-03-07"));
        // "aaa\u{20ac}bb" is 8 bytes with a character across byte 4: refused, not a panic.
        for bad in
            ["2023-02-29", "2025-13-01", "13/01/2025", "2025-1-1", "yesterday", "", "2025-03-07 =1", "aaa\u{20ac}bb", "202\u{e9}0101"]
        {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn codes_and_neutralising() {
        assert!(is_code("RO-10023"));
        assert!(is_code("1HGCM82633A004352"));
        assert!(!is_code("-A1"));
        assert!(!is_code("=1+2"));
        assert!(!is_code(&"A".repeat(65)));
        for s in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(needs_neutralising(s), "{s:?}");
        }
        assert!(!needs_neutralising("Civic"));
        assert!(!needs_neutralising(""));
    }
}
