//! Keys published at a `jwks_uri`, as the front keeps them (simulated here in SQL): it lists
//! them with `oauth.client_jwks_fetches()`, stores what it fetched with `oauth.set_client_jwks`
//! and records failures with `oauth.report_client_jwks_error`. An assertion by a key the stored
//! set lacks asks the front to fetch (`refresh_client_keys`), only when the set was never
//! fetched or is older than a minute. Client ID metadata documents may name such a URL.

use super::*;
use oauth_server_e2e::assertion::jwks;

const URI: &str = "https://agent.example/jwks.json";

fn published_machine(c: &mut Client, uri: &str) -> TestClient {
    let made = json(
        c,
        "SELECT oauth.create_client('M', ARRAY[]::text[], grant_types => ARRAY['client_credentials'],
                token_endpoint_auth_method => 'private_key_jwt', jwks_uri => $1)",
        &[&uri],
    );
    assert!(made["client_secret"].is_null(), "{made}");
    TestClient::from_json(&made)
}

/// What the front does after fetching `uri`: `oauth.set_client_jwks`.
fn store(c: &mut Client, client: &TestClient, keys: &Value, uri: &str) -> Value {
    json(
        c,
        "SELECT oauth.set_client_jwks($1, $2, $3)",
        &[&client.id, keys, &uri],
    )
}

/// The SQLSTATE of `oauth.set_client_jwks` (it must fail).
fn store_sqlstate(c: &mut Client, client_id: &str, keys: &Value, uri: &str) -> String {
    let e = c
        .query_one(
            "SELECT oauth.set_client_jwks($1, $2, $3)",
            &[&client_id, keys, &uri],
        )
        .expect_err("set_client_jwks should have raised");
    e.code().unwrap().code().to_string()
}

/// The client's entry in `oauth.client_jwks_fetches()`.
fn fetch_entry(c: &mut Client, client: &TestClient) -> Value {
    let all = json(c, "SELECT oauth.client_jwks_fetches()", &[]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|e| e["client_id"] == json!(client.id))
        .cloned()
        .unwrap_or_else(|| panic!("{} not in {all}", client.id))
}

/// Makes the stored set `age` old, as if fetched then.
fn fetched_ago(c: &mut Client, client: &TestClient, age: &str) {
    c.execute(
        &format!("UPDATE oauth.client_jwks SET fetched_at = now() - interval '{age}' WHERE client_id = $1"),
        &[&client.id],
    )
    .unwrap();
}

/// A refusal that asks the front for the client's keys: 401 invalid_client and
/// `refresh_client_keys` naming the client.
#[track_caller]
fn asks_for_keys(answer: (Value, String), client: &TestClient) {
    let (body, status) = answer;
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401"),
        "{body}"
    );
    assert_eq!(body["refresh_client_keys"], json!(client.id), "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
}

/// The front may answer that refusal as it is (its fetch failed, or ran a moment ago): so it is
/// audited like any other failed authentication, and challenges like one.
#[test]
fn asking_for_keys_is_a_failed_authentication_all_the_same() {
    let db = TestDb::new("pkj_ask_audit");
    let mut c = db.connect();
    let m = published_machine(&mut c, URI);
    let k1 = ClientKey::new("k1");
    let form = with_assertion(
        json!({"grant_type": "client_credentials"}),
        &k1.assertion(&m.id, TOKEN_AUD),
    );
    let mut tx = c.transaction().unwrap();
    let row = tx
        .query_one(
            "SELECT oauth.token($1, NULL), coalesce(current_setting('response.headers', true), '')",
            &[&form],
        )
        .unwrap();
    tx.commit().unwrap();
    let (body, headers): (Value, String) = (row.get(0), row.get(1));
    assert_eq!(body["refresh_client_keys"], json!(m.id), "{body}");
    assert!(headers.contains("WWW-Authenticate"), "{headers}");
    let audited = json(
        &mut c,
        "SELECT to_jsonb(count(*)) FROM oauth.audit_log
          WHERE event = 'client_authentication_failed' AND client_id = $1",
        &[&m.id],
    );
    assert_eq!(audited, 1);
}

#[test]
fn published_keys_are_asked_for_when_missing_and_then_used() {
    let db = TestDb::new("pkj_uri");
    let mut c = db.connect();
    let m = published_machine(&mut c, URI);
    let k1 = ClientKey::new("k1");
    let entry = fetch_entry(&mut c, &m);
    assert_eq!(entry["jwks_uri"], URI, "{entry}");
    assert!(entry["fetched_at"].is_null(), "{entry}");
    assert_eq!(entry["kids"], json!([]), "{entry}");
    // Nothing fetched yet: the front is asked for the keys.
    asks_for_keys(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)), &m);
    // It fetched them: stored (public members only), then the same kind of request is taken.
    let stored = store(&mut c, &m, &k1.jwks(), URI);
    assert_eq!(stored["kids"], json!(["k1"]), "{stored}");
    let entry = fetch_entry(&mut c, &m);
    assert!(entry["fetched_at"].is_string(), "{entry}");
    assert_eq!(entry["kids"], json!(["k1"]), "{entry}");
    issued(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)));
    // A refusal of what the assertion says is no reason to fetch, however old the set.
    fetched_ago(&mut c, &m, "2 minutes");
    let foreign = k1.assertion(&m.id, "https://other.example/oauth/token");
    grant_refused(&mut c, &m, &foreign, "aud");
    // The client rotates at its URL: k2 is unknown. A set fetched a moment ago is not fetched
    // again (made-up kids cannot make us fetch more than once a minute): refused, audited.
    let k2 = ClientKey::new("k2");
    store(&mut c, &m, &k1.jwks(), URI);
    grant_refused(&mut c, &m, &k2.assertion(&m.id, TOKEN_AUD), "kid");
    fetched_ago(&mut c, &m, "50 seconds");
    grant_refused(&mut c, &m, &k2.assertion(&m.id, TOKEN_AUD), "kid");
    // Older than a minute: the front is asked.
    fetched_ago(&mut c, &m, "2 minutes");
    asks_for_keys(grant(&mut c, &k2.assertion(&m.id, TOKEN_AUD)), &m);
    // ... whose fetch brings the new set: k2 in, k1 out at once.
    store(&mut c, &m, &k2.jwks(), URI);
    issued(grant(&mut c, &k2.assertion(&m.id, TOKEN_AUD)));
    grant_refused(&mut c, &m, &k1.assertion(&m.id, TOKEN_AUD), "kid");
    // An inline client's unknown key never asks for a fetch: there is nothing to fetch.
    let inline = machine(&mut c, &k1);
    grant_refused(&mut c, &inline, &k2.assertion(&inline.id, TOKEN_AUD), "kid");
}

#[test]
fn set_client_jwks_stores_public_keys_for_the_clients_own_url_only() {
    let db = TestDb::new("pkj_set");
    let mut c = db.connect();
    let m = published_machine(&mut c, URI);
    let k1 = ClientKey::new("k1");
    store(&mut c, &m, &k1.jwks(), URI);
    // Private or symmetric material, or no key set at all: refused, the stored keys stay.
    let k2 = ClientKey::new("k2");
    for keys in [
        json!({"keys": [k2.private_jwk()]}),
        json!({"keys": [k2.jwk(), {"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}),
        json!({"nokeys": true}),
    ] {
        assert_eq!(store_sqlstate(&mut c, &m.id, &keys, URI), "22023", "{keys}");
    }
    assert_eq!(fetch_entry(&mut c, &m)["kids"], json!(["k1"]));
    issued(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)));
    // Another URL than the client's, or a client without one: nothing stored (P0002).
    let other_uri = "https://elsewhere.example/jwks.json";
    assert_eq!(
        store_sqlstate(&mut c, &m.id, &k2.jwks(), other_uri),
        "P0002"
    );
    let inline = machine(&mut c, &k1);
    assert_eq!(store_sqlstate(&mut c, &inline.id, &k2.jwks(), URI), "P0002");
    assert_eq!(
        store_sqlstate(&mut c, "no-such-client", &k2.jwks(), URI),
        "P0002"
    );
    grant_refused(&mut c, &inline, &k2.assertion(&inline.id, TOKEN_AUD), "kid");
    // A failed fetch is recorded; the keys stored before stay in use.
    c.execute(
        "SELECT oauth.report_client_jwks_error($1, 'HTTP 503 from agent.example')",
        &[&m.id],
    )
    .unwrap();
    let entry = fetch_entry(&mut c, &m);
    assert_eq!(
        entry["last_error"], "HTTP 503 from agent.example",
        "{entry}"
    );
    issued(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)));
    // A fetch that succeeds clears it.
    store(&mut c, &m, &jwks(&[&k1, &k2]), URI);
    assert!(fetch_entry(&mut c, &m)["last_error"].is_null());
    // A new URL: the keys fetched from the old one go, and a fetch of the old one that
    // finishes late stores nothing.
    update_client(&mut c, &m, json!({"jwks_uri": other_uri}));
    let entry = fetch_entry(&mut c, &m);
    assert_eq!(
        (entry["jwks_uri"].as_str(), &entry["kids"]),
        (Some(other_uri), &json!([]))
    );
    asks_for_keys(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)), &m);
    assert_eq!(store_sqlstate(&mut c, &m.id, &k1.jwks(), URI), "P0002");
    store(&mut c, &m, &k2.jwks(), other_uri);
    issued(grant(&mut c, &k2.assertion(&m.id, TOKEN_AUD)));
    grant_refused(&mut c, &m, &k1.assertion(&m.id, TOKEN_AUD), "kid");
}

#[test]
fn a_metadata_document_may_sign_with_keys_at_its_jwks_uri() {
    let db = TestDb::new("pkj_cimd");
    let mut c = db.connect();
    let url = "https://agent.example/oauth/client.json";
    let callback = "http://127.0.0.1:53111/callback";
    let doc = |jwks_uri: &str| {
        json!({"client_id": url, "client_name": "Signed agent", "redirect_uris": [callback],
               "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": jwks_uri})
    };
    let register = |c: &mut Client, doc: &Value| {
        json(
            c,
            "SELECT oauth.register_metadata_document($1, $2)",
            &[&url, doc],
        )
    };
    let r = register(&mut c, &doc(URI));
    assert_eq!(r["client_id"], url, "{r}");
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&url]);
    assert_eq!(
        (
            &shown["client_type"],
            &shown["token_endpoint_auth_method"],
            &shown["jwks_uri"]
        ),
        (
            &json!("confidential"),
            &json!("private_key_jwt"),
            &json!(URI)
        ),
        "{shown}"
    );
    assert!(shown.get("client_secret").is_none(), "{shown}");
    let client = TestClient {
        id: url.into(),
        secret: None,
    };
    assert_eq!(fetch_entry(&mut c, &client)["jwks_uri"], URI);
    let key = ClientKey::new("k1");
    store(&mut c, &client, &key.jwks(), URI);
    // The code flow: redeemed with an assertion, never as a public client.
    let code = get_code(&mut c, &client, callback, "openid", "u");
    let form = |code: &str, extra: Value| {
        let mut f = json!({"grant_type": "authorization_code", "code": code,
                           "code_verifier": VERIFIER, "redirect_uri": callback});
        for (k, v) in extra.as_object().unwrap() {
            f[k] = v.clone();
        }
        f
    };
    let public = form(&code, json!({"client_id": url}));
    refused(&mut c, url, |c| call(c, "token", public, None));
    let signed = with_assertion(form(&code, json!({})), &key.assertion(url, TOKEN_AUD));
    issued(call(&mut c, "token", signed, None));
    // Stored again with the same URL (a refetch of the document): the fetched keys stay.
    register(&mut c, &doc(URI));
    issued(grant_code(&mut c, &client, callback, &key));
    // jwks_uri must be https, or http on loopback; and is required.
    let mut no_uri = doc(URI);
    no_uri.as_object_mut().unwrap().remove("jwks_uri");
    for bad in [doc("http://agent.example/jwks.json"), no_uri] {
        let r = register(&mut c, &bad);
        assert_eq!(r["error"], "invalid_client_metadata", "{bad}: {r}");
    }
    let loopback = register(&mut c, &doc("http://127.0.0.1:9/jwks.json"));
    assert_eq!(loopback["client_id"], url, "{loopback}");
    // The document goes back to a public client: its keys go with the method, and the front
    // is no longer sent to its URL.
    let public = json!({"client_id": url, "redirect_uris": [callback]});
    register(&mut c, &public);
    let listed = json(&mut c, "SELECT oauth.client_jwks_fetches($1)", &[&url]);
    assert_eq!(listed, json!([]), "{listed}");
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&url]);
    assert!(shown["jwks_uri"].is_null(), "{shown}");
}

/// A jti is remembered by a hash of the client and itself: a client_id URL near its limit and a
/// jti of 256 four-byte characters together (too big for an index entry) are taken, replayed
/// refused, never a raised error.
#[test]
fn the_longest_client_id_and_jti_are_remembered_all_the_same() {
    let db = TestDb::new("pkj_long");
    let mut c = db.connect();
    let url = format!("https://agent.example/{}", "c".repeat(2000));
    let callback = "http://127.0.0.1:53111/callback";
    let doc = json!({"client_id": url, "redirect_uris": [callback],
                     "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": URI});
    let r = json(
        &mut c,
        "SELECT oauth.register_metadata_document($1, $2)",
        &[&url, &doc],
    );
    assert_eq!(r["client_id"], json!(url), "{r}");
    let client = TestClient {
        id: url.clone(),
        secret: None,
    };
    let key = ClientKey::new("k1");
    store(&mut c, &client, &key.jwks(), URI);
    let jti: String = "\u{1F511}".repeat(256);
    let assertion = key.assertion_with(&url, TOKEN_AUD, json!({}), json!({"jti": jti}));
    let code = get_code(&mut c, &client, callback, "openid", "u");
    let form = |code: &str| {
        with_assertion(
            json!({"grant_type": "authorization_code", "code": code,
                   "code_verifier": VERIFIER, "redirect_uri": callback}),
            &assertion,
        )
    };
    issued(call(&mut c, "token", form(&code), None));
    let code = get_code(&mut c, &client, callback, "openid", "u");
    let (body, status) = call(&mut c, "token", form(&code), None);
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401"),
        "{body}"
    );
}

/// A code for `client` at `callback`, redeemed with an assertion by `key`.
fn grant_code(
    c: &mut Client,
    client: &TestClient,
    callback: &str,
    key: &ClientKey,
) -> (Value, String) {
    let code = get_code(c, client, callback, "openid", "u");
    let form = with_assertion(
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": callback}),
        &key.assertion(&client.id, TOKEN_AUD),
    );
    call(c, "token", form, None)
}

/// A key the client withdraws from its URL stops working when the set is fetched again (an
/// empty set, or one of keys that could verify nothing, is stored as it is); a set is used for
/// ten minutes, then fetched again before any assertion is taken; and a URL that can no longer
/// be fetched leaves the client refused, not its old keys accepted.
#[test]
fn withdrawn_or_stale_published_keys_stop_working() {
    let db = TestDb::new("pkj_stale");
    let mut c = db.connect();
    let m = published_machine(&mut c, URI);
    let k1 = ClientKey::new("k1");
    store(&mut c, &m, &k1.jwks(), URI);
    issued(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)));
    for withdrawn in [
        json!({"keys": []}),
        json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "use": "enc", "kid": "k1"}]}),
    ] {
        let stored = store(&mut c, &m, &withdrawn, URI);
        assert_eq!(stored["kids"], json!([]), "{stored}");
        grant_refused(&mut c, &m, &k1.assertion(&m.id, TOKEN_AUD), "kid");
    }
    store(&mut c, &m, &k1.jwks(), URI);
    issued(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)));
    // Nine minutes old: used. Eleven: the front is asked for the keys first, whatever the
    // assertion says, and a failed fetch changes nothing of that.
    fetched_ago(&mut c, &m, "9 minutes");
    issued(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)));
    fetched_ago(&mut c, &m, "11 minutes");
    asks_for_keys(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)), &m);
    c.execute(
        "SELECT oauth.report_client_jwks_error($1, 'HTTP 404 from agent.example')",
        &[&m.id],
    )
    .unwrap();
    asks_for_keys(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)), &m);
    // Fetched again: taken again.
    store(&mut c, &m, &k1.jwks(), URI);
    issued(grant(&mut c, &k1.assertion(&m.id, TOKEN_AUD)));
}
