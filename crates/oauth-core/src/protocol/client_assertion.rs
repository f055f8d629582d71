//! `private_key_jwt` (RFC 7523 §2.2 and §3, with RFC 7521 §4.2): a client proves who it is with
//! a JWT signed by a key it registered. Pure: the caller gives the client's registered keys
//! (its `jwks`, or what its `jwks_uri` answered), the audiences this server answers to, and its
//! clock; it remembers each assertion's `jti` until [`Proven::remember_until`], so a replay is
//! refused where the write is.

use crate::protocol::jws;
use serde_json::Value;

/// `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How far ahead an assertion's `exp` may be: a longer-lived one is a credential worth stealing.
pub const MAX_LIFETIME_SECS: i64 = 300;
/// Assertions longer than this are refused before they are decoded.
pub const MAX_ASSERTION_BYTES: usize = 16 * 1024;
/// A `jti` longer than this is refused: it is stored.
pub const MAX_JTI_CHARS: usize = 256;

/// What the assertion is checked against.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The client the request names (`client_id`, when sent): `iss` and `sub` must be it.
    pub client_id: &'a str,
    /// The audiences this server answers to: its issuer identifier, its token endpoint URL and
    /// the URL of the endpoint called (FAPI 2.0 asks for the issuer; RFC 7523 allows the token
    /// endpoint). One of them must be in `aud`.
    pub audiences: &'a [&'a str],
    /// Seconds since the epoch by the caller's clock (the extension: its transaction's).
    pub now: i64,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub skew_secs: i64,
}

/// A valid assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// Its `jti`: a second assertion with it is a replay.
    pub jti: String,
    /// Until when to remember the `jti`: past it the assertion has expired.
    pub remember_until: i64,
    /// The `kid` of the registered key that verified it, if the key has one.
    pub kid: Option<String>,
}

/// Whether a refusal of [`check`] is for want of a key (none registered verifies it, or none
/// has its `kid`): keys fetched again from the client's `jwks_uri` could cure it, unlike a
/// refusal of what the assertion says.
pub fn refusal_is_unknown_key(why: &str) -> bool {
    why.starts_with("no key registered by the client")
        || why == "the client assertion's signature is not by a key the client registered"
}

/// Checks `assertion` against the client's registered `keys` (a JWK Set's `keys` array).
/// Every refusal is `invalid_client` to the caller; the text says what was wrong, for the log.
pub fn check(assertion: &str, keys: &[Value], expected: &Expected) -> Result<Proven, String> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(format!(
            "the client assertion is longer than {MAX_ASSERTION_BYTES} bytes"
        ));
    }
    // Algorithm and key id from the header, and nothing else from it: alg none and HS* (with
    // the public key as an HMAC secret, say) are refused here, before any key is used.
    let (kid, alg) = header_kid_and_alg(assertion)?;
    let candidates: Vec<&Value> = keys
        .iter()
        .filter(|k| kid.is_none() || k["kid"].as_str() == kid.as_deref())
        .filter(|k| usable_for_signatures(k) && jws::jwk_accepts(k, alg))
        .collect();
    if candidates.is_empty() {
        return Err(match kid {
            Some(kid) => format!("no key registered by the client has kid {kid:?} for {alg:?}"),
            None => format!("no key registered by the client verifies {alg:?}"),
        });
    }
    let (claims, key) = candidates
        .iter()
        .find_map(|k| {
            jws::verify_signature_only(assertion, k, alg)
                .ok()
                .map(|c| (c, *k))
        })
        .ok_or("the client assertion's signature is not by a key the client registered")?;

    for claim in ["iss", "sub"] {
        if claims[claim].as_str() != Some(expected.client_id) {
            return Err(format!(
                "the client assertion's {claim} is not the client_id"
            ));
        }
    }
    // One audience, this server: an assertion also addressed to another server could be
    // replayed here by that server (the audience-injection attack on RFC 7523), so a list is
    // taken only when it names nothing else.
    let aud = match &claims["aud"] {
        Value::String(a) => Some(a.as_str()),
        Value::Array(list) if list.len() == 1 => list[0].as_str(),
        _ => None,
    };
    if !aud.is_some_and(|a| expected.audiences.contains(&a)) {
        return Err(
            "the client assertion's aud is not this server alone (its issuer or token endpoint)"
                .into(),
        );
    }
    let jti = claims["jti"].as_str().unwrap_or_default();
    if !crate::protocol::jose_rules::storable_jti(jti, MAX_JTI_CHARS) {
        return Err(format!(
            "the client assertion has no jti, one longer than {MAX_JTI_CHARS} characters, or one with control characters"
        ));
    }
    let exp = seconds(&claims, "exp")?.ok_or("the client assertion has no exp")?;
    if exp < expected.now.saturating_sub(expected.skew_secs) {
        return Err("the client assertion has expired".into());
    }
    if exp
        > expected
            .now
            .saturating_add(MAX_LIFETIME_SECS.saturating_add(expected.skew_secs))
    {
        return Err(format!(
            "the client assertion's exp is more than {MAX_LIFETIME_SECS} s ahead"
        ));
    }
    if seconds(&claims, "nbf")?
        .is_some_and(|nbf| nbf > expected.now.saturating_add(expected.skew_secs))
    {
        return Err("the client assertion is not valid yet (nbf)".into());
    }
    if seconds(&claims, "iat")?
        .is_some_and(|iat| iat > expected.now.saturating_add(expected.skew_secs))
    {
        return Err("the client assertion was issued in the future (iat)".into());
    }
    Ok(Proven {
        jti: jti.to_string(),
        remember_until: exp.saturating_add(expected.skew_secs).saturating_add(1),
        kid: key["kid"].as_str().map(String::from),
    })
}

fn header_kid_and_alg(
    assertion: &str,
) -> Result<(Option<String>, jsonwebtoken::Algorithm), String> {
    let header =
        jws::unverified_header(assertion).map_err(|e| format!("the client assertion: {e}"))?;
    // A JWT the client signed as something else (a request object, a DPoP proof, a logout
    // token) is not its assertion, even with the assertion's claims: typ, when present, must say
    // a plain JWT or a client assertion (media types compare without regard to case).
    if let Some(typ) = header.get("typ") {
        let typ = typ.as_str().unwrap_or_default().to_ascii_lowercase();
        if !matches!(typ.as_str(), "jwt" | "client-authentication+jwt") {
            return Err(format!("the client assertion's typ {typ:?} is not JWT"));
        }
    }
    // Extensions this check does not know must be understood, or the JWS refused (RFC 7515).
    if header.get("crit").is_some() {
        return Err(
            "the client assertion has critical header parameters, none of which are understood"
                .into(),
        );
    }
    let name = header["alg"].as_str().unwrap_or_default();
    let alg = jws::external_alg(name)
        .ok_or_else(|| format!("the client assertion's alg {name:?} is not accepted"))?;
    Ok((header["kid"].as_str().map(String::from), alg))
}

/// A registered key that may verify signatures: public, and not set aside for anything else.
fn usable_for_signatures(jwk: &Value) -> bool {
    crate::protocol::jose_rules::private_jwk_member(jwk).is_none()
        && crate::protocol::jose_rules::jwk_for_signatures(jwk)
        && crate::protocol::jose_rules::weak_public_key(jwk).is_none()
}

/// A NumericDate claim as whole seconds, absent as None; anything else is malformed.
fn seconds(claims: &Value, name: &str) -> Result<Option<i64>, String> {
    claims
        .get(name)
        .map(|v| {
            crate::protocol::jose_rules::numeric_date(v)
                .ok_or_else(|| format!("the client assertion's {name} is malformed"))
        })
        .transpose()
}

#[cfg(test)]
#[path = "client_assertion_tests.rs"]
pub(crate) mod tests;
