//! Pairwise subject identifiers (OIDC Core §8.1): clients of different sectors see a user
//! under different identifiers, clients of one sector under the same, in ID tokens, userinfo
//! and access tokens for other audiences; access tokens for the database's own audience keep
//! the local user for RLS. The identifiers survive signing-key rotation, and their secret is
//! sealed with the key-encryption key like the signing keys.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const API: &str = "https://api.example/";

/// A confidential code client with `redirect` and `relying_party` metadata applied.
fn client_at(c: &mut Client, redirect: &str, relying_party: Value) -> TestClient {
    let client = create_client(c, &[redirect], "confidential");
    if relying_party.as_object().is_some_and(|o| !o.is_empty()) {
        update_client(c, &client, relying_party);
    }
    client
}

fn pairwise_at(c: &mut Client, redirect: &str) -> TestClient {
    client_at(c, redirect, json!({"subject_type": "pairwise"}))
}

/// The token response of a full flow for `sub` through `redirect`, with `resource` if given.
fn flow(
    c: &mut Client,
    client: &TestClient,
    redirect: &str,
    sub: &str,
    resource: Option<&str>,
) -> Value {
    let mut p = auth_params(client, redirect, "openid email");
    if let Some(r) = resource {
        p["resource"] = json!(r);
    }
    let aid = pending(c, &p);
    let out = call_as(c, &user(sub), "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let mut form = json!({"grant_type": "authorization_code", "code": code,
                          "code_verifier": VERIFIER, "redirect_uri": redirect});
    if let Some(r) = resource {
        form["resource"] = json!(r);
    }
    let (t, _) = token_endpoint(c, form, client);
    assert!(t.get("access_token").is_some(), "{t}");
    t
}

fn id_sub(t: &Value) -> String {
    jwt_parts(t["id_token"].as_str().unwrap()).1["sub"]
        .as_str()
        .unwrap()
        .to_string()
}

fn setup(tag: &str) -> (TestDb, Client) {
    let db = TestDb::new(tag);
    let mut c = db.connect();
    c.batch_execute(&format!("SELECT oauth.add_resource('{API}')"))
        .unwrap();
    (db, c)
}

#[test]
fn sectors_see_different_identifiers_and_a_sector_one() {
    let (_db, mut c) = setup("pw_sectors");
    let (a1, a2, b) = (
        "https://a.example/cb",
        "https://A.example/other",
        "https://b.example/cb",
    );
    let x = pairwise_at(&mut c, a1);
    let y = pairwise_at(&mut c, a2);
    let z = pairwise_at(&mut c, b);
    let public = client_at(&mut c, b, json!({}));
    let tx = flow(&mut c, &x, a1, "alice", None);
    let ty = flow(&mut c, &y, a2, "alice", None);
    let tz = flow(&mut c, &z, b, "alice", None);
    let tp = flow(&mut c, &public, b, "alice", None);
    assert_eq!(id_sub(&tx), id_sub(&ty), "one sector: one identifier");
    assert_ne!(id_sub(&tx), id_sub(&tz), "two sectors: two");
    assert_ne!(id_sub(&tx), "alice");
    assert_eq!(id_sub(&tp), "alice", "a public client sees the user's own");
    assert_ne!(id_sub(&flow(&mut c, &x, a1, "bob", None)), id_sub(&tx));
    // userinfo agrees with the ID token.
    let info = json(
        &mut c,
        "SELECT oauth.userinfo($1)",
        &[&tx["access_token"].as_str()],
    );
    assert_eq!(info["sub"], json!(id_sub(&tx)));
    // The database's own audience keeps the local user, for RLS; another audience does not.
    assert_eq!(access_token_claims(&tx)["sub"], json!("alice"));
    let verified = json(
        &mut c,
        "SELECT oauth.verify($1)",
        &[&tx["access_token"].as_str()],
    );
    assert_eq!(verified["sub"], json!("alice"));
    let for_api = flow(&mut c, &x, a1, "alice", Some(API));
    assert_eq!(access_token_claims(&for_api)["sub"], json!(id_sub(&tx)));
    // A refresh token, introspected by the client holding it: its identifier too.
    let rt = tx["refresh_token"].as_str().unwrap().to_string();
    let shown = introspect(&mut c, &x, &rt);
    assert_eq!(shown["sub"], json!(id_sub(&tx)), "{shown}");
    // Discovery says so; the client shows it.
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(md["subject_types_supported"], json!(["public", "pairwise"]));
    let shown = json(&mut c, "SELECT oauth.client($1)", &[&x.id]);
    assert_eq!(shown["subject_type"], json!("pairwise"));
}

#[test]
fn identifiers_outlive_signing_key_rotation_and_their_secret_is_sealed() {
    let (db, c) = setup("pw_keys");
    let kek = format!("/tmp/oauth_server_kek_{}_pairwise", std::process::id());
    std::fs::write(&kek, "55".repeat(32)).unwrap();
    db.set("key_encryption_key_file", &kek);
    let mut c2 = db.connect();
    let redirect = "https://a.example/cb";
    let x = pairwise_at(&mut c2, redirect);
    let before = id_sub(&flow(&mut c2, &x, redirect, "alice", None));
    for _ in 0..3 {
        json(&mut c2, "SELECT oauth.rotate_signing_key()", &[]);
    }
    assert_eq!(id_sub(&flow(&mut c2, &x, redirect, "alice", None)), before);
    let row = c2
        .query_one(
            "SELECT kek_id IS NOT NULL, octet_length(secret) > 32 FROM oauth.subject_secret",
            &[],
        )
        .unwrap();
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1), "sealed");
    // Another KEK: rekeyed, the same identifiers.
    let kek2 = format!("{kek}_2");
    std::fs::write(&kek2, "66".repeat(32)).unwrap();
    db.set("key_encryption_key_file", &kek2);
    db.set("previous_key_encryption_key_file", &kek);
    let mut c3 = db.connect();
    let old: String = c3
        .query_one("SELECT kek_id FROM oauth.subject_secret", &[])
        .unwrap()
        .get(0);
    json(&mut c3, "SELECT oauth.rekey_signing_keys()", &[]);
    let new: String = c3
        .query_one("SELECT kek_id FROM oauth.subject_secret", &[])
        .unwrap()
        .get(0);
    assert_ne!(old, new);
    c3.batch_execute(&format!(
        "ALTER DATABASE {} RESET oauth_server.previous_key_encryption_key_file",
        db.name
    ))
    .unwrap();
    let mut c4 = db.connect();
    assert_eq!(id_sub(&flow(&mut c4, &x, redirect, "alice", None)), before);
    drop(c);
}

#[test]
fn no_host_anyone_can_register_makes_a_shared_sector() {
    let (_db, mut c) = setup("pw_own");
    // Loopback redirect URIs (any native app registers them): a sector of each client's own.
    let n1 = pairwise_at(&mut c, LOOPBACK);
    let n2 = pairwise_at(&mut c, LOOPBACK);
    assert_ne!(
        id_sub(&flow(&mut c, &n1, LOOPBACK, "alice", None)),
        id_sub(&flow(&mut c, &n2, LOOPBACK, "alice", None))
    );
    // A client on a.example's host that also uses the device grant (no code goes to that host
    // then) is not of a.example's sector.
    let redirect = "https://a.example/cb";
    let web = pairwise_at(&mut c, redirect);
    let device = pairwise_at(&mut c, redirect);
    update_client(
        &mut c,
        &device,
        json!({"grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"]}),
    );
    assert_ne!(
        id_sub(&flow(&mut c, &web, redirect, "alice", None)),
        id_sub(&flow(&mut c, &device, redirect, "alice", None))
    );
    // Redirect URIs on two hosts need a sector identifier URI.
    let two = create_client(
        &mut c,
        &["https://a.example/cb", "https://b.example/cb"],
        "confidential",
    );
    let e = c
        .query_one(
            "SELECT oauth.update_client($1, '{\"subject_type\": \"pairwise\"}')",
            &[&two.id],
        )
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22023", "{e}");
}

#[test]
fn a_sector_identifier_uri_counts_once_a_document_from_it_lists_every_redirect_uri() {
    let (_db, mut c) = setup("pw_sector_uri");
    let sector_uri = "https://sector.example/redirects.json";
    let (ra, rb) = ("https://a.example/cb", "https://b.example/cb");
    let x = create_client(&mut c, &[ra, rb], "confidential");
    update_client(
        &mut c,
        &x,
        json!({"subject_type": "pairwise", "sector_identifier_uri": sector_uri}),
    );
    let code_form = |c: &mut Client, redirect: &str| {
        let code = get_code(c, &x, redirect, "openid", "alice");
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": redirect})
    };
    // Not fetched yet: the front is asked to, and the code is not spent.
    let form = code_form(&mut c, ra);
    let (asked, status) = token_endpoint(&mut c, form.clone(), &x);
    assert_eq!(
        (asked["refresh_sector"].as_str(), status.as_str()),
        (Some(x.id.as_str()), "503"),
        "{asked}"
    );
    let fetch = json(&mut c, "SELECT oauth.client_sector_fetch($1)", &[&x.id]);
    assert_eq!(fetch["sector_identifier_uri"], json!(sector_uri));
    // A document that leaves out a redirect URI proves nothing.
    let stored = json(
        &mut c,
        "SELECT oauth.set_client_sector_document($1, $2, $3)",
        &[&x.id, &sector_uri, &json!([ra])],
    );
    assert_eq!(stored["lists_every_redirect_uri"], json!(false));
    let (refused, status) = token_endpoint(&mut c, form.clone(), &x);
    assert_eq!(
        (refused["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401"),
        "{refused}"
    );
    assert!(
        refused["error_description"].as_str().unwrap().contains(rb),
        "{refused}"
    );
    // Another URI than the client's is not stored.
    let other = c
        .query_one(
            "SELECT oauth.set_client_sector_document($1, 'https://evil.example/s.json', '[]')",
            &[&x.id],
        )
        .unwrap_err();
    assert_eq!(other.code().unwrap().code(), "P0002");
    json(
        &mut c,
        "SELECT oauth.set_client_sector_document($1, $2, $3)",
        &[&x.id, &sector_uri, &json!([ra, rb, "https://c.example/cb"])],
    );
    let (t, _) = token_endpoint(&mut c, form, &x);
    // The sector is the URI's host: another client proving the same sector sees the same.
    let y = create_client(&mut c, &["https://c.example/cb"], "confidential");
    update_client(
        &mut c,
        &y,
        json!({"subject_type": "pairwise", "sector_identifier_uri": sector_uri}),
    );
    json(
        &mut c,
        "SELECT oauth.set_client_sector_document($1, $2, $3)",
        &[&y.id, &sector_uri, &json!([ra, rb, "https://c.example/cb"])],
    );
    let code = get_code(&mut c, &y, "https://c.example/cb", "openid", "alice");
    let (ty, _) = token_endpoint(
        &mut c,
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": "https://c.example/cb"}),
        &y,
    );
    assert_eq!(id_sub(&t), id_sub(&ty));
    // A redirect URI added later and not in the document: proved again before the next token.
    update_client(
        &mut c,
        &x,
        json!({"redirect_uris": [ra, rb, "https://d.example/cb"]}),
    );
    let form = code_form(&mut c, ra);
    assert_eq!(
        token_endpoint(&mut c, form, &x).0["error"],
        json!("invalid_client")
    );
    // A sector identifier URI is a pairwise client's only.
    let e = c
        .query_one(
            "SELECT oauth.update_client($1, '{\"subject_type\": \"public\"}')",
            &[&x.id],
        )
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22023");
}

#[test]
fn an_id_token_hint_names_the_user_as_the_client_sees_them() {
    let (_db, mut c) = setup("pw_hint");
    let redirect = "https://a.example/cb";
    let x = pairwise_at(&mut c, redirect);
    let t = flow(&mut c, &x, redirect, "alice", None);
    let mut p = auth_params(&x, redirect, "openid");
    p["id_token_hint"] = json!(t["id_token"]);
    p["prompt"] = json!("consent");
    let aid = pending(&mut c, &p);
    let as_bob = call_as(&mut c, &user("bob"), "SELECT oauth.authorization($1)", &aid);
    assert_eq!(
        as_bob["error"],
        json!("login_required"),
        "another user answers nothing: {as_bob}"
    );
    let as_alice = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.authorization($1)",
        &aid,
    );
    assert!(as_alice.get("error").is_none(), "{as_alice}");
}

#[test]
fn registration_and_documents_ask_for_pairwise_subjects() {
    let (db, _c) = setup("pw_register");
    db.set("dynamic_registration", "on");
    let mut c = db.connect();
    let (reg, _) = status_of(
        &mut c,
        "SELECT oauth.register_client($1)",
        &[&json!({"redirect_uris": ["https://r.example/cb"], "subject_type": "pairwise"})],
    );
    assert_eq!(reg["subject_type"], json!("pairwise"), "{reg}");
    let (bad, status) = status_of(
        &mut c,
        "SELECT oauth.register_client($1)",
        &[&json!({"redirect_uris": ["https://r.example/cb"], "subject_type": "secret"})],
    );
    assert_eq!(
        (bad["error"].as_str(), status.as_str()),
        (Some("invalid_client_metadata"), "400")
    );
    let (two_hosts, _) = status_of(
        &mut c,
        "SELECT oauth.register_client($1)",
        &[
            &json!({"redirect_uris": ["https://r.example/cb", "https://s.example/cb"],
                  "subject_type": "pairwise"}),
        ],
    );
    assert_eq!(
        two_hosts["error"],
        json!("invalid_client_metadata"),
        "{two_hosts}"
    );
}

#[test]
fn a_pairwise_clients_sid_is_its_sectors_own_and_still_ends_the_session() {
    use oauth_server_e2e::trusted::family_via;
    let (_db, mut c) = setup("pw_sid");
    // REDIRECT is https on app.example: the pairwise client's sector.
    let x = pairwise_at(&mut c, REDIRECT);
    let public = create_client(&mut c, &[REDIRECT], "confidential");
    let session = session_token(&mut c, "alice");
    let sid = jwt_parts(&session).1["sid"].as_str().unwrap().to_string();
    let tx = family_via(&mut c, &x, &session, "openid");
    let tp = family_via(&mut c, &public, &session, "openid");
    let (sx, sp) = (
        jwt_parts(tx["id_token"].as_str().unwrap()).1["sid"].clone(),
        jwt_parts(tp["id_token"].as_str().unwrap()).1["sid"].clone(),
    );
    assert_eq!(sp, json!(sid), "a public client sees the session's own id");
    assert_ne!(sx, json!(sid), "a pairwise client its sector's");
    // RP-initiated logout with the pairwise client's ID token ends that session.
    let out = json(
        &mut c,
        "SELECT oauth.end_session($1)",
        &[&json!({"id_token_hint": tx["id_token"]})],
    );
    assert!(out.get("error").is_none(), "{out}");
    assert_ne!(verify_session_sqlstate(&mut c, &session), "ok");
}
