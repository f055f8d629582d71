//! Issue 28, item 9: upstream sign-in decides on what the provider actually said. A provider
//! that does not say when the user authenticated gives a session of unknown age (never fresh
//! for prompt=login / max_age), and is always asked to say it; a callback names its issuer
//! (RFC 9207) exactly, and must when the provider says it always does; unlinking an identity
//! ends the sessions signed in through it.

use oauth_server_e2e::stand_in::{now, StandInIssuer};
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const OP: &str = "https://op.example";

fn add_oidc(c: &mut Client, name: &str, op: &StandInIssuer, extra_discovery: Value) {
    json(
        c,
        "SELECT oauth.add_sign_in_provider($1, $2)",
        &[
            &name,
            &json!({"kind": "oidc", "issuer": op.issuer, "client_id": "rp-1", "client_secret": "s3cret-value"}),
        ],
    );
    let mut discovery = json!({"issuer": op.issuer, "authorization_endpoint": format!("{}/authorize", op.issuer),
        "token_endpoint": format!("{}/token", op.issuer), "jwks_uri": format!("{}/jwks", op.issuer)});
    for (k, v) in extra_discovery.as_object().unwrap() {
        discovery[k] = v.clone();
    }
    json(
        c,
        "SELECT oauth.set_sign_in_provider_metadata($1, $2, $3)",
        &[&name, &discovery, &op.jwks()],
    );
}

struct Flow {
    aid: String,
    state: String,
    nonce: String,
    binding: String,
    upstream: String,
}

fn start(c: &mut Client, provider: &str, params: &Value) -> Flow {
    let aid = pending(c, params);
    let r = json(c, "SELECT oauth.begin_sign_in($1, $2)", &[&provider, &aid]);
    let upstream = r["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    Flow {
        aid,
        state: query_param(&upstream, "state").unwrap(),
        nonce: query_param(&upstream, "nonce").unwrap_or_default(),
        binding: r["browser_binding"].as_str().unwrap().to_string(),
        upstream,
    }
}

fn token_request(c: &mut Client, provider: &str, f: &Flow, iss: Option<&str>) -> Value {
    json(
        c,
        "SELECT oauth.sign_in_token_request($1, $2, $3, 'the-code', NULL, NULL, $4)",
        &[&provider, &f.state, &f.binding, &iss],
    )
}

/// Finishes `f` with an ID token of `claims` (defaults filled in): finish_sign_in's answer.
fn finish(c: &mut Client, provider: &str, op: &StandInIssuer, f: &Flow, claims: Value) -> Value {
    let mut full = json!({"aud": "rp-1", "sub": "op-user-1", "nonce": f.nonce, "iat": now(), "exp": now() + 300});
    for (k, v) in claims.as_object().unwrap() {
        full[k] = v.clone();
    }
    let answer = json!({"token": {"status": 200, "body": {"access_token": "at", "token_type": "Bearer", "id_token": op.token(full)}}});
    json(
        c,
        "SELECT oauth.finish_sign_in($1, $2, $3, $4)",
        &[&provider, &f.state, &f.binding, &answer],
    )
}

fn sign_in(
    c: &mut Client,
    provider: &str,
    op: &StandInIssuer,
    params: &Value,
    claims: Value,
) -> (Flow, String) {
    let f = start(c, provider, params);
    let t = token_request(c, provider, &f, Some(OP));
    assert!(t.get("token_request").is_some(), "{t}");
    let done = finish(c, provider, op, &f, claims);
    let token = done["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{done}"))
        .to_string();
    (f, token)
}

#[test]
fn a_provider_that_does_not_say_auth_time_gives_a_session_of_unknown_age() {
    let db = TestDb::new("upage");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let plain = auth_params(&client, REDIRECT, "openid");
    // auth_time is always asked for (OIDC Core: max_age makes it REQUIRED), without forcing
    // a new sign-in.
    let f = start(&mut c, "op", &plain);
    assert_eq!(
        query_param(&f.upstream, "max_age").as_deref(),
        Some("31536000")
    );
    assert_eq!(query_param(&f.upstream, "prompt"), None);
    for (name, value) in [("prompt", "login"), ("max_age", "0")] {
        let mut p = plain.clone();
        p[name] = json!(value);
        // The provider signs the user in silently and says nothing of when (before: the
        // session's time was taken as now, and the request was answered as fresh).
        let (f, session) = sign_in(&mut c, "op", &op, &p, json!({}));
        assert!(
            jwt_parts(&session).1.get("auth_time").is_none(),
            "{name}: the session must not claim a sign-in time nobody gave"
        );
        let (d, status) = status_of(
            &mut c,
            "SELECT oauth.authorization($1, $2)",
            &[&f.aid, &session],
        );
        assert_eq!(
            (d["error"].as_str(), status.as_str()),
            (Some("login_required"), "401"),
            "{name}: {d}"
        );
        // A provider that says the user authenticated just now answers it.
        let (f, session) = sign_in(&mut c, "op", &op, &p, json!({"auth_time": now()}));
        // (whole seconds: a sign-in in the request's own second counts as before it)
        c.execute(
            "UPDATE oauth.authorizations SET created_at = created_at - interval '2 seconds' WHERE id = $1",
            &[&f.aid],
        )
        .unwrap();
        let d = json(
            &mut c,
            "SELECT oauth.consent($1, true, $2)",
            &[&f.aid, &session],
        );
        assert!(
            d["redirect_to"]
                .as_str()
                .unwrap_or_default()
                .contains("code="),
            "{name}: {d}"
        );
        // One that says the user authenticated an hour ago does not.
        let (f, session) = sign_in(&mut c, "op", &op, &p, json!({"auth_time": now() - 3600}));
        let d = json(
            &mut c,
            "SELECT oauth.authorization($1, $2)",
            &[&f.aid, &session],
        );
        assert_eq!(d["error"], "login_required", "{name}: {d}");
    }
    // A sign-in time far in the future is no evidence either.
    let mut p = plain.clone();
    p["max_age"] = json!("60");
    let (f, session) = sign_in(&mut c, "op", &op, &p, json!({"auth_time": now() + 3600}));
    assert!(jwt_parts(&session).1.get("auth_time").is_none());
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&f.aid, &session],
    );
    assert_eq!(d["error"], "login_required", "{d}");
    // Without freshness demands the session of unknown age still answers.
    let (f, session) = sign_in(&mut c, "op", &op, &plain, json!({}));
    let d = json(
        &mut c,
        "SELECT oauth.consent($1, true, $2)",
        &[&f.aid, &session],
    );
    assert!(d["redirect_to"].as_str().unwrap().contains("code="), "{d}");
}

#[test]
fn a_callback_names_the_providers_issuer_exactly_and_must_when_it_says_it_does() {
    let db = TestDb::new("upiss");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let p = auth_params(&client, REDIRECT, "openid");
    // Another issuer, or another spelling of this one: refused before the code is used, and
    // the attempt is spent (before: the iss was not even passed to the database).
    for wrong in [
        "https://evil.example",
        "https://op.example/",
        "https://OP.example",
    ] {
        let f = start(&mut c, "op", &p);
        let r = token_request(&mut c, "op", &f, Some(wrong));
        assert_eq!(r["error"], "invalid_request", "{wrong}: {r}");
        assert!(r.get("token_request").is_none(), "{r}");
        assert!(
            r["error_description"]
                .as_str()
                .unwrap()
                .contains("RFC 9207"),
            "{r}"
        );
        let again = token_request(&mut c, "op", &f, Some(OP));
        assert!(again.get("token_request").is_none(), "spent: {again}");
    }
    let refusals: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.audit_log WHERE event = 'sign_in_refused' AND details->>'reason' LIKE '%RFC 9207%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(refusals, 3);
    // Absent: accepted while the provider does not say it always sends one.
    let f = start(&mut c, "op", &p);
    assert!(token_request(&mut c, "op", &f, None)
        .get("token_request")
        .is_some());
    // A provider whose discovery says it always names itself: a callback without iss is not
    // its own.
    add_oidc(
        &mut c,
        "op2",
        &op,
        json!({"authorization_response_iss_parameter_supported": true}),
    );
    let f = start(&mut c, "op2", &p);
    let r = token_request(&mut c, "op2", &f, None);
    assert_eq!(r["error"], "invalid_request", "{r}");
    let f = start(&mut c, "op2", &p);
    let r = token_request(&mut c, "op2", &f, Some(OP));
    assert!(r.get("token_request").is_some(), "{r}");
    // An error response naming another issuer is refused too (not sent back as the
    // provider's word).
    let f = start(&mut c, "op", &p);
    let r = json(
        &mut c,
        "SELECT oauth.sign_in_token_request('op', $1, $2, NULL, 'access_denied', NULL, 'https://evil.example')",
        &[&f.state, &f.binding],
    );
    assert_eq!(r["error"], "invalid_request", "{r}");
}

#[test]
fn unlinking_an_identity_ends_the_sessions_signed_in_through_it() {
    let db = TestDb::new("upunlink");
    db.set("link_verified_email", "on");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    let op2 = StandInIssuer::new("https://other-op.example");
    add_oidc(&mut c, "op", &op, json!({}));
    add_oidc(&mut c, "op2", &op2, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let p = auth_params(&client, REDIRECT, "openid");
    let email = json!({"email": "ada@example.com", "email_verified": true});
    let (_, through_op) = sign_in(&mut c, "op", &op, &p, email.clone());
    let (_, also_op) = sign_in(&mut c, "op", &op, &p, email.clone());
    // op2's sign-in links to the same user by the verified email.
    let f = start(&mut c, "op2", &p);
    let t = token_request(&mut c, "op2", &f, Some("https://other-op.example"));
    assert!(t.get("token_request").is_some(), "{t}");
    let done = finish(&mut c, "op2", &op2, &f, email);
    let through_op2 = done["session_token"].as_str().unwrap().to_string();
    let sub = done["sub"].as_str().unwrap().to_string();
    assert_eq!(jwt_parts(&through_op).1["sub"], sub.as_str());
    // A session minted otherwise names no identity.
    let minted: String = c
        .query_one("SELECT oauth.issue_session_token($1)", &[&sub])
        .unwrap()
        .get(0);

    let left = json(
        &mut c,
        "SELECT oauth.unlink_identity('op', 'op-user-1', $1)",
        &[&through_op2],
    );
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left}");
    // Both sessions signed in through op's identity end (before: they went on working).
    for s in [&through_op, &also_op] {
        let e = c
            .query_one("SELECT oauth.verify_session($1)", &[s])
            .unwrap_err();
        assert_eq!(e.code().unwrap().code(), "28000", "{e}");
        let aid = pending(&mut c, &p);
        let (d, status) = status_of(&mut c, "SELECT oauth.authorization($1, $2)", &[&aid, s]);
        assert_eq!(status, "401", "{d}");
    }
    // The others go on.
    for s in [&through_op2, &minted] {
        json(&mut c, "SELECT oauth.verify_session($1)", &[s]);
    }
    let ended: Value = c
        .query_one(
            "SELECT details FROM oauth.audit_log WHERE event = 'identity_unlinked'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(ended["sessions_ended"], 2, "{ended}");
    let reasons: Vec<Option<String>> = c
        .query(
            "SELECT end_reason FROM oauth.sessions WHERE user_id = $1 AND provider = 'op'",
            &[&sub],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(reasons, vec![Some("identity unlinked".to_string()); 2]);
}

/// Issue 28, item 7 for upstream providers: the issuer a provider names — in its discovery
/// document (OIDC Discovery §4.3, RFC 8414 §3.3), its ID tokens (OIDC Core §3.1.3.7) and its
/// callbacks (RFC 9207) — is the configured one exactly. Before, trailing slashes were trimmed
/// from the configured issuer and on both sides of the discovery and ID token comparisons, so
/// another spelling passed, and an issuer that really ends with `/` (Auth0's) was stored
/// without it.
#[test]
fn a_providers_issuer_is_the_configured_one_exactly() {
    let db = TestDb::new("upiss");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let params = auth_params(&client, REDIRECT, "openid");

    // A discovery document naming the issuer with a trailing slash is another issuer's.
    let slashed = format!("{OP}/");
    let doc = json!({"issuer": slashed, "authorization_endpoint": format!("{OP}/authorize"),
        "token_endpoint": format!("{OP}/token"), "jwks_uri": format!("{OP}/jwks")});
    let e = c
        .query_one(
            "SELECT oauth.set_sign_in_provider_metadata('op', $1, $2)",
            &[&doc, &op.jwks()],
        )
        .unwrap_err();
    let msg = e.as_db_error().unwrap().message().to_string();
    assert!(msg.contains("names issuer"), "{msg}");

    // So is an ID token naming it so, signed with the provider's own key.
    let f = start(&mut c, "op", &params);
    token_request(&mut c, "op", &f, Some(OP));
    let r = finish(&mut c, "op", &op, &f, json!({ "iss": slashed }));
    assert_eq!(r["error"], "access_denied", "{r}");
    assert!(
        r["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("issued by"),
        "{r}"
    );

    // An issuer configured with its trailing slash is kept as given, and is that issuer only.
    let auth0 = StandInIssuer::new("https://tenant.auth0.example/");
    add_oidc(&mut c, "auth0", &auth0, json!({}));
    let listed = json(&mut c, "SELECT oauth.sign_in_providers()", &[]);
    let shown = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "auth0")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(shown["options"]["issuer"], auth0.issuer, "{shown}");
    let f = start(&mut c, "auth0", &params);
    let t = token_request(&mut c, "auth0", &f, Some(&auth0.issuer));
    assert!(t.get("token_request").is_some(), "{t}");
    let done = finish(&mut c, "auth0", &auth0, &f, json!({}));
    assert!(done["session_token"].is_string(), "{done}");
    let recorded: String = c
        .query_one(
            "SELECT issuer FROM oauth.identities WHERE provider = 'auth0'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(recorded, auth0.issuer);
    let f = start(&mut c, "auth0", &params);
    token_request(&mut c, "auth0", &f, Some(&auth0.issuer));
    let bare = auth0.issuer.trim_end_matches('/');
    let r = finish(&mut c, "auth0", &auth0, &f, json!({ "iss": bare }));
    assert_eq!(r["error"], "access_denied", "{r}");
}

/// An identity gone by another path than unlinking — a direct DELETE, its provider removed, a
/// row re-pointed — ends the sessions signed in through it, as unlinking does; TRUNCATE of the
/// identities (which fires no row trigger) is refused while there are any.
#[test]
fn an_identity_removed_by_any_path_ends_the_sessions_signed_in_through_it() {
    let db = TestDb::new("upidgone");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    let op2 = StandInIssuer::new("https://other-op.example");
    add_oidc(&mut c, "op", &op, json!({}));
    add_oidc(&mut c, "op2", &op2, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let p = auth_params(&client, REDIRECT, "openid");
    let live = |c: &mut Client, s: &str| {
        c.query_one("SELECT oauth.verify_session($1)", &[&s])
            .is_ok()
    };

    let (_, deleted) = sign_in(&mut c, "op", &op, &p, json!({"sub": "u-deleted"}));
    let (_, repointed) = sign_in(&mut c, "op", &op, &p, json!({"sub": "u-repointed"}));
    let (_, kept) = sign_in(&mut c, "op", &op, &p, json!({"sub": "u-kept"}));
    let f = start(&mut c, "op2", &p);
    token_request(&mut c, "op2", &f, Some("https://other-op.example"));
    let done = finish(&mut c, "op2", &op2, &f, json!({"sub": "u-op2"}));
    let through_op2 = done["session_token"].as_str().unwrap().to_string();
    for s in [&deleted, &repointed, &kept, &through_op2] {
        assert!(live(&mut c, s));
    }

    let e = c.batch_execute("TRUNCATE oauth.identities").unwrap_err();
    assert_eq!(e.code().unwrap().code(), "55000", "{e}");
    assert!(live(&mut c, &kept));

    c.batch_execute("DELETE FROM oauth.identities WHERE subject = 'u-deleted'")
        .unwrap();
    c.batch_execute(
        "UPDATE oauth.identities SET subject = 'someone-else' WHERE subject = 'u-repointed'",
    )
    .unwrap();
    assert!(!live(&mut c, &deleted), "a deleted identity's session");
    assert!(!live(&mut c, &repointed), "a re-pointed identity's session");
    assert!(live(&mut c, &kept));
    // A provider removed takes its identities, and their sessions, with it; another's stay.
    c.batch_execute("SELECT oauth.remove_sign_in_provider('op')")
        .unwrap();
    assert!(!live(&mut c, &kept), "a removed provider's session");
    assert!(live(&mut c, &through_op2));
    let reasons: Vec<String> = c
        .query(
            "SELECT DISTINCT end_reason FROM oauth.sessions WHERE provider = 'op'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(reasons, vec!["identity removed".to_string()]);
}
