//! The signed-in user's view of what they allowed: `oauth.grants()` lists the clients with
//! their consented scopes per audience, `oauth.revoke_grant(client_id)` withdraws a consent and revokes every
//! token family the client holds for the user. Like the consent API, each trusts
//! `request.jwt.claims` or takes the session token itself, and never accepts an OAuth client's
//! access token as the user's session.

use super::{respond, ApiResult};
use crate::audit_events::AuditEvent;
use crate::error::OAuthError;
use crate::services::sessions::{self as session, Caller};
use crate::store::{audit, authorizations, consents, grants};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn list(caller: ApiResult<Caller>) -> ApiResult<Value> {
    Ok(consents::list_for_user(&caller?.user_id)?)
}

fn revoke(client_id: Option<&str>, caller: ApiResult<Caller>) -> ApiResult<Value> {
    let caller = caller?;
    let client_id = client_id.filter(|c| !c.is_empty()).unwrap_or_default();
    let withdrawn = consents::withdraw(&caller.user_id, client_id)?;
    // Requests the user approved (or opened) but the client has not redeemed yet die too: a
    // withdrawn consent must not be redeemable a moment later. They go first: a redemption in
    // flight holds its request's row, so this waits for it, and the family it started is then
    // seen (and revoked) by the next statement.
    let requests = authorizations::end_open_for(&caller.user_id, client_id)?;
    let families = grants::revoke_for(&caller.user_id, client_id)?;
    if !withdrawn && families == 0 && requests == 0 {
        return Err(OAuthError::NotFound("no grant to this client".into()).into());
    }
    audit::record(
        AuditEvent::ConsentRevoked,
        Some(client_id),
        Some(&caller.user_id),
        json!({"token_families_revoked": families, "requests_ended": requests}),
    )?;
    Ok(
        json!({ "client_id": client_id, "revoked": true, "token_families_revoked": families,
               "requests_ended": requests }),
    )
}

/// The grants of the user in `request.jwt.claims`.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn grants() -> JsonB {
    respond(list(session::from_request()))
}

/// The same, for the user of a session token verified here.
#[pg_extern(volatile, security_definer, name = "grants")]
#[search_path(@extschema@, pg_temp)]
fn grants_with_session(session_token: Option<&str>) -> JsonB {
    respond(list(session::from_token(session_token)))
}

/// Withdraws the consent of the user in `request.jwt.claims` to `client_id` and revokes the
/// client's refresh tokens (and so its access tokens, for `oauth.verify`) for that user.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn revoke_grant(client_id: Option<&str>) -> JsonB {
    respond(revoke(client_id, session::from_request()))
}

/// The same, for the user of a session token verified here.
#[pg_extern(volatile, security_definer, name = "revoke_grant")]
#[search_path(@extschema@, pg_temp)]
fn revoke_grant_with_session(client_id: Option<&str>, session_token: Option<&str>) -> JsonB {
    respond(revoke(client_id, session::from_token(session_token)))
}
