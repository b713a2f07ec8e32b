//! Repairing one topic on the live connection: after staleness, after a gap under
//! [`GapPolicy::Repair`](crate::GapPolicy::Repair), or when the application asks
//! ([`Session::resync`]). Each re-subscribes the topic alone, with the adapter's ordinary
//! subscribe request, without unsubscribing it first and without touching the other topics.

use std::time::Instant;

use super::lifecycle::Next;
use super::CommandError;
use super::{Phase, RequestKind, Session, Timer};
use crate::boundary::{Action, Event, Purpose};
use crate::error::EndCause;
use crate::protocol::{Protocol, Resume};
use crate::subscribe_options::ResyncReason;
use crate::subscriptions::SubscriptionStatus;
use crate::topic::Topic;

/// What [`Session::resync`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResyncStatus {
    /// A subscribe request for the topic alone went out on the live connection, resuming from
    /// its last sequence number; [`Event::Resynced`] reports its confirmation.
    Sent,
    /// A subscribe request for the topic is already out or scheduled on this connection (a
    /// resync, a repair, its first subscription, or a retry after a refusal): it is not asked
    /// again, so repeated checks cannot start a storm of requests.
    AlreadyResyncing,
    /// The session is not live: the next resubscription requests every wanted topic from its
    /// last sequence number anyway.
    NotLive,
    /// The topic is not wanted.
    NotWanted,
    /// The request for the topic alone would exceed
    /// [`Config::max_frame_len`](crate::Config::max_frame_len), so it was not written; the
    /// topic stays as it is.
    TooLarge,
}

impl<P: Protocol> Session<P> {
    /// Re-subscribes `topic` alone on the live connection from its last sequence number, for
    /// the application's own checks (a checksum that did not match, a book that drifted): the
    /// same path as a stale topic's repair. Nothing else is interrupted. A topic with a request
    /// already out is not asked again ([`ResyncStatus::AlreadyResyncing`]). Refused only when
    /// the session is closing or stopped ([`CommandError`]).
    pub fn resync(&mut self, now: Instant, topic: &str) -> Result<ResyncStatus, CommandError> {
        self.check_running()?;
        let now = self.advance(now);
        self.check_running()?;
        let Some(entry) = self.registry.entry_mut(topic) else {
            return Ok(ResyncStatus::NotWanted);
        };
        if self.phase != Phase::Live {
            return Ok(ResyncStatus::NotLive);
        }
        if entry.status != SubscriptionStatus::Active {
            return Ok(ResyncStatus::AlreadyResyncing);
        }
        let topic = entry.topic.clone();
        Ok(if self.repair(now, topic, ResyncReason::Requested, None) {
            ResyncStatus::Sent
        } else {
            ResyncStatus::TooLarge
        })
    }

    /// Sends a subscribe request for `topic` alone, resuming from `from` (its last sequence
    /// number when `None`), and marks it pending under it, remembering `reason` for the
    /// [`Event::Resynced`] of its confirmation. False when the request was too large to write.
    /// The caller checked that the session is live and the topic confirmed.
    pub(super) fn repair(
        &mut self,
        now: Instant,
        topic: Topic,
        reason: ResyncReason,
        from: Option<u64>,
    ) -> bool {
        let Some(conn) = self.conn_id() else {
            return false;
        };
        let Some(last_seq) = self.registry.entry_mut(topic.as_str()).map(|e| e.last_seq) else {
            return false;
        };
        let id = self.peek_request_id();
        let resume = Resume {
            topic,
            last_seq: from.or(last_seq),
        };
        let frame = self
            .protocol
            .subscribe_request(id, std::slice::from_ref(&resume));
        if self.too_large(Purpose::Subscribe, &frame).is_some() {
            return false;
        }
        self.next_request_id();
        let topic = resume.topic;
        self.registry
            .set_status(topic.as_str(), SubscriptionStatus::Pending);
        if let Some(entry) = self.registry.entry_mut(topic.as_str()) {
            entry.request = Some(id);
            entry.watch.repairing = Some(reason);
        }
        self.act(Action::Send {
            conn,
            frame,
            purpose: Purpose::Subscribe,
        });
        if self.protocol.acknowledges() {
            let deadline = Self::after(now, self.config.timeouts.subscribe);
            self.pending
                .insert(id, RequestKind::Subscribe(vec![topic]), deadline);
            self.sync_request_timer();
        } else {
            self.mark_active(conn, topic, now);
        }
        true
    }

    /// The shared staleness deadline came due: every topic whose window passed is reported and
    /// repaired, or, at `topic_stale_escalation` windows in a row, the connection is replaced.
    pub(super) fn check_stale_topics(&mut self, now: Instant) {
        // Before live there is nothing to check; going live arms the timer again.
        if self.phase != Phase::Live {
            return;
        }
        let Some((conn, Some(live_since), last_inbound)) = self
            .conn
            .as_ref()
            .map(|c| (c.id, c.live_since, c.last_inbound))
        else {
            return;
        };
        let limit = self.config.liveness.topic_stale_escalation;
        for stale in self.registry.due_stale(now, live_since, last_inbound) {
            self.emit(Event::TopicStale {
                conn,
                topic: stale.topic.clone(),
                silent_for: stale.silent_for,
                times: stale.times,
            });
            if stale.times >= limit {
                // The count starts over on the next connection: a reconnect is a fresh start.
                if let Some(entry) = self.registry.entry_mut(stale.topic.as_str()) {
                    entry.watch.stale_times = 0;
                }
                let cause = EndCause::TopicStale {
                    topic: stale.topic,
                    times: stale.times,
                };
                self.end_connection(now, cause, None, Next::Policy);
                return;
            }
            self.repair(now, stale.topic, ResyncReason::Stale, None);
        }
        self.arm_stale_timer(now);
    }

    /// Keeps the one staleness timer at the queue's earliest deadline, or at `now` when that
    /// has passed: the queue outlives connections, and a deadline left from an earlier one (or
    /// from before live) is due, but `poll_timeout()` must never name a time already past.
    pub(super) fn arm_stale_timer(&mut self, now: Instant) {
        let next = self.registry.next_stale_check().map(|at| at.max(now));
        self.timers.set_opt(Timer::TopicStale, next);
    }
}
