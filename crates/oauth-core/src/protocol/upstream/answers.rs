//! What the upstream answers of a sign-in prove (the `responses` the front relays to
//! `oauth.finish_sign_in`: the token endpoint's answer, and userinfo, GitHub's user and emails,
//! WorkOS's profile, Apple's first-sign-in `user`). For a provider with ID tokens: the token's
//! signature against the provider's stored keys, its lifetime at `now` give or take the clock
//! skew, and its claims (`id_token`), completed from userinfo or Apple's name; for GitHub and
//! WorkOS, what their APIs said. The caller says what time it is, so every rule here is tested
//! without a database.

use super::id_token::{self, Expected};
use super::identity::{self, Identity};
use super::Provider;
use crate::model::SignInKind;
use crate::protocol::jws;
use serde_json::{json, Value};

/// How old an ID token may be when it reaches us: it is minted for this very sign-in.
pub const ID_TOKEN_MAX_AGE: i64 = 600;

/// The sign-in the answers are for, and the time they are judged at.
pub struct Attempt<'a> {
    /// The nonce sent in the authorization request, which the ID token must carry back.
    pub nonce: &'a str,
    /// Seconds since the epoch.
    pub now: i64,
    /// How far the provider's clock may be from ours (`oauth_server.clock_skew`), in seconds.
    pub skew: u64,
}

/// What the answers prove.
#[derive(Debug)]
pub enum Judged {
    /// The user's identity, and the issuer it is an identity of (the ID token's `iss`, or the
    /// API base of GitHub and WorkOS).
    Identity { identity: Identity, issuer: String },
    /// The ID token is signed with a key the provider's stored keys do not have: the front is
    /// to fetch them again (the provider may have rotated) and bring the answers back.
    UnknownKey,
}

/// A relayed answer: its body if the status was 200.
fn ok_body<'a>(responses: &'a Value, name: &str) -> Option<&'a Value> {
    let r = responses.get(name)?;
    (r.get("status").and_then(Value::as_i64) == Some(200)).then(|| &r["body"])
}

/// Judges the answers to a sign-in of `p`, whose stored keys are `jwks`. An `Err` is why the
/// sign-in is refused.
pub fn judge(
    p: &Provider,
    jwks: &Value,
    responses: &Value,
    attempt: &Attempt<'_>,
) -> Result<Judged, String> {
    let token = ok_body(responses, "token").ok_or_else(|| {
        let r = &responses["token"];
        let err = r["body"]["error"].as_str().unwrap_or("no usable answer");
        format!(
            "the provider's token endpoint refused the code ({} {err})",
            r["status"]
        )
    })?;
    // GitHub answers errors with 200.
    if let Some(e) = token.get("error").and_then(Value::as_str) {
        return Err(format!(
            "the provider's token endpoint refused the code ({e})"
        ));
    }
    if p.uses_id_token() {
        return judge_id_token(p, jwks, token, responses, attempt);
    }
    let base = p.api_base.clone().unwrap_or_default();
    let identity = match p.kind {
        SignInKind::Github => {
            let user = ok_body(responses, "user").ok_or("GitHub's user API did not answer")?;
            let emails = ok_body(responses, "emails").cloned().unwrap_or(json!([]));
            identity::from_github(user, &emails)?
        }
        _ => {
            let profile = ok_body(responses, "profile")
                .or_else(|| token.get("profile"))
                .ok_or("WorkOS did not answer with a profile")?;
            identity::from_workos(p, profile)?
        }
    };
    Ok(Judged::Identity {
        identity,
        issuer: base,
    })
}

/// The ID token of the token endpoint's answer: signed by one of the provider's keys (an
/// asymmetric algorithm the key is for: never `none` or HS*), alive at `now`, and for this
/// sign-in (`id_token::check_id_token`).
fn judge_id_token(
    p: &Provider,
    jwks: &Value,
    token: &Value,
    responses: &Value,
    attempt: &Attempt<'_>,
) -> Result<Judged, String> {
    let id_token = token
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or("the provider's token response has no id_token")?;
    let (kid, alg) = jws::peek_external_header(id_token)?;
    let Some(jwk) = jwks["keys"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["kid"].as_str() == Some(kid.as_str())))
    else {
        return Ok(Judged::UnknownKey);
    };
    let claims = jws::verify_at(id_token, jwk, alg, attempt.now, attempt.skew)?;
    id_token::check_id_token(
        p,
        &claims,
        &Expected {
            nonce: attempt.nonce,
            now: attempt.now,
            leeway: attempt.skew as i64,
            max_age: ID_TOKEN_MAX_AGE,
        },
    )?;
    let mut id = identity::from_id_token(p, &claims)?;
    if let Some(userinfo) = ok_body(responses, "userinfo").filter(|_| p.kind == SignInKind::Oidc) {
        identity::complete_from_userinfo(&mut id, userinfo);
    }
    if p.kind == SignInKind::Apple {
        let first = identity::apple_first_name(responses["apple_user"].as_str());
        for (k, v) in first {
            id.profile.entry(k).or_insert(v);
        }
    }
    let issuer = claims["iss"].as_str().unwrap_or_default().to_string();
    Ok(Judged::Identity {
        identity: id,
        issuer,
    })
}

/// When the user really authenticated, for the session: the provider's `auth_time` by its
/// clock (a little ahead is now, beyond the skew is no evidence). Without one (GitHub and
/// WorkOS never say; an OpenID provider that ignored our `max_age`) nobody knows: the session
/// is of unknown age, never fresh enough for `prompt=login` or `max_age`. It is not now: the
/// provider may have signed the user in silently from a sign-in of months ago.
pub fn session_auth_time(claimed: Option<i64>, now: i64, skew: u64) -> Option<i64> {
    claimed
        .filter(|t| *t <= now.saturating_add(skew as i64))
        .map(|t| t.min(now))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{claims, oidc, provider, NOW};
    use super::*;
    use crate::protocol::jws::{generate, Alg, GeneratedKey, Signer};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const SKEW: u64 = 30;

    fn attempt() -> Attempt<'static> {
        Attempt {
            nonce: "n1",
            now: NOW,
            skew: SKEW,
        }
    }

    /// A provider key, and the provider's stored keys holding it.
    fn key(alg: Alg) -> (GeneratedKey, Value) {
        let k = generate(alg).unwrap();
        let jwks = json!({"keys": [k.public_jwk.clone()]});
        (k, jwks)
    }

    fn sign(k: &GeneratedKey, alg: Alg, claims: &Value) -> String {
        Signer::from_pkcs8(&k.kid, alg, &k.private_pkcs8)
            .unwrap()
            .sign("JWT", claims)
            .unwrap()
    }

    /// The token endpoint's answer carrying `id_token`.
    fn answers(id_token: &str) -> Value {
        json!({"token": {"status": 200, "body": {"access_token": "at", "id_token": id_token}}})
    }

    fn judged(jwks: &Value, id_token: &str) -> Result<Judged, String> {
        judge(&oidc(), jwks, &answers(id_token), &attempt())
    }

    fn refusal(jwks: &Value, id_token: &str) -> String {
        judged(jwks, id_token).unwrap_err()
    }

    #[test]
    fn a_good_id_token_proves_its_subject_and_issuer() {
        let (k, jwks) = key(Alg::ES256);
        match judged(&jwks, &sign(&k, Alg::ES256, &claims(json!({})))).unwrap() {
            Judged::Identity { identity, issuer } => {
                assert_eq!(identity.subject, "u1");
                assert_eq!(issuer, "https://op.example");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_lifetime_is_judged_at_now_give_or_take_the_skew() {
        let (k, jwks) = key(Alg::ES256);
        let at = |extra: Value| sign(&k, Alg::ES256, &claims(extra));
        // Expired beyond the skew; within it, still good.
        let err = refusal(&jwks, &at(json!({"exp": NOW - SKEW as i64 - 1})));
        assert!(err.contains("expired"), "{err}");
        assert!(judged(&jwks, &at(json!({"exp": NOW - SKEW as i64}))).is_ok());
        // Not valid yet beyond the skew; within it, good.
        let err = refusal(&jwks, &at(json!({"nbf": NOW + SKEW as i64 + 1})));
        assert!(err.contains("not valid yet"), "{err}");
        assert!(judged(&jwks, &at(json!({"nbf": NOW + SKEW as i64}))).is_ok());
        // Issued in the future beyond the skew.
        let err = refusal(&jwks, &at(json!({"iat": NOW + SKEW as i64 + 1})));
        assert!(err.contains("future"), "{err}");
        // Issued too long ago for this sign-in.
        let err = refusal(
            &jwks,
            &at(json!({"iat": NOW - ID_TOKEN_MAX_AGE - SKEW as i64 - 1})),
        );
        assert!(err.contains("too long ago"), "{err}");
        // No exp, or one that is not a time.
        let err = refusal(&jwks, &at(json!({"exp": null})));
        assert!(err.contains("no exp"), "{err}");
        let err = refusal(&jwks, &at(json!({"nbf": "soon"})));
        assert!(err.contains("nbf is malformed"), "{err}");
        // The time is the caller's, not this machine's: a token of 2001, long expired by the
        // clock of this test run, is good at the `now` it is judged at (and the tokens above,
        // of 2027, were not issued in the future).
        let old = Attempt {
            now: 1_000_000_000,
            ..attempt()
        };
        let past = claims(json!({"iat": 1_000_000_000, "exp": 1_000_000_300}));
        assert!(judge(&oidc(), &jwks, &answers(&sign(&k, Alg::ES256, &past)), &old).is_ok());
    }

    #[test]
    fn audience_issuer_and_nonce_must_be_this_sign_ins() {
        let (k, jwks) = key(Alg::RS256);
        for (bad, why) in [
            (json!({"aud": "someone-else"}), "aud"),
            (json!({"iss": "https://evil.example"}), "issued by"),
            (json!({"nonce": "another-attempt"}), "nonce"),
            (json!({"aud": ["rp", "other"]}), "azp"),
        ] {
            let err = refusal(&jwks, &sign(&k, Alg::RS256, &claims(bad.clone())));
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn algorithms_are_the_keys_and_never_none_or_hmac() {
        let (k, jwks) = key(Alg::ES256);
        let good = sign(&k, Alg::ES256, &claims(json!({})));
        let body = good.split('.').nth(1).unwrap();
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        // `none`, and HS256 with the public key as the secret: refused before any key is used.
        for alg in ["none", "HS256"] {
            let header = b64(&format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, k.kid));
            let err = refusal(&jwks, &format!("{header}.{body}.c2ln"));
            assert!(err.contains("not accepted"), "{alg}: {err}");
        }
        // Another asymmetric algorithm than the key's (an ES256 key, a header saying RS256).
        let header = b64(&format!(r#"{{"alg":"RS256","kid":"{}"}}"#, k.kid));
        let sig = good.split('.').nth(2).unwrap();
        let err = refusal(&jwks, &format!("{header}.{body}.{sig}"));
        assert!(err.contains("does not match its key"), "{err}");
        // A token whose claims were changed after signing.
        let forged = b64(&claims(json!({"sub": "admin"})).to_string());
        let header = good.split('.').next().unwrap();
        let err = refusal(&jwks, &format!("{header}.{forged}.{sig}"));
        assert!(err.contains("signature"), "{err}");
    }

    #[test]
    fn a_key_the_provider_is_not_known_to_have_asks_for_its_keys_again() {
        let (k, _) = key(Alg::ES256);
        let (_, other_jwks) = key(Alg::ES256);
        let t = sign(&k, Alg::ES256, &claims(json!({})));
        assert!(matches!(judged(&other_jwks, &t), Ok(Judged::UnknownKey)));
        assert!(matches!(judged(&json!({}), &t), Ok(Judged::UnknownKey)));
    }

    #[test]
    fn the_token_endpoints_refusals_are_told() {
        let (_, jwks) = key(Alg::ES256);
        let p = oidc();
        let refused = json!({"token": {"status": 400, "body": {"error": "invalid_grant"}}});
        let err = judge(&p, &jwks, &refused, &attempt()).unwrap_err();
        assert!(err.contains("400 invalid_grant"), "{err}");
        let nothing = judge(&p, &jwks, &json!({}), &attempt()).unwrap_err();
        assert!(nothing.contains("no usable answer"), "{nothing}");
        let no_id_token = json!({"token": {"status": 200, "body": {"access_token": "at"}}});
        let err = judge(&p, &jwks, &no_id_token, &attempt()).unwrap_err();
        assert!(err.contains("no id_token"), "{err}");
        // GitHub answers its errors with 200.
        let gh = provider(json!({"kind": "github", "client_id": "c"}));
        let error_200 =
            json!({"token": {"status": 200, "body": {"error": "bad_verification_code"}}});
        let err = judge(&gh, &jwks, &error_200, &attempt()).unwrap_err();
        assert!(err.contains("bad_verification_code"), "{err}");
    }

    #[test]
    fn github_and_workos_are_their_apis_word() {
        let ok = |body: Value| json!({"status": 200, "body": body});
        let gh = provider(json!({"kind": "github", "client_id": "c"}));
        let answers = json!({"token": ok(json!({"access_token": "at"})),
                             "user": ok(json!({"id": 42, "login": "octo"}))});
        match judge(&gh, &json!({}), &answers, &attempt()).unwrap() {
            Judged::Identity { identity, issuer } => {
                assert_eq!(identity.subject, "42");
                assert_eq!(issuer, "https://api.github.com");
            }
            other => panic!("{other:?}"),
        }
        let no_user = json!({"token": ok(json!({"access_token": "at"}))});
        assert!(judge(&gh, &json!({}), &no_user, &attempt())
            .unwrap_err()
            .contains("user API"));
        let workos = provider(json!({"kind": "workos", "client_id": "c", "connection": "conn_1"}));
        let no_profile = json!({"token": ok(json!({"access_token": "at"}))});
        assert!(judge(&workos, &json!({}), &no_profile, &attempt())
            .unwrap_err()
            .contains("profile"));
    }

    #[test]
    fn userinfo_completes_an_openid_identity() {
        let (k, jwks) = key(Alg::ES256);
        let mut a = answers(&sign(&k, Alg::ES256, &claims(json!({}))));
        a["userinfo"] = json!({"status": 200, "body": {"sub": "u1", "name": "Ada"}});
        match judge(&oidc(), &jwks, &a, &attempt()).unwrap() {
            Judged::Identity { identity, .. } => assert_eq!(identity.profile["name"], "Ada"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_sessions_auth_time_is_the_providers_within_the_skew() {
        assert_eq!(session_auth_time(None, NOW, SKEW), None);
        assert_eq!(session_auth_time(Some(NOW - 60), NOW, SKEW), Some(NOW - 60));
        // A little ahead is now; beyond the skew, no evidence.
        assert_eq!(session_auth_time(Some(NOW + 10), NOW, SKEW), Some(NOW));
        assert_eq!(session_auth_time(Some(NOW + 31), NOW, SKEW), None);
    }
}
