//! The cloneable handle through which the application commands a session's task.

use std::fmt;

use reconnect_core::{Command, Credentials, Frame, SendError, SendErrorKind, SendOptions, Topic};

use crate::mailbox::{CommandSender, TrySendError};

/// Why a handle could not pass a command on. A send's frame is handed back when it was
/// refused for its size or for room.
///
/// The same variants, with the same meaning, as `bind_mio::HandleError`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandleError {
    /// The session has ended for its handles ([`SessionHandle::is_ended`]): its task ended
    /// (the session stopped, or the task was dropped).
    Gone,
    /// The mailbox is full: [`Options::mailbox_capacity`](crate::Options) commands or
    /// [`Options::mailbox_bytes`](crate::Options) payload bytes wait ([`SessionHandle::try_send`]
    /// and the other `try_` forms only; the `async` forms wait for room). The frame is handed
    /// back when the command carried one.
    Full(Option<Frame>),
    /// The frame is larger than the session's connection can ever write
    /// ([`Config::max_frame_len`](reconnect_core::Config::max_frame_len), lowered to what the
    /// endpoint's WebSocket configuration can write by [`connect`](crate::connect)). The error
    /// is the session's own refusal, [`SendErrorKind::TooLarge`], with the frame inside:
    /// nothing was queued and the connection is untouched.
    TooLarge(SendError),
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::Gone => f.write_str("the session has ended"),
            HandleError::Full(_) => f.write_str("the session's mailbox is full"),
            HandleError::TooLarge(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for HandleError {}

/// Commands a session from any task or thread: `Clone + Send + Sync`.
///
/// Commands are queued, in order, on a bounded queue the session's task drains between IO
/// events. The `async` forms wait for room (backpressure); the `try_` forms fail at once with
/// [`HandleError::Full`]. A command the session refuses (an outbox at its bound, a subscription
/// over the topic limit, a reconnect after close) is reported on the
/// [`EventStream`](crate::EventStream) as [`Event::Refused`](crate::Event::Refused), with a
/// refused frame handed back.
///
/// The session closes cleanly when every handle and the event stream are dropped.
#[derive(Clone)]
pub struct SessionHandle {
    pub(crate) commands: CommandSender,
    /// The session's `max_frame_len` when it was connected: a send over it is refused here, at
    /// once, as the session would refuse it.
    pub(crate) max_frame_len: usize,
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle")
            .field("queued", &self.commands.len())
            .field("ended", &self.is_ended())
            .finish()
    }
}

impl SessionHandle {
    /// A send the connection can never write, refused here with its frame.
    fn check_size(&self, command: Command) -> Result<Command, HandleError> {
        if let Command::Send(frame, _) = &command {
            let (len, max) = (frame.len(), self.max_frame_len);
            if len > max {
                return Err(HandleError::TooLarge(SendError {
                    kind: SendErrorKind::TooLarge { len, max },
                    frame: command.into_frame().expect("a send carries a frame"),
                }));
            }
        }
        Ok(command)
    }

    /// Queues `command` for the session, waiting while the mailbox is full: the way to
    /// pass on a [`Command`] built elsewhere (the methods below build their own).
    ///
    /// # Errors
    /// [`HandleError::Gone`] once the task has ended; [`HandleError::TooLarge`], at once and
    /// with the frame, for a send the connection can never write.
    pub async fn command(&self, command: Command) -> Result<(), HandleError> {
        let command = self.check_size(command)?;
        self.commands
            .send(command)
            .await
            .map_err(|_| HandleError::Gone)
    }

    /// [`command`](Self::command) that fails at once when the mailbox is full, handing a
    /// send's frame back.
    pub fn try_command(&self, command: Command) -> Result<(), HandleError> {
        let command = self.check_size(command)?;
        self.commands.try_send(command).map_err(|e| match e {
            TrySendError::Ended(_) => HandleError::Gone,
            TrySendError::Full(command) => HandleError::Full(command.into_frame()),
        })
    }

    /// Sends a message: at once when live, otherwise through the session's outbox, released in
    /// order once live. Waits while the mailbox is full.
    pub async fn send(&self, frame: impl Into<Frame>) -> Result<(), HandleError> {
        self.command(Command::Send(frame.into(), SendOptions::default()))
            .await
    }

    /// [`send`](Self::send) with options (an expiry, a coalescing key).
    pub async fn send_with(
        &self,
        frame: impl Into<Frame>,
        options: SendOptions,
    ) -> Result<(), HandleError> {
        self.command(Command::Send(frame.into(), options)).await
    }

    /// [`send`](Self::send) that fails at once, handing the frame back, when the mailbox is
    /// full.
    pub fn try_send(&self, frame: impl Into<Frame>) -> Result<(), HandleError> {
        self.try_command(Command::Send(frame.into(), SendOptions::default()))
    }

    /// Wants `topic` from now on: subscribed now if live, and restored on every connection.
    pub async fn subscribe(&self, topic: impl Into<Topic>) -> Result<(), HandleError> {
        self.command(Command::Subscribe(topic.into())).await
    }

    /// [`subscribe`](Self::subscribe) that fails at once when the mailbox is full.
    pub fn try_subscribe(&self, topic: impl Into<Topic>) -> Result<(), HandleError> {
        self.try_command(Command::Subscribe(topic.into()))
    }

    /// No longer wants `topic`: unsubscribed now if live, never restored again.
    pub async fn unsubscribe(&self, topic: impl Into<Topic>) -> Result<(), HandleError> {
        self.command(Command::Unsubscribe(topic.into())).await
    }

    /// [`unsubscribe`](Self::unsubscribe) that fails at once when the mailbox is full.
    pub fn try_unsubscribe(&self, topic: impl Into<Topic>) -> Result<(), HandleError> {
        self.try_command(Command::Unsubscribe(topic.into()))
    }

    /// Drops the current connection (if any) and connects again at once.
    pub async fn reconnect_now(&self) -> Result<(), HandleError> {
        self.command(Command::ReconnectNow).await
    }

    /// Suspends automatic reconnection (see [`reconnect_core::Session::pause`]).
    pub async fn pause(&self) -> Result<(), HandleError> {
        self.command(Command::Pause).await
    }

    /// Resumes automatic reconnection.
    pub async fn resume(&self) -> Result<(), HandleError> {
        self.command(Command::Resume).await
    }

    /// Replaces the credentials; the next auth request uses them (never refused).
    pub async fn set_credentials(&self, credentials: Credentials) -> Result<(), HandleError> {
        self.command(Command::SetCredentials(credentials)).await
    }

    /// Answers a credentials request (`Event::CredentialsRequested`).
    pub async fn provide_credentials(&self, credentials: Credentials) -> Result<(), HandleError> {
        self.command(Command::ProvideCredentials(credentials)).await
    }

    /// Reports that the requested credentials cannot be had.
    pub async fn credentials_failed(&self, why: impl Into<String>) -> Result<(), HandleError> {
        self.command(Command::CredentialsFailed(why.into())).await
    }

    /// Closes the session cleanly ([`Session::close`](reconnect_core::Session::close)): a
    /// close frame if connected, then `Stopped`, every socket released. Resolves once that is
    /// done and the task has ended ([`is_ended`](Self::is_ended)); at once if it already ended.
    ///
    /// The close goes through the session like any command, so the [`EventStream`] must be
    /// polled (or dropped) meanwhile, with the task running: a stream that nobody reads fills
    /// its queue, the task then stops taking input, and this waits with it. How long the close
    /// handshake may take is the session's `timeouts.close`.
    ///
    /// [`EventStream`]: crate::EventStream
    pub async fn close(&self) {
        // A task that already ended needs no command; either way, wait for the end.
        let _ = self.commands.send(Command::Close).await;
        self.commands.ended().await;
    }

    /// Starts the close without waiting for its end (the stream reports `Stopped`); fails at
    /// once when the mailbox is full.
    pub fn try_close(&self) -> Result<(), HandleError> {
        self.try_command(Command::Close)
    }

    /// Whether the session has ended for this handle: its task has ended (the session stopped
    /// and released its transport, or the task was dropped). From then on every method fails
    /// with [`HandleError::Gone`].
    pub fn is_ended(&self) -> bool {
        self.commands.is_ended()
    }
}
