//! What MCP clients and machines rely on: RFC 8707 resource indicators against the allow-list,
//! RFC 9728 protected resource metadata, client ID metadata documents, the client credentials
//! grant and the device authorization grant (RFC 8628).

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const MCP: &str = "https://mcp.example/mcp";
const API: &str = "https://api.example/";

/// `oauth.token(form, authorization)` → (body, response.status).
fn token(c: &mut Client, form: Value, authorization: Option<String>) -> (Value, String) {
    status_of(c, "SELECT oauth.token($1, $2)", &[&form, &authorization])
}

fn basic(client: &TestClient) -> Option<String> {
    Some(basic_header(client))
}

fn aud(token_response: &Value) -> Value {
    jwt_parts(token_response["access_token"].as_str().unwrap()).1["aud"].clone()
}

fn with_resources(db: &TestDb) -> Client {
    let mut c = db.connect();
    c.batch_execute(&format!(
        "SELECT oauth.set_scope('mcp:tools', 'Use the tools');
         SELECT oauth.add_resource('{MCP}', 'Example MCP server', ARRAY['mcp:tools']);
         SELECT oauth.add_resource('{API}');"
    ))
    .unwrap();
    c
}

#[test]
fn resources_must_be_registered_and_become_the_audience() {
    let db = TestDb::new("res");
    let mut c = with_resources(&db);
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    // Unregistered: invalid_target, back to the client.
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["resource"] = json!("https://elsewhere.example/");
    let r = authorize(&mut c, &p);
    let to = r["redirect_to"].as_str().unwrap();
    assert_eq!(
        query_param(to, "error").as_deref(),
        Some("invalid_target"),
        "{to}"
    );
    // Two registered resources: both authorized; the token may ask for one of them.
    p["resource"] = json!([MCP, API]);
    let aid = pending(&mut c, &p);
    let out = call_as(&mut c, &user("u"), "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let form = |code: &str, resource: Value| {
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": REDIRECT, "resource": resource})
    };
    let (wider, status) = token(
        &mut c,
        form(&code, json!([MCP, "https://elsewhere.example/"])),
        basic(&client),
    );
    assert_eq!(
        (wider["error"].as_str(), status.as_str()),
        (Some("invalid_target"), "400")
    );
    let (t, _) = token(&mut c, form(&code, json!(MCP)), basic(&client));
    assert_eq!(aud(&t), json!(MCP), "{t}");
    // A refresh narrows to any authorized resource, never beyond.
    let rt = t["refresh_token"].as_str().unwrap();
    let (r, _) = token(
        &mut c,
        json!({"grant_type": "refresh_token", "refresh_token": rt, "resource": API}),
        basic(&client),
    );
    assert_eq!(aud(&r), json!(API));
    let rt = r["refresh_token"].as_str().unwrap();
    let (r, _) = token(
        &mut c,
        json!({"grant_type": "refresh_token", "refresh_token": rt}),
        basic(&client),
    );
    assert_eq!(aud(&r), json!([MCP, API]));
    let rt = r["refresh_token"].as_str().unwrap();
    let (r, _) = token(
        &mut c,
        json!({"grant_type": "refresh_token", "refresh_token": rt, "resource": "https://elsewhere.example/"}),
        basic(&client),
    );
    assert_eq!(r["error"], "invalid_target");
    // No resource at all: the default audience, as before.
    let t = tokens(&mut c, &client, "openid", "u2");
    assert_eq!(aud(&t), json!("authenticated"));
}

#[test]
fn protected_resource_metadata_names_us_and_the_resource_scopes() {
    let db = TestDb::new("prm");
    let mut c = with_resources(&db);
    let doc = json(
        &mut c,
        "SELECT oauth.protected_resource_metadata($1)",
        &[&MCP],
    );
    assert_eq!(doc["resource"], MCP);
    assert_eq!(
        doc["authorization_servers"],
        json!(["http://localhost:8080"])
    );
    assert_eq!(doc["scopes_supported"], json!(["mcp:tools"]));
    assert_eq!(doc["resource_name"], "Example MCP server");
    // NULL scopes: every scope but the OpenID Connect ones.
    let api = json(
        &mut c,
        "SELECT oauth.protected_resource_metadata($1)",
        &[&API],
    );
    assert_eq!(api["scopes_supported"], json!(["mcp:tools"]));
    assert_eq!(
        sqlstate(
            &mut c,
            "SELECT oauth.protected_resource_metadata('https://nope.example/')"
        ),
        "P0002"
    );
    // By path on the issuer's origin: the issuer itself is the userinfo resource.
    let own = json(
        &mut c,
        "SELECT oauth.protected_resource_metadata_at('')",
        &[],
    );
    assert_eq!(own["resource"], "http://localhost:8080");
    let missing = json(
        &mut c,
        "SELECT oauth.protected_resource_metadata_at('/nothing')",
        &[],
    );
    assert_eq!(missing["error"], "not_found");
    for bad in [
        "SELECT oauth.add_resource('http://api.example/')",
        "SELECT oauth.add_resource('https://a.example/#f')",
        "SELECT oauth.add_resource('https://a.example/', NULL, ARRAY['unknown'])",
    ] {
        assert_eq!(sqlstate(&mut c, bad), "22023", "{bad}");
    }
    c.batch_execute(&format!("SELECT oauth.remove_resource('{API}')"))
        .unwrap();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["resource"] = json!(API);
    let to = authorize(&mut c, &p)["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_target"));
}

#[test]
fn client_credentials_is_for_confidential_clients_acting_for_themselves() {
    let db = TestDb::new("cc");
    let mut c = with_resources(&db);
    let machine: Value = json(
        &mut c,
        "SELECT oauth.create_client('Nightly job', ARRAY[]::text[], 'confidential', grant_types => ARRAY['client_credentials'])",
        &[],
    );
    let machine = TestClient {
        id: machine["client_id"].as_str().unwrap().into(),
        secret: machine["client_secret"].as_str().map(String::from),
    };
    let (t, status) = token(
        &mut c,
        json!({"grant_type": "client_credentials", "scope": "mcp:tools", "resource": MCP}),
        basic(&machine),
    );
    assert_eq!(status, "", "{t}");
    let (_, claims) = jwt_parts(t["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], machine.id);
    assert_eq!(claims["client_id"], machine.id);
    assert_eq!(claims["aud"], MCP);
    assert_eq!(claims["scope"], "mcp:tools");
    assert!(
        t.get("refresh_token").is_none() && t.get("id_token").is_none(),
        "{t}"
    );
    // The token verifies (its family exists) and is revoked like any other.
    let at = t["access_token"].as_str().unwrap();
    json(&mut c, "SELECT oauth.verify($1)", &[&at]);
    // A machine family belongs to no user: a session whose sub spells the client's id (a demo
    // sign-in, an issuer's odd sub) cannot withdraw it as "its" grant.
    let out = call_as(
        &mut c,
        &user(&machine.id),
        "SELECT oauth.revoke_grant($1)",
        &machine.id,
    );
    assert_eq!(out["error"], "not_found", "{out}");
    json(&mut c, "SELECT oauth.verify($1)", &[&at]);
    let (openid, _) = token(
        &mut c,
        json!({"grant_type": "client_credentials", "scope": "openid"}),
        basic(&machine),
    );
    assert_eq!(openid["error"], "invalid_scope");
    let (elsewhere, _) = token(
        &mut c,
        json!({"grant_type": "client_credentials", "resource": "https://x.example/"}),
        basic(&machine),
    );
    assert_eq!(elsewhere["error"], "invalid_target");
    let wrong = TestClient {
        id: machine.id.clone(),
        secret: Some("wrong".into()),
    };
    let (bad, status) = token(
        &mut c,
        json!({"grant_type": "client_credentials"}),
        basic(&wrong),
    );
    assert_eq!(
        (bad["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401")
    );
    // A public client cannot be given the grant at all.
    assert_eq!(
        sqlstate(&mut c, "SELECT oauth.create_client('x', ARRAY[]::text[], 'public', grant_types => ARRAY['client_credentials'])"),
        "22023"
    );
    // An authorization code client needs a redirect URI.
    assert_eq!(
        sqlstate(&mut c, "SELECT oauth.create_client('x', ARRAY[]::text[])"),
        "22023"
    );
}

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn device_client(c: &mut Client) -> TestClient {
    let v: Value = json(
        c,
        "SELECT oauth.create_client('TV app', ARRAY[]::text[], 'public',
                grant_types => ARRAY['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'])",
        &[],
    );
    TestClient {
        id: v["client_id"].as_str().unwrap().into(),
        secret: None,
    }
}

fn start_device(c: &mut Client, client: &TestClient, extra: Value) -> Value {
    let mut form = json!({"client_id": client.id, "scope": "openid mcp:tools"});
    for (k, v) in extra.as_object().unwrap() {
        form[k] = v.clone();
    }
    json(c, "SELECT oauth.device_authorization($1, NULL)", &[&form])
}

fn poll(c: &mut Client, client: &TestClient, device_code: &str) -> (Value, String) {
    token(
        c,
        json!({"grant_type": DEVICE, "device_code": device_code, "client_id": client.id}),
        None,
    )
}

#[test]
fn the_device_grant_polls_until_the_user_decides() {
    let db = TestDb::new("device");
    let mut c = with_resources(&db);
    let client = device_client(&mut c);
    let d = start_device(&mut c, &client, json!({"resource": MCP}));
    let user_code = d["user_code"].as_str().unwrap();
    assert!(
        user_code.len() == 9 && user_code.as_bytes()[4] == b'-',
        "{d}"
    );
    assert_eq!(d["verification_uri"], "http://localhost:8080/consent");
    assert!(d["verification_uri_complete"]
        .as_str()
        .unwrap()
        .contains("user_code="));
    assert_eq!(d["interval"], 5);
    let device_code = d["device_code"].as_str().unwrap();

    let (p, status) = poll(&mut c, &client, device_code);
    assert_eq!(
        (p["error"].as_str(), status.as_str()),
        (Some("authorization_pending"), "400")
    );
    // Polling again at once is too fast.
    let (p, _) = poll(&mut c, &client, device_code);
    assert_eq!(p["error"], "slow_down");

    // A wrong user code finds nothing; the right one, typed sloppily, finds the request.
    let wrong = call_as(
        &mut c,
        &user("viewer"),
        "SELECT oauth.authorization($1)",
        "BCDF-GHJK",
    );
    assert_eq!(wrong["error"], "not_found");
    let typed = user_code.to_lowercase().replace('-', " ");
    let details = call_as(
        &mut c,
        &user("viewer"),
        "SELECT oauth.authorization($1)",
        &typed,
    );
    assert_eq!(details["device"], true, "{details}");
    assert_eq!(details["resources"], json!([MCP]));
    let aid = details["authorization_id"].as_str().unwrap().to_string();
    // Another user cannot take over the bound request.
    let other = call_as(
        &mut c,
        &user("intruder"),
        "SELECT oauth.authorization($1)",
        user_code,
    );
    assert_eq!(other["error"], "not_found");
    let done = call_as(
        &mut c,
        &user("viewer"),
        "SELECT oauth.consent($1, true)",
        &aid,
    );
    assert_eq!(done, json!({"device": true, "approved": true}));

    // Make the next poll legal without waiting the interval.
    c.batch_execute("UPDATE oauth.authorizations SET last_polled_at = now() - interval '1 minute'")
        .unwrap();
    let (t, status) = poll(&mut c, &client, device_code);
    assert_eq!(status, "", "{t}");
    assert_eq!(
        jwt_parts(t["id_token"].as_str().unwrap()).1["sub"],
        "viewer"
    );
    assert_eq!(aud(&t), json!(MCP));
    assert!(t["refresh_token"].is_string());
    // A second redemption is a replay: refused, and the tokens it issued are revoked.
    let (again, _) = poll(&mut c, &client, device_code);
    assert_eq!(again["error"], "invalid_grant");
    let rt = t["refresh_token"].as_str().unwrap();
    let (r, _) = token(
        &mut c,
        json!({"grant_type": "refresh_token", "refresh_token": rt, "client_id": client.id}),
        None,
    );
    assert_eq!(r["error"], "invalid_grant");
    let audited: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.audit_log WHERE event = 'device_code_replayed' AND user_id = 'viewer'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(audited, 1);
}

#[test]
fn device_codes_expire_are_denied_and_belong_to_one_client() {
    let db = TestDb::new("device2");
    let mut c = with_resources(&db);
    let client = device_client(&mut c);
    let other = device_client(&mut c);
    let d = start_device(&mut c, &client, json!({}));
    let code = d["device_code"].as_str().unwrap();
    let (p, _) = poll(&mut c, &other, code);
    assert_eq!(p["error"], "invalid_grant");
    let (p, _) = poll(&mut c, &client, "not-a-device-code");
    assert_eq!(p["error"], "invalid_grant");
    // Denied.
    let details = call_as(
        &mut c,
        &user("u"),
        "SELECT oauth.authorization($1)",
        d["user_code"].as_str().unwrap(),
    );
    let aid = details["authorization_id"].as_str().unwrap().to_string();
    let denied = call_as(&mut c, &user("u"), "SELECT oauth.consent($1, false)", &aid);
    assert_eq!(denied, json!({"device": true, "approved": false}));
    let (p, status) = poll(&mut c, &client, code);
    assert_eq!(
        (p["error"].as_str(), status.as_str()),
        (Some("access_denied"), "400")
    );
    // Expired.
    let d = start_device(&mut c, &client, json!({}));
    c.batch_execute("UPDATE oauth.authorizations SET expires_at = now() - interval '1 second' WHERE kind = 'device' AND status = 'pending'").unwrap();
    let (p, _) = poll(&mut c, &client, d["device_code"].as_str().unwrap());
    assert_eq!(p["error"], "expired_token");
    // A device code is no authorization code, even for a client allowed both grants.
    let both: Value = json(
        &mut c,
        "SELECT oauth.create_client('Both', ARRAY['https://app.example/callback'], 'public',
                grant_types => ARRAY['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'])",
        &[],
    );
    let both = TestClient {
        id: both["client_id"].as_str().unwrap().into(),
        secret: None,
    };
    let d2 = start_device(&mut c, &both, json!({}));
    let (p, _) = token(
        &mut c,
        json!({"grant_type": "authorization_code", "code": d2["device_code"],
        "code_verifier": VERIFIER, "redirect_uri": REDIRECT, "client_id": both.id}),
        None,
    );
    assert_eq!(p["error"], "invalid_grant", "{p}");
    // Unregistered resource, client without the grant.
    let r = start_device(&mut c, &client, json!({"resource": "https://x.example/"}));
    assert_eq!(r["error"], "invalid_target");
    let web = create_client(&mut c, &[REDIRECT], "public");
    let r = json(
        &mut c,
        "SELECT oauth.device_authorization($1, NULL)",
        &[&json!({"client_id": web.id})],
    );
    assert_eq!(r["error"], "unauthorized_client");
}

#[test]
fn client_metadata_documents_must_describe_their_own_url() {
    let db = TestDb::new("cimd");
    let mut c = db.connect();
    let url = "https://app.example/oauth/client.json";
    let doc = json!({"client_id": url, "client_name": "Example MCP client",
                     "redirect_uris": ["http://127.0.0.1/callback"],
                     "grant_types": ["authorization_code", "refresh_token"],
                     "token_endpoint_auth_method": "none"});
    let register = |c: &mut Client, url: &str, doc: &Value| -> Value {
        json(
            c,
            "SELECT oauth.register_metadata_document($1, $2)",
            &[&url, doc],
        )
    };
    let ok = register(&mut c, url, &doc);
    assert_eq!(ok["client_name"], "Example MCP client", "{ok}");
    // Stored as a public client: it can run the whole flow with PKCE and a loopback port.
    let client = TestClient {
        id: url.into(),
        secret: None,
    };
    let code = get_code(
        &mut c,
        &client,
        "http://127.0.0.1:53111/callback",
        "openid",
        "u",
    );
    let t = exchange(&mut c, &client, &code, "http://127.0.0.1:53111/callback");
    assert!(t["access_token"].is_string(), "{t}");
    for (bad_url, bad_doc, error) in [
        (
            "https://evil.example/c.json",
            doc.clone(),
            "invalid_client_metadata",
        ),
        (url, json!({"client_id": url}), "invalid_redirect_uri"),
        (
            url,
            json!({"client_id": url, "redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            url,
            json!({"client_id": url, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            url,
            json!({"client_id": url, "redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            "https://app.example/",
            json!({"client_id": "https://app.example/"}),
            "invalid_request",
        ),
        (
            "http://app.example/c.json",
            json!({"client_id": "http://app.example/c.json"}),
            "invalid_request",
        ),
        (url, json!([1]), "invalid_client_metadata"),
    ] {
        let r = register(&mut c, bad_url, &bad_doc);
        assert_eq!(r["error"], error, "{bad_url} {bad_doc}: {r}");
    }
    // A client registered another way cannot be taken over by a document.
    let admin = create_client(&mut c, &[REDIRECT], "public");
    let r = register(&mut c, &admin.id, &json!({"client_id": admin.id}));
    assert!(r.get("error").is_some());
    // Off: refused.
    db.set("client_id_metadata_documents", "off");
    let mut c = db.connect();
    assert_eq!(register(&mut c, url, &doc)["error"], "invalid_request");
    assert_eq!(
        json(
            &mut c,
            "SELECT oauth.metadata()->'client_id_metadata_document_supported'",
            &[]
        ),
        json!(false)
    );
    // Only the owner (or the front's role) may store documents.
    c.batch_execute("DO $$ BEGIN CREATE ROLE plain_user LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$").unwrap();
    let mut p = db.connect_as("plain_user");
    for sql in [
        "SELECT oauth.register_metadata_document('https://a.example/c', '{}')",
        "SELECT oauth.add_resource('https://a.example/')",
        "SELECT oauth.remove_resource('https://a.example/')",
        "SELECT oauth.resources()",
        "SELECT * FROM oauth.resources",
    ] {
        assert_eq!(sqlstate(&mut p, sql), "42501", "{sql}");
    }
    json(
        &mut p,
        "SELECT oauth.protected_resource_metadata_at('')",
        &[],
    );
}

#[test]
fn metadata_advertises_the_new_grants_and_endpoints() {
    let db = TestDb::new("mdgrants");
    let mut c = db.connect();
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    let grants = md["grant_types_supported"].as_array().unwrap();
    for g in [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        DEVICE,
    ] {
        assert!(grants.contains(&json!(g)), "{g}");
    }
    assert_eq!(
        md["device_authorization_endpoint"],
        "http://localhost:8080/oauth/device_authorization"
    );
    assert_eq!(md["client_id_metadata_document_supported"], true);
}
