//! One word for why a connection or an attempt ended: the `cause` label of the metrics and the
//! `cause_kind` field of the log events, so that a dashboard and a log speak of a failure the
//! same way. The words are a closed set (nothing unbounded, never an error's text):
//!
//! | `EndCause` | word |
//! |---|---|
//! | `Transport` | the [`TransportErrorKind`]: `dns`, `refused`, `reset`, `timed_out`, `tls_certificate`, `tls`, `handshake`, `protocol`, `message_too_large`, `backpressure`, `eof`, `invalid_url`, `io` (`transport_other` for a kind newer than this list) |
//! | `ServerClosed` | `server_close` |
//! | `Timeout` | the [`TimeoutKind`] and `_timeout`: `connect_timeout`, `credentials_timeout`, `auth_timeout`, `setup_timeout`, `subscribe_timeout`, `heartbeat_timeout`, `pong_timeout`, `idle_timeout`, `close_timeout` |
//! | `AuthRejected`, `SetupRejected` | `auth_rejected`, `setup_rejected` |
//! | `CredentialsUnavailable` | `credentials_unavailable` |
//! | `ReconnectRequested`, `Recycled`, `Closed`, `GaveUp` | `reconnect_requested`, `recycled`, `closed`, `gave_up` |
//! | `FrameTooLarge` (a frame the session built over the write limit) | `frame_too_large` |
//! | `SendBacklog` (more control frames waiting for the send rate than it allows) | `send_backlog` |
//! | `TopicStale` (a topic silent too often in a row) | `topic_stale` |
//! | a cause newer than this list | `other` |

use reconnect_core::{EndCause, TimeoutKind, TransportErrorKind};

/// The class of an end cause as one word from a closed set (the table above), never the
/// error's text.
pub fn cause_word(cause: &EndCause) -> &'static str {
    match cause {
        EndCause::Transport(error) => match error.kind {
            TransportErrorKind::Dns => "dns",
            TransportErrorKind::Refused => "refused",
            TransportErrorKind::Reset => "reset",
            TransportErrorKind::TimedOut => "timed_out",
            TransportErrorKind::TlsCertificate => "tls_certificate",
            TransportErrorKind::Tls => "tls",
            TransportErrorKind::Handshake { .. } => "handshake",
            TransportErrorKind::Protocol => "protocol",
            TransportErrorKind::MessageTooLarge => "message_too_large",
            TransportErrorKind::Backpressure => "backpressure",
            TransportErrorKind::Eof => "eof",
            TransportErrorKind::InvalidUrl => "invalid_url",
            TransportErrorKind::Io => "io",
            _ => "transport_other",
        },
        EndCause::ServerClosed { .. } => "server_close",
        EndCause::Timeout(kind) => match kind {
            TimeoutKind::Connect => "connect_timeout",
            TimeoutKind::Credentials => "credentials_timeout",
            TimeoutKind::Auth => "auth_timeout",
            TimeoutKind::Setup => "setup_timeout",
            TimeoutKind::Subscribe => "subscribe_timeout",
            TimeoutKind::Heartbeat => "heartbeat_timeout",
            TimeoutKind::Pong => "pong_timeout",
            TimeoutKind::Idle => "idle_timeout",
            TimeoutKind::Close => "close_timeout",
        },
        EndCause::AuthRejected(_) => "auth_rejected",
        EndCause::SetupRejected(_) => "setup_rejected",
        EndCause::CredentialsUnavailable(_) => "credentials_unavailable",
        EndCause::ReconnectRequested => "reconnect_requested",
        EndCause::Recycled => "recycled",
        EndCause::Closed => "closed",
        EndCause::GaveUp => "gave_up",
        EndCause::FrameTooLarge { .. } => "frame_too_large",
        EndCause::SendBacklog { .. } => "send_backlog",
        EndCause::TopicStale { .. } => "topic_stale",
        _ => "other",
    }
}
