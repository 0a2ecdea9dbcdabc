//! The per-user send rate limit (SPEC.md section 2): a token bucket of
//! [`MESSAGES_PER_SECOND`] per user, shared by every socket of the user and by the HTTP
//! fallback, so a client cannot multiply its rate by opening connections.
//!
//! On one node the buckets live in memory ([`RateLimiter`]). In cluster mode the send
//! bucket is shared ([`SendLimiter::Cluster`]): one atomic upsert in PostgreSQL per send,
//! so a user with sockets on several nodes still gets the rate in total. Should that store
//! fail, the node falls back to its in-memory bucket (logged): per-node limits are a
//! better failure than refusing every message or limiting nothing.
//!
//! [`RateLimiter`] is keyed by user by default; the sign-in limits key it by client
//! address and by username ([`crate::abuse`]).

use chat_wire::UserId;
use chat_wire::limits::MESSAGES_PER_SECOND;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a refused sender should wait before the next message can pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(Duration);

impl RetryAfter {
    pub const fn new(wait: Duration) -> RetryAfter {
        RetryAfter(wait)
    }

    /// Whole milliseconds, rounded up (never 0: "retry in 0 ms" would be refused again).
    pub fn millis(self) -> u64 {
        let ms = self.0.as_nanos().div_ceil(1_000_000);
        u64::try_from(ms).unwrap_or(u64::MAX).max(1)
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets per key (a user unless said otherwise). Cheap to share behind an `Arc`;
/// one short lock per check.
#[derive(Debug)]
pub struct RateLimiter<K = UserId> {
    /// Tokens added per second.
    rate: f64,
    /// The bucket size (the burst).
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// Above this many tracked keys, full buckets are dropped on the next check: a full
/// bucket is the same as no bucket, so this bounds memory without changing behaviour.
const PRUNE_ABOVE: usize = 10_000;

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(MESSAGES_PER_SECOND)
    }
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// `per_second` tokens per second, with a burst of as many.
    pub fn new(per_second: u32) -> RateLimiter<K> {
        Self::per_period(per_second, Duration::from_secs(1))
    }

    /// `count` tokens per `period`, refilled evenly, with a burst of `count`.
    pub fn per_period(count: u32, period: Duration) -> RateLimiter<K> {
        let burst = f64::from(count.max(1));
        RateLimiter {
            rate: burst / period.as_secs_f64().max(f64::MIN_POSITIVE),
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key` now, or says how long to wait.
    pub fn check(&self, key: K) -> Result<(), RetryAfter> {
        self.check_at(key, Instant::now())
    }

    /// [`Self::check`] at a given instant (tests drive the clock).
    pub fn check_at(&self, key: K, now: Instant) -> Result<(), RetryAfter> {
        // A poisoned lock only means another thread panicked mid-update of plain numbers:
        // the map is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (rate, burst) = (self.rate, self.burst);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - bucket.tokens;
            Err(RetryAfter(Duration::from_secs_f64(missing / rate)))
        }
    }
}

/// The send limiter: in memory on one node, shared through PostgreSQL in cluster mode.
#[derive(Debug)]
pub enum SendLimiter {
    Local(RateLimiter),
    Cluster {
        cluster: crate::cluster::Cluster,
        /// Used while the shared store does not answer.
        fallback: RateLimiter,
    },
}

impl SendLimiter {
    /// The shared bucket of a cluster.
    pub fn cluster(cluster: crate::cluster::Cluster) -> SendLimiter {
        SendLimiter::Cluster {
            cluster,
            fallback: RateLimiter::default(),
        }
    }

    /// Takes a send token for `user`, or says how long to wait.
    pub async fn check(&self, user: UserId) -> Result<(), RetryAfter> {
        match self {
            SendLimiter::Local(limiter) => limiter.check(user),
            SendLimiter::Cluster { cluster, fallback } => {
                match cluster
                    .take_token(user, f64::from(MESSAGES_PER_SECOND))
                    .await
                {
                    Ok(taken) => taken.map_err(RetryAfter),
                    Err(e) => {
                        tracing::warn!(%user, error = %e, "shared rate limit unavailable: using this node's bucket");
                        fallback.check(user)
                    }
                }
            }
        }
    }
}

impl Default for SendLimiter {
    fn default() -> Self {
        SendLimiter::Local(RateLimiter::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_rate_passes_and_the_next_waits() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(limiter.check_at(UserId(1), t0), Ok(()));
        }
        let refused = limiter.check_at(UserId(1), t0).unwrap_err();
        assert_eq!(refused.millis(), 100);
        // Another user has a bucket of their own.
        assert_eq!(limiter.check_at(UserId(2), t0), Ok(()));
    }

    #[test]
    fn tokens_come_back_at_the_rate() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        for _ in 0..10 {
            limiter.check_at(UserId(1), t0).unwrap();
        }
        let later = t0 + Duration::from_millis(100);
        assert_eq!(limiter.check_at(UserId(1), later), Ok(()));
        assert!(limiter.check_at(UserId(1), later).is_err());
        // A long pause refills the bucket only up to the burst.
        let much_later = t0 + Duration::from_secs(60);
        for _ in 0..10 {
            limiter.check_at(UserId(1), much_later).unwrap();
        }
        assert!(limiter.check_at(UserId(1), much_later).is_err());
    }

    #[test]
    fn a_bucket_per_period_refills_over_the_period() {
        let limiter: RateLimiter<&str> = RateLimiter::per_period(60, Duration::from_secs(3600));
        let t0 = Instant::now();
        for _ in 0..60 {
            limiter.check_at("alice", t0).unwrap();
        }
        // One token a minute comes back.
        assert_eq!(limiter.check_at("alice", t0).unwrap_err().millis(), 60_000);
        assert!(
            limiter
                .check_at("alice", t0 + Duration::from_secs(60))
                .is_ok()
        );
        assert!(limiter.check_at("bob", t0).is_ok());
    }

    #[test]
    fn retry_after_is_never_zero() {
        assert_eq!(RetryAfter(Duration::from_nanos(1)).millis(), 1);
        assert_eq!(RetryAfter(Duration::ZERO).millis(), 1);
    }
}
