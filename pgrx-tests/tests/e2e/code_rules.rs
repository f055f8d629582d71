//! Authorization codes: single use even under concurrent redemption, a replay revokes what the
//! code issued, expiry, and binding to client, redirect URI and verifier.

use oauth_server_e2e::*;
use std::sync::{Arc, Barrier};

#[test]
fn concurrent_redemptions_yield_exactly_one_success() {
    let db = Arc::new(TestDb::new("race"));
    let mut c = db.connect();
    let client = Arc::new(create_client(&mut c, &[REDIRECT], "confidential"));
    for _round in 0..3 {
        let code = Arc::new(get_code(&mut c, &client, REDIRECT, "openid", "u"));
        const N: usize = 8;
        let barrier = Arc::new(Barrier::new(N));
        // Spawn all, then join: every thread holds its own connection at the barrier.
        let handles: Vec<_> = (0..N)
            .map(|_| {
                let (db, client, code, barrier) =
                    (db.clone(), client.clone(), code.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut conn = db.connect();
                    barrier.wait();
                    exchange(&mut conn, &client, &code, REDIRECT)
                })
            })
            .collect();
        let results: Vec<serde_json::Value> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        let wins: Vec<_> = results
            .iter()
            .filter(|r| r.get("access_token").is_some())
            .collect();
        assert_eq!(wins.len(), 1, "{results:?}");
        assert!(results
            .iter()
            .filter(|r| r.get("error").is_some())
            .all(|r| r["error"] == "invalid_grant"));
        // The losers were replays: the winner's tokens are revoked.
        let r = refresh(
            &mut c,
            &client,
            wins[0]["refresh_token"].as_str().unwrap(),
            None,
        );
        assert_eq!(r["error"], "invalid_grant", "{r}");
    }
}

#[test]
fn a_replayed_code_revokes_the_tokens_it_issued() {
    let db = TestDb::new("replay");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
    let t = exchange(&mut c, &client, &code, REDIRECT);
    let at = t["access_token"].as_str().unwrap().to_string();
    json(&mut c, "SELECT oauth.verify($1)", &[&at]);
    let r = exchange(&mut c, &client, &code, REDIRECT);
    assert_eq!(r["error"], "invalid_grant");
    assert!(r["error_description"]
        .as_str()
        .unwrap()
        .contains("already been used"));
    // The revocation was committed although the call "failed".
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify('{at}')")),
        "28000"
    );
    let r = refresh(&mut c, &client, t["refresh_token"].as_str().unwrap(), None);
    assert_eq!(r["error"], "invalid_grant");
}

#[test]
fn codes_expire() {
    let db = TestDb::new("expiry");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
    // The lifetime is a setting: 10 minutes by default, from authorize.
    let row = c
        .query_one(
            "SELECT extract(epoch FROM expires_at - created_at)::int FROM oauth.authorizations",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 600);
    c.batch_execute("UPDATE oauth.authorizations SET expires_at = now() - interval '1 second'")
        .unwrap();
    let r = exchange(&mut c, &client, &code, REDIRECT);
    assert_eq!(r["error"], "invalid_grant");
    assert!(r["error_description"].as_str().unwrap().contains("expired"));
    db.set("code_lifetime", "60");
    let mut c = db.connect();
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let row = c
        .query_one("SELECT extract(epoch FROM expires_at - created_at)::int FROM oauth.authorizations WHERE id = $1", &[&aid])
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 60);
    // An expired pending request is not shown on the consent page.
    c.batch_execute("UPDATE oauth.authorizations SET expires_at = now() - interval '1 second'")
        .unwrap();
    let d = call_as(&mut c, &user("u"), "SELECT oauth.authorization($1)", &aid);
    assert_eq!(d["error"], "not_found");
}

#[test]
fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let db = TestDb::new("binding");
    let mut c = db.connect();
    let a = create_client(
        &mut c,
        &[REDIRECT, "https://app.example/other"],
        "confidential",
    );
    let b = create_client(&mut c, &[REDIRECT], "confidential");
    let code = get_code(&mut c, &a, REDIRECT, "openid", "u");
    assert_eq!(
        exchange(&mut c, &b, &code, REDIRECT)["error"],
        "invalid_grant"
    );
    assert_eq!(
        exchange(&mut c, &a, &code, "https://app.example/other")["error"],
        "invalid_grant"
    );
    let r = json(
        &mut c,
        "SELECT oauth.exchange_code($1, $2, NULL, $3, $4)",
        &[&code, &VERIFIER, &a.id, &a.secret],
    );
    assert_eq!(r["error"], "invalid_request");
    assert!(exchange(&mut c, &a, &code, REDIRECT)
        .get("access_token")
        .is_some());
}

#[test]
fn unknown_and_malformed_codes_are_invalid_grant() {
    let db = TestDb::new("badcode");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    for code in [
        "nope",
        "'; DROP TABLE oauth.clients; --",
        &"x".repeat(10_000),
    ] {
        assert_eq!(
            exchange(&mut c, &client, code, REDIRECT)["error"],
            "invalid_grant"
        );
    }
    let r = json(
        &mut c,
        "SELECT oauth.exchange_code(NULL, NULL, NULL, $1, $2)",
        &[&client.id, &client.secret],
    );
    assert_eq!(r["error"], "invalid_request");
    assert_eq!(
        json(
            &mut c,
            "SELECT count(*)::int::text::jsonb FROM oauth.clients",
            &[]
        ),
        1
    );
}
