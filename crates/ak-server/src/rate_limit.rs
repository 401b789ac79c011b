//! A token bucket of failed authentications per client address.
//!
//! Only failures take tokens; a client with an empty bucket gets 429 before any secret is
//! verified. IPv6 clients are grouped by /64, since one host usually holds a whole /64.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use crate::config::MAX_TRACKED_CLIENTS;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Failed-authentication buckets per client.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

impl RateLimiter {
    pub(crate) fn new(burst: u32, per_second: f64) -> Self {
        Self {
            burst: f64::from(burst),
            per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
    }

    /// `Err(seconds)` when `ip` has no failures left: the seconds until it has one again.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(ip, Instant::now())
    }

    pub(crate) fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(bucket) = buckets.get_mut(&client_key(ip)) else {
            return Ok(());
        };
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / self.per_second).ceil();
        // A finite, positive wait; the cast saturates.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Err((wait as u64).max(1))
    }

    /// Records one failed authentication by `ip`.
    pub(crate) fn fail(&self, ip: IpAddr) {
        self.fail_at(ip, Instant::now());
    }

    pub(crate) fn fail_at(&self, ip: IpAddr, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let key = client_key(ip);
        if !buckets.contains_key(&key) && buckets.len() >= MAX_TRACKED_CLIENTS {
            // Full buckets carry no information: drop them first.
            buckets.retain(|_, bucket| {
                let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
                bucket.tokens + elapsed * self.per_second < self.burst
            });
            if buckets.len() >= MAX_TRACKED_CLIENTS
                && let Some(victim) = buckets.keys().next().copied()
            {
                buckets.remove(&victim);
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        self.refill(bucket, now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(3, 0.5);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(ip, start).is_ok());
            limiter.fail_at(ip, start);
        }
        assert_eq!(limiter.check_at(ip, start), Err(2));
        assert!(limiter.check_at(other, start).is_ok());
        assert_eq!(limiter.check_at(ip, start + Duration::from_secs(1)), Err(1));
        assert!(limiter.check_at(ip, start + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let limiter = RateLimiter::new(1, 1.0);
        let now = Instant::now();
        limiter.fail_at("2001:db8::1".parse().unwrap(), now);
        assert!(limiter.check_at("2001:db8::ffff".parse().unwrap(), now).is_err());
        assert!(limiter.check_at("2001:db8:0:1::1".parse().unwrap(), now).is_ok());
        limiter.fail_at("::ffff:192.0.2.9".parse().unwrap(), now);
        assert!(limiter.check_at("192.0.2.9".parse().unwrap(), now).is_err());
    }

    #[test]
    fn tracked_clients_stay_bounded() {
        let limiter = RateLimiter::new(2, 1.0);
        let now = Instant::now();
        for n in 0..(u32::try_from(MAX_TRACKED_CLIENTS).unwrap() + 10) {
            limiter.fail_at(IpAddr::V4(n.into()), now);
        }
        assert!(limiter.buckets.lock().unwrap().len() <= MAX_TRACKED_CLIENTS);
    }
}
