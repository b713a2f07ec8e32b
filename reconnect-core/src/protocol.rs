//! The protocol adapter: what an exchange's frames look like.

use crate::credentials::{Credentials, Grant};
use crate::error::{Disposition, EndCause, ServerError};
use crate::frame::Frame;
use crate::topic::Topic;

/// Names one request the session sent, so that the adapter can match the server's answer to it.
///
/// The session allocates ids (increasing, never reused within a session) and hands them to the
/// adapter's request builders; the adapter must embed them in the frame (the JSON-RPC `id`) and
/// report them back in [`Inbound::Ack`] / [`Inbound::Nack`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A topic to (re)subscribe, with the last sequence number seen on it, so that protocols with
/// recovery can resume from there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The topic.
    pub topic: Topic,
    /// The last sequence number the session saw on it, across connections.
    pub last_seq: Option<u64>,
}

/// A topic the server refused inside an otherwise positive answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicRejection {
    /// The topic's name as the server gave it.
    pub topic: String,
    /// Why.
    pub error: ServerError,
}

/// What an inbound frame is, as far as the session cares.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inbound {
    /// A positive answer to request `id`. For a subscribe request, `rejected` lists topics the
    /// server did not confirm; every other topic of the request counts as subscribed.
    Ack {
        /// The request answered.
        id: RequestId,
        /// Topics of the request the server refused.
        rejected: Vec<TopicRejection>,
    },
    /// A negative answer to request `id`.
    Nack {
        /// The request answered.
        id: RequestId,
        /// The server's error.
        error: ServerError,
    },
    /// Application data, for `topic` (when the adapter can tell and the topic is registered),
    /// with its sequence number (when the protocol numbers messages).
    Data {
        /// The topic, as [`TopicLookup::find`] returned it (then the session needs no second
        /// lookup for the sequence check).
        topic: Option<Topic>,
        /// The message's sequence number.
        seq: Option<u64>,
    },
    /// The server asks for an answer to stay connected; the session sends `reply` at once.
    HeartbeatRequest {
        /// The frame that answers it.
        reply: Frame,
    },
    /// A server heartbeat that needs no answer.
    Heartbeat,
    /// An unsolicited server error (not the answer to a request). A `retry_after` in it is kept
    /// as the delay of the next reconnect, should one happen.
    ServerError(ServerError),
    /// Anything else; delivered to the application as a message without a topic.
    Other,
}

/// Finds registered topics by name without allocating, for [`Protocol::classify`].
///
/// A data frame's topic should be looked up once: return the [`Topic`] that `find` returned
/// in [`Inbound::Data`] as it is (not a new `Topic` of the same name). The session remembers
/// where its last `find` found the topic and uses that for the sequence check, so a topic
/// passed through unchanged costs no second lookup; any other topic is looked up again by name.
pub trait TopicLookup {
    /// The registered topic named `name`, if any.
    fn find(&self, name: &str) -> Option<Topic>;
}

/// How a rejected subscription is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NackKind {
    /// Retry later with the topic's own backoff (rate limits, temporary unavailability).
    Transient,
    /// Give up on the topic: it leaves the registry and is not resubscribed again.
    Permanent,
}

/// A protocol adapter: builds the frames the session sends and classifies the frames it receives.
///
/// The session owns the orchestration (order, timeouts, retries, bookkeeping); the adapter only
/// knows the wire format. Adapters must be deterministic (no clocks, no randomness) and must not
/// panic on any input: a frame they cannot understand is [`Inbound::Other`].
///
/// Only [`subscribe_request`](Protocol::subscribe_request) and [`classify`](Protocol::classify)
/// are required; everything else has a default that suits a protocol without that feature.
///
/// A request the adapter built is not always sent: one larger than
/// [`Config::max_frame_len`](crate::Config::max_frame_len) is dropped, and its id goes to the
/// next request the session builds (a subscribe batch split in halves, the current credentials
/// after a refresh grant). Whatever the adapter remembers of a request by its id must therefore
/// be replaced, not added to, when the same id comes again.
///
/// # Request-level rejections of a batch
///
/// Some servers refuse a whole subscribe request (one [`Inbound::Nack`]) because one of its
/// topics is bad. Reporting every topic of the batch rejected would drop the good ones with
/// the bad, so when a request that carried several topics is refused as a whole, the session
/// isolates the culprits on the same connection:
///
/// 1. **Attribution.** If [`blamed_topics`](Protocol::blamed_topics) names topics of the
///    request, those are rejected as [`subscribe_rejection`](Protocol::subscribe_rejection)
///    classifies the error (permanent: they leave the registry with
///    [`Event::SubscribeRejected`](crate::Event::SubscribeRejected) and `retry_in: None`;
///    transient: retried later with their own backoff), and the rest of the batch is requested
///    again in one request.
/// 2. **Bisection.** Otherwise, if the error is [`NackKind::Permanent`], the batch is split in
///    two halves (the first ⌈k/2⌉ topics, then the rest), each requested again on its own, and
///    so on down: a refused request of one topic is that topic's own rejection. Good topics go
///    live; only topics that fail on their own are reported.
/// 3. **Transient without attribution.** A request-level rejection classified
///    [`NackKind::Transient`] (a rate limit, say) is not bisected: splitting would multiply
///    requests against a server that asks for fewer. Every topic of the batch is retried later
///    with its own backoff, as for a per-topic transient rejection; nothing is lost.
///
/// A single-topic request's rejection is always that topic's own. The re-requests are ordinary
/// subscribe requests: each has its own `timeouts.subscribe`; during the resubscription they go out at
/// its pace (`resubscribe.frames_per_second`), and the session is live only once none is
/// unsent or unanswered; a topic unsubscribed meanwhile is left out of them.
///
/// **The bound.** For a request of `k` topics of which `b` fail on their own, and a server
/// that refuses a request exactly when it contains one of them, bisection sends at most
/// `2 · Σ_{d=0}^{⌈log2 k⌉−1} min(b, 2^d)` extra requests, which is at most
/// `2 · b · ⌈log2 k⌉` and at most `2 · (k − 1)`. With attribution that names at least one
/// culprit per refusal, at most `b` extra requests are sent.
pub trait Protocol {
    /// The auth request for `credentials`, or `None` when the protocol has no auth step (or the
    /// credentials travel in the URL or headers, which the driver handles).
    fn auth_request(&mut self, _id: RequestId, _credentials: &Credentials) -> Option<Frame> {
        None
    }

    /// The `index`-th setup request (0-based), sent after auth and before subscriptions are
    /// resubscribed; `None` when there are no more.
    fn setup_request(&mut self, _index: usize, _id: RequestId) -> Option<Frame> {
        None
    }

    /// One subscribe frame for `topics` (never more than [`max_batch`](Protocol::max_batch)).
    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame;

    /// One unsubscribe frame for `topics`, or `None` when the protocol cannot unsubscribe (the
    /// topic then simply stops being resubscribed).
    fn unsubscribe_request(&mut self, _id: RequestId, _topics: &[Topic]) -> Option<Frame> {
        None
    }

    /// The most topics one subscribe or unsubscribe frame may carry. Default 1.
    fn max_batch(&self) -> usize {
        1
    }

    /// Whether the server answers requests. When false, a request counts as acknowledged once
    /// sent (auth, setup and subscriptions alike). Default true.
    fn acknowledges(&self) -> bool {
        true
    }

    /// Whether this adapter has an application heartbeat ([`heartbeat_request`](Self::heartbeat_request)
    /// returns a frame). [`Session::new`](crate::Session::new) refuses a configuration with
    /// [`Liveness::heartbeat_interval`](crate::Liveness::heartbeat_interval) set when this is
    /// false ([`ConfigError::HeartbeatUnsupported`](crate::ConfigError::HeartbeatUnsupported)),
    /// so that the setting never silently does nothing. An adapter that implements
    /// `heartbeat_request` must return true here. Default false.
    fn has_heartbeat(&self) -> bool {
        false
    }

    /// An application-level heartbeat (a protocol ping) whose answer is an [`Inbound::Ack`] for
    /// `id`, or `None` when the protocol has none. Sent every
    /// [`Liveness::heartbeat_interval`](crate::Liveness::heartbeat_interval).
    fn heartbeat_request(&mut self, _id: RequestId) -> Option<Frame> {
        None
    }

    /// Whether fresh credentials supplied while live must be sent in a new auth request on the
    /// live connection. Default false (the next connect uses them).
    fn reauth_on_renewal(&self) -> bool {
        false
    }

    /// What the server granted with its positive answer to auth request `id` (a first auth, a
    /// re-auth or a renewal): the credentials' lifetime and perhaps a refresh token. `None`
    /// (the default) when the answer said nothing about a lifetime.
    ///
    /// The session calls it right after [`classify`](Protocol::classify) returned
    /// [`Inbound::Ack`] for `id`, so an adapter parses the answer during `classify` and keeps
    /// what it found until asked (one answer at a time is enough). With a lifetime, the session
    /// re-authenticates on the same connection before it runs out (see
    /// [`LifetimeRenewal`](crate::LifetimeRenewal)).
    fn granted(&mut self, _id: RequestId) -> Option<Grant> {
        None
    }

    /// The request that renews credentials with the server's refresh token `refresh` (Deribit's
    /// `public/auth` with `grant_type` `refresh_token`), or `None` (the default) when the
    /// protocol has none: the session then renews with the current credentials'
    /// [`auth_request`](Protocol::auth_request). Its answer is handled like an auth answer.
    fn refresh_request(&mut self, _id: RequestId, _refresh: &Credentials) -> Option<Frame> {
        None
    }

    /// Classifies an inbound frame. Must not panic and must do bounded work per frame.
    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound;

    /// How to treat a rejected auth request. The default treats it as transient unless the
    /// server gave a retry-after hint.
    fn auth_rejection(&self, error: &ServerError) -> Disposition {
        error
            .retry_after
            .map_or(Disposition::Retry, Disposition::RetryAfter)
    }

    /// How to treat a rejected subscription. Default: permanent.
    fn subscribe_rejection(&self, _error: &ServerError) -> NackKind {
        NackKind::Permanent
    }

    /// Overrides the default classification of what ended an attempt or a connection; `None`
    /// defers to the configured [`Classifier`](crate::Classifier).
    fn classify_end(&self, _cause: &EndCause) -> Option<Disposition> {
        None
    }

    // ---- request-level rejections of a subscribe batch ----------------------------------

    /// The topics that a rejection of a whole subscribe request is about, when the server said
    /// so; `None` (the default) when the adapter cannot tell.
    ///
    /// The session calls it when the [`Inbound::Nack`] of request `id` (just returned by
    /// [`classify`](Protocol::classify)) answers a subscribe request that carried `topics`,
    /// more than one of them. A server that refuses the whole request because of one bad
    /// channel would otherwise condemn the good ones with it; see
    /// [Request-level rejections](Protocol#request-level-rejections-of-a-batch) for what the
    /// session does with the answer. Names that are not among `topics` are ignored; an answer
    /// that names none of them counts as `None`.
    ///
    /// The adapter must only name topics the server blamed: a topic named here is reported
    /// rejected as the server's error says, without being tried alone.
    fn blamed_topics(
        &mut self,
        _id: RequestId,
        _error: &ServerError,
        _topics: &[Topic],
    ) -> Option<Vec<Topic>> {
        None
    }
}

impl<P: Protocol + ?Sized> Protocol for Box<P> {
    fn auth_request(&mut self, id: RequestId, credentials: &Credentials) -> Option<Frame> {
        (**self).auth_request(id, credentials)
    }
    fn setup_request(&mut self, index: usize, id: RequestId) -> Option<Frame> {
        (**self).setup_request(index, id)
    }
    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        (**self).subscribe_request(id, topics)
    }
    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        (**self).unsubscribe_request(id, topics)
    }
    fn max_batch(&self) -> usize {
        (**self).max_batch()
    }
    fn acknowledges(&self) -> bool {
        (**self).acknowledges()
    }
    fn has_heartbeat(&self) -> bool {
        (**self).has_heartbeat()
    }
    fn heartbeat_request(&mut self, id: RequestId) -> Option<Frame> {
        (**self).heartbeat_request(id)
    }
    fn reauth_on_renewal(&self) -> bool {
        (**self).reauth_on_renewal()
    }
    fn granted(&mut self, id: RequestId) -> Option<Grant> {
        (**self).granted(id)
    }
    fn refresh_request(&mut self, id: RequestId, refresh: &Credentials) -> Option<Frame> {
        (**self).refresh_request(id, refresh)
    }
    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        (**self).classify(frame, topics)
    }
    fn auth_rejection(&self, error: &ServerError) -> Disposition {
        (**self).auth_rejection(error)
    }
    fn subscribe_rejection(&self, error: &ServerError) -> NackKind {
        (**self).subscribe_rejection(error)
    }
    fn classify_end(&self, cause: &EndCause) -> Option<Disposition> {
        (**self).classify_end(cause)
    }
    fn blamed_topics(
        &mut self,
        id: RequestId,
        error: &ServerError,
        topics: &[Topic],
    ) -> Option<Vec<Topic>> {
        (**self).blamed_topics(id, error, topics)
    }
}
