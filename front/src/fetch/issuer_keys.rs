//! Trusted issuers' signing keys. The database cannot fetch URLs, so the front does: for each
//! issuer in `oauth.issuers()` it reads the JWKS (from the configured `jwks_uri`, else from
//! the `jwks_uri` of the issuer's OpenID Connect discovery document) and stores it with
//! `oauth.set_issuer_jwks`, which keeps only public signing keys.
//!
//! It does so on a timer, and when a session token names a key the database does not have
//! (the issuer rotated): then at most once a minute per issuer, so tokens with made-up `kid`s
//! cannot turn the front into a request amplifier against the issuer.
//!
//! Issuer URLs are configured by an administrator, but they name hosts elsewhere and those
//! hosts answer with redirects and further URLs (`jwks_uri`): the fetches go through the same
//! fence as client metadata documents (`fence`: public addresses only, on every redirect too;
//! no proxy), lifted by `--allow-private-fetch` for local stand-ins and tests.

use crate::fetch::failure::{Cause, Failure};
use crate::fetch::fence;
use crate::fetch::on_demand::{OnDemand, Refreshed};
use crate::sql;
use deadpool_postgres::Pool;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Minimum time between two refreshes of one issuer triggered by unknown keys.
const UNKNOWN_KEY_INTERVAL: Duration = Duration::from_secs(60);
/// Upper bound on a discovery document or JWKS.
const MAX_DOCUMENT: usize = 512 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct IssuerKeys {
    pool: Pool,
    http: reqwest::Client,
    allow_private: bool,
    on_demand: OnDemand<()>,
}

impl IssuerKeys {
    pub fn new(
        pool: Pool,
        extra_roots: &[reqwest::Certificate],
        allow_private: bool,
    ) -> Result<IssuerKeys, reqwest::Error> {
        Ok(IssuerKeys {
            pool,
            http: fence::following_client(extra_roots, allow_private, FETCH_TIMEOUT)?,
            allow_private,
            on_demand: OnDemand::new(UNKNOWN_KEY_INTERVAL),
        })
    }

    /// Refreshes every enabled issuer whose keys are fetched; run by the timer.
    pub async fn refresh_all(&self) {
        let issuers = match self.issuers().await {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list trusted issuers");
                return;
            }
        };
        for issuer in issuers.iter().filter(|i| fetches_keys(i)) {
            self.refresh(issuer).await;
        }
    }

    /// Called when a session token of `issuer`, verified from `verified_at` on, named a key the
    /// database lacks. Returns whether keys were stored since then, so that retrying may succeed:
    /// either this call fetched them, or a concurrent one did after the verification began.
    pub async fn refresh_after_unknown_key(&self, issuer: &str, verified_at: Instant) -> bool {
        let refreshed = self
            .on_demand
            .refresh(issuer, verified_at, || async {
                let found = match self.issuers().await {
                    Ok(list) => list
                        .into_iter()
                        .find(|i| i["issuer"].as_str() == Some(issuer)),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot list trusted issuers");
                        None
                    }
                };
                let refreshed = match found {
                    Some(i) if fetches_keys(&i) => self.refresh(&i).await,
                    _ => false,
                };
                refreshed.then_some(()).ok_or(())
            })
            .await;
        refreshed == Refreshed::Retry
    }

    async fn issuers(&self) -> Result<Vec<Value>, String> {
        let res = sql::call(&self.pool, "oauth.issuers()", &[])
            .await
            .map_err(|e| e.description)?;
        match res.body {
            Value::Array(list) => Ok(list),
            other => Err(format!("oauth.issuers() returned {other}")),
        }
    }

    /// Fetches and stores one issuer's keys; a failure is logged with its cause and recorded in
    /// the database (`last_error`), and the keys stored before stay in use.
    async fn refresh(&self, issuer: &Value) -> bool {
        let name = issuer["issuer"].as_str().unwrap_or_default();
        let configured = issuer["options"]["jwks_uri"].as_str();
        let discovery = issuer["discovery_url"].as_str().unwrap_or_default();
        let stored = match self.fetch_keys(name, configured, discovery).await {
            Ok((jwks, uri)) => sql::call(
                &self.pool,
                "oauth.set_issuer_jwks($1, $2, $3)",
                &[&name, &jwks, &uri],
            )
            .await
            .map(|r| r.body["kids"].clone())
            .map_err(|e| Failure::new("", Cause::Unavailable(e.description))),
            Err(e) => Err(e),
        };
        match stored {
            Ok(kids) => {
                tracing::info!(issuer = name, %kids, "issuer keys refreshed");
                true
            }
            Err(failure) => {
                let error = failure.to_string();
                tracing::warn!(issuer = name, %error, permanent = failure.permanent(), "issuer keys not refreshed");
                let _ = sql::call(
                    &self.pool,
                    "oauth.report_issuer_error($1, $2)",
                    &[&name, &error],
                )
                .await;
                false
            }
        }
    }

    /// The issuer's JWKS and the URL it came from.
    async fn fetch_keys(
        &self,
        issuer: &str,
        configured: Option<&str>,
        discovery: &str,
    ) -> Result<(Value, String), Failure> {
        let jwks_uri = match configured {
            Some(uri) => uri.to_string(),
            None => {
                let doc = self.get_json(discovery).await?;
                // OIDC Discovery §4.3: the document must name exactly the issuer it was fetched
                // for, or another issuer could hand out keys in its name.
                let what = || format!("discovery document at {discovery}");
                if doc["issuer"].as_str() != Some(issuer) {
                    let names = format!("names issuer {} instead", doc["issuer"]);
                    return Err(Failure::new(what(), Cause::Unusable(names)));
                }
                doc["jwks_uri"]
                    .as_str()
                    .ok_or_else(|| Failure::new(what(), Cause::Unusable("has no jwks_uri".into())))?
                    .to_string()
            }
        };
        let jwks = self.get_json(&jwks_uri).await?;
        Ok((jwks, jwks_uri))
    }

    async fn get_json(&self, url: &str) -> Result<Value, Failure> {
        let max = MAX_DOCUMENT;
        fence::get_configured_json(&self.http, url, self.allow_private, max, FETCH_TIMEOUT).await
    }
}

fn fetches_keys(issuer: &Value) -> bool {
    issuer["options"]["refresh"] != Value::Bool(false)
        && issuer["options"]["enabled"] != Value::Bool(false)
}
