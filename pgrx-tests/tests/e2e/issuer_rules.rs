//! Trusted session issuers: the registry (`oauth.add_issuer` / `update_issuer` /
//! `remove_issuer`), `oauth.verify_session`, and the consent API and RLS with sessions from
//! several issuers. Each stand-in issuer has its own key and signs tokens shaped like the
//! provider it stands for (claims as the providers document them).

use oauth_server_e2e::stand_in::{now, StandInIssuer};
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const CLERK: &str = "https://clerk.app.example";
const FIREBASE_A: &str = "https://securetoken.google.com/project-a";
const FIREBASE_B: &str = "https://securetoken.google.com/project-b";
const COGNITO: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf";
const ENTRA: &str = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0";

/// Trusts `i` with `options`, its keys given inline.
fn trust(c: &mut Client, i: &StandInIssuer, mut options: Value) -> Value {
    options["jwks"] = i.jwks();
    json(c, "SELECT oauth.add_issuer($1, $2)", &[&i.issuer, &options])
}

/// Roles are cluster-wide: tests share them.
fn ensure_role(c: &mut Client, name: &str, attributes: &str) {
    c.batch_execute(&format!(
        "DO $$ BEGIN CREATE ROLE {name} {attributes}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ))
    .unwrap();
}

fn verify(c: &mut Client, token: &str) -> Result<Value, (String, String, Option<String>)> {
    c.query_one("SELECT oauth.verify_session($1)", &[&token])
        .map(|r| r.get(0))
        .map_err(|e| {
            let db = e.as_db_error().expect("a database error");
            (
                db.code().code().to_string(),
                db.message().to_string(),
                db.detail().map(String::from),
            )
        })
}

/// The refusal of `token`: SQLSTATE 28000 with a message containing `why`.
fn refused(c: &mut Client, token: &str, why: &str) {
    let (code, message, _) = verify(c, token).expect_err("the token must be refused");
    assert_eq!(code, "28000", "{message}");
    assert!(message.contains(why), "expected {why:?} in {message:?}");
}

/// A Clerk session token (v2) with the `role` claim Clerk's Supabase integration adds.
fn clerk_claims(sub: &str) -> Value {
    json!({"azp": "https://app.example", "exp": now() + 60, "fva": [0, -1], "iat": now(),
           "nbf": now() - 5, "sid": "sess_2abc", "sub": sub, "v": 2, "role": "authenticated",
           "email": format!("{sub}@app.example")})
}

/// A Firebase Auth ID token.
fn firebase_claims(project: &str, sub: &str, email_verified: bool) -> Value {
    json!({"iss": format!("https://securetoken.google.com/{project}"), "aud": project,
           "auth_time": now() - 10, "user_id": sub, "sub": sub, "iat": now(), "exp": now() + 60,
           "email": format!("{sub}@gmail.example"), "email_verified": email_verified,
           "firebase": {"identities": {"email": [format!("{sub}@gmail.example")]},
                        "sign_in_provider": "password"}})
}

/// A Cognito access token.
fn cognito_claims(sub: &str, client_id: &str, token_use: &str) -> Value {
    json!({"sub": sub, "cognito:groups": ["readers"], "iss": COGNITO, "version": 2,
           "client_id": client_id, "origin_jti": "o-1", "event_id": "e-1", "token_use": token_use,
           "scope": "aws.cognito.signin.user.admin", "auth_time": now() - 5, "exp": now() + 60,
           "iat": now(), "jti": "j-1", "username": sub})
}

fn cognito_options() -> Value {
    json!({"audience": "app-client-1", "audience_claim": "client_id",
           "required_claims": {"token_use": "access"}})
}

#[test]
fn the_registry_validates_what_it_stores() {
    let db = TestDb::new("issreg");
    let mut c = db.connect();
    let clerk = StandInIssuer::new(CLERK);
    let added = trust(&mut c, &clerk, json!({}));
    assert_eq!(added["kids"], json!([clerk.kid]));
    assert_eq!(added["options"]["allowed_roles"], json!(["authenticated"]));
    ensure_role(&mut c, "admin_like", "BYPASSRLS");
    ensure_role(&mut c, "some_role", "NOLOGIN");
    for (sql, why) in [
        ("SELECT oauth.add_issuer('http://clerk.app.example')", "https"),
        ("SELECT oauth.add_issuer('https://x.example', '{\"audiance\": \"x\"}')", "unknown option"),
        ("SELECT oauth.add_issuer('https://x.example', '{\"shared_keys\": true}')", "audience"),
        ("SELECT oauth.add_issuer('https://x.example', '{\"allowed_roles\": [\"authenticated\", \"admin_like\"]}')", "bypass RLS"),
        ("SELECT oauth.add_issuer('https://x.example', '{\"allowed_roles\": [\"postgres\", \"authenticated\"]}')", "superusers"),
        ("SELECT oauth.add_issuer('https://x.example', '{\"jwks\": {\"keys\": [{\"kty\": \"oct\", \"kid\": \"s\", \"k\": \"c2VjcmV0\"}]}}')", "private"),
        ("SELECT oauth.add_issuer('https://x.example', '{\"jwks\": {\"keys\": [{\"kty\": \"RSA\", \"kid\": \"e\", \"n\": \"a\", \"e\": \"b\", \"use\": \"enc\"}]}}')", "no usable key"),
        ("SELECT oauth.add_issuer('https://x.example', '{\"refresh\": false}')", "jwks"),
        ("SELECT oauth.add_issuer('http://localhost:8080')", "own issuer"),
        ("SELECT oauth.add_issuer('https://clerk.app.example')", "already trusted"),
        ("SELECT oauth.add_issuer(NULL)", "issuer"),
        ("SELECT oauth.update_issuer('https://clerk.app.example', '{\"leeway\": 9999}')", "leeway"),
    ] {
        let err = c.batch_execute(sql).expect_err(sql);
        let db_err = err.as_db_error().unwrap();
        assert_eq!(db_err.code().code(), "22023", "{sql}: {}", db_err.message());
        assert!(db_err.message().contains(why), "{sql}: {}", db_err.message());
    }
    assert_eq!(
        sqlstate(
            &mut c,
            "SELECT oauth.remove_issuer('https://nobody.example')"
        ),
        "P0002"
    );
    assert_eq!(
        sqlstate(
            &mut c,
            "SELECT oauth.update_issuer('https://nobody.example', '{}')"
        ),
        "P0002"
    );

    // Firebase is pinned to its project without being told.
    let fb = json(&mut c, "SELECT oauth.add_issuer($1)", &[&FIREBASE_A]);
    assert_eq!(fb["options"]["audience"], json!(["project-a"]));
    assert_eq!(fb["options"]["shared_keys"], true);

    // An update changes only what it names.
    let u = json(
        &mut c,
        "SELECT oauth.update_issuer($1, '{\"audience\": \"api\", \"allowed_roles\": [\"authenticated\", \"some_role\"]}')",
        &[&CLERK],
    );
    assert_eq!(u["options"]["audience"], json!(["api"]));
    assert_eq!(u["options"]["role_claim"], "role");
    assert_eq!(u["kids"], json!([clerk.kid]));
    let list = json(&mut c, "SELECT oauth.issuers()", &[]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(
        list[0]["discovery_url"],
        format!("{CLERK}/.well-known/openid-configuration")
    );
    assert!(
        json(
            &mut c,
            "SELECT to_jsonb(oauth.remove_issuer($1))",
            &[&CLERK]
        ) == json!(true)
    );
    assert_eq!(
        json(
            &mut c,
            "SELECT to_jsonb(jsonb_array_length(oauth.issuers()))",
            &[]
        ),
        json!(1)
    );
}

#[test]
fn only_the_owner_administers_issuers() {
    let db = TestDb::new("issprivs");
    let mut owner = db.connect();
    let clerk = StandInIssuer::new(CLERK);
    trust(&mut owner, &clerk, json!({}));
    ensure_role(&mut owner, "plain_user", "LOGIN");
    let mut p = db.connect_as("plain_user");
    for sql in [
        "SELECT oauth.add_issuer('https://evil.example')",
        "SELECT oauth.update_issuer('https://clerk.app.example', '{\"allowed_roles\": [\"x\"]}')",
        "SELECT oauth.remove_issuer('https://clerk.app.example')",
        "SELECT oauth.issuers()",
        "SELECT oauth.set_issuer_jwks('https://clerk.app.example', '{\"keys\": []}', 'https://k.example')",
        "SELECT oauth.report_issuer_error('https://clerk.app.example', 'x')",
        "SELECT * FROM oauth.issuers",
        "UPDATE oauth.issuers SET jwks = '{}'",
    ] {
        assert_eq!(sqlstate(&mut p, sql), "42501", "{sql}");
    }
    // Verifying a token is for everyone: it reveals only the token's own claims.
    let claims = verify(&mut p, &clerk.token(clerk_claims("user_1"))).unwrap();
    assert_eq!(claims["sub"], "user_1");
    p.batch_execute("SELECT oauth.session_issuer()").unwrap();
}

#[test]
fn sessions_of_every_issuer_are_normalised_alike() {
    let db = TestDb::new("issnorm");
    let mut c = db.connect();
    let clerk = StandInIssuer::new(CLERK);
    let firebase = StandInIssuer::new(FIREBASE_A);
    let cognito = StandInIssuer::new(COGNITO);
    let entra = StandInIssuer::new(ENTRA);
    trust(&mut c, &clerk, json!({}));
    trust(&mut c, &firebase, json!({}));
    trust(&mut c, &cognito, cognito_options());
    trust(
        &mut c,
        &entra,
        json!({"audience": "6731de76-14a6-49ae-97bc-6eba6914391e", "role_claim": null,
               "email_verified_claim": "xms_edov"}),
    );

    let s = verify(&mut c, &clerk.token(clerk_claims("user_2abc"))).unwrap();
    assert_eq!(
        (s["sub"].as_str(), s["role"].as_str(), s["iss"].as_str()),
        (Some("user_2abc"), Some("authenticated"), Some(CLERK))
    );
    // Clerk's template gave no verification claim: the email is not called verified.
    assert_eq!(s["email_verified"], false);

    let s = verify(
        &mut c,
        &firebase.token(firebase_claims("project-a", "fb-uid", true)),
    )
    .unwrap();
    assert_eq!(
        (s["sub"].as_str(), s["role"].as_str()),
        (Some("fb-uid"), Some("authenticated"))
    );
    assert_eq!(s["email_verified"], true);
    let s = verify(
        &mut c,
        &firebase.token(firebase_claims("project-a", "fb-uid", false)),
    )
    .unwrap();
    assert_eq!(s["email_verified"], false);

    // Cognito access tokens carry their app's client_id and a Cognito scope: neither may look
    // like an OAuth client's token to oauth.client_id() or oauth.has_scope().
    let s = verify(
        &mut c,
        &cognito.token(cognito_claims("c-uuid", "app-client-1", "access")),
    )
    .unwrap();
    assert_eq!(s["sub"], "c-uuid");
    assert!(
        s.get("client_id").is_none() && s.get("scope").is_none(),
        "{s}"
    );
    assert_eq!(s["cognito:groups"], json!(["readers"]));

    // Entra: `email` is not verified by Microsoft; only xms_edov says the domain owner did.
    let entra_claims = |edov: Value| {
        json!({"aud": "6731de76-14a6-49ae-97bc-6eba6914391e", "iss": ENTRA, "iat": now(),
               "nbf": now(), "exp": now() + 60, "email": "ana@contoso.example", "email_verified": true,
               "name": "Ana", "oid": "00000000-0000-0000-66f3-3332eca7ea81", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
               "tid": "9188040d-6c67-4c5b-b112-36a304b66dad", "ver": "2.0", "xms_edov": edov})
    };
    let s = verify(&mut c, &entra.token(entra_claims(json!(false)))).unwrap();
    assert_eq!(s["email_verified"], false);
    assert_eq!(s["role"], "authenticated");
    let s = verify(&mut c, &entra.token(entra_claims(json!(true)))).unwrap();
    assert_eq!(s["email_verified"], true);

    // Our own session tokens still verify, unchanged.
    let own: String = c
        .query_one("SELECT oauth.issue_session_token('local-user')", &[])
        .unwrap()
        .get(0);
    assert_eq!(verify(&mut c, &own).unwrap()["sub"], "local-user");
}

#[test]
fn bad_session_tokens_are_refused_with_a_reason() {
    let db = TestDb::new("issrefuse");
    let mut c = db.connect();
    let firebase = StandInIssuer::new(FIREBASE_A);
    let clerk = StandInIssuer::new(CLERK);
    let cognito = StandInIssuer::new(COGNITO);
    trust(&mut c, &firebase, json!({}));
    trust(&mut c, &clerk, json!({}));
    trust(&mut c, &cognito, cognito_options());
    let good = clerk_claims("user_1");
    verify(&mut c, &clerk.token(good.clone())).unwrap();

    let stranger = StandInIssuer::new("https://untrusted.example");
    refused(&mut c, &stranger.token(good.clone()), "not trusted");
    // Another Firebase project: signed with the same shared Google key, another iss ...
    refused(
        &mut c,
        &firebase.token(firebase_claims("project-b", "u", true)),
        "not trusted",
    );
    // ... or our project's iss with the other project's aud.
    let mut wrong_aud = firebase_claims("project-a", "u", true);
    wrong_aud["aud"] = json!("project-b");
    refused(&mut c, &firebase.token(wrong_aud), "audience");
    refused(
        &mut c,
        &cognito.token(cognito_claims("u", "another-app", "access")),
        "audience",
    );
    refused(
        &mut c,
        &cognito.token(cognito_claims("u", "app-client-1", "id")),
        "token_use",
    );
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 120);
    refused(&mut c, &clerk.token(expired), "expired");
    let mut early = good.clone();
    early["nbf"] = json!(now() + 600);
    refused(&mut c, &clerk.token(early), "nbf");
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    refused(&mut c, &clerk.token(no_exp), "exp");
    let mut elevated = good.clone();
    elevated["role"] = json!("service_role");
    refused(&mut c, &clerk.token(elevated), "role");

    // A key the stored JWKS does not have: refused, and the DETAIL tells the front which
    // issuer's keys to refresh.
    let rotated = clerk.rotated();
    let (code, message, detail) = verify(&mut c, &rotated.token(good.clone())).unwrap_err();
    assert_eq!(code, "28000");
    assert!(message.contains("is not among the keys"), "{message}");
    assert_eq!(detail.as_deref(), Some(&*format!("unknown_kid: {CLERK}")));

    let mut with_iss = good.clone();
    with_iss["iss"] = json!(CLERK);
    refused(
        &mut c,
        &clerk.unsigned(&with_iss),
        "\"none\" is not accepted",
    );
    refused(
        &mut c,
        &clerk.hs256_forgery(&with_iss),
        "\"HS256\" is not accepted",
    );
    let no_kid = clerk.sign(&json!({"alg": "ES256"}), &with_iss);
    refused(&mut c, &no_kid, "no kid");
    // Tampered: Clerk's signature over other claims.
    let token = clerk.token(good.clone());
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let (_, mut claims) = jwt_parts(&token);
    claims["sub"] = json!("user_admin");
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims.to_string(),
    );
    refused(&mut c, &parts.join("."), "signature");
    // Another issuer's key under this issuer's kid.
    let impostor = stranger.sign(&json!({"alg": "ES256", "kid": clerk.kid}), &with_iss);
    refused(&mut c, &impostor, "signature");
    refused(&mut c, "not.a.jwt", "token header");

    // Disabled, then removed: refused from the next call on.
    json(
        &mut c,
        "SELECT oauth.update_issuer($1, '{\"enabled\": false}')",
        &[&CLERK],
    );
    refused(&mut c, &token, "disabled");
    json(
        &mut c,
        "SELECT oauth.update_issuer($1, '{\"enabled\": true}')",
        &[&CLERK],
    );
    verify(&mut c, &token).unwrap();
    c.batch_execute(&format!("SELECT oauth.remove_issuer('{CLERK}')"))
        .unwrap();
    refused(&mut c, &token, "not trusted");
    let _ = FIREBASE_B;
}

#[test]
fn stored_keys_follow_the_issuers_rotation() {
    let db = TestDb::new("issrotate");
    let mut c = db.connect();
    let before = StandInIssuer::new(CLERK);
    trust(&mut c, &before, json!({}));
    let after = before.rotated();
    let old_token = before.token(clerk_claims("user_1"));
    let new_token = after.token(clerk_claims("user_1"));
    verify(&mut c, &old_token).unwrap();
    assert!(verify(&mut c, &new_token).is_err());
    // What the front stores after fetching the rotated JWKS (the old key retired).
    let stored = json(
        &mut c,
        "SELECT oauth.set_issuer_jwks($1, $2, 'https://clerk.app.example/.well-known/jwks.json')",
        &[&CLERK, &after.jwks()],
    );
    assert_eq!(stored["kids"], json!([after.kid]));
    verify(&mut c, &new_token).unwrap();
    assert!(verify(&mut c, &old_token).is_err());
    // A fetched set without usable keys is refused and the stored keys stay.
    assert_eq!(
        sqlstate(
            &mut c,
            &format!(
                "SELECT oauth.set_issuer_jwks('{CLERK}', '{{\"keys\": []}}', 'https://k.example')"
            )
        ),
        "22023"
    );
    c.batch_execute(&format!(
        "SELECT oauth.report_issuer_error('{CLERK}', 'HTTP 503')"
    ))
    .unwrap();
    verify(&mut c, &new_token).unwrap();
    let listed = json(&mut c, "SELECT oauth.issuers()->0", &[]);
    assert_eq!(listed["last_error"], "HTTP 503");
    assert_eq!(listed["kids"], json!([after.kid]));
}

#[test]
fn consent_works_with_a_trusted_issuers_session() {
    let db = TestDb::new("issconsent");
    let mut c = db.connect();
    let firebase = StandInIssuer::new(FIREBASE_A);
    trust(&mut c, &firebase, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let session = firebase.token(firebase_claims("project-a", "fb-user", false));
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid email"));
    // The variants that take the session token and verify it in the database.
    let details = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &session],
    );
    assert_eq!(details["user"]["id"], "fb-user", "{details}");
    let done = json(
        &mut c,
        "SELECT oauth.consent($1, true, $2)",
        &[&aid, &session],
    );
    let code = query_param(done["redirect_to"].as_str().unwrap(), "code").unwrap();
    let t = exchange(&mut c, &client, &code, REDIRECT);
    let (_, id) = jwt_parts(t["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], "fb-user");
    assert_eq!(id["email"], "fb-user@gmail.example");
    // Firebase said the email is not verified; neither do we.
    assert_eq!(id["email_verified"], false);
    let grants = json(&mut c, "SELECT oauth.grants($1)", &[&session]);
    assert_eq!(grants.as_array().unwrap().len(), 1, "{grants}");
}

#[test]
fn rls_is_identical_for_sessions_from_every_issuer() {
    let db = TestDb::new("issrls");
    let mut c = db.connect();
    let clerk = StandInIssuer::new(CLERK);
    let firebase = StandInIssuer::new(FIREBASE_A);
    let cognito = StandInIssuer::new(COGNITO);
    trust(&mut c, &clerk, json!({}));
    trust(&mut c, &firebase, json!({}));
    trust(&mut c, &cognito, cognito_options());
    ensure_role(&mut c, "app_user", "NOLOGIN");
    c.batch_execute(
        "CREATE TABLE notes (owner text, body text);
         INSERT INTO notes VALUES ('user_clerk', 'c'), ('fb-uid', 'f'), ('cog-uuid', 'g'), ('local', 'l');
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
         GRANT SELECT ON notes TO app_user;
         CREATE POLICY own ON notes FOR SELECT TO app_user USING (owner = (SELECT oauth.uid()));
         -- As Supabase recommends for Firebase: only these issuers, Firebase only for its project.
         CREATE POLICY issuers ON notes AS RESTRICTIVE FOR SELECT TO app_user USING (
             oauth.session_issuer() = 'https://clerk.app.example'
             OR (oauth.session_issuer() = 'https://securetoken.google.com/project-a'
                 AND oauth.jwt()->>'aud' = 'project-a')
             OR oauth.session_issuer() = current_setting('oauth_server.issuer'));",
    )
    .unwrap();
    let own: String = c
        .query_one("SELECT oauth.issue_session_token('local')", &[])
        .unwrap()
        .get(0);
    let mut read = |token: &str| -> (Vec<String>, Option<String>) {
        let mut tx = c.transaction().unwrap();
        tx.execute(
            "SELECT set_config('request.jwt.claims', oauth.verify_session($1)::text, true)",
            &[&token],
        )
        .unwrap();
        tx.batch_execute("SET LOCAL ROLE app_user").unwrap();
        let rows = tx
            .query("SELECT body FROM notes ORDER BY body", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let iss: Option<String> = tx
            .query_one("SELECT oauth.session_issuer()", &[])
            .unwrap()
            .get(0);
        tx.rollback().unwrap();
        (rows, iss)
    };
    assert_eq!(
        read(&clerk.token(clerk_claims("user_clerk"))),
        (vec!["c".into()], Some(CLERK.into()))
    );
    assert_eq!(
        read(&firebase.token(firebase_claims("project-a", "fb-uid", true))),
        (vec!["f".into()], Some(FIREBASE_A.into()))
    );
    assert_eq!(read(&own).0, vec!["l".to_string()]);
    // Cognito is trusted for the consent step, but this table's restrictive policy leaves it out.
    let (rows, iss) = read(&cognito.token(cognito_claims("cog-uuid", "app-client-1", "access")));
    assert!(rows.is_empty());
    assert_eq!(iss.as_deref(), Some(COGNITO));
}
