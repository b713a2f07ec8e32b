//! The reconnecting session: the state machine at the heart of the crate.

mod apply;
mod commands;
mod inbound;
mod isolation;
mod lifecycle;
mod pending;
mod renewal;
mod resubscribe;
#[cfg(feature = "serde")]
mod snapshot;
mod staleness;
mod throttle;
mod timer_expiry;
mod timer_table;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::backoff::Backoff;
use crate::boundary::{Action, Event, Input, Output, Purpose, State, StopReason};
use crate::config::{Config, ConfigError};
use crate::conn_id::ConnId;
use crate::credentials::Credentials;
use crate::error::EndCause;
use crate::frame::Frame;
use crate::outbox::Outbox;
use crate::protocol::{Protocol, RequestId};
use crate::send_rate::Throttle;
use crate::stats::{Health, Stats};
use crate::subscriptions::{Registry, Subscription};

pub use commands::{CommandError, SendStatus, SubscribeError, SubscribeStatus, UnsubscribeStatus};
use pending::{Pending, RequestKind};
pub use staleness::ResyncStatus;
use timer_table::{Timer, TimerTable};

/// Where the lifecycle stands (the public [`State`] is derived from it and the connection).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    AwaitingCredentials,
    Connecting,
    Authenticating,
    SettingUp,
    Resubscribing,
    Live,
    Closing(AfterClose),
    Backoff { until: Instant },
    Paused,
    Stopped(StopReason),
}

/// What happens once a close handshake ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterClose {
    /// The application closed the session.
    Stop,
    /// A recycle at max lifetime: connect again at once.
    Reconnect,
}

/// The transport in flight or open.
#[derive(Clone, Debug)]
struct Conn {
    id: ConnId,
    attempt: u32,
    opened_at: Option<Instant>,
    live_since: Option<Instant>,
    stable: bool,
    last_inbound: Option<Instant>,
    resubscribed: usize,
    /// Credentials renewal asked of the application while this connection is live.
    renewal_wait: bool,
    /// The refresh token the server granted on this connection (a secret: `Debug` redacts it).
    refresh_token: Option<Credentials>,
    /// The send rate's bucket and the control frames waiting for it; fresh on every
    /// connection, since venues count per connection. `None` without a send rate.
    throttle: Option<Throttle>,
}

/// Circuit breaker state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Circuit {
    Closed,
    Open,
    HalfOpen,
}

/// A reconnecting WebSocket session, without IO: a deterministic state machine that a driver
/// feeds with what its transport and clock report, and that answers with actions to perform and
/// events to hand to the application.
///
/// # The contract
///
/// The methods come in four kinds, as in `quinn-proto`'s `Connection`:
///
/// - **Getters** (`&self`): [`state`](Self::state), [`stats`](Self::stats),
///   [`health`](Self::health), [`subscriptions`](Self::subscriptions), [`config`](Self::config).
/// - **Handlers** for what the transport and the clock report:
///   [`handle_input`](Self::handle_input) and [`handle_timeout`](Self::handle_timeout).
///   Infallible; spurious, early or stale calls do nothing.
/// - **Commands** from the application: [`start`](Self::start), [`send`](Self::send),
///   [`subscribe`](Self::subscribe) (or [`subscribe_with`](Self::subscribe_with), with a
///   topic's staleness deadline and gap policy), [`unsubscribe`](Self::unsubscribe),
///   [`resync`](Self::resync),
///   [`reconnect_now`](Self::reconnect_now), [`close`](Self::close), [`pause`](Self::pause),
///   [`resume`](Self::resume), [`set_credentials`](Self::set_credentials),
///   [`provide_credentials`](Self::provide_credentials). Each returns a typed result; none does
///   IO. A driver that takes commands from other threads as values passes each [`Command`]
///   to [`apply`](Self::apply), which runs the matching method and reports a refusal as a
///   [`Refused`].
///
/// [`Command`]: crate::Command
/// [`Refused`]: crate::Refused
/// - **Outputs**: [`drain`](Self::drain) (or [`poll_output`](Self::poll_output), one at a time)
///   yields actions and events in causal order from one queue;
///   [`poll_timeout`](Self::poll_timeout) is the next deadline (a pure getter).
///
/// # Rules the driver must keep
///
/// 1. **Time is only ever a parameter.** The session never reads a clock. The driver passes
///    `now` (a monotonic reading); a `now` earlier than one seen before is treated as the latest
///    one, so time never goes backwards. Every call that carries `now` first runs every deadline
///    already due, in a fixed order, so a late tick cannot hide a dead connection.
/// 2. **Drain after every mutation.** After each handler or command, the driver must take every
///    output ([`drain`](Self::drain), or [`poll_output`](Self::poll_output) until it returns
///    `None`), perform the actions in order, and then wait for the next readiness, command, or
///    [`poll_timeout`](Self::poll_timeout) (calling [`handle_timeout`](Self::handle_timeout)
///    when it passes). **Inputs produced while draining wait for the drain to end:** the driver
///    must not call [`handle_input`](Self::handle_input) while draining; it performs the
///    actions in order, queues the inputs its IO produced (a connect that failed at once, a
///    write error), and feeds them, in order, after the drain ends, draining again after each.
///    The borrow that [`drain`](Self::drain) holds on the session enforces this.
/// 3. **Generations.** Each [`Action::Connect`] names a fresh [`ConnId`]; the driver must tag
///    every [`Input`] with the id of the transport it came from. Inputs for any other id are
///    dropped before anything else happens (not even the clock advances) and counted in
///    [`Stats::stale_inputs`]. At most one attempt is in flight. For every `ConnId` the session
///    emits exactly one [`Action::Release`]; the driver must then drop that socket at once.
/// 4. **Determinism.** The same [`Config`] (with its seed), adapter and sequence of calls give
///    the same outputs, every time.
/// 5. **Nothing unbounded.** Subscriptions, the outbox and pending requests have bounds; what
///    happens at a bound is documented and reported, never silent.
///
/// # A run loop
///
/// ```
/// use std::time::{Duration, Instant};
/// use reconnect_core::{Action, Config, Event, Frame, Input, Output, Session};
/// use std::collections::VecDeque;
/// use reconnect_core::adapters::RawAdapter;
///
/// let mut session = Session::new(Config::new(7), RawAdapter::new()).unwrap();
/// let mut now = Instant::now(); // the driver's clock; the session never reads one
/// session.subscribe(now, "{\"op\":\"subscribe\",\"args\":[\"trades\"]}").unwrap();
/// session.start(now).unwrap();
/// let mut live = false;
/// let mut inputs = VecDeque::new(); // what the IO produced while draining
/// for _ in 0..10 {
///     // Rule 2: drain every output after every call; feed the inputs after the drain.
///     for output in session.drain() {
///         match output {
///             // A real driver opens a socket here; this one pretends it opened at once.
///             Output::Action(Action::Connect { conn, .. }) => {
///                 inputs.push_back(Input::Opened { conn })
///             }
///             Output::Action(Action::Send { frame, .. }) => { /* write `frame` */ }
///             Output::Action(Action::Release { .. }) => { /* drop the socket */ }
///             Output::Action(_) => {}
///             Output::Event(Event::Live { .. }) => live = true,
///             Output::Event(_) => {}
///         }
///     }
///     if let Some(input) = inputs.pop_front() {
///         session.handle_input(now, input);
///         continue; // and drain again
///     }
///     // Wait for readiness or the next deadline, whichever comes first.
///     match session.poll_timeout() {
///         Some(deadline) => {
///             now = now.max(deadline);
///             session.handle_timeout(now);
///         }
///         None => break,
///     }
/// }
/// assert!(live);
/// ```
pub struct Session<P> {
    config: Config,
    protocol: P,
    /// The latest `now` seen; inputs earlier than it are clamped to it.
    now: Option<Instant>,
    phase: Phase,
    conn: Option<Conn>,
    next_conn: u64,
    next_request: u64,
    timers: TimerTable,
    out: VecDeque<Output>,
    backoff: Backoff,
    /// Consecutive failed attempts since the last stable connection.
    failures: u32,
    outage_started: Option<Instant>,
    retry_after_hint: Option<std::time::Duration>,
    circuit: Circuit,
    paused: bool,
    /// The application called [`close`](Self::close): no attempt may start any more, not even
    /// one whose deadline was already due when `close` ran them.
    close_requested: bool,
    credentials: Option<Credentials>,
    /// The next attempt must ask the application for fresh credentials first.
    needs_refresh: bool,
    registry: Registry,
    outbox: Outbox,
    pending: Pending,
    stats: Stats,
    /// Uptime and downtime are accumulated up to this instant.
    accounted_until: Option<Instant>,
}

impl<P: Protocol> Session<P> {
    /// Creates an idle session. Nothing happens until [`start`](Self::start).
    ///
    /// Refuses a configuration that [`Config::validate`] refuses, and one whose
    /// [`Liveness::heartbeat_interval`](crate::Liveness::heartbeat_interval) is set for an
    /// adapter without an application heartbeat ([`Protocol::has_heartbeat`]), which would
    /// otherwise do nothing: [`ConfigError::HeartbeatUnsupported`].
    pub fn new(config: Config, protocol: P) -> Result<Self, ConfigError> {
        config.validate()?;
        if config.liveness.heartbeat_interval.is_some() && !protocol.has_heartbeat() {
            return Err(ConfigError::HeartbeatUnsupported);
        }
        Ok(Session {
            backoff: Backoff::new(config.seed),
            config,
            protocol,
            now: None,
            phase: Phase::Idle,
            conn: None,
            next_conn: ConnId::FIRST.0,
            next_request: 1,
            timers: TimerTable::default(),
            out: VecDeque::new(),
            failures: 0,
            outage_started: None,
            retry_after_hint: None,
            circuit: Circuit::Closed,
            paused: false,
            close_requested: false,
            credentials: None,
            needs_refresh: false,
            registry: Registry::default(),
            outbox: Outbox::default(),
            pending: Pending::default(),
            stats: Stats::default(),
            accounted_until: None,
        })
    }

    // ---- getters -------------------------------------------------------------------------

    /// The lifecycle state.
    pub fn state(&self) -> State {
        let conn = self.conn.as_ref().map(|c| c.id);
        match (&self.phase, conn) {
            (Phase::Idle, _) => State::Idle,
            (Phase::AwaitingCredentials, _) => State::AwaitingCredentials,
            (Phase::Connecting, Some(conn)) => State::Connecting {
                conn,
                attempt: self.conn.as_ref().map_or(0, |c| c.attempt),
            },
            (Phase::Authenticating, Some(conn)) => State::Authenticating { conn },
            (Phase::SettingUp, Some(conn)) => State::SettingUp { conn },
            (Phase::Resubscribing, Some(conn)) => State::Resubscribing { conn },
            (Phase::Live, Some(conn)) => State::Live { conn },
            (Phase::Closing(_), Some(conn)) => State::Closing { conn },
            (Phase::Backoff { until }, _) => State::Backoff {
                until: *until,
                attempt: self.failures + 1,
            },
            (Phase::Paused, _) => State::Paused,
            (Phase::Stopped(reason), _) => State::Stopped(reason.clone()),
            (_, None) => unreachable!("a connection phase always has a connection"),
        }
    }

    /// Running totals. Uptime and downtime are counted up to the last `now` the session saw.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// A quick verdict for health checks, as of the last `now` the session saw.
    pub fn health(&self) -> Health {
        let now = self.now;
        Health {
            live: self.phase == Phase::Live,
            since_last_inbound: self
                .conn
                .as_ref()
                .and_then(|c| c.last_inbound)
                .zip(now)
                .map(|(last, now)| now.saturating_duration_since(last)),
            consecutive_failures: self.failures,
        }
    }

    /// The wanted topics, in the order they were subscribed, with their state on the current
    /// connection and their last sequence numbers.
    pub fn subscriptions(&self) -> impl Iterator<Item = Subscription> + '_ {
        self.registry.iter().map(|(topic, entry)| Subscription {
            topic: topic.clone(),
            status: entry.status,
            last_seq: entry.last_seq,
        })
    }

    /// How many application messages wait in the outbox.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The adapter.
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// The adapter, mutably (to change its settings between connections).
    pub fn protocol_mut(&mut self) -> &mut P {
        &mut self.protocol
    }

    /// The current transport's id, if one is in flight or open.
    pub fn current_conn(&self) -> Option<ConnId> {
        self.conn.as_ref().map(|c| c.id)
    }

    /// Whether the session has stopped for good.
    pub fn is_stopped(&self) -> bool {
        matches!(self.phase, Phase::Stopped(_))
    }

    /// A measure of the memory the session holds beyond its topics and queued frames (capacities
    /// of its internal tables), for soak tests (feature `sim`): it must not grow with the number
    /// of reconnects.
    #[cfg(feature = "sim")]
    pub fn footprint(&self) -> usize {
        self.registry.footprint()
            + self.outbox.footprint()
            + self.pending.footprint()
            + self.out.capacity()
    }

    /// How many of the session's deadlines are armed (feature `sim`): what tests read to see
    /// that per-topic staleness deadlines share one timer, however many topics there are.
    #[cfg(feature = "sim")]
    pub fn armed_timers(&self) -> usize {
        self.timers.armed()
    }

    // ---- outputs -------------------------------------------------------------------------

    /// The next action or event, in causal order; `None` when the queue is empty.
    ///
    /// The driver must drain this until `None` after every handler and command
    /// ([`drain`](Self::drain) does exactly that).
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Every queued action and event, in causal order: an iterator that calls
    /// [`poll_output`](Self::poll_output) until it returns `None`.
    ///
    /// The iterator borrows the session mutably, so the driver cannot call
    /// [`handle_input`](Self::handle_input) or a command while draining (rule 2 of the
    /// [contract](Self#rules-the-driver-must-keep)): it performs each action, queues the inputs
    /// that its IO produced, and feeds them once the drain has ended. A drain left unfinished
    /// leaves the rest of the outputs queued for the next call.
    pub fn drain(&mut self) -> impl Iterator<Item = Output> + '_ {
        std::iter::from_fn(move || self.out.pop_front())
    }

    /// The earliest deadline, if any. A pure getter: the driver must call
    /// [`handle_timeout`](Self::handle_timeout) once its clock reaches it. It is `Some` whenever
    /// the session waits on a deadline (an attempt, an acknowledgement, a backoff, a close, a
    /// liveness check).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ---- handlers ------------------------------------------------------------------------

    /// Reports what the transport `input.conn()` did at `now`.
    ///
    /// Inputs for a transport other than the current one are stale: they are dropped and
    /// counted, and nothing else happens. Otherwise overdue deadlines run first, then the input.
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        if self.current_conn() != Some(input.conn()) {
            self.stats.stale_inputs += 1;
            return;
        }
        let now = self.advance(now);
        // An overdue deadline may have ended this very transport.
        if self.current_conn() != Some(input.conn()) {
            self.stats.stale_inputs += 1;
            return;
        }
        self.on_input(now, input);
    }

    /// Reports that the clock reached `now`. Runs every deadline that is due; an early or
    /// spurious call does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    // ---- internals shared by the submodules ---------------------------------------------

    /// Clamps `now`, accounts time, runs due deadlines; returns the clamped `now`.
    fn advance(&mut self, now: Instant) -> Instant {
        let now = match self.now {
            Some(last) if now < last => last,
            _ => now,
        };
        self.now = Some(now);
        self.account_time(now);
        self.run_due_timers(now);
        now
    }

    fn account_time(&mut self, now: Instant) {
        // A driver hands a batch of inputs one reading of the clock: only the first accounts.
        let Some(since) = self.accounted_until.filter(|since| *since != now) else {
            return;
        };
        let elapsed = now.saturating_duration_since(since);
        match self.phase {
            Phase::Idle | Phase::Stopped(_) => {}
            Phase::Live => self.stats.uptime += elapsed,
            _ => self.stats.downtime += elapsed,
        }
        self.accounted_until = Some(now);
    }

    fn emit(&mut self, event: Event) {
        self.out.push_back(Output::Event(event));
    }

    /// Queues an action, unless it is a frame that must wait for the send rate (it is then
    /// written later, in order: see [`SendRate`](crate::SendRate)).
    fn act(&mut self, action: Action) {
        if let Some(action) = self.throttled(action) {
            self.write(action);
        }
    }

    fn next_request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        id
    }

    /// The id the next request will get, without using it up: adapters may decline to build a
    /// request (no auth step, no more setup requests), and ids stay dense for readable logs.
    fn peek_request_id(&self) -> RequestId {
        RequestId(self.next_request)
    }

    /// Why a frame the session built itself for `purpose` must not be written: it exceeds
    /// [`Config::max_frame_len`], the most the transport can write. Written anyway, it would end
    /// the connection as a write failure that says nothing of what was too large.
    fn too_large(&self, purpose: Purpose, frame: &Frame) -> Option<EndCause> {
        let (len, max) = (frame.len(), self.config.max_frame_len);
        (len > max).then_some(EndCause::FrameTooLarge { purpose, len, max })
    }

    fn conn_id(&self) -> Option<ConnId> {
        self.current_conn()
    }

    /// Whether a close handshake is under way.
    fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing(_))
    }

    /// Whether a transport is open (past [`Input::Opened`]).
    fn is_open(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.opened_at.is_some())
    }

    fn after(now: Instant, d: Duration) -> Instant {
        // `unwrap_or_else`: the fallback is an `Instant` addition of its own, and this runs
        // on every frame (the next ping), where the checked addition never fails.
        now.checked_add(d)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
    }
}

impl<P> std::fmt::Debug for Session<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("phase", &self.phase)
            .field("conn", &self.conn)
            .field("failures", &self.failures)
            .field("topics", &self.registry.len())
            .field("queued", &self.outbox.len())
            .field("pending", &self.pending.len())
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::RawAdapter;

    /// A session that has started and opened its first connection: its queue holds the
    /// connect, the open and the live outputs.
    fn opened(now: Instant) -> Session<RawAdapter> {
        let mut session = Session::new(Config::new(5), RawAdapter::new()).unwrap();
        session.subscribe(now, "trades").unwrap();
        session.start(now).unwrap();
        let conn = session.current_conn().expect("an attempt is in flight");
        session.handle_input(now, Input::Opened { conn });
        session
    }

    #[test]
    fn drain_yields_what_poll_output_would_in_the_same_order_and_empties_the_queue() {
        let now = Instant::now();
        let mut polled = opened(now);
        let by_poll: Vec<Output> = std::iter::from_fn(|| polled.poll_output()).collect();
        let mut drained = opened(now);
        let by_drain: Vec<Output> = drained.drain().collect();
        assert!(
            by_drain.len() >= 3,
            "connect, subscribe and live at least: {by_drain:?}"
        );
        assert_eq!(by_drain, by_poll);
        assert_eq!(drained.poll_output(), None);
    }

    #[test]
    fn a_drain_left_unfinished_keeps_the_rest_queued_in_order() {
        let now = Instant::now();
        let mut whole = opened(now);
        let all: Vec<Output> = whole.drain().collect();
        let mut session = opened(now);
        let first: Vec<Output> = session.drain().take(1).collect();
        let rest: Vec<Output> = session.drain().collect();
        assert_eq!(first.as_slice(), &all[..1]);
        assert_eq!(rest.as_slice(), &all[1..]);
    }
}
