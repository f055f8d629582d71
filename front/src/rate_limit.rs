//! Per-IP token bucket (dynamic registration, user codes, failed client authentication):
//! `per_minute` events per minute with a burst of the same size. Memory is bounded: idle
//! buckets are dropped when the table grows.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

const MAX_TRACKED: usize = 10_000;

pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`; `Err(seconds)` until the next one when there is none.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        self.take(ip, now, 1.0)
    }

    /// Like `check`, without taking a token: for limits on outcomes (a failure is counted
    /// with `check` after it happened, and further attempts are refused while none is left).
    pub fn peek(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        self.take(ip, now, 0.0)
    }

    fn take(&self, ip: IpAddr, now: Instant, cost: f64) -> Result<(), u64> {
        let rate = self.per_minute / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let full = self.per_minute;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < full
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.per_minute, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= cost;
            Ok(())
        } else if rate > 0.0 {
            Err(((1.0 - *tokens) / rate).ceil() as u64)
        } else {
            Err(60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limits_per_ip_and_refills() {
        let rl = RateLimiter::new(2);
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(rl.check(a, t0).is_ok());
        assert!(rl.check(a, t0).is_ok());
        assert_eq!(rl.check(a, t0), Err(30));
        assert!(rl.check(b, t0).is_ok());
        assert!(rl.check(a, t0 + Duration::from_secs(31)).is_ok());
        assert!(RateLimiter::new(0).check(a, t0).is_err());
    }

    #[test]
    fn peek_does_not_take() {
        let rl = RateLimiter::new(1);
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(rl.peek(a, t0).is_ok());
        assert!(rl.peek(a, t0).is_ok());
        assert!(rl.check(a, t0).is_ok());
        assert_eq!(rl.peek(a, t0), Err(60));
    }
}
