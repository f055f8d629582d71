//! Every way a token is refused at sign-in, each against a token that signs in when nothing is
//! wrong with it (so the refusal is the rule's, not an accident of the setup).

use super::harness::*;
use oauth_server_e2e::stand_in::StandInIssuer;
use oauth_server_e2e::{json, jwt_parts, status_of};
use serde_json::{json, Value};

#[test]
fn tokens_of_another_kind_issuer_or_time_are_refused() {
    let mut c = admin("app");
    let (sub, tokens) = signed_in_user(&mut c, "kinds");
    let access = tokens["access_token"].as_str().unwrap();
    app_user(access).expect("the access token itself signs in");
    let (header, claims) = jwt_parts(access);
    // Expired (past the clock skew), with our key and every other claim right.
    let mut expired = claims.clone();
    expired["exp"] = json!(claims["iat"].as_i64().unwrap() - 120);
    assert_refused(
        app_user(&signed_by_us(&mut c, header.clone(), &expired)),
        "expired",
    );
    // The same claims re-signed by us still sign in: the forging above is sound.
    app_user(&signed_by_us(&mut c, header.clone(), &claims)).expect("re-signed by us");
    // Our ID token and a session token of ours for the same user.
    assert_refused(app_user(tokens["id_token"].as_str().unwrap()), "ID token");
    let (session, _) = our_session(&mut c, &sub);
    assert_refused(app_user(&session), "session token");
    // The refresh token is no JWT at all.
    assert_refused(
        app_user(tokens["refresh_token"].as_str().unwrap()),
        "refresh token",
    );
    // The access token's claims and header signed by another issuer's key, with our issuer.
    let foreign = StandInIssuer::new(claims["iss"].as_str().unwrap());
    assert_refused(app_user(&foreign.sign(&header, &claims)), "foreign key");
    let mut theirs = claims.clone();
    theirs["iss"] = json!("https://idp.example");
    let idp = StandInIssuer::new("https://idp.example");
    assert_refused(app_user(&idp.sign(&header, &theirs)), "another issuer");
    // alg confusion and no signature.
    assert_refused(app_user(&foreign.hs256_forgery(&claims)), "HS256");
    assert_refused(app_user(&foreign.unsigned(&claims)), "alg none");
}

#[test]
fn a_token_for_another_audience_database_or_scope_is_refused() {
    let mut c = admin("app");
    let (_, claims) = our_session(&mut c, &fresh_user("aud"));
    let client = allowed_client();
    // A token for the other database, presented to app; and one for app, presented to other.
    let for_other = device_tokens(&mut c, &client, &claims, json!({"resource": OTHER}));
    let for_other = for_other["access_token"].as_str().unwrap();
    assert_eq!(jwt_parts(for_other).1["aud"], OTHER);
    assert_refused(app_user(for_other), "a token for another database");
    sign_in("other", "app_user", for_other).expect("where it is for, it signs in");
    let for_app = device_tokens(&mut c, &client, &claims, json!({}));
    let for_app = for_app["access_token"].as_str().unwrap();
    assert_refused(
        sign_in("other", "app_user", for_app),
        "the app's token at other",
    );
    // An API's audience, not a database's.
    c.query_one(
        "SELECT oauth.add_resource('http://127.0.0.1/api', 'An API', NULL)",
        &[],
    )
    .ok();
    let for_api = device_tokens(
        &mut c,
        &client,
        &claims,
        json!({"resource": "http://127.0.0.1/api", "scope": "openid db:login"}),
    );
    assert_refused(
        app_user(for_api["access_token"].as_str().unwrap()),
        "an API's token",
    );
    // Without the scope the pg_hba.conf line asks for.
    let no_scope = device_tokens(&mut c, &client, &claims, json!({"scope": "openid"}));
    assert_refused(
        app_user(no_scope["access_token"].as_str().unwrap()),
        "without db:login",
    );
}

#[test]
fn a_client_not_named_in_db_login_clients_is_refused() {
    let mut c = admin("app");
    let other: Value = json(
        &mut c,
        "SELECT oauth.create_client('Not psql', ARRAY[]::text[], 'public',
            grant_types => ARRAY['urn:ietf:params:oauth:grant-type:device_code'])",
        &[],
    );
    let other = other["client_id"].as_str().unwrap();
    let (_, claims) = our_session(&mut c, &fresh_user("client"));
    let tokens = device_tokens(&mut c, other, &claims, json!({"resource": APP}));
    assert_eq!(
        jwt_parts(tokens["access_token"].as_str().unwrap()).1["aud"],
        APP
    );
    assert_refused(
        app_user(tokens["access_token"].as_str().unwrap()),
        "a client not allowed",
    );
}

#[test]
fn revoking_the_family_or_ending_the_session_refuses_new_connections() {
    let mut c = admin("app");
    let client = allowed_client();
    // Revoked by the client (RFC 7009, the refresh token), as `psql` users would.
    let (_, tokens) = signed_in_user(&mut c, "revoked");
    let token = tokens["access_token"].as_str().unwrap();
    app_user(token).expect("signs in");
    let (body, status) = status_of(
        &mut c,
        "SELECT oauth.revoke($1, NULL)",
        &[&json!({"token": tokens["refresh_token"], "client_id": client})],
    );
    assert!(
        body.get("error").is_none() && status.is_empty(),
        "{status} {body}"
    );
    let took = refused_within(token, "revoked family");
    eprintln!("a revoked family refused after {took:?}");
    // The session of ours that approved it ended (signed out), the family itself untouched.
    let sub = fresh_user("ended");
    let (session, claims) = our_session(&mut c, &sub);
    let tokens = device_tokens(&mut c, &client, &claims, json!({}));
    let token = tokens["access_token"].as_str().unwrap();
    app_user(token).expect("signs in");
    json(&mut c, "SELECT oauth.sign_out($1)", &[&session]);
    let took = refused_within(token, "ended session");
    eprintln!("an ended session's token refused after {took:?}");
    // A resource taken from the family (removed from the server) ends its sign-ins there.
    let (_, claims) = our_session(&mut c, &fresh_user("resource"));
    let tokens = device_tokens(&mut c, &client, &claims, json!({"resource": OTHER}));
    let token = tokens["access_token"].as_str().unwrap();
    sign_in("other", "app_user", token).expect("signs in");
    c.query_one("SELECT oauth.remove_resource($1)", &[&OTHER])
        .unwrap();
    refused_within_at("other", token, "resource removed");
    c.query_one(
        "SELECT oauth.add_resource($1, 'Another database', ARRAY['db:login'])",
        &[&OTHER],
    )
    .unwrap();
    // Registering it again brings none of that back.
    assert_refused(
        sign_in("other", "app_user", token),
        "resource registered again",
    );
}

#[test]
fn a_token_signed_by_a_key_since_dropped_is_refused() {
    let mut c = admin("app");
    let (_, tokens) = signed_in_user(&mut c, "rotated");
    let token = tokens["access_token"].as_str().unwrap();
    app_user(token).expect("signs in");
    // One rotation keeps the key as previous: still accepted.
    c.query_one("SELECT oauth.rotate_signing_key()", &[])
        .unwrap();
    app_user(token).expect("the previous key still verifies");
    // A second drops it.
    c.query_one("SELECT oauth.rotate_signing_key()", &[])
        .unwrap();
    refused_within(token, "key dropped");
}

#[test]
fn delegating_the_role_mapping_to_this_validator_is_refused() {
    // pg_hba.conf sends database `delegated` to a line with delegate_ident_mapping=1: the
    // validator would then decide which role a token may be, which it does not do; it refuses
    // rather than let any valid token in as any role (postgres among them).
    let mut c = admin("app");
    let (_, claims) = our_session(&mut c, &fresh_user("delegated"));
    c.query_one(
        "SELECT oauth.add_resource('postgres://127.0.0.1/delegated', 'Delegated', ARRAY['db:login'])",
        &[],
    )
    .ok();
    let tokens = device_tokens(
        &mut c,
        &allowed_client(),
        &claims,
        json!({"resource": "postgres://127.0.0.1/delegated"}),
    );
    let token = tokens["access_token"].as_str().unwrap();
    assert_refused(
        sign_in("delegated", "postgres", token),
        "delegated, as postgres",
    );
    assert_refused(
        sign_in("delegated", "app_user", token),
        "delegated, as app_user",
    );
}
