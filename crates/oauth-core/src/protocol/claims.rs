//! The claims of the tokens we issue.
//! Access token (RFC 9068, Supabase/PostgREST compatible): `iss sub aud exp iat jti client_id
//! scope role session_id`. ID token (OIDC Core §2): `iss sub aud azp exp iat auth_time nonce
//! at_hash`.

use super::token_kind;
use crate::error::{bad_param, MisuseError};
use serde_json::{json, Map, Value};

/// What an access token says.
pub struct AccessTokenInput<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub audience: &'a Value,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub role: &'a str,
    pub session_id: &'a str,
    pub jti: &'a str,
    pub now: i64,
    pub lifetime_secs: i64,
}

pub fn access_token(i: &AccessTokenInput) -> Value {
    json!({
        "iss": i.issuer,
        "sub": i.subject,
        "aud": i.audience,
        "exp": i.now + i.lifetime_secs,
        "iat": i.now,
        "jti": i.jti,
        "client_id": i.client_id,
        "scope": i.scope,
        "role": i.role,
        "session_id": i.session_id,
    })
}

/// What an ID token says.
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub client_id: &'a str,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    pub at_hash: &'a str,
    pub now: i64,
    pub lifetime_secs: i64,
}

pub fn id_token(i: &IdTokenInput) -> Value {
    let mut c = json!({
        "iss": i.issuer,
        "sub": i.subject,
        "aud": i.client_id,
        "azp": i.client_id,
        "exp": i.now + i.lifetime_secs,
        "iat": i.now,
        "auth_time": i.auth_time,
        "at_hash": i.at_hash,
        token_kind::KIND_CLAIM: token_kind::ID,
    });
    if let Some(n) = i.nonce {
        c["nonce"] = json!(n);
    }
    c
}

/// Claims a hook may not change: they are what makes the token ours, bound to its client and
/// revocable. Everything else (aud, role, custom claims) is the hook's to shape.
/// `cnf` (RFC 9449 §6): which key the token is bound to is the proof's, never the hook's.
/// `act` and `may_act` (RFC 8693 §4.1, §4.4): who acts for the user is the exchange's record,
/// which RLS reads (`oauth.actor()`); a hook that dropped it would make an agent's token a
/// user's own.
const PROTECTED: &[&str] = &[
    "act",
    "may_act",
    "iss",
    "sub",
    "exp",
    "iat",
    "jti",
    "client_id",
    "session_id",
    "cnf",
];

/// Validates what the access-token hook returned (`{"claims": {...}}`) against the claims it
/// was given; returns the claims to sign.
pub fn apply_hook_result(original: &Value, result: &Value) -> Result<Value, MisuseError> {
    let hint = "the hook must return {\"claims\": {...}} and keep iss, sub, exp, iat, jti, client_id, session_id, cnf, act and may_act";
    let claims: &Map<String, Value> =
        result
            .get("claims")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                bad_param("access token hook did not return an object with \"claims\"").hint(hint)
            })?;
    for name in PROTECTED {
        if claims.get(*name) != original.get(*name) {
            return Err(bad_param(format!(
                "access token hook changed or removed the protected claim {name:?}"
            ))
            .hint(hint));
        }
    }
    // Nor may it give the token the marks of another kind (an ID token's, a session's).
    for name in token_kind::KIND_CLAIMS {
        if claims.get(*name) != original.get(*name) {
            return Err(bad_param(format!(
                "access token hook may not set {name:?}: it decides what kind of token this is"
            ))
            .hint(hint));
        }
    }
    for name in ["aud", "role"] {
        if !claims.contains_key(name) {
            return Err(
                bad_param(format!("access token hook removed the claim {name:?}")).hint(hint),
            );
        }
    }
    Ok(Value::Object(claims.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Value {
        access_token(&AccessTokenInput {
            issuer: "https://i.example",
            subject: "u1",
            audience: &json!("authenticated"),
            client_id: "c1",
            scope: "openid email",
            role: "authenticated",
            session_id: "g1",
            jti: "j1",
            now: 1000,
            lifetime_secs: 3600,
        })
    }

    #[test]
    fn access_token_has_every_required_claim() {
        let c = at();
        for k in [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "client_id",
            "scope",
            "role",
            "session_id",
        ] {
            assert!(c.get(k).is_some(), "{k}");
        }
        assert_eq!(c["exp"], 4600);
    }

    #[test]
    fn id_token_nonce_only_when_given() {
        let mut i = IdTokenInput {
            issuer: "i",
            subject: "u",
            client_id: "c",
            auth_time: 5,
            nonce: None,
            at_hash: "h",
            now: 10,
            lifetime_secs: 60,
        };
        assert!(id_token(&i).get("nonce").is_none());
        i.nonce = Some("n");
        let c = id_token(&i);
        assert_eq!(c["nonce"], "n");
        assert_eq!(c["aud"], "c");
        assert_eq!(c["azp"], "c");
        assert_eq!(c["token_use"], "id");
    }

    #[test]
    fn hook_may_add_but_not_forge() {
        let orig = at();
        let mut added = orig.clone();
        added["tenant"] = json!("t1");
        added["role"] = json!("partner");
        let out = apply_hook_result(&orig, &json!({"claims": added})).unwrap();
        assert_eq!(out["tenant"], "t1");

        let mut forged = orig.clone();
        forged["client_id"] = json!("other");
        assert!(apply_hook_result(&orig, &json!({"claims": forged})).is_err());
        let mut no_aud = orig.clone();
        no_aud.as_object_mut().unwrap().remove("aud");
        assert!(apply_hook_result(&orig, &json!({"claims": no_aud})).is_err());
        assert!(apply_hook_result(&orig, &json!({"nope": 1})).is_err());
        for mark in ["token_use", "azp", "at_hash", "nonce"] {
            let mut retyped = orig.clone();
            retyped[mark] = json!("session");
            assert!(
                apply_hook_result(&orig, &json!({"claims": retyped})).is_err(),
                "{mark}"
            );
        }
    }
}
