//! The HTTP side of an answer, as PostgREST reads it and the front relays it: the status and
//! headers a call sets (`response.status`, `response.headers`, transaction-local settings),
//! and [`respond`], which ends an HTTP-facing call with its success or its protocol error.

use crate::error::{raise, ApiResult, Failure, Then};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;
use std::ffi::CString;

/// Ends an HTTP-facing call: success as is, a protocol error as its RFC 6749 JSON with
/// `response.status` set (returned, so the transaction commits), misuse raised.
pub fn respond(result: ApiResult<Value>) -> JsonB {
    let failure = match result {
        Ok(v) => return JsonB(v),
        Err(Failure::Misuse(e)) => raise(e),
        Err(f) => f,
    };
    if let Some(status) = failure.http_status() {
        set_response_status(status);
    }
    match failure {
        Failure::OAuth(e) => {
            if let Some(challenge) = e.www_authenticate() {
                set_response_headers(&[("WWW-Authenticate", &challenge)]);
            }
            JsonB(e.to_json())
        }
        Failure::OAuthThen(e, then) => {
            if let Some(challenge) = e.www_authenticate() {
                set_response_headers(&[("WWW-Authenticate", &challenge)]);
            }
            let mut body = e.to_json();
            match then {
                Then::Refresh { field, provider } => body[field] = Value::String(provider),
                Then::GoBack(url) => body["redirect_to"] = Value::String(url),
            }
            JsonB(body)
        }
        Failure::Misuse(e) => raise(e),
    }
}

/// `set_config(name, value, true)`: transaction-local, as PostgREST reads it.
fn set_local(name: &str, value: &str) {
    let (Ok(name), Ok(value)) = (CString::new(name), CString::new(value)) else {
        return;
    };
    unsafe {
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_LOCAL,
            true,
            0,
            false,
        );
    }
}

pub fn set_response_status(status: u16) {
    set_local("response.status", &status.to_string());
}

/// `response.headers`: a JSON array of single-key objects (PostgREST's format).
pub fn set_response_headers(headers: &[(&str, &str)]) {
    let arr: Vec<Value> = headers
        .iter()
        .map(|(k, v)| serde_json::json!({ *k: *v }))
        .collect();
    set_local("response.headers", &Value::Array(arr).to_string());
}

/// Adds to `response.headers` what this call set so far, rather than replacing it.
pub fn add_response_headers(headers: &[(&str, &str)]) {
    let mut arr = current_headers();
    arr.extend(headers.iter().map(|(k, v)| serde_json::json!({ *k: *v })));
    set_local("response.headers", &Value::Array(arr).to_string());
}

fn current_headers() -> Vec<Value> {
    let name = c"response.headers";
    // SAFETY: a NUL-terminated name; missing_ok, so an unset setting is NULL, never an error.
    let raw = unsafe { pg_sys::GetConfigOption(name.as_ptr(), true, false) };
    if raw.is_null() {
        return Vec::new();
    }
    // SAFETY: GUC values are NUL-terminated strings owned by the GUC machinery.
    let text = unsafe { std::ffi::CStr::from_ptr(raw) }.to_string_lossy();
    serde_json::from_str(&text).unwrap_or_default()
}

/// Token responses must not be cached (RFC 6749 §5.1).
pub fn set_no_store() {
    set_response_headers(&[("Cache-Control", "no-store"), ("Pragma", "no-cache")]);
}
