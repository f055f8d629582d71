//! The SQL-facing layer: thin `#[pg_extern]` functions over `services`, `store` and
//! `crate::protocol`, one module per endpoint or concern. Protocol failures are returned as
//! JSON with `response.status`; misuse is raised with a SQLSTATE (`crate::error`).

pub mod accounts;
pub mod admin_keys;
pub mod admin_users;
pub mod audit;
pub mod authorize;
pub mod client_keys;
pub mod client_sectors;
pub mod clients;
pub mod consent;
pub mod db_login;
pub mod device;
pub mod dpop;
pub mod grants;
pub mod issuers;
pub mod key_protection;
pub mod keys;
pub mod logout;
pub mod logout_deliveries;
pub mod metadata;
pub mod metadata_document;
pub mod par;
mod pg_tests;
pub mod purge;
pub mod registration;
pub mod resources;
pub mod revocation;
pub mod rls;
pub mod sign_in;
pub mod sign_in_providers;
pub mod token;
pub mod token_exchange;
pub mod userinfo;
pub mod users;

// The error channel and the response helpers live below every layer (`crate::error`,
// `crate::response`); re-exported so that an endpoint module names them from `super`.
pub use crate::error::{or_raise, raise, ApiResult, Failure};
pub use crate::response::{respond, set_no_store, set_response_headers, set_response_status};

use crate::error::MisuseError;

/// A required text argument: NULL or empty is misuse with a clear message.
pub fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, MisuseError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(crate::error::bad_param(format!(
            "{name} must not be NULL or empty"
        ))),
    }
}
