//! What crosses the boundary between the session and its driver: inputs, actions and events.

use std::fmt;
use std::time::Duration;

use crate::backoff::Delay;
use crate::command::Refused;
use crate::conn_id::ConnId;
use crate::error::{Disposition, EndCause, ServerError, TransportError};
use crate::frame::Frame;
use crate::topic::Topic;

mod state;
pub use state::State;

/// What the transport reports, for [`Session::handle_input`](crate::Session::handle_input).
///
/// Every variant names the [`ConnId`] of the transport it came from; the driver must never
/// report one transport's events under another's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The transport is open: TCP, TLS and the WebSocket upgrade all succeeded.
    Opened {
        /// The transport.
        conn: ConnId,
    },
    /// The attempt failed before the transport opened (DNS, connect, TLS, an HTTP status).
    ConnectFailed {
        /// The transport.
        conn: ConnId,
        /// Why.
        error: TransportError,
    },
    /// A data message arrived.
    Frame {
        /// The transport.
        conn: ConnId,
        /// The message.
        frame: Frame,
    },
    /// A WebSocket ping arrived (the driver answers it; this only proves the peer is alive).
    Ping {
        /// The transport.
        conn: ConnId,
    },
    /// A WebSocket pong arrived.
    Pong {
        /// The transport.
        conn: ConnId,
    },
    /// The peer's close frame arrived, or the close handshake the session started completed.
    Closed {
        /// The transport.
        conn: ConnId,
        /// The close code, if the frame had one.
        code: Option<u16>,
        /// The close reason.
        reason: String,
    },
    /// The open transport failed (reset, EOF without a close frame, protocol error, persistent
    /// backpressure).
    Failed {
        /// The transport.
        conn: ConnId,
        /// Why.
        error: TransportError,
    },
}

impl Input {
    /// The transport the input came from.
    pub fn conn(&self) -> ConnId {
        match self {
            Input::Opened { conn }
            | Input::ConnectFailed { conn, .. }
            | Input::Frame { conn, .. }
            | Input::Ping { conn }
            | Input::Pong { conn }
            | Input::Closed { conn, .. }
            | Input::Failed { conn, .. } => *conn,
        }
    }
}

/// Why a frame is being sent: lets drivers and logs tell the session's own frames from the
/// application's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// The auth request. Carries credentials: never log the frame.
    Auth,
    /// A setup request.
    Setup,
    /// A (re)subscribe request.
    Subscribe,
    /// An unsubscribe request.
    Unsubscribe,
    /// An application-level heartbeat.
    Heartbeat,
    /// The answer to a server heartbeat request.
    HeartbeatReply,
    /// An application send.
    Application,
}

/// IO the driver must perform. Actions come out of
/// [`Session::drain`](crate::Session::drain) in the order they must happen.
///
/// For every `ConnId`, the session emits exactly one [`Action::Connect`] and, later, exactly one
/// [`Action::Release`]; between them, any number of `Send`, `Ping` and at most one `Close`.
#[must_use = "the driver must perform every action"]
#[derive(Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a new transport (resolve, connect, TLS, upgrade) and report the outcome as
    /// [`Input::Opened`] or [`Input::ConnectFailed`] under `conn`. The driver must not block on
    /// it; the session enforces the connect timeout itself.
    Connect {
        /// The id every input of this transport must carry.
        conn: ConnId,
        /// 1 for the first attempt after start or after a stable connection, then counting.
        attempt: u32,
    },
    /// Queue `frame` on the transport. A write that would block must stay queued (never dropped,
    /// never sent twice): the session already counts it as sent.
    Send {
        /// The transport.
        conn: ConnId,
        /// The message.
        frame: Frame,
        /// Why it is sent.
        purpose: Purpose,
    },
    /// Send a WebSocket ping.
    Ping {
        /// The transport.
        conn: ConnId,
    },
    /// Start the close handshake with this code and reason; report its completion (the peer's
    /// close frame) as [`Input::Closed`].
    Close {
        /// The transport.
        conn: ConnId,
        /// The close code.
        code: u16,
        /// The close reason.
        reason: &'static str,
    },
    /// The session is done with `conn`: deregister and drop its socket now, without waiting.
    /// Nothing more will be sent on it, and its later inputs are stale.
    Release {
        /// The transport.
        conn: ConnId,
    },
}

impl Action {
    /// The transport the action is for: every action is IO on one transport.
    pub fn conn(&self) -> ConnId {
        match self {
            Action::Connect { conn, .. }
            | Action::Send { conn, .. }
            | Action::Ping { conn }
            | Action::Close { conn, .. }
            | Action::Release { conn } => *conn,
        }
    }
}

/// Auth frames carry credentials, so they print as their length only.
impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Connect { conn, attempt } => f
                .debug_struct("Connect")
                .field("conn", conn)
                .field("attempt", attempt)
                .finish(),
            Action::Send {
                conn,
                frame,
                purpose: Purpose::Auth,
            } => write!(
                f,
                "Send {{ conn: {conn:?}, frame: <redacted {} bytes>, purpose: Auth }}",
                frame.len()
            ),
            Action::Send {
                conn,
                frame,
                purpose,
            } => f
                .debug_struct("Send")
                .field("conn", conn)
                .field("frame", frame)
                .field("purpose", purpose)
                .finish(),
            Action::Ping { conn } => f.debug_struct("Ping").field("conn", conn).finish(),
            Action::Close { conn, code, reason } => f
                .debug_struct("Close")
                .field("conn", conn)
                .field("code", code)
                .field("reason", reason)
                .finish(),
            Action::Release { conn } => f.debug_struct("Release").field("conn", conn).finish(),
        }
    }
}

/// Where a reconnect delay came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelaySource {
    /// The exponential backoff for the current count of consecutive failures.
    Backoff,
    /// The first retry after a stable connection was lost.
    FirstRetry,
    /// A server's retry-after hint, bounded by the ceiling.
    RetryAfter {
        /// What the server asked for.
        hint: Duration,
    },
    /// The circuit breaker is open.
    CircuitOpen,
    /// The application asked for it ([`Session::reconnect_now`](crate::Session::reconnect_now),
    /// a recycle at max lifetime): no delay.
    Immediate,
}

/// Why the session stopped for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The application closed it. `clean` is false when the close handshake timed out or the
    /// transport failed during it.
    Closed {
        /// Whether the peer confirmed the close.
        clean: bool,
    },
    /// An attempt or connection ended in a way classified as fatal.
    Fatal(EndCause),
    /// `limits.max_attempts` consecutive attempts failed.
    GaveUp {
        /// The failures counted.
        attempts: u32,
    },
    /// No connection was live for `limits.max_outage`.
    OutageTooLong {
        /// How long the outage lasted.
        outage: Duration,
    },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Closed { clean: true } => f.write_str("closed by the application"),
            StopReason::Closed { clean: false } => {
                f.write_str("closed by the application (the close handshake did not complete)")
            }
            StopReason::Fatal(cause) => write!(f, "fatal: {cause}"),
            StopReason::GaveUp { attempts } => {
                write!(f, "gave up after {attempts} failed attempts")
            }
            StopReason::OutageTooLong { outage } => {
                write!(f, "no live connection for {:.3}s", outage.as_secs_f64())
            }
        }
    }
}

/// Why a queued application message left the outbox without being sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The outbox was full and its policy dropped this message.
    Overflow,
    /// The message's expiry passed before the session was live.
    Expired,
    /// A newer message with the same coalescing key replaced it.
    Coalesced,
    /// The session stopped with the message still queued.
    Stopped,
}

/// What renewed the credentials of a live connection ([`Event::CredentialsRenewed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RenewalSource {
    /// The application replaced them while live
    /// ([`Session::set_credentials`](crate::Session::set_credentials) or
    /// [`Session::provide_credentials`](crate::Session::provide_credentials)).
    Application,
    /// The renewal before expiry, with the current credentials.
    Lifetime,
    /// The renewal before expiry, with the refresh token the server granted.
    RefreshToken,
}

impl RenewalSource {
    /// A stable word for logs and JSON: `application`, `lifetime` or `refresh_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            RenewalSource::Application => "application",
            RenewalSource::Lifetime => "lifetime",
            RenewalSource::RefreshToken => "refresh_token",
        }
    }
}

/// The circuit breaker's state changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CircuitState {
    /// Attempts are suspended for the cooldown.
    Open,
    /// One probe attempt is allowed through.
    HalfOpen,
    /// Normal operation resumed.
    Closed,
}

/// Something the application may want to know. Events come out of
/// [`Session::drain`](crate::Session::drain) interleaved with actions, in causal
/// order. Every event carries why it happened.
///
/// Every event is moved several times on its way to the application (out of the session's
/// queue, through a binding's hand-over), so the type is kept small: at most 80 bytes on 64-bit
/// targets, the size of [`Event::Message`] (a [`Frame`]'s shared buffer and kind, the
/// connection, the topic and the sequence number). Rare variants with large payloads box them
/// (`AttemptFailed` and `Disconnected`'s cause, `SubscribeRejected`'s error).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A transport attempt begins (the [`Action::Connect`] follows).
    Connecting {
        /// The transport.
        conn: ConnId,
        /// Which attempt of the current outage (1-based).
        attempt: u32,
    },
    /// The transport opened. Once per `ConnId`.
    Connected {
        /// The transport.
        conn: ConnId,
    },
    /// An attempt failed before reaching live.
    AttemptFailed {
        /// The transport; `None` when the attempt failed before connecting (the application
        /// could not supply credentials).
        conn: Option<ConnId>,
        /// Which attempt.
        attempt: u32,
        /// Why (boxed: a rare event should not make every event larger).
        cause: Box<EndCause>,
        /// What the session does about it.
        disposition: Disposition,
    },
    /// The server acknowledged the auth request.
    Authenticated {
        /// The transport.
        conn: ConnId,
    },
    /// Every setup request was acknowledged.
    SetupComplete {
        /// The transport.
        conn: ConnId,
    },
    /// The server confirmed a subscription.
    Subscribed {
        /// The transport.
        conn: ConnId,
        /// The topic.
        topic: Topic,
    },
    /// The server refused a subscription.
    SubscribeRejected {
        /// The topic.
        topic: Topic,
        /// The server's reason (boxed: a rare event should not make every event larger). For a
        /// topic whose subscribe request alone exceeds `max_frame_len` (never written), the
        /// session's own: no code, and the sizes in the message.
        error: Box<ServerError>,
        /// When it will be retried; `None` when it was permanent and the topic left the registry.
        retry_in: Option<Duration>,
    },
    /// The server confirmed an unsubscribe.
    Unsubscribed {
        /// The transport.
        conn: ConnId,
        /// The topic.
        topic: Topic,
    },
    /// Auth, setup and the resubscription of every wanted topic are done; queued sends follow.
    Live {
        /// The transport.
        conn: ConnId,
        /// Topics the server confirmed during the resubscription (refused ones are not counted; their
        /// [`Event::SubscribeRejected`] came before).
        resubscribed: usize,
        /// Time from the start of the outage (or from `start`) to now.
        outage: Duration,
    },
    /// The connection has been live for `min_uptime`; the failure count reset.
    Stable {
        /// The transport.
        conn: ConnId,
    },
    /// Application data.
    Message {
        /// The transport.
        conn: ConnId,
        /// The topic, when the adapter could tell.
        topic: Option<Topic>,
        /// The sequence number, when the protocol has one.
        seq: Option<u64>,
        /// The message itself.
        frame: Frame,
    },
    /// Sequence numbers were skipped on a topic (also across reconnects).
    Gap {
        /// The topic.
        topic: Topic,
        /// The next number the session expected.
        expected: u64,
        /// The number that arrived.
        received: u64,
    },
    /// A live topic stayed without data past its staleness deadline
    /// ([`Liveness::topic_stale_after`](crate::Liveness::topic_stale_after) or its
    /// [`SubscribeOptions`](crate::SubscribeOptions)) while other frames kept arriving. The
    /// session re-subscribes it alone on the same connection (reported by
    /// [`Event::Resynced`] once confirmed); the other topics are not touched. The
    /// `topic_stale_escalation`-th consecutive one ends the connection instead
    /// ([`EndCause::TopicStale`](crate::EndCause::TopicStale)).
    TopicStale {
        /// The transport.
        conn: ConnId,
        /// The topic.
        topic: Topic,
        /// How long it has been silent: since its last data, its confirmation or the
        /// connection turning live, whichever came last.
        silent_for: Duration,
        /// Consecutive stale windows of this topic without data in between (1 the first time).
        times: u32,
    },
    /// A topic re-subscribed alone on the live connection was confirmed again (the
    /// [`Event::Subscribed`] for it comes just before, so consumers that count confirmations
    /// see it as before): after staleness, a gap under
    /// [`GapPolicy::Repair`](crate::GapPolicy::Repair), or
    /// [`Session::resync`](crate::Session::resync).
    Resynced {
        /// The transport.
        conn: ConnId,
        /// The topic.
        topic: Topic,
        /// What asked for it.
        reason: crate::ResyncReason,
    },
    /// A sequence number at or below the last one arrived (a duplicate, a replay, or a server
    /// that restarted its numbering). The session tracks from the new number on.
    SequenceRegressed {
        /// The topic.
        topic: Topic,
        /// The last number seen.
        last: u64,
        /// The number that arrived.
        received: u64,
    },
    /// An unsolicited server error.
    ServerError {
        /// The transport.
        conn: ConnId,
        /// The error.
        error: ServerError,
    },
    /// A connection that had opened ended. Once per `ConnId` that was `Connected`.
    Disconnected {
        /// The transport.
        conn: ConnId,
        /// Why (boxed: a rare event should not make every event larger).
        cause: Box<EndCause>,
        /// How long it was open.
        uptime: Duration,
        /// What the session does about it.
        disposition: Disposition,
    },
    /// The next attempt is scheduled.
    ReconnectScheduled {
        /// The attempt number it will have.
        attempt: u32,
        /// The delay and the policy inputs behind it.
        delay: Delay,
        /// Where the delay came from.
        source: DelaySource,
        /// Consecutive failures counted so far.
        failures: u32,
    },
    /// The circuit breaker changed state.
    Circuit {
        /// The new state.
        state: CircuitState,
        /// Consecutive failures counted.
        failures: u32,
    },
    /// The session needs fresh credentials and waits for the application: it must fetch them
    /// (a listen key over REST, a new token) and hand them to
    /// [`Session::provide_credentials`](crate::Session::provide_credentials), or report failure
    /// with [`Session::credentials_failed`](crate::Session::credentials_failed). This is the
    /// only request for credentials: actions are transport IO only, so the driver has nothing
    /// to perform for it.
    CredentialsRequested,
    /// A renewal while live failed (the application did not answer, the server refused the
    /// new credentials transiently, or the request was too large to write:
    /// [`EndCause::FrameTooLarge`]); the current connection stays up.
    RenewalFailed {
        /// What went wrong.
        cause: EndCause,
    },
    /// The credentials were renewed on the live connection: the server acknowledged them (or,
    /// for a protocol without acknowledgements, they were sent); nothing else changed.
    CredentialsRenewed {
        /// The transport.
        conn: ConnId,
        /// What renewed them: the application's new credentials, or the renewal before expiry
        /// (see [`LifetimeRenewal`](crate::LifetimeRenewal)) with the current credentials or
        /// the server's refresh token (the token itself is never part of an event).
        source: RenewalSource,
        /// The lifetime the answer granted, from which the next renewal before expiry is
        /// scheduled; `None` when the answer stated none (or there was no answer), so that no
        /// renewal stays armed on this connection.
        expires_in: Option<Duration>,
    },
    /// A queued application message left the outbox unsent; the frame is handed back.
    OutboxDropped {
        /// The message.
        frame: Frame,
        /// Why.
        reason: DropReason,
    },
    /// Automatic reconnection is paused ([`Session::pause`](crate::Session::pause)).
    Paused,
    /// Automatic reconnection resumed.
    Resumed,
    /// The connection reached `max_lifetime` and is being replaced.
    Recycling {
        /// The transport.
        conn: ConnId,
    },
    /// A command passed to [`Session::apply`](crate::Session::apply) (the path every binding's
    /// handles take) was refused; it changed nothing, and a refused send hands its frame back
    /// inside. Direct calls (`send`, `subscribe`, …) return their error instead.
    ///
    /// A driver that takes commands from a mailbox may apply a command that was queued before
    /// the session stopped after its `Stopped`: its refusal is then the one kind of event that
    /// follows `Stopped`, so that no accepted command goes unanswered.
    Refused(Refused),
    /// The session stopped for good; no lifecycle event follows (only the [`Event::Refused`]
    /// of commands that were already queued for it, see there).
    Stopped {
        /// Why.
        reason: StopReason,
    },
}

/// One item of the session's output queue: either IO to perform or an event to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// IO the driver must perform.
    Action(Action),
    /// Something to hand to the application.
    Event(Event),
}

#[cfg(test)]
mod tests;
