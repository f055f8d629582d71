//! Sessions: who is calling. The signed-in user of the consent API, read the PostgREST way from
//! `request.jwt.claims`, or from a session token verified here (ours, or a trusted issuer's).
//! A token issued to an OAuth client (it has `client_id`) is never a user session: otherwise a
//! third-party app holding a user's access token could approve consents or revoke grants on
//! its own; nor is an ID token, which any client the user signed in to holds.

use crate::audit_events::AuditEvent;
use crate::error::{ApiResult, Misuse, MisuseError, OAuthError};
use crate::protocol::issuer;
use crate::protocol::prompt;
use crate::protocol::session_jwt::{self, SessionError};
use crate::protocol::token_kind::{self, TokenKind};
use crate::protocol::user_claims;
use crate::services::{keys, trusted_sessions};
use crate::settings;
use crate::store::{accounts, db, issuers, sessions};
use serde_json::{json, Value};

/// The caller as the consent API sees them.
pub struct Caller {
    pub user_id: String,
    /// When the user authenticated, if the session says (see `prompt::session_auth_time`;
    /// for ours, only their signed `auth_time`: `prompt::our_session_auth_time`).
    pub auth_time: Option<i64>,
    /// Whether the session is one of ours: its `auth_time` is by our clock (no skew).
    pub ours: bool,
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

/// The caller from claims someone verified (PostgREST's `request.jwt.claims`), judged as
/// their token would be by `verify_session` ([`judge_claims`]).
pub fn from_claims(claims: &Value) -> ApiResult<Caller> {
    let (session, ours) = judge_claims(claims)?;
    caller(&session, ours)
}

/// Verified claims judged by whose they are; the session's claims and whether it is ours.
/// - `iss` exactly ours ([`issuer::same`]): ours only as a session (`token_use: session`, no
///   other kind's marks) whose `sid` names an active session;
/// - `iss` of a trusted issuer: its whole policy, `enabled` included, and the revocations of
///   its users, whatever `token_use` says (`trusted_sessions::judge_claims`);
/// - any other `iss`: refused, whoever verified the token (a removed issuer, ours respelt);
/// - no `iss`: the install's own login whose token PostgREST verified with its own secret,
///   which names no issuer to judge by; still only a session (`caller` checks the kind).
fn judge_claims(claims: &Value) -> ApiResult<(Value, bool)> {
    match claims.get("iss").filter(|v| !v.is_null()) {
        None => Ok((claims.clone(), false)),
        Some(Value::String(iss)) if issuer::same(iss, &settings::issuer()) => {
            // The kind first: an older session of ours without token_use is of no kind.
            ensure_session_kind(claims, true)?;
            ensure_live(claims).map_err(|e| OAuthError::LoginRequired(e.message))?;
            Ok((claims.clone(), true))
        }
        Some(Value::String(iss)) => Ok((trusted_sessions::judge_claims(iss, claims)?, false)),
        Some(other) => Err(OAuthError::AccessDenied(format!(
            "the session's iss {other} is not a string"
        ))
        .into()),
    }
}

/// Refuses claims of any kind but a user session: an access token (it carries `client_id`),
/// an ID token, a security event, a token of ours of no kind.
fn ensure_session_kind(claims: &Value, ours: bool) -> ApiResult<()> {
    match token_kind::of_claims(claims, ours) {
        TokenKind::Session => Ok(()),
        TokenKind::Access => Err(OAuthError::AccessDenied(
            "a token issued to an OAuth client is not a user session".into(),
        )
        .into()),
        other => {
            Err(OAuthError::AccessDenied(format!("{} is not a user session", other.name())).into())
        }
    }
}

/// The caller of a judged session: the one place a `Caller` is built, whichever path the
/// session came by (claims, the front's verified claims, a token).
fn caller(claims: &Value, ours: bool) -> ApiResult<Caller> {
    ensure_session_kind(claims, ours)?;
    caller_of_verified(claims, ours)
}

/// A trusted issuer's user from one of its tokens that token exchange takes as the subject
/// (RFC 8693): a session, or an OpenID Connect ID token issued to the audience its policy pins
/// (never an access token, which carries a client). Verified as `from_token` verifies.
pub fn from_exchanged_token(token: &str) -> ApiResult<Caller> {
    let claims = verify_session_token(token).map_err(|e| match e.kind {
        Misuse::Privilege => OAuthError::AccessDenied(e.message),
        _ => OAuthError::LoginRequired(e.message),
    })?;
    // A security event (a logout token: `events`) reads as an assertion like an ID token, and
    // is nobody's sign-in.
    let event = claims.get("events").is_some_and(|e| !e.is_null());
    match token_kind::of_claims(&claims, false) {
        TokenKind::Session | TokenKind::Id if !event => caller_of_verified(&claims, false),
        other => Err(OAuthError::AccessDenied(format!(
            "{} is not a user's session or ID token",
            other.name()
        ))
        .into()),
    }
}

/// The caller of claims whose kind was judged already.
fn caller_of_verified(claims: &Value, ours: bool) -> ApiResult<Caller> {
    let user_id = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            OAuthError::LoginRequired("no signed-in user: the session has no sub".into())
        })?;
    let auth_time = if ours {
        prompt::our_session_auth_time(claims)
    } else {
        prompt::session_auth_time(claims)
    };
    let mut user_claims = user_claims::normalise(claims);
    // Our session's id travels with the grant, so its ID tokens carry `sid` (RP-initiated
    // logout names the session by it).
    if ours {
        if let Some(sid) = claims.get("sid").filter(|v| v.is_string()) {
            user_claims.insert("sid".into(), sid.clone());
        }
    }
    // So does the issuer of the session: user ids of different issuers share one namespace,
    // and `oauth.revoke_user` revokes only what this issuer's user (or nobody known) approved.
    if let Some(iss) = claims.get("iss").filter(|v| v.is_string()) {
        user_claims.insert("iss".into(), iss.clone());
        // And, for a trusted issuer's session (judged by its policy on every path that reaches
        // here not ours), what that policy judged: every later use of what this session
        // approves judges it again by the policy of that day (`session_jwt::rejudge`). Never
        // released by a scope, so never in an ID token or userinfo.
        if !ours {
            if let Some(judged) = claims.get(session_jwt::RECORD) {
                user_claims.insert(session_jwt::RECORD.into(), judged.clone());
            }
        }
    }
    // A disabled or deleted user's session approves, lists and revokes nothing.
    match user_standing(claims)? {
        Some(Fallen::Disabled(m)) => return Err(OAuthError::AccessDenied(m).into()),
        Some(Fallen::Deleted(m)) => return Err(OAuthError::LoginRequired(m).into()),
        None => {}
    }
    Ok(Caller {
        user_id: user_id.to_string(),
        auth_time,
        ours,
        user_claims: Value::Object(user_claims),
    })
}

/// Why a user's session is refused whatever its token says.
enum Fallen {
    Disabled(String),
    Deleted(String),
}

/// Whether the user of session `claims` is disabled (whichever login signed them in: the flag
/// lives in `oauth.users` for every `sub`) or, for a session of the install's own login (no
/// `iss`: nobody's policy to judge by), was deleted after it was issued. Our sessions are rows
/// deleted with the user; a trusted issuer's are judged with its leeway by
/// `trusted_sessions::ensure_not_revoked`; these, with the clock skew. Deleting is never
/// weaker than disabling.
fn user_standing(claims: &Value) -> Result<Option<Fallen>, MisuseError> {
    let Some(sub) = claims.get("sub").and_then(Value::as_str) else {
        return Ok(None);
    };
    let standing = accounts::standing(sub)?;
    if standing.disabled {
        return Ok(Some(Fallen::Disabled("this user has been disabled".into())));
    }
    let own_login = claims.get("iss").is_none_or(Value::is_null);
    match standing.deleted_at {
        Some(at)
            if own_login
                && issuer::issued_before_revocation(
                    claims.get("iat").and_then(Value::as_f64),
                    at,
                    settings::clock_skew(),
                ) =>
        {
            Ok(Some(Fallen::Deleted(format!(
                "user {sub} was deleted after this session was issued; sign in again"
            ))))
        }
        _ => Ok(None),
    }
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
/// already checked by the caller. Returns the token and the session id. Never for a disabled
/// user: their sessions are refused anyway, but one minted now (`oauth.issue_session_token`)
/// would start working the moment they are enabled, which nobody decided.
pub fn start(
    sub: &str,
    provider: Option<&str>,
    extra: Value,
) -> Result<(String, String), MisuseError> {
    if accounts::is_disabled(sub)? {
        return Err(MisuseError::new(
            Misuse::Misconfigured,
            format!("user {sub:?} is disabled: no session is started for them"),
        )
        .hint("oauth.enable_user(sub) enables them again"));
    }
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
    // `auth_time: null` from the caller: nobody knows when the user authenticated (an upstream
    // sign-in whose provider did not say); the session is of unknown age, not of now.
    if let Some(o) = c
        .as_object_mut()
        .filter(|o| o.get("auth_time").is_some_and(Value::is_null))
    {
        o.remove("auth_time");
    }
    Ok((signer.sign(token_kind::JWT_TYP, &c)?, sid))
}

/// The caller from `request.jwt.claims`. Never in a session that signed in to the database
/// with an access token (PostgreSQL 18's validator): it runs any SQL, `request.jwt.claims`
/// included, and an access token is no user's session anyway.
pub fn from_request() -> ApiResult<Caller> {
    if crate::settings::db_login_claims().is_some() {
        return Err(OAuthError::LoginRequired(
            "this database session signed in with an access token, which is not a user's session: the consent API needs the user's session token".into(),
        )
        .into());
    }
    let raw = raw_claims().ok_or_else(|| {
        OAuthError::LoginRequired("no signed-in user: request.jwt.claims is not set".into())
    })?;
    let claims: Value = serde_json::from_str(&raw)
        .map_err(|_| OAuthError::LoginRequired("request.jwt.claims is not valid JSON".into()))?;
    // The front sets what oauth.verify_session returned a moment ago, in this transaction:
    // judged already, by the same rule, and normalised (which cannot be done twice).
    if trusted_sessions::verified_here(&claims) {
        return caller(&claims, false);
    }
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
    let ours = claims
        .get("iss")
        .and_then(Value::as_str)
        .is_some_and(|iss| issuer::same(iss, &settings::issuer()));
    caller(&claims, ours)
}

/// Verifies a user's session token: ours (checked with our keys, and its `sid` live) or a
/// trusted issuer's (checked with its keys and whole policy, then normalised, and refused if
/// its user was revoked after it was issued). Errors are 28000.
pub fn verify_session_token(token: &str) -> Result<Value, MisuseError> {
    let invalid = |m: String| MisuseError::new(Misuse::InvalidToken, m);
    let iss = session_jwt::unverified_issuer(token).map_err(invalid)?;
    if issuer::same(&iss, &settings::issuer()) {
        let claims = keys::verify_our_session(token)?;
        ensure_live(&claims)?;
        if let Some(Fallen::Disabled(m) | Fallen::Deleted(m)) = user_standing(&claims)? {
            return Err(invalid(m));
        }
        return Ok(claims);
    }
    let stored = issuers::find(&iss)?.ok_or_else(|| {
        invalid(format!("token issuer {iss} is not trusted"))
            .hint("an administrator trusts an issuer with oauth.add_issuer")
    })?;
    let policy = trusted_sessions::policy(&iss, &stored.options)?;
    let session = session_jwt::verify(token, &policy, &stored.jwks, settings::clock_skew())
        .map_err(|e| {
            let refused = invalid(e.message(&iss));
            match e {
                SessionError::UnknownKey { .. } => {
                    refused.detail(oauth_core::wire::unknown_kid_detail(&iss))
                }
                SessionError::Invalid(_) => refused,
            }
        })?;
    trusted_sessions::ensure_not_revoked(&policy, &session)?;
    // Every path that takes a verified session (the consent API, the Supabase routes,
    // administration by session) refuses a disabled user (a deleted one: ensure_not_revoked).
    if let Some(Fallen::Disabled(m) | Fallen::Deleted(m)) = user_standing(&session)? {
        return Err(invalid(m));
    }
    Ok(session)
}

/// `oauth.verify_session`: [`verify_session_token`], remembering for the rest of the
/// transaction the normalised claims of a trusted issuer's session, so that when they come
/// back as `request.jwt.claims` (the front sets them) they are not judged a second time.
pub fn verify_session(token: &str) -> Result<Value, MisuseError> {
    let session = verify_session_token(token)?;
    let ours = session
        .get("iss")
        .and_then(Value::as_str)
        .is_some_and(|iss| issuer::same(iss, &settings::issuer()));
    if !ours {
        trusted_sessions::remember(&session);
    }
    Ok(session)
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
        crate::store::audit::record(AuditEvent::SignedOut, None, Some(user), json!({"sid": sid}))?;
    }
    Ok(json!({"signed_out": true, "ended": ended.is_some()}))
}

/// Ends session `sid` (RP-initiated logout); whether it was active.
pub fn end(sid: &str, reason: &str) -> Result<bool, MisuseError> {
    let ended = sessions::end(sid, reason)?;
    if let Some(user) = &ended {
        crate::store::audit::record(
            AuditEvent::SignedOut,
            None,
            Some(user),
            json!({"sid": sid, "reason": reason}),
        )?;
    }
    Ok(ended.is_some())
}
