//! Client metadata: the one validator behind `oauth.create_client`, `oauth.update_client`,
//! dynamic registration (`oauth.register_client`, RFC 7591) and client ID metadata documents
//! (`oauth.register_metadata_document`).
//!
//! Every caller hands over JSON and says who is asking ([`Caller`]); the answer is the
//! normalised metadata to store ([`ClientMetadata`]) or the error that caller reports
//! ([`Invalid`]): an administrator's mistake is misuse (SQLSTATE 22023, with a hint), a
//! registrant's or a document's is RFC 7591 JSON (`invalid_redirect_uri`,
//! `invalid_client_metadata`; `invalid_client` for a metadata document's URL).
//!
//! The rules are shared: a registrant passes the same checks as an administrator (after its
//! own, stricter ones), so a registered client can never be something a DBA could not create.
//! A metadata document's client is always public, and its optional fields are dropped rather
//! than refused (the document is someone else's page, fetched on their behalf).
//!
//! One file per caller, over the rules they share:
//! - `admin`: `create_client` and `update_client` (an administrator, misuse errors);
//! - `registration`: RFC 7591 dynamic registration (a registrant's own checks, then `admin`'s);
//! - `metadata_document`: client ID metadata documents (a public client of the code grant);
//! - `field_rules`: one rule per field (redirect URIs, scopes, grant types, authentication
//!   method, name, URIs, post-logout URIs) and the rules between fields;
//! - `key_rules`: a `private_key_jwt` client's `jwks` or `jwks_uri`;
//! - `relying_party`: subject type (pairwise) and back-channel logout;
//! - `default_resources`: the resource servers a request naming none is for (administrators
//!   only);
//! - `json_fields`: reading a registration request's or a document's fields.

mod admin;
pub mod default_resources;
mod field_rules;
mod json_fields;
mod key_rules;
mod metadata_document;
mod registration;
pub mod relying_party;
#[cfg(test)]
mod test_support;

use crate::error::{MisuseError, OAuthError};
use crate::model::{AuthMethod, ClientType, GrantType};
use serde_json::Value;

pub use admin::CHANGEABLE;
pub use key_rules::ClientKeys;
pub use relying_party::{RelyingParty, SubjectType};

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// `oauth.create_client`: its arguments as one JSON object, SQL NULL as JSON null (keys
    /// `name`, `redirect_uris`, `client_type`, `scopes`, `grant_types`,
    /// `token_endpoint_auth_method`, `client_uri`, `logo_uri`, `post_logout_redirect_uris`).
    Create,
    /// `oauth.update_client`: the changes, applied onto the client as stored.
    Update(&'a ClientMetadata),
    /// `oauth.register_client`: an anonymous registrant, limited to the grant types the DBA
    /// allows (`oauth_server.registration_grant_types`) and the scopes the server knows.
    Registration {
        allowed_grant_types: &'a [String],
        known_scopes: &'a [String],
    },
    /// `oauth.register_metadata_document`: the document fetched from `client_id`.
    MetadataDocument { client_id: &'a str },
}

/// Validated, normalised client metadata: what `oauth.clients` stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    pub client_type: ClientType,
    pub name: String,
    /// Distinct, in the order given.
    pub redirect_uris: Vec<String>,
    /// `None`: any scope the server knows.
    pub scopes: Option<Vec<String>>,
    /// Distinct, in the order given.
    pub grant_types: Vec<GrantType>,
    pub auth_method: AuthMethod,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    /// OIDC RP-Initiated Logout: where `end_session` may send the browser back, exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// RFC 9449 §5.2: every token request of this client must carry a DPoP proof, so that
    /// each of its access tokens is bound to a key.
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 §6: every authorization request of this client must be pushed first.
    pub require_pushed_authorization_requests: bool,
    /// A `private_key_jwt` client's public keys (RFC 7523), inline or at a URL; none otherwise.
    pub keys: Option<ClientKeys>,
    /// Pairwise subjects and back-channel logout (`relying_party`).
    pub relying_party: RelyingParty,
    /// The resource servers (RFC 8707) an authorization request of the client naming none is
    /// for, in order; empty: none (`default_resources`).
    pub default_resources: Vec<String>,
}

/// Why metadata was refused, in the channel of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// An administrator's call (`Caller::Create`, `Caller::Update`): raised as 22023.
    Misuse(MisuseError),
    /// A registration or a metadata document: returned as RFC 7591 JSON.
    OAuth(OAuthError),
}

impl From<MisuseError> for Invalid {
    fn from(e: MisuseError) -> Self {
        Invalid::Misuse(e)
    }
}
impl From<OAuthError> for Invalid {
    fn from(e: OAuthError) -> Self {
        Invalid::OAuth(e)
    }
}

/// Validates `metadata` for `caller`.
pub fn validate(metadata: &Value, caller: Caller) -> Result<ClientMetadata, Invalid> {
    match caller {
        Caller::Create => Ok(admin::create(metadata)?),
        Caller::Update(current) => Ok(admin::update(metadata, current)?),
        Caller::Registration {
            allowed_grant_types,
            known_scopes,
        } => registration::validate(metadata, allowed_grant_types, known_scopes),
        Caller::MetadataDocument { client_id } => metadata_document::validate(metadata, client_id),
    }
}
