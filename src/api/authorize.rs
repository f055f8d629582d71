//! `oauth.authorize(params)`: validates an authorization request and stores it as pending,
//! then sends the browser to the app's consent page. Errors go back to the client's redirect
//! URI only once the client and that URI are known to be genuine (RFC 6749 §4.1.2.1); before
//! that they are returned as JSON and never redirect, or we would be an open redirector.

use super::{respond, set_response_headers, set_response_status, ApiResult};
use crate::error::{invalid_request, OAuthError};
use crate::model::GrantType;
use crate::protocol::params::Params;
use crate::protocol::{pkce, prompt, redirect_uri, secret};
use crate::services::requests::requested_scopes;
use crate::settings;
use crate::store::authorizations::{self, NewCodeRequest};
use crate::store::clients::{self, Client};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// Longest `state` / `nonce` we store and echo.
const MAX_STATE_LEN: usize = 2048;

#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn authorize(params: Option<JsonB>) -> JsonB {
    let params = params.map(|p| p.0).unwrap_or(Value::Null);
    respond(authorize_request(&params))
}

/// The request as validated, before it is stored.
struct Request<'a> {
    client: Client,
    redirect_uri: String,
    redirect_uri_given: bool,
    state: Option<&'a str>,
}

fn authorize_request(params: &Value) -> ApiResult<Value> {
    let p = Params::new(params)?;
    let req = identify_client(&p)?;
    // From here on, errors are redirected to the client with state and iss.
    match store_pending(&p, &req) {
        Ok(v) => Ok(v),
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

/// Client and redirect URI: the checks whose failure must not redirect.
fn identify_client<'a>(p: &Params<'a>) -> ApiResult<Request<'a>> {
    let client_id = p
        .get("client_id")?
        .ok_or_else(|| invalid_request("client_id is required"))?;
    // `find` refuses a client today's switches stop, naming the setting; never redirected.
    let client = clients::find(client_id)?.ok_or_else(|| clients::unknown(client_id))?;
    let (redirect_uri, given) = match p.get("redirect_uri")? {
        Some(requested) => match redirect_uri::find_match(&client.redirect_uris, requested) {
            Some(uri) => (uri.to_string(), true),
            None => {
                return Err(
                    invalid_request("redirect_uri is not registered for this client").into(),
                )
            }
        },
        // Omitting redirect_uri is allowed only when exactly one, non-loopback URI is registered.
        None if client.redirect_uris.len() == 1
            && !client.redirect_uris[0].starts_with("http://") =>
        {
            (client.redirect_uris[0].clone(), false)
        }
        None => return Err(invalid_request("redirect_uri is required").into()),
    };
    // `state` is echoed even on errors about other parameters, when it is itself usable.
    let state = p
        .get("state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= MAX_STATE_LEN);
    Ok(Request {
        client,
        redirect_uri,
        redirect_uri_given: given,
        state,
    })
}

fn store_pending(p: &Params, req: &Request) -> ApiResult<Value> {
    match p.get("response_type")? {
        Some("code") => {}
        None => return Err(invalid_request("response_type is required").into()),
        Some(other) => {
            return Err(OAuthError::UnsupportedResponseType(format!(
                "response_type {other:?} is not supported; use code"
            ))
            .into())
        }
    }
    if !req.client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the authorization code grant".into(),
        )
        .into());
    }
    let challenge =
        pkce::validate_challenge(p.get("code_challenge")?, p.get("code_challenge_method")?)?;
    let scopes = requested_scopes(&req.client, p.get("scope")?)?;
    let state = p.get("state")?;
    let nonce = p.get("nonce")?;
    for (name, v) in [("state", state), ("nonce", nonce)] {
        if v.is_some_and(|v| v.len() > MAX_STATE_LEN) {
            return Err(invalid_request(format!(
                "{name} is longer than {MAX_STATE_LEN} characters"
            ))
            .into());
        }
    }
    let resources = crate::services::resources::requested(&p.get_all("resource")?)?;
    let prompt = prompt::parse(p.get("prompt")?).map_err(invalid_request)?;
    let max_age = prompt::parse_max_age(p.get("max_age")?).map_err(invalid_request)?;
    let hint_sub = hinted_user(p.get("id_token_hint")?, &req.client.client_id)?;
    // RFC 9449 §10: the code is bound to this key; the token request must prove it.
    let dpop_jkt = p.get("dpop_jkt")?;
    if dpop_jkt.is_some_and(|j| !crate::protocol::dpop::valid_jkt(j)) {
        return Err(invalid_request(
            "dpop_jkt must be the base64url SHA-256 JWK thumbprint of the DPoP key (43 characters)",
        )
        .into());
    }
    let consent_url = settings::consent_url().ok_or_else(|| {
        crate::error::MisuseError::new(
            crate::error::Misuse::Misconfigured,
            "oauth_server.consent_url is not set",
        )
        .hint("ALTER DATABASE … SET oauth_server.consent_url = 'https://app.example/consent'")
    })?;
    // Keys exist before the first code is issued, so the JWKS announces them before they sign.
    crate::services::keys::current_signer()?;
    let id = secret::random_token(secret::TOKEN_BYTES);
    authorizations::create_code_request(&NewCodeRequest {
        id: &id,
        client_id: &req.client.client_id,
        redirect_uri: &req.redirect_uri,
        redirect_uri_given: req.redirect_uri_given,
        scopes: &scopes,
        state,
        nonce,
        code_challenge: &challenge,
        resources: &resources,
        prompt: prompt.as_deref(),
        max_age,
        hint_sub: hint_sub.as_deref(),
        dpop_jkt,
        lifetime_secs: settings::code_lifetime(),
    })?;
    // The consent page learns prompt and max_age before it has a session: with prompt=none
    // it must show nothing, with login or max_age it must sign the user in again.
    let max_age = max_age.map(|m| m.to_string());
    let mut query = vec![("authorization_id", id.as_str())];
    if let Some(p) = &prompt {
        query.push(("prompt", p));
    }
    if let Some(m) = &max_age {
        query.push(("max_age", m));
    }
    Ok(redirect(&redirect_uri::with_query(&consent_url, &query)))
}

/// The user an `id_token_hint` names (OIDC Core §3.1.2.1): the `sub` of an ID token we
/// issued to this client. Expired ones are hints still (the ID token's lifetime is minutes;
/// the hint is needed exactly when the client comes back later, and it grants nothing: it
/// only narrows who may answer), within the grace `end_session` allows too. Anything else,
/// or another client's ID token, is `invalid_request`: a hint that cannot be honoured must
/// not be ignored, or the code goes to whoever is signed in.
fn hinted_user(hint: Option<&str>, client_id: &str) -> ApiResult<Option<String>> {
    let Some(hint) = hint else { return Ok(None) };
    let claims = crate::services::keys::verify_id_token_hint(hint).map_err(|e| {
        invalid_request(format!(
            "id_token_hint is not an ID token of this server: {}",
            e.message
        ))
    })?;
    if !prompt::hint_is_for(&claims, client_id) {
        return Err(invalid_request("id_token_hint was issued to another client").into());
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid_request("id_token_hint has no sub"))?;
    Ok(Some(sub.to_string()))
}

/// `{"redirect_to": url}` with `response.status` 302 and `Location`, so PostgREST (or any
/// HTTP layer that honours those settings) answers with the redirect itself.
fn redirect(url: &str) -> Value {
    set_response_status(302);
    set_response_headers(&[("Location", url)]);
    json!({ "redirect_to": url })
}
