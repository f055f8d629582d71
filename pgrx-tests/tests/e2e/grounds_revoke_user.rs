//! `oauth.revoke_user`: a trusted issuer's user, whose sessions we cannot end, cut off here.
//! Their sessions issued before the revocation are refused on both paths, and what they left
//! with us (token families, approved codes, consents) ends; namesakes of another issuer or of
//! ours, who share the `sub`, keep theirs.

use oauth_server_e2e::stand_in::StandInIssuer;
use oauth_server_e2e::trusted::*;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::json;

/// The issuer the test databases run with (the setting's default).
const OURS: &str = "http://localhost:8080";

/// The refresh token of a family started with session `token`.
fn refresh_token_via(c: &mut Client, client: &TestClient, token: &str) -> String {
    let t = family_via(c, client, token, "openid");
    t["refresh_token"].as_str().unwrap().to_string()
}

/// Refreshes `rt`: the next refresh token, or the error.
fn rotate(c: &mut Client, client: &TestClient, rt: &str) -> Result<String, String> {
    let t = refresh(c, client, rt, None);
    match t["refresh_token"].as_str() {
        Some(next) => Ok(next.to_string()),
        None => Err(t["error"].as_str().unwrap_or("?").to_string()),
    }
}

#[test]
fn revoking_a_trusted_issuers_user_ends_its_earlier_sessions_and_what_it_left_here() {
    let db = TestDb::new("gsrevoke");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.revoke.example");
    let other = StandInIssuer::new("https://other.revoke.example");
    trust(&mut c, &idp, json!({"leeway": 0}));
    trust(&mut c, &other, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    // Three people called "alice": idp's, another issuer's, and ours.
    let idp_claims = session_claims(&idp.issuer, "alice", json!({}));
    let idp_session = idp.token(idp_claims.clone());
    let other_session = session_token_of(&other, "alice", json!({}));
    let our_session = session_token(&mut c, "alice");
    let idp_family = refresh_token_via(&mut c, &client, &idp_session);
    let idp_code = code_via(&mut c, &client, &idp_session, "openid");
    let other_family = refresh_token_via(&mut c, &client, &other_session);
    let our_family = refresh_token_via(&mut c, &client, &our_session);

    let r = json(
        &mut c,
        "SELECT oauth.revoke_user('alice', $1)",
        &[&idp.issuer],
    );
    assert_eq!(r["grants_revoked"], 1, "{r}");
    assert_eq!(r["requests_ended"], 1, "{r}");
    assert_eq!(r["consents_withdrawn"], 1, "{r}");
    // idp's alice: the family, the approved code and the session are all refused...
    assert_eq!(
        rotate(&mut c, &client, &idp_family),
        Err("invalid_grant".into())
    );
    let t = exchange(&mut c, &client, &idp_code, REDIRECT);
    assert!(t.get("access_token").is_none(), "{t}");
    assert_eq!(verify_session_sqlstate(&mut c, &idp_session), "28000");
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let d = call_as(&mut c, &idp_claims, "SELECT oauth.authorization($1)", &aid);
    assert_eq!(d["error"], "login_required", "{d}");
    // ...the namesakes' families and sessions are not.
    assert!(rotate(&mut c, &client, &other_family).is_ok());
    assert!(rotate(&mut c, &client, &our_family).is_ok());
    assert_eq!(verify_session_sqlstate(&mut c, &other_session), "ok");
    assert_eq!(verify_session_sqlstate(&mut c, &our_session), "ok");
    // Trusting the issuer again does not bring the old session back.
    c.query_one("SELECT oauth.remove_issuer($1)", &[&idp.issuer])
        .unwrap();
    trust(&mut c, &idp, json!({"leeway": 0}));
    assert_eq!(verify_session_sqlstate(&mut c, &idp_session), "28000");
    // A session issued after the revocation is accepted, and asks for consent again.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = session_token_of(&idp, "alice", json!({}));
    assert_eq!(verify_session_sqlstate(&mut c, &fresh), "ok");
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let shown = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &fresh],
    );
    assert!(shown.get("client").is_some(), "{shown}");
    // Audited, with the issuer.
    let events = json(
        &mut c,
        "SELECT oauth.audit_events(now() - interval '1 hour', 'user_revoked')",
        &[],
    );
    assert_eq!(events[0]["user_id"], "alice", "{events}");
    assert_eq!(
        events[0]["details"]["issuer"],
        json!(idp.issuer),
        "{events}"
    );
}

#[test]
fn revoke_user_is_for_administrators_and_names_a_trusted_issuer_exactly() {
    let db = TestDb::new("gsrevokeargs");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.revoke-args.example");
    trust(&mut c, &idp, json!({}));
    let call = |c: &mut Client, sub: Option<&str>, iss: &str| {
        c.query_one("SELECT oauth.revoke_user($1, $2)", &[&sub, &iss])
            .map(|_| ())
            .map_err(|e| e.code().unwrap().code().to_string())
    };
    assert_eq!(call(&mut c, Some("alice"), OURS), Err("22023".into()));
    assert_eq!(
        call(&mut c, Some("alice"), "http://localhost:8080/"),
        Err("22023".into())
    );
    assert_eq!(
        call(&mut c, Some("alice"), "https://idp.revoke-args.example/"),
        Err("P0002".into())
    );
    assert_eq!(call(&mut c, None, &idp.issuer), Err("22023".into()));
    assert_eq!(
        call(&mut c, Some(&"x".repeat(256)), &idp.issuer),
        Err("22023".into())
    );
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE grounds_plain LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .unwrap();
    let mut plain = db.connect_as("grounds_plain");
    assert_eq!(
        call(&mut plain, Some("alice"), &idp.issuer),
        Err("42501".into())
    );
    assert_eq!(call(&mut c, Some("alice"), &idp.issuer), Ok(()));
    // Nobody but the owner reads the table.
    assert_eq!(
        sqlstate(&mut plain, "SELECT count(*) FROM oauth.revoked_users"),
        "42501"
    );
}
