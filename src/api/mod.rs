//! The SQL-facing layer: thin `#[pg_extern]` functions over `crate::protocol`, one module per
//! endpoint or concern. Protocol failures are returned as JSON with `response.status`;
//! misuse is raised with a SQLSTATE.

pub mod accounts;
pub mod admin_keys;
pub mod admin_users;
pub mod audit;
pub mod authorize;
pub mod clients;
pub mod consent;
pub mod device;
pub mod grants;
pub mod issuers;
pub mod key_protection;
pub mod keys;
pub mod logout;
pub mod metadata;
pub mod metadata_document;
mod pg_tests;
pub mod purge;
pub mod registration;
pub mod resources;
pub mod revocation;
pub mod rls;
pub mod sign_in;
pub mod sign_in_providers;
pub mod token;
pub mod userinfo;
pub mod users;

use crate::error::{Misuse, MisuseError, OAuthError};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;
use std::ffi::CString;

/// Why a call did not succeed: a protocol error to return, or misuse to raise.
#[derive(Debug)]
pub enum Failure {
    OAuth(OAuthError),
    Misuse(MisuseError),
}

impl From<OAuthError> for Failure {
    fn from(e: OAuthError) -> Self {
        Failure::OAuth(e)
    }
}
impl From<MisuseError> for Failure {
    fn from(e: MisuseError) -> Self {
        Failure::Misuse(e)
    }
}

pub type ApiResult<T> = Result<T, Failure>;

/// Ends an HTTP-facing call: success as is, a protocol error as its RFC 6749 JSON with
/// `response.status` set (returned, so the transaction commits), misuse raised.
pub fn respond(result: ApiResult<Value>) -> JsonB {
    match result {
        Ok(v) => JsonB(v),
        Err(Failure::OAuth(e)) => {
            set_response_status(e.http_status());
            if let Some(challenge) = e.www_authenticate() {
                set_response_headers(&[("WWW-Authenticate", &challenge)]);
            }
            JsonB(e.to_json())
        }
        Err(Failure::Misuse(e)) => raise(e),
    }
}

/// Raises a misuse error with its SQLSTATE, detail and hint.
pub fn raise(e: MisuseError) -> ! {
    use PgSqlErrorCode::*;
    let code = match e.kind {
        Misuse::InvalidParameter => ERRCODE_INVALID_PARAMETER_VALUE,
        Misuse::NotFound => ERRCODE_NO_DATA_FOUND,
        Misuse::InvalidToken => ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        Misuse::Privilege => ERRCODE_INSUFFICIENT_PRIVILEGE,
        Misuse::Misconfigured => ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        Misuse::Internal => ERRCODE_INTERNAL_ERROR,
    };
    let mut report = ErrorReport::new(code, e.message, function_name!());
    if let Some(d) = e.detail {
        report = report.set_detail(d);
    }
    if let Some(h) = e.hint {
        report = report.set_hint(h);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// Unwraps or raises: for administration functions, where every failure is misuse.
pub fn or_raise<T>(r: Result<T, impl Into<Failure>>) -> T {
    match r.map_err(Into::into) {
        Ok(v) => v,
        Err(Failure::Misuse(e)) => raise(e),
        Err(Failure::OAuth(e)) => raise(crate::error::bad_param(e.description().to_string())),
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

/// Token responses must not be cached (RFC 6749 §5.1).
pub fn set_no_store() {
    set_response_headers(&[("Cache-Control", "no-store"), ("Pragma", "no-cache")]);
}

/// A required text argument: NULL or empty is misuse with a clear message.
pub fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, MisuseError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(crate::error::bad_param(format!(
            "{name} must not be NULL or empty"
        ))),
    }
}
