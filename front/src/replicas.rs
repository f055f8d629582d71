//! Read-only routes on hot standbys (`--replica-url`, repeatable): JWKS, discovery, the
//! protected-resource metadata, userinfo and introspection may be answered by a replica, so
//! that more of them than one primary carries can be served.
//!
//! The rule, which keeps every answer a client could act on true:
//! - a replica is used while it is in recovery and has replayed everything the primary had
//!   written `--replica-max-lag` seconds earlier: every check (`--replica-check-interval`)
//!   samples the primary's WAL position, and compares each replica's replay position with the
//!   sample of `max_lag` ago. Measured against the primary, not the standby's own view, so a
//!   standby that stopped receiving (a partition) falls out within max-lag plus one interval;
//! - only a **positive** answer from a replica is final (a token active, a document found).
//!   Anything else — a token the replica does not know yet because it was issued a moment ago,
//!   an unknown client, any error — is asked again on the primary: a token issued on the
//!   primary verifies at once (read-your-writes for issuance);
//! - a revocation reaches replica answers within the lag bound (with `synchronous_commit =
//!   remote_apply` on the primary, a synchronous standby has applied it before the revocation
//!   answered);
//! - when the primary cannot be reached (refused, gone — not merely busy), a replica's answer is
//!   final, but only from a replica that had caught up with the primary's last known position
//!   (minus max-lag): verifying tokens and serving keys through a failover beats refusing them,
//!   and a replica far behind answers nothing.

use crate::sql::{self, CallError, SqlResponse};
use deadpool_postgres::Pool;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;

/// How long reads skip the primary after it could not be reached (then it is tried again).
const PRIMARY_DOWN_FOR: Duration = Duration::from_secs(2);
/// How long one replica may take to answer a check or a call before it counts as unusable.
const REPLICA_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Replica {
    /// Where, for the log (the connection string without credentials is not kept).
    pub name: String,
    pub pool: Pool,
    healthy: AtomicBool,
}

pub struct Replicas {
    nodes: Vec<Replica>,
    max_lag_ms: u64,
    next: AtomicUsize,
    started: Instant,
    /// Milliseconds since `started` until which the primary is taken as down (0: not).
    primary_down_until: AtomicU64,
    /// (milliseconds since `started`, the primary's WAL position in bytes), oldest first.
    samples: Mutex<VecDeque<(u64, f64)>>,
}

const PRIMARY_POSITION: &str = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8";
const REPLICA_STATE: &str = "SELECT pg_is_in_recovery(), \
     coalesce(pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0'), 0)::float8";

/// The position a replica must have replayed at `now_ms`: the newest sample of the primary's
/// position taken at least `max_lag_ms` ago (none yet: no replica qualifies).
pub fn required_position(
    samples: &VecDeque<(u64, f64)>,
    now_ms: u64,
    max_lag_ms: u64,
) -> Option<f64> {
    let cutoff = now_ms.checked_sub(max_lag_ms)?;
    samples
        .iter()
        .rev()
        .find(|(t, _)| *t <= cutoff)
        .map(|(_, lsn)| *lsn)
}

/// Whether a standby that says (`in_recovery`, `replayed`) may answer reads.
pub fn usable(in_recovery: bool, replayed: f64, required: Option<f64>) -> bool {
    in_recovery && required.is_some_and(|r| replayed >= r)
}

async fn query_with_timeout(pool: &Pool, sql: &str) -> Option<tokio_postgres::Row> {
    tokio::time::timeout(REPLICA_TIMEOUT, async {
        let c = pool.get().await.ok()?;
        c.query_one(sql, &[]).await.ok()
    })
    .await
    .ok()
    .flatten()
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
            max_lag_ms: (max_lag.max(0.0) * 1000.0) as u64,
            next: AtomicUsize::new(0),
            started: Instant::now(),
            primary_down_until: AtomicU64::new(0),
            samples: Mutex::new(VecDeque::new()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Samples the primary's position, then asks every replica (at once, each within a
    /// timeout) how far it has replayed; a replica that cannot be reached is not used.
    pub async fn check_all(&self, primary: &Pool) {
        let now = self.now_ms();
        if let Some(row) = query_with_timeout(primary, PRIMARY_POSITION).await {
            let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
            samples.push_back((now, row.get::<_, f64>(0)));
            // Keep what the bound can still ask for (and one older sample).
            while samples.len() > 2 && samples[1].0 + self.max_lag_ms + 10_000 < now {
                samples.pop_front();
            }
        }
        let required = {
            let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
            required_position(&samples, self.now_ms(), self.max_lag_ms)
        };
        let states = futures_util::future::join_all(
            self.nodes
                .iter()
                .map(|r| query_with_timeout(&r.pool, REPLICA_STATE)),
        )
        .await;
        for (r, row) in self.nodes.iter().zip(states) {
            let state = row.map(|row| (row.get::<_, bool>(0), row.get::<_, f64>(1)));
            let ok = state.is_some_and(|(rec, replayed)| usable(rec, replayed, required));
            if ok != r.healthy.swap(ok, Ordering::Relaxed) {
                tracing::info!(replica = %r.name, usable = ok, ?state, ?required, "replica state");
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

    /// A call on a usable replica, if there is one and it answers in time (else it is marked
    /// unusable until the next check).
    async fn on_replica(
        &self,
        call: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Option<Result<SqlResponse, CallError>> {
        let r = self.pick()?;
        match tokio::time::timeout(REPLICA_TIMEOUT, sql::call(&r.pool, call, params)).await {
            Ok(Err(e)) if e.unreachable => {
                r.healthy.store(false, Ordering::Relaxed);
                Some(Err(e))
            }
            Ok(answer) => Some(answer),
            Err(_) => {
                r.healthy.store(false, Ordering::Relaxed);
                None
            }
        }
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
        match self.on_replica(call, params).await {
            Some(Ok(res)) if primary_down || positive(&res) => return Ok(res),
            _ if primary_down => {
                return Err(CallError::unavailable(
                    "the primary is unreachable and no replica is usable",
                ))
            }
            _ => {}
        }
        match sql::call(primary, call, params).await {
            Err(e) if e.unreachable && !self.nodes.is_empty() => {
                tracing::warn!("primary unreachable: reads go to replicas that had caught up");
                self.mark_primary_down();
                match self.on_replica(call, params).await {
                    Some(Ok(res)) => Ok(res),
                    _ => Err(e),
                }
            }
            other => other,
        }
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
    fn a_replica_must_have_replayed_what_the_primary_had_written_max_lag_ago() {
        let samples: VecDeque<(u64, f64)> =
            [(0, 100.0), (500, 200.0), (1000, 300.0), (1500, 400.0)].into();
        // At 2000 ms with a 1 s bound: the primary's position at or before 1000 ms.
        assert_eq!(required_position(&samples, 2000, 1000), Some(300.0));
        assert!(usable(true, 300.0, Some(300.0)));
        assert!(usable(true, 350.0, Some(300.0)));
        assert!(!usable(true, 299.0, Some(300.0)));
        // No sample old enough yet (just started): nobody qualifies.
        assert_eq!(required_position(&samples, 500, 1000), None);
        assert!(!usable(true, 1e12, None));
        // Promoted (no longer following our primary): not used, however far it is.
        assert!(!usable(false, 1e12, Some(0.0)));
        // The primary gone: no new samples, so the bound stays its last known position.
        assert_eq!(required_position(&samples, 60_000, 1000), Some(400.0));
    }
}
