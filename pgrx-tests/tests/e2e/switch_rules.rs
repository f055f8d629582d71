//! A setting that is off is off for everything it governs. `oauth_server.client_id_metadata_documents`
//! governs clients identified by the URL of their metadata document: turned off, such a client
//! stored while it was on is refused at every step (authorize, the consent page, code
//! redemption, refresh, client authentication at the token, device and introspection
//! endpoints, its access tokens at verify/userinfo), with an error that names the setting —
//! only revocation of its own tokens stays open (grounds_policy.rs); turned back on, it works
//! again (the switch governs, it does not delete), and clients registered another way never
//! notice it.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const URL: &str = "https://mcp-client.example/oauth/client.json";
const CALLBACK: &str = "http://127.0.0.1:53111/callback";
const SETTING: &str = "oauth_server.client_id_metadata_documents";

fn document_client(c: &mut Client) -> TestClient {
    let doc = json!({"client_id": URL, "client_name": "Example MCP client",
                     "redirect_uris": ["http://127.0.0.1/callback"],
                     "grant_types": ["authorization_code", "refresh_token"],
                     "token_endpoint_auth_method": "none"});
    let ok = json(
        c,
        "SELECT oauth.register_metadata_document($1, $2)",
        &[&URL, &doc],
    );
    assert_eq!(ok["client_id"], URL, "{ok}");
    TestClient {
        id: URL.into(),
        secret: None,
    }
}

/// The refusal of a switched-off client: `unauthorized_client`, 400, naming the setting, and
/// never a redirect.
fn assert_switched_off(what: &str, (body, status): &(Value, String)) {
    assert_eq!(body["error"], "unauthorized_client", "{what}: {body}");
    assert_eq!(status, "400", "{what}: {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains(SETTING)),
        "{what} must name the setting: {body}"
    );
    assert!(body.get("redirect_to").is_none(), "{what}: {body}");
}

fn as_user_status(c: &mut Client, sub: &str, sql: &str, id: &str) -> (Value, String) {
    as_user(c, &user(sub), |tx| {
        let body: Value = tx.query_one(sql, &[&id]).unwrap().get(0);
        let status: Option<String> = tx
            .query_one("SELECT current_setting('response.status', true)", &[])
            .unwrap()
            .get(0);
        (body, status.unwrap_or_default())
    })
}

fn token(c: &mut Client, form: Value) -> (Value, String) {
    status_of(c, "SELECT oauth.token($1, NULL)", &[&form])
}

/// Everything a document client had started while the switch was on.
struct Started {
    client: TestClient,
    /// A request shown to the user (bound to them), not decided yet.
    shown: String,
    /// A request never opened.
    unopened: String,
    /// An approved code, not redeemed yet.
    code: String,
    refresh_token: String,
    access_token: String,
}

fn start(c: &mut Client) -> Started {
    let client = document_client(c);
    let first = get_code(c, &client, CALLBACK, "openid", "u");
    let t = exchange(c, &client, &first, CALLBACK);
    let refresh_token = t["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token: {t}"))
        .to_string();
    let shown = pending(c, &auth_params(&client, CALLBACK, "openid profile"));
    let details = call_as(c, &user("u"), "SELECT oauth.authorization($1)", &shown);
    assert!(details["client"].is_object(), "{details}");
    let unopened = pending(c, &auth_params(&client, CALLBACK, "openid"));
    let code = get_code(c, &client, CALLBACK, "openid", "u");
    Started {
        client,
        shown,
        unopened,
        code,
        refresh_token,
        access_token: t["access_token"].as_str().unwrap().to_string(),
    }
}

#[test]
fn a_document_client_is_refused_at_every_step_while_its_switch_is_off() {
    let db = TestDb::new("switchoff");
    let mut c = db.connect();
    let s = start(&mut c);
    db.set("client_id_metadata_documents", "off");
    let mut c = db.connect();
    let id = s.client.id.as_str();

    let params = auth_params(&s.client, CALLBACK, "openid");
    assert_switched_off(
        "authorize",
        &status_of(&mut c, "SELECT oauth.authorize($1)", &[&params]),
    );
    // A URL client_id never stored is refused naming the setting too (the front fetches none
    // while it is off); an unknown ordinary client_id is just unknown.
    let mut never = params.clone();
    never["client_id"] = json!("https://never-seen.example/c.json");
    assert_switched_off(
        "authorize, unknown URL",
        &status_of(&mut c, "SELECT oauth.authorize($1)", &[&never]),
    );
    never["client_id"] = json!("no-such-client");
    assert_eq!(authorize(&mut c, &never)["error"], "invalid_request");

    // The consent page: neither the request shown before nor one never opened goes on.
    for aid in [&s.shown, &s.unopened] {
        assert_switched_off(
            "authorization",
            &as_user_status(&mut c, "u", "SELECT oauth.authorization($1)", aid),
        );
        assert_switched_off(
            "consent",
            &as_user_status(&mut c, "u", "SELECT oauth.consent($1, true)", aid),
        );
    }
    // The token endpoint: the code, the refresh token, either way of calling.
    assert_switched_off(
        "exchange_code",
        &status_of(
            &mut c,
            "SELECT oauth.exchange_code($1, $2, $3, $4, NULL)",
            &[&s.code, &VERIFIER, &CALLBACK, &id],
        ),
    );
    assert_switched_off(
        "token, authorization_code",
        &token(
            &mut c,
            json!({"grant_type": "authorization_code", "code": s.code,
                   "code_verifier": VERIFIER, "redirect_uri": CALLBACK, "client_id": id}),
        ),
    );
    assert_switched_off(
        "refresh",
        &status_of(
            &mut c,
            "SELECT oauth.refresh($1, $2, NULL, NULL)",
            &[&s.refresh_token, &id],
        ),
    );
    assert_switched_off(
        "token, refresh_token",
        &token(
            &mut c,
            json!({"grant_type": "refresh_token", "refresh_token": s.refresh_token, "client_id": id}),
        ),
    );
    // Every other endpoint that authenticates a client.
    for (what, sql, form) in [
        (
            "device_authorization",
            "SELECT oauth.device_authorization($1, NULL)",
            json!({"client_id": id}),
        ),
        (
            "client_credentials",
            "SELECT oauth.token($1, NULL)",
            json!({"grant_type": "client_credentials", "client_id": id}),
        ),
        (
            "introspect",
            "SELECT oauth.introspect($1, NULL)",
            json!({"token": s.access_token, "client_id": id}),
        ),
        // (Not revocation: the client may still end its own tokens, grounds_policy.rs.)
    ] {
        assert_switched_off(what, &status_of(&mut c, sql, &[&form]));
    }
    // Refusals are not failed authentications: nothing for the guessing alarm.
    let failures: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.audit_log WHERE event = 'client_authentication_failed' AND client_id = $1",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(failures, 0);
    // The administrator still sees and manages the client: the switch does not delete.
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&id]);
    assert_eq!(shown["client_id"], URL, "{shown}");
    json(
        &mut c,
        "SELECT oauth.update_client($1, '{\"name\": \"Renamed\"}')",
        &[&id],
    );
}

#[test]
fn turned_back_on_a_document_client_goes_on_where_it_stopped() {
    let db = TestDb::new("switchon");
    let mut c = db.connect();
    let s = start(&mut c);
    db.set("client_id_metadata_documents", "off");
    let mut c = db.connect();
    // Tried while off: refused, and nothing was used up or bound by the attempt.
    assert_switched_off(
        "consent",
        &as_user_status(&mut c, "u", "SELECT oauth.consent($1, true)", &s.shown),
    );
    assert_switched_off(
        "refresh",
        &status_of(
            &mut c,
            "SELECT oauth.refresh($1, $2, NULL, NULL)",
            &[&s.refresh_token, &s.client.id],
        ),
    );
    db.set("client_id_metadata_documents", "on");
    let mut c = db.connect();
    // The request shown before the switch was turned off is approved and its code redeems.
    let out = call_as(
        &mut c,
        &user("u"),
        "SELECT oauth.consent($1, true)",
        &s.shown,
    );
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code")
        .unwrap_or_else(|| panic!("{out}"));
    let t = exchange(&mut c, &s.client, &code, CALLBACK);
    assert!(t["access_token"].is_string(), "{t}");
    // The one never opened is shown; the code approved before redeems; the refresh token
    // refused while off was not used up and rotates.
    let d = call_as(
        &mut c,
        &user("u"),
        "SELECT oauth.authorization($1)",
        &s.unopened,
    );
    assert!(
        d["client"].is_object() || d["redirect_to"].is_string(),
        "{d}"
    );
    let t = exchange(&mut c, &s.client, &s.code, CALLBACK);
    assert!(t["access_token"].is_string(), "{t}");
    let r = refresh(&mut c, &s.client, &s.refresh_token, None);
    assert!(r["access_token"].is_string(), "{r}");
    let r = authorize(&mut c, &auth_params(&s.client, CALLBACK, "openid"));
    assert!(r["redirect_to"].is_string(), "{r}");
}

#[test]
fn clients_registered_another_way_do_not_notice_the_switch() {
    let db = TestDb::new("switchother");
    db.set("client_id_metadata_documents", "off");
    db.set("dynamic_registration", "on");
    let mut c = db.connect();
    let admin = create_client(&mut c, &[REDIRECT], "confidential");
    let registered = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.register_client($1)",
        &[
            &json!({"redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"],
                  "token_endpoint_auth_method": "none"}),
        ],
    ));
    for client in [&admin, &registered] {
        let t = tokens(&mut c, client, "openid", "u");
        let r = refresh(&mut c, client, t["refresh_token"].as_str().unwrap(), None);
        assert!(r["access_token"].is_string(), "{}: {r}", client.id);
    }
    // Dynamic registration governs registering, not the clients it registered: they keep
    // working when it is turned off.
    db.set("dynamic_registration", "off");
    let mut c = db.connect();
    let r = json(
        &mut c,
        "SELECT oauth.register_client($1)",
        &[&json!({"redirect_uris": [REDIRECT]})],
    );
    assert!(
        r["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("oauth_server.dynamic_registration")),
        "{r}"
    );
    let t = tokens(&mut c, &registered, "openid", "u");
    assert!(t["refresh_token"].is_string(), "{t}");
}
