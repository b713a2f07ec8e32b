//! Counters and health, for dashboards and alerts.

use std::time::{Duration, Instant};

use crate::error::EndCause;

/// Failures by class, for [`Stats::failures`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailureCounts {
    /// Transport failures (DNS, refused, reset, TLS, handshake status, I/O).
    pub transport: u64,
    /// Closes initiated by the server.
    pub server_close: u64,
    /// The session's own deadlines (connect, auth, setup, subscribe, pong, idle, heartbeat) and
    /// topics stale too often ([`EndCause::TopicStale`](crate::EndCause::TopicStale)).
    pub timeout: u64,
    /// Auth or setup rejections, credential failures, frames of the session's own refused as
    /// too large to write, and control frames the send rate could not write in time
    /// ([`EndCause::SendBacklog`](crate::EndCause::SendBacklog)).
    pub rejected: u64,
}

/// Running totals since the session was created. Cheap to read at any time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Transport attempts started, the first included: +1 each time the session asks the driver
    /// to connect ([`Action::Connect`](crate::Action::Connect)), once per [`ConnId`](crate::ConnId).
    pub attempts: u64,
    /// Connections that reached live, the first included: +1 at each
    /// [`Event::Live`](crate::Event::Live), once per connection.
    pub live_connections: u64,
    /// Connections that reached live after an earlier one: `live_connections` less the first.
    /// +1 at each [`Event::Live`](crate::Event::Live) but the session's first, whatever ended
    /// the connection before (an outage, a recycle at `max_lifetime`, `reconnect_now`).
    pub reconnections: u64,
    /// Live connections lost to a failure (a cause counted in `failures`): +1 once per live
    /// connection that ended so. One outage counts once here however many attempts it takes to
    /// get back; a recycle, `reconnect_now` or the application's close is not an outage.
    pub outages: u64,
    /// Attempts or connections that ended for a failure, by class (not for a recycle,
    /// `reconnect_now`, the application's close or giving up).
    pub failures: FailureCounts,
    /// Connections whose transport had opened that later ended, for any reason: +1 once per
    /// [`Event::Disconnected`](crate::Event::Disconnected).
    pub disconnects: u64,
    /// Waits before a next attempt that the session scheduled: +1 at each
    /// [`Event::ReconnectScheduled`](crate::Event::ReconnectScheduled), so one outage with
    /// three failed attempts counts four (one after the loss, one after each failure).
    pub retries_scheduled: u64,
    /// Time spent live, over finished connections plus the current one up to the last input.
    pub uptime: Duration,
    /// Time spent not live after start, up to the last input.
    pub downtime: Duration,
    /// Why the last connection whose transport had opened ended, and when (set with each
    /// [`Event::Disconnected`](crate::Event::Disconnected); an attempt that failed before opening
    /// leaves it alone).
    pub last_disconnect: Option<(EndCause, Instant)>,
    /// Why the last attempt that never opened its transport failed, and when (set with each
    /// [`Event::AttemptFailed`](crate::Event::AttemptFailed)).
    pub last_attempt_failure: Option<(EndCause, Instant)>,
    /// Data frames received.
    pub frames_in: u64,
    /// Frames sent (every purpose).
    pub frames_out: u64,
    /// Inputs dropped because they named a stale `ConnId`.
    pub stale_inputs: u64,
    /// Topics (re)subscribed after a connect.
    pub resubscribes: u64,
    /// Outbox messages dropped (overflow, expiry, coalescing, stop).
    pub outbox_drops: u64,
    /// Sequence gaps reported.
    pub gaps: u64,
}

/// A quick verdict for health checks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// Whether the session is live.
    pub live: bool,
    /// Time since the last inbound frame of the current connection, measured at the last input.
    pub since_last_inbound: Option<Duration>,
    /// Consecutive failed attempts since the last stable connection.
    pub consecutive_failures: u32,
}
