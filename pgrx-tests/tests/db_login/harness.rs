//! The stack scripts/db-login-test.sh starts (a PostgreSQL 18 cluster with the validator, the
//! database `app` holding the extension, the client allowed to sign in), and the ways a test
//! obtains tokens there: the device grant in SQL, approved as a user through the consent API.

use oauth_server_e2e::oauthbearer::{self, Refused, Session};
use oauth_server_e2e::{as_user, json, jwt_parts, status_of};
use postgres::{Client, NoTls};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const APP: &str = "postgres://127.0.0.1/app";
pub const OTHER: &str = "postgres://127.0.0.1/other";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests with scripts/db-login-test.sh, which starts the PostgreSQL 18 stack they sign in to")
    })
}

pub fn port() -> u16 {
    env("OAUTH_DB_LOGIN_PGPORT").parse().unwrap()
}

/// The client `oauth_server.db_login_clients` names.
pub fn allowed_client() -> String {
    env("OAUTH_DB_LOGIN_CLIENT")
}

/// The administrator, in `database` (over the socket, where pg_hba.conf trusts).
pub fn admin(database: &str) -> Client {
    let host = env("OAUTH_DB_LOGIN_PGHOST");
    Client::connect(
        &format!(
            "host={host} port={} user=postgres dbname={database}",
            port()
        ),
        NoTls,
    )
    .unwrap()
}

/// A user name of its own for each call: the tests share one database.
pub fn fresh_user(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// The claims of a session of ours for `sub` (`oauth.issue_session_token`), as the consent API
/// sees a signed-in user; the session token too.
pub fn our_session(c: &mut Client, sub: &str) -> (String, Value) {
    let token: String = c
        .query_one("SELECT oauth.issue_session_token($1)", &[&sub])
        .unwrap()
        .get(0);
    let (_, claims) = jwt_parts(&token);
    (token, claims)
}

/// The device grant of `client_id` with `extra` parameters, approved by the user whose
/// session claims are `user`: the token response.
pub fn device_tokens(c: &mut Client, client_id: &str, user: &Value, extra: Value) -> Value {
    let mut form = json!({"client_id": client_id, "scope": "openid db:login"});
    for (k, v) in extra.as_object().unwrap() {
        form[k] = v.clone();
    }
    let started = json(c, "SELECT oauth.device_authorization($1, NULL)", &[&form]);
    let user_code = started["user_code"]
        .as_str()
        .unwrap_or_else(|| panic!("device_authorization: {started}"))
        .to_string();
    let approved = as_user(c, user, |tx| {
        let shown: Value = tx
            .query_one("SELECT oauth.authorization($1)", &[&user_code])
            .unwrap()
            .get(0);
        let aid = shown["authorization_id"]
            .as_str()
            .unwrap_or_else(|| panic!("authorization: {shown}"))
            .to_string();
        let decided: Value = tx
            .query_one("SELECT oauth.consent($1, true)", &[&aid])
            .unwrap()
            .get(0);
        decided
    });
    assert_eq!(approved["approved"], true, "{approved}");
    let (body, status) = status_of(
        c,
        "SELECT oauth.token($1, NULL)",
        &[
            &json!({"grant_type": DEVICE, "device_code": started["device_code"], "client_id": client_id}),
        ],
    );
    assert!(body["access_token"].is_string(), "{status}: {body}");
    body
}

/// A user of ours with a live session, and the allowed client's tokens for the app database.
pub fn signed_in_user(c: &mut Client, tag: &str) -> (String, Value) {
    let sub = fresh_user(tag);
    let (_, claims) = our_session(c, &sub);
    let tokens = device_tokens(c, &allowed_client(), &claims, json!({}));
    (sub, tokens)
}

pub fn sign_in(database: &str, role: &str, token: &str) -> Result<Session, Refused> {
    oauthbearer::sign_in("127.0.0.1", port(), database, role, Some(token))
}

pub fn app_user(token: &str) -> Result<Session, Refused> {
    sign_in("app", "app_user", token)
}

/// A refusal is the SASL failure (RFC 7628 §3.2.2) then SQLSTATE 28000, saying nothing of why.
pub fn assert_refused(r: Result<Session, Refused>, what: &str) {
    match r {
        Ok(_) => panic!("{what}: signed in"),
        Err(e) => {
            assert_eq!(e.code, "28000", "{what}: {e:?}");
            assert_eq!(
                e.challenge.as_ref().map(|c| c["status"].clone()),
                Some(json!("invalid_token")),
                "{what}: {e:?}"
            );
        }
    }
}

/// Waits until `token` is refused (the change committed just before reached the snapshot):
/// how long that took. Fails if it never does within the staleness bound and a margin.
pub fn refused_within(token: &str, what: &str) -> Duration {
    refused_within_at("app", token, what)
}

/// [`refused_within`] at `database`.
pub fn refused_within_at(database: &str, token: &str, what: &str) -> Duration {
    let start = Instant::now();
    loop {
        match sign_in(database, "app_user", token) {
            // Refused, or (signed in a moment before the worker saw the change) ended by it.
            Err(e) if e.code == "28000" || e.code == "57P01" => return start.elapsed(),
            Err(e) => panic!("{what}: {e:?}"),
            Ok(_) if start.elapsed() > Duration::from_secs(20) => {
                panic!("{what}: still signing in after {:?}", start.elapsed())
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Waits until `token` signs in again (a change that restores its grounds reached the
/// snapshot). Fails if it does not within the staleness bound and a margin.
pub fn signs_in_within(token: &str, what: &str) {
    let start = Instant::now();
    while let Err(e) = app_user(token) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what}: still refused after {:?}: {e:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Signs `claims` with the server's current signing key, as the server would (a test reaching
/// into the database for the private key: the only way to make an expired token of ours).
pub fn signed_by_us(c: &mut Client, header: Value, claims: &Value) -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let row = c
        .query_one(
            "SELECT kid, private_key FROM oauth.signing_keys WHERE status = 'current' AND kek_id IS NULL",
            &[],
        )
        .unwrap();
    let kid: String = row.get(0);
    let der: Vec<u8> = row.get(1);
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap();
    let mut header = header;
    header["kid"] = json!(kid);
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", b64(&header), b64(claims));
    let sig = key.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// A user of ours (a row of `oauth.users`), signed in with a session of ours, and the allowed
/// client's access token for the app database: (sub, access token).
pub fn user_of_ours(c: &mut Client, tag: &str) -> (String, String) {
    let sub = fresh_user(tag);
    c.execute(
        "INSERT INTO oauth.users (id, email) VALUES ($1, $1 || '@example.com')",
        &[&sub],
    )
    .unwrap();
    let (_, claims) = our_session(c, &sub);
    let tokens = device_tokens(c, &allowed_client(), &claims, json!({}));
    let token = tokens["access_token"].as_str().unwrap().to_string();
    (sub, token)
}
