//! Clients: authentication at the token endpoint, secrets stored only as hashes, registration
//! validation, and administration.

use oauth_server_e2e::*;
use serde_json::Value;

#[test]
fn confidential_clients_must_authenticate_with_a_401() {
    let db = TestDb::new("cauth");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
    let secret = client.secret.clone().unwrap();
    let almost = format!("{}x", &secret[..secret.len() - 1]);
    for s in [None, Some(""), Some("wrong"), Some(almost.as_str())] {
        let mut tx = c.transaction().unwrap();
        let r: Value = tx
            .query_one(
                "SELECT oauth.exchange_code($1, $2, $3, $4, $5)",
                &[&code, &VERIFIER, &REDIRECT, &client.id, &s],
            )
            .unwrap()
            .get(0);
        assert_eq!(r["error"], "invalid_client", "{s:?}");
        let status: String = tx
            .query_one("SELECT current_setting('response.status')", &[])
            .unwrap()
            .get(0);
        assert_eq!(status, "401");
        let headers: String = tx
            .query_one("SELECT current_setting('response.headers')", &[])
            .unwrap()
            .get(0);
        assert!(headers.contains("WWW-Authenticate"), "{headers}");
        tx.commit().unwrap();
    }
    // None of that burned the code.
    assert!(exchange(&mut c, &client, &code, REDIRECT)
        .get("access_token")
        .is_some());
}

#[test]
fn public_clients_must_not_send_a_secret() {
    let db = TestDb::new("pubauth");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "public");
    assert!(client.secret.is_none());
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
    let r = json(
        &mut c,
        "SELECT oauth.exchange_code($1, $2, $3, $4, 'guess')",
        &[&code, &VERIFIER, &REDIRECT, &client.id],
    );
    assert_eq!(r["error"], "invalid_client");
    assert!(exchange(&mut c, &client, &code, REDIRECT)
        .get("access_token")
        .is_some());
}

#[test]
fn secrets_codes_and_refresh_tokens_are_stored_only_as_sha256_hashes() {
    let db = TestDb::new("hashes");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
    let t = exchange(&mut c, &client, &code, REDIRECT);
    let secret = client.secret.unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    let dump: String = c
        .query_one(
            "SELECT string_agg(x, ' ') FROM (
               SELECT row_to_json(t)::text x FROM oauth.clients t UNION ALL
               SELECT row_to_json(t)::text FROM oauth.authorizations t UNION ALL
               SELECT row_to_json(t)::text FROM oauth.refresh_tokens t UNION ALL
               SELECT row_to_json(t)::text FROM oauth.grants t) s",
            &[],
        )
        .unwrap()
        .get(0);
    for plain in [secret.as_str(), code.as_str(), rt] {
        assert!(!dump.contains(plain), "a plaintext value is stored");
    }
    let hashed = |table: &str, col: &str, v: &str, c: &mut postgres::Client| -> i64 {
        c.query_one(
            &format!(
                "SELECT count(*) FROM oauth.{table} WHERE {col} = sha256(convert_to($1, 'UTF8'))"
            ),
            &[&v],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(hashed("clients", "client_secret_hash", &secret, &mut c), 1);
    assert_eq!(hashed("authorizations", "code_hash", &code, &mut c), 1);
    assert_eq!(hashed("refresh_tokens", "token_hash", rt, &mut c), 1);
}

#[test]
fn redirect_uris_are_validated_at_registration() {
    let db = TestDb::new("regval");
    let mut c = db.connect();
    for bad in [
        "relative/path",
        "https://app.example/cb#frag",
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "vbscript:x",
        "about:blank",
        "blob:https://a/b",
        "http://app.example/cb",
        "",
    ] {
        let sql = format!("SELECT oauth.create_client('x', ARRAY['{bad}'])");
        assert_eq!(sqlstate(&mut c, &sql), "22023", "{bad}");
    }
    let eleven: Vec<String> = (0..11)
        .map(|i| format!("https://app.example/cb{i}"))
        .collect();
    let r = c.query_one("SELECT oauth.create_client('x', $1)", &[&eleven]);
    assert_eq!(r.unwrap_err().code().unwrap().code(), "22023");
    for ok in [
        "https://app.example/cb",
        "http://localhost:3000/cb",
        "http://[::1]/cb",
        "com.example.app:/cb",
    ] {
        c.batch_execute(&format!("SELECT oauth.create_client('x', ARRAY['{ok}'])"))
            .unwrap();
    }
    for sql in [
        "SELECT oauth.create_client(NULL, ARRAY['https://a.example/cb'])",
        "SELECT oauth.create_client('x', NULL)",
        "SELECT oauth.create_client('x', ARRAY[NULL])",
        "SELECT oauth.create_client('x', ARRAY[]::text[])",
        "SELECT oauth.create_client('x', ARRAY['https://a.example/cb'], 'weird')",
        "SELECT oauth.create_client('x', ARRAY['https://a.example/cb'], 'public', NULL, NULL, 'client_secret_basic')",
        "SELECT oauth.create_client('x', ARRAY['https://a.example/cb'], 'confidential', NULL, NULL, 'none')",
        "SELECT oauth.create_client('x', ARRAY['https://a.example/cb'], 'confidential', NULL, ARRAY['implicit'])",
        "SELECT oauth.create_client('x', ARRAY['https://a.example/cb'], 'confidential', ARRAY['a b'])",
    ] {
        assert_eq!(sqlstate(&mut c, sql), "22023", "{sql}");
    }
}

#[test]
fn administration_update_regenerate_delete() {
    let db = TestDb::new("admin");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let v = json(
        &mut c,
        "SELECT oauth.update_client($1, '{\"name\": \"Renamed\", \"redirect_uris\": [\"https://new.example/cb\"], \"logo_uri\": \"https://new.example/logo.png\"}')",
        &[&client.id],
    );
    assert_eq!(v["name"], "Renamed");
    assert_eq!(v["redirect_uris"][0], "https://new.example/cb");
    assert!(v.get("client_secret").is_none() && v.get("client_secret_hash").is_none());
    for bad in [
        r#"{"client_type": "public"}"#,
        r#"{"redirect_uris": ["javascript:x"]}"#,
        r#"{"name": 5}"#,
        "[]",
    ] {
        let r = c.query_one(
            "SELECT oauth.update_client($1, $2::text::jsonb)",
            &[&client.id, &bad],
        );
        assert_eq!(r.unwrap_err().code().unwrap().code(), "22023", "{bad}");
    }
    assert_eq!(
        sqlstate(&mut c, "SELECT oauth.update_client('nope', '{}')"),
        "P0002"
    );

    // A new secret works at once and the old one stops working.
    let n = json(
        &mut c,
        "SELECT oauth.regenerate_client_secret($1)",
        &[&client.id],
    );
    let new_client = TestClient {
        id: client.id.clone(),
        secret: n["client_secret"].as_str().map(String::from),
    };
    let code = get_code(&mut c, &new_client, "https://new.example/cb", "openid", "u");
    assert_eq!(
        exchange(&mut c, &client, &code, "https://new.example/cb")["error"],
        "invalid_client"
    );
    let t = exchange(&mut c, &new_client, &code, "https://new.example/cb");
    assert!(t.get("access_token").is_some());

    // Deleting a client removes everything it had.
    c.query_one("SELECT oauth.delete_client($1)", &[&client.id])
        .unwrap();
    let left: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM oauth.grants) + (SELECT count(*) FROM oauth.refresh_tokens)
                  + (SELECT count(*) FROM oauth.consents) + (SELECT count(*) FROM oauth.authorizations)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    assert_eq!(
        sqlstate(
            &mut c,
            &format!("SELECT oauth.delete_client('{}')", client.id)
        ),
        "P0002"
    );
    assert_eq!(
        refresh(
            &mut c,
            &new_client,
            t["refresh_token"].as_str().unwrap(),
            None
        )["error"],
        "invalid_client"
    );
}

#[test]
fn administrators_list_and_read_clients_without_secrets() {
    let db = TestDb::new("client_list");
    let mut c = db.connect();
    let made: Vec<TestClient> = (0..3)
        .map(|_| create_client(&mut c, &[REDIRECT], "confidential"))
        .collect();
    json(
        &mut c,
        "SELECT oauth.update_client($1, $2)",
        &[
            &made[1].id,
            &serde_json::json!({"post_logout_redirect_uris": ["https://app.example/bye"]}),
        ],
    );
    let first = json(&mut c, "SELECT oauth.clients(1, 2)", &[]);
    assert_eq!(first["total"], 3);
    assert_eq!(first["clients"].as_array().unwrap().len(), 2);
    let second = json(
        &mut c,
        "SELECT oauth.clients(page => 2, per_page => 2)",
        &[],
    );
    let ids: Vec<&str> = first["clients"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["clients"].as_array().unwrap())
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = made.iter().map(|m| m.id.as_str()).collect();
    expected.sort();
    let mut got = ids.clone();
    got.sort();
    assert_eq!(got, expected, "every client once across the pages");
    let all = json(&mut c, "SELECT oauth.clients()", &[]).to_string();
    for m in &made {
        assert!(
            !all.contains(m.secret.as_deref().unwrap()),
            "never a secret"
        );
    }
    assert!(
        !all.contains("\"client_secret\"") && !all.contains("hash"),
        "{all}"
    );
    let one = json(&mut c, "SELECT oauth.client($1)", &[&made[1].id]);
    assert_eq!(
        one["post_logout_redirect_uris"][0],
        "https://app.example/bye"
    );
    assert_eq!(one["metadata_document"], false);
    assert_eq!(sqlstate(&mut c, "SELECT oauth.client('nope')"), "P0002");
    assert_eq!(sqlstate(&mut c, "SELECT oauth.clients(0)"), "22023");
    assert_eq!(sqlstate(&mut c, "SELECT oauth.clients(1, 100000)"), "22023");
    // Administration: not for other roles.
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE client_list_reader LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .unwrap();
    let mut plain = db.connect_as("client_list_reader");
    assert_eq!(sqlstate(&mut plain, "SELECT oauth.clients()"), "42501");
    assert_eq!(
        sqlstate(
            &mut plain,
            &format!("SELECT oauth.client('{}')", made[0].id)
        ),
        "42501"
    );
}

/// The SQLSTATE and message a statement raises.
fn refusal(
    c: &mut postgres::Client,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> (String, String) {
    let e = c
        .query_one(sql, params)
        .err()
        .unwrap_or_else(|| panic!("expected an error from {sql}"));
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("no SQLSTATE: {e}"));
    (db.code().code().to_string(), db.message().to_string())
}

/// An ID token of `client` for a new session of `sub`, as RP-initiated logout takes it back.
fn id_token_of_a_session(c: &mut postgres::Client, client: &TestClient, sub: &str) -> String {
    let session = session_token(c, sub);
    let aid = pending(c, &auth_params(client, REDIRECT, "openid"));
    let out = json(c, "SELECT oauth.consent($1, true, $2)", &[&aid, &session]);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    exchange(c, client, &code, REDIRECT)["id_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn create_client_registers_post_logout_redirect_uris_that_logout_returns_to() {
    let db = TestDb::new("create_logout");
    let mut c = db.connect();
    let bye = "https://app.example/bye";
    let made = json(
        &mut c,
        "SELECT oauth.create_client('Logout app', ARRAY[$1], post_logout_redirect_uris => ARRAY[$2, $2])",
        &[&REDIRECT, &bye],
    );
    assert_eq!(
        made["post_logout_redirect_uris"],
        serde_json::json!([bye]),
        "returned, distinct: {made}"
    );
    let client = TestClient::from_json(&made);
    assert_eq!(
        json(&mut c, "SELECT oauth.client($1)", &[&client.id])["post_logout_redirect_uris"],
        serde_json::json!([bye]),
        "stored as update_client stores them"
    );
    let event = json(
        &mut c,
        "SELECT details FROM oauth.audit_log WHERE event = 'client_created' AND client_id = $1",
        &[&client.id],
    );
    assert_eq!(event["post_logout_redirect_uris"], serde_json::json!([bye]));
    // RP-initiated logout with an ID token of that client's goes back there.
    let id_token = id_token_of_a_session(&mut c, &client, "u-create-logout");
    let (out, status) = status_of(
        &mut c,
        "SELECT oauth.end_session($1)",
        &[
            &serde_json::json!({"id_token_hint": id_token, "post_logout_redirect_uri": bye, "state": "s1"}),
        ],
    );
    assert_eq!(status, "303", "{out}");
    assert_eq!(out["redirect_to"], "https://app.example/bye?state=s1");
    assert_eq!(out["signed_out"], true);
    // The admin API's create takes them too (its params are create_client's arguments).
    let admin_key: String = c
        .query_one("SELECT oauth.create_admin_key('console')", &[])
        .unwrap()
        .get(0);
    let via_api = json(
        &mut c,
        "SELECT oauth.admin_clients($1, 'create', NULL, $2)",
        &[
            &admin_key,
            &serde_json::json!({"name": "API app", "redirect_uris": [REDIRECT],
                                "post_logout_redirect_uris": [bye]}),
        ],
    );
    assert_eq!(
        via_api["post_logout_redirect_uris"],
        serde_json::json!([bye])
    );
}

#[test]
fn dynamic_registration_records_post_logout_redirect_uris_in_its_audit_row() {
    let db = TestDb::new("register_logout");
    db.set("dynamic_registration", "on");
    let mut c = db.connect();
    let bye = "https://app.example/bye";
    let made = json(
        &mut c,
        "SELECT oauth.register_client($1)",
        &[
            &serde_json::json!({"client_name": "Registered", "redirect_uris": [REDIRECT],
                              "post_logout_redirect_uris": [bye],
                              "token_endpoint_auth_method": "none"}),
        ],
    );
    assert_eq!(
        made["post_logout_redirect_uris"],
        serde_json::json!([bye]),
        "{made}"
    );
    let event = json(
        &mut c,
        "SELECT details FROM oauth.audit_log WHERE event = 'client_created' AND client_id = $1",
        &[&made["client_id"].as_str().unwrap()],
    );
    assert_eq!(
        event["post_logout_redirect_uris"],
        serde_json::json!([bye]),
        "where logout may send a browser is on record: {event}"
    );
}

#[test]
fn create_client_refuses_post_logout_redirect_uris_as_update_client_does() {
    let db = TestDb::new("create_logout_bad");
    let mut c = db.connect();
    let existing = create_client(&mut c, &[REDIRECT], "confidential");
    for bad in [
        "http://app.example/bye",
        "https://app.example/bye#fragment",
        "not a uri",
    ] {
        let created = refusal(
            &mut c,
            "SELECT oauth.create_client('x', ARRAY[$1], post_logout_redirect_uris => ARRAY[$2])",
            &[&REDIRECT, &bad],
        );
        let updated = refusal(
            &mut c,
            "SELECT oauth.update_client($1, jsonb_build_object('post_logout_redirect_uris', jsonb_build_array($2::text)))",
            &[&existing.id, &bad],
        );
        assert_eq!(created.0, "22023", "{bad}: {created:?}");
        assert_eq!(created, updated, "{bad}");
        assert!(
            created.1.starts_with("post_logout_redirect_uris: "),
            "{created:?}"
        );
    }
    assert_eq!(
        refusal(
            &mut c,
            "SELECT oauth.create_client('x', ARRAY[$1], post_logout_redirect_uris => ARRAY[NULL::text])",
            &[&REDIRECT],
        ),
        (
            "22023".into(),
            "post_logout_redirect_uris must not contain NULL".into()
        )
    );
    assert_eq!(
        json(&mut c, "SELECT oauth.clients()", &[])["total"],
        1,
        "nothing written"
    );
}

#[test]
fn create_client_without_post_logout_redirect_uris_registers_none() {
    let db = TestDb::new("create_logout_none");
    let mut c = db.connect();
    // Every earlier call keeps working: positional with all eight arguments, or NULL given.
    let positional = json(
        &mut c,
        "SELECT oauth.create_client('Old call', ARRAY[$1], 'confidential', NULL, NULL, NULL, NULL, NULL)",
        &[&REDIRECT],
    );
    let explicit = json(
        &mut c,
        "SELECT oauth.create_client('Null', ARRAY[$1], post_logout_redirect_uris => NULL)",
        &[&REDIRECT],
    );
    for made in [&positional, &explicit] {
        assert_eq!(
            made["post_logout_redirect_uris"],
            serde_json::json!([]),
            "{made}"
        );
        let event = json(
            &mut c,
            "SELECT details FROM oauth.audit_log WHERE event = 'client_created' AND client_id = $1",
            &[&made["client_id"].as_str().unwrap()],
        );
        assert!(event.get("post_logout_redirect_uris").is_none(), "{event}");
    }
    // Logout ends the session but sends the browser nowhere it asks.
    let client = TestClient::from_json(&positional);
    let id_token = id_token_of_a_session(&mut c, &client, "u-no-logout-uri");
    let refused = json(
        &mut c,
        "SELECT oauth.end_session($1)",
        &[
            &serde_json::json!({"id_token_hint": id_token, "post_logout_redirect_uri": "https://app.example/bye"}),
        ],
    );
    assert_eq!(refused["error"], "invalid_request", "{refused}");
    let out = json(
        &mut c,
        "SELECT oauth.end_session($1)",
        &[&serde_json::json!({"id_token_hint": id_token})],
    );
    assert_eq!(out["signed_out"], true, "{out}");
    assert!(out.get("redirect_to").is_none(), "{out}");
}
