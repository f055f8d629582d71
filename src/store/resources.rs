//! Storage of `oauth.resources`: see `store`.

use crate::error::MisuseError;
use crate::{query, row_type};
use serde_json::Value;

row_type! {
    /// A registered resource server (RFC 8707 allow-list, RFC 9728 metadata).
    pub struct Resource {
        pub resource: String,
        pub name: Option<String>,
        /// scopes_supported of its metadata; `None`: every scope except the OpenID Connect ones.
        pub scopes: Option<Vec<String>>,
    }
}

pub fn find(resource: &str) -> Result<Option<Resource>, MisuseError> {
    super::one(query!("resources/find"), &[resource.into()])
}

/// The first of `resources` that is not registered, as its JSON string (quoted).
pub fn first_unregistered(resources: &[String]) -> Result<Option<Value>, MisuseError> {
    super::scalar(
        query!("resources/first_unregistered"),
        &[resources.to_vec().into()],
    )
}

/// As [`first_unregistered`], holding the registered ones until the transaction ends: a removal
/// waits, and its trigger then sees what this transaction wrote naming them.
pub fn first_unregistered_held(resources: &[String]) -> Result<Option<Value>, MisuseError> {
    super::scalar(
        query!("resources/first_unregistered_held"),
        &[resources.to_vec().into()],
    )
}

/// Registers a resource server, or replaces its name and scopes.
pub fn add(
    resource: &str,
    name: Option<&str>,
    scopes: Option<Vec<String>>,
) -> Result<(), MisuseError> {
    super::execute(
        query!("resources/add"),
        &[resource.into(), name.into(), scopes.into()],
    )
    .map(|_| ())
}

/// Whether there was such a resource.
pub fn remove(resource: &str) -> Result<bool, MisuseError> {
    Ok(super::execute(query!("resources/remove"), &[resource.into()])? > 0)
}

/// Every registered resource server, as JSON built in SQL (what `oauth.resources()` returns).
pub fn list() -> Result<Value, MisuseError> {
    Ok(super::scalar(query!("resources/list"), &[])?.unwrap_or(Value::Array(vec![])))
}
