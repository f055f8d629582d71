//! OpenID Connect Back-Channel Logout: when a session of ours ends (sign-out, RP-initiated
//! logout, revoke_sessions, its user disabled) or a user is disabled or deleted, the clients
//! with a `backchannel_logout_uri` whose families it approved are queued in the same
//! transaction, one row each; claiming signs each logout token (verified here against the
//! JWKS, as a client would); a 2xx delivers it for good, anything else is retried with the
//! same `jti`, and a client's refusal gives up.

use oauth_server_e2e::trusted::family_via;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A confidential code client with a back-channel logout URI (and `extra` relying-party
/// metadata).
fn rp(c: &mut Client, name: &str, extra: Value) -> TestClient {
    let client = create_client(c, &[REDIRECT], "confidential");
    let mut changes = json!({"backchannel_logout_uri": format!("https://{name}.example/logout")});
    for (k, v) in extra.as_object().unwrap() {
        changes[k] = v.clone();
    }
    update_client(c, &client, changes);
    client
}

fn claim(c: &mut Client) -> Vec<Value> {
    json(c, "SELECT oauth.claim_logout_deliveries(50)", &[])
        .as_array()
        .unwrap()
        .clone()
}

fn report(c: &mut Client, id: &str, status: Option<i32>) -> Value {
    c.query_one(
        "SELECT oauth.report_logout_delivery($1, $2, 'test')",
        &[&id, &status],
    )
    .unwrap()
    .get::<_, Option<Value>>(0)
    .unwrap_or(Value::Null)
}

/// The deliveries of `client`, oldest first.
fn deliveries(c: &mut Client, client: &TestClient) -> Vec<Value> {
    let mut v = json(c, "SELECT oauth.logout_deliveries($1)", &[&client.id])
        .as_array()
        .unwrap()
        .clone();
    v.reverse();
    v
}

/// The session's id (`sid`) of one of our session tokens.
fn sid_of(token: &str) -> String {
    jwt_parts(token).1["sid"].as_str().unwrap().to_string()
}

#[test]
fn signing_out_tells_each_client_the_session_approved_once_with_a_signed_logout_token() {
    let db = TestDb::new("bcl_signout");
    let mut c = db.connect();
    let (a, b) = (rp(&mut c, "a", json!({})), rp(&mut c, "b", json!({})));
    let silent = create_client(&mut c, &[REDIRECT], "confidential");
    let other_session_client = rp(&mut c, "d", json!({}));
    let session = session_token(&mut c, "alice");
    let other_session = session_token(&mut c, "alice");
    family_via(&mut c, &a, &session, "openid");
    family_via(&mut c, &a, &session, "openid");
    family_via(&mut c, &b, &session, "openid");
    family_via(&mut c, &silent, &session, "openid");
    family_via(&mut c, &other_session_client, &other_session, "openid");
    assert!(claim(&mut c).is_empty(), "nothing until a session ends");
    json(&mut c, "SELECT oauth.sign_out($1)", &[&session]);
    // One row per client the session approved (two families of A: one row), none for a client
    // without a URI or one another session approved.
    assert_eq!(deliveries(&mut c, &a).len(), 1);
    assert_eq!(deliveries(&mut c, &b).len(), 1);
    assert!(deliveries(&mut c, &other_session_client).is_empty());
    let claimed = claim(&mut c);
    assert_eq!(claimed.len(), 2, "{claimed:?}");
    let jwks = json(&mut c, "SELECT oauth.jwks()", &[]);
    for d in &claimed {
        let token = d["logout_token"].as_str().unwrap();
        let (header, _) = jwt_parts(token);
        assert_eq!(header["typ"], json!("logout+jwt"));
        let claims = verify_with_jwks(&jwks, token).unwrap();
        assert_eq!(claims["events"], json!({EVENT: {}}));
        assert_eq!(claims["sid"], json!(sid_of(&session)));
        assert_eq!(claims["sub"], json!("alice"));
        assert!(claims.get("nonce").is_none());
        assert!(d["uri"].as_str().unwrap().ends_with(".example/logout"));
        assert_eq!(claims["aud"], d["client_id"]);
        // Not a credential anywhere.
        assert_eq!(verify_sqlstate(&mut c, token), "42501");
        assert_ne!(verify_session_sqlstate(&mut c, token), "ok");
    }
    // Claimed deliveries are not claimed again while their lease runs.
    assert!(claim(&mut c).is_empty());
    // A 2xx delivers for good.
    let a_id = claimed
        .iter()
        .find(|d| d["client_id"] == json!(a.id))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        report(&mut c, &a_id, Some(200))["state"],
        json!("delivered")
    );
    assert_eq!(report(&mut c, &a_id, Some(500)), Value::Null, "settled");
    c.execute(
        "UPDATE oauth.logout_deliveries SET next_attempt_at = now() - interval '1 hour'",
        &[],
    )
    .unwrap();
    let again = claim(&mut c);
    assert_eq!(again.len(), 1, "only B's, never A's again: {again:?}");
    assert_eq!(again[0]["client_id"], json!(b.id));
}

#[test]
fn failures_are_retried_with_the_same_jti_and_a_refusal_gives_up() {
    let db = TestDb::new("bcl_retry");
    let mut c = db.connect();
    let a = rp(&mut c, "a", json!({}));
    let session = session_token(&mut c, "alice");
    family_via(&mut c, &a, &session, "openid");
    c.query_one("SELECT oauth.revoke_sessions('alice')", &[])
        .unwrap();
    let first = claim(&mut c);
    assert_eq!(first.len(), 1);
    let id = first[0]["id"].as_str().unwrap().to_string();
    let jti = |d: &Value| jwt_parts(d["logout_token"].as_str().unwrap()).1["jti"].clone();
    // The receiver down (no answer), then answering 500: pending, later each time.
    let r = report(&mut c, &id, None);
    assert_eq!(r["state"], json!("pending"));
    assert!(claim(&mut c).is_empty(), "not due yet");
    let due_now = "UPDATE oauth.logout_deliveries SET next_attempt_at = now()";
    c.execute(due_now, &[]).unwrap();
    let second = claim(&mut c);
    assert_eq!(jti(&second[0]), jti(&first[0]), "a retry is the same event");
    assert_eq!(report(&mut c, &id, Some(503))["attempts"], json!(2));
    let shown = &deliveries(&mut c, &a)[0];
    assert_eq!(
        (shown["last_status"].as_i64(), shown["state"].as_str()),
        (Some(503), Some("pending"))
    );
    // A client that refuses the token itself (400): given up, never sent again.
    c.execute(due_now, &[]).unwrap();
    claim(&mut c);
    assert_eq!(report(&mut c, &id, Some(400))["state"], json!("given_up"));
    c.execute(due_now, &[]).unwrap();
    assert!(claim(&mut c).is_empty());
    // Bad reports are refused by name.
    let e = c
        .query_one("SELECT oauth.report_logout_delivery('x', 200)", &[])
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22023");
    let e = c
        .query_one("SELECT oauth.report_logout_delivery($1, 42)", &[&id])
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22023");
}

#[test]
fn a_disabled_or_deleted_user_tells_every_client_once() {
    use oauth_server_e2e::stand_in::StandInIssuer;
    use oauth_server_e2e::trusted::{session_token_of, trust};
    let db = TestDb::new("bcl_users");
    let mut c = db.connect();
    let (a, b) = (rp(&mut c, "a", json!({})), rp(&mut c, "b", json!({})));
    let needs_sid = rp(
        &mut c,
        "s",
        json!({"backchannel_logout_session_required": true}),
    );
    let session = session_token(&mut c, "alice");
    family_via(&mut c, &a, &session, "openid");
    family_via(&mut c, &needs_sid, &session, "openid");
    // B's family was approved by a trusted issuer's session: no sid of ours.
    let idp = StandInIssuer::new("https://idp.example");
    trust(&mut c, &idp, json!({}));
    let foreign = session_token_of(&idp, "alice", json!({}));
    family_via(&mut c, &b, &foreign, "openid");
    family_via(&mut c, &needs_sid, &foreign, "openid");
    c.query_one("SELECT oauth.disable_user('alice')", &[])
        .unwrap();
    let (da, db_, ds) = (
        deliveries(&mut c, &a),
        deliveries(&mut c, &b),
        deliveries(&mut c, &needs_sid),
    );
    assert_eq!(da.len(), 1, "{da:?}");
    assert_eq!(
        da[0]["sid"],
        json!(sid_of(&session)),
        "the session it approved"
    );
    assert_eq!(db_.len(), 1);
    assert_eq!(
        db_[0]["sid"],
        Value::Null,
        "by sub: no session of ours approved it"
    );
    // A client that requires sid is told of the session, not of the family no session names.
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["sid"], json!(sid_of(&session)));
    // Deleted: told before the families that say whom to tell are gone.
    let session = session_token(&mut c, "bob");
    family_via(&mut c, &a, &session, "openid");
    c.query_one("SELECT oauth.delete_user('bob')", &[]).unwrap();
    let told: Vec<Value> = deliveries(&mut c, &a)
        .into_iter()
        .filter(|d| d["user_id"] == json!("bob"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["reason"], json!("user deleted"));
}

#[test]
fn rp_initiated_logout_tells_the_other_clients_and_a_pairwise_client_hears_its_own_sub() {
    let db = TestDb::new("bcl_rp");
    let mut c = db.connect();
    let a = rp(&mut c, "a", json!({}));
    let pairwise = rp(&mut c, "p", json!({"subject_type": "pairwise"}));
    let session = session_token(&mut c, "alice");
    let t = family_via(&mut c, &a, &session, "openid");
    let tp = family_via(&mut c, &pairwise, &session, "openid");
    let out = json(
        &mut c,
        "SELECT oauth.end_session($1)",
        &[&json!({"id_token_hint": t["id_token"]})],
    );
    assert!(out.get("error").is_none(), "{out}");
    let claimed = claim(&mut c);
    assert_eq!(claimed.len(), 2, "{claimed:?}");
    let to_pairwise = claimed
        .iter()
        .find(|d| d["client_id"] == json!(pairwise.id))
        .unwrap();
    let sub = jwt_parts(to_pairwise["logout_token"].as_str().unwrap()).1["sub"].clone();
    assert_eq!(sub, jwt_parts(tp["id_token"].as_str().unwrap()).1["sub"]);
    assert_ne!(sub, json!("alice"));
    // Discovery says both.
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(md["backchannel_logout_supported"], json!(true));
    assert_eq!(md["backchannel_logout_session_supported"], json!(true));
}

#[test]
fn every_way_a_client_is_made_registers_a_back_channel_logout_uri() {
    let db = TestDb::new("bcl_register");
    db.set("dynamic_registration", "on");
    let mut c = db.connect();
    let uri = "https://rp.example/logout";
    // The HTTP admin API.
    let key: String = c
        .query_one("SELECT oauth.create_admin_key('bcl')", &[])
        .unwrap()
        .get(0);
    let made = json(
        &mut c,
        "SELECT oauth.admin_clients($1, 'create', NULL, $2)",
        &[
            &key,
            &json!({"name": "RP", "redirect_uris": [REDIRECT],
                         "backchannel_logout_uri": uri, "backchannel_logout_session_required": true}),
        ],
    );
    let id = made["client_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{made}"));
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&id]);
    assert_eq!(shown["backchannel_logout_uri"], json!(uri), "{made}");
    assert_eq!(shown["backchannel_logout_session_required"], json!(true));
    // RFC 7591 registration, echoed back.
    let (reg, _) = status_of(
        &mut c,
        "SELECT oauth.register_client($1)",
        &[&json!({"redirect_uris": [REDIRECT], "backchannel_logout_uri": uri})],
    );
    assert_eq!(reg["backchannel_logout_uri"], json!(uri), "{reg}");
    // A fragment, or not https, is refused by name.
    let (bad, status) = status_of(
        &mut c,
        "SELECT oauth.register_client($1)",
        &[&json!({"redirect_uris": [REDIRECT], "backchannel_logout_uri": "http://rp.example/l"})],
    );
    assert_eq!(
        (bad["error"].as_str(), status.as_str()),
        (Some("invalid_client_metadata"), "400")
    );
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let e = c
        .query_one(
            "SELECT oauth.update_client($1, '{\"backchannel_logout_uri\": \"https://rp.example/l#x\"}')",
            &[&client.id],
        )
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22023");
}
