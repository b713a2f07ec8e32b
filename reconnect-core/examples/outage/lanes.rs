//! The lanes of the picture: a few sessions, each with its own jitter and network seed, through
//! one short outage story on the simulator's virtual clock, read back as state bands, attempt
//! markers and the backoff delays each one drew.

use std::time::{Duration, Instant};

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig};
use reconnect_core::sim::{AuthRejection, Fault};
use reconnect_core::sim::{JsonRpcServer, JsonRpcServerConfig, Network, Script, Simulator};
use reconnect_core::{Config, Event, Session, State};

/// How many sessions (lanes) face the story.
pub const LANES: u64 = 5;
/// When the story's faults strike (virtual time from the start).
pub const RESET_AT: Duration = Duration::from_secs(20);
/// A half-open connection: only the ping/pong check notices it.
pub const STALL_AT: Duration = Duration::from_secs(45);
/// Connection attempts get no answer at all for a while: the connect timeout ends them.
pub const BLACKHOLE_AT: Duration = Duration::from_secs(90);
/// How long attempts go unanswered.
pub const BLACKHOLE_FOR: Duration = Duration::from_secs(12);
/// A deploy: every connection closed with 1012, then refused while the server is down.
pub const RESTART_AT: Duration = Duration::from_secs(125);
/// How long the server stays down.
pub const RESTART_DOWNTIME: Duration = Duration::from_secs(6);
/// The application closes every session.
pub const CLOSE_AT: Duration = Duration::from_secs(170);
/// The end of the picture.
pub const END: Duration = Duration::from_secs(180);

/// What a lane shows at a time: the session's state, a few states folded together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the transport to open.
    Connecting,
    /// Waiting for the auth acknowledgement, or the setup acknowledgements after it.
    Authenticating,
    /// Resubscribing every wanted topic.
    Resubscribing,
    /// Live.
    Live,
    /// Waiting before the next attempt.
    Backoff,
    /// Closing, or stopped.
    Stopped,
}

impl Phase {
    /// Every phase, in legend order.
    pub const ALL: [Phase; 6] = [
        Phase::Connecting,
        Phase::Authenticating,
        Phase::Resubscribing,
        Phase::Live,
        Phase::Backoff,
        Phase::Stopped,
    ];

    /// The legend text.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Connecting => "Connecting",
            Phase::Authenticating => "Authenticating",
            Phase::Resubscribing => "Resubscribing",
            Phase::Live => "Live",
            Phase::Backoff => "Backoff",
            Phase::Stopped => "Stopped",
        }
    }

    /// The phase of a session state; `None` before the session starts.
    fn of(state: State) -> Option<Phase> {
        Some(match state {
            State::Idle | State::AwaitingCredentials => return None,
            State::Connecting { .. } => Phase::Connecting,
            State::Authenticating { .. } | State::SettingUp { .. } => Phase::Authenticating,
            State::Resubscribing { .. } => Phase::Resubscribing,
            State::Live { .. } => Phase::Live,
            State::Backoff { .. } => Phase::Backoff,
            State::Closing { .. } | State::Stopped { .. } => Phase::Stopped,
            // The state enum may grow: an unknown state is drawn as a gap.
            #[allow(unreachable_patterns)]
            _ => return None,
        })
    }
}

/// One stretch of one phase: `[start, end)` in virtual time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// The phase.
    pub phase: Phase,
    /// When it began.
    pub start: Duration,
    /// When it ended (the end of the picture for the last band).
    pub end: Duration,
}

/// One backoff the session scheduled: when, and the delay it drew.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scheduled {
    /// When the delay was drawn.
    pub at: Duration,
    /// The drawn delay.
    pub delay: Duration,
}

/// One session's lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// Its label.
    pub name: String,
    /// Its phases, in order, back to back.
    pub bands: Vec<Band>,
    /// When each connection attempt began (`Event::Connecting`).
    pub attempts: Vec<Duration>,
    /// Each `Event::ReconnectScheduled`.
    pub scheduled: Vec<Scheduled>,
}

/// The story every lane faces.
pub fn story() -> Script {
    Script::new()
        .at(RESET_AT, Fault::Reset)
        .at(STALL_AT, Fault::Stall)
        .at(BLACKHOLE_AT, Fault::BlackholeFor(BLACKHOLE_FOR))
        .at(BLACKHOLE_AT, Fault::Reset)
        // The first auth after the restart is refused as "too many requests".
        .at(RESTART_AT, Fault::reject_auth(AuthRejection::Transient))
        .at(
            RESTART_AT,
            Fault::Restart {
                downtime: RESTART_DOWNTIME,
            },
        )
}

/// The story's faults, with a short label each, for the picture's markers.
pub fn fault_marks() -> Vec<(Duration, &'static str)> {
    vec![
        (RESET_AT, "reset"),
        (STALL_AT, "stall"),
        (BLACKHOLE_AT, "blackhole + reset"),
        (RESTART_AT, "restart (auth refused once)"),
        (CLOSE_AT, "close"),
    ]
}

/// Runs session `index` through the story and reads its lane.
pub fn lane(base: Instant, index: u64) -> Lane {
    let adapter = JsonRpcAdapter::new(JsonRpcConfig::default());
    let mut config = Config::for_replica("outage-example", index);
    // A quicker dead-connection check than the defaults, so the stall ends within the picture.
    config.liveness.ping_interval = Some(Duration::from_secs(5));
    config.liveness.pong_timeout = Duration::from_secs(4);
    config.timeouts.connect = Duration::from_secs(6);
    let mut session = Session::new(config, adapter).expect("a valid config");
    session.set_credentials(JsonRpcAdapter::client_credentials(
        "example-client",
        "example-secret",
    ));
    for channel in ["book.BTC-PERPETUAL.100ms", "trades.BTC-PERPETUAL.raw"] {
        session
            .subscribe(base, channel)
            .expect("room for two topics");
    }
    let server = JsonRpcServer::with_config(
        JsonRpcServerConfig::default().data_interval(Duration::from_secs(1)),
    );
    // A slow link (150 to 400 ms one way), so that the handshake phases are wide enough to see.
    let network = Network::new()
        .latency(Duration::from_millis(150))
        .jitter(Duration::from_millis(250))
        .seed(100 + index);
    let mut sim = Simulator::new(base, session, server)
        .network(network)
        .script(story());

    let mut bands: Vec<Band> = Vec::new();
    let note = |bands: &mut Vec<Band>, at: Duration, state: State| {
        let Some(phase) = Phase::of(state) else {
            return;
        };
        match bands.last_mut() {
            Some(last) if last.phase == phase => {}
            Some(last) => {
                last.end = at;
                bands.push(Band {
                    phase,
                    start: at,
                    end: at,
                });
            }
            None => bands.push(Band {
                phase,
                start: at,
                end: at,
            }),
        }
    };
    sim.start().expect("a fresh session starts");
    note(&mut bands, sim.elapsed(), sim.session().state());
    let mut closed = false;
    loop {
        if !closed && sim.elapsed() >= CLOSE_AT {
            sim.command("close", |session, now| session.close(now))
                .expect("a running session closes");
            closed = true;
            note(&mut bands, sim.elapsed(), sim.session().state());
        }
        let next = if closed { END } else { CLOSE_AT };
        // Event by event: every state change comes with an event, so each is seen.
        match sim.run_until_event(next, |_| true) {
            Some(timed) => note(&mut bands, timed.at, sim.session().state()),
            None => {
                note(&mut bands, sim.elapsed(), sim.session().state());
                if closed {
                    break;
                }
            }
        }
    }
    if let Some(last) = bands.last_mut() {
        last.end = END;
    }

    let mut attempts = Vec::new();
    let mut scheduled = Vec::new();
    for timed in sim.events() {
        match &timed.event {
            Event::Connecting { .. } => attempts.push(timed.at),
            Event::ReconnectScheduled { delay, .. } => scheduled.push(Scheduled {
                at: timed.at,
                delay: delay.drawn,
            }),
            _ => {}
        }
    }
    Lane {
        name: format!("session {}", index + 1),
        bands,
        attempts,
        scheduled,
    }
}

/// Every lane.
pub fn lanes(base: Instant) -> Vec<Lane> {
    (0..LANES).map(|i| lane(base, i)).collect()
}
