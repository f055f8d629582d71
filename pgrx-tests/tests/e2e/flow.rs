//! The authorization code flow end to end, through SQL only, as the README shows it.

use oauth_server_e2e::*;
use serde_json::json;

#[test]
fn full_flow_issues_tokens_verifiable_with_the_published_jwks() {
    let db = TestDb::new("flow");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid email", "user-1");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "openid email");
    assert_eq!(t["expires_in"], 3600);
    assert!(t["refresh_token"].as_str().unwrap().len() >= 43);

    let jwks = json(&mut c, "SELECT oauth.jwks()", &[]);
    let at = t["access_token"].as_str().unwrap();
    let (header, _) = jwt_parts(at);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    let claims = verify_with_jwks(&jwks, at).expect("access token verifies with the JWKS");
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
        assert!(claims.get(k).is_some(), "claim {k} missing from {claims}");
    }
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["client_id"], json!(client.id));
    assert_eq!(claims["aud"], "authenticated");
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["iss"], "http://localhost:8080");
    // oauth.verify agrees.
    let v = json(&mut c, "SELECT oauth.verify($1)", &[&at]);
    assert_eq!(v["jti"], claims["jti"]);
}

#[test]
fn id_token_has_oidc_claims_nonce_and_at_hash() {
    let db = TestDb::new("idtoken");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid", "user-1");
    let jwks = json(&mut c, "SELECT oauth.jwks()", &[]);
    let id = verify_with_jwks(&jwks, t["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(id["aud"], json!(client.id));
    assert_eq!(id["azp"], json!(client.id));
    assert_eq!(id["nonce"], "n-456");
    assert!(id["auth_time"].as_i64().unwrap() > 0);
    use base64::Engine;
    use sha2::Digest;
    let h = sha2::Sha256::digest(t["access_token"].as_str().unwrap().as_bytes());
    assert_eq!(
        id["at_hash"],
        json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h[..16]))
    );
    // Without openid there is no ID token.
    let t = tokens(&mut c, &client, "email", "user-2");
    assert!(t.get("id_token").is_none());
}

#[test]
fn issuer_setting_is_normalised_and_used_everywhere() {
    let db = TestDb::new("issuer");
    db.set("issuer", "https://auth.example.com/");
    db.set("consent_url", "https://app.example/consent?x=1");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let r = authorize(&mut c, &auth_params(&client, REDIRECT, "openid"));
    assert!(r["redirect_to"]
        .as_str()
        .unwrap()
        .starts_with("https://app.example/consent?x=1&authorization_id="));
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
    let t = exchange(&mut c, &client, &code, REDIRECT);
    let (_, claims) = jwt_parts(t["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], "https://auth.example.com");
}

#[test]
fn consent_redirect_carries_state_and_iss_and_is_remembered() {
    let db = TestDb::new("consent");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid email"));
    let details = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.authorization($1)",
        &aid,
    );
    assert_eq!(details["client"]["name"], "Test app");
    assert_eq!(
        details["scopes"][1],
        json!({"name": "email", "description": "See your email address"})
    );
    let out = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.consent($1, true)",
        &aid,
    );
    let to = out["redirect_to"].as_str().unwrap();
    assert!(to.starts_with(REDIRECT));
    assert_eq!(query_param(to, "state").as_deref(), Some("st-123"));
    assert_eq!(
        query_param(to, "iss").as_deref(),
        Some("http://localhost:8080")
    );
    // A second request for a subset of the scopes is approved without asking.
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "email"));
    let auto = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.authorization($1)",
        &aid,
    );
    assert!(
        query_param(auto["redirect_to"].as_str().unwrap(), "code").is_some(),
        "{auto}"
    );
    // prompt=consent asks again; a wider request asks again.
    for params in [
        {
            let mut p = auth_params(&client, REDIRECT, "email");
            p["prompt"] = json!("consent");
            p
        },
        auth_params(&client, REDIRECT, "openid email profile"),
    ] {
        let aid = pending(&mut c, &params);
        let d = call_as(
            &mut c,
            &user("alice"),
            "SELECT oauth.authorization($1)",
            &aid,
        );
        assert!(d.get("redirect_to").is_none(), "{d}");
    }
}

#[test]
fn denial_redirects_with_access_denied() {
    let db = TestDb::new("deny");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let out = call_as(
        &mut c,
        &user("bob"),
        "SELECT oauth.consent($1, false)",
        &aid,
    );
    let to = out["redirect_to"].as_str().unwrap();
    assert_eq!(query_param(to, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(to, "state").as_deref(), Some("st-123"));
    assert!(query_param(to, "code").is_none());
    // The decision is final.
    let again = call_as(&mut c, &user("bob"), "SELECT oauth.consent($1, true)", &aid);
    assert_eq!(again["error"], "not_found");
}

#[test]
fn rls_policy_on_client_id_restricts_rows_to_the_calling_application() {
    let db = TestDb::new("rls");
    let mut c = db.connect();
    let a = create_client(&mut c, &[REDIRECT], "confidential");
    let b = create_client(&mut c, &[REDIRECT], "confidential");
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE rls_reader NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
         CREATE TABLE notes (id int, client_id text, owner text);
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
         CREATE POLICY by_client ON notes FOR SELECT TO rls_reader
           USING (client_id = (SELECT oauth.client_id()) AND owner = (SELECT oauth.uid()) AND oauth.has_scope('notes'));
         GRANT SELECT ON notes TO rls_reader;",
    )
    .unwrap();
    c.execute(
        "INSERT INTO notes VALUES (1, $1, 'u1'), (2, $1, 'u2'), (3, $2, 'u1')",
        &[&a.id, &b.id],
    )
    .unwrap();
    c.batch_execute("SELECT oauth.set_scope('notes', 'Read your notes')")
        .unwrap();
    let ta = tokens(&mut c, &a, "notes", "u1");
    let tb = tokens(&mut c, &b, "openid", "u1");
    let count_for = |c: &mut postgres::Client, token: &serde_json::Value| -> Vec<i32> {
        let claims = json(
            c,
            "SELECT oauth.verify($1)",
            &[&token["access_token"].as_str().unwrap()],
        );
        let mut tx = c.transaction().unwrap();
        tx.execute(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[&claims.to_string()],
        )
        .unwrap();
        tx.batch_execute("SET LOCAL ROLE rls_reader").unwrap();
        let ids: Vec<i32> = tx
            .query("SELECT id FROM notes ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.rollback().unwrap();
        ids
    };
    assert_eq!(count_for(&mut c, &ta), vec![1]);
    // Client b was not granted scope notes, so it sees nothing, not even its own rows.
    assert_eq!(count_for(&mut c, &tb), Vec::<i32>::new());
}

#[test]
fn rls_helpers_follow_the_claims_and_are_null_without_them() {
    let db = TestDb::new("helpers");
    let mut c = db.connect();
    let row = c
        .query_one("SELECT oauth.uid(), oauth.client_id(), oauth.scopes(), oauth.has_scope('x'), oauth.jwt()", &[])
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert_eq!(row.get::<_, Option<String>>(1), None);
    assert_eq!(row.get::<_, Vec<String>>(2), Vec::<String>::new());
    assert!(!row.get::<_, bool>(3));
    assert_eq!(row.get::<_, Option<serde_json::Value>>(4), None);
    // The per-backend cache must follow every change of the setting within one session.
    for (sub, client, scope) in [("u1", "c1", "a b"), ("u2", "c2", "c"), ("u1", "c1", "a b")] {
        let claims = json!({"sub": sub, "client_id": client, "scope": scope});
        c.execute(
            "SELECT set_config('request.jwt.claims', $1, false)",
            &[&claims.to_string()],
        )
        .unwrap();
        let row = c.query_one("SELECT oauth.uid(), oauth.client_id(), oauth.scopes(), oauth.has_scope('c'), oauth.jwt()", &[]).unwrap();
        assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some(sub));
        assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some(client));
        assert_eq!(row.get::<_, Vec<String>>(2).join(" "), scope);
        assert_eq!(row.get::<_, bool>(3), scope == "c");
        assert_eq!(row.get::<_, Option<serde_json::Value>>(4), Some(claims));
    }
    c.execute(
        "SELECT set_config('request.jwt.claims', 'not json', false)",
        &[],
    )
    .unwrap();
    let row = c
        .query_one("SELECT oauth.uid(), oauth.has_scope('a')", &[])
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert!(!row.get::<_, bool>(1));
}
