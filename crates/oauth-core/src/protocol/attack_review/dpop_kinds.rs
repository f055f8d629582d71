use super::*;

// ---------------------------------------------------------------- class 1: kinds confused

#[test]
fn dpop_typ_spellings_other_than_exact_are_refused() {
    let k = TestKey::new(Alg::ES256);
    for typ in [
        json!("application/dpop+jwt"),
        json!("dpop+jwt; charset=utf-8"),
        json!("DPoP+JWT"),
        json!("dpop+jwt "),
        json!("dpop+JWT"),
        json!("at+jwt"),
        json!("JWT"),
        json!(["dpop+jwt"]),
        json!({"v": "dpop+jwt"}),
    ] {
        let got = dpop::check(&proof(&k, json!({"typ": typ}), json!({})), &expected());
        assert!(got.is_err(), "typ {typ} accepted");
    }
}

#[test]
fn client_assertion_access_token_and_id_token_are_not_dpop_proofs() {
    let k = TestKey::new(Alg::ES256);
    // A client assertion with every DPoP claim and the key in the header, but typ JWT.
    let assertion_like = k.sign(
        json!({"alg": "ES256", "typ": "JWT", "jwk": k.jwk}),
        json!({}),
        json!({"iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "exp": NOW + 60}),
        dpop_claims(),
    );
    assert!(dpop::check(&assertion_like, &expected()).is_err());
    // An access token (at+jwt) with a kid but no jwk.
    let at = k.sign(
        json!({"alg": "ES256", "typ": "at+jwt", "kid": k.signer.kid}),
        json!({}),
        dpop_claims(),
        json!({}),
    );
    assert!(dpop::check(&at, &expected()).is_err());
    // typ dpop+jwt with a kid instead of a jwk (an ID token re-labelled).
    let kid_only = k.sign(
        json!({"alg": "ES256", "typ": "dpop+jwt", "kid": k.signer.kid}),
        json!({}),
        dpop_claims(),
        json!({}),
    );
    assert!(dpop::check(&kid_only, &expected()).is_err());
}

#[test]
fn dpop_none_hmac_and_unlisted_algs_are_refused() {
    let k = TestKey::new(Alg::ES256);
    for alg in [
        json!("none"),
        json!("None"),
        json!("HS256"),
        json!("hs256"),
        json!("es256"),
        json!("ES256K"),
        json!("ES512"),
        json!(""),
        json!(null),
        json!(["ES256"]),
    ] {
        assert!(
            dpop::check(&proof(&k, json!({"alg": alg}), json!({})), &expected()).is_err(),
            "alg {alg}"
        );
    }
    // A real alg:none token (empty signature) with an HMAC "jwk".
    let unsigned = format!(
        "{}.{}.",
        b64(json!({"typ": "dpop+jwt", "alg": "none", "jwk": k.jwk}).to_string()),
        b64(dpop_claims().to_string())
    );
    assert!(dpop::check(&unsigned, &expected()).is_err());
    // HS256 keyed with an oct JWK whose secret is named "K" (not the listed "k").
    let secret = b"s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t";
    let header =
        json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "K": b64(secret)}});
    let input = format!(
        "{}.{}",
        b64(header.to_string()),
        b64(dpop_claims().to_string())
    );
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
        input.as_bytes(),
    );
    let hs = format!("{input}.{}", b64(tag.as_ref()));
    assert!(dpop::check(&hs, &expected()).is_err());
}

#[test]
fn dpop_private_and_symmetric_jwks_are_refused_whatever_their_value() {
    let k = TestKey::new(Alg::ES256);
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        for v in [json!(null), json!(""), json!(0), json!([])] {
            let mut jwk = k.jwk.clone();
            jwk[member] = v.clone();
            assert!(
                dpop::check(&proof(&k, json!({"jwk": jwk}), json!({})), &expected()).is_err(),
                "{member}: {v}"
            );
        }
    }
    for kty in ["oct", "ec", "Ec", "okp", "rsa", ""] {
        let mut jwk = k.jwk.clone();
        jwk["kty"] = json!(kty);
        assert!(
            dpop::check(&proof(&k, json!({"jwk": jwk}), json!({})), &expected()).is_err(),
            "kty {kty}"
        );
    }
}

#[test]
fn dpop_jwk_alg_pinned_to_another_family_is_refused() {
    // The EC key labelled RS256 / EdDSA, header alg as the label: the key family decides.
    let k = TestKey::new(Alg::ES256);
    for label in ["RS256", "EdDSA", "PS256", "ES384"] {
        let mut jwk = k.jwk.clone();
        jwk["alg"] = json!(label);
        let p = proof(&k, json!({"jwk": jwk, "alg": label}), json!({}));
        assert!(dpop::check(&p, &expected()).is_err(), "{label}");
        let p = proof(&k, json!({"jwk": jwk}), json!({}));
        assert!(
            dpop::check(&p, &expected()).is_err(),
            "{label} (header ES256)"
        );
    }
    // An RSA key under PS256 is allowed (listed), and binds to the RFC 7638 thumbprint.
    let r = Raw::new(Alg::RS256);
    let mut jwk = r.jwk.clone();
    jwk.as_object_mut().unwrap().remove("alg");
    let h = json!({"typ": "dpop+jwt", "alg": "PS256", "jwk": jwk}).to_string();
    let input = format!("{}.{}", b64(h), b64(dpop_claims().to_string()));
    let p = format!("{input}.{}", b64(r.sig(input.as_bytes(), true)));
    assert_eq!(
        dpop::check(&p, &expected()).map(|x| x.jkt),
        Ok(jws::thumbprint(&r.jwk))
    );
}

#[test]
fn dpop_jwk_whose_crv_does_not_match_the_alg_is_refused() {
    // WAS A HOLE (fixed after the review): (low) a P-256 key labelled crv P-384 verifies under the jwk's own "alg" (jwk_accepts
    // trusts a named alg and never looks at kty/crv; jsonwebtoken's from_ec_components ignores
    // crv) and binds to a jkt that is not the RFC 7638 thumbprint of the key that signed: one
    // key, several jkts. Only the key holder can do it, so no token is stolen.
    let k = TestKey::new(Alg::ES256);
    let mut wrong_crv = k.jwk.clone();
    wrong_crv["crv"] = json!("P-384");
    let got = dpop::check(
        &proof(&k, json!({"jwk": wrong_crv}), json!({})),
        &expected(),
    );
    assert!(
        got.is_err(),
        "EC P-256 key labelled P-384 accepted: {got:?}"
    );
}

#[test]
fn dpop_okp_jwk_with_an_ec_curve_is_refused() {
    // WAS A HOLE (fixed after the review): (low, same root) an Ed25519 key labelled crv P-256 under kty OKP with alg EdDSA.
    let k = TestKey::new(Alg::EdDSA);
    let mut jwk = k.jwk.clone();
    jwk["crv"] = json!("P-256");
    let got = dpop::check(&proof(&k, json!({"jwk": jwk}), json!({})), &expected());
    assert!(got.is_err(), "OKP key labelled P-256 accepted: {got:?}");
}

#[test]
fn dpop_jwk_for_encryption_is_refused() {
    // WAS A HOLE (fixed after the review): (low, hardening) a proof key declared for encryption ("use": "enc") is accepted;
    // the assertion check refuses use=enc, the proof check does not look.
    let k = TestKey::new(Alg::ES256);
    let mut enc = k.jwk.clone();
    enc["use"] = json!("enc");
    let got = dpop::check(&proof(&k, json!({"jwk": enc}), json!({})), &expected());
    assert!(got.is_err(), "use=enc proof key accepted: {got:?}");
}

#[test]
fn dpop_short_rsa_keys_are_refused_however_the_modulus_is_spelled() {
    let r = Raw::new(Alg::RS256);
    let n = URL_SAFE_NO_PAD
        .decode(r.jwk["n"].as_str().unwrap())
        .unwrap();
    // 1024-bit modulus padded with zero bytes up to 256 bytes.
    let mut padded = vec![0u8; 128];
    padded.extend_from_slice(&n[..128]);
    // Padded with base64 "=", standard alphabet.
    let std_b64 = base64::engine::general_purpose::STANDARD.encode(&n[..128]);
    for spelled in [b64(&padded), std_b64, format!("{}=", b64(&n[..128]))] {
        let mut jwk = r.jwk.clone();
        jwk["n"] = json!(spelled);
        let h = json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk}).to_string();
        let p = r.sign_text(&h, &dpop_claims().to_string());
        assert!(dpop::check(&p, &expected()).is_err());
    }
    // A 1024-bit key really signing (openssl-made), in a proof: refused by size.
    let weak_jwk = json!({"kty": "RSA", "e": "AQAB", "n": WEAK_N});
    let h = json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": weak_jwk});
    let p = format!(
        "{}.{}.AAAA",
        b64(h.to_string()),
        b64(dpop_claims().to_string())
    );
    assert!(matches!(dpop::check(&p, &expected()), Err(Refusal::Invalid(w)) if w.contains("2048")));
}
