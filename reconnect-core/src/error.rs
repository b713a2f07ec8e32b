//! What ends an attempt or a connection, as drivers and adapters report it.

use std::fmt;
use std::time::Duration;

use crate::boundary::Purpose;

/// The class of a transport failure a driver reports in
/// [`Input::ConnectFailed`](crate::Input::ConnectFailed) or [`Input::Failed`](crate::Input::Failed).
///
/// The driver must pick the most specific kind it can tell: the default classification (see
/// [`Classifier`](crate::Classifier)) treats certificate errors and bad URLs as fatal and
/// everything else as worth another attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Name resolution failed.
    Dns,
    /// The peer refused the TCP connection.
    Refused,
    /// The connection was reset.
    Reset,
    /// The operating system timed the socket out (not one of the session's own timeouts).
    TimedOut,
    /// The TLS server certificate did not verify. Fatal by default: retrying cannot fix it and
    /// looping on it hides a real attack or misconfiguration.
    TlsCertificate,
    /// Any other TLS failure (alert, protocol version, …).
    Tls,
    /// The server answered the WebSocket upgrade with a non-101 HTTP status.
    Handshake {
        /// The HTTP status code.
        status: u16,
        /// The `Retry-After` header in delta-seconds, parsed by the driver. An HTTP date is not
        /// reported (the bindings read no wall clock to interpret one).
        retry_after: Option<Duration>,
    },
    /// The peer broke the WebSocket protocol (bad framing, invalid UTF-8 in a text message,
    /// unmasked or reserved bits).
    Protocol,
    /// A message exceeded the driver's configured size limit.
    MessageTooLarge,
    /// Writes stayed blocked (the peer does not read): the driver gave up on the connection.
    Backpressure,
    /// The TCP stream ended without a close frame.
    Eof,
    /// The URL cannot be used (bad scheme, no host). Fatal by default.
    InvalidUrl,
    /// Any other I/O error.
    Io,
}

/// A transport failure: its class, for the policy, and a human-readable detail, for logs.
///
/// The driver must not put secrets in `detail` (no URLs with tokens in their query, no headers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// The class the reconnection policy acts on.
    pub kind: TransportErrorKind,
    /// What happened, for people.
    pub detail: String,
}

impl TransportError {
    /// Makes an error of the given kind.
    pub fn new(kind: TransportErrorKind, detail: impl Into<String>) -> Self {
        TransportError {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for TransportError {}

/// An error the server reported through the protocol (a JSON-RPC error object, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    /// The protocol's error code, if it has one.
    pub code: Option<i64>,
    /// The server's message.
    pub message: String,
    /// A server hint to wait this long before the next attempt.
    pub retry_after: Option<Duration>,
}

impl ServerError {
    /// An error with a code and a message and no retry hint.
    pub fn new(code: Option<i64>, message: impl Into<String>) -> Self {
        ServerError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Which of the session's own deadlines expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeoutKind {
    /// TCP + TLS + WebSocket upgrade took longer than `timeouts.connect`.
    Connect,
    /// The application did not supply requested credentials within `timeouts.credentials`.
    Credentials,
    /// The auth request was not acknowledged within `timeouts.auth`.
    Auth,
    /// A setup request was not acknowledged within `timeouts.setup`.
    Setup,
    /// A subscribe or unsubscribe request was not acknowledged within `timeouts.subscribe`.
    Subscribe,
    /// An application heartbeat was not answered within `liveness.pong_timeout`.
    Heartbeat,
    /// No inbound frame within `liveness.pong_timeout` after a ping.
    Pong,
    /// No data for `liveness.idle_timeout` while subscriptions were active.
    Idle,
    /// The close handshake took longer than `timeouts.close`.
    Close,
}

/// Why an attempt or a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndCause {
    /// The driver reported a transport failure.
    Transport(TransportError),
    /// The server closed the connection (code and reason of its close frame; no code when its
    /// close frame had none).
    ServerClosed {
        /// The close code.
        code: Option<u16>,
        /// The close reason.
        reason: String,
    },
    /// One of the session's deadlines expired.
    Timeout(TimeoutKind),
    /// The server rejected the auth request.
    AuthRejected(ServerError),
    /// The server rejected a setup request.
    SetupRejected(ServerError),
    /// The application could not supply credentials (see
    /// [`Session::credentials_failed`](crate::Session::credentials_failed)).
    CredentialsUnavailable(String),
    /// The application asked for a fresh connection ([`Session::reconnect_now`](crate::Session::reconnect_now)).
    ReconnectRequested,
    /// The connection reached `max_lifetime` and is being replaced.
    Recycled,
    /// The application closed the session.
    Closed,
    /// The session gave up (`limits.max_attempts` or `limits.max_outage`).
    GaveUp,
    /// A topic went stale (see [`Event::TopicStale`](crate::Event::TopicStale)) `times`
    /// times in a row and re-subscribing it alone did not bring its data back
    /// ([`Liveness::topic_stale_escalation`](crate::Liveness::topic_stale_escalation)), so the
    /// connection is replaced. Retried by default.
    TopicStale {
        /// The topic.
        topic: crate::Topic,
        /// Consecutive stale windows.
        times: u32,
    },
    /// A frame the session built itself (an auth or setup request, a heartbeat or its reply)
    /// was larger than [`Config::max_frame_len`](crate::Config::max_frame_len), so it was not
    /// written: written, the transport would have failed on it with a cause that names nothing.
    /// Fatal by default, except for a heartbeat reply (see [`Classifier`](crate::Classifier)).
    /// A renewal's request over the limit is reported by
    /// [`Event::RenewalFailed`](crate::Event::RenewalFailed) instead, and the connection stays.
    FrameTooLarge {
        /// What the frame was for.
        purpose: Purpose,
        /// Its payload, in bytes.
        len: usize,
        /// The limit, in bytes.
        max: usize,
    },
    /// More control frames waited for a token of the connection's
    /// [`SendRate`](crate::SendRate) than [`SendRate::MAX_WAITING`](crate::SendRate::MAX_WAITING):
    /// the server asked for replies faster than the rate lets the session write them. Ended
    /// rather than queued without bound or dropped; retried by default.
    SendBacklog {
        /// How many frames waited.
        waiting: usize,
    },
}

impl fmt::Display for EndCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndCause::Transport(e) => write!(f, "transport: {e}"),
            EndCause::ServerClosed { code, reason } => match code {
                Some(c) => write!(f, "server closed with {c} {reason:?}"),
                None => write!(f, "server closed without a code"),
            },
            EndCause::Timeout(k) => write!(f, "{k:?} timeout"),
            EndCause::AuthRejected(e) => write!(f, "auth rejected: {e}"),
            EndCause::SetupRejected(e) => write!(f, "setup rejected: {e}"),
            EndCause::CredentialsUnavailable(why) => write!(f, "credentials unavailable: {why}"),
            EndCause::ReconnectRequested => f.write_str("reconnect requested"),
            EndCause::Recycled => f.write_str("recycled at max lifetime"),
            EndCause::Closed => f.write_str("closed by the application"),
            EndCause::GaveUp => f.write_str("gave up"),
            EndCause::TopicStale { topic, times } => {
                write!(f, "topic {topic} stale {times} times in a row")
            }
            EndCause::FrameTooLarge { purpose, len, max } => {
                let what = match purpose {
                    Purpose::Auth => "auth request",
                    Purpose::Setup => "setup request",
                    Purpose::Subscribe => "subscribe request",
                    Purpose::Unsubscribe => "unsubscribe request",
                    Purpose::Heartbeat => "heartbeat request",
                    Purpose::HeartbeatReply => "heartbeat reply",
                    Purpose::Application => "application message",
                };
                write!(
                    f,
                    "{what} of {len} bytes exceeds the frame limit of {max} bytes"
                )
            }
            EndCause::SendBacklog { waiting } => write!(
                f,
                "{waiting} frames waited for the send rate, more than it can ever write in time"
            ),
        }
    }
}

/// What the session does after an attempt or a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// Back off and try again.
    Retry,
    /// Try again after this long (bounded by the configured ceiling) instead of the drawn delay.
    RetryAfter(Duration),
    /// Do not try again: the session stops, on a failure that retrying cannot heal.
    Fatal,
    /// Ask the application for fresh credentials, then try again.
    RefreshCredentials,
    /// The application asked the session to stop ([`Session::close`](crate::Session::close)):
    /// the connection ended as requested, which is not a failure, and nothing follows. Only the
    /// session reports it, on the [`Event::Disconnected`](crate::Event::Disconnected) of a
    /// connection the application closed; a classifier rule or an adapter that returns it for
    /// any other ending is treated as [`Fatal`](Self::Fatal).
    Closed,
}
