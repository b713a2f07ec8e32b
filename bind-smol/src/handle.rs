//! The cloneable handle through which the application commands a session's task.

use std::fmt;

use reconnect_core::{Command, Credentials, Frame, HandleError, SendOptions, Topic};

use crate::mailbox::{CommandSender, TrySendError};

/// Commands a session from any task or thread: `Clone + Send + Sync`.
///
/// Commands are queued, in order, on a bounded queue the session's task drains between IO
/// events. The `async` forms wait for room (backpressure); the `try_` forms fail at once with
/// [`HandleError::Full`]. A command the session refuses (an outbox at its bound, a subscription
/// over the topic limit, a reconnect after close) is reported on the
/// [`EventStream`](crate::EventStream) as [`Event::Refused`](reconnect_core::Event::Refused),
/// with a refused frame handed back. Once the session has stopped (marked before the stream
/// can yield its `Stopped`), or its task was dropped, every method fails with
/// [`HandleError::Gone`], as bind-mio's handle does.
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
    /// Queues `command` for the session, waiting while the mailbox is full: the way to
    /// pass on a [`Command`] built elsewhere (the methods below build their own).
    ///
    /// # Errors
    /// [`HandleError::Gone`] once the session has stopped or its task has ended;
    /// [`HandleError::TooLarge`], at once and with the frame, for a send the connection can
    /// never write.
    pub async fn command(&self, command: Command) -> Result<(), HandleError> {
        let command = HandleError::check_frame_len(command, self.max_frame_len)?;
        self.commands
            .send(command)
            .await
            .map_err(|_| HandleError::Gone)
    }

    /// [`command`](Self::command) that fails at once when the mailbox is full, handing a
    /// send's frame back.
    pub fn try_command(&self, command: Command) -> Result<(), HandleError> {
        let command = HandleError::check_frame_len(command, self.max_frame_len)?;
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

    /// Starts a clean close ([`Session::close`](reconnect_core::Session::close)): a close
    /// frame if connected, then `Stopped`, every socket released. Returns once the close is
    /// queued (waiting while the mailbox is full), as bind-mio's `close` does; the end is the
    /// stream's `Stopped`, or [`closed`](Self::closed) to wait for it.
    ///
    /// # Errors
    /// [`HandleError::Gone`] when the session had already stopped.
    pub async fn close(&self) -> Result<(), HandleError> {
        self.command(Command::Close).await
    }

    /// [`close`](Self::close) that fails at once when the mailbox is full.
    pub fn try_close(&self) -> Result<(), HandleError> {
        self.try_command(Command::Close)
    }

    /// Resolves once the session's task has ended: the session stopped and released every
    /// socket (or the task was dropped). At once if it already ended.
    ///
    /// The session goes on through its task, so the [`EventStream`] must be polled (or
    /// dropped) meanwhile, with the task running: a stream that nobody reads fills its queue,
    /// the task then stops taking input, and this waits with it. After a
    /// [`close`](Self::close), how long the close handshake may take is the session's
    /// `timeouts.close`.
    ///
    /// [`EventStream`]: crate::EventStream
    pub async fn closed(&self) {
        self.commands.ended().await;
    }

    /// Whether the session has ended for this handle: it stopped (marked before the stream
    /// can yield its `Stopped`), or its task was dropped. From then on every method fails with
    /// [`HandleError::Gone`]. [`closed`](Self::closed) waits for the task's end as well.
    pub fn is_ended(&self) -> bool {
        self.commands.is_closed()
    }
}
