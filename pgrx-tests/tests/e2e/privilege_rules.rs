//! Privileges inside Postgres and the trust boundary of request.jwt.claims: no table is
//! readable or writable by PUBLIC, private keys are the owner's, administration is not PUBLIC,
//! SECURITY DEFINER functions pin search_path, the claims-trusting consent functions are not
//! PUBLIC, and an OAuth access token is never accepted as a user session.

use oauth_server_e2e::*;
use serde_json::Value;

fn with_plain_role(db: &TestDb) -> postgres::Client {
    db.connect().batch_execute("DO $$ BEGIN CREATE ROLE plain_user LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$").unwrap();
    db.connect_as("plain_user")
}

#[test]
fn no_table_is_readable_or_writable_by_other_roles() {
    let db = TestDb::new("tables");
    let mut owner = db.connect();
    create_client(&mut owner, &[REDIRECT], "confidential");
    owner
        .batch_execute("SELECT oauth.rotate_signing_key()")
        .unwrap();
    let mut p = with_plain_role(&db);
    for t in [
        "clients",
        "authorizations",
        "consents",
        "grants",
        "refresh_tokens",
        "signing_keys",
        "scopes",
        "issuers",
    ] {
        assert_eq!(
            sqlstate(&mut p, &format!("SELECT * FROM oauth.{t}")),
            "42501",
            "read {t}"
        );
        assert_eq!(
            sqlstate(&mut p, &format!("DELETE FROM oauth.{t}")),
            "42501",
            "write {t}"
        );
    }
    assert_eq!(
        sqlstate(&mut p, "SELECT private_key FROM oauth.signing_keys"),
        "42501"
    );
    // Not granted to PUBLIC at all, per the catalog.
    let public_grants: i64 = owner
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                    aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
             WHERE n.nspname = 'oauth' AND c.relkind = 'r' AND a.grantee = 0",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(public_grants, 0);
}

#[test]
fn administration_is_not_public_and_protocol_functions_are() {
    let db = TestDb::new("funcs");
    let mut owner = db.connect();
    let client = create_client(&mut owner, &[REDIRECT], "public");
    let mut p = with_plain_role(&db);
    for sql in [
        "SELECT oauth.create_client('x', ARRAY['https://a.example/cb'])",
        "SELECT oauth.update_client('x', '{}')",
        "SELECT oauth.delete_client('x')",
        "SELECT oauth.regenerate_client_secret('x')",
        "SELECT oauth.rotate_signing_key()",
        "SELECT oauth.issue_session_token('someone')",
        "SELECT oauth.set_scope('x')",
        // These trust request.jwt.claims, which this role could set to anything.
        "SELECT oauth.authorization('x')",
        "SELECT oauth.consent('x', true)",
    ] {
        assert_eq!(sqlstate(&mut p, sql), "42501", "{sql}");
    }
    let r = json(
        &mut p,
        "SELECT oauth.authorize($1)",
        &[&auth_params(&client, REDIRECT, "openid")],
    );
    assert!(r["redirect_to"].as_str().is_some());
    json(&mut p, "SELECT oauth.jwks()", &[]);
    p.batch_execute(
        "SELECT oauth.uid(), oauth.client_id(), oauth.scopes(), oauth.has_scope('x'), oauth.jwt()",
    )
    .unwrap();
}

#[test]
fn every_security_definer_function_pins_search_path() {
    let db = TestDb::new("searchpath");
    let mut c = db.connect();
    let rows = c
        .query(
            "SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'oauth' AND p.prosecdef",
            &[],
        )
        .unwrap();
    assert!(rows.len() >= 14, "expected the API to be SECURITY DEFINER");
    for r in rows {
        let name: String = r.get(0);
        let config: Option<Vec<String>> = r.get(1);
        let config = config.unwrap_or_default();
        assert!(
            config.iter().any(|s| s == "search_path=oauth, pg_temp"),
            "{name}: {config:?}"
        );
    }
}

#[test]
fn a_search_path_trojan_cannot_hijack_the_api() {
    let db = TestDb::new("trojan");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    // A malicious role shadows functions and tables the extension uses, in a schema first on
    // its search_path; the pinned search_path ignores them.
    c.batch_execute(
        "CREATE SCHEMA evil;
         CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '2000-01-01'::timestamptz $$;
         CREATE TABLE evil.clients (client_id text);
         SET search_path = evil, public;",
    )
    .unwrap();
    let t = tokens(&mut c, &client, "openid", "u");
    assert!(t.get("access_token").is_some());
}

#[test]
fn access_tokens_are_never_user_sessions() {
    let db = TestDb::new("sessions");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid", "victim");
    let at = t["access_token"].as_str().unwrap().to_string();
    let at_claims = json(&mut c, "SELECT oauth.verify($1)", &[&at]);
    // A pending request of the victim's...
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid email"));
    // ...cannot be approved with the claims of an access token (PostgREST would set exactly these)...
    let out = as_user(&mut c, &at_claims, |tx| {
        let r = tx
            .query_one("SELECT oauth.consent($1, true)", &[&aid])
            .unwrap()
            .get::<_, Value>(0);
        let status: String = tx
            .query_one("SELECT current_setting('response.status')", &[])
            .unwrap()
            .get(0);
        (r, status)
    });
    assert_eq!(out.0["error"], "access_denied");
    assert_eq!(out.1, "403");
    // ...nor with the token itself through the verifying variant.
    let r = json(&mut c, "SELECT oauth.consent($1, true, $2)", &[&aid, &at]);
    assert_eq!(r["error"], "access_denied");
    // A real session token of the user works.
    let session: String = c
        .query_one("SELECT oauth.issue_session_token('victim')", &[])
        .unwrap()
        .get(0);
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &session],
    );
    assert!(
        d.get("redirect_to").is_some() || d["client"]["name"] == "Test app",
        "{d}"
    );
    // And a forged or missing session is refused.
    let r = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &"forged.token.here"],
    );
    assert_eq!(r["error"], "login_required");
    let r = json(&mut c, "SELECT oauth.authorization($1)", &[&aid]);
    assert_eq!(r["error"], "login_required");
    assert_eq!(
        sqlstate(
            &mut c,
            "SELECT oauth.issue_session_token('x', '{\"client_id\": \"c\"}')"
        ),
        "22023"
    );
}

#[test]
fn every_table_is_kept_by_pg_dump() {
    let db = TestDb::new("dump");
    let mut c = db.connect();
    let registered: Vec<String> = c
        .query(
            "SELECT c.relname::text FROM pg_extension e, unnest(e.extconfig) cfg(reloid) JOIN pg_class c ON c.oid = cfg.reloid
             WHERE e.extname = 'oauth_server' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Tables and sequences (the user-code lockout's counter must survive a dump too).
    let tables: Vec<String> = c
        .query(
            "SELECT relname::text FROM pg_class
             WHERE relnamespace = 'oauth'::regnamespace AND relkind IN ('r', 'S') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(registered, tables);
}
