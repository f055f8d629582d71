//! Rules for the members of JOSE objects that clients make (DPoP proofs, client assertions):
//! which registered or presented keys may verify signatures, which `jti` can be remembered, how
//! a NumericDate reads. Beside `jws`, which signs and verifies.

use serde_json::Value;

/// Whether a `jti` can be remembered: present, at most `max_chars` characters, and no control
/// characters (PostgreSQL's text cannot hold U+0000; the others only hide in logs).
pub fn storable_jti(jti: &str, max_chars: usize) -> bool {
    !jti.is_empty() && jti.chars().count() <= max_chars && !jti.chars().any(char::is_control)
}

/// JWK members that only a private (or symmetric) key has.
pub const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The first private member of `jwk`, if it has one: such a key must never be taken as a
/// public one.
pub fn private_jwk_member(jwk: &Value) -> Option<&'static str> {
    PRIVATE_JWK_MEMBERS
        .iter()
        .copied()
        .find(|m| jwk.get(*m).is_some())
}

/// Whether `jwk` is declared for verifying signatures, or for nothing in particular: `use`
/// absent or `sig`, `key_ops` absent or naming `verify` (RFC 7517 §4.2, §4.3).
pub fn jwk_for_signatures(jwk: &Value) -> bool {
    let usage = jwk["use"].as_str().is_none_or(|u| u == "sig")
        && jwk.get("use").is_none_or(Value::is_string);
    let ops = match jwk.get("key_ops") {
        None => true,
        Some(Value::Array(ops)) => ops.iter().any(|o| o.as_str() == Some("verify")),
        Some(_) => false,
    };
    usage && ops
}

/// The y coordinates (little-endian, sign bit of x cleared) of the Ed25519 points of small order,
/// and the non-canonical spellings of two of them (y = p, p + 1). With such a public key, one
/// signature (R = identity, S = 0, say) verifies for every message: a key an attacker can put
/// in a DPoP proof or a registration to be "proven" without any private key.
const ED25519_SMALL_ORDER_Y: [[u8; 32]; 7] = {
    const fn le(first: u8, fill: u8, last: u8) -> [u8; 32] {
        let mut b = [fill; 32];
        b[0] = first;
        b[31] = last;
        b
    }
    [
        le(0x00, 0x00, 0x00), // y = 0: order 4
        le(0x01, 0x00, 0x00), // y = 1: the identity
        le(0xec, 0xff, 0x7f), // y = p - 1: order 2
        le(0xed, 0xff, 0x7f), // y = p, which is 0
        le(0xee, 0xff, 0x7f), // y = p + 1, which is 1
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef,
            0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88,
            0x6d, 0x53, 0xfc, 0x05,
        ], // order 8
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
            0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
            0x92, 0xac, 0x03, 0x7a,
        ], // order 8
    ]
};

/// Why `jwk` must not verify anything though it is a well-formed public key: an Ed25519 key
/// of small order, or one whose encoding is not canonical (y ≥ p), or not 32 bytes. `None` for
/// every other key (RSA keys are judged by size where they are taken).
pub fn weak_public_key(jwk: &Value) -> Option<&'static str> {
    if jwk["kty"].as_str() != Some("OKP") || jwk["crv"].as_str() != Some("Ed25519") {
        return None;
    }
    use base64::Engine;
    let x = jwk["x"].as_str().unwrap_or_default();
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(x) else {
        return Some("its x is not base64url");
    };
    let Ok(mut y) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        return Some("its x is not 32 bytes");
    };
    y[31] &= 0x7f;
    // y ≥ p = 2^255 - 19: every byte above the first 0xff (0x7f for the last), the first ≥ 0xed.
    let non_canonical = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    if non_canonical || ED25519_SMALL_ORDER_Y.contains(&y) {
        return Some("it is an Ed25519 key of small order, for which signatures can be made without a private key");
    }
    None
}

/// A NumericDate (RFC 7519 §2) as whole seconds: a finite, non-negative number, its fraction
/// dropped. Anything else (a string, a negative number, `null`) is None: malformed.
pub fn numeric_date(v: &Value) -> Option<i64> {
    v.as_i64().filter(|n| *n >= 0).or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < i64::MAX as f64)
            .map(|f| f.floor() as i64)
    })
}
