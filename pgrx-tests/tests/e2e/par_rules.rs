//! Pushed authorization requests (RFC 9126): `oauth.par` authenticates the client as the token
//! endpoint does and checks the request as `oauth.authorize` would (refusals as JSON, never a
//! redirect); the `request_uri` it answers is used once, by that client, within its lifetime,
//! and stands for the pushed parameters and nothing else of the query; the request is checked
//! again when used. Pushing can be required server-wide or per client, and a DPoP proof at PAR
//! binds the code to its key (RFC 9449 §10.1), with the server's nonce when it asks for one.

use oauth_server_e2e::dpop::{DpopKey, TOKEN_URL};
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

/// The PAR endpoint under the default issuer: the `htu` of proofs for `oauth.par`.
const PAR_URL: &str = "http://localhost:8080/oauth/par";
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
const OTHER_REDIRECT: &str = "https://app.example/other";

/// `oauth.par(form, authorization, dpop)` as `client`: HTTP Basic when it has a secret, its
/// `client_id` in the form when public → (body, response.status).
fn par(
    c: &mut Client,
    client: &TestClient,
    mut form: Value,
    proof: Option<&str>,
) -> (Value, String) {
    let authorization = client.secret.as_ref().map(|_| basic_header(client));
    if authorization.is_none() {
        form["client_id"] = json!(client.id);
    }
    status_of(
        c,
        "SELECT oauth.par($1, $2, $3)",
        &[&form, &authorization, &proof],
    )
}

/// The `request_uri` of a successful push (201, `expires_in` 60, the RFC's URN).
#[track_caller]
fn pushed(answer: (Value, String)) -> String {
    let (body, status) = answer;
    assert_eq!(status, "201", "{body}");
    assert_eq!(body["expires_in"], 60, "{body}");
    let uri = body["request_uri"]
        .as_str()
        .unwrap_or_else(|| panic!("no request_uri in {body}"));
    assert!(uri.starts_with(REQUEST_URI_PREFIX), "{uri}");
    assert!(uri.len() > REQUEST_URI_PREFIX.len() + 20, "{uri}");
    uri.to_string()
}

/// Pushes `params` as `client` (no DPoP) → the `request_uri`.
fn push(c: &mut Client, client: &TestClient, params: Value) -> String {
    pushed(par(c, client, params, None))
}

/// The request [`auth_params`] makes, with `state` of its own.
fn request(client: &TestClient, scope: &str, state: &str) -> Value {
    let mut p = auth_params(client, REDIRECT, scope);
    p["state"] = json!(state);
    p
}

/// `oauth.authorize` with `client_id` + `request_uri` and the `extra` query parameters →
/// (body, response.status).
fn use_pushed(c: &mut Client, client_id: &str, request_uri: &str, extra: Value) -> (Value, String) {
    let mut q = json!({"client_id": client_id, "request_uri": request_uri});
    for (k, v) in extra.as_object().unwrap() {
        q[k] = v.clone();
    }
    status_of(c, "SELECT oauth.authorize($1)", &[&q])
}

/// The id of the pending request an authorize answer sends the browser to consent for.
#[track_caller]
fn to_consent(answer: &(Value, String)) -> String {
    let (body, status) = answer;
    assert_eq!(status, "302", "{body}");
    let to = body["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("not a redirect: {body}"));
    query_param(to, "authorization_id").unwrap_or_else(|| panic!("not to consent: {to}"))
}

/// A refusal as JSON with `error` and status 400, sending the browser nowhere → the
/// description.
#[track_caller]
fn refused_json(answer: &(Value, String), error: &str) -> String {
    let (body, status) = answer;
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some(error), "400"),
        "{body}"
    );
    assert!(body.get("redirect_to").is_none(), "{body}");
    body["error_description"].as_str().unwrap_or("").to_string()
}

/// `sub` approves the pending request `aid` → the client's callback URL.
fn approve(c: &mut Client, aid: &str, sub: &str) -> String {
    let out = call_as(c, &user(sub), "SELECT oauth.consent($1, true)", aid);
    out["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("consent failed: {out}"))
        .to_string()
}

fn code_in(callback: &str) -> String {
    query_param(callback, "code").unwrap_or_else(|| panic!("no code in {callback}"))
}

fn code_form(code: &str) -> Value {
    json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
           "redirect_uri": REDIRECT})
}

/// `oauth.token(form, authorization, dpop)` as `client` (as [`par`] authenticates) →
/// (body, response.status).
fn token(
    c: &mut Client,
    client: &TestClient,
    mut form: Value,
    proof: Option<&str>,
) -> (Value, String) {
    let authorization = client.secret.as_ref().map(|_| basic_header(client));
    if authorization.is_none() {
        form["client_id"] = json!(client.id);
    }
    status_of(
        c,
        "SELECT oauth.token($1, $2, $3)",
        &[&form, &authorization, &proof],
    )
}

fn stored_requests(c: &mut Client) -> Value {
    json(
        c,
        "SELECT to_jsonb(count(*)) FROM oauth.pushed_requests",
        &[],
    )
}

/// The pending request `aid` as stored: what consent and the code will carry.
fn pending_row(c: &mut Client, aid: &str) -> Value {
    json(
        c,
        "SELECT jsonb_build_object('redirect_uri', redirect_uri, 'scopes', scopes, 'state', state,
                'nonce', nonce, 'code_challenge', code_challenge, 'prompt', prompt,
                'client_id', client_id)
           FROM oauth.authorizations WHERE id = $1",
        &[&aid],
    )
}

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
fn the_server_may_require_pushed_requests_of_every_client() {
    let db = TestDb::new("par_required");
    let mut c = db.connect();
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(
        md["pushed_authorization_request_endpoint"],
        "http://localhost:8080/oauth/par"
    );
    assert_eq!(md["require_pushed_authorization_requests"], false);
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let public = create_client(&mut c, &[REDIRECT], "public");
    to_consent(&status_of(
        &mut c,
        "SELECT oauth.authorize($1)",
        &[&auth_params(&client, REDIRECT, "openid")],
    ));
    db.set("require_pushed_authorization_requests", "on");
    let mut c = db.connect();
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(md["require_pushed_authorization_requests"], true);
    for who in [&client, &public] {
        let answer = status_of(
            &mut c,
            "SELECT oauth.authorize($1)",
            &[&auth_params(who, REDIRECT, "openid")],
        );
        let why = refused_json(&answer, "invalid_request");
        assert!(
            why.contains("oauth_server.require_pushed_authorization_requests"),
            "{why}"
        );
    }
    assert_eq!(
        json(
            &mut c,
            "SELECT to_jsonb(count(*)) FROM oauth.authorizations",
            &[]
        ),
        1
    );
    // Pushed, the same request goes through, for either kind of client.
    for who in [&client, &public] {
        let uri = push(&mut c, who, auth_params(who, REDIRECT, "openid"));
        to_consent(&use_pushed(&mut c, &who.id, &uri, json!({})));
    }
}

#[test]
fn a_client_may_be_registered_to_require_pushed_requests() {
    let db = TestDb::new("par_client_required");
    let mut c = db.connect();
    let strict = create_client(&mut c, &[REDIRECT], "confidential");
    let lax = create_client(&mut c, &[REDIRECT], "confidential");
    update_client(
        &mut c,
        &strict,
        json!({"require_pushed_authorization_requests": true}),
    );
    let answer = status_of(
        &mut c,
        "SELECT oauth.authorize($1)",
        &[&auth_params(&strict, REDIRECT, "openid")],
    );
    let why = refused_json(&answer, "invalid_request");
    assert!(
        why.contains("require_pushed_authorization_requests"),
        "{why}"
    );
    // Only that client: the server's setting is off, the other client is unaffected.
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(md["require_pushed_authorization_requests"], false);
    to_consent(&status_of(
        &mut c,
        "SELECT oauth.authorize($1)",
        &[&auth_params(&lax, REDIRECT, "openid")],
    ));
    let uri = push(&mut c, &strict, request(&strict, "openid", "strict-state"));
    let aid = to_consent(&use_pushed(&mut c, &strict.id, &uri, json!({})));
    let callback = approve(&mut c, &aid, "u");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some("strict-state")
    );
    // Lifted, the plain request goes through again.
    update_client(
        &mut c,
        &strict,
        json!({"require_pushed_authorization_requests": false}),
    );
    to_consent(&status_of(
        &mut c,
        "SELECT oauth.authorize($1)",
        &[&auth_params(&strict, REDIRECT, "openid")],
    ));
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
fn a_dpop_proof_at_par_binds_the_code_to_its_key() {
    let db = TestDb::new("par_dpop");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let key = DpopKey::new();
    let uri = pushed(par(
        &mut c,
        &client,
        auth_params(&client, REDIRECT, "openid"),
        Some(&key.proof("POST", PAR_URL)),
    ));
    let kept = json(&mut c, "SELECT params FROM oauth.pushed_requests", &[]);
    assert_eq!(kept["dpop_jkt"], json!(key.jkt()), "{kept}");
    let aid = to_consent(&use_pushed(&mut c, &client.id, &uri, json!({})));
    let code = code_in(&approve(&mut c, &aid, "u"));
    // No proof (the client's secret is not the key), another key's: refused, code unspent.
    let (body, status) = token(&mut c, &client, code_form(&code), None);
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_dpop_proof"), "400"),
        "{body}"
    );
    let thief = DpopKey::new();
    let (body, status) = token(
        &mut c,
        &client,
        code_form(&code),
        Some(&thief.proof("POST", TOKEN_URL)),
    );
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_grant"), "400"),
        "{body}"
    );
    let (t, status) = token(
        &mut c,
        &client,
        code_form(&code),
        Some(&key.proof("POST", TOKEN_URL)),
    );
    assert_eq!(status, "", "{t}");
    assert_eq!(t["token_type"], "DPoP", "{t}");
    assert_eq!(access_token_claims(&t)["cnf"], json!({"jkt": key.jkt()}));
}

#[test]
fn a_dpop_proof_at_par_must_be_for_par_and_agree_with_dpop_jkt() {
    let db = TestDb::new("par_dpop_jkt");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let key = DpopKey::new();
    let with_jkt = |jkt: String| {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p["dpop_jkt"] = json!(jkt);
        p
    };
    let bad = [
        (
            "dpop_jkt of another key",
            with_jkt(DpopKey::new().jkt()),
            key.proof("POST", PAR_URL),
        ),
        (
            "a proof for the token endpoint",
            auth_params(&client, REDIRECT, "openid"),
            key.proof("POST", TOKEN_URL),
        ),
        (
            "a proof for GET",
            auth_params(&client, REDIRECT, "openid"),
            key.proof("GET", PAR_URL),
        ),
    ];
    for (what, form, proof) in bad {
        let (body, status) = par(&mut c, &client, form, Some(&proof));
        assert_eq!(
            (body["error"].as_str(), status.as_str()),
            (Some("invalid_dpop_proof"), "400"),
            "{what}: {body}"
        );
    }
    assert_eq!(stored_requests(&mut c), 0);
    // dpop_jkt of the proof's own key is taken; the same proof a second time is a replay.
    let proof = key.proof("POST", PAR_URL);
    pushed(par(&mut c, &client, with_jkt(key.jkt()), Some(&proof)));
    let (body, status) = par(&mut c, &client, with_jkt(key.jkt()), Some(&proof));
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_dpop_proof"), "400"),
        "replayed: {body}"
    );
    assert_eq!(stored_requests(&mut c), 1);
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

#[test]
fn with_dpop_nonce_on_a_proof_at_par_must_carry_the_servers_nonce() {
    let db = TestDb::new("par_dpop_nonce");
    db.set("dpop_nonce", "on");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let key = DpopKey::new();
    let authorization = Some(basic_header(&client));
    let params = auth_params(&client, REDIRECT, "openid");
    let call = |c: &mut Client, proof: &str| -> (Value, String, Option<String>) {
        let mut tx = c.transaction().unwrap();
        let row = tx
            .query_one(
                "SELECT oauth.par($1, $2, $3), coalesce(current_setting('response.status', true), ''),
                        (SELECT h->>'DPoP-Nonce' FROM jsonb_array_elements(
                            nullif(current_setting('response.headers', true), '')::jsonb) h
                          WHERE h ? 'DPoP-Nonce')",
                &[&params, &authorization, &proof],
            )
            .unwrap();
        tx.commit().unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    let (body, status, nonce) = call(&mut c, &key.proof("POST", PAR_URL));
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("use_dpop_nonce"), "400"),
        "{body}"
    );
    let nonce = nonce.unwrap_or_else(|| panic!("no DPoP-Nonce header with {body}"));
    assert_eq!(stored_requests(&mut c), 0);
    let proof = key.proof_with(
        json!({}),
        json!({"htm": "POST", "htu": PAR_URL, "nonce": nonce}),
    );
    let (body, status, _) = call(&mut c, &proof);
    let uri = pushed((body, status));
    let kept = json(&mut c, "SELECT params FROM oauth.pushed_requests", &[]);
    assert_eq!(kept["dpop_jkt"], json!(key.jkt()), "{kept}");
    to_consent(&use_pushed(&mut c, &client.id, &uri, json!({})));
}
