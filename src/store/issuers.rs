//! Storage of `oauth.issuers`: see `store`. `options` is the validated policy with every
//! option filled in; `jwks` holds only sanitised public signing keys.

use super::{execute, one, scalar};
use crate::error::MisuseError;
use crate::query;
use crate::row_type;
use pgrx::JsonB;
use serde_json::Value;

row_type! {
    /// What verifying an issuer's session token needs.
    pub struct Issuer {
        pub options: Value,
        pub jwks: Value,
    }
}

/// What `oauth.issuers()` shows of `issuer` (its key ids, not its keys), as JSON.
pub fn describe(issuer: &str) -> Result<Option<Value>, MisuseError> {
    scalar(query!("issuers/describe"), &[issuer.into()])
}

/// Every issuer as [`describe`] shows it, ordered by issuer.
pub fn list() -> Result<Value, MisuseError> {
    Ok(scalar(query!("issuers/list"), &[])?.unwrap_or(Value::Array(vec![])))
}

/// Whether `issuer` is trusted.
pub fn exists(issuer: &str) -> Result<bool, MisuseError> {
    Ok(scalar::<bool>(query!("issuers/exists"), &[issuer.into()])?.is_some())
}

/// The options and keys of `issuer`.
pub fn find(issuer: &str) -> Result<Option<Issuer>, MisuseError> {
    one(query!("issuers/find"), &[issuer.into()])
}

/// The options of `issuer`.
pub fn options(issuer: &str) -> Result<Option<Value>, MisuseError> {
    scalar(query!("issuers/options"), &[issuer.into()])
}

/// The options of `issuer`, locked until the transaction ends (to be updated).
pub fn options_for_update(issuer: &str) -> Result<Option<Value>, MisuseError> {
    scalar(query!("issuers/options_for_update"), &[issuer.into()])
}

/// The stored keys of `issuer`.
pub fn jwks(issuer: &str) -> Result<Option<Value>, MisuseError> {
    scalar(query!("issuers/jwks"), &[issuer.into()])
}

/// The roles among `roles` that are superusers or bypass RLS, as a JSON array of names;
/// `None` when there are none.
pub fn privileged_roles(roles: &[String]) -> Result<Option<Value>, MisuseError> {
    scalar(query!("issuers/privileged_roles"), &[roles.to_vec().into()])
}

/// Trusts `issuer` with `options`; `jwks`, when given, count as fetched now.
pub fn register(
    issuer: &str,
    options: Value,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
) -> Result<(), MisuseError> {
    write(query!("issuers/register"), issuer, options, jwks, jwks_uri)
}

/// Replaces the options of `issuer`; its keys and `jwks_uri` change only when given.
pub fn update(
    issuer: &str,
    options: Value,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
) -> Result<(), MisuseError> {
    write(query!("issuers/update"), issuer, options, jwks, jwks_uri)
}

/// `register` and `update` take the same arguments, $1–$4.
fn write(
    sql: &'static str,
    issuer: &str,
    options: Value,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
) -> Result<(), MisuseError> {
    execute(
        sql,
        &[
            issuer.into(),
            JsonB(options).into(),
            jwks.map(JsonB).into(),
            jwks_uri.into(),
        ],
    )
    .map(|_| ())
}

/// Stops trusting `issuer`; whether it was trusted.
pub fn delete(issuer: &str) -> Result<bool, MisuseError> {
    Ok(execute(query!("issuers/delete"), &[issuer.into()])? > 0)
}

/// Stores keys fetched from `jwks_uri` and clears the last error; whether `issuer` exists.
pub fn store_jwks(issuer: &str, jwks: Value, jwks_uri: &str) -> Result<bool, MisuseError> {
    Ok(execute(
        query!("issuers/store_jwks"),
        &[issuer.into(), JsonB(jwks).into(), jwks_uri.into()],
    )? > 0)
}

/// Records why the last refresh of the keys failed; whether `issuer` exists.
pub fn record_error(issuer: &str, error: &str) -> Result<bool, MisuseError> {
    Ok(execute(
        query!("issuers/record_error"),
        &[issuer.into(), error.into()],
    )? > 0)
}
