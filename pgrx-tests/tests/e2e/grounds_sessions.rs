//! Sessions whose grounds changed or never held, on both paths: a session token verified here
//! and claims set as `request.jwt.claims` (PostgREST's, the front's). A trusted issuer's
//! claims are judged by its whole policy whatever they say of themselves, a disabled or
//! unknown issuer's approve nothing, only our own issuer (exactly) with a live `sid` is ours,
//! and issuers compare exactly everywhere. `oauth.revoke_user` is in grounds_revoke_user.rs.

use oauth_server_e2e::stand_in::StandInIssuer;
use oauth_server_e2e::trusted::*;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

/// The issuer the test databases run with (the setting's default).
const OURS: &str = "http://localhost:8080";

/// What `oauth.authorization`, `oauth.consent` and `oauth.grants` answer to `claims` set as
/// `request.jwt.claims`: each one's `error`, or "ok". A client of its own each time, so that
/// no earlier consent approves the request without asking.
fn outcomes(c: &mut Client, claims: &Value) -> [String; 3] {
    let client = create_client(c, &[REDIRECT], "confidential");
    let aid = pending(c, &auth_params(&client, REDIRECT, "openid"));
    let verdict = |v: Value, ok: &str| match v.get("error") {
        Some(e) => e.as_str().unwrap().to_string(),
        None if v.get(ok).is_some() || v.is_array() => "ok".into(),
        None => panic!("neither an error nor {ok}: {v}"),
    };
    let shown = call_as(c, claims, "SELECT oauth.authorization($1)", &aid);
    let consented = call_as(c, claims, "SELECT oauth.consent($1, true)", &aid);
    let listed = as_user(c, claims, |tx| {
        tx.query_one("SELECT oauth.grants()", &[]).unwrap().get(0)
    });
    [
        verdict(shown, "client"),
        verdict(consented, "redirect_to"),
        verdict(listed, ""),
    ]
}

fn all_ok() -> [String; 3] {
    ["ok".into(), "ok".into(), "ok".into()]
}

fn all(error: &str) -> [String; 3] {
    [error.into(), error.into(), error.into()]
}

#[test]
fn a_disabled_issuers_claims_approve_nothing() {
    let db = TestDb::new("gsdisabled");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.grounds.example");
    trust(&mut c, &idp, json!({"audience": "my-spa"}));
    let plain = session_claims(&idp.issuer, "alice", json!({"aud": "my-spa"}));
    let says_session = session_claims(
        &idp.issuer,
        "alice",
        json!({"aud": "my-spa", "token_use": "session"}),
    );
    assert_eq!(outcomes(&mut c, &plain), all_ok());
    assert_eq!(outcomes(&mut c, &says_session), all_ok());
    update_issuer(&mut c, &idp, json!({"enabled": false}));
    // Its token is refused, and so are its claims, whatever they say they are.
    assert_eq!(
        verify_session_sqlstate(&mut c, &idp.token(plain.clone())),
        "28000"
    );
    assert_eq!(outcomes(&mut c, &plain), all("access_denied"));
    assert_eq!(outcomes(&mut c, &says_session), all("access_denied"));
    // Removed, its claims are no trusted issuer's: refused too, not taken as anybody's.
    c.query_one("SELECT oauth.remove_issuer($1)", &[&idp.issuer])
        .unwrap();
    assert_eq!(outcomes(&mut c, &plain), all("access_denied"));
    assert_eq!(outcomes(&mut c, &says_session), all("access_denied"));
}

#[test]
fn claims_saying_they_are_sessions_obey_each_element_of_the_issuers_policy() {
    let db = TestDb::new("gspolicy");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.grounds.example");
    trust(
        &mut c,
        &idp,
        json!({"audience": "my-spa", "required_claims": {"org": "acme"}}),
    );
    let good = json!({"aud": "my-spa", "org": "acme", "token_use": "session"});
    let with = |k: &str, v: Value| {
        let mut extra = good.clone();
        match v {
            Value::Null => {
                extra.as_object_mut().unwrap().remove(k);
            }
            v => extra[k] = v,
        }
        session_claims(&idp.issuer, "alice", extra)
    };
    let violations = [
        ("a required claim missing", with("org", Value::Null)),
        (
            "a required claim of another value",
            with("org", json!("evil")),
        ),
        ("another audience", with("aud", json!("another-app"))),
        ("no audience", with("aud", Value::Null)),
        ("another app's azp", with("azp", json!("another-app"))),
        ("a role not allowed", with("role", json!("service_role"))),
        (
            "an OAuth client's client_id",
            with("client_id", json!("app")),
        ),
    ];
    for (what, violating) in &violations {
        // As a token it is refused...
        assert_eq!(
            verify_session_sqlstate(&mut c, &idp.token(violating.clone())),
            "28000",
            "{what}"
        );
        // ...and as claims PostgREST verified, no code and no tokens either.
        assert_eq!(
            outcomes(&mut c, violating),
            all("access_denied"),
            "{what}: {violating}"
        );
    }
    // The session that keeps the policy passes on both paths, and yields a code.
    let ok = session_claims(&idp.issuer, "alice", good.clone());
    assert_eq!(
        verify_session_sqlstate(&mut c, &idp.token(ok.clone())),
        "ok"
    );
    assert_eq!(outcomes(&mut c, &ok), all_ok());
}

#[test]
fn claims_naming_our_issuer_are_ours_only_with_a_live_sid() {
    let db = TestDb::new("gsours");
    let mut c = db.connect();
    let token = session_token(&mut c, "alice");
    let (_, real) = jwt_parts(&token);
    assert_eq!(real["iss"], OURS);
    // The real session's claims, as PostgREST configured with our keys would set them.
    assert_eq!(outcomes(&mut c, &real), all_ok());
    let session = json!({"token_use": "session", "role": "authenticated"});
    let mut no_sid = session_claims(OURS, "alice", session.clone());
    no_sid.as_object_mut().unwrap().remove("sid");
    let mut unknown_sid = no_sid.clone();
    unknown_sid["sid"] = json!("7d9f4c1e-2b1a-4c8e-9f3d-5a6b7c8d9e0f");
    let mut not_a_uuid = no_sid.clone();
    not_a_uuid["sid"] = json!("anything");
    for forged in [&no_sid, &unknown_sid, &not_a_uuid] {
        assert_eq!(outcomes(&mut c, forged), all("login_required"), "{forged}");
    }
    // Our issuer spelt another way is not ours, and no trusted issuer either.
    for spelling in [
        "http://localhost:8080/",
        "HTTP://LOCALHOST:8080",
        "http://127.0.0.1:8080",
    ] {
        let respelt = session_claims(spelling, "alice", session.clone());
        assert_eq!(
            outcomes(&mut c, &respelt),
            all("access_denied"),
            "{respelt}"
        );
    }
    // An issuer nobody trusts, whatever its claims say.
    let stranger = session_claims("https://stranger.example", "alice", session.clone());
    assert_eq!(outcomes(&mut c, &stranger), all("access_denied"));
    // The real session, once ended, is refused on both paths.
    c.query_one("SELECT oauth.revoke_sessions('alice')", &[])
        .unwrap();
    assert_eq!(outcomes(&mut c, &real), all("login_required"));
    assert_eq!(verify_session_sqlstate(&mut c, &token), "28000");
}

/// The front's path: `request.jwt.claims` set, in the same transaction, to what
/// `oauth.verify_session` returned; then the consent API.
fn as_front(c: &mut Client, token: &str, sql: &str, arg: &str) -> Value {
    let mut tx = c.transaction().unwrap();
    tx.execute(
        "SELECT set_config('request.jwt.claims', oauth.verify_session($1)::text, true)",
        &[&token],
    )
    .unwrap();
    let v: Value = tx.query_one(sql, &[&arg]).unwrap().get(0);
    tx.commit().unwrap();
    v
}

#[test]
fn the_fronts_normalised_claims_pass_once_and_hand_set_ones_are_judged_in_full() {
    let db = TestDb::new("gsfront");
    let mut c = db.connect();
    // Cognito access tokens: client-bound, token_use pinned to "access". Normalising drops
    // client_id and renames token_use, so the normalised claims would fail the policy.
    let cognito =
        StandInIssuer::new("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Gr0unds");
    trust(
        &mut c,
        &cognito,
        json!({"audience": "app-client-1", "audience_claim": "client_id",
               "required_claims": {"token_use": "access"}}),
    );
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let token = session_token_of(
        &cognito,
        "carol",
        json!({"client_id": "app-client-1", "token_use": "access", "username": "carol"}),
    );
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let shown = as_front(&mut c, &token, "SELECT oauth.authorization($1)", &aid);
    assert!(shown.get("client").is_some(), "{shown}");
    let done = as_front(&mut c, &token, "SELECT oauth.consent($1, true)", &aid);
    assert!(
        done["redirect_to"].as_str().unwrap().contains("code="),
        "{done}"
    );
    // The same normalised claims set by hand in another transaction are judged in full, and
    // say token_use "session", which this issuer's policy does not accept.
    let normalised = json(&mut c, "SELECT oauth.verify_session($1)", &[&token]);
    assert_eq!(normalised["token_use"], "session");
    assert_eq!(outcomes(&mut c, &normalised), all("access_denied"));
    // A disabled issuer's token stops the front's path at verification.
    update_issuer(&mut c, &cognito, json!({"enabled": false}));
    assert_eq!(verify_session_sqlstate(&mut c, &token), "28000");
}

#[test]
fn our_own_issuer_cannot_be_trusted_in_any_spelling() {
    let db = TestDb::new("gsrespell");
    db.set("issuer", "https://auth.grounds.example");
    let mut c = db.connect();
    let stand_in = StandInIssuer::new("https://x.example");
    for spelling in [
        "https://auth.grounds.example",
        "https://auth.grounds.example/",
        "https://auth.grounds.example//",
        "HTTPS://AUTH.GROUNDS.EXAMPLE",
        "https://Auth.Grounds.Example/",
        "https://auth.grounds.example:443",
        "https://auth.grounds.example.",
        "https://auth.grounds.example./",
        "https://%61uth.grounds.example",
        "https://auth.grounds.example/./",
        "https://auth.grounds.example/%2e/",
    ] {
        let options = json!({"jwks": stand_in.jwks(), "refresh": false});
        let err = c
            .query_one("SELECT oauth.add_issuer($1, $2)", &[&spelling, &options])
            .expect_err(spelling);
        let db_err = err.as_db_error().unwrap();
        assert_eq!(db_err.code().code(), "22023", "{spelling}");
        assert!(
            db_err.message().contains("own issuer"),
            "{spelling}: {}",
            db_err.message()
        );
    }
    // Other servers on the same host or under it are other issuers.
    for other in [
        "https://auth.grounds.example/tenant",
        "https://login.auth.grounds.example",
    ] {
        let options = json!({"jwks": stand_in.jwks(), "refresh": false});
        c.query_one("SELECT oauth.add_issuer($1, $2)", &[&other, &options])
            .unwrap();
    }
}

#[test]
fn a_trusted_entry_that_became_a_spelling_of_ours_is_refused_where_it_is_used() {
    let db = TestDb::new("gsbecame");
    let mut c = db.connect();
    // Trusted while our issuer was another; then the DBA set our issuer to its name minus `/`.
    let look_alike = StandInIssuer::new("https://auth.became.example/");
    trust(
        &mut c,
        &look_alike,
        json!({"allowed_roles": ["authenticated", "ops_admin"]}),
    );
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE ops_admin NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .unwrap();
    db.set("issuer", "https://auth.became.example");
    db.set("admin_session_roles", "ops_admin");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let session = session_claims(&look_alike.issuer, "mallory", json!({"role": "ops_admin"}));
    let token = look_alike.token(session.clone());
    // Not verified as a session, not accepted as claims, not an administrator's.
    assert_eq!(verify_session_sqlstate(&mut c, &token), "55000");
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let mut tx = c.transaction().unwrap();
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&session.to_string()],
    )
    .unwrap();
    let err = tx
        .query_one("SELECT oauth.authorization($1)", &[&aid])
        .expect_err("a spelling of our issuer is no trusted issuer");
    assert_eq!(err.code().unwrap().code(), "55000");
    drop(tx);
    let admin = c.query_one("SELECT oauth.admin_clients($1, 'list')", &[&token]);
    assert!(admin.is_err(), "a look-alike of ours administered");
    // And it cannot be updated as it stands.
    assert_eq!(
        sqlstate(
            &mut c,
            &format!(
                "SELECT oauth.update_issuer('{}', '{{\"leeway\": 5}}')",
                look_alike.issuer
            )
        ),
        "22023"
    );
}

#[test]
fn admin_entries_name_their_issuer_exactly() {
    let db = TestDb::new("gsadmin");
    let mut c = db.connect();
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE ops_admin NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .unwrap();
    // An issuer spelt with a trailing slash is another issuer than the one without.
    let slashed = StandInIssuer::new("https://idp.admin-exact.example/");
    trust(
        &mut c,
        &slashed,
        json!({"allowed_roles": ["authenticated", "ops_admin"]}),
    );
    let token = session_token_of(&slashed, "their-admin", json!({"role": "ops_admin"}));
    let list = |db: &TestDb| {
        db.connect()
            .query_one("SELECT oauth.admin_clients($1, 'list')", &[&token])
            .map(|_| ())
            .map_err(|e| e.code().unwrap().code().to_string())
    };
    db.set(
        "admin_session_roles",
        "https://idp.admin-exact.example#ops_admin",
    );
    assert_eq!(list(&db), Err("42501".into()));
    db.set(
        "admin_session_roles",
        "https://idp.admin-exact.example/#ops_admin",
    );
    assert_eq!(list(&db), Ok(()));
    // A bare role is our own issuer's, exactly.
    db.set("admin_session_roles", "ops_admin");
    assert_eq!(list(&db), Err("42501".into()));
}
