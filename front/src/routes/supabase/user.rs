//! The Supabase user routes (`auth.oauth.*`, `getUser`, `signOut`): the consent API and the
//! user's grants, as the signed-in user of the request's session.

use super::errors::{accepted, SbError, SbResult, Subject};
use super::shapes;
use crate::app::state::{AppState, St};
use crate::http::extract::{bearer, ClientIdQuery};
use crate::http::user_codes::limit_user_codes;
use crate::sql;
use crate::user_call::call_as_user;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use std::net::SocketAddr;

/// The signed-in user's session token, or GoTrue's 401 `no_authorization`.
fn session(headers: &HeaderMap) -> Result<&str, SbError> {
    bearer(headers).ok_or_else(SbError::no_authorization)
}

/// Runs `call` as the user of the request's session; its 2xx body, or the Supabase error.
async fn as_user(
    s: &AppState,
    headers: &HeaderMap,
    subject: Subject,
    call: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Value, SbError> {
    let token = session(headers)?;
    let res = call_as_user(&s.pool, &s.issuer_keys, Some(token), call, params)
        .await
        .map_err(|e| SbError::from_call(e, subject))?;
    accepted(res, subject)
}

pub async fn authorization(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> SbResult {
    limit_user_codes(&s, &headers, peer, &id)
        .map_err(|e| SbError::from_call(e, Subject::Authorization))?;
    let call = "oauth.authorization($1)";
    let ours = as_user(&s, &headers, Subject::Authorization, call, &[&id]).await?;
    Ok(Json(shapes::authorization_details(ours)).into_response())
}

/// `{"action": "approve" | "deny"}`, as supabase-js sends it.
pub async fn consent(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> SbResult {
    limit_user_codes(&s, &headers, peer, &id)
        .map_err(|e| SbError::from_call(e, Subject::Authorization))?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|_| SbError::new(StatusCode::BAD_REQUEST, "bad_json", "invalid JSON body"))?;
    let approve = match body.get("action").and_then(Value::as_str) {
        Some("approve") => true,
        Some("deny") => false,
        _ => return Err(SbError::validation("action must be 'approve' or 'deny'")),
    };
    let call = "oauth.consent($1, $2)";
    let ours = as_user(&s, &headers, Subject::Authorization, call, &[&id, &approve]).await?;
    Ok(Json(shapes::redirect(ours)).into_response())
}

pub async fn grants(State(s): St, headers: HeaderMap) -> SbResult {
    let ours = as_user(&s, &headers, Subject::Grant, "oauth.grants()", &[]).await?;
    let list: Vec<Value> = ours
        .as_array()
        .into_iter()
        .flatten()
        .map(shapes::grant)
        .collect();
    Ok(Json(list).into_response())
}

pub async fn revoke_grant(
    State(s): St,
    headers: HeaderMap,
    Query(q): Query<ClientIdQuery>,
) -> SbResult {
    let client_id = q
        .client_id
        .filter(|c| !c.is_empty())
        .ok_or_else(|| SbError::validation("client_id query parameter is required"))?;
    let call = "oauth.revoke_grant($1)";
    as_user(&s, &headers, Subject::Grant, call, &[&client_id]).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The user of the session, as far as the session says (what `setSession` and `getUser`
/// need). The claims are the ones verification set for the transaction.
pub async fn user(State(s): St, headers: HeaderMap) -> SbResult {
    let call = "current_setting('request.jwt.claims')";
    let claims = as_user(&s, &headers, Subject::User, call, &[]).await?;
    Ok(Json(shapes::user(&claims)).into_response())
}

/// `signOut()`: ends the session when it is one of ours (an upstream sign-in's); another
/// issuer's session is ended where it was issued.
pub async fn logout(State(s): St, headers: HeaderMap) -> SbResult {
    let token = session(&headers)?;
    let res = sql::call(&s.pool, "oauth.sign_out($1)", &[&token])
        .await
        .map_err(|e| SbError::from_call(e, Subject::User))?;
    accepted(res, Subject::User)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub struct GrantTypeQuery {
    pub grant_type: Option<String>,
}

/// Supabase's own session endpoint. Sessions here come from the login the app already has (or
/// the upstream sign-in) and are not refreshed through this server: a clear refusal, so that
/// supabase-js keeps the session until it expires and the page signs in again.
pub async fn session_token(Query(q): Query<GrantTypeQuery>) -> SbError {
    match q.grant_type.as_deref() {
        Some("refresh_token") => SbError::new(
            StatusCode::BAD_REQUEST,
            "refresh_token_not_found",
            "Invalid Refresh Token: sessions are not refreshed by this server; sign in again",
        ),
        other => SbError::validation(format!(
            "grant_type {:?} is not offered: sign in with your app's login or this server's \
             upstream sign-in, then pass the session to setSession",
            other.unwrap_or("")
        )),
    }
}
