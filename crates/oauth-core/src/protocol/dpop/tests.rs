//! Each rule of RFC 9449 §4.3 with a proof that breaks only it. Its fixtures (a request, a
//! proof by a key) serve the attack review too (`protocol::attack_review`).

use super::*;
use crate::protocol::jws::Alg;
use crate::protocol::test_keys::TestKey;
use serde_json::json;

pub(crate) const URL: &str = "https://as.example/oauth/token";
pub(crate) const NOW: i64 = 1_800_000_000;

fn key(alg: Alg) -> TestKey {
    TestKey::new(alg)
}

pub(crate) fn expected() -> Expected<'static> {
    Expected {
        method: "POST",
        url: URL,
        now: NOW,
        max_age_secs: 60,
        skew_secs: 5,
        access_token: None,
        nonce: None,
    }
}

pub(crate) fn claims() -> Value {
    json!({"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": URL, "iat": NOW})
}

/// A proof by `k` with its public key in the header; `header` and `claims` entries replace the
/// defaults (a `null` removes one).
pub(crate) fn proof_with(k: &TestKey, header: Value, claims_over: Value) -> String {
    let h = json!({"typ": "dpop+jwt", "alg": k.signer.alg.as_str(), "jwk": k.jwk});
    k.sign(h, header, claims(), claims_over)
}

fn refused(proof: &str, e: &Expected) -> String {
    match check(proof, e) {
        Err(Refusal::Invalid(why)) => why,
        other => panic!("expected invalid_dpop_proof, got {other:?}"),
    }
}

#[test]
fn a_proof_by_each_kind_of_key_binds_to_its_thumbprint() {
    for alg in [Alg::ES256, Alg::EdDSA, Alg::RS256] {
        let k = key(alg);
        let proven = check(&proof_with(&k, json!({}), json!({})), &expected()).unwrap();
        assert_eq!(proven.jkt, jws::thumbprint(&k.jwk), "{alg:?}");
        assert_eq!(proven.jti, "e1j3V_bKic8-LAEB");
        assert_eq!(proven.iat, NOW);
        assert!(
            proven.remember_until > NOW + 60,
            "remembered as long as it could be taken"
        );
    }
}

#[test]
fn the_header_must_say_dpop_jwt_with_a_public_key_and_an_asymmetric_alg() {
    let k = key(Alg::ES256);
    let e = expected();
    for (header, why) in [
        (json!({"typ": null}), "typ"),
        (json!({"typ": "JWT"}), "typ"),
        (json!({"typ": "DPOP+JWT"}), "typ"),
        (json!({"alg": "none"}), "alg"),
        (json!({"alg": "HS256"}), "alg"),
        (json!({"alg": "RS256"}), "does not match its key"),
        (json!({"jwk": null}), "no jwk"),
        (json!({"jwk": "a string"}), "no jwk"),
        (json!({"crit": ["exp"]}), "critical"),
    ] {
        let got = refused(&proof_with(&k, header.clone(), json!({})), &e);
        assert!(got.contains(why), "{header}: {got}");
    }
    // The private key in the header: whoever holds the proof would hold the key.
    let mut private = k.jwk.clone();
    private["d"] = json!("AAAA");
    let got = refused(&proof_with(&k, json!({"jwk": private}), json!({})), &e);
    assert!(got.contains("private member (d)"), "{got}");
    // A symmetric key: its "k" is the secret.
    let oct = json!({"kty": "oct", "k": "c2VjcmV0"});
    let got = refused(&proof_with(&k, json!({"jwk": oct}), json!({})), &e);
    assert!(got.contains("private member (k)"), "{got}");
}

#[test]
fn the_signature_must_be_by_the_key_in_the_header() {
    let k = key(Alg::ES256);
    let other = key(Alg::ES256);
    // Signed by another key than the one it names.
    let got = refused(
        &proof_with(&other, json!({"jwk": k.jwk}), json!({})),
        &expected(),
    );
    assert!(got.contains("signature"), "{got}");
    // Claims changed after signing.
    let p = proof_with(&k, json!({}), json!({}));
    let parts: Vec<&str> = p.split('.').collect();
    let forged_claims = URL_SAFE_NO_PAD
        .encode(json!({"jti": "x", "htm": "GET", "htu": URL, "iat": NOW}).to_string());
    let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
    assert!(refused(&forged, &expected()).contains("signature"));
}

#[test]
fn a_short_rsa_key_is_refused() {
    let k = key(Alg::RS256);
    let mut short = k.jwk.clone();
    let n = URL_SAFE_NO_PAD
        .decode(short["n"].as_str().unwrap())
        .unwrap();
    short["n"] = json!(URL_SAFE_NO_PAD.encode(&n[..128]));
    let got = refused(
        &proof_with(&k, json!({"jwk": short}), json!({})),
        &expected(),
    );
    assert!(got.contains("2048"), "{got}");
}

#[test]
fn the_claims_must_name_this_request_now() {
    let k = key(Alg::EdDSA);
    let e = expected();
    let long_jti = "j".repeat(MAX_JTI_CHARS + 1);
    for (over, why) in [
        (json!({"jti": null}), "jti"),
        (json!({"jti": ""}), "jti"),
        (json!({"jti": 7}), "jti"),
        (json!({"jti": long_jti}), "jti"),
        (json!({"htm": "post"}), "method"),
        (json!({"htm": "GET"}), "method"),
        (json!({"htm": null}), "method"),
        (json!({"htu": "https://as.example/oauth/userinfo"}), "URL"),
        (json!({"htu": "https://evil.example/oauth/token"}), "URL"),
        (json!({"htu": "http://as.example/oauth/token"}), "URL"),
        (json!({"htu": null}), "htu"),
        (json!({"htu": "/oauth/token"}), "htu"),
        (json!({"iat": null}), "iat"),
        (json!({"iat": "1800000000"}), "iat"),
        (json!({"iat": -1}), "iat"),
        (json!({"iat": NOW - 61}), "too old"),
        (json!({"iat": NOW + 6}), "future"),
    ] {
        let got = refused(&proof_with(&k, json!({}), over.clone()), &e);
        assert!(got.contains(why), "{over}: {got}");
    }
    // Within the window at both ends, and another spelling of this URL.
    for over in [
        json!({"iat": NOW - 60}),
        json!({"iat": NOW + 5}),
        json!({"htu": "HTTPS://AS.example:443/oauth/token?x=1"}),
    ] {
        assert!(
            check(&proof_with(&k, json!({}), over.clone()), &e).is_ok(),
            "{over}"
        );
    }
}

#[test]
fn a_required_nonce_must_be_the_one_given() {
    let k = key(Alg::ES256);
    let e = Expected {
        nonce: Some("n-1"),
        ..expected()
    };
    assert_eq!(
        check(&proof_with(&k, json!({}), json!({})), &e),
        Err(Refusal::UseNonce)
    );
    let stale = proof_with(&k, json!({}), json!({"nonce": "n-0"}));
    assert_eq!(check(&stale, &e), Err(Refusal::UseNonce));
    assert!(check(&proof_with(&k, json!({}), json!({"nonce": "n-1"})), &e).is_ok());
    // A nonce the server did not ask for is not a reason to refuse.
    assert!(check(
        &proof_with(&k, json!({}), json!({"nonce": "x"})),
        &expected()
    )
    .is_ok());
}

#[test]
fn at_a_resource_ath_must_hash_the_access_token_presented() {
    let k = key(Alg::ES256);
    let e = Expected {
        access_token: Some("the.access.token"),
        method: "GET",
        url: "https://as.example/oauth/userinfo",
        ..expected()
    };
    let base = json!({"htm": "GET", "htu": "https://as.example/oauth/userinfo"});
    let got = refused(&proof_with(&k, json!({}), base.clone()), &e);
    assert!(got.contains("ath"), "{got}");
    let mut wrong = base.clone();
    wrong["ath"] = json!(ath("another.access.token"));
    assert!(refused(&proof_with(&k, json!({}), wrong), &e).contains("ath"));
    let mut right = base;
    right["ath"] = json!(ath("the.access.token"));
    assert!(check(&proof_with(&k, json!({}), right), &e).is_ok());
}

#[test]
fn the_rfc_ath_example_hashes_as_the_rfc_says() {
    // RFC 9449 §7.1: the access token and its ath from the example.
    assert_eq!(
        ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
}

#[test]
fn what_is_not_a_proof_is_refused_before_any_key_is_read() {
    let e = expected();
    for p in ["", "a.b", "a.b.c.d", "!!.e30.x", "e30.e30.x"] {
        assert!(matches!(check(p, &e), Err(Refusal::Invalid(_))), "{p}");
    }
    let huge = format!("{}.e30.x", "a".repeat(MAX_PROOF_BYTES));
    assert!(refused(&huge, &e).contains("longer"));
}

#[test]
fn dpop_jkt_must_be_a_thumbprints_spelling() {
    let k = key(Alg::ES256);
    let e = expected();
    let jkt = check(&proof_with(&k, json!({}), json!({})), &e)
        .unwrap()
        .jkt;
    assert!(valid_jkt(&jkt));
    for bad in [
        "",
        &jkt[..42],
        &format!("{jkt}A"),
        &format!("{}=", &jkt[..42]),
        &format!("{}+", &jkt[..42]),
        &format!("{} ", &jkt[..42]),
    ] {
        assert!(!valid_jkt(bad), "{bad:?}");
    }
}

#[test]
fn two_proofs_joined_as_an_http_list_are_refused_as_more_than_one() {
    let k = key(Alg::ES256);
    let e = expected();
    let one = proof_with(&k, json!({}), json!({}));
    let two = proof_with(&k, json!({}), json!({"jti": "another"}));
    assert_eq!(
        refused(&format!("{one}, {two}"), &e),
        "the request has more than one DPoP header"
    );
    assert!(check(&one, &e).is_ok());
}

/// A universal forgery: the identity point as the key, R = identity and S = 0 as the signature,
/// "verifies" any message. Every small-order key and non-canonical spelling is refused.
#[test]
fn an_ed25519_key_of_small_order_proves_nothing() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let b = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let header = json!({"typ": "dpop+jwt", "alg": "EdDSA",
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(identity)}});
    let mut sig = identity.to_vec();
    sig.extend([0u8; 32]);
    let forged = format!(
        "{}.{}.{}",
        b(&header),
        b(&claims()),
        URL_SAFE_NO_PAD.encode(&sig)
    );
    let why = refused(&forged, &expected());
    assert!(why.contains("small order"), "{why}");
    // The other small-order points, the sign bit set, and y ≥ p: all refused by the same rule.
    for hex in [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    ] {
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(bytes)});
        assert!(
            crate::protocol::jose_rules::weak_public_key(&jwk).is_some(),
            "{hex}"
        );
    }
    // A real key is not.
    let real = key(Alg::EdDSA);
    assert_eq!(
        crate::protocol::jose_rules::weak_public_key(&real.jwk),
        None
    );
}
