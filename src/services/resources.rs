//! Resource indicators (RFC 8707) checked against the registered resource servers: what the
//! authorization, token and device endpoints accept as `resource`.

use crate::error::{ApiResult, OAuthError};
use crate::protocol::resource;
use crate::store::resources as store;

/// Refuses (`invalid_target`) any resource not in `oauth.resources`: a token for an arbitrary
/// audience would be accepted by whichever server trusts our keys under that name.
pub fn ensure_registered(resources: &[String]) -> ApiResult<()> {
    if resources.is_empty() {
        return Ok(());
    }
    match store::first_unregistered(resources)? {
        Some(r) => Err(OAuthError::InvalidTarget(format!(
            "resource {r} is not a resource server of this authorization server"
        ))
        .into()),
        None => Ok(()),
    }
}

/// The `resource` parameters of a request, validated and checked against the allow-list.
pub fn requested(values: &[&str]) -> ApiResult<Vec<String>> {
    let list = resource::parse(values)?;
    ensure_registered(&list)?;
    Ok(list)
}
