//! What a session's task tells the application: the event stream.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use reconnect_core::Refused;

use crate::mailbox::CommandSender;
use crate::queue::EventReceiver;

/// One event of a session, in the order the session produced it.
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

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.events.len(), None)
    }
}
