//! A disabled or deleted user, whichever login signed them in, is refused at every check a
//! session passes — not only where our own sessions end — and an error is never sent to a
//! redirect URI the client no longer owns (docs/security.md#decisions-that-outlive-their-grounds).

use oauth_server_e2e::stand_in::{now, StandInIssuer};
use oauth_server_e2e::trusted::*;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

/// What `oauth.authorization(aid, token)` answers for a new request of `client`.
fn shown_with(c: &mut Client, client: &TestClient, token: &str) -> (Value, String) {
    let aid = pending(c, &auth_params(client, REDIRECT, "openid"));
    status_of(c, "SELECT oauth.authorization($1, $2)", &[&aid, &token])
}

#[test]
fn a_disabled_user_of_a_trusted_issuer_is_refused_wherever_their_session_is_verified() {
    let db = TestDb::new("fallen_admin");
    let mut c = db.connect();
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE ops NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .unwrap();
    let idp = StandInIssuer::new("https://idp.fallen-admin.example");
    trust(
        &mut c,
        &idp,
        json!({"allowed_roles": ["authenticated", "ops"]}),
    );
    db.set("admin_session_roles", &format!("{}#ops", idp.issuer));
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let mallory = session_token_of(&idp, "mallory", json!({"role": "ops"}));
    let list = "SELECT oauth.admin_clients($1, 'list')";
    assert_eq!(sqlstate_of(&mut c, list, &mallory), "ok");
    assert_eq!(verify_session_sqlstate(&mut c, &mallory), "ok");

    c.batch_execute("SELECT oauth.disable_user('mallory')")
        .unwrap();
    // verify_session (what the front and GET /auth/v1/user rely on), administration by
    // session, and the consent API all refuse her.
    assert_eq!(verify_session_sqlstate(&mut c, &mallory), "28000");
    assert_eq!(sqlstate_of(&mut c, list, &mallory), "28000");
    let (d, status) = shown_with(&mut c, &client, &mallory);
    assert_eq!(status, "401", "{d}");
    // In particular she cannot enable herself again.
    let unban = c.query_one(
        "SELECT oauth.admin_users($1, 'ban', 'mallory', '{\"ban_duration\": \"none\"}')",
        &[&mallory],
    );
    assert!(unban.is_err(), "{unban:?}");
    let disabled: bool = c
        .query_one(
            "SELECT disabled_at IS NOT NULL FROM oauth.users WHERE id = 'mallory'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(disabled);
}

#[test]
fn deleting_a_user_is_never_weaker_than_disabling_them() {
    let db = TestDb::new("fallen_deleted");
    // No clock skew, so that a session issued a second after the deletion is after it.
    db.set("clock_skew", "0");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.fallen-deleted.example");
    trust(&mut c, &idp, json!({"leeway": 0}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let kate = session_token_of(&idp, "kate", json!({}));
    // The install's own login, through request.jwt.claims: no issuer to judge by.
    let liam = json!({"sub": "liam", "role": "authenticated", "iat": now(), "exp": now() + 600});
    let ours = session_token(&mut c, "nora");
    let (d, _) = shown_with(&mut c, &client, &kate);
    assert!(d.get("client").is_some(), "{d}");

    for sub in ["kate", "liam", "nora"] {
        c.query_one("SELECT oauth.disable_user($1)", &[&sub])
            .unwrap();
        c.query_one("SELECT oauth.delete_user($1)", &[&sub])
            .unwrap();
    }
    // Before: the deletion took the disabled flag with the row, and kate's and liam's
    // sessions approved again.
    let (d, status) = shown_with(&mut c, &client, &kate);
    assert_eq!(status, "401", "{d}");
    assert_eq!(d["error"], "login_required", "{d}");
    assert_eq!(verify_session_sqlstate(&mut c, &kate), "28000");
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let d = call_as(&mut c, &liam, "SELECT oauth.consent($1, true)", &aid);
    assert_eq!(d["error"], "login_required", "{d}");
    assert!(d.get("redirect_to").is_none(), "{d}");
    // Our own session went with its row.
    assert_eq!(verify_session_sqlstate(&mut c, &ours), "28000");

    // Deleting ends what was; it does not ban: a session issued after the deletion works
    // (one second later: `iat` counts whole seconds).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = session_token_of(&idp, "kate", json!({}));
    let (d, status) = shown_with(&mut c, &client, &again);
    assert!(d.get("client").is_some(), "{status} {d}");
    let liam_again =
        json!({"sub": "liam", "role": "authenticated", "iat": now(), "exp": now() + 600});
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let d = call_as(&mut c, &liam_again, "SELECT oauth.authorization($1)", &aid);
    assert!(d.get("client").is_some(), "{d}");
    // Without `iat` the session's age is unknown: refused while a deletion is on record.
    let ageless = json!({"sub": "liam", "role": "authenticated", "exp": now() + 600});
    let d = call_as(&mut c, &ageless, "SELECT oauth.authorization($1)", &aid);
    assert_eq!(d["error"], "login_required", "{d}");
}

#[test]
fn a_user_inserted_already_disabled_is_disabled() {
    let db = TestDb::new("fallen_inserted");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let before = session_token(&mut c, "carol");
    c.batch_execute("INSERT INTO oauth.users (id, disabled_at) VALUES ('carol', now())")
        .unwrap();
    assert_eq!(verify_session_sqlstate(&mut c, &before), "28000");
    c.batch_execute("SELECT oauth.enable_user('carol')")
        .unwrap();
    // Enabled again, the session from before the disabling stays ended.
    let (d, status) = shown_with(&mut c, &client, &before);
    assert_eq!(status, "401", "{d}");
    assert_eq!(
        user_events(&mut c, "carol"),
        vec!["user_disabled", "user_enabled"]
    );
}

#[test]
fn an_error_is_never_sent_to_a_redirect_uri_the_client_no_longer_owns() {
    const LOST: &str = "https://lost-domain.example/cb";
    let db = TestDb::new("fallen_redirect");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT, LOST], "confidential");
    let alice = session_token(&mut c, "alice");
    let to_lost = |c: &mut Client, extra: Value| {
        let mut p = auth_params(&client, LOST, "openid");
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        let r = authorize(c, &p);
        let to = r["redirect_to"].as_str().unwrap_or_else(|| panic!("{r}"));
        query_param(to, "authorization_id").unwrap_or_else(|| panic!("{to}"))
    };
    let denied = to_lost(&mut c, json!({}));
    let silent = to_lost(&mut c, json!({"prompt": "none"}));
    let stale = to_lost(&mut c, json!({"prompt": "none", "max_age": "0"}));
    update_client(&mut c, &client, json!({"redirect_uris": [REDIRECT]}));

    let answers = [
        status_of(
            &mut c,
            "SELECT oauth.consent($1, false, $2)",
            &[&denied, &alice],
        ),
        status_of(
            &mut c,
            "SELECT oauth.prompt_none_failed($1, 'login_required')",
            &[&silent],
        ),
        status_of(
            &mut c,
            "SELECT oauth.authorization($1, $2)",
            &[&stale, &alice],
        ),
    ];
    for (body, status) in answers {
        assert!(body.get("redirect_to").is_none(), "{body}");
        assert!(body.get("error").is_some(), "{body}");
        assert!(status.starts_with('4'), "{status} {body}");
    }
    // The registered URI still gets its errors.
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let (body, _) = status_of(
        &mut c,
        "SELECT oauth.consent($1, false, $2)",
        &[&aid, &alice],
    );
    let to = body["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(to, "error").as_deref(), Some("access_denied"));
}
