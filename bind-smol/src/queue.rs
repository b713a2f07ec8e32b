//! The bounded queue that carries a session's events from its task to its [`EventStream`].
//!
//! A market-data session produces events far faster than a channel can afford to wake its
//! reader for each one, so both ends move them in batches: the task hands over everything one
//! turn produced under one lock and wakes the stream at most once; the stream swaps the whole
//! queue for its own (empty) buffer under one lock and then yields from that buffer without
//! locking. Buffers trade places rather than events moving one by one, so a steady flow neither
//! copies events between buffers nor allocates.
//!
//! The bound is on what waits for the stream, counted in events and in payload bytes (a
//! thousand 16 MiB messages are not a small queue): the task asks for room
//! ([`EventSender::poll_room`]) before it takes new input, and stops reading until the stream
//! has taken the queue. One input can produce several events (or one large message), and the
//! stream may still be working through the batch it took, so at most about twice each bound,
//! plus one input's worth, is in memory at once. Nothing is ever dropped while the stream lives.
//!
//! [`EventStream`]: crate::EventStream

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use reconnect_core::Event;

/// Slots a buffer keeps however small the flow: shrinking below this would only churn.
const MIN_KEPT: usize = 32;

/// Events in order, with the payload bytes they carry.
#[derive(Default)]
pub(crate) struct Batch {
    events: VecDeque<Event>,
    bytes: usize,
}

impl Batch {
    /// Appends `event`.
    #[inline]
    pub(crate) fn push(&mut self, event: Event) {
        self.bytes += event.payload_len();
        self.events.push_back(event);
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Frees the buffer of an empty batch: a session waiting for input keeps no event slots
    /// (a few hundred bytes each buffer, times every idle session).
    pub(crate) fn release_if_empty(&mut self) {
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
    }

    fn clear(&mut self) {
        self.events.clear();
        self.bytes = 0;
    }

    fn append(&mut self, other: &mut Batch) {
        self.events.append(&mut other.events);
        self.bytes += std::mem::take(&mut other.bytes);
    }
}

/// Frees the buffer of an empty `events`.
fn release(events: &mut VecDeque<Event>) {
    if events.is_empty() && events.capacity() > 0 {
        *events = VecDeque::new();
    }
}

/// How much more the task may take before the stream makes room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Room {
    /// Events.
    pub(crate) events: usize,
    /// Payload bytes.
    pub(crate) bytes: usize,
}

struct Shared {
    queued: Batch,
    capacity: usize,
    byte_capacity: usize,
    /// The stream, waiting for events.
    reader: Option<Waker>,
    /// The task, waiting for room.
    writer: Option<Waker>,
    /// The stream was dropped: events have nobody to go to.
    reader_gone: bool,
    /// The task ended: the stream ends once the queue is empty.
    writer_gone: bool,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // Nothing panics while holding the lock, but a poisoned queue is still a valid queue.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A new queue for `capacity` events and `byte_capacity` payload bytes (each at least 1): the
/// task's end and the stream's end.
pub(crate) fn event_queue(capacity: usize, byte_capacity: usize) -> (EventSender, EventReceiver) {
    let shared = Arc::new(Mutex::new(Shared {
        queued: Batch::default(),
        capacity: capacity.max(1),
        byte_capacity: byte_capacity.max(1),
        reader: None,
        writer: None,
        reader_gone: false,
        writer_gone: false,
    }));
    (
        EventSender {
            shared: shared.clone(),
        },
        EventReceiver {
            shared,
            taken: VecDeque::new(),
        },
    )
}

/// The task's end. Dropping it ends the stream after the events already queued.
pub(crate) struct EventSender {
    shared: Arc<Mutex<Shared>>,
}

impl EventSender {
    /// How much more fits before the bounds, counting the `held` batch the task has not
    /// handed over yet; `Pending` (with the task's waker kept) while either bound is reached.
    /// Always ready once the stream is gone: its events are discarded.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>, held: &Batch) -> Poll<Room> {
        let mut shared = lock(&self.shared);
        if shared.reader_gone {
            return Poll::Ready(Room {
                events: usize::MAX,
                bytes: usize::MAX,
            });
        }
        let room = Room {
            events: (shared.capacity)
                .saturating_sub(shared.queued.len())
                .saturating_sub(held.len()),
            bytes: (shared.byte_capacity)
                .saturating_sub(shared.queued.bytes())
                .saturating_sub(held.bytes()),
        };
        if room.events > 0 && room.bytes > 0 {
            return Poll::Ready(room);
        }
        match &mut shared.writer {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Hands `batch` to the stream, in order, and wakes the stream if it waits; once the stream
    /// is gone the batch is discarded.
    ///
    /// When the stream has taken everything before, the two buffers trade places instead of
    /// moving the events one by one. Otherwise [`Handover::Now`] appends them, and
    /// [`Handover::IfTaken`] keeps them in `batch` for a later call: the stream has events
    /// to work through anyway, and the task will hand these over before it waits.
    pub(crate) fn publish(&self, batch: &mut Batch, handover: Handover) {
        if batch.is_empty() {
            return;
        }
        let reader = {
            let mut shared = lock(&self.shared);
            if shared.reader_gone {
                batch.clear();
                return;
            }
            if shared.queued.is_empty() {
                std::mem::swap(&mut shared.queued, batch);
            } else if handover == Handover::Now {
                shared.queued.append(batch);
            } else {
                return;
            }
            shared.reader.take()
        };
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

/// Whether [`EventSender::publish`] must hand a batch over while the stream still has events to
/// take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handover {
    /// Hand it over now: the task is about to wait or yield.
    Now,
    /// Only if the buffers can trade places.
    IfTaken,
}

impl Drop for EventSender {
    fn drop(&mut self) {
        let reader = {
            let mut shared = lock(&self.shared);
            shared.writer_gone = true;
            shared.reader.take()
        };
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

/// The stream's end.
pub(crate) struct EventReceiver {
    shared: Arc<Mutex<Shared>>,
    /// The batch taken last, yielded without locking.
    taken: VecDeque<Event>,
}

impl EventReceiver {
    /// The next event; `Ready(None)` once the task has ended and every event was taken.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if let Some(event) = self.taken.pop_front() {
            return Poll::Ready(Some(event));
        }
        let writer = {
            let mut shared = lock(&self.shared);
            if shared.queued.is_empty() {
                if shared.writer_gone {
                    return Poll::Ready(None);
                }
                // Nothing to take: the stream waits, and keeps no buffers while it does (one
                // allocation per wake-up is the price, against memory in every idle session).
                release(&mut self.taken);
                shared.queued.release_if_empty();
                match &mut shared.reader {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            // The empty buffer goes back to the task. After a burst it may be far larger than
            // the flow now needs, and an idle session should not keep a burst's worth of
            // memory; but a flood's batches stay large, and shrinking between them would only
            // reallocate, so only a trickle shrinks it.
            if shared.queued.len() <= MIN_KEPT && self.taken.capacity() > 4 * MIN_KEPT {
                self.taken.shrink_to(MIN_KEPT);
            }
            std::mem::swap(&mut self.taken, &mut shared.queued.events);
            shared.queued.bytes = 0;
            shared.writer.take()
        };
        // The task may have stopped reading for want of room: there is room now.
        if let Some(writer) = writer {
            writer.wake();
        }
        Poll::Ready(self.taken.pop_front())
    }

    /// Moves every waiting event to the end of `out`, in order: `Ready(n)` with `n > 0` events
    /// moved, `Ready(0)` once the task has ended and every event was taken, else `Pending`
    /// (with `cx`'s waker registered; without `cx`, `Ready(0)` is never returned for "nothing
    /// yet": that is `Pending` too).
    pub(crate) fn poll_batch(
        &mut self,
        cx: Option<&mut Context<'_>>,
        out: &mut Vec<Event>,
    ) -> Poll<usize> {
        let mut moved = self.taken.len();
        out.extend(self.taken.drain(..));
        let writer = {
            let mut shared = lock(&self.shared);
            if shared.queued.is_empty() {
                if moved > 0 {
                    return Poll::Ready(moved);
                }
                if shared.writer_gone {
                    return Poll::Ready(0);
                }
                release(&mut self.taken);
                shared.queued.release_if_empty();
                if let Some(cx) = cx {
                    match &mut shared.reader {
                        Some(waker) if waker.will_wake(cx.waker()) => {}
                        slot => *slot = Some(cx.waker().clone()),
                    }
                }
                return Poll::Pending;
            }
            // The buffer stays with the task (its capacity suits the flow); only the events move.
            moved += shared.queued.len();
            out.extend(shared.queued.events.drain(..));
            shared.queued.bytes = 0;
            shared.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
        Poll::Ready(moved)
    }

    /// Events waiting, taken or not.
    pub(crate) fn len(&self) -> usize {
        self.taken.len() + lock(&self.shared).queued.len()
    }

    /// Whether the task has ended and every event was taken: nothing more will come.
    pub(crate) fn is_ended(&self) -> bool {
        let shared = lock(&self.shared);
        self.taken.is_empty() && shared.queued.is_empty() && shared.writer_gone
    }
}

impl Drop for EventReceiver {
    fn drop(&mut self) {
        let writer = {
            let mut shared = lock(&self.shared);
            shared.reader_gone = true;
            shared.queued = Batch::default();
            shared.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_waker::Counter;
    use std::sync::atomic::Ordering;

    use reconnect_core::Event as CoreEvent;

    /// An event that tells `n` apart and carries no payload.
    fn event(n: u32) -> Event {
        CoreEvent::Gap {
            topic: "t".into(),
            expected: 0,
            received: u64::from(n),
        }
    }

    /// A batch of these events.
    fn batch(events: impl IntoIterator<Item = Event>) -> Batch {
        let mut batch = Batch::default();
        events.into_iter().for_each(|e| batch.push(e));
        batch
    }

    /// An event that carries a frame of `len` bytes.
    fn message(len: usize) -> Event {
        CoreEvent::OutboxDropped {
            frame: "x".repeat(len).into(),
            reason: reconnect_core::DropReason::Expired,
        }
    }

    /// Room for `events` events and `bytes` bytes.
    fn room(events: usize, bytes: usize) -> Poll<Room> {
        Poll::Ready(Room { events, bytes })
    }

    fn attempt(event: Event) -> u32 {
        match event {
            CoreEvent::Gap { received, .. } => received as u32,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_batch_arrives_in_order_with_one_wake() {
        let (tx, mut rx) = event_queue(8, 1 << 20);
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(rx.poll_next(&mut cx).is_pending());
        tx.publish(&mut batch((1..=5).map(event)), Handover::Now);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(rx.len(), 5);
        let got: Vec<u32> = (0..5)
            .map(|_| match rx.poll_next(&mut cx) {
                Poll::Ready(Some(e)) => attempt(e),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, [1, 2, 3, 4, 5]);
        assert!(rx.poll_next(&mut cx).is_pending());
        drop(tx);
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn a_full_queue_holds_the_task_until_the_stream_takes_it() {
        let (tx, mut rx) = event_queue(3, 1 << 20);
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        assert_eq!(tx.poll_room(&mut cx, &Batch::default()), room(3, 1 << 20));
        tx.publish(&mut batch([event(1), event(2)]), Handover::Now);
        assert_eq!(tx.poll_room(&mut cx, &Batch::default()), room(1, 1 << 20));
        tx.publish(&mut batch([event(3)]), Handover::Now);
        assert_eq!(tx.poll_room(&mut cx, &Batch::default()), Poll::Pending);
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        // Taking the first event takes the whole batch and frees the queue.
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(Some(_))));
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(tx.poll_room(&mut cx, &Batch::default()), room(3, 1 << 20));
        assert_eq!(rx.len(), 2);
    }

    #[test]
    fn payload_bytes_are_bounded_too() {
        let (tx, mut rx) = event_queue(100, 1_000);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        tx.publish(&mut batch([message(600), event(1)]), Handover::Now);
        assert_eq!(tx.poll_room(&mut cx, &Batch::default()), room(98, 400));
        // One message over the rest of the room still goes in: the bound is checked before
        // each input, which is as close as a bound on inputs of unknown size gets.
        tx.publish(&mut batch([message(500)]), Handover::Now);
        assert_eq!(tx.poll_room(&mut cx, &Batch::default()), Poll::Pending);
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(Some(_))));
        assert_eq!(tx.poll_room(&mut cx, &Batch::default()), room(100, 1_000));
        assert_eq!(batch([message(7), message(3), event(1)]).bytes(), 10);
    }

    #[test]
    fn a_batch_waits_for_a_swap_unless_the_task_hands_it_over_now() {
        let (tx, mut rx) = event_queue(4, 1 << 20);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        tx.publish(&mut batch([event(1)]), Handover::IfTaken);
        let mut held = batch([event(2), event(3)]);
        tx.publish(&mut held, Handover::IfTaken);
        assert_eq!(
            held.len(),
            2,
            "kept: the stream has not taken the first one"
        );
        // Held events count against the bound.
        assert_eq!(
            tx.poll_room(&mut cx, &held).map(|r| r.events),
            Poll::Ready(1)
        );
        held.push(event(4));
        assert_eq!(tx.poll_room(&mut cx, &held), Poll::Pending);
        tx.publish(&mut held, Handover::Now);
        assert!(held.is_empty());
        let got: Vec<u32> = std::iter::from_fn(|| match rx.poll_next(&mut cx) {
            Poll::Ready(Some(e)) => Some(attempt(e)),
            _ => None,
        })
        .collect();
        assert_eq!(got, [1, 2, 3, 4]);
    }

    #[test]
    fn a_burst_does_not_leave_its_memory_behind() {
        let (tx, mut rx) = event_queue(10_000, 1 << 20);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        tx.publish(&mut batch((0..5_000).map(event)), Handover::Now);
        // Every event taken, but the stream has not polled again (it would free an empty
        // buffer then: `a_waiting_stream_keeps_no_buffers`).
        for _ in 0..5_000 {
            assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(Some(_))));
        }
        assert!(
            rx.taken.capacity() >= 5_000,
            "the burst's buffer is the stream's now"
        );
        // The next, small batch: the burst's buffer goes back to the task shrunk.
        tx.publish(&mut batch([event(1)]), Handover::Now);
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(Some(_))));
        let back = lock(&tx.shared).queued.events.capacity();
        assert!(back < 4 * MIN_KEPT, "{back} slots kept after the burst");
    }

    #[test]
    fn a_waiting_stream_keeps_no_buffers() {
        let (tx, mut rx) = event_queue(100, 1 << 20);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        tx.publish(&mut batch((1..=5).map(event)), Handover::Now);
        // The task's next batch takes the place of the first while the stream works on it.
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(Some(_))));
        tx.publish(&mut batch([event(6)]), Handover::Now);
        while let Poll::Ready(Some(_)) = rx.poll_next(&mut cx) {}
        assert_eq!(rx.taken.capacity(), 0, "the stream's buffer");
        assert_eq!(lock(&tx.shared).queued.events.capacity(), 0, "the queue's");
        // The same through batches.
        tx.publish(&mut batch((1..=5).map(event)), Handover::Now);
        let mut out = Vec::new();
        assert_eq!(rx.poll_batch(Some(&mut cx), &mut out), Poll::Ready(5));
        assert!(rx.poll_batch(Some(&mut cx), &mut out).is_pending());
        assert_eq!(rx.taken.capacity(), 0);
        assert_eq!(lock(&tx.shared).queued.events.capacity(), 0);
    }

    #[test]
    fn the_stream_ends_only_after_the_last_event() {
        let (tx, mut rx) = event_queue(4, 1 << 20);
        tx.publish(&mut batch([event(1)]), Handover::Now);
        drop(tx);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(Some(_))));
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn without_a_stream_events_are_discarded_and_room_is_unbounded() {
        let (tx, rx) = event_queue(1, 1 << 20);
        tx.publish(&mut batch([event(1)]), Handover::Now);
        drop(rx);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(
            tx.poll_room(&mut cx, &Batch::default()),
            room(usize::MAX, usize::MAX)
        );
        let mut held = batch([event(2)]);
        tx.publish(&mut held, Handover::Now);
        assert!(held.is_empty());
    }
}
