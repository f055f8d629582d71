//! An authorization request (the browser's, RFC 6749 §4.1.1 with PKCE), from its parameters to
//! the pending row: the client and redirect URI (whose failures never redirect), then every
//! other parameter, then the row and the consent page's URL. Shared by `oauth.authorize` and
//! pushed authorization requests (RFC 9126), which check a request when it is pushed and again
//! when it is used, against the client and settings of that moment.

use crate::error::{invalid_request, ApiResult, OAuthError};
use crate::model::GrantType;
use crate::protocol::params::Params;
use crate::protocol::{pkce, prompt, redirect_uri, secret};
use crate::services::requests::requested_scopes;
use crate::settings;
use crate::store::authorizations::{self, NewCodeRequest};
use crate::store::clients::{self, Client};
use serde_json::Value;

/// Longest `state` / `nonce` we store and echo.
pub const MAX_STATE_LEN: usize = 2048;

/// The client and where errors may go, once both are known to be genuine.
pub struct Identified<'a> {
    pub client: Client,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub state: Option<&'a str>,
}

/// Client and redirect URI: the checks whose failure must not redirect.
pub fn identify_client<'a>(p: &Params<'a>) -> ApiResult<Identified<'a>> {
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
    Ok(Identified {
        client,
        redirect_uri,
        redirect_uri_given: given,
        state,
    })
}

/// Every other parameter, checked: what the row will hold.
pub struct Checked<'a> {
    scopes: Vec<String>,
    state: Option<&'a str>,
    nonce: Option<&'a str>,
    challenge: String,
    resources: Vec<String>,
    prompt: Option<String>,
    max_age: Option<i32>,
    hint_sub: Option<String>,
    dpop_jkt: Option<&'a str>,
    consent_url: String,
    /// RFC 9126: the parameters came pushed (`oauth.par`), not in the query.
    pub pushed: bool,
}

/// Checks the request's parameters for `req`'s client; refusals are the client's to see (the
/// caller redirects them, or answers them as JSON for a pushed request).
pub fn check<'a>(p: &Params<'a>, req: &Identified) -> ApiResult<Checked<'a>> {
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
    let resources = crate::services::resources::requested_by(&req.client, &p.get_all("resource")?)?;
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
    Ok(Checked {
        scopes,
        state,
        nonce,
        challenge,
        resources,
        prompt,
        max_age,
        hint_sub,
        dpop_jkt,
        consent_url,
        pushed: false,
    })
}

/// Why a client's authorization requests must be pushed (RFC 9126 §5, §6), if they must: the
/// server's setting or the client's registration (`by_client`, its flag as loaded now). Asked
/// when a request arrives in the query, and again when one that did is shown or approved (the
/// rule may have come since).
pub fn pushing_required(by_client: bool) -> Option<&'static str> {
    if settings::require_pushed_authorization_requests() {
        Some("oauth_server.require_pushed_authorization_requests is on")
    } else if by_client {
        Some("this client is registered with require_pushed_authorization_requests")
    } else {
        None
    }
}

/// The refusal of a request that was not pushed where pushing is required.
pub fn must_be_pushed(why: &str) -> OAuthError {
    OAuthError::InvalidRequest(format!(
        "authorization requests must be pushed first (POST /oauth/par, then request_uri): {why}"
    ))
}

/// Stores the checked request as pending; the consent page's URL to send the browser to.
pub fn store_pending(req: &Identified, c: &Checked) -> ApiResult<String> {
    // Keys exist before the first code is issued, so the JWKS announces them before they sign.
    crate::services::keys::current_signer()?;
    let id = secret::random_token(secret::TOKEN_BYTES);
    authorizations::create_code_request(&NewCodeRequest {
        id: &id,
        client_id: &req.client.client_id,
        redirect_uri: &req.redirect_uri,
        redirect_uri_given: req.redirect_uri_given,
        scopes: &c.scopes,
        state: c.state,
        nonce: c.nonce,
        code_challenge: &c.challenge,
        resources: &c.resources,
        prompt: c.prompt.as_deref(),
        max_age: c.max_age,
        hint_sub: c.hint_sub.as_deref(),
        dpop_jkt: c.dpop_jkt,
        pushed: c.pushed,
        lifetime_secs: settings::code_lifetime(),
    })?;
    // The consent page learns prompt and max_age before it has a session: with prompt=none
    // it must show nothing, with login or max_age it must sign the user in again.
    let max_age = c.max_age.map(|m| m.to_string());
    let mut query = vec![("authorization_id", id.as_str())];
    if let Some(p) = &c.prompt {
        query.push(("prompt", p));
    }
    if let Some(m) = &max_age {
        query.push(("max_age", m));
    }
    Ok(redirect_uri::with_query(&c.consent_url, &query))
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
