//! The simulator: a virtual clock and a fake network that drive a session as its driver would.

mod checked;
mod faults;
mod session_side;
mod wire;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::invariants::Call;
use super::network::{Conditions, Link, Network};
use super::queue::Queue;
use super::script::Script;
use super::server::SimServer;
use super::summary::{Summary, Tally};
use super::transcript::{LineKind, Transcript};
use crate::boundary::{Event, Output};
use crate::command::{Command, Refused};
use crate::conn_id::ConnId;
use crate::credentials::Credentials;
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
/// After [`Action::Release`](crate::Action::Release), the connection is gone for good: nothing more is sent on it, and
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
    /// The invariant checker, when one is attached, and the call being made.
    checker: Option<checked::Checker>,
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
            checker: None,
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
            mean_time_to_resubscribe: self.tally.mean_time_to_resubscribe(),
            max_time_to_resubscribe: self.tally.max_time_to_resubscribe(),
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
        self.expect_call(|| Call::Start);
        self.command("start", |session, now| session.start(now))
    }

    /// Applies an application command at the current virtual time
    /// ([`Session::apply`]), then drains its outputs; the command goes into the transcript, and
    /// to the attached checker as [`Call::Command`]. A refusal is an [`Event::Refused`] among
    /// the events, and returned.
    pub fn apply(&mut self, command: Command) -> Result<(), Refused> {
        let name = format!("{command:?}");
        self.expect_call(|| Call::Command(command.clone()));
        let seen = self.events.len();
        self.command(&name, |session, now| session.apply(now, command));
        match self.events[seen..].iter().find_map(|e| match &e.event {
            Event::Refused(refused) => Some(refused.clone()),
            _ => None,
        }) {
            Some(refused) => Err(refused),
            None => Ok(()),
        }
    }

    /// Runs a closure on the session at the current virtual time, then drains its outputs;
    /// `name` goes into the transcript. For example
    /// `sim.command("limit", |session, _| session.limit_frame_len(4096))`. Prefer
    /// [`apply`](Self::apply) for an application command: the attached checker knows this call
    /// only as [`Call::Other`] (see [`command_as`](Self::command_as)).
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
                self.expect_call(|| Call::Timeout);
                self.session.handle_timeout(self.now);
                self.drain();
            }
        }
        self.check_wire();
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

    fn line(&mut self, kind: LineKind, text: String) {
        self.transcript.push(self.elapsed(), kind, text);
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
