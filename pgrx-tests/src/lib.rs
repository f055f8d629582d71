//! Harness for the end-to-end tests: a real PostgreSQL cluster with oauth_server installed,
//! driven over libpq. `scripts/test.sh` starts the cluster and sets `OAUTH_TEST_PGHOST` and
//! `OAUTH_TEST_PGPORT`; every test gets its own database so settings never leak between tests.

pub mod assertion;
pub mod dpop;
pub mod jose;
pub mod oauthbearer;
pub mod par;
pub mod stand_in;
pub mod trusted;

use postgres::{Client, NoTls};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "https://app.example/callback";
pub const LOOPBACK: &str = "http://127.0.0.1/callback";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn conn_string(db: &str, user: &str) -> String {
    let host = std::env::var("OAUTH_TEST_PGHOST")
        .expect("OAUTH_TEST_PGHOST is not set: run the suite with scripts/test.sh, which starts the cluster");
    let port = std::env::var("OAUTH_TEST_PGPORT").unwrap_or_else(|_| "5432".into());
    format!("host={host} port={port} user={user} dbname={db}")
}

/// A database of its own with the extension installed.
pub struct TestDb {
    pub name: String,
}

/// The database every test's is copied from: the extension freshly installed, made once per run
/// of the suite (per process), from the library and scripts installed at that moment. Copying
/// it (CREATE DATABASE … TEMPLATE) takes a third of an empty database plus CREATE EXTENSION;
/// nothing is lost by sharing it, as the install writes no row (the signing keys, the only
/// secrets, are made on first use: each database makes its own).
///
/// The install reads one thing of the cluster: whether the role `authenticated` exists
/// (finalize.sql grants it the session-claims functions then). Tests create it, and roles are
/// the cluster's: so there is a template for each answer, and each test's copy is the one
/// CREATE EXTENSION would have made at that moment. Anything else the install comes to read of
/// the cluster needs its place in this key.
fn template() -> String {
    static TEMPLATES: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let with_authenticated: bool = admin()
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated')",
            &[],
        )
        .unwrap()
        .get(0);
    TEMPLATES[usize::from(with_authenticated)]
        .get_or_init(|| {
            let name = format!(
                "t_template_{}{}",
                std::process::id(),
                if with_authenticated {
                    "_authenticated"
                } else {
                    ""
                }
            );
            let mut admin = admin();
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            // Closed before the first copy: a template may have no other connection while
            // copied.
            Client::connect(&conn_string(&name, "postgres"), NoTls)
                .expect("connect to the template database")
                .batch_execute("CREATE EXTENSION oauth_server")
                .unwrap();
            name
        })
        .clone()
}

fn admin() -> Client {
    Client::connect(&conn_string("postgres", "postgres"), NoTls)
        .expect("connect to the test cluster")
}

impl TestDb {
    pub fn new(tag: &str) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("t_{}_{}_{}", tag, std::process::id(), n);
        let template = template();
        // Two statements: neither may run in the transaction block one string would make.
        let mut admin = admin();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .unwrap();
        TestDb { name }
    }

    /// A new connection as the superuser (the extension's owner).
    pub fn connect(&self) -> Client {
        Client::connect(&conn_string(&self.name, "postgres"), NoTls).unwrap()
    }

    /// A new connection as another role.
    pub fn connect_as(&self, role: &str) -> Client {
        Client::connect(&conn_string(&self.name, role), NoTls).unwrap()
    }

    /// Sets `oauth_server.*` for new connections to this database.
    pub fn set(&self, setting: &str, value: &str) {
        self.connect()
            .batch_execute(&format!(
                "ALTER DATABASE {} SET oauth_server.{setting} = '{value}'",
                self.name
            ))
            .unwrap();
    }
}

/// One JSON value from a query returning jsonb.
pub fn json(c: &mut Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> Value {
    c.query_one(sql, params)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// The SQLSTATE of a statement that must fail.
pub fn sqlstate(c: &mut Client, sql: &str) -> String {
    match c.batch_execute(sql) {
        Ok(()) => panic!("expected an error from {sql}"),
        Err(e) => sqlstate_in(&e),
    }
}

/// The SQLSTATE `sql` with `$1 = arg` raises, or "ok": one value to compare, so that a test
/// states in the same shape that a call passes before a change and why it is refused after.
pub fn sqlstate_of(c: &mut Client, sql: &str, arg: &str) -> String {
    match c.query_one(sql, &[&arg]) {
        Ok(_) => "ok".into(),
        Err(e) => sqlstate_in(&e),
    }
}

/// [`sqlstate_of`] `oauth.verify(access_token)`: whether a resource server would accept it.
pub fn verify_sqlstate(c: &mut Client, access_token: &str) -> String {
    sqlstate_of(c, "SELECT oauth.verify($1)", access_token)
}

/// [`sqlstate_of`] `oauth.verify_session(token)`: whether the front would take it as a login.
pub fn verify_session_sqlstate(c: &mut Client, session_token: &str) -> String {
    sqlstate_of(c, "SELECT oauth.verify_session($1)", session_token)
}

/// The SQLSTATE of `e`, or why it has none (the connection failed: no answer of the server's).
fn sqlstate_in(e: &postgres::Error) -> String {
    e.code()
        .map(|s| s.code().to_string())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

impl TestClient {
    /// The client a `create_client` or `register_client` answer describes.
    pub fn from_json(v: &Value) -> TestClient {
        TestClient {
            id: v["client_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no client_id in {v}"))
                .into(),
            secret: v["client_secret"].as_str().map(String::from),
        }
    }
}

pub fn create_client(c: &mut Client, redirect_uris: &[&str], client_type: &str) -> TestClient {
    let uris: Vec<String> = redirect_uris.iter().map(|s| s.to_string()).collect();
    let v = json(
        c,
        "SELECT oauth.create_client('Test app', $1, $2)",
        &[&uris, &client_type],
    );
    TestClient::from_json(&v)
}

/// The value of a query parameter of a redirect URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// A standard authorization request for `client`.
pub fn auth_params(client: &TestClient, redirect_uri: &str, scope: &str) -> Value {
    serde_json::json!({
        "client_id": client.id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": scope, "state": "st-123", "nonce": "n-456",
        "code_challenge": CHALLENGE, "code_challenge_method": "S256",
    })
}

pub fn authorize(c: &mut Client, params: &Value) -> Value {
    json(c, "SELECT oauth.authorize($1)", &[params])
}

/// Runs `f` in a transaction where `request.jwt.claims` says `claims`.
pub fn as_user<T>(
    c: &mut Client,
    claims: &Value,
    f: impl FnOnce(&mut postgres::Transaction) -> T,
) -> T {
    let mut tx = c.transaction().unwrap();
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&claims.to_string()],
    )
    .unwrap();
    let out = f(&mut tx);
    tx.commit().unwrap();
    out
}

/// Runs `sql` with `$1 = arg` as the user whose claims are `claims`; returns its jsonb.
pub fn call_as(c: &mut Client, claims: &Value, sql: &str, arg: &str) -> Value {
    as_user(c, claims, |tx| {
        tx.query_one(sql, &[&arg])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    })
}

/// authorize → the id of the pending request.
pub fn pending(c: &mut Client, params: &Value) -> String {
    let r = authorize(c, params);
    query_param(
        r["redirect_to"]
            .as_str()
            .unwrap_or_else(|| panic!("authorize failed: {r}")),
        "authorization_id",
    )
    .unwrap()
}

pub fn user(sub: &str) -> Value {
    serde_json::json!({"sub": sub, "role": "authenticated"})
}

/// authorize → authorization → consent(approve) as `sub`; returns the code.
pub fn get_code(
    c: &mut Client,
    client: &TestClient,
    redirect_uri: &str,
    scope: &str,
    sub: &str,
) -> String {
    let r = authorize(c, &auth_params(client, redirect_uri, scope));
    let to = r["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("authorize failed: {r}"));
    let aid = query_param(to, "authorization_id").unwrap();
    let out = as_user(c, &user(sub), |tx| {
        let d: Value = tx
            .query_one("SELECT oauth.authorization($1)", &[&aid])
            .unwrap()
            .get(0);
        if d.get("redirect_to").is_some() {
            return d;
        }
        tx.query_one("SELECT oauth.consent($1, true)", &[&aid])
            .unwrap()
            .get(0)
    });
    let to = out["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("consent failed: {out}"));
    query_param(to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

pub fn exchange(c: &mut Client, client: &TestClient, code: &str, redirect_uri: &str) -> Value {
    json(
        c,
        "SELECT oauth.exchange_code($1, $2, $3, $4, $5)",
        &[&code, &VERIFIER, &redirect_uri, &client.id, &client.secret],
    )
}

/// The SQLSTATE `exchange_code` raises for `code` (it must raise).
pub fn exchange_sqlstate(c: &mut Client, client: &TestClient, code: &str) -> String {
    let err = c
        .query_one(
            "SELECT oauth.exchange_code($1, $2, $3, $4, $5)",
            &[&code, &VERIFIER, &REDIRECT, &client.id, &client.secret],
        )
        .expect_err("exchange_code should have raised");
    sqlstate_in(&err)
}

pub fn refresh(c: &mut Client, client: &TestClient, token: &str, scope: Option<&str>) -> Value {
    json(
        c,
        "SELECT oauth.refresh($1, $2, $3, $4)",
        &[&token, &client.id, &client.secret, &scope],
    )
}

/// A full flow for `sub`; returns the token response.
pub fn tokens(c: &mut Client, client: &TestClient, scope: &str, sub: &str) -> Value {
    let code = get_code(c, client, REDIRECT, scope, sub);
    let t = exchange(c, client, &code, REDIRECT);
    assert!(t.get("access_token").is_some(), "exchange failed: {t}");
    t
}

/// Decodes a JWT's header and claims without verifying (tests verify separately).
pub fn jwt_parts(token: &str) -> (Value, Value) {
    use base64::Engine;
    let d = |s: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap(),
        )
        .unwrap()
    };
    let mut it = token.split('.');
    (d(it.next().unwrap()), d(it.next().unwrap()))
}

/// Verifies a JWT independently of the extension: with the JWKS it publishes, through the
/// jsonwebtoken crate.
pub fn verify_with_jwks(jwks: &Value, token: &str) -> Result<Value, String> {
    let (header, _) = jwt_parts(token);
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .ok_or("kid not in JWKS")?;
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(jwk.clone()).map_err(|e| e.to_string())?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    let alg: jsonwebtoken::Algorithm = header["alg"]
        .as_str()
        .unwrap()
        .parse()
        .map_err(|e: jsonwebtoken::errors::Error| e.to_string())?;
    let mut v = jsonwebtoken::Validation::new(alg);
    v.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

/// The `Authorization: Basic …` header of `client` (id and secret, RFC 6749 §2.3.1).
pub fn basic_header(client: &TestClient) -> String {
    use base64::Engine;
    let raw = format!("{}:{}", client.id, client.secret.as_deref().unwrap_or(""));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Runs `sql` (returning jsonb) and reads the `response.status` it set, in one transaction.
pub fn status_of(
    c: &mut Client,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> (Value, String) {
    let mut tx = c.transaction().unwrap();
    let body: Value = tx.query_one(sql, params).unwrap().get(0);
    let status: Option<String> = tx
        .query_one("SELECT current_setting('response.status', true)", &[])
        .unwrap()
        .get(0);
    tx.commit().unwrap();
    (body, status.unwrap_or_default())
}

// What the grounds tests (issue 28) do over and over, shared so that a new test of a decision
// that outlives its grounds obtains, changes and uses the same way the others do.

/// `oauth.token(form, authorization)` as `client` authenticating with HTTP Basic, as the front
/// calls it for `POST /oauth/token` → (body, response.status).
pub fn token_endpoint(c: &mut Client, form: Value, client: &TestClient) -> (Value, String) {
    status_of(
        c,
        "SELECT oauth.token($1, $2)",
        &[&form, &Some(basic_header(client))],
    )
}

/// `oauth.token(form, authorization)` as [`token_endpoint`] calls it, inside a transaction
/// rolled back → the body: what the grant answers now, the code or refresh token left as it
/// was, so that one test can ask again after each change of the grounds.
pub fn peek_token_endpoint(c: &mut Client, form: Value, client: &TestClient) -> Value {
    let mut tx = c.transaction().unwrap();
    let body: Value = tx
        .query_one(
            "SELECT oauth.token($1, $2)",
            &[&form, &Some(basic_header(client))],
        )
        .unwrap_or_else(|e| panic!("oauth.token({form}): {e}"))
        .get(0);
    tx.rollback().unwrap();
    body
}

/// The form of the authorization code grant for a code of a request made with
/// [`auth_params`] at [`REDIRECT`].
fn code_grant(code: &str) -> Value {
    serde_json::json!({"grant_type": "authorization_code", "code": code,
                       "code_verifier": VERIFIER, "redirect_uri": REDIRECT})
}

/// The authorization code grant at the token endpoint, for a code of a request made with
/// [`auth_params`] at [`REDIRECT`] → (body, response.status).
pub fn redeem_code(c: &mut Client, client: &TestClient, code: &str) -> (Value, String) {
    token_endpoint(c, code_grant(code), client)
}

/// [`redeem_code`] without redeeming (see [`peek_token_endpoint`]) → the body.
pub fn peek_redeem_code(c: &mut Client, client: &TestClient, code: &str) -> Value {
    peek_token_endpoint(c, code_grant(code), client)
}

/// The refresh_token grant (no other parameter) without rotating the token (see
/// [`peek_token_endpoint`]) → the body.
pub fn peek_refresh_grant(c: &mut Client, client: &TestClient, refresh_token: &str) -> Value {
    peek_token_endpoint(
        c,
        serde_json::json!({"grant_type": "refresh_token", "refresh_token": refresh_token}),
        client,
    )
}

/// The refresh_token grant at the token endpoint with `extra` form parameters (`scope`,
/// `resource`, …) → (body, response.status).
pub fn refresh_grant(
    c: &mut Client,
    client: &TestClient,
    refresh_token: &str,
    extra: Value,
) -> (Value, String) {
    let mut form =
        serde_json::json!({"grant_type": "refresh_token", "refresh_token": refresh_token});
    for (k, v) in extra
        .as_object()
        .expect("extra form parameters as an object")
    {
        form[k] = v.clone();
    }
    token_endpoint(c, form, client)
}

/// The id of a pending request of `client` for `scope` at [`REDIRECT`], naming `resources`
/// (RFC 8707) when there are any.
pub fn pending_request(
    c: &mut Client,
    client: &TestClient,
    scope: &str,
    resources: &[&str],
) -> String {
    let mut p = auth_params(client, REDIRECT, scope);
    if !resources.is_empty() {
        p["resource"] = serde_json::json!(resources);
    }
    pending(c, &p)
}

/// A code for a request of `client` for `scope` and `resources`, approved by `sub` (with
/// `oauth.consent`, whatever an earlier consent covers).
pub fn approved_code(
    c: &mut Client,
    client: &TestClient,
    scope: &str,
    resources: &[&str],
    sub: &str,
) -> String {
    let aid = pending_request(c, client, scope, resources);
    let out = call_as(c, &user(sub), "SELECT oauth.consent($1, true)", &aid);
    let to = out["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("consent failed: {out}"));
    query_param(to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

/// The claims of a token response's access token (decoded, not verified).
pub fn access_token_claims(token_response: &Value) -> Value {
    jwt_parts(
        token_response["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token in {token_response}")),
    )
    .1
}

/// `oauth.update_client(client_id, changes)`.
pub fn update_client(c: &mut Client, client: &TestClient, changes: Value) {
    json(
        c,
        "SELECT oauth.update_client($1, $2)",
        &[&client.id, &changes],
    );
}

/// A session token of ours for `sub` (`oauth.issue_session_token`).
pub fn session_token(c: &mut Client, sub: &str) -> String {
    c.query_one("SELECT oauth.issue_session_token($1)", &[&sub])
        .unwrap()
        .get(0)
}

/// `oauth.introspect` of `token`, asked by the resource server `rs` with HTTP Basic.
pub fn introspect(c: &mut Client, rs: &TestClient, token: &str) -> Value {
    let (body, _) = status_of(
        c,
        "SELECT oauth.introspect($1, $2)",
        &[
            &serde_json::json!({ "token": token }),
            &Some(basic_header(rs)),
        ],
    );
    body
}

/// The `user_*` audit events (disabled, enabled, deleted) of user `sub`, oldest first: what the
/// triggers on `oauth.users` recorded, whichever way the change was written.
pub fn user_events(c: &mut Client, sub: &str) -> Vec<String> {
    c.query(
        "SELECT event FROM oauth.audit_log WHERE user_id = $1 AND event LIKE 'user\\_%' ORDER BY at",
        &[&sub],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}
