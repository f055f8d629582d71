//! Storage of `oauth.scopes`: see `store`.

use crate::error::MisuseError;
use crate::protocol::scope;
use crate::{query, row_type};

row_type! {
    pub struct ScopeRow { pub name: String }
}

/// Every scope this installation knows: the built-in OIDC ones and the rows of oauth.scopes.
pub fn known() -> Result<Vec<String>, MisuseError> {
    let mut all: Vec<String> = scope::BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
    for r in super::all::<ScopeRow>(query!("scopes/known"), &[])? {
        if !all.contains(&r.name) {
            all.push(r.name);
        }
    }
    Ok(all)
}

/// Adds a scope, or changes the text the consent page shows for it.
pub fn set(name: &str, description: &str) -> Result<(), MisuseError> {
    super::execute(query!("scopes/set"), &[name.into(), description.into()]).map(|_| ())
}
