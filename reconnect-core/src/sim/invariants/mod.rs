//! The invariants every session must keep, as a checker anyone can attach: to the
//! [`Simulator`](super::Simulator) (see [`Simulator::check`](super::Simulator::check)), to a
//! property test of their own adapter (feature `proptest`: `sim::proptest::Kit` runs an
//! adapter through generated faults with this checker attached), to a fuzz target, or to a
//! hand-written driver.
//!
//! [`Invariants`] watches the calls a driver makes into a [`Session`], the outputs each call
//! produced, the session's getters after it and, where a simulated server can say which topics
//! it holds, the simulated wire. It works from the [`Config`] alone: nothing in it asks the
//! session's own code what the answer should be (the backoff bounds, for one, are worked out
//! from [`BackoffConfig`](crate::BackoffConfig)'s documented formula, see [`delay_range`]). It
//! reports the first violation as a [`Violation`]: the step, the [`Invariant`] and the evidence.
//!
//! # What it checks
//!
//! | [`Invariant`] | the rule |
//! |---|---|
//! | `BackoffBounds` | every drawn delay is within the range its jitter mode and failure count give; first retries, circuit cooldowns and `Retry-After` delays within theirs; nothing over `backoff.max` but those two |
//! | `BackoffSpread` | draws with the base at the cap are not all equal |
//! | `BackoffGrowth` | consecutive failures count up (so the base grows) until a connection is stable; each attempt is numbered after them |
//! | `OneConnection` | one `Connect` and one `Release` per `ConnId`, ids increasing, never two in flight |
//! | `FrameOrder` | no frame before its connection opened or after its `Close`/`Release`; no subscription before the auth ack |
//! | `Resubscribe` | at `Live`, every topic wanted all along is subscribed (or waits to retry); never a topic that is not wanted |
//! | `Wire` | what the server holds: every topic the session confirmed is there, nothing unwanted is |
//! | `Timers` | `poll_timeout()` is never before the latest `now`, and is set while a deadline-driven state is active |
//! | `Deadline` | the connect, credentials, auth, close and backoff deadlines fire within their configured durations, and no attempt starts before its delay ended |
//! | `Outbox` | application frames only while live, in the order given, each once; the queue within its bound (and empty while live, unless a send rate holds sends back) |
//! | `SendRate` | with `limits.send_rate` set, no connection writes more than `frames + burst - 1` frames (sends and pings) in any window of `per` |
//! | `CloseTerminal` | no attempt after `close()` or a stop; nothing at all after `Stopped`; no transport and no deadline once stopped |
//! | `Credentials` | the application is asked for credentials before an attempt exactly when the policy (or an ending that asked for fresh ones) says so |
//! | `Determinism` | the same seed and script give the same transcript (see [`same_transcript`]) |
//! | `Recovery` | with the network healthy again, the session is live again within a bound (checked by the property runner) |
//!
//! # Driving it by hand
//!
//! After every call into the session and the drain of its outputs, hand the checker the call,
//! the `now` it was made at, the outputs and the session. An application command is a
//! [`Call::Command`] carrying the core's [`Command`]; applied with
//! [`Session::apply`](crate::Session::apply), its refusal is among the outputs and the checker
//! reads it there:
//!
//! ```
//! use std::time::Instant;
//! use reconnect_core::adapters::RawAdapter;
//! use reconnect_core::sim::{Call, Invariants};
//! use reconnect_core::{Command, Config, Input, Output, Session};
//!
//! let config = Config::new(1);
//! let mut session = Session::new(config.clone(), RawAdapter::new()).unwrap();
//! let mut invariants = Invariants::new(&config);
//! let now = Instant::now();
//! session.start(now).unwrap();
//! let outputs: Vec<Output> = session.drain().collect();
//! invariants.check(now, Call::Start, &outputs, &session).unwrap();
//! let conn = session.current_conn().unwrap();
//! session.handle_input(now, Input::Opened { conn });
//! let outputs: Vec<Output> = session.drain().collect();
//! invariants
//!     .check(now, Call::Input(Input::Opened { conn }), &outputs, &session)
//!     .unwrap();
//! let subscribe = Command::Subscribe("ticks".into());
//! session.apply(now, subscribe.clone());
//! let outputs: Vec<Output> = session.drain().collect();
//! invariants
//!     .check(now, Call::Command(subscribe), &outputs, &session)
//!     .unwrap();
//! assert_eq!(invariants.wanted(), ["ticks"]);
//! ```

mod backoff;
mod connections;
mod determinism;
mod lifecycle;
mod outbox;
mod send_rate;
mod subscriptions;
mod timers;

use std::fmt;
use std::time::{Duration, Instant};

use crate::boundary::{Event, Input, Output};
use crate::command::Command;
use crate::config::Config;
use crate::conn_id::ConnId;
use crate::protocol::Protocol;
use crate::session::Session;

pub use backoff::{delay_range, DelayRange};
pub use determinism::same_transcript;

/// One rule a session must keep. See the [module documentation](self) for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Invariant {
    /// Drawn delays within their documented bounds.
    BackoffBounds,
    /// Draws at the cap stay spread.
    BackoffSpread,
    /// Failures count up until a stable connection.
    BackoffGrowth,
    /// Never two connections at once.
    OneConnection,
    /// No frame before its connection is ready or after it closed.
    FrameOrder,
    /// Exactly the wanted subscriptions restored.
    Resubscribe,
    /// The server holds what the session believes it does.
    Wire,
    /// `poll_timeout()` never in the past, set when needed.
    Timers,
    /// Deadlines fire within their configured durations.
    Deadline,
    /// The outbox's order and bounds.
    Outbox,
    /// `close()` and a stop are terminal.
    CloseTerminal,
    /// Credentials asked for exactly when the policy says.
    Credentials,
    /// Same seed, same transcript.
    Determinism,
    /// Live again once the network is healthy.
    Recovery,
    /// No connection writes more frames in a window than its send rate allows.
    SendRate,
}

impl Invariant {
    /// A short name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::BackoffBounds => "backoff bounds",
            Invariant::BackoffSpread => "backoff spread at the cap",
            Invariant::BackoffGrowth => "backoff growth",
            Invariant::OneConnection => "one connection at a time",
            Invariant::FrameOrder => "no frame before ready or after close",
            Invariant::Resubscribe => "exactly the wanted subscriptions resubscribed",
            Invariant::Wire => "the server holds the confirmed subscriptions",
            Invariant::Timers => "poll_timeout",
            Invariant::Deadline => "deadlines fire in time",
            Invariant::Outbox => "outbox order and bounds",
            Invariant::CloseTerminal => "close is terminal",
            Invariant::Credentials => "credentials asked for when the policy says",
            Invariant::Determinism => "same seed, same transcript",
            Invariant::Recovery => "live again once the network is healthy",
            Invariant::SendRate => "frames within the send rate",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The first broken invariant: when (the checked call's number, counted from 1, and its time
/// since the first checked call), which rule, and what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The number of the call whose outputs broke the rule (1 for the first checked call).
    pub step: u64,
    /// The time of that call, as an offset from the first checked call.
    pub at: Duration,
    /// The rule.
    pub invariant: Invariant,
    /// What was seen, in words.
    pub evidence: String,
}

impl Violation {
    /// A violation of `invariant` at step `step`, `at` into the run.
    pub fn new(step: u64, at: Duration, invariant: Invariant, evidence: impl Into<String>) -> Self {
        Violation {
            step,
            at,
            invariant,
            evidence: evidence.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {} at +{:.3}s: {}: {}",
            self.step,
            self.at.as_secs_f64(),
            self.invariant,
            self.evidence
        )
    }
}

impl std::error::Error for Violation {}

/// A call the driver made into the session, as the checker needs to know it: `start`, an
/// input, a tick, or an application [`Command`] (the same value
/// [`Session::apply`](crate::Session::apply) takes, whether the driver applied it so or called
/// the matching method).
///
/// A command the session refused changed nothing, and the checker must not take it as done (a
/// [`Command::Subscribe`] taken for a refused topic would make it expect the topic restored).
/// Applied with [`Session::apply`](crate::Session::apply), a refusal is among the outputs, as
/// [`Event::Refused`], and the checker reads it there. A driver that
/// calls the methods instead announces a refused command as [`Call::Other`]. Subscribing a
/// topic already wanted, or unsubscribing one not wanted, changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Call {
    /// `start`.
    Start,
    /// `handle_input` with this input.
    Input(Input),
    /// `handle_timeout`.
    Timeout,
    /// An application command: [`Session::apply`](crate::Session::apply) or the method it
    /// names.
    Command(Command),
    /// Anything else: a call the checker has no rule about (`limit_frame_len`, a closure run
    /// through [`Simulator::command`](super::Simulator::command)), or a command the session
    /// refused without saying so in its outputs.
    Other,
}

impl Call {
    /// The command, when the call is one.
    pub fn command(&self) -> Option<&Command> {
        match self {
            Call::Command(command) => Some(command),
            _ => None,
        }
    }
}

/// What every family of rules sees of the call being checked.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) step: u64,
    pub(crate) now: Instant,
    pub(crate) at: Duration,
    /// Whether the session took the call's `now` as its clock.
    pub(crate) advanced: bool,
    pub(crate) call: &'a Call,
    pub(crate) config: &'a Config,
}

impl Ctx<'_> {
    pub(crate) fn fail(&self, invariant: Invariant, evidence: impl Into<String>) -> Violation {
        Violation::new(self.step, self.at, invariant, evidence)
    }
}

pub(crate) type Checked = Result<(), Violation>;

/// The invariant checker: an independent model of what a session with this [`Config`] may
/// emit, fed every call, its outputs and the session's getters after it.
///
/// The driver must call [`check`](Self::check) after every call into the session (including
/// `handle_timeout`), with the outputs that call produced, in order, and nothing skipped; a
/// checker that misses outputs reports false violations. Once it has reported a violation it
/// keeps returning it.
#[derive(Debug)]
pub struct Invariants {
    config: Config,
    base: Option<Instant>,
    last_now: Option<Instant>,
    step: u64,
    violation: Option<Violation>,
    rules: Rules,
}

/// The state of each family of rules.
#[derive(Debug, Default)]
struct Rules {
    connections: connections::Connections,
    backoff: backoff::Backoff,
    lifecycle: lifecycle::Lifecycle,
    subscriptions: subscriptions::Subscriptions,
    outbox: outbox::Outbox,
    send_rate: send_rate::SendRate,
    timers: timers::Timers,
}

impl Invariants {
    /// A checker for a fresh session with this configuration.
    pub fn new(config: &Config) -> Self {
        Invariants {
            config: config.clone(),
            base: None,
            last_now: None,
            step: 0,
            violation: None,
            rules: Rules::default(),
        }
    }

    /// A checker for `session`, not started yet: its configuration, and the topics it was
    /// given before the checker was made as already wanted.
    pub fn for_session<P: Protocol>(session: &Session<P>) -> Self {
        let mut invariants = Invariants::new(session.config());
        for s in session.subscriptions() {
            invariants.rules.subscriptions.want(s.topic.as_str());
        }
        invariants
    }

    /// Declares `topic` wanted before the checked calls begin (subscribed before the checker
    /// was attached).
    pub fn wanting(mut self, topic: &str) -> Self {
        self.rules.subscriptions.want(topic);
        self
    }

    /// The first violation seen, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// Calls checked so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Checks one call: `call` made at `now` produced `outputs` (all of them, in order), and
    /// left `session` as it is now. Returns the first violation (this one or an earlier one).
    pub fn check<P: Protocol>(
        &mut self,
        now: Instant,
        call: Call,
        outputs: &[Output],
        session: &Session<P>,
    ) -> Result<(), Violation> {
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        self.step += 1;
        let base = *self.base.get_or_insert(now);
        // The session clamps time (it never goes backwards), and a call it refuses up front
        // (an input for a stale transport, a command after close) leaves its clock alone.
        let advances = self.rules.advances(&call);
        let clock = self.last_now.unwrap_or(now);
        let now = if advances { now.max(clock) } else { clock };
        self.last_now = Some(now);
        // A command the session refused changed nothing: no rule may take it as done.
        let call = if refused(&call, outputs) {
            Call::Other
        } else {
            call
        };
        let ctx = Ctx {
            step: self.step,
            now,
            advanced: advances,
            at: now.saturating_duration_since(base),
            call: &call,
            config: &self.config,
        };
        let result = self.rules.check_call(&ctx, outputs, session);
        if let Err(v) = &result {
            self.violation = Some(v.clone());
        }
        result
    }

    /// Checks the simulated wire: `server_topics` are the topics the server holds for `conn`,
    /// read when nothing the session sent on `conn` is still on its way to the server and the
    /// link is healthy. Every topic the session confirmed on `conn` and still wants must be
    /// there; nothing it never wanted on `conn` may be.
    pub fn check_wire(&mut self, conn: ConnId, server_topics: &[String]) -> Result<(), Violation> {
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        let at = self.at();
        let rules = &self.rules;
        let result =
            rules
                .subscriptions
                .wire(self.step, at, conn, server_topics, &rules.connections);
        if let Err(v) = &result {
            self.violation = Some(v.clone());
        }
        result
    }

    /// Records a violation found outside the per-call rules (by a runner: recovery,
    /// determinism), unless one was found already; returns the first.
    pub fn report(&mut self, invariant: Invariant, evidence: impl Into<String>) -> Violation {
        let at = self.at();
        self.violation
            .get_or_insert_with(|| Violation::new(self.step, at, invariant, evidence))
            .clone()
    }

    fn at(&self) -> Duration {
        match (self.base, self.last_now) {
            (Some(base), Some(now)) => now.saturating_duration_since(base),
            _ => Duration::ZERO,
        }
    }

    /// The topics the checker believes the application wants, in subscription order.
    pub fn wanted(&self) -> &[String] {
        self.rules.subscriptions.wanted()
    }

    /// Whether a `Stopped` event was seen.
    pub fn stopped(&self) -> bool {
        self.rules.lifecycle.stopped()
    }
}

/// Whether `call` is a command whose refusal, [`Event::Refused`], is among `outputs` (what
/// [`Session::apply`](crate::Session::apply) reports; one call refuses at most its own
/// command).
fn refused(call: &Call, outputs: &[Output]) -> bool {
    let Some(command) = call.command() else {
        return false;
    };
    outputs.iter().any(
        |output| matches!(output, Output::Event(Event::Refused(r)) if r.command == command.kind()),
    )
}

impl Rules {
    /// Whether the session takes the call's `now` (calls it refuses up front do not).
    fn advances(&self, call: &Call) -> bool {
        let current = self.connections.current.as_ref().map(|c| c.id);
        let closing = self.lifecycle.stopped() || self.lifecycle.close_called();
        let started = self.lifecycle.started();
        match call {
            Call::Start => !started && !closing,
            Call::Input(input) => Some(input.conn()) == current,
            Call::Timeout => true,
            Call::Command(Command::ReconnectNow) => started && !closing,
            // The one command that takes no `now`.
            Call::Command(Command::SetCredentials(_)) => false,
            _ => !closing,
        }
    }

    fn check_call<P: Protocol>(
        &mut self,
        ctx: &Ctx<'_>,
        outputs: &[Output],
        session: &Session<P>,
    ) -> Checked {
        self.subscriptions.begin(ctx);
        self.lifecycle.begin(ctx);
        self.outbox.begin(ctx);
        for output in outputs {
            self.lifecycle.output(ctx, output)?;
            self.connections.output(ctx, output)?;
            self.backoff.output(ctx, output, &self.connections)?;
            self.timers.output(ctx, output, &self.connections)?;
            self.subscriptions.output(ctx, output, &self.connections)?;
            self.outbox.output(ctx, output, &self.connections)?;
            self.send_rate.output(ctx, output)?;
        }
        self.subscriptions.end(ctx, &self.connections)?;
        self.connections.after(ctx, session)?;
        self.lifecycle.after(ctx, session)?;
        self.backoff.after(ctx, session)?;
        self.timers.after(ctx, session, &self.connections)?;
        self.outbox.after(ctx, session)?;
        Ok(())
    }
}
