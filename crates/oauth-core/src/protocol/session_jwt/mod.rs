//! A signed-in user's session token from a trusted third-party issuer (Supabase Auth, Clerk,
//! Firebase Auth, Auth0, Cognito, WorkOS, …): verified with the issuer's stored keys and
//! policy, then normalised so that every issuer's sessions look alike to the consent API and
//! to RLS: `sub` is the user id, `role` the Postgres role, `email_verified` true only when the
//! issuer's policy says the upstream email is verified.
//!
//! - this module: verifying a token (signature, declared type) and judging claims whose
//!   signature someone else checked, both refused while the issuer is disabled;
//! - `claims`: what the claims must say to be a user session, and how they map onto ours;
//! - `recorded`: what the policy judged, kept with what the session approves, and judged
//!   again by today's policy at every later use (`rejudge`).

mod claims;
mod recorded;

pub use recorded::{rejudge, RECORD};

use super::issuer_policy::IssuerPolicy;
use super::jws;
use claims::{client_bound_sessions, normalise};
use serde_json::Value;

/// Why a session token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The `kid` is not in the stored JWKS: the issuer may have rotated its keys, so the
    /// caller may refresh the JWKS and try once more.
    UnknownKey {
        kid: String,
    },
    Invalid(String),
}

impl SessionError {
    pub fn message(&self, issuer: &str) -> String {
        match self {
            SessionError::UnknownKey { kid } => {
                format!("token key {kid:?} is not among the keys of issuer {issuer}")
            }
            SessionError::Invalid(m) => m.clone(),
        }
    }
}

/// The `iss` claim, read without verification, to choose the keys to verify with.
pub fn unverified_issuer(token: &str) -> Result<String, String> {
    jws::unverified_claims(token)?
        .get("iss")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .ok_or_else(|| "token has no iss claim".into())
}

/// Verifies `token` against `policy` and the issuer's sanitised `jwks`, and returns the
/// normalised claims. `default_leeway` applies when the policy sets none.
pub fn verify(
    token: &str,
    policy: &IssuerPolicy,
    jwks: &Value,
    default_leeway: u64,
) -> Result<Value, SessionError> {
    let invalid = SessionError::Invalid;
    check_enabled(policy).map_err(invalid)?;
    let (kid, alg) = jws::peek_external_header(token).map_err(invalid)?;
    let jwk = jwks
        .get("keys")
        .and_then(Value::as_array)
        .and_then(|keys| keys.iter().find(|k| k["kid"].as_str() == Some(&kid)))
        .ok_or_else(|| SessionError::UnknownKey { kid: kid.clone() })?;
    let leeway = policy.leeway.unwrap_or(default_leeway);
    let claims = jws::verify_with(token, jwk, alg, None, leeway).map_err(invalid)?;
    check_declared_type(jws::peek_typ(token).map_err(invalid)?.as_deref(), policy)
        .map_err(invalid)?;
    judge(claims, policy).map_err(invalid)
}

/// Claims whose signature someone else checked (PostgREST's `request.jwt.claims`) judged by
/// the issuer's whole policy, exactly as [`verify`] judges a token after its signature:
/// refused while the issuer is disabled, then checked and normalised. Whatever the claims say
/// of themselves (`token_use: session` included) changes nothing here.
pub fn judge(claims: Value, policy: &IssuerPolicy) -> Result<Value, String> {
    check_enabled(policy)?;
    normalise(claims, policy)
}

fn check_enabled(policy: &IssuerPolicy) -> Result<(), String> {
    if policy.enabled {
        Ok(())
    } else {
        Err(format!("issuer {} is disabled", policy.issuer))
    }
}

/// A token that declares its type (RFC 8725 §3.11 explicit typing) is taken at its word: only
/// an untyped or plain `JWT` token can be a session. An RFC 9068 access token (`at+jwt`) was
/// issued to an OAuth client of that issuer, and is accepted only from an issuer whose sessions
/// are client-bound by design (Cognito access tokens: audience claim `client_id`); a logout
/// token (`logout+jwt`), a security event (`secevent+jwt`), a DPoP proof, a client assertion or
/// any other declared type never is.
fn check_declared_type(typ: Option<&str>, policy: &IssuerPolicy) -> Result<(), String> {
    let Some(t) = typ.map(|t| t.to_ascii_lowercase()) else {
        return Ok(());
    };
    let t = t.strip_prefix("application/").unwrap_or(&t);
    match t {
        "jwt" => Ok(()),
        "at+jwt" if client_bound_sessions(policy) => Ok(()),
        "at+jwt" => Err(
            "token is an OAuth access token (typ at+jwt) issued to a client, not a user session"
                .into(),
        ),
        other => Err(format!(
            "token declares itself a {other} (typ), not a user session"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::jws::{self, Alg, Signer};
    use serde_json::json;

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn policy(issuer: &str, options: Value) -> IssuerPolicy {
        IssuerPolicy::from_options(issuer, &options).unwrap()
    }

    /// An issuer with one EdDSA key, and a token of `claims` signed with it.
    fn signed(claims: Value) -> (Value, String) {
        let k = jws::generate(Alg::EdDSA).unwrap();
        let signer = Signer::from_pkcs8(&k.kid, Alg::EdDSA, &k.private_pkcs8).unwrap();
        let token = signer.sign("JWT", &claims).unwrap();
        (json!({"keys": [k.public_jwk]}), token)
    }

    #[test]
    fn claims_are_judged_by_the_whole_policy_whatever_they_say_they_are() {
        let iss = "https://idp.example";
        let c = json!({"iss": iss, "sub": "u", "token_use": "session"});
        assert_eq!(
            judge(c.clone(), &policy(iss, json!({}))).unwrap()["sub"],
            "u"
        );
        let off = policy(iss, json!({"enabled": false}));
        assert!(judge(c.clone(), &off).unwrap_err().contains("disabled"));
        let pinned = policy(iss, json!({"required_claims": {"org": "acme"}}));
        assert!(judge(c.clone(), &pinned).is_err());
        // Another spelling of the issuer is another issuer.
        let slashed = json!({"iss": "https://idp.example/", "sub": "u"});
        assert!(judge(slashed, &policy(iss, json!({}))).is_err());
    }

    #[test]
    fn firebase_token_is_normalised() {
        let iss = "https://securetoken.google.com/proj-a";
        let (jwks, token) = signed(json!({
            "iss": iss, "aud": "proj-a", "sub": "uid1", "user_id": "uid1",
            "exp": now() + 60, "iat": now(), "auth_time": now(),
            "email": "a@example.com", "email_verified": true,
            "firebase": {"sign_in_provider": "password"}
        }));
        let c = verify(&token, &policy(iss, json!({})), &jwks, 30).unwrap();
        assert_eq!(c["sub"], "uid1");
        assert_eq!(c["role"], "authenticated");
        assert_eq!(c["email_verified"], true);
        assert_eq!(c["firebase"]["sign_in_provider"], "password");
    }

    #[test]
    fn another_firebase_project_is_refused() {
        let iss = "https://securetoken.google.com/proj-a";
        let (jwks, token) = signed(json!({
            "iss": iss, "aud": "proj-b", "sub": "u", "exp": now() + 60
        }));
        let e = verify(&token, &policy(iss, json!({})), &jwks, 30).unwrap_err();
        assert!(e.message(iss).contains("audience"), "{e:?}");
    }

    #[test]
    fn unknown_kid_asks_for_a_refresh() {
        let (_, token) = signed(json!({"iss": "https://i.example", "sub": "u", "exp": now() + 60}));
        let (other_jwks, _) = signed(json!({}));
        let e = verify(
            &token,
            &policy("https://i.example", json!({})),
            &other_jwks,
            30,
        );
        assert!(matches!(e, Err(SessionError::UnknownKey { .. })));
    }

    #[test]
    fn an_access_token_typed_at_jwt_is_not_a_session() {
        let iss = "https://idp.example";
        let k = jws::generate(Alg::EdDSA).unwrap();
        let signer = Signer::from_pkcs8(&k.kid, Alg::EdDSA, &k.private_pkcs8).unwrap();
        let claims = json!({"iss": iss, "sub": "u1", "exp": now() + 60, "iat": now()});
        let jwks = json!({"keys": [k.public_jwk]});
        let at = signer.sign("at+jwt", &claims).unwrap();
        let e = verify(&at, &policy(iss, json!({})), &jwks, 30).unwrap_err();
        assert!(e.message(iss).contains("at+jwt"), "{e:?}");
        let plain = signer.sign("JWT", &claims).unwrap();
        assert!(verify(&plain, &policy(iss, json!({})), &jwks, 30).is_ok());
        for typ in [
            "logout+jwt",
            "application/secevent+jwt",
            "dpop+jwt",
            "client-authentication+jwt",
        ] {
            let other = signer.sign(typ, &claims).unwrap();
            let e = verify(&other, &policy(iss, json!({})), &jwks, 30).unwrap_err();
            assert!(e.message(iss).contains("typ"), "{typ}: {e:?}");
        }
        // A logout token of the right audience, untyped (Back-Channel Logout 1.0 allows it).
        let mut logout = claims.clone();
        logout["aud"] = json!("my-spa");
        logout["events"] = json!({"http://schemas.openid.net/event/backchannel-logout": {}});
        let untyped = signer.sign("JWT", &logout).unwrap();
        let e = verify(
            &untyped,
            &policy(iss, json!({"audience": "my-spa"})),
            &jwks,
            30,
        )
        .unwrap_err();
        assert!(e.message(iss).contains("events"), "{e:?}");
    }

    #[test]
    fn refusals_say_why() {
        let iss = "https://i.example";
        let p = policy(iss, json!({"audience": ["api"]}));
        let cases = [
            (
                json!({"iss": iss, "sub": "u", "aud": "api", "exp": now() - 120}),
                "expired",
            ),
            (
                json!({"iss": iss, "sub": "u", "aud": "api", "exp": now() + 60, "nbf": now() + 600}),
                "nbf",
            ),
            (
                json!({"iss": iss, "sub": "u", "aud": "api", "exp": now() + 60, "iat": now() + 600}),
                "future",
            ),
            (json!({"iss": iss, "sub": "u", "aud": "api"}), "exp"),
            (
                json!({"iss": iss, "aud": "api", "exp": now() + 60}),
                "user id",
            ),
            (
                json!({"iss": "https://evil.example", "sub": "u", "aud": "api", "exp": now() + 60}),
                "not issued by",
            ),
        ];
        for (claims, why) in cases {
            let (jwks, token) = signed(claims.clone());
            let e = verify(&token, &p, &jwks, 30).unwrap_err().message(iss);
            assert!(e.contains(why), "{claims}: {e}");
        }
        let (jwks, token) =
            signed(json!({"iss": iss, "sub": "u", "aud": "api", "exp": now() + 60}));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = jws::unverified_claims(&token)
            .unwrap()
            .to_string()
            .replace("\"u\"", "\"admin\"");
        let forged =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, forged);
        parts[1] = &forged;
        let e = verify(&parts.join("."), &p, &jwks, 30)
            .unwrap_err()
            .message(iss);
        assert!(e.contains("signature"), "{e}");
        let disabled = policy(iss, json!({"audience": ["api"], "enabled": false}));
        assert!(verify(&token, &disabled, &jwks, 30)
            .unwrap_err()
            .message(iss)
            .contains("disabled"));
    }
}
