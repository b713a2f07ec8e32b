//! What a session's task tells the application: the event stream.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use reconnect_core::{CommandError, SendError, SubscribeError};

use crate::handle::Command;

/// Which handle command a session refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// [`SessionHandle::subscribe`](crate::SessionHandle::subscribe).
    Subscribe,
    /// [`SessionHandle::unsubscribe`](crate::SessionHandle::unsubscribe).
    Unsubscribe,
    /// [`SessionHandle::send`](crate::SessionHandle::send) and its variants.
    Send,
    /// [`SessionHandle::reconnect_now`](crate::SessionHandle::reconnect_now).
    ReconnectNow,
    /// [`SessionHandle::pause`](crate::SessionHandle::pause).
    Pause,
    /// [`SessionHandle::resume`](crate::SessionHandle::resume).
    Resume,
    /// [`SessionHandle::provide_credentials`](crate::SessionHandle::provide_credentials).
    ProvideCredentials,
    /// [`SessionHandle::credentials_failed`](crate::SessionHandle::credentials_failed).
    CredentialsFailed,
}

/// The session's reason for refusing a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A refused send; the frame is handed back inside.
    Send(SendError),
    /// A refused subscription.
    Subscribe(SubscribeError),
    /// A command that does not apply in the session's state.
    Command(CommandError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Send(e) => write!(f, "send refused: {:?}", e.kind),
            Refusal::Subscribe(e) => write!(f, "{e}"),
            Refusal::Command(e) => write!(f, "{e}"),
        }
    }
}

/// One event of a session, in the order the session produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// What the session reported: lifecycle, messages, gaps, reconnect schedule, and so on.
    /// After [`reconnect_core::Event::Stopped`] nothing follows and the stream ends.
    Session(reconnect_core::Event),
    /// The session refused a command sent through a [`SessionHandle`](crate::SessionHandle).
    Refused {
        /// The command.
        command: CommandKind,
        /// Why.
        refusal: Refusal,
    },
}

/// The events of one session, as a [`Stream`]. It ends (yields `None`) once the session has
/// stopped and every event before the stop was taken.
///
/// The channel behind it is bounded ([`Options::event_capacity`](crate::Options)): a consumer
/// that stops reading stalls its session (its task waits for room), so keep polling it, or drop
/// it to discard events. The session closes cleanly once this stream and every handle are
/// dropped.
pub struct EventStream {
    pub(crate) events: Pin<Box<async_channel::Receiver<Event>>>,
    /// Keeps the command channel open while the stream lives: the session closes only when the
    /// stream and every handle are gone, and the task learns that from the channel closing.
    pub(crate) _keepalive: async_channel::Sender<Command>,
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
        self.events.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.events.len(), None)
    }
}
