//! The session's deadlines: a fixed table, one slot per kind (as quinn-proto's `TimerTable`).

use std::time::Instant;

/// Every deadline the session can have. The declaration order is the order in which overdue
/// deadlines run when a late input or tick finds several of them due: first the ones that end
/// things (so a dead connection is declared dead before anything is sent on it), then the ones
/// that send, and last the one that starts a new attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Timer {
    /// `limits.max_outage` reached while not live.
    GiveUp,
    /// The transport attempt took longer than `timeouts.connect`.
    Connect,
    /// Requested credentials did not arrive.
    Credentials,
    /// The earliest acknowledgement deadline of a pending request (auth, setup, subscribe,
    /// heartbeat).
    Request,
    /// No inbound frame after a ping.
    Pong,
    /// No data while subscriptions were active.
    Idle,
    /// The close handshake took too long.
    Close,
    /// The connection reached `max_lifetime`.
    Lifetime,
    /// The connection stayed live for `min_uptime`.
    Stable,
    /// Time to send a WebSocket ping.
    Ping,
    /// Time to send an application heartbeat.
    Heartbeat,
    /// Time to ask for renewed credentials.
    Renewal,
    /// Time to send the next paced restore frame.
    RestorePace,
    /// A transiently rejected subscription is due for a retry.
    SubscriptionRetry,
    /// A queued message expires.
    OutboxExpiry,
    /// The backoff is over: start the next attempt.
    Reconnect,
}

impl Timer {
    pub(crate) const ALL: [Timer; 16] = [
        Timer::GiveUp,
        Timer::Connect,
        Timer::Credentials,
        Timer::Request,
        Timer::Pong,
        Timer::Idle,
        Timer::Close,
        Timer::Lifetime,
        Timer::Stable,
        Timer::Ping,
        Timer::Heartbeat,
        Timer::Renewal,
        Timer::RestorePace,
        Timer::SubscriptionRetry,
        Timer::OutboxExpiry,
        Timer::Reconnect,
    ];

    /// The timers that belong to one transport: leaving it stops them all, so a timer of an old
    /// connection can never fire on a new one.
    pub(crate) const CONNECTION: [Timer; 11] = [
        Timer::Connect,
        Timer::Request,
        Timer::Pong,
        Timer::Idle,
        Timer::Close,
        Timer::Lifetime,
        Timer::Stable,
        Timer::Ping,
        Timer::Heartbeat,
        Timer::Renewal,
        Timer::RestorePace,
    ];
}

#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer as usize] = Some(at);
    }

    pub(crate) fn set_opt(&mut self, timer: Timer, at: Option<Instant>) {
        self.slots[timer as usize] = at;
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.slots[timer as usize] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer as usize]
    }

    pub(crate) fn stop_all(&mut self) {
        self.slots = Default::default();
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// The first timer, in declaration order, that is due at `now`.
    pub(crate) fn first_due(&self, now: Instant) -> Option<Timer> {
        Timer::ALL
            .iter()
            .copied()
            .find(|t| self.slots[*t as usize].is_some_and(|at| at <= now))
    }
}
