//! One generated case: a configuration, a fault script and the application's commands, and
//! how to run it against an adapter and a server with the checker attached.

use std::fmt;
use std::time::{Duration, Instant};

use crate::boundary::{CircuitState, Event, State, StopReason};
use crate::command::Command;
use crate::config::Config;
use crate::credentials::Credentials;
use crate::protocol::Protocol;
use crate::session::Session;
use crate::sim::invariants::{same_transcript, Invariant, Invariants, Violation};
use crate::sim::{Fault, Network, Script, SimServer, Simulator};

/// The rare path a scenario was built to reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RarePath {
    /// `close()` while a connection is being recycled.
    CloseDuringRecycle,
    /// Giving up after `max_attempts`.
    GiveUp,
    /// The circuit breaker opening.
    BreakerOpen,
}

/// One generated case.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The session's configuration.
    pub config: Config,
    /// The network's one-way latency.
    pub latency: Duration,
    /// The faults, at offsets from the start.
    pub faults: Vec<(Duration, Fault)>,
    /// The application's commands, at offsets from the start, each applied with
    /// [`Simulator::apply`].
    pub commands: Vec<(Duration, Command)>,
    /// Also `close` as soon as the session starts recycling its connection (`max_lifetime`):
    /// a command at an event rather than at a time, what [`RarePath::CloseDuringRecycle`]
    /// aims for.
    pub close_when_recycling: bool,
    /// The rare path the scenario was weighted towards, if any.
    pub rare: Option<RarePath>,
}

impl Scenario {
    /// Faults plus commands (the close when recycling included): how long the script is, for
    /// reports and shrinking checks.
    pub fn len(&self) -> usize {
        self.faults.len() + self.commands.len() + usize::from(self.close_when_recycling)
    }

    /// Whether the scenario scripts nothing at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// When the last fault or command is over (a refusal, blackhole, restart or stall of data
    /// counts until it ends).
    pub fn quiet_from(&self) -> Duration {
        let faults = self.faults.iter().map(|(at, f)| {
            *at + match f {
                Fault::RefuseFor(d) | Fault::BlackholeFor(d) => *d,
                Fault::Restart { downtime } => *downtime,
                Fault::AddLatency { duration, .. } => *duration,
                Fault::RejectHandshake { retry_after, .. } => retry_after.unwrap_or_default(),
                Fault::Server(crate::sim::ServerFault::StopData(d)) => *d,
                _ => Duration::ZERO,
            }
        });
        let commands = self.commands.iter().map(|(at, _)| *at);
        faults.chain(commands).max().unwrap_or_default()
    }

    /// How long a healthy network may take to bring the session back: every timeout of an
    /// attempt and a restore (its frames paced by the send rate), the longest delay before it
    /// (the cap, a `Retry-After` ceiling, a circuit cooldown), and the liveness checks that
    /// notice a dead link, twice over.
    pub fn recovery_bound(&self, topics: usize) -> Duration {
        let c = &self.config;
        let t = &c.timeouts;
        let requests = topics / c.resubscribe.batch_size.max(1) + 1;
        let attempt = t.connect
            + t.credentials
            + t.auth
            + t.setup
            + t.subscribe * requests as u32
            + self.latency * 8
            // The restore's frames at the send rate, with room for a few control frames.
            + c.limits
                .send_rate
                .map_or(Duration::ZERO, |r| r.interval() * (requests as u32 + 16));
        let wait = c.backoff.max
            + c.limits.retry_after_ceiling
            + c.limits
                .circuit_breaker
                .as_ref()
                .map_or(Duration::ZERO, |cb| cb.cooldown);
        let liveness = c.liveness.ping_interval.unwrap_or_default()
            + c.liveness.pong_timeout
            + c.liveness.idle_timeout.unwrap_or_default();
        (attempt + wait + liveness) * 2 + Duration::from_secs(5)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items: Vec<(Duration, String)> = self
            .faults
            .iter()
            .map(|(at, fault)| (*at, format!("fault: {fault}")))
            .chain(
                self.commands
                    .iter()
                    .map(|(at, c)| (*at, format!("command: {c:?}"))),
            )
            .collect();
        items.sort_by_key(|(at, _)| *at);
        writeln!(f, "{} step(s), latency {:?}", self.len(), self.latency)?;
        if self.close_when_recycling {
            writeln!(f, "  on Recycling: command: Close")?;
        }
        for (at, what) in items {
            writeln!(f, "  +{:.3}s {what}", at.as_secs_f64())?;
        }
        Ok(())
    }
}

/// What a scenario's run reached, besides breaking no rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `close()` landed while a connection was being recycled.
    pub closed_during_recycle: bool,
    /// The session gave up after `max_attempts`.
    pub gave_up: bool,
    /// The circuit breaker opened.
    pub breaker_opened: bool,
    /// Calls the checker checked.
    pub steps: u64,
}

/// What the runner needs to build the pieces of a run.
pub(crate) struct Pieces<'a, P, S> {
    pub(crate) base: Instant,
    pub(crate) topics: &'a [String],
    pub(crate) credentials: Option<&'a Credentials>,
    pub(crate) adapter: &'a dyn Fn() -> P,
    pub(crate) server: &'a dyn Fn() -> S,
}

/// A run's result: the transcript (for the determinism check) and what it reached.
type Run = Result<(String, Outcome), Violation>;

pub(crate) fn run_twice<P: Protocol, S: SimServer>(
    scenario: &Scenario,
    pieces: &Pieces<'_, P, S>,
) -> Result<Option<Outcome>, Violation> {
    let Some(first) = run_once(scenario, pieces) else {
        return Ok(None);
    };
    let (transcript, outcome) = first?;
    if let Some(second) = run_once(scenario, pieces) {
        let (again, _) = second?;
        same_transcript(&transcript, &again)?;
    }
    Ok(Some(outcome))
}

/// Runs `scenario` once; `None` when the adapter refuses its configuration.
fn run_once<P: Protocol, S: SimServer>(
    scenario: &Scenario,
    pieces: &Pieces<'_, P, S>,
) -> Option<Run> {
    let base = pieces.base;
    let mut session = Session::new(scenario.config.clone(), (pieces.adapter)()).ok()?;
    if let Some(credentials) = pieces.credentials {
        session.set_credentials(credentials.clone());
    }
    for topic in pieces.topics {
        session.subscribe(base, topic.as_str()).ok()?;
    }
    let invariants = Invariants::for_session(&session);
    let mut script = Script::new();
    for (at, fault) in &scenario.faults {
        script.push(*at, fault.clone());
    }
    let mut sim = Simulator::new(base, session, (pieces.server)())
        .network(Network::new().latency(scenario.latency))
        .script(script)
        .check(invariants);
    if let Some(credentials) = pieces.credentials {
        sim = sim.credentials(credentials.clone());
    }
    let _ = sim.start();
    let mut commands = scenario.commands.clone();
    commands.sort_by_key(|(at, _)| *at);
    let mut close_on_recycle = scenario.close_when_recycling;
    let mut outcome = Outcome::default();
    let end = scenario.quiet_from() + scenario.recovery_bound(pieces.topics.len());
    let mut commands = commands.into_iter().peekable();
    loop {
        let until = commands.peek().map_or(end, |(at, _)| *at);
        if close_on_recycle {
            if sim
                .run_until_event(until, |e| matches!(e, Event::Recycling { .. }))
                .is_some()
            {
                close_on_recycle = false;
                let recycling = matches!(sim.session().state(), State::Closing { .. });
                let _ = sim.apply(Command::Close);
                outcome.closed_during_recycle |= recycling;
                continue;
            }
        } else {
            sim.run_until(until);
        }
        if sim.violation().is_some() {
            break;
        }
        let Some((_, command)) = commands.next() else {
            break;
        };
        // A refusal is an event in the transcript, and the checker reads it there.
        let _ = sim.apply(command);
    }
    if let Some(v) = sim.violation() {
        return Some(Err(v.clone()));
    }
    for e in sim.events() {
        match &e.event {
            Event::Stopped {
                reason: StopReason::GaveUp { .. },
            } => outcome.gave_up = true,
            Event::Circuit {
                state: CircuitState::Open,
                ..
            } => outcome.breaker_opened = true,
            _ => {}
        }
    }
    // Recovery: once the network is healthy again, the session is live again (or stopped for
    // a reason of its own: closed, gave up, a fatal answer) within the bound. A connection
    // being recycled at the end gets one more bound to come back.
    let bound = scenario.recovery_bound(pieces.topics.len());
    let settled = |state: &State| matches!(state, State::Live { .. } | State::Stopped(_));
    if !settled(&sim.session().state()) {
        let state = sim.session().state();
        let back = sim.run_until_event(end + bound, |e| {
            matches!(e, Event::Live { .. } | Event::Stopped { .. })
        });
        if sim.violation().is_none() && back.is_none() {
            let invariants = sim.invariants_mut().expect("attached");
            return Some(Err(invariants.report(
                Invariant::Recovery,
                format!(
                    "{state:?} {bound:?} after the last fault or command ended, and not live \
                     another {bound:?} later"
                ),
            )));
        }
    }
    if let Some(v) = sim.violation() {
        return Some(Err(v.clone()));
    }
    outcome.steps = sim.invariants().map_or(0, Invariants::steps);
    Some(Ok((sim.transcript().to_string(), outcome)))
}
