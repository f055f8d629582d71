//! The threats of the OAuth 2.0 Security Best Current Practice (RFC 9700) and OAuth 2.1, one
//! test per threat, named `rfc9700_<section>_<threat>`, each trying the attack its name says
//! and checking that nothing got through. Threats covered elsewhere (concurrent code
//! redemption, privilege boundaries, consent with access tokens) keep their own files; the
//! README's table maps every threat to its tests.

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

fn setup(tag: &str) -> (TestDb, Client, TestClient) {
    let db = TestDb::new(tag);
    let mut c = db.connect();
    let client = create_client(
        &mut c,
        &[REDIRECT, "http://127.0.0.1/callback"],
        "confidential",
    );
    (db, c, client)
}

fn authorize_with(c: &mut Client, client: &TestClient, changes: Value) -> Value {
    let mut p = auth_params(client, REDIRECT, "openid");
    for (k, v) in changes.as_object().unwrap() {
        p[k] = v.clone();
    }
    authorize(c, &p)
}

/// RFC 9700 §4.1: no redirect to anything but a registered URI, whatever the disguise.
#[test]
fn rfc9700_4_1_open_redirector_unregistered_uris_never_redirect() {
    let (_db, mut c, client) = setup("t_redirect");
    let variants = [
        "https://app.example/callback/",               // trailing slash
        "https://app.example/callback?x=1",            // added query
        "https://app.example/callback#frag",           // fragment
        "HTTPS://APP.EXAMPLE/callback",                // case
        "https://App.example/callback",                // host case
        "https://app.example/Callback",                // path case
        "https://app.example/callback%2F..%2Fevil",    // encoded traversal
        "https://app.example/callback/../evil",        // path traversal
        "https://app.example/%63allback",              // encoded character
        "https://app.example@evil.example/callback",   // userinfo
        "https://evil.example@app.example/callback",   // userinfo on the right host
        "https://app.example.evil.example/callback",   // suffix domain
        "https://аpp.example/callback",                // IDN homograph (Cyrillic а)
        "https://xn--pp-8cd.example/callback",         // its punycode
        "https://app.example:8443/callback",           // port on a non-loopback host
        "http://app.example/callback",                 // scheme downgrade
        "//evil.example/callback",                     // scheme-relative
        "https:/app.example/callback",                 // malformed
        "https://app.example\\@evil.example/callback", // backslash
        "http://127.0.0.1.evil.example/callback",      // loopback-looking domain
        "http://localhost@evil.example/callback",      // loopback userinfo
        "javascript:alert(1)//https://app.example/callback",
    ];
    for v in variants {
        let r = authorize_with(&mut c, &client, json!({ "redirect_uri": v }));
        assert!(r.get("redirect_to").is_none(), "{v:?} redirected: {r}");
        assert!(r.get("error").is_some(), "{v:?}: {r}");
    }
    // Loopback: any port, but nothing else may differ.
    let ok = authorize_with(
        &mut c,
        &client,
        json!({"redirect_uri": "http://127.0.0.1:51004/callback"}),
    );
    assert!(ok["redirect_to"].is_string());
    for v in [
        "http://127.0.0.1:51004/callback2",
        "http://127.0.0.2:51004/callback",
    ] {
        let r = authorize_with(&mut c, &client, json!({ "redirect_uri": v }));
        assert!(r.get("redirect_to").is_none(), "{v}");
    }
}

/// RFC 9700 §4.5: an authorization code injected into another client's or another PKCE
/// session's token request is useless.
#[test]
fn rfc9700_4_5_code_injection_is_useless_without_the_verifier_and_the_client() {
    let (_db, mut c, client) = setup("t_inject");
    let attacker = create_client(&mut c, &[REDIRECT], "confidential");
    let code = get_code(&mut c, &client, REDIRECT, "openid", "victim");
    // Another client (with its own valid credentials) presents the victim's code.
    assert_eq!(
        exchange(&mut c, &attacker, &code, REDIRECT)["error"],
        "invalid_grant"
    );
    // The right client, but the attacker's PKCE verifier.
    let r = json(
        &mut c,
        "SELECT oauth.exchange_code($1, $2, $3, $4, $5)",
        &[
            &code,
            &"attacker-verifier-attacker-verifier-attacker-ver",
            &REDIRECT,
            &client.id,
            &client.secret,
        ],
    );
    assert_eq!(r["error"], "invalid_grant");
    // The legitimate redemption still works once; the replay then revokes it (§4.2.4).
    let t = exchange(&mut c, &client, &code, REDIRECT);
    assert!(t["access_token"].is_string());
    assert_eq!(
        exchange(&mut c, &client, &code, REDIRECT)["error"],
        "invalid_grant"
    );
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify('{at}')")),
        "28000"
    );
}

/// RFC 9700 §2.1.1 / OAuth 2.1 §4.1.1: PKCE cannot be downgraded or skipped.
#[test]
fn rfc9700_2_1_1_pkce_downgrade_is_refused() {
    let (_db, mut c, client) = setup("t_pkce");
    let cases = [
        json!({"code_challenge": null}),
        json!({"code_challenge_method": null}),
        json!({"code_challenge_method": "plain"}),
        json!({"code_challenge_method": "s256"}),
        json!({"code_challenge": "short"}),
        json!({"code_challenge": "A".repeat(42)}),
        json!({"code_challenge": "A".repeat(44)}),
        json!({"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c+"}),
        json!({"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="}),
    ];
    for change in cases {
        let r = authorize_with(&mut c, &client, change.clone());
        let to = r["redirect_to"].as_str().unwrap_or_default();
        assert!(
            !to.contains("authorization_id"),
            "{change} was accepted: {r}"
        );
    }
    // At the token endpoint: a verifier of the wrong length or charset never matches.
    let code = get_code(&mut c, &client, REDIRECT, "openid", "u");
    for verifier in [
        "",
        "x",
        &"a".repeat(42),
        &"a".repeat(129),
        "dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ] {
        let r = json(
            &mut c,
            "SELECT oauth.exchange_code($1, $2, $3, $4, $5)",
            &[&code, &verifier, &REDIRECT, &client.id, &client.secret],
        );
        assert!(r.get("error").is_some(), "{verifier:?}: {r}");
    }
}

/// RFC 9700 §4.4 (mix-up) and §4.7 (CSRF): every authorization response names our issuer and
/// returns the client's state exactly, on success and on error.
#[test]
fn rfc9700_4_4_and_4_7_mix_up_and_csrf_iss_and_state_in_every_response() {
    let (_db, mut c, client) = setup("t_mixup");
    let state = "st-<>&\"'%20 ünïcode";
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["state"] = json!(state);
    let aid = pending(&mut c, &p);
    let ok = call_as(&mut c, &user("u"), "SELECT oauth.consent($1, true)", &aid);
    let to = ok["redirect_to"].as_str().unwrap();
    assert_eq!(
        query_param(to, "iss").as_deref(),
        Some("http://localhost:8080")
    );
    assert_eq!(query_param(to, "state").as_deref(), Some(state));
    let aid = pending(&mut c, &p);
    let denied = call_as(&mut c, &user("u"), "SELECT oauth.consent($1, false)", &aid);
    let to = denied["redirect_to"].as_str().unwrap();
    assert_eq!(query_param(to, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        query_param(to, "iss").as_deref(),
        Some("http://localhost:8080")
    );
    assert_eq!(query_param(to, "state").as_deref(), Some(state));
    p["scope"] = json!("not-a-scope");
    let err = authorize(&mut c, &p);
    let to = err["redirect_to"].as_str().unwrap();
    assert_eq!(
        query_param(to, "iss").as_deref(),
        Some("http://localhost:8080")
    );
    assert_eq!(query_param(to, "state").as_deref(), Some(state));
}

/// RFC 9700 §4.14: refresh tokens are sender-constrained to their client and single use.
#[test]
fn rfc9700_4_14_refresh_token_replay_and_cross_client_use() {
    let (_db, mut c, client) = setup("t_refresh");
    let other = create_client(&mut c, &[REDIRECT], "confidential");
    let t = tokens(&mut c, &client, "openid", "u");
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&mut c, &other, rt, None)["error"], "invalid_grant");
    let r = refresh(&mut c, &client, rt, None);
    let newer = r["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(refresh(&mut c, &client, rt, None)["error"], "invalid_grant");
    // The replay revoked the family: the newer token is dead too.
    assert_eq!(
        refresh(&mut c, &client, &newer, None)["error"],
        "invalid_grant"
    );
    // And the scope cannot widen.
    let t = tokens(&mut c, &client, "openid", "u2");
    let r = refresh(
        &mut c,
        &client,
        t["refresh_token"].as_str().unwrap(),
        Some("openid email"),
    );
    assert_eq!(r["error"], "invalid_scope");
}

/// RFC 9700 §2.5 / §4.15: guessing a client secret gets nothing but the same invalid_client,
/// and every attempt is audited, which is the signal to act on.
#[test]
fn rfc9700_2_5_client_impersonation_secret_guessing_is_refused_and_audited() {
    let (_db, mut c, client) = setup("t_guess");
    let t = tokens(&mut c, &client, "openid", "u");
    let rt = t["refresh_token"].as_str().unwrap();
    let real = client.secret.clone().unwrap();
    let guesses = [
        String::new(),
        real[..real.len() - 1].to_string(),
        format!("{real}x"),
        real.to_uppercase(),
        "' OR '1'='1".to_string(),
    ];
    for g in &guesses {
        let guess = TestClient {
            id: client.id.clone(),
            secret: Some(g.clone()),
        };
        let r = refresh(&mut c, &guess, rt, None);
        assert_eq!(r["error"], "invalid_client", "{g:?}");
    }
    let failures: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.audit_log WHERE event = 'client_authentication_failed' AND client_id = $1",
            &[&client.id],
        )
        .unwrap()
        .get(0);
    assert_eq!(failures, guesses.len() as i64);
    // The real secret still works: guessing does not lock the client out.
    assert!(refresh(&mut c, &client, rt, None)["access_token"].is_string());
}

/// RFC 9700 §4.10 (token substitution / audience restriction) and OAuth 2.1 §7.1: a token is
/// only good for the resource it names, and an ID token is not an access token.
#[test]
fn rfc9700_4_10_token_substitution_across_clients_and_resources() {
    let (_db, mut c, client) = setup("t_subst");
    c.batch_execute("SELECT oauth.add_resource('https://a.example/'); SELECT oauth.add_resource('https://b.example/')").unwrap();
    let mut p = auth_params(&client, REDIRECT, "openid");
    p["resource"] = json!("https://a.example/");
    let aid = pending(&mut c, &p);
    let out = call_as(&mut c, &user("u"), "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let r = json(
        &mut c,
        "SELECT oauth.exchange_code($1, $2, $3, $4, $5, 'https://b.example/')",
        &[&code, &VERIFIER, &REDIRECT, &client.id, &client.secret],
    );
    assert_eq!(r["error"], "invalid_target");
    let t = json(
        &mut c,
        "SELECT oauth.exchange_code($1, $2, $3, $4, $5)",
        &[&code, &VERIFIER, &REDIRECT, &client.id, &client.secret],
    );
    assert_eq!(
        jwt_parts(t["access_token"].as_str().unwrap()).1["aud"],
        "https://a.example/"
    );
    // The ID token at userinfo: refused.
    let id = t["id_token"].as_str().unwrap();
    assert_eq!(
        json(&mut c, "SELECT oauth.userinfo($1)", &[&id])["error"],
        "invalid_token"
    );
    // An access token as a user session: refused by the consent API.
    let at = t["access_token"].as_str().unwrap();
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let r = json(&mut c, "SELECT oauth.authorization($1, $2)", &[&aid, &at]);
    assert_eq!(r["error"], "access_denied");
}

/// RFC 9700 §2.4 / RFC 8725 §2.1: alg confusion and unsigned tokens; expired and not-yet-valid
/// tokens.
#[test]
fn rfc9700_2_4_alg_confusion_and_token_lifetime() {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let (_db, mut c, client) = setup("t_alg");
    let t = tokens(&mut c, &client, "openid", "u");
    let at = t["access_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(at);
    let jwks = json(&mut c, "SELECT oauth.jwks()", &[]);
    let public = jwks["keys"][0].to_string();
    let mut forged_claims = claims.clone();
    forged_claims["sub"] = json!("admin");
    let body = b64(&forged_claims);
    // HS256 keyed with our public JWK.
    let hs_header = json!({"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]});
    let input = format!("{}.{body}", b64(&hs_header));
    let mac = {
        use sha2::Digest;
        // HMAC-SHA256 by hand (RFC 2104), to not depend on an HMAC crate here.
        let mut key = public.as_bytes().to_vec();
        if key.len() > 64 {
            key = sha2::Sha256::digest(&key).to_vec();
        }
        key.resize(64, 0);
        let ipad: Vec<u8> = key.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = key.iter().map(|b| b ^ 0x5c).collect();
        let inner = sha2::Sha256::digest([ipad, input.as_bytes().to_vec()].concat());
        sha2::Sha256::digest([opad, inner.to_vec()].concat())
    };
    let hs = format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
    );
    let none = format!(
        "{}.{body}.",
        b64(&json!({"alg": "none", "kid": header["kid"]}))
    );
    let sig = at.rsplit('.').next().unwrap();
    let swapped = format!("{}.{body}.{sig}", at.split('.').next().unwrap());
    for forged in [hs, none, swapped] {
        assert_eq!(
            sqlstate(&mut c, &format!("SELECT oauth.verify('{forged}')")),
            "28000"
        );
    }
    // Expired and not-yet-valid session tokens of our own.
    let expired: String = c
        .query_one(
            "SELECT oauth.issue_session_token('u', jsonb_build_object('x', 1))",
            &[],
        )
        .unwrap()
        .get(0);
    json(&mut c, "SELECT oauth.verify_session($1)", &[&expired]);
    for (claim, offset) in [("exp", -3600), ("nbf", 3600)] {
        let mut cl = jwt_parts(&expired).1;
        cl[claim] = json!(cl["iat"].as_i64().unwrap() + offset);
        let t = format!(
            "{}.{}.{}",
            expired.split('.').next().unwrap(),
            b64(&cl),
            sig
        );
        assert_eq!(
            sqlstate(&mut c, &format!("SELECT oauth.verify_session('{t}')")),
            "28000",
            "{claim}"
        );
    }
}

/// OWASP A03 through OAuth parameters: SQL metacharacters in every parameter are data, never
/// code. Afterwards every table is intact.
#[test]
fn sql_injection_through_every_parameter_is_inert() {
    let (_db, mut c, client) = setup("t_sqli");
    let payloads = [
        "'; DROP TABLE oauth.clients; --",
        "' OR '1'='1",
        "\\'; SELECT pg_sleep(10); --",
        "$$; DELETE FROM oauth.grants; $$",
        "x\") OR (\"1\"=\"1",
        "%27%3B%20DROP%20TABLE%20oauth.clients%3B--",
    ];
    for p in payloads {
        let mut params = auth_params(&client, REDIRECT, "openid");
        for key in [
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "prompt",
            "resource",
            "response_type",
        ] {
            let mut q = params.clone();
            q[key] = json!(p);
            let _ = authorize(&mut c, &q);
        }
        params["state"] = json!(p);
        let _ = authorize(&mut c, &params);
        for sql in [
            "SELECT oauth.token(jsonb_build_object('grant_type', 'authorization_code', 'code', $1::text, 'client_id', $1::text, 'code_verifier', $1::text), $1)",
            "SELECT oauth.token(jsonb_build_object('grant_type', $1::text), NULL)",
            "SELECT oauth.revoke(jsonb_build_object('token', $1::text, 'client_id', $1::text), NULL)",
            "SELECT oauth.introspect(jsonb_build_object('token', $1::text), $1)",
            "SELECT oauth.userinfo($1)",
            "SELECT oauth.authorization($1, $1)",
            "SELECT oauth.consent($1, true, $1)",
            "SELECT oauth.grants($1)",
            "SELECT oauth.revoke_grant($1, $1)",
            "SELECT oauth.device_authorization(jsonb_build_object('client_id', $1::text, 'scope', $1::text), NULL)",
            "SELECT oauth.register_client(jsonb_build_object('client_name', $1::text, 'redirect_uris', jsonb_build_array($1::text)))",
        ] {
            let _ = c.query_one(sql, &[&p]);
        }
        let mine: Value = as_user(&mut c, &user(p), |tx| {
            tx.query_one("SELECT oauth.grants()", &[]).unwrap().get(0)
        });
        assert_eq!(mine, json!([]));
    }
    let n: i64 = c
        .query_one("SELECT count(*) FROM oauth.clients", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        n, 1,
        "the one client is still there, and nothing was registered"
    );
    assert!(tokens(&mut c, &client, "openid", "u")["access_token"].is_string());
}

/// Consent fixation: a pending request bound to one user cannot be shown to or decided by
/// another (device user codes: `machine_rules.rs::the_device_grant_polls_until_the_user_decides`).
#[test]
fn rfc9700_consent_fixation_another_users_request_is_invisible() {
    let (_db, mut c, client) = setup("t_fixation");
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    // The first user to open a request owns it.
    let shown = call_as(
        &mut c,
        &user("victim"),
        "SELECT oauth.authorization($1)",
        &aid,
    );
    assert_eq!(shown["user"]["id"], "victim");
    for sql in [
        "SELECT oauth.authorization($1)",
        "SELECT oauth.consent($1, true)",
    ] {
        let r = call_as(&mut c, &user("attacker"), sql, &aid);
        assert_eq!(r["error"], "not_found", "{sql}");
    }
    // Claims without a user are no one.
    let r = call_as(
        &mut c,
        &json!({"role": "authenticated"}),
        "SELECT oauth.consent($1, true)",
        &aid,
    );
    assert_eq!(r["error"], "login_required");
    // The victim's request is untouched.
    let ok = call_as(
        &mut c,
        &user("victim"),
        "SELECT oauth.consent($1, true)",
        &aid,
    );
    assert!(ok["redirect_to"].as_str().unwrap().contains("code="));
}

/// The functions a role may execute, as `oauth.name(argtypes)`, from the catalog.
fn executable_by(c: &mut Client, role: &str) -> Vec<String> {
    let mut names: Vec<String> = c.query(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'oauth' AND has_function_privilege($1, p.oid, 'EXECUTE') ORDER BY 1",
        &[&role],
    )
    .unwrap()
    .iter()
    // `authorization` is a keyword, so regprocedure quotes it.
    .map(|r| r.get::<_, String>(0).replace('"', ""))
    .collect();
    names.sort();
    names
}

/// OAuth 2.1 §7 / RFC 9700 §2.3 (privilege restriction), inside Postgres: PostgREST-style
/// `anon` and `authenticated` roles can execute exactly the functions meant for them, read no
/// table (keys, secrets, codes, grants), and a user's claims never reach another user's grants.
#[test]
fn oauth21_privilege_boundaries_for_anon_and_authenticated_roles() {
    // The roles must exist before CREATE EXTENSION, which grants the session-claims functions
    // to `authenticated` when it exists.
    let admin_db = TestDb::new("t_roles_setup");
    admin_db
        .connect()
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE anon NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
             DO $$ BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;",
        )
        .unwrap();
    let (_db, mut c, client) = setup("t_roles");

    let public: Vec<&str> = vec![
        // RLS helpers reading the request's own act claim.
        "oauth.act_chain()",
        "oauth.actor()",
        "oauth.admin_clients(text,text,text,jsonb)",
        "oauth.admin_users(text,text,text,jsonb)",
        "oauth.authorization(text,text)",
        "oauth.authorize(jsonb)",
        "oauth.begin_sign_in(text,text,text)",
        "oauth.end_session(jsonb)",
        "oauth.identities(text)",
        "oauth.sign_in_buttons()",
        "oauth.sign_out(text)",
        "oauth.unlink_identity(text,text,text)",
        "oauth.client_id()",
        "oauth.consent(text,boolean,text)",
        "oauth.device_authorization(jsonb,text)",
        "oauth.dpop_jkt()",
        "oauth.exchange_code(text,text,text,text,text,text)",
        "oauth.grants(text)",
        "oauth.has_scope(text)",
        "oauth.introspect(jsonb,text)",
        "oauth.jwks()",
        "oauth.jwt()",
        "oauth.metadata()",
        "oauth.par(jsonb,text,text)",
        "oauth.prompt_none_failed(text,text)",
        "oauth.protected_resource_metadata(text)",
        "oauth.protected_resource_metadata_at(text)",
        "oauth.push_authorization_request(jsonb,text,text)",
        "oauth.refresh(text,text,text,text)",
        "oauth.register_client(jsonb)",
        "oauth.revoke(jsonb,text)",
        "oauth.revoke_grant(text,text)",
        "oauth.scopes()",
        "oauth.session_issuer()",
        "oauth.token(jsonb,text)",
        "oauth.token(jsonb,text,text)",
        "oauth.uid()",
        "oauth.userinfo(text)",
        "oauth.userinfo(text,text,text)",
        "oauth.verify(text)",
        "oauth.verify_dpop(text,text,text,text)",
        "oauth.verify_session(text)",
    ];
    let sorted = |mut v: Vec<&str>| -> Vec<String> {
        v.sort();
        v.into_iter().map(String::from).collect()
    };
    assert_eq!(executable_by(&mut c, "anon"), sorted(public.clone()));
    let mut for_users = public.clone();
    for_users.extend([
        "oauth.authorization(text)",
        "oauth.consent(text,boolean)",
        "oauth.grants()",
        "oauth.revoke_grant(text)",
        "oauth.identities()",
        "oauth.unlink_identity(text,text)",
    ]);
    assert_eq!(executable_by(&mut c, "authenticated"), sorted(for_users));

    // No table of the schema is readable or writable, whatever it holds.
    let tables: Vec<String> = c
        .query(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'oauth' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(tables.len() >= 10, "{tables:?}");
    // A victim with a grant, to look for.
    tokens(&mut c, &client, "openid", "victim");
    for role in ["anon", "authenticated"] {
        for t in &tables {
            let mut tx = c.transaction().unwrap();
            tx.batch_execute(&format!("SET LOCAL ROLE {role}")).unwrap();
            let e = tx.query(&format!("SELECT * FROM {t}"), &[]).unwrap_err();
            assert_eq!(e.code().unwrap().code(), "42501", "{role} reads {t}");
        }
    }
    // `authenticated` with the attacker's claims sees and revokes only the attacker's grants.
    let mut tx = c.transaction().unwrap();
    tx.batch_execute(
        "SET LOCAL ROLE authenticated;
         SELECT set_config('request.jwt.claims', '{\"sub\":\"attacker\",\"role\":\"authenticated\"}', true)",
    )
    .unwrap();
    let seen: Value = tx.query_one("SELECT oauth.grants()", &[]).unwrap().get(0);
    assert_eq!(seen, json!([]));
    let revoked: Value = tx
        .query_one("SELECT oauth.revoke_grant($1)", &[&client.id])
        .unwrap()
        .get(0);
    assert_eq!(revoked["error"], "not_found", "{revoked}");
    tx.commit().unwrap();
    let victims: Value = as_user(&mut c, &user("victim"), |tx| {
        tx.query_one("SELECT oauth.grants()", &[]).unwrap().get(0)
    });
    assert_eq!(victims.as_array().unwrap().len(), 1, "{victims}");
}
