//! Admission control for new connection attempts across all sessions of one driver.
//!
//! This is not reconnection policy: each session still decides when it wants to connect (its
//! backoff, jitter, circuit breaker). The bucket only spreads the attempts of many sessions
//! that want to connect at the same moment (after a server restart, say) so that the driver does
//! not open thousands of sockets and TLS handshakes in one loop iteration. An attempt that finds
//! the bucket empty waits in a FIFO until a token frees up; the session's connect timeout keeps
//! running meanwhile, so a long wait ends as an ordinary connect timeout.

use std::time::{Duration, Instant};

/// A token bucket in GCRA form: `rate` attempts per second on average, up to `burst` at once.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    interval: Duration,
    tolerance: Duration,
    /// The theoretical arrival time of the next attempt.
    tat: Option<Instant>,
}

impl Bucket {
    /// `rate` attempts per second (at least 1), `burst` at once (at least 1).
    pub(crate) fn new(rate: u32, burst: u32) -> Self {
        let interval = Duration::from_secs(1) / rate.max(1);
        Bucket {
            interval,
            tolerance: interval * (burst.max(1) - 1),
            tat: None,
        }
    }

    /// Takes a token if one is available at `now`.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let tat = self.tat.map_or(now, |t| t.max(now));
        if tat.saturating_duration_since(now) > self.tolerance {
            return false;
        }
        self.tat = Some(tat + self.interval);
        true
    }

    /// When the next token becomes available (at or before `now` if one is available now).
    pub(crate) fn next_token_at(&self, now: Instant) -> Instant {
        match self.tat {
            Some(tat) => tat.checked_sub(self.tolerance).unwrap_or(now),
            None => now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10, 3);
        assert!(b.try_take(t0));
        assert!(b.try_take(t0));
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0), "the burst is spent");
        let next = b.next_token_at(t0);
        assert_eq!(next, t0 + Duration::from_millis(100));
        assert!(!b.try_take(next - Duration::from_millis(1)));
        assert!(b.try_take(next));
        assert!(!b.try_take(next));
    }

    #[test]
    fn an_idle_bucket_refills_to_the_burst_only() {
        let t0 = Instant::now();
        let mut b = Bucket::new(100, 2);
        assert!(b.try_take(t0));
        let later = t0 + Duration::from_secs(10);
        assert!(b.try_take(later));
        assert!(b.try_take(later));
        assert!(!b.try_take(later));
    }
}
