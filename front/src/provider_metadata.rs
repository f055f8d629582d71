//! Upstream sign-in providers' discovery documents and keys. The database says what to fetch
//! (`oauth.sign_in_provider_fetches()`: a discovery URL, a JWKS URL, or both) and judges what
//! was fetched (`oauth.set_sign_in_provider_metadata`); the front only fetches, through the
//! fence for administrator-configured URLs (`fetch::fetchable`, on every redirect too).
//!
//! On the issuer-keys timer, and on demand when a sign-in finds the metadata missing or an ID
//! token names an unknown key: then at most once a minute per provider (`OnDemand`), so that
//! sign-in attempts cannot make the front hammer a provider.

use crate::fetch;
use crate::on_demand::OnDemand;
use crate::sql;
use deadpool_postgres::Pool;
use serde_json::Value;
use std::time::{Duration, Instant};

const ON_DEMAND_INTERVAL: Duration = Duration::from_secs(60);
const MAX_DOCUMENT: usize = 512 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct ProviderMetadata {
    pool: Pool,
    http: reqwest::Client,
    allow_private: bool,
    on_demand: OnDemand,
}

impl ProviderMetadata {
    pub fn new(
        pool: Pool,
        extra_roots: &[reqwest::Certificate],
        allow_private: bool,
    ) -> Result<ProviderMetadata, reqwest::Error> {
        Ok(ProviderMetadata {
            pool,
            http: fetch::following_client(extra_roots, allow_private, FETCH_TIMEOUT)?,
            allow_private,
            on_demand: OnDemand::new(ON_DEMAND_INTERVAL),
        })
    }

    /// Refreshes every provider the database lists; run by the timer.
    pub async fn refresh_all(&self) {
        match self.fetches().await {
            Ok(list) => {
                for entry in &list {
                    self.refresh(entry).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list sign-in providers to fetch"),
        }
    }

    /// Called when the database found `name`'s metadata missing or stale at `since`. Returns
    /// whether it was stored since then, so that one retry may succeed.
    pub async fn refresh_after(&self, name: &str, since: Instant) -> bool {
        self.on_demand
            .refresh(name, since, || async {
                let entry = match self.fetches().await {
                    Ok(list) => list.into_iter().find(|e| e["name"].as_str() == Some(name)),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot list sign-in providers to fetch");
                        None
                    }
                };
                match entry {
                    Some(e) => self.refresh(&e).await,
                    None => false,
                }
            })
            .await
    }

    async fn fetches(&self) -> Result<Vec<Value>, String> {
        let res = sql::call(&self.pool, "oauth.sign_in_provider_fetches()", &[])
            .await
            .map_err(|e| e.description)?;
        match res.body {
            Value::Array(list) => Ok(list),
            other => Err(format!("oauth.sign_in_provider_fetches() returned {other}")),
        }
    }

    /// Fetches and stores one provider's metadata; a failure is logged and recorded in the
    /// database, and what was stored before stays in use.
    async fn refresh(&self, entry: &Value) -> bool {
        let name = entry["name"].as_str().unwrap_or_default();
        let stored = match self.fetch(entry).await {
            Ok((discovery, jwks)) => self.store(name, &discovery, &jwks).await,
            Err(e) => Err(e),
        };
        match stored {
            Ok(()) => {
                tracing::info!(provider = name, "sign-in provider metadata refreshed");
                true
            }
            Err(error) => {
                tracing::warn!(provider = name, %error, "sign-in provider metadata not refreshed");
                let _ = sql::call(
                    &self.pool,
                    "oauth.report_sign_in_provider_error($1, $2)",
                    &[&name, &error],
                )
                .await;
                false
            }
        }
    }

    /// The discovery document (when the provider has one) and the JWKS.
    async fn fetch(&self, entry: &Value) -> Result<(Option<Value>, Value), String> {
        let discovery = match entry["discovery_url"].as_str() {
            Some(url) => Some(self.get_json(url).await?),
            None => None,
        };
        // A configured jwks_uri wins over the discovery document's.
        let jwks_uri = entry["jwks_uri"]
            .as_str()
            .or_else(|| discovery.as_ref()?["jwks_uri"].as_str())
            .ok_or("neither the provider nor its discovery document names a jwks_uri")?
            .to_string();
        Ok((discovery, self.get_json(&jwks_uri).await?))
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        fetch::get_configured_json(&self.http, url, self.allow_private, MAX_DOCUMENT).await
    }

    async fn store(
        &self,
        name: &str,
        discovery: &Option<Value>,
        jwks: &Value,
    ) -> Result<(), String> {
        let res = sql::call(
            &self.pool,
            "oauth.set_sign_in_provider_metadata($1, $2, $3)",
            &[&name, discovery, jwks],
        )
        .await
        .map_err(|e| e.description)?;
        res.accepted("the database refused the provider's metadata")
    }
}
