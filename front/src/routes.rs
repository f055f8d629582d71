//! The routes of DESIGN.md, each mapped onto one SQL function. Handlers only translate HTTP
//! (query strings, form bodies, headers) into the function's arguments.

use crate::client_documents::{self, ClientDocuments};
use crate::issuer_keys::IssuerKeys;
use crate::pages::{self, ErrorPage};
use crate::provider_metadata::ProviderMetadata;
use crate::rate_limit::{AddrKey, Admission, FailureBudget, RateLimiter};
use crate::replicas::{self, Replicas};
use crate::sign_in::{self, SignIn};
use crate::sql::{self, CallError, SqlResponse};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use deadpool_postgres::Pool;
use oauth_core::form;
use oauth_core::protocol::secret::is_authorization_id;
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;
use tower_http::cors::{Any, CorsLayer};

pub struct AppState {
    /// The primary (a multi-host string with target_session_attrs=read-write follows it
    /// through a failover).
    pub pool: Pool,
    /// Hot standbys for the read-only routes (see `replicas`); empty without `--replica-url`.
    pub replicas: Arc<Replicas>,
    pub issuer_keys: Arc<IssuerKeys>,
    pub providers: Arc<ProviderMetadata>,
    pub sign_in: SignIn,
    pub client_documents: ClientDocuments,
    pub register_limit: RateLimiter,
    /// Lookups by device user code, per client address: user codes are short (RFC 8628 §5.1).
    pub user_code_limit: RateLimiter,
    /// Failed client authentications, per client_id and address: secret guessing (RFC 9700
    /// §2.5).
    pub client_auth_failures: FailureBudget,
    /// Reverse proxies in front of this one: the client address is the N-th X-Forwarded-For
    /// entry from the right (0: the socket's peer).
    pub proxy_hops: usize,
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
        .route(
            "/oauth/authorizations/{id}/prompt_none_failed",
            post(prompt_none_failed),
        )
        .route("/oauth/grants", get(grants).delete(revoke_grant))
        .route("/oauth/grants/{client_id}", delete(revoke_grant_path))
        .route(
            "/oauth/sign_in_providers",
            get(move |s: St| sign_in_providers(s, demo_login)),
        )
        .route("/oauth/identities", get(identities))
        .route(
            "/oauth/identities/{provider}/{subject}",
            delete(unlink_identity),
        )
        .route("/oauth/sign_out", post(sign_out))
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
        .layer(cors.clone());
    // Browser navigations (no CORS): the answers are redirects and HTML pages.
    let mut app = Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/logout", get(logout_get).post(logout_post))
        .route("/signin/{name}", get(sign_in::begin))
        .route(
            "/signin/{name}/callback",
            get(sign_in::callback_get).post(sign_in::callback_post),
        )
        .route("/healthz", get(healthz))
        .merge(api);
    if consent_page {
        app = app.route(
            "/consent",
            // No other window may hold this page (a cross-origin opener could navigate it to
            // a fragment with its own session token: login CSRF), nor frame it.
            get(|| async {
                (
                    [
                        ("cross-origin-opener-policy", "same-origin"),
                        ("content-security-policy", "frame-ancestors 'none'"),
                        ("x-frame-options", "DENY"),
                    ],
                    Html(include_str!("../static/consent.html")),
                )
            }),
        );
    }
    if demo_login {
        app = app
            // A consent page on another origin (examples/supabase-consent) signs in here too.
            .route("/demo/session", post(demo_session).layer(cors))
            .route("/callback", get(demo_callback));
    }
    app.nest("/auth/v1", crate::supabase::router())
        .fallback(|| async {
            CallError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .with_state(state)
}

fn bad_request(description: &str) -> CallError {
    CallError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}

pub(crate) fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token after `Bearer ` in the Authorization header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let auth = header_str(headers, header::AUTHORIZATION)?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A POST body as the JSON object the SQL functions take: form-urlencoded (RFC 6749) or JSON.
pub fn body_params(headers: &HeaderMap, body: &Bytes) -> Result<Value, CallError> {
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

pub(crate) async fn authorize(
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
        let addr = AddrKey::of(client_ip(&s, &headers, peer));
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

async fn logout_get(State(s): St, RawQuery(q): RawQuery) -> Result<Response, ErrorPage> {
    logout(&s, form::to_json(q.unwrap_or_default().as_bytes())).await
}

async fn logout_post(State(s): St, headers: HeaderMap, body: Bytes) -> Result<Response, ErrorPage> {
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

/// The client-authenticating endpoints: one SQL call with the body and the Authorization
/// header. Failed client authentications are counted per (client_id, address); past the
/// budget a failure is answered 429 (see `FailureBudget`), a success as usual.
async fn form_endpoint(
    s: &AppState,
    call: &str,
    headers: &HeaderMap,
    peer: SocketAddr,
    body: &Bytes,
    on_replica: Option<fn(&SqlResponse) -> bool>,
) -> AppResult {
    let addr = AddrKey::of(client_ip(s, headers, peer));
    let params = body_params(headers, body)?;
    let authorization = header_str(headers, header::AUTHORIZATION);
    let client_id = presented_client_id(&params, authorization);
    const SPENT: &str = "too many failed client authentications for this client from this address";
    let admission = s
        .client_auth_failures
        .admit(&client_id, addr, Instant::now());
    if let Admission::Refuse { wait } = admission {
        return Ok(too_many(SPENT, wait));
    }
    let args: [&(dyn ToSql + Sync); 2] = [&params, &authorization];
    let res = match on_replica {
        Some(positive) => s.replicas.read(&s.pool, call, &args, positive).await?,
        None => sql::call(&s.pool, call, &args).await?,
    };
    if res.status != StatusCode::UNAUTHORIZED {
        return Ok(res.into_response());
    }
    s.client_auth_failures
        .failed(&client_id, addr, Instant::now());
    match admission {
        Admission::Probe { probe, hold, wait } => {
            tokio::time::sleep(hold).await;
            drop(probe);
            Ok(too_many(SPENT, wait))
        }
        _ => Ok(res.into_response()),
    }
}

/// The client_id an authentication attempt names, decoded as the extension decodes it (RFC
/// 6749 §2.3.1: Basic credentials are form-urlencoded), so that spellings of one id share one
/// budget. "" when none can be read (such attempts share the address's anonymous budget).
fn presented_client_id(params: &Value, authorization: Option<&str>) -> String {
    use base64::Engine;
    let from_basic = authorization
        .map(str::trim)
        .and_then(|a| a.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|raw| {
            let id = raw.split_once(':').map_or(raw.as_str(), |(id, _)| id);
            form_urlencoded::parse(format!("id={id}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        });
    from_basic
        .or_else(|| params["client_id"].as_str().map(String::from))
        .unwrap_or_default()
}

/// 429 `slow_down` with `Retry-After`.
fn too_many(description: &str, wait: u64) -> Response {
    sql::too_many_requests("slow_down", description, wait).into_response()
}

pub(crate) async fn token(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    form_endpoint(&s, "oauth.token($1, $2)", &headers, peer, &body, None).await
}

pub(crate) async fn revoke(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    form_endpoint(&s, "oauth.revoke($1, $2)", &headers, peer, &body, None).await
}

pub(crate) async fn device_authorization(
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
    )
    .await
}

pub(crate) async fn introspect(
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
    )
    .await
}

fn client_ip(s: &AppState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    forwarded_client(headers, peer.ip(), s.proxy_hops)
}

/// The client's address behind `hops` proxies you run. Each proxy appends the address of
/// whoever connected to it to `X-Forwarded-For` (one header or several, read as one list), so
/// the entry the outermost of them appended is the `hops`-th from the right; everything left
/// of it came from the client and is ignored. With fewer entries than hops (a request that
/// skipped an outer proxy), the leftmost is taken: it was still appended by one of yours.
/// An entry that is not an address (`unknown`, garbage) leaves the socket's peer.
pub fn forwarded_client(headers: &HeaderMap, peer: IpAddr, hops: usize) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all(header::HeaderName::from_static("x-forwarded-for"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let Some(entry) = entries
        .len()
        .checked_sub(hops)
        .map(|i| entries[i])
        .or(entries.first().copied())
    else {
        return peer;
    };
    parse_forwarded_addr(entry).unwrap_or(peer)
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_forwarded_addr(entry: &str) -> Option<IpAddr> {
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })
}

pub(crate) async fn register(
    State(s): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult {
    if let Err(wait) = s
        .register_limit
        .check(AddrKey::of(client_ip(&s, &headers, peer)), Instant::now())
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

pub(crate) async fn userinfo(State(s): St, headers: HeaderMap, body: Bytes) -> AppResult {
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
    let res = s
        .replicas
        .read(&s.pool, "oauth.userinfo($1)", &[&token], replicas::found)
        .await?;
    Ok(res.into_response())
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

/// Every id that is not shaped like an authorization id is a user code being tried, whatever
/// its spelling (padding, case, spaces, length): counted per client address.
pub(crate) fn limit_user_codes(
    s: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    id: &str,
) -> Result<(), CallError> {
    if is_authorization_id(id) {
        return Ok(());
    }
    s.user_code_limit
        .check(AddrKey::of(client_ip(s, headers, peer)), Instant::now())
        .map_err(|wait| {
            sql::too_many_requests(
                "slow_down",
                "too many user codes tried from this address; wait a minute",
                wait,
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

/// A `prompt=none` request the consent page cannot complete without showing the user
/// something (no session: `login_required`): ends it with that error, no session needed.
async fn prompt_none_failed(
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

async fn grants(State(s): St, headers: HeaderMap) -> AppResult {
    as_user(&s, &headers, "oauth.grants()", &[]).await
}

/// `?client_id=…` of the grant revocations (ours and Supabase's).
#[derive(Deserialize)]
pub(crate) struct ClientIdQuery {
    pub client_id: Option<String>,
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

/// The sign-in options a consent page offers: the providers' buttons, and whether the demo
/// sign-in is on (only the front knows).
async fn sign_in_providers(State(s): St, demo_login: bool) -> AppResult {
    let res = sql::call(&s.pool, "oauth.sign_in_buttons()", &[]).await?;
    if !res.status.is_success() {
        return Ok(res.into_response());
    }
    Ok(axum::Json(json!({"providers": res.body, "demo_login": demo_login})).into_response())
}

/// The signed-in user's upstream identities. As for the grants, the session is verified and
/// set as `request.jwt.claims` first (so a trusted issuer's new keys are fetched); the token
/// is passed too, which names the one-argument form whether or not the claims-only one exists.
async fn identities(State(s): St, headers: HeaderMap) -> AppResult {
    let token = bearer(&headers);
    as_user(&s, &headers, "oauth.identities($1)", &[&token]).await
}

async fn unlink_identity(
    State(s): St,
    headers: HeaderMap,
    Path((provider, subject)): Path<(String, String)>,
) -> AppResult {
    let token = bearer(&headers);
    let call = "oauth.unlink_identity($1, $2, $3)";
    as_user(&s, &headers, call, &[&provider, &subject, &token]).await
}

/// Ends the bearer's session: the function verifies the token itself (only ours can end).
async fn sign_out(State(s): St, headers: HeaderMap) -> AppResult {
    let token = bearer(&headers);
    Ok(sql::call(&s.pool, "oauth.sign_out($1)", &[&token])
        .await?
        .into_response())
}

/// Discovery documents change only with configuration: cacheable for a few minutes.
fn cacheable(mut res: SqlResponse) -> Response {
    res.headers.push((
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    ));
    res.into_response()
}

/// A read-only call with no arguments, on a replica when one may answer.
async fn read(s: &AppState, call: &str) -> Result<SqlResponse, CallError> {
    s.replicas.read(&s.pool, call, &[], replicas::found).await
}

pub(crate) async fn metadata(State(s): St) -> AppResult {
    Ok(cacheable(read(&s, "oauth.metadata()").await?))
}

/// RFC 8414 §3.1: for an issuer with a path, the metadata lives at
/// `/.well-known/oauth-authorization-server/<path>`. Only the issuer's own path answers.
async fn metadata_path_inserted(State(s): St, Path(issuer_path): Path<String>) -> AppResult {
    let res = read(&s, "oauth.metadata()").await?;
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
    let call = "oauth.protected_resource_metadata_at($1)";
    let res = s
        .replicas
        .read(&s.pool, call, &[&path], replicas::found)
        .await?;
    Ok(if res.status.is_success() {
        cacheable(res)
    } else {
        res.into_response()
    })
}

pub(crate) async fn jwks(State(s): St) -> AppResult {
    Ok(cacheable(read(&s, "oauth.jwks()").await?))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const PEER: &str = "10.0.0.2";

    fn client(values: &[&str], hops: usize) -> String {
        forwarded_client(&xff(values), PEER.parse().unwrap(), hops).to_string()
    }

    #[test]
    fn without_trusted_proxies_x_forwarded_for_is_ignored() {
        assert_eq!(client(&["203.0.113.9"], 0), PEER);
    }

    #[test]
    fn a_client_cannot_choose_its_address_by_prepending_x_forwarded_for_entries() {
        // One proxy (TLS terminator): it appended the client's real address last.
        assert_eq!(client(&["1.2.3.4, 203.0.113.9"], 1), "203.0.113.9");
        // Two (a CDN, then a load balancer): the rightmost is the CDN edge, the client is
        // the entry before it, whatever the client put further left.
        assert_eq!(
            client(&["1.2.3.4, 198.51.100.7, 192.0.2.200"], 2),
            "198.51.100.7"
        );
        // Several header lines are one list, in order.
        assert_eq!(
            client(&["1.2.3.4", "198.51.100.7", "192.0.2.200"], 2),
            "198.51.100.7"
        );
        // Fewer entries than hops: the leftmost, appended by one of the proxies.
        assert_eq!(client(&["198.51.100.7"], 2), "198.51.100.7");
        // Ports and brackets as some proxies write them.
        assert_eq!(client(&["198.51.100.7:4711"], 1), "198.51.100.7");
        assert_eq!(client(&["[2001:db8::1]:4711"], 1), "2001:db8::1");
        assert_eq!(client(&["[2001:db8::1]"], 1), "2001:db8::1");
        // Garbage or nothing: the socket's peer.
        assert_eq!(client(&["unknown"], 1), PEER);
        assert_eq!(client(&[], 1), PEER);
    }

    #[test]
    fn padded_or_respelled_user_codes_are_counted_as_user_codes() {
        let real = "Xb3_0f9aQk-2LmN8pQrStUvWxYz0123456789abcDEF";
        assert_eq!(real.len(), 43);
        assert!(is_authorization_id(real));
        for code in [
            "BCDF-GHJK",
            "bcdfghjk",
            "BCDF-GHJK------------",
            "BCDF-GHJK----------------------------------",
            "BCDFGHJK-----------------------------------",
            "B-C-D-F-G-H-J-K----------------------------",
            "bcdf ghjk",
            "BCDFGHJK BCDFGHJK BCDFGHJK BCDFGHJK BCDFGHJ",
            "",
            &"A".repeat(44),
            &"A".repeat(42),
        ] {
            assert!(!is_authorization_id(code), "{code:?} escapes the limit");
        }
        assert_eq!(
            "BCDF-GHJK----------------------------------".len(),
            43,
            "the padded code has an id's length"
        );
    }

    #[test]
    fn spellings_of_one_client_id_share_one_failure_budget() {
        use base64::Engine;
        let b64 = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        let none = json!({});
        assert_eq!(presented_client_id(&none, Some(&b64("abc:x"))), "abc");
        assert_eq!(presented_client_id(&none, Some(&b64("%61bc:x"))), "abc");
        assert_eq!(presented_client_id(&none, Some(&b64("a+b:x"))), "a b");
        assert_eq!(
            presented_client_id(&none, Some(&format!("basic  {}", &b64("abc:x")[6..]))),
            "abc"
        );
        assert_eq!(
            presented_client_id(&json!({"client_id": "abc"}), None),
            "abc"
        );
        assert_eq!(presented_client_id(&none, None), "");
        assert_eq!(presented_client_id(&none, Some("Basic !!!")), "");
    }

    /// Every path given to `.route(` in this file, and the Supabase-only routes (those of
    /// `supabase/mod.rs` before its re-mounted standard ones) under `/auth/v1`, as OpenAPI paths
    /// (`{*rest}` → `{rest}`).
    fn routes_in_source() -> BTreeSet<String> {
        let supabase = include_str!("supabase/mod.rs")
            .split("let standard")
            .next()
            .unwrap();
        let mut all = paths_routed_in(include_str!("routes.rs"));
        all.extend(
            paths_routed_in(supabase)
                .into_iter()
                .map(|p| format!("/auth/v1{p}")),
        );
        all
    }

    fn paths_routed_in(source: &str) -> BTreeSet<String> {
        source
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
