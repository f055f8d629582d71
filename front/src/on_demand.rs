//! Refreshes that requests trigger (a session naming an unknown key, a sign-in provider whose
//! metadata or keys are missing), at most one per key per interval, so that requests with
//! made-up key ids cannot turn the front into a request amplifier against someone else's
//! server. Concurrent requests for one key wait for one refresh and share its outcome.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The outcome of the last refresh of one key.
#[derive(Default)]
struct Last {
    finished: Option<Instant>,
    ok: bool,
}

pub struct OnDemand {
    interval: Duration,
    // One async lock per key: waiters queue behind the refresh in progress.
    last: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Last>>>>,
}

impl OnDemand {
    pub fn new(interval: Duration) -> OnDemand {
        OnDemand {
            interval,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `refresh` for `key` unless one ran less than the interval ago. Returns whether a
    /// refresh succeeded after `since` (the moment the caller saw what was missing), so that
    /// retrying may succeed: this call's, or a concurrent one that finished after `since`.
    pub async fn refresh<F, Fut>(&self, key: &str, since: Instant, refresh: F) -> bool
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = bool>,
    {
        let slot = self
            .last
            .lock()
            .map(|mut m| m.entry(key.to_string()).or_default().clone())
            .ok();
        let Some(slot) = slot else { return false };
        let mut last = slot.lock().await;
        if let Some(finished) = last.finished {
            if finished >= since {
                return last.ok;
            }
            if finished.elapsed() < self.interval {
                return false;
            }
        }
        let ok = refresh().await;
        *last = Last {
            finished: Some(Instant::now()),
            ok,
        };
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_refresh_per_key_per_interval() {
        let od = OnDemand::new(Duration::from_secs(60));
        let runs = AtomicUsize::new(0);
        let run = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            true
        };
        let before = Instant::now();
        assert!(od.refresh("a", before, run).await);
        // A request that saw the gap before that refresh finished may retry without a fetch.
        assert!(od.refresh("a", before, run).await);
        // One that saw it afterwards gets nothing within the interval.
        assert!(!od.refresh("a", Instant::now(), run).await);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Keys are independent.
        assert!(od.refresh("b", Instant::now(), run).await);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_is_not_retried_within_the_interval() {
        let od = OnDemand::new(Duration::from_secs(60));
        assert!(!od.refresh("a", Instant::now(), || async { false }).await);
        assert!(!od.refresh("a", Instant::now(), || async { true }).await);
        let od = OnDemand::new(Duration::ZERO);
        assert!(!od.refresh("a", Instant::now(), || async { false }).await);
        assert!(od.refresh("a", Instant::now(), || async { true }).await);
    }
}
