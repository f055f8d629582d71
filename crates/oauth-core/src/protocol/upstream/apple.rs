//! Sign in with Apple has no client secret: the client authenticates with a JWT it signs
//! (ES256) with its `.p8` key, `iss` the team id, `sub` the Services ID, valid at most six
//! months. We mint a short-lived one for every token request, so nothing needs renewing.

use crate::error::{Misuse, MisuseError};
use crate::protocol::jws::{Alg, Signer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

/// Apple's audience for client secrets, whatever issuer a stand-in uses.
pub const AUDIENCE: &str = "https://appleid.apple.com";
/// How long a minted client secret lives: one token request.
pub const LIFETIME: i64 = 300;

/// The DER of a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as Apple's `.p8` files are.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN PRIVATE KEY-----")
        .skip(1)
        .take_while(|l| *l != "-----END PRIVATE KEY-----")
        .collect();
    if body.is_empty() {
        return Err("private_key must be the .p8 file's PEM (-----BEGIN PRIVATE KEY-----)".into());
    }
    STANDARD
        .decode(body)
        .map_err(|_| "private_key is not valid PEM base64".into())
}

/// Checks that `pem` is an EC P-256 key we can sign with.
pub fn check_key(key_id: &str, pem: &str) -> Result<(), String> {
    let der = pem_to_der(pem)?;
    Signer::from_pkcs8(key_id, Alg::ES256, &der)
        .map(|_| ())
        .map_err(|_| "private_key is not an EC P-256 key (Apple's .p8 keys are)".into())
}

/// The client secret JWT's claims.
pub fn claims(team_id: &str, client_id: &str, now: i64) -> Value {
    json!({"iss": team_id, "iat": now, "exp": now + LIFETIME, "aud": AUDIENCE, "sub": client_id})
}

/// A client secret for one token request.
pub fn client_secret(
    team_id: &str,
    key_id: &str,
    client_id: &str,
    pem: &str,
    now: i64,
) -> Result<String, MisuseError> {
    let der = pem_to_der(pem).map_err(|e| MisuseError::new(Misuse::Misconfigured, e))?;
    let signer = Signer::from_pkcs8(key_id, Alg::ES256, &der)?;
    signer.sign("JWT", &claims(team_id, client_id, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::jws;

    #[test]
    fn mints_an_es256_jwt_apple_accepts() {
        let k = jws::generate(Alg::ES256).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(&k.private_pkcs8)
        );
        check_key("KEY1", &pem).unwrap();
        let jwt = client_secret("TEAM", "KEY1", "com.example.web", &pem, 1000).unwrap();
        let (kid, alg) = jws::peek_header(&jwt).unwrap();
        assert_eq!((kid.as_str(), alg), ("KEY1", Alg::ES256));
        let c = jws::unverified_claims(&jwt).unwrap();
        assert_eq!(c["iss"], "TEAM");
        assert_eq!(c["sub"], "com.example.web");
        assert_eq!(c["aud"], AUDIENCE);
        assert!(c["exp"].as_i64().unwrap() - 1000 <= 15_777_000);
        assert!(check_key("K", "garbage").is_err());
    }
}
