//! One request, one transaction, one SQL function: runs the call, then reads the
//! `response.status` / `response.headers` the function set (PostgREST's convention) and turns
//! all three into the HTTP response. Raised SQL errors map onto OAuth error responses by
//! SQLSTATE; a lost connection is a 503 the client may retry.
//!
//! This bridge imports nothing else of the front: what combines a call with something else
//! (a key refresh and a retry, a replica) is written by its caller.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use deadpool_postgres::{Pool, PoolError};
use serde_json::{json, Value};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// What a SQL function answered.
pub struct SqlResponse {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Value,
}

impl SqlResponse {
    /// `Ok` for a 2xx answer, else the function's `error_description` (or `otherwise`): for
    /// the front's own calls that store what it fetched.
    pub fn accepted(&self, otherwise: &str) -> Result<(), String> {
        if self.status.is_success() {
            return Ok(());
        }
        Err(self.body["error_description"]
            .as_str()
            .unwrap_or(otherwise)
            .to_string())
    }

    pub fn headers_map(&self) -> axum::http::HeaderMap {
        let mut map = axum::http::HeaderMap::new();
        for (k, v) in &self.headers {
            map.append(k.clone(), v.clone());
        }
        map
    }
}

impl IntoResponse for SqlResponse {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body)).into_response();
        for (k, v) in self.headers {
            res.headers_mut().append(k, v);
        }
        res
    }
}

/// A failure of the call itself, as an OAuth-style error response.
#[derive(Debug)]
pub struct CallError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// Set when a session token was refused because its issuer's stored keys lack its `kid`:
    /// the issuer, whose keys may be refreshed before one retry.
    pub unknown_key_issuer: Option<String>,
    /// Seconds for `Retry-After` (a 429).
    pub retry_after: Option<u64>,
    /// The database could not be reached at all (refused, gone, a connection that could not
    /// be made in time) — as opposed to reached but busy (every pooled connection in use, a
    /// statement timeout, out of resources). Only this makes reads go to replicas alone.
    pub unreachable: bool,
}

impl IntoResponse for CallError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self.status {
            StatusCode::SERVICE_UNAVAILABLE => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            StatusCode::UNAUTHORIZED => {
                let challenge = format!("Bearer realm=\"oauth\", error=\"{}\"", self.error);
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    h.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            _ => {}
        }
        if let Some(wait) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        res
    }
}

impl CallError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        CallError {
            status,
            error,
            description: description.into(),
            unknown_key_issuer: None,
            retry_after: None,
            unreachable: false,
        }
    }

    pub fn unavailable(why: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %why, "database unavailable");
        CallError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the authorization server's database is unavailable; retry shortly",
        )
    }
}

/// 429 with `Retry-After: wait`.
pub fn too_many_requests(error: &'static str, description: &str, wait: u64) -> CallError {
    let mut e = CallError::new(StatusCode::TOO_MANY_REQUESTS, error, description);
    e.retry_after = Some(wait.max(1));
    e
}

/// An error with its causes, `outer: inner: …`, each said once: pool and driver errors say
/// "db error" or "error performing TLS handshake" and keep the reason (a certificate,
/// pg_hba.conf) inside; reqwest says "error sending request" (fetch/failure.rs uses it too).
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out = format!("{out}: {text}");
        }
        source = s.source();
    }
    out
}

impl From<PoolError> for CallError {
    fn from(e: PoolError) -> Self {
        // Waiting for a free pooled connection is being busy; failing to make one is not
        // reaching the server.
        let unreachable = !matches!(e, PoolError::Timeout(deadpool_postgres::TimeoutType::Wait));
        let mut out = CallError::unavailable(with_causes(&e));
        out.unreachable = unreachable;
        out
    }
}

impl From<tokio_postgres::Error> for CallError {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            // The connection closed or broke: the server is gone.
            let mut out = CallError::unavailable(with_causes(&e));
            out.unreachable = true;
            return out;
        };
        let message = db.message().to_string();
        let code = db.code();
        let (status, error) =
            if *code == SqlState::INVALID_PARAMETER_VALUE || code.code().starts_with("22") {
                (StatusCode::BAD_REQUEST, "invalid_request")
            } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
                let mut e = CallError::new(StatusCode::UNAUTHORIZED, "invalid_token", message);
                e.unknown_key_issuer = db
                    .detail()
                    .and_then(oauth_core::wire::unknown_kid_issuer)
                    .map(String::from);
                return e;
            } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
                (StatusCode::FORBIDDEN, "access_denied")
            } else if *code == SqlState::NO_DATA_FOUND {
                (StatusCode::NOT_FOUND, "not_found")
            } else if code.code().starts_with("40")
                || code.code().starts_with("57")
                || code.code().starts_with("08")
                || code.code().starts_with("53")
            {
                // Serialization failures, shutdowns, connection and resource trouble: transient.
                // Of these, a server shutting down or refusing connections is going away.
                let mut out = CallError::unavailable(format!("{}: {message}", code.code()));
                out.unreachable = code.code().starts_with("08")
                    || ["57P01", "57P02", "57P03"].contains(&code.code());
                return out;
            } else {
                tracing::error!(sqlstate = code.code(), %message, "SQL call failed");
                return CallError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the authorization server failed; see its log",
                );
            };
        CallError::new(status, error, message)
    }
}

/// Headers the SQL side may set: anything else in `response.headers` is dropped.
fn parse_headers(raw: Option<&str>) -> Vec<(HeaderName, HeaderValue)> {
    let Some(Value::Array(items)) = raw.and_then(|r| serde_json::from_str(r).ok()) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|o| o.iter())
        .filter_map(|(k, v)| {
            Some((
                HeaderName::from_bytes(k.as_bytes()).ok()?,
                HeaderValue::from_str(v.as_str()?).ok()?,
            ))
        })
        .collect()
}

/// `SELECT r::text, current_setting('response.status', true), … FROM <call> AS r`: the
/// function runs first, so the settings read are the ones it set.
fn wrap(call: &str) -> String {
    format!(
        "SELECT r::text, current_setting('response.status', true), \
         current_setting('response.headers', true) FROM {call} AS r"
    )
}

fn to_response(row: &tokio_postgres::Row) -> Result<SqlResponse, CallError> {
    let body: Option<String> = row.get(0);
    let status: Option<String> = row.get(1);
    let headers: Option<String> = row.get(2);
    let body = body
        .map(|b| serde_json::from_str(&b))
        .transpose()
        .map_err(|e| {
            CallError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            )
        })?
        .unwrap_or(Value::Null);
    let status = status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    Ok(SqlResponse {
        status,
        headers: parse_headers(headers.as_deref()),
        body,
    })
}

/// Calls `call` (e.g. `oauth.token($1, $2)`) in a single-statement transaction.
pub async fn call(
    pool: &Pool,
    call: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<SqlResponse, CallError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(&wrap(call)).await?;
    let row = client.query_one(&stmt, params).await?;
    to_response(&row)
}

/// Calls `call` for the signed-in user of `session_token`: the token is verified with
/// `oauth.verify_session` (our own keys or a trusted issuer's) and its normalised claims set as
/// `request.jwt.claims` for the transaction, exactly as PostgREST does after verifying a JWT.
/// A token signed with a key the database does not know yet is refused with
/// `unknown_key_issuer` set (see `user_call`, which refreshes that issuer's keys and retries).
pub async fn call_with_session(
    pool: &Pool,
    token: &str,
    call: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<SqlResponse, CallError> {
    let client = pool.get().await?;
    let begin = client.prepare_cached("BEGIN").await?;
    let set_claims = client
        .prepare_cached(
            "SELECT set_config('request.jwt.claims', oauth.verify_session($1)::text, true)",
        )
        .await?;
    let stmt = client.prepare_cached(&wrap(call)).await?;
    let commit = client.prepare_cached("COMMIT").await?;
    // The four are pipelined: one round trip instead of four. join! sends every request on its
    // first poll (the connection's queue never blocks), so a dropped request sends all or none
    // and the connection never goes back to the pool inside a transaction; once sent, the call
    // commits even if nobody reads its answer (as with `call`). If verification fails, the
    // call fails too (the transaction is aborted) and COMMIT rolls back; the first error is
    // the one reported.
    let token_param: [&(dyn ToSql + Sync); 1] = [&token];
    let (began, verified, row, committed) = tokio::join!(
        client.execute(&begin, &[]),
        client.query_one(&set_claims, &token_param),
        client.query_one(&stmt, params),
        client.execute(&commit, &[]),
    );
    began?;
    verified?;
    let row = row?;
    committed?;
    to_response(&row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_from_postgrest_format() {
        let h = parse_headers(Some(
            r#"[{"Location": "https://a/b"}, {"Cache-Control": "no-store"}, {"bad header": "x"}, 5]"#,
        ));
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].0, header::LOCATION);
        assert_eq!(h[1].1, "no-store");
        assert!(parse_headers(Some("not json")).is_empty());
        assert!(parse_headers(None).is_empty());
    }
}
