//! Obtaining things through a trusted issuer's session: trusting a stand-in issuer, the
//! session tokens it signs, and the codes, token families and device requests such a session
//! approves. The grounds tests (issue 28) change the issuer or its policy afterwards and check
//! what each of these still obtains; obtaining them one way keeps every such test starting
//! from the same decision. The approving helpers take any session token, ours included, so
//! that a namesake of ours is obtained exactly like the trusted issuer's user it is compared to.

use crate::stand_in::{now, StandInIssuer};
use crate::{
    auth_params, basic_header, exchange, json, pending, query_param, TestClient, REDIRECT,
};
use postgres::Client;
use serde_json::{json, Value};

/// `base` with each field of the object `extra` added or replacing its own.
fn with_fields(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra
        .as_object()
        .unwrap_or_else(|| panic!("extra fields as an object, not {extra}"))
    {
        base[k] = v.clone();
    }
    base
}

/// Trusts `issuer` with `options` (`oauth.add_issuer`) → the entry added. Its keys are given
/// inline and never fetched (`refresh: false`): a stand-in publishes no JWKS, and a test must
/// not wait on the network. `options` may override either.
pub fn trust(c: &mut Client, issuer: &StandInIssuer, options: Value) -> Value {
    let options = with_fields(json!({"jwks": issuer.jwks(), "refresh": false}), options);
    json(
        c,
        "SELECT oauth.add_issuer($1, $2)",
        &[&issuer.issuer, &options],
    )
}

/// `oauth.update_issuer(issuer, changes)`: the issuer's policy changed after its sessions
/// approved something.
pub fn update_issuer(c: &mut Client, issuer: &StandInIssuer, changes: Value) {
    json(
        c,
        "SELECT oauth.update_issuer($1, $2)",
        &[&issuer.issuer, &changes],
    );
}

/// The claims of a session of `iss` for `sub`, issued now and valid for ten minutes, with
/// `extra` claims added or replacing these. Any issuer's, trusted or not, ours included: the
/// same claims go either into a signed token or, as PostgREST and the front set them, into
/// `request.jwt.claims`.
pub fn session_claims(iss: &str, sub: &str, extra: Value) -> Value {
    let t = now();
    with_fields(
        json!({"iss": iss, "sub": sub, "iat": t, "exp": t + 600}),
        extra,
    )
}

/// A session token `issuer` signed for `sub`, with `extra` claims (see [`session_claims`]).
pub fn session_token_of(issuer: &StandInIssuer, sub: &str, extra: Value) -> String {
    issuer.token(session_claims(&issuer.issuer, sub, extra))
}

/// A code for a request of `client` for `scope` at [`REDIRECT`], approved with the session
/// `token` (`oauth.authorization`, then `oauth.consent` unless an earlier consent already
/// approved it).
pub fn code_via(c: &mut Client, client: &TestClient, token: &str, scope: &str) -> String {
    let aid = pending(c, &auth_params(client, REDIRECT, scope));
    let shown = json(c, "SELECT oauth.authorization($1, $2)", &[&aid, &token]);
    let done = if shown.get("redirect_to").is_some() {
        shown
    } else {
        json(c, "SELECT oauth.consent($1, true, $2)", &[&aid, &token])
    };
    let to = done["redirect_to"]
        .as_str()
        .unwrap_or_else(|| panic!("no code: {done}"));
    query_param(to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

/// The token response of a family of `client` for `scope` started with the session `token`
/// (a [`code_via`] exchanged); it has a refresh token, the family's handle.
pub fn family_via(c: &mut Client, client: &TestClient, token: &str, scope: &str) -> Value {
    let code = code_via(c, client, token, scope);
    let t = exchange(c, client, &code, REDIRECT);
    assert!(t["refresh_token"].is_string(), "{t}");
    t
}

/// A device request of `client` for `openid`, approved with the session `token` → its device
/// code, for polling.
pub fn device_code_via(c: &mut Client, client: &TestClient, token: &str) -> String {
    let d = json(
        c,
        "SELECT oauth.device_authorization($1, $2)",
        &[&json!({"scope": "openid"}), &basic_header(client)],
    );
    let user_code = d["user_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no user code: {d}"));
    let shown = json(
        c,
        "SELECT oauth.authorization($1, $2)",
        &[&user_code, &token],
    );
    let aid = shown["authorization_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{shown}"));
    let done = json(c, "SELECT oauth.consent($1, true, $2)", &[&aid, &token]);
    assert_eq!(done["approved"], true, "{done}");
    d["device_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no device code: {d}"))
        .to_string()
}
