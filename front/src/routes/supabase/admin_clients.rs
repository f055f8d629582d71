//! `auth.admin.oauth.*`: the OAuth clients, listed, created, read, updated, deleted and given
//! a new secret, onto `oauth.admin_clients`.

use super::admin::{admin_call, json_body};
use super::errors::{SbError, SbResult, Subject};
use super::shapes;
use crate::app::state::{AppState, St};
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

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
pub struct PageQuery {
    pub page: Option<String>,
    pub per_page: Option<String>,
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

pub async fn list_clients(
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

pub async fn create_client(State(s): St, headers: HeaderMap, body: Bytes) -> SbResult {
    let params = shapes::create_params(&json_body(&body)?).map_err(SbError::validation)?;
    let ours = admin(&s, &headers, "create", None, params).await?;
    Ok((StatusCode::CREATED, Json(shapes::client(&ours))).into_response())
}

pub async fn get_client(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> SbResult {
    let ours = admin(&s, &headers, "get", Some(&id), json!({})).await?;
    Ok(Json(shapes::client(&ours)).into_response())
}

pub async fn update_client(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> SbResult {
    let params = shapes::update_params(&json_body(&body)?).map_err(SbError::validation)?;
    let ours = admin(&s, &headers, "update", Some(&id), params).await?;
    Ok(Json(shapes::client(&ours)).into_response())
}

pub async fn delete_client(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> SbResult {
    admin(&s, &headers, "delete", Some(&id), json!({})).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The whole client with its new secret (`oauth.admin_clients` answers it so: the rotation and
/// the read are one call).
pub async fn regenerate_secret(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> SbResult {
    let ours = admin(&s, &headers, "regenerate_secret", Some(&id), json!({})).await?;
    Ok(Json(shapes::client(&ours)).into_response())
}
