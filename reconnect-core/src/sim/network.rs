//! The fake network: latency settings, the state of each simulated connection, and the
//! conditions scripted faults leave behind (refusals, blackholes, rejected handshakes, slowness).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rng::Rng;

/// The fake network's settings.
///
/// Each connection draws its one-way latency once, when it is attempted, uniformly from
/// `[latency, latency + jitter]` with a generator seeded by `seed`; every delivery on it then
/// takes that long (plus any [`Fault::AddLatency`](super::Fault::AddLatency)), and deliveries in
/// each direction stay in order, as on a TCP stream. A connect outcome takes one round trip.
///
/// ```
/// use std::time::Duration;
/// use reconnect_core::sim::Network;
///
/// let network = Network::new()
///     .latency(Duration::from_millis(40))
///     .jitter(Duration::from_millis(20))
///     .seed(7);
/// assert_eq!(network.latency, Duration::from_millis(40));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Network {
    /// The shortest one-way latency. Default 20 ms.
    pub latency: Duration,
    /// The spread added on top, per connection. Default 0 (every connection the same).
    pub jitter: Duration,
    /// The seed of the latency draws.
    pub seed: u64,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            latency: Duration::from_millis(20),
            jitter: Duration::ZERO,
            seed: 0,
        }
    }
}

impl Network {
    /// The default network: 20 ms each way, no jitter.
    pub fn new() -> Self {
        Network::default()
    }
    /// Sets [`latency`](Self::latency).
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }
    /// Sets [`jitter`](Self::jitter).
    pub fn jitter(mut self, d: Duration) -> Self {
        self.jitter = d;
        self
    }
    /// Sets [`seed`](Self::seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// One simulated connection, from the session's `Connect` until both ends are done with it.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    /// One-way latency, drawn at connect.
    pub(crate) latency: Duration,
    /// Bumped by a reset or a stall: deliveries scheduled under an older value are lost.
    pub(crate) cut: u32,
    /// Nothing is delivered either way.
    pub(crate) stalled: bool,
    /// The server accepted it and has not seen it end.
    pub(crate) server_open: bool,
    /// The session released it.
    pub(crate) released: bool,
    /// The latest delivery time scheduled towards the client (in-order delivery).
    pub(crate) to_client_at: Instant,
    /// The latest delivery time scheduled towards the server.
    pub(crate) to_server_at: Instant,
    /// Deliveries for it still in the queue, either way.
    pub(crate) in_flight: u32,
}

impl Link {
    pub(crate) fn new(now: Instant, latency: Duration) -> Self {
        Link {
            latency,
            cut: 0,
            stalled: false,
            server_open: false,
            released: false,
            to_client_at: now,
            to_server_at: now,
            in_flight: 0,
        }
    }

    /// Whether both ends are done with it and nothing of it is in flight: it can be forgotten.
    pub(crate) fn finished(&self) -> bool {
        self.released && !self.server_open && self.in_flight == 0
    }
}

/// What scripted faults leave behind for the connections that come next.
#[derive(Clone, Debug)]
pub(crate) struct Conditions {
    rng: Rng,
    base_latency: Duration,
    jitter: Duration,
    /// Attempts are refused until then.
    pub(crate) refuse_until: Option<Instant>,
    /// Attempts get no answer until then.
    pub(crate) blackhole_until: Option<Instant>,
    /// HTTP statuses (with Retry-After) the next attempts get, in order.
    pub(crate) handshakes: VecDeque<(u16, Option<Duration>)>,
    /// Extra one-way latency, until when.
    pub(crate) slow: Option<(Instant, Duration)>,
}

/// How the network answers a connection attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnectOutcome {
    Accept,
    Refuse,
    Blackhole,
    Handshake(u16, Option<Duration>),
}

impl Conditions {
    pub(crate) fn new(network: &Network) -> Self {
        Conditions {
            rng: Rng::new(network.seed),
            base_latency: network.latency,
            jitter: network.jitter,
            refuse_until: None,
            blackhole_until: None,
            handshakes: VecDeque::new(),
            slow: None,
        }
    }

    /// Draws a new connection's one-way latency.
    pub(crate) fn draw_latency(&mut self) -> Duration {
        if self.jitter.is_zero() {
            return self.base_latency;
        }
        self.rng
            .duration_between(self.base_latency, self.base_latency + self.jitter)
    }

    /// The extra latency in force at `now`.
    pub(crate) fn extra_latency(&self, now: Instant) -> Duration {
        match self.slow {
            Some((until, extra)) if now < until => extra,
            _ => Duration::ZERO,
        }
    }

    /// How an attempt made at `now` is answered (consumes a scripted handshake rejection).
    pub(crate) fn connect_outcome(&mut self, now: Instant) -> ConnectOutcome {
        if self.blackhole_until.is_some_and(|until| now < until) {
            ConnectOutcome::Blackhole
        } else if self.refuse_until.is_some_and(|until| now < until) {
            ConnectOutcome::Refuse
        } else if let Some((status, retry_after)) = self.handshakes.pop_front() {
            ConnectOutcome::Handshake(status, retry_after)
        } else {
            ConnectOutcome::Accept
        }
    }

    /// Extends a window (`refuse_until`, `blackhole_until`) to cover at least `until`.
    pub(crate) fn extend(window: &mut Option<Instant>, until: Instant) {
        *window = Some(window.map_or(until, |w| w.max(until)));
    }
}
