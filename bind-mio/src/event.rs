//! What the driver tells the application about each session.

use std::fmt;

use reconnect_core::{CommandError, SendError, SubscribeError};

/// Which handle command a session refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// [`SessionHandle::subscribe`](crate::SessionHandle::subscribe).
    Subscribe,
    /// [`SessionHandle::unsubscribe`](crate::SessionHandle::unsubscribe).
    Unsubscribe,
    /// [`SessionHandle::send`](crate::SessionHandle::send) or `send_with`.
    Send,
    /// [`SessionHandle::close`](crate::SessionHandle::close).
    Close,
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
            Refusal::Send(e) => write!(f, "{:?}", e.kind),
            Refusal::Subscribe(e) => write!(f, "{e}"),
            Refusal::Command(e) => write!(f, "{e}"),
        }
    }
}

/// One event of one session, in the order the session produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// What the session reported: lifecycle, messages, gaps, reconnect schedule, and so on.
    Session(reconnect_core::Event),
    /// The session refused a command sent through a [`SessionHandle`](crate::SessionHandle).
    Refused {
        /// The command.
        command: CommandKind,
        /// Why.
        refusal: Refusal,
    },
    /// The session was removed from the driver through its handle; nothing follows, and its
    /// handles now fail with [`HandleError::Gone`](crate::HandleError::Gone).
    Removed,
}
