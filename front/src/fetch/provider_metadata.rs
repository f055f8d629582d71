//! Upstream sign-in providers' discovery documents and keys. The database says what to fetch
//! (`oauth.sign_in_provider_fetches()`: a discovery URL, a JWKS URL, or both) and judges what
//! was fetched (`oauth.set_sign_in_provider_metadata`); the front only fetches, through the
//! fence for administrator-configured URLs (`fence::refusal`, on every redirect too).
//!
//! On the issuer-keys timer, and on demand when a sign-in finds the metadata missing or an ID
//! token names an unknown key: then at most once a minute per provider (`OnDemand`), so that
//! sign-in attempts cannot make the front hammer a provider. A failed fetch keeps its cause
//! for that minute, so that the sign-in can say why (`Refreshed::Failed`).

use crate::fetch::failure::{Cause, Failure};
use crate::fetch::fence;
use crate::fetch::on_demand::{OnDemand, Refreshed};
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
    on_demand: OnDemand<Failure>,
}

impl ProviderMetadata {
    pub fn new(
        pool: Pool,
        extra_roots: &[reqwest::Certificate],
        allow_private: bool,
    ) -> Result<ProviderMetadata, reqwest::Error> {
        Ok(ProviderMetadata {
            pool,
            http: fence::following_client(extra_roots, allow_private, FETCH_TIMEOUT)?,
            allow_private,
            on_demand: OnDemand::new(ON_DEMAND_INTERVAL),
        })
    }

    /// Refreshes every provider whose metadata is fetched; run by the timer.
    pub async fn refresh_all(&self) {
        match self.fetches().await {
            Ok(list) => {
                for entry in &list {
                    let _ = self.refresh(entry).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list sign-in providers to fetch"),
        }
    }

    /// Called when the database found `name`'s metadata missing or stale at `since`: whether
    /// it was stored since then (one retry may succeed), or why it could not be.
    pub async fn refresh_after(&self, name: &str, since: Instant) -> Refreshed<Failure> {
        self.on_demand
            .refresh(name, since, || async {
                let entry = match self.fetches().await {
                    Ok(list) => list.into_iter().find(|e| e["name"].as_str() == Some(name)),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot list sign-in providers to fetch");
                        let why = format!("cannot list sign-in providers to fetch: {e}");
                        return Err(Failure::new("", Cause::Unavailable(why)));
                    }
                };
                match entry {
                    Some(e) => self.refresh(&e).await,
                    None => Err(Failure::new(
                        "",
                        Cause::Unavailable(format!(
                            "oauth.sign_in_provider_fetches() names nothing to fetch for {name}"
                        )),
                    )),
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

    /// Fetches and stores one provider's metadata; a failure is logged with its cause and
    /// recorded in the database (`last_error`), and what was stored before stays in use.
    async fn refresh(&self, entry: &Value) -> Result<(), Failure> {
        let name = entry["name"].as_str().unwrap_or_default();
        let stored = match self.fetch(entry).await {
            Ok((discovery, jwks)) => self.store(name, &discovery, &jwks).await,
            Err(e) => Err(e),
        };
        match &stored {
            Ok(()) => tracing::info!(provider = name, "sign-in provider metadata refreshed"),
            Err(failure) => {
                let error = failure.to_string();
                tracing::warn!(provider = name, %error, permanent = failure.permanent(), "sign-in provider metadata not refreshed");
                let _ = sql::call(
                    &self.pool,
                    "oauth.report_sign_in_provider_error($1, $2)",
                    &[&name, &error],
                )
                .await;
            }
        }
        stored
    }

    /// The discovery document (when the provider has one) and the JWKS.
    async fn fetch(&self, entry: &Value) -> Result<(Option<Value>, Value), Failure> {
        let discovery = match entry["discovery_url"].as_str() {
            Some(url) => Some(self.get_json(url).await?),
            None => None,
        };
        // A configured jwks_uri wins over the discovery document's.
        let jwks_uri = entry["jwks_uri"]
            .as_str()
            .or_else(|| discovery.as_ref()?["jwks_uri"].as_str())
            .ok_or_else(|| {
                let why = "neither the provider nor its discovery document names a jwks_uri";
                Failure::new("", Cause::Unusable(why.into()))
            })?
            .to_string();
        Ok((discovery, self.get_json(&jwks_uri).await?))
    }

    async fn get_json(&self, url: &str) -> Result<Value, Failure> {
        let max = MAX_DOCUMENT;
        fence::get_configured_json(&self.http, url, self.allow_private, max, FETCH_TIMEOUT).await
    }

    async fn store(
        &self,
        name: &str,
        discovery: &Option<Value>,
        jwks: &Value,
    ) -> Result<(), Failure> {
        let res = sql::call(
            &self.pool,
            "oauth.set_sign_in_provider_metadata($1, $2, $3)",
            &[&name, discovery, jwks],
        )
        .await
        .map_err(|e| Failure::new("", Cause::Unavailable(e.description)))?;
        res.accepted("the database refused the provider's metadata")
            .map_err(|why| Failure::new("", Cause::Unusable(why)))
    }
}
