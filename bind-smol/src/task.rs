//! The session's task: one future that turns the socket, the timer and the handles' commands into
//! calls on the [`Session`], and the session's actions into IO.
//!
//! ```text
//! loop {
//!     drain session.drain(): perform each action, collect each event; then feed the inputs
//!         performing produced (a refused request, a failed write), draining after each
//!     hand the collected events to the stream (one lock, at most one wake-up)
//!     wait for: room in the event queue, then a command | the attempt | the socket | the timer
//!     now = clock()                 // once per batch of inputs (see `clock`)
//!     feed what happened, tagged with its ConnId
//! }
//! ```
//!
//! It makes no decisions. What it does for speed: it takes every input that is ready (up to a
//! budget, then yields to the executor) before it hands the batch of events to the stream, reads
//! the clock once per batch, flushes once per batch, and re-arms its timer only when the
//! session's next deadline moves earlier (a later one is handled by the early wake-up, which the
//! session ignores, and a re-arm then).
//!
//! The tungstenite rules it keeps: a frame is written once (a write that would block stays
//! queued in tungstenite and is flushed when the socket can take it); a write buffer over its
//! bound is backpressure, reported as a failure; a released transport is dropped at once, after
//! one non-blocking flush attempt for frames queued just before.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Timer;
use futures_core::Stream;
use futures_sink::Sink;
use reconnect_core::{
    Action, Command, ConnId, Input, Output, Protocol, Session, TransportError, TransportErrorKind,
};
use reconnect_tungstenite::{errors, message};
use tungstenite::Message;

use crate::mailbox::CommandReceiver;
use crate::metrics::Metrics;
use crate::queue::{Batch, EventSender, Handover, Room};
use crate::transport::{self, Attempt, AttemptPlan, Ws};
use crate::{AttemptInfo, Endpoint, SharedConnectBudget};

/// Inputs one turn takes before the task yields to the executor, so that a flooded session
/// cannot starve the other tasks of its thread.
const BUDGET: usize = 128;

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

/// A session and everything its task owns.
pub(crate) struct Driver<P> {
    /// Boxed: the session is the largest part of the task's state (about 2.4 KiB for the
    /// JSON-RPC adapter), and the task hands it back boxed, so it is allocated once, and the
    /// rest of the driver is small enough for an executor to hold inline (async-task boxes a
    /// future of 2 KiB or more separately from the task, which holds the output beside it).
    session: Box<Session<P>>,
    endpoint: Endpoint,
    /// The fleet's connection budget, if any: every attempt waits for a token before dialing.
    budget: Option<SharedConnectBudget>,
    /// The events of the current turn, handed to the stream together.
    batch: Batch,
    /// Inputs that performing the actions of the current drain produced (an attempt that
    /// failed before it began, a write that failed), fed to the session once the drain ends.
    produced: VecDeque<Input>,
    transport: Option<Transport>,
    timer: Timer,
    /// The deadline the timer is set to; `None` when it is not set (or has fired).
    armed: Option<Instant>,
    /// Every handle and the stream are gone: the session was told to close.
    orphaned: bool,
    /// The session has stopped: the mailbox takes no more commands, and those it held were
    /// answered.
    mailbox_closed: bool,
    started: bool,
    /// The session's name: the `session` label of its metrics and the `session` field of its
    /// log events ([`Options::name`](crate::Options::name), else
    /// [`default_session_name`](reconnect_tungstenite::default_session_name)'s).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    name: String,
    /// The `session` span the task runs in, with the same name.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    /// The session's metrics (nothing without the `metrics` feature).
    metrics: Metrics,
    // The last two fields are dropped last, in this order, when the task ends: every socket is
    // gone before the handles learn that the task has ended (`SessionHandle::close` resolves),
    // and that is so before the event stream ends.
    commands: CommandReceiver,
    events: EventSender,
}

/// The task's clock reading, the binding's one clock read besides the connect budget's booking
/// (`.ci/run` checks it): taken where news arrives, once per batch of inputs, when the timer
/// fires, for an attempt's outcome (a handshake may end long after its batch began), for the
/// inputs a drain produced, and when the session starts or stops.
fn clock() -> Instant {
    Instant::now()
}

impl<P: Protocol> Driver<P> {
    pub(crate) fn new(
        session: Session<P>,
        endpoint: Endpoint,
        budget: Option<SharedConnectBudget>,
        commands: CommandReceiver,
        events: EventSender,
        name: Option<String>,
    ) -> Self {
        let name = name.unwrap_or_else(reconnect_tungstenite::default_session_name);
        let metrics = Metrics::new(name.clone());
        Driver {
            session: Box::new(session),
            endpoint,
            budget,
            commands,
            events,
            batch: Batch::default(),
            produced: VecDeque::new(),
            transport: None,
            timer: Timer::never(),
            armed: None,
            orphaned: false,
            mailbox_closed: false,
            started: false,
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(target: reconnect_tungstenite::tracing_events::TARGET, "session", session = %name),
            name,
            metrics,
        }
    }

    /// The session, once [`poll_run`](Self::poll_run) is ready; everything else the task
    /// owns is dropped here, in field order.
    pub(crate) fn into_session(self) -> Box<Session<P>> {
        self.session
    }

    /// Runs the session: `Ready` once it has stopped and released its transport. The task polls
    /// it directly rather than through an `async fn`, whose state would hold the driver twice
    /// (the argument and the moved-in local), about 3 KiB more per idle session.
    pub(crate) fn poll_run(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // Whatever is logged while the task runs (by this crate or below it) names the session.
        #[cfg(feature = "tracing")]
        let _in_span = self.span.clone().entered();
        if !self.started {
            self.started = true;
            // A session the user already started keeps going; one that already stopped ends
            // here.
            let _ = self.session.start(clock());
            self.drain();
        }
        let mut budget = BUDGET;
        loop {
            // The metrics are as of the batch the stream is about to see.
            self.metrics.publish(&self.session);
            self.events.publish(&mut self.batch, Handover::IfTaken);
            if self.session.is_stopped() && self.transport.is_none() {
                self.metrics.publish(&self.session);
                self.events.publish(&mut self.batch, Handover::Now);
                return Poll::Ready(());
            }
            // New inputs make new events: take them only while the stream has room.
            // No room means the stream has events to take (it was woken when they came) or
            // the held batch alone fills the bound (the hand-over above swapped it in): taking
            // them wakes the task, which then hands over what it holds.
            let Poll::Ready(room) = self.events.poll_room(cx, &self.batch) else {
                return Poll::Pending;
            };
            if budget == 0 {
                // Yielding, not waiting: the next turn comes soon and hands over what the
                // stream has not made room for yet.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let room = Room {
                events: room.events.min(budget),
                ..room
            };
            let taken = self.take_inputs(cx, room);
            budget -= taken;
            // Every turn flushes what it queued (a heartbeat reply must not wait for a flood to
            // pause). A failed flush is news for the session, which may have a new attempt.
            let failed = self.flush(cx);
            if taken > 0 || failed {
                continue;
            }
            // Nothing was ready, and every source polled has the waker. The timer last, set to
            // the session's next deadline.
            self.arm_timer();
            if Pin::new(&mut self.timer).poll(cx).is_ready() {
                self.armed = None;
                self.session.handle_timeout(clock());
                self.drain();
                budget = budget.saturating_sub(1);
                continue;
            }
            self.metrics.publish(&self.session);
            self.events.publish(&mut self.batch, Handover::Now);
            // Waiting for input: the buffer the hand-over gave back is freed, not kept idle.
            self.batch.release_if_empty();
            return Poll::Pending;
        }
    }

    /// Takes ready inputs from the handles and the transport while `room` lasts (one input
    /// per event of room, and while the batch's payload stays under the byte room), feeding
    /// each to the session and draining it; returns how many it took.
    fn take_inputs(&mut self, cx: &mut Context<'_>, room: Room) -> usize {
        let now = clock();
        let limit = room.events;
        let byte_limit = self.batch.bytes().saturating_add(room.bytes);
        let mut taken = 0;
        while taken < limit && !self.orphaned {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(command)) => self.on_command(now, command),
                Poll::Ready(None) => {
                    // Every handle and the stream are gone: close cleanly, nobody is listening.
                    self.orphaned = true;
                    let _ = self.session.close(now);
                    self.drain();
                }
                Poll::Pending => break,
            }
            taken += 1;
        }
        while taken < limit && self.batch.bytes() < byte_limit {
            match self.transport.as_mut() {
                None => break,
                Some(Transport::Connecting { conn, attempt }) => {
                    let conn = *conn;
                    let Poll::Ready(result) = attempt.as_mut().poll(cx) else {
                        break;
                    };
                    // The handshake may have taken a while: a fresh reading for its outcome.
                    self.on_opened(clock(), conn, result);
                }
                Some(Transport::Open {
                    conn, ws, ended, ..
                }) => {
                    if *ended {
                        break;
                    }
                    let conn = *conn;
                    let Poll::Ready(item) = Pin::new(ws.as_mut()).poll_next(cx) else {
                        break;
                    };
                    self.on_inbound(now, conn, item);
                }
            }
            self.drain();
            taken += 1;
        }
        taken
    }

    /// Pushes frames queued on the open transport towards the socket. Returns whether it
    /// reported a failure to the session.
    fn flush(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(Transport::Open {
            conn,
            ws,
            unflushed: unflushed @ true,
            ended,
        }) = self.transport.as_mut()
        else {
            return false;
        };
        match Pin::new(ws.as_mut()).poll_flush(cx) {
            Poll::Ready(Ok(())) => *unflushed = false,
            Poll::Ready(Err(e)) => {
                *unflushed = false;
                if !*ended {
                    *ended = true;
                    let conn = *conn;
                    let error = errors::from_ws(&e);
                    self.session
                        .handle_input(clock(), Input::Failed { conn, error });
                    self.drain();
                    return true;
                }
            }
            // The socket's writable readiness wakes the task.
            Poll::Pending => {}
        }
        false
    }

    /// Sets the timer to the session's next deadline when that is earlier than the one it is
    /// set to. A later deadline keeps the earlier setting: that wake-up finds nothing due (the
    /// session ignores early timeouts) and re-arms, which is cheaper than moving the timer on
    /// every message that pushes a liveness deadline back.
    fn arm_timer(&mut self) {
        let Some(deadline) = self.session.poll_timeout() else {
            return;
        };
        if self.armed.is_some_and(|armed| armed <= deadline) {
            return;
        }
        self.timer.set_at(deadline);
        self.armed = Some(deadline);
    }

    /// Performs every queued action and collects every event, in order.
    ///
    /// The core's rule for inputs produced while draining: the driver must not call
    /// `handle_input` while draining `poll_output`; it performs the actions in order, queues
    /// the inputs its IO produced, and feeds them after the drain ends. So `perform` only
    /// queues in `produced`; each queued input is fed here once `poll_output` is empty, and
    /// what it causes is drained in turn.
    ///
    /// It takes the outputs one at a time (`poll_output`) rather than through a buffer: a
    /// buffer would keep the largest drain's capacity for the life of the session.
    ///
    /// Once the session has stopped, the mailbox is closed here, before the batch holding
    /// `Stopped` reaches the stream: a handle is `Gone` by the time the application sees the
    /// end (as in bind-mio), and the commands the mailbox still held are applied, so that each
    /// is answered by its `Event::Refused` (a send's frame handed back) instead of vanishing.
    fn drain(&mut self) {
        loop {
            while let Some(output) = self.session.poll_output() {
                match output {
                    Output::Action(action) => self.perform(action),
                    Output::Event(event) => {
                        #[cfg(feature = "tracing")]
                        reconnect_tungstenite::tracing_events::trace_event(&self.name, &event);
                        self.metrics.record(&event, &self.session);
                        self.batch.push(event);
                    }
                }
            }
            if let Some(input) = self.produced.pop_front() {
                self.session.handle_input(clock(), input);
                continue;
            }
            if self.session.is_stopped() && !self.mailbox_closed {
                self.mailbox_closed = true;
                let now = clock();
                for command in self.commands.close() {
                    self.session.apply(now, command);
                }
                continue;
            }
            break;
        }
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Connect { conn, attempt } => self.connect(conn, attempt),
            Action::Send { conn, frame, .. } => self.write(conn, message::data_message(frame)),
            Action::Ping { conn } => self.write(conn, message::ping_message()),
            Action::Close { conn, code, reason } => {
                let frame = message::close_frame(code, reason);
                self.write(conn, Message::Close(Some(frame)));
            }
            Action::Release { conn } => self.release(conn),
        }
    }

    fn connect(&mut self, conn: ConnId, attempt: u32) {
        let info = AttemptInfo::new(conn, attempt);
        match self.endpoint.request(info) {
            Ok(request) => {
                let plan = AttemptPlan {
                    host: self.endpoint.host().to_owned(),
                    port: self.endpoint.port(),
                    tls: self.endpoint.tls_client_config().cloned(),
                    request,
                    websocket: self.endpoint.websocket(),
                    budget: self.budget.clone(),
                };
                self.transport = Some(Transport::Connecting {
                    conn,
                    attempt: transport::start(plan),
                });
            }
            Err(e) => {
                // Queued, not fed: the drain in progress feeds it once it ends.
                let error = errors::from_ws(&e);
                self.produced
                    .push_back(Input::ConnectFailed { conn, error });
            }
        }
    }

    /// Queues `message` on the open transport `conn`; a failure is queued for the session, fed
    /// once the drain in progress ends.
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
                self.produced.push_back(Input::Failed { conn, error });
            }
        }
    }

    /// Drops the transport `conn` now. Frames queued just before (a close frame, the reply to the
    /// peer's close) get one non-blocking flush attempt first.
    fn release(&mut self, conn: ConnId) {
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
                // A no-op waker: the socket is dropped right after, nothing waits for it.
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let _ = Pin::new(ws.as_mut()).poll_flush(&mut cx);
            }
        }
    }

    fn on_opened(&mut self, now: Instant, conn: ConnId, result: Result<Box<Ws>, TransportError>) {
        match result {
            Ok(ws) => {
                self.transport = Some(Transport::Open {
                    conn,
                    ws,
                    unflushed: false,
                    ended: false,
                });
                self.session.handle_input(now, Input::Opened { conn });
            }
            Err(error) => {
                self.transport = None;
                self.session
                    .handle_input(now, Input::ConnectFailed { conn, error });
            }
        }
    }

    fn mark_ended(&mut self) {
        if let Some(Transport::Open { ended, .. }) = self.transport.as_mut() {
            *ended = true;
        }
    }

    fn mark_unflushed(&mut self) {
        if let Some(Transport::Open { unflushed, .. }) = self.transport.as_mut() {
            *unflushed = true;
        }
    }

    fn on_inbound(
        &mut self,
        now: Instant,
        conn: ConnId,
        item: Option<Result<Message, tungstenite::Error>>,
    ) {
        let input = match item {
            Some(Ok(message)) => {
                // An invalid close code on the wire is reported as such, not as tungstenite's
                // 1002.
                let wire = match &self.transport {
                    Some(Transport::Open { ws, .. }) => ws.get_ref().tap.first_close(),
                    _ => None,
                };
                // Raw frames are never yielded when reading messages.
                let Some(input) = message::inbound(conn, message, wire) else {
                    return;
                };
                match input {
                    // tungstenite queued the pong; the flush at the end of the turn sends it.
                    Input::Ping { .. } => self.mark_unflushed(),
                    // A close frame: tungstenite queued the reply (or this completes our own
                    // close); the release that follows flushes it once before dropping the
                    // socket.
                    Input::Closed { .. } | Input::Failed { .. } => {
                        self.mark_unflushed();
                        self.mark_ended();
                    }
                    _ => {}
                }
                input
            }
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
        // A refusal is the session's own `Event::Refused`, after what the due deadlines did.
        self.session.apply(now, command);
        self.drain();
    }
}
