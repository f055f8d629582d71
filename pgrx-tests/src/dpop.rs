//! A DPoP client for the tests (RFC 9449 §4): an ES256 key of its own and proofs made the way a
//! real client makes them, so that the extension checks exactly what it would in production.
//! Built here from aws-lc-rs and nothing of the extension's: a thumbprint or a proof the two
//! sides disagree on is a failure, not a shared mistake.

pub use crate::jose::merged;
use crate::jose::{b64, fresh_jti, p256_jwk, signed_as_alg, with_private_scalar};
use crate::stand_in::now;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The token endpoint under the default issuer: the `htu` of proofs for `oauth.token`.
pub const TOKEN_URL: &str = "http://localhost:8080/oauth/token";
/// The UserInfo endpoint under the default issuer: the `htu` of proofs for `oauth.userinfo`.
pub const USERINFO_URL: &str = "http://localhost:8080/oauth/userinfo";

/// `ath` (RFC 9449 §4.2): base64url SHA-256 of the access token a proof goes with.
pub fn ath(access_token: &str) -> String {
    b64(&Sha256::digest(access_token.as_bytes()))
}

/// A client's DPoP key: a fresh P-256 key pair (each test makes the keys it needs, so "another
/// key" is always one the server has never seen).
pub struct DpopKey {
    key: EcdsaKeyPair,
}

impl Default for DpopKey {
    fn default() -> Self {
        Self::new()
    }
}

impl DpopKey {
    pub fn new() -> DpopKey {
        DpopKey {
            key: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    /// The public JWK that goes in every proof's header.
    pub fn jwk(&self) -> Value {
        p256_jwk(&self.key)
    }

    /// The JWK with its private scalar `d` too: what a careless client might send, and a
    /// server must refuse (a proof proves possession of a key nobody else holds).
    pub fn private_jwk(&self) -> Value {
        with_private_scalar(&self.key, self.jwk())
    }

    /// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no
    /// whitespace, base64url without padding. What `cnf.jkt` and `dpop_jkt` must be. Written
    /// out by hand rather than with `serde_json` so that the order is visibly the RFC's.
    pub fn jkt(&self) -> String {
        let jwk = self.jwk();
        let canonical = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["crv"].as_str().unwrap(),
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        b64(&Sha256::digest(canonical.as_bytes()))
    }

    /// A proof for a request of `htm` to `htu` (at the token endpoint).
    pub fn proof(&self, htm: &str, htu: &str) -> String {
        self.proof_with(json!({}), json!({"htm": htm, "htu": htu}))
    }

    /// A proof for a request of `htm` to `htu` presenting `access_token` (at a resource:
    /// `ath` is the token's hash).
    pub fn proof_for(&self, htm: &str, htu: &str, access_token: &str) -> String {
        self.proof_with(
            json!({}),
            json!({"htm": htm, "htu": htu, "ath": ath(access_token)}),
        )
    }

    /// A proof with `header_overrides` and `claims_overrides` applied over a valid one (`typ`
    /// dpop+jwt, `alg` ES256, this key's public `jwk`; a fresh random `jti` and `iat` now): a
    /// member set to `null` is removed. For attacks: the proof is signed as its `alg` says —
    /// ES256 with this key, nothing for `none`, and HS256 keyed with the public JWK (the
    /// classic algorithm confusion), anything else ES256 anyway.
    pub fn proof_with(&self, header_overrides: Value, claims_overrides: Value) -> String {
        let header = merged(
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()}),
            header_overrides,
        );
        let claims = merged(json!({"jti": fresh_jti(), "iat": now()}), claims_overrides);
        signed_as_alg(&self.key, &self.jwk(), &header, &claims)
    }
}
