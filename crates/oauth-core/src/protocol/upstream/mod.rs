//! Upstream sign-in providers (we are the relying party): their options, the requests made to
//! them, and what their answers are worth. The database decides; the front only carries the
//! requests this module describes.
//!
//! - this module: what a provider is (`Provider`, its endpoints) and what each kind needs;
//! - `options`: a provider's options validated (`Provider::from_options`) and stored back;
//! - `discovery`: where its endpoints and keys are, and the discovery document that says so;
//! - `request`: the authorization URL and the token request;
//! - `id_token`: what an ID token must say (for us, from the configured issuer, this attempt);
//! - `answers`: what the answers the front relays prove (the ID token's signature and lifetime
//!   at the caller's `now`, then `id_token` and `identity`; GitHub's and WorkOS's APIs);
//! - `identity`: the identity each kind asserts (honest `email_verified`);
//! - `callback`: what the provider's authorization response must say (RFC 9207 `iss`);
//! - `apple`: the client secret JWT Apple wants instead of a secret.
//!
//! An issuer a provider names (its discovery document's `issuer`, its ID tokens' and callbacks'
//! `iss`) is compared with the configured one exactly, through `protocol::issuer::same`
//! (RFC 8414 §3.3, OIDC Discovery §4.3, OIDC Core §3.1.3.7, RFC 9207 §2.4).

pub mod answers;
pub mod apple;
pub mod callback;
pub mod discovery;
#[cfg(test)]
mod fixtures;
pub mod id_token;
pub mod identity;
pub mod options;
pub mod request;

use crate::model::SignInKind;

/// Microsoft's tenant names that are not a tenant: any work/school, any personal account.
pub const MICROSOFT_MULTI_TENANT: &[&str] = &["common", "organizations", "consumers"];
/// The tenant id of personal Microsoft accounts (what `tid` is for `consumers`).
pub const MICROSOFT_CONSUMERS_TID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Options that carry secrets: accepted, stored encrypted, never shown or returned.
pub const SECRET_OPTIONS: &[&str] = &["client_secret", "private_key"];

/// How the client authenticates at the upstream token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAuth {
    /// HTTP Basic (`client_secret_basic`): the OpenID default.
    Basic,
    /// In the form (`client_secret_post`): Apple, GitHub, WorkOS.
    Post,
}

/// WorkOS picks the IdP by one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkosSelector {
    Connection(String),
    Organization(String),
    Provider(String),
}

/// A provider's options, validated, with every default filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    pub name: String,
    pub kind: SignInKind,
    pub client_id: String,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub enabled: bool,
    pub pkce: bool,
    pub token_auth: TokenAuth,
    /// oidc: the issuer; apple: Apple's (or a stand-in's) issuer; microsoft: the authority.
    pub issuer: Option<String>,
    pub tenant: Option<String>,
    pub allowed_tenants: Vec<String>,
    pub team_id: Option<String>,
    pub key_id: Option<String>,
    pub workos: Option<WorkosSelector>,
    pub api_base: Option<String>,
    pub web_base: Option<String>,
    /// WorkOS: the IdP's emails count as verified (the admin vouches for the connection).
    pub trust_email: bool,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub redirect_uri: Option<String>,
}

/// Where a provider's endpoints are, once known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
}

impl Provider {
    /// Whether the provider proves the user with an ID token (and so needs keys).
    pub fn uses_id_token(&self) -> bool {
        matches!(
            self.kind,
            SignInKind::Oidc | SignInKind::Apple | SignInKind::Microsoft
        )
    }

    /// The secrets this kind cannot work without.
    pub fn required_secrets(&self) -> &'static [&'static str] {
        match self.kind {
            SignInKind::Apple => &["private_key"],
            _ => &["client_secret"],
        }
    }
}
