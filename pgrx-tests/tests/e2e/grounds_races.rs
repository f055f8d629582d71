//! Decisions withdrawn while a redemption is in flight
//! (docs/security.md#decisions-that-outlive-their-grounds): `oauth.delete_user` and
//! `oauth.revoke_grant` running while a code is being redeemed must not leave a working family.
//! They end the user's requests before their families: the redemption holds its request's row,
//! so the withdrawal waits for it and then sees the family it started. Ended the other way
//! round, the families are looked at before the family exists, and it survives.
//!
//! Each race is ordered by locks and observed through `pg_locks`, never by timing: session 1
//! redeems with an access-token hook that waits on an advisory lock the test holds, so it is
//! stopped after its family is written and before it commits; session 2 withdraws and is seen
//! blocked by session 1 (`pg_blocking_pids`); then the lock is released.

use oauth_server_e2e::*;
use postgres::types::ToSql;
use postgres::Client;
use serde_json::Value;
use std::thread;
use std::time::{Duration, Instant};

const SUB: &str = "racer";
/// The advisory lock the redemption's hook waits on.
const GATE: i64 = 28_028;

/// A hook that changes nothing, after waiting for the gate (shared: it never blocks another
/// hook, only the test's exclusive hold).
const GATED_HOOK: &str = r#"
CREATE FUNCTION public.gated(event jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(28028);
    RETURN jsonb_build_object('claims', event->'claims');
END
$$;"#;

fn pid(c: &mut Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0)
}

/// Polls `sql` (a boolean) until it is true. The deadline only turns a state never reached into
/// a failure; it decides no verdict.
fn wait_until(c: &mut Client, what: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok: bool = c.query_one(sql, params).unwrap().get(0);
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "never observed: {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// How the withdrawal meets the redemption.
enum Meets {
    /// It needs the request's row, so it waits for the redemption to commit.
    Waits,
    /// It touches nothing the redemption holds, and commits while it is stopped.
    Passes,
}

/// Races `withdraw` (on its own connection) against the redemption of a code `SUB` approved;
/// returns the redemption's token response and what `withdraw` answered.
fn race(
    db: &TestDb,
    c: &mut Client,
    client: &TestClient,
    meets: Meets,
    withdraw: impl FnOnce(&mut Client) -> Value + Send + 'static,
) -> (Value, Value) {
    let code = get_code(c, client, REDIRECT, "openid", SUB);
    let mut gate = db.connect();
    gate.execute("SELECT pg_advisory_lock($1)", &[&GATE])
        .unwrap();

    let mut s1 = db.connect();
    s1.batch_execute("SET oauth_server.access_token_hook = 'public.gated'")
        .unwrap();
    let pid1 = pid(&mut s1);
    let (id, secret) = (client.id.clone(), client.secret.clone());
    let redemption = thread::spawn(move || {
        let client = TestClient { id, secret };
        exchange(&mut s1, &client, &code, REDIRECT)
    });
    // Session 1 has locked the request and written the family; it waits in the hook.
    wait_until(
        &mut gate,
        "the redemption waiting in its hook",
        "SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $1 AND locktype = 'advisory'
                        AND NOT granted)",
        &[&pid1],
    );

    let mut s2 = db.connect();
    let pid2 = pid(&mut s2);
    let withdrawal = thread::spawn(move || withdraw(&mut s2));
    let mut withdrawal = Some(withdrawal);
    let mut answer = None;
    match meets {
        Meets::Waits => wait_until(
            &mut gate,
            "the withdrawal blocked by the redemption",
            "SELECT $2 = ANY (pg_blocking_pids($1))",
            &[&pid2, &pid1],
        ),
        Meets::Passes => answer = withdrawal.take().map(|w| w.join().unwrap()),
    }

    gate.execute("SELECT pg_advisory_unlock($1)", &[&GATE])
        .unwrap();
    let tokens = redemption.join().unwrap();
    // The redemption began before the withdrawal, so it answers with tokens: what matters is
    // that they no longer work.
    assert!(tokens.get("access_token").is_some(), "{tokens}");
    let answer = answer.unwrap_or_else(|| withdrawal.take().unwrap().join().unwrap());
    (tokens, answer)
}

fn setup(tag: &str) -> (TestDb, Client, TestClient) {
    let db = TestDb::new(tag);
    let mut c = db.connect();
    c.batch_execute(GATED_HOOK).unwrap();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    (db, c, client)
}

/// The tokens of `t` work nowhere: the refresh token is refused and the access token fails
/// `oauth.verify`.
fn assert_dead(c: &mut Client, client: &TestClient, t: &Value) {
    let r = refresh(c, client, t["refresh_token"].as_str().unwrap(), None);
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(
        sqlstate(c, &format!("SELECT oauth.verify('{at}')")),
        "28000"
    );
}

fn families(c: &mut Client, live_only: bool) -> i64 {
    c.query_one(
        "SELECT count(*) FROM oauth.grants WHERE user_id = $1 AND (NOT $2 OR revoked_at IS NULL)",
        &[&SUB, &live_only],
    )
    .unwrap()
    .get(0)
}

#[test]
fn delete_user_during_a_code_redemption_leaves_no_working_family() {
    let (db, mut c, client) = setup("race_delete");
    let (tokens, deleted) = race(&db, &mut c, &client, Meets::Waits, |s2| {
        s2.query_one("SELECT to_jsonb(oauth.delete_user($1))", &[&SUB])
            .unwrap()
            .get(0)
    });
    assert_eq!(deleted, Value::Bool(false), "{SUB} is another login's user");
    assert_dead(&mut c, &client, &tokens);
    assert_eq!(families(&mut c, false), 0, "the family went with the user");
}

#[test]
fn revoke_grant_during_a_code_redemption_leaves_no_working_family() {
    let (db, mut c, client) = setup("race_revoke");
    let cid = client.id.clone();
    let (tokens, revoked) = race(&db, &mut c, &client, Meets::Waits, move |s2| {
        call_as(s2, &user(SUB), "SELECT oauth.revoke_grant($1)", &cid)
    });
    assert!(revoked.get("error").is_none(), "{revoked}");
    assert_dead(&mut c, &client, &tokens);
    assert_eq!(families(&mut c, false), 1, "the family is kept, revoked");
    assert_eq!(families(&mut c, true), 0, "{revoked}");
}

#[test]
fn disable_user_during_a_code_redemption_leaves_no_working_family() {
    let (db, mut c, client) = setup("race_disable");
    // Disabling takes no row the redemption holds: it commits while the redemption is
    // stopped, after that passed its check of the user. The family is refused all the same.
    let (tokens, disabled) = race(&db, &mut c, &client, Meets::Passes, |s2| {
        s2.query_one("SELECT to_jsonb(oauth.disable_user($1))", &[&SUB])
            .unwrap()
            .get(0)
    });
    assert_eq!(disabled, Value::Bool(true));
    assert_dead(&mut c, &client, &tokens);
}
