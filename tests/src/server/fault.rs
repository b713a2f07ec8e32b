//! The faults the server can inject, and how long each stays in force.
//!
//! # Three families, three meanings of "once"
//!
//! * **Server actions** ([`Fault::CloseListener`], [`Fault::ReopenListener`], [`Fault::Restart`],
//!   [`Fault::DropAll`], [`Fault::AcceptInterval`], [`Fault::Clear`], [`Fault::ClearAll`]) happen
//!   when injected. [`Persist`] is ignored. A closed listener stays closed until
//!   [`Fault::ReopenListener`] (or the end of a restart's downtime).
//! * **Admission faults** ([`Fault::AcceptThenClose`], [`Fault::ResetOnAccept`],
//!   [`Fault::BlackholeUpgrade`], [`Fault::MalformedStatus`], [`Fault::WrongAccept`],
//!   [`Fault::TrickleUpgrade`], [`Fault::HttpReject`], [`Fault::RejectAuth`],
//!   [`Fault::NackSubscribe`]) are armed and hit future connections or requests. Each connection
//!   or request they hit uses up one use: [`Persist::Once`] hits the next one,
//!   [`Persist::Times`] the next `n`, [`Persist::UntilCleared`] all of them until
//!   [`Fault::Clear`] / [`Fault::ClearAll`]. Several armed faults of the same point are used in
//!   the order they were armed. The hand-made upgrade replies ([`Fault::MalformedStatus`],
//!   [`Fault::WrongAccept`], [`Fault::TrickleUpgrade`]) are looked at before
//!   [`Fault::HttpReject`], which tungstenite's own handshake answers.
//! * **Session faults** ([`Fault::SilentStall`], [`Fault::DataStall`], [`Fault::Close`],
//!   [`Fault::Reset`], [`Fault::Drop`], [`Fault::SkipSeq`], [`Fault::Oversized`],
//!   [`Fault::InvalidUtf8`], [`Fault::NonJson`], [`Fault::BinaryGarbage`],
//!   [`Fault::HugeFrameHeader`], [`Fault::EmptyContinuations`], [`Fault::PingFlood`]) act on established
//!   WebSocket sessions. The first use hits *every* session open at the moment of injection; if
//!   none is open, it hits the next session right after its handshake, so a fault injected while
//!   a client is between connections is never lost. Further uses ([`Persist::Times`] > 1 or
//!   [`Persist::UntilCleared`]) hit each following new session, one use each, right after its
//!   handshake.
//!
//! Clearing a kind disarms it. It also lifts a data stall, a ping flood or a run of empty
//! continuation frames from the sessions it already hit. A
//! silent stall is permanent for the sessions it hit (the server drains and discards their bytes
//! below the WebSocket layer, so the session cannot be resumed); a client must give up on it.

use std::time::Duration;

/// How long an injected fault stays in force; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Persist {
    /// One use.
    #[default]
    Once,
    /// `n` uses.
    Times(u32),
    /// Every opportunity until cleared.
    UntilCleared,
}

impl Persist {
    /// The number of uses, `None` for unlimited.
    pub fn uses(self) -> Option<u32> {
        match self {
            Persist::Once => Some(1),
            Persist::Times(n) => Some(n),
            Persist::UntilCleared => None,
        }
    }
}

/// A JSON-RPC error the server answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// The error code.
    pub code: i64,
    /// The error message.
    pub message: String,
}

impl RpcError {
    /// Creates an error.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// The default fatal auth rejection: `13004 invalid_credentials`.
    pub fn invalid_credentials() -> Self {
        RpcError::new(13004, "invalid_credentials")
    }

    /// The default transient auth rejection: `10028 too_many_requests`.
    pub fn too_many_requests() -> Self {
        RpcError::new(10028, "too_many_requests")
    }
}

/// Which auth rejection to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRejection {
    /// The server's configured fatal error (default `13004 invalid_credentials`).
    Fatal,
    /// The server's configured transient error (default `10028 too_many_requests`).
    Transient,
    /// Exactly this error.
    Custom(RpcError),
}

/// How a subscription is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nack {
    /// Acknowledge the request but leave the channel out of the result array.
    Omit,
    /// Answer the whole request with this error.
    Error(RpcError),
    /// Answer the whole request with this error, its `data` naming the refused channel
    /// (`{"channel": "x"}`), the way exchanges point at the one bad channel of a batch.
    ErrorNaming(RpcError),
}

/// One fault. See the [module docs](self) for the three families and their semantics.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    // ----- server actions -----
    /// Close the listening socket: new connections are refused (`ECONNREFUSED`).
    CloseListener,
    /// Reopen the listening socket on the same port.
    ReopenListener,
    /// Drop every connection (plain TCP close, no close frame), close the listener, and reopen it
    /// on the same port after `downtime`. Sequence numbers continue after the restart.
    Restart {
        /// How long the listener stays closed.
        downtime: Duration,
    },
    /// Drop every open connection at once (plain TCP close, no close frame).
    DropAll,
    /// Accept at most one connection per interval (`None` lifts the limit). Connections beyond
    /// the rate wait in the kernel's backlog, as with a slow server.
    AcceptInterval(Option<Duration>),
    /// Disarm every fault of this kind.
    Clear(FaultKind),
    /// Disarm every fault.
    ClearAll,

    // ----- admission faults -----
    /// Accept the TCP connection and close it at once (FIN) without reading anything.
    AcceptThenClose,
    /// Accept the TCP connection and reset it at once (RST, `SO_LINGER` 0).
    ResetOnAccept,
    /// Accept the TCP connection and never answer (no TLS, no HTTP); bytes are read and
    /// discarded so the server notices when the client gives up.
    BlackholeUpgrade,
    /// Answer the upgrade request with this status line (`HTTP/1.1 000 Zero`, `HTTP/1.1 099 X`,
    /// …) followed by otherwise valid upgrade headers, then close. Written by hand: no HTTP
    /// library builds such a reply.
    MalformedStatus {
        /// The status line, without its CRLF.
        line: String,
    },
    /// Answer the upgrade with `101 Switching Protocols` but a `Sec-WebSocket-Accept` that does
    /// not match the request's key, then close.
    WrongAccept,
    /// Answer the upgrade with a valid `101` reply written one byte per `interval`, reading
    /// (and discarding) whatever the client sends meanwhile so its departure is noticed. After
    /// the whole reply the connection stays open and silent until the client leaves.
    TrickleUpgrade {
        /// The pause before each byte.
        interval: Duration,
    },
    /// Answer the upgrade request with an HTTP error status.
    HttpReject {
        /// The status (401, 403, 429, 503, …).
        status: u16,
        /// The value of a `Retry-After` header, in seconds, if any.
        retry_after: Option<u32>,
    },
    /// Reject the next `public/auth` request, whatever the credentials.
    RejectAuth(AuthRejection),
    /// Refuse a subscription: for `channel`, or for every channel when `None`.
    NackSubscribe {
        /// The channel to refuse (`None`: any subscribe request).
        channel: Option<String>,
        /// How to refuse it.
        nack: Nack,
    },

    // ----- session faults -----
    /// Stop reading and writing entirely; the TCP connection stays open. Permanent for the
    /// sessions it hits.
    SilentStall,
    /// Stop data notifications; responses and heartbeats continue. Lifted by clearing it.
    DataStall,
    /// Send a close frame with this code and reason, then finish the close handshake.
    Close {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Reset the TCP connection (RST, `SO_LINGER` 0).
    Reset,
    /// Close the TCP connection without a close frame (FIN).
    Drop,
    /// Skip one sequence number on the next notification of `channel`.
    SkipSeq {
        /// The channel whose next notification skips a number.
        channel: String,
    },
    /// Send one text frame of `bytes` bytes (valid JSON, a notification with a huge payload).
    Oversized {
        /// The frame's payload length.
        bytes: usize,
    },
    /// Send a text frame whose payload is not valid UTF-8 (written as raw frame bytes).
    InvalidUtf8,
    /// Send a text frame that is not JSON.
    NonJson,
    /// Send a binary frame of garbage.
    BinaryGarbage,
    /// Send the header of a final text frame announcing `announced` payload bytes (up to
    /// 2^63 - 1), and nothing of the payload: a client must refuse the length from the header
    /// alone, without allocating it. Nothing else is written on the session afterwards (it
    /// would only count as payload); requests are still read and recorded.
    HugeFrameHeader {
        /// The payload length the header announces.
        announced: u64,
    },
    /// Send a non-final text frame (the start of a JSON notification), then empty continuation
    /// frames without end, a burst every tick, until cleared; clearing sends the final fragment
    /// that completes the message. Meanwhile no text frame is written (data, responses and
    /// heartbeats wait): it would break the fragmented message.
    EmptyContinuations,
    /// Send pings as fast as the client takes them (a burst every tick while the socket accepts
    /// writes), until cleared; data, responses and heartbeats continue in between.
    PingFlood,
}

/// The kind of a [`Fault`], without its parameters; used to clear faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // one variant per Fault variant, same name
#[non_exhaustive]
pub enum FaultKind {
    CloseListener,
    ReopenListener,
    Restart,
    DropAll,
    AcceptInterval,
    Clear,
    ClearAll,
    AcceptThenClose,
    ResetOnAccept,
    BlackholeUpgrade,
    MalformedStatus,
    WrongAccept,
    TrickleUpgrade,
    HttpReject,
    RejectAuth,
    NackSubscribe,
    SilentStall,
    DataStall,
    Close,
    Reset,
    Drop,
    SkipSeq,
    Oversized,
    InvalidUtf8,
    NonJson,
    BinaryGarbage,
    HugeFrameHeader,
    EmptyContinuations,
    PingFlood,
}

/// Where in a connection's life an admission fault applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    Accept,
    /// Before tungstenite's handshake: the hand-made replies.
    Reply,
    Upgrade,
    Auth,
    Subscribe,
}

/// The family of a fault (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Action,
    Admission(Point),
    Session,
}

impl Fault {
    /// The kind of this fault.
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::CloseListener => FaultKind::CloseListener,
            Fault::ReopenListener => FaultKind::ReopenListener,
            Fault::Restart { .. } => FaultKind::Restart,
            Fault::DropAll => FaultKind::DropAll,
            Fault::AcceptInterval(_) => FaultKind::AcceptInterval,
            Fault::Clear(_) => FaultKind::Clear,
            Fault::ClearAll => FaultKind::ClearAll,
            Fault::AcceptThenClose => FaultKind::AcceptThenClose,
            Fault::ResetOnAccept => FaultKind::ResetOnAccept,
            Fault::BlackholeUpgrade => FaultKind::BlackholeUpgrade,
            Fault::MalformedStatus { .. } => FaultKind::MalformedStatus,
            Fault::WrongAccept => FaultKind::WrongAccept,
            Fault::TrickleUpgrade { .. } => FaultKind::TrickleUpgrade,
            Fault::HttpReject { .. } => FaultKind::HttpReject,
            Fault::RejectAuth(_) => FaultKind::RejectAuth,
            Fault::NackSubscribe { .. } => FaultKind::NackSubscribe,
            Fault::SilentStall => FaultKind::SilentStall,
            Fault::DataStall => FaultKind::DataStall,
            Fault::Close { .. } => FaultKind::Close,
            Fault::Reset => FaultKind::Reset,
            Fault::Drop => FaultKind::Drop,
            Fault::SkipSeq { .. } => FaultKind::SkipSeq,
            Fault::Oversized { .. } => FaultKind::Oversized,
            Fault::InvalidUtf8 => FaultKind::InvalidUtf8,
            Fault::NonJson => FaultKind::NonJson,
            Fault::BinaryGarbage => FaultKind::BinaryGarbage,
            Fault::HugeFrameHeader { .. } => FaultKind::HugeFrameHeader,
            Fault::EmptyContinuations => FaultKind::EmptyContinuations,
            Fault::PingFlood => FaultKind::PingFlood,
        }
    }

    pub(crate) fn family(&self) -> Family {
        match self {
            Fault::CloseListener
            | Fault::ReopenListener
            | Fault::Restart { .. }
            | Fault::DropAll
            | Fault::AcceptInterval(_)
            | Fault::Clear(_)
            | Fault::ClearAll => Family::Action,
            Fault::AcceptThenClose | Fault::ResetOnAccept | Fault::BlackholeUpgrade => {
                Family::Admission(Point::Accept)
            }
            Fault::MalformedStatus { .. } | Fault::WrongAccept | Fault::TrickleUpgrade { .. } => {
                Family::Admission(Point::Reply)
            }
            Fault::HttpReject { .. } => Family::Admission(Point::Upgrade),
            Fault::RejectAuth(_) => Family::Admission(Point::Auth),
            Fault::NackSubscribe { .. } => Family::Admission(Point::Subscribe),
            Fault::SilentStall
            | Fault::DataStall
            | Fault::Close { .. }
            | Fault::Reset
            | Fault::Drop
            | Fault::SkipSeq { .. }
            | Fault::Oversized { .. }
            | Fault::InvalidUtf8
            | Fault::NonJson
            | Fault::BinaryGarbage
            | Fault::HugeFrameHeader { .. }
            | Fault::EmptyContinuations
            | Fault::PingFlood => Family::Session,
        }
    }

    /// A close frame fault.
    pub fn close(code: u16, reason: impl Into<String>) -> Self {
        Fault::Close {
            code,
            reason: reason.into(),
        }
    }

    /// An HTTP rejection without `Retry-After`.
    pub fn http(status: u16) -> Self {
        Fault::HttpReject {
            status,
            retry_after: None,
        }
    }

    /// An HTTP rejection with `Retry-After: secs`.
    pub fn http_retry_after(status: u16, secs: u32) -> Self {
        Fault::HttpReject {
            status,
            retry_after: Some(secs),
        }
    }

    /// Skip one sequence number on `channel`.
    pub fn skip_seq(channel: impl Into<String>) -> Self {
        Fault::SkipSeq {
            channel: channel.into(),
        }
    }

    /// Nack `channel` by leaving it out of the ack.
    pub fn nack_omit(channel: impl Into<String>) -> Self {
        Fault::NackSubscribe {
            channel: Some(channel.into()),
            nack: Nack::Omit,
        }
    }

    /// Answer the upgrade with this malformed status line.
    pub fn malformed_status(line: impl Into<String>) -> Self {
        Fault::MalformedStatus { line: line.into() }
    }

    /// Refuse every subscribe request that names `channel`, whole, with one error; with
    /// `naming`, the error's `data.channel` says which channel was the bad one.
    pub fn reject_batch_for(channel: impl Into<String>, naming: bool) -> Self {
        let error = RpcError::new(11050, "bad_request");
        Fault::NackSubscribe {
            channel: Some(channel.into()),
            nack: if naming {
                Nack::ErrorNaming(error)
            } else {
                Nack::Error(error)
            },
        }
    }

    /// Nack any subscribe request with an error response.
    pub fn nack_error(code: i64, message: impl Into<String>) -> Self {
        Fault::NackSubscribe {
            channel: None,
            nack: Nack::Error(RpcError::new(code, message)),
        }
    }
}

/// A fault to inject after a delay, for [`ServerConfig::schedule`](super::ServerConfig::schedule)
/// and [`ServerHandle::schedule`](super::ServerHandle::schedule).
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    /// Delay from the start of the schedule.
    pub after: Duration,
    /// The fault.
    pub fault: Fault,
    /// How long it stays in force.
    pub persist: Persist,
}

impl Scheduled {
    /// `fault` once, `after` the start of the schedule.
    pub fn once(after: Duration, fault: Fault) -> Self {
        Scheduled {
            after,
            fault,
            persist: Persist::Once,
        }
    }

    /// `fault` with `persist`, `after` the start of the schedule.
    pub fn with(after: Duration, fault: Fault, persist: Persist) -> Self {
        Scheduled {
            after,
            fault,
            persist,
        }
    }
}
