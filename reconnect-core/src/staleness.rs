//! Per-topic staleness: what each registry slot keeps ([`Watch`]) and the one queue of
//! deadlines shared by every topic ([`StaleQueue`]).
//!
//! The data path only writes a topic's [`Watch::last_data`]; it never touches the queue. The
//! queue holds at most one entry per watched topic (while [`Watch::queued`]), keyed by a
//! deadline that may be early (data came since) but never late: when the earliest one comes
//! due, the registry recomputes that topic's real deadline and either pushes it back or
//! declares it stale. The session arms one timer at the queue's head, so ten thousand watched
//! topics cost one timer slot and O(log n) per check, not one timer each.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::subscribe_options::{GapPolicy, ResyncReason};

/// The staleness and repair state of one wanted topic.
#[derive(Clone, Debug, Default)]
pub(crate) struct Watch {
    /// The topic's staleness window (`None`: not watched), resolved from its options and the
    /// configuration when it was subscribed.
    pub(crate) stale_after: Option<Duration>,
    pub(crate) gap: GapPolicy,
    /// The last data frame on the topic: the one field the data path writes.
    pub(crate) last_data: Option<Instant>,
    /// When the server last confirmed it (a repair restarts the window).
    pub(crate) confirmed_at: Option<Instant>,
    /// When it was last declared stale.
    pub(crate) last_stale: Option<Instant>,
    /// Consecutive stale windows without data in between.
    pub(crate) stale_times: u32,
    /// Whether the queue holds an entry for it (so that it never holds two).
    pub(crate) queued: bool,
    /// Why a re-subscription of it is under way on this connection, if one is.
    pub(crate) repairing: Option<ResyncReason>,
}

/// A topic declared stale by [`Registry::due_stale`](crate::subscriptions::Registry::due_stale).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stale {
    pub(crate) topic: crate::Topic,
    pub(crate) silent_for: Duration,
    pub(crate) times: u32,
}

/// Deadlines of watched topics, earliest first: (deadline, the topic's insertion order, its
/// slot). The order tells a topic from a later one that reuses its slot.
#[derive(Clone, Debug, Default)]
pub(crate) struct StaleQueue {
    heap: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    /// Entries of topics unsubscribed since they were queued, left for their deadline to
    /// drop them; past half the queue they are swept at once, so that subscribing and
    /// unsubscribing in a loop cannot grow the queue without bound while deadlines are far.
    dead: usize,
}

impl StaleQueue {
    pub(crate) fn push(&mut self, at: Instant, order: u64, slot: u32) {
        self.heap.push(Reverse((at, order, slot)));
    }

    /// Records that a queued topic left; sweeps the queue when dead entries are the majority,
    /// keeping those for which `alive(order, slot)` holds (amortised O(1) per removal).
    pub(crate) fn forget_one(&mut self, alive: impl Fn(u64, u32) -> bool) {
        self.dead += 1;
        if self.dead * 2 > self.heap.len() {
            self.heap
                .retain(|Reverse((_, order, slot))| alive(*order, *slot));
            self.dead = 0;
        }
    }

    /// A dead entry came due and was dropped.
    pub(crate) fn dropped_dead(&mut self) {
        self.dead = self.dead.saturating_sub(1);
    }

    /// How many entries the queue holds, dead ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, ..))| *at)
    }

    /// Takes the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(u64, u32)> {
        match self.heap.peek() {
            Some(Reverse((at, ..))) if *at <= now => {
                let Reverse((_, order, slot)) = self.heap.pop()?;
                Some((order, slot))
            }
            _ => None,
        }
    }

    #[cfg(feature = "sim")]
    pub(crate) fn footprint(&self) -> usize {
        self.heap.capacity()
    }
}

/// `at + d`, saturating far in the future instead of overflowing.
pub(crate) fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .unwrap_or_else(|| at + Duration::from_secs(86_400 * 365))
}
