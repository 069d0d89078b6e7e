//! Rate limits for the `/api/v1` endpoints: a token bucket per key (an API key's id, a caller's
//! address), held in this process (each node of a multi-node installation limits on its own).
//! A limiter keyed by something callers choose is bounded: when it holds too many buckets, the
//! ones that have refilled (and so say nothing a new bucket would not) are dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimiter<K = i32> {
    per_second: f64,
    burst: f64,
    /// At most this many buckets (0: no bound).
    max_keys: usize,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: std::hash::Hash + Eq> RateLimiter<K> {
    pub fn new(per_second: u32, burst: u32) -> RateLimiter<K> {
        Self::bounded(per_second, burst, 0)
    }

    /// A limiter that holds at most `max_keys` buckets.
    pub fn bounded(per_second: u32, burst: u32, max_keys: usize) -> RateLimiter<K> {
        RateLimiter {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            max_keys,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` has a token now, without taking it.
    pub fn peek(&self, key: K) -> Result<(), Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Some(bucket) = buckets.get(&key) else {
            return Ok(());
        };
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }

    /// Takes one token for `key`; when there is none, how long until there is.
    pub fn check(&self, key: K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if self.max_keys > 0 && buckets.len() >= self.max_keys && !buckets.contains_key(&key) {
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
                b.tokens + elapsed * per_second < burst
            });
            if buckets.len() >= self.max_keys {
                // Every bucket is in use (a flood from that many addresses): start afresh
                // rather than grow.
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(2, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(7, t0).is_ok());
        }
        let wait = limiter.check_at(7, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        // Another key has its own bucket.
        assert!(limiter.check_at(8, t0).is_ok());
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(limiter.check_at(7, t1).is_ok());
        assert!(limiter.check_at(7, t1).is_err());
    }

    #[test]
    fn bounded_limiters_drop_refilled_buckets_first() {
        let limiter = RateLimiter::bounded(1, 2, 3);
        let t0 = Instant::now();
        limiter.check_at(1, t0).unwrap();
        limiter.check_at(1, t0).unwrap();
        limiter.check_at(2, t0).unwrap();
        limiter.check_at(3, t0).unwrap();
        // Three seconds later 2 and 3 have refilled; 1 was drained and refilled too, so a
        // fourth key makes room by dropping them all.
        let t1 = t0 + Duration::from_secs(3);
        limiter.check_at(4, t1).unwrap();
        assert!(limiter.buckets.lock().unwrap().len() <= 3);
        // A drained bucket is kept while the map has room.
        limiter.check_at(4, t1).unwrap();
        assert!(limiter.peek(4).is_err());
        assert!(limiter.peek(5).is_ok());
    }
}
