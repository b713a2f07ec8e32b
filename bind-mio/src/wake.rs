//! Waking the event loop from other threads without a syscall per message.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mio::Waker;

/// The loop's waker, with a flag that collapses many wake-ups into one until the loop has
/// looked at its mailboxes.
///
/// Senders push their message first and then call [`Wake::wake`]; the loop calls
/// [`Wake::reset`] before it drains the mailboxes. A message pushed after the drain finds the
/// flag clear and wakes the loop again, so none is left waiting.
pub(crate) struct Wake {
    waker: Arc<Waker>,
    pending: AtomicBool,
}

impl Wake {
    pub(crate) fn new(waker: Arc<Waker>) -> Self {
        Wake {
            waker,
            pending: AtomicBool::new(false),
        }
    }

    /// Wakes the loop unless a wake-up is already pending.
    pub(crate) fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            // A failed wake means the poll is gone, and with it anyone to wake.
            let _ = self.waker.wake();
        }
    }

    /// Called by the loop before it drains the mailboxes.
    pub(crate) fn reset(&self) {
        self.pending.store(false, Ordering::Release);
    }
}
