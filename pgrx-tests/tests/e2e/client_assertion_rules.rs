//! private_key_jwt (RFC 7523 §2.2): a client registered with its public keys authenticates with
//! a JWT it signs, and has no secret. Here, the assertion's rules at the token endpoint: each
//! refusal is 401 `invalid_client` and an audit row `client_authentication_failed`, and each
//! comes with the same request made right, which is taken (so a test fails if its rule goes,
//! not only if everything is refused). The keys' registration and rotation, published keys
//! (`jwks_uri`) and the other endpoints are in the submodules.

use oauth_server_e2e::assertion::{with_assertion, ClientKey, ISSUER, TOKEN_AUD};
use oauth_server_e2e::stand_in::now;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

mod endpoints;
mod keys;
mod published;

/// `oauth.create_client` of a client_credentials machine authenticating with private_key_jwt,
/// its keys `jwks` inline → the client (which has no secret: checked).
fn machine_with(c: &mut Client, jwks: &Value) -> TestClient {
    let made = json(
        c,
        "SELECT oauth.create_client('M', ARRAY[]::text[], grant_types => ARRAY['client_credentials'],
                token_endpoint_auth_method => 'private_key_jwt', jwks => $1)",
        &[jwks],
    );
    assert!(made["client_secret"].is_null(), "no secret: {made}");
    assert_eq!(
        made["token_endpoint_auth_method"], "private_key_jwt",
        "{made}"
    );
    TestClient::from_json(&made)
}

/// [`machine_with`] `key`'s JWKS.
fn machine(c: &mut Client, key: &ClientKey) -> TestClient {
    machine_with(c, &key.jwks())
}

fn client_credentials() -> Value {
    json!({"grant_type": "client_credentials"})
}

/// `oauth.<endpoint>(form, authorization)` as the front calls it → (body, response.status).
fn call(
    c: &mut Client,
    endpoint: &str,
    form: Value,
    authorization: Option<&str>,
) -> (Value, String) {
    status_of(
        c,
        &format!("SELECT oauth.{endpoint}($1, $2)"),
        &[&form, &authorization],
    )
}

/// The client_credentials grant authenticated by `assertion` alone (no client_id, no header).
fn grant(c: &mut Client, assertion: &str) -> (Value, String) {
    call(
        c,
        "token",
        with_assertion(client_credentials(), assertion),
        None,
    )
}

/// A token answer (an access token, no status set: 200) → the body.
#[track_caller]
fn issued(answer: (Value, String)) -> Value {
    let (body, status) = answer;
    assert!(matches!(status.as_str(), "" | "200"), "{status}: {body}");
    assert!(body["access_token"].is_string(), "{body}");
    body
}

/// How many `client_authentication_failed` rows the audit log has for `client_id`.
fn failures(c: &mut Client, client_id: &str) -> i64 {
    c.query_one(
        "SELECT count(*) FROM oauth.audit_log
         WHERE event = 'client_authentication_failed' AND client_id = $1",
        &[&client_id],
    )
    .unwrap()
    .get(0)
}

/// The newest `client_authentication_failed` reason recorded for `client_id`.
fn last_reason(c: &mut Client, client_id: &str) -> String {
    c.query_one(
        "SELECT details ->> 'reason' FROM oauth.audit_log
         WHERE event = 'client_authentication_failed' AND client_id = $1 ORDER BY at DESC LIMIT 1",
        &[&client_id],
    )
    .unwrap()
    .get::<_, Option<String>>(0)
    .unwrap_or_default()
}

/// `request` is refused 401 `invalid_client` (asking the front for nothing) and audited once
/// for `client_id` → the reason recorded.
#[track_caller]
fn refused(
    c: &mut Client,
    client_id: &str,
    request: impl FnOnce(&mut Client) -> (Value, String),
) -> String {
    let before = failures(c, client_id);
    let (body, status) = request(c);
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401"),
        "{body}"
    );
    assert!(body.get("access_token").is_none(), "{body}");
    assert!(body.get("refresh_client_keys").is_none(), "{body}");
    assert_eq!(failures(c, client_id), before + 1, "audited once: {body}");
    last_reason(c, client_id)
}

/// [`grant`] with `assertion` refused and audited for `client`, for a reason naming `why`.
#[track_caller]
fn grant_refused(c: &mut Client, client: &TestClient, assertion: &str, why: &str) {
    let reason = refused(c, &client.id, |c| grant(c, assertion));
    assert!(reason.contains(why), "{why:?} in {reason:?}");
}

#[test]
fn an_inline_jwks_client_gets_client_credentials_tokens_with_no_secret_ever() {
    let db = TestDb::new("pkj_cc");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    let hash_is_null: bool = c
        .query_one(
            "SELECT client_secret_hash IS NULL FROM oauth.clients WHERE client_id = $1",
            &[&m.id],
        )
        .unwrap()
        .get(0);
    assert!(hash_is_null, "a private_key_jwt client stores no secret");

    let t = issued(grant(&mut c, &key.assertion(&m.id, TOKEN_AUD)));
    let claims = access_token_claims(&t);
    assert_eq!(claims["client_id"], json!(m.id), "{claims}");
    let published = json(&mut c, "SELECT oauth.jwks()", &[]);
    verify_with_jwks(&published, t["access_token"].as_str().unwrap()).unwrap();
    // With client_id in the form too; the issuer as audience (FAPI 2.0); a one-element list;
    // typ JWT or client-authentication+jwt; no kid (the registered keys are tried).
    let named = with_assertion(
        json!({"grant_type": "client_credentials", "client_id": m.id}),
        &key.assertion(&m.id, TOKEN_AUD),
    );
    issued(call(&mut c, "token", named, None));
    issued(grant(&mut c, &key.assertion(&m.id, ISSUER)));
    let listed = key.assertion_with(&m.id, TOKEN_AUD, json!({}), json!({"aud": [TOKEN_AUD]}));
    issued(grant(&mut c, &listed));
    for typ in ["JWT", "client-authentication+jwt"] {
        let typed = key.assertion_with(&m.id, TOKEN_AUD, json!({"typ": typ}), json!({}));
        issued(grant(&mut c, &typed));
    }
    let no_kid = key.assertion_with(&m.id, TOKEN_AUD, json!({"kid": null}), json!({}));
    issued(grant(&mut c, &no_kid));
    assert_eq!(failures(&mut c, &m.id), 0);
}

#[test]
fn a_replayed_assertion_is_refused_and_audited() {
    let db = TestDb::new("pkj_replay");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    let once = key.assertion(&m.id, TOKEN_AUD);
    issued(grant(&mut c, &once));
    grant_refused(&mut c, &m, &once, "jti");
    // Remembered for this client until the assertion has expired.
    let remembered: i64 = c
        .query_one(
            "SELECT count(*) FROM oauth.used_jtis WHERE kind = 'client_assertion' AND issuer = $1
             AND expires_at > now() + interval '50 seconds'",
            &[&m.id],
        )
        .unwrap()
        .get(0);
    assert_eq!(remembered, 1);
    // Another assertion, freshly signed, with the jti taken: refused too.
    let jti = jwt_parts(&once).1["jti"].clone();
    let resigned = key.assertion_with(&m.id, ISSUER, json!({}), json!({"jti": jti}));
    grant_refused(&mut c, &m, &resigned, "jti");
    // The memory is per client: another client may use the same jti.
    let other_key = ClientKey::new("k1");
    let other = machine(&mut c, &other_key);
    let same_jti = other_key.assertion_with(&other.id, TOKEN_AUD, json!({}), json!({"jti": jti}));
    issued(grant(&mut c, &same_jti));
}

#[test]
fn the_audience_is_this_server_alone() {
    let db = TestDb::new("pkj_aud");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    for aud in [
        json!("https://other.example/oauth/token"),
        json!("http://localhost:8080/oauth/userinfo"),
        json!("http://localhost:8080/"),
        json!([TOKEN_AUD, "https://other.example/oauth/token"]),
        json!([TOKEN_AUD, ISSUER]),
        json!([]),
        json!(null),
    ] {
        let a = key.assertion_with(&m.id, TOKEN_AUD, json!({}), json!({"aud": aud}));
        grant_refused(&mut c, &m, &a, "aud");
    }
    for aud in [
        ISSUER,
        TOKEN_AUD,
        "http://localhost:8080/oauth/par",
        "http://localhost:8080/oauth/introspect",
        "http://localhost:8080/oauth/revoke",
        "http://localhost:8080/oauth/device_authorization",
    ] {
        issued(grant(&mut c, &key.assertion(&m.id, aud)));
    }
    // The issuer is the setting's: the default's audience is then someone else's.
    db.set("issuer", "https://auth.example");
    let mut c = db.connect();
    grant_refused(&mut c, &m, &key.assertion(&m.id, TOKEN_AUD), "aud");
    issued(grant(&mut c, &key.assertion(&m.id, "https://auth.example")));
    issued(grant(
        &mut c,
        &key.assertion(&m.id, "https://auth.example/oauth/token"),
    ));
}

#[test]
fn an_assertion_is_short_lived_and_not_from_the_future() {
    let db = TestDb::new("pkj_exp");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    let t = now();
    for (claims, why) in [
        (json!({"exp": t + 600}), "exp"),
        (json!({"exp": null}), "exp"),
        (json!({"exp": t - 120}), "expired"),
        (json!({"exp": "soon"}), "exp"),
        (json!({"nbf": t + 120}), "nbf"),
        (json!({"iat": t + 120}), "iat"),
    ] {
        let a = key.assertion_with(&m.id, TOKEN_AUD, json!({}), claims.clone());
        grant_refused(&mut c, &m, &a, why);
    }
    // Five minutes ahead is the most; issued a moment ago and valid from now: taken.
    let a = key.assertion_with(&m.id, TOKEN_AUD, json!({}), json!({"exp": t + 290}));
    issued(grant(&mut c, &a));
    let a = key.assertion_with(&m.id, TOKEN_AUD, json!({}), json!({"nbf": t, "iat": t - 5}));
    issued(grant(&mut c, &a));
}

#[test]
fn an_assertion_needs_a_storable_jti() {
    let db = TestDb::new("pkj_jti");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    for jti in [
        json!(null),
        json!(""),
        json!("x".repeat(257)),
        json!("a\nb"),
        json!(42),
    ] {
        let a = key.assertion_with(&m.id, TOKEN_AUD, json!({}), json!({"jti": jti}));
        grant_refused(&mut c, &m, &a, "jti");
    }
    let a = key.assertion_with(&m.id, TOKEN_AUD, json!({}), json!({"jti": "y".repeat(256)}));
    issued(grant(&mut c, &a));
}

#[test]
fn iss_and_sub_are_the_client_the_request_names() {
    let db = TestDb::new("pkj_iss");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    let other_key = ClientKey::new("k2");
    let other = machine(&mut c, &other_key);
    for claims in [
        json!({"iss": other.id}),
        json!({"iss": null}),
        json!({"iss": "https://issuer.example"}),
    ] {
        let a = key.assertion_with(&m.id, TOKEN_AUD, json!({}), claims);
        grant_refused(&mut c, &m, &a, "iss");
    }
    // sub names the client whose keys verify it: a sub of another client is that client's
    // attempt, refused as such (m's key is not other's).
    let a = key.assertion_with(&m.id, TOKEN_AUD, json!({}), json!({"sub": other.id}));
    refused(&mut c, &other.id, |c| grant(c, &a));
    // The form's client_id must be the assertion's iss and sub.
    let a = key.assertion(&m.id, TOKEN_AUD);
    let form = with_assertion(
        json!({"grant_type": "client_credentials", "client_id": other.id}),
        &a,
    );
    refused(&mut c, &other.id, |c| call(c, "token", form, None));
    // other's own assertion, carrying m's client_id: refused, whatever other's key says.
    let a = other_key.assertion(&other.id, TOKEN_AUD);
    let form = with_assertion(
        json!({"grant_type": "client_credentials", "client_id": m.id}),
        &a,
    );
    refused(&mut c, &m.id, |c| call(c, "token", form, None));
    // Neither sub nor client_id: no client to authenticate.
    let a = key.assertion_with(&m.id, TOKEN_AUD, json!({}), json!({"sub": null}));
    let (body, status) = grant(&mut c, &a);
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401")
    );
}

#[test]
fn only_a_key_the_client_registered_verifies_its_assertions() {
    let db = TestDb::new("pkj_key");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    // Another client's key, with its own kid: m has no such key.
    let theirs = ClientKey::new("theirs");
    machine(&mut c, &theirs);
    grant_refused(&mut c, &m, &theirs.assertion(&m.id, TOKEN_AUD), "kid");
    // A key nobody registered, named as m's (same kid): its signature does not verify.
    let impostor = ClientKey::new("k1");
    grant_refused(
        &mut c,
        &m,
        &impostor.assertion(&m.id, TOKEN_AUD),
        "signature",
    );
    let unnamed = impostor.assertion_with(&m.id, TOKEN_AUD, json!({"kid": null}), json!({}));
    grant_refused(&mut c, &m, &unnamed, "signature");
    // m's own key under a kid it did not register.
    let renamed = key.assertion_with(&m.id, TOKEN_AUD, json!({"kid": "k9"}), json!({}));
    grant_refused(&mut c, &m, &renamed, "kid");
    // A signature by m's key over other claims than it signed.
    let good = key.assertion(&m.id, TOKEN_AUD);
    let mut parts: Vec<&str> = good.split('.').collect();
    let other_claims = key.assertion(&m.id, ISSUER);
    parts[1] = other_claims.split('.').nth(1).unwrap();
    grant_refused(&mut c, &m, &parts.join("."), "signature");
    issued(grant(&mut c, &good));
}

#[test]
fn none_and_hs256_are_refused_even_keyed_with_the_public_key() {
    let db = TestDb::new("pkj_alg");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    let none = key.assertion_with(&m.id, TOKEN_AUD, json!({"alg": "none"}), json!({}));
    grant_refused(&mut c, &m, &none, "alg");
    // HS256 with the public JWK's JSON as sent, as stored (what oauth.client shows), and with
    // the public point's bytes.
    let stored = json(
        &mut c,
        "SELECT oauth.client($1) -> 'jwks' -> 'keys' -> 0",
        &[&m.id],
    );
    for secret in [
        key.jwk().to_string().into_bytes(),
        stored.to_string().into_bytes(),
        key.public_key_bytes(),
    ] {
        let forged = key.hs256_forgery(&m.id, TOKEN_AUD, &secret);
        grant_refused(&mut c, &m, &forged, "alg");
    }
    let made = key.assertion_with(&m.id, TOKEN_AUD, json!({"alg": "HS256"}), json!({}));
    grant_refused(&mut c, &m, &made, "alg");
    // An asymmetric alg the key does not fit; a JWT of another kind; critical extensions.
    let rs = key.assertion_with(&m.id, TOKEN_AUD, json!({"alg": "RS256"}), json!({}));
    grant_refused(&mut c, &m, &rs, "kid");
    let dpop = key.assertion_with(&m.id, TOKEN_AUD, json!({"typ": "dpop+jwt"}), json!({}));
    grant_refused(&mut c, &m, &dpop, "typ");
    let crit = key.assertion_with(&m.id, TOKEN_AUD, json!({"crit": ["exp"]}), json!({}));
    grant_refused(&mut c, &m, &crit, "critical");
    // Longer than 16 KiB, however well signed: refused by the assertion's own limit, audited.
    // Longer than the form's 4 KiB limit on other parameters, and within 16 KiB: taken.
    let big = key.assertion_with(
        &m.id,
        TOKEN_AUD,
        json!({}),
        json!({"pad": "x".repeat(16 * 1024)}),
    );
    grant_refused(&mut c, &m, &big, "longer than");
    let large = key.assertion_with(
        &m.id,
        TOKEN_AUD,
        json!({}),
        json!({"pad": "x".repeat(9000)}),
    );
    assert!(
        large.len() > 8192 && large.len() < 16 * 1024,
        "{}",
        large.len()
    );
    issued(grant(&mut c, &large));
    issued(grant(&mut c, &key.assertion(&m.id, TOKEN_AUD)));
}

#[test]
fn one_authentication_method_per_request() {
    let db = TestDb::new("pkj_one");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    let basic = basic_header(&TestClient {
        id: m.id.clone(),
        secret: Some("anything".into()),
    });
    let both = |extra: Value, authorization: Option<&str>, c: &mut Client| {
        let mut form = with_assertion(client_credentials(), &key.assertion(&m.id, TOKEN_AUD));
        for (k, v) in extra.as_object().unwrap() {
            form[k] = v.clone();
        }
        call(c, "token", form, authorization)
    };
    for (extra, authorization) in [
        (json!({}), Some(basic.as_str())),
        (json!({"client_secret": "anything"}), None),
        (json!({"client_assertion_type": null}), None),
        (json!({"client_assertion": null}), None),
    ] {
        let (body, status) = both(extra.clone(), authorization, &mut c);
        assert_eq!(
            (body["error"].as_str(), status.as_str()),
            (Some("invalid_request"), "400"),
            "{extra} {authorization:?}: {body}"
        );
    }
    // Another assertion type: not ours to judge.
    let (body, status) = both(
        json!({"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}),
        None,
        &mut c,
    );
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_client"), "401")
    );
    issued(both(json!({}), None, &mut c));
}

#[test]
fn a_client_authenticates_only_the_way_it_registered() {
    let db = TestDb::new("pkj_method");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let m = machine(&mut c, &key);
    // A secret client sending an assertion (signed by a key it could never have registered).
    let secret_client = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('S', ARRAY[]::text[], grant_types => ARRAY['client_credentials'])",
        &[],
    ));
    let a = key.assertion(&secret_client.id, TOKEN_AUD);
    refused(&mut c, &secret_client.id, |c| grant(c, &a));
    issued(token_endpoint(&mut c, client_credentials(), &secret_client));
    // A private_key_jwt client sending a secret, Basic or in the form, or nothing at all.
    let guess = TestClient {
        id: m.id.clone(),
        secret: Some("guess".into()),
    };
    refused(&mut c, &m.id, |c| {
        token_endpoint(c, client_credentials(), &guess)
    });
    let form =
        json!({"grant_type": "client_credentials", "client_id": m.id, "client_secret": "guess"});
    refused(&mut c, &m.id, |c| call(c, "token", form, None));
    let form = json!({"grant_type": "client_credentials", "client_id": m.id});
    refused(&mut c, &m.id, |c| call(c, "token", form, None));
    // The grants that take a secret as an argument cannot carry an assertion.
    let r = json(
        &mut c,
        "SELECT oauth.refresh('not-a-token', $1, NULL, NULL)",
        &[&m.id],
    );
    assert_eq!(r["error"], "invalid_client", "{r}");
    issued(grant(&mut c, &key.assertion(&m.id, TOKEN_AUD)));
}
