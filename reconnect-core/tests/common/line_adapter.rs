//! The line protocol every core test speaks: its adapter ([`LineAdapter`]), a parser for what the
//! session sends ([`parse_request`]) and builders for what a server answers ([`ack`], [`nack`],
//! …).
//!
//! The protocol is deliberately tiny and readable, so that a failing test prints frames a person
//! can follow. Every frame is one line of space-separated words; topic lists are joined by `,`.
//!
//! What the session sends (client → server):
//!
//! | frame | meaning |
//! |---|---|
//! | `auth <id> <secret>` | the auth request |
//! | `refresh <id> <token>` | renewal with the server's refresh token (with [`LineAdapter::grants`]) |
//! | `setup <id> <index>` | the `index`-th setup request |
//! | `sub <id> <topic>[@<last_seq>],…` | subscribe (with the last sequence number seen) |
//! | `unsub <id> <topic>,…` | unsubscribe |
//! | `hb <id>` | an application heartbeat, answered by `ack <id>` |
//! | `pong <token>` | the answer to a server `ping <token>` |
//!
//! What the server sends (server → client):
//!
//! | frame | classified as |
//! |---|---|
//! | `ack <id> [-<topic>:<code>]… [ttl=<ms>] [rt=<token>]` | [`Inbound::Ack`], refusing the `-` topics; `ttl`/`rt` grant a lifetime and a refresh token (with [`LineAdapter::grants`]) |
//! | `nack <id> <code> [<retry_after_ms>] [blame=<topic>,…]` | [`Inbound::Nack`]; `blame` names the topics a refused batch is about |
//! | `data <topic> [<seq> [<payload>]]` | [`Inbound::Data`] (topic only if registered) |
//! | `ping <token>` | [`Inbound::HeartbeatRequest`] answered by `pong <token>` |
//! | `beat` | [`Inbound::Heartbeat`] |
//! | `error <code> [<retry_after_ms>]` | [`Inbound::ServerError`] |
//! | anything else | [`Inbound::Other`] |
//!
//! Error codes decide the adapter's policy, as HTTP status codes would: an auth `nack` with
//! [`AUTH_FATAL`] is fatal, with [`AUTH_REFRESH`] asks for fresh credentials, and any other is
//! retried (after its hint, when it has one); a subscription refused with a code of
//! [`SUB_TRANSIENT_MIN`] or more is transient, below it permanent. A server error's message is
//! `code <code>`.
//!
//! Classifying a data frame allocates nothing (`tests/alloc.rs` measures that path).

use std::time::Duration;

use reconnect_core::{
    Credentials, Disposition, EndCause, Frame, Grant, Inbound, NackKind, Protocol, RequestId,
    Resume, ServerError, Topic, TopicLookup, TopicRejection,
};

/// The auth `nack` code the adapter treats as fatal (bad API key).
pub const AUTH_FATAL: i64 = 401;
/// The auth `nack` code the adapter answers by asking for fresh credentials (expired token).
pub const AUTH_REFRESH: i64 = 419;
/// Subscription refusals with this code or higher are transient (retried); lower ones are
/// permanent (the topic leaves the registry).
pub const SUB_TRANSIENT_MIN: i64 = 500;

/// The line protocol's adapter. Its features are switches, so one adapter covers protocols with
/// and without auth, setup, acks, batching, application heartbeats, unsubscribe, lifetimes and
/// adapter-specific close codes.
#[derive(Clone, Debug)]
pub struct LineAdapter {
    /// Whether the server answers requests (`ack`/`nack`). Without acks, every request counts as
    /// acknowledged once sent.
    pub acks: bool,
    /// Whether an auth request is sent (when the session has credentials).
    pub auth: bool,
    /// How many setup requests follow auth.
    pub setup_steps: usize,
    /// The most topics one `sub`/`unsub` frame carries.
    pub max_batch: usize,
    /// Whether the adapter has an application heartbeat (`hb <id>`).
    pub heartbeat: bool,
    /// Whether renewed credentials are re-sent on the live connection.
    pub reauth_on_renewal: bool,
    /// Whether the protocol can unsubscribe.
    pub unsubscribe: bool,
    /// Whether auth answers grant lifetimes (`ttl=<ms>`) and refresh tokens (`rt=<token>`), and
    /// renewals with a refresh token are sent as `refresh <id> <token>`.
    pub grants: bool,
    /// Server close codes the adapter classifies itself ([`Protocol::classify_end`]), before the
    /// configured classifier.
    pub close_codes: Vec<(u16, Disposition)>,
    /// Whether [`Protocol::blamed_topics`] hands back every name the last `nack` blamed, as the
    /// server wrote it, even names outside the refused request (a topic never subscribed, or one
    /// already live): an adapter that leaves the filtering to the session. Off by default: the
    /// adapter then names only topics of the request.
    pub blame_verbatim: bool,
    /// The topics the last `nack` blamed, with its request id, until the session asks. (Public
    /// only so that tests can build an adapter with `..LineAdapter::default()`.)
    pub blamed: Option<(RequestId, Vec<String>)>,
    /// What the last auth answer granted, until the session asks. (Public for the same reason.)
    pub granted: Option<(RequestId, Grant)>,
    /// How often the session asked what an auth answer granted.
    pub grants_asked: usize,
}

impl Default for LineAdapter {
    /// Acks, auth, no setup, one topic per frame, no heartbeat, unsubscribe supported, no
    /// lifetimes, no close codes of its own.
    fn default() -> Self {
        LineAdapter {
            acks: true,
            auth: true,
            setup_steps: 0,
            max_batch: 1,
            heartbeat: false,
            reauth_on_renewal: false,
            unsubscribe: true,
            grants: false,
            close_codes: Vec::new(),
            blame_verbatim: false,
            blamed: None,
            granted: None,
            grants_asked: 0,
        }
    }
}

impl LineAdapter {
    /// The default adapter (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }
}

/// A server error with `code`, the message `code <code>` and an optional hint.
pub fn refusal(code: i64, retry_after: Option<Duration>) -> ServerError {
    let mut e = ServerError::new(Some(code), format!("code {code}"));
    e.retry_after = retry_after;
    e
}

impl Protocol for LineAdapter {
    fn auth_request(&mut self, id: RequestId, credentials: &Credentials) -> Option<Frame> {
        self.auth
            .then(|| Frame::text(format!("auth {} {}", id.0, credentials.expose())))
    }

    fn refresh_request(&mut self, id: RequestId, refresh: &Credentials) -> Option<Frame> {
        self.grants
            .then(|| Frame::text(format!("refresh {} {}", id.0, refresh.expose())))
    }

    fn granted(&mut self, id: RequestId) -> Option<Grant> {
        self.grants_asked += 1;
        match self.granted.take() {
            Some((answered, grant)) if answered == id => Some(grant),
            _ => None,
        }
    }

    fn setup_request(&mut self, index: usize, id: RequestId) -> Option<Frame> {
        (index < self.setup_steps).then(|| Frame::text(format!("setup {} {index}", id.0)))
    }

    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        let mut line = format!("sub {}", id.0);
        for (i, r) in topics.iter().enumerate() {
            line.push(if i == 0 { ' ' } else { ',' });
            line.push_str(r.topic.as_str());
            if let Some(seq) = r.last_seq {
                line.push_str(&format!("@{seq}"));
            }
        }
        Frame::text(line)
    }

    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        if !self.unsubscribe {
            return None;
        }
        let mut line = format!("unsub {}", id.0);
        for (i, t) in topics.iter().enumerate() {
            line.push(if i == 0 { ' ' } else { ',' });
            line.push_str(t.as_str());
        }
        Some(Frame::text(line))
    }

    fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn acknowledges(&self) -> bool {
        self.acks
    }

    fn has_heartbeat(&self) -> bool {
        self.heartbeat
    }

    fn heartbeat_request(&mut self, id: RequestId) -> Option<Frame> {
        self.heartbeat.then(|| Frame::text(format!("hb {}", id.0)))
    }

    fn reauth_on_renewal(&self) -> bool {
        self.reauth_on_renewal
    }

    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        let Some(text) = frame.as_text() else {
            return Inbound::Other;
        };
        let mut words = text.split(' ');
        match (words.next(), words.next()) {
            (Some("ack"), Some(id)) => {
                let Ok(id) = id.parse().map(RequestId) else {
                    return Inbound::Other;
                };
                let mut rejected = Vec::new();
                let (mut ttl, mut refresh) = (None, None);
                for word in words {
                    if let Some(item) = word.strip_prefix('-') {
                        let Some((topic, Ok(code))) =
                            item.split_once(':').map(|(t, c)| (t, c.parse()))
                        else {
                            return Inbound::Other;
                        };
                        rejected.push(TopicRejection {
                            topic: topic.to_owned(),
                            error: refusal(code, None),
                        });
                    } else if let Some(ms) = word.strip_prefix("ttl=") {
                        let Ok(ms) = ms.parse() else {
                            return Inbound::Other;
                        };
                        ttl = Some(Duration::from_millis(ms));
                    } else if let Some(token) = word.strip_prefix("rt=") {
                        refresh = Some(token);
                    }
                }
                if let (true, Some(ttl)) = (self.grants, ttl) {
                    let mut grant = Grant::new(ttl);
                    if let Some(token) = refresh {
                        grant = grant.with_refresh(Credentials::new(token));
                    }
                    self.granted = Some((id, grant));
                }
                Inbound::Ack { id, rejected }
            }
            (Some("nack"), Some(id)) => {
                let Ok(id) = id.parse().map(RequestId) else {
                    return Inbound::Other;
                };
                let Some(Ok(code)) = words.next().map(str::parse) else {
                    return Inbound::Other;
                };
                let (mut retry_after, mut blamed) = (None, None);
                for word in words {
                    if let Some(names) = word.strip_prefix("blame=") {
                        blamed = Some(names.split(',').map(str::to_owned).collect());
                    } else {
                        let Ok(ms) = word.parse() else {
                            return Inbound::Other;
                        };
                        retry_after = Some(Duration::from_millis(ms));
                    }
                }
                self.blamed = blamed.map(|names| (id, names));
                Inbound::Nack {
                    id,
                    error: refusal(code, retry_after),
                }
            }
            (Some("data"), Some(topic)) => {
                let seq = match words.next() {
                    None => None,
                    Some(s) => match s.parse() {
                        Ok(seq) => Some(seq),
                        Err(_) => return Inbound::Other,
                    },
                };
                Inbound::Data {
                    topic: topics.find(topic),
                    seq,
                }
            }
            (Some("ping"), Some(token)) => Inbound::HeartbeatRequest {
                reply: Frame::text(format!("pong {token}")),
            },
            (Some("beat"), None) => Inbound::Heartbeat,
            (Some("error"), Some(code)) => {
                let Ok(code) = code.parse() else {
                    return Inbound::Other;
                };
                let retry_after = match words.next().map(str::parse) {
                    None => None,
                    Some(Ok(ms)) => Some(Duration::from_millis(ms)),
                    Some(Err(_)) => return Inbound::Other,
                };
                Inbound::ServerError(refusal(code, retry_after))
            }
            _ => Inbound::Other,
        }
    }

    fn auth_rejection(&self, error: &ServerError) -> Disposition {
        match error.code {
            Some(AUTH_FATAL) => Disposition::Fatal,
            Some(AUTH_REFRESH) => Disposition::RefreshCredentials,
            _ => error
                .retry_after
                .map_or(Disposition::Retry, Disposition::RetryAfter),
        }
    }

    fn subscribe_rejection(&self, error: &ServerError) -> NackKind {
        if error.code.is_some_and(|c| c >= SUB_TRANSIENT_MIN) {
            NackKind::Transient
        } else {
            NackKind::Permanent
        }
    }

    fn classify_end(&self, cause: &EndCause) -> Option<Disposition> {
        let EndCause::ServerClosed {
            code: Some(code), ..
        } = cause
        else {
            return None;
        };
        self.close_codes
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, d)| *d)
    }

    fn blamed_topics(
        &mut self,
        id: RequestId,
        _error: &ServerError,
        topics: &[Topic],
    ) -> Option<Vec<Topic>> {
        let (_, names) = self.blamed.take().filter(|(nacked, _)| *nacked == id)?;
        if self.blame_verbatim {
            return Some(names.iter().map(Topic::new).collect());
        }
        Some(
            topics
                .iter()
                .filter(|t| names.iter().any(|n| n == t.as_str()))
                .cloned()
                .collect(),
        )
    }
}

/// A request the session sent, decoded from its frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `auth <id> <secret>`.
    Auth {
        /// The request id.
        id: u64,
    },
    /// `refresh <id> <token>`.
    Refresh {
        /// The request id.
        id: u64,
    },
    /// `setup <id> <index>`.
    Setup {
        /// The request id.
        id: u64,
        /// Which setup step.
        index: usize,
    },
    /// `sub <id> <topic>[@<seq>],…`.
    Subscribe {
        /// The request id.
        id: u64,
        /// The topics with their resume points.
        topics: Vec<(String, Option<u64>)>,
    },
    /// `unsub <id> <topic>,…`.
    Unsubscribe {
        /// The request id.
        id: u64,
        /// The topics.
        topics: Vec<String>,
    },
    /// `hb <id>`.
    Heartbeat {
        /// The request id.
        id: u64,
    },
    /// `pong <token>`.
    HeartbeatReply {
        /// The token of the server's `ping`.
        token: String,
    },
}

impl Request {
    /// The request id, for requests the server answers.
    pub fn id(&self) -> Option<u64> {
        match self {
            Request::Auth { id }
            | Request::Refresh { id }
            | Request::Setup { id, .. }
            | Request::Subscribe { id, .. }
            | Request::Unsubscribe { id, .. }
            | Request::Heartbeat { id } => Some(*id),
            Request::HeartbeatReply { .. } => None,
        }
    }
}

/// Decodes a frame the session sent with this adapter; `None` for anything else (application
/// messages).
pub fn parse_request(frame: &Frame) -> Option<Request> {
    let text = frame.as_text()?;
    let mut words = text.split(' ');
    let verb = words.next()?;
    let arg = words.next()?;
    if verb == "pong" {
        return Some(Request::HeartbeatReply {
            token: arg.to_owned(),
        });
    }
    let id = arg.parse().ok()?;
    let list = |words: &mut std::str::Split<'_, char>| -> Vec<String> {
        words
            .next()
            .map(|l| l.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    Some(match verb {
        "auth" => Request::Auth { id },
        "refresh" => Request::Refresh { id },
        "setup" => Request::Setup {
            id,
            index: words.next()?.parse().ok()?,
        },
        "sub" => Request::Subscribe {
            id,
            topics: list(&mut words)
                .into_iter()
                .map(|w| match w.split_once('@') {
                    Some((t, seq)) => (t.to_owned(), seq.parse().ok()),
                    None => (w, None),
                })
                .collect(),
        },
        "unsub" => Request::Unsubscribe {
            id,
            topics: list(&mut words),
        },
        "hb" => Request::Heartbeat { id },
        _ => return None,
    })
}

/// `ack <id>`.
pub fn ack(id: u64) -> Frame {
    Frame::text(format!("ack {id}"))
}

/// `ack <id> -<topic>:<code> …`: a positive answer that refuses some topics.
pub fn ack_rejecting(id: u64, rejected: &[(&str, i64)]) -> Frame {
    let mut line = format!("ack {id}");
    for (topic, code) in rejected {
        line.push_str(&format!(" -{topic}:{code}"));
    }
    Frame::text(line)
}

/// `nack <id> <code> [<retry_after_ms>]`.
pub fn nack(id: u64, code: i64, retry_after: Option<Duration>) -> Frame {
    Frame::text(match retry_after {
        Some(d) => format!("nack {id} {code} {}", d.as_millis()),
        None => format!("nack {id} {code}"),
    })
}

/// `data <topic> [<seq>]`.
pub fn data(topic: &str, seq: Option<u64>) -> Frame {
    Frame::text(match seq {
        Some(seq) => format!("data {topic} {seq}"),
        None => format!("data {topic}"),
    })
}

/// `error <code> [<retry_after_ms>]`.
pub fn server_error(code: i64, retry_after: Option<Duration>) -> Frame {
    Frame::text(match retry_after {
        Some(d) => format!("error {code} {}", d.as_millis()),
        None => format!("error {code}"),
    })
}

/// `ping <token>`: a server heartbeat request.
pub fn server_ping(token: u64) -> Frame {
    Frame::text(format!("ping {token}"))
}
