//! A session's metrics, recorded through the [`metrics`] facade (feature `metrics`): one
//! recorder both bindings call from the point where they deliver the core's events, so that
//! the two report the same numbers under the same names. The application installs the
//! exporter (Prometheus, StatsD, ...) it wants; without one, recording costs next to nothing.
//!
//! Every metric carries the label `session="<name>"`, the name the application gave the
//! session (`bind_smol::Options::name`, `bind_mio::Driver::add_named_session`). Labels never
//! hold a topic, an error text or anything else unbounded: `cause` and `state` take the closed
//! sets of values listed below. Units are base units (seconds), counters end in `_total`.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `reconnect_live` | gauge | `session` | 1 while the session is live, else 0 |
//! | `reconnect_state` | gauge | `session`, `state` | 1 for the session's current state, 0 for every other |
//! | `reconnect_attempts_total` | counter | `session` | transport attempts started (each `Connecting`) |
//! | `reconnect_connects_total` | counter | `session` | attempts whose transport opened (each `Connected`) |
//! | `reconnect_connect_failures_total` | counter | `session`, `cause` | attempts that failed before live (each `AttemptFailed`) |
//! | `reconnect_disconnects_total` | counter | `session`, `cause` | opened connections that ended (each `Disconnected`) |
//! | `reconnect_reconnects_total` | counter | `session` | connections that reached live after an earlier one (each `Live` but the first) |
//! | `reconnect_frames_received_total` | counter | `session` | data frames received (`Stats::frames_in`) |
//! | `reconnect_frames_sent_total` | counter | `session` | frames sent, every purpose (`Stats::frames_out`) |
//! | `reconnect_gaps_total` | counter | `session` | sequence gaps (each `Gap`) |
//! | `reconnect_regressions_total` | counter | `session` | sequence regressions (each `SequenceRegressed`) |
//! | `reconnect_subscriptions_active` | gauge | `session` | wanted topics the server confirmed on the current connection |
//! | `reconnect_subscriptions_rejected_total` | counter | `session` | refused subscriptions, transient or permanent (each `SubscribeRejected`) |
//! | `reconnect_outbox_depth` | gauge | `session` | application messages waiting in the outbox |
//! | `reconnect_outbox_dropped_total` | counter | `session` | outbox messages dropped unsent (each `OutboxDropped`) |
//! | `reconnect_time_to_resubscribe_seconds` | histogram | `session` | for each `Live` but the first: the time from the end of the previous live connection to live again (the event's `outage`) |
//! | `reconnect_uptime_seconds_total` | counter | `session` | whole seconds spent live (`Stats::uptime`) |
//! | `reconnect_downtime_seconds_total` | counter | `session` | whole seconds spent not live after start (`Stats::downtime`) |
//!
//! Gauges and the counters taken from [`Stats`](reconnect_core::Stats) are brought up to date
//! with each event of the session, so they are as of its last event (a send queued while the
//! session is offline shows in `reconnect_outbox_depth` with the next event). A binding may
//! record messages with [`SessionMetrics::record_batched`] and publish them once per batch
//! (both bindings do: bind-mio once per read of a connection, bind-smol before each hand-over
//! of a batch to the stream and before it waits): then they are as of the end of the last
//! batch the binding handled.
//!
//! `state` is the core's [`State`] in snake_case: `idle`, `awaiting_credentials`,
//! `connecting`, `authenticating`, `setting_up`, `resubscribing`, `live`, `closing`, `backoff`,
//! `paused`, `stopped`.
//!
//! `cause` is [`cause_word`](crate::cause_word) of the [`EndCause`]: the same closed set of
//! words the log events' `cause_kind` field uses.
//!
//! The recorder takes its handles from the global recorder when it is made, so the application
//! must install its exporter before it adds the session to a binding.

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Counter,
    Gauge, Histogram, Label, Unit,
};
use reconnect_core::{EndCause, Event, Protocol, Session, State, SubscriptionStatus};

/// Every value of the `state` label, in the order of the core's [`State`].
pub const STATES: [&str; 11] = [
    "idle",
    "awaiting_credentials",
    "connecting",
    "authenticating",
    "setting_up",
    "resubscribing",
    "live",
    "closing",
    "backoff",
    "paused",
    "stopped",
];

/// The index in [`STATES`] of `state`'s label.
fn state_index(state: &State) -> usize {
    match state {
        State::Idle => 0,
        State::AwaitingCredentials => 1,
        State::Connecting { .. } => 2,
        State::Authenticating { .. } => 3,
        State::SettingUp { .. } => 4,
        State::Resubscribing { .. } => 5,
        State::Live { .. } => 6,
        State::Closing { .. } => 7,
        State::Backoff { .. } => 8,
        State::Paused => 9,
        State::Stopped(_) => 10,
    }
}

/// Describes every metric (help text and unit) to the installed recorder.
fn describe() {
    describe_gauge!("reconnect_live", "1 while the session is live, else 0");
    describe_gauge!(
        "reconnect_state",
        "1 for the session's current lifecycle state, 0 for the others"
    );
    describe_counter!("reconnect_attempts_total", "Transport attempts started");
    describe_counter!(
        "reconnect_connects_total",
        "Attempts whose transport opened"
    );
    describe_counter!(
        "reconnect_connect_failures_total",
        "Attempts that failed before live, by cause"
    );
    describe_counter!(
        "reconnect_disconnects_total",
        "Opened connections that ended, by cause"
    );
    describe_counter!(
        "reconnect_reconnects_total",
        "Connections that reached live after an earlier one"
    );
    describe_counter!("reconnect_frames_received_total", "Data frames received");
    describe_counter!("reconnect_frames_sent_total", "Frames sent");
    describe_counter!("reconnect_gaps_total", "Sequence gaps");
    describe_counter!("reconnect_regressions_total", "Sequence regressions");
    describe_gauge!(
        "reconnect_subscriptions_active",
        "Subscriptions confirmed on the current connection"
    );
    describe_counter!(
        "reconnect_subscriptions_rejected_total",
        "Subscriptions the server refused"
    );
    describe_gauge!(
        "reconnect_outbox_depth",
        "Application messages waiting in the outbox"
    );
    describe_counter!(
        "reconnect_outbox_dropped_total",
        "Outbox messages dropped unsent"
    );
    describe_histogram!(
        "reconnect_time_to_resubscribe_seconds",
        Unit::Seconds,
        "From the end of a live connection to live again"
    );
    describe_counter!(
        "reconnect_uptime_seconds_total",
        Unit::Seconds,
        "Whole seconds spent live"
    );
    describe_counter!(
        "reconnect_downtime_seconds_total",
        Unit::Seconds,
        "Whole seconds spent not live after start"
    );
}

/// The handles of one session's metrics, and what the recorder remembers between events.
///
/// The binding must call [`record`](Self::record) with every event of the session, in order,
/// right after draining it from the session (so that the session's getters are as of that
/// event).
pub struct SessionMetrics {
    name: String,
    live: Gauge,
    states: Vec<Gauge>,
    state: Option<usize>,
    attempts: Counter,
    connects: Counter,
    reconnects: Counter,
    frames_received: Counter,
    frames_sent: Counter,
    gaps: Counter,
    regressions: Counter,
    subscriptions_active: Gauge,
    subscriptions_rejected: Counter,
    outbox_depth: Gauge,
    outbox_dropped: Counter,
    time_to_resubscribe: Histogram,
    uptime: Counter,
    downtime: Counter,
    /// A `Live` was seen: the next ones are restorations.
    was_live: bool,
    /// A message was recorded by [`record_batched`](Self::record_batched) and the counts
    /// taken from `Stats` are not yet published.
    stale: bool,
}

impl std::fmt::Debug for SessionMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMetrics")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SessionMetrics {
    /// The metrics of the session named `name`, registered with the recorder installed now.
    pub fn new(name: impl Into<String>) -> Self {
        describe();
        let name = name.into();
        let labels = [Label::new("session", name.clone())];
        let states = STATES
            .iter()
            .map(|state| {
                let gauge = gauge!("reconnect_state", "session" => name.clone(), "state" => *state);
                gauge.set(0.0);
                gauge
            })
            .collect();
        let this = SessionMetrics {
            live: gauge!("reconnect_live", labels.iter()),
            states,
            state: None,
            attempts: counter!("reconnect_attempts_total", labels.iter()),
            connects: counter!("reconnect_connects_total", labels.iter()),
            reconnects: counter!("reconnect_reconnects_total", labels.iter()),
            frames_received: counter!("reconnect_frames_received_total", labels.iter()),
            frames_sent: counter!("reconnect_frames_sent_total", labels.iter()),
            gaps: counter!("reconnect_gaps_total", labels.iter()),
            regressions: counter!("reconnect_regressions_total", labels.iter()),
            subscriptions_active: gauge!("reconnect_subscriptions_active", labels.iter()),
            subscriptions_rejected: counter!(
                "reconnect_subscriptions_rejected_total",
                labels.iter()
            ),
            outbox_depth: gauge!("reconnect_outbox_depth", labels.iter()),
            outbox_dropped: counter!("reconnect_outbox_dropped_total", labels.iter()),
            time_to_resubscribe: histogram!("reconnect_time_to_resubscribe_seconds", labels.iter()),
            uptime: counter!("reconnect_uptime_seconds_total", labels.iter()),
            downtime: counter!("reconnect_downtime_seconds_total", labels.iter()),
            was_live: false,
            stale: false,
            name,
        };
        // Present (at zero) from the start, so that a scrape sees every series.
        this.live.set(0.0);
        for counter in [&this.attempts, &this.connects, &this.reconnects] {
            counter.increment(0);
        }
        this
    }

    /// The session's name, the value of the `session` label.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Records `event`, which `session` just produced.
    pub fn record<P: Protocol>(&mut self, event: &Event, session: &Session<P>) {
        match event {
            Event::Connecting { .. } => self.attempts.increment(1),
            Event::Connected { .. } => self.connects.increment(1),
            Event::AttemptFailed { cause, .. } => {
                self.count_cause("reconnect_connect_failures_total", cause)
            }
            Event::Disconnected { cause, .. } => {
                self.count_cause("reconnect_disconnects_total", cause)
            }
            Event::Live { outage, .. } => {
                if self.was_live {
                    self.reconnects.increment(1);
                    self.time_to_resubscribe.record(outage.as_secs_f64());
                }
                self.was_live = true;
            }
            Event::Gap { .. } => self.gaps.increment(1),
            Event::SequenceRegressed { .. } => self.regressions.increment(1),
            Event::SubscribeRejected { .. } => self.subscriptions_rejected.increment(1),
            Event::OutboxDropped { .. } => self.outbox_dropped.increment(1),
            _ => {}
        }
        // Only events that can change a subscription's status recount them (a message cannot).
        if matches!(
            event,
            Event::Subscribed { .. }
                | Event::Unsubscribed { .. }
                | Event::SubscribeRejected { .. }
                | Event::Connected { .. }
                | Event::Live { .. }
                | Event::Disconnected { .. }
                | Event::AttemptFailed { .. }
                | Event::Stopped { .. }
        ) {
            let active = session
                .subscriptions()
                .filter(|s| s.status == SubscriptionStatus::Active)
                .count();
            self.subscriptions_active.set(active as f64);
        }
        // A message cannot change the state: the data path skips building it.
        let state = if event.is_message() {
            self.state
        } else {
            Some(state_index(&session.state()))
        };
        if let Some(state) = state.filter(|&state| self.state != Some(state)) {
            if let Some(old) = self.state {
                self.states[old].set(0.0);
            }
            self.states[state].set(1.0);
            self.live.set(if state == 6 { 1.0 } else { 0.0 });
            self.state = Some(state);
        }
        self.publish_stats(session);
    }

    /// [`record`](Self::record), but a message only marks the session's counts as stale:
    /// they are published by the next other event or by [`publish`](Self::publish). What a
    /// message changes is only `Stats` (a message changes neither the state nor a
    /// subscription), so publishing once per batch of messages gives the same values as
    /// recording each, as of the batch's end, at the cost of one flag per message.
    ///
    /// The binding must call [`publish`](Self::publish) after every batch of events it
    /// recorded this way (before it waits for the next readiness or deadline), with the same
    /// session.
    pub fn record_batched<P: Protocol>(&mut self, event: &Event, session: &Session<P>) {
        if event.is_message() {
            self.stale = true;
        } else {
            self.record(event, session);
        }
    }

    /// Publishes the counts that [`record_batched`](Self::record_batched) left stale, if any
    /// (nothing to do otherwise).
    pub fn publish<P: Protocol>(&mut self, session: &Session<P>) {
        if self.stale {
            self.publish_stats(session);
        }
    }

    /// Brings the counters and gauges taken from the session's `Stats` up to date.
    fn publish_stats<P: Protocol>(&mut self, session: &Session<P>) {
        self.stale = false;
        let stats = session.stats();
        self.frames_received.absolute(stats.frames_in);
        self.frames_sent.absolute(stats.frames_out);
        self.uptime.absolute(stats.uptime.as_secs());
        self.downtime.absolute(stats.downtime.as_secs());
        self.outbox_depth.set(session.queued() as f64);
    }

    fn count_cause(&self, metric: &'static str, cause: &EndCause) {
        counter!(metric, "session" => self.name.clone(), "cause" => crate::cause_word(cause))
            .increment(1);
    }
}

#[cfg(test)]
mod tests;
