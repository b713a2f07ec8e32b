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
    /// The session's own deadlines (connect, auth, setup, subscribe, pong, idle, heartbeat).
    pub timeout: u64,
    /// Auth or setup rejections and credential failures.
    pub rejected: u64,
}

/// Running totals since the session was created. Cheap to read at any time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Transport attempts started.
    pub attempts: u64,
    /// Attempts that reached live.
    pub successes: u64,
    /// Attempts or connections that ended for a reason other than the application's close.
    pub failures: FailureCounts,
    /// Connections (transports that opened) that later ended.
    pub disconnects: u64,
    /// Reconnects scheduled.
    pub reconnects: u64,
    /// Time spent live, over finished connections plus the current one up to the last input.
    pub uptime: Duration,
    /// Time spent not live after start, up to the last input.
    pub downtime: Duration,
    /// The last reason a connection or attempt ended, and when.
    pub last_disconnect: Option<(EndCause, Instant)>,
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
