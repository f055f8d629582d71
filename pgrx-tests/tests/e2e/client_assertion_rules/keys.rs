//! A private_key_jwt client's keys as registered: `oauth.create_client`, `oauth.update_client`,
//! dynamic registration and `oauth.client`. Public signing keys with a kid, ten at most, exactly
//! one source (inline or a URL); no secret, and no way back to one.

use super::*;
use oauth_server_e2e::assertion::jwks;

const CREATE: &str =
    "SELECT oauth.create_client('M', ARRAY[]::text[], grant_types => ARRAY['client_credentials'],
        token_endpoint_auth_method => $1, jwks => $2, jwks_uri => $3)";

/// The SQLSTATE `oauth.create_client` raises for these keys ("ok" when it creates a client).
fn create_sqlstate(c: &mut Client, method: &str, keys: Option<Value>, uri: Option<&str>) -> String {
    match c.query_one(CREATE, &[&method, &keys, &uri]) {
        Ok(_) => "ok".into(),
        Err(e) => e.code().map(|s| s.code().to_string()).unwrap_or_default(),
    }
}

fn client_count(c: &mut Client) -> i64 {
    c.query_one("SELECT count(*) FROM oauth.clients", &[])
        .unwrap()
        .get(0)
}

#[test]
fn keys_are_public_signing_keys_with_a_kid_from_exactly_one_source() {
    let db = TestDb::new("pkj_keys");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let oct = json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0c2VjcmV0"});
    let mut no_kid = key.jwk();
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut encryption = key.jwk();
    encryption["use"] = json!("enc");
    let ten: Vec<ClientKey> = (0..10).map(|i| ClientKey::new(&format!("k{i}"))).collect();
    let ten_refs: Vec<&ClientKey> = ten.iter().collect();
    let mut eleven = jwks(&ten_refs);
    eleven["keys"].as_array_mut().unwrap().push(key.jwk());
    let before = client_count(&mut c);
    let pkj = "private_key_jwt";
    for (method, keys, uri) in [
        (pkj, Some(json!({"keys": [key.private_jwk()]})), None),
        (pkj, Some(json!({"keys": [key.jwk(), oct]})), None),
        (pkj, Some(json!({"keys": [no_kid]})), None),
        (pkj, Some(json!({"keys": [encryption]})), None),
        (pkj, Some(json!({"keys": []})), None),
        (pkj, Some(json!([key.jwk()])), None),
        (pkj, Some(eleven), None),
        (pkj, Some(key.jwks()), Some("https://m.example/jwks.json")),
        (pkj, None, None),
        (pkj, None, Some("http://m.example/jwks.json")),
        (pkj, None, Some("https://m.example/jwks.json?x=1")),
        ("client_secret_basic", Some(key.jwks()), None),
        (
            "client_secret_basic",
            None,
            Some("https://m.example/jwks.json"),
        ),
    ] {
        let got = create_sqlstate(&mut c, method, keys.clone(), uri);
        assert_eq!(got, "22023", "{method} {keys:?} {uri:?}");
    }
    assert_eq!(client_count(&mut c), before, "nothing created");
    // A public client cannot keep a key from its users.
    let public = c.query_one(
        "SELECT oauth.create_client('P', ARRAY[$1], 'public',
                token_endpoint_auth_method => 'private_key_jwt', jwks => $2)",
        &[&REDIRECT, &key.jwks()],
    );
    assert_eq!(public.unwrap_err().code().unwrap().code(), "22023");
    // Ten keys; a URL (https, or http on loopback).
    assert_eq!(
        create_sqlstate(&mut c, pkj, Some(jwks(&ten_refs)), None),
        "ok"
    );
    assert_eq!(
        create_sqlstate(&mut c, pkj, None, Some("https://m.example/jwks.json")),
        "ok"
    );
    assert_eq!(
        create_sqlstate(&mut c, pkj, None, Some("http://127.0.0.1:9/jwks")),
        "ok"
    );
    // Each of the ten keys signs for the client.
    let m = machine_with(&mut c, &jwks(&ten_refs));
    for k in [&ten[0], &ten[9]] {
        issued(grant(&mut c, &k.assertion(&m.id, TOKEN_AUD)));
    }
}

#[test]
fn client_shows_the_public_keys_or_their_url_and_never_a_secret() {
    let db = TestDb::new("pkj_show");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let mut extra = key.jwk();
    extra["ext"] = json!(true);
    let m = machine_with(&mut c, &json!({"keys": [extra]}));
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&m.id]);
    assert_eq!(
        shown["token_endpoint_auth_method"], "private_key_jwt",
        "{shown}"
    );
    assert_eq!(shown["client_type"], "confidential", "{shown}");
    assert!(shown["jwks_uri"].is_null(), "{shown}");
    let stored = &shown["jwks"]["keys"];
    assert_eq!(stored.as_array().map(Vec::len), Some(1), "{shown}");
    for member in ["kty", "crv", "x", "y", "kid"] {
        assert_eq!(stored[0][member], key.jwk()[member], "{member}: {shown}");
    }
    assert!(
        stored[0].get("ext").is_none(),
        "reduced to what verification needs: {shown}"
    );
    assert!(shown.get("client_secret").is_none(), "{shown}");
    // At a URL: the URL, not the keys fetched from it.
    let at_url = TestClient::from_json(&json(
        &mut c,
        CREATE,
        &[
            &"private_key_jwt",
            &None::<Value>,
            &Some("https://m.example/jwks.json"),
        ],
    ));
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&at_url.id]);
    assert_eq!(shown["jwks_uri"], "https://m.example/jwks.json", "{shown}");
    assert!(shown["jwks"].is_null(), "{shown}");
    // A client of another method shows neither.
    let s = create_client(&mut c, &[REDIRECT], "confidential");
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&s.id]);
    assert!(
        shown["jwks"].is_null() && shown["jwks_uri"].is_null(),
        "{shown}"
    );
}

#[test]
fn update_client_rotates_keys_and_the_old_key_is_refused_at_once() {
    let db = TestDb::new("pkj_rotate");
    let mut c = db.connect();
    let k1 = ClientKey::new("k1");
    let k2 = ClientKey::new("k2");
    let m = machine(&mut c, &k1);
    issued(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)));
    // Both keys for the changeover, then the new one alone.
    update_client(&mut c, &m, json!({"jwks": jwks(&[&k1, &k2])}));
    issued(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)));
    issued(grant(&mut c, &k2.assertion(&m.id, TOKEN_AUD)));
    update_client(&mut c, &m, json!({"jwks": k2.jwks()}));
    grant_refused(&mut c, &m, &k1.assertion(&m.id, TOKEN_AUD), "kid");
    issued(grant(&mut c, &k2.assertion(&m.id, TOKEN_AUD)));
    // The new keys follow the same rules; a refused update changes nothing.
    for changes in [
        json!({"jwks": {"keys": [k1.private_jwk()]}}),
        json!({"jwks": null}),
        json!({"jwks": "k1"}),
        json!({"jwks": k1.jwks(), "jwks_uri": "https://m.example/jwks.json"}),
        json!({"token_endpoint_auth_method": "client_secret_basic"}),
        json!({"token_endpoint_auth_method": "client_secret_post"}),
        json!({"token_endpoint_auth_method": "none"}),
    ] {
        let r = c.query_one("SELECT oauth.update_client($1, $2)", &[&m.id, &changes]);
        assert_eq!(r.unwrap_err().code().unwrap().code(), "22023", "{changes}");
    }
    issued(grant(&mut c, &k2.assertion(&m.id, TOKEN_AUD)));
    // No secret to regenerate: refused, and none appears.
    let r = c.query_one("SELECT oauth.regenerate_client_secret($1)", &[&m.id]);
    assert_eq!(r.unwrap_err().code().unwrap().code(), "22023");
    let hash_is_null: bool = c
        .query_one(
            "SELECT client_secret_hash IS NULL FROM oauth.clients WHERE client_id = $1",
            &[&m.id],
        )
        .unwrap()
        .get(0);
    assert!(hash_is_null);
    // Moved to a URL: the inline keys are gone (nothing fetched yet).
    update_client(
        &mut c,
        &m,
        json!({"jwks": null, "jwks_uri": "https://m.example/jwks.json"}),
    );
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&m.id]);
    assert_eq!(shown["jwks_uri"], "https://m.example/jwks.json", "{shown}");
    let (body, status) = grant(&mut c, &k2.assertion(&m.id, TOKEN_AUD));
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401")
    );
    assert_eq!(body["refresh_client_keys"], json!(m.id), "{body}");
}

#[test]
fn a_secret_client_moves_to_private_key_jwt_and_its_secret_dies() {
    let db = TestDb::new("pkj_move");
    let mut c = db.connect();
    let s = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('S', ARRAY[]::text[], grant_types => ARRAY['client_credentials'])",
        &[],
    ));
    issued(token_endpoint(&mut c, client_credentials(), &s));
    // Not without keys.
    let bare = json!({"token_endpoint_auth_method": "private_key_jwt"});
    let r = c.query_one("SELECT oauth.update_client($1, $2)", &[&s.id, &bare]);
    assert_eq!(r.unwrap_err().code().unwrap().code(), "22023");
    issued(token_endpoint(&mut c, client_credentials(), &s));
    let key = ClientKey::new("k1");
    update_client(
        &mut c,
        &s,
        json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": key.jwks()}),
    );
    refused(&mut c, &s.id, |c| {
        token_endpoint(c, client_credentials(), &s)
    });
    issued(grant(&mut c, &key.assertion(&s.id, TOKEN_AUD)));
    // And back: refused.
    let back = json!({"token_endpoint_auth_method": "client_secret_basic"});
    let r = c.query_one("SELECT oauth.update_client($1, $2)", &[&s.id, &back]);
    assert_eq!(r.unwrap_err().code().unwrap().code(), "22023");
    refused(&mut c, &s.id, |c| {
        token_endpoint(c, client_credentials(), &s)
    });
}

#[test]
fn dynamic_registration_takes_private_key_jwt_with_jwks_or_jwks_uri() {
    let db = TestDb::new("pkj_register");
    db.set("dynamic_registration", "on");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let register =
        |c: &mut Client, md: Value| status_of(c, "SELECT oauth.register_client($1)", &[&md]);
    let (made, status) = register(
        &mut c,
        json!({"client_name": "Signed", "redirect_uris": [REDIRECT],
               "token_endpoint_auth_method": "private_key_jwt", "jwks": key.jwks()}),
    );
    assert_eq!(status, "201", "{made}");
    assert_eq!(
        made["token_endpoint_auth_method"], "private_key_jwt",
        "{made}"
    );
    assert!(made.get("client_secret").is_none(), "{made}");
    // RFC 7591 §3.2.1: the answer echoes the keys as registered (public members only).
    assert_eq!(made["jwks"]["keys"][0]["kid"], "k1", "{made}");
    assert!(made["jwks"]["keys"][0].get("d").is_none(), "{made}");
    let client = TestClient::from_json(&made);
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&client.id]);
    assert_eq!(shown["jwks"]["keys"][0]["kid"], "k1", "{shown}");
    // The code grant, redeemed with an assertion.
    let code = approved_code(&mut c, &client, "openid", &[], "u");
    let form = with_assertion(
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": REDIRECT}),
        &key.assertion(&client.id, TOKEN_AUD),
    );
    let t = issued(call(&mut c, "token", form, None));
    assert_eq!(
        access_token_claims(&t)["client_id"],
        json!(client.id),
        "{t}"
    );

    let (made, status) = register(
        &mut c,
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt",
               "jwks_uri": "https://signed.example/jwks.json"}),
    );
    assert_eq!(status, "201", "{made}");
    assert_eq!(
        made["jwks_uri"], "https://signed.example/jwks.json",
        "{made}"
    );
    assert!(made.get("client_secret").is_none(), "{made}");
    let fetches = json(&mut c, "SELECT oauth.client_jwks_fetches()", &[]);
    assert_eq!(fetches[0]["client_id"], made["client_id"], "{fetches}");
    assert_eq!(
        fetches[0]["jwks_uri"], "https://signed.example/jwks.json",
        "{fetches}"
    );

    for md in [
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt",
               "jwks": {"keys": [key.private_jwk()]}}),
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt",
               "jwks": key.jwks(), "jwks_uri": "https://signed.example/jwks.json"}),
        json!({"redirect_uris": [REDIRECT], "jwks": key.jwks()}),
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt",
               "jwks_uri": "http://signed.example/jwks.json"}),
    ] {
        let (r, status) = register(&mut c, md.clone());
        assert_eq!(
            (r["error"].as_str(), status.as_str()),
            (Some("invalid_client_metadata"), "400"),
            "{md}: {r}"
        );
    }
}
