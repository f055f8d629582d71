//! Each rule of RFC 7523 §3 with an assertion that breaks only it. Its fixtures serve the
//! attack review too (`protocol::attack_review`).

use super::*;
use crate::protocol::jws::Alg;
use crate::protocol::test_keys::TestKey;
use serde_json::json;

pub(crate) const CLIENT: &str = "client-123";
pub(crate) const ISSUER: &str = "https://as.example";
pub(crate) const TOKEN_URL: &str = "https://as.example/oauth/token";
pub(crate) const NOW: i64 = 1_800_000_000;

fn key(alg: Alg) -> TestKey {
    TestKey::new(alg)
}

pub(crate) fn expected() -> Expected<'static> {
    Expected {
        client_id: CLIENT,
        audiences: &[ISSUER, TOKEN_URL],
        now: NOW,
        skew_secs: 5,
    }
}

/// The claims of a valid assertion for CLIENT.
pub(crate) fn claims() -> Value {
    json!({"iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "jti": "a-1", "exp": NOW + 60, "iat": NOW})
}

/// An assertion by `k`; `header` and `claims` entries replace the defaults (`null` removes).
pub(crate) fn assertion(k: &TestKey, header: Value, claims_over: Value) -> String {
    let h = json!({"alg": k.signer.alg.as_str(), "kid": k.signer.kid, "typ": "JWT"});
    k.sign(h, header, claims(), claims_over)
}

fn refused(a: &str, keys: &[Value]) -> String {
    check(a, keys, &expected()).expect_err("the assertion must be refused")
}

#[test]
fn an_assertion_by_a_registered_key_of_each_kind_proves_the_client() {
    for alg in [Alg::ES256, Alg::EdDSA, Alg::RS256] {
        let k = key(alg);
        let other = key(Alg::ES256);
        let keys = [other.jwk.clone(), k.jwk.clone()];
        let proven = check(&assertion(&k, json!({}), json!({})), &keys, &expected()).unwrap();
        assert_eq!(proven.jti, "a-1");
        assert_eq!(
            proven.kid.as_deref(),
            Some(k.signer.kid.as_str()),
            "{alg:?}"
        );
        assert_eq!(proven.remember_until, NOW + 60 + 5 + 1);
        // Without a kid, every registered key of the algorithm is tried.
        assert!(
            check(
                &assertion(&k, json!({"kid": null}), json!({})),
                &keys,
                &expected()
            )
            .is_ok(),
            "{alg:?}"
        );
    }
}

#[test]
fn aud_must_name_this_server() {
    let k = key(Alg::ES256);
    let keys = [k.jwk.clone()];
    for aud in [json!(ISSUER), json!(TOKEN_URL), json!([ISSUER])] {
        assert!(
            check(
                &assertion(&k, json!({}), json!({"aud": aud})),
                &keys,
                &expected()
            )
            .is_ok(),
            "{aud}"
        );
    }
    for aud in [
        json!(null),
        json!("https://other.example"),
        json!(["https://other.example"]),
        json!("https://as.example/"),
        json!("https://as.example/oauth/token/"),
        json!([]),
        // Also addressed to another server, which could replay it here.
        json!(["https://other.example", ISSUER]),
        json!([ISSUER, TOKEN_URL]),
        json!(7),
    ] {
        assert!(
            refused(&assertion(&k, json!({}), json!({"aud": aud})), &keys).contains("aud"),
            "{aud}"
        );
    }
}

#[test]
fn iss_and_sub_must_be_the_client() {
    let k = key(Alg::ES256);
    let keys = [k.jwk.clone()];
    for over in [
        json!({"iss": "another-client"}),
        json!({"sub": "another-client"}),
        json!({"iss": null}),
        json!({"sub": null}),
    ] {
        let why = refused(&assertion(&k, json!({}), over.clone()), &keys);
        assert!(why.contains("is not the client_id"), "{over}: {why}");
    }
}

#[test]
fn a_short_life_a_jti_and_times_that_are_not_ahead() {
    let k = key(Alg::ES256);
    let keys = [k.jwk.clone()];
    let long_jti = "j".repeat(MAX_JTI_CHARS + 1);
    for (over, why) in [
        (json!({"exp": null}), "no exp"),
        (json!({"exp": "soon"}), "malformed"),
        (json!({"exp": NOW - 6}), "expired"),
        (json!({"exp": NOW + MAX_LIFETIME_SECS + 6}), "ahead"),
        (json!({"exp": NOW + 86_400}), "ahead"),
        (json!({"nbf": NOW + 6}), "nbf"),
        (json!({"iat": NOW + 6}), "future"),
        (json!({"iat": -3}), "malformed"),
        (json!({"jti": null}), "jti"),
        (json!({"jti": ""}), "jti"),
        (json!({"jti": long_jti}), "jti"),
    ] {
        let got = refused(&assertion(&k, json!({}), over.clone()), &keys);
        assert!(got.contains(why), "{over}: {got}");
    }
    for over in [
        json!({"exp": NOW + MAX_LIFETIME_SECS}),
        json!({"exp": NOW - 5}),
        json!({"iat": null}),
    ] {
        assert!(
            check(&assertion(&k, json!({}), over.clone()), &keys, &expected()).is_ok(),
            "{over}"
        );
    }
}

#[test]
fn a_key_the_client_did_not_register_proves_nothing() {
    let registered = key(Alg::ES256);
    let thief = key(Alg::ES256);
    let keys = [registered.jwk.clone()];
    // The registered key's kid on the thief's signature.
    let forged = assertion(&thief, json!({"kid": registered.signer.kid}), json!({}));
    assert!(refused(&forged, &keys).contains("signature"));
    // Its own kid, which the client never registered.
    assert!(refused(&assertion(&thief, json!({}), json!({})), &keys).contains("no key"));
    // No kid at all: no registered key verifies it.
    assert!(
        refused(&assertion(&thief, json!({"kid": null}), json!({})), &keys).contains("signature")
    );
}

#[test]
fn none_and_hmac_are_refused_before_any_key_is_used() {
    let k = key(Alg::ES256);
    let keys = [k.jwk.clone()];
    // HS256 with the client's public key as the secret: the classic confusion.
    let secret = k.jwk.to_string();
    let claims = json!({"iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "jti": "h", "exp": NOW + 60});
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    assert!(refused(&hs, &keys).contains("alg \"HS256\""));
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert!(refused(&unsigned, &keys).contains("alg \"none\""));
}

#[test]
fn keys_for_encryption_private_keys_and_other_algorithms_are_not_candidates() {
    let k = key(Alg::ES256);
    let a = assertion(&k, json!({}), json!({}));
    let mut enc = k.jwk.clone();
    enc["use"] = json!("enc");
    assert!(refused(&a, &[enc]).contains("no key"));
    let mut private = k.jwk.clone();
    private["d"] = json!("AAAA");
    assert!(refused(&a, &[private]).contains("no key"));
    let mut pinned = k.jwk.clone();
    pinned["alg"] = json!("ES384");
    assert!(refused(&a, &[pinned]).contains("no key"));
    let rsa = key(Alg::RS256);
    assert!(refused(
        &assertion(&rsa, json!({"kid": null}), json!({})),
        std::slice::from_ref(&k.jwk)
    )
    .contains("no key"));
}

#[test]
fn what_is_not_an_assertion_is_refused() {
    let k = key(Alg::ES256);
    let keys = [k.jwk.clone()];
    for a in ["", "a.b", "a.b.c.d", "!!.e30.x"] {
        assert!(check(a, &keys, &expected()).is_err(), "{a}");
    }
    let huge = format!("{}.e30.x", "a".repeat(MAX_ASSERTION_BYTES));
    assert!(refused(&huge, &keys).contains("longer"));
}

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
