//! Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0 §2.5): the extension
//! queues a row per client to tell in the transaction that ended the session or the user; this
//! loop claims the due ones (`oauth.claim_logout_deliveries`, which signs each logout token),
//! POSTs `logout_token` form-encoded to each client's `backchannel_logout_uri` through the
//! fetch fence (public addresses only unless `--allow-private-fetch`; no redirect followed: a
//! client answers 200), and reports each outcome (`oauth.report_logout_delivery`), which decides
//! whether and when it is tried again. At least once: a front that dies between a 200 and its
//! report sends it again after the claim's minute; never again after a reported 2xx.

use crate::fetch::fence;
use crate::sql;
use deadpool_postgres::Pool;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// A receiver that takes longer is tried again later (the claim holds for a minute).
const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries claimed at once; a full batch is followed by another at once.
const BATCH: i32 = 20;
/// What of a receiver's answer is kept as the error.
const MAX_ERROR: usize = 300;

pub struct LogoutDelivery {
    pool: Pool,
    http: reqwest::Client,
    allow_private: bool,
    /// The last failure to claim, logged once until it changes (a database not yet updated
    /// to a version with the outbox would otherwise log every tick).
    last_claim_error: std::sync::Mutex<Option<String>>,
}

impl LogoutDelivery {
    pub fn new(
        pool: Pool,
        extra_roots: &[reqwest::Certificate],
        allow_private: bool,
    ) -> Result<LogoutDelivery, reqwest::Error> {
        Ok(LogoutDelivery {
            pool,
            http: fence::fenced_client(extra_roots, allow_private)
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            allow_private,
            last_claim_error: std::sync::Mutex::new(None),
        })
    }

    /// Delivers what is due, batch after batch while batches come full.
    pub async fn run_once(&self) {
        loop {
            let claimed =
                match sql::call(&self.pool, "oauth.claim_logout_deliveries($1)", &[&BATCH]).await {
                    Ok(r) => {
                        self.note_claim_error(None);
                        r.body.as_array().cloned().unwrap_or_default()
                    }
                    Err(e) => {
                        self.note_claim_error(Some(e.description));
                        return;
                    }
                };
            let full = claimed.len() as i32 >= BATCH;
            let sends = claimed.iter().map(|d| self.deliver(d));
            futures_util::future::join_all(sends).await;
            if !full {
                return;
            }
        }
    }

    fn note_claim_error(&self, error: Option<String>) {
        let Ok(mut last) = self.last_claim_error.lock() else {
            return;
        };
        if *last != error {
            match &error {
                Some(e) => tracing::warn!(error = %e, "cannot claim logout deliveries"),
                None if last.is_some() => tracing::info!("logout deliveries claimed again"),
                None => {}
            }
            *last = error;
        }
    }

    async fn deliver(&self, d: &Value) {
        let id = d["id"].as_str().unwrap_or_default();
        let uri = d["uri"].as_str().unwrap_or_default();
        let client_id = d["client_id"].as_str().unwrap_or_default();
        let (status, error) = self
            .post(uri, d["logout_token"].as_str().unwrap_or_default())
            .await;
        match (status, &error) {
            (Some(s), None) => tracing::info!(client_id, uri, status = s, "logout delivered"),
            _ => tracing::warn!(
                client_id,
                uri,
                ?status,
                error = error.as_deref().unwrap_or(""),
                "logout not delivered"
            ),
        }
        // The claim's attempt: a report after the claim ran out never overwrites a newer one.
        let attempt = d["attempt"].as_i64().map(|a| a as i32);
        if let Err(e) = sql::call(
            &self.pool,
            "oauth.report_logout_delivery($1, $2, $3, $4)",
            &[&id, &status, &error, &attempt],
        )
        .await
        {
            tracing::warn!(id, error = %e.description, "cannot report a logout delivery");
        }
    }

    /// The status the receiver answered (None when none came) and, unless 2xx, why not.
    async fn post(&self, uri: &str, token: &str) -> (Option<i32>, Option<String>) {
        let url = match Url::parse(uri) {
            Ok(u) => u,
            Err(e) => return (None, Some(format!("{uri}: not a URL: {e}"))),
        };
        if let Some(refused) = fence::refusal(&url, self.allow_private) {
            return (None, Some(format!("{uri}: {refused}")));
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", token)
            .finish();
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cache-control", "no-store")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => (Some(res.status().as_u16() as i32), None),
            Ok(res) => {
                let status = res.status().as_u16() as i32;
                let text = res.text().await.unwrap_or_default();
                let text: String = text.chars().take(MAX_ERROR).collect();
                (
                    Some(status),
                    Some(format!("{uri} answered {status}: {text}")),
                )
            }
            Err(e) => {
                let why = if e.is_timeout() {
                    format!("no answer within {} s", TIMEOUT.as_secs())
                } else if e.is_connect() {
                    "cannot connect".to_string()
                } else {
                    e.to_string()
                };
                (None, Some(format!("{uri}: {why}")))
            }
        }
    }
}
