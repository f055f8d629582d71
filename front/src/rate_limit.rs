//! Token buckets keyed by client address (dynamic registration, user codes, client metadata
//! document fetches) or by (client_id, address) (failed client authentication):
//! `per_minute` events per minute with a burst of the same size. Memory is bounded: idle
//! buckets are dropped when the table grows, and past that the table is thinned.
//!
//! Addresses are bucketed by [`AddrKey`]: an IPv4 address is itself, an IPv6 address is its
//! /64 (the smallest block a site is given, RFC 6177; one host can use all of it).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Instant;

const MAX_TRACKED: usize = 10_000;

/// What a per-address limit counts: one IPv4 address, or one IPv6 /64. IPv4-mapped IPv6
/// addresses (`::ffff:a.b.c.d`, a dual-stack socket's view of an IPv4 peer) are the IPv4
/// address, so that one client has one bucket whichever way it arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrKey(IpAddr);

impl AddrKey {
    pub fn of(ip: IpAddr) -> AddrKey {
        match ip {
            IpAddr::V4(_) => AddrKey(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrKey(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    AddrKey(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }
}

pub struct RateLimiter<K = AddrKey> {
    per_minute: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(seconds)` until the next one when there is none.
    pub fn check(&self, key: K, now: Instant) -> Result<(), u64> {
        self.take(key, now, 1.0)
    }

    /// Like `check`, without taking a token: for limits on outcomes (a failure is counted
    /// with `check` after it happened).
    pub fn peek(&self, key: K, now: Instant) -> Result<(), u64> {
        self.take(key, now, 0.0)
    }

    /// Seconds between two tokens (at least 1).
    pub fn interval_secs(&self) -> u64 {
        if self.per_minute > 0.0 {
            (60.0 / self.per_minute).ceil().max(1.0) as u64
        } else {
            60
        }
    }

    fn take(&self, key: K, now: Instant, cost: f64) -> Result<(), u64> {
        let rate = self.per_minute / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let full = self.per_minute;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < full
            });
            // Still full of busy buckets (someone spraying keys): forget a quarter of them
            // rather than growing without bound or scanning the table on every request.
            if buckets.len() >= MAX_TRACKED {
                let drop: Vec<K> = buckets.keys().take(MAX_TRACKED / 4).cloned().collect();
                for k in drop {
                    buckets.remove(&k);
                }
            }
        }
        let (tokens, at) = buckets.entry(key).or_insert((self.per_minute, now));
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

/// The budget of failed client authentications of one client from one address: who guesses
/// one client's secret does not lock out other clients, nor that client elsewhere.
///
/// A correct secret always gets through: every attempt is checked in the database, and only a
/// failure is refused (429) once the budget is spent. So that the check does not become a
/// fast oracle past the budget, a spent key is checked one attempt at a time, and each
/// failure holds its answer for the bucket's refill interval (at most 5 s) before the 429:
/// guessing continues at most at the refill rate. Attempts arriving while one is held are
/// refused unchecked.
pub struct FailureBudget {
    failures: RateLimiter<(String, AddrKey)>,
    probing: Mutex<std::collections::HashSet<(String, AddrKey)>>,
}

/// Held while a spent key's attempt is being checked and answered.
pub struct Probe<'a> {
    budget: &'a FailureBudget,
    key: (String, AddrKey),
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        let mut p = self
            .budget
            .probing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        p.remove(&self.key);
    }
}

/// What to do with an attempt before checking it.
pub enum Admission<'a> {
    /// The budget is not spent: check it and answer as the database does.
    Open,
    /// Spent: check it; a failure is held for `hold` and answered 429 with `wait`.
    Probe {
        probe: Probe<'a>,
        hold: std::time::Duration,
        wait: u64,
    },
    /// Spent, and another attempt of this key is being checked: 429 unchecked.
    Refuse { wait: u64 },
}

/// Longest time a failed attempt past the budget is held before its 429.
const MAX_HOLD_SECS: u64 = 5;
/// Client ids longer than this are keyed by their first bytes (no real id is that long).
const MAX_KEYED_ID: usize = 256;

impl FailureBudget {
    pub fn new(per_minute: u32) -> Self {
        FailureBudget {
            failures: RateLimiter::new(per_minute),
            probing: Mutex::new(Default::default()),
        }
    }

    fn key(client_id: &str, addr: AddrKey) -> (String, AddrKey) {
        let mut end = client_id.len().min(MAX_KEYED_ID);
        while !client_id.is_char_boundary(end) {
            end -= 1;
        }
        (client_id[..end].to_string(), addr)
    }

    pub fn admit(&self, client_id: &str, addr: AddrKey, now: Instant) -> Admission<'_> {
        let key = Self::key(client_id, addr);
        let Err(wait) = self.failures.peek(key.clone(), now) else {
            return Admission::Open;
        };
        let mut probing = self.probing.lock().unwrap_or_else(|e| e.into_inner());
        if !probing.insert(key.clone()) {
            return Admission::Refuse { wait };
        }
        drop(probing);
        Admission::Probe {
            probe: Probe { budget: self, key },
            hold: std::time::Duration::from_secs(self.failures.interval_secs().min(MAX_HOLD_SECS)),
            wait,
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, client_id: &str, addr: AddrKey, now: Instant) {
        let _ = self.failures.check(Self::key(client_id, addr), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key(s: &str) -> AddrKey {
        AddrKey::of(s.parse().unwrap())
    }

    #[test]
    fn limits_per_ip_and_refills() {
        let rl = RateLimiter::new(2);
        let t0 = Instant::now();
        let a = key("10.0.0.1");
        let b = key("10.0.0.2");
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
        let a = key("10.0.0.1");
        assert!(rl.peek(a, t0).is_ok());
        assert!(rl.peek(a, t0).is_ok());
        assert!(rl.check(a, t0).is_ok());
        assert_eq!(rl.peek(a, t0), Err(60));
    }

    #[test]
    fn one_ipv6_64_cannot_escape_by_changing_its_interface_id() {
        let rl = RateLimiter::new(2);
        let t0 = Instant::now();
        assert!(rl.check(key("2001:db8:1:2::1"), t0).is_ok());
        assert!(rl
            .check(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), t0)
            .is_ok());
        assert!(rl.check(key("2001:db8:1:2:dead:beef::7"), t0).is_err());
        // The neighbouring /64 is another site.
        assert!(rl.check(key("2001:db8:1:3::1"), t0).is_ok());
    }

    #[test]
    fn an_ipv4_client_is_one_bucket_however_it_arrives() {
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
    }

    #[test]
    fn a_guesser_of_one_client_locks_out_neither_other_clients_nor_other_addresses() {
        let b = FailureBudget::new(2);
        let t0 = Instant::now();
        let guesser = key("198.51.100.7");
        b.failed("victim", guesser, t0);
        b.failed("victim", guesser, t0);
        assert!(matches!(
            b.admit("victim", guesser, t0),
            Admission::Probe { .. }
        ));
        assert!(matches!(b.admit("other", guesser, t0), Admission::Open));
        assert!(matches!(
            b.admit("victim", key("203.0.113.9"), t0),
            Admission::Open
        ));
    }

    #[test]
    fn past_the_budget_attempts_are_checked_one_at_a_time() {
        let b = FailureBudget::new(2);
        let t0 = Instant::now();
        let a = key("198.51.100.7");
        b.failed("c", a, t0);
        b.failed("c", a, t0);
        let first = b.admit("c", a, t0);
        let Admission::Probe { hold, wait, .. } = &first else {
            panic!("a spent budget still checks one attempt")
        };
        assert_eq!(hold.as_secs(), 5, "30 s between tokens, held at most 5 s");
        assert_eq!(*wait, 30);
        assert!(matches!(
            b.admit("c", a, t0),
            Admission::Refuse { wait: 30 }
        ));
        drop(first);
        assert!(matches!(b.admit("c", a, t0), Admission::Probe { .. }));
        assert!(matches!(
            b.admit("c", a, t0 + Duration::from_secs(31)),
            Admission::Open
        ));
    }

    #[test]
    fn spraying_keys_keeps_the_table_bounded() {
        let rl: RateLimiter<u32> = RateLimiter::new(5);
        let t0 = Instant::now();
        for i in 0..(3 * MAX_TRACKED as u32) {
            let _ = rl.check(i, t0);
        }
        assert!(rl.buckets.lock().unwrap().len() <= MAX_TRACKED);
    }
}
