//! The session's deadlines: a fixed table, one slot per kind (as quinn-proto's `TimerTable`).

use std::time::Instant;

/// Every deadline the session can have. The declaration order is the order in which overdue
/// deadlines run when a late input or tick finds several of them due: first the ones that end
/// things (so a dead connection is declared dead before anything is sent on it), then the ones
/// that send, and last the one that starts a new attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Timer {
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
    /// The earliest staleness deadline of the watched topics (one slot for all of them).
    TopicStale,
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
    /// Time to re-authenticate before the credentials' granted lifetime runs out.
    GrantRenewal,
    /// The send rate's next token is free: write what waits for it.
    SendRate,
    /// Time to send the next paced resubscribe frame.
    ResubscribePace,
    /// A transiently rejected subscription is due for a retry.
    SubscriptionRetry,
    /// A queued message expires.
    OutboxExpiry,
    /// The backoff is over: start the next attempt.
    Reconnect,
}

impl Timer {
    pub(super) const ALL: [Timer; 19] = [
        Timer::GiveUp,
        Timer::Connect,
        Timer::Credentials,
        Timer::Request,
        Timer::Pong,
        Timer::Idle,
        Timer::TopicStale,
        Timer::Close,
        Timer::Lifetime,
        Timer::Stable,
        Timer::Ping,
        Timer::Heartbeat,
        Timer::Renewal,
        Timer::GrantRenewal,
        Timer::SendRate,
        Timer::ResubscribePace,
        Timer::SubscriptionRetry,
        Timer::OutboxExpiry,
        Timer::Reconnect,
    ];

    /// The timers that belong to one transport: leaving it stops them all, so a timer of an old
    /// connection can never fire on a new one.
    pub(super) const CONNECTION: [Timer; 14] = [
        Timer::Connect,
        Timer::Request,
        Timer::Pong,
        Timer::Idle,
        Timer::TopicStale,
        Timer::Close,
        Timer::Lifetime,
        Timer::Stable,
        Timer::Ping,
        Timer::Heartbeat,
        Timer::Renewal,
        Timer::GrantRenewal,
        Timer::SendRate,
        Timer::ResubscribePace,
    ];
}

#[derive(Clone, Debug, Default)]
pub(super) struct TimerTable {
    slots: [Option<Instant>; Timer::ALL.len()],
    /// No deadline is earlier than this (`None`: none is set). Setting lowers it and stopping
    /// leaves it, so it may be early but never late; [`first_due`](Self::first_due) makes it
    /// exact again. It lets the check that every input makes ("is anything due?") skip the scan
    /// while nothing is, which is the data path's common case: every frame pushes the ping
    /// deadline back, none brings a deadline forward.
    earliest: Option<Instant>,
}

impl TimerTable {
    pub(super) fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer as usize] = Some(at);
        if self.earliest.is_none_or(|earliest| at < earliest) {
            self.earliest = Some(at);
        }
    }

    pub(super) fn set_opt(&mut self, timer: Timer, at: Option<Instant>) {
        match at {
            Some(at) => self.set(timer, at),
            None => self.stop(timer),
        }
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.slots[timer as usize] = None;
    }

    pub(super) fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer as usize]
    }

    pub(super) fn stop_all(&mut self) {
        *self = TimerTable::default();
    }

    /// How many deadlines are set.
    #[cfg(feature = "sim")]
    pub(super) fn armed(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// The first timer, in declaration order, that is due at `now`.
    pub(super) fn first_due(&mut self, now: Instant) -> Option<Timer> {
        match self.earliest {
            None => return None,
            Some(earliest) if now < earliest => return None,
            Some(_) => {}
        }
        let due = Timer::ALL
            .iter()
            .copied()
            .find(|t| self.slots[*t as usize].is_some_and(|at| at <= now));
        if due.is_none() {
            self.earliest = self.next();
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_stopped_earliest_deadline_neither_fires_nor_hides_a_later_one() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut table = TimerTable::default();
        assert_eq!(table.first_due(t0 + s(100)), None);
        table.set(Timer::Pong, t0 + s(1));
        table.set(Timer::Ping, t0 + s(5));
        assert_eq!(table.first_due(t0), None);
        table.stop(Timer::Pong);
        // The bound is still the stopped deadline's: the scan runs and finds nothing due.
        assert_eq!(table.first_due(t0 + s(2)), None);
        assert_eq!(table.next(), Some(t0 + s(5)));
        assert_eq!(table.first_due(t0 + s(5)), Some(Timer::Ping));
        // Moving a deadline later keeps the earlier bound, which only makes the check scan.
        table.set(Timer::Ping, t0 + s(9));
        assert_eq!(table.first_due(t0 + s(6)), None);
        assert_eq!(table.first_due(t0 + s(9)), Some(Timer::Ping));
        table.set_opt(Timer::Ping, None);
        table.set(Timer::Connect, t0 + s(3));
        assert_eq!(table.first_due(t0 + s(9)), Some(Timer::Connect));
        table.stop_all();
        assert_eq!(table.first_due(t0 + s(100)), None);
        assert_eq!(table.next(), None);
    }
}
