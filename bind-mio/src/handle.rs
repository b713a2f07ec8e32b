//! Commands from other threads: a cloneable, `Send` handle per session and one per driver.
//!
//! A handle pushes a command into the driver's bounded mailbox and wakes the loop; the loop runs
//! it on the session with a fresh `Instant::now()` and drains the session at once. Whatever the
//! session answers that is not a success comes back as an [`Event::Refused`](crate::Event::Refused)
//! in the session's event stream, in order with everything else.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;

use reconnect_core::{Command, Credentials, Frame, SendOptions, Topic};

use crate::wake::Wake;

/// Names a session inside one driver. Ids are never reused by that driver.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S{}.{}", self.index, self.generation)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What the mailbox carries for one session: a command for its session, or its removal from
/// the driver (the one request that is about the driver, not the session).
#[derive(Debug)]
pub(crate) enum Request {
    Command(Command),
    Remove,
}

/// What the mailbox carries: a request for one session.
pub(crate) struct Envelope(pub(crate) SessionId, pub(crate) Request);

/// Why a handle could not pass a command on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HandleError {
    /// The session was removed, or the driver dropped.
    Gone,
    /// The driver's mailbox is full (`DriverConfig::mailbox_capacity` commands wait unread):
    /// the loop is not keeping up. The command was not queued; try again later.
    Full,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HandleError::Gone => "the session or its driver is gone",
            HandleError::Full => "the driver's mailbox is full",
        })
    }
}

impl std::error::Error for HandleError {}

/// The sending side of a driver's mailbox.
#[derive(Clone)]
pub(crate) struct Mailbox {
    pub(crate) tx: SyncSender<Envelope>,
    pub(crate) wake: Arc<Wake>,
}

impl Mailbox {
    fn post(&self, envelope: Envelope) -> Result<(), HandleError> {
        match self.tx.try_send(envelope) {
            Ok(()) => {
                self.wake.wake();
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(HandleError::Full),
            Err(TrySendError::Disconnected(_)) => Err(HandleError::Gone),
        }
    }
}

/// Controls one session from any thread. Cheap to clone.
///
/// Every method returns once the command is queued for the driver's thread; the session's
/// verdict (a send refused because the outbox is full, a subscription over the limit, a
/// command after close) arrives as [`Event::Refused`](crate::Event::Refused) in the session's
/// events. After the session is removed, every method fails with [`HandleError::Gone`].
#[derive(Clone)]
pub struct SessionHandle {
    pub(crate) id: SessionId,
    pub(crate) mailbox: Mailbox,
    pub(crate) alive: Arc<AtomicBool>,
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle")
            .field("id", &self.id)
            .field("alive", &self.is_alive())
            .finish()
    }
}

impl SessionHandle {
    /// The session this handle controls.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Whether the session is still in its driver.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    fn request(&self, request: Request) -> Result<(), HandleError> {
        if !self.is_alive() {
            return Err(HandleError::Gone);
        }
        self.mailbox.post(Envelope(self.id, request))
    }

    /// Queues `command` for the session, as the methods below do: the way to pass on a
    /// [`Command`] built elsewhere.
    pub fn command(&self, command: Command) -> Result<(), HandleError> {
        self.request(Request::Command(command))
    }

    /// [`Session::subscribe`](reconnect_core::Session::subscribe).
    pub fn subscribe(&self, topic: impl Into<Topic>) -> Result<(), HandleError> {
        self.command(Command::Subscribe(topic.into()))
    }

    /// [`Session::unsubscribe`](reconnect_core::Session::unsubscribe).
    pub fn unsubscribe(&self, topic: impl Into<String>) -> Result<(), HandleError> {
        self.command(Command::Unsubscribe(topic.into()))
    }

    /// [`Session::send`](reconnect_core::Session::send).
    pub fn send(&self, frame: impl Into<Frame>) -> Result<(), HandleError> {
        self.command(Command::Send(frame.into(), SendOptions::default()))
    }

    /// [`Session::send_with`](reconnect_core::Session::send_with).
    pub fn send_with(
        &self,
        frame: impl Into<Frame>,
        options: SendOptions,
    ) -> Result<(), HandleError> {
        self.command(Command::Send(frame.into(), options))
    }

    /// [`Session::close`](reconnect_core::Session::close): a close handshake, then
    /// `Stopped`. The session stays in the driver until removed.
    pub fn close(&self) -> Result<(), HandleError> {
        self.command(Command::Close)
    }

    /// [`Session::reconnect_now`](reconnect_core::Session::reconnect_now).
    pub fn reconnect_now(&self) -> Result<(), HandleError> {
        self.command(Command::ReconnectNow)
    }

    /// [`Session::pause`](reconnect_core::Session::pause).
    pub fn pause(&self) -> Result<(), HandleError> {
        self.command(Command::Pause)
    }

    /// [`Session::resume`](reconnect_core::Session::resume).
    pub fn resume(&self) -> Result<(), HandleError> {
        self.command(Command::Resume)
    }

    /// [`Session::set_credentials`](reconnect_core::Session::set_credentials).
    pub fn set_credentials(&self, credentials: Credentials) -> Result<(), HandleError> {
        self.command(Command::SetCredentials(credentials))
    }

    /// [`Session::provide_credentials`](reconnect_core::Session::provide_credentials): the
    /// answer to [`Event::CredentialsRequested`](reconnect_core::Event::CredentialsRequested).
    pub fn provide_credentials(&self, credentials: Credentials) -> Result<(), HandleError> {
        self.command(Command::ProvideCredentials(credentials))
    }

    /// [`Session::credentials_failed`](reconnect_core::Session::credentials_failed).
    pub fn credentials_failed(&self, why: impl Into<String>) -> Result<(), HandleError> {
        self.command(Command::CredentialsFailed(why.into()))
    }

    /// Removes the session from its driver at once, dropping its sockets without a close
    /// handshake (call [`close`](Self::close) first and wait for `Stopped` for a clean end).
    /// [`Event::Removed`](crate::Event::Removed) is its last event.
    pub fn remove(&self) -> Result<(), HandleError> {
        self.request(Request::Remove)
    }
}

/// Controls a [`Driver`](crate::Driver) from any thread. Cheap to clone.
#[derive(Clone)]
pub struct DriverHandle {
    pub(crate) wake: Arc<Wake>,
    pub(crate) stop: Arc<AtomicBool>,
}

impl fmt::Debug for DriverHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DriverHandle")
    }
}

impl DriverHandle {
    /// Makes [`Driver::run`](crate::Driver::run) return after the current iteration.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake.wake();
    }
}
