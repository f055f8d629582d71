//! The audit log: every security-relevant event leaves one row, with ids only, in the same
//! transaction as the event; only administrators read it.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

/// The events logged so far, oldest first, as (event, client_id, user_id, details).
fn events(c: &mut Client) -> Vec<Value> {
    let v = json(
        c,
        "SELECT coalesce(jsonb_agg(jsonb_build_object('event', event, 'client_id', client_id,
                 'user_id', user_id, 'details', details) ORDER BY at), '[]') FROM oauth.audit_log",
        &[],
    );
    v.as_array().unwrap().clone()
}

fn kinds(c: &mut Client) -> Vec<String> {
    events(c)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn security_events_are_audited_with_ids_only() {
    let db = TestDb::new("audit");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    assert_eq!(kinds(&mut c), ["client_created"]);

    // Consent, then a replayed code.
    let code = get_code(&mut c, &client, REDIRECT, "openid", "alice");
    let t = exchange(&mut c, &client, &code, REDIRECT);
    // A returning user: approved by the earlier consent without being asked.
    get_code(&mut c, &client, REDIRECT, "openid", "alice");
    let again = exchange(&mut c, &client, &code, REDIRECT);
    assert_eq!(again["error"], "invalid_grant");
    // A reused refresh token.
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let t2 = tokens(&mut c, &client, "openid", "bob");
    let rt2 = t2["refresh_token"].as_str().unwrap().to_string();
    refresh(&mut c, &client, &rt2, None);
    let reused = refresh(&mut c, &client, &rt2, None);
    assert_eq!(reused["error"], "invalid_grant");
    // Failed client authentication, with a known and an unknown client_id.
    let wrong = TestClient {
        id: client.id.clone(),
        secret: Some("guess".into()),
    };
    assert_eq!(
        refresh(&mut c, &wrong, &rt, None)["error"],
        "invalid_client"
    );
    let nobody = TestClient {
        id: "no-such-client".into(),
        secret: Some("x".into()),
    };
    assert_eq!(
        refresh(&mut c, &nobody, &rt, None)["error"],
        "invalid_client"
    );
    // A denial, a withdrawn consent, a rotated secret and key, a deletion.
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    call_as(
        &mut c,
        &user("carol"),
        "SELECT oauth.consent($1, false)",
        &aid,
    );
    call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.revoke_grant($1)",
        &client.id,
    );
    // A revocation (RFC 7009), trust changes and a client metadata document.
    let t3 = tokens(&mut c, &client, "openid", "dave");
    json(
        &mut c,
        "SELECT oauth.revoke($1, $2)",
        &[
            &serde_json::json!({"token": t3["refresh_token"]}),
            &basic_header(&client),
        ],
    );
    c.batch_execute(
        "SELECT oauth.add_issuer('https://issuer.example', '{\"audience\": \"app\"}');
         SELECT oauth.update_issuer('https://issuer.example', '{\"leeway\": 10}');
         SELECT oauth.remove_issuer('https://issuer.example');
         SELECT oauth.add_resource('https://api.example/');
         SELECT oauth.remove_resource('https://api.example/');
         SELECT oauth.register_metadata_document('https://app.example/client.json',
             '{\"client_id\": \"https://app.example/client.json\", \"redirect_uris\": [\"http://127.0.0.1/cb\"],
               \"token_endpoint_auth_method\": \"none\"}');",
    )
    .unwrap();
    c.batch_execute(&format!(
        "SELECT oauth.regenerate_client_secret('{0}');
         SELECT oauth.rotate_signing_key();
         SELECT oauth.update_client('{0}', '{{\"name\": \"Renamed\"}}');
         SELECT oauth.delete_client('{0}');",
        client.id
    ))
    .unwrap();

    let log = events(&mut c);
    let find =
        |event: &str| -> Vec<&Value> { log.iter().filter(|e| e["event"] == event).collect() };
    let granted = find("consent_granted");
    assert_eq!(granted.len(), 4);
    assert_eq!(granted[0]["user_id"], "alice");
    let automatic: Vec<bool> = granted
        .iter()
        .map(|e| e["details"]["automatic"].as_bool().unwrap())
        .collect();
    assert_eq!(automatic.iter().filter(|a| **a).count(), 1, "{granted:?}");
    let replay = find("code_replayed");
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0]["user_id"], "alice");
    assert_eq!(replay[0]["client_id"], client.id.as_str());
    assert_eq!(find("refresh_token_reused")[0]["user_id"], "bob");
    let failed = find("client_authentication_failed");
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["client_id"], client.id.as_str());
    assert_eq!(failed[1]["client_id"], "no-such-client");
    assert_eq!(find("consent_denied")[0]["user_id"], "carol");
    assert_eq!(find("consent_revoked")[0]["user_id"], "alice");
    assert_eq!(find("token_revoked")[0]["user_id"], "dave");
    for e in [
        "client_secret_rotated",
        "signing_key_rotated",
        "client_updated",
        "client_deleted",
        "issuer_added",
        "issuer_updated",
        "issuer_removed",
        "resource_added",
        "resource_removed",
        "client_metadata_document_stored",
    ] {
        assert_eq!(find(e).len(), 1, "{e}");
    }
    // Ids only: no secret, code or token anywhere in the log.
    let text = serde_json::to_string(&log).unwrap();
    for secret in [
        code.as_str(),
        &rt,
        &rt2,
        t["access_token"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret));
    }
    // The admin query.
    let recent = json(
        &mut c,
        "SELECT oauth.audit_events(event => 'code_replayed')",
        &[],
    );
    assert_eq!(recent.as_array().unwrap().len(), 1);
    // Nobody else reads or writes it.
    c.batch_execute("DO $$ BEGIN CREATE ROLE plain_user LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$").unwrap();
    let mut p = db.connect_as("plain_user");
    for sql in [
        "SELECT * FROM oauth.audit_log",
        "DELETE FROM oauth.audit_log",
        "SELECT oauth.audit_events()",
    ] {
        assert_eq!(sqlstate(&mut p, sql), "42501", "{sql}");
    }
    // Retention: purge drops what is older than oauth_server.audit_retention_days.
    c.batch_execute("UPDATE oauth.audit_log SET at = now() - interval '100 days' WHERE event = 'client_created'").unwrap();
    let purged = json(&mut c, "SELECT oauth.purge_expired()", &[]);
    assert_eq!(purged["audit_log"], json!(1));
}
