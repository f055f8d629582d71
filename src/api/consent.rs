//! The consent API, called by the app's consent page with the signed-in user's session:
//! `oauth.authorization(id)` returns what to show (or a redirect when an earlier consent
//! already covers the request), `oauth.consent(id, approve)` records the decision and returns
//! where to send the browser. Each has a variant that takes the session token itself and
//! verifies it, for callers outside the `request.jwt.claims` trust boundary.

use super::authorize::error_params;
use super::session::{self, Caller};
use super::{audit, db, respond, ApiResult};
use crate::error::{invalid_request, OAuthError};
use crate::protocol::{redirect_uri, scope, secret, user_code};
use crate::settings;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Pending {
    id: String,
    kind: String,
    client_id: String,
    redirect_uri: Option<String>,
    scopes: Vec<String>,
    state: Option<String>,
    prompt: Option<String>,
    resources: Vec<String>,
    user_id: Option<String>,
    expires_at: String,
}

fn not_found() -> OAuthError {
    OAuthError::NotFound("no pending authorization with this id (unknown, expired, already decided, or another user's)".into())
}

/// Locks the pending request and binds it to the caller on first sight. Another user's
/// request is indistinguishable from a missing one.
/// `authorization_id` may also be a device flow's user code, as the user typed it.
fn claim_pending(authorization_id: Option<&str>, caller: &Caller) -> ApiResult<Pending> {
    let given = authorization_id
        .filter(|s| !s.is_empty() && s.len() <= 128)
        .ok_or_else(not_found)?;
    let user_code = user_code::normalize(given);
    let row: Pending = db::query_row(
        "SELECT to_jsonb(a) - 'code_hash' - 'device_code_hash' FROM oauth.authorizations a
         WHERE (id = $1 OR (kind = 'device' AND user_code = $2))
           AND status = 'pending' AND expires_at > now() FOR UPDATE",
        &[given.into(), user_code.into()],
    )?
    .ok_or_else(not_found)?;
    let id = row.id.as_str();
    match &row.user_id {
        Some(u) if *u != caller.user_id => Err(not_found().into()),
        Some(_) => Ok(row),
        None => {
            db::execute(
                "UPDATE oauth.authorizations SET user_id = $2,
                        auth_time = coalesce(to_timestamp($3::float8), now()) WHERE id = $1",
                &[
                    id.into(),
                    caller.user_id.as_str().into(),
                    caller.auth_time.map(|t| t as f64).into(),
                ],
            )?;
            let user_id = Some(caller.user_id.clone());
            Ok(Pending { user_id, ..row })
        }
    }
}

fn prompt_has(row: &Pending, value: &str) -> bool {
    row.prompt
        .as_deref()
        .is_some_and(|p| p.split(' ').any(|x| x == value))
}

/// Where the browser goes after a decision: back to the client, or, for a device
/// authorization, nowhere (the device learns the outcome by polling).
fn decided_redirect(row: &Pending, e: &OAuthError) -> Value {
    let Some(redirect) = row.redirect_uri.as_deref() else {
        return json!({ "device": true, "approved": false });
    };
    let params = error_params(e, row.state.as_deref());
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    json!({ "redirect_to": redirect_uri::with_query(redirect, &params) })
}

fn deny(row: &Pending, e: OAuthError) -> ApiResult<Value> {
    db::execute(
        "UPDATE oauth.authorizations SET status = 'denied' WHERE id = $1",
        &[row.id.as_str().into()],
    )?;
    audit::record(
        "consent_denied",
        Some(&row.client_id),
        row.user_id.as_deref(),
        json!({"authorization_id": row.id, "reason": e.code()}),
    )?;
    Ok(decided_redirect(row, &e))
}

/// Records the consent (scopes accumulate), issues the code, and returns the redirect.
/// `automatic`: an earlier consent covered the request, so the user was not asked.
fn approve(row: &Pending, caller: &Caller, automatic: bool) -> ApiResult<Value> {
    audit::record(
        "consent_granted",
        Some(&row.client_id),
        Some(&caller.user_id),
        json!({"authorization_id": row.id, "scopes": row.scopes, "resources": row.resources,
               "device": row.kind == "device", "automatic": automatic}),
    )?;
    db::execute(
        "INSERT INTO oauth.consents (user_id, client_id, scopes) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, client_id) DO UPDATE SET
            scopes = CASE WHEN consents.revoked_at IS NULL
                          THEN ARRAY(SELECT DISTINCT unnest(consents.scopes || excluded.scopes) ORDER BY 1)
                          ELSE excluded.scopes END,
            updated_at = now(), revoked_at = NULL",
        &[caller.user_id.as_str().into(), row.client_id.as_str().into(), row.scopes.clone().into()],
    )?;
    let Some(redirect) = row.redirect_uri.as_deref() else {
        // A device authorization: the device redeems it with its device code.
        db::execute(
            "UPDATE oauth.authorizations SET status = 'approved', user_claims = $2 WHERE id = $1",
            &[
                row.id.as_str().into(),
                JsonB(caller.user_claims.clone()).into(),
            ],
        )?;
        return Ok(json!({ "device": true, "approved": true }));
    };
    let code = secret::random_token(secret::TOKEN_BYTES);
    db::execute(
        "UPDATE oauth.authorizations SET status = 'approved', code_hash = $2, user_claims = $3
         WHERE id = $1",
        &[
            row.id.as_str().into(),
            secret::hash(&code).to_vec().into(),
            JsonB(caller.user_claims.clone()).into(),
        ],
    )?;
    let issuer = settings::issuer();
    let mut params: Vec<(&str, &str)> = vec![("code", &code)];
    if let Some(s) = &row.state {
        params.push(("state", s));
    }
    params.push(("iss", &issuer));
    Ok(json!({ "redirect_to": redirect_uri::with_query(redirect, &params) }))
}

/// Scope names with the description the consent page shows.
fn describe_scopes(scopes: &[String]) -> ApiResult<Value> {
    let custom: Value = db::query_json(
        "SELECT coalesce(jsonb_object_agg(name, description), '{}') FROM oauth.scopes WHERE name = ANY($1)",
        &[scopes.to_vec().into()],
    )?
    .unwrap_or(json!({}));
    Ok(scopes
        .iter()
        .map(|s| {
            let builtin = scope::BUILT_IN
                .iter()
                .find(|(n, _)| n == s)
                .map(|(_, d)| *d);
            let description = custom
                .get(s)
                .and_then(Value::as_str)
                .or(builtin)
                .unwrap_or("");
            json!({ "name": s, "description": description })
        })
        .collect())
}

fn authorization_details(
    authorization_id: Option<&str>,
    caller: ApiResult<Caller>,
) -> ApiResult<Value> {
    let caller = caller?;
    let row = claim_pending(authorization_id, &caller)?;
    let consented: Option<Vec<String>> = db::query_row(
        "SELECT to_jsonb(scopes) FROM oauth.consents WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
        &[caller.user_id.as_str().into(), row.client_id.as_str().into()],
    )?;
    let covered = consented
        .as_ref()
        .is_some_and(|c| scope::covers(c, &row.scopes));
    // A device request always asks: the user must confirm the code on their own device (RFC
    // 8628 §5.4), or a code phished from them would be approved silently.
    if covered && !prompt_has(&row, "consent") && row.kind == "code" {
        return approve(&row, &caller, true);
    }
    if prompt_has(&row, "none") {
        return deny(
            &row,
            OAuthError::ConsentRequired(
                "prompt=none, but the user has not consented to these scopes".into(),
            ),
        );
    }
    let client = db::query_json(
        "SELECT jsonb_build_object('client_id', client_id, 'name', name, 'client_uri', client_uri, 'logo_uri', logo_uri)
         FROM oauth.clients WHERE client_id = $1",
        &[row.client_id.as_str().into()],
    )?;
    Ok(json!({
        "authorization_id": row.id,
        "device": row.kind == "device",
        "client": client,
        "redirect_uri": row.redirect_uri,
        "scopes": describe_scopes(&row.scopes)?,
        "resources": row.resources,
        "user": { "id": caller.user_id },
        "expires_at": row.expires_at,
    }))
}

fn record_decision(
    authorization_id: Option<&str>,
    approve_it: Option<bool>,
    caller: ApiResult<Caller>,
) -> ApiResult<Value> {
    let caller = caller?;
    let approve_it = approve_it.ok_or_else(|| invalid_request("approve must be true or false"))?;
    let row = claim_pending(authorization_id, &caller)?;
    if approve_it {
        approve(&row, &caller, false)
    } else {
        deny(
            &row,
            OAuthError::AccessDenied("the user denied the request".into()),
        )
    }
}

/// What the consent page shows, for the user in `request.jwt.claims`.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn authorization(authorization_id: Option<&str>) -> JsonB {
    respond(authorization_details(
        authorization_id,
        session::from_request(),
    ))
}

/// The same, for the user of a session token verified here.
#[pg_extern(volatile, security_definer, name = "authorization")]
#[search_path(@extschema@, pg_temp)]
fn authorization_with_session(
    authorization_id: Option<&str>,
    session_token: Option<&str>,
) -> JsonB {
    respond(authorization_details(
        authorization_id,
        session::from_token(session_token),
    ))
}

/// The user's decision, for the user in `request.jwt.claims`.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn consent(authorization_id: Option<&str>, approve: Option<bool>) -> JsonB {
    respond(record_decision(
        authorization_id,
        approve,
        session::from_request(),
    ))
}

/// The same, for the user of a session token verified here.
#[pg_extern(volatile, security_definer, name = "consent")]
#[search_path(@extschema@, pg_temp)]
fn consent_with_session(
    authorization_id: Option<&str>,
    approve: Option<bool>,
    session_token: Option<&str>,
) -> JsonB {
    respond(record_decision(
        authorization_id,
        approve,
        session::from_token(session_token),
    ))
}
