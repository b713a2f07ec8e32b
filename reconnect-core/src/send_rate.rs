//! The outbound rate limit of one connection: a token bucket the session consults before it
//! writes any frame, so that a venue's "N messages per second per connection" is kept by the
//! session instead of punished by the venue (which usually closes the connection).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::boundary::{Action, Purpose};
use crate::connect_budget::ConnectBudget;

/// The most frames a connection may write: `frames` per `per` on average, `burst` back to back.
/// Set it as [`Limits::send_rate`](crate::Limits::send_rate).
///
/// # What it counts
///
/// Every frame the session writes on a connection: auth and renewal requests, setup requests,
/// subscribe and unsubscribe requests, heartbeats and heartbeat replies, application sends, and
/// WebSocket pings ([`Action::Ping`]). Close frames are not counted and never wait: the
/// connection is leaving anyway.
///
/// The WebSocket pongs a binding writes by itself, in answer to the server's pings, are not
/// seen by the session and not counted. A venue that counts pongs (Binance does) needs
/// headroom for them: configure one frame less than the venue's limit per `per` while the
/// server pings less often than once per `per` (which every venue listed below does).
///
/// # The guarantee
///
/// A bucket in GCRA form ([`ConnectBudget`]'s): tokens come back one every `per / frames`, and
/// at most `burst` are held. In any window of length `per` (start included, end excluded), a
/// connection writes at most `frames + burst - 1` frames. So [`SendRate::new`]'s `burst` of 1
/// keeps a venue's "`frames` per `per`" in every sliding window, spacing the frames evenly; a
/// larger [`burst`](SendRate::burst) lets a quiet connection write that many at once, at the
/// price of up to `burst - 1` more in a window: use it only for a venue that counts in a way
/// that allows it.
///
/// Each connection starts with a full bucket: venues count per connection, and a new
/// connection has written nothing yet. (How fast new connections may be opened is a different
/// limit, per IP: [`ConnectBudget`] spreads a fleet's attempts.)
///
/// # What waits, and in which order
///
/// A frame over its quota waits; it is never dropped. The session arms one deadline, the
/// instant the next token is free, and writes what waits as tokens come, in this order:
///
/// 1. the session's control frames (auth, setup, unsubscribe, heartbeats and their replies,
///    pings), first in, first out, at most [`SendRate::MAX_WAITING`] of them (one connection
///    cannot need more unless the server asks for replies faster than the rate allows: the
///    connection then ends with [`EndCause::SendBacklog`](crate::EndCause::SendBacklog),
///    retried by default, instead of growing without bound);
/// 2. subscribe requests: the topics wait unsent in the subscription registry, so the
///    resubscription of a reconnect is paced by the same bucket (and also by
///    [`ResubscribePolicy::frames_per_second`](crate::ResubscribePolicy::frames_per_second),
///    which stays an additional cap: a frame goes out once both allow it);
/// 3. application sends: a send made while live that finds no token (or frames waiting before
///    it) waits in the outbox, under the [`OutboxPolicy`](crate::OutboxPolicy) bound, expiry
///    and coalescing, and [`Session::send`](crate::Session::send) answers
///    [`SendStatus::Queued`](crate::SendStatus::Queued). Application sends keep their order
///    among themselves; a control frame may overtake application sends that wait.
///
/// A ping's pong timeout counts from when the ping is written. A request's acknowledgement
/// deadline counts from when the session decided to send it, its wait for a token included,
/// except a subscribe request's, which waits unsent in the registry and is timed from its
/// write: with a tight rate, keep the auth, setup and heartbeat timeouts well above the time
/// the frames ahead of them take (`per / frames` each, after the burst).
///
/// When a connection ends, its waiting control frames end with it (the next connection
/// authenticates and resubscribes afresh); waiting application sends stay in the outbox for
/// the next connection.
///
/// # Venue limits, as examples
///
/// Not built in: venues change their limits, and these were read from their documentation at
/// the time of writing. Check the venue's current documentation before relying on any of them.
///
/// | Venue | Limit on what a client sends | Other limits | Source |
/// |---|---|---|---|
/// | Binance spot (WebSocket API and market streams) | 5 incoming messages per second per connection; ping, pong, subscribe and unsubscribe frames count: `SendRate::new(4, Duration::from_secs(1))` leaves room for the pongs the binding writes | 1024 streams per connection; 300 connections per 5 minutes per IP | Binance spot API docs, "WebSocket Streams" / "WebSocket API", Limits |
/// | Bybit v5 | *uncertain, check the venue's docs*; no per-connection message rate is stated here | *uncertain*: about 500 new connections per 5 minutes per IP | Bybit v5 API docs, "WebSocket Connect" |
/// | OKX v5 | *uncertain, check the venue's docs*: about 480 subscribe, unsubscribe and login requests per hour per connection | *uncertain*: about 3 connection requests per second per IP | OKX v5 API docs, "WebSocket", limits |
/// | Hyperliquid | *uncertain, check the venue's docs*: about 2000 messages per minute per IP, across all connections (per IP, so one session's limit cannot keep it alone) | *uncertain*: about 100 connections and 1000 subscriptions per IP | Hyperliquid docs, "Rate limits and user limits" |
///
/// ```
/// use std::time::Duration;
/// use reconnect_core::{Config, SendRate};
///
/// let mut config = Config::new(7);
/// // Binance spot: 5 a second, counting the pongs the binding writes by itself.
/// config.limits.send_rate = Some(SendRate::new(4, Duration::from_secs(1)));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SendRate {
    /// Frames per `per`, on average. At least 1.
    pub frames: u32,
    /// The period `frames` are counted over. Longer than zero.
    pub per: Duration,
    /// How many frames may go back to back after a quiet period. At least 1.
    pub burst: u32,
}

impl SendRate {
    /// The most control frames one connection keeps waiting for a token (see the type's docs).
    pub const MAX_WAITING: usize = 4096;

    /// `frames` per `per`, evenly spaced (`burst` 1): never more than `frames` in any window of
    /// length `per`.
    pub fn new(frames: u32, per: Duration) -> Self {
        SendRate {
            frames,
            per,
            burst: 1,
        }
    }

    /// Sets [`burst`](Self::burst).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// The time one token takes to come back: `per / frames`.
    pub fn interval(&self) -> Duration {
        self.per / self.frames.max(1)
    }
}

/// One connection's bucket and the control frames that wait for it.
#[derive(Clone, Debug)]
pub(crate) struct Throttle {
    bucket: ConnectBudget,
    waiting: VecDeque<Action>,
}

impl Throttle {
    pub(crate) fn new(rate: &SendRate) -> Self {
        Throttle {
            bucket: ConnectBudget::with_interval(rate.interval(), rate.burst),
            waiting: VecDeque::new(),
        }
    }

    /// Takes a token for a frame that would otherwise not wait: only if no control frame waits
    /// (those go first) and the bucket has one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        self.waiting.is_empty() && self.bucket.try_take(now)
    }

    /// The instant the next token is free.
    pub(crate) fn next_token_at(&self, now: Instant) -> Instant {
        self.bucket.next_token_at(now).max(now)
    }

    /// Queues a control frame behind the others; returns how many wait now.
    pub(crate) fn wait(&mut self, action: Action) -> usize {
        self.waiting.push_back(action);
        self.waiting.len()
    }

    /// The next waiting control frame, if its token is free at `now` (the token is taken).
    pub(crate) fn release(&mut self, now: Instant) -> Option<Action> {
        if self.waiting.is_empty() || !self.bucket.try_take(now) {
            return None;
        }
        self.waiting.pop_front()
    }

    pub(crate) fn waiting(&self) -> usize {
        self.waiting.len()
    }

    pub(crate) fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Whether a ping already waits: a second one would ask the same question again.
    pub(crate) fn ping_waits(&self) -> bool {
        self.waiting
            .iter()
            .any(|a| matches!(a, Action::Ping { .. }))
    }

    /// Forgets the waiting control frames: the connection is closing, and nothing may follow
    /// its close frame.
    pub(crate) fn clear(&mut self) {
        self.waiting.clear();
    }
}

/// Whether a frame of `purpose` goes through the control queue (`true`), or waits elsewhere
/// (subscriptions in the registry, application sends in the outbox) and takes its token itself.
pub(crate) fn is_control(purpose: Purpose) -> bool {
    !matches!(purpose, Purpose::Subscribe | Purpose::Application)
}
