//! The signed-in user's own account: the grants they gave (and their revocation), their
//! upstream identities (and unlinking one), and signing out.

use crate::app::state::{AppResult, AppState, St};
use crate::http::extract::{bearer, ClientIdQuery};
use crate::sql;
use crate::user_call::respond_as_user;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;

pub async fn grants(State(s): St, headers: HeaderMap) -> AppResult {
    respond_as_user(&s, &headers, "oauth.grants()", &[]).await
}

pub async fn revoke_grant(
    State(s): St,
    headers: HeaderMap,
    Query(q): Query<ClientIdQuery>,
) -> AppResult {
    revoke_grant_of(&s, &headers, q.client_id).await
}

pub async fn revoke_grant_path(
    State(s): St,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> AppResult {
    revoke_grant_of(&s, &headers, Some(client_id)).await
}

async fn revoke_grant_of(
    s: &AppState,
    headers: &HeaderMap,
    client_id: Option<String>,
) -> AppResult {
    respond_as_user(s, headers, "oauth.revoke_grant($1)", &[&client_id]).await
}

/// The signed-in user's upstream identities. As for the grants, the session is verified and
/// set as `request.jwt.claims` first (so a trusted issuer's new keys are fetched); the token
/// is passed too, which names the one-argument form whether or not the claims-only one exists.
pub async fn identities(State(s): St, headers: HeaderMap) -> AppResult {
    let token = bearer(&headers);
    respond_as_user(&s, &headers, "oauth.identities($1)", &[&token]).await
}

pub async fn unlink_identity(
    State(s): St,
    headers: HeaderMap,
    Path((provider, subject)): Path<(String, String)>,
) -> AppResult {
    let token = bearer(&headers);
    let call = "oauth.unlink_identity($1, $2, $3)";
    respond_as_user(&s, &headers, call, &[&provider, &subject, &token]).await
}

/// Ends the bearer's session: the function verifies the token itself (only ours can end).
pub async fn sign_out(State(s): St, headers: HeaderMap) -> AppResult {
    let token = bearer(&headers);
    Ok(sql::call(&s.pool, "oauth.sign_out($1)", &[&token])
        .await?
        .into_response())
}
