//! `oauth.authorize(params)`: validates an authorization request and stores it as pending,
//! then sends the browser to the app's consent page. Errors go back to the client's redirect
//! URI only once the client and that URI are known to be genuine (RFC 6749 §4.1.2.1); before
//! that they are returned as JSON and never redirect, or we would be an open redirector.
//!
//! A pushed request (RFC 9126) arrives as `request_uri` + `client_id`: its stored parameters,
//! and nothing else of the query, are the request, checked again as of now.

use super::{respond, set_response_headers, set_response_status, ApiResult};
use crate::error::invalid_request;
use crate::protocol::params::Params;
use crate::protocol::redirect_uri;
use crate::services::authorization_requests::{self as requests, Identified};
use crate::settings;
use crate::store::pushed_requests;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn authorize(params: Option<JsonB>) -> JsonB {
    let params = params.map(|p| p.0).unwrap_or(Value::Null);
    respond(authorize_request(&params))
}

fn authorize_request(params: &Value) -> ApiResult<Value> {
    let p = Params::new(params)?;
    if let Some(request_uri) = p.get("request_uri")? {
        let client_id = p
            .get("client_id")?
            .ok_or_else(|| invalid_request("client_id is required with request_uri"))?;
        let pushed = pushed_requests::take(request_uri, client_id)?;
        return authorize_checked(&pushed, true);
    }
    authorize_checked(params, false)
}

/// The request's own parameters (`pushed`: stored by the PAR endpoint, for this client).
fn authorize_checked(params: &Value, pushed: bool) -> ApiResult<Value> {
    let p = Params::new(params)?;
    let req = requests::identify_client(&p)?;
    if !pushed {
        ensure_not_required(&req)?;
    }
    // From here on, errors are redirected to the client with state and iss.
    let stored = requests::check(&p, &req).and_then(|mut c| {
        c.pushed = pushed;
        requests::store_pending(&req, &c)
    });
    match stored {
        Ok(consent) => Ok(redirect(&consent)),
        Err(super::Failure::OAuth(e)) => Ok(redirect(&redirect_uri::with_query(
            &req.redirect_uri,
            &e.redirect_params(req.state, &settings::issuer())
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        ))),
        Err(misuse) => Err(misuse),
    }
}

/// RFC 9126 §5: where pushed requests are required (server-wide or for this client), a
/// request in the query is refused, never redirected (nothing in it is vouched for).
fn ensure_not_required(req: &Identified) -> ApiResult<()> {
    match requests::pushing_required(req.client.require_pushed_authorization_requests) {
        Some(why) => Err(requests::must_be_pushed(why).into()),
        None => Ok(()),
    }
}

/// `{"redirect_to": url}` with `response.status` 302 and `Location`, so PostgREST (or any
/// HTTP layer that honours those settings) answers with the redirect itself.
fn redirect(url: &str) -> Value {
    set_response_status(302);
    set_response_headers(&[("Location", url)]);
    json!({ "redirect_to": url })
}
