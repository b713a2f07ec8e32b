//! The default table from [`EndCause`] to [`Disposition`].

use std::ops::RangeInclusive;

use crate::boundary::Purpose;
use crate::error::{Disposition, EndCause, TransportErrorKind};

/// Maps what ended an attempt or a connection to what happens next.
///
/// The defaults follow what a production client wants:
///
/// | cause | disposition |
/// |---|---|
/// | close 1000, 1001 from the server | retry (fixed) |
/// | close 1002, 1003, 1007, 1008, 1009, 1011, 1012–1014, 4000–4999, others | retry, configurable with [`Classifier::close_code`] |
/// | handshake 401, 403, 404 | fatal |
/// | handshake 429, 503 | retry after `Retry-After` when present, else retry |
/// | handshake other | retry |
/// | TLS certificate, invalid URL | fatal |
/// | DNS, refused, reset, EOF, I/O, protocol, timeouts, a topic stale too often ([`EndCause::TopicStale`]) | retry |
/// | auth rejected | the adapter decides ([`Protocol::auth_rejection`](crate::Protocol::auth_rejection)) |
/// | a frame of the session's own too large to write ([`EndCause::FrameTooLarge`]) | fatal; a heartbeat reply: retry |
/// | more control frames waiting for the send rate than it allows ([`EndCause::SendBacklog`]) | retry |
///
/// A frame too large is fatal because the next attempt would build the same frame from the same
/// credentials, configuration and adapter, and the limit never rises
/// ([`Session::limit_frame_len`](crate::Session::limit_frame_len) only lowers it): retrying
/// would reconnect forever without getting further. Fresh credentials rarely help either, so
/// asking the application for them would loop the same way; an adapter whose credentials can
/// come shorter can say [`Disposition::RefreshCredentials`] from
/// [`Protocol::classify_end`](crate::Protocol::classify_end). A heartbeat reply echoes the
/// server's request, which the next connection may send smaller: that one retries.
///
/// An adapter can override any of it with [`Protocol::classify_end`](crate::Protocol::classify_end),
/// which is asked first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Classifier {
    close_codes: Vec<(RangeInclusive<u16>, Disposition)>,
}

/// A close code rule that cannot be configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedCloseCode(pub u16);

impl std::fmt::Display for FixedCloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "close code {} always means retry and cannot be reconfigured",
            self.0
        )
    }
}

impl std::error::Error for FixedCloseCode {}

impl Classifier {
    /// Sets the disposition for a range of close codes sent by the server (later rules win).
    ///
    /// Codes 1000 (normal) and 1001 (going away) always retry: a server that restarts or
    /// rebalances must not stop its clients for good. Ranges that include them are refused.
    pub fn close_code(
        mut self,
        codes: RangeInclusive<u16>,
        disposition: Disposition,
    ) -> Result<Self, FixedCloseCode> {
        for fixed in [1000, 1001] {
            if codes.contains(&fixed) {
                return Err(FixedCloseCode(fixed));
            }
        }
        self.close_codes.push((codes, disposition));
        Ok(self)
    }

    /// The disposition of `cause` under this table.
    pub fn classify(&self, cause: &EndCause) -> Disposition {
        match cause {
            EndCause::ServerClosed {
                code: Some(code), ..
            } => self
                .close_codes
                .iter()
                .rev()
                .find(|(range, _)| range.contains(code))
                .map(|(_, d)| *d)
                .unwrap_or(Disposition::Retry),
            EndCause::ServerClosed { code: None, .. } => Disposition::Retry,
            EndCause::Transport(e) => match &e.kind {
                TransportErrorKind::TlsCertificate | TransportErrorKind::InvalidUrl => {
                    Disposition::Fatal
                }
                TransportErrorKind::Handshake {
                    status,
                    retry_after,
                } => match status {
                    401 | 403 | 404 => Disposition::Fatal,
                    429 | 503 => retry_after.map_or(Disposition::Retry, Disposition::RetryAfter),
                    _ => Disposition::Retry,
                },
                _ => Disposition::Retry,
            },
            EndCause::AuthRejected(e) | EndCause::SetupRejected(e) => e
                .retry_after
                .map_or(Disposition::Retry, Disposition::RetryAfter),
            EndCause::Closed => Disposition::Closed,
            EndCause::GaveUp => Disposition::Fatal,
            EndCause::FrameTooLarge {
                purpose: Purpose::HeartbeatReply,
                ..
            } => Disposition::Retry,
            EndCause::FrameTooLarge { .. } => Disposition::Fatal,
            EndCause::Timeout(_)
            | EndCause::CredentialsUnavailable(_)
            | EndCause::ReconnectRequested
            | EndCause::Recycled
            | EndCause::SendBacklog { .. }
            | EndCause::TopicStale { .. } => Disposition::Retry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TransportError;
    use std::time::Duration;

    fn handshake(status: u16, retry_after: Option<Duration>) -> EndCause {
        EndCause::Transport(TransportError::new(
            TransportErrorKind::Handshake {
                status,
                retry_after,
            },
            "",
        ))
    }

    fn closed(code: u16) -> EndCause {
        EndCause::ServerClosed {
            code: Some(code),
            reason: String::new(),
        }
    }

    #[test]
    fn default_table() {
        let c = Classifier::default();
        for s in [401, 403, 404] {
            assert_eq!(c.classify(&handshake(s, None)), Disposition::Fatal);
        }
        let ra = Duration::from_secs(7);
        assert_eq!(
            c.classify(&handshake(429, Some(ra))),
            Disposition::RetryAfter(ra)
        );
        assert_eq!(
            c.classify(&handshake(503, Some(ra))),
            Disposition::RetryAfter(ra)
        );
        assert_eq!(c.classify(&handshake(429, None)), Disposition::Retry);
        assert_eq!(c.classify(&handshake(502, None)), Disposition::Retry);
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 4000, 4999] {
            assert_eq!(c.classify(&closed(code)), Disposition::Retry, "{code}");
        }
        let cert = EndCause::Transport(TransportError::new(TransportErrorKind::TlsCertificate, ""));
        assert_eq!(c.classify(&cert), Disposition::Fatal);
        for kind in [
            TransportErrorKind::Dns,
            TransportErrorKind::Refused,
            TransportErrorKind::Reset,
        ] {
            let e = EndCause::Transport(TransportError::new(kind, ""));
            assert_eq!(c.classify(&e), Disposition::Retry);
        }
    }

    #[test]
    fn close_codes_are_configurable_except_normal_ones() {
        let c = Classifier::default()
            .close_code(4000..=4999, Disposition::Fatal)
            .unwrap()
            .close_code(4500..=4500, Disposition::RefreshCredentials)
            .unwrap()
            .close_code(1008..=1008, Disposition::Fatal)
            .unwrap();
        assert_eq!(c.classify(&closed(4001)), Disposition::Fatal);
        assert_eq!(c.classify(&closed(4500)), Disposition::RefreshCredentials);
        assert_eq!(c.classify(&closed(1008)), Disposition::Fatal);
        assert_eq!(c.classify(&closed(1011)), Disposition::Retry);
        assert_eq!(
            Classifier::default().close_code(999..=1000, Disposition::Fatal),
            Err(FixedCloseCode(1000))
        );
    }
}
