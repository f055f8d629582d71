//! The HTTP admin API's SQL side, tried as an attacker would: `oauth.admin_clients` is
//! executable by everyone and must be authorised only by an administrator key (stored as a
//! hash, revocable at once, rotatable) or a session whose role the DBA named; never by a
//! user's session, an access token, an ID token, a machine token or a near-miss of a key.

use oauth_server_e2e::*;
use serde_json::{json, Value};

fn key(c: &mut postgres::Client, name: &str) -> String {
    c.query_one("SELECT oauth.create_admin_key($1)", &[&name])
        .unwrap()
        .get(0)
}

/// What `oauth.admin_clients(credential, 'list')` does for this credential: Ok(total) or the
/// SQLSTATE it raised.
fn list_with(c: &mut postgres::Client, credential: &str) -> Result<i64, String> {
    c.query_one("SELECT oauth.admin_clients($1, 'list')", &[&credential])
        .map(|r| r.get::<_, Value>(0)["total"].as_i64().unwrap())
        .map_err(|e| e.code().map(|s| s.code().to_string()).unwrap_or_default())
}

fn anon(db: &TestDb) -> postgres::Client {
    db.connect()
        .batch_execute(
            // Tests of this file run at once: a concurrent CREATE ROLE of the same name fails
            // with unique_violation, not duplicate_object.
            "DO $$ BEGIN CREATE ROLE admin_rules_anon LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        )
        .unwrap();
    db.connect_as("admin_rules_anon")
}

#[test]
fn admin_keys_are_stored_as_hashes_and_stop_at_once_when_revoked() {
    let db = TestDb::new("admkeys");
    let mut c = db.connect();
    create_client(&mut c, &[REDIRECT], "confidential");
    let old = key(&mut c, "deploy-1");
    assert!(old.starts_with("oas_admin_") && old.len() > 50, "{old}");
    // Only the hash is in the table.
    let stored: String = c
        .query_one("SELECT row_to_json(k)::text FROM oauth.admin_keys k", &[])
        .unwrap()
        .get(0);
    assert!(!stored.contains(&old[10..]), "{stored}");
    // A plain role, which can run nothing else of the administration, uses the key.
    let mut p = anon(&db);
    assert_eq!(sqlstate(&mut p, "SELECT oauth.clients()"), "42501");
    assert_eq!(
        sqlstate(&mut p, "SELECT oauth.create_admin_key('mine')"),
        "42501"
    );
    assert_eq!(sqlstate(&mut p, "SELECT oauth.admin_keys()"), "42501");
    assert_eq!(list_with(&mut p, &old), Ok(1));
    // Rotation: two keys live at once, then the old one revoked stops at once.
    let new = key(&mut c, "deploy-2");
    assert_eq!(list_with(&mut p, &new), Ok(1));
    assert_eq!(list_with(&mut p, &old), Ok(1));
    let listed = json(&mut c, "SELECT oauth.admin_keys()", &[]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(listed[0]["last_used_at"].is_string(), "{listed}");
    assert!(!listed.to_string().contains("hash"), "{listed}");
    let revoked: bool = c
        .query_one("SELECT oauth.revoke_admin_key('deploy-1')", &[])
        .unwrap()
        .get(0);
    assert!(revoked);
    assert_eq!(list_with(&mut p, &old), Err("28000".into()));
    assert_eq!(list_with(&mut p, &new), Ok(1));
    // Names are unique; a taken one is refused, not replaced.
    assert_eq!(
        sqlstate(&mut c, "SELECT oauth.create_admin_key('deploy-2')"),
        "22023"
    );
    assert_eq!(list_with(&mut p, &new), Ok(1));
    assert_eq!(
        sqlstate(&mut c, "SELECT oauth.create_admin_key('')"),
        "22023"
    );
    assert_eq!(
        sqlstate(&mut c, "SELECT oauth.create_admin_key(NULL)"),
        "22023"
    );
    // Other spellings of a key are not the key.
    let upper = format!("oas_admin_{}", new[10..].to_uppercase());
    let padded = format!(" {new}");
    let trailing = format!("{new} ");
    let truncated = new[..new.len() - 1].to_string();
    let prefix_only = "oas_admin_".to_string();
    for wrong in [
        upper,
        padded,
        trailing,
        truncated,
        prefix_only,
        String::new(),
    ] {
        assert_eq!(list_with(&mut p, &wrong), Err("28000".into()), "{wrong:?}");
    }
    let audit = json(
        &mut c,
        "SELECT jsonb_agg(event ORDER BY at) FROM oauth.audit_log WHERE event LIKE 'admin_key%'",
        &[],
    );
    assert_eq!(
        audit,
        json!([
            "admin_key_created",
            "admin_key_created",
            "admin_key_revoked"
        ])
    );
}

#[test]
fn no_token_of_a_user_client_or_relying_party_administers() {
    let db = TestDb::new("admtokens");
    db.set("admin_session_roles", "service_role");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid", "victim");
    let user_session: String = c
        .query_one("SELECT oauth.issue_session_token('victim')", &[])
        .unwrap()
        .get(0);
    let admin_session: String = c
        .query_one(
            "SELECT oauth.issue_session_token('ops', '{\"role\": \"service_role\"}')",
            &[],
        )
        .unwrap()
        .get(0);
    let mut p = anon(&db);
    // A user's session is verified, but `authenticated` is no administrator role.
    assert_eq!(list_with(&mut p, &user_session), Err("42501".into()));
    // Tokens issued to a client or a relying party are not sessions at all.
    for token in [&t["access_token"], &t["id_token"], &t["refresh_token"]] {
        let token = token.as_str().unwrap();
        let refused = list_with(&mut p, token).unwrap_err();
        assert!(
            refused == "28000" || refused == "42501",
            "{refused} {token}"
        );
    }
    assert_eq!(list_with(&mut p, "forged.token.here"), Err("28000".into()));
    // A session of a configured administrator role is one.
    assert_eq!(list_with(&mut p, &admin_session), Ok(1));
    // ...until its session ends.
    c.batch_execute("SELECT oauth.revoke_sessions('ops')")
        .unwrap();
    assert_eq!(list_with(&mut p, &admin_session), Err("28000".into()));
}

#[test]
fn admin_sessions_need_the_setting_and_never_the_user_roles() {
    let db = TestDb::new("admroles");
    let mut c = db.connect();
    let mint = |c: &mut postgres::Client, role: &str| -> String {
        c.query_one(
            "SELECT oauth.issue_session_token('ops', jsonb_build_object('role', $1::text))",
            &[&role],
        )
        .unwrap()
        .get(0)
    };
    let service = mint(&mut c, "service_role");
    let user = mint(&mut c, "authenticated");
    let mut p = anon(&db);
    // Unset: only keys administer.
    assert_eq!(list_with(&mut p, &service), Err("42501".into()));
    // Even a careless setting naming the user roles never makes a user an administrator.
    db.set("admin_session_roles", "authenticated, anon, service_role");
    let mut p = anon(&db);
    assert_eq!(list_with(&mut p, &user), Err("42501".into()));
    assert_eq!(list_with(&mut p, &service), Ok(0));
}

#[test]
fn admin_clients_administers_like_the_owner_functions_and_audits_who() {
    let db = TestDb::new("admclients");
    let mut c = db.connect();
    let k = key(&mut c, "console");
    let mut p = anon(&db);
    let call = |p: &mut postgres::Client, action: &str, id: Option<&str>, params: Value| {
        p.query_one(
            "SELECT oauth.admin_clients($1, $2, $3, $4)",
            &[&k, &action, &id, &params],
        )
        .map(|r| r.get::<_, Value>(0))
        .map_err(|e| e.code().map(|s| s.code().to_string()).unwrap_or_default())
    };
    let made = call(
        &mut p,
        "create",
        None,
        json!({"name": "Console app", "redirect_uris": [REDIRECT], "scopes": ["openid"]}),
    )
    .unwrap();
    let id = made["client_id"].as_str().unwrap().to_string();
    let secret = made["client_secret"].as_str().unwrap().to_string();
    let got = call(&mut p, "get", Some(&id), json!({})).unwrap();
    assert_eq!(got["name"], "Console app");
    assert!(!got.to_string().contains(&secret));
    let updated = call(&mut p, "update", Some(&id), json!({"name": "Renamed"})).unwrap();
    assert_eq!(updated["name"], "Renamed");
    let fresh = call(&mut p, "regenerate_secret", Some(&id), json!({})).unwrap();
    assert_ne!(fresh["client_secret"], secret);
    assert_eq!(
        fresh["name"], "Renamed",
        "the whole client, with its new secret"
    );
    let page = call(&mut p, "list", None, json!({"page": 1, "per_page": 10})).unwrap();
    assert_eq!(page["total"], 1);
    // Bad input: clear SQLSTATEs, nothing written.
    assert_eq!(
        call(&mut p, "get", Some("nope"), json!({})),
        Err("P0002".into())
    );
    assert_eq!(call(&mut p, "drop", None, json!({})), Err("22023".into()));
    assert_eq!(
        call(&mut p, "list", None, json!({"per_page": "10; DROP"})),
        Err("22023".into())
    );
    assert_eq!(
        call(&mut p, "list", None, json!({"page": 0})),
        Err("22023".into())
    );
    assert_eq!(
        call(
            &mut p,
            "create",
            None,
            json!({"name": "x", "redirect_uris": [REDIRECT], "client_secret": "chosen"})
        ),
        Err("22023".into())
    );
    assert_eq!(call(&mut p, "create", None, json!([])), Err("22023".into()));
    assert_eq!(
        call(&mut p, "list", None, json!({})).unwrap()["total"],
        1,
        "no partial write"
    );
    assert_eq!(
        call(&mut p, "delete", Some(&id), json!({})).unwrap()["deleted"],
        true
    );
    assert_eq!(
        call(&mut p, "delete", Some(&id), json!({})),
        Err("P0002".into())
    );
    let by = json(
        &mut c,
        "SELECT jsonb_agg(jsonb_build_array(event, details->>'by') ORDER BY at)
         FROM oauth.audit_log WHERE event LIKE 'client_%'",
        &[],
    );
    assert_eq!(
        by,
        json!([
            ["client_created", "admin key console"],
            ["client_updated", "admin key console"],
            ["client_secret_rotated", "admin key console"],
            ["client_deleted", "admin key console"]
        ])
    );
}

#[test]
fn a_trusted_issuers_session_administers_only_when_the_dba_names_that_issuer() {
    use oauth_server_e2e::stand_in::{now, StandInIssuer};
    const CLERK: &str = "https://clerk.admin-rules.example";
    let db = TestDb::new("admissuer");
    let mut c = db.connect();
    // The issuer may put `ops_admin` in its tokens, for RLS.
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE ops_admin NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .unwrap();
    let clerk = StandInIssuer::new(CLERK);
    let options = json!({"jwks": clerk.jwks(), "allowed_roles": ["authenticated", "ops_admin"]});
    c.query_one("SELECT oauth.add_issuer($1, $2)", &[&CLERK, &options])
        .unwrap();
    let theirs = clerk.token(json!({"sub": "their-admin", "role": "ops_admin",
        "iat": now(), "exp": now() + 600, "azp": "https://app.example"}));
    let ours: String = c
        .query_one(
            "SELECT oauth.issue_session_token('our-admin', '{\"role\": \"ops_admin\"}')",
            &[],
        )
        .unwrap()
        .get(0);
    // A bare role names this server's own sessions: the issuer's app admins are not ours.
    db.set("admin_session_roles", "ops_admin");
    let mut p = anon(&db);
    assert_eq!(list_with(&mut p, &theirs), Err("42501".into()));
    assert_eq!(list_with(&mut p, &ours), Ok(0));
    // Named with its issuer, that issuer's role administers, and no longer ours.
    db.set("admin_session_roles", &format!("{CLERK}#ops_admin"));
    let mut p = anon(&db);
    assert_eq!(list_with(&mut p, &theirs), Ok(0));
    assert_eq!(list_with(&mut p, &ours), Err("42501".into()));
    // Audited with the issuer.
    let created: Value = p
        .query_one(
            "SELECT oauth.admin_clients($1, 'create', NULL, $2)",
            &[
                &theirs,
                &json!({"name": "By Clerk admin", "redirect_uris": [REDIRECT]}),
            ],
        )
        .unwrap()
        .get(0);
    let by: String = c
        .query_one(
            "SELECT details->>'by' FROM oauth.audit_log WHERE client_id = $1",
            &[&created["client_id"].as_str().unwrap()],
        )
        .unwrap()
        .get(0);
    assert_eq!(by, format!("session of their-admin from {CLERK}"));
}
