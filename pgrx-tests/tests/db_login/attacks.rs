//! Attacks on signing in to the database (security review of the PostgreSQL 18 validator).
//! Each test states what must hold; a failing one is a hole.

use super::harness::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth_server_e2e::dpop::DpopKey;
use oauth_server_e2e::{as_user, json, jwt_parts, status_of};
use postgres::Client;
use serde_json::{json, Value};

fn notes_table(c: &mut Client) {
    c.batch_execute(
        "CREATE TABLE IF NOT EXISTS public.attack_notes (owner text NOT NULL, body text NOT NULL);
         ALTER TABLE public.attack_notes ENABLE ROW LEVEL SECURITY;
         DROP POLICY IF EXISTS own_notes ON public.attack_notes;
         CREATE POLICY own_notes ON public.attack_notes USING (owner = oauth.uid());
         GRANT SELECT ON public.attack_notes TO app_user;",
    )
    .unwrap();
}

/// Class 4 (the open session's identity): the session's claims live in a static of the
/// backend that signed in; a parallel worker is another process, which reads
/// `request.jwt.claims` (copied to it with every GUC), which the session can set to anyone's.
#[test]
fn a_parallel_worker_does_not_see_forged_claims_of_a_signed_in_session() {
    let mut c = admin("app");
    notes_table(&mut c);
    let (sub, tokens) = signed_in_user(&mut c, "parallel");
    let victim = fresh_user("victim");
    c.execute(
        "INSERT INTO public.attack_notes VALUES ($1, 'mine'), ($2, 'the victim''s secret')",
        &[&sub, &victim],
    )
    .unwrap();
    let mut s = app_user(tokens["access_token"].as_str().unwrap()).expect("signs in");
    s.query(&format!(
        r#"SET request.jwt.claims = '{{"sub": "{victim}"}}'"#
    ))
    .unwrap();
    assert_eq!(s.value("SELECT oauth.uid()").unwrap(), Some(sub.clone()));
    // Every plan in a parallel worker (all user-settable).
    s.query(
        "SET debug_parallel_query = on; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
         SET min_parallel_table_scan_size = 0; SET parallel_leader_participation = off",
    )
    .unwrap();
    let seen = s
        .query("SELECT body, oauth.uid() FROM public.attack_notes ORDER BY 1")
        .unwrap();
    assert_eq!(
        seen,
        vec![vec![Some("mine".to_string()), Some(sub.clone())]],
        "a parallel worker read the forged request.jwt.claims"
    );
}

/// Class 4/1: a signed-in session is arbitrary SQL; every function of the consent API that
/// trusts `request.jwt.claims` (no `iss`: "the install's own login") trusts what that session
/// sets. With the RLS role PostgREST uses (`authenticated`, as docs/db-login.md invites: "the
/// same RLS policies that serve PostgREST serve psql"), a user signed in with psql approves a
/// device code as another user, and then signs in as them.
#[test]
fn a_signed_in_session_cannot_act_as_another_user_through_request_jwt_claims() {
    let mut c = admin("app");
    c.batch_execute("GRANT authenticated TO app_user").unwrap();
    let result = std::panic::catch_unwind(|| {
        let mut c = admin("app");
        let (_, tokens) = signed_in_user(&mut c, "forger");
        let victim = fresh_user("victim");
        our_session(&mut c, &victim); // the victim exists, with a session of ours
        let mut s = app_user(tokens["access_token"].as_str().unwrap()).expect("signs in");
        // The attacker starts a device flow of the allowed client (public function) ...
        let started = json(
            &mut c,
            "SELECT oauth.device_authorization($1, NULL)",
            &[&json!({"client_id": allowed_client(), "scope": "openid db:login"})],
        );
        let user_code = started["user_code"].as_str().unwrap().to_string();
        // ... and approves it in their psql session as the victim.
        s.query("SET ROLE authenticated").unwrap();
        s.query(&format!(
            r#"SET request.jwt.claims = '{{"sub": "{victim}", "role": "authenticated"}}'"#
        ))
        .unwrap();
        let shown = s
            .value(&format!("SELECT oauth.authorization('{user_code}')"))
            .map(|v| v.unwrap_or_default());
        let approved = match &shown {
            Ok(shown) => {
                let shown: Value = serde_json::from_str(shown).unwrap_or(Value::Null);
                match shown["authorization_id"].as_str() {
                    Some(aid) => s
                        .value(&format!("SELECT oauth.consent('{aid}', true)"))
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                    None => String::new(),
                }
            }
            Err(_) => String::new(),
        };
        let (body, _) = status_of(
            &mut c,
            "SELECT oauth.token($1, NULL)",
            &[
                &json!({"grant_type": DEVICE, "device_code": started["device_code"], "client_id": allowed_client()}),
            ],
        );
        let took = body["access_token"]
            .as_str()
            .map(|t| jwt_parts(t).1["sub"].clone());
        assert!(
            took.is_none(),
            "approved as the victim from a psql session ({approved}); token for sub {took:?}; \
             then signs in as them: {:?}",
            body["access_token"].as_str().map(|t| app_user(t).is_ok())
        );
    });
    c.batch_execute("REVOKE authenticated FROM app_user")
        .unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// Class 3: the validator puts the database's name into the audience as it is, while a
/// database audience is registered with the name percent-encoded (resource::database). A
/// database literally named `pct%20db` then has the audience of the database `pct db`: a token
/// for one opens the other.
#[test]
fn a_database_named_like_an_encoded_name_is_not_another_databases_audience() {
    let mut c = admin("app");
    let _ = c.batch_execute(r#"CREATE DATABASE "pct db""#);
    let _ = c.batch_execute(r#"CREATE DATABASE "pct%20db""#);
    let aud = "postgres://127.0.0.1/pct%20db"; // the one spelling of database "pct db"
    c.query_one(
        "SELECT oauth.add_resource($1, 'The pct db database', ARRAY['db:login'])",
        &[&aud],
    )
    .unwrap();
    let (_, claims) = our_session(&mut c, &fresh_user("pct"));
    let tokens = device_tokens(&mut c, &allowed_client(), &claims, json!({"resource": aud}));
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_parts(token).1["aud"], aud);
    assert_refused(
        sign_in("pct%20db", "app_user", token),
        "the token of database \"pct db\" at database \"pct%20db\"",
    );
}

/// The other side of the same spelling: the database the audience was registered for, as
/// resource::database requires it be spelt, never signs in (a refusal, not a hole).
#[test]
fn a_database_whose_name_needs_encoding_signs_in_with_its_registered_audience() {
    let mut c = admin("app");
    let _ = c.batch_execute(r#"CREATE DATABASE "pct db""#);
    let aud = "postgres://127.0.0.1/pct%20db";
    c.query_one(
        "SELECT oauth.add_resource($1, 'The pct db database', ARRAY['db:login'])",
        &[&aud],
    )
    .unwrap();
    let (_, claims) = our_session(&mut c, &fresh_user("pct-ok"));
    let tokens = device_tokens(&mut c, &allowed_client(), &claims, json!({"resource": aud}));
    sign_in(
        "pct db",
        "app_user",
        tokens["access_token"].as_str().unwrap(),
    )
    .expect("the database \"pct db\" with its registered audience signs in");
}

/// Class 1: a DPoP-bound access token (cnf.jkt) is worth nothing without its key everywhere
/// else; OAUTHBEARER carries no proof, so it must not be a bearer credential here.
#[test]
fn a_dpop_bound_access_token_is_not_a_bearer_credential_at_sign_in() {
    let mut c = admin("app");
    let (_, claims) = our_session(&mut c, &fresh_user("dpop"));
    let client = allowed_client();
    let form = json!({"client_id": client, "scope": "openid db:login"});
    let started = json(
        &mut c,
        "SELECT oauth.device_authorization($1, NULL)",
        &[&form],
    );
    let user_code = started["user_code"].as_str().unwrap().to_string();
    let approved = as_user(&mut c, &claims, |tx| {
        let shown: Value = tx
            .query_one("SELECT oauth.authorization($1)", &[&user_code])
            .unwrap()
            .get(0);
        let aid = shown["authorization_id"].as_str().unwrap().to_string();
        let d: Value = tx
            .query_one("SELECT oauth.consent($1, true)", &[&aid])
            .unwrap()
            .get(0);
        d
    });
    assert_eq!(approved["approved"], true);
    let key = DpopKey::new();
    let token_url: String = c
        .query_one("SELECT oauth.metadata()->>'token_endpoint'", &[])
        .unwrap()
        .get(0);
    let proof = key.proof("POST", &token_url);
    let (body, status) = status_of(
        &mut c,
        "SELECT oauth.token($1, NULL, $2)",
        &[
            &json!({"grant_type": DEVICE, "device_code": started["device_code"], "client_id": client}),
            &proof,
        ],
    );
    let token = body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{status} {body}"));
    assert_eq!(body["token_type"], "DPoP", "{body}");
    assert!(jwt_parts(token).1["cnf"]["jkt"].is_string());
    assert_refused(
        app_user(token),
        "a DPoP-bound token presented as a bearer token",
    );
}

/// Crash safety: malformed tokens and claims of ours are refused and the server stays up.
#[test]
fn malformed_tokens_and_claims_are_refused_without_harm() {
    let mut c = admin("app");
    let (_, tokens) = signed_in_user(&mut c, "malformed");
    let access = tokens["access_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(access);
    let mut cases: Vec<(String, String)> = vec![
        (
            "huge".into(),
            format!(
                "{}.{}.{}",
                "a".repeat(20000),
                "b".repeat(20000),
                "c".repeat(20000)
            ),
        ),
        ("dots only".into(), "...".into()),
        ("empty parts".into(), "..".into()),
    ];
    let mut with = |what: &str, f: &dyn Fn(&mut Value)| {
        let mut cl = claims.clone();
        f(&mut cl);
        cases.push((what.into(), signed_by_us(&mut c, header.clone(), &cl)));
    };
    with("aud a number", &|v| v["aud"] = json!(5));
    with("aud an object", &|v| {
        v["aud"] = json!({"postgres://127.0.0.1/app": true})
    });
    with("aud nested array", &|v| v["aud"] = json!([[APP]]));
    with("scope an array", &|v| {
        v["scope"] = json!(["openid", "db:login"])
    });
    with("no sub", &|v| {
        v.as_object_mut().unwrap().remove("sub");
    });
    with("sub a number", &|v| v["sub"] = json!(12));
    with("sub with NUL", &|v| {
        let s = format!("{}\u{0}x", v["sub"].as_str().unwrap());
        v["sub"] = json!(s)
    });
    with("no session_id", &|v| {
        v.as_object_mut().unwrap().remove("session_id");
    });
    with("no exp", &|v| {
        v.as_object_mut().unwrap().remove("exp");
    });
    with("exp a string", &|v| v["exp"] = json!("9999999999"));
    with("client_id of another case", &|v| {
        let cid = v["client_id"].as_str().unwrap().to_uppercase();
        v["client_id"] = json!(cid)
    });
    for (what, token) in cases {
        assert_refused(app_user(&token), &what);
    }
    // Claims of ours the server never writes: whatever the decision, no harm.
    let mut act = json!({"sub": "x"});
    for _ in 0..100 {
        act = json!({"sub": "x", "act": act});
    }
    let mut cl = claims.clone();
    cl["act"] = act;
    let t = signed_by_us(&mut c, header.clone(), &cl);
    eprintln!("act nested 100 deep: signs in: {}", app_user(&t).is_ok());
    for iat in [i64::MAX, i64::MIN, -1] {
        let mut cl = claims.clone();
        cl["iat"] = json!(iat);
        let t = signed_by_us(&mut c, header.clone(), &cl);
        eprintln!("iat {iat}: signs in: {}", app_user(&t).is_ok());
    }
    // The deeply nested token (beyond serde_json's recursion limit) and the server still serves.
    let mut deep = String::from("1");
    for _ in 0..200 {
        deep = format!("[{deep}]");
    }
    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
    let raw = format!(
        "{}.{}.{}",
        b64(&header.to_string()),
        b64(&format!(r#"{{"x":{deep}}}"#)),
        "AA"
    );
    assert_refused(app_user(&raw), "nesting beyond the parser's limit");
    app_user(access).expect("the server still signs in the genuine token");
}

/// No refusal says why to the client: every refusal is the same message and challenge.
#[test]
fn every_refusal_looks_the_same_to_the_client() {
    let mut c = admin("app");
    let (_, tokens) = signed_in_user(&mut c, "leak");
    let access = tokens["access_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(access);
    let mut expired = claims.clone();
    expired["exp"] = json!(claims["iat"].as_i64().unwrap() - 120);
    let mut other_client = claims.clone();
    other_client["client_id"] = json!("nobody");
    let mut no_family = claims.clone();
    no_family["session_id"] = json!("00000000-0000-0000-0000-000000000000");
    no_family["iat"] = json!(claims["iat"].as_i64().unwrap() - 60);
    let refusals: Vec<_> = [
        ("garbage", "x.y.z".to_string()),
        ("expired", signed_by_us(&mut c, header.clone(), &expired)),
        (
            "client",
            signed_by_us(&mut c, header.clone(), &other_client),
        ),
        ("family", signed_by_us(&mut c, header.clone(), &no_family)),
        ("id token", tokens["id_token"].as_str().unwrap().to_string()),
    ]
    .into_iter()
    .map(|(what, t)| (what, app_user(&t).err().expect(what)))
    .collect();
    // A valid token for a role the map does not give.
    let wrong_role = sign_in("app", "postgres", access).err().expect("postgres");
    let first = &refusals[0].1;
    for (what, e) in refusals.iter().chain([("role", wrong_role)].iter()) {
        assert_eq!(e.code, first.code, "{what}");
        assert_eq!(
            e.message.replace("\"postgres\"", "\"app_user\""),
            first.message,
            "{what}"
        );
        assert_eq!(e.challenge, first.challenge, "{what}");
    }
}
