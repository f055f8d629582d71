use super::*;

// ---------------------------------------------------------------- class 2: agreed parts

#[test]
fn dpop_ath_and_nonce_spellings_are_refused() {
    let k = TestKey::new(Alg::ES256);
    let token = "the.access.token";
    let e = dpop::Expected {
        access_token: Some(token),
        nonce: Some("n-1"),
        ..expected()
    };
    let good_ath = dpop::ath(token);
    let good = json!({"ath": good_ath, "nonce": "n-1"});
    assert!(dpop::check(&proof(&k, json!({}), good), &e).is_ok());
    for over in [
        json!({"ath": format!("{good_ath}=")}),
        json!({"ath": good_ath.replace('-', "+").replace('_', "/")}),
        json!({"ath": dpop::ath("the.access.token ")}),
        json!({"ath": [good_ath]}),
        json!({"ath": null}),
        json!({"ath": ""}),
    ] {
        let mut c = json!({"nonce": "n-1"});
        crate::protocol::test_keys::merge(&mut c, over.clone());
        assert!(dpop::check(&proof(&k, json!({}), c), &e).is_err(), "{over}");
    }
    for nonce in [
        json!("N-1"),
        json!("n-1 "),
        json!(["n-1"]),
        json!(1),
        json!(null),
    ] {
        let c = json!({"ath": good_ath, "nonce": nonce});
        assert_eq!(
            dpop::check(&proof(&k, json!({}), c), &e),
            Err(Refusal::UseNonce),
            "{nonce}"
        );
    }
    // The nonce in the header instead of the claims.
    let c = json!({"ath": good_ath, "nonce": null});
    assert!(dpop::check(&proof(&k, json!({"nonce": "n-1"}), c), &e).is_err());
}

// ---------------------------------------------------------------- class 4: windows

#[test]
fn dpop_no_proof_is_accepted_after_its_memory_expires() {
    let k = TestKey::new(Alg::ES256);
    for (max_age, skew) in [(60, 5), (0, 0), (1, 0), (0, 1), (300, 300)] {
        let e0 = dpop::Expected {
            max_age_secs: max_age,
            skew_secs: skew,
            ..expected()
        };
        for off in (-max_age - 2)..=(skew + 2) {
            for frac in [0.0, 0.5, 0.999] {
                let iat = json!((NOW + off) as f64 + frac);
                let p = proof(&k, json!({}), json!({"iat": iat}));
                let Ok(first) = dpop::check(&p, &e0) else {
                    continue;
                };
                // Every later moment at which the same proof is still taken must be before
                // the moment its jti may be forgotten.
                // Acceptance is monotone in the clock past the first acceptance (only "too
                // old" can newly apply), so the edges decide.
                let r = first.remember_until;
                for t in [NOW, r - 2, r - 1, r, r + 1, r + max_age + skew] {
                    let e = dpop::Expected {
                        now: t,
                        ..e0.clone()
                    };
                    if dpop::check(&p, &e).is_ok() {
                        assert!(
                            t < first.remember_until,
                            "iat {iat} taken at {t} but forgotten at {}",
                            first.remember_until
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn dpop_extreme_clock_and_window_values_do_not_panic() {
    let k = TestKey::new(Alg::ES256);
    for iat in [json!(0), json!(i64::MAX - 1), json!(9.2e18)] {
        for (now, max_age, skew) in [
            (i64::MAX, i64::MAX, i64::MAX),
            (i64::MIN, i64::MAX, i64::MAX),
            (0, i64::MIN, i64::MIN),
            (i64::MAX, 0, 0),
        ] {
            let e = dpop::Expected {
                now,
                max_age_secs: max_age,
                skew_secs: skew,
                ..expected()
            };
            let _ = dpop::check(&proof(&k, json!({}), json!({"iat": iat.clone()})), &e);
        }
    }
}

// ---------------------------------------------------------------- panics on garbage

#[test]
fn dpop_garbage_never_panics() {
    let e = expected();
    let k = TestKey::new(Alg::ES256);
    let mut cases: Vec<String> = vec![
        "..".into(),
        "...".into(),
        ".e30.".into(),
        "e30..".into(),
        "\u{0}.\u{0}.\u{0}".into(),
        "é.é.é".into(),
        format!("{}.e30.", b64("null")),
        format!("{}.e30.", b64("[]")),
        format!(
            "{}.{}.",
            b64(r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC"}}"#),
            b64("{}")
        ),
    ];
    // Broken keys of each type, with a plausible signature.
    for jwk in [
        json!({"kty": "EC", "crv": "P-256", "x": "", "y": ""}),
        json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
        json!({"kty": "EC", "crv": "P-256", "x": b64([0u8; 64]), "y": b64([0u8; 64])}),
        json!({"kty": "EC", "crv": "P-256", "x": b64([255u8; 32]), "y": b64([255u8; 32])}),
        json!({"kty": "OKP", "crv": "Ed25519", "x": ""}),
        json!({"kty": "OKP", "crv": "Ed25519", "x": b64([0u8; 33])}),
        json!({"kty": "RSA", "n": b64([0xffu8; 256]), "e": ""}),
        json!({"kty": "RSA", "n": b64([0xffu8; 256]), "e": b64([0xffu8; 600])}),
        json!({"kty": "RSA", "n": b64([0xffu8; 256]), "e": "AQ"}),
        json!({"kty": "RSA", "n": b64([0x01u8; 2000]), "e": "AQAB"}),
    ] {
        for alg in ["ES256", "ES384", "EdDSA", "RS256", "PS512"] {
            let h = json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk});
            for sig in ["", "AA", &b64([1u8; 64]), &b64([1u8; 256])] {
                cases.push(format!(
                    "{}.{}.{sig}",
                    b64(h.to_string()),
                    b64(dpop_claims().to_string())
                ));
            }
        }
    }
    cases.push(proof(&k, json!({}), json!({"htu": "https://a/%"})));
    for c in cases {
        let _ = dpop::check(&c, &e);
        let _ = ca::check(&c, std::slice::from_ref(&k.jwk), &ca_expected());
    }
}
