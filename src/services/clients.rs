//! Creating a client: a new client_id and, for a confidential client, a secret returned once
//! and stored only as its hash. Shared by `oauth.create_client` and `oauth.register_client`.

use crate::error::{bad_param, MisuseError};
use crate::model::ClientType;
use crate::protocol::client_metadata::ClientMetadata;
use crate::protocol::secret;
use crate::store::client_jwks;
use crate::store::clients::{self, Client};
use crate::store::resources;
use serde_json::{json, Value};

/// A client just created, with its secret in plain text (never stored, never shown again).
pub struct Created {
    pub client: Client,
    pub secret: Option<String>,
}

/// Stores a client with validated metadata under a fresh client_id.
pub fn create(md: &ClientMetadata) -> Result<Created, MisuseError> {
    let client_id = secret::random_token(16);
    let client_secret = (md.client_type == ClientType::Confidential
        && md.auth_method.uses_secret())
    .then(|| secret::random_token(secret::TOKEN_BYTES));
    let secret_hash = client_secret.as_deref().map(|s| secret::hash(s).to_vec());
    ensure_default_resources_registered(&md.default_resources)?;
    let mut client = clients::create(&client_id, secret_hash, md)?;
    clients::set_post_logout_uris(&client_id, &md.post_logout_redirect_uris, true)?;
    clients::set_flags(&client_id, md, None)?;
    clients::set_default_resources(&client_id, md, None)?;
    if md.keys.is_some() {
        client_jwks::register(&client_id, md.keys.as_ref())?;
    }
    client.dpop_bound_access_tokens = md.dpop_bound_access_tokens;
    client.require_pushed_authorization_requests = md.require_pushed_authorization_requests;
    client.relying_party = md.relying_party.to_stored();
    client.default_resources = Some(md.default_resources.clone()).filter(|l| !l.is_empty());
    Ok(Created {
        client,
        secret: client_secret,
    })
}

/// Refuses (22023, naming it) a default resource that is not a registered resource server: a
/// request naming none would otherwise be refused at every authorization. The registered ones
/// are held until the transaction ends, so that a removal running meanwhile takes them out of
/// what this transaction writes (`oauth.resource_removed`) rather than missing it.
pub fn ensure_default_resources_registered(list: &[String]) -> Result<(), MisuseError> {
    if list.is_empty() {
        return Ok(());
    }
    match resources::first_unregistered_held(list)? {
        Some(r) => Err(bad_param(format!(
            "default_resources: {r} is not a registered resource server"
        ))
        .hint("register it first with oauth.add_resource(resource)")),
        None => Ok(()),
    }
}

/// The details of the `client_created` audit event.
/// Where logout may send a browser is recorded as the redirect URIs are, however the client
/// came (an administrator's create, dynamic registration); so are the audiences its requests
/// default to.
pub fn created_event(client: &Client, post_logout_redirect_uris: &[String]) -> Value {
    let mut event = json!({"name": client.name, "client_type": client.client_type,
           "grant_types": client.grant_types, "redirect_uris": client.redirect_uris});
    if !post_logout_redirect_uris.is_empty() {
        event["post_logout_redirect_uris"] = json!(post_logout_redirect_uris);
    }
    if let Some(list) = &client.default_resources {
        event["default_resources"] = json!(list);
    }
    event
}
