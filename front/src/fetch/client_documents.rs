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
//! no proxy, and no private, loopback or link-local addresses (see `fence`: checked on the
//! addresses the name resolves to, which are then the ones connected to), unless
//! `--allow-private-fetch` says otherwise. Fetches (not cache hits) are limited per client
//! address and per target host, so authorization requests cannot make the front a fetching
//! machine. A failed fetch is answered with its cause (`failure`: TLS, address, status, size,
//! not JSON, timeout) and logged with it; only a name that resolves to private addresses is
//! told as one that does not resolve, or anyone could map the names of internal hosts.

use crate::fetch::failure::{Cause, Failure};
use crate::fetch::fence;
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
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
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
        let http = fence::fenced_client(extra_roots, allow_private)
            .timeout(FETCH_TIMEOUT)
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

    /// Fetches and stores the document; a failure is logged and answered with its cause.
    async fn fetch_and_store(&self, client_id: &str) -> Result<(), String> {
        let stored = match self.fetch(client_id).await {
            Ok(document) => self.store(client_id, &document).await,
            Err(failure) => Err(failure),
        };
        stored.map_err(|failure| {
            // Debug-escaped: the failure quotes the client_id as sent, which may hold a newline (text logs).
            tracing::warn!(client_id, error = ?failure.to_string(), "client metadata document refused");
            told(&failure)
        })
    }

    async fn store(&self, client_id: &str, document: &Value) -> Result<(), Failure> {
        let what = || format!("the client metadata document at {client_id}");
        let res = sql::call(
            &self.pool,
            "oauth.register_metadata_document($1, $2)",
            &[&client_id, document],
        )
        .await
        .map_err(|e| Failure::new(what(), Cause::Unavailable(e.description)))?;
        res.accepted("the client metadata document was refused")
            .map_err(|why| Failure::new("", Cause::Unusable(why)))
    }

    async fn fetch(&self, client_id: &str) -> Result<Value, Failure> {
        let what = || format!("fetching the client metadata document {client_id}");
        let url = Url::parse(client_id).map_err(|e| {
            Failure::new("", Cause::Unusable(format!("client_id is not a URL: {e}")))
        })?;
        // IP literals bypass the resolver: check them here.
        if !fence::host_allowed(&url, self.allow_private) {
            return Err(Failure::new(what(), Cause::PrivateAddress));
        }
        if url.scheme() != "https" {
            return Err(Failure::new(what(), Cause::DocumentHttpsRequired));
        }
        fence::get_json(&self.http, url, MAX_DOCUMENT, FETCH_TIMEOUT)
            .await
            .map_err(|cause| Failure::new(what(), cause))
    }
}

/// What the requester (anyone: the client_id is theirs to choose) is told of a failure: its
/// cause, except that a host name that resolves only to private addresses and one that does
/// not resolve read the same, so that nobody can ask the front which names its resolver knows
/// (internal ones included). The log keeps which it was.
fn told(failure: &Failure) -> String {
    match failure.cause {
        Cause::PrivateAddress | Cause::Unresolved(_) => format!(
            "{}: its host is not a public address, or does not resolve to one (it does not \
             resolve at all, or only to private, loopback or link-local addresses, which are \
             fetched from only when oauth-front runs with --allow-private-fetch: development \
             and tests)",
            failure.what
        ),
        _ => failure.to_string(),
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

    /// Documents without `--allow-private-fetch`, and a pool that is never used: a fetch that
    /// fails stores nothing.
    fn documents() -> ClientDocuments {
        let manager =
            deadpool_postgres::Manager::new(tokio_postgres::Config::new(), tokio_postgres::NoTls);
        let pool = Pool::builder(manager).max_size(1).build().unwrap();
        let limits = FetchLimits {
            per_address_per_minute: 100,
            per_host_per_minute: 100,
        };
        ClientDocuments::new(pool, &[], false, limits).unwrap()
    }

    /// Anyone may name any URL as a client_id: what they are told must not say which names
    /// the front's resolver knows. A name that resolves only to private addresses (an internal
    /// host) and one that does not resolve at all read the same, and both name the flag.
    #[tokio::test]
    async fn an_anonymous_requester_cannot_tell_an_internal_name_from_one_that_does_not_exist() {
        let docs = documents();
        let internal = "https://localhost:9/client.json";
        let unknown = "https://no-such-host.invalid:9/client.json";
        let told = |answer: String, url: &str| answer.replace(url, "<client_id>");
        let internal_told = told(docs.fetch_and_store(internal).await.unwrap_err(), internal);
        let unknown_told = told(docs.fetch_and_store(unknown).await.unwrap_err(), unknown);
        assert_eq!(internal_told, unknown_told);
        assert!(
            internal_told.contains("--allow-private-fetch"),
            "{internal_told}"
        );
        // An address written in the URL is known to whoever wrote it: told as it is.
        let literal = docs
            .fetch_and_store("https://10.1.2.3/c.json")
            .await
            .unwrap_err();
        assert!(literal.contains("--allow-private-fetch"), "{literal}");
    }
}
