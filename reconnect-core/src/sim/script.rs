//! What goes wrong, and when: faults scheduled at virtual times.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use super::format::secs_text;

/// A rejection the fake server gives an auth request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthRejection {
    /// A rejection retrying cannot fix (bad credentials): the session should stop.
    Fatal,
    /// A rejection worth retrying (rate limited, temporarily unavailable).
    Transient,
}

/// A fault the fake server applies itself, because only it knows its wire format. The
/// simulator hands it to [`SimServer::inject`](super::SimServer::inject); a server that does not
/// support a fault says so and the transcript records it as unsupported.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerFault {
    /// Reject the next auth request.
    RejectAuth(AuthRejection),
    /// Leave `topic` out of the answer to the next subscribe request that names it (a
    /// per-topic refusal).
    Nack {
        /// The topic refused.
        topic: String,
    },
    /// Skip `count` sequence numbers on `topic`'s data: the session should report a gap.
    SkipSequence {
        /// The topic.
        topic: String,
        /// How many numbers to skip.
        count: u64,
    },
    /// Send no data for this long, while the connection itself stays healthy (a data stall:
    /// only an idle timeout notices it).
    StopData(Duration),
}

impl fmt::Display for ServerFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerFault::RejectAuth(AuthRejection::Fatal) => {
                f.write_str("server rejects the next auth (fatal)")
            }
            ServerFault::RejectAuth(AuthRejection::Transient) => {
                f.write_str("server rejects the next auth (transient)")
            }
            ServerFault::Nack { topic } => {
                write!(f, "server refuses {topic} on its next subscribe")
            }
            ServerFault::SkipSequence { topic, count } => {
                write!(f, "server skips {count} sequence number(s) on {topic}")
            }
            ServerFault::StopData(d) => write!(f, "server stops data for {}", secs_text(*d)),
        }
    }
}

/// Something that goes wrong at a scripted virtual time.
///
/// Network faults act on the connection that is current at that moment (the most recent one
/// the session asked for); condition faults (`RefuseFor`, `BlackholeFor`, `RejectHandshake`,
/// `AddLatency`) act on what happens next.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The current connection is reset: the session sees
    /// [`Input::Failed`](crate::Input::Failed) with
    /// [`TransportErrorKind::Reset`](crate::TransportErrorKind::Reset) one latency later, and
    /// whatever was still in flight is lost.
    Reset,
    /// The current connection goes silent: it stays open, but nothing is delivered either way
    /// from now on (a half-open socket). Only the session's liveness checks can notice.
    Stall,
    /// The server closes the current connection with this close code and reason.
    Close {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Connection attempts are refused (TCP RST) for this long.
    RefuseFor(Duration),
    /// Connection attempts get no answer at all for this long: only the session's connect
    /// timeout ends them.
    BlackholeFor(Duration),
    /// The next connection attempt gets this HTTP status instead of the WebSocket upgrade.
    RejectHandshake {
        /// The HTTP status (429, 503, …).
        status: u16,
        /// The `Retry-After` the server sends with it.
        retry_after: Option<Duration>,
    },
    /// Every delivery scheduled in the next `duration` takes `extra` longer (one way).
    AddLatency {
        /// The added one-way delay.
        extra: Duration,
        /// How long the slowdown lasts.
        duration: Duration,
    },
    /// The server restarts: it closes every connection with 1012 ("service restart"), refuses
    /// connections for `downtime`, and forgets its per-connection state
    /// ([`SimServer::on_restart`](super::SimServer::on_restart)).
    Restart {
        /// How long the server is down.
        downtime: Duration,
    },
    /// A fault the server applies (see [`ServerFault`]).
    Server(ServerFault),
}

impl Fault {
    /// [`Fault::Close`] with a code and a reason.
    pub fn close(code: u16, reason: impl Into<String>) -> Self {
        Fault::Close {
            code,
            reason: reason.into(),
        }
    }

    /// [`ServerFault::RejectAuth`].
    pub fn reject_auth(rejection: AuthRejection) -> Self {
        Fault::Server(ServerFault::RejectAuth(rejection))
    }

    /// [`ServerFault::Nack`].
    pub fn nack(topic: impl Into<String>) -> Self {
        Fault::Server(ServerFault::Nack {
            topic: topic.into(),
        })
    }

    /// [`ServerFault::SkipSequence`].
    pub fn skip_sequence(topic: impl Into<String>, count: u64) -> Self {
        Fault::Server(ServerFault::SkipSequence {
            topic: topic.into(),
            count,
        })
    }

    /// [`ServerFault::StopData`].
    pub fn stop_data(duration: Duration) -> Self {
        Fault::Server(ServerFault::StopData(duration))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Reset => f.write_str("reset"),
            Fault::Stall => f.write_str("stall"),
            Fault::Close { code, reason } => write!(f, "server closes with {code} {reason:?}"),
            Fault::RefuseFor(d) => write!(f, "refuse connections for {}", secs_text(*d)),
            Fault::BlackholeFor(d) => write!(f, "blackhole connections for {}", secs_text(*d)),
            Fault::RejectHandshake {
                status,
                retry_after,
            } => {
                write!(f, "next handshake gets HTTP {status}")?;
                match retry_after {
                    Some(d) => write!(f, " with Retry-After {}", secs_text(*d)),
                    None => Ok(()),
                }
            }
            Fault::AddLatency { extra, duration } => write!(
                f,
                "add {} latency for {}",
                secs_text(*extra),
                secs_text(*duration)
            ),
            Fault::Restart { downtime } => {
                write!(f, "server restart, down for {}", secs_text(*downtime))
            }
            Fault::Server(s) => s.fmt(f),
        }
    }
}

/// Faults at virtual times (offsets from the simulator's base instant), in time order; faults
/// scheduled at the same time happen in the order they were added.
///
/// ```
/// use std::time::Duration;
/// use reconnect_core::sim::{Fault, Script};
///
/// let script = Script::new()
///     .at(Duration::from_secs(30), Fault::Reset)
///     .at(Duration::from_secs(60), Fault::RefuseFor(Duration::from_secs(20)));
/// assert_eq!(script.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    faults: VecDeque<(Duration, Fault)>,
}

impl Script {
    /// An empty script: nothing goes wrong.
    pub fn new() -> Self {
        Script::default()
    }

    /// Adds `fault` at virtual time `at`.
    pub fn at(mut self, at: Duration, fault: Fault) -> Self {
        self.push(at, fault);
        self
    }

    /// Adds `fault` at virtual time `at` (the `&mut` form, for scripts built in loops).
    pub fn push(&mut self, at: Duration, fault: Fault) {
        // After every fault at the same time, so equal times keep their insertion order.
        let index = self.faults.partition_point(|(t, _)| *t <= at);
        self.faults.insert(index, (at, fault));
    }

    /// How many faults remain.
    pub fn len(&self) -> usize {
        self.faults.len()
    }

    /// Whether no fault remains.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// The faults, in the order they happen.
    pub fn iter(&self) -> impl Iterator<Item = &(Duration, Fault)> {
        self.faults.iter()
    }

    /// When the next fault is due.
    pub(crate) fn next_at(&self) -> Option<Duration> {
        self.faults.front().map(|(at, _)| *at)
    }

    /// Removes and returns the next fault if it is due at `now` (an offset from the base).
    pub(crate) fn pop_due(&mut self, now: Duration) -> Option<(Duration, Fault)> {
        if self.next_at()? <= now {
            self.faults.pop_front()
        } else {
            None
        }
    }
}
