//! The SQL functions behind the front's endpoints: oauth.token, oauth.userinfo,
//! oauth.metadata, oauth.register_client, oauth.revoke, oauth.introspect, oauth.grants,
//! oauth.revoke_grant, oauth.purge_expired. Each rule named in the issue has a test here.

use oauth_server_e2e::*;
use serde_json::{json, Value};

fn basic(client: &TestClient) -> String {
    basic_header(client)
}

fn token(c: &mut postgres::Client, form: Value, authorization: Option<&str>) -> Value {
    json(c, "SELECT oauth.token($1, $2)", &[&form, &authorization])
}

#[test]
fn token_dispatches_grants_and_authenticates_by_the_registered_method() {
    let db = TestDb::new("token");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u1");
    let form = json!({"grant_type": "authorization_code", "code": code,
                      "code_verifier": VERIFIER, "redirect_uri": REDIRECT});
    // Registered client_secret_basic: the secret in the form is refused.
    let mut post = form.clone();
    post["client_id"] = json!(client.id);
    post["client_secret"] = json!(client.secret);
    assert_eq!(token(&mut c, post, None)["error"], "invalid_client");
    let t = token(&mut c, form, Some(&basic(&client)));
    assert!(t["access_token"].is_string(), "{t}");
    let r = token(
        &mut c,
        json!({"grant_type": "refresh_token", "refresh_token": t["refresh_token"]}),
        Some(&basic(&client)),
    );
    assert!(r["access_token"].is_string(), "{r}");
    let (body, status) = status_of(
        &mut c,
        "SELECT oauth.token($1, $2)",
        &[&json!({"grant_type": "password"}), &Some(basic(&client))],
    );
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("unsupported_grant_type"), "400")
    );
    // Supported, but not registered for this client.
    let (body, status) = status_of(
        &mut c,
        "SELECT oauth.token($1, $2)",
        &[
            &json!({"grant_type": "client_credentials"}),
            &Some(basic(&client)),
        ],
    );
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("unauthorized_client"), "400")
    );
    let (body, status) = status_of(
        &mut c,
        "SELECT oauth.token($1, NULL)",
        &[&json!({"grant_type": "refresh_token", "refresh_token": "x", "client_id": client.id})],
    );
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401")
    );
    for bad in [
        json!(null),
        json!([]),
        json!({"grant_type": ["a", "b"]}),
        json!({"grant_type": 5}),
    ] {
        assert_eq!(
            token(&mut c, bad.clone(), None)["error"],
            "invalid_request",
            "{bad}"
        );
    }
}

#[test]
fn id_token_and_userinfo_release_only_the_granted_scopes_claims() {
    let db = TestDb::new("claims");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let session = json!({"sub": "u1", "email": "u1@example.com", "email_verified": "true",
                         "name": "User One", "phone_number": "+100", "role": "authenticated"});
    let r = authorize(&mut c, &auth_params(&client, REDIRECT, "openid email"));
    let aid = query_param(r["redirect_to"].as_str().unwrap(), "authorization_id").unwrap();
    let out = call_as(&mut c, &session, "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let t = exchange(&mut c, &client, &code, REDIRECT);
    let (_, id) = jwt_parts(t["id_token"].as_str().unwrap());
    assert_eq!(id["email"], "u1@example.com");
    // The session said "true" as a string: not a verified email.
    assert_eq!(id["email_verified"], false);
    assert!(id.get("name").is_none() && id.get("phone_number").is_none());
    let info = json(
        &mut c,
        "SELECT oauth.userinfo($1)",
        &[&t["access_token"].as_str()],
    );
    assert_eq!(
        info,
        json!({"sub": "u1", "email": "u1@example.com", "email_verified": false})
    );
    // An ID token or a garbage string is not an access token.
    for bad in [t["id_token"].as_str().unwrap(), "x.y.z", ""] {
        let (body, status) = status_of(&mut c, "SELECT oauth.userinfo($1)", &[&bad]);
        assert_eq!(
            (body["error"].as_str(), status.as_str()),
            (Some("invalid_token"), "401")
        );
    }
}

#[test]
fn user_claims_come_from_auth_users_or_the_configured_function() {
    let db = TestDb::new("userclaims");
    let mut c = db.connect();
    c.batch_execute(
        "CREATE SCHEMA auth;
         CREATE TABLE auth.users (id uuid PRIMARY KEY, email text, email_confirmed_at timestamptz,
             phone text, phone_confirmed_at timestamptz, raw_user_meta_data jsonb, updated_at timestamptz);
         INSERT INTO auth.users VALUES ('11111111-2222-3333-4444-555555555555', 'sb@example.com',
             now(), NULL, NULL, '{\"full_name\": \"Supa Base\"}', now());",
    )
    .unwrap();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let sub = "11111111-2222-3333-4444-555555555555";
    let t = tokens(&mut c, &client, "openid email profile", sub);
    let info = json(
        &mut c,
        "SELECT oauth.userinfo($1)",
        &[&t["access_token"].as_str()],
    );
    assert_eq!(info["email"], "sb@example.com");
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["name"], "Supa Base");
    c.batch_execute(
        "CREATE FUNCTION public.my_claims(e jsonb) RETURNS jsonb LANGUAGE sql AS
         $$ SELECT jsonb_build_object('email', 'fn@example.com', 'email_verified', true,
                                      'name', e->>'sub', 'secret', 'x') $$",
    )
    .unwrap();
    db.set("user_claims_function", "public.my_claims");
    let mut c = db.connect();
    let t = tokens(&mut c, &client, "openid email", "someone");
    let (_, id) = jwt_parts(t["id_token"].as_str().unwrap());
    assert_eq!(id["email"], "fn@example.com");
    assert!(id.get("name").is_none(), "profile not granted");
    assert!(id.get("secret").is_none(), "only standard claims");
    db.set("user_claims_function", "public.no_such_function");
    let mut c = db.connect();
    let code = get_code(&mut c, &client, REDIRECT, "openid email", "someone");
    assert_eq!(exchange_sqlstate(&mut c, &client, &code), "55000");
}

#[test]
fn metadata_lists_endpoints_algorithms_and_registration_only_when_enabled() {
    let db = TestDb::new("metadata");
    db.set("issuer", "https://auth.example/");
    let mut c = db.connect();
    let m = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(m["issuer"], "https://auth.example");
    assert_eq!(m["token_endpoint"], "https://auth.example/oauth/token");
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["id_token_signing_alg_values_supported"], json!(["ES256"]));
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert!(m.get("registration_endpoint").is_none());
    json(&mut c, "SELECT oauth.rotate_signing_key('EdDSA')", &[]);
    let m = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(
        m["id_token_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    db.set("dynamic_registration", "on");
    let mut c = db.connect();
    let m = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(
        m["registration_endpoint"],
        "https://auth.example/oauth/register"
    );
}

#[test]
fn registration_is_off_by_default_and_validates_metadata() {
    let db = TestDb::new("register");
    let mut c = db.connect();
    let md = json!({"redirect_uris": ["https://app.example/cb"]});
    let (body, status) = status_of(&mut c, "SELECT oauth.register_client($1)", &[&md]);
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("access_denied"), "403")
    );
    assert_eq!(
        json(&mut c, "SELECT to_jsonb(count(*)) FROM oauth.clients", &[]),
        0
    );
    db.set("dynamic_registration", "on");
    let mut c = db.connect();
    let (body, status) = status_of(&mut c, "SELECT oauth.register_client($1)", &[&md]);
    assert_eq!(status, "201");
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["grant_types"], json!(["authorization_code"]));
    for (bad, error) in [
        (
            json!({"redirect_uris": ["https://a.example/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": "https://a.example/cb"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["refresh_token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "logo_uri": "ftp://x"}),
            "invalid_client_metadata",
        ),
        (json!("text"), "invalid_client_metadata"),
    ] {
        let (body, status) = status_of(&mut c, "SELECT oauth.register_client($1)", &[&bad]);
        assert_eq!(
            (body["error"].as_str(), status.as_str()),
            (Some(error), "400"),
            "{bad}"
        );
    }
    assert_eq!(
        json(&mut c, "SELECT to_jsonb(count(*)) FROM oauth.clients", &[]),
        1
    );
}

#[test]
fn revoke_grant_withdraws_consent_and_kills_the_family_for_that_user_only() {
    let db = TestDb::new("grants");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t1 = tokens(&mut c, &client, "openid", "u1");
    let t2 = tokens(&mut c, &client, "openid", "u2");
    let list = call_as(
        &mut c,
        &user("u1"),
        "SELECT oauth.grants() WHERE $1::text IS NOT NULL",
        "x",
    );
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["client"]["client_id"], json!(client.id));
    let out = call_as(
        &mut c,
        &user("u1"),
        "SELECT oauth.revoke_grant($1)",
        &client.id,
    );
    assert_eq!(out["revoked"], true);
    assert_eq!(
        refresh(&mut c, &client, t1["refresh_token"].as_str().unwrap(), None)["error"],
        "invalid_grant"
    );
    // u2's tokens live on.
    assert!(
        refresh(&mut c, &client, t2["refresh_token"].as_str().unwrap(), None)["access_token"]
            .is_string()
    );
    // The next authorization asks for consent again.
    let r = authorize(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let aid = query_param(r["redirect_to"].as_str().unwrap(), "authorization_id").unwrap();
    let d = call_as(&mut c, &user("u1"), "SELECT oauth.authorization($1)", &aid);
    assert!(
        d.get("redirect_to").is_none(),
        "consent must be asked again: {d}"
    );
    // A client's access token is not the user's session.
    let as_client = json!({"sub": "u2", "client_id": client.id});
    let out = call_as(
        &mut c,
        &as_client,
        "SELECT oauth.revoke_grant($1)",
        &client.id,
    );
    assert_eq!(out["error"], "access_denied");
    // The session-token variant verifies the token itself.
    let s: String = c
        .query_one("SELECT oauth.issue_session_token('u2')", &[])
        .unwrap()
        .get(0);
    let list = json(&mut c, "SELECT oauth.grants($1)", &[&s]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let forged = json(&mut c, "SELECT oauth.grants($1)", &[&format!("{s}x")]);
    assert_eq!(forged["error"], "login_required");
}

#[test]
fn introspection_and_revocation_respect_client_boundaries() {
    let db = TestDb::new("introspect");
    let mut c = db.connect();
    let a = create_client(&mut c, &[REDIRECT], "confidential");
    let b = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &a, "openid", "u1");
    let rt = t["refresh_token"].as_str().unwrap();
    let intro = |c: &mut postgres::Client, who: &TestClient, tok: &str| {
        json(
            c,
            "SELECT oauth.introspect($1, $2)",
            &[&json!({"token": tok}), &basic(who)],
        )
    };
    assert_eq!(intro(&mut c, &a, rt)["active"], true);
    assert_eq!(intro(&mut c, &b, rt)["active"], false);
    assert_eq!(
        intro(&mut c, &b, t["access_token"].as_str().unwrap())["active"],
        true
    );
    // b cannot revoke a's token; a can.
    json(
        &mut c,
        "SELECT oauth.revoke($1, $2)",
        &[&json!({"token": rt}), &basic(&b)],
    );
    assert_eq!(intro(&mut c, &a, rt)["active"], true);
    json(
        &mut c,
        "SELECT oauth.revoke($1, $2)",
        &[&json!({"token": rt}), &basic(&a)],
    );
    assert_eq!(intro(&mut c, &a, rt)["active"], false);
    assert_eq!(
        intro(&mut c, &a, t["access_token"].as_str().unwrap())["active"],
        false
    );
}

#[test]
fn purge_expired_deletes_only_what_can_no_longer_be_used() {
    let db = TestDb::new("purge");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let live = tokens(&mut c, &client, "openid", "u1");
    let old = tokens(&mut c, &client, "openid", "u2");
    pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    c.batch_execute(
        "UPDATE oauth.authorizations SET expires_at = now() - interval '1 second';
         UPDATE oauth.refresh_tokens t SET expires_at = now() - interval '1 second'
           FROM oauth.grants g WHERE g.id = t.grant_id AND g.user_id = 'u2';
         UPDATE oauth.grants SET last_used_at = now() - interval '2 days' WHERE user_id = 'u2';
         INSERT INTO oauth.user_code_failures (user_id, at)
           VALUES ('guesser', now() - interval '2 hours'), ('guesser', now());
         INSERT INTO oauth.used_jtis (key, kind, issuer, jti, expires_at)
           VALUES (sha256('gone'), 'dpop', 'k', 'gone', now() - interval '1 second'),
                  (sha256('kept'), 'dpop', 'k', 'kept', now() + interval '1 minute');
         INSERT INTO oauth.dpop_nonces (nonce, issued_at)
           VALUES ('stale', now() - interval '11 minutes'), ('fresh', now());
         INSERT INTO oauth.pushed_requests (request_uri_hash, client_id, params, expires_at)
           SELECT sha256(v::bytea), client_id, '{}', now() + d
           FROM oauth.clients, (VALUES ('gone', interval '-1 second'), ('kept', interval '1 minute')) x(v, d);
         INSERT INTO oauth.logout_deliveries (client_id, uri, user_id, reason, delivered_at, given_up_at)
           SELECT client_id, 'https://rp.example/logout', 'u', 'test', d, g
           FROM oauth.clients, (VALUES (now() - interval '8 days', NULL::timestamptz),
                                       (NULL, now() - interval '8 days'),
                                       (now() - interval '6 days', NULL),
                                       (NULL, NULL)) x(d, g);",
    )
    .unwrap();
    let n = json(&mut c, "SELECT oauth.purge_expired()", &[]);
    assert_eq!(
        n,
        json!({"audit_log": 0, "authorizations": 3, "refresh_tokens": 1, "grants": 1,
               "user_code_failures": 1, "sessions": 0, "sign_in_states": 0,
               "used_jtis": 1, "dpop_nonces": 1, "pushed_requests": 1,
               "logout_deliveries": 2})
    );
    // A jti that could still be replayed, and a nonce still accepted, are kept.
    let kept: Vec<String> = c
        .query(
            "SELECT jti FROM oauth.used_jtis UNION ALL SELECT nonce FROM oauth.dpop_nonces ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kept, ["fresh", "kept"]);
    assert!(refresh(
        &mut c,
        &client,
        live["refresh_token"].as_str().unwrap(),
        None
    )["access_token"]
        .is_string());
    assert_eq!(
        refresh(
            &mut c,
            &client,
            old["refresh_token"].as_str().unwrap(),
            None
        )["error"],
        "invalid_grant"
    );
    assert_eq!(
        json(&mut c, "SELECT oauth.purge_expired()", &[]),
        json!({"audit_log": 0, "authorizations": 0, "refresh_tokens": 0, "grants": 0,
               "user_code_failures": 0, "sessions": 0, "sign_in_states": 0,
               "used_jtis": 0, "dpop_nonces": 0, "pushed_requests": 0,
               "logout_deliveries": 0})
    );
    // Pending and recently settled deliveries stay visible.
    let left: i64 = c
        .query_one("SELECT count(*) FROM oauth.logout_deliveries", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 2);
}

#[test]
fn endpoint_functions_are_granted_as_designed() {
    let db = TestDb::new("endpoint_privs");
    db.connect()
        .batch_execute("DO $$ BEGIN CREATE ROLE plain_user LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
        .unwrap();
    let mut p = db.connect_as("plain_user");
    for ok in [
        "SELECT oauth.metadata()",
        "SELECT oauth.token('{}', NULL)",
        "SELECT oauth.userinfo('x')",
        "SELECT oauth.revoke('{}', NULL)",
        "SELECT oauth.introspect('{}', NULL)",
        "SELECT oauth.register_client('{}')",
        "SELECT oauth.grants('x')",
        "SELECT oauth.revoke_grant('c', 'x')",
    ] {
        p.batch_execute(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for denied in [
        "SELECT oauth.purge_expired()",
        // These trust request.jwt.claims, which plain_user could set itself.
        "SELECT oauth.grants()",
        "SELECT oauth.revoke_grant('c')",
    ] {
        assert_eq!(sqlstate(&mut p, denied), "42501", "{denied}");
    }
}
