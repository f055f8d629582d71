//! Bad input of any kind (NULLs, empty strings, huge values, malformed JSON, unknown ids)
//! gets a clear error — an OAuth error or a SQLSTATE other than internal_error — never a
//! backend crash or a partial write.

use oauth_server_e2e::*;

#[test]
fn every_function_answers_bad_input_clearly() {
    let db = TestDb::new("badinput");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let huge = "x".repeat(1_000_000);
    let calls = [
        "SELECT oauth.authorize(NULL)",
        "SELECT oauth.authorize('{}')",
        "SELECT oauth.authorize('{\"client_id\": null}')",
        "SELECT oauth.authorize('{\"client_id\": {\"a\": 1}}')",
        "SELECT oauth.authorization(NULL)",
        "SELECT oauth.authorization('')",
        "SELECT oauth.authorization(NULL, NULL)",
        "SELECT oauth.consent(NULL, NULL)",
        "SELECT oauth.consent('x', NULL, NULL)",
        "SELECT oauth.exchange_code(NULL, NULL, NULL, NULL)",
        "SELECT oauth.exchange_code('', '', '', '')",
        "SELECT oauth.refresh(NULL, NULL)",
        "SELECT oauth.refresh('', '', '', '')",
        "SELECT oauth.verify('')",
        "SELECT oauth.verify('...')",
        "SELECT oauth.verify('eyJhbGciOiJFUzI1NiJ9.e30.')",
        "SELECT oauth.update_client(NULL, NULL)",
        "SELECT oauth.update_client('x', 'null')",
        "SELECT oauth.delete_client(NULL)",
        "SELECT oauth.regenerate_client_secret('')",
        "SELECT oauth.rotate_signing_key(NULL)",
        "SELECT oauth.issue_session_token(NULL)",
        "SELECT oauth.issue_session_token('u', '[]')",
        "SELECT oauth.set_scope('a b')",
        "SELECT oauth.has_scope(NULL)",
        "SELECT oauth.verify_session(NULL)",
        "SELECT oauth.verify_session('')",
        "SELECT oauth.verify_session('a.b.c')",
        "SELECT oauth.verify_session('eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.bm90IGpzb24.x')",
        "SELECT oauth.verify_session('eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJpc3MiOjV9.x')",
        "SELECT oauth.add_issuer(NULL, NULL)",
        "SELECT oauth.add_issuer('', '{}')",
        "SELECT oauth.add_issuer('https://i.example', '[]')",
        "SELECT oauth.add_issuer('https://i.example', '{\"audience\": {\"a\": 1}}')",
        "SELECT oauth.add_issuer('https://i.example', '{\"jwks\": \"x\"}')",
        "SELECT oauth.add_issuer('https://i.example', '{\"jwks\": {\"keys\": [1, null, {\"kty\": \"RSA\", \"kid\": \"k\"}]}}')",
        "SELECT oauth.add_issuer('not a url')",
        "SELECT oauth.update_issuer(NULL, NULL)",
        "SELECT oauth.update_issuer('https://i.example', 'null')",
        "SELECT oauth.remove_issuer(NULL)",
        "SELECT oauth.set_issuer_jwks(NULL, NULL, NULL)",
        "SELECT oauth.set_issuer_jwks('https://i.example', '{}', 'https://k.example')",
        "SELECT oauth.set_issuer_jwks('https://i.example', '{\"keys\": []}', 'javascript:alert(1)')",
        "SELECT oauth.report_issuer_error(NULL, NULL)",
        // Numbers at the edge of f64 anywhere in a body: Postgres prints them as 309-digit
        // integers, which must still parse (found by the HTTP fuzz as 500s).
        "SELECT oauth.token('{\"grant_type\": \"client_credentials\", \"x\": 1.7976931348623157e308}', NULL)",
        "SELECT oauth.revoke('{\"token\": \"x\", \"n\": {\"m\": -1.7976931348623157e308}}', NULL)",
        "SELECT oauth.introspect('{\"token\": \"x\", \"n\": [1.0216144733769648e297, 5e-324]}', NULL)",
        "SELECT oauth.device_authorization('{\"n\": 1.7976931348623157e308}', NULL)",
        "SELECT oauth.authorize('{\"client_id\": 1.7976931348623157e308}')",
        "SELECT oauth.register_client('{\"redirect_uris\": [\"https://a.example/cb\"], \"n\": 1.7976931348623157e308}')",
    ];
    for sql in calls {
        let mut tx = c.transaction().unwrap();
        match tx.query_one(sql, &[]) {
            Ok(row) => {
                // Returned: it must be an OAuth error body or a NULL/false, never a success.
                if let Ok(Some(v)) = row.try_get::<_, Option<serde_json::Value>>(0) {
                    assert!(v.get("error").is_some(), "{sql} returned {v}");
                }
            }
            Err(e) => {
                let code = e.code().map(|s| s.code().to_string()).unwrap_or_default();
                assert!(!code.is_empty() && code != "XX000", "{sql}: {e}");
            }
        }
        tx.rollback().unwrap();
    }
    // Huge values in every text parameter of the token functions.
    for sql in [
        "SELECT oauth.exchange_code($1, $1, $1, $1, $1, $1)",
        "SELECT oauth.refresh($1, $1, $1, $1)",
        "SELECT oauth.authorization($1, $1)",
        "SELECT oauth.grants($1)",
    ] {
        let v: serde_json::Value = c.query_one(sql, &[&huge]).unwrap().get(0);
        assert!(v.get("error").is_some(), "{sql}: {v}");
    }
    for sql in ["SELECT oauth.verify($1)", "SELECT oauth.verify_session($1)"] {
        let e = c.query_one(sql, &[&huge]).unwrap_err();
        assert_eq!(e.code().unwrap().code(), "28000", "{sql}");
    }
    for sql in [
        "SELECT oauth.add_issuer($1)",
        "SELECT oauth.add_issuer('https://i.example', jsonb_build_object('audience', $1::text))",
    ] {
        let e = c.query_one(sql, &[&huge]).unwrap_err();
        assert_eq!(e.code().unwrap().code(), "22023", "{sql}");
    }
    // The backend survived everything, and nothing was written.
    let n: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM oauth.clients) + (SELECT count(*) FROM oauth.grants)
                  + (SELECT count(*) FROM oauth.issuers)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    assert!(tokens(&mut c, &client, "openid", "u")
        .get("access_token")
        .is_some());
}
