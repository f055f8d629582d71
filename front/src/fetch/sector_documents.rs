//! Pairwise clients' sector identifier documents (OIDC Core §8.1): the extension asks
//! (`refresh_sector`) before it issues a token to a pairwise client whose
//! `sector_identifier_uri` no document fetched from it has yet proved; the front reads the
//! client's URI (`oauth.client_sector_fetch`), GETs the document through the fence (no redirect
//! followed: a redirect answers as a failure), and stores
//! it, or why it failed (`oauth.set_client_sector_document`). Only on such a request, at most
//! once a minute per client: the URIs are registrants', and a timer would fetch them all.

use crate::fetch::fence;
use crate::fetch::on_demand::{OnDemand, Refreshed};
use crate::sql;
use deadpool_postgres::Pool;
use serde_json::Value;
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_secs(60);
/// A list of redirect URIs: a few KiB at most in practice.
const MAX_DOCUMENT: usize = 64 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SectorDocuments {
    pool: Pool,
    http: reqwest::Client,
    allow_private: bool,
    on_demand: OnDemand<()>,
}

impl SectorDocuments {
    pub fn new(
        pool: Pool,
        extra_roots: &[reqwest::Certificate],
        allow_private: bool,
    ) -> Result<SectorDocuments, reqwest::Error> {
        Ok(SectorDocuments {
            pool,
            // No redirect followed: the sector is the URI's host, and an open redirect there
            // must not let a document from elsewhere speak for it.
            http: fence::fenced_client(extra_roots, allow_private)
                .timeout(FETCH_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            allow_private,
            on_demand: OnDemand::new(INTERVAL),
        })
    }

    /// Called when the extension asked for `client_id`'s sector document (judged from
    /// `judged_at` on). Whether one was stored since, so that asking again may succeed.
    pub async fn refresh(&self, client_id: &str, judged_at: Instant) -> bool {
        let outcome = self
            .on_demand
            .refresh(client_id, judged_at, || async {
                self.fetch_and_store(client_id)
                    .await
                    .then_some(())
                    .ok_or(())
            })
            .await;
        outcome == Refreshed::Retry
    }

    /// Fetches and stores one client's document, or records why it could not be; whether
    /// anything was stored (a failure to fetch is stored too: the token endpoint then says
    /// why).
    async fn fetch_and_store(&self, client_id: &str) -> bool {
        let uri = match sql::call(&self.pool, "oauth.client_sector_fetch($1)", &[&client_id]).await
        {
            Ok(r) => r.body["sector_identifier_uri"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            Err(e) => {
                tracing::warn!(client_id, error = %e.description, "no sector identifier URI to fetch");
                return false;
            }
        };
        let fetched = fence::get_configured_json(
            &self.http,
            &uri,
            self.allow_private,
            MAX_DOCUMENT,
            FETCH_TIMEOUT,
        )
        .await;
        let (document, error): (Option<Value>, Option<String>) = match fetched {
            Ok(doc) => (Some(doc), None),
            Err(failure) => {
                let error = failure.to_string();
                tracing::warn!(client_id, %error, permanent = failure.permanent(), "sector identifier document not fetched");
                (None, Some(error))
            }
        };
        match sql::call(
            &self.pool,
            "oauth.set_client_sector_document($1, $2, $3, $4)",
            &[&client_id, &uri, &document, &error],
        )
        .await
        {
            Ok(r) => {
                tracing::info!(client_id, answer = %r.body, "sector identifier document stored");
                true
            }
            Err(e) => {
                tracing::warn!(client_id, error = %e.description, "sector identifier document not stored");
                false
            }
        }
    }
}
