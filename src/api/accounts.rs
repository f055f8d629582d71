//! The signed-in user's own account, for installs that sign users in upstream:
//! `oauth.identities()`, `oauth.unlink_identity(provider, subject)`, `oauth.sign_out()`;
//! and, for administrators, `oauth.sessions(sub)` and `oauth.revoke_sessions(sub)`. Like the
//! consent API, each user function trusts `request.jwt.claims` or takes the session token.

use super::{or_raise, required, respond, ApiResult};
use crate::audit_events::AuditEvent;
use crate::error::OAuthError;
use crate::services::sessions::{self as session, Caller};
use crate::store::{accounts, audit, sessions};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn list(caller: ApiResult<Caller>) -> ApiResult<Value> {
    Ok(accounts::identities_of(&caller?.user_id)?)
}

fn unlink(
    provider: Option<&str>,
    subject: Option<&str>,
    caller: ApiResult<Caller>,
) -> ApiResult<Value> {
    let caller = caller?;
    let (provider, subject) = (provider.unwrap_or_default(), subject.unwrap_or_default());
    let Some(ended) = accounts::unlink(&caller.user_id, provider, subject)? else {
        return Err(OAuthError::InvalidRequest(
            "no such identity, or it is the last one (a user needs one to sign in)".into(),
        )
        .into());
    };
    audit::record(
        AuditEvent::IdentityUnlinked,
        None,
        Some(&caller.user_id),
        json!({"provider": provider, "sessions_ended": ended}),
    )?;
    Ok(accounts::identities_of(&caller.user_id)?)
}

/// The identities of the user in `request.jwt.claims`.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn identities() -> JsonB {
    respond(list(session::from_request()))
}

/// The same, for the user of a session token verified here.
#[pg_extern(volatile, security_definer, name = "identities")]
#[search_path(@extschema@, pg_temp)]
fn identities_with_session(session_token: Option<&str>) -> JsonB {
    respond(list(session::from_token(session_token)))
}

/// Unlinks one of the caller's identities (never the last); the remaining ones.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn unlink_identity(provider: Option<&str>, subject: Option<&str>) -> JsonB {
    respond(unlink(provider, subject, session::from_request()))
}

/// The same, for the user of a session token verified here.
#[pg_extern(volatile, security_definer, name = "unlink_identity")]
#[search_path(@extschema@, pg_temp)]
fn unlink_identity_with_session(
    provider: Option<&str>,
    subject: Option<&str>,
    session_token: Option<&str>,
) -> JsonB {
    respond(unlink(
        provider,
        subject,
        session::from_token(session_token),
    ))
}

/// Ends the session of a session token of ours: it stops working at once.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn sign_out(session_token: Option<&str>) -> JsonB {
    respond(session::sign_out(session_token))
}

/// The sessions of user `sub`, newest first. Administrators only.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn sessions(sub: Option<&str>) -> JsonB {
    let sub = or_raise(required(sub, "sub"));
    JsonB(or_raise(sessions::list_for_user(sub)))
}

/// Ends every active session of user `sub`; how many. Administrators only.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn revoke_sessions(sub: Option<&str>) -> i64 {
    let sub = or_raise(required(sub, "sub"));
    let n = or_raise(sessions::end_for_user(sub, "revoked by an administrator"));
    or_raise(audit::record(
        AuditEvent::SessionsRevoked,
        None,
        Some(sub),
        json!({"sessions": n}),
    ));
    n as i64
}
