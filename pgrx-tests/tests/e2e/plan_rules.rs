//! The hot lookups keep their plans when the statistics lag: every new authorization request
//! expires past what the last ANALYZE saw, so a filter on `expires_at` is estimated at a row or
//! two, and a plan that scans the `expires_at` index reads every open request (it did: 0.8 ms a
//! lookup at 4,000 open requests, the complete flow's costliest statement).

use oauth_server_e2e::*;
use postgres::Client;

/// The generic plan (what the extension's prepared statements run, `store::plans`) of `sql`
/// with one text parameter.
fn generic_plan(c: &mut Client, sql: &str) -> String {
    generic_plan_of(c, sql, &[("text", "'x'")])
}

/// The generic plan of `sql` with parameters of these types, run with these values.
fn generic_plan_of(c: &mut Client, sql: &str, params: &[(&str, &str)]) -> String {
    c.batch_execute("DEALLOCATE ALL; SET plan_cache_mode = force_generic_plan")
        .unwrap();
    let types: Vec<&str> = params.iter().map(|p| p.0).collect();
    let values: Vec<&str> = params.iter().map(|p| p.1).collect();
    c.batch_execute(&format!("PREPARE lookup({}) AS {sql}", types.join(", ")))
        .unwrap();
    let rows = c
        .query(
            &format!("EXPLAIN EXECUTE lookup({})", values.join(", ")),
            &[],
        )
        .unwrap();
    rows.iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn pending_request_lookups_use_their_unique_key_whatever_the_statistics() {
    let db = TestDb::new("plans");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let params = auth_params(&client, REDIRECT, "openid");
    // Statistics from a while ago, when the requests of the time had expired (an hour's
    // quiet, say), then many new ones, all expiring after everything the statistics saw.
    c.execute(
        "SELECT oauth.authorize($1) FROM generate_series(1, 100)",
        &[&params],
    )
    .unwrap();
    c.batch_execute(
        "UPDATE oauth.authorizations SET expires_at = now() - interval '1 hour';
         ANALYZE oauth.authorizations",
    )
    .unwrap();
    c.execute(
        "SELECT oauth.authorize($1) FROM generate_series(1, 1000)",
        &[&params],
    )
    .unwrap();
    for (name, sql, key) in [
        (
            "lock_pending_by_id",
            include_str!("../../../sql/queries/authorizations/lock_pending_by_id.sql"),
            "authorizations_pkey",
        ),
        (
            "lock_pending_by_user_code",
            include_str!("../../../sql/queries/authorizations/lock_pending_by_user_code.sql"),
            "authorizations_user_code_key",
        ),
    ] {
        let plan = generic_plan(&mut c, sql);
        assert!(
            plan.contains(&format!("Index Scan using {key}")),
            "{name} must look the request up by {key}:\n{plan}"
        );
    }
}

/// A user's consent to a client is found by both keys, never by scanning the client's
/// consents. Statistics taken when the table held one consent say every row has the same user
/// and the same client; a plan made from them sees the client index and the primary key as
/// equally selective, takes the smaller, the client's, and reads every consent of that client
/// on each lookup (it did: 0.26 ms at 5,000 users of one client, growing, until the next
/// ANALYZE). The store's plans are generic and kept until Postgres invalidates them.
#[test]
fn consent_and_family_lookups_use_both_keys_whatever_the_statistics() {
    let db = TestDb::new("plans_consents");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    c.execute(
        "INSERT INTO oauth.consents (user_id, client_id) VALUES ('first-user', $1)",
        &[&client.id],
    )
    .unwrap();
    c.execute(
        "INSERT INTO oauth.grants (client_id, user_id, scopes, auth_time)
         VALUES ($1, 'first-user', '{openid}', now())",
        &[&client.id],
    )
    .unwrap();
    c.batch_execute("ANALYZE oauth.consents; ANALYZE oauth.grants")
        .unwrap();
    c.execute(
        "INSERT INTO oauth.consents (user_id, client_id)
         SELECT 'user-' || i, $1 FROM generate_series(1, 2000) i",
        &[&client.id],
    )
    .unwrap();
    c.execute(
        "INSERT INTO oauth.grants (client_id, user_id, scopes, auth_time)
         SELECT $1, 'user-' || i, '{openid}', now() FROM generate_series(1, 2000) i",
        &[&client.id],
    )
    .unwrap();
    for (name, sql) in [
        (
            "consents/find",
            include_str!("../../../sql/queries/consents/find.sql"),
        ),
        (
            "consents/lock",
            include_str!("../../../sql/queries/consents/lock.sql"),
        ),
        (
            "consents/store",
            include_str!("../../../sql/queries/consents/store.sql"),
        ),
        (
            "consents/withdraw",
            include_str!("../../../sql/queries/consents/withdraw.sql"),
        ),
        (
            "grants/revoke_for_user_client",
            include_str!("../../../sql/queries/grants/revoke_for_user_client.sql"),
        ),
    ] {
        let keys = [("text", "'u'"), ("text", "'c'"), ("jsonb", "'{}'")];
        let plan = generic_plan_of(
            &mut c,
            sql,
            &keys[..if name == "consents/store" { 3 } else { 2 }],
        );
        assert!(
            plan.contains("Index Cond: ((user_id = $1) AND (client_id = $2))")
                || plan.contains("Index Cond: ((client_id = $2) AND (user_id = $1))"),
            "{name} must look the row up by user and client:\n{plan}"
        );
    }
}
