//! Reading a request: headers, the bearer token, a POST body as the JSON object the SQL
//! functions take, and the `?client_id=` of the grant revocations.

use crate::sql::CallError;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use oauth_core::form;
use serde::Deserialize;
use serde_json::Value;

pub fn bad_request(description: &str) -> CallError {
    CallError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}

pub fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request's `DPoP` header (RFC 9449 §4.1) as the extension judges it: `None` when there is
/// none; several are joined as HTTP joins a list (`, `), which no proof contains, so that the
/// extension refuses them as more than one proof (§4.3) with the answer of the endpoint.
pub fn dpop_header(headers: &HeaderMap) -> Option<String> {
    let values: Vec<String> = headers
        .get_all("dpop")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// How a request presented its access token (RFC 6750 §2.1, RFC 9449 §7.1): the scheme of
/// the Authorization header, `Bearer` or `DPoP`, and the token.
pub enum Presented<'a> {
    Bearer(&'a str),
    Dpop(&'a str),
}

/// The access token of the Authorization header, with its scheme (`Bearer` or `DPoP`, in any
/// case); `None` for another scheme or none.
pub fn access_token(headers: &HeaderMap) -> Option<Presented<'_>> {
    let auth = header_str(headers, header::AUTHORIZATION)?;
    let (scheme, token) = auth.split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(Presented::Bearer(token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some(Presented::Dpop(token))
    } else {
        None
    }
}

/// The token after `Bearer ` in the Authorization header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
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

/// `?client_id=…` of the grant revocations (ours and Supabase's).
#[derive(Deserialize)]
pub struct ClientIdQuery {
    pub client_id: Option<String>,
}
