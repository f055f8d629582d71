//! `oauth.admin_users`, the SQL side of the front's `PUT`/`DELETE /auth/v1/admin/users/{id}`
//! (supabase-js `auth.admin.updateUserById(id, {ban_duration})` and `deleteUser(id)`): executable
//! by everyone, authorised only by an administrator key or an administrator's session; a ban
//! takes effect at once (the user's refresh is refused, their session ends), and only the bans
//! this server can honour exactly are accepted — no timed ones.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

fn anon(db: &TestDb) -> Client {
    db.connect()
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE admin_users_anon LOGIN; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        )
        .unwrap();
    db.connect_as("admin_users_anon")
}

/// `oauth.admin_users(credential, action, user_id, params)`: its answer, or (SQLSTATE, message).
fn call(
    p: &mut Client,
    credential: Option<&str>,
    action: &str,
    sub: &str,
    params: Value,
) -> Result<Value, (String, String)> {
    p.query_one(
        "SELECT oauth.admin_users($1, $2, $3, $4)",
        &[&credential, &action, &sub, &params],
    )
    .map(|r| r.get(0))
    .map_err(|e| {
        let code = e.code().map(|s| s.code().to_string()).unwrap_or_default();
        let message = e.as_db_error().map(|d| d.message().to_string());
        (code, message.unwrap_or_else(|| e.to_string()))
    })
}

fn ban(duration: &str) -> Value {
    json!({ "ban_duration": duration })
}

fn live_sessions(c: &mut Client, sub: &str) -> i64 {
    c.query_one(
        "SELECT count(*) FROM oauth.sessions WHERE user_id = $1 AND ended_at IS NULL",
        &[&sub],
    )
    .unwrap()
    .get(0)
}

/// Rotates `rt`: the new refresh token, or the error.
fn rotate(c: &mut Client, client: &TestClient, rt: &str) -> Result<String, Value> {
    let r = refresh(c, client, rt, None);
    r["refresh_token"]
        .as_str()
        .map(String::from)
        .ok_or(r.clone())
}

fn events(c: &mut Client, sub: &str) -> Vec<(String, Value)> {
    c.query(
        "SELECT event, details FROM oauth.audit_log
         WHERE user_id = $1 AND (event LIKE 'user\\_%' OR event LIKE 'admin\\_user\\_%')
         ORDER BY at",
        &[&sub],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[test]
fn an_administrator_bans_forever_at_once_lifts_it_and_deletes() {
    let db = TestDb::new("admusers");
    let mut c = db.connect();
    let key: String = c
        .query_one("SELECT oauth.create_admin_key('console')", &[])
        .unwrap()
        .get(0);
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid", "u");
    let mut rt = t["refresh_token"].as_str().unwrap().to_string();
    let session = session_token(&mut c, "u");
    assert_eq!(live_sessions(&mut c, "u"), 1);
    let mut p = anon(&db);

    // Banned for good (any Go spelling of 100 years): the refresh is refused, the session ends.
    let banned = call(&mut p, Some(&key), "ban", "u", ban("52560000m")).unwrap();
    assert_eq!(
        banned,
        json!({"id": "u", "banned_until": "9999-12-31T23:59:59Z"})
    );
    let r = rotate(&mut c, &client, &rt).unwrap_err();
    assert_eq!(r["error"], "invalid_grant", "{r}");
    assert_eq!(live_sessions(&mut c, "u"), 0);
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify_session('{session}')")),
        "28000"
    );
    assert_eq!(
        call(&mut p, Some(&key), "get", "u", json!({})).unwrap(),
        banned
    );
    // Banning again changes nothing and says the same.
    assert_eq!(
        call(&mut p, Some(&key), "ban", "u", ban("876000h")).unwrap(),
        banned
    );

    // Lifted: the family works again; the ended session stays ended.
    let lifted = call(&mut p, Some(&key), "ban", "u", ban("none")).unwrap();
    assert_eq!(lifted, json!({"id": "u", "banned_until": null}));
    assert_eq!(
        call(&mut p, Some(&key), "get", "u", json!({})).unwrap(),
        lifted
    );
    rt = rotate(&mut c, &client, &rt).unwrap();
    assert_eq!(live_sessions(&mut c, "u"), 0);

    // Deleted: gone with what they left behind.
    let deleted = call(&mut p, Some(&key), "delete", "u", json!({})).unwrap();
    assert_eq!(deleted["id"], "u");
    let r = rotate(&mut c, &client, &rt).unwrap_err();
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let left: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM oauth.users WHERE id = 'u')
                  + (SELECT count(*) FROM oauth.grants WHERE user_id = 'u')
                  + (SELECT count(*) FROM oauth.consents WHERE user_id = 'u')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);

    // Audited: who did it, besides what the triggers write of the user's state.
    let by = json!("admin key console");
    let log = events(&mut c, "u");
    let names: Vec<&str> = log.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            "user_disabled",
            "admin_user_banned",
            "admin_user_banned",
            "user_enabled",
            "admin_user_unbanned",
            "user_deleted",
            "admin_user_deleted",
        ]
    );
    let admin_rows: Vec<&Value> = log
        .iter()
        .filter(|(e, _)| e.starts_with("admin_"))
        .map(|(_, d)| d)
        .collect();
    assert!(admin_rows.iter().all(|d| d["by"] == by), "{admin_rows:?}");
    assert_eq!(admin_rows[0]["changed"], true);
    assert_eq!(admin_rows[1]["changed"], false);
    assert_eq!(admin_rows[0]["ban_duration"], "52560000m");
}

#[test]
fn no_users_session_clients_token_or_missing_credential_bans_anyone() {
    let db = TestDb::new("admusers_who");
    db.set("admin_session_roles", "service_role");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid", "victim");
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let own_session = session_token(&mut c, "victim");
    let other_session = session_token(&mut c, "mallory");
    let mut p = anon(&db);
    let mut refused = |credential: Option<&str>| {
        let ban_it = call(&mut p, credential, "ban", "victim", ban("876000h"));
        let delete_it = call(&mut p, credential, "delete", "victim", json!({}));
        let get_it = call(&mut p, credential, "get", "victim", json!({}));
        [ban_it, delete_it, get_it].map(|r| r.unwrap_err().0)
    };
    // A user's session (their own or another's) is verified, but is not an administrator's.
    assert_eq!(refused(Some(&own_session)), ["42501", "42501", "42501"]);
    assert_eq!(refused(Some(&other_session)), ["42501", "42501", "42501"]);
    // Tokens issued to a client are not sessions at all; nor is nothing.
    for token in [&t["access_token"], &t["id_token"], &t["refresh_token"]] {
        for code in refused(token.as_str()) {
            assert!(code == "28000" || code == "42501", "{code} {token}");
        }
    }
    assert_eq!(refused(None), ["28000", "28000", "28000"]);
    assert_eq!(refused(Some("")), ["28000", "28000", "28000"]);
    assert_eq!(
        refused(Some("oas_admin_guessed")),
        ["28000", "28000", "28000"]
    );
    // Nothing happened to the victim.
    let rt = rotate(&mut c, &client, &rt).unwrap();
    assert_eq!(live_sessions(&mut c, "victim"), 1);
    assert!(events(&mut c, "victim").is_empty());
    // A session of an administrator role is an administrator's.
    let ops: String = c
        .query_one(
            "SELECT oauth.issue_session_token('ops', '{\"role\": \"service_role\"}')",
            &[],
        )
        .unwrap()
        .get(0);
    call(&mut p, Some(&ops), "ban", "victim", ban("876000h")).unwrap();
    let r = rotate(&mut c, &client, &rt).unwrap_err();
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let by: Value = c
        .query_one(
            "SELECT details->'by' FROM oauth.audit_log WHERE event = 'admin_user_banned'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(by.as_str().unwrap().starts_with("session of ops"), "{by}");
}

#[test]
fn timed_bans_and_other_spellings_are_refused_with_the_values_accepted() {
    let db = TestDb::new("admusers_bad");
    let mut c = db.connect();
    let key: String = c
        .query_one("SELECT oauth.create_admin_key('console')", &[])
        .unwrap()
        .get(0);
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid", "u");
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let mut p = anon(&db);
    for timed in ["24h", "875999h", "0", "-876000h"] {
        let (code, message) = call(&mut p, Some(&key), "ban", "u", ban(timed)).unwrap_err();
        assert_eq!(code, "22023", "{timed}");
        assert!(
            message.contains("timed bans are not supported")
                && message.contains("\"none\"")
                && message.contains("\"876000h\""),
            "{timed}: {message}"
        );
    }
    for (params, action) in [
        (ban("None"), "ban"),
        (ban("forever"), "ban"),
        (ban("36500d"), "ban"),
        (json!({"ban_duration": 876000}), "ban"),
        (json!({}), "ban"),
        (
            json!({"ban_duration": "876000h", "email": "x@example.com"}),
            "ban",
        ),
        (json!({"should_soft_delete": true}), "delete"),
        (json!([]), "delete"),
        (json!({}), "disable"),
        (json!({"x": 1}), "get"),
    ] {
        let (code, message) = call(&mut p, Some(&key), action, "u", params.clone()).unwrap_err();
        assert_eq!(code, "22023", "{action} {params}: {message}");
    }
    let (code, _) = call(&mut p, Some(&key), "ban", "", ban("876000h")).unwrap_err();
    assert_eq!(code, "22023");
    // None of it touched the user.
    rotate(&mut c, &client, &rt).unwrap();
    assert!(events(&mut c, "u").is_empty());
}
