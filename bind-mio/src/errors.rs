//! Turning IO, TLS and WebSocket failures into the core's [`TransportErrorKind`].
//!
//! Not specific to mio: `bind-smol` classifies its failures with these same functions, and a
//! driver of your own on tungstenite and rustls can too.
//!
//! The core's default classification retries everything except certificate errors and unusable
//! URLs, and honours an HTTP `Retry-After`, so each mapping here picks the most specific kind
//! that can be told from the error. Details never include the URL (its query may hold a token)
//! nor any header.

use std::io;
use std::time::Duration;

use reconnect_core::{parse_retry_after_seconds, TransportError, TransportErrorKind};
use tungstenite::error::{CapacityError, ProtocolError, UrlError};
use tungstenite::Error as WsError;

/// The class of an IO error, looking through to a wrapped rustls error.
pub fn io_kind(error: &io::Error) -> TransportErrorKind {
    if let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return tls_kind(tls);
    }
    match error.kind() {
        io::ErrorKind::ConnectionRefused => TransportErrorKind::Refused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => TransportErrorKind::Reset,
        io::ErrorKind::TimedOut => TransportErrorKind::TimedOut,
        io::ErrorKind::UnexpectedEof => TransportErrorKind::Eof,
        _ => TransportErrorKind::Io,
    }
}

/// The class of a rustls error: certificate problems are told apart from the rest.
pub fn tls_kind(error: &rustls::Error) -> TransportErrorKind {
    match error {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::UnsupportedNameType => TransportErrorKind::TlsCertificate,
        _ => TransportErrorKind::Tls,
    }
}

/// An IO failure as a transport error.
pub fn from_io(error: &io::Error) -> TransportError {
    TransportError::new(io_kind(error), error.to_string())
}

/// A tungstenite failure (during the upgrade or on an open connection) as a transport error.
pub fn from_ws(error: &WsError) -> TransportError {
    let kind = match error {
        WsError::Io(e) => io_kind(e),
        // Reported after a close handshake, or when the peer closed without one.
        WsError::ConnectionClosed | WsError::AlreadyClosed => TransportErrorKind::Eof,
        // The peer hung up without a close frame, or in the middle of the upgrade.
        WsError::Protocol(
            ProtocolError::ResetWithoutClosingHandshake | ProtocolError::HandshakeIncomplete,
        ) => TransportErrorKind::Eof,
        WsError::Protocol(_) | WsError::Utf8(_) | WsError::AttackAttempt => {
            TransportErrorKind::Protocol
        }
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            TransportErrorKind::MessageTooLarge
        }
        // Too many headers in the upgrade response: the server speaks something else.
        WsError::Capacity(CapacityError::TooManyHeaders) => TransportErrorKind::Protocol,
        WsError::WriteBufferFull(_) => TransportErrorKind::Backpressure,
        WsError::Url(UrlError::TlsFeatureNotEnabled) => TransportErrorKind::InvalidUrl,
        WsError::Url(_) | WsError::HttpFormat(_) => TransportErrorKind::InvalidUrl,
        WsError::Tls(_) => TransportErrorKind::Tls,
        WsError::Http(response) => TransportErrorKind::Handshake {
            status: response.status().as_u16(),
            retry_after: retry_after(response.headers()),
        },
    };
    let detail = match error {
        WsError::Http(response) => format!("the upgrade was answered with {}", response.status()),
        other => other.to_string(),
    };
    TransportError::new(kind, detail)
}

/// The `Retry-After` header in delta-seconds. An HTTP date would need a wall clock, which this
/// binding does not read (the monotonic `Instant::now()` is its only clock), so it is ignored.
pub fn retry_after(headers: &tungstenite::http::HeaderMap) -> Option<Duration> {
    headers
        .get(tungstenite::http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::http::Response;

    #[test]
    fn io_kinds_are_specific() {
        let k = |kind: io::ErrorKind| io_kind(&io::Error::from(kind));
        assert_eq!(
            k(io::ErrorKind::ConnectionRefused),
            TransportErrorKind::Refused
        );
        assert_eq!(k(io::ErrorKind::ConnectionReset), TransportErrorKind::Reset);
        assert_eq!(k(io::ErrorKind::BrokenPipe), TransportErrorKind::Reset);
        assert_eq!(k(io::ErrorKind::UnexpectedEof), TransportErrorKind::Eof);
        assert_eq!(k(io::ErrorKind::TimedOut), TransportErrorKind::TimedOut);
        assert_eq!(k(io::ErrorKind::Other), TransportErrorKind::Io);
    }

    #[test]
    fn wrapped_tls_errors_separate_certificates() {
        let cert = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(io_kind(&cert), TransportErrorKind::TlsCertificate);
        let alert = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
        );
        assert_eq!(io_kind(&alert), TransportErrorKind::Tls);
    }

    #[test]
    fn http_status_and_retry_after_reach_the_core() {
        let response = Response::builder()
            .status(429)
            .header("Retry-After", "7")
            .body(None)
            .unwrap();
        let e = from_ws(&WsError::Http(Box::new(response)));
        assert_eq!(
            e.kind,
            TransportErrorKind::Handshake {
                status: 429,
                retry_after: Some(Duration::from_secs(7))
            }
        );
        let dated = Response::builder()
            .status(503)
            .header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")
            .body(None)
            .unwrap();
        let e = from_ws(&WsError::Http(Box::new(dated)));
        assert_eq!(
            e.kind,
            TransportErrorKind::Handshake {
                status: 503,
                retry_after: None
            }
        );
    }

    #[test]
    fn websocket_errors_map_to_their_classes() {
        assert_eq!(
            from_ws(&WsError::Utf8("bad".into())).kind,
            TransportErrorKind::Protocol
        );
        assert_eq!(
            from_ws(&WsError::Protocol(
                ProtocolError::ResetWithoutClosingHandshake
            ))
            .kind,
            TransportErrorKind::Eof
        );
        assert_eq!(
            from_ws(&WsError::Protocol(ProtocolError::NonZeroReservedBits)).kind,
            TransportErrorKind::Protocol
        );
        assert_eq!(
            from_ws(&WsError::Capacity(CapacityError::MessageTooLong {
                size: 2,
                max_size: 1
            }))
            .kind,
            TransportErrorKind::MessageTooLarge
        );
    }
}
