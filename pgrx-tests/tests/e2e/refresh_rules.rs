//! Refresh tokens: rotation on every use, reuse revokes the family, bound to the client,
//! down-scoping only, and concurrent presentation of one token.

use oauth_server_e2e::*;
use serde_json::Value;
use std::sync::{Arc, Barrier};

#[test]
fn rotation_and_reuse_detection_revoke_the_whole_family() {
    let db = TestDb::new("rotate");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t0 = tokens(&mut c, &client, "openid email", "u");
    let r0 = t0["refresh_token"].as_str().unwrap();
    let t1 = refresh(&mut c, &client, r0, None);
    let r1 = t1["refresh_token"].as_str().unwrap();
    assert_ne!(r0, r1);
    assert_eq!(t1["scope"], "openid email");
    let t2 = refresh(&mut c, &client, r1, None);
    let r2 = t2["refresh_token"].as_str().unwrap().to_string();
    let at2 = t2["access_token"].as_str().unwrap().to_string();
    // Presenting r0 again (a stolen, already-rotated token) revokes the family, r2 included.
    let r = refresh(&mut c, &client, r0, None);
    assert_eq!(r["error"], "invalid_grant");
    assert_eq!(
        refresh(&mut c, &client, &r2, None)["error"],
        "invalid_grant"
    );
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify('{at2}')")),
        "28000"
    );
    let reason: String = c
        .query_one("SELECT revoked_reason FROM oauth.grants", &[])
        .unwrap()
        .get(0);
    assert_eq!(reason, "refresh token reused");
}

#[test]
fn refresh_is_bound_to_its_client() {
    let db = TestDb::new("rbind");
    let mut c = db.connect();
    let a = create_client(&mut c, &[REDIRECT], "confidential");
    let b = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &a, "openid", "u");
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&mut c, &b, rt, None)["error"], "invalid_grant");
    assert!(refresh(&mut c, &a, rt, None).get("access_token").is_some());
}

#[test]
fn scope_may_narrow_but_never_widen() {
    let db = TestDb::new("rscope");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid email", "u");
    let r = refresh(
        &mut c,
        &client,
        t["refresh_token"].as_str().unwrap(),
        Some("openid email profile"),
    );
    assert_eq!(r["error"], "invalid_scope");
    // A refused widening does not consume the token.
    let r = refresh(
        &mut c,
        &client,
        t["refresh_token"].as_str().unwrap(),
        Some("email"),
    );
    assert_eq!(r["scope"], "email");
    let (_, claims) = jwt_parts(r["access_token"].as_str().unwrap());
    assert_eq!(claims["scope"], "email");
    assert!(r.get("id_token").is_none());
    // The next refresh without scope gets the original grant back, not the narrowed one.
    let r = refresh(&mut c, &client, r["refresh_token"].as_str().unwrap(), None);
    assert_eq!(r["scope"], "openid email");
}

#[test]
fn expired_refresh_tokens_are_refused() {
    let db = TestDb::new("rexp");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid", "u");
    c.batch_execute("UPDATE oauth.refresh_tokens SET expires_at = now() - interval '1 second'")
        .unwrap();
    let r = refresh(&mut c, &client, t["refresh_token"].as_str().unwrap(), None);
    assert_eq!(r["error"], "invalid_grant");
    assert!(r["error_description"].as_str().unwrap().contains("expired"));
}

#[test]
fn concurrent_refreshes_of_one_token_yield_exactly_one_success() {
    let db = Arc::new(TestDb::new("rrace"));
    let mut c = db.connect();
    let client = Arc::new(create_client(&mut c, &[REDIRECT], "confidential"));
    let t = tokens(&mut c, &client, "openid", "u");
    let rt = Arc::new(t["refresh_token"].as_str().unwrap().to_string());
    const N: usize = 8;
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let (db, client, rt, barrier) =
                (db.clone(), client.clone(), rt.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut conn = db.connect();
                barrier.wait();
                refresh(&mut conn, &client, &rt, None)
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results
            .iter()
            .filter(|r| r.get("access_token").is_some())
            .count(),
        1,
        "{results:?}"
    );
    let used: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.refresh_tokens WHERE used_at IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(used, 1, "exactly one rotation happened");
}

#[test]
fn a_client_without_the_refresh_grant_gets_no_refresh_token() {
    let db = TestDb::new("norefresh");
    let mut c = db.connect();
    let v = json(&mut c, "SELECT oauth.create_client('n', ARRAY[$1], 'confidential', NULL, ARRAY['authorization_code'])", &[&REDIRECT]);
    let client = TestClient {
        id: v["client_id"].as_str().unwrap().into(),
        secret: v["client_secret"].as_str().map(String::from),
    };
    let t = tokens(&mut c, &client, "openid", "u");
    assert!(t.get("refresh_token").is_none());
    assert_eq!(
        refresh(&mut c, &client, "anything", None)["error"],
        "unauthorized_client"
    );
}

/// The refresh token of an answer, or the error.
fn rt(v: &Value) -> Result<String, String> {
    v["refresh_token"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| v["error"].as_str().unwrap_or("?").to_string())
}

/// A database whose refresh retry grace is 10 s, a connection and a confidential client.
fn with_grace(tag: &str) -> (TestDb, postgres::Client, TestClient) {
    let db = TestDb::new(tag);
    db.set("refresh_retry_grace", "10");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    (db, c, client)
}

/// Presenting `token` is refused (reuse, or a dead family).
#[track_caller]
fn refused(c: &mut postgres::Client, client: &TestClient, token: &str) {
    assert_eq!(
        rt(&refresh(c, client, token, None)),
        Err("invalid_grant".into())
    );
}

#[test]
fn a_retry_within_the_grace_replaces_a_lost_answer_and_nothing_else() {
    let (_db, mut c, client) = with_grace("rretry");
    // A retry after a lost answer gets a new token; the lost one dies; retrying again works.
    let a = rt(&tokens(&mut c, &client, "openid", "u")).unwrap();
    let lost = rt(&refresh(&mut c, &client, &a, None)).unwrap();
    let b = rt(&refresh(&mut c, &client, &a, None)).unwrap();
    let b2 = rt(&refresh(&mut c, &client, &a, None)).unwrap();
    assert!(lost != b && b != b2);
    let live: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.refresh_tokens WHERE used_at IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(live, 1, "one open token per family");
    // The family moves on normally from the last answer.
    let c3 = rt(&refresh(&mut c, &client, &b2, None)).unwrap();
    // Now presenting the first token again is reuse: the family is revoked.
    refused(&mut c, &client, &a);
    refused(&mut c, &client, &c3);
    let retried: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.audit_log WHERE event = 'refresh_token_retried'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(retried, 2);
}

#[test]
fn a_thief_retrying_within_the_grace_is_caught_when_the_holder_refreshes() {
    let (_db, mut c, client) = with_grace("rretrythief");
    let stolen = rt(&tokens(&mut c, &client, "openid", "victim")).unwrap();
    let holders = rt(&refresh(&mut c, &client, &stolen, None)).unwrap();
    let thiefs = rt(&refresh(&mut c, &client, &stolen, None)).unwrap();
    // The holder's token was superseded: presenting it is reuse, which ends the family,
    // the thief's token included.
    refused(&mut c, &client, &holders);
    refused(&mut c, &client, &thiefs);
    // Another client cannot retry someone's token at all.
    let other = create_client(&mut c, &[REDIRECT], "confidential");
    let a = rt(&tokens(&mut c, &client, "openid", "u2")).unwrap();
    rt(&refresh(&mut c, &client, &a, None)).unwrap();
    refused(&mut c, &other, &a);
}

#[test]
fn no_retry_once_the_family_moved_on_past_the_grace_or_without_one() {
    let (db, mut c, client) = with_grace("rretrylate");
    // Moved on: the successor was used.
    let a = rt(&tokens(&mut c, &client, "openid", "u1")).unwrap();
    let b = rt(&refresh(&mut c, &client, &a, None)).unwrap();
    rt(&refresh(&mut c, &client, &b, None)).unwrap();
    refused(&mut c, &client, &a);
    // Past the grace: the family's times moved a minute back (no waiting in a test).
    let a = rt(&tokens(&mut c, &client, "openid", "u2")).unwrap();
    let b = rt(&refresh(&mut c, &client, &a, None)).unwrap();
    c.batch_execute(
        "UPDATE oauth.refresh_tokens t SET used_at = t.used_at - interval '1 minute',
                created_at = t.created_at - interval '1 minute'
         FROM oauth.grants g WHERE g.id = t.grant_id AND g.user_id = 'u2'",
    )
    .unwrap();
    refused(&mut c, &client, &a);
    refused(&mut c, &client, &b);
    // Without a grace (the default), a retry is reuse.
    db.set("refresh_retry_grace", "0");
    let mut c = db.connect();
    let a = rt(&tokens(&mut c, &client, "openid", "u3")).unwrap();
    let b = rt(&refresh(&mut c, &client, &a, None)).unwrap();
    refused(&mut c, &client, &a);
    refused(&mut c, &client, &b);
}

#[test]
fn a_superseded_token_still_ends_the_family_after_the_purge() {
    let (_db, mut c, client) = with_grace("rretrypurge");
    let stolen = rt(&tokens(&mut c, &client, "openid", "victim")).unwrap();
    let holders = rt(&refresh(&mut c, &client, &stolen, None)).unwrap();
    let thiefs = rt(&refresh(&mut c, &client, &stolen, None)).unwrap();
    // The purge keeps a superseded token until its own expiry, like any used one...
    c.batch_execute("SELECT oauth.purge_expired()").unwrap();
    // ...so the holder's refresh is still seen as reuse, and the thief's chain ends.
    refused(&mut c, &client, &holders);
    refused(&mut c, &client, &thiefs);
    let revoked: bool = c
        .query_one("SELECT revoked_at IS NOT NULL FROM oauth.grants", &[])
        .unwrap()
        .get(0);
    assert!(revoked);
}

#[test]
fn a_retry_that_waited_for_the_original_refresh_is_a_retry_not_reuse() {
    let db = Arc::new(TestDb::new("rretrywait"));
    db.set("refresh_retry_grace", "10");
    let mut c = db.connect();
    let client = Arc::new(create_client(&mut c, &[REDIRECT], "confidential"));
    let a = rt(&tokens(&mut c, &client, "openid", "u")).unwrap();
    // The original refresh, still in its transaction (its answer about to be lost)...
    let mut first = db.connect();
    first.batch_execute("BEGIN").unwrap();
    let lost = rt(&refresh(&mut first, &client, &a, None)).unwrap();
    // ...and the client's retry, which waits for it.
    let retry = {
        let (db, client, a) = (db.clone(), client.clone(), a.clone());
        std::thread::spawn(move || refresh(&mut db.connect(), &client, &a, None))
    };
    let waiting = (0..500).any(|_| {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                 AND query LIKE '%oauth.refresh%'",
                &[],
            )
            .unwrap()
            .get(0);
        n > 0 || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            false
        }
    });
    assert!(waiting, "the retry never waited for the original");
    first.batch_execute("COMMIT").unwrap();
    let b = rt(&retry.join().unwrap()).expect("the retry is answered, not refused as reuse");
    assert_ne!(b, lost);
    // The family lives on from the retry's answer; the lost token is dead.
    let c2 = rt(&refresh(&mut c, &client, &b, None)).unwrap();
    assert!(!c2.is_empty());
    refused(&mut c, &client, &lost);
}
