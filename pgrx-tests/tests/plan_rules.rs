//! The hot lookups keep their plans when the statistics lag: every new authorization request
//! expires past what the last ANALYZE saw, so a filter on `expires_at` is estimated at a row or
//! two, and a plan that scans the `expires_at` index reads every open request (it did: 0.8 ms a
//! lookup at 4,000 open requests, the complete flow's costliest statement).

use oauth_server_e2e::*;
use postgres::Client;

/// The generic plan (what the extension's prepared statements run) of `sql` with one text
/// parameter.
fn generic_plan(c: &mut Client, sql: &str) -> String {
    c.batch_execute("DEALLOCATE ALL; SET plan_cache_mode = force_generic_plan")
        .unwrap();
    c.batch_execute(&format!("PREPARE lookup(text) AS {sql}"))
        .unwrap();
    let rows = c.query("EXPLAIN EXECUTE lookup('x')", &[]).unwrap();
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
            include_str!("../../sql/queries/authorizations/lock_pending_by_id.sql"),
            "authorizations_pkey",
        ),
        (
            "lock_pending_by_user_code",
            include_str!("../../sql/queries/authorizations/lock_pending_by_user_code.sql"),
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
