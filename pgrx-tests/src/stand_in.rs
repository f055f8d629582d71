//! Stand-in session issuers for the tests: each has its own ES256 key and signs tokens shaped
//! like a real provider's, so the extension sees exactly what it would in production.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

static KEYS: AtomicUsize = AtomicUsize::new(0);

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub struct StandInIssuer {
    pub issuer: String,
    pub kid: String,
    pub jwk: Value,
    key: EcdsaKeyPair,
}

impl StandInIssuer {
    pub fn new(issuer: &str) -> StandInIssuer {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = key.public_key().as_ref().to_vec();
        let kid = format!(
            "key-{}-{}",
            std::process::id(),
            KEYS.fetch_add(1, Ordering::SeqCst)
        );
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]),
                         "y": b64(&point[33..65]), "kid": kid, "alg": "ES256", "use": "sig"});
        StandInIssuer {
            issuer: issuer.into(),
            kid,
            jwk,
            key,
        }
    }

    /// The same issuer after a key rotation: a new key, a new kid.
    pub fn rotated(&self) -> StandInIssuer {
        StandInIssuer::new(&self.issuer)
    }

    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// A token with `claims` (iss is filled in when absent).
    pub fn token(&self, mut claims: Value) -> String {
        if claims.get("iss").is_none() {
            claims["iss"] = json!(self.issuer);
        }
        self.sign(
            &json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
            &claims,
        )
    }

    /// Signs `header` and `claims` with this issuer's key, whatever the header says.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    }

    /// The classic alg-confusion forgery: HS256 keyed with the issuer's public JWK.
    pub fn hs256_forgery(&self, claims: &Value) -> String {
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let key = aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            self.jwk.to_string().as_bytes(),
        );
        let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", b64(tag.as_ref()))
    }

    /// `alg: none`, no signature.
    pub fn unsigned(&self, claims: &Value) -> String {
        let header = json!({"alg": "none", "typ": "JWT", "kid": self.kid});
        format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        )
    }
}
