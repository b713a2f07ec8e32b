//! The session's lifecycle state, as the application reads it.

use std::time::Instant;

use super::StopReason;
use crate::conn_id::ConnId;

/// The session's lifecycle state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Created, not started.
    Idle,
    /// Waiting for the application to supply credentials before connecting.
    AwaitingCredentials,
    /// A transport attempt is in flight.
    Connecting {
        /// The transport.
        conn: ConnId,
        /// Which attempt.
        attempt: u32,
    },
    /// The transport is open; waiting for the auth acknowledgement.
    Authenticating {
        /// The transport.
        conn: ConnId,
    },
    /// Waiting for setup acknowledgements.
    SettingUp {
        /// The transport.
        conn: ConnId,
    },
    /// Resubscribing: every wanted topic is sent again on the new connection.
    Resubscribing {
        /// The transport.
        conn: ConnId,
    },
    /// Live: the application's sends go out at once.
    Live {
        /// The transport.
        conn: ConnId,
    },
    /// A close handshake is in progress (the application's close, or a recycle).
    Closing {
        /// The transport.
        conn: ConnId,
    },
    /// Waiting before the next attempt.
    Backoff {
        /// When the next attempt starts.
        until: Instant,
        /// The attempt number it will have.
        attempt: u32,
    },
    /// Automatic reconnection is paused; [`Session::resume`](crate::Session::resume) or
    /// [`Session::reconnect_now`](crate::Session::reconnect_now) continue.
    Paused,
    /// Stopped for good.
    Stopped(StopReason),
}

impl State {
    /// The transport the state holds open or in flight.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            State::Connecting { conn, .. }
            | State::Authenticating { conn }
            | State::SettingUp { conn }
            | State::Resubscribing { conn }
            | State::Live { conn }
            | State::Closing { conn } => Some(*conn),
            _ => None,
        }
    }
}
