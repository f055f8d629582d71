//! The signed-in user's view of what they allowed: `oauth.grants()` lists the clients with
//! their consented scopes per audience, `oauth.revoke_grant(client_id)` withdraws a consent and revokes every
//! token family the client holds for the user. Like the consent API, each trusts
//! `request.jwt.claims` or takes the session token itself, and never accepts an OAuth client's
//! access token as the user's session.

use super::session::{self, Caller};
use super::{audit, respond, ApiResult};
use crate::error::OAuthError;
use crate::store::db;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn list(caller: ApiResult<Caller>) -> ApiResult<Value> {
    let caller = caller?;
    Ok(db::query_json(
        "SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'client', jsonb_build_object('client_id', c.client_id, 'name', c.name,
                                                 'client_uri', c.client_uri, 'logo_uri', c.logo_uri),
                    'scopes', (SELECT coalesce(jsonb_agg(DISTINCT sc ORDER BY sc), '[]')
                               FROM jsonb_each(s.scopes_by_audience) e, jsonb_array_elements_text(e.value) sc),
                    'resources', (SELECT coalesce(jsonb_agg(k ORDER BY k), '[]')
                                  FROM jsonb_object_keys(s.scopes_by_audience) k),
                    'scopes_by_audience', s.scopes_by_audience, 'granted_at', s.granted_at, 'updated_at', s.updated_at,
                    'last_used_at', (SELECT max(g.last_used_at) FROM oauth.grants g
                                     WHERE g.user_id = s.user_id AND g.client_id = s.client_id))
                  ORDER BY s.updated_at DESC), '[]')
         FROM oauth.consents s JOIN oauth.clients c USING (client_id)
         WHERE s.user_id = $1 AND s.revoked_at IS NULL",
        &[caller.user_id.as_str().into()],
    )?
    .unwrap_or(json!([])))
}

fn revoke(client_id: Option<&str>, caller: ApiResult<Caller>) -> ApiResult<Value> {
    let caller = caller?;
    let client_id = client_id.filter(|c| !c.is_empty()).unwrap_or_default();
    let withdrawn = db::execute(
        "UPDATE oauth.consents SET revoked_at = now(), updated_at = now()
         WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
        &[caller.user_id.as_str().into(), client_id.into()],
    )?;
    let families = db::execute(
        "UPDATE oauth.grants SET revoked_at = now(), revoked_reason = 'revoked by the user'
         WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
        &[caller.user_id.as_str().into(), client_id.into()],
    )?;
    // Requests the user approved (or opened) but the client has not redeemed yet die too: a
    // withdrawn consent must not be redeemable a moment later.
    let requests = db::execute(
        "UPDATE oauth.authorizations SET status = 'denied', code_hash = NULL
         WHERE user_id = $1 AND client_id = $2 AND status IN ('pending', 'approved')",
        &[caller.user_id.as_str().into(), client_id.into()],
    )?;
    if withdrawn == 0 && families == 0 && requests == 0 {
        return Err(OAuthError::NotFound("no grant to this client".into()).into());
    }
    audit::record(
        "consent_revoked",
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
