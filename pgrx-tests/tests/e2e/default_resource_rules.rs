//! A client's default resources (`default_resources`) and database audiences
//! (`postgres://host/dbname` resources): PostgreSQL 18's libpq gets its tokens itself (device
//! flow) and cannot send RFC 8707's `resource`, so an administrator says which resources a
//! request of the client naming none is for. Such a request is recorded as naming them, and
//! consent, auto-approval, the code exchange and `aud` follow; a request naming any keeps its
//! own. Only administrators set them; a resource removed leaves them for good.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const DB: &str = "postgres://db.example.com/app";
const API: &str = "https://api.example/";
const MCP: &str = "https://mcp.example/mcp";
const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn setup(tag: &str) -> (TestDb, Client) {
    let db = TestDb::new(tag);
    let mut c = db.connect();
    c.batch_execute(&format!(
        "SELECT oauth.add_resource('{DB}', 'App database');
         SELECT oauth.add_resource('{API}');
         SELECT oauth.add_resource('{MCP}');"
    ))
    .unwrap();
    (db, c)
}

fn aud(token_response: &Value) -> Value {
    access_token_claims(token_response)["aud"].clone()
}

/// The stored default resources of `client`, as `oauth.client()` shows them.
fn defaults_of(c: &mut Client, client: &TestClient) -> Value {
    json(c, "SELECT oauth.client($1)", &[&client.id])["default_resources"].clone()
}

/// The SQLSTATE and message of `oauth.update_client(client, changes)`, or "ok".
fn update_outcome(c: &mut Client, client: &TestClient, changes: Value) -> (String, String) {
    match c.query_one(
        "SELECT oauth.update_client($1, $2)",
        &[&client.id, &changes],
    ) {
        Ok(_) => ("ok".into(), String::new()),
        Err(e) => {
            let db = e.as_db_error().expect("a database error");
            (
                db.code().code().to_string(),
                format!("{} / {}", db.message(), db.hint().unwrap_or_default()),
            )
        }
    }
}

/// The resources the pending request `aid` records, as the consent page is shown them.
fn shown_resources(c: &mut Client, aid: &str, sub: &str) -> Value {
    call_as(c, &user(sub), "SELECT oauth.authorization($1)", aid)["resources"].clone()
}

/// A full code flow of `client` for `sub`, with the request's `resource` when given, approved
/// with `oauth.consent` → the token response.
fn code_flow(c: &mut Client, client: &TestClient, resource: Option<Value>, sub: &str) -> Value {
    let mut p = auth_params(client, REDIRECT, "openid");
    if let Some(r) = resource {
        p["resource"] = r;
    }
    let aid = pending(c, &p);
    let out = call_as(c, &user(sub), "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code")
        .unwrap_or_else(|| panic!("no code: {out}"));
    let (t, status) = redeem_code(c, client, &code);
    assert_eq!(status, "", "{t}");
    t
}

fn device_client(c: &mut Client) -> TestClient {
    let v = json(
        c,
        "SELECT oauth.create_client('psql', ARRAY[]::text[], 'public',
                grant_types => ARRAY['urn:ietf:params:oauth:grant-type:device_code'])",
        &[],
    );
    TestClient::from_json(&v)
}

/// The device flow as libpq runs it (`client_id` and `scope`, plus `extra`), approved by `sub`
/// with `oauth.consent` → the token response.
fn device_flow(c: &mut Client, client: &TestClient, extra: Value, sub: &str) -> Value {
    let mut form = json!({"client_id": client.id, "scope": "openid"});
    for (k, v) in extra.as_object().unwrap() {
        form[k] = v.clone();
    }
    let d = json(c, "SELECT oauth.device_authorization($1, NULL)", &[&form]);
    let user_code = d["user_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no user code: {d}"));
    let details = call_as(c, &user(sub), "SELECT oauth.authorization($1)", user_code);
    let aid = details["authorization_id"].as_str().unwrap().to_string();
    let done = call_as(c, &user(sub), "SELECT oauth.consent($1, true)", &aid);
    assert_eq!(done["approved"], true, "{done}");
    let (t, status) = status_of(
        c,
        "SELECT oauth.token($1, NULL)",
        &[&json!({"grant_type": DEVICE, "client_id": client.id,
                  "device_code": d["device_code"]})],
    );
    assert_eq!(status, "", "{t}");
    t
}

#[test]
fn a_device_request_naming_no_resource_is_for_the_database() {
    let (_db, mut c) = setup("dr_device");
    let psql = device_client(&mut c);
    // Without defaults: the default audience, as before.
    let plain = device_flow(&mut c, &psql, json!({}), "alice");
    assert_eq!(aud(&plain), "authenticated");
    update_client(&mut c, &psql, json!({"default_resources": [DB]}));
    assert_eq!(defaults_of(&mut c, &psql), json!([DB]));
    let t = device_flow(&mut c, &psql, json!({}), "alice");
    assert_eq!(aud(&t), DB, "libpq's token is for its database");
    // A device request naming a resource keeps only it.
    let t = device_flow(&mut c, &psql, json!({"resource": API}), "alice");
    assert_eq!(aud(&t), API);
}

#[test]
fn a_browser_or_pushed_request_naming_none_is_for_the_defaults() {
    let (_db, mut c) = setup("dr_code");
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    update_client(&mut c, &client, json!({"default_resources": [DB, API]}));
    // The consent page is shown what the request is recorded as naming.
    let aid = pending_request(&mut c, &client, "openid", &[]);
    assert_eq!(shown_resources(&mut c, &aid, "bob"), json!([DB, API]));
    let t = code_flow(&mut c, &client, None, "bob");
    assert_eq!(aud(&t), json!([DB, API]));
    // The token request may narrow to one of them, as if the client had named them.
    let code = approved_code(&mut c, &client, "openid", &[], "bob");
    let (t, _) = token_endpoint(
        &mut c,
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": REDIRECT, "resource": DB}),
        &client,
    );
    assert_eq!(aud(&t), DB, "{t}");
    // Naming a resource: that one only, the defaults are not added.
    let t = code_flow(&mut c, &client, Some(json!(MCP)), "bob");
    assert_eq!(aud(&t), MCP);
    let t = code_flow(&mut c, &client, Some(json!([MCP, MCP])), "bob");
    assert_eq!(aud(&t), MCP);
    // An empty resource is no resource (RFC 6749 §3.1): the defaults, nothing wider.
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["resource"] = json!("");
    let aid = pending(&mut c, &p);
    // (Users who have not consented yet: bob's consent would approve these without a page.)
    assert_eq!(shown_resources(&mut c, &aid, "yann"), json!([DB, API]));
    // A pushed request is checked and recorded the same way.
    let uri = par::push(&mut c, &client, auth_params(&client, REDIRECT, "openid"));
    let (r, _) = par::use_pushed(&mut c, &client.id, &uri, json!({}));
    let to = r["redirect_to"].as_str().unwrap();
    let aid = query_param(to, "authorization_id").unwrap_or_else(|| panic!("{r}"));
    assert_eq!(shown_resources(&mut c, &aid, "zoe"), json!([DB, API]));
    // The defaults widen no scope: the client's own list still binds.
    update_client(&mut c, &client, json!({"scopes": ["openid"]}));
    let r = authorize(&mut c, &auth_params(&client, REDIRECT, "openid email"));
    let to = r["redirect_to"].as_str().unwrap();
    assert_eq!(query_param(to, "error").as_deref(), Some("invalid_scope"));
}

#[test]
fn consent_to_the_defaults_covers_the_next_request_naming_none() {
    let (_db, mut c) = setup("dr_consent");
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    update_client(&mut c, &client, json!({"default_resources": [DB]}));
    code_flow(&mut c, &client, None, "carol");
    let consent = json(
        &mut c,
        "SELECT to_jsonb(scopes_by_audience) FROM oauth.consents WHERE client_id = $1",
        &[&client.id],
    );
    assert_eq!(
        consent,
        json!({DB: ["openid"]}),
        "recorded for the database"
    );
    // The same request again is approved without asking.
    let aid = pending_request(&mut c, &client, "openid", &[]);
    let again = call_as(
        &mut c,
        &user("carol"),
        "SELECT oauth.authorization($1)",
        &aid,
    );
    let to = again["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("not approved by the earlier consent: {again}"));
    let code = query_param(to, "code").unwrap();
    let (t, _) = redeem_code(&mut c, &client, &code);
    assert_eq!(aud(&t), DB);
    // Another resource was never approved: asked.
    let aid = pending_request(&mut c, &client, "openid", &[API]);
    let asked = call_as(
        &mut c,
        &user("carol"),
        "SELECT oauth.authorization($1)",
        &aid,
    );
    assert!(asked.get("redirect_to").is_none(), "{asked}");
    // Nor is the default audience, which a request naming none was before the defaults.
    update_client(&mut c, &client, json!({"default_resources": null}));
    let aid = pending_request(&mut c, &client, "openid", &[]);
    let asked = call_as(
        &mut c,
        &user("carol"),
        "SELECT oauth.authorization($1)",
        &aid,
    );
    assert!(asked.get("redirect_to").is_none(), "{asked}");
}

#[test]
fn default_resources_must_be_registered_distinct_and_few() {
    let (_db, mut c) = setup("dr_validate");
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let unknown = "postgres://db.example.com/other";
    let (state, message) =
        update_outcome(&mut c, &client, json!({"default_resources": [DB, unknown]}));
    assert_eq!(state, "22023");
    assert!(
        message.contains(unknown) && message.contains("oauth.add_resource"),
        "{message}"
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("{API}{i}")).collect();
    for bad in [
        json!([DB, DB]),
        json!(eleven),
        json!(DB),
        json!([""]),
        json!(["https://api.example/#x"]),
    ] {
        let (state, message) =
            update_outcome(&mut c, &client, json!({"default_resources": bad.clone()}));
        assert_eq!(state, "22023", "{bad}: {message}");
    }
    assert_eq!(defaults_of(&mut c, &client), Value::Null, "nothing was set");
    // Set, shown by oauth.client(), oauth.clients() and the update's answer; [] and null clear.
    let answer = json(
        &mut c,
        "SELECT oauth.update_client($1, $2)",
        &[&client.id, &json!({"default_resources": [API, DB]})],
    );
    assert_eq!(answer["default_resources"], json!([API, DB]));
    let listed = json(&mut c, "SELECT oauth.clients()", &[]);
    assert_eq!(listed["clients"][0]["default_resources"], json!([API, DB]));
    for clear in [json!([]), Value::Null] {
        update_client(&mut c, &client, json!({"default_resources": [DB]}));
        update_client(&mut c, &client, json!({"default_resources": clear}));
        assert_eq!(defaults_of(&mut c, &client), Value::Null);
    }
    // Audited as a change, by key.
    let changed = json(
        &mut c,
        "SELECT details->'changed' FROM oauth.audit_log WHERE event = 'client_updated'
         ORDER BY at DESC LIMIT 1",
        &[],
    );
    assert_eq!(changed, json!(["default_resources"]));
    // The HTTP admin API's create takes them, checked the same way.
    let key: String = c
        .query_one("SELECT oauth.create_admin_key('ops')", &[])
        .unwrap()
        .get(0);
    let made = json(
        &mut c,
        "SELECT oauth.admin_clients($1, 'create', NULL, $2)",
        &[
            &key,
            &json!({"name": "psql", "redirect_uris": [REDIRECT], "default_resources": [DB]}),
        ],
    );
    let made = TestClient::from_json(&made);
    assert_eq!(defaults_of(&mut c, &made), json!([DB]));
    let refused = c.query_one(
        "SELECT oauth.admin_clients($1, 'create', NULL, $2)",
        &[
            &key,
            &json!({"name": "psql", "redirect_uris": [REDIRECT], "default_resources": [unknown]}),
        ],
    );
    let e = refused.expect_err("an unregistered default resource");
    assert_eq!(e.code().unwrap().code(), "22023");
}

#[test]
fn a_removed_resource_leaves_the_defaults_for_good() {
    let (_db, mut c) = setup("dr_removed");
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let other = create_client(&mut c, &[REDIRECT], "confidential");
    update_client(&mut c, &client, json!({"default_resources": [DB, API]}));
    update_client(&mut c, &other, json!({"default_resources": [DB]}));
    c.batch_execute(&format!("SELECT oauth.remove_resource('{DB}')"))
        .unwrap();
    assert_eq!(defaults_of(&mut c, &client), json!([API]));
    assert_eq!(defaults_of(&mut c, &other), Value::Null, "none left: NULL");
    // Registered again, it is nobody's default until an administrator says so.
    c.batch_execute(&format!("SELECT oauth.add_resource('{DB}')"))
        .unwrap();
    assert_eq!(defaults_of(&mut c, &other), Value::Null);
    let t = code_flow(&mut c, &other, None, "dave");
    assert_eq!(aud(&t), "authenticated", "the plain default audience");
    // A direct DELETE, and a resource moved to another URL, leave them too.
    c.batch_execute(&format!(
        "DELETE FROM oauth.resources WHERE resource = '{API}'"
    ))
    .unwrap();
    assert_eq!(defaults_of(&mut c, &client), Value::Null);
    update_client(&mut c, &client, json!({"default_resources": [MCP, DB]}));
    c.batch_execute(&format!(
        "UPDATE oauth.resources SET resource = 'https://moved.example/mcp' WHERE resource = '{MCP}'"
    ))
    .unwrap();
    assert_eq!(defaults_of(&mut c, &client), json!([DB]));
    // Written directly, an unregistered default refuses the request rather than falling back
    // to the default audience.
    c.batch_execute(&format!(
        "UPDATE oauth.clients SET default_resources = ARRAY['{MCP}'] WHERE client_id = '{}'",
        client.id
    ))
    .unwrap();
    let r = authorize(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let to = r["redirect_to"].as_str().unwrap();
    assert_eq!(query_param(to, "error").as_deref(), Some("invalid_target"));
}

/// Setting defaults while a resource is removed: the removal waits for the setting's
/// transaction and then takes the resource out of what it wrote, instead of missing a row it
/// could not see yet (which would keep a removed resource as a default, to come back to life
/// when one of that URL is registered again).
#[test]
fn a_removal_racing_a_setting_still_leaves_the_defaults() {
    let (db, mut c) = setup("dr_race");
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let mut setter = db.connect();
    let mut tx = setter.transaction().unwrap();
    tx.query_one(
        "SELECT oauth.update_client($1, $2)",
        &[&client.id, &json!({"default_resources": [DB]})],
    )
    .unwrap();
    let mut remover = db.connect();
    let removal = std::thread::spawn(move || {
        remover
            .batch_execute(&format!("SELECT oauth.remove_resource('{DB}')"))
            .unwrap();
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!removal.is_finished(), "the removal waits for the setting");
    tx.commit().unwrap();
    removal.join().unwrap();
    assert_eq!(defaults_of(&mut c, &client), Value::Null);
}

#[test]
fn a_database_is_a_resource_in_one_spelling() {
    let (_db, mut c) = setup("dr_postgres");
    let resources = json(&mut c, "SELECT oauth.resources()", &[]);
    assert!(
        resources
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["resource"] == DB && r["name"] == "App database"),
        "{resources}"
    );
    // Its metadata names no HTTP bearer method: its token comes in SASL OAUTHBEARER.
    let md = json(
        &mut c,
        "SELECT oauth.protected_resource_metadata($1)",
        &[&DB],
    );
    assert_eq!(md["resource"], DB);
    assert_eq!(
        md["authorization_servers"],
        json!(["http://localhost:8080"])
    );
    assert!(md.get("bearer_methods_supported").is_none(), "{md}");
    // Named explicitly, it is the audience as any resource is.
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = code_flow(&mut c, &client, Some(json!(DB)), "erin");
    assert_eq!(aud(&t), DB);
    // Another spelling of it is not it: not registered, so refused.
    for spelling in [
        "POSTGRES://db.example.com/app",
        "postgres://db.example.com/app/",
    ] {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p["resource"] = json!(spelling);
        let to = authorize(&mut c, &p)["redirect_to"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            query_param(&to, "error").as_deref(),
            Some("invalid_target"),
            "{spelling}"
        );
    }
    // And cannot be registered beside it.
    for bad in [
        "POSTGRES://db.example.com/app",
        "postgres://DB.example.com/app",
        "postgres://db.example.com:5432/app",
        "postgres://db.example.com/%61pp",
        "postgres://db.example.com/app/",
        "postgres://db.example.com",
        "postgres://db.example.com/app/x",
        "postgres://user:pw@db.example.com/app",
        "postgres://db.example.com/app?sslmode=require",
        "postgres:///app",
        "postgresql://db.example.com/app",
        // An https resource's scheme in capitals: 22023 naming the spelling, not the CHECK.
        "HTTPS://api.example.com",
    ] {
        assert_eq!(
            sqlstate_of(&mut c, "SELECT oauth.add_resource($1)", bad),
            "22023",
            "{bad}"
        );
    }
    assert_eq!(
        sqlstate_of(
            &mut c,
            "SELECT oauth.add_resource($1)",
            "postgresql://db.example.com:6432/app"
        ),
        "ok"
    );
    c.batch_execute(&format!("SELECT oauth.remove_resource('{DB}')"))
        .unwrap();
    assert_eq!(
        sqlstate_of(&mut c, "SELECT oauth.protected_resource_metadata($1)", DB),
        "P0002"
    );
}

#[test]
fn registrants_and_documents_cannot_choose_default_resources() {
    let (db, mut c) = setup("dr_register");
    db.set("dynamic_registration", "on");
    let mut c2 = db.connect();
    let made = json(
        &mut c2,
        "SELECT oauth.register_client($1)",
        &[
            &json!({"redirect_uris": [REDIRECT], "default_resources": [DB],
                  "client_name": "Registered"}),
        ],
    );
    assert!(made.get("default_resources").is_none(), "{made}");
    let registered = TestClient::from_json(&made);
    assert_eq!(defaults_of(&mut c, &registered), Value::Null, "ignored");
    let t = code_flow(&mut c2, &registered, None, "frank");
    assert_eq!(aud(&t), "authenticated");
    // Nor a client ID metadata document.
    let url = "https://app.example/oauth/client.json";
    let doc = json!({"client_id": url, "redirect_uris": [LOOPBACK],
                     "token_endpoint_auth_method": "none", "default_resources": [DB]});
    json(
        &mut c,
        "SELECT oauth.register_metadata_document($1, $2)",
        &[&url, &doc],
    );
    let document_client = TestClient {
        id: url.into(),
        secret: None,
    };
    assert_eq!(defaults_of(&mut c, &document_client), Value::Null);
}
