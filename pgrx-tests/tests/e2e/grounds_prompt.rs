//! Issue 28, item 8: who may answer a request and how fresh their sign-in must be are
//! decided on the request's own terms (OIDC Core §3.1.2.1): an `id_token_hint` names the only
//! user whose session may answer it, and `prompt=login` / `max_age` count a sign-in of ours
//! as fresh only after the request was made, with no clock-skew allowance for our own clock.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

fn session(c: &mut Client, sub: &str, claims: Value) -> String {
    c.query_one("SELECT oauth.issue_session_token($1, $2)", &[&sub, &claims])
        .unwrap()
        .get(0)
}

fn now(c: &mut Client) -> i64 {
    c.query_one("SELECT floor(extract(epoch FROM now()))::bigint", &[])
        .unwrap()
        .get(0)
}

/// An ID token `client` holds for `sub`.
fn id_token(c: &mut Client, client: &TestClient, sub: &str) -> String {
    let t = tokens(c, client, "openid", sub);
    t["id_token"].as_str().unwrap().to_string()
}

/// The error the client is redirected with.
fn client_error(answer: &Value) -> Option<String> {
    let to = answer["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("no redirect: {answer}"));
    assert!(to.starts_with(REDIRECT), "{to}");
    query_param(to, "error")
}

#[test]
fn an_id_token_hint_names_the_only_user_who_may_answer() {
    let db = TestDb::new("hint");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let alice_hint = id_token(&mut c, &client, "alice");
    let alice = session(&mut c, "alice", json!({}));
    let bob = session(&mut c, "bob", json!({}));

    // prompt=none for alice, while the page's session is bob's: login_required to the
    // client, never a code for bob (before: a code for bob).
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["prompt"] = json!("none");
    p["id_token_hint"] = json!(alice_hint);
    let aid = pending(&mut c, &p);
    let d = json(&mut c, "SELECT oauth.authorization($1, $2)", &[&aid, &bob]);
    assert_eq!(client_error(&d).as_deref(), Some("login_required"), "{d}");
    // The same through request.jwt.claims, and at the consent step.
    let aid = pending(&mut c, &p);
    let d = call_as(&mut c, &user("bob"), "SELECT oauth.authorization($1)", &aid);
    assert_eq!(client_error(&d).as_deref(), Some("login_required"));
    let aid = pending(&mut c, &p);
    let d = json(&mut c, "SELECT oauth.consent($1, true, $2)", &[&aid, &bob]);
    assert_eq!(client_error(&d).as_deref(), Some("login_required"));

    // Without prompt=none the consent page is told (401) and signs the right user in; bob
    // has not claimed the request, so alice's session still answers it.
    p.as_object_mut().unwrap().remove("prompt");
    let aid = pending(&mut c, &p);
    let (d, status) = status_of(&mut c, "SELECT oauth.authorization($1, $2)", &[&aid, &bob]);
    assert_eq!(
        (d["error"].as_str(), status.as_str()),
        (Some("login_required"), "401"),
        "{d}"
    );
    let (d, status) = status_of(&mut c, "SELECT oauth.consent($1, true, $2)", &[&aid, &bob]);
    assert_eq!(
        (d["error"].as_str(), status.as_str()),
        (Some("login_required"), "401")
    );
    let d = json(
        &mut c,
        "SELECT oauth.consent($1, true, $2)",
        &[&aid, &alice],
    );
    let code =
        query_param(d["redirect_to"].as_str().unwrap(), "code").unwrap_or_else(|| panic!("{d}"));
    let t = exchange(&mut c, &client, &code, REDIRECT);
    assert_eq!(jwt_parts(t["id_token"].as_str().unwrap()).1["sub"], "alice");
    // prompt=none for the hinted user goes through as before (alice consented above).
    p["prompt"] = json!("none");
    let aid = pending(&mut c, &p);
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &alice],
    );
    assert!(d["redirect_to"].as_str().unwrap().contains("code="), "{d}");
}

#[test]
fn a_hint_that_is_not_this_clients_id_token_is_invalid_request() {
    let db = TestDb::new("hintbad");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let other = create_client(&mut c, &[REDIRECT], "confidential");
    let others_hint = id_token(&mut c, &other, "alice");
    let t = tokens(&mut c, &client, "openid", "alice");
    let access_token = t["access_token"].as_str().unwrap().to_string();
    let session_token = session(&mut c, "alice", json!({}));
    let own = t["id_token"].as_str().unwrap().to_string();
    // Another issuer's token, or ours re-signed by someone else.
    let (h, claims) = jwt_parts(&own);
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let mut forged_claims = claims.clone();
    forged_claims["sub"] = json!("mallory");
    let sig = own.rsplit('.').next().unwrap();
    let forged = format!("{}.{}.{sig}", b64(&h), b64(&forged_claims));
    for (hint, why) in [
        (others_hint.as_str(), "another client's ID token"),
        (access_token.as_str(), "an access token"),
        (session_token.as_str(), "a session token"),
        (forged.as_str(), "a forged ID token"),
        ("not-a-jwt", "garbage"),
        // (An empty id_token_hint is an omitted one: RFC 6749 §3.1.)
    ] {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p["id_token_hint"] = json!(hint);
        p["prompt"] = json!("none");
        let r = authorize(&mut c, &p);
        assert_eq!(
            client_error(&r).as_deref(),
            Some("invalid_request"),
            "{why}: {r}"
        );
    }
}

#[test]
fn an_expired_id_token_of_the_client_is_still_a_hint() {
    // OIDC Core §3.1.2.1 allows it: the hint grants nothing, it only narrows who may answer,
    // and a client comes back with prompt=none exactly when its ID token is old.
    let db = TestDb::new("hintexp");
    db.set("access_token_lifetime", "30");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let short = id_token(&mut c, &client, "alice");
    let exp = jwt_parts(&short).1["exp"].as_i64().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(32));
    assert!(now(&mut c) > exp, "the ID token has expired");
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["id_token_hint"] = json!(short);
    let aid = pending(&mut c, &p);
    let bob = session(&mut c, "bob", json!({}));
    let (d, status) = status_of(&mut c, "SELECT oauth.authorization($1, $2)", &[&aid, &bob]);
    assert_eq!(
        (d["error"].as_str(), status.as_str()),
        (Some("login_required"), "401")
    );
}

/// A pending request for `p` made `secs` seconds ago (its `created_at` moved back), so that a
/// sign-in can be placed strictly between the request and now without sleeping.
fn request_made_ago(c: &mut Client, p: &Value, secs: i32) -> String {
    let aid = pending(c, p);
    c.execute(
        "UPDATE oauth.authorizations SET created_at = created_at - make_interval(secs => $2) WHERE id = $1",
        &[&aid, &(secs as f64)],
    )
    .unwrap();
    aid
}

#[test]
fn prompt_login_and_max_age_0_need_our_sign_in_after_the_request_with_no_skew() {
    let db = TestDb::new("freshours");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    get_code(&mut c, &client, REDIRECT, "openid", "alice");
    for (name, value) in [("prompt", "login"), ("max_age", "0")] {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p[name] = json!(value);
        // Signed in 5 s before the request: within the 30 s clock-skew allowance, which is for
        // other issuers' clocks, not ours (before: accepted).
        let aid = pending(&mut c, &p);
        let t = now(&mut c);
        let before = session(&mut c, "alice", json!({"auth_time": t - 5}));
        let (d, status) = status_of(
            &mut c,
            "SELECT oauth.authorization($1, $2)",
            &[&aid, &before],
        );
        assert_eq!(
            (d["error"].as_str(), status.as_str()),
            (Some("login_required"), "401"),
            "{name}: {d}"
        );
        // The same claims through request.jwt.claims (as PostgREST passes our session).
        let sid_claims = jwt_parts(&before).1;
        let d = call_as(&mut c, &sid_claims, "SELECT oauth.authorization($1)", &aid);
        assert_eq!(d["error"], "login_required", "{name}: {d}");
        // With prompt=none, the client is told.
        let mut silent = p.clone();
        if name == "max_age" {
            silent["prompt"] = json!("none");
            let aid = pending(&mut c, &silent);
            let d = json(
                &mut c,
                "SELECT oauth.authorization($1, $2)",
                &[&aid, &before],
            );
            assert_eq!(client_error(&d).as_deref(), Some("login_required"));
        }
        // A sign-in after the request answers it, and the ID token says when.
        let aid = request_made_ago(&mut c, &p, 3);
        let t = now(&mut c);
        let after = session(&mut c, "alice", json!({}));
        let d = json(
            &mut c,
            "SELECT oauth.consent($1, true, $2)",
            &[&aid, &after],
        );
        let code = query_param(
            d["redirect_to"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {d}")),
            "code",
        )
        .unwrap_or_else(|| panic!("{name}: {d}"));
        let tok = exchange(&mut c, &client, &code, REDIRECT);
        let auth_time = jwt_parts(tok["id_token"].as_str().unwrap()).1["auth_time"].as_i64();
        assert!(
            auth_time.is_some_and(|a| (t..=t + 1).contains(&a)),
            "{name}: {tok}"
        );
    }
    // A session of ours that does not say when the user signed in is of unknown age: its iat
    // (when we minted it) is not a sign-in.
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["max_age"] = json!("3600");
    let aid = pending(&mut c, &p);
    let unknown = session(&mut c, "alice", json!({"auth_time": null}));
    assert!(jwt_parts(&unknown).1.get("auth_time").is_none());
    let (d, status) = status_of(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &unknown],
    );
    assert_eq!(
        (d["error"].as_str(), status.as_str()),
        (Some("login_required"), "401"),
        "{d}"
    );
    // Nor is an amr timestamp in our own session's claims (PostgREST passes them as signed).
    let mut claims = jwt_parts(&unknown).1;
    claims.as_object_mut().unwrap().remove("auth_time");
    claims["amr"] = json!([{"method": "password", "timestamp": now(&mut c)}]);
    let d = call_as(&mut c, &claims, "SELECT oauth.authorization($1)", &aid);
    assert_eq!(d["error"], "login_required", "{d}");
    // Without freshness demands, a session of unknown age still answers.
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &unknown],
    );
    assert!(
        d["redirect_to"]
            .as_str()
            .unwrap_or_default()
            .contains("code="),
        "{d}"
    );
}
