//! Resource indicators (RFC 8707) checked against the registered resource servers: what the
//! authorization, token and device endpoints accept as `resource`.

use crate::error::{ApiResult, OAuthError};
use crate::protocol::resource;
use crate::store::clients::Client;
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

/// The resources of a new authorization request of `client` (browser, pushed or device): those
/// its `resource` parameters name, or, when it names none, the client's default resources, as
/// if it had named them (so consent, auto-approval, the code exchange and `aud` treat them
/// alike). A request naming any gets exactly those: defaults are never added. An empty
/// `resource` is no resource (RFC 6749 §3.1, `Params::get_all`). A default no longer registered
/// (written to the table directly; a removal takes it out) refuses the request rather than
/// falling back to the default audience.
pub fn requested_by(client: &Client, values: &[&str]) -> ApiResult<Vec<String>> {
    match (&client.default_resources, values) {
        (Some(defaults), []) => {
            let list = resource::parse(&defaults.iter().map(String::as_str).collect::<Vec<_>>())?;
            ensure_registered(&list)?;
            Ok(list)
        }
        _ => requested(values),
    }
}
