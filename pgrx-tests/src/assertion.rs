//! A `private_key_jwt` client for the tests (RFC 7523 §2.2): an ES256 key with a `kid`, its
//! public JWK Set to register, and client assertions made the way a real client makes them.
//! Built here from aws-lc-rs and nothing of the extension's (as [`crate::dpop`] is): an
//! assertion the two sides disagree on is a failure, not a shared mistake.

use crate::jose::{
    b64, fresh_jti, hmac_sha256, merged, p256_jwk, signed_as_alg, with_private_scalar,
};
use crate::stand_in::now;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The default issuer (`oauth_server.issuer` unset): an audience FAPI 2.0 clients use.
pub const ISSUER: &str = "http://localhost:8080";
/// The token endpoint under the default issuer: the audience RFC 7523 names.
pub const TOKEN_AUD: &str = "http://localhost:8080/oauth/token";

/// A client's signing key: a fresh P-256 key pair named `kid` (each test makes the keys it
/// needs, so "another key" is always one the server has never seen, whatever its `kid`).
pub struct ClientKey {
    pub kid: String,
    key: EcdsaKeyPair,
}

impl ClientKey {
    pub fn new(kid: &str) -> ClientKey {
        ClientKey {
            kid: kid.into(),
            key: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    /// The uncompressed public point (0x04 ‖ x ‖ y): what a confused verifier might take as
    /// an HMAC secret.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// The public JWK, as a client registers it (`kid`, `alg`, `use`).
    pub fn jwk(&self) -> Value {
        merged(
            p256_jwk(&self.key),
            json!({"kid": self.kid, "alg": "ES256", "use": "sig"}),
        )
    }

    /// The JWK with its private scalar `d` too: what a careless client might register.
    pub fn private_jwk(&self) -> Value {
        with_private_scalar(&self.key, self.jwk())
    }

    /// `{"keys": [this key's public JWK]}`.
    pub fn jwks(&self) -> Value {
        jwks(&[self])
    }

    /// A valid assertion of `client_id` for `aud`: `iss` = `sub` = `client_id`, a fresh `jti`,
    /// `iat` now, `exp` a minute ahead; header `alg` ES256 and this key's `kid`.
    pub fn assertion(&self, client_id: &str, aud: &str) -> String {
        self.assertion_with(client_id, aud, json!({}), json!({}))
    }

    /// [`ClientKey::assertion`] with `header_overrides` and `claims_overrides` applied: a member
    /// set to `null` is removed. Signed as its `alg` says: nothing for `none`, HS256 keyed with
    /// this key's public JWK JSON (the classic algorithm confusion), anything else ES256 with
    /// this key.
    pub fn assertion_with(
        &self,
        client_id: &str,
        aud: &str,
        header_overrides: Value,
        claims_overrides: Value,
    ) -> String {
        let header = merged(json!({"alg": "ES256", "kid": self.kid}), header_overrides);
        let t = now();
        let claims = merged(
            json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": fresh_jti(),
                   "iat": t, "exp": t + 60}),
            claims_overrides,
        );
        signed_as_alg(&self.key, &self.jwk(), &header, &claims)
    }

    /// An HS256 "assertion" of `client_id` for `aud`, with this key's `kid`, MACed with
    /// `secret` (the public JWK's JSON, the public point's bytes: whatever a verifier that
    /// lets the header choose the algorithm might use as the key).
    pub fn hs256_forgery(&self, client_id: &str, aud: &str, secret: &[u8]) -> String {
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": self.kid});
        let t = now();
        let claims = json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": fresh_jti(),
                            "iat": t, "exp": t + 60});
        let input = signing_input(&header, &claims);
        format!("{input}.{}", b64(&hmac_sha256(secret, &input)))
    }
}

/// A JWK Set of the public keys of `keys`.
pub fn jwks(keys: &[&ClientKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}

/// `form` with the RFC 7521 §4.2 parameters of `assertion` added.
pub fn with_assertion(mut form: Value, assertion: &str) -> Value {
    form["client_assertion_type"] = json!(ASSERTION_TYPE);
    form["client_assertion"] = json!(assertion);
    form
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}
