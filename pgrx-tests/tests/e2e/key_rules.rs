//! Signing keys: asymmetric only, kid in every JWT, JWKS announces next/current/previous, and
//! rotation keeps already-issued tokens valid.

use oauth_server_e2e::*;
use serde_json::Value;

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rotation_announces_before_signing_and_keeps_old_tokens_valid() {
    let db = TestDb::new("rotate_keys");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t1 = tokens(&mut c, &client, "openid", "u");
    let jwks1 = json(&mut c, "SELECT oauth.jwks()", &[]);
    assert_eq!(kids(&jwks1).len(), 2, "current and next: {jwks1}");
    let (h1, _) = jwt_parts(t1["access_token"].as_str().unwrap());
    let next_before = kids(&jwks1)[1].clone();

    let state = json(&mut c, "SELECT oauth.rotate_signing_key()", &[]);
    assert_eq!(
        state["current"],
        Value::String(next_before.clone()),
        "the announced next key becomes current"
    );
    assert_eq!(state["previous"], h1["kid"]);
    let jwks2 = json(&mut c, "SELECT oauth.jwks()", &[]);
    assert_eq!(kids(&jwks2).len(), 3);
    // The old token still verifies, with our function and with the published JWKS.
    json(
        &mut c,
        "SELECT oauth.verify($1)",
        &[&t1["access_token"].as_str().unwrap()],
    );
    verify_with_jwks(&jwks2, t1["access_token"].as_str().unwrap()).unwrap();
    // New tokens are signed by the key that was announced before the rotation.
    let t2 = tokens(&mut c, &client, "openid", "u2");
    let (h2, _) = jwt_parts(t2["access_token"].as_str().unwrap());
    assert_eq!(h2["kid"], Value::String(next_before));
    verify_with_jwks(&jwks1, t2["access_token"].as_str().unwrap())
        .expect("a JWKS fetched before rotation verifies new tokens");
    // Two rotations later the first key is gone and its tokens no longer verify.
    c.batch_execute("SELECT oauth.rotate_signing_key(); SELECT oauth.rotate_signing_key();")
        .unwrap();
    assert_eq!(
        sqlstate(
            &mut c,
            &format!(
                "SELECT oauth.verify('{}')",
                t1["access_token"].as_str().unwrap()
            )
        ),
        "28000"
    );
}

#[test]
fn rs256_and_eddsa_are_available_and_symmetric_algorithms_are_not() {
    let db = TestDb::new("algs");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    for alg in ["RS256", "EdDSA"] {
        // Two rotations: the first announces a key of the new algorithm, the second uses it.
        c.batch_execute(&format!(
            "SELECT oauth.rotate_signing_key('{alg}'); SELECT oauth.rotate_signing_key('{alg}');"
        ))
        .unwrap();
        let t = tokens(&mut c, &client, "openid", &format!("u-{alg}"));
        for tok in [
            t["access_token"].as_str().unwrap(),
            t["id_token"].as_str().unwrap(),
        ] {
            let (h, _) = jwt_parts(tok);
            assert_eq!(h["alg"], alg);
            let jwks = json(&mut c, "SELECT oauth.jwks()", &[]);
            verify_with_jwks(&jwks, tok).unwrap();
        }
    }
    for bad in ["HS256", "none", "ES512", ""] {
        assert_eq!(
            sqlstate(&mut c, &format!("SELECT oauth.rotate_signing_key('{bad}')")),
            "22023",
            "{bad}"
        );
    }
}

#[test]
fn verify_refuses_foreign_tampered_and_unsigned_tokens() {
    let db = TestDb::new("verify");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid", "u");
    let at = t["access_token"].as_str().unwrap();
    let parts: Vec<&str> = at.split('.').collect();
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let (h, mut claims) = jwt_parts(at);
    claims["sub"] = "admin".into();
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims.to_string()), parts[2]);
    let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"at+jwt"}"#), parts[1]);
    let hs = format!(
        "{}.{}.{}",
        b64(&format!(r#"{{"alg":"HS256","kid":{}}}"#, h["kid"])),
        parts[1],
        parts[2]
    );
    for bad in [
        tampered.as_str(),
        none.as_str(),
        hs.as_str(),
        "garbage",
        "a.b.c",
    ] {
        let r = c.query_one("SELECT oauth.verify($1)", &[&bad]);
        assert_eq!(r.unwrap_err().code().unwrap().code(), "28000", "{bad}");
    }
    // Another installation's token (same shape, different keys) is refused.
    let other = TestDb::new("verify_other");
    let mut o = other.connect();
    let oc = create_client(&mut o, &[REDIRECT], "confidential");
    let foreign = tokens(&mut o, &oc, "openid", "u");
    let r = c.query_one(
        "SELECT oauth.verify($1)",
        &[&foreign["access_token"].as_str().unwrap()],
    );
    assert_eq!(r.unwrap_err().code().unwrap().code(), "28000");
    assert_eq!(sqlstate(&mut c, "SELECT oauth.verify(NULL)"), "22023");
}

#[test]
fn session_token_claims_cannot_override_iss_sub_exp() {
    let db = TestDb::new("session_claims");
    let mut c = db.connect();
    let tok: String = c
        .query_one("SELECT oauth.issue_session_token('u', '{\"exp\": 1000, \"iss\": \"https://evil\", \"sub\": \"admin\", \"email\": \"u@example.com\"}')", &[])
        .unwrap()
        .get(0);
    let claims = json(&mut c, "SELECT oauth.verify_session($1)", &[&tok]);
    assert!(claims["exp"].as_i64().unwrap() > 1000);
    assert_eq!(claims["sub"], "u");
    assert_eq!(claims["iss"], "http://localhost:8080");
    assert_eq!(claims["email"], "u@example.com");
}

/// `iat` and `exp` are whole seconds rounded down, never up: a token must not claim to be
/// issued in the future (relying parties with no leeway refuse it).
#[test]
fn timestamps_round_down_so_iat_is_never_in_the_future() {
    let db = TestDb::new("iat");
    let mut c = db.connect();
    // Several transactions, so that some start in the second half of a second.
    for _ in 0..8 {
        let mut tx = c.transaction().unwrap();
        let row = tx
            .query_one(
                "SELECT oauth.issue_session_token('u'), extract(epoch FROM now())::float8",
                &[],
            )
            .unwrap();
        let (token, now): (String, f64) = (row.get(0), row.get(1));
        tx.commit().unwrap();
        let claims = jwt_parts(&token).1;
        assert_eq!(
            claims["iat"].as_i64().unwrap(),
            now.floor() as i64,
            "{claims}"
        );
        std::thread::sleep(std::time::Duration::from_millis(130));
    }
}
