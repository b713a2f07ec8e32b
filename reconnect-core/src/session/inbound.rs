//! What the transport reports: opens, frames, closes, failures.

use std::time::{Duration, Instant};

use super::lifecycle::Next;
use super::{Phase, RequestKind, Session, Timer};
use crate::boundary::{Action, Event, Input, Purpose, RenewalSource};
use crate::error::{Disposition, EndCause, ServerError};
use crate::frame::Frame;
use crate::protocol::{Inbound, NackKind, Protocol, RequestId, TopicRejection};
use crate::subscribe_options::{GapPolicy, ResyncReason};
use crate::subscriptions::{Hit, Recorder, SubscriptionStatus};
use crate::topic::Topic;

impl<P: Protocol> Session<P> {
    /// Handles an input for the current transport (staleness was checked by the caller).
    pub(super) fn on_input(&mut self, now: Instant, input: Input) {
        // `matches!`, not `==`: the derived comparison is a call, and this runs on every frame.
        let connecting = matches!(self.phase, Phase::Connecting);
        match input {
            Input::Opened { .. } => {
                if connecting {
                    self.on_opened(now);
                }
            }
            Input::ConnectFailed { error, .. } | Input::Failed { error, .. } => {
                if matches!(self.phase, Phase::Closing(_)) {
                    self.finish_close(now, false);
                } else {
                    self.end_connection(now, EndCause::Transport(error), None, Next::Policy);
                }
            }
            // Before the transport opened, nothing else is meaningful: a driver that reports
            // traffic first breaks the contract, and acting on it would skip the handshake.
            _ if connecting => self.stats.stale_inputs += 1,
            Input::Closed { code, reason, .. } => {
                if matches!(self.phase, Phase::Closing(_)) {
                    self.finish_close(now, true);
                } else {
                    self.end_connection(
                        now,
                        EndCause::ServerClosed { code, reason },
                        None,
                        Next::Policy,
                    );
                }
            }
            Input::Ping { .. } | Input::Pong { .. } => self.saw_inbound(now),
            Input::Frame { frame, .. } => {
                self.saw_inbound(now);
                self.on_frame(now, frame);
            }
        }
    }

    /// Any inbound traffic proves the peer alive: the pong wait ends and the next ping is due an
    /// interval from now.
    fn saw_inbound(&mut self, now: Instant) {
        if let Some(conn) = self.conn.as_mut() {
            conn.last_inbound = Some(now);
        }
        if matches!(self.phase, Phase::Closing(_)) {
            return;
        }
        self.timers.stop(Timer::Pong);
        if let Some(interval) = self.config.liveness.ping_interval {
            self.timers.set(Timer::Ping, Self::after(now, interval));
        }
    }

    fn on_frame(&mut self, now: Instant, frame: Frame) {
        let Some(conn) = self.conn_id() else {
            return;
        };
        // The adapter's lookup of a data frame's topic is the only one: the recorder keeps
        // where it found it, for the sequence check.
        let lookup = Recorder::new(&self.registry);
        let inbound = self.protocol.classify(&frame, &lookup);
        let hit = lookup.hit();
        match inbound {
            Inbound::Data { topic, seq } => {
                self.stats.frames_in += 1;
                if let Some(idle) = self.config.liveness.idle_timeout {
                    // A closing connection has no liveness to watch: re-arming the watchdog
                    // here once made it fire after close() and start a new attempt.
                    if self.registry.has_active() && !self.is_closing() {
                        self.timers.set(Timer::Idle, Self::after(now, idle));
                    }
                }
                if let Some(topic) = &topic {
                    self.note_data(now, topic, seq, hit);
                }
                self.emit(Event::Message {
                    conn,
                    topic,
                    seq,
                    frame,
                });
            }
            Inbound::Ack { id, rejected } => {
                if !self.on_ack(now, id, rejected) {
                    self.deliver_other(conn, frame);
                }
            }
            Inbound::Nack { id, error } => {
                if !self.on_nack(now, id, error) {
                    self.deliver_other(conn, frame);
                }
            }
            Inbound::HeartbeatRequest { reply } => {
                if matches!(self.phase, Phase::Closing(_)) {
                    // The connection is on its way out: nothing more is sent on it.
                } else if let Some(cause) = self.too_large(Purpose::HeartbeatReply, &reply) {
                    // Unanswered, the server would drop the connection anyway, for a reason
                    // nobody could read; ended now, the cause names it. Retried by default: the
                    // reply echoes the server's request, and the next one may be smaller.
                    self.end_connection(now, cause, None, Next::Policy);
                } else {
                    self.act(Action::Send {
                        conn,
                        frame: reply,
                        purpose: Purpose::HeartbeatReply,
                    });
                }
            }
            Inbound::Heartbeat => {}
            Inbound::ServerError(error) => {
                if let Some(hint) = error.retry_after {
                    self.retry_after_hint = Some(hint);
                }
                self.emit(Event::ServerError { conn, error });
            }
            Inbound::Other => self.deliver_other(conn, frame),
        }
    }

    /// Frames the session does not consume (including answers to requests the application sent
    /// itself) reach the application: nothing inbound is dropped silently.
    fn deliver_other(&mut self, conn: crate::ConnId, frame: Frame) {
        self.stats.frames_in += 1;
        self.emit(Event::Message {
            conn,
            topic: None,
            seq: None,
            frame,
        });
    }

    /// Data on a wanted topic: its staleness clock restarts (a timestamp, nothing else: the
    /// shared deadline is checked lazily when it comes due) and its sequence is tracked.
    fn note_data(&mut self, now: Instant, topic: &Topic, seq: Option<u64>, hit: Option<Hit>) {
        let Some(entry) = self.registry.entry_for(topic, hit) else {
            return;
        };
        entry.watch.last_data = Some(now);
        let Some(seq) = seq else {
            return;
        };
        let last = entry.last_seq.replace(seq);
        match last {
            Some(last) if seq > last.saturating_add(1) => {
                let repair = entry.watch.gap == GapPolicy::Repair
                    && entry.status == SubscriptionStatus::Active;
                self.stats.gaps += 1;
                self.emit(Event::Gap {
                    topic: topic.clone(),
                    expected: last + 1,
                    received: seq,
                });
                // Only a confirmed topic is asked for again: one already being re-subscribed
                // (or not yet confirmed) has its request out, so a burst of gaps sends one.
                if repair && self.phase == Phase::Live {
                    self.repair(now, topic.clone(), ResyncReason::Gap, Some(last));
                }
            }
            Some(last) if seq <= last => self.emit(Event::SequenceRegressed {
                topic: topic.clone(),
                last,
                received: seq,
            }),
            _ => {}
        }
    }

    /// Returns false when `id` is not one of the session's pending requests.
    fn on_ack(&mut self, now: Instant, id: RequestId, rejected: Vec<TopicRejection>) -> bool {
        let Some(kind) = self.pending.remove(id) else {
            return false;
        };
        self.sync_request_timer();
        let Some(conn) = self.conn_id() else {
            return true;
        };
        match kind {
            RequestKind::Auth => {
                self.accept_grant(now, id);
                self.on_authenticated(now);
            }
            RequestKind::Reauth => {
                let expires_in = self.accept_grant(now, id);
                self.emit(Event::CredentialsRenewed {
                    conn,
                    source: RenewalSource::Application,
                    expires_in,
                });
            }
            RequestKind::GrantRenewal { refresh_token } => {
                self.on_grant_renewed(now, id, refresh_token);
            }
            RequestKind::Setup => self.check_setup_done(now, true),
            RequestKind::Subscribe(topics) => {
                for topic in self.still_awaiting(topics, id) {
                    let refusal = rejected.iter().find(|r| r.topic == topic.as_str());
                    match refusal {
                        Some(r) => self.on_topic_rejected(now, topic, r.error.clone()),
                        None => self.mark_active(conn, topic, now),
                    }
                }
                self.pump_subscriptions(now);
                self.check_resubscribed(now);
            }
            RequestKind::Unsubscribe(topics) => {
                // A topic wanted again since this unsubscribe was sent has a newer subscribe
                // request of its own: the server processed the unsubscribe before it (requests
                // are processed in order, whatever order the answers come in), so reporting the
                // topic unsubscribed now, after its `Subscribed` perhaps, would say the opposite
                // of what holds.
                for topic in topics {
                    if !self.registry.contains(topic.as_str()) {
                        self.emit(Event::Unsubscribed { conn, topic });
                    }
                }
            }
            RequestKind::Heartbeat => {}
        }
        true
    }

    fn on_nack(&mut self, now: Instant, id: RequestId, error: ServerError) -> bool {
        let Some(kind) = self.pending.remove(id) else {
            return false;
        };
        self.sync_request_timer();
        let Some(conn) = self.conn_id() else {
            return true;
        };
        match kind {
            RequestKind::Auth => {
                let disposition = self.protocol.auth_rejection(&error);
                self.end_connection(
                    now,
                    EndCause::AuthRejected(error),
                    Some(disposition),
                    Next::Policy,
                );
            }
            RequestKind::Reauth => {
                let disposition = self.protocol.auth_rejection(&error);
                if matches!(
                    disposition,
                    Disposition::Fatal | Disposition::RefreshCredentials | Disposition::Closed
                ) {
                    self.end_connection(
                        now,
                        EndCause::AuthRejected(error),
                        Some(disposition),
                        Next::Policy,
                    );
                } else {
                    self.emit(Event::RenewalFailed {
                        cause: EndCause::AuthRejected(error),
                    });
                }
            }
            RequestKind::GrantRenewal { refresh_token } => {
                self.on_grant_renewal_rejected(now, error, refresh_token);
            }
            RequestKind::Setup => {
                self.end_connection(now, EndCause::SetupRejected(error), None, Next::Policy);
            }
            RequestKind::Subscribe(topics) => {
                let awaiting = self.still_awaiting(topics.clone(), id);
                self.on_subscribe_refused(now, id, &topics, awaiting, error);
                self.pump_subscriptions(now);
                self.check_resubscribed(now);
            }
            // The topics already left the registry; the server's refusal is still worth knowing.
            RequestKind::Unsubscribe(_) | RequestKind::Heartbeat => {
                self.emit(Event::ServerError { conn, error });
            }
        }
        true
    }

    /// The topics of subscribe request `id` that still wait on it. A topic unsubscribed (and
    /// perhaps subscribed again, with a new request) since `id` was sent is not answered by it:
    /// the server may have processed the unsubscribe after it.
    fn still_awaiting(&mut self, topics: Vec<Topic>, id: RequestId) -> Vec<Topic> {
        topics
            .into_iter()
            .filter(|t| {
                self.registry
                    .entry_mut(t.as_str())
                    .is_some_and(|e| e.request == Some(id))
            })
            .collect()
    }

    /// A refused topic: retried later with its own doubling, jittered delay if transient,
    /// dropped from the registry (with the event saying so) if permanent.
    pub(super) fn on_topic_rejected(&mut self, now: Instant, topic: Topic, error: ServerError) {
        if !self.registry.contains(topic.as_str()) {
            return;
        }
        match self.protocol.subscribe_rejection(&error) {
            NackKind::Permanent => {
                self.registry.remove(topic.as_str());
                self.emit(Event::SubscribeRejected {
                    topic,
                    error: Box::new(error),
                    retry_in: None,
                });
            }
            NackKind::Transient => {
                let policy = &self.config.resubscribe;
                let nacks = self
                    .registry
                    .entry_mut(topic.as_str())
                    .map(|e| {
                        e.nacks = e.nacks.saturating_add(1);
                        e.nacks
                    })
                    .unwrap_or(1);
                let exp = nacks.saturating_sub(1).min(30);
                let base = policy
                    .nack_retry_initial
                    .saturating_mul(1u32 << exp.min(20))
                    .min(policy.nack_retry_max);
                let hinted = error.retry_after.unwrap_or(Duration::ZERO);
                let lo = (base / 2).max(hinted.min(policy.nack_retry_max));
                let delay = self.backoff.between(lo, base.max(lo));
                let at = Self::after(now, delay);
                self.registry
                    .set_status(topic.as_str(), SubscriptionStatus::RetryAt(at));
                let next = self
                    .timers
                    .get(Timer::SubscriptionRetry)
                    .map_or(at, |t| t.min(at));
                self.timers.set(Timer::SubscriptionRetry, next);
                self.emit(Event::SubscribeRejected {
                    topic,
                    error: Box::new(error),
                    retry_in: Some(delay),
                });
            }
        }
    }
}
