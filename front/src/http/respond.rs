//! Answers several surfaces give: 429 with `Retry-After`, and discovery documents with a
//! cache lifetime.

use crate::sql::{self, SqlResponse};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// 429 `slow_down` with `Retry-After`.
pub fn too_many(description: &str, wait: u64) -> Response {
    sql::too_many_requests("slow_down", description, wait).into_response()
}

/// Discovery documents change only with configuration: cacheable for a few minutes.
pub fn cacheable(mut res: SqlResponse) -> Response {
    res.headers.push((
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    ));
    res.into_response()
}
