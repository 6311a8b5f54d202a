//! A small, tolerant BER reader that keeps the original bytes of everything it reads.
//!
//! Real time-stamp tokens are not always DER: some use indefinite lengths, constructed
//! OCTET STRINGs, or attribute certificates that strict CMS parsers reject. Signatures are
//! checked over bytes *as encoded*, so this reader never re-encodes: every [`Tlv`] holds the
//! slice it came from. Limits keep hostile input cheap: nesting depth, total size.
//!
//! Strict where it matters: a length running past its container, a truncated element,
//! high-tag-number forms, and bytes after the outermost element are errors.

/// The deepest nesting accepted.
pub const MAX_DEPTH: usize = 32;

/// Where and why the bytes are not BER we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BerError {
    /// Ran out of bytes.
    #[error("truncated at byte {offset}")]
    Truncated {
        /// Offset in the outermost input.
        offset: usize,
    },
    /// A length form we do not accept (more than 4 length bytes, reserved 0xFF).
    #[error("unsupported length encoding at byte {offset}")]
    Length {
        /// Offset.
        offset: usize,
    },
    /// Multi-byte tag numbers (not used by any structure we read).
    #[error("high tag number form at byte {offset}")]
    HighTag {
        /// Offset.
        offset: usize,
    },
    /// Nested deeper than 32 levels.
    #[error("nested deeper than {MAX_DEPTH} levels at byte {offset}")]
    TooDeep {
        /// Offset.
        offset: usize,
    },
    /// An indefinite length on a primitive element.
    #[error("indefinite length on a primitive element at byte {offset}")]
    IndefinitePrimitive {
        /// Offset.
        offset: usize,
    },
    /// Bytes after the element that should have ended the input.
    #[error("{count} bytes after the end of the structure at byte {offset}")]
    Trailing {
        /// Offset of the first extra byte.
        offset: usize,
        /// How many.
        count: usize,
    },
    /// Not the element the structure requires here.
    #[error("at byte {offset}: expected {expected}, found tag 0x{found:02x}")]
    Unexpected {
        /// Offset.
        offset: usize,
        /// What was expected.
        expected: &'static str,
        /// The tag byte found.
        found: u8,
    },
    /// A required element is missing.
    #[error("at byte {offset}: missing {expected}")]
    Missing {
        /// Offset.
        offset: usize,
        /// What was expected.
        expected: &'static str,
    },
    /// A value that is not valid for its type.
    #[error("at byte {offset}: invalid {what}")]
    Invalid {
        /// Offset.
        offset: usize,
        /// Which value.
        what: &'static str,
    },
}

/// One element: its tag byte, its content, and the whole encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet (class, constructed bit, tag number < 31).
    pub tag: u8,
    /// The content octets (for indefinite lengths: without the end-of-contents marker).
    pub content: &'a [u8],
    /// Identifier, length and content (and end-of-contents) exactly as encoded.
    pub raw: &'a [u8],
    /// Offset of `raw` in the outermost input, for error messages.
    pub offset: usize,
    indefinite: bool,
    depth: usize,
}

/// Common tags.
pub mod tag {
    /// BOOLEAN
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING (primitive)
    pub const OCTET_STRING: u8 = 0x04;
    /// OCTET STRING (constructed, BER)
    pub const OCTET_STRING_C: u8 = 0x24;
    /// OBJECT IDENTIFIER
    pub const OID: u8 = 0x06;
    /// UTCTime
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE
    pub const SEQUENCE: u8 = 0x30;
    /// SET
    pub const SET: u8 = 0x31;
    /// `[n]` context-specific constructed.
    pub const fn ctx_c(n: u8) -> u8 {
        0xa0 | n
    }
    /// `[n]` context-specific primitive.
    pub const fn ctx_p(n: u8) -> u8 {
        0x80 | n
    }
}

/// Parses exactly one element that must span all of `input`.
///
/// # Errors
/// [`BerError`] with the offset.
pub fn parse_one(input: &[u8]) -> Result<Tlv<'_>, BerError> {
    let (tlv, rest) = read(input, 0, 0)?;
    if !rest.is_empty() {
        return Err(BerError::Trailing { offset: input.len() - rest.len(), count: rest.len() });
    }
    Ok(tlv)
}

fn read(input: &[u8], base: usize, depth: usize) -> Result<(Tlv<'_>, &[u8]), BerError> {
    if depth > MAX_DEPTH {
        return Err(BerError::TooDeep { offset: base });
    }
    let tag = *input.first().ok_or(BerError::Truncated { offset: base })?;
    if tag & 0x1f == 0x1f {
        return Err(BerError::HighTag { offset: base });
    }
    let first = *input.get(1).ok_or(BerError::Truncated { offset: base + 1 })?;
    let constructed = tag & 0x20 != 0;
    let (len, hdr) = match first {
        0x80 => {
            if !constructed {
                return Err(BerError::IndefinitePrimitive { offset: base });
            }
            // Indefinite: children up to an end-of-contents marker (00 00).
            let mut pos = 2;
            loop {
                let rest = input.get(pos..).ok_or(BerError::Truncated { offset: base + pos })?;
                if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
                    let content = &input[2..pos];
                    let raw = &input[..pos + 2];
                    let tlv = Tlv { tag, content, raw, offset: base, indefinite: true, depth };
                    return Ok((tlv, &input[pos + 2..]));
                }
                let (child, after) = read(rest, base + pos, depth + 1)?;
                pos += child.raw.len();
                debug_assert_eq!(input.len() - pos, after.len());
            }
        }
        b if b < 0x80 => (usize::from(b), 2),
        b => {
            let n = usize::from(b & 0x7f);
            if n > 4 || b == 0xff {
                return Err(BerError::Length { offset: base + 1 });
            }
            let bytes = input.get(2..2 + n).ok_or(BerError::Truncated { offset: base + 2 })?;
            let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        }
    };
    let end = hdr.checked_add(len).ok_or(BerError::Length { offset: base + 1 })?;
    if end > input.len() {
        return Err(BerError::Truncated { offset: base + input.len() });
    }
    // Children of a definite-length element are read lazily, when walked.
    let tlv = Tlv { tag, content: &input[hdr..end], raw: &input[..end], offset: base, indefinite: false, depth };
    Ok((tlv, &input[end..]))
}

/// Iterator over the children of a constructed element.
#[derive(Debug, Clone)]
pub struct Children<'a> {
    rest: &'a [u8],
    base: usize,
    depth: usize,
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Tlv<'a>, BerError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match read(self.rest, self.base, self.depth) {
            Ok((t, rest)) => {
                self.base += t.raw.len();
                self.rest = rest;
                Some(Ok(t))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl<'a> Tlv<'a> {
    /// The header length (identifier + length octets).
    pub fn header_len(&self) -> usize {
        self.raw.len() - self.content.len() - if self.indefinite { 2 } else { 0 }
    }

    /// The children of a constructed element.
    pub fn children(&self) -> Children<'a> {
        Children { rest: self.content, base: self.offset + self.header_len(), depth: self.depth + 1 }
    }

    /// A reader over the children that expects them in order.
    pub fn seq(&self) -> Seq<'a> {
        Seq { it: self.children(), peeked: None, end: self.offset + self.raw.len() }
    }

    /// Checks the tag.
    ///
    /// # Errors
    /// [`BerError::Unexpected`].
    pub fn expect(self, tag: u8, expected: &'static str) -> Result<Self, BerError> {
        if self.tag == tag { Ok(self) } else { Err(BerError::Unexpected { offset: self.offset, expected, found: self.tag }) }
    }

    /// The content of an OCTET STRING, primitive or (BER) constructed, concatenated.
    ///
    /// # Errors
    /// [`BerError`] for anything else.
    pub fn octets(&self) -> Result<std::borrow::Cow<'a, [u8]>, BerError> {
        match self.tag {
            tag::OCTET_STRING => Ok(std::borrow::Cow::Borrowed(self.content)),
            tag::OCTET_STRING_C => {
                let mut out = Vec::new();
                for c in self.children() {
                    out.extend_from_slice(&c?.octets()?);
                }
                Ok(std::borrow::Cow::Owned(out))
            }
            found => Err(BerError::Unexpected { offset: self.offset, expected: "OCTET STRING", found }),
        }
    }

    /// An INTEGER's content bytes (two's complement, big-endian), checked non-empty.
    ///
    /// Non-minimal encodings are accepted (some real TSAs emit them) and reported as they are.
    ///
    /// # Errors
    /// [`BerError`] when not an INTEGER.
    pub fn integer_bytes(&self) -> Result<&'a [u8], BerError> {
        let t = self.expect(tag::INTEGER, "INTEGER")?;
        if t.content.is_empty() {
            return Err(BerError::Invalid { offset: self.offset, what: "empty INTEGER" });
        }
        Ok(t.content)
    }

    /// A small non-negative INTEGER.
    ///
    /// # Errors
    /// [`BerError`] when not an INTEGER in `0..=u64::MAX`.
    pub fn small_uint(&self) -> Result<u64, BerError> {
        let b = self.integer_bytes()?;
        if b[0] & 0x80 != 0 {
            return Err(BerError::Invalid { offset: self.offset, what: "negative INTEGER" });
        }
        let b = if b.len() > 1 && b[0] == 0 { &b[1..] } else { b };
        if b.len() > 8 {
            return Err(BerError::Invalid { offset: self.offset, what: "INTEGER too large" });
        }
        Ok(b.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x)))
    }

    /// An OBJECT IDENTIFIER's content bytes.
    ///
    /// # Errors
    /// [`BerError`] when not a well-formed OID.
    pub fn oid(&self) -> Result<Oid<'a>, BerError> {
        let t = self.expect(tag::OID, "OBJECT IDENTIFIER")?;
        if t.content.is_empty() || t.content.last().is_some_and(|b| b & 0x80 != 0) {
            return Err(BerError::Invalid { offset: self.offset, what: "OBJECT IDENTIFIER" });
        }
        Ok(Oid(t.content))
    }
}

/// An OID as its encoded content bytes (compare with the `oid::` constants).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Oid<'a>(pub &'a [u8]);

impl std::fmt::Debug for Oid<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.dotted())
    }
}

impl Oid<'_> {
    /// Dotted-decimal text (arcs that overflow u64 are shown as `?`).
    pub fn dotted(&self) -> String {
        let mut arcs: Vec<String> = Vec::new();
        let mut acc: u128 = 0;
        let mut first = true;
        for b in self.0 {
            acc = (acc << 7) | u128::from(b & 0x7f);
            if b & 0x80 == 0 {
                if first {
                    let (a, b2) = if acc < 40 {
                        (0, acc)
                    } else if acc < 80 {
                        (1, acc - 40)
                    } else {
                        (2, acc - 80)
                    };
                    arcs.push(a.to_string());
                    arcs.push(b2.to_string());
                    first = false;
                } else {
                    arcs.push(acc.to_string());
                }
                acc = 0;
            }
            if acc > u128::from(u64::MAX) {
                return "?".to_owned();
            }
        }
        arcs.join(".")
    }
}

/// Reads children in order, with optional elements.
#[derive(Debug, Clone)]
pub struct Seq<'a> {
    it: Children<'a>,
    peeked: Option<Tlv<'a>>,
    end: usize,
}

impl<'a> Seq<'a> {
    fn peek(&mut self) -> Result<Option<Tlv<'a>>, BerError> {
        if self.peeked.is_none() {
            self.peeked = self.it.next().transpose()?;
        }
        Ok(self.peeked)
    }

    /// The next element, which must exist.
    ///
    /// # Errors
    /// [`BerError::Missing`].
    pub fn next(&mut self, expected: &'static str) -> Result<Tlv<'a>, BerError> {
        self.peek()?;
        self.peeked.take().ok_or(BerError::Missing { offset: self.end, expected })
    }

    /// The next element with `tag`, which must exist.
    ///
    /// # Errors
    /// [`BerError`].
    pub fn next_tag(&mut self, tag: u8, expected: &'static str) -> Result<Tlv<'a>, BerError> {
        self.next(expected)?.expect(tag, expected)
    }

    /// The next element if it has `tag`.
    ///
    /// # Errors
    /// [`BerError`] for malformed input.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, BerError> {
        match self.peek()? {
            Some(t) if t.tag == tag => Ok(self.peeked.take()),
            _ => Ok(None),
        }
    }

    /// Requires that nothing is left.
    ///
    /// # Errors
    /// [`BerError::Unexpected`] naming the extra element.
    pub fn finish(mut self, what: &'static str) -> Result<(), BerError> {
        match self.peek()? {
            None => Ok(()),
            Some(t) => Err(BerError::Unexpected { offset: t.offset, expected: what, found: t.tag }),
        }
    }

    /// Whatever is left, in order.
    ///
    /// # Errors
    /// [`BerError`] for malformed input.
    pub fn rest(mut self) -> Result<Vec<Tlv<'a>>, BerError> {
        let mut out = Vec::new();
        if let Some(p) = self.peeked.take() {
            out.push(p);
        }
        for c in self.it {
            out.push(c?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite() {
        // SEQUENCE { INTEGER 5, OCTET STRING (constructed, indefinite) { "ab", "c" } }
        let ber = [0x30, 0x80, 0x02, 0x01, 0x05, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x00, 0x00];
        let t = parse_one(&ber).unwrap();
        let mut s = t.seq();
        assert_eq!(s.next_tag(tag::INTEGER, "n").unwrap().small_uint().unwrap(), 5);
        assert_eq!(&*s.next("os").unwrap().octets().unwrap(), b"abc");
        s.finish("end").unwrap();
        assert_eq!(t.raw.len(), ber.len());
    }

    #[test]
    fn errors_not_panics() {
        assert!(matches!(parse_one(&[0x30, 0x03, 0x02, 0x01]), Err(BerError::Truncated { .. })));
        assert!(matches!(parse_one(&[0x02, 0x01, 0x05, 0x00]), Err(BerError::Trailing { .. })));
        assert!(matches!(parse_one(&[0x04, 0x80, 0x00, 0x00]), Err(BerError::IndefinitePrimitive { .. })));
        assert!(matches!(parse_one(&[0x1f, 0x01, 0x00]), Err(BerError::HighTag { .. })));
        assert!(matches!(parse_one(&[0x30, 0x85, 1, 1, 1, 1, 1]), Err(BerError::Length { .. })));
        let mut deep = Vec::new();
        for _ in 0..40 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..40 {
            deep.extend_from_slice(&[0, 0]);
        }
        assert!(matches!(parse_one(&deep), Err(BerError::TooDeep { .. })));
        assert_eq!(Oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04]).dotted(), "1.2.840.113549.1.9.16.1.4");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok(t) = parse_one(&bytes) {
                for c in t.children() { let _ = c.map(|c| c.octets()); }
            }
        }
    }
}
