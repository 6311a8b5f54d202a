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
    assert_eq!(limited.validate(&a.token(Some("zz"), &claims()), &policy(), NOW).await, Err(OidcError::UnknownKey(Some("zz".to_owned()))));
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
