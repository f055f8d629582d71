//! DPoP proofs (RFC 9449 §4.3): what a `DPoP` header must be for a token to be bound to, or
//! used with, the key that signed it. Pure: the caller gives the request (method and the URL
//! it reached), its clock, how old a proof may be, and at a resource the access token; it
//! remembers each proof's `jti` itself (in the database, until the proof is too old to be
//! taken: [`Proven::remember_until`]), so a replay is refused where the write is.

pub mod htu;

use crate::protocol::jws;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The signature algorithms a proof may use (discovery's `dpop_signing_alg_values_supported`):
/// asymmetric only. `none` and HS* prove nothing (a MAC key would have to be shared).
pub const ALGS: &[&str] = &[
    "ES256", "ES384", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
];

/// A server nonce (`oauth_server.dpop_nonce`) is handed out for this long before a new one
/// replaces it…
pub const NONCE_ROTATE_SECS: i64 = 300;
/// …and accepted for this long after it was first handed out: a client that fetched it just
/// before the rotation has a full rotation to use it.
pub const NONCE_ACCEPT_SECS: i64 = 2 * NONCE_ROTATE_SECS;

/// The most `oauth_server.dpop_proof_max_age` may be. A proof's `jti` is remembered until its
/// `iat` plus this, whatever the setting is now: raising the setting later must not make a proof
/// taken and forgotten under the old one acceptable again.
pub const MAX_PROOF_AGE_SECS: i64 = 600;

/// A proof longer than this is refused before it is decoded.
pub const MAX_PROOF_BYTES: usize = 8192;
/// A `jti` longer than this is refused: it is stored, and 128 bits of randomness need 22.
pub const MAX_JTI_CHARS: usize = 256;
/// RSA keys shorter than 2048 bits are refused.
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// The request a proof must be for.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The HTTP method, as sent (`POST`, `GET`).
    pub method: &'a str,
    /// The URL the request reached, as the server names it (its public URL).
    pub url: &'a str,
    /// Seconds since the epoch, by the caller's clock (the extension: its transaction's).
    pub now: i64,
    /// How far back `iat` may be.
    pub max_age_secs: i64,
    /// How far ahead `iat` may be (clock skew).
    pub skew_secs: i64,
    /// At a resource: the access token presented with the proof (`ath` must be its hash).
    pub access_token: Option<&'a str>,
    /// The nonce the server requires, when it requires one (`DPoP-Nonce`).
    pub nonce: Option<&'a str>,
}

/// What a valid proof proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// The RFC 7638 thumbprint of the proof's key: `cnf.jkt` of what it binds.
    pub jkt: String,
    /// The proof's `jti`, to remember: a second proof with it is a replay.
    pub jti: String,
    /// Its `iat`.
    pub iat: i64,
    /// Until when the `jti` must be remembered: after that the proof is refused as too old.
    pub remember_until: i64,
}

/// Why a proof is refused, as RFC 9449 names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `invalid_dpop_proof`, with what was wrong.
    Invalid(String),
    /// `use_dpop_nonce`: the proof has no nonce, or not the one the server requires now.
    UseNonce,
}

fn invalid<T>(why: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::Invalid(why.into()))
}

/// Checks `proof` (the `DPoP` header's value) for the `expected` request.
pub fn check(proof: &str, expected: &Expected) -> Result<Proven, Refusal> {
    // Several DPoP headers reach us joined as an HTTP list; a JWS has no comma.
    if proof.contains(',') {
        return invalid("the request has more than one DPoP header");
    }
    if proof.len() > MAX_PROOF_BYTES {
        return invalid(format!(
            "the DPoP proof is longer than {MAX_PROOF_BYTES} bytes"
        ));
    }
    if proof.split('.').count() != 3 {
        return invalid("the DPoP proof is not a compact JWS");
    }
    let header = decode_part(proof, 0, "header")?;
    if header["typ"].as_str() != Some("dpop+jwt") {
        return invalid("the DPoP proof's typ is not dpop+jwt");
    }
    if header.get("crit").is_some() {
        return invalid(
            "the DPoP proof has critical header parameters, none of which are understood",
        );
    }
    let alg_name = header["alg"].as_str().unwrap_or_default();
    let alg = ALGS
        .contains(&alg_name)
        .then(|| jws::external_alg(alg_name))
        .flatten()
        .ok_or_else(|| {
            Refusal::Invalid(format!("the DPoP proof's alg {alg_name:?} is not accepted"))
        })?;
    let jwk = public_jwk(&header["jwk"])?;
    let claims = jws::verify_signature_only(proof, jwk, alg).map_err(Refusal::Invalid)?;

    let jti = claims["jti"].as_str().unwrap_or_default();
    if !crate::protocol::jose_rules::storable_jti(jti, MAX_JTI_CHARS) {
        return invalid(format!(
            "the DPoP proof has no jti, one longer than {MAX_JTI_CHARS} characters, or one with control characters"
        ));
    }
    if claims["htm"].as_str() != Some(expected.method) {
        return invalid(format!(
            "the DPoP proof is not for this method (htm is not {})",
            expected.method
        ));
    }
    let htu = claims["htu"]
        .as_str()
        .ok_or(Refusal::Invalid("the DPoP proof has no htu".into()))?;
    if !htu::matches(htu, expected.url)
        .map_err(|e| Refusal::Invalid(format!("the DPoP proof's {e}")))?
    {
        return invalid("the DPoP proof is not for this URL (htu)");
    }
    let iat = crate::protocol::jose_rules::numeric_date(&claims["iat"]).ok_or(Refusal::Invalid(
        "the DPoP proof has no readable iat".into(),
    ))?;
    if iat > expected.now.saturating_add(expected.skew_secs) {
        return invalid("the DPoP proof was issued in the future (iat)");
    }
    if iat < expected.now.saturating_sub(expected.max_age_secs) {
        return invalid("the DPoP proof is too old (iat)");
    }
    if let Some(nonce) = expected.nonce {
        if claims["nonce"].as_str() != Some(nonce) {
            return Err(Refusal::UseNonce);
        }
    }
    if let Some(token) = expected.access_token {
        if claims["ath"].as_str() != Some(ath(token).as_str()) {
            return invalid("the DPoP proof's ath is not the hash of this access token");
        }
    }
    Ok(Proven {
        jkt: jws::thumbprint(jwk),
        jti: jti.to_string(),
        iat,
        // A proof is taken while iat ≥ now - max_age, and iat ≤ now + skew: remembered past
        // the latest moment it could still be taken.
        remember_until: iat.saturating_add(expected.max_age_secs).saturating_add(1),
    })
}

/// Whether `jkt` can be an RFC 7638 SHA-256 thumbprint (the authorization request's
/// `dpop_jkt`): 43 base64url characters, the only spelling [`Proven::jkt`] ever has.
pub fn valid_jkt(jkt: &str) -> bool {
    jkt.len() == 43
        && jkt
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && URL_SAFE_NO_PAD.decode(jkt).is_ok()
}

/// `ath`: the base64url SHA-256 of the access token (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

fn decode_part(proof: &str, index: usize, what: &str) -> Result<Value, Refusal> {
    let part = proof.split('.').nth(index).unwrap_or_default();
    let raw = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Refusal::Invalid(format!("the DPoP proof's {what} is not base64url")))?;
    match serde_json::from_slice(&raw) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => invalid(format!("the DPoP proof's {what} is not a JSON object")),
    }
}

/// The header's `jwk`: a public key of a type proofs may use, and nothing private.
fn public_jwk(jwk: &Value) -> Result<&Value, Refusal> {
    if !jwk.is_object() {
        return invalid("the DPoP proof has no jwk header");
    }
    if let Some(private) = crate::protocol::jose_rules::private_jwk_member(jwk) {
        return invalid(format!(
            "the DPoP proof's jwk has a private member ({private})"
        ));
    }
    if !crate::protocol::jose_rules::jwk_for_signatures(jwk) {
        return invalid("the DPoP proof's jwk is declared for another use than signatures");
    }
    if let Some(why) = crate::protocol::jose_rules::weak_public_key(jwk) {
        return invalid(format!("the DPoP proof's jwk is refused: {why}"));
    }
    match jwk["kty"].as_str() {
        Some("EC") | Some("OKP") => {}
        Some("RSA") => {
            let n = jwk["n"].as_str().unwrap_or_default();
            let bytes = URL_SAFE_NO_PAD.decode(n).unwrap_or_default();
            let significant = bytes.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_MODULUS_BYTES {
                return invalid("the DPoP proof's RSA key is shorter than 2048 bits");
            }
        }
        _ => return invalid("the DPoP proof's jwk is not an EC, OKP or RSA public key"),
    }
    Ok(jwk)
}

#[cfg(test)]
pub(crate) mod tests;
