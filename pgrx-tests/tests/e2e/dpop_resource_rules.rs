//! DPoP where a bound access token is used (RFC 9449 §6, §7): only with a proof by its key,
//! for this request and this token (`ath`), at UserInfo, through `oauth.verify_dpop`, and in
//! row-level security with `oauth.dpop_jkt()`; never as a bearer token. Introspection shows the
//! binding.

use oauth_server_e2e::dpop::{DpopKey, TOKEN_URL, USERINFO_URL};
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

/// The API `oauth.dpop_jkt()` checks proofs for, and a request to it.
const API_BASE: &str = "https://api.example/rest/v1";
const API_NOTES: &str = "https://api.example/rest/v1/notes";

/// A user's access token bound to `key` (a public client's code flow with a proof).
fn bound_token(c: &mut Client, key: &DpopKey) -> String {
    let client = create_client(c, &[REDIRECT], "public");
    let code = approved_code(c, &client, "openid", &[], "u");
    let form = json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
                      "redirect_uri": REDIRECT, "client_id": client.id});
    let proof = key.proof("POST", TOKEN_URL);
    let t = json(c, "SELECT oauth.token($1, NULL, $2)", &[&form, &proof]);
    assert_eq!(t["token_type"], "DPoP", "{t}");
    t["access_token"].as_str().unwrap().into()
}

/// A user's bearer access token (no proof at the token endpoint).
fn bearer_token(c: &mut Client) -> String {
    let client = create_client(c, &[REDIRECT], "confidential");
    let t = tokens(c, &client, "openid", "u");
    assert_eq!(t["token_type"], "Bearer", "{t}");
    t["access_token"].as_str().unwrap().into()
}

/// `oauth.userinfo(token, dpop, method)` → (body, response.status, WWW-Authenticate).
fn userinfo(
    c: &mut Client,
    token: &str,
    proof: Option<&str>,
    method: &str,
) -> (Value, String, String) {
    let mut tx = c.transaction().unwrap();
    let row = tx
        .query_one(
            "SELECT oauth.userinfo($1, $2, $3), coalesce(current_setting('response.status', true), ''),
                    coalesce((SELECT h->>'WWW-Authenticate' FROM jsonb_array_elements(
                        nullif(current_setting('response.headers', true), '')::jsonb) h
                      WHERE h ? 'WWW-Authenticate'), '')",
            &[&token, &proof, &method],
        )
        .unwrap();
    tx.commit().unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// `oauth.verify_dpop(token, proof, method, url)` → the claims, or (SQLSTATE, message).
fn verify_dpop(
    c: &mut Client,
    token: &str,
    proof: &str,
    method: &str,
    url: &str,
) -> Result<Value, (String, String)> {
    c.query_one(
        "SELECT oauth.verify_dpop($1, $2, $3, $4)",
        &[&token, &proof, &method, &url],
    )
    .map(|r| r.get(0))
    .map_err(|e| {
        let db = e
            .as_db_error()
            .unwrap_or_else(|| panic!("no answer of the server's: {e}"));
        (db.code().code().into(), db.message().into())
    })
}

/// The code of a refusal of `verify_dpop` (28000) as its message starts.
fn verify_refusal(r: Result<Value, (String, String)>) -> String {
    let (state, message) = r.expect_err("verify_dpop should have refused");
    assert_eq!(state, "28000", "{message}");
    message.split(':').next().unwrap().into()
}

#[test]
fn userinfo_takes_a_bound_token_only_with_a_fresh_proof_by_its_key_for_this_token() {
    let db = TestDb::new("dpop_userinfo");
    let mut c = db.connect();
    let key = DpopKey::new();
    let at = bound_token(&mut c, &key);
    let proof = key.proof_for("GET", USERINFO_URL, &at);
    let (u, status, _) = userinfo(&mut c, &at, Some(&proof), "GET");
    assert_eq!((u["sub"].as_str(), status.as_str()), (Some("u"), ""), "{u}");
    let (u, status, _) = userinfo(
        &mut c,
        &at,
        Some(&key.proof_for("POST", USERINFO_URL, &at)),
        "POST",
    );
    assert_eq!((u["sub"].as_str(), status.as_str()), (Some("u"), ""), "{u}");
    // As a bearer token it is nothing: whoever copied it lacks the key.
    let (u, status) = status_of(&mut c, "SELECT oauth.userinfo($1)", &[&at]);
    assert_eq!(
        (u["error"].as_str(), status.as_str()),
        (Some("invalid_token"), "401"),
        "{u}"
    );
    let other = DpopKey::new();
    for (what, proof) in [
        ("replayed", proof),
        ("without ath", key.proof("GET", USERINFO_URL)),
        (
            "with another token's ath",
            key.proof_for("GET", USERINFO_URL, "another-token"),
        ),
        ("by another key", other.proof_for("GET", USERINFO_URL, &at)),
        (
            "for the token endpoint",
            key.proof_for("GET", TOKEN_URL, &at),
        ),
        ("for POST", key.proof_for("POST", USERINFO_URL, &at)),
        ("empty", String::new()),
    ] {
        let (u, status, challenge) = userinfo(&mut c, &at, Some(&proof), "GET");
        assert_eq!(
            (u["error"].as_str(), status.as_str()),
            (Some("invalid_dpop_proof"), "401"),
            "{what}: {u}"
        );
        assert!(challenge.starts_with("DPoP "), "{what}: {challenge}");
        assert!(
            challenge.contains("error=\"invalid_dpop_proof\""),
            "{what}: {challenge}"
        );
    }
    // A proof does not make a bearer token a bound one.
    let bearer = bearer_token(&mut c);
    let (u, status, challenge) = userinfo(
        &mut c,
        &bearer,
        Some(&key.proof_for("GET", USERINFO_URL, &bearer)),
        "GET",
    );
    assert_eq!(
        (u["error"].as_str(), status.as_str()),
        (Some("invalid_token"), "401"),
        "{u}"
    );
    assert!(challenge.starts_with("DPoP "), "{challenge}");
}

#[test]
fn verify_refuses_a_bound_token_and_verify_dpop_checks_its_proof() {
    let db = TestDb::new("dpop_verify");
    let mut c = db.connect();
    let key = DpopKey::new();
    let at = bound_token(&mut c, &key);
    assert_eq!(verify_sqlstate(&mut c, &at), "28000");
    let proof = key.proof_for("GET", API_NOTES, &at);
    let claims = verify_dpop(&mut c, &at, &proof, "GET", API_NOTES).unwrap();
    assert_eq!(claims["cnf"], json!({"jkt": key.jkt()}));
    assert_eq!(claims["sub"], "u");
    // Once only, for this URL, this method and this token, by this key.
    let other = DpopKey::new();
    for (what, proof, method, url) in [
        ("replayed", proof, "GET", API_NOTES),
        (
            "for another URL",
            key.proof_for("GET", "https://api.example/rest/v1/other", &at),
            "GET",
            API_NOTES,
        ),
        (
            "for another method",
            key.proof_for("GET", API_NOTES, &at),
            "DELETE",
            API_NOTES,
        ),
        ("without ath", key.proof("GET", API_NOTES), "GET", API_NOTES),
        (
            "by another key",
            other.proof_for("GET", API_NOTES, &at),
            "GET",
            API_NOTES,
        ),
    ] {
        let r = verify_dpop(&mut c, &at, &proof, method, url);
        assert_eq!(verify_refusal(r), "invalid_dpop_proof", "{what}");
    }
    // A bearer token stays one: a proof beside it is refused, oauth.verify takes it.
    let bearer = bearer_token(&mut c);
    let r = verify_dpop(
        &mut c,
        &bearer,
        &key.proof_for("GET", API_NOTES, &bearer),
        "GET",
        API_NOTES,
    );
    assert_eq!(verify_refusal(r), "invalid_token");
    assert_eq!(verify_sqlstate(&mut c, &bearer), "ok");
}

#[test]
fn introspection_shows_the_key_a_token_is_bound_to() {
    let db = TestDb::new("dpop_introspect");
    let mut c = db.connect();
    let rs = create_client(&mut c, &[REDIRECT], "confidential");
    let key = DpopKey::new();
    let at = bound_token(&mut c, &key);
    let i = introspect(&mut c, &rs, &at);
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["token_type"], "DPoP", "{i}");
    assert_eq!(i["cnf"], json!({"jkt": key.jkt()}), "{i}");
    let bearer = bearer_token(&mut c);
    let i = introspect(&mut c, &rs, &bearer);
    assert_eq!(
        (&i["active"], &i["token_type"]),
        (&json!(true), &json!("Bearer")),
        "{i}"
    );
    assert!(i.get("cnf").is_none(), "{i}");
}

/// `oauth.dpop_jkt()` in a transaction where PostgREST's settings describe a request with
/// `headers` (lower-case names), `method` and `path` → its answer, or the SQLSTATE it raised.
fn dpop_jkt(
    c: &mut Client,
    headers: &Value,
    method: &str,
    path: &str,
) -> Result<Option<String>, String> {
    let mut tx = c.transaction().unwrap();
    tx.execute(
        "SELECT set_config('request.headers', $1, true), set_config('request.method', $2, true),
                set_config('request.path', $3, true)",
        &[&headers.to_string(), &method, &path],
    )
    .unwrap();
    let out = tx
        .query_one("SELECT oauth.dpop_jkt()", &[])
        .map(|r| r.get(0))
        .map_err(|e| e.code().map(|s| s.code().to_string()).unwrap_or_default());
    tx.rollback().unwrap();
    out
}

/// The headers of a PostgREST request with `token` and, if any, `proof`.
fn request_headers(token: &str, proof: Option<&str>) -> Value {
    let mut h = json!({"authorization": format!("DPoP {token}"), "accept": "application/json"});
    if let Some(p) = proof {
        h["dpop"] = json!(p);
    }
    h
}

#[test]
fn dpop_jkt_is_the_key_the_current_request_proved_or_null_without_a_proof() {
    let db = TestDb::new("dpop_helper");
    let mut c = db.connect();
    let key = DpopKey::new();
    let at = bound_token(&mut c, &key);
    // Without the API's public URL no proof can be checked: a misconfiguration, said so.
    let proof = key.proof_for("GET", API_NOTES, &at);
    let mut tx = c.transaction().unwrap();
    tx.execute(
        "SELECT set_config('request.headers', $1, true), set_config('request.method', 'GET', true),
                set_config('request.path', '/notes', true)",
        &[&request_headers(&at, Some(&proof)).to_string()],
    )
    .unwrap();
    let e = tx.query_one("SELECT oauth.dpop_jkt()", &[]).unwrap_err();
    let e = e.as_db_error().unwrap();
    assert_eq!(e.code().code(), "55000", "{}", e.message());
    assert!(
        e.message().contains("oauth_server.dpop_api_url"),
        "{}",
        e.message()
    );
    tx.rollback().unwrap();
    db.set("dpop_api_url", API_BASE);
    let mut c = db.connect();
    let headers = |proof: String| request_headers(&at, Some(&proof));
    assert_eq!(
        dpop_jkt(
            &mut c,
            &headers(key.proof_for("GET", API_NOTES, &at)),
            "GET",
            "/notes"
        ),
        Ok(Some(key.jkt()))
    );
    assert_eq!(
        dpop_jkt(&mut c, &request_headers(&at, None), "GET", "/notes"),
        Ok(None)
    );
    for (what, proof, method) in [
        (
            "for another path",
            key.proof_for("GET", &format!("{API_BASE}/other"), &at),
            "GET",
        ),
        (
            "for another method",
            key.proof_for("GET", API_NOTES, &at),
            "POST",
        ),
        (
            "for another token",
            key.proof_for("GET", API_NOTES, "another-token"),
            "GET",
        ),
        (
            "unsigned",
            key.proof_with(
                json!({"alg": "none"}),
                json!({"htm": "GET", "htu": API_NOTES}),
            ),
            "GET",
        ),
    ] {
        assert_eq!(
            dpop_jkt(&mut c, &headers(proof), method, "/notes"),
            Err("28000".into()),
            "{what}"
        );
    }
}

#[test]
fn an_rls_policy_lets_a_bound_token_through_only_with_a_proof_by_its_key() {
    let db = TestDb::new("dpop_rls");
    db.set("dpop_api_url", API_BASE);
    let mut c = db.connect();
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE dpop_reader NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
         CREATE TABLE notes (id int);
         INSERT INTO notes VALUES (1), (2);
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
         -- As the docs recommend: a bound token needs its proof; an unbound one needs none.
         CREATE POLICY proven ON notes FOR SELECT TO dpop_reader
           USING (oauth.jwt() -> 'cnf' ->> 'jkt' IS NOT DISTINCT FROM (SELECT oauth.dpop_jkt()));
         GRANT SELECT ON notes TO dpop_reader;",
    )
    .unwrap();
    let key = DpopKey::new();
    let bound = bound_token(&mut c, &key);
    let bearer = bearer_token(&mut c);
    // What PostgREST does for a request: its claims, its headers, then the API's role.
    let mut read = |token: &str, proof: Option<String>| -> Vec<i32> {
        let claims = jwt_parts(token).1;
        let mut tx = c.transaction().unwrap();
        tx.execute(
            "SELECT set_config('request.jwt.claims', $1, true), set_config('request.headers', $2, true),
                    set_config('request.method', 'GET', true), set_config('request.path', '/notes', true)",
            &[&claims.to_string(), &request_headers(token, proof.as_deref()).to_string()],
        )
        .unwrap();
        tx.batch_execute("SET LOCAL ROLE dpop_reader").unwrap();
        let ids = tx
            .query("SELECT id FROM notes ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.rollback().unwrap();
        ids
    };
    assert_eq!(
        read(&bound, Some(key.proof_for("GET", API_NOTES, &bound))),
        vec![1, 2]
    );
    assert_eq!(
        read(&bound, None),
        Vec::<i32>::new(),
        "a copied bound token alone"
    );
    let thief = DpopKey::new();
    assert_eq!(
        read(&bound, Some(thief.proof_for("GET", API_NOTES, &bound))),
        Vec::<i32>::new()
    );
    assert_eq!(read(&bearer, None), vec![1, 2]);
    // A proof does not make a bearer token a bound one: the policy does not match either.
    let stray = key.proof_for("GET", API_NOTES, &bearer);
    assert_eq!(read(&bearer, Some(stray)), Vec::<i32>::new());
}

/// The URL `oauth.verify_dpop` is given is the caller's, not the client's: a malformed one is
/// the caller's mistake (22023), never blamed on the proof. And a proof is remembered until it
/// would be too old under any `dpop_proof_max_age` (the setting's bound, 600 s), so that raising
/// the setting later revives no proof taken under a shorter one.
#[test]
fn verify_dpop_blames_its_caller_for_a_bad_url_and_remembers_proofs_past_any_max_age() {
    let db = TestDb::new("dpop_vurl");
    let mut c = db.connect();
    let key = DpopKey::new();
    let at = bound_token(&mut c, &key);
    let proof = key.proof_for("GET", API_NOTES, &at);
    let (state, message) = verify_dpop(&mut c, &at, &proof, "GET", "not a url").unwrap_err();
    assert_eq!(state, "22023", "{message}");
    assert!(message.starts_with("url is not a request URL"), "{message}");
    verify_dpop(&mut c, &at, &proof, "GET", API_NOTES).expect("the proof holds");
    // Taken for iat + 600 s + 1, not for the setting's 60 s.
    let remembered = json(
        &mut c,
        "SELECT to_jsonb(extract(epoch FROM max(expires_at)) - extract(epoch FROM now()))
           FROM oauth.used_jtis WHERE kind = 'dpop'",
        &[],
    );
    let secs = remembered.as_f64().unwrap();
    assert!((590.0..=602.0).contains(&secs), "{secs}");
    db.set("dpop_proof_max_age", "600");
    let mut c = db.connect();
    assert!(
        verify_refusal(verify_dpop(&mut c, &at, &proof, "GET", API_NOTES))
            .starts_with("invalid_dpop_proof")
    );
}
