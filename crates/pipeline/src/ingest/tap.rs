//! The byte tap between the caller's reader and the CSV parser.
//!
//! It sniffs the first bytes (binary signatures, NUL density, UTF-16 BOMs), strips a UTF-8
//! BOM, hashes the raw bytes, counts them against the file limit, and runs its own quote-state
//! tracker over every byte handed to the parser. The tracker mirrors the parser's grammar
//! (comma delimiter, `"` quotes doubled to escape, CR/LF/CRLF terminators, empty lines skipped)
//! so it knows, without buffering, the record and field each byte belongs to: that is how an
//! unclosed quote at end of file (which the `csv` crate accepts silently) and an oversize field
//! or record are found with their row and column before the parser buffers them.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// How many leading bytes are sniffed.
pub const SNIFF_BYTES: usize = 8192;

/// Which limit a stream broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// The whole file.
    File,
    /// One field (0-based index in its record).
    Field(usize),
    /// One record.
    Record,
}

/// Where an overflow happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverflowAt {
    /// Which limit.
    pub what: Overflow,
    /// The 1-based record number (header = 1).
    pub row: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Q {
    Start,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// What the first bytes say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sniff {
    /// No bytes at all (or only a BOM).
    Empty,
    /// A known binary format.
    Binary(&'static str),
    /// Many NUL bytes: binary of an unknown kind.
    NulHeavy(usize),
    /// UTF-16 or UTF-32 text, which is not accepted.
    WideText,
    /// Plausibly text.
    Text,
}

/// The tap. See the module docs.
#[derive(Debug)]
pub struct Tap<R> {
    inner: R,
    prefix: Vec<u8>,
    prefix_pos: usize,
    raw_bytes: u64,
    max_file: u64,
    max_field: u64,
    max_record: u64,
    hasher: Option<Sha256>,
    q: Q,
    field: usize,
    field_len: u64,
    record_len: u64,
    records_done: u64,
    quote_field: usize,
    overflow: Option<OverflowAt>,
}

impl<R: Read> Tap<R> {
    /// A tap over `inner` with the given limits; hashes the raw bytes when `hash`.
    pub fn new(inner: R, max_file: u64, max_field: u64, max_record: u64, hash: bool) -> Self {
        Self {
            inner,
            prefix: Vec::new(),
            prefix_pos: 0,
            raw_bytes: 0,
            max_file,
            max_field,
            max_record,
            hasher: hash.then(Sha256::new),
            q: Q::Start,
            field: 0,
            field_len: 0,
            record_len: 0,
            records_done: 0,
            quote_field: 0,
            overflow: None,
        }
    }

    fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = loop {
            match self.inner.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.raw_bytes += n as u64;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        if self.raw_bytes > self.max_file {
            self.overflow = Some(OverflowAt { what: Overflow::File, row: self.records_done + 1 });
            return Err(limit_error());
        }
        Ok(n)
    }

    /// Reads the first [`SNIFF_BYTES`] and judges them. Call once, before reading.
    ///
    /// # Errors
    /// The inner reader's errors, or the file limit (see [`Self::overflow`]).
    pub fn prime(&mut self) -> io::Result<Sniff> {
        let mut buf = vec![0u8; SNIFF_BYTES];
        let mut len = 0;
        while len < SNIFF_BYTES {
            let n = self.read_raw(&mut buf[len..])?;
            if n == 0 {
                break;
            }
            len += n;
        }
        buf.truncate(len);
        let sniff = if buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]) || buf.starts_with(&[0, 0, 0xFE, 0xFF]) {
            Sniff::WideText
        } else if let Some(t) = infer::get(&buf) {
            Sniff::Binary(t.mime_type())
        } else {
            let nuls = memchr::memchr_iter(0, &buf).count();
            if nuls >= 4 && nuls * 100 >= buf.len() { Sniff::NulHeavy(nuls) } else { Sniff::Text }
        };
        self.prefix_pos = if buf.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        let sniff = if sniff == Sniff::Text && buf.len() == self.prefix_pos { Sniff::Empty } else { sniff };
        self.prefix = buf;
        Ok(sniff)
    }

    /// Raw bytes read so far (including a BOM).
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// The limit broken, if any.
    pub fn overflow(&self) -> Option<OverflowAt> {
        self.overflow
    }

    /// If the stream ended inside a quoted field: its 1-based record number and 0-based field.
    pub fn open_quote(&self) -> Option<(u64, usize)> {
        (self.q == Q::Quoted).then_some((self.records_done + 1, self.quote_field))
    }

    /// The SHA-256 of every raw byte read, if hashing was asked for.
    pub fn finish_hash(&mut self) -> Option<[u8; 32]> {
        self.hasher.take().map(|h| h.finalize().into())
    }

    fn end_record(&mut self) {
        if self.record_len > 0 || self.field > 0 || self.q != Q::Start {
            self.records_done += 1;
        }
        self.q = Q::Start;
        self.field = 0;
        self.field_len = 0;
        self.record_len = 0;
    }

    fn end_field(&mut self) {
        self.q = Q::Start;
        self.field += 1;
        self.field_len = 0;
    }

    fn check_limits(&mut self) -> io::Result<()> {
        if self.field_len > self.max_field {
            self.overflow = Some(OverflowAt { what: Overflow::Field(self.field), row: self.records_done + 1 });
            return Err(limit_error());
        }
        if self.record_len > self.max_record {
            self.overflow = Some(OverflowAt { what: Overflow::Record, row: self.records_done + 1 });
            return Err(limit_error());
        }
        Ok(())
    }

    /// Runs the quote tracker over bytes handed to the parser. Inside a field it jumps to the
    /// next byte that can change state (`memchr`), so the cost is per field, not per byte.
    fn track(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            let skip = match self.q {
                Q::Unquoted => memchr::memchr3(b',', b'\r', b'\n', rest),
                Q::Quoted => memchr::memchr(b'"', rest),
                Q::Start | Q::QuoteInQuoted => Some(0),
            }
            .unwrap_or(rest.len());
            self.field_len += skip as u64;
            self.record_len += skip as u64;
            i += skip;
            self.check_limits()?;
            let Some(&b) = bytes.get(i) else { break };
            i += 1;
            match (self.q, b) {
                (Q::Start, b'"') => {
                    self.q = Q::Quoted;
                    self.quote_field = self.field;
                }
                (Q::Start | Q::Unquoted | Q::QuoteInQuoted, b',') => self.end_field(),
                (Q::Start | Q::Unquoted | Q::QuoteInQuoted, b'\r' | b'\n') => {
                    self.end_record();
                    continue;
                }
                (Q::Quoted, b'"') => self.q = Q::QuoteInQuoted,
                (Q::QuoteInQuoted, b'"') => {
                    self.q = Q::Quoted;
                    self.field_len += 1;
                }
                (Q::Start | Q::QuoteInQuoted, _) => {
                    self.q = Q::Unquoted;
                    self.field_len += 1;
                }
                (Q::Unquoted | Q::Quoted, _) => self.field_len += 1,
            }
            self.record_len += 1;
            self.check_limits()?;
        }
        Ok(())
    }
}

fn limit_error() -> io::Error {
    io::Error::other("input over a configured limit")
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.overflow.is_some() {
            return Err(limit_error());
        }
        let n = if self.prefix_pos < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.prefix_pos);
            buf[..n].copy_from_slice(&self.prefix[self.prefix_pos..self.prefix_pos + n]);
            self.prefix_pos += n;
            if self.prefix_pos == self.prefix.len() {
                self.prefix = Vec::new();
                self.prefix_pos = 0;
            }
            n
        } else {
            self.read_raw(buf)?
        };
        self.track(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(bytes: &[u8]) -> Tap<&[u8]> {
        let mut t = Tap::new(bytes, u64::MAX, u64::MAX, u64::MAX, false);
        t.prime().unwrap();
        let mut sink = Vec::new();
        t.read_to_end(&mut sink).unwrap();
        t
    }

    #[test]
    fn tracks_quotes_like_the_parser() {
        assert_eq!(drain(b"a,b\n\"x\"\"y\",2\n").open_quote(), None);
        assert_eq!(drain(b"a,b\n1,\"open\n2,3\n").open_quote(), Some((2, 1)));
        assert_eq!(drain(b"a,b\r\n\r\n1,2\r\n3,\"x").open_quote(), Some((3, 1)));
        // A quote inside an unquoted field is literal, as in the csv crate.
        assert_eq!(drain(b"a,b\n1,ab\"c\n").open_quote(), None);
    }

    #[test]
    fn field_limit_names_row_and_field() {
        let mut t = Tap::new(&b"a,b\n1,2\n3,xxxxxxxxxx\n"[..], u64::MAX, 5, u64::MAX, false);
        t.prime().unwrap();
        let mut sink = Vec::new();
        assert!(t.read_to_end(&mut sink).is_err());
        assert_eq!(t.overflow(), Some(OverflowAt { what: Overflow::Field(1), row: 3 }));
    }
}
