//! Calls per caller: each authenticated caller (person or service) gets a
//! sustained rate and a burst, across every RPC of the process (GCRA,
//! `governor`). Over it, a call is `RESOURCE_EXHAUSTED` with
//! `google.rpc.RetryInfo` saying when to try again.
//!
//! Applied in [`crate::access::Access::identify`], after the caller is
//! authenticated: a layer in front of authentication could only key on an
//! unverified token, which a flooder would vary at will. Unauthenticated
//! floods meet the connection and stream limits instead.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Forget idle callers after this many checks, so the table stays bounded.
const PRUNE_EVERY: u64 = 10_000;

/// The per-caller limiter of one process.
pub struct CallerLimits {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl CallerLimits {
    /// `per_minute` calls sustained, `burst` at once.
    pub fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts a call by `caller`.
    ///
    /// # Errors
    /// How long the caller must wait before its next call is accepted.
    pub fn check(&self, caller: &str) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&caller.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusal_for_that_caller_only() {
        let limits = CallerLimits::new(
            NonZeroU32::new(60).expect("nonzero"),
            NonZeroU32::new(3).expect("nonzero"),
        );
        for _ in 0..3 {
            assert!(limits.check("E1/person/a").is_ok());
        }
        let wait = limits.check("E1/person/a").expect_err("over the burst");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another caller is unaffected.
        assert!(limits.check("E1/person/b").is_ok());
    }
}
