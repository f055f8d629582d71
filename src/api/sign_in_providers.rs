//! Upstream sign-in providers, for administrators: `oauth.add_sign_in_provider`,
//! `oauth.update_sign_in_provider`, `oauth.remove_sign_in_provider`,
//! `oauth.sign_in_providers()`; and the three functions the front calls to keep their
//! discovery documents and keys (`oauth.sign_in_provider_fetches`,
//! `oauth.set_sign_in_provider_metadata`, `oauth.report_sign_in_provider_error`).
//! Secrets go in, never out.

use super::{or_raise, required};
use crate::services::{sign_in_metadata, sign_in_providers as providers};
use crate::store::sign_in_providers;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// Adds an upstream provider users may sign in with. `options`: kind (oidc, apple,
/// microsoft, workos, github), client_id, client_secret, and the kind's own (docs/sign-in.md).
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn add_sign_in_provider(name: Option<&str>, options: Option<JsonB>) -> JsonB {
    let name = or_raise(required(name, "name"));
    let options = options.map(|o| o.0).unwrap_or(Value::Null);
    JsonB(or_raise(providers::add(name, &options)))
}

/// Changes some options of a provider (`null` removes one); secrets not given are kept.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn update_sign_in_provider(name: Option<&str>, options: Option<JsonB>) -> JsonB {
    let name = or_raise(required(name, "name"));
    let options = options.map(|o| o.0).unwrap_or(json!({}));
    JsonB(or_raise(providers::update(name, &options)))
}

/// Removes a provider and the identities linked through it (the users stay).
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn remove_sign_in_provider(name: Option<&str>) -> bool {
    let name = or_raise(required(name, "name"));
    or_raise(providers::remove(name))
}

/// Every provider: options (never secrets), key ids, the last fetch and its error.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn sign_in_providers() -> JsonB {
    JsonB(or_raise(sign_in_providers::list(None)))
}

/// What the front fetches: `[{name, discovery_url, jwks_uri}]`.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn sign_in_provider_fetches() -> JsonB {
    JsonB(or_raise(providers::fetches()))
}

/// Stores a provider's fetched discovery document (OpenID providers; NULL for the others)
/// and JWKS: the discovery document must name the configured issuer, and only public
/// signing keys are kept.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn set_sign_in_provider_metadata(
    name: Option<&str>,
    discovery: Option<JsonB>,
    jwks: Option<JsonB>,
) -> JsonB {
    let name = or_raise(required(name, "name"));
    let jwks = jwks.map(|j| j.0).unwrap_or(json!({"keys": []}));
    JsonB(or_raise(sign_in_metadata::store_metadata(
        name,
        discovery.map(|d| d.0).as_ref(),
        &jwks,
    )))
}

/// Records why fetching a provider's metadata failed (shown by `oauth.sign_in_providers()`).
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn report_sign_in_provider_error(name: Option<&str>, error: Option<&str>) -> bool {
    let name = or_raise(required(name, "name"));
    let error: String = error.unwrap_or("unknown error").chars().take(500).collect();
    or_raise(sign_in_providers::record_error(name, &error))
}
