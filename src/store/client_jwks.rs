//! `oauth.client_jwks`: the public keys of `private_key_jwt` clients (RFC 7523), given inline
//! or fetched by the front from the client's `jwks_uri`.

use super::{execute, one, scalar};
use crate::error::MisuseError;
use crate::protocol::client_metadata::ClientKeys;
use crate::{query, row_type};
use pgrx::JsonB;
use serde_json::Value;

/// Records where a client's keys are (`None`: it has none, the row goes).
pub fn register(client_id: &str, keys: Option<&ClientKeys>) -> Result<(), MisuseError> {
    let (jwks, uri) = match keys {
        Some(ClientKeys::Jwks(j)) => (Some(JsonB(j.clone())), None),
        Some(ClientKeys::JwksUri(u)) => (None, Some(u.as_str())),
        None => (None, None),
    };
    execute(
        query!("client_jwks/register"),
        &[client_id.into(), jwks.into(), uri.into()],
    )
    .map(|_| ())
}

row_type! {
    /// A client's keys as stored.
    pub struct StoredKeys {
        pub jwks: Value,
        pub jwks_uri: Option<String>,
        /// Seconds since the front last stored what `jwks_uri` answered; `None`: never (or
        /// the keys were given inline).
        pub fetched_secs_ago: Option<f64>,
    }
}

pub fn find(client_id: &str) -> Result<Option<StoredKeys>, MisuseError> {
    one(query!("client_jwks/find"), &[client_id.into()])
}

/// Stores what the client's `jwks_uri` (`uri`) answered, reduced to public signing keys;
/// whether `uri` is still the client's.
pub fn store_fetched(client_id: &str, uri: &str, jwks: &Value) -> Result<bool, MisuseError> {
    Ok(execute(
        query!("client_jwks/store_fetched"),
        &[client_id.into(), uri.into(), JsonB(jwks.clone()).into()],
    )? > 0)
}

pub fn report_error(client_id: &str, error: &str) -> Result<(), MisuseError> {
    execute(
        query!("client_jwks/report_error"),
        &[client_id.into(), error.into()],
    )
    .map(|_| ())
}

/// The clients whose keys the front fetches (or only `client_id`).
pub fn fetches(client_id: Option<&str>) -> Result<Value, MisuseError> {
    Ok(scalar(query!("client_jwks/fetches"), &[client_id.into()])?.unwrap_or(Value::Array(vec![])))
}
