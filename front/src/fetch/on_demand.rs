//! Refreshes that requests trigger (a session naming an unknown key, a sign-in provider whose
//! metadata or keys are missing), at most one per key per interval, so that requests with
//! made-up key ids cannot turn the front into a request amplifier against someone else's
//! server. Concurrent requests for one key wait for one refresh and share its outcome, and a
//! failed refresh's cause is kept for the interval, so that every request in it can say why.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The last refresh of one key: when it finished, and how.
struct Last<E> {
    finished: Option<Instant>,
    outcome: Result<(), E>,
}

/// What a request that found something missing may do next.
#[derive(Debug, PartialEq)]
pub enum Refreshed<E> {
    /// A refresh succeeded after the request looked: retrying it may succeed.
    Retry,
    /// The last refresh succeeded before the request looked, within the interval: nothing
    /// new to try until it ends.
    NotNow,
    /// The last refresh (this request's, or one within the interval) failed, with its cause;
    /// the next may run in `retry_in`.
    Failed { cause: E, retry_in: Duration },
}

pub struct OnDemand<E> {
    interval: Duration,
    // One async lock per key: waiters queue behind the refresh in progress.
    last: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Last<E>>>>>,
}

impl<E: Clone> OnDemand<E> {
    pub fn new(interval: Duration) -> OnDemand<E> {
        OnDemand {
            interval,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `refresh` for `key` unless one ran less than the interval ago. `since` is the
    /// moment the caller saw what was missing: a refresh that finished after it (this call's,
    /// or a concurrent one) is `Retry`.
    pub async fn refresh<F, Fut>(&self, key: &str, since: Instant, refresh: F) -> Refreshed<E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let slot = self
            .last
            .lock()
            .map(|mut m| {
                m.entry(key.to_string())
                    .or_insert_with(|| {
                        Arc::new(tokio::sync::Mutex::new(Last {
                            finished: None,
                            outcome: Ok(()),
                        }))
                    })
                    .clone()
            })
            .ok();
        let Some(slot) = slot else {
            return Refreshed::NotNow;
        };
        let mut last = slot.lock().await;
        if let Some(finished) = last.finished {
            let age = finished.elapsed();
            if finished >= since || age < self.interval {
                return match &last.outcome {
                    Ok(()) if finished >= since => Refreshed::Retry,
                    Ok(()) => Refreshed::NotNow,
                    Err(cause) => Refreshed::Failed {
                        cause: cause.clone(),
                        retry_in: self.interval.saturating_sub(age),
                    },
                };
            }
        }
        let outcome = refresh().await;
        *last = Last {
            finished: Some(Instant::now()),
            outcome: outcome.clone(),
        };
        match outcome {
            Ok(()) => Refreshed::Retry,
            Err(cause) => Refreshed::Failed {
                cause,
                retry_in: self.interval,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_refresh_per_key_per_interval() {
        let od = OnDemand::<()>::new(Duration::from_secs(60));
        let runs = AtomicUsize::new(0);
        let run = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        let before = Instant::now();
        assert_eq!(od.refresh("a", before, run).await, Refreshed::Retry);
        // A request that saw the gap before that refresh finished may retry without a fetch.
        assert_eq!(od.refresh("a", before, run).await, Refreshed::Retry);
        // One that saw it afterwards gets nothing within the interval.
        assert_eq!(
            od.refresh("a", Instant::now(), run).await,
            Refreshed::NotNow
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Keys are independent.
        assert_eq!(od.refresh("b", Instant::now(), run).await, Refreshed::Retry);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_is_not_retried_within_the_interval_and_keeps_its_cause() {
        let od = OnDemand::new(Duration::from_secs(60));
        let failed = od
            .refresh("a", Instant::now(), || async { Err("refused") })
            .await;
        assert_eq!(
            failed,
            Refreshed::Failed {
                cause: "refused",
                retry_in: Duration::from_secs(60)
            }
        );
        // Within the interval: no refresh, the same cause, and less to wait.
        let again = od.refresh("a", Instant::now(), || async { Ok(()) }).await;
        let Refreshed::Failed { cause, retry_in } = again else {
            panic!("{again:?}");
        };
        assert_eq!(cause, "refused");
        assert!(retry_in <= Duration::from_secs(60) && retry_in > Duration::from_secs(50));
        let od = OnDemand::new(Duration::ZERO);
        assert!(matches!(
            od.refresh("a", Instant::now(), || async { Err("x") }).await,
            Refreshed::Failed { .. }
        ));
        assert_eq!(
            od.refresh("a", Instant::now(), || async { Ok(()) }).await,
            Refreshed::Retry
        );
    }
}
