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

/// A NumericDate (RFC 7519 §2) as whole seconds: a finite, non-negative number, its fraction
/// dropped. Anything else (a string, a negative number, `null`) is None: malformed.
pub fn numeric_date(v: &Value) -> Option<i64> {
    v.as_i64().filter(|n| *n >= 0).or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < i64::MAX as f64)
            .map(|f| f.floor() as i64)
    })
}
