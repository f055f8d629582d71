//! What a new authorization request (browser or device) may ask for.

use crate::error::ApiResult;
use crate::protocol::scope;
use crate::store::clients::{self, Client};

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
