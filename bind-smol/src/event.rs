//! What a session's task tells the application: the event stream of the core's own
//! [`Event`]s (this binding wraps none of them, as bind-mio does not).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use reconnect_core::Event;

use crate::mailbox::CommandSender;
use crate::queue::EventReceiver;

/// The events of one session, as a [`Stream`] of the core's [`Event`]s. It ends (yields `None`)
/// once the session has stopped and every event was taken: its `Stopped`, and the
/// [`Event::Refused`] of commands that were still queued when it stopped.
///
/// The queue behind it is bounded ([`Options::event_capacity`](crate::Options)): once that many
/// events wait, the session's task stops reading its socket until the stream takes them. A
/// consumer that stops polling therefore stalls its session (and its liveness deadlines may then
/// expire), but never loses an event. Drop the stream to discard events instead. The session
/// closes cleanly once this stream and every handle are dropped.
pub struct EventStream {
    pub(crate) events: EventReceiver,
    /// Counts as a sender of commands while the stream lives: the session closes only when the
    /// stream and every handle are gone, and the task learns that from the last sender's drop.
    pub(crate) _keepalive: CommandSender,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("buffered", &self.events.len())
            .finish()
    }
}

/// Batches: every waiting event at once.
///
/// The [`Stream`] impl hands out one event per poll; these methods move every event that is
/// waiting into a caller's `Vec` in one call, for consumers that want throughput. The rules
/// are the stream's:
///
/// - **Order.** Events are appended in exactly the order the stream would have yielded them;
///   what `out` already holds stays in front. Mixing batches and `next()` is fine.
/// - **Nothing lost.** Every event the session produced is handed out once, by one of the
///   calls; a batch never skips or duplicates one.
/// - **The caller's duty.** The queue is bounded ([`Options::event_capacity`](crate::Options)):
///   while it is full, the session's task stops reading its socket. Keep taking batches until
///   the end (`0` from [`next_batch`](Self::next_batch)). Reuse `out` (clear it after handling
///   the batch) so its capacity is allocated once.
impl EventStream {
    /// Waits until at least one event is waiting, then moves every waiting event to the end of
    /// `out` and returns how many it moved. Returns 0 only at the end: the session has stopped
    /// and every event (its `Stopped` last) was taken; every later call returns 0 too.
    ///
    /// ```no_run
    /// # async fn run(mut events: bind_smol::EventStream) {
    /// let mut batch = Vec::new();
    /// while events.next_batch(&mut batch).await > 0 {
    ///     for event in batch.drain(..) {
    ///         if let Some(text) = event.text() {
    ///             println!("{text}");
    ///         }
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn next_batch(&mut self, out: &mut Vec<Event>) -> usize {
        std::future::poll_fn(|cx| self.poll_next_batch(cx, out)).await
    }

    /// The poll form of [`next_batch`](Self::next_batch): `Ready(n)` with `n > 0` events
    /// moved to `out`, `Ready(0)` at the end, `Pending` when none is waiting (the waker of
    /// `cx` is woken when one is).
    pub fn poll_next_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<Event>) -> Poll<usize> {
        self.events.poll_batch(Some(cx), out)
    }

    /// Moves every event waiting now to the end of `out`, without waiting, and returns how
    /// many it moved: 0 when none is waiting, as bind-mio's `drain_events` answers. The
    /// session's end is its `Stopped` event in both bindings; [`is_ended`](Self::is_ended) says
    /// whether anything can still come.
    pub fn try_next_batch(&mut self, out: &mut Vec<Event>) -> usize {
        match self.events.poll_batch(None, out) {
            Poll::Ready(n) => n,
            Poll::Pending => 0,
        }
    }

    /// Whether the stream has ended: the session's task ended and every event was taken.
    pub fn is_ended(&self) -> bool {
        self.events.is_ended()
    }
}

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.events.len(), None)
    }
}
