//! Admission of new connection attempts across all sessions of one driver: the driver's
//! [`ConnectBudget`] (from the core) and the FIFO of attempts waiting for it.
//!
//! This is not reconnection policy: each session still decides when it wants to connect (its
//! backoff, jitter, circuit breaker). The budget only spreads the attempts of many sessions
//! that want to connect at the same moment (after a server restart, say) so that the driver does
//! not open thousands of sockets and TLS handshakes in one loop iteration. An attempt that finds
//! the budget spent waits in the FIFO until a token frees up; the session's connect timeout keeps
//! running meanwhile, so a long wait ends as an ordinary connect timeout. What is mio-specific
//! here is only the queue: one thread owns the budget, so it asks and queues, never books ahead.

use std::collections::VecDeque;
use std::time::Instant;

use reconnect_core::ConnectBudget;

/// An attempt waiting for admission: its connection slot and serial.
pub(crate) type Waiting = (usize, u64);

/// The driver's connection budget (if any) and the attempts waiting for it, in order.
pub(crate) struct Admission {
    budget: Option<ConnectBudget>,
    waiting: VecDeque<Waiting>,
}

impl Admission {
    pub(crate) fn new(budget: Option<ConnectBudget>) -> Self {
        Admission {
            budget,
            waiting: VecDeque::new(),
        }
    }

    /// Whether a new attempt may start at `now`: there is no budget, or nobody waits ahead of
    /// it and a token was taken. Otherwise the caller must [`wait`](Self::wait) it.
    pub(crate) fn admit_now(&mut self, now: Instant) -> bool {
        match self.budget.as_mut() {
            None => true,
            Some(budget) => self.waiting.is_empty() && budget.try_take(now),
        }
    }

    /// Queues an attempt that was not admitted.
    pub(crate) fn wait(&mut self, attempt: Waiting) {
        self.waiting.push_back(attempt);
    }

    /// When the first waiting attempt can be admitted; `None` when nobody waits.
    pub(crate) fn next_at(&self, now: Instant) -> Option<Instant> {
        let budget = self.budget.as_ref()?;
        (!self.waiting.is_empty()).then(|| budget.next_token_at(now))
    }

    /// The first waiting attempt, if a token is available for it at `now` (taken). Attempts
    /// that `still_waiting` says are gone (released while they waited) are dropped first and
    /// cost no token.
    pub(crate) fn next_admitted(
        &mut self,
        now: Instant,
        still_waiting: impl Fn(Waiting) -> bool,
    ) -> Option<Waiting> {
        while let Some(&front) = self.waiting.front() {
            if !still_waiting(front) {
                self.waiting.pop_front();
                continue;
            }
            if !self.budget.as_mut().is_some_and(|b| b.try_take(now)) {
                return None;
            }
            return self.waiting.pop_front();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn waiting_attempts_go_first_in_first_out_and_released_ones_cost_no_token() {
        let t0 = Instant::now();
        // 10 a second, 1 at once: a token every 100 ms.
        let mut admission = Admission::new(Some(ConnectBudget::new(10, 1)));
        assert!(admission.admit_now(t0));
        assert!(!admission.admit_now(t0));
        admission.wait((1, 1));
        admission.wait((2, 2));
        admission.wait((3, 3));
        assert_eq!(admission.next_at(t0), Some(t0 + Duration::from_millis(100)));
        let t1 = t0 + Duration::from_millis(100);
        // A new attempt does not jump the queue, even when a token is free.
        assert!(!admission.admit_now(t1));
        // (1, 1) was released meanwhile: (2, 2) gets the token.
        assert_eq!(admission.next_admitted(t1, |w| w != (1, 1)), Some((2, 2)));
        assert_eq!(admission.next_admitted(t1, |_| true), None);
        let t2 = t0 + Duration::from_millis(200);
        assert_eq!(admission.next_admitted(t2, |_| true), Some((3, 3)));
        assert_eq!(admission.next_at(t2), None);
    }

    #[test]
    fn without_a_budget_every_attempt_is_admitted() {
        let t0 = Instant::now();
        let mut admission = Admission::new(None);
        assert!((0..1000).all(|_| admission.admit_now(t0)));
        assert_eq!(admission.next_at(t0), None);
    }
}
