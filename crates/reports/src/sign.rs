//! PAdES baseline B-T signing as an incremental update, sans-IO.
//!
//! ```text
//! prepare(pdf, identity)      appends the signature dictionary, an invisible signature
//!                             field + widget in a new /AcroForm (/SigFlags 3), new
//!                             revisions of the catalog and first page, an xref section and
//!                             a trailer with /Prev; hashes the /ByteRange (everything but
//!                             /Contents) and signs the CMS signed attributes
//! .timestamp_request(nonce)   DER TimeStampReq over SHA-256(signature value); the caller
//!                             sends it to the tenant's TSA (evidence-core builds, tsa-client
//!                             or the development TSA answers)
//! .finish(response, roots)    verifies the token with evidence-core (imprint, nonce, chain
//!                             to `roots` at genTime), checks the signing certificate was
//!                             valid at genTime, embeds the token as the unsigned attribute
//!                             id-aa-signatureTimeStampToken and writes the CMS into /Contents
//! ```
//!
//! The original bytes are the unchanged prefix of the signed file. No signing-time
//! attribute is written: the signature's time is the time-stamp's genTime.

use evidence_core::rfc3161::{self, HashAlg, Imprint, TimestampOptions, ValidationTime};
use evidence_core::types::UnixMillis;
use sha2::Digest as _;

use crate::cms;
use crate::pdf::{self, Obj, PdfError};

/// Default space reserved for the CMS in `/Contents`, bytes (written as twice as many hex
/// digits). Enough for a signer chain of three certificates plus a token with its chain.
pub const DEFAULT_CONTENTS_RESERVE: usize = 24 * 1024;

/// Why a report could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The private key PEM is unreadable or not a supported key.
    #[error("signing key: {0}")]
    Key(&'static str),
    /// The certificate PEM is unreadable.
    #[error("signing certificate: {0}")]
    Certificate(String),
    /// The certificate's public key is not the signing key's.
    #[error("the signing certificate does not certify the signing key")]
    KeyMismatch,
    /// The PDF cannot take the update.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// An ASN.1 value could not be encoded (a bug or an oversized input).
    #[error("CMS encoding: {0}")]
    Encoding(#[from] der::Error),
    /// The time-stamp request could not be built.
    #[error("time-stamp request: {0}")]
    Request(#[from] rfc3161::RequestError),
    /// `finish` was called before `timestamp_request`.
    #[error("finish called before timestamp_request: there is no request to check the response against")]
    NoRequest,
    /// The TSA's answer did not verify (evidence-core's reason).
    #[error("signature time-stamp refused: {0}")]
    Timestamp(rfc3161::Rfc3161Error),
    /// The signing certificate was not valid at the time-stamp's genTime.
    #[error("the signing certificate is valid {not_before} to {not_after}, not at the time-stamp's genTime {gen_time}")]
    SignerNotValidAtGenTime {
        /// genTime.
        gen_time: UnixMillis,
        /// Certificate start.
        not_before: UnixMillis,
        /// Certificate end.
        not_after: UnixMillis,
    },
    /// The CMS does not fit the space reserved in `/Contents`.
    #[error("the signature needs {needed} bytes but {reserved} were reserved in /Contents")]
    ContentsTooSmall {
        /// CMS size.
        needed: usize,
        /// Reserved size.
        reserved: usize,
    },
}

enum Key {
    P256(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>),
}

/// A signing key with its certificate and chain (from PEM files or a key provider).
pub struct SigningIdentity {
    key: Key,
    signer: cms::Signer,
    cert: rfc3161::Certificate,
}

impl std::fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("subject", &self.cert.subject_text())
            .field("algorithm", &self.signer.signature_algorithm.to_string())
            .finish_non_exhaustive()
    }
}

impl SigningIdentity {
    /// Reads a PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) ECDSA P-256 key, or a
    /// PKCS#8 / PKCS#1 RSA key (2048 bits or more; signed with PKCS#1 v1.5 and SHA-256), and
    /// the certificate PEM: the signer's certificate first, then its chain (intermediates;
    /// the root may be included).
    ///
    /// # Errors
    /// [`SignError::Key`], [`SignError::Certificate`], [`SignError::KeyMismatch`].
    pub fn from_pem(key_pem: &str, certs_pem: &str) -> Result<Self, SignError> {
        let key = parse_key(key_pem)?;
        let certs = rfc3161::certificates_from_pem_or_der(certs_pem.as_bytes()).map_err(|e| SignError::Certificate(e.to_string()))?;
        let mut it = certs.into_iter();
        let cert = it.next().ok_or_else(|| SignError::Certificate("no certificate in the PEM".into()))?;
        let mut chain: Vec<Vec<u8>> = Vec::new();
        for c in it {
            if c.der != cert.der && !chain.contains(&c.der) {
                chain.push(c.der);
            }
        }
        let spki = subject_public_key(&cert.der)?;
        let (alg, matches) = match &key {
            Key::P256(k) => {
                let point = k.verifying_key().to_sec1_point(false);
                (cms::ECDSA_SHA256, spki.as_slice() == point.as_bytes())
            }
            Key::Rsa(k) => {
                use rsa::traits::PublicKeyParts as _;
                let public = rsa::RsaPublicKey::from(k.as_ref().as_ref());
                let ok = <rsa::RsaPublicKey as rsa::pkcs1::DecodeRsaPublicKey>::from_pkcs1_der(&spki)
                    .is_ok_and(|p| p.n() == public.n() && p.e() == public.e());
                (cms::RSA_SHA256, ok)
            }
        };
        if !matches {
            return Err(SignError::KeyMismatch);
        }
        let signer = cms::Signer::from_cert(&cert.der, chain, alg)?;
        Ok(Self { key, signer, cert })
    }

    /// The signing certificate's subject.
    pub fn subject(&self) -> String {
        self.cert.subject_text()
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::{SignatureEncoding as _, Signer as _};
        match &self.key {
            Key::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            Key::Rsa(k) => {
                let s: rsa::pkcs1v15::Signature = k.sign(msg);
                s.to_vec()
            }
        }
    }
}

/// The certificate's subjectPublicKey bits.
fn subject_public_key(der: &[u8]) -> Result<Vec<u8>, SignError> {
    use der::Decode as _;
    let c = x509_cert::Certificate::from_der(der).map_err(|e| SignError::Certificate(e.to_string()))?;
    Ok(c.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes().to_vec())
}

fn parse_key(pem: &str) -> Result<Key, SignError> {
    use p256::pkcs8::DecodePrivateKey as _;
    let trimmed = pem.trim();
    if trimmed.starts_with("-----BEGIN EC PRIVATE KEY-----") {
        let sk = p256::SecretKey::from_sec1_pem(trimmed).map_err(|_| SignError::Key("not a SEC1 P-256 key"))?;
        return Ok(Key::P256(p256::ecdsa::SigningKey::from(sk)));
    }
    if trimmed.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        let k = <rsa::RsaPrivateKey as rsa::pkcs1::DecodeRsaPrivateKey>::from_pkcs1_pem(trimmed)
            .map_err(|_| SignError::Key("not a PKCS#1 RSA key"))?;
        return rsa_key(k);
    }
    if trimmed.starts_with("-----BEGIN PRIVATE KEY-----") {
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(trimmed) {
            return Ok(Key::P256(k));
        }
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(trimmed) {
            return rsa_key(k);
        }
        return Err(SignError::Key("a PKCS#8 key that is neither ECDSA P-256 nor RSA"));
    }
    Err(SignError::Key("expected a PEM PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY (encrypted keys are not read)"))
}

fn rsa_key(k: rsa::RsaPrivateKey) -> Result<Key, SignError> {
    use rsa::traits::PublicKeyParts as _;
    if k.n().bits() < 2048 {
        return Err(SignError::Key("RSA keys under 2048 bits are refused"));
    }
    Ok(Key::Rsa(Box::new(rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k))))
}

/// Options for [`prepare_with`].
#[derive(Clone, Debug)]
pub struct SignOptions {
    /// Bytes reserved for the CMS in `/Contents` ([`DEFAULT_CONTENTS_RESERVE`]).
    pub contents_reserve: usize,
    /// The signature field's name (`/T`).
    pub field_name: String,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self { contents_reserve: DEFAULT_CONTENTS_RESERVE, field_name: "EvidenceReportSignature".into() }
    }
}

/// A document with its signature computed, waiting for the signature time-stamp.
pub struct PreparedSignature<'a> {
    identity: &'a SigningIdentity,
    /// The whole updated file, `/Contents` still zeros.
    bytes: Vec<u8>,
    /// Offset of the first hex digit inside `/Contents <...>` and the reserved byte count.
    contents_at: usize,
    reserve: usize,
    signed_attrs: der::asn1::SetOfVec<x509_cert::attr::Attribute>,
    signature: Vec<u8>,
    request: Option<rfc3161::TimeStampRequest>,
    original_sha256: [u8; 32],
}

impl std::fmt::Debug for PreparedSignature<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedSignature").field("bytes", &self.bytes.len()).field("reserve", &self.reserve).finish_non_exhaustive()
    }
}

/// A signed, time-stamped report.
#[derive(Clone, Debug)]
pub struct SignedReport {
    /// The signed PDF: the original bytes, then the incremental update.
    pub pdf: Vec<u8>,
    /// SHA-256 of the unsigned input (the `report_issued` claim's "before signing").
    pub unsigned_sha256: [u8; 32],
    /// SHA-256 of `pdf` ("after signing").
    pub signed_sha256: [u8; 32],
    /// The signature time-stamp's genTime.
    pub timestamp_gen_time: UnixMillis,
    /// The TSA's certificate subject.
    pub timestamp_authority: String,
    /// The signing certificate's subject.
    pub signer: String,
}

/// [`prepare_with`] with [`SignOptions::default`].
///
/// # Errors
/// [`SignError`].
pub fn prepare<'a>(pdf: &[u8], identity: &'a SigningIdentity) -> Result<PreparedSignature<'a>, SignError> {
    prepare_with(pdf, identity, &SignOptions::default())
}

/// Appends the signature's incremental update to `pdf` and signs it (see the module docs).
///
/// # Errors
/// [`SignError::Pdf`] for a PDF this writer cannot update, [`SignError::Encoding`].
pub fn prepare_with<'a>(pdf: &[u8], identity: &'a SigningIdentity, options: &SignOptions) -> Result<PreparedSignature<'a>, SignError> {
    let parsed = pdf::parse(pdf)?;
    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let base = parsed.size;
    let (sig_n, field_n, form_n) = (base, base + 1, base + 2);
    let mut offsets: Vec<(u32, u16, usize)> = Vec::new();

    // The signature dictionary, with fixed-width placeholders.
    offsets.push((sig_n, 0, out.len()));
    out.extend_from_slice(
        format!("{sig_n} 0 obj\n<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [").as_bytes(),
    );
    let byte_range_at = out.len();
    out.extend_from_slice(&[b' '; 40]);
    out.extend_from_slice(b"] /Contents <");
    let contents_at = out.len();
    out.resize(out.len() + 2 * options.contents_reserve, b'0');
    out.extend_from_slice(b">>>\nendobj\n");

    let field_name = pdf_text_string(&options.field_name);
    offsets.push((field_n, 0, out.len()));
    out.extend_from_slice(
        format!(
            "{field_n} 0 obj\n<</Type /Annot /Subtype /Widget /FT /Sig /T {field_name} /V {sig_n} 0 R /F 132 /Rect [0 0 0 0] /P {} {} R>>\nendobj\n",
            parsed.first_page.0, parsed.first_page.1
        )
        .as_bytes(),
    );
    offsets.push((form_n, 0, out.len()));
    out.extend_from_slice(format!("{form_n} 0 obj\n<</Fields [{field_n} 0 R] /SigFlags 3>>\nendobj\n").as_bytes());

    let (rn, rg, mut root) = parsed.root;
    pdf::set(&mut root, b"/AcroForm", Obj::Ref(form_n, 0));
    offsets.push((rn, rg, out.len()));
    write_obj(&mut out, rn, rg, &root);
    let (pn, pg, mut page) = parsed.first_page;
    let mut annots = match page.get(b"/Annots") {
        Some(Obj::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    annots.push(Obj::Ref(field_n, 0));
    pdf::set(&mut page, b"/Annots", Obj::Array(annots));
    if pn != rn {
        offsets.push((pn, pg, out.len()));
        write_obj(&mut out, pn, pg, &page);
    }

    // Cross-reference section: one subsection per run of consecutive numbers.
    offsets.sort_unstable_by_key(|o| o.0);
    let xref_at = out.len();
    out.extend_from_slice(b"xref\n0 1\n0000000000 65535 f \n");
    let mut i = 0;
    while i < offsets.len() {
        let mut j = i + 1;
        while j < offsets.len() && offsets[j].0 == offsets[j - 1].0 + 1 {
            j += 1;
        }
        out.extend_from_slice(format!("{} {}\n", offsets[i].0, j - i).as_bytes());
        for o in &offsets[i..j] {
            out.extend_from_slice(format!("{:010} {:05} n \n", o.2, o.1).as_bytes());
        }
        i = j;
    }
    let mut trailer = format!("trailer\n<</Size {} /Root {rn} {rg} R /Prev {}", form_n + 1, parsed.startxref).into_bytes();
    if let Some(id) = &parsed.id {
        trailer.extend_from_slice(b" /ID ");
        id.write(&mut trailer);
    }
    trailer.extend_from_slice(format!(">>\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    out.extend_from_slice(&trailer);

    // /ByteRange: everything except `<hex>` of /Contents.
    let gap_start = contents_at - 1;
    let gap_end = contents_at + 2 * options.contents_reserve + 1;
    let range = format!("0 {gap_start} {gap_end} {}", out.len() - gap_end);
    if range.len() > 40 {
        return Err(PdfError::Unsupported("a document over 10^12 bytes").into());
    }
    out[byte_range_at..byte_range_at + range.len()].copy_from_slice(range.as_bytes());

    let mut h = sha2::Sha256::new();
    h.update(&out[..gap_start]);
    h.update(&out[gap_end..]);
    let digest: [u8; 32] = h.finalize().into();
    let signed_attrs = cms::signed_attributes(&identity.signer, &digest)?;
    let signature = identity.sign(&cms::signed_attributes_der(&signed_attrs)?);
    Ok(PreparedSignature {
        identity,
        bytes: out,
        contents_at,
        reserve: options.contents_reserve,
        signed_attrs,
        signature,
        request: None,
        original_sha256: sha2::Sha256::digest(pdf).into(),
    })
}

fn write_obj(out: &mut Vec<u8>, n: u32, g: u16, o: &Obj) {
    out.extend_from_slice(format!("{n} {g} obj\n").as_bytes());
    o.write(out);
    out.extend_from_slice(b"\nendobj\n");
}

/// A PDF literal string for ASCII text (other characters replaced by `_`).
fn pdf_text_string(s: &str) -> String {
    let clean: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') { c } else { '_' }).collect();
    format!("({clean})")
}

impl PreparedSignature<'_> {
    /// The signature value the time-stamp must cover.
    pub fn signature_value(&self) -> &[u8] {
        &self.signature
    }

    /// DER `TimeStampReq` for the signature time-stamp: SHA-256 of the signature value,
    /// `nonce` (fresh random bytes from the caller), certReq true. Kept to check the answer.
    ///
    /// # Errors
    /// [`SignError::Request`] (does not happen for SHA-256).
    pub fn timestamp_request(&mut self, nonce: [u8; 8]) -> Result<Vec<u8>, SignError> {
        let digest = sha2::Sha256::digest(&self.signature);
        let der = rfc3161::request_for_digest(HashAlg::Sha256, &digest, &nonce, true, None)?;
        let parsed = rfc3161::parse_request(&der).map_err(|e| SignError::Timestamp(e.into()))?;
        self.request = Some(parsed);
        Ok(der)
    }

    /// Verifies the TSA's `TimeStampResp` (DER) with evidence-core against the request and
    /// `tsa_roots` at genTime, then embeds the token and writes the CMS into `/Contents`.
    ///
    /// # Errors
    /// [`SignError::NoRequest`], [`SignError::Timestamp`] with evidence-core's reason,
    /// [`SignError::SignerNotValidAtGenTime`], [`SignError::ContentsTooSmall`].
    pub fn finish(self, tsa_response: &[u8], tsa_roots: &[rfc3161::Certificate]) -> Result<SignedReport, SignError> {
        let request = self.request.as_ref().ok_or(SignError::NoRequest)?;
        let digest = sha2::Sha256::digest(&self.signature);
        let opts = TimestampOptions {
            imprint: Some(Imprint::Digest { alg: HashAlg::Sha256, digest: &digest }),
            request: Some(request),
            trust_anchors: tsa_roots,
            untrusted: &[],
            at: ValidationTime::GenTime,
        };
        let report = rfc3161::verify_response(tsa_response, &opts);
        if let Err(e) = report.outcome {
            return Err(SignError::Timestamp(e));
        }
        let facts = report.facts.ok_or(SignError::Timestamp(rfc3161::Rfc3161Error::NoToken))?;
        let response = rfc3161::parse_response(tsa_response).map_err(|e| SignError::Timestamp(e.into()))?;
        let token = response.token.ok_or(SignError::Timestamp(rfc3161::Rfc3161Error::NoToken))?;
        let cert = &self.identity.cert;
        if !cert.valid_at(facts.gen_time) {
            return Err(SignError::SignerNotValidAtGenTime {
                gen_time: facts.gen_time,
                not_before: cert.not_before,
                not_after: cert.not_after,
            });
        }
        let cms = cms::content_info(&self.identity.signer, self.signed_attrs, &self.signature, Some(&token.der))?;
        if cms.len() > self.reserve {
            return Err(SignError::ContentsTooSmall { needed: cms.len(), reserved: self.reserve });
        }
        let mut pdf = self.bytes;
        let hex = hex::encode(&cms);
        pdf[self.contents_at..self.contents_at + hex.len()].copy_from_slice(hex.as_bytes());
        let signed_sha256 = sha2::Sha256::digest(&pdf).into();
        Ok(SignedReport {
            pdf,
            unsigned_sha256: self.original_sha256,
            signed_sha256,
            timestamp_gen_time: facts.gen_time,
            timestamp_authority: facts.signer_chain.first().cloned().unwrap_or_default(),
            signer: cert.subject_text(),
        })
    }
}
