//! Attacks on pairwise subject identifiers (OIDC Core §8.1), from its attack review: the tests marked "Was a hole" found one that
//! was then closed (issue 33's closing note lists them); the others document a refusal that
//! held from the start.

use oauth_server_e2e::assertion::{with_assertion, ClientKey, TOKEN_AUD};
use oauth_server_e2e::trusted::device_code_via;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const VICTIM: &str = "https://victim.example/cb";
const VICTIM_SECTOR_URI: &str = "https://victim.example/.well-known/sector.json";

fn pairwise_at(c: &mut Client, redirect: &str) -> TestClient {
    let client = create_client(c, &[redirect], "confidential");
    update_client(c, &client, json!({"subject_type": "pairwise"}));
    client
}

/// A code approved with `session` (one of our session tokens) for `client` at `redirect`,
/// redeemed → the token response.
fn family_at(c: &mut Client, client: &TestClient, redirect: &str, session: &str) -> Value {
    let aid = pending(c, &auth_params(client, redirect, "openid"));
    let shown = json(c, "SELECT oauth.authorization($1, $2)", &[&aid, &session]);
    let done = if shown.get("redirect_to").is_some() {
        shown
    } else {
        json(c, "SELECT oauth.consent($1, true, $2)", &[&aid, &session])
    };
    let code = query_param(done["redirect_to"].as_str().unwrap(), "code").unwrap();
    let (t, _) = token_endpoint(
        c,
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": redirect}),
        client,
    );
    assert!(t.get("id_token").is_some(), "{t}");
    t
}

/// A code flow for `sub` (claims as PostgREST sets them) at `redirect` → the token response.
fn flow(c: &mut Client, client: &TestClient, redirect: &str, sub: &str) -> Value {
    let code = get_code(c, client, redirect, "openid", sub);
    let (t, _) = token_endpoint(
        c,
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": redirect}),
        client,
    );
    assert!(t.get("id_token").is_some(), "{t}");
    t
}

fn id_claims(t: &Value) -> Value {
    jwt_parts(t["id_token"].as_str().unwrap()).1
}

/// Was a hole. A sector identifier document proves only that the client's redirect URIs belong to
/// the sector; a client with the device grant receives its tokens without any redirect. So a
/// client registering the victim's public document (and the victim's redirect URIs, which it
/// never receives a code at), or no redirect URI at all and any JSON array served on the
/// victim's host, is put in the victim's sector and reads the victim's identifiers of every
/// user who approves it on a device. (With `registration_grant_types` including the device
/// grant, an anonymous registrant can do this.)
#[test]
fn a_device_grant_client_cannot_join_a_sector_with_someone_elses_document() {
    let db = TestDb::new("pwa_device_sector");
    let mut c = db.connect();
    let victim = pairwise_at(&mut c, VICTIM);
    let victims_view = id_claims(&flow(&mut c, &victim, VICTIM, "alice"))["sub"].clone();
    let session = session_token(&mut c, "alice");

    // The victim's redirect URI and its published sector document.
    let attacker = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('Totally a TV', ARRAY[$1], 'confidential',
                grant_types => ARRAY[$2])",
        &[&VICTIM, &DEVICE],
    ));
    update_client(
        &mut c,
        &attacker,
        json!({"subject_type": "pairwise", "sector_identifier_uri": VICTIM_SECTOR_URI}),
    );
    // What the front stores after fetching the victim's (public) document.
    json(
        &mut c,
        "SELECT oauth.set_client_sector_document($1, $2, $3)",
        &[&attacker.id, &VICTIM_SECTOR_URI, &json!([VICTIM])],
    );
    let device = device_code_via(&mut c, &attacker, &session);
    let (t, _) = token_endpoint(
        &mut c,
        json!({"grant_type": DEVICE, "device_code": device}),
        &attacker,
    );
    let attackers_view = id_claims(&t)["sub"].clone();

    // No redirect URI at all: any JSON array served at a URL of the victim's host proves it.
    let bare = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('Bare', ARRAY[]::text[], 'confidential',
                grant_types => ARRAY[$1])",
        &[&DEVICE],
    ));
    let any_array = "https://victim.example/api/tags";
    update_client(
        &mut c,
        &bare,
        json!({"subject_type": "pairwise", "sector_identifier_uri": any_array}),
    );
    json(
        &mut c,
        "SELECT oauth.set_client_sector_document($1, $2, $3)",
        &[&bare.id, &any_array, &json!(["news", "sport"])],
    );
    let device = device_code_via(&mut c, &bare, &session);
    let (t, _) = token_endpoint(
        &mut c,
        json!({"grant_type": DEVICE, "device_code": device}),
        &bare,
    );
    let bare_view = id_claims(&t)["sub"].clone();

    assert_ne!(
        attackers_view, victims_view,
        "a device-grant client joined victim.example's sector with the victim's own document"
    );
    assert_ne!(
        bare_view, victims_view,
        "a client without redirect URIs joined victim.example's sector with any JSON array"
    );
}

/// The trade-off docs/pairwise.md states (issue 33 asks for it: RLS keys on the local user):
/// an access token for the database's own audience names the local user, which its client can
/// read; one for a resource server names the pairwise identifier. A pairwise client that must
/// not learn the local identifier is given resource audiences only.
#[test]
fn a_pairwise_clients_access_tokens_name_the_local_user_only_for_the_databases_own_audience() {
    let db = TestDb::new("pwa_at_sub");
    let mut c = db.connect();
    let (a, b) = ("https://a.example/cb", "https://b.example/cb");
    let x = pairwise_at(&mut c, a);
    let y = pairwise_at(&mut c, b);
    let tx = flow(&mut c, &x, a, "alice");
    let ty = flow(&mut c, &y, b, "alice");
    assert_ne!(
        id_claims(&tx)["sub"],
        id_claims(&ty)["sub"],
        "ID tokens differ"
    );
    assert_eq!(access_token_claims(&tx)["sub"], json!("alice"));
    assert_eq!(access_token_claims(&ty)["sub"], json!("alice"));
}

/// Was a hole. `sid` is our session's id, the same in the ID tokens (and logout tokens) of every
/// client that session signed in to: two pairwise clients of different sectors join their
/// identifiers on it.
#[test]
fn pairwise_clients_of_two_sectors_cannot_join_on_sid() {
    let db = TestDb::new("pwa_sid");
    let mut c = db.connect();
    let (a, b) = ("https://a.example/cb", "https://b.example/cb");
    let x = pairwise_at(&mut c, a);
    let y = pairwise_at(&mut c, b);
    let session = session_token(&mut c, "alice");
    let ix = id_claims(&family_at(&mut c, &x, a, &session));
    let iy = id_claims(&family_at(&mut c, &y, b, &session));
    assert_ne!(ix["sub"], iy["sub"]);
    assert!(ix["sid"].is_string(), "{ix}");
    assert_ne!(
        ix["sid"], iy["sid"],
        "the same sid links the two pairwise identifiers"
    );
}

/// Was a hole. The subject secret is made on first use and cached per backend before the
/// transaction that made it commits. A first use that rolls back (here an access token hook
/// that fails; equally a user claims function, a signing error, a caller's ROLLBACK) leaves
/// that backend issuing identifiers under a secret nobody stored, while every other backend
/// makes and uses another: one user, two identifiers, and those of the first backend are
/// never reproducible again.
#[test]
fn a_subject_secret_made_in_a_rolled_back_transaction_is_not_used() {
    let db = TestDb::new("pwa_secret_rollback");
    let mut c = db.connect();
    c.batch_execute(
        "CREATE FUNCTION public.boom(event jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'hook down'; END $$;",
    )
    .unwrap();
    let redirect = "https://a.example/cb";
    // Public at consent (no identifier computed then), pairwise when the code is redeemed.
    let x = create_client(&mut c, &[redirect], "confidential");
    let code = get_code(&mut c, &x, redirect, "openid", "alice");
    update_client(&mut c, &x, json!({"subject_type": "pairwise"}));
    let form = json!({"grant_type": "authorization_code", "code": code,
                      "code_verifier": VERIFIER, "redirect_uri": redirect});
    c.batch_execute("SET oauth_server.access_token_hook = 'public.boom'")
        .unwrap();
    let failed = c.query_one(
        "SELECT oauth.token($1, $2)",
        &[&form, &Some(basic_header(&x))],
    );
    assert!(failed.is_err(), "the hook fails and the call rolls back");
    c.batch_execute("RESET oauth_server.access_token_hook")
        .unwrap();
    let stored: i64 = c
        .query_one("SELECT count(*) FROM oauth.subject_secret", &[])
        .unwrap()
        .get(0);
    assert_eq!(stored, 0, "rolled back: no secret stored");
    // The same backend redeems the code (not spent by the failure).
    let (t1, _) = token_endpoint(&mut c, form, &x);
    let sub1 = id_claims(&t1)["sub"].clone();
    // Another backend, the same user and client.
    let mut c2 = db.connect();
    let sub2 = id_claims(&flow(&mut c2, &x, redirect, "alice"))["sub"].clone();
    assert_eq!(
        sub1, sub2,
        "one user, one client, two identifiers: the first under a secret never stored"
    );
}

/// Was a hole (availability). The token endpoint authenticates the client (taking a
/// private_key_jwt assertion's jti) before it asks the front for the sector document, and the
/// 503 `refresh_sector` answer commits; the front then makes the same call again, whose
/// assertion is now a replay. A pairwise private_key_jwt client with a sector_identifier_uri
/// fails its first token request, and again after each refetch.
#[test]
fn a_private_key_jwt_clients_assertion_survives_the_sector_fetch() {
    let db = TestDb::new("pwa_pkjwt_sector");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('M', ARRAY[]::text[], grant_types => ARRAY['client_credentials'],
                token_endpoint_auth_method => 'private_key_jwt', jwks => $1)",
        &[&key.jwks()],
    ));
    let uri = "https://m.example/sector.json";
    update_client(
        &mut c,
        &m,
        json!({"subject_type": "pairwise", "sector_identifier_uri": uri}),
    );
    let form = with_assertion(
        json!({"grant_type": "client_credentials"}),
        &key.assertion(&m.id, TOKEN_AUD),
    );
    let none: Option<&str> = None;
    let (asked, status) = status_of(&mut c, "SELECT oauth.token($1, $2)", &[&form, &none]);
    assert_eq!(
        (asked["refresh_sector"].as_str(), status.as_str()),
        (Some(m.id.as_str()), "503"),
        "{asked}"
    );
    // What the front does: fetch, store, and make the same call once more.
    json(
        &mut c,
        "SELECT oauth.set_client_sector_document($1, $2, $3)",
        &[&m.id, &uri, &json!([])],
    );
    let (again, status) = status_of(&mut c, "SELECT oauth.token($1, $2)", &[&form, &none]);
    assert!(
        again.get("access_token").is_some(),
        "the retry the front makes is refused ({status}): {again}"
    );
}

// What held.

/// Spellings of one host do not make two hosts (no sector identifier URI needed), and
/// spellings of two hosts are not taken for one.
#[test]
fn host_spellings_neither_split_nor_merge_a_sector() {
    let db = TestDb::new("pwa_spellings");
    let mut c = db.connect();
    // A trailing dot is another host name for the check: refused without a sector URI.
    let two = create_client(
        &mut c,
        &["https://a.example./cb", "https://a.example/cb"],
        "confidential",
    );
    let e = c
        .query_one(
            "SELECT oauth.update_client($1, '{\"subject_type\": \"pairwise\"}')",
            &[&two.id],
        )
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22023", "{e}");
    // Case and IDNA spellings of one host are one sector.
    let plain = pairwise_at(&mut c, "https://xn--bcher-kva.example/cb");
    let unicode = pairwise_at(&mut c, "https://BÜCHER.example/cb");
    let dotted = pairwise_at(&mut c, "https://a.example./cb");
    let s1 = id_claims(&flow(
        &mut c,
        &plain,
        "https://xn--bcher-kva.example/cb",
        "alice",
    ))["sub"]
        .clone();
    let s2 = id_claims(&flow(
        &mut c,
        &unicode,
        "https://BÜCHER.example/cb",
        "alice",
    ))["sub"]
        .clone();
    assert_eq!(s1, s2, "one host, one sector");
    let ordinary = pairwise_at(&mut c, "https://a.example/cb");
    let s3 = id_claims(&flow(&mut c, &dotted, "https://a.example./cb", "alice"))["sub"].clone();
    let s4 = id_claims(&flow(&mut c, &ordinary, "https://a.example/cb", "alice"))["sub"].clone();
    assert_ne!(
        s3, s4,
        "the trailing-dot host is a sector of its own, not a.example's"
    );
}

/// A document stored for the old sector URI proves nothing for the new one; a client that
/// stops being pairwise loses its document's standing; an ID token hint of another client of
/// the same sector is not this client's.
#[test]
fn sector_documents_and_hints_are_the_clients_own() {
    let db = TestDb::new("pwa_own");
    let mut c = db.connect();
    let redirect = "https://a.example/cb";
    let x = create_client(&mut c, &[redirect], "confidential");
    let old = "https://s.example/old.json";
    update_client(
        &mut c,
        &x,
        json!({"subject_type": "pairwise", "sector_identifier_uri": old}),
    );
    json(
        &mut c,
        "SELECT oauth.set_client_sector_document($1, $2, $3)",
        &[&x.id, &old, &json!([redirect])],
    );
    let t = flow(&mut c, &x, redirect, "alice");
    update_client(
        &mut c,
        &x,
        json!({"sector_identifier_uri": "https://evil.example/new.json"}),
    );
    let code = get_code(&mut c, &x, redirect, "openid", "alice");
    let (asked, status) = token_endpoint(
        &mut c,
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": redirect}),
        &x,
    );
    assert_eq!(status, "503", "fetched again for the new URI: {asked}");
    // The old URI's document cannot be stored as the new one's.
    let e = c
        .query_one(
            "SELECT oauth.set_client_sector_document($1, $2, '[]')",
            &[&x.id, &old],
        )
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "P0002");
    // Another client of the same host sector cannot use x's ID token as its hint.
    let y = pairwise_at(&mut c, redirect);
    let mut p = auth_params(&y, redirect, "openid");
    p["id_token_hint"] = t["id_token"].clone();
    let r = authorize(&mut c, &p);
    let why = r["error_description"]
        .as_str()
        .map(String::from)
        .or_else(|| query_param(r["redirect_to"].as_str()?, "error_description"))
        .unwrap_or_default();
    assert!(
        why.contains("another client"),
        "a hint of another client is refused: {r}"
    );
}

/// Was a hole (availability, small). Two first uses at once: the second's INSERT … ON CONFLICT DO
/// NOTHING waits for the first to commit, then its fallback SELECT reads with the snapshot
/// taken before that commit and finds nothing: "the subject secret vanished", raised.
#[test]
fn two_first_uses_of_the_subject_secret_at_once_both_succeed() {
    let db = TestDb::new("pwa_secret_race");
    let mut c = db.connect();
    let (ra, rb) = ("https://a.example/cb", "https://b.example/cb");
    // x: public at consent, pairwise at redemption (no identifier computed before).
    let x = create_client(&mut c, &[ra], "confidential");
    let code = get_code(&mut c, &x, ra, "openid", "bob");
    update_client(&mut c, &x, json!({"subject_type": "pairwise"}));
    let y = pairwise_at(&mut c, rb);
    let aid = pending(&mut c, &auth_params(&y, rb, "openid"));
    // The first use, not committed yet: y's consent compares identifiers.
    let mut c1 = db.connect();
    let mut tx = c1.transaction().unwrap();
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&user("alice").to_string()],
    )
    .unwrap();
    tx.query_one("SELECT oauth.consent($1, true)", &[&aid])
        .unwrap();
    let name = db.name.clone();
    let x_id = x.id.clone();
    let x_secret = x.secret.clone();
    let second = std::thread::spawn(move || {
        let db = TestDb { name };
        let mut c2 = db.connect();
        let form = json!({"grant_type": "authorization_code", "code": code,
                          "code_verifier": VERIFIER, "redirect_uri": "https://a.example/cb"});
        let client = TestClient {
            id: x_id,
            secret: x_secret,
        };
        c2.query_one(
            "SELECT oauth.token($1, $2)",
            &[&form, &Some(basic_header(&client))],
        )
        .map(|r| r.get::<_, Value>(0))
        .map_err(|e| {
            e.as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_else(|| e.to_string())
        })
    });
    std::thread::sleep(std::time::Duration::from_millis(700));
    tx.commit().unwrap();
    let r = second.join().unwrap();
    assert!(
        r.as_ref().is_ok_and(|v| v.get("id_token").is_some()),
        "the second first use failed: {r:?}"
    );
}
