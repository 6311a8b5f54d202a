//! C2SP signed notes (`c2sp.org/signed-note`) with Ed25519 signatures.
//!
//! A note is a text ending in a newline, a blank line, then signature lines
//! `— <key name> base64(key ID ‖ signature)`. The key ID is
//! `SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]` for Ed25519.
//!
//! Verification follows the spec exactly:
//! - signatures whose (name, ID) pair is not a known key are ignored, even if the name
//!   or the ID alone matches one;
//! - a known key whose signature fails rejects the whole note;
//! - a note with no verified signature from a known key is rejected.
//!
//! Keys travel in the usual text forms: verifier keys as `name+hexid+base64(0x01 ‖ pubkey)`,
//! signer keys as `PRIVATE+KEY+name+hexid+base64(0x01 ‖ seed)`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
pub use ed25519_dalek::VerifyingKey;
use ed25519_dalek::{Signature, Signer as _, SigningKey};

use crate::types::sha256;

/// Signature type byte of Ed25519 in signed notes.
pub const ALG_ED25519: u8 = 0x01;

/// The most signature lines read from one note (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 64;

/// The largest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// Why a note or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key string is not in the expected form.
    #[error("malformed {which} key: {reason}")]
    MalformedKey {
        /// "verifier" or "signer".
        which: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key name breaks the naming rule (non-empty, no spaces, no '+').
    #[error("invalid key name {0:?}")]
    KeyName(String),
    /// The note text is not well formed.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// The note is larger than [`MAX_NOTE_BYTES`].
    #[error("note is {0} bytes, over the limit")]
    TooLarge(usize),
    /// A known key's signature did not verify.
    #[error("signature by known key {name} (id {id:08x}) does not verify")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key ID.
        id: u32,
    },
    /// No signature from a known key.
    #[error("no signature from a trusted key (signers present: {present:?})")]
    NoTrustedSignature {
        /// The key names that did sign, for the report.
        present: Vec<String>,
    },
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::KeyName(name.to_owned()));
    }
    Ok(())
}

/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pubkey)[:4]` as a big-endian integer.
pub fn key_id(name: &str, public: &VerifyingKey) -> u32 {
    let h = sha256(&[name.as_bytes(), b"\n", &[ALG_ED25519], public.as_bytes()]);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// A trusted Ed25519 note key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// A verifier for `key` under `name` (its ID derived as the spec recommends).
    ///
    /// # Errors
    /// [`NoteError::KeyName`].
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self { name: name.to_owned(), id: key_id(name, &key), key })
    }

    /// Parses `name+hexid+base64(0x01 ‖ pubkey)`; the ID must match the key.
    ///
    /// # Errors
    /// [`NoteError::MalformedKey`] or [`NoteError::KeyName`].
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::MalformedKey { which: "verifier", reason };
        // The name cannot contain '+', the hex ID cannot; base64 can: split twice only.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hexid), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+id+key"));
        };
        check_name(name)?;
        let id = parse_hex_id(hexid).ok_or(bad("key ID must be 8 lowercase hex digits"))?;
        let raw = decode_b64_canonical(b64).ok_or(bad("key is not canonical base64"))?;
        let (alg, key) = raw.split_first().ok_or(bad("empty key"))?;
        if *alg != ALG_ED25519 {
            return Err(bad("not an Ed25519 key (type byte 0x01)"));
        }
        let key: [u8; 32] = key.try_into().map_err(|_| bad("Ed25519 key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("not a valid Ed25519 point"))?;
        if key_id(name, &key) != id {
            return Err(bad("key ID does not match name and key"));
        }
        Ok(Self { name: name.to_owned(), id, key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The text form `name+hexid+base64(0x01 ‖ pubkey)`.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

impl std::fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

/// An Ed25519 note signing key with its name.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.verifier().id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed.
    ///
    /// # Errors
    /// [`NoteError::KeyName`].
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self { name: name.to_owned(), key: SigningKey::from_bytes(seed) })
    }

    /// Parses `PRIVATE+KEY+name+hexid+base64(0x01 ‖ seed)`.
    ///
    /// # Errors
    /// [`NoteError::MalformedKey`] or [`NoteError::KeyName`].
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::MalformedKey { which: "signer", reason };
        let rest = skey.strip_prefix("PRIVATE+KEY+").ok_or(bad("must start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hexid), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected PRIVATE+KEY+name+id+key"));
        };
        let id = parse_hex_id(hexid).ok_or(bad("key ID must be 8 lowercase hex digits"))?;
        let raw = decode_b64_canonical(b64).ok_or(bad("key is not canonical base64"))?;
        let (alg, seed) = raw.split_first().ok_or(bad("empty key"))?;
        if *alg != ALG_ED25519 {
            return Err(bad("not an Ed25519 key (type byte 0x01)"));
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| bad("Ed25519 seed must be 32 bytes"))?;
        let signer = Self::from_seed(name, &seed)?;
        if signer.verifier().id != id {
            return Err(bad("key ID does not match name and key"));
        }
        Ok(signer)
    }

    /// The text form `PRIVATE+KEY+name+hexid+base64(0x01 ‖ seed)`. It is a secret.
    pub fn to_skey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.verifier().id, B64.encode(raw))
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        let key = self.key.verifying_key();
        NoteVerifier { name: self.name.clone(), id: key_id(&self.name, &key), key }
    }

    /// The same key under another name (e.g. one origin per tenant).
    ///
    /// # Errors
    /// [`NoteError::KeyName`].
    pub fn renamed(&self, name: &str) -> Result<Self, NoteError> {
        Self::from_seed(name, self.key.as_bytes())
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Signs `text` and returns the complete note.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] when the text is not valid note text.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = self.verifier().id.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!("{text}\n\u{2014} {} {}\n", self.name, B64.encode(blob)))
    }
}

/// Adds `signer`'s signature to a signed note: the same text, one more signature line. A
/// checkpoint handing over from one ledger key to the next is signed by both, so the chain
/// itself shows the rotation.
///
/// # Errors
/// A parse error of the note.
pub fn cosign(note: &str, signer: &NoteSigner) -> Result<String, NoteError> {
    let parsed = parse(note)?;
    let extra = signer.sign(parsed.text)?;
    let line = &extra[parsed.text.len() + 1..];
    Ok(format!("{note}{line}"))
}

fn parse_hex_id(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Standard base64 that re-encodes to the same text (no stray padding bits, no whitespace).
pub fn decode_b64_canonical(s: &str) -> Option<Vec<u8>> {
    let raw = B64.decode(s).ok()?;
    (B64.encode(&raw) == s).then_some(raw)
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must be non-empty and end in a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character other than newline"));
    }
    Ok(())
}

/// A signature line as read from a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureLine {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub id: u32,
    /// The signature bytes after the ID.
    pub signature: Vec<u8>,
}

/// A note split into its text and signature lines, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedNote<'a> {
    /// The signed text, including its final newline.
    pub text: &'a str,
    /// The signature lines, in order.
    pub signatures: Vec<SignatureLine>,
}

/// Splits a note into text and signatures. Does not verify anything.
///
/// # Errors
/// [`NoteError::Malformed`] or [`NoteError::TooLarge`].
pub fn parse(note: &str) -> Result<ParsedNote<'_>, NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge(note.len()));
    }
    if note.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character other than newline"));
    }
    if !note.ends_with('\n') {
        return Err(NoteError::Malformed("note must end in a newline"));
    }
    // The text is separated from the signatures by the LAST blank line.
    let split = note.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let text = &note[..=split];
    let sig_block = &note[split + 2..];
    if sig_block.is_empty() {
        return Err(NoteError::Malformed("no signature lines"));
    }
    let mut signatures = Vec::new();
    for line in sig_block.strip_suffix('\n').unwrap_or(sig_block).split('\n') {
        if signatures.len() == MAX_SIGNATURES {
            return Err(NoteError::Malformed("too many signature lines"));
        }
        let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed("signature line must start with an em dash and a space"))?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed("signature line needs a name and a signature"))?;
        check_name(name).map_err(|_| NoteError::Malformed("invalid key name in a signature line"))?;
        let blob = decode_b64_canonical(b64).ok_or(NoteError::Malformed("signature is not canonical base64"))?;
        if blob.len() < 5 {
            return Err(NoteError::Malformed("signature shorter than a key ID"));
        }
        let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
        signatures.push(SignatureLine { name: name.to_owned(), id, signature: blob[4..].to_vec() });
    }
    Ok(ParsedNote { text, signatures })
}

/// Verifies a note against trusted keys; returns its text and the keys that verified.
///
/// # Errors
/// [`NoteError::BadSignature`] when a known key's signature fails,
/// [`NoteError::NoTrustedSignature`] when none verifies, or a parse error.
pub fn open<'a>(note: &'a str, trusted: &[NoteVerifier]) -> Result<(&'a str, Vec<NoteVerifier>), NoteError> {
    let parsed = parse(note)?;
    let mut verified = Vec::new();
    for line in &parsed.signatures {
        let Some(key) = trusted.iter().find(|k| k.name == line.name && k.id == line.id) else {
            continue; // unknown (name, id): ignored, as the spec requires
        };
        let ok = Signature::from_slice(&line.signature).is_ok_and(|sig| key.key.verify_strict(parsed.text.as_bytes(), &sig).is_ok());
        if !ok {
            return Err(NoteError::BadSignature { name: line.name.clone(), id: line.id });
        }
        if !verified.contains(key) {
            verified.push(key.clone());
        }
    }
    if verified.is_empty() {
        return Err(NoteError::NoTrustedSignature { present: parsed.signatures.into_iter().map(|s| s.name).collect() });
    }
    Ok((parsed.text, verified))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published example of golang.org/x/mod/sumdb/note, the reference implementation
    // of signed notes: signer and verifier keys, text and signed note.
    const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIG: &str = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

    fn published_note() -> String {
        format!("{TEXT}\n\u{2014} PeterNeumann {SIG}\n")
    }

    #[test]
    fn reproduces_the_published_example() {
        let signer = NoteSigner::parse(PETER_SKEY).unwrap();
        assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
        assert_eq!(signer.to_skey(), PETER_SKEY);
        assert_eq!(signer.sign(TEXT).unwrap(), published_note());
        let v = NoteVerifier::parse(PETER_VKEY).unwrap();
        assert_eq!(v.id(), 0xc74f_20a3);
        let note = published_note();
        let (text, by) = open(&note, &[v]).unwrap();
        assert_eq!(text, TEXT);
        assert_eq!(by[0].name(), "PeterNeumann");
    }

    #[test]
    fn signed_note_rules() {
        let peter = NoteVerifier::parse(PETER_VKEY).unwrap();
        let enoch = NoteVerifier::parse(ENOCH_VKEY).unwrap();
        let note = published_note();
        // Only unknown keys: rejected.
        assert!(matches!(open(&note, std::slice::from_ref(&enoch)), Err(NoteError::NoTrustedSignature { .. })));
        // Same name, different ID: that signature is from an unknown key and ignored.
        let same_name_other_key = NoteVerifier::new("PeterNeumann", *enoch.key()).unwrap();
        assert!(matches!(open(&note, &[same_name_other_key]), Err(NoteError::NoTrustedSignature { .. })));
        // An extra signature from an unknown key does not matter.
        let extra = format!("{note}\u{2014} Someone AAAAAAAAAAAAAAAA\n");
        assert!(open(&extra, std::slice::from_ref(&peter)).is_ok());
        // A known key whose signature fails rejects the note, even if another verifies.
        let enoch_signer = NoteSigner::from_seed("EnochRoot", &[9; 32]).unwrap();
        let enoch_trusted = enoch_signer.verifier();
        let forged =
            format!("{note}\u{2014} EnochRoot {}\n", B64.encode([enoch_trusted.id().to_be_bytes().as_slice(), &[0u8; 64]].concat()));
        assert!(matches!(open(&forged, &[peter.clone(), enoch_trusted]), Err(NoteError::BadSignature { .. })));
        // Changed text.
        let changed = note.replace("cryptography", "cryptographY");
        assert!(matches!(open(&changed, std::slice::from_ref(&peter)), Err(NoteError::BadSignature { .. })));
        // Structure errors.
        for bad in [
            TEXT.to_owned(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n\u{2014} PeterNeumann {SIG}"),
            format!("{TEXT}\n- PeterNeumann {SIG}\n"),
            format!("{TEXT}\n\u{2014} PeterNeumann {SIG}==\n"),
            format!("{TEXT}\r\n\u{2014} PeterNeumann {SIG}\n"),
            format!("{TEXT}\n\u{2014} PeterNeumann AAAA\n"),
        ] {
            assert!(open(&bad, std::slice::from_ref(&peter)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_parsing_refuses_manglings() {
        // Every proper substring and every single-byte change of the key must be refused.
        let b = PETER_VKEY.as_bytes();
        for i in 0..b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                    assert!(NoteVerifier::parse(s).is_err(), "{s}");
                }
            }
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(NoteVerifier::parse(s).is_err(), "{s}");
            }
        }
        assert!(NoteSigner::parse(PETER_VKEY).is_err());
        assert!(NoteSigner::from_seed("a b", &[0; 32]).is_err());
        assert!(NoteSigner::from_seed("a+b", &[0; 32]).is_err());
        assert!(format!("{:?}", NoteSigner::parse(PETER_SKEY).unwrap()).find("AYEK").is_none());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s);
            let _ = NoteVerifier::parse(&s);
        }
    }
}
