//! Signing keys and JWS: key generation (ES256 default, RS256, EdDSA), the public JWK and its
//! RFC 7638 thumbprint (our `kid`), compact JWS signing with a parsed key pair that callers
//! cache, `at_hash`, and verification of tokens against a JWK.
//!
//! Signing is done here with aws-lc-rs directly rather than through jsonwebtoken, which
//! re-parses (and for RSA re-validates) the private key on every signature.

use crate::error::{internal, MisuseError};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};

/// The asymmetric algorithms we sign with. HS* is deliberately absent: a shared secret would
/// let every verifier mint tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    ES256,
    RS256,
    EdDSA,
}

impl Alg {
    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "ES256" => Some(Alg::ES256),
            "RS256" => Some(Alg::RS256),
            "EdDSA" => Some(Alg::EdDSA),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
            Alg::EdDSA => "EdDSA",
        }
    }

    fn jwt_algorithm(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::ES256 => jsonwebtoken::Algorithm::ES256,
            Alg::RS256 => jsonwebtoken::Algorithm::RS256,
            Alg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

/// A freshly generated key: the private part as PKCS#8 DER, the public part as a JWK.
pub struct GeneratedKey {
    pub kid: String,
    pub alg: Alg,
    pub private_pkcs8: Vec<u8>,
    pub public_jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn crypto_failure<E: std::fmt::Debug>(what: &'static str) -> impl Fn(E) -> MisuseError {
    move |e| internal(format!("{what}: {e:?}"))
}

/// Generates a new key pair for `alg`.
pub fn generate(alg: Alg) -> Result<GeneratedKey, MisuseError> {
    let (private_pkcs8, members) = match alg {
        Alg::ES256 => {
            let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(crypto_failure("EC key generation failed"))?;
            let der = kp
                .to_pkcs8v1()
                .map_err(crypto_failure("EC key export failed"))?;
            // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
            let point = kp.public_key().as_ref();
            let members = json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
            (der.as_ref().to_vec(), members)
        }
        Alg::RS256 => {
            let kp = RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(crypto_failure("RSA key generation failed"))?;
            let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp)
                .map_err(crypto_failure("RSA key export failed"))?;
            let public = kp.public_key();
            let members = json!({
                "kty": "RSA",
                "n": b64(public.modulus().big_endian_without_leading_zero()),
                "e": b64(public.exponent().big_endian_without_leading_zero()),
            });
            (der.as_ref().to_vec(), members)
        }
        Alg::EdDSA => {
            let kp = Ed25519KeyPair::generate()
                .map_err(crypto_failure("Ed25519 key generation failed"))?;
            let der = kp
                .to_pkcs8v1()
                .map_err(crypto_failure("Ed25519 key export failed"))?;
            let members =
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(kp.public_key().as_ref())});
            (der.as_ref().to_vec(), members)
        }
    };
    let kid = thumbprint(&members);
    let mut public_jwk = members;
    public_jwk["kid"] = json!(kid);
    public_jwk["alg"] = json!(alg.as_str());
    public_jwk["use"] = json!("sig");
    Ok(GeneratedKey {
        kid,
        alg,
        private_pkcs8,
        public_jwk,
    })
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
pub fn thumbprint(jwk: &Value) -> String {
    let s = |k: &str| jwk[k].as_str().unwrap_or_default().to_string();
    let canonical = match jwk["kty"].as_str() {
        Some("EC") => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv"),
            s("x"),
            s("y")
        ),
        Some("RSA") => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
        _ => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv"), s("x")),
    };
    b64(&Sha256::digest(canonical.as_bytes()))
}

enum KeyPairKind {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A parsed private key, ready to sign. Parsing is the expensive part; callers cache these.
pub struct Signer {
    pub kid: String,
    pub alg: Alg,
    key: KeyPairKind,
}

impl Signer {
    pub fn from_pkcs8(kid: &str, alg: Alg, der: &[u8]) -> Result<Signer, MisuseError> {
        let key = match alg {
            Alg::ES256 => KeyPairKind::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(crypto_failure("stored EC key is unreadable"))?,
            ),
            Alg::RS256 => KeyPairKind::Rsa(
                RsaKeyPair::from_pkcs8(der)
                    .map_err(crypto_failure("stored RSA key is unreadable"))?,
            ),
            Alg::EdDSA => KeyPairKind::Ed(
                Ed25519KeyPair::from_pkcs8(der)
                    .map_err(crypto_failure("stored Ed25519 key is unreadable"))?,
            ),
        };
        Ok(Signer {
            kid: kid.to_string(),
            alg,
            key,
        })
    }

    /// Compact JWS of `claims` with header `{alg, typ, kid}`.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, MisuseError> {
        let header = json!({"alg": self.alg.as_str(), "typ": typ, "kid": self.kid});
        self.sign_with_header(&header, claims)
    }

    /// Compact JWS of `claims` under the caller's `header` (which should name this key's alg):
    /// what a client signs with its own key, a DPoP proof (`jwk` in the header) or an
    /// assertion.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, MisuseError> {
        let mut input = b64(header.to_string().as_bytes());
        input.push('.');
        input.push_str(&b64(claims.to_string().as_bytes()));
        let signature = match &self.key {
            KeyPairKind::Ec(kp) => kp
                .sign(&SystemRandom::new(), input.as_bytes())
                .map_err(crypto_failure("ES256 signing failed"))?
                .as_ref()
                .to_vec(),
            KeyPairKind::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input.as_bytes(),
                    &mut sig,
                )
                .map_err(crypto_failure("RS256 signing failed"))?;
                sig
            }
            KeyPairKind::Ed(kp) => kp.sign(input.as_bytes()).as_ref().to_vec(),
        };
        input.push('.');
        input.push_str(&b64(&signature));
        Ok(input)
    }
}

/// OIDC `at_hash`: the left half of the hash of the access token, with the hash function of
/// the signing algorithm (SHA-512 for Ed25519).
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    match alg {
        Alg::EdDSA => b64(&Sha512::digest(access_token.as_bytes())[..32]),
        _ => b64(&Sha256::digest(access_token.as_bytes())[..16]),
    }
}

/// The decoded protected header, after the checks every token gets: size, three parts, JSON.
fn header(token: &str) -> Result<Value, String> {
    if token.len() > 16 * 1024 {
        return Err("token is too long".into());
    }
    if token.split('.').count() != 3 {
        return Err("token is not a compact JWS (three dot-separated parts)".into());
    }
    let header_b64 = token.split('.').next().unwrap_or_default();
    let raw = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| "token header is not base64url")?;
    serde_json::from_slice(&raw).map_err(|_| "token header is not JSON".into())
}

fn header_kid(header: &Value) -> Result<String, String> {
    header["kid"]
        .as_str()
        .filter(|k| !k.is_empty())
        .map(String::from)
        .ok_or_else(|| "token header has no kid".into())
}

fn header_alg(header: &Value) -> Result<&str, String> {
    header["alg"]
        .as_str()
        .ok_or_else(|| "token header has no alg".into())
}

/// The protected header's `kid` and `alg`, read without trusting anything else in the token.
/// Refuses what we never accept before any key is looked up: `alg: none`, HS*, no `kid`.
pub fn peek_header(token: &str) -> Result<(String, Alg), String> {
    let header = header(token)?;
    let alg_name = header_alg(&header)?;
    let alg = Alg::parse(alg_name)
        .ok_or_else(|| format!("token algorithm {alg_name:?} is not accepted"))?;
    Ok((header_kid(&header)?, alg))
}

/// The protected header's `typ`, if any: what kind of token the signer says this is.
pub fn peek_typ(token: &str) -> Result<Option<String>, String> {
    Ok(header(token)?["typ"].as_str().map(String::from))
}

/// The asymmetric algorithms accepted from trusted third-party issuers. `none` and HS* are
/// absent: an HMAC key is a shared secret, and a JWKS is public.
pub fn external_alg(name: &str) -> Option<jsonwebtoken::Algorithm> {
    use jsonwebtoken::Algorithm as A;
    Some(match name {
        "RS256" => A::RS256,
        "RS384" => A::RS384,
        "RS512" => A::RS512,
        "PS256" => A::PS256,
        "PS384" => A::PS384,
        "PS512" => A::PS512,
        "ES256" => A::ES256,
        "ES384" => A::ES384,
        "EdDSA" => A::EdDSA,
        _ => return None,
    })
}

/// Like [`peek_header`] for a third-party issuer's token: any asymmetric algorithm.
pub fn peek_external_header(token: &str) -> Result<(String, jsonwebtoken::Algorithm), String> {
    let header = header(token)?;
    let alg_name = header_alg(&header)?;
    let alg = external_alg(alg_name)
        .ok_or_else(|| format!("token algorithm {alg_name:?} is not accepted"))?;
    Ok((header_kid(&header)?, alg))
}

/// The payload, decoded but NOT verified: only to choose which issuer's keys to verify with.
pub fn unverified_claims(token: &str) -> Result<Value, String> {
    header(token)?;
    let payload = token.split('.').nth(1).unwrap_or_default();
    let raw = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| "token payload is not base64url")?;
    match serde_json::from_slice(&raw) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err("token payload is not a JSON object".into()),
    }
}

/// Whether `jwk` may verify a signature made with `alg`: one of the algorithms of its key type
/// and curve, and its own `alg` when it names one (Microsoft Entra's keys carry no `alg`).
pub fn jwk_accepts(jwk: &Value, alg: jsonwebtoken::Algorithm) -> bool {
    use jsonwebtoken::Algorithm as A;
    // A named alg must be the one used, and the key's type and curve must fit it too: a P-256
    // key labelled P-384 would verify (the curve is not read when the key is decoded) under a
    // thumbprint that is not the key's.
    if let Some(named) = jwk["alg"].as_str() {
        if external_alg(named) != Some(alg) {
            return false;
        }
    }
    match (jwk["kty"].as_str(), jwk["crv"].as_str()) {
        (Some("RSA"), _) => matches!(
            alg,
            A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512
        ),
        (Some("EC"), Some("P-256")) => alg == A::ES256,
        (Some("EC"), Some("P-384")) => alg == A::ES384,
        (Some("OKP"), Some("Ed25519")) => alg == A::EdDSA,
        _ => false,
    }
}

/// The public `jwk` as a verification key for `alg`.
fn decoding_key(
    jwk: &Value,
    alg: jsonwebtoken::Algorithm,
) -> Result<jsonwebtoken::DecodingKey, String> {
    if !jwk_accepts(jwk, alg) {
        return Err("token algorithm does not match its key".into());
    }
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone())
        .map_err(|e| format!("stored JWK is unreadable: {e}"))?;
    jsonwebtoken::DecodingKey::from_jwk(&jwk).map_err(|e| format!("stored JWK is unusable: {e}"))
}

/// Refuses an `iat` later than `now` (seconds) plus the leeway.
fn check_iat(claims: &Value, now: f64, leeway_secs: u64) -> Result<(), String> {
    if let Some(iat) = claims.get("iat") {
        let iat = iat.as_f64().ok_or("token claim iat is malformed")?;
        if iat > now + leeway_secs as f64 {
            return Err("token was issued in the future (iat)".into());
        }
    }
    Ok(())
}

/// Verifies signature, `exp` (required), `nbf` and, when given, `iss` of `token` with the
/// public `jwk`, and that `iat` is not in the future, by this machine's clock. Returns the
/// claims; `aud` and every other claim are left to the caller.
pub fn verify_with(
    token: &str,
    jwk: &Value,
    alg: jsonwebtoken::Algorithm,
    issuer: Option<&str>,
    leeway_secs: u64,
) -> Result<Value, String> {
    let key = decoding_key(jwk, alg)?;
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.validate_aud = false;
    validation.validate_nbf = true;
    validation.leeway = leeway_secs;
    let mut required = vec!["exp"];
    if let Some(iss) = issuer {
        validation.set_issuer(&[iss]);
        required.extend(["iss", "sub"]);
    }
    validation.set_required_spec_claims(&required);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| describe(e.kind()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    check_iat(&claims, now, leeway_secs)?;
    Ok(claims)
}

/// [`verify_with`] for a third-party token (no issuer to require) at the time `now` (seconds
/// since the epoch) rather than this machine's clock, so that the caller decides what "now" is
/// (the extension: its transaction's). The same checks in the same order, with the same
/// answers: the signature and a readable `exp`, a malformed `nbf`, then `exp`, `nbf` and `iat`
/// against `now` give or take the leeway.
pub fn verify_at(
    token: &str,
    jwk: &Value,
    alg: jsonwebtoken::Algorithm,
    now: i64,
    leeway_secs: u64,
) -> Result<Value, String> {
    let key = decoding_key(jwk, alg)?;
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["exp"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| describe(e.kind()))?;
    // As jsonwebtoken reads them: a non-negative number, rounded; `exp` was required readable.
    // A present `null` is malformed (jsonwebtoken refuses `"nbf": null`), not absent.
    let seconds = |name: &str| -> Result<Option<i64>, String> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| n.min(i64::MAX as u64) as i64)
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
                        .map(|f| f.round() as i64)
                })
                .map(Some)
                .ok_or_else(|| format!("token claim {name} is malformed")),
        }
    };
    let nbf = seconds("nbf")?;
    let exp = seconds("exp")?.ok_or("token has no exp claim")?;
    let leeway = leeway_secs.min(i64::MAX as u64) as i64;
    if exp < now.saturating_sub(leeway) {
        return Err("token has expired".into());
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err("token is not valid yet (nbf)".into());
    }
    check_iat(&claims, now as f64, leeway_secs)?;
    Ok(claims)
}

/// The decoded protected header, NOT verified: to choose the key to verify with.
pub fn unverified_header(token: &str) -> Result<Value, String> {
    match header(token)? {
        v @ Value::Object(_) => Ok(v),
        _ => Err("token header is not a JSON object".into()),
    }
}

/// Verifies only the signature of `token` with the public `jwk` and `alg`, and returns its
/// claims: no claim is required or judged (a DPoP proof has no `exp`; its caller judges `iat`).
pub fn verify_signature_only(
    token: &str,
    jwk: &Value,
    alg: jsonwebtoken::Algorithm,
) -> Result<Value, String> {
    let key = decoding_key(jwk, alg)?;
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| describe(e.kind()))
}

/// Verifies one of our own tokens: [`verify_with`] with our issuer and algorithm set.
pub fn verify(token: &str, jwk: &Value, issuer: &str, leeway_secs: u64) -> Result<Value, String> {
    let (_, alg) = peek_header(token)?;
    if jwk["alg"].as_str() != Some(alg.as_str()) {
        return Err("token algorithm does not match its key".into());
    }
    verify_with(token, jwk, alg.jwt_algorithm(), Some(issuer), leeway_secs)
}

fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::InvalidSignature => "token signature is invalid".into(),
        K::ExpiredSignature => "token has expired".into(),
        K::ImmatureSignature => "token is not valid yet (nbf)".into(),
        K::InvalidIssuer => "token was issued by another issuer".into(),
        K::InvalidAlgorithm => "token algorithm does not match its key".into(),
        K::MissingRequiredClaim(c) => format!("token has no {c} claim"),
        K::InvalidClaimFormat(c) => format!("token claim {c} is malformed"),
        other => format!("token is malformed ({other:?})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://issuer.example";

    fn claims(exp_offset: i64) -> Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        json!({"iss": ISS, "sub": "u1", "iat": now, "exp": now + exp_offset})
    }

    fn sign_with(alg: Alg) -> (GeneratedKey, String) {
        let k = generate(alg).unwrap();
        let signer = Signer::from_pkcs8(&k.kid, alg, &k.private_pkcs8).unwrap();
        let token = signer.sign("at+jwt", &claims(60)).unwrap();
        (k, token)
    }

    #[test]
    fn every_algorithm_round_trips() {
        for alg in [Alg::ES256, Alg::RS256, Alg::EdDSA] {
            let (k, token) = sign_with(alg);
            assert_eq!(peek_header(&token).unwrap(), (k.kid.clone(), alg));
            let c = verify(&token, &k.public_jwk, ISS, 0).unwrap();
            assert_eq!(c["sub"], "u1");
            assert_eq!(k.public_jwk["kid"], json!(k.kid));
        }
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 §3.1 example key and thumbprint.
        let jwk = json!({"kty": "RSA", "e": "AQAB", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn tampering_expiry_issuer_and_wrong_key_are_refused() {
        let (k, token) = sign_with(Alg::ES256);
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[1] = b64(json!({"iss": ISS, "sub": "admin", "exp": 9999999999u64})
            .to_string()
            .as_bytes());
        assert!(verify(&parts.join("."), &k.public_jwk, ISS, 0)
            .unwrap_err()
            .contains("signature"));
        assert!(verify(&token, &k.public_jwk, "https://other.example", 0)
            .unwrap_err()
            .contains("issuer"));
        let other = generate(Alg::ES256).unwrap();
        assert!(verify(&token, &other.public_jwk, ISS, 0).is_err());
        let signer = Signer::from_pkcs8(&k.kid, Alg::ES256, &k.private_pkcs8).unwrap();
        let expired = signer.sign("at+jwt", &claims(-120)).unwrap();
        assert!(verify(&expired, &k.public_jwk, ISS, 30)
            .unwrap_err()
            .contains("expired"));
    }

    #[test]
    fn none_and_hmac_and_missing_kid_are_refused_up_front() {
        let body = b64(br#"{"sub":"x"}"#);
        for header in [
            r#"{"alg":"none","kid":"k"}"#,
            r#"{"alg":"HS256","kid":"k"}"#,
            r#"{"alg":"ES256"}"#,
        ] {
            let t = format!("{}.{}.sig", b64(header.as_bytes()), body);
            assert!(peek_header(&t).is_err(), "{header}");
        }
        assert!(peek_header("not-a-jwt").is_err());
    }

    /// `verify_at` at this machine's clock must judge every shape of `exp`, `nbf` and `iat`
    /// exactly as `verify_with` (jsonwebtoken's own checks) does: the sign-in's ID-token
    /// checks moved from one to the other and must not have loosened (or tightened) on the way.
    /// Offsets stay clear of the leeway's edges so that a second passing changes nothing.
    #[test]
    fn verify_at_judges_lifetimes_exactly_as_verify_with() {
        let k = generate(Alg::ES256).unwrap();
        let signer = Signer::from_pkcs8(&k.kid, Alg::ES256, &k.private_pkcs8).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let leeway = 30u64;
        let l = leeway as i64;
        let times = |t: i64| {
            vec![
                json!(t),
                json!(t as f64 + 0.4),
                json!(t.to_string()),
                json!(null),
                json!(-t),
                json!(-1),
                json!(true),
                json!([t]),
                json!(1e300),
                json!(u64::MAX),
            ]
        };
        let mut cases: Vec<Value> = Vec::new();
        for exp in times(now + 600)
            .into_iter()
            .chain([json!(now - l - 10), json!(now - l + 10)])
        {
            cases.push(json!({"sub": "u", "exp": exp}));
        }
        for nbf in times(now - 60)
            .into_iter()
            .chain([json!(now + l + 10), json!(now + l - 10)])
        {
            cases.push(json!({"sub": "u", "exp": now + 600, "nbf": nbf}));
        }
        for iat in times(now - 60)
            .into_iter()
            .chain([json!(now + l + 10), json!(now + l - 10)])
        {
            cases.push(json!({"sub": "u", "exp": now + 600, "iat": iat}));
        }
        cases.push(json!({"sub": "u"}));
        cases.push(json!({"sub": "u", "exp": now - l - 10, "nbf": now + l + 10}));
        for claims in cases {
            let token = signer.sign("JWT", &claims).unwrap();
            let alg = jsonwebtoken::Algorithm::ES256;
            let with = verify_with(&token, &k.public_jwk, alg, None, leeway);
            let at = verify_at(&token, &k.public_jwk, alg, now, leeway);
            assert_eq!(with, at, "{claims}");
        }
    }

    #[test]
    fn at_hash_matches_oidc_example() {
        // OIDC Core A.3: access token and its at_hash (RS256, so SHA-256).
        assert_eq!(
            at_hash(Alg::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
