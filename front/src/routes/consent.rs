//! The consent API a consent page calls (the request to show, the decision, a `prompt=none`
//! that cannot be completed, the sign-in options), and the reference consent page itself
//! (`--consent-page`).

use crate::app::state::{AppResult, St};
use crate::http::extract::body_params;
use crate::http::user_codes::limit_user_codes;
use crate::sql;
use crate::user_call::respond_as_user;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse};
use serde_json::{json, Value};
use std::net::SocketAddr;

pub async fn authorization(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult {
    limit_user_codes(&s, &headers, peer, &id)?;
    respond_as_user(&s, &headers, "oauth.authorization($1)", &[&id]).await
}

/// The decision: `{"approve": true|false}` as JSON, or `approve=true|false` as a form.
pub async fn consent(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult {
    limit_user_codes(&s, &headers, peer, &id)?;
    let params = body_params(&headers, &body)?;
    let approve = match params.get("approve") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(v)) if v == "true" => Some(true),
        Some(Value::String(v)) if v == "false" => Some(false),
        _ => None,
    };
    respond_as_user(&s, &headers, "oauth.consent($1, $2)", &[&id, &approve]).await
}

/// A `prompt=none` request the consent page cannot complete without showing the user
/// something (no session: `login_required`): ends it with that error, no session needed.
pub async fn prompt_none_failed(
    State(s): St,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    let params = if body.is_empty() {
        Value::Null
    } else {
        body_params(&headers, &body)?
    };
    let error = params
        .get("error")
        .and_then(Value::as_str)
        .map(String::from);
    Ok(
        sql::call(&s.pool, "oauth.prompt_none_failed($1, $2)", &[&id, &error])
            .await?
            .into_response(),
    )
}

/// The sign-in options a consent page offers: the providers' buttons, and whether the demo
/// sign-in is on (only the front knows).
pub async fn sign_in_providers(State(s): St, demo_login: bool) -> AppResult {
    let res = sql::call(&s.pool, "oauth.sign_in_buttons()", &[]).await?;
    if !res.status.is_success() {
        return Ok(res.into_response());
    }
    Ok(axum::Json(json!({"providers": res.body, "demo_login": demo_login})).into_response())
}

/// `GET /consent`: the reference consent page. No other window may hold it (a cross-origin
/// opener could navigate it to a fragment with its own session token: login CSRF), nor frame
/// it.
pub async fn page() -> impl IntoResponse {
    (
        [
            ("cross-origin-opener-policy", "same-origin"),
            ("content-security-policy", "frame-ancestors 'none'"),
            ("x-frame-options", "DENY"),
        ],
        Html(include_str!("../../static/consent.html")),
    )
}
