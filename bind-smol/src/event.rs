//! What a session's task tells the application: the event stream.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use reconnect_core::{Frame, Refused, StopReason, Topic};

use crate::mailbox::CommandSender;
use crate::queue::EventReceiver;

/// One event of a session, in the order the session produced it.
///
/// The common cases read one level deep through the accessors: [`text`](Self::text),
/// [`data`](Self::data) or [`frame`](Self::frame) of a message, its [`topic`](Self::topic) and
/// [`seq`](Self::seq), and the [`stop_reason`](Self::stop_reason) of the last event. Match
/// [`Event::Session`] for everything else.
///
/// ```
/// use bind_smol::prelude::*;
///
/// fn show(event: &Event) {
///     match event.text() {
///         Some(text) => println!("{}: {text}", event.topic().map_or("-", Topic::as_str)),
///         None => println!("{event:?}"),
///     }
/// }
/// # show(&Event::Session(SessionEvent::Paused));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// What the session reported: lifecycle, messages, gaps, reconnect schedule, and so on.
    /// After [`reconnect_core::Event::Stopped`] nothing follows and the stream ends.
    Session(reconnect_core::Event),
    /// The session refused a command sent through a [`SessionHandle`](crate::SessionHandle);
    /// it changed nothing (a refused send hands its frame back inside). It comes after the
    /// events of the deadlines that were due when the command ran.
    Refused(Refused),
}

impl Event {
    /// The session's own event, unless this is a refused command ([`Event::Refused`]).
    pub fn as_session(&self) -> Option<&reconnect_core::Event> {
        match self {
            Event::Session(event) => Some(event),
            _ => None,
        }
    }

    /// Whether this is application data (the session's `Event::Message`).
    pub fn is_message(&self) -> bool {
        self.as_session()
            .is_some_and(reconnect_core::Event::is_message)
    }

    /// A message's payload, text or binary; `None` for any other event.
    pub fn frame(&self) -> Option<&Frame> {
        self.as_session()?.frame()
    }

    /// A message's payload, taken out of the event; `None` for any other event.
    pub fn into_frame(self) -> Option<Frame> {
        match self {
            Event::Session(event) => event.into_frame(),
            _ => None,
        }
    }

    /// A text message's text; `None` for a binary message and for any other event.
    pub fn text(&self) -> Option<&str> {
        self.as_session()?.text()
    }

    /// A message's payload bytes, text or binary; `None` for any other event.
    pub fn data(&self) -> Option<&[u8]> {
        self.as_session()?.data()
    }

    /// The topic the event is about: a message's (when the adapter could tell), or the
    /// subscription's of `Subscribed`, `Unsubscribed`, `SubscribeRejected`, `Gap` and
    /// `SequenceRegressed`. `None` for any other event.
    pub fn topic(&self) -> Option<&Topic> {
        self.as_session()?.topic()
    }

    /// A message's sequence number, when the protocol has one; `None` for any other event.
    pub fn seq(&self) -> Option<u64> {
        self.as_session()?.seq()
    }

    /// Why the session stopped, when this is its last event (`Stopped`); `None` otherwise.
    pub fn stop_reason(&self) -> Option<&StopReason> {
        self.as_session()?.stop_reason()
    }
}

/// The events of one session, as a [`Stream`]. It ends (yields `None`) once the session has
/// stopped and every event before the stop was taken.
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

    /// Moves every event waiting now to the end of `out`, without waiting: `Some(n)` with the
    /// number moved (`Some(0)` when none is waiting yet), `None` at the end (the session has
    /// stopped and every event was taken).
    pub fn try_next_batch(&mut self, out: &mut Vec<Event>) -> Option<usize> {
        match self.events.poll_batch(None, out) {
            Poll::Ready(0) => None,
            Poll::Ready(n) => Some(n),
            Poll::Pending => Some(0),
        }
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

#[cfg(test)]
mod tests {
    use reconnect_core::sim::first_conn_id;
    use reconnect_core::{Event as CoreEvent, StopReason};

    use super::*;

    // What each accessor reads is the core's (tested there); these check the delegation.
    #[test]
    fn a_session_message_reads_one_level_deep() {
        let event = Event::Session(CoreEvent::Message {
            conn: first_conn_id(),
            topic: Some(Topic::new("trades")),
            seq: Some(7),
            frame: Frame::Text("hello".into()),
        });
        assert!(event.is_message());
        assert_eq!(event.text(), Some("hello"));
        assert_eq!(event.data(), Some(&b"hello"[..]));
        assert_eq!(event.frame(), Some(&Frame::Text("hello".into())));
        assert_eq!(event.topic().map(Topic::as_str), Some("trades"));
        assert_eq!(event.seq(), Some(7));
        assert_eq!(event.stop_reason(), None);
        assert_eq!(event.into_frame(), Some(Frame::Text("hello".into())));
    }

    #[test]
    fn the_last_session_event_gives_the_stop_reason() {
        let stopped = Event::Session(CoreEvent::Stopped {
            reason: StopReason::GaveUp { attempts: 4 },
        });
        assert_eq!(
            stopped.stop_reason(),
            Some(&StopReason::GaveUp { attempts: 4 })
        );
        assert!(!stopped.is_message());
        assert!(stopped.as_session().is_some());
    }

    /// The binding's event wraps the session's without growing it: the session's `Event` is
    /// 80 bytes (its `Message`, see `reconnect_core::Event`) and the binding's own variants
    /// fit in its spare tag values.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_event_is_no_larger_than_the_sessions() {
        assert!(
            std::mem::size_of::<Event>() <= 80,
            "Event is {} bytes",
            std::mem::size_of::<Event>()
        );
    }
}
