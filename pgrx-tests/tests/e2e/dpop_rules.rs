//! DPoP at the token endpoint (RFC 9449 §4–§10): a proof binds the tokens to its key, a proof
//! is taken once and only for this request, a public client's family stays with the key of
//! its first proof, a code bound with `dpop_jkt` needs its key, a client registered with
//! `dpop_bound_access_tokens` gets no bearer token, and the server's nonce when it asks.

use oauth_server_e2e::dpop::{DpopKey, TOKEN_URL, USERINFO_URL};
use oauth_server_e2e::stand_in::now;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

/// `oauth.token(form, authorization, dpop)` as `client` (HTTP Basic when it has a secret, its
/// `client_id` in the form when public) → (body, response.status, the DPoP-Nonce header).
fn token_with_nonce(
    c: &mut Client,
    client: &TestClient,
    mut form: Value,
    proof: Option<&str>,
) -> (Value, String, Option<String>) {
    let authorization = client.secret.as_ref().map(|_| basic_header(client));
    if authorization.is_none() {
        form["client_id"] = json!(client.id);
    }
    let mut tx = c.transaction().unwrap();
    let row = tx
        .query_one(
            "SELECT oauth.token($1, $2, $3), coalesce(current_setting('response.status', true), ''),
                    (SELECT h->>'DPoP-Nonce' FROM jsonb_array_elements(
                        nullif(current_setting('response.headers', true), '')::jsonb) h
                      WHERE h ? 'DPoP-Nonce')",
            &[&form, &authorization, &proof],
        )
        .unwrap();
    tx.commit().unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// [`token_with_nonce`] → (body, response.status).
fn token(c: &mut Client, client: &TestClient, form: Value, proof: Option<&str>) -> (Value, String) {
    let (body, status, _) = token_with_nonce(c, client, form, proof);
    (body, status)
}

/// The authorization code grant's form for a code of a request made with `auth_params`.
fn code_form(code: &str) -> Value {
    json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
           "redirect_uri": REDIRECT})
}

fn refresh_form(refresh_token: &str) -> Value {
    json!({"grant_type": "refresh_token", "refresh_token": refresh_token})
}

/// A fresh proof for the token endpoint by `key`.
fn at_token(key: &DpopKey) -> String {
    key.proof("POST", TOKEN_URL)
}

/// A proof for the token endpoint by `key`, with `header` and `claims` changed over a valid
/// one (see [`DpopKey::proof_with`]).
fn token_proof(key: &DpopKey, header: Value, claims: Value) -> String {
    let mut all = json!({"htm": "POST", "htu": TOKEN_URL});
    for (k, v) in claims.as_object().unwrap() {
        all[k] = v.clone();
    }
    key.proof_with(header, all)
}

/// What a missing, malformed, replayed or misdirected proof is refused with.
const BAD_PROOF: &str = "invalid_dpop_proof";

/// The token endpoint's answer is a refusal with `error` (status 400).
#[track_caller]
fn assert_refused(answer: (Value, String), error: &str) {
    let (body, status) = answer;
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some(error), "400"),
        "{body}"
    );
}

/// The key the (only) token family is bound to.
fn family_key(c: &mut Client) -> Option<String> {
    c.query_one("SELECT dpop_jkt FROM oauth.grants", &[])
        .unwrap()
        .get(0)
}

/// A token answer bound to `key`: `token_type` DPoP, `cnf.jkt` its RFC 7638 thumbprint.
#[track_caller]
fn assert_bound(t: &Value, key: &DpopKey) {
    assert_eq!(t["token_type"], "DPoP", "{t}");
    assert_eq!(
        access_token_claims(t)["cnf"],
        json!({"jkt": key.jkt()}),
        "{t}"
    );
}

/// A token answer not bound to any key: a bearer token, no `cnf`.
#[track_caller]
fn assert_bearer(t: &Value) {
    assert_eq!(t["token_type"], "Bearer", "{t}");
    assert!(access_token_claims(t).get("cnf").is_none(), "{t}");
}

fn refresh_token(t: &Value) -> String {
    t["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token in {t}"))
        .into()
}

fn used_refresh_tokens(c: &mut Client) -> Value {
    let sql = "SELECT to_jsonb(count(*)) FROM oauth.refresh_tokens WHERE used_at IS NOT NULL";
    json(c, sql, &[])
}

/// A confidential client that may only use client_credentials: one request, one token.
fn machine(c: &mut Client) -> TestClient {
    TestClient::from_json(&json(
        c,
        "SELECT oauth.create_client('Job', ARRAY[]::text[], 'confidential',
                grant_types => ARRAY['client_credentials'])",
        &[],
    ))
}

fn client_credentials() -> Value {
    json!({"grant_type": "client_credentials"})
}

#[test]
fn a_public_clients_family_is_bound_to_the_key_of_its_first_proof() {
    let db = TestDb::new("dpop_public");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "public");
    let key = DpopKey::new();
    let code = approved_code(&mut c, &client, "openid", &[], "u");
    let (t, status) = token(&mut c, &client, code_form(&code), Some(&at_token(&key)));
    assert_eq!(status, "", "{t}");
    assert_bound(&t, &key);
    assert_eq!(family_key(&mut c), Some(key.jkt()));
    let rt = refresh_token(&t);
    // Without a proof: the refresh token alone is no longer enough, whichever way it comes.
    let answer = token(&mut c, &client, refresh_form(&rt), None);
    assert_refused(answer, BAD_PROOF);
    assert_eq!(refresh(&mut c, &client, &rt, None)["error"], BAD_PROOF);
    // With another key's proof: a thief's, not the holder's.
    let thief = DpopKey::new();
    let answer = token(&mut c, &client, refresh_form(&rt), Some(&at_token(&thief)));
    assert_refused(answer, "invalid_grant");
    // Neither rotated the token nor ended the family: its holder refreshes with it.
    assert_eq!(used_refresh_tokens(&mut c), 0);
    let (t2, status) = token(&mut c, &client, refresh_form(&rt), Some(&at_token(&key)));
    assert_eq!(status, "", "{t2}");
    assert_bound(&t2, &key);
    let rt2 = refresh_token(&t2);
    assert_ne!(rt, rt2);
    // The next token of the family is bound as the first was.
    let answer = token(&mut c, &client, refresh_form(&rt2), None);
    assert_refused(answer, BAD_PROOF);
    let answer = token(&mut c, &client, refresh_form(&rt2), Some(&at_token(&thief)));
    assert_refused(answer, "invalid_grant");
}

#[test]
fn a_public_clients_family_started_without_a_proof_is_bound_by_its_first_one() {
    // RFC 9449 §5: a refresh token issued to a public client in answer to a proof is bound to
    // that proof's key; a family that went without DPoP until now is no exception.
    let db = TestDb::new("dpop_upgrade");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "public");
    let code = approved_code(&mut c, &client, "openid", &[], "u");
    let (t, _) = token(&mut c, &client, code_form(&code), None);
    assert_bearer(&t);
    let key = DpopKey::new();
    let (t, _) = token(
        &mut c,
        &client,
        refresh_form(&refresh_token(&t)),
        Some(&at_token(&key)),
    );
    assert_bound(&t, &key);
    assert_eq!(family_key(&mut c), Some(key.jkt()));
    assert_refused(
        token(&mut c, &client, refresh_form(&refresh_token(&t)), None),
        BAD_PROOF,
    );
}

#[test]
fn a_confidential_clients_family_is_not_bound_to_a_key() {
    let db = TestDb::new("dpop_conf");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let key = DpopKey::new();
    let code = approved_code(&mut c, &client, "openid", &[], "u");
    let (t, _) = token(&mut c, &client, code_form(&code), Some(&at_token(&key)));
    assert_bound(&t, &key);
    // Its refresh tokens are bound to its secret already.
    assert_eq!(family_key(&mut c), None);
    // Each access token follows the proof of its own request: none, another key, none.
    let (t, status) = token(&mut c, &client, refresh_form(&refresh_token(&t)), None);
    assert_eq!(status, "", "{t}");
    assert_bearer(&t);
    let other = DpopKey::new();
    let (t, _) = token(
        &mut c,
        &client,
        refresh_form(&refresh_token(&t)),
        Some(&at_token(&other)),
    );
    assert_bound(&t, &other);
    let t = refresh(&mut c, &client, &refresh_token(&t), None);
    assert_bearer(&t);
}

#[test]
fn a_proof_is_taken_only_once_per_key() {
    let db = TestDb::new("dpop_replay");
    let mut c = db.connect();
    let job = machine(&mut c);
    let key = DpopKey::new();
    let proof = at_token(&key);
    let (t, status) = token(&mut c, &job, client_credentials(), Some(&proof));
    assert_eq!(status, "", "{t}");
    assert_bound(&t, &key);
    // The same proof again: a replay (someone who saw the request), refused and recorded.
    let answer = token(&mut c, &job, client_credentials(), Some(&proof));
    assert_refused(answer, BAD_PROOF);
    let recorded: Value = json(
        &mut c,
        "SELECT jsonb_agg(details->>'jkt') FROM oauth.audit_log WHERE event = 'dpop_proof_replayed'",
        &[],
    );
    assert_eq!(recorded, json!([key.jkt()]));
    // A jti is the key's own: another key's proof with the same jti is another proof.
    let jti = jwt_parts(&proof).1["jti"].clone();
    let other = DpopKey::new();
    let same_jti = token_proof(&other, json!({}), json!({"jti": jti}));
    let (t, status) = token(&mut c, &job, client_credentials(), Some(&same_jti));
    assert_eq!(status, "", "{t}");
    assert_bound(&t, &other);
}

#[test]
fn a_proof_must_be_for_this_request_recent_and_signed_by_its_public_key() {
    let db = TestDb::new("dpop_proof");
    let mut c = db.connect();
    let job = machine(&mut c);
    let key = DpopKey::new();
    let claims = |claims: Value| token_proof(&key, json!({}), claims);
    let header = |header: Value| token_proof(&key, header, json!({}));
    let (t, evil) = (now(), "https://evil.example/oauth/token");
    let bad = [
        ("for GET", claims(json!({"htm": "GET"}))),
        ("for userinfo", claims(json!({"htu": USERINFO_URL}))),
        ("for another host", claims(json!({"htu": evil}))),
        (
            "for another port",
            claims(json!({"htu": "http://localhost:1/oauth/token"})),
        ),
        ("an hour old", claims(json!({"iat": t - 3600}))),
        ("two minutes old", claims(json!({"iat": t - 120}))),
        ("an hour ahead", claims(json!({"iat": t + 3600}))),
        ("without iat", claims(json!({"iat": null}))),
        ("without jti", claims(json!({"jti": null}))),
        ("a jti too long", claims(json!({"jti": "j".repeat(257)}))),
        ("alg none", header(json!({"alg": "none"}))),
        ("alg HS256", header(json!({"alg": "HS256"}))),
        ("typ JWT", header(json!({"typ": "JWT"}))),
        ("a private jwk", header(json!({"jwk": key.private_jwk()}))),
        ("another jwk", header(json!({"jwk": DpopKey::new().jwk()}))),
        ("without jwk", header(json!({"jwk": null}))),
        ("not a JWS", "not.a.proof".into()),
        ("empty", String::new()),
    ];
    for (what, proof) in &bad {
        let (body, status) = token(&mut c, &job, client_credentials(), Some(proof));
        let refusal = (body["error"].as_str(), status.as_str());
        assert_eq!(refusal, (Some(BAD_PROOF), "400"), "{what}: {body}");
    }
    // A jti of 256 characters is still one, and none of the refusals was about the client.
    let longest = claims(json!({"jti": "j".repeat(256)}));
    let (answer, status) = token(&mut c, &job, client_credentials(), Some(&longest));
    assert_eq!(status, "", "{answer}");
    assert_bound(&answer, &key);
    // How old and how far ahead are the settings': 20 s either way is within the defaults…
    let old = || claims(json!({"iat": now() - 20}));
    let ahead = || claims(json!({"iat": now() + 20}));
    for p in [old(), ahead()] {
        let (answer, status) = token(&mut c, &job, client_credentials(), Some(&p));
        assert_eq!(status, "", "{answer}");
    }
    // …and beyond 10 s of age and 5 s of skew.
    db.set("dpop_proof_max_age", "10");
    db.set("clock_skew", "5");
    let mut c = db.connect();
    for p in [old(), ahead()] {
        assert_refused(
            token(&mut c, &job, client_credentials(), Some(&p)),
            BAD_PROOF,
        );
    }
}

#[test]
fn a_code_bound_with_dpop_jkt_is_redeemed_only_with_that_key_and_a_refusal_does_not_burn_it() {
    let db = TestDb::new("dpop_jkt");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let key = DpopKey::new();
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["dpop_jkt"] = json!(key.jkt());
    let aid = pending(&mut c, &p);
    let out = call_as(&mut c, &user("u"), "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    // No proof, by every way to the grant: a confidential client's secret is not the key.
    assert_refused(token(&mut c, &client, code_form(&code), None), BAD_PROOF);
    assert_refused(redeem_code(&mut c, &client, &code), BAD_PROOF);
    let answer = exchange(&mut c, &client, &code, REDIRECT);
    assert_eq!(answer["error"], BAD_PROOF);
    // Another key: the code was not made for it.
    let other = DpopKey::new();
    let answer = token(&mut c, &client, code_form(&code), Some(&at_token(&other)));
    assert_refused(answer, "invalid_grant");
    // The code is still good for its key's holder.
    let (t, status) = token(&mut c, &client, code_form(&code), Some(&at_token(&key)));
    assert_eq!(status, "", "{t}");
    assert_bound(&t, &key);
}

#[test]
fn a_malformed_dpop_jkt_is_an_invalid_request_sent_back_to_the_client() {
    let db = TestDb::new("dpop_jkt_bad");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "public");
    let jkt = DpopKey::new().jkt();
    for bad in [
        "short".to_string(),
        format!("{jkt}A"),
        format!("{}=", &jkt[..42]),
        format!("{}+", &jkt[..42]),
        format!("{}/", &jkt[..42]),
    ] {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p["dpop_jkt"] = json!(bad);
        let r = authorize(&mut c, &p);
        let to = r["redirect_to"]
            .as_str()
            .unwrap_or_else(|| panic!("{bad}: {r}"));
        assert!(to.starts_with(REDIRECT), "{bad}: {to}");
        assert_eq!(
            query_param(to, "error").as_deref(),
            Some("invalid_request"),
            "{bad}: {to}"
        );
        assert_eq!(query_param(to, "state").as_deref(), Some("st-123"));
    }
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["dpop_jkt"] = json!(jkt);
    pending(&mut c, &p);
}

#[test]
fn a_client_registered_with_dpop_bound_access_tokens_gets_no_bearer_token() {
    let db = TestDb::new("dpop_client");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    update_client(&mut c, &client, json!({"dpop_bound_access_tokens": true}));
    let code = approved_code(&mut c, &client, "openid", &[], "u");
    assert_refused(redeem_code(&mut c, &client, &code), BAD_PROOF);
    assert_refused(token(&mut c, &client, code_form(&code), None), BAD_PROOF);
    assert_eq!(
        exchange(&mut c, &client, &code, REDIRECT)["error"],
        BAD_PROOF
    );
    let key = DpopKey::new();
    let (t, status) = token(&mut c, &client, code_form(&code), Some(&at_token(&key)));
    assert_eq!(status, "", "{t}");
    assert_bound(&t, &key);
    // Its refreshes too: no proof, no token.
    let rt = refresh_token(&t);
    assert_refused(token(&mut c, &client, refresh_form(&rt), None), BAD_PROOF);
    assert_eq!(refresh(&mut c, &client, &rt, None)["error"], BAD_PROOF);
    let (t, _) = token(&mut c, &client, refresh_form(&rt), Some(&at_token(&key)));
    assert_bound(&t, &key);
    // Dynamic registration takes and answers the same metadata.
    db.set("dynamic_registration", "on");
    let mut c = db.connect();
    let md = json!({"redirect_uris": [REDIRECT], "dpop_bound_access_tokens": true});
    let (made, status) = status_of(&mut c, "SELECT oauth.register_client($1)", &[&md]);
    assert_eq!(status, "201", "{made}");
    assert_eq!(made["dpop_bound_access_tokens"], true);
    let registered = TestClient::from_json(&made);
    let code = approved_code(&mut c, &registered, "openid", &[], "u");
    assert_refused(redeem_code(&mut c, &registered, &code), BAD_PROOF);
}

#[test]
fn with_dpop_nonce_on_a_proof_must_carry_the_nonce_the_server_handed_out() {
    let db = TestDb::new("dpop_nonce");
    db.set("dpop_nonce", "on");
    let mut c = db.connect();
    let job = machine(&mut c);
    let key = DpopKey::new();
    let (t, status, nonce) =
        token_with_nonce(&mut c, &job, client_credentials(), Some(&at_token(&key)));
    assert_refused((t.clone(), status), "use_dpop_nonce");
    let nonce = nonce.unwrap_or_else(|| panic!("no DPoP-Nonce header with {t}"));
    // A nonce the server never handed out is no better than none.
    let made_up = token_proof(&key, json!({}), json!({"nonce": "made-up"}));
    let (t, status, again) = token_with_nonce(&mut c, &job, client_credentials(), Some(&made_up));
    assert_refused((t, status), "use_dpop_nonce");
    assert!(again.is_some());
    // The one it handed out is taken, and the answer hands out the next.
    let with_nonce = token_proof(&key, json!({}), json!({"nonce": nonce}));
    let (t, status, next) = token_with_nonce(&mut c, &job, client_credentials(), Some(&with_nonce));
    assert_eq!(status, "", "{t}");
    assert_bound(&t, &key);
    assert!(next.is_some());
    // A request without a proof asks for a bearer token: no nonce to carry.
    let (t, status, none) = token_with_nonce(&mut c, &job, client_credentials(), None);
    assert_eq!(status, "", "{t}");
    assert_bearer(&t);
    assert_eq!(none, None);
}

#[test]
fn client_credentials_and_device_code_tokens_are_bound_to_the_proofs_key() {
    let db = TestDb::new("dpop_machine");
    let mut c = db.connect();
    let job = machine(&mut c);
    let key = DpopKey::new();
    let (t, _) = token(&mut c, &job, client_credentials(), Some(&at_token(&key)));
    assert_bound(&t, &key);
    let (t, _) = token(&mut c, &job, client_credentials(), None);
    assert_bearer(&t);
    // The device grant: a public client, whose family is then bound like any public client's.
    const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
    let tv = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('TV', ARRAY[]::text[], 'public',
                grant_types => ARRAY[$1, 'refresh_token'])",
        &[&DEVICE],
    ));
    let d = json(
        &mut c,
        "SELECT oauth.device_authorization($1, NULL)",
        &[&json!({"client_id": tv.id, "scope": "openid"})],
    );
    let user_code = d["user_code"].as_str().unwrap();
    let viewer = user("viewer");
    let found = call_as(&mut c, &viewer, "SELECT oauth.authorization($1)", user_code);
    let aid = found["authorization_id"].as_str().unwrap();
    call_as(&mut c, &viewer, "SELECT oauth.consent($1, true)", aid);
    let form = json!({"grant_type": DEVICE, "device_code": d["device_code"]});
    let (t, status) = token(&mut c, &tv, form, Some(&at_token(&key)));
    assert_eq!(status, "", "{t}");
    assert_bound(&t, &key);
    let answer = token(&mut c, &tv, refresh_form(&refresh_token(&t)), None);
    assert_refused(answer, BAD_PROOF);
}

#[test]
fn discovery_names_the_proof_algorithms_and_purge_forgets_what_can_no_longer_be_replayed() {
    let db = TestDb::new("dpop_purge");
    let mut c = db.connect();
    let algs = json(&mut c, "SELECT oauth.metadata()", &[])["dpop_signing_alg_values_supported"]
        .to_string();
    assert!(algs.contains("\"ES256\""), "{algs}");
    assert!(!algs.contains("none") && !algs.contains("HS"), "{algs}");
    // Two proofs taken, one of them now too old to be replayed; an old nonce.
    db.set("dpop_nonce", "on");
    let mut c = db.connect();
    let job = machine(&mut c);
    let key = DpopKey::new();
    let (_, _, nonce) = token_with_nonce(&mut c, &job, client_credentials(), Some(&at_token(&key)));
    for _ in 0..2 {
        let proof = token_proof(&key, json!({}), json!({"nonce": nonce}));
        let (t, _) = token(&mut c, &job, client_credentials(), Some(&proof));
        assert_bound(&t, &key);
    }
    c.batch_execute(
        "UPDATE oauth.used_jtis SET expires_at = now() - interval '1 second'
          WHERE jti = (SELECT min(jti) FROM oauth.used_jtis);
         UPDATE oauth.dpop_nonces SET issued_at = now() - interval '1 day'",
    )
    .unwrap();
    let purged = json(&mut c, "SELECT oauth.purge_expired()", &[]);
    assert_eq!(
        (&purged["used_jtis"], &purged["dpop_nonces"]),
        (&json!(1), &json!(1)),
        "{purged}"
    );
    let left = json(
        &mut c,
        "SELECT to_jsonb(count(*)) FROM oauth.used_jtis",
        &[],
    );
    assert_eq!(left, 1, "the other proof could still be replayed");
}
