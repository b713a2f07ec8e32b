//! The session's task: one loop that turns the socket, the timer and the handle's commands into
//! calls on the [`Session`], and the session's actions into IO.
//!
//! ```text
//! loop {
//!     drain session.poll_output(): perform each action, send each event to the stream
//!     wait for: the attempt | the socket | the timer (re-armed to poll_timeout) | a command
//!     now = Instant::now()          // the only clock read
//!     feed what happened, tagged with its ConnId
//! }
//! ```
//!
//! It makes no decisions. The tungstenite rules it keeps: a frame is written once (a write that
//! would block stays queued in tungstenite and is flushed when the socket can take it); a write
//! buffer over its bound is backpressure, reported as a failure; a released transport is
//! dropped at once, after one non-blocking flush attempt for frames queued just before.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Timer;
use futures_core::Stream;
use futures_sink::Sink;
use reconnect_core::{
    Action, ConnId, Frame, Input, Output, Protocol, Session, TransportError, TransportErrorKind,
};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::Message;

use crate::endpoint::{AttemptInfo, Endpoint};
use crate::errors;
use crate::event::{CommandKind, Event, Refusal};
use crate::handle::Command;
use crate::transport::{self, Attempt, AttemptPlan, Ws};

/// The transport the session currently holds.
enum Transport {
    /// An attempt in flight.
    Connecting { conn: ConnId, attempt: Attempt },
    /// An open WebSocket (possibly closing, possibly ended and waiting for its release).
    Open {
        conn: ConnId,
        ws: Box<Ws>,
        /// Frames were queued and not yet flushed.
        unflushed: bool,
        /// The end was reported (close frame, error or EOF): stop reading.
        ended: bool,
    },
}

/// What woke the task.
enum Wake {
    Command(Option<Command>),
    Opened(ConnId, Result<Box<Ws>, TransportError>),
    Inbound(ConnId, Option<Result<Message, tungstenite::Error>>),
    FlushFailed(ConnId, tungstenite::Error),
    Timer,
}

/// A session and everything its task owns.
pub(crate) struct Driver<P> {
    session: Session<P>,
    endpoint: Endpoint,
    commands: Pin<Box<async_channel::Receiver<Command>>>,
    events: async_channel::Sender<Event>,
    /// Dropped when the task ends, which resolves every `SessionHandle::close`.
    _finished: async_channel::Sender<()>,
    transport: Option<Transport>,
    timer: Timer,
    armed: Option<Instant>,
    /// Every handle and the stream are gone: the session was told to close.
    orphaned: bool,
    /// Alternates which source is polled first, so a busy socket cannot starve commands.
    turn: bool,
    /// A command the session refused, reported before the next outputs.
    pending_refusal: Option<Event>,
}

impl<P: Protocol> Driver<P> {
    pub(crate) fn new(
        session: Session<P>,
        endpoint: Endpoint,
        commands: async_channel::Receiver<Command>,
        events: async_channel::Sender<Event>,
        finished: async_channel::Sender<()>,
    ) -> Self {
        Driver {
            session,
            endpoint,
            commands: Box::pin(commands),
            events,
            _finished: finished,
            transport: None,
            timer: Timer::never(),
            armed: None,
            orphaned: false,
            turn: false,
            pending_refusal: None,
        }
    }

    /// Runs the session until it stops.
    pub(crate) async fn run(mut self) {
        let now = Instant::now();
        // A session the user already started keeps going; one that already stopped ends here.
        let _ = self.session.start(now);
        loop {
            self.drain().await;
            if self.session.is_stopped() && self.transport.is_none() {
                return;
            }
            self.arm_timer();
            let wake = poll_fn(|cx| self.poll_wake(cx)).await;
            let now = Instant::now();
            self.on_wake(now, wake);
        }
    }

    fn arm_timer(&mut self) {
        let deadline = self.session.poll_timeout();
        if deadline == self.armed {
            return;
        }
        match deadline {
            Some(at) => self.timer.set_at(at),
            None => self.timer = Timer::never(),
        }
        self.armed = deadline;
    }

    /// Performs every queued action and hands every event to the stream, in order.
    async fn drain(&mut self) {
        if let Some(refusal) = self.pending_refusal.take() {
            self.emit(refusal).await;
        }
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Action(action) => self.perform(action).await,
                Output::Event(event) => self.emit(Event::Session(event)).await,
            }
        }
    }

    async fn emit(&mut self, event: Event) {
        if self.events.is_closed() {
            return;
        }
        // Waits for room: a slow consumer slows its own session, nothing is dropped.
        let _ = self.events.send(event).await;
    }

    async fn perform(&mut self, action: Action) {
        match action {
            Action::Connect { conn, attempt } => {
                let info = AttemptInfo { conn, attempt };
                match self.endpoint.request(info) {
                    Ok(request) => {
                        let plan = AttemptPlan {
                            host: self.endpoint.host().to_owned(),
                            port: self.endpoint.port(),
                            tls: self.endpoint.tls().cloned(),
                            request,
                            websocket: self.endpoint.websocket(),
                        };
                        self.transport = Some(Transport::Connecting {
                            conn,
                            attempt: transport::start(plan),
                        });
                    }
                    Err(e) => {
                        // Reported before anything else can happen to this attempt.
                        let error = errors::from_ws(&e);
                        let now = Instant::now();
                        self.session
                            .handle_input(now, Input::ConnectFailed { conn, error });
                    }
                }
            }
            Action::Send { conn, frame, .. } => {
                let message = match frame {
                    Frame::Text(text) => Message::Text(text.into()),
                    Frame::Binary(bytes) => Message::Binary(bytes.into()),
                };
                self.write(conn, message);
            }
            Action::Ping { conn } => self.write(conn, Message::Ping(Default::default())),
            Action::Close { conn, code, reason } => {
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.into(),
                };
                self.write(conn, Message::Close(Some(frame)));
            }
            Action::Release { conn } => self.release(conn).await,
            // The session emitted `Event::CredentialsRequested` with it; the application
            // answers through the handle.
            Action::RefreshCredentials => {}
        }
    }

    /// Queues `message` on the open transport `conn`; a failure is reported to the session.
    fn write(&mut self, conn: ConnId, message: Message) {
        let Some(Transport::Open {
            conn: open,
            ws,
            unflushed,
            ended,
        }) = self.transport.as_mut()
        else {
            return;
        };
        if *open != conn || *ended {
            return;
        }
        match Pin::new(ws.as_mut()).start_send(message) {
            Ok(()) => *unflushed = true,
            Err(e) => {
                *ended = true;
                let error = errors::from_ws(&e);
                self.session
                    .handle_input(Instant::now(), Input::Failed { conn, error });
            }
        }
    }

    /// Drops the transport `conn` now. Frames queued just before (a close frame, the reply to the
    /// peer's close) get one non-blocking flush attempt first.
    async fn release(&mut self, conn: ConnId) {
        let held = match &self.transport {
            Some(Transport::Connecting { conn: c, .. }) | Some(Transport::Open { conn: c, .. }) => {
                *c
            }
            None => return,
        };
        if held != conn {
            return;
        }
        if let Some(Transport::Open {
            mut ws, unflushed, ..
        }) = self.transport.take()
        {
            if unflushed {
                let _ = futures_lite::future::poll_once(poll_fn(|cx| {
                    Pin::new(ws.as_mut()).poll_flush(cx)
                }))
                .await;
            }
        }
    }

    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        self.turn = !self.turn;
        if self.turn {
            if let Poll::Ready(wake) = self.poll_commands(cx) {
                return Poll::Ready(wake);
            }
        }
        if let Poll::Ready(wake) = self.poll_transport(cx) {
            return Poll::Ready(wake);
        }
        if !self.turn {
            if let Poll::Ready(wake) = self.poll_commands(cx) {
                return Poll::Ready(wake);
            }
        }
        if Pin::new(&mut self.timer).poll(cx).is_ready() {
            // A one-shot timer that fired must be armed again, even for the same deadline.
            self.armed = None;
            return Poll::Ready(Wake::Timer);
        }
        Poll::Pending
    }

    fn poll_commands(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        if self.orphaned {
            return Poll::Pending;
        }
        self.commands.as_mut().poll_next(cx).map(Wake::Command)
    }

    fn poll_transport(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        match self.transport.as_mut() {
            None => Poll::Pending,
            Some(Transport::Connecting { conn, attempt }) => {
                let conn = *conn;
                attempt
                    .as_mut()
                    .poll(cx)
                    .map(|result| Wake::Opened(conn, result))
            }
            Some(Transport::Open {
                conn,
                ws,
                unflushed,
                ended,
            }) => {
                let conn = *conn;
                if *ended {
                    return Poll::Pending;
                }
                if *unflushed {
                    match Pin::new(ws.as_mut()).poll_flush(cx) {
                        Poll::Ready(Ok(())) => *unflushed = false,
                        Poll::Ready(Err(e)) => return Poll::Ready(Wake::FlushFailed(conn, e)),
                        Poll::Pending => {}
                    }
                }
                Pin::new(ws.as_mut())
                    .poll_next(cx)
                    .map(|item| Wake::Inbound(conn, item))
            }
        }
    }

    fn on_wake(&mut self, now: Instant, wake: Wake) {
        match wake {
            Wake::Timer => self.session.handle_timeout(now),
            Wake::Command(Some(command)) => self.on_command(now, command),
            Wake::Command(None) => {
                // Every handle and the stream are gone: close cleanly, nobody is listening.
                self.orphaned = true;
                let _ = self.session.close(now);
            }
            Wake::Opened(conn, Ok(ws)) => {
                self.transport = Some(Transport::Open {
                    conn,
                    ws,
                    unflushed: false,
                    ended: false,
                });
                self.session.handle_input(now, Input::Opened { conn });
            }
            Wake::Opened(conn, Err(error)) => {
                self.transport = None;
                self.session
                    .handle_input(now, Input::ConnectFailed { conn, error });
            }
            Wake::FlushFailed(conn, e) => {
                self.mark_ended();
                let error = errors::from_ws(&e);
                self.session
                    .handle_input(now, Input::Failed { conn, error });
            }
            Wake::Inbound(conn, item) => self.on_inbound(now, conn, item),
        }
    }

    fn mark_ended(&mut self) {
        if let Some(Transport::Open { ended, .. }) = self.transport.as_mut() {
            *ended = true;
        }
    }

    fn on_inbound(
        &mut self,
        now: Instant,
        conn: ConnId,
        item: Option<Result<Message, tungstenite::Error>>,
    ) {
        let input = match item {
            Some(Ok(Message::Text(text))) => Input::Frame {
                conn,
                frame: Frame::Text(text.as_str().to_owned()),
            },
            Some(Ok(Message::Binary(bytes))) => Input::Frame {
                conn,
                frame: Frame::Binary(bytes.to_vec()),
            },
            Some(Ok(Message::Ping(_))) => {
                // tungstenite queued the pong; flush it with the next poll.
                if let Some(Transport::Open { unflushed, .. }) = self.transport.as_mut() {
                    *unflushed = true;
                }
                Input::Ping { conn }
            }
            Some(Ok(Message::Pong(_))) => Input::Pong { conn },
            Some(Ok(Message::Close(frame))) => {
                // tungstenite queued the reply (or this completes our own close); the release
                // that follows flushes it once before dropping the socket.
                if let Some(Transport::Open { unflushed, .. }) = self.transport.as_mut() {
                    *unflushed = true;
                }
                self.mark_ended();
                let (code, reason) = match frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                    None => (None, String::new()),
                };
                Input::Closed { conn, code, reason }
            }
            // Raw frames are never yielded when reading messages.
            Some(Ok(Message::Frame(_))) => return,
            Some(Err(e)) => {
                self.mark_ended();
                Input::Failed {
                    conn,
                    error: errors::from_ws(&e),
                }
            }
            None => {
                self.mark_ended();
                Input::Failed {
                    conn,
                    error: TransportError::new(
                        TransportErrorKind::Eof,
                        "the stream ended without a close frame",
                    ),
                }
            }
        };
        self.session.handle_input(now, input);
    }

    fn on_command(&mut self, now: Instant, command: Command) {
        let refused = |command, refusal| Event::Refused { command, refusal };
        let refusal = match command {
            Command::Subscribe(topic) => self
                .session
                .subscribe(now, topic)
                .err()
                .map(|e| refused(CommandKind::Subscribe, Refusal::Subscribe(e))),
            Command::Unsubscribe(topic) => self
                .session
                .unsubscribe(now, &topic)
                .err()
                .map(|e| refused(CommandKind::Unsubscribe, Refusal::Command(e))),
            Command::Send(frame, options) => self
                .session
                .send_with(now, frame, options)
                .err()
                .map(|e| refused(CommandKind::Send, Refusal::Send(e))),
            Command::ReconnectNow => self
                .session
                .reconnect_now(now)
                .err()
                .map(|e| refused(CommandKind::ReconnectNow, Refusal::Command(e))),
            Command::Pause => self
                .session
                .pause(now)
                .err()
                .map(|e| refused(CommandKind::Pause, Refusal::Command(e))),
            Command::Resume => self
                .session
                .resume(now)
                .err()
                .map(|e| refused(CommandKind::Resume, Refusal::Command(e))),
            Command::ProvideCredentials(credentials) => self
                .session
                .provide_credentials(now, credentials)
                .err()
                .map(|e| refused(CommandKind::ProvideCredentials, Refusal::Command(e))),
            Command::CredentialsFailed(why) => self
                .session
                .credentials_failed(now, &why)
                .err()
                .map(|e| refused(CommandKind::CredentialsFailed, Refusal::Command(e))),
            // Closing twice, or after the stop, is not worth an event: `close` waits for the
            // end either way.
            Command::Close => {
                let _ = self.session.close(now);
                None
            }
        };
        if let Some(event) = refusal {
            // Refusals go out before whatever the session queued after them (nothing, since a
            // refused command changes nothing), so plain queuing keeps the order.
            self.pending_refusal = Some(event);
        }
    }
}
