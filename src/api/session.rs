//! Who is calling: the signed-in user of the consent API, read the PostgREST way from
//! `request.jwt.claims`, or from a session token verified here. A token issued to an OAuth
//! client (it has `client_id`) is never a user session: otherwise a third-party app holding a
//! user's access token could approve consents or revoke grants on its own; nor is an ID
//! token, which any client the user signed in to holds.

use super::issuers::{policy_for_claims, verify_session_token};
use super::ApiResult;
use crate::error::{Misuse, OAuthError};
use crate::protocol::prompt;
use crate::protocol::token_kind::{self, TokenKind};
use crate::protocol::user_claims;
use crate::settings;
use serde_json::Value;

/// The caller as the consent API sees them.
pub struct Caller {
    pub user_id: String,
    /// When the user authenticated, if the session says (see `prompt::session_auth_time`).
    pub auth_time: Option<i64>,
    /// The session's OpenID Connect user claims (email, name, …), normalised.
    pub user_claims: Value,
}

/// Raw `request.jwt.claims` of this transaction, if set.
pub fn raw_claims() -> Option<String> {
    let ptr = unsafe { pgrx::pg_sys::GetConfigOption(c"request.jwt.claims".as_ptr(), true, false) };
    if ptr.is_null() {
        return None;
    }
    let s = unsafe { std::ffi::CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned();
    (!s.is_empty()).then_some(s)
}

/// The caller from already-verified claims (PostgREST's or the front's).
pub fn from_claims(claims: &Value) -> ApiResult<Caller> {
    let ours = claims.get("iss").and_then(Value::as_str) == Some(settings::issuer().as_str());
    // A trusted issuer's claims as its token carried them (PostgREST's) are judged by its
    // policy, exactly as its token is by verify_session; what verify_session returned (the
    // front's) says it is a session already.
    let normalised;
    let is_session =
        claims.get(token_kind::KIND_CLAIM).and_then(Value::as_str) == Some(token_kind::SESSION);
    let claims = if ours || is_session {
        claims
    } else {
        match policy_for_claims(claims)? {
            None => claims,
            Some(Ok(session)) => {
                normalised = session;
                &normalised
            }
            Some(Err(why)) => return Err(OAuthError::AccessDenied(why).into()),
        }
    };
    match token_kind::of_claims(claims, ours) {
        TokenKind::Session => {}
        TokenKind::Access => {
            return Err(OAuthError::AccessDenied(
                "a token issued to an OAuth client is not a user session".into(),
            )
            .into())
        }
        other => {
            return Err(
                OAuthError::AccessDenied(format!("{} is not a user session", other.name())).into(),
            )
        }
    }
    let user_id = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            OAuthError::LoginRequired("no signed-in user: the session has no sub".into())
        })?;
    let auth_time = prompt::session_auth_time(claims);
    Ok(Caller {
        user_id: user_id.to_string(),
        auth_time,
        user_claims: Value::Object(user_claims::normalise(claims)),
    })
}

/// The caller from `request.jwt.claims`.
pub fn from_request() -> ApiResult<Caller> {
    let raw = raw_claims().ok_or_else(|| {
        OAuthError::LoginRequired("no signed-in user: request.jwt.claims is not set".into())
    })?;
    let claims: Value = serde_json::from_str(&raw)
        .map_err(|_| OAuthError::LoginRequired("request.jwt.claims is not valid JSON".into()))?;
    from_claims(&claims)
}

/// The caller from a session token verified here: ours, or a trusted issuer's.
pub fn from_token(token: Option<&str>) -> ApiResult<Caller> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::LoginRequired("no session token".into()))?;
    let claims = verify_session_token(token).map_err(|e| match e.kind {
        Misuse::Privilege => OAuthError::AccessDenied(e.message),
        _ => OAuthError::LoginRequired(e.message),
    })?;
    from_claims(&claims)
}
