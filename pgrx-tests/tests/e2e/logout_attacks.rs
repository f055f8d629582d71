//! Attacks on back-channel logout (OpenID Connect Back-Channel Logout 1.0), from its attack review: the tests marked "Was a hole" found one that
//! was then closed (issue 33's closing note lists them); the others document a refusal that
//! held from the start.

use oauth_server_e2e::stand_in::StandInIssuer;
use oauth_server_e2e::trusted::{family_via, session_token_of, trust};
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A confidential code client with a back-channel logout URI on `name`.example.
fn rp(c: &mut Client, name: &str) -> TestClient {
    let client = create_client(c, &[REDIRECT], "confidential");
    update_client(
        c,
        &client,
        json!({"backchannel_logout_uri": format!("https://{name}.example/logout")}),
    );
    client
}

fn claim(c: &mut Client) -> Vec<Value> {
    json(c, "SELECT oauth.claim_logout_deliveries(50)", &[])
        .as_array()
        .unwrap()
        .clone()
}

fn deliveries(c: &mut Client, client: &TestClient) -> Vec<Value> {
    json(c, "SELECT oauth.logout_deliveries($1)", &[&client.id])
        .as_array()
        .unwrap()
        .clone()
}

fn sid_of(token: &str) -> Value {
    jwt_parts(token).1["sid"].clone()
}

/// Was a hole. Disabling a user first ends their sessions of ours (each tells its clients with
/// `sid`), then tells "every other app" by `sub` — skipping any client told in this
/// transaction. A client whose user also signed in to it through a trusted issuer's session
/// (or any family no session of ours approved) gets only the `sid` logout, which by §2.4 ends
/// that one session at the RP: the user's other sessions there outlive the disabling.
#[test]
fn disabling_a_user_logs_them_out_of_every_session_at_a_client() {
    let db = TestDb::new("bcla_disable_all");
    let mut c = db.connect();
    let a = rp(&mut c, "a");
    let ours = session_token(&mut c, "alice");
    family_via(&mut c, &a, &ours, "openid");
    let idp = StandInIssuer::new("https://idp.bcla.example");
    trust(&mut c, &idp, json!({}));
    family_via(
        &mut c,
        &a,
        &session_token_of(&idp, "alice", json!({})),
        "openid",
    );
    c.query_one("SELECT oauth.disable_user('alice')", &[])
        .unwrap();
    let told = deliveries(&mut c, &a);
    assert!(
        told.iter().any(|d| d["sid"].is_null()),
        "only a logout of session {} was queued; the session the trusted issuer's sign-in \
         made at the client is never ended: {told:?}",
        sid_of(&ours)
    );
}

/// Was a hole. A queued delivery keeps the URI the client had when it was queued: a client that
/// moved (or removed) its backchannel_logout_uri — say the old host was given up — still has
/// logout tokens (sub, sid) POSTed to the old one for up to a day of retries.
#[test]
fn a_queued_logout_goes_where_the_client_says_now() {
    let db = TestDb::new("bcla_uri_moved");
    let mut c = db.connect();
    let a = rp(&mut c, "old");
    let b = rp(&mut c, "b");
    let session = session_token(&mut c, "alice");
    family_via(&mut c, &a, &session, "openid");
    family_via(&mut c, &b, &session, "openid");
    json(&mut c, "SELECT oauth.sign_out($1)", &[&session]);
    update_client(
        &mut c,
        &a,
        json!({"backchannel_logout_uri": "https://new.example/logout"}),
    );
    update_client(&mut c, &b, json!({"backchannel_logout_uri": null}));
    let claimed = claim(&mut c);
    let to_a = claimed
        .iter()
        .find(|d| d["client_id"] == json!(a.id))
        .unwrap();
    assert_eq!(
        to_a["uri"],
        json!("https://new.example/logout"),
        "sent to the URI the client gave up"
    );
    assert!(
        !claimed.iter().any(|d| d["client_id"] == json!(b.id)),
        "sent to a client that no longer asks for logouts: {claimed:?}"
    );
}

/// Was a hole. `oauth.revoke_user(sub, issuer)` ends what a trusted issuer's user approved (their
/// families are revoked), but no client is told: the RP sessions those families signed in
/// stay up, unlike every other way an administrator ends a user's sessions.
#[test]
fn revoking_a_trusted_issuers_user_tells_their_clients() {
    let db = TestDb::new("bcla_revoke_user");
    let mut c = db.connect();
    let a = rp(&mut c, "a");
    let idp = StandInIssuer::new("https://idp.bcla-revoke.example");
    trust(&mut c, &idp, json!({}));
    family_via(
        &mut c,
        &a,
        &session_token_of(&idp, "alice", json!({})),
        "openid",
    );
    let r = json(
        &mut c,
        "SELECT oauth.revoke_user('alice', $1)",
        &[&idp.issuer],
    );
    assert_eq!(r["grants_revoked"], json!(1), "{r}");
    assert!(
        !deliveries(&mut c, &a).is_empty(),
        "the client whose family was revoked is never told"
    );
}

// What held.

/// A logout token is a credential nowhere: not an access token, a session (as a token or as
/// request.jwt.claims), an ID token hint (authorize, end_session), a subject or actor token.
#[test]
fn a_logout_token_is_accepted_as_nothing() {
    let db = TestDb::new("bcla_kinds");
    let mut c = db.connect();
    let a = rp(&mut c, "a");
    update_client(
        &mut c,
        &a,
        json!({"grant_types": ["authorization_code", "refresh_token", EXCHANGE]}),
    );
    let session = session_token(&mut c, "alice");
    let t = family_via(&mut c, &a, &session, "openid");
    json(&mut c, "SELECT oauth.sign_out($1)", &[&session]);
    let token = claim(&mut c)[0]["logout_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(verify_sqlstate(&mut c, &token), "ok");
    assert_ne!(verify_session_sqlstate(&mut c, &token), "ok");
    // id_token_hint at authorize.
    let mut p = auth_params(&a, REDIRECT, "openid");
    p["id_token_hint"] = json!(token);
    let r = authorize(&mut c, &p);
    let described = r["error_description"]
        .as_str()
        .map(String::from)
        .or_else(|| query_param(r["redirect_to"].as_str()?, "error_description"))
        .unwrap_or_default();
    assert!(described.contains("id_token_hint"), "{r}");
    // id_token_hint at end_session.
    let r = c.query_one(
        "SELECT oauth.end_session($1)",
        &[&json!({"id_token_hint": token})],
    );
    if let Ok(row) = r {
        let v: Value = row.get(0);
        assert!(v.get("error").is_some(), "{v}");
    }
    // A session for the consent page.
    let aid = pending(&mut c, &auth_params(&a, REDIRECT, "openid"));
    let shown = c.query_one("SELECT oauth.authorization($1, $2)", &[&aid, &token]);
    if let Ok(row) = shown {
        let v: Value = row.get(0);
        assert!(v.get("error").is_some(), "a logout token signed in: {v}");
    }
    // As PostgREST's claims, for RLS.
    let claims = jwt_parts(&token).1;
    let uid = as_user(&mut c, &claims, |tx| {
        tx.query_one("SELECT oauth.uid()", &[])
            .map(|r| r.get::<_, Option<String>>(0))
    });
    assert!(
        !matches!(uid, Ok(Some(_))),
        "RLS read a user from a logout token: {uid:?}"
    );
    // Subject token, as either type, and actor token.
    for ty in [ACCESS, "urn:ietf:params:oauth:token-type:jwt"] {
        let (r, _) = token_endpoint(
            &mut c,
            json!({"grant_type": EXCHANGE, "subject_token": token, "subject_token_type": ty,
                   "audience": "authenticated"}),
            &a,
        );
        assert!(r.get("access_token").is_none(), "{ty}: {r}");
    }
    let (r, _) = token_endpoint(
        &mut c,
        json!({"grant_type": EXCHANGE, "subject_token": t["access_token"],
               "subject_token_type": ACCESS, "actor_token": token, "actor_token_type": ACCESS,
               "audience": "authenticated"}),
        &a,
    );
    assert!(r.get("access_token").is_none(), "{r}");
}

/// A session ended twice tells once; disabled, enabled and disabled again tells again only of
/// what came since; a deleted client's queue goes with it; a settled delivery stays settled.
#[test]
fn each_end_tells_once_and_settled_stays_settled() {
    let db = TestDb::new("bcla_once");
    let mut c = db.connect();
    let a = rp(&mut c, "a");
    let gone = rp(&mut c, "gone");
    let session = session_token(&mut c, "alice");
    family_via(&mut c, &a, &session, "openid");
    family_via(&mut c, &gone, &session, "openid");
    json(&mut c, "SELECT oauth.sign_out($1)", &[&session]);
    let _ = c.query_one("SELECT oauth.sign_out($1)", &[&session]);
    c.query_one("SELECT oauth.revoke_sessions('alice')", &[])
        .unwrap();
    assert_eq!(deliveries(&mut c, &a).len(), 1, "one end, one logout");
    c.execute(
        "DELETE FROM oauth.clients WHERE client_id = $1",
        &[&gone.id],
    )
    .unwrap();
    let claimed = claim(&mut c);
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    let id = claimed[0]["id"].as_str().unwrap().to_string();
    let report = |c: &mut Client, status: Option<i32>| -> Value {
        c.query_one(
            "SELECT oauth.report_logout_delivery($1, $2, 'x')",
            &[&id, &status],
        )
        .unwrap()
        .get::<_, Option<Value>>(0)
        .unwrap_or(Value::Null)
    };
    // A redirect is no delivery.
    assert_eq!(report(&mut c, Some(302))["state"], json!("pending"));
    assert_eq!(report(&mut c, Some(204))["state"], json!("delivered"));
    assert_eq!(report(&mut c, Some(400)), Value::Null, "settled");
    c.execute(
        "UPDATE oauth.logout_deliveries SET next_attempt_at = now() - interval '1 hour'",
        &[],
    )
    .unwrap();
    assert!(claim(&mut c).is_empty());

    // Disabled, enabled, disabled.
    c.query_one("SELECT oauth.disable_user('alice')", &[])
        .unwrap();
    let after_first = deliveries(&mut c, &a).len();
    assert_eq!(after_first, 2, "disabled: told by sub");
    c.query_one("SELECT oauth.enable_user('alice')", &[])
        .unwrap();
    assert_eq!(
        deliveries(&mut c, &a).len(),
        after_first,
        "enabled: nothing"
    );
    let again = session_token(&mut c, "alice");
    family_via(&mut c, &a, &again, "openid");
    c.query_one("SELECT oauth.disable_user('alice')", &[])
        .unwrap();
    let told = deliveries(&mut c, &a);
    assert_eq!(told.len(), after_first + 1, "{told:?}");
    assert_eq!(told[0]["sid"], sid_of(&again));
}
