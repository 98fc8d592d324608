//! Calls per caller: each authenticated caller (person or service) gets a
//! sustained rate and a burst, across every RPC (GCRA). Over it, a call is
//! `RESOURCE_EXHAUSTED` with `google.rpc.RetryInfo` saying when to try again.
//!
//! Counted twice. Each process counts its own calls first (`governor`), so
//! a flood is turned away without a database round trip; a call it accepts
//! is then counted in the service's schema (`take_call`, migration
//! `0006_caller_rates.sql`), shared by every replica serving from it, so a
//! caller gets the limit once however many replicas it reaches. The shared
//! count is kept once storage is ready ([`CallerLimits::shared`]); in
//! all-in-one mode it is in the first served component's schema, and covers
//! every RPC of the process, as the local count does.
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
use sqlx::PgPool;

/// Forget idle callers after this many checks, so the tables stay bounded.
const PRUNE_EVERY: u64 = 10_000;

/// The per-caller limiter of one process, and the shared count when set.
pub struct CallerLimits {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    checks: AtomicU64,
    /// Seconds between calls at the sustained rate.
    emission_secs: f64,
    burst: i32,
    shared: Option<PgPool>,
}

/// Why a call was not counted.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("over the rate limit; retry after {0:?}")]
    Over(Duration),
    #[error("cannot count the call: {0}")]
    Store(#[from] sqlx::Error),
}

impl CallerLimits {
    /// `per_minute` calls sustained, `burst` at once, counted in this
    /// process only until [`Self::shared`].
    pub fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
            emission_secs: 60.0 / f64::from(per_minute.get()),
            // Bursts beyond i32 are not limits; saturate rather than wrap.
            burst: i32::try_from(burst.get()).unwrap_or(i32::MAX),
            shared: None,
        }
    }

    /// Also counts every call in `pool`'s schema (migrated with
    /// `crate::MIGRATOR`), shared with every process that counts there.
    #[must_use]
    pub fn shared(mut self, pool: PgPool) -> Self {
        self.shared = Some(pool);
        self
    }

    /// Counts a call by `caller`.
    ///
    /// # Errors
    /// `Over` with how long the caller must wait before its next call is
    /// accepted; `Store` when the shared count cannot be read (the call is
    /// refused: a service that cannot reach its database cannot serve it).
    pub async fn check(&self, caller: &str) -> Result<(), LimitError> {
        let prune = self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1;
        if prune {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&caller.to_owned())
            .map_err(|not_until| LimitError::Over(not_until.wait_time_from(self.clock.now())))?;
        let Some(pool) = &self.shared else {
            return Ok(());
        };
        if prune {
            // A row whose arrival time has passed counts as no row at all.
            sqlx::query("DELETE FROM caller_rates WHERE tat < clock_timestamp()")
                .execute(pool)
                .await?;
        }
        let wait_micros: i64 = sqlx::query_scalar(
            "SELECT ceil(extract(epoch FROM take_call($1, make_interval(secs => $2), $3)) * 1000000)::bigint",
        )
        .bind(caller)
        .bind(self.emission_secs)
        .bind(self.burst)
        .fetch_one(pool)
        .await?;
        // `take_call` returns zero when it counted the call, else the wait.
        if wait_micros > 0 {
            Err(LimitError::Over(Duration::from_micros(
                wait_micros.unsigned_abs(),
            )))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_then_refusal_for_that_caller_only() {
        let limits = CallerLimits::new(
            NonZeroU32::new(60).expect("nonzero"),
            NonZeroU32::new(3).expect("nonzero"),
        );
        for _ in 0..3 {
            assert!(limits.check("E1/person/a").await.is_ok());
        }
        let Err(LimitError::Over(wait)) = limits.check("E1/person/a").await else {
            panic!("over the burst");
        };
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another caller is unaffected.
        assert!(limits.check("E1/person/b").await.is_ok());
    }
}
