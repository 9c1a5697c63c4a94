//! When to try a step again, and how long to wait first.
//!
//! Only two failures are worth repeating unchanged: a lock that was not granted within the
//! step's `lock_timeout` (SQLSTATE 55P03) and a deadlock (40P01). Both mean "someone else held
//! what the step needed", and both leave nothing behind in a transactional step. Everything
//! else (a statement timeout, a constraint violation, a missing object) would fail the same
//! way again and stops the apply.
//!
//! Waits grow exponentially from `initial_backoff`, are capped at `max_backoff`, and are
//! jittered (each is drawn from the upper half of its range) so that two retrying clients do
//! not keep colliding. The total time a step may spend failing and waiting is `budget`.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// SQLSTATE of `lock_timeout` expiring (lock_not_available).
pub const LOCK_NOT_AVAILABLE: &str = "55P03";
/// SQLSTATE of a deadlock (deadlock_detected).
pub const DEADLOCK_DETECTED: &str = "40P01";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total time one step may spend in failed attempts and waits before it is given up.
    pub budget: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            budget: Duration::from_secs(300),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Whether a failed step may be tried again as it is.
pub fn is_retryable(e: &tokio_postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| c.code() == LOCK_NOT_AVAILABLE || c.code() == DEADLOCK_DETECTED)
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (`attempt` >= 1 attempts have failed).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let cap = exp.min(self.max_backoff);
        // Jitter in [cap/2, cap]: random enough to separate clients, never a zero wait.
        let half = cap / 2;
        let span = (cap - half).as_millis() as u64;
        let extra = if span == 0 { 0 } else { random() % (span + 1) };
        half + Duration::from_millis(extra)
    }
}

/// A random number from the standard library's per-process random hasher keys: jitter needs no
/// cryptographic quality and no extra dependency.
fn random() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered_within_bounds() {
        let p = RetryPolicy {
            budget: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1_000),
        };
        for attempt in 1..40 {
            let full = Duration::from_millis(100)
                .saturating_mul(2u32.saturating_pow((attempt - 1).min(20)))
                .min(Duration::from_millis(1_000));
            let b = p.backoff(attempt);
            assert!(b >= full / 2 && b <= full, "attempt {attempt}: {b:?}");
        }
        let waits: std::collections::HashSet<_> = (0..50).map(|_| p.backoff(10)).collect();
        assert!(waits.len() > 1, "jitter varies the wait");
    }
}
