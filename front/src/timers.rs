//! What the front does on its own, on timers: purging expired rows, refreshing trusted
//! issuers' keys and sign-in providers' metadata, checking the replicas, delivering
//! back-channel logout tokens. (Clients' published
//! keys are fetched when used: `fetch::client_keys`.)

use crate::fetch::issuer_keys::IssuerKeys;
use crate::fetch::logout_delivery::LogoutDelivery;
use crate::fetch::provider_metadata::ProviderMetadata;
use crate::replicas::Replicas;
use crate::sql;
use deadpool_postgres::Pool;
use std::sync::Arc;
use std::time::Duration;

/// Refreshes trusted issuers' keys and sign-in providers' metadata now and then every `every`
/// seconds.
pub async fn refresh_timer(keys: Arc<IssuerKeys>, providers: Arc<ProviderMetadata>, every: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    loop {
        tick.tick().await;
        keys.refresh_all().await;
        providers.refresh_all().await;
    }
}

/// Checks every replica's state every `every_ms` milliseconds.
pub async fn replica_checks(replicas: Arc<Replicas>, primary: Pool, every_ms: u64) {
    let mut tick = tokio::time::interval(Duration::from_millis(every_ms.max(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        replicas.check_all(&primary).await;
    }
}

/// Runs `oauth.purge_expired()` every `every` seconds.
pub async fn purge_timer(pool: Pool, every: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    loop {
        tick.tick().await;
        match sql::call(&pool, "oauth.purge_expired()", &[]).await {
            Ok(r) => tracing::info!(purged = %r.body, "purge_expired"),
            Err(e) => tracing::warn!(error = ?e, "purge_expired failed"),
        }
    }
}

/// Delivers due back-channel logout tokens every `every` seconds.
pub async fn logout_delivery_timer(delivery: LogoutDelivery, every: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        delivery.run_once().await;
    }
}
