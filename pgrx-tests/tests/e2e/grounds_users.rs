//! Every spelling of a change to `oauth.users` takes effect as the functions do, or is refused
//! (docs/security.md#decisions-that-outlive-their-grounds): the triggers follow UPDATE and
//! DELETE, however written; what they cannot follow — TRUNCATE, a changed id, a disabled_at in
//! the future — is refused with a SQLSTATE and the way to do it instead.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::Value;

fn setup(tag: &str) -> (TestDb, Client, TestClient) {
    let db = TestDb::new(tag);
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    (db, c, client)
}

/// Tokens for `sub`, a user of `oauth.users` (an upstream user).
fn held(c: &mut Client, client: &TestClient, sub: &str) -> Value {
    c.execute("INSERT INTO oauth.users (id) VALUES ($1)", &[&sub])
        .unwrap();
    tokens(c, client, "openid", sub)
}

/// Rotates `t`'s refresh token: the next token response, or the error.
fn rotate(c: &mut Client, client: &TestClient, t: &Value) -> Result<Value, Value> {
    let r = refresh(c, client, t["refresh_token"].as_str().unwrap(), None);
    if r.get("error").is_some() {
        Err(r)
    } else {
        Ok(r)
    }
}

/// The error `sql` raises: (SQLSTATE, message, hint).
fn refused(c: &mut Client, sql: &str) -> (String, String, String) {
    let e = c
        .batch_execute(sql)
        .expect_err(&format!("{sql} should have been refused"));
    let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
    (
        db.code().code().to_string(),
        db.message().to_string(),
        db.hint().unwrap_or_default().to_string(),
    )
}

fn count(c: &mut Client, sql: &str, sub: &str) -> i64 {
    c.query_one(sql, &[&sub]).unwrap().get(0)
}

#[test]
fn truncating_users_is_refused_while_any_user_would_leave_something_behind() {
    let (_db, mut c, client) = setup("users_truncate");
    let t = held(&mut c, &client, "t1");
    // CASCADE (identities with it) and naming both tables: either would have emptied the
    // table under every family and consent without a trigger firing.
    for sql in [
        "TRUNCATE oauth.users CASCADE",
        "TRUNCATE oauth.users, oauth.identities",
        "TRUNCATE ONLY oauth.users CASCADE",
    ] {
        let (state, message, hint) = refused(&mut c, sql);
        assert_eq!(state, "55000", "{sql}: {message}");
        assert!(hint.contains("DELETE FROM oauth.users"), "{sql}: {hint}");
    }
    let t = rotate(&mut c, &client, &t).expect("nothing was truncated");
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM oauth.users WHERE id = $1",
            "t1"
        ),
        1
    );

    // The way the hint names: every user forgotten, their family with them.
    c.batch_execute("DELETE FROM oauth.users").unwrap();
    assert_eq!(
        rotate(&mut c, &client, &t).unwrap_err()["error"],
        "invalid_grant"
    );
    // An empty table leaves nothing behind: truncating it is fine.
    c.batch_execute("TRUNCATE oauth.users CASCADE").unwrap();
}

#[test]
fn a_users_id_never_changes() {
    let (_db, mut c, client) = setup("users_id");
    let t = held(&mut c, &client, "old-sub");
    for sql in [
        "UPDATE oauth.users SET id = 'new-sub' WHERE id = 'old-sub'",
        "INSERT INTO oauth.users (id) VALUES ('old-sub')
         ON CONFLICT (id) DO UPDATE SET id = 'new-sub'",
        "MERGE INTO oauth.users u USING (VALUES ('old-sub')) v(id) ON u.id = v.id
         WHEN MATCHED THEN UPDATE SET id = 'new-sub'",
    ] {
        let (state, message, hint) = refused(&mut c, sql);
        assert_eq!(state, "0A000", "{sql}: {message}");
        assert!(message.contains("never changes"), "{message}");
        assert!(hint.contains("delete_user"), "{hint}");
    }
    // Writing the same id is no change.
    c.batch_execute("UPDATE oauth.users SET id = id, profile = '{\"name\": \"A\"}'")
        .unwrap();
    // The family stays its user's, and no row holds another sub for it to drift to.
    rotate(&mut c, &client, &t).expect("the user is unchanged");
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM oauth.users WHERE id = $1",
            "new-sub"
        ),
        0
    );
}

#[test]
fn disabled_at_is_never_in_the_future() {
    let (_db, mut c, client) = setup("users_future");
    let t = held(&mut c, &client, "u");
    for sql in [
        "UPDATE oauth.users SET disabled_at = now() + interval '1 day' WHERE id = 'u'",
        // GoTrue's banned_until as it might be copied over: a time the ban ends.
        "UPDATE oauth.users SET disabled_at = '9999-12-31T23:59:59Z' WHERE id = 'u'",
        "INSERT INTO oauth.users (id, disabled_at) VALUES ('v', now() + interval '1 hour')",
    ] {
        let (state, message, hint) = refused(&mut c, sql);
        assert_eq!(state, "22023", "{sql}: {message}");
        assert!(message.contains("future"), "{message}");
        assert!(hint.contains("disable_user"), "{hint}");
    }
    // Not disabled by the refused writes: its family works.
    let t = rotate(&mut c, &client, &t).expect("the user is enabled");
    // The present, read from the clock later in the transaction than now(), disables.
    c.batch_execute(
        "BEGIN; SELECT pg_sleep(0.01);
         UPDATE oauth.users SET disabled_at = clock_timestamp() WHERE id = 'u'; COMMIT",
    )
    .unwrap();
    assert_eq!(
        rotate(&mut c, &client, &t).unwrap_err()["error"],
        "invalid_grant"
    );
}

#[test]
fn rewriting_disabled_at_ends_sessions_started_while_disabled() {
    let (_db, mut c, client) = setup("users_rewrite");
    c.batch_execute("INSERT INTO oauth.users (id) VALUES ('u')")
        .unwrap();
    let before: String = c
        .query_one("SELECT oauth.issue_session_token('u')", &[])
        .unwrap()
        .get(0);
    c.batch_execute("SELECT oauth.disable_user('u')").unwrap();
    // No session is started for a disabled user: one minted now would wake up at enable_user.
    let (state, message, hint) = refused(&mut c, "SELECT oauth.issue_session_token('u')");
    assert_eq!(state, "55000", "{message}");
    assert!(message.contains("disabled"), "{message}");
    assert!(hint.contains("oauth.enable_user"), "{hint}");
    // A session row written some other way while disabled (an owner's INSERT) ends at the
    // next write of disabled_at, from one disabled time to another: still disabled.
    c.batch_execute(
        "INSERT INTO oauth.sessions (user_id, expires_at) VALUES ('u', now() + interval '1 hour')",
    )
    .unwrap();
    c.batch_execute(
        "UPDATE oauth.users SET disabled_at = disabled_at - interval '1 hour' WHERE id = 'u'",
    )
    .unwrap();
    let live = count(
        &mut c,
        "SELECT count(*) FROM oauth.sessions WHERE user_id = $1 AND ended_at IS NULL",
        "u",
    );
    assert_eq!(live, 0);
    c.batch_execute("SELECT oauth.enable_user('u')").unwrap();
    // The session from before the disabling stays ended after the enabling.
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &before],
    );
    assert_eq!(d["error"], "login_required", "{d}");
    // One disabling, one enabling: a rewrite is no new event.
    assert_eq!(
        user_events(&mut c, "u"),
        vec!["user_disabled", "user_enabled"]
    );
}

#[test]
fn other_spellings_of_disable_and_delete_take_effect() {
    let (_db, mut c, client) = setup("users_spellings");
    let spellings = [
        (
            "merge",
            "MERGE INTO oauth.users u USING (VALUES ('merge')) v(id) ON u.id = v.id
             WHEN MATCHED THEN UPDATE SET disabled_at = now()",
        ),
        (
            "upsert",
            "INSERT INTO oauth.users (id) VALUES ('upsert')
             ON CONFLICT (id) DO UPDATE SET disabled_at = now()",
        ),
        (
            "using",
            "DELETE FROM oauth.users u USING (VALUES ('using')) v(id) WHERE u.id = v.id",
        ),
        (
            "merge-delete",
            "MERGE INTO oauth.users u USING (VALUES ('merge-delete')) v(id) ON u.id = v.id
             WHEN MATCHED THEN DELETE",
        ),
    ];
    for (sub, sql) in spellings {
        let t = held(&mut c, &client, sub);
        c.batch_execute(sql).unwrap();
        let r = rotate(&mut c, &client, &t).unwrap_err();
        assert_eq!(r["error"], "invalid_grant", "{sub}: {r}");
        let at = t["access_token"].as_str().unwrap();
        assert_eq!(
            sqlstate(&mut c, &format!("SELECT oauth.verify('{at}')")),
            "28000",
            "{sub}"
        );
    }
}

/// TRUNCATE skips the row triggers that withdraw a removed scope or resource from clients and
/// consents, and that end the sessions of a removed identity: refused while there are rows,
/// and DELETE (which the hint names) does withdraw.
#[test]
fn truncating_a_registry_or_identities_is_refused_while_it_has_rows() {
    let (_db, mut c, _client) = setup("registries_truncate");
    c.batch_execute(
        "SELECT oauth.set_scope('read', 'Read'); SELECT oauth.add_resource('https://api.example')",
    )
    .unwrap();
    c.batch_execute(
        "INSERT INTO oauth.consents (user_id, client_id, scopes_by_audience)
         SELECT 'u', client_id, '{\"https://api.example\": [\"read\"]}' FROM oauth.clients",
    )
    .unwrap();
    for table in ["oauth.scopes", "oauth.resources"] {
        let (state, message, hint) = refused(&mut c, &format!("TRUNCATE {table} CASCADE"));
        assert_eq!(state, "55000", "{table}: {message}");
        assert!(hint.contains(&format!("DELETE FROM {table}")), "{hint}");
    }
    let kept = count(
        &mut c,
        "SELECT count(*) FROM oauth.consents WHERE user_id = $1 AND scopes_by_audience ? 'https://api.example'",
        "u",
    );
    assert_eq!(kept, 1, "nothing was truncated");
    // The way the hint names withdraws both from the consent.
    c.batch_execute("DELETE FROM oauth.scopes; DELETE FROM oauth.resources")
        .unwrap();
    let left = count(
        &mut c,
        "SELECT count(*) FROM oauth.consents WHERE user_id = $1 AND scopes_by_audience <> '{}'",
        "u",
    );
    assert_eq!(left, 0);
    // Empty tables may be truncated (restores, test resets).
    c.batch_execute("TRUNCATE oauth.scopes, oauth.resources, oauth.identities")
        .unwrap();
}
