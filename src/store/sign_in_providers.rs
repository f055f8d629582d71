//! Storage of `oauth.sign_in_providers`: see `store`. `options` has been through
//! `upstream::Provider`; `secrets` is sealed by `services::sign_in_providers`, never read here.

use super::{all, execute, one, scalar};
use crate::error::MisuseError;
use crate::{query, row_type};
use pgrx::JsonB;
use serde_json::Value;

row_type! {
    /// A provider as the sign-in flow needs it.
    pub struct StoredProvider {
        pub name: String,
        pub options: Value,
        pub secrets: Vec<u8>,
        pub secrets_kek_id: Option<String>,
        pub discovery: Option<Value>,
        pub jwks: Value,
    }
}

/// What is written for a provider: its kind, options and sealed secrets.
pub struct Written<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub options: Value,
    pub secrets: Vec<u8>,
    pub kek_id: Option<String>,
}

fn args(w: Written<'_>) -> [pgrx::datum::DatumWithOid<'static>; 5] {
    [
        w.name.to_string().into(),
        w.kind.to_string().into(),
        JsonB(w.options).into(),
        w.secrets.into(),
        w.kek_id.into(),
    ]
}

pub fn insert(w: Written<'_>) -> Result<(), MisuseError> {
    execute(query!("sign_in_providers/insert"), &args(w)).map(|_| ())
}

/// Replaces a provider; `reset_metadata` drops what was fetched for it.
pub fn update(w: Written<'_>, reset_metadata: bool) -> Result<(), MisuseError> {
    let [a, b, c, d, e] = args(w);
    execute(
        query!("sign_in_providers/update"),
        &[a, b, c, d, e, reset_metadata.into()],
    )
    .map(|_| ())
}

pub fn delete(name: &str) -> Result<bool, MisuseError> {
    Ok(execute(query!("sign_in_providers/delete"), &[name.into()])? > 0)
}

pub fn find(name: &str) -> Result<Option<StoredProvider>, MisuseError> {
    one(query!("sign_in_providers/find"), &[name.into()])
}

/// [`find`], locked until the transaction ends (to be changed).
pub fn find_for_update(name: &str) -> Result<Option<StoredProvider>, MisuseError> {
    one(query!("sign_in_providers/find_for_update"), &[name.into()])
}

pub fn all_providers() -> Result<Vec<StoredProvider>, MisuseError> {
    all(query!("sign_in_providers/all"), &[])
}

/// The administrators' view of one provider (`Some(name)`) or all, as a JSON array.
pub fn list(name: Option<&str>) -> Result<Value, MisuseError> {
    Ok(scalar(query!("sign_in_providers/list"), &[name.into()])?.unwrap_or(Value::Array(vec![])))
}

/// The enabled providers' names, kinds and display names.
pub fn buttons() -> Result<Value, MisuseError> {
    Ok(scalar(query!("sign_in_providers/buttons"), &[])?.unwrap_or(Value::Array(vec![])))
}

/// Stores what the front fetched.
pub fn store_metadata(
    name: &str,
    discovery: Option<Value>,
    jwks: Value,
) -> Result<bool, MisuseError> {
    let n = execute(
        query!("sign_in_providers/store_metadata"),
        &[name.into(), discovery.map(JsonB).into(), JsonB(jwks).into()],
    )?;
    Ok(n > 0)
}

pub fn record_error(name: &str, error: &str) -> Result<bool, MisuseError> {
    Ok(execute(
        query!("sign_in_providers/record_error"),
        &[name.into(), error.into()],
    )? > 0)
}

/// Replaces the sealed secrets (a KEK rotation).
pub fn rewrap(name: &str, secrets: Vec<u8>, kek_id: &str) -> Result<(), MisuseError> {
    execute(
        query!("sign_in_providers/rewrap"),
        &[name.into(), secrets.into(), kek_id.into()],
    )
    .map(|_| ())
}
