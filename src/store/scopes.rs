//! Storage of `oauth.scopes`: see `store`.

use crate::error::MisuseError;
use crate::protocol::scope;
use crate::{query, row_type};

row_type! {
    pub struct ScopeRow { pub name: String }
}

/// Every scope this installation knows: the built-in OIDC ones and the rows of oauth.scopes.
pub fn known() -> Result<Vec<String>, MisuseError> {
    Ok(scope::allowed_for_client(None, &registered()?))
}

/// The rows of oauth.scopes.
pub fn registered() -> Result<Vec<String>, MisuseError> {
    Ok(super::all::<ScopeRow>(query!("scopes/known"), &[])?
        .into_iter()
        .map(|r| r.name)
        .collect())
}

/// Adds a scope, or changes the text the consent page shows for it.
pub fn set(name: &str, description: &str) -> Result<(), MisuseError> {
    super::execute(query!("scopes/set"), &[name.into(), description.into()]).map(|_| ())
}

/// Removes a scope from the registry and from every client's explicit list (the trigger on
/// oauth.scopes does the latter, so that a direct DELETE does it too); whether it existed.
pub fn remove(name: &str) -> Result<bool, MisuseError> {
    Ok(super::execute(query!("scopes/remove"), &[name.into()])? > 0)
}
