//! A provider's fetched metadata (the front fetches it; the database judges it): the
//! discovery document must name the configured issuer exactly, and only public signing keys
//! are kept.

use crate::error::{Misuse, MisuseError};
use crate::protocol::issuer_policy::sanitize_jwks;
use crate::protocol::upstream::discovery;
use crate::services::sign_in::load;
use crate::store::sign_in_providers;
use serde_json::{json, Value};

/// Stores a provider's fetched discovery document and keys, after checking them.
pub fn store_metadata(
    name: &str,
    discovery: Option<&Value>,
    jwks: &Value,
) -> Result<Value, MisuseError> {
    let loaded = load(name)?.ok_or_else(|| {
        MisuseError::new(
            Misuse::NotFound,
            format!("there is no sign-in provider {name:?}"),
        )
    })?;
    let bad = |e: String| crate::error::bad_param(format!("sign-in provider {name}: {e}"));
    let discovery = match (loaded.provider.kind, discovery) {
        (crate::model::SignInKind::Oidc, Some(d)) => {
            Some(discovery::accept_discovery(&loaded.provider, d).map_err(bad)?)
        }
        (crate::model::SignInKind::Oidc, None) => {
            return Err(bad("an OpenID provider needs its discovery document".into()))
        }
        _ => None,
    };
    let clean = sanitize_jwks(jwks).map_err(bad)?;
    if loaded.provider.uses_id_token() && clean["keys"].as_array().is_none_or(Vec::is_empty) {
        return Err(bad("the JWKS has no usable signing key".into()));
    }
    let kids: Vec<Value> = clean["keys"]
        .as_array()
        .map(|k| k.iter().map(|k| k["kid"].clone()).collect())
        .unwrap_or_default();
    sign_in_providers::store_metadata(name, discovery, clean)?;
    Ok(json!({"name": name, "key_ids": kids}))
}
