//! Decisions approved through a trusted issuer's session, after that issuer is disabled or
//! removed (docs/security.md#decisions-that-outlive-their-grounds): the family, the approved
//! code and the approved device request recorded the issuer (`user_claims->>'iss'`), and
//! every use re-checks it — refresh, redemption, access-token verification, userinfo and
//! introspection. Ours and none recorded always stand; enabling the issuer again restores
//! what it approved. Also: a user whose `sub` equals a client_id is still a user to `verify`,
//! introspecting a refresh token answers what the next refresh would grant, and
//! `oauth.revoke_user` running while a code is redeemed leaves no working family.

use oauth_server_e2e::stand_in::StandInIssuer;
use oauth_server_e2e::trusted::*;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const API: &str = "https://api.example/";

fn rt(t: &Value) -> &str {
    t["refresh_token"].as_str().unwrap()
}

fn at(t: &Value) -> &str {
    t["access_token"].as_str().unwrap()
}

/// Everything a family approved through `issuer`'s session is refused: refresh, verify,
/// userinfo, introspection of both tokens.
fn assert_family_refused(c: &mut Client, client: &TestClient, t: &Value, issuer: &str) {
    let r = peek_refresh_grant(c, client, rt(t));
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let why = r["error_description"].as_str().unwrap();
    assert!(
        why.contains(issuer) && why.contains("no longer trusted"),
        "{why}"
    );
    assert_eq!(verify_sqlstate(c, at(t)), "28000");
    let u = json(c, "SELECT oauth.userinfo($1)", &[&at(t)]);
    assert_eq!(u["error"], "invalid_token", "{u}");
    assert_eq!(introspect(c, client, at(t))["active"], false);
    assert_eq!(introspect(c, client, rt(t))["active"], false);
}

fn assert_family_stands(c: &mut Client, client: &TestClient, t: &Value) {
    let r = peek_refresh_grant(c, client, rt(t));
    assert!(r["access_token"].is_string(), "{r}");
    assert_eq!(verify_sqlstate(c, at(t)), "ok");
    assert_eq!(introspect(c, client, at(t))["active"], true);
    assert_eq!(introspect(c, client, rt(t))["active"], true);
}

fn poll(c: &mut Client, client: &TestClient, device_code: &str) -> Value {
    // The first poll is never too fast.
    token_endpoint(
        c,
        json!({"grant_type": DEVICE, "device_code": device_code}),
        client,
    )
    .0
}

#[test]
fn a_disabled_trusted_issuer_refuses_what_its_sessions_approved_until_enabled_again() {
    let db = TestDb::new("gidisabled");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.gi-disabled.example");
    let other = StandInIssuer::new("https://other.gi-disabled.example");
    trust(&mut c, &idp, json!({}));
    trust(&mut c, &other, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let tv = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('TV', ARRAY[]::text[], 'confidential',
                grant_types => ARRAY[$1, 'refresh_token'])",
        &[&DEVICE],
    ));
    let session = session_token_of(&idp, "alice", json!({}));
    let ours = session_token(&mut c, "alice");
    let family = family_via(&mut c, &client, &session, "openid");
    let approved = code_via(&mut c, &client, &session, "openid");
    let device = device_code_via(&mut c, &tv, &session);
    // Namesakes who keep theirs: another trusted issuer's alice, ours, and a login whose
    // claims name no issuer (request.jwt.claims without iss; families from before 0.2.0).
    let of_other = family_via(
        &mut c,
        &client,
        &session_token_of(&other, "alice", json!({})),
        "openid",
    );
    let of_ours = family_via(&mut c, &client, &ours, "openid");
    let unnamed = tokens(&mut c, &client, "openid", "alice");
    for t in [&family, &of_other, &of_ours, &unnamed] {
        assert_family_stands(&mut c, &client, t);
    }

    update_issuer(&mut c, &idp, json!({"enabled": false}));

    assert_family_refused(&mut c, &client, &family, &idp.issuer);
    let r = redeem_code(&mut c, &client, &approved).0;
    assert_eq!(r["error"], "invalid_grant", "{r}");
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains(&idp.issuer),
        "{r}"
    );
    let r = poll(&mut c, &tv, &device);
    assert_eq!(r["error"], "invalid_grant", "{r}");
    for t in [&of_other, &of_ours, &unnamed] {
        assert_family_stands(&mut c, &client, t);
    }

    // Enabled again: nothing was revoked, only refused while the grounds were missing.
    update_issuer(&mut c, &idp, json!({"enabled": true}));
    assert_family_stands(&mut c, &client, &family);
    let next = refresh(&mut c, &client, rt(&family), None);
    assert!(next["access_token"].is_string(), "{next}");
    let r = redeem_code(&mut c, &client, &approved).0;
    assert!(r["access_token"].is_string(), "{r}");
    c.batch_execute("UPDATE oauth.authorizations SET last_polled_at = now() - interval '1 minute'")
        .unwrap();
    let r = poll(&mut c, &tv, &device);
    assert!(r["access_token"].is_string(), "{r}");

    // Switched off by a direct UPDATE in a spelling the policy does not accept (it refuses the
    // issuer's sessions for it): refused too, not taken as enabled.
    c.execute(
        "UPDATE oauth.issuers SET options = options || '{\"enabled\": \"false\"}' WHERE issuer = $1",
        &[&idp.issuer],
    )
    .unwrap();
    assert_family_refused(&mut c, &client, &next, &idp.issuer);
}

#[test]
fn a_removed_trusted_issuer_refuses_what_its_sessions_approved_and_compares_exactly() {
    let db = TestDb::new("giremoved");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.gi-removed.example");
    trust(&mut c, &idp, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let session = session_token_of(&idp, "alice", json!({}));
    let family = family_via(&mut c, &client, &session, "openid");
    let approved = code_via(&mut c, &client, &session, "openid");

    c.query_one("SELECT oauth.remove_issuer($1)", &[&idp.issuer])
        .unwrap();
    assert_family_refused(&mut c, &client, &family, &idp.issuer);
    let r = redeem_code(&mut c, &client, &approved).0;
    assert_eq!(r["error"], "invalid_grant", "{r}");

    // Another spelling of it trusted instead is another issuer: still refused.
    let slashed = StandInIssuer::new(&format!("{}/", idp.issuer));
    trust(&mut c, &slashed, json!({}));
    assert_family_refused(&mut c, &client, &family, &idp.issuer);

    // Trusted again under its own name: what it approved stands again (as for a disabled
    // one; `oauth.revoke_user` is the way to end a user's families for good).
    trust(&mut c, &idp, json!({}));
    assert_family_stands(&mut c, &client, &family);
    let r = redeem_code(&mut c, &client, &approved).0;
    assert!(r["access_token"].is_string(), "{r}");
}

#[test]
fn a_user_whose_sub_is_a_client_id_is_still_checked_by_verify() {
    let db = TestDb::new("gimachine");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    // A user whose sub happens to be the client's id, signed in to that very client: the
    // access token's sub equals its client_id, as a machine's does.
    let t = tokens(&mut c, &client, "openid", &client.id);
    let (_, claims) = jwt_parts(at(&t));
    assert_eq!(claims["sub"], claims["client_id"]);
    assert_eq!(verify_sqlstate(&mut c, at(&t)), "ok");
    // A machine of the same client.
    c.query_one(
        "SELECT oauth.update_client($1, '{\"grant_types\": [\"authorization_code\", \"refresh_token\", \"client_credentials\"]}')",
        &[&client.id],
    )
    .unwrap();
    let m = token_endpoint(&mut c, json!({"grant_type": "client_credentials"}), &client).0;
    let machine = at(&m).to_string();

    json(
        &mut c,
        "SELECT to_jsonb(oauth.disable_user($1))",
        &[&client.id],
    );

    // The user is disabled: refused, whatever their sub looks like...
    assert_eq!(verify_sqlstate(&mut c, at(&t)), "28000");
    assert_eq!(introspect(&mut c, &client, at(&t))["active"], false);
    // ...while the machine's family, which has no user, is not one.
    assert_eq!(verify_sqlstate(&mut c, &machine), "ok");
}

#[test]
fn introspecting_a_refresh_token_answers_what_the_next_refresh_would_grant() {
    let db = TestDb::new("giintrospect");
    let mut c = db.connect();
    c.batch_execute(&format!(
        "SELECT oauth.set_scope('read', 'Read'); SELECT oauth.set_scope('write', 'Write');
         SELECT oauth.add_resource('{API}');"
    ))
    .unwrap();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid read write", "u");
    let mut p = auth_params(&client, REDIRECT, "read");
    p["resource"] = json!([API]);
    let aid = pending(&mut c, &p);
    let out = call_as(&mut c, &user("u"), "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let for_api = redeem_code(&mut c, &client, &code).0;
    let scope_of = |c: &mut Client, t: &Value| {
        let i = introspect(c, &client, rt(t));
        assert_eq!(i["active"], true, "{i}");
        i["scope"].as_str().unwrap().to_string()
    };
    assert_eq!(scope_of(&mut c, &t), "openid read write");

    // Narrowed: what the refresh would issue, not what the family once recorded.
    update_client(&mut c, &client, json!({"scopes": ["openid", "read"]}));
    assert_eq!(scope_of(&mut c, &t), "openid read");
    assert_eq!(
        peek_refresh_grant(&mut c, &client, rt(&t))["scope"],
        "openid read"
    );

    // Refused by the refresh: not active.
    c.batch_execute(&format!("SELECT oauth.remove_resource('{API}')"))
        .unwrap();
    // (The family's only resource: the removal ended it.)
    assert_eq!(
        peek_refresh_grant(&mut c, &client, rt(&for_api))["error"],
        "invalid_grant"
    );
    assert_eq!(introspect(&mut c, &client, rt(&for_api))["active"], false);
    c.batch_execute("SELECT oauth.remove_scope('read')")
        .unwrap();
    assert_eq!(scope_of(&mut c, &t), "openid");
    update_client(
        &mut c,
        &client,
        json!({"grant_types": ["authorization_code"]}),
    );
    assert_eq!(introspect(&mut c, &client, rt(&t))["active"], false);
    update_client(
        &mut c,
        &client,
        json!({"grant_types": ["authorization_code", "refresh_token"]}),
    );
    assert_eq!(scope_of(&mut c, &t), "openid");
    json(&mut c, "SELECT to_jsonb(oauth.disable_user('u'))", &[]);
    assert_eq!(introspect(&mut c, &client, rt(&t))["active"], false);
}

#[test]
fn revoke_user_during_a_code_redemption_leaves_no_working_family() {
    let db = TestDb::new("girace");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.gi-race.example");
    trust(&mut c, &idp, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let code = code_via(
        &mut c,
        &client,
        &session_token_of(&idp, "alice", json!({})),
        "openid",
    );
    // Session 1 redeems the code inside a transaction the test keeps open: the family is
    // written and the request's row held, not yet committed (ordered by locks, not timing).
    let mut s1 = db.connect();
    let mut tx = s1.transaction().unwrap();
    let t: Value = tx
        .query_one(
            "SELECT oauth.exchange_code($1, $2, $3, $4, $5)",
            &[&code, &VERIFIER, &REDIRECT, &client.id, &client.secret],
        )
        .unwrap()
        .get(0);
    assert!(t["refresh_token"].is_string(), "{t}");
    let pid1: i32 = tx.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    // Session 2 revokes the user, and must wait for the redemption.
    let mut s2 = db.connect();
    let pid2: i32 = s2.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let iss = idp.issuer.clone();
    let revocation =
        std::thread::spawn(move || json(&mut s2, "SELECT oauth.revoke_user('alice', $1)", &[&iss]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let blocked: bool = c
            .query_one("SELECT $2 = ANY (pg_blocking_pids($1))", &[&pid2, &pid1])
            .unwrap()
            .get(0);
        if blocked {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "revoke_user never waited for the redemption"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    tx.commit().unwrap();
    let r = revocation.join().unwrap();
    // It ends the requests first, so once the redemption commits it sees the family.
    assert_eq!(r["grants_revoked"], 1, "{r}");
    assert_eq!(
        peek_refresh_grant(&mut c, &client, rt(&t))["error"],
        "invalid_grant"
    );
    assert_eq!(verify_sqlstate(&mut c, at(&t)), "28000");
}
