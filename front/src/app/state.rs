//! What every handler shares: the database pools, the fetchers, the limits.

use crate::fetch::client_documents::ClientDocuments;
use crate::fetch::client_keys::ClientKeys;
use crate::fetch::issuer_keys::IssuerKeys;
use crate::fetch::provider_metadata::ProviderMetadata;
use crate::fetch::sector_documents::SectorDocuments;
use crate::fetch::sign_in_exchange::SignInExchange;
use crate::http::client_addr::forwarded_client;
use crate::http::public_url::PublicUrl;
use crate::rate_limit::{FailureBudget, RateLimiter};
use crate::replicas::Replicas;
use crate::sql::CallError;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use deadpool_postgres::Pool;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub struct AppState {
    /// The primary (a multi-host string with target_session_attrs=read-write follows it
    /// through a failover).
    pub pool: Pool,
    /// Hot standbys for the read-only routes (see `replicas`); empty without `--replica-url`.
    pub replicas: Arc<Replicas>,
    pub issuer_keys: Arc<IssuerKeys>,
    /// `private_key_jwt` clients' keys published at a `jwks_uri`.
    pub client_keys: Arc<ClientKeys>,
    /// Pairwise clients' sector identifier documents.
    pub sector_documents: SectorDocuments,
    pub providers: Arc<ProviderMetadata>,
    /// The upstream sign-in's token request and profile fetches.
    pub sign_in_exchange: SignInExchange,
    /// Where browsers reach this front (decides the sign-in cookie's form).
    pub public_url: PublicUrl,
    pub client_documents: ClientDocuments,
    pub register_limit: RateLimiter,
    /// Lookups by device user code, per client address: user codes are short (RFC 8628 §5.1).
    pub user_code_limit: RateLimiter,
    /// Failed client authentications, per client_id and address: secret guessing (RFC 9700
    /// §2.5).
    pub client_auth_failures: FailureBudget,
    /// Reverse proxies in front of this one: the client address is the N-th X-Forwarded-For
    /// entry from the right (0: the socket's peer).
    pub proxy_hops: usize,
}

impl AppState {
    /// The client's address: the socket's peer, or the one the trusted proxies forwarded.
    pub fn client_ip(&self, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
        forwarded_client(headers, peer.ip(), self.proxy_hops)
    }
}

/// A handler's state argument.
pub type St = State<Arc<AppState>>;

/// A handler's answer: the response, or the OAuth error of a failed call.
pub type AppResult = Result<Response, CallError>;
