//! What the driver tells the application about each session.

use reconnect_core::Refused;

/// One event of one session, in the order the session produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// What the session reported: lifecycle, messages, gaps, reconnect schedule, and so on.
    Session(reconnect_core::Event),
    /// The session refused a command sent through a [`SessionHandle`](crate::SessionHandle);
    /// it changed nothing (a refused send hands its frame back inside).
    Refused(Refused),
    /// The session was removed from the driver through its handle; nothing follows, and its
    /// handles now fail with [`HandleError::Gone`](crate::HandleError::Gone).
    Removed,
}
