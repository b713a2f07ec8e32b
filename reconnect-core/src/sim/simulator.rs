//! The simulator: a virtual clock and a fake network that drive a session as its driver would.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::network::{Conditions, ConnectOutcome, Link, Network};
use super::queue::{Delivery, Queue, Upstream};
use super::script::{Fault, Script};
use super::server::{ServerCtx, ServerOp, SimServer};
use super::summary::{Summary, Tally};
use super::transcript::{describe_action, describe_event, LineKind, Transcript};
use crate::boundary::{Action, Event, Input, Output};
use crate::conn_id::ConnId;
use crate::credentials::Credentials;
use crate::error::{TransportError, TransportErrorKind};
use crate::protocol::Protocol;
use crate::session::{CommandError, Session};

/// Steps at one virtual instant beyond which the simulator assumes something re-arms a
/// deadline at `now` forever (a bug in a server or the session) and panics instead of hanging.
const MAX_STEPS_AT_ONE_INSTANT: u32 = 1_000_000;

/// An event with the virtual time it was emitted at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedEvent {
    /// The virtual time, as an offset from the simulator's base instant.
    pub at: Duration,
    /// The event.
    pub event: Event,
}

/// What the next step handles; the declaration order breaks ties at equal times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Fault,
    Delivery,
    Server,
    Session,
}

/// Drives a [`Session`] through a scripted fake network and server on a virtual clock, and
/// records what happened.
///
/// It is the session's driver, and keeps the driver's rules: after every call into the session
/// it drains its outputs ([`Session::drain`]), performing each action (a `Connect` opens
/// a simulated connection, a `Send` puts a frame in flight, a `Release` drops the connection
/// at once); it feeds every input tagged with the [`ConnId`] of the connection it came from;
/// and it calls [`Session::handle_timeout`] when the virtual clock reaches
/// [`Session::poll_timeout`].
///
/// The clock starts at the base instant the caller gives and only ever jumps to the next thing
/// that happens: a session deadline, a delivery, a server deadline or a scripted fault (at equal
/// times, in that order: fault, delivery, server, session). Nothing sleeps, so hours of virtual
/// time take milliseconds.
///
/// After [`Action::Release`], the connection is gone for good: nothing more is sent on it, and
/// the server learns of it one latency later (even on a stalled link, standing for its
/// keep-alive). What was already in flight towards the client, and what the server sent before
/// it learned, still arrives and is fed to the session, which must drop it as stale (as a real
/// driver may still read bytes buffered on a socket it is dropping);
/// [`Summary::late_deliveries`] counts these.
pub struct Simulator<P, S> {
    session: Session<P>,
    server: S,
    base: Instant,
    now: Instant,
    script: Script,
    conditions: Conditions,
    queue: Queue,
    links: BTreeMap<ConnId, Link>,
    /// The connection of the session's latest `Connect`: what network faults act on.
    current: Option<ConnId>,
    credentials: Option<Credentials>,
    record_messages: bool,
    events: Vec<TimedEvent>,
    transcript: Transcript,
    tally: Tally,
    steps_at_now: u32,
    /// The drain buffer, kept to reuse its allocation.
    outputs: Vec<Output>,
}

impl<P: Protocol, S: SimServer> Simulator<P, S> {
    /// A simulator whose virtual clock starts at `base`, driving `session` (created, with its
    /// subscriptions and credentials set, but not started) against `server` over the default
    /// [`Network`] with an empty [`Script`].
    pub fn new(base: Instant, session: Session<P>, server: S) -> Self {
        let network = Network::default();
        Simulator {
            session,
            server,
            base,
            now: base,
            script: Script::new(),
            conditions: Conditions::new(&network),
            queue: Queue::default(),
            links: BTreeMap::new(),
            current: None,
            credentials: None,
            record_messages: false,
            events: Vec::new(),
            transcript: Transcript::default(),
            tally: Tally::default(),
            steps_at_now: 0,
            outputs: Vec::new(),
        }
    }

    /// Uses `network`'s latency settings. Call it before anything runs.
    pub fn network(mut self, network: Network) -> Self {
        self.conditions = Conditions::new(&network);
        self
    }

    /// Uses `script`'s faults.
    pub fn script(mut self, script: Script) -> Self {
        self.script = script;
        self
    }

    /// Answers every [`Event::CredentialsRequested`] with these credentials, at once. Without
    /// them the request goes unanswered and the session's credentials timeout decides.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Also records every data message as an event and a transcript line. Off by default:
    /// messages are only counted, so that long runs stay small and readable.
    pub fn record_messages(mut self, record: bool) -> Self {
        self.record_messages = record;
        self
    }

    // ---- getters -------------------------------------------------------------------------

    /// The session.
    pub fn session(&self) -> &Session<P> {
        &self.session
    }

    /// The server.
    pub fn server(&self) -> &S {
        &self.server
    }

    /// The server, mutably (to change its settings between steps).
    pub fn server_mut(&mut self) -> &mut S {
        &mut self.server
    }

    /// The base instant: virtual time zero.
    pub fn base(&self) -> Instant {
        self.base
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The virtual time, as an offset from the base instant.
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(self.base)
    }

    /// The events so far (data messages only with [`record_messages`](Self::record_messages)).
    pub fn events(&self) -> &[TimedEvent] {
        &self.events
    }

    /// Takes the events collected so far, leaving none.
    pub fn take_events(&mut self) -> Vec<TimedEvent> {
        std::mem::take(&mut self.events)
    }

    /// The transcript so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// The metrics so far.
    pub fn summary(&self) -> Summary {
        let stats = self.session.stats();
        Summary {
            virtual_time: self.elapsed(),
            outages_survived: self.tally.outages_survived,
            mean_time_to_restore: self.tally.mean_time_to_restore(),
            max_time_to_restore: self.tally.max_time_to_restore(),
            messages: self.tally.messages,
            gaps: self.tally.gaps,
            attempts: stats.attempts,
            failed_attempts: self.tally.failed_attempts,
            disconnects: self.tally.disconnects,
            stale_inputs: stats.stale_inputs,
            late_deliveries: self.tally.late_deliveries,
            faults: self.tally.faults,
            uptime: stats.uptime,
            downtime: stats.downtime,
        }
    }

    /// Simulated connections not yet forgotten (open, or with deliveries in flight). Stays
    /// small however long the run: finished connections are dropped.
    pub fn connections(&self) -> usize {
        self.links.len()
    }

    // ---- commands ------------------------------------------------------------------------

    /// Starts the session at the current virtual time.
    pub fn start(&mut self) -> Result<(), CommandError> {
        self.command("start", |session, now| session.start(now))
    }

    /// Runs a session command at the current virtual time, then drains its outputs; `name`
    /// goes into the transcript. For example
    /// `sim.command("close", |session, now| session.close(now))`.
    pub fn command<R>(&mut self, name: &str, f: impl FnOnce(&mut Session<P>, Instant) -> R) -> R {
        self.line(LineKind::Command, name.to_owned());
        let result = f(&mut self.session, self.now);
        self.drain();
        result
    }

    // ---- running -------------------------------------------------------------------------

    /// Handles the next thing that happens (advancing the clock to it); returns its virtual
    /// time, or `None` when nothing is left to happen.
    pub fn step(&mut self) -> Option<Duration> {
        let (at, source) = self.next_item()?;
        self.set_now(at);
        match source {
            Source::Fault => {
                if let Some((_, fault)) = self.script.pop_due(self.elapsed()) {
                    self.apply_fault(fault);
                }
            }
            Source::Delivery => {
                if let Some(delivery) = self.queue.pop_due(self.now) {
                    self.deliver(delivery);
                }
            }
            Source::Server => {
                self.call_server(|server, ctx| server.handle_timeout(ctx));
                if self.server.poll_timeout().is_some_and(|t| t <= self.now) {
                    panic!("the server's poll_timeout did not move past now after handle_timeout");
                }
            }
            Source::Session => {
                self.session.handle_timeout(self.now);
                self.drain();
            }
        }
        Some(self.elapsed())
    }

    /// Runs everything that happens up to virtual time `at` (an offset from the base), then
    /// sets the clock to `at`.
    pub fn run_until(&mut self, at: Duration) {
        let target = self.instant(at);
        while self.next_item().is_some_and(|(t, _)| t <= target) {
            self.step();
        }
        self.set_now(target);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.elapsed() + d);
    }

    /// Runs until an event matching `pred` is emitted (returning it) or virtual time
    /// `deadline` is reached (returning `None`). Data messages are only seen with
    /// [`record_messages`](Self::record_messages).
    pub fn run_until_event(
        &mut self,
        deadline: Duration,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Option<TimedEvent> {
        let target = self.instant(deadline);
        while self.next_item().is_some_and(|(t, _)| t <= target) {
            let seen = self.events.len();
            self.step();
            if let Some(found) = self.events[seen..].iter().find(|e| pred(&e.event)) {
                return Some(found.clone());
            }
        }
        self.set_now(target);
        None
    }

    // ---- the clock -----------------------------------------------------------------------

    fn instant(&self, offset: Duration) -> Instant {
        self.base
            .checked_add(offset)
            .expect("virtual time out of the range of Instant")
    }

    fn set_now(&mut self, at: Instant) {
        if at > self.now {
            self.now = at;
            self.steps_at_now = 0;
        } else {
            self.steps_at_now += 1;
            assert!(
                self.steps_at_now < MAX_STEPS_AT_ONE_INSTANT,
                "the simulation is stuck at {:?}: something re-arms a deadline at now",
                self.elapsed()
            );
        }
    }

    /// The earliest thing that happens next (never before now).
    fn next_item(&self) -> Option<(Instant, Source)> {
        let candidates = [
            (
                self.script.next_at().map(|d| self.instant(d)),
                Source::Fault,
            ),
            (self.queue.next_at(), Source::Delivery),
            (self.server.poll_timeout(), Source::Server),
            (self.session.poll_timeout(), Source::Session),
        ];
        let mut best: Option<(Instant, Source)> = None;
        for (at, source) in candidates {
            let Some(at) = at else { continue };
            let at = at.max(self.now);
            // Strictly earlier only: ties go to the source listed first.
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, source));
            }
        }
        best
    }

    // ---- the session side ----------------------------------------------------------------

    /// Drains the session's outputs: records events, performs actions. Performing only puts
    /// things in flight (nothing reaches the session before the drain ends), so the outputs are
    /// taken first, into a buffer reused from drain to drain.
    fn drain(&mut self) {
        let mut outputs = std::mem::take(&mut self.outputs);
        outputs.extend(self.session.drain());
        for output in outputs.drain(..) {
            match output {
                Output::Action(action) => {
                    if let Some((kind, text)) = describe_action(&action) {
                        self.line(kind, text);
                    }
                    self.perform(action);
                }
                Output::Event(event) => self.record(event),
            }
        }
        self.outputs = outputs;
    }

    fn record(&mut self, event: Event) {
        self.tally.observe(&event);
        if matches!(event, Event::CredentialsRequested) && self.credentials.is_some() {
            self.queue.push(self.now, Delivery::Credentials);
        }
        if matches!(event, Event::Message { .. }) && !self.record_messages {
            return;
        }
        let (kind, text) = describe_event(&event);
        self.line(kind, text);
        self.events.push(TimedEvent {
            at: self.elapsed(),
            event,
        });
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Connect { conn, .. } => self.connect(conn),
            Action::Send { conn, frame, .. } => self.upstream(conn, Upstream::Frame(frame)),
            Action::Ping { conn } => self.upstream(conn, Upstream::Ping),
            Action::Close { conn, code, reason } => self.upstream(
                conn,
                Upstream::Close {
                    code,
                    reason: reason.to_owned(),
                },
            ),
            Action::Release { conn } => {
                self.upstream(conn, Upstream::Gone);
                if let Some(link) = self.links.get_mut(&conn) {
                    link.released = true;
                }
            }
        }
    }

    fn connect(&mut self, conn: ConnId) {
        let latency = self.conditions.draw_latency();
        self.links.insert(conn, Link::new(self.now, latency));
        self.current = Some(conn);
        let round_trip = (latency + self.conditions.extra_latency(self.now)) * 2;
        match self.conditions.connect_outcome(self.now) {
            ConnectOutcome::Accept => {
                self.upstream(conn, Upstream::Accept);
                self.downstream_after(conn, round_trip, Input::Opened { conn });
            }
            ConnectOutcome::Refuse => {
                self.line(LineKind::Detail, format!("network refuses {conn}"));
                let error = TransportError::new(TransportErrorKind::Refused, "connection refused");
                self.downstream_after(conn, round_trip, Input::ConnectFailed { conn, error });
            }
            ConnectOutcome::Blackhole => {
                self.line(
                    LineKind::Detail,
                    format!("network drops {conn} (no answer)"),
                );
            }
            ConnectOutcome::Handshake(status, retry_after) => {
                self.line(
                    LineKind::Detail,
                    format!("server answers {conn} with HTTP {status}"),
                );
                let error = TransportError::new(
                    TransportErrorKind::Handshake {
                        status,
                        retry_after,
                    },
                    status_text(status),
                );
                self.downstream_after(conn, round_trip, Input::ConnectFailed { conn, error });
            }
        }
    }

    // ---- the network ---------------------------------------------------------------------

    fn one_way(&self, conn: ConnId) -> Duration {
        let latency = self.links.get(&conn).map_or(Duration::ZERO, |l| l.latency);
        latency + self.conditions.extra_latency(self.now)
    }

    /// Puts `input` in flight towards the session, after the link's latency.
    fn downstream(&mut self, conn: ConnId, input: Input) {
        let delay = self.one_way(conn);
        self.downstream_after(conn, delay, input);
    }

    fn downstream_after(&mut self, conn: ConnId, delay: Duration, input: Input) {
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        // In order, as on a TCP stream, even when the latency changed in between.
        let at = (self.now + delay).max(link.to_client_at);
        link.to_client_at = at;
        link.in_flight += 1;
        let cut = link.cut;
        self.queue.push(at, Delivery::ToClient { cut, input });
    }

    /// Puts `message` in flight towards the server. Nothing but `Gone` is sent on a released
    /// link (the session never does; this guards the simulator's own bookkeeping).
    fn upstream(&mut self, conn: ConnId, message: Upstream) {
        let delay = self.one_way(conn);
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        if link.released {
            return;
        }
        let at = (self.now + delay).max(link.to_server_at);
        link.to_server_at = at;
        link.in_flight += 1;
        let cut = link.cut;
        self.queue
            .push(at, Delivery::ToServer { conn, cut, message });
    }

    fn deliver(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::ToClient { cut, input } => {
                let conn = input.conn();
                let Some(link) = self.links.get_mut(&conn) else {
                    return;
                };
                link.in_flight -= 1;
                let lost = link.stalled || link.cut != cut;
                let late = link.released;
                self.forget_if_finished(conn);
                if lost {
                    return;
                }
                if late {
                    self.tally.late_deliveries += 1;
                }
                self.session.handle_input(self.now, input);
                self.drain();
            }
            Delivery::ToServer { conn, cut, message } => {
                let Some(link) = self.links.get_mut(&conn) else {
                    return;
                };
                link.in_flight -= 1;
                let lost = (link.stalled || link.cut != cut) && message != Upstream::Gone;
                if !lost {
                    self.arrive_at_server(conn, message);
                }
                self.forget_if_finished(conn);
            }
            Delivery::Credentials => {
                if let Some(credentials) = self.credentials.clone() {
                    self.line(LineKind::Detail, "credentials provided".to_owned());
                    // A refusal only means the session stopped meanwhile.
                    let _ = self.session.provide_credentials(self.now, credentials);
                    self.drain();
                }
            }
        }
    }

    fn forget_if_finished(&mut self, conn: ConnId) {
        if self.links.get(&conn).is_some_and(Link::finished) {
            self.links.remove(&conn);
        }
    }

    fn server_open(&self, conn: ConnId) -> bool {
        self.links.get(&conn).is_some_and(|l| l.server_open)
    }

    fn arrive_at_server(&mut self, conn: ConnId, message: Upstream) {
        match message {
            Upstream::Accept => {
                if let Some(link) = self.links.get_mut(&conn) {
                    link.server_open = true;
                }
                self.call_server(|server, ctx| server.on_connect(ctx, conn));
            }
            Upstream::Frame(frame) => {
                if self.server_open(conn) {
                    self.call_server(|server, ctx| server.on_frame(ctx, conn, &frame));
                }
            }
            Upstream::Ping => {
                if self.server_open(conn) {
                    self.downstream(conn, Input::Pong { conn });
                }
            }
            Upstream::Close { code, reason } => {
                if self.server_open(conn) {
                    // The server completes the close handshake by echoing the close frame.
                    self.downstream(
                        conn,
                        Input::Closed {
                            conn,
                            code: Some(code),
                            reason,
                        },
                    );
                    self.server_ended(conn);
                }
            }
            Upstream::Gone => {
                if self.server_open(conn) {
                    self.server_ended(conn);
                }
            }
        }
    }

    // ---- the server ----------------------------------------------------------------------

    /// Calls the server, then applies what it asked for, in order.
    fn call_server(&mut self, f: impl FnOnce(&mut S, &mut ServerCtx<'_>)) {
        let mut ops = Vec::new();
        let elapsed = self.elapsed();
        f(
            &mut self.server,
            &mut ServerCtx::new(self.now, elapsed, &mut ops),
        );
        for op in ops {
            match op {
                ServerOp::Send(conn, frame) => {
                    if self.server_open(conn) {
                        self.downstream(conn, Input::Frame { conn, frame });
                    }
                }
                ServerOp::Close(conn, code, reason) => self.server_close(conn, code, reason),
                ServerOp::Note(text) => self.line(LineKind::Detail, format!("server: {text}")),
            }
        }
    }

    /// The server sends a close frame on `conn` and forgets it.
    fn server_close(&mut self, conn: ConnId, code: u16, reason: String) {
        if !self.server_open(conn) {
            return;
        }
        self.downstream(
            conn,
            Input::Closed {
                conn,
                code: Some(code),
                reason,
            },
        );
        self.server_ended(conn);
    }

    /// The server side of `conn` is over: tell the server (exactly once).
    fn server_ended(&mut self, conn: ConnId) {
        if let Some(link) = self.links.get_mut(&conn) {
            link.server_open = false;
        }
        self.call_server(|server, ctx| server.on_disconnect(ctx, conn));
    }

    // ---- faults --------------------------------------------------------------------------

    /// The connection network faults act on: the latest, unless the session released it.
    fn target(&self) -> Option<ConnId> {
        self.current
            .filter(|c| self.links.get(c).is_some_and(|l| !l.released))
    }

    fn apply_fault(&mut self, fault: Fault) {
        self.tally.faults += 1;
        let target = self.target();
        let on = |conn: Option<ConnId>| match conn {
            Some(conn) => format!("fault: {fault} {conn}"),
            None => format!("fault: {fault} (no connection: nothing to do)"),
        };
        match &fault {
            Fault::Reset => {
                self.line(LineKind::Fault, on(target));
                if let Some(conn) = target {
                    self.reset(conn);
                }
            }
            Fault::Stall => {
                self.line(LineKind::Fault, on(target));
                if let Some(link) = target.and_then(|c| self.links.get_mut(&c)) {
                    link.stalled = true;
                }
            }
            Fault::Close { code, reason } => {
                let open = target.filter(|c| self.server_open(*c));
                self.line(LineKind::Fault, on(open));
                if let Some(conn) = open {
                    self.server_close(conn, *code, reason.clone());
                }
            }
            Fault::RefuseFor(d) => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                let until = self.now + *d;
                Conditions::extend(&mut self.conditions.refuse_until, until);
            }
            Fault::BlackholeFor(d) => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                let until = self.now + *d;
                Conditions::extend(&mut self.conditions.blackhole_until, until);
            }
            Fault::RejectHandshake {
                status,
                retry_after,
            } => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                self.conditions
                    .handshakes
                    .push_back((*status, *retry_after));
            }
            Fault::AddLatency { extra, duration } => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                self.conditions.slow = Some((self.now + *duration, *extra));
            }
            Fault::Restart { downtime } => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                let open: Vec<ConnId> = self
                    .links
                    .iter()
                    .filter(|(_, l)| l.server_open)
                    .map(|(c, _)| *c)
                    .collect();
                for conn in open {
                    self.server_close(conn, 1012, "service restart".to_owned());
                }
                self.call_server(|server, ctx| server.on_restart(ctx));
                let until = self.now + *downtime;
                Conditions::extend(&mut self.conditions.refuse_until, until);
            }
            Fault::Server(server_fault) => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                let mut supported = false;
                self.call_server(|server, ctx| supported = server.inject(ctx, server_fault));
                if !supported {
                    self.line(
                        LineKind::Fault,
                        "fault ignored: this server does not support it".to_owned(),
                    );
                }
            }
        }
    }

    /// A reset reaches both ends one latency later; whatever was in flight is lost.
    fn reset(&mut self, conn: ConnId) {
        if let Some(link) = self.links.get_mut(&conn) {
            link.cut += 1;
            link.stalled = false;
        }
        let error = TransportError::new(TransportErrorKind::Reset, "connection reset by peer");
        self.downstream(conn, Input::Failed { conn, error });
        if self.server_open(conn) {
            self.server_ended(conn);
        }
    }

    fn line(&mut self, kind: LineKind, text: String) {
        self.transcript.push(self.elapsed(), kind, text);
    }
}

/// The reason phrase of an HTTP status a handshake is rejected with.
fn status_text(status: u16) -> &'static str {
    match status {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "WebSocket upgrade refused",
    }
}

impl<P, S> std::fmt::Debug for Simulator<P, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("elapsed", &self.now.saturating_duration_since(self.base))
            .field("session", &self.session)
            .field("connections", &self.links.len())
            .field("in_flight", &self.queue.len())
            .field("faults_left", &self.script.len())
            .finish_non_exhaustive()
    }
}
