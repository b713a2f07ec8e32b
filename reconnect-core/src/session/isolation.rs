//! A subscribe request refused as a whole: find the topics it was about, keep the others.
//!
//! The policy (attribution, bisection, transient refusals left whole) and its bound on extra
//! requests are documented on [`Protocol`](crate::Protocol#request-level-rejections-of-a-batch).

use std::time::{Duration, Instant};

use super::{Phase, Session, Timer};
use crate::error::ServerError;
use crate::protocol::{NackKind, Protocol, RequestId};
use crate::topic::Topic;

impl<P: Protocol> Session<P> {
    /// The server refused subscribe request `id`, which carried `requested`, with `error`.
    /// `awaiting` are the topics of it that still wait on it (not unsubscribed meanwhile).
    pub(super) fn on_subscribe_refused(
        &mut self,
        now: Instant,
        id: RequestId,
        requested: &[Topic],
        awaiting: Vec<Topic>,
        error: ServerError,
    ) {
        if awaiting.is_empty() {
            return;
        }
        // A request of one topic: its refusal is that topic's own.
        if requested.len() <= 1 {
            for topic in awaiting {
                self.on_topic_rejected(now, topic, error.clone());
            }
            return;
        }
        // Only names of this request count. An adapter may pass on whatever the server named: a
        // topic of another request, one already live, one nobody subscribed. Such a name must
        // not cost an innocent want its subscription, and a blame naming none of the request's
        // topics would clear the whole batch and ask for it again as it was, to be refused
        // again, forever: it counts as no blame (bisected, or retried if transient, below).
        let blamed: Vec<Topic> = self
            .protocol
            .blamed_topics(id, &error, requested)
            .unwrap_or_default()
            .into_iter()
            .filter(|t| requested.contains(t))
            .collect();
        if blamed.is_empty() && self.protocol.subscribe_rejection(&error) == NackKind::Transient {
            // Not bisected: under a rate limit, splitting multiplies requests against a server
            // that asks for fewer. Each topic retries later with its own backoff, as a per-topic
            // transient refusal does, so nothing is lost.
            for topic in awaiting {
                self.on_topic_rejected(now, topic, error.clone());
            }
            return;
        }
        if blamed.is_empty() {
            // Bisection: each half is asked for on its own, and a refused half is split again,
            // down to single topics, whose refusal is their own.
            let mut first = awaiting;
            let second = first.split_off(first.len().div_ceil(2));
            self.registry.requeue(id, first);
            self.registry.requeue(id, second);
        } else {
            // The server named the culprits: they alone bear the refusal, as classified; the
            // rest of the batch is asked for again in one request.
            let (guilty, rest): (Vec<Topic>, Vec<Topic>) =
                awaiting.into_iter().partition(|t| blamed.contains(t));
            for topic in guilty {
                self.on_topic_rejected(now, topic, error.clone());
            }
            self.registry.requeue(id, rest);
        }
        self.send_requeued(now);
    }

    /// Sends requeued topics: at once while live; during the resubscription, at its pace.
    fn send_requeued(&mut self, now: Instant) {
        let paced = self.config.resubscribe.frames_per_second;
        if let (Phase::Resubscribing, Some(rate)) = (&self.phase, paced) {
            if self.timers.get(Timer::ResubscribePace).is_none() {
                // The refused request went out no later than now: waiting a full gap from now
                // keeps every two resubscribe frames at least a gap apart.
                let gap = Duration::from_secs(1) / rate.max(1);
                self.timers
                    .set(Timer::ResubscribePace, Self::after(now, gap));
            }
            return;
        }
        self.pump_subscriptions(now);
    }
}
