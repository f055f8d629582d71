//! Pushed authorization requests (RFC 9126) as the libpq suite drives them: `oauth.par` as a
//! client calls it, the `request_uri` it answers, `oauth.authorize` with it, and what consent,
//! the code and the stored rows then say.

use crate::*;
use postgres::Client;
use serde_json::{json, Value};

/// The PAR endpoint under the default issuer: the `htu` of proofs for `oauth.par`.
pub const PAR_URL: &str = "http://localhost:8080/oauth/par";
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
pub const OTHER_REDIRECT: &str = "https://app.example/other";

/// `oauth.par(form, authorization, dpop)` as `client`: HTTP Basic when it has a secret, its
/// `client_id` in the form when public → (body, response.status).
pub fn par(
    c: &mut Client,
    client: &TestClient,
    form: Value,
    proof: Option<&str>,
) -> (Value, String) {
    as_client(c, "SELECT oauth.par($1, $2, $3)", client, form, proof)
}

/// `sql` (an endpoint function taking form, Authorization and DPoP) as `client`: HTTP Basic
/// when it has a secret, its `client_id` in the form when public → (body, response.status).
fn as_client(
    c: &mut Client,
    sql: &str,
    client: &TestClient,
    mut form: Value,
    proof: Option<&str>,
) -> (Value, String) {
    let authorization = client.secret.as_ref().map(|_| basic_header(client));
    if authorization.is_none() {
        form["client_id"] = json!(client.id);
    }
    status_of(c, sql, &[&form, &authorization, &proof])
}

/// The `request_uri` of a successful push (201, `expires_in` 60, the RFC's URN).
#[track_caller]
pub fn pushed(answer: (Value, String)) -> String {
    let (body, status) = answer;
    assert_eq!(status, "201", "{body}");
    assert_eq!(body["expires_in"], 60, "{body}");
    let uri = body["request_uri"]
        .as_str()
        .unwrap_or_else(|| panic!("no request_uri in {body}"));
    assert!(uri.starts_with(REQUEST_URI_PREFIX), "{uri}");
    assert!(uri.len() > REQUEST_URI_PREFIX.len() + 20, "{uri}");
    uri.to_string()
}

/// Pushes `params` as `client` (no DPoP) → the `request_uri`.
pub fn push(c: &mut Client, client: &TestClient, params: Value) -> String {
    pushed(par(c, client, params, None))
}

/// The request [`auth_params`] makes, with `state` of its own.
pub fn request(client: &TestClient, scope: &str, state: &str) -> Value {
    let mut p = auth_params(client, REDIRECT, scope);
    p["state"] = json!(state);
    p
}

/// `oauth.authorize` with `client_id` + `request_uri` and the `extra` query parameters →
/// (body, response.status).
pub fn use_pushed(
    c: &mut Client,
    client_id: &str,
    request_uri: &str,
    extra: Value,
) -> (Value, String) {
    let mut q = json!({"client_id": client_id, "request_uri": request_uri});
    for (k, v) in extra.as_object().unwrap() {
        q[k] = v.clone();
    }
    status_of(c, "SELECT oauth.authorize($1)", &[&q])
}

/// The id of the pending request an authorize answer sends the browser to consent for.
#[track_caller]
pub fn to_consent(answer: &(Value, String)) -> String {
    let (body, status) = answer;
    assert_eq!(status, "302", "{body}");
    let to = body["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("not a redirect: {body}"));
    query_param(to, "authorization_id").unwrap_or_else(|| panic!("not to consent: {to}"))
}

/// A refusal as JSON with `error` and status 400, sending the browser nowhere → the
/// description.
#[track_caller]
pub fn refused_json(answer: &(Value, String), error: &str) -> String {
    let (body, status) = answer;
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some(error), "400"),
        "{body}"
    );
    assert!(body.get("redirect_to").is_none(), "{body}");
    body["error_description"].as_str().unwrap_or("").to_string()
}

/// `sub` approves the pending request `aid` → the client's callback URL.
pub fn approve(c: &mut Client, aid: &str, sub: &str) -> String {
    let out = call_as(c, &user(sub), "SELECT oauth.consent($1, true)", aid);
    out["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("consent failed: {out}"))
        .to_string()
}

pub fn code_in(callback: &str) -> String {
    query_param(callback, "code").unwrap_or_else(|| panic!("no code in {callback}"))
}

pub fn code_form(code: &str) -> Value {
    json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
           "redirect_uri": REDIRECT})
}

/// `oauth.token(form, authorization, dpop)` as `client` (as [`par`] authenticates) →
/// (body, response.status).
pub fn token(
    c: &mut Client,
    client: &TestClient,
    form: Value,
    proof: Option<&str>,
) -> (Value, String) {
    as_client(c, "SELECT oauth.token($1, $2, $3)", client, form, proof)
}

pub fn stored_requests(c: &mut Client) -> Value {
    json(
        c,
        "SELECT to_jsonb(count(*)) FROM oauth.pushed_requests",
        &[],
    )
}

/// The pending request `aid` as stored: what consent and the code will carry.
pub fn pending_row(c: &mut Client, aid: &str) -> Value {
    json(
        c,
        "SELECT jsonb_build_object('redirect_uri', redirect_uri, 'scopes', scopes, 'state', state,
                'nonce', nonce, 'code_challenge', code_challenge, 'prompt', prompt,
                'client_id', client_id)
           FROM oauth.authorizations WHERE id = $1",
        &[&aid],
    )
}
