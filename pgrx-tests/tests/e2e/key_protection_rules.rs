//! Private signing keys at rest: encrypted with a key-encryption key read from a file outside
//! the database, rotated with `oauth.rekey_signing_keys()`, unusable without the right KEK, and
//! the setting naming the file hidden from non-superusers.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::Value;

/// A KEK file the server can read.
fn kek_file(name: &str, byte: u8) -> String {
    let path = format!("/tmp/oauth_server_kek_{}_{name}", std::process::id());
    let hex: String = std::iter::repeat_n(format!("{byte:02x}"), 32).collect();
    std::fs::write(&path, hex).unwrap();
    path
}

fn keys(c: &mut Client) -> Vec<Value> {
    json(c, "SELECT oauth.signing_keys()", &[])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn signing_keys_are_encrypted_at_rest_and_rekeyed_on_rotation() {
    let db = TestDb::new("kek");
    let a = kek_file("a", 0x11);
    let b = kek_file("b", 0x22);
    // Keys made before any KEK are stored as they are.
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    tokens(&mut c, &client, "openid", "u");
    assert!(keys(&mut c).iter().all(|k| k["encrypted"] == false));

    db.set("key_encryption_key_file", &a);
    let mut c = db.connect();
    let r = json(&mut c, "SELECT oauth.rekey_signing_keys()", &[]);
    assert_eq!(r["rekeyed"], 2, "{r}");
    let kek_a = r["kek_id"].as_str().unwrap().to_string();
    // New keys are sealed too; no private key is DER any more (PKCS#8 starts with 0x30).
    c.batch_execute("SELECT oauth.rotate_signing_key()")
        .unwrap();
    assert!(keys(&mut c).iter().all(|k| k["kek_id"] == kek_a.as_str()));
    let plain: i64 = c
        .query_one("SELECT count(*) FROM oauth.signing_keys WHERE get_byte(private_key, 0) = 48 AND kek_id IS NULL", &[])
        .unwrap()
        .get(0);
    assert_eq!(plain, 0);
    let t = tokens(&mut c, &client, "openid", "u");
    let at = t["access_token"].as_str().unwrap();
    json(&mut c, "SELECT oauth.verify($1)", &[&at]);

    // Without the KEK the server cannot sign: a clear 55000, not garbage.
    c.batch_execute(&format!(
        "ALTER DATABASE {} RESET oauth_server.key_encryption_key_file",
        db.name
    ))
    .unwrap();
    let mut c = db.connect();
    let code = get_code_or_error(&mut c, &client);
    assert_eq!(code, "55000");

    // Rotation of the KEK: new file current, old one previous, rekey, then forget the old.
    db.set("key_encryption_key_file", &b);
    db.set("previous_key_encryption_key_file", &a);
    let mut c = db.connect();
    let r = json(&mut c, "SELECT oauth.rekey_signing_keys()", &[]);
    assert_eq!(r["rekeyed"], 3);
    let audited: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.audit_log WHERE event = 'signing_keys_rekeyed'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(audited, 2);
    let kek_b = r["kek_id"].as_str().unwrap().to_string();
    assert_ne!(kek_a, kek_b);
    c.batch_execute(&format!(
        "ALTER DATABASE {} RESET oauth_server.previous_key_encryption_key_file",
        db.name
    ))
    .unwrap();
    let mut c = db.connect();
    assert!(keys(&mut c).iter().all(|k| k["kek_id"] == kek_b.as_str()));
    assert!(tokens(&mut c, &client, "openid", "u")["access_token"].is_string());
    // The old KEK alone no longer opens anything.
    db.set("key_encryption_key_file", &a);
    let mut c = db.connect();
    assert_eq!(get_code_or_error(&mut c, &client), "55000");
    db.set("key_encryption_key_file", &b);

    // Where the KEK is, and the key functions, are for superusers and administrators only.
    c.batch_execute("DO $$ BEGIN CREATE ROLE plain_user LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$").unwrap();
    let mut p = db.connect_as("plain_user");
    // Once the library is loaded (at once with shared_preload_libraries, as the README
    // recommends; here by a first call), the setting is superuser-only.
    p.batch_execute("SELECT oauth.uid()").unwrap();
    for sql in [
        "SHOW oauth_server.key_encryption_key_file",
        "SELECT oauth.rekey_signing_keys()",
        "SELECT oauth.signing_keys()",
    ] {
        assert_eq!(sqlstate(&mut p, sql), "42501", "{sql}");
    }
    for f in [a, b] {
        let _ = std::fs::remove_file(f);
    }
}

/// The SQLSTATE a new authorization request raises ("ok" if none): it loads the signing key.
fn get_code_or_error(c: &mut Client, client: &TestClient) -> String {
    match c.query_one(
        "SELECT oauth.authorize($1)",
        &[&auth_params(client, REDIRECT, "openid")],
    ) {
        Ok(_) => "ok".into(),
        Err(e) => e.code().map(|s| s.code().to_string()).unwrap_or_default(),
    }
}

/// Whether `needle` appears in the stored secrets of provider `name`.
fn stored_in_clear(c: &mut Client, name: &str, needle: &str) -> bool {
    c.query_one(
        "SELECT position(convert_to($2, 'UTF8') IN secrets) > 0 FROM oauth.sign_in_providers WHERE name = $1",
        &[&name, &needle],
    )
    .unwrap()
    .get(0)
}

#[test]
fn sign_in_provider_secrets_are_sealed_with_the_kek_and_rekeyed() {
    let db = TestDb::new("kek_providers");
    let a = kek_file("pa", 0x33);
    let b = kek_file("pb", 0x44);
    let mut c = db.connect();
    let add = "SELECT oauth.add_sign_in_provider($1, jsonb_build_object('kind', 'github', 'client_id', 'x', 'client_secret', $2::text))";
    c.execute(add, &[&"before", &"secret-before-kek"]).unwrap();
    assert!(
        stored_in_clear(&mut c, "before", "secret-before-kek"),
        "no KEK: stored as given, like signing keys"
    );
    db.set("key_encryption_key_file", &a);
    let mut c = db.connect();
    c.execute(add, &[&"after", &"secret-after-kek"]).unwrap();
    assert!(!stored_in_clear(&mut c, "after", "secret-after-kek"));
    json(&mut c, "SELECT oauth.rekey_signing_keys()", &[]);
    assert!(
        !stored_in_clear(&mut c, "before", "secret-before-kek"),
        "rekey seals the old one"
    );
    // Rotate to KEK b (a is the previous one), rekey, then drop a: the secret still opens.
    db.set("key_encryption_key_file", &b);
    db.set("previous_key_encryption_key_file", &a);
    let mut c = db.connect();
    json(&mut c, "SELECT oauth.rekey_signing_keys()", &[]);
    c.batch_execute(&format!(
        "ALTER DATABASE {} RESET oauth_server.previous_key_encryption_key_file",
        db.name
    ))
    .unwrap();
    let mut c = db.connect();
    let kek_ids: Vec<String> = c
        .query(
            "SELECT DISTINCT secrets_kek_id FROM oauth.sign_in_providers",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kek_ids.len(), 1);
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let begun = json(&mut c, "SELECT oauth.begin_sign_in('before', $1)", &[&aid]);
    let state = query_param(begun["redirect_to"].as_str().unwrap(), "state").unwrap();
    let binding = begun["browser_binding"].as_str().unwrap();
    let t = json(
        &mut c,
        "SELECT oauth.sign_in_token_request('before', $1, $2, 'code')",
        &[&state, &binding],
    );
    assert_eq!(
        t["token_request"]["form"]["client_secret"],
        "secret-before-kek"
    );
}
