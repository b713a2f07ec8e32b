//! The JSON-RPC 2.0 adapter, in the Deribit style: see [`JsonRpcAdapter`] for the wire format.

mod auth;
mod config;
mod data;
mod envelope;
mod pointer;
mod remembered;
mod requests;
mod response;
mod skip;

pub use auth::AuthParamsError;
pub use config::JsonRpcConfig;
pub use pointer::{PointerError, SeqPointer};

use crate::credentials::{Credentials, Grant};
use crate::error::{Disposition, ServerError};
use crate::frame::Frame;
use crate::protocol::{Inbound, NackKind, Protocol, RequestId, Resume, TopicLookup};
use crate::topic::Topic;

use envelope::{Envelope, Id, Params};
use remembered::Remembered;
use requests::{channels_params, interval_params, json_string, request};

/// A [`Protocol`] for JSON-RPC 2.0 over WebSocket in the Deribit style.
///
/// # Outbound frames
///
/// Every request is `{"jsonrpc":"2.0","id":N,"method":M,"params":P}`, members in that order:
///
/// | request | method (default) | params |
/// |---|---|---|
/// | auth | `public/auth` | the credentials' text, a JSON object ([`JsonRpcAdapter::auth_params`]) |
/// | setup 0, when [`server_heartbeat`](JsonRpcConfig::server_heartbeat) is set | `public/set_heartbeat` | `{"interval":S}` |
/// | further setup | as [added](JsonRpcConfig::setup_request) | as added |
/// | refresh grant, to renew credentials before the `expires_in` of an auth answer with a `refresh_token` ([`grant_lifetimes`](JsonRpcConfig::grant_lifetimes)) | `public/auth` | `{"grant_type":"refresh_token","refresh_token":…}` |
/// | subscribe | `public/subscribe` | `{"channels":[…]}` (at most [`max_batch`](JsonRpcConfig::max_batch)) |
/// | unsubscribe | `public/unsubscribe` | `{"channels":[…]}` |
/// | application heartbeat, every [`heartbeat_interval`](crate::Liveness::heartbeat_interval) when set | `public/test` | `{}` |
/// | answer to a server `test_request` | `public/test` | `{}`, with an id from [`JsonRpcAdapter::HEARTBEAT_REPLY_ID_BASE`] up |
///
/// If the credentials' text is not a JSON object after all (built with [`Credentials::new`]
/// rather than the checked constructors), the auth request is still sent, with `params` `{}`
/// so that the frame stays valid JSON and the secret's malformed text goes nowhere. The
/// server's refusal then comes back as a [`ServerError`] whose message starts with
/// "credentials are not a JSON object", and [`auth_rejection`](Protocol::auth_rejection) makes
/// it fatal: the session stops, with the reason in its `Stopped` event. It never panics and
/// never skips authentication silently.
///
/// # Inbound frames
///
/// | frame | classified as |
/// |---|---|
/// | `{"method":"subscription","params":{"channel":C,"data":D}}` | [`Inbound::Data`]: topic C if registered, seq at the [pointer](JsonRpcConfig::seq_pointer) in D |
/// | `{"method":"heartbeat","params":{"type":"test_request"}}` | [`Inbound::HeartbeatRequest`], answered with `public/test` |
/// | `{"method":"heartbeat","params":{"type":"heartbeat"}}` | [`Inbound::Heartbeat`] |
/// | `{"id":N,"result":R}` | [`Inbound::Ack`]; for a subscribe, channels missing from the array R are rejected |
/// | `{"id":N,"error":E}` | [`Inbound::Nack`] with E as a [`ServerError`]; channels in `E.data.channel` (a string or an array of strings) are the ones [blamed](Protocol::blamed_topics) |
/// | `{"id":K,…}` with K from [`JsonRpcAdapter::HEARTBEAT_REPLY_ID_BASE`] up | [`Inbound::Heartbeat`]: the answer to our heartbeat reply |
/// | `{"error":E}` without an id, or with `"id":null` | [`Inbound::ServerError`] |
/// | anything else: string ids, other methods, other shapes, invalid JSON, binary frames | [`Inbound::Other`] |
///
/// The `"jsonrpc":"2.0"` member is not required on input, and unknown members are ignored.
/// Error objects map to [`ServerError`] as follows: `code` is `error.code` (an integer),
/// `message` is `error.message` (or the error's whole JSON text when there is none), and
/// `retry_after` is `error.data.retry_after_ms` in milliseconds or else `error.data.retry_after`
/// in seconds (a number, fractions allowed, or a string holding one).
///
/// # The application's own requests
///
/// The session numbers its requests from 1 up, and this adapter answers its heartbeat requests
/// with ids from 2^62 up. An application that sends its own JSON-RPC requests with
/// [`Session::send`](crate::Session::send) should give them **string ids** (`"id":"order-7"`):
/// their answers are then [`Inbound::Other`] and reach the application as
/// [`Event::Message`](crate::Event::Message) with no topic. A numeric id is classified as an
/// ack or nack; if it is not one of the session's pending requests, the session delivers it to
/// the application the same way, but a numeric id that happens to equal a pending session
/// request's would be taken for that request's answer, and one from 2^62 up would be swallowed
/// as a heartbeat.
///
/// # No allocation on the data path
///
/// A notification for a registered channel is classified without touching the heap: one pass
/// over the text with borrowed strings, a recursive skip of everything off the path (unlike
/// `serde_json`'s `IgnoredAny`, which buffers nesting on the heap), the sequence number read by
/// walking the pointer's segments in place, and the [`Topic`] cloned from the registry (a
/// reference count). The one exception is a string containing JSON escape sequences (`\"`,
/// `\n`, `\u00e9`; Deribit's market data has none): `serde_json` unescapes it into a scratch
/// buffer, which costs an allocation or two per frame. Answers to requests and errors may
/// allocate; they are rare. A counting-allocator test can hold this path to zero allocations.
///
/// # Resume positions
///
/// Deribit has no recovery, so by default subscribe requests carry no positions and
/// [`Resume::last_seq`] is ignored: after a reconnect, a gap event tells the application to
/// fetch a snapshot. [`JsonRpcConfig::resume_field`] adds them for servers that can replay.
///
/// [`ServerError`]: crate::ServerError
/// [`Credentials::new`]: crate::Credentials::new
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
/// use reconnect_core::{Config, Session};
///
/// let adapter = JsonRpcAdapter::new(
///    JsonRpcConfig::default()
///        .server_heartbeat(Some(Duration::from_secs(10)))
///        .seq_pointer(Some(SeqPointer::parse("/change_id").unwrap())),
/// );
/// let mut session = Session::new(Config::new(7), adapter).unwrap();
/// session.set_credentials(JsonRpcAdapter::client_credentials("my-id", "my-secret"));
/// # let now = std::time::Instant::now();
/// session.subscribe(now, "book.BTC-PERPETUAL.100ms").unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct JsonRpcAdapter {
    config: JsonRpcConfig,
    /// Method names as JSON string literals, escaped once.
    auth_method: String,
    subscribe_method: String,
    unsubscribe_method: String,
    set_heartbeat_method: String,
    test_method: String,
    setup_methods: Vec<String>,
    /// The channels of in-flight (un)subscribe requests.
    remembered: Remembered,
    /// Counts heartbeat replies; their ids are the base plus this, modulo the base.
    heartbeat_replies: u64,
    /// The auth request sent with `{}` because the credentials were not a JSON object.
    invalid_auth: Option<u64>,
    /// Auth requests in flight and the lifetime their answer granted.
    grants: auth::Grants,
    /// The request id and the channels named by `error.data.channel` of the last error answer,
    /// for [`Protocol::blamed_topics`], which the session calls right after classifying it.
    blamed: Option<(u64, Vec<String>)>,
}

impl Default for JsonRpcAdapter {
    fn default() -> Self {
        JsonRpcAdapter::new(JsonRpcConfig::default())
    }
}

impl JsonRpcAdapter {
    /// The first id of answers to server heartbeat requests (2^62). Ids from here up are never
    /// the session's (it counts from 1) and still fit a signed 64-bit integer, so servers that
    /// parse ids as `i64` echo them intact. An answer carrying one is [`Inbound::Heartbeat`].
    pub const HEARTBEAT_REPLY_ID_BASE: u64 = 1 << 62;

    /// An adapter with this configuration.
    pub fn new(config: JsonRpcConfig) -> Self {
        JsonRpcAdapter {
            auth_method: json_string(&config.auth_method),
            subscribe_method: json_string(&config.subscribe_method),
            unsubscribe_method: json_string(&config.unsubscribe_method),
            set_heartbeat_method: json_string(&config.set_heartbeat_method),
            test_method: json_string(&config.test_method),
            setup_methods: config
                .setup
                .iter()
                .map(|s| json_string(&s.method))
                .collect(),
            remembered: Remembered::new(config.remembered_requests),
            heartbeat_replies: 0,
            invalid_auth: None,
            grants: auth::Grants::default(),
            blamed: None,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &JsonRpcConfig {
        &self.config
    }

    /// How many in-flight (un)subscribe requests the adapter remembers the channels of (at most
    /// [`JsonRpcConfig::remembered_requests`]).
    pub fn remembered_requests(&self) -> usize {
        self.remembered.len()
    }

    fn heartbeat_reply(&mut self) -> Frame {
        let base = Self::HEARTBEAT_REPLY_ID_BASE;
        let id = base + self.heartbeat_replies % base;
        self.heartbeat_replies = self.heartbeat_replies.wrapping_add(1);
        request(id, &self.test_method, "{}")
    }

    fn classify_method(
        &mut self,
        method: &str,
        params: &Params<'_>,
        topics: &dyn TopicLookup,
    ) -> Inbound {
        if method == self.config.notification_method {
            return match &params.channel {
                Some(channel) => Inbound::Data {
                    topic: topics.find(channel),
                    seq: params.seq,
                },
                None => Inbound::Other,
            };
        }
        if method == self.config.heartbeat_method {
            return match params.kind.as_deref() {
                Some("test_request") => Inbound::HeartbeatRequest {
                    reply: self.heartbeat_reply(),
                },
                Some("heartbeat") => Inbound::Heartbeat,
                _ => Inbound::Other,
            };
        }
        Inbound::Other
    }

    fn classify_answer(&mut self, id: u64, envelope: &Envelope<'_>) -> Inbound {
        self.grants
            .answered(id, envelope.result.filter(|_| envelope.error.is_none()));
        if let Some(error) = envelope.error {
            self.remembered.take(id);
            let blamed = response::blamed_channels(error);
            self.blamed = (!blamed.is_empty()).then_some((id, blamed));
            let mut error = response::server_error(error);
            if self.invalid_auth == Some(id) {
                error.message = format!(
                    "credentials are not a JSON object (the server answered: {})",
                    error.message
                );
            }
            return Inbound::Nack {
                id: RequestId(id),
                error,
            };
        }
        let Some(result) = envelope.result else {
            return Inbound::Other;
        };
        let rejected = self
            .remembered
            .take(id)
            .map(|channels| response::rejections(channels, result))
            .unwrap_or_default();
        Inbound::Ack {
            id: RequestId(id),
            rejected,
        }
    }
}

impl Protocol for JsonRpcAdapter {
    fn auth_request(&mut self, id: RequestId, credentials: &Credentials) -> Option<Frame> {
        let params = match auth::params_object(credentials.expose()) {
            Ok(params) => {
                self.invalid_auth = None;
                params.get()
            }
            Err(_) => {
                self.invalid_auth = Some(id.0);
                "{}"
            }
        };
        if self.config.grant_lifetimes {
            self.grants.sent(id.0);
        }
        Some(request(id.0, &self.auth_method, params))
    }

    fn granted(&mut self, id: RequestId) -> Option<Grant> {
        self.grants.take(id.0)
    }

    fn refresh_request(&mut self, id: RequestId, refresh: &Credentials) -> Option<Frame> {
        if !self.config.grant_lifetimes {
            return None;
        }
        self.grants.sent(id.0);
        self.invalid_auth = None;
        Some(request(
            id.0,
            &self.auth_method,
            &auth::refresh_params(refresh),
        ))
    }

    fn setup_request(&mut self, index: usize, id: RequestId) -> Option<Frame> {
        if index == 0 {
            // A connection's setup begins: no request of an earlier connection will be answered.
            self.remembered.clear();
        }
        let mut index = index;
        if let Some(interval) = self.config.server_heartbeat {
            if index == 0 {
                let params = interval_params(interval);
                return Some(request(id.0, &self.set_heartbeat_method, &params));
            }
            index -= 1;
        }
        let call = self.config.setup.get(index)?;
        let method = self.setup_methods.get(index)?;
        Some(request(id.0, method, &call.params))
    }

    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        let positions = topics.iter().map(|r| (r.topic.as_str(), r.last_seq));
        let params = channels_params(positions, self.config.resume_field.as_deref());
        let channels = topics.iter().map(|r| r.topic.clone()).collect();
        self.remembered.insert(id.0, channels);
        request(id.0, &self.subscribe_method, &params)
    }

    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        let params = channels_params(topics.iter().map(|t| (t.as_str(), None)), None);
        self.remembered.insert(id.0, topics.to_vec());
        Some(request(id.0, &self.unsubscribe_method, &params))
    }

    fn max_batch(&self) -> usize {
        self.config.max_batch.max(1)
    }

    fn has_heartbeat(&self) -> bool {
        true
    }

    fn heartbeat_request(&mut self, id: RequestId) -> Option<Frame> {
        Some(request(id.0, &self.test_method, "{}"))
    }

    fn reauth_on_renewal(&self) -> bool {
        self.config.reauth_on_renewal
    }

    /// See [`JsonRpcAdapter`] for the table. Bounded work: one pass over the
    /// text (nesting limited to 128 by `serde_json`), plus, for a subscribe answer, one over its
    /// result.
    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        let Some(text) = frame.as_text() else {
            return Inbound::Other;
        };
        let Some(envelope) = Envelope::parse(text, self.config.seq_pointer.as_ref()) else {
            return Inbound::Other;
        };
        if let Some(method) = &envelope.method {
            return self.classify_method(method, &envelope.params, topics);
        }
        match envelope.id {
            Id::Absent | Id::Null => match envelope.error {
                Some(error) => Inbound::ServerError(response::server_error(error)),
                None => Inbound::Other,
            },
            Id::Number(id) if id >= Self::HEARTBEAT_REPLY_ID_BASE => {
                if envelope.result.is_some() || envelope.error.is_some() {
                    Inbound::Heartbeat
                } else {
                    Inbound::Other
                }
            }
            Id::Number(id) => self.classify_answer(id, &envelope),
            Id::Foreign => Inbound::Other,
        }
    }

    /// Fatal when the credentials were not a JSON object or the code is one of
    /// [`fatal_auth_codes`](JsonRpcConfig::fatal_auth_codes); fresh credentials for
    /// [`refresh_auth_codes`](JsonRpcConfig::refresh_auth_codes); otherwise retry, after the
    /// server's retry-after hint if it gave one.
    fn auth_rejection(&self, error: &ServerError) -> Disposition {
        let listed = |codes: &[i64]| error.code.is_some_and(|c| codes.contains(&c));
        if self.invalid_auth.is_some() || listed(&self.config.fatal_auth_codes) {
            Disposition::Fatal
        } else if listed(&self.config.refresh_auth_codes) {
            Disposition::RefreshCredentials
        } else {
            error
                .retry_after
                .map_or(Disposition::Retry, Disposition::RetryAfter)
        }
    }

    /// Transient for [`transient_subscribe_codes`](JsonRpcConfig::transient_subscribe_codes),
    /// permanent otherwise (including a channel the answer left out, which has no code).
    fn subscribe_rejection(&self, error: &ServerError) -> NackKind {
        match error.code {
            Some(code) if self.config.transient_subscribe_codes.contains(&code) => {
                NackKind::Transient
            }
            _ => NackKind::Permanent,
        }
    }

    /// The channels that `error.data.channel` of the error answer to `id` names (a string, or
    /// an array of strings) among `topics`; `None` when it names none of them.
    fn blamed_topics(
        &mut self,
        id: RequestId,
        _error: &ServerError,
        topics: &[Topic],
    ) -> Option<Vec<Topic>> {
        let (answered, channels) = self.blamed.take()?;
        let blamed: Vec<Topic> = topics
            .iter()
            .filter(|t| answered == id.0 && channels.iter().any(|c| c == t.as_str()))
            .cloned()
            .collect();
        (!blamed.is_empty()).then_some(blamed)
    }
}
