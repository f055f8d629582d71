//! Calls made as the signed-in user of a request (the consent API, grants, identities, the
//! Supabase user routes). The session token is verified in the call's own transaction
//! (`sql::call_with_session`); a token signed with a key the database does not know yet (its
//! issuer rotated) gets that issuer's keys refreshed and one retry. The SQL bridge cannot do
//! this itself: it knows nothing of issuer keys.

use crate::app::state::AppState;
use crate::fetch::issuer_keys::IssuerKeys;
use crate::http::extract::bearer;
use crate::sql::{self, CallError, SqlResponse};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use deadpool_postgres::Pool;
use tokio_postgres::types::ToSql;

/// Calls `call` for the signed-in user of `session_token`; after a refusal for an unknown key,
/// refreshes its issuer's keys (at most once a minute per issuer) and calls once more.
pub async fn call_as_user(
    pool: &Pool,
    keys: &IssuerKeys,
    session_token: Option<&str>,
    call: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<SqlResponse, CallError> {
    let token = session_token.ok_or_else(|| {
        CallError::new(
            StatusCode::UNAUTHORIZED,
            "login_required",
            "a signed-in user's session token is required (Authorization: Bearer …)",
        )
    })?;
    let verified_at = std::time::Instant::now();
    let first = sql::call_with_session(pool, token, call, params).await;
    if let Err(CallError {
        unknown_key_issuer: Some(issuer),
        ..
    }) = &first
    {
        if keys.refresh_after_unknown_key(issuer, verified_at).await {
            return sql::call_with_session(pool, token, call, params).await;
        }
    }
    first
}

/// Runs `call` for the user whose session token is the request's bearer token; the answer as
/// the function gave it.
pub async fn respond_as_user(
    s: &AppState,
    headers: &HeaderMap,
    call: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Response, CallError> {
    Ok(
        call_as_user(&s.pool, &s.issuer_keys, bearer(headers), call, params)
            .await?
            .into_response(),
    )
}
