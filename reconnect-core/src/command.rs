//! Application commands as values, for drivers that pass them through a mailbox.
//!
//! A driver that owns the session on one thread or task and takes commands from others (both
//! bindings do) needs the same three things: a value for each command, one place that applies it
//! to the session, and a typed report of what the session refused. They live here so that every
//! driver applies commands the same way and reports refusals with the same types.

use std::fmt;

use crate::credentials::Credentials;
use crate::frame::Frame;
use crate::outbox::{SendError, SendOptions};
use crate::session::{CommandError, SubscribeError};
use crate::subscribe_options::SubscribeOptions;
use crate::topic::Topic;

/// One application command, as a value: what [`Session::apply`](crate::Session::apply) runs.
///
/// `Debug` never shows credentials (see [`Credentials`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// [`Session::subscribe`](crate::Session::subscribe).
    Subscribe(Topic),
    /// [`Session::subscribe_with`](crate::Session::subscribe_with): a subscription with its
    /// own staleness deadline and gap policy. Refused as [`CommandKind::Subscribe`] is.
    SubscribeWith(Topic, SubscribeOptions),
    /// [`Session::unsubscribe`](crate::Session::unsubscribe).
    Unsubscribe(Topic),
    /// [`Session::send_with`](crate::Session::send_with).
    Send(Frame, SendOptions),
    /// [`Session::close`](crate::Session::close).
    Close,
    /// [`Session::reconnect_now`](crate::Session::reconnect_now).
    ReconnectNow,
    /// [`Session::pause`](crate::Session::pause).
    Pause,
    /// [`Session::resume`](crate::Session::resume).
    Resume,
    /// [`Session::set_credentials`](crate::Session::set_credentials) (never refused).
    SetCredentials(Credentials),
    /// [`Session::provide_credentials`](crate::Session::provide_credentials).
    ProvideCredentials(Credentials),
    /// [`Session::credentials_failed`](crate::Session::credentials_failed), with the application's reason.
    CredentialsFailed(String),
    /// [`Session::resync`](crate::Session::resync). What it did is in the outputs (a
    /// subscribe request, later [`Event::Resynced`](crate::Event::Resynced)); that it was
    /// not needed ([`ResyncStatus`](crate::ResyncStatus) other than `Sent`) is no refusal.
    Resync(Topic),
}

impl Command {
    /// Which command this is.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Subscribe(_) | Command::SubscribeWith(..) => CommandKind::Subscribe,
            Command::Unsubscribe(_) => CommandKind::Unsubscribe,
            Command::Send(..) => CommandKind::Send,
            Command::Close => CommandKind::Close,
            Command::ReconnectNow => CommandKind::ReconnectNow,
            Command::Pause => CommandKind::Pause,
            Command::Resume => CommandKind::Resume,
            Command::SetCredentials(_) => CommandKind::SetCredentials,
            Command::ProvideCredentials(_) => CommandKind::ProvideCredentials,
            Command::CredentialsFailed(_) => CommandKind::CredentialsFailed,
            Command::Resync(_) => CommandKind::Resync,
        }
    }

    /// The frame a [`Command::Send`] carries, so that a mailbox that cannot take the command
    /// can hand it back; `None` for every other command.
    pub fn into_frame(self) -> Option<Frame> {
        match self {
            Command::Send(frame, _) => Some(frame),
            _ => None,
        }
    }
}

/// Which command a session refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// [`Command::Subscribe`] and [`Command::SubscribeWith`].
    Subscribe,
    /// [`Command::Unsubscribe`].
    Unsubscribe,
    /// [`Command::Send`].
    Send,
    /// [`Command::Close`].
    Close,
    /// [`Command::ReconnectNow`].
    ReconnectNow,
    /// [`Command::Pause`].
    Pause,
    /// [`Command::Resume`].
    Resume,
    /// [`Command::SetCredentials`].
    SetCredentials,
    /// [`Command::ProvideCredentials`].
    ProvideCredentials,
    /// [`Command::CredentialsFailed`].
    CredentialsFailed,
    /// [`Command::Resync`].
    Resync,
}

/// The session's reason for refusing a command: the error the matching method returned.
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
            Refusal::Send(e) => write!(f, "{e}"),
            Refusal::Subscribe(e) => write!(f, "{e}"),
            Refusal::Command(e) => write!(f, "{e}"),
        }
    }
}

/// A command the session refused, and why. A refused command changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The command.
    pub command: CommandKind,
    /// Why.
    pub refusal: Refusal,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} refused: {}", self.command, self.refusal)
    }
}

impl std::error::Error for Refused {}
