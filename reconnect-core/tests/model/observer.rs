//! The model's own checker: an independent model of what a session may emit, fed every output
//! in order, that fails with a readable message the moment the session breaks its part of the
//! invariants (a), (c), (d) and (g) of the property suite (the list in `tests/model.rs`): what
//! only a model of this adapter can predict. The driver checks (b), (e), (f) and (h) and the
//! getters; the public checker, `sim::Invariants`, owns the rules the list names by their
//! `sim::Invariant` names.
//!
//! The observer never reads the session's internals; it knows only the scenario, the calls the
//! driver made and the outputs that came back (plus the public getters, which the driver
//! compares with the observer's model after every step).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use reconnect_core::{
    Action, CircuitState, CommandKind, Config, ConnId, DelaySource, DropReason, Event, FirstRetry,
    Frame, Output, OverflowPolicy, Purpose, StopReason,
};

use crate::common::line_adapter::{parse_request, LineAdapter, Request};

/// Where a topic stands on the current connection, as far as the outputs tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sub {
    /// Requested by the given request; no answer yet.
    Pending(u64),
    /// Confirmed.
    Active,
    /// Transiently refused; will be requested again.
    RetryAt,
}

/// What the model knows of the transport in flight.
#[derive(Clone, Debug)]
pub struct ConnModel {
    /// Its id.
    pub id: ConnId,
    /// `Event::Connected` was seen.
    pub opened: bool,
    /// When `Event::Connected` was seen.
    pub opened_at: Option<Instant>,
    /// An auth request was sent on it.
    pub auth_sent: bool,
    /// `Event::Authenticated` was seen.
    pub authed: bool,
    /// `Event::SetupComplete` was seen.
    pub setup_complete: bool,
    /// When `Event::Live` was seen.
    pub live_at: Option<Instant>,
    /// `Event::Stable` was seen.
    pub stable: bool,
    /// `Action::Close` was seen.
    pub closing: bool,
    /// Requests sent on it that the server has not answered yet (only when the adapter acks).
    pub pending: Vec<Request>,
    /// Topics requested on it.
    pub subs: HashMap<String, Sub>,
    /// Topics sent by the restore (before live).
    pub restored_sends: usize,
    /// Topics confirmed during the restore (before live).
    pub restored_confirmed: usize,
    /// The session asked for renewed credentials while this connection was up.
    pub renewal_requested: bool,
}

impl ConnModel {
    fn new(id: ConnId) -> Self {
        ConnModel {
            id,
            opened: false,
            opened_at: None,
            auth_sent: false,
            authed: false,
            setup_complete: false,
            live_at: None,
            stable: false,
            closing: false,
            pending: Vec::new(),
            subs: HashMap::new(),
            restored_sends: 0,
            restored_confirmed: 0,
            renewal_requested: false,
        }
    }
}

/// An application message the model believes is queued in the outbox.
#[derive(Clone, Debug)]
pub struct Msg {
    /// Its number (`m<n>` is the frame's prefix).
    pub n: u64,
    /// Its payload length.
    pub len: usize,
    /// Its coalescing key.
    pub key: Option<String>,
    /// When it expires.
    pub expires_at: Option<Instant>,
}

/// The statistics the outputs imply: every counter of `Stats`, and the time spent live.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// `Connect` actions.
    pub attempts: u64,
    /// `Live` events.
    pub successes: u64,
    /// `Disconnected` events.
    pub disconnects: u64,
    /// `ReconnectScheduled` events.
    pub reconnects: u64,
    /// `Send` actions.
    pub frames_out: u64,
    /// `Message` events.
    pub frames_in: u64,
    /// `OutboxDropped` events.
    pub outbox_drops: u64,
    /// `Gap` events.
    pub gaps: u64,
    /// Topics sent by restores (subscribe requests before live).
    pub resubscribes: u64,
    /// Endings by class, as `FailureCounts` counts them.
    pub failures: [u64; 4],
    /// Completed periods live.
    pub uptime: Duration,
    /// When the current period live began.
    pub live_since: Option<Instant>,
    /// When `start` took effect.
    pub started_at: Option<Instant>,
    /// When the session stopped.
    pub stopped_at: Option<Instant>,
}

impl Tally {
    fn count(&mut self, at: Instant, output: &Output, current: Option<ConnId>) {
        use reconnect_core::EndCause;
        let class = |cause: &EndCause| match cause {
            EndCause::Transport(_) => Some(0),
            EndCause::ServerClosed { .. } => Some(1),
            EndCause::Timeout(_) => Some(2),
            EndCause::AuthRejected(_)
            | EndCause::SetupRejected(_)
            | EndCause::CredentialsUnavailable(_) => Some(3),
            _ => None,
        };
        match output {
            Output::Action(Action::Connect { .. }) => self.attempts += 1,
            Output::Action(Action::Send { .. }) => self.frames_out += 1,
            // Live ends when the close handshake starts or the transport goes.
            Output::Action(Action::Close { conn, .. } | Action::Release { conn })
                if Some(*conn) == current =>
            {
                if let Some(since) = self.live_since.take() {
                    self.uptime += at.saturating_duration_since(since);
                }
            }
            Output::Event(e) => match e {
                Event::Live { .. } => {
                    self.successes += 1;
                    self.live_since = Some(at);
                }
                Event::Disconnected { cause, .. } => {
                    self.disconnects += 1;
                    if let Some(i) = class(cause) {
                        self.failures[i] += 1;
                    }
                }
                Event::AttemptFailed { conn, cause, .. } => {
                    // Credentials that could not be had count as rejected, timeout or not.
                    let i = if conn.is_some() {
                        class(cause)
                    } else {
                        Some(3)
                    };
                    if let Some(i) = i {
                        self.failures[i] += 1;
                    }
                }
                Event::ReconnectScheduled { .. } => self.reconnects += 1,
                Event::Message { .. } => self.frames_in += 1,
                Event::OutboxDropped { .. } => self.outbox_drops += 1,
                Event::Gap { .. } => self.gaps += 1,
                Event::Stopped { .. } => self.stopped_at = Some(at),
                _ => {}
            },
            Output::Action(_) => {}
        }
    }

    /// Compares with the session's statistics as of its clock `now`.
    pub fn check(&self, stats: &reconnect_core::Stats, now: Instant) -> Result<(), String> {
        let f = &stats.failures;
        let counters = [
            ("attempts", stats.attempts, self.attempts),
            ("live_connections", stats.live_connections, self.successes),
            // Every live after the first is a reconnection.
            (
                "reconnections",
                stats.reconnections,
                self.successes.saturating_sub(1),
            ),
            ("disconnects", stats.disconnects, self.disconnects),
            (
                "retries_scheduled",
                stats.retries_scheduled,
                self.reconnects,
            ),
            ("frames_out", stats.frames_out, self.frames_out),
            ("frames_in", stats.frames_in, self.frames_in),
            ("outbox_drops", stats.outbox_drops, self.outbox_drops),
            ("gaps", stats.gaps, self.gaps),
            ("resubscribes", stats.resubscribes, self.resubscribes),
            ("failures.transport", f.transport, self.failures[0]),
            ("failures.server_close", f.server_close, self.failures[1]),
            ("failures.timeout", f.timeout, self.failures[2]),
            ("failures.rejected", f.rejected, self.failures[3]),
        ];
        for (name, got, expected) in counters {
            if got != expected {
                return Err(format!("stats.{name} is {got}, the outputs say {expected}"));
            }
        }
        let Some(started) = self.started_at else {
            return Ok(());
        };
        let end = self.stopped_at.unwrap_or(now);
        let uptime = self.uptime
            + self
                .live_since
                .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        let downtime = end
            .saturating_duration_since(started)
            .saturating_sub(uptime);
        if stats.uptime != uptime || stats.downtime != downtime {
            return Err(format!(
                "stats count {:?} up and {:?} down, the outputs say {uptime:?} and {downtime:?}",
                stats.uptime, stats.downtime
            ));
        }
        Ok(())
    }
}

/// What became of an application message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Sent on a live connection.
    Sent,
    /// Handed back in the error of `send`.
    Refused,
    /// Reported by `Event::OutboxDropped`.
    Dropped(DropReason),
}

/// An application send being checked, for the outbox model.
#[derive(Clone, Debug)]
pub struct SendCtx {
    /// The message.
    pub msg: Msg,
    /// The frame handed to `send_with`.
    pub frame: Frame,
    /// What `send_with` returned: `Ok(true)` sent now, `Ok(false)` queued, `Err((kind, frame))`
    /// refused.
    pub result: Result<bool, (reconnect_core::SendErrorKind, Frame)>,
}

/// Everything about one call the observer needs besides its outputs.
#[derive(Clone, Debug)]
pub struct CallCtx {
    /// The command the call made (`None` for `start`, an input or a tick), whether or not the
    /// session took it.
    pub command: Option<CommandKind>,
    /// The session's `now` for the call (its argument, clamped).
    pub at: Instant,
    /// The request the call's input answered, if it was an ack or a nack of a pending request.
    pub answered: Option<u64>,
    /// The topic a `subscribe` call added (inserted into the wanted list at its first send, or
    /// at the end of the call).
    pub subscribing: Option<String>,
    /// The topic an `unsubscribe` call removed without sending anything. The removal may
    /// complete a restore (a `Live` after it), but a `Live` may also come earlier in the call,
    /// from an overdue deadline, while the topic was still wanted.
    pub unsubscribing: Option<String>,
    /// The send being checked.
    pub send: Option<SendCtx>,
}

/// The model.
pub struct Observer {
    config: Config,
    adapter: LineAdapter,
    /// What the statistics must add up to.
    pub tally: Tally,
    // (a)
    /// Ids in release order.
    pub released: Vec<ConnId>,
    /// The transport in flight.
    pub conn: Option<ConnModel>,
    /// Whether the transport released in the current call had been stable (`None` when none
    /// was released; `Some(false)` for an attempt that failed before connecting).
    ending_stable: Option<bool>,
    ended_recycled: bool,
    /// An ending (attempt failed, connection lost) whose failure count has not shown in an
    /// event yet, with whether the connection had been stable. While paused, the session counts
    /// the failure without scheduling (and so without `ReconnectScheduled`).
    unscheduled_ending: Option<bool>,
    // (c)
    running_failures: u32,
    circuit_opened_in_call: bool,
    /// The delay the last backoff draw produced, as far as the outputs show it (`None` when a
    /// draw was hidden: replaced by a circuit cooldown or a retry-after hint, or made while
    /// paused). Decorrelated jitter draws the next delay from it.
    last_draw: Option<Duration>,
    /// Retry-after hints the driver handed to the session.
    pub hints: Vec<Duration>,
    earliest_attempt: Option<Instant>,
    // (e)
    /// `close()` was called.
    pub close_called: bool,
    /// `Event::Stopped` was seen.
    pub stopped: bool,
    // (d)
    /// The wanted topics, in subscription order.
    pub wanted: Vec<String>,
    /// The last sequence number seen per wanted topic.
    pub last_seq: HashMap<String, u64>,
    // (g)
    /// The queued application messages, in order.
    pub outbox: VecDeque<Msg>,
    last_app_sent: Option<u64>,
    /// What became of each message (index = its number).
    pub fates: Vec<Option<Fate>>,
    sent_now_seen: bool,
    push_drops: Vec<(u64, DropReason)>,
    previous: Option<Output>,
}

/// Time since the base instant of the virtual clock, for readable messages.
fn since_base(at: Instant) -> Duration {
    at.saturating_duration_since(crate::common::rig::base())
}

/// Reads the message number out of an application frame (`m<n>` then padding).
pub fn msg_number(frame: &Frame) -> Option<u64> {
    let text = frame.as_text()?;
    let digits: String = text
        .strip_prefix('m')?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

impl Observer {
    /// A model of a fresh session with this configuration and adapter.
    pub fn new(config: Config, adapter: LineAdapter) -> Self {
        Observer {
            config,
            adapter,
            released: Vec::new(),
            conn: None,
            ending_stable: None,
            ended_recycled: false,
            unscheduled_ending: None,
            running_failures: 0,
            circuit_opened_in_call: false,
            last_draw: None,
            hints: Vec::new(),
            earliest_attempt: None,
            close_called: false,
            stopped: false,
            wanted: Vec::new(),
            last_seq: HashMap::new(),
            outbox: VecDeque::new(),
            last_app_sent: None,
            fates: Vec::new(),
            sent_now_seen: false,
            push_drops: Vec::new(),
            previous: None,
            tally: Tally::default(),
        }
    }

    /// Checks the outputs of one call, in order, and updates the model.
    pub fn observe(&mut self, ctx: &mut CallCtx, outputs: &[Output]) -> Result<(), String> {
        self.ending_stable = None;
        self.ended_recycled = false;
        self.circuit_opened_in_call = false;
        self.sent_now_seen = false;
        self.push_drops.clear();
        self.previous = None;
        // Nothing after `Stopped`, one connection at a time, frames only on an open connection,
        // the documented delay ranges, credentials when the policy says: the public checker
        // (`sim::Invariants`, which the driver runs first) owns those rules.
        for output in outputs {
            self.tally
                .count(ctx.at, output, self.conn.as_ref().map(|c| c.id));
            match output {
                Output::Action(a) => self.on_action(ctx, a)?,
                Output::Event(e) => self.on_event(ctx, e)?,
            }
            self.previous = Some(output.clone());
        }
        if let Some(topic) = ctx.subscribing.take() {
            self.want(topic);
        }
        if ctx.send.is_some() {
            self.finish_send(ctx)?;
        }
        Ok(())
    }

    fn want(&mut self, topic: String) {
        if !self.wanted.contains(&topic) {
            self.wanted.push(topic);
        }
    }

    /// Removes a topic from the wanted list (unsubscribed or permanently refused).
    pub fn unwant(&mut self, topic: &str) {
        self.wanted.retain(|t| t != topic);
        self.last_seq.remove(topic);
        if let Some(c) = self.conn.as_mut() {
            c.subs.remove(topic);
        }
    }

    fn current(&mut self, conn: ConnId, what: &str) -> Result<&mut ConnModel, String> {
        match self.conn.as_mut() {
            Some(c) if c.id == conn => Ok(c),
            Some(c) => Err(format!(
                "(a) {what} names {conn:?} but {:?} is in flight",
                c.id
            )),
            None => Err(format!(
                "(a) {what} names {conn:?} but no transport is in flight"
            )),
        }
    }

    fn check_attempt_time(&mut self, ctx: &CallCtx, what: &str) -> Result<(), String> {
        self.absorb_unscheduled_ending();
        let skipped = matches!(
            ctx.command,
            Some(CommandKind::ReconnectNow | CommandKind::Resume)
        );
        if let Some(earliest) = self.earliest_attempt.take() {
            if !skipped && ctx.at < earliest {
                return Err(format!(
                    "(c) {what} at +{:?} before the scheduled delay ended ({:?} early)",
                    since_base(ctx.at),
                    earliest - ctx.at
                ));
            }
        }
        Ok(())
    }

    fn on_action(&mut self, ctx: &mut CallCtx, action: &Action) -> Result<(), String> {
        match action {
            Action::Connect { conn, attempt } => {
                self.absorb_unscheduled_ending();
                let expected = self.running_failures.saturating_add(1);
                if *attempt != expected {
                    return Err(format!(
                        "(c) Connect attempt {attempt} but {} consecutive failures were counted",
                        self.running_failures
                    ));
                }
                self.check_attempt_time(ctx, "Connect")?;
                self.conn = Some(ConnModel::new(*conn));
            }
            Action::Send {
                conn,
                frame,
                purpose,
            } => self.on_send(ctx, *conn, frame, *purpose)?,
            Action::Ping { .. } => {}
            Action::Close { conn, .. } => {
                let c = self.current(*conn, "Close")?;
                c.closing = true;
                // The session forgets pending requests when it starts closing.
                c.pending.clear();
            }
            Action::Release { conn } => {
                let c = self.current(*conn, "Release")?;
                let stable = c.stable;
                self.released.push(*conn);
                self.conn = None;
                self.ending_stable = Some(stable);
            }
        }
        Ok(())
    }

    fn on_send(
        &mut self,
        ctx: &mut CallCtx,
        conn: ConnId,
        frame: &Frame,
        purpose: Purpose,
    ) -> Result<(), String> {
        let acks = self.adapter.acks;
        let setup_steps = self.adapter.setup_steps;
        let batch = self
            .config
            .resubscribe
            .batch_size
            .min(self.adapter.max_batch);
        let subscribing = ctx.subscribing.clone();
        let wanted = self.wanted.clone();
        let last_seq = self.last_seq.clone();
        let c = self.current(conn, "Send")?;
        let request = parse_request(frame);
        match (purpose, &request) {
            (Purpose::Auth, Some(Request::Auth { .. })) => {
                if c.live_at.is_none() {
                    if c.auth_sent {
                        return Err(format!("a second auth request on {conn:?} before live"));
                    }
                    c.auth_sent = true;
                }
            }
            (Purpose::Setup, Some(Request::Setup { .. })) => {
                if c.auth_sent && !c.authed {
                    return Err(format!("(d) setup request on {conn:?} before the auth ack"));
                }
            }
            (Purpose::Subscribe, Some(Request::Subscribe { topics, id })) => {
                if setup_steps > 0 && !c.setup_complete {
                    return Err(format!("(d) subscribe on {conn:?} before setup completed"));
                }
                if topics.is_empty() || topics.len() > batch {
                    return Err(format!(
                        "subscribe frame with {} topics (batch {batch}): {frame:?}",
                        topics.len()
                    ));
                }
                let mut requested_again = 0;
                for (topic, resume) in topics {
                    let is_new = subscribing.as_deref() == Some(topic.as_str());
                    if !wanted.contains(topic) && !is_new {
                        return Err(format!("(d) subscribe of {topic:?}, which is not wanted"));
                    }
                    match c.subs.get(topic) {
                        // Its request was answered without confirming or rejecting it: a batch
                        // refused as a whole, whose topics the session asks for again.
                        Some(Sub::Pending(old))
                            if !c.pending.iter().any(|r| r.id() == Some(*old)) =>
                        {
                            requested_again += 1;
                        }
                        Some(s @ (Sub::Pending(_) | Sub::Active)) => {
                            return Err(format!(
                                "(d) {topic:?} requested twice on {conn:?} (it is {s:?})"
                            ));
                        }
                        _ => {}
                    }
                    if *resume != last_seq.get(topic).copied() {
                        return Err(format!(
                            "subscribe of {topic:?} resumes from {resume:?}, but the last \
                             sequence number seen is {:?}",
                            last_seq.get(topic)
                        ));
                    }
                    c.subs.insert(topic.clone(), Sub::Pending(*id));
                }
                if topics.iter().map(|t| &t.0).collect::<BTreeSet<_>>().len() != topics.len() {
                    return Err(format!("(d) a topic twice in one frame: {frame:?}"));
                }
                if c.live_at.is_none() && requested_again == 0 {
                    c.restored_sends += topics.len();
                    self.tally.resubscribes += topics.len() as u64;
                }
                if let Some(topic) = &subscribing {
                    if topics.iter().any(|(t, _)| t == topic) {
                        ctx.subscribing = None;
                        self.want(topic.clone());
                    }
                }
            }
            (Purpose::Unsubscribe, Some(Request::Unsubscribe { topics, .. })) => {
                if ctx.command != Some(CommandKind::Unsubscribe) {
                    return Err(format!(
                        "an unsubscribe request nobody asked for: {frame:?}"
                    ));
                }
                for topic in topics {
                    match c.subs.remove(topic) {
                        Some(Sub::Pending(_) | Sub::Active) => {}
                        other => {
                            return Err(format!(
                                "unsubscribe of {topic:?} that was not requested on {conn:?} \
                                 ({other:?})"
                            ))
                        }
                    }
                }
                // No longer wanted from here on (a restore may complete later in this call).
                let topics = topics.clone();
                if acks {
                    self.current(conn, "Send")?
                        .pending
                        .push(request.clone().expect("parsed"));
                }
                for topic in &topics {
                    self.unwant(topic);
                }
                return Ok(());
            }
            (Purpose::Heartbeat, Some(Request::Heartbeat { .. })) => {}
            (Purpose::HeartbeatReply, Some(Request::HeartbeatReply { .. })) => {}
            (Purpose::Application, None) => {
                return self.on_application_send(ctx, conn, frame);
            }
            _ => {
                return Err(format!(
                    "a {purpose:?} send with an unexpected frame: {frame:?}"
                ))
            }
        }
        if acks {
            if let Some(request) = request.filter(|r| r.id().is_some()) {
                let c = self.current(conn, "Send")?;
                c.pending.push(request);
            }
        }
        Ok(())
    }

    fn on_application_send(
        &mut self,
        ctx: &mut CallCtx,
        conn: ConnId,
        frame: &Frame,
    ) -> Result<(), String> {
        let c = self.current(conn, "Send")?;
        if c.live_at.is_none() {
            return Err(format!(
                "(g) application send on {conn:?} before Event::Live: {frame:?}"
            ));
        }
        let Some(n) = msg_number(frame) else {
            return Err(format!(
                "(g) an application send of an unknown frame: {frame:?}"
            ));
        };
        if self.last_app_sent.is_some_and(|last| n <= last) {
            return Err(format!(
                "(g) message m{n} sent after m{} (out of order or twice)",
                self.last_app_sent.unwrap_or_default()
            ));
        }
        self.last_app_sent = Some(n);
        let now_send = ctx.send.as_ref().is_some_and(|s| s.msg.n == n);
        if now_send {
            if let Some(front) = self.outbox.front() {
                return Err(format!(
                    "(g) m{n} sent at once while m{} was still queued",
                    front.n
                ));
            }
            self.sent_now_seen = true;
        } else {
            match self.outbox.pop_front() {
                Some(m) if m.n == n => {
                    if m.expires_at.is_some_and(|at| at <= ctx.at) {
                        return Err(format!(
                            "(g) m{n} sent at +{:?} although it expired at +{:?}",
                            since_base(ctx.at),
                            since_base(m.expires_at.unwrap_or(ctx.at))
                        ));
                    }
                }
                Some(m) => {
                    return Err(format!("(g) m{n} released before the older m{}", m.n));
                }
                None => return Err(format!("(g) m{n} sent but it was never queued")),
            }
        }
        self.set_fate(n, Fate::Sent)
    }

    fn set_fate(&mut self, n: u64, fate: Fate) -> Result<(), String> {
        let i = n as usize;
        if self.fates.len() <= i {
            self.fates.resize(i + 1, None);
        }
        if let Some(before) = self.fates[i] {
            return Err(format!(
                "(g) m{n} is {fate:?} but it was already {before:?}"
            ));
        }
        self.fates[i] = Some(fate);
        Ok(())
    }

    fn on_event(&mut self, ctx: &mut CallCtx, event: &Event) -> Result<(), String> {
        match event {
            Event::Connecting { .. } => {}
            Event::Connected { conn } => {
                let c = self.current(*conn, "Connected")?;
                c.opened = true;
                c.opened_at = Some(ctx.at);
            }
            Event::AttemptFailed { conn, .. } => {
                if conn.is_none() {
                    self.ending_stable = Some(false);
                }
                self.unscheduled_ending = Some(false);
            }
            Event::Disconnected { cause, .. } => {
                if matches!(**cause, reconnect_core::EndCause::Recycled) {
                    self.ended_recycled = true;
                }
                self.unscheduled_ending = Some(self.ending_stable == Some(true));
            }
            Event::Authenticated { conn } => {
                self.current(*conn, "Authenticated")?.authed = true;
            }
            Event::SetupComplete { conn } => {
                let c = self.current(*conn, "SetupComplete")?;
                if c.auth_sent && !c.authed {
                    return Err(format!("(d) SetupComplete {conn:?} before the auth ack"));
                }
                if c.pending.iter().any(|r| matches!(r, Request::Setup { .. })) {
                    return Err(format!(
                        "SetupComplete {conn:?} with setup requests pending"
                    ));
                }
                c.setup_complete = true;
            }
            Event::Subscribed { conn, topic } => {
                let acks = self.adapter.acks;
                let c = self.current(*conn, "Subscribed")?;
                let status = c.subs.get(topic.as_str()).copied();
                match status {
                    Some(Sub::Pending(id)) if !acks || ctx.answered == Some(id) => {}
                    _ => {
                        return Err(format!(
                            "(d) Subscribed {topic:?} on {conn:?}, but its status is {status:?} \
                             and the answered request is {:?}",
                            ctx.answered
                        ))
                    }
                }
                c.subs.insert(topic.as_str().to_owned(), Sub::Active);
                if c.live_at.is_none() {
                    c.restored_confirmed += 1;
                }
            }
            Event::SubscribeRejected {
                topic, retry_in, ..
            } => {
                let Some(c) = self.conn.as_mut() else {
                    return Err(format!("SubscribeRejected {topic:?} without a transport"));
                };
                let status = c.subs.get(topic.as_str()).copied();
                match status {
                    Some(Sub::Pending(id)) if ctx.answered == Some(id) => {}
                    _ => {
                        return Err(format!(
                            "(d) SubscribeRejected {topic:?}, but its status is {status:?} and \
                             the answered request is {:?}",
                            ctx.answered
                        ))
                    }
                }
                match retry_in {
                    Some(d) => {
                        if *d > self.config.resubscribe.nack_retry_max {
                            return Err(format!(
                                "subscription retry in {d:?} exceeds nack_retry_max"
                            ));
                        }
                        c.subs.insert(topic.as_str().to_owned(), Sub::RetryAt);
                    }
                    None => self.unwant(topic.as_str()),
                }
            }
            Event::Unsubscribed { .. } => {}
            Event::Live {
                conn, resubscribed, ..
            } => {
                if let Some(topic) = ctx.unsubscribing.take() {
                    let restored_topic = self.conn.as_ref().is_some_and(|c| {
                        matches!(c.subs.get(&topic), Some(Sub::Active))
                            || (self.adapter.acks && c.subs.get(&topic) == Some(&Sub::RetryAt))
                    });
                    if restored_topic {
                        // Live before the removal (a deadline the call ran); still wanted here.
                        ctx.unsubscribing = Some(topic);
                    } else {
                        self.unwant(&topic);
                    }
                }
                self.on_live(ctx, *conn, *resubscribed)?;
            }
            Event::Stable { conn } => {
                let c = self.current(*conn, "Stable")?;
                if c.stable {
                    return Err(format!("Stable twice for {conn:?}"));
                }
                c.stable = true;
                self.running_failures = 0;
            }
            Event::Message { topic, seq, .. } => {
                if let (Some(topic), Some(seq)) = (topic, seq) {
                    let name = topic.as_str();
                    if !self.wanted.iter().any(|t| t == name) {
                        return Err(format!("a message for {name:?}, which is not wanted"));
                    }
                    let last = self.last_seq.get(name).copied();
                    // What the session must have reported just before the message.
                    let expected = match last {
                        Some(l) if *seq > l.saturating_add(1) => Some(Output::Event(Event::Gap {
                            topic: topic.clone(),
                            expected: l + 1,
                            received: *seq,
                        })),
                        Some(l) if *seq <= l => Some(Output::Event(Event::SequenceRegressed {
                            topic: topic.clone(),
                            last: l,
                            received: *seq,
                        })),
                        _ => None,
                    };
                    let reported = self.previous.clone().filter(|p| {
                        matches!(
                            p,
                            Output::Event(Event::Gap { .. } | Event::SequenceRegressed { .. })
                        )
                    });
                    if reported != expected {
                        return Err(format!(
                            "data {name} {seq} after {last:?}: expected the report {expected:?}, \
                             got {reported:?}"
                        ));
                    }
                    self.last_seq.insert(name.to_owned(), *seq);
                }
            }
            Event::Gap { .. } | Event::SequenceRegressed { .. } => {}
            Event::ServerError { .. } => {}
            Event::ReconnectScheduled {
                attempt,
                delay,
                source,
                failures,
            } => self.on_reconnect_scheduled(ctx, *attempt, delay, *source, *failures)?,
            Event::Circuit { state, .. } => {
                if *state == CircuitState::Open {
                    self.circuit_opened_in_call = true;
                }
            }
            Event::CredentialsRequested => {
                if let Some(c) = self.conn.as_mut() {
                    c.renewal_requested = true;
                }
                if self.conn.is_none() {
                    // Before an attempt (not a renewal while connected).
                    self.check_attempt_time(ctx, "CredentialsRequested")?;
                }
            }
            Event::CredentialsRenewed { .. }
            | Event::RenewalFailed { .. }
            | Event::Paused
            | Event::Resumed => {}
            Event::OutboxDropped { frame, reason } => self.on_drop(ctx, frame, *reason)?,
            Event::Recycling { conn } => {
                let c = self.current(*conn, "Recycling")?;
                if c.live_at.is_none() {
                    return Err(format!("Recycling {conn:?} that never was live"));
                }
            }
            Event::Stopped { reason } => {
                if let Some(c) = &self.conn {
                    return Err(format!("(a) Stopped with {:?} never released", c.id));
                }
                if let Some(m) = self.outbox.front() {
                    return Err(format!("(g) Stopped with m{} still queued", m.n));
                }
                if let StopReason::GaveUp { attempts } = reason {
                    if *attempts != self.running_failures.saturating_add(1) {
                        return Err(format!(
                            "gave up after {attempts} (counted {}), max_attempts is {:?}",
                            self.running_failures, self.config.limits.max_attempts
                        ));
                    }
                    self.running_failures = *attempts;
                }
                self.unscheduled_ending = None;
                self.stopped = true;
            }
            other => return Err(format!("an event the model does not know: {other:?}")),
        }
        Ok(())
    }

    fn on_live(&mut self, ctx: &CallCtx, conn: ConnId, restored: usize) -> Result<(), String> {
        let acks = self.adapter.acks;
        let setup = self.adapter.setup_steps > 0;
        let wanted = self.wanted.clone();
        let c = self.current(conn, "Live")?;
        if setup && !c.setup_complete {
            return Err(format!("(d) Live {conn:?} before setup completed"));
        }
        for topic in &wanted {
            let status = c.subs.get(topic).copied();
            let ok = match status {
                Some(Sub::Active) => true,
                Some(Sub::RetryAt) => acks,
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "(d) Live {conn:?} while the wanted topic {topic:?} is {status:?} on it"
                ));
            }
        }
        if restored != c.restored_confirmed {
            return Err(format!(
                "(d) Live {conn:?} reports {restored} restored, {} were confirmed ({} sent)",
                c.restored_confirmed, c.restored_sends
            ));
        }
        c.live_at = Some(ctx.at);
        Ok(())
    }

    fn on_reconnect_scheduled(
        &mut self,
        ctx: &CallCtx,
        attempt: u32,
        delay: &reconnect_core::Delay,
        source: DelaySource,
        failures: u32,
    ) -> Result<(), String> {
        self.unscheduled_ending = None;
        if attempt != failures.saturating_add(1) {
            return Err(format!("(c) attempt {attempt} after {failures} failures"));
        }
        let backoff = &self.config.backoff;
        let limits = &self.config.limits;
        let drawn = delay.drawn;
        let _ = self.circuit_opened_in_call;
        let counted = self.running_failures.saturating_add(1);
        let stable = self.ending_stable == Some(true);
        let describe = || format!("{source:?} {delay:?} with {failures} failures");
        match source {
            DelaySource::Immediate => {
                if !drawn.is_zero()
                    || failures != self.running_failures
                    || !(ctx.command == Some(CommandKind::ReconnectNow) || self.ended_recycled)
                {
                    return Err(format!(
                        "(c) unexpected immediate reconnect: {}",
                        describe()
                    ));
                }
            }
            DelaySource::FirstRetry => {
                let hi = match backoff.first_retry {
                    FirstRetry::Immediate => Duration::ZERO,
                    FirstRetry::Jittered => backoff.initial,
                };
                if !stable || failures != 0 || drawn > hi {
                    return Err(format!(
                        "(c) first retry out of bounds or not after a stable connection \
                         (stable: {stable}): {}",
                        describe()
                    ));
                }
            }
            DelaySource::Backoff => {
                // The range, the spread at the cap and the cap itself are the public checker's
                // (`sim::Invariants`); the model keeps the failure count.
                if stable || failures != counted {
                    return Err(format!(
                        "(c) backoff failure count not {counted} (stable: {stable}): {}",
                        describe()
                    ));
                }
            }
            DelaySource::CircuitOpen => {
                if failures != counted {
                    return Err(format!(
                        "(c) circuit delay after {failures} failures: {}",
                        describe()
                    ));
                }
            }
            DelaySource::RetryAfter { hint } => {
                let expected_failures = if stable { 0 } else { counted };
                if !self.hints.contains(&hint)
                    || drawn != hint.min(limits.retry_after_ceiling)
                    || failures != expected_failures
                {
                    return Err(format!(
                        "(c) retry-after delay is not a given hint bounded by the ceiling {:?}: \
                         {}",
                        limits.retry_after_ceiling,
                        describe()
                    ));
                }
            }
        }
        self.last_draw = match source {
            DelaySource::Backoff => Some(drawn),
            // The draw was made, then replaced: what it was does not show.
            DelaySource::CircuitOpen | DelaySource::RetryAfter { .. } => None,
            // No draw (a first retry restarts the sequence from `initial` anyway).
            DelaySource::Immediate | DelaySource::FirstRetry => self.last_draw,
        };
        self.running_failures = failures;
        self.earliest_attempt = Some(ctx.at + drawn);
        Ok(())
    }

    fn on_drop(&mut self, ctx: &CallCtx, frame: &Frame, reason: DropReason) -> Result<(), String> {
        let Some(n) = msg_number(frame) else {
            return Err(format!("(g) a drop of an unknown frame: {frame:?}"));
        };
        match reason {
            DropReason::Overflow | DropReason::Coalesced => {
                if ctx.command != Some(CommandKind::Send) {
                    return Err(format!("(g) m{n} dropped ({reason:?}) outside a send"));
                }
                // Checked against the outbox model once the call's outputs are all seen.
                self.push_drops.push((n, reason));
                Ok(())
            }
            DropReason::Expired => {
                let Some(pos) = self.outbox.iter().position(|m| m.n == n) else {
                    return Err(format!("(g) m{n} expired but it is not queued"));
                };
                let m = &self.outbox[pos];
                if m.expires_at.is_none_or(|at| at > ctx.at) {
                    return Err(format!(
                        "(g) m{n} dropped as expired at +{:?} but it expires at {:?}",
                        since_base(ctx.at),
                        m.expires_at.map(since_base)
                    ));
                }
                self.outbox.remove(pos);
                self.set_fate(n, Fate::Dropped(reason))
            }
            DropReason::Stopped => match self.outbox.pop_front() {
                Some(m) if m.n == n => self.set_fate(n, Fate::Dropped(reason)),
                other => Err(format!(
                    "(g) m{n} dropped at stop, but the oldest queued message is {:?}",
                    other.map(|m| m.n)
                )),
            },
        }
    }

    /// Predicts what queuing `msg` does under the outbox policy: the messages dropped (number
    /// and reason) and whether the send is refused.
    fn predict_push(&self, msg: &Msg) -> (Vec<(u64, DropReason)>, bool, VecDeque<Msg>) {
        let policy = &self.config.outbox;
        let mut queue = self.outbox.clone();
        let mut drops = Vec::new();
        if msg.len > policy.max_bytes || policy.max_messages == 0 {
            return (drops, true, queue);
        }
        if let Some(key) = &msg.key {
            if let Some(pos) = queue.iter().position(|m| m.key.as_ref() == Some(key)) {
                let old = queue.remove(pos).expect("position in range");
                drops.push((old.n, DropReason::Coalesced));
            }
        }
        let fits = |q: &VecDeque<Msg>| {
            q.len() < policy.max_messages
                && q.iter().map(|m| m.len).sum::<usize>() + msg.len <= policy.max_bytes
        };
        if !fits(&queue) {
            match policy.overflow {
                OverflowPolicy::Reject => return (drops, true, queue),
                OverflowPolicy::DropNewest => {
                    drops.push((msg.n, DropReason::Overflow));
                    return (drops, false, queue);
                }
                OverflowPolicy::DropOldest => {
                    while !fits(&queue) {
                        let old = queue.pop_front().expect("a message fits an empty outbox");
                        drops.push((old.n, DropReason::Overflow));
                    }
                }
            }
        }
        queue.push_back(msg.clone());
        (drops, false, queue)
    }

    fn finish_send(&mut self, ctx: &mut CallCtx) -> Result<(), String> {
        let Some(send) = ctx.send.take() else {
            return Ok(());
        };
        let n = send.msg.n;
        match &send.result {
            Ok(true) => {
                if !self.sent_now_seen || !self.push_drops.is_empty() {
                    return Err(format!("(g) send of m{n} returned Sent without sending it"));
                }
            }
            Ok(false) | Err((reconnect_core::SendErrorKind::OutboxFull, _)) => {
                if self.sent_now_seen {
                    return Err(format!(
                        "(g) m{n} was sent but send returned {:?}",
                        send.result
                    ));
                }
                let (drops, refused, queue) = self.predict_push(&send.msg);
                if drops != self.push_drops || refused != send.result.is_err() {
                    return Err(format!(
                        "(g) send of m{n} under {:?}: expected drops {drops:?} and refused = \
                         {refused}, got drops {:?} and {:?}",
                        self.config.outbox, self.push_drops, send.result
                    ));
                }
                for (m, reason) in drops {
                    self.set_fate(m, Fate::Dropped(reason))?;
                }
                self.outbox = queue;
                if refused {
                    self.set_fate(n, Fate::Refused)?;
                }
            }
            Err((kind, _)) => {
                let expected = if self.stopped {
                    reconnect_core::SendErrorKind::Stopped
                } else {
                    reconnect_core::SendErrorKind::Closing
                };
                if *kind != expected || !(self.stopped || self.close_called) {
                    return Err(format!("(g) send of m{n} refused with {kind:?}"));
                }
                self.set_fate(n, Fate::Refused)?;
            }
        }
        if let Err((_, frame)) = &send.result {
            if *frame != send.frame {
                return Err(format!(
                    "(g) send of m{n} handed back another frame: {frame:?}"
                ));
            }
        }
        Ok(())
    }

    /// Checks after a call that advanced the clock to `at`: no message that was due to expire
    /// is still queued.
    pub fn check_expiries(&self, at: Instant, pushed_now: Option<u64>) -> Result<(), String> {
        for m in &self.outbox {
            if Some(m.n) != pushed_now && m.expires_at.is_some_and(|e| e <= at) {
                return Err(format!(
                    "(g) m{} is still queued at +{:?} though it expired at +{:?}",
                    m.n,
                    since_base(at),
                    m.expires_at.map(since_base)
                ));
            }
        }
        Ok(())
    }

    /// Counts an ending that scheduled nothing (the session was paused): one more failure, or
    /// none left if the connection had been stable.
    fn absorb_unscheduled_ending(&mut self) {
        if let Some(stable) = self.unscheduled_ending.take() {
            // Paused: a backoff draw may have been made without an event to show it.
            self.last_draw = None;
            self.running_failures = if stable {
                0
            } else {
                self.running_failures.saturating_add(1)
            };
        }
    }

    /// Compares the failure count the session reports after a call with the model's.
    pub fn sync_failures(&mut self, reported: u32) -> Result<(), String> {
        self.absorb_unscheduled_ending();
        if reported != self.running_failures {
            return Err(format!(
                "(c) the session counts {reported} consecutive failures, the events say {}",
                self.running_failures
            ));
        }
        Ok(())
    }
}
