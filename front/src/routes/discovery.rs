//! What anyone may read without credentials: the authorization server's metadata (OpenID
//! Connect Discovery, RFC 8414), protected resource metadata (RFC 9728), the JWKS, and the
//! health check. Answered on a replica when one may, cacheable for a few minutes.

use crate::app::state::{AppResult, AppState, St};
use crate::http::respond::cacheable;
use crate::replicas;
use crate::sql::{CallError, SqlResponse};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A read-only call with no arguments, on a replica when one may answer.
async fn read(s: &AppState, call: &str) -> Result<SqlResponse, CallError> {
    s.replicas.read(&s.pool, call, &[], replicas::found).await
}

pub async fn metadata(State(s): St) -> AppResult {
    Ok(cacheable(read(&s, "oauth.metadata()").await?))
}

/// RFC 8414 §3.1: for an issuer with a path, the metadata lives at
/// `/.well-known/oauth-authorization-server/<path>`. Only the issuer's own path answers.
pub async fn metadata_path_inserted(State(s): St, Path(issuer_path): Path<String>) -> AppResult {
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
pub async fn protected_resource(State(s): St, Path(path): Path<String>) -> AppResult {
    let path = format!("/{}", path.trim_end_matches('/'));
    protected_resource_at(&s, &path).await
}

pub async fn protected_resource_root(State(s): St) -> AppResult {
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

pub async fn jwks(State(s): St) -> AppResult {
    Ok(cacheable(read(&s, "oauth.jwks()").await?))
}

pub async fn healthz(State(s): St) -> Response {
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
