//! The published keys of `private_key_jwt` clients (RFC 7523): the front reads a client's
//! JWKS from its `jwks_uri` (`oauth.client_jwks_fetches(client_id)`) and stores it with
//! `oauth.set_client_jwks`, which keeps only public signing keys.
//!
//! Only when the extension asks (`refresh_client_keys`): the stored set is more than ten
//! minutes old, or an assertion is signed by a key it lacks. Never on a timer: the URLs are
//! anyone's (a registrant's, a metadata document's), and a timer would fetch every one of them
//! forever, and wait on the slow ones. At most once a minute per client, so assertions with
//! made-up `kid`s cannot turn the front into a request amplifier against a host. The fetches go
//! through the fence (public addresses only, on every redirect too), lifted by
//! `--allow-private-fetch` for local stand-ins and tests.

use crate::fetch::failure::{Cause, Failure};
use crate::fetch::fence;
use crate::fetch::on_demand::{OnDemand, Refreshed};
use crate::sql;
use deadpool_postgres::Pool;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Minimum time between two refreshes of one client triggered by unknown keys.
const UNKNOWN_KEY_INTERVAL: Duration = Duration::from_secs(60);
/// Upper bound on a client's JWKS.
const MAX_DOCUMENT: usize = 64 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct ClientKeys {
    pool: Pool,
    http: reqwest::Client,
    allow_private: bool,
    on_demand: OnDemand<()>,
}

impl ClientKeys {
    pub fn new(
        pool: Pool,
        extra_roots: &[reqwest::Certificate],
        allow_private: bool,
    ) -> Result<ClientKeys, reqwest::Error> {
        Ok(ClientKeys {
            pool,
            http: fence::following_client(extra_roots, allow_private, FETCH_TIMEOUT)?,
            allow_private,
            on_demand: OnDemand::new(UNKNOWN_KEY_INTERVAL),
        })
    }

    /// Called when the extension asked for `client_id`'s keys (its stored set is old, or an
    /// assertion judged from `judged_at` on was signed by a key the set lacks). Whether keys were stored since then, so that asking again may
    /// succeed: this call fetched them, or a concurrent one did after the judgement began.
    pub async fn refresh_after_unknown_key(&self, client_id: &str, judged_at: Instant) -> bool {
        let refreshed = self
            .on_demand
            .refresh(client_id, judged_at, || async {
                let found = match self.fetches(client_id).await {
                    Ok(list) => list.into_iter().next(),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot list clients' published keys");
                        None
                    }
                };
                let refreshed = match found {
                    Some(c) => self.refresh(&c).await,
                    None => false,
                };
                refreshed.then_some(()).ok_or(())
            })
            .await;
        refreshed == Refreshed::Retry
    }

    async fn fetches(&self, client_id: &str) -> Result<Vec<Value>, String> {
        let res = sql::call(&self.pool, "oauth.client_jwks_fetches($1)", &[&client_id])
            .await
            .map_err(|e| e.description)?;
        match res.body {
            Value::Array(list) => Ok(list),
            other => Err(format!("oauth.client_jwks_fetches() returned {other}")),
        }
    }

    /// Fetches and stores one client's keys; a failure is logged with its cause and recorded
    /// (`last_error`), and the keys stored before stay in use.
    async fn refresh(&self, client: &Value) -> bool {
        let id = client["client_id"].as_str().unwrap_or_default();
        let uri = client["jwks_uri"].as_str().unwrap_or_default();
        let fetched = fence::get_configured_json(
            &self.http,
            uri,
            self.allow_private,
            MAX_DOCUMENT,
            FETCH_TIMEOUT,
        )
        .await;
        let stored = match fetched {
            Ok(jwks) => sql::call(
                &self.pool,
                "oauth.set_client_jwks($1, $2, $3)",
                &[&id, &jwks, &uri],
            )
            .await
            .map(|r| r.body["kids"].clone())
            .map_err(|e| Failure::new(uri, Cause::Unusable(e.description))),
            Err(e) => Err(e),
        };
        match stored {
            Ok(kids) => {
                tracing::info!(client_id = id, %kids, "client keys refreshed");
                true
            }
            Err(failure) => {
                let error = failure.to_string();
                tracing::warn!(client_id = id, %error, permanent = failure.permanent(), "client keys not refreshed");
                let _ = sql::call(
                    &self.pool,
                    "oauth.report_client_jwks_error($1, $2)",
                    &[&id, &error],
                )
                .await;
                false
            }
        }
    }
}
