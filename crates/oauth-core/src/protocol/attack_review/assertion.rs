use super::*;

// ---------------------------------------------------------------- client assertion, class 1

#[test]
fn assertion_typed_as_another_kind_of_jwt_is_refused() {
    // WAS A HOLE (fixed after the review): (medium) the assertion's typ is never read. A JWT the client's key signed as another kind
    // (a DPoP proof, an access token, a request object, a logout token …) that happens to carry
    // iss = sub = client_id, aud and exp is taken as a client assertion. RFC 7523bis / FAPI:
    // refuse an explicit typ other than JWT / client-authentication+jwt.
    let k = TestKey::new(Alg::ES256);
    let keys = [k.jwk.clone()];
    for typ in [
        "dpop+jwt",
        "at+jwt",
        "oauth-authz-req+jwt",
        "logout+jwt",
        "secevent+jwt",
    ] {
        let mut claims = dpop_claims();
        crate::protocol::test_keys::merge(&mut claims, ca_claims());
        let a = assertion(&k, json!({"typ": typ, "jwk": k.jwk}), claims);
        let got = ca::check(&a, &keys, &ca_expected());
        assert!(
            got.is_err(),
            "typ {typ} accepted as a client assertion: {got:?}"
        );
    }
}

#[test]
fn assertion_none_hmac_and_key_confusion_are_refused() {
    let k = TestKey::new(Alg::ES256);
    let rsa = TestKey::new(Alg::RS256);
    // The client registered an oct key (as if shared): private member "k" → never a candidate.
    let oct = json!({"kty": "oct", "k": b64(b"shared-secret-shared-secret-32b!"), "alg": "HS256"});
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &ca_claims(),
        &jsonwebtoken::EncodingKey::from_secret(b"shared-secret-shared-secret-32b!"),
    )
    .unwrap();
    assert!(ca::check(&hs, &[oct], &ca_expected()).is_err());
    // HS256 with the RSA public key's PEM/JWK/n as secret.
    for secret in [
        rsa.jwk.to_string(),
        rsa.jwk["n"].as_str().unwrap().to_string(),
    ] {
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &ca_claims(),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        assert!(ca::check(&hs, std::slice::from_ref(&rsa.jwk), &ca_expected()).is_err());
    }
    // An EC key registered with alg RS256 / an RSA key registered with alg ES256.
    let mut ec_as_rs = k.jwk.clone();
    ec_as_rs["alg"] = json!("RS256");
    let a = assertion(&k, json!({"alg": "RS256"}), json!({}));
    assert!(ca::check(&a, &[ec_as_rs], &ca_expected()).is_err());
    let mut rs_as_es = rsa.jwk.clone();
    rs_as_es["alg"] = json!("ES256");
    let a = assertion(&rsa, json!({"alg": "ES256"}), json!({}));
    assert!(ca::check(&a, &[rs_as_es], &ca_expected()).is_err());
    // The registered key's alg pins RS256; a PS256 signature by the same key is refused.
    let r = Raw::new(Alg::RS256);
    let h = json!({"alg": "PS256", "kid": r.jwk["kid"]}).to_string();
    let input = format!("{}.{}", b64(h), b64(ca_claims().to_string()));
    let a = format!("{input}.{}", b64(r.sig(input.as_bytes(), true)));
    assert!(ca::check(&a, std::slice::from_ref(&r.jwk), &ca_expected()).is_err());
    // Without the pin, PS256 by a registered RSA key is fine.
    let mut unpinned = r.jwk.clone();
    unpinned.as_object_mut().unwrap().remove("alg");
    assert!(ca::check(&a, &[unpinned], &ca_expected()).is_ok());
}

#[test]
fn assertion_by_a_registered_1024_bit_rsa_key_is_refused() {
    let weak = json!({"kty": "RSA", "e": "AQAB", "n": WEAK_N, "kid": "weak"});
    let got = ca::check(WEAK_ASSERTION, std::slice::from_ref(&weak), &ca_expected());
    assert!(got.is_err(), "1024-bit RSA accepted: {got:?}");
    let mut pinned = weak;
    pinned["alg"] = json!("RS256");
    assert!(ca::check(WEAK_ASSERTION, &[pinned], &ca_expected()).is_err());
}

#[test]
fn assertion_key_declared_for_encryption_is_not_a_candidate() {
    // WAS A HOLE (fixed after the review): (low) only "use" is read. A key whose key_ops say it is for encryption (no
    // "verify") still verifies. (A malformed "use" — array, number — is refused, by
    // jsonwebtoken's JWK parsing; "ENC" is not "sig" and is refused.)
    let k = TestKey::new(Alg::ES256);
    let a = assertion(&k, json!({}), json!({}));
    let mut failures = vec![];
    for (name, over) in [
        (
            "key_ops encrypt",
            json!({"use": null, "key_ops": ["encrypt", "wrapKey"]}),
        ),
        ("use array", json!({"use": ["enc"]})),
        ("use number", json!({"use": 1})),
        ("use ENC", json!({"use": "ENC"})),
    ] {
        let mut jwk = k.jwk.clone();
        crate::protocol::test_keys::merge(&mut jwk, over);
        if ca::check(&a, &[jwk], &ca_expected()).is_ok() {
            failures.push(name);
        }
    }
    assert!(failures.is_empty(), "accepted with: {failures:?}");
}

#[test]
fn assertion_kid_spellings_do_not_select_another_key() {
    let k = TestKey::new(Alg::ES256);
    let other = TestKey::new(Alg::ES256);
    let keys = [other.jwk.clone(), k.jwk.clone()];
    // Signed by k but kid names `other`: refused (the named key does not verify).
    let a = assertion(&k, json!({"kid": other.signer.kid}), json!({}));
    assert!(ca::check(&a, &keys, &ca_expected()).is_err());
    // kid as a non-string: header parsing refuses, or every key is tried.
    for kid in [
        json!(5),
        json!([k.signer.kid]),
        json!({"k": 1}),
        json!(true),
    ] {
        let a = assertion(&k, json!({"kid": kid.clone()}), json!({}));
        let got = ca::check(&a, &keys, &ca_expected());
        if let Ok(p) = got {
            assert_eq!(p.kid.as_deref(), Some(k.signer.kid.as_str()), "{kid}");
        }
    }
    // Duplicate kid: the verifier must not verify with one and report the other.
    let r = Raw::new(Alg::ES256);
    let kid = r.jwk["kid"].as_str().unwrap();
    let h = format!(
        r#"{{"alg":"ES256","kid":"{}","kid":"{kid}"}}"#,
        other.signer.kid
    );
    let a = r.sign_text(&h, &ca_claims().to_string());
    let got = ca::check(&a, &[other.jwk.clone(), r.jwk.clone()], &ca_expected());
    if let Ok(p) = &got {
        assert_eq!(p.kid.as_deref(), Some(kid));
    }
    // Duplicate alg: HS256 first, ES256 last (and the reverse).
    for h in [
        format!(r#"{{"alg":"HS256","alg":"ES256","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"ES256","alg":"none","kid":"{kid}"}}"#),
    ] {
        let a = r.sign_text(&h, &ca_claims().to_string());
        let got = ca::check(&a, std::slice::from_ref(&r.jwk), &ca_expected());
        assert!(got.is_err(), "duplicate alg accepted: {h}: {got:?}");
    }
}

// ---------------------------------------------------------------- client assertion, class 2

#[test]
fn assertion_aud_must_be_this_server_alone() {
    // WAS A HOLE (fixed after the review): (medium, design) an aud array naming this server AND others is taken, so an assertion
    // made for several servers, when one of them is malicious, is replayed here (RFC 7523bis
    // §3 / the 2025 audience-injection findings: aud must be the issuer, as a single string).
    let k = TestKey::new(Alg::ES256);
    let keys = [k.jwk.clone()];
    let a = assertion(
        &k,
        json!({}),
        json!({"aud": ["https://evil.example", ISSUER]}),
    );
    let got = ca::check(&a, &keys, &ca_expected());
    assert!(got.is_err(), "multi-audience assertion accepted: {got:?}");
}

#[test]
fn assertion_aud_spellings_of_other_servers_are_refused() {
    let k = TestKey::new(Alg::ES256);
    let keys = [k.jwk.clone()];
    for aud in [
        json!("HTTPS://AS.EXAMPLE"),
        json!("https://as.example:443"),
        json!("https://as.example/"),
        json!("https://as.example."),
        json!("https://as.example "),
        json!("https://as.example\u{0}"),
        json!([["https://as.example"]]),
        json!({"aud": ISSUER}),
        json!([null, 7]),
    ] {
        let a = assertion(&k, json!({}), json!({"aud": aud.clone()}));
        assert!(ca::check(&a, &keys, &ca_expected()).is_err(), "{aud}");
    }
}

#[test]
fn assertion_iss_sub_spellings_are_refused() {
    let k = TestKey::new(Alg::ES256);
    let keys = [k.jwk.clone()];
    for over in [
        json!({"iss": "CLIENT-123"}),
        json!({"iss": "client-123 "}),
        json!({"sub": [CLIENT]}),
        json!({"iss": ["client-123"]}),
        json!({"sub": "client-123\u{0}"}),
        json!({"iss": "ｃlient-123"}),
    ] {
        let a = assertion(&k, json!({}), over.clone());
        assert!(ca::check(&a, &keys, &ca_expected()).is_err(), "{over}");
    }
    // Duplicate iss: the last is read (consistently, one parse).
    let r = Raw::new(Alg::ES256);
    let h = format!(r#"{{"alg":"ES256","kid":{}}}"#, r.jwk["kid"]);
    let c = format!(
        r#"{{"iss":"{CLIENT}","iss":"other","sub":"{CLIENT}","aud":"{ISSUER}","jti":"j","exp":{}}}"#,
        NOW + 60
    );
    assert!(ca::check(
        &r.sign_text(&h, &c),
        std::slice::from_ref(&r.jwk),
        &ca_expected()
    )
    .is_err());
}

#[test]
fn assertion_jti_that_cannot_be_stored_is_refused() {
    // WAS A HOLE (fixed after the review): (low) as for DPoP, a jti with U+0000 passes and cannot be stored in text.
    let k = TestKey::new(Alg::ES256);
    let a = assertion(&k, json!({}), json!({"jti": "a\u{0}"}));
    let got = ca::check(&a, std::slice::from_ref(&k.jwk), &ca_expected());
    assert!(got.is_err(), "jti with NUL accepted: {got:?}");
}

#[test]
fn assertion_time_spellings() {
    let k = TestKey::new(Alg::ES256);
    let keys = [k.jwk.clone()];
    for over in [
        json!({"exp": "1800000060"}),
        json!({"exp": 1e300}),
        json!({"exp": u64::MAX}),
        json!({"exp": i64::MAX}),
        json!({"exp": -0.0}),
        json!({"exp": [NOW + 60]}),
        json!({"exp": null}),
        json!({"exp": (NOW + ca::MAX_LIFETIME_SECS + 6) as f64}),
        json!({"nbf": "0"}),
        json!({"nbf": -1}),
        json!({"iat": "0"}),
        json!({"iat": NOW + 6}),
        json!({"iat": (NOW + 6) as f64}),
    ] {
        let a = assertion(&k, json!({}), over.clone());
        assert!(ca::check(&a, &keys, &ca_expected()).is_err(), "{over}");
    }
    let r = Raw::new(Alg::ES256);
    let h = format!(r#"{{"alg":"ES256","kid":{}}}"#, r.jwk["kid"]);
    // A present null nbf / iat / exp is malformed, not absent.
    for extra in [r#","nbf":null"#, r#","iat":null"#, r#","exp":null"#] {
        let c = format!(
            r#"{{"iss":"{CLIENT}","sub":"{CLIENT}","aud":"{ISSUER}","jti":"j","exp":{}{extra}}}"#,
            NOW + 60
        );
        let got = ca::check(
            &r.sign_text(&h, &c),
            std::slice::from_ref(&r.jwk),
            &ca_expected(),
        );
        assert!(got.is_err(), "{extra}: {got:?}");
    }
    // exp as 1.8e9-style exponents is the same time.
    let c = format!(
        r#"{{"iss":"{CLIENT}","sub":"{CLIENT}","aud":"{ISSUER}","jti":"j","exp":1.80000006e9}}"#
    );
    let got = ca::check(
        &r.sign_text(&h, &c),
        std::slice::from_ref(&r.jwk),
        &ca_expected(),
    );
    assert_eq!(got.map(|p| p.remember_until), Ok(NOW + 60 + 5 + 1));
}

// ---------------------------------------------------------------- client assertion, class 4

#[test]
fn assertion_is_never_accepted_after_its_memory_expires() {
    let k = TestKey::new(Alg::ES256);
    let keys = [k.jwk.clone()];
    for skew in [0, 1, 5, 60] {
        let e0 = ca::Expected {
            skew_secs: skew,
            ..ca_expected()
        };
        for off in (-skew - 2)..=(ca::MAX_LIFETIME_SECS + skew + 2) {
            for frac in [0.0, 0.5, 0.999] {
                let exp = json!((NOW + off) as f64 + frac);
                let a = assertion(&k, json!({}), json!({"exp": exp, "iat": null}));
                let Ok(first) = ca::check(&a, &keys, &e0) else {
                    continue;
                };
                // Only the edges and just past them matter (cheap: verify is the cost).
                for t in [
                    first.remember_until - 2,
                    first.remember_until - 1,
                    first.remember_until,
                    first.remember_until + 1,
                ] {
                    let e = ca::Expected {
                        now: t,
                        ..e0.clone()
                    };
                    if ca::check(&a, &keys, &e).is_ok() {
                        assert!(
                            t < first.remember_until,
                            "exp {exp} taken at {t} but forgotten at {}",
                            first.remember_until
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn assertion_extreme_skew_does_not_panic() {
    // WAS A HOLE (fixed after the review): (low, caller-supplied) `MAX_LIFETIME_SECS + expected.skew_secs` is a plain
    // addition: a skew near i64::MAX overflows (a panic in debug builds, a wrap in release
    // that makes every exp "too far ahead"). Use saturating_add as the DPoP check does.
    let k = TestKey::new(Alg::ES256);
    let a = assertion(&k, json!({}), json!({}));
    let result = std::panic::catch_unwind(|| {
        let e = ca::Expected {
            skew_secs: i64::MAX,
            ..ca_expected()
        };
        ca::check(&a, std::slice::from_ref(&k.jwk), &e)
    });
    assert!(
        result.is_ok(),
        "client_assertion::check panicked on skew_secs = i64::MAX"
    );
}

#[test]
fn assertion_extreme_clock_values_do_not_panic() {
    let k = TestKey::new(Alg::ES256);
    for exp in [json!(0), json!(i64::MAX - 1), json!(9.2e18)] {
        let a = assertion(&k, json!({}), json!({"exp": exp, "nbf": 0, "iat": 0}));
        for (now, skew) in [
            (i64::MAX, 0),
            (i64::MIN, 0),
            (0, i64::MIN + 1),
            (i64::MAX, -1),
        ] {
            let e = ca::Expected {
                now,
                skew_secs: skew,
                ..ca_expected()
            };
            let _ = ca::check(&a, std::slice::from_ref(&k.jwk), &e);
        }
    }
}

#[test]
fn assertion_many_registered_keys_without_kid_are_each_tried_once() {
    // Not a correctness hole; shows the cost bound: without a kid, every key of the alg is
    // tried. 50 keys, the right one last.
    let k = TestKey::new(Alg::ES256);
    let mut keys: Vec<Value> = (0..50).map(|_| TestKey::new(Alg::ES256).jwk).collect();
    keys.push(k.jwk.clone());
    let a = assertion(&k, json!({"kid": null}), json!({}));
    assert!(ca::check(&a, &keys, &ca_expected()).is_ok());
}

// ---------------------------------------------------------------- added after the first run

#[test]
fn dpop_rsa_key_with_exponent_one_cannot_be_forged_without_a_private_key() {
    // e = 1: s^e mod n = s, so the PKCS#1 v1.5 encoding of the hash IS a valid signature, made
    // without any private key. The verifier (aws-lc) must refuse such a key.
    use sha2::{Digest, Sha256};
    let n = vec![0xffu8; 256];
    let jwk = json!({"kty": "RSA", "n": b64(&n), "e": "AQ"});
    let h = json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk}).to_string();
    let input = format!("{}.{}", b64(h), b64(dpop_claims().to_string()));
    let digest_info: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let hash = Sha256::digest(input.as_bytes());
    let mut em = vec![0x00u8, 0x01];
    em.resize(256 - 1 - digest_info.len() - hash.len(), 0xff);
    em.push(0x00);
    em.extend_from_slice(&digest_info);
    em.extend_from_slice(&hash);
    assert_eq!(em.len(), 256);
    let p = format!("{input}.{}", b64(&em));
    let got = dpop::check(&p, &expected());
    assert!(got.is_err(), "forged proof with e=1 accepted: {got:?}");
}

#[test]
fn dpop_one_key_has_one_jkt() {
    // HELD: the same RSA key with its modulus spelled with a leading zero byte (a second
    // thumbprint for one key) is refused by the verifier. (The crv-mismatch tests above are the
    // spellings that do get through.)
    let r = Raw::new(Alg::RS256);
    let n = URL_SAFE_NO_PAD
        .decode(r.jwk["n"].as_str().unwrap())
        .unwrap();
    let mut padded = vec![0u8];
    padded.extend_from_slice(&n);
    let mut jwk = r.jwk.clone();
    jwk["n"] = json!(b64(&padded));
    let h = json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk}).to_string();
    let p = r.sign_text(&h, &dpop_claims().to_string());
    let got = dpop::check(&p, &expected());
    if let Ok(proven) = &got {
        assert_eq!(
            proven.jkt,
            jws::thumbprint(&r.jwk),
            "a second jkt for one RSA key"
        );
    }
}

#[test]
fn assertion_with_critical_header_parameters_is_refused() {
    // WAS A HOLE (fixed after the review): (low) RFC 7515 §4.1.11: a JWS whose "crit" lists extensions the recipient does not
    // understand MUST be refused. The DPoP check does; the assertion check ignores "crit".
    let k = TestKey::new(Alg::ES256);
    let a = assertion(
        &k,
        json!({"crit": ["urn:example:policy"], "urn:example:policy": "must-understand"}),
        json!({}),
    );
    let got = ca::check(&a, std::slice::from_ref(&k.jwk), &ca_expected());
    assert!(got.is_err(), "crit ignored: {got:?}");
}

#[test]
fn request_object_shaped_jwt_is_not_a_client_assertion() {
    // WAS A HOLE (fixed after the review): (medium; same root as `assertion_typed_as_another_kind_of_jwt_is_refused`, the realistic
    // case) a signed request object (RFC 9101: typ oauth-authz-req+jwt, iss = client_id,
    // aud = the issuer, jti, exp) that also carries sub = client_id travels through the browser;
    // whoever sees it can present it at the token endpoint as the client's assertion.
    let k = TestKey::new(Alg::ES256);
    let ro = k.sign(
        json!({"alg": "ES256", "kid": k.signer.kid, "typ": "oauth-authz-req+jwt"}),
        json!({}),
        json!({
            "iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "jti": "ro-1", "exp": NOW + 120,
            "iat": NOW, "nbf": NOW, "client_id": CLIENT, "response_type": "code",
            "redirect_uri": "https://client.example/cb", "scope": "openid",
            "code_challenge": "x", "code_challenge_method": "S256"
        }),
        json!({}),
    );
    let got = ca::check(&ro, std::slice::from_ref(&k.jwk), &ca_expected());
    assert!(
        got.is_err(),
        "request object accepted as client assertion: {got:?}"
    );
}
