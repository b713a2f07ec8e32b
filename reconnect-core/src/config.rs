//! Session configuration: every knob, its default, and validation.
//!
//! There is one way to set a knob: assign its public field (`config.liveness.ping_interval =
//! Some(..)`, `config.backoff.initial = ..`), starting from [`Config::new`],
//! [`Config::for_client`] or [`Config::for_replica`] (every sub-policy also implements
//! `Default`). Nothing is checked at assignment; [`Session::new`](crate::Session::new) validates
//! the whole configuration and refuses a bad one with a [`ConfigError`] naming the setting.
//!
//! Why fields and not setters: the configuration is a tree of plain policies (backoff, limits,
//! timeouts, liveness, …) whose fields are all independent values, most knobs were already set
//! through fields, and several constraints span fields (`backoff.initial` against
//! `backoff.max`, `resubscribe.nack_retry_initial` against its maximum), so a setter could not
//! validate them one at a time anyway. Fields make every knob visible in the documentation next to its default, and the
//! single validation point at `Session::new` keeps an invalid configuration from ever running.

use std::time::Duration;

use crate::backoff::BackoffConfig;
use crate::classify::Classifier;
pub use crate::config_error::ConfigError;
use crate::rng::{seed_for_replica, seed_from_client_id};
use crate::send_rate::SendRate;

/// The circuit breaker: after `threshold` consecutive failures, stop trying for `cooldown`, then
/// let one probe attempt through. A probe that reaches live closes the circuit; one that fails
/// opens it again for another cooldown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// Consecutive failures that open the circuit. At least 1.
    pub threshold: u32,
    /// How long the circuit stays open before the probe.
    pub cooldown: Duration,
}

/// When the session gives up for good (it stops with [`StopReason::GaveUp`](crate::StopReason::GaveUp)
/// or [`StopReason::OutageTooLong`](crate::StopReason::OutageTooLong)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Stop after this many consecutive failed attempts. Default: never.
    pub max_attempts: Option<u32>,
    /// Stop when no connection has been live for this long since the outage began. Default:
    /// never.
    pub max_outage: Option<Duration>,
    /// The circuit breaker. Default: none.
    pub circuit_breaker: Option<CircuitBreaker>,
    /// The longest wait a server's retry-after hint can impose. Default 5 minutes.
    pub retry_after_ceiling: Duration,
    /// The most frames each connection may write ([`SendRate`] states what counts, what waits
    /// and in which order, with venues' limits as examples). Default: none, every frame is
    /// written at once.
    pub send_rate: Option<SendRate>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attempts: None,
            max_outage: None,
            circuit_breaker: None,
            retry_after_ceiling: Duration::from_secs(300),
            send_rate: None,
        }
    }
}

/// Deadlines for each step towards live. Every expiry abandons the attempt and backs off, except
/// `close`, whose expiry stops the session without waiting any longer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// TCP + TLS + WebSocket upgrade. Default 10 s.
    pub connect: Duration,
    /// The application supplying requested credentials. Default 30 s.
    pub credentials: Duration,
    /// The auth acknowledgement. Default 10 s.
    pub auth: Duration,
    /// Each setup acknowledgement. Default 10 s.
    pub setup: Duration,
    /// Each subscribe or unsubscribe acknowledgement, counted from when the request was sent (so
    /// paced resubscriptions of many topics are not cut short). Default 10 s.
    pub subscribe: Duration,
    /// The close handshake. Default 5 s.
    pub close: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            credentials: Duration::from_secs(30),
            auth: Duration::from_secs(10),
            setup: Duration::from_secs(10),
            subscribe: Duration::from_secs(10),
            close: Duration::from_secs(5),
        }
    }
}

/// Dead-connection detection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Liveness {
    /// Send a WebSocket ping only once the connection has been quiet this long: the wait
    /// restarts at every inbound frame, pong or ping, so a busy stream sends no pings at all.
    /// Default 15 s; `None` disables pings.
    ///
    /// It is an idle threshold, not a fixed rate: a dead peer is declared at most
    /// `ping_interval + pong_timeout` after the last frame that arrived (25 s by default).
    /// For a request on a fixed schedule whatever the traffic, use
    /// [`heartbeat_interval`](Self::heartbeat_interval).
    pub ping_interval: Option<Duration>,
    /// After a ping or an application heartbeat, how long to wait for any inbound frame (or the
    /// heartbeat's answer) before declaring the connection dead. Default 10 s.
    pub pong_timeout: Duration,
    /// Send the adapter's application heartbeat this often while connected, whatever the
    /// traffic. This alone turns the heartbeat on; the adapter must have one
    /// ([`Protocol::has_heartbeat`](crate::Protocol::has_heartbeat)), or
    /// [`Session::new`](crate::Session::new) refuses the configuration with
    /// [`ConfigError::HeartbeatUnsupported`]. Default: none.
    pub heartbeat_interval: Option<Duration>,
    /// Declare the connection dead after this long without data while at least one subscription
    /// is active (a silent stream). Default: none.
    pub idle_timeout: Option<Duration>,
    /// Declare a topic stale after this long without data on it while the connection is
    /// otherwise healthy, and re-subscribe that topic alone, from its last sequence number,
    /// without reconnecting ([`Event::TopicStale`](crate::Event::TopicStale), then
    /// [`Event::Resynced`](crate::Event::Resynced)). The default of every subscription;
    /// [`SubscribeOptions::stale_after`](crate::SubscribeOptions::stale_after) overrides it for
    /// one. Default: none (off).
    ///
    /// A topic's silence counts from the latest of its last data, its confirmation and the
    /// connection turning live. "Otherwise healthy" means some other frame arrived since: a
    /// connection that went silent as a whole is the business of
    /// [`ping_interval`](Self::ping_interval) and [`idle_timeout`](Self::idle_timeout), so it
    /// does not set off one re-subscription per topic; the topic is checked again one window
    /// later. All topics share one deadline of the session, so the cost of this setting does not
    /// grow with the number of timers, and a data frame only writes a timestamp.
    pub topic_stale_after: Option<Duration>,
    /// After this many consecutive stale windows of one topic (no data on it in between), the
    /// re-subscription is given up on and the connection is replaced:
    /// [`EndCause::TopicStale`](crate::EndCause::TopicStale), retried by default. Default 3;
    /// must be at least 1 (1: the first staleness reconnects at once).
    pub topic_stale_escalation: u32,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            ping_interval: Some(Duration::from_secs(15)),
            pong_timeout: Duration::from_secs(10),
            heartbeat_interval: None,
            idle_timeout: None,
            topic_stale_after: None,
            topic_stale_escalation: 3,
        }
    }
}

/// The credentials flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialPolicy {
    /// Ask the application for fresh credentials before every connect attempt (a listen key that
    /// is only valid for one connection, a signed URL). Default false: credentials are asked for
    /// only when a rejection or close is classified as
    /// [`Disposition::RefreshCredentials`](crate::Disposition::RefreshCredentials).
    pub fetch_before_connect: bool,
    /// While live, ask for fresh credentials this often (a listen key that expires after an
    /// hour, say) and re-authenticate if the adapter needs it. Default: none.
    pub renewal_interval: Option<Duration>,
}

/// Renewing credentials whose lifetime the server stated (Deribit's `expires_in`), on the live
/// connection, before they expire.
///
/// After every acknowledged auth request the session asks the adapter what the server granted
/// ([`Protocol::granted`](crate::Protocol::granted)). Given a lifetime `L`, it re-authenticates on
/// the same connection after
///
/// ```text
/// max(min(L × fraction, L − margin), min_delay)
/// ```
///
/// (`L − margin` stops at zero), with the server's refresh token when it gave one and
/// `use_refresh_token` is set, otherwise with the current credentials. Nothing else moves: no
/// reconnect, no re-subscribe, the session stays live and sends keep flowing. The answer's own
/// lifetime arms the next renewal; a renewal whose answer states none arms nothing more. So does
/// the application's own re-auth (new credentials while live): its answer's lifetime replaces
/// the schedule, and an answer without one, or no answer at all for a protocol without
/// acknowledgements, leaves none armed. The schedule belongs to the connection: when the connection ends it is dropped, and the next
/// connection's auth arms its own.
///
/// Edge cases, so that no server answer can make the session spin:
/// - a lifetime of zero arms nothing (the server gave no usable lifetime);
/// - a lifetime no longer than the margin cannot be renewed `margin` before it ends, so it is
///   renewed as early as allowed: `min_delay` after the answer. A server that keeps granting
///   such lifetimes gets one renewal per `min_delay`, never a burst; one that grants less than
///   `min_delay` gets its renewal after the expiry.
///
/// A refused refresh token is not final: the token may be revoked while the application's own
/// credentials still hold, so the renewal is asked for once more with the current credentials,
/// on the same connection. A refused renewal with the current credentials is classified like any
/// auth refusal
/// ([`Protocol::auth_rejection`](crate::Protocol::auth_rejection)): the connection ends, and the
/// disposition decides between a reconnect, fresh credentials and a stop. A renewal without an
/// answer within `timeouts.auth` ends the connection as an auth timeout. Each successful one is
/// reported as [`Event::CredentialsRenewed`](crate::Event::CredentialsRenewed).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LifetimeRenewal {
    /// Renew credentials whenever the adapter reports a lifetime. Default true.
    pub enabled: bool,
    /// The share of the lifetime after which to renew, in (0, 1]. Default 0.8.
    pub fraction: f64,
    /// Renew at the latest this long before the credentials expire. Default 15 s: longer than
    /// the default `timeouts.auth` (10 s), so that a renewal the server does not answer is
    /// detected while the credentials still hold. Keep it above `timeouts.auth`.
    pub margin: Duration,
    /// Never renew sooner than this after the answer that granted the lifetime. Default 1 s;
    /// must be longer than zero.
    pub min_delay: Duration,
    /// Renew with the refresh token the server gave (when the adapter can build that request),
    /// rather than with the current credentials. Default true.
    pub use_refresh_token: bool,
}

impl Default for LifetimeRenewal {
    fn default() -> Self {
        LifetimeRenewal {
            enabled: true,
            fraction: 0.8,
            margin: Duration::from_secs(15),
            min_delay: Duration::from_secs(1),
            use_refresh_token: true,
        }
    }
}

/// How wanted topics are resubscribed on each new connection (`Session::restore` is about
/// snapshots, not this).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResubscribePolicy {
    /// Topics per subscribe frame, further limited by the adapter's own batch size. Default 50.
    pub batch_size: usize,
    /// At most this many resubscribe frames per second; `None` sends them all at once. Default 10.
    /// A cap on top of [`Limits::send_rate`], which paces every frame of a connection (the
    /// resubscription's included): a resubscribe frame goes out once both allow it.
    pub frames_per_second: Option<u32>,
    /// The most topics the registry holds; subscribing beyond it is refused. Default 100,000.
    pub max_topics: usize,
    /// The first retry delay of a transiently rejected subscription (doubling, jittered, up to
    /// `nack_retry_max`). Default 1 s.
    pub nack_retry_initial: Duration,
    /// The cap on that delay. Default 60 s.
    pub nack_retry_max: Duration,
}

impl Default for ResubscribePolicy {
    fn default() -> Self {
        ResubscribePolicy {
            batch_size: 50,
            frames_per_second: Some(10),
            max_topics: 100_000,
            nack_retry_initial: Duration::from_secs(1),
            nack_retry_max: Duration::from_secs(60),
        }
    }
}

/// What the outbox does when a send would exceed its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OverflowPolicy {
    /// Refuse the new message: the send returns an error that hands the frame back.
    Reject,
    /// Drop the oldest queued messages to make room; each drop is an
    /// [`Event::OutboxDropped`](crate::Event::OutboxDropped) carrying the frame.
    DropOldest,
    /// Drop the new message; the drop is an [`Event::OutboxDropped`](crate::Event::OutboxDropped).
    DropNewest,
}

/// Bounds of the queue of application sends made while not live.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxPolicy {
    /// The most messages queued. Default 1,024; 0 refuses every send while not live.
    pub max_messages: usize,
    /// The most payload bytes queued. Default 1 MiB.
    pub max_bytes: usize,
    /// What happens at the bound. Default [`OverflowPolicy::Reject`].
    pub overflow: OverflowPolicy,
    /// Whether snapshots include the queued messages. Default false: most queued orders are
    /// stale after a crash.
    pub in_snapshot: bool,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        OutboxPolicy {
            max_messages: 1024,
            max_bytes: 1 << 20,
            overflow: OverflowPolicy::Reject,
            in_snapshot: false,
        }
    }
}

/// Everything a [`Session`](crate::Session) needs besides its adapter.
///
/// Built with [`Config::new`] (an explicit jitter seed) or [`Config::for_client`] (a seed derived
/// from a stable client id), then adjusted through its public fields (the only way to set a
/// knob). [`Session::new`](crate::Session::new) validates it.
///
/// ```
/// use std::time::Duration;
/// use reconnect_core::{Config, Jitter};
///
/// let mut config = Config::for_client("collector-7");
/// config.liveness.ping_interval = Some(Duration::from_secs(5));
/// config.liveness.pong_timeout = Duration::from_secs(3);
/// config.backoff.jitter = Jitter::Decorrelated;
/// config.limits.max_attempts = Some(20);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// The jitter seed. Give each member of a fleet a different one ([`Config::for_replica`]
    /// when members share a client id).
    pub seed: u64,
    /// The backoff policy.
    pub backoff: BackoffConfig,
    /// When to give up, the circuit breaker, the retry-after ceiling.
    pub limits: Limits,
    /// Step deadlines.
    pub timeouts: Timeouts,
    /// Dead-connection detection.
    pub liveness: Liveness,
    /// The credentials flow.
    pub credentials: CredentialPolicy,
    /// Renewal of credentials whose lifetime the server stated.
    pub lifetime_renewal: LifetimeRenewal,
    /// Resubscription of wanted topics on each new connection.
    pub resubscribe: ResubscribePolicy,
    /// The outbox.
    pub outbox: OutboxPolicy,
    /// Replace a connection after it has been open this long (resubscribing every wanted topic). Default:
    /// none.
    pub max_lifetime: Option<Duration>,
    /// The default classification of what ends a connection.
    pub classifier: Classifier,
    /// The largest application frame (payload bytes) the transport can write: a larger
    /// [`Session::send`](crate::Session::send) is refused with
    /// [`SendErrorKind::TooLarge`](crate::SendErrorKind::TooLarge) and the connection is left
    /// alone. Default: no limit (`usize::MAX`). A driver lowers it to what its WebSocket
    /// configuration can write with [`Session::limit_frame_len`](crate::Session::limit_frame_len).
    ///
    /// The session's own frames are never written over it either; each is refused with
    /// [`EndCause::FrameTooLarge`](crate::EndCause::FrameTooLarge), naming the frame and both
    /// sizes: an auth or setup request ends the attempt (fatal by default), a renewal fails
    /// alone ([`Event::RenewalFailed`](crate::Event::RenewalFailed)), a subscribe request is
    /// split down to single topics and a topic too large alone is rejected for good, an
    /// unsubscribe request is not sent, a heartbeat request ends the connection (fatal by
    /// default) and a heartbeat reply ends it (retried by default).
    pub max_frame_len: usize,
}

impl Config {
    /// A configuration with every default and the given jitter seed.
    pub fn new(seed: u64) -> Self {
        Config {
            seed,
            backoff: BackoffConfig::default(),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            liveness: Liveness::default(),
            credentials: CredentialPolicy::default(),
            lifetime_renewal: LifetimeRenewal::default(),
            resubscribe: ResubscribePolicy::default(),
            outbox: OutboxPolicy::default(),
            max_lifetime: None,
            classifier: Classifier::default(),
            max_frame_len: usize::MAX,
        }
    }

    /// A configuration whose seed is derived from a stable client id (FNV-1a, then a SplitMix64
    /// finaliser: the same id gives the same seed in every version of this crate).
    ///
    /// Every process using the same id draws the same delays: replicas of one service that
    /// share an id would reconnect in lockstep. Give each its own seed with
    /// [`Config::for_replica`].
    pub fn for_client(client_id: &str) -> Self {
        Config::new(seed_from_client_id(client_id))
    }

    /// A configuration for one replica of a client that shares its client id with other
    /// replicas: the seed mixes the id's with `replica`'s own SplitMix64 finalisation, so replicas draw different delays while
    /// each replica's own draws stay reproducible run after run. `replica` must be stable for
    /// the replica and distinct across the fleet (an index, a pod ordinal).
    ///
    /// ```
    /// use reconnect_core::Config;
    ///
    /// let replica = 2; // this process's stable ordinal, e.g. from the StatefulSet pod name
    /// let config = Config::for_replica("collector-7", replica);
    /// assert_ne!(config.seed, Config::for_replica("collector-7", 3).seed);
    /// assert_eq!(config.seed, Config::for_replica("collector-7", 2).seed);
    /// ```
    pub fn for_replica(client_id: &str, replica: u64) -> Self {
        Config::new(seed_for_replica(client_id, replica))
    }

    /// Checks the configuration for values the session cannot work with. The first bad value
    /// found is returned, naming its setting.
    ///
    /// [`Session::new`](crate::Session::new) also checks the configuration against its adapter
    /// ([`ConfigError::HeartbeatUnsupported`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let b = &self.backoff;
        if !(b.factor.is_finite() && b.factor >= 1.0) {
            return Err(invalid("backoff.factor", "must be finite and at least 1.0"));
        }
        if b.initial > b.max {
            return Err(invalid("backoff.initial", "must not exceed backoff.max"));
        }
        let t = &self.timeouts;
        for (setting, d) in [
            ("timeouts.connect", t.connect),
            ("timeouts.credentials", t.credentials),
            ("timeouts.auth", t.auth),
            ("timeouts.setup", t.setup),
            ("timeouts.subscribe", t.subscribe),
            ("timeouts.close", t.close),
        ] {
            if d.is_zero() {
                return Err(invalid(setting, MUST_BE_POSITIVE));
            }
        }
        let l = &self.liveness;
        if l.pong_timeout.is_zero() {
            return Err(invalid("liveness.pong_timeout", MUST_BE_POSITIVE));
        }
        for (setting, d) in [
            ("liveness.ping_interval", l.ping_interval),
            ("liveness.heartbeat_interval", l.heartbeat_interval),
            ("liveness.idle_timeout", l.idle_timeout),
            ("liveness.topic_stale_after", l.topic_stale_after),
            (
                "credentials.renewal_interval",
                self.credentials.renewal_interval,
            ),
            ("max_lifetime", self.max_lifetime),
        ] {
            if d.is_some_and(|d| d.is_zero()) {
                return Err(invalid(setting, MUST_BE_POSITIVE));
            }
        }
        if l.topic_stale_escalation == 0 {
            return Err(invalid(
                "liveness.topic_stale_escalation",
                "must be at least 1",
            ));
        }
        let lr = &self.lifetime_renewal;
        if !(lr.fraction.is_finite() && lr.fraction > 0.0 && lr.fraction <= 1.0) {
            return Err(invalid(
                "lifetime_renewal.fraction",
                "must be more than 0 and at most 1",
            ));
        }
        if lr.min_delay.is_zero() {
            return Err(invalid("lifetime_renewal.min_delay", MUST_BE_POSITIVE));
        }
        if self
            .limits
            .circuit_breaker
            .as_ref()
            .is_some_and(|cb| cb.threshold == 0)
        {
            return Err(invalid(
                "limits.circuit_breaker.threshold",
                "must be at least 1",
            ));
        }
        let r = &self.resubscribe;
        if r.batch_size == 0 {
            return Err(invalid("resubscribe.batch_size", "must be at least 1"));
        }
        if let Some(rate) = &self.limits.send_rate {
            if rate.frames == 0 {
                return Err(invalid("limits.send_rate.frames", "must be at least 1"));
            }
            if rate.per.is_zero() {
                return Err(invalid("limits.send_rate.per", MUST_BE_POSITIVE));
            }
            if rate.burst == 0 {
                return Err(invalid("limits.send_rate.burst", "must be at least 1"));
            }
        }
        if r.frames_per_second == Some(0) {
            return Err(invalid(
                "resubscribe.frames_per_second",
                "must be at least 1",
            ));
        }
        if r.nack_retry_initial.is_zero() {
            return Err(invalid("resubscribe.nack_retry_initial", MUST_BE_POSITIVE));
        }
        if r.nack_retry_initial > r.nack_retry_max {
            return Err(invalid(
                "resubscribe.nack_retry_initial",
                "must not exceed resubscribe.nack_retry_max",
            ));
        }
        Ok(())
    }
}

const MUST_BE_POSITIVE: &str = "must be longer than zero";

fn invalid(setting: &'static str, reason: &'static str) -> ConfigError {
    ConfigError::Invalid { setting, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_setting(c: &Config) -> &'static str {
        match c.validate() {
            Err(ConfigError::Invalid { setting, .. }) => setting,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert_eq!(Config::new(1).validate(), Ok(()));
        let mut c = Config::new(1);
        c.backoff.factor = 0.5;
        assert_eq!(invalid_setting(&c), "backoff.factor");
        let mut c = Config::new(1);
        c.timeouts.auth = Duration::ZERO;
        assert_eq!(invalid_setting(&c), "timeouts.auth");
        let mut c = Config::new(1);
        c.timeouts.close = Duration::ZERO;
        assert_eq!(invalid_setting(&c), "timeouts.close");
        let mut c = Config::new(1);
        c.resubscribe.frames_per_second = Some(0);
        assert_eq!(invalid_setting(&c), "resubscribe.frames_per_second");
        let mut c = Config::new(1);
        c.liveness.idle_timeout = Some(Duration::ZERO);
        assert_eq!(invalid_setting(&c), "liveness.idle_timeout");
        for fraction in [0.0, -0.5, 1.01, f64::NAN, f64::INFINITY] {
            let mut c = Config::new(1);
            c.lifetime_renewal.fraction = fraction;
            assert_eq!(
                invalid_setting(&c),
                "lifetime_renewal.fraction",
                "{fraction}"
            );
        }
        let mut c = Config::new(1);
        c.lifetime_renewal.fraction = 1.0;
        assert_eq!(c.validate(), Ok(()));
        c.lifetime_renewal.min_delay = Duration::ZERO;
        assert_eq!(
            c.validate(),
            Err(ConfigError::Invalid {
                setting: "lifetime_renewal.min_delay",
                reason: "must be longer than zero",
            })
        );
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "invalid configuration: lifetime_renewal.min_delay must be longer than zero"
        );
    }

    #[test]
    fn client_ids_seed_differently() {
        assert_ne!(Config::for_client("a").seed, Config::for_client("b").seed);
    }
}
