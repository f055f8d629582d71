//! Reading a registration request's or a metadata document's fields: absent and null are the
//! same, and a field of the wrong JSON type is `invalid_client_metadata` naming it.

use crate::error::OAuthError;
use serde_json::{Map, Value};

pub(super) fn metadata_error(m: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClientMetadata(m.into())
}

/// A text field.
pub(super) fn text(md: &Map<String, Value>, key: &str) -> Result<Option<String>, OAuthError> {
    match md.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(metadata_error(format!("{key} must be a string"))),
    }
}

/// A boolean field.
pub(super) fn flag(md: &Map<String, Value>, key: &str) -> Result<Option<bool>, OAuthError> {
    match md.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(metadata_error(format!("{key} must be true or false"))),
    }
}

/// An array of strings.
pub(super) fn list(md: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match md.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| metadata_error(format!("{key} must be an array of strings"))),
        Some(_) => Err(metadata_error(format!("{key} must be an array of strings"))),
    }
}
