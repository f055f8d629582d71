//! What a derived family stands on: its source family (revoked by any path, every token
//! derived from it falls, transitively), the rule that allowed it (removed: its families end;
//! changed: its refresh is decided again), the resources and scopes the rule names, and an end
//! it never passes.

use super::*;

/// B's token for the API derived from alice's token of A, D's derived from B's; with refresh
/// tokens when `refresh`.
fn two_levels(
    c: &mut Client,
    a: &TestClient,
    b: &TestClient,
    refresh: bool,
) -> (Value, Value, Value) {
    let d = agent(c);
    allow(c, b, MCP, API, &["api:read"], true, refresh);
    allow(c, &d, API, MCP, &["api:read"], true, refresh);
    let subject = user_token(c, a, "alice", "openid api:read offline_access");
    let (t1, s1) = exchange_as(c, b, form(at(&subject), API, json!({})));
    let (t2, s2) = exchange_as(c, &d, form(at(&t1), MCP, json!({})));
    assert_eq!((s1.as_str(), s2.as_str()), ("200", "200"), "{t1} {t2}");
    (subject, t1, t2)
}

#[test]
fn revoking_the_source_revokes_every_token_derived_from_it() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_revoke");
    // By refresh-token reuse of the user's family.
    let (subject, t1, t2) = two_levels(&mut c, &a, &b, false);
    let rt = subject["refresh_token"].as_str().unwrap();
    refresh(&mut c, &a, rt, None);
    let reused = refresh(&mut c, &a, rt, None);
    assert_eq!(reused["error"], json!("invalid_grant"), "{reused}");
    for t in [&subject, &t1, &t2] {
        assert_eq!(verify_sqlstate(&mut c, at(t)), "28000", "{t}");
    }
    // By the user revoking the client (oauth.revoke_grant), and by disabling the user.
    let (_, t1, t2) = two_levels(&mut c, &a, &b, false);
    call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.revoke_grant($1)",
        &a.id,
    );
    assert_eq!(verify_sqlstate(&mut c, at(&t1)), "28000");
    assert_eq!(verify_sqlstate(&mut c, at(&t2)), "28000");
    // By deleting the user's app: its families go, and what was derived from them, down the
    // chain; what was derived from another app's family stays.
    let (_, t1, t2) = two_levels(&mut c, &a, &b, false);
    let other_app = create_client(&mut c, &[REDIRECT], "confidential");
    let kept = user_token(&mut c, &other_app, "carol", "openid api:read");
    let (kept_derived, _) = exchange_as(&mut c, &b, form(at(&kept), API, json!({})));
    c.query_one("SELECT oauth.delete_client($1)", &[&a.id])
        .unwrap();
    assert_eq!(verify_sqlstate(&mut c, at(&t1)), "28000");
    assert_eq!(verify_sqlstate(&mut c, at(&t2)), "28000");
    let orphans: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.grants g WHERE g.source_grant_id IS NOT NULL
               AND NOT EXISTS (SELECT FROM oauth.grants s WHERE s.id = g.source_grant_id)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(orphans, 0);
    assert!(json(&mut c, "SELECT oauth.verify($1)", &[&at(&kept_derived)])["act"].is_object());
    let a = create_client(&mut c, &[REDIRECT], "confidential");
    let (_, t1, _) = two_levels(&mut c, &a, &b, false);
    c.query_one("SELECT oauth.disable_user('alice')", &[])
        .unwrap();
    assert_eq!(verify_sqlstate(&mut c, at(&t1)), "28000");
    let subject = user_token(&mut c, &a, "bob", "openid api:read");
    c.query_one("SELECT oauth.disable_user('bob')", &[])
        .unwrap();
    assert_eq!(
        refusal(&mut c, &b, form(at(&subject), API, json!({}))).0,
        "invalid_request"
    );
}

#[test]
fn a_derived_family_refreshes_only_as_its_rule_and_source_still_allow() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_refresh");
    let (subject, t1, _) = two_levels(&mut c, &a, &b, true);
    let rt = t1["refresh_token"].as_str().unwrap().to_string();
    let (r, _) = exchange_as(
        &mut c,
        &b,
        json!({"grant_type": "refresh_token", "refresh_token": rt}),
    );
    assert!(r.get("access_token").is_some(), "{r}");
    let claims = access_token_claims(&r);
    assert_eq!(claims["act"], json!({"sub": b.id, "client_id": b.id}));
    assert_eq!(claims["aud"], json!(API));
    assert!(r.get("id_token").is_none());
    // Its refresh token ends no later than the user's family could reach.
    let ends: Vec<bool> = c
        .query(
            "SELECT t.expires_at <= (SELECT max(s.expires_at) FROM oauth.refresh_tokens s
                                      JOIN oauth.grants sg ON sg.id = s.grant_id
                                      WHERE sg.client_id = $1)
             FROM oauth.refresh_tokens t JOIN oauth.grants g ON g.id = t.grant_id
             WHERE g.client_id = $2",
            &[&a.id, &b.id],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!ends.is_empty() && ends.iter().all(|e| *e), "{ends:?}");
    // The source family narrowed (its client's scopes): the derived refresh has nothing left.
    let rt = r["refresh_token"].as_str().unwrap().to_string();
    update_client(&mut c, &a, json!({"scopes": ["openid", "offline_access"]}));
    let refused = peek_refresh_grant(&mut c, &b, &rt);
    assert_eq!(refused["error"], json!("invalid_grant"), "{refused}");
    // The rule narrowed in any way (here: no more refresh tokens): its families end at once.
    update_client(&mut c, &a, json!({"scopes": null}));
    let (_, t1, _) = two_levels(&mut c, &a, &b, true);
    let rt = t1["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        peek_refresh_grant(&mut c, &b, &rt)["scope"],
        json!("api:read")
    );
    allow(&mut c, &b, MCP, API, &["api:read", "api:write"], true, true);
    assert_eq!(
        verify_sqlstate(&mut c, at(&t1)),
        "ok",
        "widening ends nothing"
    );
    allow(
        &mut c,
        &b,
        MCP,
        API,
        &["api:read", "api:write"],
        true,
        false,
    );
    assert_eq!(verify_sqlstate(&mut c, at(&t1)), "28000");
    assert_eq!(
        peek_refresh_grant(&mut c, &b, &rt)["error"],
        json!("invalid_grant")
    );
    drop(subject);
}

#[test]
fn removing_the_rule_ends_the_families_it_made() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_disallow");
    let (_, t1, t2) = two_levels(&mut c, &a, &b, true);
    let ended: i64 = c
        .query_one(
            "SELECT oauth.disallow_token_exchange($1, $2, $3)",
            &[&b.id, &MCP, &API],
        )
        .unwrap()
        .get(0);
    assert_eq!(ended, 1);
    assert_eq!(verify_sqlstate(&mut c, at(&t1)), "28000");
    assert_eq!(
        verify_sqlstate(&mut c, at(&t2)),
        "28000",
        "derived from it, so ended too"
    );
    let rt = t1["refresh_token"].as_str().unwrap();
    assert_eq!(
        peek_refresh_grant(&mut c, &b, rt)["error"],
        json!("invalid_grant")
    );
}

#[test]
fn a_removed_resource_or_scope_leaves_the_rules() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_removed");
    allow(
        &mut c,
        &b,
        MCP,
        API,
        &["api:read", "api:write"],
        true,
        false,
    );
    let subject = user_token(&mut c, &a, "alice", "openid api:read api:write");
    c.query_one("SELECT oauth.remove_scope('api:write')", &[])
        .unwrap();
    let rules = json(&mut c, "SELECT oauth.token_exchange_policies()", &[]);
    assert_eq!(rules[0]["scopes"], json!(["api:read"]), "{rules}");
    // Registered again: not allowed again until a rule says so.
    c.query_one("SELECT oauth.set_scope('api:write', 'Write')", &[])
        .unwrap();
    let (e, _) = refusal(
        &mut c,
        &b,
        form(at(&subject), API, json!({"scope": "api:write"})),
    );
    assert_eq!(e, "invalid_scope");
    c.query_one("SELECT oauth.remove_resource($1)", &[&API])
        .unwrap();
    let rules = json(&mut c, "SELECT oauth.token_exchange_policies()", &[]);
    assert_eq!(rules, json!([]));
    c.query_one("SELECT oauth.add_resource($1)", &[&API])
        .unwrap();
    assert_eq!(
        refusal(&mut c, &b, form(at(&subject), API, json!({}))).0,
        "unauthorized_client"
    );
}
