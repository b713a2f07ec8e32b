//! From an open transport to live: auth, setup, and the paced resubscription of wanted topics.

use std::time::{Duration, Instant};

use super::lifecycle::Next;
use super::{Phase, RequestKind, Session, Timer};
use crate::boundary::{Action, Event, Purpose};
use crate::error::{EndCause, ServerError};
use crate::protocol::{Protocol, RequestId, Resume};
use crate::topic::Topic;

/// What became of an auth request the session set out to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum AuthSent {
    /// Nothing to send: no credentials, or an adapter without an auth step.
    Nothing,
    /// Sent; its answer is awaited.
    Awaited,
    /// Sent to a protocol without acknowledgements: done once sent.
    Done,
    /// Built but not sent: larger than the transport can write.
    TooLarge(EndCause),
}

impl<P: Protocol> Session<P> {
    /// Sends the auth request (if the adapter has one and credentials are set) and waits for its
    /// acknowledgement; otherwise moves straight on to setup.
    pub(super) fn start_auth(&mut self, now: Instant) {
        let Some(conn) = self.conn_id() else {
            return;
        };
        match self.send_auth_request(now, RequestKind::Auth) {
            AuthSent::Awaited => self.phase = Phase::Authenticating,
            AuthSent::Done => {
                self.emit(Event::Authenticated { conn });
                self.start_setup(now);
            }
            AuthSent::Nothing => self.start_setup(now),
            // Classified like any ending (fatal by default: every attempt would build the same
            // frame from the same credentials).
            AuthSent::TooLarge(cause) => self.end_connection(now, cause, None, Next::Policy),
        }
    }

    /// Sends an auth request built from the current credentials on the current transport, as
    /// `kind` (first auth or re-auth), unless it is too large to write.
    pub(super) fn send_auth_request(&mut self, now: Instant, kind: RequestKind) -> AuthSent {
        let Some(conn) = self.conn_id() else {
            return AuthSent::Nothing;
        };
        let id = self.peek_request_id();
        let frame = self
            .credentials
            .as_ref()
            .and_then(|creds| self.protocol.auth_request(id, creds));
        let Some(frame) = frame else {
            return AuthSent::Nothing;
        };
        if let Some(cause) = self.too_large(Purpose::Auth, &frame) {
            return AuthSent::TooLarge(cause);
        }
        self.next_request_id();
        self.act(Action::Send {
            conn,
            frame,
            purpose: Purpose::Auth,
        });
        if !self.protocol.acknowledges() {
            return AuthSent::Done;
        }
        let deadline = Self::after(now, self.config.timeouts.auth);
        self.pending.insert(id, kind, deadline);
        self.sync_request_timer();
        AuthSent::Awaited
    }

    pub(super) fn on_authenticated(&mut self, now: Instant) {
        if let Some(conn) = self.conn_id() {
            self.emit(Event::Authenticated { conn });
        }
        self.start_setup(now);
    }

    /// Sends every setup request the adapter has; resubscription starts once all are acknowledged.
    fn start_setup(&mut self, now: Instant) {
        let Some(conn) = self.conn_id() else {
            return;
        };
        self.phase = Phase::SettingUp;
        let acks = self.protocol.acknowledges();
        let mut sent = 0;
        // Bounded: an adapter that never returns None must not hang the session.
        while sent < 1024 {
            let id = self.peek_request_id();
            let Some(frame) = self.protocol.setup_request(sent, id) else {
                break;
            };
            if let Some(cause) = self.too_large(Purpose::Setup, &frame) {
                // Without it the connection cannot be set up; the next one would build the
                // same frame (fatal by default).
                self.end_connection(now, cause, None, Next::Policy);
                return;
            }
            self.next_request_id();
            sent += 1;
            self.act(Action::Send {
                conn,
                frame,
                purpose: Purpose::Setup,
            });
            if acks {
                let deadline = Self::after(now, self.config.timeouts.setup);
                self.pending.insert(id, RequestKind::Setup, deadline);
            }
        }
        self.sync_request_timer();
        self.check_setup_done(now, sent > 0);
    }

    pub(super) fn check_setup_done(&mut self, now: Instant, had_setup: bool) {
        if self.phase != Phase::SettingUp || self.pending.any(|k| *k == RequestKind::Setup) {
            return;
        }
        if had_setup {
            if let Some(conn) = self.conn_id() {
                self.emit(Event::SetupComplete { conn });
            }
        }
        self.phase = Phase::Resubscribing;
        self.pump_subscriptions(now);
        self.check_resubscribed(now);
    }

    /// Sends unsent topics: during the resubscription, one paced frame at a time; while live, all at once.
    pub(super) fn pump_subscriptions(&mut self, now: Instant) {
        let Some(conn) = self.conn_id() else {
            return;
        };
        let resubscribing = self.phase == Phase::Resubscribing;
        if !resubscribing && self.phase != Phase::Live {
            return;
        }
        if resubscribing && self.timers.get(Timer::ResubscribePace).is_some() {
            return; // the pace timer sends the next frame
        }
        let batch = self
            .config
            .resubscribe
            .batch_size
            .min(self.protocol.max_batch().max(1));
        let acks = self.protocol.acknowledges();
        while self.has_subscriptions_to_send() {
            // The topics wait unsent, where they are, until the send rate has a token (it arms
            // its deadline). A frame found too large below spends its token for nothing: rare,
            // and only a delay.
            if !self.take_token(now) {
                break;
            }
            // Taken only once the frame goes out: a frame too large to write uses up no id.
            let id = self.peek_request_id();
            // Topics of a refused batch go first, in the groups isolation made of them.
            let mut taken = self.registry.take_requeued(id);
            let fresh = taken.is_empty();
            if fresh {
                taken = self.registry.take_unsent(batch, id);
            }
            if resubscribing && fresh {
                self.stats.resubscribes += taken.len() as u64;
            }
            let resume: Vec<Resume> = taken
                .into_iter()
                .map(|(topic, last_seq)| Resume { topic, last_seq })
                .collect();
            let frame = self.protocol.subscribe_request(id, &resume);
            if let Some(cause) = self.too_large(Purpose::Subscribe, &frame) {
                self.split_too_large(id, resume, &cause);
                continue;
            }
            self.next_request_id();
            self.act(Action::Send {
                conn,
                frame,
                purpose: Purpose::Subscribe,
            });
            let topics: Vec<Topic> = resume.into_iter().map(|r| r.topic).collect();
            if acks {
                let deadline = Self::after(now, self.config.timeouts.subscribe);
                self.pending
                    .insert(id, RequestKind::Subscribe(topics), deadline);
            } else {
                for topic in topics {
                    self.mark_active(conn, topic, now);
                }
            }
            if resubscribing {
                if let Some(rate) = self.config.resubscribe.frames_per_second {
                    if self.has_subscriptions_to_send() {
                        let gap = Duration::from_secs(1) / rate.max(1);
                        self.timers
                            .set(Timer::ResubscribePace, Self::after(now, gap));
                    }
                    break;
                }
            }
        }
        self.sync_request_timer();
    }

    /// A subscribe frame for `resume` (pending under `id`, unsent) is too large to write: the
    /// batch is halved, the halves taken next, each under `id` again (first ⌈k/2⌉, then the
    /// rest, as bisection splits a refused batch), down to single topics. A topic whose frame
    /// is too large alone is rejected for good: the limit never rises, so no retry could send
    /// it. Splitting, not rejecting the batch, keeps topics that only failed for their
    /// company.
    fn split_too_large(&mut self, id: RequestId, resume: Vec<Resume>, cause: &EndCause) {
        let mut first: Vec<Topic> = resume.into_iter().map(|r| r.topic).collect();
        if first.len() > 1 {
            let second = first.split_off(first.len().div_ceil(2));
            self.registry.requeue_next(id, second);
            self.registry.requeue_next(id, first);
            return;
        }
        for topic in first {
            self.registry.remove(topic.as_str());
            self.emit(Event::SubscribeRejected {
                topic,
                error: Box::new(ServerError::new(None, cause.to_string())),
                retry_in: None,
            });
        }
    }

    pub(super) fn mark_active(&mut self, conn: crate::ConnId, topic: Topic, now: Instant) {
        let Some(resynced) = self.registry.activate(topic.as_str(), now) else {
            return; // unsubscribed while the request was in flight
        };
        if self.phase == Phase::Resubscribing {
            if let Some(c) = self.conn.as_mut() {
                c.resubscribed += 1;
            }
        }
        if let Some(idle) = self.config.liveness.idle_timeout {
            if self.timers.get(Timer::Idle).is_none() {
                self.timers.set(Timer::Idle, Self::after(now, idle));
            }
        }
        match resynced {
            Some(reason) => {
                self.emit(Event::Subscribed {
                    conn,
                    topic: topic.clone(),
                });
                self.emit(Event::Resynced {
                    conn,
                    topic,
                    reason,
                });
            }
            None => self.emit(Event::Subscribed { conn, topic }),
        }
        self.arm_stale_timer(now);
    }

    /// Whether topics wait to be requested on this connection: unsent ones, or those of a
    /// refused batch that isolation queued again.
    fn has_subscriptions_to_send(&self) -> bool {
        self.registry.has_unsent() || self.registry.has_requeued()
    }

    /// Declares live once nothing of the resubscription is left to send or to be acknowledged.
    pub(super) fn check_resubscribed(&mut self, now: Instant) {
        if self.phase != Phase::Resubscribing
            || self.has_subscriptions_to_send()
            || self.pending.any(|k| matches!(k, RequestKind::Subscribe(_)))
        {
            return;
        }
        self.timers.stop(Timer::ResubscribePace);
        self.go_live(now);
    }

    /// Keeps the request timer at the earliest pending deadline.
    pub(super) fn sync_request_timer(&mut self) {
        self.timers
            .set_opt(Timer::Request, self.pending.next_deadline());
    }
}
