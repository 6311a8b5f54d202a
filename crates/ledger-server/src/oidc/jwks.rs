//! JSON Web Key Sets: parsing RS256 and ES256 keys and verifying signatures with them.

use super::*;

/// Public key material of a usable key.
#[derive(Clone)]
pub(super) enum KeyMaterial {
    /// RSA modulus and public exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// A P-256 point, uncompressed SEC 1 form (0x04 || x || y), checked to be on the curve.
    P256 { point: Vec<u8> },
}

impl KeyMaterial {
    pub(super) fn alg(&self) -> Alg {
        match self {
            Self::Rsa { .. } => Alg::Rs256,
            Self::P256 { .. } => Alg::Es256,
        }
    }

    /// Verifies `signature` over `message`; `true` when it verifies.
    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
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
    pub(super) fn candidates(&self, alg: Alg, kid: Option<&str>) -> Vec<&KeyMaterial> {
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
