//! Many sessions on a `mio::Poll` someone else owns: the engine under [`Driver`](crate::Driver),
//! usable on its own inside an existing event loop.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use mio::event::Event as MioEvent;
use mio::{Events, Registry, Token, Waker};
use reconnect_core::{
    Action, ConnId, Input, Output, Protocol, Session, TransportError, TransportErrorKind,
};
use rustls_pki_types::ServerName;

use crate::admission::Bucket;
use crate::config::DriverConfig;
use crate::conn::{Conn, TlsTarget};
use crate::endpoint::{AttemptInfo, Endpoint};
use crate::errors;
use crate::event::Event;
use crate::handle::{
    self, DriverHandle, Envelope, Inbox, Mailbox, Request, SessionHandle, SessionId,
};
use crate::resolver::{Resolved, Resolver};
use crate::wake::Wake;

/// Receives every event of every session, in order, as it happens.
pub type EventHandler = Box<dyn FnMut(SessionId, Event) + Send>;

/// A session and what the driver keeps beside it.
struct Entry<P> {
    session: Session<P>,
    endpoint: Endpoint,
    /// Connection slots of this session (at most one attempt is in flight; a closing one may
    /// linger until its `Release`).
    conns: Vec<usize>,
    alive: Arc<AtomicBool>,
    /// The deadline pushed on the heap for this session, if any.
    scheduled: Option<Instant>,
}

struct Slot<P> {
    generation: u32,
    entry: Option<Entry<P>>,
}

/// Socket tokens, handed out first-in first-out so a freed token is reused as late as
/// possible (a stale readiness event for it would only be a spurious wake-up anyway).
struct TokenPool {
    base: usize,
    capacity: usize,
    next: usize,
    free: VecDeque<usize>,
}

impl TokenPool {
    fn alloc(&mut self) -> Option<usize> {
        if let Some(i) = self.free.pop_front() {
            return Some(i);
        }
        (self.next < self.capacity).then(|| {
            self.next += 1;
            self.next - 1
        })
    }

    fn release(&mut self, i: usize) {
        self.free.push_back(i);
    }

    fn slot_of(&self, token: Token) -> Option<usize> {
        let i = token.0.checked_sub(self.base)?;
        (i < self.next).then_some(i)
    }

    fn token(&self, i: usize) -> Token {
        Token(self.base + i)
    }
}

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
    bucket: Option<Bucket>,
    /// Attempts waiting for the connection budget: (slot, serial).
    admission: VecDeque<(usize, u64)>,
    deadlines: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    /// Connections whose read budget ran out before `WouldBlock`: (slot, serial).
    again: VecDeque<(usize, u64)>,
    events: VecDeque<(SessionId, Event)>,
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
            bucket: config
                .connect_rate
                .map(|r| Bucket::new(r.per_second, r.burst)),
            admission: VecDeque::new(),
            deadlines: BinaryHeap::new(),
            again: VecDeque::new(),
            events: VecDeque::new(),
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
    pub fn add_session(&mut self, mut session: Session<P>, endpoint: Endpoint) -> SessionId {
        session.limit_frame_len(crate::endpoint::max_frame_len(&endpoint.websocket()));
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
        slot.entry = Some(Entry {
            session,
            endpoint,
            conns: Vec::new(),
            alive: Arc::new(AtomicBool::new(true)),
            scheduled: None,
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
        self.events.pop_front()
    }

    /// Delivers every event to `handler` as it happens, instead of queueing it for
    /// [`poll_event`](Self::poll_event) (events already queued stay there). The handler runs on
    /// the driver's thread inside the loop: it must not block; send commands through handles.
    pub fn set_event_handler(&mut self, handler: impl FnMut(SessionId, Event) + Send + 'static) {
        self.handler = Some(Box::new(handler));
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
        let mut earlier = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if let (Some(bucket), false) = (&self.bucket, self.admission.is_empty()) {
            let now = self.last_now.unwrap_or_else(Instant::now);
            earlier(bucket.next_token_at(now));
        }
        if !self.again.is_empty() {
            earlier(self.last_now.unwrap_or_else(Instant::now));
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

    /// The only clock read of the binding.
    fn now(&mut self) -> Instant {
        let now = Instant::now();
        self.last_now = Some(now);
        now
    }

    fn entry(&self, id: SessionId) -> Option<&Entry<P>> {
        let slot = self.sessions.get(id.index as usize)?;
        (slot.generation == id.generation)
            .then_some(slot.entry.as_ref())
            .flatten()
    }

    fn entry_mut(&mut self, id: SessionId) -> Option<&mut Entry<P>> {
        let slot = self.sessions.get_mut(id.index as usize)?;
        (slot.generation == id.generation)
            .then_some(slot.entry.as_mut())
            .flatten()
    }

    fn dispatch(&mut self, token: Token, now: Instant) {
        if Some(token) == self.waker_token {
            self.process_mailbox(now);
        } else if let Some(slot) = self.tokens.slot_of(token) {
            self.serve_conn(slot, now);
        }
    }

    fn deliver(&mut self, id: SessionId, event: Event) {
        match self.handler.as_mut() {
            Some(handler) => handler(id, event),
            None => self.events.push_back((id, event)),
        }
    }

    /// Feeds one input, then drains.
    fn feed(&mut self, id: SessionId, now: Instant, input: Input) {
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        entry.session.handle_input(now, input);
        self.drain(id, now);
    }

    /// Drains the session's outputs, performing actions and delivering events, until it has
    /// nothing left; inputs that performing produced are fed one at a time, each followed by
    /// another drain. Then the session's deadline is rescheduled.
    fn drain(&mut self, id: SessionId, now: Instant) {
        let mut inputs: VecDeque<Input> = VecDeque::new();
        let mut touched: Vec<(usize, u64)> = Vec::new();
        loop {
            loop {
                let Some(entry) = self.entry_mut(id) else {
                    return;
                };
                let Some(output) = entry.session.poll_output() else {
                    break;
                };
                match output {
                    Output::Event(event) => self.deliver(id, Event::Session(event)),
                    Output::Action(action) => {
                        let mut produced = Vec::new();
                        self.perform(id, action, now, &mut produced, &mut touched);
                        inputs.extend(produced);
                    }
                }
            }
            // One flush per connection per batch: tungstenite buffers the frames.
            for (slot, serial) in touched.drain(..) {
                let mut produced = Vec::new();
                if let Some(conn) = conn_in(&mut self.conns, slot, serial) {
                    conn.flush(&mut produced);
                    if conn.has_ended() {
                        conn.drop_socket(&self.registry);
                    }
                }
                inputs.extend(produced);
            }
            let Some(input) = inputs.pop_front() else {
                break;
            };
            let Some(entry) = self.entry_mut(id) else {
                return;
            };
            entry.session.handle_input(now, input);
        }
        self.reschedule(id);
    }

    fn reschedule(&mut self, id: SessionId) {
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        let next = entry.session.poll_timeout();
        if next == entry.scheduled {
            return;
        }
        entry.scheduled = next;
        if let Some(t) = next {
            self.deadlines.push(Reverse((t, id.index, id.generation)));
        }
        // Superseded deadlines stay in the heap until popped; keep them from piling up.
        if self.deadlines.len() > 2 * self.live_sessions + 64 {
            self.rebuild_deadlines();
        }
    }

    fn rebuild_deadlines(&mut self) {
        let mut heap = BinaryHeap::with_capacity(self.live_sessions);
        for (i, slot) in self.sessions.iter().enumerate() {
            if let Some(t) = slot.entry.as_ref().and_then(|e| e.scheduled) {
                heap.push(Reverse((t, i as u32, slot.generation)));
            }
        }
        self.deadlines = heap;
    }

    fn run_deadlines(&mut self, now: Instant) {
        while let Some(&Reverse((t, index, generation))) = self.deadlines.peek() {
            if t > now {
                break;
            }
            self.deadlines.pop();
            let id = SessionId { index, generation };
            let Some(entry) = self.entry_mut(id) else {
                continue;
            };
            if entry.scheduled != Some(t) {
                continue; // superseded
            }
            entry.scheduled = None;
            entry.session.handle_timeout(now);
            self.drain(id, now);
        }
    }

    fn conn_mut(&mut self, slot: usize, serial: u64) -> Option<&mut Conn> {
        conn_in(&mut self.conns, slot, serial)
    }

    /// The slot of the session's connection `conn`.
    fn find_conn(&self, id: SessionId, conn: ConnId) -> Option<usize> {
        let entry = self.entry(id)?;
        entry.conns.iter().copied().find(|&slot| {
            self.conns
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.id == conn)
        })
    }

    fn perform(
        &mut self,
        id: SessionId,
        action: Action,
        now: Instant,
        produced: &mut Vec<Input>,
        touched: &mut Vec<(usize, u64)>,
    ) {
        match action {
            Action::Connect { conn, attempt } => {
                self.begin_attempt(id, conn, attempt, now, produced)
            }
            Action::Send { conn, frame, .. } => {
                if let Some(slot) = self.find_conn(id, conn) {
                    let c = self.conns[slot].as_mut().expect("found above");
                    c.send(frame, produced);
                    touched.push((slot, c.serial));
                }
            }
            Action::Ping { conn } => {
                if let Some(slot) = self.find_conn(id, conn) {
                    let c = self.conns[slot].as_mut().expect("found above");
                    c.ping(produced);
                    touched.push((slot, c.serial));
                }
            }
            Action::Close { conn, code, reason } => {
                if let Some(slot) = self.find_conn(id, conn) {
                    let c = self.conns[slot].as_mut().expect("found above");
                    c.close(code, reason, produced);
                    touched.push((slot, c.serial));
                }
            }
            Action::Release { conn } => {
                if let Some(slot) = self.find_conn(id, conn) {
                    if let Some(entry) = self.entry_mut(id) {
                        entry.conns.retain(|&s| s != slot);
                    }
                    self.release_slot(slot);
                }
            }
        }
    }

    fn release_slot(&mut self, slot: usize) {
        if let Some(conn) = self.conns.get_mut(slot).and_then(Option::take) {
            conn.release(&self.registry);
            self.tokens.release(slot);
        }
    }

    fn begin_attempt(
        &mut self,
        id: SessionId,
        conn: ConnId,
        attempt: u32,
        now: Instant,
        produced: &mut Vec<Input>,
    ) {
        let failed = |kind, detail: &str| Input::ConnectFailed {
            conn,
            error: TransportError::new(kind, detail),
        };
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        let request = match entry.endpoint.request(AttemptInfo { conn, attempt }) {
            Ok(r) => r,
            Err(e) => {
                produced.push(Input::ConnectFailed {
                    conn,
                    error: errors::from_ws(&e),
                });
                return;
            }
        };
        let tls = match entry.endpoint.tls_client_config() {
            None => None,
            Some(config) => match ServerName::try_from(entry.endpoint.host().to_owned()) {
                Ok(name) => Some(TlsTarget {
                    config: Arc::clone(config),
                    name,
                }),
                Err(_) => {
                    produced.push(failed(
                        TransportErrorKind::InvalidUrl,
                        "the host is not a TLS server name",
                    ));
                    return;
                }
            },
        };
        let websocket = entry.endpoint.websocket();
        let Some(slot) = self.tokens.alloc() else {
            produced.push(failed(
                TransportErrorKind::Io,
                "no free token left in the driver's range",
            ));
            return;
        };
        let serial = self.next_serial;
        self.next_serial += 1;
        let token = self.tokens.token(slot);
        if self.conns.len() <= slot {
            self.conns.resize_with(slot + 1, || None);
        }
        self.conns[slot] = Some(Conn::new(id, conn, serial, token, request, tls, websocket));
        if let Some(entry) = self.entry_mut(id) {
            entry.conns.push(slot);
        }
        let admitted = match self.bucket.as_mut() {
            None => true,
            Some(bucket) => self.admission.is_empty() && bucket.try_take(now),
        };
        if admitted {
            self.admit(slot, produced);
        } else {
            self.admission.push_back((slot, serial));
        }
    }

    /// Starts the admitted attempt in `slot`: resolve, or connect to an IP literal at once.
    fn admit(&mut self, slot: usize, produced: &mut Vec<Input>) {
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let id = conn.session;
        let Some(entry) = self
            .sessions
            .get(id.index as usize)
            .and_then(|s| s.entry.as_ref())
        else {
            return;
        };
        let port = entry.endpoint.port();
        if let Some(ip) = entry.endpoint.ip_literal() {
            conn.connect(
                &self.registry,
                [std::net::SocketAddr::new(ip, port)],
                produced,
            );
            return;
        }
        conn.set_resolving();
        let key = (slot, conn.serial);
        if let Err(e) = self.resolver.lookup(key, entry.endpoint.host(), port) {
            conn.fail_early(
                TransportError::new(TransportErrorKind::Dns, e.to_string()),
                produced,
            );
        }
    }

    fn process_admission(&mut self, now: Instant) {
        while let Some(&(slot, serial)) = self.admission.front() {
            let waiting = self
                .conn_mut(slot, serial)
                .is_some_and(|c| c.awaits_admission());
            if !waiting {
                // Released while it waited (its connect timeout passed, say).
                self.admission.pop_front();
                continue;
            }
            if !self.bucket.as_mut().is_some_and(|b| b.try_take(now)) {
                break;
            }
            self.admission.pop_front();
            let mut produced = Vec::new();
            self.admit(slot, &mut produced);
            self.feed_all(slot, serial, now, produced);
        }
    }

    /// Feeds inputs of the connection in `slot` to its session, one at a time.
    fn feed_all(&mut self, slot: usize, serial: u64, now: Instant, inputs: Vec<Input>) {
        let Some(id) = self.conn_mut(slot, serial).map(|c| c.session) else {
            return;
        };
        if let Some(c) = conn_in(&mut self.conns, slot, serial) {
            if c.has_ended() {
                c.drop_socket(&self.registry);
            }
        }
        for input in inputs {
            self.feed(id, now, input);
        }
    }

    fn process_mailbox(&mut self, now: Instant) {
        self.wake.reset();
        while let Some(resolved) = self.resolver.try_next() {
            self.on_resolved(resolved, now);
        }
        // Bounded by the mailbox's capacity.
        while let Ok(Envelope(id, request)) = self.inbox.try_recv() {
            self.run_request(id, request, now);
        }
    }

    fn on_resolved(&mut self, resolved: Resolved, now: Instant) {
        let (slot, serial) = resolved.key;
        let registry = &self.registry;
        let Some(conn) = self
            .conns
            .get_mut(slot)
            .and_then(Option::as_mut)
            .filter(|c| c.serial == serial && c.awaits_resolution())
        else {
            return; // the attempt was released meanwhile
        };
        let mut produced = Vec::new();
        match resolved.addrs {
            Ok(addrs) => conn.connect(registry, addrs, &mut produced),
            Err(e) => conn.fail_early(
                TransportError::new(TransportErrorKind::Dns, e.to_string()),
                &mut produced,
            ),
        }
        self.feed_all(slot, serial, now, produced);
    }

    fn serve_conn(&mut self, slot: usize, now: Instant) {
        let budget = self.read_budget;
        let registry = &self.registry;
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let serial = conn.serial;
        let mut produced = Vec::new();
        if conn.on_ready(registry, budget, &mut produced) {
            self.again.push_back((slot, serial));
        }
        self.feed_all(slot, serial, now, produced);
    }

    fn serve_again(&mut self, now: Instant) {
        for _ in 0..self.again.len() {
            let Some((slot, serial)) = self.again.pop_front() else {
                break;
            };
            if self.conn_mut(slot, serial).is_some() {
                self.serve_conn(slot, now);
            }
        }
    }

    fn run_request(&mut self, id: SessionId, request: Request, now: Instant) {
        let command = match request {
            Request::Command(command) => command,
            Request::Remove => {
                if self.remove_session(id).is_some() {
                    self.deliver(id, Event::Removed);
                }
                return;
            }
        };
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        let verdict = entry.session.apply(now, command);
        // Whatever due deadlines did before the command comes first.
        self.drain(id, now);
        if let Err(refused) = verdict {
            self.deliver(id, Event::Refused(refused));
        }
    }
}

/// The connection in `slot`, if it is still attempt `serial`.
fn conn_in(conns: &mut [Option<Conn>], slot: usize, serial: u64) -> Option<&mut Conn> {
    conns.get_mut(slot)?.as_mut().filter(|c| c.serial == serial)
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
