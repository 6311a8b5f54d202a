//! Just enough PDF to append an incremental update: find the last cross-reference section
//! and trailer, read the catalog and the first page, and write new revisions of them.
//!
//! It reads classic cross-reference tables (what krilla, and most writers, produce) and the
//! objects they point to. Cross-reference streams and objects inside object streams are
//! refused with [`PdfError::Unsupported`]; so is a document that already has a form or
//! whose first page keeps its annotations in a separate object. The reader is bounded
//! (nesting depth 32, `/Prev` chain 64, page-tree depth 32) and never panics on input.

use std::collections::BTreeMap;

/// Why the PDF cannot take the update.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The bytes do not parse as what a PDF needs at that place.
    #[error("malformed PDF at byte {offset}: {what}")]
    Malformed {
        /// Byte offset where it went wrong.
        offset: usize,
        /// What was expected.
        what: &'static str,
    },
    /// A feature this writer does not handle.
    #[error("unsupported PDF feature: {0}")]
    Unsupported(&'static str),
    /// An object the trailer or catalog names is not in the cross-reference table.
    #[error("object {0} is referenced but not in the cross-reference table")]
    MissingObject(u32),
}

fn malformed(offset: usize, what: &'static str) -> PdfError {
    PdfError::Malformed { offset, what }
}

/// A PDF object, keeping numbers and strings as their original bytes so that rewriting a
/// dictionary reproduces every value exactly.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Obj {
    /// A number, boolean, null or other bare token, as written.
    Token(Vec<u8>),
    /// `/Name`, as written (with the slash).
    Name(Vec<u8>),
    /// A literal `( )` or hex `< >` string, as written.
    Str(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Vec<(Vec<u8>, Obj)>),
    Ref(u32, u16),
}

impl Obj {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Obj::Token(t) | Obj::Name(t) | Obj::Str(t) => out.extend_from_slice(t),
            Obj::Ref(n, g) => out.extend_from_slice(format!("{n} {g} R").as_bytes()),
            Obj::Array(items) => {
                out.push(b'[');
                for (i, o) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    o.write(out);
                }
                out.push(b']');
            }
            Obj::Dict(entries) => {
                out.extend_from_slice(b"<<");
                for (k, v) in entries {
                    out.extend_from_slice(k);
                    out.push(b' ');
                    v.write(out);
                    out.push(b' ');
                }
                out.extend_from_slice(b">>");
            }
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<&Obj> {
        match self {
            Obj::Dict(e) => e.iter().find(|(k, _)| k.as_slice() == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn is_delim(c: u8) -> bool {
    matches!(c, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

pub(crate) struct Lexer<'a> {
    b: &'a [u8],
    pub pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(b: &'a [u8], pos: usize) -> Self {
        Self { b, pos }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.b.len() {
            let c = self.b[self.pos];
            if is_ws(c) {
                self.pos += 1;
            } else if c == b'%' {
                while self.pos < self.b.len() && !matches!(self.b[self.pos], b'\r' | b'\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn regular(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.pos < self.b.len() && !is_ws(self.b[self.pos]) && !is_delim(self.b[self.pos]) {
            self.pos += 1;
        }
        &self.b[start..self.pos]
    }

    /// Reads a keyword or number token.
    pub(crate) fn token(&mut self) -> Result<&'a [u8], PdfError> {
        self.skip_ws();
        let t = self.regular();
        if t.is_empty() { Err(malformed(self.pos, "a token")) } else { Ok(t) }
    }

    pub(crate) fn expect(&mut self, kw: &[u8], what: &'static str) -> Result<(), PdfError> {
        let at = self.pos;
        if self.token()? == kw { Ok(()) } else { Err(malformed(at, what)) }
    }

    pub(crate) fn object(&mut self, depth: usize) -> Result<Obj, PdfError> {
        if depth > 32 {
            return Err(malformed(self.pos, "nesting no deeper than 32"));
        }
        self.skip_ws();
        let start = self.pos;
        match self.peek().ok_or_else(|| malformed(start, "an object"))? {
            b'/' => {
                self.pos += 1;
                self.regular();
                Ok(Obj::Name(self.b[start..self.pos].to_vec()))
            }
            b'(' => {
                let mut level = 0usize;
                while self.pos < self.b.len() {
                    match self.b[self.pos] {
                        b'\\' => self.pos += 1,
                        b'(' => level += 1,
                        b')' => {
                            level -= 1;
                            if level == 0 {
                                self.pos += 1;
                                return Ok(Obj::Str(self.b[start..self.pos].to_vec()));
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
                Err(malformed(start, "a closed literal string"))
            }
            b'<' if self.b.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                let mut entries = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b'>') if self.b.get(self.pos + 1) == Some(&b'>') => {
                            self.pos += 2;
                            return Ok(Obj::Dict(entries));
                        }
                        Some(b'/') => {
                            let Obj::Name(k) = self.object(depth + 1)? else { return Err(malformed(self.pos, "a name key")) };
                            let v = self.object(depth + 1)?;
                            entries.push((k, v));
                        }
                        _ => return Err(malformed(self.pos, "a name key or >>")),
                    }
                }
            }
            b'<' => {
                let end = self.b[self.pos..].iter().position(|c| *c == b'>').ok_or_else(|| malformed(start, "a closed hex string"))?;
                self.pos += end + 1;
                Ok(Obj::Str(self.b[start..self.pos].to_vec()))
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        return Ok(Obj::Array(items));
                    }
                    if self.peek().is_none() {
                        return Err(malformed(self.pos, "a closed array"));
                    }
                    items.push(self.object(depth + 1)?);
                }
            }
            c if is_delim(c) => Err(malformed(start, "an object")),
            _ => {
                let t = self.regular().to_vec();
                // A reference `n g R`: look ahead without consuming on failure.
                if t.iter().all(u8::is_ascii_digit) {
                    let save = self.pos;
                    self.skip_ws();
                    let g = self.regular().to_vec();
                    self.skip_ws();
                    let r = self.regular().to_vec();
                    if !g.is_empty() && g.iter().all(u8::is_ascii_digit) && r == b"R" {
                        return Ok(Obj::Ref(
                            parse_u32(&t, start)?,
                            u16::try_from(parse_u32(&g, start)?).map_err(|_| malformed(start, "a generation"))?,
                        ));
                    }
                    self.pos = save;
                }
                Ok(Obj::Token(t))
            }
        }
    }
}

fn parse_u32(t: &[u8], at: usize) -> Result<u32, PdfError> {
    std::str::from_utf8(t).ok().and_then(|s| s.parse().ok()).ok_or_else(|| malformed(at, "an object number"))
}

fn parse_usize(t: &[u8], at: usize) -> Result<usize, PdfError> {
    std::str::from_utf8(t).ok().and_then(|s| s.parse().ok()).ok_or_else(|| malformed(at, "an offset"))
}

/// What the update needs from the original document.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// Offset of the last cross-reference section (the new trailer's `/Prev`).
    pub startxref: usize,
    /// The trailer's `/Size`.
    pub size: u32,
    /// The catalog's reference and dictionary.
    pub root: (u32, u16, Obj),
    /// The first page's reference and dictionary.
    pub first_page: (u32, u16, Obj),
    /// The trailer's `/ID`, if any.
    pub id: Option<Obj>,
}

pub(crate) fn parse(b: &[u8]) -> Result<Parsed, PdfError> {
    if !b.starts_with(b"%PDF-") {
        return Err(malformed(0, "%PDF- header"));
    }
    let tail_start = b.len().saturating_sub(2048);
    let tail = &b[tail_start..];
    let sx = tail.windows(9).rposition(|w| w == b"startxref").ok_or_else(|| malformed(tail_start, "startxref near the end"))?;
    let mut lx = Lexer::new(b, tail_start + sx + 9);
    let at = lx.pos;
    let startxref = parse_usize(lx.token()?, at)?;
    if startxref >= b.len() {
        return Err(malformed(at, "startxref inside the file"));
    }
    let mut offsets: BTreeMap<u32, (usize, u16)> = BTreeMap::new();
    let mut trailer: Option<Obj> = None;
    let mut next = Some(startxref);
    let mut hops = 0;
    while let Some(xref_at) = next {
        hops += 1;
        if hops > 64 || xref_at >= b.len() {
            return Err(malformed(xref_at, "a /Prev chain of at most 64 sections inside the file"));
        }
        let mut lx = Lexer::new(b, xref_at);
        let kw = lx.token()?;
        if kw != b"xref" {
            return Err(if kw.iter().all(u8::is_ascii_digit) {
                PdfError::Unsupported("cross-reference streams")
            } else {
                malformed(xref_at, "xref")
            });
        }
        loop {
            let at = lx.pos;
            let t = lx.token()?;
            if t == b"trailer" {
                break;
            }
            let first = parse_u32(t, at)?;
            let count = parse_u32(lx.token()?, at)?;
            for i in 0..count {
                let at = lx.pos;
                let off = parse_usize(lx.token()?, at)?;
                let g = u16::try_from(parse_u32(lx.token()?, at)?).map_err(|_| malformed(at, "a generation"))?;
                let kind = lx.token()?;
                let n = first.checked_add(i).ok_or_else(|| malformed(at, "an object number"))?;
                if kind == b"n" {
                    // Later sections (read first) win.
                    offsets.entry(n).or_insert((off, g));
                } else if kind != b"f" {
                    return Err(malformed(at, "n or f"));
                }
            }
        }
        let t = lx.object(0)?;
        if !matches!(t, Obj::Dict(_)) {
            return Err(malformed(lx.pos, "a trailer dictionary"));
        }
        if t.get(b"/XRefStm").is_some() {
            return Err(PdfError::Unsupported("hybrid cross-reference files (/XRefStm)"));
        }
        next = match t.get(b"/Prev") {
            Some(Obj::Token(p)) => Some(parse_usize(p, lx.pos)?),
            Some(_) => return Err(malformed(lx.pos, "a numeric /Prev")),
            None => None,
        };
        if trailer.is_none() {
            trailer = Some(t);
        }
    }
    let trailer = trailer.ok_or_else(|| malformed(startxref, "a trailer"))?;
    let size = match trailer.get(b"/Size") {
        Some(Obj::Token(t)) => parse_u32(t, startxref)?,
        _ => return Err(malformed(startxref, "a /Size in the trailer")),
    };
    if trailer.get(b"/Encrypt").is_some() {
        return Err(PdfError::Unsupported("encrypted documents"));
    }
    let Some(Obj::Ref(rn, rg)) = trailer.get(b"/Root") else { return Err(malformed(startxref, "a /Root reference")) };
    let (rn, rg) = (*rn, *rg);
    let load = |n: u32| -> Result<Obj, PdfError> {
        let (off, g) = *offsets.get(&n).ok_or(PdfError::MissingObject(n))?;
        let mut lx = Lexer::new(b, off);
        let at = lx.pos;
        if parse_u32(lx.token()?, at)? != n || parse_u32(lx.token()?, at)? != u32::from(g) {
            return Err(malformed(off, "the object the cross-reference table points to"));
        }
        lx.expect(b"obj", "obj")?;
        let o = lx.object(0)?;
        if !matches!(o, Obj::Dict(_)) {
            return Err(malformed(off, "a dictionary object"));
        }
        Ok(o)
    };
    let root = load(rn)?;
    if root.get(b"/AcroForm").is_some() {
        return Err(PdfError::Unsupported("a document that already has an /AcroForm"));
    }
    // Walk to the first page.
    let Some(Obj::Ref(mut pn, mut pg)) = root.get(b"/Pages").cloned() else { return Err(malformed(startxref, "a /Pages reference")) };
    let mut page = load(pn)?;
    for _ in 0..32 {
        match page.get(b"/Type") {
            Some(Obj::Name(t)) if t == b"/Page" => break,
            Some(Obj::Name(t)) if t == b"/Pages" => {
                let Some(Obj::Array(kids)) = page.get(b"/Kids") else { return Err(malformed(startxref, "a /Kids array")) };
                let Some(Obj::Ref(n, g)) = kids.first() else { return Err(malformed(startxref, "a first kid reference")) };
                (pn, pg) = (*n, *g);
                page = load(pn)?;
            }
            _ => return Err(malformed(startxref, "a page-tree node /Type")),
        }
    }
    if !matches!(page.get(b"/Type"), Some(Obj::Name(t)) if t == b"/Page") {
        return Err(malformed(startxref, "a page within 32 levels"));
    }
    if matches!(page.get(b"/Annots"), Some(Obj::Ref(..))) {
        return Err(PdfError::Unsupported("a first page whose /Annots is an indirect object"));
    }
    Ok(Parsed { startxref, size, root: (rn, rg, root), first_page: (pn, pg, page), id: trailer.get(b"/ID").cloned() })
}

/// Sets `key` in a dictionary (replacing an earlier value).
pub(crate) fn set(dict: &mut Obj, key: &[u8], value: Obj) {
    if let Obj::Dict(e) = dict {
        if let Some(slot) = e.iter_mut().find(|(k, _)| k.as_slice() == key) {
            slot.1 = value;
        } else {
            e.push((key.to_vec(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_round_trip() {
        let src = b"<</Type /Catalog /Pages 2 0 R /Kids [3 0 R 4 0 R] /S (a\\)b(c)) /H <0a0B> /N -1.5 /B true /D <</X null>>>>";
        let o = Lexer::new(src, 0).object(0).unwrap();
        assert_eq!(o.get(b"/Pages"), Some(&Obj::Ref(2, 0)));
        assert_eq!(o.get(b"/Kids"), Some(&Obj::Array(vec![Obj::Ref(3, 0), Obj::Ref(4, 0)])));
        let mut out = Vec::new();
        o.write(&mut out);
        let again = Lexer::new(&out, 0).object(0).unwrap();
        assert_eq!(o, again);
    }

    #[test]
    fn hostile_input_is_an_error() {
        for b in [
            &b"%PDF-1.7\n"[..],
            b"",
            b"%PDF-1.7 startxref 999999",
            b"%PDF-1.7 xref 0 1 startxref 9",
            b"%PDF-1.7\n1 0 obj << /Type /XRef >> startxref 9",
        ] {
            assert!(parse(b).is_err());
        }
        let deep = [b"%PDF-1.7 ".to_vec(), vec![b'['; 100]].concat();
        assert!(Lexer::new(&deep, 9).object(0).is_err());
        assert!(Lexer::new(b"(((unclosed", 0).object(0).is_err());
        assert!(Lexer::new(b"<< /A ", 0).object(0).is_err());
    }
}
