//! The keys of a `private_key_jwt` client (RFC 7523 §2.2, RFC 7591 §2): its public JWK Set
//! given inline (`jwks`) or at a URL the front fetches (`jwks_uri`), exactly one of them, and
//! neither for a client that authenticates another way (they would be keys nothing checks).

use crate::error::{bad_param, MisuseError};
use crate::model::AuthMethod;
use crate::protocol::issuer_policy::{check_url, sanitize_jwks};
use serde_json::Value;

/// Where a client's public keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKeys {
    /// Given inline: public signing keys with a `kid`, reduced to the members verification
    /// needs (as a trusted issuer's are).
    Jwks(Value),
    /// Published by the client at this URL (https, or http on loopback), fetched by the front.
    JwksUri(String),
}

/// At most this many keys inline: enough for a rotation, not a store of someone's keys.
const MAX_KEYS: usize = 10;

/// The keys `method` needs: exactly one of `jwks` and `jwks_uri` for `private_key_jwt`, none
/// otherwise.
pub(super) fn keys_rule(
    method: AuthMethod,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
) -> Result<Option<ClientKeys>, MisuseError> {
    let signs = method == AuthMethod::PrivateKeyJwt;
    match (signs, jwks, jwks_uri) {
        (true, Some(_), Some(_)) => Err(bad_param(
            "private_key_jwt takes the client's keys as jwks or at jwks_uri, not both",
        )),
        (true, Some(jwks), None) => {
            let clean = sanitize_jwks(&jwks).map_err(|e| bad_param(format!("jwks: {e}")))?;
            let n = clean["keys"].as_array().map_or(0, Vec::len);
            if n == 0 {
                return Err(bad_param(
                    "jwks has no public signing key with a kid (EC, OKP or RSA, use sig)",
                ));
            }
            if n > MAX_KEYS {
                return Err(bad_param(format!("jwks has more than {MAX_KEYS} keys")));
            }
            Ok(Some(ClientKeys::Jwks(clean)))
        }
        (true, None, Some(uri)) => {
            check_url("jwks_uri", &uri).map_err(bad_param)?;
            Ok(Some(ClientKeys::JwksUri(uri)))
        }
        (true, None, None) => Err(bad_param(
            "private_key_jwt needs the client's public keys: jwks or jwks_uri",
        )),
        (false, None, None) => Ok(None),
        (false, _, _) => Err(bad_param(
            "jwks and jwks_uri are only for clients whose token_endpoint_auth_method is private_key_jwt",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(kid: &str) -> Value {
        json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
               "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
               "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})
    }

    fn refused(r: Result<Option<ClientKeys>, MisuseError>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn a_private_key_jwt_client_has_exactly_one_source_of_keys() {
        let m = AuthMethod::PrivateKeyJwt;
        let jwks = json!({"keys": [key("k1")]});
        assert!(matches!(
            keys_rule(m, Some(jwks.clone()), None).unwrap(),
            Some(ClientKeys::Jwks(_))
        ));
        assert_eq!(
            keys_rule(m, None, Some("https://app.example/jwks".into())).unwrap(),
            Some(ClientKeys::JwksUri("https://app.example/jwks".into()))
        );
        assert!(
            refused(keys_rule(m, Some(jwks), Some("https://a.example/j".into())))
                .contains("not both")
        );
        assert!(refused(keys_rule(m, None, None)).contains("jwks or jwks_uri"));
    }

    #[test]
    fn other_clients_have_none() {
        for m in [
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::None,
        ] {
            assert_eq!(keys_rule(m, None, None).unwrap(), None);
            assert!(
                refused(keys_rule(m, None, Some("https://a.example/j".into())))
                    .contains("only for clients")
            );
        }
    }

    #[test]
    fn inline_keys_are_public_signing_keys_and_not_too_many() {
        let m = AuthMethod::PrivateKeyJwt;
        let mut private = key("k1");
        private["d"] = json!("secret");
        assert!(refused(keys_rule(m, Some(json!({"keys": [private]})), None)).contains("private"));
        let hmac = json!({"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]});
        assert!(refused(keys_rule(m, Some(hmac), None)).contains("private or symmetric"));
        let no_kid = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]});
        assert!(refused(keys_rule(m, Some(no_kid), None)).contains("with a kid"));
        let many: Vec<Value> = (0..11).map(|i| key(&format!("k{i}"))).collect();
        assert!(refused(keys_rule(m, Some(json!({"keys": many})), None)).contains("more than 10"));
        assert!(refused(keys_rule(m, Some(json!([key("k")])), None)).contains("keys array"));
    }

    #[test]
    fn a_jwks_uri_is_https_or_loopback_http_without_query_or_credentials() {
        let m = AuthMethod::PrivateKeyJwt;
        assert!(keys_rule(m, None, Some("http://127.0.0.1:9/jwks".into())).is_ok());
        for bad in [
            "http://app.example/jwks",
            "https://app.example/jwks?x=1",
            "https://u:p@app.example/jwks",
            "jwks",
        ] {
            assert!(keys_rule(m, None, Some(bad.into())).is_err(), "{bad}");
        }
    }
}
