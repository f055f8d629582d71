//! The trust model, tried as an attacker would: each test is one attack that worked before
//! issue 12 and must not. Typed tokens (an ID token is never a session or an access token),
//! machine tokens that are not users, consents that cover resources, user-code limits that no
//! spelling escapes, withdrawn consent that leaves nothing redeemable, the OIDC prompt rules,
//! offline_access, hooks and claims functions run only for trusted owners, and installs whose
//! default privileges do not leak.

use oauth_server_e2e::*;
use serde_json::{json, Value};

fn session(c: &mut postgres::Client, sub: &str, claims: Value) -> String {
    c.query_one("SELECT oauth.issue_session_token($1, $2)", &[&sub, &claims])
        .unwrap()
        .get(0)
}

/// A role of this cluster (roles are cluster-wide), created once.
fn role(db: &TestDb, name: &str, attrs: &str) {
    db.connect()
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {name} {attrs}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ))
        .unwrap();
}

fn now(c: &mut postgres::Client) -> i64 {
    c.query_one("SELECT floor(extract(epoch FROM now()))::bigint", &[])
        .unwrap()
        .get(0)
}

#[test]
fn an_id_token_is_never_a_session_or_an_access_token() {
    let db = TestDb::new("idtoken");
    let mut c = db.connect();
    let attacker = create_client(&mut c, &[REDIRECT], "confidential");
    let other = create_client(&mut c, &[REDIRECT], "confidential");
    // The victim signs in to the attacker's app with plain openid, and also uses another app.
    let t = tokens(&mut c, &attacker, "openid", "victim");
    tokens(&mut c, &other, "openid email", "victim");
    let id_token = t["id_token"].as_str().unwrap().to_string();
    let access_token = t["access_token"].as_str().unwrap().to_string();
    let (_, id_claims) = jwt_parts(&id_token);

    // The attacker's new request for everything, approved with the victim's ID token...
    let aid = pending(
        &mut c,
        &auth_params(&attacker, REDIRECT, "openid email profile"),
    );
    for sql in [
        "SELECT oauth.consent($1, true, $2)",
        "SELECT oauth.authorization($1, $2)",
    ] {
        let r = json(&mut c, sql, &[&aid, &id_token]);
        assert_eq!(r["error"], "access_denied", "{sql}: {r}");
        assert!(r.get("redirect_to").is_none(), "{r}");
    }
    // ...or with its claims, as PostgREST configured with our JWKS would set them.
    let out = call_as(&mut c, &id_claims, "SELECT oauth.consent($1, true)", &aid);
    assert_eq!(out["error"], "access_denied", "{out}");
    // The victim's grants can be neither listed nor revoked with it.
    let r = json(&mut c, "SELECT oauth.grants($1)", &[&id_token]);
    assert_eq!(r["error"], "access_denied", "{r}");
    let r = json(
        &mut c,
        "SELECT oauth.revoke_grant($1, $2)",
        &[&other.id, &id_token],
    );
    assert_eq!(r["error"], "access_denied", "{r}");
    let listed = as_user(&mut c, &id_claims, |tx| {
        tx.query_one("SELECT oauth.grants()", &[])
            .unwrap()
            .get::<_, Value>(0)
    });
    assert_eq!(listed["error"], "access_denied", "{listed}");
    let revoked = call_as(
        &mut c,
        &id_claims,
        "SELECT oauth.revoke_grant($1)",
        &other.id,
    );
    assert_eq!(revoked["error"], "access_denied", "{revoked}");
    let victim_session = session(&mut c, "victim", json!({}));
    let g = json(&mut c, "SELECT oauth.grants($1)", &[&victim_session]);
    assert_eq!(g.as_array().unwrap().len(), 2, "{g}");
    // No verifier takes it: not verify_session, not verify (42501: genuine, but of the wrong
    // kind), not userinfo, not introspection.
    for sql in ["SELECT oauth.verify_session($1)", "SELECT oauth.verify($1)"] {
        assert_eq!(
            sqlstate(&mut c, &sql.replace("$1", &format!("'{id_token}'"))),
            "42501",
            "{sql}"
        );
    }
    let u = json(&mut c, "SELECT oauth.userinfo($1)", &[&id_token]);
    assert_eq!(u["error"], "invalid_token", "{u}");
    let form = json!({"token": id_token});
    let i = json(
        &mut c,
        "SELECT oauth.introspect($1, $2)",
        &[&form, &basic_header(&attacker)],
    );
    assert_eq!(i["active"], false, "{i}");
    // RLS sees no user behind ID token claims.
    let uid = as_user(&mut c, &id_claims, |tx| {
        tx.query_one("SELECT oauth.uid()", &[])
            .unwrap()
            .get::<_, Option<String>>(0)
    });
    assert_eq!(uid, None);

    // The other kinds stay in their lanes too: an access token is no session, a session no
    // access token.
    assert_eq!(
        sqlstate(
            &mut c,
            &format!("SELECT oauth.verify_session('{access_token}')")
        ),
        "42501"
    );
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify('{victim_session}')")),
        "42501"
    );
    let u = json(&mut c, "SELECT oauth.userinfo($1)", &[&victim_session]);
    assert_eq!(u["error"], "invalid_token", "{u}");
    // A session cannot be minted with the marks of another kind.
    for mark in ["token_use", "azp", "at_hash", "nonce", "client_id", "scope"] {
        assert_eq!(
            sqlstate(
                &mut c,
                &format!("SELECT oauth.issue_session_token('x', '{{\"{mark}\": \"session\"}}')")
            ),
            "22023",
            "{mark}"
        );
    }
    // A session from an older release (signed by us, but no token_use) is of no kind.
    let legacy = as_user(
        &mut c,
        &json!({"sub": "victim", "iss": "http://localhost:8080", "role": "authenticated"}),
        |tx| {
            tx.query_one("SELECT oauth.consent($1, true)", &[&aid])
                .unwrap()
                .get::<_, Value>(0)
        },
    );
    assert_eq!(legacy["error"], "access_denied", "{legacy}");
    // The real session works.
    let d = json(
        &mut c,
        "SELECT oauth.consent($1, true, $2)",
        &[&aid, &victim_session],
    );
    assert!(d["redirect_to"].as_str().unwrap().contains("code="), "{d}");
    // What told them apart: each kind says what it is.
    assert_eq!(id_claims["token_use"], "id");
}

#[test]
fn anonymous_registration_cannot_mint_machine_tokens() {
    let db = TestDb::new("anonreg");
    db.set("dynamic_registration", "on");
    let mut c = db.connect();
    for grants in [
        json!(["client_credentials"]),
        json!([
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:device_code"
        ]),
        json!(["authorization_code", "client_credentials"]),
    ] {
        let md = json!({"redirect_uris": [REDIRECT], "grant_types": grants});
        let (r, status) = status_of(&mut c, "SELECT oauth.register_client($1)", &[&md]);
        assert_eq!(r["error"], "invalid_client_metadata", "{grants}: {r}");
        assert_eq!(status, "400");
    }
    let md = json!({"redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"]});
    let (r, status) = status_of(&mut c, "SELECT oauth.register_client($1)", &[&md]);
    assert_eq!(status, "201", "{r}");

    // Where the DBA allows machines, their tokens are not signed-in users.
    db.set(
        "registration_grant_types",
        "authorization_code,refresh_token,client_credentials",
    );
    let mut c = db.connect();
    let md = json!({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]});
    let (r, status) = status_of(&mut c, "SELECT oauth.register_client($1)", &[&md]);
    assert_eq!(status, "201", "{r}");
    let machine = TestClient::from_json(&r);
    let form = json!({"grant_type": "client_credentials"});
    let t = json(
        &mut c,
        "SELECT oauth.token($1, $2)",
        &[&form, &basic_header(&machine)],
    );
    let claims = json(
        &mut c,
        "SELECT oauth.verify($1)",
        &[&t["access_token"].as_str().unwrap()],
    );
    assert_eq!(claims["role"], "anon", "{claims}");
    assert_ne!(claims["role"], "authenticated");
    // RLS sees the client, and no user, behind a machine's token.
    let (uid, cid) = as_user(&mut c, &claims, |tx| {
        let r = tx
            .query_one("SELECT oauth.uid(), oauth.client_id()", &[])
            .unwrap();
        (r.get::<_, Option<String>>(0), r.get::<_, Option<String>>(1))
    });
    assert_eq!((uid, cid), (None, Some(machine.id.clone())));
    // A machine role equal to the user role is a configuration error, not a user token.
    db.set("client_credentials_role", "authenticated");
    let mut c = db.connect();
    let err = c
        .query_one(
            "SELECT oauth.token($1, $2)",
            &[&form, &basic_header(&machine)],
        )
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "55000", "{err}");
    db.set("client_credentials_role", "oauth_machine");
    let mut c = db.connect();
    let t = json(
        &mut c,
        "SELECT oauth.token($1, $2)",
        &[&form, &basic_header(&machine)],
    );
    let (_, claims) = jwt_parts(t["access_token"].as_str().unwrap());
    assert_eq!(claims["role"], "oauth_machine");
}

#[test]
fn consent_to_one_resource_does_not_approve_another() {
    let db = TestDb::new("resconsent");
    let mut c = db.connect();
    for r in ["https://api-one.example", "https://api-two.example"] {
        c.execute("SELECT oauth.add_resource($1)", &[&r]).unwrap();
    }
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let with_resources = |rs: &[&str]| {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p["resource"] = json!(rs);
        p
    };
    let user = session(&mut c, "alice", json!({}));
    let one = pending(&mut c, &with_resources(&["https://api-one.example"]));
    let d = json(&mut c, "SELECT oauth.consent($1, true, $2)", &[&one, &user]);
    assert!(d["redirect_to"].as_str().unwrap().contains("code="), "{d}");
    // Same client, same scopes, another API: the user is asked.
    let two = pending(&mut c, &with_resources(&["https://api-two.example"]));
    let d = json(&mut c, "SELECT oauth.authorization($1, $2)", &[&two, &user]);
    assert!(d.get("redirect_to").is_none(), "auto-approved: {d}");
    assert_eq!(d["resources"], json!(["https://api-two.example"]));
    // Nor is a request naming no resource: its tokens would be for the default audience (the
    // PostgREST API), which the user never approved either.
    let default_audience = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&default_audience, &user],
    );
    assert!(d.get("redirect_to").is_none(), "auto-approved: {d}");
    // The same API again is covered.
    let again = pending(&mut c, &with_resources(&["https://api-one.example"]));
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&again, &user],
    );
    assert!(d["redirect_to"].as_str().unwrap().contains("code="), "{d}");
    // Approving the second API adds it; both together are then covered.
    json(&mut c, "SELECT oauth.consent($1, true, $2)", &[&two, &user]);
    let both = pending(
        &mut c,
        &with_resources(&["https://api-one.example", "https://api-two.example"]),
    );
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&both, &user],
    );
    assert!(d["redirect_to"].as_str().unwrap().contains("code="), "{d}");
    let g = json(&mut c, "SELECT oauth.grants($1)", &[&user]);
    assert_eq!(
        g[0]["resources"],
        json!(["https://api-one.example", "https://api-two.example"]),
        "{g}"
    );
}

fn device_code(c: &mut postgres::Client, client: &TestClient) -> (String, String) {
    let form = json!({"scope": "openid"});
    let d = json(
        c,
        "SELECT oauth.device_authorization($1, $2)",
        &[&form, &basic_header(client)],
    );
    (
        d["user_code"].as_str().unwrap().to_string(),
        d["device_code"].as_str().unwrap().to_string(),
    )
}

fn device_client(c: &mut postgres::Client) -> TestClient {
    let v = json(
        c,
        "SELECT oauth.create_client('TV', ARRAY[]::text[], 'confidential',
                grant_types => ARRAY['urn:ietf:params:oauth:grant-type:device_code'])",
        &[],
    );
    TestClient::from_json(&v)
}

/// `authorization(code)` as the user of `claims`: (body, status).
fn look_up(c: &mut postgres::Client, claims: &Value, code: &str) -> (Value, String) {
    as_user(c, claims, |tx| {
        let b: Value = tx
            .query_one("SELECT oauth.authorization($1)", &[&code])
            .unwrap()
            .get(0);
        let s: String = tx
            .query_one("SELECT current_setting('response.status', true)", &[])
            .unwrap()
            .get(0);
        (b, s)
    })
}

#[test]
fn user_code_guessing_is_limited_in_the_database_whatever_the_spelling() {
    let db = TestDb::new("usercodes");
    let mut c = db.connect();
    let tv = device_client(&mut c);
    let (code, _) = device_code(&mut c, &tv);
    let shown = format!("{}-{}", &code[..4], &code[4..]);
    // Wrong codes in every spelling count, padded ones too (the front once skipped those).
    let wrong = [
        "BCDF-GHJK",
        "bcdf ghjk",
        "BCDF-GHJK------------",
        // An authorization id's length, but not its shape: a user code, counted as one.
        "BCDFGHJK-----------------------------------",
        "nonsense",
    ];
    let mallory = user("mallory");
    for w in &wrong {
        let (b, s) = look_up(&mut c, &mallory, w);
        assert_eq!(
            (b["error"].as_str(), s.as_str()),
            (Some("not_found"), "404"),
            "{w}: {b}"
        );
    }
    // The budget (5 per 10 minutes) is spent: even the right code is refused to this user.
    let (b, s) = look_up(&mut c, &mallory, &shown);
    assert_eq!(
        (b["error"].as_str(), s.as_str()),
        (Some("slow_down"), "429"),
        "{b}"
    );
    // A 43-character padding has an authorization id's length but not its shape (an id has
    // ~41 letters and digits): it is read as the user code it spells, by the one rule the
    // front shares (oauth_core's secret::is_authorization_id), and so counted like any other.
    let padded_to_id = format!("{code}{}", "-".repeat(43 - code.len()));
    let (b, _) = look_up(&mut c, &user("alice"), &padded_to_id);
    assert_eq!(b["device"], true, "{b}");
    // Another user, with the right code padded, gets it.
    let (b, _) = look_up(
        &mut c,
        &user("alice"),
        &format!(" {} ", shown.to_lowercase()),
    );
    assert_eq!(b["device"], true, "{b}");

    // Everyone together: past the global budget nobody may try.
    db.set("user_code_failures_per_minute", "6");
    let mut c = db.connect();
    let (b, _) = look_up(&mut c, &user("bob"), "ZZZZ-ZZZZ");
    assert_eq!(b["error"], "not_found", "{b}");
    let (b, s) = look_up(&mut c, &user("carol"), "ZZZZ-ZZZX");
    assert_eq!(
        (b["error"].as_str(), s.as_str()),
        (Some("slow_down"), "429"),
        "{b}"
    );
}

#[test]
fn a_device_request_is_locked_after_too_many_wrong_codes_during_its_life() {
    let db = TestDb::new("lockout");
    db.set("user_code_max_failures", "3");
    let mut c = db.connect();
    let tv = device_client(&mut c);
    let (code, device) = device_code(&mut c, &tv);
    for (i, w) in ["BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD"].iter().enumerate() {
        look_up(&mut c, &user(&format!("guesser{i}")), w);
    }
    // The right code, now: it may have been guessed, so the request ends.
    let (b, s) = look_up(&mut c, &user("owner"), &code);
    assert_eq!(
        (b["error"].as_str(), s.as_str()),
        (Some("access_denied"), "403"),
        "{b}"
    );
    let form = json!({"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device});
    let t = json(
        &mut c,
        "SELECT oauth.token($1, $2)",
        &[&form, &basic_header(&tv)],
    );
    assert_eq!(t["error"], "access_denied", "{t}");
    // A request made after the guesses is not affected.
    c.batch_execute("SELECT pg_sleep(1.1)").unwrap();
    let (code2, _) = device_code(&mut c, &tv);
    let (b, _) = look_up(&mut c, &user("owner"), &code2);
    assert_eq!(b["device"], true, "{b}");
}

#[test]
fn withdrawn_consent_leaves_no_redeemable_code() {
    let db = TestDb::new("withdraw");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let code = get_code(&mut c, &client, REDIRECT, "openid", "alice");
    // And a second request, opened by the user but not decided.
    let open = pending(&mut c, &auth_params(&client, REDIRECT, "openid email"));
    let d = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.authorization($1)",
        &open,
    );
    assert!(d.get("client").is_some(), "{d}");
    let r = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.revoke_grant($1)",
        &client.id,
    );
    assert_eq!(r["revoked"], true, "{r}");
    let t = exchange(&mut c, &client, &code, REDIRECT);
    assert_eq!(t["error"], "invalid_grant", "{t}");
    let d = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.consent($1, true)",
        &open,
    );
    assert_eq!(d["error"], "not_found", "{d}");
    assert_eq!(r["requests_ended"], 2, "{r}");
}

#[test]
fn prompt_none_never_shows_ui_and_returns_the_oidc_error() {
    let db = TestDb::new("promptnone");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let none = |scope: &str| {
        let mut p = auth_params(&client, REDIRECT, scope);
        p["prompt"] = json!("none");
        p
    };
    // The consent page is told, before it has a session, that it must show nothing.
    let r = authorize(&mut c, &none("openid"));
    let to = r["redirect_to"].as_str().unwrap();
    assert_eq!(query_param(to, "prompt").as_deref(), Some("none"), "{to}");
    // No session on the page: login_required goes back to the client, with state and iss.
    let aid = query_param(to, "authorization_id").unwrap();
    let r = json(
        &mut c,
        "SELECT oauth.prompt_none_failed($1, 'login_required')",
        &[&aid],
    );
    let back = r["redirect_to"].as_str().unwrap();
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(
        query_param(back, "error").as_deref(),
        Some("login_required")
    );
    assert_eq!(query_param(back, "state").as_deref(), Some("st-123"));
    assert!(query_param(back, "iss").is_some());
    // A session but no consent yet: consent_required, never the consent screen.
    let aid = pending(&mut c, &none("openid"));
    let d = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.authorization($1)",
        &aid,
    );
    let back = d["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("showed UI: {d}"));
    assert_eq!(
        query_param(back, "error").as_deref(),
        Some("consent_required")
    );
    // Once consented, prompt=none is answered with a code and no UI.
    get_code(&mut c, &client, REDIRECT, "openid", "alice");
    let aid = pending(&mut c, &none("openid"));
    let d = call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.authorization($1)",
        &aid,
    );
    assert!(d["redirect_to"].as_str().unwrap().contains("code="), "{d}");
    // prompt_none_failed ends only prompt=none requests, and only with the OIDC errors.
    let plain = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let r = json(
        &mut c,
        "SELECT oauth.prompt_none_failed($1, 'login_required')",
        &[&plain],
    );
    assert_eq!(r["error"], "not_found", "{r}");
    let aid = pending(&mut c, &none("openid"));
    let r = json(
        &mut c,
        "SELECT oauth.prompt_none_failed($1, 'access_granted')",
        &[&aid],
    );
    assert_eq!(r["error"], "invalid_request", "{r}");
    let r = json(
        &mut c,
        "SELECT oauth.prompt_none_failed($1, 'interaction_required')",
        &[&aid],
    );
    let back = r["redirect_to"].as_str().unwrap();
    assert_eq!(
        query_param(back, "error").as_deref(),
        Some("interaction_required")
    );
    // none with any other value is an error to the client.
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["prompt"] = json!("none login");
    let r = authorize(&mut c, &p);
    let back = r["redirect_to"].as_str().unwrap();
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(
        query_param(back, "error").as_deref(),
        Some("invalid_request")
    );
}

/// The `auth_time` of the ID token the code in `decided`'s redirect redeems for.
fn id_token_auth_time(c: &mut postgres::Client, client: &TestClient, decided: &Value) -> Value {
    let to = decided["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("{decided}"));
    let code = query_param(to, "code").unwrap_or_else(|| panic!("no code in {to}"));
    let tok = exchange(c, client, &code, REDIRECT);
    jwt_parts(tok["id_token"].as_str().unwrap()).1["auth_time"].clone()
}

#[test]
fn prompt_login_and_max_age_need_a_fresh_session_whose_auth_time_the_id_token_carries() {
    let db = TestDb::new("promptlogin");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    get_code(&mut c, &client, REDIRECT, "openid", "alice");
    let t = now(&mut c);
    let stale = session(&mut c, "alice", json!({"auth_time": t - 3600}));
    // prompt=login: a session from before the request is not enough, even with consent.
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["prompt"] = json!("login");
    let r = authorize(&mut c, &p);
    let to = r["redirect_to"].as_str().unwrap();
    assert_eq!(query_param(to, "prompt").as_deref(), Some("login"));
    let aid = query_param(to, "authorization_id").unwrap();
    let (d, status) = status_of(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &stale],
    );
    assert_eq!(
        (d["error"].as_str(), status.as_str()),
        (Some("login_required"), "401"),
        "{d}"
    );
    // A sign-in strictly after the request, in whole seconds: the request is moved back
    // rather than the sign-in ahead (a sign-in in the future is no evidence of one).
    c.execute(
        "UPDATE oauth.authorizations SET created_at = created_at - interval '2 seconds' WHERE id = $1",
        &[&aid],
    )
    .unwrap();
    let fresh_time = now(&mut c);
    let fresh = session(&mut c, "alice", json!({"auth_time": fresh_time}));
    let d = json(
        &mut c,
        "SELECT oauth.consent($1, true, $2)",
        &[&aid, &fresh],
    );
    assert_eq!(id_token_auth_time(&mut c, &client, &d), json!(fresh_time));

    // max_age: the session must have authenticated at most that long ago.
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["max_age"] = json!("60");
    let aid = pending(&mut c, &p);
    let (d, _) = status_of(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &stale],
    );
    assert_eq!(d["error"], "login_required", "{d}");
    let recent_time = now(&mut c) - 10;
    let recent = session(&mut c, "alice", json!({"auth_time": recent_time}));
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &recent],
    );
    assert_eq!(id_token_auth_time(&mut c, &client, &d), json!(recent_time));
    // With prompt=none, a stale session is login_required to the client.
    p["prompt"] = json!("none");
    let aid = pending(&mut c, &p);
    let d = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&aid, &stale],
    );
    let back = d["redirect_to"].as_str().unwrap_or_else(|| panic!("{d}"));
    assert!(back.starts_with(REDIRECT));
    assert_eq!(
        query_param(back, "error").as_deref(),
        Some("login_required")
    );
    // A malformed max_age is the client's error.
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["max_age"] = json!("-5");
    let back = authorize(&mut c, &p)["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request")
    );
}

#[test]
fn offline_access_is_a_standard_scope() {
    let db = TestDb::new("offline");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid offline_access", "alice");
    assert!(t["refresh_token"].is_string(), "{t}");
    assert!(
        t["scope"].as_str().unwrap().contains("offline_access"),
        "{t}"
    );
    // A client with an explicit scope list may still ask for it.
    let v = json(
        &mut c,
        "SELECT oauth.create_client('Strict', ARRAY[$1], 'confidential', ARRAY['openid'])",
        &[&REDIRECT],
    );
    let strict = TestClient::from_json(&v);
    let t = tokens(&mut c, &strict, "openid offline_access", "alice");
    assert!(t["refresh_token"].is_string(), "{t}");
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert!(md["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("offline_access")));
}

#[test]
fn a_hook_or_claims_function_owned_by_an_untrusted_role_is_refused() {
    let db = TestDb::new("hookowner");
    role(&db, "mallory_hook", "NOLOGIN");
    role(&db, "trusted_hook_owner", "NOLOGIN");
    let mut c = db.connect();
    // Mallory owns the hook (she could CREATE OR REPLACE it): it would make her superuser.
    c.batch_execute(
        r#"CREATE FUNCTION public.evil_hook(event jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
             BEGIN ALTER ROLE mallory_hook SUPERUSER; RETURN jsonb_build_object('claims', event->'claims'); END $$;
           ALTER FUNCTION public.evil_hook(jsonb) OWNER TO mallory_hook;
           CREATE FUNCTION public.who_hook(event jsonb) RETURNS jsonb LANGUAGE sql AS $$
             SELECT jsonb_build_object('claims', event->'claims' || jsonb_build_object('ran_as', current_user::text)) $$;
           ALTER FUNCTION public.who_hook(jsonb) OWNER TO trusted_hook_owner;
           CREATE FUNCTION public.evil_claims(event jsonb) RETURNS jsonb LANGUAGE sql AS $$
             SELECT '{"email": "ceo@bank.example", "email_verified": true}'::jsonb $$;
           ALTER FUNCTION public.evil_claims(jsonb) OWNER TO mallory_hook;"#,
    )
    .unwrap();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    db.set("access_token_hook", "public.evil_hook");
    let mut c = db.connect();
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
    assert_eq!(exchange_sqlstate(&mut c, &client, &code), "55000");
    let superuser: bool = c
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory_hook'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!superuser);
    // A trusted owner's hook runs, as that owner, not as the extension's owner.
    db.set("access_token_hook", "public.who_hook");
    db.set("trusted_owners", "trusted_hook_owner");
    let mut c = db.connect();
    let t = exchange(&mut c, &client, &code, REDIRECT);
    let (_, claims) = jwt_parts(t["access_token"].as_str().unwrap());
    assert_eq!(claims["ran_as"], "trusted_hook_owner", "{claims}");
    // The same rule for the user claims function.
    db.set("access_token_hook", "");
    db.set("user_claims_function", "public.evil_claims");
    let mut c = db.connect();
    let code = get_code(&mut c, &client, REDIRECT, "openid email", "u");
    assert_eq!(exchange_sqlstate(&mut c, &client, &code), "55000");
}

#[test]
fn an_auth_users_table_made_by_an_untrusted_role_is_ignored() {
    let db = TestDb::new("authusers");
    role(&db, "mallory_tables", "NOLOGIN");
    let mut c = db.connect();
    let uid = "6f1f0d37-3f7e-4d57-9d7a-3b0f5c7e2a11";
    c.batch_execute(&format!(
        "CREATE SCHEMA auth AUTHORIZATION mallory_tables;
         CREATE TABLE auth.users (id uuid PRIMARY KEY, email text, phone text, email_confirmed_at timestamptz,
             phone_confirmed_at timestamptz, raw_user_meta_data jsonb, updated_at timestamptz);
         INSERT INTO auth.users VALUES ('{uid}', 'ceo@bank.example', NULL, now(), NULL, '{{}}', now());
         ALTER TABLE auth.users OWNER TO mallory_tables;"
    ))
    .unwrap();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    // The user's session says their unverified email; the forged table must not override it.
    let code = get_code(&mut c, &client, REDIRECT, "openid email", uid);
    let t = exchange(&mut c, &client, &code, REDIRECT);
    let (_, id) = jwt_parts(t["id_token"].as_str().unwrap());
    assert_ne!(id["email"], "ceo@bank.example", "{id}");
    let u = json(
        &mut c,
        "SELECT oauth.userinfo($1)",
        &[&t["access_token"].as_str().unwrap()],
    );
    assert_ne!(u["email"], "ceo@bank.example", "{u}");
    // Owned by a superuser (as the real auth schema's owner would be made trusted), it is read.
    c.batch_execute("ALTER TABLE auth.users OWNER TO postgres")
        .unwrap();
    let u = json(
        &mut c,
        "SELECT oauth.userinfo($1)",
        &[&t["access_token"].as_str().unwrap()],
    );
    assert_eq!(u["email"], "ceo@bank.example", "{u}");
    assert_eq!(u["email_verified"], true, "{u}");
}

#[test]
fn default_privileges_of_the_installing_role_do_not_leak() {
    let db = TestDb::new("defprivs");
    role(&db, "reporting_defaults", "LOGIN");
    let mut c = db.connect();
    c.batch_execute(
        "DROP EXTENSION oauth_server CASCADE;
         DROP SCHEMA IF EXISTS oauth CASCADE;
         ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO reporting_defaults;
         ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO reporting_defaults;
         ALTER DEFAULT PRIVILEGES GRANT ALL ON SCHEMAS TO reporting_defaults;
         CREATE EXTENSION oauth_server;
         SELECT oauth.rotate_signing_key();",
    )
    .unwrap();
    let mut r = db.connect_as("reporting_defaults");
    for sql in [
        "SELECT count(*) FROM oauth.signing_keys",
        "SELECT count(*) FROM oauth.clients",
        "DELETE FROM oauth.audit_log",
        "SELECT oauth.create_client('x', ARRAY['https://a.example/cb'], 'confidential')",
        "SELECT oauth.rotate_signing_key()",
        "SELECT oauth.issue_session_token('admin')",
        "CREATE TABLE oauth.trojan (x int)",
    ] {
        assert_eq!(sqlstate(&mut r, sql), "42501", "{sql}");
    }
    // What every role may call still works.
    let md: Value = r.query_one("SELECT oauth.metadata()", &[]).unwrap().get(0);
    assert!(md["issuer"].is_string());
    c.batch_execute(
        "ALTER DEFAULT PRIVILEGES REVOKE ALL ON TABLES FROM reporting_defaults;
                     ALTER DEFAULT PRIVILEGES REVOKE ALL ON FUNCTIONS FROM reporting_defaults;
                     ALTER DEFAULT PRIVILEGES REVOKE ALL ON SCHEMAS FROM reporting_defaults;",
    )
    .unwrap();
}

#[test]
fn rolling_back_or_parallel_guesses_do_not_escape_the_user_code_lockout() {
    let db = TestDb::new("rollback");
    db.set("user_code_max_failures", "3");
    let mut c = db.connect();
    let tv = device_client(&mut c);
    let (code, _) = device_code(&mut c, &tv);
    // A caller that can run SQL rolls back every wrong guess: the rows of the rate limits go,
    // the lockout's counter stays.
    for w in ["BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD"] {
        let mut tx = c.transaction().unwrap();
        tx.execute(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[&user("mallory").to_string()],
        )
        .unwrap();
        let r: Value = tx
            .query_one("SELECT oauth.authorization($1)", &[&w])
            .unwrap()
            .get(0);
        assert_eq!(r["error"], "not_found", "{r}");
        tx.rollback().unwrap();
    }
    let (b, s) = look_up(&mut c, &user("mallory"), &code);
    assert_eq!(
        (b["error"].as_str(), s.as_str()),
        (Some("access_denied"), "403"),
        "{b}"
    );
    // One user's guesses are serialised: while one is in flight, another waits for it.
    let mut first = db.connect();
    let mut tx = first.transaction().unwrap();
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&user("racer").to_string()],
    )
    .unwrap();
    tx.query_one("SELECT oauth.authorization('FFFF-FFFF')", &[])
        .unwrap();
    let mut second = db.connect();
    second.batch_execute("SET lock_timeout = '100ms'").unwrap();
    let mut tx2 = second.transaction().unwrap();
    tx2.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&user("racer").to_string()],
    )
    .unwrap();
    let err = tx2
        .query_one("SELECT oauth.authorization('GGGG-GGGG')", &[])
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "55P03", "{err}");
    tx2.rollback().unwrap();
    tx.commit().unwrap();
}

#[test]
fn approvals_for_two_resources_do_not_combine_into_a_third_grant() {
    let db = TestDb::new("pairs");
    let mut c = db.connect();
    for r in ["https://api-a.example", "https://api-b.example"] {
        c.execute("SELECT oauth.add_resource($1)", &[&r]).unwrap();
    }
    for s in ["read", "write"] {
        c.execute("SELECT oauth.set_scope($1)", &[&s]).unwrap();
    }
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let user = session(&mut c, "alice", json!({}));
    let ask = |c: &mut postgres::Client, scope: &str, resource: &str| {
        let mut p = auth_params(&client, REDIRECT, scope);
        p["resource"] = json!([resource]);
        let aid = pending(c, &p);
        json(c, "SELECT oauth.authorization($1, $2)", &[&aid, &user])
            .as_object()
            .map(|d| (aid, d.contains_key("redirect_to")))
            .unwrap()
    };
    let (a, auto) = ask(&mut c, "read write", "https://api-a.example");
    assert!(!auto);
    json(&mut c, "SELECT oauth.consent($1, true, $2)", &[&a, &user]);
    let (b, auto) = ask(&mut c, "read", "https://api-b.example");
    assert!(!auto);
    json(&mut c, "SELECT oauth.consent($1, true, $2)", &[&b, &user]);
    // write was approved for A only: on B the user is asked.
    assert!(!ask(&mut c, "write", "https://api-b.example").1);
    assert!(ask(&mut c, "write", "https://api-a.example").1);
    assert!(ask(&mut c, "read", "https://api-b.example").1);
    let g = json(&mut c, "SELECT oauth.grants($1)", &[&user]);
    assert_eq!(
        g[0]["scopes_by_audience"],
        json!({"https://api-a.example": ["read", "write"], "https://api-b.example": ["read"]}),
        "{g}"
    );
}

#[test]
fn a_callers_temporary_tables_cannot_stand_in_for_the_hooks() {
    let db = TestDb::new("hooktemp");
    let mut c = db.connect();
    c.batch_execute(
        r#"CREATE TABLE public.client_roles (client_id text, role text);
           CREATE FUNCTION public.role_hook(event jsonb) RETURNS jsonb LANGUAGE sql
             SET search_path = public AS $$
             SELECT jsonb_build_object('claims', event->'claims' || jsonb_build_object('role',
               coalesce((SELECT role FROM client_roles WHERE client_id = event->>'client_id'), 'machine'))) $$;"#,
    )
    .unwrap();
    db.set("access_token_hook", "public.role_hook");
    let mut c = db.connect();
    let v = json(
        &mut c,
        "SELECT oauth.create_client('job', ARRAY[]::text[], 'confidential', grant_types => ARRAY['client_credentials'])",
        &[],
    );
    let machine = TestClient::from_json(&v);
    let form = json!({"grant_type": "client_credentials"});
    let t = json(
        &mut c,
        "SELECT oauth.token($1, $2)",
        &[&form, &basic_header(&machine)],
    );
    assert_eq!(
        jwt_parts(t["access_token"].as_str().unwrap()).1["role"],
        "machine"
    );
    // The caller's own client_roles, found first by the hook's unqualified name.
    c.batch_execute(&format!(
        "CREATE TEMP TABLE client_roles (client_id text, role text);
         INSERT INTO client_roles VALUES ('{}', 'service_role')",
        machine.id
    ))
    .unwrap();
    let err = c
        .query_one(
            "SELECT oauth.token($1, $2)",
            &[&form, &basic_header(&machine)],
        )
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "55000", "{err}");
}

#[test]
fn extreme_or_future_auth_times_are_a_fresh_sign_in_nowhere() {
    let db = TestDb::new("authtime");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    get_code(&mut c, &client, REDIRECT, "openid", "dave");
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["max_age"] = json!("60");
    for t in [
        json!(i64::MIN),
        json!(i64::MAX),
        json!(99_999_999_999_i64),
        json!(now(&mut c) + 3600),
    ] {
        let aid = pending(&mut c, &p);
        let tok = session(&mut c, "dave", json!({"auth_time": t}));
        let (d, status) = status_of(&mut c, "SELECT oauth.authorization($1, $2)", &[&aid, &tok]);
        assert_eq!(
            (d["error"].as_str(), status.as_str()),
            (Some("login_required"), "401"),
            "{t}: {d}"
        );
        let claims = json!({"sub": "dave", "role": "authenticated", "auth_time": t});
        let d = call_as(&mut c, &claims, "SELECT oauth.authorization($1)", &aid);
        assert_eq!(d["error"], "login_required", "{t}: {d}");
    }
    // Supabase Auth sessions are refreshed silently: their sign-in time is in amr, not iat.
    let aid = pending(&mut c, &p);
    let t = now(&mut c);
    let refreshed = json!({"sub": "dave", "role": "authenticated", "iat": t,
                           "amr": [{"method": "password", "timestamp": t - 3600}]});
    let d = call_as(&mut c, &refreshed, "SELECT oauth.authorization($1)", &aid);
    assert_eq!(d["error"], "login_required", "{d}");
}

#[test]
fn a_hook_that_does_not_return_jsonb_is_refused_not_run() {
    let db = TestDb::new("hooktype");
    let mut c = db.connect();
    c.batch_execute(
        "CREATE FUNCTION public.int_hook(jsonb) RETURNS int LANGUAGE sql AS 'SELECT 12345';
         CREATE FUNCTION public.text_hook(jsonb) RETURNS text LANGUAGE sql AS $$SELECT 'hello'$$;
         CREATE FUNCTION public.set_hook(jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$SELECT $1$$;
         CREATE PROCEDURE public.proc_hook(jsonb) LANGUAGE sql AS 'SELECT 1';",
    )
    .unwrap();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    for hook in [
        "public.int_hook",
        "public.text_hook",
        "public.set_hook",
        "public.proc_hook",
    ] {
        db.set("access_token_hook", hook);
        let mut c = db.connect();
        let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
        assert_eq!(exchange_sqlstate(&mut c, &client, &code), "55000", "{hook}");
        // The backend is alive and well.
        let one: i32 = c.query_one("SELECT 1", &[]).unwrap().get(0);
        assert_eq!(one, 1);
    }
}

#[test]
fn a_trusted_issuers_claims_are_judged_alike_as_token_and_as_request_claims() {
    use oauth_server_e2e::stand_in::StandInIssuer;
    let db = TestDb::new("claimspath");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.example");
    let mut options = json!({"audience": "my-spa", "refresh": false});
    options["jwks"] = idp.jwks();
    json(
        &mut c,
        "SELECT oauth.add_issuer($1, $2)",
        &[&idp.issuer, &options],
    );
    let open = StandInIssuer::new("https://open-idp.example");
    let mut options = json!({"refresh": false});
    options["jwks"] = open.jwks();
    json(
        &mut c,
        "SELECT oauth.add_issuer($1, $2)",
        &[&open.issuer, &options],
    );
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let t = stand_in_now();
    let base = |iss: &str, extra: Value| {
        let mut c = json!({"iss": iss, "sub": "alice", "iat": t, "exp": t + 300});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let refused = [
        base(
            &idp.issuer,
            json!({"aud": "my-spa", "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
        ),
        base(&idp.issuer, json!({"aud": "my-spa", "token_use": "access"})),
        base(&idp.issuer, json!({"aud": "my-spa", "azp": "another-app"})),
        base(&idp.issuer, json!({"aud": "another-app"})),
        base(&open.issuer, json!({"aud": "another-app"})),
        base(&open.issuer, json!({"nonce": "n"})),
    ];
    for claims in &refused {
        // As a token...
        let token = if claims["iss"] == json!(idp.issuer) {
            idp.token(claims.clone())
        } else {
            open.token(claims.clone())
        };
        assert_eq!(
            sqlstate(&mut c, &format!("SELECT oauth.verify_session('{token}')")),
            "28000",
            "{claims}"
        );
        // ...and as the claims PostgREST would set after verifying it.
        let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
        let d = call_as(&mut c, claims, "SELECT oauth.authorization($1)", &aid);
        assert_eq!(d["error"], "access_denied", "{claims}: {d}");
        let uid = as_user(&mut c, claims, |tx| {
            tx.query_one("SELECT oauth.uid()", &[])
                .unwrap()
                .get::<_, Option<String>>(0)
        });
        if claims.get("events").is_some() || claims.get("nonce").is_some() {
            assert_eq!(uid, None, "{claims}");
        }
    }
    // The sessions both accept.
    for claims in [
        base(&idp.issuer, json!({"aud": "my-spa"})),
        base(&open.issuer, json!({})),
    ] {
        let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
        let d = call_as(&mut c, &claims, "SELECT oauth.authorization($1)", &aid);
        assert!(d.get("client").is_some(), "{claims}: {d}");
    }
}

fn stand_in_now() -> i64 {
    oauth_server_e2e::stand_in::now()
}
