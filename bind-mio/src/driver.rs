//! The driver: a `mio::Poll` of its own and every session on it, on one thread.

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use reconnect_core::{Event, Protocol, Session};
use reconnect_tungstenite::Endpoint;

use crate::config::DriverConfig;
use crate::embedded::Embedded;
use crate::handle::{DriverHandle, SessionHandle, SessionId};

/// Runs many reconnecting sessions on one thread, with its own `mio::Poll`.
///
/// Each iteration of the loop ([`run_once`](Self::run_once)):
///
/// 1. waits for socket readiness, a command from a handle, a resolver answer, or the earliest
///    deadline of any session (or of the connection budget), whichever comes first;
/// 2. reads the clock once for everything that happened (it read it once before, to know how
///    long to wait);
/// 3. feeds what happened to the sessions concerned, tagged with the `ConnId` of the socket it
///    came from, and runs the deadlines that are due;
/// 4. after every call into a session, drains its outputs: performs its actions (connect, send,
///    ping, close, release) and delivers its events, to the handler or to
///    [`poll_event`](Self::poll_event).
///
/// Every decision (when to connect, how long to wait, when a connection is dead, what to
/// restore) is the session's; the driver only does IO.
///
/// ```no_run
/// use bind_mio::prelude::*;
///
/// let mut driver = Driver::new(DriverConfig::default())?;
/// for i in 0..3 {
///     let mut session = Session::new(Config::new(i), RawAdapter::new()).unwrap();
///     session.subscribe(std::time::Instant::now(), r#"{"op":"subscribe","args":["trades"]}"#).unwrap();
///     driver.add_session(session, Endpoint::new("ws://127.0.0.1:9000/ws").unwrap());
/// }
/// driver.set_event_handler(|id, event| {
///     if let Some(text) = event.text() {
///         println!("{id}: {text}");
///     }
/// });
/// driver.run()?; // until a DriverHandle says shutdown
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Driver<P> {
    poll: Poll,
    events: Events,
    sessions: Embedded<P>,
    /// How many events the sessions had queued when [`run_once`](Self::run_once) last returned:
    /// more at the next call means some were queued outside the loop.
    queued_at_return: u64,
}

impl<P: Protocol> Driver<P> {
    /// A driver with its own poll (its waker on token 0, sockets on the tokens after it).
    ///
    /// # Errors
    /// Fails if the poll or its waker cannot be created.
    pub fn new(config: DriverConfig) -> io::Result<Self> {
        let poll = Poll::new()?;
        let events = Events::with_capacity(config.readiness_capacity.max(16));
        // Far below `usize::MAX`, which mio reserves on some platforms.
        let sessions = Embedded::new(poll.registry(), 0..(1 << 30), config)?;
        Ok(Driver {
            poll,
            events,
            sessions,
            queued_at_return: 0,
        })
    }

    /// Adds `session` and starts it if it is idle. See [`Embedded::add_session`].
    pub fn add_session(&mut self, session: Session<P>, endpoint: Endpoint) -> SessionId {
        self.sessions.add_session(session, endpoint)
    }

    /// Adds a session named `name` (the `session` label of its metrics, feature `metrics`).
    /// See [`Embedded::add_named_session`].
    pub fn add_named_session(
        &mut self,
        session: Session<P>,
        endpoint: Endpoint,
        name: impl Into<String>,
    ) -> SessionId {
        self.sessions.add_named_session(session, endpoint, name)
    }

    /// Removes a session at once. See [`Embedded::remove_session`].
    pub fn remove_session(&mut self, id: SessionId) -> Option<Session<P>> {
        self.sessions.remove_session(id)
    }

    /// The session, for its getters.
    pub fn session(&self, id: SessionId) -> Option<&Session<P>> {
        self.sessions.session(id)
    }

    /// Runs `f` on the session, then drains it. See [`Embedded::with_session`].
    pub fn with_session<R>(
        &mut self,
        id: SessionId,
        f: impl FnOnce(&mut Session<P>, Instant) -> R,
    ) -> Option<R> {
        self.sessions.with_session(id, f)
    }

    /// A handle for commands from any thread.
    pub fn handle(&self, id: SessionId) -> Option<SessionHandle> {
        self.sessions.handle(id)
    }

    /// A handle that can stop [`run`](Self::run) from any thread.
    pub fn driver_handle(&self) -> DriverHandle {
        self.sessions.driver_handle()
    }

    /// The ids of the sessions.
    pub fn session_ids(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.sessions.session_ids()
    }

    /// How many sessions the driver holds.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the driver holds no session.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Sockets currently held, for monitoring (and leak tests).
    pub fn sockets(&self) -> usize {
        self.sessions.sockets()
    }

    /// The next event, in order, when no handler is set.
    pub fn poll_event(&mut self) -> Option<(SessionId, Event)> {
        self.sessions.poll_event()
    }

    /// Moves every event queued for [`poll_event`](Self::poll_event) to the end of `out` at
    /// once, and returns how many it moved (0 when none was queued, or a handler is set).
    ///
    /// The batch form of `poll_event`, for throughput: one call per
    /// [`run_once`](Self::run_once) hands over everything the iteration produced, instead of one
    /// call per event.
    ///
    /// - **Order.** Events are appended in exactly the order `poll_event` would have returned
    ///   them (per session: the order the session produced them; across sessions: the order
    ///   the driver delivered them). What `out` already holds stays in front.
    /// - **Nothing lost.** After it returns, no event is left queued: the next `poll_event`
    ///   returns `None` until the driver delivers more. Mixing the two calls is fine.
    /// - **None yet, and the end.** It returns 0 when no event is waiting, as bind-smol's
    ///   `try_next_batch` does; a session's end is its `Stopped` event in both bindings.
    /// - **The caller's duty.** Events queue until taken (when no handler is set), and while
    ///   the queue is at its bound ([`DriverConfig::event_capacity`](crate::DriverConfig) and
    ///   `event_bytes`) the driver reads no socket, so call it after every `run_once`. Reuse
    ///   `out` (clear it after handling the batch) so its capacity is allocated once; a `Vec`
    ///   that is never cleared grows without bound.
    ///
    /// ```no_run
    /// # use bind_mio::prelude::*;
    /// # fn run(driver: &mut Driver<RawAdapter>) -> std::io::Result<()> {
    /// let mut batch = Vec::new();
    /// loop {
    ///     driver.run_once(None)?;
    ///     driver.drain_events(&mut batch);
    ///     for (id, event) in batch.drain(..) {
    ///         if let Some(bytes) = event.bytes() {
    ///             println!("{id}: {} bytes", bytes.len());
    ///         }
    ///     }
    /// }
    /// # }
    /// ```
    pub fn drain_events(&mut self, out: &mut Vec<(SessionId, Event)>) -> usize {
        self.sessions.drain_events(out)
    }

    /// Delivers every event to `handler` as it happens. See [`Embedded::set_event_handler`].
    pub fn set_event_handler(&mut self, handler: impl FnMut(SessionId, Event) + Send + 'static) {
        self.sessions.set_event_handler(handler);
    }

    /// One iteration: waits (at most `max_wait`, and never past the next deadline), then
    /// handles what happened and what is due.
    ///
    /// It does not wait at all when events were queued for [`poll_event`](Self::poll_event)
    /// since the previous iteration returned, by calls outside the loop
    /// ([`add_session`](Self::add_session) queues the first `Connecting`,
    /// [`with_session`](Self::with_session) a close's `Stopped`): otherwise a loop that calls
    /// `run_once` and then drains `poll_event` would hold them back until some unrelated
    /// readiness or deadline, or forever with no `max_wait`. Events an earlier iteration
    /// produced and nobody took do not shorten the wait (a loop that never takes its events
    /// does not spin).
    ///
    /// # Errors
    /// Fails only if the poll itself fails (an interrupted wait is not a failure).
    pub fn run_once(&mut self, max_wait: Option<Duration>) -> io::Result<()> {
        let queued_outside = self.sessions.queued_total() > self.queued_at_return;
        // The clock read that sizes the wait; the sessions read it again for what woke them.
        let now = Instant::now();
        let wait = if queued_outside {
            Some(Duration::ZERO)
        } else {
            let until_deadline = self
                .sessions
                .poll_timeout()
                .map(|t| t.saturating_duration_since(now));
            match (until_deadline, max_wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        match self.poll.poll(&mut self.events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        self.sessions.handle_events(&self.events);
        self.sessions.handle_timeout();
        // Whatever queues after this point was queued outside the loop.
        self.queued_at_return = self.sessions.queued_total();
        Ok(())
    }

    /// Runs the loop until [`DriverHandle::shutdown`].
    ///
    /// # Errors
    /// Fails only if the poll itself fails.
    pub fn run(&mut self) -> io::Result<()> {
        while !self.sessions.take_stop() {
            self.run_once(None)?;
        }
        Ok(())
    }
}
