//! Commands from other threads: a cloneable, `Send` handle per session and one per driver.
//!
//! A handle pushes a command into the driver's bounded mailbox and wakes the loop; the loop runs
//! it on the session ([`Session::apply`](reconnect_core::Session::apply)) with its clock reading
//! and drains the session at once. Whatever the session refuses comes back as
//! [`Event::Refused`](reconnect_core::Event::Refused) in the session's events, in order with
//! everything else.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;

use reconnect_core::{Command, Credentials, Frame, HandleError, SendOptions, Topic};

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

/// What the mailbox carries: a command for one session.
pub(crate) struct Envelope(pub(crate) SessionId, pub(crate) Command);

/// The payload bytes a command adds to the mailbox.
fn payload_len(command: &Command) -> usize {
    match command {
        Command::Send(frame, _) => frame.len(),
        _ => 0,
    }
}

/// A new mailbox of at most `capacity` requests (at least 1) and `max_bytes` payload bytes.
pub(crate) fn mailbox(capacity: usize, max_bytes: usize, wake: Arc<Wake>) -> (Mailbox, Inbox) {
    let (tx, rx) = mpsc::sync_channel(capacity.max(1));
    let bytes = Arc::new(AtomicUsize::new(0));
    (
        Mailbox {
            tx,
            wake,
            bytes: Arc::clone(&bytes),
            max_bytes,
        },
        Inbox { rx, bytes },
    )
}

/// The sending side of a driver's mailbox.
#[derive(Clone)]
pub(crate) struct Mailbox {
    tx: SyncSender<Envelope>,
    wake: Arc<Wake>,
    /// Payload bytes queued and not yet taken by the loop.
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

impl Mailbox {
    /// Reserves room for `len` payload bytes: under the bound, or anything at all while no
    /// payload waits (so a frame larger than the bound can still pass, alone).
    fn reserve(&self, len: usize) -> bool {
        if len == 0 {
            return true;
        }
        self.bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                let fits = queued == 0 || queued.saturating_add(len) <= self.max_bytes;
                fits.then(|| queued.saturating_add(len))
            })
            .is_ok()
    }

    fn post(&self, envelope: Envelope) -> Result<(), HandleError> {
        let len = payload_len(&envelope.1);
        let give_back = |envelope: Envelope| envelope.1.into_frame();
        if !self.reserve(len) {
            return Err(HandleError::Full(give_back(envelope)));
        }
        match self.tx.try_send(envelope) {
            Ok(()) => {
                self.wake.wake();
                Ok(())
            }
            Err(TrySendError::Full(envelope)) => {
                self.bytes.fetch_sub(len, Ordering::AcqRel);
                Err(HandleError::Full(give_back(envelope)))
            }
            Err(TrySendError::Disconnected(_)) => {
                self.bytes.fetch_sub(len, Ordering::AcqRel);
                Err(HandleError::Gone)
            }
        }
    }
}

/// The loop's side of the mailbox: taking a request frees its bytes.
pub(crate) struct Inbox {
    rx: Receiver<Envelope>,
    bytes: Arc<AtomicUsize>,
}

impl Inbox {
    pub(crate) fn try_recv(&self) -> Result<Envelope, TryRecvError> {
        let envelope = self.rx.try_recv()?;
        self.bytes
            .fetch_sub(payload_len(&envelope.1), Ordering::AcqRel);
        Ok(envelope)
    }
}

/// Controls one session from any thread. Cheap to clone.
///
/// Every method returns once the command is queued for the driver's thread. A send larger than
/// the connection can write fails here at once ([`HandleError::TooLarge`]), and so does any
/// command while the mailbox is full ([`HandleError::Full`]), handing the frame back. The
/// session's verdict (a send refused because the outbox is full, a subscription over the limit, a
/// command after close) arrives as [`Event::Refused`](reconnect_core::Event::Refused) in the
/// session's events. Once the session has stopped (the driver marks it before it delivers the
/// `Stopped` event), was removed, or the driver was dropped, every method fails with
/// [`HandleError::Gone`], as bind-smol's handle does.
#[derive(Clone)]
pub struct SessionHandle {
    pub(crate) id: SessionId,
    pub(crate) mailbox: Mailbox,
    pub(crate) alive: Arc<AtomicBool>,
    /// The session's `max_frame_len` when the handle was made: a send over it is refused here,
    /// at once, as the session would refuse it.
    pub(crate) max_frame_len: usize,
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle")
            .field("id", &self.id)
            .field("ended", &self.is_ended())
            .finish()
    }
}

impl SessionHandle {
    /// The session this handle controls.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Whether the session has ended for this handle: it stopped (set before its `Stopped`
    /// event is delivered), it was removed from its driver, or the driver was dropped. From
    /// then on every method fails with [`HandleError::Gone`]. (A stopped session stays in its
    /// driver, with its stats, until [`Driver::remove_session`](crate::Driver::remove_session).)
    pub fn is_ended(&self) -> bool {
        !self.alive.load(Ordering::Acquire)
    }

    /// Queues `command` for the session, as the methods below do: the way to pass on a
    /// [`Command`] built elsewhere.
    ///
    /// # Errors
    /// [`HandleError::Gone`] once the session has ended; [`HandleError::Full`] while the
    /// mailbox is at its bound; [`HandleError::TooLarge`] for a send the connection can never
    /// write. A send's frame comes back inside the last two.
    pub fn command(&self, command: Command) -> Result<(), HandleError> {
        if self.is_ended() {
            return Err(HandleError::Gone);
        }
        let command = HandleError::check_frame_len(command, self.max_frame_len)?;
        self.mailbox.post(Envelope(self.id, command))
    }

    /// [`Session::subscribe`](reconnect_core::Session::subscribe).
    pub fn subscribe(&self, topic: impl Into<Topic>) -> Result<(), HandleError> {
        self.command(Command::Subscribe(topic.into()))
    }

    /// [`Session::unsubscribe`](reconnect_core::Session::unsubscribe).
    pub fn unsubscribe(&self, topic: impl Into<Topic>) -> Result<(), HandleError> {
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

    /// Starts a clean close ([`Session::close`](reconnect_core::Session::close)): a close
    /// frame if connected, then `Stopped`, every socket released. Returns once the close is
    /// queued, as bind-smol's `close` does; the end is the session's
    /// [`Event::Stopped`](reconnect_core::Event::Stopped) among the driver's events (bind-smol
    /// also has `closed().await`), after which this handle is [`Gone`](HandleError::Gone).
    ///
    /// The close goes through the session like any command, so the driver's loop must keep
    /// running meanwhile ([`Driver::run`](crate::Driver::run) or `run_once`, or your loop for
    /// [`Embedded`](crate::Embedded)), with its events taken: the close handshake happens on
    /// it. How long the handshake may take is the session's `timeouts.close`. The stopped
    /// session stays in the driver, for its stats, until
    /// [`Driver::remove_session`](crate::Driver::remove_session).
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
