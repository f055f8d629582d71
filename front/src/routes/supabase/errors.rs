//! Errors as Supabase Auth (GoTrue) writes them, so that supabase-js fills in `error.code`,
//! `error.message` and `error.status`. A request that declares `X-Supabase-Api-Version:
//! 2024-01-01` or later (supabase-js always does) gets `{"code": "<error_code>", "message"}`
//! and the version echoed; any other gets the older `{"code": <status>, "error_code", "msg"}`.
//! Both carry `x-sb-error-code`. The standard OAuth endpoints under `/auth/v1` keep RFC 6749
//! errors: only the Supabase-specific routes answer with these.

use crate::sql::{CallError, SqlResponse};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The API version supabase-js sends, and the one this surface speaks.
pub const API_VERSION: &str = "2024-01-01";
const VERSION_HEADER: &str = "x-supabase-api-version";

/// What the failed call was about: decides the `*_not_found` code and what a refused
/// credential is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `/oauth/authorizations/{id}` and its consent.
    Authorization,
    /// `/user/oauth/grants`.
    Grant,
    /// `/user`, `/logout`.
    User,
    /// `/admin/oauth/clients…`.
    Client,
    /// `/admin/users/{id}`.
    AdminUser,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

pub type SbResult = Result<Response, SbError>;

impl SbError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        SbError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        SbError::new(StatusCode::BAD_REQUEST, "validation_failed", message)
    }

    /// No `Authorization: Bearer …` at all (GoTrue's wording).
    pub fn no_authorization() -> Self {
        SbError::new(
            StatusCode::UNAUTHORIZED,
            "no_authorization",
            "This endpoint requires a valid Bearer token",
        )
    }

    /// The Supabase error for an OAuth-style failure (`error`, `error_description`, status).
    pub fn classify(status: StatusCode, error: &str, description: &str, subject: Subject) -> Self {
        let (status, code, message) = match status.as_u16() {
            // A real session, but prompt=login / max_age want a fresher sign-in.
            401 if error == "login_required" => (
                StatusCode::UNAUTHORIZED,
                "reauthentication_needed",
                description.to_string(),
            ),
            401 => (
                StatusCode::FORBIDDEN,
                "bad_jwt",
                format!("invalid JWT: {description}"),
            ),
            403 if matches!(subject, Subject::Client | Subject::AdminUser) => (
                StatusCode::FORBIDDEN,
                "not_admin",
                format!("User not allowed: {description}"),
            ),
            403 if error == "access_denied" => {
                (StatusCode::FORBIDDEN, "bad_jwt", description.to_string())
            }
            404 => {
                let code = match subject {
                    Subject::Authorization => "oauth_authorization_not_found",
                    Subject::Grant => "oauth_consent_not_found",
                    Subject::User | Subject::AdminUser => "user_not_found",
                    Subject::Client => "oauth_client_not_found",
                };
                (StatusCode::NOT_FOUND, code, description.to_string())
            }
            409 => (StatusCode::CONFLICT, "conflict", description.to_string()),
            429 => (
                StatusCode::TOO_MANY_REQUESTS,
                "over_request_rate_limit",
                description.to_string(),
            ),
            s if s >= 500 => (status, "unexpected_failure", description.to_string()),
            _ => (status, "validation_failed", description.to_string()),
        };
        SbError::new(status, code, message)
    }

    pub fn from_call(e: CallError, subject: Subject) -> Self {
        let mut out = SbError::classify(e.status, e.error, &e.description, subject);
        // A lost database is worth retrying shortly, as on our own routes.
        let busy = (e.status == StatusCode::SERVICE_UNAVAILABLE).then_some(1);
        out.retry_after = e.retry_after.or(busy);
        out
    }

    /// A function's non-2xx answer (`{"error", "error_description"}` with its status).
    pub fn from_answer(res: &SqlResponse, subject: Subject) -> Self {
        let text = |k: &str| res.body.get(k).and_then(Value::as_str).unwrap_or("");
        let description = match text("error_description") {
            "" => text("error"),
            d => d,
        };
        SbError::classify(res.status, text("error"), description, subject)
    }
}

/// The answer's body when it is a 2xx, else its error.
pub fn accepted(res: SqlResponse, subject: Subject) -> Result<Value, SbError> {
    if res.status.is_success() {
        Ok(res.body)
    } else {
        Err(SbError::from_answer(&res, subject))
    }
}

impl IntoResponse for SbError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code, "message": self.message});
        let mut res = (self.status, axum::Json(body)).into_response();
        let h = res.headers_mut();
        h.insert("x-sb-error-code", HeaderValue::from_static(self.code));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(wait) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(wait.max(1)));
        }
        // The middleware reads it to pick the body's shape.
        res.extensions_mut().insert(self);
        res
    }
}

/// Whether a request's `X-Supabase-Api-Version` asks for the 2024-01-01 error shape: a date
/// `YYYY-MM-DD` on or after it. Anything else (absent, malformed) is the initial version.
pub fn wants_2024_errors(version: Option<&str>) -> bool {
    let Some(v) = version.map(str::trim) else {
        return false;
    };
    let b = v.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let month_day_ok = shaped
        && (1..=12).contains(&v[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&v[8..10].parse::<u8>().unwrap_or(0));
    month_day_ok && v >= API_VERSION
}

/// Middleware of the Supabase routes: an error answered to a request that did not declare
/// the 2024-01-01 API gets GoTrue's initial shape; one that did gets the version echoed.
pub async fn error_shape(req: Request, next: Next) -> Response {
    let modern = wants_2024_errors(
        req.headers()
            .get(VERSION_HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let mut res = next.run(req).await;
    let err = match res.extensions_mut().remove::<SbError>() {
        Some(err) => err,
        None if is_rejection(&res) => {
            let err = rejection(res).await;
            res = err.clone().into_response();
            res.extensions_mut().remove::<SbError>();
            err
        }
        None => return res,
    };
    if modern {
        res.headers_mut()
            .insert(VERSION_HEADER, HeaderValue::from_static(API_VERSION));
        return res;
    }
    let legacy = json!({"code": err.status.as_u16(), "error_code": err.code, "msg": err.message});
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::Json(legacy).into_response().into_body())
}

/// axum's own refusals (a query or path it cannot parse, a body over the limit, a method a
/// route lacks) are plain text, which supabase-js cannot read as an error.
fn is_rejection(res: &Response) -> bool {
    let status = res.status();
    let text = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    (status.is_client_error() || status.is_server_error()) && text
}

async fn rejection(res: Response) -> SbError {
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&body).trim().to_string();
    let code = match status.as_u16() {
        405 => "method_not_allowed",
        413 => "request_too_large",
        s if s >= 500 => "unexpected_failure",
        _ => "validation_failed",
    };
    SbError::new(status, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dates_from_2024_01_01_on_ask_for_the_new_shape() {
        assert!(wants_2024_errors(Some("2024-01-01")));
        assert!(wants_2024_errors(Some("2025-06-30")));
        assert!(!wants_2024_errors(Some("2023-12-31")));
        assert!(!wants_2024_errors(None));
        assert!(!wants_2024_errors(Some("")));
        assert!(!wants_2024_errors(Some("2024-13-01")));
        assert!(!wants_2024_errors(Some("2024-1-01x")));
        assert!(!wants_2024_errors(Some("9999-99-99")));
        assert!(!wants_2024_errors(Some("latest")));
    }

    #[test]
    fn refused_credentials_and_missing_things_get_gotrue_codes() {
        let c = |status: u16, error: &str, subject| {
            SbError::classify(StatusCode::from_u16(status).unwrap(), error, "d", subject)
        };
        let e = c(401, "invalid_token", Subject::Authorization);
        assert_eq!((e.status.as_u16(), e.code), (403, "bad_jwt"));
        assert_eq!(c(403, "access_denied", Subject::Client).code, "not_admin");
        assert_eq!(c(401, "invalid_token", Subject::Client).code, "bad_jwt");
        assert_eq!(
            c(403, "access_denied", Subject::AdminUser).code,
            "not_admin"
        );
        assert_eq!(c(401, "invalid_token", Subject::AdminUser).code, "bad_jwt");
        assert_eq!(
            c(400, "invalid_request", Subject::AdminUser).code,
            "validation_failed"
        );
        assert_eq!(
            c(404, "not_found", Subject::Authorization).code,
            "oauth_authorization_not_found"
        );
        assert_eq!(
            c(404, "not_found", Subject::Grant).code,
            "oauth_consent_not_found"
        );
        assert_eq!(
            c(404, "not_found", Subject::Client).code,
            "oauth_client_not_found"
        );
        assert_eq!(
            c(400, "invalid_request", Subject::Client).code,
            "validation_failed"
        );
        let busy = c(503, "temporarily_unavailable", Subject::User);
        assert_eq!(
            (busy.status.as_u16(), busy.code),
            (503, "unexpected_failure")
        );
        assert_eq!(
            c(429, "slow_down", Subject::Authorization).code,
            "over_request_rate_limit"
        );
    }
}
