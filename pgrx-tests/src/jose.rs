//! What the tests' own JWT makers share (DPoP proofs in [`crate::dpop`], client assertions in
//! [`crate::assertion`]): base64url, fresh `jti`s, a P-256 key as a JWK, and a compact JWS
//! signed the way its header's `alg` says, forgeries included. Built from aws-lc-rs and nothing
//! of the extension's, so that a JWT the two sides disagree on is a failure, not a shared
//! mistake.

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh random `jti`.
pub fn fresh_jti() -> String {
    let mut jti = [0u8; 16];
    SystemRandom::new().fill(&mut jti).unwrap();
    b64(&jti)
}

/// `base` with each member of `overrides` set, or removed when `null` (a proof's or an
/// assertion's header and claims, made to break one rule).
pub fn merged(mut base: Value, overrides: Value) -> Value {
    for (k, v) in overrides.as_object().expect("overrides as a JSON object") {
        match v {
            Value::Null => {
                base.as_object_mut().unwrap().remove(k);
            }
            v => base[k] = v.clone(),
        }
    }
    base
}

/// The public JWK of a P-256 key: `kty`, `crv`, `x`, `y`.
pub fn p256_jwk(key: &EcdsaKeyPair) -> Value {
    let point = key.public_key().as_ref();
    json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
}

/// `jwk` with `key`'s private scalar `d` too: what a careless client might send or register.
pub fn with_private_scalar(key: &EcdsaKeyPair, mut jwk: Value) -> Value {
    let d = key.private_key().as_be_bytes().unwrap();
    jwk["d"] = json!(b64(d.as_ref()));
    jwk
}

/// HMAC-SHA256 of `input` keyed with `secret`.
pub fn hmac_sha256(secret: &[u8], input: &str) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    aws_lc_rs::hmac::sign(&key, input.as_bytes())
        .as_ref()
        .to_vec()
}

/// The compact JWS of `header` and `claims`, signed as the header's `alg` says: nothing for
/// `none`, HS256 keyed with `public_jwk`'s JSON (the classic algorithm confusion), anything else
/// ES256 with `key`.
pub fn signed_as_alg(
    key: &EcdsaKeyPair,
    public_jwk: &Value,
    header: &Value,
    claims: &Value,
) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match header["alg"].as_str() {
        Some("none") => Vec::new(),
        Some("HS256") => hmac_sha256(public_jwk.to_string().as_bytes(), &input),
        _ => key
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec(),
    };
    format!("{input}.{}", b64(&signature))
}
