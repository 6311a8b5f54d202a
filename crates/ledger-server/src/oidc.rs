//! OpenID Connect ID tokens that assert multi-factor authentication, for human users.
//!
//! [`validate`] checks a compact-serialised JWS ID token against a [`Jwks`] and an
//! [`IdTokenPolicy`]:
//!
//! - the signature, RS256 (2048 to 8192-bit RSA) or ES256 (P-256), verified with `ring`
//!   before any claim is read. Every other `alg` (`none`, HMAC, ...) is refused, as is any
//!   `crit` header. Keys come only from the configured set: `jku`, `jwk`, `x5u` and `x5c`
//!   headers are ignored.
//! - the claims: `iss` exactly, `aud` containing the audience (and `azp` equal to it when
//!   there are several audiences), `exp` / `nbf` / `iat` with the clock leeway, a non-empty
//!   `sub`, and MFA: `amr` contains `"mfa"`, or `acr` is one of the accepted values. An
//!   `email` whose `email_verified` is false is dropped. Tokens typed `at+jwt` (OAuth access
//!   tokens) are refused.
//!
//! Not checked: revocation (there is no token or session revocation lookup); `nonce`,
//! `at_hash` and `c_hash` (the ledger is not the relying party that started the login, so it
//! has no nonce to compare). Encrypted tokens (JWE) are not supported and are refused as
//! malformed.
//!
//! [`KeySource`] loads the key set from an `https://` URL or a file and caches it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Map, Value};
use tsa_client::error_chain;

/// The longest ID token accepted, in bytes.
pub const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;

/// The largest JSON Web Key Set accepted, in bytes.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// Timeout of one JWKS fetch (connection, request and body).
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Default minimum interval between two key loads.
const DEFAULT_REFETCH_AFTER: Duration = Duration::from_mins(1);
/// While no key set has ever been loaded, a failed load is retried after at most this long.
const RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(5);
/// Cached keys are reloaded on first use after this long, so that keys withdrawn by the
/// identity provider stop being trusted.
const MAX_KEY_AGE: Duration = Duration::from_hours(1);
/// A `kid` is kept in errors up to this many characters.
const MAX_KID_CHARS: usize = 128;

fn default_leeway() -> u64 {
    60
}

/// What an ID token must say to be accepted (issuer, audience, MFA, clock leeway).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdTokenPolicy {
    /// The issuer (`iss`), compared exactly.
    pub issuer: String,
    /// The audience (`aud`): the client id tokens are issued to.
    pub audience: String,
    /// `acr` values accepted as proof of MFA when `amr` lacks "mfa" (empty: `amr` must contain "mfa").
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// Clock leeway for exp/nbf/iat, seconds (default 60).
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

/// Why an ID token or a key set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The token is not a well-formed compact JWS with JSON header and claims.
    #[error("malformed ID token: {0}")]
    Malformed(String),
    /// The header's `alg` is not RS256 or ES256.
    #[error("unsupported ID token algorithm {0} (RS256 and ES256 are accepted)")]
    UnsupportedAlgorithm(String),
    /// No key of the set fits the token's algorithm and `kid` (the `kid`, if any).
    #[error("no matching signing key for {}", describe_kid(.0.as_deref()))]
    UnknownKey(Option<String>),
    /// The signature does not verify.
    #[error("ID token signature does not verify")]
    BadSignature,
    /// `iss` is not the configured issuer.
    #[error("ID token issuer is not the configured issuer")]
    WrongIssuer,
    /// `aud` does not contain the configured audience, or `azp` does not name it.
    #[error("ID token audience is not the configured audience")]
    WrongAudience,
    /// `exp` is past (beyond the leeway).
    #[error("ID token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("ID token is not yet valid")]
    NotYetValid,
    /// Neither `amr` nor `acr` asserts multi-factor authentication.
    #[error("ID token does not assert multi-factor authentication")]
    NoMfa,
    /// The JSON Web Key Set cannot be used.
    #[error("bad JSON Web Key Set: {0}")]
    BadKeySet(String),
    /// The keys could not be loaded.
    #[error("ID token signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

impl OidcError {
    /// A short stable code for logs and API errors: "malformed", "unsupported_alg", "unknown_key", "bad_signature", "wrong_issuer", "wrong_audience", "expired", "not_yet_valid", "no_mfa", "bad_key_set", "keys_unavailable".
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm(_) => "unsupported_alg",
            Self::UnknownKey(_) => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::NoMfa => "no_mfa",
            Self::BadKeySet(_) => "bad_key_set",
            Self::KeysUnavailable(_) => "keys_unavailable",
        }
    }
}

fn describe_kid(kid: Option<&str>) -> String {
    // Debug formatting escapes quotes and control characters (the kid is attacker-chosen).
    kid.map_or_else(|| "a token without kid".to_owned(), |k| format!("kid {k:?}"))
}

fn malformed(what: &str) -> OidcError {
    OidcError::Malformed(what.to_owned())
}

/// A short, printable rendering of an attacker-chosen `alg` header value for errors.
fn describe_alg(alg: Option<&Value>) -> String {
    match alg {
        None => "(missing)".to_owned(),
        Some(Value::String(s)) if s.len() <= 32 && s.bytes().all(|b| b.is_ascii_graphic()) => format!("{s:?}"),
        Some(Value::String(_)) => "(unprintable)".to_owned(),
        Some(_) => "(not a string)".to_owned(),
    }
}

/// The two signature algorithms accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Rs256,
    Es256,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

/// Public key material of a usable key.
#[derive(Clone)]
enum KeyMaterial {
    /// RSA modulus and public exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// A P-256 point, uncompressed SEC 1 form (0x04 || x || y), checked to be on the curve.
    P256 { point: Vec<u8> },
}

impl KeyMaterial {
    fn alg(&self) -> Alg {
        match self {
            Self::Rsa { .. } => Alg::Rs256,
            Self::P256 { .. } => Alg::Es256,
        }
    }

    /// Verifies `signature` over `message`; `true` when it verifies.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Rsa { n, e } => ring::signature::RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }
                .verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            Self::P256 { point } => {
                // JWS ES256 signatures are the fixed 64-byte R || S (RFC 7518 section 3.4).
                signature.len() == 64
                    && ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point.as_slice())
                        .verify(message, signature)
                        .is_ok()
            }
        }
    }
}

/// One usable key of a set.
#[derive(Clone)]
struct Jwk {
    kid: Option<String>,
    key: KeyMaterial,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Public keys, but there is no need to print them.
        let kind = match &self.key {
            KeyMaterial::Rsa { n, .. } => format!("RSA-{}", bit_length(n)),
            KeyMaterial::P256 { .. } => "EC P-256".to_owned(),
        };
        f.debug_struct("Jwk").field("kid", &self.kid).field("kind", &kind).finish()
    }
}

/// A parsed JSON Web Key Set (RFC 7517): only RSA keys (for RS256) and EC P-256 keys (for ES256) are kept; other keys are ignored, a set with no usable key is an error.
#[derive(Debug, Clone)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JSON Web Key Set (`{"keys": [...]}`).
    ///
    /// Keys are kept when they are RSA keys of 2048 to 8192 bits or EC keys on P-256 (a
    /// point on the curve), with `alg` (if present) RS256 or ES256 respectively, `use` (if
    /// present) "sig" and `key_ops` (if present) containing "verify". Keys carrying private
    /// parameters are ignored.
    ///
    /// # Errors
    /// [`OidcError::BadKeySet`] for input over 1 MiB, input that is not a JSON object with a
    /// `keys` array, or a set without a usable key.
    pub fn parse(json: &[u8]) -> Result<Self, OidcError> {
        if json.len() > MAX_JWKS_BYTES {
            return Err(OidcError::BadKeySet(format!("larger than {MAX_JWKS_BYTES} bytes")));
        }
        let Ok(Value::Object(set)) = serde_json::from_slice::<Value>(json) else {
            return Err(OidcError::BadKeySet("not a JSON object".to_owned()));
        };
        let Some(Value::Array(entries)) = set.get("keys") else {
            return Err(OidcError::BadKeySet("no \"keys\" array".to_owned()));
        };
        let mut keys = Vec::new();
        let mut first_refusal = None;
        for entry in entries {
            match parse_jwk(entry) {
                Ok(key) => keys.push(key),
                Err(why) => {
                    first_refusal.get_or_insert(why);
                }
            }
        }
        if keys.is_empty() {
            let why = first_refusal.map_or_else(String::new, |w| format!(" (first key: {w})"));
            return Err(OidcError::BadKeySet(format!("no usable RS256 or ES256 key among {} keys{why}", entries.len())));
        }
        Ok(Self { keys })
    }

    /// The number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no usable key (never, for a parsed set).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a usable key has this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys a token with this `alg` and `kid` may be signed with.
    fn candidates(&self, alg: Alg, kid: Option<&str>) -> Vec<&KeyMaterial> {
        let fitting = self.keys.iter().filter(|k| k.key.alg() == alg);
        if let Some(kid) = kid {
            fitting.filter(|k| k.kid.as_deref() == Some(kid)).map(|k| &k.key).collect()
        } else {
            let all: Vec<&KeyMaterial> = fitting.map(|k| &k.key).collect();
            // Without a kid the key must be unambiguous.
            if all.len() == 1 { all } else { Vec::new() }
        }
    }
}

/// The number of significant bits of a big-endian unsigned integer.
fn bit_length(be: &[u8]) -> usize {
    let trimmed = strip_leading_zeros(be);
    match trimmed.first() {
        None => 0,
        Some(&top) => (trimmed.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

fn strip_leading_zeros(be: &[u8]) -> &[u8] {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    be.get(start..).unwrap_or_default()
}

/// A base64url (unpadded) member of a JWK.
fn b64_member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, &'static str> {
    let Some(Value::String(s)) = jwk.get(name) else {
        return Err("a required member is missing or not a string");
    };
    B64URL.decode(s).map_err(|_| "a member is not unpadded base64url")
}

/// One key of a set, or why it is not usable (a fixed message without key material).
fn parse_jwk(entry: &Value) -> Result<Jwk, &'static str> {
    let Value::Object(jwk) = entry else {
        return Err("not a JSON object");
    };
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err("kid is not a string"),
    };
    match jwk.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(_) => return Err("use is not \"sig\""),
    }
    match jwk.get("key_ops") {
        None => {}
        Some(Value::Array(ops)) if ops.iter().any(|op| op.as_str() == Some("verify")) => {}
        Some(_) => return Err("key_ops does not include \"verify\""),
    }
    // A published private key is compromised: never use it.
    if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"].iter().any(|m| jwk.contains_key(*m)) {
        return Err("carries private key parameters");
    }
    let key = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => parse_rsa(jwk)?,
        Some("EC") => parse_p256(jwk)?,
        Some(_) => return Err("key type is not RSA or EC"),
        None => return Err("kty is missing or not a string"),
    };
    match jwk.get("alg") {
        None => {}
        Some(Value::String(a)) if a == key.alg().name() => {}
        Some(_) => return Err("alg is not RS256 (RSA) or ES256 (EC P-256)"),
    }
    Ok(Jwk { kid, key })
}

fn parse_rsa(jwk: &Map<String, Value>) -> Result<KeyMaterial, &'static str> {
    // RFC 7518 wants minimal encodings; tolerate leading zero bytes, which ring refuses.
    let n = strip_leading_zeros(&b64_member(jwk, "n")?).to_vec();
    let e = strip_leading_zeros(&b64_member(jwk, "e")?).to_vec();
    if !(2048..=8192).contains(&bit_length(&n)) {
        return Err("RSA modulus is not 2048 to 8192 bits");
    }
    if n.last().is_none_or(|b| b & 1 == 0) {
        return Err("RSA modulus is even");
    }
    // ring accepts odd public exponents from 3 to 2^33 - 1.
    if e.len() > 5 {
        return Err("RSA public exponent is too large");
    }
    let value = e.iter().fold(0_u64, |acc, &b| (acc << 8) | u64::from(b));
    if value < 3 || value & 1 == 0 || value > (1 << 33) - 1 {
        return Err("RSA public exponent is not an odd number from 3 to 2^33 - 1");
    }
    Ok(KeyMaterial::Rsa { n, e })
}

fn parse_p256(jwk: &Map<String, Value>) -> Result<KeyMaterial, &'static str> {
    if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
        return Err("EC curve is not P-256");
    }
    let x = b64_member(jwk, "x")?;
    let y = b64_member(jwk, "y")?;
    if x.len() != 32 || y.len() != 32 {
        return Err("EC P-256 coordinates are not 32 bytes each");
    }
    let mut point = Vec::with_capacity(65);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    if p256::PublicKey::from_sec1_bytes(&point).is_err() {
        return Err("EC point is not on P-256");
    }
    Ok(KeyMaterial::P256 { point })
}

/// What a valid token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    /// The subject (`sub`): the identity provider's stable identifier of the user.
    pub sub: String,
    /// The e-mail address (`email`), unless absent, empty or `email_verified` is false.
    pub email: Option<String>,
    /// Authentication methods (`amr`).
    pub amr: Vec<String>,
    /// Authentication context class (`acr`).
    pub acr: Option<String>,
    /// Expiry (`exp`), Unix seconds.
    pub exp: i64,
}

impl IdClaims {
    /// True when `principal` is this token's `sub` (exactly) or its `email` (ASCII case-insensitive).
    pub fn names(&self, principal: &str) -> bool {
        !principal.is_empty() && (principal == self.sub || self.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(principal)))
    }
}

/// A token split and decoded (nothing in it trusted yet).
struct Parts<'a> {
    signing_input: &'a str,
    header: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

fn split(token: &str) -> Result<Parts<'_>, OidcError> {
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(OidcError::Malformed(format!("longer than {MAX_ID_TOKEN_BYTES} bytes")));
    }
    if !token.is_ascii() {
        return Err(malformed("not ASCII"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("not three dot-separated parts (encrypted tokens are not supported)"));
    };
    let signing_input = token.get(..header.len() + 1 + payload.len()).ok_or_else(|| malformed("not three dot-separated parts"))?;
    let decode =
        |part: &str, what: &str| B64URL.decode(part).map_err(|_| OidcError::Malformed(format!("{what} is not unpadded base64url")));
    Ok(Parts {
        signing_input,
        header: decode(header, "header")?,
        payload: decode(payload, "payload")?,
        signature: decode(signature, "signature")?,
    })
}

fn json_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, OidcError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(OidcError::Malformed(format!("{what} is not a JSON object"))),
    }
}

/// The algorithm and `kid` of a header, refusing what is not understood.
fn check_header(header: &Map<String, Value>) -> Result<(Alg, Option<&str>), OidcError> {
    let alg = match header.get("alg") {
        Some(Value::String(a)) if a == "RS256" => Alg::Rs256,
        Some(Value::String(a)) if a == "ES256" => Alg::Es256,
        other => return Err(OidcError::UnsupportedAlgorithm(describe_alg(other))),
    };
    if header.contains_key("crit") {
        return Err(malformed("crit header (no extension is understood)"));
    }
    if let Some(typ) = header.get("typ") {
        let Value::String(typ) = typ else {
            return Err(malformed("typ is not a string"));
        };
        let typ = typ.to_ascii_lowercase();
        if typ == "at+jwt" || typ == "application/at+jwt" {
            return Err(malformed("an access token (typ at+jwt), not an ID token"));
        }
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => return Err(malformed("kid is not a string")),
    };
    Ok((alg, kid))
}

fn verify_signature(jwks: &Jwks, alg: Alg, kid: Option<&str>, parts: &Parts<'_>) -> Result<(), OidcError> {
    let candidates = jwks.candidates(alg, kid);
    if candidates.is_empty() {
        return Err(OidcError::UnknownKey(kid.map(|k| k.chars().take(MAX_KID_CHARS).collect())));
    }
    // Several keys may share a kid; every key of the set is trusted, so any one may verify.
    if candidates.iter().any(|key| key.verify(parts.signing_input.as_bytes(), &parts.signature)) {
        Ok(())
    } else {
        Err(OidcError::BadSignature)
    }
}

/// A NumericDate (RFC 7519): a JSON number, integer part, saturating.
fn numeric_date(value: &Value, name: &str) -> Result<i64, OidcError> {
    if let Some(i) = value.as_i64() {
        return Ok(i);
    }
    if value.is_u64() {
        return Ok(i64::MAX);
    }
    match value.as_f64() {
        Some(f) if f.is_finite() => {
            // `as` saturates at the i64 bounds; the value is finite.
            #[allow(clippy::cast_possible_truncation)]
            let t = f.trunc() as i64;
            Ok(t)
        }
        _ => Err(OidcError::Malformed(format!("{name} is not a number"))),
    }
}

fn optional_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, OidcError> {
    claims.get(name).map(|v| numeric_date(v, name)).transpose()
}

fn optional_string<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, OidcError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(OidcError::Malformed(format!("{name} is not a string"))),
    }
}

fn check_audience(claims: &Map<String, Value>, audience: &str) -> Result<(), OidcError> {
    let audiences: Vec<&str> = match claims.get("aud") {
        None => return Err(OidcError::WrongAudience),
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => {
            list.iter().map(|a| a.as_str().ok_or_else(|| malformed("aud contains a non-string"))).collect::<Result<_, _>>()?
        }
        Some(_) => return Err(malformed("aud is not a string or an array of strings")),
    };
    if !audiences.contains(&audience) {
        return Err(OidcError::WrongAudience);
    }
    let azp = optional_string(claims, "azp")?;
    if audiences.len() > 1 && azp != Some(audience) {
        return Err(OidcError::WrongAudience);
    }
    Ok(())
}

fn check_claims(claims: &Map<String, Value>, policy: &IdTokenPolicy, now: i64) -> Result<IdClaims, OidcError> {
    if claims.get("iss").and_then(Value::as_str) != Some(policy.issuer.as_str()) {
        return Err(OidcError::WrongIssuer);
    }
    check_audience(claims, &policy.audience)?;

    let leeway = i64::try_from(policy.leeway_seconds).unwrap_or(i64::MAX);
    let exp = numeric_date(claims.get("exp").ok_or_else(|| malformed("exp is missing"))?, "exp")?;
    if now > exp.saturating_add(leeway) {
        return Err(OidcError::Expired);
    }
    let latest = now.saturating_add(leeway);
    if optional_date(claims, "nbf")?.is_some_and(|nbf| latest < nbf) {
        return Err(OidcError::NotYetValid);
    }
    if optional_date(claims, "iat")?.is_some_and(|iat| iat > latest) {
        return Err(OidcError::NotYetValid);
    }

    let sub = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(malformed("sub is missing, empty or not a string")),
    };
    let verified = match claims.get("email_verified") {
        None => true,
        Some(Value::Bool(b)) => *b,
        // Some providers send the boolean as a string.
        Some(Value::String(s)) => s == "true",
        Some(_) => false,
    };
    let email = optional_string(claims, "email")?.filter(|e| verified && !e.is_empty()).map(str::to_owned);
    let amr: Vec<String> = match claims.get("amr") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|m| m.as_str().map(str::to_owned).ok_or_else(|| malformed("amr contains a non-string")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(malformed("amr is not an array")),
    };
    let acr = optional_string(claims, "acr")?.map(str::to_owned);

    let mfa_by_amr = amr.iter().any(|m| m == "mfa");
    let mfa_by_acr = acr.as_ref().is_some_and(|a| policy.acr_values.contains(a));
    if !mfa_by_amr && !mfa_by_acr {
        return Err(OidcError::NoMfa);
    }
    Ok(IdClaims { sub, email, amr, acr, exp })
}

/// Validates a compact-serialised JWS ID token against `jwks` and `policy` at `now` (Unix seconds).
///
/// The signature is verified before any claim is read.
///
/// # Errors
/// The [`OidcError`] naming the first check that failed.
pub fn validate(token: &str, jwks: &Jwks, policy: &IdTokenPolicy, now: i64) -> Result<IdClaims, OidcError> {
    let parts = split(token)?;
    let header = json_object(&parts.header, "header")?;
    let (alg, kid) = check_header(&header)?;
    verify_signature(jwks, alg, kid, &parts)?;
    let claims = json_object(&parts.payload, "payload")?;
    check_claims(&claims, policy, now)
}

/// Where a key source reads its key set.
enum Origin {
    Url { url: reqwest::Url, client: reqwest::Client },
    File(PathBuf),
}

/// Keys in use and when they were loaded.
#[derive(Clone)]
struct Cached {
    jwks: Arc<Jwks>,
    loaded_at: Instant,
}

/// The last load attempt (guarded by the load lock).
#[derive(Default)]
struct LoadState {
    last_attempt: Option<Instant>,
    last_error: Option<OidcError>,
}

/// What a reload attempt gave.
enum Reload {
    /// Keys newer than those the caller saw.
    New(Arc<Jwks>),
    /// Not attempted: the last attempt is too recent (its error, if it failed).
    RateLimited(Option<OidcError>),
    /// Attempted and failed.
    Failed(OidcError),
}

/// Where the keys come from, with caching.
///
/// Keys are loaded on first use, reloaded when a token names a key that is not in the set
/// (at most once per `refetch_after`), and reloaded on first use after an hour so that
/// withdrawn keys stop being trusted (if that reload fails, the older keys stay in use).
/// A failed load gives [`OidcError::KeysUnavailable`]. Redirects are not followed.
pub struct KeySource {
    origin: Origin,
    refetch_after: Duration,
    keys: tokio::sync::RwLock<Option<Cached>>,
    /// Serialises loads (held across a load; the key lock is not).
    load: tokio::sync::Mutex<LoadState>,
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("KeySource");
        match &self.origin {
            Origin::Url { url, .. } => s.field("url", &url.as_str()),
            Origin::File(path) => s.field("file", path),
        };
        s.field("refetch_after", &self.refetch_after).finish_non_exhaustive()
    }
}

impl KeySource {
    fn new(origin: Origin) -> Self {
        Self {
            origin,
            refetch_after: DEFAULT_REFETCH_AFTER,
            keys: tokio::sync::RwLock::new(None),
            load: tokio::sync::Mutex::new(LoadState::default()),
        }
    }

    /// Keys fetched from an https:// (or, for tests and loopback, http://127.0.0.1 / http://localhost) JWKS URL with reqwest (timeout 10 s, response capped at 1 MiB), cached; re-fetched when a token names a kid not in the cache, at most once per `refetch_after` (default 60 s, settable with `with_refetch_after(Duration)`). Refuse other http:// URLs at construction with BadKeySet.
    ///
    /// Installs the rustls `ring` crypto provider as process default if none is installed.
    ///
    /// # Errors
    /// [`OidcError::BadKeySet`] for an unparsable URL, another scheme, plain http to a host
    /// other than the loopback ones above, or credentials in the URL;
    /// [`OidcError::KeysUnavailable`] when the HTTP client cannot be built.
    pub fn url(url: &str) -> Result<Self, OidcError> {
        let url = reqwest::Url::parse(url).map_err(|e| OidcError::BadKeySet(format!("JWKS URL does not parse: {e}")))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost"));
        match url.scheme() {
            "https" if url.host_str().is_some_and(|h| !h.is_empty()) => {}
            "http" if loopback => {}
            "http" => return Err(OidcError::BadKeySet("JWKS URL must be https:// (plain http only to 127.0.0.1 or localhost)".to_owned())),
            _ => return Err(OidcError::BadKeySet("JWKS URL must be https://".to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OidcError::BadKeySet("JWKS URL must not carry credentials".to_owned()));
        }
        let tls = tsa_client::client_tls(&[]).map_err(|e| OidcError::KeysUnavailable(format!("TLS configuration: {}", error_chain(&e))))?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ledger-server/", env!("CARGO_PKG_VERSION")));
        if loopback {
            builder = builder.no_proxy();
        }
        let client =
            builder.build().map_err(|e| OidcError::KeysUnavailable(format!("cannot build the HTTP client: {}", error_chain(&e))))?;
        Ok(Self::new(Origin::Url { url, client }))
    }

    /// Keys read from a JWKS file, re-read when a token names an unknown kid (same rate limit).
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::new(Origin::File(path.into()))
    }

    /// Sets the minimum interval between two loads (default 60 s).
    #[must_use]
    pub fn with_refetch_after(mut self, d: Duration) -> Self {
        self.refetch_after = d;
        self
    }

    /// Validates `token`, loading keys on first use and once more on an unknown kid.
    ///
    /// # Errors
    /// As [`validate`], and [`OidcError::KeysUnavailable`] when keys are needed and cannot
    /// be loaded.
    pub async fn validate(&self, token: &str, policy: &IdTokenPolicy, now: i64) -> Result<IdClaims, OidcError> {
        let current = self.keys.read().await.clone();
        match current {
            None => match self.reload(None).await {
                Reload::New(jwks) => validate(token, &jwks, policy, now),
                Reload::RateLimited(last) => Err(last.unwrap_or_else(|| OidcError::KeysUnavailable("no key set loaded yet".to_owned()))),
                Reload::Failed(e) => Err(e),
            },
            Some(cached) if cached.loaded_at.elapsed() >= MAX_KEY_AGE => {
                // Refresh old keys, but do not wait for a load another request is running, and
                // keep the older keys rather than refuse everyone while the provider is down.
                let reloaded = match self.load.try_lock() {
                    Ok(mut state) => self.reload_locked(&mut state, Some(&cached.jwks)).await,
                    Err(_) => Reload::RateLimited(None),
                };
                match reloaded {
                    Reload::New(jwks) => validate(token, &jwks, policy, now),
                    Reload::RateLimited(_) | Reload::Failed(_) => validate(token, &cached.jwks, policy, now),
                }
            }
            Some(cached) => match validate(token, &cached.jwks, policy, now) {
                Err(unknown @ OidcError::UnknownKey(_)) => match self.reload(Some(&cached.jwks)).await {
                    Reload::New(jwks) => validate(token, &jwks, policy, now),
                    Reload::RateLimited(_) => Err(unknown),
                    Reload::Failed(e) => Err(e),
                },
                other => other,
            },
        }
    }

    /// Loads the key set unless another task already replaced `seen` or the last attempt is
    /// too recent.
    async fn reload(&self, seen: Option<&Arc<Jwks>>) -> Reload {
        let mut state = self.load.lock().await;
        self.reload_locked(&mut state, seen).await
    }

    /// [`Self::reload`] with the load lock held.
    async fn reload_locked(&self, state: &mut LoadState, seen: Option<&Arc<Jwks>>) -> Reload {
        let current = self.keys.read().await.clone();
        if let Some(cached) = &current {
            let replaced = seen.is_none_or(|seen| !Arc::ptr_eq(seen, &cached.jwks));
            if replaced && cached.loaded_at.elapsed() < MAX_KEY_AGE {
                return Reload::New(Arc::clone(&cached.jwks));
            }
        }
        let interval = if current.is_some() { self.refetch_after } else { self.refetch_after.min(RETRY_WITHOUT_KEYS) };
        if state.last_attempt.is_some_and(|t| t.elapsed() < interval) {
            return Reload::RateLimited(state.last_error.clone());
        }
        state.last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(jwks) => {
                let jwks = Arc::new(jwks);
                *self.keys.write().await = Some(Cached { jwks: Arc::clone(&jwks), loaded_at: Instant::now() });
                state.last_error = None;
                tracing::debug!(keys = jwks.len(), "loaded the OIDC signing keys");
                Reload::New(jwks)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot load the OIDC signing keys");
                state.last_error = Some(e.clone());
                Reload::Failed(e)
            }
        }
    }

    async fn fetch(&self) -> Result<Jwks, OidcError> {
        let bytes = match &self.origin {
            Origin::Url { url, client } => fetch_url(client, url).await?,
            Origin::File(path) => read_file(path).await?,
        };
        Jwks::parse(&bytes).map_err(|e| OidcError::KeysUnavailable(e.to_string()))
    }
}

async fn fetch_url(client: &reqwest::Client, url: &reqwest::Url) -> Result<Vec<u8>, OidcError> {
    let unavailable = |e: &reqwest::Error| OidcError::KeysUnavailable(format!("fetching the JWKS: {}", error_chain(e)));
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/jwk-set+json, application/json")
        .send()
        .await
        .map_err(|e| unavailable(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(OidcError::KeysUnavailable(format!("the JWKS URL answered HTTP {} (redirects are not followed)", status.as_u16())));
    }
    let too_large = || OidcError::KeysUnavailable(format!("the JWKS is larger than {MAX_JWKS_BYTES} bytes"));
    if response.content_length().is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(&e))? {
        if body.len().saturating_add(chunk.len()) > MAX_JWKS_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_file(path: &std::path::Path) -> Result<Vec<u8>, OidcError> {
    use tokio::io::AsyncReadExt as _;
    let unavailable = |e: &std::io::Error| OidcError::KeysUnavailable(format!("reading the JWKS file {}: {e}", path.display()));
    let file = tokio::fs::File::open(path).await.map_err(|e| unavailable(&e))?;
    let mut body = Vec::new();
    file.take(MAX_JWKS_BYTES as u64 + 1).read_to_end(&mut body).await.map_err(|e| unavailable(&e))?;
    if body.len() > MAX_JWKS_BYTES {
        return Err(OidcError::KeysUnavailable(format!("the JWKS file is larger than {MAX_JWKS_BYTES} bytes")));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
    use serde_json::json;

    use super::*;
    use test_support::TempDir;

    const NOW: i64 = 1_750_000_000;
    const ISS: &str = "https://idp.example.com/tenant";
    const AUD: &str = "ledger-console";

    fn b64(bytes: &[u8]) -> String {
        B64URL.encode(bytes)
    }

    struct EsKey {
        pair: EcdsaKeyPair,
        x: Vec<u8>,
        y: Vec<u8>,
    }

    fn es_key() -> EsKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let public = pair.public_key().as_ref();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 0x04);
        let (x, y) = (public[1..33].to_vec(), public[33..].to_vec());
        EsKey { pair, x, y }
    }

    impl EsKey {
        fn jwk(&self, kid: Option<&str>) -> Value {
            let mut jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&self.x), "y": b64(&self.y)});
            if let Some(kid) = kid {
                jwk["kid"] = json!(kid);
            }
            jwk
        }

        fn sign(&self, message: &[u8]) -> Vec<u8> {
            self.pair.sign(&SystemRandom::new(), message).unwrap().as_ref().to_vec()
        }

        fn token(&self, kid: Option<&str>, claims: &Value) -> String {
            token_with(&header("ES256", kid), claims, |m| self.sign(m))
        }
    }

    struct RsKey {
        pair: RsaKeyPair,
        n: Vec<u8>,
        e: Vec<u8>,
    }

    /// A fresh 2048-bit RSA key from the openssl command line (ring cannot generate RSA keys).
    fn rsa_key() -> RsKey {
        let dir = TempDir::new("oidc");
        let path = dir.path().join("rsa.der");
        let out = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-outform", "DER", "-out"])
            .arg(&path)
            .output()
            .expect("run openssl");
        assert!(out.status.success(), "openssl genpkey: {}", String::from_utf8_lossy(&out.stderr));
        let der = std::fs::read(&path).unwrap();
        // OpenSSL 3.0 writes PKCS#1 (RSAPrivateKey) DER here, later versions may write PKCS#8.
        let pair = RsaKeyPair::from_pkcs8(&der).or_else(|_| RsaKeyPair::from_der(&der)).unwrap();
        let components: ring::signature::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
        RsKey { n: components.n, e: components.e, pair }
    }

    impl RsKey {
        fn jwk(&self, kid: Option<&str>) -> Value {
            let mut jwk = json!({"kty": "RSA", "n": b64(&self.n), "e": b64(&self.e), "use": "sig", "alg": "RS256"});
            if let Some(kid) = kid {
                jwk["kid"] = json!(kid);
            }
            jwk
        }

        fn sign(&self, message: &[u8]) -> Vec<u8> {
            let mut signature = vec![0; self.pair.public().modulus_len()];
            self.pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).unwrap();
            signature
        }

        fn token(&self, kid: Option<&str>, claims: &Value) -> String {
            token_with(&header("RS256", kid), claims, |m| self.sign(m))
        }
    }

    fn header(alg: &str, kid: Option<&str>) -> Value {
        let mut header = json!({"alg": alg, "typ": "JWT"});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        header
    }

    fn token_with(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let signature = sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&signature))
    }

    fn key_set(keys: &[Value]) -> Jwks {
        Jwks::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    fn claims() -> Value {
        json!({
            "iss": ISS,
            "aud": AUD,
            "sub": "00u1abcd",
            "email": "Alice.Analyst@Example.com",
            "amr": ["pwd", "mfa"],
            "exp": NOW + 300,
            "iat": NOW - 10,
            "nbf": NOW - 10,
        })
    }

    fn with(mut claims: Value, name: &str, value: Value) -> Value {
        claims[name] = value;
        claims
    }

    fn without(mut claims: Value, name: &str) -> Value {
        claims.as_object_mut().unwrap().remove(name);
        claims
    }

    fn policy() -> IdTokenPolicy {
        IdTokenPolicy { issuer: ISS.to_owned(), audience: AUD.to_owned(), acr_values: Vec::new(), leeway_seconds: 60 }
    }

    /// An ES256 key "k1" and the set holding it.
    fn es_fixture() -> (EsKey, Jwks) {
        let key = es_key();
        let jwks = key_set(&[key.jwk(Some("k1"))]);
        (key, jwks)
    }

    fn check(token: &str, jwks: &Jwks) -> Result<IdClaims, OidcError> {
        validate(token, jwks, &policy(), NOW)
    }

    #[test]
    fn valid_rs256_token_is_accepted() {
        let key = rsa_key();
        let jwks = key_set(&[key.jwk(Some("r1"))]);
        let got = check(&key.token(Some("r1"), &claims()), &jwks).unwrap();
        assert_eq!(
            got,
            IdClaims {
                sub: "00u1abcd".to_owned(),
                email: Some("Alice.Analyst@Example.com".to_owned()),
                amr: vec!["pwd".to_owned(), "mfa".to_owned()],
                acr: None,
                exp: NOW + 300,
            }
        );
        assert!(got.names("00u1abcd"));
        assert!(got.names("alice.analyst@example.COM"));
        assert!(!got.names("00U1ABCD"), "sub is compared exactly");
        assert!(!got.names("bob@example.com"));
        assert!(!got.names(""));
    }

    #[test]
    fn valid_es256_token_is_accepted() {
        let (key, jwks) = es_fixture();
        let got = check(&key.token(Some("k1"), &claims()), &jwks).unwrap();
        assert_eq!(got.sub, "00u1abcd");
        assert_eq!(got.exp, NOW + 300);
        assert!(got.names("00u1abcd"));
        assert!(got.names("ALICE.ANALYST@EXAMPLE.COM"));
        assert!(!got.names("alice"));
    }

    #[test]
    fn acr_counts_as_mfa_only_when_configured() {
        let (key, jwks) = es_fixture();
        let token = key.token(Some("k1"), &with(with(claims(), "amr", json!(["pwd"])), "acr", json!("phr")));
        let mut accepting = policy();
        accepting.acr_values = vec!["phrh".to_owned(), "phr".to_owned()];
        assert_eq!(validate(&token, &jwks, &accepting, NOW).unwrap().acr.as_deref(), Some("phr"));

        let mut other = policy();
        other.acr_values = vec!["urn:example:mfa".to_owned()];
        assert_eq!(validate(&token, &jwks, &other, NOW), Err(OidcError::NoMfa));
        assert_eq!(validate(&token, &jwks, &policy(), NOW), Err(OidcError::NoMfa), "empty acr_values: amr must say mfa");
    }

    #[test]
    fn amr_without_mfa_is_refused() {
        let (key, jwks) = es_fixture();
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "amr", json!(["pwd", "otp"]))), &jwks), Err(OidcError::NoMfa));
        assert_eq!(check(&key.token(Some("k1"), &without(claims(), "amr")), &jwks), Err(OidcError::NoMfa));
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "amr", json!(["MFA"]))), &jwks), Err(OidcError::NoMfa));
        let bad = check(&key.token(Some("k1"), &with(claims(), "amr", json!("mfa"))), &jwks);
        assert!(matches!(bad, Err(OidcError::Malformed(_))), "{bad:?}");
    }

    #[test]
    fn expiry_honours_the_leeway() {
        let (key, jwks) = es_fixture();
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "exp", json!(NOW - 61))), &jwks), Err(OidcError::Expired));
        assert!(check(&key.token(Some("k1"), &with(claims(), "exp", json!(NOW - 60))), &jwks).is_ok());
        assert!(check(&key.token(Some("k1"), &with(claims(), "exp", json!(NOW - 30))), &jwks).is_ok());
        let mut strict = policy();
        strict.leeway_seconds = 0;
        let token = key.token(Some("k1"), &with(claims(), "exp", json!(NOW - 1)));
        assert_eq!(validate(&token, &jwks, &strict, NOW), Err(OidcError::Expired));
    }

    #[test]
    fn nbf_in_the_future_is_refused() {
        let (key, jwks) = es_fixture();
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "nbf", json!(NOW + 61))), &jwks), Err(OidcError::NotYetValid));
        assert!(check(&key.token(Some("k1"), &with(claims(), "nbf", json!(NOW + 60))), &jwks).is_ok());
    }

    #[test]
    fn iat_in_the_future_is_refused() {
        let (key, jwks) = es_fixture();
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "iat", json!(NOW + 3600))), &jwks), Err(OidcError::NotYetValid));
        assert!(check(&key.token(Some("k1"), &with(claims(), "iat", json!(NOW + 59))), &jwks).is_ok());
    }

    #[test]
    fn numeric_dates() {
        let (key, jwks) = es_fixture();
        let float = with(with(claims(), "exp", json!(1_750_000_100.9)), "iat", json!(1_749_999_999.5));
        assert_eq!(check(&key.token(Some("k1"), &float), &jwks).unwrap().exp, NOW + 100);
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "exp", json!(u64::MAX))), &jwks).unwrap().exp, i64::MAX);
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "exp", json!(i64::MIN))), &jwks), Err(OidcError::Expired));
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "exp", json!(-1e300))), &jwks), Err(OidcError::Expired));
        for bad in [
            without(claims(), "exp"),
            with(claims(), "exp", json!("1750000300")),
            with(claims(), "exp", Value::Null),
            with(claims(), "nbf", json!(true)),
            with(claims(), "iat", json!([NOW])),
        ] {
            let got = check(&key.token(Some("k1"), &bad), &jwks);
            assert!(matches!(got, Err(OidcError::Malformed(_))), "{bad}: {got:?}");
        }
    }

    #[test]
    fn sub_is_required() {
        let (key, jwks) = es_fixture();
        for bad in [without(claims(), "sub"), with(claims(), "sub", json!("")), with(claims(), "sub", json!(42))] {
            let got = check(&key.token(Some("k1"), &bad), &jwks);
            assert!(matches!(got, Err(OidcError::Malformed(_))), "{bad}: {got:?}");
        }
    }

    #[test]
    fn unverified_email_is_dropped() {
        let (key, jwks) = es_fixture();
        let got = check(&key.token(Some("k1"), &with(claims(), "email_verified", json!(false))), &jwks).unwrap();
        assert_eq!(got.email, None);
        assert!(!got.names("alice.analyst@example.com"));
        assert!(got.names("00u1abcd"));
        let got = check(&key.token(Some("k1"), &with(claims(), "email_verified", json!(true))), &jwks).unwrap();
        assert_eq!(got.email.as_deref(), Some("Alice.Analyst@Example.com"));
        let got = check(&key.token(Some("k1"), &with(claims(), "email_verified", json!("false"))), &jwks).unwrap();
        assert_eq!(got.email, None);
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let (key, jwks) = es_fixture();
        for iss in [json!("https://evil.example.com/tenant"), json!("https://idp.example.com/tenant/"), json!([ISS]), Value::Null] {
            assert_eq!(check(&key.token(Some("k1"), &with(claims(), "iss", iss)), &jwks), Err(OidcError::WrongIssuer));
        }
        assert_eq!(check(&key.token(Some("k1"), &without(claims(), "iss")), &jwks), Err(OidcError::WrongIssuer));
    }

    #[test]
    fn wrong_audience_is_refused() {
        let (key, jwks) = es_fixture();
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "aud", json!("other-app"))), &jwks), Err(OidcError::WrongAudience));
        assert_eq!(check(&key.token(Some("k1"), &with(claims(), "aud", json!([]))), &jwks), Err(OidcError::WrongAudience));
        assert_eq!(check(&key.token(Some("k1"), &without(claims(), "aud")), &jwks), Err(OidcError::WrongAudience));
        assert!(check(&key.token(Some("k1"), &with(claims(), "aud", json!([AUD]))), &jwks).is_ok());
    }

    #[test]
    fn several_audiences_need_azp() {
        let (key, jwks) = es_fixture();
        let multi = with(claims(), "aud", json!(["other-app", AUD]));
        assert_eq!(check(&key.token(Some("k1"), &multi), &jwks), Err(OidcError::WrongAudience));
        assert_eq!(check(&key.token(Some("k1"), &with(multi.clone(), "azp", json!("other-app"))), &jwks), Err(OidcError::WrongAudience));
        assert!(check(&key.token(Some("k1"), &with(multi, "azp", json!(AUD))), &jwks).is_ok());
    }

    #[test]
    fn alg_none_is_refused() {
        let (_, jwks) = es_fixture();
        let header = b64(json!({"alg": "none", "kid": "k1"}).to_string().as_bytes());
        let token = format!("{header}.{}.", b64(claims().to_string().as_bytes()));
        assert!(matches!(check(&token, &jwks), Err(OidcError::UnsupportedAlgorithm(_))));
    }

    #[test]
    fn hs256_with_the_rsa_modulus_as_key_is_refused() {
        let key = rsa_key();
        let jwks = key_set(&[key.jwk(Some("r1"))]);
        let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key.n);
        let token = token_with(&header("HS256", Some("r1")), &claims(), |m| ring::hmac::sign(&hmac_key, m).as_ref().to_vec());
        let err = check(&token, &jwks).unwrap_err();
        assert!(matches!(err, OidcError::UnsupportedAlgorithm(_)), "{err:?}");
        assert_eq!(err.code(), "unsupported_alg");
    }

    #[test]
    fn other_algorithms_are_refused() {
        let (key, jwks) = es_fixture();
        for alg in [json!("RS512"), json!("ES384"), json!("PS256"), json!("es256"), json!("EdDSA"), json!(["ES256"]), Value::Null] {
            let mut h = header("ES256", Some("k1"));
            h["alg"] = alg.clone();
            let token = token_with(&h, &claims(), |m| key.sign(m));
            assert!(matches!(check(&token, &jwks), Err(OidcError::UnsupportedAlgorithm(_))), "{alg}");
        }
        let token = token_with(&json!({"kid": "k1"}), &claims(), |m| key.sign(m));
        assert!(matches!(check(&token, &jwks), Err(OidcError::UnsupportedAlgorithm(_))));
        // An ES256 header does not let an RSA key be used, and the other way round.
        let rsa = rsa_key();
        let mixed = key_set(&[rsa.jwk(Some("k1"))]);
        assert_eq!(check(&key.token(Some("k1"), &claims()), &mixed), Err(OidcError::UnknownKey(Some("k1".to_owned()))));
    }

    #[test]
    fn changed_payload_is_refused() {
        let (key, jwks) = es_fixture();
        let token = key.token(Some("k1"), &claims());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = b64(with(claims(), "sub", json!("admin")).to_string().as_bytes());
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert_eq!(check(&tampered, &jwks), Err(OidcError::BadSignature));

        let rsa = rsa_key();
        let rsa_jwks = key_set(&[rsa.jwk(Some("r1"))]);
        let token = rsa.token(Some("r1"), &claims());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(check(&format!("{}.{forged}.{}", parts[0], parts[2]), &rsa_jwks), Err(OidcError::BadSignature));
    }

    #[test]
    fn signature_by_another_key_with_the_same_kid_is_refused() {
        let (_, jwks) = es_fixture();
        let impostor = es_key();
        assert_eq!(check(&impostor.token(Some("k1"), &claims()), &jwks), Err(OidcError::BadSignature));

        let rsa = rsa_key();
        let rsa_impostor = rsa_key();
        let rsa_jwks = key_set(&[rsa.jwk(Some("r1"))]);
        assert_eq!(check(&rsa_impostor.token(Some("r1"), &claims()), &rsa_jwks), Err(OidcError::BadSignature));
    }

    #[test]
    fn es256_signature_must_be_fixed_64_bytes() {
        let (key, jwks) = es_fixture();
        let token = key.token(Some("k1"), &claims());
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let mut sig = B64URL.decode(signature).unwrap();
        // A DER-style (or any other length) signature is refused.
        sig.push(0);
        assert_eq!(check(&format!("{signing_input}.{}", b64(&sig)), &jwks), Err(OidcError::BadSignature));
        assert_eq!(check(&format!("{signing_input}.{}", b64(&sig[..63])), &jwks), Err(OidcError::BadSignature));
        assert_eq!(check(&format!("{signing_input}."), &jwks), Err(OidcError::BadSignature));
        assert_eq!(check(&format!("{signing_input}.{}", b64(&[0; 64])), &jwks), Err(OidcError::BadSignature));
    }

    #[test]
    fn unknown_kid_is_refused() {
        let (key, jwks) = es_fixture();
        assert_eq!(check(&key.token(Some("k2"), &claims()), &jwks), Err(OidcError::UnknownKey(Some("k2".to_owned()))));
        let long = "x".repeat(1000);
        let err = check(&key.token(Some(&long), &claims()), &jwks).unwrap_err();
        assert_eq!(err, OidcError::UnknownKey(Some("x".repeat(MAX_KID_CHARS))));
        assert_eq!(err.code(), "unknown_key");
    }

    #[test]
    fn without_kid_exactly_one_candidate_is_needed() {
        let (key, jwks) = es_fixture();
        assert!(check(&key.token(None, &claims()), &jwks).is_ok(), "one candidate");
        let other = es_key();
        let two = key_set(&[key.jwk(Some("k1")), other.jwk(Some("k2"))]);
        assert_eq!(check(&key.token(None, &claims()), &two), Err(OidcError::UnknownKey(None)));
        // Keys of another type are not candidates.
        let rsa = rsa_key();
        let mixed = key_set(&[key.jwk(None), rsa.jwk(None)]);
        assert!(check(&key.token(None, &claims()), &mixed).is_ok());
        assert!(check(&rsa.token(None, &claims()), &mixed).is_ok());
    }

    #[test]
    fn key_alg_and_use_restrict_candidates() {
        let key = es_key();
        let mut enc = key.jwk(Some("e"));
        enc["use"] = json!("enc");
        let mut wrong_alg = key.jwk(Some("a"));
        wrong_alg["alg"] = json!("ES384");
        let mut no_verify = key.jwk(Some("o"));
        no_verify["key_ops"] = json!(["encrypt"]);
        let mut fine = key.jwk(Some("f"));
        fine["alg"] = json!("ES256");
        fine["use"] = json!("sig");
        fine["key_ops"] = json!(["verify"]);
        let jwks = key_set(&[enc, wrong_alg, no_verify, fine]);
        assert_eq!(jwks.len(), 1);
        for kid in ["e", "a", "o"] {
            assert_eq!(check(&key.token(Some(kid), &claims()), &jwks), Err(OidcError::UnknownKey(Some(kid.to_owned()))));
        }
        assert!(check(&key.token(Some("f"), &claims()), &jwks).is_ok());
    }

    #[test]
    fn crit_header_is_refused() {
        let (key, jwks) = es_fixture();
        let mut h = header("ES256", Some("k1"));
        h["crit"] = json!(["exp"]);
        h["exp"] = json!(NOW);
        let got = check(&token_with(&h, &claims(), |m| key.sign(m)), &jwks);
        assert!(matches!(got, Err(OidcError::Malformed(_))), "{got:?}");
    }

    #[test]
    fn access_tokens_are_refused() {
        let (key, jwks) = es_fixture();
        for typ in ["at+jwt", "application/at+JWT"] {
            let mut h = header("ES256", Some("k1"));
            h["typ"] = json!(typ);
            let got = check(&token_with(&h, &claims(), |m| key.sign(m)), &jwks);
            assert!(matches!(got, Err(OidcError::Malformed(_))), "{got:?}");
        }
    }

    #[test]
    fn garbage_is_malformed() {
        let (key, jwks) = es_fixture();
        let good = key.token(Some("k1"), &claims());
        let (h, rest) = good.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let not_json = b64(b"not json");
        let array = b64(b"[1,2]");
        let padded_header = format!("{}==", b64(b"{\"alg\":\"ES256\"}x"));
        let signed_non_json = token_with(&header("ES256", Some("k1")), &json!(null), |m| key.sign(m));
        let signed_bytes = {
            let input = format!("{h}.{}", b64(b"\xff\xfe not json"));
            format!("{input}.{}", b64(&key.sign(input.as_bytes())))
        };
        let cases: Vec<String> = vec![
            String::new(),
            ".".to_owned(),
            "..".to_owned(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            format!("{good}.{s}"),
            format!("{h}.{p}.{s}.{s}.{s}"),
            "!!!.@@@.###".to_owned(),
            format!("{h}.{p}.{s}="),
            format!("{padded_header}.{p}.{s}"),
            format!("{h}.{p}+.{s}"),
            format!("{not_json}.{p}.{s}"),
            format!("{array}.{p}.{s}"),
            format!(".{p}.{s}"),
            "a".repeat(20_000),
            format!("{h}.{}.{s}", "A".repeat(20_000)),
            format!("{h}.{p}.{s}é"),
            "é.é.é".to_owned(),
            format!("{h}.{p}.\u{0}"),
            format!(" {good}"),
            format!("{good}\n"),
            signed_non_json.clone(),
            signed_bytes,
        ];
        for case in &cases {
            let got = check(case, &jwks);
            assert!(matches!(got, Err(OidcError::Malformed(_))), "{:?}: {got:?}", case.get(..60));
        }
    }

    #[test]
    fn no_single_character_change_validates() {
        let (key, jwks) = es_fixture();
        let token = key.token(Some("k1"), &claims());
        assert!(check(&token, &jwks).is_ok());
        for i in 0..token.len() {
            for c in ['A', 'B', 'g', '_', '-', '.', '0', '='] {
                let mut bytes = token.clone().into_bytes();
                if bytes[i] == c as u8 {
                    continue;
                }
                bytes[i] = c as u8;
                let mutated = String::from_utf8(bytes).unwrap();
                assert!(check(&mutated, &jwks).is_err(), "position {i} -> {c}");
            }
            assert!(check(&token[..i], &jwks).is_err(), "prefix of {i}");
        }
    }

    #[test]
    fn errors_have_codes_and_leak_nothing() {
        let (key, jwks) = es_fixture();
        let token = key.token(Some("k1"), &claims());
        let signature = token.rsplit_once('.').unwrap().1;
        let tampered = format!("{}x", &token[..token.len() - 1]);
        for err in [check(&tampered, &jwks).unwrap_err(), check(&format!("{token}=="), &jwks).unwrap_err()] {
            let text = err.to_string();
            assert!(!text.contains(signature) && !text.contains(&token[..20]), "{text}");
        }
        let mut h = header("ES256", Some("k1"));
        h["alg"] = json!("evil\n\u{1b}[31mred");
        let text = check(&token_with(&h, &claims(), |m| key.sign(m)), &jwks).unwrap_err().to_string();
        assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text}");
        let text = check(&key.token(Some("a\nb"), &claims()), &jwks).unwrap_err().to_string();
        assert!(!text.contains('\n'), "{text}");

        let all = [
            (OidcError::Malformed(String::new()), "malformed"),
            (OidcError::UnsupportedAlgorithm(String::new()), "unsupported_alg"),
            (OidcError::UnknownKey(None), "unknown_key"),
            (OidcError::BadSignature, "bad_signature"),
            (OidcError::WrongIssuer, "wrong_issuer"),
            (OidcError::WrongAudience, "wrong_audience"),
            (OidcError::Expired, "expired"),
            (OidcError::NotYetValid, "not_yet_valid"),
            (OidcError::NoMfa, "no_mfa"),
            (OidcError::BadKeySet(String::new()), "bad_key_set"),
            (OidcError::KeysUnavailable(String::new()), "keys_unavailable"),
        ];
        for (err, code) in all {
            assert_eq!(err.code(), code);
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn jwks_keeps_only_usable_keys() {
        let rsa = rsa_key();
        let set = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, rsa.jwk(Some("r1"))]});
        let jwks = Jwks::parse(set.to_string().as_bytes()).unwrap();
        assert_eq!(jwks.len(), 1);
        assert!(!jwks.is_empty());
        assert!(jwks.has_kid("r1"));
        assert!(!jwks.has_kid("h"));
        assert!(!format!("{jwks:?}").contains(&b64(&rsa.n)), "Debug does not print key material");
    }

    #[test]
    fn jwks_without_usable_keys_is_refused() {
        let es = es_key();
        let mut short_x = es.jwk(Some("short"));
        short_x["x"] = json!(b64(&es.x[1..]));
        let mut p384 = es.jwk(Some("p384"));
        p384["crv"] = json!("P-384");
        let mut off_curve = es.jwk(Some("off"));
        let mut y = es.y.clone();
        y[31] ^= 1;
        off_curve["y"] = json!(b64(&y));
        let mut private = es.jwk(Some("private"));
        private["d"] = json!(b64(&[7; 32]));
        let weak_rsa = json!({"kty": "RSA", "kid": "weak", "n": b64(&[0xc1; 128]), "e": "AQAB"});
        let even_e = json!({"kty": "RSA", "kid": "even", "n": b64(&[0xc1; 256]), "e": "AQAA"});
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[1; 32])});
        for keys in [
            vec![json!({"kty": "oct", "k": "c2VjcmV0"})],
            vec![short_x.clone()],
            vec![p384],
            vec![off_curve],
            vec![private],
            vec![weak_rsa],
            vec![even_e],
            vec![okp, json!("not a key"), json!({"kty": 5})],
            vec![],
        ] {
            let got = Jwks::parse(json!({ "keys": keys }).to_string().as_bytes());
            assert!(matches!(got, Err(OidcError::BadKeySet(_))), "{keys:?}: {got:?}");
        }
        // The 31-byte x key is not usable next to a usable one either.
        let jwks = key_set(&[short_x, es.jwk(Some("good"))]);
        assert_eq!(jwks.len(), 1);
        assert!(!jwks.has_kid("short"));
        // Leading zero bytes in n are tolerated.
        let mut n = vec![0];
        n.extend_from_slice(&[0xc1; 256]);
        assert_eq!(key_set(&[json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"})]).len(), 1);
    }

    #[test]
    fn jwks_parse_refuses_bad_input() {
        for input in [&b""[..], b"[]", b"{}", b"{\"keys\": {}}", b"not json", b"\xff\xfe"] {
            assert!(matches!(Jwks::parse(input), Err(OidcError::BadKeySet(_))));
        }
        let mut huge = b"{\"keys\": [], \"pad\": \"".to_vec();
        huge.resize(MAX_JWKS_BYTES + 1, b'a');
        assert!(matches!(Jwks::parse(&huge), Err(OidcError::BadKeySet(_))));
    }

    #[test]
    fn policy_deserialises_with_defaults() {
        let p: IdTokenPolicy = serde_json::from_str(r#"{"issuer": "https://i", "audience": "a"}"#).unwrap();
        assert_eq!(p.leeway_seconds, 60);
        assert!(p.acr_values.is_empty());
        assert!(serde_json::from_str::<IdTokenPolicy>(r#"{"issuer": "i", "audience": "a", "leeway": 5}"#).is_err());
        let huge = IdTokenPolicy { leeway_seconds: u64::MAX, ..policy() };
        let (key, jwks) = es_fixture();
        // Saturating arithmetic: no overflow with extreme leeway and dates.
        let extreme = with(with(claims(), "exp", json!(NOW - 1_000_000_000)), "nbf", json!(i64::MAX));
        assert!(validate(&key.token(Some("k1"), &extreme), &jwks, &huge, NOW).is_ok());
        assert_eq!(validate(&key.token(Some("k1"), &with(claims(), "exp", json!(i64::MIN))), &jwks, &huge, NOW), Err(OidcError::Expired));
    }

    fn write_set(path: &std::path::Path, keys: &[Value]) {
        std::fs::write(path, json!({ "keys": keys }).to_string()).unwrap();
    }

    #[test]
    fn key_source_is_send_sync_debug() {
        fn send_sync<T: Send + Sync + fmt::Debug>() {}
        fn send<T: Send>(_: &T) {}
        send_sync::<KeySource>();
        let source = KeySource::file("/nonexistent");
        send(&source.validate("", &policy(), NOW));
        assert!(format!("{source:?}").contains("nonexistent"));
    }

    #[tokio::test]
    async fn file_source_rereads_on_unknown_kid() {
        let dir = TempDir::new("oidc");
        let path = dir.path().join("jwks.json");
        let (a, b) = (es_key(), es_key());
        write_set(&path, &[a.jwk(Some("a"))]);
        let source = KeySource::file(&path).with_refetch_after(Duration::ZERO);
        assert!(source.validate(&a.token(Some("a"), &claims()), &policy(), NOW).await.is_ok());
        write_set(&path, &[a.jwk(Some("a")), b.jwk(Some("b"))]);
        assert!(source.validate(&b.token(Some("b"), &claims()), &policy(), NOW).await.is_ok());
        assert!(source.validate(&a.token(Some("a"), &claims()), &policy(), NOW).await.is_ok());
        // Still unknown after a re-read.
        assert_eq!(source.validate(&b.token(Some("c"), &claims()), &policy(), NOW).await, Err(OidcError::UnknownKey(Some("c".to_owned()))));
        // A broken file on re-read: keys unavailable, the loaded keys stay in use.
        std::fs::write(&path, "garbage").unwrap();
        let got = source.validate(&b.token(Some("d"), &claims()), &policy(), NOW).await;
        assert!(matches!(got, Err(OidcError::KeysUnavailable(_))), "{got:?}");
        assert!(source.validate(&b.token(Some("b"), &claims()), &policy(), NOW).await.is_ok());
    }

    #[tokio::test]
    async fn file_source_rate_limits_rereads() {
        let dir = TempDir::new("oidc");
        let path = dir.path().join("jwks.json");
        let (a, b) = (es_key(), es_key());
        write_set(&path, &[a.jwk(Some("a"))]);
        let source = KeySource::file(&path).with_refetch_after(Duration::from_hours(1));
        assert!(source.validate(&a.token(Some("a"), &claims()), &policy(), NOW).await.is_ok());
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(source.validate(&b.token(Some("b"), &claims()), &policy(), NOW).await, Err(OidcError::UnknownKey(Some("b".to_owned()))));
        assert!(source.validate(&a.token(Some("a"), &claims()), &policy(), NOW).await.is_ok());
    }

    #[tokio::test]
    async fn file_source_missing_file_is_unavailable() {
        let dir = TempDir::new("oidc");
        let source = KeySource::file(dir.path().join("absent.json"));
        let (a, _) = es_fixture();
        let got = source.validate(&a.token(Some("k1"), &claims()), &policy(), NOW).await;
        assert!(matches!(got, Err(OidcError::KeysUnavailable(_))), "{got:?}");
    }

    /// Serves `body` at /jwks and 2 MiB at /big on 127.0.0.1; counts /jwks requests.
    async fn serve(body: Arc<std::sync::Mutex<String>>, hits: Arc<AtomicUsize>) -> std::net::SocketAddr {
        let app = axum::Router::new()
            .route(
                "/jwks",
                axum::routing::get(move || {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let body = body.lock().unwrap().clone();
                    async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
                }),
            )
            .route("/big", axum::routing::get(|| async { "x".repeat(2 * 1024 * 1024) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    #[tokio::test]
    async fn url_source_fetches_caches_and_refetches() {
        let (a, b) = (es_key(), es_key());
        let body = Arc::new(std::sync::Mutex::new(json!({"keys": [a.jwk(Some("a"))]}).to_string()));
        let hits = Arc::new(AtomicUsize::new(0));
        let addr = serve(Arc::clone(&body), Arc::clone(&hits)).await;
        let url = format!("http://{addr}/jwks");

        let source = KeySource::url(&url).unwrap().with_refetch_after(Duration::ZERO);
        assert_eq!(source.validate(&a.token(Some("a"), &claims()), &policy(), NOW).await.unwrap().sub, "00u1abcd");
        assert!(source.validate(&a.token(Some("a"), &claims()), &policy(), NOW).await.is_ok());
        assert_eq!(hits.load(Ordering::SeqCst), 1, "cached");
        *body.lock().unwrap() = json!({"keys": [a.jwk(Some("a")), b.jwk(Some("b"))]}).to_string();
        assert!(source.validate(&b.token(Some("b"), &claims()), &policy(), NOW).await.is_ok());
        assert_eq!(hits.load(Ordering::SeqCst), 2, "re-fetched on an unknown kid");

        // With the default interval, an unknown kid right after the load is not re-fetched.
        let limited = KeySource::url(&url.replace("127.0.0.1", "localhost")).unwrap();
        assert!(limited.validate(&a.token(Some("a"), &claims()), &policy(), NOW).await.is_ok());
        let before = hits.load(Ordering::SeqCst);
        assert_eq!(
            limited.validate(&a.token(Some("zz"), &claims()), &policy(), NOW).await,
            Err(OidcError::UnknownKey(Some("zz".to_owned())))
        );
        assert_eq!(hits.load(Ordering::SeqCst), before);

        // Many concurrent first uses share one fetch.
        let shared = Arc::new(KeySource::url(&url).unwrap());
        let before = hits.load(Ordering::SeqCst);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let shared = Arc::clone(&shared);
                let token = a.token(Some("a"), &claims());
                tokio::spawn(async move { shared.validate(&token, &policy(), NOW).await })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().is_ok());
        }
        assert_eq!(hits.load(Ordering::SeqCst), before + 1);
    }

    #[tokio::test]
    async fn url_source_errors() {
        let hits = Arc::new(AtomicUsize::new(0));
        let addr = serve(Arc::new(std::sync::Mutex::new("not json".to_owned())), hits).await;
        let (a, _) = es_fixture();
        let token = a.token(Some("k1"), &claims());
        for path in ["jwks", "big", "missing"] {
            let source = KeySource::url(&format!("http://{addr}/{path}")).unwrap();
            let got = source.validate(&token, &policy(), NOW).await;
            assert!(matches!(got, Err(OidcError::KeysUnavailable(_))), "{path}: {got:?}");
        }
    }

    #[tokio::test]
    async fn url_source_unreachable_is_unavailable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let source = KeySource::url(&format!("http://127.0.0.1:{port}/jwks")).unwrap();
        let (a, _) = es_fixture();
        let token = a.token(Some("k1"), &claims());
        let got = source.validate(&token, &policy(), NOW).await;
        assert!(matches!(got, Err(OidcError::KeysUnavailable(_))), "{got:?}");
        // Retried no more than every few seconds: the same error without a new attempt.
        assert_eq!(source.validate(&token, &policy(), NOW).await, got);
    }

    #[test]
    fn url_source_refuses_insecure_urls() {
        for url in [
            "http://example.com/jwks",
            "http://127.0.0.2/jwks",
            "http://[::1]/jwks",
            "http://localhost.example.com/jwks",
            "ftp://idp.example.com/jwks",
            "file:///etc/jwks.json",
            "https://user:secret@idp.example.com/jwks",
            "not a url",
            "",
        ] {
            let got = KeySource::url(url);
            assert!(matches!(got, Err(OidcError::BadKeySet(_))), "{url}: {got:?}");
        }
        for url in ["https://idp.example.com/.well-known/jwks.json", "http://127.0.0.1:8080/jwks", "http://LOCALHOST/jwks"] {
            assert!(KeySource::url(url).is_ok(), "{url}");
        }
    }
}
