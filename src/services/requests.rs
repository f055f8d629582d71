//! What a new authorization request (browser or device) may ask for, and how the consent page
//! names it.

use crate::error::ApiResult;
use crate::protocol::scope;
use crate::store::clients::{self, Client};
use crate::store::consents;
use serde_json::{json, Value};

/// The scopes of a request: those asked for, or, when none are, the client's registered ones
/// (if it has an explicit list); each must be allowed for the client.
pub fn requested_scopes(client: &Client, requested: Option<&str>) -> ApiResult<Vec<String>> {
    let scopes = match requested {
        Some(s) => scope::parse(s)?,
        None => client.scopes.clone().unwrap_or_default(),
    };
    scope::ensure_subset(
        &scopes,
        &clients::allowed_scopes(client)?,
        "allowed for this client",
    )?;
    Ok(scopes)
}

/// Scope names with the description the consent page shows.
pub fn describe_scopes(scopes: &[String]) -> ApiResult<Value> {
    let custom = consents::scope_descriptions(scopes)?;
    Ok(scopes
        .iter()
        .map(|s| {
            let builtin = scope::BUILT_IN
                .iter()
                .find(|(n, _)| n == s)
                .map(|(_, d)| *d);
            let description = custom
                .get(s)
                .and_then(Value::as_str)
                .or(builtin)
                .unwrap_or("");
            json!({ "name": s, "description": description })
        })
        .collect())
}
