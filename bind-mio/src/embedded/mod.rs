//! Many sessions on a `mio::Poll` someone else owns: the engine under [`Driver`](crate::Driver),
//! usable on its own inside an existing event loop.
//!
//! One concern per file: the public surface, the event queue and the loop's entry points here;
//! the slab of sessions and connection slots ([`slab`]), the deadline heap ([`deadlines`]), the
//! data path's one loop ([`perform`]: `feed` a connection's inputs, `drain` the session,
//! `perform` each action, `settle` once per batch), the start of a connection attempt and its
//! admission ([`attempt`]), the resolver's answers ([`resolved`]), socket readiness
//! ([`readiness`]) and the handles' commands ([`requests`]).

mod attempt;
mod deadlines;
mod perform;
mod readiness;
mod requests;
mod resolved;
mod slab;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use mio::event::Event as MioEvent;
use mio::{Events, Registry, Token, Waker};
use reconnect_core::{Event, Protocol, Session};

use crate::admission::Admission;
use crate::config::DriverConfig;
use crate::conn::Conn;
use crate::handle::{self, DriverHandle, Inbox, Mailbox, SessionHandle, SessionId};
use crate::resolver::Resolver;
use crate::wake::Wake;
use reconnect_tungstenite::Endpoint;
use slab::{Entry, Slot, TokenPool};

/// Receives every event of every session, in order, as it happens.
pub type EventHandler = Box<dyn FnMut(SessionId, Event) + Send>;

/// Sessions registered with a `mio::Registry` you own, for embedding in an existing loop.
///
/// The binding registers its sockets (and, with [`Embedded::new`], its waker) under tokens of
/// the range you give, and never touches others. Your loop must:
///
/// 1. wait on your `Poll` no longer than [`poll_timeout`](Self::poll_timeout) (an instant in
///    the past means "do not sleep");
/// 2. pass every readiness event whose token the binding [`owns`](Self::owns) to
///    [`handle_event`](Self::handle_event) (or the whole batch to
///    [`handle_events`](Self::handle_events), which skips the others);
/// 3. call [`handle_timeout`](Self::handle_timeout) after every wake-up (it does nothing when
///    nothing is due).
///
/// ```no_run
/// use std::time::Instant;
/// use bind_mio::{DriverConfig, Embedded, Endpoint};
/// use mio::{Events, Poll};
/// use reconnect_core::{adapters::RawAdapter, Config, Session};
///
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(1024);
/// // Tokens 0..100 are yours; the binding gets 100..10_100 (its waker on 100).
/// let mut sessions = Embedded::new(poll.registry(), 100..10_100, DriverConfig::default())?;
/// let session = Session::new(Config::new(7), RawAdapter::new()).unwrap();
/// sessions.add_session(session, Endpoint::new("ws://127.0.0.1:9000/ws").unwrap());
/// loop {
///     let timeout = sessions
///         .poll_timeout()
///         .map(|t| t.saturating_duration_since(Instant::now()));
///     poll.poll(&mut events, timeout)?;
///     for event in events.iter() {
///         if sessions.owns(event.token()) {
///             sessions.handle_event(event);
///         } else {
///             // your own sources
///         }
///     }
///     sessions.handle_timeout();
///     while let Some((id, event)) = sessions.poll_event() {
///         println!("{id}: {event:?}");
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Embedded<P> {
    registry: Registry,
    waker_token: Option<Token>,
    wake: Arc<Wake>,
    mailbox: Mailbox,
    inbox: Inbox,
    stop: Arc<AtomicBool>,
    tokens: TokenPool,
    sessions: Vec<Slot<P>>,
    free_sessions: Vec<u32>,
    live_sessions: usize,
    conns: Vec<Option<Conn>>,
    resolver: Resolver,
    /// The connection budget and the attempts waiting for it.
    admission: Admission,
    deadlines: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    /// Connections whose read budget ran out before `WouldBlock`: (slot, serial).
    again: VecDeque<(usize, u64)>,
    /// Events waiting for the application (none while a handler is set).
    events: VecDeque<(SessionId, Event)>,
    /// Their payload bytes ([`Event::payload_len`]).
    event_bytes: usize,
    /// The bounds of `events` in number and in bytes: at either, no socket is read.
    event_capacity: usize,
    event_byte_capacity: usize,
    /// Connections not read because `events` was at a bound: served again (through `again`)
    /// once the application has taken events. Each is here at most once (`Conn::held`).
    held: Vec<(usize, u64)>,
    /// Events ever queued for the application: the driver compares it across an iteration to
    /// tell the events queued outside its loop (which must not wait for the next wake-up).
    queued_total: u64,
    /// The inputs of one read of a connection, reused from read to read.
    read_inputs: Vec<reconnect_core::Input>,
    handler: Option<EventHandler>,
    read_budget: usize,
    next_serial: u64,
    last_now: Option<Instant>,
}

impl<P: Protocol> Embedded<P> {
    /// Registers with `registry`: a waker on `tokens.start`, sockets on the rest of the range.
    /// mio allows one waker per poll: if your loop has its own, use
    /// [`with_waker`](Self::with_waker).
    ///
    /// # Errors
    /// Fails if the range holds fewer than two tokens or the waker cannot be registered.
    pub fn new(
        registry: &Registry,
        tokens: Range<usize>,
        config: DriverConfig,
    ) -> io::Result<Self> {
        if tokens.len() < 2 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the token range must hold a waker and at least one socket",
            ));
        }
        let waker_token = Token(tokens.start);
        let waker = Arc::new(Waker::new(registry, waker_token)?);
        let mut this = Self::build(registry, tokens.start + 1..tokens.end, waker, config)?;
        this.waker_token = Some(waker_token);
        Ok(this)
    }

    /// Registers sockets on every token of `tokens` and wakes your loop through your `waker`.
    /// Call [`handle_wake`](Self::handle_wake) whenever your waker's token is ready (the
    /// binding's handles and its resolver use it).
    ///
    /// # Errors
    /// Fails if the range is empty or the registry cannot be cloned.
    pub fn with_waker(
        registry: &Registry,
        tokens: Range<usize>,
        waker: Arc<Waker>,
        config: DriverConfig,
    ) -> io::Result<Self> {
        if tokens.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the token range is empty",
            ));
        }
        Self::build(registry, tokens, waker, config)
    }

    fn build(
        registry: &Registry,
        sockets: Range<usize>,
        waker: Arc<Waker>,
        config: DriverConfig,
    ) -> io::Result<Self> {
        let wake = Arc::new(Wake::new(waker));
        let (mailbox, inbox) = handle::mailbox(
            config.mailbox_capacity,
            config.mailbox_bytes,
            Arc::clone(&wake),
        );
        Ok(Embedded {
            registry: registry.try_clone()?,
            waker_token: None,
            mailbox,
            inbox,
            stop: Arc::new(AtomicBool::new(false)),
            tokens: TokenPool {
                base: sockets.start,
                capacity: sockets.len(),
                next: 0,
                free: VecDeque::new(),
            },
            sessions: Vec::new(),
            free_sessions: Vec::new(),
            live_sessions: 0,
            conns: Vec::new(),
            resolver: Resolver::new(config.resolver_threads, Arc::clone(&wake)),
            admission: Admission::new(config.connect_budget),
            deadlines: BinaryHeap::new(),
            again: VecDeque::new(),
            events: VecDeque::new(),
            event_bytes: 0,
            event_capacity: config.event_capacity.max(1),
            event_byte_capacity: config.event_bytes.max(1),
            held: Vec::new(),
            queued_total: 0,
            read_inputs: Vec::new(),
            handler: None,
            read_budget: config.read_budget.max(1),
            next_serial: 0,
            last_now: None,
            wake,
        })
    }

    // ---- sessions ------------------------------------------------------------------------

    /// Adds `session`, connecting to `endpoint`, and starts it if it is idle (subscribe and
    /// set credentials on it before adding, or through its handle afterwards).
    ///
    /// The session's [`max_frame_len`](reconnect_core::Config::max_frame_len) is lowered to
    /// what the endpoint's WebSocket configuration can write
    /// ([`max_frame_len`](crate::max_frame_len)), so an oversized send is refused instead of
    /// ending the connection.
    ///
    /// Its name (the `session` label of its metrics and the `session` field of its log events)
    /// is [`default_session_name`](reconnect_tungstenite::default_session_name)'s,
    /// `session-<n>` with `n` counting the process's unnamed sessions (bind-smol's scheme);
    /// [`add_named_session`](Self::add_named_session) gives one of your choosing.
    pub fn add_session(&mut self, session: Session<P>, endpoint: Endpoint) -> SessionId {
        self.insert_session(session, endpoint, None)
    }

    /// [`add_session`](Self::add_session), named `name`. The name is the `session` label of
    /// the session's metrics (feature `metrics`; without it the name is not kept): the
    /// application must keep it unique among the sessions of a process, and small (it is in
    /// every series).
    pub fn add_named_session(
        &mut self,
        session: Session<P>,
        endpoint: Endpoint,
        name: impl Into<String>,
    ) -> SessionId {
        self.insert_session(session, endpoint, Some(name.into()))
    }

    fn insert_session(
        &mut self,
        mut session: Session<P>,
        endpoint: Endpoint,
        name: Option<String>,
    ) -> SessionId {
        session.limit_frame_len(reconnect_tungstenite::max_frame_len(&endpoint.websocket()));
        let index = match self.free_sessions.pop() {
            Some(i) => i,
            None => {
                self.sessions.push(Slot {
                    generation: 0,
                    entry: None,
                });
                u32::try_from(self.sessions.len() - 1).expect("fewer than 2^32 sessions")
            }
        };
        let slot = &mut self.sessions[index as usize];
        let id = SessionId {
            index,
            generation: slot.generation,
        };
        // One name for the session's metrics and its log events.
        let name = name.unwrap_or_else(reconnect_tungstenite::default_session_name);
        #[cfg(feature = "metrics")]
        let metrics = reconnect_tungstenite::metrics::SessionMetrics::new(name.clone());
        slot.entry = Some(Entry {
            session,
            endpoint,
            conns: Vec::new(),
            alive: Arc::new(AtomicBool::new(true)),
            scheduled: None,
            name,
            #[cfg(feature = "metrics")]
            metrics,
        });
        self.live_sessions += 1;
        let now = self.now();
        if let Some(entry) = self.entry_mut(id) {
            if entry.session.state() == reconnect_core::State::Idle {
                // Cannot fail on an idle session.
                let _ = entry.session.start(now);
            }
        }
        self.drain(id, now);
        self.settle(id);
        id
    }

    /// Removes a session at once: its sockets are deregistered and closed without a close
    /// handshake, its handles fail from now on. Returns the session (for a snapshot, say).
    pub fn remove_session(&mut self, id: SessionId) -> Option<Session<P>> {
        let slot = self.sessions.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let entry = slot.entry.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free_sessions.push(id.index);
        self.live_sessions -= 1;
        entry.alive.store(false, Ordering::Release);
        for conn_slot in entry.conns {
            self.release_slot(conn_slot);
        }
        Some(entry.session)
    }

    /// The session, for its getters (`state`, `stats`, `subscriptions`, …).
    pub fn session(&self, id: SessionId) -> Option<&Session<P>> {
        self.entry(id).map(|e| &e.session)
    }

    /// Runs `f` on the session with the current time, then drains it (do not call
    /// `poll_output` inside `f`: the driver performs every action). For commands the handles
    /// do not offer, or to get the session's typed result back on the driver's thread.
    pub fn with_session<R>(
        &mut self,
        id: SessionId,
        f: impl FnOnce(&mut Session<P>, Instant) -> R,
    ) -> Option<R> {
        let now = self.now();
        let result = f(&mut self.entry_mut(id)?.session, now);
        self.drain(id, now);
        self.settle(id);
        Some(result)
    }

    /// A handle for commands from any thread.
    pub fn handle(&self, id: SessionId) -> Option<SessionHandle> {
        let entry = self.entry(id)?;
        Some(SessionHandle {
            id,
            mailbox: self.mailbox.clone(),
            alive: Arc::clone(&entry.alive),
            max_frame_len: entry.session.config().max_frame_len,
        })
    }

    /// A handle that can stop [`Driver::run`](crate::Driver::run) from any thread.
    pub fn driver_handle(&self) -> DriverHandle {
        DriverHandle {
            wake: Arc::clone(&self.wake),
            stop: Arc::clone(&self.stop),
        }
    }

    /// The ids of the sessions in the driver.
    pub fn session_ids(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.sessions.iter().enumerate().filter_map(|(i, slot)| {
            slot.entry.as_ref().map(|_| SessionId {
                index: i as u32,
                generation: slot.generation,
            })
        })
    }

    /// How many sessions the driver holds.
    pub fn len(&self) -> usize {
        self.live_sessions
    }

    /// Whether the driver holds no session.
    pub fn is_empty(&self) -> bool {
        self.live_sessions == 0
    }

    /// Sockets currently held (attempts in flight and open connections), for monitoring.
    pub fn sockets(&self) -> usize {
        self.conns.iter().filter(|c| c.is_some()).count()
    }

    // ---- events --------------------------------------------------------------------------

    /// The next event, in order, when no handler is set.
    pub fn poll_event(&mut self) -> Option<(SessionId, Event)> {
        let (id, event) = self.events.pop_front()?;
        self.event_bytes -= event.payload_len();
        self.release_held();
        Some((id, event))
    }

    /// Moves every queued event (none while a handler is set) to the end of `out` at once, in
    /// the order [`poll_event`](Self::poll_event) would have returned them, and returns how
    /// many it moved: 0 when none is waiting (bind-smol's `try_next_batch` answers alike; a
    /// session's end is its `Stopped` event in both). What `out` already holds stays in
    /// front; nothing is dropped.
    ///
    /// The batch form of [`poll_event`](Self::poll_event): one call per loop iteration instead
    /// of one per event. Reuse `out` (clear it after handling) so that its capacity is
    /// allocated once. The queue is bounded ([`DriverConfig::event_capacity`] and
    /// [`DriverConfig::event_bytes`]): while it is at a bound the driver reads no socket, so a
    /// loop must take events after every [`handle_events`](Self::handle_events) /
    /// [`handle_timeout`](Self::handle_timeout) (or set a handler).
    pub fn drain_events(&mut self, out: &mut Vec<(SessionId, Event)>) -> usize {
        let n = self.events.len();
        out.extend(self.events.drain(..));
        self.event_bytes = 0;
        self.release_held();
        n
    }

    /// Whether the events waiting for the application are at a bound: then no socket is read.
    fn events_full(&self) -> bool {
        self.handler.is_none()
            && (self.events.len() >= self.event_capacity
                || self.event_bytes >= self.event_byte_capacity)
    }

    /// Once the application has made room, the connections held back are served again at the
    /// next [`handle_timeout`](Self::handle_timeout) ([`poll_timeout`](Self::poll_timeout) says
    /// so at once).
    fn release_held(&mut self) {
        if self.held.is_empty() || self.events_full() {
            return;
        }
        for (slot, serial) in self.held.drain(..) {
            if let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) {
                if conn.serial == serial {
                    conn.held = false;
                    self.again.push_back((slot, serial));
                }
            }
        }
    }

    /// Delivers every event to `handler` as it happens, instead of queueing it for
    /// [`poll_event`](Self::poll_event) (events already queued stay there). The handler runs on
    /// the driver's thread inside the loop: it must not block; send commands through handles.
    pub fn set_event_handler(&mut self, handler: impl FnMut(SessionId, Event) + Send + 'static) {
        self.handler = Some(Box::new(handler));
        self.release_held();
    }

    // ---- the loop ------------------------------------------------------------------------

    /// Whether `token` is one of the binding's (its waker's or a socket's).
    pub fn owns(&self, token: Token) -> bool {
        Some(token) == self.waker_token
            || (token.0 >= self.tokens.base && token.0 - self.tokens.base < self.tokens.capacity)
    }

    /// The earliest instant the binding must be called again at (through
    /// [`handle_timeout`](Self::handle_timeout)); `None` when only readiness or a command can
    /// make progress. May be in the past: then poll without sleeping.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.deadlines.peek().map(|Reverse((t, _, _))| *t);
        // Before the first clock reading there is no session, so no attempt and no connection.
        if let Some(now) = self.last_now {
            let mut earlier = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
            if let Some(t) = self.admission.next_at(now) {
                earlier(t);
            }
            if !self.again.is_empty() {
                earlier(now);
            }
        }
        next
    }

    /// Handles one readiness event (events for tokens the binding does not own are ignored).
    pub fn handle_event(&mut self, event: &MioEvent) {
        let now = self.now();
        self.dispatch(event.token(), now);
    }

    /// Handles the binding's events of a batch, reading the clock once.
    pub fn handle_events(&mut self, events: &Events) {
        let now = self.now();
        for event in events.iter() {
            self.dispatch(event.token(), now);
        }
    }

    /// Reads the mailbox and the resolver's answers (call it when the waker you gave to
    /// [`with_waker`](Self::with_waker) fires; with [`new`](Self::new) the binding's own waker
    /// token arrives through [`handle_event`](Self::handle_event)).
    pub fn handle_wake(&mut self) {
        let now = self.now();
        self.process_mailbox(now);
    }

    /// Runs everything that is due: session deadlines, admitted connection attempts,
    /// connections with unread input, commands. Spurious calls are cheap.
    pub fn handle_timeout(&mut self) {
        let now = self.now();
        self.process_mailbox(now);
        self.serve_again(now);
        self.process_admission(now);
        self.run_deadlines(now);
    }

    /// Whether a [`DriverHandle::shutdown`] asked the loop to stop; clears the request.
    pub(crate) fn take_stop(&mut self) -> bool {
        self.stop.swap(false, Ordering::AcqRel)
    }

    // ---- internals -----------------------------------------------------------------------

    /// The embedded sessions' clock reading: once per entry point (a batch of readiness
    /// events, a wake-up, a timeout, a call from the application), never per event. The
    /// [`Driver`](crate::Driver) reads the clock once more per iteration, to know how long to
    /// wait; `.ci/run` checks that these are the binding's only reads.
    fn now(&mut self) -> Instant {
        let now = Instant::now();
        self.last_now = Some(now);
        now
    }
    fn dispatch(&mut self, token: Token, now: Instant) {
        if Some(token) == self.waker_token {
            self.process_mailbox(now);
        } else if let Some(slot) = self.tokens.slot_of(token) {
            self.serve_conn(slot, now);
        }
    }

    /// Hands `event` of session `id` to the application: logged and recorded first, then to
    /// the handler or the queue. A `Stopped` session's handles end here, before the
    /// application can see the event, so that a command it sends in answer gets
    /// [`HandleError::Gone`](crate::HandleError::Gone) as in bind-smol.
    fn deliver(&mut self, id: SessionId, event: Event) {
        if let Some(entry) = self.entry_mut(id) {
            #[cfg(feature = "tracing")]
            reconnect_tungstenite::tracing_events::trace_event(&entry.name, &event);
            #[cfg(feature = "metrics")]
            entry.metrics.record_batched(&event, &entry.session);
            if matches!(event, Event::Stopped { .. }) {
                entry.alive.store(false, Ordering::Release);
            }
        }
        match self.handler.as_mut() {
            Some(handler) => handler(id, event),
            None => {
                self.event_bytes += event.payload_len();
                self.queued_total += 1;
                self.events.push_back((id, event));
            }
        }
    }

    /// Events ever queued for the application.
    pub(crate) fn queued_total(&self) -> u64 {
        self.queued_total
    }
}

impl<P> Drop for Embedded<P> {
    fn drop(&mut self) {
        for slot in &self.sessions {
            if let Some(entry) = &slot.entry {
                entry.alive.store(false, Ordering::Release);
            }
        }
        for conn in self.conns.iter_mut().filter_map(Option::take) {
            conn.release(&self.registry);
        }
    }
}
