//! DEMO ONLY (`--demo-login`): a session token for any user name, no password, and the page
//! the demo client's browser lands on. Never in production.

use crate::app::state::{AppResult, St};
use crate::http::extract::bad_request;
use crate::http::pages;
use crate::sql;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse};
use oauth_core::form;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct DemoUser {
    username: String,
}

/// `POST /demo/session`: a session token for any user name, no password.
pub async fn session(State(s): St, body: Bytes) -> AppResult {
    let user: DemoUser = serde_json::from_slice(&body)
        .map_err(|_| bad_request("the body must be a JSON object with a username"))?;
    let name = user.username.trim().to_ascii_lowercase();
    if name.is_empty()
        || name.len() > 32
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad_request("username: 1 to 32 letters, digits, - or _"));
    }
    let claims = json!({
        "email": format!("{name}@example.com"),
        "email_verified": true,
        "name": name,
        "preferred_username": name,
    });
    let res = sql::call(
        &s.pool,
        "to_jsonb(oauth.issue_session_token($1, $2))",
        &[&name, &claims],
    )
    .await?;
    Ok(axum::Json(json!({ "session_token": res.body, "sub": name })).into_response())
}

/// `GET /callback`: where the demo client's browser lands; shows the code to exchange.
pub async fn callback(RawQuery(q): RawQuery) -> Html<String> {
    let params = form::to_json(q.unwrap_or_default().as_bytes());
    let escape = |v: &Value| pages::escape(v.as_str().unwrap_or(""));
    let rows: String = ["code", "state", "iss", "error", "error_description"]
        .iter()
        .filter_map(|k| {
            params
                .get(*k)
                .map(|v| format!("<p>{k}: <code>{}</code></p>", escape(v)))
        })
        .collect();
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Demo callback</title>\
         <h1>Back at the demo client</h1>{rows}<p>Exchange the code with the curl command run-local.sh printed.</p>"
    ))
}
