//! Client ID Metadata Documents: when an authorization request's `client_id` is an https URL,
//! the front fetches the JSON document at that URL and hands it to
//! `oauth.register_metadata_document`, which checks it (its `client_id` must be the URL, its
//! redirect URIs valid) and stores the client. Fetched documents are reused for a few minutes.
//!
//! The URL comes from anyone, so the fetch is fenced: https only, no redirects, 16 kB, 5 s,
//! and no private, loopback or link-local addresses (checked on the addresses the name resolves
//! to, which are then the ones connected to), unless `--allow-private-fetch` says otherwise.

use crate::fetch;
use crate::sql::{self, CallError};
use axum::http::StatusCode;
use deadpool_postgres::Pool;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

const MAX_DOCUMENT: usize = 16 * 1024;
const FRESH_FOR: Duration = Duration::from_secs(300);
/// A failed fetch is not retried sooner, so that a client_id cannot make us hammer a URL.
const FAILED_FOR: Duration = Duration::from_secs(30);

/// Addresses a fetch on behalf of an unauthenticated request must never reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// A resolver that drops non-public addresses (unless allowed): reqwest connects only to what
/// it returns, so a name cannot be rebound to an internal address between check and connect.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err("the host resolves to no public address".into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Until when a client_id's stored client is fresh, or its failed fetch is not retried.
type Seen = (Instant, Result<(), String>);

pub struct ClientDocuments {
    pool: Pool,
    http: reqwest::Client,
    allow_private: bool,
    seen: Mutex<HashMap<String, Seen>>,
}

/// Whether an authorization request's `client_id` names a metadata document.
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

impl ClientDocuments {
    pub fn new(
        pool: Pool,
        extra_roots: &[reqwest::Certificate],
        allow_private: bool,
    ) -> Result<ClientDocuments, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .user_agent(concat!("oauth-front/", env!("CARGO_PKG_VERSION")));
        for root in extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        Ok(ClientDocuments {
            pool,
            http: builder.build()?,
            allow_private,
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// Makes sure the client `client_id` (a document URL) is stored and fresh; a refusal is
    /// a 400 the authorization endpoint returns as is (never a redirect: the client is unknown).
    pub async fn ensure(&self, client_id: &str) -> Result<(), CallError> {
        let cached = self
            .seen
            .lock()
            .ok()
            .and_then(|m| m.get(client_id).cloned())
            .filter(|(until, _)| *until > Instant::now());
        let outcome = match cached {
            Some((_, outcome)) => outcome,
            None => {
                let outcome = self.fetch_and_store(client_id).await;
                let ttl = if outcome.is_ok() {
                    FRESH_FOR
                } else {
                    FAILED_FOR
                };
                if let Ok(mut m) = self.seen.lock() {
                    m.retain(|_, (until, _)| *until > Instant::now());
                    m.insert(
                        client_id.to_string(),
                        (Instant::now() + ttl, outcome.clone()),
                    );
                }
                outcome
            }
        };
        outcome.map_err(|d| CallError::new(StatusCode::BAD_REQUEST, "invalid_client", d))
    }

    async fn fetch_and_store(&self, client_id: &str) -> Result<(), String> {
        let document = self.fetch(client_id).await?;
        let res = sql::call(
            &self.pool,
            "oauth.register_metadata_document($1, $2)",
            &[&client_id, &document],
        )
        .await
        .map_err(|e| e.description)?;
        if res.status.is_success() {
            Ok(())
        } else {
            Err(res.body["error_description"]
                .as_str()
                .unwrap_or("the client metadata document was refused")
                .to_string())
        }
    }

    async fn fetch(&self, client_id: &str) -> Result<Value, String> {
        let url = Url::parse(client_id).map_err(|e| format!("client_id is not a URL: {e}"))?;
        let literal_ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        // IP literals bypass the resolver: check them here.
        if !self.allow_private && literal_ip.is_some_and(|ip| !is_public(ip)) {
            return Err("client_id points to a private address".into());
        }
        if url.scheme() != "https" {
            return Err("a client_id URL must use https".into());
        }
        fetch::get_json(&self.http, url, MAX_DOCUMENT)
            .await
            .map_err(|e| format!("fetching the client metadata document: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_fetched() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        assert!(is_document_url("https://app.example/client.json"));
        assert!(!is_document_url("abc123"));
    }
}
