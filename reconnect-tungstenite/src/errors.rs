//! Turning IO, TLS and WebSocket failures into the core's [`TransportErrorKind`].
//!
//! Not specific to any runtime: both bindings classify their failures with these same
//! functions, and a driver of your own on tungstenite and rustls can too.
//!
//! Each mapping picks the most specific kind that can be told from the error; the session's
//! [`Classifier`](reconnect_core::Classifier) then decides what happens. Only what no retry can
//! heal is fatal by default: a certificate that does not verify (or that the server rejects),
//! a URL that cannot be used, and the HTTP answers 401, 403 and 404. Whatever a server sends that
//! is malformed or unexpected (a broken status line, a 1xx or 2xx instead of 101, a bad accept
//! key, broken framing) is transient: servers get fixed and restarted, and a client that stopped
//! for good on a bad deploy would need a human to start it again. Details never include the URL
//! (its query may hold a token) nor any header.
//!
//! # The table
//!
//! "Default" is what [`Classifier::default`](reconnect_core::Classifier) decides for it.
//!
//! | failure | kind | default |
//! |---|---|---|
//! | `io` `ConnectionRefused` | `Refused` | retry |
//! | `io` `ConnectionReset`, `ConnectionAborted`, `BrokenPipe`, `NotConnected` | `Reset` | retry |
//! | `io` `TimedOut` | `TimedOut` | retry |
//! | `io` `UnexpectedEof` | `Eof` | retry |
//! | `io` `AddrNotAvailable`, `AddrInUse`, `HostUnreachable`, `NetworkUnreachable`, `NetworkDown`, `WriteZero`, `Interrupted`, `Other`, any other kind | `Io` | retry |
//! | name resolution failed (the resolver's error, or a name with no address) | `Dns` | retry |
//! | `io` wrapping `rustls::Error::InvalidCertificate(_)` (unknown issuer, expired, not valid for the name, bad signature, revoked, …) | `TlsCertificate` | **fatal** |
//! | `io` wrapping `rustls::Error::NoCertificatesPresented`, `UnsupportedNameType` | `TlsCertificate` | **fatal** |
//! | `io` wrapping `rustls::Error::AlertReceived` of a certificate alert (`BadCertificate`, `UnsupportedCertificate`, `CertificateRevoked`, `CertificateExpired`, `CertificateUnknown`, `UnknownCA`, `CertificateRequired`): the server rejected our certificate | `TlsCertificate` | **fatal** |
//! | `io` wrapping `rustls::Error::AlertReceived` of any other alert (`HandshakeFailure`, `ProtocolVersion`, `InternalError`, …) | `Tls` | retry |
//! | `io` wrapping any other `rustls::Error` (`InvalidMessage`, `PeerMisbehaved`, `PeerIncompatible`, `DecryptError`, `General`, …) | `Tls` | retry |
//! | `tungstenite::Error::Io(e)` | as `e` above | as `e` |
//! | `tungstenite::Error::Tls(_)` (not produced here: TLS runs under tungstenite, and its errors arrive as `io` errors) | `Tls` | retry |
//! | `ConnectionClosed`, `AlreadyClosed` | `Eof` | retry |
//! | `Protocol(ResetWithoutClosingHandshake)`, `Protocol(HandshakeIncomplete)`: the server closed the TCP connection (FIN) without a close frame, or during the upgrade; the detail says so, not tungstenite's "Connection reset" | `Eof` | retry |
//! | `Protocol(_)`, every other: a bad upgrade reply (`SecWebSocketAcceptKeyMismatch`, `MissingUpgradeWebSocketHeader`, `MissingConnectionUpgradeHeader`, `WrongHttpVersion`, `HttparseError(_)`, `SecWebSocketSubProtocolError(_)`, `InvalidHeader(_)`, `JunkAfterRequest`, …) or broken framing (`NonZeroReservedBits`, `MaskedFrameFromServer`, `UnknownDataFrameType`, `InvalidCloseSequence`, …) | `Protocol` | retry |
//! | `Utf8(_)` (a text message or a header that is not UTF-8), `AttackAttempt` | `Protocol` | retry |
//! | `HttpFormat(_)`: a reply that is not HTTP (a status line such as `HTTP/1.1 000 Zero` or `099`) | `Protocol` | retry |
//! | `Capacity(TooManyHeaders)` | `Protocol` | retry |
//! | `Capacity(MessageTooLong { .. })` (an inbound message over the limit) | `MessageTooLarge` | retry |
//! | `WriteBufferFull(_)` (the peer stopped reading) | `Backpressure` | retry |
//! | `Url(NoHostName)`, `Url(EmptyHostName)`, `Url(UnsupportedUrlScheme)`, `Url(NoPathOrQuery)`, `Url(TlsFeatureNotEnabled)` | `InvalidUrl` | **fatal** |
//! | `Url(UnableToConnect(_))` | `Io` | retry |
//! | `Http(_)` 1xx (`100`, `102`, …; anything but `101`) | `Handshake` | retry |
//! | `Http(_)` 2xx (`200`, `204`) | `Handshake` | retry |
//! | `Http(_)` 3xx (`301`, `302`, `307`, `308`: redirects are not followed) | `Handshake` | retry |
//! | `Http(_)` 401, 403, 404 | `Handshake` | **fatal** |
//! | `Http(_)` 400, 405, 408, 410, 426, other 4xx | `Handshake` | retry |
//! | `Http(_)` 429 | `Handshake` | retry after `Retry-After` when present, else retry |
//! | `Http(_)` 503 | `Handshake` | retry after `Retry-After` when present, else retry |
//! | `Http(_)` 500, 502, 504, other 5xx | `Handshake` | retry |
//!
//! An endpoint whose URL cannot be used never gets this far: [`Endpoint::new`](crate::Endpoint::new)
//! refuses it with a typed error before any attempt.

use std::io;
use std::time::Duration;

use reconnect_core::{TransportError, TransportErrorKind};
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
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::NotConnected => TransportErrorKind::Reset,
        io::ErrorKind::TimedOut => TransportErrorKind::TimedOut,
        io::ErrorKind::UnexpectedEof => TransportErrorKind::Eof,
        _ => TransportErrorKind::Io,
    }
}

/// The class of a rustls error: certificate problems (ours or the server's) are told apart from
/// the rest.
pub fn tls_kind(error: &rustls::Error) -> TransportErrorKind {
    use rustls::AlertDescription as Alert;
    match error {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::UnsupportedNameType => TransportErrorKind::TlsCertificate,
        // The server refused the certificate we presented (or that we presented none).
        rustls::Error::AlertReceived(
            Alert::BadCertificate
            | Alert::UnsupportedCertificate
            | Alert::CertificateRevoked
            | Alert::CertificateExpired
            | Alert::CertificateUnknown
            | Alert::UnknownCA
            | Alert::CertificateRequired,
        ) => TransportErrorKind::TlsCertificate,
        _ => TransportErrorKind::Tls,
    }
}

/// An IO failure as a transport error.
pub fn from_io(error: &io::Error) -> TransportError {
    TransportError::new(io_kind(error), error.to_string())
}

/// The class of a tungstenite failure (during the upgrade or on an open connection).
pub fn ws_kind(error: &WsError) -> TransportErrorKind {
    match error {
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
        // A reply that is not HTTP (a status code below 100, say): the server is broken or
        // is not the one we meant, which a restart or a fix can heal. Our own request cannot
        // cause it: `Endpoint::new` built one from the URL already.
        WsError::HttpFormat(_) => TransportErrorKind::Protocol,
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            TransportErrorKind::MessageTooLarge
        }
        // Too many headers in the upgrade response: the server speaks something else.
        WsError::Capacity(CapacityError::TooManyHeaders) => TransportErrorKind::Protocol,
        WsError::WriteBufferFull(_) => TransportErrorKind::Backpressure,
        WsError::Url(UrlError::UnableToConnect(_)) => TransportErrorKind::Io,
        WsError::Url(_) => TransportErrorKind::InvalidUrl,
        WsError::Tls(_) => TransportErrorKind::Tls,
        WsError::Http(response) => TransportErrorKind::Handshake {
            status: response.status().as_u16(),
            retry_after: retry_after(response.headers()),
        },
    }
}

/// A tungstenite failure (during the upgrade or on an open connection) as a transport error.
pub fn from_ws(error: &WsError) -> TransportError {
    let detail = match error {
        // tungstenite names a read of 0 bytes on an open connection "Connection reset without
        // closing handshake", but it is an end of stream (kind `Eof`), which is what a killed
        // server's kernel sends (FIN); a real TCP reset arrives as `Io(ConnectionReset)`, kind
        // `Reset`. A detail saying "reset" under the kind `Eof` sent users looking for the RST.
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the server closed the TCP connection without a close frame".to_owned()
        }
        // Likewise a read of 0 bytes before the upgrade's answer was complete ("Handshake not
        // finished").
        WsError::Protocol(ProtocolError::HandshakeIncomplete) => {
            "the server closed the TCP connection during the upgrade".to_owned()
        }
        WsError::Http(response) => format!("the upgrade was answered with {}", response.status()),
        WsError::HttpFormat(e) => format!("the server's reply is not valid HTTP: {e}"),
        other => other.to_string(),
    };
    TransportError::new(ws_kind(error), detail)
}

/// The `Retry-After` header in delta-seconds. An HTTP date would need a wall clock, which no
/// binding reads (they read only the monotonic `Instant::now()`), so it is ignored.
pub fn retry_after(headers: &tungstenite::http::HeaderMap) -> Option<Duration> {
    headers
        .get(tungstenite::http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after_seconds)
}

/// Parses a `Retry-After` value given in delta-seconds (surrounding white space allowed);
/// `None` for anything else, an HTTP date included.
pub fn parse_retry_after_seconds(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod table_tests;
