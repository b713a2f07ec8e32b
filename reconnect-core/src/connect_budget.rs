//! A budget of new connection attempts shared by many sessions: admission control, not policy.
//!
//! Each session still decides when it wants to connect (its backoff, jitter, circuit breaker).
//! The budget only spreads the attempts of many sessions that want to connect at the same moment
//! (after a server restart, say) so that a fleet does not open thousands of sockets and TLS
//! handshakes at once. A driver asks it before dialing; what an attempt does while it waits is
//! the driver's business (the session's connect timeout keeps running meanwhile, so a long wait
//! ends as an ordinary connect timeout).
//!
//! Like the session it is pure: it reads no clock, every method takes `now`.

use std::time::{Duration, Instant};

/// A token bucket in GCRA form (generic cell rate algorithm): on average `per_second` attempts
/// a second, up to `burst` back to back after a quiet period.
///
/// Over any stretch of time `T`, at most `burst + per_second * T` attempts are granted (rounded
/// down), and a budget left idle refills to `burst` tokens, never more.
///
/// Two ways to use it, not to be mixed on one budget:
///
/// - [`try_take`](Self::try_take) / [`next_token_at`](Self::next_token_at): ask, and when
///   refused, keep the attempt in your own queue and ask again at `next_token_at` (a
///   single-threaded driver with a FIFO);
/// - [`reserve`](Self::reserve): book the next free instant and wait until it (many tasks
///   sharing one budget behind a lock: each waits on its own timer, in booking order). A booked
///   instant is spent even if the attempt is abandoned before it.
///
/// ```
/// use std::time::{Duration, Instant};
/// use reconnect_core::ConnectBudget;
///
/// let t0 = Instant::now(); // the driver's clock reading; the budget reads none
/// // 10 attempts a second (one every 100 ms), 3 at once.
/// let mut budget = ConnectBudget::new(10, 3);
/// assert!(budget.try_take(t0));
/// assert!(budget.try_take(t0));
/// assert!(budget.try_take(t0));
/// assert!(!budget.try_take(t0)); // the burst is spent
/// assert_eq!(budget.next_token_at(t0), t0 + Duration::from_millis(100));
/// assert!(budget.try_take(t0 + Duration::from_millis(100)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectBudget {
    /// The time one token takes to come back: a second over the rate.
    interval: Duration,
    /// How far ahead of `now` the theoretical arrival time may run: `burst - 1` intervals.
    tolerance: Duration,
    /// The theoretical arrival time of the next attempt; `None` before the first.
    tat: Option<Instant>,
}

impl Default for ConnectBudget {
    /// 1,000 attempts a second, 100 at once: the default of every binding. A fleet's restart
    /// storm is spread over seconds, while a handful of sessions never notice it.
    fn default() -> Self {
        ConnectBudget::new(1_000, 100)
    }
}

impl ConnectBudget {
    /// A full budget of `per_second` attempts a second on average (at least 1) and `burst` at
    /// once (at least 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        let interval = Duration::from_secs(1) / per_second.max(1);
        ConnectBudget {
            interval,
            tolerance: interval * (burst.max(1) - 1),
            tat: None,
        }
    }

    /// A full bucket whose tokens come back one every `interval` (at least a nanosecond), up
    /// to `burst` at once (at least 1): the outbound send rate's bucket, whose period is not
    /// always a second.
    pub(crate) fn with_interval(interval: Duration, burst: u32) -> Self {
        let interval = interval.max(Duration::from_nanos(1));
        ConnectBudget {
            interval,
            tolerance: interval * (burst.max(1) - 1),
            tat: None,
        }
    }

    /// The time one token takes to come back (a second divided by the rate).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Takes a token if one is available at `now`; returns whether it did.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let tat = self.tat.map_or(now, |t| t.max(now));
        if tat.saturating_duration_since(now) > self.tolerance {
            return false;
        }
        self.tat = Some(tat + self.interval);
        true
    }

    /// When the next token becomes available: at or before `now` if one is available now.
    pub fn next_token_at(&self, now: Instant) -> Instant {
        match self.tat {
            Some(tat) => tat.checked_sub(self.tolerance).unwrap_or(now),
            None => now,
        }
    }

    /// Books the next token: returns the instant it is available at (`now` if one is available
    /// now, else later), and counts it as taken. The caller must not dial before that instant.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        let at = self.next_token_at(now).max(now);
        let taken = self.try_take(at);
        debug_assert!(taken, "a token is available at next_token_at");
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn allows_a_burst_then_one_token_per_interval() {
        let t0 = Instant::now();
        // 10 a second: a token every 100 ms; 3 at once.
        let mut budget = ConnectBudget::new(10, 3);
        assert_eq!(budget.interval(), 100 * MS);
        assert!(budget.try_take(t0));
        assert!(budget.try_take(t0));
        assert!(budget.try_take(t0));
        assert!(!budget.try_take(t0), "the burst is spent");
        // Three taken at t0: the first comes back at t0 + 100 ms.
        assert_eq!(budget.next_token_at(t0), t0 + 100 * MS);
        assert!(!budget.try_take(t0 + 99 * MS));
        assert!(budget.try_take(t0 + 100 * MS));
        assert!(!budget.try_take(t0 + 100 * MS));
        assert_eq!(budget.next_token_at(t0 + 100 * MS), t0 + 200 * MS);
    }

    #[test]
    fn an_idle_budget_refills_to_the_burst_only() {
        let t0 = Instant::now();
        let mut budget = ConnectBudget::new(100, 2);
        assert!(budget.try_take(t0));
        let later = t0 + Duration::from_secs(10);
        assert!(budget.try_take(later));
        assert!(budget.try_take(later));
        assert!(
            !budget.try_take(later),
            "ten idle seconds refill two tokens, not more"
        );
    }

    #[test]
    fn grants_the_burst_plus_the_rate_over_a_second_of_constant_asking() {
        // 50 a second (one per 20 ms), bursts of 5; asked every millisecond for t = 0..=999 ms.
        // By hand: t = 0, 1, 2, 3, 4 take the burst (the arrival time runs 20 ms ahead per
        // token: 20, 40, 60, 80, 100 ms, each at most 80 ms ahead of t); then a token whenever
        // the arrival time is within 80 ms: t = 20, 40, …, 980, which is 49 more. 54 in all.
        let t0 = Instant::now();
        let mut budget = ConnectBudget::new(50, 5);
        let granted: Vec<u64> = (0..1000u64)
            .filter(|&ms| budget.try_take(t0 + Duration::from_millis(ms)))
            .collect();
        assert_eq!(&granted[..6], &[0, 1, 2, 3, 4, 20]);
        assert_eq!(granted.len(), 54);
        assert_eq!(granted.last(), Some(&980));
    }

    #[test]
    fn reserve_books_instants_in_order_at_the_rate() {
        let t0 = Instant::now();
        // 10 a second, 2 at once: two now, then one every 100 ms.
        let mut budget = ConnectBudget::new(10, 2);
        let booked: Vec<Instant> = (0..5).map(|_| budget.reserve(t0)).collect();
        assert_eq!(
            booked,
            [t0, t0, t0 + 100 * MS, t0 + 200 * MS, t0 + 300 * MS]
        );
        // The bookings count as taken: nothing is left before t0 + 400 ms.
        assert!(!budget.try_take(t0 + 399 * MS));
        assert!(budget.try_take(t0 + 400 * MS));
    }

    #[test]
    fn zero_rate_and_zero_burst_mean_one() {
        let t0 = Instant::now();
        let mut budget = ConnectBudget::new(0, 0);
        assert_eq!(budget.interval(), Duration::from_secs(1));
        assert!(budget.try_take(t0));
        assert!(!budget.try_take(t0 + 999 * MS));
        assert!(budget.try_take(t0 + 1000 * MS));
    }
}
