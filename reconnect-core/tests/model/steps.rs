//! What the model does to a session: the abstract steps, the scenarios (configuration and
//! adapter) they run under, and the strategies that generate both.
//!
//! Steps are abstract on purpose ("acknowledge the first pending setup request", "a transport
//! failure on the current connection"): the driver resolves them against what the session has
//! actually emitted, so every generated sequence is meaningful whatever came before, no step
//! needs a precondition, and shrinking can delete any step.

use std::time::Duration;

use proptest::option;
use proptest::prelude::*;
use reconnect_core::{
    BackoffConfig, CircuitBreaker, Classifier, Config, Disposition, FirstRetry, Jitter,
    OverflowPolicy, TransportErrorKind,
};

use crate::common::line_adapter::{LineAdapter, AUTH_FATAL, AUTH_REFRESH, SUB_TRANSIENT_MIN};

/// The topics the model subscribes to. Few, so that subscribe, unsubscribe and re-subscribe of
/// the same topic collide often.
pub const TOPICS: [&str; 4] = ["a", "b", "c", "d"];

/// A topic that is never subscribed: data for it carries no topic.
pub const UNKNOWN_TOPIC: &str = "zz";

/// Close codes the scenario's classifier treats as fatal / as "refresh credentials".
pub const FATAL_CLOSE: u16 = 4001;
/// See [`FATAL_CLOSE`].
pub const REFRESH_CLOSE: u16 = 4101;

/// Everything a run is configured with: the session's config, the adapter, and whether the
/// session has credentials from the start.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The session configuration.
    pub config: Config,
    /// The protocol adapter.
    pub adapter: LineAdapter,
    /// Whether `set_credentials` is called before anything else.
    pub credentials: bool,
}

/// Which transport an input names.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// The transport in flight or open; when there is none, the most recently released one.
    Current,
    /// The `n`-th most recently released transport (counting from 0, wrapping around).
    Stale(u8),
}

/// A transport event.
#[derive(Clone, Debug)]
pub enum TransportStep {
    /// The transport opened.
    Opened,
    /// The attempt failed before opening.
    ConnectFailed(TransportErrorKind),
    /// The open transport failed.
    Failed(TransportErrorKind),
    /// The peer's close frame (or the completion of our close handshake).
    Closed(Option<u16>),
    /// A WebSocket ping.
    Ping,
    /// A WebSocket pong.
    Pong,
}

/// How a data frame's sequence number relates to the last one sent on its topic.
#[derive(Clone, Copy, Debug)]
pub enum Seq {
    /// The next number.
    Next,
    /// The same number again.
    Repeat,
    /// Skips some numbers (a gap).
    Skip(u8),
    /// Starts again from 1 (a server restart).
    Reset,
    /// No sequence number.
    None,
}

/// A server frame.
#[derive(Clone, Debug)]
pub enum ServerStep {
    /// Acknowledges the pending auth request.
    AckAuth,
    /// Refuses the pending auth request.
    NackAuth {
        /// The error code ([`AUTH_FATAL`], [`AUTH_REFRESH`] or a transient one).
        code: i64,
        /// A retry-after hint in milliseconds.
        retry_ms: Option<u32>,
    },
    /// Acknowledges the `n`-th pending setup request.
    AckSetup(u8),
    /// Refuses the `n`-th pending setup request.
    NackSetup {
        /// Which pending setup request.
        which: u8,
        /// A retry-after hint in milliseconds.
        retry_ms: Option<u32>,
    },
    /// Acknowledges the `n`-th pending subscribe request, optionally refusing one of its topics.
    AckSubscribe {
        /// Which pending subscribe request.
        which: u8,
        /// Which topic of the request to refuse, and with which code.
        reject: Option<(u8, i64)>,
    },
    /// Refuses the `n`-th pending subscribe request.
    NackSubscribe {
        /// Which pending subscribe request.
        which: u8,
        /// The error code (transient from [`SUB_TRANSIENT_MIN`] on).
        code: i64,
        /// A retry-after hint in milliseconds.
        retry_ms: Option<u32>,
    },
    /// Acknowledges the `n`-th pending request of any kind (unsubscribe, heartbeat, …).
    AckAny(u8),
    /// Acknowledges a request that was never sent.
    AckUnknown,
    /// A data frame on a topic.
    Data {
        /// Which topic ([`TOPICS`], or [`UNKNOWN_TOPIC`] past its end).
        topic: u8,
        /// Its sequence number.
        seq: Seq,
    },
    /// A server heartbeat request that must be answered.
    ServerPing(u8),
    /// A server heartbeat that needs no answer.
    Beat,
    /// An unsolicited server error.
    Error {
        /// The error code.
        code: i64,
        /// A retry-after hint in milliseconds.
        retry_ms: Option<u32>,
    },
    /// A frame the adapter cannot make sense of.
    Garbage {
        /// Binary instead of text.
        binary: bool,
    },
}

/// How the virtual clock moves.
#[derive(Clone, Copy, Debug)]
pub enum TimeStep {
    /// `handle_timeout` at the current time.
    Zero,
    /// Some milliseconds later.
    SmallMs(u16),
    /// Some seconds later.
    LargeSecs(u16),
    /// Exactly at the next deadline.
    ToDeadline,
    /// Some milliseconds past the next deadline.
    PastDeadlineMs(u16),
    /// Many minutes later: several deadlines at once.
    JumpMinutes(u8),
    /// The clock moves on without a call: the next call carries the late `now`.
    LateMs(u16),
    /// The next call carries a `now` this many milliseconds earlier than the clock.
    RewindMs(u16),
}

/// An application send.
#[derive(Clone, Copy, Debug)]
pub struct SendStep {
    /// Padding bytes after the message's name, to exercise the byte bound.
    pub pad: u8,
    /// A coalescing key (`k0`, `k1`).
    pub key: Option<u8>,
    /// An expiry in milliseconds (0 included).
    pub expires_ms: Option<u32>,
}

/// One step of a generated run.
#[derive(Clone, Debug)]
pub enum Step {
    /// `start`.
    Start,
    /// Whatever moves the session towards live (or through its wait) from its current state.
    Progress,
    /// A transport event.
    Transport(Target, TransportStep),
    /// A server frame.
    Server(Target, ServerStep),
    /// The clock moves.
    Time(TimeStep),
    /// `handle_timeout` strictly before the next deadline, at the given fraction (of 256) of the
    /// way there.
    EarlyTick(u8),
    /// `subscribe` to a topic of [`TOPICS`].
    Subscribe(u8),
    /// `unsubscribe` from a topic of [`TOPICS`].
    Unsubscribe(u8),
    /// `send_with`.
    Send(SendStep),
    /// `close`.
    Close,
    /// `reconnect_now`.
    ReconnectNow,
    /// `pause`.
    Pause,
    /// `resume`.
    Resume,
    /// `provide_credentials`.
    ProvideCredentials,
    /// `credentials_failed`.
    CredentialsFailed,
}

fn ms(range: std::ops::Range<u64>) -> impl Strategy<Value = Duration> {
    range.prop_map(Duration::from_millis)
}

fn secs(range: std::ops::Range<u64>) -> impl Strategy<Value = Duration> {
    range.prop_map(Duration::from_secs)
}

fn backoff() -> impl Strategy<Value = BackoffConfig> {
    (
        prop_oneof![
            Just(Jitter::Full),
            Just(Jitter::Equal),
            Just(Jitter::Decorrelated),
            Just(Jitter::None)
        ],
        prop_oneof![Just(FirstRetry::Jittered), Just(FirstRetry::Immediate)],
        ms(1..3_000),
        10u32..40,
        ms(0..60_000),
        prop_oneof![3 => ms(1..30_000), 1 => Just(Duration::ZERO)],
    )
        .prop_map(
            |(jitter, first_retry, initial, factor, extra, min_uptime)| {
                let mut b = BackoffConfig::default();
                b.jitter = jitter;
                b.first_retry = first_retry;
                b.initial = initial;
                b.factor = f64::from(factor) / 10.0;
                b.max = initial + extra;
                b.min_uptime = min_uptime;
                b
            },
        )
}

fn classifier() -> impl Strategy<Value = Classifier> {
    prop_oneof![
        Just(Classifier::default()),
        Just(
            Classifier::default()
                .close_code(4000..=4099, Disposition::Fatal)
                .and_then(|c| c.close_code(4100..=4199, Disposition::RefreshCredentials))
                .expect("4000-4199 are configurable")
        ),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    let limits = (
        option::weighted(0.2, 1u32..8),
        option::weighted(0.2, secs(5..600)),
        option::weighted(0.3, (1u32..5, secs(1..120))),
        secs(1..600),
    );
    let timeouts = (
        ms(200..20_000),
        ms(200..20_000),
        ms(200..20_000),
        ms(200..20_000),
        ms(200..20_000),
        ms(200..20_000),
    );
    let liveness = (
        option::weighted(0.5, secs(1..30)),
        ms(500..10_000),
        option::weighted(0.2, secs(1..30)),
        option::weighted(0.2, secs(1..60)),
    );
    let credentials = (
        proptest::bool::weighted(0.1),
        option::weighted(0.25, secs(5..120)),
    );
    let restore = (
        1usize..4,
        option::weighted(0.5, 1u32..20),
        1usize..6,
        ms(100..5_000),
        ms(0..60_000),
    );
    let outbox = (
        prop_oneof![1 => Just(0usize), 8 => 1usize..6],
        4usize..64,
        prop_oneof![
            Just(OverflowPolicy::Reject),
            Just(OverflowPolicy::DropOldest),
            Just(OverflowPolicy::DropNewest)
        ],
    );
    (
        any::<u64>(),
        backoff(),
        limits,
        timeouts,
        liveness,
        credentials,
        restore,
        outbox,
        // Recycling: short lifetimes often, so that a close lands during a recycle in every
        // run (the model counts it).
        option::weighted(0.3, prop_oneof![secs(1..30), secs(10..600)]),
        classifier(),
    )
        .prop_map(
            |(
                seed,
                backoff,
                limits,
                timeouts,
                liveness,
                credentials,
                restore,
                outbox,
                life,
                cls,
            )| {
                let mut c = Config::new(seed);
                c.backoff = backoff;
                c.classifier = cls;
                let (max_attempts, max_outage, breaker, ceiling) = limits;
                c.limits.max_attempts = max_attempts;
                c.limits.max_outage = max_outage;
                c.limits.circuit_breaker = breaker.map(|(threshold, cooldown)| CircuitBreaker {
                    threshold,
                    cooldown,
                });
                c.limits.retry_after_ceiling = ceiling;
                let (connect, creds, auth, setup, subscribe, close) = timeouts;
                c.timeouts.connect = connect;
                c.timeouts.credentials = creds;
                c.timeouts.auth = auth;
                c.timeouts.setup = setup;
                c.timeouts.subscribe = subscribe;
                c.timeouts.close = close;
                let (ping, pong, heartbeat, idle) = liveness;
                c.liveness.ping_interval = ping;
                c.liveness.pong_timeout = pong;
                c.liveness.heartbeat_interval = heartbeat;
                c.liveness.idle_timeout = idle;
                let (fetch_before_connect, renewal) = credentials;
                c.credentials.fetch_before_connect = fetch_before_connect;
                c.credentials.renewal_interval = renewal;
                let (batch, fps, max_topics, nack_initial, nack_extra) = restore;
                c.resubscribe.batch_size = batch;
                c.resubscribe.frames_per_second = fps;
                c.resubscribe.max_topics = max_topics;
                c.resubscribe.nack_retry_initial = nack_initial;
                c.resubscribe.nack_retry_max = nack_initial + nack_extra;
                let (max_messages, max_bytes, overflow) = outbox;
                c.outbox.max_messages = max_messages;
                c.outbox.max_bytes = max_bytes;
                c.outbox.overflow = overflow;
                c.max_lifetime = life;
                c
            },
        )
}

fn adapter() -> impl Strategy<Value = LineAdapter> {
    (
        proptest::bool::weighted(0.85),
        proptest::bool::weighted(0.7),
        0usize..3,
        1usize..4,
        proptest::bool::weighted(0.2),
        any::<bool>(),
        proptest::bool::weighted(0.8),
    )
        .prop_map(
            |(acks, auth, setup_steps, max_batch, heartbeat, reauth_on_renewal, unsubscribe)| {
                LineAdapter {
                    acks,
                    auth,
                    setup_steps,
                    max_batch,
                    heartbeat,
                    reauth_on_renewal,
                    unsubscribe,
                    ..LineAdapter::default()
                }
            },
        )
}

/// Configurations and adapters across the whole space the session supports.
pub fn scenario() -> impl Strategy<Value = Scenario> {
    (config(), adapter(), proptest::bool::weighted(0.8)).prop_map(
        |(mut config, adapter, credentials)| {
            // A heartbeat interval needs an adapter that has a heartbeat (the session refuses
            // the mismatch), so an adapter without one runs without the interval.
            if !adapter.heartbeat {
                config.liveness.heartbeat_interval = None;
            }
            Scenario {
                config,
                adapter,
                credentials,
            }
        },
    )
}

fn retry_ms() -> impl Strategy<Value = Option<u32>> {
    option::weighted(0.3, prop_oneof![0u32..2_000, 2_000u32..900_000])
}

fn error_kind() -> impl Strategy<Value = TransportErrorKind> {
    let handshake = (
        prop_oneof![
            Just(429u16),
            Just(503),
            Just(502),
            Just(500),
            Just(401),
            Just(403),
            Just(404)
        ],
        option::weighted(0.6, (0u64..900).prop_map(Duration::from_secs)),
    )
        .prop_map(|(status, retry_after)| TransportErrorKind::Handshake {
            status,
            retry_after,
        });
    prop_oneof![
        4 => Just(TransportErrorKind::Reset),
        2 => Just(TransportErrorKind::Refused),
        2 => Just(TransportErrorKind::Eof),
        1 => Just(TransportErrorKind::Dns),
        1 => Just(TransportErrorKind::TimedOut),
        1 => Just(TransportErrorKind::Tls),
        1 => Just(TransportErrorKind::Protocol),
        1 => Just(TransportErrorKind::MessageTooLarge),
        1 => Just(TransportErrorKind::Backpressure),
        1 => Just(TransportErrorKind::Io),
        3 => handshake,
        // Fatal by default: rare, or most runs would stop early.
        1 => prop_oneof![
            Just(TransportErrorKind::TlsCertificate),
            Just(TransportErrorKind::InvalidUrl)
        ],
    ]
}

fn transport_step() -> impl Strategy<Value = TransportStep> {
    prop_oneof![
        3 => Just(TransportStep::Opened),
        2 => error_kind().prop_map(TransportStep::ConnectFailed),
        2 => error_kind().prop_map(TransportStep::Failed),
        2 => prop_oneof![
            Just(None),
            Just(Some(1000u16)),
            Just(Some(1001)),
            Just(Some(1011)),
            Just(Some(1008)),
            Just(Some(FATAL_CLOSE)),
            Just(Some(REFRESH_CLOSE)),
        ]
        .prop_map(TransportStep::Closed),
        1 => Just(TransportStep::Ping),
        1 => Just(TransportStep::Pong),
    ]
}

fn seq() -> impl Strategy<Value = Seq> {
    prop_oneof![
        5 => Just(Seq::Next),
        1 => Just(Seq::Repeat),
        2 => (0u8..5).prop_map(Seq::Skip),
        1 => Just(Seq::Reset),
        1 => Just(Seq::None),
    ]
}

fn server_step() -> impl Strategy<Value = ServerStep> {
    prop_oneof![
        3 => Just(ServerStep::AckAuth),
        1 => (
            prop_oneof![Just(AUTH_FATAL), Just(AUTH_REFRESH), Just(503i64), Just(429)],
            retry_ms()
        )
            .prop_map(|(code, retry_ms)| ServerStep::NackAuth { code, retry_ms }),
        3 => any::<u8>().prop_map(ServerStep::AckSetup),
        1 => (any::<u8>(), retry_ms())
            .prop_map(|(which, retry_ms)| ServerStep::NackSetup { which, retry_ms }),
        4 => (
            any::<u8>(),
            option::weighted(
                0.3,
                (any::<u8>(), prop_oneof![Just(404i64), Just(SUB_TRANSIENT_MIN)])
            )
        )
            .prop_map(|(which, reject)| ServerStep::AckSubscribe { which, reject }),
        2 => (
            any::<u8>(),
            prop_oneof![Just(400i64), Just(SUB_TRANSIENT_MIN), Just(503)],
            retry_ms()
        )
            .prop_map(|(which, code, retry_ms)| ServerStep::NackSubscribe { which, code, retry_ms }),
        2 => any::<u8>().prop_map(ServerStep::AckAny),
        1 => Just(ServerStep::AckUnknown),
        4 => (0u8..(TOPICS.len() as u8 + 1), seq())
            .prop_map(|(topic, seq)| ServerStep::Data { topic, seq }),
        1 => any::<u8>().prop_map(ServerStep::ServerPing),
        1 => Just(ServerStep::Beat),
        1 => (prop_oneof![Just(500i64), Just(429)], retry_ms())
            .prop_map(|(code, retry_ms)| ServerStep::Error { code, retry_ms }),
        1 => any::<bool>().prop_map(|binary| ServerStep::Garbage { binary }),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![6 => Just(Target::Current), 1 => any::<u8>().prop_map(Target::Stale)]
}

fn time_step() -> impl Strategy<Value = TimeStep> {
    prop_oneof![
        1 => Just(TimeStep::Zero),
        4 => (1u16..2_000).prop_map(TimeStep::SmallMs),
        2 => (1u16..120).prop_map(TimeStep::LargeSecs),
        3 => Just(TimeStep::ToDeadline),
        2 => (1u16..5_000).prop_map(TimeStep::PastDeadlineMs),
        1 => (1u8..180).prop_map(TimeStep::JumpMinutes),
        1 => (1u16..60_000).prop_map(TimeStep::LateMs),
        1 => (1u16..10_000).prop_map(TimeStep::RewindMs),
    ]
}

fn send_step() -> impl Strategy<Value = SendStep> {
    (
        prop_oneof![3 => 0u8..4, 1 => 4u8..40],
        option::weighted(0.3, 0u8..2),
        option::weighted(0.3, prop_oneof![Just(0u32), 1u32..30_000]),
    )
        .prop_map(|(pad, key, expires_ms)| SendStep {
            pad,
            key,
            expires_ms,
        })
}

/// Any step, weighted so that runs reach live often and still visit every corner.
pub fn step() -> impl Strategy<Value = Step> {
    let topic = 0u8..TOPICS.len() as u8;
    prop_oneof![
        2 => Just(Step::Start),
        30 => Just(Step::Progress),
        9 => (target(), transport_step()).prop_map(|(t, s)| Step::Transport(t, s)),
        16 => (target(), server_step()).prop_map(|(t, s)| Step::Server(t, s)),
        14 => time_step().prop_map(Step::Time),
        3 => any::<u8>().prop_map(Step::EarlyTick),
        6 => topic.clone().prop_map(Step::Subscribe),
        3 => topic.prop_map(Step::Unsubscribe),
        6 => send_step().prop_map(Step::Send),
        1 => Just(Step::Close),
        2 => Just(Step::ReconnectNow),
        1 => Just(Step::Pause),
        2 => Just(Step::Resume),
        1 => Just(Step::ProvideCredentials),
        1 => Just(Step::CredentialsFailed),
    ]
}
