//! Test support shared by the integration tests: a line-based text protocol with acks
//! ([`LineAdapter`]), parsers and builders for its frames, and a base instant for virtual clocks.
//!
//! The protocol is deliberately tiny and readable, so that a failing test prints frames a person
//! can follow. Every frame is one line of space-separated words.
//!
//! What the session sends (client → server):
//!
//! | frame | meaning |
//! |---|---|
//! | `auth <id> <secret>` | the auth request |
//! | `setup <id> <index>` | the `index`-th setup request |
//! | `sub <id> <topic>[@<last_seq>] …` | subscribe (with the last sequence number seen) |
//! | `unsub <id> <topic> …` | unsubscribe |
//! | `hb <id>` | an application heartbeat, answered by `ack <id>` |
//! | `pong <token>` | the answer to a server `ping <token>` |
//!
//! What the server sends (server → client):
//!
//! | frame | classified as |
//! |---|---|
//! | `ack <id>` | [`Inbound::Ack`] |
//! | `ack <id> reject <topic>:<code> …` | [`Inbound::Ack`] with rejected topics |
//! | `nack <id> <code> [<retry_after_ms>]` | [`Inbound::Nack`] |
//! | `data <topic> [<seq>]` | [`Inbound::Data`] (topic only if registered) |
//! | `ping <token>` | [`Inbound::HeartbeatRequest`] answered by `pong <token>` |
//! | `beat` | [`Inbound::Heartbeat`] |
//! | `error <code> [<retry_after_ms>]` | [`Inbound::ServerError`] |
//! | anything else | [`Inbound::Other`] |
//!
//! Error codes decide the adapter's policy: an auth `nack` with [`AUTH_FATAL`] is fatal, with
//! [`AUTH_REFRESH`] asks for fresh credentials, and any other is retried (after its hint, when it
//! has one); a subscription refused with a code of [`SUB_TRANSIENT_MIN`] or more is transient,
//! below it permanent.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reconnect_core::{
    Credentials, Disposition, Frame, Inbound, NackKind, Protocol, RequestId, Resume, ServerError,
    Topic, TopicLookup, TopicRejection,
};

/// The auth `nack` code the adapter treats as fatal (bad API key).
pub const AUTH_FATAL: i64 = 401;
/// The auth `nack` code the adapter answers by asking for fresh credentials (expired token).
pub const AUTH_REFRESH: i64 = 419;
/// Subscription refusals with this code or higher are transient (retried); lower ones are
/// permanent (the topic leaves the registry).
pub const SUB_TRANSIENT_MIN: i64 = 500;

/// The one instant every virtual clock in a test process starts from. Tests may read the real
/// clock once for this; everything after it is `base() + offset`.
pub fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// The line-based protocol adapter. Its features are switches, so one adapter covers protocols
/// with and without auth, setup, acks, batching and application heartbeats.
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl Default for LineAdapter {
    /// Acks, auth, no setup, one topic per frame, no heartbeat, unsubscribe supported.
    fn default() -> Self {
        LineAdapter {
            acks: true,
            auth: true,
            setup_steps: 0,
            max_batch: 1,
            heartbeat: false,
            reauth_on_renewal: false,
            unsubscribe: true,
        }
    }
}

impl Protocol for LineAdapter {
    fn auth_request(&mut self, id: RequestId, credentials: &Credentials) -> Option<Frame> {
        self.auth
            .then(|| Frame::Text(format!("auth {} {}", id.0, credentials.expose())))
    }

    fn setup_request(&mut self, index: usize, id: RequestId) -> Option<Frame> {
        (index < self.setup_steps).then(|| Frame::Text(format!("setup {} {index}", id.0)))
    }

    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        let mut line = format!("sub {}", id.0);
        for r in topics {
            line.push(' ');
            line.push_str(r.topic.as_str());
            if let Some(seq) = r.last_seq {
                line.push_str(&format!("@{seq}"));
            }
        }
        Frame::Text(line)
    }

    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        if !self.unsubscribe {
            return None;
        }
        let mut line = format!("unsub {}", id.0);
        for t in topics {
            line.push(' ');
            line.push_str(t.as_str());
        }
        Some(Frame::Text(line))
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
        self.heartbeat.then(|| Frame::Text(format!("hb {}", id.0)))
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
                let Ok(id) = id.parse() else {
                    return Inbound::Other;
                };
                let mut rejected = Vec::new();
                if words.next() == Some("reject") {
                    for item in words {
                        let Some((topic, code)) = item.split_once(':') else {
                            return Inbound::Other;
                        };
                        rejected.push(TopicRejection {
                            topic: topic.to_owned(),
                            error: ServerError::new(code.parse().ok(), "rejected"),
                        });
                    }
                }
                Inbound::Ack {
                    id: RequestId(id),
                    rejected,
                }
            }
            (Some("nack"), Some(id)) => match (id.parse(), parse_error(words)) {
                (Ok(id), Some(error)) => Inbound::Nack {
                    id: RequestId(id),
                    error,
                },
                _ => Inbound::Other,
            },
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
                reply: Frame::Text(format!("pong {token}")),
            },
            (Some("beat"), None) => Inbound::Heartbeat,
            (Some("error"), Some(code)) => {
                let words = std::iter::once(code).chain(words);
                parse_error(words).map_or(Inbound::Other, Inbound::ServerError)
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
}

/// `<code> [<retry_after_ms>]`, the tail of `nack` and `error` frames.
fn parse_error<'a>(mut words: impl Iterator<Item = &'a str>) -> Option<ServerError> {
    let code = words.next()?.parse().ok()?;
    let retry_after = match words.next() {
        None => None,
        Some(ms) => Some(Duration::from_millis(ms.parse().ok()?)),
    };
    Some(ServerError {
        code: Some(code),
        message: "refused".to_owned(),
        retry_after,
    })
}

/// A request the session sent, decoded from its frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `auth <id> <secret>`.
    Auth {
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
    /// `sub <id> <topic>[@<seq>] …`.
    Subscribe {
        /// The request id.
        id: u64,
        /// The topics with their resume points.
        topics: Vec<(String, Option<u64>)>,
    },
    /// `unsub <id> <topic> …`.
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
    Some(match verb {
        "auth" => Request::Auth { id },
        "setup" => Request::Setup {
            id,
            index: words.next()?.parse().ok()?,
        },
        "sub" => Request::Subscribe {
            id,
            topics: words
                .map(|w| match w.split_once('@') {
                    Some((t, seq)) => (t.to_owned(), seq.parse().ok()),
                    None => (w.to_owned(), None),
                })
                .collect(),
        },
        "unsub" => Request::Unsubscribe {
            id,
            topics: words.map(str::to_owned).collect(),
        },
        "hb" => Request::Heartbeat { id },
        _ => return None,
    })
}

/// `ack <id>`.
pub fn ack(id: u64) -> Frame {
    Frame::Text(format!("ack {id}"))
}

/// `ack <id> reject <topic>:<code> …`: a positive answer that refuses some topics.
pub fn ack_rejecting(id: u64, rejected: &[(&str, i64)]) -> Frame {
    let mut line = format!("ack {id} reject");
    for (topic, code) in rejected {
        line.push_str(&format!(" {topic}:{code}"));
    }
    Frame::Text(line)
}

/// `nack <id> <code> [<retry_after_ms>]`.
pub fn nack(id: u64, code: i64, retry_after: Option<Duration>) -> Frame {
    Frame::Text(match retry_after {
        Some(d) => format!("nack {id} {code} {}", d.as_millis()),
        None => format!("nack {id} {code}"),
    })
}

/// `data <topic> [<seq>]`.
pub fn data(topic: &str, seq: Option<u64>) -> Frame {
    Frame::Text(match seq {
        Some(seq) => format!("data {topic} {seq}"),
        None => format!("data {topic}"),
    })
}

/// `error <code> [<retry_after_ms>]`.
pub fn server_error(code: i64, retry_after: Option<Duration>) -> Frame {
    Frame::Text(match retry_after {
        Some(d) => format!("error {code} {}", d.as_millis()),
        None => format!("error {code}"),
    })
}

/// `ping <token>`: a server heartbeat request.
pub fn server_ping(token: u64) -> Frame {
    Frame::Text(format!("ping {token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoTopics;
    impl TopicLookup for NoTopics {
        fn find(&self, _name: &str) -> Option<Topic> {
            None
        }
    }

    #[test]
    fn requests_round_trip_through_the_parser() {
        let mut a = LineAdapter {
            max_batch: 2,
            ..LineAdapter::default()
        };
        let f = a.subscribe_request(
            RequestId(3),
            &[
                Resume {
                    topic: "x".into(),
                    last_seq: Some(9),
                },
                Resume {
                    topic: "y".into(),
                    last_seq: None,
                },
            ],
        );
        assert_eq!(
            parse_request(&f),
            Some(Request::Subscribe {
                id: 3,
                topics: vec![("x".into(), Some(9)), ("y".into(), None)]
            })
        );
        let f = a
            .auth_request(RequestId(1), &Credentials::new("k"))
            .unwrap();
        assert_eq!(parse_request(&f), Some(Request::Auth { id: 1 }));
        assert_eq!(parse_request(&Frame::from("m7")), None);
    }

    #[test]
    fn server_frames_classify() {
        let mut a = LineAdapter::default();
        assert_eq!(
            a.classify(&nack(4, 503, Some(Duration::from_millis(250))), &NoTopics),
            Inbound::Nack {
                id: RequestId(4),
                error: ServerError {
                    code: Some(503),
                    message: "refused".into(),
                    retry_after: Some(Duration::from_millis(250)),
                },
            }
        );
        match a.classify(&ack_rejecting(2, &[("t", 404)]), &NoTopics) {
            Inbound::Ack { id, rejected } => {
                assert_eq!(id, RequestId(2));
                assert_eq!(rejected[0].topic, "t");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            a.classify(&Frame::from("garbage"), &NoTopics),
            Inbound::Other
        );
        assert_eq!(a.classify(&Frame::from("ack x"), &NoTopics), Inbound::Other);
    }
}
