//! Rules of the authorization request: PKCE (S256 only), exact redirect URI matching with the
//! loopback port exception, response_type=code, allowed scopes, and never redirecting to a URI
//! that is not registered.

use oauth_server_e2e::*;
use serde_json::{json, Value};

fn setup() -> (TestDb, postgres::Client, TestClient) {
    let db = TestDb::new("authz");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT, LOOPBACK], "public");
    (db, c, client)
}

/// The error of an authorize call that redirects back to the client.
fn redirected_error(r: &Value) -> (String, String) {
    let to = r["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a redirect: {r}"));
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(to, "state").as_deref(), Some("st-123"), "{to}");
    assert_eq!(
        query_param(to, "iss").as_deref(),
        Some("http://localhost:8080")
    );
    (
        query_param(to, "error").unwrap(),
        query_param(to, "error_description").unwrap(),
    )
}

#[test]
fn pkce_is_required_and_s256_only() {
    let (_db, mut c, client) = setup();
    let mut p = auth_params(&client, REDIRECT, "openid");
    p.as_object_mut().unwrap().remove("code_challenge");
    assert_eq!(
        redirected_error(&authorize(&mut c, &p)).0,
        "invalid_request"
    );

    for (method, challenge) in [
        (json!("plain"), json!(CHALLENGE)),
        (json!(null), json!(CHALLENGE)),
        (json!("S256"), json!("short")),
        (json!("S256"), json!(format!("{}!", &CHALLENGE[..42]))),
        (json!("S256"), json!(format!("{CHALLENGE}A"))),
    ] {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p["code_challenge_method"] = method.clone();
        p["code_challenge"] = challenge.clone();
        let (err, _) = redirected_error(&authorize(&mut c, &p));
        assert_eq!(err, "invalid_request", "{method} {challenge}");
    }
}

#[test]
fn wrong_or_missing_verifier_is_refused_and_the_code_stays_usable() {
    let (_db, mut c, client) = setup();
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
    let wrong = "A".repeat(43);
    for (verifier, expected) in [
        (Some(wrong.as_str()), "invalid_grant"),
        (None, "invalid_request"),
        (Some("short"), "invalid_request"),
    ] {
        let r = json(
            &mut c,
            "SELECT oauth.exchange_code($1, $2, $3, $4)",
            &[&code, &verifier, &REDIRECT, &client.id],
        );
        assert_eq!(r["error"], expected, "{verifier:?}: {r}");
    }
    // A failed attempt by someone without the verifier does not burn the code.
    let t = exchange(&mut c, &client, &code, REDIRECT);
    assert!(t.get("access_token").is_some(), "{t}");
}

#[test]
fn unknown_client_or_unregistered_redirect_never_redirects() {
    let (_db, mut c, client) = setup();
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["client_id"] = json!("nope");
    let r = authorize(&mut c, &p);
    assert!(r.get("redirect_to").is_none(), "{r}");
    assert_eq!(r["error"], "invalid_request");

    for evil in [
        "https://evil.example/callback",
        "https://app.example/callback/",
        "https://app.example/callback?x=1",
        "https://app.example/Callback",
        "https://APP.example/callback",
        "https://app.example/%63allback",
        "https://app.example/x/../callback",
        "https://app.example:443/callback",
        "https://app.example@evil.example/callback",
        "https://app.example.evil.example/callback",
        "https://app.example/callback#frag",
        "http://127.0.0.1.evil.example/callback",
        "http://127.0.0.1:8080/other",
    ] {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p["redirect_uri"] = json!(evil);
        let r = authorize(&mut c, &p);
        assert!(r.get("redirect_to").is_none(), "{evil} redirected: {r}");
        assert_eq!(r["error"], "invalid_request", "{evil}");
    }
    // With two registered URIs, redirect_uri may not be omitted.
    let mut p = auth_params(&client, REDIRECT, "openid");
    p.as_object_mut().unwrap().remove("redirect_uri");
    assert!(authorize(&mut c, &p).get("redirect_to").is_none());
}

#[test]
fn loopback_redirect_may_use_any_port_and_the_token_request_must_repeat_it() {
    let (_db, mut c, client) = setup();
    let used = "http://127.0.0.1:53219/callback";
    let code = get_code(&mut c, &client, used, "openid", "u");
    let r = exchange(&mut c, &client, &code, "http://127.0.0.1:1/callback");
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let r = exchange(&mut c, &client, &code, used);
    assert!(r.get("access_token").is_some(), "{r}");
}

#[test]
fn only_response_type_code() {
    let (_db, mut c, client) = setup();
    for rt in ["token", "id_token", "code token"] {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p["response_type"] = json!(rt);
        assert_eq!(
            redirected_error(&authorize(&mut c, &p)).0,
            "unsupported_response_type",
            "{rt}"
        );
    }
    let mut p = auth_params(&client, REDIRECT, "openid");
    p.as_object_mut().unwrap().remove("response_type");
    assert_eq!(
        redirected_error(&authorize(&mut c, &p)).0,
        "invalid_request"
    );
}

#[test]
fn requested_scopes_must_be_allowed_for_the_client() {
    let db = TestDb::new("scopes");
    let mut c = db.connect();
    let v = json(
        &mut c,
        "SELECT oauth.create_client('s', ARRAY[$1], 'public', ARRAY['openid','email'])",
        &[&REDIRECT],
    );
    let client = TestClient {
        id: v["client_id"].as_str().unwrap().into(),
        secret: None,
    };
    let (err, desc) = redirected_error(&authorize(
        &mut c,
        &auth_params(&client, REDIRECT, "openid admin"),
    ));
    assert_eq!(err, "invalid_scope");
    assert!(desc.contains("admin"), "{desc}");
    let (err, _) = redirected_error(&authorize(
        &mut c,
        &auth_params(&client, REDIRECT, "openid \"x"),
    ));
    assert_eq!(err, "invalid_scope");
    // A client without an explicit list may request only scopes the installation knows.
    let open = create_client(&mut c, &[REDIRECT], "public");
    let (err, _) = redirected_error(&authorize(
        &mut c,
        &auth_params(&open, REDIRECT, "unknown_scope"),
    ));
    assert_eq!(err, "invalid_scope");
    c.batch_execute("SELECT oauth.set_scope('unknown_scope', 'now known')")
        .unwrap();
    assert!(
        authorize(&mut c, &auth_params(&open, REDIRECT, "unknown_scope"))["redirect_to"]
            .as_str()
            .unwrap()
            .contains("authorization_id=")
    );
}

#[test]
fn malformed_parameters_are_invalid_request_not_crashes() {
    let (_db, mut c, client) = setup();
    for bad in [json!(null), json!([]), json!("x"), json!(42)] {
        let r = authorize(&mut c, &bad);
        assert_eq!(r["error"], "invalid_request", "{bad}: {r}");
    }
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["state"] = json!(["a", "b"]);
    assert_eq!(
        redirected_error_no_state(&authorize(&mut c, &p)),
        "invalid_request"
    );
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["state"] = json!("x".repeat(5000));
    assert_eq!(
        redirected_error_no_state(&authorize(&mut c, &p)),
        "invalid_request"
    );
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["resource"] = json!("not a uri");
    assert_eq!(redirected_error(&authorize(&mut c, &p)).0, "invalid_target");
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["client_id"] = json!("x".repeat(100_000));
    assert_eq!(authorize(&mut c, &p)["error"], "invalid_request");
}

fn redirected_error_no_state(r: &Value) -> String {
    let to = r["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a redirect: {r}"));
    assert!(to.starts_with(REDIRECT));
    query_param(to, "error").unwrap()
}

#[test]
fn authorize_answers_with_a_302_for_postgrest() {
    let (_db, mut c, client) = setup();
    let mut tx = c.transaction().unwrap();
    let r: Value = tx
        .query_one(
            "SELECT oauth.authorize($1)",
            &[&auth_params(&client, REDIRECT, "openid")],
        )
        .unwrap()
        .get(0);
    let row = tx.query_one("SELECT current_setting('response.status', true), current_setting('response.headers', true)", &[]).unwrap();
    assert_eq!(row.get::<_, String>(0), "302");
    let headers: Value = serde_json::from_str(&row.get::<_, String>(1)).unwrap();
    assert_eq!(headers[0]["Location"], r["redirect_to"]);
}
