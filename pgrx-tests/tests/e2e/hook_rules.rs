//! The access-token hook: may add or change claims, may not forge the protected ones; a hook
//! failure rolls back and never burns the code.

use oauth_server_e2e::*;

#[test]
fn hook_adds_claims_and_cannot_forge_protected_ones() {
    let db = TestDb::new("hook");
    let mut c = db.connect();
    c.batch_execute(
        r#"CREATE FUNCTION public.add_tenant(event jsonb) RETURNS jsonb LANGUAGE sql AS $$
             SELECT jsonb_build_object('claims', event->'claims' || jsonb_build_object('tenant', 'acme', 'seen_client', event->>'client_id', 'role', 'partner'))
           $$;
           CREATE FUNCTION public.forge(event jsonb) RETURNS jsonb LANGUAGE sql AS $$
             SELECT jsonb_build_object('claims', event->'claims' || '{"client_id": "someone-else"}')
           $$;"#,
    )
    .unwrap();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    db.set("access_token_hook", "public.add_tenant");
    let mut c = db.connect();
    let t = tokens(&mut c, &client, "openid", "u");
    let claims = json(
        &mut c,
        "SELECT oauth.verify($1)",
        &[&t["access_token"].as_str().unwrap()],
    );
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["seen_client"], serde_json::json!(client.id));
    assert_eq!(claims["role"], "partner");

    db.set("access_token_hook", "public.forge");
    let mut c = db.connect();
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u2");
    let err = c
        .query_one(
            "SELECT oauth.exchange_code($1, $2, $3, $4, $5)",
            &[&code, &VERIFIER, &REDIRECT, &client.id, &client.secret],
        )
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "22023");
    let msg = err.as_db_error().unwrap().message().to_string();
    assert!(msg.contains("client_id"), "{msg}");
    // The failure rolled back: the code is still good once the hook is fixed.
    db.set("access_token_hook", "public.add_tenant");
    let mut c = db.connect();
    assert!(exchange(&mut c, &client, &code, REDIRECT)
        .get("access_token")
        .is_some());

    db.set("access_token_hook", "public.does_not_exist");
    let mut c = db.connect();
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u3");
    assert_eq!(exchange_sqlstate(&mut c, &client, &code), "55000");
}

#[test]
fn resource_becomes_the_audience_and_must_match_at_the_token_endpoint() {
    let db = TestDb::new("resource");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    c.batch_execute("SELECT oauth.add_resource('https://api.example.com/')")
        .unwrap();
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["resource"] = "https://api.example.com/".into();
    let aid = pending(&mut c, &p);
    let out = call_as(&mut c, &user("u"), "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let r = json(
        &mut c,
        "SELECT oauth.exchange_code($1, $2, $3, $4, $5, 'https://other.example/')",
        &[&code, &VERIFIER, &REDIRECT, &client.id, &client.secret],
    );
    assert_eq!(r["error"], "invalid_target");
    let t = json(
        &mut c,
        "SELECT oauth.exchange_code($1, $2, $3, $4, $5, 'https://api.example.com/')",
        &[&code, &VERIFIER, &REDIRECT, &client.id, &client.secret],
    );
    let (_, claims) = jwt_parts(t["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "https://api.example.com/");
    // Refreshed tokens keep the audience.
    let r = refresh(&mut c, &client, t["refresh_token"].as_str().unwrap(), None);
    let (_, claims) = jwt_parts(r["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "https://api.example.com/");
}
