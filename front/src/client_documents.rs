//! Client ID Metadata Documents: when an authorization request's `client_id` is an https URL,
//! the front fetches the JSON document at that URL and hands it to
//! `oauth.register_metadata_document`, which checks it (its `client_id` must be the URL, its
//! redirect URIs valid) and stores the client. Fetched documents are reused for a few minutes.
//!
//! Whether documents are accepted at all (`oauth_server.client_id_metadata_documents`) is asked
//! of the database on every request, before the cache is looked at: when it is off, nothing is
//! fetched, the cache is emptied, and the request goes on to `oauth.authorize`, which refuses
//! the client naming the setting (stored clients too: the database decides, not our cache). So
//! turning the setting off takes effect on the next request, not when a cached entry expires,
//! and turning it back on fetches afresh.
//!
//! The URL comes from anyone, so the fetch is fenced: https only, no redirects, 16 kB, 5 s,
//! no proxy, and no private, loopback or link-local addresses (see `fetch`: checked on the
//! addresses the name resolves to, which are then the ones connected to), unless
//! `--allow-private-fetch` says otherwise. Fetches (not cache hits) are limited per client
//! address and per target host, so authorization requests cannot make the front a fetching
//! machine.

use crate::fetch;
use crate::rate_limit::{AddrKey, RateLimiter};
use crate::sql::{self, CallError};
use axum::http::StatusCode;
use deadpool_postgres::Pool;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::Url;

const MAX_DOCUMENT: usize = 16 * 1024;
const FRESH_FOR: Duration = Duration::from_secs(300);
/// A failed fetch is not retried sooner, so that a client_id cannot make us hammer a URL.
const FAILED_FOR: Duration = Duration::from_secs(30);

/// Until when a client_id's stored client is fresh, or its failed fetch is not retried.
type Seen = (Instant, Result<(), String>);

pub struct ClientDocuments {
    pool: Pool,
    http: reqwest::Client,
    allow_private: bool,
    seen: Mutex<HashMap<String, Seen>>,
    per_addr: RateLimiter,
    per_host: RateLimiter<String>,
}

/// How many fetches authorization requests may cause.
pub struct FetchLimits {
    pub per_address_per_minute: u32,
    pub per_host_per_minute: u32,
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
        limits: FetchLimits,
    ) -> Result<ClientDocuments, reqwest::Error> {
        let http = fetch::fenced_client(extra_roots, allow_private)
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(ClientDocuments {
            pool,
            http,
            allow_private,
            seen: Mutex::new(HashMap::new()),
            per_addr: RateLimiter::new(limits.per_address_per_minute),
            per_host: RateLimiter::new(limits.per_host_per_minute),
        })
    }

    /// Whether one more fetch of `client_id` may be made for a request from `addr`: 429
    /// `temporarily_unavailable` with `Retry-After` (never a redirect: the client is not
    /// verified) when that address or that host had their share this minute.
    fn may_fetch(&self, client_id: &str, addr: AddrKey) -> Result<(), CallError> {
        let now = Instant::now();
        let host = Url::parse(client_id)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        self.per_addr.check(addr, now).map_err(|wait| {
            sql::too_many_requests(
                "temporarily_unavailable",
                "too many client metadata documents fetched for this address; retry later",
                wait,
            )
        })?;
        self.per_host.check(host, now).map_err(|wait| {
            sql::too_many_requests(
                "temporarily_unavailable",
                "too many client metadata documents fetched from this host; retry later",
                wait,
            )
        })
    }

    /// Makes sure the client `client_id` (a document URL) is stored and fresh; a refusal is
    /// a 400 the authorization endpoint returns as is (never a redirect: the client is unknown).
    /// With documents off there is nothing to make sure of: `oauth.authorize` refuses.
    pub async fn ensure(&self, client_id: &str, addr: AddrKey) -> Result<(), CallError> {
        if !self.accepted().await? {
            if let Ok(mut m) = self.seen.lock() {
                m.clear();
            }
            return Ok(());
        }
        let cached = self
            .seen
            .lock()
            .ok()
            .and_then(|m| m.get(client_id).cloned())
            .filter(|(until, _)| *until > Instant::now());
        let outcome = match cached {
            Some((_, outcome)) => outcome,
            None => {
                self.may_fetch(client_id, addr)?;
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

    /// Whether the database accepts client metadata documents now: its discovery document's
    /// `client_id_metadata_document_supported`, read on every call (one statement on a pooled
    /// connection; a setting changed with `ALTER SYSTEM` and a reload reaches it at once).
    async fn accepted(&self) -> Result<bool, CallError> {
        let res = sql::call(&self.pool, "oauth.metadata()", &[]).await?;
        Ok(res.body["client_id_metadata_document_supported"] == Value::Bool(true))
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
        res.accepted("the client metadata document was refused")
    }

    async fn fetch(&self, client_id: &str) -> Result<Value, String> {
        let url = Url::parse(client_id).map_err(|e| format!("client_id is not a URL: {e}"))?;
        // IP literals bypass the resolver: check them here.
        if !fetch::host_allowed(&url, self.allow_private) {
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
    fn document_urls_are_recognised() {
        assert!(is_document_url("https://app.example/client.json"));
        assert!(!is_document_url("abc123"));
    }
}
