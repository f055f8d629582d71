//! The OAuth 2.1 / OpenID Connect endpoints clients call: authorization, token, revocation,
//! introspection, device authorization, dynamic registration, userinfo and RP-initiated
//! logout. The Supabase surface mounts the same handlers under `/auth/v1`.

use crate::app::state::{AppResult, AppState, St};
use crate::fetch::client_documents;
use crate::http::client_auth::{form_endpoint, Dpop};
use crate::http::extract::{access_token, bad_request, body_params, dpop_header, Presented};
use crate::http::pages::{self, ErrorPage};
use crate::http::respond::too_many;
use crate::rate_limit::AddrKey;
use crate::replicas;
use crate::sql::{self, SqlResponse};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use oauth_core::form;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Instant;

pub async fn authorize(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> AppResult {
    let params = form::to_json(q.unwrap_or_default().as_bytes());
    // A client identified by the URL of its metadata document: fetch and store it first.
    if let Some(client_id) = params["client_id"]
        .as_str()
        .filter(|c| client_documents::is_document_url(c))
    {
        let addr = AddrKey::of(s.client_ip(&headers, peer));
        s.client_documents.ensure(client_id, addr).await?;
    }
    let mut res = sql::call(&s.pool, "oauth.authorize($1)", &[&params]).await?;
    if res.status.is_redirection() {
        // The browser only needs the Location header.
        res.body = Value::Null;
        return Ok((res.status, res.headers_map()).into_response());
    }
    Ok(res.into_response())
}

pub async fn logout_get(State(s): St, RawQuery(q): RawQuery) -> Result<Response, ErrorPage> {
    logout(&s, form::to_json(q.unwrap_or_default().as_bytes())).await
}

pub async fn logout_post(
    State(s): St,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ErrorPage> {
    let params = if body.is_empty() {
        json!({})
    } else {
        body_params(&headers, &body)?
    };
    logout(&s, params).await
}

/// OpenID Connect RP-Initiated Logout: on to the client's post-logout URI (the Location the
/// function set), or a page saying so when there is nowhere to go; errors are pages too.
async fn logout(s: &AppState, params: Value) -> Result<Response, ErrorPage> {
    let res = sql::call(&s.pool, "oauth.end_session($1)", &[&params]).await?;
    if res.status.is_redirection() {
        return Ok((res.status, res.headers_map()).into_response());
    }
    // Also when no session was named (`signed_out: false`): there is none left here either.
    if res.status.is_success() {
        let mut page = pages::signed_out();
        page.headers_mut().extend(res.headers_map());
        return Ok(page);
    }
    Err(ErrorPage::from_answer(&res))
}

pub async fn token(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    form_endpoint(
        &s,
        "oauth.token($1, $2, $3)",
        &headers,
        peer,
        &body,
        None,
        Dpop::Taken,
    )
    .await
}

/// Pushed authorization requests (RFC 9126): client-authenticated like the token endpoint,
/// with the DPoP header when there is one (RFC 9449 §10.1).
pub async fn par(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    form_endpoint(
        &s,
        "oauth.par($1, $2, $3)",
        &headers,
        peer,
        &body,
        None,
        Dpop::Taken,
    )
    .await
}

pub async fn revoke(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    form_endpoint(
        &s,
        "oauth.revoke($1, $2)",
        &headers,
        peer,
        &body,
        None,
        Dpop::Ignored,
    )
    .await
}

pub async fn device_authorization(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    form_endpoint(
        &s,
        "oauth.device_authorization($1, $2)",
        &headers,
        peer,
        &body,
        None,
        Dpop::Ignored,
    )
    .await
}

pub async fn introspect(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    let on_replica = Some(replicas::active as fn(&SqlResponse) -> bool);
    form_endpoint(
        &s,
        "oauth.introspect($1, $2)",
        &headers,
        peer,
        &body,
        on_replica,
        Dpop::Ignored,
    )
    .await
}

pub async fn register(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    if let Err(wait) = s
        .register_limit
        .check(AddrKey::of(s.client_ip(&headers, peer)), Instant::now())
    {
        return Ok(too_many("too many registrations from this address", wait));
    }
    let metadata = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => v,
        Err(_) => {
            return Ok((
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "invalid_client_metadata",
                                  "error_description": "the body must be a JSON object"})),
            )
                .into_response())
        }
    };
    Ok(
        sql::call(&s.pool, "oauth.register_client($1)", &[&metadata])
            .await?
            .into_response(),
    )
}

pub async fn userinfo(State(s): St, method: Method, headers: HeaderMap, body: Bytes) -> AppResult {
    // RFC 6750: the Authorization header, or (POST) a form parameter; never both.
    let from_body = if body.is_empty() {
        None
    } else {
        body_params(&headers, &body)?
            .get("access_token")
            .and_then(Value::as_str)
            .map(String::from)
    };
    let presented = access_token(&headers);
    if presented.is_some() && from_body.is_some() {
        return Err(bad_request("the access token was sent more than once"));
    }
    // RFC 9449 §7.1: a DPoP-bound token comes with the DPoP scheme and its proof, which the
    // extension checks (and remembers: the primary answers, never a replica).
    if let Some(Presented::Dpop(token)) = presented {
        let proof = dpop_header(&headers);
        let res = sql::call(
            &s.pool,
            "oauth.userinfo($1, $2, $3)",
            &[&token, &proof, &method.as_str()],
        )
        .await?;
        return Ok(res.into_response());
    }
    let token = match presented {
        Some(Presented::Bearer(t)) => Some(t),
        _ => from_body.as_deref(),
    };
    let res = s
        .replicas
        .read(&s.pool, "oauth.userinfo($1)", &[&token], replicas::found)
        .await?;
    Ok(res.into_response())
}
