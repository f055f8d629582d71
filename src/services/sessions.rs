//! Sessions: who is calling. The signed-in user of the consent API, read the PostgREST way from
//! `request.jwt.claims`, or from a session token verified here (ours, or a trusted issuer's).
//! A token issued to an OAuth client (it has `client_id`) is never a user session: otherwise a
//! third-party app holding a user's access token could approve consents or revoke grants on
//! its own; nor is an ID token, which any client the user signed in to holds.

use crate::api::ApiResult;
use crate::error::{Misuse, MisuseError, OAuthError};
use crate::protocol::issuer_policy::IssuerPolicy;
use crate::protocol::prompt;
use crate::protocol::session_jwt::{self, SessionError};
use crate::protocol::token_kind::{self, TokenKind};
use crate::protocol::user_claims;
use crate::services::keys;
use crate::settings;
use crate::store::{db, issuers, sessions};
use serde_json::{json, Value};

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
        TokenKind::Session if ours => {
            ensure_live(claims).map_err(|e| OAuthError::LoginRequired(e.message))?
        }
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
    let mut user_claims = user_claims::normalise(claims);
    // Our session's id travels with the grant, so its ID tokens carry `sid` (RP-initiated
    // logout names the session by it).
    if ours {
        if let Some(sid) = claims.get("sid").filter(|v| v.is_string()) {
            user_claims.insert("sid".into(), sid.clone());
        }
    }
    Ok(Caller {
        user_id: user_id.to_string(),
        auth_time,
        user_claims: Value::Object(user_claims),
    })
}

/// One of our session tokens is good only while its session (`sid`) is: signed out, logged
/// out or revoked sessions end before their tokens expire.
fn ensure_live(claims: &Value) -> Result<(), MisuseError> {
    let sid = claims
        .get("sid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if sessions::is_active(sid)? {
        Ok(())
    } else {
        Err(MisuseError::new(
            Misuse::InvalidToken,
            "the session has ended (signed out, logged out or revoked)",
        ))
    }
}

/// Starts a first-party session of `sub`: a row of `oauth.sessions` and a session token
/// naming it (`sid`), signed with our key. `extra` are further claims (email, name, …),
/// already checked by the caller. Returns the token and the session id.
pub fn start(
    sub: &str,
    provider: Option<&str>,
    extra: Value,
) -> Result<(String, String), MisuseError> {
    let lifetime = settings::session_token_lifetime();
    let sid = sessions::create(sub, provider, lifetime as f64)?;
    let signer = keys::current_signer()?;
    let now = db::now_epoch()?;
    let mut c = json!({
        "aud": settings::default_audience(),
        "role": settings::default_role(),
        "auth_time": now,
    });
    if let Some(extra) = extra.as_object() {
        for (k, v) in extra {
            c[k] = v.clone();
        }
    }
    for (k, v) in [
        ("iss", json!(settings::issuer())),
        ("sub", json!(sub)),
        ("iat", json!(now)),
        ("exp", json!(now + lifetime)),
        ("sid", json!(sid)),
        (token_kind::KIND_CLAIM, json!(token_kind::SESSION)),
    ] {
        c[k] = v;
    }
    Ok((signer.sign(token_kind::JWT_TYP, &c)?, sid))
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

/// Verifies a user's session token: ours (checked with our keys) or a trusted issuer's
/// (checked with its keys and policy, then normalised). Errors are 28000.
pub fn verify_session_token(token: &str) -> Result<Value, MisuseError> {
    let invalid = |m: String| MisuseError::new(Misuse::InvalidToken, m);
    let iss = session_jwt::unverified_issuer(token).map_err(invalid)?;
    if iss == settings::issuer() {
        let claims = keys::verify_our_session(token)?;
        ensure_live(&claims)?;
        return Ok(claims);
    }
    let stored = issuers::find(&iss)?.ok_or_else(|| {
        invalid(format!("token issuer {iss} is not trusted"))
            .hint("an administrator trusts an issuer with oauth.add_issuer")
    })?;
    let policy = IssuerPolicy::from_options(&iss, &stored.options)
        .map_err(|e| MisuseError::new(Misuse::Misconfigured, format!("issuer {iss}: {e}")))?;
    session_jwt::verify(token, &policy, &stored.jwks, settings::clock_skew()).map_err(|e| {
        let refused = invalid(e.message(&iss));
        match e {
            SessionError::UnknownKey { .. } => {
                refused.detail(oauth_core::wire::unknown_kid_detail(&iss))
            }
            SessionError::Invalid(_) => refused,
        }
    })
}

/// Claims a caller already verified (PostgREST sets `request.jwt.claims` from a token it
/// checked) judged by the same policy as `verify_session`: `None` when `iss` is not a
/// trusted issuer, else the normalised session or why it is none.
pub fn policy_for_claims(claims: &Value) -> Result<Option<Result<Value, String>>, MisuseError> {
    let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
        return Ok(None);
    };
    let Some(options) = issuers::options(iss)? else {
        return Ok(None);
    };
    let policy = IssuerPolicy::from_options(iss, &options)
        .map_err(|e| MisuseError::new(Misuse::Misconfigured, format!("issuer {iss}: {e}")))?;
    Ok(Some(session_jwt::normalise(claims.clone(), &policy)))
}

/// `oauth.sign_out`: ends the session of one of our session tokens.
pub fn sign_out(token: Option<&str>) -> ApiResult<Value> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::LoginRequired("no session token".into()))?;
    let claims =
        keys::verify_our_session(token).map_err(|e| OAuthError::InvalidToken(e.message))?;
    let sid = claims
        .get("sid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ended = sessions::end(sid, "signed out")?;
    if let Some(user) = &ended {
        crate::store::audit::record("signed_out", None, Some(user), json!({"sid": sid}))?;
    }
    Ok(json!({"signed_out": true, "ended": ended.is_some()}))
}

/// Ends session `sid` (RP-initiated logout); whether it was active.
pub fn end(sid: &str, reason: &str) -> Result<bool, MisuseError> {
    let ended = sessions::end(sid, reason)?;
    if let Some(user) = &ended {
        crate::store::audit::record(
            "signed_out",
            None,
            Some(user),
            json!({"sid": sid, "reason": reason}),
        )?;
    }
    Ok(ended.is_some())
}
