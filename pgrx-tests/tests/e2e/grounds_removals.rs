//! Removals that take effect for good (docs/security.md#decisions-that-outlive-their-grounds):
//! a scope or resource server removed (or renamed), a client's scopes narrowed, a redirect URI
//! removed. Re-checking at each use refuses what is gone *while* it is gone; these tests change
//! the grounds back afterwards — the scope registered again with a new meaning, the client
//! widened again, the URI registered again — and check that what was recorded before the
//! removal does not come back with them. Each obtains first, removes, restores, then uses.

use oauth_core::protocol::{redirect_uri, scope};
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};
use std::thread;
use std::time::{Duration, Instant};

const API: &str = "https://api.example.com";
const MCP: &str = "https://mcp.example.com";
const OTHER: &str = "https://app.example/other";

fn setup(tag: &str) -> (TestDb, Client, TestClient) {
    let db = TestDb::new(tag);
    let mut c = db.connect();
    c.batch_execute(&format!(
        "SELECT oauth.set_scope('notes:read', 'Read your notes');
         SELECT oauth.set_scope('notes:write', 'Write your notes');
         SELECT oauth.add_resource('{API}'); SELECT oauth.add_resource('{MCP}');"
    ))
    .unwrap();
    let client = create_client(&mut c, &[REDIRECT, OTHER], "confidential");
    (db, c, client)
}

/// A code approved by `sub` for `scope` and `resources`, redeemed: the token response.
fn family(
    c: &mut Client,
    client: &TestClient,
    scope: &str,
    resources: &[&str],
    sub: &str,
) -> Value {
    let code = approved_code(c, client, scope, resources, sub);
    let (t, _) = redeem_code(c, client, &code);
    assert!(t.get("refresh_token").is_some(), "{t}");
    t
}

fn refresh_of(c: &mut Client, client: &TestClient, t: &Value) -> Value {
    refresh_grant(c, client, t["refresh_token"].as_str().unwrap(), json!({})).0
}

/// Why the family that issued `t` was revoked (`None`: it was not).
fn revoked_reason(c: &mut Client, t: &Value) -> Option<String> {
    let sid = access_token_claims(t)["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    c.query_one(
        "SELECT revoked_reason FROM oauth.grants WHERE id::text = $1",
        &[&sid],
    )
    .unwrap()
    .get(0)
}

fn requests_left(c: &mut Client, ids: &[&str]) -> i64 {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    c.query_one(
        "SELECT count(*) FROM oauth.authorizations WHERE id = ANY ($1)",
        &[&ids],
    )
    .unwrap()
    .get(0)
}

/// Whether the code's redemption (or the refresh) was refused with `invalid_grant`.
fn refused(r: &Value) -> bool {
    r["error"] == "invalid_grant" && r.get("access_token").is_none()
}

#[test]
fn a_scope_and_a_resource_removed_then_added_back_revive_nothing() {
    let (_db, mut c, client) = setup("rm_readded");
    // alice: a family for openid notes:read at the API, one without a resource, one for both
    // servers, one granted only notes:read; codes approved and not redeemed; a request shown.
    let at_api = family(&mut c, &client, "openid notes:read", &[API], "alice");
    let no_resource = family(&mut c, &client, "openid notes:read", &[], "alice");
    let both = family(&mut c, &client, "openid notes:read", &[API, MCP], "alice");
    let only_notes = family(&mut c, &client, "notes:read offline_access", &[], "alice");
    let code_at_api = approved_code(&mut c, &client, "openid notes:read", &[API], "alice");
    let code_plain = approved_code(&mut c, &client, "openid notes:read", &[], "alice");
    let code_only_notes = approved_code(&mut c, &client, "notes:read", &[], "alice");
    let shown = pending_request(&mut c, &client, "openid notes:read", &[API, MCP]);

    c.batch_execute(&format!(
        "SELECT oauth.remove_scope('notes:read'); SELECT oauth.remove_resource('{API}');"
    ))
    .unwrap();
    c.batch_execute(&format!(
        "SELECT oauth.set_scope('notes:read', 'Read and share your notes');
         SELECT oauth.add_resource('{API}');"
    ))
    .unwrap();

    // A family whose only resource went is ended, never left to fall back to the default
    // audience; one left with no scope but offline_access is ended too.
    assert!(refused(&refresh_of(&mut c, &client, &at_api)));
    assert_eq!(
        revoked_reason(&mut c, &at_api).as_deref(),
        Some("resource removed")
    );
    assert!(refused(&refresh_of(&mut c, &client, &only_notes)));
    assert_eq!(
        revoked_reason(&mut c, &only_notes).as_deref(),
        Some("scope removed")
    );
    // The others keep what was not removed, and only that.
    let r = refresh_of(&mut c, &client, &no_resource);
    assert_eq!(r["scope"], "openid", "{r}");
    assert_eq!(access_token_claims(&r)["aud"], "authenticated", "{r}");
    let r = refresh_of(&mut c, &client, &both);
    assert_eq!(r["scope"], "openid", "{r}");
    assert_eq!(access_token_claims(&r)["aud"], json!(MCP), "{r}");
    // Even asking for them by name.
    let (r, _) = refresh_grant(
        &mut c,
        &client,
        r["refresh_token"].as_str().unwrap(),
        json!({"scope": "openid notes:read"}),
    );
    assert_eq!(r["error"], "invalid_scope", "{r}");

    // Codes: the one at the API alone and the one for notes:read alone are gone; the other
    // redeems without the scope.
    assert!(refused(&redeem_code(&mut c, &client, &code_at_api).0));
    assert!(refused(&redeem_code(&mut c, &client, &code_only_notes).0));
    let (t, _) = redeem_code(&mut c, &client, &code_plain);
    assert_eq!(t["scope"], "openid", "{t}");

    // The request shown before: approving it now gives what is left of it.
    let out = call_as(
        &mut c,
        &user("bob"),
        "SELECT oauth.consent($1, true)",
        &shown,
    );
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let (t, _) = redeem_code(&mut c, &client, &code);
    assert_eq!(t["scope"], "openid", "{t}");
    assert_eq!(access_token_claims(&t)["aud"], json!(MCP), "{t}");

    // Nothing recorded anywhere names them any more.
    let left: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM oauth.grants
                     WHERE revoked_at IS NULL AND ('notes:read' = ANY (scopes) OR $1 = ANY (resources)))
                  + (SELECT count(*) FROM oauth.authorizations
                     WHERE status <> 'redeemed' AND ('notes:read' = ANY (scopes) OR $1 = ANY (resources)))",
            &[&API],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[test]
fn a_client_narrowed_then_widened_again_revives_nothing() {
    let (_db, mut c, client) = setup("rm_widened");
    let t = family(
        &mut c,
        &client,
        "openid notes:read notes:write",
        &[],
        "alice",
    );
    let write_only = family(&mut c, &client, "notes:write", &[], "alice");
    let code = approved_code(
        &mut c,
        &client,
        "openid notes:read notes:write",
        &[],
        "alice",
    );
    let write_code = approved_code(&mut c, &client, "notes:write", &[], "alice");
    let shown = pending_request(&mut c, &client, "openid notes:write", &[]);

    // Narrowed (to a list without notes:write), then every known scope again.
    update_client(&mut c, &client, json!({"scopes": ["openid", "notes:read"]}));
    update_client(&mut c, &client, json!({"scopes": null}));

    let r = refresh_of(&mut c, &client, &t);
    assert_eq!(r["scope"], "openid notes:read", "{r}");
    assert!(refused(&refresh_of(&mut c, &client, &write_only)));
    assert_eq!(
        revoked_reason(&mut c, &write_only).as_deref(),
        Some("client scopes narrowed")
    );
    let (t2, _) = redeem_code(&mut c, &client, &code);
    assert_eq!(t2["scope"], "openid notes:read", "{t2}");
    assert!(refused(&redeem_code(&mut c, &client, &write_code).0));
    let out = call_as(
        &mut c,
        &user("bob"),
        "SELECT oauth.consent($1, true)",
        &shown,
    );
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    assert_eq!(redeem_code(&mut c, &client, &code).0["scope"], "openid");

    // alice's consent no longer covers notes:write: asking for it again is asked.
    let again = pending_request(&mut c, &client, "openid notes:write", &[]);
    let d = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.authorization($1)",
        &again,
    );
    assert!(d.get("client").is_some(), "approved without asking: {d}");
}

#[test]
fn a_redirect_uri_removed_then_registered_again_revives_nothing() {
    let (_db, mut c, client) = setup("rm_redirect");
    let code = approved_code(&mut c, &client, "openid", &[], "alice");
    let shown = pending_request(&mut c, &client, "openid", &[]);
    let elsewhere = get_code(&mut c, &client, OTHER, "openid", "alice");

    update_client(&mut c, &client, json!({"redirect_uris": [OTHER]}));
    update_client(&mut c, &client, json!({"redirect_uris": [REDIRECT, OTHER]}));

    assert!(refused(&redeem_code(&mut c, &client, &code).0));
    assert_eq!(
        requests_left(&mut c, &[&shown]),
        0,
        "the request to the URI was ended"
    );
    // A code for a URI still registered is untouched.
    let t = exchange(&mut c, &client, &elsewhere, OTHER);
    assert!(t.get("access_token").is_some(), "{t}");
}

#[test]
fn a_loopback_redirect_keeps_its_port_flexibility_when_the_list_changes() {
    let (_db, mut c, client) = setup("rm_loopback");
    update_client(
        &mut c,
        &client,
        json!({"redirect_uris": [REDIRECT, LOOPBACK]}),
    );
    let native = "http://127.0.0.1:5173/callback";
    let code = get_code(&mut c, &client, native, "openid", "alice");
    let gone = get_code(
        &mut c,
        &client,
        "http://127.0.0.1:5174/callback",
        "openid",
        "alice",
    );
    // Another URI removed: the loopback one (any port) is still registered.
    update_client(&mut c, &client, json!({"redirect_uris": [LOOPBACK]}));
    let t = exchange(&mut c, &client, &code, native);
    assert!(t.get("access_token").is_some(), "{t}");
    // The loopback one replaced by another path: its codes are ended.
    update_client(
        &mut c,
        &client,
        json!({"redirect_uris": ["http://127.0.0.1/other"]}),
    );
    update_client(&mut c, &client, json!({"redirect_uris": [LOOPBACK]}));
    let t = exchange(&mut c, &client, &gone, "http://127.0.0.1:5174/callback");
    assert!(refused(&t), "{t}");
}

#[test]
fn a_resource_renamed_with_update_is_removed() {
    let (_db, mut c, client) = setup("rm_renamed");
    let r3 = "https://r3.example.com";
    c.batch_execute(&format!("SELECT oauth.add_resource('{r3}')"))
        .unwrap();
    let t = family(&mut c, &client, "openid", &[r3], "alice");

    c.batch_execute(&format!(
        "UPDATE oauth.resources SET resource = 'https://r3-new.example.com' WHERE resource = '{r3}'"
    ))
    .unwrap();
    assert!(refused(&refresh_of(&mut c, &client, &t)));
    assert_eq!(
        revoked_reason(&mut c, &t).as_deref(),
        Some("resource removed")
    );

    // Another server registered later at the old URL is asked for, not approved silently.
    c.batch_execute(&format!("SELECT oauth.add_resource('{r3}')"))
        .unwrap();
    let again = pending_request(&mut c, &client, "openid", &[r3]);
    let d = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.authorization($1)",
        &again,
    );
    assert!(d.get("client").is_some(), "approved without asking: {d}");
    // Renaming a scope is removing it too (scope_removed had that already).
    let code = approved_code(&mut c, &client, "notes:read", &[], "alice");
    c.batch_execute("UPDATE oauth.scopes SET name = 'notes:view' WHERE name = 'notes:read'")
        .unwrap();
    c.batch_execute("SELECT oauth.set_scope('notes:read', 'back')")
        .unwrap();
    assert!(refused(&redeem_code(&mut c, &client, &code).0));
}

/// The SQL the triggers use mirrors `scope::allowed_for_client` and `redirect_uri::find_match`
/// exactly, over the same inputs.
#[test]
fn the_sql_mirrors_agree_with_the_rust_rules() {
    let db = TestDb::new("rm_mirrors");
    let mut c = db.connect();
    c.batch_execute(
        "SELECT oauth.set_scope('read', 'r'); SELECT oauth.set_scope('write', 'w');
         SELECT oauth.set_scope('openid', 'Sign in (our text)');",
    )
    .unwrap();
    let registered: Vec<String> = c
        .query_one("SELECT array_agg(name) FROM oauth.scopes", &[])
        .unwrap()
        .get(0);
    let lists: [Option<&[&str]>; 5] = [
        None,
        Some(&[]),
        Some(&["read"]),
        Some(&["offline_access", "openid"]),
        Some(&["unregistered", "write"]),
    ];
    for list in lists {
        let explicit: Option<Vec<String>> = list.map(|l| l.iter().map(|s| s.to_string()).collect());
        let mut rust = scope::allowed_for_client(explicit.as_deref(), &registered);
        let sql: Vec<String> = c
            .query_one("SELECT oauth.scopes_allowed_for($1)", &[&explicit])
            .unwrap()
            .get(0);
        let mut sql: Vec<String> = sql.into_iter().collect();
        rust.sort();
        rust.dedup();
        sql.sort();
        sql.dedup();
        assert_eq!(sql, rust, "{list:?}");
    }

    let registrations: [&[&str]; 4] = [
        &["https://app.example.com/callback"],
        &[
            "http://127.0.0.1/cb",
            "http://[::1]:1234/cb",
            "http://localhost/cb",
        ],
        &["http://localhost:3000/cb?x=1", "http://127.0.0.1"],
        &[
            "com.example.app:/oauth2redirect",
            "https://app.example.com/cb?a=b",
        ],
    ];
    let long = format!("https://app.example.com/{}", "x".repeat(2000));
    let mut requested: Vec<String> = [
        "https://app.example.com/callback",
        "https://app.example.com/callback/",
        "https://app.example.com/Callback",
        "https://APP.example.com/callback",
        "https://app.example.com/callback?x=1",
        "https://app.example.com/callback#x",
        "https://app.example.com/%63allback",
        "https://app.example.com:443/callback",
        "https://app.example.com.evil.example/callback",
        "https://app.example.com/cb?a=b",
        "com.example.app:/oauth2redirect",
        "com.example.app:/oauth2redirect/",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:51234/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:00080/cb",
        "http://127.0.0.1:65535/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:123456/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:5/cb2",
        "http://127.0.0.1.evil.example/cb",
        "http://127.0.0.1",
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080?x",
        "http://127.0.0.1?x",
        "http://127.0.0.1x",
        "http://[::1]/cb",
        "http://[::1]:9/cb",
        "http://[::1]:1234/cb",
        "http://localhost:8080/cb",
        "http://localhost.evil.example/cb",
        "http://LOCALHOST/cb",
        "HTTP://localhost/cb",
        "https://localhost/cb",
        "http://localhost:3000/cb?x=1",
        "http://localhost:1/cb?x=1",
        "http://localhost/cb?x=2",
        "http://localhost:8080/cb\n",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    requested.push(long);
    for reg in registrations {
        let reg: Vec<String> = reg.iter().map(|s| s.to_string()).collect();
        for req in &requested {
            let rust = redirect_uri::find_match(&reg, req).is_some();
            let sql: Option<bool> = c
                .query_one("SELECT oauth.redirect_uri_matches($1, $2)", &[&reg, req])
                .unwrap()
                .get(0);
            assert_eq!(sql, Some(rust), "{reg:?} {req:?}");
        }
    }
}

/// A scope removed while a code is being redeemed leaves no working family: the removal ends
/// requests before families, so it waits for the redemption holding the request's row and then
/// sees the family it started (ordered by locks, observed through `pg_locks`, as in
/// grounds_races.rs).
#[test]
fn a_scope_removed_during_a_redemption_leaves_no_working_family() {
    const GATE: i64 = 28_029;
    let (db, mut c, client) = setup("rm_race");
    c.batch_execute(
        "CREATE FUNCTION public.gated(event jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
         BEGIN
             PERFORM pg_advisory_xact_lock_shared(28029);
             RETURN jsonb_build_object('claims', event->'claims');
         END
         $$;",
    )
    .unwrap();
    let code = approved_code(&mut c, &client, "notes:read", &[], "racer");
    let mut gate = db.connect();
    gate.execute("SELECT pg_advisory_lock($1)", &[&GATE])
        .unwrap();
    let mut s1 = db.connect();
    s1.batch_execute("SET oauth_server.access_token_hook = 'public.gated'")
        .unwrap();
    let pid1: i32 = s1.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let (id, secret) = (client.id.clone(), client.secret.clone());
    let redemption =
        thread::spawn(move || redeem_code(&mut s1, &TestClient { id, secret }, &code).0);
    let wait_until = |c: &mut Client, what: &str, sql: &str, pids: &[i32]| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok: bool = match pids {
                [a] => c.query_one(sql, &[a]),
                [a, b] => c.query_one(sql, &[a, b]),
                _ => unreachable!(),
            }
            .unwrap()
            .get(0);
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "never observed: {what}");
            thread::sleep(Duration::from_millis(5));
        }
    };
    wait_until(
        &mut gate,
        "the redemption waiting in its hook",
        "SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND NOT granted)",
        &[pid1],
    );
    let mut s2 = db.connect();
    let pid2: i32 = s2.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let removal = thread::spawn(move || {
        s2.batch_execute("SELECT oauth.remove_scope('notes:read')")
            .unwrap()
    });
    wait_until(
        &mut gate,
        "the removal blocked by the redemption",
        "SELECT $2 = ANY (pg_blocking_pids($1))",
        &[pid2, pid1],
    );
    gate.execute("SELECT pg_advisory_unlock($1)", &[&GATE])
        .unwrap();
    let tokens = redemption.join().unwrap();
    removal.join().unwrap();
    // The redemption began first, so it answered with tokens; they no longer work.
    assert!(tokens.get("access_token").is_some(), "{tokens}");
    assert!(refused(&refresh_of(&mut c, &client, &tokens)));
    assert_eq!(
        revoked_reason(&mut c, &tokens).as_deref(),
        Some("scope removed")
    );
    let at = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify('{at}')")),
        "28000"
    );
}
