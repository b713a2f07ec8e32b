//! The driver: turns abstract steps into concrete calls on a session, drains every output after
//! every call (as the contract demands), hands them to the [`Observer`], checks the session's
//! getters against the model after every step, and at the end replays the recorded calls on a
//! fresh session to check determinism.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reconnect_core::sim::{Call, Invariants};
use reconnect_core::{
    Action, Command, CommandError, ConnId, Credentials, Event, Frame, Input, Output, SendError,
    SendOptions, SendStatus, Session, State, Stats, SubscribeError, SubscribeStatus, Topic,
    TransportError, TransportErrorKind, UnsubscribeStatus,
};

use crate::common::line_adapter::{self as line, Request};
use crate::common::rig::base;
use crate::model::observer::{msg_number, CallCtx, Msg, Observer, SendCtx, Sub};
use crate::model::steps::{
    Scenario, SendStep, Seq, ServerStep, Step, Target, TimeStep, TransportStep, TOPICS,
    UNKNOWN_TOPIC,
};

/// What a call returned: the model's own bookkeeping beside the public checker's [`Call`],
/// because the model checks the exact result of each method (`SubscribeStatus`,
/// `UnsubscribeStatus`, `SendStatus`, which error), where `Session::apply` reports only a
/// refusal.
#[derive(Clone, Debug, PartialEq)]
pub enum Ret {
    /// A handler (returns nothing).
    Unit,
    /// A plain command.
    Command(Result<(), CommandError>),
    /// `subscribe`.
    Subscribe(Result<SubscribeStatus, SubscribeError>),
    /// `unsubscribe`.
    Unsubscribe(Result<UnsubscribeStatus, CommandError>),
    /// `send_with`.
    Send(Result<SendStatus, SendError>),
}

/// A call with its time, its result and everything it emitted, as recorded for the replay.
#[derive(Clone, Debug)]
pub struct Record {
    /// The `now` passed.
    pub at: Instant,
    /// The call, as made (a command the session refused included).
    pub call: Call,
    /// What it returned.
    pub ret: Ret,
    /// Every output drained after it.
    pub outputs: Vec<Output>,
}

/// Creates the session of a scenario.
pub fn new_session(scenario: &Scenario) -> Session<line::LineAdapter> {
    let mut session = Session::new(scenario.config.clone(), scenario.adapter.clone())
        .expect("the strategy only makes valid configurations");
    if scenario.credentials {
        session.set_credentials(Credentials::new("key-1"));
    }
    session
}

/// Performs one call on a session. A command goes through the method it names, for its typed
/// result.
pub fn exec(session: &mut Session<line::LineAdapter>, at: Instant, call: &Call) -> Ret {
    match call {
        Call::Start => Ret::Command(session.start(at)),
        Call::Input(input) => {
            session.handle_input(at, input.clone());
            Ret::Unit
        }
        Call::Timeout => {
            session.handle_timeout(at);
            Ret::Unit
        }
        Call::Command(command) => match command.clone() {
            Command::Subscribe(topic) => Ret::Subscribe(session.subscribe(at, topic)),
            Command::Unsubscribe(topic) => {
                Ret::Unsubscribe(session.unsubscribe(at, topic.as_str()))
            }
            Command::Send(frame, options) => Ret::Send(session.send_with(at, frame, options)),
            Command::Close => Ret::Command(session.close(at)),
            Command::ReconnectNow => Ret::Command(session.reconnect_now(at)),
            Command::Pause => Ret::Command(session.pause(at)),
            Command::Resume => Ret::Command(session.resume(at)),
            Command::SetCredentials(credentials) => {
                session.set_credentials(credentials);
                Ret::Unit
            }
            Command::ProvideCredentials(credentials) => {
                Ret::Command(session.provide_credentials(at, credentials))
            }
            Command::CredentialsFailed(why) => Ret::Command(session.credentials_failed(at, &why)),
            other => panic!("the model makes no {other:?}"),
        },
        other => panic!("the model makes no {other:?}"),
    }
}

/// The call as the public checker must know it: a subscription or an unsubscription only when
/// the session took it (a method reports a refusal in its result, not among the outputs).
fn public_call(call: &Call, ret: &Ret) -> Call {
    match (call, ret) {
        (Call::Command(Command::Subscribe(_)), Ret::Subscribe(Err(_)))
        | (
            Call::Command(Command::Unsubscribe(_)),
            Ret::Unsubscribe(Err(_) | Ok(UnsubscribeStatus::NotWanted)),
        ) => Call::Other,
        _ => call.clone(),
    }
}

/// The credentials the model provides when asked.
fn credentials() -> Command {
    Command::ProvideCredentials(Credentials::new("key-2"))
}

/// Drains every output (rule 2 of the contract).
pub fn drain(session: &mut Session<line::LineAdapter>) -> Vec<Output> {
    std::iter::from_fn(|| session.poll_output()).collect()
}

/// Time since the base instant, for messages.
fn t(at: Instant) -> Duration {
    at.saturating_duration_since(base())
}

/// Stats with the time counters zeroed, for comparisons across calls that only move the clock.
fn timeless(stats: &Stats) -> Stats {
    let mut s = stats.clone();
    s.uptime = Duration::ZERO;
    s.downtime = Duration::ZERO;
    s
}

/// How often the runs so far reached each rare path: `close()` while a connection was being
/// recycled, giving up after `max_attempts`, the circuit breaker opening.
pub static RARE_PATHS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

/// Runs steps against one session and checks every invariant after each.
pub struct Driver {
    scenario: Scenario,
    session: Session<line::LineAdapter>,
    obs: Observer,
    /// The library's public invariant checker, fed every call as the observer is.
    invariants: Invariants,
    /// The driver's clock; never goes back.
    clock: Instant,
    /// The session's clock: the latest `now` of a call that advanced it.
    session_clock: Instant,
    rewind: Option<Duration>,
    log: Vec<Record>,
    next_msg: u64,
    data_seq: HashMap<&'static str, u64>,
    steps: usize,
    /// A `Recycling` event was seen and the recycled connection has not been replaced yet.
    recycling: bool,
}

impl Driver {
    /// A driver for a fresh session of `scenario`.
    pub fn new(scenario: Scenario) -> Self {
        let session = new_session(&scenario);
        let obs = Observer::new(scenario.config.clone(), scenario.adapter.clone());
        let invariants = Invariants::for_session(&session);
        Driver {
            scenario,
            session,
            obs,
            invariants,
            clock: base(),
            session_clock: base(),
            rewind: None,
            log: Vec::new(),
            next_msg: 0,
            data_seq: HashMap::new(),
            steps: 0,
            recycling: false,
        }
    }

    fn fail(&self, what: &str) -> ! {
        let mut history = String::new();
        let from = self.log.len().saturating_sub(12);
        for (i, r) in self.log.iter().enumerate().skip(from) {
            let _ = writeln!(
                history,
                "  call {i} at +{:?}: {:?} -> {:?}",
                t(r.at),
                r.call,
                r.ret
            );
            for o in &r.outputs {
                let _ = writeln!(history, "      {o:?}");
            }
        }
        panic!(
            "invariant broken at step {}: {what}\nstate: {:?}\nscenario: {:?}\nlast calls:\n{history}",
            self.steps,
            self.session.state(),
            self.scenario
        );
    }

    /// The time the next call carries (earlier than the clock once after a rewind step).
    fn at(&mut self) -> Instant {
        match self.rewind.take() {
            Some(d) => self
                .clock
                .checked_sub(d)
                .map_or(base(), |at| at.max(base())),
            None => self.clock,
        }
    }

    /// Whether `call` reaches the point where the session advances its clock (commands refused
    /// up front and stale inputs do not).
    fn advances(&self, call: &Call) -> bool {
        let state = self.session.state();
        let stopped = matches!(state, State::Stopped(_));
        let closing = stopped || (matches!(state, State::Closing { .. }) && self.obs.close_called);
        match call {
            Call::Start => state == State::Idle,
            Call::Input(input) => Some(input.conn()) == self.session.current_conn(),
            Call::Timeout => true,
            Call::Command(Command::ReconnectNow) => !closing && state != State::Idle,
            Call::Command(Command::SetCredentials(_)) => false,
            _ => !closing,
        }
    }

    /// Counts the rare paths this call reached (see [`RARE_PATHS`]).
    fn count_rare_paths(&mut self, call: &Call, outputs: &[Output]) {
        use reconnect_core::{CircuitState, Event, StopReason};
        if matches!(call, Call::Command(Command::Close)) && self.recycling {
            RARE_PATHS[0].fetch_add(1, Ordering::Relaxed);
        }
        for output in outputs {
            match output {
                Output::Event(Event::Recycling { .. }) => self.recycling = true,
                Output::Event(Event::Live { .. } | Event::Stopped { .. })
                | Output::Action(Action::Connect { .. }) => self.recycling = false,
                _ => {}
            }
            match output {
                Output::Event(Event::Stopped {
                    reason: StopReason::GaveUp { .. },
                }) => {
                    RARE_PATHS[1].fetch_add(1, Ordering::Relaxed);
                }
                Output::Event(Event::Circuit {
                    state: CircuitState::Open,
                    ..
                }) => {
                    RARE_PATHS[2].fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    }

    /// Performs a call, checks its outputs and the session's getters, and records it.
    fn call(&mut self, call: Call, answered: Option<u64>) -> Ret {
        let at = self.at();
        let advances = self.advances(&call);
        let effective = if advances {
            self.session_clock.max(at)
        } else {
            self.session_clock
        };
        let state_before = self.session.state();
        let stats_before = self.session.stats().clone();
        let timeout_before = self.session.poll_timeout();
        let stale =
            matches!(&call, Call::Input(i) if Some(i.conn()) != self.session.current_conn());
        let stopped_before = self.obs.stopped;
        let wanted_before = self.obs.wanted.clone();
        if matches!(call, Call::Command(Command::Close)) && !stopped_before {
            self.obs.close_called = true;
        }

        let ret = exec(&mut self.session, at, &call);
        let outputs = drain(&mut self.session);
        self.count_rare_paths(&call, &outputs);
        if advances {
            self.session_clock = effective;
        }
        self.log.push(Record {
            at,
            call: call.clone(),
            ret: ret.clone(),
            outputs: outputs.clone(),
        });

        let mut ctx = CallCtx {
            command: call.command().map(Command::kind),
            at: effective,
            answered,
            subscribing: None,
            unsubscribing: None,
            send: None,
        };
        if let (
            Call::Command(Command::Unsubscribe(topic)),
            Ret::Unsubscribe(Ok(UnsubscribeStatus::Removed)),
        ) = (&call, &ret)
        {
            ctx.unsubscribing = Some(topic.as_str().to_owned());
        }
        if let (
            Call::Command(Command::Subscribe(topic)),
            Ret::Subscribe(Ok(SubscribeStatus::Sent | SubscribeStatus::Recorded)),
        ) = (&call, &ret)
        {
            ctx.subscribing = Some(topic.as_str().to_owned());
        }
        let mut pushed = None;
        if let (Call::Command(Command::Send(frame, options)), Ret::Send(result)) = (&call, &ret) {
            let n = msg_number(frame).expect("the driver names every message");
            pushed = Some(n);
            ctx.send = Some(SendCtx {
                msg: Msg {
                    n,
                    len: frame.len(),
                    key: options.coalesce_key.clone(),
                    expires_at: options.expires_after.map(|d| effective + d),
                },
                frame: frame.clone(),
                result: match result {
                    Ok(status) => Ok(*status == SendStatus::Sent),
                    Err(e) => Err((e.kind, e.frame.clone())),
                },
            });
        }
        if let Err(v) = self
            .invariants
            .check(at, public_call(&call, &ret), &outputs, &self.session)
        {
            self.fail(&v.to_string());
        }
        if let Err(e) = self.obs.observe(&mut ctx, &outputs) {
            self.fail(&e);
        }

        // (b) stale inputs change nothing but the counter; (e) after Stopped nothing changes.
        if stale || stopped_before {
            let mut expected = stats_before.clone();
            if stale {
                expected.stale_inputs += 1;
            }
            let rule = if stale {
                "(b) a stale input"
            } else {
                "(e) a call after Stopped"
            };
            if !outputs.is_empty() {
                self.fail(&format!("{rule} produced outputs"));
            }
            if self.session.state() != state_before {
                self.fail(&format!("{rule} changed the state from {state_before:?}"));
            }
            if *self.session.stats() != expected {
                self.fail(&format!(
                    "{rule} changed the stats beyond stale_inputs: {:?} -> {:?}",
                    stats_before,
                    self.session.stats()
                ));
            }
            if self.session.poll_timeout() != timeout_before {
                self.fail(&format!("{rule} changed poll_timeout"));
            }
        }
        if matches!((&call, &ret), (Call::Start, Ret::Command(Ok(())))) {
            self.obs.tally.started_at = Some(effective);
        }
        self.check_result(&call, &ret, &state_before, &wanted_before, &outputs);
        self.check_getters(advances.then_some(effective), pushed);
        ret
    }

    /// Results of commands that the model can predict.
    fn check_result(
        &mut self,
        call: &Call,
        ret: &Ret,
        state_before: &State,
        wanted_before: &[String],
        outputs: &[Output],
    ) {
        // Refused when stopped or closing, also when a deadline the call ran stopped it.
        let stopped = matches!(state_before, State::Stopped(_)) || self.obs.stopped;
        match (call, ret) {
            (Call::Start, Ret::Command(r)) => {
                let expected = match state_before {
                    State::Idle if self.obs.stopped => Err(CommandError::Stopped),
                    State::Idle => Ok(()),
                    State::Stopped(_) => Err(CommandError::Stopped),
                    _ => Err(CommandError::AlreadyStarted),
                };
                if *r != expected {
                    self.fail(&format!("start returned {r:?}, expected {expected:?}"));
                }
            }
            (Call::Command(Command::ReconnectNow), Ret::Command(Ok(()))) => {
                let attempt = outputs.iter().any(|o| {
                    matches!(
                        o,
                        Output::Action(Action::Connect { .. })
                            | Output::Event(reconnect_core::Event::CredentialsRequested)
                    )
                });
                if !attempt {
                    self.fail("reconnect_now returned Ok without starting an attempt");
                }
            }
            (Call::Command(Command::Close), Ret::Command(r)) if r.is_err() => {
                self.fail(&format!("close returned {r:?}"));
            }
            (Call::Command(Command::Subscribe(topic)), Ret::Subscribe(r)) => {
                let topic = topic.as_str();
                let expected = if stopped || self.obs.close_called {
                    None
                } else if wanted_before.iter().any(|t| t == topic) {
                    Some(Ok(SubscribeStatus::AlreadyWanted))
                } else if wanted_before.len() >= self.scenario.config.resubscribe.max_topics {
                    Some(Err(()))
                } else {
                    Some(Ok(SubscribeStatus::Recorded))
                };
                let got = match r {
                    Ok(SubscribeStatus::Sent) => Some(Ok(SubscribeStatus::Recorded)),
                    Ok(s) => Some(Ok(*s)),
                    Err(SubscribeError::LimitReached { .. }) => Some(Err(())),
                    Err(SubscribeError::NotRunning(_)) => None,
                    Err(SubscribeError::EmptyTopic) => Some(Err(())),
                };
                if got != expected {
                    self.fail(&format!("subscribe {topic:?} returned {r:?}"));
                }
                if matches!(r, Ok(SubscribeStatus::Sent)) {
                    let sent = outputs.iter().any(|o| match o {
                        Output::Action(Action::Send { frame, .. }) => matches!(
                            line::parse_request(frame),
                            Some(Request::Subscribe { topics, .. })
                                if topics.iter().any(|(t, _)| t == topic)
                        ),
                        _ => false,
                    });
                    if !sent {
                        self.fail(&format!(
                            "subscribe {topic:?} returned Sent but sent nothing"
                        ));
                    }
                }
            }
            (Call::Command(Command::Unsubscribe(topic)), Ret::Unsubscribe(r)) => {
                let topic = topic.as_str();
                let wanted = wanted_before.iter().any(|t| t == topic);
                let ok = match r {
                    Ok(UnsubscribeStatus::NotWanted) => !wanted,
                    Ok(UnsubscribeStatus::Sent | UnsubscribeStatus::Removed) => wanted,
                    Err(_) => stopped || self.obs.close_called,
                };
                if !ok {
                    self.fail(&format!("unsubscribe {topic:?} returned {r:?}"));
                }
                if matches!(r, Ok(UnsubscribeStatus::Sent | UnsubscribeStatus::Removed)) {
                    self.obs.unwant(topic);
                }
            }
            _ => {}
        }
    }

    /// The public getters against the model, after every call.
    fn check_getters(&mut self, advanced_to: Option<Instant>, pushed: Option<u64>) {
        let state = self.session.state();
        let current = self.session.current_conn();
        if current != self.obs.conn.as_ref().map(|c| c.id) {
            self.fail(&format!(
                "(a) current_conn() is {current:?}, the outputs say {:?}",
                self.obs.conn.as_ref().map(|c| c.id)
            ));
        }
        if state.conn() != current {
            self.fail("(a) state().conn() differs from current_conn()");
        }
        let topics: Vec<String> = self
            .session
            .subscriptions()
            .map(|s| s.topic.as_str().to_owned())
            .collect();
        if topics != self.obs.wanted {
            self.fail(&format!(
                "(d) subscriptions() lists {topics:?}, the model wants {:?}",
                self.obs.wanted
            ));
        }
        if self.session.queued() != self.obs.outbox.len() {
            self.fail(&format!(
                "(g) queued() is {}, the model queues {:?}",
                self.session.queued(),
                self.obs.outbox.iter().map(|m| m.n).collect::<Vec<_>>()
            ));
        }
        if matches!(state, State::Live { .. }) && self.session.queued() > 0 {
            self.fail("(g) live with messages still queued");
        }
        if let Some(at) = advanced_to {
            if let Err(e) = self.obs.check_expiries(at, pushed) {
                self.fail(&e);
            }
        }
        if self.obs.stopped != matches!(state, State::Stopped(_)) {
            self.fail("(e) Stopped state and Event::Stopped disagree");
        }
        // (f) a deadline whenever a deadline-driven state is active, never one before the
        // latest `now`: the public checker's `Timers` rule. The model adds the backoff's own.
        let timeout = self.session.poll_timeout();
        match &state {
            State::Backoff { until, attempt } => {
                if timeout.is_some_and(|d| d > *until) {
                    self.fail("(f) the next deadline is after the backoff ends");
                }
                if *attempt != self.session.health().consecutive_failures.saturating_add(1) {
                    self.fail("(c) the backoff's attempt number is not failures + 1");
                }
            }
            // (Idle and Paused may wait on a queued message's expiry or on max_outage.)
            State::Stopped(_) if timeout.is_some() => {
                self.fail(&format!("(f) {state:?} with a deadline"));
            }
            State::Resubscribing { .. } => {
                // Resubscribing waits on an ack, or on the pace timer to send a topic not yet sent;
                // otherwise nothing would ever finish it.
                let c = self.obs.conn.as_ref().expect("restoring has a transport");
                let awaiting = c
                    .pending
                    .iter()
                    .any(|r| matches!(r, Request::Subscribe { .. }));
                // A topic still pending on an answered request belongs to a batch refused as a
                // whole: the session asks for it again.
                let answered = |id: &u64| !c.pending.iter().any(|r| r.id() == Some(*id));
                let unsent = self.obs.wanted.iter().any(|t| match c.subs.get(t) {
                    Some(Sub::Pending(id)) => answered(id),
                    Some(Sub::Active) => false,
                    _ => true,
                });
                if !awaiting && !unsent {
                    self.fail("(d) restoring with nothing left to send or to be acknowledged");
                }
            }
            _ => {}
        }
        if let Err(e) = self
            .obs
            .tally
            .check(self.session.stats(), self.session_clock)
        {
            self.fail(&e);
        }
        if self.session.health().live != matches!(state, State::Live { .. }) {
            self.fail("health().live disagrees with state()");
        }
        let reported = self.session.health().consecutive_failures;
        if let Err(e) = self.obs.sync_failures(reported) {
            self.fail(&e);
        }
    }

    /// The transport an input for `target` names: `None` when there is none to name.
    fn target_conn(&self, target: Target) -> Option<ConnId> {
        let released = &self.obs.released;
        match target {
            Target::Current => self
                .session
                .current_conn()
                .or_else(|| released.last().copied()),
            Target::Stale(k) if !released.is_empty() => {
                Some(released[released.len() - 1 - usize::from(k) % released.len()])
            }
            Target::Stale(_) => None,
        }
    }

    fn input(&mut self, input: Input, answered: Option<u64>) {
        if let Some(id) = answered {
            if let Some(c) = self.obs.conn.as_mut() {
                c.pending.retain(|r| r.id() != Some(id));
            }
        }
        self.call(Call::Input(input), answered);
    }

    fn timeout(&mut self) {
        self.call(Call::Timeout, None);
    }

    fn command(&mut self, command: Command) -> Ret {
        self.call(Call::Command(command), None)
    }

    fn advance_to_deadline(&mut self, past: Duration) {
        if let Some(d) = self.session.poll_timeout() {
            self.clock = self.clock.max(d + past);
        }
        self.timeout();
    }

    /// The `which`-th pending request (modulo their number) matching `pick` on the current
    /// transport.
    fn pending(&self, which: u8, pick: impl Fn(&Request) -> bool) -> Option<Request> {
        let c = self.obs.conn.as_ref()?;
        let matching: Vec<&Request> = c.pending.iter().filter(|r| pick(r)).collect();
        if matching.is_empty() {
            return None;
        }
        Some(matching[usize::from(which) % matching.len()].clone())
    }

    fn hint(&mut self, retry_ms: Option<u32>) -> Option<Duration> {
        let d = retry_ms.map(|ms| Duration::from_millis(u64::from(ms)));
        if let Some(d) = d {
            self.obs.hints.push(d);
        }
        d
    }

    fn data_frame(&mut self, topic: &'static str, seq: Seq) -> Frame {
        let last = self.data_seq.get(topic).copied();
        let seq = match seq {
            Seq::Next => Some(last.map_or(1, |l| l + 1)),
            Seq::Repeat => Some(last.unwrap_or(1)),
            Seq::Skip(k) => Some(last.unwrap_or(0) + 2 + u64::from(k)),
            Seq::Reset => Some(1),
            Seq::None => None,
        };
        if let Some(s) = seq {
            self.data_seq.insert(topic, s);
        }
        line::data(topic, seq)
    }

    /// The frame of a server step and the pending request it answers. `None` when the step
    /// answers a request that is not pending on the current transport.
    fn server_frame(&mut self, step: &ServerStep, current: bool) -> Option<(Frame, Option<u64>)> {
        let is = |f: fn(&Request) -> bool| f;
        let answer = |this: &Self, which: u8, pick: fn(&Request) -> bool| {
            if current {
                this.pending(which, pick).and_then(|r| r.id())
            } else {
                Some(1)
            }
        };
        Some(match step {
            ServerStep::AckAuth => {
                let id = answer(self, 0, is(|r| matches!(r, Request::Auth { .. })))?;
                (line::ack(id), Some(id))
            }
            ServerStep::NackAuth { code, retry_ms } => {
                let id = answer(self, 0, is(|r| matches!(r, Request::Auth { .. })))?;
                let hint = self.hint(*retry_ms);
                (line::nack(id, *code, hint), Some(id))
            }
            ServerStep::AckSetup(which) => {
                let id = answer(self, *which, is(|r| matches!(r, Request::Setup { .. })))?;
                (line::ack(id), Some(id))
            }
            ServerStep::NackSetup { which, retry_ms } => {
                let id = answer(self, *which, is(|r| matches!(r, Request::Setup { .. })))?;
                let hint = self.hint(*retry_ms);
                (line::nack(id, 500, hint), Some(id))
            }
            ServerStep::AckSubscribe { which, reject } => {
                let request = if current {
                    self.pending(*which, |r| matches!(r, Request::Subscribe { .. }))?
                } else {
                    Request::Subscribe {
                        id: 1,
                        topics: vec![("a".into(), None)],
                    }
                };
                let Request::Subscribe { id, topics } = request else {
                    unreachable!("picked a subscribe request")
                };
                let frame = match reject {
                    Some((i, code)) => {
                        let topic = &topics[usize::from(*i) % topics.len()].0;
                        line::ack_rejecting(id, &[(topic.as_str(), *code)])
                    }
                    None => line::ack(id),
                };
                (frame, Some(id))
            }
            ServerStep::NackSubscribe {
                which,
                code,
                retry_ms,
            } => {
                let id = answer(self, *which, is(|r| matches!(r, Request::Subscribe { .. })))?;
                let retry = retry_ms.map(|ms| Duration::from_millis(u64::from(ms)));
                (line::nack(id, *code, retry), Some(id))
            }
            ServerStep::AckAny(which) => {
                let id = answer(self, *which, is(|r| r.id().is_some()))?;
                (line::ack(id), Some(id))
            }
            ServerStep::AckUnknown => (line::ack(u64::MAX / 2), None),
            ServerStep::Data { topic, seq } => {
                let name = TOPICS
                    .get(usize::from(*topic))
                    .copied()
                    .unwrap_or(UNKNOWN_TOPIC);
                (self.data_frame(name, *seq), None)
            }
            ServerStep::ServerPing(token) => (line::server_ping(u64::from(*token)), None),
            ServerStep::Beat => (Frame::from("beat"), None),
            ServerStep::Error { code, retry_ms } => {
                let hint = self.hint(*retry_ms);
                (line::server_error(*code, hint), None)
            }
            ServerStep::Garbage { binary: true } => (Frame::binary(vec![0xff, 0, 7]), None),
            ServerStep::Garbage { binary: false } => (Frame::from("%% ack"), None),
        })
    }

    fn transport_error(&mut self, kind: &TransportErrorKind) -> TransportError {
        if let TransportErrorKind::Handshake {
            retry_after: Some(hint),
            ..
        } = kind
        {
            self.obs.hints.push(*hint);
        }
        TransportError::new(kind.clone(), "simulated")
    }

    fn send(&mut self, step: &SendStep) {
        let n = self.next_msg;
        self.next_msg += 1;
        let mut text = format!("m{n}");
        text.extend(std::iter::repeat_n('.', usize::from(step.pad)));
        let mut options = SendOptions::default();
        if let Some(key) = step.key {
            options = options.coalesce_key(format!("k{key}"));
        }
        if let Some(ms) = step.expires_ms {
            options = options.expires_after(Duration::from_millis(u64::from(ms)));
        }
        self.command(Command::Send(Frame::text(text), options));
    }

    /// Whatever moves the session on from where it stands.
    fn progress(&mut self) {
        let state = self.session.state();
        let first = |this: &Self, pick: fn(&Request) -> bool| this.pending(0, pick);
        match state {
            State::Idle => {
                self.call(Call::Start, None);
            }
            State::AwaitingCredentials => {
                self.command(credentials());
            }
            State::Connecting { conn, .. } => self.input(Input::Opened { conn }, None),
            State::Authenticating { conn }
            | State::SettingUp { conn }
            | State::Resubscribing { conn } => {
                let pick: fn(&Request) -> bool = match state {
                    State::Authenticating { .. } => |r| matches!(r, Request::Auth { .. }),
                    State::SettingUp { .. } => |r| matches!(r, Request::Setup { .. }),
                    _ => |r| matches!(r, Request::Subscribe { .. }),
                };
                match first(self, pick).and_then(|r| r.id()) {
                    Some(id) => {
                        let frame = line::ack(id);
                        self.input(Input::Frame { conn, frame }, Some(id));
                    }
                    None => self.advance_to_deadline(Duration::ZERO),
                }
            }
            State::Live { conn } => {
                let renewal = self
                    .obs
                    .conn
                    .as_mut()
                    .map(|c| std::mem::take(&mut c.renewal_requested));
                if renewal == Some(true) {
                    self.command(credentials());
                } else if let Some(id) = first(self, |r| r.id().is_some()).and_then(|r| r.id()) {
                    let frame = line::ack(id);
                    self.input(Input::Frame { conn, frame }, Some(id));
                } else if let Some(topic) = self
                    .obs
                    .wanted
                    .get(self.steps % self.obs.wanted.len().max(1))
                    .cloned()
                {
                    let name = TOPICS
                        .iter()
                        .copied()
                        .find(|t| *t == topic)
                        .expect("the model only subscribes to TOPICS");
                    let frame = self.data_frame(name, Seq::Next);
                    self.input(Input::Frame { conn, frame }, None);
                } else {
                    self.clock += Duration::from_secs(1);
                    self.timeout();
                }
            }
            State::Closing { conn } => self.input(
                Input::Closed {
                    conn,
                    code: Some(1000),
                    reason: String::new(),
                },
                None,
            ),
            State::Backoff { .. } => self.advance_to_deadline(Duration::ZERO),
            State::Paused => {
                self.command(Command::Resume);
            }
            State::Stopped(_) => self.timeout(),
        }
    }

    /// Applies one step.
    pub fn step(&mut self, step: &Step) {
        self.steps += 1;
        match step {
            Step::Start => {
                self.call(Call::Start, None);
            }
            Step::Progress => self.progress(),
            Step::Transport(target, ts) => {
                let Some(conn) = self.target_conn(*target) else {
                    return;
                };
                let input = match ts {
                    TransportStep::Opened => Input::Opened { conn },
                    TransportStep::ConnectFailed(kind) => Input::ConnectFailed {
                        conn,
                        error: self.transport_error(kind),
                    },
                    TransportStep::Failed(kind) => Input::Failed {
                        conn,
                        error: self.transport_error(kind),
                    },
                    TransportStep::Closed(code) => Input::Closed {
                        conn,
                        code: *code,
                        reason: "bye".to_owned(),
                    },
                    TransportStep::Ping => Input::Ping { conn },
                    TransportStep::Pong => Input::Pong { conn },
                };
                self.input(input, None);
            }
            Step::Server(target, ss) => {
                let Some(conn) = self.target_conn(*target) else {
                    return;
                };
                let current = Some(conn) == self.session.current_conn();
                let Some((frame, answered)) = self.server_frame(ss, current) else {
                    return;
                };
                self.input(Input::Frame { conn, frame }, answered.filter(|_| current));
            }
            Step::Time(ts) => match ts {
                TimeStep::Zero => self.timeout(),
                TimeStep::SmallMs(ms) => {
                    self.clock += Duration::from_millis(u64::from(*ms));
                    self.timeout();
                }
                TimeStep::LargeSecs(s) => {
                    self.clock += Duration::from_secs(u64::from(*s));
                    self.timeout();
                }
                TimeStep::ToDeadline => self.advance_to_deadline(Duration::ZERO),
                TimeStep::PastDeadlineMs(ms) => {
                    self.advance_to_deadline(Duration::from_millis(u64::from(*ms)));
                }
                TimeStep::JumpMinutes(m) => {
                    self.clock += Duration::from_secs(60 * u64::from(*m));
                    self.timeout();
                }
                TimeStep::LateMs(ms) => self.clock += Duration::from_millis(u64::from(*ms)),
                TimeStep::RewindMs(ms) => {
                    self.rewind = Some(Duration::from_millis(u64::from(*ms)));
                }
            },
            Step::EarlyTick(frac) => self.early_tick(*frac),
            Step::Subscribe(i) => {
                let topic = Topic::from(TOPICS[usize::from(*i) % TOPICS.len()]);
                self.command(Command::Subscribe(topic));
            }
            Step::Unsubscribe(i) => {
                let topic = Topic::from(TOPICS[usize::from(*i) % TOPICS.len()]);
                self.command(Command::Unsubscribe(topic));
            }
            Step::Send(s) => self.send(s),
            Step::Close => {
                self.command(Command::Close);
            }
            Step::ReconnectNow => {
                self.command(Command::ReconnectNow);
            }
            Step::Pause => {
                self.command(Command::Pause);
            }
            Step::Resume => {
                self.command(Command::Resume);
            }
            Step::ProvideCredentials => {
                self.command(credentials());
            }
            Step::CredentialsFailed => {
                self.command(Command::CredentialsFailed("no token".to_owned()));
            }
        }
    }

    /// (f) `handle_timeout` strictly before the next deadline changes nothing.
    fn early_tick(&mut self, frac: u8) {
        let Some(deadline) = self.session.poll_timeout() else {
            return;
        };
        let from = self.session_clock;
        if deadline <= from {
            return;
        }
        let at = from + (deadline - from) * u32::from(frac) / 256;
        let state = self.session.state();
        let stats = timeless(self.session.stats());
        self.rewind = None;
        let saved = self.clock;
        self.clock = at;
        self.timeout();
        self.clock = saved.max(at);
        let last = self.log.last().expect("just recorded");
        if !last.outputs.is_empty() {
            self.fail("(f) handle_timeout before the deadline produced outputs");
        }
        if self.session.state() != state {
            self.fail("(f) handle_timeout before the deadline changed the state");
        }
        if self.session.poll_timeout() != Some(deadline) {
            self.fail("(f) handle_timeout before the deadline changed the deadline");
        }
        if timeless(self.session.stats()) != stats {
            self.fail("(f) handle_timeout before the deadline changed the stats");
        }
    }

    /// Closes the session, drives it until it stops, checks that every transport was released
    /// and every message accounted for, then (h) replays every call on a fresh session and
    /// compares the outputs.
    pub fn finish(mut self) {
        self.rewind = None;
        self.command(Command::Close);
        for _ in 0..4 {
            if self.obs.stopped {
                break;
            }
            self.advance_to_deadline(Duration::ZERO);
        }
        if !self.obs.stopped {
            self.fail("(e) close() did not stop the session within its close timeout");
        }
        if let Some(c) = &self.obs.conn {
            self.fail(&format!("(a) {:?} was never released", c.id));
        }
        for n in 0..self.next_msg {
            if self.obs.fates.get(n as usize).copied().flatten().is_none() {
                self.fail(&format!("(g) m{n} was neither sent, refused nor dropped"));
            }
        }
        let stats = self.session.stats();
        let opened = self
            .log
            .iter()
            .flat_map(|r| &r.outputs)
            .filter(|o| matches!(o, Output::Event(Event::Connected { .. })))
            .count() as u64;
        if stats.attempts != self.obs.released.len() as u64 || stats.disconnects != opened {
            self.fail(&format!(
                "stats do not add up: {} attempts for {} transports, {} disconnects for {} \
                 opened",
                stats.attempts,
                self.obs.released.len(),
                stats.disconnects,
                opened
            ));
        }

        // (h) determinism.
        let mut replay = new_session(&self.scenario);
        for (i, record) in self.log.iter().enumerate() {
            let ret = exec(&mut replay, record.at, &record.call);
            let outputs = drain(&mut replay);
            if ret != record.ret || outputs != record.outputs {
                self.fail(&format!(
                    "(h) replaying call {i} ({:?}) gave {ret:?} {outputs:?}, first run gave \
                     {:?} {:?}",
                    record.call, record.ret, record.outputs
                ));
            }
        }
        if replay.state() != self.session.state() || replay.stats() != self.session.stats() {
            self.fail("(h) the replay ended in another state");
        }
    }
}
