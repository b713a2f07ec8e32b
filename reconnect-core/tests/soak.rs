//! The simulated soak: one session through 1,000,000 reconnect cycles on a virtual clock, driven
//! directly through the public API. Each cycle connects, opens, authenticates, restores three
//! topics, receives data (and now and then sends or queues an application message), then fails
//! in one of several ways: a reset, a server close (going away, internal error), a stable
//! connection lost, a dead peer caught by the pong timeout, a reconnect request. One cycle in
//! three first fails an attempt before live: a refused connect, a handshake refused with a
//! retry-after hint, or an auth refusal.
//!
//! It checks that memory stays bounded — `Session::footprint()` and the sizes the getters
//! show are no larger after the soak than after the first 1,000 cycles — and that the
//! statistics add up to what the driver saw.

mod common;

use std::time::{Duration, Instant};

use reconnect_core::{
    Action, Config, Credentials, DelaySource, EndCause, Event, Frame, Input, Output, Purpose,
    Session, State, TransportError, TransportErrorKind,
};

use common::line_adapter::{self as line, LineAdapter, Request};

/// The full soak: about 5 s of CPU in the test profile (opt-level 1).
const CYCLES: u64 = 1_000_000;
/// The footprint is compared with its value after this many cycles.
const WARM_UP: u64 = 1_000;
const TOPICS: [&str; 3] = ["book.btc", "trades.btc", "ticker.eth"];

/// What the driver saw, to check the session's statistics against.
#[derive(Default, Debug)]
struct Seen {
    connects: u64,
    connected: u64,
    disconnected: u64,
    attempt_failures: u64,
    live: u64,
    stable: u64,
    scheduled: u64,
    first_retries: u64,
    retry_after: u64,
    transport: u64,
    server_close: u64,
    timeout: u64,
    rejected: u64,
    messages: u64,
    application_sent: u64,
    sends: u64,
    pre_live_failures: u64,
}

/// The soak's own driver rather than the shared rig: a million cycles must not keep a readable
/// line per output (the rig's log would grow without bound and dominate the run time), and the
/// driver tallies each output as it comes instead.
struct Soak {
    session: Session<LineAdapter>,
    now: Instant,
    seen: Seen,
    /// The last auth and subscribe request ids sent, for the server's answers.
    auth: Option<u64>,
    subscribe: Option<u64>,
    seq: u64,
}

impl Soak {
    fn new() -> Self {
        let mut config = Config::new(0x50a6);
        config.backoff.initial = Duration::from_millis(100);
        config.backoff.max = Duration::from_secs(5);
        config.backoff.min_uptime = Duration::from_secs(10);
        config.liveness.ping_interval = Some(Duration::from_secs(15));
        config.liveness.pong_timeout = Duration::from_secs(5);
        // All topics in one frame, no pacing: the cycle stays cheap.
        config.resubscribe.frames_per_second = None;
        let adapter = LineAdapter {
            max_batch: TOPICS.len(),
            ..LineAdapter::default()
        };
        let mut session = Session::new(config, adapter).expect("valid config");
        session.set_credentials(Credentials::new("key"));
        let now = common::rig::base();
        for topic in TOPICS {
            session
                .subscribe(now, topic)
                .expect("room for three topics");
        }
        session.start(now).expect("fresh session");
        let mut soak = Soak {
            session,
            now,
            seen: Seen::default(),
            auth: None,
            subscribe: None,
            seq: 0,
        };
        soak.drain();
        soak
    }

    /// Drains every output (rule 2) and tallies it.
    fn drain(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Action(Action::Connect { .. }) => self.seen.connects += 1,
                Output::Action(Action::Send { frame, purpose, .. }) => match purpose {
                    Purpose::Auth | Purpose::Subscribe => match line::parse_request(&frame) {
                        Some(Request::Auth { id }) => self.auth = Some(id),
                        Some(Request::Subscribe { id, .. }) => self.subscribe = Some(id),
                        other => panic!("unexpected request {other:?}"),
                    },
                    Purpose::Application => self.seen.application_sent += 1,
                    _ => {}
                },
                Output::Action(_) => {}
                Output::Event(event) => self.tally(event),
            }
        }
    }

    fn tally(&mut self, event: Event) {
        let s = &mut self.seen;
        let cause = match event {
            Event::Connected { .. } => {
                s.connected += 1;
                None
            }
            Event::Live { .. } => {
                s.live += 1;
                None
            }
            Event::Stable { .. } => {
                s.stable += 1;
                None
            }
            Event::Message { .. } => {
                s.messages += 1;
                None
            }
            Event::ReconnectScheduled { source, .. } => {
                s.scheduled += 1;
                match source {
                    DelaySource::FirstRetry => s.first_retries += 1,
                    DelaySource::RetryAfter { .. } => s.retry_after += 1,
                    _ => {}
                }
                None
            }
            Event::Disconnected { cause, .. } => {
                s.disconnected += 1;
                Some(cause)
            }
            Event::AttemptFailed { cause, .. } => {
                s.attempt_failures += 1;
                Some(cause)
            }
            Event::Stopped { reason } => panic!("the soak session stopped: {reason:?}"),
            _ => None,
        };
        match cause.as_deref() {
            Some(EndCause::Transport(_)) => s.transport += 1,
            Some(EndCause::ServerClosed { .. }) => s.server_close += 1,
            Some(EndCause::Timeout(_)) => s.timeout += 1,
            Some(EndCause::AuthRejected(_)) => s.rejected += 1,
            _ => {}
        }
    }

    fn conn(&self) -> reconnect_core::ConnId {
        self.session.current_conn().expect("a transport in flight")
    }

    fn input(&mut self, input: Input) {
        self.session.handle_input(self.now, input);
        self.drain();
    }

    fn frame(&mut self, frame: Frame) {
        let conn = self.conn();
        self.input(Input::Frame { conn, frame });
    }

    fn fail(&mut self, kind: TransportErrorKind) {
        let conn = self.conn();
        self.input(Input::Failed {
            conn,
            error: TransportError::new(kind, "soak"),
        });
    }

    fn close(&mut self, code: u16) {
        let conn = self.conn();
        self.input(Input::Closed {
            conn,
            code: Some(code),
            reason: String::new(),
        });
    }

    /// Moves the clock to the next deadline and runs it.
    fn next_deadline(&mut self) {
        let deadline = self.session.poll_timeout().expect("a deadline");
        self.now = self.now.max(deadline);
        self.session.handle_timeout(self.now);
        self.drain();
    }

    /// Opens the transport in flight and takes it to live: auth ack, restore ack.
    fn go_live(&mut self) {
        let conn = self.conn();
        self.input(Input::Opened { conn });
        let auth = self.auth.take().expect("auth request");
        self.frame(line::ack(auth));
        let subscribe = self.subscribe.take().expect("subscribe request");
        self.frame(line::ack(subscribe));
        assert!(matches!(self.session.state(), State::Live { .. }));
    }

    /// A failed attempt before live (in a third of the cycles): a refused connect, a handshake
    /// refused with a retry-after hint, or an auth refusal.
    fn failed_attempt(&mut self, kind: u64) {
        let conn = self.conn();
        match kind {
            0 => self.input(Input::ConnectFailed {
                conn,
                error: TransportError::new(TransportErrorKind::Refused, "soak"),
            }),
            1 => {
                let kind = TransportErrorKind::Handshake {
                    status: 503,
                    retry_after: Some(Duration::from_secs(2)),
                };
                self.input(Input::ConnectFailed {
                    conn,
                    error: TransportError::new(kind, "soak"),
                });
            }
            _ => {
                self.input(Input::Opened { conn });
                let auth = self.auth.take().expect("auth request");
                self.frame(line::nack(auth, 503, None));
            }
        }
        self.seen.pre_live_failures += 1;
        self.wait_for_attempt();
    }

    /// Runs deadlines (the backoff) until the next attempt is in flight.
    fn wait_for_attempt(&mut self) {
        while !matches!(self.session.state(), State::Connecting { .. }) {
            self.next_deadline();
        }
    }

    /// One cycle, from a transport in flight to the next one in flight: (sometimes a failed
    /// attempt first,) live with three topics restored, data, sends, then a failure.
    fn cycle(&mut self, i: u64) {
        if i % 3 == 0 {
            self.failed_attempt(i / 3 % 3);
        }
        if i % 32 == 5 {
            // Queued while connecting, released once live.
            self.session.send(self.now, "queued").expect("room");
            self.seen.sends += 1;
            self.drain();
        }
        self.go_live();
        self.seq += 1;
        self.frame(line::data(TOPICS[0], Some(self.seq)));
        self.frame(line::data(TOPICS[1], Some(self.seq)));
        if i % 16 == 3 {
            self.session.send(self.now, "order").expect("live");
            self.seen.sends += 1;
            self.drain();
        }
        match i % 6 {
            0 => self.fail(TransportErrorKind::Reset),
            1 => self.close(1001),
            2 => self.close(1011),
            3 => {
                // Stays up past min_uptime (the failure count resets), then drops.
                self.now += Duration::from_secs(11);
                self.session.handle_timeout(self.now);
                self.drain();
                self.fail(TransportErrorKind::Eof);
            }
            4 => {
                // A silent peer: ping, then the pong timeout ends it.
                while matches!(self.session.state(), State::Live { .. }) {
                    self.next_deadline();
                }
            }
            _ => {
                self.session.reconnect_now(self.now).expect("running");
                self.drain();
            }
        }
        self.wait_for_attempt();
    }

    /// What the session holds, as far as the getters show.
    fn sizes(&self) -> (usize, usize, usize) {
        (
            self.session.footprint(),
            self.session.subscriptions().count(),
            self.session.queued(),
        )
    }
}

/// Runs `cycles` cycles and checks bounded memory and the statistics.
fn soak(cycles: u64) {
    let mut soak = Soak::new();
    let mut warm = None;
    for i in 0..cycles {
        soak.cycle(i);
        if i + 1 == WARM_UP.min(cycles) {
            warm = Some(soak.sizes());
        }
    }
    let (footprint, topics, queued) = soak.sizes();
    let (warm_footprint, warm_topics, warm_queued) = warm.expect("at least one cycle");
    assert!(
        footprint <= warm_footprint,
        "footprint grew from {warm_footprint} after {WARM_UP} cycles to {footprint}"
    );
    assert_eq!(topics, TOPICS.len());
    assert!(topics <= warm_topics && queued <= warm_queued);

    let stats = soak.session.stats().clone();
    let seen = &soak.seen;
    // Every cycle went live once after its failed attempt, if any; the attempt in flight now is
    // the next cycle's.
    let endings = cycles + seen.pre_live_failures;
    assert_eq!(seen.pre_live_failures, cycles.div_ceil(3));
    assert_eq!(stats.attempts, endings + 1);
    assert_eq!(stats.attempts, seen.connects);
    assert_eq!(stats.live_connections, cycles);
    assert_eq!(stats.live_connections, seen.live);
    assert_eq!(stats.disconnects, seen.disconnected);
    assert_eq!(seen.disconnected, seen.connected);
    assert_eq!(seen.disconnected + seen.attempt_failures, endings);
    assert_eq!(stats.retries_scheduled, seen.scheduled);
    assert_eq!(stats.retries_scheduled, endings);
    assert_eq!(stats.failures.transport, seen.transport);
    assert_eq!(stats.failures.server_close, seen.server_close);
    assert_eq!(stats.failures.timeout, seen.timeout);
    assert_eq!(stats.failures.rejected, seen.rejected);
    assert_eq!(stats.frames_in, seen.messages);
    assert_eq!(stats.resubscribes, seen.live * TOPICS.len() as u64);
    assert_eq!(stats.gaps, 0);
    assert_eq!(stats.stale_inputs, 0);
    assert!(seen.stable > 0 && seen.first_retries == seen.stable);
    assert!(seen.retry_after > 0);
    // Every message handed to send went out: none is queued at the end of a cycle.
    assert_eq!(soak.session.queued(), 0);
    assert_eq!(seen.application_sent, seen.sends);
    assert!(seen.sends > 0);
}

#[test]
fn a_million_reconnect_cycles_keep_memory_bounded_and_stats_consistent() {
    soak(CYCLES);
}
