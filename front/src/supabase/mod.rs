//! The Supabase Auth surface, under `/auth/v1` (always on): the routes, bodies, statuses and
//! errors that `@supabase/supabase-js`'s `auth.oauth.*`, `auth.admin.oauth.*` and
//! `auth.admin`'s user bans and deletions (`admin_users`) use, mapped onto the same SQL
//! functions as our own routes, and the standard OAuth / OpenID endpoints again, so that one
//! base URL serves both. Handlers only translate (see `shapes`); every decision stays in the
//! database.
//!
//! Credentials: the user routes take the session from `Authorization: Bearer`, verified as our
//! own routes verify it (never an OAuth client's access token, an ID token or a machine token).
//! The admin routes take an administrator key or an administrator's session, from
//! `Authorization: Bearer` (supabase-js sends the key it was created with there) or, when
//! there is no Authorization header, from `apikey`. Otherwise `apikey` identifies a Supabase
//! project to Supabase's gateway and is not a credential: it is accepted and not read.

mod admin_users;
mod errors;
mod shapes;

use crate::routes::{self, bearer, AppState, ClientIdQuery};
use crate::sql;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use errors::{accepted, SbError, SbResult, Subject};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};

type St = State<Arc<AppState>>;

pub fn router() -> Router<Arc<AppState>> {
    // supabase-js sends apikey, X-Client-Info and X-Supabase-Api-Version, and reads Link,
    // X-Total-Count and the version from answers.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("apikey"),
            HeaderName::from_static("x-client-info"),
            HeaderName::from_static("x-supabase-api-version"),
            HeaderName::from_static("x-jwt-aud"),
        ])
        .expose_headers([
            header::LINK,
            HeaderName::from_static("x-total-count"),
            HeaderName::from_static("x-supabase-api-version"),
            HeaderName::from_static("x-sb-error-code"),
        ])
        .max_age(Duration::from_secs(600));
    let supabase = Router::new()
        .route("/oauth/authorizations/{id}", get(authorization))
        .route("/oauth/authorizations/{id}/consent", post(consent))
        .route("/user/oauth/grants", get(grants).delete(revoke_grant))
        .route("/user", get(user))
        .route("/logout", post(logout))
        .route("/token", post(session_token))
        .route(
            "/admin/oauth/clients",
            get(list_clients).post(create_client),
        )
        .route(
            "/admin/oauth/clients/{id}",
            get(get_client).put(update_client).delete(delete_client),
        )
        .route(
            "/admin/oauth/clients/{id}/regenerate_secret",
            post(regenerate_secret),
        )
        .route(
            "/admin/users/{id}",
            get(admin_users::get_user)
                .put(admin_users::update_user)
                .delete(admin_users::delete_user),
        )
        .layer(middleware::from_fn(errors::error_shape));
    // The standard endpoints, as at the root; their errors stay RFC 6749's.
    let standard = Router::new()
        .route("/oauth/authorize", get(routes::authorize))
        .route("/oauth/token", post(routes::token))
        .route("/oauth/revoke", post(routes::revoke))
        .route("/oauth/introspect", post(routes::introspect))
        .route(
            "/oauth/device_authorization",
            post(routes::device_authorization),
        )
        .route("/oauth/register", post(routes::register))
        .route("/oauth/clients/register", post(routes::register))
        .route(
            "/oauth/userinfo",
            get(routes::userinfo).post(routes::userinfo),
        )
        .route("/.well-known/openid-configuration", get(routes::metadata))
        .route(
            "/.well-known/oauth-authorization-server",
            get(routes::metadata),
        )
        .route("/.well-known/jwks.json", get(routes::jwks));
    supabase.merge(standard).layer(cors)
}

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
    let res = sql::call_as_user(&s.pool, &s.issuer_keys, Some(token), call, params)
        .await
        .map_err(|e| SbError::from_call(e, subject))?;
    accepted(res, subject)
}

async fn authorization(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> SbResult {
    routes::limit_user_codes(&s, &headers, peer, &id)
        .map_err(|e| SbError::from_call(e, Subject::Authorization))?;
    let call = "oauth.authorization($1)";
    let ours = as_user(&s, &headers, Subject::Authorization, call, &[&id]).await?;
    Ok(Json(shapes::authorization_details(ours)).into_response())
}

/// `{"action": "approve" | "deny"}`, as supabase-js sends it.
async fn consent(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> SbResult {
    routes::limit_user_codes(&s, &headers, peer, &id)
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

async fn grants(State(s): St, headers: HeaderMap) -> SbResult {
    let ours = as_user(&s, &headers, Subject::Grant, "oauth.grants()", &[]).await?;
    let list: Vec<Value> = ours
        .as_array()
        .into_iter()
        .flatten()
        .map(shapes::grant)
        .collect();
    Ok(Json(list).into_response())
}

async fn revoke_grant(
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
async fn user(State(s): St, headers: HeaderMap) -> SbResult {
    let call = "current_setting('request.jwt.claims')";
    let claims = as_user(&s, &headers, Subject::User, call, &[]).await?;
    Ok(Json(shapes::user(&claims)).into_response())
}

/// `signOut()`: ends the session when it is one of ours (an upstream sign-in's); another
/// issuer's session is ended where it was issued.
async fn logout(State(s): St, headers: HeaderMap) -> SbResult {
    let token = session(&headers)?;
    let res = sql::call(&s.pool, "oauth.sign_out($1)", &[&token])
        .await
        .map_err(|e| SbError::from_call(e, Subject::User))?;
    accepted(res, Subject::User)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct GrantTypeQuery {
    grant_type: Option<String>,
}

/// Supabase's own session endpoint. Sessions here come from the login the app already has (or
/// the upstream sign-in) and are not refreshed through this server: a clear refusal, so that
/// supabase-js keeps the session until it expires and the page signs in again.
async fn session_token(Query(q): Query<GrantTypeQuery>) -> SbError {
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

/// The administrator's credential: the bearer token, or `apikey` when there is no
/// Authorization header at all (a bearer that is not an administrator's is never traded for
/// the apikey).
fn admin_credential(headers: &HeaderMap) -> Result<&str, SbError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return bearer(headers).ok_or_else(SbError::no_authorization);
    }
    routes::header_str(headers, HeaderName::from_static("apikey"))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(SbError::no_authorization)
}

/// One call of an admin API function (`oauth.admin_clients`, `oauth.admin_users`), whose
/// first argument `$1` is the administrator's credential and `args` the rest: the function
/// authorises the credential and raises for every refusal.
async fn admin_call(
    s: &AppState,
    headers: &HeaderMap,
    subject: Subject,
    call: &str,
    args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Value, SbError> {
    let credential = admin_credential(headers)?;
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&credential];
    params.extend_from_slice(args);
    let res = sql::call(&s.pool, call, &params)
        .await
        .map_err(|e| SbError::from_call(e, subject))?;
    accepted(res, subject)
}

/// One `oauth.admin_clients` call.
async fn admin(
    s: &AppState,
    headers: &HeaderMap,
    action: &str,
    client_id: Option<&str>,
    params: Value,
) -> Result<Value, SbError> {
    let call = "oauth.admin_clients($1, $2, $3, $4)";
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&action, &client_id, &params];
    admin_call(s, headers, Subject::Client, call, &args).await
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<String>,
    per_page: Option<String>,
}

/// supabase-js sends `?page=&per_page=` when it was given no page: empty is the default.
fn page_param(v: Option<&str>, name: &str, default: i64) -> Result<i64, SbError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v.parse::<i64>().map_err(|_| {
            SbError::validation(format!(
                "Bad Pagination Parameters: {name} must be an integer"
            ))
        }),
    }
}

async fn list_clients(
    State(s): St,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<PageQuery>,
) -> SbResult {
    let page = page_param(q.page.as_deref(), "page", 1)?;
    let per_page = page_param(q.per_page.as_deref(), "per_page", 50)?;
    let params = json!({"page": page, "per_page": per_page});
    let ours = admin(&s, &headers, "list", None, params).await?;
    let clients: Vec<Value> = ours["clients"]
        .as_array()
        .into_iter()
        .flatten()
        .map(shapes::client)
        .collect();
    let total = ours["total"].as_i64().unwrap_or(0);
    let link = shapes::pagination_link(uri.path(), page, per_page, total);
    let mut res = Json(json!({ "clients": clients })).into_response();
    let h = res.headers_mut();
    h.insert("x-total-count", HeaderValue::from(total));
    if let Ok(v) = HeaderValue::from_str(&link) {
        h.insert(header::LINK, v);
    }
    Ok(res)
}

fn json_body(body: &Bytes) -> Result<Value, SbError> {
    serde_json::from_slice(body)
        .map_err(|_| SbError::new(StatusCode::BAD_REQUEST, "bad_json", "Invalid JSON body"))
}

async fn create_client(State(s): St, headers: HeaderMap, body: Bytes) -> SbResult {
    let params = shapes::create_params(&json_body(&body)?).map_err(SbError::validation)?;
    let ours = admin(&s, &headers, "create", None, params).await?;
    Ok((StatusCode::CREATED, Json(shapes::client(&ours))).into_response())
}

async fn get_client(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> SbResult {
    let ours = admin(&s, &headers, "get", Some(&id), json!({})).await?;
    Ok(Json(shapes::client(&ours)).into_response())
}

async fn update_client(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> SbResult {
    let params = shapes::update_params(&json_body(&body)?).map_err(SbError::validation)?;
    let ours = admin(&s, &headers, "update", Some(&id), params).await?;
    Ok(Json(shapes::client(&ours)).into_response())
}

async fn delete_client(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> SbResult {
    admin(&s, &headers, "delete", Some(&id), json!({})).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The whole client with its new secret (`oauth.admin_clients` answers it so: the rotation and
/// the read are one call).
async fn regenerate_secret(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> SbResult {
    let ours = admin(&s, &headers, "regenerate_secret", Some(&id), json!({})).await?;
    Ok(Json(shapes::client(&ours)).into_response())
}
