//! Pushed authorization requests (RFC 9126): the client sends its authorization request over a
//! back channel, authenticated, and gets a `request_uri` to send the browser with instead. The
//! request is checked here as `oauth.authorize` would check it (refusals are JSON, never
//! redirects), stored for a minute, and checked again when it is used.
//!
//! `oauth.par(form, authorization, dpop)` is `POST /oauth/par` as one call; with explicit
//! credentials, `oauth.push_authorization_request(params, client_id, client_secret)`.

use super::{respond, set_no_store, set_response_status, ApiResult};
use crate::error::{invalid_request, OAuthError};
use crate::protocol::params::Params;
use crate::services::authorization_requests as requests;
use crate::services::client_auth::{authenticate, authenticate_request};
use crate::services::dpop;
use crate::settings;
use crate::store::clients::Client;
use crate::store::pushed_requests;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// The authorization request's parameters that `oauth.authorize` reads: only these are stored
/// (RFC 6749 §3.1: others are ignored), so a push stores no more than a request could say, and
/// never the client's credentials.
const AUTHORIZATION_PARAMETERS: &[&str] = &[
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "prompt",
    "max_age",
    "id_token_hint",
    "dpop_jkt",
];

fn push(client: &Client, form: &Value, dpop_proof: Option<&str>) -> ApiResult<Value> {
    let Value::Object(fields) = form else {
        return Err(invalid_request("request parameters must be a JSON object").into());
    };
    // RFC 9126 §2.1: a pushed request cannot point at another one, nor carry a request object
    // (which this server does not take anywhere).
    for key in ["request_uri", "request"] {
        if fields.contains_key(key) {
            return Err(
                invalid_request(format!("{key} is not allowed in a pushed request")).into(),
            );
        }
    }
    let mut request: serde_json::Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| AUTHORIZATION_PARAMETERS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match request.get("client_id") {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) if *id == client.client_id => {}
        Some(_) => {
            return Err(invalid_request("client_id is not the authenticated client's").into());
        }
    }
    request.insert("client_id".into(), json!(client.client_id));
    // RFC 9449 §10.1: a proof here binds the code as dpop_jkt does (and must agree with it).
    let proven = dpop::check(
        dpop_proof,
        "POST",
        &dpop::endpoint_url("/oauth/par"),
        None,
        settings::dpop_nonce(),
    )?;
    if let Some(p) = &proven {
        match request.get("dpop_jkt").and_then(Value::as_str) {
            Some(j) if j != p.jkt => {
                return Err(OAuthError::InvalidDpopProof(
                    "dpop_jkt is not the thumbprint of the DPoP proof's key".into(),
                )
                .into())
            }
            _ => {
                request.insert("dpop_jkt".into(), json!(p.jkt));
            }
        }
    }
    let request = Value::Object(request);
    let p = Params::new(&request)?;
    let identified = requests::identify_client(&p)?;
    requests::check(&p, &identified)?;
    let request_uri = pushed_requests::push(&client.client_id, &request)?;
    set_response_status(201);
    set_no_store();
    Ok(json!({
        "request_uri": request_uri,
        "expires_in": pushed_requests::LIFETIME_SECS,
    }))
}

/// `POST /oauth/par` (RFC 9126 §2): client authentication as at `token`, the request's
/// parameters in `form`, the `DPoP` header (RFC 9449 §10.1) in `dpop`. 201 with `request_uri`
/// (single use, by this client, 60 s) and `expires_in`; refusals are RFC 6749 JSON.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn par(
    form: Option<JsonB>,
    authorization: default!(Option<&str>, "NULL"),
    dpop: default!(Option<&str>, "NULL"),
) -> JsonB {
    let form = form.map(|f| f.0).unwrap_or(Value::Null);
    let result = Params::new(&form)
        .map_err(Into::into)
        .and_then(|p| authenticate_request(&p, authorization))
        .and_then(|client| push(&client, &form, dpop));
    let body = respond(result);
    dpop::announce_nonce(dpop.is_some());
    body
}

/// A pushed authorization request with explicit credentials: `params` are the authorization
/// request's, `client_id` and `client_secret` (NULL for a public client) authenticate it.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn push_authorization_request(
    params: Option<JsonB>,
    client_id: Option<&str>,
    client_secret: default!(Option<&str>, "NULL"),
) -> JsonB {
    let params = params.map(|p| p.0).unwrap_or(Value::Null);
    respond(authenticate(client_id, client_secret).and_then(|c| push(&c, &params, None)))
}
