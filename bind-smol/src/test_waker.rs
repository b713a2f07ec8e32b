//! A waker for unit tests that counts how often it was woken.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Wake;

/// Counts its wake-ups (in `.0`).
#[derive(Default)]
pub(crate) struct Counter(pub(crate) AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
