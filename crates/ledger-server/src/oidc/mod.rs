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

mod jwks;
mod keys;

pub use jwks::Jwks;
pub use keys::KeySource;

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

#[cfg(test)]
mod tests;
