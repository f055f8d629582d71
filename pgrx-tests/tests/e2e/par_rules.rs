//! Pushed authorization requests (RFC 9126): `oauth.par` authenticates the client as the token
//! endpoint does and checks the request as `oauth.authorize` would (refusals as JSON, never a
//! redirect); the `request_uri` it answers is used once, by that client, within its lifetime,
//! and stands for the pushed parameters and nothing else of the query; the request is checked
//! again when used. Pushing can be required server-wide or per client, and a DPoP proof at PAR
//! binds the code to its key (RFC 9449 §10.1), with the server's nonce when it asks for one.

use oauth_server_e2e::dpop::DpopKey;
use oauth_server_e2e::par::*;
use oauth_server_e2e::*;
use serde_json::{json, Value};

#[test]
fn a_pushed_request_goes_through_consent_to_tokens_with_its_own_state_and_scope() {
    let db = TestDb::new("par_flow");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let uri = push(
        &mut c,
        &client,
        request(&client, "openid email", "pushed-state"),
    );
    // The browser's query carries other values: only the pushed ones count.
    let answer = use_pushed(
        &mut c,
        &client.id,
        &uri,
        json!({"state": "query-state", "scope": "openid"}),
    );
    let aid = to_consent(&answer);
    let callback = approve(&mut c, &aid, "u");
    assert!(callback.starts_with(REDIRECT), "{callback}");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some("pushed-state")
    );
    let (t, status) = redeem_code(&mut c, &client, &code_in(&callback));
    assert_eq!(status, "", "{t}");
    assert_eq!(t["scope"], "openid email", "{t}");
    assert_eq!(access_token_claims(&t)["scope"], "openid email", "{t}");
    let (_, id_token) = jwt_parts(t["id_token"].as_str().unwrap());
    assert_eq!(id_token["nonce"], "n-456");
    assert_eq!(id_token["sub"], "u");
}

#[test]
fn a_request_uri_is_used_only_once() {
    let db = TestDb::new("par_once");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let uri = push(&mut c, &client, auth_params(&client, REDIRECT, "openid"));
    assert_eq!(stored_requests(&mut c), 1);
    to_consent(&use_pushed(&mut c, &client.id, &uri, json!({})));
    assert_eq!(stored_requests(&mut c), 0);
    // Replayed (a second tab, or someone who saw the URL): JSON, not back to the client.
    let again = use_pushed(&mut c, &client.id, &uri, json!({}));
    refused_json(&again, "invalid_request");
    // A made-up one is the same refusal.
    let made_up = format!("{REQUEST_URI_PREFIX}made-up");
    refused_json(
        &use_pushed(&mut c, &client.id, &made_up, json!({})),
        "invalid_request",
    );
    // request_uri without client_id is refused too.
    let (body, status) = status_of(
        &mut c,
        "SELECT oauth.authorize($1)",
        &[&json!({"request_uri": uri})],
    );
    refused_json(&(body, status), "invalid_request");
}

#[test]
fn only_the_client_that_pushed_a_request_may_use_it_and_another_clients_attempt_spends_nothing() {
    let db = TestDb::new("par_owner");
    let mut c = db.connect();
    let owner = create_client(&mut c, &[REDIRECT], "confidential");
    let other = create_client(&mut c, &[REDIRECT], "confidential");
    let uri = push(&mut c, &owner, request(&owner, "openid", "owner-state"));
    refused_json(
        &use_pushed(&mut c, &other.id, &uri, json!({})),
        "invalid_request",
    );
    refused_json(
        &use_pushed(&mut c, "no-such-client", &uri, json!({})),
        "invalid_request",
    );
    assert_eq!(stored_requests(&mut c), 1);
    let aid = to_consent(&use_pushed(&mut c, &owner.id, &uri, json!({})));
    assert_eq!(pending_row(&mut c, &aid)["client_id"], json!(owner.id));
    let callback = approve(&mut c, &aid, "u");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some("owner-state")
    );
    let (t, status) = redeem_code(&mut c, &owner, &code_in(&callback));
    assert_eq!(status, "", "{t}");
}

#[test]
fn a_pushed_request_expires_after_a_minute_and_is_purged() {
    let db = TestDb::new("par_expiry");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let uri = push(&mut c, &client, auth_params(&client, REDIRECT, "openid"));
    let random = &uri[REQUEST_URI_PREFIX.len()..];
    // Stored under a hash, for its client, with its parameters: not the request_uri itself.
    let row = json(
        &mut c,
        "SELECT jsonb_build_object('client_id', client_id, 'params', params,
                'lifetime', round(extract(epoch FROM expires_at - now())),
                'has_uri', strpos(p::text, $1) > 0)
           FROM oauth.pushed_requests p",
        &[&random],
    );
    assert_eq!(row["client_id"], json!(client.id), "{row}");
    assert_eq!(row["params"]["code_challenge"], CHALLENGE, "{row}");
    assert_eq!(row["has_uri"], false, "{row}");
    let lifetime = row["lifetime"].as_f64().unwrap();
    assert!((50.0..=60.0).contains(&lifetime), "{row}");
    c.batch_execute("UPDATE oauth.pushed_requests SET expires_at = now() - interval '1 second'")
        .unwrap();
    refused_json(
        &use_pushed(&mut c, &client.id, &uri, json!({})),
        "invalid_request",
    );
    // purge_expired forgets the expired ones it was never asked for, and only those.
    push(&mut c, &client, auth_params(&client, REDIRECT, "openid"));
    let live = push(&mut c, &client, auth_params(&client, REDIRECT, "openid"));
    c.batch_execute(
        "UPDATE oauth.pushed_requests SET expires_at = now() - interval '1 second'
          WHERE request_uri_hash = (SELECT request_uri_hash FROM oauth.pushed_requests
                                     ORDER BY expires_at LIMIT 1)",
    )
    .unwrap();
    let purged = json(&mut c, "SELECT oauth.purge_expired()", &[]);
    assert_eq!(purged["pushed_requests"], 1, "{purged}");
    assert_eq!(stored_requests(&mut c), 1);
    to_consent(&use_pushed(&mut c, &client.id, &live, json!({})));
}

#[test]
fn the_query_beside_a_request_uri_is_ignored() {
    let db = TestDb::new("par_query");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT, OTHER_REDIRECT], "confidential");
    let uri = push(&mut c, &client, request(&client, "openid", "pushed-state"));
    // Each of these would change the request (or refuse it) if the query counted.
    let query = json!({
        "redirect_uri": "https://evil.example/callback", "scope": "openid email profile",
        "state": "query-state", "nonce": "query-nonce", "code_challenge": "x".repeat(43),
        "code_challenge_method": "plain", "prompt": "none", "response_type": "token",
        "dpop_jkt": DpopKey::new().jkt(),
    });
    let aid = to_consent(&use_pushed(&mut c, &client.id, &uri, query));
    let row = pending_row(&mut c, &aid);
    assert_eq!(
        row,
        json!({"redirect_uri": REDIRECT, "scopes": ["openid"], "state": "pushed-state",
               "nonce": "n-456", "code_challenge": CHALLENGE, "prompt": null,
               "client_id": client.id})
    );
    let callback = approve(&mut c, &aid, "u");
    assert!(callback.starts_with(REDIRECT), "{callback}");
    // Not bound to the query's dpop_jkt: redeemed without a proof.
    let (t, status) = redeem_code(&mut c, &client, &code_in(&callback));
    assert_eq!(status, "", "{t}");
    assert_eq!(t["token_type"], "Bearer", "{t}");
}

#[test]
fn a_request_authorize_would_refuse_is_refused_at_push_as_json() {
    let db = TestDb::new("par_refusals");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let other = create_client(&mut c, &[REDIRECT], "confidential");
    let with = |k: &str, v: Value| {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p[k] = v;
        p
    };
    let without = |k: &str| {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p.as_object_mut().unwrap().remove(k);
        p
    };
    let cases = [
        (
            "an unregistered redirect_uri",
            with("redirect_uri", json!("https://evil.example/callback")),
            "invalid_request",
        ),
        (
            "no code_challenge",
            without("code_challenge"),
            "invalid_request",
        ),
        (
            "the plain PKCE method",
            with("code_challenge_method", json!("plain")),
            "invalid_request",
        ),
        (
            "a request_uri inside",
            with("request_uri", json!(format!("{REQUEST_URI_PREFIX}x"))),
            "invalid_request",
        ),
        (
            "a request object inside",
            with("request", json!("a.b.c")),
            "invalid_request",
        ),
        (
            "another client's client_id",
            with("client_id", json!(other.id)),
            "invalid_request",
        ),
        (
            "no response_type",
            without("response_type"),
            "invalid_request",
        ),
        (
            "response_type token",
            with("response_type", json!("token")),
            "unsupported_response_type",
        ),
        (
            "a scope not allowed",
            with("scope", json!("openid admin")),
            "invalid_scope",
        ),
    ];
    for (what, form, error) in cases {
        let answer = par(&mut c, &client, form, None);
        let (body, status) = &answer;
        assert_eq!(
            (body["error"].as_str(), status.as_str()),
            (Some(error), "400"),
            "{what}: {body}"
        );
        assert!(body.get("redirect_to").is_none(), "{what}: {body}");
        assert!(body.get("request_uri").is_none(), "{what}: {body}");
    }
    assert_eq!(stored_requests(&mut c), 0);
    // The same request with everything right is taken: the refusals were about the request.
    push(&mut c, &client, auth_params(&client, REDIRECT, "openid"));
}

#[test]
fn a_push_without_the_clients_credentials_is_invalid_client() {
    let db = TestDb::new("par_auth");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let poster = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('Poster', ARRAY[$1], 'confidential',
                token_endpoint_auth_method => 'client_secret_post')",
        &[&REDIRECT],
    ));
    let params = auth_params(&client, REDIRECT, "openid");
    let wrong = TestClient {
        id: client.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let posted = |secret: &str| {
        let mut form = auth_params(&poster, REDIRECT, "openid");
        form["client_secret"] = json!(secret);
        form
    };
    let answers = [
        ("a wrong secret", par(&mut c, &wrong, params.clone(), None)),
        (
            "no secret",
            status_of(&mut c, "SELECT oauth.par($1, NULL)", &[&params]),
        ),
        (
            "a wrong client_secret_post",
            status_of(&mut c, "SELECT oauth.par($1, NULL)", &[&posted("nope")]),
        ),
    ];
    for (what, (body, status)) in answers {
        assert_eq!(
            (body["error"].as_str(), status.as_str()),
            (Some("invalid_client"), "401"),
            "{what}: {body}"
        );
    }
    assert_eq!(stored_requests(&mut c), 0);
    // client_secret_post with the right secret: the secret is not kept with the request.
    let form = posted(poster.secret.as_deref().unwrap());
    let uri = pushed(status_of(&mut c, "SELECT oauth.par($1, NULL)", &[&form]));
    let kept = json(&mut c, "SELECT params FROM oauth.pushed_requests", &[]);
    assert!(kept.get("client_secret").is_none(), "{kept}");
    to_consent(&use_pushed(&mut c, &poster.id, &uri, json!({})));
}

#[test]
fn a_pushed_request_is_checked_again_when_used() {
    let db = TestDb::new("par_recheck");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT, OTHER_REDIRECT], "confidential");
    let to_other = {
        let mut p = auth_params(&client, OTHER_REDIRECT, "openid");
        p["state"] = json!("other-state");
        push(&mut c, &client, p)
    };
    let to_redirect = push(&mut c, &client, auth_params(&client, REDIRECT, "openid"));
    // Between push and use, the client loses OTHER_REDIRECT.
    update_client(&mut c, &client, json!({"redirect_uris": [REDIRECT]}));
    let answer = use_pushed(&mut c, &client.id, &to_other, json!({}));
    let (body, _) = &answer;
    refused_json(&answer, "invalid_request");
    assert!(!body.to_string().contains(OTHER_REDIRECT), "{body}");
    assert_eq!(
        json(
            &mut c,
            "SELECT to_jsonb(count(*)) FROM oauth.authorizations",
            &[]
        ),
        0
    );
    // The request to a URI still registered is unaffected.
    let aid = to_consent(&use_pushed(&mut c, &client.id, &to_redirect, json!({})));
    assert_eq!(pending_row(&mut c, &aid)["redirect_uri"], REDIRECT);
}

#[test]
fn push_authorization_request_takes_explicit_credentials() {
    let db = TestDb::new("par_explicit");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let public = create_client(&mut c, &[REDIRECT], "public");
    let call = "SELECT oauth.push_authorization_request($1, $2, $3)";
    let params = request(&client, "openid", "explicit-state");
    let (body, status) = status_of(
        &mut c,
        call,
        &[&params, &client.id, &Some("not-the-secret")],
    );
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401"),
        "{body}"
    );
    let (body, status) = status_of(&mut c, call, &[&params, &client.id, &None::<String>]);
    assert_eq!(body["error"], "invalid_client", "{body}: {status}");
    // The params' client_id must still be the credentials' client.
    let (body, status) = status_of(
        &mut c,
        call,
        &[
            &auth_params(&public, REDIRECT, "openid"),
            &client.id,
            &client.secret,
        ],
    );
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_request"), "400"),
        "{body}"
    );
    assert_eq!(stored_requests(&mut c), 0);
    let uri = pushed(status_of(
        &mut c,
        call,
        &[&params, &client.id, &client.secret],
    ));
    let aid = to_consent(&use_pushed(&mut c, &client.id, &uri, json!({})));
    let callback = approve(&mut c, &aid, "u");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some("explicit-state")
    );
    let (t, status) = redeem_code(&mut c, &client, &code_in(&callback));
    assert_eq!(status, "", "{t}");
    // A public client: its client_id alone, with or without a client_id in the params.
    let mut bare = auth_params(&public, REDIRECT, "openid");
    bare.as_object_mut().unwrap().remove("client_id");
    let uri = pushed(status_of(
        &mut c,
        "SELECT oauth.push_authorization_request($1, $2)",
        &[&bare, &public.id],
    ));
    to_consent(&use_pushed(&mut c, &public.id, &uri, json!({})));
}

#[test]
fn a_public_client_pushes_with_its_client_id_alone() {
    let db = TestDb::new("par_public");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "public");
    let uri = push(&mut c, &client, request(&client, "openid", "public-state"));
    let aid = to_consent(&use_pushed(&mut c, &client.id, &uri, json!({})));
    let callback = approve(&mut c, &aid, "u");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some("public-state")
    );
    let (t, status) = token(&mut c, &client, code_form(&code_in(&callback)), None);
    assert_eq!(status, "", "{t}");
    assert!(t.get("access_token").is_some(), "{t}");
    // A public client's push without its client_id anywhere is no client at all.
    let mut anonymous = auth_params(&client, REDIRECT, "openid");
    anonymous.as_object_mut().unwrap().remove("client_id");
    let (body, status) = status_of(&mut c, "SELECT oauth.par($1)", &[&anonymous]);
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401"),
        "{body}"
    );
}

/// Only what `oauth.authorize` reads is stored: unknown parameters are dropped (RFC 6749 §3.1),
/// and the client's credentials never are, however large the push.
#[test]
fn a_push_stores_only_the_authorization_requests_own_parameters() {
    let db = TestDb::new("par_store");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let mut form = request(&client, "openid", "s1");
    form["junk"] = json!("x".repeat(60_000));
    for i in 0..200 {
        form[format!("k{i}")] = json!("v");
    }
    push(&mut c, &client, form);
    let stored = json(&mut c, "SELECT params FROM oauth.pushed_requests", &[]);
    let mut keys: Vec<&str> = stored
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "client_id",
            "code_challenge",
            "code_challenge_method",
            "nonce",
            "redirect_uri",
            "response_type",
            "scope",
            "state"
        ]
    );
    // client_secret_post: the secret is not kept with the request either.
    let post = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('post', ARRAY[$1], token_endpoint_auth_method => 'client_secret_post')",
        &[&REDIRECT],
    ));
    let mut form = request(&post, "openid", "s2");
    form["client_id"] = json!(post.id);
    form["client_secret"] = json!(post.secret.clone().unwrap());
    let (body, status) = status_of(&mut c, "SELECT oauth.par($1)", &[&form]);
    assert_eq!(status, "201", "{body}");
    let secrets = json(
        &mut c,
        "SELECT to_jsonb(count(*)) FROM oauth.pushed_requests WHERE params ? 'client_secret'",
        &[],
    );
    assert_eq!(secrets, 0);
}
