//! The routes of DESIGN.md, each mapped onto one SQL function. Handlers only translate HTTP
//! (query strings, form bodies, headers) into the function's arguments.

use crate::client_documents::{self, ClientDocuments};
use crate::form;
use crate::issuer_keys::IssuerKeys;
use crate::rate_limit::RateLimiter;
use crate::sql::{self, CallError, SqlResponse};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use deadpool_postgres::Pool;
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;
use tower_http::cors::{Any, CorsLayer};

pub struct AppState {
    pub pool: Pool,
    pub issuer_keys: Arc<IssuerKeys>,
    pub client_documents: ClientDocuments,
    pub register_limit: RateLimiter,
    /// Lookups by device user code, per client IP: user codes are short (RFC 8628 §5.1).
    pub user_code_limit: RateLimiter,
    /// Failed client authentications, per client IP: secret guessing (RFC 9700 §2.5).
    pub client_auth_failure_limit: RateLimiter,
    pub trust_forwarded_for: bool,
}

type AppResult = Result<Response, CallError>;
type St = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>, consent_page: bool, demo_login: bool) -> Router {
    // Browsers call these from other origins (SPAs, consent pages): bearer tokens in headers,
    // no cookies, so any origin may.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    let api = Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/introspect", post(introspect))
        .route("/oauth/device_authorization", post(device_authorization))
        .route("/oauth/register", post(register))
        .route("/oauth/userinfo", get(userinfo).post(userinfo))
        .route("/oauth/authorizations/{id}", get(authorization))
        .route("/oauth/authorizations/{id}/consent", post(consent))
        .route("/oauth/grants", get(grants).delete(revoke_grant))
        .route(
            "/oauth/grants/{client_id}",
            axum::routing::delete(revoke_grant_path),
        )
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route(
            "/.well-known/oauth-authorization-server/{*issuer_path}",
            get(metadata_path_inserted),
        )
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/.well-known/oauth-protected-resource",
            get(protected_resource_root),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*path}",
            get(protected_resource),
        )
        .layer(cors);
    let mut app = Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/healthz", get(healthz))
        .merge(api);
    if consent_page {
        app = app.route(
            "/consent",
            get(|| async { Html(include_str!("../static/consent.html")) }),
        );
    }
    if demo_login {
        app = app
            .route("/demo/session", post(demo_session))
            .route("/callback", get(demo_callback));
    }
    app.fallback(|| async {
        CallError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    })
    .with_state(state)
}

fn bad_request(description: &str) -> CallError {
    CallError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token after `Bearer ` in the Authorization header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let auth = header_str(headers, header::AUTHORIZATION)?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A POST body as the JSON object the SQL functions take: form-urlencoded (RFC 6749) or JSON.
fn body_params(headers: &HeaderMap, body: &Bytes) -> Result<Value, CallError> {
    let ct = header_str(headers, header::CONTENT_TYPE).unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => Ok(form::to_json(body)),
        "application/json" => match serde_json::from_slice::<Value>(body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(bad_request("the body must be a JSON object")),
        },
        _ => Err(bad_request(
            "the body must be application/x-www-form-urlencoded",
        )),
    }
}

async fn authorize(State(s): St, RawQuery(q): RawQuery) -> AppResult {
    let params = form::to_json(q.unwrap_or_default().as_bytes());
    // A client identified by the URL of its metadata document: fetch and store it first.
    if let Some(client_id) = params["client_id"]
        .as_str()
        .filter(|c| client_documents::is_document_url(c))
    {
        s.client_documents.ensure(client_id).await?;
    }
    let mut res = sql::call(&s.pool, "oauth.authorize($1)", &[&params]).await?;
    if res.status.is_redirection() {
        // The browser only needs the Location header.
        res.body = Value::Null;
        return Ok((res.status, res.headers_map()).into_response());
    }
    Ok(res.into_response())
}

/// The client-authenticating endpoints: one SQL call with the body and the Authorization
/// header. An IP whose failed client authentications used up their budget gets 429 first.
async fn form_endpoint(
    s: &AppState,
    call: &str,
    headers: &HeaderMap,
    peer: SocketAddr,
    body: &Bytes,
) -> AppResult {
    let ip = client_ip(s, headers, peer);
    if let Err(wait) = s.client_auth_failure_limit.peek(ip, Instant::now()) {
        return Ok(too_many(
            "too many failed client authentications from this address",
            wait,
        ));
    }
    let params = body_params(headers, body)?;
    let authorization = header_str(headers, header::AUTHORIZATION);
    let res = sql::call(&s.pool, call, &[&params, &authorization]).await?;
    if res.status == StatusCode::UNAUTHORIZED {
        let _ = s.client_auth_failure_limit.check(ip, Instant::now());
    }
    Ok(res.into_response())
}

/// 429 with `Retry-After`.
fn too_many(description: &str, wait: u64) -> Response {
    let mut res =
        CallError::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", description).into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    res
}

async fn token(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    form_endpoint(&s, "oauth.token($1, $2)", &headers, peer, &body).await
}

async fn revoke(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    form_endpoint(&s, "oauth.revoke($1, $2)", &headers, peer, &body).await
}

async fn device_authorization(
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
    )
    .await
}

async fn introspect(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    form_endpoint(&s, "oauth.introspect($1, $2)", &headers, peer, &body).await
}

fn client_ip(s: &AppState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    if s.trust_forwarded_for {
        if let Some(ip) = header_str(headers, header::HeaderName::from_static("x-forwarded-for"))
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    peer.ip()
}

async fn register(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    if let Err(wait) = s
        .register_limit
        .check(client_ip(&s, &headers, peer), Instant::now())
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

async fn userinfo(State(s): St, headers: HeaderMap, body: Bytes) -> AppResult {
    // RFC 6750: the Authorization header, or (POST) a form parameter; never both.
    let from_body = if body.is_empty() {
        None
    } else {
        body_params(&headers, &body)?
            .get("access_token")
            .and_then(Value::as_str)
            .map(String::from)
    };
    let token = match (bearer(&headers), from_body.as_deref()) {
        (Some(_), Some(_)) => return Err(bad_request("the access token was sent more than once")),
        (h, b) => h.or(b),
    };
    Ok(sql::call(&s.pool, "oauth.userinfo($1)", &[&token])
        .await?
        .into_response())
}

/// Runs `call` for the user whose session token is the request's bearer token.
async fn as_user(
    s: &AppState,
    headers: &HeaderMap,
    call: &str,
    params: &[&(dyn ToSql + Sync)],
) -> AppResult {
    Ok(
        sql::call_as_user(&s.pool, &s.issuer_keys, bearer(headers), call, params)
            .await?
            .into_response(),
    )
}

/// Authorization ids are long random tokens; anything short is a user code being tried.
fn limit_user_codes(
    s: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    id: &str,
) -> Result<(), CallError> {
    if id.len() > 16 {
        return Ok(());
    }
    s.user_code_limit
        .check(client_ip(s, headers, peer), Instant::now())
        .map_err(|_| {
            CallError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                "too many user codes tried from this address; wait a minute",
            )
        })
}

async fn authorization(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult {
    limit_user_codes(&s, &headers, peer, &id)?;
    as_user(&s, &headers, "oauth.authorization($1)", &[&id]).await
}

/// The decision: `{"approve": true|false}` as JSON, or `approve=true|false` as a form.
async fn consent(
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
    as_user(&s, &headers, "oauth.consent($1, $2)", &[&id, &approve]).await
}

async fn grants(State(s): St, headers: HeaderMap) -> AppResult {
    as_user(&s, &headers, "oauth.grants()", &[]).await
}

#[derive(Deserialize)]
struct ClientIdQuery {
    client_id: Option<String>,
}

async fn revoke_grant(
    State(s): St,
    headers: HeaderMap,
    Query(q): Query<ClientIdQuery>,
) -> AppResult {
    revoke_grant_of(&s, &headers, q.client_id).await
}

async fn revoke_grant_path(
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
    as_user(s, headers, "oauth.revoke_grant($1)", &[&client_id]).await
}

/// Discovery documents change only with configuration: cacheable for a few minutes.
fn cacheable(mut res: SqlResponse) -> Response {
    res.headers.push((
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    ));
    res.into_response()
}

async fn metadata(State(s): St) -> AppResult {
    Ok(cacheable(
        sql::call(&s.pool, "oauth.metadata()", &[]).await?,
    ))
}

/// RFC 8414 §3.1: for an issuer with a path, the metadata lives at
/// `/.well-known/oauth-authorization-server/<path>`. Only the issuer's own path answers.
async fn metadata_path_inserted(State(s): St, Path(issuer_path): Path<String>) -> AppResult {
    let res = sql::call(&s.pool, "oauth.metadata()", &[]).await?;
    let issuer = res.body.get("issuer").and_then(Value::as_str).unwrap_or("");
    let path = issuer
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, p)| p.trim_end_matches('/'))
        .unwrap_or("");
    if path.is_empty() || path != issuer_path.trim_end_matches('/') {
        return Err(CallError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no authorization server with this issuer path",
        ));
    }
    Ok(cacheable(res))
}

/// RFC 9728: metadata of the protected resource at `/<path>` on this origin (and at the root,
/// of the origin itself or, when it is the issuer, of our userinfo).
async fn protected_resource(State(s): St, Path(path): Path<String>) -> AppResult {
    let path = format!("/{}", path.trim_end_matches('/'));
    protected_resource_at(&s, &path).await
}

async fn protected_resource_root(State(s): St) -> AppResult {
    protected_resource_at(&s, "").await
}

async fn protected_resource_at(s: &AppState, path: &str) -> AppResult {
    let res = sql::call(
        &s.pool,
        "oauth.protected_resource_metadata_at($1)",
        &[&path],
    )
    .await?;
    Ok(if res.status.is_success() {
        cacheable(res)
    } else {
        res.into_response()
    })
}

async fn jwks(State(s): St) -> AppResult {
    Ok(cacheable(sql::call(&s.pool, "oauth.jwks()", &[]).await?))
}

async fn healthz(State(s): St) -> Response {
    let ok = async {
        let c = s.pool.get().await.ok()?;
        c.query_one("SELECT 1", &[]).await.ok()
    }
    .await
    .is_some();
    if ok {
        (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "database unavailable"})),
        )
            .into_response()
    }
}

#[derive(Deserialize)]
struct DemoUser {
    username: String,
}

/// DEMO ONLY (`--demo-login`): a session token for any user name, no password.
async fn demo_session(State(s): St, body: Bytes) -> AppResult {
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

/// DEMO ONLY: where the demo client's browser lands; shows the code to exchange.
async fn demo_callback(RawQuery(q): RawQuery) -> Html<String> {
    let params = form::to_json(q.unwrap_or_default().as_bytes());
    let escape = |v: &Value| {
        v.as_str()
            .unwrap_or("")
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;")
    };
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every path given to `.route(` in this file, as an OpenAPI path (`{*rest}` → `{rest}`).
    fn routes_in_source() -> BTreeSet<String> {
        include_str!("routes.rs")
            .split(".route(")
            .skip(1)
            .filter_map(|after| after.trim_start().strip_prefix('"'))
            .filter_map(|path| path.split_once('"').map(|(p, _)| p.replace("{*", "{")))
            .filter(|p| p.starts_with('/'))
            .collect()
    }

    fn paths_in_openapi() -> BTreeSet<String> {
        include_str!("../openapi.yaml")
            .lines()
            .filter_map(|l| l.strip_prefix("  /").and_then(|p| p.strip_suffix(':')))
            .map(|p| format!("/{p}"))
            .collect()
    }

    #[test]
    fn openapi_describes_every_route_and_nothing_else() {
        let routes = routes_in_source();
        let paths = paths_in_openapi();
        assert!(routes.len() > 20, "{routes:?}");
        assert_eq!(routes, paths, "front/openapi.yaml is out of date");
    }
}
