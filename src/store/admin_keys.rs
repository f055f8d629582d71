//! Storage of `oauth.admin_keys`: the keys that authorise the HTTP admin API, as hashes.

use super::{execute, scalar};
use crate::error::MisuseError;
use crate::query;
use serde_json::Value;

/// Stores key `name` by its hash; false when the name is taken.
pub fn create(name: &str, key_hash: Vec<u8>) -> Result<bool, MisuseError> {
    Ok(scalar::<bool>(query!("admin_keys/create"), &[name.into(), key_hash.into()])?.is_some())
}

/// Deletes key `name`; whether it existed.
pub fn revoke(name: &str) -> Result<bool, MisuseError> {
    Ok(execute(query!("admin_keys/revoke"), &[name.into()])? > 0)
}

/// The keys as a JSON array of `{name, created_at, last_used_at}`.
pub fn list() -> Result<Value, MisuseError> {
    Ok(scalar(query!("admin_keys/list"), &[])?.unwrap_or(Value::Array(vec![])))
}

/// The name of the key with this hash, which is marked used now; None for no such key.
pub fn use_key(key_hash: Vec<u8>) -> Result<Option<String>, MisuseError> {
    scalar::<String>(query!("admin_keys/use"), &[key_hash.into()])
}
