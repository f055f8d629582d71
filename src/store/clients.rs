//! Storage of `oauth.clients`: see `store`. The metadata written here has been through
//! `protocol::client_metadata` (one validator for every way a client comes to exist).

use crate::decisions::client_standing::{self, Origin, Switches};
use crate::error::{ApiResult, MisuseError, OAuthError};
use crate::model::{AuthMethod, ClientType, GrantType};
use crate::protocol::client_metadata::{ClientKeys, ClientMetadata, RelyingParty};
use crate::protocol::{scope, secret};
use crate::{query, row_type};
use serde_json::Value;

row_type! {
    /// A client as the protocol functions need it.
    pub struct Client {
        pub client_id: String,
        pub client_type: ClientType,
        pub client_secret_hash: Option<Vec<u8>>,
        pub name: String,
        pub redirect_uris: Vec<String>,
        pub scopes: Option<Vec<String>>,
        pub grant_types: Vec<GrantType>,
        pub token_endpoint_auth_method: AuthMethod,
        pub client_uri: Option<String>,
        pub logo_uri: Option<String>,
        /// Identified by the URL of its metadata document (`metadata_document_fetched_at` set).
        pub metadata_document: bool,
        /// RFC 9449 §5.2: its token requests must carry a DPoP proof.
        pub dpop_bound_access_tokens: bool,
        /// RFC 9126 §6: its authorization requests must be pushed first.
        pub require_pushed_authorization_requests: bool,
        /// Pairwise subjects and back-channel logout, as stored (`RelyingParty::from_stored`).
        pub relying_party: Option<Value>,
        /// What an authorization request naming no resource is for (RFC 8707); `None`: none.
        pub default_resources: Option<Vec<String>>,
    }
}

impl Client {
    /// How the client came to exist, as far as a switch cares.
    pub fn origin(&self) -> Origin {
        if self.metadata_document {
            Origin::MetadataDocument
        } else {
            Origin::Registered
        }
    }

    pub fn is_confidential(&self) -> bool {
        self.client_type == ClientType::Confidential
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Constant-time check of a presented secret against the stored hash.
    pub fn secret_matches(&self, presented: &str) -> bool {
        secret::verify(
            presented,
            self.client_secret_hash.as_deref().unwrap_or_default(),
        )
    }

    /// The stored metadata, for changing it (`oauth.update_client`), with the post-logout
    /// redirect URIs (kept in their own table).
    pub fn metadata(
        &self,
        post_logout_redirect_uris: Vec<String>,
        keys: Option<ClientKeys>,
    ) -> ClientMetadata {
        ClientMetadata {
            client_type: self.client_type,
            name: self.name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            scopes: self.scopes.clone(),
            grant_types: self.grant_types.clone(),
            auth_method: self.token_endpoint_auth_method,
            client_uri: self.client_uri.clone(),
            logo_uri: self.logo_uri.clone(),
            post_logout_redirect_uris,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            keys,
            relying_party: self.relying_party_or_default(),
            default_resources: self.default_resources.clone().unwrap_or_default(),
        }
    }

    /// Its relying-party metadata; what this server did not write reads as a refusal.
    pub fn relying_party(&self) -> Result<RelyingParty, MisuseError> {
        RelyingParty::from_stored(self.relying_party.as_ref())
            .map_err(|m| crate::error::internal(format!("client {}: {m}", self.client_id)))
    }

    fn relying_party_or_default(&self) -> RelyingParty {
        self.relying_party().unwrap_or_default()
    }
}

fn names(grants: &[GrantType]) -> Vec<String> {
    grants.iter().map(|g| g.as_str().to_string()).collect()
}

/// The client `client_id` names, as the protocol may use it today: `None` when there is none,
/// and a refusal naming the setting when a switch that governs how it came to exist is off
/// (`decisions::client_standing`). Every protocol step (authorize, consent, client
/// authentication at the token, device, revocation and introspection endpoints, logout) loads
/// its client here, so that a switch turned off stops them all on the next call, and a future
/// switch is added in one place.
pub fn find(client_id: &str) -> ApiResult<Option<Client>> {
    let Some(client) = find_stored(client_id)? else {
        return Ok(None);
    };
    client_standing::may_act(client.origin(), &switches())?;
    Ok(Some(client))
}

/// The stored client whatever today's switches say: for administrators, who manage a client
/// (update, delete, rotate) whether or not it may act now. Never for a protocol step.
pub fn find_stored(client_id: &str) -> Result<Option<Client>, MisuseError> {
    super::one(query!("clients/find"), &[client_id.into()])
}

/// The refusal of an authorization request whose client [`find`] did not find: with metadata
/// documents off, a URL-shaped client_id is refused naming the setting.
pub fn unknown(client_id: &str) -> OAuthError {
    client_standing::unknown(client_id, &switches())
}

/// The settings that govern clients, read per call (a setting changed with `ALTER SYSTEM` and
/// a reload reaches open sessions at their next statement).
fn switches() -> Switches {
    Switches {
        metadata_documents: crate::settings::client_metadata_documents(),
    }
}

/// Inserts a client; `secret_hash` is the SHA-256 of a confidential client's secret.
pub fn create(
    client_id: &str,
    secret_hash: Option<Vec<u8>>,
    md: &ClientMetadata,
) -> Result<Client, MisuseError> {
    super::one(
        query!("clients/create"),
        &[
            client_id.into(),
            secret_hash.into(),
            md.client_type.as_str().into(),
            md.name.as_str().into(),
            md.redirect_uris.clone().into(),
            md.scopes.clone().into(),
            names(&md.grant_types).into(),
            md.auth_method.as_str().into(),
            md.client_uri.clone().into(),
            md.logo_uri.clone().into(),
        ],
    )?
    .ok_or_else(|| crate::error::internal("INSERT … RETURNING returned no row"))
}

/// Replaces a client's metadata (its type and secret stay); whether the client exists.
pub fn update_metadata(client_id: &str, md: &ClientMetadata) -> Result<bool, MisuseError> {
    let n = super::execute(
        query!("clients/update_metadata"),
        &[
            client_id.into(),
            md.name.as_str().into(),
            md.redirect_uris.clone().into(),
            md.scopes.clone().into(),
            names(&md.grant_types).into(),
            md.auth_method.as_str().into(),
            md.client_uri.clone().into(),
            md.logo_uri.clone().into(),
        ],
    )?;
    Ok(n > 0)
}

/// Sets the flags a client may ask for (RFC 9449 §5.2's `dpop_bound_access_tokens`, RFC 9126
/// §6's `require_pushed_authorization_requests`) and its relying-party metadata as `md` says, when any is asked for or was
/// (`stored`): a 0.1.0 schema (before `ALTER EXTENSION UPDATE`) has no such columns.
pub fn set_flags(
    client_id: &str,
    md: &ClientMetadata,
    stored: Option<&Client>,
) -> Result<(), MisuseError> {
    let was = stored.is_some_and(|c| {
        c.dpop_bound_access_tokens
            || c.require_pushed_authorization_requests
            || c.relying_party.is_some()
    });
    let relying_party = md.relying_party.to_stored();
    if !(was
        || md.dpop_bound_access_tokens
        || md.require_pushed_authorization_requests
        || relying_party.is_some())
    {
        return Ok(());
    }
    super::execute(
        query!("clients/set_flags"),
        &[
            client_id.into(),
            md.dpop_bound_access_tokens.into(),
            md.require_pushed_authorization_requests.into(),
            relying_party.map(pgrx::JsonB).into(),
        ],
    )
    .map(|_| ())
}

/// Sets a client's default resources as `md` says (none: NULL), when it has some or had some
/// (`stored`): a 0.1.0 schema (before `ALTER EXTENSION UPDATE`) has no such column.
pub fn set_default_resources(
    client_id: &str,
    md: &ClientMetadata,
    stored: Option<&Client>,
) -> Result<(), MisuseError> {
    let was = stored.is_some_and(|c| c.default_resources.is_some());
    if !was && md.default_resources.is_empty() {
        return Ok(());
    }
    let list = Some(md.default_resources.clone()).filter(|l| !l.is_empty());
    super::execute(
        query!("clients/set_default_resources"),
        &[client_id.into(), list.into()],
    )
    .map(|_| ())
}

/// Replaces a confidential client's secret hash; the old secret stops working at once.
pub fn rotate_secret(client_id: &str, secret_hash: Vec<u8>) -> Result<bool, MisuseError> {
    let n = super::execute(
        query!("clients/rotate_secret"),
        &[client_id.into(), secret_hash.into()],
    )?;
    Ok(n > 0)
}

/// Deletes a client and, by cascade, everything it had; whether it existed.
pub fn delete(client_id: &str) -> Result<bool, MisuseError> {
    Ok(super::execute(query!("clients/delete"), &[client_id.into()])? > 0)
}

/// The public view of a client as the administration functions return it (never the secret
/// hash), built in SQL.
/// A client as `oauth.client()` shows it, with its post-logout redirect URIs.
pub fn describe(client_id: &str) -> Result<Option<Value>, MisuseError> {
    super::scalar(query!("clients/describe"), &[client_id.into()])
}

/// Page `page` (from 1) of `per_page` clients, oldest first, with the total.
pub fn list(page: i64, per_page: i64) -> Result<Value, MisuseError> {
    super::scalar(query!("clients/list"), &[page.into(), per_page.into()])?
        .ok_or_else(|| crate::error::internal("the client list returned nothing"))
}

/// Marks a client as registered by itself (RFC 7591) rather than by an administrator.
pub fn mark_dynamic(client_id: &str) -> Result<(), MisuseError> {
    if super::scalar::<bool>(query!("clients/has_registration_type"), &[])? != Some(true) {
        return Ok(());
    }
    super::execute(query!("clients/mark_dynamic"), &[client_id.into()]).map(|_| ())
}

pub fn view(client_id: &str) -> Result<Option<Value>, MisuseError> {
    super::scalar(query!("clients/view"), &[client_id.into()])
}

/// Stores the client a metadata document at `client_id` describes (public with `none`, or
/// confidential with `private_key_jwt`, marked as fetched now). `false` when `client_id` belongs to a client
/// registered another way, which a document cannot take over.
pub fn store_metadata_document(client_id: &str, md: &ClientMetadata) -> Result<bool, MisuseError> {
    let n = super::execute(
        query!("clients/store_metadata_document"),
        &[
            client_id.into(),
            md.name.as_str().into(),
            md.redirect_uris.clone().into(),
            names(&md.grant_types).into(),
            md.client_uri.clone().into(),
            md.logo_uri.clone().into(),
            md.client_type.as_str().into(),
            md.auth_method.as_str().into(),
        ],
    )?;
    Ok(n > 0)
}

/// The scopes a client may request (`scope::allowed_for_client`).
pub fn allowed_scopes(client: &Client) -> Result<Vec<String>, MisuseError> {
    let registered = match client.scopes {
        Some(_) => Vec::new(),
        None => super::scopes::registered()?,
    };
    Ok(scope::allowed_for_client(
        client.scopes.as_deref(),
        &registered,
    ))
}

/// The post-logout redirect URIs of a client (OIDC RP-Initiated Logout).
pub fn post_logout_uris(client_id: &str) -> Result<Vec<String>, MisuseError> {
    Ok(
        super::scalar::<Vec<String>>(query!("clients/post_logout_uris"), &[client_id.into()])?
            .unwrap_or_default(),
    )
}

/// Replaces them. They live in their own table, so that the 0.1.0 schema keeps working with
/// this library until `ALTER EXTENSION oauth_server UPDATE` (clients without any are never
/// written there).
pub fn set_post_logout_uris(
    client_id: &str,
    uris: &[String],
    known_empty: bool,
) -> Result<(), MisuseError> {
    if uris.is_empty() && known_empty {
        return Ok(());
    }
    super::execute(
        query!("clients/set_post_logout_uris"),
        &[client_id.into(), uris.to_vec().into()],
    )
    .map(|_| ())
}
