//! Decisions that outlive their grounds (docs/security.md#decisions-that-outlive-their-grounds):
//! something obtained legitimately — a refresh-token family, an approved code, a request the
//! user was shown — then an administrator or the user changes what it rested on, and the
//! holder keeps using it. Each test obtains first, changes the grounds second, uses third.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const API: &str = "https://api.example/";
const MCP: &str = "https://mcp.example/mcp";
const OTHER: &str = "https://app.example/other";

fn setup(tag: &str) -> (TestDb, Client, TestClient) {
    let db = TestDb::new(tag);
    let mut c = db.connect();
    c.batch_execute(&format!(
        "SELECT oauth.set_scope('read', 'Read'); SELECT oauth.set_scope('write', 'Write');
         SELECT oauth.add_resource('{API}'); SELECT oauth.add_resource('{MCP}');"
    ))
    .unwrap();
    let client = create_client(&mut c, &[REDIRECT, OTHER], "confidential");
    (db, c, client)
}

#[test]
fn narrowed_client_scopes_narrow_refreshes_codes_and_requests_already_shown() {
    let (_db, mut c, client) = setup("g_scopes");
    let t = tokens(&mut c, &client, "openid read write", "u");
    let approved = get_code(&mut c, &client, REDIRECT, "openid read write", "u");
    let shown = pending_request(&mut c, &client, "openid read write", &[]);
    // Another user, who has consented to nothing yet, is shown the request.
    let details = call_as(&mut c, &user("w"), "SELECT oauth.authorization($1)", &shown);
    assert_eq!(details["scopes"].as_array().unwrap().len(), 3, "{details}");

    update_client(&mut c, &client, json!({"scopes": ["openid", "read"]}));

    // The refresh drops the scope the client may no longer have, and the family keeps it
    // dropped even when the client is widened again.
    let r = refresh(&mut c, &client, t["refresh_token"].as_str().unwrap(), None);
    assert_eq!(r["scope"], "openid read", "{r}");
    assert_eq!(access_token_claims(&r)["scope"], "openid read");
    update_client(&mut c, &client, json!({"scopes": null}));
    let r = refresh(&mut c, &client, r["refresh_token"].as_str().unwrap(), None);
    assert_eq!(r["scope"], "openid read", "{r}");
    update_client(&mut c, &client, json!({"scopes": ["openid", "read"]}));

    // The code approved before the change.
    let (t2, _) = redeem_code(&mut c, &client, &approved);
    assert_eq!(t2["scope"], "openid read", "{t2}");

    // The request shown before the change, approved after it: what the consent records and
    // what the code yields.
    let out = call_as(&mut c, &user("w"), "SELECT oauth.consent($1, true)", &shown);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let consented: Value = c
        .query_one(
            "SELECT scopes_by_audience FROM oauth.consents WHERE user_id = 'w'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        consented["authenticated"],
        json!(["openid", "read"]),
        "{consented}"
    );
    let (t3, _) = redeem_code(&mut c, &client, &code);
    assert_eq!(t3["scope"], "openid read", "{t3}");

    // Every scope of a family withdrawn: nothing is minted (the narrowing ended the family:
    // grounds_removals.rs).
    let t4 = tokens(&mut c, &client, "read", "v");
    update_client(&mut c, &client, json!({"scopes": ["openid"]}));
    let (r, status) = refresh_grant(
        &mut c,
        &client,
        t4["refresh_token"].as_str().unwrap(),
        json!({}),
    );
    assert_eq!(
        (r["error"].as_str(), status.as_str()),
        (Some("invalid_grant"), "400"),
        "{r}"
    );
}

#[test]
fn a_removed_resource_is_never_an_audience_again() {
    let (_db, mut c, client) = setup("g_resources");
    // A family for both servers, one for the API only, a code for the API, a request shown.
    let code = approved_code(&mut c, &client, "read", &[API, MCP], "u");
    let (both, _) = redeem_code(&mut c, &client, &code);
    assert_eq!(access_token_claims(&both)["aud"], json!([API, MCP]));
    let code = approved_code(&mut c, &client, "read", &[API], "u");
    let (only_api, _) = redeem_code(&mut c, &client, &code);
    let approved = approved_code(&mut c, &client, "read", &[API], "u");
    let shown = pending_request(&mut c, &client, "read", &[API]);
    let d = call_as(&mut c, &user("w"), "SELECT oauth.authorization($1)", &shown);
    assert!(d.get("client").is_some(), "{d}");

    c.batch_execute(&format!("SELECT oauth.remove_resource('{API}')"))
        .unwrap();

    // Narrowed to what remains, and refused when it is named or when nothing remains (never
    // the default audience instead).
    let rt = both["refresh_token"].as_str().unwrap();
    let (r, status) = refresh_grant(&mut c, &client, rt, json!({"resource": API}));
    assert_eq!(
        (r["error"].as_str(), status.as_str()),
        (Some("invalid_target"), "400"),
        "{r}"
    );
    let (narrowed, _) = refresh_grant(&mut c, &client, rt, json!({}));
    assert_eq!(
        access_token_claims(&narrowed)["aud"],
        json!(MCP),
        "{narrowed}"
    );
    let (r, _) = refresh_grant(
        &mut c,
        &client,
        only_api["refresh_token"].as_str().unwrap(),
        json!({}),
    );
    // The family, the code and the request whose only resource it was were ended by the
    // removal (grounds_removals.rs), never left to fall back to the default audience.
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let (r, _) = redeem_code(&mut c, &client, &approved);
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let out = call_as(&mut c, &user("w"), "SELECT oauth.consent($1, true)", &shown);
    assert_eq!(out["error"], "not_found", "{out}");
    assert!(out.get("redirect_to").is_none(), "{out}");
    // Registered again later (perhaps another server at that URL): the narrowed family does
    // not regain it.
    c.batch_execute(&format!("SELECT oauth.add_resource('{API}')"))
        .unwrap();
    let rt = narrowed["refresh_token"].as_str().unwrap();
    let (r, _) = refresh_grant(&mut c, &client, rt, json!({}));
    assert_eq!(access_token_claims(&r)["aud"], json!(MCP), "{r}");
}

#[test]
fn a_removed_redirect_uri_gets_nothing_more() {
    let (_db, mut c, client) = setup("g_redirect");
    let approved = get_code(&mut c, &client, REDIRECT, "read", "u");
    let shown = pending_request(&mut c, &client, "read", &[]);
    let d = call_as(&mut c, &user("w"), "SELECT oauth.authorization($1)", &shown);
    assert!(d.get("client").is_some(), "{d}");

    update_client(&mut c, &client, json!({"redirect_uris": [OTHER]}));

    let (r, status) = redeem_code(&mut c, &client, &approved);
    assert_eq!(
        (r["error"].as_str(), status.as_str()),
        (Some("invalid_grant"), "400"),
        "{r}"
    );
    // Approving the request shown before: no code, and no redirect to the URI the client
    // no longer owns (not even an error); the request ended with the URI.
    let (out, status) = as_user(&mut c, &user("w"), |tx| {
        let body: Value = tx
            .query_one("SELECT oauth.consent($1, true)", &[&shown])
            .unwrap()
            .get(0);
        let status: Option<String> = tx
            .query_one("SELECT current_setting('response.status', true)", &[])
            .unwrap()
            .get(0);
        (body, status.unwrap_or_default())
    });
    assert_eq!(
        (out["error"].as_str(), status.as_str()),
        (Some("not_found"), "404"),
        "{out}"
    );
    assert!(out.get("redirect_to").is_none());
    // The URI registered again: the code stays ended (grounds_removals.rs).
    update_client(&mut c, &client, json!({"redirect_uris": [REDIRECT]}));
    let (r, _) = redeem_code(&mut c, &client, &approved);
    assert_eq!(r["error"], "invalid_grant", "{r}");
}

#[test]
fn a_removed_scope_is_granted_by_nothing() {
    let (_db, mut c, client) = setup("g_scope_row");
    let listed = create_client(&mut c, &[REDIRECT], "confidential");
    update_client(
        &mut c,
        &listed,
        json!({"scopes": ["openid", "read", "write"]}),
    );
    let t = tokens(&mut c, &client, "openid read write", "u");
    let t_listed = tokens(&mut c, &listed, "openid read write", "u");
    let approved = get_code(&mut c, &client, REDIRECT, "openid read write", "u");

    assert!(
        json(&mut c, "SELECT to_jsonb(oauth.remove_scope('write'))", &[])
            .as_bool()
            .unwrap()
    );
    // An owner deleting the row directly has the same effect.
    c.batch_execute("DELETE FROM oauth.scopes WHERE name = 'read'")
        .unwrap();

    let r = refresh(&mut c, &client, t["refresh_token"].as_str().unwrap(), None);
    assert_eq!(r["scope"], "openid", "{r}");
    let r = refresh(
        &mut c,
        &listed,
        t_listed["refresh_token"].as_str().unwrap(),
        None,
    );
    assert_eq!(r["scope"], "openid", "{r}");
    let (r, _) = redeem_code(&mut c, &client, &approved);
    assert_eq!(r["scope"], "openid", "{r}");
    let scopes: Vec<String> = c
        .query_one(
            "SELECT scopes FROM oauth.clients WHERE client_id = $1",
            &[&listed.id],
        )
        .unwrap()
        .get(0);
    assert_eq!(scopes, vec!["openid".to_string()]);
    // New requests for it are refused at authorize.
    let r = authorize(&mut c, &auth_params(&client, REDIRECT, "openid write"));
    let to = r["redirect_to"].as_str().unwrap();
    assert_eq!(
        query_param(to, "error").as_deref(),
        Some("invalid_scope"),
        "{to}"
    );
    // Built-in scopes are not rows; unknown ones are not found; both audited or refused.
    assert_eq!(
        sqlstate(&mut c, "SELECT oauth.remove_scope('openid')"),
        "22023"
    );
    assert_eq!(
        sqlstate(&mut c, "SELECT oauth.remove_scope('nope')"),
        "P0002"
    );
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.audit_log WHERE event = 'scope_removed'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // A row overriding a built-in scope's text, deleted: the scope stays allowed.
    c.batch_execute("SELECT oauth.set_scope('email', 'Your address'); DELETE FROM oauth.scopes WHERE name = 'email'")
        .unwrap();
    update_client(&mut c, &listed, json!({"scopes": ["openid", "email"]}));
    c.batch_execute("SELECT oauth.set_scope('email', 'Your address'); DELETE FROM oauth.scopes WHERE name = 'email'")
        .unwrap();
    let scopes: Vec<String> = c
        .query_one(
            "SELECT scopes FROM oauth.clients WHERE client_id = $1",
            &[&listed.id],
        )
        .unwrap()
        .get(0);
    assert_eq!(scopes, vec!["openid".to_string(), "email".to_string()]);
}

#[test]
fn a_disabled_user_is_refused_at_every_check_until_enabled() {
    let (_db, mut c, client) = setup("g_disabled");
    let rs = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid read", "u");
    let at = t["access_token"].as_str().unwrap().to_string();
    let approved = get_code(&mut c, &client, REDIRECT, "openid read", "u");
    let session = session_token(&mut c, "u");
    let shown = pending_request(&mut c, &client, "openid", &[]);

    assert!(
        json(&mut c, "SELECT to_jsonb(oauth.disable_user('u'))", &[])
            .as_bool()
            .unwrap()
    );
    assert!(
        !json(&mut c, "SELECT to_jsonb(oauth.disable_user('u'))", &[])
            .as_bool()
            .unwrap()
    );

    let rt = t["refresh_token"].as_str().unwrap();
    let (r, _) = refresh_grant(&mut c, &client, rt, json!({}));
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let (r, _) = redeem_code(&mut c, &client, &approved);
    assert_eq!(r["error"], "invalid_grant", "{r}");
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify('{at}')")),
        "28000"
    );
    let u = json(&mut c, "SELECT oauth.userinfo($1)", &[&at]);
    assert_eq!(u["error"], "invalid_token", "{u}");
    assert_eq!(introspect(&mut c, &rs, &at)["active"], false);
    assert_eq!(introspect(&mut c, &rs, rt)["active"], false);
    // Its session ended; the same user through request.jwt.claims approves nothing.
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&shown, &session],
    );
    assert_eq!(d["error"], "login_required", "{d}");
    let d = call_as(&mut c, &user("u"), "SELECT oauth.authorization($1)", &shown);
    assert!(d.get("error").is_some() && d.get("client").is_none(), "{d}");

    // Enabled again: the families work again, the ended session stays ended.
    assert!(json(&mut c, "SELECT to_jsonb(oauth.enable_user('u'))", &[])
        .as_bool()
        .unwrap());
    let (r, _) = refresh_grant(&mut c, &client, rt, json!({}));
    assert_eq!(r["scope"], "openid read", "{r}");
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&shown, &session],
    );
    assert_eq!(d["error"], "login_required", "{d}");
    assert_eq!(
        user_events(&mut c, "u"),
        vec!["user_disabled", "user_enabled"]
    );

    // A direct UPDATE has the same effect as the function.
    c.batch_execute("UPDATE oauth.users SET disabled_at = now() WHERE id = 'u'")
        .unwrap();
    let (r, _) = refresh_grant(
        &mut c,
        &client,
        r["refresh_token"].as_str().unwrap(),
        json!({}),
    );
    assert_eq!(r["error"], "invalid_grant", "{r}");
}

#[test]
fn a_deleted_user_leaves_nothing_that_works() {
    let (db, mut c, client) = setup("g_deleted");
    // An upstream user (a row of oauth.users) and another login's user (no row).
    c.batch_execute("INSERT INTO oauth.users (id, email) VALUES ('up', 'up@example.com')")
        .unwrap();
    let mut held = vec![];
    for sub in ["up", "ext"] {
        let t = tokens(&mut c, &client, "openid read", sub);
        let code = get_code(&mut c, &client, REDIRECT, "read", sub);
        held.push((sub, t, code, session_token(&mut c, sub)));
    }
    // One by a direct DELETE, one by the function.
    c.batch_execute("DELETE FROM oauth.users WHERE id = 'up'")
        .unwrap();
    assert!(
        !json(&mut c, "SELECT to_jsonb(oauth.delete_user('ext'))", &[])
            .as_bool()
            .unwrap()
    );
    for (sub, t, code, session) in held {
        let (r, _) = refresh_grant(
            &mut c,
            &client,
            t["refresh_token"].as_str().unwrap(),
            json!({}),
        );
        assert_eq!(r["error"], "invalid_grant", "{sub}: {r}");
        let at = t["access_token"].as_str().unwrap();
        assert_eq!(
            sqlstate(&mut c, &format!("SELECT oauth.verify('{at}')")),
            "28000"
        );
        let (r, _) = redeem_code(&mut c, &client, &code);
        assert_eq!(r["error"], "invalid_grant", "{sub}: {r}");
        let d = json(&mut c, "SELECT oauth.grants($1)", &[&session]);
        assert!(d.get("error").is_some(), "{sub}: {d}");
        for table in ["consents", "grants", "authorizations", "sessions"] {
            let n: i64 = c
                .query_one(
                    &format!("SELECT count(*) FROM oauth.{table} WHERE user_id = $1"),
                    &[&sub],
                )
                .unwrap()
                .get(0);
            assert_eq!(n, 0, "{sub}: oauth.{table}");
        }
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM oauth.audit_log WHERE event = 'user_deleted' AND user_id = $1",
                &[&sub],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "{sub}");
    }
    // The administration functions are not anyone's.
    let nobody = format!("{}_nobody", db.name);
    c.batch_execute(&format!(
        "DROP ROLE IF EXISTS {nobody}; CREATE ROLE {nobody} LOGIN"
    ))
    .unwrap();
    let mut other = db.connect_as(&nobody);
    for f in ["disable_user", "enable_user", "delete_user"] {
        assert_eq!(
            sqlstate(&mut other, &format!("SELECT oauth.{f}('u')")),
            "42501",
            "{f}"
        );
    }
    assert_eq!(
        sqlstate(&mut other, "SELECT oauth.remove_scope('read')"),
        "42501"
    );
}

#[test]
fn a_scope_or_resource_removed_and_added_back_is_asked_for_again() {
    let (_db, mut c, client) = setup("g_readded");
    let code = approved_code(&mut c, &client, "openid read write", &[API], "u");
    redeem_code(&mut c, &client, &code);
    let shown = pending_request(&mut c, &client, "openid read write", &[]);

    c.batch_execute(&format!(
        "SELECT oauth.remove_scope('write'); SELECT oauth.remove_resource('{API}');"
    ))
    .unwrap();
    // What the user is shown after the removal is all the approval can give, even when the
    // scope comes back before the user clicks.
    let d = call_as(&mut c, &user("w"), "SELECT oauth.authorization($1)", &shown);
    assert_eq!(d["scopes"].as_array().unwrap().len(), 2, "{d}");
    let consented: Value = c
        .query_one(
            "SELECT scopes_by_audience FROM oauth.consents WHERE user_id = 'u'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        consented,
        json!({}),
        "the consent still covers what was removed"
    );

    c.batch_execute(&format!(
        "SELECT oauth.set_scope('write', 'Now means more'); SELECT oauth.add_resource('{API}');"
    ))
    .unwrap();
    let out = call_as(&mut c, &user("w"), "SELECT oauth.consent($1, true)", &shown);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let (t, _) = redeem_code(&mut c, &client, &code);
    assert_eq!(t["scope"], "openid read", "{t}");
    // The earlier approval no longer approves the scope or the server silently.
    let again = pending_request(&mut c, &client, "openid write", &[API]);
    let d = call_as(&mut c, &user("u"), "SELECT oauth.authorization($1)", &again);
    assert!(d.get("client").is_some(), "approved without asking: {d}");
}
