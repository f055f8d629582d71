//! Read-only routes on hot standbys (`--replica-url`, repeatable): JWKS, discovery, the
//! protected-resource metadata, userinfo and introspection may be answered by a replica, so
//! that more of them than one primary carries can be served.
//!
//! The rule, which keeps every answer a client could act on true:
//! - a replica is used while it is in recovery, streaming from the primary, and no more than
//!   `--replica-max-lag` seconds behind (checked every `--replica-check-interval`);
//! - only a **positive** answer from a replica is final (a token active, a document found).
//!   Anything else — a token the replica does not know yet because it was issued a moment ago,
//!   an unknown client, any error — is asked again on the primary: a token issued on the
//!   primary verifies at once (read-your-writes for issuance);
//! - a revocation reaches replica answers within the lag bound (with `synchronous_commit =
//!   remote_apply` on the primary, a synchronous standby has applied it before the revocation
//!   answered);
//! - when the primary cannot be reached, any replica that answers does, however far behind:
//!   verifying tokens and serving keys through a failover beats refusing them.

use crate::sql::{self, CallError, SqlResponse};
use deadpool_postgres::Pool;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;

/// How long reads skip the primary after it failed to answer (then it is tried again).
const PRIMARY_DOWN_FOR: Duration = Duration::from_secs(2);

pub struct Replica {
    /// Where, for the log (the connection string without credentials is not kept).
    pub name: String,
    pub pool: Pool,
    healthy: AtomicBool,
}

pub struct Replicas {
    nodes: Vec<Replica>,
    max_lag: f64,
    next: AtomicUsize,
    started: Instant,
    /// Milliseconds since `started` until which the primary is taken as down (0: not).
    primary_down_until: AtomicU64,
}

/// What a standby says of itself: in recovery, streaming, and its replay lag in seconds.
const HEALTH: &str = "SELECT pg_is_in_recovery(), \
     EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming'), \
     CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
          ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9) \
     END::float8";

/// Whether a standby that says (`in_recovery`, `streaming`, `lag`) may answer reads.
pub fn usable(in_recovery: bool, streaming: bool, lag: f64, max_lag: f64) -> bool {
    in_recovery && streaming && lag <= max_lag
}

impl Replicas {
    pub fn new(nodes: Vec<(String, Pool)>, max_lag: f64) -> Replicas {
        Replicas {
            nodes: nodes
                .into_iter()
                .map(|(name, pool)| Replica {
                    name,
                    pool,
                    healthy: AtomicBool::new(false),
                })
                .collect(),
            max_lag,
            next: AtomicUsize::new(0),
            started: Instant::now(),
            primary_down_until: AtomicU64::new(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Asks every replica how it is; a replica that cannot be reached is not used.
    pub async fn check_all(&self) {
        for r in &self.nodes {
            let state = async {
                let c = r.pool.get().await.ok()?;
                let row = c.query_one(HEALTH, &[]).await.ok()?;
                Some((
                    row.get::<_, bool>(0),
                    row.get::<_, bool>(1),
                    row.get::<_, f64>(2),
                ))
            }
            .await;
            let ok = state
                .is_some_and(|(rec, streaming, lag)| usable(rec, streaming, lag, self.max_lag));
            if ok != r.healthy.swap(ok, Ordering::Relaxed) {
                tracing::info!(replica = %r.name, usable = ok, ?state, "replica state");
            }
        }
    }

    /// The next usable replica, round robin.
    fn pick(&self) -> Option<&Replica> {
        let n = self.nodes.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &self.nodes[(start + i) % n])
            .find(|r| r.healthy.load(Ordering::Relaxed))
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn primary_down(&self) -> bool {
        self.now_ms() < self.primary_down_until.load(Ordering::Relaxed)
    }

    fn mark_primary_down(&self) {
        let until = self.now_ms() + PRIMARY_DOWN_FOR.as_millis() as u64;
        self.primary_down_until.store(until, Ordering::Relaxed);
    }

    /// Runs a read-only `call` by the rule above. `positive`: whether a replica's answer is
    /// final.
    pub async fn read(
        &self,
        primary: &Pool,
        call: &str,
        params: &[&(dyn ToSql + Sync)],
        positive: fn(&SqlResponse) -> bool,
    ) -> Result<SqlResponse, CallError> {
        let primary_down = self.primary_down();
        if let Some(r) = self.pick() {
            match sql::call(&r.pool, call, params).await {
                Ok(res) if primary_down || positive(&res) => return Ok(res),
                Ok(_) => {}
                Err(e) if e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE => {
                    r.healthy.store(false, Ordering::Relaxed);
                }
                Err(_) => {}
            }
        }
        if !primary_down {
            match sql::call(primary, call, params).await {
                Err(e)
                    if e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE
                        && !self.nodes.is_empty() =>
                {
                    tracing::warn!("primary unavailable: reads go to any replica that answers");
                    self.mark_primary_down();
                }
                other => return other,
            }
        }
        let mut last = None;
        for r in &self.nodes {
            match sql::call(&r.pool, call, params).await {
                Ok(res) => return Ok(res),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| CallError::unavailable("no database answered")))
    }
}

/// A 200 answer (a document, a user's claims).
pub fn found(res: &SqlResponse) -> bool {
    res.status.is_success()
}

/// An introspection that found the token active.
pub fn active(res: &SqlResponse) -> bool {
    res.status.is_success() && res.body["active"] == serde_json::Value::Bool(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_streaming_standby_within_the_lag_bound_answers() {
        assert!(usable(true, true, 0.0, 1.0));
        assert!(usable(true, true, 1.0, 1.0));
        assert!(!usable(true, true, 1.5, 1.0));
        // Promoted (no longer following our primary) or disconnected from it: not used.
        assert!(!usable(false, true, 0.0, 1.0));
        assert!(!usable(true, false, 0.0, 1.0));
    }
}
