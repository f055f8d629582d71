//! The administrator's credential and the one call every admin route makes with it.

use super::errors::{accepted, SbError, Subject};
use crate::app::state::AppState;
use crate::http::extract::{bearer, header_str};
use crate::sql;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use serde_json::Value;

/// The administrator's credential: the bearer token, or `apikey` when there is no
/// Authorization header at all (a bearer that is not an administrator's is never traded for
/// the apikey).
fn admin_credential(headers: &HeaderMap) -> Result<&str, SbError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return bearer(headers).ok_or_else(SbError::no_authorization);
    }
    header_str(headers, HeaderName::from_static("apikey"))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(SbError::no_authorization)
}

/// One call of an admin API function (`oauth.admin_clients`, `oauth.admin_users`), whose
/// first argument `$1` is the administrator's credential and `args` the rest: the function
/// authorises the credential and raises for every refusal.
pub async fn admin_call(
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

pub fn json_body(body: &Bytes) -> Result<Value, SbError> {
    serde_json::from_slice(body)
        .map_err(|_| SbError::new(StatusCode::BAD_REQUEST, "bad_json", "Invalid JSON body"))
}
