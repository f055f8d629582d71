//! Upstream sign-in, the database side: the calls the front makes (`begin_sign_in`,
//! `sign_in_token_request`, `finish_sign_in`) with the answers a provider would give, signed
//! by a stand-in provider's key. Every refusal of docs/security.md#upstream-sign-in has a test
//! here; the front and real HTTP are e2e/tests/sign_in.test.js.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use oauth_server_e2e::stand_in::{now, StandInIssuer};
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const OP: &str = "https://op.example";
const MS: &str = "https://login.example";
const T1: &str = "11111111-1111-1111-1111-111111111111";
const T2: &str = "22222222-2222-2222-2222-222222222222";

/// A sign-in in flight, as the front holds it.
struct Flow {
    aid: String,
    state: String,
    nonce: Option<String>,
    binding: String,
    upstream: String,
}

fn add_oidc(c: &mut Client, name: &str, op: &StandInIssuer) {
    json(
        c,
        "SELECT oauth.add_sign_in_provider($1, $2)",
        &[
            &name,
            &json!({"kind": "oidc", "issuer": op.issuer, "client_id": "rp-1", "client_secret": "s3cret-value"}),
        ],
    );
    let discovery = json!({"issuer": op.issuer, "authorization_endpoint": format!("{}/authorize", op.issuer),
        "token_endpoint": format!("{}/token", op.issuer), "jwks_uri": format!("{}/jwks", op.issuer),
        "userinfo_endpoint": format!("{}/me", op.issuer)});
    json(
        c,
        "SELECT oauth.set_sign_in_provider_metadata($1, $2, $3)",
        &[&name, &discovery, &op.jwks()],
    );
}

fn start(c: &mut Client, provider: &str) -> Flow {
    let client = create_client(c, &[REDIRECT], "confidential");
    let aid = pending(c, &auth_params(&client, REDIRECT, "openid email"));
    let r = json(c, "SELECT oauth.begin_sign_in($1, $2)", &[&provider, &aid]);
    let upstream = r["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    Flow {
        aid,
        state: query_param(&upstream, "state").unwrap(),
        nonce: query_param(&upstream, "nonce"),
        binding: r["browser_binding"].as_str().unwrap().to_string(),
        upstream,
    }
}

fn token_request(c: &mut Client, provider: &str, f: &Flow, binding: &str) -> Value {
    json(
        c,
        "SELECT oauth.sign_in_token_request($1, $2, $3, 'the-code')",
        &[&provider, &f.state, &binding],
    )
}

fn finish(c: &mut Client, provider: &str, f: &Flow, responses: &Value) -> Value {
    json(
        c,
        "SELECT oauth.finish_sign_in($1, $2, $3, $4)",
        &[&provider, &f.state, &f.binding, responses],
    )
}

fn id_token_answer(token: &str) -> Value {
    json!({"token": {"status": 200, "body": {"access_token": "upstream-at", "token_type": "Bearer", "id_token": token}}})
}

/// Signs in through `provider` with ID token `claims` (nonce, aud, iat, exp filled in unless
/// given): the answer of finish_sign_in.
fn sign_in_with(c: &mut Client, provider: &str, op: &StandInIssuer, claims: Value) -> Value {
    let f = start(c, provider);
    let t = token_request(c, provider, &f, &f.binding);
    assert!(t.get("token_request").is_some(), "{t}");
    let mut full = json!({"aud": "rp-1", "sub": "op-user-1", "nonce": f.nonce, "iat": now(), "exp": now() + 300});
    for (k, v) in claims.as_object().unwrap() {
        full[k] = v.clone();
    }
    finish(c, provider, &f, &id_token_answer(&op.token(full)))
}

fn count(c: &mut Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM oauth.{table}"), &[])
        .unwrap()
        .get(0)
}

#[test]
fn an_openid_sign_in_makes_a_user_whose_session_approves_consent() {
    let db = TestDb::new("signin");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op);
    let f = start(&mut c, "op");
    // PKCE, nonce and the registered callback under our issuer go upstream.
    assert!(
        f.upstream.starts_with("https://op.example/authorize?"),
        "{}",
        f.upstream
    );
    assert_eq!(
        query_param(&f.upstream, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&f.upstream, "redirect_uri").as_deref(),
        Some("http://localhost:8080/signin/op/callback")
    );
    let t = token_request(&mut c, "op", &f, &f.binding);
    let req = &t["token_request"];
    assert_eq!(req["url"], "https://op.example/token");
    assert_eq!(req["form"]["grant_type"], "authorization_code");
    assert!(req["form"]["code_verifier"].as_str().unwrap().len() >= 43);
    assert_eq!(
        req["headers"]["authorization"],
        format!("Basic {}", STANDARD.encode("rp-1:s3cret-value"))
    );
    let claims = json!({"aud": "rp-1", "sub": "op-user-1", "nonce": f.nonce, "iat": now(), "exp": now() + 300,
                        "email": "Ada@Example.com", "email_verified": true, "name": "Ada"});
    let done = finish(&mut c, "op", &f, &id_token_answer(&op.token(claims)));
    let session = done["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{done}"));
    let sub = done["sub"].as_str().unwrap().to_string();
    assert!(done["redirect_to"]
        .as_str()
        .unwrap()
        .contains(&format!("authorization_id={}", f.aid)));
    // The session is ours, for the user row, and approves the request it was started for.
    let verified = json(&mut c, "SELECT oauth.verify_session($1)", &[&session]);
    assert_eq!(verified["sub"], sub);
    assert_eq!(verified["email"], "Ada@Example.com");
    assert_eq!(verified["idp"], "op");
    let details = json(
        &mut c,
        "SELECT oauth.authorization($1, $2)",
        &[&f.aid, &session],
    );
    assert!(details.get("client").is_some(), "{details}");
    let out = json(
        &mut c,
        "SELECT oauth.consent($1, true, $2)",
        &[&f.aid, &session],
    );
    assert!(
        out["redirect_to"].as_str().unwrap().contains("code="),
        "{out}"
    );
    // Signing in again is the same user.
    let again = sign_in_with(&mut c, "op", &op, json!({}));
    assert_eq!(again["sub"], sub);
    assert_eq!(count(&mut c, "users"), 1);
    assert_eq!(count(&mut c, "identities"), 1);
    let ids = json(&mut c, "SELECT oauth.identities($1)", &[&session]);
    assert_eq!(ids[0]["provider"], "op");
    assert_eq!(ids[0]["issuer"], OP);
    // An OP that releases the email only at userinfo (oidc-provider's default): the front is
    // asked to fetch it, and it counts only for the ID token's subject.
    let f = start(&mut c, "op");
    let t = token_request(&mut c, "op", &f, &f.binding);
    assert_eq!(t["fetch"][0]["url"], "https://op.example/me", "{t}");
    let mut answer = id_token_answer(&op.token(
        json!({"aud": "rp-1", "sub": "op-user-9", "nonce": f.nonce, "iat": now(), "exp": now() + 300}),
    ));
    answer["userinfo"] = json!({"status": 200, "body": {"sub": "op-user-9", "email": "nine@example.com", "email_verified": true}});
    let r = finish(&mut c, "op", &f, &answer);
    let s = json(
        &mut c,
        "SELECT oauth.verify_session($1)",
        &[&r["session_token"].as_str().unwrap()],
    );
    assert_eq!(
        (s["email"].as_str(), s["email_verified"].as_bool()),
        (Some("nine@example.com"), Some(true))
    );
    // The client's prompt=login and max_age go upstream.
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let mut params = auth_params(&client, REDIRECT, "openid");
    params["prompt"] = json!("login");
    params["max_age"] = json!("60");
    let aid = pending(&mut c, &params);
    let r = json(&mut c, "SELECT oauth.begin_sign_in('op', $1)", &[&aid]);
    let up = r["redirect_to"].as_str().unwrap();
    assert_eq!(query_param(up, "prompt").as_deref(), Some("login"));
    assert_eq!(query_param(up, "max_age").as_deref(), Some("60"));
    // The last identity cannot be unlinked.
    let r = json(
        &mut c,
        "SELECT oauth.unlink_identity('op', 'op-user-1', $1)",
        &[&session],
    );
    assert_eq!(r["error"], "invalid_request", "{r}");
    assert_eq!(
        count(&mut c, "identities"),
        2,
        "op-user-1's and op-user-9's"
    );
}

#[test]
fn id_tokens_that_are_not_for_this_sign_in_are_refused_and_create_nothing() {
    let db = TestDb::new("signin_refuse");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op);
    let other = StandInIssuer::new("https://evil.example");
    for (claims, why) in [
        (json!({"nonce": "not-this-one"}), "nonce"),
        (json!({"aud": "another-rp"}), "aud"),
        (json!({"aud": ["rp-1", "another-rp"]}), "azp"),
        (json!({"iss": "https://op.example/other"}), "issued by"),
        (json!({"exp": now() - 120, "iat": now() - 400}), "expired"),
        (json!({"iat": now() - 7200, "exp": now() + 300}), "iat"),
    ] {
        let r = sign_in_with(&mut c, "op", &op, claims.clone());
        assert_eq!(r["error"], "access_denied", "{claims}: {r}");
        assert!(
            r["error_description"].as_str().unwrap().contains(why),
            "{claims}: {r}"
        );
    }
    // A token signed by another key (an attacker's own OP) under the right kid.
    let f = start(&mut c, "op");
    token_request(&mut c, "op", &f, &f.binding);
    let forged = other.sign(
        &json!({"alg": "ES256", "typ": "JWT", "kid": op.kid}),
        &json!({"iss": OP, "aud": "rp-1", "sub": "victim", "nonce": f.nonce, "iat": now(), "exp": now() + 300}),
    );
    let r = finish(&mut c, "op", &f, &id_token_answer(&forged));
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{r}"
    );
    // alg none and HS256 keyed with the public JWK.
    for t in [
        op.unsigned(&json!({"iss": OP, "aud": "rp-1", "sub": "victim"})),
        op.hs256_forgery(&json!({"iss": OP, "aud": "rp-1", "sub": "victim"})),
    ] {
        let f = start(&mut c, "op");
        token_request(&mut c, "op", &f, &f.binding);
        let r = finish(&mut c, "op", &f, &id_token_answer(&t));
        assert_eq!(r["error"], "access_denied", "{r}");
    }
    assert_eq!(count(&mut c, "users"), 0);
    assert_eq!(count(&mut c, "identities"), 0);
    assert_eq!(count(&mut c, "sessions"), 0);
    // A refused state is spent: the right token afterwards does not revive it.
    let f = start(&mut c, "op");
    token_request(&mut c, "op", &f, &f.binding);
    let bad = op.token(
        json!({"aud": "rp-1", "sub": "u", "nonce": "wrong", "iat": now(), "exp": now() + 300}),
    );
    finish(&mut c, "op", &f, &id_token_answer(&bad));
    let good = op.token(
        json!({"aud": "rp-1", "sub": "u", "nonce": f.nonce, "iat": now(), "exp": now() + 300}),
    );
    let r = finish(&mut c, "op", &f, &id_token_answer(&good));
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{r}"
    );
}

#[test]
fn a_state_is_single_use_and_bound_to_its_browser_and_provider() {
    let db = TestDb::new("signin_state");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op);
    add_oidc(&mut c, "op2", &StandInIssuer::new("https://op2.example"));
    // Another browser (no cookie, or another one's).
    let f = start(&mut c, "op");
    let other_browser = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let r = token_request(&mut c, "op", &f, &other_browser);
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("another browser"),
        "{r}"
    );
    // … and then the state is gone even for the right browser.
    let r = token_request(&mut c, "op", &f, &f.binding);
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{r}"
    );
    // Replayed callback (a reload, a double submit): refused, and the exchange under way is
    // not broken by it.
    let f = start(&mut c, "op");
    assert!(token_request(&mut c, "op", &f, &f.binding)
        .get("token_request")
        .is_some());
    let r = token_request(&mut c, "op", &f, &f.binding);
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{r}"
    );
    let r = token_request(&mut c, "op", &f, &other_browser);
    assert!(r["error"].is_string(), "{r}");
    let good = op.token(
        json!({"aud": "rp-1", "sub": "u", "nonce": f.nonce, "iat": now(), "exp": now() + 300}),
    );
    let r = finish(&mut c, "op", &f, &id_token_answer(&good));
    assert!(r["session_token"].is_string(), "{r}");
    let r = finish(&mut c, "op", &f, &id_token_answer(&good));
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{r}"
    );
    // A state of one provider at another's callback.
    let f = start(&mut c, "op");
    let r = token_request(&mut c, "op2", &f, &f.binding);
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("another provider"),
        "{r}"
    );
    // Expired.
    let f = start(&mut c, "op");
    c.batch_execute("UPDATE oauth.sign_in_states SET expires_at = now() - interval '1 second'")
        .unwrap();
    let r = token_request(&mut c, "op", &f, &f.binding);
    assert!(
        r["error_description"].as_str().unwrap().contains("expired"),
        "{r}"
    );
    // finish_sign_in without the token request first.
    let f = start(&mut c, "op");
    let r = finish(&mut c, "op", &f, &id_token_answer("x.y.z"));
    assert!(r["error"].is_string(), "{r}");
    // The user cancelled upstream: back to the consent page, with the error.
    let f = start(&mut c, "op");
    let r = json(
        &mut c,
        "SELECT oauth.sign_in_token_request('op', $1, $2, NULL, 'access_denied', 'user cancelled')",
        &[&f.state, &f.binding],
    );
    let back = r["redirect_to"].as_str().unwrap();
    assert!(
        back.contains("sign_in_error=access_denied") && back.contains(&f.aid),
        "{r}"
    );
    // Starting needs a pending request and an enabled provider.
    let r = json(
        &mut c,
        "SELECT oauth.begin_sign_in('op', 'no-such-request-id-000000000000000000000000')",
        &[],
    );
    assert_eq!(r["error"], "invalid_request", "{r}");
    let r = json(&mut c, "SELECT oauth.begin_sign_in('nope', 'x')", &[]);
    assert_eq!(r["error"], "not_found", "{r}");
}

#[test]
fn an_unknown_key_asks_the_front_to_refresh_and_the_state_survives_it() {
    let db = TestDb::new("signin_kid");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op);
    let rotated = op.rotated();
    let f = start(&mut c, "op");
    token_request(&mut c, "op", &f, &f.binding);
    let answer = id_token_answer(&rotated.token(
        json!({"aud": "rp-1", "sub": "u", "nonce": f.nonce, "iat": now(), "exp": now() + 300}),
    ));
    let r = finish(&mut c, "op", &f, &answer);
    assert_eq!(r["refresh_keys"], "op", "{r}");
    let discovery = json!({"issuer": OP, "authorization_endpoint": "https://op.example/authorize",
        "token_endpoint": "https://op.example/token", "jwks_uri": "https://op.example/jwks"});
    json(
        &mut c,
        "SELECT oauth.set_sign_in_provider_metadata('op', $1, $2)",
        &[&discovery, &rotated.jwks()],
    );
    let r = finish(&mut c, "op", &f, &answer);
    assert!(r["session_token"].is_string(), "{r}");
    // A discovery document naming another issuer is refused (OIDC Discovery §4.3).
    let mut evil = discovery.clone();
    evil["issuer"] = json!("https://evil.example");
    let e = c
        .query_one(
            "SELECT oauth.set_sign_in_provider_metadata('op', $1, $2)",
            &[&evil, &rotated.jwks()],
        )
        .unwrap_err();
    let msg = e.as_db_error().unwrap().message().to_string();
    assert!(msg.contains("names issuer"), "{msg}");
}

#[test]
fn microsoft_tenants_follow_the_allow_list_and_email_needs_xms_edov() {
    let db = TestDb::new("signin_ms");
    let mut c = db.connect();
    let keys = StandInIssuer::new(MS);
    json(
        &mut c,
        "SELECT oauth.add_sign_in_provider('entra', $1)",
        &[
            &json!({"kind": "microsoft", "authority": MS, "client_id": "rp-1", "client_secret": "x", "allowed_tenants": [T1]}),
        ],
    );
    json(
        &mut c,
        "SELECT oauth.set_sign_in_provider_metadata('entra', NULL, $1)",
        &[&keys.jwks()],
    );
    let f = start(&mut c, "entra");
    assert!(
        f.upstream
            .starts_with(&format!("{MS}/common/oauth2/v2.0/authorize?")),
        "{}",
        f.upstream
    );
    let ok = sign_in_with(
        &mut c,
        "entra",
        &keys,
        json!({"iss": format!("{MS}/{T1}/v2.0"), "tid": T1,
        "oid": "o1", "email": "a@contoso.example", "email_verified": true}),
    );
    let session = ok["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{ok}"));
    let claims = json(&mut c, "SELECT oauth.verify_session($1)", &[&session]);
    assert_eq!(
        claims["email_verified"], false,
        "Entra's email is unverified without xms_edov"
    );
    let verified = sign_in_with(
        &mut c,
        "entra",
        &keys,
        json!({"iss": format!("{MS}/{T1}/v2.0"), "tid": T1,
        "sub": "op-user-2", "email": "b@contoso.example", "xms_edov": true}),
    );
    let claims = json(
        &mut c,
        "SELECT oauth.verify_session($1)",
        &[&verified["session_token"].as_str().unwrap()],
    );
    assert_eq!(claims["email_verified"], true);
    // Another tenant, with its own issuer: refused.
    let r = sign_in_with(
        &mut c,
        "entra",
        &keys,
        json!({"iss": format!("{MS}/{T2}/v2.0"), "tid": T2}),
    );
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("allowed_tenants"),
        "{r}"
    );
    // tid and iss disagree: refused.
    let r = sign_in_with(
        &mut c,
        "entra",
        &keys,
        json!({"iss": format!("{MS}/{T2}/v2.0"), "tid": T1}),
    );
    assert_eq!(r["error"], "access_denied", "{r}");
}

#[test]
fn linking_by_email_needs_the_setting_and_two_verified_emails() {
    let db = TestDb::new("signin_link");
    let mut c = db.connect();
    let a = StandInIssuer::new(OP);
    let b = StandInIssuer::new("https://op2.example");
    add_oidc(&mut c, "a", &a);
    add_oidc(&mut c, "b", &b);
    let email = json!({"email": "ada@example.com", "email_verified": true});
    let first = sign_in_with(&mut c, "a", &a, email.clone());
    // Off by default: the same verified email is another user.
    let off = sign_in_with(
        &mut c,
        "b",
        &b,
        json!({"sub": "b-1", "email": "ada@example.com", "email_verified": true}),
    );
    assert_ne!(off["sub"], first["sub"]);
    db.set("link_verified_email", "on");
    let mut c = db.connect();
    // On: an unverified email does not link …
    let unverified = sign_in_with(
        &mut c,
        "b",
        &b,
        json!({"sub": "b-2", "email": "ADA@example.com", "email_verified": false}),
    );
    assert_ne!(unverified["sub"], first["sub"], "{unverified}");
    // … "true" as a string is not verified for a generic OP …
    let stringly = sign_in_with(
        &mut c,
        "b",
        &b,
        json!({"sub": "b-3", "email": "ada@example.com", "email_verified": "true"}),
    );
    assert_ne!(stringly["sub"], first["sub"]);
    // … and two users with that verified email already (first and off) is ambiguous.
    let ambiguous = sign_in_with(
        &mut c,
        "b",
        &b,
        json!({"sub": "b-4", "email": "ada@example.com", "email_verified": true}),
    );
    assert_ne!(ambiguous["sub"], first["sub"]);
    // A fresh email verified on both sides links.
    sign_in_with(
        &mut c,
        "a",
        &a,
        json!({"sub": "a-5", "email": "grace@example.com", "email_verified": true}),
    );
    let grace: String = c
        .query_one(
            "SELECT user_id FROM oauth.identities WHERE subject = 'a-5'",
            &[],
        )
        .unwrap()
        .get(0);
    let linked = sign_in_with(
        &mut c,
        "b",
        &b,
        json!({"sub": "b-5", "email": "Grace@Example.com", "email_verified": true}),
    );
    assert_eq!(linked["sub"], grace);
}

#[test]
fn github_and_workos_identities_come_from_their_apis() {
    let db = TestDb::new("signin_apis");
    let mut c = db.connect();
    json(
        &mut c,
        "SELECT oauth.add_sign_in_provider('github', $1)",
        &[&json!({"kind": "github", "client_id": "Iv1.abc", "client_secret": "gh-secret"})],
    );
    let f = start(&mut c, "github");
    assert!(
        f.upstream
            .starts_with("https://github.com/login/oauth/authorize?"),
        "{}",
        f.upstream
    );
    let t = token_request(&mut c, "github", &f, &f.binding);
    assert_eq!(t["token_request"]["form"]["client_secret"], "gh-secret");
    let names: Vec<&str> = t["fetch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "https://api.github.com/user",
            "https://api.github.com/user/emails"
        ]
    );
    let answer = json!({
        "token": {"status": 200, "body": {"access_token": "gho_x", "token_type": "bearer", "scope": "read:user,user:email"}},
        "user": {"status": 200, "body": {"id": 583231, "login": "octocat", "name": null, "email": "octo@public.example"}},
        "emails": {"status": 200, "body": [{"email": "octo@primary.example", "primary": true, "verified": false}]},
    });
    let r = finish(&mut c, "github", &f, &answer);
    let claims = json(
        &mut c,
        "SELECT oauth.verify_session($1)",
        &[&r["session_token"].as_str().unwrap_or_else(|| panic!("{r}"))],
    );
    assert_eq!(claims["email"], "octo@primary.example");
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["preferred_username"], "octocat");
    // GitHub's errors come with status 200.
    let f = start(&mut c, "github");
    token_request(&mut c, "github", &f, &f.binding);
    let r = finish(
        &mut c,
        "github",
        &f,
        &json!({"token": {"status": 200, "body": {"error": "bad_verification_code"}}}),
    );
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("bad_verification_code"),
        "{r}"
    );

    json(
        &mut c,
        "SELECT oauth.add_sign_in_provider('sso', $1)",
        &[
            &json!({"kind": "workos", "client_id": "client_1", "client_secret": "sk_test", "connection": "conn_1"}),
        ],
    );
    let f = start(&mut c, "sso");
    assert!(f.upstream.contains("connection=conn_1"));
    token_request(&mut c, "sso", &f, &f.binding);
    let profile = json!({"id": "prof_1", "connection_id": "conn_2", "organization_id": "org_1", "email": "x@corp.example"});
    let r = finish(
        &mut c,
        "sso",
        &f,
        &json!({"token": {"status": 200, "body": {"access_token": "a"}},
        "profile": {"status": 200, "body": profile}}),
    );
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("another connection"),
        "{r}"
    );
    assert_eq!(count(&mut c, "identities"), 1, "only GitHub's");
}

/// An EC P-256 key as Apple's .p8 (PKCS#8 PEM), and its public JWK.
fn apple_key() -> (String, Value) {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
    let point = kp.public_key().as_ref().to_vec();
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                     "y": URL_SAFE_NO_PAD.encode(&point[33..65]), "kid": "APPLEKEY1", "alg": "ES256"});
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(doc.as_ref())
    );
    (pem, jwk)
}

#[test]
fn apple_gets_a_client_secret_jwt_and_keeps_the_first_sign_in_name() {
    let db = TestDb::new("signin_apple");
    let mut c = db.connect();
    let apple = StandInIssuer::new("https://appleid.apple.com");
    let (pem, public) = apple_key();
    let added = json(
        &mut c,
        "SELECT oauth.add_sign_in_provider('apple', $1)",
        &[&json!({
        "kind": "apple", "client_id": "com.example.web", "team_id": "TEAM123456", "key_id": "APPLEKEY1", "private_key": pem})],
    );
    assert!(!added.to_string().contains("PRIVATE KEY"), "{added}");
    let listed = json(&mut c, "SELECT oauth.sign_in_providers()", &[]);
    assert!(!listed.to_string().contains("PRIVATE KEY"));
    json(
        &mut c,
        "SELECT oauth.set_sign_in_provider_metadata('apple', NULL, $1)",
        &[&apple.jwks()],
    );
    let f = start(&mut c, "apple");
    assert_eq!(
        query_param(&f.upstream, "response_mode").as_deref(),
        Some("form_post")
    );
    let t = token_request(&mut c, "apple", &f, &f.binding);
    let secret = t["token_request"]["form"]["client_secret"]
        .as_str()
        .unwrap();
    let claims =
        verify_with_jwks(&json!({"keys": [public]}), secret).expect("signed with the .p8 key");
    assert_eq!(claims["iss"], "TEAM123456");
    assert_eq!(claims["sub"], "com.example.web");
    assert_eq!(claims["aud"], "https://appleid.apple.com");
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 15_777_000);
    let id = |nonce: &Option<String>| {
        apple.token(json!({"aud": "com.example.web", "sub": "001234.abcd", "nonce": nonce,
        "iat": now(), "exp": now() + 300, "email": "x7@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true"}))
    };
    let mut answer = id_token_answer(&id(&f.nonce));
    answer["apple_user"] = json!(
        r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x7@privaterelay.appleid.com"}"#
    );
    let r = finish(&mut c, "apple", &f, &answer);
    let s = json(
        &mut c,
        "SELECT oauth.verify_session($1)",
        &[&r["session_token"].as_str().unwrap_or_else(|| panic!("{r}"))],
    );
    assert_eq!(s["name"], "Ada Lovelace");
    assert_eq!(s["email_verified"], true, "Apple's string \"true\"");
    // The second sign-in has no name; the first one's stays.
    let f = start(&mut c, "apple");
    token_request(&mut c, "apple", &f, &f.binding);
    let r = finish(&mut c, "apple", &f, &id_token_answer(&id(&f.nonce)));
    let s = json(
        &mut c,
        "SELECT oauth.verify_session($1)",
        &[&r["session_token"].as_str().unwrap()],
    );
    assert_eq!(s["name"], "Ada Lovelace");
    // The secret is not stored in the clear when a key-encryption key is configured: see
    // key_protection_rules; here at least it never leaves through the views.
    let raw: Vec<u8> = c
        .query_one("SELECT secrets FROM oauth.sign_in_providers", &[])
        .unwrap()
        .get(0);
    assert!(!raw.is_empty());
}

#[test]
fn sessions_end_on_sign_out_logout_and_revocation() {
    let db = TestDb::new("signin_sessions");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op);
    let r = sign_in_with(&mut c, "op", &op, json!({}));
    let session = r["session_token"].as_str().unwrap().to_string();
    let out = json(&mut c, "SELECT oauth.sign_out($1)", &[&session]);
    assert_eq!(out["ended"], true);
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify_session('{session}')")),
        "28000"
    );
    let grants = json(&mut c, "SELECT oauth.grants($1)", &[&session]);
    assert_eq!(grants["error"], "login_required", "{grants}");
    // Sessions minted for apps with their own login are revocable too.
    let t: String = c
        .query_one("SELECT oauth.issue_session_token('app-user')", &[])
        .unwrap()
        .get(0);
    let n: i64 = c
        .query_one("SELECT oauth.revoke_sessions('app-user')", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify_session('{t}')")),
        "28000"
    );
    // … including through request.jwt.claims (PostgREST verified the signature, not the session).
    let claims: Value = jwt_parts(&t).1;
    // Ended sessions are purged once no token of theirs could still be presented.
    c.batch_execute("UPDATE oauth.sessions SET ended_at = now() - interval '1 hour'")
        .unwrap();
    let purged = json(&mut c, "SELECT oauth.purge_expired()", &[]);
    assert_eq!(purged["sessions"], 2, "{purged}");
    let r: Value = as_user(&mut c, &claims, |tx| {
        tx.query_one("SELECT oauth.grants()", &[]).unwrap().get(0)
    });
    assert_eq!(r["error"], "login_required", "{r}");
}

#[test]
fn rp_initiated_logout_ends_the_session_and_returns_only_where_registered() {
    let db = TestDb::new("signin_logout");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    json(
        &mut c,
        "SELECT oauth.update_client($1, $2)",
        &[
            &client.id,
            &json!({"post_logout_redirect_uris": ["https://app.example/bye"]}),
        ],
    );
    let session: String = c
        .query_one("SELECT oauth.issue_session_token('u-logout')", &[])
        .unwrap()
        .get(0);
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    let out = json(
        &mut c,
        "SELECT oauth.consent($1, true, $2)",
        &[&aid, &session],
    );
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let tokens = exchange(&mut c, &client, &code, REDIRECT);
    let id_token = tokens["id_token"].as_str().unwrap();
    assert!(
        jwt_parts(id_token).1["sid"].is_string(),
        "the ID token names the session"
    );
    let bad = json(
        &mut c,
        "SELECT oauth.end_session($1)",
        &[&json!({"id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"})],
    );
    assert_eq!(bad["error"], "invalid_request", "{bad}");
    let other = json(
        &mut c,
        "SELECT oauth.end_session($1)",
        &[
            &json!({"id_token_hint": id_token, "client_id": "someone-else", "post_logout_redirect_uri": "https://app.example/bye"}),
        ],
    );
    assert_eq!(other["error"], "invalid_request", "{other}");
    // client_id alone never redirects: anyone who can register a client could bounce
    // browsers anywhere.
    let bare = json(
        &mut c,
        "SELECT oauth.end_session($1)",
        &[&json!({"client_id": client.id, "post_logout_redirect_uri": "https://app.example/bye"})],
    );
    assert_eq!(bare["error"], "invalid_request", "{bare}");
    // An access token is not an id_token_hint.
    let wrong = json(
        &mut c,
        "SELECT oauth.end_session($1)",
        &[&json!({"id_token_hint": tokens["access_token"]})],
    );
    assert_eq!(wrong["error"], "invalid_request", "{wrong}");
    assert!(json(&mut c, "SELECT oauth.verify_session($1)", &[&session])["sub"].is_string());
    let mut tx = c.transaction().unwrap();
    let ok: Value = tx
        .query_one("SELECT oauth.end_session($1)",
            &[&json!({"id_token_hint": id_token, "post_logout_redirect_uri": "https://app.example/bye", "state": "s1"})])
        .unwrap()
        .get(0);
    let status: String = tx
        .query_one("SELECT current_setting('response.status')", &[])
        .unwrap()
        .get(0);
    tx.commit().unwrap();
    assert_eq!(status, "303");
    assert_eq!(ok["redirect_to"], "https://app.example/bye?state=s1");
    assert_eq!(ok["signed_out"], true);
    assert_eq!(
        sqlstate(&mut c, &format!("SELECT oauth.verify_session('{session}')")),
        "28000"
    );
}

#[test]
fn the_sign_in_hook_maps_or_refuses_before_anything_is_written() {
    let db = TestDb::new("signin_hook");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op);
    c.batch_execute(
        "CREATE FUNCTION public.on_sign_in(e jsonb) RETURNS jsonb LANGUAGE sql AS $$
           SELECT CASE WHEN e->'identity'->>'email' LIKE '%@blocked.example'
                       THEN '{\"allow\": false, \"reason\": \"blocked domain\"}'::jsonb
                       ELSE jsonb_build_object('sub', 'app-' || (e->'identity'->>'subject'),
                                               'claims', '{\"tenant\": \"t1\"}'::jsonb) END $$",
    )
    .unwrap();
    db.set("sign_in_hook", "public.on_sign_in");
    let mut c = db.connect();
    let r = sign_in_with(&mut c, "op", &op, json!({"email": "x@blocked.example"}));
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("blocked domain"),
        "{r}"
    );
    assert_eq!(
        count(&mut c, "users") + count(&mut c, "identities") + count(&mut c, "sessions"),
        0
    );
    let r = sign_in_with(
        &mut c,
        "op",
        &op,
        json!({"sub": "s9", "auth_time": now() - 100}),
    );
    assert_eq!(r["sub"], "app-s9");
    let s = json(
        &mut c,
        "SELECT oauth.verify_session($1)",
        &[&r["session_token"].as_str().unwrap()],
    );
    assert_eq!(s["tenant"], "t1");
    assert!(
        s["auth_time"].as_i64().unwrap() <= now() - 100,
        "the provider's auth_time: {s}"
    );
    // A hook may not mark the session as another kind of token.
    c.batch_execute(
        "CREATE OR REPLACE FUNCTION public.on_sign_in(e jsonb) RETURNS jsonb LANGUAGE sql AS
           $$ SELECT '{\"claims\": {\"nonce\": \"x\"}}'::jsonb $$",
    )
    .unwrap();
    let f = start(&mut c, "op");
    token_request(&mut c, "op", &f, &f.binding);
    let t = op.token(
        json!({"aud": "rp-1", "sub": "s10", "nonce": f.nonce, "iat": now(), "exp": now() + 300}),
    );
    let e = c
        .query_one(
            "SELECT oauth.finish_sign_in('op', $1, $2, $3)",
            &[&f.state, &f.binding, &id_token_answer(&t)],
        )
        .unwrap_err();
    assert!(
        e.as_db_error()
            .unwrap()
            .message()
            .contains("may not set the session claim nonce"),
        "{e:?}"
    );
}

#[test]
fn provider_options_are_checked_and_secrets_required() {
    let db = TestDb::new("signin_admin");
    let mut c = db.connect();
    for bad in [
        json!({"kind": "oidc", "client_id": "x", "client_secret": "s"}),
        json!({"kind": "github", "client_id": "x"}),
        json!({"kind": "apple", "client_id": "x", "team_id": "T", "key_id": "K", "private_key": "not a key"}),
        json!({"kind": "workos", "client_id": "x", "client_secret": "s"}),
        json!({"kind": "saml", "client_id": "x"}),
        json!({"kind": "microsoft", "client_id": "x", "client_secret": "s", "tenant": "contoso"}),
    ] {
        let e = c
            .query_one("SELECT oauth.add_sign_in_provider('p', $1)", &[&bad])
            .unwrap_err();
        assert_eq!(e.code().unwrap().code(), "22023", "{bad}: {e}");
    }
    json(
        &mut c,
        "SELECT oauth.add_sign_in_provider('gh', $1)",
        &[&json!({"kind": "github", "client_id": "x", "client_secret": "first"})],
    );
    // An update keeps the secret unless a new one is given.
    json(
        &mut c,
        "SELECT oauth.update_sign_in_provider('gh', $1)",
        &[&json!({"display_name": "GitHub (work)"})],
    );
    let f = start(&mut c, "gh");
    let t = token_request(&mut c, "gh", &f, &f.binding);
    assert_eq!(t["token_request"]["form"]["client_secret"], "first");
    let buttons = json(&mut c, "SELECT oauth.sign_in_buttons()", &[]);
    assert_eq!(
        buttons,
        json!([{"name": "gh", "kind": "github", "display_name": "GitHub (work)"}])
    );
    json(
        &mut c,
        "SELECT oauth.update_sign_in_provider('gh', $1)",
        &[&json!({"enabled": false})],
    );
    assert_eq!(
        json(&mut c, "SELECT oauth.sign_in_buttons()", &[]),
        json!([])
    );
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
    assert_eq!(
        json(&mut c, "SELECT oauth.begin_sign_in('gh', $1)", &[&aid])["error"],
        "not_found"
    );
    assert!(c
        .query_one("SELECT oauth.remove_sign_in_provider('gh')", &[])
        .unwrap()
        .get::<_, bool>(0));
}

#[test]
fn a_disabled_user_cannot_sign_in_by_identity_or_through_the_hook() {
    let db = TestDb::new("signin_disabled");
    let mut c = db.connect();
    let op = StandInIssuer::new(OP);
    add_oidc(&mut c, "op", &op);
    let first = sign_in_with(&mut c, "op", &op, json!({}));
    c.execute(
        "UPDATE oauth.users SET disabled_at = now() WHERE id = $1",
        &[&first["sub"].as_str().unwrap()],
    )
    .unwrap();
    let r = sign_in_with(&mut c, "op", &op, json!({}));
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{r}"
    );
    // A hook that names a disabled user: refused before the new identity is stored.
    c.batch_execute(
        "INSERT INTO oauth.users (id, disabled_at) VALUES ('app-off', now());
         CREATE FUNCTION public.to_off(e jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{\"sub\": \"app-off\"}'::jsonb $$",
    )
    .unwrap();
    db.set("sign_in_hook", "public.to_off");
    let mut c = db.connect();
    let r = sign_in_with(&mut c, "op", &op, json!({"sub": "someone-new"}));
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{r}"
    );
    assert_eq!(count(&mut c, "identities"), 1);
}
