//! `oauth.userinfo(access_token)` (OIDC Core §5.3): the user claims the access token's scopes
//! release (`services::user_claims` says where they come from).

use super::{respond, set_response_headers, ApiResult};
use crate::error::OAuthError;
use crate::protocol::scope;
use crate::services::keys::verify_access_token;
use crate::services::user_claims;
use crate::store::{db, grants};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Map, Value};

fn userinfo_response(access_token: Option<&str>) -> ApiResult<Value> {
    let token = access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::InvalidToken("an access token is required".into()))?;
    let claims = verify_access_token(token).map_err(|e| OAuthError::InvalidToken(e.message))?;
    let (Some(client_id), Some(session_id)) = (
        claims.get("client_id").and_then(Value::as_str),
        claims.get("session_id").and_then(Value::as_str),
    ) else {
        return Err(
            OAuthError::InvalidToken("not an access token issued to a client".into()).into(),
        );
    };
    let scopes =
        scope::parse(claims.get("scope").and_then(Value::as_str).unwrap_or("")).unwrap_or_default();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::InsufficientScope(
            "userinfo needs an access token with the openid scope".into(),
        )
        .into());
    }
    // A session_id that is not a uuid names no grant (and must not make the cast raise).
    let grant = if db::is_uuid(session_id) {
        grants::find_live(session_id)?
    } else {
        None
    }
    .ok_or_else(|| OAuthError::InvalidToken("the grant of this token is revoked".into()))?;
    let mut out = Map::new();
    out.insert("sub".into(), json!(grant.user_id));
    out.extend(user_claims::for_user(
        &grant.user_id,
        client_id,
        &scopes,
        grant.user_claims.as_ref(),
    )?);
    set_response_headers(&[("Cache-Control", "no-store")]);
    Ok(Value::Object(out))
}

/// The UserInfo endpoint: the signed-in user's claims, as the access token's scopes allow.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn userinfo(access_token: Option<&str>) -> JsonB {
    let result = userinfo_response(access_token);
    let challenge = match &result {
        Err(super::Failure::OAuth(e)) => e.www_authenticate(),
        _ => None,
    };
    let body = respond(result);
    // RFC 9728 §5.1: a 401 from a protected resource says where its metadata is, so that a
    // client (an MCP client, say) can find the authorization server from the challenge alone.
    if let Some(c) = challenge {
        let url = crate::protocol::resource::metadata_url(&crate::settings::issuer());
        super::set_response_headers(&[(
            "WWW-Authenticate",
            &format!("{c}, resource_metadata=\"{url}\""),
        )]);
    }
    body
}
