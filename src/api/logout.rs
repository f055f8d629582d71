//! OpenID Connect RP-Initiated Logout 1.0: `oauth.end_session(params)`, the
//! `end_session_endpoint`. The `id_token_hint` (one of our ID tokens, expired or not) names
//! the client and, by its `sid`, the session to end; the browser goes back only to a
//! `post_logout_redirect_uri` that client registered, exactly.

use super::{respond, set_response_headers, set_response_status, ApiResult};
use crate::error::{invalid_request, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::redirect_uri;
use crate::services::pairwise::SubjectClient;
use crate::services::{keys, sessions};
use crate::store::clients;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn end_session_request(params: &Value) -> ApiResult<Value> {
    let p = Params::new(params)?;
    let hint = match p.get("id_token_hint")? {
        Some(t) => Some(keys::verify_id_token_hint(t).map_err(|e| {
            invalid_request(format!(
                "id_token_hint is not an ID token of this server: {}",
                e.message
            ))
        })?),
        None => None,
    };
    let hinted_client = hint
        .as_ref()
        .and_then(|c| c.get("aud"))
        .and_then(|a| a.as_str().map(String::from));
    let client_id = match (p.get("client_id")?, hinted_client) {
        (Some(given), Some(hinted)) if given != hinted => {
            return Err(invalid_request("client_id is not the audience of id_token_hint").into())
        }
        (given, hinted) => hinted.or(given.map(String::from)),
    };
    let target = match p.get("post_logout_redirect_uri")? {
        None => None,
        Some(uri) => {
            // Only with an ID token: a client_id alone would let anyone who can register a
            // client (dynamically, or by a metadata document) bounce browsers anywhere.
            if hint.is_none() {
                return Err(invalid_request("post_logout_redirect_uri needs id_token_hint").into());
            }
            let client = match &client_id {
                Some(id) => clients::find(id)?,
                None => None,
            }
            .ok_or_else(|| invalid_request("the client of id_token_hint no longer exists"))?;
            if !clients::post_logout_uris(&client.client_id)?
                .iter()
                .any(|u| u == uri)
            {
                return Err(OAuthError::InvalidRequest(
                    "post_logout_redirect_uri is not registered for this client".into(),
                )
                .into());
            }
            Some(uri.to_string())
        }
    };
    // The session as the hint's client was told it: enciphered for a pairwise client's sector.
    let presented = hint
        .as_ref()
        .and_then(|c| c.get("sid"))
        .and_then(Value::as_str);
    let sid = match (presented, &client_id) {
        (Some(sid), Some(id)) => match clients::find_stored(id)? {
            Some(c) => SubjectClient::of(&c)?.local_session_id(sid)?,
            None => None,
        },
        _ => None,
    };
    let ended = match sid {
        Some(sid) => sessions::end(&sid, "RP-initiated logout")?,
        None => false,
    };
    match target {
        // Only for the session the hint names, still active until now: an old or reused ID
        // token of a client anyone could register is no ticket to redirect browsers.
        Some(_) if !ended => Err(invalid_request(
            "id_token_hint names no active session: post_logout_redirect_uri is not followed",
        )
        .into()),
        Some(uri) => {
            let url = match p.get("state")? {
                Some(state) => redirect_uri::with_query(&uri, &[("state", state)]),
                None => uri,
            };
            set_response_status(303);
            set_response_headers(&[("Location", &url), ("Cache-Control", "no-store")]);
            Ok(json!({"redirect_to": url, "signed_out": ended}))
        }
        None => Ok(json!({"signed_out": ended})),
    }
}

/// The end-session endpoint: `params` is the query (GET) or form (POST) of the request.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn end_session(params: Option<JsonB>) -> JsonB {
    let params = params.map(|p| p.0).unwrap_or(json!({}));
    respond(end_session_request(&params))
}
